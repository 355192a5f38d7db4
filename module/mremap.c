// SPDX-License-Identifier: GPL-2.0
/*
 * mremap() of shadow address spaces, after Linux 6.1's mm/mremap.c: the
 * system call shrinks a mapping (do_munmap of its tail), grows it in place
 * when the room after it is free (vma_merge), or moves it: mremap_to ->
 * move_vma -> copy_vma -> move_page_tables -> move_normal_pud /
 * move_normal_pmd / move_ptes, then do_munmap of the old range unless
 * MREMAP_DONTUNMAP keeps it (empty).
 *
 * Everything here runs with mmap_lock held for writing: no fault or page
 * walk runs meanwhile. Page-table entries move under the address space's
 * one page_table_lock, so the source and destination locks Linux nests
 * (its PTE locks are split) are the same lock here. A move carries PTEs,
 * and with them the pages, their shadow metadata, rss and page ids,
 * unchanged: nothing is copied, and a page shared copy-on-write with a
 * fork child stays shared and write-protected. x86-64 has HAVE_MOVE_PMD
 * and HAVE_MOVE_PUD: a whole PTE (or PMD) table moves at once when the
 * source and destination are both aligned to its span, so the count of
 * tables does not change; otherwise PTEs move one by one into tables
 * allocated at the destination, and the emptied tables at the source go
 * with the old range's do_munmap (free_pgd_range's floor and ceiling).
 */
#include "internal.h"

/*
 * The extent of one step of move_page_tables at the level of @size: up to
 * the end of the source's or the destination's entry of that level,
 * whichever comes first (get_extent).
 */
static unsigned long shadow_get_extent(unsigned long size,
				       unsigned long old_addr,
				       unsigned long old_end,
				       unsigned long new_addr)
{
	unsigned long next, extent, mask = ~(size - 1);

	next = (old_addr + size) & mask;
	/* even if next overflowed, extent below will be ok */
	extent = next - old_addr;
	if (extent > old_end - old_addr)
		extent = old_end - old_addr;
	next = (new_addr + size) & mask;
	if (extent > next - new_addr)
		extent = next - new_addr;
	return extent;
}

/* The source's PUD entry, or NULL when nothing is mapped under it. */
static unsigned long *shadow_get_old_pud(struct shadow_mm *mm,
					 unsigned long addr)
{
	unsigned long *pud = shadow_pud_entry(mm, addr, false);

	return pud && READ_ONCE(*pud) ? pud : NULL;
}

/* The source's PMD entry, or NULL when it has no PTE table. */
static unsigned long *shadow_get_old_pmd(struct shadow_mm *mm,
					 unsigned long addr)
{
	unsigned long *pmd = shadow_pmd_entry(mm, addr, false);

	return pmd && READ_ONCE(*pmd) ? pmd : NULL;
}

/*
 * Move a whole lower table from one entry to another (move_normal_pmd,
 * move_normal_pud): the table, its entries and the table counts stay as
 * they are.
 */
static bool shadow_move_normal_entry(struct shadow_mm *mm,
				     unsigned long *old_entry,
				     unsigned long *new_entry)
{
	/*
	 * The destination entry shouldn't be established, free_pgtables()
	 * should have released it.
	 */
	if (shadow_warn_on(READ_ONCE(*new_entry)))
		return false;

	spin_lock(&mm->page_table_lock);
	WRITE_ONCE(*new_entry, *old_entry);
	WRITE_ONCE(*old_entry, 0);
	spin_unlock(&mm->page_table_lock);
	return true;
}

/*
 * Move the PTEs of [old_addr, old_end), inside one PTE table, to the PTEs
 * from @new_pte on (move_ptes). The page behind each PTE keeps its
 * references, mapcount and anon-exclusive state: one PTE maps it before
 * and one after; a swap PTE moves as it is, holding its slot.
 */
