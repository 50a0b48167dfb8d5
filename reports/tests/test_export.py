# SPDX-License-Identifier: GPL-2.0
"""heaplab export over the fixture run: LAVA test case lines (names LAVA
accepts, unique, stable; p50, p99, heaplab/upstream ratios), SQUAD's
metrics JSON, the flat JSON list, --run through a stand-in lava-test-case,
and bad input (one line, exit 2)."""
import copy
import json
import math
import os
import re
import tempfile
import unittest

import common
from common import BENCH, fixture, stand_in, write_json
from heaplab_reports import data, export

LINE = re.compile(r"^lava-test-case ([A-Za-z0-9_.-]+) --result pass "
                  r"--measurement (-?[0-9]+(?:\.[0-9]+)?) --units (\S+)$")


def cli(*args, env=None):
    return common.cli("export", *args, env=env)


class Names(unittest.TestCase):
    def test_valid_unique_every_fixture(self):
        """every fixture alone and all together: names unique, LAVA's characters, <= 100"""
        for names in [[n] for n in BENCH] + [BENCH]:
            its = export.items(data.merge([fixture(n) for n in names]))
            got = [i[0] for i in its]
            self.assertTrue(got, names)
            self.assertEqual(len(got), len(set(got)), names)
            for n in got:
                self.assertRegex(n, export.OK)
                self.assertLessEqual(len(n), export.MAX_NAME)

    def test_stable_and_readable(self):
        """a name comes from its metric alone: the same with or without other tools' metrics"""
        self.assertEqual(export.base_name("alloc heap=/dev/heaplab/system size=4096 alloc"),
                         "alloc.heaplab-system.4K.alloc")
        self.assertEqual(export.base_name("tracer heap=/dev/dma_heap/x size=65536 tracer_args=-L a"),
                         "tracer.upstream-x.64K.tracer_args--L.a")
        alone = dict((n, v) for n, v, _, _ in export.items(data.load(fixture("alloc"))))
        merged = dict((n, v) for n, v, _, _ in
                      export.items(data.merge([fixture(n) for n in BENCH])))
        self.assertLessEqual(set(alone), set(merged))

    def test_values_and_ratios(self):
        """p50/p99 are the fixture's, a ratio is heaplab's over its upstream twin's"""
        rs = data.load(fixture("alloc"))
        m = data.metrics(rs)
        its = {n: (v, u, b) for n, v, u, b in export.items(rs)}
        d = m["alloc heap=/dev/heaplab/system size=4096 alloc"]
        up = m["alloc heap=/dev/dma_heap/system size=4096 alloc"]
        self.assertEqual(its["alloc.heaplab-system.4K.alloc.p50"], (d["p50_ns"], "ns", "lower"))
        self.assertEqual(its["alloc.heaplab-system.4K.alloc.p99"], (d["p99_ns"], "ns", "lower"))
        v, u, b = its["alloc.ratio-system.4K.alloc.p50"]
        self.assertAlmostEqual(v, d["p50_ns"] / up["p50_ns"])
        self.assertEqual((u, b), ("x", "lower"))
        twins = sum(1 for n in m if n.replace("/dev/heaplab/", "/dev/dma_heap/") in m
                    and "/dev/heaplab/" in n)
        self.assertEqual(len(its), 2 * len(m) + 2 * twins)
        z = {n: (u, b) for n, _, u, b in export.items(data.load(fixture("zero")))}
        self.assertIn(("GB/s", "higher"), z.values())

    def test_clashing_names_made_unique(self):
        """two metrics whose names clash once cleaned get each its own hash, both stable"""
        rs = data.load(fixture("alloc"))
        a, b = copy.deepcopy(rs), copy.deepcopy(rs)
        for r in a["runs"][0]["results"]:
            r["heap"] = r["heap"].replace("system", "s:y")
        for r in b["runs"][0]["results"]:
            r["heap"] = r["heap"].replace("system", "s;y")
        both = {"schema": data.SET_SCHEMA, "runs": a["runs"] + b["runs"]}
        names = [n for n, _, _, _ in export.items(both)]
        self.assertEqual(len(names), len(set(names)))
        self.assertTrue(any(re.search(r"-[0-9a-f]{6}$", n) for n in names))
        self.assertEqual(names, [n for n, _, _, _ in export.items(copy.deepcopy(both))])

    def test_non_finite_left_out(self):
        """a ratio over an upstream p50 of 0 is left out, not written as inf"""
        rs = copy.deepcopy(data.load(fixture("alloc")))
        for r in rs["runs"][0]["results"]:
            if r["heap"].startswith("/dev/dma_heap/"):
                r["alloc"]["p50_ns"] = 0
        for n, v, _, _ in export.items(rs):
            self.assertTrue(math.isfinite(v), n)


