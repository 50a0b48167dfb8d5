// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz: random DMA_HEAP_IOCTL_ALLOC commands (sizes, directions, numbers),
 * random fields and lengths, bad argument pointers, bad and closed fds,
 * random dma-buf ioctls on live buffers, and a close racing an allocation.
 * Bounded by --ops calls and --duration seconds, from a printed seed.
 *
 * Beyond "no crash": on heaplab's heaps the ABI is checked exactly (an
 * invalid request is refused, a valid one succeeds or gets ENOMEM), and on
 * every heap no call may leave an fd the caller was not told of.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/dma-buf.h>

#include "linux/heaplab-dma-heap.h"
#include "stress.h"

enum { A_HEAP, A_DMABUF, A_BADFD, A_RACE, A_VALID, A_NR };
static const char *const action_names[A_NR] = {
	"heap_ioctl", "dmabuf_ioctl", "bad_fd", "close_race", "valid_alloc",
};

struct fuzz {
	const struct opts *o;
	uint64_t rng;
	int heaps[HL_MAX_HEAPS];
	int base;			/* lowest fd the fuzzer does not own */
	int nullfd, buf;		/* /dev/null; a live dma-buf */
	size_t buf_len;
	unsigned char *ro, *hole;	/* a read-only page; an unmapped one */
	uint64_t ram;
	struct counters c[A_NR];
	uint64_t accepted_invalid, rejected_valid, stray_fds;
	/* the close-race partner thread */
	pthread_t racer;
	int race_fd, race_go, race_stop;
};

/*
 * Close every fd at or above @base: what a call returned, and anything it
 * installed without saying so. Returns how many were found.
 */
static int sweep_fds(struct fuzz *f, int expected)
{
	int fd, n = 0;

	for (fd = f->base; fd < f->base + 8; fd++)
		if (!close(fd) && fd != expected)
			n++;
	return n;
}

static uint64_t pick_len(struct fuzz *f)
{
	static const uint64_t fixed[] = { 0, 1, 4095, 4096, 4097, 65536, 1ull << 40,
					  ~0ull, ~0ull - 4095, ~0ull - 4096, 1ull << 63 };

	switch (rnd(&f->rng) % 4) {
	case 0: return fixed[rnd(&f->rng) % (sizeof(fixed) / sizeof(fixed[0]))];
	case 1: return rnd_range(&f->rng, 1, 65536);
	case 2: return 2 * f->ram + rnd_range(&f->rng, 0, 1 << 20);
	default: return rnd(&f->rng);
	}
}

/*
 * The request as a heap reads it: the first @in bytes, the rest zero. True
 * if the heap will try to allocate (command number aside).
 */
static bool abi_eval(const struct dma_heap_allocation_data *d, size_t in,
		     struct dma_heap_allocation_data *good)
{
	memset(good, 0, sizeof(*good));
	memcpy(good, d, in < sizeof(*good) ? in : sizeof(*good));
	return good->len && good->len <= ~0ull - 4095 && !good->fd &&
	       !(good->fd_flags & ~(O_CLOEXEC | O_ACCMODE)) && !good->heap_flags;
}

