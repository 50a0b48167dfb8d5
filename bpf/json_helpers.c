// SPDX-License-Identifier: GPL-2.0
/* bpf/ loaders: JSON documents. */
#include <stdio.h>

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
	struct json_object *root = json_object_new_object(), *a, *o;
	struct json_object *m = hl_machine_json();
	int i;

	json_object_object_add(root, "schema", json_object_new_string(schema));
	json_object_object_add(root, "tool", json_object_new_string(env->tool));
	/* "kernel" stays at the top: the heaplab-*trace/1 readers take it there */
	json_object_object_add(root, "kernel",
			       json_object_get(json_object_object_get(m, "kernel")));
	json_object_object_add(root, "machine", m);
	json_object_object_add(root, "duration_s", json_object_new_double(elapsed));
	a = json_object_new_object();
	json_object_object_add(a, "mode", json_object_new_string(env->mode_str));
	o = json_object_new_object();
	for (i = 0; i < n; i++)
		json_object_object_add(o, names[i], json_object_new_string(how_str(hows[i])));
	json_object_object_add(a, "targets", o);
	json_object_object_add(root, "attach", a);
	if (env->command) {
		o = json_object_new_array();
		for (i = 0; env->command[i]; i++)
			json_object_array_add(o, json_object_new_string(env->command[i]));
		json_object_object_add(root, "command", o);
	}
	return root;
}

int trace_json_write(const struct trace_env *env, struct json_object *root)
{
	int ret = 0;

	if (json_object_to_file_ext(env->json, root, JSON_C_TO_STRING_PRETTY)) {
		fprintf(stderr, "%s: cannot write %s: %s\n", env->tool, env->json,
			json_util_get_last_err());
		ret = -1;
	}
	json_object_put(root);
	return ret;
}
