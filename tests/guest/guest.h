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

#endif /* HEAPLAB_TESTS_GUEST_H */
