// SPDX-License-Identifier: GPL-2.0
/*
 * replay: plays a workload profile (profile.[ch], profiles/README.md) on
 * each --heap in turn, under the profile's background load (load.c), and
 * reports what the heap made of it: per buffer class the allocations, the
 * failures by cause and the allocation latency; per heap the CMA area's
 * peak use, its fragmentation and the headroom at the peak. What
 * `heaplab cma-size` sizes a CMA area from.
 *
 * One thread plays the schedule, event after event, so the order of the
 * allocations and releases is the profile's and every count is exact on
 * any machine; only the times may slip (late_max_ns says how far).
 *
 * A class names a kind of heap, not a device: a --heap plays the classes
 * of its kind and lists the others as not played, so one profile runs on
 * heaplab's heaps and the kernel's alike.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "load.h"
#include "profile.h"

#define PAGE 4096ull
#define CMA_DEBUGFS "/sys/kernel/debug/cma"
#define CMA_SYSFS "/sys/kernel/mm/cma"
/*
 * Both CMA heaps align an allocation to its own order, up to
 * CONFIG_CMA_ALIGNMENT: 8 (1 MiB) is Kconfig's default, Debian's and
 * heaplab's test kernels'. A free range too short once aligned is
 * fragmentation, not a migration failure.
 */
#define CMA_ALIGN_ORDER 8

enum cause { EXHAUSTED, FRAGMENTED, MIGRATION, OTHER, NCAUSES };
static const char *const cause_names[NCAUSES] = { "exhausted", "fragmented", "migration",
						  "other" };

/* A CMA area, as debugfs shows it. Sizes in pages. */
struct area {
	char name[64];
	char dir[160];
	long long count, base_pfn, order_per_bit;
	bool maxchunk;		/* debugfs has maxchunk; else the bitmap says */
};

struct snap {
	long long used, largest;	/* pages: handed out; the longest free range */
};

struct class_play {
	uint64_t allocs, ok, failed[NCAUSES], misaligned;
	bool misaligned_known;
	struct samples lat;
	struct json_object *errors;	/* "other" failures by errno name */
};

struct heap_play {
	const char *path;
	enum heap_kind kind;
	bool have_area;
	struct area area;
	struct snap start, peak, least;	/* least: the smallest longest free range */
	uint64_t late_max_ns;
	char left_out[512];
	struct class_play *cls;		/* one per class of the profile */
};

/* Loaded by replay_check(), before anything runs; bad input exits 2 there. */
static struct profile *prof;
static struct schedule sched;
/* The document's "heaps" and "background", for replay_doc(). */
static struct json_object *heaps_json, *background_json;

