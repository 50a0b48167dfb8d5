// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab-bench: benchmark harnesses for DMA-BUF heaps, one subcommand per
 * harness (alloc.c, memset.c, zero.c, mmap.c, concurrency.c, pressure.c),
 * registered in the table below.
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
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

#define SCHEMA "heaplab-bench/1"

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "heaplab-bench: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

/* "4K", "64K", "1M", "256M", "1G" or plain bytes. */
static int parse_size(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	}
	if (*end || !v)
		return -1;
	*out = v;
	return 0;
}

static int parse_int(const char *s, int min, int max, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end || v < min || v > max) {
		fprintf(stderr, "heaplab-bench: %s must be %d..%d, not '%s'\n", what, min, max, s);
		exit(2);
	}
	return (int)v;
}

static struct json_object *machine_json(void)
{
	struct json_object *m = json_object_new_object();
	struct utsname u;
	char line[256];
	FILE *f;

	if (!uname(&u)) {
		json_object_object_add(m, "kernel", json_object_new_string(u.release));
		json_object_object_add(m, "version", json_object_new_string(u.version));
		json_object_object_add(m, "arch", json_object_new_string(u.machine));
	}
	/* online CPUs: what the harnesses can really run on */
	json_object_object_add(m, "cpus", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(m, "cpus_configured",
			       json_object_new_int((int)sysconf(_SC_NPROCESSORS_CONF)));
	json_object_object_add(m, "mem_bytes",
			       json_object_new_int64((int64_t)sysconf(_SC_PHYS_PAGES) *
						     sysconf(_SC_PAGESIZE)));
	f = fopen("/proc/cmdline", "r");
	if (f) {
		if (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			json_object_object_add(m, "cmdline", json_object_new_string(line));
		}
		fclose(f);
	}
	return m;
}

static const struct tool {
	const char *name;
	const char *help;
	int (*run)(struct opts *o, struct json_object *results);
	const char *default_sizes;
	int iters;
	int needs_heap;
} tools[] = {
	{ "alloc", "allocation and free latency per heap and size", run_alloc,
	  "4K,16K,64K,256K,1M,4M,16M,64M", 200, 1 },
	{ "memset", "user-space memset bandwidth (the limit for zeroing)", run_memset,
	  "64K,1M,16M", 50, 0 },
	{ "zero", "page zeroing cost: in the allocation path, and the kernel's clear_page",
	  run_zero, "64K,1M,16M", 30, 0 },
	{ "mmap", "mmap, first-touch faults, read/write GB/s with and without sync, munmap",
	  run_mmap, "1M,16M", 20, 1 },
	{ "concurrency", "1..N threads allocating at once: throughput and latency",
	  run_concurrency, "64K,1M", 200, 1 },
	{ "pressure", "alloc latency idle and under a fragmenting co-runner, vmstat deltas",
	  run_pressure, "1M,16M", 30, 1 },
	{ "tracer", "alloc latency untraced against bpf/heaptrace attached, rounds alternated",
	  run_tracer, "4K,64K,1M,16M", 100, 1 },
};

#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: heaplab-bench TOOL [options]\n\ntools:\n");
	for (i = 0; i < NTOOLS; i++)
		fprintf(f, "  %-12s %s (default sizes %s)\n", tools[i].name, tools[i].help,
			tools[i].default_sizes);
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

static void parse_sizes(struct opts *o, const char *sizes)
{
	char *list = strdup(sizes), *tok, *save;

	o->nsizes = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long long *v = &o->sizes[o->nsizes];

		if (o->nsizes == MAX_SIZES)
			die("at most 32 sizes%s", "");
		/* whole pages: the heaps round up, and the harnesses count pages */
		if (parse_size(tok, v) || *v % 4096 || *v > (4ull << 30))
			die("bad size '%s' (whole pages, 4K..4G, e.g. 4K, 1M, 64M)", tok);
		o->nsizes++;
	}
	free(list);
}

