// SPDX-License-Identifier: GPL-2.0
/* Samples, their summary (percentiles, mean, stddev) and log2 histogram. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stats.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int samples_init(struct samples *s, size_t cap)
{
	s->n = 0;
	s->cap = cap ? cap : 16;
	s->ns = malloc(s->cap * sizeof(*s->ns));
	return s->ns ? 0 : -ENOMEM;
}

int samples_add(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		uint64_t *p = realloc(s->ns, 2 * s->cap * sizeof(*s->ns));

		if (!p)
			return -ENOMEM;
		s->ns = p;
		s->cap *= 2;
	}
	s->ns[s->n++] = ns;
	return 0;
}

void samples_free(struct samples *s)
{
	free(s->ns);
	memset(s, 0, sizeof(*s));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	return v[rank ? rank - 1 : 0];
}

static int log2_bucket(uint64_t ns)
{
	int b = 0;

	while (ns > 1 && b < HIST_BUCKETS - 1) {
		ns >>= 1;
		b++;
	}
	return b;
}

void summarize(struct samples *s, struct summary *sum)
{
	uint64_t *v;
	double acc = 0, var = 0;
	size_t i;

	memset(sum, 0, sizeof(*sum));
	if (!s->n)
		return;
	v = malloc(s->n * sizeof(*v));
	if (!v)
		return;
	memcpy(v, s->ns, s->n * sizeof(*v));
	qsort(v, s->n, sizeof(*v), cmp_u64);
	sum->min = v[0];
	sum->max = v[s->n - 1];
	sum->p50 = pct(v, s->n, 50);
	sum->p90 = pct(v, s->n, 90);
	sum->p99 = pct(v, s->n, 99);
	sum->p999 = pct(v, s->n, 99.9);
	for (i = 0; i < s->n; i++) {
		acc += (double)v[i];
		sum->hist[log2_bucket(v[i])]++;
	}
	sum->mean = acc / (double)s->n;
	for (i = 0; i < s->n; i++)
		var += ((double)v[i] - sum->mean) * ((double)v[i] - sum->mean);
	sum->stddev = s->n > 1 ? sqrt(var / (double)(s->n - 1)) : 0;
	free(v);
}

struct json_object *summary_json(const struct summary *sum,
				 const struct samples *s, int raw)
{
	struct json_object *o = json_object_new_object();
	struct json_object *h = json_object_new_array();
	size_t i;

	json_object_object_add(o, "n", json_object_new_int64((int64_t)s->n));
	json_object_object_add(o, "min_ns", json_object_new_int64((int64_t)sum->min));
	json_object_object_add(o, "p50_ns", json_object_new_int64((int64_t)sum->p50));
	json_object_object_add(o, "p90_ns", json_object_new_int64((int64_t)sum->p90));
	json_object_object_add(o, "p99_ns", json_object_new_int64((int64_t)sum->p99));
	json_object_object_add(o, "p999_ns", json_object_new_int64((int64_t)sum->p999));
	json_object_object_add(o, "max_ns", json_object_new_int64((int64_t)sum->max));
	json_object_object_add(o, "mean_ns", json_object_new_double(sum->mean));
	json_object_object_add(o, "stddev_ns", json_object_new_double(sum->stddev));
	/* log2 histogram as [bucket_low_ns, count] pairs, non-empty only */
	for (i = 0; i < HIST_BUCKETS; i++) {
		struct json_object *pair;

		if (!sum->hist[i])
			continue;
		pair = json_object_new_array();
		json_object_array_add(pair, json_object_new_int64((int64_t)(1ull << i)));
		json_object_array_add(pair, json_object_new_int64((int64_t)sum->hist[i]));
		json_object_array_add(h, pair);
	}
	json_object_object_add(o, "log2_hist", h);
	if (raw) {
		struct json_object *r = json_object_new_array();

		for (i = 0; i < s->n; i++)
			json_object_array_add(r, json_object_new_int64((int64_t)s->ns[i]));
		json_object_object_add(o, "samples_ns", r);
	}
	return o;
}

struct json_object *samples_json(struct samples *s, int raw)
{
	struct summary sum;

	summarize(s, &sum);
	return summary_json(&sum, s, raw);
}
