// SPDX-License-Identifier: GPL-2.0
/*
 * What only heaplab's heaps have: per-heap counters, tracepoints, and
 * unloading. Modules can be unloaded, but never while any of their device
 * files, buffers or mappings is alive; once everything is released,
 * unloading frees the device nodes, and load/unload cycles leak nothing
 * (kmemleak checks that after the suite).
 *
 * Expects heaplab_heap (devdir=heaplab) and the two heap modules loaded,
 * and leaves them loaded. HEAPLAB_KMOD_DIR names the directory of the .ko.
 */
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/dma-buf.h>

#include "kselftest_harness.h"
#include "guest.h"

#define SLOW 900
#define SYS_DEV "/dev/heaplab/system"
/* The CMA heap's names: the area's (the default) and Linux 6.17's. */
#define CMA_LEGACY "/dev/heaplab/reserved"
#define CMA_MAINLINE "/dev/heaplab/default_cma_region"

static const char *const mods[] = {
	"heaplab_heap", "heaplab_system_heap", "heaplab_cma_heap",
};

static int load_with(const char *name, const char *params)
{
	const char *dir = getenv("HEAPLAB_KMOD_DIR");
	char path[512];
	int fd, ret;

	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.ko", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, params, 0);
	close(fd);
	return ret;
}

static int load(const char *name)
{
	return load_with(name, strcmp(name, "heaplab_heap") ? "" : "devdir=heaplab");
}

static int unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * Run the rest of the case only in layout @want ("" for the main boot; see
 * tests/layouts.test for the others). A case of another boot is a SKIP
 * whose reason starts with NOT_HERE: run_tap (lib.sh) leaves it out of the
 * count, as a case that did not run.
 */
#define LAYOUT(want) do {						\
	const char *_l = getenv("HEAPLAB_LAYOUT");			\
	if (strcmp(_l ? _l : "", want)) {				\
		SKIP(return, NOT_HERE "%s runs in the %s boot",	\
		     _metadata->name, *want ? want : "main");	\
	}								\
} while (0)

/* The system heap's pool: helpers in lib/pool.c. */
#define POOL_PARAM "/sys/module/heaplab_heap/parameters/pool"

/*
 * The offset of the first byte of a new buffer of @len that is not zero,
 * or -1; then the buffer is filled with @fill and freed.
 */
static long check_and_fill(int heap, size_t len, int fill, int *err)
{
	unsigned char *p;
	long bad;
	int buf;

	*err = 0;
	buf = hl_alloc(heap, len, O_RDWR, 0);
	if (buf < 0) {
		*err = errno;
		return 0;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	if (p == MAP_FAILED) {
		*err = errno;
		close(buf);
		return 0;
	}
	bad = hl_first_not(p, len, 0);
	memset(p, fill, len);
	munmap(p, len);
	close(buf);
	return bad;
}

/* The harness has timeouts for fixture tests only; this one holds nothing. */
FIXTURE(heaplab) {
	int unused;
};

FIXTURE_SETUP(heaplab)
{
	self->unused = 0;
}

FIXTURE_TEARDOWN(heaplab)
{
	/*
	 * cma_names loads the CMA heap with other names; should it fail
	 * half-way, the next cases and programs still get the default.
	 */
	if (exists("/sys/module/heaplab_heap") &&
	    (exists(CMA_MAINLINE) || !exists(CMA_LEGACY))) {
		unload("heaplab_cma_heap");
		load("heaplab_cma_heap");
	}
}

TEST_F_TIMEOUT(heaplab, counters, SLOW)
{
	long long allocs, fails, out, peak;
	size_t len = 3 * sysconf(_SC_PAGESIZE);
	struct dma_heap_allocation_data bad = { .len = 0 };
	int heap, buf;

	LAYOUT("");

	heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap);
	allocs = hl_heap_stat("system", "allocations");
	fails = hl_heap_stat("system", "failures");
	out = hl_heap_stat("system", "bytes_outstanding");
	ASSERT_LE(0, allocs);
	ASSERT_LE(0, out);

	buf = hl_alloc(heap, len, O_RDWR, 0);
	ASSERT_LE(0, buf);
	EXPECT_EQ(allocs + 1, hl_heap_stat("system", "allocations"));
	EXPECT_EQ(out + (long long)len, hl_heap_stat("system", "bytes_outstanding"));
	peak = hl_heap_stat("system", "bytes_peak");
	EXPECT_LE(out + (long long)len, peak);
	close(buf);
	EXPECT_EQ(out, hl_heap_stat("system", "bytes_outstanding"));
	EXPECT_EQ(peak, hl_heap_stat("system", "bytes_peak"));

	/* an invalid request is rejected before the heap: not a failure */
	EXPECT_EQ(-1, ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &bad));
	EXPECT_EQ(fails, hl_heap_stat("system", "failures"));
	/* a heap failure is counted */
	EXPECT_EQ(-1, hl_alloc(heap, 1ULL << 40, O_RDWR, 0));
	EXPECT_EQ(fails + 1, hl_heap_stat("system", "failures"));
	close(heap);
}

