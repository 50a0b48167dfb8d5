/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heaplab: every difference between kernel versions, in one place.
 *
 * configure tests each API (config/kernel-*.m4) and writes HAVE_* into
 * kernel/heaplab_config.h, which Kbuild force-includes. Only this header
 * reads those HAVE_* for an API: .c files call the heaplab_* shims below.
 * Each shim names the kernel version and the upstream commit that changed
 * the API. A missing feature (the CMA exports) gates a whole heap instead.
 */
#ifndef _HEAPLAB_COMPAT_H
#define _HEAPLAB_COMPAT_H

#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/shrinker.h>
#include <linux/slab.h>

/*
 * 5.18, "iosys-map: Rename from dma-buf-map": struct dma_buf_map became
 * struct iosys_map, the type of dma_buf_ops.vmap's argument.
 */
#ifdef HAVE_IOSYS_MAP
#include <linux/iosys-map.h>
#else
#include <linux/dma-buf-map.h>
#define iosys_map		dma_buf_map
#define iosys_map_set_vaddr	dma_buf_map_set_vaddr
#define iosys_map_clear		dma_buf_map_clear
#define iosys_map_is_null	dma_buf_map_is_null
#endif

/*
 * 5.16, "dma-buf: move dma-buf symbols into the DMA_BUF module namespace":
 * modules using dma-buf import it. 6.13, "module: Convert symbol
 * namespace to string literal": the namespace is a string.
 */
#if defined(HAVE_DMA_BUF_NS) && defined(HAVE_MODULE_IMPORT_NS_IDENT)
#define HEAPLAB_MODULE_IMPORT_DMA_BUF()	MODULE_IMPORT_NS(DMA_BUF)
#elif defined(HAVE_DMA_BUF_NS)
#define HEAPLAB_MODULE_IMPORT_DMA_BUF()	MODULE_IMPORT_NS("DMA_BUF")
#else
#define HEAPLAB_MODULE_IMPORT_DMA_BUF()	static_assert(1)
#endif

/*
 * 6.3, "mm: introduce vma->vm_flags wrapper functions": vm_flags is
 * read-only, set through vm_flags_set(); before, assigned directly.
 */
