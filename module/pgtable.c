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
 * VMAs cover the table's 2 MiB and the table holds no swap entry. The
 * entry is then write-protected (_PAGE_RW clear: the table is "marked")
 * in every address space that maps the table, and the table's share
 * count (shadow_pt_share_count) says how many PMD entries point at it.
 *
 * The per-page work is deferred to the share break. A marked table holds
 * one set of per-page state for all its sharers: one reference and one
 * mapping (shadow mapcount) per page, whatever its share count. Fork does
 * per-table work only: the count, and the child's nr_ptes and rss, which
 * the table's own counts give (shadow_set_pte() keeps them in its struct
 * page). The table's PTEs stay as the parent left them: writable, young,
 * their pages anon-exclusive.
 *
 * Rules, which replace a lock per shared table:
 *
 *  1. Nobody writes a marked table. Every walker that changes PTEs goes
 *     through shadow_pte_unshare() first (directly, through
 *     shadow_pte_lookup_for_write() / shadow_pte_unshare_range(), or
 *     through shadow_pte_alloc()), which gives the address space a table
 *     of its own: a copy (break) or, when its count is down to 1, the
 *     table itself (takeover). So does every decision that reads a
 *     page's references, mapcount or exclusive bit to change a PTE:
 *     do_wp_page's reuse, swap-in, GUP's write and pin, try_to_unmap,
 *     clearing an accessed bit (folio_referenced), mprotect, mremap,
 *     madvise, mlock's populate and munmap of part of a table.
 *  2. An address space's PMD entry changes only under its own
 *     page_table_lock, and an address space holds its count as long as its
 *     entry points at the table. So under an mm's page_table_lock the
 *     table its entry points at is alive and, if marked, unchanging: a
 *     reader of a table that may be shared looks it up under that lock
 *     (shadow_pte_lookup_locked(), shadow_pte_get()). A table the mm owns
 *     stays its own, at the same place, for as long as the mm's mmap_lock
 *     is held: sharing it again takes a fork, which holds it for writing.
 *  3. The break does, for the address space that breaks away, the
 *     per-page work a copying fork would have done for it: a reference
 *     and a mapping per page, which stops being anon-exclusive, and PTEs
 *     write-protected, and old unless it is the origin (rule 5), in its
 *     copy; its rss already counts the pages. The takeover, by the last
 *     holder, makes the table's PTEs what they would be after a copying
 *     fork (write-protected, pages not exclusive, old unless the origin)
 *     and uses the table's set of references as its own. The break copies
 *     under the breaker's page_table_lock, then drops its count (a fully
 *     ordered atomic): whoever sees the count at 1 (atomic_read_acquire)
 *     is the only one left and may take the table over; whoever drops it
 *     to 0 (a break or a detach racing with the others') lets go of the
 *     table's set of references and frees it (shadow_pt_release()).
 *  4. A fork raises the count with both address spaces' mmap_lock held for
 *     writing and both page_table_locks (the child's, then the parent's
 *     nested); munmap or exit of a whole marked table subtracts its pages
 *     from the rss and drops one count, touching no page (memory.c). Both
 *     are O(1) per table.
 *  5. Readers derive what a copying fork would show (shadow_pte_view()):
 *     a PTE of a marked table is write-protected (every VMA over it is a
 *     private, COW mapping) and its page not anon-exclusive; it is young
 *     only to the table's origin, the address space that owned the table
 *     when it was first shared, whose accessed bits the table carries
 *     (the child of a copying fork starts with old PTEs). The origin is
 *     forgotten when it lets go of the table. A read access that would
 *     make an old PTE young breaks the share, as a write does. A page's
 *     mapcount is the sum, over the tables mapping it, of their share
 *     counts: shadow_page_mapcount() (rmap.c) derives it.
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
	/* Only a PTE table has counts, and they are 0 once it is empty. */
	shadow_warn_on(*shadow_pt_meta(table) &
		       GENMASK(SHADOW_PTC_ORIGIN - 1, 0));
	*shadow_pt_meta(table) = 0;
	atomic_set(shadow_pt_share_count(table), 0);
	atomic_long_dec(&shadow_counters.pages);
	free_page((unsigned long)table);
}

