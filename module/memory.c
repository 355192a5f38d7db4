// SPDX-License-Identifier: GPL-2.0
/*
 * Data pages of shadow address spaces and their removal, after
 * mm/memory.c's zap_pte_range()/unmap_vmas() and free_pgtables(), and
 * access_remote_vm(), with get_user_pages' rules (gup.c).
 *
 * The engine never touches a page's _mapcount or mapping: its own metadata
 * (struct shadow_page) hangs off page->private of pages it allocated, and
 * the zero page is mapped with a special PTE and no metadata. The struct
 * page keeps the one reference of its allocation until the engine frees it;
 * the engine counts its own references in the metadata: one per PTE that
 * maps the page (which also counts in the shadow mapcount), one from the
 * shmem object that holds a shared anonymous page, one per user in flight.
 */
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"

static atomic64_t shadow_last_page_id;

/**
 * shadow_alloc_page() - a zeroed data page with fresh shadow metadata
 * @anon_exclusive: start as an exclusive anonymous page
 *
 * Return: the page with one (engine) reference and mapcount 0, or NULL.
 */
struct page *shadow_alloc_page(bool anon_exclusive)
{
	struct shadow_page *sp;
	struct page *page;

	sp = kzalloc(sizeof(*sp), SHADOW_GFP);
	if (!sp)
		return NULL;
	page = alloc_page(SHADOW_GFP | __GFP_ZERO);
	if (!page) {
		kfree(sp);
		return NULL;
	}
	atomic_set(&sp->refs, 1);
	sp->id = atomic64_inc_return(&shadow_last_page_id);
	sp->anon_exclusive = anon_exclusive;
	set_page_private(page, (unsigned long)sp);
	atomic_long_inc(&shadow_counters.pages);
	return page;
}

/**
 * shadow_alloc_folio() - a zeroed PMD-sized folio with fresh metadata
 * (vma_alloc_folio(GFP_TRANSHUGE_LIGHT, HPAGE_PMD_ORDER))
 *
 * Return: the folio with one reference, unmapped, its head anon-exclusive
 * (the folio's bit), its pages' ids consecutive as a THP's pfns are; or
 * NULL: like the real fault it tries once without retrying reclaim and
 * fails quietly, and the fault falls back to 4 KiB pages.
 */
struct shadow_folio *shadow_alloc_folio(void)
{
	struct shadow_folio *folio;
	struct page *page;
	u64 id;
	int i;

	folio = kvzalloc(struct_size(folio, pages, SHADOW_HPAGE_PMD_NR),
			 SHADOW_GFP);
	if (!folio)
		return NULL;
	page = alloc_pages(SHADOW_GFP | __GFP_ZERO | __GFP_NORETRY |
			   __GFP_NOWARN, SHADOW_HPAGE_PMD_ORDER);
	if (!page) {
		kvfree(folio);
		return NULL;
	}
	atomic_set(&folio->refs, 1);
	folio->head = page;
	INIT_LIST_HEAD(&folio->deferred_list);
	id = atomic64_add_return(SHADOW_HPAGE_PMD_NR, &shadow_last_page_id) -
	     SHADOW_HPAGE_PMD_NR + 1;
	for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++) {
		folio->pages[i].id = id + i;
		folio->pages[i].folio = folio;
		set_page_private(page + i, (unsigned long)&folio->pages[i]);
	}
	folio->pages[0].anon_exclusive = true;
	atomic_long_add(SHADOW_HPAGE_PMD_NR, &shadow_counters.pages);
	atomic_long_inc(&shadow_counters.thp);
	return folio;
}

/* The last reference of a folio went: pages, metadata and rmap go. */
static void shadow_free_folio(struct shadow_folio *folio)
{
	int i;

	/* free_transhuge_page(): off the deferred split queue. */
	shadow_folio_undefer(folio);
	for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++) {
		shadow_page_free_rmap(&folio->pages[i]);
		set_page_private(folio->head + i, 0);
	}
	__free_pages(folio->head, SHADOW_HPAGE_PMD_ORDER);
	atomic_long_sub(SHADOW_HPAGE_PMD_NR, &shadow_counters.pages);
	atomic_long_dec(&shadow_counters.thp);
	/* vfree() may sleep: the last put may hold a page_table_lock. */
	kvfree_rcu(folio, rcu);
}

