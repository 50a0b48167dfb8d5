# SPDX-License-Identifier: GPL-2.0
"""heaplab run: the benchmark matrix (bench/matrix, the one run-bench runs in
the guest) on the machine in front of the user, against every heap it has,
then the report. What it cannot run is left out with a reason, in the
report's "Left out" section and on stderr, never silently.

The decisions (plan, describe) are pure functions of what was probed, so
the unit tests can give them any machine."""
import datetime
import html
import json
import os
import platform
import shutil
import subprocess
import sys

from . import data
from .tables import table as _table

HEAP_DIRS = ("/dev/dma_heap", "/dev/heaplab")
BTF = "/sys/kernel/btf/vmlinux"
# The upstream CMA heap is named after its CMA area: "reserved" for the
# default area from cma=, "linux,cma" from a device tree, "default_cma_region"
# since 6.17. Any name of an area the kernel lists counts too.
CMA_NAMES = ("reserved", "linux,cma", "default_cma_region")
SETS = ("all", "ours", "sys", "cma", "-")
NEEDS = ("heaplab", "root", "bpf", "ownzero")
MODES = ("quick", "full")


def matrix_path():
    """bench/matrix beside reports/, in the source tree and installed alike."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.realpath(__file__)))), "bench", "matrix")


def read_matrix(path, mode):
    """The runs of @mode in the matrix file: [{name, run, heaps, needs, args}]."""
    if mode not in MODES:
        raise data.BadInput(f"matrix mode {mode!r}: want quick or full")
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise data.BadInput(f"{path}: {e.strerror}")
    runs = []
    for i, line in enumerate(lines, 1):
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        if len(f) < 5 or f[0] not in MODES or f[3] not in SETS:
            raise data.BadInput(f"{path}:{i}: want MODE NAME RUN HEAPS NEEDS ARGS..., got {line!r}")
        needs = set() if f[4] == "-" else set(f[4].split(","))
        if needs - set(NEEDS):
            raise data.BadInput(f"{path}:{i}: unknown need {', '.join(sorted(needs - set(NEEDS)))}")
        if f[0] == mode:
            runs.append({"name": f[1], "run": f[2], "heaps": f[3], "needs": needs, "args": f[5:]})
    return runs


def heap_kind(name, cma_areas):
    """system, cma or other: what kind of allocator a heap's name says it is."""
    if name in cma_areas or name in CMA_NAMES:
        return "cma"
    if name == "system" or name.startswith("system-"):
        return "system"
    return "other"


def cma_area_names():
    """The CMA areas the kernel lists without root (CONFIG_CMA_SYSFS)."""
    try:
        return set(os.listdir("/sys/kernel/mm/cma"))
    except OSError:
        return set()


def heaps_of(probe, cma_areas):
    """The heaps to run on: the found ones, then the --heap ones not among them."""
    out, seen = [], set()
    for h in probe["machine"].get("heaps", []) + probe.get("heaps", []):
        if h["path"] in seen:
            continue
        seen.add(h["path"])
        name = os.path.basename(h["path"])
        out.append({"path": h["path"], "name": name, "impl": h["impl"],
                    "kind": heap_kind(name, cma_areas)})
    return out


def heap_sets(heaps):
    return {
        "all": [h["path"] for h in heaps],
        "ours": [h["path"] for h in heaps if h["impl"] == "heaplab"],
        "sys": [h["path"] for h in heaps if h["kind"] == "system"],
        "cma": [h["path"] for h in heaps if h["kind"] == "cma"],
        "-": [],
    }


NO_HEAPLAB = "needs heaplab's own heaps (/dev/heaplab: load heaplab's modules, vm/load-heaps)"
NO_SET = {
    "ours": NO_HEAPLAB,
    "sys": "no system heap (CONFIG_DMABUF_HEAPS_SYSTEM)",
    "cma": "no CMA heap: no heap whose implementation is CMA (CONFIG_DMABUF_HEAPS_CMA and a"
           " CMA area, e.g. cma=256M on the kernel command line)",
}
ROOT_WHY = {
    "pool": "sets heaplab's module parameters and drops caches",
    "zero": "reads heaplab's zeroing tracepoint (tracefs)",
    "tracer": "loads BPF programs",
    "cmatrace": "loads BPF programs",
}


