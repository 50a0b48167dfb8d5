// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab-stress: stress, fault injection, fuzzing and OOM checks of DMA-BUF
 * heaps, ours and upstream's alike, with nothing lost. Every run prints
 * its seed; the same seed replays the same choices.
 *
 *   heaplab-stress run|fault|fuzz|oom|list [options]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "stress.h"

#define SCHEMA "heaplab-stress/1"

static void usage(FILE *f)
{
	size_t i;
	int j;

	fprintf(f,
		"usage: heaplab-stress COMMAND [options]\n"
		"commands:\n"
		"  run     run stressors (--stressor) for --duration, N procs x M threads\n"
		"  fault   failslab and fail_page_alloc sweep, limited to this task\n"
		"  fuzz    DMA_HEAP_IOCTL_ALLOC and dma-buf ioctl fuzzer, --ops calls\n"
		"  oom     more than memory fails with ENOMEM; no process is killed\n"
		"  list    the stressors and their options (--json: for programs)\n"
		"options:\n"
		"  --heap PATH        heap device (repeatable; at least one)\n"
		"  --stressor LIST    run: comma-separated names, or all (default)\n"
		"  --opt S.KEY=VAL    run: a stressor option (see list)\n"
		"  --procs N          run: processes per stressor (1..64, default 2)\n"
		"  --threads N        run: threads per process (1..64, default 2)\n"
		"  --duration SEC     wall-clock bound (run, fault, fuzz, oom; default 10)\n"
		"  --ops N            fuzz: calls to make (1..10^9, default 10^6)\n"
		"  --seed N           replay a run (default: from the clock, printed)\n"
		"  --no-verify        skip the zero and pattern checks\n"
		"  --kmod-dir DIR     unload: where heaplab's .ko files are\n"
		"  --kmemleak         scan with kmemleak at the end (debug kernel)\n"
		"  --json FILE        write results as JSON (schema " SCHEMA ")\n"
		"exit status: 0 clean, 1 a failure, a leak or a crash found, 2 bad usage\n");
	if (f != stdout)
		return;
	fprintf(f, "stressors:\n");
	for (i = 0; i < nstressors; i++) {
		fprintf(f, "  %-8s %s\n", stressors[i].name, stressors[i].help);
		for (j = 0; j < MAX_OPTS && stressors[i].opts[j].name; j++)
			fprintf(f, "           %s.%s=%ld..%ld (default %ld): %s\n",
				stressors[i].name, stressors[i].opts[j].name,
				stressors[i].opts[j].min, stressors[i].opts[j].max,
				stressors[i].opts[j].def, stressors[i].opts[j].help);
	}
}

bool stressor_applies(const struct stressor *s, const struct opts *o, int h)
{
	return !s->heaplab_only || o->heaplab[h];
}

/* list --json: the stressors and their options, for the suite's checkers. */
static int list_json(void)
{
	struct json_object *root = json_object_new_object(), *arr;
	size_t i;
	int j;

	hl_doc_add_str(root, "schema", SCHEMA);
	arr = hl_doc_add_array(root, "stressors");
	for (i = 0; i < nstressors; i++) {
		const struct stressor *st = &stressors[i];
		struct json_object *d = json_object_new_object(), *opts;

		hl_doc_add_str(d, "name", st->name);
		hl_doc_add_str(d, "help", st->help);
		hl_doc_add_str(d, "heaps", st->heaplab_only ? "heaplab" : "all");
		opts = hl_doc_add_array(d, "options");
		for (j = 0; j < MAX_OPTS && st->opts[j].name; j++) {
			struct json_object *op = json_object_new_object();

			hl_doc_add_str(op, "name", st->opts[j].name);
			hl_doc_add_int(op, "min", st->opts[j].min);
			hl_doc_add_int(op, "max", st->opts[j].max);
			hl_doc_add_int(op, "default", st->opts[j].def);
			hl_doc_add_str(op, "help", st->opts[j].help);
			json_object_array_add(opts, op);
		}
		json_object_array_add(arr, d);
	}
	return hl_doc_write(root, NULL) ? 1 : 0;
}

