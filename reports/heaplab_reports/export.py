# SPDX-License-Identifier: GPL-2.0
"""heaplab export: one run as what a board farm collects.

  lava   lava-test-case NAME --result pass --measurement VALUE --units UNIT
  squad  SQUAD's metrics file: {"SUITE/NAME": {"value": V, "unit": U}}
  json   a flat list of {name, value, unit, better}

Every format carries the same items: p50 and p99 of each duration metric
(ns), heaplab/upstream ratios of p50 and p99 where both twins ran (x), and
the throughputs a case records (GB/s, ops/s). A name is made from the
metric's name alone (data.case_key), so it is the same in every run that
has the metric, and holds only what LAVA allows in a test case id."""
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys

from . import data

OK = re.compile(r"^[A-Za-z0-9_.-]+$")
# LAVA keeps a test case name in 100 characters.
MAX_NAME = 100
FORMATS = ("lava", "squad", "json")


def _token(t):
    k, eq, v = t.partition("=")
    if not eq:
        return t
    if k == "heap":
        if v.startswith("/dev/heaplab/"):
            return "heaplab-" + v.rsplit("/", 1)[1]
        if v.startswith("/dev/dma_heap/"):
            return "upstream-" + v.rsplit("/", 1)[1]
        return v.strip("/").replace("/", "-")
    if k == "size" and v.isdigit():
        return data.size_label(int(v))
    return f"{k}-{v}"


def base_name(metric):
    """'alloc heap=/dev/heaplab/system size=4096 alloc' -> 'alloc.heaplab-system.4K.alloc'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", ".".join(_token(t) for t in metric.split(" ")))


def _short(name, why):
    return f"{name[:MAX_NAME - 7]}-{hashlib.sha1(why.encode()).hexdigest()[:6]}"


def items(rs):
    """[(name, value, unit, better)], sorted by name, names unique and valid.

    Names two metrics would share get a hash of their own metric's name, so
    a name never depends on which other metrics a run has beyond those."""
    m = data.metrics(rs)
    raw = {}    # what it measures -> (name, value, unit, better); a tool run twice: the last
    for metric, d in m.items():
        b = base_name(metric)
        for q in ("p50", "p99"):
            raw[f"{metric} {q}"] = (f"{b}.{q}", d[q + "_ns"], "ns", "lower")
        twin = metric.replace(" heap=/dev/heaplab/", " heap=/dev/dma_heap/", 1)
        if twin != metric and twin in m:
            rb = base_name(metric.replace(" heap=/dev/heaplab/", " heap=ratio-", 1))
            for q in ("p50", "p99"):
                u = m[twin][q + "_ns"]
                raw[f"{metric} ratio {q}"] = (f"{rb}.{q}", d[q + "_ns"] / u if u else math.inf,
                                              "x", "lower")
    for run in rs["runs"]:
        for r in run["results"]:
            key = data.case_key(run["tool"], r)
            for k, unit in (("p50_gbps", "GB/s"), ("ops_per_s", "ops/s")):
                if isinstance(r.get(k), (int, float)) and not isinstance(r[k], bool):
                    raw[f"{key} {k}"] = (f"{base_name(key)}.{k}", r[k], unit, "higher")
    raw = {o: x for o, x in raw.items() if math.isfinite(x[1])}
    users = {}
    for o, x in raw.items():
        users[x[0]] = users.get(x[0], 0) + 1
    out = [(_short(n, o) if users[n] > 1 or len(n) > MAX_NAME else n, v, unit, better)
           for o, (n, v, unit, better) in raw.items()]
    return sorted(out, key=lambda x: data.natural_key(x[0]))


def load(path):
    """A bench.json run set, a heaplab-bench document, or a report directory."""
    if os.path.isdir(path):
        p = os.path.join(path, "bench.json")
        if not os.path.isfile(p):
            raise data.BadInput(f"{path}: a directory without bench.json (not a heaplab report)")
        path = p
    rs = data.load(path)
    if not data.metrics(rs):
        raise data.BadInput(f"{path}: no metric to export (no case measured anything)")
    return rs


def number(v):
    """A measurement as LAVA stores it: plain decimal, no exponent."""
    v = float(v)
    if v.is_integer():
        return str(int(v))
    return f"{v:.6f}".rstrip("0").rstrip(".")


def _prefix(p, name):
    return f"{p}.{name}" if p else name


def lava_argv(its, prefix=""):
    return [["lava-test-case", _prefix(prefix, n), "--result", "pass", "--measurement", number(v),
             "--units", u] for n, v, u, _ in its]


def squad(its, prefix=""):
    suite = prefix or "heaplab"
    return {f"{suite}/{n}": {"value": v, "unit": u} for n, v, u, _ in its}


def flat(its, prefix=""):
    return [{"name": _prefix(prefix, n), "value": v, "unit": u, "better": b}
            for n, v, u, b in its]


def main(a, out=sys.stdout):
    if a.format not in FORMATS:
        raise data.BadInput(f"--format {a.format}: want one of {', '.join(FORMATS)}")
    ok = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$" if a.format == "squad" else OK.pattern)
    if a.prefix and not ok.match(a.prefix):
        raise data.BadInput(f"--prefix {a.prefix!r}: only letters, digits, _ . -"
                            + (" (and / between suite names)" if a.format == "squad" else ""))
    if a.run and a.format != "lava":
        raise data.BadInput("--run calls lava-test-case: only with --format lava")
    its = items(load(a.RUN))
    if a.format == "squad":
        json.dump(squad(its, a.prefix), out, indent=1, sort_keys=True)
        out.write("\n")
    elif a.format == "json":
        json.dump(flat(its, a.prefix), out, indent=1)
        out.write("\n")
    else:
        argv = lava_argv(its, a.prefix)
        tool = shutil.which("lava-test-case") if a.run else None
        if a.run and not tool:
            print("heaplab export: lava-test-case is not on PATH (not in a LAVA test shell):"
                  " printing the commands", file=sys.stderr)
        failed = 0
        for cmd in argv:
            if tool:
                failed += subprocess.run([tool] + cmd[1:]).returncode != 0
            else:
                out.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
        if failed:
            print(f"heaplab export: lava-test-case failed {failed} time(s) of {len(argv)}",
                  file=sys.stderr)
            return 1
    return 0


def add_parser(sub):
    p = sub.add_parser("export", help="one run as LAVA test cases, SQUAD metrics or flat JSON")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--prefix", default="",
                   help="put before every name (lava, json: 'P.'); squad: the suite (default heaplab)")
    p.add_argument("--run", action="store_true",
                   help="lava: call lava-test-case for each (in a LAVA test shell), else print them")
    p.add_argument("RUN", help="a bench.json run set, a heaplab-bench document or a report directory")
    return p