/**
 * shadow_pte_alloc_one() - a zeroed PTE table for later use (pte_alloc_one)
 *
 * Return: the table, counted in the engine's pages, or NULL.
 */
void *shadow_pte_alloc_one(void)
{
	return shadow_alloc_table();
}

/**
 * shadow_pte_free() - free a PTE table nothing points at (pte_free)
 * @table: the table, empty
 */
void shadow_pte_free(void *table)
{
	shadow_free_table(table);
}

/**
 * shadow_pmd_populate() - point PMD entry @pmd at @mm's own PTE table
 * @mm: the address space, page_table_lock held
 * @pmd: the entry's slot
 * @table: the table, its PTEs written before
 */
void shadow_pmd_populate(struct shadow_mm *mm, unsigned long *pmd,
			 void *table)
{
	shadow_pt_assert_locked(mm);
	/* The table is visible before the entry to it. */
	smp_wmb();
	WRITE_ONCE(*pmd, shadow_table_entry(table));
}

/*
 * The last share of a marked table is gone: let go of the set of
 * references its PTEs hold for all its sharers (zap_pte_range's per-page
 * work, without an rss: each sharer took the table's pages out of its own
 * when it let go), then free it. Nobody can reach the table any more.
 */
static void shadow_pt_release(void *table)
{
	pte_t *pte = table;
	int i;

	for (i = 0; i < SHADOW_PTRS; i++, pte++) {
		pte_t ptent = *pte;
		struct page *page;

		if (pte_none(ptent))
			continue;
		if (!pte_present(ptent)) {
			shadow_free_swap_and_cache(pte_to_swp_entry(ptent));
			continue;
		}
		if (pte_special(ptent))
			continue;
		page = pte_page(ptent);
		atomic_dec(&shadow_page_meta(page)->mapcount);
		shadow_free_swap_cache(page);
		shadow_put_page(page);
	}
	*shadow_pt_meta(table) = 0;
	shadow_free_table(table);
}

/**
 * shadow_pt_share_put() - an address space lets go of a marked PTE table
 * @mm: the address space, whose PMD entry no longer points at it
 * @table: the table
 *
 * The origin is forgotten when it is @mm; the last one releases the
 * table (rule 3 at the top of this file).
 */
