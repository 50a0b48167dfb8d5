// SPDX-License-Identifier: GPL-2.0
/*
 * pool: the system heap's page pool, and what it costs.
 *
 * Every heap and size is measured in each pool state below. The heaps take
 * turns, allocation by allocation (the guest's pace drifts over a run: a
 * heap measured a minute after the other was up to 40 % off), and a state's
 * preparation runs before every allocation of every heap (untimed), so
 * heaplab's heap and upstream's compare under the same conditions:
 *   warm	pool on and full: wait for its worker, then 20 ms idle, before
 *		each allocation (right after idle an allocation costs more than
 *		in a tight loop: both heaps get the same idle)
 *   cold	pool on, emptied by its shrinker (drop_caches=2), 20 ms idle
 *   off	pool=N: chunks cleared whole on the allocating thread, large
 *		buffers by idle CPUs too
 *   serial	pool=N, parallel_clear_mb=0: no other CPU helps
 *   pages	pool=N, parallel_clear_mb=0, clear_chunks=N: page by page
 *   burst	back-to-back allocations held until twice the pool's level,
 *		from a full pool: each one's latency beside the level before it
 *		and whether it hit (heaplab's heap; upstream's for the latency)
 *
 * Background work is not free: each case reports the CPU time of all CPUs
 * (/proc/stat) from each allocation until the worker has nothing left to
 * do after its free, summed, per allocated MiB, and the worker's own CPU
 * time (/proc/PID/stat); "cold" has none (the shrinker's run before every
 * allocation would be most of it), nor a case of less than 64 MiB in all.
 * The worker's clearing throughput is set beside the memset limit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MIB (1024.0 * 1024.0)

static const char *const states[] = { "warm", "cold", "off", "serial", "pages", "burst" };

/* The parameters as the run found them, put back at its end. */
static long long saved_pool = -1, saved_parallel = -1, saved_chunks = -1;
/* The pool's worker thread, read once: it lives as long as the heap module. */
static long long worker_pid = -1;

static void set_num(const char *name, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	hl_param_set(name, buf);
}

static void params_restore(void)
{
	if (saved_pool >= 0)
		hl_pool_set((int)saved_pool);
	if (saved_parallel >= 0)
		set_num("parallel_clear_mb", saved_parallel);
	if (saved_chunks >= 0)
		hl_param_set("clear_chunks", saved_chunks ? "Y" : "N");
}

/* The parameters of @state; the defaults for those it does not set. */
static int params_for(const char *state)
{
	bool off = !strcmp(state, "off") || !strcmp(state, "serial") || !strcmp(state, "pages");
	int ret = hl_pool_set(!off);

	set_num("parallel_clear_mb", strcmp(state, "serial") && strcmp(state, "pages") ?
		saved_parallel : 0);
	hl_param_set("clear_chunks", !strcmp(state, "pages") ? "N" : saved_chunks ? "Y" : "N");
	if (!off && !hl_pool_wait_full(30))
		fprintf(stderr, "heaplab-bench: pool: the pool did not fill in 30 s\n");
	if (off)
		hl_wait_stat("system", "pool_pages", 0, 0, 30);
	return ret;
}

/* Busy time of every CPU since boot, ns (/proc/stat: all but idle and iowait). */
static unsigned long long cpu_busy_ns(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "re");
	long hz = sysconf(_SC_CLK_TCK);

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		v[0] = v[1] = v[2] = v[5] = v[6] = v[7] = 0;
	fclose(f);
	return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * (1000000000ULL / (unsigned long long)hz);
}

/* utime + stime of the pool's worker thread, ns; 0 if there is none. */
static unsigned long long worker_ns(void)
{
	long long pid = worker_pid;
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	/* after "(comm)": state is field 3, utime and stime 14 and 15 */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (ut + st) * (1000000000ULL / (unsigned long long)hz);
}

/* After a free: the worker has nothing left (warm: the pool full again). */
static void wait_quiet(const char *state)
{
	if (!strcmp(state, "warm"))
		hl_pool_wait_full(30);
	else
		hl_wait_stat("system", "pool_freed_pages", 0, 0, 30);
}

static void add_num(struct json_object *r, const char *key, long long v)
{
	json_object_object_add(r, key, json_object_new_int64(v));
}

static void add_pool_counters(struct json_object *r, long long hits0, long long misses0)
{
	long long hits = hl_heap_stat("system", "pool_hits");

	if (hits < 0)
		return;
	add_num(r, "pool_hits", hits - hits0);
	add_num(r, "pool_misses", hl_heap_stat("system", "pool_misses") - misses0);
}

/* One heap's side of a steady case: its samples and what its windows cost. */
struct arm {
	const char *name;
	int fd;
	struct samples a, f;
	unsigned long long busy_ns, worker_ns;
	long long hits, misses, cleared, clear_ns;
};

