// SPDX-License-Identifier: GPL-2.0
/*
 * alloc: allocation latency (the ioctl) and free latency (close until the
 * buffer is released), per heap and size.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

int alloc_free_rounds(const char *name, int heap, unsigned long long size, int warmup,
		      int iters, struct samples *a, struct samples *f)
{
	int i;

	for (i = 0; i < warmup + iters; i++) {
		uint64_t t0, t1;
		int fd;

		t0 = now_ns();
		fd = hl_alloc_rw(heap, size);
		t1 = now_ns();
		if (fd < 0) {
			fprintf(stderr, "heaplab-bench: %s: %lluK: %s\n", name, size >> 10,
				strerror(errno));
			return 1;
		}
		close(fd);
		if (i >= warmup && a && f) {
			samples_add(a, t1 - t0);
			samples_add(f, now_ns() - t1);
		}
	}
	return 0;
}

int alloc_free_case(struct opts *o, const char *name, int heap, unsigned long long size,
		    const char *label, struct json_object *r)
{
	int iters = case_iters(o, size), failed;
	struct samples a, f;
	struct perf_stat ps;
	char what[32];

	fprintf(stderr, "%s: %s %lluK x %d\n", label, name, size >> 10, iters);
	if (samples_init(&a, iters) || samples_init(&f, iters))
		return -ENOMEM;
	case_begin(o, &ps);
	failed = alloc_free_rounds(name, heap, size, o->warmup, iters, &a, &f);
	case_end(o, &ps, r);
	snprintf(what, sizeof(what), "%s alloc", label);
	lat_row(name, size, what, &a);
	snprintf(what, sizeof(what), "%s free", label);
	lat_row(name, size, what, &f);
	json_object_object_add(r, "alloc", samples_json(&a, o->raw));
	json_object_object_add(r, "free", samples_json(&f, o->raw));
	samples_free(&a);
	samples_free(&f);
	return failed;
}

static int alloc_case(struct opts *o, const char *name, int heap,
		      unsigned long long size, void *arg)
{
	struct json_object *r = case_new(name, size);
	int ret = alloc_free_case(o, name, heap, size, "alloc", r);

	json_object_array_add(arg, r);
	return ret;
}

static int run_alloc(struct opts *o, struct json_object *results)
{
	lat_header();
	return for_each_case(o, alloc_case, results);
}

BENCH_TOOL(alloc) = {
	.name = "alloc",
	.help = "allocation and free latency per heap and size",
	.default_sizes = "4K,16K,64K,256K,1M,4M,16M,64M",
	.iters = 200,
	.needs_heap = true,
	.cases = "heap size",
	.run = run_alloc,
};
