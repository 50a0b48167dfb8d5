/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab heap helpers: one buffer object and one dma_buf_ops set shared by
 * every heap. A heap allocates and frees the memory; the helpers do the
 * rest (attachments, DMA mapping, mmap, CPU access, vmap, release).
 */
#ifndef _HEAPLAB_HEAP_HELPERS_H
#define _HEAPLAB_HEAP_HELPERS_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/types.h>

struct dma_buf;
struct heaplab_heap;

/**
 * struct heaplab_buffer - a heap buffer
 * @heap:	the heap it came from
 * @len:	length in bytes, page aligned
 * @pagecount:	@len in pages
 * @pages:	every page, for faults and vmap
 * @sg_table:	the heap's layout of the memory (one entry per chunk)
 * @lock:	protects @attachments, @vmap_cnt and @vaddr
 * @attachments: list of struct heaplab_attachment
 * @vmap_cnt:	vmap references
 * @vaddr:	kernel mapping while @vmap_cnt > 0
 * @free:	the heap's release of the memory and of the buffer
 * @priv:	heap-private data
 */
struct heaplab_buffer {
	struct heaplab_heap *heap;
	unsigned long len;
	pgoff_t pagecount;
	struct page **pages;
	struct sg_table sg_table;
	struct mutex lock;	/* attachments, vmap_cnt, vaddr */
	struct list_head attachments;
	int vmap_cnt;
	void *vaddr;
	void (*free)(struct heaplab_buffer *buffer);
	void *priv;
};

struct heaplab_buffer *heaplab_buffer_alloc(struct heaplab_heap *heap,
					    unsigned long len,
					    void (*free)(struct heaplab_buffer *buffer));
void heaplab_buffer_destroy(struct heaplab_buffer *buffer);
struct dma_buf *heaplab_buffer_export(struct heaplab_buffer *buffer,
				      u32 fd_flags);

#endif /* _HEAPLAB_HEAP_HELPERS_H */
