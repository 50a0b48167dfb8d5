// SPDX-License-Identifier: GPL-2.0
/*
 * heaprec: records the DMA-BUF heap allocations a live system makes, on
 * heaplab's heaps and the kernel's own, and writes them as a
 * heaplab-profile/1 that heaplab-bench replay plays back elsewhere.
 *
 * One event per allocation ioctl that reached a heap (heap, kind, size,
 * process, time, fd or errno) and one per release of a buffer it made,
 * through a ring buffer drained by a thread while the recording runs.
 * The profile: one phase "recorded", a class per (heap kind, size, comm),
 * the exact timeline, and a "recording" object with what the classes
 * cannot say (failures, buffers still held, where it was recorded).
 */
#define _GNU_SOURCE	/* vasprintf(), tdestroy() */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <search.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "heaprec.h"
#include "heaprec.skel.h"
#include "attach_helpers.h"
#include "hist_helpers.h"
#include "heaplab.h"
#include "json_helpers.h"
#include "tool_helpers.h"

#define TOOL "heaprec"
#define PROFILE_SCHEMA "heaplab-profile/1"
/* What heaplab-bench replay plays at most (bench/profile.h). */
#define REPLAY_MAX_ALLOCS 1000000

static const char *const impl_names[HR_NR_IMPLS] = { "heaplab", "upstream" };
static const char *const kind_names[] = { [HR_SYSTEM] = "system", [HR_CMA] = "cma" };

enum group {
	G_SHARED,	/* both families: required */
	G_HEAPLAB,	/* heaplab_heap.ko and its heaps */
	G_HEAPLAB_CMA,	/* heaplab_cma_heap.ko: tells its heap's kind */
	G_UPSTREAM,	/* the kernel's dma-heap framework */
	G_UP_SYSTEM,	/* CONFIG_DMABUF_HEAPS_SYSTEM */
	G_UP_CMA,	/* CONFIG_DMABUF_HEAPS_CMA */
	NR_GROUPS
};

static const char *const group_names[NR_GROUPS] = {
	"shared", "heaplab", "heaplab CMA", "upstream", "upstream system",
	"upstream CMA",
};

static struct target {
	const char *name;
	enum group group;
	const char *tp_category;	/* a tracepoint, not a function */
	const char *why;		/* printed when it is missing */
	enum attach_how how;
} targets[] = {
#define T(n, g, tp, w) { .name = n, .group = g, .tp_category = tp, .why = w }
	/* first of each group: without it the group is off */
	T("dma_buf_export", G_SHARED, NULL, "the buffer an allocation made"),
	T("heaplab_heap_ioctl", G_HEAPLAB, NULL, "is heaplab_heap.ko loaded?"),
	T("heaplab_alloc_start", G_HEAPLAB, "heaplab", "is heaplab_heap.ko loaded?"),
	T("heaplab_release", G_HEAPLAB, NULL, NULL),
	T("heaplab_cma_allocate", G_HEAPLAB_CMA, NULL, "is heaplab_cma_heap.ko loaded?"),
	T("dma_heap_ioctl", G_UPSTREAM, NULL, "CONFIG_DMABUF_HEAPS=y?"),
	T("system_heap_allocate", G_UP_SYSTEM, NULL, NULL),
	T("system_heap_dma_buf_release", G_UP_SYSTEM, NULL, NULL),
	T("cma_heap_allocate", G_UP_CMA, NULL, NULL),
	T("cma_heap_dma_buf_release", G_UP_CMA, NULL, NULL),
#undef T
};

#define NR_TARGETS (sizeof(targets) / sizeof(targets[0]))

static struct trace_env env = { .tool = TOOL, .mode_str = "auto" };
static const char *name_opt;
static bool print_events;

static void usage(FILE *f)
{
	fprintf(f,
"usage: " TOOL " [options] -o PROFILE.json [-- COMMAND [ARG...]]\n"
"Records every DMA-BUF heap allocation (heaplab's heaps and the kernel's own:\n"
"heap, kind, size, process, time, result) and the release of each buffer, and\n"
"writes them as a heaplab-profile/1 for heaplab-bench replay: one phase\n"
"\"recorded\", a class per (heap kind, size, process name), the exact timeline.\n"
"Records until Ctrl-C, for --duration, or while COMMAND runs.\n"
"\n"
TRACE_COMMON_HELP
"  -o, --output FILE    where the profile goes (required; -j, --json alike)\n"
"  -n, --name NAME      the profile's name, [a-z0-9][a-z0-9-]* (default: from FILE)\n"
"  -e, --events         print every allocation and release as it comes\n"
"  -h, --help           this help\n");
}

/* heaplab-profile/1's names: [a-z0-9] then [a-z0-9-] (profiles), or also _ (classes). */
static bool valid_name(const char *s, bool underscore)
{
	const char *p;

	if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	for (p = s + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      (underscore && *p == '_')))
			return false;
	return true;
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		TRACE_COMMON_OPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "events", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int c;

	env.usage = usage;
	while ((c = getopt_long(argc, argv, "+" TRACE_COMMON_SHORT "o:n:eh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
		case 'j':
			env.json = optarg;
			break;
		case 'n':
			if (!valid_name(optarg, false)) {
				fprintf(stderr, TOOL ": --name %s: must match [a-z0-9][a-z0-9-]*\n", optarg);
				return -1;
			}
			name_opt = optarg;
			break;
		case 'e':
			print_events = true;
			break;
		default:
			if (trace_common_opt(&env, c, optarg))
				return -1;
		}
	}
	if (optind < argc)
		env.command = argv + optind;
	if (!env.json) {
		fprintf(stderr, TOOL ": -o PROFILE.json is required: where the profile goes\n");
		return -1;
	}
	if (!*env.json) {
		fprintf(stderr, TOOL ": -o: an empty file name\n");
		return -1;
	}
	return 0;
}

