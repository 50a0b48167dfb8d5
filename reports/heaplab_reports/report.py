# SPDX-License-Identifier: GPL-2.0
"""heaplab report: plots (matplotlib), ratio tables and index.html from the
results of one boot. Absolute times under TCG mean little; every table
sets heaplab's heap beside its upstream twin, measured in the same boot."""
import html
import json
import os

import numpy as np

from . import data, goals, pool, trace
from .tables import STYLE, table as _table

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GB = 1e9


def _heaps(rows):
    return sorted({r["heap"] for r in rows if "heap" in r})


def save_figure(fig, outdir, name, made):
    """Writes @fig to outdir/name (the page's size and resolution), closes
    it and adds name to @made."""
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, name), dpi=90)
    plt.close(fig)
    made.append(name)


def plot_latency(rs, outdir, made):
    rows = data.by_tool(rs, "alloc")
    if not rows:
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, op in zip(axes, ("alloc", "free")):
        for heap in _heaps(rows):
            pts = sorted((r["size"], r[op]["p50_ns"], r[op]["p99_ns"]) for r in rows
                         if r["heap"] == heap and r[op]["n"])
            if not pts:
                continue
            s, p50, p99 = (np.array(x, dtype=float) for x in zip(*pts))
            line, = ax.plot(s, p50, marker="o", label=data.heap_label(heap))
            ax.fill_between(s, p50, p99, color=line.get_color(), alpha=0.15)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("buffer size (bytes)")
        ax.set_ylabel(f"{op} latency (ns): p50 line, band to p99")
        ax.set_title(f"{op} latency against size")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    save_figure(fig, outdir, "latency_vs_size.png", made)


