/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the guest test programs (the .c files of tests/guest) share beyond
 * libheaplab (lib/heaplab.h: heaps, buffers, /proc and debugfs files),
 * which they link in its sanitizer build.
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
#include "heaplab.h"

/*
 * A line for the log. stderr: the kselftest harness runs each case in a
 * child that leaves with _exit(), so buffered stdout would be lost.
 */
#define note(fmt, ...) fprintf(stderr, "# " fmt, ##__VA_ARGS__)

/*
 * The start of a SKIP reason for a case that belongs to another boot
 * (HEAPLAB_LAYOUT): run_tap in lib.sh leaves such a case out of the count,
 * as it did not run; any other skip still fails under CI=true.
 */
#define NOT_HERE "not in this boot: "

/*
 * The start of a SKIP reason for a case that cannot apply to this kernel:
 * its heap cannot exist here (a stock kernel without CMA, or without
 * upstream heaps). The caller says which heap paths and why, in
 * HEAPLAB_NOT_APPLICABLE="PATH=REASON;PATH=REASON"; run_tap reports such a
 * case by name and leaves it out of the count. A heap absent for any other
 * reason is an ordinary skip, which fails under CI=true.
 */
#define NOT_APPLICABLE "not applicable: "

/*
 * Debian 6.1's harness goes on to a case's body after its FIXTURE_SETUP
 * skipped (the body then fails on the fixture it never got); 6.12's ends
 * the case there. XFAIL_ADD, only in the newer harness, tells them apart.
 * Each case of a fixture whose setup can skip starts with this.
 */
#ifdef XFAIL_ADD
#define SETUP_SKIPPED(m)	0
#else
#define SETUP_SKIPPED(m)	((m)->skip)
#endif

/* The reason HEAPLAB_NOT_APPLICABLE gives for PATH, copied into buf; or NULL. */
static inline const char *heaplab_not_applicable(const char *path, char *buf, size_t len)
{
	const char *list = getenv("HEAPLAB_NOT_APPLICABLE");
	size_t n = strlen(path);
	const char *p, *end;

	for (p = list; p && *p; p = *end ? end + 1 : end) {
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > n && !strncmp(p, path, n) && p[n] == '=') {
			snprintf(buf, len, "%.*s", (int)(end - p - n - 1), p + n + 1);
			return buf;
		}
	}
	return NULL;
}

/*
 * HEAPLAB_CASES="name fixture.name ...": run only those cases (tests/run-one
 * PROGRAM CASE). Debian 6.1's kselftest_harness.h has no filter option, so
 * main() drops the other cases from each fixture's list before the run; the
 * plan then counts only the cases that run. A name that matches no case is
 * an error (exit 2), not an empty pass.
 */
static inline int heaplab_case_wanted(const char *want,
				      const struct __fixture_metadata *f,
				      const struct __test_metadata *t)
{
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", want);
	for (tok = strtok_r(buf, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
		size_t n = strlen(f->name);

		if (!strcmp(tok, t->name) ||
		    (!strncmp(tok, f->name, n) && tok[n] == '.' && !strcmp(tok + n + 1, t->name)))
			return 1;
	}
	return 0;
}

static inline void heaplab_pick_cases(void)
{
	const char *want = getenv("HEAPLAB_CASES");
	struct __fixture_metadata *f;
	struct __test_metadata *t, *next, *head, *tail;
	int kept = 0;

	if (!want || !*want)
		return;
	for (f = __fixture_list; f; f = f->next) {
		head = tail = NULL;
		for (t = f->tests; t; t = next) {
			next = t->next;
			if (!heaplab_case_wanted(want, f, t))
				continue;
			t->next = NULL;
			t->prev = tail ? tail : t;
			if (tail)
				tail->next = t;
			else
				head = t;
			tail = t;
			kept++;
		}
		if (head)
			head->prev = tail;	/* __LIST_APPEND's shape: head->prev is the tail */
		f->tests = head;
	}
	if (!kept) {
		fprintf(stderr, "HEAPLAB_CASES='%s': no such case in this program\n", want);
		exit(2);
	}
}

#define HEAPLAB_HARNESS_MAIN						\
	int main(int argc, char **argv)					\
	{								\
		heaplab_pick_cases();					\
		return test_harness_run(argc, argv);			\
	}

#endif /* HEAPLAB_TESTS_GUEST_H */
