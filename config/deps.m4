# SPDX-License-Identifier: GPL-2.0
#
# Host tools heaplab cannot work without. Each failure names the Debian
# package to install (tools/install-deps installs them all).

dnl --with-config=kernel: only what `make -C kernel modules-release` needs
dnl (the kernel API checks), for a machine that builds the modules for its
dnl own kernel, DKMS's build (docs/dkms.md). No test kernel, QEMU, userspace
dnl libraries or kselftest harness are looked for; only kernel/ can be built.
AC_DEFUN([HEAPLAB_CONFIG_KIND], [
	AC_ARG_WITH([config],
		AS_HELP_STRING([--with-config=all|kernel],
			[what to configure for: everything (default), or the release modules only]),
		[heaplab_config=$withval], [heaplab_config=all])
	AS_CASE([$heaplab_config],
		[all|kernel], [],
		[AC_MSG_ERROR([--with-config=$heaplab_config: want all or kernel])])
	AS_IF([test "$heaplab_config" = kernel && test -z "$with_linux$with_linux_obj"],
		[AC_MSG_ERROR([--with-config=kernel needs --with-linux and/or --with-linux-obj: it never uses the test kernel])])
])

# HEAPLAB_NEED_PROG(VAR, program, debian-package, why)
AC_DEFUN([HEAPLAB_NEED_PROG], [
	AC_PATH_PROG([$1], [$2])
	AS_IF([test -z "$$1"],
	      [AC_MSG_ERROR([$2 not found ($4): apt-get install $3, or run tools/install-deps])])
])

AC_DEFUN([HEAPLAB_DEPS], [
	dnl Host mode (--without-kernel) builds no kernel and boots nothing; a
	dnl kernel-only configure (DKMS) boots nothing either.
	AS_IF([test "$heaplab_config" = all && test "$with_kernel" = yes], [
		HEAPLAB_NEED_PROG([QEMU], [qemu-system-x86_64], [qemu-system-x86],
				  [boots the test kernel])
		HEAPLAB_NEED_PROG([FLOCK], [flock], [util-linux], [serialises kernel builds])
		HEAPLAB_NEED_PROG([PAHOLE], [pahole], [dwarves], [generates the kernel's BTF])
		HEAPLAB_NEED_PROG([BISON], [bison], [bison], [kernel build])
		HEAPLAB_NEED_PROG([FLEX], [flex], [flex], [kernel build])
		HEAPLAB_NEED_PROG([BC], [bc], [bc], [kernel build])
		HEAPLAB_NEED_PROG([PERL], [perl], [perl], [checkpatch.pl and the kernel build])
		AC_CHECK_HEADER([libelf.h], [],
			[AC_MSG_ERROR([libelf.h not found (kernel build, objtool): apt-get install libelf-dev])])
		AC_CHECK_HEADER([openssl/ssl.h], [],
			[AC_MSG_ERROR([openssl headers not found (kernel build): apt-get install libssl-dev])])
	])
	AS_IF([test "$heaplab_config" = all], [
	dnl Debian's matplotlib/numpy/scipy live under /usr/bin/python3; the first
	dnl python3 on PATH may be another build without them.
	AC_ARG_VAR([HEAPLAB_PYTHON], [Python with matplotlib, numpy, scipy (default /usr/bin/python3)])
	: ${HEAPLAB_PYTHON:=/usr/bin/python3}
	AS_IF([test -x "$HEAPLAB_PYTHON"], [],
	      [AC_MSG_ERROR([$HEAPLAB_PYTHON not found: apt-get install python3])])
	])
])
