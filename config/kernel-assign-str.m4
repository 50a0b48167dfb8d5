# SPDX-License-Identifier: GPL-2.0
#
# 6.10 "tracing/treewide: Remove second parameter of __assign_str()": the
# string field is copied from the TP_ARGS expression named in __string(),
# so __assign_str() takes the field alone. Only a real trace event can tell,
# so the test defines one (its trace header is written next to it).
AC_DEFUN([HEAPLAB_AC_KERNEL_SRC_ASSIGN_STR], [
	HEAPLAB_KERNEL_TEST_SRC([assign_str_one], [
#define CREATE_TRACE_POINTS
#include "assign_str_one_trace.h"
], [
	trace_heaplab_conftest("x");
	])
	cat >build/conftest/assign_str_one/assign_str_one_trace.h <<_HEAPLAB_EOF
/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM heaplab_conftest
#if !defined(HEAPLAB_CONFTEST_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define HEAPLAB_CONFTEST_TRACE_H
#include <linux/tracepoint.h>
TRACE_EVENT(heaplab_conftest, TP_PROTO(const char *s), TP_ARGS(s),
	    TP_STRUCT__entry(__string(s, s)),
	    TP_fast_assign(__assign_str(s);),
	    TP_printk("%s", __get_str(s)));
#endif
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH `pwd`/build/conftest/assign_str_one
#define TRACE_INCLUDE_FILE assign_str_one_trace
#include <trace/define_trace.h>
_HEAPLAB_EOF
])

AC_DEFUN([HEAPLAB_AC_KERNEL_ASSIGN_STR], [
	AC_MSG_CHECKING([whether __assign_str() takes one argument])
	HEAPLAB_KERNEL_TEST_RESULT([assign_str_one], [
		AC_MSG_RESULT([yes])
		HEAPLAB_KDEFINE([HAVE_ASSIGN_STR_ONE_ARG], [6.10+: __assign_str(field)])
	], [
		AC_MSG_RESULT([no])
	])
])
