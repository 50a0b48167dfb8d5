// SPDX-License-Identifier: GPL-2.0
/* libheaplab: the files of /proc, sysfs and debugfs that the checks read. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heaplab.h"

#define CMA_DEBUGFS "/sys/kernel/debug/cma"

int hl_write_str(const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), err;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, len);
	err = errno;
	close(fd);
	if (n == (ssize_t)len)
		return 0;
	errno = n < 0 ? err : EIO;
	return -1;
}

long long hl_read_num(const char *path)
{
	char buf[64] = "";
	long long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = strtoll(buf, NULL, 0);
	close(fd);
	return v;
}

int hl_key_values(const char *path, const char *const *keys, long long *vals, int n)
{
	char line[256], k[64];
	long long v;
	int i, found = 0;
	FILE *f = fopen(path, "re");

	for (i = 0; i < n; i++)
		vals[i] = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", k, &v) != 2)
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(k, keys[i])) {
				found += vals[i] < 0;
				vals[i] = v;
			}
	}
	fclose(f);
	return found;
}

long long hl_key_value(const char *path, const char *key)
{
	long long v;

	hl_key_values(path, &key, &v, 1);
	return v;
}

long long hl_oom_kills(void)
{
	return hl_key_value("/proc/vmstat", "oom_kill");
}

long long hl_heap_stat(const char *heap, const char *key)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/kernel/debug/heaplab/%s/stats", heap);
	return hl_key_value(path, key);
}

int hl_cma_areas(struct hl_cma_area *out, int max)
{
	char path[320];
	struct dirent *d;
	DIR *dir = opendir(CMA_DEBUGFS);
	int n = 0;

	while (dir && n < max && (d = readdir(dir))) {
		struct hl_cma_area *a = &out[n];

		if (d->d_name[0] == '.' || strlen(d->d_name) >= sizeof(a->name))
			continue;
		snprintf(path, sizeof(path), CMA_DEBUGFS "/%s/used", d->d_name);
		a->used = hl_read_num(path);
		if (a->used < 0)
			continue;
		snprintf(path, sizeof(path), CMA_DEBUGFS "/%s/count", d->d_name);
		a->count = hl_read_num(path);
		strcpy(a->name, d->d_name);
		n++;
	}
	if (dir)
		closedir(dir);
	return n;
}

long long hl_cma_used(const char *name)
{
	char path[320];

	snprintf(path, sizeof(path), CMA_DEBUGFS "/%s/used", name);
	return hl_read_num(path);
}