TEST_F_TIMEOUT(heaplab, tracepoints, SLOW)
{
	static const char *const events[] = {
		"heaplab_alloc_start", "heaplab_alloc_end", "heaplab_zero",
		"heaplab_mmap", "heaplab_fault", "heaplab_begin_cpu_access",
		"heaplab_end_cpu_access", "heaplab_buffer_release", "heaplab_pool",
	};
	const char *tr = "/sys/kernel/tracing";
	long psz = sysconf(_SC_PAGESIZE);
	char path[256], *trace;
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	size_t i, got = 0;
	int heap, buf, fd;
	char *p;

	LAYOUT("");

	snprintf(path, sizeof(path), "%s/events/heaplab/enable", tr);
	ASSERT_EQ(0, hl_write_str(path, "1")) TH_LOG("%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/trace", tr);
	ASSERT_EQ(0, hl_write_str(path, ""));
	/* The pool off, so that the allocation clears (heaplab_zero)... */
	ASSERT_EQ(0, hl_pool_set(false));
	EXPECT_EQ(0, hl_wait_stat("system", "pool_pages", 0, 0, 30));

	heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap);
	buf = hl_alloc(heap, 5 * psz, O_RDWR, 0);
	ASSERT_LE(0, buf);
	p = mmap(NULL, 5 * psz, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync));
	/* mmap() mapped every page: zap one so that the touch faults */
	EXPECT_EQ(0, madvise(p, psz, MADV_DONTNEED));
	p[0] = 1;
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	EXPECT_EQ(0, ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync));
	munmap(p, 5 * psz);
	close(buf);
	close(heap);
	/* ...and on again: its worker refills it (heaplab_pool). */
	ASSERT_EQ(0, hl_pool_set(true));
	EXPECT_LT(0, hl_wait_stat("system", "pool_refills", hl_heap_stat("system", "pool_refills") + 1,
			       1LL << 62, 30));

	snprintf(path, sizeof(path), "%s/events/heaplab/enable", tr);
	EXPECT_EQ(0, hl_write_str(path, "0"));
	snprintf(path, sizeof(path), "%s/trace", tr);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	trace = calloc(1, 1 << 20);
	ASSERT_NE(NULL, trace);
	while (got < (1 << 20) - 1) {
		ssize_t n = read(fd, trace + got, (1 << 20) - 1 - got);

		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		const char *ev = events[i];

		EXPECT_NE(NULL, strstr(trace, ev)) TH_LOG("no %s event", ev);
	}
	EXPECT_NE(NULL, strstr(trace, "heap=system len=20480 ret=0"));
	EXPECT_NE(NULL, strstr(trace, "heap=system pages=5"));
	EXPECT_NE(NULL, strstr(trace, "heap=system what=refill"));
	free(trace);
}

