/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab-bench: what the harnesses share. One harness per file
 * (alloc.c, zero.c, ...), each described by a BENCH_HARNESS() descriptor;
 * the case loop in case.c, statistics in stats.[ch], --perf in perf-stat.[ch].
 */
#ifndef HEAPLAB_BENCH_H
#define HEAPLAB_BENCH_H

#include <stdbool.h>
#include <json-c/json.h>

#include "heaplab.h"
#include "perf-stat.h"
#include "stats.h"

#define MAX_SIZES 32
#define MAX_THREADS 16

struct opts {
	const char *heaps[HL_MAX_HEAPS];
	int nheaps;
	unsigned long long sizes[MAX_SIZES];
	int nsizes;
	int threads[MAX_THREADS];	/* concurrency: thread counts */
	int nthreads;
	int oversubscribe;		/* concurrency: allow more threads than CPUs */
	int iters, warmup, cpu, raw, perf;
	int settle;			/* drop caches and compact before each case */
	int fill;			/* pressure: percent of MemAvailable */
	unsigned long long budget;	/* bytes per heap and size, at most */
	const char *json;
	const char *tracer;		/* tracer: the tracer program to attach */
	const char *tracer_json;	/* tracer: its JSON, of the last round */
	const char *tracer_args[8];	/* tracer: its own options (--tracer-arg) */
	int ntracer_args;
	int rounds;			/* tracer: untraced/traced alternations */
	const char *input;		/* a harness's input file (.input: replay's PROFILE) */
	double time_scale;		/* replay: every time of the profile times this */
	const char *cache_dir;		/* replay: where the page-cache load's file goes */
	int no_background;		/* replay: play without the profile's background load */
};

/*
 * A harness, described once, in its own file:
 *
 *	BENCH_HARNESS(alloc) = {
 *		.name = "alloc",
 *		...
 *	};
 *
 * and one line in HARNESSES of bench/Makefile.am. heaplab-bench finds every
 * descriptor in the linker section below, in link order; `heaplab-bench
 * list --json` prints them for the checkers.
 */
struct harness {
	const char *name;
	const char *help;
	const char *default_sizes;
	int iters;			/* default --iters */
	bool needs_heap;		/* at least one --heap */
	/*
	 * The file the harness plays, its one argument (usage names it so:
	 * "PROFILE"); NULL for none. Its input is then the schedule: the
	 * sizes and round counts (--sizes, --iters, --warmup, --budget) do
	 * not apply, and default_sizes is NULL.
	 */
	const char *input;
	/* Options of this harness alone ("threads", "fill", ...), NULL-terminated. */
	const char *const *options;
	/*
	 * What names one result, for the checkers: the fields whose every
	 * combination the run must produce, space-separated. "heap" is each
	 * --heap ("heap+anon": and "anon" too), "size" each size, "threads"
	 * each --threads count; "load=idle,pressure" a field's own values;
	 * "class" each class of the input profile of the heap's kind (replay).
	 */
	const char *cases;
	/* Refuses options that cannot work here (message, non-zero). */
	int (*check)(const struct opts *o);
	/* This harness's own options into the JSON's "options". */
	void (*options_json)(const struct opts *o, struct json_object *opts);
	/* Fields of its own at the document's top, beside "results" (replay's "heaps"). */
	void (*doc_json)(const struct opts *o, struct json_object *doc);
	int (*run)(struct opts *o, struct json_object *results);
};

#define BENCH_HARNESS(id)						\
	static const struct harness harness_##id;			\
	static const struct harness *const harness_ptr_##id		\
		__attribute__((used, section("heaplab_bench_harnesses"))) = &harness_##id; \
	static const struct harness harness_##id

/*
 * alloc.c's loop, shared: @warmup untimed rounds of allocate-and-close,
 * then @iters timed ones into @a and @f (both NULL: untimed).
 */
int alloc_free_rounds(const char *name, int heap, unsigned long long size, int warmup,
		      int iters, struct samples *a, struct samples *f);
/* One alloc/free case into @r ("alloc", "free", "perf"); @label: table rows. */
int alloc_free_case(struct opts *o, const char *name, int heap, unsigned long long size,
		    const char *label, struct json_object *r);

/* case.c: the case loop and what every case does around its measure. */

/*
 * One measured case: heap @name (open as @heap) and @size. Returns 0, 1 if
 * it failed (the run goes on), or a negative errno that stops the run.
 */
typedef int (*case_fn)(struct opts *o, const char *name, int heap,
		       unsigned long long size, void *arg);
/* Opens each --heap in turn and runs @fn for every size. */
int for_each_case(struct opts *o, case_fn fn, void *arg);
/* hl_heap_open() with a message naming the heap on failure. */
int open_heap(const char *path);
int case_iters(const struct opts *o, unsigned long long size);
struct json_object *case_new(const char *heap, unsigned long long size);
void lat_header(void);
void lat_row(const char *heap, unsigned long long size, const char *what,
	     struct samples *s);
void pin_cpu(int cpu);
int ncpus(void);

/*
 * Every measured case is bracketed by these: with --perf they run it under
 * perf stat and store its counters in the case's JSON as "perf".
 */
void case_begin(const struct opts *o, struct perf_stat *ps);
/*
 * --settle: drop the page cache and compact memory, so each case starts
 * from the same free-page layout. Negative errno if the kernel refused.
 */
int settle(const struct opts *o);
void case_end(const struct opts *o, struct perf_stat *ps, struct json_object *r);
/*
 * Cases measured together (the heaps taking turns) share one perf count:
 * the @first ends it into its case, every other gets the same counters.
 */
void case_end_shared(const struct opts *o, struct perf_stat *ps, struct json_object *r,
		     bool first, struct json_object **shared);
/* Non-zero if --perf failed to count some case. */
int perf_failures(void);

#endif
