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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/dma-buf.h>

#include "linux/heaplab-dma-heap.h"
#include "kselftest_harness.h"

#define SLOW 900
#define SYS_DEV "/dev/heaplab/system"

static const char *const mods[] = {
	"heaplab_heap", "heaplab_system_heap", "heaplab_cma_heap",
};

static int load(const char *name)
{
	const char *dir = getenv("HEAPLAB_KMOD_DIR");
	const char *params = strcmp(name, "heaplab_heap") ? "" : "devdir=heaplab";
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

static int unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int alloc(int heap_fd, size_t len)
{
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = O_RDWR };

	return ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &d) < 0 ? -1 : (int)d.fd;
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
}

/* One counter of debugfs heaplab/<heap>/stats, or -1. */
static long long stat_of(const char *heap, const char *name)
{
	char path[128], key[64];
	long long v, found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/heaplab/%s/stats", heap);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &v) == 2)
		if (!strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

TEST_F_TIMEOUT(heaplab, counters, SLOW)
{
	long long allocs, fails, out, peak;
	size_t len = 3 * sysconf(_SC_PAGESIZE);
	struct dma_heap_allocation_data bad = { .len = 0 };
	int heap, buf;

	heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap);
	allocs = stat_of("system", "allocations");
	fails = stat_of("system", "failures");
	out = stat_of("system", "bytes_outstanding");
	ASSERT_LE(0, allocs);
	ASSERT_LE(0, out);

	buf = alloc(heap, len);
	ASSERT_LE(0, buf);
	EXPECT_EQ(allocs + 1, stat_of("system", "allocations"));
	EXPECT_EQ(out + (long long)len, stat_of("system", "bytes_outstanding"));
	peak = stat_of("system", "bytes_peak");
	EXPECT_LE(out + (long long)len, peak);
	close(buf);
	EXPECT_EQ(out, stat_of("system", "bytes_outstanding"));
	EXPECT_EQ(peak, stat_of("system", "bytes_peak"));

	/* an invalid request is rejected before the heap: not a failure */
	EXPECT_EQ(-1, ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &bad));
	EXPECT_EQ(fails, stat_of("system", "failures"));
	/* a heap failure is counted */
	EXPECT_EQ(-1, alloc(heap, 1ULL << 40));
	EXPECT_EQ(fails + 1, stat_of("system", "failures"));
	close(heap);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

TEST_F_TIMEOUT(heaplab, tracepoints, SLOW)
{
	static const char *const events[] = {
		"heaplab_alloc_start", "heaplab_alloc_end", "heaplab_zero",
		"heaplab_mmap", "heaplab_fault", "heaplab_begin_cpu_access",
		"heaplab_end_cpu_access", "heaplab_buffer_release",
	};
	const char *tr = "/sys/kernel/tracing";
	long psz = sysconf(_SC_PAGESIZE);
	char path[256], *trace;
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	size_t i, got = 0;
	int heap, buf, fd;
	char *p;

	snprintf(path, sizeof(path), "%s/events/heaplab/enable", tr);
	ASSERT_EQ(0, write_str(path, "1")) TH_LOG("%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/trace", tr);
	ASSERT_EQ(0, write_str(path, ""));

	heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap);
	buf = alloc(heap, 5 * psz);
	ASSERT_LE(0, buf);
	p = mmap(NULL, 5 * psz, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync));
	p[0] = 1;
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	EXPECT_EQ(0, ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync));
	munmap(p, 5 * psz);
	close(buf);
	close(heap);

	snprintf(path, sizeof(path), "%s/events/heaplab/enable", tr);
	EXPECT_EQ(0, write_str(path, "0"));
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
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		EXPECT_NE(NULL, strstr(trace, events[i])) TH_LOG("no %s event", events[i]);
	EXPECT_NE(NULL, strstr(trace, "heap=system len=20480 ret=0"));
	EXPECT_NE(NULL, strstr(trace, "heap=system pages=5"));
	free(trace);
}

TEST_F_TIMEOUT(heaplab, unload_refused_while_in_use, SLOW)
{
	long psz = sysconf(_SC_PAGESIZE);
	int heap, buf;
	void *map;

	ASSERT_NE(NULL, getenv("HEAPLAB_KMOD_DIR"));
	heap = open(SYS_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap) TH_LOG("%s: %s", SYS_DEV, strerror(errno));

	/* an open device file pins the heap module */
	EXPECT_EQ(-1, unload("heaplab_system_heap"));
	EXPECT_EQ(EWOULDBLOCK, errno);
	/* the framework is pinned by its heap modules */
	EXPECT_EQ(-1, unload("heaplab_heap"));

	buf = alloc(heap, 4 * psz);
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
		buf = alloc(heap, 2 * psz);
		ASSERT_LE(0, buf);
		close(buf);
		close(heap);
	}
}

TEST_HARNESS_MAIN
