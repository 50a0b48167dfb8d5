#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""contrib/lava against LAVA's own schemas (Debian's lava-common):

  lava-check.py job FILE        the job validates (strict) and its test action
                                pulls contrib/lava/heaplab-host.yaml
  lava-check.py testdef FILE    the test definition validates and reports
                                through heaplab export --format lava
  lava-check.py mangled FILE    each of a few broken copies of the job is refused

Exit 0 when it holds, 1 with the reason on stdout."""
import copy
import sys

try:
    import yaml
    from lava_common.schemas import validate
    from lava_common.schemas.test import testdef
except ImportError as e:
    print(f"needs Debian's python3-yaml and lava-common (tools/install-deps --check): {e}")
    sys.exit(1)

# What a broken job looks like: each must fail the schema.
MANGLE = {
    "no timeouts": lambda j: j.pop("timeouts"),
    "an unknown top-level key": lambda j: j.update(bogus=1),
    "no visibility": lambda j: j.pop("visibility"),
    "deploy to nowhere": lambda j: j["actions"][0]["deploy"].update(to="nowhere"),
    "a test name with a space": lambda j: tests(j)[0].update(name="heaplab host"),
    "an action longer than the job": lambda j: j["timeouts"].update(job={"minutes": 1}),
    "a priority out of range": lambda j: j.update(priority=101),
}


def tests(job):
    return [d for a in job["actions"] if "test" in a for d in a["test"]["definitions"]]


def main(kind, path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    if kind == "job":
        validate(doc, strict=True)
        paths = [d.get("path") for d in tests(doc)]
        if "contrib/lava/heaplab-host.yaml" not in paths:
            print(f"{path}: no test action pulls contrib/lava/heaplab-host.yaml ({paths})")
            return 1
        print(f"{path}: valid; actions {[next(iter(a)) for a in doc['actions']]}")
    elif kind == "testdef":
        testdef.validate(doc)
        steps = " ".join(doc["run"]["steps"])
        for want in ("./setup --without-kernel", "reports/heaplab run", "export --format lava"):
            if want not in steps:
                print(f"{path}: the run steps lack {want!r}")
                return 1
        print(f"{path}: valid; {len(doc['run']['steps'])} run steps")
    elif kind == "mangled":
        validate(doc, strict=True)      # refused for the mangling alone
        accepted = []
        for what, mangle in MANGLE.items():
            j = copy.deepcopy(doc)
            mangle(j)
            try:
                validate(j, strict=True)
                accepted.append(what)
            except Exception as e:     # voluptuous' Invalid, whatever the path
                print(f"refused, {what}: {e}")
        if accepted:
            print(f"the schema accepted a broken job: {', '.join(accepted)}")
            return 1
    else:
        print(f"lava-check.py: unknown check {kind!r}")
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(*sys.argv[1:3]))
    except Exception as e:   # the schema's error, named
        print(f"{sys.argv[2]}: {type(e).__name__}: {e}")
        sys.exit(1)
