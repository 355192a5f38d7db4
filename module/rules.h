/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rules of Linux's mm that user space sees differently on the kernels
 * the engine follows: Linux 6.1 (Debian 12) and Linux 6.12 (Debian 13,
 * bookworm-backports). The engine behaves like the kernel it is built for,
 * and so loaded into: each rule below is true when that kernel has it.
 *
 * One macro a rule, named after what changed, with the kernel that
 * brought it and the function that carries it there. The flow files test
 * the macro where the rule applies; the table of
 * Documentation/mm/shadow_mm-design.rst lists them, and a selftest checks
 * each against the real kernel of its run.
 *
 * The interface changes that do not show in behaviour are compat.h's.
 * The user-space harness (selftests/vma) defines SHADOW_RULES_VERSION
 * itself: the kernel whose maple tree it is built with.
 */
#ifndef _SHADOW_RULES_H
#define _SHADOW_RULES_H

#ifndef SHADOW_RULES_VERSION
#include <linux/version.h>
#define SHADOW_RULES_VERSION	LINUX_VERSION_CODE
#endif

/*
 * Is the kernel the engine is built for Linux @major.@minor or later? The
 * one version test of the engine: rules below and compat.h use it.
 */
#define SHADOW_KERNEL_SINCE(major, minor)				\
	(((major) << 16) + ((minor) << 8) <= SHADOW_RULES_VERSION)

/*
 * Does that kernel have transparent huge pages (Debian's do; the tinyconfig
 * debug kernels do not)? The harness says for itself.
 */
#ifndef SHADOW_RULES_THP
#define SHADOW_RULES_THP	IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE)
#endif

/* What SHADOW_MM_API reports: the kernel whose rules these are. */
#define SHADOW_RULES_KERNEL	(SHADOW_RULES_VERSION & ~0xffU)

/*
 * 6.2, mprotect_fixup(): making an anonymous VMA that was never faulted
 * (no anon_vma) read-only drops VM_ACCOUNT, as there is nothing yet to
 * account, and unaccounts it; making it writable again accounts it
 * again. On 6.1 it keeps VM_ACCOUNT. This changes which VMAs merge.
 */
#define SHADOW_RULE_MPROTECT_UNACCOUNT	SHADOW_KERNEL_SINCE(6, 2)

/*
 * mremap(MREMAP_DONTUNMAP) of part of an mlock()ed VMA, move_vma(): the
 * 6.1 stable series splits the VMA around the moved range first, so only
 * that range loses VM_LOCKED; 6.12.y (as Debian ships it) does not split,
 * and the whole old VMA loses VM_LOCKED.
 */
#define SHADOW_RULE_DONTUNMAP_SPLITS_LOCKED	(!SHADOW_KERNEL_SINCE(6, 12))

/*
 * mremap(MREMAP_DONTUNMAP) of a VMA never faulted (no anon_vma), copy_vma():
 * the destination's pgoff is reset to its address, so a destination right
 * next to the source can merge with it. The 6.1 stable series refuses
 * that self-merge and keeps two VMAs, and gives a source left empty the
 * pgoff of an unfaulted VMA again (move_vma()); 6.12.y (as Debian ships
 * it) merges them into one, and leaves the source's pgoff as it was.
 */
#define SHADOW_RULE_DONTUNMAP_NO_SELF_MERGE	(!SHADOW_KERNEL_SINCE(6, 12))

/*
 * 6.7 (limited to lengths that are multiples of PMD_SIZE by 6.12),
 * __get_unmapped_area(): a private anonymous mapping without a hint whose
 * length is a multiple of 2 MiB is placed on a 2 MiB boundary
 * (thp_get_unmapped_area_vmflags()), whether or not the process uses
 * transparent huge pages, in a kernel built with them; mremap's moves
 * too. 6.1 places it at the top of the free area like any other.
 */
#define SHADOW_RULE_THP_ALIGN_ANON	(SHADOW_KERNEL_SINCE(6, 7) &&	\
					 SHADOW_RULES_THP)

/*
 * /proc/PID/smaps as 6.12's show_smap() writes it, where 6.1's differs: a
 * "KSM:" line after "Anonymous:", THPeligible's value right-aligned in 8
 * columns like the other fields, and VM_LOCKONFAULT named "lf" in VmFlags
 * (6.1 shows it as "??").
 */
#define SHADOW_RULE_SMAPS_612_FORMAT	SHADOW_KERNEL_SINCE(6, 12)

/*
 * 6.9, madvise_populate(): MADV_POPULATE_READ/WRITE fault the range in
 * from its start through faultin_page_range(), and fail with -ENOMEM at
 * the first hole, leaving the rest alone. 6.1 visits each VMA of the
 * range like any advice (madvise_walk_vmas()): holes are skipped and make
 * the call fail with -ENOMEM only at the end, and an error of a later VMA
 * (-EINVAL where it cannot be read or written) comes first.
 */
#define SHADOW_RULE_POPULATE_STOPS_AT_HOLE	SHADOW_KERNEL_SINCE(6, 9)

