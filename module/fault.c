// SPDX-License-Identifier: GPL-2.0
/*
 * Page faults in a shadow address space, after mm/memory.c of Linux 6.1:
 * handle_mm_fault -> handle_pte_fault -> do_anonymous_page (the zero page on
 * read, a new zeroed page on write), do_read_fault (fault-around: the
 * pages a shared anonymous object already has, mapped around a read),
 * do_shared_fault (the object's page, read back from the swap device if
 * it went there), do_swap_page (a swap PTE) and do_wp_page (wp_page_reuse
 * when the page is exclusively this mapping's, wp_page_copy otherwise), and
 * a CPU-like touch of a range (shadow_fault_range). get_user_pages' rules
 * are in gup.c, access_process_vm in memory.c.
 *
 * Everything here runs with mmap_lock held for reading; PTEs, rss and the
 * fault counters change under page_table_lock.
 */
#include <linux/highmem.h>

#include "internal.h"
#include "trace.h"

/* x86's access_error(): may this access touch @vma at all? */
static bool shadow_access_error(struct shadow_vma *vma, unsigned int flags)
{
	if (flags & SHADOW_FAULT_WRITE)
		return !(vma->vm_flags & VM_WRITE);
	if (flags & SHADOW_FAULT_EXEC)
		return !(vma->vm_flags & VM_EXEC);
	return !(vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC));
}

/*
 * max_pages_per_mm: would mapping one more data page take @mm past its
 * limit? Page tables are not counted: at most three per data page.
 */
static bool shadow_rss_limit_reached(struct shadow_mm *mm)
{
	unsigned long limit = READ_ONCE(shadow_max_pages_per_mm);

	shadow_pt_assert_locked(mm);
	return limit && mm->rss_anon + mm->rss_shmem >= limit;
}

static pte_t shadow_mk_pte(struct page *page, struct shadow_vma *vma)
{
	return mk_pte(page, __pgprot(vma->vm_page_prot));
}

static pte_t shadow_maybe_mkwrite(pte_t pte, struct shadow_vma *vma)
{
	if (vma->vm_flags & VM_WRITE)
		pte = shadow_pte_mkwrite(pte);
	return pte;
}

/*
 * A private anonymous PTE that was never mapped: the zero page for a read,
 * a new zeroed page for a write.
 */
