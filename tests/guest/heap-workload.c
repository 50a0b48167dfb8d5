// SPDX-License-Identifier: GPL-2.0
/*
 * A known workload for the bpf/ tracer tests: on one heap, COUNT buffers of
 * each SIZE, each allocated, mapped, written one byte per page between
 * DMA_BUF_IOCTL_SYNC start and end, unmapped and closed; then FAIL
 * allocations of a size no heap can give (they must fail with ENOMEM). The
 * test then checks that the tracer saw exactly this, bucket by bucket.
 *
 *   heap-workload HEAP SIZE:COUNT[,SIZE:COUNT...] [FAIL_SIZE:FAIL_COUNT]
 *
 * Sizes take a K, M or G suffix. Exit 0 only if every call behaved.
 */
#include <errno.h>
#include <fcntl.h>
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
	close(fd);
	return 0;
fail:
	fprintf(stderr, "heap-workload: %s: sync: %s\n", name, strerror(errno));
	munmap(p, len);
	close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	unsigned long long size;
	unsigned long count, i;
	const char *s;
	int heap, ret;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: heap-workload HEAP SIZE:COUNT[,SIZE:COUNT...] [FAIL_SIZE:FAIL_COUNT]\n");
		return 2;
	}
	heap = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (heap < 0) {
		fprintf(stderr, "heap-workload: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (s = argv[2]; *s;) {
		if (parse_pair(&s, &size, &count)) {
			fprintf(stderr, "heap-workload: bad SIZE:COUNT list '%s'\n", argv[2]);
			return 2;
		}
		for (i = 0; i < count; i++)
			if (use(heap, argv[1], size))
				return 1;
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
	close(heap);
	return 0;
}
