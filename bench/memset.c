// SPDX-License-Identifier: GPL-2.0
/*
 * memset: user-space memset bandwidth in the same guest, the physical
 * limit that the heaps' page zeroing is set against.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

static int run_memset(struct opts *o, struct json_object *results)
{
	int z, i;

	printf("%-10s %5s %10s %10s %10s %10s\n", "size", "n", "p50 GB/s", "p10 GB/s",
	       "min GB/s", "max GB/s");
	for (z = 0; z < o->nsizes; z++) {
		unsigned long long size = o->sizes[z];
		struct samples s;
		struct summary sum;
		struct perf_stat ps;
		struct json_object *r;
		char *buf;

		buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED) {
			fprintf(stderr, "heaplab-bench: memset %lluK: %s\n", size >> 10, strerror(errno));
			return 1;
		}
		memset(buf, 1, size);	/* fault in: measure writes, not faults */
		if (samples_init(&s, o->iters))
			return -ENOMEM;
		fprintf(stderr, "memset: %lluK x %d\n", size >> 10, o->iters);
		r = case_new(NULL, size);
		case_begin(o, &ps);
		for (i = 0; i < o->warmup + o->iters; i++) {
			uint64_t t0 = now_ns();

			memset(buf, i, size);
			__asm__ __volatile__("" : : "r"(buf) : "memory");
			if (i >= o->warmup)
				samples_add(&s, now_ns() - t0);
		}
		case_end(o, &ps, r);
		summarize(&s, &sum);
		/* bandwidth from time: the fastest time is the highest GB/s */
		printf("%9lluK %5zu %10.3f %10.3f %10.3f %10.3f\n", size >> 10, s.n,
		       (double)size / (double)sum.p50, (double)size / (double)sum.p90,
		       (double)size / (double)sum.max, (double)size / (double)sum.min);
		json_object_object_add(r, "time", summary_json(&sum, &s, o->raw));
		json_object_object_add(r, "p50_gbps", json_object_new_double((double)size / (double)sum.p50));
		json_object_array_add(results, r);
		samples_free(&s);
		munmap(buf, size);
	}
	return 0;
}

BENCH_HARNESS(memset) = {
	.name = "memset",
	.help = "user-space memset bandwidth (the limit for zeroing)",
	.default_sizes = "64K,1M,16M",
	.iters = 50,
	.cases = "size",
	.run = run_memset,
};
