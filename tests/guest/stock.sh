#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs in a guest booted on one of Debian's own kernels (vm/run --stock):
# heaplab as a user installs it there. The modules come from DKMS through
# modprobe and /etc/modprobe.d/heaplab.conf, the host's, as on a real
# machine; then the heap selftest (tests/guest/heaps), the upstream
# dmabuf-heaps kselftest of that kernel's source and host mode
# (heaplab run --quick) against whatever heaps the kernel has. A heap the
# kernel cannot have (no CMA, no upstream heaps) is reported by name as not
# applicable and is not counted.
#
#   stock.sh BUILDDIR STOCKDIR
#   BUILDDIR: the configured tree (test programs, heaplab-bench, reports)
#   STOCKDIR: tests/stock-check's per-kernel directory: tree/ (the test
#             module heaplab_smoke built for this kernel), dmabuf-heap
set -u
builddir=${1:?usage: stock.sh BUILDDIR STOCKDIR}
stockdir=${2:?usage: stock.sh BUILDDIR STOCKDIR}
. "$(dirname "$0")/lib.sh"

read -r release </proc/sys/kernel/osrelease
config=/boot/config-$release
echo "# guest: Debian kernel $release, $(nproc) CPUs online"
has_config() { grep -q "^$1=[ym]" "$config"; }

# heaplab's heaps, as DKMS installed them.
for m in heaplab_heap heaplab_system_heap; do
	path=$(modinfo -n "$m" 2>/dev/null)
	check "dkms: $m is installed for $release (${path:-none})" \
		test "${path#*/updates/dkms/}" != "$path"
done
modprobe heaplab_system_heap 2>&1 | diag
# The modprobe file picks the device directory: the kernel's own heaps (its
# dma_heap class) keep /dev/dma_heap, otherwise heaplab takes it.
if [ -d /sys/class/dma_heap ]; then ours=/dev/heaplab; else ours=/dev/dma_heap; fi
check "modprobe: heaplab's system heap is at $ours/system (devdir chosen by the modprobe file)" \
	test -c "$ours/system"
ls -l /dev/heaplab /dev/dma_heap 2>&1 | diag

# CMA: Debian's kernels have none; the module must refuse and say why.
na=
if has_config CONFIG_DMA_CMA; then
	check "modprobe: heaplab's CMA heap loads" modprobe heaplab_cma_heap
else
	why="no CMA in this kernel (CONFIG_DMA_CMA is not set)"
	dmesg -C
	if modprobe heaplab_cma_heap 2>/dev/null; then
		emit not-ok "modprobe: heaplab_cma_heap loaded on a kernel without CMA"
	else
		log=$(dmesg)
		diag <<<"$log"
		check "modprobe: heaplab_cma_heap refuses to load and its log line says why" \
			grep -q "heaplab_cma_heap: .*no CMA" <<<"$log"
	fi
	not_applicable "heaplab's CMA heap" "$why"
	na="/dev/heaplab/reserved=$why;/dev/dma_heap/reserved=$why"
fi
if ! has_config CONFIG_DMABUF_HEAPS; then
	why="no upstream heaps in this kernel (CONFIG_DMABUF_HEAPS is not set)"
	not_applicable "the kernel's own heaps" "$why"
	na="$na;/dev/dma_heap/system=$why"
elif ! has_config CONFIG_DMABUF_HEAPS_CMA; then
	na="$na;/dev/dma_heap/reserved=no upstream CMA heap in this kernel (CONFIG_DMABUF_HEAPS_CMA is not set)"
fi
export HEAPLAB_NOT_APPLICABLE=$na

# vgem imports buffers in both selftests; heaplab_smoke maps them in the
# kernel (heap.kernel_vmap), built for this kernel by tests/stock-check.
check "modprobe vgem (the importer of both selftests)" modprobe vgem
check "insmod heaplab_smoke built for $release" insmod "$stockdir/tree/kernel/build-debug/test/heaplab_smoke.ko"

if [ "$ours" = /dev/heaplab ]; then
	run_tap heaps "$tdir/heaps"
	upstream_selftest "the kernel's" "$stockdir/dmabuf-heap"
	upstream_selftest heaplab unshare -m sh -c \
		'mount --bind /dev/heaplab /dev/dma_heap && exec "$0"' "$stockdir/dmabuf-heap"
else
	# heaplab is /dev/dma_heap here: the selftest finds it as /dev/heaplab
	# in a private mount namespace, where /dev/dma_heap is empty (no
	# upstream heaps: not applicable, above).
	run_tap heaps unshare -m sh -c 'mkdir -p /dev/heaplab &&
		mount --bind /dev/dma_heap /dev/heaplab &&
		mount -t tmpfs none /dev/dma_heap && exec "$0"' "$tdir/heaps"
	upstream_selftest heaplab "$stockdir/dmabuf-heap"
fi

