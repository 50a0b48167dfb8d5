// SPDX-License-Identifier: GPL-2.0
/*
 * mmap: per heap and size, the cost of mapping a buffer, of faulting every
 * page in on first touch, of sequential writes and reads through the
 * mapping (bare, and bracketed by DMA_BUF_IOCTL_SYNC as a well-behaved
 * user must), and of munmap. Anonymous memory in the same guest is the
 * baseline ("anon"; it has no sync).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include "bench.h"

/*
 * map_touch is mmap plus first_touch of the same round: a heap may map at
 * mmap() or on the faults of the first touch, and only the sum compares.
 */
enum { M_MMAP, M_FAULT, M_MAP_TOUCH, M_WRITE, M_READ, M_WRITE_SYNC, M_READ_SYNC, M_MUNMAP,
	M_NR };

static const char *const names[M_NR] = {
	"mmap", "first_touch", "map_touch", "write", "read", "write_sync", "read_sync", "munmap",
};

static uint64_t read_all(const volatile uint64_t *p, size_t len)
{
	uint64_t acc = 0;
	size_t i;

	for (i = 0; i < len / sizeof(*p); i++)
		acc += p[i];
	return acc;
}

/* One round; fd < 0 means anonymous memory. Fills t[] with durations. */
static int one_round(int fd, size_t size, int round, uint64_t t[M_NR])
{
	uint64_t a, b;
	char *p;
	size_t off;

	a = now_ns();
	p = fd < 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
		   : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = now_ns();
	if (p == MAP_FAILED)
		return -1;
	t[M_MMAP] = b - a;
	for (off = 0; off < size; off += 4096)
		p[off] = 1;
	a = now_ns();
	t[M_FAULT] = a - b;
	t[M_MAP_TOUCH] = t[M_MMAP] + t[M_FAULT];
	memset(p, round, size);
	__asm__ __volatile__("" : : "r"(p) : "memory");
	b = now_ns();
	t[M_WRITE] = b - a;
	if (read_all((const uint64_t *)p, size) == 1)
		fputc(' ', stderr);	/* keeps the reads from being elided */
	a = now_ns();
	t[M_READ] = a - b;
	if (fd >= 0) {
		if (hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE))
			goto err;
		memset(p, round + 1, size);
		__asm__ __volatile__("" : : "r"(p) : "memory");
		if (hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE))
			goto err;
		b = now_ns();
		t[M_WRITE_SYNC] = b - a;
		if (hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ))
			goto err;
		if (read_all((const uint64_t *)p, size) == 1)
			fputc(' ', stderr);
		if (hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ))
			goto err;
		a = now_ns();
		t[M_READ_SYNC] = a - b;
	}
	a = now_ns();
	munmap(p, size);
	t[M_MUNMAP] = now_ns() - a;
	return 0;
err:
	munmap(p, size);
	return -1;
}

static int mmap_case(struct opts *o, const char *name, int heap, unsigned long long size,
		     void *arg)
{
	struct json_object *results = arg, *r = case_new(name, size);
	struct samples s[M_NR];
	struct perf_stat ps;
	int iters = case_iters(o, size), i, m, failed = 0;
	int nm = heap < 0 ? M_WRITE_SYNC : M_NR;

	for (m = 0; m < M_NR; m++)
		if (samples_init(&s[m], iters))
			return -ENOMEM;
	fprintf(stderr, "mmap: %s %lluK x %d\n", name, size >> 10, iters);
	case_begin(o, &ps);
	for (i = 0; i < o->warmup + iters; i++) {
		uint64_t t[M_NR] = { 0 };
		int fd = -1;

		if (heap >= 0) {
			fd = hl_alloc_rw(heap, size);
			if (fd < 0) {
				fprintf(stderr, "heaplab-bench: %s: %lluK: %s\n", name, size >> 10,
					strerror(errno));
				failed = 1;
				break;
			}
		}
		if (one_round(fd, size, i, t)) {
			fprintf(stderr, "heaplab-bench: mmap: %s %lluK: %s\n", name, size >> 10,
				strerror(errno));
			failed = 1;
		}
		if (fd >= 0)
			close(fd);
		if (failed)
			break;
		if (i >= o->warmup)
			for (m = 0; m < M_NR; m++)
				if (m < nm || m == M_MUNMAP)
					samples_add(&s[m], t[m]);
	}
	case_end(o, &ps, r);
	for (m = 0; m < M_NR; m++) {
		struct summary sum;

		if (m >= nm && m != M_MUNMAP) {
			samples_free(&s[m]);
			continue;
		}
		summarize(&s[m], &sum);
		printf("%-24s %9lluK %-12s %5zu %12.1f %10.3f\n", name, size >> 10, names[m],
		       s[m].n, (double)sum.p50 / 1e3,
		       sum.p50 ? (double)size / (double)sum.p50 : 0.0);
		json_object_object_add(r, names[m], summary_json(&sum, &s[m], o->raw));
		samples_free(&s[m]);
	}
	json_object_array_add(results, r);
	return failed;
}

static int run_mmap(struct opts *o, struct json_object *results)
{
	int z, failed = 0;

	printf("%-24s %10s %-12s %5s %12s %10s\n", "heap", "size", "op", "n", "p50 us",
	       "p50 GB/s");
	for (z = 0; z < o->nsizes; z++)
		failed |= mmap_case(o, "anon", -1, o->sizes[z], results);
	return for_each_case(o, mmap_case, results) || failed;
}

BENCH_HARNESS(mmap) = {
	.name = "mmap",
	.help = "mmap, first-touch faults, read/write GB/s with and without sync, munmap",
	.default_sizes = "1M,16M,64M",
	.iters = 20,
	.needs_heap = true,
	.cases = "heap+anon size",
	.run = run_mmap,
};
