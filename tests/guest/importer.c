// SPDX-License-Identifier: GPL-2.0
/*
 * Buffers of every heap handed to importers with real DMA limits, through
 * the test module heaplab_importer.ko (see kernel/test/heaplab_importer.c):
 * maximum segment sizes of 4 KiB, 64 KiB, 1 MiB and UINT_MAX (what GPU
 * drivers set), a 32-bit DMA mask (swiotlb bounces where the guest has
 * memory above 4 GiB), each direction, at sizes from a page to 33 MiB,
 * among them a 1080p NV12 frame that is not a page multiple.
 *
 * Each direction at the 64 KiB and UINT_MAX limits and the 32-bit mask;
 * at 4 KiB and 1 MiB, where only the split differs, bidirectional (which
 * runs both the device's reads and its writes).
 *
 * Each case: the user fills the buffer (SYNC-bracketed), the importer
 * attaches and maps it, checks the segments (exact cover, none above the
 * limit or the mask), the device reads what the CPU wrote, the CPU writes
 * again and the device reads that (end_cpu_access must reach it), the
 * device writes and the CPU reads it through the mapping and through the
 * kernel mapping (begin_cpu_access must bring it back), a SYNC_RW bracket
 * whatever the mapping's direction, unmap, detach. With dma-debug on, the
 * DMA-API error count must not move.
 *
 * heaplab's heaps must pass every case. An upstream heap's failure is a
 * known difference: printed as "# upstream difference: ...", counted, and
 * not a test failure (dma-debug's driver filter is pointed away from the
 * importer meanwhile, so the upstream heaps' errors are counted, not WARNed).
 *
 * Which boot runs what (HEAPLAB_LAYOUT, see tests/layouts.test): the main
 * boot (unset) runs the segment-size matrix; the big-memory boot (big:
 * --mem 10G --cma 5G, memory above 4 GiB, DMA-API debugging on) runs the
 * 64 KiB one again, where any DMA-API error fails heaplab's heaps, the
 * 32-bit-mask matrix, which must go through swiotlb there, and over_4g.
 * A case of the other boot is a NOT_HERE skip (guest.h): not run, not counted.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/dma-buf.h>

#include "kselftest_harness.h"
#include "guest.h"


#define SLOW 1200
#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define STRIDE 64

#define CTL "/sys/kernel/debug/heaplab_importer/ctl"
#define DMA_API "/sys/kernel/debug/dma-api"
#define SWIOTLB_USED "/sys/kernel/debug/swiotlb/io_tlb_used"

static const uint64_t sizes[] = {
	4 * KiB, 64 * KiB, 1 * MiB, 1 * MiB + 4 * KiB,
	3110400,		/* 1920x1080 NV12: not a page multiple */
	8 * MiB + 12 * KiB, 33 * MiB,
};
/* bidi last: a matrix that does not run every direction runs only it */
static const char *const dirs[] = { "to", "from", "bidi" };
static long page_size;

/* Run the rest of the case only in layout @want ("" for the main boot). */
#define LAYOUT(want) do {						\
	const char *_l = getenv("HEAPLAB_LAYOUT");			\
	if (strcmp(_l ? _l : "", want)) {				\
		SKIP(return, NOT_HERE "%s runs in the %s boot",	\
		     _metadata->name, *want ? want : "main");	\
	}								\
} while (0)

static void __attribute__((constructor)) init_page_size(void)
{
	page_size = sysconf(_SC_PAGESIZE);
}

/* Must match imp_stamp() in the module. */
static uint64_t stamp(uint64_t seed, uint64_t off)
{
	return (seed * 0x9e3779b97f4a7c15ULL) ^ off ^ 0x5a5a000000000000ULL;
}

static int sampled(uint64_t off, uint64_t size, uint64_t step)
{
	uint64_t pg = off / page_size;

	return !(pg % step) || pg == (size - 1) / page_size;
}

static void fill(unsigned char *p, uint64_t size, uint64_t seed, uint64_t step)
{
	uint64_t o;

	for (o = 0; o < size; o += STRIDE)
		if (sampled(o, size, step))
			*(uint64_t *)(p + o) = stamp(seed, o);
}

/* Offset of the first wrong stamp, or -1. */
static long long verify(const unsigned char *p, uint64_t size, uint64_t seed,
			uint64_t step)
{
	uint64_t o;

	for (o = 0; o < size; o += STRIDE)
		if (sampled(o, size, step) && *(const uint64_t *)(p + o) != stamp(seed, o))
			return (long long)o;
	return -1;
}

