// SPDX-License-Identifier: GPL-2.0
/*
 * alloc: allocation latency (the ioctl) and free latency (close until the
 * buffer is released), per heap and size, the heaps taking turns.
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

/*
 * Every heap at one size, taking turns in 5 rounds: the guest's pace
 * drifts over a run (a heap measured a minute after another was up to
 * 40 % off), and a ratio of two heaps means something only if both saw
 * the same pace. With --perf the one count covers the heaps together.
 */
#define ALLOC_ROUNDS 5

static int alloc_size(struct opts *o, const int *fds, unsigned long long size,
		      struct json_object *results)
{
	int iters = case_iters(o, size), rounds = iters < ALLOC_ROUNDS ? 1 : ALLOC_ROUNDS;
	struct samples a[HL_MAX_HEAPS], f[HL_MAX_HEAPS];
	struct json_object *perf = NULL;
	int h, r, failed = 0;
	struct perf_stat ps;

	for (h = 0; h < o->nheaps; h++) {
		if (samples_init(&a[h], iters) || samples_init(&f[h], iters))
			return -ENOMEM;
		fprintf(stderr, "alloc: %s %lluK x %d\n", o->heaps[h], size >> 10, iters);
	}
	if (settle(o) < 0)
		return -EPERM;
	case_begin(o, &ps);
	for (r = 0; r < rounds && !failed; r++) {
		/* the rounds share the iterations; the first takes the rest */
		int n = iters / rounds + (r ? 0 : iters % rounds);

		for (h = 0; h < o->nheaps && !failed; h++)
			failed = alloc_free_rounds(o->heaps[h], fds[h], size, r ? 0 : o->warmup,
						   n, &a[h], &f[h]);
	}
	for (h = 0; h < o->nheaps; h++) {
		struct json_object *res = case_new(o->heaps[h], size);

		case_end_shared(o, &ps, res, !h, &perf);
		lat_row(o->heaps[h], size, "alloc alloc", &a[h]);
		lat_row(o->heaps[h], size, "alloc free", &f[h]);
		json_object_object_add(res, "alloc", samples_json(&a[h], o->raw));
		json_object_object_add(res, "free", samples_json(&f[h], o->raw));
		json_object_array_add(results, res);
		samples_free(&a[h]);
		samples_free(&f[h]);
	}
	return failed;
}

static int run_alloc(struct opts *o, struct json_object *results)
{
	int fds[HL_MAX_HEAPS], h, z, ret = 0;

	for (h = 0; h < o->nheaps; h++) {
		fds[h] = open_heap(o->heaps[h]);
		if (fds[h] < 0) {
			while (h--)
				close(fds[h]);
			return 1;
		}
	}
	lat_header();
	for (z = 0; z < o->nsizes && ret >= 0; z++)
		ret |= alloc_size(o, fds, o->sizes[z], results);
	for (h = 0; h < o->nheaps; h++)
		close(fds[h]);
	return ret;
}

BENCH_HARNESS(alloc) = {
	.name = "alloc",
	.help = "allocation and free latency per heap and size",
	.default_sizes = "4K,16K,64K,256K,1M,4M,16M,64M",
	.iters = 200,
	.needs_heap = true,
	.cases = "heap size",
	.run = run_alloc,
};
