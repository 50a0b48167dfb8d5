#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks a heaplab-bench JSON beyond its schema: every case the options ask
for is there, every distribution is self-consistent (order of percentiles,
histogram and raw samples agree with n), --perf counters are present.
Never its timings.   check-bench-json.py FILE"""
import json
import sys


def dists(r):
    return {k: v for k, v in r.items() if isinstance(v, dict) and "p50_ns" in v}


def check_dist(where, d, raw):
    assert d["n"] > 0, (where, "no samples")
    assert d["min_ns"] <= d["p50_ns"] <= d["p90_ns"] <= d["p99_ns"] <= d["p999_ns"] \
        <= d["max_ns"], (where, "percentiles out of order")
    assert d["min_ns"] <= d["mean_ns"] <= d["max_ns"], (where, "mean")
    assert sum(c for _, c in d["log2_hist"]) == d["n"], (where, "histogram total")
    for low, _ in d["log2_hist"]:
        assert low & (low - 1) == 0, (where, "bucket not a power of 2")
    if raw:
        assert len(d["samples_ns"]) == d["n"], (where, "raw samples")
        assert min(d["samples_ns"]) == d["min_ns"] and max(d["samples_ns"]) == d["max_ns"]


def main(path):
    doc = json.load(open(path))
    tool, opt = doc["tool"], doc["options"]
    heaps, sizes = opt["heaps"], opt["sizes"]
    want = {
        "alloc": {(h, s) for h in heaps for s in sizes},
        "memset": {(None, s) for s in sizes},
        "zero": {("kernel:clear_highpage", s) for s in sizes} | {(h, s) for h in heaps for s in sizes},
        "mmap": {(h, s) for h in ["anon"] + heaps for s in sizes},
        "concurrency": {(h, s, t) for h in heaps for s in sizes for t in opt.get("threads", [])},
        "pressure": {(h, s, l) for h in heaps for s in sizes for l in ("idle", "pressure")},
        "tracer": {(h, s) for h in heaps for s in sizes},
    }[tool]
    got = set()
    for r in doc["results"]:
        key = (r.get("heap"), r["size"])
        if tool == "concurrency":
            key += (r["threads"],)
            assert r["ops"] == r["alloc"]["n"] == r["free"]["n"], (key, "ops")
            # every thread on its own CPU while there are CPUs for them
            ncpu = doc["machine"]["cpus"]
            assert r["oversubscribed"] == (r["threads"] > ncpu), (key, "oversubscribed")
            assert r["oversubscribed"] <= opt["oversubscribe"], (key, "oversubscribed unasked")
            assert len(r["cpus_used"]) == min(r["threads"], ncpu), \
                (key, f"threads ran on CPUs {r['cpus_used']} of {ncpu} online")
        if tool == "pressure":
            key += (r["load"],)
            assert r["vmstat"], (key, "no vmstat counters")
            assert (r["fill_bytes"] > 0) == (r["load"] == "pressure"), (key, "fill")
        got.add(key)
        d = dists(r)
        if tool == "zero" and r["heap"].startswith("/dev/heaplab/"):
            assert r["zero"], (key, "heaplab heap without zeroing events")
        if tool == "mmap":
            need = {"mmap", "first_touch", "write", "read", "munmap"}
            if r["heap"] != "anon":
                need |= {"write_sync", "read_sync"}
            assert set(d) == need, (key, sorted(d))
        for k, v in d.items():
            check_dist((key, k), v, opt["raw"])
        if tool == "tracer":
            assert r["tracer_args"] == " ".join(opt.get("tracer_args", [])), (key, "tracer_args")
            for op in ("alloc", "free"):
                pct = 100 * (r[f"traced_{op}"]["p50_ns"] / r[op]["p50_ns"] - 1)
                assert abs(r[f"overhead_{op}_p50_pct"] - pct) < 1e-6, (key, f"overhead_{op}")
        # every distribution of a case counts the same rounds
        assert len({v["n"] for v in d.values()}) == 1, (key, "counts differ")
        if opt["perf"]:
            ev = r["perf"]["events"]
            assert ev["task-clock"]["value"] > 0, (key, "perf task-clock")
            assert "page-faults" in ev, (key, "perf page-faults")
    assert got == want, ("cases", sorted(got ^ want, key=str))
    print(f"{path}: {tool}: {len(got)} cases, consistent")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except (AssertionError, KeyError, ValueError, TypeError) as e:
        sys.exit(f"bad bench JSON {sys.argv[1]}: {e!r}")