/* One random DMA_HEAP_IOCTL_ALLOC-like call on a random heap. */
static void fuzz_heap(struct fuzz *f)
{
	struct dma_heap_allocation_data good;
	union { struct dma_heap_allocation_data d; unsigned char b[64]; } u;
	int h = rnd(&f->rng) % f->o->nheaps, r, err, dir, size, nr, i;
	const char *heap = f->o->heaps[h];
	/* heaplab's heaps check more than upstream's: which one, by hl_heap_impl() */
	bool ours = f->o->heaplab[h];
	unsigned int cmd;
	size_t in, out;
	void *arg = &u;
	bool valid, abi_ok;

	for (i = 0; i < 64; i += 8)
		*(uint64_t *)(u.b + i) = rnd(&f->rng);
	u.d.len = pick_len(f);
	u.d.fd = rnd(&f->rng) % 4 ? 0 : (uint32_t)rnd(&f->rng);
	u.d.fd_flags = rnd(&f->rng) % 2 ? O_RDWR | O_CLOEXEC :
		       rnd(&f->rng) % 2 ? (uint32_t)rnd(&f->rng) : 1u << (rnd(&f->rng) % 32);
	u.d.heap_flags = rnd(&f->rng) % 2 ? 0 : 1ull << (rnd(&f->rng) % 64);
	/* the command: mostly the right one, else near misses, else noise */
	switch (rnd(&f->rng) % 8) {
	case 0: cmd = (uint32_t)rnd(&f->rng); break;
	case 1: case 2: case 3:
		cmd = DMA_HEAP_IOCTL_ALLOC;
		break;
	default:
		dir = rnd(&f->rng) % 4;
		size = rnd(&f->rng) % 2 ? rnd_range(&f->rng, 0, 40) : rnd_range(&f->rng, 0, 64);
		nr = rnd(&f->rng) % 4 ? 0 : rnd_range(&f->rng, 0, 255);
		cmd = _IOC((unsigned int)dir, rnd(&f->rng) % 8 ? 'H' : (unsigned int)rnd_range(&f->rng, 0, 255),
			   (unsigned int)nr, (unsigned int)size);
	}
	switch (rnd(&f->rng) % 32) {
	case 0: arg = NULL; break;
	case 1: arg = f->hole; break;
	case 2: arg = f->ro; break;
	}

	/* What heaplab's ABI says of it: the fields as the kernel will read them. */
	in = (cmd & DMA_HEAP_IOCTL_ALLOC & IOC_IN) ? _IOC_SIZE(cmd) : 0;
	out = (cmd & DMA_HEAP_IOCTL_ALLOC & IOC_OUT) ? _IOC_SIZE(cmd) : 0;
	abi_ok = abi_eval(&u.d, in, &good) && (arg == (void *)&u || arg == f->ro);
	/*
	 * A request the heap would really serve costs an allocation: keep the
	 * sizes small, and most such requests one field short of valid. Sizes
	 * beyond RAM stay (they must fail fast with ENOMEM), except on
	 * upstream's 6.1 system heap, whose order-0 allocations may call the
	 * OOM killer: a huge request there would kill someone.
	 */
	if (abi_ok && good.len > 65536 &&
	    (good.len <= f->ram || (!ours && strstr(heap, "system")))) {
		u.d.len = 4096;
		abi_ok = abi_eval(&u.d, in, &good);
	}
	/*
	 * Under the debug kernel an allocation costs milliseconds, a refused
	 * call microseconds: let 1 in 64 through, and turn the rest invalid
	 * by one field (the fd, or the command number when the fd is not read).
	 */
	if (abi_ok && _IOC_NR(cmd) == 0 && good.len <= f->ram && rnd(&f->rng) % 64) {
		if (in >= 12) {
			u.d.fd = 1;
			abi_ok = abi_eval(&u.d, in, &good);
		} else {
			cmd |= 1u << _IOC_NRSHIFT;
		}
	}
	if (arg == f->ro) {	/* readable, so the kernel gets as far as the copy out */
		mprotect(f->ro, 4096, PROT_READ | PROT_WRITE);
		memcpy(f->ro, &u, sizeof(u.d));
		mprotect(f->ro, 4096, PROT_READ);
	}
	valid = abi_ok && _IOC_NR(cmd) == 0 && out >= 12 && arg == (void *)&u;

	r = ioctl(f->heaps[h], cmd, arg);
	err = errno;
	f->c[A_HEAP].calls++;
	if (r) {
		count_err(&f->c[A_HEAP], err, true);
		if (ours && valid && err != ENOMEM) {
			f->rejected_valid++;
			fail("fuzz: %s: a valid request (len %llu, cmd %#x) failed with %s, seed %llu",
			     heap, (unsigned long long)good.len, cmd, hl_errname(err),
			     (unsigned long long)f->o->seed);
		}
	} else if (ours && !valid) {
		f->accepted_invalid++;
		fail("fuzz: %s: an invalid request was accepted (cmd %#x, len %llu, fd %u, fd_flags %#x, heap_flags %#llx), seed %llu",
		     heap, cmd, (unsigned long long)good.len, good.fd, good.fd_flags,
		     (unsigned long long)good.heap_flags, (unsigned long long)f->o->seed);
	}
	/* fds appear only when a call succeeds: what it returned, or a stray */
	if (!r && sweep_fds(f, out >= 12 && arg == (void *)&u ? (int)u.d.fd : -1)) {
		f->stray_fds++;
		if (ours)
			fail("fuzz: %s: cmd %#x left an fd the caller was not given", heap, cmd);
	}
	f->c[A_HEAP].ops++;
}

