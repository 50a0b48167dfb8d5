// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab_smoke: a test-only module that proves the build/boot/test chain.
 *
 * It is built against the test kernel, loaded into the guest, driven through
 * a debugfs knob and unloaded again. An open knob pins the module, so the
 * test can also check that unload is refused while the module is in use.
 * warn_on_init=1 makes init WARN, which vm/run must turn into a failure.
 *
 * The "vmap" knob drives the kernel-only paths of a dma-buf exporter from
 * userspace: write a dma-buf fd number and a byte value ("FD VALUE"); the
 * module vmaps the buffer twice (the second map must be the same address),
 * fills it with VALUE between begin/end_cpu_access, and unmaps both.
 *
 * The "unmovable" knob brings the kernel into the state the system heap's
 * admission check exists for: write "short" and it takes unmovable pages
 * (which cannot come from CMA) until MemAvailable is below the free CMA
 * pages, or the page allocator refuses; "release" gives them all back.
 * Reading it says how many pages it holds.
 */
#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/uaccess.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/vmstat.h>

#include <heaplab/compat.h>

static bool warn_on_init;
module_param(warn_on_init, bool, 0444);
MODULE_PARM_DESC(warn_on_init, "WARN during init (checks that the runner catches splats)");

#define SMOKE_MAX 256

static struct dentry *smoke_dir;
static DEFINE_MUTEX(smoke_lock);
static char *smoke_buf;		/* last string written, reversed */
static size_t smoke_len;
static u64 smoke_writes;

/* Reverse what is written, so the test sees the module did real work. */
static ssize_t smoke_write(struct file *file, const char __user *ubuf,
			   size_t count, loff_t *ppos)
{
	char *tmp;
	size_t i;

	if (count == 0 || count > SMOKE_MAX)
		return -EINVAL;
	tmp = memdup_user(ubuf, count);
	if (IS_ERR(tmp))
		return PTR_ERR(tmp);

	mutex_lock(&smoke_lock);
	for (i = 0; i < count; i++)
		smoke_buf[i] = tmp[count - 1 - i];
	smoke_len = count;
	smoke_writes++;
	mutex_unlock(&smoke_lock);
	kfree(tmp);
	return count;
}

static ssize_t smoke_read(struct file *file, char __user *ubuf, size_t count,
			  loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&smoke_lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, smoke_buf, smoke_len);
	mutex_unlock(&smoke_lock);
	return ret;
}

static int smoke_vmap_fill(struct dma_buf *dmabuf, u8 value)
{
	struct iosys_map a, b;
	int ret;

	ret = heaplab_dma_buf_vmap_unlocked(dmabuf, &a);
	if (ret)
		return ret;
	ret = heaplab_dma_buf_vmap_unlocked(dmabuf, &b);
	if (ret)
		goto out_a;
	/* vmap is refcounted: both maps share one kernel mapping */
	if (a.is_iomem || !iosys_map_is_equal(&a, &b)) {
		ret = -EBADE;
		goto out_b;
	}
	ret = dma_buf_begin_cpu_access(dmabuf, DMA_BIDIRECTIONAL);
	if (ret)
		goto out_b;
	memset(a.vaddr, value, dmabuf->size);
	ret = dma_buf_end_cpu_access(dmabuf, DMA_BIDIRECTIONAL);
out_b:
	heaplab_dma_buf_vunmap_unlocked(dmabuf, &b);
out_a:
	heaplab_dma_buf_vunmap_unlocked(dmabuf, &a);
	return ret;
}

static ssize_t smoke_vmap_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct dma_buf *dmabuf;
	char buf[32];
	int fd, ret;
	u8 value;

	if (count == 0 || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	if (sscanf(buf, "%d %hhu", &fd, &value) != 2)
		return -EINVAL;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	ret = smoke_vmap_fill(dmabuf, value);
	dma_buf_put(dmabuf);
	return ret ? ret : count;
}

static const struct file_operations smoke_vmap_fops = {
	.owner = THIS_MODULE,
	.write = smoke_vmap_write,
	.llseek = heaplab_no_llseek,
};

