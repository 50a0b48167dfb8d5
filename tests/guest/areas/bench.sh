#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Area "bench": bench/ and reports/ in quick mode. Timings are never judged.
#
# Guest phase: every harness runs on all four heaps (run-bench, quick);
# replay plays tests/profiles/ok-replay-counts.json on the four heaps under
# its background load, and on heaplab's CMA heap at a tenth of the time
# without it; concurrency refuses more threads than CPUs unless --oversubscribe; two
# runs of one build and one with a 50 ms delay injected into heaplab's
# allocation path (a test-build-only hook) for heaplab compare; bad input.
# Host phase, over the files the guest phase left (tests/guest.out/bench/):
# each JSON against the schema and checked for consistency, replay's
# counts exactly as the profile implies (guest/check-replay.py), the report
# (every plot, the HTML), heaplab compare passing the two runs and flagging
# the delay. The host judges the files because Python (matplotlib, scipy,
# jsonschema) takes minutes to start in the debug guest, seconds here.
#
#   bench.sh BUILDDIR      (HEAPLAB_PHASE=guest|host, HEAPLAB_SCRATCH=DIR)
set -u
builddir=${1:?usage: bench.sh BUILDDIR}
. "$(dirname "$0")/../lib.sh"

bench=$builddir/bench/heaplab-bench
bout=$scratch/bench
tools=(alloc memset zero mmap concurrency pressure tracer tracer-latency pool)
files=()
for t in "${tools[@]}"; do files+=("$bout/$t.json"); done
profile=$srcdir/tests/profiles/ok-replay-counts.json

report_has_all() {	# report_has_all DIR: every file the report writes
	local f
	for f in index.html bench.json ratios.txt latency_vs_size.png latency_cdf.png \
		zeroing.png mmap.png concurrency.png pressure.png where_time_goes.png \
		pool_states.png pool_burst.png; do
		[ -s "$1/$f" ] || { echo "missing $f"; return 1; }
	done
}

host_phase() {
	local tool f rc1 rc2
	check_json bench "$bout/check.log" "${files[@]}" "$bout/replay.json" "$bout/replay-fast.json" \
		"$bout/replay-fragment.json"
	for tool in "${tools[@]}"; do
		if json_passed "$bout/$tool.json"; then
			emit ok "bench: $tool: JSON valid against the schema and consistent"
		else
			emit not-ok "bench: $tool: JSON missing, invalid or inconsistent"
		fi
	done
	if json_passed "$bout/replay.json" && json_passed "$bout/replay-fast.json" &&
	   json_passed "$bout/replay-fragment.json"; then
		emit ok "bench: replay: JSON of the three runs valid against the schema and consistent (counts add up, headroom agrees with the area)"
	else
		emit not-ok "bench: replay: JSON missing, invalid or inconsistent"
	fi
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) emit ok "${line#ok }" ;;
		*) emit not-ok "${line#not-ok }" ;;
		esac
	done < <(/usr/bin/python3 "$srcdir/tests/guest/check-replay.py" "$bout/replay.json" \
		"$bout/replay-fast.json" "$bout/replay-fragment.json" 2>&1)
	f=$bout/report
	if "${heaplab[@]}" report -o "$f" "${files[@]}" "$bout/heaptrace.json" \
		"$bout/cmatrace.json" >"$bout/report.log" 2>&1 &&
	   report_has_all "$f" >>"$bout/report.log" &&
	   grep -q "ratio heaplab / upstream" "$f/index.html" &&
	   [ "$(grep -c '^alloc ' "$f/ratios.txt")" = 8 ] &&
	   grep -q "where the time goes (bpf/heaptrace)" "$f/index.html" &&
	   grep -q "tracer overhead (heaplab-bench tracer)" "$f/index.html" &&
	   grep -q "<code>heaptrace -L</code> (latency only)" "$f/index.html" &&
	   grep -q "contiguous allocations (bpf/cmatrace)" "$f/index.html"; then
		emit ok "reports: heaplab report writes index.html, bench.json, ratios, 7 plots, tracer breakdown, overhead (full and -L) and cmatrace tables"
	else
		emit not-ok "reports: heaplab report failed"
	fi
	diag "$bout/report.log" 40

	# heaplab compare: two runs of this build pass; the injected delay is
	# flagged. A generous threshold (100%) keeps emulation noise from
	# failing the first half; the injected 50 ms is far beyond it. Each
	# side is $rounds repeats taken in turn with the others' (see cmp_run).
	"${heaplab[@]}" compare --threshold 100 --old "$bout"/a.*.json --new "$bout"/b.*.json \
		>"$bout/cmp1" 2>&1
	rc1=$?
	diag "$bout/cmp1"
	if [ "$rc1" = 0 ]; then
		emit ok "reports: heaplab compare passes two runs of the same build"
	else
		emit not-ok "reports: heaplab compare flagged two runs of the same build (exit $rc1)"
	fi
	"${heaplab[@]}" compare --threshold 100 --plot "$bout/cmp.png" \
		--old "$bout"/a.*.json --new "$bout"/c.*.json >"$bout/cmp2" 2>&1
	rc2=$?
	diag "$bout/cmp2"
	if [ "$rc2" = 1 ] && grep -q "regression: alloc heap=/dev/heaplab/system size=4096 alloc" "$bout/cmp2" &&
	   ! grep -q "regression: .* free" "$bout/cmp2" && [ -s "$bout/cmp.png" ]; then
		emit ok "reports: heaplab compare flags the injected 50 ms allocation delay (exit 1, names the metric)"
	else
		emit not-ok "reports: heaplab compare missed the injected regression (exit $rc2)"
	fi
	if "${heaplab[@]}" compare "$bout/a.1.json" /nonexistent >/dev/null 2>"$bout/err"; [ $? = 2 ] &&
	   grep -q "No such file" "$bout/err"; then
		emit ok "reports: heaplab compare rejects a missing file with exit 2 and a message"
	else
		emit not-ok "reports: heaplab compare bad input"
	fi
	# The oversubscribed run's JSON says so (the guest checked the refusal).
	if /usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