static inline void heaplab_vm_flags_set(struct vm_area_struct *vma,
					unsigned long flags)
{
#ifdef HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * 6.2, "dma-buf: Add unlocked variant of attachment-mapping functions"
 * (backported to some 6.1 stable kernels): an importer that does not hold
 * the reservation lock maps with the _unlocked variants; before, the
 * plain calls took the lock themselves.
 */
static inline struct sg_table *
heaplab_dma_buf_map_unlocked(struct dma_buf_attachment *attach,
			     enum dma_data_direction dir)
{
#ifdef HAVE_DMA_BUF_MAP_UNLOCKED
	return dma_buf_map_attachment_unlocked(attach, dir);
#else
	return dma_buf_map_attachment(attach, dir);
#endif
}

static inline void heaplab_dma_buf_unmap_unlocked(struct dma_buf_attachment *attach,
						  struct sg_table *sgt,
						  enum dma_data_direction dir)
{
#ifdef HAVE_DMA_BUF_MAP_UNLOCKED
	dma_buf_unmap_attachment_unlocked(attach, sgt, dir);
#else
	dma_buf_unmap_attachment(attach, sgt, dir);
#endif
}

/*
 * 6.2, "dma-buf: Add unlocked variant of vmapping functions": a caller
 * without the reservation lock maps with the _unlocked variants (the plain
 * ones warn); before, the plain calls took what they needed.
 */
static inline int heaplab_dma_buf_vmap_unlocked(struct dma_buf *dmabuf,
						struct iosys_map *map)
{
#ifdef HAVE_DMA_BUF_VMAP_UNLOCKED
	return dma_buf_vmap_unlocked(dmabuf, map);
#else
	return dma_buf_vmap(dmabuf, map);
#endif
}

static inline void heaplab_dma_buf_vunmap_unlocked(struct dma_buf *dmabuf,
						   struct iosys_map *map)
{
#ifdef HAVE_DMA_BUF_VMAP_UNLOCKED
	dma_buf_vunmap_unlocked(dmabuf, map);
#else
	dma_buf_vunmap(dmabuf, map);
#endif
}

/*
 * 6.7, "mm: shrinker: add infrastructure for dynamically allocating
 * shrinker": the core allocates the shrinker (shrinker_alloc(),
 * shrinker_register(), shrinker_free(), ->private_data). From 6.0 ("mm:
 * shrinkers: provide shrinkers with names") to 6.6 the caller embeds it
 * and registers it with a name; here it is allocated with the data next
 * to it, so both look the same to the caller.
 */
#ifndef HAVE_SHRINKER_ALLOC
struct heaplab_shrinker {
	struct shrinker shrinker;
	void *data;
};
#endif

static inline struct shrinker *
heaplab_shrinker_create(unsigned long (*count)(struct shrinker *,
					       struct shrink_control *),
			unsigned long (*scan)(struct shrinker *,
					      struct shrink_control *),
			void *data, const char *name)
{
#ifdef HAVE_SHRINKER_ALLOC
	struct shrinker *s = shrinker_alloc(0, "heaplab-pool-%s", name);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->private_data = data;
	shrinker_register(s);
	return s;
#else
	struct heaplab_shrinker *hs = kzalloc(sizeof(*hs), GFP_KERNEL);

	if (!hs)
		return NULL;
	hs->shrinker.count_objects = count;
	hs->shrinker.scan_objects = scan;
	hs->shrinker.seeks = DEFAULT_SEEKS;
	hs->data = data;
	if (register_shrinker(&hs->shrinker, "heaplab-pool-%s", name)) {
		kfree(hs);
		return NULL;
	}
	return &hs->shrinker;
#endif
}

static inline void *heaplab_shrinker_data(struct shrinker *s)
{
#ifdef HAVE_SHRINKER_ALLOC
	return s->private_data;
#else
	return container_of(s, struct heaplab_shrinker, shrinker)->data;
#endif
}

static inline void heaplab_shrinker_free(struct shrinker *s)
{
#ifdef HAVE_SHRINKER_ALLOC
	shrinker_free(s);
#else
	unregister_shrinker(s);
	kfree(container_of(s, struct heaplab_shrinker, shrinker));
#endif
}

/*
 * 6.2, "driver core: make struct class.devnode() take a const *".
 */
#ifdef HAVE_CLASS_DEVNODE_CONST
#define heaplab_devnode_device	const struct device
#else
#define heaplab_devnode_device	struct device
#endif

/*
 * 6.4, "driver core: class: remove module * from class_create()".
 */
#ifdef HAVE_CLASS_CREATE_NAME
#define heaplab_class_create(name)	class_create(name)
#else
#define heaplab_class_create(name)	class_create(THIS_MODULE, name)
#endif

/*
 * 6.12, "fs: remove no_llseek": a NULL .llseek makes a file unseekable.
 */
#ifdef HAVE_NO_LLSEEK
#define heaplab_no_llseek	no_llseek
#else
#define heaplab_no_llseek	NULL
#endif

/*
 * 6.12, "dma-mapping: don't return errors from dma_set_max_seg_size":
 * it returns void; before, -EIO for a device without dma_parms.
 */
static inline int heaplab_dma_set_max_seg_size(struct device *dev,
					       unsigned int size)
{
#ifdef HAVE_DMA_SET_MAX_SEG_SIZE_INT
	return dma_set_max_seg_size(dev, size);
#else
	dma_set_max_seg_size(dev, size);
	return 0;
#endif
}

/*
 * 6.10, "tracing/treewide: Remove second parameter of __assign_str()":
 * the source is the one named in __string(); heaplab's events always name
 * the same expression in both places. Expanded only inside TP_fast_assign.
 */
#ifdef HAVE_ASSIGN_STR_ONE_ARG
#define heaplab_assign_str(field, src)			\
	do {						\
		__assign_str(field);			\
		(void)(src);				\
	} while (0)
#else
#define heaplab_assign_str(field, src)	__assign_str(field, src)
#endif

#endif /* _HEAPLAB_COMPAT_H */
