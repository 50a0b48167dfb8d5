#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Area "bpf": the bpf/ tracers. Each attaches, sees exactly what a known
# workload did on each heap, bucket by bucket, in both attach modes;
# detaches on exit and on SIGINT, leaving no program or link behind; bad
# conditions get a clear error. heaprec records the workload as a profile,
# checked class by class, and heaplab-bench replay (where this tree has it)
# plays it back with the recorded counts. Timings are never judged here.
#
# Guest phase: the tracers run, attach as asked, detach, and fail clearly;
# their JSON stays in tests/guest.out/bpf/trace/. Host phase: every count in
# that JSON against what the workload did, and the schema (Python: a second
# here, many in the debug guest).
#
#   bpf.sh BUILDDIR      (HEAPLAB_PHASE=guest|host, HEAPLAB_SCRATCH=DIR)
set -u
builddir=${1:?usage: bpf.sh BUILDDIR}
. "$(dirname "$0")/../lib.sh"

heaptrace=$builddir/bpf/heaptrace cmatrace=$builddir/bpf/cmatrace heaprec=$builddir/bpf/heaprec
bench=$builddir/bench/heaplab-bench
workload=$tdir/heap-workload
check_trace=(/usr/bin/python3 "$srcdir/tests/guest/check-trace-json.py")
tout=$scratch/trace
# lib.sh's heaprec and bpftool helpers keep their files with the area's
rec_log=$tout/check bpf_ids_file=$tout/ids
# Sizes chosen to fill distinct buckets, one (12K) not a power of two.
wl_sizes=4K:6,12K:3,16K:3,64K:3,1M:2
# heap (under /dev), implementation, name, failing request (beyond RAM or
# the 256 MiB CMA area; none on the upstream system heap, which would call
# the OOM killer)
wl_heaps=("heaplab/system heaplab system 64G:2" "heaplab/reserved heaplab reserved 512M:2"
	"dma_heap/system upstream system -" "dma_heap/reserved upstream reserved 512M:2")
cma_sizes=$wl_sizes,$wl_sizes
# heaprec -p: what the recorded process holds when the recording ends
rec_held=1M:2

# counts WHAT ARGS...: one check-trace-json.py run, its result.
counts() {
	local what=$1
	shift
	if "${check_trace[@]}" "$@" >"$tout/check" 2>&1; then
		emit ok "$what"
	else
		diag "$tout/check"
		emit not-ok "$what: counts differ from the workload"
	fi
}

host_phase() {
	local mode h fail tool
	for mode in auto kprobe L; do
		for h in "${wl_heaps[@]}"; do
			set -- $h
			fail=$4; [ "$fail" = - ] && fail=
			counts "bpf: heaptrace ($mode) counts every stage of $2/$3 exactly, bucket by bucket" \
				heaptrace "$tout/heaptrace-$mode.json" "$2" "$3" "$wl_sizes" $fail
		done
	done
	# The workload asks both CMA heaps for 512M twice, beyond the 256M area:
	# the upstream heap's two reach cma_alloc() and fail there, heaplab's
	# are refused before it (the area is too small).
	for mode in auto kprobe; do
		counts "bpf: cmatrace ($mode) counts cma_alloc calls, failures and alloc_contig_range exactly" \
			cmatrace "$tout/cmatrace-$mode.json" reserved "$cma_sizes" 512M:2
	done
	counts "bpf: heaptrace stopped by SIGINT reports exactly what it saw" \
		heaptrace "$tout/sigint.json" heaplab system 4K:5
	counts "bpf: heaptrace without kernel BTF (kprobe/raw_tp) counts exactly" \
		heaptrace "$tout/nobtf.json" heaplab system 4K:3
	for tool in heaptrace cmatrace; do
		if "${heaplab[@]}" validate "$tout/$tool-auto.json" "$tout/$tool-kprobe.json" \
			>"$tout/check" 2>&1; then
			diag "$tout/check"
			emit ok "bpf: $tool JSON valid against its schema"
		else
			diag "$tout/check"
			emit not-ok "bpf: $tool JSON invalid"
		fi
	done
	heaprec_host_phase
}

