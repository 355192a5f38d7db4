// SPDX-License-Identifier: GPL-2.0
/*
 * mprotect() of shadow address spaces, after Linux 6.1's mm/mprotect.c:
 * do_mprotect_pkey -> mprotect_fixup (vma_merge, or split_vma at either
 * end) -> change_protection -> change_{pud,pmd,pte}_range, which rewrite
 * the present PTEs in place.
 *
 * mmap_lock is held for writing throughout; PTEs change under
 * page_table_lock. There is no TLB to flush: the engine's page tables are
 * never loaded into a CPU.
 */
#include <linux/pkeys.h>

#include "internal.h"

/* change_protection()'s cp_flags: MM_CP_TRY_CHANGE_WRITABLE. */
#define SHADOW_CP_TRY_CHANGE_WRITABLE	BIT(0)

/*
 * The bits pte_modify() keeps: x86's _PAGE_CHG_MASK but for the
 * confidential-computing bit, whose mask (cc_mask) modules cannot read;
 * the engine's PTEs never carry it.
 */
#define SHADOW_PAGE_CHG_MASK	(PTE_PFN_MASK | _PAGE_PCD | _PAGE_PWT |    \
				 _PAGE_SPECIAL | _PAGE_ACCESSED |	   \
				 _PAGE_DIRTY_BITS | _PAGE_SOFT_DIRTY |	   \
				 _PAGE_DEVMAP | _PAGE_UFFD_WP | _PAGE_PAT)

/*
 * x86's pte_modify(): the new protection, the same page and A/D bits. A
 * PROT_NONE PTE keeps _PAGE_PROTNONE without _PAGE_PRESENT and an
 * inverted pfn (L1TF), which pte_present() and pte_pfn() understand.
 * Since 6.6 a PTE made read-only moves its dirty bit to _PAGE_SAVED_DIRTY
 * (compat.h); on 6.1 both steps at the end do nothing.
 */
static pte_t shadow_pte_modify(pte_t pte, pgprot_t newprot)
{
	pteval_t val = pte_val(pte), oldval = val;

	val &= SHADOW_PAGE_CHG_MASK;
	val |= check_pgprot(newprot) & ~SHADOW_PAGE_CHG_MASK;
	val = flip_protnone_guard(oldval, val, PTE_PFN_MASK);
	if (oldval & _PAGE_RW)
		return pte_mksaveddirty(__pte(val));
	return pte_clear_saveddirty(__pte(val));
}

/*
 * x86's pmd_modify(): as shadow_pte_modify(), keeping _PAGE_PSE, and the
 * pfn of a PROT_NONE leaf inverted at the PMD level (bits 21 and up).
 */
static pte_t shadow_pmd_modify(unsigned long val, pgprot_t newprot)
{
	const unsigned long mask = SHADOW_PAGE_CHG_MASK | _PAGE_PSE;
	unsigned long oldval = val;

	val &= mask;
	val |= check_pgprot(newprot) & ~mask;
	val = flip_protnone_guard(oldval, val, PHYSICAL_PMD_PAGE_MASK);
	if (oldval & _PAGE_RW)
		return pte_mksaveddirty(__pte(val));
	return pte_clear_saveddirty(__pte(val));
}

/*
 * can_change_pte_writable(): may this PTE of a writable VMA be made
 * writable now rather than by a write fault? Only when the write fault
 * would map it writable without further ado: a dirty PTE, and for private
 * memory an anon-exclusive page. A page shared copy-on-write and the zero
 * page need their fault to copy.
 *
 * Soft-dirty tracking plays no part: every shadow VMA is VM_SOFTDIRTY.
 */
static bool shadow_can_change_pte_writable(struct shadow_vma *vma, pte_t pte)
{
	struct shadow_page *sp;

	if (shadow_warn_on(!(vma->vm_flags & VM_WRITE) || pte_write(pte)))
		return false;

	if (pte_protnone(pte) || !pte_dirty(pte))
		return false;

	if (!(vma->vm_flags & VM_SHARED)) {
		/*
		 * We can only special-case on exclusive anonymous pages,
		 * because we know that our write-fault handler similarly would
		 * map them writable without any additional checks while holding
		 * the PT lock.
		 */
		if (pte_special(pte))
			return false;
		sp = shadow_page_meta(pte_page(pte));
		if (sp->shmem || !READ_ONCE(sp->anon_exclusive))
			return false;
	}
	return true;
}