/* Random dma-buf ioctls on a live buffer: sync flags, names, noise. */
static void fuzz_dmabuf(struct fuzz *f)
{
	unsigned char b[64];
	int i, r;
	unsigned int cmd;

	for (i = 0; i < 64; i += 8)
		*(uint64_t *)(b + i) = rnd(&f->rng);
	switch (rnd(&f->rng) % 4) {
	case 0:
		cmd = DMA_BUF_IOCTL_SYNC;
		/* a valid START is always paired with its END below */
		break;
	case 1:
		cmd = rnd(&f->rng) % 2 ? DMA_BUF_SET_NAME_A : DMA_BUF_SET_NAME_B;
		b[rnd(&f->rng) % 64] = 0;
		break;
	default:
		cmd = _IOC((unsigned int)(rnd(&f->rng) % 4), 'b', (unsigned int)rnd_range(&f->rng, 0, 8),
			   (unsigned int)rnd_range(&f->rng, 0, 32));
	}
	r = ioctl(rnd(&f->rng) % 8 ? f->buf : f->nullfd, cmd, rnd(&f->rng) % 16 ? b : NULL);
	f->c[A_DMABUF].calls++;
	if (r)
		count_err(&f->c[A_DMABUF], errno, true);
	else if (cmd == DMA_BUF_IOCTL_SYNC && (((struct dma_buf_sync *)b)->flags & DMA_BUF_SYNC_END) == 0)
		hl_sync(f->buf, (((struct dma_buf_sync *)b)->flags & DMA_BUF_SYNC_RW) | DMA_BUF_SYNC_END);
	if (!r)
		sweep_fds(f, -1);	/* an export-sync-file may hand one out */
	f->c[A_DMABUF].ops++;
}

/* The allocation ioctl on fds that are not heaps, or not open. */
static void fuzz_badfd(struct fuzz *f)
{
	int fds[] = { -1, f->base + 4, 100000, f->nullfd, f->buf };
	int fd = fds[rnd(&f->rng) % 5], buf = hl_alloc_rw(fd, 4096);

	if (buf >= 0) {
		fail("fuzz: DMA_HEAP_IOCTL_ALLOC succeeded on fd %d, not a heap", fd);
		close(buf);
	} else {
		bool ok = errno == EBADF || errno == ENOTTY || errno == EINVAL;

		count_err(&f->c[A_BADFD], errno, ok);
		if (!ok)
			fail("fuzz: DMA_HEAP_IOCTL_ALLOC on fd %d: %s", fd, strerror(errno));
	}
	f->c[A_BADFD].calls++;
	f->c[A_BADFD].ops++;
}

