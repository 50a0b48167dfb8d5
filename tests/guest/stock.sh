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
