// SPDX-License-Identifier: GPL-2.0
/*
 * Page tables of a shadow address space: a 4-level tree of 4 KiB pages from
 * the page allocator with entries in the native x86-64 format (pgd_t,
 * pud_t, pmd_t, pte_t), after mm/memory.c's __pud_alloc/__pmd_alloc/
 * __pte_alloc and free_pgd_range.
 *
 * The tree always has four levels, whether or not the running kernel uses
 * five: the levels are indexed here with fixed shifts, and the kernel's
 * pgd_none()/p4d helpers, which fold a level at run time, are not used.
 *
 * Entries are written under mm->page_table_lock; a table is allocated
 * outside it and installed under it unless another fault got there first.
 * Tables are freed with mmap_lock held for writing.
 */
#include <linux/gfp.h>
#include <linux/mm.h>

#include "internal.h"
#include "trace.h"

static unsigned long shadow_table_entry(void *table)
{
	return __pa(table) | _PAGE_TABLE;
}

static void *shadow_alloc_table(void)
{
	struct page *page = alloc_page(SHADOW_GFP | __GFP_ZERO);

	if (!page)
		return NULL;
	atomic_long_inc(&shadow_counters.pages);
	return page_address(page);
}

static void shadow_free_table(void *table)
{
	atomic_long_dec(&shadow_counters.pages);
	free_page((unsigned long)table);
}

/* The count of @mm's tables at @level. */
static unsigned long *shadow_level_count(struct shadow_mm *mm,
					 enum shadow_pt_level level)
{
	switch (level) {
	case SHADOW_PT_PUD:
		return &mm->nr_puds;
	case SHADOW_PT_PMD:
		return &mm->nr_pmds;
	default:
		return &mm->nr_ptes;
	}
}

/*
 * Make *@entry point at a new table of @level, the one mapping @addr,
 * unless it already points at one (__pte_alloc and friends).
 */
