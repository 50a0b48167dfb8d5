/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Workload profiles (heaplab-profile/1, profiles/README.md): load and
 * validate one, and turn it into the deterministic schedule that
 * `heaplab-bench replay` plays (replay.c). The rules and the wording of the
 * errors are those of reports/heaplab_reports/profile.py, the Python
 * validator `heaplab cma-size` uses; tests/profiles/ holds the cases both
 * must agree on.
 */
#ifndef HEAPLAB_BENCH_PROFILE_H
#define HEAPLAB_BENCH_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_SCHEMA "heaplab-profile/1"
/* A replay holds one slot per allocation; past this a typo is likelier than a workload. */
#define PROFILE_MAX_ALLOCS 1000000

/* What a class asks for: the kind of heap, not a device. */
enum heap_kind { HEAP_CMA, HEAP_SYSTEM };
const char *heap_kind_name(enum heap_kind k);

struct profile_class {
	char *name;
	int phase;		/* index into phases */
	enum heap_kind heap;
	uint64_t size;		/* bytes, as the profile says (the heap rounds up to pages) */
	uint64_t align;		/* physical alignment to check; 0: none given */
	int64_t count;		/* most held at once */
	int64_t hold_ms;	/* 0: to the phase's end */
	double rate_hz;		/* 0: a burst of count at the phase's start */
};

struct profile_phase {
	char *name;
	int64_t duration_ms;
	int first, nclasses;	/* its classes: classes[first .. first + nclasses) */
};

struct profile_entry {		/* one allocation of the timeline */
	int64_t at_us, hold_us;
	int cls;
};

struct profile {
	char *path, *name, *description, *source;	/* source: NULL if none */
	double page_cache, anon, pinned;		/* fractions of MemTotal */
	struct profile_phase *phases;
	int nphases;
	struct profile_class *classes;	/* every phase's, in order */
	int nclasses;
	bool has_timeline;		/* the timeline replaces the phases' schedules */
	struct profile_entry *timeline;
	int ntimeline;
};

/*
 * Loads and validates @path. @mem_total: the bytes a phase may hold at once
 * (this machine's MemTotal; 0: not checked). On bad input returns NULL with
 * the one-line error in @err ("profile FILE: FIELD: VALUE: reason");
 * NULL with errno ENOMEM and a message too if memory ran out.
 */
struct profile *profile_load(const char *path, uint64_t mem_total, char *err, size_t errlen);
void profile_free(struct profile *p);

/* Bytes phase @i holds at most: the sum of count * size over its classes. */
double profile_phase_bytes(const struct profile *p, int i);

enum sched_op { SCHED_RELEASE, SCHED_ALLOC };

struct sched_event {
	uint64_t at_ns;		/* from the replay's start, --time-scale applied */
	enum sched_op op;
	int cls;
	uint32_t slot;		/* the allocation; its release names the same slot */
};

struct schedule {
	struct sched_event *ev;	/* in the order they are played */
	size_t nev;
	uint32_t nslots;	/* allocations in all */
	uint64_t end_ns;	/* the replay lasts this long (an idle last phase too) */
};

/*
 * The events of @p, every class of both kinds (replay skips the classes of
 * the other kind). Returns 0, or -1 with @err set (a schedule past
 * PROFILE_MAX_ALLOCS, or longer than a replay can wait for).
 */
int profile_schedule(const struct profile *p, double time_scale, struct schedule *s,
		     char *err, size_t errlen);
void schedule_free(struct schedule *s);

#endif
