# SPDX-License-Identifier: GPL-2.0
#
# 6.13 "module: Convert symbol namespace to string literal":
# MODULE_IMPORT_NS("DMA_BUF") instead of MODULE_IMPORT_NS(DMA_BUF). The
# old macro stringified its argument, so a literal compiles there too (to
# the wrong name): test the bare identifier, which only the old one takes.
AC_DEFUN([HEAPLAB_AC_KERNEL_SRC_IMPORT_NS_IDENT], [
	HEAPLAB_KERNEL_TEST_SRC([import_ns_ident], [
#include <linux/module.h>
MODULE_IMPORT_NS(DMA_BUF);
], [])
])

AC_DEFUN([HEAPLAB_AC_KERNEL_IMPORT_NS_IDENT], [
	AC_MSG_CHECKING([whether MODULE_IMPORT_NS() takes a bare name])
	HEAPLAB_KERNEL_TEST_RESULT([import_ns_ident], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_MODULE_IMPORT_NS_IDENT], [before 6.13: MODULE_IMPORT_NS(NS)])
	], [
		AC_MSG_RESULT([no])
	])
])
