# SPDX-License-Identifier: GPL-2.0
"""The report's "pool" section, from the pool harness (bench/pool.c): latency
in each pool state beside upstream's, hit rate and latency against the
pool's level in a burst, CPU time per allocated MiB with the worker's
counted, and the worker's clearing throughput against the memset limit."""
import html

import numpy as np

from . import data
from .tables import table as _table

STATES = ("warm", "cold", "off", "serial", "pages", "burst")


def _rows(rs):
    return data.by_tool(rs, "pool")


def _twin(rows, r):
    up = data.upstream_twin(r["heap"])
    return next((u for u in rows if u["heap"] == up and u["size"] == r["size"]
                 and u["pool"] == r["pool"]), None)


def _ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def summary_rows(rs):
    """(state, size, ours p50, upstream p50, p50 x, p99 x, free x, hit rate,
    CPU ns/MiB ours, upstream, x, worker ms) per heaplab case of the pool harness."""
    rows = _rows(rs)
    out = []
    for r in sorted(rows, key=lambda r: (STATES.index(r["pool"]), r["size"])):
        if not r["heap"].startswith("/dev/heaplab/"):
            continue
        u = _twin(rows, r)
        hits, misses = r.get("pool_hits"), r.get("pool_misses")
        rate = f"{hits / (hits + misses):.0%}" if hits is not None and hits + misses else "-"
        cpu_o = r.get("cpu_ns_per_mib")
        cpu_u = u.get("cpu_ns_per_mib") if u else None
        out.append((r["pool"], r["size"], r["alloc"]["p50_ns"], u["alloc"]["p50_ns"] if u else None,
                    _ratio(r["alloc"]["p50_ns"], u["alloc"]["p50_ns"] if u else None),
                    _ratio(r["alloc"]["p99_ns"], u["alloc"]["p99_ns"] if u else None),
                    _ratio(r["free"]["p50_ns"], u["free"]["p50_ns"] if u else None),
                    rate, cpu_o, cpu_u, _ratio(cpu_o, cpu_u), r.get("worker_cpu_ns", 0) / 1e6))
    return out


def worker_gbps(rs):
    """Median clearing throughput of the pool's worker over the cases where it cleared."""
    v = [r["worker_clear_gbps"] for r in _rows(rs) if r.get("worker_clear_gbps")]
    return float(np.median(v)) if v else None


def memset_gbps(rs):
    v = [r["p50_gbps"] for r in data.by_tool(rs, "memset")]
    return max(v) if v else None


def figures(rs, outdir, made, plt, save):
    rows = _rows(rs)
    if not rows:
        return
    sizes = sorted({r["size"] for r in rows})
    heaps = sorted({r["heap"] for r in rows})
    states = [s for s in STATES if any(r["pool"] == s for r in rows)]
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.5 * len(sizes), 4), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        width = 0.8 / len(heaps)
        x = np.arange(len(states))
        for i, heap in enumerate(heaps):
            vals = [next((r["alloc"]["p50_ns"] / 1e3 for r in rows if r["heap"] == heap
                          and r["size"] == size and r["pool"] == s), 0) for s in states]
            ax.bar(x + i * width, vals, width, label=data.heap_label(heap))
        ax.set_xticks(x + 0.4 - width / 2)
        ax.set_xticklabels(states, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("alloc p50 (us)")
        ax.set_title(f"pool states, {data.size_label(size)}")
        ax.legend(fontsize=7)
    save(fig, outdir, "pool_states.png", made)

    bursts = [r for r in rows if r["pool"] == "burst" and r.get("burst")
              and r["heap"].startswith("/dev/heaplab/")]
    if bursts:
        fig, axes = plt.subplots(1, len(bursts), figsize=(4.5 * len(bursts), 4), squeeze=False)
        for ax, r in zip(axes[0], sorted(bursts, key=lambda r: r["size"])):
            pts = r["burst"]
            lvl = np.array([p["level_pages"] * 4096 / 2**20 for p in pts])
            ns = np.array([p["ns"] / 1e3 for p in pts])
            hit = np.array([p.get("hits", 0) > 0 for p in pts])
            ax.scatter(lvl[hit], ns[hit], s=12, label="took from the pool")
            ax.scatter(lvl[~hit], ns[~hit], s=12, marker="x", label="pool had none")
            u = _twin(rows, r)
            if u and u.get("alloc"):
                ax.axhline(u["alloc"]["p50_ns"] / 1e3, color="gray", ls="--",
                           label="upstream p50, same burst")
            ax.set_yscale("log")
            ax.invert_xaxis()
            ax.set_xlabel("pool level before the allocation (MiB)")
            ax.set_ylabel("alloc latency (us)")
            ax.set_title(f"burst of {data.size_label(r['size'])} allocations")
            ax.legend(fontsize=7)
        save(fig, outdir, "pool_burst.png", made)


def section(rs):
    """(title, html) of the pool section, or none without the pool harness."""
    rows = summary_rows(rs)
    if not rows:
        return []
    body = ["<p>heaplab's system heap keeps pools of cleared chunks; a worker at nice 19"
            " refills them and clears freed buffers. Each state is prepared before every"
            " allocation of both heaps (warm: pool full; cold: emptied by its shrinker; off:"
            " pool=0, clearing on the allocating thread; serial: and no CPU helping; pages:"
            " and page by page). CPU time counts every CPU until the worker is done.</p>"]
    g, m = worker_gbps(rs), memset_gbps(rs)
    if g:
        body.append(f"<p>The worker cleared at {g:.3f} GB/s (median over the cases)"
                    + (f"; the memset limit in this boot is {m:.3f} GB/s ({g / m:.0%})." if m else ".")
                    + "</p>")
    body.append(_table(["state", "size", "heaplab p50 (us)", "upstream p50 (us)", "p50 x",
                        "p99 x", "free p50 x", "pool hits", "CPU ns/MiB heaplab",
                        "upstream", "CPU x", "worker CPU (ms)"],
                       [(s, data.size_label(z), f"{o / 1e3:.1f}", "-" if u is None else f"{u / 1e3:.1f}",
                         r50, r99, rf, rate, "-" if co is None else f"{co:.0f}",
                         "-" if cu is None else f"{cu:.0f}", rc, f"{w:.1f}")
                        for s, z, o, u, r50, r99, rf, rate, co, cu, rc, w in rows]))
    return [("pool: the heaplab page pool against upstream", "".join(body))]


def text(rs):
    rows = summary_rows(rs)
    if not rows:
        return ""
    lines = ["pool (heaplab / upstream system heap; CPU = all CPUs until the worker is done)",
             f"{'state':7} {'size':>6} {'p50 x':>6} {'p99 x':>6} {'free x':>6} {'hits':>5} {'CPU x':>6}"]
    for s, z, o, u, r50, r99, rf, rate, co, cu, rc, w in rows:
        lines.append(f"{s:7} {data.size_label(z):>6} {r50:>6} {r99:>6} {rf:>6} {rate:>5} {rc:>6}")
    g, m = worker_gbps(rs), memset_gbps(rs)
    if g:
        lines.append(f"pool worker clearing: {g:.3f} GB/s" + (f", memset limit {m:.3f} GB/s" if m else ""))
    return "\n".join(lines) + "\n"
