// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab-bench: benchmark harnesses for DMA-BUF heaps, one subcommand per
 * harness (alloc.c, memset.c, ...), each described by its BENCH_TOOL() and
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

#include "bench.h"

#define SCHEMA "heaplab-bench/1"

/* The descriptors, in link order (bench/Makefile.am's HARNESSES). */
extern const struct tool *const __start_heaplab_bench_tools[];
extern const struct tool *const __stop_heaplab_bench_tools[];

#define for_each_tool(t, p)						\
	for ((p) = __start_heaplab_bench_tools;				\
	     (p) < __stop_heaplab_bench_tools && ((t) = *(p)); (p)++)

static const struct tool *find_tool(const char *name)
{
	const struct tool *const *p, *t;

	for_each_tool(t, p)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

static bool has_option(const struct tool *t, const char *opt)
{
	const char *const *o;

	for (o = t->options; o && *o; o++)
		if (!strcmp(*o, opt))
			return true;
	return false;
}

/* list [--json]: the harnesses, for people and for the suite's checkers. */
static int list(int argc, char **argv)
{
	const struct tool *const *p, *t;
	struct json_object *arr, *root;
	const char *const *o;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json")))
		hl_die("usage: heaplab-bench list [--json]");
	if (argc == 1) {
		for_each_tool(t, p)
			printf("%-12s %s\n", t->name, t->help);
		return 0;
	}
	arr = json_object_new_array();
	for_each_tool(t, p) {
		struct json_object *j = json_object_new_object(), *opts = json_object_new_array();

		json_object_object_add(j, "name", json_object_new_string(t->name));
		json_object_object_add(j, "help", json_object_new_string(t->help));
		json_object_object_add(j, "default_sizes", json_object_new_string(t->default_sizes));
		json_object_object_add(j, "iters", json_object_new_int(t->iters));
		json_object_object_add(j, "needs_heap", json_object_new_boolean(t->needs_heap));
		for (o = t->options; o && *o; o++)
			json_object_array_add(opts, json_object_new_string(*o));
		json_object_object_add(j, "options", opts);
		json_object_object_add(j, "cases", json_object_new_string(t->cases));
		json_object_array_add(arr, j);
	}
	root = json_object_new_object();
	json_object_object_add(root, "schema", json_object_new_string(SCHEMA));
	json_object_object_add(root, "tools", arr);
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
	json_object_put(root);
	return 0;
}

static void usage(FILE *f)
{
	const struct tool *const *p, *t;

	fprintf(f, "usage: heaplab-bench TOOL [options]\n"
		"       heaplab-bench list [--json]\n\ntools:\n");
	for_each_tool(t, p)
		fprintf(f, "  %-12s %s (default sizes %s)\n", t->name, t->help, t->default_sizes);
	fprintf(f, "\noptions:\n"
		"  --heap PATH      heap device (repeatable; needed by alloc, mmap,\n"
		"                   concurrency, pressure; zero: heaplab heaps only)\n"
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
		"  --rounds N       tracer: untraced/traced alternations (1..100, default 2)\n");
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
 * @t lists it. Which options belong to one tool alone is what the
 * descriptors' .options say, so no second list is kept here.
 */
static void check_tool_only(const struct tool *t, const struct option *lopts, int code)
{
	const struct tool *const *p, *u;

	for (; lopts->name; lopts++) {
		if (lopts->val != code || has_option(t, lopts->name))
			continue;
		for_each_tool(u, p)
			if (has_option(u, lopts->name))
				hl_die("--%s does not apply to %s", lopts->name, t->name);
	}
}

int main(int argc, char **argv)
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .warmup = 5, .cpu = 0, .budget = 1ull << 30, .fill = 50, .rounds = 2 };
	const struct tool *t;
	struct json_object *root, *results, *opts, *arr;
	uint64_t budget;
	int c, i, ret;

	hl_set_prog("heaplab-bench");
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "list"))
		return list(argc - 1, argv + 1);
	t = find_tool(argv[1]);
	if (!t)
		hl_die("unknown tool '%s' (see heaplab-bench --help)", argv[1]);
	parse_sizes(&o, t->default_sizes);
	/* default thread counts: 1, 2, 4 as far as there are CPUs for them */
	parse_threads(&o, ncpus() >= 4 ? "1,2,4" : ncpus() >= 2 ? "1,2" : "1");
	o.iters = t->iters;

	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		check_tool_only(t, lopts, c);
		switch (c) {
		case 'H':
			if (o.nheaps == HL_MAX_HEAPS)
				hl_die("at most %d heaps", HL_MAX_HEAPS);
			o.heaps[o.nheaps++] = optarg;
			break;
		case 's': parse_sizes(&o, optarg); break;
		case 'n': o.iters = (int)hl_parse_range(optarg, 1, 100000, "--iters"); break;
		case 'w': o.warmup = (int)hl_parse_range(optarg, 0, 10000, "--warmup"); break;
		case 'c': o.cpu = (int)hl_parse_range(optarg, -1, 4095, "--cpu"); break;
		case 't': parse_threads(&o, optarg); break;
		case 'f': o.fill = (int)hl_parse_range(optarg, 1, 90, "--fill"); break;
		case 'b':
			if (hl_parse_size(optarg, &budget))
				hl_die("bad --budget '%s'", optarg);
			o.budget = budget;
			break;
		case 'p': o.perf = 1; break;
		case 'j': o.json = optarg; break;
		case 'r': o.raw = 1; break;
		case 'S': o.settle = 1; break;
		case 'T': o.tracer = optarg; break;
		case 'J': o.tracer_json = optarg; break;
		case 'A':
			if (o.ntracer_args == 8)
				hl_die("at most 8 --tracer-arg");
			o.tracer_args[o.ntracer_args++] = optarg;
			break;
		case 'R': o.rounds = (int)hl_parse_range(optarg, 1, 100, "--rounds"); break;
		case 'O': o.oversubscribe = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		hl_die("unexpected argument '%s'", argv[optind]);
	if (t->needs_heap && !o.nheaps)
		hl_die("%s needs at least one --heap", t->name);
	if (t->check && t->check(&o))
		return 2;
	if (o.cpu >= ncpus())
		hl_die("--cpu %d: only %d CPUs online", o.cpu, ncpus());

	pin_cpu(o.cpu);
	root = json_object_new_object();
	results = json_object_new_array();
	ret = t->run(&o, results);
	if (perf_failures()) {
		fprintf(stderr, "heaplab-bench: --perf: some cases were not counted\n");
		ret = 1;
	}

	json_object_object_add(root, "schema", json_object_new_string(SCHEMA));
	json_object_object_add(root, "tool", json_object_new_string(t->name));
	json_object_object_add(root, "clock", json_object_new_string("CLOCK_MONOTONIC_RAW"));
	json_object_object_add(root, "machine", hl_machine_json());
	opts = json_object_new_object();
	json_object_object_add(opts, "iters", json_object_new_int(o.iters));
	json_object_object_add(opts, "warmup", json_object_new_int(o.warmup));
	json_object_object_add(opts, "cpu", json_object_new_int(o.cpu));
	json_object_object_add(opts, "budget", json_object_new_int64((int64_t)o.budget));
	json_object_object_add(opts, "perf", json_object_new_boolean(o.perf));
	json_object_object_add(opts, "raw", json_object_new_boolean(o.raw));
	json_object_object_add(opts, "settle", json_object_new_boolean(o.settle));
	arr = json_object_new_array();
	for (i = 0; i < o.nheaps; i++)
		json_object_array_add(arr, json_object_new_string(o.heaps[i]));
	json_object_object_add(opts, "heaps", arr);
	arr = json_object_new_array();
	for (i = 0; i < o.nsizes; i++)
		json_object_array_add(arr, json_object_new_int64((int64_t)o.sizes[i]));
	json_object_object_add(opts, "sizes", arr);
	if (t->options_json)
		t->options_json(&o, opts);
	json_object_object_add(root, "options", opts);
	json_object_object_add(root, "results", results);
	if (o.json && json_object_to_file_ext(o.json, root, JSON_C_TO_STRING_PRETTY)) {
		fprintf(stderr, "heaplab-bench: cannot write %s: %s\n", o.json, json_util_get_last_err());
		ret = 1;
	}
	json_object_put(root);
	return ret ? 1 : 0;
}
