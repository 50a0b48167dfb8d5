// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab_importer: a test-only dma-buf importer whose DMA parameters the
 * test chooses, so that a buffer of any heap can be handed to "devices"
 * like the ones real buffers meet: a GPU that takes segments of UINT_MAX
 * bytes, a camera ISP limited to 64 KiB or 4 KiB segments, a device with a
 * 32-bit DMA mask that swiotlb must bounce for.
 *
 * One platform device, bound to this module's platform driver (so that
 * dma-debug's driver filter, dma_debug_driver=heaplab_importer, can single
 * its reports out), driven through debugfs heaplab_importer/ctl. Each
 * write is one command; reading returns the last command's result as
 * "key=value" words. One session (open file) at a time; closing it unmaps
 * and detaches whatever it left.
 *
 *   config SEG BITS   max segment size in bytes (4096 .. 4294967295) and
 *                     DMA mask width (32 .. 64); only while detached
 *   attach FD         dma_buf_attach() the dma-buf behind FD
 *   map to|from|bidi  dma_buf_map_attachment() in that direction
 *   check             the mapped table: nents, longest segment, total;
 *                     fails (EBADMSG) unless the segments cover the buffer
 *                     exactly, none is longer than SEG and none ends above
 *                     the mask
 *   devread SEED STEP the device reads the buffer through its DMA
 *                     addresses, and finds the stamps (below) of SEED on
 *                     every STEP-th page and the last one (EBADMSG if not)
 *   devwrite SEED STEP the device writes those stamps
 *   vmapcheck SEED STEP the same check through the kernel mapping
 *                     (dma_buf_vmap() inside begin/end_cpu_access)
 *   unmap, detach
 *
 * A stamp is one u64 at every 64-byte boundary of the buffer, derived from
 * SEED and its offset, so a segment that is missing, doubled or out of
 * order, or a bounce buffer that was not copied back, is found.
 *
 * The device is emulated: it accesses memory where dma-direct says its DMA
 * addresses are (the buffer's pages, or swiotlb's bounce slots), which is
 * what a device without an IOMMU reaches. With any other dma_map_ops the
 * device commands refuse (EOPNOTSUPP). x86 is always DMA-coherent: the
 * result says coherent=1; a non-coherent device cannot be had there.
 */
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <heaplab/compat.h>

#define IMP_RESULT_MAX	256
#define IMP_STAMP_STRIDE 64

struct imp_session {
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	enum dma_data_direction dir;
	char result[IMP_RESULT_MAX];
};

static struct platform_device *imp_pdev;
static struct device_dma_parameters imp_dma_parms;
static struct dentry *imp_dir;
static DEFINE_MUTEX(imp_lock);	/* one session at a time */
static bool imp_busy;

static struct device *imp_dev(void)
{
	return &imp_pdev->dev;
}

static u64 imp_stamp(u64 seed, u64 off)
{
	return (seed * 0x9e3779b97f4a7c15ULL) ^ off ^ 0x5a5a000000000000ULL;
}

/* A stamp is checked or written at @off when its page is a sampled one. */
static bool imp_sampled(u64 off, u64 size, u64 step)
{
	u64 pg = off >> PAGE_SHIFT;

	return !(pg % step) || pg == (size - 1) >> PAGE_SHIFT;
}

static struct sg_table *imp_map(struct dma_buf_attachment *attach,
				enum dma_data_direction dir)
{
	return heaplab_dma_buf_map_unlocked(attach, dir);
}

static void imp_unmap(struct imp_session *s)
{
	if (!s->sgt)
		return;
	heaplab_dma_buf_unmap_unlocked(s->attach, s->sgt, s->dir);
	s->sgt = NULL;
}

static void imp_detach(struct imp_session *s)
{
	imp_unmap(s);
	if (s->attach)
		dma_buf_detach(s->dmabuf, s->attach);
	if (s->dmabuf)
		dma_buf_put(s->dmabuf);
	s->attach = NULL;
	s->dmabuf = NULL;
}

static int imp_config(struct imp_session *s, u64 seg, unsigned int bits)
{
	int ret;

	if (s->attach)
		return -EBUSY;
	if (seg < PAGE_SIZE || seg > UINT_MAX || bits < 32 || bits > 64)
		return -EINVAL;
	ret = heaplab_dma_set_max_seg_size(imp_dev(), seg);
	if (ret)
		return ret;
	ret = dma_set_mask_and_coherent(imp_dev(), DMA_BIT_MASK(bits));
	if (ret)
		return ret;
	scnprintf(s->result, IMP_RESULT_MAX,
		  "max_seg=%u mask_bits=%u max_mapping=%zu coherent=%d direct=%d\n",
		  dma_get_max_seg_size(imp_dev()), bits,
		  dma_max_mapping_size(imp_dev()),
		  dev_is_dma_coherent(imp_dev()), !get_dma_ops(imp_dev()));
	return 0;
}

