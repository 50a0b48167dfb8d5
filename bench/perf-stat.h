/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --perf: run a measured case under perf stat. perf attaches to this
 * process started disabled (-D -1); we enable and disable it over its
 * control pipe and wait for its ack, so the counters cover the case and
 * nothing else (not perf's own start-up).
 */
#ifndef HEAPLAB_BENCH_PERF_STAT_H
#define HEAPLAB_BENCH_PERF_STAT_H

#include <sys/types.h>

#include <json-c/json.h>

struct perf_stat {
	pid_t pid;
	int ctl, ack;		/* our ends of perf's control and ack pipes */
	char out[64];		/* perf's CSV output */
};

/* Software events always exist; hardware ones only where the CPU has them. */
#define PERF_EVENTS "task-clock,context-switches,cpu-migrations,page-faults," \
		    "minor-faults,major-faults,cycles,instructions"

/* Starts perf stat on this process; @busy_cpu: keep perf off it (-1: any). */
int perf_stat_begin(struct perf_stat *p, int busy_cpu);
/* Stops it and returns its counters as JSON (NULL, with a message, on error). */
struct json_object *perf_stat_end(struct perf_stat *p);

#endif
