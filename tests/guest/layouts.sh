#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of tests/layouts.test: what needs another memory layout or
# kernel command line than the main boot's (2 GiB, 256 MiB CMA).
#
#   layouts.sh big|short BUILDDIR
#
# big    --mem 10G --cma 5G, init_on_alloc=1, dma-debug: a 32-bit-mask
#        importer bounces through swiotlb (memory above 4 GiB), a CMA buffer
#        of 4 GiB + 64 KiB takes several sg entries, and the heaps leave the
#        clearing to the kernel (init_on_alloc).
# short  --mem 1536M --cma 768M, init_on_free=1: the system heap refuses
#        once unmovable memory is short (MemAvailable below the free CMA
#        pages), and the heaps leave the clearing to the kernel (init_on_free).
set -u
layout=${1:?usage: layouts.sh big|short BUILDDIR}
builddir=${2:?usage: layouts.sh big|short BUILDDIR}
. "$(dirname "$0")/lib.sh"

echo "# guest: $(nproc) CPUs online, kernel $(uname -r)"
echo "# guest: cmdline $(cat /proc/cmdline)"
if load_heaps; then
	emit ok "layout $layout: heaplab heaps load"
else
	emit not-ok "layout $layout: heaplab heaps failed to load"
fi
for m in heaplab_smoke heaplab_importer; do
	lsmod_has $m || insmod "$kdir/test/$m.ko" || emit not-ok "layout $layout: $m failed to load"
done
export HEAPLAB_LAYOUT=$layout HEAPLAB_KMOD_DIR=$kdir
case $layout in
big)
	run_tap "importer[$layout]" "$tdir/importer"
	run_tap "heaplab[$layout]" "$tdir/heaplab" ;;
short)
	run_tap "heaplab[$layout]" "$tdir/heaplab" ;;
*)
	emit not-ok "layouts.sh: unknown layout $layout" ;;
esac
finish
