// SPDX-License-Identifier: GPL-2.0
/*
 * libheaplab: the system's memory: /proc/meminfo, and bringing memory to a
 * known state (drop_caches, compaction, slab shrinking) before a measure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "heaplab.h"

long long hl_meminfo_kb(const char *key)
{
	char k[64];

	snprintf(k, sizeof(k), "%s:", key);
	return hl_key_value("/proc/meminfo", k);
}

int hl_meminfo_read(struct hl_meminfo *m)
{
	static const char *const keys[] = {
		"MemTotal:", "MemFree:", "MemAvailable:", "CmaTotal:", "CmaFree:",
	};
	long long v[5];
	int ret = hl_key_values("/proc/meminfo", keys, v, 5);

	m->total_kb = v[0];
	m->free_kb = v[1];
	m->available_kb = v[2];
	m->cma_total_kb = v[3];
	m->cma_free_kb = v[4];
	return ret < 0 ? -1 : 0;
}

/*
 * The per-CPU free lists of every zone (each pageset's "count:" in
 * /proc/zoneinfo): free pages that MemFree leaves out. Freed order-0 pages
 * stay there up to the list's high mark, tens of MiB after a big free.
 */
long long hl_pcp_kb(void)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	long long n = 0, v;
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %lld", &v) == 1)
			n += v;
	fclose(f);
	return n * (sysconf(_SC_PAGESIZE) / 1024);
}

int hl_drop_caches(int what)
{
	char val[2] = { (char)('0' + what), '\0' };

	if (what < 1 || what > 3) {
		errno = EINVAL;
		return -1;
	}
	sync();
	return hl_write_str("/proc/sys/vm/drop_caches", val);
}

int hl_compact_memory(void)
{
	return hl_write_str("/proc/sys/vm/compact_memory", "1");
}

int hl_shrink_slabs(void)
{
	char path[300];
	struct dirent *d;
	DIR *dir = opendir("/sys/kernel/slab");
	int failed = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", d->d_name);
		failed |= hl_write_str(path, "1");
	}
	closedir(dir);
	return failed ? -1 : 0;
}