/**
 * shadow_get_page() - take an engine reference to a data page
 * @page: the page; a page of a THP references its folio (get_page of a
 *        tail page)
 */
void shadow_get_page(struct page *page)
{
	struct shadow_page *sp = shadow_page_meta(page);

	atomic_inc(sp->folio ? &sp->folio->refs : &sp->refs);
}

/**
 * shadow_put_folio() - drop an engine reference to a THP (folio_put)
 * @folio: the folio; it goes with the last reference
 */
void shadow_put_folio(struct shadow_folio *folio)
{
	if (atomic_dec_and_test(&folio->refs))
		shadow_free_folio(folio);
}

/**
 * shadow_put_page() - drop an engine reference to a data page
 * @page: the page; it and its metadata go with the last reference
 */
void shadow_put_page(struct page *page)
{
	struct shadow_page *sp = shadow_page_meta(page);

	if (sp->file) {
		shadow_file_put_page(page);
		return;
	}
	if (sp->folio) {
		shadow_put_folio(sp->folio);
		return;
	}
	if (atomic_dec_and_test(&sp->refs))
		shadow_free_page(page, sp);
}

/**
 * shadow_free_page() - free a small data page and its metadata
 * @page: the page, which nothing references any more
 * @sp: its metadata
 */
void shadow_free_page(struct page *page, struct shadow_page *sp)
{
	shadow_page_free_rmap(sp);
	set_page_private(page, 0);
	kfree(sp);
	atomic_long_dec(&shadow_counters.pages);
	__free_page(page);
}

/*
 * Let go of what one PTE, already cleared or about to go with its table,
 * held (the body of zap_pte_range's loop): a swap entry its hold on the
 * slot (free_swap_and_cache); a page its mapping and reference
 * (page_remove_rmap + put), marked dirty first if it is a file page and
 * the PTE was dirty (set_page_dirty); a swap cache page nothing maps or
 * holds any more leaves the cache (free_pages_and_swap_cache). Called with
 * page_table_lock held.
 */
static void shadow_zap_pte(struct shadow_mm *mm, pte_t ptent)
{
	struct shadow_page *sp;
	struct page *page;

	shadow_pt_assert_locked(mm);
	if (pte_none(ptent))
		return;
	if (!pte_present(ptent)) {
		shadow_free_swap_and_cache(pte_to_swp_entry(ptent));
		mm->nr_swapents--;
		return;
	}
	if (pte_special(ptent))
		return;
	page = pte_page(ptent);
	sp = shadow_page_meta(page);
	if (sp->file && pte_dirty(ptent))
		shadow_file_page_mkdirty(page);
	/*
	 * page_remove_rmap(): a page of a THP that no PTE maps any more
	 * queues its folio for a deferred split (6.1 queues it whether or
	 * not the rest of the folio is still mapped; freed, it leaves).
	 */
	if (atomic_dec_and_test(&sp->mapcount) && sp->folio)
		shadow_deferred_split_folio(sp->folio);
	(*shadow_mm_counter(mm, sp))--;
	shadow_free_swap_cache(page);
	shadow_put_page(page);
}

/* Clear the PTEs of [addr, end) in one PTE table (zap_pte_range). */
static void shadow_zap_pte_range(struct shadow_mm *mm, pte_t *pte,
				 unsigned long addr, unsigned long end)
{
	spin_lock(&mm->page_table_lock);
	for (; addr != end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = *pte;

		if (pte_none(ptent))
			continue;
		shadow_set_pte(pte, __pte(0));
		shadow_zap_pte(mm, ptent);
	}
	spin_unlock(&mm->page_table_lock);
}

/*
 * Clear the PTEs of [addr, end) that map a page-cache page its file let
 * go of (page->mapping cleared by a truncation or a hole punch), and
 * only those: unmap_mapping_range() without even_cows keeps the private
 * copies of a file's pages, and a PTE mapping the file's current page
 * stays too.
 */
static void shadow_zap_stale_pte_range(struct shadow_mm *mm, pte_t *pte,
				       unsigned long addr, unsigned long end)
{
	spin_lock(&mm->page_table_lock);
	for (; addr != end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = *pte;
		struct page *page;

		if (!pte_present(ptent) || pte_special(ptent))
			continue;
		page = pte_page(ptent);
		if (!shadow_page_meta(page)->file || READ_ONCE(page->mapping))
			continue;
		shadow_set_pte(pte, __pte(0));
		shadow_zap_pte(mm, ptent);
	}
	spin_unlock(&mm->page_table_lock);
}

