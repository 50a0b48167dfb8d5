# SPDX-License-Identifier: GPL-2.0
#
# Sourced by every guest area script (tests/guest/areas/*.sh) and by the
# runner (tests/guest/run-suite): the TAP emitter, relaying a kselftest
# program's results, loading heaplab's heaps, and the paths every area uses.
# Each area prints its own TAP ("ok N - desc" lines, then "1..N"); the
# runner renumbers them into one stream for the host's automake TAP driver.
# With CI=true a skip is a failure: a suite that cannot reach what it tests
# must not pass.
#
# Set before sourcing: builddir (the build tree, the area's first argument).

: "${builddir:?lib.sh: set builddir first}"
kdir=$builddir/kernel/build-debug
tdir=$builddir/tests/guest
srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
heaplab=(/usr/bin/python3 "$srcdir/reports/heaplab")
n=0 failed=0

# Where an area keeps its files: in the guest the runner's scratch space
# (copied back to tests/guest.out/AREA/); in an area's host phase, that copy.
scratch=${HEAPLAB_SCRATCH:-/tmp}
# guest: measure in the debug guest. host: judge, on the host, the files the
# guest phase left (run by tests/guest.test after the boot); Python's
# libraries take minutes to load in the debug guest, seconds here.
phase=${HEAPLAB_PHASE:-guest}

printf -v area_start '%(%s)T' -1
emit() {	# emit ok|not-ok description [directive]
	local now
	n=$((n + 1))
	# When each result came, for the next look at where an area's time goes.
	printf -v now '%(%s)T' -1
	echo "# at ${phase:-guest} +$((now - area_start))s"
	if [ "$1" = ok ]; then
		echo "ok $n - $2${3:+ $3}"
	else
		echo "not ok $n - $2${3:+ $3}"
		failed=$((failed + 1))
	fi
}

# check DESC CMD...: one result from a command's exit status.
check() {
	local desc=$1
	shift
	if "$@"; then emit ok "$desc"; else emit not-ok "$desc"; fi
}

# tap_desc LINE: sets desc to a TAP result line's description, without its
# number. Builtins only, not even a subshell:
# an exec costs the best part of a second in the debug guest under TCG,
# and a suite relays a few hundred lines.
tap_desc() {
	local re='^(not )?ok [0-9]+ ?-? ?(.*)$'
	desc=
	[[ $1 =~ $re ]] && desc=${BASH_REMATCH[2]}
}

# run_tap NAME CMD...: run a TAP-printing program, relay its results.
run_tap() {
	local name=$1 out rc line seen=0 res desc notrun=0 notapp=0 case=
	local run_re='^#  RUN +([^ ]+) '

	shift
	echo "# guest: running $name: $*"
	out=$("$@" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*)
			seen=$((seen + 1))
			res=ok
			[[ $line == "not ok "* ]] && res=not-ok
			tap_desc "$line"
			if [[ $desc == *"# SKIP not applicable: "* ]]; then
				# Its heap cannot exist in this kernel (guest.h):
				# named, never counted as a pass.
				echo "# not applicable: $name: $case: ${desc#*# SKIP not applicable: }"
				notapp=$((notapp + 1))
			elif [[ $desc == *"# SKIP not in this boot: "* ]]; then
				# A case of another boot (NOT_HERE, guest.h): it
				# ran nothing here, so it is not counted at all.
				echo "# not run here: $name: ${desc#*# SKIP not in this boot: }"
				notrun=$((notrun + 1))
			elif [[ $desc == *"# SKIP"* ]]; then
				if [ "${CI:-}" = true ]; then
					emit not-ok "$name: ${desc%%#*}" "(skipped; a skip fails under CI=true:${desc#*# SKIP})"
				else
					emit ok "$name: ${desc%%#*}" "# SKIP${desc#*# SKIP}"
				fi
			else
				emit "$res" "$name: $desc"
			fi
			;;
		*)
			# The harness names a skipped case only here.
			[[ $line =~ $run_re ]] && case=${BASH_REMATCH[1]}
			echo "# $line"
			;;
		esac
	done <<<"$out"
	# A crash before any result, or a non-zero exit, must not look clean.
	[ "$seen" -gt 0 ] || emit not-ok "$name: produced no TAP results (exit $rc)"
	[ "$notrun" = 0 ] || echo "# $name: $notrun cases belong to another boot, not run here"
	[ "$notapp" = 0 ] || echo "# $name: $notapp cases not applicable to this kernel, not counted"
	[ "$rc" = 0 ] || [ "$rc" = 4 ] || emit not-ok "$name: exited with status $rc"
}

