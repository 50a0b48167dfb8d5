// SPDX-License-Identifier: GPL-2.0
/*
 * A known workload for the bpf/ tracer tests: on one heap, COUNT buffers of
 * each SIZE, each allocated, mapped, written one byte per page between
 * DMA_BUF_IOCTL_SYNC start and end, unmapped and closed; then FAIL
 * allocations of a size no heap can give (they must fail with ENOMEM). The
 * test then checks that the tracer saw exactly this, bucket by bucket.
 *
 *   heap-workload [-k] [-w SEC] HEAP SIZE:COUNT[,SIZE:COUNT...] [FAIL_SIZE:FAIL_COUNT]
 *
 * -k keeps the COUNT buffers of a size open until the last of them is used,
 * then closes them together: COUNT held at once (what bpf/heaprec records).
 * -w keeps every buffer, prints "holding N" once all are used and closes
 * them SEC seconds later (or when killed): buffers held past a recording.
 * Sizes take a K, M or G suffix. Exit 0 only if every call behaved.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/dma-buf.h>

#include "heaplab.h"

/* "SIZE:COUNT" at *s; advances past it and a following comma. */
static int parse_pair(const char **s, unsigned long long *size,
		      unsigned long *count)
{
	const char *num;
	uint64_t v;
	char *end;

	if (hl_parse_size_prefix(*s, &v, &num) || *num != ':')
		return -1;
	*size = v;
	end = (char *)num;
	*count = strtoul(end + 1, &end, 10);
	if (!*count || (*end && *end != ','))
		return -1;
	*s = *end ? end + 1 : end;
	return 0;
}

/* Allocate, map, touch, unmap: the buffer's fd, or -1. */
static int use(int heap, const char *name, unsigned long long len)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long long off;
	char *p;
	int fd;

	fd = hl_alloc_rw(heap, len);
	if (fd < 0) {
		fprintf(stderr, "heap-workload: %s: alloc %llu: %s\n", name, len,
			strerror(errno));
		return -1;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "heap-workload: %s: mmap %llu: %s\n", name, len,
			strerror(errno));
		close(fd);
		return -1;
	}
	if (hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW))
		goto fail;
	for (off = 0; off < len; off += page)
		p[off] = 1;
	if (hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW))
		goto fail;
	munmap(p, len);
	return fd;
fail:
	fprintf(stderr, "heap-workload: %s: sync: %s\n", name, strerror(errno));
	munmap(p, len);
	close(fd);
	return -1;
}

/* The fds kept open (-k, -w), closed together. */
static int *kept;
static unsigned long nkept;

static void close_kept(void)
{
	while (nkept)
		close(kept[--nkept]);
}

int main(int argc, char **argv)
{
	unsigned long long size;
	unsigned long count, i, total = 0;
	bool keep = false;
	long wait_s = -1;
	const char *s;
	int heap, ret, c, fd;
	char *end;

	while ((c = getopt(argc, argv, "+kw:")) != -1) {
		switch (c) {
		case 'k':
			keep = true;
			break;
		case 'w':
			wait_s = strtol(optarg, &end, 10);
			if (*end || wait_s < 0) {
				fprintf(stderr, "heap-workload: -w %s: want seconds\n", optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: heap-workload [-k] [-w SEC] HEAP SIZE:COUNT[,SIZE:COUNT...] [FAIL_SIZE:FAIL_COUNT]\n");
		return 2;
	}
	for (s = argv[2]; *s;) {
		if (parse_pair(&s, &size, &count)) {
			fprintf(stderr, "heap-workload: bad SIZE:COUNT list '%s'\n", argv[2]);
			return 2;
		}
		total += count;
	}
	kept = calloc(total, sizeof(*kept));
	if (!kept)
		return 1;
	heap = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (heap < 0) {
		fprintf(stderr, "heap-workload: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (s = argv[2]; *s;) {
		parse_pair(&s, &size, &count);
		for (i = 0; i < count; i++) {
			fd = use(heap, argv[1], size);
			if (fd < 0)
				return 1;
			if (keep || wait_s >= 0)
				kept[nkept++] = fd;
			else
				close(fd);
		}
		if (wait_s < 0)
			close_kept();
	}
	if (argc == 4) {
		s = argv[3];
		if (parse_pair(&s, &size, &count) || *s) {
			fprintf(stderr, "heap-workload: bad FAIL_SIZE:FAIL_COUNT '%s'\n", argv[3]);
			return 2;
		}
		for (i = 0; i < count; i++) {
			ret = hl_alloc_rw(heap, size);
			if (ret >= 0 || errno != ENOMEM) {
				fprintf(stderr, "heap-workload: %s: alloc %llu: want ENOMEM, got %s\n",
					argv[1], size, ret >= 0 ? "a buffer" : strerror(errno));
				if (ret >= 0)
					close(ret);
				return 1;
			}
		}
	}
	if (wait_s >= 0) {
		printf("holding %lu\n", nkept);
		fflush(stdout);
		sleep(wait_s);
		close_kept();
	}
	free(kept);
	close(heap);
	return 0;
}
