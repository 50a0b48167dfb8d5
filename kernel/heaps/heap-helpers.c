// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab heap helpers: the buffer object and dma_buf_ops shared by the
 * heaps. Built into heaplab_heap.ko with the framework.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include <heaplab/dma-heap.h>
#include "../heaplab_test_hooks.h"
#include "heap-helpers.h"
#include "../dma-heap-internal.h"
#include "../heaplab_trace.h"

#ifdef HAVE_IOSYS_MAP
#include <linux/iosys-map.h>
#endif

struct heaplab_attachment {
	struct device *dev;
	struct sg_table table;
	struct list_head node;
	bool mapped;
};

/*
 * The buffer object and its page array; the heap fills in the memory. Both
 * heaps free it with heaplab_buffer_destroy(), after their own memory.
 */
struct heaplab_buffer *heaplab_buffer_alloc(struct heaplab_heap *heap,
					    unsigned long len,
					    void (*free)(struct heaplab_buffer *buffer))
{
	struct heaplab_buffer *buffer;

	/*
	 * More than all of memory can never succeed: fail before trying,
	 * rather than reclaim everything on the way to a certain ENOMEM.
	 */
	if ((len >> PAGE_SHIFT) > totalram_pages())
		return ERR_PTR(-ENOMEM);
	buffer = kzalloc(sizeof(*buffer), GFP_KERNEL);
	if (!buffer)
		return ERR_PTR(-ENOMEM);
	buffer->heap = heap;
	buffer->len = len;
	buffer->pagecount = len >> PAGE_SHIFT;
	buffer->free = free;
	mutex_init(&buffer->lock);
	INIT_LIST_HEAD(&buffer->attachments);
	buffer->pages = kvmalloc_array(buffer->pagecount, sizeof(*buffer->pages),
				       GFP_KERNEL | __GFP_NOWARN);
	if (!buffer->pages) {
		heaplab_buffer_destroy(buffer);
		return ERR_PTR(-ENOMEM);
	}
	return buffer;
}
EXPORT_SYMBOL_GPL(heaplab_buffer_alloc);

/* Undo heaplab_buffer_alloc(); the heap frees the memory itself. */
void heaplab_buffer_destroy(struct heaplab_buffer *buffer)
{
	kvfree(buffer->pages);
	mutex_destroy(&buffer->lock);
	kfree(buffer);
}
EXPORT_SYMBOL_GPL(heaplab_buffer_destroy);

/*
 * Clear every page, one at a time through a temporary mapping, so highmem
 * pages are safe too. Timed on its own (tracepoint heaplab_zero) so the
 * cost of zeroing can be told apart from the rest of an allocation.
 */
int heaplab_buffer_zero(struct heaplab_buffer *buffer)
{
	const char *name = heaplab_heap_get_name(buffer->heap);
	ktime_t start = ktime_get();
	pgoff_t i;

	if (heaplab_test_skip_zero())
		return 0;
	for (i = 0; i < buffer->pagecount; i++) {
		/* A huge buffer must not hold off a kill for long. */
		if (!(i % 256) && fatal_signal_pending(current))
			return -EINTR;
		clear_highpage(buffer->pages[i]);
		cond_resched();
	}
	trace_heaplab_zero(name, buffer->pagecount,
			   ktime_to_ns(ktime_sub(ktime_get(), start)));
	return 0;
}
EXPORT_SYMBOL_GPL(heaplab_buffer_zero);

/*
 * Each attachment gets its own copy: a device maps it its own way. Entries
 * longer than the device's maximum segment are split, so a device with
 * small segments (vgem: 64 KiB) is never handed one it cannot take.
 */
static int heaplab_copy_sgt(struct device *dev, struct sg_table *to,
			    struct sg_table *from)
{
	unsigned int max = max_t(unsigned int, PAGE_SIZE,
				 round_down(dma_get_max_seg_size(dev), PAGE_SIZE));
	struct scatterlist *s, *d;
	unsigned int nents = 0, off;
	int ret, i;

	for_each_sgtable_sg(from, s, i)
		nents += DIV_ROUND_UP(s->length, max);
	ret = sg_alloc_table(to, nents, GFP_KERNEL);
	if (ret)
		return ret;
	d = to->sgl;
	for_each_sgtable_sg(from, s, i) {
		for (off = 0; off < s->length; off += max) {
			sg_set_page(d, nth_page(sg_page(s), off >> PAGE_SHIFT),
				    min(max, s->length - off), s->offset);
			d = sg_next(d);
		}
	}
	return 0;
}

