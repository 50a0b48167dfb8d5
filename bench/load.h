/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Background memory load, shared by the pressure and replay harnesses: the
 * fragmenting co-runner (anonymous 4 KiB pages, every other one dropped and
 * refaulted, the halves flipping; a part of them held by pipes through
 * vmsplice, so they cannot migrate), a reader keeping a file in the page
 * cache, and the /proc/vmstat counters that show what they cost the CMA
 * heaps. Each load is a child process, pinned to its own CPU when there is
 * one and the first the OOM killer takes.
 */
#ifndef HEAPLAB_BENCH_LOAD_H
#define HEAPLAB_BENCH_LOAD_H

#include <stddef.h>
#include <sys/types.h>
#include <json-c/json.h>

/* A CPU other than @cpu for a load to run on, or -1 on a one-CPU machine. */
int load_cpu(int cpu);

/*
 * The co-runner over @len bytes (a multiple of two pages), of which the
 * first @pinned are handed to pipes with vmsplice() and never flipped.
 * Returns its pid once its memory is filled, or -1 after a message naming
 * @who; *@pinned_got (may be NULL): the bytes the pipes took.
 */
pid_t corunner_start(const char *who, size_t len, size_t pinned, int cpu, size_t *pinned_got);

/*
 * A reader that writes a @len-byte file under @dir (unlinked at once, so
 * nothing is left behind) and re-reads it in a loop, keeping it in the
 * page cache. Returns its pid once written, or -1 after a message;
 * *@got: the bytes written (less than @len if the file system filled up).
 */
pid_t cache_reader_start(const char *who, const char *dir, size_t len, int cpu, size_t *got);

/*
 * Ends load @pid (@what: "co-runner", ...): 0, or 1 after a message if it
 * had died before (the load did not last the measurement: OOM?).
 */
int load_stop(const char *who, const char *what, pid_t pid);

/* /proc/vmstat's cma_*, compact_* and pgmigrate_* counters; @base: subtract these. */
struct json_object *vmstat_json(struct json_object *base);

#endif
