// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab page pools: pre-cleared chunks per order, a low-priority worker
 * that fills them and clears freed chunks (deferred free), and a shrinker.
 *
 * Learned from Android's heap page pools and deferred free: the
 * allocating thread takes cleared chunks and builds the table; clearing,
 * and giving memory back, happen on a thread at nice 19 on whichever CPU
 * is idle. Differences, and why:
 *  - one worker per pool does both jobs, freed chunks first: a freed chunk
 *    is memory we already hold, cheaper than a new one;
 *  - a chunk is kept only if ours is its last reference (an O_DIRECT read
 *    still in flight holds one): such a chunk goes back to the page
 *    allocator, whose last put frees it, never into another buffer;
 *  - recycled chunks are cleared whatever init_on_alloc says: they never
 *    went back to the page allocator, which is what clears there;
 *  - the worker refills only with plenty of memory available, never
 *    reclaims for it, and not for a second after the shrinker ran, so it
 *    does not fight the reclaim that emptied it.
 *
 * Accounting: a chunk in the pool (cleared, or queued to be) counts in
 * pool_pages; the owner counts a chunk from heaplab_pool_take() until it
 * gives it back (the system heap: in pages_held). pool_pages goes to zero
 * exactly when the pool is destroyed.
 *
 * The pool knows no heap: its worker reports what it cleared through the
 * owner's callback, which must be safe to call until
 * heaplab_pool_destroy() returns.
 *
 * Module parameters of heaplab_heap.ko (writable at runtime):
 *  pool		0 turns every pool off: allocations clear on their own
 *			thread and frees give back at once (upstream's way);
 *			the worker drains what it holds.
 *  pool_size_mb	the level each pool is kept at (0: 1/64 of RAM, at
 *			most 64 MiB: 16 MiB on a 1 GiB phone, 64 MiB on a
 *			server); split 3/4, 3/16, 1/16 over the orders, large
 *			first. Freed chunks are kept up to twice the level.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/freezer.h>
#include <linux/ktime.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/vmstat.h>
#include <linux/wait.h>

#include <heaplab/compat.h>
#include "../heaplab_trace.h"
#include "clear.h"
#include "page-pool.h"

static bool pool = true;
module_param(pool, bool, 0644);
MODULE_PARM_DESC(pool, "keep pools of pre-cleared pages (default Y; N: clear on the allocating thread)");

static unsigned int pool_size_mb;
module_param(pool_size_mb, uint, 0644);
MODULE_PARM_DESC(pool_size_mb,
		 "pages each heap's pool is kept filled with, in MiB (0, the default: RAM/64, at most 64 MiB)");

/* Share of the level per order index (largest order first), in 16ths. */
static const unsigned int pool_share[HEAPLAB_POOL_MAX_ORDERS] = { 12, 3, 1, 0 };

struct heaplab_pool {
	heaplab_pool_cleared_fn cleared;
	char *name;
	int norders;
	unsigned int orders[HEAPLAB_POOL_MAX_ORDERS];
	gfp_t gfp[HEAPLAB_POOL_MAX_ORDERS];
	spinlock_t lock;	/* the lists and their counts */
	struct list_head clean[HEAPLAB_POOL_MAX_ORDERS];
	unsigned long nclean[HEAPLAB_POOL_MAX_ORDERS];	/* pages */
	struct list_head freed;		/* chunks to clear; order in page->private */
	unsigned long nfreed;		/* pages */
	struct task_struct *worker;
	wait_queue_head_t wait;
	unsigned long shrunk_at;	/* jiffies of the last shrink */
	struct shrinker *shrinker;
	atomic64_t pool_pages, hits, misses, refills, recycled, released;
	atomic64_t shrunk, cleared_pages, clear_ns;
};

static unsigned long pool_level_pages(void)
{
	unsigned long mb = READ_ONCE(pool_size_mb);

	if (!mb)
		return min(totalram_pages() / 64, 64UL << (20 - PAGE_SHIFT));
	return mb << (20 - PAGE_SHIFT);
}

static unsigned long pool_target(struct heaplab_pool *p, int idx)
{
	return pool_level_pages() * pool_share[idx] / 16;
}

static int pool_index(struct heaplab_pool *p, unsigned int order)
{
	int i;

	for (i = 0; i < p->norders; i++)
		if (p->orders[i] == order)
			return i;
	return -1;
}

/* Give a chunk back to the page allocator (its last put, if ours is). */
static void pool_release(struct heaplab_pool *p, struct page *page,
			 unsigned int order, const char *why)
{
	__free_pages(page, order);
	atomic64_sub(1L << order, &p->pool_pages);
	atomic64_add(1L << order, &p->released);
	trace_heaplab_pool(p->name, why, order, atomic64_read(&p->pool_pages));
}

/*
 * Waking the worker costs the waker an IPI when the worker sleeps on
 * another CPU (tens of microseconds under emulation, as much as a whole
 * small allocation, and a free of 1 MiB took 1.7 times upstream's): an
 * allocation or a free wakes it only when that order is below half its
 * target, and not within a second of a shrink (it may not refill then).
 * Otherwise its periodic look (POOL_TICK) finds the work.
 */
#define POOL_TICK	(HZ / 10)

static bool pool_in_holdoff(struct heaplab_pool *p)
{
	return time_before(jiffies, READ_ONCE(p->shrunk_at) + HZ);
}

/* Under the lock: does order index @idx need the worker now? */
static bool pool_low(struct heaplab_pool *p, int idx)
{
	return p->nclean[idx] < pool_target(p, idx) / 2 && !pool_in_holdoff(p);
}

/* Under the lock: the oldest freed chunk and its order, or NULL. */
static struct page *pool_pop_freed(struct heaplab_pool *p, unsigned int *order)
{
	struct page *page = list_first_entry_or_null(&p->freed, struct page, lru);

	if (!page)
		return NULL;
	list_del(&page->lru);
	*order = page_private(page);
	set_page_private(page, 0);
	p->nfreed -= 1UL << *order;
	return page;
}

/* Under the lock: a cleared chunk of order index @idx, or NULL. */
static struct page *pool_pop_clean(struct heaplab_pool *p, int idx)
{
	struct page *page = list_first_entry_or_null(&p->clean[idx], struct page, lru);

	if (!page)
		return NULL;
	list_del(&page->lru);
	p->nclean[idx] -= 1UL << p->orders[idx];
	return page;
}

/*
 * A cleared chunk of the pool, or NULL (pool off or empty: the caller takes
 * one from the page allocator). The chunk's pages leave pool_pages: the
 * caller counts them from now on.
 */
struct page *heaplab_pool_take(struct heaplab_pool *p, int idx)
{
	unsigned int order = p->orders[idx];
	struct page *page;
	bool low;

	if (!READ_ONCE(pool))
		return NULL;
	spin_lock(&p->lock);
	page = pool_pop_clean(p, idx);
	low = pool_low(p, idx);
	spin_unlock(&p->lock);
	if (page) {
		atomic64_sub(1L << order, &p->pool_pages);
		atomic64_inc(&p->hits);
	} else {
		atomic64_inc(&p->misses);
	}
	trace_heaplab_pool(p->name, page ? "hit" : "miss", order,
			   atomic64_read(&p->pool_pages));
	if (low)
		wake_up(&p->wait);
	return page;
}
EXPORT_SYMBOL_GPL(heaplab_pool_take);

/*
 * A chunk the heap is done with (a freed buffer, or an allocation that
 * failed part way): queued for the worker, which clears and keeps it or
 * gives it back. With the pool off it goes back at once, on this thread.
 * The caller stops counting it before the call.
 */
void heaplab_pool_give(struct heaplab_pool *p, struct page *page,
		       unsigned int order)
{
	int idx = pool_index(p, order);
	bool wake;

	if (!READ_ONCE(pool) || idx < 0) {
		__free_pages(page, order);
		return;
	}
	atomic64_add(1L << order, &p->pool_pages);
	set_page_private(page, order);
	spin_lock(&p->lock);
	list_add_tail(&page->lru, &p->freed);
	p->nfreed += 1UL << order;
	wake = pool_low(p, idx);
	spin_unlock(&p->lock);
	if (wake)
		wake_up(&p->wait);
}
EXPORT_SYMBOL_GPL(heaplab_pool_give);

static void pool_clear(struct heaplab_pool *p, struct page *page,
		       unsigned int order)
{
	ktime_t start = ktime_get();

	if (!heaplab_clear_chunk(page, order))
		return;
	atomic64_add(ktime_to_ns(ktime_sub(ktime_get(), start)), &p->clear_ns);
	atomic64_add(1L << order, &p->cleared_pages);
	p->cleared(1UL << order);
}

static void pool_add_clean(struct heaplab_pool *p, int idx, struct page *page)
{
	spin_lock(&p->lock);
	list_add_tail(&page->lru, &p->clean[idx]);
	p->nclean[idx] += 1UL << p->orders[idx];
	spin_unlock(&p->lock);
}

/* Not for a second after a shrink, and never short of memory. */
static bool pool_may_grow(struct heaplab_pool *p)
{
	long avail = si_mem_available() -
		     (long)global_zone_page_state(NR_FREE_CMA_PAGES);

	if (!READ_ONCE(pool) || pool_in_holdoff(p))
		return false;
	return avail > (long)(totalram_pages() / 8 + pool_level_pages());
}

/* One freed chunk: keep it cleared, or give it back. False if none. */
static bool pool_recycle_one(struct heaplab_pool *p)
{
	unsigned int order;
	struct page *page;
	bool keep;
	int idx;

	spin_lock(&p->lock);
	page = pool_pop_freed(p, &order);
	spin_unlock(&p->lock);
	if (!page)
		return false;
	idx = pool_index(p, order);
	/* Ours must be the last reference: see the top of this file. */
	keep = page_ref_count(page) == 1 && pool_may_grow(p) &&
	       READ_ONCE(p->nclean[idx]) < 2 * pool_target(p, idx);
	if (!keep) {
		pool_release(p, page, order, "release");
		return true;
	}
	pool_clear(p, page, order);
	pool_add_clean(p, idx, page);
	atomic64_inc(&p->recycled);
	trace_heaplab_pool(p->name, "recycle", order, atomic64_read(&p->pool_pages));
	return true;
}

/* Top up one order below its target by one chunk. False if none was. */
static bool pool_refill_one(struct heaplab_pool *p)
{
	struct page *page;
	int idx;

	for (idx = 0; idx < p->norders; idx++) {
		if (READ_ONCE(p->nclean[idx]) >= pool_target(p, idx))
			continue;
		if (!pool_may_grow(p))
			return false;
		/* Only what is free now: never reclaim to fill a pool. */
		page = alloc_pages((p->gfp[idx] & ~__GFP_RECLAIM) |
				   __GFP_NOWARN | __GFP_NORETRY, p->orders[idx]);
		if (!page)
			continue;
		atomic64_add(1L << p->orders[idx], &p->pool_pages);
		if (!heaplab_kernel_clears_pages())
			pool_clear(p, page, p->orders[idx]);
		pool_add_clean(p, idx, page);
		atomic64_inc(&p->refills);
		trace_heaplab_pool(p->name, "refill", p->orders[idx],
				   atomic64_read(&p->pool_pages));
		return true;
	}
	return false;
}

/* With the pool off: give back every cleared chunk. */
static void pool_drain(struct heaplab_pool *p, const char *why)
{
	struct page *page;
	int idx;

	for (idx = 0; idx < p->norders; idx++) {
		for (;;) {
			spin_lock(&p->lock);
			page = pool_pop_clean(p, idx);
			spin_unlock(&p->lock);
			if (!page)
				break;
			pool_release(p, page, p->orders[idx], why);
		}
	}
}

static bool pool_has_work(struct heaplab_pool *p)
{
	int idx;

	if (READ_ONCE(p->nfreed))
		return true;
	if (!READ_ONCE(pool)) {
		for (idx = 0; idx < p->norders; idx++)
			if (READ_ONCE(p->nclean[idx]))
				return true;
		return false;
	}
	for (idx = 0; idx < p->norders; idx++)
		if (READ_ONCE(p->nclean[idx]) < pool_target(p, idx))
			return pool_may_grow(p);
	return false;
}

static int pool_worker(void *data)
{
	struct heaplab_pool *p = data;

	set_freezable();
	while (!kthread_should_stop()) {
		/*
		 * Woken for much work only (see POOL_TICK); parameters and
		 * the shrink hold-off also change unseen.
		 */
		wait_event_freezable_timeout(p->wait, kthread_should_stop() ||
					     pool_has_work(p), POOL_TICK);
		while (!kthread_should_stop()) {
			if (pool_recycle_one(p))
				continue;
			if (!READ_ONCE(pool)) {
				pool_drain(p, "drain");
				break;
			}
			if (!pool_refill_one(p))
				break;
			cond_resched();
		}
	}
	return 0;
}

static struct heaplab_pool *pool_of(struct shrinker *s)
{
	return heaplab_shrinker_data(s);
}

static unsigned long pool_count(struct shrinker *s, struct shrink_control *sc)
{
	struct heaplab_pool *p = pool_of(s);
	long n = atomic64_read(&p->pool_pages);

	return n > 0 ? n : SHRINK_EMPTY;
}

/* Freed chunks first (not cleared yet), then cleared ones, large first. */
static unsigned long pool_scan(struct shrinker *s, struct shrink_control *sc)
{
	struct heaplab_pool *p = pool_of(s);
	unsigned long freed = 0;
	unsigned int order;
	struct page *page;
	int idx;

	WRITE_ONCE(p->shrunk_at, jiffies);
	while (freed < sc->nr_to_scan) {
		spin_lock(&p->lock);
		page = pool_pop_freed(p, &order);
		for (idx = 0; idx < p->norders && !page; idx++) {
			page = pool_pop_clean(p, idx);
			order = p->orders[idx];
		}
		spin_unlock(&p->lock);
		if (!page)
			break;
		pool_release(p, page, order, "shrink");
		atomic64_add(1L << order, &p->shrunk);
		freed += 1UL << order;
	}
	return freed ? freed : SHRINK_STOP;
}

void heaplab_pool_stats_show(struct seq_file *s, struct heaplab_pool *p)
{
	int idx;

	seq_printf(s, "pool %d\n", READ_ONCE(pool));
	seq_printf(s, "pool_pages %lld\n", atomic64_read(&p->pool_pages));
	seq_printf(s, "pool_target_pages %lu\n", pool_level_pages());
	for (idx = 0; idx < p->norders; idx++)
		seq_printf(s, "pool_order%u_pages %lu\n", p->orders[idx],
			   READ_ONCE(p->nclean[idx]));
	for (idx = 0; idx < p->norders; idx++)
		seq_printf(s, "pool_order%u_target_pages %lu\n", p->orders[idx],
			   pool_target(p, idx));
	seq_printf(s, "pool_freed_pages %lu\n", READ_ONCE(p->nfreed));
	seq_printf(s, "pool_hits %lld\n", atomic64_read(&p->hits));
	seq_printf(s, "pool_misses %lld\n", atomic64_read(&p->misses));
	seq_printf(s, "pool_refills %lld\n", atomic64_read(&p->refills));
	seq_printf(s, "pool_recycled %lld\n", atomic64_read(&p->recycled));
	seq_printf(s, "pool_released %lld\n", atomic64_read(&p->released));
	seq_printf(s, "pool_shrunk_pages %lld\n", atomic64_read(&p->shrunk));
	seq_printf(s, "pool_cleared_pages %lld\n", atomic64_read(&p->cleared_pages));
	seq_printf(s, "pool_clear_ns %lld\n", atomic64_read(&p->clear_ns));
	seq_printf(s, "pool_worker_pid %d\n", task_pid_nr(p->worker));
}
EXPORT_SYMBOL_GPL(heaplab_pool_stats_show);

/*
 * A pool named @name (threads, shrinker, tracepoint) for chunks of
 * @orders (largest first), taken with @gfp; @cleared counts what its
 * worker clears. The worker starts filling it at once.
 */
struct heaplab_pool *heaplab_pool_create(const char *name,
					 const unsigned int *orders,
					 const gfp_t *gfp, int norders,
					 heaplab_pool_cleared_fn cleared)
{
	struct heaplab_pool *p;
	int i, ret;

	if (norders < 1 || norders > HEAPLAB_POOL_MAX_ORDERS || !cleared)
		return ERR_PTR(-EINVAL);
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return ERR_PTR(-ENOMEM);
	p->cleared = cleared;
	p->name = kstrdup(name, GFP_KERNEL);
	if (!p->name) {
		kfree(p);
		return ERR_PTR(-ENOMEM);
	}
	p->norders = norders;
	for (i = 0; i < norders; i++) {
		p->orders[i] = orders[i];
		p->gfp[i] = gfp[i];
		INIT_LIST_HEAD(&p->clean[i]);
	}
	INIT_LIST_HEAD(&p->freed);
	spin_lock_init(&p->lock);
	init_waitqueue_head(&p->wait);
	p->shrunk_at = jiffies - HZ;
	p->shrinker = heaplab_shrinker_create(pool_count, pool_scan, p, p->name);
	if (!p->shrinker) {
		ret = -ENOMEM;
		goto err_free;
	}
	p->worker = kthread_run(pool_worker, p, "heaplab_pool/%s", p->name);
	if (IS_ERR(p->worker)) {
		ret = PTR_ERR(p->worker);
		goto err_shrinker;
	}
	/* Background work: only on what would otherwise be idle time. */
	set_user_nice(p->worker, MAX_NICE);
	return p;

err_shrinker:
	heaplab_shrinker_free(p->shrinker);
err_free:
	kfree(p->name);
	kfree(p);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(heaplab_pool_create);

/*
 * Once nothing can take or give any more (the system heap: from its exit,
 * no buffer alive, before heaplab_heap_remove(), since the worker's
 * @cleared counts into the heap). Every pooled page goes back to the page
 * allocator.
 */
void heaplab_pool_destroy(struct heaplab_pool *p)
{
	unsigned int order;
	struct page *page;

	if (IS_ERR_OR_NULL(p))
		return;
	kthread_stop(p->worker);
	heaplab_shrinker_free(p->shrinker);
	while ((page = pool_pop_freed(p, &order)))
		pool_release(p, page, order, "unload");
	pool_drain(p, "unload");
	WARN_ON(atomic64_read(&p->pool_pages));
	kfree(p->name);
	kfree(p);
}
EXPORT_SYMBOL_GPL(heaplab_pool_destroy);
