// SPDX-License-Identifier: GPL-2.0
/* heaplab-stress: randomness, error counting and failure messages. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "linux/heaplab-dma-heap.h"
#include "stress.h"

struct shared *shm;
int cur_stressor;

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
			json_object_object_add(e, i ? hl_errname(i) : "other",
					       json_object_new_int64((int64_t)c->errors[i]));
	json_object_object_add(o, "errors", e);
	json_object_object_add(o, "unexpected_errors", json_object_new_int64((int64_t)c->unexpected));
	json_object_object_add(o, "verify_failures",
			       json_object_new_int64((int64_t)c->verify_failures));
	return o;
}
