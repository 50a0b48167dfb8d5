// SPDX-License-Identifier: GPL-2.0
/*
 * The stressors, registered in one table at the end. Each op is one
 * bogo-op: a full cycle that frees whatever it took. Valid requests may
 * fail only with ENOMEM (a full CMA area); any other errno is unexpected
 * and fails the run. With verify on, every new buffer must read as zero
 * and every pattern written must read back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <drm/drm.h>

#include "stress.h"

#define KiB 1024ull

/* Allocate on heap @h; counts the call, and the errno if it failed. */
static int alloc(struct worker *w, int h, uint64_t len)
{
	struct counters *c = ctr(h);
	int err = 0, fd;

	fd = hl_alloc_rw(w->heap_fd[h], len);
	err = errno;
	__atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
	if (fd < 0) {
		count_err(c, err, err == ENOMEM);
		if (err != ENOMEM)
			fail("%s: %s: alloc %llu bytes: %s", w->s->name, w->o->heaps[h],
			     (unsigned long long)len, strerror(err));
		return -1;
	}
	__atomic_add_fetch(&c->bytes, len, __ATOMIC_RELAXED);
	return fd;
}

static void *map(struct worker *w, int h, int fd, size_t len)
{
	void *p = hl_map(fd, len);

	__atomic_add_fetch(&ctr(h)->calls, 1, __ATOMIC_RELAXED);
	if (!p) {
		count_err(ctr(h), errno, false);
		fail("%s: %s: mmap %zu bytes: %s", w->s->name, w->o->heaps[h], len,
		     strerror(errno));
	}
	return p;
}

static void verify_failed(struct worker *w, int h, const char *what, size_t len, long off)
{
	__atomic_add_fetch(&ctr(h)->verify_failures, 1, __ATOMIC_RELAXED);
	fail("%s: %s: %s (buffer of %zu bytes, offset %ld, seed %llu)", w->s->name,
	     w->o->heaps[h], what, len, off, (unsigned long long)w->o->seed);
}

/* A new buffer must hold no byte of anyone's old data. */
static int check_zero(struct worker *w, int h, const void *p, size_t len)
{
	long off;

	if (!w->o->verify)
		return 0;
	off = hl_first_not(p, len, 0);
	if (off >= 0) {
		verify_failed(w, h, "new buffer is not zero", len, off);
		return -1;
	}
	return 0;
}

static int check_pat(struct worker *w, int h, const void *p, size_t len, uint64_t tag,
		     const char *what)
{
	long off;

	if (!w->o->verify)
		return 0;
	off = hl_check_pattern(p, len, tag);
	if (off >= 0) {
		verify_failed(w, h, what, len, off);
		return -1;
	}
	return 0;
}

static void done(int h)
{
	__atomic_add_fetch(&ctr(h)->ops, 1, __ATOMIC_RELAXED);
}

static uint64_t size_opt(struct worker *w, int i)
{
	return rnd_size(&w->rng, 4 * KiB, (uint64_t)w->opt[i] * KiB);
}

/* rand: random sizes on every heap; each new buffer reads as zero. */
static int op_rand(struct worker *w, int h)
{
	uint64_t len = size_opt(w, 0);
	int fd = alloc(w, h, len);
	void *p;

	if (fd < 0)
		return 0;
	if (w->o->verify) {
		p = map(w, h, fd, len);
		if (p) {
			check_zero(w, h, p, len);
			munmap(p, len);
		}
	}
	close(fd);
	done(h);
	return 0;
}

/* pattern: alloc, mmap, touch, verify, rewrite, verify, munmap, close. */
static int op_pattern(struct worker *w, int h)
{
	uint64_t len = size_opt(w, 0), tag;
	int fd = alloc(w, h, len), r;
	void *p;

	if (fd < 0)
		return 0;
	p = map(w, h, fd, len);
	if (p) {
		check_zero(w, h, p, len);
		for (r = 0; r < w->opt[1]; r++) {
			tag = rnd(&w->rng);
			hl_fill_pattern(p, len, tag);
			check_pat(w, h, p, len, tag, "pattern did not survive");
		}
		munmap(p, len);
	}
	close(fd);
	done(h);
	return 0;
}