/*
 * Apply @fn to each PTE table of [addr, end), one table's part at a time:
 * a zap and MADV_FREE change PTEs and cannot fail, so a table an
 * on-demand fork shares breaks with __GFP_NOFAIL first (pgtable.c's rule
 * 1). A range without a table is skipped.
 */
static __always_inline void
shadow_pte_range_nofail(struct shadow_mm *mm, unsigned long addr,
			unsigned long end,
			void (*fn)(struct shadow_mm *mm, pte_t *pte,
				   unsigned long addr, unsigned long end),
			bool (*huge)(struct shadow_mm *mm, unsigned long *pmd,
				     unsigned long addr))
{
	unsigned long next, *pmd;
	int err;

	while (addr < end) {
		pte_t *pte;

		next = shadow_pmd_addr_end(addr, end);
		/*
		 * A leaf the range covers whole goes whole (zap_huge_pmd());
		 * one it covers in part is split on the way to its PTEs.
		 */
		pmd = huge && next - addr == SHADOW_PMD_SIZE ?
		      shadow_pmd_entry(mm, addr, false) : NULL;
		if (pmd && shadow_pmd_trans_huge(READ_ONCE(*pmd)) &&
		    huge(mm, pmd, addr)) {
			addr = next;
			continue;
		}
		pte = shadow_pte_lookup_for_write(mm, addr, SHADOW_GFP_NOFAIL,
						  &err);
		if (pte)
			fn(mm, pte, addr, next);
		addr = next;
		cond_resched();
	}
}

/* zap_page_range_single(): every PTE of [start, end) inside @vma. */
static shadow_flow void shadow_zap_page_range(struct shadow_mm *mm,
					      struct shadow_vma *vma,
					      unsigned long start,
					      unsigned long end)
{
	shadow_pte_range_nofail(mm, max(start, vma->vm_start),
				min(end, vma->vm_end), shadow_zap_pte_range,
				shadow_zap_huge_pmd);
}

/**
 * shadow_zap_page_range_single() - drop the PTEs of [start, end) of @vma
 * @mm: the address space, mmap_lock held (for reading is enough)
 * @vma: the VMA, which stays mapped
 * @start: start of the range
 * @end: its end
 *
 * MADV_DONTNEED's zap_page_range_single(): the pages go, the page tables
 * stay; the next touch faults afresh (zeroes for private memory, the
 * object's page for shared memory).
 */
void shadow_zap_page_range_single(struct shadow_mm *mm,
				  struct shadow_vma *vma, unsigned long start,
				  unsigned long end)
{
	shadow_mmap_assert_locked(mm);
	shadow_zap_page_range(mm, vma, start, end);
}

/*
 * unmap_mapping_range_tree() for one address space, under its mmap_lock:
 * the PTEs of every VMA of @mm mapping pages @first..@last of @mapping.
 */
static void shadow_unmap_mapping_mm(struct shadow_mm *mm,
				    struct shadow_address_space *mapping,
				    pgoff_t first, pgoff_t last, bool stale)
{
	struct shadow_vma *vma;
	unsigned long start, end;

	shadow_mmap_assert_write_locked(mm);
	for (vma = shadow_find_vma(mm, 0); vma; vma = shadow_vma_next(mm, vma)) {
		unsigned long vba = vma->vm_pgoff;
		unsigned long vea = vba +
				    ((vma->vm_end - vma->vm_start) >> PAGE_SHIFT) - 1;

		if (vma->vm_mapping != mapping || vea < first || vba > last)
			continue;
		start = vma->vm_start + ((max(first, vba) - vba) << PAGE_SHIFT);
		end = vma->vm_start + ((min(last, vea) - vba + 1) << PAGE_SHIFT);
		if (stale)
			shadow_pte_range_nofail(mm, start, end,
						shadow_zap_stale_pte_range,
						NULL);
		else
			shadow_zap_page_range(mm, vma, start, end);
	}
}

/*
 * The next address space with a VMA mapping pages @first..@last of @obj
 * that is not in @done[0..@nr): pinned (mmgrab), or NULL.
 */