TEST_F_TIMEOUT(heaplab, unload_refused_while_in_use, SLOW)
{
	long psz = sysconf(_SC_PAGESIZE);
	int heap, buf;
	void *map;

	LAYOUT("");

	ASSERT_NE(NULL, getenv("HEAPLAB_KMOD_DIR"));
	heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap) TH_LOG("%s: %s", SYS_DEV, strerror(errno));

	/* an open device file pins the heap module */
	EXPECT_EQ(-1, unload("heaplab_system_heap"));
	EXPECT_EQ(EWOULDBLOCK, errno);
	/* the framework is pinned by its heap modules */
	EXPECT_EQ(-1, unload("heaplab_heap"));

	buf = hl_alloc(heap, 4 * psz, O_RDWR, 0);
	ASSERT_LE(0, buf);
	map = mmap(NULL, 4 * psz, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, map);
	close(heap);
	/* a live buffer pins it */
	EXPECT_EQ(-1, unload("heaplab_system_heap"));
	EXPECT_EQ(EWOULDBLOCK, errno);
	close(buf);
	/* so does a mapping whose fd is closed */
	EXPECT_EQ(-1, unload("heaplab_system_heap"));
	EXPECT_EQ(EWOULDBLOCK, errno);
	munmap(map, 4 * psz);

	/* with everything released, unload succeeds and the node goes */
	EXPECT_EQ(0, unload("heaplab_system_heap")) TH_LOG("%s", strerror(errno));
	EXPECT_FALSE(exists(SYS_DEV));
	ASSERT_EQ(0, load("heaplab_system_heap")) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(exists(SYS_DEV));
}

/*
 * HEAPLAB_LOAD_CYCLES cycles (default 100; make check runs 25, each module
 * load parsing the module's BTF under KASAN costs most of a second).
 */
TEST_F_TIMEOUT(heaplab, load_unload_cycles, SLOW)
{
	const char *env = getenv("HEAPLAB_LOAD_CYCLES");
	long psz = sysconf(_SC_PAGESIZE);
	int cycle, i, cycles = env ? atoi(env) : 100;

	LAYOUT("");

	ASSERT_LT(0, cycles) TH_LOG("HEAPLAB_LOAD_CYCLES=%s: want a positive count", env);
	TH_LOG("%d load/unload cycles", cycles);
	for (cycle = 0; cycle < cycles; cycle++) {
		int heap, buf;

		for (i = 0; i < 3; i++) {
			const char *m = mods[2 - i];	/* heaps before framework */

			ASSERT_EQ(0, unload(m))
				TH_LOG("cycle %d: unload %s: %s", cycle, m, strerror(errno));
		}
		ASSERT_FALSE(exists(SYS_DEV));
		ASSERT_FALSE(exists("/dev/heaplab"));
		for (i = 0; i < 3; i++)
			ASSERT_EQ(0, load(mods[i]))
				TH_LOG("cycle %d: load %s: %s", cycle, mods[i], strerror(errno));
		/* each cycle really uses the heap it loaded */
		heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, heap);
		buf = hl_alloc(heap, 2 * psz, O_RDWR, 0);
		ASSERT_LE(0, buf);
		close(buf);
		close(heap);
	}
}

/* Unload heaps before the framework: NULL, or the module that stayed. */
static const char *unload_all(void)
{
	int i;

	for (i = 2; i >= 0; i--)
		if (unload(mods[i]))
			return mods[i];
	return NULL;
}

/*
 * The test kernel has its own heaps in /dev/dma_heap: the default devdir
 * is refused, with a message that names the way out.
 */
TEST_F_TIMEOUT(heaplab, default_devdir_refused, SLOW)
{
	const char *busy;
	char line[512];
	bool named = false;
	FILE *log;
	int i;

	LAYOUT("");

	busy = unload_all();
	ASSERT_EQ(NULL, busy) TH_LOG("unload %s: %s", busy, strerror(errno));
	EXPECT_EQ(-1, load_with("heaplab_heap", ""));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_FALSE(exists("/sys/module/heaplab_heap"));
	log = popen("dmesg | tail -n 20", "r");
	ASSERT_NE(NULL, log);
	while (fgets(line, sizeof(line), log))
		if (strstr(line, "heaplab_heap: this kernel has its own DMA-BUF heaps") &&
		    strstr(line, "devdir="))
			named = true;
	pclose(log);
	EXPECT_TRUE(named) TH_LOG("no message naming devdir= in the kernel log");
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, load(mods[i])) TH_LOG("%s: %s", mods[i], strerror(errno));
}

