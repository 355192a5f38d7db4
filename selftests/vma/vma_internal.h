/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The user-space side of the seam of the layout code (module/vma.c,
 * module/mmap.c): the same names as module/vma_internal.h, over the tools/
 * headers and the radix-tree test shims of Linux 6.1, with recording stubs.
 *
 * The include guard is the module header's own: the harness compiles
 * module/vma.c and module/mmap.c with "-include" of this file, so their
 * #include "vma_internal.h" (which finds module/vma_internal.h first) is
 * then empty.
 */
#ifndef _SHADOW_VMA_INTERNAL_H
#define _SHADOW_VMA_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

/* The user-space maple tree is built with its debug checks (mt_validate). */
#define CONFIG_DEBUG_MAPLE_TREE

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <linux/kconfig.h>
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/list.h>
#include <linux/gfp.h>
#include <linux/slab.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/rcupdate.h>
/* The radix-tree shim: after it, atomic_t is an int32_t for liburcu. */
#include <linux/maple_tree.h>
#include <linux/xarray.h>
#include <linux/shadow_mm.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

/*
 * x86-64's 4 KiB pages (tools/include/linux/mm.h needs mmzone.h; 6.12's
 * tools/testing/shared/linux/kernel.h defines PAGE_SHIFT alone).
 */
#ifndef PAGE_SHIFT
#define PAGE_SHIFT		12
#endif
#ifndef PAGE_SIZE
#define PAGE_SIZE		BIT(PAGE_SHIFT)
#define PAGE_MASK		(~(PAGE_SIZE - 1))
#endif
#ifndef PAGE_ALIGN
#define PAGE_ALIGN(addr)	(((addr) + PAGE_SIZE - 1) & PAGE_MASK)
#endif

#ifndef offset_in_page
#define offset_in_page(p)	((unsigned long)(p) & ~PAGE_MASK)
#endif

/* Linux's VM_* values, as the uapi publishes them. */
#define VM_READ		SHADOW_VM_READ
#define VM_WRITE	SHADOW_VM_WRITE
#define VM_EXEC		SHADOW_VM_EXEC
#define VM_SHARED	SHADOW_VM_SHARED
#define VM_MAYREAD	SHADOW_VM_MAYREAD
#define VM_MAYWRITE	SHADOW_VM_MAYWRITE
#define VM_MAYEXEC	SHADOW_VM_MAYEXEC
#define VM_MAYSHARE	SHADOW_VM_MAYSHARE
#define VM_GROWSDOWN	SHADOW_VM_GROWSDOWN
#define VM_LOCKED	SHADOW_VM_LOCKED
#define VM_SEQ_READ	SHADOW_VM_SEQ_READ
#define VM_RAND_READ	SHADOW_VM_RAND_READ
#define VM_DONTCOPY	SHADOW_VM_DONTCOPY
#define VM_DONTEXPAND	SHADOW_VM_DONTEXPAND
#define VM_LOCKONFAULT	SHADOW_VM_LOCKONFAULT
#define VM_ACCOUNT	SHADOW_VM_ACCOUNT
#define VM_NORESERVE	SHADOW_VM_NORESERVE
#define VM_WIPEONFORK	SHADOW_VM_WIPEONFORK
#define VM_DONTDUMP	SHADOW_VM_DONTDUMP
#define VM_SOFTDIRTY	SHADOW_VM_SOFTDIRTY
#define VM_HUGEPAGE	SHADOW_VM_HUGEPAGE
#define VM_NOHUGEPAGE	SHADOW_VM_NOHUGEPAGE
#define VM_DROPPABLE	SHADOW_VM_DROPPABLE
#define VM_HUGETLB	0

#define VM_IO		SHADOW_VM_IO
#define VM_PFNMAP	SHADOW_VM_PFNMAP

/* x86-64: no VM_GROWSUP (VM_NONE); the stack grows down. */
#define VM_GROWSUP	0
#define VM_STACK	VM_GROWSDOWN

/*
 * Linux's VM_SPECIAL is VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
 * the engine never creates a VMA with VM_MIXEDMAP.
 */
#define VM_SPECIAL	(VM_IO | VM_DONTEXPAND | VM_PFNMAP)

/* The kernel build's definitions (module/vma_internal.h). */
#define SHADOW_GFP		GFP_KERNEL_ACCOUNT
#define SHADOW_STACK_GUARD_GAP	(256UL << PAGE_SHIFT)
#define SHADOW_TASK_UNMAPPED_BASE(mm)	PAGE_ALIGN((mm)->task_size / 3)
#define shadow_flow		noinline
#define SHADOW_THP_BUILT_IN	1

/* The page-table root is opaque to the layout code. */
struct harness_pgd {
	unsigned long pgd;
};

#define pgd_t		struct harness_pgd

/* The asynchronous teardown's work item is the kernel build's business. */
struct work_struct {
	void (*func)(struct work_struct *work);
};

/*
 * The harness's knobs and records (stubs.c). Every test runs in its own
 * process, so they start from these defaults in each test.
 */
struct harness_locks {
	int write_held;		/* shadow_mmap_write_lock*() depth */
	int read_held;		/* shadow_mmap_read_lock_killable() depth */
	unsigned long nr_write_locks;
	unsigned long nr_asserts;
	bool strict;		/* assert_*locked() demand the lock held */
	bool killable_fails;	/* *_lock_killable() return -EINTR */
};

struct harness_limits {
	unsigned long as_pages;		/* RLIMIT_AS, in pages */
	unsigned long data_pages;	/* RLIMIT_DATA, in pages */
	unsigned long data_bytes;	/* RLIMIT_DATA, in bytes, for brk */
	unsigned long stack_bytes;	/* RLIMIT_STACK, in bytes */
	unsigned long memlock_pages;	/* RLIMIT_MEMLOCK, in pages */
	bool cap_ipc_lock;		/* CAP_IPC_LOCK */
};

