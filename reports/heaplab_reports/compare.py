# SPDX-License-Identifier: GPL-2.0
"""heaplab compare OLD NEW: per metric, the ratio of medians, a one-sided
Mann-Whitney U test, and a threshold. A regression is a metric that is
both significantly slower (p < alpha) and slower beyond the threshold:
significance alone flags tiny real shifts, a ratio alone flags noise."""
import numpy as np
from scipy.stats import mannwhitneyu

from . import data

MIN_SAMPLES = 5


def samples(d):
    s = d.get("samples_ns")
    return np.asarray(s, dtype=float) if s is not None and len(s) else None


def pooled(runsets):
    """{metric: dist} over one side's runs. A metric measured in several
    runs (repeats taken in turn with the other side's, so that a machine
    whose pace drifts slows both sides alike) pools their raw samples; its
    p50 is then the pooled median. Without samples in every run it keeps
    the median of the runs' p50s and cannot be tested."""
    seen = {}
    for rs in runsets:
        for name, d in data.metric_items(rs):
            seen.setdefault(name, []).append(d)
    out = {}
    for name, ds in seen.items():
        if len(ds) == 1:
            out[name] = ds[0]
            continue
        s = [samples(d) for d in ds]
        if all(x is not None for x in s):
            s = np.concatenate(s)
            out[name] = {"n": len(s), "p50_ns": float(np.median(s)), "samples_ns": s}
        else:
            out[name] = {"n": sum(d["n"] for d in ds),
                         "p50_ns": float(np.median([d["p50_ns"] for d in ds]))}
    return out


def compare(old, new, threshold, alpha):
    """old, new: a run set each, or a list of run sets (repeats of a side)."""
    mo = pooled(old if isinstance(old, list) else [old])
    mn = pooled(new if isinstance(new, list) else [new])
    rows = []
    for name in sorted(set(mo) & set(mn), key=data.natural_key):
        a, b = mo[name], mn[name]
        ratio = b["p50_ns"] / a["p50_ns"] if a["p50_ns"] else float("inf")
        sa, sb = samples(a), samples(b)
        p_worse = p_better = None
        if sa is not None and sb is not None and len(sa) >= MIN_SAMPLES and len(sb) >= MIN_SAMPLES:
            p_worse = mannwhitneyu(sb, sa, alternative="greater").pvalue
            p_better = mannwhitneyu(sb, sa, alternative="less").pvalue
        if p_worse is None:
            verdict = "untested"	# no raw samples (run without --raw)
        elif p_worse < alpha and ratio > 1 + threshold:
            verdict = "REGRESSION"
        elif p_better < alpha and ratio < 1 / (1 + threshold):
            verdict = "improved"
        else:
            verdict = "same"
        rows.append({"metric": name, "old_p50_ns": a["p50_ns"], "new_p50_ns": b["p50_ns"],
                     "ratio": ratio, "p_worse": p_worse, "verdict": verdict})
    only_old = sorted(set(mo) - set(mn))
    only_new = sorted(set(mn) - set(mo))
    return rows, only_old, only_new


def fmt_ns(ns):
    for unit, div in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g}{unit}"
    return f"{ns:.0f}ns"


def print_table(rows, only_old, only_new, threshold, alpha, out):
    w = max([len(r["metric"]) for r in rows] + [6])
    print(f"{'metric':{w}} {'old p50':>9} {'new p50':>9} {'ratio':>7} {'p(worse)':>9}  verdict",
          file=out)
    for r in rows:
        p = "-" if r["p_worse"] is None else f"{r['p_worse']:.2g}"
        print(f"{r['metric']:{w}} {fmt_ns(r['old_p50_ns']):>9} {fmt_ns(r['new_p50_ns']):>9}"
              f" {r['ratio']:>7.3f} {p:>9}  {r['verdict']}", file=out)
    for m in only_old:
        print(f"# only in OLD: {m}", file=out)
    for m in only_new:
        print(f"# only in NEW: {m}", file=out)
    reg = [r for r in rows if r["verdict"] == "REGRESSION"]
    spread = [abs(np.log(r["ratio"])) for r in rows if r["ratio"] > 0 and np.isfinite(r["ratio"])]
    print(f"# {len(rows)} metrics compared; threshold {threshold * 100:.0f}%, alpha {alpha};"
          f" {len(reg)} regressions, {sum(r['verdict'] == 'improved' for r in rows)} improved,"
          f" {sum(r['verdict'] == 'untested' for r in rows)} untested", file=out)
    if spread:
        print(f"# spread of p50 ratios: median {np.expm1(np.median(spread)) * 100:.1f}%,"
              f" 90th percentile {np.expm1(np.percentile(spread, 90)) * 100:.1f}%,"
              f" max {np.expm1(max(spread)) * 100:.1f}%", file=out)
    return reg


def plot(rows, threshold, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["ratio"])
    fig, ax = plt.subplots(figsize=(10, max(3, 0.18 * len(rows) + 1)))
    colors = ["tab:red" if r["verdict"] == "REGRESSION" else
              "tab:green" if r["verdict"] == "improved" else "tab:gray" for r in rows]
    y = np.arange(len(rows))
    ax.barh(y, [r["ratio"] for r in rows], color=colors, left=0)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.axvline(1 + threshold, color="tab:red", ls="--", lw=0.8, label=f"+{threshold * 100:.0f}% threshold")
    ax.set_yticks(y)
    ax.set_yticklabels([r["metric"] for r in rows], fontsize=6)
    ax.set_xlabel("new p50 / old p50 (red: significant regression)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