def plan(matrix, heaps, env):
    """What to run and what to leave out on a machine.

    env: root (bool), btf (bool), perf (None when it counts, else why not),
    tracers ({"heaptrace": path or None, "cmatrace": path or None}).
    Returns (runs, left_out): runs [{name, run, heaps, args, settle}] with
    heap paths resolved and --perf dropped where perf cannot count;
    left_out [(item, reason)], one per thing not done."""
    sets = heap_sets(heaps)
    runs, left = [], []
    if not env["root"]:
        left.append(("--settle (drop caches and compact memory before each case)",
                     "not root: each case starts from whatever memory state the last left"))
    if not sets["cma"]:
        left.append(("CMA heaps", NO_SET["cma"]))
    noperf = []
    for m in matrix:
        run, name = m["run"], m["name"]
        tool = "heaptrace" if "{heaptrace}" in m["args"] else "cmatrace" if run == "cmatrace" else None
        why = None
        if "heaplab" in m["needs"] and not sets["ours"]:
            why = NO_HEAPLAB
        elif m["heaps"] != "-" and not sets[m["heaps"]]:
            why = NO_SET[m["heaps"]]
        elif "bpf" in m["needs"] and not env["btf"]:
            why = f"no BTF ({BTF} missing: the kernel lacks CONFIG_DEBUG_INFO_BTF), tracers skipped"
        elif tool and not env["tracers"].get(tool):
            why = f"bpf/{tool} not built (configure left bpf/ out)"
        elif "ownzero" in m["needs"] and env.get("init_on_alloc"):
            why = (f"the page allocator zeroes every page ({env['init_on_alloc']}): heaplab"
                   " leaves its pages to it and has no zeroing of its own to time")
        elif "root" in m["needs"] and not env["root"]:
            why = f"not root: {ROOT_WHY.get(run, 'needs root')}"
        if why:
            left.append((name, why))
            continue
        args = []
        for a in m["args"]:
            if a == "--perf" and env["perf"]:
                noperf.append(name)
                continue
            args.append(a.replace("{heaptrace}", env["tracers"].get("heaptrace") or "")
                        .replace("{out}", env["out"]))
        paths = [x for p in sets[m["heaps"]] for x in ("--heap", p)]
        runs.append({"name": name, "run": run, "args": paths + args, "settle": env["root"]})
    if noperf:
        left.append((f"perf counters (--perf) of {', '.join(noperf)}", f"no perf: {env['perf']}"))
    return runs, left


def command(r, bench, tracers, out):
    """The argv of one planned run."""
    settle = ["--settle"] if r["settle"] else []
    if r["run"] == "cmatrace":
        return [tracers["cmatrace"], "--json", os.path.join(out, r["name"] + ".json"), "--",
                bench, "pressure", *settle, *r["args"]]
    return [bench, r["run"], "--raw", *settle, "--json", os.path.join(out, r["name"] + ".json"),
            *r["args"]]


