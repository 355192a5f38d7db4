// SPDX-License-Identifier: GPL-2.0
/*
 * A walk over the page-table tree of a shadow address space, after
 * mm/pagewalk.c's walk_page_range(): callbacks for each present table entry
 * on the way down, for each PTE of a present PTE table, and for each range
 * a missing table leaves empty, so that a walk costs what the tree holds
 * and not what the range spans.
 *
 * The caller holds mmap_lock, which keeps tables from being freed; the
 * walk takes page_table_lock around the PTEs of each PTE table, as
 * walk_pte_range() takes the PTE lock. The walk only reads: a PTE table
 * may be shared by on-demand fork (pgtable.c), and a callback must not
 * write it.
 */
#include "internal.h"

static int shadow_walk_pte_range(unsigned long *pmd, unsigned long addr,
				 unsigned long end,
				 struct shadow_pagewalk *walk);

/*
 * A PMD leaf (walk_pmd_range() with pmd_trans_huge_lock() held): given
 * whole to huge_pmd_entry(), else to pte_entry() as the PTEs a split
 * would make, each a copy on the stack (the walk only reads). A leaf
 * split meanwhile is walked as the table it became.
 */
static int shadow_walk_huge_pmd(unsigned long *pmd, unsigned long addr,
				unsigned long end, struct shadow_pagewalk *walk)
{
	const struct shadow_pagewalk_ops *ops = walk->ops;
	unsigned long val;
	int err = 0;

	spin_lock(&walk->mm->page_table_lock);
	val = *pmd;
	if (!shadow_pmd_trans_huge(val)) {
		spin_unlock(&walk->mm->page_table_lock);
		return shadow_walk_pte_range(pmd, addr, end, walk);
	}
	walk->pmd = val;
	if (ops->huge_pmd_entry) {
		err = ops->huge_pmd_entry(val, addr, end, walk);
	} else if (ops->pte_entry) {
		for (; addr != end && !err; addr += PAGE_SIZE) {
			pte_t pte = shadow_huge_pmd_subpage_pte(val, addr);

			err = ops->pte_entry(&pte, addr, addr + PAGE_SIZE, walk);
		}
	}
	spin_unlock(&walk->mm->page_table_lock);
	return err;
}

static int shadow_walk_pte_range(unsigned long *pmd, unsigned long addr,
				 unsigned long end,
				 struct shadow_pagewalk *walk)
{
	const struct shadow_pagewalk_ops *ops = walk->ops;
	unsigned long val;
	int err = 0;
	pte_t *pte;

	if (!ops->pte_entry)
		return 0;
	spin_lock(&walk->mm->page_table_lock);
	/*
	 * Read again under the lock: a fault of ours may have broken the
	 * table's share for a copy meanwhile (pgtable.c, rule 2), or mapped
	 * a leaf where there was nothing.
	 */
	val = *pmd;
	if (shadow_pmd_trans_huge(val)) {
		spin_unlock(&walk->mm->page_table_lock);
		return shadow_walk_huge_pmd(pmd, addr, end, walk);
	}
	if (!val) {
		spin_unlock(&walk->mm->page_table_lock);
		return ops->pte_hole ?
		       ops->pte_hole(addr, end, SHADOW_DEPTH_PMD, walk) : 0;
	}
	walk->pmd = val;
	pte = shadow_pte_offset(val, addr);
	for (;;) {
		err = ops->pte_entry(pte, addr, addr + PAGE_SIZE, walk);
		if (err)
			break;
		addr += PAGE_SIZE;
		if (addr == end)
			break;
		pte++;
	}
	spin_unlock(&walk->mm->page_table_lock);
	return err;
}

static int shadow_walk_pmd_range(unsigned long pud, unsigned long addr,
				 unsigned long end,
				 struct shadow_pagewalk *walk)
{
	const struct shadow_pagewalk_ops *ops = walk->ops;
	unsigned long *pmd = shadow_pmd_offset(pud, addr), next, val;
	int err = 0;

	do {
		next = shadow_addr_end(addr, end, SHADOW_PMD_SIZE);
		val = READ_ONCE(*pmd);
		if (!val) {
			if (ops->pte_hole)
				err = ops->pte_hole(addr, next, SHADOW_DEPTH_PMD,
						    walk);
			if (err)
				break;
			continue;
		}
		if (shadow_pmd_trans_huge(val)) {
			err = shadow_walk_huge_pmd(pmd, addr, next, walk);
		} else {
			if (ops->pmd_entry)
				err = ops->pmd_entry(val, addr, next, walk);
			if (!err)
				err = shadow_walk_pte_range(pmd, addr, next,
							    walk);
		}
		if (err)
			break;
		cond_resched();
	} while (pmd++, addr = next, addr != end);
	return err;
}

static int shadow_walk_pud_range(unsigned long pgd, unsigned long addr,
				 unsigned long end,
				 struct shadow_pagewalk *walk)
{
	const struct shadow_pagewalk_ops *ops = walk->ops;
	unsigned long *pud = shadow_pud_offset(pgd, addr), next, val;
	int err = 0;

	do {
		next = shadow_addr_end(addr, end, SHADOW_PUD_SIZE);
		val = READ_ONCE(*pud);
		if (!val) {
			if (ops->pte_hole)
				err = ops->pte_hole(addr, next, SHADOW_DEPTH_PUD,
						    walk);
			if (err)
				break;
			continue;
		}
		if (ops->pud_entry)
			err = ops->pud_entry(val, addr, next, walk);
		if (!err)
			err = shadow_walk_pmd_range(val, addr, next, walk);
		if (err)
			break;
	} while (pud++, addr = next, addr != end);
	return err;
}

/**
 * shadow_walk_page_range() - walk the page tables of [start, end)
 * @mm: the address space, mmap_lock held
 * @start: first address, page aligned
 * @end: end of the range, page aligned, above @start
 * @ops: the callbacks; any may be NULL
 * @private: for the callbacks, in @walk->private
 *
 * A callback that returns non-zero stops the walk (walk_page_range).
 *
 * Return: 0, or what a callback returned.
 */
int shadow_walk_page_range(struct shadow_mm *mm, unsigned long start,
			   unsigned long end,
			   const struct shadow_pagewalk_ops *ops, void *private)
{
	struct shadow_pagewalk walk = {
		.ops = ops,
		.mm = mm,
		.private = private,
	};
	unsigned long addr = start, next, val, *pgd;
	int err = 0;

	shadow_mmap_assert_locked(mm);
	pgd = shadow_pgd_offset(mm, addr);
	do {
		next = shadow_addr_end(addr, end, SHADOW_PGDIR_SIZE);
		val = READ_ONCE(*pgd);
		if (!val) {
			if (ops->pte_hole)
				err = ops->pte_hole(addr, next, SHADOW_DEPTH_PGD,
						    &walk);
			if (err)
				break;
			continue;
		}
		if (ops->pgd_entry)
			err = ops->pgd_entry(val, addr, next, &walk);
		if (!err)
			err = shadow_walk_pud_range(val, addr, next, &walk);
		if (err)
			break;
	} while (pgd++, addr = next, addr != end);
	return err;
}
