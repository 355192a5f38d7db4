// SPDX-License-Identifier: GPL-2.0
/*
 * Transparent huge pages of shadow address spaces: PMD leaves mapping a
 * 2 MiB folio of private anonymous memory, or the huge zero page, after
 * mm/huge_memory.c of Linux 6.1 (do_huge_pmd_anonymous_page(),
 * do_huge_pmd_wp_page(), copy_huge_pmd(), zap_huge_pmd() and
 * __split_huge_pmd()).
 *
 * A leaf is the native x86-64 entry: the folio's pfn with _PAGE_PSE and
 * the VMA's protection bits. Like the kernel, every leaf comes with a
 * deposited PTE table (pgtable_trans_huge_deposit(), one list per address
 * space under its page_table_lock, as without split PMD locks), counted
 * in nr_ptes: a split never allocates and never fails. Walkers that write
 * PTEs split a leaf on their way (shadow_pte_unshare()); the fault, fork,
 * zap and the views handle leaves whole. A folio is split into 4 KiB
 * pages (split_huge_page()) by reclaim before swap-out, by MADV_FREE,
 * MADV_COLD or MADV_PAGEOUT of part of it, and from the deferred split
 * queue of folios a zap left partly mapped.
 *
 * The policy is per address space: the mode of
 * /sys/kernel/mm/transparent_hugepage/enabled (always, madvise, never), its
 * use_zero_page, and PR_SET_THP_DISABLE (MMF_DISABLE_THP). A new space
 * takes the module parameter thp; auto (the default) reads the running
 * kernel's sysfs files once per SHADOW_MM_CREATE, as transparent_hugepage_
 * flags is not exported; a kernel without THP has no such files and gets
 * never. A fork child takes its parent's (MMF_INIT_MASK keeps
 * MMF_DISABLE_THP). SHADOW_MM_SET_THP changes it, under mmap_lock held for
 * writing; readers hold mmap_lock.
 *
 * The engine does not depend on CONFIG_TRANSPARENT_HUGEPAGE and uses none
 * of the kernel's THP state: a kernel without it runs the same code once
 * SHADOW_MM_SET_THP asks for it. The huge zero page is the engine's own
 * (the kernel's is not exported), freed when the last address space that
 * mapped it goes.
 *
 * Locks: a leaf is read and written under its mm's page_table_lock, with
 * mmap_lock held; the deferred split queue's lock nests inside it (mm.c's
 * lock tree); the huge zero page's refcount is an atomic.
 */
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/string.h>

#include "internal.h"
#include "trace.h"

/* The values of the module parameter thp; auto is the running kernel's. */
enum shadow_thp_param {
	SHADOW_THP_PARAM_NEVER = SHADOW_THP_NEVER,
	SHADOW_THP_PARAM_MADVISE = SHADOW_THP_MADVISE,
	SHADOW_THP_PARAM_ALWAYS = SHADOW_THP_ALWAYS,
	SHADOW_THP_PARAM_AUTO,
};

/* Indexed by enum shadow_thp_param; sysfs's words for the modes. */
static const char * const shadow_thp_names[] = {
	[SHADOW_THP_PARAM_NEVER] = "never",
	[SHADOW_THP_PARAM_MADVISE] = "madvise",
	[SHADOW_THP_PARAM_ALWAYS] = "always",
	[SHADOW_THP_PARAM_AUTO] = "auto",
};

static int shadow_thp_param = SHADOW_THP_PARAM_AUTO;

static int shadow_thp_param_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(shadow_thp_names, val);

	if (i < 0)
		return i;
	WRITE_ONCE(shadow_thp_param, i);
	return 0;
}

static int shadow_thp_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n",
			  shadow_thp_names[READ_ONCE(shadow_thp_param)]);
}

static const struct kernel_param_ops shadow_thp_param_ops = {
	.set = shadow_thp_param_set,
	.get = shadow_thp_param_get,
};

/*
 * A module parameter of the policy rather than main.c's: its values are
 * this file's.
 */
module_param_cb(thp, &shadow_thp_param_ops, NULL, 0644);
__MODULE_PARM_TYPE(thp, "string");
MODULE_PARM_DESC(thp,
		 "Transparent huge page mode of new address spaces: auto (the running kernel's transparent_hugepage/enabled, the default), always, madvise or never");

#define SHADOW_THP_SYSFS	"/sys/kernel/mm/transparent_hugepage/"

/* The start of a sysfs file of the running kernel's THP; -ENOENT without. */
static int shadow_thp_read_sysfs(const char *name, char *buf, size_t size)
{
	struct file *file;
	loff_t pos = 0;
	ssize_t len;

	file = filp_open(name, O_RDONLY, 0);
	if (IS_ERR(file))
		return PTR_ERR(file);
	len = kernel_read(file, buf, size - 1, &pos);
	filp_close(file, NULL);
	if (len < 0)
		return len;
	buf[len] = '\0';
	return 0;
}

/*
 * The running kernel's mode: the bracketed word of enabled
 * ("always [madvise] never"); never when it cannot be read.
 */
static u8 shadow_thp_sysfs_mode(void)
{
	char buf[64], *start, *end;
	int i;

	if (shadow_thp_read_sysfs(SHADOW_THP_SYSFS "enabled", buf, sizeof(buf)))
		return SHADOW_THP_NEVER;
	start = strchr(buf, '[');
	end = start ? strchr(start, ']') : NULL;
	if (!end)
		return SHADOW_THP_NEVER;
	*end = '\0';
	for (i = SHADOW_THP_NEVER; i <= SHADOW_THP_ALWAYS; i++)
		if (!strcmp(start + 1, shadow_thp_names[i]))
			return i;
	return SHADOW_THP_NEVER;
}

/* use_zero_page of the running kernel; Linux's default (1) without it. */
static bool shadow_thp_sysfs_use_zero_page(void)
{
	char buf[16];

	if (shadow_thp_read_sysfs(SHADOW_THP_SYSFS "use_zero_page", buf,
				  sizeof(buf)))
		return true;
	return buf[0] != '0';
}

/**
 * shadow_thp_mm_init() - the policy of a new address space (SHADOW_MM_CREATE)
 * @mm: the address space, not yet published
 *
 * The module parameter thp's mode, or with auto the running kernel's;
 * use_zero_page is the running kernel's; no PR_SET_THP_DISABLE.
 */
void shadow_thp_mm_init(struct shadow_mm *mm)
{
	int param = READ_ONCE(shadow_thp_param);

	mm->thp_mode = param == SHADOW_THP_PARAM_AUTO ?
		       shadow_thp_sysfs_mode() : param;
	mm->thp_use_zero_page = shadow_thp_sysfs_use_zero_page();
	mm->thp_disable = false;
}

/**
 * shadow_thp_mm_copy() - a fork child's policy: its parent's (dup_mm)
 * @mm: the child, not yet published
 * @oldmm: the parent, pinned; its policy may change under the copy, which
 *         then takes either value of each field, as a prctl racing with
 *         fork in Linux
 */
void shadow_thp_mm_copy(struct shadow_mm *mm, struct shadow_mm *oldmm)
{
	mm->thp_mode = READ_ONCE(oldmm->thp_mode);
	mm->thp_disable = READ_ONCE(oldmm->thp_disable);
	mm->thp_use_zero_page = READ_ONCE(oldmm->thp_use_zero_page);
}

