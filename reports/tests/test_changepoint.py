# SPDX-License-Identifier: GPL-2.0
"""Change-point detection (heaplab_reports/changepoint.py) on test series
built from a real bench run (series.py): injected steps found at their run
with their direction, a slow drift found, nothing found on resampled runs
of the same build, the options and the series too short to check."""
import argparse
import json
import os
import tempfile
import unittest

import numpy as np

import common  # noqa: F401 (heaplab_reports on sys.path)
import series
from heaplab_reports import changepoint, data

BASE = series.load()
N = 25
# Metrics of several tools whose run p50 wobbles by 1.5 % or less from its
# samples alone (series.noise()): where a 10 % step can be placed at its run.
# measure_changepoint.py measures every metric.
QUIET = ["zero heap=kernel:clear_highpage size=65536 zero",
         "memset size=65536 time",
         "concurrency heap=/dev/dma_heap/system size=65536 threads=1 alloc",
         "alloc heap=/dev/heaplab/system size=16384 alloc",
         "alloc heap=/dev/heaplab/system size=1048576 free",
         "pressure heap=/dev/dma_heap/system size=1048576 load=idle alloc",
         "mmap heap=/dev/dma_heap/system size=16777216 read_sync"]
FIELDS = {"key", "metric", "machine", "kernel", "type", "direction", "index", "run", "commit",
          "end_index", "change", "p", "confidence", "before", "after", "new", "gate"}


def stepped(k, factor, seed, names=QUIET, n=N):
    return series.make(n, seed, base=BASE, names=names,
                       scale={m: series.step(n, k, factor) for m in names})


def brief(found):
    return [(f["metric"], f["type"], f["index"], f["direction"], round(f["change"], 3))
            for f in found]


class Generator(unittest.TestCase):
    def test_real_metrics(self):
        """the fixture is a real run set: every metric has raw samples, the quiet ones are quiet"""
        self.assertGreater(len(BASE[0]), 200)
        for m in QUIET:
            self.assertLessEqual(series.noise(BASE[0][m]), 0.015, m)

    def test_scales_the_runs_asked(self):
        """a step scales exactly the runs from k on, the same draws otherwise"""
        plain = series.make(10, 5, base=BASE, names=QUIET[:2])
        step = stepped(6, 1.25, 5, QUIET[:2], 10)
        for a, b in zip(plain, step):
            r = [q["value"] / p["value"] for p, q in zip(a["points"], b["points"])]
            self.assertEqual([round(x, 9) for x in r], [1.0] * 6 + [1.25] * 4)
            self.assertEqual(len(b["points"][0]["samples"]), b["points"][0]["n"])

    def test_ratio_cancels_the_boot(self):
        """a heaplab/upstream ratio series divides two metrics of the same run"""
        ours = "alloc heap=/dev/heaplab/system size=16384 alloc"
        t, r = series.make(8, 3, base=BASE, names=[ours], ratios=True, boot_sigma=0.5)
        self.assertEqual(r["kind"], "ratio")
        twin = series.make(8, 3, base=BASE, names=[series.twin(ours)], boot_sigma=0.5)[0]
        for p, q, u in zip(t["points"], r["points"], twin["points"]):
            self.assertAlmostEqual(q["value"], p["value"] / u["value"])


    def test_runsets_as_the_tool_writes(self):
        """runsets(): summary() of a run's own samples is what the tool wrote; each run set
        validates, its distributions are make()'s draws, a step scales its samples"""
        real = data.load(series.BENCH)
        exact = ("n", "min_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "log2_hist",
                 "samples_ns")
        for name, d in data.metric_items(real):
            s = series.summary(np.asarray(d["samples_ns"]))
            self.assertEqual([s[k] for k in exact], [d[k] for k in exact], name)
            for k in ("mean_ns", "stddev_ns"):
                self.assertAlmostEqual(s[k], d[k], delta=1e-9 * max(1.0, d[k]), msg=f"{name} {k}")
        m = QUIET[3]
        sets = series.runsets(4, 7, {m: series.step(4, 2, 1.5)}, tools=("alloc", "memset"))
        drawn = series.make(4, 7, base=BASE, names=[m], scale={m: series.step(4, 2, 1.5)})[0]
        with tempfile.TemporaryDirectory() as tmp:
            for i, rs in enumerate(sets):
                path = os.path.join(tmp, f"{i}.json")
                with open(path, "w") as f:
                    json.dump(rs, f)
                got = data.metrics(data.load(path))
                self.assertEqual({r["tool"] for r in rs["runs"]}, {"alloc", "memset"})
                want = np.rint(drawn["points"][i]["samples"]).astype(int).tolist()
                self.assertEqual(sorted(got[m]["samples_ns"]), sorted(want))
                gbps = [r["p50_gbps"] * got[f"memset size={r['size']} time"]["p50_ns"]
                        for r in data.by_tool(rs, "memset")]
                self.assertEqual([round(g) for g in gbps],
                                 [r["size"] for r in data.by_tool(rs, "memset")])


