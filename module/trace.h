/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of the shadow_mm engine, under
 * /sys/kernel/tracing/events/shadow_mm/. Every event names its address
 * space by its small stable id (the one SHADOW_MM_GET_STATS, the maps and
 * debugfs show); fields are values copied in, never kernel pointers, so
 * filters, triggers and histograms work on them.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM shadow_mm

#if !defined(_SHADOW_MM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _SHADOW_MM_TRACE_H

#include <linux/tracepoint.h>
#include <linux/shadow_mm.h>

#include "vma.h"

#ifndef _SHADOW_MM_TRACE_ENUMS
#define _SHADOW_MM_TRACE_ENUMS
/* How a fault was resolved: the kind field of shadow_mm_fault. */
enum shadow_fault_kind {
	SHADOW_FK_ZERO,		/* the zero page mapped for a read */
	SHADOW_FK_ANON,		/* a new zeroed private page */
	SHADOW_FK_SHARED,	/* the shared object's page mapped */
	SHADOW_FK_COW_COPY,	/* do_wp_page copied the page */
	SHADOW_FK_COW_REUSE,	/* do_wp_page made it writable in place */
	SHADOW_FK_ACCESS,	/* present: only the accessed/dirty bits */
	SHADOW_FK_RETRY,	/* the PTE changed under the fault */
	SHADOW_FK_STACK,	/* a stack VMA grew down to the address */
	SHADOW_FK_SEGV,		/* no VMA, or against its protection */
	SHADOW_FK_OOM,		/* out of memory (or past a limit) */
	SHADOW_FK_SIGBUS,	/* past the end of a shared object */
	SHADOW_FK_SWAPIN,	/* a swap entry: the page brought back */
	SHADOW_FK_FILE,		/* a file's page-cache page mapped */
	SHADOW_FK_FILE_COW,	/* a private copy of a file's page */
	SHADOW_FK_HUGE_ANON,	/* a new zeroed THP mapped by a PMD leaf */
	SHADOW_FK_HUGE_ZERO,	/* the huge zero page mapped for a read */
	SHADOW_FK_HUGE_REUSE,	/* do_huge_pmd_wp_page reused the THP */
	SHADOW_FK_HUGE_FALLBACK,	/* no THP here: 4 KiB pages instead */
};

/* Page-table levels of shadow_mm_pgtable_alloc/free. */
enum shadow_pt_level {
	SHADOW_PT_PTE = 1,
	SHADOW_PT_PMD = 2,
	SHADOW_PT_PUD = 3,
};
#endif

TRACE_DEFINE_ENUM(SHADOW_FK_ZERO);
TRACE_DEFINE_ENUM(SHADOW_FK_ANON);
TRACE_DEFINE_ENUM(SHADOW_FK_SHARED);
TRACE_DEFINE_ENUM(SHADOW_FK_COW_COPY);
TRACE_DEFINE_ENUM(SHADOW_FK_COW_REUSE);
TRACE_DEFINE_ENUM(SHADOW_FK_ACCESS);
TRACE_DEFINE_ENUM(SHADOW_FK_RETRY);
TRACE_DEFINE_ENUM(SHADOW_FK_STACK);
TRACE_DEFINE_ENUM(SHADOW_FK_SEGV);
TRACE_DEFINE_ENUM(SHADOW_FK_OOM);
TRACE_DEFINE_ENUM(SHADOW_FK_SIGBUS);
TRACE_DEFINE_ENUM(SHADOW_FK_SWAPIN);
TRACE_DEFINE_ENUM(SHADOW_FK_FILE);
TRACE_DEFINE_ENUM(SHADOW_FK_FILE_COW);
TRACE_DEFINE_ENUM(SHADOW_FK_HUGE_ANON);
TRACE_DEFINE_ENUM(SHADOW_FK_HUGE_ZERO);
TRACE_DEFINE_ENUM(SHADOW_FK_HUGE_REUSE);
TRACE_DEFINE_ENUM(SHADOW_FK_HUGE_FALLBACK);

