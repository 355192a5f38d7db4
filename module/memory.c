// SPDX-License-Identifier: GPL-2.0
/*
 * Zapping the pages and freeing the page tables of an unmapped range, after
 * mm/memory.c's unmap_vmas() and free_pgtables().
 *
 * Called with mm->mmap_lock held for writing, on VMAs that are already out
 * of the tree.
 */
#include "internal.h"

/**
 * shadow_unmap_vmas() - drop the PTEs of [start, end) in @vmas (unmap_vmas)
 * @mm: the address space
 * @vmas: the detached VMAs, linked by vm_detach_next
 * @start: start of the range
 * @end: end of the range
 *
 * Faults are what fill page tables; until an address space has taken a
 * fault there is no PTE to drop, and this step returns at once.
 */
noinline void shadow_unmap_vmas(struct shadow_mm *mm, struct shadow_vma *vmas,
				unsigned long start, unsigned long end)
{
	shadow_mmap_assert_write_locked(mm);
}

/**
 * shadow_free_pgtables() - free the page tables of @vmas (free_pgtables)
 * @mm: the address space
 * @vmas: the detached VMAs
 * @floor: the lowest address a neighbour below still maps
 * @ceiling: the highest address a neighbour above still maps (0: none)
 *
 * Page-table pages below the PGD are allocated by faults; with none taken,
 * there is nothing to free.
 */
noinline void shadow_free_pgtables(struct shadow_mm *mm,
				   struct shadow_vma *vmas,
				   unsigned long floor, unsigned long ceiling)
{
	shadow_mmap_assert_write_locked(mm);
}
