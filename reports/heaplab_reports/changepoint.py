# SPDX-License-Identifier: GPL-2.0
"""Change points in a metric's history: steps and slow drifts.

A series is one metric on one machine class and kernel, one value per run
(history.series()). The unit of replication is the run: under TCG a whole
boot runs faster or slower, so the tests compare per-run values, never the
pooled raw samples of two stretches of runs (those call every boot's wobble
significant). Values are compared as logs: a change is a factor.

Steps: the candidate change points come from e-divisive means (Matteson and
James; each split tested by a t-test in place of the permutation test, as
MongoDB's and Apache Otava's versions do, so the answer is deterministic)
or from an L1 piecewise-constant fit whose number of steps an information
criterion picks (as asv does). Either way a step stands only if the runs
between its neighbours differ by `min_change` and by Student's t-test at
`alpha`, Bonferroni-corrected for the splits it was picked among, leaving
out any one run (split_p()).
Drift: over `window` runs a Theil-Sen slope of the logs whose total change
reaches `drift`, whose confidence interval excludes 0, significant at
`alpha`, and which keeps its slope on both sides of the window's best step
(else the step explains it).
"""
import argparse
import math

import numpy as np
from scipy import stats

from . import data

# --method, --min-change, --alpha, --window, --drift, --new, --gate (docs/history.md)
DEFAULTS = {"method": "edivisive", "min_change": 0.05, "alpha": 0.0001, "window": 10,
            "drift": 0.10, "new": 1, "gate": "family"}
METHODS = ("edivisive", "l1")
GATES = ("family", "series")
MIN_SEG = 2     # runs on each side of a step
MIN_POINTS = 2 * MIN_SEG + 1  # runs a step needs (3 before 2, so that none hinges on one run)


def defaults():
    return argparse.Namespace(**DEFAULTS)


def options(opts=None):
    """opts with every missing or None attribute at its default, checked."""
    o = dict(DEFAULTS)
    given = opts if isinstance(opts, dict) else vars(opts or argparse.Namespace())
    o.update({k: v for k, v in given.items() if k in DEFAULTS and v is not None})
    o = argparse.Namespace(**o)
    if o.method not in METHODS:
        raise data.BadInput(f"--method: {o.method}: want one of {', '.join(METHODS)}")
    if o.gate not in GATES:
        raise data.BadInput(f"--gate: {o.gate}: want one of {', '.join(GATES)}")
    if not 0 < o.alpha < 1 or o.min_change < 0 or o.drift <= 0 or o.window < 3 or o.new < 0:
        raise data.BadInput("--alpha must be in (0, 1), --min-change >= 0, --drift > 0,"
                            " --window >= 3, --new >= 0")
    return o


def too_short(series, opts=None):
    """Why a series cannot be checked in full, or None: fewer runs than a step
    or a drift window needs. check() skips what this names."""
    o, n = options(opts), len(_usable(series["points"]))
    if n < MIN_POINTS:
        return f"{n} runs: a step needs {MIN_POINTS}, a drift {o.window}"
    if n < o.window:
        return f"{n} runs: steps checked, a drift needs {o.window}"
    return None


def ttest(a, b):
    """Two-sided p of Student's t-test of a difference in means, the variance
    pooled: what is tested is "no change at all", under which both sides
    share one variance. (Welch's test, built for unequal variances, leaves a
    side of 2 to 5 runs so few degrees of freedom that a step of 20 % five
    runs before the newest one did not pass.)"""
    n1, n2 = len(a), len(b)
    d = float(np.mean(b) - np.mean(a))
    df = n1 + n2 - 2
    ss = (float(np.var(a)) * n1 + float(np.var(b)) * n2)
    se2 = ss / df * (1 / n1 + 1 / n2) if df > 0 else 0.0
    if se2 <= 0:
        return 0.0 if d else 1.0
    return float(2 * stats.t.sf(abs(d) / math.sqrt(se2), df))


