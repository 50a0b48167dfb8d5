#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Area "heaps": the modules and the heaps' behaviour. The smoke test of the
# chain, the heap selftest (tests/guest/heaps.c, over heaplab's and the
# upstream heaps), heaplab's own tests (tests/guest/heaplab.c) and the
# upstream dmabuf-heaps kselftest against both.
#
#   heaps.sh BUILDDIR
set -u
builddir=${1:?usage: heaps.sh BUILDDIR}
. "$(dirname "$0")/../lib.sh"

run_tap smoke "$tdir/smoke" "$kdir/test/heaplab_smoke.ko"

# The test module's knobs drive kernel-only paths (vmap) for every heap.
if ! lsmod_has heaplab_smoke; then
	echo "# guest: insmod $kdir/test/heaplab_smoke.ko"
	insmod "$kdir/test/heaplab_smoke.ko" || emit not-ok "modules: heaplab_smoke failed to load"
fi
if load_heaps; then
	ls -l /dev/heaplab /dev/dma_heap | diag
	emit ok "modules: heaplab_heap (devdir=heaplab), system and CMA heaps load"
else
	emit not-ok "modules: heaplab heaps failed to load"
fi

export HEAPLAB_KMOD_DIR=$kdir
# Module load/unload cycles of heaplab.c: each load parses the module's BTF
# under KASAN, most of a second; make check-full runs the long count.
if [ -n "${HEAPLAB_CHECK_FULL:-}" ]; then
	export HEAPLAB_LOAD_CYCLES=${HEAPLAB_LOAD_CYCLES:-100}
else
	export HEAPLAB_LOAD_CYCLES=${HEAPLAB_LOAD_CYCLES:-25}
fi
run_tap heaps "$tdir/heaps"
# Importers with real DMA limits (the test module heaplab_importer) and the
# get_user_pages() users of a mapping, on all four heaps. over_4g needs a
# CMA area above 4 GiB: tests/layouts.test runs it in its 8 GiB boot.
if ! lsmod_has heaplab_importer; then
	echo "# guest: insmod $kdir/test/heaplab_importer.ko"
	insmod "$kdir/test/heaplab_importer.ko" || emit not-ok "modules: heaplab_importer failed to load"
fi
run_tap importer "$tdir/importer"
run_tap mappings "$tdir/mappings"
run_tap heaplab "$tdir/heaplab"
# heaplab.c unloads and reloads the modules; leave them loaded for the
# areas that follow.
load_heaps >/dev/null || emit not-ok "modules: heaplab heaps not loaded after the heaplab tests"

# The upstream kselftest, built unmodified from the kernel source package,
# against the upstream heaps and against ours bind-mounted over
# /dev/dma_heap in a private mount namespace (upstream_selftest: lib.sh).
upstream_selftest upstream "$tdir/dmabuf-heap"
upstream_selftest heaplab unshare -m sh -c \
	'mount --bind /dev/heaplab /dev/dma_heap && exec "$0"' "$tdir/dmabuf-heap"

finish