r = d["results"][0]
sys.exit(not (d["options"]["oversubscribe"] and r["oversubscribed"] and
              len(r["cpus_used"]) == d["machine"]["cpus"] < r["threads"]))' "$bout/over.json" 2>&1 | diag; then
		emit ok "bench: concurrency --oversubscribe says so in the JSON (more threads than CPUs, every CPU used)"
	else
		emit not-ok "bench: concurrency --oversubscribe not recorded in the JSON"
	fi
}

guest_phase() {
	local hook ncpu over i rounds=5 same=1 slow=1
	[ -x "$bench" ] || { emit not-ok "bench: $bench not built"; return; }
	load_heaps || emit not-ok "modules: heaplab heaps failed to load"
	rm -rf "$bout" && mkdir -p "$bout"
	if HEAPLAB_QUICK=1 HEAPLAB_OUT=$bout "$srcdir/bench/run-bench" "$builddir" "$kdir" \
		>"$bout/log" 2>&1; then
		emit ok "bench: run-bench quick mode ran every harness"
	else
		emit not-ok "bench: run-bench quick mode failed"
	fi
	tail -n 80 "$bout/log" | diag

	# replay: a known profile on the four heaps, under its background load
	# (page cache, fragmenting anonymous pages, pinned ones), then on
	# heaplab's CMA heap at a tenth of the time without it; and a timeline
	# that leaves the CMA area in 1 MiB holes, on both CMA heaps. The
	# counts are judged on the host (check-replay.py).
	if "$bench" replay "$profile" --heap /dev/heaplab/reserved --heap /dev/heaplab/system \
		--heap /dev/dma_heap/reserved --heap /dev/dma_heap/system --json "$bout/replay.json" \
		>"$bout/replay.log" 2>&1 &&
	   "$bench" replay "$profile" --heap /dev/heaplab/reserved --time-scale 0.1 --no-background \
		--raw --json "$bout/replay-fast.json" >>"$bout/replay.log" 2>&1 &&
	   "$bench" replay "$srcdir/tests/profiles/ok-replay-fragment.json" --heap /dev/heaplab/reserved \
		--heap /dev/dma_heap/reserved --no-background --time-scale 0.2 \
		--json "$bout/replay-fragment.json" >>"$bout/replay.log" 2>&1; then
		emit ok "bench: replay of a known profile on the four heaps, at --time-scale 0.1, and one that fragments the CMA area"
	else
		emit not-ok "bench: replay of a known profile failed"
	fi
	diag "$bout/replay.log" 60

	# Runs for heaplab compare (judged on the host): a and b of this build,
	# c with a fixed delay in heaplab's allocation path. They are taken in
	# turn, a round of each at a time: the guest's pace drifts with what
	# else the host runs (make check's other boots), and one run of each
	# taken minutes apart once made the free of c look 2.4x slower.
	cmp_run() { "$bench" alloc --heap /dev/heaplab/system --sizes 4K --iters 6 --raw \
		--json "$1" >/dev/null 2>&1; }
	hook=/sys/module/heaplab_heap/parameters/test_alloc_delay_us
	if [ -w "$hook" ]; then
		for i in $(seq $rounds); do
			cmp_run "$bout/a.$i.json" && cmp_run "$bout/b.$i.json" || same=
			echo 50000 >"$hook"
			cmp_run "$bout/c.$i.json" || slow=
			echo 0 >"$hook"
		done
		check "bench: two alloc runs of the same build for heaplab compare ($rounds rounds each)" test "$same"
		check "bench: an alloc run with 50 ms injected into heaplab's allocation path ($rounds rounds, in turn with the others)" test "$slow"
	else
		emit not-ok "reports: test hook $hook missing (not a test build?)"
	fi

	# More threads than CPUs is refused unless asked for.
	ncpu=$(getconf _NPROCESSORS_ONLN)
	over=$((ncpu + 1))
	if ! "$bench" concurrency --heap /dev/heaplab/system --sizes 4K --threads $over --iters 4 \
		>/dev/null 2>"$bout/err" &&
	   grep -q "threads $over is more than the $ncpu CPU(s) online; pass --oversubscribe" "$bout/err" &&
	   "$bench" concurrency --heap /dev/heaplab/system --sizes 4K --threads $over --iters 4 \
		--oversubscribe --json "$bout/over.json" >/dev/null 2>&1; then
		emit ok "bench: concurrency refuses $over threads on $ncpu CPUs unless --oversubscribe"
	else
		diag "$bout/err"
		emit not-ok "bench: concurrency oversubscription not refused"
	fi
	if ! "$bench" alloc --heap /nonexistent --sizes 4K >/dev/null 2>"$bout/err" &&
	   grep -q "No such file" "$bout/err" &&
	   ! "$bench" alloc --heap /dev/heaplab/system --sizes 0K 2>/dev/null &&
	   ! "$bench" alloc --heap /dev/heaplab/system --sizes 5000 2>/dev/null &&
	   ! "$bench" concurrency --heap /dev/heaplab/system --threads 0 2>/dev/null &&
	   ! "$bench" pressure --heap /dev/heaplab/system --fill 95 2>/dev/null &&
	   ! "$bench" bogus 2>/dev/null; then
		emit ok "bench: bad input gets a clear error and a non-zero exit"
	else
		emit not-ok "bench: bad input not rejected"
	fi
}

if [ "$phase" = host ]; then host_phase; else guest_phase; fi
finish
