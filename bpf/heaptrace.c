// SPDX-License-Identifier: GPL-2.0
/*
 * heaptrace: where the time of a DMA-BUF heap allocation goes.
 *
 * Per heap (heaplab's and the kernel's own) and per size bucket, log2
 * latency histograms of the whole allocation ioctl and of its stages: page
 * allocation (with the order of each chunk and the fallbacks), zeroing,
 * sg_table, dma-buf export and fd install; plus mmap, faults, CPU access
 * and release. Each function is attached by fentry where the kernel's BTF
 * allows, else by kprobe; heaplab's tracepoints by tp_btf, else raw_tp.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "heaptrace.h"
#include "heaptrace.skel.h"
#include "attach_helpers.h"
#include "hist_helpers.h"
#include "heaplab.h"
#include "json_helpers.h"
#include "tool_helpers.h"

#define TOOL "heaptrace"

static const char *const stage_names[NR_STAGES] = {
	[ST_IOCTL] = "ioctl", [ST_PAGES] = "pages", [ST_ZERO] = "zero",
	[ST_SGTABLE] = "sgtable", [ST_EXPORT] = "export", [ST_FD] = "fd",
	[ST_OTHER] = "other", [ST_FAILED] = "failed", [ST_MMAP] = "mmap",
	[ST_FAULT] = "fault", [ST_BEGIN_CPU] = "begin_cpu_access",
	[ST_END_CPU] = "end_cpu_access", [ST_RELEASE] = "release",
};

static const char *const impl_names[NR_IMPLS] = { "heaplab", "upstream" };

enum group {
	G_SHARED,	/* both families: required */
	G_HEAPLAB,	/* heaplab_heap.ko and its heaps */
	G_UPSTREAM,	/* the kernel's dma-heap framework */
	G_UP_SYSTEM,	/* CONFIG_DMABUF_HEAPS_SYSTEM */
	G_UP_CMA,	/* CONFIG_DMABUF_HEAPS_CMA */
	G_OPTIONAL,	/* finer detail; without it, say what is merged */
	NR_GROUPS
};

static const char *const group_names[NR_GROUPS] = {
	"shared", "heaplab", "upstream", "upstream system heap",
	"upstream CMA heap", "optional",
};

struct target {
	const char *name;
	enum group group;
	const char *tp_category;	/* a tracepoint, not a function */
	const char *why;		/* printed when it is missing */
	const char *alias;		/* its name in later kernels, tried second */
	const char *sym;		/* the alias, when that is what was found */
	enum attach_how how;
	bool stage;			/* times a stage: off with -L */
};

#define T(n, g, tp, w) { .name = n, .group = g, .tp_category = tp, .why = w }
#define S(n, g, tp, w) { .name = n, .group = g, .tp_category = tp, .why = w, .stage = true }

