// SPDX-License-Identifier: GPL-2.0
/*
 * cmatrace: cma_alloc() latency, failures and -EBUSY retries, pages
 * migrated out of the way, and time in alloc_contig_range(), per CMA area
 * and request size. fentry where BTF allows, else kprobe; the cma and
 * migrate tracepoints by tp_btf, else raw_tp.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cmatrace.h"
#include "cmatrace.skel.h"
#include "attach_helpers.h"
#include "hist_helpers.h"
#include "heaplab.h"
#include "json_helpers.h"
#include "tool_helpers.h"

#define TOOL "cmatrace"

static struct {
	const char *name;
	const char *tp_category;
	const char *alias;	/* its name in later kernels, tried second */
	const char *sym;	/* the alias, when that is what was found */
	enum attach_how how;
} targets[] = {
	{ .name = "cma_alloc" },
	/* 6.10, "mm: enable page allocation tagging": alloc_contig_range_noprof() */
	{ .name = "alloc_contig_range", .alias = "alloc_contig_range_noprof" },
	{ .name = "cma_alloc_busy_retry", .tp_category = "cma" },
	{ .name = "mm_migrate_pages", .tp_category = "migrate" },
};

#define NR_TARGETS (sizeof(targets) / sizeof(targets[0]))

static struct trace_env env = { .tool = TOOL, .mode_str = "auto" };

static void usage(FILE *f)
{
	fprintf(f,
"usage: " TOOL " [options] [-- COMMAND [ARG...]]\n"
"Contiguous allocations per CMA area and request size: cma_alloc() latency\n"
"(log2 histogram), failures, -EBUSY retries, pages migrated, and the time in\n"
"alloc_contig_range(). Traces until Ctrl-C, for --duration, or while COMMAND runs.\n"
"\n"
TRACE_COMMON_HELP
"  -j, --json FILE      also write the results as JSON (schema heaplab-cmatrace/1)\n"
"  -h, --help           this help\n");
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		TRACE_COMMON_OPTS,
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int c;

	env.usage = usage;
	while ((c = getopt_long(argc, argv, "+" TRACE_COMMON_SHORT "h", opts, NULL)) != -1)
		if (trace_common_opt(&env, c, optarg))
			return -1;
	if (optind < argc)
		env.command = argv + optind;
	return 0;
}

struct row {
	struct ct_key key;
	struct ct_stats s;
};

static struct row *rows;
static int nrows;

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strncmp(x->key.cma, y->key.cma, CMA_NAME_LEN);

	return c ? c : (int)x->key.bucket - (int)y->key.bucket;
}

static int read_stats(void *ctx)
{
	struct cmatrace_bpf *skel = ctx;
	int fd = bpf_map__fd(skel->maps.stats);
	struct ct_key key, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		struct row *grown = realloc(rows, (nrows + 1) * sizeof(*rows));

		if (!grown)
			return -ENOMEM;
		rows = grown;
		rows[nrows].key = key;
		if (bpf_map_lookup_elem(fd, &key, &rows[nrows].s))
			return -errno;
		nrows++;
		prev = &key;
	}
	/* An empty map leaves rows NULL: qsort() must not get it. */
	if (nrows)
		qsort(rows, nrows, sizeof(*rows), row_cmp);
	return 0;
}

static double mean(unsigned long long sum, unsigned long long n)
{
	return n ? (double)sum / n : 0;
}

static void print_rows(void *ctx __attribute__((unused)))
{
	char a[32], b[32], c[32], d[32], sz[32];
	int i;

	if (!nrows) {
		printf("no cma_alloc() calls seen\n");
		return;
	}
	for (i = 0; i < nrows; i++) {
		const struct ct_stats *s = &rows[i].s;
		char name[CMA_NAME_LEN + 1] = { };

		memcpy(name, rows[i].key.cma, CMA_NAME_LEN);
		printf("\ncma area %s, requests up to %s: %llu cma_alloc, %llu failed\n",
		       name, size_str(4096ULL << rows[i].key.bucket, sz, sizeof(sz)),
		       s->count, s->failed);
		printf("  latency: mean %s, p50 %s, p99 %s\n",
		       ns_str(mean(s->sum_ns, s->count), a, sizeof(a)),
		       ns_str(log2_hist_percentile(s->slots, CT_SLOTS, 0.5), b, sizeof(b)),
		       ns_str(log2_hist_percentile(s->slots, CT_SLOTS, 0.99), c, sizeof(c)));
		printf("  alloc_contig_range: %llu calls (%llu -EBUSY), mean %s, %.1f%% of cma_alloc time (%s in all)\n",
		       s->acr_calls, s->acr_busy,
		       ns_str(mean(s->acr_ns, s->acr_calls), a, sizeof(a)),
		       s->sum_ns ? 100.0 * s->acr_ns / s->sum_ns : 0,
		       ns_str((double)s->acr_ns, d, sizeof(d)));
		printf("  retries: %llu; pages migrated: %llu (%llu failed to migrate)\n",
		       s->retries, s->migrated, s->migrate_failed);
		printf("  cma_alloc latency:\n");
		print_log2_hist(stdout, s->slots, CT_SLOTS, "nsecs");
	}
}