static struct shadow_mm *shadow_unmap_mapping_next(struct shadow_inode *obj,
						   pgoff_t first, pgoff_t last,
						   struct shadow_mm **done,
						   unsigned int nr)
{
	struct shadow_mm *mm = NULL;
	struct shadow_vma *vma;
	unsigned int i;

	down_read(&obj->i_mmap_rwsem);
	list_for_each_entry(vma, &obj->i_mmap, i_mmap_node) {
		struct shadow_mm *vmm = READ_ONCE(vma->vm_mm);

		if (vma->vm_pgoff > last || vma->vm_pgoff +
		    ((vma->vm_end - vma->vm_start) >> PAGE_SHIFT) - 1 < first)
			continue;
		for (i = 0; i < nr && done[i] != vmm; i++)
			;
		if (i < nr)
			continue;
		/* The VMA on the list keeps its mm's struct until we pin it. */
		atomic_inc(&vmm->mm_count);
		mm = vmm;
		break;
	}
	up_read(&obj->i_mmap_rwsem);
	return mm;
}

/**
 * __shadow_unmap_mapping_range() - drop the PTEs mapping pages
 * @first..@last of an object in every address space (unmap_mapping_range)
 * @mapping: the object, pinned by the caller
 * @first: the first page index
 * @last: the last page index
 * @stale: only the PTEs of page-cache pages their file let go of (a file
 *         object's, after a hole punch); else every PTE (a shared
 *         anonymous object's: every VMA maps it shared, there are no
 *         private COW copies to keep, even_cows does not matter)
 *
 * Linux zaps other address spaces under i_mmap_rwsem alone; here an
 * address space's page tables belong to its mmap_lock (rmap.c's rules),
 * which the i_mmap_rwsem may not wait for. So the address spaces are
 * visited one at a time, each pinned under the
 * i_mmap_rwsem, then zapped with only its mmap_lock held, for writing: a
 * fault that found a page before the caller took it out of the object is
 * over by then, and its PTE goes too; a later fault finds the hole. An
 * address space forked meanwhile from one not yet visited is found by a
 * later look at the list, one forked from a visited one copied no PTE of
 * the range. An address space on its way out (no user left) is left to
 * its exit_mmap. The caller holds no mmap_lock.
 */
void __shadow_unmap_mapping_range(struct shadow_address_space *mapping,
				  pgoff_t first, pgoff_t last, bool stale)
{
	struct shadow_inode *obj = to_shadow_inode(mapping);
	struct shadow_mm **done = NULL;
	unsigned int nr = 0, i;
	struct shadow_mm *mm;

	while ((mm = shadow_unmap_mapping_next(obj, first, last, done, nr))) {
		/* A visited address space is never visited again. */
		if (!(nr & (nr + 1)))
			done = krealloc_array(done, 2 * nr + 1, sizeof(*done),
					      SHADOW_GFP_NOFAIL);
		done[nr++] = mm;
		if (!shadow_mmget_not_zero(mm))
			continue;
		shadow_mmap_write_lock(mm);
		shadow_unmap_mapping_mm(mm, mapping, first, last, stale);
		shadow_mmap_write_unlock(mm);
		shadow_mmput(mm);
		cond_resched();
	}
	for (i = 0; i < nr; i++)
		shadow_mmdrop(done[i]);
	kfree(done);
}

struct shadow_detach_range {
	unsigned long start;
	unsigned long end;
};

/*
 * A marked PTE table wholly inside an unmapped range goes without a copy
 * and without touching a page (pgtable.c's rule 4): @mm drops its entry,
 * takes the table's pages out of its rss and lets go of its share of the
 * table, as free_pgtables() would right after. The last holder's put
 * releases the pages.
 */
static int shadow_detach_shared_pmd(unsigned long pmdval, unsigned long addr,
				    unsigned long next,
				    struct shadow_pagewalk *walk)
{
	struct shadow_detach_range *r = walk->private;
	struct shadow_mm *mm = walk->mm;
	unsigned long *pmd;
	void *table;