#define show_fault_kind(k)						\
	__print_symbolic(k,						\
			 { SHADOW_FK_ZERO, "zero_page" },		\
			 { SHADOW_FK_ANON, "new_anon" },		\
			 { SHADOW_FK_SHARED, "shared" },		\
			 { SHADOW_FK_COW_COPY, "cow_copy" },		\
			 { SHADOW_FK_COW_REUSE, "cow_reuse" },		\
			 { SHADOW_FK_ACCESS, "access" },		\
			 { SHADOW_FK_RETRY, "retry" },			\
			 { SHADOW_FK_STACK, "stack_grow" },		\
			 { SHADOW_FK_SEGV, "segv" },			\
			 { SHADOW_FK_OOM, "oom" },			\
			 { SHADOW_FK_SIGBUS, "sigbus" },		\
			 { SHADOW_FK_SWAPIN, "swapin" },		\
			 { SHADOW_FK_FILE, "file" },			\
			 { SHADOW_FK_FILE_COW, "file_cow" },		\
			 { SHADOW_FK_HUGE_ANON, "huge_anon" },		\
			 { SHADOW_FK_HUGE_ZERO, "huge_zero_page" },	\
			 { SHADOW_FK_HUGE_REUSE, "huge_reuse" },	\
			 { SHADOW_FK_HUGE_FALLBACK, "huge_fallback" })
#define show_pt_level(l)	__print_symbolic(l, { SHADOW_PT_PUD, "pud" }, \
						 { SHADOW_PT_PMD, "pmd" },   \
						 { SHADOW_PT_PTE, "pte" })
#define show_fault_flags(f)	__print_flags(f, "|",			\
					      { SHADOW_FAULT_WRITE, "write" },\
					      { SHADOW_FAULT_EXEC, "exec" })

/* A new address space: created, or the child of a fork. */
TRACE_EVENT(shadow_mm_create,
	TP_PROTO(struct shadow_mm *mm, unsigned int parent_id),
	TP_ARGS(mm, parent_id),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned int, parent)
		__field(unsigned long, mmap_base)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->parent = parent_id;
		__entry->mmap_base = mm->mmap_base;
	),
	TP_printk("mm=%u parent=%u mmap_base=0x%lx", __entry->id,
		  __entry->parent, __entry->mmap_base)
);

/* dup_mmap is done: what it copied, and its result. */
TRACE_EVENT(shadow_mm_fork,
	TP_PROTO(struct shadow_mm *oldmm, struct shadow_mm *mm,
		 unsigned long vmas, unsigned long ptes, int ret),
	TP_ARGS(oldmm, mm, vmas, ptes, ret),
	TP_STRUCT__entry(
		__field(unsigned int, parent)
		__field(unsigned int, child)
		__field(unsigned long, vmas)
		__field(unsigned long, ptes)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->parent = oldmm->id;
		__entry->child = mm->id;
		__entry->vmas = vmas;
		__entry->ptes = ptes;
		__entry->ret = ret;
	),
	TP_printk("parent=%u child=%u vmas=%lu ptes=%lu ret=%d",
		  __entry->parent, __entry->child, __entry->vmas,
		  __entry->ptes, __entry->ret)
);

/* exit_mmap: what the last user's exit gives back. */
TRACE_EVENT(shadow_mm_exit_mmap,
	TP_PROTO(struct shadow_mm *mm),
	TP_ARGS(mm),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(int, vmas)
		__field(unsigned long, rss_anon)
		__field(unsigned long, rss_shmem)
		__field(unsigned long, pt_pages)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->vmas = mm->map_count;
		__entry->rss_anon = mm->rss_anon;
		__entry->rss_shmem = mm->rss_shmem;
		__entry->pt_pages = mm->nr_puds + mm->nr_pmds + mm->nr_ptes;
	),
	TP_printk("mm=%u vmas=%d rss_anon=%lu rss_shmem=%lu pt_pages=%lu",
		  __entry->id, __entry->vmas, __entry->rss_anon,
		  __entry->rss_shmem, __entry->pt_pages)
);

