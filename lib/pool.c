// SPDX-License-Identifier: GPL-2.0
/*
 * The system heap's page pool (kernel/heaps/page-pool.c) from userspace:
 * its switches (heaplab_heap.ko's parameters) and its level (the heap's
 * debugfs stats). Tests and the bench wait on it the same way.
 */
#include <stdio.h>
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

int hl_pool_set(int on)
{
	return hl_param_set("pool", on ? "Y" : "N");
}

/* Every order at its share of the level, no freed chunk waiting. */
int hl_pool_full(void)
{
	long long target = hl_heap_stat("system", "pool_target_pages");
	long long o8 = hl_heap_stat("system", "pool_order8_pages");
	long long o4 = hl_heap_stat("system", "pool_order4_pages");
	long long o0 = hl_heap_stat("system", "pool_order0_pages");

	return target >= 0 && o8 >= target * 12 / 16 && o4 >= target * 3 / 16 &&
	       o0 >= target / 16 && hl_heap_stat("system", "pool_freed_pages") == 0;
}

int hl_pool_wait_full(double secs)
{
	double end = hl_now_s() + secs;

	while (!hl_pool_full()) {
		if (hl_now_s() > end)
			return 0;
		usleep(2000);
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
