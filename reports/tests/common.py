# SPDX-License-Identifier: GPL-2.0
"""What the tests of reports/ share: the tree's paths, heaplab_reports on
sys.path (this tree's, not an installed copy), the fixture run's documents,
and running heaplab or another of the tree's Python scripts as a process.
Import it before heaplab_reports."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.realpath(__file__))
FIX = os.path.join(HERE, "fixtures")
TOP = os.path.dirname(os.path.dirname(HERE))
REPORTS = os.path.join(TOP, "reports")
HEAPLAB = os.path.join(REPORTS, "heaplab")
if REPORTS not in sys.path:
    sys.path.insert(0, REPORTS)

# The fixture run (fixtures/: one make check guest run, quick mode): its
# bench documents, and the stress and tracer documents beside them.
BENCH = ["alloc", "memset", "zero", "mmap", "concurrency", "pressure", "tracer", "tracer-latency",
         "pool"]
SIDE = ["heaptrace", "cmatrace", "stress-run", "stress-fault", "stress-fuzz", "stress-oom"]


def fixture(name):
    return os.path.join(FIX, name + ".json")


def run_py(script, *args, env=None, timeout=None):
    """A Python script of the tree run by this interpreter (not the one its
    #! line names), its output captured as text."""
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def cli(*args, env=None):
    """heaplab ARGS, as run_py runs it."""
    return run_py(HEAPLAB, *args, env=env)


def write_json(dirname, name, doc):
    path = os.path.join(dirname, name)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def stand_in(dirname, name, text):
    """An executable script dirname/name made of @text: a stand-in for a
    tool (vm/run, heaplab-bench) that the host running make check cannot run."""
    path = os.path.join(dirname, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


def tmpdir(case):
    """A temporary folder removed when @case is done with it: a TestCase
    (after the test), or its class from setUpClass (after all its tests)."""
    t = tempfile.TemporaryDirectory()
    (case.addClassCleanup if isinstance(case, type) else case.addCleanup)(t.cleanup)
    return t.name
