#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks a heaplab-bench JSON beyond its schema: every case the options ask
for is there, every distribution is self-consistent (order of percentiles,
histogram and raw samples agree with n), --perf counters are present.
Never its timings.   check-bench-json.py FILE

Which cases a tool must produce comes from the tool itself: the "cases" of
`heaplab-bench list --json` (the binary named by $HEAPLAB_BENCH, else the
one built in this tree), so a new harness needs no line here. replay's
classes come from its profile, so it has its own check (check_replay):
every heap lists every class, played or not; the counts add up; the CMA
area's figures and the headroom agree with each other.
"""
import functools
import itertools
import json
import os
import subprocess
import sys

TOP = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..")


@functools.lru_cache(maxsize=None)
def tool_cases():
    exe = os.environ.get("HEAPLAB_BENCH") or os.path.join(TOP, "bench", "heaplab-bench")
    out = subprocess.run([exe, "list", "--json"], capture_output=True, text=True, check=True)
    return {t["name"]: t["cases"].split() for t in json.loads(out.stdout)["tools"]}


def axis_values(axis, opt):
    """Every value of one axis of a tool's "cases": heap[+extra...], size,
    threads, or FIELD=v1,v2."""
    if axis.startswith("heap"):
        return axis.split("+")[1:] + list(opt["heaps"])
    if axis in ("size", "threads"):
        return list(opt.get({"size": "sizes"}.get(axis, axis), []))
    return axis.split("=", 1)[1].split(",")


def axis_field(axis):
    return "heap" if axis.startswith("heap") else axis.split("=", 1)[0]


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


CAUSES = ("exhausted", "fragmented", "migration", "other")


def check_replay(path, doc):
    opt, results = doc["options"], doc["results"]
    assert [h["heap"] for h in doc["heaps"]] == opt["heaps"], "one heaps[] entry per --heap, in order"
    impls = {h["path"]: h["impl"] for h in doc["machine"].get("heaps", [])}
    keys = [(r["heap"], r["class"]) for r in results]
    assert len(keys) == len(set(keys)), "a class twice on one heap"
    assert {r["heap"] for r in results} <= set(opt["heaps"]), "a result of a heap not asked for"
    every = None
    for h in doc["heaps"]:
        name, played = h["heap"], h["played"]
        assert not set(played) & set(h["not_played"]), (name, "played and not played")
        classes = sorted(played + h["not_played"])
        assert len(set(classes)) == len(classes), (name, "a class listed twice")
        assert every is None or classes == every, (name, "not the same classes as the other heaps")
        every = classes
        assert h["impl"] == impls.get(name, h["impl"]), (name, "impl differs from the machine block's")
        rs = [r for r in results if r["heap"] == name]
        assert [r["class"] for r in rs] == played, (name, "results are not the played classes")
        for r in rs:
            key = (name, r["class"])
            assert r["impl"] == h["impl"], (key, "impl")
            assert r["ok"] + sum(r["failed"][c] for c in CAUSES) == r["allocs"], (key, "ok + failed != allocs")
            assert sum(r["errors"].values()) == r["failed"]["other"], (key, "errors do not add up to other")
            assert r["alloc"]["n"] == r["ok"], (key, "latency samples != ok")
            if r["ok"]:
                check_dist((key, "alloc"), r["alloc"], opt["raw"])
            assert ("misaligned" in r) == ("align" in r), (key, "misaligned without align, or the reverse")
            m = r.get("misaligned")
            assert m is None or 0 <= m <= r["ok"], (key, "misaligned")
        assert isinstance(h["vmstat"], dict) and h["vmstat"], (name, "no vmstat counters")
        if h["kind"] == "system":
            assert h["area"] is None, (name, "a system heap with an area")
        if h["peak_used"] is None:
            assert h["headroom"] is None and h["min_largest_free"] is None, (name, "half the area figures")
            assert h["left_out"], (name, "area figures missing and left_out does not say why")
            continue
        size, hr = h["area"]["size"], h["headroom"]
        assert h["used_at_start"] <= h["peak_used"] <= size, (name, "peak use beyond the area")
        assert hr["used"] == h["peak_used"] and hr["used"] + hr["free"] == size, (name, "headroom: used + free != area")
        assert h["min_largest_free"] <= hr["largest_free"] <= hr["free"], (name, "longest free range")
        assert [c["class"] for c in hr["classes"]] == played, (name, "headroom: not the played classes")
        for c in hr["classes"]:
            assert c["fit_largest"] == hr["largest_free"] // c["size"], (name, c["class"], "fit_largest")
            assert c["fit_free"] == hr["free"] // c["size"], (name, c["class"], "fit_free")
    bg = doc["background"]
    if not opt["background"]:
        assert bg is None, "a background load under --no-background"
    assert bg is None or bg["lasted"], "the background load died during the replay"
    print(f"{path}: replay: {len(results)} results on {len(doc['heaps'])} heaps, consistent")


def main(path):
    doc = json.load(open(path))
    tool, opt = doc["tool"], doc["options"]
    assert tool in tool_cases(), f"tool {tool!r} is not a harness heaplab-bench lists"
    if tool == "replay":
        return check_replay(path, doc)
    axes = tool_cases()[tool]
    want = set(itertools.product(*(axis_values(a, opt) for a in axes)))
    got = set()
    for r in doc["results"]:
        key = tuple(r[axis_field(a)] for a in axes)
        if tool == "concurrency":
            assert r["ops"] == r["alloc"]["n"] == r["free"]["n"], (key, "ops")
            # every thread on its own CPU while there are CPUs for them
            ncpu = doc["machine"]["cpus"]
            assert r["oversubscribed"] == (r["threads"] > ncpu), (key, "oversubscribed")
            assert r["oversubscribed"] <= opt["oversubscribe"], (key, "oversubscribed unasked")
            assert len(r["cpus_used"]) == min(r["threads"], ncpu), \
                (key, f"threads ran on CPUs {r['cpus_used']} of {ncpu} online")
        if tool == "pressure":
            assert r["vmstat"], (key, "no vmstat counters")
            assert (r["fill_bytes"] > 0) == (r["load"] == "pressure"), (key, "fill")
        got.add(key)
        d = dists(r)
        if tool == "zero" and r["heap"].startswith("/dev/heaplab/"):
            assert r["zero"], (key, "heaplab heap without zeroing events")
        if tool == "mmap":
            need = {"mmap", "first_touch", "map_touch", "write", "read", "munmap"}
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
