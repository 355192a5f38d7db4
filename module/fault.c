// SPDX-License-Identifier: GPL-2.0
/*
 * Page faults in a shadow address space, after mm/memory.c of Linux 6.1:
 * handle_mm_fault -> handle_pte_fault -> do_anonymous_page (the zero page on
 * read, a new zeroed page on write), do_shared_fault (the shared anonymous
 * object's page) and do_wp_page (wp_page_reuse when the page is exclusively
 * this mapping's, wp_page_copy otherwise). And the two ways user space
 * touches memory: a CPU-like touch of a range (shadow_fault_range) and
 * access_process_vm (shadow_access_vm), with get_user_pages' rules.
 *
 * Everything here runs with mmap_lock held for reading; PTEs, rss and the
 * fault counters change under page_table_lock.
 */
#include <linux/highmem.h>

#include "internal.h"

/* x86's access_error(): may this access touch @vma at all? */
static bool shadow_access_error(struct shadow_vma *vma, unsigned int flags)
{
	if (flags & SHADOW_FAULT_WRITE)
		return !(vma->vm_flags & VM_WRITE);
	if (flags & SHADOW_FAULT_EXEC)
		return !(vma->vm_flags & VM_EXEC);
	return !(vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC));
}

static pte_t shadow_mk_pte(struct page *page, struct shadow_vma *vma)
{
	return mk_pte(page, __pgprot(vma->vm_page_prot));
}

