// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab: the DMA-BUF heaps framework.
 *
 * Each heap gets a character device /dev/<devdir>/<name>; its one ioctl,
 * DMA_HEAP_IOCTL_ALLOC, returns a dma-buf fd. devdir defaults to "dma_heap"
 * so heaplab is a drop-in on kernels without built-in heaps; where the
 * kernel has its own heaps (the test kernel), the default is refused and
 * heaplab must be loaded with devdir=heaplab (or another name).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kdev_t.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <heaplab/compat.h>
#include <heaplab/dma-heap.h>
#include <uapi/linux/heaplab-dma-heap.h>

#include "dma-heap-internal.h"
#include "heaplab_test_hooks.h"

#define CREATE_TRACE_POINTS
#include "heaplab_trace.h"

#define HEAPLAB_MAX_MINORS 128

static char *devdir = "dma_heap";
module_param(devdir, charp, 0444);
MODULE_PARM_DESC(devdir, "directory under /dev for heap nodes (default dma_heap)");

struct heaplab_heap {
	const char *name;
	const struct heaplab_heap_ops *ops;
	void *priv;
	struct module *owner;
	dev_t devt;
	struct cdev cdev;
	struct device *dev;
	struct list_head node;
	struct dentry *debugfs;
	struct heaplab_heap_stats stats;
};

static LIST_HEAD(heap_list);
static DEFINE_MUTEX(heap_list_lock);
static DEFINE_IDA(heap_minors);
static dev_t heap_devt;
static struct class *heap_class;
static struct dentry *heap_debugfs;

void *heaplab_heap_get_drvdata(struct heaplab_heap *heap)
{
	return heap->priv;
}
EXPORT_SYMBOL_GPL(heaplab_heap_get_drvdata);

const char *heaplab_heap_get_name(struct heaplab_heap *heap)
{
	return heap->name;
}
EXPORT_SYMBOL_GPL(heaplab_heap_get_name);

struct module *heaplab_heap_get_owner(struct heaplab_heap *heap)
{
	return heap->owner;
}
EXPORT_SYMBOL_GPL(heaplab_heap_get_owner);

void heaplab_heap_account_pages(struct heaplab_heap *heap, long delta)
{
	atomic64_add(delta, &heap->stats.pages_held);
}
EXPORT_SYMBOL_GPL(heaplab_heap_account_pages);

void heaplab_heap_account_cleared(struct heaplab_heap *heap, unsigned long n)
{
	atomic64_add(n, &heap->stats.pages_cleared);
}
EXPORT_SYMBOL_GPL(heaplab_heap_account_cleared);

/* Called by the helpers when a buffer of @heap is released. */
void heaplab_heap_account_free(struct heaplab_heap *heap, size_t len)
{
	atomic64_sub(len, &heap->stats.bytes_outstanding);
	atomic64_inc(&heap->stats.frees);
}

static void heaplab_heap_account_alloc(struct heaplab_heap *heap, size_t len)
{
	s64 now = atomic64_add_return(len, &heap->stats.bytes_outstanding);
	s64 peak = atomic64_read(&heap->stats.bytes_peak);

	atomic64_inc(&heap->stats.allocs);
	while (now > peak) {
		s64 seen = atomic64_cmpxchg(&heap->stats.bytes_peak, peak, now);

		if (seen == peak)
			break;
		peak = seen;
	}
}

static int heaplab_heap_open(struct inode *inode, struct file *file)
{
	struct heaplab_heap *heap = container_of(inode->i_cdev,
						 struct heaplab_heap, cdev);

	/* chrdev_open pinned heap->owner through the cdev. */
	file->private_data = heap;
	nonseekable_open(inode, file);
	return 0;
}

/*
 * Allocate and hand out the fd. The fd is reserved first but installed only
 * after the result reached userspace, so a failing copy_to_user() cannot
 * leave a live fd behind that the caller never learns of.
 */
static long heaplab_heap_alloc_ioctl(struct heaplab_heap *heap,
				     struct dma_heap_allocation_data *data,
				     void __user *uarg, size_t out_size)
{
	unsigned long len;
	struct dma_buf *dmabuf;
	ktime_t start;
	long ret;
	int fd;

	if (data->fd)
		return -EINVAL;
	if (data->fd_flags & ~DMA_HEAP_VALID_FD_FLAGS)
		return -EINVAL;
	if (data->heap_flags & ~DMA_HEAP_VALID_HEAP_FLAGS)
		return -EINVAL;
	/* A zero length, or one whose page round-up wraps, is invalid. */
	if (!data->len || data->len > ULONG_MAX - PAGE_SIZE + 1)
		return -EINVAL;
	len = PAGE_ALIGN(data->len);

	fd = get_unused_fd_flags(data->fd_flags);
	if (fd < 0)
		return fd;

	trace_heaplab_alloc_start(heap->name, len);
	start = ktime_get();
	heaplab_test_alloc_delay();
	dmabuf = heap->ops->allocate(heap, len, data->fd_flags, data->heap_flags);
	ret = PTR_ERR_OR_ZERO(dmabuf);
	trace_heaplab_alloc_end(heap->name, len, ret,
				ktime_to_ns(ktime_sub(ktime_get(), start)));
	if (ret) {
		atomic64_inc(&heap->stats.failures);
		put_unused_fd(fd);
		return ret;
	}
	heaplab_heap_account_alloc(heap, len);

	data->fd = fd;
	if (copy_to_user(uarg, data, out_size)) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);
		return -EFAULT;
	}
	fd_install(fd, dmabuf->file);
	return 0;
}