/* Resolve stressor @s's options from the --opt list; exits on a bad one. */
static void resolve_opts(const struct stressor *s, long *val, char **set, int nset)
{
	size_t n = strlen(s->name);
	int i, j;

	for (j = 0; j < MAX_OPTS; j++)
		val[j] = s->opts[j].def;
	for (i = 0; i < nset; i++) {
		char *eq = strchr(set[i], '=');

		if (strncmp(set[i], s->name, n) || set[i][n] != '.' || !eq)
			continue;
		for (j = 0; j < MAX_OPTS && s->opts[j].name; j++)
			if (!strncmp(set[i] + n + 1, s->opts[j].name, eq - set[i] - n - 1) &&
			    (size_t)(eq - set[i] - n - 1) == strlen(s->opts[j].name))
				break;
		if (j == MAX_OPTS || !s->opts[j].name)
			hl_die("unknown option --opt %s", set[i]);
		val[j] = hl_parse_range(eq + 1, s->opts[j].min, s->opts[j].max, set[i]);
	}
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;

	while (hl_now_s() < w->deadline) {
		int h = w->heap_idx[rnd(&w->rng) % w->nheap];

		if (w->s->op(w, h) < 0)
			break;
	}
	return NULL;
}

/* One worker process: M threads of stressor @s until the deadline. */
static int __attribute__((noreturn)) worker_proc(struct opts *o, int si, const long *opt,
						 int proc, double deadline)
{
	struct worker w[64];
	pthread_t tid[64];
	int h, t, fds[HL_MAX_HEAPS];

	cur_stressor = si;
	for (h = 0; h < o->nheaps; h++) {
		fds[h] = open(o->heaps[h], O_RDWR | O_CLOEXEC);
		if (fds[h] < 0) {
			fail("%s: %s", o->heaps[h], strerror(errno));
			_exit(1);
		}
	}
	for (t = 0; t < o->threads; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].o = o;
		w[t].s = &stressors[si];
		memcpy(w[t].opt, opt, sizeof(w[t].opt));
		memcpy(w[t].heap_fd, fds, sizeof(fds));
		for (h = 0; h < o->nheaps; h++)
			if (stressor_applies(w[t].s, o, h))
				w[t].heap_idx[w[t].nheap++] = h;
		/* distinct, reproducible streams per stressor, process and thread */
		w[t].rng = o->seed ^ ((uint64_t)(si + 1) << 48) ^ ((uint64_t)proc << 32) ^
			   (uint64_t)(t + 1) * 0x9e3779b97f4a7c15ull;
		w[t].proc = proc;
		w[t].thread = t;
		w[t].deadline = deadline;
		if (pthread_create(&tid[t], NULL, worker_thread, &w[t])) {
			fail("pthread_create failed");
			_exit(1);
		}
	}
	for (t = 0; t < o->threads; t++)
		pthread_join(tid[t], NULL);
	_exit(0);
}

static uint64_t total_ops(void)
{
	uint64_t n = 0;
	int i, h;

	for (i = 0; i < 32; i++)
		for (h = 0; h < HL_MAX_HEAPS; h++)
			n += __atomic_load_n(&shm->c[i][h].ops, __ATOMIC_RELAXED);
	return n;
}

