// SPDX-License-Identifier: GPL-2.0
/*
 * heaprec: records every DMA-BUF heap allocation, heaplab's and the
 * kernel's own, and the release of every buffer it made, for a
 * heaplab-profile/1 the loader writes.
 *
 * An allocation ioctl opens a per-thread record; the heap's allocate op
 * names the heap, its size and kind; dma_buf_export() inside it gives the
 * buffer. At the ioctl's return one event goes to the ring buffer, and a
 * buffer made is remembered by its struct dma_buf address, so that its
 * heap's release op (heaplab's, or upstream's system or CMA one) can send
 * the release. Buffers made before the recording are never in that map:
 * their releases cost a lookup and send nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "probes.bpf.h"
#include "heaprec.h"

/* Only this process's allocations, if set (-p); releases from anyone. */
const volatile __u32 targ_tgid;

/*
 * Set by the loader once every program is attached and its clock read:
 * no allocation half seen (its ioctl before the heap's op was attached),
 * and no event before the recording's time 0.
 */
bool armed;

/* Events the ring buffer had no room for, and buffers the live map had none for. */
__u64 lost;
__u64 live_full;
/* Allocation ioctls that failed before reaching a heap (bad flags, no fd). */
__u64 refused[HR_NR_IMPLS];
/* Ioctls open now: dma_buf_export() is called from elsewhere too. */
__u32 nr_open;

struct inflight {
	__u64 start;
	__u64 arg;		/* the user's argument: the fd comes back in it */
	__u64 dmabuf;
	__u64 size;
	__u8 impl;
	__u8 kind;
	__u8 known;		/* a heap's allocate op ran */
	char heap[HR_HEAP_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Buffers made while recording and not yet released: address -> 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64);
	__type(value, __u8);
	/* entries as buffers come: most recordings hold a few hundred */
	__uint(map_flags, BPF_F_NO_PREALLOC);
} live SEC(".maps");

#define RING_BYTES (4 << 20)
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* about 40,000 events: the loader drains it every 100 ms */
	__uint(max_entries, RING_BYTES);
} events SEC(".maps");

/*
 * Wake the reader only once the ring is a quarter full: a wakeup for each
 * event (an irq_work, then a switch to the reader thread) was most of what
 * recording cost an allocation. The reader consumes every 100 ms anyway.
 */
static __always_inline void submit(void *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= RING_BYTES / 4)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

static const struct inflight zero_inflight;

/* where the fd is in struct dma_heap_allocation_data (len, then fd) */
#define HR_ARG_FD_OFF	8
/* ERR_PTR range */
#define HR_MAX_ERRNO	4095

