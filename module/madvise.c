// SPDX-License-Identifier: GPL-2.0
/*
 * madvise() of shadow address spaces, after mm/madvise.c of Linux 6.1:
 * do_madvise -> madvise_walk_vmas -> madvise_vma_behavior ->
 * madvise_update_vma (vma_merge, or split_vma at either end) for advice
 * that changes VMA flags, or the page-table work of the others.
 *
 * Advice modelled:
 *
 *  - flags only, mmap_lock for writing: MADV_NORMAL, MADV_RANDOM,
 *    MADV_SEQUENTIAL (VM_RAND_READ, VM_SEQ_READ), MADV_DONTFORK,
 *    MADV_DOFORK (VM_DONTCOPY), MADV_WIPEONFORK, MADV_KEEPONFORK
 *    (VM_WIPEONFORK), MADV_DONTDUMP, MADV_DODUMP (VM_DONTDUMP),
 *    MADV_HUGEPAGE, MADV_NOHUGEPAGE (VM_HUGEPAGE, VM_NOHUGEPAGE: the flag
 *    only, as hugepage_madvise sets it; the THP policy reads it);
 *  - mmap_lock for reading: MADV_DONTNEED and MADV_DONTNEED_LOCKED (the
 *    range's PTEs are zapped), MADV_REMOVE (a hole punched in the shared
 *    object mapped, mmap_lock dropped meanwhile: shadow_vfs_punch_hole()),
 *    MADV_WILLNEED (swapped-out pages read back ahead of their faults), MADV_POPULATE_READ and
 *    MADV_POPULATE_WRITE (faultin_vma_page_range), MADV_FREE (lazy free:
 *    the clean exclusive pages of private anonymous memory become
 *    lazyfree, reclaim drops them without swap unless written again),
 *    MADV_COLD and MADV_PAGEOUT (the pages mapped by this address space
 *    alone are aged or reclaimed: shadow_madvise_cold_or_pageout_range(),
 *    vmscan.c).
 *
 * This file includes only vma_internal.h: the user-space harness can
 * compile it unchanged. The page-table work is behind
 * shadow_zap_page_range_single(), shadow_faultin_vma_page_range(),
 * shadow_swapin_readahead_range(), shadow_madvise_free_range(),
 * shadow_madvise_cold_or_pageout_range() and shadow_vfs_punch_hole(),
 * which the harness stubs.
 */
#include "vma_internal.h"

/* The advice this engine implements (madvise_behavior_valid). */
static bool shadow_madvise_behavior_valid(int behavior)
{
	switch (behavior) {
	case MADV_DOFORK:
	case MADV_DONTFORK:
	case MADV_NORMAL:
	case MADV_SEQUENTIAL:
	case MADV_RANDOM:
	case MADV_REMOVE:
	case MADV_WILLNEED:
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
	case MADV_FREE:
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
	case MADV_COLD:
	case MADV_PAGEOUT:
		return true;
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
		return SHADOW_THP_BUILT_IN;
	default:
		return false;
	}
}

/*
 * Any behaviour which results in changes to the vma->vm_flags needs to
 * take mmap_lock for writing. Others, which simply traverse vmas, need
 * to only take it for reading.
 */
static bool shadow_madvise_need_mmap_write(int behavior)
{
	switch (behavior) {
	case MADV_REMOVE:
	case MADV_WILLNEED:
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
	case MADV_FREE:
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
	case MADV_COLD:
	case MADV_PAGEOUT:
		return false;
	default:
		/* be safe, default to 1. list exceptions explicitly */
		return true;
	}
}

/* vma_lookup(): the VMA containing @addr, or NULL. */
static struct shadow_vma *shadow_madvise_vma_lookup(struct shadow_mm *mm,
						    unsigned long addr)
{
	struct shadow_vma *vma = shadow_find_vma(mm, addr);

	return vma && vma->vm_start <= addr ? vma : NULL;
}

/*
 * MADV_WILLNEED (madvise_willneed): the swapped-out pages of the range are
 * read back from the swap device ahead of their faults (into the swap
 * cache for private memory, into the object for shared memory); nothing
 * is mapped.
 */
static long shadow_madvise_willneed(struct shadow_mm *mm,
				    struct shadow_vma *vma,
				    struct shadow_vma **prev,
				    unsigned long start, unsigned long end)
{
	*prev = vma;
	shadow_swapin_readahead_range(mm, vma, start, end);
	return 0;
}

