// SPDX-License-Identifier: GPL-2.0
/*
 * concurrency: 1..N threads allocating and freeing on one heap at once.
 * Per thread count: aggregate throughput (allocations per second of wall
 * time) and the latency distribution of every allocation and free. Each
 * thread is pinned to its own CPU; more threads than online CPUs is refused
 * unless --oversubscribe, and the JSON says which CPUs the threads ran on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

struct worker {
	pthread_t tid;
	pthread_barrier_t *start;
	int heap, cpu, iters, warmup, err;
	int ran_on;		/* the CPU the measured loop started on */
	unsigned long long size;
	struct samples alloc, free;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (i = 0; i < w->warmup; i++) {
		int fd = hl_alloc_rw(w->heap, w->size);

		if (fd >= 0)
			close(fd);
	}
	pthread_barrier_wait(w->start);
	w->ran_on = sched_getcpu();
	for (i = 0; i < w->iters; i++) {
		uint64_t t0, t1;
		int fd;

		t0 = now_ns();
		fd = hl_alloc_rw(w->heap, w->size);
		t1 = now_ns();
		if (fd < 0) {
			w->err = errno;
			break;
		}
		close(fd);
		samples_add(&w->alloc, t1 - t0);
		samples_add(&w->free, now_ns() - t1);
	}
	return NULL;
}

static int one_case(struct opts *o, const char *name, int heap, unsigned long long size,
		    int nthreads, struct json_object *results)
{
	struct worker w[MAX_THREADS];
	struct samples all_a, all_f;
	struct json_object *r = case_new(name, size), *used;
	unsigned long long seen = 0;
	pthread_barrier_t start;
	struct perf_stat ps;
	uint64_t t0, wall;
	int i, per, failed = 0;
	size_t k, ops = 0;

	/* The same total work at every thread count. */
	per = case_iters(o, size) / nthreads;
	if (per < 2)
		per = 2;
	if (samples_init(&all_a, (size_t)per * nthreads) ||
	    samples_init(&all_f, (size_t)per * nthreads))
		return -ENOMEM;
	pthread_barrier_init(&start, NULL, (unsigned int)nthreads + 1);
	fprintf(stderr, "concurrency: %s %lluK, %d threads x %d\n", name, size >> 10, nthreads,
		per);
	case_begin(o, &ps);
	for (i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .start = &start, .heap = heap, .size = size,
					.cpu = i % ncpus(), .iters = per, .warmup = o->warmup };
		if (samples_init(&w[i].alloc, per) || samples_init(&w[i].free, per))
			return -ENOMEM;
		if (pthread_create(&w[i].tid, NULL, worker_fn, &w[i]))
			return -EAGAIN;
	}
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].tid, NULL);
	wall = now_ns() - t0;
	case_end(o, &ps, r);
	pthread_barrier_destroy(&start);
	for (i = 0; i < nthreads; i++) {
		if (w[i].err) {
			fprintf(stderr, "heaplab-bench: %s: %lluK: thread %d: %s\n", name,
				size >> 10, i, strerror(w[i].err));
			failed = 1;
		}
		for (k = 0; k < w[i].alloc.n; k++) {
			samples_add(&all_a, w[i].alloc.ns[k]);
			samples_add(&all_f, w[i].free.ns[k]);
		}
		ops += w[i].alloc.n;
		samples_free(&w[i].alloc);
		samples_free(&w[i].free);
	}
	{
		struct summary sa;
		char p50[16], p99[16];

		summarize(&all_a, &sa);
		hl_fmt_ns(p50, sizeof(p50), (double)sa.p50);
		hl_fmt_ns(p99, sizeof(p99), (double)sa.p99);
		printf("%-24s %9lluK %7d %7zu %12.0f %10s %10s\n", name, size >> 10, nthreads,
		       ops, wall ? (double)ops * 1e9 / (double)wall : 0.0, p50, p99);
	}
	json_object_object_add(r, "threads", json_object_new_int(nthreads));
	/* The distinct CPUs the threads ran on: a 2-thread case on one CPU
	 * measures time slicing, not concurrency.
	 */
	used = json_object_new_array();
	for (i = 0; i < nthreads; i++) {
		if (w[i].ran_on < 0 || w[i].ran_on >= 64 || seen & (1ull << w[i].ran_on))
			continue;
		seen |= 1ull << w[i].ran_on;
		json_object_array_add(used, json_object_new_int(w[i].ran_on));
	}
	json_object_object_add(r, "cpus_used", used);
	json_object_object_add(r, "oversubscribed", json_object_new_boolean(nthreads > ncpus()));
	json_object_object_add(r, "ops", json_object_new_int64((int64_t)ops));
	json_object_object_add(r, "wall_ns", json_object_new_int64((int64_t)wall));
	json_object_object_add(r, "ops_per_s",
			       json_object_new_double(wall ? (double)ops * 1e9 / (double)wall : 0));
	json_object_object_add(r, "alloc", samples_json(&all_a, o->raw));
	json_object_object_add(r, "free", samples_json(&all_f, o->raw));
	json_object_array_add(results, r);
	samples_free(&all_a);
	samples_free(&all_f);
	return failed;
}

static int threads_case(struct opts *o, const char *name, int heap,
			unsigned long long size, void *arg)
{
	int t, ret, failed = 0;

	for (t = 0; t < o->nthreads; t++) {
		ret = one_case(o, name, heap, size, o->threads[t], arg);
		if (ret < 0)
			return ret;
		failed |= ret;
	}
	return failed;
}

static int run_concurrency(struct opts *o, struct json_object *results)
{
	printf("%-24s %10s %7s %7s %12s %10s %10s\n", "heap", "size", "threads", "ops",
	       "allocs/s", "p50", "p99");
	return for_each_case(o, threads_case, results);
}

static int check_concurrency(const struct opts *o)
{
	int i;

	for (i = 0; !o->oversubscribe && i < o->nthreads; i++) {
		if (o->threads[i] > ncpus()) {
			fprintf(stderr, "heaplab-bench: concurrency: --threads %d is more than the %d CPU(s) online; "
				"pass --oversubscribe to run it anyway (the JSON then says so)\n",
				o->threads[i], ncpus());
			return 1;
		}
	}
	return 0;
}

static void concurrency_json(const struct opts *o, struct json_object *opts)
{
	struct json_object *arr = json_object_new_array();
	int i;

	for (i = 0; i < o->nthreads; i++)
		json_object_array_add(arr, json_object_new_int(o->threads[i]));
	json_object_object_add(opts, "threads", arr);
	json_object_object_add(opts, "oversubscribe", json_object_new_boolean(o->oversubscribe));
}

BENCH_HARNESS(concurrency) = {
	.name = "concurrency",
	.help = "1..N threads allocating at once: throughput and latency",
	.default_sizes = "64K,1M",
	.iters = 200,
	.needs_heap = true,
	.options = (const char *const[]){ "threads", "oversubscribe", NULL },
	.cases = "heap size threads",
	.check = check_concurrency,
	.options_json = concurrency_json,
	.run = run_concurrency,
};
