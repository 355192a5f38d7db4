// SPDX-License-Identifier: GPL-2.0
/*
 * fork of a shadow address space, after kernel/fork.c's dup_mmap() and
 * mm/memory.c's copy_page_range().
 *
 * The parent's mmap_lock is taken for writing, then the child's, nested
 * (SINGLE_DEPTH_NESTING); while PTEs are copied the child's page_table_lock
 * is held and the parent's nested inside it, as copy_pte_range() does.
 *
 * An on-demand fork (SHADOW_FORK_ODF, or the odf_always parameter) shares
 * a PTE table instead of copying it when only private anonymous VMAs that
 * fork copies cover its 2 MiB (shadow_share_pte_table); pgtable.c has the
 * rules of a shared table and its share break.
 */
#include "internal.h"
#include "trace.h"

/*
 * copy_nonpresent_pte(): the child's swap PTE holds the slot too
 * (swap_duplicate); the entry is no longer exclusive, in the parent as in
 * the child. Both page_table_locks are held. Returns the child's PTE.
 */
static pte_t shadow_copy_nonpresent_pte(struct shadow_mm *dst_mm,
					pte_t *src_pte, pte_t pte)
{
	shadow_pt_assert_locked(dst_mm);
	shadow_swap_duplicate(pte_to_swp_entry(pte));
	/* Mark the swap entry as shared (a viewed one already is). */
	if (pte_swp_exclusive(pte)) {
		pte = pte_swp_clear_exclusive(pte);
		shadow_set_pte(src_pte, pte);
	}
	dst_mm->nr_swapents++;
	return pte;
}

/*
 * copy_pte_range() for [addr, end) inside one PTE table: every present PTE
 * is copied; a private writable one is write-protected in both spaces; the
 * page stops being anon-exclusive and gains a mapping and a reference; the
 * child's copy is old. A swap PTE is copied by copy_nonpresent_pte().
 * *@copied counts the PTEs copied.
 */
static shadow_flow int shadow_copy_pte_range(struct shadow_mm *dst_mm,
					     struct shadow_mm *src_mm,
					     struct shadow_vma *src_vma,
					     unsigned long addr,
					     unsigned long end,
					     unsigned long *copied)
{
	bool cow = (src_vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) ==
		   VM_MAYWRITE;
	pte_t *src_pte, *dst_pte;
	bool marked;

	if (!shadow_pte_lookup(src_mm, addr))
		return 0;
	dst_pte = shadow_pte_alloc(dst_mm, addr);
	if (!dst_pte)
		return -ENOMEM;

	spin_lock(&dst_mm->page_table_lock);
	spin_lock_nested(&src_mm->page_table_lock, SINGLE_DEPTH_NESTING);
	/*
	 * A table an earlier on-demand fork shared stays unwritten: its
	 * PTEs are read as what they stand for (pgtable.c's rule 5), which
	 * needs nothing written back.
	 */
	src_pte = shadow_pte_lookup_locked(src_mm, addr, &marked);
	for (; addr != end; addr += PAGE_SIZE, src_pte++, dst_pte++) {
		pte_t pte = shadow_pte_view(src_mm, src_pte, marked);

		if (pte_none(pte))
			continue;
		if (!pte_present(pte)) {
			pte = shadow_copy_nonpresent_pte(dst_mm, src_pte, pte);
			shadow_set_pte(dst_pte, pte);
			(*copied)++;
			continue;
		}
		if (!pte_special(pte)) {
			struct page *page = pte_page(pte);
			struct shadow_page *sp = shadow_page_meta(page);

			shadow_get_page(page);
			atomic_inc(&sp->mapcount);
			/* page_try_dup_anon_rmap(): no longer exclusive. */
			WRITE_ONCE(sp->anon_exclusive, false);
			(*shadow_mm_counter(dst_mm, sp))++;
		}
		if (cow && pte_write(pte)) {
			shadow_set_pte(src_pte, pte_wrprotect(pte));
			pte = pte_wrprotect(pte);
		}
		shadow_set_pte(dst_pte, pte_mkold(pte));
		(*copied)++;
	}
	spin_unlock(&src_mm->page_table_lock);
	spin_unlock(&dst_mm->page_table_lock);
	return 0;
}

/* A VMA whose PTEs a shared table may carry into the child. */
static bool shadow_vma_odf_ok(struct shadow_vma *vma)
{
	return vma->anon_vma && !vma->vm_mapping &&
	       !(vma->vm_flags & (VM_SHARED | VM_MAYSHARE | VM_DONTCOPY |
				  VM_WIPEONFORK));
}

/*
 * May the PTE table of [addr & PMD_MASK, +2 MiB) be shared with the child,
 * and is @vma the last VMA of the parent there (the one that shares it,
 * once the others before it have been copied into the child)? Every VMA
 * of the parent meeting that span must be private anonymous memory that
 * fork copies with its PTEs, and the table must hold no swap entry: a
 * table is all or nothing. A VMA straddling the span's edges counts
 * whole.
 */