static long heaplab_heap_ioctl(struct file *file, unsigned int ucmd,
			       unsigned long arg)
{
	struct heaplab_heap *heap = file->private_data;
	struct dma_heap_allocation_data data = { };
	const unsigned int kcmd = DMA_HEAP_IOCTL_ALLOC;
	size_t in_size, out_size;

	/*
	 * As upstream: the command is chosen by its number alone, and its
	 * size may differ from ours. A shorter (older) argument is zero
	 * extended; of a longer (newer) one the tail is ignored.
	 */
	if (_IOC_NR(ucmd) != _IOC_NR(kcmd))
		return -EINVAL;
	in_size = (ucmd & kcmd & IOC_IN) ? _IOC_SIZE(ucmd) : 0;
	out_size = (ucmd & kcmd & IOC_OUT) ? _IOC_SIZE(ucmd) : 0;
	in_size = min(in_size, sizeof(data));
	out_size = min(out_size, sizeof(data));
	/*
	 * A command that cannot return the fd would leave the caller an fd
	 * it never learns of: refuse it rather than leak it.
	 */
	if (out_size < offsetofend(struct dma_heap_allocation_data, fd))
		return -EINVAL;
	if (copy_from_user(&data, (void __user *)arg, in_size))
		return -EFAULT;

	return heaplab_heap_alloc_ioctl(heap, &data, (void __user *)arg,
					out_size);
}

static const struct file_operations heaplab_heap_fops = {
	.owner = THIS_MODULE,
	.open = heaplab_heap_open,
	.unlocked_ioctl = heaplab_heap_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = heaplab_no_llseek,
};

static int heaplab_heap_stats_show(struct seq_file *s, void *unused)
{
	struct heaplab_heap *heap = s->private;

	seq_printf(s, "allocations %lld\n", atomic64_read(&heap->stats.allocs));
	seq_printf(s, "failures %lld\n", atomic64_read(&heap->stats.failures));
	seq_printf(s, "frees %lld\n", atomic64_read(&heap->stats.frees));
	seq_printf(s, "bytes_outstanding %lld\n",
		   atomic64_read(&heap->stats.bytes_outstanding));
	seq_printf(s, "bytes_peak %lld\n", atomic64_read(&heap->stats.bytes_peak));
	seq_printf(s, "pages_held %lld\n", atomic64_read(&heap->stats.pages_held));
	seq_printf(s, "pages_cleared %lld\n",
		   atomic64_read(&heap->stats.pages_cleared));
	/*
	 * The heap's own lines last. debugfs_remove_recursive() in
	 * heaplab_heap_remove() waits for a read under way, so the op and
	 * what it shows outlive every reader if the heap frees them after.
	 */
	if (heap->ops->stats_show)
		heap->ops->stats_show(s, heap);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heaplab_heap_stats);

struct heaplab_heap *heaplab_heap_add(const struct heaplab_heap_export_info *info)
{
	struct heaplab_heap *heap, *h;
	int minor, ret;

	if (!info->name || !info->name[0] || strchr(info->name, '/')) {
		pr_err("a heap needs a name without '/'\n");
		return ERR_PTR(-EINVAL);
	}
	if (!info->ops || !info->ops->allocate) {
		pr_err("heap %s has no allocate op\n", info->name);
		return ERR_PTR(-EINVAL);
	}

	heap = kzalloc(sizeof(*heap), GFP_KERNEL);
	if (!heap)
		return ERR_PTR(-ENOMEM);
	heap->name = kstrdup_const(info->name, GFP_KERNEL);
	if (!heap->name) {
		ret = -ENOMEM;
		goto err_free;
	}
	heap->ops = info->ops;
	heap->priv = info->priv;
	heap->owner = info->owner;

	mutex_lock(&heap_list_lock);
	list_for_each_entry(h, &heap_list, node) {
		if (!strcmp(h->name, heap->name)) {
			pr_err("heap %s already exists\n", heap->name);
			ret = -EEXIST;
			goto err_unlock;
		}
	}