/* One importer command: 0 or -errno. The result is in @out. */
static int imp(int ctl, char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[128];
	ssize_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (write(ctl, cmd, strlen(cmd)) < 0)
		return -errno;
	n = pread(ctl, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
	return 0;
}

/* dma-debug is on: its error count and driver filter can be used. */
static int dma_debug_on(void)
{
	char c = 'Y';
	int fd = open(DMA_API "/disabled", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = 'Y';
	close(fd);
	return c == 'N';	/* a debugfs bool: "Y" or "N" */
}

FIXTURE(imp) {
	int heap, ctl;
	unsigned int failures, differences;
	bool noted;
	long long dma_errors;
};

FIXTURE_VARIANT(imp) {
	const char *path;
	bool ours;
};

FIXTURE_VARIANT_ADD(imp, heaplab_system) { .path = "/dev/heaplab/system", .ours = true };
FIXTURE_VARIANT_ADD(imp, heaplab_cma) { .path = "/dev/heaplab/reserved", .ours = true };
FIXTURE_VARIANT_ADD(imp, upstream_system) { .path = "/dev/dma_heap/system" };
FIXTURE_VARIANT_ADD(imp, upstream_cma) { .path = "/dev/dma_heap/reserved" };

FIXTURE_SETUP(imp)
{
	self->heap = open(variant->path, O_RDONLY | O_CLOEXEC);
	if (self->heap < 0)
		SKIP(return, "%s: %s", variant->path, strerror(errno));
	self->ctl = open(CTL, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl) TH_LOG("%s: %s (is heaplab_importer.ko loaded?)",
				       CTL, strerror(errno));
	/*
	 * dma-debug WARNs only for the importer's driver; for the upstream
	 * heaps, whose errors are expected, it only counts.
	 */
	if (dma_debug_on())
		hl_write_str(DMA_API "/driver_filter",
			  variant->ours ? "heaplab_importer" : "heaplab_none");
}

FIXTURE_TEARDOWN(imp)
{
	if (self->heap >= 0)
		close(self->heap);
	if (self->ctl >= 0)
		close(self->ctl);
	if (dma_debug_on())
		hl_write_str(DMA_API "/driver_filter", "heaplab_importer");
}

struct imp_case {
	uint64_t size, seg, step;
	unsigned int bits;
	const char *dir;
};

/*
 * Record one step's outcome. heaplab's heaps: a failure. Upstream: a known
 * difference, printed and counted.
 */
static void outcome(FIXTURE_DATA(imp) *self,
		    const FIXTURE_VARIANT(imp) *variant, const struct imp_case *c,
		    const char *what, int ret, const char *result)
{
	if (!ret)
		return;
	if (variant->ours) {
		self->failures++;
		note("FAIL %s size=%llu seg=%llu bits=%u dir=%s: %s: %s [%s]\n",
		     variant->path, (unsigned long long)c->size,
		     (unsigned long long)c->seg, c->bits, c->dir, what,
		     strerror(-ret), result);
	} else {
		self->differences++;
		note("upstream difference: %s size=%llu seg=%llu bits=%u dir=%s: %s: %s [%s]\n",
		     variant->path, (unsigned long long)c->size,
		     (unsigned long long)c->seg, c->bits, c->dir, what,
		     strerror(-ret), result);
	}
}

/* One buffer, one mapping direction: every check of the header comment. */
static void run_case(FIXTURE_DATA(imp) *self,
		     const FIXTURE_VARIANT(imp) *variant, const struct imp_case *c,
		     int fd, unsigned char *p, uint64_t len)
{
	int to = strcmp(c->dir, "from"), from = strcmp(c->dir, "to");
	long long errs = dma_debug_on() ? hl_read_num(DMA_API "/error_count") : 0;
	char res[256];
	long long bad;
	int ret;

#define STEP(what, expr) do { ret = (expr); outcome(self, variant, c, what, ret, res); } while (0)
	res[0] = '\0';
	STEP("sync start", hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE) ? -errno : 0);
	fill(p, len, 1, c->step);
	STEP("sync end", hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE) ? -errno : 0);

	STEP("attach", imp(self->ctl, res, sizeof(res), "attach %d", fd));
	if (ret)
		return;
	STEP("map", imp(self->ctl, res, sizeof(res), "map %s", c->dir));
	if (ret) {
		imp(self->ctl, res, sizeof(res), "detach");
		return;
	}
	STEP("segments", imp(self->ctl, res, sizeof(res), "check"));
	if (to)
		STEP("device reads the CPU's data",
		     imp(self->ctl, res, sizeof(res), "devread 1 %llu",
			 (unsigned long long)c->step));
	/*
	 * Under DMA-API debugging, the upstream heaps oops when the CPU
	 * accesses a buffer an importer has mapped: with CONFIG_DMABUF_DEBUG
	 * they sync the table the dma-buf core scrambled for the importer.
	 * Only what needs no CPU access while mapped is run on them there.
	 */
	if (!variant->ours && dma_debug_on()) {
		self->differences++;
		if (!self->noted && (self->noted = true))
			note("upstream difference: %s: CPU access while an importer has the buffer mapped oopses under DMA-API debugging (scrambled table, CONFIG_DMABUF_DEBUG): not run here, run in the main boot\n",
				       variant->path);
	} else {
		if (to) {
			hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
			fill(p, len, 3, c->step);
			hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
			STEP("device reads the CPU's data after end_cpu_access",
			     imp(self->ctl, res, sizeof(res), "devread 3 %llu",
				 (unsigned long long)c->step));
		}
		if (from) {
			STEP("device writes",
			     imp(self->ctl, res, sizeof(res), "devwrite 2 %llu",
				 (unsigned long long)c->step));
			hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
			bad = verify(p, len, 2, c->step);
			snprintf(res, sizeof(res), "first bad stamp at %lld", bad);
			STEP("CPU reads the device's data after begin_cpu_access",
			     bad < 0 ? 0 : -EBADMSG);
			hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
			STEP("kernel mapping reads the device's data",
			     imp(self->ctl, res, sizeof(res), "vmapcheck 2 %llu",
				 (unsigned long long)c->step));
		}
		/* A read-write bracket, whatever direction the device mapped. */
		hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	}
	STEP("unmap", imp(self->ctl, res, sizeof(res), "unmap"));
	STEP("detach", imp(self->ctl, res, sizeof(res), "detach"));
	if (dma_debug_on()) {
		long long now = hl_read_num(DMA_API "/error_count");

		snprintf(res, sizeof(res), "%lld new DMA-API errors", now - errs);
		STEP("DMA-API debug", now == errs ? 0 : -EPROTO);
	}
#undef STEP
}

