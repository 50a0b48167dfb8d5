// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side tests of bench/profile.c, the C side of the heaplab-profile/1
 * format: tests/profiles/ (shared with the Python validator: ok-*.json
 * load, each bad-*.json fails with its expected-errors.txt substring),
 * heaplab-bench replay's exit 2 on them, the schedule's exact events, and
 * that no mangled profile crashes the parser (ASan, UBSan).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "profile.h"

#ifndef PROFILES_DIR
#error "PROFILES_DIR: the tests/profiles directory"
#endif
#ifndef HEAPLAB_BENCH
#error "HEAPLAB_BENCH: heaplab-bench as built"
#endif

/* Python's validator checks against the guest's --mem, 2G: so do these. */
#define MEM (2ull << 30)
#define MAX_NAMES 256

/* The names in PROFILES_DIR starting with @prefix, sorted: how many. */
static int names(const char *prefix, char out[][128])
{
	DIR *d = opendir(PROFILES_DIR);
	struct dirent *e;
	int n = 0, i, j;

	while (d && (e = readdir(d)) && n < MAX_NAMES)
		if (!strncmp(e->d_name, prefix, strlen(prefix)) &&
		    strlen(e->d_name) > 5 && !strcmp(e->d_name + strlen(e->d_name) - 5, ".json"))
			snprintf(out[n++], 128, "%s", e->d_name);
	if (d)
		closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(out[j - 1], out[j]) > 0; j--) {
			char t[128];

			memcpy(t, out[j], 128);
			memcpy(out[j], out[j - 1], 128);
			memcpy(out[j - 1], t, 128);
		}
	return n;
}

struct expected {
	char name[128], want[512];
};

/* expected-errors.txt: NAME<TAB>substring lines. How many, or -1. */
static int expected(struct expected *x, int max, int *sorted)
{
	char line[700], prev[700] = "";
	FILE *f = fopen(PROFILES_DIR "/expected-errors.txt", "r");
	int n = 0;

	*sorted = 1;
	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t');

		line[strcspn(line, "\n")] = '\0';
		if (strcmp(prev, line) > 0)
			*sorted = 0;
		strcpy(prev, line);
		if (!tab || strncmp(line, "bad-", 4))
			continue;
		*tab = '\0';
		if (strlen(line) >= sizeof(x[n].name) || strlen(tab + 1) >= sizeof(x[n].want))
			continue;
		strcpy(x[n].name, line);
		strcpy(x[n].want, tab + 1);
		n++;
	}
	fclose(f);
	return n;
}

static const char *find_want(struct expected *x, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(x[i].name, name))
			return x[i].want;
	return NULL;
}

static struct profile *load(const char *name, char *err, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", PROFILES_DIR, name);
	return profile_load(path, MEM, err, len);
}

TEST(ok_profiles_load)
{
	static char ok[MAX_NAMES][128];
	struct schedule s;
	char err[1024];
	int n = names("ok-", ok), i;

	ASSERT_GE(n, 2);
	for (i = 0; i < n; i++) {
		struct profile *p = load(ok[i], err, sizeof(err));

		EXPECT_NE(NULL, p) TH_LOG("%s: %s", ok[i], err);
		if (!p)
			continue;
		EXPECT_EQ(0, profile_schedule(p, 1, &s, err, sizeof(err))) TH_LOG("%s: %s", ok[i], err);
		schedule_free(&s);
		profile_free(p);
	}
}

TEST(bad_profiles_named)
{
	static char bad[MAX_NAMES][128];
	static struct expected x[MAX_NAMES];
	int n = names("bad-", bad), nx, sorted, i;
	char err[1024], prefix[600];

	nx = expected(x, MAX_NAMES, &sorted);
	ASSERT_GE(n, 10);
	EXPECT_EQ(n, nx) TH_LOG("one line of expected-errors.txt per bad-*.json");
	EXPECT_TRUE(sorted) TH_LOG("expected-errors.txt not sorted bytewise (LC_ALL=C sort)");
	for (i = 0; i < nx; i++) {
		struct stat st;
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", PROFILES_DIR, x[i].name);
		EXPECT_EQ(0, stat(path, &st)) TH_LOG("%s: a line without a file", x[i].name);
	}
	for (i = 0; i < n; i++) {
		const char *want = find_want(x, nx, bad[i]);
		struct profile *p = load(bad[i], err, sizeof(err));

		EXPECT_EQ(NULL, p) TH_LOG("%s loaded", bad[i]);
		profile_free(p);
		if (p || !want) {
			EXPECT_NE(NULL, want) TH_LOG("%s: not in expected-errors.txt", bad[i]);
			continue;
		}
		snprintf(prefix, sizeof(prefix), "profile %s/%s: ", PROFILES_DIR, bad[i]);
		EXPECT_EQ(0, strncmp(err, prefix, strlen(prefix))) TH_LOG("%s", err);
		EXPECT_NE(NULL, strstr(err, want)) TH_LOG("%s: want '%s' in '%s'", bad[i], want, err);
		EXPECT_EQ(NULL, strchr(err, '\n')) TH_LOG("%s: more than one line", bad[i]);
	}
}

