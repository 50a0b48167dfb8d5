# SPDX-License-Identifier: GPL-2.0
"""heaplab history: every run kept in one SQLite file, in series that only
hold comparable runs.

A run is one boot's run set (bench.json) with the stress and tracer
documents that go with it. It is keyed by what makes two runs comparable:
the heaplab commit, the kernel (release and a hash of its .config), the
machine class (its name, CPU model, accelerator, clock, guest CPUs and
memory; the memset bandwidth of each boot is kept beside it, and a boot far
from its class's is named when added) and, per metric, the heap and its
implementation. Raw times move with the machine, so beside them the store
keeps ratios measured within one boot: heaplab / upstream p50 of twin
cases, and zeroing GB/s over the memset limit.

Schema versions are MIGRATIONS (PRAGMA user_version = how many ran); each
command is one transaction, so an interrupted one leaves the DB as it was.
"""
import contextlib
import datetime
import gzip
import hashlib
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import time
import zlib

import numpy as np

from . import data

PROVENANCE_SCHEMA = "heaplab-provenance/1"
PROVENANCE_FILE = "heaplab-provenance-1.json"
DEFAULT_DB = os.path.join("reports", "out", "history.sqlite")
# A boot whose memset GB/s is off its class's first by more than this is
# named when added. Not a class of its own: under the host clock one
# loaded 2-core host gave 0.42 to 0.80 GB/s over 8 boots of one build
# (docs/history.md), as far apart as two machines of one kind are.
CLASS_TOLERANCE = 0.25
# Throughputs in a case besides its distributions: field -> unit.
RATES = {"p50_gbps": "GB/s", "worker_clear_gbps": "GB/s", "ops_per_s": "ops/s"}

MIGRATIONS = [
    # 1: the core
    """
    CREATE TABLE machines (id INTEGER PRIMARY KEY, cpu_model TEXT NOT NULL, accel TEXT NOT NULL,
        clock TEXT NOT NULL, guest_cpus INTEGER NOT NULL, guest_mem INTEGER NOT NULL,
        memset_gbps REAL NOT NULL);
    CREATE TABLE kernels (id INTEGER PRIMARY KEY, release TEXT NOT NULL, version TEXT,
        config_sha256 TEXT);
    CREATE TABLE runs (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,
        digest TEXT NOT NULL UNIQUE, added_at TEXT NOT NULL, "commit" TEXT NOT NULL,
        describe TEXT, dirty INTEGER, branch TEXT,
        machine_id INTEGER NOT NULL REFERENCES machines(id),
        kernel_id INTEGER NOT NULL REFERENCES kernels(id),
        memset_gbps REAL NOT NULL, source TEXT, report TEXT);
    CREATE TABLE metrics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, tool TEXT, heap TEXT,
        impl TEXT, kind TEXT NOT NULL CHECK (kind IN ('time', 'ratio', 'gbps')),
        unit TEXT NOT NULL, better TEXT NOT NULL CHECK (better IN ('lower', 'higher')));
    CREATE TABLE points (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        metric_id INTEGER NOT NULL REFERENCES metrics(id), n INTEGER, p50 REAL NOT NULL,
        p90 REAL, p99 REAL, p999 REAL, mean REAL, stddev REAL, samples BLOB,
        PRIMARY KEY (run_id, metric_id));
    CREATE INDEX points_metric ON points(metric_id);
    """,
    # 2: the stress and tracer documents of a run (zlib JSON); digest: one
    # document given with several runs (make stress's, reused by each make
    # bench report) is kept, and its metrics counted, once
    """
    CREATE TABLE docs (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind TEXT NOT NULL, digest TEXT NOT NULL UNIQUE, body BLOB NOT NULL);
    """,
    # 3: machines by name (--machine, the testbed), no longer split by memset
    # bandwidth; machines.memset_gbps stays the class's first run's
    """
    ALTER TABLE machines ADD COLUMN name TEXT NOT NULL DEFAULT '';
    """,
]


# --- the database ---------------------------------------------------------