static bool module_coming(const char *name)
{
	char path[128], st[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, "%15s", st) != 1)
		st[0] = '\0';
	fclose(f);
	return !strcmp(st, "coming");
}

/*
 * The heap's node exists before heaplab_heap_add() returns to the heap
 * module: allocations can arrive in that window, and must be served. The
 * test hook test_add_delay_ms holds the window open while a child opens and
 * allocates in a loop: 50 ms at first, twice as long after each load the
 * child missed (up to 3.2 s), as one open and allocation can take longer
 * than 50 ms on a slow, busy machine; at least 5 loads, at most 12.
 */
TEST_F_TIMEOUT(heaplab, alloc_while_loading, SLOW)
{
	const char *knob = "/sys/module/heaplab_heap/parameters/test_add_delay_ms";
	/* [0] pause request, [1] child paused, [2] allocations in the window */
	volatile long long *sh;
	int cycle, status, delay_ms = 50;
	char delay[16];
	pid_t pid;

	LAYOUT("");

	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	sh[0] = 1;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlives a failed test */
		for (;;) {
			int heap, buf;

			sh[1] = sh[0];
			if (sh[0])
				continue;	/* holds no fd while paused */
			heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
			if (heap < 0)
				continue;
			buf = hl_alloc(heap, 4096, O_RDWR, 0);
			if (buf >= 0) {
				close(buf);
				/* served while the module was still loading */
				if (module_coming("heaplab_system_heap"))
					sh[2]++;
			}
			close(heap);
		}
	}
	for (cycle = 0; cycle < 5 || (!sh[2] && cycle < 12); cycle++) {
		long long before = sh[2];

		sh[0] = 1;
		while (!sh[1])
			usleep(1000);
		ASSERT_EQ(0, unload("heaplab_system_heap"))
			TH_LOG("cycle %d: %s", cycle, strerror(errno));
		snprintf(delay, sizeof(delay), "%d", delay_ms);
		ASSERT_EQ(0, hl_write_str(knob, delay)) TH_LOG("%s: %s", knob, strerror(errno));
		sh[0] = 0;
		while (sh[1])
			usleep(100);
		ASSERT_EQ(0, load("heaplab_system_heap")) TH_LOG("cycle %d: %s", cycle, strerror(errno));
		if (sh[2] == before && delay_ms < 3200)
			delay_ms *= 2;
	}
	sh[0] = 1;
	while (!sh[1])
		usleep(1000);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	hl_write_str(knob, "0");
	TH_LOG("%lld allocations served while the heap module was still loading (%d loads, window up to %d ms)",
	       sh[2], cycle, delay_ms);
	EXPECT_LT(0, sh[2]) TH_LOG("the load window was never hit: the test proves nothing");
	munmap((void *)sh, 4096);
}

/*
 * heaplab_bench's clear_pages run, killed while it takes pages, must give
 * every page back (it once kept the one it had just taken).
 */
TEST_F_TIMEOUT(heaplab, bench_module_killed, SLOW)
{
	const char *dir = "/sys/kernel/debug/heaplab_bench";
	char path[128];
	int i, t, status;

	LAYOUT("");

	snprintf(path, sizeof(path), "%s/held_pages", dir);
	if (!exists(path)) {
		const char *kdir = getenv("HEAPLAB_KMOD_DIR");
		char ko[512];
		int fd;

		ASSERT_NE(NULL, kdir);
		snprintf(ko, sizeof(ko), "%s/bench/heaplab_bench.ko", kdir);
		fd = open(ko, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, fd) TH_LOG("%s: %s", ko, strerror(errno));
		ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", 0)) TH_LOG("%s", strerror(errno));
		close(fd);
	}
	for (i = 0; i < 12 && hl_read_num("/sys/kernel/debug/heaplab_bench/interrupted") < 3; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			char p2[128];

			snprintf(p2, sizeof(p2), "%s/clear_pages", dir);
			_exit(hl_write_str(p2, "16384") ? 1 : 0);
		}
		/*
		 * Kill once the child is taking pages, not after a fixed
		 * time: on a starved host the child may not have run yet.
		 */
		pid_t done = 0;

		for (t = 0; t < 5000 && hl_read_num(path) <= 0 && !done; t++) {
			done = waitpid(pid, &status, WNOHANG);
			usleep(1000);
		}
		if (!done) {
			usleep(1000 * i);
			kill(pid, SIGKILL);
			ASSERT_EQ(pid, waitpid(pid, &status, 0));
		}
		EXPECT_EQ(0, hl_read_num(path)) TH_LOG("kill %d: pages still held", i);
	}
	TH_LOG("%lld runs interrupted while taking pages",
	       hl_read_num("/sys/kernel/debug/heaplab_bench/interrupted"));
	EXPECT_LT(0, hl_read_num("/sys/kernel/debug/heaplab_bench/interrupted"))
		TH_LOG("no kill landed while pages were taken: nothing proven");
}