class Formats(unittest.TestCase):
    def test_lava_lines(self):
        """--format lava: each line is lava-test-case NAME --result pass --measurement V --units U"""
        p = cli("--format", "lava", fixture("alloc"))
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        parsed = [LINE.match(ln) for ln in lines]
        self.assertTrue(lines and all(parsed), [ln for ln, m in zip(lines, parsed) if not m][:3])
        self.assertEqual(len({m.group(1) for m in parsed}), len(lines))
        p = cli("--format", "lava", "--prefix", "board1", fixture("alloc"))
        self.assertTrue(all(ln.split()[1].startswith("board1.") for ln in p.stdout.splitlines()))

    def test_lava_run(self):
        """--run calls lava-test-case once per item when it is on PATH"""
        with tempfile.TemporaryDirectory() as t:
            stand_in(t, "lava-test-case", f"#!/bin/sh\necho \"$*\" >>{t}/calls\n")
            env = dict(os.environ, PATH=t + os.pathsep + os.environ["PATH"])
            p = cli("--format", "lava", "--run", fixture("memset"), env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(t, "calls")) as f:
                calls = f.read().splitlines()
            self.assertEqual(len(calls), len(export.items(data.load(fixture("memset")))))
            self.assertTrue(all(c.split()[1:3] == ["--result", "pass"] for c in calls), calls)
            self.assertEqual(p.stdout, "")

    def test_squad(self):
        """--format squad: {"suite/name": {"value", "unit"}}, suite heaplab or --prefix"""
        p = cli("--format", "squad", fixture("zero"))
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertIsInstance(doc, dict)
        for k, v in doc.items():
            suite, _, name = k.rpartition("/")
            self.assertEqual(suite, "heaplab")
            self.assertRegex(name, export.OK)
            self.assertEqual(set(v), {"value", "unit"})
            self.assertIsInstance(v["value"], (int, float))
            self.assertTrue(math.isfinite(v["value"]))
        p = cli("--format", "squad", "--prefix", "boards/heaplab", fixture("zero"))
        self.assertTrue(all(k.startswith("boards/heaplab/") for k in json.loads(p.stdout)))

    def test_reader_leaves(self):
        """export | head: the reader leaving early ends heaplab with 141 (SIGPIPE's status), no traceback"""
        import subprocess
        import sys
        p = subprocess.Popen([sys.executable, common.HEAPLAB, "export", "--format", "lava",
                              # 77 KB of lines: more than a pipe holds, so a write must fail
                              os.path.join(common.FIX, "history", "bench-6.12.json")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.readline()
        p.stdout.close()
        err = p.stderr.read().decode()
        self.assertEqual(p.wait(timeout=60), 141, err)
        self.assertEqual(err, "")

    def test_json(self):
        """--format json: a flat list of {name, value, unit, better}; a report directory works"""
        with tempfile.TemporaryDirectory() as t:
            write_json(t, "bench.json", data.merge([fixture("alloc"), fixture("zero")]))
            p = cli("--format", "json", t)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertIsInstance(doc, list)
        for x in doc:
            self.assertEqual(set(x), {"name", "value", "unit", "better"})
            self.assertIn(x["better"], ("lower", "higher"))
        self.assertEqual(len(doc), len({x["name"] for x in doc}))


class BadInput(unittest.TestCase):
    def test_bad_input_one_line_exit_2(self):
        """not found, not JSON, not a bench run, no bench.json, bad prefix, --run with squad: exit 2"""
        with tempfile.TemporaryDirectory() as t:
            bad = os.path.join(t, "bad.json")
            with open(bad, "w") as f:
                f.write("{")
            cases = [(["--format", "lava", os.path.join(t, "missing.json")], "No such file"),
                     (["--format", "lava", bad], "not JSON"),
                     (["--format", "squad", fixture("stress-run")], "schema is"),
                     (["--format", "json", t], "without bench.json"),
                     (["--format", "lava", "--prefix", "a b", fixture("alloc")], "--prefix"),
                     (["--format", "squad", "--run", fixture("alloc")], "--run")]
            for args, want in cases:
                p = cli(*args)
                self.assertEqual(p.returncode, 2, args)
                self.assertEqual(p.stdout, "", args)
                self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
                self.assertIn(want, p.stderr, args)


if __name__ == "__main__":
    unittest.main()
