// SPDX-License-Identifier: GPL-2.0
/* libheaplab: heap devices and their buffers. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <drm/drm.h>

#include "linux/heaplab-dma-heap.h"
#include "heaplab.h"

int hl_heap_open(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC);
}

int hl_alloc(int heap, uint64_t len, uint32_t fd_flags, uint64_t heap_flags)
{
	struct dma_heap_allocation_data d = {
		.len = len,
		.fd_flags = fd_flags,
		.heap_flags = heap_flags,
	};

	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) < 0)
		return -1;
	return (int)d.fd;
}

void *hl_map(int buf, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);

	return p == MAP_FAILED ? NULL : p;
}

int hl_sync(int buf, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(buf, DMA_BUF_IOCTL_SYNC, &s);
}

int hl_open_vgem(void)
{
	char name[32], drv[16];
	int i, fd;

	for (i = 0; i < 16; i++) {
		struct drm_version v = { .name = drv, .name_len = sizeof(drv) - 1 };

		snprintf(name, sizeof(name), "/dev/dri/card%d", i);
		fd = open(name, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(drv, 0, sizeof(drv));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(drv, "vgem"))
			return fd;
		close(fd);
	}
	errno = ENODEV;
	return -1;
}

/* The name /proc/devices gives character major @major, into @name. */
static int chrdev_name(unsigned int major, char *name, size_t len)
{
	char line[128], n[64];
	unsigned int m;
	int chr = 0, found = -1;
	FILE *f = fopen("/proc/devices", "re");

	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Character devices:", 18))
			chr = 1;
		else if (!strncmp(line, "Block devices:", 14))
			chr = 0;
		else if (chr && sscanf(line, "%u %63s", &m, n) == 2 && m == major)
			found = snprintf(name, len, "%s", n) < 0;
	}
	fclose(f);
	return found;
}

enum hl_impl hl_heap_impl(const char *path)
{
	char name[64];
	struct stat st;

	if (stat(path, &st) || !S_ISCHR(st.st_mode) ||
	    chrdev_name(major(st.st_rdev), name, sizeof(name)))
		return HL_IMPL_UNKNOWN;
	if (!strcmp(name, "heaplab"))
		return HL_IMPL_HEAPLAB;
	if (!strcmp(name, "dma_heap"))
		return HL_IMPL_UPSTREAM;
	return HL_IMPL_UNKNOWN;
}

const char *hl_impl_name(enum hl_impl impl)
{
	switch (impl) {
	case HL_IMPL_HEAPLAB: return "heaplab";
	case HL_IMPL_UPSTREAM: return "upstream";
	default: return "unknown";
	}
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct hl_heap *)a)->path, ((const struct hl_heap *)b)->path);
}

int hl_heaps_find(const char *const *dirs, struct hl_heap *out, int max)
{
	int n = 0;

	for (; *dirs; dirs++) {
		DIR *d = opendir(*dirs);
		struct dirent *e;
		int first = n;

		if (!d)
			continue;
		while ((e = readdir(d)) && n < max) {
			struct hl_heap *h = &out[n];
			struct stat st;

			if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(h->name))
				continue;
			snprintf(h->path, sizeof(h->path), "%s/%s", *dirs, e->d_name);
			if (stat(h->path, &st) || !S_ISCHR(st.st_mode))
				continue;
			strcpy(h->name, e->d_name);
			h->impl = hl_heap_impl(h->path);
			n++;
		}
		closedir(d);
		qsort(out + first, n - first, sizeof(*out), by_path);
	}
	return n;
}
