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
	char line[128], key[64];
	long long v;
	size_t i;
	FILE *f = fopen("/sys/kernel/debug/heaplab/system/stats", "re");

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		*vals[i] = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", key, &v) != 2)
			continue;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(key, keys[i]))
				*vals[i] = v;
	}
	fclose(f);
	return st->target < 0 ? -1 : 0;
}

int hl_pool_set(int on)
{
	return hl_param_set("pool", on ? "Y" : "N");
}

/* Every order at its share of the level, no freed chunk waiting. */
int hl_pool_full(void)
{
	struct hl_pool_stats st;

	return !hl_pool_read(&st) && st.order8 >= st.target * 12 / 16 &&
	       st.order4 >= st.target * 3 / 16 && st.order0 >= st.target / 16 && !st.freed;
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
