// SPDX-License-Identifier: GPL-2.0
/* libheaplab: the "machine" block of heaplab's JSON documents. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <json-c/json.h>

#include "heaplab.h"

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
		hl_doc_add_str(m, "kernel", u.release);
		hl_doc_add_str(m, "version", u.version);
		hl_doc_add_str(m, "arch", u.machine);
	}
	f = fopen("/proc/cmdline", "re");
	if (f) {
		if (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			hl_doc_add_str(m, "cmdline", line);
		}
		fclose(f);
	}
	/* online CPUs: what a run can really use */
	hl_doc_add_int(m, "cpus", sysconf(_SC_NPROCESSORS_ONLN));
	hl_doc_add_int(m, "cpus_configured", sysconf(_SC_NPROCESSORS_CONF));
	hl_doc_add_int(m, "mem_bytes", (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
	hl_doc_add_int(m, "cma_bytes", cma_kb > 0 ? cma_kb * 1024 : 0);

	arr = hl_doc_add_array(m, "cma_areas");
	n = hl_cma_areas(cma, HL_MAX_CMA_AREAS);
	for (i = 0; i < n; i++) {
		struct json_object *a = json_object_new_object();

		hl_doc_add_str(a, "name", cma[i].name);
		hl_doc_add_int(a, "pages", cma[i].count);
		json_object_array_add(arr, a);
	}

	arr = hl_doc_add_array(m, "heaps");
	n = hl_heaps_find(dirs, heaps, HL_MAX_HEAPS);
	for (i = 0; i < n; i++) {
		struct json_object *h = json_object_new_object();

		hl_doc_add_str(h, "path", heaps[i].path);
		hl_doc_add_str(h, "impl", hl_impl_name(heaps[i].impl));
		json_object_array_add(arr, h);
	}
	return m;
}