static void shadow_move_ptes(struct shadow_mm *mm, pte_t *old_pte,
			     unsigned long old_addr, unsigned long old_end,
			     pte_t *new_pte)
{
	spin_lock(&mm->page_table_lock);
	for (; old_addr < old_end; old_addr += PAGE_SIZE, old_pte++, new_pte++) {
		pte_t pte = *old_pte;

		if (pte_none(pte))
			continue;
		shadow_set_pte(old_pte, __pte(0));
		/* Set soft dirty bit so we can notice the ptes were moved. */
		if (IS_ENABLED(CONFIG_MEM_SOFT_DIRTY) && pte_present(pte))
			pte = pte_mksoft_dirty(pte);
		else if (IS_ENABLED(CONFIG_MEM_SOFT_DIRTY) && is_swap_pte(pte))
			pte = pte_swp_mksoft_dirty(pte);
		shadow_set_pte(new_pte, pte);
	}
	spin_unlock(&mm->page_table_lock);
}

/**
 * shadow_move_page_tables() - move the page tables of a range
 * @mm: the address space, mmap_lock held for writing
 * @old_addr: the source
 * @new_addr: the destination, with no PTE in use
 * @len: the length
 *
 * move_page_tables(): a step per PUD or PMD span, a whole table when the
 * span is aligned on both sides, else the PTEs one by one.
 *
 * Return: the length moved; less than @len when a destination table
 * could not be allocated.
 */
static shadow_flow unsigned long shadow_move_page_tables(struct shadow_mm *mm,
							 unsigned long old_addr,
							 unsigned long new_addr,
							 unsigned long len)
{
	unsigned long extent, old_end, *old_pud, *new_pud, *old_pmd, *new_pmd;
	pte_t *old_pte, *new_pte;
	int err;

	shadow_mmap_assert_write_locked(mm);
	if (!len)
		return 0;

	old_end = old_addr + len;
	for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
		cond_resched();
		/*
		 * If extent is PUD-sized try to speed up the move by moving at
		 * the PUD level if possible.
		 */
		extent = shadow_get_extent(PUD_SIZE, old_addr, old_end,
					   new_addr);
		old_pud = shadow_get_old_pud(mm, old_addr);
		if (!old_pud)
			continue;
		new_pud = shadow_pud_entry(mm, new_addr, true);
		if (!new_pud)
			break;
		if (extent == PUD_SIZE &&
		    shadow_move_normal_entry(mm, old_pud, new_pud))
			continue;

		extent = shadow_get_extent(PMD_SIZE, old_addr, old_end,
					   new_addr);
		old_pmd = shadow_get_old_pmd(mm, old_addr);
		if (!old_pmd)
			continue;
		new_pmd = shadow_pmd_entry(mm, new_addr, true);
		if (!new_pmd)
			break;
		/*
		 * If the extent is PMD-sized, try to speed the move by moving
		 * at the PMD level if possible.
		 */
		if (extent == PMD_SIZE &&
		    shadow_move_normal_entry(mm, old_pmd, new_pmd))
			continue;

		new_pte = shadow_pte_alloc(mm, new_addr);
		if (!new_pte)
			break;
		/*
		 * Moving PTEs out writes the source table: ours first. (A
		 * whole table moves above as its entry, shared or not.)
		 */
		old_pte = shadow_pte_lookup_for_write(mm, old_addr, SHADOW_GFP,
						      &err);
		if (!old_pte)
			break;
		shadow_move_ptes(mm, old_pte, old_addr, old_addr + extent,
				 new_pte);
	}
	return len + old_addr - old_end;	/* how much done */
}

/*
 * Move [old_addr, old_addr + old_len) of @vma to a new VMA of @new_len at
 * @new_addr, then unmap the old range unless MREMAP_DONTUNMAP (move_vma).
 * VM_ACCOUNT is hidden from the old VMA while its range is unmapped, and
 * given back to what is left of it, so that the move does not count as an
 * unmapping of accounted memory.
 */