/**
 * shadow_thp_flags() - the policy as struct shadow_mm_stats.out_thp_flags
 * @mm: the address space, mmap_lock held
 *
 * Return: the mode in the low byte, SHADOW_THP_FLAG_DISABLE and
 * SHADOW_THP_FLAG_USE_ZERO_PAGE.
 */
u64 shadow_thp_flags(struct shadow_mm *mm)
{
	return mm->thp_mode |
	       (mm->thp_disable ? SHADOW_THP_FLAG_DISABLE : 0) |
	       (mm->thp_use_zero_page ? SHADOW_THP_FLAG_USE_ZERO_PAGE : 0);
}

/* vma_is_anonymous(): no vm_ops in Linux, neither file nor special. */
static bool shadow_vma_is_anonymous(struct shadow_vma *vma)
{
	return !vma->vm_mapping && !vma->vm_special;
}

/**
 * shadow_transhuge_vma_suitable() - may a PMD leaf map @addr in @vma?
 * @vma: the VMA
 * @addr: an address in it
 *
 * transhuge_vma_suitable(): the 2 MiB-aligned range around @addr lies in
 * @vma, and for a file VMA the file offset is 2 MiB-aligned there too.
 *
 * Return: true when it is suitable.
 */
bool shadow_transhuge_vma_suitable(struct shadow_vma *vma, unsigned long addr)
{
	unsigned long haddr;

	/* Don't have to check pgoff for anonymous vma */
	if (!shadow_vma_is_anonymous(vma) &&
	    !IS_ALIGNED((vma->vm_start >> PAGE_SHIFT) - vma->vm_pgoff,
			SHADOW_PMD_SIZE >> PAGE_SHIFT))
		return false;

	haddr = addr & ~(SHADOW_PMD_SIZE - 1);
	return haddr >= vma->vm_start && haddr + SHADOW_PMD_SIZE <= vma->vm_end;
}

/**
 * shadow_hugepage_vma_check() - may @vma have transparent huge pages?
 * @vma: the VMA
 * @vm_flags: its flags, or the ones it is about to get
 * @smaps: for smaps' THPeligible: a VMA without anon_vma yet is eligible
 * @in_pf: for a page fault: no size check (the fault handler checks the
 *         2 MiB around the address), and no anon_vma needed yet
 *
 * hugepage_vma_check() of 6.1 with enforce_sysfs, the space's policy
 * standing for sysfs and MMF_DISABLE_THP. What the engine has no part of
 * gives false: DAX, file THP (CONFIG_READ_ONLY_THP_FOR_FS, off in Debian's
 * kernels) and shmem THP (transparent_hugepage/shmem_enabled and tmpfs's
 * huge=, never by default), so every file and shared anonymous VMA.
 * 6.12's thp_vma_allowable_orders() gives the same answers for the PMD
 * order while the other sizes are never (6.12's default): its VM_SPECIAL
 * check skipped for smaps only reaches special mappings, which are not
 * anonymous and are refused by the file branch instead.
 *
 * Return: true when huge pages are allowed.
 */
bool shadow_hugepage_vma_check(struct shadow_vma *vma, unsigned long vm_flags,
			       bool smaps, bool in_pf)
{
	struct shadow_mm *mm = vma->vm_mm;

	/* Explicitly disabled through madvise or prctl. */
	if ((vm_flags & VM_NOHUGEPAGE) || mm->thp_disable)
		return false;

	/* Special VMA and hugetlb VMA (VM_NO_KHUGEPAGED). */
	if ((vm_flags & (VM_SPECIAL | VM_HUGETLB)) || vma->vm_special)
		return false;

	/*
	 * Check alignment for file vma and size for both file and anon vma.
	 * Skip the check for page fault: the fault handler checks it.
	 */
	if (!in_pf &&
	    !shadow_transhuge_vma_suitable(vma, vma->vm_end - SHADOW_PMD_SIZE))
		return false;

	/* Enforce sysfs THP requirements: the space's mode. */
	if (mm->thp_mode == SHADOW_THP_NEVER ||
	    (mm->thp_mode == SHADOW_THP_MADVISE && !(vm_flags & VM_HUGEPAGE)))
		return false;

	if (!shadow_vma_is_anonymous(vma))
		return false;

	/*
	 * THPeligible bit of smaps should show 1 for proper VMAs even
	 * though anon_vma is not initialized yet; a page fault makes one.
	 */
	if (!vma->anon_vma)
		return smaps || in_pf;

	return true;
}

static struct page *shadow_huge_zero_page;
static atomic_t shadow_huge_zero_refcount;

/* get_huge_zero_page(): the engine's huge zero page, with a reference. */
static struct page *shadow_get_huge_zero_page(void)
{
	struct page *zero;

	for (;;) {
		if (atomic_inc_not_zero(&shadow_huge_zero_refcount))
			return READ_ONCE(shadow_huge_zero_page);
		zero = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NORETRY |
				   __GFP_NOWARN, SHADOW_HPAGE_PMD_ORDER);
		if (!zero) {
			atomic_long_inc(&shadow_counters.thp_zero_page_alloc_failed);
			return NULL;
		}
		if (!cmpxchg(&shadow_huge_zero_page, NULL, zero)) {
			atomic_long_add(SHADOW_HPAGE_PMD_NR,
					&shadow_counters.pages);
			atomic_long_inc(&shadow_counters.thp_zero_page_alloc);
			atomic_set_release(&shadow_huge_zero_refcount, 1);
			return zero;
		}
		/* Another one won, or the last one is on its way out. */
		__free_pages(zero, SHADOW_HPAGE_PMD_ORDER);
		cpu_relax();
	}
}

static void shadow_put_huge_zero_page(void)
{
	struct page *zero = READ_ONCE(shadow_huge_zero_page);

	if (!atomic_dec_and_test(&shadow_huge_zero_refcount))
		return;
	WRITE_ONCE(shadow_huge_zero_page, NULL);
	atomic_long_sub(SHADOW_HPAGE_PMD_NR, &shadow_counters.pages);
	__free_pages(zero, SHADOW_HPAGE_PMD_ORDER);
}

/*
 * mm_get_huge_zero_page(): an address space holds one reference from its
 * first use of the huge zero page until it exits (MMF_HUGE_ZERO_PAGE).
 */
static struct page *shadow_mm_get_huge_zero_page(struct shadow_mm *mm)
{
	if (test_bit(SHADOW_MMF_HUGE_ZERO_PAGE, &mm->flags))
		return READ_ONCE(shadow_huge_zero_page);
	if (!shadow_get_huge_zero_page())
		return NULL;
	if (test_and_set_bit(SHADOW_MMF_HUGE_ZERO_PAGE, &mm->flags))
		shadow_put_huge_zero_page();
	return READ_ONCE(shadow_huge_zero_page);
}

/**
 * shadow_mm_put_huge_zero_page() - a dying address space lets go of the
 * huge zero page (mm_put_huge_zero_page)
 * @mm: the address space, no leaf left
 */
void shadow_mm_put_huge_zero_page(struct shadow_mm *mm)
{
	if (test_bit(SHADOW_MMF_HUGE_ZERO_PAGE, &mm->flags))
		shadow_put_huge_zero_page();
}