/* Every size, every direction, at one segment limit and mask. */
static void run_matrix(struct __test_metadata *_metadata, FIXTURE_DATA(imp) *self,
		       const FIXTURE_VARIANT(imp) *variant, uint64_t seg,
		       unsigned int bits, bool every_dir, uint64_t max_size)
{
	char res[256];
	size_t i, d;

	ASSERT_EQ(0, imp(self->ctl, res, sizeof(res), "config %llu %u",
			 (unsigned long long)seg, bits));
	note("%s: importer %s\n", variant->path, res);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && sizes[i] <= max_size; i++) {
		uint64_t len = (sizes[i] + page_size - 1) / page_size * page_size;
		unsigned char *p;
		int fd;

		fd = hl_alloc(self->heap, sizes[i], O_RDWR | O_CLOEXEC, 0);
		ASSERT_LE(0, fd) TH_LOG("%s: %llu bytes: %s", variant->path,
					(unsigned long long)sizes[i], strerror(errno));
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		for (d = every_dir ? 0 : 2; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
			struct imp_case c = {
				.size = sizes[i], .seg = seg, .bits = bits,
				.dir = dirs[d], .step = 1,
			};

			run_case(self, variant, &c, fd, p, len);
		}
		munmap(p, len);
		close(fd);
	}
	note("%s seg=%llu bits=%u: %u failures, %u upstream differences\n",
		       variant->path, (unsigned long long)seg, bits,
		       self->failures, self->differences);
	EXPECT_EQ(0, self->failures);
}

TEST_F_TIMEOUT(imp, seg_4k, SLOW)
{
	LAYOUT("");
	run_matrix(_metadata, self, variant, 4 * KiB, 64, false, UINT64_MAX);
}

/*
 * Also in the big boot, under DMA-API debugging, on heaplab's heaps: no
 * DMA-API error (the upstream heaps' segments above the limit are
 * reported by the main boot's run).
 */
