// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab system heap: buffers from the page allocator.
 *
 * As upstream 6.1, it takes the largest chunks it can get without effort
 * (orders 8 and 4, no reclaim, no retry, no warning) and falls back to single
 * pages. Each chunk is one sg_table entry and is freed whole. High-order
 * chunks are compound pages, so that each of their pages can be mapped
 * into userspace as a struct page with a reference on its chunk (see the
 * helpers' fault handler), and get_user_pages() works on the mapping. Every
 * page is cleared before the buffer is handed out, unless the kernel did.
 *
 * Unlike upstream, chunks come first from a pool of pre-cleared chunks per
 * order (page-pool.c), and freed chunks go back through it: the pool's
 * worker clears them at low priority. This heap is the pool's one owner:
 * it counts the pool's chunks that are in buffers in pages_held (the pool
 * counts the rest in pool_pages), shows the pool's lines in the heap's
 * stats (the stats_show op) and destroys it before the heap. A chunk taken from the page
 * allocator (pool empty, or pool=0) is cleared here, whole chunks at a
 * time, large buffers on idle CPUs too (clear.c).
 *
 * The heap is only ever reached through the heap pointer the framework
 * passes in (or the buffer's): its device node exists before
 * heaplab_heap_add() returns, so an allocation can arrive before this
 * module knows its own heap.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmstat.h>

#include <heaplab/dma-heap.h>
#include "../heaplab_test_hooks.h"
#include "clear.h"
#include "heap-helpers.h"
#include "page-pool.h"

#define HIGH_ORDER_GFP	(((GFP_HIGHUSER | __GFP_NOWARN | __GFP_NORETRY | \
			   __GFP_COMP) & ~__GFP_RECLAIM))
/* Order 0 may reclaim, but must fail rather than call the OOM killer. */
#define LOW_ORDER_GFP	(GFP_HIGHUSER | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

static const unsigned int orders[] = { 8, 4, 0 };
static const gfp_t order_gfp[] = { HIGH_ORDER_GFP, HIGH_ORDER_GFP, LOW_ORDER_GFP };

static struct heaplab_heap *sys_heap;
/*
 * NULL until the pool exists: allocations may come before (see above).
 * Set and cleared under sys_pool_lock, which the stats file's reader takes.
 */
static struct heaplab_pool *sys_pool;
static DEFINE_MUTEX(sys_pool_lock);

/*
 * Every chunk given back goes through here, so pages_held stays exact. A
 * chunk still referenced by get_user_pages() (an O_DIRECT read in flight)
 * is only freed when its last user lets go, and never pooled.
 */
static void sys_put_chunk(struct heaplab_heap *heap, struct page *page,
			  unsigned int order)
{
	struct heaplab_pool *pool = READ_ONCE(sys_pool);

	heaplab_heap_account_pages(heap, -(1L << order));
	if (pool)
		heaplab_pool_give(pool, page, order);
	else
		__free_pages(page, order);
}

/* One sg entry per chunk: free each as the chunk it was. */
static void sys_free_chunks(struct heaplab_heap *heap, struct sg_table *sgt,
			    bool leak_first)
{
	struct scatterlist *sg;
	int i;

	for_each_sgtable_sg(sgt, sg, i) {
		/* Test builds only: keep the first chunk, as a buggy free would. */
		if (!i && leak_first)
			continue;
		sys_put_chunk(heap, sg_page(sg), get_order(sg->length));
	}
	sg_free_table(sgt);
}

static void sys_heap_free(struct heaplab_buffer *buffer)
{
	sys_free_chunks(buffer->heap, &buffer->sg_table,
			heaplab_test_leak_page());
	heaplab_buffer_destroy(buffer);
}

/*
 * The largest chunk that fits in @left pages and is not above @max_order:
 * a cleared one from the pool if it has one of that order, else one from
 * the page allocator, to be cleared.
 */
static bool sys_alloc_chunk(struct heaplab_heap *heap, unsigned long left,
			    unsigned int max_order, struct heaplab_chunk *c)
{
	struct heaplab_pool *pool = READ_ONCE(sys_pool);
	struct page *page;
	int i;

	for (i = 0; i < ARRAY_SIZE(orders); i++) {
		if (left < (1UL << orders[i]) || orders[i] > max_order)
			continue;
		page = pool ? heaplab_pool_take(pool, i) : NULL;
		c->clean = !!page;
		if (!page)
			page = alloc_pages(order_gfp[i], orders[i]);
		if (page) {
			heaplab_heap_account_pages(heap, 1L << orders[i]);
			c->page = page;
			c->order = orders[i];
			return true;
		}
	}
	return false;
}

/*
 * Admission: the buffer must fit in what the kernel could free without
 * swapping, less the free CMA pages (MemAvailable counts them, but our
 * unmovable pages cannot come from there) and a reserve of RAM/64.
 * Without it, filling memory left the kernel's own GFP_KERNEL allocations
 * nothing but CMA, and the OOM killer took a bystander (seen with
 * heaplab-stress oom). Signed: when unmovable memory is short, MemAvailable
 * falls below the free CMA pages, and that state must refuse, not admit.
 */
static bool sys_heap_admit(unsigned long len)
{
	long avail = si_mem_available() -
		     (long)global_zone_page_state(NR_FREE_CMA_PAGES);
	long want = (long)(len >> PAGE_SHIFT) + (long)(totalram_pages() / 64);

	return avail > 0 && want <= avail;
}

