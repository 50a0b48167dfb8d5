// SPDX-License-Identifier: GPL-2.0
/*
 * heaptrace: where the time of a DMA-BUF heap allocation goes, for
 * heaplab's heaps and the kernel's own, broken down the same way.
 *
 * An allocation ioctl opens a per-thread record; the stage functions it
 * calls (page allocation, zeroing, sg_table, export, fd) add their time to
 * it only while it is open, so the same kernel functions called from
 * elsewhere cost a map lookup and nothing more. Every function has an
 * fentry/fexit and a kprobe/kretprobe form; the loader picks one per
 * function at run time and turns the other off.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bits.bpf.h"
#include "probes.bpf.h"
#include "heaptrace.h"

/* Only this process, if set (-p). */
const volatile __u32 targ_tgid;
/* Off with -L: only the whole ioctl is timed, no stage probe is attached. */
const volatile bool targ_stages = true;

/*
 * gfp bit of __GFP_HIGHMEM, unchanged since 2.6: heap pages are always
 * requested GFP_HIGHUSER, the kernel's own metadata never is, so this
 * tells the heap's page allocations from kmalloc's within one ioctl.
 */
#define HT_GFP_HIGHMEM	0x02u
/* __GFP_ZERO, likewise unchanged: the page allocator clears the pages */
#define HT_GFP_ZERO	0x100u

/* Stages timed by entry and exit inside an open allocation. */
#define NR_TIMED	ST_OTHER

struct inflight {
	__u64 start;
	__u64 sum[NR_TIMED];
	__u64 since[NR_TIMED];
	__u32 depth[NR_TIMED];
	/* kernel_init_pages() inside __alloc_pages(): zeroing, not paging */
	__u64 zero_in_pages;
	/* upstream CMA heap: its allocate op, to infer its inline memset */
	__u64 heap_op_since;
	__u64 heap_op_ns;
	__u32 order;
	__u8 pages_cma;
	__u8 zero_gfp;		/* a heap page allocation asked for __GFP_ZERO */
	__u8 init_seen;		/* and kernel_init_pages() ran */
	__u8 infer_zero;
	__u8 known;
	__u8 impl;
	__u8 bucket;
	char heap[HEAP_NAME_LEN];
};

struct op_key {
	__u32 tid;
	__u32 stage;
};

struct op_start {
	__u64 since;
	char heap[HEAP_NAME_LEN];
	__u8 impl;
	__u8 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct op_key);
	__type(value, struct op_start);
} opstart SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ht_key);
	__type(value, struct ht_entry);
	/* a few KiB each: allocated when a heap and bucket first shows up */
	__uint(map_flags, BPF_F_NO_PREALLOC);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ht_order_key);
	__type(value, struct ht_order_val);
} orders SEC(".maps");

/*
 * Allocation ioctls open now, on all CPUs. The stage functions are hot
 * system-wide (__alloc_pages, fd_install): while no ioctl is open they
 * return before any map lookup.
 */
__u32 nr_open;

/* Scratch: a zeroed record for each map, too big for the BPF stack. */
static const struct ht_entry zero_entry;
static const struct ht_order_val zero_order;
static const struct inflight zero_inflight;

