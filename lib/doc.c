// SPDX-License-Identifier: GPL-2.0
/*
 * libheaplab: heaplab's JSON documents. Every tool's document starts with
 * the same head (schema, tool, machine); the adders keep the tools' own
 * parts one line a key.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "heaplab.h"

/* Pretty, and paths as they are ("/dev/dma_heap/system", not "\/dev\/..."). */
#define HL_DOC_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)

struct json_object *hl_doc_new(const char *schema, const char *tool)
{
	struct json_object *doc = json_object_new_object();

	hl_doc_add_str(doc, "schema", schema);
	if (tool)
		hl_doc_add_str(doc, "tool", tool);
	json_object_object_add(doc, "machine", hl_machine_json());
	return doc;
}

struct json_object *hl_doc_options(struct json_object *doc, const char *const *heaps,
				   int nheaps)
{
	struct json_object *opts = hl_doc_add_object(doc, "options");

	hl_doc_add_strs(opts, "heaps", heaps, nheaps);
	return opts;
}

void hl_doc_add_str(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

void hl_doc_add_int(struct json_object *o, const char *key, int64_t val)
{
	json_object_object_add(o, key, json_object_new_int64(val));
}

void hl_doc_add_uint(struct json_object *o, const char *key, uint64_t val)
{
	json_object_object_add(o, key, json_object_new_uint64(val));
}

void hl_doc_add_double(struct json_object *o, const char *key, double val)
{
	json_object_object_add(o, key, json_object_new_double(val));
}

void hl_doc_add_bool(struct json_object *o, const char *key, bool val)
{
	json_object_object_add(o, key, json_object_new_boolean(val));
}

void hl_doc_add_strs(struct json_object *o, const char *key, const char *const *v, int n)
{
	struct json_object *arr = hl_doc_add_array(o, key);
	int i;

	for (i = 0; n < 0 ? v[i] != NULL : i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
}

struct json_object *hl_doc_add_object(struct json_object *o, const char *key)
{
	struct json_object *sub = json_object_new_object();

	json_object_object_add(o, key, sub);
	return sub;
}

struct json_object *hl_doc_add_array(struct json_object *o, const char *key)
{
	struct json_object *arr = json_object_new_array();

	json_object_object_add(o, key, arr);
	return arr;
}

int hl_doc_write(struct json_object *doc, const char *path)
{
	int ret = 0;

	if (!path) {
		ret = printf("%s\n", json_object_to_json_string_ext(doc, HL_DOC_FLAGS)) < 0 ||
		      fflush(stdout) ? -1 : 0;
		if (ret)
			fprintf(stderr, "%s: cannot write the JSON to stdout: %s\n", hl_prog,
				strerror(errno));
	} else if (json_object_to_file_ext(path, doc, HL_DOC_FLAGS)) {
		fprintf(stderr, "%s: cannot write %s: %s\n", hl_prog, path,
			json_util_get_last_err());
		ret = -1;
	}
	json_object_put(doc);
	return ret;
}
