# SPDX-License-Identifier: GPL-2.0
"""heaplab history report: a static page over the history's series.

index.html: the open regressions (newest first), every run, then the series
grouped by machine class and kernel (only those are comparable), each with
its plot under plots/KEY.png: the value per run (p50 with a band to p99 for
times), each step a vertical line named by the commit after it, each drift
window shaded; red a regression, green an improvement.

A run's own report is linked relative to the page when it lies under the
page directory's parent (the page and the reports move together), else by
an absolute file:// URL; a report no longer there is named "(missing)",
never linked. A relative report path is taken from the current directory."""
import datetime
import html
import os
import re
import urllib.parse

from . import data
from .tables import STYLE

import matplotlib
matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

REG, IMP = "#c62828", "#2e7d32"
# A later improvement within this of the regression's old level fixes it.
RECOVERED = 0.05


def esc(x):
    return html.escape(str(x), quote=True)


class Html(str):
    """A table cell already in HTML (a link); any other cell is escaped."""


def table(head, rows, cls=""):
    def cell(c):
        return c if isinstance(c, Html) else esc(c)
    h = "".join(f"<th>{esc(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table{f' class={esc(cls)!r}' if cls else ''}><tr>{h}</tr>{body}</table>"


def href(target, outdir):
    """The link to a report from outdir/index.html, or None if it is gone."""
    if not target:
        return None
    p = os.path.abspath(target)
    if os.path.isdir(p):
        p = os.path.join(p, "index.html")
    if not os.path.isfile(p):
        return None
    out = os.path.abspath(outdir)
    if os.path.commonpath([p, os.path.dirname(out)]) == os.path.dirname(out):
        return urllib.parse.quote(os.path.relpath(p, out))
    return "file://" + urllib.parse.quote(p)


def report_cell(target, outdir, text="report"):
    if not target:
        return "-"
    h = href(target, outdir)
    if h is None:
        return f"{target} (missing)"
    return Html(f'<a href="{esc(h)}">{esc(text)}</a>')


def fmt(v, unit):
    if v is None:
        return "-"
    return f"{v:.4g} {unit}" if unit != "x" else f"x{v:.3f}"


def pct(c):
    return f"{c * 100:+.1f} %"


def seq_of(s, i):
    pts = s["points"]
    return pts[i]["seq"] if 0 <= i < len(pts) else None


def open_regressions(findings):
    """Regressions not undone by a later improvement of the same series
    that brought it back to within RECOVERED of its level before."""
    out = []
    for f in findings:
        if f.get("direction") != "regression":
            continue
        up = 1 if f["change"] >= 0 else -1
        fixed = any(g["key"] == f["key"] and g.get("direction") == "improvement"
                    and g["index"] > f["index"]
                    and (g["after"] - f["before"]) * up <= RECOVERED * abs(f["before"])
                    for g in findings)
        if not fixed:
            out.append(f)
    return out


def plot(s, fs, path):
    pts = s["points"]
    x = [p["seq"] for p in pts]
    y = [p["value"] for p in pts]
    fig = Figure(figsize=(8, 2.6), dpi=80)
    ax = fig.add_subplot()
    if s["kind"] == "time" and any(p.get("p99") is not None for p in pts):
        top = [p["p99"] if p.get("p99") is not None else p["value"] for p in pts]
        ax.fill_between(x, y, top, color="#1f77b4", alpha=0.15, label="to p99")
    ax.plot(x, y, marker="o", ms=3, color="#1f77b4", label="p50" if s["kind"] == "time" else "value")
    for f in fs:
        c = REG if f.get("direction") == "regression" else IMP
        i, j = f.get("index", -1), f.get("end_index", f.get("index", -1))
        if not 0 <= i < len(pts):
            continue
        if f.get("type") == "drift":
            ax.axvspan(x[i], x[min(max(j, i), len(pts) - 1)], color=c, alpha=0.12)
            at = x[i]
        else:   # between the last run before the step and the first after
            at = (x[i - 1] + x[i]) / 2 if i else x[i]
            ax.axvline(at, color=c, lw=1.2)
        ax.text(at, 0.98, f" {f.get('commit', '?')} {pct(f['change'])}", color=c, fontsize=7,
                rotation=90, va="top", ha="right", transform=ax.get_xaxis_transform())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("run (seq)")
    ax.set_ylabel(s["unit"])
    ax.grid(True, alpha=0.3)
    if len(x) == 1:
        ax.set_xlim(x[0] - 1, x[0] + 1)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, format="png")