int run_stress(struct opts *o, const char *which, char **set, int nset, struct json_object *root)
{
	long opt[32][MAX_OPTS];
	bool on[32] = { false };
	pid_t pids[32 * 64];
	int npids = 0, i, p, h, st, failed = 0;
	double start = hl_now_s(), deadline = start + o->duration, last = start;
	struct json_object *res = json_object_new_array();
	char *list = strdup(which), *tok, *save;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < (int)nstressors; i++)
			if (!strcmp(tok, "all") || !strcmp(tok, stressors[i].name))
				on[i] = true;
		if (strcmp(tok, "all")) {
			for (i = 0; i < (int)nstressors && strcmp(tok, stressors[i].name); i++)
				;
			if (i == (int)nstressors)
				hl_die("unknown stressor %s (see heaplab-stress list)", tok);
		}
	}
	free(list);
	for (i = 0; i < (int)nstressors; i++)
		resolve_opts(&stressors[i], opt[i], set, nset);

	for (i = 0; i < (int)nstressors; i++) {
		if (!on[i])
			continue;
		fprintf(stderr, "stress: %s: %d procs x %d threads, %.0f s\n", stressors[i].name,
			o->procs, o->threads, o->duration);
		for (p = 0; p < o->procs; p++) {
			pid_t pid = fork();

			if (pid < 0) {
				fail("fork: %s", strerror(errno));
				break;
			}
			if (!pid)
				worker_proc(o, i, opt[i], p, deadline);
			pids[npids++] = pid;
		}
	}
	/* Wait, with progress; a worker still there long after the end hangs. */
	for (p = 0; p < npids;) {
		pid_t r = waitpid(pids[p], &st, WNOHANG);

		if (r == pids[p]) {
			if (!WIFEXITED(st) || WEXITSTATUS(st)) {
				char how[64];

				hl_wait_msg(how, sizeof(how), st);
				fail("worker %d %s", (int)r, how);
				failed = 1;
			}
			p++;
			continue;
		}
		if (hl_now_s() > deadline + 120) {
			fail("worker %d still running 120 s after the deadline: hung", (int)pids[p]);
			for (i = p; i < npids; i++)
				kill(pids[i], SIGKILL);
			failed = 1;
			for (; p < npids; p++)
				waitpid(pids[p], &st, 0);
			break;
		}
		if (hl_now_s() - last >= 5) {
			last = hl_now_s();
			fprintf(stderr, "stress: %.0f s, %llu ops\n", last - start,
				(unsigned long long)total_ops());
		}
		usleep(20000);
	}

	printf("%-9s %-24s %10s %10s %12s %8s\n", "stressor", "heap", "ops", "calls", "errors",
	       "verify");
	for (i = 0; i < (int)nstressors; i++) {
		if (!on[i])
			continue;
		for (h = 0; h < o->nheaps; h++) {
			struct counters *c = &shm->c[i][h];
			struct json_object *r;
			uint64_t errs = 0;
			int e;

			if (!stressor_applies(&stressors[i], o, h))
				continue;
			for (e = 0; e < MAX_ERRNO; e++)
				errs += c->errors[e];
			printf("%-9s %-24s %10llu %10llu %12llu %8llu\n", stressors[i].name,
			       o->heaps[h], (unsigned long long)c->ops,
			       (unsigned long long)c->calls, (unsigned long long)errs,
			       (unsigned long long)c->verify_failures);
			r = counters_json(c);
			json_object_object_add(r, "name", json_object_new_string(stressors[i].name));
			json_object_object_add(r, "heap", json_object_new_string(o->heaps[h]));
			json_object_array_add(res, r);
			/* a stressor that never completed an op tested nothing */
			if (!c->ops) {
				fail("%s: %s: no op completed", stressors[i].name, o->heaps[h]);
				failed = 1;
			}
			failed |= c->unexpected || c->verify_failures;
		}
	}
	json_object_object_add(root, "stressors", res);
	return failed;
}

/* What the command line asks beyond struct opts: run's choice, --kmemleak. */
struct args {
	const char *which;		/* run: --stressor */
	char *set[32];			/* run: --opt S.KEY=VAL */
	int nset;
	bool kmemleak;
};