/* One allocation of @arm in @state: prepared, timed, freed, timed, settled. */
static int steady_round(const char *state, unsigned long long size, struct arm *arm,
			bool keep)
{
	struct hl_pool_stats s0, s1;
	unsigned long long b0, w0;
	uint64_t t0, t1, t2;
	int fd;

	if (!strcmp(state, "warm")) {
		hl_pool_wait_full(30);
		usleep(20000);
	} else if (!strcmp(state, "cold")) {
		hl_write_str("/proc/sys/vm/drop_caches", "2");
		usleep(20000);
	}
	hl_pool_read(&s0);
	b0 = cpu_busy_ns();
	w0 = worker_ns();
	t0 = now_ns();
	fd = hl_alloc_rw(arm->fd, size);
	t1 = now_ns();
	if (fd < 0) {
		fprintf(stderr, "heaplab-bench: pool: %s %s %lluK: %s\n", state, arm->name,
			size >> 10, strerror(errno));
		return 1;
	}
	close(fd);
	t2 = now_ns();
	wait_quiet(state);
	if (!keep)
		return 0;
	arm->busy_ns += cpu_busy_ns() - b0;
	arm->worker_ns += worker_ns() - w0;
	hl_pool_read(&s1);
	arm->hits += s1.hits - s0.hits;
	arm->misses += s1.misses - s0.misses;
	arm->cleared += s1.cleared_pages - s0.cleared_pages;
	arm->clear_ns += s1.clear_ns - s0.clear_ns;
	samples_add(&arm->a, t1 - t0);
	samples_add(&arm->f, t2 - t1);
	return 0;
}

static void steady_json(const struct opts *o, const char *state, unsigned long long size,
			struct arm *arm, struct json_object *r)
{
	/*
	 * /proc/stat counts in ticks (10 ms): below 64 MiB allocated the
	 * figure would be mostly rounding, so none is given.
	 */
	if (strcmp(state, "cold") && (double)size * (double)arm->a.n >= 64 * MIB)
		json_object_object_add(r, "cpu_ns_per_mib", json_object_new_double(
			(double)arm->busy_ns / ((double)size * (double)arm->a.n / MIB)));
	add_num(r, "worker_cpu_ns", (long long)arm->worker_ns);
	if (arm->hits >= 0 && hl_heap_stat("system", "pool_hits") >= 0) {
		add_num(r, "pool_hits", arm->hits);
		add_num(r, "pool_misses", arm->misses);
	}
	/* What the worker cleared meanwhile, and how fast (beside memset's). */
	if (arm->cleared > 0 && arm->clear_ns > 0)
		json_object_object_add(r, "worker_clear_gbps", json_object_new_double(
			(double)arm->cleared * 4096.0 / (double)arm->clear_ns));
	lat_row(arm->name, size, state, &arm->a);
	json_object_object_add(r, "alloc", samples_json(&arm->a, o->raw));
	json_object_object_add(r, "free", samples_json(&arm->f, o->raw));
}

/* Every heap at @size in @state, taking turns allocation by allocation. */
static int steady_cases(struct opts *o, const char *state, unsigned long long size,
			const int *fds, struct json_object *results)
{
	int iters = case_iters(o, size), i, h, failed = 0;
	struct json_object *perf = NULL;
	struct arm arms[HL_MAX_HEAPS];
	struct perf_stat ps;

	memset(arms, 0, sizeof(arms));
	for (h = 0; h < o->nheaps; h++) {
		arms[h].name = o->heaps[h];
		arms[h].fd = fds[h];
		if (samples_init(&arms[h].a, iters) || samples_init(&arms[h].f, iters))
			return -ENOMEM;
	}
	fprintf(stderr, "pool: %s %lluK x %d, %d heaps in turn\n", state, size >> 10, iters,
		o->nheaps);
	case_begin(o, &ps);
	for (i = 0; i < o->warmup + iters && !failed; i++)
		for (h = 0; h < o->nheaps && !failed; h++)
			failed = steady_round(state, size, &arms[h], i >= o->warmup);
	for (h = 0; h < o->nheaps; h++) {
		struct json_object *r = case_new(o->heaps[h], size);

		json_object_object_add(r, "pool", json_object_new_string(state));
		case_end_shared(o, &ps, r, !h, &perf);
		steady_json(o, state, size, &arms[h], r);
		json_object_array_add(results, r);
		samples_free(&arms[h].a);
		samples_free(&arms[h].f);
	}
	return failed;
}

/*
 * From a full pool, allocations held back to back until twice its level
 * (64 at most): the level falls, hits turn to misses.
 */
static int burst_case(struct opts *o, const char *name, int heap, unsigned long long size,
		      struct json_object *r)
{
	long long level = hl_heap_stat("system", "pool_target_pages");
	long long hits0 = hl_heap_stat("system", "pool_hits");
	long long misses0 = hl_heap_stat("system", "pool_misses");
	unsigned long long want = level > 0 ? 2ULL * (unsigned long long)level * 4096 / size + 1 : 8;
	struct json_object *pts = json_object_new_array();
	int n = want > 64 ? 64 : (int)want, i, failed = 0;
	unsigned long long worker0 = worker_ns();
	struct samples a, f;
	int *fds;

