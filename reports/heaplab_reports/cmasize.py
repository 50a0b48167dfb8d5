# SPDX-License-Identifier: GPL-2.0
"""heaplab cma-size: how large a CMA area a workload profile needs.

The sweep boots the guest once per CMA size (vm/run --cma SIZE), replays the
profile there on heaplab's CMA heap and the kernel's (heaplab-bench replay,
guest side bench/run-replay), then recommends per heap the smallest size
whose every CMA class meets the SLO, from the replay JSON alone: compute()
knows nothing of boots, so the unit tests give it fixture JSON, and
--from DIR recomputes a finished sweep under another SLO. --here replays on
this machine's own CMA heaps and reports the headroom at the size it has.
docs/cma-sizing.md is the user's guide."""
import argparse
import datetime
import html
import json
import os
import re
import shutil
import subprocess
import sys

from . import data, hostrun, profile
from .tables import STYLE, table as _table

LOCK = "/tmp/heaplab-guest.lock"
DEFAULT_SLO = "p99=20ms,fail=0"
QUICK_SCALE = 0.1
# Failure causes as replay counts them (debugfs at the time of the failure),
# in the order a tie between them is named.
CAUSES = ("exhausted", "fragmented", "migration", "other")
WHY = {"exhausted": "area exhausted: less free than the size",
       "fragmented": "fragmented: enough free, but no free range that long",
       "migration": "migration: the range held pages that could not be moved (busy or pinned)",
       "other": "other errors",
       "latency": "latency",
       "missing": "no result for the class (the replay stopped early?)"}
VMSTAT = ("cma_alloc_success", "cma_alloc_fail", "compact_stall", "compact_fail",
          "pgmigrate_success", "pgmigrate_fail")
UNITS = {"": 0, "K": 10, "M": 20, "G": 30}
NS = {"ns": 1, "us": 1000, "ms": 1000000, "s": 1000000000}
MiB = 1 << 20
SWEEP = "sweep.json"


def say(msg):
    print(f"heaplab cma-size: {msg}", file=sys.stderr, flush=True)


# --- input ---------------------------------------------------------------

def parse_size(text, what):
    """64M, 1G, 512K or bytes -> bytes."""
    m = re.fullmatch(r"(\d+)([KMG]?)", text.strip(), re.I)
    if not m:
        raise data.BadInput(f"{what}: {text!r}: not a size (bytes, or a number with K, M or G)")
    n = int(m[1]) << UNITS[m[2].upper()]
    if n <= 0:
        raise data.BadInput(f"{what}: {text!r}: must be more than 0")
    return n


def parse_sizes(text, mem):
    """The sweep's sizes: increasing, each less than the guest's memory."""
    if not text or not text.strip():
        raise data.BadInput("--sizes: empty: give CMA sizes such as 64M,96M,128M")
    out, last = [], None
    for t in text.split(","):
        if not t.strip():
            raise data.BadInput(f"--sizes: {text!r}: an empty item")
        n = parse_size(t, "--sizes")
        if last is not None and n <= last[1]:
            raise data.BadInput(f"--sizes: {t.strip()} after {last[0]}: sizes must be increasing")
        if mem and n >= mem:
            raise data.BadInput(f"--sizes: {t.strip()}: not less than --mem {data.size_label(mem)}"
                                " (the area is carved out of the guest's memory)")
        out.append(n)
        last = (t.strip(), n)
    return out


def parse_duration(text, what):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s)", text.strip())
    if not m:
        raise data.BadInput(f"{what}: {text!r}: not a duration (a number with ns, us, ms or s)")
    ns = round(float(m[1]) * NS[m[2]])
    if ns <= 0:
        raise data.BadInput(f"{what}: {text!r}: must be more than 0")
    return ns


def parse_slo(text):
    """p99=20ms,fail=0 -> {"p99_ns": 20000000, "fail": 0}; p99=none: no
    latency limit. A key left out keeps its default (DEFAULT_SLO)."""
    slo = {"p99_ns": 20 * NS["ms"], "fail": 0}
    seen = set()
    for item in (text or "").split(","):
        key, eq, val = (s.strip() for s in item.partition("="))
        if not eq or not key or not val:
            raise data.BadInput(f"--slo: {item.strip()!r}: want KEY=VALUE, e.g. p99=20ms,fail=0")
        if key in seen:
            raise data.BadInput(f"--slo: {key} given twice")
        seen.add(key)
        if key == "p99":
            slo["p99_ns"] = None if val in ("none", "off") else parse_duration(val, "--slo: p99")
        elif key == "fail":
            if not re.fullmatch(r"\d+", val):
                raise data.BadInput(f"--slo: fail={val}: not a count (an integer >= 0)")
            slo["fail"] = int(val)
        else:
            raise data.BadInput(f"--slo: {key!r}: unknown key (p99, fail)")
    return slo


def ms(ns):
    return "-" if ns is None else f"{ns / 1e6:.3g} ms"