# Indent a file or stdin as TAP diagnostics, at most N lines (default all).
diag() {	# diag [FILE] [N]
	if [ -n "${2:-}" ]; then sed 's/^/# /' "${1:--}" | sed -n "1,${2}p"; else sed 's/^/# /' "${1:--}"; fi
}

# check_json bench|stress LOG [--min-fuzz-calls N] FILE...: every file
# against its schema and its consistency checker, in one Python process
# (tests/guest/check-json.py); then json_passed FILE says how each did.
declare -A json_verdict
check_json() {
	local kind=$1 log=$2 line
	shift 2
	/usr/bin/python3 "$srcdir/tests/guest/check-json.py" "$kind" "$@" >"$log" 2>&1
	diag "$log"
	while IFS= read -r line; do
		case $line in
		"PASS "*) json_verdict[${line#PASS }]=pass ;;
		"FAIL "*) line=${line#FAIL }; json_verdict[${line%%: *}]=fail ;;
		esac
	done <"$log"
}
json_passed() { [ "${json_verdict[$1]:-}" = pass ]; }

lsmod_has() { grep -q "^$1 " /proc/modules; }

# not_applicable DESC REASON: a check that cannot apply to this kernel,
# named in the log and left out of the count (never a pass).
not_applicable() { echo "# not applicable: $1: $2"; }

# heaplab's heaps, through the one load script (vm/load-heaps): to
# /dev/heaplab, the upstream heaps built in stay in /dev/dma_heap as the
# reference. Idempotent, so each area can be run alone.
load_heaps() { "$srcdir/vm/load-heaps" "$kdir"; }
unload_heaps() { "$srcdir/vm/load-heaps" --unload; }

# upstream_selftest LABEL CMD...: the upstream dmabuf-heaps kselftest
# (built unmodified from the kernel source package), one result per heap it
# tested. 6.1's prints "Testing heap: NAME" and FAIL lines; 6.12's is TAP,
# with "# Testing heap: NAME" and "not ok" lines: both are read.
upstream_selftest() {	# upstream_selftest LABEL CMD...
	local label=$1 out rc heap sect tested=0
	shift
	out=$("$@" 2>&1)
	rc=$?
	diag <<<"$out"
	for heap in $(sed -n 's/^\(# \)\{0,1\}Testing heap: //p' <<<"$out"); do
		tested=$((tested + 1))
		sect=$(awk -v h="$heap" '/^(# )?Testing heap: /{on = ($NF == h)} on' <<<"$out")
		if grep -qE '^not ok|FAIL' <<<"$sect"; then
			emit not-ok "upstream dmabuf-heap selftest: $label heap $heap"
		# 6.1: "- skipping"; 6.12: "ok N # SKIP" (not its "skip:0" totals)
		elif grep -qiE 'skipping|^ok .*# SKIP' <<<"$sect" && [ "${CI:-}" = true ]; then
			emit not-ok "upstream dmabuf-heap selftest: $label heap $heap (skipped a case)"
		else
			emit ok "upstream dmabuf-heap selftest: $label heap $heap"
		fi
	done
	[ "$tested" -gt 0 ] || emit not-ok "upstream dmabuf-heap selftest: $label tested no heap"
	[ "$rc" = 0 ] || emit not-ok "upstream dmabuf-heap selftest: $label exited with $rc"
}

# Close an area: its plan, and its status for the runner.
finish() {
	echo "1..$n"
	[ "$failed" = 0 ]
}

# file_has FILE TEXT: a line of FILE contains TEXT (builtins: no grep exec
# in a polling loop).
file_has() {
	local l
	[ -r "$1" ] || return 1
	while IFS= read -r l; do [[ $l == *"$2"* ]] && return 0; done <"$1"
	return 1
}

# ---- heaprec: recording a known workload and checking the profile ----
# Shared by the bpf area (heaplab's test kernel) and stock.sh (Debian's):
# the same workload, the same checks (tests/guest/check-rec-json.py).
# A RUN is "DEV IMPL HEAP FAIL": heap-workload -k on /dev/DEV, recorded as
# IMPL/HEAP, FAIL a failing request SIZE:COUNT or -.

# rec_workload FILE SIZES RUN...: writes FILE, a script running the
# workload (each size's buffers held together) on each RUN in turn, one
# process per heap.
rec_workload() {
	local file=$1 sizes=$2
	shift 2
	cat >"$file" <<WL
#!/bin/sh
set -e
for h in $(printf '"%s" ' "$@"); do
	set -- \$h
	[ "\$4" = - ] && fail= || fail=\$4
	$tdir/heap-workload -k /dev/\$1 $sizes \$fail
done
WL
	chmod +x "$file"
}

# rec_counts WHAT ARGS...: one check-rec-json.py run (ARGS as its usage),
# its result; the mismatches, if any, as diagnostics.
rec_counts() {
	local what=$1 log=${rec_log:-$scratch/rec-check}
	shift
	if /usr/bin/python3 "$srcdir/tests/guest/check-rec-json.py" "$@" >"$log" 2>&1; then
		emit ok "$what"
	else
		diag "$log"
		emit not-ok "$what: the profile differs from what happened"
	fi
}

# rec_validate WHAT PROFILE...: the profiles against heaplab-profile/1.
rec_validate() {
	local what=$1 log=${rec_log:-$scratch/rec-check}
	shift
	if "${heaplab[@]}" validate "$@" >"$log" 2>&1; then
		emit ok "$what"
	else
		diag "$log"
		emit not-ok "$what: invalid"
	fi
}

# rec_replay PROFILE REPLAY.json LOG RUN...: heaplab-bench replay of
# PROFILE on every RUN's heap (no background load, times x 0.1); its exit
# status. rec_kinds RUN...: the heaps' kinds, for check-rec-json.py replay.
rec_replay() {
	local profile=$1 json=$2 log=$3 h heaps=()
	shift 3
	for h in "$@"; do set -- $h; heaps+=(--heap "/dev/$1"); done
	"$builddir/bench/heaplab-bench" replay "$profile" "${heaps[@]}" --no-background \
		--time-scale 0.1 --json "$json" >"$log" 2>&1
}
rec_kinds() {
	local h
	for h in "$@"; do set -- $h; [ "$3" = system ] && echo system || echo cma; done
}

# rec_want MODE: sets want, the kinds heaprec --attach MODE attaches as
# (rec_attach's KINDS) where every target has BTF: auto attaches as fentry.
rec_want() {
	case $1 in
	kprobe) want="0 fentry, [1-9][0-9]* kprobe, 0 tp_btf, 1 raw_tp" ;;
	*) want="[1-9][0-9]* fentry, 0 kprobe, 1 tp_btf, 0 raw_tp" ;;
	esac
}