def split_p(a, b, m=1):
    """p of a step between runs a and runs b: the t-test's times m, the
    splits it was chosen among (Bonferroni), and the worst of that over
    leaving out any one run: a run's p50 has heavy tails (it jumps when the
    run's samples are bimodal), and no step may hinge on one run."""
    p = max([ttest(a, b)] + [ttest(np.delete(a, i), b) for i in range(len(a))] +
            [ttest(a, np.delete(b, i)) for i in range(len(b))])
    return min(1.0, p * m)


def _splits(s, e):
    """First points a segment [s, e) may be split at."""
    return np.arange(s + MIN_SEG, e - MIN_SEG + 1)


def _q(y, t):
    """E-divisive statistic (exponent 1) of splitting y before each of t,
    from prefix sums of the distance matrix: O(len(y)^2)."""
    n = len(y)
    P = np.zeros((n + 1, n + 1))
    P[1:, 1:] = np.abs(y[:, None] - y[None, :]).cumsum(0).cumsum(1)
    m, k = t, n - t
    left = P[t, t] / 2
    right = (P[n, n] - P[t, n] - P[n, t] + P[t, t]) / 2
    between = P[t, n] - P[t, t]
    pairs = lambda c: np.maximum(c * (c - 1) / 2, 1)  # noqa: E731 (one run: no pairs, sum 0)
    return m * k / n * (2 * between / (m * k) - left / pairs(m) - right / pairs(k))


def edivisive(y, alpha):
    """Change points by recursive bisection: split each segment where the
    e-divisive statistic peaks, keep the split if a t-test of its two sides
    has p < alpha / the number of splits tried, and split both sides again."""
    n, cps = len(y), []

    def split(s, e):
        t = _splits(s, e)
        if not len(t):
            return
        tau = int(t[np.argmax(_q(y[s:e], t - s))])
        if ttest(y[s:tau], y[tau:e]) * len(t) < alpha:
            cps.append(tau)
            split(s, tau)
            split(tau, e)
    split(0, n)
    return sorted(cps)


