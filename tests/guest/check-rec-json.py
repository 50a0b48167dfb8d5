#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks a bpf/heaprec profile against what tests/guest/heap-workload did.

  check-rec-json.py profile PROFILE SIZE:COUNT,... [RUN...]
      RUN: "DEV IMPL HEAP FAIL" as bpf.sh's wl_heaps (FAIL: SIZE:COUNT or -),
      one `heap-workload -k` after another, each in its own process; no
      RUN: nothing happened, the profile must be empty
  check-rec-json.py held PROFILE PID SIZE:COUNT
      one `heap-workload -w` of process PID, still holding at the end
  check-rec-json.py replay PROFILE REPLAY.json HEAP_KIND...
      heaplab-bench replay of PROFILE on heaps of these kinds, in order:
      every class of a heap's kind played, allocations, successes and
      failures exactly as recorded, at the recorded size

Every count must be exact: the classes (one per heap kind, size and comm),
each one's most held at once, the timeline's entries per class, the failures
per class, what was still held. Times are only checked for order and range.
Exit 0 when everything matches; else each mismatch is printed.
"""
import json
import math
import re
import sys

COMM = "heap-workload"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
CLASS_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TOP = {"schema", "name", "description", "source", "background", "phases", "timeline", "recording"}
CLASS_KEYS = {"name", "heap", "size", "count", "hold_ms", "rate_hz", "align"}


def size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(s[:-1]) * mult[s[-1]] if s[-1] in mult else int(s)


def pairs(spec):
    return [(size(a), int(b)) for a, b in (p.split(":") for p in spec.split(",") if p and p != "-")]


def tag(n):
    """heaprec's size in a class name: 4k, 12m, 1g, or bytes."""
    for shift, t in ((30, "g"), (20, "m"), (10, "k")):
        if n % (1 << shift) == 0:
            return f"{n >> shift}{t}"
    return str(n)


def class_name(kind, n, comm=COMM):
    return f"{kind}-{tag(n)}-{comm}"


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_format(doc, errs):
    """What heaplab-profile/1 asks of any profile (profiles/README.md)."""
    if doc.get("schema") != "heaplab-profile/1":
        errs.append(f"schema {doc.get('schema')!r}")
    for k in set(doc) - TOP:
        errs.append(f"unknown top-level field {k}")
    if not NAME.match(str(doc.get("name", ""))):
        errs.append(f"name {doc.get('name')!r}")
    d = doc.get("description", "")
    if not isinstance(d, str) or not d or "\n" in d:
        errs.append(f"description {d!r}: one line, not empty")
    if not isinstance(doc.get("source"), str) or not doc["source"]:
        errs.append("source missing or empty")
    ph = doc.get("phases", [])
    if len(ph) != 1 or ph[0].get("name") != "recorded":
        errs.append(f"phases: want one, named recorded: {[p.get('name') for p in ph]}")
        return {}, 0
    ph = ph[0]
    if set(ph) != {"name", "duration_ms", "classes"}:
        errs.append(f"phase fields {sorted(ph)}")
    dur = ph.get("duration_ms")
    if not is_int(dur) or dur <= 0:
        errs.append(f"duration_ms {dur!r}")
        dur = 1
    classes = {}
    for c in ph.get("classes", []):
        for k in set(c) - CLASS_KEYS:
            errs.append(f"class {c.get('name')}: unknown field {k}")
        if not CLASS_NAME.match(str(c.get("name", ""))) or c["name"] in classes:
            errs.append(f"class name {c.get('name')!r}: bad or duplicate")
        if c.get("heap") not in ("cma", "system"):
            errs.append(f"class {c.get('name')}: heap {c.get('heap')!r}")
        for k, lo in (("size", 1), ("count", 1), ("hold_ms", 0)):
            if not is_int(c.get(k)) or c[k] < lo:
                errs.append(f"class {c.get('name')}: {k} {c.get(k)!r}")
        r = c.get("rate_hz")
        if not isinstance(r, (int, float)) or isinstance(r, bool) or r < 0:
            errs.append(f"class {c.get('name')}: rate_hz {r!r}")
        classes[c.get("name")] = c
    last = -1
    for i, e in enumerate(doc.get("timeline", [])):
        if set(e) != {"at_us", "class", "hold_us"}:
            errs.append(f"timeline[{i}]: fields {sorted(e)}")
            continue
        if e["class"] not in classes:
            errs.append(f"timeline[{i}].class {e['class']!r}: names no class")
        if not is_int(e["at_us"]) or not is_int(e["hold_us"]) or e["at_us"] < 0 or e["hold_us"] < 0:
            errs.append(f"timeline[{i}]: at_us {e['at_us']!r}, hold_us {e['hold_us']!r}")
            continue
        if e["at_us"] < last:
            errs.append(f"timeline[{i}].at_us {e['at_us']}: out of order")
        last = e["at_us"]
        # every buffer released by the recording's end (+1 ms: rounding)
        if e["at_us"] + e["hold_us"] > dur * 1000 + 1000:
            errs.append(f"timeline[{i}]: held to {e['at_us'] + e['hold_us']} us, "
                        f"past the recording's {dur} ms")
    rec = doc.get("recording", {})
    if rec.get("tool") != "heaprec" or not rec.get("kernel") or rec.get("duration_ms") != dur:
        errs.append(f"recording: tool {rec.get('tool')!r}, kernel {rec.get('kernel')!r}, "
                    f"duration_ms {rec.get('duration_ms')!r} (phase: {dur})")
    if rec.get("events_lost") != 0:
        errs.append(f"recording: {rec.get('events_lost')} events lost")
    return classes, dur