static void *racer(void *arg)
{
	struct fuzz *f = arg;

	while (!__atomic_load_n(&f->race_stop, __ATOMIC_ACQUIRE)) {
		int fd;

		if (!__atomic_load_n(&f->race_go, __ATOMIC_ACQUIRE)) {
			sched_yield();
			continue;
		}
		fd = __atomic_load_n(&f->race_fd, __ATOMIC_RELAXED);
		close(fd);	/* the heap fd in use */
		close(fd + 1);	/* the fd the allocation is installing */
		__atomic_store_n(&f->race_go, 0, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* A close of the heap fd, and of the new buffer's, racing the allocation. */
static void fuzz_race(struct fuzz *f)
{
	int h = rnd(&f->rng) % f->o->nheaps, fd = dup(f->heaps[h]);

	if (fd < 0)
		return;
	__atomic_store_n(&f->race_fd, fd, __ATOMIC_RELAXED);
	__atomic_store_n(&f->race_go, 1, __ATOMIC_RELEASE);
	if (hl_alloc_rw(fd, 4096 << (rnd(&f->rng) % 3)) < 0)
		count_err(&f->c[A_RACE], errno, errno == EBADF || errno == ENOMEM);
	while (__atomic_load_n(&f->race_go, __ATOMIC_ACQUIRE))
		sched_yield();
	sweep_fds(f, -1);
	f->c[A_RACE].calls += 4;
	f->c[A_RACE].ops++;
}

/* A real allocation, then mmap with random offsets and lengths. */
static void fuzz_valid(struct fuzz *f)
{
	int h = rnd(&f->rng) % f->o->nheaps, err = 0, fd;
	uint64_t len = rnd_size(&f->rng, 4096, 65536);
	size_t mlen = rnd_range(&f->rng, 1, 2 * len);
	off_t off = (off_t)rnd_range(&f->rng, 0, 20) * 4096;
	void *p;

	fd = hl_alloc_rw(f->heaps[h], len);
	err = errno;
	f->c[A_VALID].calls++;
	if (fd < 0) {
		count_err(&f->c[A_VALID], err, err == ENOMEM);
		if (err != ENOMEM)
			fail("fuzz: %s: alloc %llu: %s", f->o->heaps[h], (unsigned long long)len,
			     strerror(err));
		return;
	}
	p = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	f->c[A_VALID].calls++;
	if (p == MAP_FAILED) {
		count_err(&f->c[A_VALID], errno, errno == EINVAL || errno == ENXIO);
	} else {
		/* a mapping beyond the buffer must never be handed out */
		if ((uint64_t)off + mlen > ((len + 4095) & ~4095ull) && f->o->heaplab[h])
			fail("fuzz: %s: mmap of %zu at %lld beyond a %llu-byte buffer succeeded",
			     f->o->heaps[h], mlen, (long long)off, (unsigned long long)len);
		else if (hl_first_not(p, mlen < 4096 ? mlen : 4096, 0) >= 0)
			fail("fuzz: %s: a new buffer is not zero", f->o->heaps[h]);
		munmap(p, mlen);
	}
	close(fd);
	f->c[A_VALID].ops++;
}

/* One fuzzing process: @ops calls from its own seed, unless time runs out. */
static void fuzz_proc(struct fuzz *f, const struct opts *o, uint64_t seed, long ops, double end)
{
	double start = hl_now_s(), last = start;
	uint64_t calls = 0, i;
	struct sysinfo si;
	int a, h, err = 0;

	f->o = o;
	f->rng = seed;
	sysinfo(&si);
	f->ram = (uint64_t)si.totalram * si.mem_unit;
	for (h = 0; h < o->nheaps; h++) {
		f->heaps[h] = open(o->heaps[h], O_RDWR | O_CLOEXEC);
		if (f->heaps[h] < 0) {
			fail("fuzz: %s: %s", o->heaps[h], strerror(errno));
			return;
		}
	}
	f->nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	f->buf_len = 65536;
	f->buf = hl_alloc_rw(f->heaps[0], f->buf_len);
	err = errno;
	f->ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f->hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->buf < 0 || f->ro == MAP_FAILED || f->hole == MAP_FAILED ||
	    mprotect(f->ro, 4096, PROT_READ) || munmap(f->hole, 4096)) {
		fail("fuzz: setup failed: %s", strerror(err ? err : errno));
		return;
	}
	/* everything from here up is the calls' own */
	f->base = dup(f->nullfd);
	close(f->base);
	if (pthread_create(&f->racer, NULL, racer, f)) {
		fail("fuzz: pthread_create failed");
		return;
	}

	for (i = 0; calls < (uint64_t)ops; i++) {
		unsigned int x = rnd(&f->rng) % 1000;

		/* real allocations (races, valid) are rare: each costs milliseconds */
		if (x < 700)
			fuzz_heap(f);
		else if (x < 850)
			fuzz_dmabuf(f);
		else if (x < 993)
			fuzz_badfd(f);
		else if (x < 997)
			fuzz_race(f);
		else
			fuzz_valid(f);
		calls = 0;
		for (a = 0; a < A_NR; a++)
			calls += f->c[a].calls;
		if (!(i & 1023)) {
			double t = hl_now_s();

			if (t > end) {
				fail("fuzz: --duration %.0f s ran out after %llu of %ld calls",
				     o->duration, (unsigned long long)calls, ops);
				break;
			}
			if (t - last > 10) {
				last = t;
				fprintf(stderr, "fuzz: %.0f s, %llu calls\n", t - start,
					(unsigned long long)calls);
			}
		}
	}
	__atomic_store_n(&f->race_stop, 1, __ATOMIC_RELEASE);
	pthread_join(f->racer, NULL);
	close(f->buf);
	close(f->nullfd);
	for (h = 0; h < o->nheaps; h++)
		close(f->heaps[h]);
	munmap(f->ro, 4096);
}

/* --procs processes fuzz at once, each from seed + its index: both vCPUs busy. */
int run_fuzz(struct opts *o, struct json_object *root)
{
	struct json_object *j = json_object_new_object(), *acts = json_object_new_object();
	double start = hl_now_s(), end = start + o->duration;
	struct fuzz *fs, sum = { 0 };
	uint64_t calls = 0;
	int p, a, e, st, failed = 0;
	pid_t pids[64];

	fs = mmap(NULL, sizeof(*fs) * o->procs, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fs == MAP_FAILED) {
		fail("fuzz: mmap: %s", strerror(errno));
		return 1;
	}
	for (p = 0; p < o->procs; p++) {
		long ops = o->ops / o->procs + (p < o->ops % o->procs);

		pids[p] = fork();
		if (pids[p] < 0) {
			fail("fuzz: fork: %s", strerror(errno));
			return 1;
		}
		if (!pids[p]) {
			fuzz_proc(&fs[p], o, o->seed + p, ops, end);
			_exit(0);
		}
	}
	for (p = 0; p < o->procs; p++) {
		if (waitpid(pids[p], &st, 0) != pids[p] || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fail("fuzz: process %d (seed %llu) died: status %#x", p,
			     (unsigned long long)(o->seed + p), st);
			failed = 1;
		}
		for (a = 0; a < A_NR; a++) {
			sum.c[a].ops += fs[p].c[a].ops;
			sum.c[a].calls += fs[p].c[a].calls;
			sum.c[a].unexpected += fs[p].c[a].unexpected;
			sum.c[a].verify_failures += fs[p].c[a].verify_failures;
			for (e = 0; e < MAX_ERRNO; e++)
				sum.c[a].errors[e] += fs[p].c[a].errors[e];
		}
		sum.accepted_invalid += fs[p].accepted_invalid;
		sum.rejected_valid += fs[p].rejected_valid;
		sum.stray_fds += fs[p].stray_fds;
	}
	for (a = 0; a < A_NR; a++)
		calls += sum.c[a].calls;
	fprintf(stderr, "fuzz: %llu calls in %.1f s by %d processes; invalid accepted %llu, valid refused %llu, stray fds %llu\n",
		(unsigned long long)calls, hl_now_s() - start, o->procs,
		(unsigned long long)sum.accepted_invalid, (unsigned long long)sum.rejected_valid,
		(unsigned long long)sum.stray_fds);
	for (a = 0; a < A_NR; a++) {
		json_object_object_add(acts, action_names[a], counters_json(&sum.c[a]));
		failed |= sum.c[a].unexpected > 0;
	}
	json_object_object_add(j, "calls", json_object_new_int64((int64_t)calls));
	json_object_object_add(j, "processes", json_object_new_int(o->procs));
	json_object_object_add(j, "actions", acts);
	json_object_object_add(j, "invalid_accepted", json_object_new_int64((int64_t)sum.accepted_invalid));
	json_object_object_add(j, "valid_refused", json_object_new_int64((int64_t)sum.rejected_valid));
	json_object_object_add(j, "stray_fds", json_object_new_int64((int64_t)sum.stray_fds));
	json_object_object_add(root, "fuzz", j);
	munmap(fs, sizeof(*fs) * o->procs);
	return failed || sum.accepted_invalid || sum.rejected_valid || calls < (uint64_t)o->ops;
}
