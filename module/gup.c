// SPDX-License-Identifier: GPL-2.0
/*
 * Making pages present ahead of use, after Linux 6.1's mm/gup.c:
 * __mm_populate -> populate_vma_page_range -> __get_user_pages for mlock,
 * MAP_POPULATE, MAP_LOCKED and mprotect of a locked VMA, and
 * faultin_vma_page_range for MADV_POPULATE_(READ|WRITE). A page is
 * "populated" as get_user_pages would take it: followed when its PTE
 * allows the access, faulted in (breaking COW for a write) when not.
 * check_vma_flags() and follow_page() serve access_remote_vm (memory.c)
 * too.
 *
 * Everything here runs with mmap_lock held, for reading or writing;
 * __shadow_mm_populate() takes it for reading itself.
 */
#include "internal.h"

/* vma_lookup(): the VMA containing @addr, or NULL. */
static struct shadow_vma *shadow_vma_lookup(struct shadow_mm *mm,
					    unsigned long addr)
{
	struct shadow_vma *vma = shadow_find_vma(mm, addr);

	return vma && vma->vm_start <= addr ? vma : NULL;
}

/*
 * __get_user_pages() with no pages to hand back: fault in @nr_pages from
 * @start. Returns the pages done, or the error when none was: -EFAULT
 * (no VMA, or one the access may not use), -ENOMEM, -EINTR (killed).
 */
static shadow_flow long __shadow_get_user_pages(struct shadow_mm *mm,
						unsigned long start,
						unsigned long nr_pages,
						bool write, bool force)
{
	struct shadow_vma *vma = NULL;
	struct page *page;
	long i = 0;
	int ret = 0;

	shadow_mmap_assert_locked(mm);
	while (nr_pages) {
		/* first iteration or cross vma bound */
		if (!vma || start >= vma->vm_end) {
			vma = shadow_vma_lookup(mm, start);
			if (!vma || !shadow_gup_allowed(vma, write, force)) {
				ret = -EFAULT;
				break;
			}
		}
		/*
		 * If we have a pending SIGKILL, don't keep faulting pages and
		 * potentially allocating memory.
		 */
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();

		page = shadow_follow_page(mm, vma, start, write, force, &ret);
		if (ret)
			break;
		if (page)
			shadow_put_page(page);
		i++;
		start += PAGE_SIZE;
		nr_pages--;
	}
	return i ? i : ret;
}

/**
 * shadow_populate_vma_page_range() - populate [start, end) of @vma
 * @mm: the address space, mmap_lock held
 * @vma: the VMA; the range lies inside it
 * @start: page-aligned start
 * @end: page-aligned end
 *
 * populate_vma_page_range(): private writable memory is write-faulted,
 * which breaks COW; other memory is read-faulted. Any access but
 * PROT_NONE's is forced, so that mlock works on read-only memory.
 * A VM_LOCKONFAULT VMA is left for its faults to fill.
 *
 * Return: the pages done, or a negative errno when none was.
 */