TEST_F_TIMEOUT(imp, seg_64k, SLOW)
{
	const char *l = getenv("HEAPLAB_LAYOUT");

	if (l && strcmp(l, "big"))
		SKIP(return, NOT_HERE "seg_64k runs in the main and big boots");
	if (l && !variant->ours)
		SKIP(return, NOT_HERE "seg_64k: %s: the upstream heaps run it in the main boot",
		     variant->path);
	/*
	 * In the big boot, the DMA API's checks of directions and segments
	 * do not depend on the size: up to the NV12 frame is enough there.
	 */
	run_matrix(_metadata, self, variant, 64 * KiB, 64, true, l ? 3110400 : UINT64_MAX);
}

TEST_F_TIMEOUT(imp, seg_1m, SLOW)
{
	LAYOUT("");
	run_matrix(_metadata, self, variant, 1 * MiB, 64, false, UINT64_MAX);
}

/* amdgpu, i915, msm: dma_set_max_seg_size(dev, UINT_MAX). */
TEST_F_TIMEOUT(imp, seg_uint_max, SLOW)
{
	LAYOUT("");
	run_matrix(_metadata, self, variant, UINT32_MAX, 64, true, UINT64_MAX);
}

/*
 * A device that reaches only the low 4 GiB. Where the guest has memory
 * above, the DMA API bounces through swiotlb, one mapping of at most
 * swiotlb's limit at a time, which heaplab's split respects.
 */
TEST_F_TIMEOUT(imp, dma32, SLOW)
{
	long long used0 = hl_read_num(SWIOTLB_USED), peak = 0;
	char res[256];
	int fd;

	LAYOUT("big");
	run_matrix(_metadata, self, variant, UINT32_MAX, 32, true, UINT64_MAX);
	/* Where bouncing is expected, prove it happened: map once more. */
	fd = hl_alloc(self->heap, 8 * MiB, O_RDWR | O_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, imp(self->ctl, res, sizeof(res), "attach %d", fd));
	if (!imp(self->ctl, res, sizeof(res), "map bidi")) {
		peak = hl_read_num(SWIOTLB_USED);
		imp(self->ctl, res, sizeof(res), "unmap");
	}
	imp(self->ctl, res, sizeof(res), "detach");
	close(fd);
	note("%s: swiotlb slots in use %lld before, %lld with an 8 MiB buffer mapped\n",
		       variant->path, used0, peak);
	if (variant->ours)
		EXPECT_LT(used0, peak) TH_LOG("no bouncing: does the guest have memory above 4 GiB?");
}

/*
 * A CMA buffer of 4 GiB and more: an sg entry's length is 32 bits, so it
 * takes several entries. Stamps on every 1021st page (and the last), since
 * the point is the table, not the bytes.
 */
TEST_F_TIMEOUT(imp, over_4g, SLOW)
{
	uint64_t len = 4 * GiB + 64 * KiB;
	struct imp_case c = { .size = len, .seg = UINT32_MAX, .bits = 64,
			      .dir = "to", .step = 1021 };
	char res[256];
	unsigned char *p;
	int fd;

	LAYOUT("big");
	if (!strstr(variant->path, "reserved")) {
		note("over_4g: %s is not a CMA heap: the case applies to the CMA heaps only\n",
		     variant->path);
		return;
	}
	/*
	 * The upstream CMA heap kmalloc()s its page array, 8 MiB here: above
	 * the page allocator's largest order, which WARNs (failing the boot's
	 * log check) and fails with ENOMEM; and its one sg entry would cut the
	 * length to 32 bits. Seen once, recorded, not run again.
	 */
	if (!variant->ours) {
		note("upstream difference: %s: 4 GiB + 64 KiB: page array kmalloc above MAX_ORDER WARNs in __alloc_pages and fails with ENOMEM (not run: the WARN fails the boot)\n",
		     variant->path);
		return;
	}
	ASSERT_EQ(0, imp(self->ctl, res, sizeof(res), "config %u 64", UINT32_MAX));
	fd = hl_alloc(self->heap, len, O_RDWR | O_CLOEXEC, 0);
	ASSERT_LE(0, fd) TH_LOG("%s: 4 GiB + 64 KiB: %s (boot with --mem 10G --cma 5G)",
				variant->path, strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	run_case(self, variant, &c, fd, p, len);
	munmap(p, len);
	close(fd);
	note("%s over_4g: %u failures, %u upstream differences\n",
		       variant->path, self->failures, self->differences);
	EXPECT_EQ(0, self->failures);
}

HEAPLAB_HARNESS_MAIN
