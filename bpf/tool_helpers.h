/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpf/ loaders: what every tool's command line and run share (the common
 * options, root, libbpf's messages, tracing a command or for a while).
 */
#ifndef HEAPLAB_TOOL_HELPERS_H
#define HEAPLAB_TOOL_HELPERS_H

#include <stdbool.h>
#include <stdio.h>

#include "attach_helpers.h"

struct trace_env {
	const char *tool;
	enum attach_mode mode;
	const char *mode_str;
	const char *btf;	/* --btf: vmlinux BTF for CO-RE */
	const char *json;	/* --json FILE */
	double duration;	/* --duration SEC; 0: until Ctrl-C */
	unsigned int pid;	/* --pid: only this process */
	bool verbose;
	char **command;		/* -- COMMAND ARGS: trace while it runs */
	void (*usage)(FILE *f);	/* the tool's --help */
};

/* getopt_long entries and short letters of the common options. */
#define TRACE_COMMON_OPTS						\
	{ "duration", required_argument, NULL, 'd' },			\
	{ "pid", required_argument, NULL, 'p' },			\
	{ "attach", required_argument, NULL, 'a' },			\
	{ "btf", required_argument, NULL, 'B' },			\
	{ "json", required_argument, NULL, 'j' },			\
	{ "verbose", no_argument, NULL, 'v' }
#define TRACE_COMMON_SHORT "d:p:a:j:v"
#define TRACE_COMMON_HELP						\
"  -d, --duration SEC   trace for SEC seconds\n"				\
"  -p, --pid PID        only this process\n"				\
"  -a, --attach MODE    auto (fentry/tp_btf where BTF allows, else kprobe/raw_tp),\n" \
"                       fentry or kprobe (default: auto)\n"		\
"      --btf FILE       vmlinux BTF for CO-RE, for a kernel without /sys/kernel/btf\n" \
"  -v, --verbose        how each target was attached; libbpf's messages\n"

/*
 * Option @c of the common set, or -h (env->usage on stdout, exit 0): 0 if
 * taken, -1 after a message if its argument is bad or @c is no option
 * (env->usage on stderr).
 */
int trace_common_opt(struct trace_env *env, int c, const char *arg);

/*
 * After the options: root, libbpf's messages (-v), the kernel's symbols
 * and BTF (ksyms_btf_open()); NULL after a message.
 */
struct ksyms_btf *trace_start(const struct trace_env *env);

/*
 * Trace: run env->command to its end, or wait for --duration or SIGINT /
 * SIGTERM. Returns 0, or 3 if the command failed. *elapsed: seconds.
 */
int trace_run(const struct trace_env *env, const char *what, double *elapsed);

/* What a tool does with what it traced. */
struct trace_report {
	int (*read)(void *ctx);			/* the maps, after detaching: 0 or -errno */
	void (*print)(void *ctx);		/* the terminal tables */
	int (*json)(void *ctx, double elapsed);	/* --json: 0 or -1 after a message */
	void *ctx;
};

/*
 * The end every tool shares: trace_run(), detach @links (what is read
 * then no longer changes), read, print, and write the JSON with --json.
 * Returns the tool's exit status: 0, 1 on a failure here, 3 if the
 * command traced failed.
 */
struct link_set;
int trace_and_report(const struct trace_env *env, const char *what,
		     struct link_set *links, const struct trace_report *r);

#endif /* HEAPLAB_TOOL_HELPERS_H */