# heaprec on a user's kernel: the bpf area's workload recorded on every
# system heap there, checked as the bpf area checks it (lib.sh), replayed.
heaprec_stock() {
	# in the results share: the host keeps the profiles
	local heaprec=$builddir/bpf/heaprec rout=${HEAPLAB_OUT:-$scratch}/heaprec runs=() heaps
	local mode rc t tool flag auto_kinds= want files=() wl_sizes=4K:6,12K:3,16K:3,64K:3,1M:2
	local modes=(auto kprobe)

	rm -rf "$rout" && mkdir -p "$rout"
	rec_log=$rout/check bpf_ids_file=$rout/ids
	if [ ! -x "$heaprec" ] || [ ! -x "$tdir/heap-workload" ]; then
		emit not-ok "heaprec: $heaprec or $tdir/heap-workload not built"
		return
	fi
	# heaplab's system heap (a request beyond RAM fails: ENOMEM, no OOM
	# kill); the kernel's own where it has one (no failing request: the
	# upstream system heap would call the OOM killer).
	if [ "$ours" = /dev/heaplab ]; then
		runs=("heaplab/system heaplab system 64G:2" "dma_heap/system upstream system -")
		heaps="heaplab, upstream"
	else
		runs=("dma_heap/system heaplab system 64G:2")
		heaps=heaplab
	fi
	rec_workload "$rout/workload" "$wl_sizes" "${runs[@]}"
	# fentry/tp_btf on heaplab's functions need its modules' BTF, which
	# DKMS makes only where the headers ship a vmlinux (Debian's 6.12 do,
	# 6.1's do not): there auto falls back to kprobe/raw_tp for them.
	if [ -e /sys/kernel/btf/heaplab_heap ]; then
		modes+=(fentry)
	else
		auto_kinds="[1-9][0-9]* fentry, [1-9][0-9]* kprobe, 0 tp_btf, 1 raw_tp"
		# heaptrace plans its targets the same way (attach_helpers.c)
		for t in "heaprec -o" "heaptrace -j"; do
			read -r tool flag <<<"$t"
			"$builddir/bpf/$tool" -a fentry "$flag" "$rout/refused-$tool.json" -- true \
				>/dev/null 2>"$rout/refused-$tool.err"
			rc=$?
			diag "$rout/refused-$tool.err" 5
			check "$tool --attach fentry without heaplab's module BTF fails clearly (exit 1, names heaplab_heap_ioctl)" \
				eval '[ "$rc" = 1 ] && grep -q "function heaplab_heap_ioctl is in the running kernel but cannot be an fentry target" "$rout/refused-$tool.err" && [ ! -e "$rout/refused-$tool.json" ]'
		done
		not_applicable "heaprec --attach fentry" \
			"heaplab_heap.ko has no BTF (/sys/kernel/btf/heaplab_heap): DKMS built it without a vmlinux in /lib/modules/$release/build"
	fi
	for mode in "${modes[@]}"; do
		rec_want "$mode"
		[ "$mode" = auto ] && [ -n "$auto_kinds" ] && want=$auto_kinds
		rec_attach "heaprec --attach $mode records the workload on $heaps system heaps, exits 0, leaves nothing attached" \
			"$rout" "$mode" "$want" "$heaps" "$rout/workload"
		rec_counts "heaprec ($mode) records every class of the workload exactly: counts, most held, failures, the timeline" \
			profile "$rout/heaprec-$mode.json" "$wl_sizes" "${runs[@]}"
	done
	for mode in "${modes[@]}"; do files+=("$rout/heaprec-$mode.json"); done
	rec_validate "heaprec's profiles (${modes[*]}) valid against heaplab-profile/1" "${files[@]}"
	rec_replay "$rout/heaprec-auto.json" "$rout/replay.json" "$rout/replay.out" "${runs[@]}"
	rc=$?
	diag "$rout/replay.out" 30
	if [ "$rc" = 0 ]; then
		# shellcheck disable=SC2046 # one kind a word
		rec_counts "heaplab-bench replay of heaprec's profile on the $heaps system heaps: allocations, successes, failures and sizes exactly as recorded" \
			replay "$rout/heaprec-auto.json" "$rout/replay.json" $(rec_kinds "${runs[@]}")
	else
		emit not-ok "heaplab-bench replay of heaprec's profile (exit $rc)"
	fi
	# heaprec's CMA targets (heaplab_cma_allocate, cma_heap_allocate,
	# cma_heap_dma_buf_release): no CMA heap to record in Debian's kernels.
	has_config CONFIG_DMA_CMA ||
		not_applicable "heaprec on the CMA heaps" "no CMA in this kernel (CONFIG_DMA_CMA is not set)"
	[ "$heaps" = heaplab ] && not_applicable "heaprec on the kernel's own heaps" \
		"no upstream heaps in this kernel (CONFIG_DMABUF_HEAPS is not set)"
}
heaprec_stock

# Host mode, as on a user's machine: every heap there, report and all.
# matplotlib's font cache, warmed on the host (make check's guest.test).
[ -d "$builddir/tests/mplcache" ] && mkdir -p "$MPLCONFIGDIR" &&
	cp -r "$builddir/tests/mplcache/." "$MPLCONFIGDIR/"
run="${HEAPLAB_OUT:-$scratch}/heaplab-run"	# the results share: the host keeps it
if "${heaplab[@]}" run --quick --bench "$builddir/bench/heaplab-bench" --out "$run" >"$run.log" 2>&1; then
	emit ok "heaplab run --quick: report written"
else
	emit not-ok "heaplab run --quick failed (exit $?)"
fi
diag "$run.log" 60
check "heaplab run: the report names the kernel ($release)" grep -q "$release" "$run/index.html"
check "heaplab run: the report names heaplab's system heap ($ours/system)" grep -q "$ours/system" "$run/index.html"

rmmod heaplab_smoke heaplab_system_heap heaplab_heap 2>&1 | diag
check "heaplab's modules unload" test ! -d /sys/module/heaplab_heap
finish