/* do_mmap's request and result (an address, or a negative errno). */
TRACE_EVENT(shadow_mm_mmap,
	TP_PROTO(struct shadow_mm *mm, unsigned long addr, unsigned long len,
		 unsigned long prot, unsigned long flags, long ret,
		 bool merged),
	TP_ARGS(mm, addr, len, prot, flags, ret, merged),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, addr)
		__field(unsigned long, len)
		__field(unsigned long, prot)
		__field(unsigned long, flags)
		__field(long, ret)
		__field(bool, merged)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->addr = addr;
		__entry->len = len;
		__entry->prot = prot;
		__entry->flags = flags;
		__entry->ret = ret;
		__entry->merged = merged;
	),
	TP_printk("mm=%u addr=0x%lx len=0x%lx prot=0x%lx flags=0x%lx ret=%s0x%lx merged=%d",
		  __entry->id, __entry->addr, __entry->len, __entry->prot,
		  __entry->flags, __entry->ret < 0 ? "-" : "",
		  __entry->ret < 0 ? -__entry->ret : __entry->ret,
		  __entry->merged)
);

/* A range operation: its range and result. */
DECLARE_EVENT_CLASS(shadow_mm_range,
	TP_PROTO(struct shadow_mm *mm, unsigned long start, unsigned long len,
		 unsigned long arg, int ret),
	TP_ARGS(mm, start, len, arg, ret),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, start)
		__field(unsigned long, len)
		__field(unsigned long, arg)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->start = start;
		__entry->len = len;
		__entry->arg = arg;
		__entry->ret = ret;
	),
	TP_printk("mm=%u start=0x%lx len=0x%lx arg=0x%lx ret=%d",
		  __entry->id, __entry->start, __entry->len, __entry->arg,
		  __entry->ret)
);

/* munmap: arg is the number of VMAs removed. */
DEFINE_EVENT(shadow_mm_range, shadow_mm_munmap,
	TP_PROTO(struct shadow_mm *mm, unsigned long start, unsigned long len,
		 unsigned long arg, int ret),
	TP_ARGS(mm, start, len, arg, ret));

/* mprotect: arg is the new PROT_* value. */
DEFINE_EVENT(shadow_mm_range, shadow_mm_mprotect,
	TP_PROTO(struct shadow_mm *mm, unsigned long start, unsigned long len,
		 unsigned long arg, int ret),
	TP_ARGS(mm, start, len, arg, ret));

/* madvise: arg is the advice. */
DEFINE_EVENT(shadow_mm_range, shadow_mm_madvise,
	TP_PROTO(struct shadow_mm *mm, unsigned long start, unsigned long len,
		 unsigned long arg, int ret),
	TP_ARGS(mm, start, len, arg, ret));

/* mlock (arg: VM_LOCKED | VM_LOCKONFAULT set) and munlock (arg: 0). */
DEFINE_EVENT(shadow_mm_range, shadow_mm_mlock,
	TP_PROTO(struct shadow_mm *mm, unsigned long start, unsigned long len,
		 unsigned long arg, int ret),
	TP_ARGS(mm, start, len, arg, ret));

/* mremap: the old and new ranges, flags and result. */
TRACE_EVENT(shadow_mm_mremap,
	TP_PROTO(struct shadow_mm *mm, unsigned long addr,
		 unsigned long old_len, unsigned long new_len,
		 unsigned long flags, long ret),
	TP_ARGS(mm, addr, old_len, new_len, flags, ret),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, addr)
		__field(unsigned long, old_len)
		__field(unsigned long, new_len)
		__field(unsigned long, flags)
		__field(long, ret)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->addr = addr;
		__entry->old_len = old_len;
		__entry->new_len = new_len;
		__entry->flags = flags;
		__entry->ret = ret;
	),
	TP_printk("mm=%u addr=0x%lx old_len=0x%lx new_len=0x%lx flags=0x%lx ret=%s0x%lx",
		  __entry->id, __entry->addr, __entry->old_len,
		  __entry->new_len, __entry->flags,
		  __entry->ret < 0 ? "-" : "",
		  __entry->ret < 0 ? -__entry->ret : __entry->ret)
);

/* brk: the break asked for, and the break before and after. */
TRACE_EVENT(shadow_mm_brk,
	TP_PROTO(struct shadow_mm *mm, unsigned long req, unsigned long old,
		 unsigned long new),
	TP_ARGS(mm, req, old, new),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, req)
		__field(unsigned long, old)
		__field(unsigned long, new)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->req = req;
		__entry->old = old;
		__entry->new = new;
	),
	TP_printk("mm=%u req=0x%lx old=0x%lx new=0x%lx", __entry->id,
		  __entry->req, __entry->old, __entry->new)
);