/* Pages held by the unmovable knob, as a list of chunks. */
struct smoke_hog {
	struct list_head node;
	struct page *page;
	unsigned int order;
};

static LIST_HEAD(smoke_hogs);
static unsigned long smoke_hog_pages;

static long smoke_unmovable_margin(void)
{
	return si_mem_available() -
	       (long)global_zone_page_state(NR_FREE_CMA_PAGES);
}

static void smoke_release(void)
{
	struct smoke_hog *h, *tmp;

	list_for_each_entry_safe(h, tmp, &smoke_hogs, node) {
		__free_pages(h->page, h->order);
		list_del(&h->node);
		kfree(h);
	}
	smoke_hog_pages = 0;
}

/* Called with smoke_lock held. No reclaim retries, no OOM killer. */
static int smoke_make_short(void)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN;
	unsigned int order = 8;

	while (smoke_unmovable_margin() >= 0) {
		struct smoke_hog *h;

		if (fatal_signal_pending(current))
			return -EINTR;
		h = kmalloc(sizeof(*h), gfp);
		if (!h)
			return -ENOMEM;
		for (;;) {
			h->page = alloc_pages(gfp, order);
			if (h->page || !order)
				break;
			order--;
		}
		if (!h->page) {
			kfree(h);
			return -ENOMEM;
		}
		h->order = order;
		list_add(&h->node, &smoke_hogs);
		smoke_hog_pages += 1UL << order;
		cond_resched();
	}
	return 0;
}

static ssize_t smoke_unmovable_write(struct file *file, const char __user *ubuf,
				     size_t count, loff_t *ppos)
{
	char buf[16];
	int ret = 0;

	if (count == 0 || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	mutex_lock(&smoke_lock);
	if (sysfs_streq(buf, "short"))
		ret = smoke_make_short();
	else if (sysfs_streq(buf, "release"))
		smoke_release();
	else
		ret = -EINVAL;
	mutex_unlock(&smoke_lock);
	return ret ? ret : count;
}

static ssize_t smoke_unmovable_read(struct file *file, char __user *ubuf,
				    size_t count, loff_t *ppos)
{
	char buf[96];
	int n;

	mutex_lock(&smoke_lock);
	n = scnprintf(buf, sizeof(buf), "held %lu margin %ld\n",
		      smoke_hog_pages, smoke_unmovable_margin());
	mutex_unlock(&smoke_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static const struct file_operations smoke_unmovable_fops = {
	.owner = THIS_MODULE,
	.write = smoke_unmovable_write,
	.read = smoke_unmovable_read,
	.llseek = default_llseek,
};

static const struct file_operations smoke_fops = {
	.owner = THIS_MODULE,	/* an open file pins the module */
	.write = smoke_write,
	.read = smoke_read,
	.llseek = default_llseek,
};

static int __init smoke_init(void)
{
	smoke_buf = kzalloc(SMOKE_MAX, GFP_KERNEL);
	if (!smoke_buf)
		return -ENOMEM;

	smoke_dir = debugfs_create_dir("heaplab_smoke", NULL);
	debugfs_create_file("reverse", 0600, smoke_dir, NULL, &smoke_fops);
	debugfs_create_u64("writes", 0400, smoke_dir, &smoke_writes);
	debugfs_create_file("vmap", 0200, smoke_dir, NULL, &smoke_vmap_fops);
	debugfs_create_file("unmovable", 0600, smoke_dir, NULL,
			    &smoke_unmovable_fops);

	WARN_ON(warn_on_init);
	pr_info("heaplab_smoke: loaded\n");
	return 0;
}

static void __exit smoke_exit(void)
{
	debugfs_remove_recursive(smoke_dir);
	smoke_release();
	kfree(smoke_buf);
	pr_info("heaplab_smoke: unloaded after %llu writes\n", smoke_writes);
}

module_init(smoke_init);
module_exit(smoke_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("heaplab developers");
MODULE_DESCRIPTION("heaplab test-only module: proves the chain, drives kernel-only paths");
HEAPLAB_MODULE_IMPORT_DMA_BUF();