	minor = ida_alloc_max(&heap_minors, HEAPLAB_MAX_MINORS - 1, GFP_KERNEL);
	if (minor < 0) {
		ret = minor;
		goto err_unlock;
	}
	heap->devt = MKDEV(MAJOR(heap_devt), minor);

	cdev_init(&heap->cdev, &heaplab_heap_fops);
	/* An open device file pins the heap module, not just us. */
	heap->cdev.owner = heap->owner;
	ret = cdev_add(&heap->cdev, heap->devt, 1);
	if (ret)
		goto err_minor;

	heap->dev = device_create(heap_class, NULL, heap->devt, heap, "%s",
				  heap->name);
	if (IS_ERR(heap->dev)) {
		ret = PTR_ERR(heap->dev);
		goto err_cdev;
	}

	heap->debugfs = debugfs_create_dir(heap->name, heap_debugfs);
	debugfs_create_file("stats", 0444, heap->debugfs, heap,
			    &heaplab_heap_stats_fops);

	list_add(&heap->node, &heap_list);
	mutex_unlock(&heap_list_lock);
	pr_info("heap %s at /dev/%s/%s\n", heap->name, devdir, heap->name);
	/*
	 * Test builds: hold the window in which the node exists but the heap
	 * module has not yet seen this return, where allocations can arrive.
	 */
	heaplab_test_add_delay();
	return heap;

err_cdev:
	cdev_del(&heap->cdev);
err_minor:
	ida_free(&heap_minors, minor);
err_unlock:
	mutex_unlock(&heap_list_lock);
	kfree_const(heap->name);
err_free:
	kfree(heap);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(heaplab_heap_add);

/*
 * Only called from the heap module's exit: by then the module core has seen
 * its refcount at zero, so no device file and no buffer of it is alive, and
 * new opens fail in cdev_get().
 */
void heaplab_heap_remove(struct heaplab_heap *heap)
{
	if (IS_ERR_OR_NULL(heap))
		return;
	WARN_ON(atomic64_read(&heap->stats.bytes_outstanding));

	mutex_lock(&heap_list_lock);
	list_del(&heap->node);
	mutex_unlock(&heap_list_lock);

	debugfs_remove_recursive(heap->debugfs);
	device_destroy(heap_class, heap->devt);
	cdev_del(&heap->cdev);
	ida_free(&heap_minors, MINOR(heap->devt));
	pr_info("heap %s removed\n", heap->name);
	kfree_const(heap->name);
	kfree(heap);
}
EXPORT_SYMBOL_GPL(heaplab_heap_remove);

static char *heaplab_heap_devnode(heaplab_devnode_device *dev, umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "%s/%s", devdir, dev_name(dev));
}

static int __init heaplab_heap_init(void)
{
	int ret;

	if (!devdir[0] || strchr(devdir, '/') || !strcmp(devdir, ".") ||
	    !strcmp(devdir, "..")) {
		pr_err("devdir=%s is not a directory name\n", devdir);
		return -EINVAL;
	}
	/*
	 * The kernel's own heaps have their nodes in /dev/dma_heap already.
	 * devtmpfs would keep those and silently drop ours, so that opening
	 * /dev/dma_heap/system reached the kernel's heap while our log named
	 * ours.
	 */
	if (IS_ENABLED(CONFIG_DMABUF_HEAPS) && !strcmp(devdir, "dma_heap")) {
		pr_err("this kernel has its own DMA-BUF heaps (CONFIG_DMABUF_HEAPS) in /dev/dma_heap: load with devdir=NAME (e.g. devdir=heaplab) to put heaplab's under /dev/NAME\n");
		return -EEXIST;
	}

	ret = alloc_chrdev_region(&heap_devt, 0, HEAPLAB_MAX_MINORS, "heaplab");
	if (ret)
		return ret;

	heap_class = heaplab_class_create("heaplab_heap");
	if (IS_ERR(heap_class)) {
		unregister_chrdev_region(heap_devt, HEAPLAB_MAX_MINORS);
		return PTR_ERR(heap_class);
	}
	heap_class->devnode = heaplab_heap_devnode;
	heap_debugfs = debugfs_create_dir("heaplab", NULL);
	return 0;
}

static void __exit heaplab_heap_exit(void)
{
	/* Heap modules depend on us, so all heaps are gone by now. */
	WARN_ON(!list_empty(&heap_list));
	debugfs_remove_recursive(heap_debugfs);
	class_destroy(heap_class);
	unregister_chrdev_region(heap_devt, HEAPLAB_MAX_MINORS);
	ida_destroy(&heap_minors);
}

module_init(heaplab_heap_init);
module_exit(heaplab_heap_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("heaplab developers");
MODULE_DESCRIPTION("heaplab DMA-BUF heaps framework and heap helpers");
HEAPLAB_MODULE_IMPORT_DMA_BUF();
