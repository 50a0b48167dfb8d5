/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaptrace: what the BPF side (heaptrace.bpf.c) and the loader
 * (heaptrace.c) share: map keys, histogram layout, stage numbers.
 */
#ifndef HEAPTRACE_H
#define HEAPTRACE_H

#define HEAP_NAME_LEN	16
/* log2 nanosecond slots: every floor(log2) of a u64 (LOG2_SLOTS) */
#define HT_SLOTS	64

enum ht_impl {
	IMPL_HEAPLAB = 0,
	IMPL_UPSTREAM = 1,
	NR_IMPLS
};

/*
 * Stages of an allocation ioctl first (their sum plus ST_OTHER is the whole
 * ioctl), then the buffer operations timed on their own.
 */
enum ht_stage {
	ST_IOCTL,	/* the whole DMA_HEAP_IOCTL_ALLOC, entry to return */
	ST_PAGES,	/* page allocation: __alloc_pages() or cma_alloc() */
	ST_ZERO,	/* clearing the pages */
	ST_SGTABLE,	/* sg_alloc_table() */
	ST_EXPORT,	/* dma_buf_export() */
	ST_FD,		/* get_unused_fd_flags() + fd_install() */
	ST_OTHER,	/* the ioctl less the stages above */
	ST_FAILED,	/* ioctls that returned an error (whole time) */
	ST_MMAP,	/* the heap's dma_buf mmap op */
	ST_FAULT,	/* the heap's page fault handler */
	ST_BEGIN_CPU,	/* begin_cpu_access */
	ST_END_CPU,	/* end_cpu_access */
	ST_RELEASE,	/* the heap's dma_buf release op */
	NR_STAGES
};

/* First stage that is not part of an allocation ioctl. */
#define ST_FIRST_OP	ST_MMAP

struct ht_key {
	char heap[HEAP_NAME_LEN];
	unsigned char impl;
	/* size bucket: the buffer is at most 4 KiB << bucket */
	unsigned char bucket;
	unsigned char pad[2];
};

struct ht_hist {
	unsigned long long count;
	unsigned long long sum_ns;
	unsigned long long slots[HT_SLOTS];
};

/*
 * Every stage of one heap and bucket in one map value: the end of an
 * ioctl updates all its stages with one lookup (the tracer's own cost).
 */
struct ht_entry {
	struct ht_hist st[NR_STAGES];
	/*
	 * Allocations whose pages were zeroed inside the page allocator
	 * (__GFP_ZERO) where kernel_init_pages() never ran: it is inlined,
	 * so their zeroing is part of "pages" and their "zero" is not timed.
	 */
	unsigned long long zero_in_pages;
};

/* Page allocation by order: one chunk allocation attempt each. */
struct ht_order_key {
	char heap[HEAP_NAME_LEN];
	unsigned char impl;
	unsigned char bucket;
	/* 0..MAX_ORDER for __alloc_pages(); HT_ORDER_CMA for cma_alloc() */
	unsigned char order;
	unsigned char pad;
};

#define HT_ORDER_CMA	255

struct ht_order_val {
	unsigned long long ok;
	unsigned long long failed;
	unsigned long long sum_ns;
};

#endif /* HEAPTRACE_H */