/* The present PTEs of [addr, end) in one PTE table (change_pte_range). */
static long shadow_change_pte_range(struct shadow_mm *mm,
				    struct shadow_vma *vma, pte_t *pte,
				    unsigned long addr, unsigned long end,
				    pgprot_t newprot, unsigned long cp_flags)
{
	long pages = 0;

	spin_lock(&mm->page_table_lock);
	for (; addr != end; pte++, addr += PAGE_SIZE) {
		pte_t oldpte = *pte, ptent;

		/* No swap or migration entries here: only present PTEs. */
		if (!pte_present(oldpte))
			continue;

		ptent = shadow_pte_modify(oldpte, newprot);
		/*
		 * In all writable, private mappings, we have to properly
		 * handle COW: the new protection write-protects them, and
		 * only the PTEs a write fault would reuse become writable.
		 */
		if ((cp_flags & SHADOW_CP_TRY_CHANGE_WRITABLE) &&
		    !pte_write(ptent) &&
		    shadow_can_change_pte_writable(vma, ptent))
			ptent = shadow_pte_mkwrite(ptent);
		shadow_set_pte(pte, ptent);
		pages++;
	}
	spin_unlock(&mm->page_table_lock);
	return pages;
}

/*
 * change_huge_pmd(): a leaf [addr, addr + 2 MiB) covers whole takes the new
 * protection as it is. The write bit goes (6.1 keeps it for NUMA hinting
 * only); since 6.5 an exclusive leaf of a writable VMA is made writable
 * at once (can_change_pmd_writable()). Returns the pages changed, or -1
 * when the entry is no leaf any more.
 */
static long shadow_change_huge_pmd(struct shadow_mm *mm,
				   struct shadow_vma *vma, unsigned long *pmd,
				   unsigned long addr, pgprot_t newprot,
				   unsigned long cp_flags)
{
	unsigned long val;
	pte_t entry;

	spin_lock(&mm->page_table_lock);
	val = *pmd;
	if (!shadow_pmd_trans_huge(val)) {
		spin_unlock(&mm->page_table_lock);
		return -1;
	}
	entry = shadow_pmd_modify(val, newprot);
	if (SHADOW_RULE_MPROTECT_PMD_WRITABLE &&
	    (cp_flags & SHADOW_CP_TRY_CHANGE_WRITABLE) && !pte_write(entry) &&
	    !shadow_is_huge_zero_pmd(val) && !pte_protnone(entry) &&
	    READ_ONCE(shadow_page_meta(shadow_huge_pmd_page(val, addr))->anon_exclusive))
		entry = shadow_pte_mkwrite(entry);
	WRITE_ONCE(*pmd, pte_val(entry));
	spin_unlock(&mm->page_table_lock);
	return SHADOW_HPAGE_PMD_NR;
}

static long shadow_change_pmd_range(struct shadow_mm *mm,
				    struct shadow_vma *vma, unsigned long pud,
				    unsigned long addr, unsigned long end,
				    pgprot_t newprot, unsigned long cp_flags)
{
	unsigned long *pmd = shadow_pmd_offset(pud, addr), next, val;
	long pages = 0;

	do {
		next = shadow_pmd_addr_end(addr, end);
		/*
		 * The PTEs change: the table must be ours. mprotect_fixup
		 * broke the shares of the range already, where it could
		 * still fail; none is left to break here.
		 */
		val = READ_ONCE(*pmd);
		if (shadow_pmd_trans_huge(val) &&
		    next - addr == SHADOW_PMD_SIZE) {
			long n = shadow_change_huge_pmd(mm, vma, pmd, addr,
							newprot, cp_flags);

			if (n >= 0) {
				pages += n;
				continue;
			}
			val = READ_ONCE(*pmd);
		}
		/* A leaf covered in part is split (shadow_pte_unshare()). */
		if (shadow_pmd_shared(val) || shadow_pmd_trans_huge(val)) {
			shadow_pte_unshare(mm, addr, SHADOW_GFP_NOFAIL);
			val = READ_ONCE(*pmd);
		}
		if (val)
			pages += shadow_change_pte_range(mm, vma,
							 shadow_pte_offset(val, addr),
							 addr, next, newprot,
							 cp_flags);
		cond_resched();
	} while (pmd++, addr = next, addr != end);
	return pages;
}

static long shadow_change_pud_range(struct shadow_mm *mm,
				    struct shadow_vma *vma, unsigned long pgd,
				    unsigned long addr, unsigned long end,
				    pgprot_t newprot, unsigned long cp_flags)
{
	unsigned long *pud = shadow_pud_offset(pgd, addr), next, val;
	long pages = 0;

	do {
		next = shadow_addr_end(addr, end, SHADOW_PUD_SIZE);
		val = READ_ONCE(*pud);
		if (val)
			pages += shadow_change_pmd_range(mm, vma, val, addr,
							 next, newprot,
							 cp_flags);
	} while (pud++, addr = next, addr != end);
	return pages;
}

