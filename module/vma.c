// SPDX-License-Identifier: GPL-2.0
/*
 * The VMA tree of a shadow address space: lookups, split, merge and the
 * search for an unmapped area, after Linux 6.1's mm/mmap.c and x86-64's
 * arch/x86/kernel/sys_x86_64.c.
 *
 * Every function here runs with mm->mmap_lock held: for writing when it
 * changes the tree, for reading or writing when it only looks. The maple
 * tree uses mmap_lock as its external lock (MT_FLAGS_LOCK_EXTERN), so the
 * tree's own lockdep checks see it.
 *
 * This file includes only vma_internal.h: the user-space harness compiles
 * it unchanged.
 */
#include "vma_internal.h"

/**
 * shadow_find_vma() - the first VMA ending above @addr (find_vma)
 * @mm: the address space
 * @addr: the address
 *
 * Return: the VMA containing @addr or the first one above it, or NULL.
 */
struct shadow_vma *shadow_find_vma(struct shadow_mm *mm, unsigned long addr)
{
	unsigned long index = addr;

	shadow_mmap_assert_locked(mm);
	return mt_find(&mm->mm_mt, &index, ULONG_MAX);
}

/**
 * shadow_find_vma_prev() - find_vma() that also returns the VMA before
 * @mm: the address space
 * @addr: the address
 * @pprev: set to the last VMA below the result, or NULL
 *
 * Return: as shadow_find_vma().
 */
struct shadow_vma *shadow_find_vma_prev(struct shadow_mm *mm,
					unsigned long addr,
					struct shadow_vma **pprev)
{
	struct shadow_vma *vma;

	MA_STATE(mas, &mm->mm_mt, addr, addr);

	shadow_mmap_assert_locked(mm);
	vma = mas_walk(&mas);
	*pprev = mas_prev(&mas, 0);
	if (!vma)
		vma = mas_next(&mas, ULONG_MAX);
	return vma;
}

/**
 * shadow_find_vma_intersection() - the first VMA intersecting [start, end)
 * @mm: the address space
 * @start: first address
 * @end: end address (exclusive), above @start
 *
 * Return: the VMA, or NULL when the range is unmapped.
 */
struct shadow_vma *shadow_find_vma_intersection(struct shadow_mm *mm,
						unsigned long start,
						unsigned long end)
{
	unsigned long index = start;

	shadow_mmap_assert_locked(mm);
	return mt_find(&mm->mm_mt, &index, end - 1);
}

/**
 * shadow_vma_next() - the VMA after @vma
 * @mm: the address space
 * @vma: a VMA in @mm
 *
 * Return: the next VMA, or NULL.
 */
struct shadow_vma *shadow_vma_next(struct shadow_mm *mm,
				   struct shadow_vma *vma)
{
	return shadow_find_vma(mm, vma->vm_end);
}

/**
 * shadow_vma_prev() - the VMA before @vma
 * @mm: the address space
 * @vma: a VMA in @mm
 *
 * Return: the previous VMA, or NULL.
 */
struct shadow_vma *shadow_vma_prev(struct shadow_mm *mm,
				   struct shadow_vma *vma)
{
	MA_STATE(mas, &mm->mm_mt, vma->vm_start, vma->vm_start);

	shadow_mmap_assert_locked(mm);
	mas_walk(&mas);
	return mas_prev(&mas, 0);
}

/* How often a tree store that ran out of memory is retried. */
#define SHADOW_STORE_RETRIES	3

/**
 * shadow_mas_store() - store @entry over [mas->index, mas->last]
 * @mas: the maple state, set to the range
 * @entry: the entry, or NULL to erase
 *
 * Linux 6.1 preallocates maple nodes before a store (mas_preallocate, not
 * exported) so that the store itself cannot fail. mas_store_gfp() instead
 * retries for as long as each round allocates something, which never ends
 * when allocations keep failing after a partial success (under a memcg
 * limit, say). Here a store allocates without blocking and, when that
 * fails, is retried a bounded number of times after waiting for memory.
 *
 * Return: 0, or -ENOMEM with the tree unchanged.
 */
