// SPDX-License-Identifier: GPL-2.0
/* libheaplab: the "machine" block of heaplab's JSON documents. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <json-c/json.h>

#include "heaplab.h"

static void add_str(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

static void add_int(struct json_object *o, const char *key, int64_t val)
{
	json_object_object_add(o, key, json_object_new_int64(val));
}

struct json_object *hl_machine_json(void)
{
	static const char *const dirs[] = { "/dev/dma_heap", "/dev/heaplab", NULL };
	struct hl_cma_area cma[HL_MAX_CMA_AREAS];
	struct hl_heap heaps[HL_MAX_HEAPS];
	struct json_object *m = json_object_new_object(), *arr;
	long long cma_kb = hl_meminfo_kb("CmaTotal");
	struct utsname u;
	char line[1024];
	FILE *f;
	int i, n;

	if (!uname(&u)) {
		add_str(m, "kernel", u.release);
		add_str(m, "version", u.version);
		add_str(m, "arch", u.machine);
	}
	f = fopen("/proc/cmdline", "re");
	if (f) {
		if (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			add_str(m, "cmdline", line);
		}
		fclose(f);
	}
	/* online CPUs: what a run can really use */
	add_int(m, "cpus", sysconf(_SC_NPROCESSORS_ONLN));
	add_int(m, "cpus_configured", sysconf(_SC_NPROCESSORS_CONF));
	add_int(m, "mem_bytes", (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
	add_int(m, "cma_bytes", cma_kb > 0 ? cma_kb * 1024 : 0);

	arr = json_object_new_array();
	n = hl_cma_areas(cma, HL_MAX_CMA_AREAS);
	for (i = 0; i < n; i++) {
		struct json_object *a = json_object_new_object();

		add_str(a, "name", cma[i].name);
		add_int(a, "pages", cma[i].count);
		json_object_array_add(arr, a);
	}
	json_object_object_add(m, "cma_areas", arr);

	arr = json_object_new_array();
	n = hl_heaps_find(dirs, heaps, HL_MAX_HEAPS);
	for (i = 0; i < n; i++) {
		struct json_object *h = json_object_new_object();

		add_str(h, "path", heaps[i].path);
		add_str(h, "impl", hl_impl_name(heaps[i].impl));
		json_object_array_add(arr, h);
	}
	json_object_object_add(m, "heaps", arr);
	return m;
}
