#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks one heaplab-stress result beyond its schema: it passed, nothing was
lost, and it did what it claims (every stressor ran on every heap it applies
to, the sweep injected failures under both attributes, the fuzzer made its
calls, the OOM checks reached ENOMEM). Exit 1 with the reasons otherwise.

  check-stress-json.py FILE [MIN_FUZZ_CALLS]
"""
import functools
import json
import os
import subprocess
import sys

TOP = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..")


@functools.lru_cache(maxsize=None)
def stressors():
    """{name: "all" or "heaplab"} from `heaplab-stress list --json` (the
    binary named by $HEAPLAB_STRESS, else the one built in this tree)."""
    exe = os.environ.get("HEAPLAB_STRESS") or os.path.join(TOP, "stress", "heaplab-stress")
    out = subprocess.run([exe, "list", "--json"], capture_output=True, text=True, check=True)
    return {s["name"]: s["heaps"] for s in json.loads(out.stdout)["stressors"]}


def heaplab_heaps(d):
    """The heaps heaplab serves, as the run's machine block saw them."""
    return {h["path"] for h in d["machine"].get("heaps", []) if h["impl"] == "heaplab"}


def problems(d, min_calls):
    p = []
    if not d["passed"] or d["failure_count"]:
        p.append(f"did not pass: {d['failures']}")
    lk = d["leaks"]
    if lk["dmabufs"] or lk["oom_kills"] or lk.get("kmemleak", 0):
        p.append(f"leaks: {lk}")
    if lk["memfree_drop_kb"] > lk["tolerance_kb"]:
        p.append(f"leak: free memory down {lk['memfree_drop_kb']} KiB")
    if not any(k.startswith("cma_used_pages") for k in lk):
        p.append("leaks: no CMA area accounted (debugfs cma/NAME/used missing)")
    for k, v in lk.items():
        if k.startswith(("bytes_outstanding", "pages_held", "cma_used_pages")) and v:
            p.append(f"leak: {k} {v}")
    heaps = d["options"]["heaps"]
    if d["tool"] == "run":
        seen = {(s["name"], s["heap"]): s for s in d["stressors"]}
        ours = heaplab_heaps(d)
        for name, applies in stressors().items():
            for h in heaps:
                if applies == "heaplab" and h not in ours:
                    continue
                s = seen.get((name, h))
                if not s or not s["ops"]:
                    p.append(f"run: {name} did no op on {h}")
                elif s["unexpected_errors"] or s["verify_failures"]:
                    p.append(f"run: {name} on {h}: {s}")
    elif d["tool"] == "fault":
        for attr in ("failslab", "fail_page_alloc"):
            steps = [s for s in d["fault"] if s["attr"] == attr]
            if sum(s["injected"] for s in steps) == 0:
                p.append(f"fault: {attr} injected nothing")
            if {s["heap"] for s in steps} != set(heaps):
                p.append(f"fault: {attr} did not cover every heap")
            if sum(s["errors"].get("ENOMEM", 0) for s in steps) == 0:
                p.append(f"fault: {attr}: no injected failure reached userspace as ENOMEM")
    elif d["tool"] == "fuzz":
        fz = d["fuzz"]
        if fz["calls"] < min_calls:
            p.append(f"fuzz: {fz['calls']} calls, fewer than {min_calls}")
        if fz["invalid_accepted"] or fz["valid_refused"]:
            p.append(f"fuzz: ABI violations: {fz}")
    elif d["tool"] == "oom":
        for o in d["oom"]:
            if "/heaplab/" in o["heap"] and (o.get("over_ram_errno") != "ENOMEM"
                                             or o.get("fill_errno") != "ENOMEM"):
                p.append(f"oom: {o}")
        for s in d["pressure"]:
            if not s["ops"] or s["verify_failures"] or s["unexpected_errors"]:
                p.append(f"oom: pressure on {s['heap']}: {s}")
    return p


def main():
    with open(sys.argv[1]) as f:
        d = json.load(f)
    min_calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    p = problems(d, min_calls)
    for x in p:
        print(f"{sys.argv[1]}: {x}")
    if not p:
        print(f"{sys.argv[1]}: {d['tool']}: passed, nothing lost, seed {d['seed']}")
    return 1 if p else 0


if __name__ == "__main__":
    sys.exit(main())