int shadow_mas_store(struct ma_state *mas, void *entry)
{
	unsigned long index = mas->index, last = mas->last;
	int tries = 0, err;

	for (;;) {
		mas_store(mas, entry);
		if (!xa_is_err(mas->node)) {
			mas_destroy(mas);
			return 0;
		}
		err = xa_err(mas->node);
		mas_destroy(mas);
		mas_set_range(mas, index, last);
		if (err != -ENOMEM || ++tries > SHADOW_STORE_RETRIES ||
		    !shadow_mas_nomem_wait())
			return err;
	}
}

/*
 * Make [start, end) of the tree point at @vma, whatever it held there. On
 * failure the tree is unchanged, so callers change a VMA's fields only after
 * its store succeeded.
 */
static int shadow_vma_store_range(struct shadow_mm *mm, struct shadow_vma *vma,
				  unsigned long start, unsigned long end)
{
	MA_STATE(mas, &mm->mm_mt, start, end - 1);

	shadow_mmap_assert_write_locked(mm);
	return shadow_mas_store(&mas, vma);
}

/**
 * shadow_vma_store() - make [vm_start, vm_end) of the tree point at @vma
 * @mm: the address space
 * @vma: the VMA, with its final boundaries
 *
 * Whatever the tree held in that range is overwritten. On failure the tree
 * is unchanged.
 *
 * Return: 0 or -ENOMEM.
 */
int shadow_vma_store(struct shadow_mm *mm, struct shadow_vma *vma)
{
	return shadow_vma_store_range(mm, vma, vma->vm_start, vma->vm_end);
}

/**
 * shadow_vm_area_dup() - copy a VMA (vm_area_dup)
 * @orig: the VMA to copy
 *
 * The copy joins the reverse map of @orig's backings, with references of
 * its own: the shared object's i_mmap (get_file, vma_link) and the list of
 * @orig's anon_vma (anon_vma_clone). Linking allocates nothing: a dup
 * fails only for the VMA itself.
 *
 * Return: the copy, not in any tree, or NULL.
 */
struct shadow_vma *shadow_vm_area_dup(struct shadow_vma *orig)
{
	struct shadow_vma *new = shadow_vm_area_alloc(orig->vm_mm);

	if (!new)
		return NULL;
	*new = *orig;
	new->vm_detach_next = NULL;
	new->anon_vma = NULL;
	if (new->vm_mapping)
		shadow_vma_link_file(new);
	shadow_anon_vma_link(new, orig->anon_vma);
	return new;
}

/**
 * shadow_remove_vma() - free a VMA that is in no tree (remove_vma)
 * @vma: the VMA
 *
 * It leaves the reverse map first (unlink_anon_vmas, unlink_file_vma):
 * no rmap walk can find it once it is freed.
 */
void shadow_remove_vma(struct shadow_vma *vma)
{
	if (vma->vm_mapping)
		shadow_unlink_file_vma(vma);
	shadow_anon_vma_unlink(vma);
	shadow_vm_area_free(vma);
}

/**
 * __shadow_split_vma() - split a VMA in two at @addr (__split_vma)
 * @mm: the address space
 * @vma: the VMA to split; @addr lies strictly inside it
 * @addr: page-aligned split address
 * @new_below: the new VMA takes the part below @addr (1) or above (0)
 *
 * No map_count check: munmap may take map_count one above its limit
 * for a moment. On failure nothing changed.
 *
 * Return: 0, -ENOMEM, or -EINVAL for a special mapping.
 */
int __shadow_split_vma(struct shadow_mm *mm, struct shadow_vma *vma,
		       unsigned long addr, int new_below)
{
	struct shadow_vma *new;
	int err;

	shadow_mmap_assert_write_locked(mm);
	shadow_warn_on(addr <= vma->vm_start || addr >= vma->vm_end);
	/*
	 * special_mapping_split(): the kernel expects a special mapping to
	 * keep its number of pages for its lifetime.
	 */
	if (vma->vm_special)
		return -EINVAL;
	trace_shadow_mm_split_vma(vma, addr, new_below);

	new = shadow_vm_area_dup(vma);
	if (!new)
		return -ENOMEM;

	if (new_below) {
		new->vm_end = addr;
	} else {
		new->vm_start = addr;
		new->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
	}

	/* The new part takes its slots over from @vma in one store. */
	err = shadow_vma_store(mm, new);
	if (err)
		goto out_free_vma;

	/* No PMD leaf may straddle the new boundary (__vma_adjust()). */
	shadow_vma_adjust_trans_huge(mm, addr);
	if (new_below) {
		vma->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
		vma->vm_start = addr;
	} else {
		vma->vm_end = addr;
	}
	mm->map_count++;
	return 0;

out_free_vma:
	shadow_remove_vma(new);
	return err;
}

