// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab-stress: the results the workers share: counters per stressor and
 * heap, failure messages, and their JSON.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stress.h"

struct shared *shm;
int cur_stressor;

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
	struct json_object *o = json_object_new_object(), *e;
	int i;

	hl_doc_add_int(o, "ops", (int64_t)c->ops);
	hl_doc_add_int(o, "calls", (int64_t)c->calls);
	hl_doc_add_int(o, "bytes", (int64_t)c->bytes);
	e = hl_doc_add_object(o, "errors");
	for (i = 0; i < MAX_ERRNO; i++)
		if (c->errors[i])
			hl_doc_add_int(e, i ? hl_errname(i) : "other", (int64_t)c->errors[i]);
	hl_doc_add_int(o, "unexpected_errors", (int64_t)c->unexpected);
	hl_doc_add_int(o, "verify_failures", (int64_t)c->verify_failures);
	return o;
}
