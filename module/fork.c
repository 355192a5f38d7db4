// SPDX-License-Identifier: GPL-2.0
/*
 * fork of a shadow address space, after kernel/fork.c's dup_mmap() and
 * mm/memory.c's copy_page_range().
 *
 * The parent's mmap_lock is taken for writing, then the child's, nested
 * (SINGLE_DEPTH_NESTING); while PTEs are copied the child's page_table_lock
 * is held and the parent's nested inside it, as copy_pte_range() does.
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
	shadow_swap_duplicate(pte_to_swp_entry(pte));
	/* Mark the swap entry as shared. */
	if (pte_swp_exclusive(pte)) {
		pte = pte_swp_clear_exclusive(pte);
		set_pte(src_pte, pte);
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

	src_pte = shadow_pte_lookup(src_mm, addr);
	if (!src_pte)
		return 0;
	dst_pte = shadow_pte_alloc(dst_mm, addr);
	if (!dst_pte)
		return -ENOMEM;

	spin_lock(&dst_mm->page_table_lock);
	spin_lock_nested(&src_mm->page_table_lock, SINGLE_DEPTH_NESTING);
	for (; addr != end; addr += PAGE_SIZE, src_pte++, dst_pte++) {
		pte_t pte = *src_pte;

		if (pte_none(pte))
			continue;
		if (!pte_present(pte)) {
			pte = shadow_copy_nonpresent_pte(dst_mm, src_pte, pte);
			set_pte(dst_pte, pte);
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
			set_pte(src_pte, pte_wrprotect(pte));
			pte = pte_wrprotect(pte);
		}
		set_pte(dst_pte, pte_mkold(pte));
		(*copied)++;
	}
	spin_unlock(&src_mm->page_table_lock);
	spin_unlock(&dst_mm->page_table_lock);
	return 0;
}

/**
 * shadow_copy_page_range() - copy the PTEs of @src_vma into the child
 * @dst_mm: the child
 * @src_mm: the parent
 * @src_vma: the parent's VMA
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
					      unsigned long *copied)
{
	unsigned long addr = src_vma->vm_start, next;
	int err;

	if (!src_vma->anon_vma)
		return 0;
	do {
		next = shadow_pmd_addr_end(addr, src_vma->vm_end);
		err = shadow_copy_pte_range(dst_mm, src_mm, src_vma, addr,
					    next, copied);
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
 *
 * Every VMA is copied but VM_DONTCOPY ones; VM_LOCKED is cleared in the
 * child; VM_WIPEONFORK VMAs are copied empty. On failure the child holds
 * what was copied so far, for shadow_mmput() to free.
 *
 * Return: 0, -ENOMEM or -EINTR.
 */
shadow_flow int shadow_dup_mmap(struct shadow_mm *mm, struct shadow_mm *oldmm)
{
	unsigned long vmas = 0, ptes = 0;
	struct shadow_vma *mpnt, *tmp;
	int err = 0;

	MA_STATE(mas, &oldmm->mm_mt, 0, 0);

	if (down_write_killable(&oldmm->mmap_lock))
		return -EINTR;
	down_write_nested(&mm->mmap_lock, SINGLE_DEPTH_NESTING);

	/*
	 * dup_mm copies the mm_struct, but mm_init keeps only
	 * VM_INIT_DEF_MASK of def_flags: mlockall(MCL_FUTURE) is not
	 * inherited.
	 */
	mm->def_flags = oldmm->def_flags & VM_INIT_DEF_MASK;
	mm->start_brk = oldmm->start_brk;
	mm->brk = oldmm->brk;

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
			err = shadow_copy_page_range(mm, oldmm, mpnt, &ptes);
		if (err)
			break;
	}
	trace_shadow_mm_fork(oldmm, mm, vmas, ptes, err);

	up_write(&mm->mmap_lock);
	up_write(&oldmm->mmap_lock);
	return err;
}
