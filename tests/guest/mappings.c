// SPDX-License-Identifier: GPL-2.0
/*
 * Users of a heap buffer's mapping that go through get_user_pages(): an
 * O_DIRECT read from a block device into the mapped buffer (how camera and
 * video pipelines fill buffers from storage) and an O_DIRECT write out of
 * it, process_vm_readv() from another process, vmsplice() into a pipe, and
 * a debugger (ptrace PEEKDATA/POKEDATA and /proc/PID/mem) reading and
 * writing the mapping of a stopped child.
 *
 * How heaplab maps (the whole buffer at mmap(), shared mappings only) is
 * tested first.
 *
 * heaplab's heaps must do all of them. The upstream heaps are run the same
 * way and their result is printed ("# upstream: ..."): the upstream system
 * heap maps by pfn (VM_PFNMAP), where each fails with EFAULT or EIO; the
 * upstream CMA heap maps struct pages and does them all.
 *
 * The block device is the guest's RAM disk, /dev/ram0 (64 MiB).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "guest.h"


#define SLOW 600
#define KiB 1024UL
#define MiB (1024 * KiB)
#define RAMDISK "/dev/ram0"

static long page_size;

static void __attribute__((constructor)) init_page_size(void)
{
	page_size = sysconf(_SC_PAGESIZE);
}

static void pattern(unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 7 + seed + (i >> 12));
}

static long mismatch(const unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(i * 7 + seed + (i >> 12)))
			return (long)i;
	return -1;
}

FIXTURE(map) {
	int heap, buf;
	unsigned char *p;
	size_t len;
};

FIXTURE_VARIANT(map) {
	const char *path;
	bool ours;
};

FIXTURE_VARIANT_ADD(map, heaplab_system) { .path = "/dev/heaplab/system", .ours = true };
FIXTURE_VARIANT_ADD(map, heaplab_cma) { .path = "/dev/heaplab/reserved", .ours = true };
FIXTURE_VARIANT_ADD(map, upstream_system) { .path = "/dev/dma_heap/system" };
FIXTURE_VARIANT_ADD(map, upstream_cma) { .path = "/dev/dma_heap/reserved" };

/* 1 MiB + 4 KiB: a system heap buffer of two chunks (order 8 and 0). */
FIXTURE_SETUP(map)
{
	self->buf = -1;
	self->p = MAP_FAILED;
	self->len = 1 * MiB + 4 * KiB;
	self->heap = open(variant->path, O_RDONLY | O_CLOEXEC);
	if (self->heap < 0)
		SKIP(return, "%s: %s", variant->path, strerror(errno));
	self->buf = hl_alloc(self->heap, self->len, O_RDWR | O_CLOEXEC, 0);
	ASSERT_LE(0, self->buf) TH_LOG("%s: %s", variant->path, strerror(errno));
	self->p = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->buf, 0);
	ASSERT_NE(MAP_FAILED, self->p);
}

FIXTURE_TEARDOWN(map)
{
	if (self->p != MAP_FAILED)
		munmap(self->p, self->len);
	if (self->buf >= 0)
		close(self->buf);
	if (self->heap >= 0)
		close(self->heap);
}

/*
 * heaplab: must work. Upstream: print what happened. @ok says whether it
 * worked, @what names the path.
 */
static int judge(struct __test_metadata *_metadata,
		 const FIXTURE_VARIANT(map) *variant, const char *what, int ok,
		 int err)
{
	if (variant->ours) {
		EXPECT_TRUE(ok) TH_LOG("%s on %s: %s", what, variant->path,
				       ok ? "ok" : strerror(err));
	} else {
		note("upstream: %s on %s: %s\n", what, variant->path,
		     ok ? "works" : strerror(err));
	}
	return ok;
}

/*
 * heaplab maps a whole buffer at mmap() (vm_insert_pages), so a buffer
 * touched whole costs one pass, not a fault per page: every page is
 * present before the first touch (mincore() reports present PTEs). A page
 * zapped since (MADV_DONTNEED) comes back on its next touch, through the
 * fault handler, with its data.
 */
