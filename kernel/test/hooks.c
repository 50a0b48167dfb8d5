// SPDX-License-Identifier: GPL-2.0
/*
 * Test hooks of heaplab_heap.ko, linked in only by test builds (see
 * heaplab_test_hooks.h). Their knobs are module parameters, writable at
 * runtime under /sys/module/heaplab_heap/parameters/.
 */
#include <linux/delay.h>
#include <linux/moduleparam.h>

#include "../heaplab_test_hooks.h"

static unsigned int test_alloc_delay_us;
module_param(test_alloc_delay_us, uint, 0644);
MODULE_PARM_DESC(test_alloc_delay_us,
		 "test builds only: sleep this long in every allocation (injected regression)");

void heaplab_test_alloc_delay(void)
{
	unsigned int us = READ_ONCE(test_alloc_delay_us);

	if (us)
		fsleep(us);
}