/**
 * shadow_is_huge_zero_pmd() - does leaf @pmd map the huge zero page?
 * @pmd: a PMD leaf
 *
 * Return: true for the huge zero page (is_huge_zero_pmd()).
 */
bool shadow_is_huge_zero_pmd(unsigned long pmd)
{
	struct page *zero = READ_ONCE(shadow_huge_zero_page);

	return zero && pmd_pfn(__pmd(pmd)) == page_to_pfn(zero);
}

/**
 * shadow_huge_pmd_page() - the page leaf @pmd maps at @addr
 * @pmd: a PMD leaf
 * @addr: an address of its 2 MiB
 *
 * Return: the subpage (of the folio or of the huge zero page).
 */
struct page *shadow_huge_pmd_page(unsigned long pmd, unsigned long addr)
{
	return pfn_to_page(pmd_pfn(__pmd(pmd)) +
			   shadow_index(addr, PAGE_SHIFT));
}

/**
 * shadow_huge_pmd_subpage_pte() - the PTE a split of leaf @pmd would give
 * the page at @addr
 * @pmd: a PMD leaf
 * @addr: an address of its 2 MiB
 *
 * Return: the PTE: the subpage's pfn with the leaf's bits but _PAGE_PSE.
 * The huge zero page's are special (the zero page's are).
 */
pte_t shadow_huge_pmd_subpage_pte(unsigned long pmd, unsigned long addr)
{
	/*
	 * The flags but PSE and the pfn bits below 2 MiB (a PROT_NONE leaf
	 * has them inverted, L1TF): pfn_pte() inverts the pfn anew.
	 */
	unsigned long flags = pmd_flags(__pmd(pmd)) &
			      ~(_PAGE_PSE | (PTE_PFN_MASK & ~PHYSICAL_PMD_PAGE_MASK));
	pte_t pte = pfn_pte(pmd_pfn(__pmd(pmd)) + shadow_index(addr, PAGE_SHIFT),
			    __pgprot(flags));

	return shadow_is_huge_zero_pmd(pmd) ? pte_mkspecial(pte) : pte;
}

/* pgtable_trans_huge_deposit(): keep @table for the split of a leaf. */
static void shadow_pgtable_trans_huge_deposit(struct shadow_mm *mm,
					      void *table)
{
	shadow_pt_assert_locked(mm);
	list_add(&virt_to_page(table)->lru, &mm->pmd_huge_pte);
}

/* pgtable_trans_huge_withdraw(): a table deposited with some leaf. */
static void *shadow_pgtable_trans_huge_withdraw(struct shadow_mm *mm)
{
	struct page *page;

	shadow_pt_assert_locked(mm);
	shadow_warn_on(list_empty(&mm->pmd_huge_pte));
	page = list_first_entry(&mm->pmd_huge_pte, struct page, lru);
	list_del(&page->lru);
	INIT_LIST_HEAD(&page->lru);
	return page_address(page);
}

/*
 * A leaf for @page with @vma's protection (mk_huge_pmd()): writable only
 * with VM_WRITE (maybe_pmd_mkwrite()).
 */
static unsigned long shadow_mk_huge_pmd(struct page *page,
					struct shadow_vma *vma, bool anon)
{
	pte_t pte = mk_pte(page, __pgprot(vma->vm_page_prot));

	/* maybe_pmd_mkwrite(pmd_mkdirty()): a new THP is dirty. */
	if (anon) {
		pte = pte_mkdirty(pte);
		if (vma->vm_flags & VM_WRITE)
			pte = shadow_pte_mkwrite(pte);
	}
	return pte_val(pte_mkyoung(pte)) | _PAGE_PSE;
}

/*
 * Is there room for 512 more pages under max_pages_per_mm? The engine's
 * stand-in for the memcg charge of the folio (mem_cgroup_charge()).
 */
static bool shadow_huge_charge_ok(struct shadow_mm *mm)
{
	unsigned long limit = READ_ONCE(shadow_max_pages_per_mm);

	shadow_pt_assert_locked(mm);
	return !limit ||
	       mm->rss_anon + mm->rss_shmem + SHADOW_HPAGE_PMD_NR <= limit;
}

static void shadow_thp_fallback(struct shadow_mm *mm, unsigned long addr,
				unsigned int flags, bool charge)
{
	spin_lock(&mm->page_table_lock);
	mm->thp_fault_fallback++;
	spin_unlock(&mm->page_table_lock);
	/* A charge failure counts in both (count_vm_event() twice). */
	atomic_long_inc(&shadow_counters.thp_fault_fallback);
	if (charge)
		atomic_long_inc(&shadow_counters.thp_fault_fallback_charge);
	trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_HUGE_FALLBACK);
}