/**
 * shadow_split_vma() - __shadow_split_vma() within max_map_count
 * @mm: the address space
 * @vma: the VMA to split
 * @addr: page-aligned split address
 * @new_below: as for __shadow_split_vma()
 *
 * Return: 0, or -ENOMEM when the split fails or would exceed the limit.
 */
int shadow_split_vma(struct shadow_mm *mm, struct shadow_vma *vma,
		     unsigned long addr, int new_below)
{
	if (mm->map_count >= shadow_max_map_count)
		return -ENOMEM;
	return __shadow_split_vma(mm, vma, addr, new_below);
}

/*
 * VM_SOFTDIRTY must not keep two VMAs apart: the merged VMA is marked soft
 * dirty by the caller. A VMA with its own shared backing merges only with
 * VMAs of the same backing (Linux compares vm_file).
 */
static bool shadow_is_mergeable_vma(struct shadow_vma *vma,
				    struct shadow_address_space *mapping,
				    unsigned long vm_flags)
{
	if ((vma->vm_flags ^ vm_flags) & ~VM_SOFTDIRTY)
		return false;
	return vma->vm_mapping == mapping;
}

/**
 * shadow_is_mergeable_anon_vma() - may VMAs with these anon_vmas merge?
 * @anon_vma1: the first anon_vma, or NULL
 * @anon_vma2: the second anon_vma, or NULL
 * @vma: the VMA whose anon_vma chain decides when one of them is NULL
 *
 * Linux 6.1 lets a VMA without an anon_vma merge with one that has one
 * only when the latter's chain is singular, i.e. it was not inherited
 * through fork (list_is_singular(&vma->anon_vma_chain)).
 *
 * Return: true when they may merge.
 */
bool shadow_is_mergeable_anon_vma(struct shadow_anon_vma *anon_vma1,
				  struct shadow_anon_vma *anon_vma2,
				  struct shadow_vma *vma)
{
	if ((!anon_vma1 || !anon_vma2) && (!vma || vma->vm_anon_chain == 1))
		return true;
	return anon_vma1 == anon_vma2;
}

/**
 * shadow_can_vma_merge_before() - can a range end where @vma starts?
 * @vma: the VMA after the range
 * @vm_flags: the range's flags
 * @anon_vma: the range's anon_vma, or NULL
 * @mapping: the range's shared backing, or NULL
 * @vm_pgoff: the pgoff the range would have at its end
 *
 * Return: true when the range could become the front of @vma.
 */
bool shadow_can_vma_merge_before(struct shadow_vma *vma,
				 unsigned long vm_flags,
				 struct shadow_anon_vma *anon_vma,
				 struct shadow_address_space *mapping,
				 unsigned long vm_pgoff)
{
	return shadow_is_mergeable_vma(vma, mapping, vm_flags) &&
	       shadow_is_mergeable_anon_vma(anon_vma, vma->anon_vma, vma) &&
	       vma->vm_pgoff == vm_pgoff;
}

/**
 * shadow_can_vma_merge_after() - can a range start where @vma ends?
 * @vma: the VMA before the range
 * @vm_flags: the range's flags
 * @anon_vma: the range's anon_vma, or NULL
 * @mapping: the range's shared backing, or NULL
 * @vm_pgoff: the range's pgoff
 *
 * Return: true when the range could become the tail of @vma.
 */
