// SPDX-License-Identifier: GPL-2.0
/*
 * madvise() of shadow address spaces, after mm/madvise.c of Linux 6.1:
 * do_madvise -> madvise_walk_vmas -> madvise_vma_behavior ->
 * madvise_update_vma (vma_merge, or split_vma at either end).
 *
 * The advice modelled so far changes VMA flags only: MADV_DONTFORK and
 * MADV_DOFORK (VM_DONTCOPY), MADV_WIPEONFORK and MADV_KEEPONFORK
 * (VM_WIPEONFORK). They take mmap_lock for writing.
 *
 * This file includes only vma_internal.h: the user-space harness can
 * compile it unchanged.
 */
#include "vma_internal.h"

/* The advice this engine implements. */
static bool shadow_madvise_behavior_valid(int behavior)
{
	switch (behavior) {
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
		return true;
	default:
		return false;
	}
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
				 vma->anon_vma, vma->vm_shmem, pgoff);
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

/* madvise_vma_behavior(): the new flags of one VMA's part. */
static int shadow_madvise_vma_behavior(struct shadow_mm *mm,
				       struct shadow_vma *vma,
				       struct shadow_vma **prev,
				       unsigned long start, unsigned long end,
				       int behavior)
{
	unsigned long new_flags = vma->vm_flags;
	int error;

	switch (behavior) {
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
		if (vma->vm_flags & VM_SHARED)
			return -EINVAL;
		new_flags |= VM_WIPEONFORK;
		break;
	case MADV_KEEPONFORK:
		new_flags &= ~VM_WIPEONFORK;
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
 * @behavior: MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK
 *
 * Return: 0; -EINVAL for unknown advice, an unaligned start, a wrapping
 * range, or advice a VMA cannot take; -ENOMEM when part of the range is
 * unmapped (the rest is advised); -EAGAIN when a split failed; -EINTR.
 */
shadow_flow int shadow_do_madvise(struct shadow_mm *mm, unsigned long start,
				  unsigned long len_in, int behavior)
{
	unsigned long end, len;
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

	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	error = shadow_madvise_walk_vmas(mm, start, end, behavior);
	shadow_mmap_write_unlock(mm);
	return error;
}
