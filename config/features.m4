# SPDX-License-Identifier: GPL-2.0
#
# Optional parts of the suite: --disable-X turns one off; an enabled part
# whose dependencies are missing is an error naming the Debian package, so a
# suite is never silently smaller than asked for.

# HEAPLAB_FEATURE(name, help)
AC_DEFUN([HEAPLAB_FEATURE], [
	AC_ARG_ENABLE([$1], AS_HELP_STRING([--disable-$1], [do not build $2]),
		[enable_$1=$enableval], [enable_$1=yes])
	AS_IF([test "$heaplab_config" = kernel],
	      [enable_$1=no; heaplab_why_$1="not configured (--with-config=kernel)"])
	AS_IF([test "$enable_$1" = no && test -z "$heaplab_why_$1"],
	      [heaplab_why_$1="disabled by --disable-$1"])
])

AC_DEFUN([HEAPLAB_FEATURES], [
	HEAPLAB_FEATURE([bench], [the bench/ harnesses and the make bench report])
	HEAPLAB_FEATURE([bpf], [the bpf/ CO-RE tracers])
	HEAPLAB_FEATURE([stress], [the stress/ stressors and fuzzer])
	HEAPLAB_FEATURE([reports], [the reports/ plots and HTML])
	AC_ARG_ENABLE([sanitizers],
		AS_HELP_STRING([--disable-sanitizers], [build test programs without ASan/UBSan]),
		[enable_sanitizers=$enableval], [enable_sanitizers=yes])

	AS_IF([test "$enable_bpf" = yes], [
		HEAPLAB_NEED_PROG([CLANG], [clang], [clang], [compiles bpf/*.bpf.c])
		HEAPLAB_NEED_PROG([BPFTOOL], [bpftool], [bpftool], [vmlinux.h and skeletons])
		PKG_CHECK_MODULES([LIBBPF], [libbpf >= 1.0], [],
			[AC_MSG_ERROR([libbpf >= 1.0 not found (bpf/ loaders): apt-get install libbpf-dev])])
	])
	AS_IF([test "$enable_reports" = yes], [
		AC_MSG_CHECKING([whether $HEAPLAB_PYTHON has matplotlib, numpy, scipy and jsonschema])
		AS_IF(["$HEAPLAB_PYTHON" -c 'import matplotlib, numpy, scipy, jsonschema' 2>/dev/null],
		      [AC_MSG_RESULT([yes])],
		      [AC_MSG_RESULT([no])
		       AC_MSG_ERROR([reports/ needs them: apt-get install python3-matplotlib python3-numpy python3-scipy python3-jsonschema])])
	])
	dnl lib/ writes the "machine" block of every tool's JSON.
	AS_IF([test "$heaplab_config" = all], [
		PKG_CHECK_MODULES([JSONC], [json-c], [],
			[AC_MSG_ERROR([json-c not found (JSON output of lib/, bench/, stress/, bpf/): apt-get install libjson-c-dev])])
	])

	AM_CONDITIONAL([ENABLE_BENCH], [test "$enable_bench" = yes])
	AM_CONDITIONAL([ENABLE_BPF], [test "$enable_bpf" = yes])
	AM_CONDITIONAL([ENABLE_STRESS], [test "$enable_stress" = yes])
	AM_CONDITIONAL([ENABLE_REPORTS], [test "$enable_reports" = yes])
])

AC_DEFUN([HEAPLAB_USERSPACE_FLAGS], [
	dnl Userspace C is always warning-clean.
	HEAPLAB_CFLAGS="-Wall -Wextra -Werror -O2 -g"
	dnl Test programs run under ASan/UBSan in the guest.
	HEAPLAB_TEST_CFLAGS=
	STRESS_SAN_CFLAGS=
	AS_IF([test "$heaplab_config" = kernel], [enable_sanitizers=no])
	AS_IF([test "$enable_sanitizers" = yes], [
		save_CFLAGS=$CFLAGS
		CFLAGS="$CFLAGS -fsanitize=address,undefined"
		save_LDFLAGS=$LDFLAGS
		LDFLAGS="$LDFLAGS -fsanitize=address,undefined"
		AC_MSG_CHECKING([whether $CC links with ASan and UBSan])
		AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
			[AC_MSG_RESULT([yes]); HEAPLAB_TEST_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer"
			 STRESS_SAN_CFLAGS="-fsanitize=undefined -fno-sanitize-recover=undefined"],
			[AC_MSG_RESULT([no])
			 AC_MSG_ERROR([sanitizer runtimes missing: apt-get install libasan8 libubsan1, or --disable-sanitizers])])
		CFLAGS=$save_CFLAGS
		LDFLAGS=$save_LDFLAGS
	])
	AC_SUBST([HEAPLAB_CFLAGS])
	AC_SUBST([HEAPLAB_TEST_CFLAGS])
	AC_SUBST([STRESS_SAN_CFLAGS])

	dnl The kselftest harness comes from the kernel source package at build
	dnl time; heaplab carries no copy of it.
	KSELFTEST_DIR=
	AS_IF([test "$heaplab_config" = all], [
		AC_MSG_CHECKING([for kselftest_harness.h])
		for d in "$LINUX/tools/testing/selftests" "`$srcdir/vm/build-kernel --kernel $HEAPLAB_SERIES --print-src debug 2>/dev/null`/tools/testing/selftests"; do
			AS_IF([test -f "$d/kselftest_harness.h"], [KSELFTEST_DIR=$d; break])
		done
		AS_IF([test -n "$KSELFTEST_DIR"], [AC_MSG_RESULT([$KSELFTEST_DIR])], [
			AC_MSG_RESULT([no])
			AC_MSG_ERROR([kselftest_harness.h not found in the kernel source: apt-get install linux-source-6.1])])
	])
	AC_SUBST([KSELFTEST_DIR])
])

AC_DEFUN([HEAPLAB_SUMMARY], [
	AS_IF([test "$HEAPLAB_TEST_KERNEL" = yes],
	      [kdesc="heaplab test kernel $LINUX_VERSION (debug: $LINUX_OBJ; perf: built by make bench)"],
	      [kdesc="$LINUX_VERSION at $LINUX_OBJ"])
	AS_IF([test "$heaplab_config" = kernel], [cat <<_HEAPLAB_EOF

heaplab $PACKAGE_VERSION configured for the release modules only (--with-config=kernel)
  kernel modules:  $kdesc
  CMA heap:        $HEAPLAB_CMA_HEAP

  make -C kernel modules-release   heaplab_heap, heaplab_system_heap, heaplab_cma_heap
_HEAPLAB_EOF
	], [cat <<_HEAPLAB_EOF

heaplab $PACKAGE_VERSION configured
  kernel modules:  $kdesc
  CMA heap:        $HEAPLAB_CMA_HEAP
  bench/:          ${heaplab_why_bench:-enabled (heaplab-bench; make bench)}
  bpf/:            ${heaplab_why_bpf:-enabled (heaptrace, cmatrace: clang, bpftool, libbpf)}
  stress/:         ${heaplab_why_stress:-enabled (heaplab-stress; make stress)}
  reports/:        ${heaplab_why_reports:-enabled (heaplab report/compare/validate)}
  test sanitizers: $enable_sanitizers (ASan + UBSan on test programs)
  python:          $HEAPLAB_PYTHON
  accelerator:     decided per run by vm/run (KVM only if a probe boot works)

  make            modules and userspace
  make check      boot the debug guest and run the test suite there
  make bench      boot the perf guest and write reports/out/
_HEAPLAB_EOF
	])
])
