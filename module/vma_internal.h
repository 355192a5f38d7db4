/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only header the layout code (vma.c, mmap.c) includes: in the kernel
 * build it maps the layout code's needs onto kernel headers. The user-space
 * harness (selftests/vma/) has its own vma_internal.h with the same names
 * over tools/ shims and recording stubs, and compiles the same .c files.
 */
#ifndef _SHADOW_VMA_INTERNAL_H
#define _SHADOW_VMA_INTERNAL_H

#include <linux/capability.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/maple_tree.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/personality.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>
#include <linux/shadow_mm.h>

#include "rules.h"
#include "vma.h"
#include "trace.h"

/*
 * Every allocation made on behalf of user space: charged to the caller's
 * memory cgroup (__GFP_ACCOUNT), and failing with -ENOMEM at the cgroup's
 * limit instead of invoking its OOM killer (__GFP_RETRY_MAYFAIL): the
 * ioctls can return an error, so a process that asks for too much gets one
 * and nothing is killed to make room for it.
 */
#define SHADOW_GFP		(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL)

/* Linux's default stack_guard_gap: 256 pages. */
#define SHADOW_STACK_GUARD_GAP	(256UL << PAGE_SHIFT)

/* x86-64's __TASK_UNMAPPED_BASE: the bottom-up allocator's start. */
#define SHADOW_TASK_UNMAPPED_BASE(mm)	PAGE_ALIGN((mm)->task_size / 3)

/*
 * madvise_behavior_valid(): MADV_HUGEPAGE and MADV_NOHUGEPAGE exist where
 * the running kernel has transparent huge pages built in.
 */
#define SHADOW_THP_BUILT_IN	IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE)

/* An invariant of the layout code broke: loud, once, never fatal. */
#define shadow_warn_on(cond)	WARN_ON_ONCE(cond)

/*
 * A step of a flow that the function_graph trace should show, under its
 * own name: not inlined (Kbuild keeps gcc from cloning it as .constprop
 * or .isra).
 */
#define shadow_flow		noinline

static inline void shadow_mmap_assert_locked(struct shadow_mm *mm)
{
	lockdep_assert_held(&mm->mmap_lock);
}

static inline void shadow_mmap_assert_write_locked(struct shadow_mm *mm)
{
	lockdep_assert_held_write(&mm->mmap_lock);
}

/* The page tables and the counters next to them (mm.c's lock tree). */
static inline void shadow_pt_assert_locked(struct shadow_mm *mm)
{
	lockdep_assert_held(&mm->page_table_lock);
}

static inline int shadow_mmap_write_lock_killable(struct shadow_mm *mm)
{
	return down_write_killable(&mm->mmap_lock);
}

static inline void shadow_mmap_write_lock(struct shadow_mm *mm)
{
	down_write(&mm->mmap_lock);
}

/* mmap_write_lock_nested(): fork takes the child's inside the parent's. */
static inline void shadow_mmap_write_lock_nested(struct shadow_mm *mm,
						 int subclass)
{
	down_write_nested(&mm->mmap_lock, subclass);
}

static inline void shadow_mmap_write_unlock(struct shadow_mm *mm)
{
	up_write(&mm->mmap_lock);
}

static inline void shadow_mmap_write_downgrade(struct shadow_mm *mm)
{
	downgrade_write(&mm->mmap_lock);
}

static inline int shadow_mmap_read_lock_killable(struct shadow_mm *mm)
{
	return down_read_killable(&mm->mmap_lock);
}

static inline void shadow_mmap_read_lock(struct shadow_mm *mm)
{
	down_read(&mm->mmap_lock);
}

static inline void shadow_mmap_read_unlock(struct shadow_mm *mm)
{
	up_read(&mm->mmap_lock);
}

/* mmap_read_trylock(): an rmap walk's way into another address space. */
static inline bool shadow_mmap_read_trylock(struct shadow_mm *mm)
{
	return down_read_trylock(&mm->mmap_lock) != 0;
}

static inline unsigned long shadow_vm_get_page_prot(unsigned long vm_flags)
{
	return pgprot_val(vm_get_page_prot(vm_flags));
}

/*
 * The limits of the task that drives the shadow address space are the
 * calling process's: RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK and
 * CAP_IPC_LOCK, as in may_expand_vm() and mlock_future_check(). The shadow
 * task has no CAP_SYS_RAWIO: mmap_min_addr always applies.
 */
static inline bool shadow_may_expand_vm(struct shadow_mm *mm,
					unsigned long vm_flags,
					unsigned long npages)
{
	if (mm->total_vm + npages > rlimit(RLIMIT_AS) >> PAGE_SHIFT)
		return false;
	if ((vm_flags & (VM_WRITE | VM_SHARED | VM_STACK)) == VM_WRITE &&
	    mm->data_vm + npages > rlimit(RLIMIT_DATA) >> PAGE_SHIFT) {
		/* Workaround for Valgrind, as in Linux. */
		if (rlimit(RLIMIT_DATA) == 0 &&
		    mm->data_vm + npages <= rlimit_max(RLIMIT_DATA) >> PAGE_SHIFT)
			return true;
		return false;
	}
	return true;
}

/* The caller's personality: PROT_READ implies PROT_EXEC (do_mmap). */
static inline bool shadow_read_implies_exec(void)
{
	return current->personality & READ_IMPLIES_EXEC;
}

/* A long walk under mmap_lock lets others run. */
static inline void shadow_cond_resched(void)
{
	cond_resched();
}

/* The caller's RLIMIT_STACK and RLIMIT_DATA, in bytes. */
static inline unsigned long shadow_rlimit_stack(void)
{
	return rlimit(RLIMIT_STACK);
}

static inline unsigned long shadow_rlimit_data(void)
{
	return rlimit(RLIMIT_DATA);
}

static inline bool shadow_can_do_mlock(void)
{
	return rlimit(RLIMIT_MEMLOCK) != 0 || capable(CAP_IPC_LOCK);
}

static inline bool shadow_mlock_future_ok(struct shadow_mm *mm,
					  unsigned long vm_flags,
					  unsigned long len)
{
	unsigned long locked, lock_limit;

	if (!(vm_flags & VM_LOCKED) || capable(CAP_IPC_LOCK))
		return true;
	locked = (len >> PAGE_SHIFT) + mm->locked_vm;
	lock_limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	return locked <= lock_limit;
}

#endif /* _SHADOW_VMA_INTERNAL_H */