/* split_vma: the VMA before the split, and where it is cut. */
TRACE_EVENT(shadow_mm_split_vma,
	TP_PROTO(struct shadow_vma *vma, unsigned long addr, int new_below),
	TP_ARGS(vma, addr, new_below),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, vm_start)
		__field(unsigned long, vm_end)
		__field(unsigned long, addr)
		__field(int, new_below)
	),
	TP_fast_assign(
		__entry->id = vma->vm_mm->id;
		__entry->vm_start = vma->vm_start;
		__entry->vm_end = vma->vm_end;
		__entry->addr = addr;
		__entry->new_below = new_below;
	),
	TP_printk("mm=%u vma=0x%lx-0x%lx addr=0x%lx new_below=%d",
		  __entry->id, __entry->vm_start, __entry->vm_end,
		  __entry->addr, __entry->new_below)
);

/* vma_merge / vma_expand: the VMA that now covers the merged range. */
TRACE_EVENT(shadow_mm_vma_merge,
	TP_PROTO(struct shadow_vma *vma, unsigned int merge_case),
	TP_ARGS(vma, merge_case),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, vm_start)
		__field(unsigned long, vm_end)
		__field(unsigned long, vm_flags)
		__field(unsigned int, merge_case)
	),
	TP_fast_assign(
		__entry->id = vma->vm_mm->id;
		__entry->vm_start = vma->vm_start;
		__entry->vm_end = vma->vm_end;
		__entry->vm_flags = vma->vm_flags;
		__entry->merge_case = merge_case;
	),
	TP_printk("mm=%u vma=0x%lx-0x%lx flags=0x%lx case=%u", __entry->id,
		  __entry->vm_start, __entry->vm_end, __entry->vm_flags,
		  __entry->merge_case)
);

/* One fault: where, what kind of access, how it was resolved. */
TRACE_EVENT(shadow_mm_fault,
	TP_PROTO(struct shadow_mm *mm, unsigned long addr, unsigned int flags,
		 enum shadow_fault_kind kind),
	TP_ARGS(mm, addr, flags, kind),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, addr)
		__field(unsigned int, flags)
		__field(unsigned int, kind)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->addr = addr;
		__entry->flags = flags;
		__entry->kind = kind;
	),
	TP_printk("mm=%u addr=0x%lx access=%s kind=%s", __entry->id,
		  __entry->addr,
		  __entry->flags ? show_fault_flags(__entry->flags) : "read",
		  show_fault_kind(__entry->kind))
);

/* A page-table page allocated or freed, and the address it maps. */
DECLARE_EVENT_CLASS(shadow_mm_pgtable,
	TP_PROTO(struct shadow_mm *mm, unsigned long addr,
		 enum shadow_pt_level level),
	TP_ARGS(mm, addr, level),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, addr)
		__field(unsigned int, level)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->addr = addr;
		__entry->level = level;
	),
	TP_printk("mm=%u addr=0x%lx level=%s", __entry->id, __entry->addr,
		  show_pt_level(__entry->level))
);

DEFINE_EVENT(shadow_mm_pgtable, shadow_mm_pgtable_alloc,
	TP_PROTO(struct shadow_mm *mm, unsigned long addr,
		 enum shadow_pt_level level),
	TP_ARGS(mm, addr, level));

DEFINE_EVENT(shadow_mm_pgtable, shadow_mm_pgtable_free,
	TP_PROTO(struct shadow_mm *mm, unsigned long addr,
		 enum shadow_pt_level level),
	TP_ARGS(mm, addr, level));

/* A PMD leaf became a PTE table (__split_huge_pmd_locked). */
TRACE_EVENT(shadow_mm_split_huge_pmd,
	TP_PROTO(struct shadow_mm *mm, unsigned long haddr, bool zero),
	TP_ARGS(mm, haddr, zero),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, haddr)
		__field(bool, zero)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->haddr = haddr;
		__entry->zero = zero;
	),
	TP_printk("mm=%u addr=0x%lx%s", __entry->id, __entry->haddr,
		  __entry->zero ? " huge_zero_page" : "")
);

