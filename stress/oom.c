// SPDX-License-Identifier: GPL-2.0
/*
 * oom: asking for more than memory fails with ENOMEM, and no process is
 * killed for it; then memory pressure from a co-runner must not break
 * correctness (the pattern stressor runs under it, verify on).
 *
 * Upstream's 6.1 system heap is not filled: its order-0 allocations lack
 * __GFP_RETRY_MAYFAIL, so exhausting memory through it calls the OOM
 * killer by design. It still runs the pressure half.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"

#define MiB (1ull << 20)

/* A bystander holding anonymous memory: it must outlive the test. */
static pid_t bystander(size_t len)
{
	pid_t pid = fork();

	if (!pid) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED)
			_exit(1);
		memset(p, 0x5a, len);
		for (;;)
			pause();
	}
	return pid;
}

/* Fills @pct % of available memory with 4K pages, then frees every other. */
static pid_t corunner(int pct)
{
	pid_t pid = fork();

	if (!pid) {
		struct sysinfo si;
		size_t len, off;
		char *p;

		sysinfo(&si);
		len = (size_t)si.freeram * si.mem_unit / 100 * pct & ~(size_t)8191;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(1);
		madvise(p, len, MADV_NOHUGEPAGE);
		for (;;) {
			memset(p, 1, len);
			for (off = 0; off < len; off += 8192)
				madvise(p + off, 4096, MADV_DONTNEED);
		}
	}
	return pid;
}

/* Upstream's system heap (by hl_heap_impl(), as o->heaplab says; not by path). */
static bool upstream_system(const struct opts *o, int h)
{
	return !o->heaplab[h] && strstr(o->heaps[h], "system");
}

/*
 * One heap: a single request over RAM, then fill until ENOMEM and free all.
 * With heaplab's page pool: what its shrinker gave back while memory
 * filled (the pool must not hold memory the system needs).
 */
static int exhaust(const struct opts *o, int h, uint64_t ram, struct json_object *r)
{
	int heap = open(o->heaps[h], O_RDWR | O_CLOEXEC), err = 0, n = 0, i, fd, failed = 0;
	long long shrunk;
	uint64_t chunk = strstr(o->heaps[h], "system") ? 16 * MiB : 4 * MiB, got = 0;
	static int fds[4096];
	double end = hl_now_s() + o->duration;	/* zeroing 2 GiB takes a while under KASAN */

	if (heap < 0) {
		fail("oom: %s: %s", o->heaps[h], strerror(errno));
		return 1;
	}
	fd = hl_alloc_rw(heap, 2 * ram);
	err = errno;
	json_object_object_add(r, "over_ram_errno", json_object_new_string(fd < 0 ? hl_errname(err) : "none"));
	if (fd >= 0 || err != ENOMEM) {
		fail("oom: %s: a request for twice RAM gave %s, not ENOMEM", o->heaps[h],
		     fd >= 0 ? "a buffer" : hl_errname(err));
		failed = 1;
		if (fd >= 0)
			close(fd);
	}
	/* fill: the last request must be the one that fails, with ENOMEM */
	err = 0;
	shrunk = heap_stat(o, h, "pool_shrunk_pages");
	while (n < 4096 && got < 2 * ram && hl_now_s() < end) {
		fd = hl_alloc_rw(heap, chunk);
		err = errno;
		if (fd < 0)
			break;
		fds[n++] = fd;
		got += chunk;
		if (!(n % 16))
			fprintf(stderr, "oom: %s: holding %llu MiB\n", o->heaps[h],
				(unsigned long long)(got / MiB));
	}
	fprintf(stderr, "oom: %s: held %llu MiB in %d buffers, then %s\n", o->heaps[h],
		(unsigned long long)(got / MiB), n, err ? hl_errname(err) : "stopped (time)");
	json_object_object_add(r, "filled_bytes", json_object_new_int64((int64_t)got));
	if (shrunk >= 0) {
		json_object_object_add(r, "pool_shrunk_pages", json_object_new_int64(
			heap_stat(o, h, "pool_shrunk_pages") - shrunk));
		json_object_object_add(r, "pool_pages_at_fill_end", json_object_new_int64(
			heap_stat(o, h, "pool_pages")));
	}
	json_object_object_add(r, "fill_errno", json_object_new_string(err ? hl_errname(err) : "none"));
	if (err != ENOMEM) {
		fail("oom: %s: filling memory ended with %s, not ENOMEM", o->heaps[h],
		     err ? hl_errname(err) : "no failure (ran out of time)");
		failed = 1;
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	close(heap);
	return failed;
}

/*
 * heaplab's page pool under memory pressure from elsewhere: anonymous
 * memory filled to MemAvailable plus 3/4 of the pool (MemAvailable does
 * not count it: only its shrinker can give it back; there is no swap).
 * The shrinker must have given pages back, and nobody is OOM-killed (the
 * run's end checks the kill count).
 */
static int pool_gives_back(const struct opts *o, int h, struct json_object *r)
{
	long long pool, shrunk, avail_kb;
	size_t len, off;
	pid_t pid;
	int st;

	if (heap_stat(o, h, "pool_pages") < 0)
		return 0;
	hl_pool_wait_full(30);
	pool = heap_stat(o, h, "pool_pages");
	shrunk = heap_stat(o, h, "pool_shrunk_pages");
	avail_kb = hl_meminfo_kb("MemAvailable");
	len = (size_t)(avail_kb + pool * 4 * 3 / 4) * 1024;
	pid = fork();
	if (!pid) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED)
			_exit(2);
		for (off = 0; off < len; off += 4096)
			p[off] = 1;
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		st = -1;
	shrunk = heap_stat(o, h, "pool_shrunk_pages") - shrunk;
	fprintf(stderr, "oom: %s: anonymous fill of %zu MiB with a pool of %lld pages: "
		"its shrinker gave back %lld\n", o->heaps[h], len >> 20, pool, shrunk);
	json_object_object_add(r, "anon_fill_bytes", json_object_new_int64((int64_t)len));
	json_object_object_add(r, "pool_pages_before_anon_fill", json_object_new_int64(pool));
	json_object_object_add(r, "pool_shrunk_by_anon_fill", json_object_new_int64(shrunk));
	if (st) {
		fail("oom: %s: the anonymous fill to MemAvailable + 3/4 of the pool did not "
		     "finish (status %#x): the pool kept memory the system needed", o->heaps[h], st);
		return 1;
	}
	if (shrunk <= 0) {
		fail("oom: %s: memory filled past MemAvailable and the pool's shrinker gave "
		     "nothing back (%lld pages pooled)", o->heaps[h], pool);
		return 1;
	}
	return 0;
}

