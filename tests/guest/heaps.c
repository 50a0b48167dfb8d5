// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab heap selftest, run in the guest under KASAN, lockdep, kmemleak.
 *
 * Every case runs against every heap: heaplab's (in /dev/heaplab) and the
 * kernel's upstream heaps (in /dev/dma_heap) as the reference. A heap that
 * is absent is a skip, which CI counts as a failure.
 *
 * Usage: heaps [harness options]   (HEAPLAB_KMOD_DIR: where the .ko are)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <linux/dma-buf.h>
#include <drm/drm.h>

#include "kselftest_harness.h"
#include "guest.h"

#define SLOW 600	/* TCG + KASAN: far above the harness's 30 s */
#define KiB 1024UL
#define MiB (1024 * KiB)

static long page_size;

static void __attribute__((constructor)) init_page_size(void)
{
	page_size = sysconf(_SC_PAGESIZE);
}

/*
 * Every fixture here is "one heap device, opened": each declares only which
 * heaps its cases apply to. An absent heap is a skip (a failure under CI).
 */
#define HEAP_FIXTURE(name)						\
	FIXTURE(name) {							\
		int fd;							\
	};								\
	FIXTURE_VARIANT(name) {						\
		const char *path;					\
		bool ours;						\
	};								\
	FIXTURE_SETUP(name)						\
	{								\
		char why[200];						\
									\
		self->fd = open(variant->path, O_RDONLY | O_CLOEXEC);	\
		if (self->fd < 0 && heaplab_not_applicable(variant->path,	\
							  why, sizeof(why)))	\
			SKIP(return, NOT_APPLICABLE "%s: %s", variant->path, why); \
		if (self->fd < 0)					\
			SKIP(return, "%s: %s", variant->path,		\
			     strerror(errno));				\
	}								\
	FIXTURE_TEARDOWN(name)						\
	{								\
		if (self->fd >= 0)					\
			close(self->fd);				\
	}

HEAP_FIXTURE(heap);

FIXTURE_VARIANT_ADD(heap, heaplab_system) { .path = "/dev/heaplab/system", .ours = true };
FIXTURE_VARIANT_ADD(heap, heaplab_cma) { .path = "/dev/heaplab/reserved", .ours = true };
FIXTURE_VARIANT_ADD(heap, upstream_system) { .path = "/dev/dma_heap/system" };
FIXTURE_VARIANT_ADD(heap, upstream_cma) { .path = "/dev/dma_heap/reserved" };

