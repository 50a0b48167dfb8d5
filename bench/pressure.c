// SPDX-License-Identifier: GPL-2.0
/*
 * pressure: allocation and free latency per heap and size, first on an
 * idle machine, then while a co-runner keeps memory full of movable pages
 * and fragmented: it maps --fill percent of MemAvailable, frees every
 * other page, and keeps flipping which half is present. Movable pages then
 * sit inside the CMA area, so the CMA heap must migrate them. Each case
 * records the deltas of the CMA, compaction and migration counters of
 * /proc/vmstat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define PAGE 4096ul

static const char *const counters[] = { "cma_", "compact_", "pgmigrate_" };

/* The counters above, as one JSON object; @base: subtract these. */
static struct json_object *vmstat(struct json_object *base)
{
	struct json_object *o = json_object_new_object();
	char key[96];
	long long v;
	FILE *f = fopen("/proc/vmstat", "r");
	size_t i;

	if (!f)
		return o;
	while (fscanf(f, "%95s %lld", key, &v) == 2) {
		struct json_object *b;

		for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
			if (!strncmp(key, counters[i], strlen(counters[i])))
				break;
		if (i == sizeof(counters) / sizeof(counters[0]))
			continue;
		if (base && json_object_object_get_ex(base, key, &b))
			v -= json_object_get_int64(b);
		json_object_object_add(o, key, json_object_new_int64(v));
	}
	fclose(f);
	return o;
}

static unsigned long mem_available(void)
{
	long long kb = hl_meminfo_kb("MemAvailable");

	return kb > 0 ? (unsigned long)kb * 1024 : 0;
}

static void flip(char *p, size_t len, int parity)
{
	size_t off;

	for (off = 0; off < len; off += 2 * PAGE) {
		p[off + (parity ? PAGE : 0)] = 1;
		madvise(p + off + (parity ? 0 : PAGE), PAGE, MADV_DONTNEED);
	}
}

static void corunner(size_t len, int cpu, int ready)
{
	cpu_set_t set;
	int parity = 0, adj = open("/proc/self/oom_score_adj", O_WRONLY);
	char *p;

	/* if memory runs out, the co-runner is the one to go */
	if (adj >= 0) {
		if (write(adj, "1000", 4) < 0)
			perror("oom_score_adj");
		close(adj);
	}
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(1);
	madvise(p, len, MADV_NOHUGEPAGE);	/* 4K pages: fragments */
	memset(p, 1, len);
	flip(p, len, parity);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	close(ready);
	for (;;) {
		parity = !parity;
		flip(p, len, parity);
	}
}

static pid_t corunner_start(struct opts *o, size_t *len)
{
	int fds[2], cpu = ncpus() > 1 ? (o->cpu + 1) % ncpus() : -1;
	pid_t pid;
	char c;

	*len = (mem_available() / 100 * (unsigned long)o->fill) & ~(2 * PAGE - 1);
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(fds[0]);
		corunner(*len, cpu, fds[1]);
	}
	close(fds[1]);
	fprintf(stderr, "pressure: co-runner %d fills %zu MiB and fragments it\n", (int)pid,
		*len >> 20);
	if (read(fds[0], &c, 1) != 1) {
		fprintf(stderr, "heaplab-bench: pressure: the co-runner died while filling\n");
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

static int one_case(struct opts *o, const char *name, int heap, unsigned long long size,
		    const char *load, size_t fill, struct json_object *results)
{
	struct json_object *r = case_new(name, size), *base = vmstat(NULL);
	int ret = alloc_free_case(o, name, heap, size, load, r);

	json_object_object_add(r, "vmstat", vmstat(base));
	json_object_put(base);
	json_object_object_add(r, "load", json_object_new_string(load));
	json_object_object_add(r, "fill_bytes", json_object_new_int64((int64_t)fill));
	json_object_array_add(results, r);
	return ret;
}

static int run_pressure(struct opts *o, struct json_object *results)
{
	static const char *const loads[] = { "idle", "pressure" };
	int heaps[HL_MAX_HEAPS], h, z, l, failed = 0;
	size_t fill = 0;
	pid_t pid = -1;

	for (h = 0; h < o->nheaps; h++) {
		heaps[h] = open_heap(o->heaps[h]);
		if (heaps[h] < 0)
			return 1;
	}
	lat_header();
	for (l = 0; l < 2; l++) {
		/* settle before the co-runner starts, never under it */
		if (settle(o)) {
			failed = 1;
			break;
		}
		if (l == 1) {
			pid = corunner_start(o, &fill);
			if (pid < 0) {
				failed = 1;
				break;
			}
		}
		for (h = 0; h < o->nheaps; h++)
			for (z = 0; z < o->nsizes; z++) {
				if (!l && (h || z) && settle(o))
					failed = 1;
				failed |= one_case(o, o->heaps[h], heaps[h], o->sizes[z],
						   loads[l], fill, results);
			}
	}
	if (pid > 0) {
		int status;

		/* still running means the pressure lasted through every case */
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "heaplab-bench: pressure: the co-runner died early "
				"(status %#x; OOM?)\n", status);
			failed = 1;
		} else {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	}
	for (h = 0; h < o->nheaps; h++)
		close(heaps[h]);
	return failed;
}

static void pressure_json(const struct opts *o, struct json_object *opts)
{
	json_object_object_add(opts, "fill_pct", json_object_new_int(o->fill));
}

BENCH_HARNESS(pressure) = {
	.name = "pressure",
	.help = "alloc latency idle and under a fragmenting co-runner, vmstat deltas",
	.default_sizes = "1M,16M",
	.iters = 30,
	.needs_heap = true,
	.options = (const char *const[]){ "fill", NULL },
	.cases = "heap size load=idle,pressure",
	.options_json = pressure_json,
	.run = run_pressure,
};