# heaprec: the profile of the workload, class by class; -p, held buffers
# and SIGINT; -d on an idle system; the replay of what it recorded.
heaprec_host_phase() {
	local mode
	for mode in auto kprobe; do
		rec_counts "bpf: heaprec ($mode) records every class of the workload exactly: counts, most held, failures, the timeline" \
			profile "$tout/heaprec-$mode.json" "$wl_sizes" "${wl_heaps[@]}"
	done
	rec_counts "bpf: heaprec -p records that process only; buffers held past SIGINT are held to the end" \
		held "$tout/heaprec-held.json" "$(cat "$tout/heaprec-held.pid")" "$rec_held"
	rec_counts "bpf: heaprec -d on an idle system writes an empty profile" \
		profile "$tout/heaprec-idle.json" "$wl_sizes"
	# The format's own validators, where this tree has them (the schema
	# comes with heaplab cma-size, the C one with heaplab-bench replay).
	if [ -f "$srcdir/profiles/schema/heaplab-profile-1.json" ]; then
		rec_validate "bpf: heaprec's profiles valid against heaplab-profile/1" \
			"$tout/heaprec-auto.json" "$tout/heaprec-kprobe.json" \
			"$tout/heaprec-held.json" "$tout/heaprec-idle.json"
	else
		echo "# bpf: heaprec's profiles not validated: no profiles/schema/heaplab-profile-1.json in this tree"
	fi
	if [ -f "$tout/replay.json" ]; then
		# shellcheck disable=SC2046 # one kind a word
		rec_counts "bpf: heaplab-bench replay of heaprec's profile on all four heaps: allocations, successes, failures and sizes exactly as recorded" \
			replay "$tout/heaprec-auto.json" "$tout/replay.json" $(rec_kinds "${wl_heaps[@]}")
	fi
}
if [ "$phase" = host ]; then
	host_phase
	finish
	exit
fi

rm -rf "$tout" && mkdir -p "$tout"

# Before heaplab's modules are in: asked to trace them, heaptrace must say
# that its target function is missing and why.
if ! unload_heaps; then
	emit not-ok "bpf: cannot check a missing target: heaplab's modules are in use"
elif [ -x "$heaptrace" ]; then
	"$heaptrace" --heaps heaplab -d 1 >/dev/null 2>"$tout/missing"
	rc=$?
	diag "$tout/missing"
	if [ "$rc" = 1 ] && grep -q "function heaplab_heap_ioctl not found in the running kernel: is heaplab_heap.ko loaded?" \
		"$tout/missing"; then
		emit ok "bpf: heaptrace names a missing target function (heaplab_heap.ko not loaded)"
	else
		emit not-ok "bpf: heaptrace with its target function missing (exit $rc)"
	fi
else
	emit not-ok "bpf: cannot check a missing target: heaptrace not built"
fi
load_heaps || emit not-ok "modules: heaplab heaps failed to load"
# The counts are of the allocating thread's stages, each allocation clearing
# its own pages: the system heap's page pool off (its hits clear nothing;
# the heaplab tests and the pool bench cover it), and on again at the end.
pool_param=/sys/module/heaplab_heap/parameters/pool
echo N >"$pool_param" || emit not-ok "bpf: cannot turn heaplab's page pool off ($pool_param)"

err() {	# err PATTERN CMD...: CMD fails (exit 1 or 2) and says PATTERN
	"${@:2}" >/dev/null 2>"$tout/err"
	local rc=$?
	diag "$tout/err" 3
	{ [ $rc = 1 ] || [ $rc = 2 ]; } && grep -q -- "$1" "$tout/err"
}
# The workload on every heap, one after the other: what the tracers watch.
cat >$tout/workload <<WL
#!/bin/sh
set -e
for h in $(printf '"%s" ' "${wl_heaps[@]}"); do
	set -- \$h
	[ "\$4" = - ] && fail= || fail=\$4
	$workload /dev/\$1 $wl_sizes \$fail