# rec_attach WHAT DIR MODE KINDS HEAPS CMD...: heaprec --attach MODE -v
# over CMD into DIR/heaprec-MODE.json, one result WHAT: exit 0, a profile,
# the attach line with KINDS (a pattern: "N fentry, N kprobe, N tp_btf,
# N raw_tp") and the heap families HEAPS, and no BPF program or link left.
rec_attach() {
	local what=$1 dir=$2 mode=$3 kinds=$4 heaps=$5 rc progs links
	shift 5
	progs=$(bpf_ids prog) links=$(bpf_ids link)
	"$builddir/bpf/heaprec" --attach "$mode" -v -o "$dir/heaprec-$mode.json" -- "$@" \
		>"$dir/heaprec-$mode.out" 2>&1
	rc=$?
	grep -v '^libbpf: ' "$dir/heaprec-$mode.out" | diag - 40
	if [ "$rc" != 0 ] || [ ! -s "$dir/heaprec-$mode.json" ]; then
		emit not-ok "$what: exit $rc, profile $( [ -s "$dir/heaprec-$mode.json" ] && echo written || echo missing)"
	elif ! grep -q "heaprec: attached (mode $mode): $kinds; heaps: $heaps\$" "$dir/heaprec-$mode.out"; then
		emit not-ok "$what: attached otherwise than \"$kinds; heaps: $heaps\""
	elif [ "$(bpf_ids prog)" != "$progs" ] || [ "$(bpf_ids link)" != "$links" ]; then
		emit not-ok "$what: BPF programs or links left attached"
	else
		emit ok "$what"
	fi
}

# bpf_ids prog|link: the ids of every loaded BPF program or link (bpftool).
bpf_ids() {
	local id rest ids= f=${bpf_ids_file:-$scratch/bpf-ids}
	bpftool "$1" show >"$f" 2>/dev/null
	while read -r id rest; do [[ $id =~ ^[0-9]+:$ ]] && ids+="${id%:} "; done <"$f"
	echo "$ids"
}
