// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab CMA heap: physically contiguous buffers from the default CMA area,
 * named after that area, as upstream.
 *
 * Needs cma_alloc(), cma_release(), cma_get_name(), cma_get_size() and
 * dma_contiguous_default_area exported, which no mainline kernel does
 * (heaplab's test kernel does, see vm/kernel/patches/). Without them, or
 * without a default area (boot with cma=SIZE), the module says why and
 * adds no heap.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <heaplab/dma-heap.h>
#include "../heaplab_test_hooks.h"
#include "clear.h"
#include "heap-helpers.h"

#ifdef HAVE_CMA_EXPORTS
#include <linux/cma.h>
#include <linux/dma-map-ops.h>

static struct heaplab_heap *cma_heap;

static void cma_heap_free(struct heaplab_buffer *buffer)
{
	struct cma *cma = heaplab_heap_get_drvdata(buffer->heap);
	unsigned long count = buffer->pagecount;

	/* Test builds: keep the last page out, as a short release would. */
	if (heaplab_test_leak_page())
		count--;
	sg_free_table(&buffer->sg_table);
	/* A page that is not the area's would be a bug of ours. */
	WARN_ON(!cma_release(cma, buffer->pages[0], count));
	heaplab_heap_account_pages(buffer->heap, -(long)count);
	heaplab_buffer_destroy(buffer);
}

/*
 * The buffer is one contiguous range, but an sg entry's length is an
 * unsigned int: a buffer of 4 GiB or more takes several entries, each the
 * largest page multiple that fits.
 */
#define CMA_HEAP_MAX_ENTRY	round_down(UINT_MAX, PAGE_SIZE)

static int cma_heap_fill_sgt(struct sg_table *sgt, struct page *page,
			     unsigned long len)
{
	unsigned int nents = DIV_ROUND_UP(len, CMA_HEAP_MAX_ENTRY);
	unsigned long off, n;
	struct scatterlist *sg;
	int ret;

	ret = sg_alloc_table(sgt, nents, GFP_KERNEL);
	if (ret)
		return ret;
	sg = sgt->sgl;
	for (off = 0; off < len; off += n) {
		n = min_t(unsigned long, CMA_HEAP_MAX_ENTRY, len - off);
		sg_set_page(sg, nth_page(page, off >> PAGE_SHIFT), n, 0);
		sg = sg_next(sg);
	}
	return 0;
}

/*
 * Not named cma_heap_allocate: the upstream CMA heap has a function of that
 * name, and a kprobe by name must find exactly one (bpf/heaptrace).
 */
static struct dma_buf *heaplab_cma_allocate(struct heaplab_heap *heap,
					    unsigned long len, u32 fd_flags,
					    u64 heap_flags)
{
	struct cma *cma = heaplab_heap_get_drvdata(heap);
	struct heaplab_buffer *buffer;
	unsigned int align;
	struct page *page;
	struct dma_buf *dmabuf;
	pgoff_t i;
	int ret;

	/*
	 * A request the whole area cannot hold fails before anything is
	 * allocated (the page array of a huge request is itself large).
	 */
	if (len > cma_get_size(cma))
		return ERR_PTR(-ENOMEM);
	buffer = heaplab_buffer_alloc(heap, len, cma_heap_free);
	if (IS_ERR(buffer))
		return ERR_CAST(buffer);

	/* As upstream: naturally aligned, capped at CONFIG_CMA_ALIGNMENT. */
	align = min_t(unsigned int, get_order(len), CONFIG_CMA_ALIGNMENT);
	page = cma_alloc(cma, buffer->pagecount, align, true);
	if (!page) {
		ret = -ENOMEM;
		goto err_init;
	}
	heaplab_heap_account_pages(heap, buffer->pagecount);
	for (i = 0; i < buffer->pagecount; i++)
		buffer->pages[i] = page + i;

	ret = heaplab_buffer_zero(buffer);
	if (ret)
		goto err_cma;

	ret = cma_heap_fill_sgt(&buffer->sg_table, page, len);
	if (ret)
		goto err_cma;

	dmabuf = heaplab_buffer_export(buffer, fd_flags);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_sgt;
	}
	return dmabuf;

err_sgt:
	sg_free_table(&buffer->sg_table);
err_cma:
	cma_release(cma, page, buffer->pagecount);
	heaplab_heap_account_pages(heap, -(long)buffer->pagecount);
err_init:
	heaplab_buffer_destroy(buffer);
	return ERR_PTR(ret);
}

static const struct heaplab_heap_ops cma_heap_ops = {
	.allocate = heaplab_cma_allocate,
};

static int __init cma_heap_init(void)
{
	struct cma *cma = dma_contiguous_default_area;
	struct heaplab_heap_export_info info = {
		.ops = &cma_heap_ops,
		.owner = THIS_MODULE,
	};

	if (!cma) {
		pr_info("no default CMA area (boot with cma=SIZE): no CMA heap\n");
		return -ENODEV;
	}
	info.name = cma_get_name(cma);
	info.priv = cma;
	cma_heap = heaplab_heap_add(&info);
	return PTR_ERR_OR_ZERO(cma_heap);
}

static void __exit cma_heap_exit(void)
{
	heaplab_heap_remove(cma_heap);
}

#else /* !HAVE_CMA_EXPORTS */

static int __init cma_heap_init(void)
{
	pr_info("this kernel does not export cma_alloc/cma_release/dma_contiguous_default_area: no CMA heap\n");
	return -ENODEV;
}

static void __exit cma_heap_exit(void)
{
}

#endif /* HAVE_CMA_EXPORTS */

module_init(cma_heap_init);
module_exit(cma_heap_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("heaplab developers");
MODULE_DESCRIPTION("heaplab CMA heap");
