/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab DMA-BUF heaps: the in-kernel API for heap modules.
 *
 * A heap module fills a heaplab_heap_export_info and calls heaplab_heap_add();
 * the framework creates /dev/<devdir>/<name> and turns DMA_HEAP_IOCTL_ALLOC
 * into a call of ops->allocate(). Unlike the seed design, heaps can be
 * removed: heaplab_heap_remove() from the heap module's exit path, which the
 * module core only reaches once no device file or buffer of it is alive.
 */
#ifndef _HEAPLAB_DMA_HEAP_H
#define _HEAPLAB_DMA_HEAP_H

#include <linux/types.h>

struct dma_buf;
struct heaplab_heap;
struct module;
struct seq_file;

/**
 * struct heaplab_heap_ops - what a heap supplies
 * @allocate:	return a dma-buf of @len bytes (page-aligned, non-zero), or an
 *		ERR_PTR; @fd_flags and @heap_flags are already validated
 * @stats_show:	optional: print the heap's own "key value" lines at the end
 *		of its debugfs stats file. May run until heaplab_heap_remove()
 *		returns (which waits for a read under way), not after.
 */
struct heaplab_heap_ops {
	struct dma_buf *(*allocate)(struct heaplab_heap *heap,
				    unsigned long len,
				    u32 fd_flags, u64 heap_flags);
	void (*stats_show)(struct seq_file *s, struct heaplab_heap *heap);
};

/**
 * struct heaplab_heap_export_info - describes a heap to add
 * @name:	heap name, unique, used as the device node name
 * @ops:	the heap's operations
 * @priv:	heap-private data, returned by heaplab_heap_get_drvdata()
 * @owner:	the module that implements @ops (THIS_MODULE); device files
 *		and buffers pin it
 */
struct heaplab_heap_export_info {
	const char *name;
	const struct heaplab_heap_ops *ops;
	void *priv;
	struct module *owner;
};

struct heaplab_heap *heaplab_heap_add(const struct heaplab_heap_export_info *info);
void heaplab_heap_remove(struct heaplab_heap *heap);
void *heaplab_heap_get_drvdata(struct heaplab_heap *heap);
const char *heaplab_heap_get_name(struct heaplab_heap *heap);
struct module *heaplab_heap_get_owner(struct heaplab_heap *heap);
/*
 * Heaps report each page they take from the page allocator or CMA (@delta
 * > 0) and give back (< 0): debugfs stats then shows pages_held, which must
 * return to its baseline once every buffer is gone, to the page.
 */
void heaplab_heap_account_pages(struct heaplab_heap *heap, long delta);
/* Pages the heap cleared (none when the kernel does, see heaps/clear.c). */
void heaplab_heap_account_cleared(struct heaplab_heap *heap, unsigned long n);

#endif /* _HEAPLAB_DMA_HEAP_H */
