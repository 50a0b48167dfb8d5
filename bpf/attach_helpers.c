// SPDX-License-Identifier: GPL-2.0
/* bpf/ loaders: kernel symbols, BTF and the attach choice. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "attach_helpers.h"

/* ---- attach modes ---- */

const char *how_str(enum attach_how how)
{
	switch (how) {
	case HOW_FENTRY:
		return "fentry";
	case HOW_KPROBE:
		return "kprobe";
	case HOW_TP_BTF:
		return "tp_btf";
	case HOW_RAW_TP:
		return "raw_tp";
	default:
		return "missing";
	}
}

int parse_attach_mode(const char *s, enum attach_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = ATTACH_AUTO;
	else if (!strcmp(s, "fentry"))
		*mode = ATTACH_FENTRY;
	else if (!strcmp(s, "kprobe"))
		*mode = ATTACH_KPROBE;
	else
		return -1;
	return 0;
}

/* ---- kernel symbols and BTF ---- */

struct ksym {
	char *name;
	char type;
};

struct ksyms_btf {
	struct btf *vmlinux;		/* NULL without kernel BTF */
	struct btf **modules;
	int nmodules;
	bool modules_loaded;
	struct ksym *syms;		/* names point into syms_arena */
	char *syms_arena;
	size_t nsyms;
	bool syms_loaded;
	/* functions with an ftrace site: the only ones fentry can attach to */
	struct ksym *ftrace;
	char *ftrace_arena;
	size_t nftrace;
	bool ftrace_loaded, ftrace_known;
};

#define SYS_BTF "/sys/kernel/btf"

struct ksyms_btf *ksyms_btf_open(const char *tool, const char *custom_btf)
{
	struct ksyms_btf *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	if (custom_btf && access(custom_btf, R_OK)) {
		fprintf(stderr, "%s: cannot read BTF %s: %s\n", tool, custom_btf,
			strerror(errno));
		free(k);
		return NULL;
	}
	if (!access(SYS_BTF "/vmlinux", R_OK)) {
		k->vmlinux = btf__load_vmlinux_btf();
		if (!k->vmlinux) {
			fprintf(stderr, "%s: cannot parse %s/vmlinux: %s\n", tool,
				SYS_BTF, strerror(errno));
			free(k);
			return NULL;
		}
	} else if (!custom_btf) {
		fprintf(stderr,
			"%s: kernel BTF missing (%s/vmlinux): CO-RE needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, or pass --btf FILE\n",
			tool, SYS_BTF);
		free(k);
		return NULL;
	}
	return k;
}

void ksyms_btf_close(struct ksyms_btf *k)
{
	size_t i;

	if (!k)
		return;
	free(k->syms);
	free(k->syms_arena);
	free(k->ftrace);
	free(k->ftrace_arena);
	for (i = 0; i < (size_t)k->nmodules; i++)
		btf__free(k->modules[i]);
	free(k->modules);
	btf__free(k->vmlinux);
	free(k);
}

bool kernel_has_btf(const struct ksyms_btf *k)
{
	return k->vmlinux;
}

/* Every loaded module's split BTF, on first use. */
static void load_module_btfs(struct ksyms_btf *k)
{
	struct dirent *de;
	DIR *d;

	k->modules_loaded = true;
	if (!k->vmlinux)
		return;
	d = opendir(SYS_BTF);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct btf **grown, *b;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "vmlinux"))
			continue;
		b = btf__load_module_btf(de->d_name, k->vmlinux);
		if (!b)
			continue;
		grown = realloc(k->modules, (k->nmodules + 1) * sizeof(*grown));
		if (!grown) {
			btf__free(b);
			break;
		}
		k->modules = grown;
		k->modules[k->nmodules++] = b;
	}
	closedir(d);
}

static bool btf_has(struct ksyms_btf *k, const char *name, int kind)
{
	int i;

	if (!k->vmlinux)
		return false;
	if (btf__find_by_name_kind(k->vmlinux, name, kind) > 0)
		return true;
	if (!k->modules_loaded)
		load_module_btfs(k);
	for (i = 0; i < k->nmodules; i++)
		if (btf__find_by_name_kind(k->modules[i], name, kind) > 0)
			return true;
	return false;
}

bool btf_has_func(struct ksyms_btf *k, const char *func)
{
	return btf_has(k, func, BTF_KIND_FUNC);
}

