/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab: what the framework shares with the heap helpers, both built
 * into heaplab_heap.ko; heap modules never see it.
 */
#ifndef _HEAPLAB_DMA_HEAP_INTERNAL_H
#define _HEAPLAB_DMA_HEAP_INTERNAL_H

#include <linux/atomic.h>
#include <linux/types.h>

struct heaplab_heap;

/* Per-heap counters, shown in debugfs heaplab/<heap>/stats. */
struct heaplab_heap_stats {
	atomic64_t allocs;
	atomic64_t failures;
	atomic64_t frees;
	atomic64_t bytes_outstanding;
	atomic64_t bytes_peak;
	atomic64_t pages_held;
	atomic64_t pages_cleared;
};

void heaplab_heap_account_free(struct heaplab_heap *heap, size_t len);

#endif /* _HEAPLAB_DMA_HEAP_INTERNAL_H */