static shadow_flow int shadow_do_anonymous_page(struct shadow_mm *mm,
						struct shadow_vma *vma,
						unsigned long addr, pte_t *pte,
						unsigned int flags)
{
	struct page *page;
	pte_t entry;
	int ret;

	if (!(flags & SHADOW_FAULT_WRITE)) {
		entry = pte_mkspecial(pfn_pte(my_zero_pfn(addr),
					      __pgprot(vma->vm_page_prot)));
		spin_lock(&mm->page_table_lock);
		if (pte_none(*pte)) {
			shadow_set_pte(pte, entry);
			mm->min_flt++;
			trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_ZERO);
		}
		spin_unlock(&mm->page_table_lock);
		return 0;
	}

	if (shadow_anon_vma_prepare(mm, vma))
		return -ENOMEM;
	page = shadow_alloc_page(true);
	if (!page)
		return -ENOMEM;
	shadow_page_add_new_anon_rmap(page, vma, addr);
	entry = pte_mkyoung(shadow_mk_pte(page, vma));
	if (vma->vm_flags & VM_WRITE)
		entry = shadow_pte_mkwrite(pte_mkdirty(entry));

	spin_lock(&mm->page_table_lock);
	if (!pte_none(*pte) || shadow_rss_limit_reached(mm)) {
		/* Another fault mapped it first, or the limit is reached. */
		ret = pte_none(*pte) ? -ENOMEM : 0;
		spin_unlock(&mm->page_table_lock);
		shadow_put_page(page);
		return ret;
	}
	atomic_set(&shadow_page_meta(page)->mapcount, 1);
	mm->rss_anon++;
	mm->min_flt++;
	shadow_set_pte(pte, entry);
	trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_ANON);
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/* A shared anonymous PTE: map the object's page (do_shared_fault). */
static shadow_flow int shadow_do_shared_fault(struct shadow_mm *mm,
					      struct shadow_vma *vma,
					      unsigned long addr, pte_t *pte,
					      unsigned int flags)
{
	unsigned long index = vma->vm_pgoff +
			      ((addr - vma->vm_start) >> PAGE_SHIFT);
	struct page *page;
	u64 swapped;
	pte_t entry;
	int ret;

	page = shadow_shmem_get_page(vma->vm_mapping, index, &swapped);
	if (IS_ERR(page))
		return PTR_ERR(page);
	entry = pte_mkyoung(shadow_mk_pte(page, vma));
	if (flags & SHADOW_FAULT_WRITE)
		entry = shadow_maybe_mkwrite(pte_mkdirty(entry), vma);

	spin_lock(&mm->page_table_lock);
	if (!pte_none(*pte) || shadow_rss_limit_reached(mm)) {
		ret = pte_none(*pte) ? -ENOMEM : 0;
		spin_unlock(&mm->page_table_lock);
		shadow_put_page(page);
		return ret;
	}
	/* The reference shadow_shmem_get_page() took is the PTE's. */
	atomic_inc(&shadow_page_meta(page)->mapcount);
	mm->rss_shmem++;
	shadow_set_pte(pte, entry);
	if (swapped) {
		/* shmem_swapin_folio() read it back: VM_FAULT_MAJOR. */
		mm->maj_flt++;
		mm->swapins++;
		trace_shadow_mm_swap_in(mm, addr, swapped,
					shadow_page_meta(page)->id, true);
		trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_SWAPIN);
	} else {
		mm->min_flt++;
		trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_SHARED);
	}
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/**
 * shadow_do_set_pte() - map a page fault-around looked up (do_set_pte)
 * @mm: the address space, page_table_lock not held
 * @ptep: an empty PTE when the page was looked up
 * @page: the page, with the reference the lookup took
 * @entry: the PTE to set
 * @rss: the counter of the page's kind (&mm->rss_shmem, &mm->rss_file)
 * @own: @ptep is the faulting address's own PTE (a minor fault)
 *
 * The reference becomes the PTE's. Another fault may have set the PTE
 * since, or the address space reached max_pages_per_mm (which counts the
 * pages the engine allocates, not the page cache's): then the reference
 * is given back.
 *
 * Return: true when @ptep now maps @page.
 */
bool shadow_do_set_pte(struct shadow_mm *mm, pte_t *ptep, struct page *page,
		       pte_t entry, unsigned long *rss, bool own)
{
	spin_lock(&mm->page_table_lock);
	if (!pte_none(*ptep) ||
	    (rss != &mm->rss_file && shadow_rss_limit_reached(mm))) {
		spin_unlock(&mm->page_table_lock);
		shadow_put_page(page);
		return false;
	}
	atomic_inc(&shadow_page_meta(page)->mapcount);
	(*rss)++;
	if (own)
		mm->min_flt++;
	shadow_set_pte(ptep, entry);
	spin_unlock(&mm->page_table_lock);
	return true;
}

/**
 * shadow_fault_around_range() - the range do_fault_around() maps
 * @vma: the faulting VMA
 * @addr: the faulting address
 * @pte: @addr's PTE
 * @start: out: the range's start
 * @end: out: its end
 *
 * From the fault-around block of @addr (fault_around_bytes' default,
 * 64 KiB: a debugfs knob the module cannot read), or the VMA's start, to
 * the nearest of that block's end, the VMA's end and the page table's end.
 *
 * Return: the PTE of @start, in @pte's table.
 */
pte_t *shadow_fault_around_range(struct shadow_vma *vma, unsigned long addr,
				 pte_t *pte, unsigned long *start,
				 unsigned long *end)
{
	unsigned long span = SHADOW_FAULT_AROUND_PAGES * PAGE_SIZE;

	*start = max(addr & ~(span - 1), vma->vm_start);
	*end = min3(ALIGN(*start + 1, PMD_SIZE), vma->vm_end, *start + span);
	return pte - ((addr - *start) >> PAGE_SHIFT);
}

