#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Measures the step detectors on the test series of series.py: per method
and step size, how often an injected step is found at its run, one run
off, or missed, the other findings on those series; how often a 2 % per
run drift over ten runs (runs 8-17 then flat, or the last ten, up or
down) is found as a drift; and the findings on null series. Not a unit test (minutes of CPU):
`nice reports/tests/measure_changepoint.py [--seeds N] [--alpha A]`;
docs/history.md shows its table.

--repeats GLOB: on real boots of one build instead (fixtures/history/
repeat-host-*.json, repeat-icount-*.json), put through the store: each
kind's run-to-run spread, the findings (none expected), and how often a
step of each size injected from the middle run on is found at its run."""
import argparse
import collections
import sys
import time

import numpy as np

import common  # noqa: F401 (heaplab_reports on sys.path)
import series
from heaplab_reports import changepoint

N = 25                # runs per series
POSITIONS = (5, 12, 20)
SIZES = (0.05, 0.10, 0.20)
QUIET = 0.03          # a metric whose p50 wobbles by less from its samples alone


def classify(found, k, want):
    steps = [f for f in found if f["type"] == "step" and f["direction"] == want]
    at = {f["index"] for f in steps}
    hit = "exact" if k in at else "off1" if at & {k - 1, k + 1} else "missed"
    return hit, sum(1 for f in found if not (f in steps and abs(f["index"] - k) <= 1))


def repeats(pattern, alpha):
    paths, ss = series.repeat_series(pattern)
    if not paths:
        sys.exit(f"measure_changepoint: no files match {pattern}")
    o = changepoint.options(argparse.Namespace(alpha=alpha))
    n = len(paths)
    k = n // 2
    print(f"# {pattern}: {n} boots, {len(ss)} series, alpha {alpha}")
    print("| kind | series | run-to-run sd of the log: median | 10th pct | 90th pct |")
    print("| --- | --- | --- | --- | --- |")
    for kind in ("time", "ratio", "gbps"):
        sd = [np.std(np.log([p["value"] for p in s["points"]]), ddof=1)
              for s in ss if s["kind"] == kind]
        if sd:
            print(f"| {kind} | {len(sd)} | {np.median(sd):.1%} | {np.percentile(sd, 10):.1%} |"
                  f" {np.percentile(sd, 90):.1%} |")
    print(f"findings on the repeats: {len(changepoint.check(ss, o))}")
    print(f"| step from run {k + 1} of {n} | found at its run | found elsewhere | missed |")
    print("| --- | --- | --- | --- |")
    for size in (0.1, 0.2, 0.5, 1.0):
        c = collections.Counter()
        for s in ss:
            s2 = dict(s, points=[dict(p, value=p["value"] * (1 + size if i >= k else 1))
                                 for i, p in enumerate(s["points"])])
            found = changepoint.check([s2], o)
            c["at" if any(f["type"] == "step" and f["index"] == k for f in found)
              else "else" if found else "missed"] += 1
        print(f"| +{size:.0%} | {c['at'] / len(ss):.0%} | {c['else'] / len(ss):.0%} |"
              f" {c['missed'] / len(ss):.0%} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--null-seeds", type=int, default=10)
    ap.add_argument("--alpha", type=float, default=changepoint.DEFAULTS["alpha"])
    ap.add_argument("--methods", default=",".join(changepoint.METHODS))
    ap.add_argument("--boot-sigma", type=float, default=series.BOOT_SIGMA)
    ap.add_argument("--repeats", metavar="GLOB", help="measure on real boots of one build instead")
    a = ap.parse_args()
    if a.repeats:
        return repeats(a.repeats, a.alpha)
    base = series.load()
    quiet = {m for m, s in base[0].items() if series.noise(s) <= QUIET}
    print(f"# {len(base[0])} metrics, {len(quiet)} with p50 noise <= {QUIET:.0%};"
          f" {N} runs, steps at runs {POSITIONS}, up (x(1+s)) and down (x(1-s)),"
          f" {a.seeds} seeds; null: {a.null_seeds} seeds with the ratio series; alpha {a.alpha};"
          f" boot factor sigma {a.boot_sigma:.0%}")
    print("| method | metrics | step | exact run | one off | missed |"
          " other findings / 100 series |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    nulls = [series.make(N, 1000 + s, base=base, ratios=True, boot_sigma=a.boot_sigma)
             for s in range(a.null_seeds)]
    fp = {}
    for method in a.methods.split(","):
        o = changepoint.options(argparse.Namespace(method=method, alpha=a.alpha))
        t0 = time.time()
        count = collections.defaultdict(collections.Counter)
        for size in SIZES:
            for sign in (1, -1):
                for k in POSITIONS:
                    for seed in range(a.seeds):
                        f = series.step(N, k, 1 + sign * size)
                        ss = series.make(N, seed * 100 + k, base=base, boot_sigma=a.boot_sigma,
                                         scale={m: f for m in base[0]})
                        want = "regression" if sign > 0 else "improvement"
                        for s in ss:
                            hit, other = classify(changepoint.check([s], o), k, want)
                            for g in ("all", "quiet") if s["metric"] in quiet else ("all",):
                                count[(g, size)][hit] += 1
                                count[(g, size)]["other"] += other
                                count[(g, size)]["n"] += 1
        for (g, size), c in sorted(count.items()):
            print(f"| {method} | {g} ({c['n'] // (2 * len(POSITIONS) * a.seeds)}) |"
                  f" {size:.0%} | {c['exact'] / c['n']:.1%} | {c['off1'] / c['n']:.1%} |"
                  f" {c['missed'] / c['n']:.1%} | {100 * c['other'] / c['n']:.2f} |")
        drift = collections.Counter()
        for k, rate in ((8, 1.02), (N - 10, 1.02), (N - 10, 1 / 1.02)):
            for seed in range(a.seeds):
                ss = series.make(N, seed * 100 + k, base=base, boot_sigma=a.boot_sigma,
                                 scale={m: series.drift(N, k, rate) for m in base[0]})
                for s in ss:
                    ok = any(f["type"] == "drift" and f["index"] <= k + 1 and
                             f["end_index"] >= k + 8 for f in changepoint.check([s], o))
                    for g in ("all", "quiet") if s["metric"] in quiet else ("all",):
                        drift[g, "n"] += 1
                        drift[g, "ok"] += ok
        for g in ("all", "quiet"):
            print(f"| {method} | {g} | drift 2 %/run over 10 runs | found as a drift:"
                  f" {drift[g, 'ok'] / drift[g, 'n']:.1%} | | | |")
        found = [f for ss in nulls for f in changepoint.check(ss, o)]
        fp[method] = (sum(f["type"] == "step" for f in found),
                      sum(f["type"] == "drift" for f in found),
                      sum(len(ss) for ss in nulls), time.time() - t0)
        sys.stdout.flush()
    for method, (st, dr, n, secs) in fp.items():
        print(f"# {method}: null series: {st} steps and {dr} drifts in {n} series"
              f" ({100 * (st + dr) / n:.2f} per 100 series); {secs:.0f} s")


if __name__ == "__main__":
    main()
