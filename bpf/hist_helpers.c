// SPDX-License-Identifier: GPL-2.0
/* bpf/ loaders: log2 histograms. */
#include <stdio.h>

#include "hist_helpers.h"

static void print_stars(FILE *f, unsigned long long val,
			unsigned long long max, int width)
{
	int n = max ? (int)((double)val * width / max) : 0;
	int i;

	for (i = 0; i < width; i++)
		fputc(i < n ? '*' : ' ', f);
}

void print_log2_hist(FILE *f, const unsigned long long *slots, int nslots,
		     const char *unit)
{
	unsigned long long max = 0;
	int i, first = -1, last = -1;

	for (i = 0; i < nslots; i++) {
		if (!slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	if (last < 0)
		return;
	fprintf(f, "%24s%-10s : count    distribution\n", "", unit);
	for (i = first; i <= last; i++) {
		unsigned long long lo = i ? 1ULL << i : 0;
		unsigned long long hi = (1ULL << (i + 1)) - 1;

		fprintf(f, "%16llu -> %-16llu : %-8llu |", lo, hi, slots[i]);
		print_stars(f, slots[i], max, 40);
		fprintf(f, "|\n");
	}
}

double log2_hist_percentile(const unsigned long long *slots, int nslots,
			    double p)
{
	unsigned long long total = 0, seen = 0;
	double rank;
	int i;

	for (i = 0; i < nslots; i++)
		total += slots[i];
	if (!total)
		return 0;
	rank = p * total;
	for (i = 0; i < nslots; i++) {
		double lo = i ? (double)(1ULL << i) : 0, hi = (double)(2ULL << i);

		if (slots[i] && seen + slots[i] >= rank)
			return lo + (hi - lo) * (rank - seen) / slots[i];
		seen += slots[i];
	}
	return (double)(2ULL << (nslots - 1));
}

const char *size_str(unsigned long long bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;

	while (bytes >= 1024 && !(bytes % 1024) && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", bytes, units[u]);
	return buf;
}

const char *ns_str(double ns, char *buf, size_t len)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.3g us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.3g ms", ns / 1e6);
	else
		snprintf(buf, len, "%.3g s", ns / 1e9);
	return buf;
}
