# SPDX-License-Identifier: GPL-2.0
"""Test series for change-point detection, built from a real run set.

fixtures/history/bench-6.12.json is a real `make bench` (6.12 perf kernel,
two-vCPU TCG, host clock, one boot, raw samples), cut to the tools whose
documents fit the fixture (alloc, concurrency, memset, mmap, pressure,
zero; perf counters dropped): 254 metrics.

A synthetic run draws every metric's raw samples again with replacement
(bootstrap, seeded), so its p50 wobbles as much as that metric's own
samples allow, and multiplies the whole run by a boot factor: lognormal,
sigma BOOT_SIGMA, the same for every metric of the run. Chosen runs are
then scaled by known factors (step(), drift()). The output is the series
dicts of history.series(), so the detection tests need no database.

BOOT_SIGMA (1 %) is a margin for the detector's own tests, not the noise of
real runs. Real repeated boots of one build (fixtures/history/
repeat-host-*.json and repeat-icount-*.json, from tests/history/
make-repeats; measure_changepoint.py --repeats) measured it: under icount
the median metric repeats exactly (90th percentile 2.2 %); under the host
clock, on a 2-core host with other builds running, a whole boot moved by
0.82 to 1.10 and the median metric by 27 % (sd of the log), its
heaplab/upstream ratio by 31 %: there no detector sees a 50 % step. The
samples resampled here are host-clock ones, so a synthetic run already
wobbles more than an icount run does; measure_changepoint.py --boot-sigma
0.03 shows what 3 % costs.
"""
import copy
import glob
import hashlib
import math
import os
import zlib

import numpy as np

from common import FIX
from heaplab_reports import data

HIST = os.path.join(FIX, "history")
BENCH = os.path.join(HIST, "bench-6.12.json")
REPEATS = {clock: os.path.join(HIST, f"repeat-{clock}-*.json") for clock in ("host", "icount")}
BOOT_SIGMA = 0.01


def load(path=BENCH):
    """{metric: raw samples} of a run set's metrics that have raw samples,
    and a label of its machine and kernel."""
    rs = data.load(path)
    m = data.machine(rs)
    label = f"{m.get('kernel')} ({m.get('cpus')} CPUs, {os.path.basename(path)})"
    return {name: np.asarray(d["samples_ns"], dtype=float) for name, d in data.metric_items(rs)
            if d.get("samples_ns")}, label


def step(n, k, factor):
    """Run factors of a step: runs k.. scaled by factor."""
    f = np.ones(n)
    f[k:] = factor
    return f


def drift(n, k, rate=1.02, length=10):
    """Run factors of a drift: run k + i (i < length) scaled by rate**(i + 1),
    the runs after it by rate**length."""
    f = np.ones(n)
    f[k:k + length] = rate ** np.arange(1, len(f[k:k + length]) + 1)
    f[k + length:] = rate ** length
    return f


def twin(name):
    """The upstream metric a heaplab one is divided by, or None."""
    return name.replace("/dev/heaplab/", "/dev/dma_heap/") if "/dev/heaplab/" in name else None


def _series(metric, label, kind, unit, better, values, p99, n, samples):
    key = hashlib.sha1(f"{metric}|synthetic|{label}".encode()).hexdigest()[:10]
    pts = [{"run": r + 1, "seq": r + 1, "commit": hashlib.sha1(b"%d" % r).hexdigest()[:7],
            "added": f"2026-12-{1 + r // 24:02d}T{r % 24:02d}:00:00Z", "value": float(values[r]),
            "p99": None if p99 is None else float(p99[r]), "n": n,
            "samples": None if samples is None else samples[r], "report": None}
           for r in range(len(values))]
    return {"key": key, "metric": metric, "kind": kind, "unit": unit, "better": better,
            "machine": "synthetic: resampled real samples", "kernel": label, "points": pts}


def boot_factors(n, seed, boot_sigma=BOOT_SIGMA):
    """Each run's boot factor: the whole run faster or slower."""
    return np.random.default_rng(seed).lognormal(0.0, boot_sigma, n)


def draw(samples, metric, seed, factors):
    """One row per run: @samples drawn again with replacement, times that
    run's factor. A metric's draws depend on the seed and its name only,
    not on what else is asked."""
    rng = np.random.default_rng([seed, zlib.crc32(metric.encode())])
    idx = rng.integers(0, len(samples), (len(factors), len(samples)))
    return samples[idx] * np.asarray(factors, dtype=float)[:, None]