/*
 * Map the pages the object already holds around a read fault at @addr
 * (do_fault_around -> filemap_map_pages): in shadow_fault_around_range(),
 * wherever no PTE is set, all with vm_page_prot (young: x86 does not want
 * old prefaulted PTEs); none past max_pages_per_mm, where the fault proper
 * fails.
 * @pte is @addr's PTE; its neighbours are in the same table.
 *
 * Return: true when @addr itself was mapped (VM_FAULT_NOPAGE).
 */
static shadow_flow bool shadow_do_fault_around(struct shadow_mm *mm,
					       struct shadow_vma *vma,
					       unsigned long addr, pte_t *pte,
					       unsigned int flags)
{
	unsigned long start, end, a;
	bool mapped = false;
	pte_t *ptep;

	ptep = shadow_fault_around_range(vma, addr, pte, &start, &end);
	for (a = start; a < end; a += PAGE_SIZE, ptep++) {
		unsigned long index = vma->vm_pgoff +
				      ((a - vma->vm_start) >> PAGE_SHIFT);
		struct page *page;
		pte_t entry;

		if (!pte_none(READ_ONCE(*ptep)))
			continue;
		page = shadow_shmem_find_page(vma->vm_mapping, index);
		if (!page)
			continue;
		entry = shadow_mk_pte(page, vma);
		if (shadow_do_set_pte(mm, ptep, page, entry, &mm->rss_shmem,
				      a == addr) && a == addr) {
			mapped = true;
			trace_shadow_mm_fault(mm, addr, flags,
					      SHADOW_FK_SHARED);
		}
	}
	return mapped;
}

/*
 * A read fault on a shared anonymous PTE (do_read_fault): fault-around
 * first, the object's page (created if need be) when that did not map it.
 */
static shadow_flow int shadow_do_read_fault(struct shadow_mm *mm,
					    struct shadow_vma *vma,
					    unsigned long addr, pte_t *pte,
					    unsigned int flags)
{
	if (shadow_do_fault_around(mm, vma, addr, pte, flags))
		return 0;
	return shadow_do_shared_fault(mm, vma, addr, pte, flags);
}

/* Make the faulting PTE writable in place (wp_page_reuse). */
static shadow_flow void shadow_wp_page_reuse(struct shadow_mm *mm,
					     struct shadow_vma *vma,
					     unsigned long addr, pte_t *pte,
					     pte_t entry)
	__releases(&mm->page_table_lock)
{
	entry = shadow_maybe_mkwrite(pte_mkdirty(pte_mkyoung(entry)), vma);
	shadow_set_pte(pte, entry);
	mm->min_flt++;
	mm->cow_reuses++;
	trace_shadow_mm_fault(mm, addr, SHADOW_FAULT_WRITE,
			      SHADOW_FK_COW_REUSE);
	spin_unlock(&mm->page_table_lock);
}

/*
 * Replace the PTE's page (or the zero page) by a private copy
 * (wp_page_copy). @old carries a reference the caller took for the copy.
 */
static shadow_flow int shadow_wp_page_copy(struct shadow_mm *mm,
					   struct shadow_vma *vma,
					   unsigned long addr, pte_t *pte,
					   pte_t orig, struct page *old)
{
	struct page *new = NULL;
	pte_t entry;
	int ret;

	if (!shadow_anon_vma_prepare(mm, vma))
		new = shadow_alloc_page(true);
	if (!new) {
		if (old)
			shadow_put_page(old);
		return -ENOMEM;
	}
	if (old)
		copy_highpage(new, old);
	shadow_page_add_new_anon_rmap(new, vma, addr);
	entry = pte_mkyoung(pte_mkdirty(shadow_mk_pte(new, vma)));
	entry = shadow_maybe_mkwrite(entry, vma);

	spin_lock(&mm->page_table_lock);
	if (!pte_same(*pte, orig) || (!old && shadow_rss_limit_reached(mm))) {
		/*
		 * The PTE changed under us: the access retries. Or the copy
		 * of the zero page would be a page past the limit.
		 */
		ret = pte_same(*pte, orig) ? -ENOMEM : 0;
		spin_unlock(&mm->page_table_lock);
		shadow_put_page(new);
		if (old)
			shadow_put_page(old);
		return ret;
	}
	shadow_set_pte(pte, entry);
	atomic_set(&shadow_page_meta(new)->mapcount, 1);
	if (old) {
		struct shadow_page *osp = shadow_page_meta(old);

		/* The old PTE's hold on the page goes. */
		if (osp->file) {
			/* A file page: an anonymous page replaces it. */
			mm->rss_file--;
			mm->rss_anon++;
		}
		atomic_dec(&osp->mapcount);
		shadow_put_page(old);
	} else {
		mm->rss_anon++;
	}
	mm->min_flt++;
	mm->cow_copies++;
	trace_shadow_mm_fault(mm, addr, SHADOW_FAULT_WRITE,
			      SHADOW_FK_COW_COPY);
	spin_unlock(&mm->page_table_lock);
	if (old) {
		/* page_copied: a swap cache page nothing maps now goes. */
		shadow_free_swap_cache(old);
		shadow_put_page(old);
	}
	return 0;
}

