// SPDX-License-Identifier: GPL-2.0
/* heaplab-stress: buffers, patterns, randomness and error counting. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <drm/drm.h>

#include "linux/heaplab-dma-heap.h"
#include "stress.h"

struct shared *shm;
int cur_stressor;

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: cheap, and a printed seed replays the same sequence. */
uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t rnd_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + rnd(s) % (hi - lo + 1);
}

/* Page multiples spread evenly over the log2 scale: small sizes are common. */
uint64_t rnd_size(uint64_t *s, uint64_t lo, uint64_t hi)
{
	int lb = 63 - __builtin_clzll(lo), hb = 63 - __builtin_clzll(hi);
	uint64_t v = 1ull << rnd_range(s, lb, hb), pg = sysconf(_SC_PAGESIZE);

	v = rnd_range(s, v, v * 2 - 1) & ~(pg - 1);
	return v < lo ? lo : v > hi ? hi : v;
}

int heap_alloc(int heap, uint64_t len, int *err)
{
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) < 0) {
		*err = errno;
		return -1;
	}
	return (int)d.fd;
}

void *map_buf(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

long first_not(const unsigned char *p, size_t len, unsigned char c)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t cw = 0x0101010101010101ull * c;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != cw)
			break;
	for (i *= 8; i < len; i++)
		if (p[i] != c)
			return (long)i;
	return -1;
}

/* Each word holds its offset mixed with @tag: a page in the wrong place shows. */
static inline uint64_t pat(uint64_t tag, size_t i)
{
	return (tag ^ (i * 0x9e3779b97f4a7c15ull)) | 1;
}

void fill_pattern(void *p, size_t len, uint64_t tag)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = pat(tag, i);
}

long check_pattern(const void *p, size_t len, uint64_t tag)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != pat(tag, i))
			return (long)(i * 8);
	return -1;
}

int buf_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

int open_vgem(void)
{
	char name[32], drv[16];
	int i, fd;

	for (i = 0; i < 16; i++) {
		struct drm_version v = { .name = drv, .name_len = sizeof(drv) - 1 };

		snprintf(name, sizeof(name), "/dev/dri/card%d", i);
		fd = open(name, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(drv, 0, sizeof(drv));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(drv, "vgem"))
			return fd;
		close(fd);
	}
	return -1;
}

const char *errname(int err)
{
	static const struct { int e; const char *n; } names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
		{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
		{ EEXIST, "EEXIST" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
		{ ENFILE, "ENFILE" }, { EMFILE, "EMFILE" }, { ENOTTY, "ENOTTY" },
		{ ENOSPC, "ENOSPC" }, { ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" },
		{ EOVERFLOW, "EOVERFLOW" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ ENXIO, "ENXIO" }, { E2BIG, "E2BIG" }, { EIO, "EIO" },
		{ ETIMEDOUT, "ETIMEDOUT" }, { EDEADLK, "EDEADLK" },
	};
	static char buf[16];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == err)
			return names[i].n;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

void count_err(struct counters *c, int err, bool expected)
{
	__atomic_add_fetch(&c->errors[err > 0 && err < MAX_ERRNO ? err : 0], 1, __ATOMIC_RELAXED);
	if (!expected)
		__atomic_add_fetch(&c->unexpected, 1, __ATOMIC_RELAXED);
}

struct counters *ctr(int h)
{
	return &shm->c[cur_stressor][h];
}

void fail(const char *fmt, ...)
{
	char msg[MSG_LEN];
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	i = __atomic_fetch_add(&shm->nmsgs, 1, __ATOMIC_RELAXED);
	/* the first few name the problem; the count says how often */
	if (i < MAX_MSGS) {
		fprintf(stderr, "heaplab-stress: FAIL: %s\n", msg);
		memcpy(shm->msgs[i], msg, sizeof(msg));
	} else if (i == MAX_MSGS) {
		fprintf(stderr, "heaplab-stress: more failures follow; only their count is kept\n");
	}
}

struct json_object *counters_json(const struct counters *c)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();
	int i;

	json_object_object_add(o, "ops", json_object_new_int64((int64_t)c->ops));
	json_object_object_add(o, "calls", json_object_new_int64((int64_t)c->calls));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)c->bytes));
	for (i = 0; i < MAX_ERRNO; i++)
		if (c->errors[i])
			json_object_object_add(e, i ? errname(i) : "other",
					       json_object_new_int64((int64_t)c->errors[i]));
	json_object_object_add(o, "errors", e);
	json_object_object_add(o, "unexpected_errors", json_object_new_int64((int64_t)c->unexpected));
	json_object_object_add(o, "verify_failures",
			       json_object_new_int64((int64_t)c->verify_failures));
	return o;
}