void shadow_pt_share_put(struct shadow_mm *mm, void *table)
{
	int left;

	if (shadow_pt_origin(table) == mm->id)
		shadow_pt_set_origin(table, 0);
	left = atomic_dec_return(shadow_pt_share_count(table));
	if (left == 1)
		atomic_long_dec(&shadow_counters.pt_shared);
	else if (!left)
		shadow_pt_release(table);
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

/* A PTE after a copying fork, for @origin or for another address space. */
static pte_t shadow_pte_forked(pte_t pte, bool origin)
{
	if (!pte_present(pte))
		return pte_swp_clear_exclusive(pte);
	pte = pte_wrprotect(pte);
	return origin ? pte : pte_mkold(pte);
}

/*
 * The break's per-page work (rule 3): @new is a copy of the marked table
 * @old, for @mm. Each page gains the reference and the mapping a copying
 * fork would have given it (copy_present_pte), and stops being
 * anon-exclusive. page_table_lock held.
 */
static void shadow_pt_dup(struct shadow_mm *mm, pte_t *new, const void *old)
{
	bool origin = shadow_pt_origin(old) == mm->id;
	pte_t *pte = new;
	int i;

	shadow_pt_assert_locked(mm);
	for (i = 0; i < SHADOW_PTRS; i++, pte++) {
		pte_t ptent = *pte;

		if (pte_none(ptent))
			continue;
		set_pte(pte, shadow_pte_forked(ptent, origin));
		if (!pte_present(ptent)) {
			/* fork.c shares no table with a swap entry. */
			shadow_warn_on(1);
			shadow_swap_duplicate(pte_to_swp_entry(ptent));
		} else if (!pte_special(ptent)) {
			struct shadow_page *sp = shadow_page_meta(pte_page(ptent));

			shadow_get_page(pte_page(ptent));
			atomic_inc(&sp->mapcount);
			WRITE_ONCE(sp->anon_exclusive, false);
		}
	}
	/* The same counts; no origin: the copy is nobody else's. */
	*shadow_pt_meta(new) = *shadow_pt_meta(old) &
			       GENMASK(SHADOW_PTC_ORIGIN - 1, 0);
}

/*
 * The takeover's work (rule 3): the last holder of a marked table makes
 * its PTEs and pages what a copying fork would have left, and owns the
 * table's references. page_table_lock held.
 */
static void shadow_pt_takeover(struct shadow_mm *mm, pte_t *pte)
{
	bool origin = shadow_pt_origin(pte) == mm->id;
	int i;

	shadow_pt_assert_locked(mm);
	shadow_pt_set_origin(pte, 0);
	for (i = 0; i < SHADOW_PTRS; i++, pte++) {
		pte_t ptent = *pte;

		if (pte_none(ptent))
			continue;
		set_pte(pte, shadow_pte_forked(ptent, origin));
		if (pte_present(ptent) && !pte_special(ptent))
			WRITE_ONCE(shadow_page_meta(pte_page(ptent))->anon_exclusive,
				   false);
	}
}

/**
 * shadow_pte_unshare() - give @mm a PTE table of its own at @addr
 * @mm: the address space, mmap_lock held (for reading is enough),
 *      page_table_lock not held
 * @addr: a user address
 * @gfp: SHADOW_GFP where the caller can fail, SHADOW_GFP_NOFAIL where it
 *       cannot (a zap), SHADOW_GFP_ATOMIC in an rmap walk
 *
 * The one way to a marked table for a walker that will change it (rule 1
 * at the top of this file): when @addr's PTE table is marked, copy it
 * with the per-page work fork deferred and point @mm's entry at the copy,
 * or take it over when no one else maps it any more. A table that is not
 * marked, or no table, is left as it is.
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
	if (shadow_pmd_trans_huge(val)) {
		/*
		 * A PMD leaf has no table yet: the walker that will write
		 * PTEs splits it first (split_huge_pmd()), which never fails
		 * (its table was deposited with it).
		 */
		shadow_split_huge_pmd(mm, pmd, addr);
		return 0;
	}
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
		/* The others all let go: it is ours alone. */
		shadow_pt_takeover(mm, old);
		WRITE_ONCE(*pmd, val | _PAGE_RW);
		took = true;
	} else if (!new) {
		spin_unlock(&mm->page_table_lock);
		goto again;
	} else {
		copy_page(new, old);
		shadow_pt_dup(mm, new, old);
		/* The copy is visible before the entry to it. */
		smp_wmb();
		WRITE_ONCE(*pmd, shadow_table_entry(new));
	}
	spin_unlock(&mm->page_table_lock);

	if (took) {
		if (new)
			shadow_free_table(new);
		/* Its count stays 1 until the table is freed. */
		atomic_long_inc(&shadow_counters.pt_takeovers);
		return 0;
	}
	shadow_pt_share_put(mm, old);
	atomic_long_inc(&shadow_counters.pt_breaks);
	trace_shadow_mm_pgtable_alloc(mm, addr & ~(SHADOW_PMD_SIZE - 1),
				      SHADOW_PT_PTE);
	return 0;
}