TEST_F_TIMEOUT(heap, errors, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	struct dma_heap_allocation_data data = { .len = page_size,
						 .fd_flags = O_RDWR };

	/* fd_flags outside O_ACCMODE | O_CLOEXEC */
	EXPECT_EQ(-1, hl_alloc(self->fd, page_size, O_RDWR | O_NONBLOCK, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, hl_alloc(self->fd, page_size, 0x80000000u, 0));
	EXPECT_EQ(EINVAL, errno);
	/* any heap flag */
	EXPECT_EQ(-1, hl_alloc(self->fd, page_size, O_RDWR, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, hl_alloc(self->fd, page_size, O_RDWR, 1ULL << 63));
	EXPECT_EQ(EINVAL, errno);
	/* zero length, and lengths whose page round-up wraps */
	EXPECT_EQ(-1, hl_alloc(self->fd, 0, O_RDWR, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, hl_alloc(self->fd, UINT64_MAX, O_RDWR, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, hl_alloc(self->fd, UINT64_MAX - page_size + 2, O_RDWR, 0));
	EXPECT_EQ(EINVAL, errno);
	/* fd must be 0 on entry */
	data.fd = 3;
	EXPECT_EQ(-1, ioctl(self->fd, DMA_HEAP_IOCTL_ALLOC, &data));
	EXPECT_EQ(EINVAL, errno);
	/* an unknown ioctl number */
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(DMA_HEAP_IOC_MAGIC, 0x1, data), &data));
	EXPECT_EQ(EINVAL, errno);
	/*
	 * A command without the output direction cannot return the fd:
	 * heaplab refuses it; upstream installs an fd the caller never
	 * learns of (a difference by design, checked both ways).
	 */
	data.fd = 0;
	if (variant->ours) {
		EXPECT_EQ(-1, ioctl(self->fd, _IOW(DMA_HEAP_IOC_MAGIC, 0x0, data), &data));
		EXPECT_EQ(EINVAL, errno);
	} else {
		EXPECT_EQ(0, ioctl(self->fd, _IOW(DMA_HEAP_IOC_MAGIC, 0x0, data), &data));
	}
	/* a bad argument pointer */
	EXPECT_EQ(-1, ioctl(self->fd, DMA_HEAP_IOCTL_ALLOC, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	/* the heap device itself is not mappable or seekable */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_READ, MAP_SHARED, self->fd, 0));
}

/* Older (shorter) and newer (longer) argument sizes, as upstream. */
TEST_F_TIMEOUT(heap, struct_sizes, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	struct { uint64_t len; uint32_t fd; uint32_t fd_flags; } older = {
		.len = page_size, .fd_flags = O_RDWR | O_CLOEXEC };
	struct { uint64_t len; uint32_t fd; uint32_t fd_flags;
		 uint64_t heap_flags; uint64_t extra; } newer = {
		.len = page_size, .fd_flags = O_RDWR | O_CLOEXEC,
		.extra = 0xdeadbeef };

	ASSERT_EQ(0, ioctl(self->fd, _IOWR(DMA_HEAP_IOC_MAGIC, 0x0, older), &older));
	EXPECT_LT(0, (int)older.fd);
	close(older.fd);
	ASSERT_EQ(0, ioctl(self->fd, _IOWR(DMA_HEAP_IOC_MAGIC, 0x0, newer), &newer));
	EXPECT_LT(0, (int)newer.fd);
	close(newer.fd);
}

TEST_F_TIMEOUT(heap, sizes, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	size_t len;

	for (len = page_size; len <= 64 * MiB; len *= 4) {
		int fd = hl_alloc(self->fd, len, O_RDWR | O_CLOEXEC, 0);
		unsigned char *p;

		ASSERT_LE(0, fd) TH_LOG("%zu bytes: %s", len, strerror(errno));
		EXPECT_EQ((off_t)len, lseek(fd, 0, SEEK_END));
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		p[0] = 1;
		p[len - 1] = 2;
		EXPECT_EQ(1, p[0]);
		EXPECT_EQ(2, p[len - 1]);
		munmap(p, len);
		close(fd);
	}
	/* an unaligned length is rounded up to whole pages */
	{
		int fd = hl_alloc(self->fd, page_size + 1, O_RDWR, 0);

		ASSERT_LE(0, fd);
		EXPECT_EQ(2 * page_size, lseek(fd, 0, SEEK_END));
		close(fd);
	}
}

/* Freed memory comes back cleared: no data leaks between users. */
TEST_F_TIMEOUT(heap, zeroed, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	static const size_t lens[] = { 4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB };
	int round, i;

	for (round = 0; round < 8; round++) {
		for (i = 0; i < (int)(sizeof(lens) / sizeof(lens[0])); i++) {
			size_t len = lens[i];
			unsigned char *p;
			long bad;
			int fd;

			fd = hl_alloc(self->fd, len, O_RDWR, 0);
			ASSERT_LE(0, fd);
			p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			ASSERT_NE(MAP_FAILED, p);
			bad = hl_first_not(p, len, 0);
			ASSERT_EQ(-1, bad) TH_LOG("round %d, %zu bytes: byte %ld is 0x%x",
						  round, len, bad, p[bad]);
			memset(p, 0xa5, len);
			munmap(p, len);
			close(fd);
		}
	}
}

TEST_F_TIMEOUT(heap, mmap_ranges, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	size_t len = 16 * page_size;
	unsigned char *all, *part;
	int fd, i;

	fd = hl_alloc(self->fd, len, O_RDWR, 0);
	ASSERT_LE(0, fd);
	all = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, all);
	for (i = 0; i < 16; i++)
		memset(all + i * page_size, i + 1, page_size);

	/* a partial mapping at an offset sees the same pages */
	part = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    5 * page_size);
	ASSERT_NE(MAP_FAILED, part);
	EXPECT_EQ(-1, hl_first_not(part, page_size, 6));
	EXPECT_EQ(-1, hl_first_not(part + page_size, page_size, 7));
	part[0] = 0x42;
	EXPECT_EQ(0x42, all[5 * page_size]);
	munmap(part, 2 * page_size);

	/* a read-only mapping reads */
	part = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, 15 * page_size);
	ASSERT_NE(MAP_FAILED, part);
	EXPECT_EQ(16, part[page_size - 1]);
	munmap(part, page_size);

	/* out of range: past the end, straddling the end, too long */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, len));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * page_size, PROT_READ, MAP_SHARED, fd,
				   15 * page_size));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, len + page_size, PROT_READ, MAP_SHARED, fd, 0));

	munmap(all, len);
	close(fd);
}