/*
 * A write to a present, write-protected PTE (do_wp_page); called with
 * page_table_lock held, which it drops. Linux 6.1 reuses an anonymous page
 * in place when it is anon-exclusive, or when this mapping holds the only
 * reference (then it becomes exclusive); the mapcount plays no part.
 */
static shadow_flow int shadow_do_wp_page(struct shadow_mm *mm,
					 struct shadow_vma *vma,
					 unsigned long addr, pte_t *pte,
					 pte_t entry)
	__releases(&mm->page_table_lock)
{
	struct shadow_page *sp;
	struct page *page;

	shadow_pt_assert_locked(mm);
	if (pte_special(entry)) {
		/* The zero page: always a new page. */
		spin_unlock(&mm->page_table_lock);
		return shadow_wp_page_copy(mm, vma, addr, pte, entry, NULL);
	}
	page = pte_page(entry);
	sp = shadow_page_meta(page);

	if (vma->vm_flags & VM_SHARED) {
		/* wp_page_shared(): the object's page is ours to write. */
		shadow_wp_page_reuse(mm, vma, addr, pte, entry);
		return 0;
	}
	if (sp->file)
		/* A page-cache page in a private mapping: always copied. */
		goto copy;
	if (READ_ONCE(sp->anon_exclusive)) {
		shadow_wp_page_reuse(mm, vma, addr, pte, entry);
		return 0;
	}
	/* 6.12's wp_can_reuse_anon_folio(): never a page of a THP. */
	if (SHADOW_RULE_WP_NO_LARGE_REUSE && sp->folio)
		goto copy;
	/*
	 * Only our mapping holds it, but for the swap cache, which lets go
	 * when no swap PTE holds the slot any more (folio_free_swap).
	 */
	if (shadow_page_refs(sp) <= 1 + !!READ_ONCE(sp->swap) &&
	    (!READ_ONCE(sp->swap) || shadow_try_to_free_swap(page)) &&
	    shadow_page_refs(sp) == 1) {
		/*
		 * It is exclusively ours now, and moves to our anon_vma
		 * (page_move_anon_rmap).
		 */
		shadow_page_move_anon_rmap(page, vma);
		shadow_wp_page_reuse(mm, vma, addr, pte, entry);
		return 0;
	}
copy:
	shadow_get_page(page);
	spin_unlock(&mm->page_table_lock);
	return shadow_wp_page_copy(mm, vma, addr, pte, entry, page);
}

/*
 * should_try_to_free_swap(): drop the swap cache page's slot right away
 * when the device is more than half full, for a VM_LOCKED VMA (its page
 * will not go out again), or for a write that will likely leave us the
 * only user of the page.
 */
static bool shadow_should_try_to_free_swap(struct page *page,
					   struct shadow_vma *vma,
					   unsigned int flags)
{
	struct shadow_page *sp = shadow_page_meta(page);

	if (!READ_ONCE(sp->swap))
		return false;
	if (shadow_swap_full() || (vma->vm_flags & VM_LOCKED))
		return true;
	return (flags & SHADOW_FAULT_WRITE) && atomic_read(&sp->refs) == 2;
}

