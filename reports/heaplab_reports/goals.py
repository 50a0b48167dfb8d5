# SPDX-License-Identifier: GPL-2.0
"""heaplab's speed goals against the upstream heaps (the page pool's latency,
CPU cost, mmap, the CMA heap, free), each computed from one boot's results as
a ratio heaplab / upstream (p50 unless said), with whether it is met. Kept
apart from printing; docs/measurements.md has this table from one
`make bench`."""
from . import data

MIB = 1 << 20


def _case(rs, tool, heap, size, **fields):
    for r in data.by_tool(rs, tool):
        if r.get("heap") == heap and r["size"] == size and \
                all(r.get(k) == v for k, v in fields.items()):
            return r
    return None


def _ratio(rs, tool, kind, size, metric, pct="p50_ns", **fields):
    """ours / upstream of @metric's @pct for heap kind "system" or "reserved"."""
    o = _case(rs, tool, f"/dev/heaplab/{kind}", size, **fields)
    u = _case(rs, tool, f"/dev/dma_heap/{kind}", size, **fields)
    if not o or not u or metric not in o or metric not in u:
        return None
    a, b = o[metric], u[metric]
    if isinstance(a, dict):
        a, b = a[pct], b[pct]
    return a / b if b else None


def _sizes(rs, tool, lo=0, hi=1 << 62):
    return sorted({r["size"] for r in data.by_tool(rs, tool) if lo <= r["size"] <= hi})


def _worst(vals):
    vals = [v for v in vals if v is not None]
    return max(vals) if vals else None


def rows(rs):
    """(goal, bound, measured, met, how): measured is the worst ratio over
    the sizes the goal names (None when the run lacks the case)."""
    out = []

    def add(name, bound, val, how, better="below"):
        met = None if val is None else (val <= bound if better == "below" else val >= bound)
        out.append((name, bound, val, met, how))

    mid = _sizes(rs, "pool", 64 << 10, 16 * MIB)
    add("system, pool warm, 64K-16M, p50", 0.1,
        _worst(_ratio(rs, "pool", "system", s, "alloc", pool="warm") for s in mid),
        "pool warm, worst size")
    add("system, pool warm, 64K-16M, p99", 0.2,
        _worst(_ratio(rs, "pool", "system", s, "alloc", "p99_ns", pool="warm") for s in mid),
        "pool warm, worst size")
    add("system, pool warm, 4K, p50", 0.5,
        _ratio(rs, "pool", "system", 4096, "alloc", pool="warm"), "pool warm")
    every = _sizes(rs, "pool")
    for state in ("cold", "off"):
        add(f"system, pool {'empty' if state == 'cold' else 'off'}, every size, p50", 1.0,
            _worst(_ratio(rs, "pool", "system", s, "alloc", pool=state) for s in every),
            f"pool {state}, worst size")
    big = _sizes(rs, "pool", 16 * MIB)
    add("system, pool off, 16M and up, idle CPUs, p50", 0.6,
        _worst(_ratio(rs, "pool", "system", s, "alloc", pool="off") for s in big),
        "pool off, worst size")
    for kind, bound in (("system", 3.0), ("reserved", 5.0)):
        r = _ratio(rs, "mmap", kind, 64 * MIB, "map_touch")
        add(f"mmap + first touch 64M, faster than upstream {kind}", bound,
            1 / r if r else None, "upstream / heaplab, mmap map_touch", better="above")
    add("CMA, no pool, p50, every size", 1.0,
        _worst(_ratio(rs, "alloc", "reserved", s, "alloc") for s in _sizes(rs, "alloc")),
        "alloc, worst size")
    add("CMA, p99 under pressure", 1.0,
        _worst(_ratio(rs, "pressure", "reserved", s, "alloc", "p99_ns", load="pressure")
               for s in _sizes(rs, "pressure")), "pressure, worst size")
    add("CPU time per allocated MiB, all threads", 1.1,
        _worst(_ratio(rs, "pool", "system", s, "cpu_ns_per_mib", pool=st)
               for s in every for st in ("warm", "off")), "pool warm and off, worst")
    add("free latency, p50", 1.0,
        _worst([_ratio(rs, "pool", "system", s, "free", pool=st) for s in every
                for st in ("warm", "off")] +
               [_ratio(rs, "alloc", k, s, "free") for k in ("system", "reserved")
                for s in _sizes(rs, "alloc")]), "pool warm/off and alloc, worst")
    return out


def text(rs):
    lines = ["speed goals against upstream (heaplab / upstream, same boot):",
             f"{'goal':52} {'bound':>7} {'measured':>9}  met"]
    for name, bound, val, met, how in rows(rs):
        v = "-" if val is None else f"{val:.2f}"
        b = f">= {bound:g}" if "faster than" in name else f"<= {bound:g}"
        lines.append(f"{name:52} {b:>7} {v:>9}  {'-' if met is None else 'yes' if met else 'NO'}"
                     f"  ({how})")
    return "\n".join(lines) + "\n"
