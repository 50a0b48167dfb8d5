# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the results history (history.py, heaplab history add,
heaplab provenance) over the fixture run (fixtures/: one make check guest
run, quick mode): what a run adds, the same run refused, a slower machine
kept apart, migrations, samples and ratios, provenance, bad input, and an
add killed inside its transaction."""
import copy
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from common import BENCH, HEAPLAB, SIDE, cli, fixture, tmpdir, write_json
from heaplab_reports import data, history, hostrun

KEYS = ["--commit", "abc1234", "--clock", "host", "--accel", "tcg", "--cpu-model", "Test CPU"]


def runset(change=None):
    """The fixture run as one run set, with @change(run set) applied."""
    rs = copy.deepcopy(data.merge([fixture(n) for n in BENCH]))
    if change:
        change(rs)
    return rs


def memset_scaled(factor):
    """A run whose machine's memset is @factor times as fast (its digest differs too)."""
    def change(rs):
        for r in data.by_tool(rs, "memset"):
            r["p50_gbps"] *= factor
    return change


def dump(path):
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


class HistoryAdd(unittest.TestCase):
    """heaplab history add of the fixture run, bench and side documents loose."""

    @classmethod
    def setUpClass(cls):
        cls.db = os.path.join(tmpdir(cls), "h.sqlite")
        cls.proc = cli("history", "add", "--db", cls.db, *KEYS,
                       *[fixture(n) for n in BENCH + SIDE])
        cls.conn = history.open_db(cls.db)
        cls.series = {s["metric"]: s for s in history.series(cls.conn)}

    @classmethod
    def tearDownClass(cls):
        cls.conn.close()

    def test_line_per_run(self):
        """add exits 0, one line for the run: number, commit, metrics, documents, class, kernel"""
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertRegex(self.proc.stdout, r"^history: run 1: commit abc1234, \d+ metrics, 6"
                         r" documents, machine class 1 \(new\), kernel 6\.1\.192 \(config unknown\)\n$")
        n = int(self.proc.stdout.split(", ")[1].split()[0])
        self.assertEqual(n, len(self.series))

    def test_every_time_metric(self):
        """every metric of the run is a time series of one point: its p50, p99 and n"""
        m = data.metrics(runset())
        for name, d in m.items():
            s = self.series[name]
            self.assertEqual((s["kind"], s["unit"], s["better"]), ("time", "ns", "lower"), name)
            p, = s["points"]
            self.assertEqual((p["value"], p["p99"], p["n"]), (d["p50_ns"], d["p99_ns"], d["n"]), name)

    def test_shapes(self):
        """series() and runs() give the shapes the detector and the page take"""
        s = self.series["alloc heap=/dev/heaplab/system size=4096 alloc"]
        self.assertEqual(set(s), {"key", "metric", "kind", "unit", "better", "machine", "kernel",
                                  "points"})
        self.assertRegex(s["key"], r"^[0-9a-f]{10}$")
        self.assertEqual(s["machine"], "QEMU TCG on Test CPU, 2 CPUs, 2 GiB, host clock,"
                         " class 1 (0.59 GB/s)")
        self.assertEqual(set(s["points"][0]), {"run", "seq", "commit", "added", "value", "p99", "n",
                                               "samples", "report"})
        self.assertRegex(s["points"][0]["added"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(len({x["key"] for x in self.series.values()}), len(self.series))
        r, = history.runs(self.conn)
        self.assertEqual((r["run"], r["seq"], r["commit"], r["report"]), (1, 1, "abc1234", None))
        self.assertIn(fixture("alloc"), r["source"])

    def test_samples_round_trip(self):
        """raw samples come back as stored: float32 of the run's samples_ns"""
        m = data.metrics(runset())
        n = 0
        for name, d in m.items():
            got = self.series[name]["points"][0]["samples"]
            if d.get("samples_ns"):
                n += 1
                self.assertIsInstance(got, np.ndarray)
                np.testing.assert_array_equal(got, np.asarray(d["samples_ns"], dtype=np.float32))
            else:
                self.assertIsNone(got, name)
        self.assertGreater(n, 100)

    def test_ratios(self):
        """heaplab/upstream p50 of every twin pair, and zeroing GB/s over memset's at its size"""
        m = data.metrics(runset())
        twins = 0
        for name, d in m.items():
            if " heap=/dev/heaplab/" not in name:
                continue
            up = m.get(name.replace(" heap=/dev/heaplab/", " heap=/dev/dma_heap/", 1))
            s = self.series.get(name + " / upstream")
            if up is None:
                self.assertIsNone(s, name)
                continue
            twins += 1
            self.assertEqual((s["kind"], s["unit"], s["better"]), ("ratio", "x", "lower"))
            self.assertAlmostEqual(s["points"][0]["value"], d["p50_ns"] / up["p50_ns"])
        self.assertGreater(twins, 50)
        rs = runset()
        limit = {r["size"]: r["p50_gbps"] for r in data.by_tool(rs, "memset")}
        zero = data.by_tool(rs, "zero")
        self.assertTrue(zero)
        for r in zero:
            s = self.series[f"{data.case_key('zero', r)} p50_gbps / memset"]
            self.assertEqual((s["kind"], s["better"]), ("ratio", "higher"))
            self.assertAlmostEqual(s["points"][0]["value"], r["p50_gbps"] / limit[r["size"]])
            self.assertEqual(self.series[f"{data.case_key('zero', r)} p50_gbps"]["kind"], "gbps")

    def test_documents(self):
        """the stress and tracer documents are kept whole, a few of their figures as metrics"""
        docs = history.docs(self.conn, 1)
        self.assertEqual(sorted(json.dumps(d, sort_keys=True) for d in docs),
                         sorted(json.dumps(data.read(fixture(n)), sort_keys=True) for n in SIDE))
        ht = [n for n in self.series if n.startswith("heaptrace ")]
        self.assertTrue(any(n.endswith(" ioctl") for n in ht) and any(n.endswith(" / upstream")
                                                                      for n in ht))
        self.assertEqual(self.series["stress run ops_per_s"]["better"], "higher")
        self.assertTrue(any(n.startswith("cmatrace ") for n in self.series))

    def test_twice_refused(self):
        """the same run again, as a run set, is refused naming run and commit; the DB unchanged"""
        with tempfile.TemporaryDirectory() as t:
            before = dump(self.db)
            again = write_json(t, "bench.json", runset())
            p = cli("history", "add", "--db", self.db, *KEYS, again)
            self.assertEqual(p.returncode, 2, p.stdout)
            self.assertEqual(p.stderr, f"heaplab: {again}: run already in DB as run 1"
                             " (commit abc1234)\n")
            self.assertEqual(dump(self.db), before)


class HistoryMachines(unittest.TestCase):
    def test_machines_by_name(self):
        """one machine's boots share a class whatever their memset (0.5x, 1.2x: named when added);
        another --machine name, or CPU model, is a class and series of its own"""
        with tempfile.TemporaryDirectory() as t:
            db = os.path.join(t, "h.sqlite")
            conn = history.open_db(db, create=True)
            flags = {"commit": "c1", "clock": "host", "accel": "tcg", "cpu_model": "Test CPU"}
            factors = {}
            for factor, more in ((1, {}), (0.5, {}), (1.2, {}), (1.01, {"machine": "runner-2"}),
                                 (1.02, {"cpu_model": "Other CPU"})):
                item = history.run_item(f"memset x{factor}", runset(memset_scaled(factor)))
                done, = history.add(conn, [item], dict(flags, **more))
                factors[done["run"]] = done["memset_factor"]
            self.assertAlmostEqual(factors[2], 0.5, places=2)
            self.assertAlmostEqual(factors[3], 1.2, places=2)
            classes = {r["run"]: r["machine"] for r in history.runs(conn)}
            self.assertEqual(classes[1], classes[2])
            self.assertEqual(classes[1], classes[3])
            self.assertIn("class 2 ", classes[4])
            self.assertTrue(classes[4].startswith("runner-2: "), classes[4])
            self.assertIn("class 3 ", classes[5])
            by_metric = {}
            for s in history.series(conn):
                by_metric.setdefault(s["metric"], []).append(s)
                self.assertEqual(len({classes[p["run"]] for p in s["points"]}), 1, s["metric"])
            ss = by_metric["alloc heap=/dev/heaplab/system size=4096 alloc"]
            self.assertEqual(sorted([p["run"] for p in s["points"]] for s in ss), [[1, 2, 3], [4], [5]])
            conn.close()
            # the CLI names a boot far from its class's memset
            p = cli("history", "add", "--db", db, "--commit", "c2", "--clock", "host", "--accel", "tcg",
                    "--cpu-model", "Test CPU", write_json(t, "slow.json", runset(memset_scaled(0.4))))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("memset 0.40x its machine class's first run", p.stdout)


class HistorySchema(unittest.TestCase):
    def test_migrate_v1(self):
        """a version 1 DB with a run migrates to the current schema, keeps the run, takes documents"""
        with tempfile.TemporaryDirectory() as t:
            db = os.path.join(t, "v1.sqlite")
            conn = history.open_db(db, create=True)
            history.add(conn, [history.run_item("v1", runset())], {"commit": "old"})
            want = history.series(conn)
            conn.close()
            # back to version 1's shape (migration 1's tables only), the run in it
            conn = sqlite3.connect(db, isolation_level=None)
            conn.executescript("ALTER TABLE machines DROP COLUMN name; DROP TABLE docs;"
                               " PRAGMA user_version = 1;")
            self.assertEqual(conn.execute("PRAGMA user_version").fetchone()[0], 1)
            conn.close()
            conn = history.open_db(db)
            self.assertEqual(conn.execute("PRAGMA user_version").fetchone()[0],
                             len(history.MIGRATIONS))
            got = history.series(conn)
            self.assertEqual([(s["key"], [p["value"] for p in s["points"]]) for s in got],
                             [(s["key"], [p["value"] for p in s["points"]]) for s in want])
            item = history.run_item("v2", runset(memset_scaled(1.01)),
                                 docs=[data.load_side(fixture("heaptrace"))])
            done, = history.add(conn, [item], {"commit": "new"})
            self.assertEqual((done["run"], done["docs"]), (2, 1))
            conn.close()

    def test_newer_refused(self):
        """a DB of a newer schema is refused by add, check and report, and left alone"""
        with tempfile.TemporaryDirectory() as t:
            db = os.path.join(t, "new.sqlite")
            conn = history.open_db(db, create=True)
            conn.execute(f"PRAGMA user_version = {len(history.MIGRATIONS) + 1}")
            conn.close()
            before = dump(db)
            msg = (f"heaplab: {db}: schema version {len(history.MIGRATIONS) + 1} is newer than"
                   f" this heaplab's {len(history.MIGRATIONS)}\n")
            for args in (("add", "--db", db, *KEYS, fixture("alloc"), fixture("memset")),
                         ("check", "--db", db), ("report", "--db", db, "-o", t + "/out")):
                p = cli("history", *args)
                self.assertEqual((p.returncode, p.stderr), (2, msg), args)
            self.assertEqual(dump(db), before)


class HistoryBadInput(unittest.TestCase):
    def test_named_exit_2(self):
        """not a run, no commit, no memset, a stress document alone, no DB: one line, exit 2"""
        with tempfile.TemporaryDirectory() as t:
            db = os.path.join(t, "h.sqlite")
            nope = write_json(t, "nope.json", {"schema": "nope"})
            junk = write_json(t, "junk.sqlite", {"not": "sqlite"})
            cases = [(("add", "--db", db, *KEYS, nope), f"{nope}: not a heaplab run: schema is 'nope'"),
                     (("add", "--db", db, fixture("alloc"), fixture("memset")),
                      f"{fixture('alloc')}: no heaplab commit (no provenance with one): give --commit C"),
                     (("add", "--db", db, *KEYS, fixture("stress-run")),
                      f"{fixture('stress-run')}: stress, tracer and provenance documents go with one"
                      " run; none given beside them"),
                     (("add", "--db", db, *KEYS, fixture("alloc")),
                      f"{fixture('alloc')}: no memset run (heaplab-bench memset)"),
                     (("check", "--db", db), f"{db}: no history DB there"),
                     (("report", "--db", db), f"{db}: no history DB there"),
                     (("check", "--db", junk), f"{junk}: not a heaplab history DB")]
            for args, msg in cases:
                p = cli("history", *args)
                self.assertEqual(p.returncode, 2, (args, p.stderr))
                self.assertTrue(p.stderr.startswith("heaplab: " + msg), (args, p.stderr))
                self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
            self.assertFalse(os.path.exists(db))


class HistoryInterrupted(unittest.TestCase):
    def test_killed_add_leaves_db_as_before(self):
        """an add killed in its transaction leaves the DB as before; it opens; the add then works"""
        with tempfile.TemporaryDirectory() as t:
            db = os.path.join(t, "h.sqlite")
            conn = history.open_db(db, create=True)
            history.add(conn, [history.run_item("first", runset(memset_scaled(1.05)))], {"commit": "c1"})
            conn.close()
            before = dump(db)
            big = write_json(t, "bench.json", runset())
            args = [sys.executable, HEAPLAB, "history", "add", "--db", db, *KEYS, big,
                    *[fixture(n) for n in SIDE]]
            env = dict(os.environ, HEAPLAB_HISTORY_TEST_PAUSE="60")
            p = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 env=env)
            line = p.stderr.readline()
            self.assertIn("test pause inside the transaction", line)
            self.assertTrue(os.path.exists(db + "-journal"), "no transaction open at the pause")
            os.kill(p.pid, signal.SIGKILL)
            p.communicate()
            self.assertEqual(p.returncode, -signal.SIGKILL)
            self.assertEqual(dump(db), before)
            conn = history.open_db(db)
            self.assertEqual(conn.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(len(history.runs(conn)), 1)
            conn.close()
            p = subprocess.run(args, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("history: run 2: commit abc1234", p.stdout)


class HistoryProvenance(unittest.TestCase):
    def test_git_and_config(self):
        """provenance: a git tree's commit ("unknown" outside), the config's hash, its release"""
        with tempfile.TemporaryDirectory() as t:
            src = os.path.join(t, "src")
            os.makedirs(src)
            git = ["git", "-C", src, "-c", "user.name=t", "-c", "user.email=t@t"]
            subprocess.run(git[:3] + ["init", "-q", "-b", "trunk"], check=True)
            open(os.path.join(src, "f"), "w").close()
            subprocess.run(git + ["add", "f"], check=True)
            subprocess.run(git + ["commit", "-q", "-m", "x"], check=True)
            head = subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True, text=True,
                                  check=True).stdout.strip()
            kdir = os.path.join(t, "kernel", "include", "config")
            os.makedirs(kdir)
            with open(os.path.join(kdir, "kernel.release"), "w") as f:
                f.write("6.1.192\n")
            cfg = os.path.join(t, "kernel", ".config")
            with open(cfg, "w") as f:
                f.write("CONFIG_DMABUF_HEAPS=y\n")
            with gzip.open(os.path.join(t, "config.gz"), "wt") as f:
                f.write("CONFIG_DMABUF_HEAPS=y\n")
            out = os.path.join(t, "p.json")
            p = cli("provenance", "-o", out, "--srcdir", src, "--kernel-config", cfg, "--clock",
                    "icount", "--accel", "tcg")
            self.assertEqual(p.returncode, 0, p.stderr)
            doc = history.load_provenance(out)
            self.assertEqual((doc["heaplab_commit"], doc["branch"], doc["dirty"], doc["kernel_release"],
                              doc["clock"], doc["accel"]),
                             (head, "trunk", False, "6.1.192", "icount", "tcg"))
            self.assertEqual(doc["kernel_config_sha256"],
                             history.config_sha256(os.path.join(t, "config.gz")))
            self.assertEqual(cli("validate", out).returncode, 0)
            doc = history.provenance(t)
            self.assertEqual((doc["heaplab_commit"], doc["heaplab_describe"], doc["dirty"]),
                             ("unknown", None, None))
            host = hostrun.host_provenance(os.uname().release)
            self.assertEqual((host["accel"], host["clock"], host["kernel_release"]),
                             ("none", "host", os.uname().release))
            history.load_provenance("host", host)

    def test_report_then_add(self):
        """report puts the provenance in bench.json; add of the report directory keys the run by it"""
        # ... and takes the tracer and stress documents of guest/ and stress/; a
        # provenance of another kernel is refused
        with tempfile.TemporaryDirectory() as t:
            pv = history.provenance(t, clock="icount", accel="kvm", cpu_model="Test CPU",
                                    kernel_release="6.1.192")
            pv.update(heaplab_commit="f" * 40, kernel_config_sha256="ab" * 32)
            guest = os.path.join(t, "out", "guest")
            os.makedirs(guest)
            os.makedirs(os.path.join(t, "out", "stress"))
            prov = write_json(guest, "provenance.json", pv)
            for n in ("alloc", "memset", "heaptrace"):
                write_json(guest, n + ".json", data.read(fixture(n)))
            write_json(os.path.join(t, "out", "stress"), "stress-run.json",
                       data.read(fixture("stress-run")))
            p = cli("report", "-o", os.path.join(t, "out"), prov,
                    *[os.path.join(guest, n + ".json") for n in ("alloc", "memset", "heaptrace")])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(data.read(os.path.join(t, "out", "bench.json"))["provenance"], pv)
            db = os.path.join(t, "h.sqlite")
            p = cli("history", "add", "--db", db, os.path.join(t, "out"))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.split(", ", 1)[0], "history: run 1: commit " + "f" * 40)
            self.assertIn("2 documents", p.stdout)
            self.assertIn("kernel 6.1.192 (config abababab)", p.stdout)
            conn = history.open_db(db)
            r, = history.runs(conn)
            self.assertEqual(r["commit"], "fffffff")
            self.assertEqual(r["report"], os.path.join(t, "out", "index.html"))
            self.assertTrue(r["machine"].startswith("QEMU KVM on Test CPU, 2 CPUs, 2 GiB, icount"))
            conn.close()
            pv["kernel_release"] = "6.12.58"
            bad = write_json(t, "provenance.json", pv)
            p = cli("history", "add", "--db", db, fixture("alloc"), fixture("memset"), bad)
            self.assertEqual(p.returncode, 2)
            self.assertIn("kernel_release: 6.12.58: the run booted 6.1.192", p.stderr)

    def test_document_once(self):
        """a stress document given again with a later run is not stored or counted twice"""
        with tempfile.TemporaryDirectory() as t:
            db = os.path.join(t, "h.sqlite")
            one = write_json(t, "one.json", runset())
            two = write_json(t, "two.json", runset(memset_scaled(1.01)))
            p = cli("history", "add", "--db", db, *KEYS, one, fixture("stress-run"))
            self.assertIn("1 document,", p.stdout)
            p = cli("history", "add", "--db", db, *KEYS, two, fixture("stress-run"))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("(1 already stored with an earlier run)", p.stdout)
            conn = history.open_db(db)
            s, = [s for s in history.series(conn) if s["metric"] == "stress run ops_per_s"]
            self.assertEqual([x["run"] for x in s["points"]], [1])
            self.assertEqual(history.docs(conn, 2), [])
            conn.close()


if __name__ == "__main__":
    unittest.main()