@contextlib.contextmanager
def transaction(conn):
    """All or nothing (autocommit connection: BEGIN covers the DDL too)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn, upto=len(MIGRATIONS)):
    """Run the migrations past the DB's user_version, up to @upto, in one transaction."""
    with transaction(conn):
        v = conn.execute("PRAGMA user_version").fetchone()[0]
        for sql in MIGRATIONS[v:upto]:
            for stmt in sql.split(";"):
                if stmt.strip():
                    conn.execute(stmt)
        conn.execute(f"PRAGMA user_version = {max(v, upto)}")


def open_db(path, create=False):
    """The history at @path, migrated to this heaplab's schema. BadInput when
    it is missing (unless @create), not a history, or of a newer schema."""
    if not os.path.exists(path):
        if not create:
            raise data.BadInput(f"{path}: no history DB there (heaplab history add --db {path}"
                                " makes one)")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        v = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise data.BadInput(f"{path}: not a heaplab history DB: {e}")
    if v > len(MIGRATIONS):
        conn.close()
        raise data.BadInput(f"{path}: schema version {v} is newer than this heaplab's"
                            f" {len(MIGRATIONS)}")
    if v == 0 and tables:
        conn.close()
        raise data.BadInput(f"{path}: not a heaplab history DB (SQLite tables without its"
                            " schema version)")
    if v < len(MIGRATIONS):
        migrate(conn)
    return conn


# --- provenance -----------------------------------------------------------

def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def config_sha256(path):
    """sha256 of a kernel .config, decompressed when gzipped (/proc/config.gz)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise data.BadInput(f"--kernel-config {path}: {getattr(e, 'strerror', None) or e}")
    return hashlib.sha256(raw).hexdigest()


def _git(srcdir, *args):
    try:
        p = subprocess.run(["git", "-C", srcdir, *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def provenance(srcdir, kernel_config=None, kernel_release=None, clock=None, accel=None,
               cpu_model=None, machine=None):
    """A heaplab-provenance/1 document: the commit of @srcdir ("unknown"
    outside git), the kernel config's hash, and how the run was taken."""
    commit = _git(srcdir, "rev-parse", "HEAD")
    branch = _git(srcdir, "rev-parse", "--abbrev-ref", "HEAD") if commit else None
    if kernel_release is None and kernel_config:
        # build-kernel's obj dir has it beside .config; /boot/config-RELEASE names it
        rel = os.path.join(os.path.dirname(kernel_config), "include", "config", "kernel.release")
        base = os.path.basename(kernel_config)
        if os.path.exists(rel):
            with open(rel) as f:
                kernel_release = f.read().strip() or None
        elif base.startswith("config-"):
            kernel_release = base[len("config-"):]
    if cpu_model is None:
        from .hostrun import cpu_model as model
        try:
            with open("/proc/cpuinfo") as f:
                cpu_model = model(f.read())
        except OSError:
            cpu_model = None
    return {"schema": PROVENANCE_SCHEMA, "heaplab_commit": commit or "unknown",
            "heaplab_describe": _git(srcdir, "describe", "--always", "--dirty") if commit else None,
            "dirty": bool(_git(srcdir, "status", "--porcelain", "--untracked-files=no"))
            if commit else None,
            "branch": None if branch in (None, "HEAD") else branch,
            "kernel_release": kernel_release,
            "kernel_config_sha256": config_sha256(kernel_config) if kernel_config else None,
            "clock": clock, "accel": accel, "host_cpu_model": cpu_model,
            "machine": machine or os.environ.get("HEAPLAB_MACHINE") or None, "date": now()}


def load_provenance(path, doc=None):
    doc = data.read(path) if doc is None else doc
    data.validate_tool_doc(doc, path, PROVENANCE_FILE, PROVENANCE_SCHEMA)
    return doc