/*
 * A fault on a swap PTE (do_swap_page): the page comes from the swap
 * cache, or is read back from the device into it (a major fault). The
 * PTE's hold on the slot goes (swap_free). The page is mapped exclusive
 * when the swap PTE said so or nothing else holds it; then a write fault
 * maps it writable at once. Otherwise it is mapped write-protected, and
 * the write goes on through do_wp_page, which copies it or reuses it
 * (the fault's caller retries the access, as the CPU would).
 */
static shadow_flow int shadow_do_swap_page(struct shadow_mm *mm,
					   struct shadow_vma *vma,
					   unsigned long addr, pte_t *ptep,
					   pte_t orig, unsigned int flags)
{
	swp_entry_t entry = pte_to_swp_entry(orig);
	bool major, exclusive;
	struct shadow_page *sp;
	struct page *page;
	pte_t pte;

	if (shadow_warn_on((vma->vm_mapping && !shadow_vma_file(vma)) ||
			   non_swap_entry(entry)))
		return -EFAULT;
	page = shadow_swapin(entry, &major);
	if (IS_ERR(page))
		return PTR_ERR(page);
	if (!page) {
		/*
		 * The slot is gone: the PTE must have changed meanwhile.
		 * If it has not, the entry is bad (swapin_error): SIGBUS.
		 */
		bool same;

		spin_lock(&mm->page_table_lock);
		same = pte_same(*ptep, orig);
		spin_unlock(&mm->page_table_lock);
		if (shadow_warn_on(same))
			return -EFAULT;
		trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_RETRY);
		return 0;
	}
	sp = shadow_page_meta(page);

	spin_lock(&mm->page_table_lock);
	if (!pte_same(*ptep, orig)) {
		trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_RETRY);
		spin_unlock(&mm->page_table_lock);
		shadow_put_page(page);
		return 0;
	}
	if (shadow_rss_limit_reached(mm)) {
		spin_unlock(&mm->page_table_lock);
		shadow_put_page(page);
		return -ENOMEM;
	}

	exclusive = pte_swp_exclusive(orig);
	shadow_swap_free(entry);
	if (shadow_should_try_to_free_swap(page, vma, flags))
		shadow_try_to_free_swap(page);
	mm->rss_anon++;
	mm->nr_swapents--;
	pte = pte_mkyoung(shadow_mk_pte(page, vma));
	/*
	 * Same logic as in do_wp_page(); however, optimize for pages that are
	 * certainly not shared either because we just allocated them without
	 * exposing them to the swapcache or because the swap entry indicates
	 * exclusivity. (Our reference is the one the PTE takes over.)
	 */
	if (exclusive || atomic_read(&sp->refs) == 1) {
		if (flags & SHADOW_FAULT_WRITE)
			pte = shadow_maybe_mkwrite(pte_mkdirty(pte), vma);
		exclusive = true;
	}
	if (pte_swp_soft_dirty(orig))
		pte = pte_mksoft_dirty(pte);
	/* RMAP_EXCLUSIVE: the page becomes anon-exclusive. */
	shadow_page_add_anon_rmap(page, vma, addr, exclusive);
	atomic_inc(&sp->mapcount);
	shadow_set_pte(ptep, pte);
	if (major) {
		mm->maj_flt++;
		mm->swapins++;
	} else {
		mm->min_flt++;
	}
	trace_shadow_mm_swap_in(mm, addr, swp_offset(entry), sp->id, major);
	trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_SWAPIN);
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/* Find or make the PTE and act on what it holds (__handle_mm_fault). */
static shadow_flow int __shadow_handle_mm_fault(struct shadow_mm *mm,
						struct shadow_vma *vma,
						unsigned long addr,
						unsigned int flags)
{
	unsigned long *pmd, val;
	pte_t *pte, entry;
	bool shared;
	int ret;

	/*
	 * The pages of a special mapping (the vDSO image, the vvar data)
	 * are not modelled: a fault fails as vvar_fault() does for a page
	 * it has nothing for, before any table is made.
	 */
	if (vma->vm_special)
		return -EFAULT;
	if (shadow_file_beyond_eof(vma, addr))
		return shadow_file_fault_beyond_eof(mm, vma, addr, flags);

	/* The PMD level first: a THP, or a leaf that is there already. */
	pmd = shadow_pmd_entry(mm, addr, true);
	if (!pmd)
		return -ENOMEM;
	val = READ_ONCE(*pmd);
	ret = SHADOW_VM_FAULT_FALLBACK;
	if (!val && shadow_hugepage_vma_check(vma, vma->vm_flags, false, true))
		ret = shadow_do_huge_pmd_anonymous_page(mm, vma, addr, pmd,
							flags);
	else if (shadow_pmd_trans_huge(val))
		ret = shadow_huge_pmd_fault(mm, vma, addr, pmd, flags);
	if (ret != SHADOW_VM_FAULT_FALLBACK)
		return ret;
	/*
	 * Another thread's fault mapped a THP meanwhile: the access retries
	 * and finds it (handle_pte_fault() on a PMD that became huge).
	 */
	if (shadow_pmd_trans_huge(READ_ONCE(*pmd))) {
		trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_RETRY);
		return 0;
	}

	if (!(flags & SHADOW_FAULT_WRITE)) {
		/*
		 * A read of a PTE that a table shared by on-demand fork
		 * shows present and young changes nothing. One it shows old
		 * becomes young, which writes the table: that read breaks
		 * the share, as a write does (pgtable.c's rule 5).
		 */
		spin_lock(&mm->page_table_lock);
		pte = shadow_pte_lookup_locked(mm, addr, &shared);
		if (shared) {
			entry = shadow_pte_view(mm, pte, true);
			shared = pte_present(entry) && pte_young(entry);
		}
		spin_unlock(&mm->page_table_lock);
		if (shared) {
			trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_ACCESS);
			return 0;
		}
	}
	/* Any other fault writes the table: our own (shadow_pte_unshare). */
	pte = shadow_pte_alloc(mm, addr);
	if (!pte)
		return -ENOMEM;

	entry = READ_ONCE(*pte);
	if (pte_none(entry)) {
		if (shadow_vma_file(vma))
			return shadow_do_file_fault(mm, vma, addr, pte, flags);
		if (vma->vm_mapping && !(flags & SHADOW_FAULT_WRITE))
			return shadow_do_read_fault(mm, vma, addr, pte, flags);
		if (vma->vm_mapping)
			return shadow_do_shared_fault(mm, vma, addr, pte, flags);
		return shadow_do_anonymous_page(mm, vma, addr, pte, flags);
	}
	if (!pte_present(entry))
		return shadow_do_swap_page(mm, vma, addr, pte, entry, flags);

	if (shadow_file_pte_stale(vma, entry)) {
		/* Truncated out of the file: unmap it, the access refaults. */
		shadow_zap_page_range_single(mm, vma, addr, addr + PAGE_SIZE);
		trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_RETRY);
		return 0;
	}
	spin_lock(&mm->page_table_lock);
	if (!pte_same(*pte, entry)) {
		trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_RETRY);
		spin_unlock(&mm->page_table_lock);
		return 0;
	}
	if (flags & SHADOW_FAULT_WRITE) {
		if (!pte_write(entry))
			return shadow_do_wp_page(mm, vma, addr, pte, entry);
		entry = pte_mkdirty(entry);
	}
	/* What the CPU's page walk does to a present PTE: set A (and D). */
	shadow_set_pte(pte, pte_mkyoung(entry));
	trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_ACCESS);
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/**
 * shadow_handle_mm_fault() - resolve one fault at @addr (handle_mm_fault)
 * @mm: the address space, mmap_lock held for reading
 * @vma: the VMA containing @addr, access already checked
 * @addr: the faulting address
 * @flags: SHADOW_FAULT_WRITE, SHADOW_FAULT_EXEC
 *
 * Return: 0 (the access may be retried), -EFAULT past the end of a shared
 * object or of a file, or in a special mapping (VM_FAULT_SIGBUS), or
 * -ENOMEM.
 */
