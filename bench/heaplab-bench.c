// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab-bench: benchmark harnesses for DMA-BUF heaps.
 *
 *   heaplab-bench alloc  [options]   allocation and free latency per heap/size
 *   heaplab-bench memset [options]   user-space memset bandwidth, the limit
 *
 * Works on any heap device (heaplab's, upstream's, any machine's
 * /dev/dma_heap). Results: a table on stdout, progress on stderr, and JSON
 * (schema "heaplab-bench/1", see bench/README.md) with --json.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "linux/heaplab-dma-heap.h"
#include "lib/stats.h"

#define SCHEMA "heaplab-bench/1"
#define MAX_HEAPS 16
#define MAX_SIZES 32

struct opts {
	const char *heaps[MAX_HEAPS];
	int nheaps;
	unsigned long long sizes[MAX_SIZES];
	int nsizes;
	int iters, warmup, cpu, raw;
	unsigned long long budget;	/* bytes allocated per heap and size, at most */
	const char *json;
};

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

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "heaplab-bench: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
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
	json_object_object_add(m, "cpus", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
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

static int heap_alloc(int heap, unsigned long long len)
{
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };

	return ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) < 0 ? -1 : (int)d.fd;
}

static void fmt_ns(char *buf, size_t len, double ns)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
}

static void print_row(const char *heap, unsigned long long size, const char *what,
		      const struct summary *s, size_t n)
{
	char p50[16], p90[16], p99[16], mx[16], mean[16], sd[16];

	fmt_ns(p50, sizeof(p50), (double)s->p50);
	fmt_ns(p90, sizeof(p90), (double)s->p90);
	fmt_ns(p99, sizeof(p99), (double)s->p99);
	fmt_ns(mx, sizeof(mx), (double)s->max);
	fmt_ns(mean, sizeof(mean), s->mean);
	fmt_ns(sd, sizeof(sd), s->stddev);
	printf("%-24s %9lluK %-5s %5zu %10s %10s %10s %10s %10s %10s\n", heap, size >> 10,
	       what, n, p50, p90, p99, mx, mean, sd);
}

/* alloc: allocation latency (the ioctl) and free latency (close until release). */
static int run_alloc(struct opts *o, struct json_object *results)
{
	int h, z, i, failed = 0;

	printf("%-24s %10s %-5s %5s %10s %10s %10s %10s %10s %10s\n", "heap", "size", "op",
	       "n", "p50", "p90", "p99", "max", "mean", "stddev");
	for (h = 0; h < o->nheaps; h++) {
		int heap = open(o->heaps[h], O_RDONLY | O_CLOEXEC);

		if (heap < 0) {
			fprintf(stderr, "heaplab-bench: %s: %s\n", o->heaps[h], strerror(errno));
			failed = 1;
			continue;
		}
		for (z = 0; z < o->nsizes; z++) {
			unsigned long long size = o->sizes[z];
			int iters = o->iters;
			struct samples a, f;
			struct summary sa, sf;
			struct json_object *r;

			/* Big sizes get fewer rounds, so a run fits under TCG. */
			if ((unsigned long long)iters * size > o->budget)
				iters = (int)(o->budget / size);
			if (iters < 5)
				iters = 5;
			fprintf(stderr, "alloc: %s %lluK x %d\n", o->heaps[h], size >> 10, iters);
			if (samples_init(&a, iters) || samples_init(&f, iters))
				return -ENOMEM;
			for (i = 0; i < o->warmup + iters; i++) {
				uint64_t t0, t1, t2;
				int fd;

				t0 = now_ns();
				fd = heap_alloc(heap, size);
				t1 = now_ns();
				if (fd < 0) {
					fprintf(stderr, "heaplab-bench: %s: %lluK: %s\n",
						o->heaps[h], size >> 10, strerror(errno));
					failed = 1;
					break;
				}
				close(fd);
				t2 = now_ns();
				if (i >= o->warmup) {
					samples_add(&a, t1 - t0);
					samples_add(&f, t2 - t1);
				}
			}
			summarize(&a, &sa);
			summarize(&f, &sf);
			if (a.n) {
				print_row(o->heaps[h], size, "alloc", &sa, a.n);
				print_row(o->heaps[h], size, "free", &sf, f.n);
			}
			r = json_object_new_object();
			json_object_object_add(r, "heap", json_object_new_string(o->heaps[h]));
			json_object_object_add(r, "size", json_object_new_int64((int64_t)size));
			json_object_object_add(r, "alloc", summary_json(&sa, &a, o->raw));
			json_object_object_add(r, "free", summary_json(&sf, &f, o->raw));
			json_object_array_add(results, r);
			samples_free(&a);
			samples_free(&f);
		}
		close(heap);
	}
	return failed;
}