static shadow_flow unsigned long shadow_move_vma(struct shadow_mm *mm,
						 struct shadow_vma *vma,
						 unsigned long old_addr,
						 unsigned long old_len,
						 unsigned long new_len,
						 unsigned long new_addr,
						 bool *locked,
						 unsigned long flags)
{
	const bool split_before = vma->vm_start != old_addr;
	const bool split_after = vma->vm_end != old_addr + old_len;
	unsigned long vm_flags = vma->vm_flags;
	unsigned long new_pgoff, moved_len, excess = 0;
	struct shadow_vma *new_vma, *next;
	bool split = false;
	int err = 0;

	/*
	 * We'd prefer to avoid failure later on in do_munmap:
	 * which may split one vma into three before unmapping.
	 */
	if (mm->map_count >= shadow_max_map_count - 3)
		return -ENOMEM;

	/* A special mapping moves whole or not at all (->may_split). */
	if (vma->vm_special && (split_before || split_after))
		return -EINVAL;

	/*
	 * To account mlock()'d pages correctly in the MREMAP_DONTUNMAP
	 * case perform any split ahead of time for an mlock()'d VMA
	 * (SHADOW_RULE_DONTUNMAP_SPLITS_LOCKED: 6.1 only).
	 */
	if (SHADOW_RULE_DONTUNMAP_SPLITS_LOCKED &&
	    (flags & MREMAP_DONTUNMAP) && (vma->vm_flags & VM_LOCKED)) {
		if (split_before)
			err = shadow_split_vma(mm, vma, old_addr, 1);
		if (!err && split_after)
			err = shadow_split_vma(mm, vma, old_addr + old_len, 0);
		if (err)
			return err;
	}

	new_pgoff = vma->vm_pgoff + ((old_addr - vma->vm_start) >> PAGE_SHIFT);
	new_vma = shadow_copy_vma(&vma, new_addr, new_len, new_pgoff,
				  flags & MREMAP_DONTUNMAP);
	if (!new_vma)
		return -ENOMEM;

	moved_len = shadow_move_page_tables(mm, old_addr, new_addr, old_len);
	if (moved_len < old_len)
		err = -ENOMEM;

	if (unlikely(err)) {
		/*
		 * On error, move entries back from new area to old,
		 * which will succeed since page tables still there,
		 * and then proceed to unmap new area instead of old.
		 */
		shadow_warn_on(shadow_move_page_tables(mm, new_addr, old_addr,
						       moved_len) != moved_len);
		vma = new_vma;
		old_len = new_len;
		old_addr = new_addr;
		new_addr = err;
	}

	/* Conceal VM_ACCOUNT so old reservation is not undone */
	if ((vm_flags & VM_ACCOUNT) && !(flags & MREMAP_DONTUNMAP)) {
		vma->vm_flags &= ~VM_ACCOUNT;
		excess = vma->vm_end - vma->vm_start - old_len;
		if (old_addr > vma->vm_start &&
		    old_addr + old_len < vma->vm_end)
			split = true;
	}

	/*
	 * If we failed to move page tables we still do total_vm increment
	 * since do_munmap() will decrement it by old_len == new_len.
	 */
	shadow_vm_stat_account(mm, vma->vm_flags, new_len >> PAGE_SHIFT);

	if (unlikely(!err && (flags & MREMAP_DONTUNMAP))) {
		/* Self-merge is disallowed (on 6.1). */
		shadow_warn_on(SHADOW_RULE_DONTUNMAP_NO_SELF_MERGE &&
			       new_vma == vma);

		/* We always clear VM_LOCKED[ONFAULT] on the old vma */
		vma->vm_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);

		/*
		 * The anon_vma of the old vma is no longer needed after its
		 * page table has been moved: it is unfaulted again, and on
		 * 6.1 given the pgoff of an unfaulted anonymous VMA
		 * (SHADOW_RULE_DONTUNMAP_NO_SELF_MERGE).
		 */
		if (new_vma != vma && vma->vm_start == old_addr &&
		    vma->vm_end == old_addr + old_len) {
			shadow_anon_vma_unlink(vma);
			vma->vm_anon_chain = 0;
			if (SHADOW_RULE_DONTUNMAP_NO_SELF_MERGE &&
			    !vma->vm_mapping)
				vma->vm_pgoff = vma->vm_start >> PAGE_SHIFT;
		}

		/* Because we won't unmap we don't need to touch locked_vm */
		return new_addr;
	}

	if (shadow_do_munmap(mm, old_addr, old_len) < 0) {
		/* OOM: unable to split vma, just get accounts right */
		excess = 0;
	}

	if (vm_flags & VM_LOCKED) {
		mm->locked_vm += new_len >> PAGE_SHIFT;
		*locked = true;
	}

	/* Restore VM_ACCOUNT if one or two pieces of vma left */
	if (excess) {
		vma->vm_flags |= VM_ACCOUNT;
		next = split ? shadow_find_vma(mm, vma->vm_end) : NULL;
		if (next)
			next->vm_flags |= VM_ACCOUNT;
	}
	return new_addr;
}

