# SPDX-License-Identifier: GPL-2.0
#
# The kernel heaplab's modules build against, and the kernel API checks.
#
# As in OpenZFS, each API that differs between kernels has one
# config/kernel-*.m4 file. Its HEAPLAB_AC_KERNEL_SRC_* macro registers a
# test module; all registered tests are compiled in ONE parallel Kbuild pass
# (HEAPLAB_KERNEL_TEST_COMPILE), then each HEAPLAB_AC_KERNEL_* macro reads its
# result and defines HAVE_* in kernel/heaplab_config.h, which Kbuild
# force-includes into every module source.

dnl --without-kernel (host mode): userspace only, for the machine in front of
dnl the user; no kernel tree, no API checks, no modules, no test kernel.
AC_DEFUN([HEAPLAB_ARG_KERNEL], [
	AC_ARG_WITH([kernel],
		AS_HELP_STRING([--without-kernel],
			[host mode: build only the userspace (lib, bench, stress, bpf, reports) for this machine]),
		[with_kernel=$withval], [with_kernel=yes])
	AS_CASE([$with_kernel], [yes|no], [],
		[AC_MSG_ERROR([--with-kernel takes no value (got '$with_kernel'); --without-kernel for host mode])])
	AS_IF([test "$with_kernel" = no && test "$heaplab_config" = kernel],
		[AC_MSG_ERROR([--without-kernel and --with-config=kernel exclude each other: one builds only the userspace, the other only the modules])])
	HEAPLAB_WITH_KERNEL=$with_kernel
	AC_SUBST([HEAPLAB_WITH_KERNEL])
	AM_CONDITIONAL([WITH_KERNEL], [test "$with_kernel" = yes])
])

AC_DEFUN([HEAPLAB_KERNEL], [
	AS_IF([test "$with_kernel" = yes], [HEAPLAB_KERNEL_TREE], [
		AS_IF([test -n "$with_linux$with_linux_obj"],
			[AC_MSG_ERROR([--without-kernel builds no modules: drop --with-linux/--with-linux-obj])])
		HEAPLAB_TEST_KERNEL=no
		LINUX_VERSION=
	])
	AC_SUBST([LINUX])
	AC_SUBST([LINUX_OBJ])
	AC_SUBST([LINUX_OBJ_PERF])
	AC_SUBST([LINUX_VERSION])
	AC_SUBST([HEAPLAB_TEST_KERNEL])
	AM_CONDITIONAL([TEST_KERNEL], [test "$HEAPLAB_TEST_KERNEL" = yes])
	HEAPLAB_UAPI_HEADERS
])

dnl The UAPI headers userspace compiles against (linux/dma-buf.h, drm/drm.h):
dnl the target kernel's `make headers` output, or in host mode the system's.
dnl Debian's linux-libc-dev leaves drm/ to libdrm-dev, which puts it under
dnl libdrm/: a link build/uapi/drm to it keeps the sources' <drm/drm.h>.
AC_DEFUN([HEAPLAB_UAPI_HEADERS], [
	AS_IF([test "$with_kernel" = yes], [UAPI_CPPFLAGS='-isystem $(LINUX_OBJ)/usr/include'], [
		UAPI_CPPFLAGS=
		AC_CHECK_HEADER([linux/dma-buf.h], [],
			[AC_MSG_ERROR([linux/dma-buf.h not found: apt-get install linux-libc-dev])])
		AC_CHECK_HEADER([drm/drm.h], [], [
			AC_MSG_CHECKING([for drm.h of libdrm-dev])
			drmdir=`$PKG_CONFIG --variable=includedir libdrm 2>/dev/null`/libdrm
			AS_IF([test -f "$drmdir/drm.h"], [
				AC_MSG_RESULT([$drmdir])
				mkdir -p build/uapi
				rm -f build/uapi/drm
				ln -s "$drmdir" build/uapi/drm
				UAPI_CPPFLAGS="-isystem `pwd`/build/uapi"
			], [
				AC_MSG_RESULT([no])
				AC_MSG_ERROR([drm/drm.h not found (vgem import in lib/ and stress/): apt-get install libdrm-dev])])
		])
	])
	AC_SUBST([UAPI_CPPFLAGS])
])

