// SPDX-License-Identifier: GPL-2.0
/*
 * pressure: allocation and free latency per heap and size, first on an
 * idle machine, then while a co-runner (load.c) keeps memory full of
 * movable pages and fragmented: it maps --fill percent of MemAvailable,
 * frees every other page, and keeps flipping which half is present.
 * Movable pages then sit inside the CMA area, so the CMA heap must
 * migrate them. Each case
 * records the deltas of the CMA, compaction and migration counters of
 * /proc/vmstat.
 */
#include <stdio.h>
#include <unistd.h>

#include "bench.h"
#include "load.h"

#define PAGE 4096ul

static unsigned long mem_available(void)
{
	long long kb = hl_meminfo_kb("MemAvailable");

	return kb > 0 ? (unsigned long)kb * 1024 : 0;
}

/* The co-runner of load.c over --fill percent of MemAvailable. */
static pid_t pressure_load(struct opts *o, size_t *len)
{
	pid_t pid;

	*len = (mem_available() / 100 * (unsigned long)o->fill) & ~(2 * PAGE - 1);
	pid = corunner_start("pressure", *len, 0, load_cpu(o->cpu), NULL);
	if (pid > 0)
		fprintf(stderr, "pressure: co-runner %d fills %zu MiB and fragments it\n", (int)pid,
			*len >> 20);
	return pid;
}

static int one_case(struct opts *o, const char *name, int heap, unsigned long long size,
		    const char *load, size_t fill, struct json_object *results)
{
	struct json_object *r = case_new(name, size), *base = vmstat_json(NULL);
	int ret = alloc_free_case(o, name, heap, size, load, r);

	json_object_object_add(r, "vmstat", vmstat_json(base));
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
			pid = pressure_load(o, &fill);
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
	failed |= load_stop("pressure", "co-runner", pid);
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
