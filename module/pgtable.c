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
 *
 * On-demand fork (the On-Demand-Fork design, EuroSys 2021; fork.c shares,
 * this file breaks): a fork may point the child's PMD entry at the
 * parent's PTE table instead of copying it, when only private anonymous
 * VMAs cover the table's 2 MiB. The entry is then write-protected
 * (_PAGE_RW clear) in every address space that maps the table, and the
 * table's share count (shadow_pt_share_count) says how many PMD entries
 * point at it. Each address space counts the table in its nr_ptes, and
 * the pages, swap slots and rss behind its PTEs as if the table were its
 * own copy: fork did that bookkeeping per PTE, as copy_pte_range does.
 *
 * Rules, which replace a lock per shared table:
 *
 *  1. Nobody writes a table whose count is 2 or more. Every walker that
 *     changes PTEs goes through shadow_pte_unshare() first (directly,
 *     through shadow_pte_lookup_for_write() / shadow_pte_unshare_range(),
 *     or through shadow_pte_alloc()), which gives the address space a
 *     table of its own: a copy (break) or, when its count is down to 1,
 *     the table itself (takeover).
 *  2. An address space's PMD entry changes only under its own
 *     page_table_lock, and an address space holds its count as long as its
 *     entry points at the table. So under an mm's page_table_lock the
 *     table its entry points at is alive and, if shared, unchanging: a
 *     reader of a table that may be shared looks it up under that lock
 *     (shadow_pte_lookup_locked(), shadow_pte_get()). A table the mm owns
 *     stays its own, at the same place, for as long as the mm's mmap_lock
 *     is held: sharing it again takes a fork, which holds it for writing.
 *  3. A break copies the table under the breaker's page_table_lock, then
 *     drops its count (a fully ordered atomic): whoever sees the count at
 *     1 (atomic_read_acquire) is the only one left and may write the
 *     table; whoever drops it to 0 frees it.
 *  4. A fork raises the count with both address spaces' mmap_lock held for
 *     writing and both page_table_locks (the child's, then the parent's
 *     nested): it writes the PTEs only of a table it shares for the first
 *     time (count 1 or unshared: the parent's alone).
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
	atomic_set(shadow_pt_share_count(table), 0);
	atomic_long_dec(&shadow_counters.pages);
	free_page((unsigned long)table);
}

/**
 * shadow_pt_share_put() - an address space lets go of a shared PTE table
 * @table: the table, which its PMD entry no longer points at
 *
 * The last one frees it.
 */
void shadow_pt_share_put(void *table)
{
	int left = atomic_dec_return(shadow_pt_share_count(table));

	if (left == 1)
		atomic_long_dec(&shadow_counters.pt_shared);
	else if (!left)
		shadow_free_table(table);
}

/* The copy a share break makes: not zeroed, it is overwritten whole. */
static void *shadow_alloc_break_table(gfp_t gfp)
{
	struct page *page = alloc_page(gfp);

	if (!page)
		return NULL;
	atomic_long_inc(&shadow_counters.pages);
	return page_address(page);
}

/**
 * shadow_pte_unshare() - give @mm a PTE table of its own at @addr
 * @mm: the address space, mmap_lock held (for reading is enough),
 *      page_table_lock not held
 * @addr: a user address
 * @gfp: SHADOW_GFP where the caller can fail, SHADOW_GFP_NOFAIL where it
 *       cannot (a zap), SHADOW_GFP_ATOMIC in an rmap walk
 *
 * The one way to a shared table for a walker that will change it (rule 1
 * at the top of this file): when @addr's PTE table is shared, copy it and
 * point @mm's entry at the copy, or take it over when no one else maps it
 * any more. The copy needs no per-page work: fork already counted @mm's
 * PTEs as its own. A table that is not shared, or no table, is left as
 * it is.
 *
 * Return: 0, or -ENOMEM with nothing changed.
 */
shadow_flow int shadow_pte_unshare(struct shadow_mm *mm, unsigned long addr,
				   gfp_t gfp)
{
	unsigned long *pmd = shadow_pmd_entry(mm, addr, false), val;
	void *old, *new = NULL;
	bool took = false;

	lockdep_assert_not_held(&mm->page_table_lock);
again:
	if (!pmd)
		return 0;
	val = READ_ONCE(*pmd);
	if (!shadow_pmd_shared(val))
		return 0;
	/* A takeover needs no copy (the struct page outlives the table). */
	if (!new && atomic_read(shadow_pt_share_count(shadow_entry_table(val))) > 1) {
		new = shadow_alloc_break_table(gfp);
		if (!new)
			return -ENOMEM;
	}

	spin_lock(&mm->page_table_lock);
	val = *pmd;
	if (!shadow_pmd_shared(val)) {
		/* Another thread of ours broke it first. */
		spin_unlock(&mm->page_table_lock);
		if (new)
			shadow_free_table(new);
		return 0;
	}
	old = shadow_entry_table(val);
	if (atomic_read_acquire(shadow_pt_share_count(old)) == 1) {
		/* The others all broke away: it is ours alone. */
		WRITE_ONCE(*pmd, val | _PAGE_RW);
		took = true;
	} else if (!new) {
		spin_unlock(&mm->page_table_lock);
		goto again;
	} else {
		copy_page(new, old);
		/* The copy is visible before the entry to it. */
		smp_wmb();
		WRITE_ONCE(*pmd, shadow_table_entry(new));
	}
	spin_unlock(&mm->page_table_lock);

	if (took) {
		if (new)
			shadow_free_table(new);
		atomic_long_inc(&shadow_counters.pt_takeovers);
		return 0;
	}
	shadow_pt_share_put(old);
	atomic_long_inc(&shadow_counters.pt_breaks);
	trace_shadow_mm_pgtable_alloc(mm, addr & ~(SHADOW_PMD_SIZE - 1),
				      SHADOW_PT_PTE);
	return 0;
}

