/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab bench: timing and statistics shared by the harnesses.
 * A result is never one number: samples are kept, and summarised as
 * percentiles, mean, standard deviation and a log2 histogram.
 */
#ifndef HEAPLAB_BENCH_STATS_H
#define HEAPLAB_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define HIST_BUCKETS 64

struct samples {
	uint64_t *ns;		/* raw samples, nanoseconds */
	size_t n, cap;
};

struct summary {
	uint64_t min, p50, p90, p99, p999, max;
	double mean, stddev;
	uint64_t hist[HIST_BUCKETS];	/* bucket i: [2^i, 2^(i+1)) ns */
};

/* Monotonic raw time: not slewed by NTP, what latency wants. */
uint64_t now_ns(void);

int samples_init(struct samples *s, size_t cap);
int samples_add(struct samples *s, uint64_t ns);
void samples_free(struct samples *s);
void summarize(struct samples *s, struct summary *sum);

/* JSON: the summary, the histogram and (if @raw) every sample. */
struct json_object *summary_json(const struct summary *sum,
				 const struct samples *s, int raw);

/* summarize() and summary_json() in one step. */
struct json_object *samples_json(struct samples *s, int raw);

#endif
