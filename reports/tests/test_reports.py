# SPDX-License-Identifier: GPL-2.0
"""Unit tests of reports/ over fixture JSON (fixtures/: the output of one
make check guest run, quick mode): loading and validation, metric names,
the ratio table, the report's files and sections, and heaplab compare's
verdicts and exit codes. No boot needed."""
import copy
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np

from common import BENCH, SIDE, TOP, cli, fixture, run_py, tmpdir, write_json
from heaplab_reports import compare, data, goals, pool, report

CHECK_BENCH = os.path.join(TOP, "tests", "guest", "check-bench-json.py")
CHECK_JSON = os.path.join(TOP, "tests", "guest", "check-json.py")
PLOTS = ["latency_vs_size.png", "latency_cdf.png", "zeroing.png", "mmap.png", "concurrency.png",
         "pressure.png", "where_time_goes.png", "pool_states.png", "pool_burst.png"]


def scale(dist, factor):
    """A distribution whose every duration is @factor times this one's."""
    d = copy.deepcopy(dist)
    for k in ("min_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"):
        d[k] = int(d[k] * factor)
    d["mean_ns"] *= factor
    d["stddev_ns"] *= factor
    d["samples_ns"] = [int(x * factor) for x in d["samples_ns"]]
    return d


def slowed(doc, factor, heap_prefix="/dev/heaplab/", field="alloc"):
    """A copy of a tool document with @field of @heap_prefix's heaps scaled."""
    d = copy.deepcopy(doc)
    for r in d["results"]:
        if r["heap"].startswith(heap_prefix):
            r[field] = scale(r[field], factor)
    return d


class Load(unittest.TestCase):
    def test_every_fixture_validates(self):
        """every fixture loads and matches its schema"""
        for name in BENCH:
            rs = data.load(fixture(name))
            self.assertEqual(len(rs["runs"]), 1, name)
            self.assertTrue(data.metrics(rs) or name == "memset", name)
        for name in SIDE:
            self.assertIn(data.load_side(fixture(name))["schema"], data.SIDE_SCHEMAS, name)

    def test_bad_input_named(self):
        """a missing file, not JSON, a wrong schema and a schema violation are named"""
        with tempfile.TemporaryDirectory() as t:
            with self.assertRaisesRegex(data.BadInput, "No such file"):
                data.load(os.path.join(t, "missing.json"))
            bad = os.path.join(t, "bad.json")
            with open(bad, "w") as f:
                f.write("{")
            with self.assertRaisesRegex(data.BadInput, "not JSON"):
                data.load(bad)
            with self.assertRaisesRegex(data.BadInput, "schema is 'nope'"):
                data.load(write_json(t, "s.json", {"schema": "nope"}))
            doc = json.load(open(fixture("alloc")))
            del doc["machine"]
            with self.assertRaisesRegex(data.BadInput, "does not match"):
                data.load(write_json(t, "m.json", doc))

    def test_metric_names(self):
        """alloc: one alloc and one free metric per heap and size, sizes sorted as numbers"""
        doc = json.load(open(fixture("alloc")))
        m = data.metrics(data.load(fixture("alloc")))
        opt = doc["options"]
        want = {f"alloc heap={h} size={s} {k}" for h in opt["heaps"] for s in opt["sizes"]
                for k in ("alloc", "free")}
        self.assertTrue(want <= set(m), sorted(want - set(m)))
        names = sorted(["a size=65536", "a size=4096"], key=data.natural_key)
        self.assertEqual(names, ["a size=4096", "a size=65536"])

    def test_machine_records_cpus(self):
        """bench JSON records the guest's online CPUs, and concurrency which ones ran"""
        doc = json.load(open(fixture("concurrency")))
        ncpu = doc["machine"]["cpus"]
        self.assertGreaterEqual(ncpu, 2, "the fixture's guest ran on one CPU")
        for r in doc["results"]:
            self.assertEqual(len(r["cpus_used"]), min(r["threads"], ncpu), r["heap"])


