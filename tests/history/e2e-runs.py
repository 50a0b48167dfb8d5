#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The history area's end-to-end runs: make bench run sets as CI would
collect them, one per commit, built from the real run set
reports/tests/fixtures/history/bench-6.12.json by reports/tests/series.py
(every raw sample drawn again per run, a boot factor per run), each with
its own provenance (its commit; one machine, kernel and clock):

  e2e-runs.py DIR      writes DIR/NN/bench.json for runs 01..RUNS,
                       DIR/commits (run N's commit on line N) and
                       DIR/expect: one line per injected regression,
                       NAME<TAB>METRIC<TAB>FIRST RUN<TAB>COMMIT<TAB>FACTOR

Injected: STEP, a quiet metric 25 % slower from run 8 on; FRESH, another
25 % slower from run 12 on, so that run 13 is the one that shows it (a
step needs two runs after it: docs/history.md, Detection)."""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "reports", "tests"))

import series  # noqa: E402

RUNS = 13
# The runs' draws. Over 25 seeds of runs without a step, a check after each
# of runs 5 to 13 exited 1 on no change at 12 of the 225 checks (a short
# series of raw host-clock times, e.g. mmap's 20 samples, docs/history.md
# "In CI"); seed 0's are quiet at every check, so each exit status here is
# the injected steps' alone.
SEED = 0
# Both heaplab metrics (their heaplab/upstream ratios step too) that
# test_changepoint.py's QUIET list holds: a run's p50 wobbles by 1.5 % or less.
STEP = ("step", "alloc heap=/dev/heaplab/system size=16384 alloc", 8, 1.25)
FRESH = ("fresh", "alloc heap=/dev/heaplab/system size=1048576 free", 12, 1.25)
# The tools whose series are of every kind (times, heaplab/upstream and
# zeroing/memset ratios, GB/s; memset keys the machine class): 129 series,
# a third of the whole run's, to keep the area short (a plot each).
TOOLS = ("alloc", "memset", "zero")
CONFIG = hashlib.sha256(b"heaplab e2e: the 6.12 perf kernel's .config").hexdigest()


def commit(run):
    return hashlib.sha1(f"heaplab e2e commit {run}".encode()).hexdigest()


def provenance(run, release):
    c = commit(run)
    return {"schema": "heaplab-provenance/1", "heaplab_commit": c,
            "heaplab_describe": f"v0.1.0-{run}-g{c[:7]}", "dirty": False, "branch": "main",
            "kernel_release": release, "kernel_config_sha256": CONFIG, "clock": "host",
            "accel": "tcg", "host_cpu_model": "heaplab e2e host CPU",
            "date": f"2026-12-{run:02d}T12:00:00Z"}


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print("usage: e2e-runs.py DIR (writes DIR/NN/bench.json, DIR/commits, DIR/expect)",
              file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    scale = {m: series.step(RUNS, k - 1, f) for _, m, k, f in (STEP, FRESH)}
    for i, rs in enumerate(series.runsets(RUNS, SEED, scale, tools=TOOLS), 1):
        rs["provenance"] = provenance(i, rs["runs"][0]["machine"]["kernel"])
        d = os.path.join(out, f"{i:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "bench.json"), "w") as f:
            json.dump(rs, f)
    with open(os.path.join(out, "commits"), "w") as f:
        f.writelines(commit(i) + "\n" for i in range(1, RUNS + 1))
    with open(os.path.join(out, "expect"), "w") as f:
        for name, m, k, factor in (STEP, FRESH):
            f.write(f"{name}\t{m}\t{k}\t{commit(k)}\t{factor}\n")


if __name__ == "__main__":
    main()
