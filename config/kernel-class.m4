# SPDX-License-Identifier: GPL-2.0
#
# struct class, the one heaplab's framework creates for its device nodes:
# 6.2 "driver core: make struct class.devnode() take a const *" made the
# devnode callback take a const struct device *; 6.4 "driver core: class:
# remove module * from class_create()" dropped the owner argument.
AC_DEFUN([HEAPLAB_AC_KERNEL_SRC_CLASS], [
	HEAPLAB_KERNEL_TEST_SRC([class_devnode_const], [
#include <linux/device.h>
static char *heaplab_conftest_devnode(const struct device *dev, umode_t *mode)
{
	return NULL;
}
], [
	struct class c = { .devnode = heaplab_conftest_devnode };

	(void)c;
	])
	HEAPLAB_KERNEL_TEST_SRC([class_create_name], [#include <linux/device.h>], [
	struct class *c = class_create("heaplab");

	(void)c;
	])
])

AC_DEFUN([HEAPLAB_AC_KERNEL_CLASS], [
	AC_MSG_CHECKING([whether class.devnode takes a const struct device *])
	HEAPLAB_KERNEL_TEST_RESULT([class_devnode_const], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_CLASS_DEVNODE_CONST], [6.2+: class.devnode(const struct device *)])
	], [
		AC_MSG_RESULT([no])
	])
	AC_MSG_CHECKING([whether class_create() takes only a name])
	HEAPLAB_KERNEL_TEST_RESULT([class_create_name], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_CLASS_CREATE_NAME], [6.4+: class_create(name)])
	], [
		AC_MSG_RESULT([no])
	])
])
