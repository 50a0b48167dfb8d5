/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libheaplab: what heaplab's userspace shares (bench/, stress/, bpf/ and the
 * guest test programs of tests/guest). One header, one .c file a topic:
 *
 *   heap.c     heap devices: open, allocate, map, sync, vgem import,
 *              the inventory of heaps under some directories, and which
 *              implementation a heap is
 *   buf.c      buffer contents: first byte not a value, patterns
 *   proc.c     one-value and "key value" files of /proc, sysfs, debugfs;
 *              the counters the checks read (oom_kill, CMA areas' used)
 *   mem.c      /proc/meminfo; drop_caches, compaction, slab shrinking
 *   pool.c     heaplab's page pools: parameters, stats, waits
 *   machine.c  the "machine" block every JSON document starts with
 *   doc.c      heaplab's JSON documents: the head, adders, writing
 *   cli.c      the program's name, die(), sizes, ranges and lists
 *   fmt.c      clocks, durations, errno names, wait statuses
 *
 * Functions return -1 with errno set, or NULL, as libc does; none prints
 * except hl_die() and hl_doc_write(). Built twice: libheaplab.a with the tools' flags and
 * libheaplab-san.a with the test programs' sanitizers.
 */
#ifndef HEAPLAB_LIB_H
#define HEAPLAB_LIB_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How many heaps a tool takes (--heap), and how many the inventory lists. */
#define HL_MAX_HEAPS 16

/* heap.c */

/* Open heap device @path read-only (what DMA_HEAP_IOCTL_ALLOC needs). */
int hl_heap_open(const char *path);
/* DMA_HEAP_IOCTL_ALLOC: a dma-buf fd, or -1 with errno (ENOMEM, EINVAL, ...). */
int hl_alloc(int heap, uint64_t len, uint32_t fd_flags, uint64_t heap_flags);
/* The common case: a read-write, close-on-exec buffer. */
static inline int hl_alloc_rw(int heap, uint64_t len)
{
	return hl_alloc(heap, len, O_RDWR | O_CLOEXEC, 0);
}
/* A shared read-write mapping of a whole buffer, or NULL with errno. */
void *hl_map(int buf, size_t len);
/* DMA_BUF_IOCTL_SYNC with @flags (DMA_BUF_SYNC_START | ..._RW, ...). */
int hl_sync(int buf, uint64_t flags);
/* The first /dev/dri/card* whose driver is vgem (an importer), or -1. */
int hl_open_vgem(void);

enum hl_impl {
	HL_IMPL_UNKNOWN,	/* not a heap device, or no such file */
	HL_IMPL_HEAPLAB,	/* heaplab_heap.ko ("heaplab" in /proc/devices) */
	HL_IMPL_UPSTREAM,	/* the kernel's own ("dma_heap") */
};
/*
 * Which implementation serves the node @path: by its device number's major
 * in /proc/devices, not by its directory (heaplab's devdir= is a choice).
 */
enum hl_impl hl_heap_impl(const char *path);
const char *hl_impl_name(enum hl_impl impl);

struct hl_heap {
	char path[128];
	char name[64];		/* the node's name: system, reserved, ... */
	enum hl_impl impl;
};
/*
 * The heap devices under each of @dirs (NULL-terminated), sorted by path
 * within a directory: how many were found (at most @max), or -1.
 */
int hl_heaps_find(const char *const *dirs, struct hl_heap *out, int max);

/* buf.c */

/* Offset of the first byte of @p that is not @c, or -1. */
long hl_first_not(const void *p, size_t len, unsigned char c);
/* Each word its offset mixed with @tag: a page in the wrong place shows. */
void hl_fill_pattern(void *p, size_t len, uint64_t tag);
/* Offset of the first word that does not hold the pattern, or -1. */
long hl_check_pattern(const void *p, size_t len, uint64_t tag);

/* proc.c */

/* Write @s to @path whole: 0, or -1 with errno. */
int hl_write_str(const char *path, const char *s);
/* The number a one-value file starts with (any base strtoll takes), or -1. */
long long hl_read_num(const char *path);
/* The value of @key in a file of "key value" lines (/proc/vmstat), or -1. */
long long hl_key_value(const char *path, const char *key);
/*
 * The values of @n @keys in one read of such a file into @vals (-1 for a
 * key not there): how many were found, or -1 if @path cannot be read.
 */
int hl_key_values(const char *path, const char *const *keys, long long *vals, int n);
/* The processes the OOM killer has killed since boot (vmstat oom_kill), or -1. */
long long hl_oom_kills(void);
/* Counter @key of heaplab's debugfs heaplab/@heap/stats ("pages_held"), or -1. */
long long hl_heap_stat(const char *heap, const char *key);

/* pool.c: heaplab's page pools (heaplab_heap.ko parameters, system heap stats) */

/* Write heaplab_heap.ko's parameter @name ("pool", "clear_chunks"): 0 or -1. */
int hl_param_set(const char *name, const char *value);
/* Its value (Y/N as 1/0), or -1. */
long long hl_param_get(const char *name);
int hl_pool_set(int on);
/* The system heap's pool counters (debugfs stats), read at once; -1 if none. */
struct hl_pool_stats {
	long long pages, target, order8, order4, order0, freed;
	long long hits, misses, cleared_pages, clear_ns, worker_pid;
};
int hl_pool_read(struct hl_pool_stats *st);
/* 1 when every order is at its share of the level and no freed chunk waits. */
int hl_pool_full(void);
/* Wait up to @secs for hl_pool_full(): 1, or 0 on timeout. */
int hl_pool_wait_full(double secs);
/* Poll stat @key of @heap until it is in [@lo, @hi] or @secs passed: its value. */
long long hl_wait_stat(const char *heap, const char *key, long long lo, long long hi,
		       double secs);

#define HL_MAX_CMA_AREAS 8
struct hl_cma_area {
	char name[64];		/* CMA_MAX_NAME */
	long long used;		/* pages handed out: debugfs cma/NAME/used */
	long long count;	/* pages in the area: cma/NAME/count */
};
/* The CMA areas debugfs lists: how many (0 without debugfs or CMA). */
int hl_cma_areas(struct hl_cma_area *out, int max);
/* Pages area @name has handed out, or -1 if debugfs does not list it. */
long long hl_cma_used(const char *name);

/* mem.c */

/* The value of @key in /proc/meminfo, in KiB ("MemFree"), or -1. */
long long hl_meminfo_kb(const char *key);
/* The /proc/meminfo lines heaplab reads, in KiB, -1 where absent. */
struct hl_meminfo {
	long long total_kb, free_kb, available_kb, cma_total_kb, cma_free_kb;
};
/* All of them at one moment (one read): 0, or -1 without /proc/meminfo. */
int hl_meminfo_read(struct hl_meminfo *m);
/* Free pages on the per-CPU lists, which MemFree leaves out, in KiB; -1 if unreadable. */
long long hl_pcp_kb(void);
/* sync(), then drop_caches @what (1 page cache, 2 slab and shrinkers, 3 both). */
int hl_drop_caches(int what);
/* Compact all zones (vm.compact_memory). */
int hl_compact_memory(void);
/*
 * Shrink every slab cache (/sys/kernel/slab/NAME/shrink); with KASAN it
 * empties the quarantine of freed objects too. -1 if any refused.
 */
int hl_shrink_slabs(void);

/* machine.c */
struct json_object;
/*
 * The "machine" block of every heaplab JSON document: kernel release,
 * version and arch, cmdline, online and configured CPUs, memory, CMA
 * (areas and bytes) and the heap devices present.
 */
struct json_object *hl_machine_json(void);

/* cli.c */

/* The program's name for messages ("heaplab-bench"); set by hl_set_prog(). */
extern const char *hl_prog;
void hl_set_prog(const char *name);
/* "PROG: message" on stderr and exit(2): bad usage or input. */
void hl_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* --heap @path once more into @heaps[*@n], or hl_die() past HL_MAX_HEAPS. */
void hl_opt_heap(const char **heaps, int *n, const char *path);
/* "4K", "64K", "1M", "1G" or plain bytes, above 0: 0, or -1 (EINVAL/ERANGE). */
int hl_parse_size(const char *s, uint64_t *out);
/* Like hl_parse_size, but the end of the number is returned (lists of sizes). */
int hl_parse_size_prefix(const char *s, uint64_t *out, const char **end);
/* An integer in [min, max] (any base strtoll takes), or hl_die() naming @what. */
long long hl_parse_range(const char *s, long long min, long long max, const char *what);
/*
 * Splits @list at commas and calls @fn on each item: how many, or -1 at the
 * first item @fn refuses (returns non-zero). At most @max items, else -1
 * with errno E2BIG.
 */
int hl_parse_list(const char *list, int max, int (*fn)(const char *item, void *arg),
		  void *arg);

/* fmt.c */

/* CLOCK_MONOTONIC in seconds. */
double hl_now_s(void);
/* A duration in ns as "850ns", "12.3us", "4.56ms", "1.20s". */
void hl_fmt_ns(char *buf, size_t len, double ns);
/* "EINVAL", "ENOMEM", ... or "E123". Not thread-safe for unknown numbers. */
const char *hl_errname(int err);
/* A wait status in words: "exited with status 1", "killed by signal 9". */
void hl_wait_msg(char *buf, size_t len, int status);

/* doc.c: every heaplab JSON document, with json-c */

/*
 * A new document's head: "schema" (@schema, "heaplab-bench/1"), "tool"
 * (@tool; NULL: none) and "machine" (hl_machine_json()).
 */
struct json_object *hl_doc_new(const char *schema, const char *tool);
/* Its "options" object, with "heaps" (@heaps[0..@nheaps)): to add to. */
struct json_object *hl_doc_options(struct json_object *doc, const char *const *heaps,
				   int nheaps);
/* Key @key of object @o (the document or any object in it). */
void hl_doc_add_str(struct json_object *o, const char *key, const char *val);
void hl_doc_add_int(struct json_object *o, const char *key, int64_t val);
void hl_doc_add_uint(struct json_object *o, const char *key, uint64_t val);
void hl_doc_add_double(struct json_object *o, const char *key, double val);
void hl_doc_add_bool(struct json_object *o, const char *key, bool val);
/* An array of strings: @v[0..@n), or up to a NULL with @n < 0. */
void hl_doc_add_strs(struct json_object *o, const char *key, const char *const *v, int n);
/* A new empty object or array under @key, to fill. */
struct json_object *hl_doc_add_object(struct json_object *o, const char *key);
struct json_object *hl_doc_add_array(struct json_object *o, const char *key);
/*
 * Write @doc (pretty, slashes as they are) to @path, or stdout if NULL, and
 * free it: 0, or -1 after a message naming the program and the file.
 */
int hl_doc_write(struct json_object *doc, const char *path);

#endif /* HEAPLAB_LIB_H */