static int ksym_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ksym *)a)->name,
		      ((const struct ksym *)b)->name);
}

/* The whole of @path in one buffer (NUL-terminated), *@len its length. */
static char *read_whole(const char *path, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap), *grown;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	for (;;) {
		if (cap - n < 65536) {
			grown = realloc(buf, cap * 2);
			if (!grown)
				break;
			buf = grown;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * Read one symbol a line from @path into a sorted array: the name is field
 * @field (0-based, blank-separated), the type (if @typed) the field before.
 * The names point into *@arena, the file read whole and cut in place:
 * kallsyms has about 10^5 lines, and a sscanf() and a strdup() a line took
 * seconds of every tracer's start in the emulated test guest.
 */
static size_t load_names(const char *path, int field, bool typed,
			 struct ksym **out, char **arena)
{
	struct ksym *syms = NULL, *grown;
	size_t n = 0, cap = 0, len;
	char *buf, *line, *eol, *q, *f[3];
	int nf;

	*out = NULL;
	*arena = buf = read_whole(path, &len);
	if (!buf)
		return 0;
	for (line = buf; line < buf + len; line = eol + 1) {
		eol = memchr(line, '\n', buf + len - line);
		if (!eol)
			eol = buf + len;
		*eol = '\0';
		for (nf = 0, q = line; nf <= field; nf++) {
			while (*q == ' ' || *q == '\t')
				q++;
			if (!*q)
				break;
			f[nf] = q;
			q += strcspn(q, " \t");
			if (*q)
				*q++ = '\0';
		}
		if (nf <= field)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			grown = realloc(syms, cap * sizeof(*grown));
			if (!grown)
				break;
			syms = grown;
		}
		syms[n].name = f[field];
		syms[n++].type = typed ? f[field - 1][0] : 0;
	}
	if (n)
		qsort(syms, n, sizeof(*syms), ksym_cmp);
	*out = syms;
	return n;
}

static void load_ksyms(struct ksyms_btf *k)
{
	k->syms_loaded = true;
	k->nsyms = load_names("/proc/kallsyms", 2, true, &k->syms, &k->syms_arena);
}

static const struct ksym *ksym_find(struct ksyms_btf *k, const char *name)
{
	struct ksym key = { .name = (char *)name };

	if (!k->syms_loaded)
		load_ksyms(k);
	if (!k->nsyms)
		return NULL;
	return bsearch(&key, k->syms, k->nsyms, sizeof(*k->syms), ksym_cmp);
}

/*
 * fentry needs the function's ftrace site (the __fentry__ call): files built
 * without -pg have none, and attaching then fails with EBUSY. Unknown (no
 * tracefs) counts as traceable.
 */
static bool ftrace_traceable(struct ksyms_btf *k, const char *func)
{
	static const char *const files[] = {
		"/sys/kernel/tracing/available_filter_functions",
		"/sys/kernel/debug/tracing/available_filter_functions",
	};
	struct ksym key = { .name = (char *)func };
	size_t i;

	if (!k->ftrace_loaded) {
		k->ftrace_loaded = true;
		for (i = 0; i < sizeof(files) / sizeof(files[0]) && !k->ftrace_known; i++) {
			if (access(files[i], R_OK))
				continue;
			k->nftrace = load_names(files[i], 0, false, &k->ftrace,
					       &k->ftrace_arena);
			k->ftrace_known = k->nftrace > 0;
		}
	}
	return !k->ftrace_known ||
	       bsearch(&key, k->ftrace, k->nftrace, sizeof(*k->ftrace), ksym_cmp);
}

bool ksym_is_text(struct ksyms_btf *k, const char *func)
{
	const struct ksym *s = ksym_find(k, func);

	return s && (s->type == 't' || s->type == 'T');
}

bool tracepoint_exists(const char *category, const char *name)
{
	static const char *const roots[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/%s/%s", roots[i],
			 category, name);
		if (!access(path, F_OK))
			return true;
	}
	return false;
}

enum attach_how plan_func(struct ksyms_btf *k, const char *func,
			  enum attach_mode mode)
{
	bool text = ksym_is_text(k, func);

	if (mode != ATTACH_KPROBE && text && btf_has_func(k, func) &&
	    ftrace_traceable(k, func))
		return HOW_FENTRY;
	if (mode != ATTACH_FENTRY && text)
		return HOW_KPROBE;
	return HOW_MISSING;
}