static void parse_threads(struct opts *o, const char *arg)
{
	char *list = strdup(arg), *tok, *save;

	o->nthreads = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nthreads == MAX_THREADS)
			die("at most 16 thread counts%s", "");
		o->threads[o->nthreads++] = parse_int(tok, 1, MAX_THREADS, "--threads");
	}
	free(list);
	if (!o->nthreads)
		die("--threads needs at least one count%s", "");
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
	const struct tool *t = NULL;
	struct json_object *root, *results, *opts, *arr;
	size_t i;
	int c, ret;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 0; i < NTOOLS; i++)
		if (!strcmp(argv[1], tools[i].name))
			t = &tools[i];
	if (!t)
		die("unknown tool '%s' (see heaplab-bench --help)", argv[1]);
	parse_sizes(&o, t->default_sizes);
	/* default thread counts: 1, 2, 4 as far as there are CPUs for them */
	parse_threads(&o, ncpus() >= 4 ? "1,2,4" : ncpus() >= 2 ? "1,2" : "1");
	o.iters = t->iters;

	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			if (o.nheaps == MAX_HEAPS)
				die("at most 16 heaps%s", "");
			o.heaps[o.nheaps++] = optarg;
			break;
		case 's': parse_sizes(&o, optarg); break;
		case 'n': o.iters = parse_int(optarg, 1, 100000, "--iters"); break;
		case 'w': o.warmup = parse_int(optarg, 0, 10000, "--warmup"); break;
		case 'c': o.cpu = parse_int(optarg, -1, 4095, "--cpu"); break;
		case 't': parse_threads(&o, optarg); break;
		case 'f': o.fill = parse_int(optarg, 1, 90, "--fill"); break;
		case 'b':
			if (parse_size(optarg, &o.budget))
				die("bad --budget '%s'", optarg);
			break;
		case 'p': o.perf = 1; break;
		case 'j': o.json = optarg; break;
		case 'r': o.raw = 1; break;
		case 'S': o.settle = 1; break;
		case 'T': o.tracer = optarg; break;
		case 'J': o.tracer_json = optarg; break;
		case 'A':
			if (o.ntracer_args == 8)
				die("at most 8 --tracer-arg%s", "");
			o.tracer_args[o.ntracer_args++] = optarg;
			break;
		case 'R': o.rounds = parse_int(optarg, 1, 100, "--rounds"); break;
		case 'O': o.oversubscribe = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (t->needs_heap && !o.nheaps)
		die("%s needs at least one --heap", t->name);
	for (i = 0; t->run == run_concurrency && !o.oversubscribe && i < (size_t)o.nthreads; i++) {
		if (o.threads[i] > ncpus()) {
			fprintf(stderr, "heaplab-bench: concurrency: --threads %d is more than the %d CPU(s) online; "
				"pass --oversubscribe to run it anyway (the JSON then says so)\n",
				o.threads[i], ncpus());
			return 2;
		}
	}
	if (o.cpu >= ncpus()) {
		fprintf(stderr, "heaplab-bench: --cpu %d: only %d CPUs online\n", o.cpu, ncpus());
		return 2;
	}

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
	json_object_object_add(root, "machine", machine_json());
	opts = json_object_new_object();
	json_object_object_add(opts, "iters", json_object_new_int(o.iters));
	json_object_object_add(opts, "warmup", json_object_new_int(o.warmup));
	json_object_object_add(opts, "cpu", json_object_new_int(o.cpu));
	json_object_object_add(opts, "budget", json_object_new_int64((int64_t)o.budget));
	json_object_object_add(opts, "perf", json_object_new_boolean(o.perf));
	json_object_object_add(opts, "raw", json_object_new_boolean(o.raw));
	json_object_object_add(opts, "settle", json_object_new_boolean(o.settle));
	arr = json_object_new_array();
	for (i = 0; i < (size_t)o.nheaps; i++)
		json_object_array_add(arr, json_object_new_string(o.heaps[i]));
	json_object_object_add(opts, "heaps", arr);
	arr = json_object_new_array();
	for (i = 0; i < (size_t)o.nsizes; i++)
		json_object_array_add(arr, json_object_new_int64((int64_t)o.sizes[i]));
	json_object_object_add(opts, "sizes", arr);
	if (t->run == run_concurrency) {
		arr = json_object_new_array();
		for (i = 0; i < (size_t)o.nthreads; i++)
			json_object_array_add(arr, json_object_new_int(o.threads[i]));
		json_object_object_add(opts, "threads", arr);
		json_object_object_add(opts, "oversubscribe",
				       json_object_new_boolean(o.oversubscribe));
	}
	if (t->run == run_pressure)
		json_object_object_add(opts, "fill_pct", json_object_new_int(o.fill));
	if (t->run == run_tracer) {
		json_object_object_add(opts, "tracer", json_object_new_string(o.tracer ? o.tracer : ""));
		json_object_object_add(opts, "rounds", json_object_new_int(o.rounds));
		arr = json_object_new_array();
		for (i = 0; i < (size_t)o.ntracer_args; i++)
			json_object_array_add(arr, json_object_new_string(o.tracer_args[i]));
		json_object_object_add(opts, "tracer_args", arr);
	}
	json_object_object_add(root, "options", opts);
	json_object_object_add(root, "results", results);
	if (o.json && json_object_to_file_ext(o.json, root, JSON_C_TO_STRING_PRETTY)) {
		fprintf(stderr, "heaplab-bench: cannot write %s: %s\n", o.json, json_util_get_last_err());
		ret = 1;
	}
	json_object_put(root);
	return ret ? 1 : 0;
}
