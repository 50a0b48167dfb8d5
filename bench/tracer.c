// SPDX-License-Identifier: GPL-2.0
/*
 * tracer: what a tracer attached costs an allocation. The alloc/free loop
 * of alloc.c, untraced and then with the tracer (bpf/heaptrace) attached,
 * alternated over --rounds so that a drifting emulator clock falls on both
 * arms alike; one boot, same heaps, same sizes. The tracer runs as a child
 * and is stopped with SIGINT, as a user would; its JSON of the last round
 * (--tracer-json) is the "where the time goes" breakdown of the report.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* heaptrace prints this on stderr once every program is attached. */
#define READY "Ctrl-C to end"

struct tracer {
	pid_t pid;
	FILE *err;	/* its stderr, relayed to ours */
};

static int tracer_wait(struct tracer *t)
{
	char line[512];
	int status;

	while (fgets(line, sizeof(line), t->err))
		fprintf(stderr, "  tracer: %s", line);
	fclose(t->err);
	while (waitpid(t->pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	hl_wait_msg(line, sizeof(line), status);
	fprintf(stderr, "heaplab-bench: tracer: %s\n", line);
	return -ECHILD;
}

static int tracer_start(const struct opts *o, const char *json, struct tracer *t)
{
	const char *argv[8 + 4];
	char line[512];
	int p[2], n = 0, i;

	argv[n++] = o->tracer;
	for (i = 0; i < o->ntracer_args; i++)
		argv[n++] = o->tracer_args[i];
	if (json) {
		argv[n++] = "--json";
		argv[n++] = json;
	}
	argv[n] = NULL;

	if (pipe(p))
		return -errno;
	fflush(NULL);
	t->pid = fork();
	if (t->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!t->pid) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		/* its tables are in its JSON; stdout stays ours */
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execv(o->tracer, (char *const *)argv);
		fprintf(stderr, "heaplab-bench: %s: %s\n", o->tracer, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	t->err = fdopen(p[0], "r");
	if (!t->err) {
		close(p[0]);
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), t->err)) {
		fprintf(stderr, "  tracer: %s", line);
		if (strstr(line, READY))
			return 0;
	}
	/* It ended without attaching: its messages are above. */
	tracer_wait(t);
	return -ECHILD;
}

static int tracer_stop(struct tracer *t)
{
	kill(t->pid, SIGINT);
	return tracer_wait(t);
}

struct arm {
	struct samples alloc, free;
};

struct tcase {
	const char *name;
	int heap;
	unsigned long long size;
	int per_round;
	struct arm arm[2];	/* untraced, traced */
};

/* One pass over every case, into arm @a of each. */
static int pass(struct opts *o, struct tcase *c, int n, int a)
{
	int i, failed = 0;

	for (i = 0; i < n; i++) {
		int ret = settle(o);

		if (ret)
			return ret;
		fprintf(stderr, "tracer: %s %lluK x %d %s\n", c[i].name, c[i].size >> 10,
			c[i].per_round, a ? "traced" : "untraced");
		failed |= alloc_free_rounds(c[i].name, c[i].heap, c[i].size, o->warmup,
					    c[i].per_round, &c[i].arm[a].alloc,
					    &c[i].arm[a].free);
	}
	return failed;
}

static double pct(struct samples *traced, struct samples *plain)
{
	struct summary t, p;

	summarize(traced, &t);
	summarize(plain, &p);
	return p.p50 ? 100.0 * ((double)t.p50 / (double)p.p50 - 1) : 0;
}

static int run_tracer(struct opts *o, struct json_object *results)
{
	static const char *const arm_names[2][2] = {
		{ "alloc", "free" }, { "traced_alloc", "traced_free" },
	};
	int n = o->nheaps * o->nsizes, i, h, z, r, a, ret = 0, failed = 0;
	struct tcase *c = calloc(n, sizeof(*c));
	char args[512] = "";
	size_t len;
	struct tracer t;

	if (!c)
		return -ENOMEM;
	if (!o->tracer) {
		fprintf(stderr, "heaplab-bench: tracer needs --tracer PATH (bpf/heaptrace)\n");
		free(c);
		return -EINVAL;
	}
	/* the traced arm's options, recorded in each row */
	for (i = 0, len = 0; i < o->ntracer_args && len < sizeof(args); i++)
		len += snprintf(args + len, sizeof(args) - len, "%s%s", i ? " " : "",
				o->tracer_args[i]);
	for (h = 0, i = 0; h < o->nheaps; h++) {
		int fd = open_heap(o->heaps[h]);

		if (fd < 0) {
			ret = -ENOENT;
			n = i;
			goto out;
		}
		for (z = 0; z < o->nsizes; z++, i++) {
			c[i].name = o->heaps[h];
			c[i].heap = fd;
			c[i].size = o->sizes[z];
			c[i].per_round = (case_iters(o, o->sizes[z]) + o->rounds - 1) / o->rounds;
			for (a = 0; a < 2; a++)
				if (samples_init(&c[i].arm[a].alloc, c[i].per_round * o->rounds) ||
				    samples_init(&c[i].arm[a].free, c[i].per_round * o->rounds)) {
					ret = -ENOMEM;
					n = i + 1;
					goto out;
				}
		}
	}
	for (r = 0; r < o->rounds; r++) {
		ret = pass(o, c, n, 0);
		if (ret < 0)
			break;
		failed |= ret;
		ret = tracer_start(o, r == o->rounds - 1 ? o->tracer_json : NULL, &t);
		if (ret)
			break;
		ret = pass(o, c, n, 1);
		/* a tracer that does not end cleanly spoils the run */
		i = tracer_stop(&t);
		if (ret < 0)
			break;
		failed |= ret;
		ret = i;
		if (ret)
			break;
	}
	if (!ret) {
		ret = failed;
		lat_header();
		for (i = 0; i < n; i++) {
			struct json_object *row = case_new(c[i].name, c[i].size);

			for (a = 0; a < 2; a++) {
				lat_row(c[i].name, c[i].size, arm_names[a][0], &c[i].arm[a].alloc);
				json_object_object_add(row, arm_names[a][0],
						       samples_json(&c[i].arm[a].alloc, o->raw));
				json_object_object_add(row, arm_names[a][1],
						       samples_json(&c[i].arm[a].free, o->raw));
			}
			json_object_object_add(row, "tracer_args", json_object_new_string(args));
			json_object_object_add(row, "overhead_alloc_p50_pct", json_object_new_double(
				pct(&c[i].arm[1].alloc, &c[i].arm[0].alloc)));
			json_object_object_add(row, "overhead_free_p50_pct", json_object_new_double(
				pct(&c[i].arm[1].free, &c[i].arm[0].free)));
			json_object_array_add(results, row);
		}
	}
out:
	for (i = 0; i < n; i++) {
		for (a = 0; a < 2; a++) {
			samples_free(&c[i].arm[a].alloc);
			samples_free(&c[i].arm[a].free);
		}
		/* each heap's fd once: the first of its cases */
		if (!(i % o->nsizes))
			close(c[i].heap);
	}
	free(c);
	return ret;
}

static void tracer_json(const struct opts *o, struct json_object *opts)
{
	struct json_object *arr = json_object_new_array();
	int i;

	json_object_object_add(opts, "tracer", json_object_new_string(o->tracer ? o->tracer : ""));
	json_object_object_add(opts, "rounds", json_object_new_int(o->rounds));
	for (i = 0; i < o->ntracer_args; i++)
		json_object_array_add(arr, json_object_new_string(o->tracer_args[i]));
	json_object_object_add(opts, "tracer_args", arr);
}

BENCH_HARNESS(tracer) = {
	.name = "tracer",
	.help = "alloc latency untraced against bpf/heaptrace attached, rounds alternated",
	.default_sizes = "4K,64K,1M,16M",
	.iters = 100,
	.needs_heap = true,
	.options = (const char *const[]){ "tracer", "tracer-json", "tracer-arg", "rounds", NULL },
	.cases = "heap size",
	.options_json = tracer_json,
	.run = run_tracer,
};
