/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test hooks: compiled only into test builds (HEAPLAB_TEST_HOOKS, which
 * kernel/Makefile.am sets for the debug build that make check loads), never
 * into what make install ships. Each one injects a known fault, so the
 * suite can prove it notices: a test that cannot fail proves nothing.
 */
#ifndef HEAPLAB_TEST_HOOKS_H
#define HEAPLAB_TEST_HOOKS_H

#include <linux/types.h>

#ifdef HEAPLAB_TEST_HOOKS
/* A fixed delay in every allocation: the regression heaplab compare must flag. */
void heaplab_test_alloc_delay(void);
/* Hand out pages without clearing them: what heaplab-stress verify must catch. */
bool heaplab_test_skip_zero(void);
/*
 * True once every N frees: the heap then leaks one page (system heap: to the
 * page allocator; CMA heap: to its area), for the stress leak check.
 */
bool heaplab_test_leak_page(void);
/* A delay at the end of heaplab_heap_add(), after the node is created. */
void heaplab_test_add_delay(void);
#else
static inline void heaplab_test_alloc_delay(void)
{
}

static inline bool heaplab_test_skip_zero(void)
{
	return false;
}

static inline bool heaplab_test_leak_page(void)
{
	return false;
}

static inline void heaplab_test_add_delay(void)
{
}
#endif

#endif /* HEAPLAB_TEST_HOOKS_H */