def plot_cdf(rs, outdir, made):
    rows = [r for r in data.by_tool(rs, "alloc") if r["alloc"].get("samples_ns")]
    sizes = sorted({r["size"] for r in rows})
    if not sizes:
        return
    pick = sizes if len(sizes) <= 4 else [sizes[0], sizes[len(sizes) // 3],
                                          sizes[2 * len(sizes) // 3], sizes[-1]]
    fig, axes = plt.subplots(1, len(pick), figsize=(4 * len(pick), 4), squeeze=False)
    for ax, size in zip(axes[0], pick):
        for r in sorted((r for r in rows if r["size"] == size), key=lambda r: r["heap"]):
            s = np.sort(np.asarray(r["alloc"]["samples_ns"], dtype=float))
            ax.step(s, np.arange(1, len(s) + 1) / len(s), where="post",
                    label=data.heap_label(r["heap"]))
        ax.set_xscale("log")
        ax.set_title(f"alloc latency CDF, {data.size_label(size)}")
        ax.set_xlabel("ns")
        ax.set_ylabel("fraction of allocations")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    save_figure(fig, outdir, "latency_cdf.png", made)


def plot_zero(rs, outdir, made):
    rows = [r for r in data.by_tool(rs, "zero") if r.get("zero")]
    lim = data.by_tool(rs, "memset")
    if not rows and not lim:
        return
    fig, ax = plt.subplots(figsize=(9, 4.5))
    sources = sorted({r["heap"] for r in rows})
    sizes = sorted({r["size"] for r in rows} | {r["size"] for r in lim})
    width = 0.8 / (len(sources) + 1)
    x = np.arange(len(sizes))
    for i, src in enumerate(sources):
        vals = [next((r["size"] / r["zero"]["p50_ns"] for r in rows
                      if r["heap"] == src and r["size"] == s), 0) for s in sizes]
        ax.bar(x + i * width, vals, width, label=f"{data.heap_label(src)} zeroing")
    vals = [next((r["p50_gbps"] for r in lim if r["size"] == s), 0) for s in sizes]
    ax.bar(x + len(sources) * width, vals, width, color="black", alpha=0.6,
           label="user memset (the limit)")
    ax.set_xticks(x + 0.4 - width / 2)
    ax.set_xticklabels([data.size_label(s) for s in sizes])
    ax.set_ylabel("GB/s at p50")
    ax.set_title("page zeroing against the memset limit")
    ax.legend(fontsize=8)
    save_figure(fig, outdir, "zeroing.png", made)


MMAP_OPS = ("map_touch", "first_touch", "write", "read", "write_sync", "read_sync")


def _per_size(rows, outdir, name, made, draw):
    """One panel per buffer size; draw(ax, size, rows of that size)."""
    sizes = sorted({r["size"] for r in rows})
    fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        draw(ax, size, [r for r in rows if r["size"] == size])
        ax.legend(fontsize=7)
    save_figure(fig, outdir, name, made)


def plot_mmap(rs, outdir, made):
    def draw(ax, size, rows):
        heaps = _heaps(rows)
        width = 0.8 / len(heaps)
        x = np.arange(len(MMAP_OPS))
        for i, heap in enumerate(heaps):
            r = next(r for r in rows if r["heap"] == heap)
            vals = [size / r[op]["p50_ns"] if op in r and r[op]["p50_ns"] else 0 for op in MMAP_OPS]
            ax.bar(x + i * width, vals, width, label=data.heap_label(heap))
        ax.set_xticks(x + 0.4 - width / 2)
        ax.set_xticklabels(MMAP_OPS, fontsize=8)
        ax.set_ylabel("GB/s at p50")
        ax.set_title(f"mmap throughput, {data.size_label(size)} buffers")

    rows = data.by_tool(rs, "mmap")
    if rows:
        _per_size(rows, outdir, "mmap.png", made, draw)


def plot_concurrency(rs, outdir, made):
    def draw(ax, size, rows):
        for heap in _heaps(rows):
            pts = sorted((r["threads"], r["ops_per_s"]) for r in rows if r["heap"] == heap)
            ax.plot(*zip(*pts), marker="o", label=data.heap_label(heap))
        over = sorted({r["threads"] for r in rows if r.get("oversubscribed")})
        ax.set_xlabel("threads" + (f" ({', '.join(map(str, over))}: more than the CPUs online)"
                                   if over else ""))
        ax.set_ylabel("allocations per second")
        ax.set_title(f"concurrency scaling, {data.size_label(size)}")
        ax.grid(True, alpha=0.3)

    rows = data.by_tool(rs, "concurrency")
    if rows:
        _per_size(rows, outdir, "concurrency.png", made, draw)


def plot_pressure(rs, outdir, made):
    rows = data.by_tool(rs, "pressure")
    if not rows:
        return
    cases = sorted({(r["heap"], r["size"]) for r in rows})
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(cases)), 4.5))
    x = np.arange(len(cases))
    for i, load in enumerate(("idle", "pressure")):
        p50, p99 = [], []
        for heap, size in cases:
            r = next((r for r in rows if r["heap"] == heap and r["size"] == size
                      and r["load"] == load), None)
            p50.append(r["alloc"]["p50_ns"] if r else 0)
            p99.append(r["alloc"]["p99_ns"] if r else 0)
        p50, p99 = np.array(p50, float), np.array(p99, float)
        ax.bar(x + i * 0.4, p50, 0.4, yerr=[np.zeros_like(p50), p99 - p50], capsize=3,
               label=f"{load} (p50, bar to p99)")
    ax.set_yscale("log")
    ax.set_xticks(x + 0.2)
    ax.set_xticklabels([f"{data.heap_label(h)}\n{data.size_label(s)}" for h, s in cases], fontsize=7)
    ax.set_ylabel("alloc latency (ns)")
    ax.set_title("allocation under a fragmenting co-runner against idle")
    ax.legend(fontsize=8)
    save_figure(fig, outdir, "pressure.png", made)


def ratio_rows(rs):
    """(metric, ours p50, upstream p50, p50 ratio, p99 ratio) for every twin pair."""
    m = data.metrics(rs)
    out = []
    for name, d in sorted(m.items(), key=lambda kv: data.natural_key(kv[0])):
        if " heap=/dev/heaplab/" not in name:
            continue
        twin = name.replace(" heap=/dev/heaplab/", " heap=/dev/dma_heap/", 1)
        if twin not in m:
            continue
        u = m[twin]
        out.append((name.replace(" heap=/dev/heaplab/", " ", 1), d["p50_ns"], u["p50_ns"],
                    d["p50_ns"] / u["p50_ns"] if u["p50_ns"] else float("inf"),
                    d["p99_ns"] / u["p99_ns"] if u["p99_ns"] else float("inf")))
    return out