/*
 * pages_cleared counts the pages a heap cleared itself. The default
 * command line: every page of a buffer. With init_on_alloc=1 or
 * init_on_free=1 the kernel cleared them already, so none (the layouts
 * boot runs this with both); the buffers are zero either way. The system
 * heap's pool is off for this: its worker clears in the background (the
 * pool_* cases test that).
 */
TEST_F_TIMEOUT(heaplab, clears_once, SLOW)
{
	static const char *const heaps[] = { "system", "reserved" };
	bool kernel_clears = false;
	char cmdline[2048] = "";
	FILE *f = fopen("/proc/cmdline", "r");
	long psz = sysconf(_SC_PAGESIZE);
	int i;

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(cmdline, sizeof(cmdline), f));
	fclose(f);
	kernel_clears = strstr(cmdline, "init_on_alloc=1") || strstr(cmdline, "init_on_free=1");
	ASSERT_EQ(0, hl_pool_set(false)) TH_LOG("%s: %s", POOL_PARAM, strerror(errno));
	for (i = 0; i < 2; i++) {
		char dev[64];
		long long before = hl_heap_stat(heaps[i], "pages_cleared"), after;
		unsigned char *p;
		int heap, buf, round;
		size_t j, len = 64 * psz;

		snprintf(dev, sizeof(dev), "/dev/heaplab/%s", heaps[i]);
		heap = open(dev, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, heap) TH_LOG("%s: %s", dev, strerror(errno));
		ASSERT_LE(0, before);
		for (round = 0; round < 4; round++) {
			buf = hl_alloc(heap, len, O_RDWR, 0);
			ASSERT_LE(0, buf);
			p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
			ASSERT_NE(MAP_FAILED, p);
			for (j = 0; j < len; j++)
				ASSERT_EQ(0, p[j]) TH_LOG("%s round %d: byte %zu", dev, round, j);
			memset(p, 0xc3, len);
			munmap(p, len);
			close(buf);
		}
		close(heap);
		after = hl_heap_stat(heaps[i], "pages_cleared");
		TH_LOG("%s: %lld pages cleared by the heap for 4 x 64 pages (%s)", heaps[i],
		       after - before, kernel_clears ? "the kernel clears" : "default");
		EXPECT_EQ(kernel_clears ? 0 : 4 * 64, after - before);
	}
	EXPECT_EQ(0, hl_pool_set(true));
}

/*
 * The system heap's admission check in the state it exists for: unmovable
 * memory so short that MemAvailable is below the free CMA pages. The
 * check once compared unsigned with a negative long there and admitted
 * everything. heaplab_smoke's "unmovable" knob takes unmovable pages until
 * that state; a page from the system heap must then be refused with
 * ENOMEM, and nobody OOM-killed. Needs a large CMA area, so the layouts
 * boot runs it (--mem 1536M --cma 768M), the others say so and pass.
 */
