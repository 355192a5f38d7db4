// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim of shadow address spaces, after mm/vmscan.c of Linux 6.1:
 * shrink_page_list() over the present pages of a range of one address
 * space (SHADOW_MM_RECLAIM), or of every address space on the module's
 * mmlist (SHADOW_DEV_RECLAIM, in the spirit of the old swap_out/swap_mm
 * walk). The engine has no LRU: the pages are taken in address order, and
 * page_referenced() alone decides their age.
 *
 * A THP is aged by its leaf, dropped whole when it is lazyfree and clean,
 * else split (huge_memory.c) so that its pages go one by one; the
 * device-wide request also runs the deferred split queue.
 *
 * Each address space is walked with its mmap_lock held for reading; the
 * reverse map reaches the other address spaces mapping a page with a
 * trylock of theirs (rmap.c).
 */
#include "internal.h"
#include "trace.h"

/**
 * struct shadow_scan_control - one reclaim request (struct scan_control)
 * @rc: the request, whose out_ fields are counted here
 * @age_only: SHADOW_RECLAIM_AGE: page_referenced() and nothing more
 * @madvise: MADV_COLD or MADV_PAGEOUT: only the pages this address space
 *           alone maps are taken, and reclaimed whatever their age
 *           (reclaim_pages' ignore_references)
 * @deferred: SHADOW_DEV_RECLAIM: a THP on the deferred split queue is
 *            split where it is met, whatever its age (the shrinker
 *            deferred_split_scan() running with the reclaim)
 * @split_failed: the last THP that could not be split: its other pages
 *                do not try again (one failure per folio, as Linux tries
 *                a folio once per pass)
 */
struct shadow_scan_control {
	struct shadow_mm_reclaim *rc;
	bool age_only;
	bool madvise;
	bool deferred;
	const struct shadow_folio *split_failed;
};

/*
 * shadow_split_huge_page() of @page's folio, unless it failed already in
 * this pass (the pointer is only compared).
 */
static int shadow_split_huge_page_once(struct shadow_scan_control *sc,
				       struct shadow_mm *mm,
				       unsigned long addr, struct page *page)
{
	const struct shadow_folio *folio = shadow_page_meta(page)->folio;
	int err;

	if (folio == sc->split_failed)
		return -EBUSY;
	err = shadow_split_huge_page(mm, addr, page);
	if (err)
		sc->split_failed = folio;
	return err;
}

/* nr_to_reclaim reached? */
static bool shadow_reclaim_done(struct shadow_scan_control *sc)
{
	return sc->rc->nr_to_reclaim &&
	       sc->rc->out_reclaimed >= sc->rc->nr_to_reclaim;
}

/*
 * One page of shrink_page_list(): aged, then for a private page put in the
 * swap cache (add_to_swap), unmapped everywhere (try_to_unmap), written if
 * dirty (pageout) and freed; for a shared anonymous page unmapped and
 * handed to the swap device by its object (shmem_writepage); for a file
 * page unmapped (dirty ones marked dirty first) and let go. @page has a
 * reference of the caller's; @mm's mmap_lock is held.
 */
static shadow_flow void shadow_shrink_page(struct shadow_scan_control *sc,
					   struct shadow_mm *mm,
					   unsigned long addr,
					   struct page *page)
{
	struct shadow_mm_reclaim *rc = sc->rc;
	struct shadow_page *sp = shadow_page_meta(page);
	unsigned long vm_flags = 0;
	bool busy = false, written, lazyfree;
	int referenced;

	shadow_mmap_assert_locked(mm);
	rc->out_scanned++;
	referenced = shadow_page_referenced(page, mm, &vm_flags, &busy);
	if (vm_flags & VM_LOCKED) {
		rc->out_locked++;
		return;
	}
	if (referenced) {
		rc->out_referenced++;
		if (!sc->madvise)
			return;
	}
	if (sc->age_only)
		return;
	if (busy) {
		/* A mapping could not be aged: keep it (FOLIOREF_KEEP). */
		rc->out_busy++;
		return;
	}
	/*
	 * A page of a THP no leaf maps: the folio is split right away
	 * (split_folio_to_list() in shrink_folio_list()), and this page
	 * goes on as a small one; the others of its table follow in turn.
	 */
	if (sp->folio) {
		if (shadow_split_huge_page_once(sc, mm, addr, page)) {
			rc->out_busy++;
			return;
		}
		sp = shadow_page_meta(page);
		/* 6.12 mapped it to the zero page: it goes with our put. */
		if (!atomic_read(&sp->mapcount))
			return;
	}

