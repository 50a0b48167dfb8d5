/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One macro a kind of probe, so that each traced function is one line.
 * Program names are what the loaders enable by (enable_programs() in
 * attach_helpers.c): fe_/fx_ fentry/fexit, kp_/kr_ kprobe/kretprobe,
 * tb_/rt_ tp_btf/raw_tp, then the function or tracepoint.
 *
 * Argument lists are given in parentheses, () for none: fentry and kprobe
 * take the entry's, fexit every argument then the return value, kretprobe
 * the return value alone. The bodies are statements ending in ';'.
 */
#ifndef HEAPLAB_PROBES_BPF_H
#define HEAPLAB_PROBES_BPF_H

#include <bpf/bpf_tracing.h>

#define PROBE_ARGS(...) __VA_ARGS__
/*
 * m(name, the list): libbpf's BPF_PROG(name, args...) pastes args with ##,
 * which expands no macro and keeps the comma before an empty list, so the
 * list is expanded here first and the comma written only if it has tokens.
 */
#define PROBE_CALL(m, name, args) PROBE_CALL_(m, name, PROBE_ARGS args)
#define PROBE_CALL_(m, name, ...) m(name __VA_OPT__(,) __VA_ARGS__)

/* fentry and kprobe of @fn running @entry: a function whose return is not needed. */
#define ENTRY_PROBES(fn, args, entry)					\
SEC("fentry/" #fn)							\
int PROBE_CALL(BPF_PROG, fe_##fn, args)					\
{									\
	entry								\
	return 0;							\
}									\
SEC("kprobe/" #fn)							\
int PROBE_CALL(BPF_KPROBE, kp_##fn, args)				\
{									\
	entry								\
	return 0;							\
}

/* fexit and kretprobe of @fn running @exit. */
#define EXIT_PROBES(fn, fexit_args, kret_args, exit)			\
SEC("fexit/" #fn)							\
int PROBE_CALL(BPF_PROG, fx_##fn, fexit_args)				\
{									\
	exit								\
	return 0;							\
}									\
SEC("kretprobe/" #fn)							\
int PROBE_CALL(BPF_KRETPROBE, kr_##fn, kret_args)			\
{									\
	exit								\
	return 0;							\
}

/* All four: the loader attaches one pair, fentry/fexit or kprobe/kretprobe. */
#define PROBES(fn, args, entry, fexit_args, kret_args, exit)		\
	ENTRY_PROBES(fn, args, entry)					\
	EXIT_PROBES(fn, fexit_args, kret_args, exit)

/* tp_btf and raw_tp of tracepoint @tp running @body. */
#define TP_PROBES(tp, args, body)					\
SEC("tp_btf/" #tp)							\
int PROBE_CALL(BPF_PROG, tb_##tp, args)					\
{									\
	body								\
	return 0;							\
}									\
SEC("raw_tp/" #tp)							\
int PROBE_CALL(BPF_PROG, rt_##tp, args)					\
{									\
	body								\
	return 0;							\
}

#endif /* HEAPLAB_PROBES_BPF_H */