/* sync: CPU access bracketed by DMA_BUF_IOCTL_SYNC; bad flags get EINVAL. */
static int op_sync(struct worker *w, int h)
{
	static const uint64_t dir[] = { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW };
	uint64_t len = size_opt(w, 0), tag = 0, d;
	int fd = alloc(w, h, len), r;
	void *p;

	if (fd < 0)
		return 0;
	p = map(w, h, fd, len);
	if (!p)
		goto out;
	for (r = 0; r < w->opt[1]; r++) {
		d = dir[rnd(&w->rng) % 3];
		if (hl_sync(fd, DMA_BUF_SYNC_START | d))
			goto sync_err;
		/* what the last writer left: zero at first, then its pattern */
		if (!tag)
			check_zero(w, h, p, len);
		else
			check_pat(w, h, p, len, tag, "pattern lost across a sync");
		if (d & DMA_BUF_SYNC_WRITE) {
			tag = rnd(&w->rng) | 1;
			hl_fill_pattern(p, len, tag);
		}
		if (hl_sync(fd, DMA_BUF_SYNC_END | d))
			goto sync_err;
		__atomic_add_fetch(&ctr(h)->calls, 2, __ATOMIC_RELAXED);
	}
	/* Flags outside the ABI are refused with EINVAL, never half-applied. */
	if (!hl_sync(fd, DMA_BUF_SYNC_RW | (1ull << rnd_range(&w->rng, 3, 63))) || errno != EINVAL)
		verify_failed(w, h, "sync with bad flags not refused with EINVAL", len, 0);
	munmap(p, len);
	goto out;
sync_err:
	count_err(ctr(h), errno, false);
	fail("%s: %s: DMA_BUF_IOCTL_SYNC: %s", w->s->name, w->o->heaps[h], strerror(errno));
	munmap(p, len);
out:
	close(fd);
	done(h);
	return 0;
}

/* The other side of a share: map @fd, check @tag, write @tag2. */
static int peer(int fd, size_t len, uint64_t tag, uint64_t tag2)
{
	void *p = hl_map(fd, len);
	int bad;

	if (!p)
		return 2;
	bad = hl_check_pattern(p, len, tag) >= 0;
	hl_fill_pattern(p, len, tag2);
	munmap(p, len);
	return bad;
}

