# SPDX-License-Identifier: GPL-2.0
#
# Linux 5.18 renamed struct dma_buf_map (linux/dma-buf-map.h) to
# struct iosys_map (linux/iosys-map.h); dma_buf_ops.vmap takes it since then.
AC_DEFUN([HEAPLAB_AC_KERNEL_SRC_IOSYS_MAP], [
	HEAPLAB_KERNEL_TEST_SRC([iosys_map], [#include <linux/iosys-map.h>], [
	struct iosys_map map;

	iosys_map_set_vaddr(&map, NULL);
	if (!iosys_map_is_null(&map))
		return -EINVAL;
	])
])

AC_DEFUN([HEAPLAB_AC_KERNEL_IOSYS_MAP], [
	AC_MSG_CHECKING([whether struct iosys_map exists])
	HEAPLAB_KERNEL_TEST_RESULT([iosys_map], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_IOSYS_MAP], [5.18+: struct iosys_map])
	], [
		AC_MSG_RESULT([no])
	])
])
