// SPDX-License-Identifier: GPL-2.0
/*
 * Test hooks of heaplab_heap.ko, linked in only by test builds (see
 * heaplab_test_hooks.h). Their knobs are module parameters, writable at
 * runtime under /sys/module/heaplab_heap/parameters/.
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/export.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>

#include "../heaplab_test_hooks.h"

static unsigned int test_alloc_delay_us;
module_param(test_alloc_delay_us, uint, 0644);
MODULE_PARM_DESC(test_alloc_delay_us,
		 "test builds only: spin this long in every allocation (injected regression)");

/*
 * Spin rather than sleep: a slower allocation path is CPU time. A sleep
 * idles the vCPU, and under QEMU the host then gives its core away, so
 * the free that follows also ran slower and a comparison saw two
 * regressions where one was injected. udelay() takes at most a few ms.
 */
void heaplab_test_alloc_delay(void)
{
	unsigned int us = READ_ONCE(test_alloc_delay_us);

	while (us) {
		unsigned int step = min(us, 1000U);

		udelay(step);
		us -= step;
		cond_resched();
	}
}

static unsigned int test_add_delay_ms;
module_param(test_add_delay_ms, uint, 0644);
MODULE_PARM_DESC(test_add_delay_ms,
		 "test builds only: sleep this long when a heap is added, after its node exists (widens a load race)");

void heaplab_test_add_delay(void)
{
	unsigned int ms = READ_ONCE(test_add_delay_ms);

	if (ms)
		msleep(ms);
}

static bool test_skip_zero;
module_param(test_skip_zero, bool, 0644);
MODULE_PARM_DESC(test_skip_zero,
		 "test builds only: do not clear pages before handing them out (injected bug)");

bool heaplab_test_skip_zero(void)
{
	return READ_ONCE(test_skip_zero);
}
EXPORT_SYMBOL_GPL(heaplab_test_skip_zero);

static unsigned int test_leak_every;
module_param(test_leak_every, uint, 0644);
MODULE_PARM_DESC(test_leak_every,
		 "test builds only: leak one page every N buffer frees (system and CMA heaps), 0 never (injected bug)");

static atomic_t frees;

bool heaplab_test_leak_page(void)
{
	unsigned int n = READ_ONCE(test_leak_every);

	return n && !(atomic_inc_return(&frees) % n);
}
EXPORT_SYMBOL_GPL(heaplab_test_leak_page);
