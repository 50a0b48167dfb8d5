// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab-bench: benchmark harnesses for DMA-BUF heaps, one subcommand per
 * harness (alloc.c, memset.c, ...), each described by its BENCH_HARNESS() and
 * found in the linker section they share; `list` prints them.
 *
 * Works on any heap device (heaplab's, upstream's, any machine's
 * /dev/dma_heap). Results: a table on stdout, progress on stderr, and JSON
 * (schema "heaplab-bench/1", bench/schema/heaplab-bench-1.json) with --json.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bench.h"

#define SCHEMA "heaplab-bench/1"

/* The descriptors, in link order (bench/Makefile.am's HARNESSES). */
extern const struct harness *const __start_heaplab_bench_harnesses[];
extern const struct harness *const __stop_heaplab_bench_harnesses[];

#define for_each_harness(t, p)						\
	for ((p) = __start_heaplab_bench_harnesses;			\
	     (p) < __stop_heaplab_bench_harnesses && ((t) = *(p)); (p)++)

static const struct harness *find_harness(const char *name)
{
	const struct harness *const *p, *t;

	for_each_harness(t, p)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

static bool has_option(const struct harness *t, const char *opt)
{
	const char *const *o;

	for (o = t->options; o && *o; o++)
		if (!strcmp(*o, opt))
			return true;
	return false;
}

/*
 * list [--json]: the harnesses, for people and for the suite's checkers
 * (the JSON calls them "tools", as the schema's readers do).
 */
static int list(int argc, char **argv)
{
	const struct harness *const *p, *t;
	struct json_object *arr, *root;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json")))
		hl_die("usage: heaplab-bench list [--json]");
	if (argc == 1) {
		for_each_harness(t, p)
			printf("%-12s %s\n", t->name, t->help);
		return 0;
	}
	root = json_object_new_object();
	hl_doc_add_str(root, "schema", SCHEMA);
	arr = hl_doc_add_array(root, "tools");
	for_each_harness(t, p) {
		static const char *const none[] = { NULL };
		struct json_object *j = json_object_new_object();

		hl_doc_add_str(j, "name", t->name);
		hl_doc_add_str(j, "help", t->help);
		hl_doc_add_str(j, "default_sizes", t->default_sizes ? t->default_sizes : "");
		if (t->input)
			hl_doc_add_str(j, "input", t->input);
		hl_doc_add_int(j, "iters", t->iters);
		hl_doc_add_bool(j, "needs_heap", t->needs_heap);
		hl_doc_add_strs(j, "options", t->options ? t->options : none, -1);
		hl_doc_add_str(j, "cases", t->cases);
		json_object_array_add(arr, j);
	}
	return hl_doc_write(root, NULL) ? 1 : 0;
}

/*
 * machine [PATH...]: the "machine" block every document starts with (the
 * heaps under /dev/dma_heap and /dev/heaplab among it), and which
 * implementation serves each PATH: what heaplab run asks before it runs.
 */
static int machine(int argc, char **argv)
{
	struct json_object *root = json_object_new_object(), *arr;
	struct stat st;
	int i;

	for (i = 1; i < argc; i++)
		if (argv[i][0] == '-' || stat(argv[i], &st) || !S_ISCHR(st.st_mode))
			hl_die("machine: '%s' is not a heap device (usage: heaplab-bench machine [PATH...])",
			       argv[i]);
	hl_doc_add_str(root, "schema", SCHEMA);
	json_object_object_add(root, "machine", hl_machine_json());
	arr = hl_doc_add_array(root, "heaps");
	for (i = 1; i < argc; i++) {
		struct json_object *h = json_object_new_object();

		hl_doc_add_str(h, "path", argv[i]);
		hl_doc_add_str(h, "impl", hl_impl_name(hl_heap_impl(argv[i])));
		json_object_array_add(arr, h);
	}
	return hl_doc_write(root, NULL) ? 1 : 0;
}

static void usage(FILE *f)
{
	const struct harness *const *p, *t;

	fprintf(f, "usage: heaplab-bench HARNESS [options]\n");
	for_each_harness(t, p)
		if (t->input)
			fprintf(f, "       heaplab-bench %s %s --heap PATH... [options]\n", t->name,
				t->input);
	fprintf(f, "       heaplab-bench list [--json]\n"
		"       heaplab-bench machine [PATH...]   this machine and its heaps, as JSON\n\nharnesses:\n");
	for_each_harness(t, p) {
		if (t->input)
			fprintf(f, "  %-12s %s (sizes from its %s)\n", t->name, t->help, t->input);
		else
			fprintf(f, "  %-12s %s (default sizes %s)\n", t->name, t->help,
				t->default_sizes);
	}
	fprintf(f, "\noptions:\n"
		"  --heap PATH      heap device (repeatable; needed by alloc, mmap,\n"
		"                   concurrency, pressure, replay; zero: heaplab heaps only)\n"
		"  --sizes LIST     comma-separated sizes, e.g. 4K,1M,64M (4K..4G)\n"
		"  --iters N        measured iterations (1..100000)\n"
		"  --warmup N       unmeasured iterations first (0..10000, default 5)\n"
		"  --budget SIZE    bytes per heap and size at most (default 1G)\n"
		"  --threads LIST   concurrency: thread counts (1..16 each, default 1,2,4\n"
		"                   up to the online CPUs)\n"
		"  --oversubscribe  concurrency: allow more threads than online CPUs\n"
		"  --fill PCT       pressure: co-runner size, percent of MemAvailable\n"
		"                   (1..90, default 50)\n"
		"  --cpu N          pin to CPU N (default 0; -1: do not pin)\n"
		"  --perf           run each case under perf stat, counters into the JSON\n"
		"  --json FILE      write results as JSON (schema " SCHEMA ")\n"
		"  --raw            keep every sample in the JSON\n"
		"  --settle         drop caches and compact memory before each case\n"
		"                   (root; makes CMA cases repeat under -icount)\n"
		"  --tracer PATH    tracer: the tracer to attach (bpf/heaptrace)\n"
		"  --tracer-json F  tracer: its JSON of the last round, into F\n"
		"  --tracer-arg A   tracer: pass option A to the tracer (repeat, up to 8)\n"
		"  --rounds N       tracer: untraced/traced alternations (1..100, default 2)\n"
		"  --time-scale F   replay: every time of the profile times F (default 1;\n"
		"                   the counts do not change)\n"
		"  --cache-dir DIR  replay: the page-cache load's file (default $TMPDIR or /tmp)\n"
		"  --no-background  replay: without the profile's background load\n");
}

static int add_size(const char *tok, void *arg)
{
	struct opts *o = arg;
	uint64_t v;

	/* whole pages: the heaps round up, and the harnesses count pages */
	if (hl_parse_size(tok, &v) || v % 4096 || v > (4ull << 30))
		hl_die("bad size '%s' (whole pages, 4K..4G, e.g. 4K, 1M, 64M)", tok);
	o->sizes[o->nsizes++] = v;
	return 0;
}

static void parse_sizes(struct opts *o, const char *sizes)
{
	o->nsizes = 0;
	if (hl_parse_list(sizes, MAX_SIZES, add_size, o) < 0)
		hl_die("at most %d sizes", MAX_SIZES);
}

static int add_threads(const char *tok, void *arg)
{
	struct opts *o = arg;

	o->threads[o->nthreads++] = (int)hl_parse_range(tok, 1, MAX_THREADS, "--threads");
	return 0;
}

static void parse_threads(struct opts *o, const char *arg)
{
	o->nthreads = 0;
	if (hl_parse_list(arg, MAX_THREADS, add_threads, o) < 0)
		hl_die("at most %d thread counts", MAX_THREADS);
	if (!o->nthreads)
		hl_die("--threads needs at least one count");
}

/*
 * Option @code, by its long name in @lopts: refused unless it is common or
 * @t lists it. Which options belong to one harness alone is what the
 * descriptors' .options say, so no second list is kept here.
 */
static void check_harness_only(const struct harness *t, const struct option *lopts, int code)
{
	const struct harness *const *p, *u;

	for (; lopts->name; lopts++) {
		if (lopts->val != code || has_option(t, lopts->name))
			continue;
		for_each_harness(u, p)
			if (has_option(u, lopts->name))
				hl_die("--%s does not apply to %s", lopts->name, t->name);
	}
}

/*
 * A harness with an input takes its sizes and counts from it: --sizes,
 * --iters, --warmup and --budget would be silently ignored, so refused.
 */
static void die_schedule_option(const struct harness *t, const struct option *lopts, int code)
{
	for (; lopts->name && lopts->val != code; lopts++)
		;
	hl_die("--%s does not apply to %s: its %s gives the sizes and counts", lopts->name,
	       t->name, t->input);
}

/*
 * The command line after the harness's name into @o: its defaults, then
 * the options (each checked against the harness), then what it needs.
 */
static void parse_args(int argc, char **argv, const struct harness *t, struct opts *o)
{
	static const struct option lopts[] = {
		{ "heap", required_argument, NULL, 'H' },
		{ "sizes", required_argument, NULL, 's' },
		{ "iters", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "budget", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "fill", required_argument, NULL, 'f' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "perf", no_argument, NULL, 'p' },
		{ "json", required_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "settle", no_argument, NULL, 'S' },
		{ "tracer", required_argument, NULL, 'T' },
		{ "tracer-json", required_argument, NULL, 'J' },
		{ "tracer-arg", required_argument, NULL, 'A' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "oversubscribe", no_argument, NULL, 'O' },
		{ "time-scale", required_argument, NULL, 'x' },
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "no-background", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t budget;
	char *end;
	int c;

	if (t->default_sizes)
		parse_sizes(o, t->default_sizes);
	/* default thread counts: 1, 2, 4 as far as there are CPUs for them */
	parse_threads(o, ncpus() >= 4 ? "1,2,4" : ncpus() >= 2 ? "1,2" : "1");
	o->iters = t->iters;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		check_harness_only(t, lopts, c);
		if (t->input && strchr("snwb", c))
			die_schedule_option(t, lopts, c);
		switch (c) {
		case 'H': hl_opt_heap(o->heaps, &o->nheaps, optarg); break;
		case 's': parse_sizes(o, optarg); break;
		case 'n': o->iters = (int)hl_parse_range(optarg, 1, 100000, "--iters"); break;
		case 'w': o->warmup = (int)hl_parse_range(optarg, 0, 10000, "--warmup"); break;
		case 'c': o->cpu = (int)hl_parse_range(optarg, -1, 4095, "--cpu"); break;
		case 't': parse_threads(o, optarg); break;
		case 'f': o->fill = (int)hl_parse_range(optarg, 1, 90, "--fill"); break;
		case 'b':
			if (hl_parse_size(optarg, &budget))
				hl_die("bad --budget '%s'", optarg);
			o->budget = budget;
			break;
		case 'p': o->perf = 1; break;
		case 'j': o->json = optarg; break;
		case 'r': o->raw = 1; break;
		case 'S': o->settle = 1; break;
		case 'T': o->tracer = optarg; break;
		case 'J': o->tracer_json = optarg; break;
		case 'A':
			if (o->ntracer_args == 8)
				hl_die("at most 8 --tracer-arg");
			o->tracer_args[o->ntracer_args++] = optarg;
			break;
		case 'R': o->rounds = (int)hl_parse_range(optarg, 1, 100, "--rounds"); break;
		case 'O': o->oversubscribe = 1; break;
		case 'x':
			errno = 0;
			o->time_scale = strtod(optarg, &end);
			/* at most 100: a slower replay is a typo more often than a wish */
			if (errno || end == optarg || *end || !(o->time_scale > 0) ||
			    o->time_scale > 100)
				hl_die("bad --time-scale '%s' (a number in (0, 100], e.g. 0.1)", optarg);
			break;
		case 'C': o->cache_dir = optarg; break;
		case 'B': o->no_background = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (t->input && optind < argc)
		o->input = argv[optind++];
	if (optind < argc)
		hl_die("unexpected argument '%s'", argv[optind]);
	if (t->input && !o->input)
		hl_die("%s needs its %s (heaplab-bench %s %s --heap PATH...)", t->name, t->input,
		       t->name, t->input);
	if (t->needs_heap && !o->nheaps)
		hl_die("%s needs at least one --heap", t->name);
	if (t->check && t->check(o))
		exit(2);
	if (o->cpu >= ncpus())
		hl_die("--cpu %d: only %d CPUs online", o->cpu, ncpus());
}

/* The heaplab-bench/1 document of a run of @t: head, options, @results. */
static int write_doc(const struct opts *o, const struct harness *t,
		     struct json_object *results)
{
	struct json_object *doc = hl_doc_new(SCHEMA, t->name), *opts, *arr;
	int i;

	hl_doc_add_str(doc, "clock", "CLOCK_MONOTONIC_RAW");
	opts = hl_doc_options(doc, o->heaps, o->nheaps);
	hl_doc_add_int(opts, "cpu", o->cpu);
	hl_doc_add_bool(opts, "perf", o->perf);
	hl_doc_add_bool(opts, "raw", o->raw);
	hl_doc_add_bool(opts, "settle", o->settle);
	/* an input's harness takes no sizes or counts (die_schedule_option) */
	if (!t->input) {
		hl_doc_add_int(opts, "iters", o->iters);
		hl_doc_add_int(opts, "warmup", o->warmup);
		hl_doc_add_int(opts, "budget", (int64_t)o->budget);
		arr = hl_doc_add_array(opts, "sizes");
		for (i = 0; i < o->nsizes; i++)
			json_object_array_add(arr, json_object_new_int64((int64_t)o->sizes[i]));
	}
	if (t->options_json)
		t->options_json(o, opts);
	json_object_object_add(doc, "results", results);
	if (t->doc_json)
		t->doc_json(o, doc);
	if (!o->json) {
		json_object_put(doc);
		return 0;
	}
	return hl_doc_write(doc, o->json);
}

int main(int argc, char **argv)
{
	struct opts o = { .warmup = 5, .cpu = 0, .budget = 1ull << 30, .fill = 50, .rounds = 2,
			  .time_scale = 1 };
	const struct harness *t;
	struct json_object *results;
	int ret;

	hl_set_prog("heaplab-bench");
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "list"))
		return list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "machine"))
		return machine(argc - 1, argv + 1);
	t = find_harness(argv[1]);
	if (!t)
		hl_die("unknown harness '%s' (see heaplab-bench --help)", argv[1]);
	parse_args(argc - 1, argv + 1, t, &o);

	pin_cpu(o.cpu);
	results = json_object_new_array();
	ret = t->run(&o, results);
	if (perf_failures()) {
		fprintf(stderr, "heaplab-bench: --perf: some cases were not counted\n");
		ret = 1;
	}
	if (write_doc(&o, t, results))
		ret = 1;
	return ret ? 1 : 0;
}