def write(series_list, findings, runs, outdir):
    """index.html and plots/KEY.png in outdir; returns the plot files written."""
    os.makedirs(os.path.join(outdir, "plots"), exist_ok=True)
    for s in series_list:   # a key names a file and an anchor
        if not re.fullmatch(r"[A-Za-z0-9_-]+", str(s.get("key"))):
            raise data.BadInput(f"series {s.get('metric')!r}: key {s.get('key')!r} is not a file name")
    byk = {s["key"]: s for s in series_list}
    fs = {}
    for f in findings:
        fs.setdefault(f["key"], []).append(f)
    made = []
    for s in series_list:
        if s["points"]:
            name = os.path.join("plots", s["key"] + ".png")
            plot(s, fs.get(s["key"], []), os.path.join(outdir, name))
            made.append(name)
    run_report = {r["run"]: r.get("report") for r in runs}
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    groups = {}
    for s in series_list:
        groups.setdefault((s["machine"], s["kernel"]), []).append(s)
    opened = open_regressions(findings)
    opened.sort(key=lambda f: (-(seq_of(byk[f["key"]], f["index"]) or 0) if f["key"] in byk else 0,
                               -abs(f["change"])))
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>heaplab history</title>",
             STYLE + "<style>td{vertical-align:top}.reg{color:" + REG + "}.imp{color:" + IMP
             + "}</style></head><body><h1>heaplab history</h1>",
             f"<p>{len(runs)} runs, {len(series_list)} series in {len(groups)} machine/kernel "
             f"groups, {len(opened)} open regressions "
             f"({sum(1 for f in opened if f.get('new'))} in the newest run). Written {esc(now)}."
             " Series of different machine classes or kernels are never mixed: each group is its"
             " own.</p>"]

    def finding_row(f):
        s = byk.get(f["key"], {})
        rep = run_report.get(f["run"])
        if rep is None and s and 0 <= f["index"] < len(s["points"]):
            rep = s["points"][f["index"]].get("report")
        return (seq_of(s, f["index"]) if s else "-", f.get("commit", "-"),
                Html(f'<a href="#{esc(f["key"])}">{esc(f["metric"])}</a>'),
                f"{f.get('machine', s.get('machine'))}; {f.get('kernel', s.get('kernel'))}",
                f["type"] + (" (new)" if f.get("new") else ""),
                pct(f["change"]), fmt(f["before"], s.get("unit", "")),
                fmt(f["after"], s.get("unit", "")), f"{f['confidence']:.4f}",
                report_cell(rep, outdir))
    head = ["run", "commit", "metric", "machine; kernel", "type", "change", "before", "after",
            "confidence", "its report"]
    parts.append("<h2 id='regressions'>Open regressions, newest first</h2>")
    parts.append(table(head, [finding_row(f) for f in opened], "reg") if opened
                 else "<p>No open regression.</p>")
    rest = [f for f in findings if f not in opened]
    if rest:
        parts.append("<h2 id='changes'>Improvements and regressions since undone</h2>")
        rest.sort(key=lambda f: -(seq_of(byk[f["key"]], f["index"]) or 0) if f["key"] in byk else 0)
        parts.append(table(head, [finding_row(f) for f in rest], "changes"))
    parts.append("<h2 id='runs'>Runs</h2>")
    parts.append(table(["seq", "commit", "added", "machine", "kernel", "report"],
                       [(r["seq"], r["commit"], r["added"], r["machine"], r["kernel"],
                         report_cell(r.get("report"), outdir))
                        for r in sorted(runs, key=lambda r: -r["seq"])], "runs") if runs
                 else "<p>No run in the history yet (heaplab history add).</p>")
    for gi, ((mach, kern), ss) in enumerate(sorted(groups.items()), 1):
        ss.sort(key=lambda s: (data.natural_key(s["metric"]), s["kind"]))
        parts.append(f"<h2 id='group-{gi}'>{esc(mach)}; kernel {esc(kern)}</h2>")
        rows = []
        for s in ss:
            p = s["points"]
            n = len(fs.get(s["key"], []))
            rows.append((Html(f'<a href="#{esc(s["key"])}">{esc(s["metric"])}</a>'), s["kind"],
                         len(p), fmt(p[-1]["value"], s["unit"]) if p else "-",
                         pct(p[-1]["value"] / p[0]["value"] - 1) if p and p[0]["value"] else "-",
                         n or ""))
        parts.append(table(["metric", "kind", "runs", "newest", "since first", "findings"], rows))
        for s in ss:
            better = f"{s['better']} is better"
            notes = "; ".join(f"{f['type']} at run {seq_of(s, f['index'])} ({f.get('commit', '?')}),"
                              f" {pct(f['change'])}, {f['direction']}"
                              for f in fs.get(s["key"], []))
            parts.append(f"<h3 id='{esc(s['key'])}'>{esc(s['metric'])}</h3>"
                         f"<p>{esc(s['kind'])}, {esc(s['unit'])}, {esc(better)}"
                         f"{'; ' + esc(notes) if notes else ''}</p>")
            if s["points"]:
                parts.append(f"<img src='plots/{esc(s['key'])}.png' alt='{esc(s['metric'])}'>")
    parts.append("</body></html>")
    tmp = os.path.join(outdir, ".index.html.tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(parts))
    os.replace(tmp, os.path.join(outdir, "index.html"))
    return made
