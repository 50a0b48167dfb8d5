// SPDX-License-Identifier: GPL-2.0
/*
 * The system heap's page pool (kernel/heaps/page-pool.c) from userspace:
 * its switches (heaplab_heap.ko's parameters) and its level (the heap's
 * debugfs stats). Tests and the bench wait on it the same way.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "heaplab.h"

#define PARAMS "/sys/module/heaplab_heap/parameters/"

int hl_param_set(const char *name, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	return hl_write_str(path, value);
}

long long hl_param_get(const char *name)
{
	char path[128], buf[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	/* bool parameters read Y or N */
	if (buf[0] == 'Y' || buf[0] == 'N')
		return buf[0] == 'Y';
	return hl_read_num(path);
}

/*
 * One read of the system heap's stats file: each of @keys found sets its
 * *@vals, the others are -1. 0, or -1 without the file.
 */
static int pool_read_keys(const char *const *keys, long long *const *vals, size_t n)
{
	char line[128], key[64];
	long long v;
	size_t i;
	FILE *f = fopen("/sys/kernel/debug/heaplab/system/stats", "re");

	for (i = 0; i < n; i++)
		*vals[i] = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", key, &v) != 2)
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(key, keys[i]))
				*vals[i] = v;
	}
	fclose(f);
	return 0;
}

int hl_pool_read(struct hl_pool_stats *st)
{
	static const char *const keys[] = {
		"pool_pages", "pool_target_pages", "pool_order8_pages", "pool_order4_pages",
		"pool_order0_pages", "pool_freed_pages", "pool_hits", "pool_misses",
		"pool_cleared_pages", "pool_clear_ns", "pool_worker_pid",
	};
	long long *const vals[] = {
		&st->pages, &st->target, &st->order8, &st->order4, &st->order0, &st->freed,
		&st->hits, &st->misses, &st->cleared_pages, &st->clear_ns, &st->worker_pid,
	};

	if (pool_read_keys(keys, vals, sizeof(keys) / sizeof(keys[0])))
		return -1;
	return st->target < 0 ? -1 : 0;
}

int hl_pool_set(int on)
{
	return hl_param_set("pool", on ? "Y" : "N");
}

/*
 * Every order at its target, no freed chunk waiting. The kernel states each
 * order's target (pool_orderN_target_pages), so its split is its own.
 */
int hl_pool_full(void)
{
	static const char *const keys[] = {
		"pool_order8_pages", "pool_order4_pages", "pool_order0_pages",
		"pool_order8_target_pages", "pool_order4_target_pages",
		"pool_order0_target_pages", "pool_freed_pages",
	};
	long long o8, o4, o0, t8, t4, t0, freed;
	long long *const vals[] = { &o8, &o4, &o0, &t8, &t4, &t0, &freed };

	if (pool_read_keys(keys, vals, sizeof(keys) / sizeof(keys[0])))
		return 0;
	if (t8 < 0 || t4 < 0 || t0 < 0)
		return 0;
	return o8 >= t8 && o4 >= t4 && o0 >= t0 && !freed;
}

int hl_pool_wait_full(double secs)
{
	double end = hl_now_s() + secs;

	while (!hl_pool_full()) {
		if (hl_now_s() > end)
			return 0;
		usleep(5000);
	}
	return 1;
}

long long hl_wait_stat(const char *heap, const char *key, long long lo, long long hi,
		       double secs)
{
	double end = hl_now_s() + secs;
	long long v;

	for (;;) {
		v = hl_heap_stat(heap, key);
		if ((v >= lo && v <= hi) || hl_now_s() > end)
			return v;
		usleep(2000);
	}
}
