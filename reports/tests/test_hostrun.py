# SPDX-License-Identifier: GPL-2.0
"""Unit tests of heaplab run (heaplab_reports/hostrun.py): the matrix it
shares with bench/run-bench, what it leaves out on a given machine and why,
the machine description, and the whole command against a stand-in
heaplab-bench (no heap needed: the host running make check has none)."""
import json
import os
import sys
import tempfile
import unittest

from common import FIX, cli, fixture, stand_in
from heaplab_reports import data, hostrun

QUICK = ["alloc", "pool", "memset", "zero", "mmap", "concurrency", "pressure", "tracer",
         "tracer-latency", "cmatrace"]
UP_SYS = {"path": "/dev/dma_heap/system", "name": "system", "impl": "upstream", "kind": "system"}
UP_CMA = {"path": "/dev/dma_heap/reserved", "name": "reserved", "impl": "upstream", "kind": "cma"}
HL_SYS = {"path": "/dev/heaplab/system", "name": "system", "impl": "heaplab", "kind": "system"}
HL_CMA = {"path": "/dev/heaplab/reserved", "name": "reserved", "impl": "heaplab", "kind": "cma"}
TRACERS = {"heaptrace": "/b/bpf/heaptrace", "cmatrace": "/b/bpf/cmatrace"}


def env(**kw):
    e = {"root": True, "btf": True, "perf": None, "tracers": TRACERS, "out": "/o"}
    e.update(kw)
    return e


def quick():
    return hostrun.read_matrix(hostrun.matrix_path(), "quick")


class Matrix(unittest.TestCase):
    def test_both_modes_parse(self):
        """bench/matrix: quick and full have the same ten runs, in run-bench's order"""
        self.assertEqual([m["name"] for m in quick()], QUICK)
        self.assertEqual([m["name"] for m in hostrun.read_matrix(hostrun.matrix_path(), "full")],
                         QUICK)

    def test_bad_matrix_named(self):
        """a bad line or an unknown need is an error naming the file and line"""
        with tempfile.TemporaryDirectory() as t:
            p = os.path.join(t, "m")
            with open(p, "w") as f:
                f.write("# c\nquick a alloc every -\n")
            with self.assertRaisesRegex(data.BadInput, r"m:2: want MODE"):
                hostrun.read_matrix(p, "quick")
            with open(p, "w") as f:
                f.write("quick a alloc all gpu\n")
            with self.assertRaisesRegex(data.BadInput, r"m:1: unknown need gpu"):
                hostrun.read_matrix(p, "quick")
            with self.assertRaisesRegex(data.BadInput, "want quick or full"):
                hostrun.read_matrix(p, "slow")


class Kinds(unittest.TestCase):
    def test_heap_kind(self):
        """system by name, CMA by the kernel's area names or upstream's default names"""
        self.assertEqual(hostrun.heap_kind("system", set()), "system")
        self.assertEqual(hostrun.heap_kind("system-uncached", set()), "system")
        self.assertEqual(hostrun.heap_kind("reserved", set()), "cma")
        self.assertEqual(hostrun.heap_kind("linux,cma", set()), "cma")
        self.assertEqual(hostrun.heap_kind("camera", {"camera"}), "cma")
        self.assertEqual(hostrun.heap_kind("secure", set()), "other")

    def test_heaps_of_dedups_and_keeps_extra(self):
        """found heaps first, a --heap among them once, an extra one after"""
        probe = {"machine": {"heaps": [{"path": "/dev/dma_heap/system", "impl": "upstream"}]},
                 "heaps": [{"path": "/dev/dma_heap/system", "impl": "upstream"},
                           {"path": "/dev/other/carveout", "impl": "unknown"}]}
        hs = hostrun.heaps_of(probe, set())
        self.assertEqual([(h["path"], h["kind"]) for h in hs],
                         [("/dev/dma_heap/system", "system"), ("/dev/other/carveout", "other")])