/*
 * The output is written at the end to FILE.tmp and renamed: find out now,
 * not after an hour of recording, that it cannot be.
 */
static char tmp_path[PATH_MAX];

static int check_output(const char *path)
{
	struct stat st;
	FILE *f;

	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		fprintf(stderr, TOOL ": -o %s: a directory, not a file\n", path);
		return -1;
	}
	if (snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path) >= (int)sizeof(tmp_path)) {
		fprintf(stderr, TOOL ": -o %s: the name is too long\n", path);
		return -1;
	}
	f = fopen(tmp_path, "w");
	if (!f) {
		fprintf(stderr, TOOL ": -o %s: cannot write %s: %s\n", path, tmp_path, strerror(errno));
		return -1;
	}
	fclose(f);
	unlink(tmp_path);
	return 0;
}

/*
 * Which targets to attach and which groups are on. A group whose first
 * target is missing is off (the framework or module is not there); a group
 * missing any other target is an error: it would record allocations whose
 * releases it never sees.
 */
static int plan(struct ksyms_btf *k, bool on[NR_GROUPS])
{
	bool seen_first[NR_GROUPS] = { };
	size_t i;

	for (i = 0; i < NR_GROUPS; i++)
		on[i] = true;
	for (i = 0; i < NR_TARGETS; i++) {
		struct target *t = &targets[i];
		bool first = !seen_first[t->group];
		const char *sym;

		seen_first[t->group] = true;
		if (!on[t->group]) {
			t->how = HOW_MISSING;
			continue;
		}
		t->how = t->tp_category ?
			plan_tracepoint(k, t->tp_category, t->name, env.mode) :
			plan_func_renamed(k, t->name, NULL, env.mode, &sym);
		if (t->how != HOW_MISSING)
			continue;
		/* There, but not for fentry: not an absent heap family. */
		if (!t->tp_category && fentry_refused(k, TOOL, t->name, env.mode))
			return -1;
		if (first && t->group != G_SHARED) {
			/*
			 * A heap family that is absent is a note; heaplab's
			 * CMA module loaded later would be recorded as system.
			 */
			if (env.verbose || t->group == G_HEAPLAB || t->group == G_UPSTREAM ||
			    (t->group == G_HEAPLAB_CMA && on[G_HEAPLAB]))
				fprintf(stderr, TOOL ": note: %s not found (%s): not recording the %s heaps\n",
					t->name, t->why ? t->why : "not built in",
					group_names[t->group]);
			on[t->group] = false;
			continue;
		}
		fprintf(stderr, TOOL ": %s %s not found in the running kernel%s%s%s\n",
			t->tp_category ? "tracepoint" : "function", t->name,
			env.mode == ATTACH_AUTO ? "" :
			env.mode == ATTACH_FENTRY ? " as an fentry target (no BTF or no ftrace site for it)" :
			" (as a kprobe target)",
			t->why ? ": " : "", t->why ? t->why : "");
		return -1;
	}
	/* Sub-groups follow their framework. */
	if (!on[G_HEAPLAB])
		on[G_HEAPLAB_CMA] = false;
	if (!on[G_UPSTREAM])
		on[G_UP_SYSTEM] = on[G_UP_CMA] = false;
	if (!on[G_HEAPLAB] && !on[G_UPSTREAM]) {
		fprintf(stderr, TOOL ": no DMA-BUF heaps to record: neither heaplab_heap.ko is loaded nor the kernel's dma-heap framework built in\n");
		return -1;
	}
	for (i = 0; i < NR_TARGETS; i++)
		if (!on[targets[i].group])
			targets[i].how = HOW_MISSING;
	return 0;
}

/* ---- the events, as they come ---- */

struct alloc {
	unsigned long long ts, done, rel;	/* ns, CLOCK_MONOTONIC */
	unsigned long long dmabuf, size;
	int ret, fd;
	unsigned int tgid;
	unsigned char impl, kind;
	bool released;
	int cls;
	char comm[HR_COMM_LEN + 1];
	char heap[HR_HEAP_LEN + 1];
};

/* A buffer not yet released: its address, and its allocation. */
struct live_node {
	unsigned long long dmabuf;
	size_t idx;
};

static struct {
	struct alloc *a;
	size_t n, cap;
	void *live;			/* tsearch() tree of struct live_node */
	bool nomem;			/* an event could not be kept */
	unsigned long long unmatched;	/* releases of buffers never seen made */
	unsigned long long t0, t_end;
	struct ring_buffer *rb;
	pthread_t thread;
	bool thread_on;
	volatile bool stop;
	/* from the BPF side at the end */
	unsigned long long lost, live_full, refused[HR_NR_IMPLS];
} rec;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns()'s clock */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int live_cmp(const void *a, const void *b)
{
	const struct live_node *x = a, *y = b;

	return x->dmabuf < y->dmabuf ? -1 : x->dmabuf > y->dmabuf;
}