static int heaplab_attach(struct dma_buf *dmabuf,
			  struct dma_buf_attachment *attachment)
{
	struct heaplab_buffer *buffer = dmabuf->priv;
	struct heaplab_attachment *a;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	ret = heaplab_copy_sgt(attachment->dev, &a->table, &buffer->sg_table);
	if (ret) {
		kfree(a);
		return ret;
	}
	a->dev = attachment->dev;
	INIT_LIST_HEAD(&a->node);
	attachment->priv = a;

	mutex_lock(&buffer->lock);
	list_add(&a->node, &buffer->attachments);
	mutex_unlock(&buffer->lock);
	return 0;
}

static void heaplab_detach(struct dma_buf *dmabuf,
			   struct dma_buf_attachment *attachment)
{
	struct heaplab_buffer *buffer = dmabuf->priv;
	struct heaplab_attachment *a = attachment->priv;

	mutex_lock(&buffer->lock);
	list_del(&a->node);
	mutex_unlock(&buffer->lock);
	sg_free_table(&a->table);
	kfree(a);
}

static struct sg_table *heaplab_map_dma_buf(struct dma_buf_attachment *attachment,
					    enum dma_data_direction dir)
{
	struct heaplab_attachment *a = attachment->priv;
	int ret;

	ret = dma_map_sgtable(attachment->dev, &a->table, dir, 0);
	if (ret)
		return ERR_PTR(ret);
	a->mapped = true;
	return &a->table;
}

static void heaplab_unmap_dma_buf(struct dma_buf_attachment *attachment,
				  struct sg_table *table,
				  enum dma_data_direction dir)
{
	struct heaplab_attachment *a = attachment->priv;

	a->mapped = false;
	dma_unmap_sgtable(attachment->dev, table, dir, 0);
}

/*
 * CPU access brackets: make the CPU's view and every device's view of the
 * buffer agree, through the kernel mapping and each mapped attachment.
 */
static void heaplab_sync_cpu(struct heaplab_buffer *buffer,
			     enum dma_data_direction dir, bool for_cpu)
{
	struct heaplab_attachment *a;

	mutex_lock(&buffer->lock);
	if (buffer->vmap_cnt) {
		if (for_cpu)
			invalidate_kernel_vmap_range(buffer->vaddr, buffer->len);
		else
			flush_kernel_vmap_range(buffer->vaddr, buffer->len);
	}
	list_for_each_entry(a, &buffer->attachments, node) {
		if (!a->mapped)
			continue;
		if (for_cpu)
			dma_sync_sgtable_for_cpu(a->dev, &a->table, dir);
		else
			dma_sync_sgtable_for_device(a->dev, &a->table, dir);
	}
	mutex_unlock(&buffer->lock);
}

static int heaplab_begin_cpu_access(struct dma_buf *dmabuf,
				    enum dma_data_direction dir)
{
	struct heaplab_buffer *buffer = dmabuf->priv;

	trace_heaplab_begin_cpu_access(heaplab_heap_get_name(buffer->heap),
				       buffer->len, dir);
	heaplab_sync_cpu(buffer, dir, true);
	return 0;
}

static int heaplab_end_cpu_access(struct dma_buf *dmabuf,
				  enum dma_data_direction dir)
{
	struct heaplab_buffer *buffer = dmabuf->priv;

	trace_heaplab_end_cpu_access(heaplab_heap_get_name(buffer->heap),
				     buffer->len, dir);
	heaplab_sync_cpu(buffer, dir, false);
	return 0;
}

/*
 * Pages are mapped into userspace one by one, when first touched, by pfn:
 * a heap may hand out high-order chunks that are not split into pages with
 * their own refcounts, and the mapping holds the dma-buf alive anyway.
 */
static vm_fault_t heaplab_vm_fault(struct vm_fault *vmf)
{
	struct heaplab_buffer *buffer = vmf->vma->vm_private_data;
	vm_fault_t ret;

	if (vmf->pgoff >= buffer->pagecount) {
		trace_heaplab_fault(heaplab_heap_get_name(buffer->heap),
				    vmf->pgoff, -EFAULT);
		return VM_FAULT_SIGBUS;
	}
	ret = vmf_insert_pfn(vmf->vma, vmf->address,
			     page_to_pfn(buffer->pages[vmf->pgoff]));
	trace_heaplab_fault(heaplab_heap_get_name(buffer->heap), vmf->pgoff,
			    ret == VM_FAULT_NOPAGE ? 0 : -EFAULT);
	return ret;
}