	if (!shadow_pmd_shared(pmdval) || addr & (SHADOW_PMD_SIZE - 1) ||
	    addr < r->start || addr + SHADOW_PMD_SIZE - 1 > r->end - 1)
		return 0;
	pmd = shadow_pmd_entry(mm, addr, false);
	spin_lock(&mm->page_table_lock);
	table = shadow_entry_table(*pmd);
	shadow_pt_uncount(mm, table);
	WRITE_ONCE(*pmd, 0);
	mm->nr_ptes--;
	spin_unlock(&mm->page_table_lock);
	shadow_pt_share_put(mm, table);
	return 0;
}

static const struct shadow_pagewalk_ops shadow_detach_ops = {
	.pmd_entry = shadow_detach_shared_pmd,
};

/**
 * shadow_unmap_vmas() - drop the PTEs of [start, end) in @vmas (unmap_vmas)
 * @mm: the address space, mmap_lock held for writing
 * @vmas: the detached VMAs, linked by vm_detach_next
 * @start: start of the range
 * @end: end of the range
 *
 * Every VMA meeting the range is in @vmas, and free_pgtables() follows:
 * the shared PTE tables wholly inside the range are let go of without a
 * copy (munmap and exit of an on-demand fork); the others break on the
 * way (shadow_zap_page_range).
 */
shadow_flow void shadow_unmap_vmas(struct shadow_mm *mm,
				   struct shadow_vma *vmas,
				   unsigned long start, unsigned long end)
{
	struct shadow_detach_range r = {
		.start = start,
		.end = min(end, mm->task_size),
	};

	shadow_mmap_assert_write_locked(mm);
	if (r.start < r.end)
		shadow_walk_page_range(mm, r.start, r.end, &shadow_detach_ops,
				       &r);
	for (; vmas; vmas = vmas->vm_detach_next)
		shadow_zap_page_range(mm, vmas, start, end);
}

/**
 * shadow_free_pgtables() - free the page tables under @vmas (free_pgtables)
 * @mm: the address space, mmap_lock held for writing
 * @vmas: the detached VMAs, in address order
 * @floor: the end of the VMA below, which may still use a table (0: none)
 * @ceiling: the start of the VMA above (0: none)
 */
shadow_flow void shadow_free_pgtables(struct shadow_mm *mm,
				      struct shadow_vma *vmas,
				      unsigned long floor,
				      unsigned long ceiling)
{
	struct shadow_vma *last = vmas;

	shadow_mmap_assert_write_locked(mm);
	if (!vmas)
		return;
	while (last->vm_detach_next)
		last = last->vm_detach_next;
	shadow_free_pgd_range(mm, vmas->vm_start, last->vm_end, floor,
			      ceiling);
}

/**
 * shadow_mapping_get() - take a reference on an address space's object
 * (get_file)
 * @mapping: the object
 */
void shadow_mapping_get(struct shadow_address_space *mapping)
{
	refcount_inc(&mapping->ref);
}

/**
 * shadow_mapping_put() - drop a reference; the last frees object and pages
 * (fput)
 * @mapping: the object
 *
 * A file's object goes back to filemap.c, a shared anonymous one to
 * shmem.c's shadow_shmem_evict_inode().
 */
void shadow_mapping_put(struct shadow_address_space *mapping)
{
	struct shadow_inode *obj = to_shadow_inode(mapping);

	if (!refcount_dec_and_test(&mapping->ref))
		return;
	if (mapping->file) {
		shadow_file_object_release(obj);
		return;
	}
	shadow_shmem_evict_inode(obj);
}

/**
 * shadow_vma_link_file() - a VMA maps its object (get_file, vma_link)
 * @vma: the VMA, whose vm_mapping is set; its mm's mmap_lock held for
 *       writing
 *
 * The VMA takes a reference on the object and joins its i_mmap list, where
 * the rmap walks of the object's pages find it. Never fails.
 */
void shadow_vma_link_file(struct shadow_vma *vma)
{
	struct shadow_inode *obj = to_shadow_inode(vma->vm_mapping);

	shadow_mmap_assert_write_locked(vma->vm_mm);
	shadow_mapping_get(&obj->i_data);
	down_write(&obj->i_mmap_rwsem);
	list_add_tail(&vma->i_mmap_node, &obj->i_mmap);
	up_write(&obj->i_mmap_rwsem);
}

