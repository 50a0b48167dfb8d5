#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Area "stress": stress/run-stress (the soak of every stressor on all four
# heaps, the failslab/fail_page_alloc sweep, the ioctl fuzzer and the OOM
# checks), each ending in the nothing-lost check; then the injected bugs
# (test-build-only hooks), each of which the stress run must catch and name.
#
# make check runs fixed, short counts: every check still runs, each for less
# time (a 30 s soak, 2x10^5 fuzz calls). make check-full (HEAPLAB_CHECK_FULL=1)
# runs the long ones (60 s, 10^6 calls); HEAPLAB_STRESS_DURATION and
# HEAPLAB_FUZZ_OPS override either.
#
#   stress.sh BUILDDIR
set -u
builddir=${1:?usage: stress.sh BUILDDIR}
. "$(dirname "$0")/../lib.sh"

stress=$builddir/stress/heaplab-stress
bench=$builddir/bench/heaplab-bench
sout=$scratch/stress
if [ -n "${HEAPLAB_CHECK_FULL:-}" ]; then
	duration=${HEAPLAB_STRESS_DURATION:-60} fuzz_ops=${HEAPLAB_FUZZ_OPS:-1000000}
else
	duration=${HEAPLAB_STRESS_DURATION:-30} fuzz_ops=${HEAPLAB_FUZZ_OPS:-200000}
fi
echo "# stress: soak ${duration} s, $fuzz_ops fuzz calls${HEAPLAB_CHECK_FULL:+ (check-full)}"
parts=(run fault fuzz oom)
params=/sys/module/heaplab_heap/parameters

# Host phase: each part's JSON against the schema and its checker (passed,
# nothing lost, the calls made), and the report with the stress tables.
host_phase() {
	local part files=() ops
	read -r ops <"$sout/fuzz_ops" 2>/dev/null || ops=$fuzz_ops
	for part in "${parts[@]}"; do files+=("$sout/stress-$part.json"); done
	check_json stress "$sout/check.log" --min-fuzz-calls "$ops" "${files[@]}"
	for part in "${parts[@]}"; do
		if json_passed "$sout/stress-$part.json"; then
			emit ok "stress: $part: passed with nothing lost (JSON valid)"
		else
			emit not-ok "stress: $part: failed, leaked, or JSON missing or invalid"
		fi
	done
	if "${heaplab[@]}" report -o "$sout/report" "$sout"/alloc.json "${files[@]}" \
		>"$sout/report.log" 2>&1 && grep -q "stress: fuzz" "$sout/report/index.html"; then
		emit ok "reports: heaplab report shows the stress results"
	else
		diag "$sout/report.log" 20
		emit not-ok "reports: heaplab report lacks the stress results"
	fi
}

# injected PARAM ON OFF STRESSOR HEAP PATTERN WHAT: with the test hook
# PARAM set to ON, an 8 s run of STRESSOR on HEAP must fail, saying PATTERN.
injected() {
	local rc f=$sout/bug-$1-${5##*/}
	echo "$2" >"$params/$1"
	"$stress" run --stressor "$4" --heap "$5" --procs 1 --threads 2 --duration 8 >"$f" 2>&1
	rc=$?
	echo "$3" >"$params/$1"
	grep -v "^stress: [0-9]" "$f" | diag - 20
	if [ "$rc" = 1 ] && grep -q "$6" "$f"; then
		emit ok "stress: catches $7 (exit 1, names it)"
	else
		emit not-ok "stress: missed $7 (exit $rc)"
	fi
}

guest_phase() {
	local rc
	load_heaps || emit not-ok "modules: heaplab heaps failed to load"
	[ -x "$stress" ] || { emit not-ok "stress: $stress not built"; return; }
	rm -rf "$sout" && mkdir -p "$sout"
	echo "$fuzz_ops" >"$sout/fuzz_ops"
	# No kmemleak scan of its own: the runner scans once after the last area.
	HEAPLAB_OUT=$sout HEAPLAB_FUZZ_OPS=$fuzz_ops HEAPLAB_STRESS_NO_KMEMLEAK=1 \
		"$srcdir/stress/run-stress" "$builddir" "$kdir" \
		"$duration" >"$sout/log" 2>&1
	rc=$?
	grep -v "^stress: [0-9]* s\|^fuzz: [0-9]* s" "$sout/log" | tail -n 150 | diag
	# Judged in the host phase; here only that every part left its JSON.
	if [ -s "$sout/stress-run.json" ] && [ -s "$sout/stress-fault.json" ] &&
	   [ -s "$sout/stress-fuzz.json" ] && [ -s "$sout/stress-oom.json" ]; then
		emit ok "stress: run-stress ran every part (exit $rc; each part judged on the host)"
	else
		emit not-ok "stress: run-stress left a part without its JSON (exit $rc)"
	fi
	# The report needs one bench run beside the stress results.
	"$bench" alloc --heap /dev/heaplab/system --sizes 4K --iters 3 --warmup 0 \
		--json "$sout/alloc.json" >/dev/null 2>&1

	# The injected bugs: stale data in a new buffer, and a page leaked
	# every third free. Each run must fail and say what it found.
	if [ -w $params/test_skip_zero ] && [ -w $params/test_leak_every ]; then
		injected test_skip_zero Y N pattern /dev/heaplab/system \
			"FAIL: pattern: /dev/heaplab/system: new buffer is not zero" \
			"the injected skipped zeroing"
		injected test_leak_every 3 0 rand /dev/heaplab/system \
			"FAIL: leak: /dev/heaplab/system: the heap holds [0-9]* page(s) more" \
			"the injected page leak"
		# The same hook in the CMA heap keeps a page out of the area: the
		# area's own count (debugfs cma/NAME/used) must name it.
		injected test_leak_every 3 0 rand /dev/heaplab/reserved \
			"FAIL: leak: CMA area reserved has [0-9]* page(s) more out" \
			"the injected CMA page leak by the area's count"
	else
		emit not-ok "stress: test hooks missing under $params (not a test build?)"
	fi
	if ! "$stress" run --heap /nonexistent >/dev/null 2>"$sout/err" && grep -q "No such file" "$sout/err" &&
	   ! "$stress" run --heap /dev/heaplab/system --stressor bogus 2>/dev/null &&
	   ! "$stress" run --heap /dev/heaplab/system --opt rand.max_kb=0 2>/dev/null &&
	   ! "$stress" run --heap /dev/heaplab/system --procs 0 2>/dev/null &&
	   ! "$stress" bogus 2>/dev/null; then
		emit ok "stress: bad input gets a clear error and a non-zero exit"
	else
		emit not-ok "stress: bad input not rejected"
	fi
}

if [ "$phase" = host ]; then host_phase; else guest_phase; fi
finish
