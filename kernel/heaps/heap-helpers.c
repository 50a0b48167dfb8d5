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

#include <heaplab/compat.h>
#include <heaplab/dma-heap.h>
#include "../heaplab_test_hooks.h"
#include "heap-helpers.h"
#include "../dma-heap-internal.h"
#include "../heaplab_trace.h"

/*
 * One per importer. @table is the importer's copy of the buffer's layout,
 * mapped for its device; @handed is what the importer got (see
 * heaplab_hand_table()). @mapped and @dir are set and cleared under the buffer's
 * lock, so CPU-access syncs only ever see a table that is mapped, and sync
 * it in the direction it was mapped with (the DMA API requires the same
 * direction; a CPU-access direction differs, see heaplab_sync_cpu()).
 */
struct heaplab_attachment {
	struct device *dev;
	struct sg_table table;
	struct sg_table *handed;
	struct list_head node;
	bool mapped;
	enum dma_data_direction dir;
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
 * The longest segment @dev takes: its max_seg_size, and no more than one
 * DMA mapping can be (swiotlb bounces at most 256 KiB at a time for a device
 * that cannot reach the memory). 64-bit: GPU drivers set UINT_MAX.
 * Page granular, as our entries are; 0 if the device cannot take a page.
 */
static u64 heaplab_max_seg(struct device *dev)
{
	u64 max = min_t(u64, dma_get_max_seg_size(dev), dma_max_mapping_size(dev));

	return round_down(max, PAGE_SIZE);
}

/*
 * Each attachment gets its own copy: a device maps it its own way. Entries
 * longer than the device's maximum segment are split. The count and the
 * split use the same 64-bit arithmetic, so the loop never runs past the
 * table, whatever the limit (a limit of UINT_MAX once wrapped to zero
 * entries, or to fewer entries than it wrote).
 */
static int heaplab_copy_sgt(struct device *dev, struct sg_table *to,
			    struct sg_table *from)
{
	u64 max = heaplab_max_seg(dev), off, len;
	struct scatterlist *s, *d;
	u64 nents = 0;
	int ret, i;

	if (!max) {
		dev_dbg(dev, "heaplab: max segment below a page: cannot attach\n");
		return -EINVAL;
	}
	for_each_sgtable_sg(from, s, i)
		nents += div64_u64((u64)s->length + max - 1, max);
	if (nents > UINT_MAX)
		return -E2BIG;
	ret = sg_alloc_table(to, nents, GFP_KERNEL);
	if (ret)
		return ret;
	d = to->sgl;
	for_each_sgtable_sg(from, s, i) {
		for (off = 0; off < s->length; off += len) {
			len = min_t(u64, max, s->length - off);
			sg_set_page(d, nth_page(sg_page(s), off >> PAGE_SHIFT),
				    len, 0);
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

/*
 * With CONFIG_DMABUF_DEBUG (6.1 and later until dma_buf_wrap_sg_table()),
 * the dma-buf core scrambles the page links of the table handed to an
 * importer, to catch importers that use its pages, and restores them only
 * before unmap. Our CPU-access syncs need the real pages (dma-debug looks
 * them up: it oopses on the scrambled ones, as the upstream heaps do), so
 * the importer then gets a copy, DMA addresses and all.
 */
static struct sg_table *heaplab_hand_table(struct sg_table *mapped)
{
	struct scatterlist *s, *d;
	struct sg_table *copy;
	int i;

	if (!IS_ENABLED(CONFIG_DMABUF_DEBUG))
		return mapped;
	copy = kzalloc(sizeof(*copy), GFP_KERNEL);
	if (!copy)
		return ERR_PTR(-ENOMEM);
	if (sg_alloc_table(copy, mapped->orig_nents, GFP_KERNEL)) {
		kfree(copy);
		return ERR_PTR(-ENOMEM);
	}
	d = copy->sgl;
	for_each_sgtable_sg(mapped, s, i) {
		sg_set_page(d, sg_page(s), s->length, s->offset);
		sg_dma_address(d) = sg_dma_address(s);
		sg_dma_len(d) = sg_dma_len(s);
		d = sg_next(d);
	}
	copy->nents = mapped->nents;
	return copy;
}

static void heaplab_drop_table(struct heaplab_attachment *a)
{
	if (a->handed != &a->table) {
		sg_free_table(a->handed);
		kfree(a->handed);
	}
	a->handed = NULL;
}

static struct sg_table *heaplab_map_dma_buf(struct dma_buf_attachment *attachment,
					    enum dma_data_direction dir)
{
	struct heaplab_buffer *buffer = attachment->dmabuf->priv;
	struct heaplab_attachment *a = attachment->priv;
	struct sg_table *handed;
	int ret;

	ret = dma_map_sgtable(attachment->dev, &a->table, dir, 0);
	if (ret)
		return ERR_PTR(ret);
	handed = heaplab_hand_table(&a->table);
	if (IS_ERR(handed)) {
		dma_unmap_sgtable(attachment->dev, &a->table, dir, 0);
		return handed;
	}
	mutex_lock(&buffer->lock);
	a->handed = handed;
	a->dir = dir;
	a->mapped = true;
	mutex_unlock(&buffer->lock);
	return handed;
}

static void heaplab_unmap_dma_buf(struct dma_buf_attachment *attachment,
				  struct sg_table *table,
				  enum dma_data_direction dir)
{
	struct heaplab_buffer *buffer = attachment->dmabuf->priv;
	struct heaplab_attachment *a = attachment->priv;

	mutex_lock(&buffer->lock);
	a->mapped = false;
	mutex_unlock(&buffer->lock);
	dma_unmap_sgtable(attachment->dev, &a->table, dir, 0);
	heaplab_drop_table(a);
}

/*
 * CPU access brackets: make the CPU's view and every device's view of the
 * buffer agree, through the kernel mapping and each mapped attachment.
 * Each attachment is synced in the direction it was mapped with: that says
 * which way data can have moved (a device that only reads never needs its
 * copy brought back), and the DMA API allows no other. The CPU-access
 * direction only says when: begin brings the device's writes to the CPU,
 * end sends the CPU's to the devices.
 */
static void heaplab_sync_cpu(struct heaplab_buffer *buffer, bool for_cpu)
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
			dma_sync_sgtable_for_cpu(a->dev, &a->table, a->dir);
		else
			dma_sync_sgtable_for_device(a->dev, &a->table, a->dir);
	}
	mutex_unlock(&buffer->lock);
}

static int heaplab_begin_cpu_access(struct dma_buf *dmabuf,
				    enum dma_data_direction dir)
{
	struct heaplab_buffer *buffer = dmabuf->priv;