def provenance_for(paths):
    """The provenance of the run a report is made from: a heaplab-provenance/1
    document among @paths, else a run set's own, else a provenance.json
    beside one of them (None when there is none)."""
    for p in paths:
        doc = data.read(p)
        if doc.get("schema") == PROVENANCE_SCHEMA:
            return load_provenance(p, doc)
    for p in paths:
        doc = data.read(p)
        if doc.get("schema") == data.SET_SCHEMA and doc.get("provenance"):
            return load_provenance(f"{p}: provenance", doc["provenance"])
    for d in dict.fromkeys(os.path.dirname(os.path.abspath(p)) for p in paths):
        p = os.path.join(d, "provenance.json")
        if os.path.exists(p):
            return load_provenance(p)
    return None


# --- what a run holds -----------------------------------------------------

def _impl(heap):
    if not heap:
        return None
    if heap.startswith("/dev/heaplab/"):
        return "heaplab"
    if heap.startswith("/dev/dma_heap/"):
        return "upstream"
    return heap.split(":", 1)[0] if ":" in heap else None


def _time_point(d, n="n"):
    pt = {q: d.get(q + "_ns") for q in ("p50", "p90", "p99", "p999", "mean", "stddev")}
    return dict(pt, n=d.get(n), samples=d.get("samples_ns"))


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def memset_gbps(rs):
    """The machine's memset bandwidth in this boot: the median over sizes."""
    v = [r["p50_gbps"] for r in data.by_tool(rs, "memset") if _num(r.get("p50_gbps"))]
    return float(np.median(v)) if v else None


def run_metrics(rs, docs=()):
    """{name: (meta, point)} of one run: meta (tool, heap, impl, kind, unit,
    better), point the columns of points. Times are data.metric_items' names."""
    out = {}

    def put(name, tool, heap, kind, unit, better, point):
        out[name] = ((tool, heap, _impl(heap), kind, unit, better), point)

    for run in rs["runs"]:
        for r in run["results"]:
            base = data.case_key(run["tool"], r)
            for k, v in r.items():
                if data.is_dist(v) and v["n"]:
                    put(f"{base} {k}", run["tool"], r.get("heap"), "time", "ns", "lower",
                        _time_point(v))
                elif k in RATES and _num(v):
                    n = next((d["n"] for d in r.values() if data.is_dist(d)), None)
                    put(f"{base} {k}", run["tool"], r.get("heap"), "gbps", RATES[k], "higher",
                        {"n": n, "p50": float(v)})
    for doc in docs:
        out.update(doc_metrics(doc))
    # Ratios within the boot, which a slower or faster machine moves less.
    for name, ((tool, heap, impl, kind, *_), pt) in list(out.items()):
        twin = data.upstream_twin(heap)
        if kind != "time" or not twin:
            continue
        up = out.get(name.replace(f" heap={heap}", f" heap={twin}", 1))
        if up and up[1]["p50"] > 0:
            put(f"{name} / upstream", tool, heap, "ratio", "x", "lower",
                {"n": min(pt["n"] or 0, up[1]["n"] or 0) or None, "p50": pt["p50"] / up[1]["p50"]})
    limit = {r["size"]: r["p50_gbps"] for r in data.by_tool(rs, "memset") if _num(r.get("p50_gbps"))}
    for r in data.by_tool(rs, "zero"):
        if _num(r.get("p50_gbps")) and limit.get(r.get("size")):
            put(f"{data.case_key('zero', r)} p50_gbps / memset", "zero", r.get("heap"), "ratio", "x",
                "higher", {"n": r["zero"]["n"] if data.is_dist(r.get("zero")) else None,
                           "p50": r["p50_gbps"] / limit[r["size"]]})
    return out