static int imp_attach(struct imp_session *s, int fd)
{
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;

	if (s->attach)
		return -EBUSY;
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	attach = dma_buf_attach(dmabuf, imp_dev());
	if (IS_ERR(attach)) {
		dma_buf_put(dmabuf);
		return PTR_ERR(attach);
	}
	s->dmabuf = dmabuf;
	s->attach = attach;
	scnprintf(s->result, IMP_RESULT_MAX, "size=%zu\n", dmabuf->size);
	return 0;
}

static int imp_do_map(struct imp_session *s, const char *how)
{
	enum dma_data_direction dir;
	struct sg_table *sgt;

	if (!s->attach || s->sgt)
		return -EBUSY;
	if (!strcmp(how, "to"))
		dir = DMA_TO_DEVICE;
	else if (!strcmp(how, "from"))
		dir = DMA_FROM_DEVICE;
	else if (!strcmp(how, "bidi"))
		dir = DMA_BIDIRECTIONAL;
	else
		return -EINVAL;
	sgt = imp_map(s->attach, dir);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	s->sgt = sgt;
	s->dir = dir;
	scnprintf(s->result, IMP_RESULT_MAX, "nents=%u\n", sgt->nents);
	return 0;
}

/* What a device is promised: every segment within its limits, no gap. */
static int imp_check(struct imp_session *s)
{
	u64 mask = dma_get_mask(imp_dev()), total = 0, longest = 0;
	unsigned int max = dma_get_max_seg_size(imp_dev());
	unsigned int over = 0, high = 0;
	struct scatterlist *sg;
	int i;

	if (!s->sgt)
		return -EBUSY;
	for_each_sgtable_dma_sg(s->sgt, sg, i) {
		u64 len = sg_dma_len(sg);

		total += len;
		longest = max_t(u64, longest, len);
		if (len > max)
			over++;
		if (len && sg_dma_address(sg) + len - 1 > mask)
			high++;
	}
	scnprintf(s->result, IMP_RESULT_MAX,
		  "nents=%u total=%llu size=%zu longest=%llu max_seg=%u over=%u above_mask=%u\n",
		  s->sgt->nents, total, s->dmabuf->size, longest, max, over, high);
	return total == s->dmabuf->size && !over && !high ? 0 : -EBADMSG;
}

/*
 * The emulated device's access to the buffer: the stamp words at the CPU
 * addresses where dma-direct puts its DMA addresses, one page at a time
 * (a segment's DMA range is physically contiguous under dma-direct).
 */
static u64 imp_page_access(u64 *p, u64 first, unsigned int words, bool write,
			   u64 seed)
{
	unsigned int w, step = IMP_STAMP_STRIDE / sizeof(*p);
	u64 bad = 0;

	for (w = 0; w < words; w += step) {
		u64 want = imp_stamp(seed, first + w * sizeof(*p));

		if (write)
			p[w] = want;
		else if (p[w] != want)
			bad++;
	}
	return bad;
}

static int imp_dev_access(struct imp_session *s, bool write, u64 seed, u64 step)
{
	u64 off = 0, bad = 0, checked = 0;
	struct scatterlist *sg;
	int i;

	if (!s->sgt)
		return -EBUSY;
	if (get_dma_ops(imp_dev()))
		return -EOPNOTSUPP;	/* an IOMMU: not emulated */
	for_each_sgtable_dma_sg(s->sgt, sg, i) {
		dma_addr_t addr = sg_dma_address(sg);
		u64 len = sg_dma_len(sg), o, n;

		for (o = 0; o < len; o += n) {
			phys_addr_t phys = dma_to_phys(imp_dev(), addr + o);
			u64 *p;

			/* up to the end of this CPU page or of the segment */
			n = min_t(u64, len - o, PAGE_SIZE - offset_in_page(phys));
			if (!imp_sampled(off + o, s->dmabuf->size, step))
				continue;
			p = kmap_local_page(pfn_to_page(PHYS_PFN(phys)));
			bad += imp_page_access((u64 *)((char *)p + offset_in_page(phys)),
					       off + o, n / sizeof(u64), write, seed);
			kunmap_local(p);
			checked += DIV_ROUND_UP(n, IMP_STAMP_STRIDE);
		}
		off += len;
		cond_resched();
	}
	scnprintf(s->result, IMP_RESULT_MAX, "%s=%llu bad=%llu\n",
		  write ? "written" : "checked", checked, bad);
	return bad ? -EBADMSG : 0;
}

static int imp_vmapcheck(struct imp_session *s, u64 seed, u64 step)
{
	u64 off, bad = 0, checked = 0;
	struct iosys_map map;
	int ret;

	if (!s->dmabuf)
		return -EBUSY;
	ret = heaplab_dma_buf_vmap_unlocked(s->dmabuf, &map);
	if (ret)
		return ret;
	ret = dma_buf_begin_cpu_access(s->dmabuf, DMA_FROM_DEVICE);
	if (ret)
		goto out;
	for (off = 0; off < s->dmabuf->size; off += IMP_STAMP_STRIDE) {
		if (!imp_sampled(off, s->dmabuf->size, step))
			continue;
		if (*(u64 *)(map.vaddr + off) != imp_stamp(seed, off))
			bad++;
		checked++;
	}
	ret = dma_buf_end_cpu_access(s->dmabuf, DMA_FROM_DEVICE);
	scnprintf(s->result, IMP_RESULT_MAX, "checked=%llu bad=%llu\n",
		  checked, bad);
	if (!ret && bad)
		ret = -EBADMSG;
out:
	heaplab_dma_buf_vunmap_unlocked(s->dmabuf, &map);
	return ret;
}

