/* SPDX-License-Identifier: GPL-2.0 */
/* heaplab page clearing, inside heaplab_heap.ko (see clear.c). */
#ifndef _HEAPLAB_CLEAR_H
#define _HEAPLAB_CLEAR_H

#include <linux/types.h>

struct page;

/* Contiguous pages: a chunk, or a CMA buffer. */
struct heaplab_extent {
	struct page *page;
	unsigned long npages;
};

void heaplab_clear_chunk(struct page *page, unsigned int order);
int heaplab_clear_extents(const struct heaplab_extent *ext, unsigned long n,
			  unsigned long total);

#endif /* _HEAPLAB_CLEAR_H */
