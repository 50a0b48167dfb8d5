# SPDX-License-Identifier: GPL-2.0
#
# No mainline kernel exports the CMA allocator; heaplab's test kernel does,
# through vm/kernel/patches/0001-export-cma-api-for-heap-modules.patch, as
# Android kernels do. Without the exports the CMA heap module is still
# built (the module list stays the same for make install and DKMS), but
# only to say why when loaded: no CMA in the kernel (Debian's stock
# kernels), or CMA without the exports. It then fails with ENODEV.
AC_DEFUN([HEAPLAB_AC_KERNEL_CMA_EXPORTS], [
	AC_MSG_CHECKING([whether the CMA API is exported to modules])
	heaplab_cma_missing=
	for s in cma_alloc cma_release cma_get_name cma_get_size dma_contiguous_default_area; do
		HEAPLAB_KERNEL_SYMBOL_EXPORTED([$s], [], [heaplab_cma_missing="$heaplab_cma_missing $s"])
	done
	AS_IF([test -z "$heaplab_cma_missing"], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_CMA_EXPORTS], [cma_alloc() and friends exported (heaplab patch)])
		HEAPLAB_CMA_HEAP=yes
	], [
		AS_IF([grep -q '^CONFIG_DMA_CMA=y' "$LINUX_OBJ/.config"], [
			AC_MSG_RESULT([no:$heaplab_cma_missing])
			HEAPLAB_CMA_HEAP="no (kernel does not export:$heaplab_cma_missing; the module only says so)"
		], [
			AC_MSG_RESULT([no: CONFIG_DMA_CMA is not set])
			HEAPLAB_CMA_HEAP="no (kernel has no CMA, CONFIG_DMA_CMA is not set; the module only says so)"
		])
	])
])