bool shadow_can_vma_merge_after(struct shadow_vma *vma,
				unsigned long vm_flags,
				struct shadow_anon_vma *anon_vma,
				struct shadow_address_space *mapping,
				unsigned long vm_pgoff)
{
	unsigned long pglen = (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;

	return shadow_is_mergeable_vma(vma, mapping, vm_flags) &&
	       shadow_is_mergeable_anon_vma(anon_vma, vma->anon_vma, vma) &&
	       vma->vm_pgoff + pglen == vm_pgoff;
}

/*
 * The VMA that survives a merge takes over the anon_vma of a VMA it
 * swallows, as __vma_adjust() does with its importer and exporter.
 */
static void shadow_vma_import_anon(struct shadow_vma *importer,
				   struct shadow_vma *exporter)
{
	if (exporter && exporter->anon_vma && !importer->anon_vma) {
		shadow_anon_vma_link(importer, exporter->anon_vma);
		importer->vm_anon_chain = exporter->vm_anon_chain;
	}
}

/*
 * Grow @vma to [start, end) with @pgoff in one tree store, then free the
 * VMAs that the store overwrote, after @vma has taken over their anon_vma
 * (__vma_adjust()'s importer and exporter).
 */
static int shadow_vma_grow(struct shadow_mm *mm, struct shadow_vma *vma,
			   unsigned long start, unsigned long end,
			   unsigned long pgoff, struct shadow_vma *gone1,
			   struct shadow_vma *gone2)
{
	int err;

	err = shadow_vma_store_range(mm, vma, start, end);
	if (err)
		return err;
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
	if (gone1) {
		shadow_vma_import_anon(vma, gone1);
		mm->map_count--;
		shadow_remove_vma(gone1);
	}
	if (gone2) {
		shadow_vma_import_anon(vma, gone2);
		mm->map_count--;
		shadow_remove_vma(gone2);
	}
	return 0;
}

/**
 * shadow_vma_merge() - merge [addr, end) with its neighbours (vma_merge)
 * @mm: the address space
 * @prev: the VMA before @addr (or containing it, for mprotect), or NULL
 * @addr: start of the range
 * @end: end of the range
 * @vm_flags: the flags the range is about to have
 * @anon_vma: the range's anon_vma, or NULL
 * @mapping: the range's shared backing, or NULL
 * @pgoff: the range's pgoff
 *
 * The eight cases of Linux 6.1 (AAAA the range, PPPP prev, NNNN next, FFFF
 * the VMA following next, X in Linux's comment); in cases 4-8 the range
 * is mapped already (mprotect):
 *
 *     AAAA             AAAA                   AAAA
 *    PPPPPPNNNNNN    PPPPPPNNNNNN       PPPPPPNNNNNN
 *    cannot merge    might become       might become
 *                    PPNNNNNNNNNN       PPPPPPPPPPNN
 *    mmap, brk or    case 4 below       case 5 below
 *    mremap move:
 *                        AAAA               AAAA
 *                    PPPP    NNNN       PPPPNNNNFFFF
 *                    might become       might become
 *                    PPPPPPPPPPPP 1 or  PPPPPPPPPPPP 6 or
 *                    PPPPPPPPNNNN 2 or  PPPPPPPPFFFF 7 or
 *                    PPPPNNNNNNNN 3     PPPPFFFFFFFF 8
 *
 * Each case is one tree store of the VMA that survives, so a failed
 * allocation leaves every VMA as it was.
 *
 * Return: the VMA now covering the range, or NULL when nothing merged.
 */
struct shadow_vma *shadow_vma_merge(struct shadow_mm *mm,
				    struct shadow_vma *prev,
				    unsigned long addr, unsigned long end,
				    unsigned long vm_flags,
				    struct shadow_anon_vma *anon_vma,
				    struct shadow_address_space *mapping,
				    unsigned long pgoff)
{
	unsigned long pglen = (end - addr) >> PAGE_SHIFT;
	struct shadow_vma *mid, *next;
	bool merge_prev = false, merge_next = false;

	shadow_mmap_assert_write_locked(mm);
	if (vm_flags & VM_SPECIAL)
		return NULL;

	next = shadow_find_vma(mm, prev ? prev->vm_end : 0);
	mid = next;
	if (next && next->vm_end == end)		/* cases 6, 7, 8 */
		next = shadow_find_vma(mm, next->vm_end);

	shadow_warn_on(prev && addr <= prev->vm_start);
	shadow_warn_on(mid && end > mid->vm_end);
	shadow_warn_on(addr >= end);

	if (prev && prev->vm_end == addr &&
	    shadow_can_vma_merge_after(prev, vm_flags, anon_vma, mapping, pgoff))
		merge_prev = true;
	if (next && end == next->vm_start &&
	    shadow_can_vma_merge_before(next, vm_flags, anon_vma, mapping,
					pgoff + pglen))
		merge_next = true;

	if (merge_prev && merge_next &&
	    shadow_is_mergeable_anon_vma(prev->anon_vma, next->anon_vma,
					 NULL)) {	/* cases 1, 6 */
		if (shadow_vma_grow(mm, prev, prev->vm_start, next->vm_end,
				    prev->vm_pgoff, mid != next ? mid : NULL,
				    next))
			return NULL;
		trace_shadow_mm_vma_merge(prev, mid != next ? 6 : 1);
		return prev;
	}

	if (merge_prev) {				/* cases 2, 5, 7 */
		bool overlap = mid && mid->vm_start < end;
		bool whole = overlap && mid->vm_end == end;

		if (shadow_vma_grow(mm, prev, prev->vm_start, end,
				    prev->vm_pgoff, whole ? mid : NULL, NULL))
			return NULL;
		if (overlap && !whole) {		/* case 5 */
			shadow_vma_adjust_trans_huge(mm, end);
			shadow_vma_import_anon(prev, mid);
			mid->vm_pgoff += (end - mid->vm_start) >> PAGE_SHIFT;
			mid->vm_start = end;
		}
		trace_shadow_mm_vma_merge(prev, whole ? 7 : overlap ? 5 : 2);
		return prev;
	}

	if (merge_next) {
		bool shrink_prev = prev && addr < prev->vm_end;	/* case 4 */

		if (shadow_vma_grow(mm, next, addr, next->vm_end,
				    next->vm_pgoff - pglen,
				    !shrink_prev && mid != next ? mid : NULL,
				    NULL))			/* cases 3, 8 */
			return NULL;
		if (shrink_prev) {
			shadow_vma_adjust_trans_huge(mm, addr);
			shadow_vma_import_anon(next, prev);
			prev->vm_end = addr;
		}
		trace_shadow_mm_vma_merge(next, shrink_prev ? 4 :
					  mid != next ? 8 : 3);
		return next;
	}
	return NULL;
}

/**
 * shadow_vma_expand() - grow @vma over [start, end) (vma_expand)
 * @mm: the address space
 * @vma: the VMA to grow; [start, end) covers it
 * @start: new start
 * @end: new end
 * @pgoff: new pgoff
 * @next: the VMA after @vma, removed when @end reaches its end
 *
 * Traced as a vma_merge of case 0.
 *
 * Return: 0, or -ENOMEM with nothing changed.
 */
int shadow_vma_expand(struct shadow_mm *mm, struct shadow_vma *vma,
		      unsigned long start, unsigned long end,
		      unsigned long pgoff, struct shadow_vma *next)
{
	bool remove_next = next && next != vma && end == next->vm_end;
	int err;

	err = shadow_vma_grow(mm, vma, start, end, pgoff,
			      remove_next ? next : NULL, NULL);
	if (!err)
		trace_shadow_mm_vma_merge(vma, 0);
	return err;
}

/**
 * shadow_vm_start_gap() - start of a VMA including its stack guard gap
 * @vma: the VMA
 *
 * Return: vm_start, less the guard gap below a VM_GROWSDOWN VMA.
 */
unsigned long shadow_vm_start_gap(struct shadow_vma *vma)
{
	unsigned long start = vma->vm_start;

	if (vma->vm_flags & VM_GROWSDOWN) {
		start -= SHADOW_STACK_GUARD_GAP;
		if (start > vma->vm_start)
			start = 0;
	}
	return start;
}

/**
 * shadow_vm_end_gap() - end of a VMA including its guard gap
 * @vma: the VMA
 *
 * Return: vm_end (x86-64 has no VM_GROWSUP).
 */
unsigned long shadow_vm_end_gap(struct shadow_vma *vma)
{
	return vma->vm_end;
}

struct shadow_unmapped_area_info {
	bool topdown;
	unsigned long length;
	unsigned long low_limit;
	unsigned long high_limit;
};

/* Lowest gap of info->length in [low_limit, high_limit) (unmapped_area). */
static unsigned long shadow_unmapped_area(struct shadow_mm *mm,
					  struct shadow_unmapped_area_info *info)
{
	unsigned long length = info->length, gap, low_limit;
	struct shadow_vma *tmp;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	low_limit = info->low_limit;
retry:
	if (mas_empty_area(&mas, low_limit, info->high_limit - 1, length))
		return -ENOMEM;

	gap = mas.index;
	tmp = mas_next(&mas, ULONG_MAX);
	if (tmp && (tmp->vm_flags & VM_GROWSDOWN)) {
		if (shadow_vm_start_gap(tmp) < gap + length - 1) {
			low_limit = tmp->vm_end;
			mas_reset(&mas);
			goto retry;
		}
	} else {
		tmp = mas_prev(&mas, 0);
		if (tmp && shadow_vm_end_gap(tmp) > gap) {
			low_limit = shadow_vm_end_gap(tmp);
			mas_reset(&mas);
			goto retry;
		}
	}
	return gap;
}

/* Highest gap of info->length in [low_limit, high_limit). */
static unsigned long
shadow_unmapped_area_topdown(struct shadow_mm *mm,
			     struct shadow_unmapped_area_info *info)
{
	unsigned long length = info->length, gap, high_limit, gap_end;
	struct shadow_vma *tmp;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	high_limit = info->high_limit;
retry:
	if (mas_empty_area_rev(&mas, info->low_limit, high_limit - 1, length))
		return -ENOMEM;

	gap = mas.last + 1 - info->length;
	gap_end = mas.last;
	tmp = mas_next(&mas, ULONG_MAX);
	if (tmp && (tmp->vm_flags & VM_GROWSDOWN)) {
		if (shadow_vm_start_gap(tmp) <= gap_end) {
			high_limit = shadow_vm_start_gap(tmp);
			mas_reset(&mas);
			goto retry;
		}
	} else {
		tmp = mas_prev(&mas, 0);
		if (tmp && shadow_vm_end_gap(tmp) > gap) {
			high_limit = tmp->vm_start;
			mas_reset(&mas);
			goto retry;
		}
	}
	return gap;
}

static shadow_flow unsigned long
shadow_vm_unmapped_area(struct shadow_mm *mm,
			struct shadow_unmapped_area_info *info)
{
	if (info->low_limit >= info->high_limit ||
	    info->high_limit - info->low_limit < info->length)
		return -ENOMEM;
	if (info->topdown)
		return shadow_unmapped_area_topdown(mm, info);
	return shadow_unmapped_area(mm, info);
}

/* x86-64's hint rule: the range fits and the next VMA's guard gap too. */
static bool shadow_hint_fits(struct shadow_mm *mm, unsigned long addr,
			     unsigned long len, unsigned long end)
{
	struct shadow_vma *vma;

	if (end - len < addr)
		return false;
	vma = shadow_find_vma(mm, addr);
	return !vma || addr + len <= shadow_vm_start_gap(vma);
}

/*
 * x86-64's arch_get_unmapped_area(): bottom-up from the legacy base
 * (mmap_legacy_base: the mmap_base of the legacy layout).
 */
static unsigned long shadow_arch_get_unmapped_area(struct shadow_mm *mm,
						   unsigned long addr,
						   unsigned long len)
{
	struct shadow_unmapped_area_info info = {
		.length = len,
		.low_limit = mm->mmap_legacy ? mm->mmap_base :
			     SHADOW_TASK_UNMAPPED_BASE(mm),
		.high_limit = mm->task_size,
	};

	if (len > mm->task_size)
		return -ENOMEM;
	if (addr) {
		addr = PAGE_ALIGN(addr);
		if (shadow_hint_fits(mm, addr, len, mm->task_size))
			return addr;
	}
	return shadow_vm_unmapped_area(mm, &info);
}

/* x86-64's arch_get_unmapped_area_topdown(), the default layout. */
static unsigned long
shadow_arch_get_unmapped_area_topdown(struct shadow_mm *mm,
				      unsigned long addr0, unsigned long len)
{
	struct shadow_unmapped_area_info info = {
		.topdown = true,
		.length = len,
		.low_limit = PAGE_SIZE,
		.high_limit = mm->mmap_base,
	};
	unsigned long addr = addr0;

	if (len > mm->task_size)
		return -ENOMEM;
	if (addr) {
		addr &= PAGE_MASK;
		if (shadow_hint_fits(mm, addr, len, mm->task_size))
			return addr;
	}
	addr = shadow_vm_unmapped_area(mm, &info);
	if (!offset_in_page(addr))
		return addr;

	/*
	 * A failed mmap() very likely causes application failure, so fall
	 * back to the bottom-up search, as Linux does.
	 */
	return shadow_arch_get_unmapped_area(mm, addr0, len);
}

/* PMD_SIZE on x86-64: the size of a transparent huge page. */
#define SHADOW_THP_SIZE		(512 * PAGE_SIZE)

/*
 * __thp_get_unmapped_area() for anonymous memory (offset 0): room for @len
 * plus a huge page, then the range inside it that starts on a huge-page
 * boundary (on the top-down layout the top one when the room already
 * does). 0 when there is no such room: the caller searches again without
 * the padding.
 */
static unsigned long shadow_thp_get_unmapped_area(struct shadow_mm *mm,
						  unsigned long len)
{
	unsigned long len_pad = len + SHADOW_THP_SIZE, ret, off_sub;

	if (len_pad < len)
		return 0;
	if (mm->mmap_legacy)
		ret = shadow_arch_get_unmapped_area(mm, 0, len_pad);
	else
		ret = shadow_arch_get_unmapped_area_topdown(mm, 0, len_pad);
	if (IS_ERR_VALUE(ret))
		return 0;
	off_sub = (0 - ret) & (SHADOW_THP_SIZE - 1);
	if (!off_sub && !mm->mmap_legacy)
		return ret + SHADOW_THP_SIZE;
	return ret + off_sub;
}

/**
 * shadow_get_unmapped_area() - choose where a new mapping goes
 * @mm: the address space
 * @file: the file object of a file or shared mapping, or NULL
 * @addr: the hint, or the address itself with MAP_FIXED
 * @len: page-aligned length
 * @pgoff: the mapping's pgoff
 * @flags: MAP_* flags
 *
 * A private anonymous mapping without a hint whose length is a multiple of
 * a huge page starts on a huge-page boundary where the rules say so
 * (SHADOW_RULE_THP_ALIGN_ANON, __get_unmapped_area()).
 *
 * Return: the address, or -ENOMEM (no room, beyond the user address space),
 * -EINVAL (an unaligned fixed address) or -EPERM (below mmap_min_addr).
 */
shadow_flow unsigned long shadow_get_unmapped_area(struct shadow_mm *mm,
						   struct shadow_address_space *file,
						   unsigned long addr,
						   unsigned long len,
						   unsigned long pgoff,
						   unsigned long flags)
{
	unsigned long thp_addr = 0;

	if (len > mm->task_size)
		return -ENOMEM;

	if (SHADOW_RULE_THP_ALIGN_ANON && !(flags & (MAP_FIXED | MAP_SHARED)) &&
	    !file && !addr && !(len & (SHADOW_THP_SIZE - 1)))
		thp_addr = shadow_thp_get_unmapped_area(mm, len);
	if (thp_addr)
		addr = thp_addr;
	else if (!(flags & MAP_FIXED) && mm->mmap_legacy)
		addr = shadow_arch_get_unmapped_area(mm, addr, len);
	else if (!(flags & MAP_FIXED))
		addr = shadow_arch_get_unmapped_area_topdown(mm, addr, len);
	if (IS_ERR_VALUE(addr))
		return addr;

	if (addr > mm->task_size - len)
		return -ENOMEM;
	if (offset_in_page(addr))
		return -EINVAL;
	/* security_mmap_addr(): the shadow task lacks CAP_SYS_RAWIO. */
	if (addr < mm->mmap_min_addr)
		return -EPERM;
	return addr;
}

/**
 * shadow_validate_mm() - check the tree against the counters (validate_mm)
 * @mm: the address space, mmap_lock held
 *
 * Return: 0 when every VMA is sane, sorted, non-overlapping, owned by @mm
 * and map_count matches; -EINVAL otherwise.
 */
int shadow_validate_mm(struct shadow_mm *mm)
{
	struct shadow_vma *vma;
	unsigned long last_end = 0;
	int count = 0;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	shadow_mmap_assert_locked(mm);
	mas_for_each(&mas, vma, ULONG_MAX) {
		if (vma->vm_start >= vma->vm_end || vma->vm_start < last_end ||
		    vma->vm_mm != mm || offset_in_page(vma->vm_start) ||
		    offset_in_page(vma->vm_end) ||
		    mas.index != vma->vm_start || mas.last != vma->vm_end - 1)
			return -EINVAL;
		last_end = vma->vm_end;
		count++;
	}
	return count == mm->map_count ? 0 : -EINVAL;
}