/* set_huge_zero_page(): a read fault maps the huge zero page. */
static shadow_flow int shadow_set_huge_zero_page(struct shadow_mm *mm,
						 struct shadow_vma *vma,
						 unsigned long haddr,
						 unsigned long *pmd,
						 unsigned int flags)
{
	struct page *zero;
	void *table;

	table = shadow_pte_alloc_one();
	if (!table)
		return -ENOMEM;
	zero = shadow_mm_get_huge_zero_page(mm);
	if (!zero) {
		shadow_pte_free(table);
		shadow_thp_fallback(mm, haddr, flags, false);
		return SHADOW_VM_FAULT_FALLBACK;
	}
	spin_lock(&mm->page_table_lock);
	if (*pmd) {
		spin_unlock(&mm->page_table_lock);
		shadow_pte_free(table);
		return 0;
	}
	shadow_pgtable_trans_huge_deposit(mm, table);
	WRITE_ONCE(*pmd, shadow_mk_huge_pmd(zero, vma, false));
	mm->nr_ptes++;
	mm->min_flt++;
	trace_shadow_mm_fault(mm, haddr, flags, SHADOW_FK_HUGE_ZERO);
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/**
 * shadow_do_huge_pmd_anonymous_page() - a fault in a none PMD of a VMA
 * that may have THPs (do_huge_pmd_anonymous_page)
 * @mm: the address space, mmap_lock held
 * @vma: the private anonymous VMA
 * @addr: the faulting address
 * @pmd: its PMD entry, none when read
 * @flags: SHADOW_FAULT_*
 *
 * A read maps the huge zero page when the space uses it; a write a new
 * zeroed folio. Where the VMA does not cover the aligned 2 MiB, or the
 * folio or its charge cannot be had, the fault falls back to 4 KiB pages
 * (thp_fault_fallback, as VM_FAULT_FALLBACK).
 *
 * Return: 0, -ENOMEM, or SHADOW_VM_FAULT_FALLBACK.
 */
shadow_flow int shadow_do_huge_pmd_anonymous_page(struct shadow_mm *mm,
						  struct shadow_vma *vma,
						  unsigned long addr,
						  unsigned long *pmd,
						  unsigned int flags)
{
	unsigned long haddr = addr & ~(SHADOW_PMD_SIZE - 1);
	struct shadow_folio *folio;
	void *table;

	if (!shadow_transhuge_vma_suitable(vma, haddr))
		return SHADOW_VM_FAULT_FALLBACK;
	if (shadow_anon_vma_prepare(mm, vma))
		return -ENOMEM;
	if (!(flags & SHADOW_FAULT_WRITE) && mm->thp_use_zero_page)
		return shadow_set_huge_zero_page(mm, vma, haddr, pmd, flags);

	folio = shadow_alloc_folio();
	if (!folio) {
		shadow_thp_fallback(mm, haddr, flags, false);
		return SHADOW_VM_FAULT_FALLBACK;
	}
	table = shadow_pte_alloc_one();
	if (!table) {
		shadow_put_folio(folio);
		return -ENOMEM;
	}
	shadow_folio_add_new_anon_rmap(folio, vma, haddr);

	spin_lock(&mm->page_table_lock);
	if (*pmd || !shadow_huge_charge_ok(mm)) {
		bool raced = *pmd;

		spin_unlock(&mm->page_table_lock);
		shadow_pte_free(table);
		shadow_put_folio(folio);
		if (raced)
			return 0;
		shadow_thp_fallback(mm, haddr, flags, true);
		return SHADOW_VM_FAULT_FALLBACK;
	}
	atomic_set(&folio->entire_mapcount, 1);
	shadow_pgtable_trans_huge_deposit(mm, table);
	WRITE_ONCE(*pmd, shadow_mk_huge_pmd(folio->head, vma, true));
	mm->rss_anon += SHADOW_HPAGE_PMD_NR;
	mm->anon_thps++;
	mm->nr_ptes++;
	mm->min_flt++;
	mm->thp_fault_alloc++;
	atomic_long_inc(&shadow_counters.thp_fault_alloc);
	trace_shadow_mm_fault(mm, haddr, flags, SHADOW_FK_HUGE_ANON);
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/**
 * shadow_huge_pmd_fault() - a fault on a present PMD leaf
 * (do_huge_pmd_wp_page() for a write to a write-protected one, else
 * huge_pmd_set_accessed())
 * @mm: the address space, mmap_lock held
 * @vma: the VMA
 * @addr: the faulting address
 * @pmd: the leaf's slot
 * @flags: SHADOW_FAULT_*
 *
 * A write to the huge zero page, or to a THP that others map too, splits
 * the leaf and falls back: the PTE fault then copies one 4 KiB page (6.1
 * allocates no THP on a write fault of a present leaf). A THP only this
 * leaf holds is reused in place.
 *
 * Return: 0, or SHADOW_VM_FAULT_FALLBACK after a split.
 */
shadow_flow int shadow_huge_pmd_fault(struct shadow_mm *mm,
				      struct shadow_vma *vma,
				      unsigned long addr, unsigned long *pmd,
				      unsigned int flags)
{
	unsigned long haddr = addr & ~(SHADOW_PMD_SIZE - 1), val;
	struct shadow_folio *folio;
	int kind = SHADOW_FK_ACCESS;

	spin_lock(&mm->page_table_lock);
	val = *pmd;
	if (!shadow_pmd_trans_huge(val)) {
		/* Split or zapped meanwhile: the PTE path takes it. */
		spin_unlock(&mm->page_table_lock);
		return SHADOW_VM_FAULT_FALLBACK;
	}
	if ((flags & SHADOW_FAULT_WRITE) && !(val & _PAGE_RW)) {
		if (shadow_is_huge_zero_pmd(val))
			goto split;
		folio = shadow_page_meta(shadow_huge_pmd_page(val, haddr))->folio;
		if (!READ_ONCE(folio->pages[0].anon_exclusive)) {
			if (atomic_read(&folio->refs) != 1)
				goto split;
			/* Only this leaf holds it: ours (page_move_anon_rmap). */
			shadow_folio_move_anon_rmap(folio, vma);
		}
		/* maybe_pmd_mkwrite(): not for a FOLL_FORCE write. */
		if (vma->vm_flags & VM_WRITE)
			val = pte_val(shadow_pte_mkwrite(__pte(val)));
		mm->cow_reuses++;
		kind = SHADOW_FK_HUGE_REUSE;
	}
	/* touch_pmd(): accessed, and dirty on a write. */
	val = pte_val(pte_mkyoung(__pte(val)));
	if (flags & SHADOW_FAULT_WRITE)
		val = pte_val(pte_mkdirty(__pte(val)));
	WRITE_ONCE(*pmd, val);
	if (kind == SHADOW_FK_HUGE_REUSE)
		mm->min_flt++;
	trace_shadow_mm_fault(mm, addr, flags, kind);
	spin_unlock(&mm->page_table_lock);
	return 0;
split:
	__shadow_split_huge_pmd_locked(mm, pmd, haddr);
	spin_unlock(&mm->page_table_lock);
	return SHADOW_VM_FAULT_FALLBACK;
}

/**
 * __shadow_split_huge_pmd_locked() - replace a leaf by its deposited PTE
 * table (__split_huge_pmd_locked)
 * @mm: the address space, page_table_lock held
 * @pmd: the leaf's slot
 * @haddr: the 2 MiB-aligned address it maps
 *
 * Each PTE maps its page with the leaf's bits: writable, young or
 * write-protected as the leaf was; the leaf's dirty bit goes to the pages
 * (SetPageDirty), not to the PTEs. Each page gains a mapping and a folio
 * reference and takes the head's anon-exclusive bit; the folio loses the
 * leaf's entire mapping. The huge zero page becomes 512 zero-page PTEs.
 * rss and nr_ptes stay: the table was counted with the leaf.
 */
void __shadow_split_huge_pmd_locked(struct shadow_mm *mm, unsigned long *pmd,
				    unsigned long haddr)
{
	unsigned long val = *pmd, addr = haddr;
	struct shadow_folio *folio = NULL;
	bool zero = shadow_is_huge_zero_pmd(val);
	pte_t *table, *pte;
	int i;

	shadow_pt_assert_locked(mm);
	table = shadow_pgtable_trans_huge_withdraw(mm);
	if (!zero)
		folio = shadow_page_meta(shadow_huge_pmd_page(val, haddr))->folio;
	for (i = 0, pte = table; i < SHADOW_HPAGE_PMD_NR;
	     i++, pte++, addr += PAGE_SIZE) {
		pte_t entry = shadow_huge_pmd_subpage_pte(val, addr);

		if (zero) {
			/* vm_page_prot's: young (x86's carry _PAGE_ACCESSED). */
			entry = pte_mkspecial(pfn_pte(my_zero_pfn(addr),
						      pte_pgprot(pte_mkyoung(pte_mkclean(entry)))));
		} else {
			struct shadow_page *sp = &folio->pages[i];

			entry = pte_mkclean(entry);
			atomic_inc(&sp->mapcount);
			WRITE_ONCE(sp->anon_exclusive,
				   READ_ONCE(folio->pages[0].anon_exclusive));
			if (val & _PAGE_DIRTY)
				WRITE_ONCE(sp->dirty, true);
		}
		shadow_set_pte(pte, entry);
	}
	if (folio) {
		atomic_add(SHADOW_HPAGE_PMD_NR - 1, &folio->refs);
		atomic_dec(&folio->entire_mapcount);
		mm->anon_thps--;
	}
	shadow_pmd_populate(mm, pmd, table);
	mm->thp_split_pmd++;
	atomic_long_inc(&shadow_counters.thp_split_pmd);
	trace_shadow_mm_split_huge_pmd(mm, haddr, zero);
}

/**
 * shadow_split_huge_pmd() - split the leaf at @addr, if it still is one
 * (split_huge_pmd)
 * @mm: the address space, mmap_lock held, page_table_lock not held
 * @pmd: the PMD entry's slot
 * @addr: an address of its 2 MiB
 */
shadow_flow void shadow_split_huge_pmd(struct shadow_mm *mm,
				       unsigned long *pmd, unsigned long addr)
{
	spin_lock(&mm->page_table_lock);
	if (shadow_pmd_trans_huge(*pmd))
		__shadow_split_huge_pmd_locked(mm, pmd,
					       addr & ~(SHADOW_PMD_SIZE - 1));
	spin_unlock(&mm->page_table_lock);
}

/**
 * shadow_vma_adjust_trans_huge() - a VMA boundary moves to @addr: split
 * the leaf around it (vma_adjust_trans_huge, split_huge_pmd_if_needed)
 * @mm: the address space, mmap_lock held for writing
 * @addr: the new boundary
 *
 * A leaf maps memory of one VMA only: every change of VMA boundaries
 * (split_vma, the merges that move one) splits a leaf the new boundary
 * would cut. An aligned boundary cuts none.
 */
shadow_flow void shadow_vma_adjust_trans_huge(struct shadow_mm *mm,
					      unsigned long addr)
{
	unsigned long *pmd;

	if (!(addr & (SHADOW_PMD_SIZE - 1)))
		return;
	pmd = shadow_pmd_entry(mm, addr, false);
	if (pmd && shadow_pmd_trans_huge(READ_ONCE(*pmd)))
		shadow_split_huge_pmd(mm, pmd, addr);
}

/*
 * page_remove_anon_compound_rmap(): the last leaf of @folio went; with
 * some of its pages still mapped by PTEs and some not, it is queued for
 * a deferred split.
 */
static void shadow_deferred_split_if_partial(struct shadow_folio *folio)
{
	int i, mapped = 0;

	for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++)
		if (atomic_read(&folio->pages[i].mapcount))
			mapped++;
	if (mapped && mapped < SHADOW_HPAGE_PMD_NR)
		shadow_deferred_split_folio(folio);
}

/**
 * shadow_zap_huge_pmd() - unmap a whole leaf (zap_huge_pmd)
 * @mm: the address space, mmap_lock held, page_table_lock not held
 * @pmd: the PMD entry's slot
 * @addr: the 2 MiB-aligned address it maps
 *
 * The leaf and its deposited table go; a folio loses the mapping and the
 * reference the leaf held, and its pages leave the rss.
 *
 * Return: false when the entry was no leaf any more (the caller goes on
 * with the PTE table).
 */
shadow_flow bool shadow_zap_huge_pmd(struct shadow_mm *mm, unsigned long *pmd,
				     unsigned long addr)
{
	struct shadow_folio *folio = NULL;
	unsigned long val;
	void *table;

	spin_lock(&mm->page_table_lock);
	val = *pmd;
	if (!shadow_pmd_trans_huge(val)) {
		spin_unlock(&mm->page_table_lock);
		return false;
	}
	WRITE_ONCE(*pmd, 0);
	table = shadow_pgtable_trans_huge_withdraw(mm);
	mm->nr_ptes--;
	if (!shadow_is_huge_zero_pmd(val)) {
		folio = shadow_page_meta(shadow_huge_pmd_page(val, addr))->folio;
		if (atomic_dec_and_test(&folio->entire_mapcount))
			shadow_deferred_split_if_partial(folio);
		mm->rss_anon -= SHADOW_HPAGE_PMD_NR;
		mm->anon_thps--;
	}
	spin_unlock(&mm->page_table_lock);
	shadow_pte_free(table);
	if (folio)
		shadow_put_folio(folio);
	return true;
}

/**
 * shadow_copy_huge_pmd() - fork of a leaf (copy_huge_pmd)
 * @dst_mm: the child
 * @src_mm: the parent
 * @addr: the 2 MiB-aligned address
 * @dst_pmd: the child's PMD entry, none
 * @src_pmd: the parent's
 * @copied: incremented by the PTEs the leaf stands for
 *
 * The child gets its own deposited table first, so a failure changes
 * nothing. The huge zero page is shared as it is; a THP gains the child's
 * mapping and reference, stops being anon-exclusive, and both leaves are
 * write-protected, the child's old.
 *
 * Return: 0, -ENOMEM, or -EAGAIN when the parent's entry is no leaf any
 * more.
 */
shadow_flow int shadow_copy_huge_pmd(struct shadow_mm *dst_mm,
				     struct shadow_mm *src_mm,
				     unsigned long addr, unsigned long *dst_pmd,
				     unsigned long *src_pmd,
				     unsigned long *copied)
{
	unsigned long val;
	void *table;

	table = shadow_pte_alloc_one();
	if (!table)
		return -ENOMEM;
	spin_lock(&dst_mm->page_table_lock);
	spin_lock_nested(&src_mm->page_table_lock, SINGLE_DEPTH_NESTING);
	val = *src_pmd;
	if (!shadow_pmd_trans_huge(val)) {
		spin_unlock(&src_mm->page_table_lock);
		spin_unlock(&dst_mm->page_table_lock);
		shadow_pte_free(table);
		return -EAGAIN;
	}
	if (shadow_is_huge_zero_pmd(val)) {
		/* The child's own reference (mm_get_huge_zero_page()). */
		if (!test_bit(SHADOW_MMF_HUGE_ZERO_PAGE, &dst_mm->flags)) {
			atomic_inc(&shadow_huge_zero_refcount);
			set_bit(SHADOW_MMF_HUGE_ZERO_PAGE, &dst_mm->flags);
		}
	} else {
		struct shadow_folio *folio;

		folio = shadow_page_meta(shadow_huge_pmd_page(val, addr))->folio;
		atomic_inc(&folio->refs);
		atomic_inc(&folio->entire_mapcount);
		/* page_try_dup_anon_rmap(): no longer exclusive. */
		WRITE_ONCE(folio->pages[0].anon_exclusive, false);
		dst_mm->rss_anon += SHADOW_HPAGE_PMD_NR;
		dst_mm->anon_thps++;
		val &= ~_PAGE_RW;
		WRITE_ONCE(*src_pmd, val);
	}
	shadow_pgtable_trans_huge_deposit(dst_mm, table);
	dst_mm->nr_ptes++;
	WRITE_ONCE(*dst_pmd, pte_val(pte_mkold(__pte(val))));
	*copied += SHADOW_HPAGE_PMD_NR;
	spin_unlock(&src_mm->page_table_lock);
	spin_unlock(&dst_mm->page_table_lock);
	return 0;
}

/**
 * shadow_folio_total_mapcount() - the mappings of a THP (total_mapcount)
 * @folio: the folio
 *
 * Return: its PMD leaves plus the PTEs mapping any of its pages.
 */
int shadow_folio_total_mapcount(struct shadow_folio *folio)
{
	int i, total = atomic_read(&folio->entire_mapcount);

	for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++)
		total += atomic_read(&folio->pages[i].mapcount);
	return total;
}