static __always_inline __u32 tid_of(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline struct inflight *cur(void)
{
	__u32 tid;

	if (!nr_open)
		return NULL;
	tid = tid_of();
	return bpf_map_lookup_elem(&inflight, &tid);
}

static __always_inline void ioctl_enter(__u8 impl, unsigned long arg)
{
	__u32 tid = tid_of();
	struct inflight *f;

	if (!armed)
		return;
	if (targ_tgid && (bpf_get_current_pid_tgid() >> 32) != targ_tgid)
		return;
	if (bpf_map_update_elem(&inflight, &tid, &zero_inflight, BPF_ANY))
		return;
	f = bpf_map_lookup_elem(&inflight, &tid);
	if (!f)
		return;
	__sync_fetch_and_add(&nr_open, 1);
	f->impl = impl;
	f->arg = arg;
	f->start = bpf_ktime_get_ns();
}

/* The heap's allocate op: which heap, how large, which kind. */
static __always_inline void ioctl_heap(__u8 impl, const char *name, __u64 len,
				       __u8 kind)
{
	struct inflight *f = cur();

	if (!f || f->impl != impl)
		return;
	bpf_probe_read_kernel_str(f->heap, sizeof(f->heap), name);
	f->size = len;
	f->kind = kind;
	f->known = 1;
}

/* heaplab's CMA heap: its allocate op runs after the tracepoint named it. */
static __always_inline void heaplab_cma(void)
{
	struct inflight *f = cur();

	if (f && f->impl == HR_HEAPLAB)
		f->kind = HR_CMA;
}

static __always_inline void export_exit(struct dma_buf *ret)
{
	struct inflight *f = cur();

	if (f && f->known && (unsigned long)ret < (unsigned long)-HR_MAX_ERRNO)
		f->dmabuf = (__u64)ret;
}

static __always_inline void ioctl_exit(long ret)
{
	__u32 tid = tid_of();
	struct hr_event *e;
	struct inflight *f;
	__u8 one = 1;
	int fd = -1;

	f = bpf_map_lookup_elem(&inflight, &tid);
	if (!f)
		return;
	if (!f->known) {
		if (ret && f->impl < HR_NR_IMPLS)
			__sync_fetch_and_add(&refused[f->impl], 1);
		goto out;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		goto out;
	}
	e->type = HR_ALLOC;
	e->ts_ns = f->start;
	e->done_ns = bpf_ktime_get_ns();
	e->size = f->size;
	e->ret = ret;
	e->impl = f->impl;
	e->kind = f->kind;
	e->pad = 0;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	__builtin_memcpy(e->heap, f->heap, sizeof(e->heap));
	e->dmabuf = 0;
	if (!ret && f->dmabuf) {
		/* the ioctl wrote the fd back to the caller's argument */
		if (bpf_probe_read_user(&fd, sizeof(fd), (void *)(f->arg + HR_ARG_FD_OFF)))
			fd = -1;
		e->dmabuf = f->dmabuf;
		if (bpf_map_update_elem(&live, &f->dmabuf, &one, BPF_ANY))
			__sync_fetch_and_add(&live_full, 1);
	}
	e->fd = fd;
	submit(e);
out:
	if (!bpf_map_delete_elem(&inflight, &tid))
		__sync_fetch_and_add(&nr_open, -1);
}

/* A heap's release op: only for the buffers recorded. */
static __always_inline void release(struct dma_buf *dmabuf)
{
	__u64 key = (__u64)dmabuf;
	struct hr_event *e;

	if (!bpf_map_lookup_elem(&live, &key) || bpf_map_delete_elem(&live, &key))
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = HR_RELEASE;
	e->ts_ns = bpf_ktime_get_ns();
	e->dmabuf = key;
	e->fd = -1;
	submit(e);
}

/* the allocation ioctls */
PROBES(heaplab_heap_ioctl, (struct file *file, unsigned int cmd, unsigned long arg),
       ioctl_enter(HR_HEAPLAB, arg);,
       (struct file *file, unsigned int cmd, unsigned long arg, long ret), (long ret),
       ioctl_exit(ret);)
PROBES(dma_heap_ioctl, (struct file *file, unsigned int cmd, unsigned long arg),
       ioctl_enter(HR_UPSTREAM, arg);,
       (struct file *file, unsigned int cmd, unsigned long arg, long ret), (long ret),
       ioctl_exit(ret);)

/* which heap: heaplab's tracepoint and CMA op, upstream's allocate ops */
TP_PROBES(heaplab_alloc_start, (const char *heap, unsigned long len),
	  ioctl_heap(HR_HEAPLAB, heap, len, HR_SYSTEM);)
ENTRY_PROBES(heaplab_cma_allocate, (), heaplab_cma();)
ENTRY_PROBES(system_heap_allocate, (struct dma_heap *heap, unsigned long len),
	     ioctl_heap(HR_UPSTREAM, BPF_CORE_READ(heap, name), len, HR_SYSTEM);)
ENTRY_PROBES(cma_heap_allocate, (struct dma_heap *heap, unsigned long len),
	     ioctl_heap(HR_UPSTREAM, BPF_CORE_READ(heap, name), len, HR_CMA);)

/* the buffer made */
EXIT_PROBES(dma_buf_export, (const struct dma_buf_export_info *exp_info, struct dma_buf *ret),
	    (struct dma_buf *ret), export_exit(ret);)

/* its release: every heap's dma_buf_ops release */
#define RELEASE_PROBES(fn) ENTRY_PROBES(fn, (struct dma_buf *dmabuf), release(dmabuf);)

RELEASE_PROBES(heaplab_release)
RELEASE_PROBES(system_heap_dma_buf_release)
RELEASE_PROBES(cma_heap_dma_buf_release)

char LICENSE[] SEC("license") = "GPL";