TEST_F_TIMEOUT(map, mapped_at_mmap, SLOW)
{
	size_t i, n = self->len / page_size, present = 0;
	unsigned char *vec = calloc(n, 1);
	int ret;

	ASSERT_NE(NULL, vec);
	ASSERT_EQ(0, mincore(self->p, self->len, vec));
	for (i = 0; i < n; i++)
		present += vec[i] & 1;
	if (variant->ours) {
		EXPECT_EQ(n, present) TH_LOG("%zu of %zu pages mapped at mmap", present, n);
	} else {
		/* a VM_PFNMAP mapping (the upstream system heap) shows none */
		note("upstream: mincore() sees %zu of %zu pages mapped after mmap on %s\n",
		     present, n, variant->path);
	}
	pattern(self->p, self->len, 5);
	ret = madvise(self->p + page_size, page_size, MADV_DONTNEED);
	if (judge(_metadata, variant, "MADV_DONTNEED of a page", !ret, errno)) {
		ASSERT_EQ(0, mincore(self->p + page_size, page_size, vec));
		EXPECT_EQ(0, vec[0] & 1) TH_LOG("the page is still mapped");
		EXPECT_EQ(-1, mismatch(self->p, self->len, 5));
		ASSERT_EQ(0, mincore(self->p + page_size, page_size, vec));
		EXPECT_EQ(1, vec[0] & 1) TH_LOG("the touch did not map the page again");
	}
	free(vec);
}

/* A mapping at an offset shows the buffer's pages from there on. */
TEST_F_TIMEOUT(map, at_offset, SLOW)
{
	unsigned char *q;

	pattern(self->p, self->len, 3);
	q = mmap(NULL, 3 * page_size, PROT_READ | PROT_WRITE, MAP_SHARED, self->buf,
		 2 * page_size);
	ASSERT_NE(MAP_FAILED, q) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, memcmp(q, self->p + 2 * page_size, 3 * page_size));
	q[0] ^= 0xff;
	EXPECT_EQ(q[0], self->p[2 * page_size]);
	munmap(q, 3 * page_size);
	/* past the end: the dma-buf core refuses it */
	q = mmap(NULL, 2 * page_size, PROT_READ, MAP_SHARED, self->buf,
		 self->len - page_size);
	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EINVAL, errno);
}

/*
 * MAP_PRIVATE: refused with EINVAL, as the upstream CMA heap does. The
 * upstream system heap accepts it, but the writes of a private mapping go
 * to copies no device sees, which a heap that hands buffers to devices
 * should not let pass silently.
 */
TEST_F_TIMEOUT(map, private_refused, SLOW)
{
	void *q = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->buf, 0);
	int err = errno;

	if (variant->ours) {
		EXPECT_EQ(MAP_FAILED, q);
		EXPECT_EQ(EINVAL, err);
	} else {
		note("upstream: MAP_PRIVATE on %s: %s\n", variant->path,
		     q == MAP_FAILED ? strerror(err) : "mapped");
	}
	if (q != MAP_FAILED)
		munmap(q, page_size);
}

TEST_F_TIMEOUT(map, o_direct, SLOW)
{
	unsigned char *src = NULL;
	ssize_t n;
	int disk, err;

	disk = open(RAMDISK, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, disk) TH_LOG("%s: %s (CONFIG_BLK_DEV_RAM)", RAMDISK, strerror(errno));
	ASSERT_EQ(0, posix_memalign((void **)&src, page_size, self->len));
	pattern(src, self->len, 11);
	ASSERT_EQ((ssize_t)self->len, pwrite(disk, src, self->len, 0));

	/* storage -> buffer: the device writes into the mapped pages */
	memset(self->p, 0, self->len);
	n = pread(disk, self->p, self->len, 0);
	err = errno;
	if (judge(_metadata, variant, "O_DIRECT read into the mapping",
		  n == (ssize_t)self->len, n < 0 ? err : EIO))
		EXPECT_EQ(-1, mismatch(self->p, self->len, 11));

	/* buffer -> storage */
	pattern(self->p, self->len, 23);
	n = pwrite(disk, self->p, self->len, 0);
	err = errno;
	if (judge(_metadata, variant, "O_DIRECT write from the mapping",
		  n == (ssize_t)self->len, n < 0 ? err : EIO)) {
		ASSERT_EQ((ssize_t)self->len, pread(disk, src, self->len, 0));
		EXPECT_EQ(-1, mismatch(src, self->len, 23));
	}
	free(src);
	close(disk);
}