/*
 * MADV_DONTNEED (madvise_dontneed_free): the application no longer needs
 * the pages; they are dropped without being saved. Private memory reads
 * back zeroes, shared memory its object's pages. VM_PFNMAP memory refuses,
 * and VM_LOCKED memory unless MADV_DONTNEED_LOCKED.
 */
static shadow_flow long shadow_madvise_dontneed(struct shadow_mm *mm,
						struct shadow_vma *vma,
						struct shadow_vma **prev,
						unsigned long start,
						unsigned long end,
						int behavior)
{
	unsigned long forbidden = VM_PFNMAP;

	*prev = vma;
	if (behavior != MADV_DONTNEED_LOCKED)
		forbidden |= VM_LOCKED;
	if (vma->vm_flags & forbidden)
		return -EINVAL;
	if (start == end)
		return 0;
	shadow_zap_page_range_single(mm, vma, start, end);
	return 0;
}

/*
 * MADV_FREE (madvise_dontneed_free -> madvise_free_single_vma): VM_LOCKED
 * and VM_PFNMAP memory refuse, as for MADV_DONTNEED; then only anonymous
 * private memory takes it (shared anonymous memory, files and special
 * mappings have vm_ops in Linux).
 */
static long shadow_madvise_free(struct shadow_mm *mm, struct shadow_vma *vma,
				struct shadow_vma **prev, unsigned long start,
				unsigned long end)
{
	*prev = vma;
	if (vma->vm_flags & (VM_LOCKED | VM_PFNMAP))
		return -EINVAL;
	if (start == end)
		return 0;
	if (vma->vm_mapping || vma->vm_special || vma->vm_flags & VM_SHARED)
		return -EINVAL;
	shadow_madvise_free_range(mm, vma, start, end);
	return 0;
}

/*
 * MADV_REMOVE (madvise_remove): punch a hole in the shared object the
 * range maps, as fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
 * would: every address space mapping it reads zeroes there afterwards.
 * VM_LOCKED memory refuses with -EINVAL, and so does memory without an
 * object (private anonymous, special mappings); a mapping that is not
 * shared and may-write (a private or read-only file mapping) with
 * -EACCES, vma_is_shared_maywrite() as both 6.1.y and 6.12 have it: a
 * PROT_READ mapping of a writable object takes it. mmap_lock is dropped
 * for the punch, the object pinned meanwhile (get_file), and *@prev set
 * to NULL: the walk then looks the next VMA up again.
 */
static long shadow_madvise_remove(struct shadow_mm *mm, struct shadow_vma *vma,
				  struct shadow_vma **prev,
				  unsigned long start, unsigned long end)
{
	struct shadow_address_space *mapping = vma->vm_mapping;
	loff_t offset;
	long error;

	*prev = NULL;	/* tell the walk we drop mmap_lock */

	if (vma->vm_flags & VM_LOCKED)
		return -EINVAL;
	if (!mapping || vma->vm_special)
		return -EINVAL;
	if ((vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) !=
	    (VM_SHARED | VM_MAYWRITE))
		return -EACCES;

	offset = (loff_t)(start - vma->vm_start) +
		 ((loff_t)vma->vm_pgoff << PAGE_SHIFT);
	shadow_mapping_get(mapping);
	shadow_mmap_read_unlock(mm);
	error = shadow_vfs_punch_hole(mapping, offset, end - start);
	shadow_mapping_put(mapping);
	shadow_mmap_read_lock(mm);
	return error;
}

/*
 * MADV_COLD and MADV_PAGEOUT (madvise_cold, madvise_pageout): not on
 * VM_LOCKED, VM_PFNMAP or VM_HUGETLB memory (can_madv_lru_vma); the pages
 * of the range that this address space alone maps are made old, and for
 * MADV_PAGEOUT reclaimed.
 */
static long shadow_madvise_cold_or_pageout(struct shadow_mm *mm,
					   struct shadow_vma *vma,
					   struct shadow_vma **prev,
					   unsigned long start,
					   unsigned long end, int behavior)
{
	*prev = vma;
	if (vma->vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB))
		return -EINVAL;
	/* can_do_pageout(): a special mapping has no file to page out to. */
	if (behavior == MADV_PAGEOUT && vma->vm_special)
		return 0;
	shadow_madvise_cold_or_pageout_range(mm, start, end,
					     behavior == MADV_PAGEOUT);
	return 0;
}