static pte_t shadow_maybe_mkwrite(pte_t pte, struct shadow_vma *vma)
{
	if (vma->vm_flags & VM_WRITE)
		pte = pte_mkwrite(pte);
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

	if (!(flags & SHADOW_FAULT_WRITE)) {
		entry = pte_mkspecial(pfn_pte(my_zero_pfn(addr),
					      __pgprot(vma->vm_page_prot)));
		spin_lock(&mm->page_table_lock);
		if (pte_none(*pte)) {
			set_pte(pte, entry);
			mm->min_flt++;
		}
		spin_unlock(&mm->page_table_lock);
		return 0;
	}

	if (shadow_anon_vma_prepare(mm, vma))
		return -ENOMEM;
	page = shadow_alloc_page(true);
	if (!page)
		return -ENOMEM;
	entry = pte_mkyoung(shadow_mk_pte(page, vma));
	if (vma->vm_flags & VM_WRITE)
		entry = pte_mkwrite(pte_mkdirty(entry));

	spin_lock(&mm->page_table_lock);
	if (!pte_none(*pte)) {
		/* Another fault mapped it first. */
		spin_unlock(&mm->page_table_lock);
		shadow_put_page(page);
		return 0;
	}
	atomic_set(&shadow_page_meta(page)->mapcount, 1);
	mm->rss_anon++;
	mm->min_flt++;
	set_pte(pte, entry);
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
	pte_t entry;

	page = shadow_shmem_get_page(vma->vm_shmem, index);
	if (IS_ERR(page))
		return PTR_ERR(page);
	entry = pte_mkyoung(shadow_mk_pte(page, vma));
	if (flags & SHADOW_FAULT_WRITE)
		entry = shadow_maybe_mkwrite(pte_mkdirty(entry), vma);

	spin_lock(&mm->page_table_lock);
	if (!pte_none(*pte)) {
		spin_unlock(&mm->page_table_lock);
		shadow_put_page(page);
		return 0;
	}
	/* The reference shadow_shmem_get_page() took is the PTE's. */
	atomic_inc(&shadow_page_meta(page)->mapcount);
	mm->rss_shmem++;
	mm->min_flt++;
	set_pte(pte, entry);
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/* Make the faulting PTE writable in place (wp_page_reuse). */
static void shadow_wp_page_reuse(struct shadow_mm *mm, struct shadow_vma *vma,
				 pte_t *pte, pte_t entry)
	__releases(&mm->page_table_lock)
{
	entry = shadow_maybe_mkwrite(pte_mkdirty(pte_mkyoung(entry)), vma);
	set_pte(pte, entry);
	mm->min_flt++;
	mm->cow_reuses++;
	spin_unlock(&mm->page_table_lock);
}

/*
 * Replace the PTE's page (or the zero page) by a private copy
 * (wp_page_copy). @old carries a reference the caller took for the copy.
 */
static shadow_flow int shadow_wp_page_copy(struct shadow_mm *mm,
					   struct shadow_vma *vma,
					   pte_t *pte, pte_t orig,
					   struct page *old)
{
	struct page *new = NULL;
	pte_t entry;

	if (!shadow_anon_vma_prepare(mm, vma))
		new = shadow_alloc_page(true);
	if (!new) {
		if (old)
			shadow_put_page(old);
		return -ENOMEM;
	}
	if (old)
		copy_highpage(new, old);
	entry = pte_mkyoung(pte_mkdirty(shadow_mk_pte(new, vma)));
	entry = shadow_maybe_mkwrite(entry, vma);

	spin_lock(&mm->page_table_lock);
	if (!pte_same(*pte, orig)) {
		/* The PTE changed under us: the access retries. */
		spin_unlock(&mm->page_table_lock);
		shadow_put_page(new);
		if (old)
			shadow_put_page(old);
		return 0;
	}
	set_pte(pte, entry);
	atomic_set(&shadow_page_meta(new)->mapcount, 1);
	if (old) {
		/* The old PTE's hold on the page goes. */
		atomic_dec(&shadow_page_meta(old)->mapcount);
		shadow_put_page(old);
	} else {
		mm->rss_anon++;
	}
	mm->min_flt++;
	mm->cow_copies++;
	spin_unlock(&mm->page_table_lock);
	if (old)
		shadow_put_page(old);
	return 0;
}

/*
 * A write to a present, write-protected PTE (do_wp_page); called with
 * page_table_lock held, which it drops. Linux 6.1 reuses an anonymous page
 * in place when it is anon-exclusive, or when this mapping holds the only
 * reference (then it becomes exclusive); the mapcount plays no part.
 */
static shadow_flow int shadow_do_wp_page(struct shadow_mm *mm,
					 struct shadow_vma *vma, pte_t *pte,
					 pte_t entry)
	__releases(&mm->page_table_lock)
{
	struct shadow_page *sp;
	struct page *page;

	if (pte_special(entry)) {
		/* The zero page: always a new page. */
		spin_unlock(&mm->page_table_lock);
		return shadow_wp_page_copy(mm, vma, pte, entry, NULL);
	}
	page = pte_page(entry);
	sp = shadow_page_meta(page);

	if (vma->vm_flags & VM_SHARED) {
		/* wp_page_shared(): the object's page is ours to write. */
		shadow_wp_page_reuse(mm, vma, pte, entry);
		return 0;
	}
	if (READ_ONCE(sp->anon_exclusive)) {
		shadow_wp_page_reuse(mm, vma, pte, entry);
		return 0;
	}
	if (atomic_read(&sp->refs) == 1) {
		/* Only our mapping holds it: it is exclusively ours now. */
		WRITE_ONCE(sp->anon_exclusive, true);
		shadow_wp_page_reuse(mm, vma, pte, entry);
		return 0;
	}
	shadow_get_page(page);
	spin_unlock(&mm->page_table_lock);
	return shadow_wp_page_copy(mm, vma, pte, entry, page);
}

/**
 * shadow_handle_mm_fault() - resolve one fault at @addr (handle_mm_fault)
 * @mm: the address space, mmap_lock held for reading
 * @vma: the VMA containing @addr, access already checked
 * @addr: the faulting address
 * @flags: SHADOW_FAULT_WRITE, SHADOW_FAULT_EXEC
 *
 * Return: 0 (the access may be retried), or -ENOMEM.
 */
shadow_flow int shadow_handle_mm_fault(struct shadow_mm *mm,
				       struct shadow_vma *vma,
				       unsigned long addr, unsigned int flags)
{
	pte_t *pte, entry;

	addr &= PAGE_MASK;
	pte = shadow_pte_alloc(mm, addr);
	if (!pte)
		return -ENOMEM;

	entry = READ_ONCE(*pte);
	if (pte_none(entry)) {
		if (vma->vm_shmem)
			return shadow_do_shared_fault(mm, vma, addr, pte, flags);
		return shadow_do_anonymous_page(mm, vma, addr, pte, flags);
	}

	spin_lock(&mm->page_table_lock);
	if (!pte_same(*pte, entry)) {
		spin_unlock(&mm->page_table_lock);
		return 0;
	}
	if (flags & SHADOW_FAULT_WRITE) {
		if (!pte_write(entry))
			return shadow_do_wp_page(mm, vma, pte, entry);
		entry = pte_mkdirty(entry);
	}
	/* What the CPU's page walk does to a present PTE: set A (and D). */
	set_pte(pte, pte_mkyoung(entry));
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/* Would the CPU's access go through this PTE without a fault? */
static bool shadow_pte_allows(pte_t entry, unsigned int flags)
{
	if (!pte_present(entry))
		return false;
	return !(flags & SHADOW_FAULT_WRITE) || pte_write(entry);
}

/**
 * shadow_fault_range() - touch every page of a range as a CPU would
 * @mm: the address space
 * @addr: start of the range
 * @len: its length
 * @flags: SHADOW_FAULT_WRITE, SHADOW_FAULT_EXEC, or 0 for a read
 * @done: set to the number of pages touched
 *
 * Return: 0, -EFAULT at the first page outside any VMA or against its
 * protection (the SIGSEGV of this engine), -ENOMEM, or -EINTR (killed).
 */
int shadow_fault_range(struct shadow_mm *mm, unsigned long addr,
		       unsigned long len, unsigned int flags,
		       unsigned long *done)
{
	unsigned long end = addr + len;
	struct shadow_vma *vma;
	int ret = 0;

	*done = 0;
	/* An empty range touches nothing, wherever it starts. */
	if (!len)
		return 0;
	if (shadow_mmap_read_lock_killable(mm))
		return -EINTR;
	for (addr &= PAGE_MASK; addr < end; addr += PAGE_SIZE) {
		vma = shadow_find_vma(mm, addr);
		if (!vma || vma->vm_start > addr ||
		    shadow_access_error(vma, flags)) {
			ret = -EFAULT;
			break;
		}
		do {
			ret = shadow_handle_mm_fault(mm, vma, addr, flags);
		} while (!ret &&
			 !shadow_pte_allows(READ_ONCE(*shadow_pte_lookup(mm, addr)),
					    flags));
		if (ret)
			break;
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

/* get_user_pages' check_vma_flags(): may this access use @vma? */
static bool shadow_gup_allowed(struct shadow_vma *vma, bool write, bool force)
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

/*
 * The page at @addr for a read or write by get_user_pages (follow_page,
 * faulting until it can be followed). NULL means the zero page.
 */
static struct page *shadow_follow_page(struct shadow_mm *mm,
				       struct shadow_vma *vma,
				       unsigned long addr, bool write,
				       bool force, int *err)
{
	unsigned int flags = write ? SHADOW_FAULT_WRITE : 0;
	struct page *page;
	pte_t *pte, entry;

	for (;;) {
		pte = shadow_pte_lookup(mm, addr);
		if (pte) {
			spin_lock(&mm->page_table_lock);
			entry = *pte;
			if (pte_present(entry) &&
			    (!write ||
			     shadow_can_follow_write_pte(entry, vma, force))) {
				page = pte_special(entry) ? NULL :
							     pte_page(entry);
				if (page)
					shadow_get_page(page);
				/* FOLL_TOUCH: accessed, and dirty when written. */
				entry = pte_mkyoung(entry);
				if (write)
					entry = pte_mkdirty(entry);
				set_pte(pte, entry);
				spin_unlock(&mm->page_table_lock);
				*err = 0;
				return page;
			}
			spin_unlock(&mm->page_table_lock);
		}
		/* Fault it in, then look again: permission is rechecked. */
		*err = shadow_handle_mm_fault(mm, vma, addr, flags);
		if (*err)
			return NULL;
		cond_resched();
	}
}

/**
 * shadow_access_vm() - read or write bytes of an address space
 * @mm: the address space
 * @addr: start address
 * @buf: kernel buffer
 * @len: bytes
 * @write: write @buf into the address space (else read into @buf)
 * @force: FOLL_FORCE: ignore VM_READ/VM_WRITE where VM_MAY* allows, as a
 *         debugger does; a forced write breaks COW and never reaches a
 *         shared or read-only object
 * @done: set to the bytes transferred
 *
 * Stops at the first page it may not access (access_process_vm).
 *
 * Return: 0, -ENOMEM, or -EINTR.
 */
int shadow_access_vm(struct shadow_mm *mm, unsigned long addr, void *buf,
		     unsigned long len, bool write, bool force,
		     unsigned long *done)
{
	struct shadow_vma *vma;
	int err = 0;

	*done = 0;
	if (shadow_mmap_read_lock_killable(mm))
		return -EINTR;
	while (len) {
		unsigned long offset = offset_in_page(addr);
		unsigned long bytes = min(len, PAGE_SIZE - offset);
		struct page *page;
		void *kaddr;

		vma = shadow_find_vma(mm, addr);
		if (!vma || vma->vm_start > addr ||
		    !shadow_gup_allowed(vma, write, force))
			break;
		page = shadow_follow_page(mm, vma, addr & PAGE_MASK, write,
					  force, &err);
		if (err)
			break;
		if (!page) {
			/* The zero page: reads see zeroes. */
			memset(buf, 0, bytes);
		} else {
			kaddr = page_address(page) + offset;
			if (write)
				memcpy(kaddr, buf, bytes);
			else
				memcpy(buf, kaddr, bytes);
			shadow_put_page(page);
		}
		len -= bytes;
		buf += bytes;
		addr += bytes;
		*done += bytes;
	}
	shadow_mmap_read_unlock(mm);
	return err;
}