	trace_heaplab_begin_cpu_access(heaplab_heap_get_name(buffer->heap),
				       buffer->len, dir);
	heaplab_sync_cpu(buffer, true);
	return 0;
}

static int heaplab_end_cpu_access(struct dma_buf *dmabuf,
				  enum dma_data_direction dir)
{
	struct heaplab_buffer *buffer = dmabuf->priv;

	trace_heaplab_end_cpu_access(heaplab_heap_get_name(buffer->heap),
				     buffer->len, dir);
	heaplab_sync_cpu(buffer, false);
	return 0;
}

/*
 * Pages are mapped into userspace as struct pages (not by pfn): every heap
 * hands out pages with refcounts (order-0 pages, or the pages of compound
 * chunks, whose reference is the chunk's), so get_user_pages() works on
 * the mapping, and with it O_DIRECT, vmsplice, process_vm_readv and a
 * debugger's reads. The mapping holds the dma-buf alive; a page pinned
 * past the buffer's release stays allocated until its last reference goes.
 *
 * heaplab_mmap() maps every page at once; this fault handler serves the
 * pages zapped since (madvise(MADV_DONTNEED)) and any mmap() could not map.
 */
static vm_fault_t heaplab_vm_fault(struct vm_fault *vmf)
{
	struct heaplab_buffer *buffer = vmf->vma->vm_private_data;

	if (vmf->pgoff >= buffer->pagecount) {
		trace_heaplab_fault(heaplab_heap_get_name(buffer->heap),
				    vmf->pgoff, -EFAULT);
		return VM_FAULT_SIGBUS;
	}
	vmf->page = buffer->pages[vmf->pgoff];
	get_page(vmf->page);
	trace_heaplab_fault(heaplab_heap_get_name(buffer->heap), vmf->pgoff, 0);
	return 0;
}

static const struct vm_operations_struct heaplab_vm_ops = {
	.fault = heaplab_vm_fault,
};

static int heaplab_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct heaplab_buffer *buffer = dmabuf->priv;
	const unsigned long flags = VM_DONTEXPAND | VM_DONTDUMP;
	unsigned long num;
	int ret;

	/*
	 * Shared mappings only (a read-only fd's shared mapping has only
	 * VM_MAYSHARE). The dma-buf core already checked the range.
	 */
	if (!(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		return -EINVAL;
	trace_heaplab_mmap(heaplab_heap_get_name(buffer->heap),
			   vma->vm_end - vma->vm_start);
	heaplab_vm_flags_set(vma, flags);
	vma->vm_ops = &heaplab_vm_ops;
	vma->vm_private_data = buffer;
	/*
	 * Map the whole range now, a page table at a time under one lock
	 * (vm_insert_pages), instead of one fault per 4 KiB page on first
	 * touch: a buffer written whole took a fault per page before. The
	 * core checked vm_pgoff + the length against the buffer. A page left
	 * unmapped (no memory for a page table) is the fault handler's.
	 */
	num = vma_pages(vma);
	ret = vm_insert_pages(vma, vma->vm_start, buffer->pages + vma->vm_pgoff, &num);
	if (ret)
		pr_debug("heaplab: %s: mmap left %lu page(s) to faults: %d\n",
			 heaplab_heap_get_name(buffer->heap), num, ret);
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