static void note(struct heap_play *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Why a figure is missing, for the heap's "left_out". */
static void note(struct heap_play *h, const char *fmt, ...)
{
	size_t n = strlen(h->left_out);
	va_list ap;

	if (n && n + 2 < sizeof(h->left_out)) {
		strcpy(h->left_out + n, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(h->left_out + n, sizeof(h->left_out) - n, fmt, ap);
	va_end(ap);
}

/* --- CMA areas: debugfs cma/<area>/{count,used,maxchunk,bitmap} ------------- */

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* debugfs, mounted if it is not (root only): whether cma/ can be read. */
static bool cma_debugfs(void)
{
	if (access(CMA_DEBUGFS, R_OK | X_OK) &&
	    !access("/sys/kernel/debug", F_OK) && !geteuid())
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	return !access(CMA_DEBUGFS, R_OK | X_OK);
}

static bool area_exists(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), CMA_SYSFS "/%s", name);
	if (is_dir(path))
		return true;
	snprintf(path, sizeof(path), CMA_DEBUGFS "/%s", name);
	return is_dir(path);
}

/* The names a CMA heap goes by, besides its area's. */
static bool cma_name(const char *name)
{
	return !strcmp(name, "reserved") || !strcmp(name, "linux,cma") ||
	       !strcmp(name, "default_cma_region");
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/*
 * The entries of @dir (the CMA areas, in debugfs or sysfs): how many, and
 * the last one's name in @only, which is the area when there is one.
 */
static int only_entry(const char *dir, char *only, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && strlen(e->d_name) < len) {
			n++;
			strcpy(only, e->d_name);
		}
	if (d)
		closedir(d);
	return n;
}

/* A heap named after a CMA area, or by a CMA heap's names, is of the CMA kind. */
static enum heap_kind heap_kind(const char *path)
{
	return cma_name(base(path)) || area_exists(base(path)) ? HEAP_CMA : HEAP_SYSTEM;
}

/*
 * The area heap @path allocates from: the one it is named after, else (a
 * default_cma_region or linux,cma node) the default area: "reserved" (the
 * cma= boot parameter's), or the only one. 0, or -1 with @why.
 */
static int area_of(const char *path, struct area *a, char *why, size_t len)
{
	const char *name = base(path);
	char p[PATH_MAX], only[64] = "";
	int n = 0;

	memset(a, 0, sizeof(*a));
	if (!cma_debugfs()) {
		snprintf(why, len, "debugfs %s unreadable (%s): no area figures", CMA_DEBUGFS,
			 strerror(errno));
		return -1;
	}
	snprintf(p, sizeof(p), CMA_DEBUGFS "/%s", name);
	if (!is_dir(p)) {
		n = only_entry(CMA_DEBUGFS, only, sizeof(only));
		snprintf(p, sizeof(p), CMA_DEBUGFS "/reserved");
		if (is_dir(p))
			name = "reserved";
		else if (n == 1)
			name = only;
		else {
			snprintf(why, len, "which of %d CMA areas %s allocates from is not known",
				 n, path);
			return -1;
		}
	}
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->dir, sizeof(a->dir), CMA_DEBUGFS "/%s", name);
	snprintf(p, sizeof(p), "%s/count", a->dir);
	a->count = hl_read_num(p);
	snprintf(p, sizeof(p), "%s/base_pfn", a->dir);
	a->base_pfn = hl_read_num(p);
	snprintf(p, sizeof(p), "%s/order_per_bit", a->dir);
	a->order_per_bit = hl_read_num(p);
	snprintf(p, sizeof(p), "%s/maxchunk", a->dir);
	a->maxchunk = !access(p, R_OK);
	if (a->count <= 0 || a->order_per_bit < 0 || a->order_per_bit > 30) {
		snprintf(why, len, "debugfs cma/%s unreadable (%s): no area figures", name,
			 strerror(errno ? errno : EINVAL));
		return -1;
	}
	return 0;
}

/*
 * The area's bitmap: one bit per 2^order_per_bit pages, set where handed
 * out. debugfs prints the kernel's unsigned longs as u32 words, so on a
 * 64-bit big-endian machine the halves of each long come swapped.
 */
static uint32_t *read_bitmap(const struct area *a, size_t *nbits)
{
	char path[PATH_MAX], *text = NULL, *s, *end;
	size_t len = 0, cap = 0, words = 0;
	uint32_t *w;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/bitmap", a->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	do {
		if (len + 4096 >= cap) {
			char *t = realloc(text, cap = cap ? 2 * cap : 65536);

			if (!t) {
				free(text);
				close(fd);
				return NULL;
			}
			text = t;
		}
		r = read(fd, text + len, cap - len - 1);
		if (r > 0)
			len += (size_t)r;
	} while (r > 0);
	close(fd);
	if (!text)
		return NULL;
	text[len] = '\0';
	*nbits = (size_t)(a->count >> a->order_per_bit);
	w = calloc(*nbits / 32 + 2, sizeof(*w));
	for (s = text; w && words < *nbits / 32 + 1; s = end, words++) {
		unsigned long v = strtoul(s, &end, 10);

		if (end == s)
			break;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ && __SIZEOF_LONG__ == 8
		w[words ^ 1] = (uint32_t)v;
#else
		w[words] = (uint32_t)v;
#endif
	}
	free(text);
	if (w && words < (*nbits + 31) / 32) {
		free(w);
		return NULL;
	}
	return w;
}

static bool bit(const uint32_t *w, size_t i)
{
	return w[i / 32] >> (i % 32) & 1;
}

/*
 * Over the free ranges of the bitmap: the longest (pages), and whether
 * @pages fit in one at a start aligned to 2^@order pages, as cma_alloc()
 * places them (@pages 0: not asked).
 */
