// SPDX-License-Identifier: GPL-2.0
/*
 * fault: the kernel's failslab and fail_page_alloc, limited to this task
 * (task-filter, /proc/thread-self/make-it-fail), swept over probabilities
 * and intervals. Injection is on only around the calls into the heap and
 * the dma-buf (alloc, sync, vgem import and export), never while this task
 * touches memory, so a page fault never sees it. Every failure must be a
 * clean ENOMEM; the buffers that did come back must read as zero; the
 * injected count comes from the attribute's "times" budget.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <drm/drm.h>

#include "stress.h"

#define DBG "/sys/kernel/debug/"
#define TIMES 1000000000L

/*
 * Kept open: opening the file allocates, so with injection on, a fresh open
 * to turn it off could itself be failed, and injection would stay on.
 */
static int make_it_fail = -1;

static int self_fail(int on)
{
	int tries;

	for (tries = 0; tries < 1000; tries++)
		if (pwrite(make_it_fail, on ? "1" : "0", 1, 0) == 1)
			return 0;
	return -1;
}

static int attr_set(const char *attr, const char *knob, const char *val)
{
	char p[128];
	int ret;

	snprintf(p, sizeof(p), DBG "%s/%s", attr, knob);
	ret = hl_write_str(p, val) ? -errno : 0;
	if (ret)
		fail("fault: %s: %s", p, strerror(-ret));
	return ret;
}

static long attr_times(const char *attr)
{
	char p[128];

	snprintf(p, sizeof(p), DBG "%s/times", attr);
	return hl_read_num(p);
}

/* The filters first and the probability last: never a moment of global failure. */
static int attr_setup(const char *attr, int prob, int interval)
{
	char v[32];
	int ret = 0;

	ret |= attr_set(attr, "probability", "0");
	ret |= attr_set(attr, "task-filter", "Y");
	ret |= attr_set(attr, "space", "0");
	ret |= attr_set(attr, "verbose", "0");
	/* GFP_KERNEL may sleep: failing only atomic allocations tests little */
	ret |= attr_set(attr, "ignore-gfp-wait", "N");
	if (!strcmp(attr, "fail_page_alloc")) {
		ret |= attr_set(attr, "ignore-gfp-highmem", "N");
		ret |= attr_set(attr, "min-order", "0");
	}
	snprintf(v, sizeof(v), "%d", interval);
	ret |= attr_set(attr, "interval", v);
	snprintf(v, sizeof(v), "%ld", TIMES);
	ret |= attr_set(attr, "times", v);
	if (ret)
		return ret;
	snprintf(v, sizeof(v), "%d", prob);
	return attr_set(attr, "probability", v);
}

static void attr_off(const char *attr)
{
	attr_set(attr, "probability", "0");
	attr_set(attr, "times", "1");
}

struct step_ctx {
	struct counters *c;
	const char *heap;
	const char *attr;
};

/* A failure under injection: ENOMEM is clean, anything else is not. */
static void injected_err(struct step_ctx *x, const char *what, int err)
{
	count_err(x->c, err, err == ENOMEM);
	if (err != ENOMEM)
		fail("fault: %s: %s: %s under %s: %s, not ENOMEM", x->heap, what,
		     strerror(err), x->attr, hl_errname(err));
}