	fds = calloc((size_t)n, sizeof(*fds));
	if (!fds || samples_init(&a, n) || samples_init(&f, n))
		return -ENOMEM;
	hl_pool_wait_full(30);
	for (i = 0; i < n; i++) {
		struct json_object *pt = json_object_new_object();
		struct hl_pool_stats s0, s1;
		uint64_t t0, t1;

		hl_pool_read(&s0);
		t0 = now_ns();
		fds[i] = hl_alloc_rw(heap, size);
		t1 = now_ns();
		if (fds[i] < 0) {
			fprintf(stderr, "heaplab-bench: pool: burst %s %lluK #%d: %s\n", name,
				size >> 10, i, strerror(errno));
			json_object_put(pt);
			failed = 1;
			break;
		}
		samples_add(&a, t1 - t0);
		add_num(pt, "ns", (long long)(t1 - t0));
		add_num(pt, "level_pages", s0.pages);
		if (s0.pages >= 0 && !hl_pool_read(&s1))
			add_num(pt, "hits", s1.hits - s0.hits);
		json_object_array_add(pts, pt);
	}
	for (i = 0; i < n && fds[i] >= 0; i++) {
		uint64_t t0 = now_ns();

		close(fds[i]);
		samples_add(&f, now_ns() - t0);
	}
	free(fds);
	hl_pool_wait_full(30);
	add_num(r, "worker_cpu_ns", (long long)(worker_ns() - worker0));
	add_pool_counters(r, hits0, misses0);
	lat_row(name, size, "burst", &a);
	json_object_object_add(r, "alloc", samples_json(&a, o->raw));
	json_object_object_add(r, "free", samples_json(&f, o->raw));
	json_object_object_add(r, "burst", pts);
	samples_free(&a);
	samples_free(&f);
	return failed;
}

static int run_pool(struct opts *o, struct json_object *results)
{
	long long cleared0 = hl_heap_stat("system", "pool_cleared_pages");
	long long ns0 = hl_heap_stat("system", "pool_clear_ns");
	int fds[HL_MAX_HEAPS], h, z, ret = 0;
	size_t s;

	saved_pool = hl_param_get("pool");
	saved_parallel = hl_param_get("parallel_clear_mb");
	saved_chunks = hl_param_get("clear_chunks");
	worker_pid = hl_heap_stat("system", "pool_worker_pid");
	if (saved_pool < 0 || saved_parallel < 0 || saved_chunks < 0 || cleared0 < 0) {
		fprintf(stderr, "heaplab-bench: pool: no heaplab pool here (heaplab_heap.ko and "
			"heaplab_system_heap.ko loaded, debugfs mounted?)\n");
		return 1;
	}
	for (h = 0; h < o->nheaps; h++) {
		fds[h] = open_heap(o->heaps[h]);
		if (fds[h] < 0)
			return 1;
	}
	lat_header();
	for (s = 0; s < sizeof(states) / sizeof(states[0]) && ret >= 0; s++) {
		bool burst = !strcmp(states[s], "burst");

		params_for(burst ? "warm" : states[s]);
		for (z = 0; z < o->nsizes && ret >= 0; z++) {
			if (!burst) {
				ret |= steady_cases(o, states[s], o->sizes[z], fds, results);
				continue;
			}
			for (h = 0; h < o->nheaps && ret >= 0; h++) {
				struct json_object *r = case_new(o->heaps[h], o->sizes[z]);
				struct perf_stat ps;

				json_object_object_add(r, "pool", json_object_new_string("burst"));
				fprintf(stderr, "pool: burst %s %lluK\n", o->heaps[h], o->sizes[z] >> 10);
				case_begin(o, &ps);
				ret |= burst_case(o, o->heaps[h], fds[h], o->sizes[z], r);
				case_end(o, &ps, r);
				json_object_array_add(results, r);
			}
		}
	}
	params_restore();
	for (h = 0; h < o->nheaps; h++)
		close(fds[h]);
	{
		long long pages = hl_heap_stat("system", "pool_cleared_pages") - cleared0;
		long long ns = hl_heap_stat("system", "pool_clear_ns") - ns0;

		printf("pool worker: %lld pages cleared in %.1f ms: %.3f GB/s\n", pages, ns / 1e6,
		       ns > 0 ? (double)pages * 4096.0 / (double)ns : 0.0);
	}
	return ret;
}

BENCH_HARNESS(pool) = {
	.name = "pool",
	.help = "the system heap's page pool: warm, cold, off, clearing choices, bursts, CPU time",
	.default_sizes = "4K,64K,1M,16M,64M",
	.iters = 30,
	.needs_heap = true,
	.cases = "heap size pool=warm,cold,off,serial,pages,burst",
	.run = run_pool,
};