/**
 * shadow_pte_unshare_range() - shadow_pte_unshare() each PTE table of
 * [start, end)
 * @mm: the address space, mmap_lock held
 * @start: start of the range
 * @end: its end
 * @gfp: as for shadow_pte_unshare()
 *
 * Return: 0, or -ENOMEM: the tables before the failing one are @mm's own,
 * the others as they were.
 */
int shadow_pte_unshare_range(struct shadow_mm *mm, unsigned long start,
			     unsigned long end, gfp_t gfp)
{
	unsigned long addr = start, next;
	int err;

	shadow_mmap_assert_locked(mm);
	for (; addr < end; addr = next) {
		next = shadow_pmd_addr_end(addr, end);
		err = shadow_pte_unshare(mm, addr, gfp);
		if (err)
			return err;
	}
	return 0;
}

/**
 * shadow_pte_lookup_for_write() - the PTE of @addr in a table of @mm's own
 * @mm: the address space, mmap_lock held
 * @addr: a user address
 * @gfp: as for shadow_pte_unshare()
 * @err: set to 0, or to -ENOMEM when the share could not be broken
 *
 * Return: the PTE slot, stable while mmap_lock is held, or NULL when
 * there is no table (or on error).
 */
pte_t *shadow_pte_lookup_for_write(struct shadow_mm *mm, unsigned long addr,
				   gfp_t gfp, int *err)
{
	*err = shadow_pte_unshare(mm, addr, gfp);
	if (*err)
		return NULL;
	return shadow_pte_lookup(mm, addr);
}

/**
 * shadow_pte_lookup_locked() - the PTE of @addr, for reading, in a table
 * that may be shared
 * @mm: the address space, mmap_lock and page_table_lock held
 * @addr: a user address
 * @shared: if not NULL, set when the table is shared with another address
 *          space now
 *
 * Return: the PTE slot, valid while page_table_lock is held, or NULL.
 */
pte_t *shadow_pte_lookup_locked(struct shadow_mm *mm, unsigned long addr,
				bool *shared)
{
	unsigned long *pmd, val;

	shadow_pt_assert_locked(mm);
	if (shared)
		*shared = false;
	pmd = shadow_pmd_entry(mm, addr, false);
	if (!pmd)
		return NULL;
	val = *pmd;
	if (!val)
		return NULL;
	if (shared)
		*shared = shadow_pmd_table_shared(val);
	return shadow_pte_offset(val, addr);
}

/**
 * shadow_pte_get() - the value of @addr's PTE, none without a table
 * @mm: the address space, mmap_lock held, page_table_lock not held
 * @addr: a user address
 *
 * Return: the PTE.
 */
pte_t shadow_pte_get(struct shadow_mm *mm, unsigned long addr)
{
	pte_t *pte, val = __pte(0);

	spin_lock(&mm->page_table_lock);
	pte = shadow_pte_lookup_locked(mm, addr, NULL);
	if (pte)
		val = *pte;
	spin_unlock(&mm->page_table_lock);
	return val;
}

/**
 * shadow_nr_shared_ptes() - the PTE tables @mm maps that are shared now
 * @mm: the address space, page_table_lock held
 *
 * Return: the count (SHADOW_MM_GET_STATS's out_shared_ptes).
 */
unsigned long shadow_nr_shared_ptes(struct shadow_mm *mm)
{
	unsigned long *pgd = (unsigned long *)mm->pgd, *pud, *pmd, n = 0;
	int i, j, k;
	void *table;

	shadow_pt_assert_locked(mm);
	for (i = 0; i < SHADOW_PTRS; i++) {
		if (!pgd[i])
			continue;
		pud = shadow_entry_table(pgd[i]);
		for (j = 0; j < SHADOW_PTRS; j++) {
			if (!pud[j])
				continue;
			pmd = shadow_entry_table(pud[j]);
			for (k = 0; k < SHADOW_PTRS; k++) {
				if (!shadow_pmd_shared(pmd[k]))
					continue;
				table = shadow_entry_table(pmd[k]);
				if (atomic_read(shadow_pt_share_count(table)) > 1)
					n++;
			}
		}
	}
	return n;
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
 * The table is @mm's own (shadow_pte_unshare): the caller may write it.
 *
 * Return: the PTE slot (read and written under page_table_lock), or NULL
 * when a table could not be allocated or its share not broken.
 */
shadow_flow pte_t *shadow_pte_alloc(struct shadow_mm *mm, unsigned long addr)
{
	unsigned long *pmd = shadow_pmd_entry(mm, addr, true);

	if (!pmd || shadow_entry_alloc(mm, pmd, addr & ~(SHADOW_PMD_SIZE - 1),
				       SHADOW_PT_PTE))
		return NULL;
	/* A table that will be written: our own (rule 1 at the top). */
	if (shadow_pte_unshare(mm, addr, SHADOW_GFP))
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

	shadow_mmap_assert_locked(mm);
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
	bool shared = level == SHADOW_PT_PTE && shadow_pmd_shared(*entry);

	spin_lock(&mm->page_table_lock);
	WRITE_ONCE(*entry, 0);
	(*shadow_level_count(mm, level))--;
	spin_unlock(&mm->page_table_lock);
	if (shared)
		/* A zap detaches or breaks a shared table first. */
		shadow_pt_share_put(table);
	else
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