/* memset: the physical limit the heaps' zeroing is set against. */
static int run_memset(struct opts *o, struct json_object *results)
{
	int z, i;

	printf("%-10s %5s %10s %10s %10s %10s\n", "size", "n", "p50 GB/s", "p10 GB/s",
	       "min GB/s", "max GB/s");
	for (z = 0; z < o->nsizes; z++) {
		unsigned long long size = o->sizes[z];
		struct samples s;
		struct summary sum;
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
		for (i = 0; i < o->warmup + o->iters; i++) {
			uint64_t t0 = now_ns();

			memset(buf, i, size);
			__asm__ __volatile__("" : : "r"(buf) : "memory");
			if (i >= o->warmup)
				samples_add(&s, now_ns() - t0);
		}
		summarize(&s, &sum);
		/* bandwidth from time: the fastest time is the highest GB/s */
		printf("%9lluK %5zu %10.3f %10.3f %10.3f %10.3f\n", size >> 10, s.n,
		       (double)size / (double)sum.p50, (double)size / (double)sum.p90,
		       (double)size / (double)sum.max, (double)size / (double)sum.min);
		r = json_object_new_object();
		json_object_object_add(r, "size", json_object_new_int64((int64_t)size));
		json_object_object_add(r, "time", summary_json(&sum, &s, o->raw));
		json_object_object_add(r, "p50_gbps", json_object_new_double((double)size / (double)sum.p50));
		json_object_array_add(results, r);
		samples_free(&s);
		munmap(buf, size);
	}
	return 0;
}

static const struct tool {
	const char *name;
	const char *help;
	int (*run)(struct opts *o, struct json_object *results);
	const char *default_sizes;
	int iters;
} tools[] = {
	{ "alloc", "allocation and free latency per heap and size", run_alloc,
	  "4K,16K,64K,256K,1M,4M,16M,64M", 200 },
	{ "memset", "user-space memset bandwidth (the limit for zeroing)", run_memset,
	  "64K,1M,16M", 50 },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: heaplab-bench TOOL [options]\n\ntools:\n");
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		fprintf(f, "  %-8s %s\n", tools[i].name, tools[i].help);
	fprintf(f, "\noptions:\n"
		"  --heap PATH      heap device (repeatable; alloc only)\n"
		"  --sizes LIST     comma-separated sizes, e.g. 4K,1M,64M\n"
		"  --iters N        measured iterations (1..100000)\n"
		"  --warmup N       unmeasured iterations first (0..10000, default 5)\n"
		"  --budget SIZE    bytes per heap and size at most (default 1G)\n"
		"  --cpu N          pin to CPU N (default 0; -1: do not pin)\n"
		"  --json FILE      write results as JSON (schema " SCHEMA ")\n"
		"  --raw            keep every sample in the JSON\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "heap", required_argument, NULL, 'H' },
		{ "sizes", required_argument, NULL, 's' },
		{ "iters", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "budget", required_argument, NULL, 'b' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "json", required_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .warmup = 5, .cpu = 0, .budget = 1ull << 30 };
	const struct tool *t = NULL;
	struct json_object *root, *results, *opts;
	const char *sizes;
	char *list, *tok, *save;
	size_t i;
	int c, ret;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!strcmp(argv[1], tools[i].name))
			t = &tools[i];
	if (!t)
		die("unknown tool '%s' (see heaplab-bench --help)", argv[1]);
	sizes = t->default_sizes;
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
		case 's': sizes = optarg; break;
		case 'n': o.iters = parse_int(optarg, 1, 100000, "--iters"); break;
		case 'w': o.warmup = parse_int(optarg, 0, 10000, "--warmup"); break;
		case 'c': o.cpu = parse_int(optarg, -1, 4095, "--cpu"); break;
		case 'b':
			if (parse_size(optarg, &o.budget))
				die("bad --budget '%s'", optarg);
			break;
		case 'j': o.json = optarg; break;
		case 'r': o.raw = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (t->run == run_alloc && !o.nheaps)
		die("alloc needs at least one --heap%s", "");

	list = strdup(sizes);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o.nsizes == MAX_SIZES)
			die("at most 32 sizes%s", "");
		if (parse_size(tok, &o.sizes[o.nsizes++]))
			die("bad size '%s' (use e.g. 4K, 1M, 64M)", tok);
	}
	free(list);

	pin_cpu(o.cpu);
	root = json_object_new_object();
	results = json_object_new_array();
	ret = t->run(&o, results);

	json_object_object_add(root, "schema", json_object_new_string(SCHEMA));
	json_object_object_add(root, "tool", json_object_new_string(t->name));
	json_object_object_add(root, "clock", json_object_new_string("CLOCK_MONOTONIC_RAW"));
	json_object_object_add(root, "machine", machine_json());
	opts = json_object_new_object();
	json_object_object_add(opts, "iters", json_object_new_int(o.iters));
	json_object_object_add(opts, "warmup", json_object_new_int(o.warmup));
	json_object_object_add(opts, "cpu", json_object_new_int(o.cpu));
	json_object_object_add(opts, "budget", json_object_new_int64((int64_t)o.budget));
	json_object_object_add(root, "options", opts);
	json_object_object_add(root, "results", results);
	if (o.json && json_object_to_file_ext(o.json, root, JSON_C_TO_STRING_PRETTY)) {
		fprintf(stderr, "heaplab-bench: cannot write %s: %s\n", o.json, json_util_get_last_err());
		ret = 1;
	}
	json_object_put(root);
	return ret ? 1 : 0;
}
