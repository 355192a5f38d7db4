// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetimes of shadow address spaces and of the objects hanging off them
 * (kernel/fork.c's mm_alloc/mmput/mmdrop and vm_area_alloc/free).
 *
 * Lock ordering in the shadow_mm engine (outermost first). This is the one
 * lock tree: every other file points here. A function that expects a lock
 * held says so with lockdep_assert_held() or a shadow_mmap_assert_*()
 * helper, not in prose only.
 *
 *   task->lock                  (spinlock: which mm an fd uses; taken
 *                                alone, to take an mm_users reference)
 *   mm->mmap_lock               (rw_semaphore: the VMA tree, the VMAs and
 *                                the layout counters; write for changes,
 *                                read for faults, populating, madvise's
 *                                zaps and queries; a fault or access that
 *                                grows a stack drops its read hold, takes
 *                                it for writing and downgrades, as
 *                                lock_mm_and_find_vma; mmap, brk and
 *                                mremap populate after dropping it)
 *     child->mmap_lock          (fork: the child's, SINGLE_DEPTH_NESTING)
 *     shadow_file_objects_lock  (rw_semaphore: filemap.c's list of file
 *                                objects; write to add or free one, read
 *                                for the rmap walk of a page-cache page,
 *                                which nests each object's i_mmap_rwsem)
 *     anon_vma->root->rwsem     (rw_semaphore: the VMA lists of an anon_vma
 *     / i_mmap_rwsem             tree / of a shmem or file object; write to
 *                                link or unlink a VMA, read for the rmap
 *                                walks of rmap.c, whose rules say more)
 *       other mm->mmap_lock     (an rmap walk reaching a VMA of another
 *                                address space: mmap_read_trylock only, a
 *                                failure skips the VMA; a THP split holds
 *                                those of every address space of the
 *                                folio's anon_vma tree at once, trylocks
 *                                too; a failure fails the split)
 *         mm->page_table_lock   (spinlock: page-table entries, rss, table
 *                                and fault counters, vma->anon_vma when a
 *                                fault sets it; mremap moves entries under
 *                                it with mmap_lock held for writing, source
 *                                and destination under the one lock; a
 *                                PTE table shared by on-demand fork has no
 *                                lock of its own: nobody writes it while
 *                                it is shared, and each mm reads it under
 *                                its own page_table_lock: pgtable.c's
 *                                rules)
 *           parent->page_table_lock (copy_pte_range and the on-demand
 *                                fork's share: the child's is taken first,
 *                                the parent's nested inside,
 *                                SINGLE_DEPTH_NESTING)
 *           other mm->page_table_lock (a THP split, huge_memory.c:
 *                                the page_table_locks of every address
 *                                space of the folio's anon_vma tree, the
 *                                caller's included, in address order,
 *                                spin_lock_nest_lock under the tree's
 *                                rwsem; it holds each one's mmap_lock,
 *                                which keeps fork away)
 *             swap device lock  (the xa_lock of swapfile.c's slot xarray:
 *                                slot counts, the swap cache, page->swap;
 *                                taken inside page_table_lock by zap, fork,
 *                                do_swap_page, do_wp_page and try_to_unmap,
 *                                inside a shmem object's xarray lock, or
 *                                alone by reclaim and the swap-in)
 *             file page table lock (the xa_lock of filemap.c's pfn table:
 *                                a file page's metadata; also taken alone
 *                                by a fault)
 *             shadow_deferred_split_lock (spinlock: huge_memory.c's
 *                                deferred split queue; taken inside
 *                                page_table_lock by a zap and a split, or
 *                                alone when a folio is freed)
 *             anon_vma->root->children_lock (spinlock: a forked anon_vma
 *                                joins its parent's list, or a freed one
 *                                leaves it, in any context; innermost)
 *   shmem object's xarray lock  (inside a fault, or reclaim: the object's
 *                                pages and swap values; nests the swap
 *                                device lock)
 *   shadow_mmlist_lock          (spinlock: the list of live address spaces;
 *                                taken alone; a walker takes a user
 *                                reference on an entry and drops the lock
 *                                before looking at it, shadow_mmlist_next())
 *   shadow_user_mms_lock        (mutex: address spaces per user; taken
 *                                alone, in create, fork and the last mmput)
 *
 * No lock is held across a user copy except mmap_lock for reading.
 *
 * A debugfs read of an address space's directory (debugfs.c) takes mmap_lock
 * for reading, and page_table_lock inside it, as an ioctl does; removing
 * the directory waits for such reads, outside every lock of this tree.
 *
 * Lifetime of a struct shadow_mm:
 *
 *   shadow_mm_alloc()    mm_users = 1, mm_count = 1, on shadow_mmlist,
 *        |               counted against its user's max_mms_per_user
 *        |
 *   complete             create or fork succeeded: its debugfs directory
 *        |               appears (shadow_debugfs_mm_add)
 *   live                 each fd that has not exited holds one mm_users;
 *        |               an ioctl in flight holds one more (shadow_mmget),
 *        |               a debugfs reader too (shadow_mmget_not_zero)
 *   last shadow_mmput()  the debugfs directory goes, after its readers;
 *        |               exit_mmap: every VMA, page and page table is
 *        |               freed; off shadow_mmlist; no longer counted
 *        |               against its user; the users' mm_count reference
 *        |               is dropped. A debugfs reader's last put defers
 *        |               all this to a worker (shadow_mmput_async)
 *   last shadow_mmdrop() the PGD, the id and the struct are freed
 */
#include <linux/cred.h>
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "internal.h"

struct shadow_counters shadow_counters;

static struct kmem_cache *shadow_mm_cachep;
static struct kmem_cache *shadow_vma_cachep;
static DEFINE_IDA(shadow_mm_ida);

/* The live address spaces: the seed's mmlist. */
static LIST_HEAD(shadow_mmlist);
static DEFINE_SPINLOCK(shadow_mmlist_lock);

/* Runs the teardowns that shadow_mmput_async() defers. */
static struct workqueue_struct *shadow_mm_wq;

/*
 * Live address spaces per user (uid in the initial namespace -> count, as
 * an xarray value): RLIMIT_NPROC's counterpart for max_mms_per_user.
 */
static DEFINE_XARRAY(shadow_user_mms);
static DEFINE_MUTEX(shadow_user_mms_lock);

/*
 * Count one more address space against @uid, unless that takes it past
 * max_mms_per_user (0: no limit): then -EAGAIN, as fork(2) at RLIMIT_NPROC.
 */
static int shadow_user_mms_charge(unsigned int uid)
{
	unsigned int limit = READ_ONCE(shadow_max_mms_per_user);
	unsigned long count;
	int ret;

	mutex_lock(&shadow_user_mms_lock);
	count = xa_to_value(xa_load(&shadow_user_mms, uid) ?: xa_mk_value(0));
	if (limit && count >= limit) {
		ret = -EAGAIN;
		goto out_unlock;
	}
	ret = xa_err(xa_store(&shadow_user_mms, uid, xa_mk_value(count + 1),
			      SHADOW_GFP));
out_unlock:
	mutex_unlock(&shadow_user_mms_lock);
	return ret;
}

static void shadow_user_mms_uncharge(unsigned int uid)
{
	unsigned long count;

	mutex_lock(&shadow_user_mms_lock);
	count = xa_to_value(xa_load(&shadow_user_mms, uid));
	if (!WARN_ON_ONCE(!count)) {
		/* Storing a value in place of a value allocates nothing. */
		if (count == 1)
			xa_erase(&shadow_user_mms, uid);
		else
			xa_store(&shadow_user_mms, uid, xa_mk_value(count - 1),
				 GFP_NOWAIT);
	}
	mutex_unlock(&shadow_user_mms_lock);
}

/**
 * shadow_vm_area_alloc() - allocate a zeroed VMA for @mm (vm_area_alloc)
 * @mm: the address space it will belong to
 *
 * Return: the VMA, or NULL.
 */
struct shadow_vma *shadow_vm_area_alloc(struct shadow_mm *mm)
{
	struct shadow_vma *vma;

	vma = kmem_cache_zalloc(shadow_vma_cachep, SHADOW_GFP);
	if (!vma)
		return NULL;
	vma->vm_mm = mm;
	atomic_long_inc(&shadow_counters.vmas);
	return vma;
}

/**
 * shadow_vm_area_free() - free a VMA that is in no tree
 * @vma: the VMA
 */
void shadow_vm_area_free(struct shadow_vma *vma)
{
	atomic_long_dec(&shadow_counters.vmas);
	kmem_cache_free(shadow_vma_cachep, vma);
}

/**
 * shadow_mas_nomem_wait() - wait for memory after a tree store failed
 *
 * Return: true when memory could be had: the store is worth retrying.
 *
 * A blocking allocation reclaims (and charges the memcg) as the maple
 * tree's own non-blocking node allocation cannot.
 */
bool shadow_mas_nomem_wait(void)
{
	struct page *page = alloc_page(SHADOW_GFP);

	if (!page)
		return false;
	__free_page(page);
	return true;
}

/**
 * shadow_mm_alloc() - create an empty address space (mm_alloc)
 * @mmap_base: top of the top-down mmap area, already validated
 *
 * The address space is charged to the calling user.
 *
 * Return: the address space with one user, or an ERR_PTR: -EAGAIN when
 * the user has max_mms_per_user address spaces already, -ENOMEM.
 */
struct shadow_mm *shadow_mm_alloc(unsigned long mmap_base)
{
	unsigned int uid = from_kuid(&init_user_ns, current_uid());
	struct shadow_mm *mm;
	struct page *pgd_page;
	int id, ret;

	ret = shadow_user_mms_charge(uid);
	if (ret)
		return ERR_PTR(ret);

	ret = -ENOMEM;
	mm = kmem_cache_zalloc(shadow_mm_cachep, SHADOW_GFP);
	if (!mm)
		goto err_uncharge;

	pgd_page = alloc_page(SHADOW_GFP | __GFP_ZERO);
	if (!pgd_page)
		goto err_free_mm;

	id = ida_alloc_min(&shadow_mm_ida, 1, GFP_KERNEL);
	if (id < 0)
		goto err_free_pgd;

	mm->id = id;
	mm->owner_uid = uid;
	mm->owner_pid = task_tgid_nr(current);
	mm->pgd = page_address(pgd_page);
	mm->task_size = SHADOW_TASK_SIZE;
	mm->mmap_base = mmap_base;
	mm->mmap_min_addr = shadow_mmap_min_addr;
	mm->start_brk = SHADOW_DEFAULT_START_BRK;
	mm->brk = SHADOW_DEFAULT_START_BRK;
	atomic_set(&mm->mm_users, 1);
	atomic_set(&mm->mm_count, 1);
	init_rwsem(&mm->mmap_lock);
	spin_lock_init(&mm->page_table_lock);
	INIT_LIST_HEAD(&mm->pmd_huge_pte);
	mt_init_flags(&mm->mm_mt, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(&mm->mm_mt, &mm->mmap_lock);

	atomic_long_inc(&shadow_counters.mms);
	atomic_long_inc(&shadow_counters.pages);

	/* Published last: from here on debugfs and reclaim can see it. */
	spin_lock(&shadow_mmlist_lock);
	list_add_tail(&mm->mmlist, &shadow_mmlist);
	spin_unlock(&shadow_mmlist_lock);
	return mm;

err_free_pgd:
	__free_page(pgd_page);
err_free_mm:
	kmem_cache_free(shadow_mm_cachep, mm);
err_uncharge:
	shadow_user_mms_uncharge(uid);
	return ERR_PTR(ret);
}

/* The struct goes when its last reference goes (__mmdrop). */
static void __shadow_mmdrop(struct shadow_mm *mm)
{
	/*
	 * check_mm(): exit_mmap gave every page and table back. locked_vm
	 * too, but where the kernel followed leaves it behind: without
	 * SHADOW_RULE_DONTUNMAP_SPLITS_LOCKED, MREMAP_DONTUNMAP unlocks a
	 * whole VMA and locked_vm keeps counting it, in Linux as here.
	 */
	WARN_ON_ONCE(mm->map_count || mm->total_vm ||
		     (SHADOW_RULE_DONTUNMAP_SPLITS_LOCKED && mm->locked_vm));
	WARN_ON_ONCE(mm->rss_anon || mm->rss_shmem || mm->rss_file ||
		     mm->nr_puds ||
		     mm->nr_pmds || mm->nr_ptes || mm->nr_swapents);
	free_page((unsigned long)mm->pgd);
	atomic_long_dec(&shadow_counters.pages);
	ida_free(&shadow_mm_ida, mm->id);
	atomic_long_dec(&shadow_counters.mms);
	kmem_cache_free(shadow_mm_cachep, mm);
}

/**
 * shadow_mmdrop() - drop a reference to the struct (mmdrop)
 * @mm: the address space
 */
void shadow_mmdrop(struct shadow_mm *mm)
{
	if (atomic_dec_and_test(&mm->mm_count))
		__shadow_mmdrop(mm);
}

/**
 * shadow_mmget() - take a user reference (mmget); the caller has one
 * @mm: the address space
 */
void shadow_mmget(struct shadow_mm *mm)
{
	atomic_inc(&mm->mm_users);
}

/**
 * shadow_mmget_not_zero() - take a user reference unless the last is gone
 * @mm: the address space; its struct must be kept alive some other way
 *      (shadow_mmlist_lock, or the debugfs file being read)
 *
 * Return: true with a reference taken, false when @mm is being torn down.
 */
bool shadow_mmget_not_zero(struct shadow_mm *mm)
{
	return atomic_inc_not_zero(&mm->mm_users);
}

/* The last user is gone: tear the address space down (__mmput). */
static noinline void __shadow_mmput(struct shadow_mm *mm)
{
	/*
	 * First, while everything is intact: no debugfs reader is in its
	 * files once this returns, and none can get in.
	 */
	shadow_debugfs_mm_remove(mm);
	shadow_exit_mmap(mm);
	/* Every leaf went with its deposited table (zap_huge_pmd()). */
	shadow_warn_on(!list_empty(&mm->pmd_huge_pte));
	shadow_mm_put_huge_zero_page(mm);

	spin_lock(&shadow_mmlist_lock);
	list_del_init(&mm->mmlist);
	spin_unlock(&shadow_mmlist_lock);
	/* It holds no memory now but its struct and PGD. */
	shadow_user_mms_uncharge(mm->owner_uid);

	shadow_mmdrop(mm);
}

/**
 * shadow_mmput() - drop a user reference (mmput)
 * @mm: the address space
 *
 * The last one tears the address space down. Sleeps.
 */
void shadow_mmput(struct shadow_mm *mm)
{
	might_sleep();
	if (atomic_dec_and_test(&mm->mm_users))
		__shadow_mmput(mm);
}

static void shadow_mmput_async_fn(struct work_struct *work)
{
	__shadow_mmput(container_of(work, struct shadow_mm, async_put_work));
}

/**
 * shadow_mmput_async() - drop a user reference, tearing down in a worker
 * @mm: the address space
 *
 * For a debugfs reader (mmput_async): its put may be the last one, and the
 * teardown removes the debugfs directory, which waits for the reads in
 * progress in it, the caller's own among them.
 */
void shadow_mmput_async(struct shadow_mm *mm)
{
	if (atomic_dec_and_test(&mm->mm_users)) {
		INIT_WORK(&mm->async_put_work, shadow_mmput_async_fn);
		queue_work(shadow_mm_wq, &mm->async_put_work);
	}
}

/**
 * shadow_mmput_async_flush() - wait for the teardowns queued so far
 */
void shadow_mmput_async_flush(void)
{
	flush_workqueue(shadow_mm_wq);
}

/**
 * shadow_mmlist_next() - the next live address space (try_to_unuse's walk)
 * @prev: the one the caller is done with, whose user reference this drops
 *        (asynchronously), or NULL to start at the beginning
 *
 * The reference the caller holds on @prev keeps it on shadow_mmlist, and
 * so keeps its place in the walk while the lock is not held.
 *
 * Return: the next address space on the list that still has users, with a
 * user reference taken for the caller, or NULL at the end of the list.
 */
struct shadow_mm *shadow_mmlist_next(struct shadow_mm *prev)
{
	struct shadow_mm *mm = NULL, *pos;
	struct list_head *p;

	spin_lock(&shadow_mmlist_lock);
	for (p = prev ? prev->mmlist.next : shadow_mmlist.next;
	     p != &shadow_mmlist; p = p->next) {
		pos = list_entry(p, struct shadow_mm, mmlist);
		if (shadow_mmget_not_zero(pos)) {
			mm = pos;
			break;
		}
	}
	spin_unlock(&shadow_mmlist_lock);
	if (prev)
		shadow_mmput_async(prev);
	return mm;
}

/**
 * shadow_mm_init() - create the caches
 *
 * Return: 0 or -ENOMEM.
 */
int shadow_mm_init(void)
{
	shadow_mm_cachep = KMEM_CACHE(shadow_mm, SLAB_ACCOUNT);
	if (!shadow_mm_cachep)
		return -ENOMEM;
	shadow_vma_cachep = KMEM_CACHE(shadow_vma, SLAB_ACCOUNT);
	if (!shadow_vma_cachep)
		goto err_mm_cache;
	shadow_mm_wq = alloc_workqueue("shadow_mm", 0, 0);
	if (!shadow_mm_wq)
		goto err_vma_cache;
	return 0;

err_vma_cache:
	kmem_cache_destroy(shadow_vma_cachep);
err_mm_cache:
	kmem_cache_destroy(shadow_mm_cachep);
	return -ENOMEM;
}

/**
 * shadow_mm_exit() - destroy the caches; every object is gone by now
 *
 * The deferred teardowns are done too: shadow_mmput_async_flush() ran
 * before the debugfs root went.
 */
void shadow_mm_exit(void)
{
	destroy_workqueue(shadow_mm_wq);
	WARN_ON(!list_empty(&shadow_mmlist));
	WARN_ON(!xa_empty(&shadow_user_mms));
	xa_destroy(&shadow_user_mms);
	kmem_cache_destroy(shadow_vma_cachep);
	kmem_cache_destroy(shadow_mm_cachep);
	ida_destroy(&shadow_mm_ida);
}