def ratio_text(rs):
    mach = data.machine(rs)
    lines = [f"kernel {mach.get('kernel')}, {mach.get('cpus')} CPUs online, one boot;"
             " ratio = heaplab / upstream"
             " (below 1: heaplab is faster)",
             f"{'metric':58} {'ours p50':>10} {'up p50':>10} {'p50 x':>6} {'p99 x':>6}"]
    for name, o, u, r50, r99 in ratio_rows(rs):
        lines.append(f"{name:58} {o / 1e3:>9.1f}u {u / 1e3:>9.1f}u {r50:>6.2f} {r99:>6.2f}")
    for r in data.by_tool(rs, "memset"):
        lines.append(f"memset limit {data.size_label(r['size'])}: p50 {r['p50_gbps']:.3f} GB/s")
    return "\n".join(lines) + "\n"


def _ratio_cell(x):
    return f"{x:.2f}"


def write_html(rs, outdir, made, extra, first=()):
    mach = data.machine(rs)
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>heaplab bench report</title>",
             STYLE + "</head><body>",
             "<h1>heaplab bench report</h1>",
             f"<p>Kernel {html.escape(str(mach.get('kernel')))}, {mach.get('cpus')} CPUs, "
             f"{int(mach.get('mem_bytes', 0)) >> 20} MiB; command line "
             f"<code>{html.escape(str(mach.get('cmdline', '')))}</code>.</p>",
             "<p>All figures come from one boot. Under emulation an absolute time means little:"
             " read the ratios heaplab / upstream (below 1: heaplab is faster) and the distance"
             " to the memset limit.</p>"]
    for title, body in first:
        parts.append(f"<h2>{html.escape(title)}</h2>{body}")
    for name in made:
        parts.append(f"<h2>{html.escape(name[:-4].replace('_', ' '))}</h2><img src='{name}'>")
    tools = {}
    for name, o, u, r50, r99 in ratio_rows(rs):
        tools.setdefault(name.split(" ", 1)[0], []).append(
            (name.split(" ", 1)[1], f"{o / 1e3:.1f}", f"{u / 1e3:.1f}", _ratio_cell(r50), _ratio_cell(r99)))
    parts.append("<h2>ratio heaplab / upstream, every metric</h2>")
    for tool, rows in tools.items():
        parts.append(f"<h3>{html.escape(tool)}</h3>")
        parts.append(_table(["case / metric", "heaplab p50 (us)", "upstream p50 (us)",
                             "p50 ratio", "p99 ratio"], rows))
    rows = []
    for r in data.by_tool(rs, "pressure"):
        vm = r.get("vmstat", {})
        rows.append((data.heap_label(r["heap"]), data.size_label(r["size"]), r["load"],
                     vm.get("cma_alloc_success", "-"), vm.get("cma_alloc_fail", "-"),
                     vm.get("pgmigrate_success", "-"), vm.get("pgmigrate_fail", "-"),
                     vm.get("compact_stall", "-"), vm.get("compact_isolated", "-")))
    if rows:
        parts.append("<h2>pressure: /proc/vmstat deltas per case</h2>")
        parts.append(_table(["heap", "size", "load", "cma_alloc_success", "cma_alloc_fail",
                             "pgmigrate_success", "pgmigrate_fail", "compact_stall",
                             "compact_isolated"], rows))
    rows = []
    for run in rs["runs"]:
        for r in run["results"]:
            ev = (r.get("perf") or {}).get("events") or {}
            if ev:
                def val(k):
                    e = ev.get(k)
                    return "n/a" if e is None else f"{e['value']:.6g}"
                rows.append((run["tool"], data.heap_label(r.get("heap", "-")),
                             data.size_label(r["size"]), r.get("threads", r.get("load", "")),
                             val("task-clock"), val("context-switches"), val("page-faults"),
                             val("cycles"), val("instructions")))
    if rows:
        parts.append("<h2>perf stat counters per case</h2>")
        parts.append(_table(["tool", "heap", "size", "threads/load", "task-clock (ms)",
                             "context-switches", "page-faults", "cycles", "instructions"], rows))
    for title, body in extra:
        parts.append(f"<h2>{html.escape(title)}</h2>{body}")
    parts.append("<p>Data: <a href='bench.json'>bench.json</a> (schema heaplab-bench-set/1,"
                 " each run heaplab-bench/1); ratios: <a href='ratios.txt'>ratios.txt</a>.</p>")
    parts.append("</body></html>")
    with open(os.path.join(outdir, "index.html"), "w") as f:
        f.write("\n".join(parts))


def _errs(c):
    return ", ".join(f"{k} {v}" for k, v in sorted(c.get("errors", {}).items())) or "-"


