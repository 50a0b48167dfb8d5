# SPDX-License-Identifier: GPL-2.0
#
# Linux 6.7 replaced register_shrinker() on an embedded struct shrinker
# with shrinker_alloc() + shrinker_register() (and private_data); 6.0 to
# 6.6 take the embedded one with a name.
AC_DEFUN([HEAPLAB_AC_KERNEL_SRC_SHRINKER_ALLOC], [
	HEAPLAB_KERNEL_TEST_SRC([shrinker_alloc], [#include <linux/shrinker.h>], [
	struct shrinker *s = shrinker_alloc(0, "%s", "heaplab");

	shrinker_register(s);
	])
])

AC_DEFUN([HEAPLAB_AC_KERNEL_SHRINKER_ALLOC], [
	AC_MSG_CHECKING([whether shrinker_alloc() exists])
	HEAPLAB_KERNEL_TEST_RESULT([shrinker_alloc], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_SHRINKER_ALLOC], [6.7+: shrinker_alloc()])
	], [
		AC_MSG_RESULT([no])
	])
])
