# SPDX-License-Identifier: GPL-2.0
"""bpf/ tracer results in the report: where the time of an allocation goes
(heaptrace), what contiguous allocations cost (cmatrace), and what the
tracer itself costs an allocation (heaplab-bench tracer, same boot)."""
import html
import statistics

import numpy as np

from . import data
from .tables import table as _table

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# The stages of an allocation ioctl; with "other" they add up to it.
PARTS = ("pages", "zero", "sgtable", "export", "fd", "other")
# The most the tracer may add to the allocation p50 (the report's 5 % target).
OVERHEAD_TARGET_PCT = 5.0


def _ns(ns):
    for unit, div in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.0f} ns"


def entries(docs):
    """{(impl, heap, size_max): entry} of the buckets that saw allocations."""
    out = {}
    for d in docs:
        for e in d["entries"]:
            if e["stages"].get("ioctl", {}).get("count"):
                out[(e["impl"], e["heap"], e["size_max"])] = e
    return out


def breakdown_figure(docs):
    """Stacked bars per heap: each stage's share of the ioctl, per size."""
    ents = entries(docs)
    heaps = sorted({(i, h) for i, h, _ in ents})
    if not heaps:
        return None
    fig, axes = plt.subplots(1, len(heaps), figsize=(4.2 * len(heaps), 4.8), squeeze=False)
    colors = plt.cm.tab10.colors
    for ax, (impl, heap) in zip(axes[0], heaps):
        sizes = sorted(s for i, h, s in ents if (i, h) == (impl, heap))
        x = np.arange(len(sizes))
        bottom = np.zeros(len(sizes))
        for k, part in enumerate(PARTS):
            share = np.array([100.0 * ents[(impl, heap, s)]["stages"].get(part, {}).get("sum_ns", 0)
                              / max(1, ents[(impl, heap, s)]["stages"]["ioctl"]["sum_ns"])
                              for s in sizes])
            ax.bar(x, share, 0.7, bottom=bottom, label=part, color=colors[k])
            bottom += share
        for xi, s in zip(x, sizes):
            ax.text(xi, 102, _ns(ents[(impl, heap, s)]["stages"]["ioctl"]["mean_ns"]),
                    ha="center", va="bottom", rotation=90, fontsize=7)
        ax.set_xticks(x)
        ax.set_xticklabels(["<=" + data.size_label(s) for s in sizes], fontsize=7, rotation=45)
        ax.set_ylim(0, 135)
        ax.set_ylabel("share of the allocation ioctl (%)")
        merged = any(ents[(impl, heap, s)].get("zero_in_pages") for s in sizes)
        ax.set_title(f"{impl} {heap}" + ("\n(zeroing inside pages: not separable)" if merged else ""),
                     fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper right", ncol=2)
    fig.suptitle("where the time of an allocation goes (bpf/heaptrace; mean ioctl time above each bar)",
                 fontsize=10)
    return fig


def _attach_summary(doc):
    how = {}
    for t, h in doc["attach"]["targets"].items():
        how.setdefault(h, []).append(t)
    return "; ".join(f"{h}: {len(ts)}" + (f" ({', '.join(ts)})" if h == "missing" else "")
                     for h, ts in sorted(how.items()))


def _orders(e):
    parts = []
    for o in e["orders"]:
        name = "cma_alloc" if o["order"] == "cma" else f"order {o['order']}"
        parts.append(f"{name}: {o['ok']} ok" + (f", {o['failed']} failed" if o["failed"] else ""))
    return "; ".join(parts) or "-"


def heaptrace_section(docs):
    ents = entries(docs)
    if not ents:
        return []
    body = ["<p>Mean time per stage and its share of the whole ioctl, per heap and size bucket"
            " (buffers of at most that size). <i>pages</i> is the page allocator or"
            " <code>cma_alloc()</code>, less any zeroing inside it; the upstream system heap"
            " zeroes inside the page allocator (<code>__GFP_ZERO</code>), timed at"
            " <code>kernel_init_pages()</code> where that is a function of its own; where the"
            " kernel inlines it (a perf build), that zeroing stays in <i>pages</i>, marked"
            " <i>in pages</i>. The upstream CMA heap's inline memset is its allocate op less"
            " the stages inside it. Percentiles come from log2 histograms.</p>",
            "<p>Attached: " + html.escape("; ".join(
                f"{d['attach']['mode']} mode: {_attach_summary(d)}" for d in docs)) + ".</p>"]
    rows = []
    for (impl, heap, size), e in sorted(ents.items()):
        st = e["stages"]
        io = st["ioctl"]
        cells = [f"{impl} {heap}", "<=" + data.size_label(size), io["count"], _ns(io["mean_ns"]),
                 _ns(io["p50_ns"]), _ns(io["p99_ns"])]
        for part in PARTS:
            p = st.get(part)
            if part == "zero" and not p and e.get("zero_in_pages"):
                cells.append("in pages")
                continue
            cells.append(f"{_ns(p['mean_ns'])} ({100 * p['sum_ns'] / max(1, io['sum_ns']):.0f}%)"
                         if p else "-")
        cells.append(_orders(e))
        rows.append(cells)
    body.append(_table(["heap", "size", "allocations", "ioctl mean", "p50", "p99"] +
                       [f"{p} mean (share)" for p in PARTS] + ["page chunks"], rows))
    rows = []
    for (impl, heap, size), e in sorted(ents.items()):
        st = e["stages"]
        ops = [f"{st[o]['count']} x {_ns(st[o]['mean_ns'])}" if o in st else "-"
               for o in ("mmap", "fault", "begin_cpu_access", "end_cpu_access", "release")]
        rows.append([f"{impl} {heap}", "<=" + data.size_label(size)] + ops)
    body.append("<p>Buffer operations (count x mean):</p>")
    body.append(_table(["heap", "size", "mmap", "fault", "begin_cpu_access", "end_cpu_access",
                        "release"], rows))
    return [("where the time goes (bpf/heaptrace)", "".join(body))]


def overhead_section(rs):
    rows = data.by_tool(rs, "tracer")
    if not rows:
        return []
    # One configuration per tracer option set: the full breakdown, -L, ...
    confs = sorted({r.get("tracer_args", "") for r in rows})
    body = [f"<p>The same alloc/free loop untraced and with <code>bpf/heaptrace</code> attached,"
            f" alternated in rounds in this boot. Target: at most {OVERHEAD_TARGET_PCT:g}% on the"
            f" allocation p50. Under emulation the host clock drifts between passes, so a figure"
            f" near zero can come out negative.</p>"]
    table = []
    for conf in confs:
        mine = [r for r in rows if r.get("tracer_args", "") == conf]
        pcts = [r["overhead_alloc_p50_pct"] for r in mine]
        within = sum(p <= OVERHEAD_TARGET_PCT for p in pcts)
        name = f"heaptrace {conf}".strip()
        what = "latency only" if "-L" in conf.split() else "stage breakdown"
        body.append(f"<p><code>{name}</code> ({what}): median over {len(mine)} cases"
                    f" {statistics.median(pcts):+.1f}%; worst {max(pcts):+.1f}%;"
                    f" {within} of {len(mine)} within the target.</p>")
        for r in sorted(mine, key=lambda r: (r["heap"], r["size"])):
            p = r["overhead_alloc_p50_pct"]
            table.append((name, data.heap_label(r["heap"]), data.size_label(r["size"]),
                          r["alloc"]["n"], f"{r['alloc']['p50_ns'] / 1e3:.1f}",
                          f"{r['traced_alloc']['p50_ns'] / 1e3:.1f}", f"{p:+.1f}%",
                          "yes" if p <= OVERHEAD_TARGET_PCT else "NO",
                          f"{r['overhead_free_p50_pct']:+.1f}%"))
    body.append(_table(["tracer", "heap", "size", "n per arm", "alloc p50 untraced (us)",
                        "alloc p50 traced (us)", "alloc overhead", "within target",
                        "free overhead"], table))
    return [("tracer overhead (heaplab-bench tracer)", "".join(body))]


def cmatrace_section(docs):
    rows = []
    for d in docs:
        for a in d["areas"]:
            rows.append((a["cma"], "<=" + data.size_label(a["size_max"]), a["count"], a["failed"],
                         _ns(a["p50_ns"]), _ns(a["p99_ns"]), a["acr_calls"], a["acr_busy"],
                         f"{100 * a['acr_ns'] / max(1, a['sum_ns']):.0f}%", a["retries"],
                         a["migrated"], a["migrate_failed"]))
    if not rows:
        return []
    body = ("<p>Every <code>cma_alloc()</code> call, per CMA area and request size: its latency,"
            " the <code>alloc_contig_range()</code> calls inside it (-EBUSY ones are retried on"
            " another range), and the pages migrated out of the way.</p>" +
            _table(["area", "size", "cma_alloc", "failed", "p50", "p99", "alloc_contig_range",
                    "-EBUSY", "share of time", "retries", "migrated", "migrate failed"], rows))
    return [("contiguous allocations (bpf/cmatrace)", body)]


def sections(rs, heaptraces, cmatraces):
    return heaptrace_section(heaptraces) + overhead_section(rs) + cmatrace_section(cmatraces)
