# SPDX-License-Identifier: GPL-2.0
#
# Linux 6.3 made vma->vm_flags read-only; writers use vm_flags_set().
# Before 6.3 the field is assigned directly.
AC_DEFUN([HEAPLAB_AC_KERNEL_SRC_VM_FLAGS_SET], [
	HEAPLAB_KERNEL_TEST_SRC([vm_flags_set], [#include <linux/mm.h>], [
	struct vm_area_struct vma = { };

	vm_flags_set(&vma, VM_DONTEXPAND);
	])
])

AC_DEFUN([HEAPLAB_AC_KERNEL_VM_FLAGS_SET], [
	AC_MSG_CHECKING([whether vm_flags_set() exists])
	HEAPLAB_KERNEL_TEST_RESULT([vm_flags_set], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_VM_FLAGS_SET], [6.3+: vm_flags_set()])
	], [
		AC_MSG_RESULT([no])
	])
])
