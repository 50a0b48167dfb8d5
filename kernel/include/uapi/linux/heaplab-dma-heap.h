/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * heaplab DMA-BUF heaps UAPI.
 *
 * Binary-compatible with the upstream include/uapi/linux/dma-heap.h: the
 * same ioctl number and structure layout, so a program built against either
 * header works with heaplab's heaps and with the kernel's own. The names are
 * the upstream ones, so the two headers define the same things: either
 * may be included, or both, in either order.
 *
 * Upstream's guard is _UAPI_LINUX_DMABUF_POOL_H in the kernel tree and
 * _LINUX_DMABUF_POOL_H once `make headers_install` has stripped the _UAPI
 * (what /usr/include/linux/dma-heap.h has). Whichever came first wins: if
 * upstream's was included, skip ours; if ours is first, define upstream's
 * guard, so that <linux/dma-heap.h> after us is empty.
 */
#ifndef _UAPI_LINUX_HEAPLAB_DMA_HEAP_H
#define _UAPI_LINUX_HEAPLAB_DMA_HEAP_H

#if !defined(_UAPI_LINUX_DMABUF_POOL_H) && !defined(_LINUX_DMABUF_POOL_H)
#define _UAPI_LINUX_DMABUF_POOL_H
#define _LINUX_DMABUF_POOL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* fd_flags accepted by DMA_HEAP_IOCTL_ALLOC */
#define DMA_HEAP_VALID_FD_FLAGS (O_CLOEXEC | O_ACCMODE)

/* heap_flags: none are defined yet */
#define DMA_HEAP_VALID_HEAP_FLAGS (0ULL)

/**
 * struct dma_heap_allocation_data - argument of DMA_HEAP_IOCTL_ALLOC
 * @len:	size of the buffer wanted, in bytes (rounded up to pages)
 * @fd:	returned dma-buf fd; must be 0 on entry
 * @fd_flags:	file flags of the returned fd (O_CLOEXEC, O_ACCMODE)
 * @heap_flags:	heap-specific flags; must be 0
 */
struct dma_heap_allocation_data {
	__u64 len;
	__u32 fd;
	__u32 fd_flags;
	__u64 heap_flags;
};

#define DMA_HEAP_IOC_MAGIC		'H'

#define DMA_HEAP_IOCTL_ALLOC	_IOWR(DMA_HEAP_IOC_MAGIC, 0x0,\
				      struct dma_heap_allocation_data)

#endif /* neither upstream guard */
#endif /* _UAPI_LINUX_HEAPLAB_DMA_HEAP_H */