/**
 * shadow_unlink_file_vma() - a VMA no longer maps its object
 * (unlink_file_vma, fput)
 * @vma: the VMA, whose vm_mapping is set; its mm's mmap_lock held for
 *       writing
 *
 * The VMA leaves the object's i_mmap list and drops its reference; the
 * last one frees the object. vm_mapping stays set: the VMA is on its way
 * out.
 */
void shadow_unlink_file_vma(struct shadow_vma *vma)
{
	struct shadow_inode *obj = to_shadow_inode(vma->vm_mapping);

	shadow_mmap_assert_write_locked(vma->vm_mm);
	down_write(&obj->i_mmap_rwsem);
	list_del(&vma->i_mmap_node);
	up_write(&obj->i_mmap_rwsem);
	shadow_mapping_put(&obj->i_data);
}

/**
 * shadow_swapin_readahead_range() - read the swapped-out pages of
 * [start, end) of @vma back (MADV_WILLNEED's force_swapin_readahead and
 * shmem_swapin_range)
 * @mm: the address space, mmap_lock held for reading
 * @vma: the VMA
 * @start: start of the range, inside @vma
 * @end: its end
 *
 * A private page goes into the swap cache, where its fault will find it;
 * a shared one back into its object. Nothing is mapped; a page that
 * cannot be had (no memory) is left out.
 */
void shadow_swapin_readahead_range(struct shadow_mm *mm,
				   struct shadow_vma *vma, unsigned long start,
				   unsigned long end)
{
	unsigned long addr;

	shadow_mmap_assert_locked(mm);
	if (start >= end)
		return;
	if (vma->vm_mapping && !vma->vm_mapping->file) {
		shadow_shmem_swapin_range(vma->vm_mapping,
					  vma->vm_pgoff +
					  ((start - vma->vm_start) >> PAGE_SHIFT),
					  vma->vm_pgoff +
					  ((end - 1 - vma->vm_start) >> PAGE_SHIFT));
		return;
	}
	for (addr = start; addr < end; addr += PAGE_SIZE) {
		struct page *page;
		swp_entry_t entry;
		bool major;
		pte_t *pte;
		pte_t ptent;

		/* The table may be shared: looked up under the lock. */
		spin_lock(&mm->page_table_lock);
		pte = shadow_pte_lookup_locked(mm, addr, NULL);
		ptent = pte ? *pte : __pte(0);
		spin_unlock(&mm->page_table_lock);
		if (!pte) {
			addr = shadow_pmd_addr_end(addr, end) - PAGE_SIZE;
			continue;
		}
		if (!is_swap_pte(ptent))
			continue;
		entry = pte_to_swp_entry(ptent);
		if (non_swap_entry(entry))
			continue;
		page = shadow_swapin(entry, &major);
		if (IS_ERR_OR_NULL(page))
			continue;
		shadow_put_page(page);
		cond_resched();
	}
}

/*
 * madvise_free_pte_range() on one PTE table of @mm: a swap entry is
 * dropped (the address reads zeroes again); a present private anonymous
 * page only this PTE maps leaves the swap cache, loses PG_dirty and its
 * PTE's young and dirty bits, and becomes lazyfree (mark_page_lazyfree).
 * The caller broke any share of the table: a page it mapped is mapped by
 * every sharer since, and skipped.
 */
static void shadow_madvise_free_pte_range(struct shadow_mm *mm, pte_t *pte,
					  unsigned long addr, unsigned long end)
{
	spin_lock(&mm->page_table_lock);
	for (; addr != end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = *pte;
		struct shadow_page *sp;
		swp_entry_t entry;

		if (pte_none(ptent))
			continue;
		if (!pte_present(ptent)) {
			entry = pte_to_swp_entry(ptent);
			if (non_swap_entry(entry))
				continue;
			shadow_set_pte(pte, __pte(0));
			shadow_free_swap_and_cache(entry);
			mm->nr_swapents--;
			continue;
		}
		if (pte_special(ptent))
			continue;
		sp = shadow_page_meta(pte_page(ptent));
		/*
		 * A THP left: shadow_madvise_split_folios() stopped the range
		 * before a THP it could not split; one mapped meanwhile ends
		 * the table too.
		 */
		if (sp->folio)
			break;
		if (sp->file || sp->shmem || atomic_read(&sp->mapcount) != 1)
			continue;
		if (READ_ONCE(sp->swap) &&
		    !shadow_try_to_free_swap(pte_page(ptent)))
			continue;
		WRITE_ONCE(sp->dirty, false);
		if (pte_young(ptent) || pte_dirty(ptent))
			shadow_set_pte(pte, pte_mkclean(pte_mkold(ptent)));
		WRITE_ONCE(sp->lazyfree, true);
	}
	spin_unlock(&mm->page_table_lock);
}