done
bpftool -j prog show >$tout/during-prog.json
bpftool -j link show >$tout/during-link.json
WL
chmod +x $tout/workload
if [ -x "$heaptrace" ] && [ -x "$cmatrace" ] && [ -x "$workload" ]; then
	progs0=$(bpf_ids prog) links0=$(bpf_ids link)
	# auto: fentry/tp_btf wherever the kernel allows (every target but those
	# without an ftrace site); kprobe: kprobes and raw tracepoints only.
	for mode in auto kprobe; do
		"$heaptrace" --attach $mode --histograms -j "$tout/heaptrace-$mode.json" -- $tout/workload \
			>"$tout/heaptrace-$mode.out" 2>&1
		rc=$?
		diag "$tout/heaptrace-$mode.out" 120
		case $mode in
		auto) kinds="[1-9][0-9]* fentry, [0-9]* kprobe, [1-9][0-9]* tp_btf, 0 raw_tp" ;;
		kprobe) kinds="0 fentry, [1-9][0-9]* kprobe, 0 tp_btf, [1-9][0-9]* raw_tp" ;;
		esac
		if [ "$rc" = 0 ] && grep -q "heaptrace: attached (mode $mode): $kinds" "$tout/heaptrace-$mode.out" &&
		   grep -q '"prog_flags"\|"id"' "$tout/during-prog.json" &&
		   grep -q '"type": *"\(tracing\|perf_event\|raw_tracepoint\)"' "$tout/during-link.json"; then
			emit ok "bpf: heaptrace --attach $mode attached as the mode asks (programs and links live during the run) and exited 0"
		else
			emit not-ok "bpf: heaptrace --attach $mode failed (exit $rc)"
		fi
		if [ "$(bpf_ids prog)" = "$progs0" ] && [ "$(bpf_ids link)" = "$links0" ]; then
			emit ok "bpf: heaptrace ($mode) left no BPF program or link attached"
		else
			diag "$tout/ids"
			emit not-ok "bpf: heaptrace ($mode) left BPF programs or links behind"
		fi
	done
	# -L: the whole ioctl and the buffer operations, no stage probe.
	"$heaptrace" -L -j "$tout/heaptrace-L.json" -- $tout/workload >"$tout/heaptrace-L.out" 2>&1
	rc=$?
	diag "$tout/heaptrace-L.out" 40
	if [ "$rc" = 0 ] && grep -q "heaptrace: attached (mode auto, latency only)" "$tout/heaptrace-L.out" &&
	   [ "$(bpf_ids prog)" = "$progs0" ] && [ "$(bpf_ids link)" = "$links0" ]; then
		emit ok "bpf: heaptrace -L attaches the ioctl and buffer operations only, exits 0, leaves nothing attached"
	else
		emit not-ok "bpf: heaptrace -L failed (exit $rc) or left programs behind"
	fi
	# cmatrace: both CMA heaps allocate from the one default area.
	for mode in auto kprobe; do
		"$cmatrace" --attach $mode -j "$tout/cmatrace-$mode.json" -- sh -c \
			"$workload /dev/heaplab/reserved $wl_sizes 512M:2 && $workload /dev/dma_heap/reserved $wl_sizes 512M:2" \
			>"$tout/cmatrace-$mode.out" 2>&1
		rc=$?
		diag "$tout/cmatrace-$mode.out" 60
		if [ "$rc" = 0 ] && [ -s "$tout/cmatrace-$mode.json" ] &&
		   [ "$(bpf_ids prog)" = "$progs0" ] && [ "$(bpf_ids link)" = "$links0" ]; then
			emit ok "bpf: cmatrace ($mode) traces both CMA heaps, exits 0, leaves nothing attached"
		else
			emit not-ok "bpf: cmatrace ($mode) failed (exit $rc) or left programs behind"
		fi
	done
	# Ctrl-C: traced until SIGINT, then detached, results printed.
	"$heaptrace" -j "$tout/sigint.json" >"$tout/sigint.out" 2>&1 &
	pid=$!
	for _ in {1..300}; do file_has "$tout/sigint.out" "Ctrl-C to end" && break; sleep 0.2; done
	$workload /dev/heaplab/system 4K:5
	kill -INT $pid
	wait $pid
	rc=$?
	diag "$tout/sigint.out" 30
	if [ "$rc" = 0 ] && [ -s "$tout/sigint.json" ] &&
	   [ "$(bpf_ids prog)" = "$progs0" ] && [ "$(bpf_ids link)" = "$links0" ]; then
		emit ok "bpf: heaptrace on SIGINT detaches, writes what it saw, exits 0, leaves nothing attached"
	else
		emit not-ok "bpf: heaptrace on SIGINT (exit $rc)"
	fi

	# Errors: not root, no kernel BTF, a target that does not exist, bad options.
	cp /sys/kernel/btf/vmlinux "$tout/vmlinux.btf"
	if err "must be run as root" setpriv --reuid=65534 --regid=65534 --clear-groups "$heaptrace" -d 1 &&
	   err "must be run as root" setpriv --reuid=65534 --regid=65534 --clear-groups "$cmatrace" -d 1 &&
	   err "kernel BTF missing" unshare -m sh -c 'mount -t tmpfs none /sys/kernel/btf && exec "$0" -d 1' "$heaptrace" &&
	   err "kernel BTF missing" unshare -m sh -c 'mount -t tmpfs none /sys/kernel/btf && exec "$0" -d 1' "$cmatrace" &&
	   err "cannot read BTF /nonexistent" "$heaptrace" --btf /nonexistent -d 1 &&
	   err "duration" "$heaptrace" -d 0 && err "want auto, fentry or kprobe" "$heaptrace" -a bogus &&
	   err "want heaplab, upstream or all" "$heaptrace" -H bogus &&
	   err "not a process id" "$cmatrace" -p 0; then
		emit ok "bpf: not root, no kernel BTF, a missing BTF file and bad options get a clear error"
	else
		emit not-ok "bpf: an error case was not reported clearly"
	fi
	# Without kernel BTF but with a BTF file for CO-RE: kprobes and raw
	# tracepoints instead of fentry and tp_btf, and the counts still hold.
	unshare -m sh -c 'mount -t tmpfs none /sys/kernel/btf && exec "$@"' sh \
		"$heaptrace" --btf "$tout/vmlinux.btf" -v -j "$tout/nobtf.json" -- $workload /dev/heaplab/system 4K:3 \
		>"$tout/nobtf.out" 2>&1
	rc=$?
	rm -f "$tout/vmlinux.btf"	# 3 MiB the host phase does not need
	grep -v "^  " "$tout/nobtf.out" | diag - 40
	if [ "$rc" = 0 ] && grep -q "0 fentry, [1-9][0-9]* kprobe, 0 tp_btf, [1-9][0-9]* raw_tp" "$tout/nobtf.out"; then
		emit ok "bpf: without kernel BTF, auto mode falls back to kprobe/raw_tp and says so"
	else
		emit not-ok "bpf: fallback to kprobe/raw_tp without kernel BTF (exit $rc)"
	fi
