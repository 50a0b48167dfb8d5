// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab page clearing: every page a heap hands out is cleared here, by
 * the allocating thread (heaplab_clear_chunks(), heaplab_buffer_zero())
 * or ahead of time by the page pool's worker (heaplab_clear_chunk()),
 * unless the kernel already did (heaplab_kernel_clears_pages()). Pages
 * cleared on the allocation path count in the heap's pages_cleared.
 *
 * The mechanism has two choices, each a runtime parameter so that make bench can
 * measure both in one boot:
 *  - clear_chunks: clear a contiguous chunk with one memset() of its
 *    linear mapping instead of one clear_page() per 4 KiB page;
 *  - parallel_clear_mb: a buffer at least this large is cleared by the
 *    allocating thread and, at the same time, by workers on CPUs that are
 *    idle right now (at most 3 more). The workers' time is CPU time the
 *    bench counts (all CPUs, /proc/stat), not time saved.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tick.h>
#include <linux/workqueue.h>

#include <heaplab/dma-heap.h>
#include "../dma-heap-internal.h"
#include "../heaplab_test_hooks.h"
#include "../heaplab_trace.h"
#include "clear.h"
#include "heap-helpers.h"

static bool clear_chunks = true;
module_param(clear_chunks, bool, 0644);
MODULE_PARM_DESC(clear_chunks,
		 "clear a contiguous chunk with one memset() rather than page by page (default Y)");

static unsigned int parallel_clear_mb = 16;
module_param(parallel_clear_mb, uint, 0644);
MODULE_PARM_DESC(parallel_clear_mb,
		 "clear buffers of at least this many MiB on idle CPUs too, 0 never (default 16)");

/* A memset() step: short enough to reschedule and check for a kill. */
#define CLEAR_STEP_PAGES	256
#define CLEAR_MAX_PARTS		4

/* Clear @npages pages from @page on (contiguous: one chunk or part of it). */
static void heaplab_clear_range(struct page *page, unsigned long npages)
{
	unsigned long i;

	if (READ_ONCE(clear_chunks) && !PageHighMem(page)) {
		memset(page_address(page), 0, npages << PAGE_SHIFT);
		return;
	}
	for (i = 0; i < npages; i++)
		clear_highpage(nth_page(page, i));
}

/*
 * Clear pages [@from, @to) of the extents taken end to end. Only the
 * allocating thread (@check_kill) stops for a fatal signal.
 */
static int heaplab_clear_part(const struct heaplab_extent *ext, unsigned long n,
			      unsigned long from, unsigned long to, bool check_kill)
{
	unsigned long base = 0, i;

	for (i = 0; i < n && base < to; base += ext[i].npages, i++) {
		unsigned long lo = max(from, base), hi = min(to, base + ext[i].npages);

		while (lo < hi) {
			unsigned long step = min_t(unsigned long, CLEAR_STEP_PAGES, hi - lo);

			if (check_kill && fatal_signal_pending(current))
				return -EINTR;
			heaplab_clear_range(nth_page(ext[i].page, lo - base), step);
			lo += step;
			cond_resched();
		}
	}
	return 0;
}

/*
 * Clear one whole chunk off the allocation path (the pool worker's unit),
 * rescheduling between steps. False if it was not cleared: test builds
 * inject the missed-clear bug here too.
 */
bool heaplab_clear_chunk(struct page *page, unsigned int order)
{
	const struct heaplab_extent ext = { .page = page, .npages = 1UL << order };

	if (heaplab_test_skip_zero())
		return false;
	heaplab_clear_part(&ext, 1, 0, ext.npages, false);
	return true;
}

struct heaplab_clear_work {
	struct work_struct work;
	const struct heaplab_extent *ext;
	unsigned long n, from, to;
	struct completion done;
};

static void heaplab_clear_work_fn(struct work_struct *work)
{
	struct heaplab_clear_work *w = container_of(work, struct heaplab_clear_work, work);

	heaplab_clear_part(w->ext, w->n, w->from, w->to, false);
	complete(&w->done);
}

/*
 * Online CPUs other than ours that are idle now, at most @max of them.
 * idle_cpu() is not exported; a CPU's idle time (NO_HZ's count, which
 * includes the idle period under way) advances only while it is idle, so
 * read it twice a few microseconds apart. Without NO_HZ it reads -1 and
 * no CPU is taken for idle.
 */
static int heaplab_idle_cpus(int *cpus, int max)
{
	u64 before[CLEAR_MAX_PARTS - 1], t;
	int cpu, self = raw_smp_processor_id(), n = 0, idle = 0, i;

	for_each_online_cpu(cpu) {
		if (n == max)
			break;
		if (cpu == self)
			continue;
		t = get_cpu_idle_time_us(cpu, NULL);
		if (t == (u64)-1)
			return 0;
		cpus[n] = cpu;
		before[n++] = t;
	}
	if (!n)
		return 0;
	udelay(5);
	for (i = 0; i < n; i++)
		if (get_cpu_idle_time_us(cpus[i], NULL) > before[i])
			cpus[idle++] = cpus[i];
	return idle;
}

/*
 * Clear @total pages held in @n extents. Large buffers are split in equal
 * parts between this thread and idle CPUs; the others' parts always run
 * to the end (their work is on our stack), a kill only stops ours.
 */