/**
 * shadow_madvise_free_range() - MADV_FREE's page-table work on [start, end)
 * of @vma (madvise_free_single_vma)
 * @mm: the address space, mmap_lock held for reading
 * @vma: a private anonymous VMA
 * @start: start of the range, inside @vma
 * @end: its end
 *
 * Changing PTEs writes the tables: a shared one breaks first, as for a
 * zap (pgtable.c's rule 1), and cannot fail.
 */
void shadow_madvise_free_range(struct shadow_mm *mm, struct shadow_vma *vma,
			       unsigned long start, unsigned long end)
{
	unsigned long next;

	shadow_mmap_assert_locked(mm);
	/*
	 * madvise_free_pte_range(): a leaf goes through
	 * madvise_free_huge_pmd(), which keeps it whole and lazyfree, or
	 * splits its folio when the range covers part of it.
	 */
	for (; start < end; start = next) {
		next = shadow_pmd_addr_end(start, end);
		if (!shadow_madvise_free_huge_pmd(mm, start, next))
			shadow_pte_range_nofail(mm, start,
						shadow_madvise_split_folios(mm, start, next),
						shadow_madvise_free_pte_range,
						NULL);
	}
}

/**
 * shadow_access_remote_vm() - read or write bytes of an address space
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
 * Stops at the first page it may not access (access_process_vm). An
 * access that starts below a VM_GROWSDOWN VMA grows it first, as
 * __access_remote_vm() does.
 *
 * Return: 0, -EFAULT (past the end of a shared object), -ENOMEM, or
 * -EINTR.
 */
int shadow_access_remote_vm(struct shadow_mm *mm, unsigned long addr,
			    void *buf, unsigned long len, bool write, bool force,
			    unsigned long *done)
{
	struct shadow_vma *vma;
	int err = 0;

	*done = 0;
	if (shadow_mmap_read_lock_killable(mm))
		return -EINTR;

	/* We might need to expand the stack to access it */
	vma = shadow_find_vma(mm, addr);
	if ((!vma || vma->vm_start > addr) && !shadow_expand_stack(mm, addr))
		return 0;	/* nothing transferred, mmap_lock dropped */

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

/**
 * shadow_access_remote_user() - SHADOW_MM_ACCESS between the address space
 * and a user buffer, as ptrace_readdata()/ptrace_writedata() go through
 * access_process_vm()
 * @mm: the address space
 * @addr: address in @mm
 * @ubuf: the user buffer
 * @len: bytes to transfer
 * @write: from @ubuf into @mm, else from @mm into @ubuf
 * @force: FOLL_FORCE
 * @total: set to the bytes transferred
 *
 * A page at a time through a bounce buffer, no lock held on the user
 * copies: shadow_access_remote_vm() takes mmap_lock for each page.
 *
 * Return: 0, or the error that stopped the transfer (-EFAULT for @ubuf,
 * -EINTR, -ENOMEM, or shadow_access_remote_vm()'s).
 */
int shadow_access_remote_user(struct shadow_mm *mm, unsigned long addr,
			      char __user *ubuf, unsigned long len, bool write,
			      bool force, unsigned long *total)
{
	unsigned long done;
	void *bounce;
	int ret = 0;

	*total = 0;
	bounce = kmalloc(PAGE_SIZE, SHADOW_GFP);
	if (!bounce)
		return -ENOMEM;

	while (*total < len) {
		unsigned long chunk = min_t(u64, len - *total, PAGE_SIZE);

		if (write && copy_from_user(bounce, ubuf + *total, chunk)) {
			ret = -EFAULT;
			break;
		}
		ret = shadow_access_remote_vm(mm, addr + *total, bounce, chunk,
					      write, force, &done);
		if (!write && copy_to_user(ubuf + *total, bounce, done)) {
			ret = -EFAULT;
			break;
		}
		*total += done;
		if (ret || done < chunk)
			break;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	kfree(bounce);
	return ret;
}