def doc_metrics(doc):
    """A few figures of a stress or tracer document, named like bench metrics:
    heaptrace's allocation ioctl and cmatrace's cma_alloc time per size, and
    the ops per second of each stress command."""
    out = {}
    kind = doc["schema"]
    if kind == data.HEAPTRACE_SCHEMA:
        for e in doc.get("entries", []):
            st = e.get("stages", {}).get("ioctl")
            root = {"heaplab": "/dev/heaplab/", "upstream": "/dev/dma_heap/"}.get(e.get("impl"))
            if st and st.get("count") and root:
                heap = root + e["heap"]
                out[f"heaptrace heap={heap} size_max={e['size_max']} ioctl"] = (
                    ("heaptrace", heap, _impl(heap), "time", "ns", "lower"),
                    _time_point(st, n="count"))
    elif kind == data.CMATRACE_SCHEMA:
        for a in doc.get("areas", []):
            if a.get("count"):
                out[f"cmatrace cma={a['cma']} size_max={a['size_max']} cma_alloc"] = (
                    ("cmatrace", None, None, "time", "ns", "lower"),
                    {"n": a["count"], "p50": a["p50_ns"], "p99": a.get("p99_ns")})
    elif kind == data.STRESS_SCHEMA and doc.get("elapsed_s", 0) > 0:
        parts = [doc.get(k) or [] for k in ("stressors", "fault", "pressure")]
        ops = sum(s.get("ops", 0) for p in parts for s in p) + (doc.get("fuzz") or {}).get("calls", 0)
        if ops:
            out[f"stress {doc['tool']} ops_per_s"] = (("stress", None, None, "gbps", "ops/s", "higher"),
                                                      {"n": None, "p50": ops / doc["elapsed_s"]})
    return out


def digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def run_digest(rs):
    """The same boot's runs, in whatever order and file they come: one digest."""
    return digest(sorted(json.dumps(r, sort_keys=True) for r in rs["runs"]))


def pack(samples):
    if samples is None or not len(samples):
        return None
    return zlib.compress(np.asarray(samples, dtype="<f4").tobytes())


def unpack(blob):
    return None if blob is None else np.frombuffer(zlib.decompress(blob), dtype="<f4").astype(float)


# --- RESULTS: what add is given -------------------------------------------