def make(n=25, seed=0, scale=None, names=None, boot_sigma=BOOT_SIGMA, ratios=False, base=None):
    """Series of n synthetic runs: one per metric of `names` (default all),
    `scale` {metric: run factors} scaling that metric's samples run by run.
    ratios: also each heaplab metric over its upstream twin in the same run
    (kind "ratio"), where the boot factor cancels."""
    metrics, label = base or load()
    scale = scale or {}
    boot = boot_factors(n, seed, boot_sigma)
    names = sorted(names or metrics, key=data.natural_key)
    want = set(names) | {twin(m) for m in names if ratios and twin(m) in metrics}
    p50, out = {}, []
    for m in sorted(want, key=data.natural_key):
        s = metrics[m]
        runs = draw(s, m, seed, boot * scale.get(m, 1.0))
        p50[m] = np.median(runs, axis=1)
        if m in names:
            out.append(_series(m, label, "time", "ns", "lower", p50[m],
                               np.percentile(runs, 99, axis=1), len(s), runs))
    for m in names:
        if ratios and twin(m) in metrics:
            out.append(_series(m + " /upstream", label, "ratio", "x", "lower",
                               p50[m] / p50[twin(m)], None, None, None))
    return out


def summary(samples):
    """A heaplab-bench distribution of these samples (ns) as bench/stats.c
    writes it: nearest-rank percentiles, log2 histogram, the raw samples."""
    ns = np.rint(samples).astype(np.int64)
    v = np.sort(ns)
    n = len(v)

    def pct(p):
        return int(v[max(math.ceil(p / 100.0 * n), 1) - 1])

    hist = {}
    for x in v:
        low = 1 << max(int(x).bit_length() - 1, 0)
        hist[low] = hist.get(low, 0) + 1
    return {"n": n, "min_ns": int(v[0]), "p50_ns": pct(50), "p90_ns": pct(90), "p99_ns": pct(99),
            "p999_ns": pct(99.9), "max_ns": int(v[-1]), "mean_ns": float(v.mean()),
            "stddev_ns": float(v.std(ddof=1)) if n > 1 else 0.0,
            "log2_hist": sorted([k, c] for k, c in hist.items()), "samples_ns": ns.tolist()}


def runsets(n, seed=0, scale=None, path=BENCH, boot_sigma=BOOT_SIGMA, tools=None):
    """n run sets like the one at @path (heaplab-bench-set/1), the runs make()
    draws, as heaplab history add takes them: every distribution with raw
    samples drawn again (draw(), the same draws as make()'s) and summarized
    as the tool does; the rates of its case (GB/s, ops/s, ns per page, wall
    time) moved with the case's first distribution. tools: only these
    tools' runs (default all)."""
    base = data.load(path)
    base["runs"] = [r for r in base["runs"] if tools is None or r["tool"] in tools]
    scale = scale or {}
    boot = boot_factors(n, seed, boot_sigma)
    out = [copy.deepcopy(base) for _ in range(n)]
    for t, run in enumerate(base["runs"]):
        for c, r in enumerate(run["results"]):
            key = data.case_key(run["tool"], r)
            moved = None
            for k, d in r.items():
                if not (data.is_dist(d) and d.get("samples_ns")):
                    continue
                m = f"{key} {k}"
                rows = draw(np.asarray(d["samples_ns"], dtype=float), m, seed,
                            boot * scale.get(m, 1.0))
                for i in range(n):
                    out[i]["runs"][t]["results"][c][k] = summary(rows[i])
                if moved is None:
                    moved = [out[i]["runs"][t]["results"][c][k]["p50_ns"] / d["p50_ns"]
                             for i in range(n)]
            for i in range(n if moved else 0):
                case = out[i]["runs"][t]["results"][c]
                for k in ("p50_gbps", "worker_clear_gbps", "ops_per_s"):
                    if k in r:
                        case[k] = r[k] / moved[i]
                if "ns_per_page_p50" in r:
                    case["ns_per_page_p50"] = r["ns_per_page_p50"] * moved[i]
                if "wall_ns" in r:
                    case["wall_ns"] = int(round(r["wall_ns"] * moved[i]))
    return out


def repeat_series(pattern):
    """(paths, series): the real repeated boots of one build matching
    @pattern (fixtures/history/repeat-{host,icount}-*.json), put through
    the store as CI would add them, and its series (history.series())."""
    import tempfile
    from heaplab_reports import history
    paths = sorted(glob.glob(pattern), key=data.natural_key)
    with tempfile.TemporaryDirectory() as t:
        conn = history.open_db(os.path.join(t, "h.sqlite"), create=True)
        history.add(conn, [it for p in paths for it in history.gather([p])], {})
        ss = history.series(conn)
        conn.close()
    return paths, ss


def noise(samples, draws=200, seed=0):
    """The sd of the log p50 of a bootstrap draw of these samples: how much a
    run's value of this metric wobbles from its samples alone."""
    idx = np.random.default_rng(seed).integers(0, len(samples), (draws, len(samples)))
    return float(np.std(np.log(np.median(samples[idx], axis=1))))