static struct target targets[] = {
	T("heaplab_heap_ioctl", G_HEAPLAB, NULL, "is heaplab_heap.ko loaded?"),
	T("heaplab_alloc_start", G_HEAPLAB, "heaplab", "is heaplab_heap.ko loaded?"),
	S("heaplab_zero", G_HEAPLAB, "heaplab", NULL),
	T("heaplab_mmap", G_HEAPLAB, NULL, NULL),
	T("heaplab_vm_fault", G_HEAPLAB, NULL, NULL),
	T("heaplab_begin_cpu_access", G_HEAPLAB, NULL, NULL),
	T("heaplab_end_cpu_access", G_HEAPLAB, NULL, NULL),
	T("heaplab_release", G_HEAPLAB, NULL, NULL),
	T("dma_heap_ioctl", G_UPSTREAM, NULL, "CONFIG_DMABUF_HEAPS=y?"),
	T("system_heap_allocate", G_UP_SYSTEM, NULL, NULL),
	T("system_heap_mmap", G_UP_SYSTEM, NULL, NULL),
	T("system_heap_dma_buf_begin_cpu_access", G_UP_SYSTEM, NULL, NULL),
	T("system_heap_dma_buf_end_cpu_access", G_UP_SYSTEM, NULL, NULL),
	T("system_heap_dma_buf_release", G_UP_SYSTEM, NULL, NULL),
	T("cma_heap_allocate", G_UP_CMA, NULL, NULL),
	T("cma_heap_mmap", G_UP_CMA, NULL, NULL),
	T("cma_heap_vm_fault", G_UP_CMA, NULL, NULL),
	T("cma_heap_dma_buf_begin_cpu_access", G_UP_CMA, NULL, NULL),
	T("cma_heap_dma_buf_end_cpu_access", G_UP_CMA, NULL, NULL),
	T("cma_heap_dma_buf_release", G_UP_CMA, NULL, NULL),
	/* 6.10, "mm: enable page allocation tagging": __alloc_pages_noprof() */
	{ .name = "__alloc_pages", .group = G_SHARED, .stage = true,
	  .alias = "__alloc_pages_noprof" },
	S("dma_buf_export", G_SHARED, NULL, NULL),
	S("get_unused_fd_flags", G_SHARED, NULL, NULL),
	S("fd_install", G_SHARED, NULL, NULL),
	/* CMA page allocation; absent without CONFIG_CMA */
	S("cma_alloc", G_OPTIONAL, NULL, "CMA heaps' page allocation not timed"),
	/*
	 * Built without an ftrace site in 6.1 (all of lib/ is): no fentry, and
	 * a kprobe only with CONFIG_KPROBE_EVENTS_ON_NOTRACE.
	 */
	S("sg_alloc_table", G_OPTIONAL, NULL, "sg_table time counted in other"),
	/* upstream system heap: __GFP_ZERO clears inside __alloc_pages() */
	S("kernel_init_pages", G_OPTIONAL, NULL,
	  "upstream system heap zeroing counted in pages"),
};

#undef T
#undef S

#define NR_TARGETS (sizeof(targets) / sizeof(targets[0]))

static struct trace_env env = { .tool = TOOL, .mode_str = "auto" };
static int heaps = 3;		/* bit per impl */
static bool heaps_given;
static bool all_hists;
static bool latency_only;

