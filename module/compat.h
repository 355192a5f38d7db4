/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel interfaces that changed between the kernels the engine builds
 * against: Linux 6.1 (Debian 12) and Linux 6.12 (Debian 13, Debian 12's
 * bookworm-backports). Every version check of the kernel-only code lives
 * here, so the flow files read the same on both.
 *
 * The version test is rules.h's SHADOW_KERNEL_SINCE(). The rule is the
 * backports project's: the flow files call the newer
 * kernel's interface, and this header supplies it on the older kernel when
 * it is missing there. Where an interface was replaced rather than added,
 * a shadow_ helper names what both versions do.
 *
 * The engine's *behaviour* that differs by version (what user space sees)
 * is not here: see shadow_kernel_rules in vma_internal.h.
 */
#ifndef _SHADOW_COMPAT_H
#define _SHADOW_COMPAT_H

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>

#include "rules.h"

/*
 * 6.6, "mm: Make pte_mkwrite() take a VMA" (shadow stacks): x86's
 * pte_mkwrite() takes the VMA to tell shadow-stack memory apart; the
 * engine has none, and calls what it does for every other VMA:
 * pte_mkwrite_novma(), then pte_clear_saveddirty().
 *
 * 6.6, "x86/mm: Introduce _PAGE_SAVED_DIRTY" (shadow stacks): a
 * write-protected PTE keeps its dirty state in _PAGE_SAVED_DIRTY rather
 * than _PAGE_DIRTY (Write=0,Dirty=1 means shadow stack).
 * pte_wrprotect() and pte_mkdirty() move it there, pte_mkwrite() back;
 * pte_dirty() reads both bits. 6.1 has neither: the bit is 0 and the moves
 * do nothing.
 */
#if !SHADOW_KERNEL_SINCE(6, 6)
#define _PAGE_SAVED_DIRTY	0
#define _PAGE_DIRTY_BITS	_PAGE_DIRTY

static inline pte_t pte_mkwrite_novma(pte_t pte)
{
	return pte_mkwrite(pte);
}

static inline pte_t pte_mksaveddirty(pte_t pte)
{
	return pte;
}

static inline pte_t pte_clear_saveddirty(pte_t pte)
{
	return pte;
}
#endif

/* x86's pte_mkwrite(pte, vma) for a VMA that is not a shadow stack. */
static inline pte_t shadow_pte_mkwrite(pte_t pte)
{
	return pte_clear_saveddirty(pte_mkwrite_novma(pte));
}

/*
 * 6.6, "mm: add ptdesc": the page-table fields of struct page moved to
 * struct ptdesc, which overlays it.
 */
#if !SHADOW_KERNEL_SINCE(6, 6)
static inline atomic_t *shadow_pt_frag_refcount(void *table)
{
	return &virt_to_page(table)->pt_frag_refcount;
}
#else
static inline atomic_t *shadow_pt_frag_refcount(void *table)
{
	return &virt_to_ptdesc(table)->pt_frag_refcount;
}
#endif

/* 6.3, "mm: replace VM_LOCKED_CLEAR_MASK with VM_LOCKED_MASK". */
#ifndef VM_LOCKED_MASK
#define VM_LOCKED_MASK	(VM_LOCKED | VM_LOCKONFAULT)
#endif

/*
 * 6.4, "mm: return an ERR_PTR from __filemap_get_folio": a missing folio
 * is ERR_PTR(-ENOENT), where 6.1 returns NULL. Both come back as NULL.
 */
static inline struct folio *shadow_filemap_get_folio(struct address_space *mapping,
						     pgoff_t index)
{
	struct folio *folio = filemap_get_folio(mapping, index);

	return IS_ERR(folio) ? NULL : folio;
}

/*
 * Is @mapping shmem's (tmpfs, memfd)? 6.1 exports shmem_aops and not
 * shmem_mapping(); 6.12 exports shmem_mapping() and keeps shmem_aops
 * static.
 */
static inline bool shadow_shmem_mapping(struct address_space *mapping)
{
#if !SHADOW_KERNEL_SINCE(6, 12)
	return mapping->a_ops == &shmem_aops;
#else
	return shmem_mapping(mapping);
#endif
}

/*
 * The MAP_ flags a file takes beyond the legacy ones (do_mmap()), and
 * whether its offsets are unsigned (file_mmap_size_max()): 6.1 reads
 * ->mmap_supported_flags and FMODE_UNSIGNED_OFFSET; 6.12 reads the
 * file_operations' fop_flags (FOP_MMAP_SYNC, FOP_UNSIGNED_OFFSET).
 */
static inline unsigned long shadow_file_mmap_supported_flags(struct file *file)
{
#if !SHADOW_KERNEL_SINCE(6, 12)
	return file->f_op->mmap_supported_flags;
#else
	return file->f_op->fop_flags & FOP_MMAP_SYNC ? MAP_SYNC : 0;
#endif
}

static inline bool shadow_file_unsigned_offset(struct file *file)
{
#if !SHADOW_KERNEL_SINCE(6, 12)
	return file->f_mode & FMODE_UNSIGNED_OFFSET;
#else
	return file->f_op->fop_flags & FOP_UNSIGNED_OFFSET;
#endif
}

#endif /* _SHADOW_COMPAT_H */