def _schema_of(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return doc.get("schema") if isinstance(doc, dict) else None


def run_item(where, rs, report=None, prov=None, docs=()):
    return {"where": where, "rs": rs, "report": report, "prov": prov, "docs": list(docs),
            "source": []}


def _from_dir(d):
    """A report directory (make bench's reports/out, heaplab run's --out):
    bench.json (else the tool documents in it), the tracer documents in it
    and in guest/, the stress documents in stress/, index.html."""
    jsons = {sub: sorted(os.path.join(d, sub, n) for n in os.listdir(os.path.join(d, sub))
                         if n.endswith(".json"))
             for sub in ("", "guest", "stress") if os.path.isdir(os.path.join(d, sub))}
    every = [p for ps in jsons.values() for p in ps]
    kinds = {p: _schema_of(p) for p in every}
    bench = os.path.join(d, "bench.json")
    if os.path.exists(bench):
        rs = data.load(bench)
        src = [bench]
    else:
        src = [p for p in every if kinds[p] == data.TOOL_SCHEMA]
        if not src:
            raise data.BadInput(f"{d}: not a heaplab run: no bench.json and no heaplab-bench"
                                " JSON in it")
        rs = data.merge(src)
    prov = rs.get("provenance") and load_provenance(f"{bench}: provenance", rs["provenance"])
    for p in (os.path.join(d, "provenance.json"), os.path.join(d, "guest", "provenance.json")):
        if not prov and os.path.exists(p):
            prov = load_provenance(p)
    docs = [p for p in every if kinds[p] in data.SIDE_SCHEMAS]
    index = os.path.join(d, "index.html")
    it = run_item(d, rs, index if os.path.exists(index) else None, prov, [data.load_side(p) for p in docs])
    it["source"] = src + docs
    return it


def gather(paths):
    """The runs RESULTS name, each {where, rs, report, prov, docs, source}.
    A run set (bench.json) or a directory is one run; loose tool documents
    are one run together; stress, tracer and provenance documents go with
    the one run given beside them."""
    items, tools, side, provs = [], [], [], []
    for p in paths:
        if os.path.isdir(p):
            items.append(_from_dir(p))
            continue
        doc = data.read(p)
        kind = doc.get("schema")
        if kind == data.SET_SCHEMA:
            rs = data.load(p)
            index = os.path.join(os.path.dirname(os.path.abspath(p)), "index.html")
            prov = provenance_for([p])
            items.append(run_item(p, rs, index if os.path.exists(index) else None, prov))
            items[-1]["source"] = [p]
        elif kind == data.TOOL_SCHEMA:
            tools.append(p)
        elif kind in data.SIDE_SCHEMAS:
            side.append(p)
        elif kind == PROVENANCE_SCHEMA:
            provs.append(p)
        else:
            raise data.BadInput(f"{p}: not a heaplab run: schema is {kind!r}, want a heaplab-bench"
                                " run set or tool document, a stress or tracer document, a"
                                " provenance, or a report directory")
    if tools:
        it = run_item(tools[0], data.merge(tools))
        beside = os.path.join(os.path.dirname(os.path.abspath(tools[0])), "provenance.json")
        it["prov"] = load_provenance(beside) if os.path.exists(beside) else None
        it["source"] = list(tools)
        items.append(it)
    extra = side + provs
    if extra and len(items) != 1:
        raise data.BadInput(f"{extra[0]}: stress, tracer and provenance documents go with one run;"
                            f" {'none' if not items else len(items)} given beside them")
    if extra:
        items[0]["docs"] += [data.load_side(p) for p in side]
        items[0]["source"] += side
        if provs:
            items[0]["prov"] = load_provenance(provs[0])
    if not items:
        raise data.BadInput("history add: no run given")
    return items


# --- add ------------------------------------------------------------------

def _key(it, flags):
    """commit, describe, dirty, branch, kernel config, clock, accel, cpu,
    machine name: the flags first, then the run's provenance."""
    pv = it["prov"] or {}
    commit = flags.get("commit") or pv.get("heaplab_commit")
    if not commit or commit == "unknown":
        raise data.BadInput(f"{it['where']}: no heaplab commit (no provenance with one): give"
                            " --commit C")
    cfg = flags.get("kernel_config")
    mach = data.machine(it["rs"])
    rel = pv.get("kernel_release")
    if rel and mach.get("kernel") and rel != mach["kernel"] and not cfg:
        raise data.BadInput(f"{it['where']}: provenance: kernel_release: {rel}: the run booted"
                            f" {mach['kernel']} (a provenance of another run?)")
    return {"commit": commit,
            "describe": pv.get("heaplab_describe") if not flags.get("commit") else None,
            "dirty": pv.get("dirty") if not flags.get("commit") else None,
            "branch": flags.get("branch") or pv.get("branch"),
            "config": config_sha256(cfg) if cfg else pv.get("kernel_config_sha256"),
            "clock": flags.get("clock") or pv.get("clock") or "unknown",
            "accel": flags.get("accel") or pv.get("accel") or "unknown",
            "cpu": flags.get("cpu_model") or pv.get("host_cpu_model") or "unknown",
            "name": flags.get("machine") or pv.get("machine") or ""}


def _one(conn, sql, args):
    r = conn.execute(sql, args).fetchone()
    return r[0] if r else None


def machine_class(conn, key, gbps):
    """(id, new, factor): the class of these keys (name, CPU model, accel,
    clock, guest CPUs, guest GiB), else a new one; factor: @gbps over the
    class's reference memset bandwidth."""
    row = conn.execute("SELECT id, memset_gbps FROM machines WHERE name = ? AND cpu_model = ?"
                       " AND accel = ? AND clock = ? AND guest_cpus = ? AND guest_mem = ?",
                       key).fetchone()
    if row:
        return row[0], False, gbps / row[1]
    cur = conn.execute("INSERT INTO machines (name, cpu_model, accel, clock, guest_cpus, guest_mem,"
                       " memset_gbps) VALUES (?, ?, ?, ?, ?, ?, ?)", (*key, gbps))
    return cur.lastrowid, True, 1.0


def kernel_id(conn, release, version, config):
    k = _one(conn, "SELECT id FROM kernels WHERE release = ? AND version IS ? AND config_sha256 IS ?",
             (release, version, config))
    return k or conn.execute("INSERT INTO kernels (release, version, config_sha256) VALUES (?, ?, ?)",
                             (release, version, config)).lastrowid


def metric_id(conn, name, meta, cache):
    if name not in cache:
        cache[name] = _one(conn, "SELECT id FROM metrics WHERE name = ?", (name,)) or conn.execute(
            "INSERT INTO metrics (name, tool, heap, impl, kind, unit, better)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (name, *meta)).lastrowid
    return cache[name]


def _pause():
    """Tests only: stop inside the transaction, to be killed there."""
    secs = os.environ.get("HEAPLAB_HISTORY_TEST_PAUSE")
    if secs:
        print("history: test pause inside the transaction", file=sys.stderr, flush=True)
        time.sleep(float(secs))


def prepare(items, flags=None):
    """Check what add() needs of each run before the DB is touched (or made):
    sets each item's key (_key()) and memset bandwidth. Returns the flags."""
    flags = {k: v for k, v in (vars(flags) if hasattr(flags, "__dict__") else flags or {}).items()
             if v is not None}
    if flags.get("report") and len(items) > 1:
        raise data.BadInput(f"--report: one report for {len(items)} runs")
    for it in items:
        if not it["rs"]["runs"]:
            raise data.BadInput(f"{it['where']}: not a heaplab run: no bench run in it")
        it["key"] = _key(it, flags)
        it["gbps"] = memset_gbps(it["rs"])
        if not it["gbps"] or it["gbps"] <= 0:
            raise data.BadInput(f"{it['where']}: no memset run (heaplab-bench memset): its"
                                " bandwidth keys the machine class")
    return flags


def add(conn, items, flags=None):
    """Add the runs of gather() in one transaction: all or none. flags: the
    CLI's commit, branch, kernel_config, clock, accel, cpu_model, machine, report
    (None: from the provenance). Returns per run {run, seq, commit, metrics,
    docs, skipped_docs, machine, new_machine, kernel, memset_factor}."""
    flags = prepare(items, flags)
    done, cache = [], {}
    with transaction(conn):
        for it in items:
            rs, where, key, gbps = it["rs"], it["where"], it["key"], it["gbps"]
            dg = run_digest(rs)
            old = conn.execute('SELECT id, "commit" FROM runs WHERE digest = ?', (dg,)).fetchone()
            if old:
                raise data.BadInput(f"{where}: run already in DB as run {old[0]}"
                                    f" (commit {short(old[1])})")
            mach = data.machine(rs)
            mem = math.ceil(int(mach.get("mem_bytes", 0)) / (1 << 30))    # MemTotal < what was given
            mid, new, factor = machine_class(conn, (key["name"], key["cpu"], key["accel"],
                                                    key["clock"], mach.get("cpus", 0), mem), gbps)
            kid = kernel_id(conn, mach.get("kernel", "unknown"), mach.get("version"), key["config"])
            seq = (_one(conn, "SELECT max(seq) FROM runs", ()) or 0) + 1
            report = flags.get("report") or it["report"]
            rid = conn.execute(
                'INSERT INTO runs (seq, digest, added_at, "commit", describe, dirty, branch,'
                " machine_id, kernel_id, memset_gbps, source, report)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, dg, now(), key["commit"], key["describe"], key["dirty"], key["branch"], mid,
                 kid, gbps, " ".join(os.path.abspath(p) for p in it["source"]) or where,
                 os.path.abspath(report) if report else None)).lastrowid
            docs = []
            for d in it["docs"]:
                ddg = digest(d)
                if not _one(conn, "SELECT count(*) FROM docs WHERE digest = ?", (ddg,)):
                    conn.execute("INSERT INTO docs (run_id, kind, digest, body) VALUES (?, ?, ?, ?)",
                                 (rid, d["schema"], ddg, zlib.compress(json.dumps(d).encode())))
                    docs.append(d)
            ms = run_metrics(rs, docs)
            for i, (name, (meta, pt)) in enumerate(ms.items()):
                conn.execute("INSERT INTO points (run_id, metric_id, n, p50, p90, p99, p999, mean,"
                             " stddev, samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (rid, metric_id(conn, name, meta, cache), pt.get("n"), pt["p50"],
                              pt.get("p90"), pt.get("p99"), pt.get("p999"), pt.get("mean"),
                              pt.get("stddev"), pack(pt.get("samples"))))
                if i == 0:
                    _pause()
            done.append({"run": rid, "seq": seq, "commit": key["commit"], "metrics": len(ms),
                         "docs": len(docs), "skipped_docs": len(it["docs"]) - len(docs),
                         "machine": mid, "new_machine": new, "kernel": kernel_label(conn, kid),
                         "memset_factor": factor})
    return done