bool fentry_refused(struct ksyms_btf *k, const char *tool, const char *func,
		    enum attach_mode mode)
{
	if (mode != ATTACH_FENTRY || !ksym_is_text(k, func))
		return false;
	fprintf(stderr, "%s: function %s is in the running kernel but cannot be an fentry target (no BTF describes it, or it has no ftrace site): --attach auto or kprobe attach a kprobe there\n",
		tool, func);
	return true;
}

enum attach_how plan_func_renamed(struct ksyms_btf *k, const char *name,
				  const char *alias, enum attach_mode mode,
				  const char **sym)
{
	enum attach_how how = plan_func(k, name, mode);

	*sym = NULL;
	if (how == HOW_MISSING && alias) {
		how = plan_func(k, alias, mode);
		if (how != HOW_MISSING)
			*sym = alias;
	}
	return how;
}

enum attach_how plan_tracepoint(struct ksyms_btf *k, const char *category,
				const char *tp, enum attach_mode mode)
{
	char tname[256];
	bool exists;

	snprintf(tname, sizeof(tname), "__tracepoint_%s", tp);
	exists = ksym_find(k, tname) || tracepoint_exists(category, tp);
	if (!exists)
		return HOW_MISSING;
	snprintf(tname, sizeof(tname), "btf_trace_%s", tp);
	if (mode != ATTACH_KPROBE && btf_has(k, tname, BTF_KIND_TYPEDEF))
		return HOW_TP_BTF;
	return mode == ATTACH_FENTRY ? HOW_MISSING : HOW_RAW_TP;
}

/* fe_/fx_ for fentry, kp_/kr_ for kprobe, tb_ or rt_ for tracepoints */
static const struct {
	const char *prefix;
	enum attach_how how;
} prog_kinds[] = {
	{ "fe", HOW_FENTRY }, { "fx", HOW_FENTRY },
	{ "kp", HOW_KPROBE }, { "kr", HOW_KPROBE },
	{ "tb", HOW_TP_BTF }, { "rt", HOW_RAW_TP },
};

#define NR_PROG_KINDS (sizeof(prog_kinds) / sizeof(prog_kinds[0]))

int enable_programs(struct bpf_object *obj, const char *func, const char *sym,
		    enum attach_how how)
{
	char name[256];
	size_t i;
	int on = 0;

	for (i = 0; i < NR_PROG_KINDS; i++) {
		struct bpf_program *p;

		snprintf(name, sizeof(name), "%s_%s", prog_kinds[i].prefix, func);
		p = bpf_object__find_program_by_name(obj, name);
		if (!p)
			continue;
		bpf_program__set_autoload(p, prog_kinds[i].how == how);
		on += prog_kinds[i].how == how;
		if (sym && how == HOW_FENTRY && prog_kinds[i].how == how)
			bpf_program__set_attach_target(p, 0, sym);
	}
	return on;
}

int attach_programs(struct bpf_object *obj, const char *func, const char *sym,
		    enum attach_how how, struct link_set *set)
{
	char name[256];
	size_t i;

	for (i = 0; i < NR_PROG_KINDS; i++) {
		struct bpf_link *link, **grown;
		struct bpf_program *p;

		if (prog_kinds[i].how != how)
			continue;
		snprintf(name, sizeof(name), "%s_%s", prog_kinds[i].prefix, func);
		p = bpf_object__find_program_by_name(obj, name);
		if (!p || !bpf_program__autoload(p))
			continue;
		if (sym && how == HOW_KPROBE)
			link = bpf_program__attach_kprobe(p, prog_kinds[i].prefix[1] == 'r', sym);
		else
			link = bpf_program__attach(p);
		if (!link)
			return -errno;
		grown = realloc(set->links, (set->n + 1) * sizeof(*grown));
		if (!grown) {
			bpf_link__destroy(link);
			return -ENOMEM;
		}
		set->links = grown;
		set->links[set->n++] = link;
	}
	return 0;
}

void link_set_destroy(struct link_set *set)
{
	int i;

	for (i = 0; i < set->n; i++)
		bpf_link__destroy(set->links[i]);
	free(set->links);
	set->links = NULL;
	set->n = 0;
}