static int imp_command(struct imp_session *s, char *cmd)
{
	unsigned long long a, b;
	char word[8];
	int fd;

	s->result[0] = '\0';
	if (sscanf(cmd, "config %llu %llu", &a, &b) == 2)
		return imp_config(s, a, b);
	if (sscanf(cmd, "attach %d", &fd) == 1)
		return imp_attach(s, fd);
	if (sscanf(cmd, "map %7s", word) == 1)
		return imp_do_map(s, word);
	if (sysfs_streq(cmd, "check"))
		return imp_check(s);
	if (sscanf(cmd, "devread %llu %llu", &a, &b) == 2 && b)
		return imp_dev_access(s, false, a, b);
	if (sscanf(cmd, "devwrite %llu %llu", &a, &b) == 2 && b)
		return imp_dev_access(s, true, a, b);
	if (sscanf(cmd, "vmapcheck %llu %llu", &a, &b) == 2 && b)
		return imp_vmapcheck(s, a, b);
	if (sysfs_streq(cmd, "unmap")) {
		if (!s->sgt)
			return -EBUSY;
		imp_unmap(s);
		return 0;
	}
	if (sysfs_streq(cmd, "detach")) {
		if (!s->attach)
			return -EBUSY;
		imp_detach(s);
		return 0;
	}
	return -EINVAL;
}

static int imp_open(struct inode *inode, struct file *file)
{
	struct imp_session *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	mutex_lock(&imp_lock);
	if (imp_busy) {
		mutex_unlock(&imp_lock);
		kfree(s);
		return -EBUSY;
	}
	imp_busy = true;
	mutex_unlock(&imp_lock);
	file->private_data = s;
	return 0;
}

static int imp_release(struct inode *inode, struct file *file)
{
	struct imp_session *s = file->private_data;

	imp_detach(s);
	kfree(s);
	mutex_lock(&imp_lock);
	imp_busy = false;
	mutex_unlock(&imp_lock);
	return 0;
}

static ssize_t imp_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	struct imp_session *s = file->private_data;
	char *cmd;
	int ret;

	if (!count || count >= 128)
		return -EINVAL;
	cmd = memdup_user_nul(ubuf, count);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	ret = imp_command(s, strim(cmd));
	kfree(cmd);
	return ret ? ret : count;
}

/* Always the whole result: each read starts over, as a command does. */
static ssize_t imp_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	struct imp_session *s = file->private_data;
	loff_t pos = 0;

	return simple_read_from_buffer(ubuf, count, &pos, s->result,
				       strlen(s->result));
}

static const struct file_operations imp_fops = {
	.owner = THIS_MODULE,
	.open = imp_open,
	.release = imp_release,
	.write = imp_write,
	.read = imp_read,
	.llseek = heaplab_no_llseek,
};

static int imp_probe(struct platform_device *pdev)
{
	return 0;
}

static struct platform_driver imp_driver = {
	.probe = imp_probe,
	.driver = { .name = "heaplab_importer" },
};

static int __init imp_init(void)
{
	int ret;

	ret = platform_driver_register(&imp_driver);
	if (ret)
		return ret;
	imp_pdev = platform_device_register_simple("heaplab_importer", -1,
						   NULL, 0);
	if (IS_ERR(imp_pdev)) {
		platform_driver_unregister(&imp_driver);
		return PTR_ERR(imp_pdev);
	}
	imp_pdev->dev.dma_parms = &imp_dma_parms;
	ret = heaplab_dma_set_max_seg_size(imp_dev(), SZ_64K);
	if (!ret)
		ret = dma_set_mask_and_coherent(imp_dev(), DMA_BIT_MASK(64));
	if (ret) {
		platform_device_unregister(imp_pdev);
		platform_driver_unregister(&imp_driver);
		return ret;
	}
	imp_dir = debugfs_create_dir("heaplab_importer", NULL);
	debugfs_create_file("ctl", 0600, imp_dir, NULL, &imp_fops);
	return 0;
}

static void __exit imp_exit(void)
{
	debugfs_remove_recursive(imp_dir);
	platform_device_unregister(imp_pdev);
	platform_driver_unregister(&imp_driver);
}

module_init(imp_init);
module_exit(imp_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("heaplab developers");
MODULE_DESCRIPTION("heaplab test-only dma-buf importer with settable DMA limits");
HEAPLAB_MODULE_IMPORT_DMA_BUF();