/* vma_lookup(): the VMA containing @addr, or NULL. */
static struct shadow_vma *shadow_vma_lookup(struct shadow_mm *mm,
					    unsigned long addr)
{
	struct shadow_vma *vma = shadow_find_vma(mm, addr);

	return vma && vma->vm_start <= addr ? vma : NULL;
}

/*
 * The VMA of [addr, addr + old_len) when it may become @new_len long
 * (vma_to_resize), or an ERR_PTR: -EFAULT (no VMA, or the range crosses
 * its end), -EINVAL, -EAGAIN (RLIMIT_MEMLOCK), -ENOMEM (RLIMIT_AS or
 * RLIMIT_DATA).
 */
static struct shadow_vma *shadow_vma_to_resize(struct shadow_mm *mm,
					       unsigned long addr,
					       unsigned long old_len,
					       unsigned long new_len,
					       unsigned long flags)
{
	struct shadow_vma *vma;
	unsigned long pgoff;

	vma = shadow_vma_lookup(mm, addr);
	if (!vma)
		return ERR_PTR(-EFAULT);

	/*
	 * !old_len is a special case where an attempt is made to 'duplicate'
	 * a mapping.  This makes no sense for private mappings as it will
	 * instead create a fresh/new mapping unrelated to the original.
	 */
	if (!old_len && !(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		return ERR_PTR(-EINVAL);

	if ((flags & MREMAP_DONTUNMAP) &&
	    (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP)))
		return ERR_PTR(-EINVAL);

	/* We can't remap across vm area boundaries */
	if (old_len > vma->vm_end - addr)
		return ERR_PTR(-EFAULT);

	if (new_len == old_len)
		return vma;

	/* Need to be careful about a growing mapping */
	pgoff = (addr - vma->vm_start) >> PAGE_SHIFT;
	pgoff += vma->vm_pgoff;
	if (pgoff + (new_len >> PAGE_SHIFT) < pgoff)
		return ERR_PTR(-EINVAL);

	if (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP))
		return ERR_PTR(-EFAULT);

	if (!shadow_mlock_future_ok(mm, vma->vm_flags, new_len - old_len))
		return ERR_PTR(-EAGAIN);

	if (!shadow_may_expand_vm(mm, vma->vm_flags,
				  (new_len - old_len) >> PAGE_SHIFT))
		return ERR_PTR(-ENOMEM);

	return vma;
}

/*
 * MREMAP_FIXED or MREMAP_DONTUNMAP: move to @new_addr (or near it, a hint
 * without MREMAP_FIXED), unmapping what was there first (mremap_to).
 */