class Steps(unittest.TestCase):
    def test_steps_found_at_their_run(self):
        """every step of 10, 20 and 50 %, up and down, at runs 5, 12 and 20 of 25, found at its run, alone"""
        wrong = []
        for size in (0.10, 0.20, 0.50):
            for sign in (1, -1):
                for k in (5, 12, 20):
                    want = [("step", k, "regression" if sign > 0 else "improvement")]
                    seed = int(size * 100) + k + 1000 * (sign > 0)
                    for s in stepped(k, 1 + sign * size, seed):
                        got = changepoint.check([s])
                        if [(f["type"], f["index"], f["direction"]) for f in got] != want:
                            wrong.append((size * sign, k, s["metric"], brief(got)))
        self.assertEqual(wrong, [])

    def test_l1_finds_steps(self):
        """the L1 fit finds 20 % steps at their run too"""
        o = argparse.Namespace(method="l1")
        for k in (5, 12, 20):
            for s in stepped(k, 1.2, seed=k):
                self.assertEqual([(f["type"], f["index"]) for f in changepoint.check([s], o)],
                                 [("step", k)], s["metric"])

    def test_finding_fields(self):
        """a finding has the spec's fields: size, p, medians, run and commit of the first run after"""
        s = stepped(12, 1.5, seed=7)[0]
        f, = changepoint.check([s])
        self.assertEqual(set(f), FIELDS)
        pt = s["points"][12]
        self.assertEqual((f["run"], f["commit"], f["end_index"]), (pt["run"], pt["commit"], 12))
        self.assertAlmostEqual(f["change"], f["after"] / f["before"] - 1)
        self.assertAlmostEqual(f["change"], 0.5, delta=0.05)
        self.assertLess(f["p"], 1e-6)
        self.assertAlmostEqual(f["confidence"], 1 - f["p"])
        self.assertFalse(f["new"])
        json.dumps(f)

    def test_higher_is_better(self):
        """on a metric where higher is better a step up is an improvement, down a regression"""
        for factor, want in ((1.3, "improvement"), (0.7, "regression")):
            s = stepped(12, factor, seed=3)[0]
            s["better"] = "higher"
            self.assertEqual([f["direction"] for f in changepoint.check([s])], [want])

    def test_min_change(self):
        """a step under --min-change is not reported"""
        s = stepped(12, 1.2, seed=4)[0]
        self.assertEqual(len(changepoint.check([s], argparse.Namespace(min_change=0.15))), 1)
        self.assertEqual(changepoint.check([s], argparse.Namespace(min_change=0.25)), [])

    def test_new(self):
        """a step followed by the two newest runs is new; one found before the newest run is not"""
        s = stepped(N - 2, 1.5, seed=5)[0]
        f, = changepoint.check([s])
        self.assertEqual((f["index"], f["new"]), (N - 2, True))
        s["points"].append(dict(s["points"][-1], run=N + 1, seq=N + 1))
        f, = changepoint.check([s])
        self.assertEqual((f["index"], f["new"]), (N - 2, False))
        self.assertTrue(changepoint.check([s], argparse.Namespace(new=2))[0]["new"])


class Drift(unittest.TestCase):
    def test_drift_found(self):
        """a 2 % per run drift over ten runs (the last ten, or runs 8-17) is found as a drift, alone"""
        wrong = []
        for k, rate in ((N - 10, 1.02), (8, 1.02), (N - 10, 1 / 1.02)):
            scale = {m: series.drift(N, k, rate) for m in QUIET}
            for s in series.make(N, k, base=BASE, names=QUIET, scale=scale):
                got = changepoint.check([s])
                ok = [f for f in got if f["type"] == "drift" and k - 5 <= f["index"] <= k and
                      f["end_index"] >= k + 8 and
                      f["direction"] == ("regression" if rate > 1 else "improvement")]
                if len(got) != 1 or not ok or ok[0]["new"] != (k == N - 10):
                    wrong.append((k, rate, s["metric"], brief(got)))
        self.assertEqual(wrong, [])

    def test_step_is_no_drift(self):
        """a step is reported as a step, not as a drift around it"""
        s = stepped(15, 1.3, seed=2)[0]
        self.assertEqual([f["type"] for f in changepoint.check([s])], ["step"])