	/* A lazyfree page is not swap backed: it goes without a slot. */
	lazyfree = shadow_page_lazyfree(sp);
	if (!sp->shmem && !sp->file && !lazyfree && shadow_add_to_swap(page)) {
		rc->out_busy++;
		return;
	}
	rc->out_unmapped += shadow_try_to_unmap(page, mm, &busy);
	if (atomic_read(&sp->mapcount)) {
		rc->out_busy++;
		return;
	}

	if (lazyfree) {
		/*
		 * Discarded (PGLAZYFREED), clean or droppable: the caller's
		 * reference is the last. Redirtied, a MADV_FREE page is swap
		 * backed again and waits for the next pass, as Linux
		 * activates it.
		 */
		if (!READ_ONCE(sp->lazyfree)) {
			rc->out_busy++;
			return;
		}
		atomic_long_inc(&shadow_counters.lazyfreed);
		rc->out_lazyfreed++;
	} else if (sp->file) {
		/*
		 * A file page stays in its page cache, dirty if a PTE was:
		 * the kernel's own reclaim and writeback take it from there.
		 * The engine's references go with the caller's.
		 */
	} else if (sp->shmem) {
		if (!shadow_shmem_writepage(page)) {
			rc->out_busy++;
			return;
		}
		rc->out_shmem++;
		rc->out_written++;
	} else {
		if (!shadow_swap_pageout(page, &written)) {
			rc->out_busy++;
			return;
		}
		rc->out_swapped_out++;
		if (written)
			rc->out_written++;
	}
	rc->out_reclaimed++;
}

/*
 * A PMD leaf in [addr, next) of @vma (shrink_folio_list() of a PMD-mapped
 * THP, or madvise_cold_or_pageout_pte_range()'s leaf branch), counted as
 * its 512 pages. Aged by the leaf's young bit; a lazyfree one is dropped
 * whole; any other is split (folio and all) so that its pages go to swap
 * one by one: the engine's swap device has no THP clusters, as a kernel
 * without THP_SWAP (thp_swpout_fallback). MADV_COLD/MADV_PAGEOUT take
 * only a folio this space alone maps, and split it when they cover part
 * of it.
 *
 * Return: true when the range is done; false when it holds PTEs now (no
 * leaf, or the leaf and its folio split) for the caller's page loop.
 */
static shadow_flow bool shadow_shrink_huge_pmd(struct shadow_scan_control *sc,
					       struct shadow_mm *mm,
					       struct shadow_vma *vma,
					       unsigned long addr,
					       unsigned long next)
{
	unsigned long haddr = addr & ~(SHADOW_PMD_SIZE - 1), *pmd, val;
	struct shadow_mm_reclaim *rc = sc->rc;
	struct shadow_folio *folio;
	struct page *page;
	bool lazyfree;
	int err;

	pmd = shadow_pmd_entry(mm, addr, false);
	if (!pmd || !shadow_pmd_trans_huge(READ_ONCE(*pmd)))
		return false;
	spin_lock(&mm->page_table_lock);
	val = *pmd;
	if (!shadow_pmd_trans_huge(val)) {
		spin_unlock(&mm->page_table_lock);
		return false;
	}
	/* The huge zero page is no data: nothing to reclaim. */
	if (shadow_is_huge_zero_pmd(val))
		goto done;
	page = shadow_huge_pmd_page(val, addr);
	folio = shadow_page_meta(page)->folio;
	/* Do not interfere with other mappings: page_mapcount() of the head. */
	if (sc->madvise && shadow_page_mapcount_raw(&folio->pages[0]) != 1)
		goto done;
	if (sc->madvise && next - addr != SHADOW_PMD_SIZE) {
		shadow_get_page(page);
		spin_unlock(&mm->page_table_lock);
		err = shadow_split_huge_page_once(sc, mm, addr, page);
		shadow_put_page(page);
		return err;
	}
	rc->out_scanned += SHADOW_HPAGE_PMD_NR;
	if (vma->vm_flags & VM_LOCKED) {
		rc->out_locked += SHADOW_HPAGE_PMD_NR;
		goto done;
	}
	/* pmdp_clear_flush_young(): the leaf's age is the folio's. */
	if (pte_young(__pte(val))) {
		WRITE_ONCE(*pmd, pte_val(pte_mkold(__pte(val))));
		rc->out_referenced += SHADOW_HPAGE_PMD_NR;
		if (!sc->madvise)
			goto done;
	}
	if (sc->age_only)
		goto done;
	/*
	 * A lazyfree folio goes whole, unless nr_to_reclaim has no room
	 * for 512 pages: split, its pages go one by one.
	 */
	if (shadow_page_lazyfree(&folio->pages[0]) &&
	    (!rc->nr_to_reclaim ||
	     rc->nr_to_reclaim - rc->out_reclaimed >= SHADOW_HPAGE_PMD_NR)) {
		spin_unlock(&mm->page_table_lock);
		if (shadow_discard_lazyfree_huge_pmd(mm, pmd, haddr,
						     vma->vm_flags & VM_DROPPABLE)) {
			atomic_long_add(SHADOW_HPAGE_PMD_NR,
					&shadow_counters.lazyfreed);
			/* The leaf stands for its 512 PTEs. */
			rc->out_unmapped += SHADOW_HPAGE_PMD_NR;
			rc->out_lazyfreed += SHADOW_HPAGE_PMD_NR;
			rc->out_reclaimed += SHADOW_HPAGE_PMD_NR;
		} else {
			rc->out_busy += SHADOW_HPAGE_PMD_NR;
		}
		return true;
	}
	/* Not swap backed: no swap-out to fall back from. */
	lazyfree = shadow_page_lazyfree(&folio->pages[0]);
	shadow_get_page(page);
	spin_unlock(&mm->page_table_lock);
	err = shadow_split_huge_page_once(sc, mm, addr, page);
	shadow_put_page(page);
	if (err) {
		rc->out_busy += SHADOW_HPAGE_PMD_NR;
		return true;
	}
	/* Counted again page by page by the caller's loop. */
	rc->out_scanned -= SHADOW_HPAGE_PMD_NR;
	if (!lazyfree)
		atomic_long_inc(&shadow_counters.thp_swpout_fallback);
	return false;
done:
	spin_unlock(&mm->page_table_lock);
	return true;
}