def perf_problem():
    """None when perf can count this process's events, else why not."""
    para = "?"
    try:
        with open("/proc/sys/kernel/perf_event_paranoid") as f:
            para = f.read().strip()
    except OSError:
        return "perf_event_open is not available (no /proc/sys/kernel/perf_event_paranoid)"
    if not shutil.which("perf"):
        return "the perf tool is not installed (apt-get install linux-perf)"
    try:
        p = subprocess.run(["perf", "stat", "-e", "task-clock", "--", "true"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"perf stat does not run: {e}"
    if p.returncode:
        last = (p.stderr.strip().splitlines() or ["?"])[-1]
        return f"perf stat fails (perf_event_paranoid {para}): {last}"
    return None


def find_tracers(bench):
    """heaptrace and cmatrace beside heaplab-bench: installed, or the build tree's bpf/."""
    d = os.path.dirname(os.path.abspath(bench))
    out = {}
    for t in ("heaptrace", "cmatrace"):
        out[t] = next((p for p in (os.path.join(d, t), os.path.join(d, "..", "bpf", t))
                       if os.access(p, os.X_OK)), None)
    return out


def default_bench():
    """The build tree's heaplab-bench beside reports/, else the one on PATH."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    p = os.path.join(here, "bench", "heaplab-bench")
    return p if os.access(p, os.X_OK) else shutil.which("heaplab-bench")


def cpu_model(cpuinfo):
    for key in ("model name", "Model", "Hardware", "cpu model", "Processor"):
        for line in cpuinfo.splitlines():
            k, _, v = line.partition(":")
            if k.strip() == key and v.strip():
                return v.strip()
    return platform.processor() or "unknown"


def describe(probe, heaps, env, cpuinfo):
    """The machine description: (what, value) rows."""
    m = probe["machine"]
    page = os.sysconf("SC_PAGE_SIZE")
    cma = ", ".join(f"{a['name']} ({a['pages'] * page >> 20} MiB)" for a in m.get("cma_areas", []))
    rows = [("kernel", f"{m.get('kernel', '?')} ({m.get('arch', '?')})"),
            ("CPU", f"{cpu_model(cpuinfo)}, {m.get('cpus', '?')} online"
                    f" of {m.get('cpus_configured', '?')}"),
            ("memory", f"{int(m.get('mem_bytes', 0)) >> 20} MiB, CMA {int(m.get('cma_bytes', 0)) >> 20}"
                       f" MiB" + (f" ({cma})" if cma else ""))]
    for h in heaps:
        impl = {"heaplab": "heaplab's module", "upstream": "the kernel's (dma_heap)"}.get(
            h["impl"], "not a heap device known to heaplab")
        rows.append(("heap " + h["path"], f"{h['kind']} heap, {impl}"))
    rows.append(("root", "yes" if env["root"] else "no"))
    rows.append(("BTF", BTF if env["btf"] else f"none ({BTF} missing)"))
    rows.append(("perf", "counts" if not env["perf"] else env["perf"]))
    return rows


def per_heap_rows(rs):
    """p50 (us) of every metric, one column per heap: the absolute figures,
    which mean something here (no emulator) and need no heaplab twin."""
    cols, rows = [], {}
    for name, d in data.metrics(rs).items():
        parts = name.split(" ")
        heap = next((p[5:] for p in parts if p.startswith("heap=")), None)
        if not heap:
            continue
        if heap not in cols:
            cols.append(heap)
        key = " ".join(p for p in parts if not p.startswith("heap="))
        rows.setdefault(key, {})[heap] = d["p50_ns"] / 1e3
    body = [(k, *[f"{v[h]:.1f}" if h in v else "-" for h in cols])
            for k, v in sorted(rows.items(), key=lambda kv: data.natural_key(kv[0]))]
    return ["metric", *[data.heap_label(h) + " p50 (us)" for h in cols]], body


def sections(desc, left, ran, failed, rs):
    """The report's host-run sections: (title, html)."""
    out = [("This machine", _table(["what", "value"], desc))]
    items = left + [(f"{n} (failed)", why) for n, why in failed]
    out.append(("Left out", _table(["item", "reason"], items) if items
                else "<p>Nothing: every run of the matrix ran.</p>"))
    out.append(("Runs", f"<p>{len(ran)} run(s) passed: {html.escape(' '.join(ran))}.</p>"))
    if rs["runs"]:
        head, body = per_heap_rows(rs)
        out.append(("p50 per heap, every metric", _table(head, body)))
    return out


def text(desc, left, ran, failed):
    lines = ["# this machine"] + [f"{k}: {v}" for k, v in desc] + ["# left out"]
    lines += [f"{k}: {v}" for k, v in left] + [f"{n}: failed: {why}" for n, why in failed]
    if not left and not failed:
        lines.append("nothing")
    lines.append(f"# {len(ran)} run(s) passed, {len(failed)} failed, {len(left)} left out")
    return "\n".join(lines) + "\n"


def init_on_alloc(cmdline, config):
    """Why the page allocator zeroes every page here, or None: the kernel
    command line's init_on_alloc= wins over the build's default."""
    for tok in cmdline.split():
        if tok.startswith("init_on_alloc="):
            v = tok.split("=", 1)[1]
            return f"{tok} on the kernel command line" if v in ("1", "on", "y") else None
    if "CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y" in config.splitlines():
        return "CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y in this kernel's build"
    return None


def host_provenance(release):
    """What keys this run in the history (heaplab history add): this tree's
    commit, the running kernel's config, no emulator."""
    from . import history
    config = next((p for p in (f"/boot/config-{release}",
                               "/proc/config.gz" if release == os.uname().release else None)
                   if p and os.access(p, os.R_OK)), None)
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    try:
        return history.provenance(top, config, release, "host", "none", cpu_model(_read("/proc/cpuinfo")))
    except data.BadInput:   # an unreadable config.gz: the run goes on, its config unknown
        return history.provenance(top, None, release, "host", "none", cpu_model(_read("/proc/cpuinfo")))


def probe_machine(bench, extra):
    p = subprocess.run([bench, "machine", *extra], capture_output=True, text=True)
    if p.returncode:
        raise data.BadInput(p.stderr.strip() or f"{bench} machine failed ({p.returncode})")
    return json.loads(p.stdout)


def say(msg):
    print(f"heaplab run: {msg}", file=sys.stderr, flush=True)


def main(a):
    """heaplab run (argparse namespace: quick, heap, out, bench): exit status."""
    bench = a.bench or default_bench()
    if not bench or not os.access(bench, os.X_OK):
        raise data.BadInput(f"no heaplab-bench at {bench or 'bench/heaplab-bench or on PATH'}"
                            " (build it, or give --bench PATH)")
    for h in a.heap:
        if not os.path.exists(h):
            raise data.BadInput(f"--heap {h}: no such device")
    probe = probe_machine(bench, a.heap)
    heaps = heaps_of(probe, cma_area_names())
    if not heaps:
        raise data.BadInput("no DMA-BUF heap on this machine: /dev/dma_heap is missing or empty"
                            " (kernel without CONFIG_DMABUF_HEAPS_SYSTEM/_CMA?), /dev/heaplab"
                            " too, and no --heap PATH given")
    out = a.out or "heaplab-run-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    if os.path.isdir(out) and os.listdir(out):
        raise data.BadInput(f"--out {out}: exists and is not empty (results would mix)")
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    tracers = find_tracers(bench)
    env = {"root": os.geteuid() == 0, "btf": os.path.exists(BTF), "perf": perf_problem(),
           "tracers": tracers, "out": out,
           "init_on_alloc": init_on_alloc(_read("/proc/cmdline"),
                                          _read(f"/boot/config-{os.uname().release}"))}
    matrix = read_matrix(a.matrix or matrix_path(), "quick" if a.quick else "full")
    runs, left = plan(matrix, heaps, env)
    for item, why in left:
        say(f"left out: {item}: {why}")
    ran, failed = [], []
    for i, r in enumerate(runs, 1):
        argv = command(r, bench, tracers, out)
        say(f"[{i}/{len(runs)}] {' '.join(argv)}")
        log = os.path.join(out, "logs", r["name"] + ".log")
        with open(log, "w") as f:
            rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode
        if rc:
            with open(log) as f:
                last = (f.read().strip().splitlines() or ["no output"])[-1]
            failed.append((r["name"], f"exit {rc}: {last} (logs/{r['name']}.log)"))
            say(f"{r['name']} failed: exit {rc}: {last}")
        else:
            ran.append(r["name"])
    jsons = sorted(os.path.join(out, n) for n in os.listdir(out) if n.endswith(".json"))
    side = [p for p in jsons if data.side_kind(p)]
    rs = data.merge([p for p in jsons if p not in side])
    desc = describe(probe, heaps, env, _read("/proc/cpuinfo"))
    rs["provenance"] = host_provenance(probe["machine"].get("kernel"))
    with open(os.path.join(out, "provenance.json"), "w") as f:
        json.dump(rs["provenance"], f, indent=1)
    if rs["runs"]:
        from . import report
        report.report(rs, out, [data.load_side(p) for p in side],
                      extra=sections(desc, left, ran, failed, rs))
    else:
        say("no run wrote its JSON: no report")
    summary = text(desc, left, ran, failed)
    with open(os.path.join(out, "machine.txt"), "w") as f:
        f.write(summary)
    with open(os.path.join(out, "machine.json"), "w") as f:
        json.dump({"machine": probe["machine"], "heaps": heaps, "root": env["root"],
                   "btf": env["btf"], "perf": env["perf"], "cpu_model": cpu_model(
                       _read("/proc/cpuinfo")), "left_out": left, "failed": failed,
                   "passed": ran}, f, indent=1)
    sys.stdout.write(summary)
    say(f"{len(ran)} run(s) passed, {len(failed)} failed, {len(left)} left out;"
        f" report: {out}/index.html" if rs["runs"] else f" no report, logs in {out}/logs")
    return 1 if failed or not ran else 0


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""
