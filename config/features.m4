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

	dnl CO-RE needs the types of a kernel: the test kernel's vmlinux, or in
	dnl host mode the running kernel's BTF. Without it the tracers are left
	dnl out (a warning: the rest of host mode works without them).
	AC_ARG_VAR([VMLINUX_BTF], [host mode: the kernel BTF bpf/ is built with (default /sys/kernel/btf/vmlinux, the running kernel's)])
	AS_IF([test "$with_kernel" = yes], [VMLINUX_BTF='$(LINUX_OBJ)/vmlinux'],
	      [: ${VMLINUX_BTF:=/sys/kernel/btf/vmlinux}])
	AS_IF([test "$enable_bpf" = yes && test "$with_kernel" = no], [
		AC_MSG_CHECKING([for the kernel BTF])
		AS_IF([test -r "$VMLINUX_BTF"], [AC_MSG_RESULT([$VMLINUX_BTF])], [
			AC_MSG_RESULT([no])
			enable_bpf=no
			heaplab_why_bpf="off: $VMLINUX_BTF missing (CONFIG_DEBUG_INFO_BTF), no vmlinux.h for the tracers"
			AC_MSG_WARN([bpf/ tracers not built: $VMLINUX_BTF missing (kernel without CONFIG_DEBUG_INFO_BTF)])])
	])
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
	dnl The tracers read these kernel types: the running kernel may lack some
	dnl (no DMA-BUF heaps, no CMA). The test kernel has them all.
	AS_IF([test "$enable_bpf" = yes && test "$with_kernel" = no], [
		AC_MSG_CHECKING([whether $VMLINUX_BTF has the types bpf/ reads])
		btfstructs=`$BPFTOOL btf dump file "$VMLINUX_BTF" format raw 2>/dev/null | grep " STRUCT '"`
		missing=
		for t in page vm_fault file dma_buf dma_heap cma; do
			echo "$btfstructs" | grep -q " STRUCT '$t' " || missing="$missing struct $t"
		done
		AS_IF([test -z "$missing"], [AC_MSG_RESULT([yes])], [
			AC_MSG_RESULT([no:$missing])
			enable_bpf=no
			heaplab_why_bpf="off: the running kernel's BTF lacks$missing (DMA-BUF heaps and CMA: CONFIG_DMABUF_HEAPS, CONFIG_CMA)"
			AC_MSG_WARN([bpf/ tracers not built: $VMLINUX_BTF lacks$missing])])
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
	dnl time; heaplab carries no copy of it. Host mode needs it only for the
	dnl unit area, which is left out without it; a kernel-only configure
	dnl (DKMS) not at all.
	KSELFTEST_DIR=
	AS_IF([test "$heaplab_config" = all], [
		AC_MSG_CHECKING([for kselftest_harness.h])
		for d in "$LINUX/tools/testing/selftests" "`$srcdir/vm/build-kernel --kernel $HEAPLAB_SERIES --print-src debug 2>/dev/null`/tools/testing/selftests" \
			/usr/src/linux-source-*/tools/testing/selftests; do
			AS_IF([test -f "$d/kselftest_harness.h"], [KSELFTEST_DIR=$d; break])
		done
		AS_IF([test -n "$KSELFTEST_DIR"], [AC_MSG_RESULT([$KSELFTEST_DIR])], [
			AC_MSG_RESULT([no])
			AS_IF([test "$with_kernel" = yes],
				[AC_MSG_ERROR([kselftest_harness.h not found in the kernel source: apt-get install linux-source-$HEAPLAB_SERIES])],
				[AC_MSG_WARN([kselftest_harness.h not found: make check leaves out the unit area (needs an unpacked linux-source)])])])
	])
	AM_CONDITIONAL([HAVE_KSELFTEST], [test -n "$KSELFTEST_DIR"])
	AC_SUBST([KSELFTEST_DIR])
])

AC_DEFUN([HEAPLAB_SUMMARY], [
	AS_IF([test "$with_kernel" = no],
	      [kdesc="none (--without-kernel: host mode, userspace only)"],
	      [test "$HEAPLAB_TEST_KERNEL" = yes],
	      [kdesc="heaplab test kernel $LINUX_VERSION (debug: $LINUX_OBJ; perf: built by make bench)"],
	      [kdesc="$LINUX_VERSION at $LINUX_OBJ"])
	AS_IF([test "$with_kernel" = yes], [btfdesc=$LINUX_OBJ/vmlinux], [btfdesc=$VMLINUX_BTF])
	AS_IF([test "$heaplab_config" = kernel], [cat <<_HEAPLAB_EOF

heaplab $PACKAGE_VERSION configured for the release modules only (--with-config=kernel)
  kernel modules:  $kdesc
  CMA heap:        $HEAPLAB_CMA_HEAP

  make -C kernel modules-release   heaplab_heap, heaplab_system_heap, heaplab_cma_heap
_HEAPLAB_EOF
	], [
	cat <<_HEAPLAB_EOF

heaplab $PACKAGE_VERSION configured
  kernel modules:  $kdesc
_HEAPLAB_EOF
	AS_IF([test "$with_kernel" = yes], [echo "  CMA heap:        $HEAPLAB_CMA_HEAP"])
	cat <<_HEAPLAB_EOF
  bench/:          ${heaplab_why_bench:-enabled (heaplab-bench; make bench)}
  bpf/:            ${heaplab_why_bpf:-enabled (heaptrace, cmatrace, heaprec: clang, bpftool, libbpf; types from $btfdesc)}
  stress/:         ${heaplab_why_stress:-enabled (heaplab-stress; make stress)}
  reports/:        ${heaplab_why_reports:-enabled (heaplab report/compare/validate/run)}
  test sanitizers: $enable_sanitizers (ASan + UBSan on test programs)
  python:          $HEAPLAB_PYTHON
_HEAPLAB_EOF
	AS_IF([test "$with_kernel" = yes], [cat <<_HEAPLAB_EOF
  accelerator:     decided per run by vm/run (KVM only if a probe boot works)

  make            modules and userspace
  make check      boot the debug guest and run the test suite there
  make bench      boot the perf guest and write reports/out/
_HEAPLAB_EOF
	], [
	hostareas=
	while read -r a where lim full hm; do
		test "${a#\#}" = "$a" && test "$hm" = yes || continue
		test "$a" != unit || test -n "$KSELFTEST_DIR" || continue
		hostareas="$hostareas $a"
	done <"$srcdir/tests/areas"
	AS_IF([test -z "$KSELFTEST_DIR"], [hostareas="$hostareas (unit left out: no kselftest_harness.h)"])
	cat <<_HEAPLAB_EOF

  make            the userspace tools
  make check      the host-mode areas: $hostareas
  reports/heaplab run --bench bench/heaplab-bench --quick
                  the benchmark on this machine's heaps (docs/host-mode.md)
_HEAPLAB_EOF
	])
	])
])