shadow_flow int shadow_handle_mm_fault(struct shadow_mm *mm,
				       struct shadow_vma *vma,
				       unsigned long addr, unsigned int flags)
{
	int ret;

	shadow_mmap_assert_locked(mm);
	addr &= PAGE_MASK;
	ret = __shadow_handle_mm_fault(mm, vma, addr, flags);
	if (ret)
		trace_shadow_mm_fault(mm, addr, flags, ret == -EFAULT ?
				      SHADOW_FK_SIGBUS : SHADOW_FK_OOM);
	return ret;
}

/* Would the CPU's access go through this PTE without a fault? */
static bool shadow_pte_allows(pte_t entry, unsigned int flags)
{
	if (!pte_present(entry))
		return false;
	return !(flags & SHADOW_FAULT_WRITE) || pte_write(entry);
}

/*
 * The VMA a touch of @addr uses, with mmap_lock held for reading, as
 * x86-64's do_user_addr_fault() finds it (lock_mm_and_find_vma): the VMA
 * containing @addr, or the VM_GROWSDOWN VMA above it grown down to cover
 * it. Growing takes mmap_lock for writing: the read lock is dropped, the
 * VMA looked up again, and the lock downgraded afterwards. Returns with
 * mmap_lock held for reading, except on -EINTR (killed waiting for it).
 */