class Plan(unittest.TestCase):
    def test_stock_kernel_as_root(self):
        """upstream heaps only: pool and zero left out (heaplab's), the rest runs with --settle"""
        runs, left = hostrun.plan(quick(), [UP_SYS, UP_CMA], env())
        self.assertEqual([r["name"] for r in runs],
                         [n for n in QUICK if n not in ("pool", "zero")])
        self.assertEqual([k for k, _ in left], ["pool", "zero"])
        self.assertTrue(all("heaplab's own heaps" in why for _, why in left))
        cma = next(r for r in runs if r["name"] == "cmatrace")
        self.assertEqual(cma["args"][:2], ["--heap", "/dev/dma_heap/reserved"])
        self.assertEqual(hostrun.command(cma, "/b/hb", TRACERS, "/o")[:5],
                         ["/b/bpf/cmatrace", "--json", "/o/cmatrace.json", "--", "/b/hb"])
        tr = next(r for r in runs if r["name"] == "tracer")
        self.assertIn("/b/bpf/heaptrace", tr["args"])
        self.assertIn("/o/heaptrace.json", tr["args"])
        self.assertIn("--settle", hostrun.command(tr, "/b/hb", TRACERS, "/o"))

    def test_everything_with_heaplab_loaded(self):
        """all four heaps, root, BTF and perf: the whole matrix runs, nothing left out"""
        runs, left = hostrun.plan(quick(), [HL_SYS, HL_CMA, UP_SYS, UP_CMA], env())
        self.assertEqual([r["name"] for r in runs], QUICK)
        self.assertEqual(left, [])
        zero = next(r for r in runs if r["name"] == "zero")
        self.assertIn("--perf", zero["args"])
        self.assertNotIn("/dev/dma_heap/system", zero["args"])

    def test_init_on_alloc_leaves_zero_out(self):
        """the page allocator zeroes every page (Debian's kernels): zero is left out, saying why"""
        why = hostrun.init_on_alloc("ro quiet", "CONFIG_X=y\nCONFIG_INIT_ON_ALLOC_DEFAULT_ON=y\n")
        self.assertIn("CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y", why)
        runs, left = hostrun.plan(quick(), [HL_SYS, HL_CMA, UP_SYS, UP_CMA], env(init_on_alloc=why))
        self.assertNotIn("zero", [r["name"] for r in runs])
        self.assertEqual([k for k, _ in left], ["zero"])
        self.assertIn("page allocator zeroes every page", left[0][1])
        self.assertIsNone(hostrun.init_on_alloc("init_on_alloc=0",
                                                "CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y\n"))
        self.assertIn("command line", hostrun.init_on_alloc("init_on_alloc=1", ""))

    def test_user_without_btf_perf_or_cma(self):
        """not root, no BTF, no perf, no CMA heap: each left out with its reason"""
        runs, left = hostrun.plan(quick(), [UP_SYS], env(root=False, btf=False,
                                                         perf="perf_event_paranoid 4"))
        why = dict(left)
        self.assertIn("not root", why["--settle (drop caches and compact memory before each case)"])
        self.assertIn("no heap whose implementation is CMA", why["CMA heaps"])
        self.assertIn("no BTF", why["tracer"])
        self.assertIn("/sys/kernel/btf/vmlinux missing", why["tracer-latency"])
        self.assertIn("no CMA heap", why["cmatrace"])
        self.assertEqual([r["name"] for r in runs],
                         ["alloc", "memset", "mmap", "concurrency", "pressure"])
        for r in runs:
            self.assertNotIn("--settle", hostrun.command(r, "/b/hb", TRACERS, "/o"), r["name"])
        # quick's only --perf is zero's, left out already: no perf item
        self.assertFalse([k for k in why if k.startswith("perf counters")])

    def test_no_perf_drops_counters_and_says_so(self):
        """full matrix without perf: --perf dropped from each run that had it, one item naming them"""
        full = hostrun.read_matrix(hostrun.matrix_path(), "full")
        runs, left = hostrun.plan(full, [UP_SYS, UP_CMA], env(perf="perf_event_paranoid 3"))
        self.assertFalse([r for r in runs if "--perf" in r["args"]])
        item = [(k, v) for k, v in left if k.startswith("perf counters")]
        self.assertEqual(item, [("perf counters (--perf) of alloc, memset, mmap, concurrency,"
                                 " pressure", "no perf: perf_event_paranoid 3")])

    def test_root_and_tracers_needed(self):
        """with BTF but not root the tracers need root; without bpf/ built they need building"""
        _, left = hostrun.plan(quick(), [UP_SYS, UP_CMA], env(root=False))
        self.assertEqual(dict(left)["tracer"], "not root: loads BPF programs")
        _, left = hostrun.plan(quick(), [UP_SYS, UP_CMA],
                               env(tracers={"heaptrace": None, "cmatrace": None}))
        self.assertIn("bpf/heaptrace not built", dict(left)["tracer"])
        self.assertIn("bpf/cmatrace not built", dict(left)["cmatrace"])


PROBE = {"machine": {"kernel": "6.12.57+deb13-amd64", "arch": "x86_64", "cpus": 4,
                     "cpus_configured": 8, "mem_bytes": 8 << 30, "cma_bytes": 256 << 20,
                     "cma_areas": [{"name": "reserved", "pages": 65536}], "heaps": []}}