static bool shadow_odf_table(struct shadow_mm *src_mm, struct shadow_vma *vma,
			     unsigned long addr, bool *last)
{
	unsigned long start = addr & ~(SHADOW_PMD_SIZE - 1);
	unsigned long end = start + SHADOW_PMD_SIZE;
	unsigned long *pmd = shadow_pmd_entry(src_mm, addr, false);
	struct shadow_vma *v;

	*last = true;
	/*
	 * A table holding a swap entry is copied: then no shared table
	 * holds one, and a swap count never needs deriving. (The parent's
	 * mmap_lock, held for writing, keeps its counts still.)
	 */
	if (pmd && READ_ONCE(*pmd) && !shadow_pmd_trans_huge(READ_ONCE(*pmd)) &&
	    shadow_pt_count(shadow_entry_table(READ_ONCE(*pmd)),
			    SHADOW_PTC_SWAP))
		return false;
	if (vma->vm_start <= start && vma->vm_end >= end)
		return shadow_vma_odf_ok(vma);
	for (v = shadow_find_vma_intersection(src_mm, start, end);
	     v && v->vm_start < end; v = shadow_vma_next(src_mm, v)) {
		if (!shadow_vma_odf_ok(v))
			return false;
		if (v->vm_start > vma->vm_start)
			*last = false;
	}
	return true;
}

/*
 * Point the child's PMD entry of @addr at the parent's PTE table, write-
 * protected in both (on-demand fork). Nothing is done per page: the table
 * keeps one set of references for all its sharers, and its PTEs stay as
 * they are until a share break (pgtable.c's rules). The child counts the
 * table in its nr_ptes and its pages in its rss; @copied, for the trace,
 * counts its PTEs in use, as copy_pte_range() would have. Returns 0, or
 * -ENOMEM.
 */
static shadow_flow int shadow_share_pte_table(struct shadow_mm *dst_mm,
					      struct shadow_mm *src_mm,
					      unsigned long addr,
					      unsigned long *copied)
{
	unsigned long *src_pmd, *dst_pmd, val;
	void *table;

	src_pmd = shadow_pmd_entry(src_mm, addr, false);
	if (!src_pmd || !READ_ONCE(*src_pmd))
		return 0;
	dst_pmd = shadow_pmd_entry(dst_mm, addr, true);
	if (!dst_pmd)
		return -ENOMEM;
	if (shadow_warn_on(READ_ONCE(*dst_pmd)))
		return -EEXIST;

	spin_lock(&dst_mm->page_table_lock);
	spin_lock_nested(&src_mm->page_table_lock, SINGLE_DEPTH_NESTING);
	val = *src_pmd;
	table = shadow_entry_table(val);
	if (!shadow_pmd_shared(val)) {
		/* Shared for the first time: its accessed bits are ours. */
		atomic_set(shadow_pt_share_count(table), 2);
		shadow_pt_set_origin(table, src_mm->id);
		atomic_long_inc(&shadow_counters.pt_shared);
		val &= ~_PAGE_RW;
		WRITE_ONCE(*src_pmd, val);
	} else if (atomic_inc_return(shadow_pt_share_count(table)) == 2) {
		/* Its other holders let go of it: shared anew. */
		atomic_long_inc(&shadow_counters.pt_shared);
	}
	WRITE_ONCE(*dst_pmd, val);
	dst_mm->nr_ptes++;
	dst_mm->rss_anon += shadow_pt_count(table, SHADOW_PTC_PAGES);
	*copied += shadow_pt_count(table, SHADOW_PTC_USED);
	spin_unlock(&src_mm->page_table_lock);
	spin_unlock(&dst_mm->page_table_lock);
	return 0;
}

/*
 * copy_pmd_range()'s leaf case: a PMD leaf of the parent is copied whole
 * (copy_huge_pmd()); a leaf lies inside one VMA (its fault checked that),
 * so the VMA copying it is the only one that meets it. Returns -EAGAIN
 * when the entry is no leaf.
 */
static int shadow_copy_pmd_leaf(struct shadow_mm *dst_mm,
				struct shadow_mm *src_mm, unsigned long addr,
				unsigned long *copied)
{
	unsigned long *src_pmd = shadow_pmd_entry(src_mm, addr, false);
	unsigned long *dst_pmd;

	if (!src_pmd || !shadow_pmd_trans_huge(READ_ONCE(*src_pmd)))
		return -EAGAIN;
	dst_pmd = shadow_pmd_entry(dst_mm, addr, true);
	if (!dst_pmd)
		return -ENOMEM;
	return shadow_copy_huge_pmd(dst_mm, src_mm,
				    addr & ~(SHADOW_PMD_SIZE - 1), dst_pmd,
				    src_pmd, copied);
}

