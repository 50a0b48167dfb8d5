// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab_bench: bench-only module, never installed. It times the kernel's
 * page clearing on its own, the limit of what a heap's zeroing can cost:
 * write N to debugfs heaplab_bench/clear_pages and it clears N freshly
 * allocated pages with clear_highpage() (what heaplab's heaps zero with),
 * timing only the clearing; read back "N ns" for the last run.
 * held_pages (pages taken and not yet given back: 0 between runs) and
 * interrupted (runs cut short by a fatal signal) let a test prove that a
 * killed run gives back every page.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

/* 64 MiB per run at most: a run must not starve the guest. */
#define HEAPLAB_BENCH_MAX_PAGES ((64UL << 20) >> PAGE_SHIFT)

static DEFINE_MUTEX(heaplab_bench_lock);
static unsigned long heaplab_bench_pages;
static u64 heaplab_bench_ns;
static struct dentry *heaplab_bench_dir;
static atomic_t heaplab_bench_held;
static atomic_t heaplab_bench_interrupted;

static int heaplab_bench_clear(unsigned long n)
{
	struct page **pages;
	unsigned long got, i;
	u64 t0, t1;
	int ret = 0;

	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	/*
	 * pages[0..got) are exactly the pages held: a signal is checked
	 * before taking a page, never between taking and counting it.
	 */
	for (got = 0; got < n; got++) {
		if (fatal_signal_pending(current)) {
			atomic_inc(&heaplab_bench_interrupted);
			ret = -EINTR;
			goto out;
		}
		pages[got] = alloc_page(GFP_HIGHUSER | __GFP_NOWARN);
		if (!pages[got]) {
			ret = -ENOMEM;
			goto out;
		}
		atomic_inc(&heaplab_bench_held);
	}
	t0 = ktime_get_raw_ns();
	for (i = 0; i < n; i++)
		clear_highpage(pages[i]);
	t1 = ktime_get_raw_ns();
	mutex_lock(&heaplab_bench_lock);
	heaplab_bench_pages = n;
	heaplab_bench_ns = t1 - t0;
	mutex_unlock(&heaplab_bench_lock);
out:
	while (got--) {
		__free_page(pages[got]);
		atomic_dec(&heaplab_bench_held);
	}
	kvfree(pages);
	return ret;
}

static ssize_t heaplab_bench_write(struct file *file, const char __user *ubuf,
				   size_t len, loff_t *ppos)
{
	unsigned long n;
	int ret;

	ret = kstrtoul_from_user(ubuf, len, 0, &n);
	if (ret)
		return ret;
	if (!n || n > HEAPLAB_BENCH_MAX_PAGES)
		return -EINVAL;
	ret = heaplab_bench_clear(n);
	return ret ? ret : len;
}

static ssize_t heaplab_bench_read(struct file *file, char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	char buf[48];
	int n;

	mutex_lock(&heaplab_bench_lock);
	n = scnprintf(buf, sizeof(buf), "%lu %llu\n", heaplab_bench_pages,
		      heaplab_bench_ns);
	mutex_unlock(&heaplab_bench_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations heaplab_bench_fops = {
	.owner = THIS_MODULE,
	.read = heaplab_bench_read,
	.write = heaplab_bench_write,
	.llseek = default_llseek,
};

static int __init heaplab_bench_init(void)
{
	heaplab_bench_dir = debugfs_create_dir("heaplab_bench", NULL);
	debugfs_create_file("clear_pages", 0600, heaplab_bench_dir, NULL,
			    &heaplab_bench_fops);
	debugfs_create_atomic_t("held_pages", 0400, heaplab_bench_dir,
				&heaplab_bench_held);
	debugfs_create_atomic_t("interrupted", 0400, heaplab_bench_dir,
				&heaplab_bench_interrupted);
	return 0;
}

static void __exit heaplab_bench_exit(void)
{
	debugfs_remove_recursive(heaplab_bench_dir);
}

module_init(heaplab_bench_init);
module_exit(heaplab_bench_exit);
MODULE_DESCRIPTION("heaplab bench-only module: times the kernel's page clearing");
MODULE_LICENSE("GPL");