static shadow_flow unsigned long shadow_mremap_to(struct shadow_mm *mm,
						  unsigned long addr,
						  unsigned long old_len,
						  unsigned long new_addr,
						  unsigned long new_len,
						  bool *locked,
						  unsigned long flags)
{
	unsigned long map_flags = 0, ret;
	struct shadow_vma *vma;

	if (offset_in_page(new_addr))
		return -EINVAL;

	if (new_len > mm->task_size || new_addr > mm->task_size - new_len)
		return -EINVAL;

	/* Ensure the old/new locations do not overlap */
	if (addr + old_len > new_addr && new_addr + new_len > addr)
		return -EINVAL;

	/*
	 * move_vma() needs us to stay 4 maps below the threshold, or it bails
	 * out after the regions here are already unmapped: the worst case is
	 * both the old and the new VMA split in three, two more maps.
	 */
	if ((mm->map_count + 2) >= shadow_max_map_count - 3)
		return -ENOMEM;

	if (flags & MREMAP_FIXED) {
		ret = shadow_do_munmap(mm, new_addr, new_len);
		if (ret)
			return ret;
	}

	if (old_len > new_len) {
		ret = shadow_do_munmap(mm, addr + new_len, old_len - new_len);
		if (ret)
			return ret;
		old_len = new_len;
	}

	vma = shadow_vma_to_resize(mm, addr, old_len, new_len, flags);
	if (IS_ERR(vma))
		return PTR_ERR(vma);

	/* MREMAP_DONTUNMAP expands by old_len since old_len == new_len */
	if ((flags & MREMAP_DONTUNMAP) &&
	    !shadow_may_expand_vm(mm, vma->vm_flags, old_len >> PAGE_SHIFT))
		return -ENOMEM;

	if (flags & MREMAP_FIXED)
		map_flags |= MAP_FIXED;

	if (vma->vm_flags & VM_MAYSHARE)
		map_flags |= MAP_SHARED;

	ret = shadow_get_unmapped_area(mm, vma->vm_mapping, new_addr, new_len,
				       vma->vm_pgoff +
				       ((addr - vma->vm_start) >> PAGE_SHIFT),
				       map_flags);
	if (IS_ERR_VALUE(ret))
		return ret;

	/* We got a new mapping */
	if (!(flags & MREMAP_FIXED))
		new_addr = ret;

	return shadow_move_vma(mm, vma, addr, old_len, new_len, new_addr,
			       locked, flags);
}

/* Is the room after @vma free for it to grow by @delta (vma_expandable)? */
static bool shadow_vma_expandable(struct shadow_mm *mm,
				  struct shadow_vma *vma, unsigned long delta)
{
	unsigned long end = vma->vm_end + delta;

	if (end < vma->vm_end) /* overflow */
		return false;
	if (shadow_find_vma_intersection(mm, vma->vm_end, end))
		return false;
	if (shadow_get_unmapped_area(mm, NULL, vma->vm_start,
				     end - vma->vm_start, 0, MAP_FIXED) &
	    ~PAGE_MASK)
		return false;
	return true;
}

/**
 * shadow_sys_mremap() - mremap(2) of a shadow address space
 * @mm: the address space
 * @addr: page-aligned start of the range to resize or move
 * @old_len: its length (0: duplicate a shared mapping)
 * @new_len: the new length
 * @flags: MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP
 * @new_addr: the destination with MREMAP_FIXED (a hint with
 *            MREMAP_DONTUNMAP alone)
 *
 * Linux 6.1's system call: a shrink unmaps the tail; a growth extends the
 * VMA in place when the range reaches its end and the room after it is
 * free; otherwise, with MREMAP_MAYMOVE, the range moves to a new place
 * with its page tables and pages. A locked mapping's new part is
 * populated once the lock is dropped, as mm_populate() does.
 *
 * Return: the address of the mapping afterwards, or a negative errno as an
 * unsigned long: -EINVAL (flags, alignment, lengths, overlap), -EFAULT
 * (no VMA at @addr, or the range crosses its end), -ENOMEM (no room,
 * limits, memory), -EAGAIN (RLIMIT_MEMLOCK), -EINTR.
 */
