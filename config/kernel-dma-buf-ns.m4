# SPDX-License-Identifier: GPL-2.0
#
# Linux 5.16 moved the dma-buf exports into the DMA_BUF symbol namespace;
# modules using them need MODULE_IMPORT_NS(DMA_BUF).
AC_DEFUN([HEAPLAB_AC_KERNEL_DMA_BUF_NS], [
	AC_MSG_CHECKING([whether dma_buf_export is exported])
	HEAPLAB_KERNEL_SYMBOL_EXPORTED([dma_buf_export], [AC_MSG_RESULT([yes])], [
		AC_MSG_RESULT([no])
		AC_MSG_ERROR([the target kernel does not export dma_buf_export (CONFIG_DMA_SHARED_BUFFER)])
	])
	AC_MSG_CHECKING([whether dma-buf symbols are in namespace DMA_BUF])
	AS_IF([grep -q "	dma_buf_export	.*	DMA_BUF\$" "$LINUX_OBJ/Module.symvers"], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_DMA_BUF_NS], [5.16+: dma-buf exports in namespace DMA_BUF])
	], [
		AC_MSG_RESULT([no])
	])
])
