#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Ratio table of heaplab's heaps against the upstream ones, from one boot.

    reports/ratios.py reports/out/alloc.json [reports/out/memset.json]

Prints, per heap kind (system, CMA) and size, p50 and p99 of allocation and
free latency for both, and the ratio ours/upstream (below 1: ours is faster).
In TCG only such ratios mean something; absolute times do not.
"""
import json
import sys


def kind(path):
    return "system" if path.endswith("/system") else "cma"


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    with open(argv[1]) as f:
        doc = json.load(f)
    if doc.get("schema") != "heaplab-bench/1" or doc.get("tool") != "alloc":
        sys.exit(f"{argv[1]}: not a heaplab-bench/1 alloc result")
    by = {}
    for r in doc["results"]:
        side = "ours" if r["heap"].startswith("/dev/heaplab/") else "upstream"
        by[(kind(r["heap"]), r["size"], side)] = r
    print(f"kernel {doc['machine'].get('kernel')}, one boot; ratio = ours / upstream")
    print(f"{'heap':7} {'size':>8} {'op':5} {'ours p50':>10} {'up p50':>10} {'p50 x':>6}"
          f" {'ours p99':>10} {'up p99':>10} {'p99 x':>6}")
    for (k, size, side) in sorted(by):
        if side != "ours" or (k, size, "upstream") not in by:
            continue
        o, u = by[(k, size, "ours")], by[(k, size, "upstream")]
        for op in ("alloc", "free"):
            a, b = o[op], u[op]
            if not a["n"] or not b["n"]:
                continue
            print(f"{k:7} {size // 1024:>7}K {op:5} {a['p50_ns'] / 1e3:>9.1f}u {b['p50_ns'] / 1e3:>9.1f}u"
                  f" {a['p50_ns'] / b['p50_ns']:>6.2f} {a['p99_ns'] / 1e3:>9.1f}u"
                  f" {b['p99_ns'] / 1e3:>9.1f}u {a['p99_ns'] / b['p99_ns']:>6.2f}")
    if len(argv) > 2:
        with open(argv[2]) as f:
            m = json.load(f)
        for r in m["results"]:
            print(f"memset limit {r['size'] // 1024}K: p50 {r['p50_gbps']:.3f} GB/s")


if __name__ == "__main__":
    main(sys.argv)
