/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpf/ loaders: their JSON documents (heaplab-heaptrace/1,
 * heaplab-cmatrace/1): the head every document shares and histograms.
 */
#ifndef HEAPLAB_JSON_HELPERS_H
#define HEAPLAB_JSON_HELPERS_H

#include "attach_helpers.h"
#include "tool_helpers.h"

struct json_object;

/* [low_ns, high_ns, count] of each non-empty log2 slot. */
struct json_object *log2_slots_json(const unsigned long long *slots, int nslots);
/*
 * The document's head: lib's (hl_doc_new(): schema, tool, machine), then
 * kernel, duration, how each target (@names[i]) was attached (@hows[i]),
 * and the command traced.
 */
struct json_object *trace_json_new(const struct trace_env *env, const char *schema,
				   double elapsed, const char *const *names,
				   const enum attach_how *hows, int n);
/* Write @root to env->json and free it; -1 after a message on failure. */
int trace_json_write(const struct trace_env *env, struct json_object *root);

#endif /* HEAPLAB_JSON_HELPERS_H */