class Describe(unittest.TestCase):
    def test_rows(self):
        """kernel, CPU model, memory and CMA, each heap with its implementation, the limits"""
        rows = dict(hostrun.describe(PROBE, [UP_SYS, HL_CMA], env(perf="no perf tool"),
                                     "processor\t: 0\nmodel name\t: Test CPU @ 3GHz\n"))
        self.assertEqual(rows["kernel"], "6.12.57+deb13-amd64 (x86_64)")
        self.assertEqual(rows["CPU"], "Test CPU @ 3GHz, 4 online of 8")
        self.assertIn("8192 MiB, CMA 256 MiB (reserved", rows["memory"])
        self.assertEqual(rows["heap /dev/dma_heap/system"], "system heap, the kernel's (dma_heap)")
        self.assertEqual(rows["heap /dev/heaplab/reserved"], "cma heap, heaplab's module")
        self.assertEqual(rows["perf"], "no perf tool")

    def test_cpu_model_other_arches(self):
        """an arm64 /proc/cpuinfo without "model name" still names something"""
        self.assertEqual(hostrun.cpu_model("Hardware\t: Vendor SoC\n"), "Vendor SoC")
        self.assertTrue(hostrun.cpu_model(""))

    def test_left_out_section(self):
        """the report's Left out section: one row per item with its reason; failed runs too"""
        rs = data.load(fixture("alloc"))
        secs = dict(hostrun.sections([("kernel", "k")], [("zero", "needs <heaplab>")], ["alloc"],
                                     [("mmap", "exit 1: boom")], rs))
        self.assertIn("<td>zero</td><td>needs &lt;heaplab&gt;</td>", secs["Left out"])
        self.assertIn("<td>mmap (failed)</td><td>exit 1: boom</td>", secs["Left out"])
        self.assertIn("1 run(s) passed: alloc", secs["Runs"])
        self.assertIn("upstream system p50 (us)", secs["p50 per heap, every metric"])
        text = hostrun.text([("kernel", "k")], [("zero", "why")], ["alloc"], [])
        self.assertIn("zero: why\n# 1 run(s) passed, 0 failed, 1 left out", text)


# A stand-in heaplab-bench: `machine` describes MACHINE; a harness copies
# its fixture to --json (cmatrace's stand-in is not needed: no CMA heap).
FAKE = """#!{py}
import json, shutil, sys
a = sys.argv[1:]
if a[0] == "machine":
    print(json.dumps({{"schema": "heaplab-bench/1", "machine": {machine}, "heaps": []}}))
    sys.exit(0)
if a[0] == "mmap":
    print("mmap: failed on purpose", file=sys.stderr)
    sys.exit(3)
out = a[a.index("--json") + 1]
shutil.copy("{fix}/" + out.rsplit("/", 1)[1], out)
"""


class Command(unittest.TestCase):
    def fake(self, t, heaps):
        m = dict(PROBE["machine"], heaps=heaps, cma_areas=[], cma_bytes=0)
        return stand_in(t, "heaplab-bench",
                        FAKE.format(py=sys.executable, machine=repr(m), fix=FIX))

    def run_cli(self, *args):
        return cli("run", *args)

    def test_no_heaps(self):
        """no heap anywhere: exit 2, naming /dev/dma_heap, and no output folder"""
        with tempfile.TemporaryDirectory() as t:
            p = self.run_cli("--bench", self.fake(t, []), "--quick", "--out", t + "/o")
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("no DMA-BUF heap on this machine: /dev/dma_heap", p.stderr)
            self.assertFalse(os.path.exists(t + "/o"))

    def test_bad_input(self):
        """a missing --bench or --heap, and a used --out, are clear errors"""
        with tempfile.TemporaryDirectory() as t:
            p = self.run_cli("--bench", t + "/none")
            self.assertEqual(p.returncode, 2)
            self.assertIn("no heaplab-bench at", p.stderr)
            p = self.run_cli("--bench", self.fake(t, []), "--heap", t + "/nope")
            self.assertIn(f"--heap {t}/nope: no such device", p.stderr)
            os.makedirs(t + "/used")
            open(t + "/used/x", "w").close()
            p = self.run_cli("--bench", self.fake(t, [{"path": "/dev/dma_heap/system",
                                                          "impl": "upstream"}]),
                             "--out", t + "/used")
            self.assertIn("exists and is not empty", p.stderr)

    def test_run_and_report(self):
        """one system heap: runs what it can, a failed run counted, the report says what was left out"""
        with tempfile.TemporaryDirectory() as t:
            bench = self.fake(t, [{"path": "/dev/dma_heap/system", "impl": "upstream"}])
            p = self.run_cli("--bench", bench, "--quick", "--out", t + "/o")
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("heaplab run: left out: CMA heaps: no CMA heap", p.stderr)
            self.assertIn("mmap failed: exit 3: mmap: failed on purpose", p.stderr)
            with open(t + "/o/index.html") as f:
                page = f.read()
            for s in ("<h2>This machine</h2>", "<h2>Left out</h2>", "mmap (failed)",
                      "6.12.57+deb13-amd64", "needs heaplab&#x27;s own heaps"):
                self.assertIn(s, page)
            with open(t + "/o/machine.json") as f:
                m = json.load(f)
            self.assertEqual(m["heaps"][0]["kind"], "system")
            names = set(m["passed"])
            self.assertIn("alloc", names)
            self.assertNotIn("mmap", names)
            self.assertTrue(p.stdout.endswith(
                f"# {len(m['passed'])} run(s) passed, 1 failed, {len(m['left_out'])} left out\n"),
                p.stdout)

if __name__ == "__main__":
    unittest.main()