def l1fit(y):
    """Change points of the L1 piecewise-constant fit (segment medians) with
    the number of segments k minimising asv's information criterion
    4 ln(n)/n * (k - 1) + ln(sum of absolute residuals): each step must cut
    the residual by a factor, one that shrinks as the series grows. Exact,
    by dynamic programming over every k (O(k n^2))."""
    n = len(y)
    cost = np.full((n + 1, n + 1), np.inf)  # cost[i, j]: one segment y[i:j]
    for i in range(n):  # every segment from i at once: row L holds y[i:i+L+1]
        t = np.where(np.tri(n - i, dtype=bool), y[i:], np.nan)
        cost[i, i + 1:] = np.nansum(np.abs(t - np.nanmedian(t, 1)[:, None]), 1)
    for i in range(n + 1):  # no segment under MIN_SEG runs
        cost[i, i + 1:i + MIN_SEG] = np.inf
    kmax = max(1, n // MIN_SEG)
    F = np.full((kmax + 1, n + 1), np.inf)
    arg = np.zeros((kmax + 1, n + 1), dtype=int)
    F[1] = cost[0]
    for k in range(2, kmax + 1):
        tot = F[k - 1][:, None] + cost  # [i, j]: k-1 segments to i, one i..j
        arg[k] = np.argmin(tot, 0)
        F[k] = tot[arg[k], np.arange(n + 1)]
    beta = 4 * math.log(n) / n
    ic = [beta * (k - 1) + math.log(F[k, n] + 1e-12) if np.isfinite(F[k, n]) else np.inf
          for k in range(1, kmax + 1)]
    k, j, cps = int(np.argmin(ic)) + 1, n, []
    while k > 1:
        j = int(arg[k, j])
        cps.append(j)
        k -= 1
    return sorted(cps)


def _change(before, after):
    if before:
        return after / before - 1
    return 0.0 if after == before else math.copysign(math.inf, after - before)


def steps(y, v, cps, alpha, min_change):
    """The change points that stand: each tested against its neighbours; the
    weakest failing one is dropped (its two segments merge) until none fails."""
    cps = list(cps)
    while True:
        b = [0] + cps + [len(y)]
        out = []
        for i, c in enumerate(cps):
            p = split_p(y[b[i]:c], y[c:b[i + 2]], len(_splits(b[i], b[i + 2])))
            before, after = float(np.median(v[b[i]:c])), float(np.median(v[c:b[i + 2]]))
            out.append({"index": c, "p": p, "before": before, "after": after,
                        "change": _change(before, after)})
        bad = [s for s in out if s["p"] >= alpha or abs(s["change"]) < min_change]
        if not bad:
            return out
        worst = max(bad, key=lambda s: (s["p"] >= alpha,
                                        s["p"] if s["p"] >= alpha else -abs(s["change"])))
        cps.remove(worst["index"])


def _step_explains(w, slope):
    """Whether the best single step in w (two medians) explains its slope:
    the slope left within its two sides (Theil-Sen over the pairs on one
    side) is under half the window's. A ramp keeps its slope on both sides
    of any split; a step leaves none."""
    t = min(range(MIN_SEG, len(w) - MIN_SEG + 1),
            key=lambda t: np.abs(w[:t] - np.median(w[:t])).sum() + np.abs(w[t:] - np.median(w[t:])).sum())
    i, j = np.triu_indices(len(w), 1)
    same = (j < t) | (i >= t)
    within = np.median((w[j[same]] - w[i[same]]) / (j[same] - i[same]))
    return within / slope < 0.5


def trend_p(w):
    """Two-sided p of the least-squares slope of w, the worst over leaving
    out any one run (as for a step: no drift may hinge on one run)."""
    x = np.arange(len(w))
    fits = [stats.linregress(x, w)] + [stats.linregress(np.delete(x, i), np.delete(w, i))
                                       for i in range(len(w))]
    sign = fits[0].slope > 0
    return max(f.pvalue if (f.slope > 0) == sign else 1.0 for f in fits)


def drifts(y, window, drift, alpha, logs=True):
    """Windows of `window` runs drifting by `drift` or more in total (Theil-Sen
    slope of the logs), with no step explaining it, its 99 % interval
    excluding 0 and the least-squares slope's p under alpha (trend_p()).
    The interval is Kendall's, and at 10 runs a narrower one excludes 0
    only for a ramp without a run out of order: at 1 - alpha a 2 % per
    run drift went unseen in half the series. Overlapping windows of one
    sign are one drift, from the start of the steepest to the end of the
    last, its size from a Theil-Sen line over those runs."""
    n, hits = len(y), []
    if n < window:
        return []
    # Theil-Sen slopes of every window at once (median of pairwise slopes)
    # so that only the windows that move by `drift` are tested.
    i, j = np.triu_indices(window, 1)
    w = np.lib.stride_tricks.sliding_window_view(y, window)
    rough = np.median((w[:, j] - w[:, i]) / (j - i), axis=1)
    for s in np.flatnonzero(np.abs(np.expm1(rough * (window - 1))) >= drift):
        slope, icpt, lo, hi = stats.theilslopes(w[s], np.arange(window), 0.99)
        if abs(math.expm1(slope * (window - 1))) >= drift and lo * hi > 0 and \
                not _step_explains(w[s], slope) and trend_p(w[s]) < alpha:
            if hits and s <= hits[-1][1] and (slope > 0) == (hits[-1][2] > 0):
                hits[-1][1] = s + window - 1
                if abs(slope) > abs(hits[-1][2]):
                    hits[-1][0], hits[-1][2] = s, slope
            else:
                hits.append([s, s + window - 1, slope])
    out = []
    for a, b, _ in hits:
        x = np.arange(b - a + 1)
        slope, icpt = stats.theilslopes(y[a:b + 1], x)[:2]
        ends = [icpt, icpt + slope * (b - a)]  # the line's ends
        before, after = np.exp(ends) if logs else ends
        out.append({"type": "drift", "index": a, "end_index": b, "before": float(before),
                    "after": float(after), "change": _change(float(before), float(after)),
                    "p": trend_p(y[a:b + 1])})
    return out


def _usable(points):
    """Indices of the points with a finite value."""
    return [i for i, p in enumerate(points)
            if p.get("value") is not None and math.isfinite(p["value"])]


def _detect(y, v, logs, o):
    """Steps and drifts of one series' usable values v (y: what is tested)."""
    cps = edivisive(y, o.alpha) if o.method == "edivisive" else l1fit(y)
    found = [dict(s, type="step", end_index=s["index"])
             for s in steps(y, v, cps, o.alpha, o.min_change)]
    for d in drifts(y, o.window, o.drift, o.alpha, logs):
        # The ramp's own steps are the drift, not steps of their own.
        found = [f for f in found if not d["index"] <= f["index"] <= d["end_index"]] + [d]
    return found


def series_findings(series, opts=None):
    o = options(opts)
    pts = series["points"]
    keep = _usable(pts)
    n = len(keep)
    if n < MIN_POINTS:
        return []
    v = np.array([pts[i]["value"] for i in keep], dtype=float)
    logs = bool((v > 0).all())  # a change is a factor (counts of 0 stay linear)
    y = np.log(v) if logs else v
    found = _detect(y, v, logs, o)
    # New: involving the newest o.new runs. A drift whose window reaches them;
    # a step not found without them (it shows only once MIN_SEG runs follow
    # it, a small one after more, so "its first run is the newest" would
    # never hold).
    short = n - o.new
    old = _detect(y[:short], v[:short], logs, o) if o.new and short >= MIN_POINTS and \
        any(f["type"] == "step" for f in found) else []
    up_is_bad = series.get("better", "lower") == "lower"
    out = []
    for f in sorted(found, key=lambda f: (f["index"], f["type"])):
        p = pts[keep[f["index"]]]
        new = f["end_index"] >= short if f["type"] == "drift" else bool(o.new) and not any(
            g["type"] == "step" and abs(g["index"] - f["index"]) <= 1 and
            (g["change"] > 0) == (f["change"] > 0) for g in old)
        out.append({"key": series.get("key"), "metric": series.get("metric"),
                    "machine": series.get("machine"), "kernel": series.get("kernel"),
                    "type": f["type"],
                    "direction": "regression" if (f["change"] > 0) == up_is_bad else "improvement",
                    "index": keep[f["index"]], "run": p.get("run"), "commit": p.get("commit"),
                    "end_index": keep[f["end_index"]], "change": float(f["change"]),
                    "p": f["p"], "confidence": 1 - f["p"],
                    "before": f["before"], "after": f["after"],
                    "new": new})
    return out


def gate_alpha(series_list, opts=None):
    """The p a finding needs to fail a check (its "gate"): alpha, or with
    --gate family (the default) alpha over the series checked (Bonferroni),
    so that a check over hundreds of series fails on no change about as
    rarely as one over a single series would."""
    o = options(opts)
    n = sum(1 for s in series_list if len(s["points"]) >= MIN_POINTS)
    return o.alpha / max(n, 1) if o.gate == "family" else o.alpha


def check(series_list, opts=None):
    """Findings of every series (too_short() names the ones left out), in
    the order of series_list, each series' by run; "gate": whether its p
    is within gate_alpha()."""
    o = options(opts)
    gate = gate_alpha(series_list, o)
    return [dict(f, gate=f["p"] <= gate) for s in series_list for f in series_findings(s, o)]


def spread(series_list, least=5):
    """{(machine, kernel): the median over its series of at least @least runs
    of the sd of log value}: how much that machine's runs move, which a
    step must stand out from."""
    per = {}
    for s in series_list:
        v = [p["value"] for p in s["points"] if p["value"] and p["value"] > 0]
        if len(v) >= least:
            per.setdefault((s["machine"], s["kernel"]), []).append(float(np.std(np.log(v), ddof=1)))
    return {k: float(np.median(v)) for k, v in per.items()}

