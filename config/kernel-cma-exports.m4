# SPDX-License-Identifier: GPL-2.0
#
# No mainline kernel exports the CMA allocator; heaplab's test kernel does,
# through vm/kernel/patches/0001-export-cma-api-for-heap-modules.patch, as
# Android kernels do. Without the exports the CMA heap is not built.
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
		AC_MSG_RESULT([no:$heaplab_cma_missing])
		HEAPLAB_CMA_HEAP="no (kernel does not export:$heaplab_cma_missing)"
	])
])