# --- reading --------------------------------------------------------------

def short(commit):
    return commit[:7] if commit and re.fullmatch(r"[0-9a-f]{40}", commit) else commit


def machine_labels(conn):
    acc = {"tcg": "QEMU TCG", "kvm": "QEMU KVM", "none": "no emulator", "unknown": "emulator unknown"}
    return {i: f"{name + ': ' if name else ''}{acc.get(a, a)}"
               f"{'' if cpu == 'unknown' else ' on ' + cpu}, {cpus} CPUs, {mem} GiB,"
               f" {clock} clock, class {i} ({g:.2f} GB/s)"
            for i, name, cpu, a, clock, cpus, mem, g in conn.execute(
                "SELECT id, name, cpu_model, accel, clock, guest_cpus, guest_mem, memset_gbps"
                " FROM machines")}


def kernel_label(conn, kid):
    rel, cfg = conn.execute("SELECT release, config_sha256 FROM kernels WHERE id = ?", (kid,)).fetchone()
    return f"{rel} (config {cfg[:8] if cfg else 'unknown'})"


def series(conn):
    """One series per (metric, machine class, kernel), points by seq: the
    shape changepoint.check() and dashboard.write() take (docs/history.md)."""
    machines = machine_labels(conn)
    kernels = {k: kernel_label(conn, k) for k, in conn.execute("SELECT id FROM kernels")}
    out = {}
    for (name, kind, unit, better, mid, kid, rid, seq, commit, added, report, p50, p99, n,
         samples) in conn.execute(
            'SELECT m.name, m.kind, m.unit, m.better, r.machine_id, r.kernel_id, r.id, r.seq,'
            ' r."commit", r.added_at, r.report, p.p50, p.p99, p.n, p.samples FROM points p'
            " JOIN runs r ON r.id = p.run_id JOIN metrics m ON m.id = p.metric_id ORDER BY r.seq"):
        s = out.get((name, mid, kid))
        if s is None:
            s = out[(name, mid, kid)] = {
                "key": hashlib.sha1(f"{name}|{mid}|{kid}".encode()).hexdigest()[:10],
                "metric": name, "kind": kind, "unit": unit, "better": better,
                "machine": machines[mid], "kernel": kernels[kid], "points": []}
        s["points"].append({"run": rid, "seq": seq, "commit": short(commit), "added": added,
                            "value": p50, "p99": p99, "n": n, "samples": unpack(samples),
                            "report": report})
    return [out[k] for k in sorted(out, key=lambda k: (k[1], k[2], data.natural_key(k[0])))]


def runs(conn):
    machines = machine_labels(conn)
    return [{"run": rid, "seq": seq, "commit": short(c), "added": added, "machine": machines[mid],
             "kernel": kernel_label(conn, kid), "report": report, "source": source}
            for rid, seq, c, added, mid, kid, report, source in conn.execute(
                'SELECT id, seq, "commit", added_at, machine_id, kernel_id, report, source FROM runs'
                " ORDER BY seq")]


def docs(conn, run):
    """The stress and tracer documents stored with a run."""
    return [json.loads(zlib.decompress(b)) for b, in conn.execute(
        "SELECT body FROM docs WHERE run_id = ? ORDER BY rowid", (run,))]