/**
 * shadow_copy_page_range() - copy the PTEs of @src_vma into the child
 * @dst_mm: the child
 * @src_mm: the parent
 * @src_vma: the parent's VMA
 * @odf: share the PTE tables that may be shared instead of copying them
 * @copied: incremented for each PTE copied
 *
 * Only VMAs with an anon_vma are copied (vma_needs_copy): the PTEs of
 * shared and never-written private memory are left for faults to fill.
 *
 * Return: 0 or -ENOMEM.
 */
static shadow_flow int shadow_copy_page_range(struct shadow_mm *dst_mm,
					      struct shadow_mm *src_mm,
					      struct shadow_vma *src_vma,
					      bool odf, unsigned long *copied)
{
	unsigned long addr = src_vma->vm_start, next;
	bool last;
	int err;

	if (!src_vma->anon_vma)
		return 0;
	do {
		next = shadow_pmd_addr_end(addr, src_vma->vm_end);
		/* A leaf is copied whole: there is no table to share. */
		err = shadow_copy_pmd_leaf(dst_mm, src_mm, addr, copied);
		if (err == -EAGAIN && odf &&
		    shadow_odf_table(src_mm, src_vma, addr, &last))
			/* The table's last VMA shares it for all of them. */
			err = last ? shadow_share_pte_table(dst_mm, src_mm,
							    addr, copied) : 0;
		else if (err == -EAGAIN)
			err = shadow_copy_pte_range(dst_mm, src_mm, src_vma,
						    addr, next, copied);
		if (err)
			return err;
		addr = next;
		cond_resched();
	} while (addr != src_vma->vm_end);
	return 0;
}

/**
 * shadow_dup_mmap() - copy the parent's address space into a new one
 * @mm: the child, empty, not yet reachable
 * @oldmm: the parent
 * @odf: on-demand fork: share PTE tables of private anonymous memory
 *
 * Every VMA is copied but VM_DONTCOPY ones; VM_LOCKED is cleared in the
 * child; VM_WIPEONFORK VMAs are copied empty. On failure the child holds
 * what was copied so far, for shadow_mmput() to free.
 *
 * Return: 0, -ENOMEM or -EINTR.
 */
shadow_flow int shadow_dup_mmap(struct shadow_mm *mm, struct shadow_mm *oldmm,
				bool odf)
{
	unsigned long vmas = 0, ptes = 0;
	struct shadow_vma *mpnt, *tmp;
	int err = 0;

	MA_STATE(mas, &oldmm->mm_mt, 0, 0);

	if (shadow_mmap_write_lock_killable(oldmm))
		return -EINTR;
	shadow_mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING);

	/*
	 * dup_mm copies the mm_struct, but mm_init keeps only
	 * VM_INIT_DEF_MASK of def_flags: mlockall(MCL_FUTURE) is not
	 * inherited.
	 */
	mm->def_flags = oldmm->def_flags & VM_INIT_DEF_MASK;
	mm->start_brk = oldmm->start_brk;
	mm->brk = oldmm->brk;
	mm->start_code = oldmm->start_code;
	mm->end_code = oldmm->end_code;
	mm->start_data = oldmm->start_data;
	mm->end_data = oldmm->end_data;
	mm->start_stack = oldmm->start_stack;
	mm->arg_start = oldmm->arg_start;
	mm->arg_end = oldmm->arg_end;
	mm->env_start = oldmm->env_start;
	mm->env_end = oldmm->env_end;

	mas_for_each(&mas, mpnt, ULONG_MAX) {
		if (mpnt->vm_flags & VM_DONTCOPY)
			continue;
		tmp = shadow_vm_area_dup(mpnt);
		if (!tmp) {
			err = -ENOMEM;
			break;
		}
		/* A walk may read it: both mms are write-locked. */
		WRITE_ONCE(tmp->vm_mm, mm);
		tmp->vm_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
		/* A wiped VMA starts over: no anon_vma, faults refill it. */
		err = shadow_anon_vma_fork(tmp, mpnt->vm_flags & VM_WIPEONFORK ?
					   NULL : mpnt);
		if (!err)
			err = shadow_vma_store(mm, tmp);
		if (err) {
			shadow_remove_vma(tmp);
			break;
		}
		mm->map_count++;
		vmas++;
		/* The child's counters cover what it really got. */
		shadow_vm_stat_account(mm, tmp->vm_flags,
				       (tmp->vm_end - tmp->vm_start) >>
				       PAGE_SHIFT);
		if (!(tmp->vm_flags & VM_WIPEONFORK))
			err = shadow_copy_page_range(mm, oldmm, mpnt, odf,
						     &ptes);
		if (err)
			break;
	}
	trace_shadow_mm_fork(oldmm, mm, vmas, ptes, err);

	shadow_mmap_write_unlock(mm);
	shadow_mmap_write_unlock(oldmm);
	return err;
}
