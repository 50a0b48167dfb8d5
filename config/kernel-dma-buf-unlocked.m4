# SPDX-License-Identifier: GPL-2.0
#
# Linux 6.2 made dma_buf_map_attachment() require the reservation lock and
# added dma_buf_map_attachment_unlocked() for importers that do not hold it
# (backported to some 6.1 stable kernels, Debian's among them). Before, the
# plain call takes what it needs itself. Used by the test importer.
AC_DEFUN([HEAPLAB_AC_KERNEL_SRC_DMA_BUF_MAP_UNLOCKED], [
	HEAPLAB_KERNEL_TEST_SRC([dma_buf_map_attachment_unlocked],
		[#include <linux/dma-buf.h>], [
	struct sg_table *sgt;

	sgt = dma_buf_map_attachment_unlocked(NULL, DMA_BIDIRECTIONAL);
	dma_buf_unmap_attachment_unlocked(NULL, sgt, DMA_BIDIRECTIONAL);
	])
])

AC_DEFUN([HEAPLAB_AC_KERNEL_DMA_BUF_MAP_UNLOCKED], [
	AC_MSG_CHECKING([whether dma_buf_map_attachment_unlocked() exists])
	HEAPLAB_KERNEL_TEST_RESULT([dma_buf_map_attachment_unlocked], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_DMA_BUF_MAP_UNLOCKED],
			[6.2+ (and some 6.1): dma_buf_map_attachment_unlocked()])
	], [
		AC_MSG_RESULT([no])
	])
])

# Linux 6.2, "dma-buf: Add unlocked variant of vmapping functions":
# dma_buf_vmap() wants the reservation lock held (it warns otherwise) and
# dma_buf_vmap_unlocked() takes it. Not backported to Debian's 6.1. Used by
# the test modules' kernel mappings.
AC_DEFUN([HEAPLAB_AC_KERNEL_SRC_DMA_BUF_VMAP_UNLOCKED], [
	HEAPLAB_KERNEL_TEST_SRC([dma_buf_vmap_unlocked],
		[#include <linux/dma-buf.h>], [
	struct iosys_map map;

	if (!dma_buf_vmap_unlocked(NULL, &map))
		dma_buf_vunmap_unlocked(NULL, &map);
	])
])

AC_DEFUN([HEAPLAB_AC_KERNEL_DMA_BUF_VMAP_UNLOCKED], [
	AC_MSG_CHECKING([whether dma_buf_vmap_unlocked() exists])
	HEAPLAB_KERNEL_TEST_RESULT([dma_buf_vmap_unlocked], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_DMA_BUF_VMAP_UNLOCKED], [6.2+: dma_buf_vmap_unlocked()])
	], [
		AC_MSG_RESULT([no])
	])
])