static int shadow_entry_alloc(struct shadow_mm *mm, unsigned long *entry,
			      unsigned long addr, enum shadow_pt_level level)
{
	void *table;

	if (READ_ONCE(*entry))
		return 0;
	table = shadow_alloc_table();
	if (!table)
		return -ENOMEM;

	spin_lock(&mm->page_table_lock);
	if (!*entry) {
		/* The zeroed table is visible before the entry to it. */
		smp_wmb();
		WRITE_ONCE(*entry, shadow_table_entry(table));
		(*shadow_level_count(mm, level))++;
		table = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (table)
		shadow_free_table(table);
	else
		trace_shadow_mm_pgtable_alloc(mm, addr, level);
	return 0;
}

/**
 * shadow_pte_alloc() - the PTE of @addr, allocating tables on the way
 * @mm: the address space
 * @addr: a user address
 *
 * Return: the PTE slot (read and written under page_table_lock), or NULL
 * when a table could not be allocated.
 */
shadow_flow pte_t *shadow_pte_alloc(struct shadow_mm *mm, unsigned long addr)
{
	unsigned long *pmd = shadow_pmd_entry(mm, addr, true);

	if (!pmd || shadow_entry_alloc(mm, pmd, addr & ~(SHADOW_PMD_SIZE - 1),
				       SHADOW_PT_PTE))
		return NULL;
	return (pte_t *)shadow_entry_table(READ_ONCE(*pmd)) +
	       shadow_index(addr, PAGE_SHIFT);
}

/**
 * shadow_pud_entry() - the PUD-level entry of @addr (it points at a PMD table)
 * @mm: the address space, mmap_lock held
 * @addr: a user address
 * @alloc: allocate the PUD table when missing (pud_alloc), else return NULL
 *
 * Return: the entry's slot (written under page_table_lock), or NULL.
 */
unsigned long *shadow_pud_entry(struct shadow_mm *mm, unsigned long addr,
				bool alloc)
{
	unsigned long *pgd;

	pgd = (unsigned long *)mm->pgd + shadow_index(addr, SHADOW_PGDIR_SHIFT);
	if (alloc &&
	    shadow_entry_alloc(mm, pgd, addr & ~(SHADOW_PGDIR_SIZE - 1),
			       SHADOW_PT_PUD))
		return NULL;
	if (!READ_ONCE(*pgd))
		return NULL;
	return (unsigned long *)shadow_entry_table(READ_ONCE(*pgd)) +
	       shadow_index(addr, SHADOW_PUD_SHIFT);
}

/**
 * shadow_pmd_entry() - the PMD-level entry of @addr (it points at a PTE table)
 * @mm: the address space, mmap_lock held
 * @addr: a user address
 * @alloc: allocate the PUD and PMD tables when missing (pmd_alloc), else
 *         return NULL
 *
 * Return: the entry's slot (written under page_table_lock), or NULL.
 */
unsigned long *shadow_pmd_entry(struct shadow_mm *mm, unsigned long addr,
				bool alloc)
{
	unsigned long *pud = shadow_pud_entry(mm, addr, alloc);

	if (!pud)
		return NULL;
	if (alloc &&
	    shadow_entry_alloc(mm, pud, addr & ~(SHADOW_PUD_SIZE - 1),
			       SHADOW_PT_PMD))
		return NULL;
	if (!READ_ONCE(*pud))
		return NULL;
	return (unsigned long *)shadow_entry_table(READ_ONCE(*pud)) +
	       shadow_index(addr, SHADOW_PMD_SHIFT);
}

/**
 * shadow_pte_lookup() - the PTE of @addr if its tables exist
 * @mm: the address space
 * @addr: a user address
 *
 * Return: the PTE slot, or NULL when a table on the way is missing.
 */
pte_t *shadow_pte_lookup(struct shadow_mm *mm, unsigned long addr)
{
	unsigned long val;

	val = READ_ONCE(((unsigned long *)mm->pgd)[shadow_index(addr, SHADOW_PGDIR_SHIFT)]);
	if (!val)
		return NULL;
	val = READ_ONCE(((unsigned long *)shadow_entry_table(val))
			[shadow_index(addr, SHADOW_PUD_SHIFT)]);
	if (!val)
		return NULL;
	val = READ_ONCE(((unsigned long *)shadow_entry_table(val))
			[shadow_index(addr, SHADOW_PMD_SHIFT)]);
	if (!val)
		return NULL;
	return (pte_t *)shadow_entry_table(val) +
	       shadow_index(addr, PAGE_SHIFT);
}

/*
 * Clear a table entry and free the table of @level it pointed at, the one
 * mapping @addr.
 */
static void shadow_clear_entry(struct shadow_mm *mm, unsigned long *entry,
			       unsigned long addr, enum shadow_pt_level level)
{
	void *table = shadow_entry_table(*entry);

	spin_lock(&mm->page_table_lock);
	WRITE_ONCE(*entry, 0);
	(*shadow_level_count(mm, level))--;
	spin_unlock(&mm->page_table_lock);
	shadow_free_table(table);
	trace_shadow_mm_pgtable_free(mm, addr, level);
}

/*
 * True when the table of span @size that starts at @start lies wholly
 * within [floor, ceiling) for the range ending at @end (the checks
 * free_pmd_range() and free_pud_range() make before freeing a table).
 */
static bool shadow_table_may_go(unsigned long start, unsigned long end,
				unsigned long floor, unsigned long ceiling,
				unsigned long size)
{
	start &= ~(size - 1);
	if (start < floor)
		return false;
	if (ceiling) {
		ceiling &= ~(size - 1);
		if (!ceiling)
			return false;
	}
	return end - 1 <= ceiling - 1;
}

static void shadow_free_pmd_range(struct shadow_mm *mm, unsigned long *pud,
				  unsigned long addr, unsigned long end,
				  unsigned long floor, unsigned long ceiling)
{
	unsigned long *pmd = shadow_entry_table(*pud), start = addr, next;

	do {
		next = shadow_addr_end(addr, end, SHADOW_PMD_SIZE);
		if (pmd[shadow_index(addr, SHADOW_PMD_SHIFT)])
			/* free_pte_range() */
			shadow_clear_entry(mm,
					   &pmd[shadow_index(addr, SHADOW_PMD_SHIFT)],
					   addr & ~(SHADOW_PMD_SIZE - 1),
					   SHADOW_PT_PTE);
		addr = next;
	} while (addr != end);

	if (shadow_table_may_go(start, end, floor, ceiling, SHADOW_PUD_SIZE))
		shadow_clear_entry(mm, pud, start & ~(SHADOW_PUD_SIZE - 1),
				   SHADOW_PT_PMD);
}

static void shadow_free_pud_range(struct shadow_mm *mm, unsigned long *pgd,
				  unsigned long addr, unsigned long end,
				  unsigned long floor, unsigned long ceiling)
{
	unsigned long *pud = shadow_entry_table(*pgd), start = addr, next;

	do {
		next = shadow_addr_end(addr, end, SHADOW_PUD_SIZE);
		if (pud[shadow_index(addr, SHADOW_PUD_SHIFT)])
			shadow_free_pmd_range(mm,
					      &pud[shadow_index(addr, SHADOW_PUD_SHIFT)],
					      addr, next, floor, ceiling);
		addr = next;
	} while (addr != end);

	if (shadow_table_may_go(start, end, floor, ceiling,
				SHADOW_PGDIR_SIZE))
		shadow_clear_entry(mm, pgd, start & ~(SHADOW_PGDIR_SIZE - 1),
				   SHADOW_PT_PUD);
}

/**
 * shadow_free_pgd_range() - free the page tables of [addr, end)
 * @mm: the address space, mmap_lock held for writing, no PTE left in range
 * @addr: start of the unmapped range
 * @end: its end
 * @floor: the lowest address the range's neighbour below may still use
 * @ceiling: the first address the neighbour above uses (0: none)
 *
 * A PTE table goes when its whole 2 MiB lies inside [floor, ceiling); a
 * PMD or PUD table when, in addition, its whole span does (free_pgd_range).
 */
shadow_flow void shadow_free_pgd_range(struct shadow_mm *mm,
				       unsigned long addr, unsigned long end,
				       unsigned long floor,
				       unsigned long ceiling)
{
	unsigned long *pgd = (unsigned long *)mm->pgd, next;

	shadow_mmap_assert_write_locked(mm);
	addr &= ~(SHADOW_PMD_SIZE - 1);
	if (addr < floor) {
		addr += SHADOW_PMD_SIZE;
		if (!addr)
			return;
	}
	if (ceiling) {
		ceiling &= ~(SHADOW_PMD_SIZE - 1);
		if (!ceiling)
			return;
	}
	if (end - 1 > ceiling - 1)
		end -= SHADOW_PMD_SIZE;
	if (addr > end - 1)
		return;

	do {
		next = shadow_addr_end(addr, end, SHADOW_PGDIR_SIZE);
		if (pgd[shadow_index(addr, SHADOW_PGDIR_SHIFT)])
			shadow_free_pud_range(mm,
					      &pgd[shadow_index(addr, SHADOW_PGDIR_SHIFT)],
					      addr, next, floor, ceiling);
		addr = next;
	} while (addr != end);
}
