#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Judges many result files in one Python process: each against its schema
(reports/heaplab_reports, as `heaplab validate`) and then its consistency
checker (check-bench-json.py or check-stress-json.py). One line per file,
"PASS FILE" or "FAIL FILE: why", after the checkers' own lines. Exit 1 if
any failed. One process rather than two per file: a Python start with
jsonschema costs seconds even on the host.

  check-json.py bench FILE...
  check-json.py stress [--min-fuzz-calls N] FILE...
"""
import importlib.util
import io
import json
import os
import sys
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "reports"))

from heaplab_reports import data  # noqa: E402


def checker(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"),
                                                  os.path.join(HERE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def judge_bench(mod, path):
    data.load(path)
    buf = io.StringIO()
    with redirect_stdout(buf):
        mod.main(path)
    return buf.getvalue().strip(), None


def judge_stress(mod, path, min_calls):
    data.load_side(path)
    with open(path) as f:
        p = mod.problems(json.load(f), min_calls)
    return "", "; ".join(p) if p else None


def main(argv):
    if not argv or argv[0] not in ("bench", "stress"):
        sys.exit(__doc__)
    kind, args = argv[0], argv[1:]
    min_calls = 1
    if args[:1] == ["--min-fuzz-calls"]:
        min_calls, args = int(args[1]), args[2:]
    mod = checker(f"check-{kind}-json")
    failed = 0
    for path in args:
        try:
            if kind == "bench":
                note, why = judge_bench(mod, path)
            else:
                note, why = judge_stress(mod, path, min_calls)
        except data.BadInput as e:
            note, why = "", str(e)
        except (AssertionError, KeyError, ValueError, TypeError) as e:
            note, why = "", f"inconsistent: {e!r}"
        if note:
            print(note)
        if why:
            failed += 1
            print(f"FAIL {path}: {why}")
        else:
            print(f"PASS {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