TEST_F_TIMEOUT(heaplab, admission_when_unmovable_short, SLOW)
{
	const char *knob = "/sys/kernel/debug/heaplab_smoke/unmovable";
	long long ooms = hl_oom_kills(), held = -1, margin = 0;
	char buf[96] = "";
	int heap, buf_fd, err, fd;

	LAYOUT("short");
	heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap) TH_LOG("%s: %s", SYS_DEV, strerror(errno));
	ASSERT_EQ(0, hl_write_str(knob, "short")) TH_LOG("%s: %s (is heaplab_smoke loaded?)",
						knob, strerror(errno));
	fd = open(knob, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	ASSERT_EQ(2, sscanf(buf, "held %lld margin %lld", &held, &margin));
	TH_LOG("%lld unmovable pages taken: MemAvailable - CmaFree = %lld pages", held, margin);
	EXPECT_GT(0, margin);

	buf_fd = hl_alloc(heap, 4096, O_RDWR, 0);
	err = errno;
	if (buf_fd >= 0)
		close(buf_fd);
	ASSERT_EQ(0, hl_write_str(knob, "release"));
	EXPECT_EQ(-1, buf_fd) TH_LOG("a page was admitted with MemAvailable below CmaFree");
	EXPECT_EQ(ENOMEM, err);
	EXPECT_EQ(ooms, hl_oom_kills());
	/* and once memory is back, the heap serves again */
	buf_fd = hl_alloc(heap, 4096, O_RDWR, 0);
	EXPECT_LE(0, buf_fd) TH_LOG("%s", strerror(errno));
	if (buf_fd >= 0)
		close(buf_fd);
	close(heap);
}

/*
 * Never an old byte: buffers served from the pool, and buffers made of
 * chunks that other buffers freed (recycled by the worker), are zero, in
 * every size class. Run in every boot: in the big one init_on_alloc=1, so
 * the page allocator clears, but recycled chunks never went back to it and
 * the worker must clear them anyway.
 */
TEST_F_TIMEOUT(heaplab, pool_serves_cleared_pages, SLOW)
{
	const size_t sizes[] = { 4096, 65536, 1 << 20, (3 << 20) + 4096 };
	long long hits, recycled;
	int heap, round, err;
	size_t i;
	long bad;

	ASSERT_EQ(0, hl_pool_set(true));
	ASSERT_TRUE(hl_pool_wait_full(60)) TH_LOG("the pool did not fill in 60 s: %lld of %lld pages",
					      hl_heap_stat("system", "pool_pages"),
					      hl_heap_stat("system", "pool_target_pages"));
	heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap);
	hits = hl_heap_stat("system", "pool_hits");
	recycled = hl_heap_stat("system", "pool_recycled");
	for (round = 0; round < 6; round++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			bad = check_and_fill(heap, sizes[i], 0xa5 + round, &err);
			ASSERT_EQ(0, err) TH_LOG("%zu B: %s", sizes[i], strerror(err));
			ASSERT_EQ(-1, bad) TH_LOG("round %d, %zu B: old byte at %ld",
						  round, sizes[i], bad);
		}
		/* Half the rounds wait for the worker: those take recycled chunks. */
		if (round % 2)
			hl_wait_stat("system", "pool_freed_pages", 0, 0, 30);
	}
	close(heap);
	EXPECT_LT(hits, hl_heap_stat("system", "pool_hits"));
	EXPECT_LT(recycled, hl_heap_stat("system", "pool_recycled"))
		TH_LOG("no freed chunk was recycled: the second path is untested");
	TH_LOG("pool: %lld hits, %lld recycled", hl_heap_stat("system", "pool_hits") - hits,
	       hl_heap_stat("system", "pool_recycled") - recycled);
}

/*
 * The shrinker gives the pool back: drop_caches runs every shrinker. The
 * worker then holds off refilling for a second, and fills again.
 */
