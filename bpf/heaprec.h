/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaprec: what the BPF side (heaprec.bpf.c) and the loader (heaprec.c)
 * share: the events of the ring buffer.
 */
#ifndef HEAPREC_H
#define HEAPREC_H

#define HR_COMM_LEN	16
/* "default_cma_region" and area names: longer than heaptrace's 16 */
#define HR_HEAP_LEN	32

enum hr_impl {
	HR_HEAPLAB = 0,
	HR_UPSTREAM = 1,
	HR_NR_IMPLS
};

/* The kind of heap, as heaplab-profile/1 names it. */
enum hr_kind {
	HR_SYSTEM = 0,
	HR_CMA = 1,
};

enum hr_type {
	HR_ALLOC = 1,	/* an allocation ioctl that reached a heap, done or failed */
	HR_RELEASE = 2,	/* the heap's release op of a buffer an HR_ALLOC made */
};

struct hr_event {
	/* HR_ALLOC: the ioctl's entry; HR_RELEASE: the release op's */
	unsigned long long ts_ns;
	/* HR_ALLOC: the ioctl's return */
	unsigned long long done_ns;
	/* struct dma_buf's address: what ties a release to its allocation */
	unsigned long long dmabuf;
	unsigned long long size;
	int ret;		/* 0 or -errno */
	int fd;			/* the buffer's fd in the allocating process, or -1 */
	unsigned int tgid;
	unsigned char type;
	unsigned char impl;
	unsigned char kind;
	unsigned char pad;
	char comm[HR_COMM_LEN];
	char heap[HR_HEAP_LEN];
};

#endif /* HEAPREC_H */
