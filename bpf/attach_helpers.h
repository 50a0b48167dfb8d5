/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpf/ loaders: what the running kernel offers (its BTF, vmlinux and
 * modules', and its symbols) and the attach choice made per function at
 * run time: fentry/fexit or kprobe/kretprobe, tp_btf or raw_tp.
 */
#ifndef HEAPLAB_ATTACH_HELPERS_H
#define HEAPLAB_ATTACH_HELPERS_H

#include <stdbool.h>

struct bpf_object;

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

/*
 * Under --attach fentry, true (with a message naming @func) when the
 * kernel has @func as text but it is no fentry target: a module built
 * without BTF (DKMS on Debian's 6.1, whose headers ship no vmlinux). The
 * caller fails rather than take its heaps for absent ones.
 */
bool fentry_refused(struct ksyms_btf *k, const char *tool, const char *func,
		    enum attach_mode mode);
/*
 * plan_func() for a function a later kernel renamed (6.10's _noprof
 * variants): @name first, then @alias; *@sym is set to @alias when that is
 * the one found, else NULL (pass it to enable/attach_programs()).
 */
enum attach_how plan_func_renamed(struct ksyms_btf *k, const char *name,
				  const char *alias, enum attach_mode mode,
				  const char **sym);
enum attach_how plan_tracepoint(struct ksyms_btf *k, const char *category,
				const char *tp, enum attach_mode mode);

/*
 * Turn on the programs named <prefix>_<func> that @how uses and off the
 * others: fe_/fx_ or kp_/kr_ for functions, tb_ or rt_ for tracepoints.
 * Programs that do not exist in @obj are skipped (a function may have only
 * an entry program). Returns how many programs it turned on.
 * @sym: the kernel's name for @func when it differs (a function renamed in
 * a later kernel), else NULL: fentry/fexit programs are pointed at it here,
 * kprobes when attach_programs() attaches them.
 */
int enable_programs(struct bpf_object *obj, const char *func, const char *sym,
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
int attach_programs(struct bpf_object *obj, const char *func, const char *sym,
		    enum attach_how how, struct link_set *set);
void link_set_destroy(struct link_set *set);

#endif /* HEAPLAB_ATTACH_HELPERS_H */