TEST_F_TIMEOUT(heaplab, pool_shrinker_gives_back, SLOW)
{
	long long level, shrunk, after;

	ASSERT_EQ(0, hl_pool_set(true));
	ASSERT_TRUE(hl_pool_wait_full(60));
	level = hl_heap_stat("system", "pool_pages");
	shrunk = hl_heap_stat("system", "pool_shrunk_pages");
	ASSERT_EQ(0, hl_write_str("/proc/sys/vm/drop_caches", "2"));
	after = hl_heap_stat("system", "pool_pages");
	TH_LOG("pool %lld pages, after drop_caches %lld, shrunk %lld", level, after,
	       hl_heap_stat("system", "pool_shrunk_pages") - shrunk);
	EXPECT_GE(hl_heap_stat("system", "pool_shrunk_pages") - shrunk, level - after);
	EXPECT_LT(after, level / 4) TH_LOG("the shrinker left most of the pool");
	EXPECT_TRUE(hl_pool_wait_full(60)) TH_LOG("the pool did not refill after the shrink");
}

/*
 * pool=N: the worker gives back all it holds, allocations clear on their
 * own thread and take nothing from the pool; Y fills it again.
 */
TEST_F_TIMEOUT(heaplab, pool_off_and_on, SLOW)
{
	long long hits, misses, cleared;
	int heap, err;
	long bad;

	ASSERT_EQ(0, hl_pool_set(false));
	EXPECT_EQ(0, hl_wait_stat("system", "pool_pages", 0, 0, 30));
	EXPECT_EQ(0, hl_heap_stat("system", "pool"));
	heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap);
	hits = hl_heap_stat("system", "pool_hits");
	misses = hl_heap_stat("system", "pool_misses");
	cleared = hl_heap_stat("system", "pages_cleared");
	bad = check_and_fill(heap, 1 << 20, 0x3c, &err);
	ASSERT_EQ(0, err);
	EXPECT_EQ(-1, bad);
	EXPECT_EQ(hits, hl_heap_stat("system", "pool_hits"));
	EXPECT_EQ(misses, hl_heap_stat("system", "pool_misses"));
	/* Freed at once, not kept: the pool stays empty. */
	EXPECT_EQ(0, hl_heap_stat("system", "pool_pages"));
	TH_LOG("pool off: 256 pages, %lld cleared on the allocating thread",
	       hl_heap_stat("system", "pages_cleared") - cleared);
	close(heap);
	ASSERT_EQ(0, hl_pool_set(true));
	EXPECT_TRUE(hl_pool_wait_full(60));
}

/* Allocate 16 pages through @dev; check @name's pages_held and @other's. */
static void cma_alloc_through(struct __test_metadata *_metadata, const char *dev,
			      const char *name, const char *other)
{
	long psz = sysconf(_SC_PAGESIZE);
	long long held, held_other = other ? hl_heap_stat(other, "pages_held") : 0;
	int heap, buf;

	heap = open(dev, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap) TH_LOG("%s: %s", dev, strerror(errno));
	held = hl_heap_stat(name, "pages_held");
	ASSERT_LE(0, held) TH_LOG("no stats for %s", name);
	buf = hl_alloc(heap, 16 * psz, O_RDWR, 0);
	ASSERT_LE(0, buf) TH_LOG("%s: %s", dev, strerror(errno));
	EXPECT_EQ(held + 16, hl_heap_stat(name, "pages_held"));
	if (other)
		EXPECT_EQ(held_other, hl_heap_stat(other, "pages_held"))
			TH_LOG("a buffer of %s counted on %s", name, other);
	close(buf);
	EXPECT_EQ(held, hl_heap_stat(name, "pages_held"));
	close(heap);
}

/*
 * The CMA heap's names: the area's ("reserved" here), as before Linux
 * 6.17, by default; mainline_name=1 adds "default_cma_region", 6.17's,
 * as a second node over the same area. Each node serves allocations and
 * counts its own buffers; unloading takes both nodes away. Asking for no
 * name is refused with EINVAL. Ends with the CMA heap loaded as it was.
 */
