# SPDX-License-Identifier: GPL-2.0
"""Workload profiles (heaplab-profile/1, profiles/README.md): load and
validate, and what a profile's schedule implies (allocations per class,
bytes held at once, duration). bench/profile.c validates the same rules in
C; the errors are worded alike: `profile FILE: FIELD: VALUE: reason`."""
import json
import math
import os

import jsonschema

from . import data

SCHEMA = "heaplab-profile/1"
SCHEMA_FILE = "heaplab-profile-1.json"
HERE = os.path.dirname(os.path.realpath(__file__))
# Source tree: ../../profiles/schema; installed: ../schema beside this package.
SCHEMA_DIRS = [os.path.join(HERE, "..", "..", "profiles", "schema"), os.path.join(HERE, "..", "schema")]
GiB = 1 << 30
# page_cache + anon beyond this leaves the guest too little to run in.
MAX_BACKGROUND = 0.9


def _int_only(checker, inst):
    # JSON Schema calls 12.0 an integer; a byte count written as a float
    # is a mistake (and C's parser reads it as a double).
    return isinstance(inst, int) and not isinstance(inst, bool)


Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _int_only))


def schema():
    return data.schema(SCHEMA_FILE, SCHEMA_DIRS)


def field(path):
    """['phases', 1, 'classes', 0, 'rate_hz'] -> phases[1].classes[0].rate_hz"""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "(top)"


def value(v):
    s = json.dumps(v)
    return s if len(s) <= 40 else s[:37] + "..."


def gib(n):
    return f"{n / GiB:.1f} GiB"


class Bad(data.BadInput):
    def __init__(self, file, fld, val, reason):
        super().__init__(f"profile {file}: {fld}: {val}: {reason}")


TYPES = {"integer": "an integer", "number": "a number", "string": "a string",
         "object": "an object", "array": "an array"}


def _schema_error(e):
    """(field, value, reason) of one jsonschema error, in the spec's words."""
    path = list(e.absolute_path)
    k = e.validator
    if k == "required":
        missing = e.message.split("'")[1]
        return field(path + [missing]), "(missing)", "required"
    if k == "additionalProperties":
        extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))[0]
        return field(path + [extra]), value(e.instance[extra]), "unknown field"
    if k == "type":
        want = e.validator_value
        return field(path), value(e.instance), f"must be {TYPES.get(want, want)}"
    if "x-reason" in e.schema:
        return field(path), value(e.instance), e.schema["x-reason"]
    if k == "minimum":
        return field(path), value(e.instance), f"must be >= {e.validator_value}"
    if k == "exclusiveMinimum":
        return field(path), value(e.instance), f"must be > {e.validator_value}"
    if k == "maximum":
        return field(path), value(e.instance), f"must be <= {e.validator_value}"
    return field(path), value(e.instance), e.message


def _path_key(e):
    return [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in e.absolute_path]


def classes(doc):
    """(phase index, class index, phase, class) over the whole profile."""
    for i, ph in enumerate(doc["phases"]):
        for j, c in enumerate(ph["classes"]):
            yield i, j, ph, c


def held_at_once(phase, kind=None):
    """Bytes a phase holds at most: sum of count * size over its classes."""
    return sum(c["count"] * c["size"] for c in phase["classes"] if kind in (None, c["heap"]))


def check(doc, file, mem_bytes=None):
    """Raise Bad on the first rule @doc breaks (the schema, then the rules
    JSON Schema cannot say). @mem_bytes: the MemTotal a phase must fit."""
    if not isinstance(doc, dict):
        raise Bad(file, "(top)", value(doc), "must be an object")
    # First, so a document of another kind is named as such.
    if "schema" not in doc:
        raise Bad(file, "schema", "(missing)", f"required ({SCHEMA})")
    if doc["schema"] != SCHEMA:
        raise Bad(file, "schema", value(doc["schema"]), f"want {SCHEMA}")
    errors = sorted(Validator(schema()).iter_errors(doc), key=_path_key)
    if errors:
        raise Bad(file, *_schema_error(errors[0]))
    seen = {}
    for i, j, _, c in classes(doc):
        if c["name"] in seen:
            raise Bad(file, f"phases[{i}].classes[{j}].name", value(c["name"]),
                      f"duplicate class name (also {seen[c['name']]})")
        seen[c["name"]] = f"phases[{i}].classes[{j}]"
    bg = doc.get("background", {})
    pc, anon, pinned = bg.get("page_cache", 0), bg.get("anon", 0), bg.get("pinned", 0)
    if pc + anon > MAX_BACKGROUND:
        raise Bad(file, "background", f"page_cache + anon = {pc + anon:.2f}",
                  f"more than {MAX_BACKGROUND} of MemTotal (the rest must run the replay)")
    if pinned > anon:
        raise Bad(file, "background.pinned", value(pinned),
                  f"more than anon ({anon}): the pinned pages are part of the anonymous load")
    if mem_bytes:
        for i, ph in enumerate(doc["phases"]):
            held = held_at_once(ph)
            if held > mem_bytes:
                names = ", ".join(c["name"] for c in ph["classes"])
                raise Bad(file, f"phases[{i}]", f"holds {gib(held)} at once (classes {names})",
                          f"more than MemTotal {gib(mem_bytes)}")
    last = None
    for k, ev in enumerate(doc.get("timeline", [])):
        if ev["class"] not in seen:
            raise Bad(file, f"timeline[{k}].class", value(ev["class"]), "names no class")
        if last is not None and ev["at_us"] < last:
            raise Bad(file, f"timeline[{k}].at_us", value(ev["at_us"]),
                      f"out of order (timeline[{k - 1}].at_us is {last})")
        last = ev["at_us"]


def load(path, mem_bytes=None):
    """A profile, validated; bad input raises data.BadInput with one line."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise data.BadInput(f"profile {path}: {e.strerror}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise data.BadInput(f"profile {path}: not JSON: {e}")
    check(doc, path, mem_bytes)
    return doc


def planned_allocs(doc):
    """{class: allocations the replay attempts}: deterministic (README's
    semantics), so a replay's counts can be checked exactly."""
    if "timeline" in doc:
        out = {c["name"]: 0 for _, _, _, c in classes(doc)}
        for ev in doc["timeline"]:
            out[ev["class"]] += 1
        return out
    out = {}
    for _, _, ph, c in classes(doc):
        if c["rate_hz"] == 0:
            out[c["name"]] = c["count"]
        else:
            # Same expression, same order as C's: floor(d * r / 1000) in doubles.
            out[c["name"]] = max(1, math.floor(ph["duration_ms"] * float(c["rate_hz"]) / 1000.0))
    return out


def cma_need(doc):
    """The most CMA-kind bytes any phase holds at once (count * size)."""
    return max((held_at_once(ph, "cma") for ph in doc["phases"]), default=0)


def duration_ms(doc):
    """One replay's length on one heap, before --time-scale."""
    total = sum(ph["duration_ms"] for ph in doc["phases"])
    if doc.get("timeline"):
        total = max(total, max((ev["at_us"] + ev["hold_us"]) // 1000 for ev in doc["timeline"]))
    return total


def cma_classes(doc):
    return [c for _, _, _, c in classes(doc) if c["heap"] == "cma"]


def summary(doc):
    n = sum(1 for _ in classes(doc))
    return (f"{len(doc['phases'])} phase(s), {n} class(es) ({len(cma_classes(doc))} CMA),"
            f" CMA held at once at most {cma_need(doc) / (1 << 20):.1f} MiB,"
            f" {duration_ms(doc) / 1000:.1f} s per heap")
