// SPDX-License-Identifier: GPL-2.0
/* --perf: a case under perf stat, driven over its control pipe (perf-stat.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perf-stat.h"

static int command(struct perf_stat *p, const char *cmd)
{
	char buf[16];
	ssize_t n;

	if (write(p->ctl, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return -1;
	n = read(p->ack, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strncmp(buf, "ack", 3) ? -1 : 0;
}

int perf_stat_begin(struct perf_stat *p, int busy_cpu)
{
	int ctl[2], ack[2], fd;
	char pid[16], ctlarg[48];

	memset(p, 0, sizeof(*p));
	strcpy(p->out, "/tmp/heaplab-perf-XXXXXX");
	fd = mkstemp(p->out);
	if (fd < 0 || pipe2(ctl, O_CLOEXEC) || pipe2(ack, O_CLOEXEC)) {
		fprintf(stderr, "heaplab-bench: --perf: %s\n", strerror(errno));
		return -1;
	}
	close(fd);
	/* a perf that died must give an error, not kill us on the pipe */
	signal(SIGPIPE, SIG_IGN);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(ctlarg, sizeof(ctlarg), "fd:%d,%d", ctl[0], ack[1]);
	p->pid = fork();
	if (p->pid < 0) {
		fprintf(stderr, "heaplab-bench: --perf: fork: %s\n", strerror(errno));
		return -1;
	}
	if (!p->pid) {
		cpu_set_t set;
		int c, err, null, n = (int)sysconf(_SC_NPROCESSORS_ONLN);

		/* perf's ends of the pipes must survive exec */
		fcntl(ctl[0], F_SETFD, 0);
		fcntl(ack[1], F_SETFD, 0);
		CPU_ZERO(&set);
		for (c = 0; c < n && c < CPU_SETSIZE; c++)
			if (c != busy_cpu || n == 1)
				CPU_SET(c, &set);
		sched_setaffinity(0, sizeof(set), &set);
		/* perf's "Events enabled" chatter is noise; keep our own error */
		err = fcntl(2, F_DUPFD_CLOEXEC, 3);
		null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2);
		execlp("perf", "perf", "stat", "-x,", "-e", PERF_EVENTS, "-p", pid,
		       "-D", "-1", "--control", ctlarg, "-o", p->out, (char *)NULL);
		dprintf(err, "heaplab-bench: --perf: cannot run perf: %s "
			"(Debian package linux-perf)\n", strerror(errno));
		_exit(127);
	}
	close(ctl[0]);
	close(ack[1]);
	p->ctl = ctl[1];
	p->ack = ack[0];
	/* The ack proves perf is attached and counting. */
	if (command(p, "enable")) {
		fprintf(stderr, "heaplab-bench: --perf: perf stat did not start\n");
		perf_stat_end(p);
		return -1;
	}
	return 0;
}

/* One CSV line of perf stat -x,: value,unit,event,... */
static void parse_line(char *line, struct json_object *events)
{
	char *save, *value, *unit, *event, *end;
	struct json_object *e;
	double v;

	if (*line == '#' || *line == '\n' || *line == '\0')
		return;
	value = strtok_r(line, ",", &save);
	/* an empty unit gives ",," : strsep keeps the empty field */
	unit = strsep(&save, ",");
	event = strsep(&save, ",");
	if (!value || !unit || !event || !*event)
		return;
	v = strtod(value, &end);
	if (end == value) {	/* <not supported>, <not counted> */
		json_object_object_add(events, event, NULL);
		return;
	}
	e = json_object_new_object();
	json_object_object_add(e, "value", json_object_new_double(v));
	json_object_object_add(e, "unit", json_object_new_string(unit));
	json_object_object_add(events, event, e);
}

struct json_object *perf_stat_end(struct perf_stat *p)
{
	struct json_object *r = NULL, *events;
	char line[512];
	int status = 0;
	FILE *f;

	if (p->pid > 0) {
		command(p, "disable");
		kill(p->pid, SIGINT);
		waitpid(p->pid, &status, 0);
	}
	if (p->ctl > 0)
		close(p->ctl);
	if (p->ack > 0)
		close(p->ack);
	f = fopen(p->out, "r");
	/* perf re-raises SIGINT on exit: only 127 (no perf) is a failure */
	if (f && !(WIFEXITED(status) && WEXITSTATUS(status) == 127)) {
		r = json_object_new_object();
		events = json_object_new_object();
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			parse_line(line, events);
		}
		json_object_object_add(r, "tool", json_object_new_string("perf stat"));
		json_object_object_add(r, "events", events);
	}
	if (f)
		fclose(f);
	unlink(p->out);
	p->pid = -1;
	p->ctl = -1;
	p->ack = -1;
	return r;
}