/* One op: alloc, sync and vgem round trip under injection; verify outside. */
static void fault_op(struct step_ctx *x, int heap, int vgem, uint64_t *rng, bool verify)
{
	uint64_t len = rnd_size(rng, 4096, 1 << 20);
	struct drm_prime_handle imp = { 0 }, exp = { 0 };
	struct drm_gem_close gc = { 0 };
	int fd, err = 0, r;
	void *p;

	self_fail(1);
	fd = hl_alloc_rw(heap, len);
	err = errno;
	self_fail(0);
	x->c->calls++;
	if (fd < 0) {
		injected_err(x, "alloc", err);
		return;
	}
	x->c->bytes += len;
	p = hl_map(fd, len);
	if (p) {
		long off = verify ? hl_first_not(p, len, 0) : -1;

		if (off >= 0) {
			x->c->verify_failures++;
			fail("fault: %s: a buffer allocated under %s is not zero at %ld", x->heap,
			     x->attr, off);
		}
	}
	self_fail(1);
	r = hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	err = errno;
	self_fail(0);
	x->c->calls++;
	if (r)
		injected_err(x, "sync start", err);
	else if (hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW))
		fail("fault: %s: sync end: %s", x->heap, strerror(errno));
	if (vgem >= 0) {
		imp.fd = fd;
		self_fail(1);
		r = ioctl(vgem, DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp);
		err = errno;
		self_fail(0);
		x->c->calls++;
		if (r) {
			injected_err(x, "vgem import", err);
		} else {
			exp.handle = imp.handle;
			exp.flags = DRM_CLOEXEC | DRM_RDWR;
			self_fail(1);
			r = ioctl(vgem, DRM_IOCTL_PRIME_HANDLE_TO_FD, &exp);
			err = errno;
			self_fail(0);
			x->c->calls++;
			if (r)
				injected_err(x, "vgem export", err);
			else
				close(exp.fd);
			gc.handle = imp.handle;
			ioctl(vgem, DRM_IOCTL_GEM_CLOSE, &gc);
		}
	}
	if (p)
		munmap(p, len);
	close(fd);
	x->c->ops++;
}

int run_fault(struct opts *o, struct json_object *root)
{
	static const char *const attrs[] = { "failslab", "fail_page_alloc" };
	static const int probs[] = { 5, 25, 100 }, intervals[] = { 1, 7 };
	const int nsteps = 2 * 3 * 2;
	double per_step = o->duration / nsteps / o->nheaps;
	struct json_object *steps = json_object_new_array();
	uint64_t rng = o->seed;
	int a, pi, ii, h, failed = 0, vgem = hl_open_vgem();

	make_it_fail = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
	if (make_it_fail < 0 || self_fail(0)) {
		fail("fault: /proc/thread-self/make-it-fail: not writable (CONFIG_FAULT_INJECTION?)");
		return 1;
	}
	if (vgem < 0)
		fail("fault: no vgem device: the import paths go untested");
	for (a = 0; a < 2; a++)
		for (pi = 0; pi < 3; pi++)
			for (ii = 0; ii < 2; ii++)
				for (h = 0; h < o->nheaps; h++) {
					struct counters c = { 0 };
					struct step_ctx x = { &c, o->heaps[h], attrs[a] };
					struct json_object *s;
					double end = hl_now_s() + per_step;
					long before, injected;
					int heap = open(o->heaps[h], O_RDWR | O_CLOEXEC);

					if (heap < 0 || attr_setup(attrs[a], probs[pi], intervals[ii])) {
						failed = 1;
						if (heap >= 0)
							close(heap);
						continue;
					}
					before = attr_times(attrs[a]);
					while (hl_now_s() < end)
						fault_op(&x, heap, vgem, &rng, o->verify);
					injected = before - attr_times(attrs[a]);
					attr_off(attrs[a]);
					close(heap);
					fprintf(stderr, "fault: %-15s p=%3d%% interval=%d %-22s ops %5llu injected %6ld ENOMEM %llu\n",
						attrs[a], probs[pi], intervals[ii], o->heaps[h],
						(unsigned long long)c.ops, injected,
						(unsigned long long)c.errors[ENOMEM]);
					s = counters_json(&c);
					json_object_object_add(s, "attr", json_object_new_string(attrs[a]));
					json_object_object_add(s, "probability", json_object_new_int(probs[pi]));
					json_object_object_add(s, "interval", json_object_new_int(intervals[ii]));
					json_object_object_add(s, "heap", json_object_new_string(o->heaps[h]));
					json_object_object_add(s, "injected", json_object_new_int64(injected));
					json_object_array_add(steps, s);
					if (!c.ops && !c.calls) {
						fail("fault: %s %s: no call made", attrs[a], o->heaps[h]);
						failed = 1;
					}
					failed |= c.unexpected || c.verify_failures;
				}
	if (vgem >= 0)
		close(vgem);
	close(make_it_fail);
	json_object_object_add(root, "fault", steps);
	return failed;
}