static int heaplab_clear_extents(const struct heaplab_extent *ext, unsigned long n,
				 unsigned long total)
{
	struct heaplab_clear_work w[CLEAR_MAX_PARTS - 1];
	unsigned long min_pages = (unsigned long)READ_ONCE(parallel_clear_mb) <<
				  (20 - PAGE_SHIFT);
	int cpus[CLEAR_MAX_PARTS - 1], helpers = 0, i, ret;
	unsigned long part;

	if (min_pages && total >= min_pages)
		helpers = heaplab_idle_cpus(cpus, CLEAR_MAX_PARTS - 1);
	part = total / (helpers + 1);
	for (i = 0; i < helpers; i++) {
		INIT_WORK_ONSTACK(&w[i].work, heaplab_clear_work_fn);
		init_completion(&w[i].done);
		w[i].ext = ext;
		w[i].n = n;
		w[i].from = part * (i + 1);
		w[i].to = i == helpers - 1 ? total : part * (i + 2);
		queue_work_on(cpus[i], system_highpri_wq, &w[i].work);
	}
	ret = heaplab_clear_part(ext, n, 0, part, true);
	for (i = 0; i < helpers; i++) {
		wait_for_completion(&w[i].done);
		destroy_work_on_stack(&w[i].work);
	}
	return ret;
}

/* Policy: which pages are cleared, by whom, and how they are counted. */

/*
 * True when the page allocator already cleared the pages it handed us, or
 * handed out pages that were cleared when freed: init_on_alloc=1 (which
 * covers CMA too, alloc_contig_range() runs the same post-allocation hook)
 * or init_on_free=1. Clearing them again would only double the cost.
 * Pages recycled by a pool never went back to the page allocator: the
 * pool worker clears those whatever this says.
 */
bool heaplab_kernel_clears_pages(void)
{
	return want_init_on_free() || want_init_on_alloc(GFP_HIGHUSER);
}

/*
 * Clear fresh pages on the allocating thread, whole chunks at a time and,
 * for a large buffer, on idle CPUs too (clear.c). Timed on its own
 * (tracepoint heaplab_zero) so the cost of zeroing can be told apart from
 * the rest of an allocation.
 */
static int heaplab_zero_extents(struct heaplab_heap *heap,
				const struct heaplab_extent *ext,
				unsigned long n, unsigned long total)
{
	ktime_t start = ktime_get();
	int ret;

	if (!total || heaplab_test_skip_zero() || heaplab_kernel_clears_pages())
		return 0;
	ret = heaplab_clear_extents(ext, n, total);
	if (ret)
		return ret;
	heaplab_heap_account_cleared(heap, total);
	trace_heaplab_zero(heaplab_heap_get_name(heap), total,
			   ktime_to_ns(ktime_sub(ktime_get(), start)));
	return 0;
}

/*
 * Clear every page of a buffer, from its page array (a heap may clear
 * before it builds its table): runs of physically contiguous pages are
 * cleared as one.
 */
int heaplab_buffer_zero(struct heaplab_buffer *buffer)
{
	struct heaplab_extent *ext;
	unsigned long n = 1;
	pgoff_t i;
	int ret;

	for (i = 1; i < buffer->pagecount; i++)
		n += buffer->pages[i] != nth_page(buffer->pages[i - 1], 1);
	ext = kvmalloc_array(n, sizeof(*ext), GFP_KERNEL);
	if (!ext)
		return -ENOMEM;
	n = 0;
	for (i = 0; i < buffer->pagecount; i++) {
		struct page *page = buffer->pages[i];

		if (n && page == nth_page(ext[n - 1].page, ext[n - 1].npages)) {
			ext[n - 1].npages++;
			continue;
		}
		ext[n].page = page;
		ext[n++].npages = 1;
	}
	ret = heaplab_zero_extents(buffer->heap, ext, n, buffer->pagecount);
	kvfree(ext);
	return ret;
}
EXPORT_SYMBOL_GPL(heaplab_buffer_zero);

/*
 * Clear the chunks that did not come cleared from a pool. A small buffer's
 * extents fit on the stack: no allocation for the common case.
 */
int heaplab_clear_chunks(struct heaplab_heap *heap,
			 const struct heaplab_chunk *chunks, unsigned long n)
{
	struct heaplab_extent small[8], *ext = small;
	unsigned long i, m = 0, total = 0;
	int ret;

	for (i = 0; i < n; i++)
		m += !chunks[i].clean;
	if (!m)
		return 0;
	if (m > ARRAY_SIZE(small)) {
		ext = kvmalloc_array(m, sizeof(*ext), GFP_KERNEL);
		if (!ext)
			return -ENOMEM;
	}
	m = 0;
	for (i = 0; i < n; i++) {
		if (chunks[i].clean)
			continue;
		ext[m].page = chunks[i].page;
		ext[m++].npages = 1UL << chunks[i].order;
		total += 1UL << chunks[i].order;
	}
	ret = heaplab_zero_extents(heap, ext, m, total);
	if (ext != small)
		kvfree(ext);
	return ret;
}
EXPORT_SYMBOL_GPL(heaplab_clear_chunks);
