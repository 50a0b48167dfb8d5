/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab page pools: chunks of the page allocator, cleared ahead of time
 * by a low-priority worker, so that an allocation only takes them. Freed
 * chunks are queued to the same worker (deferred free), which clears them
 * and keeps them, or gives them back. A shrinker returns pooled memory
 * under pressure. Built into heaplab_heap.ko; see page-pool.c.
 *
 * A self-contained object: it knows no heap. Its owner (the system heap)
 * moves taken and given chunks in and out of its own accounting, shows
 * heaplab_pool_stats_show() in its stats, and destroys the pool while
 * the heap still exists.
 */
#ifndef _HEAPLAB_PAGE_POOL_H
#define _HEAPLAB_PAGE_POOL_H

#include <linux/gfp.h>
#include <linux/types.h>

struct heaplab_pool;
struct page;
struct seq_file;

/* The most orders a pool keeps (the system heap uses 8, 4 and 0). */
#define HEAPLAB_POOL_MAX_ORDERS 4

/* Called by the worker with the pages it cleared (the owner counts them). */
typedef void (*heaplab_pool_cleared_fn)(unsigned long pages);

struct heaplab_pool *heaplab_pool_create(const char *name,
					 const unsigned int *orders,
					 const gfp_t *gfp, int norders,
					 heaplab_pool_cleared_fn cleared);
void heaplab_pool_destroy(struct heaplab_pool *pool);
struct page *heaplab_pool_take(struct heaplab_pool *pool, int idx);
void heaplab_pool_give(struct heaplab_pool *pool, struct page *page,
		       unsigned int order);
void heaplab_pool_stats_show(struct seq_file *s, struct heaplab_pool *pool);

#endif /* _HEAPLAB_PAGE_POOL_H */