static int send_fd(int sock, int fd)
{
	char c = 'f', cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * share: the same buffer through dup, through fork, and through SCM_RIGHTS
 * to another process; each side sees the other's writes.
 */
static int op_share(struct worker *w, int h)
{
	uint64_t len = size_opt(w, 0), tag = rnd(&w->rng), tag2 = rnd(&w->rng);
	int fd = alloc(w, h, len), mode = rnd(&w->rng) % 3, sv[2], st = 0, fd2;
	const char *how[] = { "dup", "fork", "SCM_RIGHTS" };
	char what[64];
	pid_t pid;
	void *p;

	if (fd < 0)
		return 0;
	p = map(w, h, fd, len);
	if (!p)
		goto out;
	hl_fill_pattern(p, len, tag);
	if (mode == 0) {
		fd2 = dup(fd);
		st = fd2 < 0 ? 2 : peer(fd2, len, tag, tag2);
		if (fd2 >= 0)
			close(fd2);
	} else {
		if (mode == 2 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			goto err;
		/* A forked multithreaded process may only use async-signal-safe calls. */
		pid = fork();
		if (pid < 0) {
			if (mode == 2) {
				close(sv[0]);
				close(sv[1]);
			}
			goto err;
		}
		if (!pid) {
			if (mode == 1)
				_exit(peer(fd, len, tag, tag2));
			close(fd);
			close(sv[0]);
			fd2 = recv_fd(sv[1]);
			_exit(fd2 < 0 ? 3 : peer(fd2, len, tag, tag2));
		}
		if (mode == 2) {
			close(sv[1]);
			if (send_fd(sv[0], fd))
				kill(pid, SIGKILL);
			close(sv[0]);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
			st = 4;
		else
			st = WEXITSTATUS(st);
	}
	__atomic_add_fetch(&ctr(h)->calls, 2, __ATOMIC_RELAXED);
	if (st) {
		snprintf(what, sizeof(what), "%s: the peer saw a wrong pattern or failed (%d)",
			 how[mode], st);
		verify_failed(w, h, what, len, 0);
	} else {
		snprintf(what, sizeof(what), "%s: the peer's writes are not visible", how[mode]);
		check_pat(w, h, p, len, tag2, what);
	}
	munmap(p, len);
	goto out;
err:
	count_err(ctr(h), errno, errno == ENOMEM || errno == EAGAIN);
	munmap(p, len);
out:
	close(fd);
	done(h);
	return 0;
}

/*
 * vgem: a DRM driver imports the buffer (attach, map_dma_buf) and exports
 * it back; the fd it returns is the same buffer, pattern and all.
 */
static int op_vgem(struct worker *w, int h)
{
	uint64_t len = size_opt(w, 0), tag = rnd(&w->rng);
	struct drm_prime_handle imp = { 0 }, exp = { 0 };
	struct drm_gem_close gc = { 0 };
	int fd, vgem = hl_open_vgem();
	void *p, *q;

	if (vgem < 0) {
		fail("vgem: no vgem device in /dev/dri (CONFIG_DRM_VGEM?)");
		return -1;
	}
	fd = alloc(w, h, len);
	if (fd < 0)
		goto out_vgem;
	p = map(w, h, fd, len);
	if (!p)
		goto out;
	hl_fill_pattern(p, len, tag);
	imp.fd = fd;
	if (ioctl(vgem, DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp)) {
		count_err(ctr(h), errno, errno == ENOMEM);
		if (errno != ENOMEM)
			fail("vgem: %s: import: %s", w->o->heaps[h], strerror(errno));
		goto unmap;
	}
	exp.handle = imp.handle;
	exp.flags = DRM_CLOEXEC | DRM_RDWR;
	if (!ioctl(vgem, DRM_IOCTL_PRIME_HANDLE_TO_FD, &exp)) {
		q = hl_map(exp.fd, len);
		if (q) {
			check_pat(w, h, q, len, tag, "vgem: the re-exported buffer lost the pattern");
			munmap(q, len);
		}
		close(exp.fd);
	} else {
		count_err(ctr(h), errno, errno == ENOMEM);
	}
	gc.handle = imp.handle;
	if (ioctl(vgem, DRM_IOCTL_GEM_CLOSE, &gc))
		fail("vgem: GEM_CLOSE: %s", strerror(errno));
	__atomic_add_fetch(&ctr(h)->calls, 3, __ATOMIC_RELAXED);
	check_pat(w, h, p, len, tag, "vgem: pattern lost across import");
unmap:
	munmap(p, len);
out:
	close(fd);
	done(h);
out_vgem:
	close(vgem);
	return 0;
}

/* devopen: open and close the device races allocations on other fds. */
static int op_devopen(struct worker *w, int h)
{
	int dev = open(w->o->heaps[h], O_RDWR | O_CLOEXEC), fd = -1, err = 0;

	__atomic_add_fetch(&ctr(h)->calls, 1, __ATOMIC_RELAXED);
	if (dev < 0) {
		count_err(ctr(h), errno, false);
		fail("devopen: open %s: %s", w->o->heaps[h], strerror(errno));
		return 0;
	}
	if (rnd(&w->rng) % 2) {
		fd = hl_alloc_rw(dev, 4 * KiB << (rnd(&w->rng) % 4));
		err = errno;
		__atomic_add_fetch(&ctr(h)->calls, 1, __ATOMIC_RELAXED);
		if (fd < 0) {
			count_err(ctr(h), err, err == ENOMEM);
			if (err != ENOMEM)
				fail("devopen: alloc: %s", strerror(err));
		}
	}
	/* Either order: a buffer outlives the device fd it came from. */
	if (rnd(&w->rng) % 2) {
		close(dev);
		dev = -1;
	}
	if (fd >= 0)
		close(fd);
	if (dev >= 0)
		close(dev);
	done(h);
	return 0;
}

static const char *heap_module(const char *heap)
{
	return strstr(heap, "/system") ? "heaplab_system_heap" : "heaplab_cma_heap";
}

/*
 * unload: while a device fd, a buffer or a bare mapping holds a heap,
 * unloading the heap or the framework must be refused (EWOULDBLOCK or
 * EBUSY). A success would leave live buffers pointing into freed code: it
 * is reported, and the module loaded back.
 */
static int op_unload(struct worker *w, int h)
{
	const char *mods[] = { heap_module(w->o->heaps[h]), "heaplab_heap" };
	int dev = open(w->o->heaps[h], O_RDWR | O_CLOEXEC), fd = -1, how, i, err = 0;
	void *p = NULL;

	if (dev < 0) {
		count_err(ctr(h), errno, false);
		fail("unload: open %s: %s", w->o->heaps[h], strerror(errno));
		return 0;
	}
	how = rnd(&w->rng) % 3;
	if (how) {
		fd = hl_alloc_rw(dev, 16 * KiB);
		err = errno;
		if (fd < 0) {
			count_err(ctr(h), err, err == ENOMEM);
			close(dev);
			return 0;
		}
		close(dev);
		dev = -1;
		if (how == 2) {	/* only the mapping holds it */
			p = hl_map(fd, 16 * KiB);
			close(fd);
			fd = -1;
		}
	}
	for (i = 0; i < 2; i++) {
		__atomic_add_fetch(&ctr(h)->calls, 1, __ATOMIC_RELAXED);
		if (!syscall(SYS_delete_module, mods[i], O_NONBLOCK)) {
			char path[512];
			int ko;

			verify_failed(w, h, "a busy module unloaded", 0, 0);
			snprintf(path, sizeof(path), "%s/%s.ko", w->o->kmod_dir ? w->o->kmod_dir : ".",
				 mods[i]);
			ko = open(path, O_RDONLY | O_CLOEXEC);
			if (ko < 0 || syscall(SYS_finit_module, ko, i ? "devdir=heaplab" : "", 0))
				fail("unload: could not load %s back", path);
			if (ko >= 0)
				close(ko);
			return -1;
		}
		count_err(ctr(h), errno, errno == EWOULDBLOCK || errno == EBUSY);
		if (errno != EWOULDBLOCK && errno != EBUSY)
			fail("unload: delete_module(%s): %s", mods[i], strerror(errno));
	}
	if (p)
		munmap(p, 16 * KiB);
	if (fd >= 0)
		close(fd);
	if (dev >= 0)
		close(dev);
	done(h);
	return 0;
}

/* The stressors, described once; heaplab-stress list [--json] prints them. */
const struct stressor stressors[] = {
	{
		.name = "rand",
		.help = "random sizes on every heap; verify: each new buffer reads as zero",
		.opts = { { "max_kb", 4, 262144, 4096, "largest size, KiB" } },
		.op = op_rand,
	},
	{
		.name = "pattern",
		.help = "alloc, mmap, verify zero, write and verify patterns, munmap, close",
		.opts = { { "max_kb", 4, 262144, 1024, "largest size, KiB" },
			  { "rounds", 1, 64, 2, "patterns written per buffer" } },
		.op = op_pattern,
	},
	{
		.name = "sync",
		.help = "CPU access bracketed by DMA_BUF_IOCTL_SYNC; bad flags get EINVAL",
		.opts = { { "max_kb", 4, 262144, 256, "largest size, KiB" },
			  { "rounds", 1, 64, 4, "sync pairs per buffer" } },
		.op = op_sync,
	},
	{
		.name = "share",
		.help = "dup, fork, and SCM_RIGHTS to another process; each sees the other's writes",
		.opts = { { "max_kb", 4, 262144, 256, "largest size, KiB" } },
		.op = op_share,
	},
	{
		.name = "vgem",
		.help = "import through vgem (attach, map_dma_buf), export back, compare",
		.opts = { { "max_kb", 4, 262144, 1024, "largest size, KiB" } },
		.op = op_vgem,
	},
	{
		.name = "devopen",
		.help = "open and close the heap devices while allocating",
		.op = op_devopen,
	},
	{
		.name = "unload",
		.help = "try to unload heaplab's modules while a buffer, mapping or fd holds them",
		.heaplab_only = true,	/* only heaplab's heaps are modules */
		.op = op_unload,
	},
};
const size_t nstressors = sizeof(stressors) / sizeof(stressors[0]);
