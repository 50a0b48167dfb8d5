// SPDX-License-Identifier: GPL-2.0
/* libheaplab: what a buffer holds. */
#include "heaplab.h"

long hl_first_not(const void *buf, size_t len, unsigned char c)
{
	const unsigned char *p = buf;
	const uint64_t *w = buf;
	uint64_t cw = 0x0101010101010101ull * c;
	size_t i;

	/* a word at a time: the callers check whole buffers of many MiB */
	for (i = 0; i < len / 8; i++)
		if (w[i] != cw)
			break;
	for (i *= 8; i < len; i++)
		if (p[i] != c)
			return (long)i;
	return -1;
}

static inline uint64_t pat(uint64_t tag, size_t i)
{
	return (tag ^ (i * 0x9e3779b97f4a7c15ull)) | 1;
}

void hl_fill_pattern(void *p, size_t len, uint64_t tag)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = pat(tag, i);
}

long hl_check_pattern(const void *p, size_t len, uint64_t tag)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != pat(tag, i))
			return (long)(i * 8);
	return -1;
}