shadow_flow unsigned long shadow_sys_mremap(struct shadow_mm *mm,
					    unsigned long addr,
					    unsigned long old_len,
					    unsigned long new_len,
					    unsigned long flags,
					    unsigned long new_addr)
{
	struct shadow_vma *vma;
	unsigned long ret = -EINVAL;
	bool locked = false;

	if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
		return ret;

	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return ret;

	/*
	 * MREMAP_DONTUNMAP is always a move and it does not allow resizing
	 * in the process.
	 */
	if ((flags & MREMAP_DONTUNMAP) &&
	    (!(flags & MREMAP_MAYMOVE) || old_len != new_len))
		return ret;

	if (offset_in_page(addr))
		return ret;

	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);

	/*
	 * We allow a zero old-len as a special case for DOS-emu "duplicate
	 * shm area" thing. But a zero new-len is nonsensical.
	 */
	if (!new_len)
		return ret;

	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	vma = shadow_vma_lookup(mm, addr);
	if (!vma) {
		ret = -EFAULT;
		goto out;
	}

	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		ret = shadow_mremap_to(mm, addr, old_len, new_addr, new_len,
				       &locked, flags);
		goto out;
	}

	/*
	 * Always allow a shrinking remap: that just unmaps the unnecessary
	 * pages.
	 */
	if (old_len >= new_len) {
		int retval = shadow_do_munmap(mm, addr + new_len,
					      old_len - new_len);

		if (retval < 0 && old_len != new_len) {
			ret = retval;
			goto out;
		}
		ret = addr;
		goto out;
	}

	/* Ok, we need to grow.. */
	vma = shadow_vma_to_resize(mm, addr, old_len, new_len, flags);
	if (IS_ERR(vma)) {
		ret = PTR_ERR(vma);
		goto out;
	}

	/* old_len exactly to the end of the area.. */
	if (old_len == vma->vm_end - addr &&
	    shadow_vma_expandable(mm, vma, new_len - old_len)) {
		/* can we just expand the current mapping? */
		long pages = (new_len - old_len) >> PAGE_SHIFT;
		unsigned long extension_start = addr + old_len;
		unsigned long extension_end = addr + new_len;
		unsigned long extension_pgoff = vma->vm_pgoff +
			((extension_start - vma->vm_start) >> PAGE_SHIFT);

		/*
		 * vma_merge() on the extension merges it with the VMA (the
		 * expansion itself), and with the next one too when that
		 * becomes adjacent and compatible.
		 */
		vma = shadow_vma_merge(mm, vma, extension_start, extension_end,
				       vma->vm_flags, vma->anon_vma,
				       vma->vm_mapping, extension_pgoff);
		if (!vma) {
			ret = -ENOMEM;
			goto out;
		}

		shadow_vm_stat_account(mm, vma->vm_flags, pages);
		if (vma->vm_flags & VM_LOCKED) {
			mm->locked_vm += pages;
			locked = true;
			new_addr = addr;
		}
		ret = addr;
		goto out;
	}

	/*
	 * We weren't able to just expand or shrink the area,
	 * we need to create a new one and move it..
	 */
	ret = -ENOMEM;
	if (flags & MREMAP_MAYMOVE) {
		unsigned long map_flags = 0;

		if (vma->vm_flags & VM_MAYSHARE)
			map_flags |= MAP_SHARED;

		new_addr = shadow_get_unmapped_area(mm, vma->vm_mapping, 0,
						    new_len,
						    vma->vm_pgoff +
						    ((addr - vma->vm_start) >>
						     PAGE_SHIFT),
						    map_flags);
		if (IS_ERR_VALUE(new_addr)) {
			ret = new_addr;
			goto out;
		}

		ret = shadow_move_vma(mm, vma, addr, old_len, new_len,
				      new_addr, &locked, flags);
	}
out:
	if (offset_in_page(ret))
		locked = false;
	shadow_mmap_write_unlock(mm);
	if (locked && new_len > old_len)
		shadow_mm_populate(mm, new_addr + old_len, new_len - old_len);
	return ret;
}