static long long free_ranges(const struct area *a, const uint32_t *w, size_t nbits,
			     long long pages, int order, bool *fits)
{
	long long longest = 0, opb = a->order_per_bit;
	size_t s = 0, e;

	if (fits)
		*fits = false;
	while (s < nbits) {
		if (bit(w, s)) {
			s++;
			continue;
		}
		for (e = s; e < nbits && !bit(w, e); e++)
			;
		if ((long long)(e - s) << opb > longest)
			longest = (long long)(e - s) << opb;
		if (fits && pages) {
			/* cma_alloc(): the block's PFN a multiple of 2^order, in whole bits */
			long long unit = order > opb ? 1ll << (order - opb) : 1;
			long long at = a->base_pfn >> opb, first = (at + (long long)s + unit - 1) /
								 unit * unit - at;

			if (first + ((pages + (1ll << opb) - 1) >> opb) <= (long long)e)
				*fits = true;
		}
		s = e;
	}
	return longest;
}

/*
 * Without debugfs (not root), the area's name and size as far as sysfs and
 * /proc/meminfo tell: the heap's own name, or the only area, of CmaTotal.
 */
static void area_guess(const char *path, struct area *a)
{
	char only[64] = "";
	int n = only_entry(CMA_SYSFS, only, sizeof(only));

	if (n != 1)
		return;
	/* one area: it is the heap's, and CmaTotal is its size */
	snprintf(a->name, sizeof(a->name), "%s", only);
	a->count = hl_meminfo_kb("CmaTotal") * 1024 / (long long)PAGE;
	(void)path;
}

/* used and the longest free range now: 0, or -1. */
static int area_read(const struct area *a, struct snap *st)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/used", a->dir);
	st->used = hl_read_num(path);
	if (a->maxchunk) {
		snprintf(path, sizeof(path), "%s/maxchunk", a->dir);
		st->largest = hl_read_num(path);
	} else {
		size_t nbits;
		uint32_t *w = read_bitmap(a, &nbits);

		st->largest = w ? free_ranges(a, w, nbits, 0, 0, NULL) : -1;
		free(w);
	}
	return st->used < 0 || st->largest < 0 ? -1 : 0;
}

/*
 * Why an allocation of @size failed with @err, from the area as it is right
 * after: less free than asked (exhausted), no free range long enough at
 * the alignment the heap needs (fragmented), or else pages that would not
 * move out of the way (migration: busy or pinned).
 */
static enum cause cause_of(struct heap_play *h, uint64_t size, int err)
{
	long long pages = (long long)((size + PAGE - 1) / PAGE);
	int order = 0;
	struct snap st;
	uint32_t *w;
	size_t nbits;
	bool fits;

	if (err != ENOMEM)
		return OTHER;
	if (h->kind == HEAP_SYSTEM)
		return EXHAUSTED;	/* a system heap runs out of nothing but memory */
	if (!h->have_area || area_read(&h->area, &st))
		return OTHER;		/* no area to ask: left_out says so */
	if (h->area.count - st.used < pages)
		return EXHAUSTED;
	if (st.largest < pages)
		return FRAGMENTED;
	while (order < CMA_ALIGN_ORDER && (1ll << order) < pages)
		order++;
	w = read_bitmap(&h->area, &nbits);
	if (!w)
		return MIGRATION;
	free_ranges(&h->area, w, nbits, pages, order, &fits);
	free(w);
	return fits ? MIGRATION : FRAGMENTED;
}

/* After an allocation: a new peak of use, a new least longest free range. */
static void track(struct heap_play *h)
{
	struct snap st;

	if (!h->have_area || area_read(&h->area, &st))
		return;
	if (st.used > h->peak.used)
		h->peak = st;
	if (st.largest < h->least.largest)
		h->least = st;
}

/* --- playing ------------------------------------------------------------- */

/*
 * The physical address of a buffer's first page, from /proc/self/pagemap
 * once mapped and touched (the upstream CMA heap maps at the first
 * fault): 0, or -1 when unknown: PFNs read as 0 without CAP_SYS_ADMIN,
 * and a VM_PFNMAP mapping (the upstream system heap's remap_pfn_range())
 * is not walked at all.
 */
