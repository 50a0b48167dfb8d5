/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers every heaplab BPF program shares: log2 slots and map updates. */
#ifndef HEAPLAB_BITS_BPF_H
#define HEAPLAB_BITS_BPF_H

#include <bpf/bpf_helpers.h>

/* floor(log2(v)) for v > 0, 0 for 0; a loop-free form the verifier likes. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xFFFFFFFFULL) << 5; v >>= s; r |= s;
	s = (v > 0xFFFF) << 4; v >>= s; r |= s;
	s = (v > 0xFF) << 3; v >>= s; r |= s;
	s = (v > 0xF) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	r |= (v >> 1);
	return r;
}

/*
 * The log2 histogram slot of @v: histograms have 64 slots, one for every
 * possible floor(log2) of a u64, so no clamp is needed; the mask is what
 * the verifier needs to see the index bounded (a compare-and-clamp is
 * often applied by the compiler to a copy, not to the register it indexes
 * with).
 */
#define LOG2_SLOTS 64
static __always_inline __u64 log2_slot(__u64 v)
{
	__u64 s = log2_u64(v);

	/* hide the range, or clang drops the mask as redundant */
	barrier_var(s);
	return s & (LOG2_SLOTS - 1);
}

/* The value for @key, inserted from @init first if missing. */
static __always_inline void *lookup_or_init(void *map, const void *key,
					    const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);

	if (val)
		return val;
	/* EEXIST is fine: another CPU inserted it meanwhile. */
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

#endif /* HEAPLAB_BITS_BPF_H */