else
	emit not-ok "bpf: $heaptrace, $cmatrace or $workload not built"
fi

# heaprec: the workload with each size's buffers held together (-k), one
# process per heap, in both attach modes; the host phase checks the profile.
rec_workload "$tout/rec-workload" "$wl_sizes" "${wl_heaps[@]}"
if [ -x "$heaprec" ] && [ -x "$workload" ]; then
	for mode in auto kprobe; do
		rec_want $mode
		rec_attach "bpf: heaprec --attach $mode records the workload, exits 0, leaves nothing attached" \
			"$tout" $mode "$want" "heaplab, upstream" "$tout/rec-workload"
	done

	# -p, and buffers still held at the end: one process holds two
	# buffers past the recording, which SIGINT ends; another process's
	# allocations meanwhile must not show up.
	progs0=$(bpf_ids prog) links0=$(bpf_ids link)
	rm -f "$tout/go"
	( while [ ! -e "$tout/go" ]; do sleep 0.1; done
	  exec $workload -w 600 /dev/heaplab/system $rec_held ) >"$tout/held-wl.out" 2>&1 &
	wpid=$!
	echo $wpid >"$tout/heaprec-held.pid"
	"$heaprec" -p $wpid -o "$tout/heaprec-held.json" >"$tout/heaprec-held.out" 2>&1 &
	rpid=$!
	for _ in {1..600}; do file_has "$tout/heaprec-held.out" "Ctrl-C to end" && break; sleep 0.2; done
	$workload /dev/heaplab/system 4K:3 || emit not-ok "bpf: heap-workload failed beside heaprec -p"
	touch "$tout/go"
	for _ in {1..600}; do file_has "$tout/held-wl.out" "holding" && break; sleep 0.2; done
	kill -INT $rpid
	wait $rpid
	rc=$?
	kill $wpid
	wait $wpid 2>/dev/null
	diag "$tout/heaprec-held.out" 20
	if [ "$rc" = 0 ] && [ -s "$tout/heaprec-held.json" ] &&
	   [ "$(bpf_ids prog)" = "$progs0" ] && [ "$(bpf_ids link)" = "$links0" ]; then
		emit ok "bpf: heaprec -p on SIGINT writes the profile, exits 0, leaves nothing attached"
	else
		emit not-ok "bpf: heaprec -p on SIGINT (exit $rc)"
	fi

	# -d: a while with nothing allocated.
	"$heaprec" -d 1 -o "$tout/heaprec-idle.json" >"$tout/heaprec-idle.out" 2>&1
	rc=$?
	diag "$tout/heaprec-idle.out" 10
	if [ "$rc" = 0 ] && [ -s "$tout/heaprec-idle.json" ]; then
		emit ok "bpf: heaprec -d 1 records for a second and exits 0"
	else
		emit not-ok "bpf: heaprec -d 1 (exit $rc)"
	fi

	# Errors: not root, bad options, an output that cannot be written
	# (found before recording, no file left behind).
	if err "must be run as root" setpriv --reuid=65534 --regid=65534 --clear-groups "$heaprec" -d 1 -o /tmp/x.json &&
	   err "PROFILE.json is required" "$heaprec" -d 1 &&
	   err "cannot write /nonexistent/p.json.tmp" "$heaprec" -d 1 -o /nonexistent/p.json &&
	   err "a directory, not a file" "$heaprec" -d 1 -o "$tout" &&
	   err "must match \[a-z0-9\]\[a-z0-9-\]\*" "$heaprec" -n Bad_Name -o "$tout/x.json" &&
	   err "not a process id" "$heaprec" -p 0 -o "$tout/x.json" &&
	   [ ! -e "$tout/x.json" ] && [ ! -e /tmp/x.json ]; then
		emit ok "bpf: heaprec: not root, no -o, an unwritable -o and bad options get a clear error"
	else
		emit not-ok "bpf: heaprec: an error case was not reported clearly"
	fi

	# Recorded, then replayed: heaplab-bench replay plays the profile's
	# timeline on every heap; the host phase checks its counts against the
	# recording. Only where heaplab-bench has the replay harness.
	if "$bench" list 2>/dev/null | grep -q '^replay '; then
		rec_replay "$tout/heaprec-auto.json" "$tout/replay.json" "$tout/replay.out" "${wl_heaps[@]}"
		rc=$?
		diag "$tout/replay.out" 30
		if [ "$rc" = 0 ] && [ -s "$tout/replay.json" ]; then
			emit ok "bpf: heaplab-bench replay plays heaprec's profile on all four heaps"
		else
			emit not-ok "bpf: heaplab-bench replay of heaprec's profile (exit $rc)"
			rm -f "$tout/replay.json"
		fi
	else
		echo "# bpf: heaprec's profile not replayed: this heaplab-bench has no replay harness"
	fi
else
	emit not-ok "bpf: $heaprec or $workload not built"
fi
echo Y >"$pool_param"

finish
