// SPDX-License-Identifier: GPL-2.0
/* Background memory load for pressure.c and replay.c (load.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "load.h"

#define PAGE 4096ul
#define CHUNK (1ul << 20)

int load_cpu(int cpu)
{
	int n = ncpus();

	return n > 1 ? ((cpu < 0 ? 0 : cpu) + 1) % n : -1;
}

/* In the child: first to go if memory runs out, and off the measuring CPU. */
static void child_setup(int cpu)
{
	int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (adj >= 0) {
		if (write(adj, "1000", 4) < 0)
			perror("oom_score_adj");
		close(adj);
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
}

static void flip(char *p, size_t len, int parity)
{
	size_t off;

	for (off = 0; off < len; off += 2 * PAGE) {
		p[off + (parity ? PAGE : 0)] = 1;
		madvise(p + off + (parity ? 0 : PAGE), PAGE, MADV_DONTNEED);
	}
}

/*
 * Hands @len bytes at @p to pipes with vmsplice(): each pipe holds a
 * reference to every page it took until it is read or closed, and
 * migration gives up on a page with a reference it cannot account for, as
 * it does on pages pinned for O_DIRECT or zero-copy I/O. Nobody reads the
 * pipes. Returns the bytes taken.
 */
static size_t pin(char *p, size_t len)
{
	struct rlimit rl;
	size_t done = 0;

	/* two fds a pipe: as many as this process may have */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	while (done < len) {
		size_t before = done;
		int fds[2], sz;

		if (pipe2(fds, O_CLOEXEC))
			break;
		/* big pipes, fewer fds (root may go past pipe-max-size) */
		for (sz = 16 << 20; sz > (int)(16 * PAGE); sz /= 2)
			if (fcntl(fds[1], F_SETPIPE_SZ, sz) >= 0)
				break;
		while (done < len) {
			struct iovec iov = { p + done, len - done };
			ssize_t n = vmsplice(fds[1], &iov, 1, SPLICE_F_NONBLOCK);

			if (n <= 0)
				break;
			done += (size_t)n;
		}
		if (done == before) {
			close(fds[0]);
			close(fds[1]);
			break;
		}
	}
	return done;
}

static void corunner(size_t len, size_t pinned, int cpu, int ready)
{
	int parity = 0;
	size_t got = 0;
	char *p;

	child_setup(cpu);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(1);
	madvise(p, len, MADV_NOHUGEPAGE);	/* 4K pages: fragments */
	memset(p, 1, len);
	if (pinned)
		got = pin(p, pinned);
	flip(p + pinned, len - pinned, parity);
	if (write(ready, &got, sizeof(got)) != sizeof(got))
		_exit(1);
	close(ready);
	for (;;) {
		parity = !parity;
		flip(p + pinned, len - pinned, parity);
	}
}

/* Forks @fn's child; waits for the size_t it reports when ready. */
static pid_t start(const char *who, const char *what, size_t *got,
		   void (*fn)(const void *arg, int ready), const void *arg)
{
	int fds[2];
	size_t v = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		fprintf(stderr, "heaplab-bench: %s: pipe: %s\n", who, strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "heaplab-bench: %s: fork: %s\n", who, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (!pid) {
		close(fds[0]);
		fn(arg, fds[1]);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &v, sizeof(v)) != sizeof(v)) {
		fprintf(stderr, "heaplab-bench: %s: the %s died while starting (OOM?)\n", who, what);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	if (got)
		*got = v;
	return pid;
}

struct corunner_args {
	size_t len, pinned;
	int cpu;
};

static void corunner_fn(const void *arg, int ready)
{
	const struct corunner_args *a = arg;

	corunner(a->len, a->pinned, a->cpu, ready);
}

pid_t corunner_start(const char *who, size_t len, size_t pinned, int cpu, size_t *pinned_got)
{
	struct corunner_args a = { len, pinned & ~(2 * PAGE - 1), cpu };

	return start(who, "co-runner", pinned_got, corunner_fn, &a);
}

struct reader_args {
	const char *dir;
	size_t len;
	int cpu;
};

static void reader_fn(const void *arg, int ready)
{
	const struct reader_args *a = arg;
	char path[PATH_MAX];
	size_t got = 0, off;
	char *buf = malloc(CHUNK);
	ssize_t n;
	int fd;

	child_setup(a->cpu);
	snprintf(path, sizeof(path), "%s/heaplab-bench-cache-XXXXXX", a->dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0 || !buf) {
		fprintf(stderr, "heaplab-bench: page cache file in %s: %s\n", a->dir,
			strerror(errno));
		_exit(1);
	}
	unlink(path);
	memset(buf, 0x5a, CHUNK);
	while (got < a->len) {
		n = write(fd, buf, a->len - got < CHUNK ? a->len - got : CHUNK);
		if (n <= 0)
			break;	/* a full file system: what was written is the load */
		got += (size_t)n;
	}
	if (write(ready, &got, sizeof(got)) != sizeof(got))
		_exit(1);
	close(ready);
	for (;;) {
		for (off = 0; off < got; off += (size_t)n) {
			n = pread(fd, buf, CHUNK, (off_t)off);
			if (n <= 0)
				break;
		}
		if (!got)
			pause();
	}
}

pid_t cache_reader_start(const char *who, const char *dir, size_t len, int cpu, size_t *got)
{
	struct reader_args a = { dir, len, cpu };

	return start(who, "page cache reader", got, reader_fn, &a);
}

int load_stop(const char *who, const char *what, pid_t pid)
{
	int status;

	if (pid <= 0)
		return 0;
	/* still running means the load lasted through every measurement */
	if (waitpid(pid, &status, WNOHANG) == pid) {
		char msg[64];

		hl_wait_msg(msg, sizeof(msg), status);
		fprintf(stderr, "heaplab-bench: %s: the %s died early (%s; OOM?)\n", who, what, msg);
		return 1;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 0;
}

static const char *const counters[] = { "cma_", "compact_", "pgmigrate_" };

struct json_object *vmstat_json(struct json_object *base)
{
	struct json_object *o = json_object_new_object();
	char key[96];
	long long v;
	FILE *f = fopen("/proc/vmstat", "re");
	size_t i;

	if (!f)
		return o;
	while (fscanf(f, "%95s %lld", key, &v) == 2) {
		struct json_object *b;

		for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
			if (!strncmp(key, counters[i], strlen(counters[i])))
				break;
		if (i == sizeof(counters) / sizeof(counters[0]))
			continue;
		if (base && json_object_object_get_ex(base, key, &b))
			v -= json_object_get_int64(b);
		json_object_object_add(o, key, json_object_new_int64(v));
	}
	fclose(f);
	return o;
}
