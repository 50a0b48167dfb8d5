/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab page pools: chunks of the page allocator, cleared ahead of time
 * by a low-priority worker, so that an allocation only takes them. Freed
 * chunks are queued to the same worker (deferred free), which clears them
 * and keeps them, or gives them back. A shrinker returns pooled memory
 * under pressure. Built into heaplab_heap.ko; see page-pool.c.
 */
#ifndef _HEAPLAB_PAGE_POOL_H
#define _HEAPLAB_PAGE_POOL_H

#include <linux/gfp.h>
#include <linux/types.h>

struct heaplab_heap;
struct heaplab_pool;
struct page;

/* The most orders a pool keeps (the system heap uses 8, 4 and 0). */
#define HEAPLAB_POOL_MAX_ORDERS 4

struct heaplab_pool *heaplab_pool_create(struct heaplab_heap *heap,
					 const unsigned int *orders,
					 const gfp_t *gfp, int norders);
void heaplab_pool_destroy(struct heaplab_pool *pool);
struct page *heaplab_pool_take(struct heaplab_pool *pool, int idx);
void heaplab_pool_give(struct heaplab_pool *pool, struct page *page,
		       unsigned int order);

/*
 * A chunk of a buffer as the allocation path sees it: @clean when it came
 * from a pool (already cleared), so that only the others are cleared.
 */
struct heaplab_chunk {
	struct page *page;
	unsigned int order;
	bool clean;
};

int heaplab_clear_chunks(struct heaplab_heap *heap,
			 const struct heaplab_chunk *chunks, unsigned long n);

#endif /* _HEAPLAB_PAGE_POOL_H */
