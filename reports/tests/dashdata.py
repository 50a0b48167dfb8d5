#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A history for the dashboard's tests, in the shapes history.series() and
changepoint.check() give: real values (resampled, seeded, from the fixture
run's raw samples), twelve synthetic runs, a step, a drift, a regression
later undone, two kernels; reports inside the page's parent, outside it
and gone.

  dashdata.py DIR     writes DIR/dash/index.html (the page to check) and
                      prints it"""
import hashlib
import os
import sys

import numpy as np

from common import fixture
from heaplab_reports import dashboard, data

RUNS = 12
STEP = 6        # runs >= STEP of the first series are 10 % slower
MACHINE = "QEMU TCG, 2 CPUs, 2 GiB, host clock, class 1 (0.59 GB/s)"
METRICS = ["alloc heap=/dev/heaplab/system size=4096 alloc",
           "alloc heap=/dev/heaplab/system size=65536 free",
           "alloc heap=/dev/dma_heap/system size=4096 alloc"]


def key(*parts):
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


def series(metric, dist, kernel, scale, rng, reports, commits):
    s = np.asarray(dist["samples_ns"], dtype=float)
    pts = []
    for i in range(RUNS):
        r = rng.choice(s, size=max(len(s), 200)) * scale(i)   # the fixture has few samples
        pts.append({"run": i + 1, "seq": i + 1, "commit": commits[i],
                    "added": f"2026-12-{i + 1:02d}T14:00:00Z",
                    "value": float(np.median(r)), "p99": float(np.percentile(r, 99)), "n": len(r),
                    "samples": r.astype(np.float32), "report": reports[i]})
    return {"key": key(metric, MACHINE, kernel), "metric": metric, "kind": "time", "unit": "ns",
            "better": "lower", "machine": MACHINE, "kernel": kernel, "points": pts}


def finding(s, typ, direction, i, j=None):
    p = s["points"]
    j = i if j is None else j
    before = float(np.median([x["value"] for x in p[max(0, i - 3):i]]))
    after = float(np.median([x["value"] for x in p[j:j + 3]]))
    return {"key": s["key"], "metric": s["metric"], "machine": s["machine"], "kernel": s["kernel"],
            "type": typ, "direction": direction, "index": i, "run": p[i]["run"],
            "commit": p[i]["commit"], "end_index": j, "change": after / before - 1, "p": 1e-6,
            "confidence": 1 - 1e-6, "before": before, "after": after, "new": j == RUNS - 1}


def make(top):
    """(series, findings, runs, outdir) under top; the reports of runs 1-4
    exist under top/runs (the page's parent), 5 outside it, 6 is gone."""
    m = data.metrics(data.load(fixture("alloc")))
    rng = np.random.default_rng(24)
    commits = [hashlib.sha1(str(i).encode()).hexdigest()[:7] for i in range(RUNS)]
    reports = [None] * RUNS
    for i in range(4):
        reports[i] = os.path.join(top, "runs", str(i + 1))
        os.makedirs(reports[i], exist_ok=True)
        with open(os.path.join(reports[i], "index.html"), "w") as f:
            f.write("<!doctype html><title>run</title><p>a run's report</p>")
    outside = os.path.join(os.path.dirname(top.rstrip("/")),
                           os.path.basename(top.rstrip("/")) + "-elsewhere", "report")
    os.makedirs(outside, exist_ok=True)
    reports[4] = os.path.join(outside, "index.html")
    with open(reports[4], "w") as f:
        f.write("<!doctype html><title>run 5</title>")
    reports[5] = os.path.join(top, "runs", "gone")
    sl = []
    for kernel in ("6.1.192 (config 1a2b3c4d)", "6.12.58 (config 9f8e7d6c)"):
        steps = [lambda i: 1.10 if i >= STEP else 1.0,      # a step
                 lambda i: 1.02 ** i,                        # a drift
                 lambda i: 1.3 if 3 <= i < 8 else 1.0]       # a regression undone
        sl += [series(n, m[n], kernel, f, rng, reports, commits) for n, f in zip(METRICS, steps)]
    # a ratio series, and a metric with characters HTML must escape
    ratio = dict(sl[0], key=key("ratio"), metric="alloc size=4096 alloc <heaplab/upstream> & \"p50\"",
                 kind="ratio", unit="x", points=[dict(p, value=1 + 0.01 * (p["seq"] % 3), p99=None,
                                                      samples=None) for p in sl[0]["points"]])
    sl.append(ratio)
    fs = [finding(sl[0], "step", "regression", STEP), finding(sl[1], "drift", "regression", 2, RUNS - 1),
          finding(sl[2], "step", "regression", 3), finding(sl[2], "step", "improvement", 8)]
    runs = [{"run": i + 1, "seq": i + 1, "commit": commits[i], "added": f"2026-12-{i + 1:02d}T14:00:00Z",
             "machine": MACHINE, "kernel": "6.1.192 (config 1a2b3c4d)", "report": reports[i],
             "source": f"/srv/ci/{i + 1}/bench.json"} for i in range(RUNS)]
    return sl, fs, runs, os.path.join(top, "dash")


if __name__ == "__main__":
    sl, fs, runs, out = make(os.path.abspath(sys.argv[1]))
    dashboard.write(sl, fs, runs, out)
    print(os.path.join(out, "index.html"))