static double rel_s(unsigned long long ts)
{
	return ts > rec.t0 ? (ts - rec.t0) / 1e9 : 0;
}

static void heap_label(const struct alloc *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", a->impl < HR_NR_IMPLS ? impl_names[a->impl] : "?", a->heap);
}

static void add_alloc(const struct hr_event *e)
{
	struct live_node *node, **found;
	struct alloc *a, *grown;

	if (rec.n == rec.cap) {
		size_t cap = rec.cap ? rec.cap * 2 : 1024;

		grown = realloc(rec.a, cap * sizeof(*grown));
		if (!grown) {
			rec.nomem = true;
			return;
		}
		rec.a = grown;
		rec.cap = cap;
	}
	a = &rec.a[rec.n];
	memset(a, 0, sizeof(*a));
	a->ts = e->ts_ns;
	a->done = e->done_ns;
	a->dmabuf = e->dmabuf;
	a->size = e->size;
	a->ret = e->ret;
	a->fd = e->fd;
	a->tgid = e->tgid;
	a->impl = e->impl;
	a->kind = e->kind == HR_CMA ? HR_CMA : HR_SYSTEM;
	a->cls = -1;
	memcpy(a->comm, e->comm, HR_COMM_LEN);
	memcpy(a->heap, e->heap, HR_HEAP_LEN);
	if (!a->ret && a->dmabuf) {
		node = malloc(sizeof(*node));
		if (!node) {
			rec.nomem = true;
			return;
		}
		node->dmabuf = a->dmabuf;
		node->idx = rec.n;
		found = tsearch(node, &rec.live, live_cmp);
		if (!found) {
			free(node);
			rec.nomem = true;
			return;
		}
		/* the same address live twice: the first one's release was lost */
		if (*found != node) {
			(*found)->idx = rec.n;
			free(node);
		}
	}
	rec.n++;
	if (print_events) {
		char heap[HR_HEAP_LEN + 16], sz[32];

		heap_label(a, heap, sizeof(heap));
		printf("%12.6f %-16s %7u %-24s %10s -> ", rel_s(a->ts), a->comm, a->tgid, heap,
		       size_str(a->size, sz, sizeof(sz)));
		if (a->ret)
			printf("%s\n", hl_errname(-a->ret));
		else
			printf("fd %d (dma_buf 0x%llx)\n", a->fd, a->dmabuf);
		fflush(stdout);
	}
}

static void add_release(const struct hr_event *e)
{
	struct live_node key = { .dmabuf = e->dmabuf }, **found, *node;
	struct alloc *a;

	found = tfind(&key, &rec.live, live_cmp);
	if (!found) {
		rec.unmatched++;
		return;
	}
	node = *found;
	a = &rec.a[node->idx];
	a->rel = e->ts_ns;
	a->released = true;
	tdelete(&key, &rec.live, live_cmp);
	free(node);
	if (print_events) {
		char heap[HR_HEAP_LEN + 16], sz[32], held[32];

		heap_label(a, heap, sizeof(heap));
		printf("%12.6f release dma_buf 0x%llx (%s %s of %s %u, held %s)\n",
		       rel_s(a->rel), a->dmabuf, heap, size_str(a->size, sz, sizeof(sz)),
		       a->comm, a->tgid, ns_str((double)(a->rel - a->ts), held, sizeof(held)));
		fflush(stdout);
	}
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct hr_event *e = data;

	(void)ctx;
	if (len < sizeof(*e))
		return 0;
	if (e->type == HR_ALLOC)
		add_alloc(e);
	else if (e->type == HR_RELEASE)
		add_release(e);
	return 0;
}

static void *drain_thread(void *arg)
{
	(void)arg;
	while (!rec.stop) {
		/* the BPF side wakes us only when its ring fills: consume what a timeout left */
		int err = ring_buffer__poll(rec.rb, 100);

		if (err >= 0)
			err = ring_buffer__consume(rec.rb);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, TOOL ": reading the ring buffer: %s\n", strerror(-err));
			break;
		}
	}
	return NULL;
}

/* The thread drains while tracing; SIGINT and SIGTERM stay with the main one. */
static int start_thread(void)
{
	sigset_t block, old;
	int err;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	err = pthread_create(&rec.thread, NULL, drain_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fprintf(stderr, TOOL ": cannot start the thread that reads events: %s\n", strerror(err));
		return -1;
	}
	rec.thread_on = true;
	return 0;
}

static void stop_thread(void)
{
	if (!rec.thread_on)
		return;
	rec.stop = true;
	pthread_join(rec.thread, NULL);
	rec.thread_on = false;
}

/* ---- classes: one per (heap kind, size, comm) ---- */

#define MAX_LISTED 16

struct cls {
	unsigned char kind;
	unsigned long long size;
	char comm[HR_COMM_LEN + 1];
	char name[96];
	unsigned long long allocs, ok, failed, held_end, most_held;
	long long hold_us;		/* median hold of the buffers made, -1: none */
	bool all_held;			/* every buffer made was held to the end */
	bool replayed;
	const char *why;		/* why not, if not */
	unsigned long long *holds;	/* scratch for the median */
	char heaps[MAX_LISTED][HR_HEAP_LEN + 16];
	int nheaps;
	unsigned int tgids[MAX_LISTED];
	int ntgids;
	bool more_tgids;
	struct { int err; unsigned long long n; } errs[MAX_LISTED];
	int nerrs;
};

