/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the guest test programs (the .c files of tests/guest): allocating
 * from a heap, DMA_BUF_IOCTL_SYNC, and reading and writing the one-value
 * and "key value" files of sysfs, debugfs and /proc. Header-only, static
 * inline: each program is one file, built with its own flags.
 */
#ifndef HEAPLAB_TESTS_GUEST_H
#define HEAPLAB_TESTS_GUEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/dma-buf.h>

#include "linux/heaplab-dma-heap.h"

/*
 * A line for the log. stderr: the kselftest harness runs each case in a
 * child that leaves with _exit(), so buffered stdout would be lost.
 */
#define note(fmt, ...) fprintf(stderr, "# " fmt, ##__VA_ARGS__)

/* A dma-buf fd, or -1 with errno set. */
static inline int heap_alloc(int heap_fd, uint64_t len, uint32_t fd_flags,
			     uint64_t heap_flags)
{
	struct dma_heap_allocation_data data = {
		.len = len,
		.fd_flags = fd_flags,
		.heap_flags = heap_flags,
	};

	if (ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &data) < 0)
		return -1;
	return (int)data.fd;
}

static inline int buf_sync(int buf_fd, uint64_t flags)
{
	struct dma_buf_sync sync = { .flags = flags };

	return ioctl(buf_fd, DMA_BUF_IOCTL_SYNC, &sync);
}

/* Write @s to @path whole: 0, or -1 with errno set. */
static inline int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* The number a one-value file starts with, or -1. */
static inline long long read_num(const char *path)
{
	char buf[64] = "";
	long long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = strtoll(buf, NULL, 10);
	close(fd);
	return v;
}

/* The value of @key in a file of "key value" lines (/proc/vmstat), or -1. */
static inline long long key_value(const char *path, const char *key)
{
	char k[64];
	long long v, found = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", k, &v) == 2)
		if (!strcmp(k, key))
			found = v;
	fclose(f);
	return found;
}

#endif /* HEAPLAB_TESTS_GUEST_H */