/*
 * A page written to the shadow swap device and freed (pageout), or a
 * clean one dropped without a write: the page's and the slot's walk ids.
 */
TRACE_EVENT(shadow_mm_swap_out,
	TP_PROTO(u64 page_id, unsigned long slot, bool written, bool shmem),
	TP_ARGS(page_id, slot, written, shmem),
	TP_STRUCT__entry(
		__field(u64, page_id)
		__field(unsigned long, slot)
		__field(bool, written)
		__field(bool, shmem)
	),
	TP_fast_assign(
		__entry->page_id = page_id;
		__entry->slot = slot;
		__entry->written = written;
		__entry->shmem = shmem;
	),
	TP_printk("page=%llu slot=%lu written=%d shmem=%d", __entry->page_id,
		  __entry->slot, __entry->written, __entry->shmem)
);

/*
 * A fault mapped a page back from a swap slot: read from the device
 * (major) or found in the swap cache.
 */
TRACE_EVENT(shadow_mm_swap_in,
	TP_PROTO(struct shadow_mm *mm, unsigned long addr, unsigned long slot,
		 u64 page_id, bool major),
	TP_ARGS(mm, addr, slot, page_id, major),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, addr)
		__field(unsigned long, slot)
		__field(u64, page_id)
		__field(bool, major)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->addr = addr;
		__entry->slot = slot;
		__entry->page_id = page_id;
		__entry->major = major;
	),
	TP_printk("mm=%u addr=0x%lx slot=%lu page=%llu major=%d", __entry->id,
		  __entry->addr, __entry->slot, __entry->page_id,
		  __entry->major)
);

/*
 * One reclaim request done: the address space (0: every one, the
 * device's), its flags and its outcome.
 */
TRACE_EVENT(shadow_mm_reclaim,
	TP_PROTO(unsigned int mm_id, const struct shadow_mm_reclaim *rc,
		 int ret),
	TP_ARGS(mm_id, rc, ret),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned int, flags)
		__field(u64, scanned)
		__field(u64, referenced)
		__field(u64, locked)
		__field(u64, busy)
		__field(u64, unmapped)
		__field(u64, written)
		__field(u64, reclaimed)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->id = mm_id;
		__entry->flags = rc->flags;
		__entry->scanned = rc->out_scanned;
		__entry->referenced = rc->out_referenced;
		__entry->locked = rc->out_locked;
		__entry->busy = rc->out_busy;
		__entry->unmapped = rc->out_unmapped;
		__entry->written = rc->out_written;
		__entry->reclaimed = rc->out_reclaimed;
		__entry->ret = ret;
	),
	TP_printk("mm=%u flags=0x%x scanned=%llu referenced=%llu locked=%llu busy=%llu unmapped=%llu written=%llu reclaimed=%llu ret=%d",
		  __entry->id, __entry->flags, __entry->scanned,
		  __entry->referenced, __entry->locked, __entry->busy,
		  __entry->unmapped, __entry->written, __entry->reclaimed,
		  __entry->ret)
);

/*
 * try_to_unmap cleared a PTE mapping a page: the page's id, the swap slot
 * its PTE now holds (0: none, a shmem page's PTE is none), and whether
 * the PTE was dirty.
 */
TRACE_EVENT(shadow_mm_try_to_unmap,
	TP_PROTO(struct shadow_mm *mm, unsigned long addr, u64 page_id,
		 unsigned long slot, bool dirty),
	TP_ARGS(mm, addr, page_id, slot, dirty),
	TP_STRUCT__entry(
		__field(unsigned int, id)
		__field(unsigned long, addr)
		__field(u64, page_id)
		__field(unsigned long, slot)
		__field(bool, dirty)
	),
	TP_fast_assign(
		__entry->id = mm->id;
		__entry->addr = addr;
		__entry->page_id = page_id;
		__entry->slot = slot;
		__entry->dirty = dirty;
	),
	TP_printk("mm=%u addr=0x%lx page=%llu slot=%lu dirty=%d",
		  __entry->id, __entry->addr, __entry->page_id, __entry->slot,
		  __entry->dirty)
);

#endif /* _SHADOW_MM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