AC_DEFUN([HEAPLAB_KERNEL_TREE], [
	AC_ARG_WITH([linux],
		AS_HELP_STRING([--with-linux=DIR],
			[kernel source tree (default: heaplab's own test kernel, see vm/build-kernel)]),
		[kernelsrc=$withval], [kernelsrc=])
	AC_ARG_WITH([linux-obj],
		AS_HELP_STRING([--with-linux-obj=DIR],
			[kernel build tree (default: the --with-linux tree, or heaplab's debug test kernel)]),
		[kernelbuild=$withval], [kernelbuild=])

	AC_ARG_WITH([test-kernel],
		AS_HELP_STRING([--with-test-kernel=SERIES],
			[which of heaplab's test kernels (vm/build-kernel --kernel): 6.1 (default) or 6.12]),
		[HEAPLAB_SERIES=$withval], [HEAPLAB_SERIES=6.1])
	AS_CASE([$HEAPLAB_SERIES], [6.1|6.12], [],
		[AC_MSG_ERROR([--with-test-kernel=$HEAPLAB_SERIES: heaplab has test kernels 6.1 and 6.12])])
	AC_SUBST([HEAPLAB_SERIES])

	dnl The default is the project's own test kernel: a debug build for
	dnl `make check` and a perf build for `make bench`, both from
	dnl vm/build-kernel's cache. An explicit tree serves both roles.
	AS_IF([test -z "$kernelsrc$kernelbuild"], [
		HEAPLAB_TEST_KERNEL=yes
		kernelsrc=`$srcdir/vm/build-kernel --kernel $HEAPLAB_SERIES --print-src debug` ||
			AC_MSG_ERROR([vm/build-kernel cannot name the test kernel (is linux-source-$HEAPLAB_SERIES installed?)])
		kernelbuild=`$srcdir/vm/build-kernel --kernel $HEAPLAB_SERIES --print-dir debug`
		kernelbuild_perf=`$srcdir/vm/build-kernel --kernel $HEAPLAB_SERIES --print-dir perf`
		AS_IF([test -f "$kernelbuild/.heaplab-built"], [],
			[AC_MSG_ERROR([the $HEAPLAB_SERIES debug test kernel is not built yet: run vm/build-kernel --kernel $HEAPLAB_SERIES debug (./setup does for 6.1), or pass --with-linux])])
	], [
		HEAPLAB_TEST_KERNEL=no
		AS_IF([test -z "$kernelsrc"], [kernelsrc=$kernelbuild])
		AS_IF([test -z "$kernelbuild"], [kernelbuild=$kernelsrc])
		kernelbuild_perf=$kernelbuild
	])

	AC_MSG_CHECKING([kernel source tree])
	AS_IF([test -f "$kernelsrc/Makefile" && test -d "$kernelsrc/include/linux"],
	      [AC_MSG_RESULT([$kernelsrc])],
	      [AC_MSG_RESULT([not found])
	       AC_MSG_ERROR([$kernelsrc is not a kernel source tree (--with-linux)])])
	AC_MSG_CHECKING([kernel build tree])
	AS_IF([test -f "$kernelbuild/.config" && test -f "$kernelbuild/Module.symvers"],
	      [AC_MSG_RESULT([$kernelbuild])],
	      [AC_MSG_RESULT([not found])
	       AC_MSG_ERROR([$kernelbuild is not a built kernel tree with .config and Module.symvers (--with-linux-obj)])])
	AC_MSG_CHECKING([kernel version])
	dnl The release uname -r will print: a distribution's header tree
	dnl (Debian's 6.1.0-57-amd64) has it only in kernel.release.
	LINUX_VERSION=`cat "$kernelbuild/include/config/kernel.release" 2>/dev/null`
	AS_IF([test -z "$LINUX_VERSION"],
	      [LINUX_VERSION=`${MAKE:-make} -s -C "$kernelbuild" kernelrelease 2>/dev/null | tail -1`])
	AS_IF([test -z "$LINUX_VERSION"],
	      [LINUX_VERSION=`sed -n 's/^# Linux\/\S* \(\S*\) Kernel Configuration/\1/p' "$kernelbuild/.config"`])
	AC_MSG_RESULT([$LINUX_VERSION])

	dnl Options heaplab needs in the target kernel.
	for opt in MODULES MODULE_UNLOAD DMA_SHARED_BUFFER; do
		AC_MSG_CHECKING([for CONFIG_$opt in the target kernel])
		AS_IF([grep -q "^CONFIG_$opt=y" "$kernelbuild/.config"],
		      [AC_MSG_RESULT([yes])],
		      [AC_MSG_RESULT([no]); AC_MSG_ERROR([the target kernel lacks CONFIG_$opt])])
	done

	LINUX=$kernelsrc
	LINUX_OBJ=$kernelbuild
	LINUX_OBJ_PERF=$kernelbuild_perf

	HEAPLAB_KERNEL_CHECKS
])

dnl HEAPLAB_KERNEL_TEST_SRC(name, includes, body)
dnl Register a test module that compiles only if the API is as expected.
AC_DEFUN([HEAPLAB_KERNEL_TEST_SRC], [
	mkdir -p "build/conftest/$1"
	cat >"build/conftest/$1/$1.c" <<_HEAPLAB_EOF
// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
$2
static int __init heaplab_conftest_init(void)
{
$3
	return 0;
}
module_init(heaplab_conftest_init);
MODULE_LICENSE("GPL");
_HEAPLAB_EOF
	echo "obj-m += $1/$1.o" >>build/conftest/Kbuild
])

dnl Compile every registered test in one Kbuild pass. -k: a failing test is
dnl an answer, not an error.
AC_DEFUN([HEAPLAB_KERNEL_TEST_COMPILE], [
	AC_MSG_CHECKING([kernel API (one Kbuild pass over all tests)])
	jobs=`nproc 2>/dev/null || echo 2`
	${MAKE:-make} -k -j$jobs -C "$LINUX_OBJ" M="`pwd`/build/conftest" modules \
		>build/conftest/build.log 2>&1
	AC_MSG_RESULT([done, log in build/conftest/build.log])
])

dnl HEAPLAB_KERNEL_TEST_RESULT(name, action-if-compiled, action-if-not)
AC_DEFUN([HEAPLAB_KERNEL_TEST_RESULT], [
	AS_IF([test -f "build/conftest/$1/$1.o"], [$2], [$3])
])

dnl HEAPLAB_KERNEL_SYMBOL_EXPORTED(symbol, action-if-exported, action-if-not)
dnl An exported symbol is a line of Module.symvers; no need to link a test.
AC_DEFUN([HEAPLAB_KERNEL_SYMBOL_EXPORTED], [
	AS_IF([$AWK -v s="$1" '$[]2 == s { f = 1 } END { exit !f }' "$LINUX_OBJ/Module.symvers"],
	      [$2], [$3])
])

AC_DEFUN([HEAPLAB_KERNEL_CHECKS], [
	rm -rf build/conftest
	mkdir -p build/conftest
	: >build/conftest/Kbuild
	HEAPLAB_AC_KERNEL_SRC_IOSYS_MAP
	HEAPLAB_AC_KERNEL_SRC_VM_FLAGS_SET
	HEAPLAB_AC_KERNEL_SRC_DMA_BUF_MAP_UNLOCKED
	HEAPLAB_AC_KERNEL_SRC_DMA_BUF_VMAP_UNLOCKED
	HEAPLAB_AC_KERNEL_SRC_SHRINKER_ALLOC
	HEAPLAB_AC_KERNEL_SRC_CLASS
	HEAPLAB_AC_KERNEL_SRC_NO_LLSEEK
	HEAPLAB_AC_KERNEL_SRC_DMA_SET_MAX_SEG_SIZE
	HEAPLAB_AC_KERNEL_SRC_ASSIGN_STR
	HEAPLAB_AC_KERNEL_SRC_IMPORT_NS_IDENT
	HEAPLAB_KERNEL_TEST_COMPILE
	HEAPLAB_AC_KERNEL_IOSYS_MAP
	HEAPLAB_AC_KERNEL_VM_FLAGS_SET
	HEAPLAB_AC_KERNEL_DMA_BUF_MAP_UNLOCKED
	HEAPLAB_AC_KERNEL_DMA_BUF_VMAP_UNLOCKED
	HEAPLAB_AC_KERNEL_SHRINKER_ALLOC
	HEAPLAB_AC_KERNEL_CLASS
	HEAPLAB_AC_KERNEL_NO_LLSEEK
	HEAPLAB_AC_KERNEL_DMA_SET_MAX_SEG_SIZE
	HEAPLAB_AC_KERNEL_ASSIGN_STR
	HEAPLAB_AC_KERNEL_IMPORT_NS_IDENT
	HEAPLAB_AC_KERNEL_DMA_BUF_NS
	HEAPLAB_AC_KERNEL_CMA_EXPORTS
	HEAPLAB_KCONFIG_H=`pwd`/kernel/heaplab_config.h
	AC_SUBST([HEAPLAB_KCONFIG_H])
	AC_CONFIG_COMMANDS([kernel/heaplab_config.h], [
		mkdir -p kernel
		{
			echo "/* SPDX-License-Identifier: GPL-2.0 */"
			echo "/* Generated by configure from config/kernel-*.m4: do not edit. */"
			echo "#ifndef HEAPLAB_CONFIG_H"
			echo "#define HEAPLAB_CONFIG_H"
			printf '%b' "$heaplab_kdefs"
			echo "#endif"
		} >kernel/heaplab_config.h.tmp
		cmp -s kernel/heaplab_config.h.tmp kernel/heaplab_config.h &&
			rm -f kernel/heaplab_config.h.tmp ||
			mv kernel/heaplab_config.h.tmp kernel/heaplab_config.h
	], [heaplab_kdefs='$heaplab_kdefs'])
])

dnl HEAPLAB_KDEFINE(NAME, comment)
AC_DEFUN([HEAPLAB_KDEFINE], [
	heaplab_kdefs="$heaplab_kdefs/* $2 */\n#define $1 1\n"
])