static __always_inline __u32 tid_of(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline bool wanted(void)
{
	return !targ_tgid || (bpf_get_current_pid_tgid() >> 32) == targ_tgid;
}

/* Size bucket: the smallest b with len <= 4 KiB << b. */
static __always_inline __u8 bucket_of(__u64 len)
{
	__u64 pages = (len + 4095) >> 12;
	__u32 b;

	if (pages <= 1)
		return 0;
	b = log2_u64(pages - 1) + 1;
	return b > 40 ? 40 : b;
}

static __always_inline struct ht_entry *entry_of(const char *heap, __u8 impl,
						 __u8 bucket)
{
	struct ht_key key = { .impl = impl, .bucket = bucket };

	__builtin_memcpy(key.heap, heap, HEAP_NAME_LEN);
	return lookup_or_init(&hists, &key, &zero_entry);
}

static __always_inline void hist_add(struct ht_entry *e, __u32 stage, __u64 ns)
{
	struct ht_hist *h;

	if (stage >= NR_STAGES)
		return;
	h = &e->st[stage];
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	__sync_fetch_and_add(&h->slots[log2_slot(ns)], 1);
}

static __always_inline struct inflight *cur(void)
{
	__u32 tid;

	if (!nr_open)
		return NULL;
	tid = tid_of();
	return bpf_map_lookup_elem(&inflight, &tid);
}

/* ---- the allocation ioctl ---- */

static __always_inline void ioctl_enter(__u8 impl)
{
	__u32 tid = tid_of();
	struct inflight *f;

	if (!wanted())
		return;
	if (bpf_map_update_elem(&inflight, &tid, &zero_inflight, BPF_ANY))
		return;
	f = bpf_map_lookup_elem(&inflight, &tid);
	if (!f)
		return;
	__sync_fetch_and_add(&nr_open, 1);
	f->impl = impl;
	f->start = bpf_ktime_get_ns();
}

static __always_inline void ioctl_exit(long ret)
{
	__u64 dur, pages, zero, staged = 0, nested;
	__u32 tid = tid_of();
	struct inflight *f;
	struct ht_entry *e;
	int s;

	f = bpf_map_lookup_elem(&inflight, &tid);
	if (!f)
		return;
	dur = bpf_ktime_get_ns() - f->start;
	/* No heap reached (a rejected command): nothing to attribute. */
	if (!f->known)
		goto out;
	e = entry_of(f->heap, f->impl, f->bucket);
	if (!e)
		goto out;
	if (ret) {
		hist_add(e, ST_FAILED, dur);
		goto out;
	}
	pages = f->sum[ST_PAGES];
	zero = f->sum[ST_ZERO];
	nested = f->zero_in_pages;
	if (f->infer_zero) {
		/* upstream CMA heap: memset inline in its allocate op */
		__u64 known_parts = f->sum[ST_PAGES] + f->sum[ST_SGTABLE] +
				    f->sum[ST_EXPORT];

		zero = f->heap_op_ns > known_parts ? f->heap_op_ns - known_parts : 0;
	}
	pages = pages > nested ? pages - nested : 0;
	f->sum[ST_PAGES] = pages;
	f->sum[ST_ZERO] = zero;
	hist_add(e, ST_IOCTL, dur);
	if (!targ_stages)
		goto out;
	for (s = ST_PAGES; s < NR_TIMED; s++) {
		if (s == ST_ZERO && f->zero_gfp && !f->init_seen) {
			__sync_fetch_and_add(&e->zero_in_pages, 1);
			continue;
		}
		hist_add(e, s, f->sum[s]);
		staged += f->sum[s];
	}
	hist_add(e, ST_OTHER, dur > staged ? dur - staged : 0);
out:
	if (!bpf_map_delete_elem(&inflight, &tid))
		__sync_fetch_and_add(&nr_open, -1);
}

/* The heap is known once the heap's allocate op runs. */
static __always_inline void ioctl_heap(__u8 impl, const char *name,
				       __u64 len, bool infer_zero)
{
	struct inflight *f = cur();

	if (!f || f->impl != impl)
		return;
	bpf_probe_read_kernel_str(f->heap, sizeof(f->heap), name);
	f->bucket = bucket_of(len);
	f->known = 1;
	if (infer_zero) {
		f->infer_zero = 1;
		f->heap_op_since = bpf_ktime_get_ns();
	}
}

/* Outermost call of a stage inside an open allocation. */
static __always_inline void stage_enter(int st)
{
	struct inflight *f = cur();

	if (!f)
		return;
	if (f->depth[st]++ == 0)
		f->since[st] = bpf_ktime_get_ns();
}

static __always_inline __u64 stage_exit(int st)
{
	struct inflight *f = cur();
	__u64 d;

	if (!f || !f->depth[st] || --f->depth[st])
		return 0;
	d = bpf_ktime_get_ns() - f->since[st];
	f->sum[st] += d;
	return d;
}

static __always_inline void order_add(struct inflight *f, __u8 order, bool ok,
				      __u64 ns)
{
	struct ht_order_key key = {
		.impl = f->impl, .bucket = f->bucket, .order = order,
	};
	struct ht_order_val *v;

	__builtin_memcpy(key.heap, f->heap, HEAP_NAME_LEN);
	v = lookup_or_init(&orders, &key, &zero_order);
	if (!v)
		return;
	if (ok)
		__sync_fetch_and_add(&v->ok, 1);
	else
		__sync_fetch_and_add(&v->failed, 1);
	__sync_fetch_and_add(&v->sum_ns, ns);
}

/*
 * __alloc_pages(): a heap page only if GFP_HIGHUSER; anything nested in a
 * page allocation already being timed (reclaim, CMA migration targets) is
 * part of it.
 */
static __always_inline void pages_enter(gfp_t gfp, unsigned int order)
{
	struct inflight *f = cur();

	if (!f)
		return;
	if (f->depth[ST_PAGES]) {
		f->depth[ST_PAGES]++;
		return;
	}
	if (!(gfp & HT_GFP_HIGHMEM))
		return;
	f->depth[ST_PAGES] = 1;
	f->since[ST_PAGES] = bpf_ktime_get_ns();
	f->order = order;
	f->pages_cma = 0;
	if (gfp & HT_GFP_ZERO)
		f->zero_gfp = 1;
}

static __always_inline void pages_exit(bool ok)
{
	struct inflight *f = cur();
	__u64 d;

	if (!f || !f->depth[ST_PAGES] || --f->depth[ST_PAGES])
		return;
	d = bpf_ktime_get_ns() - f->since[ST_PAGES];
	f->sum[ST_PAGES] += d;
	order_add(f, f->pages_cma ? HT_ORDER_CMA : f->order, ok, d);
}

static __always_inline void cma_enter(void)
{
	struct inflight *f = cur();

	if (!f)
		return;
	if (f->depth[ST_PAGES]++ == 0) {
		f->since[ST_PAGES] = bpf_ktime_get_ns();
		f->pages_cma = 1;
	}
}

/* kernel_init_pages(): __GFP_ZERO (upstream system heap) or init_on_alloc. */
static __always_inline void init_pages_enter(void)
{
	struct inflight *f = cur();

	if (!f || !f->depth[ST_PAGES] || f->pages_cma)
		return;
	f->init_seen = 1;
	if (!f->depth[ST_ZERO]++)
		f->since[ST_ZERO] = bpf_ktime_get_ns();
}

static __always_inline void init_pages_exit(void)
{
	struct inflight *f = cur();
	__u64 d;

	if (!f || !f->depth[ST_ZERO] || --f->depth[ST_ZERO])
		return;
	d = bpf_ktime_get_ns() - f->since[ST_ZERO];
	f->sum[ST_ZERO] += d;
	f->zero_in_pages += d;
}

static __always_inline void heap_op_exit(void)
{
	struct inflight *f = cur();

	if (f && f->infer_zero && f->heap_op_since)
		f->heap_op_ns = bpf_ktime_get_ns() - f->heap_op_since;
}

/* ---- buffer operations: mmap, faults, CPU access, release ---- */

static __always_inline void op_enter(__u8 impl, __u32 stage,
				     struct dma_buf *dmabuf)
{
	struct op_key key = { .tid = tid_of(), .stage = stage };
	struct op_start s = { .impl = impl };
	const char *name;

	if (!wanted() || !dmabuf)
		return;
	name = BPF_CORE_READ(dmabuf, exp_name);
	bpf_probe_read_kernel_str(s.heap, sizeof(s.heap), name);
	s.bucket = bucket_of(BPF_CORE_READ(dmabuf, size));
	s.since = bpf_ktime_get_ns();
	bpf_map_update_elem(&opstart, &key, &s, BPF_ANY);
}

static __always_inline void op_exit(__u32 stage)
{
	struct op_key key = { .tid = tid_of(), .stage = stage };
	struct op_start *s = bpf_map_lookup_elem(&opstart, &key);
	struct ht_entry *e;

	if (!s)
		return;
	e = entry_of(s->heap, s->impl, s->bucket);
	if (e)
		hist_add(e, stage, bpf_ktime_get_ns() - s->since);
	bpf_map_delete_elem(&opstart, &key);
}

static __always_inline struct dma_buf *fault_dmabuf(struct vm_fault *vmf)
{
	return BPF_CORE_READ(vmf, vma, vm_file, private_data);
}

/* ioctls */
PROBES(heaplab_heap_ioctl, (), ioctl_enter(IMPL_HEAPLAB);,
       (struct file *file, unsigned int cmd, unsigned long arg, long ret), (long ret),
       ioctl_exit(ret);)
PROBES(dma_heap_ioctl, (), ioctl_enter(IMPL_UPSTREAM);,
       (struct file *file, unsigned int cmd, unsigned long arg, long ret), (long ret),
       ioctl_exit(ret);)

/* which heap: heaplab's tracepoint, upstream's allocate ops */
TP_PROBES(heaplab_alloc_start, (const char *heap, unsigned long len),
	  ioctl_heap(IMPL_HEAPLAB, heap, len, false);)
ENTRY_PROBES(system_heap_allocate, (struct dma_heap *heap, unsigned long len),
	     ioctl_heap(IMPL_UPSTREAM, BPF_CORE_READ(heap, name), len, false);)
PROBES(cma_heap_allocate, (struct dma_heap *heap, unsigned long len),
       ioctl_heap(IMPL_UPSTREAM, BPF_CORE_READ(heap, name), len, true);,
       (), (), heap_op_exit();)

/* page allocation */
PROBES(__alloc_pages, (gfp_t gfp, unsigned int order), pages_enter(gfp, order);,
       (gfp_t gfp, unsigned int order, int nid, nodemask_t *nodemask, struct page *ret),
       (struct page *ret), pages_exit(ret != NULL);)
PROBES(cma_alloc, (), cma_enter();,
       (struct cma *cma, unsigned long count, unsigned int align, bool no_warn,
	struct page *ret),
       (struct page *ret), pages_exit(ret != NULL);)

/* zeroing */
static __always_inline void zero_add(__u64 duration_ns)
{
	struct inflight *f = cur();

	if (f)
		f->sum[ST_ZERO] += duration_ns;
}

TP_PROBES(heaplab_zero, (const char *heap, unsigned long pages, __u64 duration_ns),
	  zero_add(duration_ns);)
PROBES(kernel_init_pages, (), init_pages_enter();, (), (), init_pages_exit();)

/* sg_table, export and fd: shared by both heap families */
#define STAGE_PROBES(fn, st) PROBES(fn, (), stage_enter(st);, (), (), stage_exit(st);)

STAGE_PROBES(sg_alloc_table, ST_SGTABLE)
STAGE_PROBES(dma_buf_export, ST_EXPORT)
STAGE_PROBES(get_unused_fd_flags, ST_FD)
STAGE_PROBES(fd_install, ST_FD)

/* buffer operations whose first argument is the dma_buf */
#define OP_PROBES(fn, impl, st)						\
	PROBES(fn, (struct dma_buf *dmabuf), op_enter(impl, st, dmabuf);, (), (), op_exit(st);)

/* fault handlers: the dma_buf is the mapped file's */
#define FAULT_PROBES(fn, impl)						\
	PROBES(fn, (struct vm_fault *vmf), op_enter(impl, ST_FAULT, fault_dmabuf(vmf));, \
	       (), (), op_exit(ST_FAULT);)

OP_PROBES(heaplab_mmap, IMPL_HEAPLAB, ST_MMAP)
OP_PROBES(heaplab_begin_cpu_access, IMPL_HEAPLAB, ST_BEGIN_CPU)
OP_PROBES(heaplab_end_cpu_access, IMPL_HEAPLAB, ST_END_CPU)
OP_PROBES(heaplab_release, IMPL_HEAPLAB, ST_RELEASE)
FAULT_PROBES(heaplab_vm_fault, IMPL_HEAPLAB)

OP_PROBES(system_heap_mmap, IMPL_UPSTREAM, ST_MMAP)
OP_PROBES(system_heap_dma_buf_begin_cpu_access, IMPL_UPSTREAM, ST_BEGIN_CPU)
OP_PROBES(system_heap_dma_buf_end_cpu_access, IMPL_UPSTREAM, ST_END_CPU)
OP_PROBES(system_heap_dma_buf_release, IMPL_UPSTREAM, ST_RELEASE)
OP_PROBES(cma_heap_mmap, IMPL_UPSTREAM, ST_MMAP)
OP_PROBES(cma_heap_dma_buf_begin_cpu_access, IMPL_UPSTREAM, ST_BEGIN_CPU)
OP_PROBES(cma_heap_dma_buf_end_cpu_access, IMPL_UPSTREAM, ST_END_CPU)
OP_PROBES(cma_heap_dma_buf_release, IMPL_UPSTREAM, ST_RELEASE)
FAULT_PROBES(cma_heap_vm_fault, IMPL_UPSTREAM)

char LICENSE[] SEC("license") = "GPL";