def per_class(doc):
    out = {}
    for e in doc.get("timeline", []):
        out[e["class"]] = out.get(e["class"], 0) + 1
    return out


def check_class(doc, classes, dur, name, w, errs):
    """w: kind, size, allocs, failed, most, heaps, held."""
    rec = doc.get("recording", {})
    rc = rec.get("classes", {}).get(name)
    if rc is None:
        errs.append(f"{name}: not in recording.classes")
        return
    got = (rc.get("heap"), rc.get("size"), rc.get("comm"), rc.get("allocs"), rc.get("ok"),
           rc.get("failed"), rc.get("most_held"), sorted(rc.get("heaps", [])), rc.get("held_at_end"))
    want = (w["kind"], w["size"], COMM, w["allocs"], w["allocs"] - w["failed"], w["failed"],
            w["most"], sorted(w["heaps"]), w["held"])
    if got != want:
        errs.append(f"{name}: recording.classes (kind, size, comm, allocs, ok, failed, most held, "
                    f"heaps, held at end) {got}, want {want}")
    if w["failed"] and rc.get("errors") != {"ENOMEM": w["failed"]}:
        errs.append(f"{name}: errors {rc.get('errors')}, want ENOMEM {w['failed']}")
    if rec.get("failed", {}).get(name) != w["failed"]:
        errs.append(f"{name}: recording.failed {rec.get('failed', {}).get(name)!r}, want {w['failed']}")
    c = classes.get(name)
    if not w["replayed"]:
        if c is not None or rc.get("replayed") is not False or not rc.get("why"):
            errs.append(f"{name}: want left out of the classes (failed only, larger than memory)")
        if per_class(doc).get(name):
            errs.append(f"{name}: in the timeline, but not a class")
        return
    if c is None:
        errs.append(f"{name}: not a class")
        return
    count = w["most"] or 1
    if (c["heap"], c["size"], c["count"]) != (w["kind"], w["size"], count):
        errs.append(f"{name}: heap, size, count {(c['heap'], c['size'], c['count'])}, "
                    f"want {(w['kind'], w['size'], count)}")
    # released before the end: a hold of at least 1 ms; held to the end (or
    # never made): 0, "to the phase's end"
    made_and_released = w["allocs"] > w["failed"] and w["held"] < w["allocs"] - w["failed"]
    if (c["hold_ms"] > 0) != made_and_released:
        errs.append(f"{name}: hold_ms {c['hold_ms']}")
    if max(1, math.floor(dur * float(c["rate_hz"]) / 1000.0)) != w["allocs"]:
        errs.append(f"{name}: rate_hz {c['rate_hz']} over {dur} ms plays "
                    f"{math.floor(dur * float(c['rate_hz']) / 1000.0)}, want {w['allocs']}")
    n = per_class(doc).get(name, 0)
    if n != w["allocs"]:
        errs.append(f"{name}: {n} timeline entries, want {w['allocs']}")