/*
 * The deferred split queue (6.1's deferred_split_queue, one for the
 * module): THPs a zap left with pages no PTE maps, split by the next
 * SHADOW_DEV_RECLAIM (vmscan.c, in the place of deferred_split_scan()),
 * which frees those pages. The queue holds no reference: a folio leaves
 * it when it is split or freed. Its lock nests inside page_table_lock.
 */
static LIST_HEAD(shadow_deferred_split_queue);
static DEFINE_SPINLOCK(shadow_deferred_split_lock);

/**
 * shadow_deferred_split_folio() - queue a THP for a deferred split
 * (deferred_split_huge_page)
 * @folio: the folio, referenced; counted in thp_deferred_split_page when
 *         it was not queued yet
 */
void shadow_deferred_split_folio(struct shadow_folio *folio)
{
	/* Unlocked peek: a folio queued already is the common case. */
	if (data_race(!list_empty(&folio->deferred_list)))
		return;
	spin_lock(&shadow_deferred_split_lock);
	if (list_empty(&folio->deferred_list)) {
		list_add_tail(&folio->deferred_list,
			      &shadow_deferred_split_queue);
		atomic_long_inc(&shadow_counters.thp_deferred_split_page);
	}
	spin_unlock(&shadow_deferred_split_lock);
}

