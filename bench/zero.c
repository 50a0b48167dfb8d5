// SPDX-License-Identifier: GPL-2.0
/*
 * zero: the cost of zeroing pages, isolated from the rest of an allocation.
 *
 * - In the allocation path: heaplab's heaps time their zeroing and report
 *   it in the heaplab_zero tracepoint; we read it from tracefs, one sample
 *   per allocation. Upstream heaps zero inside the page allocator and have
 *   no such event: for them this part is reported as not observable.
 * - The kernel's page clearing on its own: the bench-only module
 *   heaplab_bench.ko clears N pages with clear_highpage() and times it.
 *
 * Both are set beside the memset harness's user-space bandwidth, the limit.
 * heaplab's pool is off for this harness (a pool hit clears nothing: the
 * pool harness measures that), and back as it was after.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define PAGE 4096ull
#define KCLEAR "/sys/kernel/debug/heaplab_bench/clear_pages"
#define EVENT "events/heaplab/heaplab_zero/enable"

static const char *tracefs(void)
{
	static const char *const dirs[] = { "/sys/kernel/tracing",
					    "/sys/kernel/debug/tracing" };
	static char path[128];
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/" EVENT, dirs[i]);
		if (!access(path, W_OK))
			return dirs[i];
	}
	return NULL;
}

static int write_file(const char *dir, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return hl_write_str(path, val);
}

/* Collects every heaplab_zero event in the trace buffer as a sample. */
static int read_zero_events(const char *dir, struct samples *s, unsigned long long *pages)
{
	char path[256], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long p, ns;
		char *e = strstr(line, "heaplab_zero:");

		if (!e)
			continue;
		e = strstr(e, "pages=");
		if (e && sscanf(e, "pages=%llu duration_ns=%llu", &p, &ns) == 2) {
			samples_add(s, ns);
			*pages = p;
		}
	}
	fclose(f);
	return 0;
}

static void gbps_row(const char *what, unsigned long long size, struct samples *s,
		     struct json_object *r)
{
	struct summary sum;
	double pages = (double)size / PAGE;

	summarize(s, &sum);
	printf("%-24s %9lluK %5zu %12.1f %12.1f %10.3f\n", what, size >> 10, s->n,
	       (double)sum.p50 / pages, (double)sum.p99 / pages,
	       sum.p50 ? (double)size / (double)sum.p50 : 0.0);
	json_object_object_add(r, "ns_per_page_p50", json_object_new_double((double)sum.p50 / pages));
	json_object_object_add(r, "p50_gbps",
			       json_object_new_double(sum.p50 ? (double)size / (double)sum.p50 : 0));
}

static int kernel_clear(struct opts *o, struct json_object *results)
{
	int z, i, fd;

	fd = open(KCLEAR, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "heaplab-bench: zero: %s: %s (load heaplab_bench.ko, "
			"the bench-only module, to time the kernel's page clearing)\n",
			KCLEAR, strerror(errno));
		return 1;
	}
	for (z = 0; z < o->nsizes; z++) {
		unsigned long long size = o->sizes[z], npages = size / PAGE;
		struct json_object *r = case_new("kernel:clear_highpage", size);
		struct perf_stat ps;
		struct samples s;
		char buf[64];

		if (samples_init(&s, o->iters))
			return -ENOMEM;
		fprintf(stderr, "zero: kernel clear_highpage %lluK x %d\n", size >> 10, o->iters);
		case_begin(o, &ps);
		for (i = 0; i < o->warmup + o->iters; i++) {
			unsigned long long pages, ns;
			ssize_t n;

			snprintf(buf, sizeof(buf), "%llu\n", npages);
			if (pwrite(fd, buf, strlen(buf), 0) < 0) {
				fprintf(stderr, "heaplab-bench: zero: clearing %llu pages: %s\n",
					npages, strerror(errno));
				close(fd);
				return 1;
			}
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			if (n <= 0)
				break;
			buf[n] = '\0';
			if (sscanf(buf, "%llu %llu", &pages, &ns) == 2 && i >= o->warmup)
				samples_add(&s, ns);
		}
		case_end(o, &ps, r);
		gbps_row("kernel:clear_highpage", size, &s, r);
		json_object_object_add(r, "zero", samples_json(&s, o->raw));
		json_object_array_add(results, r);
		samples_free(&s);
	}
	close(fd);
	return 0;
}

struct zero_ctx {
	const char *tracefs;
	struct json_object *results;
};

static int zero_case(struct opts *o, const char *name, int heap, unsigned long long size,
		     void *arg)
{
	struct zero_ctx *ctx = arg;
	struct json_object *r = case_new(name, size);
	unsigned long long pages = 0;
	int iters = case_iters(o, size), failed;
	struct perf_stat ps;
	struct samples s;

	if (samples_init(&s, iters))
		return -ENOMEM;
	fprintf(stderr, "zero: %s %lluK x %d\n", name, size >> 10, iters);
	alloc_free_rounds(name, heap, size, o->warmup, 0, NULL, NULL);
	if (write_file(ctx->tracefs, "trace", "") || write_file(ctx->tracefs, EVENT, "1")) {
		fprintf(stderr, "heaplab-bench: zero: cannot enable %s/%s\n", ctx->tracefs, EVENT);
		return 1;
	}
	case_begin(o, &ps);
	failed = alloc_free_rounds(name, heap, size, 0, iters, NULL, NULL);
	case_end(o, &ps, r);
	write_file(ctx->tracefs, EVENT, "0");
	read_zero_events(ctx->tracefs, &s, &pages);
	if (!s.n) {
		printf("%-24s %9lluK   not observable (zeroes in the page allocator, "
		       "no heaplab_zero event)\n", name, size >> 10);
		json_object_object_add(r, "zero", NULL);
	} else {
		if (s.n != (size_t)iters || pages * PAGE != size) {
			fprintf(stderr, "heaplab-bench: zero: %s: %zu events for %d "
				"allocations of %llu pages\n", name, s.n, iters, size / PAGE);
			failed = 1;
		}
		gbps_row(name, size, &s, r);
		json_object_object_add(r, "zero", samples_json(&s, o->raw));
	}
	json_object_array_add(ctx->results, r);
	samples_free(&s);
	return failed;
}

static int run_zero(struct opts *o, struct json_object *results)
{
	struct zero_ctx ctx = { .tracefs = tracefs(), .results = results };
	long long pool = hl_param_get("pool");
	int ret;

	printf("%-24s %10s %5s %12s %12s %10s\n", "source", "size", "n", "p50 ns/page",
	       "p99 ns/page", "p50 GB/s");
	ret = kernel_clear(o, results);
	if (!o->nheaps)
		return ret;
	if (!ctx.tracefs) {
		fprintf(stderr, "heaplab-bench: zero: no tracefs with the heaplab_zero event "
			"(mount tracefs and load heaplab_heap.ko)\n");
		return 1;
	}
	if (pool == 1) {
		hl_pool_set(0);
		hl_wait_stat("system", "pool_pages", 0, 0, 30);
	}
	ret = for_each_case(o, zero_case, &ctx) || ret;
	if (pool == 1)
		hl_pool_set(1);
	return ret;
}

BENCH_HARNESS(zero) = {
	.name = "zero",
	.help = "page zeroing cost: in the allocation path, and the kernel's clear_page",
	.default_sizes = "64K,1M,16M",
	.iters = 30,
	.cases = "heap+kernel:clear_highpage size",
	.run = run_zero,
};