/* The options after the command into @o and @a; exits on bad usage. */
static void parse_args(int argc, char **argv, const char *cmd, struct opts *o, struct args *a)
{
	static const struct option lopts[] = {
		{ "heap", required_argument, NULL, 'H' },
		{ "stressor", required_argument, NULL, 'S' },
		{ "opt", required_argument, NULL, 'O' },
		{ "procs", required_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 'T' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ops", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ "kmod-dir", required_argument, NULL, 'k' },
		{ "kmemleak", no_argument, NULL, 'K' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, i;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'H': hl_opt_heap(o->heaps, &o->nheaps, optarg); break;
		case 'S': a->which = optarg; break;
		case 'O':
			if (a->nset == 32)
				hl_die("at most 32 --opt");
			a->set[a->nset++] = optarg;
			break;
		case 'P': o->procs = hl_parse_range(optarg, 1, 64, "--procs"); break;
		case 'T': o->threads = hl_parse_range(optarg, 1, 64, "--threads"); break;
		case 'd': o->duration = hl_parse_range(optarg, 1, 7 * 86400, "--duration"); break;
		case 'n': o->ops = hl_parse_range(optarg, 1, 1000000000, "--ops"); break;
		case 's': o->seed = strtoull(optarg, NULL, 0); break;
		case 'V': o->verify = false; break;
		case 'k': o->kmod_dir = optarg; break;
		case 'K': a->kmemleak = true; break;
		case 'j': o->json = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc)
		hl_die("unexpected argument %s", argv[optind]);
	if (!o->nheaps)
		hl_die("%s needs at least one --heap", cmd);
	for (i = 0; i < o->nheaps; i++) {
		if (access(o->heaps[i], R_OK)) {
			fprintf(stderr, "heaplab-stress: %s: %s\n", o->heaps[i], strerror(errno));
			exit(2);
		}
		o->heaplab[i] = hl_heap_impl(o->heaps[i]) == HL_IMPL_HEAPLAB;
	}
}

/*
 * The heaplab-stress/1 document: head, options, what the command put in
 * @doc already, and the verdict (@failed).
 */
static int write_doc(const struct opts *o, struct json_object *doc, double elapsed,
		     struct json_object *leaks, int failed)
{
	struct json_object *opts, *fails;
	int i;

	hl_doc_add_uint(doc, "seed", o->seed);
	opts = hl_doc_options(doc, o->heaps, o->nheaps);
	hl_doc_add_int(opts, "procs", o->procs);
	hl_doc_add_int(opts, "threads", o->threads);
	hl_doc_add_double(opts, "duration_s", o->duration);
	hl_doc_add_bool(opts, "verify", o->verify);
	hl_doc_add_double(doc, "elapsed_s", elapsed);
	json_object_object_add(doc, "leaks", leaks);
	fails = hl_doc_add_array(doc, "failures");
	for (i = 0; i < shm->nmsgs && i < MAX_MSGS; i++)
		json_object_array_add(fails, json_object_new_string(shm->msgs[i]));
	hl_doc_add_int(doc, "failure_count", shm->nmsgs);
	hl_doc_add_bool(doc, "passed", !failed);
	if (!o->json) {
		json_object_put(doc);
		return 0;
	}
	return hl_doc_write(doc, o->json);
}

int main(int argc, char **argv)
{
	struct opts o = { .procs = 2, .threads = 2, .duration = 10, .verify = true,
			  .ops = 1000000 };
	struct args a = { .which = "all" };
	struct json_object *doc, *leaks;
	struct snapshot base;
	const char *cmd;
	int ret = 0;
	double t0;

	hl_set_prog("heaplab-stress");
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	if (strcmp(cmd, "run") && strcmp(cmd, "fault") && strcmp(cmd, "fuzz") &&
	    strcmp(cmd, "oom") && strcmp(cmd, "list"))
		hl_die("unknown command %s (see heaplab-stress --help)", cmd);
	if (!strcmp(cmd, "list")) {
		if (argc > 2 && strcmp(argv[2], "--json"))
			hl_die("usage: heaplab-stress list [--json]");
		if (argc > 2)
			return list_json();
		usage(stdout);
		return 0;
	}
	o.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	parse_args(argc - 1, argv + 1, cmd, &o, &a);
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		hl_die("mmap: %s", strerror(errno));
	fprintf(stderr, "heaplab-stress: %s: seed %llu (replay with --seed %llu)\n", cmd,
		(unsigned long long)o.seed, (unsigned long long)o.seed);
	if (snapshot(&o, &base))
		return 2;

	doc = hl_doc_new(SCHEMA, cmd);
	t0 = hl_now_s();
	if (!strcmp(cmd, "run"))
		ret = run_stress(&o, a.which, a.set, a.nset, doc);
	else if (!strcmp(cmd, "fault"))
		ret = run_fault(&o, doc);
	else if (!strcmp(cmd, "fuzz"))
		ret = run_fuzz(&o, doc);
	else
		ret = run_oom(&o, doc);

	leaks = json_object_new_object();
	ret |= check_leaks(&o, &base, leaks);
	if (a.kmemleak)
		ret |= kmemleak_scan(leaks);
	ret |= shm->nmsgs > 0;
	if (write_doc(&o, doc, hl_now_s() - t0, leaks, ret))
		ret = 1;
	fprintf(stderr, "heaplab-stress: %s: %s (seed %llu)\n", cmd, ret ? "FAILED" : "passed",
		(unsigned long long)o.seed);
	return ret ? 1 : 0;
}