/**
 * shadow_pte_unshare_range() - shadow_pte_unshare() each PTE table of
 * [start, end), but for PMD leaves it covers whole (mprotect's)
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
		unsigned long *pmd;

		next = shadow_pmd_addr_end(addr, end);
		/* A leaf the range covers whole changes as it is. */
		pmd = next - addr == SHADOW_PMD_SIZE ?
		      shadow_pmd_entry(mm, addr, false) : NULL;
		if (pmd && shadow_pmd_trans_huge(READ_ONCE(*pmd)))
			continue;
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
 * @shared: if not NULL, set when the table is marked (shared now, or
 *          shared before and not yet broken or taken over): nobody may
 *          write it, and shadow_pte_view() says what its PTEs stand for
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
	if (!val || shadow_pmd_trans_huge(val))
		return NULL;
	if (shared)
		*shared = shadow_pmd_shared(val);
	return shadow_pte_offset(val, addr);
}

/**
 * shadow_pte_view() - a PTE as @mm sees it (rule 5 at the top of this file)
 * @mm: the address space, page_table_lock held
 * @ptep: the PTE, from shadow_pte_lookup_locked()
 * @shared: its table is marked
 *
 * Return: the PTE a copying fork would have left @mm: in a marked table
 * write-protected, not exclusive if a swap entry, and old unless @mm is
 * the table's origin; any other PTE as it is.
 */
pte_t shadow_pte_view(struct shadow_mm *mm, const pte_t *ptep, bool shared)
{
	pte_t pte = *ptep;

	shadow_pt_assert_locked(mm);
	if (!shared || pte_none(pte))
		return pte;
	return shadow_pte_forked(pte, shadow_pt_origin(ptep) == mm->id);
}

/**
 * shadow_pte_get() - the value of @addr's PTE, none without a table
 * @mm: the address space, mmap_lock held, page_table_lock not held
 * @addr: a user address
 *
 * Return: the PTE as @mm sees it (shadow_pte_view()).
 */
pte_t shadow_pte_get(struct shadow_mm *mm, unsigned long addr)
{
	unsigned long *pmd = shadow_pmd_entry(mm, addr, false);
	pte_t *pte, val = __pte(0);
	bool shared;

	spin_lock(&mm->page_table_lock);
	pte = shadow_pte_lookup_locked(mm, addr, &shared);
	if (pte)
		val = shadow_pte_view(mm, pte, shared);
	else if (pmd && shadow_pmd_trans_huge(*pmd))
		val = shadow_huge_pmd_subpage_pte(*pmd, addr);
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
	unsigned long val = shadow_pmd_lookup(mm, addr);

	if (!val || shadow_pmd_trans_huge(val))
		return NULL;
	return (pte_t *)shadow_entry_table(val) +
	       shadow_index(addr, PAGE_SHIFT);
}

/**
 * shadow_pmd_lookup() - the value of @addr's PMD entry if its tables exist
 * @mm: the address space, mmap_lock or page_table_lock held (rule 2)
 * @addr: a user address
 *
 * Return: the entry (a table, a leaf), or 0.
 */
unsigned long shadow_pmd_lookup(struct shadow_mm *mm, unsigned long addr)
{
	unsigned long val;

	val = READ_ONCE(((unsigned long *)mm->pgd)[shadow_index(addr, SHADOW_PGDIR_SHIFT)]);
	if (!val)
		return 0;
	val = READ_ONCE(((unsigned long *)shadow_entry_table(val))
			[shadow_index(addr, SHADOW_PUD_SHIFT)]);
	if (!val)
		return 0;
	return READ_ONCE(((unsigned long *)shadow_entry_table(val))
			 [shadow_index(addr, SHADOW_PMD_SHIFT)]);
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
	if (shared)
		shadow_pt_uncount(mm, table);
	spin_unlock(&mm->page_table_lock);
	if (shared)
		/* A zap detaches or breaks a shared table first. */
		shadow_pt_share_put(mm, table);
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
	unsigned long *pmd = shadow_entry_table(*pud), start = addr, next, val;

	do {
		next = shadow_addr_end(addr, end, SHADOW_PMD_SIZE);
		val = pmd[shadow_index(addr, SHADOW_PMD_SHIFT)];
		/* The zap took every leaf of the range, with its deposit. */
		if (val && !shadow_warn_on(shadow_pmd_trans_huge(val)))
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