/*
 * The present data pages of [start, end) in @mm, in address order, each
 * taken with a reference under page_table_lock and shrunk without it.
 */
static int shadow_shrink_range(struct shadow_scan_control *sc,
			       struct shadow_mm *mm, unsigned long start,
			       unsigned long end)
{
	struct shadow_vma *vma;

	MA_STATE(mas, &mm->mm_mt, start, start);

	shadow_mmap_assert_locked(mm);
	mas_for_each(&mas, vma, end - 1) {
		unsigned long addr = max(start, vma->vm_start);
		unsigned long vend = min(end, vma->vm_end), next;

		for (; addr < vend; addr = next) {
			bool table = true;

			next = shadow_pmd_addr_end(addr, vend);
			if (shadow_reclaim_done(sc))
				return 0;
			if (shadow_shrink_huge_pmd(sc, mm, vma, addr, next))
				continue;
			for (; table && addr < next; addr += PAGE_SIZE) {
				struct shadow_folio *folio;
				struct page *page = NULL;
				pte_t *pte, entry;

				if (shadow_reclaim_done(sc))
					return 0;
				/*
				 * Looked up again for each page, under the
				 * lock: shrinking the last one may have
				 * broken a shared table for a copy.
				 */
				spin_lock(&mm->page_table_lock);
				pte = shadow_pte_lookup_locked(mm, addr, NULL);
				table = !!pte;
				entry = pte ? *pte : __pte(0);
				if (pte_present(entry) && !pte_special(entry)) {
					page = pte_page(entry);
					shadow_get_page(page);
				}
				spin_unlock(&mm->page_table_lock);
				if (!page)
					continue;
				folio = shadow_page_meta(page)->folio;
				if (sc->deferred && folio &&
				    shadow_folio_deferred(folio) &&
				    !shadow_split_huge_page_once(sc, mm, addr,
								 page) &&
				    !atomic_read(&shadow_page_meta(page)->mapcount)) {
					/* 6.12 mapped it to the zero page. */
					shadow_put_page(page);
					continue;
				}
				/*
				 * madvise_cold_or_pageout_pte_range(): a page
				 * of a THP that this PTE alone maps
				 * (page_mapcount() == 1) has its folio split
				 * first; any other ends this table.
				 */
				folio = shadow_page_meta(page)->folio;
				if (sc->madvise && folio &&
				    (shadow_page_mapcount_raw(shadow_page_meta(page)) != 1 ||
				     shadow_split_huge_page_once(sc, mm, addr,
								 page))) {
					shadow_put_page(page);
					break;
				}
				/*
				 * madvise_cold_or_pageout_pte_range: a page
				 * mapped elsewhere too is left alone; a shared
				 * table maps it once per sharer.
				 */
				if (!sc->madvise ||
				    shadow_page_mapcount(page, mm) == 1)
					shadow_shrink_page(sc, mm, addr, page);
				shadow_put_page(page);
			}
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

/* The request's out_ fields start at zero, whatever user space sent. */
static void shadow_reclaim_clear(struct shadow_mm_reclaim *rc)
{
	rc->out_scanned = 0;
	rc->out_referenced = 0;
	rc->out_locked = 0;
	rc->out_busy = 0;
	rc->out_unmapped = 0;
	rc->out_swapped_out = 0;
	rc->out_shmem = 0;
	rc->out_written = 0;
	rc->out_reclaimed = 0;
	rc->out_lazyfreed = 0;
}

/**
 * shadow_reclaim_check() - the checks SHADOW_MM_RECLAIM and
 * SHADOW_DEV_RECLAIM share
 * @rc: the request
 *
 * Return: 0, or -EINVAL for an unknown flag, an unaligned start or a range
 * that wraps.
 */
int shadow_reclaim_check(const struct shadow_mm_reclaim *rc)
{
	if (rc->flags & ~SHADOW_RECLAIM_AGE)
		return -EINVAL;
	if (offset_in_page(rc->addr) || rc->len > U64_MAX - PAGE_SIZE ||
	    rc->addr + PAGE_ALIGN(rc->len) < rc->addr)
		return -EINVAL;
	return 0;
}

/**
 * shadow_reclaim_mm() - SHADOW_MM_RECLAIM: reclaim a range of @mm
 * @mm: the address space, pinned by the caller
 * @rc: the request: flags, addr, len (0: the whole address space),
 *      nr_to_reclaim, already checked; its out_ fields are filled in
 *
 * Return: 0, or -EINTR when killed.
 */
int shadow_reclaim_mm(struct shadow_mm *mm, struct shadow_mm_reclaim *rc)
{
	struct shadow_scan_control sc = {
		.rc = rc,
		.age_only = rc->flags & SHADOW_RECLAIM_AGE,
	};
	unsigned long start = rc->addr, end;
	int ret = 0;

	shadow_reclaim_clear(rc);
	if (rc->len) {
		end = min_t(u64, rc->addr + PAGE_ALIGN(rc->len), mm->task_size);
	} else {
		start = 0;
		end = mm->task_size;
	}
	if (start < end) {
		if (shadow_mmap_read_lock_killable(mm))
			return -EINTR;
		ret = shadow_shrink_range(&sc, mm, start, end);
		shadow_mmap_read_unlock(mm);
	}
	trace_shadow_mm_reclaim(mm->id, rc, ret);
	return ret;
}

/**
 * shadow_madvise_cold_or_pageout_range() - MADV_COLD, MADV_PAGEOUT
 * @mm: the address space, its mmap_lock held
 * @start: first address
 * @end: address past the last
 * @pageout: MADV_PAGEOUT: reclaim; else MADV_COLD: age only
 *
 * The present pages of the range that @mm alone maps lose their young
 * bit (MADV_COLD's deactivation: the engine has no LRU, the young bit is
 * all of a page's age) and, for MADV_PAGEOUT, are reclaimed as
 * SHADOW_MM_RECLAIM reclaims them. Reported by the shadow_mm_reclaim
 * trace event, as a reclaim of the range.
 */
void shadow_madvise_cold_or_pageout_range(struct shadow_mm *mm,
					  unsigned long start, unsigned long end,
					  bool pageout)
{
	struct shadow_mm_reclaim rc = {
		.flags = pageout ? 0 : SHADOW_RECLAIM_AGE,
		.addr = start,
		.len = end - start,
	};
	struct shadow_scan_control sc = {
		.rc = &rc,
		.age_only = !pageout,
		.madvise = true,
	};
	int ret;

	shadow_reclaim_clear(&rc);
	ret = shadow_shrink_range(&sc, mm, start, end);
	trace_shadow_mm_reclaim(mm->id, &rc, ret);
}

/**
 * shadow_reclaim_all() - SHADOW_DEV_RECLAIM: reclaim every address space
 * @rc: the request (flags and nr_to_reclaim), already checked; its out_
 *      fields are filled in
 *
 * Each address space on the mmlist that still has users, in creation
 * order, as a whole, until nr_to_reclaim pages are reclaimed.
 *
 * Return: 0, or -EINTR when killed.
 */
int shadow_reclaim_all(struct shadow_mm_reclaim *rc)
{
	struct shadow_scan_control sc = {
		.rc = rc,
		.age_only = rc->flags & SHADOW_RECLAIM_AGE,
		.deferred = !(rc->flags & SHADOW_RECLAIM_AGE),
	};
	struct shadow_mm *mm = NULL;
	int ret = 0;

	shadow_reclaim_clear(rc);
	while (!shadow_reclaim_done(&sc) && (mm = shadow_mmlist_next(mm))) {
		if (shadow_mmap_read_lock_killable(mm)) {
			ret = -EINTR;
			break;
		}
		ret = shadow_shrink_range(&sc, mm, 0, mm->task_size);
		shadow_mmap_read_unlock(mm);
		if (ret)
			break;
	}
	if (mm)
		shadow_mmput(mm);
	trace_shadow_mm_reclaim(0, rc, ret);
	return ret;
}