static struct cls *classes;
static int nclasses;
static unsigned long long mem_total;
static char *warnings[8];
static int nwarnings;

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	fprintf(stderr, TOOL ": warning: %s\n", s);
	if (nwarnings < (int)(sizeof(warnings) / sizeof(warnings[0])))
		warnings[nwarnings++] = s;
	else
		free(s);
}

static int cls_cmp(const void *a, const void *b)
{
	const struct cls *x = a, *y = b;
	int c = strcmp(kind_names[x->kind], kind_names[y->kind]);

	if (c)
		return c;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return strcmp(x->comm, y->comm);
}

static int find_class(const struct alloc *a)
{
	struct cls *grown, *c;
	int i;

	for (i = 0; i < nclasses; i++)
		if (classes[i].kind == a->kind && classes[i].size == a->size &&
		    !strcmp(classes[i].comm, a->comm))
			return i;
	grown = realloc(classes, (nclasses + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	classes = grown;
	c = &classes[nclasses];
	memset(c, 0, sizeof(*c));
	c->kind = a->kind;
	c->size = a->size;
	memcpy(c->comm, a->comm, sizeof(c->comm));
	c->hold_us = -1;
	return nclasses++;
}

static void note_heap(struct cls *c, const struct alloc *a)
{
	char h[sizeof(c->heaps[0])];
	int i;

	heap_label(a, h, sizeof(h));
	for (i = 0; i < c->nheaps; i++)
		if (!strcmp(c->heaps[i], h))
			return;
	if (c->nheaps < MAX_LISTED)
		strcpy(c->heaps[c->nheaps++], h);
}

static void note_tgid(struct cls *c, unsigned int tgid)
{
	int i;

	for (i = 0; i < c->ntgids; i++)
		if (c->tgids[i] == tgid)
			return;
	if (c->ntgids < MAX_LISTED)
		c->tgids[c->ntgids++] = tgid;
	else
		c->more_tgids = true;
}

static void note_err(struct cls *c, int err)
{
	int i;

	for (i = 0; i < c->nerrs; i++)
		if (c->errs[i].err == err) {
			c->errs[i].n++;
			return;
		}
	if (c->nerrs < MAX_LISTED) {
		c->errs[c->nerrs].err = err;
		c->errs[c->nerrs++].n = 1;
	}
}

/* "4k", "12m", "1g", or the bytes: how a class name gives its size. */
static void size_tag(unsigned long long size, char *buf, size_t len)
{
	if (size && !(size % (1ULL << 30)))
		snprintf(buf, len, "%llug", size >> 30);
	else if (size && !(size % (1ULL << 20)))
		snprintf(buf, len, "%llum", size >> 20);
	else if (size && !(size % 1024))
		snprintf(buf, len, "%lluk", size >> 10);
	else
		snprintf(buf, len, "%llu", size);
}

/* KIND-SIZE-COMM, the comm lower-cased and anything else made '-'; unique. */
static void name_classes(void)
{
	int i, j, k;

	for (i = 0; i < nclasses; i++) {
		struct cls *c = &classes[i];
		char tag[32], comm[HR_COMM_LEN + 1];
		size_t n;

		size_tag(c->size, tag, sizeof(tag));
		for (n = 0; c->comm[n] && n < HR_COMM_LEN; n++) {
			char ch = c->comm[n];

			if (ch >= 'A' && ch <= 'Z')
				ch += 'a' - 'A';
			comm[n] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
				  ch == '_' || ch == '-' ? ch : '-';
		}
		comm[n] = '\0';
		snprintf(c->name, sizeof(c->name), "%s-%s-%s", kind_names[c->kind], tag,
			 n ? comm : "unknown");
		/* "Foo" and "foo" are two comms and one name: the later gets -2, -3... */
		for (k = 2;; k++) {
			for (j = 0; j < i && strcmp(classes[j].name, c->name); j++)
				;
			if (j == i)
				break;
			snprintf(c->name, sizeof(c->name), "%s-%s-%s-%d", kind_names[c->kind], tag,
				 n ? comm : "unknown", k);
		}
	}
}

static int ull_cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* One buffer made (+1) or released (-1), for the most held at once. */
struct step {
	unsigned long long t;
	int cls;
	int delta;
};

static int step_cmp(const void *a, const void *b)
{
	const struct step *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	/* a release and an allocation at one instant: the release first */
	return x->delta - y->delta;
}

static unsigned long long end_of(const struct alloc *a)
{
	return a->released ? a->rel : rec.t_end;
}

static int build_classes(void)
{
	unsigned long long held_sum = 0;
	long long *held = NULL;
	struct step *steps = NULL;
	size_t i, nsteps = 0;
	int k, ret = -ENOMEM;

	for (i = 0; i < rec.n; i++) {
		struct alloc *a = &rec.a[i];
		struct cls *c;

		a->cls = find_class(a);
		if (a->cls < 0)
			goto out;
		c = &classes[a->cls];
		c->allocs++;
		note_heap(c, a);
		note_tgid(c, a->tgid);
		if (a->ret) {
			c->failed++;
			note_err(c, -a->ret);
		} else {
			c->ok++;
			c->held_end += !a->released;
		}
	}
	/* sorted, then allocations point at their class again */
	if (nclasses)
		qsort(classes, nclasses, sizeof(*classes), cls_cmp);
	for (i = 0; i < rec.n; i++) {
		struct alloc *a = &rec.a[i];

		for (k = 0; k < nclasses; k++)
			if (classes[k].kind == a->kind && classes[k].size == a->size &&
			    !strcmp(classes[k].comm, a->comm))
				break;
		a->cls = k;
	}
	name_classes();

	/* most held at once, and the median hold, of the buffers made */
	steps = calloc(2 * rec.n + 1, sizeof(*steps));
	held = calloc(nclasses + 1, sizeof(*held));
	if (!steps || !held)
		goto out;
	for (k = 0; k < nclasses; k++) {
		classes[k].holds = calloc(classes[k].ok + 1, sizeof(*classes[k].holds));
		if (!classes[k].holds)
			goto out;
		classes[k].ok = 0;	/* counted again below, as the index */
	}
	for (i = 0; i < rec.n; i++) {
		struct alloc *a = &rec.a[i];
		struct cls *c = &classes[a->cls];

		if (a->ret)
			continue;
		c->holds[c->ok++] = end_of(a) - a->ts;
		steps[nsteps++] = (struct step){ a->ts, a->cls, 1 };
		if (a->released)
			steps[nsteps++] = (struct step){ a->rel, a->cls, -1 };
	}
	if (nsteps)
		qsort(steps, nsteps, sizeof(*steps), step_cmp);
	for (i = 0; i < nsteps; i++) {
		struct cls *c = &classes[steps[i].cls];

		held[steps[i].cls] += steps[i].delta;
		if (held[steps[i].cls] > (long long)c->most_held)
			c->most_held = held[steps[i].cls];
	}
	for (k = 0; k < nclasses; k++) {
		struct cls *c = &classes[k];
		unsigned long long m;

		c->all_held = c->ok && c->held_end == c->ok;
		if (!c->ok)
			continue;
		qsort(c->holds, c->ok, sizeof(*c->holds), ull_cmp);
		m = c->ok % 2 ? c->holds[c->ok / 2] :
		    (c->holds[c->ok / 2 - 1] + c->holds[c->ok / 2]) / 2;
		c->hold_us = m / 1000;
	}

	/*
	 * Which classes a replay plays. One whose every allocation failed is
	 * played too (a larger CMA area may give it what this one could not),
	 * unless it asks for more than this machine's memory: the format
	 * refuses a phase that holds more than MemTotal.
	 */
	for (k = 0; k < nclasses; k++) {
		struct cls *c = &classes[k];

		c->replayed = true;
		if (!c->ok && c->size > mem_total) {
			c->replayed = false;
			c->why = "every allocation failed, and it is larger than this machine's memory";
		}
		if (c->replayed)
			held_sum += (c->ok ? c->most_held : 1) * c->size;
	}
	while (held_sum > mem_total) {
		struct cls *big = NULL;

		for (k = 0; k < nclasses; k++)
			if (classes[k].replayed && !classes[k].ok &&
			    (!big || classes[k].size > big->size))
				big = &classes[k];
		if (!big)
			break;
		big->replayed = false;
		big->why = "every allocation failed, and with it the classes would hold more than this machine's memory";
		held_sum -= big->size;
	}
	if (held_sum > mem_total)
		warn("the classes' most held at once add up to %llu MiB, more than MemTotal %llu MiB (their peaks came at different times): validators will refuse the profile; record a shorter while",
		     held_sum >> 20, mem_total >> 20);
	ret = 0;
out:
	for (k = 0; k < nclasses; k++) {
		free(classes[k].holds);
		classes[k].holds = NULL;
	}
	free(steps);
	free(held);
	return ret;
}

static void free_live(void *node)
{
	free(node);
}

/* After detaching: the last events, the BPF side's counters, the classes. */
static int read_events(void *ctx)
{
	struct heaprec_bpf *skel = ctx;
	int i;

	stop_thread();
	ring_buffer__consume(rec.rb);
	rec.t_end = now_ns();
	rec.lost = skel->bss->lost;
	rec.live_full = skel->bss->live_full;
	for (i = 0; i < HR_NR_IMPLS; i++)
		rec.refused[i] = skel->bss->refused[i];
	tdestroy(rec.live, free_live);
	rec.live = NULL;
	if (rec.nomem)
		return -ENOMEM;
	if (rec.lost)
		warn("%llu events lost (the ring buffer was full): the profile misses allocations or releases",
		     rec.lost);
	if (rec.live_full)
		warn("%llu buffers not followed (more than 65536 held at once): their releases were not seen",
		     rec.live_full);
	return build_classes();
}

static void print_results(void *ctx)
{
	unsigned long long total = 0, failed = 0;
	char sz[32], hold[32];
	int k, j;

	(void)ctx;
	if (!nclasses) {
		printf("no DMA-BUF heap allocation seen\n");
		return;
	}
	printf("\n%-32s %-6s %10s %7s %6s %5s %10s %5s  %s\n", "class", "heap", "size",
	       "allocs", "failed", "most", "hold p50", "held", "heaps");
	for (k = 0; k < nclasses; k++) {
		const struct cls *c = &classes[k];

		if (c->hold_us < 0)
			snprintf(hold, sizeof(hold), "-");
		else
			ns_str(c->hold_us * 1000.0, hold, sizeof(hold));
		printf("%-32s %-6s %10s %7llu %6llu %5llu %10s %5llu  ", c->name,
		       kind_names[c->kind], size_str(c->size, sz, sizeof(sz)), c->allocs,
		       c->failed, c->most_held, hold, c->held_end);
		for (j = 0; j < c->nheaps; j++)
			printf("%s%s", j ? ", " : "", c->heaps[j]);
		printf("%s\n", c->replayed ? "" : "  (not replayed)");
		total += c->allocs;
		failed += c->failed;
	}
	printf("%llu allocation%s (%llu failed) in %d class%s over %.1f s\n", total,
	       total == 1 ? "" : "s", failed, nclasses, nclasses == 1 ? "" : "es",
	       (rec.t_end - rec.t0) / 1e9);
}

/* ---- the profile ---- */

/* The profile's name: --name, else the file's, made to fit the format. */
static void profile_name(char *buf, size_t len)
{
	const char *base = strrchr(env.json, '/');
	size_t n = 0;

	if (name_opt) {
		snprintf(buf, len, "%s", name_opt);
		return;
	}
	base = base ? base + 1 : env.json;
	for (; *base && n + 1 < len; base++) {
		char ch = *base;

		if (!strcmp(base, ".json"))
			break;
		if (ch >= 'A' && ch <= 'Z')
			ch += 'a' - 'A';
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			ch = '-';
		if (!n && ch == '-')
			continue;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	if (!n)
		snprintf(buf, len, "recorded");
}

/*
 * rate_hz such that replay's floor(duration_ms * rate_hz / 1000) gives
 * back exactly @n: n * 1000 / duration_ms may round a hair below.
 */
static double rate_for(unsigned long long n, unsigned long long duration_ms)
{
	double r = (double)n * 1000.0 / (double)duration_ms;

	while (floor((double)duration_ms * r / 1000.0) < (double)n)
		r = nextafter(r, INFINITY);
	return r;
}

struct tl_entry {
	unsigned long long at_us, hold_us;
	size_t idx;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct tl_entry *x = a, *y = b;

	if (x->at_us != y->at_us)
		return x->at_us < y->at_us ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static struct json_object *timeline_json(unsigned long long *n_out)
{
	struct json_object *arr = json_object_new_array();
	struct tl_entry *ents = calloc(rec.n + 1, sizeof(*ents));
	size_t i, n = 0;

	if (!ents) {
		json_object_put(arr);
		return NULL;
	}
	for (i = 0; i < rec.n; i++) {
		const struct alloc *a = &rec.a[i];
		const struct cls *c = &classes[a->cls];
		unsigned long long at = a->ts > rec.t0 ? a->ts - rec.t0 : 0, hold, left;

		if (!c->replayed)
			continue;
		left = rec.t_end > a->ts ? (rec.t_end - a->ts) / 1000 : 0;
		if (!a->ret)
			hold = (end_of(a) - a->ts) / 1000;
		else if (c->hold_us >= 0 && (unsigned long long)c->hold_us < left)
			hold = c->hold_us;	/* what the class's buffers were held */
		else
			hold = left;		/* never past the recording's end */
		ents[n++] = (struct tl_entry){ at / 1000, hold, i };
	}
	if (n)
		qsort(ents, n, sizeof(*ents), entry_cmp);
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "at_us", json_object_new_uint64(ents[i].at_us));
		json_object_object_add(o, "class",
				       json_object_new_string(classes[rec.a[ents[i].idx].cls].name));
		json_object_object_add(o, "hold_us", json_object_new_uint64(ents[i].hold_us));
		json_object_array_add(arr, o);
	}
	free(ents);
	*n_out = n;
	return arr;
}

static void utc_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}

static struct json_object *recording_json(const struct utsname *u, unsigned long long duration_ms,
					  unsigned long long nallocs)
{
	struct json_object *r = json_object_new_object(), *o, *cl, *x;
	const char *names[NR_TARGETS];
	enum attach_how hows[NR_TARGETS];
	unsigned long long held = 0, lost = rec.lost + rec.live_full;
	char when[64];
	size_t i;
	int k, j;

	hl_doc_add_str(r, "tool", TOOL);
	hl_doc_add_str(r, "kernel", u->release);
	hl_doc_add_uint(r, "duration_ms", duration_ms);
	o = hl_doc_add_object(r, "failed");
	for (k = 0; k < nclasses; k++) {
		hl_doc_add_uint(o, classes[k].name, classes[k].failed);
		held += classes[k].held_end;
	}
	hl_doc_add_uint(r, "held_at_end", held);
	hl_doc_add_uint(r, "allocations", nallocs);
	utc_now(when, sizeof(when));
	hl_doc_add_str(r, "ended", when);
	if (env.command)
		hl_doc_add_strs(r, "command", (const char *const *)env.command, -1);
	if (env.pid)
		hl_doc_add_uint(r, "pid", env.pid);
	hl_doc_add_uint(r, "mem_total", mem_total);
	hl_doc_add_uint(r, "events_lost", lost);
	o = hl_doc_add_object(r, "refused_before_heap");
	for (i = 0; i < HR_NR_IMPLS; i++)
		hl_doc_add_uint(o, impl_names[i], rec.refused[i]);
	cl = hl_doc_add_object(r, "classes");
	for (k = 0; k < nclasses; k++) {
		const struct cls *c = &classes[k];

		o = hl_doc_add_object(cl, c->name);
		hl_doc_add_str(o, "heap", kind_names[c->kind]);
		hl_doc_add_uint(o, "size", c->size);
		hl_doc_add_str(o, "comm", c->comm);
		x = hl_doc_add_array(o, "heaps");
		for (j = 0; j < c->nheaps; j++)
			json_object_array_add(x, json_object_new_string(c->heaps[j]));
		x = hl_doc_add_array(o, "tgids");
		for (j = 0; j < c->ntgids; j++)
			json_object_array_add(x, json_object_new_uint64(c->tgids[j]));
		if (c->more_tgids)
			hl_doc_add_bool(o, "more_tgids", true);
		hl_doc_add_uint(o, "allocs", c->allocs);
		hl_doc_add_uint(o, "ok", c->ok);
		hl_doc_add_uint(o, "failed", c->failed);
		x = hl_doc_add_object(o, "errors");
		for (j = 0; j < c->nerrs; j++)
			hl_doc_add_uint(x, hl_errname(c->errs[j].err), c->errs[j].n);
		hl_doc_add_uint(o, "most_held", c->most_held);
		hl_doc_add_uint(o, "held_at_end", c->held_end);
		hl_doc_add_bool(o, "replayed", c->replayed);
		if (!c->replayed)
			hl_doc_add_str(o, "why", c->why);
	}
	if (nwarnings)
		hl_doc_add_strs(r, "warnings", (const char *const *)warnings, nwarnings);
	for (i = 0; i < NR_TARGETS; i++) {
		names[i] = targets[i].name;
		hows[i] = targets[i].how;
	}
	o = hl_doc_add_object(r, "attach");
	hl_doc_add_str(o, "mode", env.mode_str);
	x = hl_doc_add_object(o, "targets");
	for (i = 0; i < NR_TARGETS; i++)
		hl_doc_add_str(x, names[i], how_str(hows[i]));
	json_object_object_add(r, "machine", hl_machine_json());
	return r;
}

static struct json_object *class_json(const struct cls *c, unsigned long long duration_ms)
{
	struct json_object *o = json_object_new_object();
	unsigned long long hold_ms = 0;

	/* 0 means "to the phase's end": a real hold is at least 1 ms */
	if (c->hold_us >= 0 && !c->all_held) {
		hold_ms = (c->hold_us + 500) / 1000;
		if (!hold_ms)
			hold_ms = 1;
	}
	hl_doc_add_str(o, "name", c->name);
	hl_doc_add_str(o, "heap", kind_names[c->kind]);
	hl_doc_add_uint(o, "size", c->size);
	/* one whose allocations all failed tries one at a time */
	hl_doc_add_uint(o, "count", c->most_held ? c->most_held : 1);
	hl_doc_add_uint(o, "hold_ms", hold_ms);
	json_object_object_add(o, "rate_hz", json_object_new_double(rate_for(c->allocs, duration_ms)));
	return o;
}

static int write_profile(void *ctx, double elapsed)
{
	unsigned long long duration_ms, nallocs = 0, nreplayed = 0, ntimeline = 0;
	struct json_object *root, *phases, *ph, *cl, *tl;
	char name[128], line[512], host[256] = "?", when[64];
	struct utsname u;
	int k;

	(void)ctx;
	(void)elapsed;	/* the recording's own clock: from arming to detaching */
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	gethostname(host, sizeof(host) - 1);
	duration_ms = (rec.t_end - rec.t0 + 999999) / 1000000;
	if (!duration_ms)
		duration_ms = 1;
	for (k = 0; k < nclasses; k++) {
		nallocs += classes[k].allocs;
		if (classes[k].replayed)
			nreplayed++;
	}
	tl = timeline_json(&ntimeline);
	if (!tl) {
		fprintf(stderr, TOOL ": %s\n", strerror(ENOMEM));
		return -1;
	}
	if (ntimeline > REPLAY_MAX_ALLOCS)
		warn("%llu allocations in the timeline: heaplab-bench replay plays at most %d",
		     ntimeline, REPLAY_MAX_ALLOCS);

	root = json_object_new_object();
	hl_doc_add_str(root, "schema", PROFILE_SCHEMA);
	profile_name(name, sizeof(name));
	hl_doc_add_str(root, "name", name);
	snprintf(line, sizeof(line), "recorded by heaprec: %llu allocation%s in %llu class%s over %.1f s",
		 nallocs, nallocs == 1 ? "" : "s", nreplayed, nreplayed == 1 ? "" : "es",
		 duration_ms / 1000.0);
	hl_doc_add_str(root, "description", line);
	utc_now(when, sizeof(when));
	snprintf(line, sizeof(line), "bpf/heaprec on %s (Linux %s), %s, %s%s",
		 host, u.release, when,
		 env.command ? "while running " : env.pid ? "process " : "the whole system",
		 env.command ? env.command[0] : "");
	if (env.pid && !env.command)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "%u", env.pid);
	hl_doc_add_str(root, "source", line);
	phases = hl_doc_add_array(root, "phases");
	ph = json_object_new_object();
	json_object_array_add(phases, ph);
	hl_doc_add_str(ph, "name", "recorded");
	hl_doc_add_uint(ph, "duration_ms", duration_ms);
	cl = hl_doc_add_array(ph, "classes");
	for (k = 0; k < nclasses; k++)
		if (classes[k].replayed)
			json_object_array_add(cl, class_json(&classes[k], duration_ms));
	json_object_object_add(root, "timeline", tl);
	json_object_object_add(root, "recording", recording_json(&u, duration_ms, nallocs));

	if (hl_doc_write(root, tmp_path))
		return -1;
	if (rename(tmp_path, env.json)) {
		fprintf(stderr, TOOL ": cannot rename %s to %s: %s\n", tmp_path, env.json,
			strerror(errno));
		unlink(tmp_path);
		return -1;
	}
	fprintf(stderr, TOOL ": wrote %s: %llu class%s, %llu timeline entr%s\n", env.json,
		nreplayed, nreplayed == 1 ? "" : "es", ntimeline, ntimeline == 1 ? "y" : "ies");
	return 0;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	int counts[HOW_RAW_TP + 1] = { }, err, rc = 1;
	struct heaprec_bpf *skel = NULL;
	struct link_set links = { };
	struct ksyms_btf *k = NULL;
	bool on[NR_GROUPS];
	struct trace_report report = {
		.read = read_events, .print = print_results, .json = write_profile,
	};
	long long kb;
	size_t i;

	hl_set_prog(TOOL);
	if (parse_args(argc, argv))
		return 2;
	kb = hl_meminfo_kb("MemTotal");
	if (kb <= 0) {
		fprintf(stderr, TOOL ": cannot read MemTotal from /proc/meminfo\n");
		return 1;
	}
	mem_total = (unsigned long long)kb << 10;
	k = trace_start(&env);
	if (!k)
		return 1;
	/* after the root check: a user's unwritable path is the lesser news */
	if (check_output(env.json)) {
		rc = 2;
		goto out;
	}
	if (env.mode == ATTACH_FENTRY && !kernel_has_btf(k)) {
		fprintf(stderr, TOOL ": --attach fentry needs the kernel's own BTF (/sys/kernel/btf/vmlinux)\n");
		goto out;
	}
	if (plan(k, on))
		goto out;

	open_opts.btf_custom_path = env.btf;
	skel = heaprec_bpf__open_opts(&open_opts);
	if (!skel) {
		fprintf(stderr, TOOL ": cannot open the BPF object: %s\n", strerror(errno));
		goto out;
	}
	skel->rodata->targ_tgid = env.pid;
	for (i = 0; i < NR_TARGETS; i++) {
		enable_programs(skel->obj, targets[i].name, NULL, targets[i].how);
		counts[targets[i].how]++;
	}
	err = heaprec_bpf__load(skel);
	if (err) {
		fprintf(stderr, TOOL ": loading the BPF programs failed: %s%s\n", strerror(-err),
			env.verbose ? "" : " (-v shows libbpf's messages)");
		goto out;
	}
	for (i = 0; i < NR_TARGETS; i++) {
		struct target *t = &targets[i];

		if (t->how == HOW_MISSING)
			continue;
		err = attach_programs(skel->obj, t->name, NULL, t->how, &links);
		if (err) {
			fprintf(stderr, TOOL ": cannot attach %s to %s: %s%s\n", how_str(t->how),
				t->name, strerror(-err),
				env.verbose ? "" : " (-v shows libbpf's messages)");
			goto out;
		}
	}
	rec.rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rec.rb) {
		fprintf(stderr, TOOL ": cannot open the ring buffer: %s\n", strerror(errno));
		goto out;
	}
	if (start_thread())
		goto out;
	fprintf(stderr, TOOL ": attached (mode %s): %d fentry, %d kprobe, %d tp_btf, %d raw_tp; heaps: %s%s%s\n",
		env.mode_str, counts[HOW_FENTRY], counts[HOW_KPROBE], counts[HOW_TP_BTF],
		counts[HOW_RAW_TP], on[G_HEAPLAB] ? "heaplab" : "",
		on[G_HEAPLAB] && on[G_UPSTREAM] ? ", " : "", on[G_UPSTREAM] ? "upstream" : "");
	if (env.verbose)
		for (i = 0; i < NR_TARGETS; i++)
			fprintf(stderr, TOOL ":   %-40s %s\n", targets[i].name,
				how_str(targets[i].how));
	if (print_events) {
		printf("%12s %-16s %7s %-24s %10s    %s\n", "TIME(s)", "COMM", "PID", "HEAP",
		       "SIZE", "RESULT");
		fflush(stdout);
	}

	/* time 0: every program is attached, nothing recorded before */
	rec.t0 = now_ns();
	skel->bss->armed = true;
	report.ctx = skel;
	rc = trace_and_report(&env, "DMA-BUF heap allocations", &links, &report);
out:
	stop_thread();
	link_set_destroy(&links);
	ring_buffer__free(rec.rb);
	heaprec_bpf__destroy(skel);
	ksyms_btf_close(k);
	if (rec.live)
		tdestroy(rec.live, free_live);
	free(rec.a);
	free(classes);
	for (i = 0; i < (size_t)nwarnings; i++)
		free(warnings[i]);
	return rc;
}