class Ratios(unittest.TestCase):
    def test_ratio_rows_are_ours_over_upstream(self):
        """the ratio table divides each heaplab p50 by its upstream twin's"""
        rs = data.merge([fixture(n) for n in BENCH])
        m = data.metrics(rs)
        rows = report.ratio_rows(rs)
        self.assertTrue(rows)
        for name, ours, up, r50, _ in rows:
            tool, rest = name.split(" ", 1)
            heap = rest.split(" ", 1)[0]
            self.assertEqual(m[name.replace(f"{tool} {heap}", f"{tool} heap=/dev/heaplab/{heap}", 1)]["p50_ns"], ours)
            self.assertEqual(m[name.replace(f"{tool} {heap}", f"{tool} heap=/dev/dma_heap/{heap}", 1)]["p50_ns"], up)
            self.assertAlmostEqual(r50, ours / up)

    def test_ratio_text_header(self):
        """ratios.txt names the kernel and the CPUs the run had"""
        rs = data.merge([fixture("alloc")])
        text = report.ratio_text(rs)
        mach = data.machine(rs)
        self.assertIn(f"kernel {mach['kernel']}, {mach['cpus']} CPUs online", text)


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tmpdir(cls)
        cls.out = os.path.join(cls.tmp, "out")
        cls.proc = cli("report", "-o", cls.out, *[fixture(n) for n in BENCH + SIDE])

    def test_exit_and_files(self):
        """heaplab report exits 0 and writes index.html, bench.json, ratios.txt and every plot"""
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        for f in ["index.html", "bench.json", "ratios.txt"] + PLOTS:
            p = os.path.join(self.out, f)
            self.assertTrue(os.path.isfile(p) and os.path.getsize(p) > 0, f)

    def test_sections(self):
        """index.html has the ratio, breakdown, overhead, cmatrace and stress sections"""
        html = open(os.path.join(self.out, "index.html")).read()
        for s in ("ratio heaplab / upstream", "where the time goes (bpf/heaptrace)",
                  "tracer overhead (heaplab-bench tracer)", "<code>heaptrace -L</code> (latency only)",
                  "contiguous allocations (bpf/cmatrace)", "stress: fuzz",
                  "pool: the heaplab page pool against upstream"):
            self.assertIn(s, html)

    def test_bench_json_is_a_run_set(self):
        """bench.json is a valid run set holding every bench run"""
        rs = data.load(os.path.join(self.out, "bench.json"))
        self.assertEqual(sorted(r["tool"] for r in rs["runs"]),
                         sorted(json.load(open(fixture(n)))["tool"] for n in BENCH))

    def test_bad_input_exit_2(self):
        """heaplab report and validate reject a missing file with exit 2 and its name"""
        for args in (("report", "-o", os.path.join(self.tmp, "x"), "/nonexistent.json"),
                     ("validate", "/nonexistent.json")):
            p = cli(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("/nonexistent.json: No such file", p.stderr)



class PoolSection(unittest.TestCase):
    """the pool section: computed apart from printing, over the pool fixture"""

    def setUp(self):
        self.rs = data.merge([fixture("pool"), fixture("memset")])
        self.doc = json.load(open(fixture("pool")))

    def test_counters_do_not_name_cases(self):
        """hits, misses and worker CPU time are measurements, not part of a case's name"""
        names = list(data.metrics(self.rs))
        self.assertTrue(any(" pool=warm " in n for n in names))
        self.assertFalse(any("pool_hits=" in n or "worker_cpu_ns=" in n for n in names))

    def test_rows_are_ours_over_the_upstream_twin(self):
        """each row: heaplab's case over upstream's of the same state and size"""
        rows = pool.summary_rows(self.rs)
        self.assertEqual(len(rows), 12)
        for state, size, ours, up, r50, *_ in rows:
            mine = next(r for r in self.doc["results"] if r["heap"] == "/dev/heaplab/system"
                        and r["pool"] == state and r["size"] == size)
            twin = next(r for r in self.doc["results"] if r["heap"] == "/dev/dma_heap/system"
                        and r["pool"] == state and r["size"] == size)
            self.assertEqual(ours, mine["alloc"]["p50_ns"])
            self.assertEqual(r50, f"{mine['alloc']['p50_ns'] / twin['alloc']['p50_ns']:.2f}")

    def test_hit_rate_and_cpu(self):
        """hit rate from the case's hits and misses; cold has no CPU figure"""
        for state, size, *_, rate, co, cu, rc, w in pool.summary_rows(self.rs):
            if state == "cold":
                self.assertEqual(rc, "-")
                self.assertEqual(rate, "0%")
            if state == "warm":
                self.assertEqual(rate, "100%")

    def test_worker_beside_memset(self):
        """the worker's clearing throughput is set beside the memset limit"""
        self.assertGreater(pool.worker_gbps(self.rs), 0)
        self.assertIn("memset limit", pool.text(self.rs))


class Goals(unittest.TestCase):
    """the speed goals against upstream computed from one boot's results"""

    def setUp(self):
        self.rs = data.merge([fixture(n) for n in BENCH])
        self.rows = {r[0]: r for r in goals.rows(self.rs)}

    def test_worst_size_over_upstream(self):
        """a goal's figure is the worst ratio over its sizes, ours over upstream's twin"""
        doc = json.load(open(fixture("pool")))

        def p50(heap, size):
            return next(r["alloc"]["p50_ns"] for r in doc["results"] if r["heap"] == heap
                        and r["size"] == size and r["pool"] == "off")
        want = max(p50("/dev/heaplab/system", s) / p50("/dev/dma_heap/system", s)
                   for s in (65536, 1048576))
        _, bound, val, met, _ = self.rows["system, pool off, every size, p50"]
        self.assertAlmostEqual(val, want)
        self.assertEqual(met, val <= bound)

    def test_missing_case_is_not_judged(self):
        """a goal whose case the run lacks (no 64 MiB mmap here) is neither met nor missed"""
        _, _, val, met, _ = self.rows["mmap + first touch 64M, faster than upstream system"]
        self.assertIsNone(val)
        self.assertIsNone(met)
        self.assertIn("speed goals against upstream", goals.text(self.rs))
        self.assertNotIn("issue", goals.text(self.rs))

class Compare(unittest.TestCase):
    def setUp(self):
        self.doc = json.load(open(fixture("alloc")))
        self.old = data.load(fixture("alloc"))

    def verdicts(self, new, threshold=0.1):
        rs = {"schema": data.SET_SCHEMA, "runs": [new]}
        rows, _, _ = compare.compare(self.old, rs, threshold, 0.01)
        return {r["metric"]: r["verdict"] for r in rows}

    def test_same_run_is_same(self):
        """a run compared with itself has no regression"""
        v = self.verdicts(self.doc)
        self.assertTrue(v)
        self.assertEqual(set(v.values()), {"same"})

    def test_slower_is_a_regression_of_that_metric_only(self):
        """heaplab's alloc 4x slower: those metrics regress, free and upstream do not"""
        v = self.verdicts(slowed(self.doc, 4))
        for name, verdict in v.items():
            want = "REGRESSION" if " heap=/dev/heaplab/" in name and name.endswith(" alloc") else "same"
            self.assertEqual(verdict, want, name)

    def test_faster_is_improved(self):
        """heaplab's alloc 4x faster is 'improved', never a regression"""
        v = self.verdicts(slowed(self.doc, 0.25))
        self.assertIn("improved", v.values())
        self.assertNotIn("REGRESSION", v.values())

    def test_within_threshold_is_same(self):
        """5 % slower with a 10 % threshold is not a regression"""
        self.assertNotIn("REGRESSION", self.verdicts(slowed(self.doc, 1.05)).values())

    def test_without_samples_untested(self):
        """without raw samples there is no test: 'untested', not 'same'"""
        d = copy.deepcopy(self.doc)
        for r in d["results"]:
            for k in ("alloc", "free"):
                r[k].pop("samples_ns", None)
        self.assertEqual(set(self.verdicts(d).values()), {"untested"})

    def test_repeats_pool_their_samples(self):
        """several runs of one side pool their raw samples; the p50 is the pooled median"""
        second = {"schema": data.SET_SCHEMA, "runs": [slowed(self.doc, 2)]}
        pool = compare.pooled([self.old, second])
        one, two = data.metrics(self.old), data.metrics(second)
        self.assertEqual(set(pool), set(one))
        for name, d in pool.items():
            a, b = compare.samples(one[name]), compare.samples(two[name])
            self.assertEqual(d["n"], len(a) + len(b), name)
            self.assertEqual(d["p50_ns"], float(np.median(np.concatenate([a, b]))), name)

    def test_repeats_judged_together(self):
        """heaplab's alloc 4x slower in every repeat: only those metrics regress"""
        rs = [{"schema": data.SET_SCHEMA, "runs": [slowed(self.doc, 4)]}] * 3
        rows, _, _ = compare.compare([self.old] * 3, rs, 0.1, 0.01)
        for r in rows:
            want = "REGRESSION" if " heap=/dev/heaplab/" in r["metric"] and \
                r["metric"].endswith(" alloc") else "same"
            self.assertEqual(r["verdict"], want, r["metric"])

    def test_cli_exit_codes(self):
        """heaplab compare: 0 for the same run, 1 naming the regressed metric, 2 for bad input"""
        with tempfile.TemporaryDirectory() as t:
            slow = write_json(t, "slow.json", slowed(self.doc, 4))
            self.assertEqual(cli("compare", fixture("alloc"), fixture("alloc")).returncode, 0)
            p = cli("compare", fixture("alloc"), slow)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertRegex(p.stderr, r"regression: alloc heap=/dev/heaplab/\S+ size=\d+ alloc")
            self.assertNotRegex(p.stderr, r"regression: .* free")
            p = cli("compare", fixture("alloc"), os.path.join(t, "missing.json"))
            self.assertEqual(p.returncode, 2)
            self.assertIn("No such file", p.stderr)
            p = cli("compare", "--threshold", "-1", fixture("alloc"), fixture("alloc"))
            self.assertEqual(p.returncode, 2)
            p = cli("compare", "--old", fixture("alloc"), fixture("alloc"), "--new", slow, slow)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertNotRegex(p.stderr, r"regression: .* free")
            for args in (("compare", fixture("alloc")), ("compare", fixture("alloc"), "--new", slow),
                         ("compare", fixture("alloc"), slow, "--old", slow)):
                p = cli(*args)
                self.assertEqual(p.returncode, 2, args)
                self.assertIn("compare takes OLD NEW, or --old FILE... --new FILE...", p.stderr)


class BenchChecker(unittest.TestCase):
    """tests/guest/check-bench-json.py, the suite's consistency check."""

    def run_check(self, doc):
        with tempfile.TemporaryDirectory() as t:
            return run_py(CHECK_BENCH, write_json(t, "c.json", doc))

    def test_fixtures_pass(self):
        """every bench fixture passes the consistency check"""
        for name in BENCH:
            p = run_py(CHECK_BENCH, fixture(name))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_two_threads_on_one_cpu_fails(self):
        """a 2-thread concurrency case that ran on one CPU fails the check"""
        doc = json.load(open(fixture("concurrency")))
        two = [r for r in doc["results"] if r["threads"] == 2]
        self.assertTrue(two)
        two[0]["cpus_used"] = two[0]["cpus_used"][:1]
        p = self.run_check(doc)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ran on CPUs", p.stdout + p.stderr)

    def test_missing_case_fails(self):
        """a result missing from the matrix fails the check"""
        doc = json.load(open(fixture("alloc")))
        doc["results"].pop()
        self.assertNotEqual(self.run_check(doc).returncode, 0)


class ReplayChecker(unittest.TestCase):
    """heaplab-bench replay's JSON (fixtures/replay.json, make check's replay of
    tests/profiles/ok-replay-counts.json on the four heaps): the schema and
    check-bench-json.py's own replay check, which a broken count, headroom
    or class list fails."""

    def check(self, doc):
        with tempfile.TemporaryDirectory() as t:
            return run_py(CHECK_JSON, "bench", write_json(t, "r.json", doc))

    def broken(self, change):
        doc = json.load(open(fixture("replay")))
        change(doc)
        return self.check(doc)

    def test_fixture_passes(self):
        """the fixture is valid against the schema and consistent"""
        p = run_py(CHECK_JSON, "bench", fixture("replay"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("replay: 12 results on 4 heaps, consistent", p.stdout)

    def test_counts_add_up(self):
        """ok + failed by cause must be the allocations, other the errors by name"""
        def more_ok(d):
            d["results"][0]["ok"] += 1
        self.assertIn("ok + failed != allocs", self.broken(more_ok).stdout)

        def other(d):
            r = next(r for r in d["results"] if r["ok"] == r["allocs"] and r["ok"] > 1)
            r["ok"] -= 1
            r["alloc"]["n"] -= 1
            r["failed"]["other"] += 1
        self.assertIn("errors do not add up to other", self.broken(other).stdout)

    def test_headroom_consistent(self):
        """fit counts are floor(range / size); peak use within the area"""
        def fit(d):
            d["heaps"][0]["headroom"]["classes"][1]["fit_free"] += 1
        self.assertIn("fit_free", self.broken(fit).stdout)

        def peak(d):
            h = d["heaps"][0]
            h["peak_used"] = h["headroom"]["used"] = h["area"]["size"] + 4096
        self.assertIn("FAIL", self.broken(peak).stdout)

    def test_every_class_listed(self):
        """each heap lists every class of the profile, played or not"""
        def drop(d):
            d["heaps"][1]["not_played"].pop()
        self.assertIn("not the same classes as the other heaps", self.broken(drop).stdout)

    def test_schema_needs_causes(self):
        """a replay result without a failure cause fails the schema"""
        def cause(d):
            del d["results"][0]["failed"]["migration"]
        p = self.broken(cause)
        self.assertEqual(p.returncode, 1)
        self.assertIn("migration", p.stdout)


def tool_list(kind):
    """`heaplab-bench list --json` or `heaplab-stress list --json`, as the checkers read it."""
    exe = os.environ.get("HEAPLAB_" + kind.upper()) or \
        os.path.join(TOP, kind, "heaplab-" + kind)
    return json.loads(subprocess.run([exe, "list", "--json"], capture_output=True, text=True,
                                     check=True).stdout)


class Descriptors(unittest.TestCase):
    """The tools' own descriptions (list --json), which the checkers read."""

    def test_bench_lists_every_harness(self):
        """heaplab-bench list --json names every harness of the fixtures, with help and cases"""
        tools = {t["name"]: t for t in tool_list("bench")["tools"]}
        for name in BENCH:
            doc = json.load(open(fixture(name)))
            t = tools[doc["tool"]]
            self.assertTrue(t["help"] and t["cases"].split(), name)
            self.assertIn("size", t["cases"].split(), name)

    def test_unlisted_tool_fails_the_check(self):
        """a bench result from a tool the binary does not list fails the case check"""
        doc = json.load(open(fixture("alloc")))
        doc["tool"] = "nonesuch"
        with tempfile.TemporaryDirectory() as t:
            p = run_py(CHECK_BENCH, write_json(t, "c.json", doc))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("nonesuch", p.stdout + p.stderr)

    def test_stressors_listed_with_their_heaps(self):
        """heaplab-stress list --json: every stressor with help, its heaps and ranged options"""
        st = {s["name"]: s for s in tool_list("stress")["stressors"]}
        self.assertEqual(st["unload"]["heaps"], "heaplab")
        self.assertEqual(st["rand"]["heaps"], "all")
        for s in st.values():
            for o in s["options"]:
                self.assertLessEqual(o["min"], o["default"])
                self.assertLessEqual(o["default"], o["max"])

    def test_stressor_missing_on_a_heaplab_heap_fails(self):
        """a run where a heaplab-only stressor did nothing on a heaplab heap fails; the
        machine block says which heaps are heaplab's"""
        doc = json.load(open(fixture("stress-run")))
        ours = [h["path"] for h in doc["machine"]["heaps"] if h["impl"] == "heaplab"]
        self.assertTrue(ours)
        doc["stressors"] = [s for s in doc["stressors"]
                            if not (s["name"] == "unload" and s["heap"] == ours[0])]
        with tempfile.TemporaryDirectory() as t:
            p = run_py(CHECK_JSON, "stress", write_json(t, "r.json", doc))
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"run: unload did no op on {ours[0]}", p.stdout)


class BatchChecker(unittest.TestCase):
    """tests/guest/check-json.py: many files judged in one process."""

    def run_check(self, *args):
        return run_py(CHECK_JSON, *args)

    def test_every_fixture_passes(self):
        """bench and stress fixtures pass, one PASS line per file"""
        for kind, names in (("bench", BENCH), ("stress", [n for n in SIDE if n.startswith("stress-")])):
            p = self.run_check(kind, *[fixture(n) for n in names])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            for n in names:
                self.assertIn(f"PASS {fixture(n)}", p.stdout)

    def test_leak_and_bad_file_fail_by_name(self):
        """a stress result with pages still held, and a missing file, fail by name"""
        doc = json.load(open(fixture("stress-run")))
        key = next(k for k in doc["leaks"] if k.startswith("pages_held"))
        doc["leaks"][key] = 7
        with tempfile.TemporaryDirectory() as t:
            bad = write_json(t, "leak.json", doc)
            p = self.run_check("stress", bad, os.path.join(t, "missing.json"), fixture("stress-fuzz"))
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stdout, rf"FAIL {bad}: .*leak: {key} 7")
        self.assertIn("missing.json: No such file", p.stdout)
        self.assertIn(f"PASS {fixture('stress-fuzz')}", p.stdout)

    def test_fuzz_calls_counted(self):
        """the fuzz result fails when it made fewer calls than asked for"""
        calls = json.load(open(fixture("stress-fuzz")))["fuzz"]["calls"]
        p = self.run_check("stress", "--min-fuzz-calls", str(calls + 1), fixture("stress-fuzz"))
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"fewer than {calls + 1}", p.stdout)


if __name__ == "__main__":
    unittest.main()