static void sys_chunk_pages(struct page **pages, struct page *page,
			    unsigned int order)
{
	unsigned long j;

	for (j = 0; j < (1UL << order); j++)
		pages[j] = nth_page(page, j);
}

static struct dma_buf *sys_heap_allocate(struct heaplab_heap *heap,
					 unsigned long len, u32 fd_flags,
					 u64 heap_flags)
{
	struct heaplab_buffer *buffer;
	struct scatterlist *sg;
	struct heaplab_chunk small[16], *chunks;
	unsigned int max_order = orders[0], order;
	unsigned long nchunks = 0, c;
	pgoff_t filled = 0;
	struct dma_buf *dmabuf;
	int ret;

	if (!sys_heap_admit(len))
		return ERR_PTR(-ENOMEM);

	buffer = heaplab_buffer_alloc(heap, len, sys_heap_free);
	if (IS_ERR(buffer))
		return ERR_CAST(buffer);
	/*
	 * At most one chunk per page: simplest bound for the chunk list. A
	 * small buffer's list is on the stack (no allocation per 4 KiB).
	 */
	chunks = small;
	if (buffer->pagecount > ARRAY_SIZE(small))
		chunks = kvmalloc_array(buffer->pagecount, sizeof(*chunks),
					GFP_KERNEL | __GFP_NOWARN);
	if (!chunks) {
		ret = -ENOMEM;
		goto err_init;
	}

	while (filled < buffer->pagecount) {
		struct heaplab_chunk *ch = &chunks[nchunks];

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_pages;
		}
		if (!sys_alloc_chunk(heap, buffer->pagecount - filled,
				     max_order, ch)) {
			ret = -ENOMEM;
			goto err_pages;
		}
		order = ch->order;
		/*
		 * Once an order failed, do not retry it for this buffer. A
		 * pool miss is no failure: the page allocator gave one.
		 */
		max_order = order;
		sys_chunk_pages(buffer->pages + filled, ch->page, order);
		nchunks++;
		filled += 1UL << order;
	}

	/* Only the chunks that did not come cleared from the pool. */
	ret = heaplab_clear_chunks(heap, chunks, nchunks);
	if (ret)
		goto err_pages;
	ret = sg_alloc_table(&buffer->sg_table, nchunks, GFP_KERNEL);
	if (ret)
		goto err_pages;
	sg = buffer->sg_table.sgl;
	for (c = 0; c < nchunks; c++) {
		sg_set_page(sg, chunks[c].page, PAGE_SIZE << chunks[c].order, 0);
		sg = sg_next(sg);
	}
	if (chunks != small)
		kvfree(chunks);
	chunks = NULL;

	dmabuf = heaplab_buffer_export(buffer, fd_flags);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_sgt;
	}
	return dmabuf;

err_sgt:
	sys_free_chunks(heap, &buffer->sg_table, false);
	goto err_init;
err_pages:
	for (c = 0; c < nchunks; c++)
		sys_put_chunk(heap, chunks[c].page, chunks[c].order);
	if (chunks != small)
		kvfree(chunks);
err_init:
	heaplab_buffer_destroy(buffer);
	return ERR_PTR(ret);
}

/* The pool's lines of debugfs heaplab/system/stats. */
static void sys_heap_stats_show(struct seq_file *s, struct heaplab_heap *heap)
{
	mutex_lock(&sys_pool_lock);
	if (sys_pool)
		heaplab_pool_stats_show(s, sys_pool);
	mutex_unlock(&sys_pool_lock);
}

static const struct heaplab_heap_ops sys_heap_ops = {
	.allocate = sys_heap_allocate,
	.stats_show = sys_heap_stats_show,
};

/* The pool worker's clearing counts in the heap's pages_cleared. */
static void sys_pool_cleared(unsigned long pages)
{
	heaplab_heap_account_cleared(sys_heap, pages);
}

static int __init sys_heap_init(void)
{
	struct heaplab_heap_export_info info = {
		.name = "system",
		.ops = &sys_heap_ops,
		.owner = THIS_MODULE,
	};
	struct heaplab_pool *pool;

	sys_heap = heaplab_heap_add(&info);
	if (IS_ERR(sys_heap))
		return PTR_ERR(sys_heap);
	/*
	 * The node exists, so an allocation may be under way: a pool that
	 * cannot be made is no reason to pull the heap from under it.
	 */
	pool = heaplab_pool_create(info.name, orders, order_gfp,
				   ARRAY_SIZE(orders), sys_pool_cleared);
	if (IS_ERR(pool)) {
		pr_warn("no page pool (%ld): pages are cleared on the allocating thread\n",
			PTR_ERR(pool));
		return 0;
	}
	mutex_lock(&sys_pool_lock);
	WRITE_ONCE(sys_pool, pool);
	mutex_unlock(&sys_pool_lock);
	return 0;
}

/*
 * Buffers pin this module: none is alive, and none can be allocated. The
 * pool goes first, while the heap its worker counts into still exists;
 * a stats read under way finishes before it is unhooked, and later ones
 * see no pool.
 */
static void __exit sys_heap_exit(void)
{
	struct heaplab_pool *pool;

	mutex_lock(&sys_pool_lock);
	pool = sys_pool;
	WRITE_ONCE(sys_pool, NULL);
	mutex_unlock(&sys_pool_lock);
	heaplab_pool_destroy(pool);
	heaplab_heap_remove(sys_heap);
}

module_init(sys_heap_init);
module_exit(sys_heap_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("heaplab developers");
MODULE_DESCRIPTION("heaplab system heap");