shadow_flow long shadow_populate_vma_page_range(struct shadow_mm *mm,
						struct shadow_vma *vma,
						unsigned long start,
						unsigned long end)
{
	unsigned long nr_pages = (end - start) >> PAGE_SHIFT;
	bool write, force;

	shadow_warn_on(offset_in_page(start) || offset_in_page(end));
	shadow_warn_on(start < vma->vm_start || end > vma->vm_end);
	shadow_mmap_assert_locked(mm);

	/*
	 * Rightly or wrongly, the VM_LOCKONFAULT case has never used
	 * faultin_page() to break COW, so it has no work to do here.
	 */
	if (vma->vm_flags & VM_LOCKONFAULT)
		return nr_pages;

	/*
	 * Touch writable mappings with a write fault in order to break COW,
	 * except shared mappings: they don't COW and would be dirtied for
	 * nothing.
	 */
	write = (vma->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE;
	/* mlock must succeed on any permission but PROT_NONE. */
	force = vma->vm_flags & VM_ACCESS_FLAGS;
	return __shadow_get_user_pages(mm, start, nr_pages, write, force);
}

/**
 * shadow_faultin_vma_page_range() - prefault [start, end) of @vma
 * @mm: the address space, mmap_lock held
 * @vma: the VMA; the range lies inside it
 * @start: page-aligned start
 * @end: page-aligned end
 * @write: prefault writable (FOLL_WRITE), else readable
 *
 * faultin_vma_page_range() for MADV_POPULATE_(READ|WRITE): the access
 * is not forced, and a VMA it may not use is an -EINVAL, not an -EFAULT.
 *
 * Return: the pages done, or a negative errno when none was.
 */
shadow_flow long shadow_faultin_vma_page_range(struct shadow_mm *mm,
					       struct shadow_vma *vma,
					       unsigned long start,
					       unsigned long end, bool write)
{
	shadow_warn_on(offset_in_page(start) || offset_in_page(end));
	shadow_warn_on(start < vma->vm_start || end > vma->vm_end);
	shadow_mmap_assert_locked(mm);

	/*
	 * We want to report -EINVAL instead of -EFAULT for any permission
	 * problems or incompatible mappings.
	 */
	if (!shadow_gup_allowed(vma, write, false))
		return -EINVAL;
	return __shadow_get_user_pages(mm, start, (end - start) >> PAGE_SHIFT,
				       write, false);
}

/**
 * __shadow_mm_populate() - populate the VMAs of [start, start + len)
 * @mm: the address space; mmap_lock not held
 * @start: page-aligned start
 * @len: page-aligned length
 * @ignore_errors: go on with the next VMA after an error (mmap), else
 *                 stop at the first one (mlock)
 *
 * __mm_populate(): the VMAs already carry the flags that say how.
 *
 * Return: 0, or the first error when not ignoring them.
 */
shadow_flow int __shadow_mm_populate(struct shadow_mm *mm, unsigned long start,
				     unsigned long len, bool ignore_errors)
{
	unsigned long end = start + len, nstart, nend;
	struct shadow_vma *vma;
	long ret = 0;

	shadow_mmap_read_lock(mm);
	for (nstart = start; nstart < end; nstart = nend) {
		/*
		 * We want to fault in pages for [nstart; end) address range.
		 * Find first corresponding VMA.
		 */
		vma = shadow_find_vma_intersection(mm, nstart, end);
		if (!vma)
			break;
		/*
		 * Set [nstart; nend) to intersection of desired address
		 * range with the first VMA.
		 */
		nend = min(end, vma->vm_end);
		/*
		 * Also skip undesirable VMA types: VM_IO and VM_PFNMAP as
		 * Linux does, and the vDSO text, whose pages Linux would map
		 * and the engine does not model.
		 */
		if (vma->vm_flags & (VM_IO | VM_PFNMAP) || vma->vm_special)
			continue;
		if (nstart < vma->vm_start)
			nstart = vma->vm_start;
		ret = shadow_populate_vma_page_range(mm, vma, nstart, nend);
		if (ret < 0) {
			if (ignore_errors) {
				ret = 0;
				continue;	/* continue at next VMA */
			}
			break;
		}
		nend = nstart + ret * PAGE_SIZE;
		ret = 0;
	}
	shadow_mmap_read_unlock(mm);
	return ret;	/* 0 or negative error code */
}

/**
 * shadow_mm_populate() - populate after mmap, errors ignored (mm_populate)
 * @mm: the address space; mmap_lock not held
 * @start: page-aligned start
 * @len: page-aligned length
 */
void shadow_mm_populate(struct shadow_mm *mm, unsigned long start,
			unsigned long len)
{
	/* Ignore errors */
	__shadow_mm_populate(mm, start, len, true);
}

/**
 * shadow_gup_allowed() - may get_user_pages use @vma (check_vma_flags)?
 * @vma: the VMA
 * @write: FOLL_WRITE
 * @force: FOLL_FORCE
 *
 * Return: true when the access may go on to follow or fault pages.
 */
bool shadow_gup_allowed(struct shadow_vma *vma, bool write, bool force)
{
	unsigned long vm_flags = vma->vm_flags;

	if (write) {
		if (vm_flags & VM_WRITE)
			return true;
		/* FOLL_FORCE writes only into a private (COW) mapping. */
		return force &&
		       (vm_flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
	}
	if (vm_flags & VM_READ)
		return true;
	return force && (vm_flags & VM_MAYREAD);
}

/*
 * can_follow_write_pte() of Linux 6.1: a forced write may go through a
 * read-only PTE only onto an exclusive anonymous page of a private,
 * non-writable mapping, i.e. after the COW has been broken.
 */
static bool shadow_can_follow_write_pte(pte_t entry, struct shadow_vma *vma,
					bool force)
{
	if (pte_write(entry))
		return true;
	if (!force || (vma->vm_flags & (VM_MAYSHARE | VM_SHARED)) ||
	    !(vma->vm_flags & VM_MAYWRITE) || (vma->vm_flags & VM_WRITE))
		return false;
	return !pte_special(entry) &&
	       READ_ONCE(shadow_page_meta(pte_page(entry))->anon_exclusive);
}

/**
 * shadow_follow_page() - the page at @addr for get_user_pages
 * @mm: the address space, mmap_lock held
 * @vma: the VMA containing @addr, shadow_gup_allowed() already checked
 * @addr: page-aligned address
 * @write: FOLL_WRITE
 * @force: FOLL_FORCE
 * @err: set to 0, or to the fault's error
 *
 * follow_page_mask(), faulting (faultin_page) until the PTE can be
 * followed; FOLL_TOUCH marks it young, and dirty for a write.
 *
 * Return: the page with a reference for the caller; NULL for the zero
 * page or on error (*@err says which).
 */
struct page *shadow_follow_page(struct shadow_mm *mm, struct shadow_vma *vma,
				unsigned long addr, bool write, bool force,
				int *err)
{
	unsigned int flags = write ? SHADOW_FAULT_WRITE : 0;
	unsigned long *leaf;
	struct page *page;
	pte_t *pte, entry, head;

	shadow_mmap_assert_locked(mm);
	for (;;) {
		bool shared;

		if (shadow_file_beyond_eof(vma, addr)) {
			/* Truncated under its mapping: SIGBUS, as a fault. */
			*err = shadow_handle_mm_fault(mm, vma, addr, flags);
			if (*err)
				return NULL;
			continue;
		}
		/* The table may be shared: looked up under the lock. */
		spin_lock(&mm->page_table_lock);
		pte = shadow_pte_lookup_locked(mm, addr, &shared);
		entry = pte ? shadow_pte_view(mm, pte, shared) : __pte(0);
		/* follow_trans_huge_pmd(): a leaf's page at @addr. */
		leaf = pte ? NULL : shadow_pmd_entry(mm, addr, false);
		if (leaf && shadow_pmd_trans_huge(*leaf))
			entry = shadow_huge_pmd_subpage_pte(*leaf, addr);
		else
			leaf = NULL;
		/* can_follow_write_pmd() asks a leaf's head page. */
		head = leaf ? shadow_huge_pmd_subpage_pte(*leaf, addr &
							  ~(SHADOW_PMD_SIZE - 1)) :
			      entry;
		/*
		 * A write through a shared table faults, and so does a read
		 * that FOLL_TOUCH would make young there: the fault breaks
		 * the share (pgtable.c's rule 5).
		 */
		if (pte_present(entry) &&
		    !(shared && (write || !pte_young(entry))) &&
		    !shadow_file_pte_stale(vma, entry) &&
		    (!write || shadow_can_follow_write_pte(head, vma, force))) {
			page = pte_special(entry) ? NULL : pte_page(entry);
			if (page)
				shadow_get_page(page);
			/*
			 * FOLL_TOUCH: accessed, and dirty when written; not
			 * in a shared table, which nobody writes.
			 */
			entry = pte_mkyoung(entry);
			if (write)
				entry = pte_mkdirty(entry);
			if (leaf)
				WRITE_ONCE(*leaf, *leaf | (pte_val(entry) &
					   (_PAGE_ACCESSED | _PAGE_DIRTY |
					    _PAGE_SOFT_DIRTY)));
			else if (!shared)
				shadow_set_pte(pte, entry);
			spin_unlock(&mm->page_table_lock);
			*err = 0;
			return page;
		}
		spin_unlock(&mm->page_table_lock);
		/* Fault it in, then look again: permission is rechecked. */
		*err = shadow_handle_mm_fault(mm, vma, addr, flags);
		if (*err)
			return NULL;
		cond_resched();
	}
}
