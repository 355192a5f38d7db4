// SPDX-License-Identifier: GPL-2.0
/*
 * Transparent huge pages of shadow address spaces, after Linux 6.1's
 * mm/huge_memory.c: for now the policy only, which the PMD-sized
 * anonymous huge pages will follow.
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
 * The engine's THP code does not depend on CONFIG_TRANSPARENT_HUGEPAGE: a
 * kernel without it runs the same code once SHADOW_MM_SET_THP asks for it.
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/string.h>

#include "internal.h"

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