static void usage(FILE *f)
{
	fprintf(f,
"usage: " TOOL " [options] [-- COMMAND [ARG...]]\n"
"Where the time of DMA-BUF heap allocations goes, per heap and size: log2\n"
"latency histograms of the allocation ioctl and its stages (pages, zero,\n"
"sgtable, export, fd), of mmap, faults, CPU access and release. Traces until\n"
"Ctrl-C, for --duration, or while COMMAND runs.\n"
"\n"
TRACE_COMMON_HELP
"  -H, --heaps WHICH    heaplab, upstream or all (default: all that are present)\n"
"  -j, --json FILE      also write the results as JSON (schema heaplab-heaptrace/1)\n"
"      --histograms     a histogram for every stage (default: the whole ioctl only)\n"
"  -L, --latency-only   time the whole ioctl and the buffer operations only (3 or\n"
"                       4 programs per allocation instead of about 26): the\n"
"                       least overhead, no stage breakdown\n"
"  -h, --help           this help\n");
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		TRACE_COMMON_OPTS,
		{ "heaps", required_argument, NULL, 'H' },
		{ "histograms", no_argument, NULL, 'G' },
		{ "latency-only", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int c;

	env.usage = usage;
	while ((c = getopt_long(argc, argv, "+" TRACE_COMMON_SHORT "H:Lh", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			heaps_given = true;
			if (!strcmp(optarg, "heaplab")) {
				heaps = 1 << IMPL_HEAPLAB;
			} else if (!strcmp(optarg, "upstream")) {
				heaps = 1 << IMPL_UPSTREAM;
			} else if (!strcmp(optarg, "all")) {
				heaps = 3;
			} else {
				fprintf(stderr, TOOL ": --heaps %s: want heaplab, upstream or all\n", optarg);
				return -1;
			}
			break;
		case 'G':
			all_hists = true;
			break;
		case 'L':
			latency_only = true;
			break;
		default:
			if (trace_common_opt(&env, c, optarg))
				return -1;
		}
	}
	if (optind < argc)
		env.command = argv + optind;
	return 0;
}

static bool group_wanted(enum group g)
{
	switch (g) {
	case G_HEAPLAB:
		return heaps & (1 << IMPL_HEAPLAB);
	case G_UPSTREAM:
	case G_UP_SYSTEM:
	case G_UP_CMA:
		return heaps & (1 << IMPL_UPSTREAM);
	default:
		return true;
	}
}

/*
 * Decide how to attach each target, and which groups are on. A group whose
 * first target (its ioctl) is missing is off, an error only if asked for
 * with --heaps; a group missing any other target is an error, since its
 * breakdown would be silently incomplete.
 */
static int plan(struct ksyms_btf *k, bool on[NR_GROUPS])
{
	bool seen_first[NR_GROUPS] = { };
	size_t i;

	for (i = 0; i < NR_GROUPS; i++)
		on[i] = group_wanted(i);
	for (i = 0; i < NR_TARGETS; i++) {
		struct target *t = &targets[i];
		bool first = !seen_first[t->group];

		seen_first[t->group] = true;
		if (!on[t->group] || (latency_only && t->stage)) {
			t->how = HOW_MISSING;
			continue;
		}
		t->how = t->tp_category ?
			plan_tracepoint(k, t->tp_category, t->name, env.mode) :
			plan_func_renamed(k, t->name, t->alias, env.mode, &t->sym);
		if (t->how != HOW_MISSING)
			continue;
		if (t->group == G_OPTIONAL) {
			fprintf(stderr, TOOL ": note: %s not found: %s\n", t->name, t->why);
			continue;
		}
		/* There, but not for fentry: not an absent heap family. */
		if (!t->tp_category && fentry_refused(k, TOOL, t->name, env.mode))
			return -1;
		if (first && t->group != G_SHARED &&
		    !(heaps_given && (t->group == G_HEAPLAB || t->group == G_UPSTREAM))) {
			if (env.verbose || t->group == G_HEAPLAB || t->group == G_UPSTREAM)
				fprintf(stderr, TOOL ": note: %s not found (%s): not tracing the %s heaps\n",
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
	/* Sub-groups of upstream follow their framework. */
	if (!on[G_UPSTREAM])
		on[G_UP_SYSTEM] = on[G_UP_CMA] = false;
	if (!on[G_HEAPLAB] && !on[G_UPSTREAM]) {
		fprintf(stderr, TOOL ": no DMA-BUF heaps to trace: neither heaplab_heap.ko is loaded nor the kernel's dma-heap framework built in\n");
		return -1;
	}
	for (i = 0; i < NR_TARGETS; i++)
		if (!on[targets[i].group])
			targets[i].how = HOW_MISSING;
	return 0;
}

static enum attach_how target_how(const char *name)
{
	size_t i;

	for (i = 0; i < NR_TARGETS; i++)
		if (!strcmp(targets[i].name, name))
			return targets[i].how;
	return HOW_MISSING;
}

/* ---- results ---- */

struct entry {
	unsigned char impl, bucket;
	char heap[HEAP_NAME_LEN + 1];
	struct ht_hist st[NR_STAGES];
	bool has[NR_STAGES];
	unsigned long long zero_in_pages;
	struct {
		unsigned char order;
		struct ht_order_val v;
	} orders[16];
	int norders;
};

static struct entry *entries;
static int nentries;

static struct entry *entry_for(unsigned char impl, const char *heap,
			       unsigned char bucket)
{
	struct entry *e, *grown;
	int i;

	for (i = 0; i < nentries; i++) {
		e = &entries[i];
		if (e->impl == impl && e->bucket == bucket &&
		    !strncmp(e->heap, heap, HEAP_NAME_LEN))
			return e;
	}
	grown = realloc(entries, (nentries + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	entries = grown;
	e = &entries[nentries++];
	memset(e, 0, sizeof(*e));
	e->impl = impl;
	e->bucket = bucket;
	memcpy(e->heap, heap, HEAP_NAME_LEN);
	return e;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->heap, y->heap);

	if (x->impl != y->impl)
		return x->impl - y->impl;
	if (c)
		return c;
	return x->bucket - y->bucket;
}

static int read_maps(void *ctx)
{
	struct heaptrace_bpf *skel = ctx;
	int hfd = bpf_map__fd(skel->maps.hists), ofd = bpf_map__fd(skel->maps.orders);
	struct ht_order_key okey, *oprev = NULL;
	struct ht_key key, *prev = NULL;

	while (!bpf_map_get_next_key(hfd, prev, &key)) {
		struct ht_entry val;
		struct entry *e;
		int s;

		prev = &key;
		if (key.impl >= NR_IMPLS)
			continue;
		if (bpf_map_lookup_elem(hfd, &key, &val))
			return -errno;
		e = entry_for(key.impl, key.heap, key.bucket);
		if (!e)
			return -ENOMEM;
		e->zero_in_pages = val.zero_in_pages;
		for (s = 0; s < NR_STAGES; s++) {
			e->st[s] = val.st[s];
			/* a stage whose probe could not attach was never timed */
			e->has[s] = val.st[s].count &&
				    (s != ST_SGTABLE || target_how("sg_alloc_table") != HOW_MISSING);
		}
	}
	while (!bpf_map_get_next_key(ofd, oprev, &okey)) {
		struct entry *e;

		oprev = &okey;
		e = entry_for(okey.impl, okey.heap, okey.bucket);
		if (!e)
			return -ENOMEM;
		if (e->norders >= 16)
			continue;
		e->orders[e->norders].order = okey.order;
		if (bpf_map_lookup_elem(ofd, &okey, &e->orders[e->norders].v))
			return -errno;
		e->norders++;
	}
	if (nentries)	/* none seen: entries may be NULL */
		qsort(entries, nentries, sizeof(*entries), entry_cmp);
	return 0;
}

static double mean_ns(const struct ht_hist *h)
{
	return h->count ? (double)h->sum_ns / h->count : 0;
}

static void print_stage_row(const struct ht_hist *h, const char *name,
			    double total_mean)
{
	char a[32], b[32], c[32];

	printf("  %-17s %8llu %10s %10s %10s", name, h->count,
	       ns_str(mean_ns(h), a, sizeof(a)),
	       ns_str(log2_hist_percentile(h->slots, HT_SLOTS, 0.5), b, sizeof(b)),
	       ns_str(log2_hist_percentile(h->slots, HT_SLOTS, 0.99), c, sizeof(c)));
	if (total_mean > 0)
		printf(" %6.1f%%", 100.0 * mean_ns(h) / total_mean);
	printf("\n");
}

static void print_order(const struct entry *e)
{
	char buf[64];
	int i;

	if (!e->norders)
		return;
	printf("  page chunks:");
	for (i = 0; i < e->norders; i++) {
		const struct ht_order_val *v = &e->orders[i].v;

		if (e->orders[i].order == HT_ORDER_CMA)
			snprintf(buf, sizeof(buf), "cma_alloc");
		else
			snprintf(buf, sizeof(buf), "order %u", e->orders[i].order);
		printf("%s %s %llu ok", i ? ";" : "", buf, v->ok);
		if (v->failed)
			printf(", %llu failed (fell back)", v->failed);
	}
	printf("\n");
}

static void print_results(void *ctx __attribute__((unused)))
{
	char sz[32];
	int i, s;

	if (!nentries) {
		printf("no DMA-BUF heap activity seen\n");
		return;
	}
	for (i = 0; i < nentries; i++) {
		const struct entry *e = &entries[i];
		double total = mean_ns(&e->st[ST_IOCTL]);

		printf("\n%s/%s, buffers up to %s: %llu allocations, %llu failed\n",
		       impl_names[e->impl], e->heap,
		       size_str(4096ULL << e->bucket, sz, sizeof(sz)),
		       e->st[ST_IOCTL].count, e->st[ST_FAILED].count);
		printf("  %-17s %8s %10s %10s %10s %7s\n", "stage", "count", "mean",
		       "p50", "p99", "share");
		for (s = 0; s < NR_STAGES; s++) {
			if (!e->has[s])
				continue;
			if (s == ST_FIRST_OP)
				printf("  %-17s %8s %10s %10s %10s\n", "operation",
				       "count", "mean", "p50", "p99");
			print_stage_row(&e->st[s], stage_names[s],
					s < ST_FAILED ? total : 0);
		}
		if (e->zero_in_pages)
			printf("  zero: inside pages in %llu allocations (__GFP_ZERO, kernel_init_pages() inlined here: no function to time it by)\n",
			       e->zero_in_pages);
		print_order(e);
		for (s = 0; s < NR_STAGES; s++) {
			if (!e->has[s] || !e->st[s].count ||
			    (s != ST_IOCTL && !all_hists))
				continue;
			printf("  %s latency:\n", stage_names[s]);
			print_log2_hist(stdout, e->st[s].slots, HT_SLOTS, "nsecs");
		}
	}
}

static struct json_object *hist_json(const struct ht_hist *h)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "count", json_object_new_uint64(h->count));
	json_object_object_add(o, "sum_ns", json_object_new_uint64(h->sum_ns));
	json_object_object_add(o, "mean_ns", json_object_new_double(mean_ns(h)));
	json_object_object_add(o, "p50_ns", json_object_new_double(
		log2_hist_percentile(h->slots, HT_SLOTS, 0.5)));
	json_object_object_add(o, "p90_ns", json_object_new_double(
		log2_hist_percentile(h->slots, HT_SLOTS, 0.9)));
	json_object_object_add(o, "p99_ns", json_object_new_double(
		log2_hist_percentile(h->slots, HT_SLOTS, 0.99)));
	json_object_object_add(o, "hist", log2_slots_json(h->slots, HT_SLOTS));
	return o;
}

static int write_json(void *ctx __attribute__((unused)), double elapsed)
{
	const char *names[NR_TARGETS];
	enum attach_how hows[NR_TARGETS];
	struct json_object *root, *arr;
	size_t i;
	int j, s;

	for (i = 0; i < NR_TARGETS; i++) {
		names[i] = targets[i].name;
		hows[i] = targets[i].how;
	}
	root = trace_json_new(&env, "heaplab-heaptrace/1", elapsed, names, hows, NR_TARGETS);
	arr = json_object_new_array();
	for (j = 0; j < nentries; j++) {
		const struct entry *e = &entries[j];
		struct json_object *o = json_object_new_object(), *st, *ord;

		json_object_object_add(o, "impl", json_object_new_string(impl_names[e->impl]));
		json_object_object_add(o, "heap", json_object_new_string(e->heap));
		json_object_object_add(o, "size_max", json_object_new_uint64(4096ULL << e->bucket));
		st = json_object_new_object();
		for (s = 0; s < NR_STAGES; s++)
			if (e->has[s])
				json_object_object_add(st, stage_names[s], hist_json(&e->st[s]));
		json_object_object_add(o, "stages", st);
		json_object_object_add(o, "zero_in_pages", json_object_new_uint64(e->zero_in_pages));
		ord = json_object_new_array();
		for (s = 0; s < e->norders; s++) {
			struct json_object *x = json_object_new_object();

			if (e->orders[s].order == HT_ORDER_CMA)
				json_object_object_add(x, "order", json_object_new_string("cma"));
			else
				json_object_object_add(x, "order", json_object_new_int(e->orders[s].order));
			json_object_object_add(x, "ok", json_object_new_uint64(e->orders[s].v.ok));
			json_object_object_add(x, "failed", json_object_new_uint64(e->orders[s].v.failed));
			json_object_object_add(x, "sum_ns", json_object_new_uint64(e->orders[s].v.sum_ns));
			json_object_array_add(ord, x);
		}
		json_object_object_add(o, "orders", ord);
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "entries", arr);
	json_object_object_add(root, "latency_only", json_object_new_boolean(latency_only));
	return trace_json_write(&env, root);
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	int counts[HOW_RAW_TP + 1] = { }, err, rc = 1;
	struct heaptrace_bpf *skel = NULL;
	struct link_set links = { };
	struct ksyms_btf *k = NULL;
	bool on[NR_GROUPS];
	struct trace_report report = {
		.read = read_maps, .print = print_results, .json = write_json,
	};
	size_t i;

	hl_set_prog(TOOL);
	if (parse_args(argc, argv))
		return 2;
	k = trace_start(&env);
	if (!k)
		return 1;
	if (env.mode == ATTACH_FENTRY && !kernel_has_btf(k)) {
		fprintf(stderr, TOOL ": --attach fentry needs the kernel's own BTF (/sys/kernel/btf/vmlinux)\n");
		goto out;
	}
	if (plan(k, on))
		goto out;

	open_opts.btf_custom_path = env.btf;
	skel = heaptrace_bpf__open_opts(&open_opts);
	if (!skel) {
		fprintf(stderr, TOOL ": cannot open the BPF object: %s\n", strerror(errno));
		goto out;
	}
	skel->rodata->targ_tgid = env.pid;
	skel->rodata->targ_stages = !latency_only;
	for (i = 0; i < NR_TARGETS; i++) {
		enable_programs(skel->obj, targets[i].name, targets[i].sym, targets[i].how);
		counts[targets[i].how]++;
	}
	err = heaptrace_bpf__load(skel);
	if (err) {
		fprintf(stderr, TOOL ": loading the BPF programs failed: %s%s\n", strerror(-err),
			env.verbose ? "" : " (-v shows libbpf's messages)");
		goto out;
	}
	for (i = 0; i < NR_TARGETS; i++) {
		struct target *t = &targets[i];

		if (t->how == HOW_MISSING)
			continue;
		err = attach_programs(skel->obj, t->name, t->sym, t->how, &links);
		if (!err)
			continue;
		if (t->group != G_OPTIONAL) {
			fprintf(stderr, TOOL ": cannot attach %s to %s: %s%s\n", how_str(t->how),
				t->name, strerror(-err),
				env.verbose ? "" : " (-v shows libbpf's messages)");
			goto out;
		}
		fprintf(stderr, TOOL ": note: cannot attach %s to %s (%s): %s\n",
			how_str(t->how), t->name, strerror(-err), t->why);
		counts[t->how]--;
		counts[HOW_MISSING]++;
		t->how = HOW_MISSING;
	}
	fprintf(stderr, TOOL ": attached (mode %s%s): %d fentry, %d kprobe, %d tp_btf, %d raw_tp; heaps: %s%s%s\n",
		env.mode_str, latency_only ? ", latency only" : "",
		counts[HOW_FENTRY], counts[HOW_KPROBE], counts[HOW_TP_BTF],
		counts[HOW_RAW_TP], on[G_HEAPLAB] ? "heaplab" : "",
		on[G_HEAPLAB] && on[G_UPSTREAM] ? ", " : "", on[G_UPSTREAM] ? "upstream" : "");
	if (env.verbose)
		for (i = 0; i < NR_TARGETS; i++)
			fprintf(stderr, TOOL ":   %-40s %s\n", targets[i].name,
				how_str(targets[i].how));

	report.ctx = skel;
	rc = trace_and_report(&env, "DMA-BUF heap allocations", &links, &report);
out:
	link_set_destroy(&links);
	heaptrace_bpf__destroy(skel);
	ksyms_btf_close(k);
	free(entries);
	return rc;
}