/* change_protection_range(): the PGD level; the P4D level is folded. */
static long shadow_change_protection_range(struct shadow_mm *mm,
					   struct shadow_vma *vma,
					   unsigned long addr,
					   unsigned long end,
					   pgprot_t newprot,
					   unsigned long cp_flags)
{
	unsigned long *pgd = shadow_pgd_offset(mm, addr), next, val;
	long pages = 0;

	shadow_warn_on(addr >= end);
	do {
		next = shadow_addr_end(addr, end, SHADOW_PGDIR_SIZE);
		val = READ_ONCE(*pgd);
		if (val)
			pages += shadow_change_pud_range(mm, vma, val, addr,
							 next, newprot,
							 cp_flags);
	} while (pgd++, addr = next, addr != end);
	return pages;
}

/*
 * Give the present PTEs of [start, end) of @vma the protection @newprot
 * (change_protection); returns how many changed.
 */
static shadow_flow long shadow_change_protection(struct shadow_mm *mm,
						 struct shadow_vma *vma,
						 unsigned long start,
						 unsigned long end,
						 pgprot_t newprot,
						 unsigned long cp_flags)
{
	shadow_mmap_assert_write_locked(mm);
	return shadow_change_protection_range(mm, vma, start, end, newprot,
					      cp_flags);
}

/*
 * Give [start, end) of @vma the flags @newflags: merge with a neighbour
 * when vma_merge can, else split off what keeps the old flags, then
 * rewrite the PTEs and the counters (mprotect_fixup). *@pprev becomes
 * the VMA now covering the range. A failed split leaves the ones made
 * before it, as in Linux.
 */
static shadow_flow int shadow_mprotect_fixup(struct shadow_mm *mm,
					     struct shadow_vma *vma,
					     struct shadow_vma **pprev,
					     unsigned long start,
					     unsigned long end,
					     unsigned long newflags)
{
	unsigned long oldflags = vma->vm_flags;
	long nrpages = (end - start) >> PAGE_SHIFT;
	bool try_change_writable;
	unsigned long pgoff;
	int error;

	if (newflags == oldflags) {
		*pprev = vma;
		return 0;
	}

	/*
	 * If we make a private mapping writable we increase our commit;
	 * but (without finer accounting) cannot reduce our commit if we
	 * make it unwritable again except in the anonymous case where no
	 * anon_vma has yet to be assigned (SHADOW_RULE_MPROTECT_UNACCOUNT,
	 * 6.2). The engine makes no overcommit check
	 * (security_vm_enough_memory_mm): it only marks the VMA accounted.
	 */
	if (newflags & VM_WRITE) {
		/* Check space limits when area turns into data. */
		if (!shadow_may_expand_vm(mm, newflags, nrpages) &&
		    shadow_may_expand_vm(mm, oldflags, nrpages))
			return -ENOMEM;
		if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_SHARED |
				  VM_NORESERVE)))
			newflags |= VM_ACCOUNT;
	} else if (SHADOW_RULE_MPROTECT_UNACCOUNT &&
		   (oldflags & VM_ACCOUNT) && !vma->vm_mapping &&
		   !vma->anon_vma) {
		newflags &= ~VM_ACCOUNT;
	}

	/*
	 * The PTEs of the range will change: break the shares of on-demand
	 * fork first, while failing changes nothing (the VMAs are as they
	 * were, and a table of our own maps what the shared one did).
	 */
	error = shadow_pte_unshare_range(mm, start, end, SHADOW_GFP);
	if (error)
		return error;

	/* First try to merge with previous and/or next vma. */
	pgoff = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT);
	*pprev = shadow_vma_merge(mm, *pprev, start, end, newflags,
				  vma->anon_vma, vma->vm_mapping, pgoff);
	if (*pprev) {
		vma = *pprev;
		shadow_warn_on((vma->vm_flags ^ newflags) & ~VM_SOFTDIRTY);
		goto success;
	}

	*pprev = vma;

	if (start != vma->vm_start) {
		error = shadow_split_vma(mm, vma, start, 1);
		if (error)
			return error;
	}

	if (end != vma->vm_end) {
		error = shadow_split_vma(mm, vma, end, 0);
		if (error)
			return error;
	}