def stress_section(docs):
    """heaplab-stress results given to report (stress/README.md), one table per command."""
    out = []
    for d in docs:
        lk = d["leaks"]
        title = (f"stress: {d['tool']} ({'passed' if d['passed'] else 'FAILED'}, seed {d['seed']},"
                 f" {d['elapsed_s']:.0f} s)")
        cma = ", ".join(f"CMA {k.split(' ', 1)[1]} pages out {v:+d}"
                        for k, v in lk.items() if k.startswith("cma_used_pages "))
        body = ["<p>Nothing lost: live dma-bufs {:+d}, {}free memory drop {} KiB (MemFree plus"
                " per-CPU lists; tolerance {} KiB; CmaFree drop {} KiB, not checked), OOM kills"
                " {}{}.</p>".format(
                    lk["dmabufs"], cma + ", " if cma else "", lk["memfree_drop_kb"],
                    lk["tolerance_kb"], lk["cmafree_drop_kb"], lk["oom_kills"],
                    f", kmemleak reports {lk['kmemleak']}" if "kmemleak" in lk else "")]
        if d.get("stressors"):
            body.append(_table(["stressor", "heap", "ops", "calls", "MiB", "errors by errno",
                                "unexpected", "verify failures"],
                               [(s["name"], s["heap"], s["ops"], s["calls"], s["bytes"] >> 20,
                                 _errs(s), s["unexpected_errors"], s["verify_failures"])
                                for s in d["stressors"]]))
        if d.get("fault"):
            body.append(_table(["attribute", "probability %", "interval", "heap", "ops", "calls",
                                "injected", "errors by errno", "unexpected", "verify failures"],
                               [(s["attr"], s["probability"], s["interval"], s["heap"], s["ops"],
                                 s["calls"], s["injected"], _errs(s), s["unexpected_errors"],
                                 s["verify_failures"]) for s in d["fault"]]))
        if d.get("fuzz"):
            fz = d["fuzz"]
            body.append(f"<p>{fz['calls']} calls; invalid requests accepted {fz['invalid_accepted']},"
                        f" valid ones refused {fz['valid_refused']}, stray fds {fz['stray_fds']}.</p>")
            body.append(_table(["action", "ops", "calls", "errors by errno", "unexpected"],
                               [(k, v["ops"], v["calls"], _errs(v), v["unexpected_errors"])
                                for k, v in fz["actions"].items()]))
        if d.get("oom"):
            body.append(_table(["heap", "twice RAM", "filled MiB", "fill ended with", "note"],
                               [(o["heap"], o.get("over_ram_errno", "-"),
                                 o.get("filled_bytes", 0) >> 20, o.get("fill_errno", "-"),
                                 o.get("skipped", "")) for o in d["oom"]]))
        if d.get("pressure"):
            body.append(_table(["heap (pattern under a co-runner)", "ops", "errors by errno",
                                "verify failures"],
                               [(s["heap"], s["ops"], _errs(s), s["verify_failures"])
                                for s in d["pressure"]]))
        if d["failures"]:
            body.append("<pre>" + html.escape("\n".join(d["failures"])) + "</pre>")
        out.append((title, "".join(body)))
    return out


def report(rs, outdir, docs=(), extra=()):
    """docs: heaplab-stress, heaptrace and cmatrace documents (data.load_side);
    extra: (title, html) sections to put first (heaplab run's machine)."""
    os.makedirs(outdir, exist_ok=True)
    made = []
    for fn in (plot_latency, plot_cdf, plot_zero, plot_mmap, plot_concurrency, plot_pressure):
        fn(rs, outdir, made)
    pool.figures(rs, outdir, made, plt, save_figure)
    heaptraces = [d for d in docs if d["schema"] == data.HEAPTRACE_SCHEMA]
    cmatraces = [d for d in docs if d["schema"] == data.CMATRACE_SCHEMA]
    stress = [d for d in docs if d["schema"] == data.STRESS_SCHEMA]
    fig = trace.breakdown_figure(heaptraces)
    if fig:
        save_figure(fig, outdir, "where_time_goes.png", made)
    with open(os.path.join(outdir, "bench.json"), "w") as f:
        json.dump(rs, f)
    text = ratio_text(rs) + pool.text(rs) + goals.text(rs)
    with open(os.path.join(outdir, "ratios.txt"), "w") as f:
        f.write(text)
    write_html(rs, outdir, made, pool.section(rs) + trace.sections(rs, heaptraces, cmatraces)
               + stress_section(stress), first=list(extra))
    return made, text