/*
 * 6.5, vma_is_initial_heap(): maps names [heap] a VMA that overlaps
 * [start_brk, brk) (strict bounds). 6.1's show_map_vma() also names one
 * that only touches it, such as the bss ending at start_brk, or any VMA
 * starting at an empty heap's start_brk.
 */
#define SHADOW_RULE_INITIAL_HEAP_STRICT	SHADOW_KERNEL_SINCE(6, 5)

/*
 * mprotect() of a whole PMD leaf of a writable VMA makes an exclusive THP
 * writable at once, as it does a PTE (change_huge_pmd():
 * can_change_pmd_writable(), in 6.12, not in 6.1; 6.4 is where the engine
 * places it, which only orders it among the rules of those two kernels);
 * 6.1 write-protects it and the next write reuses it through
 * do_huge_pmd_wp_page().
 */
#define SHADOW_RULE_MPROTECT_PMD_WRITABLE	SHADOW_KERNEL_SINCE(6, 4)

/*
 * 6.11, do_mmap(): MAP_DROPPABLE (map type 0x08), private anonymous
 * memory whose pages reclaim drops even when dirty (VM_DROPPABLE), with
 * VM_WIPEONFORK | VM_DONTDUMP | VM_NORESERVE; MAP_LOCKED, MAP_GROWSDOWN
 * and files refuse it (-EINVAL). Its pages are never swap backed
 * (folio_add_new_anon_rmap(), try_to_unmap_one()), mlock() leaves it
 * unlocked (vma_supports_mlock()), MADV_KEEPONFORK and MADV_DODUMP
 * refuse it, smaps names it "dp". On 6.1 the map type is -EINVAL.
 */
#define SHADOW_RULE_MAP_DROPPABLE	SHADOW_KERNEL_SINCE(6, 11)

/*
 * The map type and the flag that rule brings, for the older headers: the
 * flag is VM_NONE where the kernel has none, as kernels without it define
 * it, so that testing it costs nothing there.
 */
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE	0x08
#endif
#ifndef VM_DROPPABLE
#define VM_DROPPABLE	VM_NONE
#endif

/*
 * 6.7, calc_vm_flag_bits(): a mapping made with MAP_STACK gets
 * VM_NOHUGEPAGE ("nh" in smaps' VmFlags), in a kernel built with
 * transparent huge pages, so a thread stack never gets a huge page; it
 * then merges only with VMAs that have the flag too. 6.1 ignores
 * MAP_STACK.
 */
#define SHADOW_RULE_MAP_STACK_NOHUGEPAGE	(SHADOW_KERNEL_SINCE(6, 7) && \
						 SHADOW_RULES_THP)

/*
 * Between 6.1 and 6.12 (placed at 6.10), pagemap_pmd_range(): a page a PMD
 * leaf maps is PM_MMAP_EXCLUSIVE when that page is mapped once (6.12:
 * folio_precise_page_mapcount() of each page); 6.1 asks page_mapcount()
 * of the leaf's first page once, for all of its pages. They differ when
 * another address space maps some pages of the folio by PTEs (a child
 * whose leaf was split).
 */
#define SHADOW_RULE_PAGEMAP_PAGE_EXCLUSIVE	SHADOW_KERNEL_SINCE(6, 10)

/*
 * 6.12, smaps_pmd_entry(): the page of a leaf is vm_normal_page_pmd()'s,
 * so a PROT_NONE leaf counts (Rss, Anonymous, AnonHugePages...). 6.1
 * asks follow_trans_huge_pmd() with FOLL_DUMP and no FOLL_FORCE, which
 * finds no page in a PROT_NONE leaf (gup_can_follow_protnone()): such a
 * leaf counts nowhere in smaps. (6.12 is the first version the engine
 * follows with the new code; the release that brought it is not pinned
 * down here.)
 */
#define SHADOW_RULE_SMAPS_PROTNONE_LEAF	SHADOW_KERNEL_SINCE(6, 12)

/*
 * Between 6.1 and 6.12 (placed at 6.5), wp_can_reuse_anon_folio()
 * (do_wp_page()): a write to a page of a large folio that is not
 * anon-exclusive always copies, even when only this PTE holds the folio.
 * 6.1 reuses the page when its folio's refcount is 1, as for a small page.
 */
#define SHADOW_RULE_WP_NO_LARGE_REUSE	SHADOW_KERNEL_SINCE(6, 5)

/*
 * 6.12 (commit b1f202060afe, "mm: remap unused subpages to shared zeropage
 * when splitting isolated thp"): a successful split of an anonymous THP
 * maps each zero-filled page to the shared zero page instead of the page
 * (remap_page() with RMP_USE_SHARED_ZEROPAGE, try_to_map_unused_to_
 * zeropage()), unless the VMA is VM_LOCKED; the page goes. 6.1 keeps
 * every page. Found by make fuzz THP=always KVER=6.12.
 */
#define SHADOW_RULE_SPLIT_ZEROPAGE	SHADOW_KERNEL_SINCE(6, 12)

#endif /* _SHADOW_RULES_H */