def mib(n):
    return "-" if n is None else f"{n / MiB:.1f} MiB"


def slo_text(slo):
    lat = "no latency limit" if slo["p99_ns"] is None else f"alloc p99 <= {ms(slo['p99_ns'])}"
    return f"{lat}, failures <= {slo['fail']} per class"


def _need(obj, keys, where):
    if not isinstance(obj, dict):
        raise data.BadInput(f"{where}: not an object")
    for k in keys:
        if k not in obj:
            raise data.BadInput(f"{where}: no {k!r} (want heaplab-bench replay's JSON)")


def _int(v, where):
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise data.BadInput(f"{where}: {v!r}: want a count")
    return v


def read_replay(path):
    """heaplab-bench replay's JSON as {"machine", "heaps": {path: heap}}, each
    heap {impl, area, peak_used, min_largest_free, vmstat, headroom,
    left_out, classes: {class: {allocs, ok, failed, p50_ns, p99_ns, ...}}}.
    Only the fields the recommendation reads are checked here; the schema
    (bench/schema) is the replay's own contract."""
    doc = data.read(path)
    if doc.get("schema") != data.TOOL_SCHEMA or doc.get("tool") != "replay":
        raise data.BadInput(f"{path}: not heaplab-bench replay's JSON (schema"
                            f" {doc.get('schema')!r}, tool {doc.get('tool')!r})")
    _need(doc, ("results", "heaps"), path)
    heaps = {}

    def heap(p, impl):
        return heaps.setdefault(p, {"heap": p, "impl": impl, "area": {}, "peak_used": None,
                                    "min_largest_free": None, "vmstat": {}, "headroom": None,
                                    "left_out": None, "not_played": [], "classes": {}})
    for i, h in enumerate(doc["heaps"]):
        where = f"{path}: heaps[{i}]"
        _need(h, ("heap", "impl"), where)
        e = heap(h["heap"], h["impl"])
        for k in ("area", "peak_used", "min_largest_free", "vmstat", "headroom", "left_out",
                  "not_played"):
            if h.get(k) is not None:
                e[k] = h[k]
    for i, r in enumerate(doc["results"]):
        where = f"{path}: results[{i}]"
        if isinstance(r, dict) and (r.get("played") is False or r.get("not_played")):
            continue    # a class of the other heap kind, listed as not played
        _need(r, ("heap", "class", "allocs", "ok", "failed", "alloc"), where)
        _need(r["failed"], CAUSES, where + ".failed")
        e = heap(r["heap"], r.get("impl", "unknown"))
        a = r["alloc"] if isinstance(r["alloc"], dict) else {}
        e["classes"][r["class"]] = {
            "phase": r.get("phase"), "size": r.get("size"),
            "allocs": _int(r["allocs"], where + ".allocs"), "ok": _int(r["ok"], where + ".ok"),
            "failed": {k: _int(r["failed"][k], f"{where}.failed.{k}") for k in CAUSES},
            "errors": r.get("errors") or {}, "misaligned": r.get("misaligned"),
            "n": a.get("n", 0), "p50_ns": a.get("p50_ns"), "p99_ns": a.get("p99_ns"),
            "max_ns": a.get("max_ns")}
    return {"machine": doc.get("machine", {}), "heaps": heaps}


# --- the recommendation: a pure function of the results --------------------

def failures(r):
    return max(r["allocs"] - r["ok"], sum(r["failed"].values()))


def class_verdict(name, r, slo):
    """None when class @name meets the SLO, else {class, cause, failures,
    allocs, detail}: failures first (their cause is the commonest counted
    one), then latency."""
    if r is None:
        return {"class": name, "cause": "missing", "failures": 0, "allocs": 0,
                "detail": f"class {name}: {WHY['missing']}"}
    n = failures(r)
    if n > slo["fail"]:
        cause = max(CAUSES, key=lambda k: (r["failed"][k], -CAUSES.index(k)))
        why = WHY[cause]
        if cause == "other" and r["errors"]:
            why += " (" + ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) + ")"
        counts = ", ".join(f"{k} {r['failed'][k]}" for k in CAUSES if r["failed"][k])
        return {"class": name, "cause": cause, "failures": n, "allocs": r["allocs"],
                "detail": f"class {name}: {n} of {r['allocs']} failed ({counts or 'uncounted'}):"
                          f" {why}"}
    if slo["p99_ns"] is not None and r["n"] and r["p99_ns"] is not None \
            and r["p99_ns"] > slo["p99_ns"]:
        return {"class": name, "cause": "latency", "failures": n, "allocs": r["allocs"],
                "p99_ns": r["p99_ns"], "n": r["n"],
                "detail": f"class {name}: alloc p99 {ms(r['p99_ns'])} > {ms(slo['p99_ns'])}:"
                          " latency"}
    return None


