/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpf/ loaders: log2 histograms (print, percentiles) and the units they
 * are printed in.
 */
#ifndef HEAPLAB_HIST_HELPERS_H
#define HEAPLAB_HIST_HELPERS_H

#include <stddef.h>
#include <stdio.h>

/* Histograms: slot i counts values in [2^i, 2^(i+1)), slot 0 also 0. */
void print_log2_hist(FILE *f, const unsigned long long *slots, int nslots,
		     const char *unit);
/* Value at fraction p (0..1) of the counts, linear within a slot. */
double log2_hist_percentile(const unsigned long long *slots, int nslots,
			    double p);

/* "4 KiB", "64 MiB": bytes of a power-of-two size. */
const char *size_str(unsigned long long bytes, char *buf, size_t len);
/* "812 ns", "3.4 us", "1.2 ms", "4.05 s" */
const char *ns_str(double ns, char *buf, size_t len);

#endif /* HEAPLAB_HIST_HELPERS_H */
