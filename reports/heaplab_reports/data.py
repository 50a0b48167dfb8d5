# SPDX-License-Identifier: GPL-2.0
"""Loading heaplab-bench results and turning them into named metrics.

A run set (bench.json, schema heaplab-bench-set/1) holds the documents of
several heaplab-bench tools from one boot. A metric is one distribution of
durations in one case, named by tool, heap, size and the case's other
scalar fields (threads, load), plus the field that holds it (alloc, free,
write_sync, ...). Every metric is a duration, so higher is always worse.
"""
import json
import os
import re

import jsonschema

TOOL_SCHEMA = "heaplab-bench/1"
SET_SCHEMA = "heaplab-bench-set/1"
STRESS_SCHEMA = "heaplab-stress/1"
HEAPTRACE_SCHEMA = "heaplab-heaptrace/1"
CMATRACE_SCHEMA = "heaplab-cmatrace/1"
# Documents that are not bench runs, each added to the report in its own
# section: schema id -> schema file.
SIDE_SCHEMAS = {STRESS_SCHEMA: "heaplab-stress-1.json",
                HEAPTRACE_SCHEMA: "heaplab-heaptrace-1.json",
                CMATRACE_SCHEMA: "heaplab-cmatrace-1.json"}
HERE = os.path.dirname(os.path.realpath(__file__))
# Source tree: ../../{bench,stress,bpf}/schema; installed: ../schema next to this package.
SCHEMA_DIRS = [os.path.join(HERE, "..", "..", d, "schema") for d in ("bench", "stress", "bpf")] + \
    [os.path.join(HERE, "..", "schema")]


class BadInput(Exception):
    pass


def schema(name="heaplab-bench-1.json", dirs=SCHEMA_DIRS):
    """The schema file @name from the first of @dirs that has it."""
    for d in dirs:
        p = os.path.join(d, name)
        if os.path.exists(p):
            with open(p) as f:
                return json.load(f)
    raise BadInput(f"schema {name} not found in " + ", ".join(dirs))


def validate_tool_doc(doc, where, name="heaplab-bench-1.json", label=TOOL_SCHEMA):
    v = jsonschema.Draft202012Validator(schema(name))
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        path = "/".join(str(p) for p in e.path) or "(top)"
        raise BadInput(f"{where}: does not match {label} at {path}: {e.message}"
                       + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))


def read(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise BadInput(f"{path}: {e.strerror}")
    except json.JSONDecodeError as e:
        raise BadInput(f"{path}: not JSON: {e}")
    if not isinstance(doc, dict):
        raise BadInput(f"{path}: not a heaplab result")
    return doc


def side_kind(path):
    """The schema id of a stress or tracer document, else None (a bench run)."""
    kind = read(path).get("schema")
    return kind if kind in SIDE_SCHEMAS else None


def load_side(path):
    """A heaplab-stress, heaptrace or cmatrace document (validated)."""
    doc = read(path)
    kind = doc.get("schema")
    if kind not in SIDE_SCHEMAS:
        raise BadInput(f"{path}: schema is {kind!r}, want one of {', '.join(SIDE_SCHEMAS)}")
    validate_tool_doc(doc, path, SIDE_SCHEMAS[kind], kind)
    return doc


def load(path):
    """A tool document or a run set, as a run set (validated)."""
    doc = read(path)
    if doc.get("schema") == TOOL_SCHEMA:
        validate_tool_doc(doc, path)
        return {"schema": SET_SCHEMA, "runs": [doc]}
    if doc.get("schema") == SET_SCHEMA and isinstance(doc.get("runs"), list):
        for i, run in enumerate(doc["runs"]):
            validate_tool_doc(run, f"{path}: runs[{i}]")
        return doc
    raise BadInput(f"{path}: schema is {doc.get('schema')!r}, want {TOOL_SCHEMA} or {SET_SCHEMA}")


def merge(paths):
    runs = []
    for p in paths:
        runs.extend(load(p)["runs"])
    return {"schema": SET_SCHEMA, "runs": runs}


def is_dist(v):
    return isinstance(v, dict) and "p50_ns" in v and "log2_hist" in v


def case_key(tool, r):
    """What names a case: the tool and every scalar field but measurements."""
    skip = {"ops", "wall_ns", "ops_per_s", "p50_gbps", "ns_per_page_p50", "fill_bytes",
            "worker_cpu_ns", "pool_hits", "pool_misses"}
    parts = [tool]
    for k in ("heap", "size", "threads", "load"):
        if k in r:
            parts.append(f"{k}={r[k]}")
    for k in sorted(r):
        if k not in skip and k not in ("heap", "size", "threads", "load") and \
                isinstance(r[k], (str, int)) and not isinstance(r[k], bool) and r[k] != "":
            parts.append(f"{k}={r[k]}")
    return " ".join(parts)


def metric_items(runset):
    """(metric name, dist) over every case of every run, in run order."""
    for run in runset["runs"]:
        for r in run["results"]:
            base = case_key(run["tool"], r)
            for k, v in r.items():
                if is_dist(v) and v["n"]:
                    yield f"{base} {k}", v


def metrics(runset):
    """{metric name: dist} over every case of every run."""
    return dict(metric_items(runset))


def natural_key(name):
    """Sort metric names with their numbers as numbers (size=4096 < size=65536)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def by_tool(runset, tool):
    return [r for run in runset["runs"] if run["tool"] == tool for r in run["results"]]


def machine(runset):
    return runset["runs"][0]["machine"] if runset["runs"] else {}


def upstream_twin(heap):
    """heaplab's /dev/heaplab/X is compared with the upstream /dev/dma_heap/X."""
    if heap and heap.startswith("/dev/heaplab/"):
        return "/dev/dma_heap/" + heap[len("/dev/heaplab/"):]
    return None


def heap_label(heap):
    if heap.startswith("/dev/heaplab/"):
        return "heaplab " + heap.rsplit("/", 1)[1]
    if heap.startswith("/dev/dma_heap/"):
        return "upstream " + heap.rsplit("/", 1)[1]
    return heap


def size_label(n):
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)