def check_profile(doc, sizes, runs, errs):
    classes, dur = check_format(doc, errs)
    rec = doc.get("recording", {})
    mem = rec.get("mem_total", 0)
    want = {}
    for run in runs:
        dev, impl, heap, fail = run.split()
        kind = "system" if heap == "system" else "cma"
        for sz, n, failed in [(s, c, False) for s, c in pairs(sizes)] + \
                             [(s, c, True) for s, c in pairs(fail)]:
            w = want.setdefault(class_name(kind, sz), {
                "kind": kind, "size": sz, "allocs": 0, "failed": 0, "most": 0,
                "heaps": set(), "held": 0})
            w["allocs"] += n
            w["heaps"].add(f"{impl}/{heap}")
            if failed:
                w["failed"] += n
            else:
                w["most"] = max(w["most"], n)   # -k: one size at a time, runs in turn
    for name, w in want.items():
        w["replayed"] = w["most"] > 0 or w["size"] <= mem
        check_class(doc, classes, dur, name, w, errs)
    for name in set(rec.get("classes", {})) - set(want):
        errs.append(f"unexpected class {name}: {rec['classes'][name]}")
    n = sum(w["allocs"] for w in want.values() if w["replayed"])
    if len(doc.get("timeline", [])) != n:
        errs.append(f"timeline: {len(doc.get('timeline', []))} entries, want {n}")
    if rec.get("held_at_end") != 0:
        errs.append(f"recording.held_at_end {rec.get('held_at_end')!r}, want 0")
    if rec.get("allocations") != sum(w["allocs"] for w in want.values()):
        errs.append(f"recording.allocations {rec.get('allocations')!r}")


def check_held(doc, pid, spec, errs):
    classes, dur = check_format(doc, errs)
    rec = doc.get("recording", {})
    if rec.get("pid") != int(pid):
        errs.append(f"recording.pid {rec.get('pid')!r}, want {pid}")
    want = {}
    for sz, n in pairs(spec):
        want[class_name("system", sz)] = {"kind": "system", "size": sz, "allocs": n, "failed": 0,
                                          "most": n, "heaps": {"heaplab/system"}, "held": n,
                                          "replayed": True}
    for name, w in want.items():
        check_class(doc, classes, dur, name, w, errs)
        if classes.get(name, {}).get("hold_ms") != 0:
            errs.append(f"{name}: hold_ms {classes.get(name, {}).get('hold_ms')}, want 0 (held to the end)")
    # only that process: the other workload run meanwhile is not there
    for name in set(rec.get("classes", {})) - set(want):
        errs.append(f"class {name} of another process recorded despite --pid")
    total = sum(w["allocs"] for w in want.values())
    if rec.get("held_at_end") != total:
        errs.append(f"recording.held_at_end {rec.get('held_at_end')!r}, want {total}")
    # held to the end: each entry reaches the recording's end
    for e in doc.get("timeline", []):
        if e["at_us"] + e["hold_us"] < (dur - 1) * 1000:
            errs.append(f"timeline entry {e} ends before the recording ({dur} ms)")


def results(x):
    """Every replay result object (heap, class, allocs, ok) anywhere in the document."""
    if isinstance(x, dict):
        if {"heap", "class", "allocs", "ok"} <= set(x):
            yield x
        else:
            for v in x.values():
                yield from results(v)
    elif isinstance(x, list):
        for v in x:
            yield from results(v)


def failed_n(f):
    if isinstance(f, dict):
        return sum(v for v in f.values() if is_int(v))
    return f


def check_replay(doc, rep, kinds, errs):
    classes, _ = check_format(doc, errs)
    rec = doc.get("recording", {})
    planned = per_class(doc)
    got = list(results(rep))
    heaps = []
    for r in got:
        if r["heap"] not in heaps:
            heaps.append(r["heap"])
    if len(heaps) != len(kinds):
        errs.append(f"replay: results of heaps {heaps}, want {len(kinds)} heaps")
        return
    for heap, kind in zip(heaps, kinds):
        mine = {r["class"]: r for r in got if r["heap"] == heap}
        for name, c in classes.items():
            if c["heap"] != kind:
                continue
            r = mine.get(name)
            if r is None:
                errs.append(f"replay {heap}: class {name} not played")
                continue
            want_failed = rec.get("failed", {}).get(name, 0)
            g = (r["allocs"], r["ok"], failed_n(r.get("failed", 0)), r.get("size", c["size"]))
            w = (planned.get(name, 0), planned.get(name, 0) - want_failed, want_failed, c["size"])
            if g != w:
                errs.append(f"replay {heap}: {name}: allocs, ok, failed, size {g}, recorded {w}")


def main(argv):
    if len(argv) < 3 or argv[0] not in ("profile", "held", "replay") or \
       (argv[0] == "held" and len(argv) != 4) or (argv[0] == "replay" and len(argv) < 4):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        doc = json.load(f)
    errs = []
    if argv[0] == "profile":
        check_profile(doc, argv[2], argv[3:], errs)
    elif argv[0] == "held":
        check_held(doc, argv[2], argv[3], errs)
    else:
        with open(argv[2]) as f:
            rep = json.load(f)
        check_replay(doc, rep, argv[3:], errs)
    for e in errs:
        print(f"mismatch: {e}")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
