// SPDX-License-Identifier: GPL-2.0
/* The case loop, and what every case does around its measure: heap access,
 * --settle, table rows, pinning, --perf. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

int open_heap(const char *path)
{
	int fd = hl_heap_open(path);

	if (fd < 0)
		fprintf(stderr, "heaplab-bench: %s: %s\n", path, strerror(errno));
	return fd;
}

int for_each_case(struct opts *o, case_fn fn, void *arg)
{
	int h, z, ret, failed = 0;

	for (h = 0; h < o->nheaps; h++) {
		int heap = open_heap(o->heaps[h]);

		if (heap < 0) {
			failed = 1;
			continue;
		}
		for (z = 0; z < o->nsizes; z++) {
			ret = settle(o);
			if (!ret)
				ret = fn(o, o->heaps[h], heap, o->sizes[z], arg);
			if (ret < 0) {
				close(heap);
				return ret;
			}
			failed |= ret;
		}
		close(heap);
	}
	return failed;
}

/* Big sizes get fewer rounds (--budget), so a run fits under TCG. */
int case_iters(const struct opts *o, unsigned long long size)
{
	int iters = o->iters;

	if ((unsigned long long)iters * size > o->budget)
		iters = (int)(o->budget / size);
	return iters < 5 ? (o->iters < 5 ? o->iters : 5) : iters;
}

struct json_object *case_new(const char *heap, unsigned long long size)
{
	struct json_object *r = json_object_new_object();

	if (heap)
		json_object_object_add(r, "heap", json_object_new_string(heap));
	json_object_object_add(r, "size", json_object_new_int64((int64_t)size));
	return r;
}

void lat_header(void)
{
	printf("%-24s %10s %-14s %5s %10s %10s %10s %10s %10s %10s\n", "heap", "size", "op",
	       "n", "p50", "p90", "p99", "max", "mean", "stddev");
}

void lat_row(const char *heap, unsigned long long size, const char *what,
	     struct samples *s)
{
	char p50[16], p90[16], p99[16], mx[16], mean[16], sd[16];
	struct summary sum;

	if (!s->n)
		return;
	summarize(s, &sum);
	hl_fmt_ns(p50, sizeof(p50), (double)sum.p50);
	hl_fmt_ns(p90, sizeof(p90), (double)sum.p90);
	hl_fmt_ns(p99, sizeof(p99), (double)sum.p99);
	hl_fmt_ns(mx, sizeof(mx), (double)sum.max);
	hl_fmt_ns(mean, sizeof(mean), sum.mean);
	hl_fmt_ns(sd, sizeof(sd), sum.stddev);
	printf("%-24s %9lluK %-14s %5zu %10s %10s %10s %10s %10s %10s\n", heap, size >> 10,
	       what, s->n, p50, p90, p99, mx, mean, sd);
}

void pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "heaplab-bench: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
}

int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

/* A --settle step that the kernel refused: named, and the run stops. */
static int settle_failed(const char *what)
{
	int err = errno;

	fprintf(stderr, "heaplab-bench: --settle: %s: %s\n", what, strerror(err));
	return -err;
}

/*
 * Under QEMU -icount the CMA heaps did not repeat across boots: cma_alloc
 * migrates whatever page cache sits in the CMA area, and the 9p reads that
 * filled it complete in host time. Emptying the cache and compacting first
 * makes the area's contents the same at each case.
 */
int settle(const struct opts *o)
{
	if (!o->settle)
		return 0;
	if (hl_drop_caches(3))
		return settle_failed("drop_caches");
	if (hl_compact_memory())
		return settle_failed("compact_memory");
	/*
	 * drop_caches ran heaplab's pool shrinker too: every case starts
	 * with the pool full again, as it is on a system at rest.
	 */
	if (hl_param_get("pool") == 1)
		hl_pool_wait_full(30);
	return 0;
}

/* A failed perf start is reported in the case ("perf": null) and fails the run. */
static int perf_failed;

int perf_failures(void)
{
	return perf_failed;
}

void case_begin(const struct opts *o, struct perf_stat *ps)
{
	ps->pid = -1;
	if (o->perf && perf_stat_begin(ps, o->cpu))
		perf_failed = 1;
}

void case_end(const struct opts *o, struct perf_stat *ps, struct json_object *r)
{
	struct json_object *counters;

	if (!o->perf)
		return;
	counters = ps->pid > 0 ? perf_stat_end(ps) : NULL;
	if (!counters)
		perf_failed = 1;
	json_object_object_add(r, "perf", counters);
}

void case_end_shared(const struct opts *o, struct perf_stat *ps, struct json_object *r,
		     bool first, struct json_object **shared)
{
	if (first) {
		case_end(o, ps, r);
		*shared = json_object_object_get(r, "perf");
	} else if (*shared) {
		json_object_object_add(r, "perf", json_object_get(*shared));
	}
}