static int first_phys(int buf, uint64_t size, uint64_t *pa)
{
	static int pagemap = -2;
	size_t len = (size_t)((size + PAGE - 1) / PAGE * PAGE);
	uint64_t e = 0;
	void *p;

	if (pagemap == -2)
		pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		return -1;
	p = hl_map(buf, len);
	if (!p)
		return -1;
	(void)*(volatile char *)p;
	if (pread(pagemap, &e, sizeof(e), (off_t)((uintptr_t)p / PAGE * sizeof(e))) != sizeof(e))
		e = 0;
	munmap(p, len);
	/* bit 63: present; bits 0-54: the PFN */
	if (!(e >> 63) || !(e & ((1ull << 55) - 1)))
		return -1;
	*pa = (e & ((1ull << 55) - 1)) * PAGE;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleeps until @t (CLOCK_MONOTONIC ns): how late it already was, or 0. */
static uint64_t wait_until(uint64_t t)
{
	uint64_t now = mono_ns();
	struct timespec ts = { (time_t)(t / 1000000000ull), (long)(t % 1000000000ull) };

	if (now >= t)
		return now - t;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return 0;
}

static void alloc_one(struct heap_play *h, int heap, const struct sched_event *ev, int *fds)
{
	const struct profile_class *c = &prof->classes[ev->cls];
	struct class_play *cp = &h->cls[ev->cls];
	uint64_t t0, t1, pa;
	int fd, err;

	cp->allocs++;
	t0 = now_ns();
	fd = hl_alloc_rw(heap, c->size);
	t1 = now_ns();
	if (fd < 0) {
		enum cause why;
		struct json_object *n;
		const char *name;

		err = errno;
		why = cause_of(h, c->size, err);
		cp->failed[why]++;
		if (why == OTHER) {
			name = hl_errname(err);
			n = json_object_object_get(cp->errors, name);
			json_object_object_add(cp->errors, name,
					       json_object_new_int64(json_object_get_int64(n) + 1));
		}
		return;
	}
	cp->ok++;
	samples_add(&cp->lat, t1 - t0);
	fds[ev->slot] = fd;
	if (c->align) {
		if (!first_phys(fd, c->size, &pa)) {
			cp->misaligned_known = true;
			cp->misaligned += pa % c->align != 0;
		}
	}
	track(h);
}

/* The schedule on one heap: the events of its kind, each at its time. */
static int play(struct heap_play *h, int heap)
{
	int *fds = malloc((sched.nslots + 1) * sizeof(*fds));
	uint64_t start;
	size_t e;
	uint32_t i;

	if (!fds) {
		fprintf(stderr, "heaplab-bench: replay: %s\n", strerror(ENOMEM));
		return 1;
	}
	for (i = 0; i < sched.nslots; i++)
		fds[i] = -1;
	start = mono_ns();
	for (e = 0; e < sched.nev; e++) {
		const struct sched_event *ev = &sched.ev[e];
		uint64_t late;

		if (prof->classes[ev->cls].heap != h->kind)
			continue;
		late = wait_until(start + ev->at_ns);
		if (late > h->late_max_ns)
			h->late_max_ns = late;
		if (ev->op == SCHED_ALLOC) {
			alloc_one(h, heap, ev, fds);
		} else if (fds[ev->slot] >= 0) {
			close(fds[ev->slot]);	/* a failed allocation holds nothing */
			fds[ev->slot] = -1;
		}
	}
	/* the replay lasts the profile's time, an idle last phase too */
	wait_until(start + sched.end_ns);
	for (i = 0; i < sched.nslots; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return 0;
}

/* --- JSON ---------------------------------------------------------------- */

static struct json_object *opt_int(bool have, long long v)
{
	return have ? json_object_new_int64(v) : NULL;
}

static void class_results(const struct opts *o, struct heap_play *h, struct json_object *results)
{
	int k, c;

	for (k = 0; k < prof->nclasses; k++) {
		const struct profile_class *pc = &prof->classes[k];
		struct class_play *cp = &h->cls[k];
		struct json_object *r, *f;

		if (pc->heap != h->kind)
			continue;
		r = json_object_new_object();
		hl_doc_add_str(r, "heap", h->path);
		hl_doc_add_str(r, "impl", hl_impl_name(hl_heap_impl(h->path)));
		hl_doc_add_str(r, "class", pc->name);
		hl_doc_add_str(r, "phase", prof->phases[pc->phase].name);
		hl_doc_add_uint(r, "size", pc->size);
		if (pc->align)
			hl_doc_add_uint(r, "align", pc->align);
		hl_doc_add_uint(r, "allocs", cp->allocs);
		hl_doc_add_uint(r, "ok", cp->ok);
		f = hl_doc_add_object(r, "failed");
		for (c = 0; c < NCAUSES; c++)
			hl_doc_add_uint(f, cause_names[c], cp->failed[c]);
		json_object_object_add(r, "errors", json_object_get(cp->errors));
		if (pc->align)
			json_object_object_add(r, "misaligned",
					       opt_int(cp->misaligned_known || !cp->ok,
						       (long long)cp->misaligned));
		json_object_object_add(r, "alloc", samples_json(&cp->lat, o->raw));
		json_object_array_add(results, r);
		lat_row(h->path, pc->size, pc->name, &cp->lat);
		printf("%-24s %9lluK %-14s allocs %llu ok %llu failed: exhausted %llu fragmented "
		       "%llu migration %llu other %llu\n", h->path,
		       (unsigned long long)(pc->size >> 10), pc->name,
		       (unsigned long long)cp->allocs, (unsigned long long)cp->ok,
		       (unsigned long long)cp->failed[EXHAUSTED],
		       (unsigned long long)cp->failed[FRAGMENTED],
		       (unsigned long long)cp->failed[MIGRATION],
		       (unsigned long long)cp->failed[OTHER]);
	}
}

/* At the peak of use: used, free, the longest free range, how many more of each class fit. */
static struct json_object *headroom(struct heap_play *h)
{
	struct json_object *hr = json_object_new_object(), *arr;
	uint64_t used = (uint64_t)h->peak.used * PAGE;
	uint64_t avail = (uint64_t)(h->area.count - h->peak.used) * PAGE;
	uint64_t largest = (uint64_t)h->peak.largest * PAGE;
	int k;

	hl_doc_add_uint(hr, "used", used);
	hl_doc_add_uint(hr, "free", avail);
	hl_doc_add_uint(hr, "largest_free", largest);
	arr = hl_doc_add_array(hr, "classes");
	for (k = 0; k < prof->nclasses; k++) {
		const struct profile_class *pc = &prof->classes[k];
		struct json_object *c;

		if (pc->heap != h->kind)
			continue;
		c = json_object_new_object();
		hl_doc_add_str(c, "class", pc->name);
		hl_doc_add_uint(c, "size", pc->size);
		hl_doc_add_uint(c, "fit_largest", largest / pc->size);
		hl_doc_add_uint(c, "fit_free", avail / pc->size);
		json_object_array_add(arr, c);
	}
	return hr;
}

static struct json_object *heap_json(struct heap_play *h, struct json_object *vmstat,
				     struct json_object *perf)
{
	struct json_object *j = json_object_new_object(), *played, *unplayed, *a = NULL;
	bool area = h->have_area;
	int k;

	hl_doc_add_str(j, "heap", h->path);
	hl_doc_add_str(j, "impl", hl_impl_name(hl_heap_impl(h->path)));
	hl_doc_add_str(j, "kind", heap_kind_name(h->kind));
	played = hl_doc_add_array(j, "played");
	unplayed = hl_doc_add_array(j, "not_played");
	for (k = 0; k < prof->nclasses; k++)
		json_object_array_add(prof->classes[k].heap == h->kind ? played : unplayed,
				      json_object_new_string(prof->classes[k].name));
	if (h->area.name[0]) {
		a = json_object_new_object();
		hl_doc_add_str(a, "name", h->area.name);
		hl_doc_add_uint(a, "size", (uint64_t)h->area.count * PAGE);
	}
	json_object_object_add(j, "area", a);
	json_object_object_add(j, "used_at_start", opt_int(area, h->start.used * (long long)PAGE));
	json_object_object_add(j, "peak_used", opt_int(area, h->peak.used * (long long)PAGE));
	json_object_object_add(j, "min_largest_free",
			       opt_int(area, h->least.largest * (long long)PAGE));
	json_object_object_add(j, "headroom", area ? headroom(h) : NULL);
	json_object_object_add(j, "vmstat", vmstat);
	hl_doc_add_uint(j, "late_max_ns", h->late_max_ns);
	if (perf)
		json_object_object_add(j, "perf", perf);
	json_object_object_add(j, "left_out", h->left_out[0] ?
				  json_object_new_string(h->left_out) : NULL);
	return j;
}

/* --- one heap, the run ------------------------------------------------------ */

static int replay_heap(struct opts *o, const char *path, int heap, struct json_object *results)
{
	struct heap_play h = { .path = path, .kind = heap_kind(path) };
	struct json_object *base, *perf = NULL;
	struct perf_stat ps;
	char why[256];
	int k, ret;

	h.cls = calloc((size_t)prof->nclasses + 1, sizeof(*h.cls));
	if (!h.cls)
		return 1;
	for (k = 0; k < prof->nclasses; k++) {
		h.cls[k].errors = json_object_new_object();
		samples_init(&h.cls[k].lat, 64);
	}
	if (h.kind == HEAP_CMA) {
		if (area_of(path, &h.area, why, sizeof(why))) {
			area_guess(path, &h.area);
			note(&h, "%s; an ENOMEM's cause unknown (counted as other)", why);
		} else if (area_read(&h.area, &h.start)) {
			note(&h, "debugfs cma/%s unreadable: no area figures; an ENOMEM's cause "
			     "unknown (counted as other)", h.area.name);
		} else {
			h.have_area = true;
			h.peak = h.least = h.start;
		}
	} else {
		note(&h, "a system heap: no CMA area");
	}
	fprintf(stderr, "replay: %s (%s kind): %s, %.1f s\n", path, heap_kind_name(h.kind),
		prof->name, (double)sched.end_ns / 1e9);
	base = vmstat_json(NULL);
	case_begin(o, &ps);
	ret = play(&h, heap);
	if (o->perf) {
		struct json_object *tmp = json_object_new_object();

		case_end(o, &ps, tmp);
		perf = json_object_get(json_object_object_get(tmp, "perf"));
		json_object_put(tmp);
	}
	for (k = 0; k < prof->nclasses; k++)
		if (prof->classes[k].align && prof->classes[k].heap == h.kind && h.cls[k].ok &&
		    !h.cls[k].misaligned_known) {
			note(&h, "misaligned: /proc/self/pagemap gave no PFN (it does only to root, "
			     "and never for a buffer mapped as PFNs, as the upstream system heap's)");
			break;
		}
	class_results(o, &h, results);
	json_object_array_add(heaps_json, heap_json(&h, vmstat_json(base), perf));
	json_object_put(base);
	for (k = 0; k < prof->nclasses; k++) {
		samples_free(&h.cls[k].lat);
		json_object_put(h.cls[k].errors);
	}
	free(h.cls);
	return ret;
}

struct background {
	pid_t cache, anon;
};

/* The profile's background load, once for every heap. 0, or 1 after a message. */
static int background_start(struct opts *o, struct background *bg)
{
	const char *tmp = getenv("TMPDIR"), *dir = o->cache_dir ? o->cache_dir : tmp ? tmp : "/tmp";
	uint64_t mem = (uint64_t)hl_meminfo_kb("MemTotal") * 1024;
	size_t cache = (size_t)(prof->page_cache * (double)mem) & ~(PAGE - 1);
	size_t anon = (size_t)(prof->anon * (double)mem) & ~(2 * PAGE - 1);
	size_t pinned = (size_t)(prof->pinned * (double)mem) & ~(2 * PAGE - 1), got = 0, pin = 0;
	int cpu = load_cpu(o->cpu);

	if (o->no_background || (!cache && !anon))
		return 0;
	background_json = json_object_new_object();
	if (cache) {
		bg->cache = cache_reader_start("replay", dir, cache, cpu, &got);
		if (bg->cache < 0)
			return 1;
		if (got < cache)
			fprintf(stderr, "heaplab-bench: replay: the page cache file in %s holds "
				"%zu MiB of %zu (no space left?)\n", dir, got >> 20, cache >> 20);
		hl_doc_add_str(background_json, "cache_dir", dir);
	}
	if (anon) {
		bg->anon = corunner_start("replay", anon, pinned, cpu, &pin);
		if (bg->anon < 0)
			return 1;
		if (pin < pinned)
			fprintf(stderr, "heaplab-bench: replay: pipes took %zu MiB of the %zu MiB "
				"to pin\n", pin >> 20, pinned >> 20);
	}
	fprintf(stderr, "replay: background: page cache %zu MiB, anonymous %zu MiB (%zu pinned)\n",
		got >> 20, anon >> 20, pin >> 20);
	hl_doc_add_uint(background_json, "page_cache_bytes", got);
	hl_doc_add_uint(background_json, "anon_bytes", anon);
	hl_doc_add_uint(background_json, "pinned_bytes", pin);
	return 0;
}

static int background_stop(struct background *bg)
{
	int died = load_stop("replay", "page cache reader", bg->cache) |
		   load_stop("replay", "co-runner", bg->anon);

	if (background_json)
		hl_doc_add_bool(background_json, "lasted", !died);
	return died;
}

static int run_replay(struct opts *o, struct json_object *results)
{
	struct background bg = { -1, -1 };
	int h, failed = 0, heaps[HL_MAX_HEAPS];
	struct rlimit rl;

	/* every heap first: no background load for a run that cannot start */
	for (h = 0; h < o->nheaps; h++) {
		heaps[h] = open_heap(o->heaps[h]);
		if (heaps[h] < 0) {
			while (h--)
				close(heaps[h]);
			return 1;
		}
	}
	/* a profile may hold more buffers at once than the default 1024 fds */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	heaps_json = json_object_new_array();
	/* settle before the background starts, never under it */
	if (settle(o) || background_start(o, &bg)) {
		failed = 1;
	} else {
		lat_header();
		for (h = 0; h < o->nheaps; h++)
			failed |= replay_heap(o, o->heaps[h], heaps[h], results);
	}
	failed |= background_stop(&bg);
	for (h = 0; h < o->nheaps; h++)
		close(heaps[h]);
	return failed;
}

/* The profile, loaded and scheduled before anything runs: bad input exits 2 here. */
static int replay_check(const struct opts *o)
{
	long long kb = hl_meminfo_kb("MemTotal");
	char err[1024];

	prof = profile_load(o->input, kb > 0 ? (uint64_t)kb * 1024 : 0, err, sizeof(err));
	if (!prof || profile_schedule(prof, o->time_scale, &sched, err, sizeof(err)))
		hl_die("%s", err);
	return 0;
}

static void replay_options(const struct opts *o, struct json_object *opts)
{
	hl_doc_add_str(opts, "profile", o->input);
	hl_doc_add_double(opts, "time_scale", o->time_scale);
	hl_doc_add_bool(opts, "background", !o->no_background);
	if (o->cache_dir)
		hl_doc_add_str(opts, "cache_dir", o->cache_dir);
}

static void replay_doc(const struct opts *o, struct json_object *doc)
{
	struct json_object *p = hl_doc_add_object(doc, "profile");

	(void)o;
	hl_doc_add_str(p, "name", prof->name);
	hl_doc_add_str(p, "description", prof->description);
	hl_doc_add_bool(p, "timeline", prof->has_timeline);
	hl_doc_add_uint(p, "duration_ns", sched.end_ns);
	json_object_object_add(doc, "heaps", heaps_json ? heaps_json : json_object_new_array());
	json_object_object_add(doc, "background", background_json);
	heaps_json = background_json = NULL;
}

BENCH_HARNESS(replay) = {
	.name = "replay",
	.help = "a workload profile played on each heap under its background load: "
		"failures by cause, latency, CMA peak use and headroom",
	.input = "PROFILE",
	.needs_heap = true,
	.options = (const char *const[]){ "time-scale", "cache-dir", "no-background", NULL },
	.cases = "heap class",
	.check = replay_check,
	.options_json = replay_options,
	.doc_json = replay_doc,
	.run = run_replay,
};
