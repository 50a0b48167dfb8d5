#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks a heaplab-bench alloc JSON's format and internal consistency
(never its timings): check-bench-json.py FILE ITERS HEAP... -- SIZE..."""
import json
import sys


def main(argv):
    path, iters = argv[1], int(argv[2])
    sep = argv.index("--")
    heaps, sizes = argv[3:sep], [int(s) for s in argv[sep + 1:]]
    doc = json.load(open(path))
    assert doc["schema"] == "heaplab-bench/1", doc.get("schema")
    assert doc["tool"] == "alloc"
    assert doc["clock"] == "CLOCK_MONOTONIC_RAW"
    for k in ("kernel", "cpus", "mem_bytes"):
        assert k in doc["machine"], k
    got = {(r["heap"], r["size"]): r for r in doc["results"]}
    assert set(got) == {(h, s) for h in heaps for s in sizes}, sorted(got)
    for (h, s), r in got.items():
        for op in ("alloc", "free"):
            x = r[op]
            assert x["n"] == iters, (h, s, op, x["n"])
            assert 0 <= x["min_ns"] <= x["p50_ns"] <= x["p90_ns"] <= x["p99_ns"] \
                <= x["p999_ns"] <= x["max_ns"], (h, s, op)
            assert x["min_ns"] <= x["mean_ns"] <= x["max_ns"]
            assert sum(c for _, c in x["log2_hist"]) == iters
    print(f"# {path}: {len(got)} results, well formed")


if __name__ == "__main__":
    try:
        main(sys.argv)
    except (AssertionError, KeyError, ValueError) as e:
        sys.exit(f"bad bench JSON: {e!r}")
