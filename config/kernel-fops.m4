# SPDX-License-Identifier: GPL-2.0
#
# 6.12 "fs: remove no_llseek": a NULL .llseek now means "not seekable",
# which no_llseek used to say.
AC_DEFUN([HEAPLAB_AC_KERNEL_SRC_NO_LLSEEK], [
	HEAPLAB_KERNEL_TEST_SRC([no_llseek], [#include <linux/fs.h>], [
	static const struct file_operations fops = { .llseek = no_llseek };

	(void)fops;
	])
])

AC_DEFUN([HEAPLAB_AC_KERNEL_NO_LLSEEK], [
	AC_MSG_CHECKING([whether no_llseek exists])
	HEAPLAB_KERNEL_TEST_RESULT([no_llseek], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_NO_LLSEEK], [before 6.12: no_llseek])
	], [
		AC_MSG_RESULT([no])
	])
])
