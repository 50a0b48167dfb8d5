#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Runs reports/tests (unittest) and prints TAP, one result per test, for
make check's automake TAP driver. `python3 -m unittest discover -s
reports/tests` runs the same tests without TAP."""
import sys
import traceback
import unittest

from common import HERE


class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, extra=""):
        self.n += 1
        doc = (test.shortDescription() or "").rstrip(".")
        name = f"reports: {test.id().split('.', 1)[-1]}" + (f": {doc}" if doc else "")
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}{extra}", flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def _fail(self, test, err):
        self._line(False, test)
        for line in "".join(traceback.format_exception(*err)).splitlines():
            print(f"# {line}")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, f" # SKIP {reason}")


def main():
    suite = unittest.defaultTestLoader.discover(HERE, top_level_dir=HERE)
    result = TapResult()
    suite.run(result)
    print(f"1..{result.n}")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
