// SPDX-License-Identifier: GPL-2.0
/*
 * cmatrace: the cost of contiguous allocations. Per CMA area and request
 * size: cma_alloc() latency and failures, its -EBUSY retries, the pages
 * migrated out of the range, and the time spent in alloc_contig_range().
 * Everything is attributed to the cma_alloc() call of the same thread.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bits.bpf.h"
#include "probes.bpf.h"
#include "cmatrace.h"

const volatile __u32 targ_tgid;

#define CT_EBUSY	16

struct inflight {
	struct ct_key key;
	__u64 start;
	__u64 acr_since;
	__u64 acr_ns;
	__u64 acr_calls;
	__u64 acr_busy;
	__u64 retries;
	__u64 migrated;
	__u64 migrate_failed;
	__u32 acr_depth;
	__u32 slot_acr[CT_SLOTS];	/* this call's alloc_contig_range() times */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ct_key);
	__type(value, struct ct_stats);
} stats SEC(".maps");

static const struct inflight zero_inflight;
static const struct ct_stats zero_stats;

static __always_inline struct inflight *cur(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&inflight, &tid);
}


static __always_inline void alloc_enter(struct cma *cma, unsigned long count)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct inflight *f;
	__u64 pages = count;

	if (targ_tgid && (id >> 32) != targ_tgid)
		return;
	if (bpf_map_update_elem(&inflight, &tid, &zero_inflight, BPF_ANY))
		return;
	f = bpf_map_lookup_elem(&inflight, &tid);
	if (!f)
		return;
	BPF_CORE_READ_STR_INTO(&f->key.cma, cma, name);
	f->key.bucket = pages <= 1 ? 0 : log2_u64(pages - 1) + 1;
	f->start = bpf_ktime_get_ns();
}

static __always_inline void alloc_exit(bool ok)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight *f = bpf_map_lookup_elem(&inflight, &tid);
	struct ct_stats *s;
	__u64 d;
	int i;

	if (!f)
		return;
	d = bpf_ktime_get_ns() - f->start;
	s = lookup_or_init(&stats, &f->key, &zero_stats);
	if (s) {
		__sync_fetch_and_add(&s->count, 1);
		if (!ok)
			__sync_fetch_and_add(&s->failed, 1);
		__sync_fetch_and_add(&s->sum_ns, d);
		__sync_fetch_and_add(&s->slots[log2_slot(d)], 1);
		__sync_fetch_and_add(&s->acr_calls, f->acr_calls);
		__sync_fetch_and_add(&s->acr_busy, f->acr_busy);
		__sync_fetch_and_add(&s->acr_ns, f->acr_ns);
		__sync_fetch_and_add(&s->retries, f->retries);
		__sync_fetch_and_add(&s->migrated, f->migrated);
		__sync_fetch_and_add(&s->migrate_failed, f->migrate_failed);
		for (i = 0; i < CT_SLOTS; i++)
			if (f->slot_acr[i])
				__sync_fetch_and_add(&s->acr_slots[i], f->slot_acr[i]);
	}
	bpf_map_delete_elem(&inflight, &tid);
}

static __always_inline void acr_enter(void)
{
	struct inflight *f = cur();

	if (f && !f->acr_depth++)
		f->acr_since = bpf_ktime_get_ns();
}

static __always_inline void acr_exit(int ret)
{
	struct inflight *f = cur();
	__u64 d;

	if (!f || !f->acr_depth || --f->acr_depth)
		return;
	d = bpf_ktime_get_ns() - f->acr_since;
	f->acr_ns += d;
	f->acr_calls++;
	if (ret == -CT_EBUSY)
		f->acr_busy++;
	f->slot_acr[log2_slot(d)]++;
}

PROBES(cma_alloc, (struct cma *cma, unsigned long count), alloc_enter(cma, count);,
       (struct cma *cma, unsigned long count, unsigned int align, bool no_warn,
	struct page *ret),
       (struct page *ret), alloc_exit(ret != NULL);)
PROBES(alloc_contig_range, (), acr_enter();,
       (unsigned long start, unsigned long end, unsigned int migratetype, gfp_t gfp,
	int ret),
       (int ret), acr_exit(ret);)

static __always_inline void on_retry(void)
{
	struct inflight *f = cur();

	if (f)
		f->retries++;
}

TP_PROBES(cma_alloc_busy_retry, (), on_retry();)

static __always_inline void on_migrate(unsigned long succeeded,
				       unsigned long failed, int reason)
{
	struct inflight *f = cur();

	if (f && reason == MR_CONTIG_RANGE) {
		f->migrated += succeeded;
		f->migrate_failed += failed;
	}
}

TP_PROBES(mm_migrate_pages,
	  (unsigned long succeeded, unsigned long failed, unsigned long thp_succeeded,
	   unsigned long thp_failed, unsigned long thp_split, enum migrate_mode mode,
	   int reason),
	  on_migrate(succeeded, failed, reason);)

char LICENSE[] SEC("license") = "GPL";
