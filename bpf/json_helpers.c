// SPDX-License-Identifier: GPL-2.0
/* bpf/ loaders: JSON documents. */
#include <json-c/json.h>

#include "heaplab.h"
#include "json_helpers.h"

struct json_object *log2_slots_json(const unsigned long long *slots, int nslots)
{
	struct json_object *arr = json_object_new_array();
	int i;

	for (i = 0; i < nslots; i++) {
		struct json_object *s;

		if (!slots[i])
			continue;
		s = json_object_new_array();
		json_object_array_add(s, json_object_new_uint64(i ? 1ULL << i : 0));
		json_object_array_add(s, json_object_new_uint64((2ULL << i) - 1));
		json_object_array_add(s, json_object_new_uint64(slots[i]));
		json_object_array_add(arr, s);
	}
	return arr;
}

struct json_object *trace_json_new(const struct trace_env *env, const char *schema,
				   double elapsed, const char *const *names,
				   const enum attach_how *hows, int n)
{
	struct json_object *root = hl_doc_new(schema, env->tool), *a, *o;
	struct json_object *m = json_object_object_get(root, "machine");
	int i;

	/* "kernel" stays at the top: the heaplab-*trace/1 readers take it there */
	json_object_object_add(root, "kernel",
			       json_object_get(json_object_object_get(m, "kernel")));
	hl_doc_add_double(root, "duration_s", elapsed);
	a = hl_doc_add_object(root, "attach");
	hl_doc_add_str(a, "mode", env->mode_str);
	o = hl_doc_add_object(a, "targets");
	for (i = 0; i < n; i++)
		hl_doc_add_str(o, names[i], how_str(hows[i]));
	if (env->command)
		hl_doc_add_strs(root, "command", (const char *const *)env->command, -1);
	return root;
}

int trace_json_write(const struct trace_env *env, struct json_object *root)
{
	return hl_doc_write(root, env->json);
}
