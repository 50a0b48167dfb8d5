// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab system heap: buffers from the page allocator.
 *
 * As upstream 6.1, it takes the largest chunks it can get without effort
 * (orders 8 and 4, no reclaim, no retry, no warning) and falls back to single
 * pages. Each chunk is one sg_table entry and is freed whole; userspace maps
 * the memory by pfn (see the helpers), so chunks need not be split. Every
 * page is cleared before the buffer is handed out.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/vmstat.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <heaplab/dma-heap.h>
#include "../heaplab_test_hooks.h"
#include "heap-helpers.h"

#define HIGH_ORDER_GFP	(((GFP_HIGHUSER | __GFP_NOWARN | __GFP_NORETRY) & \
			  ~__GFP_RECLAIM))
/* Order 0 may reclaim, but must fail rather than call the OOM killer. */
#define LOW_ORDER_GFP	(GFP_HIGHUSER | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

static const unsigned int orders[] = { 8, 4, 0 };
static const gfp_t order_gfp[] = { HIGH_ORDER_GFP, HIGH_ORDER_GFP, LOW_ORDER_GFP };

static struct heaplab_heap *sys_heap;

struct sys_chunk {
	struct page *page;
	unsigned int order;
};

/* Every page given back goes through here, so pages_held stays exact. */
static void sys_put_pages(struct page *page, unsigned int order)
{
	__free_pages(page, order);
	heaplab_heap_account_pages(sys_heap, -(1L << order));
}

/* One sg entry per chunk: free each as the high-order page it was. */
static void sys_free_chunks(struct sg_table *sgt)
{
	struct scatterlist *sg;
	int i;

	for_each_sgtable_sg(sgt, sg, i)
		if (sg->length)	/* emptied by sys_test_leak_page() */
			sys_put_pages(sg_page(sg), get_order(sg->length));
	sg_free_table(sgt);
}

/*
 * Test builds only: keep the first page of the first chunk, as a buggy
 * free path would. The chunk is split so that its other pages still go.
 */
static void sys_test_leak_page(struct sg_table *sgt)
{
	struct scatterlist *sg = sgt->sgl;
	unsigned int order = get_order(sg->length);
	unsigned long i;

	split_page(sg_page(sg), order);
	for (i = 1; i < (1UL << order); i++)
		sys_put_pages(nth_page(sg_page(sg), i), 0);
	sg_assign_page(sg, NULL);
	sg->length = 0;
}

static void sys_heap_free(struct heaplab_buffer *buffer)
{
	if (heaplab_test_leak_page())
		sys_test_leak_page(&buffer->sg_table);
	sys_free_chunks(&buffer->sg_table);
	heaplab_buffer_destroy(buffer);
}

/* The largest chunk that fits in @left pages and is not above @max_order. */
static struct page *sys_alloc_chunk(unsigned long left, unsigned int max_order,
				    unsigned int *order)
{
	struct page *page;
	int i;

	for (i = 0; i < ARRAY_SIZE(orders); i++) {
		if (left < (1UL << orders[i]) || orders[i] > max_order)
			continue;
		page = alloc_pages(order_gfp[i], orders[i]);
		if (page) {
			heaplab_heap_account_pages(sys_heap, 1L << orders[i]);
			*order = orders[i];
			return page;
		}
	}
	return NULL;
}

static struct dma_buf *sys_heap_allocate(struct heaplab_heap *heap,
					 unsigned long len, u32 fd_flags,
					 u64 heap_flags)
{
	struct heaplab_buffer *buffer;
	struct scatterlist *sg;
	struct sys_chunk *chunks;
	unsigned int max_order = orders[0], order;
	unsigned long nchunks = 0, c;
	pgoff_t filled = 0, j;
	struct dma_buf *dmabuf;
	int ret;

	/*
	 * Admission: the buffer must fit in what the kernel could free without
	 * swapping, less the free CMA pages (MemAvailable counts them, but our
	 * unmovable pages cannot come from there) and a reserve of RAM/64.
	 * Without it, filling memory left the kernel's own GFP_KERNEL
	 * allocations nothing but CMA, and the OOM killer took a bystander
	 * (seen with heaplab-stress oom).
	 */
	if ((len >> PAGE_SHIFT) + totalram_pages() / 64 >
	    si_mem_available() - (long)global_zone_page_state(NR_FREE_CMA_PAGES))
		return ERR_PTR(-ENOMEM);

	buffer = heaplab_buffer_alloc(heap, len, sys_heap_free);
	if (IS_ERR(buffer))
		return ERR_CAST(buffer);
	/* At most one chunk per page: simplest bound for the chunk list. */
	chunks = kvmalloc_array(buffer->pagecount, sizeof(*chunks),
				GFP_KERNEL | __GFP_NOWARN);
	if (!chunks) {
		ret = -ENOMEM;
		goto err_init;
	}

	while (filled < buffer->pagecount) {
		struct page *page;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_pages;
		}
		page = sys_alloc_chunk(buffer->pagecount - filled, max_order,
				       &order);
		if (!page) {
			ret = -ENOMEM;
			goto err_pages;
		}
		/* Once an order failed, do not retry it for this buffer. */
		max_order = order;
		for (j = 0; j < (1UL << order); j++)
			buffer->pages[filled + j] = page + j;
		chunks[nchunks].page = page;
		chunks[nchunks].order = order;
		nchunks++;
		filled += 1UL << order;
	}

	ret = sg_alloc_table(&buffer->sg_table, nchunks, GFP_KERNEL);
	if (ret)
		goto err_pages;
	sg = buffer->sg_table.sgl;
	for (c = 0; c < nchunks; c++) {
		sg_set_page(sg, chunks[c].page, PAGE_SIZE << chunks[c].order, 0);
		sg = sg_next(sg);
	}
	kvfree(chunks);
	chunks = NULL;

	ret = heaplab_buffer_zero(buffer);
	if (ret)
		goto err_sgt;

	dmabuf = heaplab_buffer_export(buffer, fd_flags);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_sgt;
	}
	return dmabuf;

err_sgt:
	sys_free_chunks(&buffer->sg_table);
	goto err_init;
err_pages:
	for (c = 0; c < nchunks; c++)
		sys_put_pages(chunks[c].page, chunks[c].order);
	kvfree(chunks);
err_init:
	heaplab_buffer_destroy(buffer);
	return ERR_PTR(ret);
}

static const struct heaplab_heap_ops sys_heap_ops = {
	.allocate = sys_heap_allocate,
};

static int __init sys_heap_init(void)
{
	struct heaplab_heap_export_info info = {
		.name = "system",
		.ops = &sys_heap_ops,
		.owner = THIS_MODULE,
	};

	sys_heap = heaplab_heap_add(&info);
	return PTR_ERR_OR_ZERO(sys_heap);
}

static void __exit sys_heap_exit(void)
{
	heaplab_heap_remove(sys_heap);
}

module_init(sys_heap_init);
module_exit(sys_heap_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("heaplab developers");
MODULE_DESCRIPTION("heaplab system heap");
