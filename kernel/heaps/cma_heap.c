// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab CMA heap: physically contiguous buffers from the default CMA area.
 *
 * Its names: before Linux 6.17 the upstream heap took the area's name
 * ("reserved", "linux,cma", ...), which much userspace hard-codes; 6.17
 * names it "default_cma_region" and keeps the old name only with
 * CONFIG_DMABUF_HEAPS_CMA_LEGACY. legacy_name (default Y) and
 * mainline_name (default N) pick which of the two this heap gets; with
 * both, two nodes serve the same area.
 *
 * Needs cma_alloc(), cma_release(), cma_get_name(), cma_get_size() and
 * dma_contiguous_default_area exported, which no mainline kernel does
 * (heaplab's test kernel does, see vm/kernel/patches/). Without them,
 * without CMA in the kernel, or without a default area (boot with
 * cma=SIZE), the module says why and fails to load with ENODEV.
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

/*
 * The default is the name heaplab always used, so that nothing written for
 * it (the test suite among them) sees a heap appear or go.
 */
static bool legacy_name = true;
module_param(legacy_name, bool, 0444);
MODULE_PARM_DESC(legacy_name,
		 "add the heap under the CMA area's name, as before Linux 6.17 (default Y)");

static bool mainline_name;
module_param(mainline_name, bool, 0444);
MODULE_PARM_DESC(mainline_name,
		 "also add the heap as default_cma_region, its name from Linux 6.17 (default N)");

#define CMA_HEAP_MAINLINE_NAME	"default_cma_region"

#ifdef HAVE_CMA_EXPORTS
#include <linux/cma.h>
#include <linux/dma-map-ops.h>

/*
 * One heap per name, all over the one area. Each buffer is accounted on
 * the heap it came from and freed back through it (buffer->heap), so the
 * stats of each node are its own and add up to what the area gave out;
 * the size check and the area's own limits are the area's, shared.
 */
static struct heaplab_heap *cma_heaps[2];

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

static void cma_heap_remove_all(void)
{
	int i;

	/* Newest first; an unused slot is NULL, which remove ignores. */
	for (i = ARRAY_SIZE(cma_heaps) - 1; i >= 0; i--) {
		heaplab_heap_remove(cma_heaps[i]);
		cma_heaps[i] = NULL;
	}
}

static int __init cma_heap_init(void)
{
	struct cma *cma = dma_contiguous_default_area;
	struct heaplab_heap_export_info info = {
		.ops = &cma_heap_ops,
		.owner = THIS_MODULE,
	};
	const char *names[2];
	int i, n = 0;

	if (!legacy_name && !mainline_name) {
		pr_err("legacy_name=0 and mainline_name=0 leave the heap no name: set one of them\n");
		return -EINVAL;
	}
	if (!cma) {
		pr_info("no default CMA area (boot with cma=SIZE): no CMA heap\n");
		return -ENODEV;
	}
	if (mainline_name)
		names[n++] = CMA_HEAP_MAINLINE_NAME;
	/* An area already called so gets one node, not a clash. */
	if (legacy_name &&
	    !(n && !strcmp(cma_get_name(cma), CMA_HEAP_MAINLINE_NAME)))
		names[n++] = cma_get_name(cma);

	info.priv = cma;
	for (i = 0; i < n; i++) {
		struct heaplab_heap *heap;

		info.name = names[i];
		heap = heaplab_heap_add(&info);
		/*
		 * All the names asked for or none: with one missing, the heap
		 * would look like a kernel that lacks it.
		 */
		if (IS_ERR(heap)) {
			cma_heap_remove_all();
			return PTR_ERR(heap);
		}
		cma_heaps[i] = heap;
	}
	return 0;
}

static void __exit cma_heap_exit(void)
{
	cma_heap_remove_all();
}

#else /* !HAVE_CMA_EXPORTS */

/* Name the missing piece: a kernel without CMA needs another kernel, not a patch. */
static int __init cma_heap_init(void)
{
	if (!IS_ENABLED(CONFIG_DMA_CMA))
		pr_info("this kernel has no CMA (CONFIG_DMA_CMA is not set): no CMA heap\n");
	else
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
