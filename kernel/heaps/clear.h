/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab page clearing, inside heaplab_heap.ko (see clear.c): the chunk
 * type, the policy (who clears what) and the mechanism.
 */
#ifndef _HEAPLAB_CLEAR_H
#define _HEAPLAB_CLEAR_H

#include <linux/types.h>

struct heaplab_buffer;
struct heaplab_heap;
struct page;

/* Contiguous pages: a chunk, or a CMA buffer. */
struct heaplab_extent {
	struct page *page;
	unsigned long npages;
};

/*
 * A chunk of a buffer as the allocation path sees it: @clean when it came
 * from a pool (already cleared), so that only the others are cleared.
 */
struct heaplab_chunk {
	struct page *page;
	unsigned int order;
	bool clean;
};

bool heaplab_kernel_clears_pages(void);
int heaplab_clear_chunks(struct heaplab_heap *heap,
			 const struct heaplab_chunk *chunks, unsigned long n);
int heaplab_buffer_zero(struct heaplab_buffer *buffer);
bool heaplab_clear_chunk(struct page *page, unsigned int order);

#endif /* _HEAPLAB_CLEAR_H */
