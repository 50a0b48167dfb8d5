// SPDX-License-Identifier: GPL-2.0
/* bpf/ loaders: the common options and the run. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "heaplab.h"
#include "tool_helpers.h"

static bool verbose_libbpf;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose_libbpf)
		return 0;
	if (level == LIBBPF_INFO && !verbose_libbpf)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* libbpf's messages only with -v: it prints a lot for a failed probe. */
static void libbpf_set_verbose(bool verbose)
{
	verbose_libbpf = verbose;
	libbpf_set_print(libbpf_print);
}

/* 0 when running as root; else says so (loading BPF needs it). */
static int check_root(const char *tool)
{
	if (!geteuid())
		return 0;
	fprintf(stderr,
		"%s: must be run as root (loading and attaching BPF programs needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)\n",
		tool);
	return -1;
}

/* ---- the common options and the run ---- */

int trace_common_opt(struct trace_env *env, int c, const char *arg)
{
	unsigned long v;
	char *end;

	switch (c) {
	case 'd':
		errno = 0;
		env->duration = strtod(arg, &end);
		if (errno || *end || env->duration <= 0 || env->duration > 86400) {
			fprintf(stderr, "%s: --duration %s: want seconds in (0, 86400]\n",
				env->tool, arg);
			return -1;
		}
		return 0;
	case 'p':
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || *end || !v || v > 4194304) {
			fprintf(stderr, "%s: --pid %s: not a process id\n", env->tool, arg);
			return -1;
		}
		env->pid = v;
		return 0;
	case 'a':
		if (parse_attach_mode(arg, &env->mode)) {
			fprintf(stderr, "%s: --attach %s: want auto, fentry or kprobe\n",
				env->tool, arg);
			return -1;
		}
		env->mode_str = arg;
		return 0;
	case 'B':
		env->btf = arg;
		return 0;
	case 'j':
		env->json = arg;
		return 0;
	case 'v':
		env->verbose = true;
		return 0;
	case 'h':
		env->usage(stdout);
		exit(0);
	}
	env->usage(stderr);
	return -1;
}

struct ksyms_btf *trace_start(const struct trace_env *env)
{
	if (check_root(env->tool))
		return NULL;
	libbpf_set_verbose(env->verbose);
	return ksyms_btf_open(env->tool, env->btf);
}

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

/* Run the command to its end (Ctrl-C reaches it too); 0 if it succeeded. */
static int run_command(const struct trace_env *env)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", env->tool, strerror(errno));
		return -1;
	}
	if (!pid) {
		execvp(env->command[0], env->command);
		fprintf(stderr, "%s: %s: %s\n", env->tool, env->command[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "%s: waitpid: %s\n", env->tool, strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	{
		char how[64];

		hl_wait_msg(how, sizeof(how), status);
		fprintf(stderr, "%s: %s %s\n", env->tool, env->command[0], how);
	}
	return -1;
}

int trace_run(const struct trace_env *env, const char *what, double *elapsed)
{
	struct sigaction sa = { .sa_handler = on_signal };
	double t0;
	int rc = 0;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	t0 = hl_now_s();
	if (env->command) {
		if (run_command(env))
			rc = 3;
	} else {
		if (!env->duration)
			fprintf(stderr, "%s: tracing %s... Ctrl-C to end\n", env->tool, what);
		while (!exiting && (!env->duration || hl_now_s() - t0 < env->duration))
			usleep(100000);
	}
	*elapsed = hl_now_s() - t0;
	return rc;
}

int trace_and_report(const struct trace_env *env, const char *what,
		     struct link_set *links, const struct trace_report *r)
{
	double elapsed;
	int rc, err;

	rc = trace_run(env, what, &elapsed);
	link_set_destroy(links);
	err = r->read(r->ctx);
	if (err) {
		fprintf(stderr, "%s: reading the maps: %s\n", env->tool, strerror(-err));
		return 1;
	}
	r->print(r->ctx);
	if (env->json && r->json(r->ctx, elapsed))
		return 1;
	return rc;
}