class Null(unittest.TestCase):
    def test_no_finding_on_resampled_runs(self):
        """nothing found on 25 resampled runs of one build: every metric of the real run and its heaplab/upstream ratios, 3 seeds"""
        for seed in (1, 2, 3):
            ss = series.make(N, seed, base=BASE, ratios=True)
            self.assertGreater(len(ss), 300)
            self.assertEqual(brief(changepoint.check(ss)), [], f"seed {seed}")

    def test_no_finding_on_repeated_boots(self):
        """nothing found on real boots of one build (fixtures/history/repeat-{host,icount}-*.json, tests/history/make-repeats) put through the store: every time, ratio and GB/s series, either clock"""
        for clock, pattern in series.REPEATS.items():
            paths, ss = series.repeat_series(pattern)
            self.assertGreaterEqual(len(paths), 10, f"{clock}: a drift window needs 10 runs")
            # one machine class and kernel: every series holds every boot
            self.assertEqual({len(s["points"]) for s in ss}, {len(paths)}, clock)
            self.assertEqual({s["kind"] for s in ss}, {"time", "ratio", "gbps"}, clock)
            self.assertEqual(brief(changepoint.check(ss)), [], clock)
            sd, = changepoint.spread(ss).values()
            if clock == "host":
                self.assertGreater(sd, 0.05)
            else:
                self.assertLess(sd, 0.005)
            if clock == "icount":
                # where runs repeat, a 10 % step from the middle run is found there
                k = len(paths) // 2
                s = next(s for s in ss if s["metric"] == "memset size=65536 time")
                s = dict(s, points=[dict(p, value=p["value"] * (1.1 if i >= k else 1))
                                    for i, p in enumerate(s["points"])])
                self.assertEqual([(f["type"], f["index"]) for f in changepoint.check([s])],
                                 [("step", k)])


class Options(unittest.TestCase):
    def test_gate(self):
        """a finding fails a check within alpha over the series checked (--gate family) or alpha (series)"""
        ss = stepped(12, 1.2, 1)
        short = [dict(ss[0], points=ss[0]["points"][:3])]
        self.assertEqual(changepoint.gate_alpha(ss + short), 1e-4 / len(ss))
        self.assertEqual(changepoint.gate_alpha(ss + short, {"gate": "series"}), 1e-4)
        found = changepoint.check(ss)
        self.assertTrue(found)
        for f in found:
            self.assertEqual(f["gate"], f["p"] <= 1e-4 / len(ss))
        loose = changepoint.check(ss, {"gate": "series", "alpha": 0.5})
        self.assertTrue(all(f["gate"] for f in loose))
        with self.assertRaises(data.BadInput):
            changepoint.options({"gate": "none"})

    def test_too_short(self):
        """a series too short for a step or a drift is named, and check() passes it by"""
        s = stepped(2, 2.0, 1, QUIET[:1])[0]
        short = dict(s, points=s["points"][:4])
        self.assertEqual(changepoint.too_short(short), "4 runs: a step needs 5, a drift 10")
        self.assertEqual(changepoint.check([short]), [])
        mid = dict(s, points=s["points"][:7])
        self.assertEqual(changepoint.too_short(mid), "7 runs: steps checked, a drift needs 10")
        self.assertEqual([f["index"] for f in changepoint.check([mid])], [2])
        self.assertIsNone(changepoint.too_short(s))

    def test_defaults_and_bad_options(self):
        """defaults() are the documented ones; a missing option takes its default; a bad one is refused"""
        d = changepoint.defaults()
        self.assertEqual((d.method, d.min_change, d.alpha, d.window, d.drift, d.new),
                         ("edivisive", 0.05, 0.0001, 10, 0.10, 1))
        self.assertEqual(changepoint.options(argparse.Namespace(alpha=None, other=1)).alpha, 0.0001)
        for bad in ({"method": "cusum"}, {"alpha": 0}, {"window": 2}):
            with self.assertRaises(changepoint.data.BadInput):
                changepoint.options(argparse.Namespace(**bad))

    def test_deterministic(self):
        """the same series give the same findings, every time and by both methods"""
        ss = stepped(12, 1.1, seed=9) + series.make(N, 9, base=BASE, names=QUIET)
        for method in changepoint.METHODS:
            o = argparse.Namespace(method=method)
            once = json.dumps(changepoint.check(ss, o))
            self.assertEqual(once, json.dumps(changepoint.check(ss, o)))

    def test_values_missing_or_zero(self):
        """points without a value are passed over (indices stay the series'); counts of 0 stay linear"""
        s = stepped(12, 1.5, seed=6)[0]
        s["points"][3]["value"] = None
        self.assertEqual([f["index"] for f in changepoint.check([s])], [12])
        zeros = {"key": "k", "metric": "errors", "better": "lower",
                 "points": [{"run": i, "commit": str(i), "value": 0.0 if i < 12 else 3.0 + i % 2}
                            for i in range(N)]}
        f, = changepoint.check([zeros])
        self.assertEqual((f["index"], f["direction"], f["change"]),
                         (12, "regression", float("inf")))


if __name__ == "__main__":
    unittest.main()