/**
 * shadow_folio_undefer() - a THP being freed leaves the deferred split
 * queue (free_transhuge_page)
 * @folio: the folio, with no reference left
 */
void shadow_folio_undefer(struct shadow_folio *folio)
{
	spin_lock(&shadow_deferred_split_lock);
	list_del_init(&folio->deferred_list);
	spin_unlock(&shadow_deferred_split_lock);
}

/**
 * shadow_folio_deferred() - is a THP on the deferred split queue?
 * @folio: the folio, referenced
 *
 * Return: true when it is queued (a hint: it may leave meanwhile).
 */
bool shadow_folio_deferred(struct shadow_folio *folio)
{
	/* Unlocked: the split that follows checks under the lock. */
	return data_race(!list_empty(&folio->deferred_list));
}

/* How many address spaces a split holds at once, the caller's included. */
#define SHADOW_SPLIT_MAX_MMS	16

/**
 * struct shadow_split_ctl - what a THP split holds (split_huge_page)
 * @mm: the caller's address space, its mmap_lock held by the caller
 * @folio: the folio being split
 * @root: the root of its anon_vma tree, whose rwsem the split holds
 * @mms: the address spaces with a VMA in that tree, and @mm, by address
 *       (the order their page_table_locks are taken in); the split holds
 *       the mmap_lock of each but @mm for reading (trylock)
 * @nr_mms: how many
 * @ptes: PTEs found mapping a page of the folio, by a counting pass
 * @busy: a pass met a mapping the split cannot hold (a PTE table shared
 *        by an on-demand fork), or an address space it could not lock
 * @zeropage: the pass maps zero-filled pages to the zero page instead
 *            (SHADOW_RULE_SPLIT_ZEROPAGE), after the split
 * @meta: with @zeropage, where a page whose last reference goes leaves
 *        its metadata
 * @dead: with @zeropage, the pages that go
 */
struct shadow_split_ctl {
	struct shadow_mm *mm;
	struct shadow_folio *folio;
	struct shadow_anon_vma *root;
	struct shadow_mm *mms[SHADOW_SPLIT_MAX_MMS];
	int nr_mms;
	int ptes;
	bool busy;
	bool zeropage;
	struct shadow_page **meta;
	unsigned long *dead;
};

/*
 * A VMA of the tree: its address space, if not held yet, joins @mms with
 * its mmap_lock held for reading, which keeps its VMAs' bounds, its
 * tables and its teardown away (rmap.c's rules), and fork with it.
 */
static bool shadow_split_add_mm(struct shadow_vma *vma, void *arg)
{
	struct shadow_split_ctl *ctl = arg;
	struct shadow_mm *mm = READ_ONCE(vma->vm_mm);
	int i;

	for (i = 0; i < ctl->nr_mms; i++)
		if (ctl->mms[i] == mm)
			return true;
	if (ctl->nr_mms == SHADOW_SPLIT_MAX_MMS ||
	    !shadow_mmap_read_trylock(mm)) {
		ctl->busy = true;
		return false;
	}
	for (i = ctl->nr_mms++; i && ctl->mms[i - 1] > mm; i--)
		ctl->mms[i] = ctl->mms[i - 1];
	ctl->mms[i] = mm;
	return true;
}

static void shadow_split_put_mms(struct shadow_split_ctl *ctl)
{
	int i;

	for (i = 0; i < ctl->nr_mms; i++)
		if (ctl->mms[i] != ctl->mm)
			shadow_mmap_read_unlock(ctl->mms[i]);
	ctl->nr_mms = 0;
}

/*
 * The page_table_lock of every address space the split holds, in address
 * order, under the anon_vma tree's rwsem (mm.c's lock tree). They stay
 * held until shadow_split_unlock_tables(): sparse, which counts the locks
 * of each function, is told so by __release() here and __acquire() there.
 */
static void shadow_split_lock_tables(struct shadow_split_ctl *ctl)
{
	int i;

	for (i = 0; i < ctl->nr_mms; i++) {
		shadow_anon_vma_lock_table(ctl->root, ctl->mms[i]);
		__release(&ctl->mms[i]->page_table_lock);
	}
}

static void shadow_split_unlock_tables(struct shadow_split_ctl *ctl)
{
	int i;

	for (i = ctl->nr_mms - 1; i >= 0; i--) {
		__acquire(&ctl->mms[i]->page_table_lock);
		spin_unlock(&ctl->mms[i]->page_table_lock);
	}
}

/*
 * SHADOW_RULE_SPLIT_ZEROPAGE, for one PTE mapping @page of the old folio
 * after the split (try_to_map_unused_to_zeropage() as remap_page()
 * restores it): a page that is all zeroes, in a VMA that is not
 * VM_LOCKED, is replaced by the shared zero page; it loses that mapping
 * and its reference, and goes (set in @ctl->dead, its metadata left in
 * @ctl->meta) when that was its last one.
 */
static void shadow_split_map_zeropage(struct shadow_split_ctl *ctl,
				      struct shadow_vma *vma, pte_t *pte,
				      unsigned long addr, struct page *page)
{
	struct shadow_mm *mm = vma->vm_mm;
	unsigned long n = page - ctl->folio->head;
	struct shadow_page *sp;

	if (test_bit(n, ctl->dead) || (vma->vm_flags & VM_LOCKED) ||
	    memchr_inv(page_address(page), 0, PAGE_SIZE))
		return;
	shadow_set_pte(pte, pte_mkspecial(pfn_pte(my_zero_pfn(addr),
						  __pgprot(vma->vm_page_prot))));
	sp = shadow_page_meta(page);
	atomic_dec(&sp->mapcount);
	mm->rss_anon--;
	if (atomic_dec_and_test(&sp->refs)) {
		ctl->meta[n] = sp;
		__set_bit(n, ctl->dead);
	}
}

/*
 * One VMA of the tree, its address space's page_table_lock held: each
 * page of the folio that would fall in it, at the address its index
 * gives (unmap_folio()'s and remap_page()'s walks). Before the split a
 * leaf mapping the folio is split (__split_huge_pmd_locked(), which stays
 * done if the rest fails) and the PTEs mapping its pages are counted;
 * after it, with @ctl->zeropage, those PTEs go through
 * shadow_split_map_zeropage().
 */
