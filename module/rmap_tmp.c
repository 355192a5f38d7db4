// SPDX-License-Identifier: GPL-2.0
/*
 * TEMPORARY stand-in for the reverse map of rmap.c (branch rmap), to test
 * reclaim before it lands: finds a page's mappings by scanning every PTE
 * of every address space. Dropped at the merge.
 */
#include "internal.h"

struct shadow_tmp_walk {
	struct shadow_vma *vma;
	struct page *page;
	bool unmap;
	bool stop;
	unsigned long *vm_flags;
	unsigned long count;
};

static int shadow_tmp_pte(pte_t *ptep, unsigned long addr,
			  unsigned long next, struct shadow_pagewalk *walk)
{
	struct shadow_tmp_walk *w = walk->private;
	struct shadow_mm *mm = walk->mm;
	struct shadow_page *sp;
	pte_t pte = *ptep;

	if (!pte_present(pte) || pte_special(pte) || pte_page(pte) != w->page)
		return 0;
	sp = shadow_page_meta(w->page);
	if (!w->unmap) {
		*w->vm_flags |= w->vma->vm_flags;
		if (pte_young(pte)) {
			set_pte(ptep, pte_mkold(pte));
			w->count++;
		}
		return 0;
	}
	if (w->vma->vm_flags & VM_LOCKED) {
		w->stop = true;
		return 1;
	}
	if (!sp->shmem && !sp->swap) {
		w->stop = true;
		return 1;
	}
	if (pte_dirty(pte))
		sp->dirty = true;
	if (sp->shmem) {
		set_pte(ptep, __pte(0));
		mm->rss_shmem--;
	} else {
		swp_entry_t entry = { .val = sp->swap };
		pte_t swp_pte;

		shadow_swap_duplicate(entry);
		swp_pte = swp_entry_to_pte(entry);
		if (sp->anon_exclusive) {
			swp_pte = pte_swp_mkexclusive(swp_pte);
			sp->anon_exclusive = false;
		}
		set_pte(ptep, swp_pte);
		mm->nr_swapents++;
		mm->swapouts++;
		mm->rss_anon--;
	}
	atomic_dec(&sp->mapcount);
	shadow_put_page(w->page);
	w->count++;
	return 0;
}

static const struct shadow_pagewalk_ops shadow_tmp_ops = {
	.pte_entry = shadow_tmp_pte,
};

static unsigned long shadow_tmp_walk(struct page *page,
				     struct shadow_mm *locked_mm, bool *busy,
				     bool unmap, unsigned long *vm_flags)
{
	struct shadow_tmp_walk w = {
		.page = page, .unmap = unmap, .vm_flags = vm_flags,
	};
	struct shadow_mm *mm = NULL;

	while ((mm = shadow_mmlist_next(mm))) {
		struct shadow_vma *vma;

		if (mm != locked_mm && !down_read_trylock(&mm->mmap_lock)) {
			*busy = true;
			continue;
		}
		{
			MA_STATE(mas, &mm->mm_mt, 0, 0);

			mas_for_each(&mas, vma, ULONG_MAX) {
				w.vma = vma;
				shadow_walk_page_range(mm, vma->vm_start,
						       vma->vm_end,
						       &shadow_tmp_ops, &w);
				if (w.stop)
					break;
			}
		}
		if (mm != locked_mm)
			up_read(&mm->mmap_lock);
		if (w.stop) {
			shadow_mmput_async(mm);
			break;
		}
	}
	return w.count;
}

int shadow_page_referenced(struct page *page, struct shadow_mm *locked_mm,
			   unsigned long *vm_flags, bool *busy)
{
	return shadow_tmp_walk(page, locked_mm, busy, false, vm_flags);
}

unsigned long shadow_try_to_unmap(struct page *page,
				  struct shadow_mm *locked_mm, bool *busy)
{
	unsigned long flags = 0;

	return shadow_tmp_walk(page, locked_mm, busy, true, &flags);
}

void shadow_page_add_anon_rmap(struct page *page, struct shadow_vma *vma,
			       unsigned long addr, bool exclusive)
{
}