static const struct vm_operations_struct heaplab_vm_ops = {
	.fault = heaplab_vm_fault,
};

static int heaplab_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct heaplab_buffer *buffer = dmabuf->priv;
	const unsigned long flags = VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;

	/*
	 * Shared mappings only (a read-only fd's shared mapping has only
	 * VM_MAYSHARE). The dma-buf core already checked the range.
	 */
	if (!(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		return -EINVAL;
	trace_heaplab_mmap(heaplab_heap_get_name(buffer->heap),
			   vma->vm_end - vma->vm_start);
#ifdef HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	/* Before 6.3 vm_flags is written directly. */
	vma->vm_flags |= flags;
#endif
	vma->vm_ops = &heaplab_vm_ops;
	vma->vm_private_data = buffer;
	return 0;
}

static void *heaplab_vmap_locked(struct heaplab_buffer *buffer)
{
	void *vaddr;

	if (buffer->vmap_cnt) {
		buffer->vmap_cnt++;
		return buffer->vaddr;
	}
	vaddr = vmap(buffer->pages, buffer->pagecount, VM_MAP, PAGE_KERNEL);
	if (!vaddr)
		return ERR_PTR(-ENOMEM);
	buffer->vaddr = vaddr;
	buffer->vmap_cnt = 1;
	return vaddr;
}

static int heaplab_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct heaplab_buffer *buffer = dmabuf->priv;
	void *vaddr;

	mutex_lock(&buffer->lock);
	vaddr = heaplab_vmap_locked(buffer);
	mutex_unlock(&buffer->lock);
	if (IS_ERR(vaddr))
		return PTR_ERR(vaddr);
	iosys_map_set_vaddr(map, vaddr);
	return 0;
}

static void heaplab_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct heaplab_buffer *buffer = dmabuf->priv;

	mutex_lock(&buffer->lock);
	if (!WARN_ON(!buffer->vmap_cnt) && !--buffer->vmap_cnt) {
		vunmap(buffer->vaddr);
		buffer->vaddr = NULL;
	}
	mutex_unlock(&buffer->lock);
	iosys_map_clear(map);
}

static void heaplab_release(struct dma_buf *dmabuf)
{
	struct heaplab_buffer *buffer = dmabuf->priv;
	struct heaplab_heap *heap = buffer->heap;
	unsigned long len = buffer->len;

	/* Every vmap must have been undone by its user. */
	if (WARN_ON(buffer->vmap_cnt > 0))
		vunmap(buffer->vaddr);
	trace_heaplab_buffer_release(heaplab_heap_get_name(heap), len);
	buffer->free(buffer);
	heaplab_heap_account_free(heap, len);
}

static const struct dma_buf_ops heaplab_buf_ops = {
	.attach = heaplab_attach,
	.detach = heaplab_detach,
	.map_dma_buf = heaplab_map_dma_buf,
	.unmap_dma_buf = heaplab_unmap_dma_buf,
	.begin_cpu_access = heaplab_begin_cpu_access,
	.end_cpu_access = heaplab_end_cpu_access,
	.mmap = heaplab_mmap,
	.vmap = heaplab_vmap,
	.vunmap = heaplab_vunmap,
	.release = heaplab_release,
};

/*
 * Wrap the buffer in a dma-buf. The dma-buf pins the heap's module (not only
 * ours), so a heap cannot be unloaded while any of its buffers is alive.
 */
struct dma_buf *heaplab_buffer_export(struct heaplab_buffer *buffer,
				      u32 fd_flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);

	exp_info.exp_name = heaplab_heap_get_name(buffer->heap);
	exp_info.owner = heaplab_heap_get_owner(buffer->heap);
	exp_info.ops = &heaplab_buf_ops;
	exp_info.size = buffer->len;
	exp_info.flags = fd_flags;
	exp_info.priv = buffer;
	return dma_buf_export(&exp_info);
}
EXPORT_SYMBOL_GPL(heaplab_buffer_export);
