/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab-stress: what the stressors, the fault-injection sweep, the fuzzer
 * and the OOM checks share. Stressors are registered in one table
 * (stressors.c), each with typed options, ranges, help and a verify mode.
 */
#ifndef HEAPLAB_STRESS_H
#define HEAPLAB_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "heaplab.h"

#define MAX_ERRNO 160
#define MAX_MSGS 16
#define MSG_LEN 200

/* Options common to every subcommand. */
struct opts {
	const char *heaps[HL_MAX_HEAPS];
	/* heaps[i] is heaplab's: resolved once, before a stressor unloads anything */
	bool heaplab[HL_MAX_HEAPS];
	int nheaps;
	int procs, threads;
	double duration;		/* seconds, wall clock */
	uint64_t seed;
	bool verify;
	const char *json;
	const char *kmod_dir;		/* unload stressor: where the .ko files are */
	long ops;			/* fuzz: call budget */
};

/*
 * Counters of one stressor on one heap. They live in shared memory, so
 * forked workers add to them with atomics.
 */
struct counters {
	uint64_t ops;			/* bogo-ops: one full cycle each */
	uint64_t calls;			/* syscalls made on the heap or buffer */
	uint64_t bytes;			/* allocated */
	uint64_t errors[MAX_ERRNO];	/* expected failures by errno */
	uint64_t unexpected;		/* failures no correct heap gives */
	uint64_t verify_failures;	/* zero or pattern checks that failed */
};

/* A per-stressor option: name=value, integer in [min, max]. */
struct stressor_opt {
	const char *name;
	long min, max, def;
	const char *help;
};

#define MAX_OPTS 4

struct worker {
	const struct opts *o;
	const struct stressor *s;
	long opt[MAX_OPTS];		/* resolved values of s->opts */
	int heap_fd[HL_MAX_HEAPS];		/* this process's fd of each --heap */
	int heap_idx[HL_MAX_HEAPS];	/* which heaps this stressor runs on */
	int nheap;
	uint64_t rng;			/* xorshift state, from the seed */
	int proc, thread;
	double deadline;		/* now_s() at which to stop */
};

struct stressor {
	const char *name;
	const char *help;
	struct stressor_opt opts[MAX_OPTS];
	/* Runs on heaplab's heaps only (hl_heap_impl()); else on every heap. */
	bool heaplab_only;
	/* One bogo-op on heap @h (an index into o->heaps); 0 or -1 to stop. */
	int (*op)(struct worker *w, int h);
};

extern const struct stressor stressors[];
extern const size_t nstressors;
/* Whether stressor @s runs on heap @h (an index into o->heaps). */
bool stressor_applies(const struct stressor *s, const struct opts *o, int h);

/* Shared-memory results: counters per stressor x heap, and messages. */
struct shared {
	struct counters c[32][HL_MAX_HEAPS];
	int nmsgs;
	char msgs[MAX_MSGS][MSG_LEN];
};

extern struct shared *shm;
extern int cur_stressor;	/* index into shm->c of the running stressor */

/* random.c; heaps, buffers, /proc and clocks are libheaplab's (lib/heaplab.h). */
uint64_t rnd(uint64_t *s);
uint64_t rnd_range(uint64_t *s, uint64_t lo, uint64_t hi);
uint64_t rnd_size(uint64_t *s, uint64_t lo, uint64_t hi);	/* log-uniform, pages */

/* counters.c */
void count_err(struct counters *c, int err, bool expected);
/* A failure message, kept (the first MAX_MSGS) and printed. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct counters *ctr(int h);
/* The counters as a stressor's JSON: ops, calls, bytes, errors by name... */
struct json_object *counters_json(const struct counters *c);

/* account.c: the "nothing lost" check. */
struct snapshot {
	long dmabufs;				/* bufinfo's object count */
	long long heap_bytes[HL_MAX_HEAPS];	/* heaplab stats, -1 if none */
	long long heap_pages[HL_MAX_HEAPS];	/* pages_held, -1 if none */
	long memfree_kb, cmafree_kb, memtotal_kb;
	long pcp_kb;				/* zoneinfo's per-CPU lists */
	long pool_kb;				/* heaplab pools' pages */
	long long cma_used[HL_MAX_CMA_AREAS];	/* debugfs cma/NAME/used, pages */
	char cma_name[HL_MAX_CMA_AREAS][64];	/* CMA_MAX_NAME */
	int ncma;
	long long oom_kills;			/* vmstat oom_kill, -1 if none */
};
int snapshot(const struct opts *o, struct snapshot *s);
/* heaplab's debugfs stat @key of heap @h ("pages_held"); -1 for other heaps. */
long long heap_stat(const struct opts *o, int h, const char *key);
/* Compares with @base; failures by fail(); the findings into @leaks. */
int check_leaks(const struct opts *o, const struct snapshot *base,
		struct json_object *leaks);
int kmemleak_scan(struct json_object *leaks);

/* The subcommands. */
int run_stress(struct opts *o, const char *which, char **setopts, int nset,
	       struct json_object *root);
int run_fault(struct opts *o, struct json_object *root);
int run_fuzz(struct opts *o, struct json_object *root);
int run_oom(struct opts *o, struct json_object *root);

#endif