TEST_F_TIMEOUT(heap, sync, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	size_t len = 4 * page_size;
	unsigned char *p;
	int fd;

	fd = hl_alloc(self->fd, len, O_RDWR, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	memset(p, 0x5a, len);
	EXPECT_EQ(0, hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, hl_first_not(p, len, 0x5a));
	EXPECT_EQ(0, hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(0, hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	/* bad flags */
	EXPECT_EQ(-1, hl_sync(fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, hl_sync(fd, DMA_BUF_SYNC_RW | 0x100));
	EXPECT_EQ(EINVAL, errno);
	munmap(p, len);
	close(fd);
}

/* vgem imports the buffer: attach and map_dma_buf, then detach. */
TEST_F_TIMEOUT(heap, vgem_import, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	struct drm_prime_handle import = { 0 };
	struct drm_gem_close gclose = { 0 };
	size_t len = 1 * MiB;
	unsigned char *p;
	int vgem, fd;

	vgem = hl_open_vgem();
	ASSERT_LE(0, vgem) TH_LOG("no vgem device in /dev/dri");
	fd = hl_alloc(self->fd, len, O_RDWR, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);

	import.fd = fd;
	ASSERT_EQ(0, ioctl(vgem, DRM_IOCTL_PRIME_FD_TO_HANDLE, &import))
		TH_LOG("import: %s", strerror(errno));
	/* CPU access with a mapped attachment syncs it */
	EXPECT_EQ(0, hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	memset(p, 0x11, len);
	EXPECT_EQ(0, hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));

	gclose.handle = import.handle;
	EXPECT_EQ(0, ioctl(vgem, DRM_IOCTL_GEM_CLOSE, &gclose));
	munmap(p, len);
	close(fd);
	close(vgem);
}

/*
 * The kernel-only paths: vmap (refcounted) and CPU access through the
 * kernel mapping, driven by the test module heaplab_smoke's "vmap" knob.
 */
TEST_F_TIMEOUT(heap, kernel_vmap, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	const char *knob = "/sys/kernel/debug/heaplab_smoke/vmap";
	size_t len = 64 * page_size;
	unsigned char *p;
	char cmd[32];
	int fd, k;

	k = open(knob, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, k) TH_LOG("%s: %s (is heaplab_smoke loaded?)", knob, strerror(errno));
	fd = hl_alloc(self->fd, len, O_RDWR, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, len);	/* fault the user mapping in first */

	snprintf(cmd, sizeof(cmd), "%d 90", fd);
	ASSERT_EQ((ssize_t)strlen(cmd), write(k, cmd, strlen(cmd)))
		TH_LOG("vmap knob: %s", strerror(errno));
	EXPECT_EQ(0, hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, hl_first_not(p, len, 90));
	EXPECT_EQ(0, hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	/* a second round reuses nothing stale */
	snprintf(cmd, sizeof(cmd), "%d 7", fd);
	ASSERT_EQ((ssize_t)strlen(cmd), write(k, cmd, strlen(cmd)));
	EXPECT_EQ(-1, hl_first_not(p, len, 7));
	/* bad input: not a dma-buf, not an fd */
	snprintf(cmd, sizeof(cmd), "%d 1", k);
	EXPECT_EQ(-1, write(k, cmd, strlen(cmd)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(k, "9999 1", 6));
	EXPECT_EQ(EBADF, errno);
	munmap(p, len);
	close(fd);
	close(k);
}

/* exec_fd_open: does a freshly exec'd shell still see fd @fd? */
static int exec_fd_open(int fd)
{
	char cmd[64];
	int status;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "test -e /proc/self/fd/%d", fd);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) == 0;
}

TEST_F_TIMEOUT(heap, cloexec, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	int a = hl_alloc(self->fd, page_size, O_RDWR | O_CLOEXEC, 0);
	int b = hl_alloc(self->fd, page_size, O_RDWR, 0);

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_EQ(FD_CLOEXEC, fcntl(a, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(b, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, exec_fd_open(a));
	EXPECT_EQ(1, exec_fd_open(b));
	/* access mode follows fd_flags */
	EXPECT_EQ(O_RDWR, fcntl(a, F_GETFL) & O_ACCMODE);
	close(a);
	close(b);
	a = hl_alloc(self->fd, page_size, O_RDONLY, 0);
	ASSERT_LE(0, a);
	EXPECT_EQ(O_RDONLY, fcntl(a, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_WRITE, MAP_SHARED, a, 0));
	{
		unsigned char *p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, a, 0);

		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(0, p[0]);
		munmap(p, page_size);
	}
	close(a);
}

TEST_F_TIMEOUT(heap, dup_close_fork, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	size_t len = 8 * page_size;
	unsigned char *p;
	int fd, fd2, status;
	pid_t pid;

	fd = hl_alloc(self->fd, len, O_RDWR, 0);
	ASSERT_LE(0, fd);
	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	close(fd);	/* the buffer lives on through the dup */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	ASSERT_NE(MAP_FAILED, p);
	close(fd2);	/* and through the mapping */
	memset(p, 0x33, len);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* the child shares the mapping */
		_exit(hl_first_not(p, len, 0x33) == -1 && (memset(p, 0x44, len), 1) ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(-1, hl_first_not(p, len, 0x44));
	munmap(p, len);
}

TEST_F_TIMEOUT(heap, scm_rights, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	char cbuf[CMSG_SPACE(sizeof(int))], byte = 'x';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	size_t len = 4 * page_size;
	struct cmsghdr *cm;
	unsigned char *p;
	int sv[2], fd, status;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int got;

		close(sv[0]);
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(2);
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_type != SCM_RIGHTS)
			_exit(3);
		memcpy(&got, CMSG_DATA(cm), sizeof(got));
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, got, 0);
		if (p == MAP_FAILED)
			_exit(4);
		if (hl_first_not(p, len, 0x77) != -1)
			_exit(5);
		memset(p, 0x88, len);
		_exit(0);
	}
	close(sv[1]);
	fd = hl_alloc(self->fd, len, O_RDWR, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x77, len);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
	close(fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(-1, hl_first_not(p, len, 0x88));
	munmap(p, len);
	close(sv[0]);
}

/*
 * Requests larger than RAM fail with ENOMEM and nobody is OOM-killed. Not
 * run on the upstream system heap: in 6.1 it sets off the OOM killer, which
 * may kill any process of the guest (a known upstream limitation).
 */
HEAP_FIXTURE(oversize);

FIXTURE_VARIANT_ADD(oversize, heaplab_system) { .path = "/dev/heaplab/system" };
FIXTURE_VARIANT_ADD(oversize, heaplab_cma) { .path = "/dev/heaplab/reserved" };
FIXTURE_VARIANT_ADD(oversize, upstream_cma) { .path = "/dev/dma_heap/reserved" };

TEST_F_TIMEOUT(oversize, enomem, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	struct sysinfo si;
	long long kills = hl_oom_kills();
	uint64_t ram;

	ASSERT_EQ(0, sysinfo(&si));
	ram = (uint64_t)si.totalram * si.mem_unit;
	ASSERT_LE(0, kills);
	EXPECT_EQ(-1, hl_alloc(self->fd, 2 * ram, O_RDWR, 0));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(-1, hl_alloc(self->fd, 1ULL << 40, O_RDWR, 0));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(kills, hl_oom_kills()) TH_LOG("the OOM killer ran");
}

/* CMA heaps take from the CMA area and give every page back on release. */
HEAP_FIXTURE(cma);

FIXTURE_VARIANT_ADD(cma, heaplab_cma) { .path = "/dev/heaplab/reserved" };
FIXTURE_VARIANT_ADD(cma, upstream_cma) { .path = "/dev/dma_heap/reserved" };

/*
 * Pages of the area in use, from the CMA allocator's own bitmap (debugfs
 * cma/<area>/used). CmaFree in /proc/meminfo is no measure: ordinary
 * movable pages live in CMA pageblocks too, and freed pages sit in per-cpu
 * lists before they count as free.
 */
/* The area a CMA heap allocates from has the heap's name. */
static long long cma_used_pages(const char *heap_path)
{
	return hl_cma_used(strrchr(heap_path, '/') + 1);
}

TEST_F_TIMEOUT(cma, pages_return, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	const size_t len = 32 * MiB;
	long long before;
	int round, fd;

	before = cma_used_pages(variant->path);
	ASSERT_LE(0, before) TH_LOG("no debugfs cma/<area>/used");
	for (round = 0; round < 4; round++) {
		fd = hl_alloc(self->fd, len, O_RDWR, 0);
		ASSERT_LE(0, fd) TH_LOG("round %d: %s", round, strerror(errno));
		EXPECT_EQ(before + (long long)(len / page_size), cma_used_pages(variant->path));
		close(fd);
		EXPECT_EQ(before, cma_used_pages(variant->path));
	}
}

/*
 * A SIGKILL during a huge allocation ends it promptly. "Promptly" is a
 * ratio in this boot: the killed allocation must be reaped in under half
 * the time a full allocation of the same size takes. Not run on the CMA
 * heaps: in 6.1 cma_alloc(), where their time goes, never looks at signals
 * (heaplab's CMA heap checks them while zeroing, the upstream one not even
 * there).
 */
HEAP_FIXTURE(killable);

FIXTURE_VARIANT_ADD(killable, heaplab_system) { .path = "/dev/heaplab/system" };
FIXTURE_VARIANT_ADD(killable, upstream_system) { .path = "/dev/dma_heap/system" };

TEST_F_TIMEOUT(killable, sigkill, SLOW)
{
	if (SETUP_SKIPPED(_metadata))
		return;
	const size_t len = 192 * MiB;
	double t0, full, killed_at, reaped;
	int fd, status, ready[2];
	char c;
	pid_t pid;

	t0 = hl_now_s();
	fd = hl_alloc(self->fd, len, O_RDWR, 0);
	full = hl_now_s() - t0;
	ASSERT_LE(0, fd) TH_LOG("%zu MiB: %s", len / MiB, strerror(errno));
	close(fd);

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		/* Allocate until killed, so the kill lands inside the ioctl. */
		for (;;) {
			fd = hl_alloc(self->fd, len, O_RDWR, 0);
			if (fd < 0)
				_exit(3);
			close(fd);
		}
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
	usleep((useconds_t)(full * 1e6 / 10));
	killed_at = hl_now_s();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	reaped = hl_now_s() - killed_at;
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_LT(reaped, full / 2)
		TH_LOG("full allocation %.3fs, reaped %.3fs after SIGKILL", full, reaped);
}

HEAPLAB_HARNESS_MAIN