def point_verdict(h, cma_names, slo):
    """The failing classes of one heap at one size, worst first."""
    fails = [v for v in (class_verdict(c, h["classes"].get(c), slo) for c in cma_names) if v]
    return sorted(fails, key=lambda v: (v["cause"] == "latency", -v["failures"],
                                        -v.get("p99_ns", 0)))


def heap_order(paths, impl):
    return sorted(paths, key=lambda p: (impl.get(p) != "heaplab", impl.get(p) != "upstream", p))


def compute(prof, points, slo):
    """Per heap: the smallest size meeting @slo. @points: [{size, status,
    why, replay}] in increasing size, replay from read_replay or None.
    Returns [{heap, impl, label, size (None: none does), peak_used, margin,
    at, fails, cause, detail, notes, rows}], heaplab's heap first."""
    cma_names = [c["name"] for c in profile.cma_classes(prof)]
    planned = profile.planned_allocs(prof)
    impl = {}
    for p in points:
        for path, h in ((p.get("replay") or {}).get("heaps") or {}).items():
            impl.setdefault(path, h["impl"])
    out = []
    for path in heap_order(impl, impl):
        rows = []
        for p in points:
            h = ((p.get("replay") or {}).get("heaps") or {}).get(path)
            if h is None:
                rows.append({"size": p["size"], "meets": None,
                             "why": p.get("why") or "this heap was not in the replay"})
                continue
            area = h["area"].get("size") or p["size"]
            fails = point_verdict(h, cma_names, slo)
            # The schedule is deterministic: other counts mean a replay bug.
            odd = [f"{c} {r['allocs']} (the profile plans {planned[c]})"
                   for c, r in h["classes"].items() if c in cma_names and r["allocs"] != planned[c]]
            rows.append({"size": p["size"], "area": area, "meets": not fails, "fails": fails,
                         "peak_used": h["peak_used"],
                         "unused": None if h["peak_used"] is None else area - h["peak_used"],
                         "left_out": h["left_out"], "odd": odd})
        rec = {"heap": path, "impl": impl[path], "label": data.heap_label(path), "rows": rows,
               "notes": [], "size": None, "peak_used": None, "margin": None, "at": None,
               "fails": [], "cause": None, "detail": None}
        measured = [r for r in rows if r["meets"] is not None]
        for r in measured:
            if abs(r["area"] - r["size"]) > max(4 * MiB, r["size"] // 50):
                rec["notes"].append(f"at {data.size_label(r['size'])} the replay's area is"
                                    f" {mib(r['area'])}: was cma= applied?")
            if r["odd"]:
                rec["notes"].append(f"at {data.size_label(r['size'])} the replay attempted "
                                    + ", ".join(r["odd"]))
        tail = tail_note(measured)
        if tail:
            rec["notes"].append(tail)
        best = next((r for r in measured if r["meets"]), None)
        if best:
            rec.update(size=best["size"], peak_used=best["peak_used"], margin=best["unused"])
            if best["peak_used"] is None:
                rec["notes"].append(f"margin unknown: {best['left_out'] or 'no peak use in the JSON'}")
            for r in measured:
                if r["size"] > best["size"] and not r["meets"]:
                    rec["notes"].append(
                        f"the larger {data.size_label(r['size'])} missed the SLO"
                        f" ({r['fails'][0]['detail']}): the outcome is not monotonic in the size;"
                        " re-run, or take a size above every miss")
            for r in rows:
                if r["meets"] is None and r["size"] < best["size"]:
                    rec["notes"].append(f"{data.size_label(r['size'])} gave no result ({r['why']}):"
                                        " a smaller size may do")
        elif measured:
            last = measured[-1]
            rec.update(at=last["size"], fails=last["fails"], cause=last["fails"][0]["cause"],
                       detail=last["fails"][0]["detail"])
        else:
            rec.update(cause="no result", detail="no size gave a result: "
                       + "; ".join(f"{data.size_label(r['size'])}: {r['why']}" for r in rows))
        out.append(rec)
    return out


def tail_note(rows):
    """A note when sizes missed the SLO on latency alone: the p99 that
    decided rests on a class's few largest allocations of one replay, which
    move between replays of one boot (docs/cma-sizing.md)."""
    lat = [r for r in rows if r["fails"] and all(f["cause"] == "latency" for f in r["fails"])]
    if not lat:
        return None
    f = min((f for r in lat for f in r["fails"]), key=lambda f: f["n"])
    # numpy's p99 interpolates between the samples at floor(0.99 (n - 1)) and above it
    k = f["n"] - int(0.99 * (f["n"] - 1))
    sizes = ", ".join(data.size_label(r["size"]) for r in lat)
    return (f"{sizes} missed on latency alone; class {f['class']}'s p99 there rests on the"
            f" {k} largest of {f['n']} allocations, one replay's tail: repeat the sweep"
            " before sizing by it")


def verdict_line(rec, here=False):
    """One line per heap: the recommendation, or none and why; --here: the
    verdict at the one size this machine has."""
    if here:
        if rec["size"] is not None:
            return (f"{rec['label']}: meets the SLO at this machine's {data.size_label(rec['size'])}"
                    f" (peak use {mib(rec['peak_used'])}, headroom {mib(rec['margin'])})"
                    + "".join(f"; note: {n}" for n in rec["notes"]))
        where = f" at this machine's {data.size_label(rec['at'])}" if rec["at"] else ""
        return f"{rec['label']}: misses the SLO{where}: {rec['detail']}"
    if rec["size"] is not None:
        s = f"{rec['label']}: {data.size_label(rec['size'])}"
        if rec["margin"] is not None:
            s += f" (peak use {mib(rec['peak_used'])}, margin {mib(rec['margin'])})"
        return s + "".join(f"; note: {n}" for n in rec["notes"])
    notes = "".join(f"; note: {n}" for n in rec["notes"])
    if rec["at"] is None:
        return f"{rec['label']}: none: {rec['detail']}{notes}"
    more = len(rec["fails"]) - 1
    return (f"{rec['label']}: none: at {data.size_label(rec['at'])}, the largest size measured,"
            f" {rec['detail']}" + (f" (and {more} more class(es))" if more > 0 else "") + notes)


# --- the report -------------------------------------------------------------

def _series(points, path, name, get):
    xs, ys = [], []
    for p in points:
        h = ((p.get("replay") or {}).get("heaps") or {}).get(path)
        r = h and (h["classes"].get(name) if name else h)
        if r:
            y = get(r)
            if y is not None:
                xs.append(p["size"] / MiB)
                ys.append(y)
    return xs, ys


def plots(prof, points, recs, slo, outdir):
    """p99 and failures per class against size, one panel per heap; migration against size."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .report import save_figure
    made = []
    names = [c["name"] for c in profile.cma_classes(prof)]
    ticks = [p["size"] / MiB for p in points]
    labels = [data.size_label(p["size"]) for p in points]

    def axis(ax, rec):
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_xlabel("CMA area size")
        ax.grid(True, alpha=0.3)
        if rec and rec["size"] is not None:
            ax.axvline(rec["size"] / MiB, color="green", ls=":", label="recommended")

    if not recs:
        return made
    for name, ylabel, get, title in (
            ("cma_size_p99.png", "alloc p99 (ms)",
             lambda r: r["p99_ns"] / 1e6 if r["n"] and r["p99_ns"] is not None else None,
             "allocation p99 per class"),
            ("cma_size_failures.png", "failed allocations", failures, "failures per class")):
        fig, axes = plt.subplots(1, len(recs), figsize=(6 * len(recs), 4.5), squeeze=False)
        for ax, rec in zip(axes[0], recs):
            for c in names:
                xs, ys = _series(points, rec["heap"], c, get)
                if xs:
                    ax.plot(xs, ys, marker="o", label=c)
            if name == "cma_size_p99.png":
                ax.set_yscale("log")
                if slo["p99_ns"] is not None:
                    ax.axhline(slo["p99_ns"] / 1e6, color="red", ls="--", label="SLO p99")
            else:
                # A class's few failures beside another's hundreds.
                ax.set_yscale("symlog", linthresh=1)
                if slo["fail"]:
                    ax.axhline(slo["fail"], color="red", ls="--", label="SLO failures")
            axis(ax, rec)
            ax.set_ylabel(ylabel)
            ax.set_title(f"{rec['label']}: {title}")
            ax.legend(fontsize=7)
        save_figure(fig, outdir, name, made)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for rec in recs:
        for key, ls in (("pgmigrate_success", "-"), ("pgmigrate_fail", "--")):
            xs, ys = _series(points, rec["heap"], None, lambda h: h["vmstat"].get(key))
            if xs:
                ax.plot(xs, ys, marker="o", ls=ls, label=f"{rec['label']} {key}")
    axis(ax, None)
    ax.set_ylabel("pages migrated during the replay (/proc/vmstat delta)")
    ax.set_title("migration against CMA size")
    ax.legend(fontsize=7)
    save_figure(fig, outdir, "cma_size_migration.png", made)
    return made


def class_rows(prof, points, recs, slo):
    names = [c["name"] for c in profile.cma_classes(prof)]
    rows = []
    for rec in recs:
        for p in points:
            h = ((p.get("replay") or {}).get("heaps") or {}).get(rec["heap"])
            if not h:
                continue
            for c in names:
                r = h["classes"].get(c)
                v = class_verdict(c, r, slo)
                if r is None:
                    rows.append((rec["label"], data.size_label(p["size"]), c, "-", "-", "-", "-",
                                 "-", "-", "-", "-", "-", "-", v["cause"]))
                    continue
                lat = [ms(r[k]) if r["n"] else "-" for k in ("p50_ns", "p99_ns", "max_ns")]
                rows.append((rec["label"], data.size_label(p["size"]), c, r["allocs"], r["ok"],
                             *(r["failed"][k] for k in CAUSES), *lat,
                             "-" if r["misaligned"] is None else r["misaligned"],
                             "yes" if v is None else f"no: {v['cause']}"))
    return rows


def heap_rows(points, recs):
    """Per heap and size: peak use, unused (the waste), over the
    recommended size, the fragmentation and the counters."""
    rows = []
    for rec in recs:
        for row, p in zip(rec["rows"], points):
            if row["meets"] is None:
                rows.append((rec["label"], data.size_label(p["size"]), "-", "-", "-", "-", "-",
                             *("-" for _ in VMSTAT), f"no result: {row['why']}"))
                continue
            h = p["replay"]["heaps"][rec["heap"]]
            over = "-" if rec["size"] is None or p["size"] < rec["size"] else \
                mib(p["size"] - rec["size"])
            rows.append((rec["label"], data.size_label(p["size"]), mib(row["area"]),
                         mib(row["peak_used"]), mib(row["unused"]), over,
                         mib(h["min_largest_free"]), *(h["vmstat"].get(k, "-") for k in VMSTAT),
                         "meets" if row["meets"] else row["fails"][0]["detail"]
                         + (f"; {h['left_out']}" if h["left_out"] else "")))
    return rows


def headroom_rows(points, recs):
    """At the replay's peak: used, free, the longest free range and how many
    more of each class would fit (in the longest range, in all free)."""
    rows = []
    for rec in recs:
        for p in points:
            h = ((p.get("replay") or {}).get("heaps") or {}).get(rec["heap"])
            hr = h and h["headroom"]
            if not hr:
                continue
            fits = ", ".join(f"{c['class']} {c.get('fit_largest', '-')}/{c.get('fit_free', '-')}"
                             for c in hr.get("classes", []))
            rows.append((rec["label"], data.size_label(p["size"]), mib(hr.get("used")),
                         mib(hr.get("free")), mib(hr.get("largest_free")), fits or "-"))
    return rows


def sections(sweep, prof, points, recs, slo, made):
    """The CMA-sizing section: (title, html) pairs."""
    esc = html.escape
    mode = ("this machine (--here), no boot" if sweep.get("here") else
            f"one {sweep['variant']} guest boot per size, --mem {data.size_label(sweep['mem'])}")
    head = [f"<p>Profile <b>{esc(prof['name'])}</b> ({esc(sweep['profile'])}):"
            f" {esc(prof['description'])}. {esc(profile.summary(prof))}.</p>",
            f"<p>{esc(mode)}; time scale {sweep['time_scale']:g}"
            f"{' (quick)' if sweep['time_scale'] != 1 else ''}; SLO: {esc(slo_text(slo))}."
            + (" The figures come from one replay on this machine's CMA heaps, in turn."
               if sweep.get("here") else
               " Each size's figures come from one boot; heaplab's CMA heap and the kernel's"
               " take turns on the same area.") + "</p>"]
    if prof.get("source"):
        head.append(f"<p>Where the profile's numbers come from: {esc(prof['source'])}</p>")
    out = [("CMA sizing", "".join(head))]
    here = bool(sweep.get("here"))
    out.append(("Verdict at this machine's size" if here else "Recommendation",
                "<ul>" + "".join(f"<li>{esc(verdict_line(r, here))}</li>" for r in recs)
                + "</ul><p>" + ("Whether" if here else "The smallest size at which") +
                " every CMA class of the profile had at most the SLO's failures and its"
                " allocation p99 within the SLO; margin = size - the area's peak use during"
                " the replay.</p>"))
    for name in made:
        out.append((name[:-4].replace("_", " "), f"<img src='{name}'>"))
    out.append(("Per size: peak use, waste, fragmentation, counters", _table(
        ["heap", "size", "area", "peak use", "unused (size - peak)", "over the recommended",
         "smallest longest free range", *VMSTAT, "verdict"], heap_rows(points, recs))))
    out.append(("Per size and class", _table(
        ["heap", "size", "class", "allocs", "ok", *CAUSES, "p50", "p99", "max", "misaligned",
         "meets the SLO"], class_rows(prof, points, recs, slo))))
    hr = headroom_rows(points, recs)
    if hr:
        out.append(("Headroom at the peak", _table(
            ["heap", "size", "used", "free", "longest free range",
             "more that would fit: class longest/all free"], hr)))
    bad = [(data.size_label(p["size"]), p["why"]) for p in points if p.get("status") != "ok"]
    if bad:
        out.append(("Sizes without a result", _table(["size", "why"], bad)))
    return out


def text(sweep, prof, recs, slo):
    lines = [f"# heaplab cma-size: {prof['name']} ({sweep['profile']}), {slo_text(slo)}"]
    lines += [verdict_line(r, sweep.get("here")) for r in recs] or ["no heap gave results"]
    return "\n".join(lines) + "\n"


def write_report(outdir, sweep, prof, points, slo):
    """Compute, then write index.html, the plots, recommendation.txt and
    sweep.json (with the recommendation) into @outdir."""
    recs = compute(prof, points, slo)
    made = plots(prof, points, recs, slo, outdir)
    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>heaplab CMA sizing: {html.escape(prof['name'])}</title>", STYLE,
             "</head><body>", f"<h1>heaplab CMA sizing: {html.escape(prof['name'])}</h1>"]
    for title, body in sections(sweep, prof, points, recs, slo, made):
        parts.append(f"<h2>{html.escape(title)}</h2>{body}")
    parts.append("<p>Data: <a href='sweep.json'>sweep.json</a>, each size's replay JSON under"
                 " <code>sizes/</code>.</p></body></html>")
    with open(os.path.join(outdir, "index.html"), "w") as f:
        f.write("\n".join(parts))
    t = text(sweep, prof, recs, slo)
    with open(os.path.join(outdir, "recommendation.txt"), "w") as f:
        f.write(t)
    sweep = dict(sweep, slo=slo, recommendation=[
        {k: r[k] for k in ("heap", "impl", "size", "peak_used", "margin", "at", "cause",
                           "detail", "notes")} for r in recs])
    with open(os.path.join(outdir, SWEEP), "w") as f:
        json.dump(sweep, f, indent=1)
    return recs, t


def load_points(outdir, sweep):
    """The points of a sweep record with their replay JSON read."""
    points = []
    for p in sweep["points"]:
        p = dict(p)
        p["replay"] = None
        if p.get("status") == "ok":
            p["replay"] = read_replay(os.path.join(outdir, p["dir"], "replay.json"))
        points.append(p)
    return points


# --- running it -------------------------------------------------------------

def tree():
    """The source tree this heaplab belongs to (vm/run, bench/run-replay)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def has_replay(bench):
    """Whether this heaplab-bench has the replay harness (heaplab-bench list)."""
    try:
        p = subprocess.run([bench, "list", "--json"], capture_output=True, text=True, timeout=60)
        return any(t.get("name") == "replay" for t in json.loads(p.stdout).get("tools", []))
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return False


def check_bench(bench):
    if not bench or not os.access(bench, os.X_OK):
        raise data.BadInput(f"no heaplab-bench at {bench or 'bench/heaplab-bench or on PATH'}"
                            " (build it, or give --bench PATH)")
    if not has_replay(bench):
        raise data.BadInput(f"{bench} has no replay harness (heaplab-bench list): build a tree"
                            " with bench/replay.c")


def new_out(out, default):
    out = out or default
    if os.path.isdir(out) and os.listdir(out):
        raise data.BadInput(f"--out {out}: exists and is not empty (results would mix)")
    os.makedirs(out, exist_ok=True)
    return out


def mem_total():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def held_by_ancestor(lock):
    """Whether a parent of this process holds @lock (flock LOCK make cma-size,
    as the suite asks of every command that boots): taking it again would
    wait for ourselves."""
    try:
        ino = os.stat(lock).st_ino
        with open("/proc/locks") as f:
            holders = {int(ln.split()[4]) for ln in f
                       if ln.split()[1] == "FLOCK" and ln.split()[5].endswith(f":{ino}")}
    except (OSError, ValueError, IndexError):
        return False
    pid = os.getppid()
    while pid > 1:
        if pid in holders:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def last_line(path):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().strip().splitlines()
        return lines[-1] if lines else "no output"
    except OSError:
        return "no log"


VM_STATUS = {121: "the guest brought up the wrong number of CPUs",
             122: "the guest kernel logged a splat (panic, oops, WARN, ...)",
             123: "the guest never reported a status", 124: "the boot's time limit expired",
             125: "vm/run failed"}


def sweep_main(a, slo, stamp):
    top = tree()
    vmrun = a.vm_run or os.path.join(top, "vm", "run")
    guest = os.path.join(top, "bench", "run-replay")
    if not os.access(vmrun, os.X_OK):
        raise data.BadInput(f"{vmrun}: not found: the sweep runs from a heaplab source tree")
    mem = parse_size(a.mem, "--mem")
    if mem % MiB:
        raise data.BadInput(f"--mem: {a.mem!r}: not a whole number of MiB (QEMU's -m)")
    sizes = parse_sizes(a.sizes, mem)
    prof = profile.load(a.profile, mem)
    if not profile.cma_classes(prof):
        raise data.BadInput(f"profile {a.profile}: no class of the cma kind: nothing to size")
    builddir = os.path.abspath(a.builddir or top)
    kdir = os.path.join(builddir, "kernel", f"build-{a.variant}")
    if not a.vm_run:
        check_bench(os.path.join(builddir, "bench", "heaplab-bench"))
        if not os.path.exists(os.path.join(kdir, "heaplab_heap.ko")):
            raise data.BadInput(f"no heaplab modules in {kdir}: make -C kernel modules-{a.variant}"
                                " (make cma-size does)")
    if a.timeout is not None and a.timeout <= 0:
        raise data.BadInput(f"--timeout: {a.timeout}: must be more than 0 (seconds per boot)")
    out = new_out(a.out, f"cma-size-{prof['name']}-{stamp}")
    scale = QUICK_SCALE if a.quick else 1.0
    per_boot = profile.duration_ms(prof) * scale * 2 / 1000
    timeout = a.timeout or int(900 + 6 * per_boot)
    sweep = {"profile": a.profile, "here": False, "sizes": sizes, "mem": mem,
             "variant": a.variant, "time_scale": scale, "points": []}
    kernel = (["--kernel", a.kernel] if a.kernel else []) + (["--series", a.series] if a.series else [])
    say(f"{prof['name']}: {len(sizes)} size(s), one {a.variant} boot each; the replay takes"
        f" about {per_boot:.0f} s a boot on its two heaps, plus the boot; results in {out}")
    lock = os.environ.get("HEAPLAB_GUEST_LOCK", LOCK)
    flock = [] if held_by_ancestor(lock) else ["flock", lock]
    if not flock:
        say(f"{lock} is held by a parent of this command: the boots run under it")
    for i, size in enumerate(sizes, 1):
        label = data.size_label(size)
        rel = os.path.join("sizes", label)
        pdir = os.path.join(out, rel)
        os.makedirs(pdir)
        # The guest sees the results share, whatever the host path of the
        # profile (a path under the host's /tmp may be hidden there).
        shutil.copy(a.profile, os.path.join(pdir, "profile.json"))
        argv = [*flock, vmrun, "--variant", a.variant, *kernel, "--mem", f"{mem >> 20}M",
                "--cma", label, "--timeout", str(timeout), "--out", pdir, "--",
                guest, builddir, kdir, f"{scale:g}"]
        log = os.path.join(pdir, "run.log")
        say(f"[{i}/{len(sizes)}] cma={label}: {' '.join(argv)} (log {log})")
        with open(log, "w") as f:
            rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode
        js = os.path.join(pdir, "replay.json")
        point = {"size": size, "label": label, "dir": rel, "rc": rc, "status": "ok", "why": None}
        if rc:
            point.update(status="failed", why=f"vm/run exit {rc}"
                         + (f" ({VM_STATUS[rc]})" if rc in VM_STATUS else "")
                         + f": {last_line(log)}")
        elif not os.path.exists(js):
            point.update(status="failed", why=f"no replay.json: {last_line(log)}")
        else:
            try:
                read_replay(js)
            except data.BadInput as e:
                point.update(status="failed", why=str(e))
        say(f"cma={label}: " + ("replayed" if point["status"] == "ok" else point["why"]))
        sweep["points"].append(point)
    shutil.copy(a.profile, os.path.join(out, "profile.json"))
    return finish(out, sweep, prof, slo)


def finish(out, sweep, prof, slo):
    points = load_points(out, sweep)
    recs, t = write_report(out, sweep, prof, points, slo)
    sys.stdout.write(t)
    say(f"report: {out}/index.html")
    failed = [p for p in points if p.get("status") != "ok"]
    return 1 if failed or not recs else 0


def here_heaps(probe):
    """This machine's CMA heaps, one name each: heaplab's module names its
    CMA heap after the area and default_cma_region both."""
    cma = [h for h in hostrun.heaps_of(probe, hostrun.cma_area_names()) if h["kind"] == "cma"]
    return [h for h in cma if h["name"] != "default_cma_region"
            or not any(o["impl"] == h["impl"] and o["name"] != h["name"] for o in cma)]


def here_main(a, slo, stamp):
    bench = a.bench or hostrun.default_bench()
    check_bench(bench)
    prof = profile.load(a.profile, mem_total())
    if not profile.cma_classes(prof):
        raise data.BadInput(f"profile {a.profile}: no class of the cma kind: nothing to size")
    probe = hostrun.probe_machine(bench, [])
    heaps = here_heaps(probe)
    if not heaps:
        raise data.BadInput(hostrun.NO_SET["cma"])
    out = new_out(a.out, f"cma-size-here-{prof['name']}-{stamp}")
    scale = QUICK_SCALE if a.quick else 1.0
    os.makedirs(os.path.join(out, "here"))
    shutil.copy(a.profile, os.path.join(out, "profile.json"))
    argv = [bench, "replay", os.path.abspath(a.profile),
            *[x for h in heaps for x in ("--heap", h["path"])], "--json",
            os.path.join(out, "here", "replay.json")] + (["--time-scale", f"{scale:g}"] if a.quick else [])
    log = os.path.join(out, "here", "run.log")
    say(f"{' '.join(argv)} (log {log})")
    with open(log, "w") as f:
        rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode
    size = int(probe["machine"].get("cma_bytes") or 0)
    point = {"size": size, "label": data.size_label(size), "dir": "here", "rc": rc,
             "status": "ok" if rc == 0 else "failed",
             "why": None if rc == 0 else f"heaplab-bench replay exit {rc}: {last_line(log)}"}
    sweep = {"profile": a.profile, "here": True, "sizes": [size], "mem": mem_total(),
             "variant": "this machine", "time_scale": scale, "points": [point]}
    if rc:
        # No report from a replay that did not finish: its figures would mislead.
        say(f"{point['why']} (log {log}); no report")
        return 1
    return finish(out, sweep, prof, slo)


def from_main(a, slo_arg):
    d = a.from_dir
    try:
        with open(os.path.join(d, SWEEP)) as f:
            sweep = json.load(f)
        _need(sweep, ("profile", "points", "mem", "time_scale", "variant"), os.path.join(d, SWEEP))
    except OSError as e:
        raise data.BadInput(f"--from {d}: {SWEEP}: {e.strerror}")
    except json.JSONDecodeError as e:
        raise data.BadInput(f"--from {d}: {SWEEP}: not JSON: {e}")
    slo = parse_slo(slo_arg) if slo_arg else sweep.get("slo") or parse_slo(DEFAULT_SLO)
    prof = profile.load(os.path.join(d, "profile.json"), None if sweep.get("here") else sweep["mem"])
    out = a.out or d
    if out != d:
        os.makedirs(out, exist_ok=True)
        # The report links the replay JSON; a copy keeps it whole.
        for p in sweep["points"]:
            if p.get("status") == "ok":
                os.makedirs(os.path.join(out, p["dir"]), exist_ok=True)
                shutil.copy(os.path.join(d, p["dir"], "replay.json"), os.path.join(out, p["dir"]))
        shutil.copy(os.path.join(d, "profile.json"), out)
    points = load_points(d, sweep)
    recs, t = write_report(out, sweep, prof, points, slo)
    sys.stdout.write(t)
    say(f"report: {out}/index.html")
    return 0


def main(a):
    """heaplab cma-size (argparse namespace): exit status."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    if a.from_dir:
        if a.profile or a.sizes or a.here:
            raise data.BadInput("--from DIR takes the profile and sizes from DIR's sweep.json:"
                                " give no PROFILE, --sizes or --here")
        return from_main(a, a.slo)
    if not a.profile:
        raise data.BadInput("cma-size: give a PROFILE (profiles/*.json), or --from DIR")
    slo = parse_slo(a.slo or DEFAULT_SLO)
    if a.here:
        if a.sizes:
            raise data.BadInput("--here replays at this machine's CMA size: give no --sizes")
        return here_main(a, slo, stamp)
    if not a.sizes:
        raise data.BadInput("--sizes: missing: give CMA sizes such as 64M,96M,128M (or --here)")
    try:
        return sweep_main(a, slo, stamp)
    except KeyboardInterrupt:
        # A sweep takes long; stopping it is no crash, and half a sweep no report.
        say("interrupted: no report (the finished sizes' results stay under --out)")
        return 130


def add_parser(sub):
    p = sub.add_parser("cma-size", help="the CMA size a workload profile needs: sweep, recommend")
    p.add_argument("profile", nargs="?", metavar="PROFILE", help="a heaplab-profile/1 file")
    p.add_argument("--sizes", help="CMA sizes to try, increasing: 64M,96M,128M (K, M, G)")
    p.add_argument("--slo", help=f"what a size must meet, per CMA class (default {DEFAULT_SLO};"
                                 " p99=none: no latency limit)")
    p.add_argument("--mem", default="2G", help="guest memory (default 2G)")
    p.add_argument("--quick", action="store_true",
                   help=f"replay at --time-scale {QUICK_SCALE} (same counts, a tenth of the time)")
    p.add_argument("--variant", choices=("perf", "debug"), default="perf",
                   help="the test kernel to boot (default perf)")
    p.add_argument("--out", metavar="DIR", help="results and report (default ./cma-size-NAME-DATE)")
    p.add_argument("--here", action="store_true",
                   help="no boot: replay on this machine's CMA heaps, report the headroom")
    p.add_argument("--from", dest="from_dir", metavar="DIR",
                   help="no boot: recompute a finished sweep's recommendation (another --slo)")
    p.add_argument("--bench", metavar="PATH", help="--here: heaplab-bench (default: the build tree's)")
    p.add_argument("--builddir", metavar="DIR", help="the build tree (default: this heaplab's)")
    p.add_argument("--series", help="the test kernel's series (vm/run --series)")
    p.add_argument("--kernel", metavar="BZIMAGE", help="boot this kernel (vm/run --kernel)")
    p.add_argument("--timeout", type=int, help="seconds per boot (default from the profile)")
    # A stand-in for vm/run (the unit tests' fake boot).
    p.add_argument("--vm-run", help=argparse.SUPPRESS)
    return p


def validate_profile(path, mem):
    """heaplab validate's line for a profile."""
    doc = profile.load(path, mem)
    return f"{path}: valid ({profile.SCHEMA}, {profile.summary(doc)})"