static bool shadow_split_walk_vma(struct shadow_vma *vma, void *arg)
{
	struct shadow_split_ctl *ctl = arg;
	struct shadow_folio *folio = ctl->folio;
	struct shadow_mm *mm = READ_ONCE(vma->vm_mm);
	unsigned long index = folio->pages[0].index, addr, *pmd, val;
	struct page *page;
	pte_t *pte;
	int i;

	shadow_pt_assert_locked(mm);
	for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++) {
		addr = shadow_vma_address(index + i, vma);
		if (addr == -EFAULT)
			continue;
		pmd = shadow_pmd_entry(mm, addr, false);
		val = pmd ? *pmd : 0;
		if (!val)
			continue;
		if (shadow_pmd_trans_huge(val)) {
			if (ctl->zeropage || shadow_is_huge_zero_pmd(val) ||
			    shadow_page_meta(shadow_huge_pmd_page(val, addr))->folio !=
			    folio)
				continue;
			__shadow_split_huge_pmd_locked(mm, pmd,
						       addr & ~(SHADOW_PMD_SIZE - 1));
			val = *pmd;
		}
		pte = shadow_pte_offset(val, addr);
		if (!pte_present(*pte) || pte_special(*pte))
			continue;
		page = pte_page(*pte);
		if (page != folio->head + i)
			continue;
		if (shadow_pmd_shared(val)) {
			ctl->busy = true;
			return false;
		}
		if (ctl->zeropage)
			shadow_split_map_zeropage(ctl, vma, pte, addr, page);
		else
			ctl->ptes++;
	}
	return true;
}

/*
 * can_split_folio(), with every page_table_lock of @ctl held: each leaf
 * mapping @folio is split first; then every mapping it has left must be a
 * PTE of an address space the split holds, in a PTE table no on-demand
 * fork shares, and those PTEs and the caller hold its only references
 * (*@total mappings, and one). 0 or -EBUSY.
 */
static int shadow_can_split_folio(struct shadow_split_ctl *ctl, int *total)
{
	struct shadow_folio *folio = ctl->folio;

	ctl->ptes = 0;
	ctl->busy = false;
	shadow_anon_vma_walk_tree(ctl->root, shadow_split_walk_vma, ctl);
	if (ctl->busy || atomic_read(&folio->entire_mapcount))
		return -EBUSY;
	*total = shadow_folio_total_mapcount(folio);
	if (atomic_read(&folio->refs) != *total + 1 || *total != ctl->ptes)
		return -EBUSY;
	return 0;
}

/*
 * The first check, before anything is allocated for the split: the
 * address spaces to hold, then can_split_folio(). The anon_vma rwsem and
 * the others' mmap_lock stay held when it succeeds.
 */
static int shadow_split_prepare(struct shadow_split_ctl *ctl, int *total)
{
	int ret;

	ctl->root = shadow_folio_lock_anon_vma_read(ctl->folio);
	if (WARN_ON_ONCE(!ctl->root))
		return -EBUSY;
	ctl->mms[0] = ctl->mm;
	ctl->nr_mms = 1;
	ret = -EBUSY;
	if (!shadow_anon_vma_walk_tree(ctl->root, shadow_split_add_mm, ctl))
		goto out_put;
	shadow_split_lock_tables(ctl);
	ret = shadow_can_split_folio(ctl, total);
	shadow_split_unlock_tables(ctl);
	if (!ret)
		return 0;
out_put:
	shadow_split_put_mms(ctl);
	shadow_anon_vma_unlock_tree(ctl->root);
	return ret;
}

/**
 * shadow_split_huge_page() - split a THP into small pages (split_huge_page)
 * @mm: the address space, mmap_lock held, page_table_lock not held
 * @addr: where @page is mapped in @mm
 * @page: a page of the folio, with a reference of the caller's, which
 *        stays on this page
 *
 * As Linux's, the split reaches every mapping of the folio through its
 * anon_vma tree, whose rwsem it holds, in every address space that has a
 * VMA there: their mmap_lock (trylock) and page_table_lock (in address
 * order) are held while it checks and splits. Each leaf mapping
 * the folio is split first, as unmap_folio() splits every PMD mapping (a
 * split PMD stays split when the rest fails). The folio is split when
 * every mapping left is a PTE of an address space it holds, not in a
 * table an on-demand fork shares, and the caller and those PTEs hold its
 * only references (can_split_folio(), then page_ref_freeze()). The PTEs
 * stay as they are (the engine's PTEs do not change with the split,
 * where Linux unmaps the folio and maps it again). Each page then gets
 * metadata of its own, with the anon_vma, index, anon-exclusive, dirty
 * and lazyfree bits it had, one reference per PTE mapping it (plus the
 * caller's), and its own struct page reference (split_page()); a page
 * nothing maps is freed, as __split_huge_page() lets the unmapped tails
 * go. @addr is where the caller found @page; the walk finds it again.
 *
 * Return: 0, -ENOMEM (the new metadata), or -EBUSY (an extra reference,
 * a shared PTE table, an address space whose mmap_lock is taken for
 * writing, more than SHADOW_SPLIT_MAX_MMS of them); a failure counts in
 * thp_split_page_failed.
 */
shadow_flow int shadow_split_huge_page(struct shadow_mm *mm,
				       unsigned long addr, struct page *page)
{
	struct shadow_split_ctl ctl = {
		.mm = mm,
		.folio = shadow_page_meta(page)->folio,
	};
	DECLARE_BITMAP(dead, SHADOW_HPAGE_PMD_NR);
	struct shadow_page **meta = NULL;
	struct shadow_folio *folio = ctl.folio;
	struct page *head;
	int i, total, ret;

	if (WARN_ON_ONCE(!folio))
		return -EINVAL;
	head = folio->head;
	bitmap_zero(dead, SHADOW_HPAGE_PMD_NR);

	/* Whether it can be split at all, before allocating for it. */
	ret = shadow_split_prepare(&ctl, &total);
	if (ret)
		goto out_failed;

	ret = -ENOMEM;
	meta = kvcalloc(SHADOW_HPAGE_PMD_NR, sizeof(*meta), SHADOW_GFP);
	if (!meta)
		goto out_put;
	for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++) {
		meta[i] = kmalloc(sizeof(*meta[i]), SHADOW_GFP);
		if (!meta[i])
			goto out_free;
	}

	shadow_split_lock_tables(&ctl);
	ret = shadow_can_split_folio(&ctl, &total);
	if (ret)
		goto out_unlock;
	spin_lock(&shadow_deferred_split_lock);
	if (atomic_cmpxchg(&folio->refs, total + 1, 0) != total + 1) {
		spin_unlock(&shadow_deferred_split_lock);
		ret = -EBUSY;
		goto out_unlock;
	}
	list_del_init(&folio->deferred_list);
	spin_unlock(&shadow_deferred_split_lock);

	split_page(head, SHADOW_HPAGE_PMD_ORDER);
	for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++) {
		struct shadow_page *sp = meta[i];
		int refs;

		*sp = folio->pages[i];
		sp->folio = NULL;
		refs = atomic_read(&sp->mapcount) + (head + i == page);
		atomic_set(&sp->refs, refs);
		set_page_private(head + i, (unsigned long)sp);
		if (refs)
			meta[i] = NULL;
		else
			__set_bit(i, dead);
	}
	atomic_long_dec(&shadow_counters.thp);
	atomic_long_inc(&shadow_counters.thp_split_page);
	if (SHADOW_RULE_SPLIT_ZEROPAGE) {
		ctl.zeropage = true;
		ctl.meta = meta;
		ctl.dead = dead;
		shadow_anon_vma_walk_tree(ctl.root, shadow_split_walk_vma,
					  &ctl);
	}
	shadow_split_unlock_tables(&ctl);

	for_each_set_bit(i, dead, SHADOW_HPAGE_PMD_NR) {
		shadow_free_page(head + i, meta[i]);
		meta[i] = NULL;
	}
	/* Read under page_table_lock or RCU by the views until now. */
	kvfree_rcu(folio, rcu);
	goto out_free;

