# SPDX-License-Identifier: GPL-2.0
#
# 6.12 "dma-mapping: don't return errors from dma_set_max_seg_size":
# it returns void (it can only fail for a device without dma_parms, a bug).
AC_DEFUN([HEAPLAB_AC_KERNEL_SRC_DMA_SET_MAX_SEG_SIZE], [
	HEAPLAB_KERNEL_TEST_SRC([dma_set_max_seg_size_int], [#include <linux/dma-mapping.h>], [
	int ret = dma_set_max_seg_size(NULL, 0);

	(void)ret;
	])
])

AC_DEFUN([HEAPLAB_AC_KERNEL_DMA_SET_MAX_SEG_SIZE], [
	AC_MSG_CHECKING([whether dma_set_max_seg_size() returns int])
	HEAPLAB_KERNEL_TEST_RESULT([dma_set_max_seg_size_int], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_DMA_SET_MAX_SEG_SIZE_INT], [before 6.12: dma_set_max_seg_size() returns int])
	], [
		AC_MSG_RESULT([no])
	])
])
