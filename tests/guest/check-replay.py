#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The bench area's replays, judged on what their profiles imply, never on
a time. One line per check, "ok DESC" or "not-ok DESC: why", for bench.sh
to emit.

  check-replay.py REPLAY.json FAST.json FRAGMENT.json

REPLAY.json: tests/profiles/ok-replay-counts.json on the four heaps under
its background load; FAST.json: the same on heaplab's CMA heap at
--time-scale 0.1 without it; FRAGMENT.json: ok-replay-fragment.json on both
CMA heaps."""
import json
import sys

MiB = 1 << 20
AREA = 256 * MiB        # make check's cma=256M
# class: (kind, allocs, ok, failures by cause): the profile's schedule
# (profile.py's planned_allocs): huge asks 300 MiB of a 256 MiB area, so it
# fails every time as exhausted; everything else fits many times over.
WANT = {"huge": ("cma", 2, 0, {"exhausted": 2}), "frames": ("cma", 3, 3, {}),
        "ring": ("cma", 12, 12, {}), "pair": ("cma", 2, 2, {}),
        "meta": ("system", 8, 8, {}), "tiny": ("system", 30, 30, {})}
CAUSES = ("exhausted", "fragmented", "migration", "other")
# The most the schedule holds at once on a CMA heap: at 50 ms, 3 frames of
# 760 pages and 2 of ring's 256 (frames go at 100 ms, before the third ring).
PEAK_PAGES = 3 * 760 + 2 * 256
# Classes with an alignment, by heap: 0 misaligned, or None where pagemap
# cannot see the buffer's pages (the upstream system heap maps them as
# PFNs, VM_PFNMAP, which /proc/self/pagemap does not walk).
ALIGNED = {"ring": 0, "meta": 0}


def kind(heap):
    return "cma" if heap.rsplit("/", 1)[-1] == "reserved" else "system"


def counts(doc, heaps):
    bad = []
    got = {(r["heap"], r["class"]): r for r in doc["results"]}
    for h in heaps:
        for c, (k, allocs, ok, failed) in WANT.items():
            r = got.get((h, c))
            if k != kind(h):
                if r:
                    bad.append(f"{h} {c}: played on a {kind(h)} heap")
                continue
            if not r:
                bad.append(f"{h} {c}: no result")
                continue
            want = {x: failed.get(x, 0) for x in CAUSES}
            if (r["allocs"], r["ok"], r["failed"]) != (allocs, ok, want):
                bad.append(f"{h} {c}: allocs {r['allocs']} ok {r['ok']} failed {r['failed']},"
                           f" want {allocs} {ok} {want}")
            if c in ALIGNED:
                m = None if h == "/dev/dma_heap/system" else ALIGNED[c]
                if r.get("misaligned", "absent") != m:
                    bad.append(f"{h} {c}: misaligned {r.get('misaligned', 'absent')}, want {m}")
    return bad


def areas(doc):
    bad = []
    for h in doc["heaps"]:
        name = h["heap"]
        if h["kind"] != kind(name):
            bad.append(f"{name}: kind {h['kind']}")
        if h["kind"] == "system":
            if h["area"] is not None or h["headroom"] is not None:
                bad.append(f"{name}: a system heap with area figures")
            continue
        if h["area"] != {"name": "reserved", "size": AREA} or h["peak_used"] is None:
            bad.append(f"{name}: area {h['area']}, peak {h['peak_used']} ({h['left_out']})")
            continue
        held = h["peak_used"] - h["used_at_start"]
        if not PEAK_PAGES * 4096 <= held or h["peak_used"] > AREA:
            bad.append(f"{name}: peak use {h['peak_used']} from {h['used_at_start']}, want at least"
                       f" {PEAK_PAGES * 4096} more, within {AREA}")
        fits = {c["class"]: c for c in h["headroom"]["classes"]}
        if fits["huge"]["fit_free"] or fits["huge"]["fit_largest"] or not fits["ring"]["fit_largest"]:
            bad.append(f"{name}: headroom {fits}")
        if h["impl"] == "upstream" and h["vmstat"].get("cma_alloc_fail", 0) < 2:
            bad.append(f"{name}: vmstat cma_alloc_fail {h['vmstat'].get('cma_alloc_fail')}, want >= 2")
    return bad


def fragment(doc):
    """a and b alternate 1 MiB, a goes: c's 32 MiB finds 136 MiB free, none of it in one range."""
    bad = []
    want = {"a": (120, 120, {}), "b": (120, 120, {}), "c": (2, 0, {"fragmented": 2})}
    got = {(r["heap"], r["class"]): r for r in doc["results"]}
    for h in doc["options"]["heaps"]:
        for c, (allocs, ok, failed) in want.items():
            r = got.get((h, c))
            failed = {x: failed.get(x, 0) for x in CAUSES}
            if not r or (r["allocs"], r["ok"], r["failed"]) != (allocs, ok, failed):
                bad.append(f"{h} {c}: {r and (r['allocs'], r['ok'], r['failed'])},"
                           f" want {allocs} {ok} {failed}")
    for h in doc["heaps"]:
        if h["min_largest_free"] is None or h["min_largest_free"] >= 32 * MiB:
            bad.append(f"{h['heap']}: longest free range at least {h['min_largest_free']}")
    return bad


def main(full, fast, frag):
    checks = []
    try:
        doc, quick = json.load(open(full)), json.load(open(fast))
        fragmented = json.load(open(frag))
    except (OSError, ValueError) as e:
        print(f"not-ok bench: replay: no JSON to judge: {e}")
        return
    heaps = doc["options"]["heaps"]
    checks.append(("replay on the four heaps: exact counts per class (huge exhausted 2 of 2 on"
                   " both CMA heaps, every other allocation ok), none of the other kind played,"
                   " misaligned 0 where pagemap sees the pages", counts(doc, heaps)))
    checks.append(("replay: the CMA area's peak use at least what the profile holds at once,"
                   " within 256M; huge fits nowhere; upstream's failures in vmstat", areas(doc)))
    bg = doc["background"] or {}
    checks.append(("replay: the background load (page cache, anonymous, pinned) up and lasting",
                   [] if bg.get("lasted") and bg["page_cache_bytes"] and bg["anon_bytes"]
                   and bg["pinned_bytes"] else [f"background {doc['background']}"]))
    bad = counts(quick, ["/dev/heaplab/reserved"])
    if quick["background"] is not None or quick["profile"]["duration_ns"] != 110_000_000:
        bad.append(f"background {quick['background']}, duration {quick['profile']['duration_ns']}")
    checks.append(("replay --time-scale 0.1 --no-background: the same counts, no load, a tenth"
                   " of the time", bad))
    checks.append(("replay of a timeline leaving 1 MiB holes: 32 MiB fails as fragmented (not"
                   " exhausted: 136 MiB free), both CMA heaps", fragment(fragmented)))
    for desc, bad in checks:
        print(f"not-ok bench: {desc}: {'; '.join(bad)}" if bad else f"ok bench: {desc}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
