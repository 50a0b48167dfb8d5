/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab tracepoints: the stable attach points of the bpf/ tracers.
 * Everything that fires them lives in heaplab_heap.ko (framework and
 * helpers), so no tracepoint needs exporting.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM heaplab

#if !defined(_HEAPLAB_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _HEAPLAB_TRACE_H

#include <linux/tracepoint.h>
#include <heaplab/compat.h>

/* Events that carry a heap and a length. */
DECLARE_EVENT_CLASS(heaplab_buffer_class,
		    TP_PROTO(const char *heap, unsigned long len),
		    TP_ARGS(heap, len),
		    TP_STRUCT__entry(__string(heap, heap)
				     __field(unsigned long, len)),
		    TP_fast_assign(heaplab_assign_str(heap, heap);
				   __entry->len = len;),
		    TP_printk("heap=%s len=%lu", __get_str(heap), __entry->len)
);

DEFINE_EVENT(heaplab_buffer_class, heaplab_alloc_start,
	     TP_PROTO(const char *heap, unsigned long len),
	     TP_ARGS(heap, len)
);

TRACE_EVENT(heaplab_alloc_end,
	    TP_PROTO(const char *heap, unsigned long len, long ret,
		     u64 duration_ns),
	    TP_ARGS(heap, len, ret, duration_ns),
	    TP_STRUCT__entry(__string(heap, heap)
			     __field(unsigned long, len)
			     __field(long, ret)
			     __field(u64, duration_ns)),
	    TP_fast_assign(heaplab_assign_str(heap, heap);
			   __entry->len = len;
			   __entry->ret = ret;
			   __entry->duration_ns = duration_ns;),
	    TP_printk("heap=%s len=%lu ret=%ld duration_ns=%llu",
		      __get_str(heap), __entry->len, __entry->ret,
		      __entry->duration_ns)
);

TRACE_EVENT(heaplab_zero,
	    TP_PROTO(const char *heap, unsigned long pages, u64 duration_ns),
	    TP_ARGS(heap, pages, duration_ns),
	    TP_STRUCT__entry(__string(heap, heap)
			     __field(unsigned long, pages)
			     __field(u64, duration_ns)),
	    TP_fast_assign(heaplab_assign_str(heap, heap);
			   __entry->pages = pages;
			   __entry->duration_ns = duration_ns;),
	    TP_printk("heap=%s pages=%lu duration_ns=%llu", __get_str(heap),
		      __entry->pages, __entry->duration_ns)
);

DEFINE_EVENT(heaplab_buffer_class, heaplab_buffer_release,
	     TP_PROTO(const char *heap, unsigned long len),
	     TP_ARGS(heap, len)
);

DEFINE_EVENT(heaplab_buffer_class, heaplab_mmap,
	     TP_PROTO(const char *heap, unsigned long len),
	     TP_ARGS(heap, len)
);

TRACE_EVENT(heaplab_fault,
	    TP_PROTO(const char *heap, unsigned long pgoff, int ret),
	    TP_ARGS(heap, pgoff, ret),
	    TP_STRUCT__entry(__string(heap, heap)
			     __field(unsigned long, pgoff)
			     __field(int, ret)),
	    TP_fast_assign(heaplab_assign_str(heap, heap);
			   __entry->pgoff = pgoff;
			   __entry->ret = ret;),
	    TP_printk("heap=%s pgoff=%lu ret=%d", __get_str(heap),
		      __entry->pgoff, __entry->ret)
);

DECLARE_EVENT_CLASS(heaplab_cpu_access_class,
		    TP_PROTO(const char *heap, unsigned long len, int dir),
		    TP_ARGS(heap, len, dir),
		    TP_STRUCT__entry(__string(heap, heap)
				     __field(unsigned long, len)
				     __field(int, dir)),
		    TP_fast_assign(heaplab_assign_str(heap, heap);
				   __entry->len = len;
				   __entry->dir = dir;),
		    TP_printk("heap=%s len=%lu dir=%d", __get_str(heap),
			      __entry->len, __entry->dir)
);

DEFINE_EVENT(heaplab_cpu_access_class, heaplab_begin_cpu_access,
	     TP_PROTO(const char *heap, unsigned long len, int dir),
	     TP_ARGS(heap, len, dir)
);

DEFINE_EVENT(heaplab_cpu_access_class, heaplab_end_cpu_access,
	     TP_PROTO(const char *heap, unsigned long len, int dir),
	     TP_ARGS(heap, len, dir)
);

/*
 * Page pools: @what is hit, miss (an allocation), refill, recycle (the
 * worker), release (a freed chunk not kept), shrink, drain (pool=0) or
 * unload; @pool_pages the pool's level after it.
 */
TRACE_EVENT(heaplab_pool,
	    TP_PROTO(const char *heap, const char *what, unsigned int order,
		     long pool_pages),
	    TP_ARGS(heap, what, order, pool_pages),
	    TP_STRUCT__entry(__string(heap, heap)
			     __string(what, what)
			     __field(unsigned int, order)
			     __field(long, pool_pages)),
	    TP_fast_assign(heaplab_assign_str(heap, heap);
			   heaplab_assign_str(what, what);
			   __entry->order = order;
			   __entry->pool_pages = pool_pages;),
	    TP_printk("heap=%s what=%s order=%u pool_pages=%ld",
		      __get_str(heap), __get_str(what), __entry->order,
		      __entry->pool_pages)
);

#endif /* _HEAPLAB_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE heaplab_trace
#include <trace/define_trace.h>
