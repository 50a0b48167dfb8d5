// SPDX-License-Identifier: GPL-2.0
/* libheaplab: command lines. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heaplab.h"

const char *hl_prog = "heaplab";

void hl_set_prog(const char *name)
{
	hl_prog = name;
}

void hl_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", hl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

int hl_parse_size_prefix(const char *s, uint64_t *out, const char **end)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *e;

	errno = 0;
	if (*s < '0' || *s > '9') {
		errno = EINVAL;
		return -1;
	}
	v = strtoull(s, &e, 10);
	if (errno)
		return -1;
	switch (*e) {
	case 'K': case 'k': shift = 10; e++; break;
	case 'M': case 'm': shift = 20; e++; break;
	case 'G': case 'g': shift = 30; e++; break;
	}
	if (!v || v > (~0ull >> shift)) {
		errno = v ? ERANGE : EINVAL;
		return -1;
	}
	*out = v << shift;
	*end = e;
	return 0;
}

int hl_parse_size(const char *s, uint64_t *out)
{
	const char *end;

	if (hl_parse_size_prefix(s, out, &end))
		return -1;
	if (*end) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

long long hl_parse_range(const char *s, long long min, long long max, const char *what)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		hl_die("%s must be %lld..%lld, not '%s'", what, min, max, s);
	return v;
}

int hl_parse_list(const char *list, int max, int (*fn)(const char *item, void *arg),
		  void *arg)
{
	char *copy = strdup(list), *tok, *save;
	int n = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == max) {
			errno = E2BIG;
			n = -1;
			break;
		}
		if (fn(tok, arg)) {
			n = -1;
			break;
		}
		n++;
	}
	free(copy);
	return n;
}

void hl_opt_heap(const char **heaps, int *n, const char *path)
{
	if (*n == HL_MAX_HEAPS)
		hl_die("at most %d heaps (--heap %s)", HL_MAX_HEAPS, path);
	heaps[(*n)++] = path;
}