success:
	vma->vm_flags = newflags;
	/*
	 * A private writable mapping handles COW, so its PTEs are checked
	 * one by one. A shared anonymous mapping never wants write
	 * notification (vma_wants_writenotify() is false for shmem): its
	 * PTEs take the VMA's protection as it is.
	 */
	try_change_writable = (vma->vm_flags & (VM_WRITE | VM_SHARED)) ==
			      VM_WRITE;
	vma->vm_page_prot = shadow_vm_get_page_prot(vma->vm_flags);

	shadow_change_protection(mm, vma, start, end,
				 __pgprot(vma->vm_page_prot),
				 try_change_writable ?
				 SHADOW_CP_TRY_CHANGE_WRITABLE : 0);

	/*
	 * Private VM_LOCKED VMA becoming writable: trigger COW to avoid major
	 * fault on access.
	 */
	if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED &&
	    (newflags & VM_WRITE))
		shadow_populate_vma_page_range(mm, vma, start, end);

	shadow_vm_stat_account(mm, oldflags, -nrpages);
	shadow_vm_stat_account(mm, newflags, nrpages);
	return 0;
}

/**
 * shadow_do_mprotect_pkey() - mprotect(2) of a shadow address space
 * @mm: the address space
 * @start: page-aligned start
 * @len: length, rounded up to pages
 * @prot: PROT_* with PROT_GROWSDOWN or PROT_GROWSUP
 * @pkey: -1: the engine allocates no protection keys
 *
 * do_mprotect_pkey(): each VMA of the range in turn, stopping at the
 * first error; what was changed before it stays changed.
 *
 * Return: 0; -EINVAL (unaligned start, unknown prot bits, both GROWS
 * flags, PROT_GROWSDOWN on a VMA that does not grow down, any pkey);
 * -ENOMEM (a hole in the range, the map count, RLIMIT_DATA, a split that
 * could not be made); -EACCES (beyond the VM_MAY* flags); -EINTR.
 */
shadow_flow int shadow_do_mprotect_pkey(struct shadow_mm *mm,
					unsigned long start, size_t len,
					unsigned long prot, int pkey)
{
	unsigned long nstart, end, tmp, reqprot;
	struct shadow_vma *vma, *prev;
	int error;
	const int grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
	const bool rier = shadow_read_implies_exec() && (prot & PROT_READ);

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
	if (grows == (PROT_GROWSDOWN | PROT_GROWSUP)) /* can't be both */
		return -EINVAL;

	if (start & ~PAGE_MASK)
		return -EINVAL;
	if (!len)
		return 0;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	if (!arch_validate_prot(prot, start))
		return -EINVAL;

	reqprot = prot;

	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;

	/* No protection key is ever allocated in a shadow address space. */
	error = -EINVAL;
	if (pkey != -1)
		goto out;

	/* One walk finds the VMA and, from there, the one before it. */
	mas_set(&mas, start);
	vma = mas_find(&mas, ULONG_MAX);
	error = -ENOMEM;
	if (!vma)
		goto out;

	if (unlikely(grows & PROT_GROWSDOWN)) {
		if (vma->vm_start >= end)
			goto out;
		start = vma->vm_start;
		error = -EINVAL;
		if (!(vma->vm_flags & VM_GROWSDOWN))
			goto out;
	} else {
		if (vma->vm_start > start)
			goto out;
		if (unlikely(grows & PROT_GROWSUP)) {
			end = vma->vm_end;
			error = -EINVAL;
			if (!(vma->vm_flags & VM_GROWSUP))
				goto out;
		}
	}

	if (start > vma->vm_start)
		prev = vma;
	else
		prev = mas_prev(&mas, 0);

	for (nstart = start ; ; ) {
		unsigned long mask_off_old_flags;
		unsigned long newflags;

		/* Here we know that vma->vm_start <= nstart < vma->vm_end. */

		/* Does the application expect PROT_READ to imply PROT_EXEC */
		if (rier && (vma->vm_flags & VM_MAYEXEC))
			prot |= PROT_EXEC;

		/*
		 * Each mprotect() call explicitly passes r/w/x permissions.
		 * If a permission is not passed to mprotect(), it must be
		 * cleared from the VMA.
		 */
		mask_off_old_flags = VM_READ | VM_WRITE | VM_EXEC |
				     VM_FLAGS_CLEAR;

		newflags = calc_vm_prot_bits(prot, 0);
		newflags |= (vma->vm_flags & ~mask_off_old_flags);

		/* newflags >> 4 shift VM_MAY% in place of VM_% */
		if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
			error = -EACCES;
			break;
		}

		tmp = vma->vm_end;
		if (tmp > end)
			tmp = end;

		error = shadow_mprotect_fixup(mm, vma, &prev, nstart, tmp,
					      newflags);
		if (error)
			break;

		nstart = tmp;

		if (nstart < prev->vm_end)
			nstart = prev->vm_end;
		if (nstart >= end)
			break;

		vma = shadow_find_vma(mm, prev->vm_end);
		if (!vma || vma->vm_start != nstart) {
			error = -ENOMEM;
			break;
		}
		prot = reqprot;
		cond_resched();
	}
out:
	shadow_mmap_write_unlock(mm);
	return error;
}
