#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks what a bpf/ tracer saw against what tests/guest/heap-workload did.

  check-trace-json.py heaptrace JSON IMPL HEAP SIZE:COUNT,... [FAIL_SIZE:FAIL_COUNT]
  check-trace-json.py cmatrace JSON AREA SIZE:COUNT,... [FAIL_SIZE:FAIL_COUNT]

Every count must equal what the workload did, bucket by bucket (a bucket
holds the buffers of at most 4 KiB << b), and no other bucket may appear.
Timings are never judged, only that each stage that must take time took some.
Exit 0 when everything matches; else each mismatch is printed.
"""
import json
import sys

PAGE = 4096
ALLOC_STAGES = ("pages", "zero", "sgtable", "export", "fd", "other")
# Stages that do real work in every heap's allocation: their time is not 0.
TIMED = ("pages", "zero", "export", "fd")


def size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(s[:-1]) * mult[s[-1]] if s[-1] in mult else int(s)


def pairs(spec):
    return [(size(a), int(b)) for a, b in (p.split(":") for p in spec.split(",") if p)]


def bucket(nbytes):
    pages = (nbytes + PAGE - 1) // PAGE
    return 0 if pages <= 1 else (pages - 1).bit_length()


def expected(spec, fail):
    """{bucket: {"n": buffers, "pages": pages in all, "failed": failures}}"""
    out = {}
    for sz, n in pairs(spec):
        b = out.setdefault(bucket(sz), {"n": 0, "pages": 0, "failed": 0})
        b["n"] += n
        b["pages"] += n * ((sz + PAGE - 1) // PAGE)
    for sz, n in pairs(fail or ""):
        out.setdefault(bucket(sz), {"n": 0, "pages": 0, "failed": 0})["failed"] += n
    return out


def check_heaptrace(doc, impl, heap, want, errs):
    got = {e["size_max"]: e for e in doc["entries"] if e["impl"] == impl and e["heap"] == heap}
    # -L: the ioctl and buffer operations only; no stage may show up.
    lat = doc.get("latency_only", False)
    upstream_system = impl == "upstream" and heap == "system"
    cma = heap != "system"
    for b, w in sorted(want.items()):
        where = f"{impl}/{heap} bucket <= {PAGE << b}"
        e = got.pop(PAGE << b, None)
        if e is None:
            errs.append(f"{where}: no entry (want {w['n']} allocations)")
            continue
        st = e["stages"]

        def count(name):
            return st[name]["count"] if name in st else 0
        # Where the kernel inlines kernel_init_pages() into the page
        # allocator, __GFP_ZERO's clearing is inside "pages" for every
        # allocation of the upstream system heap, and "zero" is untimed.
        zip_ = e["zero_in_pages"]
        if zip_ not in (0, w["n"]) or (zip_ and not upstream_system):
            errs.append(f"{where}: zero inside pages in {zip_} of {w['n']} allocations")
        if lat:
            for name in ALLOC_STAGES:
                if name in st:
                    errs.append(f"{where}: stage {name} timed under --latency-only")
            if e["orders"]:
                errs.append(f"{where}: page chunks recorded under --latency-only")
        if w["n"]:
            for name in ("ioctl",) + (() if lat else ALLOC_STAGES):
                want_n = 0 if name == "zero" and zip_ else w["n"]
                if count(name) != want_n:
                    errs.append(f"{where}: {name} count {count(name)}, want {want_n}")
            for name in TIMED:
                if name in st and st[name]["sum_ns"] == 0:
                    errs.append(f"{where}: {name} took no time in {w['n']} allocations")
            for name in ("mmap", "begin_cpu_access", "end_cpu_access", "release"):
                if count(name) != w["n"]:
                    errs.append(f"{where}: {name} count {count(name)}, want {w['n']}")
            # heaplab's heaps and the upstream system heap map everything in
            # mmap: no faults. The upstream CMA heap faults each page in.
            faults = 0 if upstream_system or impl == "heaplab" else w["pages"]
            if count("fault") != faults:
                errs.append(f"{where}: fault count {count('fault')}, want {faults} (one per page written)")
        if count("failed") != w["failed"]:
            errs.append(f"{where}: failed count {count('failed')}, want {w['failed']}")
        # Page chunks: every page of every buffer comes from exactly one
        # successful chunk allocation (orders), or one cma_alloc per buffer.
        if lat:
            continue
        if cma:
            ok = sum(o["ok"] for o in e["orders"] if o["order"] == "cma")
            failed = sum(o["failed"] for o in e["orders"] if o["order"] == "cma")
            # heaplab's CMA heap refuses a request larger than its whole
            # area before calling cma_alloc(): those never reach it.
            want_failed = 0 if impl == "heaplab" else w["failed"]
            if ok != w["n"] or failed != want_failed:
                errs.append(f"{where}: cma_alloc {ok} ok / {failed} failed, want {w['n']} / {want_failed}")
        else:
            pages = sum(o["ok"] << o["order"] for o in e["orders"] if o["order"] != "cma")
            if pages != w["pages"]:
                errs.append(f"{where}: page chunks hold {pages} pages, want {w['pages']} "
                            f"({e['orders']})")
    for sz in got:
        errs.append(f"{impl}/{heap}: unexpected bucket <= {sz}")


def check_cmatrace(doc, area, want, errs):
    got = {a["size_max"]: a for a in doc["areas"] if a["cma"] == area}
    for b, w in sorted(want.items()):
        where = f"cma {area} bucket <= {PAGE << b}"
        a = got.pop(PAGE << b, None)
        if a is None:
            errs.append(f"{where}: no entry")
            continue
        if a["count"] != w["n"] + w["failed"] or a["failed"] != w["failed"]:
            errs.append(f"{where}: {a['count']} cma_alloc, {a['failed']} failed; "
                        f"want {w['n'] + w['failed']}, {w['failed']}")
        if sum(c for _, _, c in a["hist"]) != a["count"]:
            errs.append(f"{where}: latency histogram does not sum to the count")
        # Each successful cma_alloc() ends in one successful alloc_contig_range().
        if a["acr_calls"] - a["acr_busy"] < w["n"]:
            errs.append(f"{where}: {a['acr_calls']} alloc_contig_range calls "
                        f"({a['acr_busy']} busy), want at least {w['n']} that succeeded")
        if w["n"] and (a["sum_ns"] == 0 or a["acr_ns"] == 0 or a["acr_ns"] > a["sum_ns"]):
            errs.append(f"{where}: times do not add up (cma_alloc {a['sum_ns']} ns, "
                        f"alloc_contig_range {a['acr_ns']} ns)")
    for sz in got:
        errs.append(f"cma {area}: unexpected bucket <= {sz}")


def main(argv):
    nargs = {"heaptrace": (5, 6), "cmatrace": (4, 5)}
    if not argv or len(argv) not in nargs.get(argv[0], ()):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        doc = json.load(f)
    errs = []
    if argv[0] == "heaptrace":
        want = expected(argv[4], argv[5] if len(argv) > 5 else None)
        check_heaptrace(doc, argv[2], argv[3], want, errs)
    else:
        want = expected(argv[3], argv[4] if len(argv) > 4 else None)
        check_cmatrace(doc, argv[2], want, errs)
    for e in errs:
        print(f"mismatch: {e}")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