static struct shadow_vma *shadow_lock_mm_and_find_vma(struct shadow_mm *mm,
						      unsigned long addr,
						      unsigned int flags,
						      int *err)
{
	struct shadow_vma *vma = shadow_find_vma(mm, addr);

	*err = 0;
	if (likely(vma && vma->vm_start <= addr))
		return vma;

	/*
	 * Well, dang. We might still be successful, but only
	 * if we can extend a vma to do so.
	 */
	if (!vma || !(vma->vm_flags & VM_GROWSDOWN))
		return NULL;

	shadow_mmap_read_unlock(mm);
	if (shadow_mmap_write_lock_killable(mm)) {
		*err = -EINTR;
		return NULL;
	}
	vma = shadow_find_vma(mm, addr);
	if (vma && vma->vm_start > addr) {
		if (shadow_expand_stack_locked(mm, vma, addr))
			vma = NULL;
		else
			trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_STACK);
	}
	shadow_mmap_write_downgrade(mm);
	return vma;
}

/**
 * shadow_fault_range() - touch every page of a range as a CPU would
 * @mm: the address space
 * @addr: start of the range
 * @len: its length
 * @flags: SHADOW_FAULT_WRITE, SHADOW_FAULT_EXEC, or 0 for a read
 * @done: set to the number of pages touched
 * @signal: set to the signal a process would get with -EFAULT (SIGSEGV or
 *          SIGBUS), else 0
 *
 * A page just below a VM_GROWSDOWN VMA grows it, within the stack guard
 * gap and the stack's limits (expand_stack).
 *
 * Return: 0, -EFAULT at the first page outside any VMA or against its
 * protection (SIGSEGV) or where the fault fails (VM_FAULT_SIGBUS),
 * -ENOMEM, or -EINTR (killed).
 */
int shadow_fault_range(struct shadow_mm *mm, unsigned long addr,
		       unsigned long len, unsigned int flags,
		       unsigned long *done, u32 *signal)
{
	unsigned long end = addr + len;
	struct shadow_vma *vma;
	int ret = 0;

	*done = 0;
	*signal = 0;
	/* An empty range touches nothing, wherever it starts. */
	if (!len)
		return 0;
	if (shadow_mmap_read_lock_killable(mm))
		return -EINTR;
	for (addr &= PAGE_MASK; addr < end; addr += PAGE_SIZE) {
		vma = shadow_lock_mm_and_find_vma(mm, addr, flags, &ret);
		if (ret)
			return ret;	/* mmap_lock is not held */
		if (!vma || shadow_access_error(vma, flags)) {
			trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_SEGV);
			*signal = SIGSEGV;
			ret = -EFAULT;
			break;
		}
		do {
			ret = shadow_handle_mm_fault(mm, vma, addr, flags);
		} while (!ret &&
			 !shadow_pte_allows(shadow_pte_get(mm, addr), flags));
		if (ret) {
			/* handle_mm_fault()'s only -EFAULT is VM_FAULT_SIGBUS. */
			if (ret == -EFAULT)
				*signal = SIGBUS;
			break;
		}
		(*done)++;
		/* A huge range must not make its caller unkillable. */
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	shadow_mmap_read_unlock(mm);
	return ret;
}