/*
 * MADV_POPULATE_READ/WRITE (madvise_populate): prefault the range
 * readable or writable, without forcing: -EINVAL where the VMA does not
 * allow the access, -EFAULT where the fault would raise SIGSEGV or
 * SIGBUS, -ENOMEM when memory runs out, -EINTR when killed.
 */
static shadow_flow long shadow_madvise_populate(struct shadow_mm *mm,
						struct shadow_vma *vma,
						struct shadow_vma **prev,
						unsigned long start,
						unsigned long end,
						int behavior)
{
	const bool write = behavior == MADV_POPULATE_WRITE;
	unsigned long tmp_end;
	long pages;

	*prev = vma;

	while (start < end) {
		if (!vma || start >= vma->vm_end) {
			vma = shadow_madvise_vma_lookup(mm, start);
			if (!vma)
				return -ENOMEM;
		}

		tmp_end = min(end, vma->vm_end);
		/* Populate (prefault) page tables readable/writable. */
		pages = shadow_faultin_vma_page_range(mm, vma, start, tmp_end,
						      write);
		if (pages < 0) {
			switch (pages) {
			case -EINTR:
			case -EINVAL: /* Incompatible mappings / permissions. */
			case -EFAULT: /* VM_FAULT_SIGBUS or VM_FAULT_SIGSEGV */
				return pages;
			default:
				return -ENOMEM;
			}
		}
		start += pages * PAGE_SIZE;
	}
	return 0;
}

/*
 * Give [start, end) of @vma the flags @new_flags: merge with a neighbour
 * when vma_merge can, else split off what stays as it was
 * (madvise_update_vma). *@prev becomes the VMA now covering the range.
 */
static shadow_flow int shadow_madvise_update_vma(struct shadow_mm *mm,
						 struct shadow_vma *vma,
						 struct shadow_vma **prev,
						 unsigned long start,
						 unsigned long end,
						 unsigned long new_flags)
{
	unsigned long pgoff;
	int error;

	if (new_flags == vma->vm_flags) {
		*prev = vma;
		return 0;
	}

	pgoff = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT);
	*prev = shadow_vma_merge(mm, *prev, start, end, new_flags,
				 vma->anon_vma, vma->vm_mapping, pgoff);
	if (*prev) {
		vma = *prev;
		goto success;
	}

	*prev = vma;
	if (start != vma->vm_start) {
		if (mm->map_count >= shadow_max_map_count)
			return -ENOMEM;
		error = __shadow_split_vma(mm, vma, start, 1);
		if (error)
			return error;
	}
	if (end != vma->vm_end) {
		if (mm->map_count >= shadow_max_map_count)
			return -ENOMEM;
		error = __shadow_split_vma(mm, vma, end, 0);
		if (error)
			return error;
	}

success:
	vma->vm_flags = new_flags;
	return 0;
}