extern struct harness_locks harness_locks;
extern struct harness_limits harness_limits;
extern unsigned long harness_nr_warnings;
extern bool harness_warn_aborts;

void harness_warn(const char *cond, const char *file, int line);

/* An invariant of the layout code broke: count it and abort the test. */
#define shadow_warn_on(cond) ({						\
	bool __warn_cond = !!(cond);					\
	if (__warn_cond)						\
		harness_warn(#cond, __FILE__, __LINE__);		\
	__warn_cond;							\
})

/* <linux/compiler_attributes.h>'s, which tools/include lacks. */
#ifndef fallthrough
#define fallthrough	__attribute__((__fallthrough__))
#endif

/*
 * The layout code follows the mm rules of the kernel whose maple tree the
 * harness is built with (the Makefile's KVER): Linux 6.1's by default.
 */
#ifndef SHADOW_RULES_VERSION
#define SHADOW_RULES_VERSION	((6 << 16) + (1 << 8))
#endif
/* As Debian's kernels: with transparent huge pages. */
#define SHADOW_RULES_THP	1
#include "../../module/rules.h"
#include "../../module/vma.h"

static inline void shadow_mmap_assert_locked(struct shadow_mm *mm)
{
	harness_locks.nr_asserts++;
	shadow_warn_on(harness_locks.strict && !harness_locks.write_held &&
		       !harness_locks.read_held);
}

static inline void shadow_mmap_assert_write_locked(struct shadow_mm *mm)
{
	harness_locks.nr_asserts++;
	shadow_warn_on(harness_locks.strict && !harness_locks.write_held);
}

static inline int shadow_mmap_write_lock_killable(struct shadow_mm *mm)
{
	if (harness_locks.killable_fails)
		return -EINTR;
	harness_locks.write_held++;
	harness_locks.nr_write_locks++;
	return 0;
}

static inline void shadow_mmap_write_lock(struct shadow_mm *mm)
{
	harness_locks.write_held++;
	harness_locks.nr_write_locks++;
}

static inline void shadow_mmap_write_unlock(struct shadow_mm *mm)
{
	shadow_warn_on(harness_locks.write_held <= 0);
	harness_locks.write_held--;
}

static inline void shadow_mmap_write_downgrade(struct shadow_mm *mm)
{
	shadow_mmap_write_unlock(mm);
	harness_locks.read_held++;
}

static inline int shadow_mmap_read_lock_killable(struct shadow_mm *mm)
{
	if (harness_locks.killable_fails)
		return -EINTR;
	harness_locks.read_held++;
	return 0;
}

static inline void shadow_mmap_read_lock(struct shadow_mm *mm)
{
	harness_locks.read_held++;
}

static inline void shadow_mmap_read_unlock(struct shadow_mm *mm)
{
	shadow_warn_on(harness_locks.read_held <= 0);
	harness_locks.read_held--;
}

/* Not x86's protection_map: the bits it is derived from, for the tests. */
/* The harness's task has no personality flags. */
static inline bool shadow_read_implies_exec(void)
{
	return false;
}

static inline void shadow_cond_resched(void)
{
}

static inline unsigned long shadow_vm_get_page_prot(unsigned long vm_flags)
{
	return vm_flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED);
}

/* As module/vma_internal.h, with the harness's limits for the rlimits. */
static inline bool shadow_may_expand_vm(struct shadow_mm *mm,
					unsigned long vm_flags,
					unsigned long npages)
{
	if (mm->total_vm + npages > harness_limits.as_pages)
		return false;
	if ((vm_flags & (VM_WRITE | VM_SHARED | VM_STACK)) == VM_WRITE &&
	    mm->data_vm + npages > harness_limits.data_pages)
		return false;
	return true;
}

static inline unsigned long shadow_rlimit_stack(void)
{
	return harness_limits.stack_bytes;
}

static inline unsigned long shadow_rlimit_data(void)
{
	return harness_limits.data_bytes;
}

static inline bool shadow_can_do_mlock(void)
{
	return harness_limits.memlock_pages != 0 || harness_limits.cap_ipc_lock;
}

static inline bool shadow_mlock_future_ok(struct shadow_mm *mm,
					  unsigned long vm_flags,
					  unsigned long len)
{
	if (!(vm_flags & VM_LOCKED) || harness_limits.cap_ipc_lock)
		return true;
	return (len >> PAGE_SHIFT) + mm->locked_vm <=
	       harness_limits.memlock_pages;
}

/*
 * The module's trace events (module/trace.h): nothing to trace here, but
 * the arguments are evaluated, as an enabled tracepoint does, so that a
 * variable computed only for an event is used in this build too.
 */
static inline void harness_trace(int unused, ...)
{
}

#define trace_shadow_mm_mmap(...)		harness_trace(0, __VA_ARGS__)
#define trace_shadow_mm_munmap(...)		harness_trace(0, __VA_ARGS__)
#define trace_shadow_mm_exit_mmap(...)		harness_trace(0, __VA_ARGS__)
#define trace_shadow_mm_split_vma(...)		harness_trace(0, __VA_ARGS__)
#define trace_shadow_mm_vma_merge(...)		harness_trace(0, __VA_ARGS__)
#define trace_shadow_mm_madvise(...)		harness_trace(0, __VA_ARGS__)
#define trace_shadow_mm_brk(...)		harness_trace(0, __VA_ARGS__)

#endif /* _SHADOW_VMA_INTERNAL_H */
