/* SPDX-License-Identifier: GPL-2.0 */
/* cmatrace: what cmatrace.bpf.c and cmatrace.c share. */
#ifndef CMATRACE_H
#define CMATRACE_H

#define CMA_NAME_LEN	16
/* log2 nanosecond slots: every floor(log2) of a u64 (LOG2_SLOTS) */
#define CT_SLOTS	64

struct ct_key {
	char cma[CMA_NAME_LEN];
	/* the request is at most 4 KiB << bucket */
	unsigned int bucket;
};

struct ct_stats {
	unsigned long long count;	/* cma_alloc() calls */
	unsigned long long failed;	/* of which returned NULL */
	unsigned long long sum_ns;
	unsigned long long slots[CT_SLOTS];
	unsigned long long acr_calls;	/* alloc_contig_range() calls */
	unsigned long long acr_busy;	/* of which returned -EBUSY */
	unsigned long long acr_ns;
	unsigned long long acr_slots[CT_SLOTS];
	unsigned long long retries;	/* cma_alloc_busy_retry events */
	unsigned long long migrated;	/* pages migrated out of the way */
	unsigned long long migrate_failed;
};

#endif /* CMATRACE_H */