#define ADD_U64(o, k, v) json_object_object_add(o, k, json_object_new_uint64(v))

static int write_json(void *ctx __attribute__((unused)), double elapsed)
{
	const char *names[NR_TARGETS];
	enum attach_how hows[NR_TARGETS];
	struct json_object *root, *arr;
	size_t t;
	int i;

	for (t = 0; t < NR_TARGETS; t++) {
		names[t] = targets[t].name;
		hows[t] = targets[t].how;
	}
	root = trace_json_new(&env, "heaplab-cmatrace/1", elapsed, names, hows, NR_TARGETS);
	arr = json_object_new_array();
	for (i = 0; i < nrows; i++) {
		const struct ct_stats *s = &rows[i].s;
		struct json_object *o = json_object_new_object();
		char name[CMA_NAME_LEN + 1] = { };

		memcpy(name, rows[i].key.cma, CMA_NAME_LEN);
		json_object_object_add(o, "cma", json_object_new_string(name));
		ADD_U64(o, "size_max", 4096ULL << rows[i].key.bucket);
		ADD_U64(o, "count", s->count);
		ADD_U64(o, "failed", s->failed);
		ADD_U64(o, "sum_ns", s->sum_ns);
		json_object_object_add(o, "p50_ns", json_object_new_double(
			log2_hist_percentile(s->slots, CT_SLOTS, 0.5)));
		json_object_object_add(o, "p99_ns", json_object_new_double(
			log2_hist_percentile(s->slots, CT_SLOTS, 0.99)));
		json_object_object_add(o, "hist", log2_slots_json(s->slots, CT_SLOTS));
		ADD_U64(o, "acr_calls", s->acr_calls);
		ADD_U64(o, "acr_busy", s->acr_busy);
		ADD_U64(o, "acr_ns", s->acr_ns);
		json_object_object_add(o, "acr_hist", log2_slots_json(s->acr_slots, CT_SLOTS));
		ADD_U64(o, "retries", s->retries);
		ADD_U64(o, "migrated", s->migrated);
		ADD_U64(o, "migrate_failed", s->migrate_failed);
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "areas", arr);
	return trace_json_write(&env, root);
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	struct cmatrace_bpf *skel = NULL;
	struct link_set links = { };
	struct ksyms_btf *k = NULL;
	struct trace_report report = {
		.read = read_stats, .print = print_rows, .json = write_json,
	};
	int err, rc = 1;
	size_t t;

	hl_set_prog(TOOL);
	if (parse_args(argc, argv))
		return 2;
	k = trace_start(&env);
	if (!k)
		return 1;
	for (t = 0; t < NR_TARGETS; t++) {
		targets[t].how = targets[t].tp_category ?
			plan_tracepoint(k, targets[t].tp_category, targets[t].name, env.mode) :
			plan_func_renamed(k, targets[t].name, targets[t].alias, env.mode,
					  &targets[t].sym);
		if (targets[t].how == HOW_MISSING) {
			fprintf(stderr, TOOL ": %s %s not found in the running kernel%s (CONFIG_CMA=y?)\n",
				targets[t].tp_category ? "tracepoint" : "function",
				targets[t].name,
				env.mode == ATTACH_FENTRY ?
				" as an fentry/tp_btf target (no BTF or no ftrace site for it)" : "");
			goto out;
		}
	}
	open_opts.btf_custom_path = env.btf;
	skel = cmatrace_bpf__open_opts(&open_opts);
	if (!skel) {
		fprintf(stderr, TOOL ": cannot open the BPF object: %s\n", strerror(errno));
		goto out;
	}
	skel->rodata->targ_tgid = env.pid;
	for (t = 0; t < NR_TARGETS; t++)
		enable_programs(skel->obj, targets[t].name, targets[t].sym, targets[t].how);
	err = cmatrace_bpf__load(skel);
	if (err) {
		fprintf(stderr, TOOL ": loading the BPF programs failed: %s%s\n",
			strerror(-err), env.verbose ? "" : " (-v shows libbpf's messages)");
		goto out;
	}
	for (t = 0; t < NR_TARGETS; t++) {
		err = attach_programs(skel->obj, targets[t].name, targets[t].sym, targets[t].how, &links);
		if (err) {
			fprintf(stderr, TOOL ": cannot attach %s to %s: %s%s\n",
				how_str(targets[t].how), targets[t].name, strerror(-err),
				env.verbose ? "" : " (-v shows libbpf's messages)");
			goto out;
		}
	}
	fprintf(stderr, TOOL ": attached (mode %s):", env.mode_str);
	for (t = 0; t < NR_TARGETS; t++)
		fprintf(stderr, " %s %s%s", targets[t].name, how_str(targets[t].how),
			t + 1 < NR_TARGETS ? "," : "\n");

	report.ctx = skel;
	rc = trace_and_report(&env, "cma_alloc()", &links, &report);
out:
	link_set_destroy(&links);
	cmatrace_bpf__destroy(skel);
	ksyms_btf_close(k);
	free(rows);
	return rc;
}
