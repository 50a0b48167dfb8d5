/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the bpf/ loaders share: log2 histograms (print, percentiles),
 * kernel symbols and BTF (what can be attached, and how), and the
 * attach-mode choice made per function at run time.
 */
#ifndef HEAPLAB_TRACE_HELPERS_H
#define HEAPLAB_TRACE_HELPERS_H

#include <stdbool.h>
#include <stdio.h>

struct bpf_object;

/* Histograms: slot i counts values in [2^i, 2^(i+1)), slot 0 also 0. */
void print_log2_hist(FILE *f, const unsigned long long *slots, int nslots,
		     const char *unit);
/* Value at fraction p (0..1) of the counts, linear within a slot. */
double log2_hist_percentile(const unsigned long long *slots, int nslots,
			    double p);

/* "4 KiB", "64 MiB": bytes of a power-of-two size. */
const char *size_str(unsigned long long bytes, char *buf, size_t len);
/* "812 ns", "3.4 us", "1.2 ms", "4.05 s" */
const char *ns_str(double ns, char *buf, size_t len);

enum attach_mode {
	ATTACH_AUTO,	/* fentry/tp_btf where BTF allows, else kprobe/raw_tp */
	ATTACH_FENTRY,
	ATTACH_KPROBE,
};

enum attach_how {
	HOW_MISSING,
	HOW_FENTRY,
	HOW_KPROBE,
	HOW_TP_BTF,
	HOW_RAW_TP,
};

const char *how_str(enum attach_how how);
int parse_attach_mode(const char *s, enum attach_mode *mode);

/*
 * What the running kernel offers: its BTF (vmlinux and every loaded
 * module's) and its symbols. ksyms_btf_open() fails with a message when
 * there is no kernel BTF and no @custom_btf.
 */
struct ksyms_btf;
struct ksyms_btf *ksyms_btf_open(const char *tool, const char *custom_btf);
void ksyms_btf_close(struct ksyms_btf *k);
bool kernel_has_btf(const struct ksyms_btf *k);
bool btf_has_func(struct ksyms_btf *k, const char *func);
bool ksym_is_text(struct ksyms_btf *k, const char *func);
bool tracepoint_exists(const char *category, const char *name);

/*
 * How to attach to @func under @mode: fentry if the kernel's BTF knows it
 * and it has an ftrace site (and @mode allows), else a kprobe if it is a
 * kernel text symbol, else HOW_MISSING. Tracepoints likewise: tp_btf, else raw_tp.
 */
enum attach_how plan_func(struct ksyms_btf *k, const char *func,
			  enum attach_mode mode);
enum attach_how plan_tracepoint(struct ksyms_btf *k, const char *category,
				const char *tp, enum attach_mode mode);

/*
 * Turn on the programs named <prefix>_<func> that @how uses and off the
 * others: fe_/fx_ or kp_/kr_ for functions, tb_ or rt_ for tracepoints.
 * Programs that do not exist in @obj are skipped (a function may have only
 * an entry program). Returns how many programs it turned on.
 */
int enable_programs(struct bpf_object *obj, const char *func,
		    enum attach_how how);

/* The links a tool attached, destroyed together (detach). */
struct bpf_link;
struct link_set {
	struct bpf_link **links;
	int n;
};

/*
 * Attach the programs enable_programs() turned on for @func. 0, or a
 * negative errno (after which the links made so far stay in @set).
 */
int attach_programs(struct bpf_object *obj, const char *func,
		    enum attach_how how, struct link_set *set);
void link_set_destroy(struct link_set *set);

/* libbpf's messages only with -v: it prints a lot for a failed probe. */
void libbpf_set_verbose(bool verbose);

/* 0 when running as root; else says so (loading BPF needs it). */
int check_root(const char *tool);

/* ---- what every tool's command line and run share ---- */

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
 * Option @c of the common set: 0 if taken, -1 (after a message) if its
 * argument is bad, 1 if @c is not a common option.
 */
int trace_common_opt(struct trace_env *env, int c, const char *arg);

/*
 * Trace: run env->command to its end, or wait for --duration or SIGINT /
 * SIGTERM. Returns 0, or 3 if the command failed. *elapsed: seconds.
 */
int trace_run(const struct trace_env *env, const char *what, double *elapsed);

/* ---- JSON ---- */
struct json_object;

/* [low_ns, high_ns, count] of each non-empty log2 slot. */
struct json_object *log2_slots_json(const unsigned long long *slots, int nslots);
/*
 * The document's head: schema, tool, kernel, duration, how each target
 * (@names[i]) was attached (@hows[i]), and the command traced.
 */
struct json_object *trace_json_new(const struct trace_env *env, const char *schema,
				   double elapsed, const char *const *names,
				   const enum attach_how *hows, int n);
/* Write @root to env->json and free it; -1 after a message on failure. */
int trace_json_write(const struct trace_env *env, struct json_object *root);

#endif /* HEAPLAB_TRACE_HELPERS_H */