/* heaplab-bench @args...: its exit status, its stderr into @out. */
static int bench(char *out, size_t len, const char *const *args)
{
	char *argv[16];
	int fds[2], status, i;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	argv[0] = (char *)HEAPLAB_BENCH;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	if (pipe(fds))
		return -1;
	pid = fork();
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(fds[1], 2);
		close(fds[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while (got + 1 < len && (r = read(fds[0], out + got, len - got - 1)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(bench_exits_2_naming_the_field)
{
	static char bad[MAX_NAMES][128];
	static struct expected x[MAX_NAMES];
	int n = names("bad-", bad), nx, sorted, i;
	char out[4096], path[512], prefix[600];

	if (access(HEAPLAB_BENCH, X_OK))
		SKIP(return, "no %s (bench/ not built)", HEAPLAB_BENCH);
	nx = expected(x, MAX_NAMES, &sorted);
	for (i = 0; i < n; i++) {
		const char *want = find_want(x, nx, bad[i]);
		const char *args[] = { "replay", path, "--heap", "/nonexistent", NULL };

		snprintf(path, sizeof(path), "%s/%s", PROFILES_DIR, bad[i]);
		EXPECT_EQ(2, bench(out, sizeof(out), args)) TH_LOG("%s: %s", bad[i], out);
		snprintf(prefix, sizeof(prefix), "heaplab-bench: profile %s: ", path);
		EXPECT_EQ(0, strncmp(out, prefix, strlen(prefix))) TH_LOG("%s", out);
		EXPECT_NE(NULL, want && strstr(out, want)) TH_LOG("%s: %s", bad[i], out);
		/* one line: the message and its newline */
		EXPECT_EQ(strlen(out) - 1, strcspn(out, "\n")) TH_LOG("%s", out);
	}
}

TEST(bench_refuses_bad_options)
{
	static const struct { const char *args[8], *want; } cases[] = {
		{ { "replay", "--heap", "/nonexistent", NULL }, "replay needs its PROFILE" },
		{ { "replay", PROFILES_DIR "/ok-replay-counts.json", "--heap", "/x", "--sizes", "4K",
		    NULL }, "--sizes does not apply to replay: its PROFILE gives" },
		{ { "replay", PROFILES_DIR "/ok-replay-counts.json", "--heap", "/x", "--iters", "3",
		    NULL }, "--iters does not apply to replay" },
		{ { "replay", PROFILES_DIR "/ok-replay-counts.json", "--heap", "/x", "--time-scale",
		    "0", NULL }, "bad --time-scale '0'" },
		{ { "replay", PROFILES_DIR "/ok-replay-counts.json", "--heap", "/x", "--time-scale",
		    "fast", NULL }, "bad --time-scale 'fast'" },
		{ { "replay", PROFILES_DIR "/ok-replay-counts.json", "x.json", "--heap", "/x", NULL },
		  "unexpected argument 'x.json'" },
		{ { "replay", PROFILES_DIR "/ok-replay-counts.json", NULL },
		  "replay needs at least one --heap" },
		{ { "alloc", "--heap", "/x", "--time-scale", "1", NULL },
		  "--time-scale does not apply to alloc" },
		{ { "replay", PROFILES_DIR "/nonesuch.json", "--heap", "/x", NULL },
		  "nonesuch.json: No such file or directory" },
	};
	char out[4096];
	size_t i;

	if (access(HEAPLAB_BENCH, X_OK))
		SKIP(return, "no %s (bench/ not built)", HEAPLAB_BENCH);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(2, bench(out, sizeof(out), cases[i].args)) TH_LOG("case %zu: %s", i, out);
		EXPECT_NE(NULL, strstr(out, cases[i].want)) TH_LOG("want '%s': %s", cases[i].want,
								   out);
	}
}

static int class_index(const struct profile *p, const char *name)
{
	int k;

	for (k = 0; k < p->nclasses; k++)
		if (!strcmp(p->classes[k].name, name))
			return k;
	return -1;
}

static uint64_t allocs_of(const struct schedule *s, int cls)
{
	uint64_t n = 0;
	size_t e;

	for (e = 0; e < s->nev; e++)
		n += s->ev[e].op == SCHED_ALLOC && s->ev[e].cls == cls;
	return n;
}

/* The event of @op on @slot. */
static const struct sched_event *event(const struct schedule *s, enum sched_op op,
				       uint32_t slot, size_t *index)
{
	size_t e;

	for (e = 0; e < s->nev; e++)
		if (s->ev[e].op == op && s->ev[e].slot == slot) {
			if (index)
				*index = e;
			return &s->ev[e];
		}
	return NULL;
}

/* The @k-th allocation of class @cls: its slot. */
static uint32_t nth_slot(const struct schedule *s, int cls, int k)
{
	size_t e;

	for (e = 0; e < s->nev; e++)
		if (s->ev[e].op == SCHED_ALLOC && s->ev[e].cls == cls && !k--)
			return s->ev[e].slot;
	return UINT32_MAX;
}

#define MS 1000000ull

/* make check's replay profile (tests/guest/areas/bench.sh counts the same). */
TEST(schedule_counts)
{
	static const struct { const char *name; uint64_t n; } want[] = {
		{ "huge", 2 }, { "frames", 3 }, { "ring", 12 }, { "meta", 8 }, { "tiny", 30 },
		{ "pair", 2 },
	};
	struct profile *p;
	struct schedule s;
	char err[1024];
	size_t i;

	p = load("ok-replay-counts.json", err, sizeof(err));
	ASSERT_NE(NULL, p) TH_LOG("%s", err);
	ASSERT_EQ(0, profile_schedule(p, 1, &s, err, sizeof(err))) TH_LOG("%s", err);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		EXPECT_EQ(want[i].n, allocs_of(&s, class_index(p, want[i].name)))
			TH_LOG("%s", want[i].name);
	EXPECT_EQ(57u, s.nslots);
	EXPECT_EQ(2 * 57u, s.nev);
	EXPECT_EQ(1100 * MS, s.end_ns);
	schedule_free(&s);
	profile_free(p);
}

/* Every slot allocated once and released once after; times in order; a ring holds at most count. */
TEST(schedule_consistent)
{
	static char ok[MAX_NAMES][128];
	int n = names("ok-", ok), i;

	for (i = 0; i < n; i++) {
		struct profile *p;
		struct schedule s;
		char err[1024];
		int64_t *held;
		int8_t *state;
		size_t e;

		p = load(ok[i], err, sizeof(err));
		ASSERT_NE(NULL, p) TH_LOG("%s", err);
		ASSERT_EQ(0, profile_schedule(p, 1, &s, err, sizeof(err))) TH_LOG("%s", err);
		held = calloc((size_t)p->nclasses + 1, sizeof(*held));
		state = calloc((size_t)s.nslots + 1, 1);
		ASSERT_TRUE(held && state);
		for (e = 0; e < s.nev; e++) {
			const struct sched_event *ev = &s.ev[e];

			ASSERT_LT(ev->slot, s.nslots);
			if (e)
				EXPECT_LE(s.ev[e - 1].at_ns, ev->at_ns) TH_LOG("%s: event %zu", ok[i], e);
			EXPECT_LE(ev->at_ns, s.end_ns);
			if (ev->op == SCHED_ALLOC) {
				EXPECT_EQ(0, state[ev->slot]) TH_LOG("%s: slot %u twice", ok[i], ev->slot);
				state[ev->slot] = 1;
				held[ev->cls]++;
				/* a class's count binds its schedule (not a recorded timeline) */
				if (!p->has_timeline)
					EXPECT_LE(held[ev->cls], p->classes[ev->cls].count)
						TH_LOG("%s: %s", ok[i], p->classes[ev->cls].name);
			} else {
				EXPECT_EQ(1, state[ev->slot]) TH_LOG("%s: slot %u released before its "
								  "allocation", ok[i], ev->slot);
				state[ev->slot] = 2;
				held[ev->cls]--;
			}
		}
		for (e = 0; e < s.nslots; e++)
			EXPECT_EQ(2, state[e]) TH_LOG("%s: slot %zu not released", ok[i], e);
		free(held);
		free(state);
		schedule_free(&s);
		profile_free(p);
	}
}

/* The times of the rules: burst, hold, phase end, the ring's oldest first, next phase. */
TEST(schedule_times)
{
	const struct sched_event *a, *r;
	struct profile *p;
	struct schedule s;
	size_t ia, ir, ie;
	char err[1024];
	uint32_t slot;
	int ring, k;

	p = load("ok-replay-counts.json", err, sizeof(err));
	ASSERT_NE(NULL, p) TH_LOG("%s", err);
	ASSERT_EQ(0, profile_schedule(p, 1, &s, err, sizeof(err))) TH_LOG("%s", err);
	/* frames: a burst at 0, held 100 ms */
	slot = nth_slot(&s, class_index(p, "frames"), 2);
	EXPECT_EQ(0u, event(&s, SCHED_ALLOC, slot, NULL)->at_ns);
	EXPECT_EQ(100 * MS, event(&s, SCHED_RELEASE, slot, NULL)->at_ns);
	/* meta: held to the phase's end */
	slot = nth_slot(&s, class_index(p, "meta"), 0);
	EXPECT_EQ(600 * MS, event(&s, SCHED_RELEASE, slot, NULL)->at_ns);
	/* tiny: 50 Hz, each held 30 ms, before a third is due */
	slot = nth_slot(&s, class_index(p, "tiny"), 1);
	EXPECT_EQ(20 * MS, event(&s, SCHED_ALLOC, slot, NULL)->at_ns);
	EXPECT_EQ(50 * MS, event(&s, SCHED_RELEASE, slot, NULL)->at_ns);
	/* ring: 20 Hz, four held to the phase's end, so the fifth pushes out the first */
	ring = class_index(p, "ring");
	for (k = 0; k < 12; k++) {
		slot = nth_slot(&s, ring, k);
		a = event(&s, SCHED_ALLOC, slot, &ia);
		r = event(&s, SCHED_RELEASE, slot, &ir);
		ASSERT_TRUE(a && r);
		EXPECT_EQ((uint64_t)k * 50 * MS, a->at_ns);
		EXPECT_EQ(k < 8 ? (uint64_t)(k + 4) * 50 * MS : 600 * MS, r->at_ns) TH_LOG("ring %d", k);
		if (k < 8) {
			/* released right before the allocation that pushed it out */
			event(&s, SCHED_ALLOC, nth_slot(&s, ring, k + 4), &ie);
			EXPECT_LT(ir, ie);
		}
	}
	/* pair: in the third phase, after an idle one */
	slot = nth_slot(&s, class_index(p, "pair"), 1);
	EXPECT_EQ(800 * MS, event(&s, SCHED_ALLOC, slot, NULL)->at_ns);
	EXPECT_EQ(850 * MS, event(&s, SCHED_RELEASE, slot, NULL)->at_ns);
	/* the phase's end releases before the next phase allocates */
	event(&s, SCHED_RELEASE, nth_slot(&s, class_index(p, "meta"), 7), &ir);
	event(&s, SCHED_ALLOC, nth_slot(&s, class_index(p, "pair"), 0), &ia);
	EXPECT_LT(ir, ia);
	schedule_free(&s);
	profile_free(p);
}

/* --time-scale: every time scaled, the same events in the same order. */
TEST(schedule_time_scale)
{
	struct schedule s1, s2;
	struct profile *p;
	char err[1024];
	size_t e;

	p = load("ok-replay-counts.json", err, sizeof(err));
	ASSERT_NE(NULL, p) TH_LOG("%s", err);
	ASSERT_EQ(0, profile_schedule(p, 1, &s1, err, sizeof(err)));
	ASSERT_EQ(0, profile_schedule(p, 0.1, &s2, err, sizeof(err)));
	ASSERT_EQ(s1.nev, s2.nev);
	EXPECT_EQ(110 * MS, s2.end_ns);
	for (e = 0; e < s1.nev; e++) {
		EXPECT_EQ(s1.ev[e].op, s2.ev[e].op);
		EXPECT_EQ(s1.ev[e].cls, s2.ev[e].cls);
		EXPECT_EQ(s1.ev[e].slot, s2.ev[e].slot);
		EXPECT_EQ(s1.ev[e].at_ns, s2.ev[e].at_ns * 10) TH_LOG("event %zu", e);
	}
	schedule_free(&s1);
	schedule_free(&s2);
	profile_free(p);
}

/* A timeline replaces the phases: its entries exactly, a 0 us hold right after its allocation. */
TEST(schedule_timeline)
{
	struct profile *p;
	struct schedule s;
	char err[1024];
	int a, b;

	p = load("ok-replay-timeline.json", err, sizeof(err));
	ASSERT_NE(NULL, p) TH_LOG("%s", err);
	ASSERT_EQ(0, profile_schedule(p, 1, &s, err, sizeof(err))) TH_LOG("%s", err);
	a = class_index(p, "a");
	b = class_index(p, "b");
	EXPECT_EQ(3u, allocs_of(&s, a));
	EXPECT_EQ(1u, allocs_of(&s, b));
	ASSERT_EQ(8u, s.nev);
	/* at 0: a and b allocated, then a's 0 us hold ends */
	EXPECT_EQ(SCHED_ALLOC, s.ev[0].op);
	EXPECT_EQ(a, s.ev[0].cls);
	EXPECT_EQ(SCHED_ALLOC, s.ev[1].op);
	EXPECT_EQ(b, s.ev[1].cls);
	EXPECT_EQ(SCHED_RELEASE, s.ev[2].op);
	EXPECT_EQ(s.ev[0].slot, s.ev[2].slot);
	EXPECT_EQ(0u, s.ev[2].at_ns);
	/* at 5 ms b's release comes before a's allocation of that time */
	EXPECT_EQ(SCHED_RELEASE, s.ev[3].op);
	EXPECT_EQ(b, s.ev[3].cls);
	EXPECT_EQ(5 * MS, s.ev[4].at_ns);
	EXPECT_EQ(SCHED_ALLOC, s.ev[4].op);
	/* the last release (2.5 s + 0.5 s) outlasts the phases (2 s) */
	EXPECT_EQ(3000 * MS, s.end_ns);
	schedule_free(&s);
	profile_free(p);

	/* the bench area's fragmentation: a and b alternating, a released before c */
	p = load("ok-replay-fragment.json", err, sizeof(err));
	ASSERT_NE(NULL, p) TH_LOG("%s", err);
	ASSERT_EQ(0, profile_schedule(p, 1, &s, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(120u, allocs_of(&s, class_index(p, "a")));
	EXPECT_EQ(120u, allocs_of(&s, class_index(p, "b")));
	EXPECT_EQ(2u, allocs_of(&s, class_index(p, "c")));
	EXPECT_EQ(class_index(p, "a"), s.ev[0].cls);
	EXPECT_EQ(class_index(p, "b"), s.ev[1].cls);
	EXPECT_EQ(700 * MS, s.end_ns);
	schedule_free(&s);
	profile_free(p);
}

/* @text as a profile file: its path (free it), or NULL. */
static char *temp_profile(const char *text, size_t len)
{
	char *path = strdup("/tmp/heaplab-profile-test-XXXXXX");
	int fd = path ? mkstemp(path) : -1;

	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

#define HEAD "{\"schema\": \"heaplab-profile/1\", \"name\": \"t\", \"description\": \"d\", "
#define CLASS(size, count, rate) \
	"{\"name\": \"c\", \"heap\": \"cma\", \"size\": " size ", \"count\": " count \
	", \"hold_ms\": 0, \"rate_hz\": " rate "}"

/*
 * Rules of C's own (a schedule too big to play), Python's value formats,
 * files that are not JSON.
 */
TEST(limits_and_formats)
{
	static const struct { const char *text, *want; bool sched; } cases[] = {
		{ HEAD "\"phases\": [{\"name\": \"p\", \"duration_ms\": 1000000, \"classes\": ["
		  CLASS("4096", "2", "10000") "]}]}", "phases[0].classes[0]: 10000000 allocations in "
		  "all: more than a replay plays (1000000)", true },
		{ HEAD "\"phases\": [{\"name\": \"p\", \"duration_ms\": 100000000000, \"classes\": ["
		  CLASS("4096", "2", "0") "]}]}", "more than a year", true },
		{ HEAD "\"phases\": [{\"name\": \"p\", \"duration_ms\": 10, \"classes\": ["
		  CLASS("4096", "2", "NaN") "]}]}", "rate_hz: NaN: must be a finite number", false },
		{ HEAD "\"phases\": [{\"name\": \"p\", \"duration_ms\": 10, \"classes\": ["
		  CLASS("4096", "2", "-1e-05") "]}]}", "rate_hz: -1e-05: must be >= 0", false },
		{ HEAD "\"phases\": [{\"name\": \"p\", \"duration_ms\": 10, \"classes\": ["
		  CLASS("4096", "123456.0", "1") "]}]}", "count: 123456.0: must be an integer", false },
		{ HEAD "\"background\": {\"anon\": 1e16}, \"phases\": []}",
		  "background.anon: 1e+16: must be within [0, 1]", false },
		{ HEAD "\"phases\": [{\"name\": \"p\", \"duration_ms\": 10, \"classes\": ["
		  CLASS("4096", "2", "0") "]}]} x", "not JSON: ", false },
		{ "", "not JSON: ", false },
		{ "null", "(top): null: must be an object", false },
		{ "\"heaplab-profile/1\"", "(top): \"heaplab-profile/1\": must be an object", false },
		{ HEAD "\"phases\": [{\"name\": \"p\", \"duration_ms\": 10, \"classes\": [], "
		  "\"x\\u00e9\\ud83d\\ude00\": [1, {\"k\": true}]}]}",
		  "phases[0].x\xc3\xa9\xf0\x9f\x98\x80: [1, {\"k\": true}]: unknown field", false },
	};
	char err[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = temp_profile(cases[i].text, strlen(cases[i].text));
		struct profile *p;
		struct schedule s;

		ASSERT_NE(NULL, path);
		err[0] = '\0';
		p = profile_load(path, MEM, err, sizeof(err));
		if (cases[i].sched) {
			EXPECT_NE(NULL, p) TH_LOG("case %zu: %s", i, err);
			if (p)
				EXPECT_EQ(-1, profile_schedule(p, 1, &s, err, sizeof(err)));
		} else {
			EXPECT_EQ(NULL, p) TH_LOG("case %zu loaded", i);
		}
		EXPECT_NE(NULL, strstr(err, cases[i].want)) TH_LOG("want '%s': %s", cases[i].want,
								    err);
		EXPECT_EQ(0, strncmp(err, "profile /tmp/", 13)) TH_LOG("%s", err);
		profile_free(p);
		unlink(path);
		free(path);
	}
	EXPECT_EQ(NULL, profile_load("/nonexistent.json", MEM, err, sizeof(err)));
	EXPECT_STREQ("profile /nonexistent.json: No such file or directory", err);
	EXPECT_EQ(NULL, profile_load("/tmp", MEM, err, sizeof(err)));
	EXPECT_STREQ("profile /tmp: Is a directory", err);
}

/*
 * Mangled profiles (cut short, bytes changed, spans dropped or doubled):
 * an error line or a profile, never a crash.
 */
TEST(mangled_never_crash)
{
	char src[512], *text = NULL, *buf, err[1024];
	unsigned int seed = 23;
	size_t len = 0, cut, n;
	FILE *f;
	int i;

	snprintf(src, sizeof(src), "%s/ok-replay-counts.json", PROFILES_DIR);
	f = fopen(src, "r");
	ASSERT_NE(NULL, f);
	text = malloc(1 << 16);
	ASSERT_NE(NULL, text);
	len = fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	buf = malloc(2 * len + 16);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < 3000; i++) {
		struct profile *p;
		struct schedule s;
		char *path;
		size_t at = (size_t)rand_r(&seed) % len, span = (size_t)rand_r(&seed) % 24;

		memcpy(buf, text, len);
		n = len;
		switch (i % 4) {
		case 0:		/* cut short */
			cut = (size_t)i * len / 3000;
			n = cut;
			break;
		case 1:		/* a byte changed */
			buf[at] = "{}[],:\"0-.e9xa \\"[rand_r(&seed) % 16];
			break;
		case 2:		/* a span dropped */
			span = at + span > len ? len - at : span;
			memmove(buf + at, buf + at + span, len - at - span);
			n = len - span;
			break;
		case 3:		/* a span doubled */
			span = at + span > len ? len - at : span;
			memmove(buf + at + span, buf + at, len - at);
			n = len + span;
			break;
		}
		path = temp_profile(buf, n);
		ASSERT_NE(NULL, path);
		p = profile_load(path, MEM, err, sizeof(err));
		if (p) {
			if (!profile_schedule(p, 1, &s, err, sizeof(err)))
				schedule_free(&s);
			profile_free(p);
		} else {
			EXPECT_EQ(0, strncmp(err, "profile ", 8)) TH_LOG("%s", err);
			EXPECT_EQ(NULL, strchr(err, '\n')) TH_LOG("%s", err);
		}
		unlink(path);
		free(path);
	}
	free(buf);
	free(text);
}

TEST_HARNESS_MAIN
