# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the workload profiles (heaplab_reports/profile.py, the test
profiles in tests/profiles/ that the C validator shares, the shipped ones in
profiles/) and of heaplab cma-size (heaplab_reports/cmasize.py): its input
parsing, the recommendation over fixture replay JSON
(fixtures/cma-size/camera, see its make.py for what each size shows), the
report, and the command against a stand-in vm/run and heaplab-bench."""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

import jsonschema

from common import FIX, HEAPLAB, REPORTS, TOP, cli, stand_in, tmpdir, write_json
from heaplab_reports import cmasize, data, profile

TESTPROF = os.path.join(TOP, "tests", "profiles")
SHIPPED = os.path.join(TOP, "profiles")
SWEEP = os.path.join(FIX, "cma-size", "camera")

MiB = 1 << 20
GiB = 1 << 30
SLO = {"p99_ns": 20000000, "fail": 0}


def expected_errors():
    with open(os.path.join(TESTPROF, "expected-errors.txt")) as f:
        lines = f.read().splitlines()
    return lines, dict(line.split("\t", 1) for line in lines)


class Profiles(unittest.TestCase):
    def test_schema_is_valid(self):
        """profiles/schema/heaplab-profile-1.json is a valid draft 2020-12 schema"""
        jsonschema.Draft202012Validator.check_schema(profile.schema())

    def test_ok_profiles_load(self):
        """every tests/profiles/ok-*.json loads within the guest's 2G"""
        oks = sorted(n for n in os.listdir(TESTPROF) if n.startswith("ok-"))
        self.assertGreaterEqual(len(oks), 4)
        for n in oks:
            with self.subTest(n):
                doc = profile.load(os.path.join(TESTPROF, n), 2 * GiB)
                self.assertEqual(doc["schema"], "heaplab-profile/1")

    def test_bad_profiles_named(self):
        """every tests/profiles/bad-*.json fails with its expected-errors.txt substring"""
        lines, want = expected_errors()
        bads = sorted(n for n in os.listdir(TESTPROF) if n.startswith("bad-"))
        self.assertEqual(sorted(want), bads, "one line per bad-*.json, no line without a file")
        for n in bads:
            with self.subTest(n):
                path = os.path.join(TESTPROF, n)
                with self.assertRaises(data.BadInput) as cm:
                    profile.load(path, 2 * GiB)
                msg = str(cm.exception)
                self.assertTrue(msg.startswith(f"profile {path}: "), msg)
                self.assertIn(want[n], msg)
                self.assertNotIn("\n", msg)

    def test_expected_errors_sorted(self):
        """expected-errors.txt: NAME<TAB>substring lines, sorted bytewise (appends merge cleanly)"""
        lines, _ = expected_errors()
        self.assertEqual(lines, sorted(lines))
        for line in lines:
            self.assertRegex(line, r"^bad-[a-z0-9-]+\.json\t\S")

    def test_shipped_profiles(self):
        """the four shipped profiles validate, say where their numbers come from,
        and need between 32 and 256 MiB of CMA (a sweep's range in a 2G guest)"""
        for name in ("camera", "video-decode", "display", "phone-day"):
            with self.subTest(name):
                doc = profile.load(os.path.join(SHIPPED, name + ".json"), 2 * GiB)
                self.assertEqual(doc["name"], name)
                self.assertGreater(len(doc.get("source", "")), 100)
                self.assertTrue(profile.cma_classes(doc))
                self.assertTrue(32 * MiB < profile.cma_need(doc) < 224 * MiB,
                                profile.cma_need(doc) / MiB)

    def test_planned_counts(self):
        """the schedule's counts: a burst is count, a rate floor(d * r / 1000) (at least 1),
        a timeline its entries"""
        doc = profile.load(os.path.join(TESTPROF, "ok-ring.json"))
        self.assertEqual(profile.planned_allocs(doc),
                         {"frames": 4, "meta": 8, "dpb": 30, "slow": 1, "fast": 100})
        doc = profile.load(os.path.join(TESTPROF, "ok-timeline.json"))
        self.assertEqual(profile.planned_allocs(doc), {"a": 3, "b": 1})
        doc = profile.load(os.path.join(SHIPPED, "camera.json"))
        self.assertEqual(profile.planned_allocs(doc)["preview"], 240)
        self.assertAlmostEqual(profile.cma_need(doc) / MiB, 149.8, places=1)

    def test_mem_limit(self):
        """a phase holding more than the memory given is refused, naming both"""
        path = os.path.join(SHIPPED, "camera.json")
        with self.assertRaisesRegex(data.BadInput, r"phases\[1\]: holds 0\.2 GiB at once \(classes"
                                    r" capture_hal, .*\): more than MemTotal 0\.1 GiB"):
            profile.load(path, 128 * MiB)

    def test_validate_cli(self):
        """heaplab validate: a profile is routed to its own rules; a bad one exits 2, one line"""
        p = cli("validate", os.path.join(SHIPPED, "display.json"),
                os.path.join(TESTPROF, "ok-minimal.json"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("display.json: valid (heaplab-profile/1, 2 phase(s)", p.stdout)
        p = cli("validate", os.path.join(TESTPROF, "bad-rate-negative.json"))
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        self.assertIn("phases[1].classes[0].rate_hz: -3: must be >= 0", p.stderr)
        p = cli("validate", "--mem", "1G", os.path.join(TESTPROF, "bad-too-much.json"))
        self.assertIn("more than MemTotal 1.0 GiB", p.stderr)


class Parse(unittest.TestCase):
    def test_sizes(self):
        """K, M, G and bytes; increasing; below --mem"""
        self.assertEqual(cmasize.parse_sizes("64M,96M,1G", 2 * GiB), [64 * MiB, 96 * MiB, GiB])
        self.assertEqual(cmasize.parse_sizes("65536K, 100663296", 2 * GiB), [64 * MiB, 96 * MiB])

    def test_bad_sizes(self):
        """sizes not increasing, not sizes, or beyond --mem: the error names the value"""
        for text, msg in (("64M,96M,96M", "--sizes: 96M after 96M: sizes must be increasing"),
                          ("128M,64M", "--sizes: 64M after 128M: sizes must be increasing"),
                          ("64M,6x4M", "--sizes: '6x4M': not a size"),
                          ("64M,,96M", "an empty item"), ("", "--sizes: empty"),
                          ("0M", "must be more than 0"),
                          ("64M,2G", "--sizes: 2G: not less than --mem 2G")):
            with self.subTest(text), self.assertRaises(data.BadInput) as cm:
                cmasize.parse_sizes(text, 2 * GiB)
            self.assertIn(msg, str(cm.exception))

    def test_slo(self):
        """p99 with a unit, fail a count, either alone (the other keeps its default), p99=none"""
        self.assertEqual(cmasize.parse_slo("p99=20ms,fail=0"), SLO)
        self.assertEqual(cmasize.parse_slo("fail=3"), {"p99_ns": 20000000, "fail": 3})
        self.assertEqual(cmasize.parse_slo("p99=1.5s"), {"p99_ns": 1500000000, "fail": 0})
        self.assertEqual(cmasize.parse_slo("p99=250us, fail=1"), {"p99_ns": 250000, "fail": 1})
        self.assertEqual(cmasize.parse_slo("p99=none")["p99_ns"], None)

    def test_bad_slo(self):
        """each bad SLO is one clear error"""
        for text, msg in (("p99=20", "--slo: p99: '20': not a duration (a number with ns, us, ms"),
                          ("p95=1ms", "--slo: 'p95': unknown key (p99, fail)"),
                          ("fail=-1", "--slo: fail=-1: not a count"),
                          ("fail=1.5", "--slo: fail=1.5: not a count"),
                          ("p99=20ms,p99=10ms", "--slo: p99 given twice"),
                          ("p99=0ms", "must be more than 0"),
                          ("fast", "--slo: 'fast': want KEY=VALUE")):
            with self.subTest(text), self.assertRaises(data.BadInput) as cm:
                cmasize.parse_slo(text)
            self.assertIn(msg, str(cm.exception))


def sweep_points(sizes=None):
    with open(os.path.join(SWEEP, "sweep.json")) as f:
        sweep = json.load(f)
    points = cmasize.load_points(SWEEP, sweep)
    if sizes:
        points = [p for p in points if p["label"] in sizes]
    return sweep, points


def camera():
    return profile.load(os.path.join(SWEEP, "profile.json"))


def by_impl(recs):
    return {r["impl"]: r for r in recs}


def measured_best(points, impl, slo):
    """The fixture's answer computed the long way: the smallest size at which
    every CMA class of the heap has failures <= fail and p99 <= the SLO."""
    names = [c["name"] for c in profile.cma_classes(camera())]
    for p in points:
        h = next(h for h in p["replay"]["heaps"].values() if h["impl"] == impl)
        if all(h["classes"][c]["allocs"] - h["classes"][c]["ok"] <= slo["fail"]
               and (slo["p99_ns"] is None or h["classes"][c]["p99_ns"] <= slo["p99_ns"])
               for c in names):
            return p["size"]
    return None


class Recommend(unittest.TestCase):
    def test_smallest_size_meeting_the_slo(self):
        """the recommendation is the smallest fixture size meeting the SLO, with its margin"""
        _, points = sweep_points()
        for slo in (SLO, {"p99_ns": 20000000, "fail": 1}, {"p99_ns": None, "fail": 0},
                    {"p99_ns": 17000000, "fail": 0}):
            recs = by_impl(cmasize.compute(camera(), points, slo))
            for impl in ("heaplab", "upstream"):
                with self.subTest(slo=slo, impl=impl):
                    self.assertEqual(recs[impl]["size"], measured_best(points, impl, slo))
        recs = by_impl(cmasize.compute(camera(), points, SLO))
        hl, up = recs["heaplab"], recs["upstream"]
        self.assertEqual((hl["size"], up["size"]), (192 * MiB, 256 * MiB))
        self.assertEqual(hl["margin"], 192 * MiB - hl["peak_used"])
        self.assertEqual(cmasize.verdict_line(hl),
                         "heaplab reserved: 192M (peak use 151.2 MiB, margin 40.8 MiB)")
        self.assertEqual(hl["notes"], [])
        # one failure allowed: heaplab's 160M (one still fragmented) does;
        # upstream's 160M misses on latency too
        recs = by_impl(cmasize.compute(camera(), points, {"p99_ns": 20000000, "fail": 1}))
        self.assertEqual((recs["heaplab"]["size"], recs["upstream"]["size"]), (160 * MiB, 256 * MiB))

    def test_none_exhausted(self):
        """no size large enough: none, the failing class and cause (exhausted) at the largest size"""
        _, points = sweep_points({"64M", "96M", "128M"})
        hl = by_impl(cmasize.compute(camera(), points, SLO))["heaplab"]
        self.assertIsNone(hl["size"])
        self.assertEqual((hl["at"], hl["cause"], hl["fails"][0]["class"]), (128 * MiB, "exhausted", "still"))
        self.assertIn("none: at 128M, the largest size measured, class still: 4 of 4 failed"
                      " (exhausted 4): area exhausted", cmasize.verdict_line(hl))

    def test_none_fragmented_and_migration(self):
        """at 160M heaplab loses one still to fragmentation, upstream one to migration"""
        _, points = sweep_points({"64M", "160M"})
        recs = by_impl(cmasize.compute(camera(), points, SLO))
        self.assertEqual(recs["heaplab"]["cause"], "fragmented")
        self.assertEqual(recs["upstream"]["cause"], "migration")
        self.assertIn("busy or pinned", recs["upstream"]["detail"])

    def test_none_latency(self):
        """p99 beyond the SLO at every size: none, cause latency, the worst class named"""
        _, points = sweep_points()
        hl = by_impl(cmasize.compute(camera(), points, {"p99_ns": 10000000, "fail": 0}))["heaplab"]
        self.assertEqual((hl["size"], hl["cause"], hl["fails"][0]["class"]), (None, "latency", "still"))
        self.assertIn("alloc p99 18 ms > 10 ms: latency (and 1 more class(es))",
                      cmasize.verdict_line(hl))
        # the p99 that decided rests on a few allocations: said, with how few
        self.assertIn("192M, 256M missed on latency alone; class still's p99 there rests on the"
                      " 2 largest of 4 allocations", cmasize.verdict_line(hl))

    def test_not_monotonic_and_missing(self):
        """a larger size that misses, a smaller size without a result, a left-out peak: noted"""
        _, points = sweep_points()
        points = copy.deepcopy(points)
        p256 = points[-1]["replay"]["heaps"]["/dev/heaplab/reserved"]
        p256["classes"]["still"]["failed"]["migration"] = 1
        p256["classes"]["still"]["ok"] -= 1
        points[1].update(status="failed", why="vm/run exit 124 (the boot's time limit expired)",
                         replay=None)
        p192 = points[4]["replay"]["heaps"]["/dev/heaplab/reserved"]
        p192.update(peak_used=None, left_out="debugfs: /sys/kernel/debug/cma not readable")
        hl = by_impl(cmasize.compute(camera(), points, SLO))["heaplab"]
        self.assertEqual(hl["size"], 192 * MiB)
        self.assertIsNone(hl["margin"])
        notes = " | ".join(hl["notes"])
        self.assertIn("margin unknown: debugfs", notes)
        self.assertIn("the larger 256M missed the SLO (class still: 1 of 4 failed", notes)
        self.assertIn("96M gave no result (vm/run exit 124", notes)

    def test_counts_checked_against_the_schedule(self):
        """a replay attempting other counts than the profile plans is noted"""
        _, points = sweep_points({"192M"})
        points = copy.deepcopy(points)
        points[0]["replay"]["heaps"]["/dev/heaplab/reserved"]["classes"]["preview"]["allocs"] = 239
        points[0]["replay"]["heaps"]["/dev/heaplab/reserved"]["classes"]["preview"]["ok"] = 239
        hl = by_impl(cmasize.compute(camera(), points, SLO))["heaplab"]
        self.assertIn("at 192M the replay attempted preview 239 (the profile plans 240)", hl["notes"])

    def test_area_not_the_size_asked(self):
        """a replay whose area is not the size the boot asked for is noted"""
        _, points = sweep_points({"192M"})
        points = [dict(points[0], size=64 * MiB)]
        hl = by_impl(cmasize.compute(camera(), points, SLO))["heaplab"]
        self.assertIn("at 64M the replay's area is 192.0 MiB: was cma= applied?", hl["notes"])

    def test_no_result_at_all(self):
        """every boot failed: none, saying so per size"""
        _, points = sweep_points({"64M"})
        points = [dict(points[0], status="failed", why="vm/run exit 123", replay=None)]
        self.assertEqual(cmasize.compute(camera(), points, SLO), [])

    def test_bad_replay_json(self):
        """replay JSON without a field the recommendation reads is named"""
        with tempfile.TemporaryDirectory() as t:
            with open(os.path.join(SWEEP, "sizes", "64M", "replay.json")) as f:
                doc = json.load(f)
            del doc["results"][2]["failed"]
            p = write_json(t, "r.json", doc)
            with self.assertRaisesRegex(data.BadInput, r"r\.json: results\[2\]: no 'failed'"):
                cmasize.read_replay(p)
            doc["tool"] = "alloc"
            write_json(t, "r.json", doc)
            with self.assertRaisesRegex(data.BadInput, "not heaplab-bench replay's JSON"):
                cmasize.read_replay(p)


class Report(unittest.TestCase):
    def test_report_files_and_sections(self):
        """--from: index.html with the sections, three plots, recommendation.txt, sweep.json"""
        with tempfile.TemporaryDirectory() as t:
            p = cli("cma-size", "--from", SWEEP, "--out", t)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("heaplab reserved: 192M (peak use 151.2 MiB, margin 40.8 MiB)", p.stdout)
            for f in ("index.html", "recommendation.txt", "sweep.json", "cma_size_p99.png",
                      "cma_size_failures.png", "cma_size_migration.png",
                      "sizes/64M/replay.json"):
                self.assertTrue(os.path.exists(os.path.join(t, f)), f)
            with open(os.path.join(t, "index.html")) as f:
                page = f.read()
            for s in ("<h2>CMA sizing</h2>", "<h2>Recommendation</h2>",
                      "<h2>Per size: peak use, waste, fragmentation, counters</h2>",
                      "<h2>Per size and class</h2>", "<h2>Headroom at the peak</h2>",
                      "upstream reserved: 256M", "<img src='cma_size_migration.png'>",
                      # the waste of the larger sizes: 256M - heaplab's peak, 64M over 192M
                      "<td>105.0 MiB</td><td>64.0 MiB</td>", "Representative figures"):
                self.assertIn(s, page)
            with open(os.path.join(t, "sweep.json")) as f:
                rec = json.load(f)["recommendation"]
            self.assertEqual([(r["impl"], r["size"]) for r in rec],
                             [("heaplab", 192 * MiB), ("upstream", 256 * MiB)])
            # the same results under another SLO, recomputed in place
            p = cli("cma-size", "--from", t, "--slo", "p99=10ms")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("heaplab reserved: none: at 256M", p.stdout)


# A stand-in vm/run: takes the sweep's arguments, "boots" by copying the
# fixture replay of that --cma size into --out; 96M's boot times out.
FAKE_VM = """#!{py}
import os, shutil, sys
a = sys.argv[1:]
cma, out = a[a.index("--cma") + 1], a[a.index("--out") + 1]
rest = a[a.index("--") + 1:]
assert rest[0].endswith("bench/run-replay") and len(rest) == 4, rest
assert os.path.exists(os.path.join(out, "profile.json"))
print("vm/run: stand-in", " ".join(a))
if cma == "96M":
    print("vm/run: timeout: heaplab-bench replay")
    sys.exit(124)
shutil.copy(os.path.join("{fix}", "sizes", cma, "replay.json"), out)
"""


class Command(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir(self)
        self.env = dict(os.environ, HEAPLAB_GUEST_LOCK=os.path.join(self.t, "lock"))
        self.vm = stand_in(self.t, "vm-run", FAKE_VM.format(py=sys.executable, fix=SWEEP))

    def run_cli(self, *args):
        return cli("cma-size", *args, env=self.env)

    def test_sweep(self):
        """a sweep over four sizes against the stand-in: one boot each, the report, the
        failed boot named, exit 1 for it"""
        out = os.path.join(self.t, "o")
        p = self.run_cli(os.path.join(SHIPPED, "camera.json"), "--sizes", "64M,96M,192M,256M",
                         "--quick", "--out", out, "--vm-run", self.vm)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("[4/4] cma=256M: flock", p.stderr)
        self.assertIn("--variant perf --mem 2048M --cma 96M", p.stderr)
        self.assertIn("cma=96M: vm/run exit 124 (the boot's time limit expired)", p.stderr)
        self.assertIn("heaplab reserved: 192M (peak use 151.2 MiB, margin 40.8 MiB); note: 96M"
                      " gave no result", p.stdout)
        with open(os.path.join(out, "sweep.json")) as f:
            sweep = json.load(f)
        self.assertEqual([q["status"] for q in sweep["points"]], ["ok", "failed", "ok", "ok"])
        self.assertEqual(sweep["time_scale"], 0.1)
        with open(os.path.join(out, "index.html")) as f:
            self.assertIn("<h2>Sizes without a result</h2>", f.read())

    def test_bad_input_boots_nothing(self):
        """bad sizes, SLO, memory or profile: exit 2, one line, no boot and no output folder"""
        out = os.path.join(self.t, "o")
        cam = os.path.join(SHIPPED, "camera.json")
        for args, msg in (
                ([cam, "--sizes", "96M,64M"], "--sizes: 64M after 96M: sizes must be increasing"),
                ([cam, "--sizes", "64M", "--slo", "p99=20"], "--slo: p99: '20': not a duration"),
                ([cam, "--sizes", "64M", "--mem", "128M"],
                 "phases[1]: holds 0.2 GiB at once (classes capture_hal"),
                ([cam, "--sizes", "64M", "--mem", "3000K"], "--mem: '3000K': not a whole number"),
                ([os.path.join(TESTPROF, "bad-heap-kind.json"), "--sizes", "64M"],
                 'unknown heap kind (cma, system)'),
                ([cam], "--sizes: missing"),
                ([cam, "--sizes", "64M", "--timeout", "0"], "--timeout: 0: must be more than 0"),
                ([cam, "--here", "--sizes", "64M"], "--here replays at this machine's CMA size"),
                (["--from", SWEEP, cam], "--from DIR takes the profile and sizes"),
                ([], "give a PROFILE")):
            with self.subTest(args):
                p = self.run_cli(*args, "--out", out, "--vm-run", self.vm)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
                self.assertIn(msg, p.stderr)
                self.assertFalse(os.path.exists(out))

    def test_lock_held_by_a_parent(self):
        """under flock LOCK (as the suite asks of commands that boot) the sweep does not
        take the lock again, which would wait for itself"""
        lock = self.env["HEAPLAB_GUEST_LOCK"]
        open(lock, "w").close()
        code = ("import sys; sys.path.insert(0, %r); from heaplab_reports import cmasize;"
                " print(cmasize.held_by_ancestor(%r))" % (REPORTS, lock))
        p = subprocess.run(["flock", lock, sys.executable, "-c", code], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.stdout.strip(), "True", p.stderr)
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual(p.stdout.strip(), "False", p.stderr)
        out = os.path.join(self.t, "o")
        p = subprocess.run(["flock", lock, sys.executable, HEAPLAB, "cma-size",
                            os.path.join(SHIPPED, "camera.json"), "--sizes", "192M", "--out", out,
                            "--vm-run", self.vm], capture_output=True, text=True, env=self.env,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("is held by a parent of this command", p.stderr)
        self.assertNotIn(": flock ", p.stderr)

    def test_out_not_empty(self):
        """a used --out is refused before any boot"""
        out = os.path.join(self.t, "used")
        os.makedirs(out)
        open(os.path.join(out, "x"), "w").close()
        p = self.run_cli(os.path.join(SHIPPED, "display.json"), "--sizes", "64M", "--out", out,
                         "--vm-run", self.vm)
        self.assertEqual(p.returncode, 2)
        self.assertIn("exists and is not empty", p.stderr)


# A stand-in heaplab-bench for --here: has replay, one machine with the
# four heaps (or none), and a replay that writes the 192M fixture.
FAKE_BENCH = """#!{py}
import json, shutil, sys
a = sys.argv[1:]
heaps = {heaps}
if a[0] == "list":
    print(json.dumps({{"schema": "heaplab-bench/1", "tools": [{{"name": "alloc"}}, {{"name": "replay"}}]}}))
elif a[0] == "machine":
    print(json.dumps({{"schema": "heaplab-bench/1", "machine": {{"kernel": "6.1", "cpus": 2,
        "mem_bytes": 2147483648, "cma_bytes": 201326592, "heaps": heaps}}, "heaps": []}}))
elif a[0] == "replay":
    assert a.count("--heap") == 2 and "/dev/heaplab/default_cma_region" not in a, a
    shutil.copy("{fix}/sizes/192M/replay.json", a[a.index("--json") + 1])
"""


class Here(unittest.TestCase):
    def fake(self, t, heaps):
        return stand_in(t, "heaplab-bench",
                        FAKE_BENCH.format(py=sys.executable, fix=SWEEP, heaps=repr(heaps)))

    def test_here_headroom(self):
        """--here: one replay on this machine's two CMA heaps (an alias name dropped), the
        headroom and the verdict at its size"""
        heaps = [{"path": "/dev/dma_heap/system", "impl": "upstream"},
                 {"path": "/dev/dma_heap/reserved", "impl": "upstream"},
                 {"path": "/dev/heaplab/reserved", "impl": "heaplab"},
                 {"path": "/dev/heaplab/default_cma_region", "impl": "heaplab"}]
        with tempfile.TemporaryDirectory() as t:
            out = os.path.join(t, "o")
            p = cli("cma-size", os.path.join(SHIPPED, "camera.json"), "--here", "--quick",
                    "--bench", self.fake(t, heaps), "--out", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("heaplab reserved: meets the SLO at this machine's 192M (peak use"
                          " 151.2 MiB, headroom 40.8 MiB)", p.stdout)
            self.assertIn("upstream reserved: misses the SLO at this machine's 192M: class still:"
                          " alloc p99 26 ms > 20 ms: latency", p.stdout)
            with open(os.path.join(out, "index.html")) as f:
                page = f.read()
            self.assertIn("this machine (--here), no boot", page)
            self.assertIn("<h2>Headroom at the peak</h2>", page)
            self.assertIn("hal_raw 2/3, preview 8/13", page)

    def test_here_without_cma_heap(self):
        """--here on a machine without a CMA heap: exit 2, saying what is missing"""
        with tempfile.TemporaryDirectory() as t:
            bench = self.fake(t, [{"path": "/dev/dma_heap/system", "impl": "upstream"}])
            p = cli("cma-size", os.path.join(SHIPPED, "camera.json"), "--here", "--bench", bench,
                    "--out", os.path.join(t, "o"))
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("no CMA heap: no heap whose implementation is CMA", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(t, "o")))


if __name__ == "__main__":
    unittest.main()