/* madvise_vma_behavior(): the advice on one VMA's part of the range. */
static int shadow_madvise_vma_behavior(struct shadow_mm *mm,
				       struct shadow_vma *vma,
				       struct shadow_vma **prev,
				       unsigned long start, unsigned long end,
				       int behavior)
{
	unsigned long new_flags = vma->vm_flags;
	int error;

	switch (behavior) {
	case MADV_REMOVE:
		return shadow_madvise_remove(mm, vma, prev, start, end);
	case MADV_WILLNEED:
		return shadow_madvise_willneed(mm, vma, prev, start, end);
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
		return shadow_madvise_dontneed(mm, vma, prev, start, end,
					       behavior);
	case MADV_FREE:
		return shadow_madvise_free(mm, vma, prev, start, end);
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
		return shadow_madvise_populate(mm, vma, prev, start, end,
					       behavior);
	case MADV_COLD:
	case MADV_PAGEOUT:
		return shadow_madvise_cold_or_pageout(mm, vma, prev, start,
						      end, behavior);
	case MADV_HUGEPAGE:
		/* hugepage_madvise(): one clears the other; never fails. */
		new_flags = (new_flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
		break;
	case MADV_NOHUGEPAGE:
		new_flags = (new_flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
		break;
	case MADV_NORMAL:
		new_flags = new_flags & ~VM_RAND_READ & ~VM_SEQ_READ;
		break;
	case MADV_SEQUENTIAL:
		new_flags = (new_flags & ~VM_RAND_READ) | VM_SEQ_READ;
		break;
	case MADV_RANDOM:
		new_flags = (new_flags & ~VM_SEQ_READ) | VM_RAND_READ;
		break;
	case MADV_DONTFORK:
		new_flags |= VM_DONTCOPY;
		break;
	case MADV_DOFORK:
		if (vma->vm_flags & VM_IO)
			return -EINVAL;
		new_flags &= ~VM_DONTCOPY;
		break;
	case MADV_WIPEONFORK:
		/* MADV_WIPEONFORK is only supported on anonymous memory. */
		if (shadow_vma_file(vma) || vma->vm_flags & VM_SHARED)
			return -EINVAL;
		new_flags |= VM_WIPEONFORK;
		break;
	case MADV_KEEPONFORK:
		if (vma->vm_flags & VM_DROPPABLE)
			return -EINVAL;
		new_flags &= ~VM_WIPEONFORK;
		break;
	case MADV_DONTDUMP:
		new_flags |= VM_DONTDUMP;
		break;
	case MADV_DODUMP:
		if (new_flags & (VM_SPECIAL | VM_DROPPABLE))
			return -EINVAL;
		new_flags &= ~VM_DONTDUMP;
		break;
	}

	error = shadow_madvise_update_vma(mm, vma, prev, start, end,
					  new_flags);
	/* Kernel resources temporarily unavailable: EAGAIN, as Linux. */
	return error == -ENOMEM ? -EAGAIN : error;
}

/*
 * Visit every VMA part of [start, end); holes are skipped but make the
 * call fail with -ENOMEM at the end (madvise_walk_vmas).
 */
static int shadow_madvise_walk_vmas(struct shadow_mm *mm, unsigned long start,
				    unsigned long end, int behavior)
{
	struct shadow_vma *vma, *prev;
	int unmapped_error = 0;
	unsigned long tmp;

	vma = shadow_find_vma_prev(mm, start, &prev);
	if (vma && start > vma->vm_start)
		prev = vma;

	for (;;) {
		int error;

		if (!vma)
			return -ENOMEM;
		if (start < vma->vm_start) {
			unmapped_error = -ENOMEM;
			start = vma->vm_start;
			if (start >= end)
				break;
		}
		tmp = min(vma->vm_end, end);
		error = shadow_madvise_vma_behavior(mm, vma, &prev, start, tmp,
						    behavior);
		if (error)
			return error;
		start = tmp;
		if (prev && start < prev->vm_end)
			start = prev->vm_end;
		if (start >= end)
			break;
		vma = shadow_find_vma(mm, prev ? prev->vm_end : start);
	}
	return unmapped_error;
}

/**
 * shadow_do_madvise() - madvise(2) of a shadow address space
 * @mm: the address space
 * @start: page-aligned start
 * @len_in: length, rounded up to pages
 * @behavior: an MADV_* advice this file models (see the top)
 *
 * Return: 0; -EINVAL for unknown advice, an unaligned start, a wrapping
 * range, or advice a VMA cannot take; -ENOMEM when part of the range is
 * unmapped (the rest is advised), or when a populate runs out of memory;
 * -EAGAIN when a split failed; -EFAULT when a populate's fault fails;
 * -EACCES when MADV_REMOVE meets a mapping not shared and may-write, or
 * the error of its file's fallocate; -EINTR.
 */
shadow_flow int shadow_do_madvise(struct shadow_mm *mm, unsigned long start,
				  unsigned long len_in, int behavior)
{
	unsigned long end, len;
	bool write;
	int error;

	if (!shadow_madvise_behavior_valid(behavior))
		return -EINVAL;
	if (offset_in_page(start))
		return -EINVAL;
	len = PAGE_ALIGN(len_in);
	/* Check to see whether len was rounded up from small -ve to zero */
	if (len_in && !len)
		return -EINVAL;
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;

	write = shadow_madvise_need_mmap_write(behavior);
	if (write) {
		if (shadow_mmap_write_lock_killable(mm))
			return -EINTR;
	} else {
		shadow_mmap_read_lock(mm);
	}
	if (SHADOW_RULE_POPULATE_STOPS_AT_HOLE &&
	    (behavior == MADV_POPULATE_READ ||
	     behavior == MADV_POPULATE_WRITE)) {
		struct shadow_vma *prev;

		error = shadow_madvise_populate(mm, NULL, &prev, start, end,
						behavior);
	} else {
		error = shadow_madvise_walk_vmas(mm, start, end, behavior);
	}
	if (write)
		shadow_mmap_write_unlock(mm);
	else
		shadow_mmap_read_unlock(mm);
	return error;
}