TEST_F_TIMEOUT(heaplab, cma_names, SLOW)
{
	LAYOUT("");

	ASSERT_TRUE(exists(CMA_LEGACY)) TH_LOG("the CMA heap is not loaded");
	EXPECT_FALSE(exists(CMA_MAINLINE)) TH_LOG("the default adds only the area's name");

	ASSERT_EQ(0, unload("heaplab_cma_heap")) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, load_with("heaplab_cma_heap", "mainline_name=1"))
		TH_LOG("mainline_name=1: %s", strerror(errno));
	EXPECT_TRUE(exists(CMA_LEGACY));
	EXPECT_TRUE(exists(CMA_MAINLINE));
	cma_alloc_through(_metadata, CMA_MAINLINE, "default_cma_region", "reserved");
	cma_alloc_through(_metadata, CMA_LEGACY, "reserved", "default_cma_region");
	ASSERT_EQ(0, unload("heaplab_cma_heap")) TH_LOG("%s", strerror(errno));
	EXPECT_FALSE(exists(CMA_LEGACY));
	EXPECT_FALSE(exists(CMA_MAINLINE));

	ASSERT_EQ(0, load_with("heaplab_cma_heap", "mainline_name=1 legacy_name=0"))
		TH_LOG("legacy_name=0: %s", strerror(errno));
	EXPECT_FALSE(exists(CMA_LEGACY));
	EXPECT_TRUE(exists(CMA_MAINLINE));
	cma_alloc_through(_metadata, CMA_MAINLINE, "default_cma_region", NULL);
	ASSERT_EQ(0, unload("heaplab_cma_heap")) TH_LOG("%s", strerror(errno));

	EXPECT_EQ(-1, load_with("heaplab_cma_heap", "legacy_name=0"));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_FALSE(exists("/sys/module/heaplab_cma_heap"));

	ASSERT_EQ(0, load("heaplab_cma_heap")) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(exists(CMA_LEGACY));
	EXPECT_FALSE(exists(CMA_MAINLINE));
}

/* Free memory as the page allocator holds it, the per-CPU lists counted (KiB). */
static long long free_kb_with_pcp(void)
{
	long long free_kb = hl_meminfo_kb("MemFree"), pcp_kb = hl_pcp_kb();

	return free_kb < 0 || pcp_kb < 0 ? -1 : free_kb + pcp_kb;
}

/*
 * Unloading the heap gives every pooled page back to the page allocator.
 * pgfree (/proc/vmstat) counts every page freed and only rises, so nothing
 * else the guest does can hide a pooled page kept back: it must rise by
 * the pool at least. Free pages must rise too, by half the pool at least:
 * the guest's own allocations meanwhile take some.
 */
TEST_F_TIMEOUT(heaplab, pool_pages_return_on_unload, SLOW)
{
	long long pool, freed, free_before, free_after, pgfree;
	long psz_kb = sysconf(_SC_PAGESIZE) / 1024;

	LAYOUT("");
	ASSERT_EQ(0, hl_pool_set(true));
	ASSERT_TRUE(hl_pool_wait_full(60)) TH_LOG("the pool did not fill in 60 s: %lld of %lld pages",
					      hl_heap_stat("system", "pool_pages"),
					      hl_heap_stat("system", "pool_target_pages"));
	pool = hl_heap_stat("system", "pool_pages");
	pgfree = hl_key_value("/proc/vmstat", "pgfree");
	free_before = free_kb_with_pcp();
	ASSERT_LT(0, pgfree);
	ASSERT_LT(0, free_before);
	ASSERT_EQ(0, unload("heaplab_system_heap")) TH_LOG("unload: %s", strerror(errno));
	free_after = free_kb_with_pcp();
	freed = hl_key_value("/proc/vmstat", "pgfree") - pgfree;
	ASSERT_EQ(0, load("heaplab_system_heap")) TH_LOG("reload: %s", strerror(errno));
	TH_LOG("pool %lld pages; on unload %lld pages freed, free memory %+lld pages (per-CPU lists counted)",
	       pool, freed, (free_after - free_before) / psz_kb);
	EXPECT_GE(freed, pool) TH_LOG("fewer pages freed than the pool held");
	EXPECT_GE((free_after - free_before) / psz_kb, pool / 2);
	EXPECT_TRUE(hl_pool_wait_full(60)) TH_LOG("the reloaded heap's pool did not fill: %lld of %lld pages",
						  hl_heap_stat("system", "pool_pages"),
						  hl_heap_stat("system", "pool_target_pages"));
}

HEAPLAB_HARNESS_MAIN