out_unlock:
	shadow_split_unlock_tables(&ctl);
out_free:
	for (i = 0; meta && i < SHADOW_HPAGE_PMD_NR; i++)
		kfree(meta[i]);
	kvfree(meta);
out_put:
	shadow_split_put_mms(&ctl);
	shadow_anon_vma_unlock_tree(ctl.root);
out_failed:
	if (ret)
		atomic_long_inc(&shadow_counters.thp_split_page_failed);
	return ret;
}

/**
 * shadow_madvise_free_huge_pmd() - MADV_FREE of the part [addr, next) of
 * one PMD range (madvise_free_huge_pmd)
 * @mm: the address space, mmap_lock held for reading
 * @addr: start, inside one 2 MiB
 * @next: end, at most the end of that 2 MiB
 *
 * A leaf only this address space maps, covered whole, stays: it loses its
 * young and dirty bits and its folio becomes lazyfree (mark_page_lazyfree
 * of the folio: each page's bit). Covered in part, its folio is split
 * first and the PTEs take it from there. The huge zero page and a THP
 * mapped elsewhere too are left alone.
 *
 * Return: true when the range is done; false when it holds PTEs (no leaf,
 * or one split now) for madvise_free_pte_range().
 */
shadow_flow bool shadow_madvise_free_huge_pmd(struct shadow_mm *mm,
					      unsigned long addr,
					      unsigned long next)
{
	unsigned long *pmd = shadow_pmd_entry(mm, addr, false), val;
	struct shadow_folio *folio;
	struct page *page;
	int i;

	if (!pmd || !shadow_pmd_trans_huge(READ_ONCE(*pmd)))
		return false;
	spin_lock(&mm->page_table_lock);
	val = *pmd;
	if (!shadow_pmd_trans_huge(val)) {
		spin_unlock(&mm->page_table_lock);
		return false;
	}
	if (shadow_is_huge_zero_pmd(val))
		goto out;
	page = shadow_huge_pmd_page(val, addr);
	folio = shadow_page_meta(page)->folio;
	/* Mapped elsewhere too: it stays unless they all MADV_FREE it. */
	if (shadow_folio_total_mapcount(folio) != 1)
		goto out;
	if (next - addr != SHADOW_PMD_SIZE) {
		shadow_get_page(page);
		spin_unlock(&mm->page_table_lock);
		shadow_split_huge_page(mm, addr, page);
		shadow_put_page(page);
		return false;
	}
	for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++) {
		WRITE_ONCE(folio->pages[i].dirty, false);
		WRITE_ONCE(folio->pages[i].lazyfree, true);
	}
	WRITE_ONCE(*pmd, pte_val(pte_mkclean(pte_mkold(__pte(val)))));
out:
	spin_unlock(&mm->page_table_lock);
	return true;
}

/**
 * shadow_discard_lazyfree_huge_pmd() - reclaim of a lazyfree leaf
 * (try_to_unmap_one() of a !swapbacked PMD-mapped folio)
 * @mm: the address space, mmap_lock held, page_table_lock not held
 * @pmd: the leaf's slot
 * @addr: the 2 MiB-aligned address it maps
 * @droppable: the VMA is VM_DROPPABLE
 *
 * A lazyfree THP that nothing wrote since MADV_FREE, that this leaf alone
 * maps and nobody else holds, is dropped whole: the address reads zeroes
 * again. Written since (the leaf is dirty), it is swap backed again: the
 * leaf is split, as try_to_unmap() splits it on its way, and stays. A
 * droppable one goes written or not.
 *
 * Return: true when the folio was discarded.
 */
shadow_flow bool shadow_discard_lazyfree_huge_pmd(struct shadow_mm *mm,
						  unsigned long *pmd,
						  unsigned long addr,
						  bool droppable)
{
	struct shadow_folio *folio;
	unsigned long val;
	void *table;
	int i;

	spin_lock(&mm->page_table_lock);
	val = *pmd;
	if (!shadow_pmd_trans_huge(val) || shadow_is_huge_zero_pmd(val))
		goto keep;
	folio = shadow_page_meta(shadow_huge_pmd_page(val, addr))->folio;
	if (!shadow_page_lazyfree(&folio->pages[0]))
		goto keep;
	if (pte_dirty(__pte(val)) && !droppable) {
		for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++)
			WRITE_ONCE(folio->pages[i].lazyfree, false);
		__shadow_split_huge_pmd_locked(mm, pmd, addr);
		goto keep;
	}
	if (atomic_read(&folio->refs) != 1 ||
	    shadow_folio_total_mapcount(folio) != 1)
		goto keep;
	WRITE_ONCE(*pmd, 0);
	table = shadow_pgtable_trans_huge_withdraw(mm);
	mm->nr_ptes--;
	atomic_dec(&folio->entire_mapcount);
	mm->rss_anon -= SHADOW_HPAGE_PMD_NR;
	mm->anon_thps--;
	spin_unlock(&mm->page_table_lock);
	shadow_pte_free(table);
	shadow_put_folio(folio);
	return true;
keep:
	spin_unlock(&mm->page_table_lock);
	return false;
}

/**
 * shadow_madvise_split_folios() - the THPs that MADV_FREE meets in the
 * PTEs of [addr, end) (the large folio branch of madvise_free_pte_range())
 * @mm: the address space, mmap_lock held, page_table_lock not held
 * @addr: start, inside one PTE table
 * @end: end, at most that table's end
 *
 * MADV_FREE's rule (6.1): a THP whose first page one PTE maps
 * (folio_estimated_sharers() == 1) is split and the walk goes on; any
 * other, or one that cannot be split, ends the walk of the table there.
 *
 * Return: where the PTE pass is to stop: @end, or the address of that
 * page.
 */
shadow_flow unsigned long shadow_madvise_split_folios(struct shadow_mm *mm,
						      unsigned long addr,
						      unsigned long end)
{
	for (; addr < end; addr += PAGE_SIZE) {
		struct shadow_folio *folio = NULL;
		struct page *page = NULL;
		pte_t *pte;
		int err;

		spin_lock(&mm->page_table_lock);
		pte = shadow_pte_lookup_locked(mm, addr, NULL);
		if (!pte) {
			spin_unlock(&mm->page_table_lock);
			return end;
		}
		if (pte_present(*pte) && !pte_special(*pte)) {
			page = pte_page(*pte);
			folio = shadow_page_meta(page)->folio;
		}
		if (!folio) {
			spin_unlock(&mm->page_table_lock);
			continue;
		}
		if (shadow_page_mapcount_raw(&folio->pages[0]) != 1) {
			spin_unlock(&mm->page_table_lock);
			return addr;
		}
		shadow_get_page(page);
		spin_unlock(&mm->page_table_lock);
		err = shadow_split_huge_page(mm, addr, page);
		shadow_put_page(page);
		if (err)
			return addr;
	}
	return end;
}