TEST_F_TIMEOUT(map, process_vm_readv, SLOW)
{
	int go[2], status, err;
	unsigned char *copy;
	struct iovec local, remote;
	ssize_t n;
	pid_t pid;

	pattern(self->p, self->len, 5);
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {	/* holds the mapping (inherited) until told */
		char c;

		close(go[1]);
		_exit(read(go[0], &c, 1) < 0);
	}
	close(go[0]);
	copy = calloc(1, self->len);
	ASSERT_NE(NULL, copy);
	local.iov_base = copy;
	local.iov_len = self->len;
	remote.iov_base = self->p;
	remote.iov_len = self->len;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	err = errno;
	if (judge(_metadata, variant, "process_vm_readv of the mapping",
		  n == (ssize_t)self->len, n < 0 ? err : EIO))
		EXPECT_EQ(-1, mismatch(copy, self->len, 5));
	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	free(copy);
}

TEST_F_TIMEOUT(map, vmsplice, SLOW)
{
	struct iovec iov = { .iov_base = self->p, .iov_len = 64 * KiB };
	unsigned char got[64 * KiB];
	size_t have = 0;
	int pfd[2], err;
	ssize_t n;

	pattern(self->p, self->len, 9);
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_LE(64 * (long)KiB, fcntl(pfd[1], F_SETPIPE_SZ, 64 * KiB));
	n = vmsplice(pfd[1], &iov, 1, SPLICE_F_NONBLOCK);
	err = errno;
	if (judge(_metadata, variant, "vmsplice of the mapping into a pipe",
		  n == (ssize_t)iov.iov_len, n < 0 ? err : EIO)) {
		while (have < (size_t)n) {
			ssize_t r = read(pfd[0], got + have, n - have);

			ASSERT_LT(0, r);
			have += r;
		}
		EXPECT_EQ(-1, mismatch(got, have, 9));
	}
	close(pfd[0]);
	close(pfd[1]);
}

/* A debugger's view: the stopped child's mapping is the same buffer. */
TEST_F_TIMEOUT(map, debugger, SLOW)
{
	size_t off = self->len - 2 * page_size + 8;	/* in the second chunk */
	uint64_t want, got = 0;
	char mem[64];
	int status, memfd, ok, err = 0;
	long word;
	pid_t pid;

	pattern(self->p, self->len, 3);
	memcpy(&want, self->p + off, sizeof(want));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));

	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, pid, self->p + off, NULL);
	err = errno;
	ok = !err && (uint64_t)word == want;
	judge(_metadata, variant, "ptrace PEEKDATA of the mapping", ok, err ? err : EIO);

	ok = !ptrace(PTRACE_POKEDATA, pid, self->p + off, (void *)0x1122334455667788UL);
	err = errno;
	if (judge(_metadata, variant, "ptrace POKEDATA into the mapping", ok, err))
		EXPECT_EQ(0x1122334455667788UL, *(uint64_t *)(self->p + off));

	snprintf(mem, sizeof(mem), "/proc/%d/mem", pid);
	memfd = open(mem, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, memfd);
	ok = pread(memfd, &got, sizeof(got), (off_t)(uintptr_t)(self->p + off)) ==
	     (ssize_t)sizeof(got);
	err = errno;
	if (judge(_metadata, variant, "read of /proc/PID/mem at the mapping", ok,
		  ok ? 0 : err))
		EXPECT_EQ(*(uint64_t *)(self->p + off), got);
	close(memfd);

	kill(pid, SIGKILL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	waitpid(pid, &status, 0);
}

HEAPLAB_HARNESS_MAIN