int run_oom(struct opts *o, struct json_object *root)
{
	struct json_object *heaps = json_object_new_array(), *press = json_object_new_array();
	struct worker w = { 0 };
	struct sysinfo si;
	uint64_t ram;
	int h, failed = 0, st, pi;
	size_t i;
	pid_t by, co;
	double end;

	sysinfo(&si);
	ram = (uint64_t)si.totalram * si.mem_unit;
	by = bystander(32 * MiB);
	if (by < 0)
		return 1;
	for (h = 0; h < o->nheaps; h++) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "heap", json_object_new_string(o->heaps[h]));
		if (upstream_system(o, h))
			json_object_object_add(r, "skipped", json_object_new_string(
				"upstream 6.1 system heap: order-0 allocations may call the OOM killer"));
		else
			failed |= exhaust(o, h, ram, r) | pool_gives_back(o, h, r);
		json_object_array_add(heaps, r);
	}
	json_object_object_add(root, "oom", heaps);

	/* pressure: the pattern stressor, verify on, beside a fragmenting co-runner */
	for (i = 0; i < nstressors && strcmp(stressors[i].name, "pattern"); i++)
		;
	cur_stressor = (int)i;
	w.o = o;
	w.s = &stressors[i];
	w.opt[0] = 4096;
	w.opt[1] = 1;
	w.rng = o->seed;
	for (h = 0; h < o->nheaps; h++) {
		w.heap_fd[h] = open(o->heaps[h], O_RDWR | O_CLOEXEC);
		if (w.heap_fd[h] < 0) {
			fail("oom: %s: %s", o->heaps[h], strerror(errno));
			return 1;
		}
	}
	co = corunner(50);
	end = hl_now_s() + o->duration / 2;
	while (hl_now_s() < end)
		w.s->op(&w, rnd(&w.rng) % o->nheaps);
	kill(co, SIGKILL);
	waitpid(co, &st, 0);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
		fail("oom: the co-runner died before the end (status %#x)", st);
		failed = 1;
	}
	for (h = 0; h < o->nheaps; h++) {
		struct json_object *r = counters_json(&shm->c[cur_stressor][h]);

		json_object_object_add(r, "heap", json_object_new_string(o->heaps[h]));
		json_object_array_add(press, r);
		failed |= shm->c[cur_stressor][h].verify_failures ||
			  shm->c[cur_stressor][h].unexpected;
		if (!shm->c[cur_stressor][h].ops) {
			fail("oom: %s: no op completed under pressure", o->heaps[h]);
			failed = 1;
		}
		close(w.heap_fd[h]);
	}
	json_object_object_add(root, "pressure", press);

	pi = waitpid(by, &st, WNOHANG);
	if (pi == by) {
		fail("oom: the bystander process died (status %#x)", st);
		failed = 1;
	} else {
		kill(by, SIGKILL);
		waitpid(by, &st, 0);
	}
	return failed;
}
