// SPDX-License-Identifier: GPL-2.0
/*
 * The object behind a shared anonymous mapping, after mm/shmem.c of Linux
 * 6.1: shmem_zero_setup() makes one per mmap call, shmem_get_folio() finds
 * or creates its pages, shmem_writepage() sends an unmapped one to the swap
 * device, leaving the slot in its place, shmem_swapin_folio() brings it
 * back, and shmem_fallocate() punches a hole (MADV_REMOVE).
 */
#include <linux/slab.h>
#include <linux/xarray.h>

#include "internal.h"

/* The slot a shmem object's value entry names, as a swap entry. */
static swp_entry_t shadow_shmem_swp_entry(void *value)
{
	return swp_entry(0, xa_to_value(value));
}

/**
 * shadow_shmem_zero_setup() - a new backing object for MAP_SHARED anonymous
 * @size: its size in bytes, the new mapping's length (shmem_zero_setup)
 *
 * Return: the object with one reference, or NULL.
 */
struct shadow_address_space *shadow_shmem_zero_setup(unsigned long size)
{
	static atomic_long_t last_id;
	struct shadow_inode *obj;

	obj = kzalloc(sizeof(*obj), SHADOW_GFP);
	if (!obj)
		return NULL;
	refcount_set(&obj->i_data.ref, 1);
	obj->i_data.id = atomic_long_inc_return(&last_id);
	obj->size = size >> PAGE_SHIFT;
	xa_init(&obj->pages);
	INIT_LIST_HEAD(&obj->i_mmap);
	init_rwsem(&obj->i_mmap_rwsem);
	atomic_long_inc(&shadow_counters.shmem);
	return &obj->i_data;
}

/**
 * shadow_shmem_truncate_range() - take pages @start..@end out of a shared
 * anonymous object (shmem_truncate_range, shmem_undo_range)
 * @obj: the object
 * @start: the first page index
 * @end: the last page index
 *
 * A page leaves the object, which drops its reference; a PTE still
 * mapping it keeps it until unmapped (the caller's
 * shadow_unmap_mapping_range()). A swapped-out page's slot is freed. The
 * range reads zeroes afterwards. Takes the object's xarray lock, which
 * keeps reclaim's shadow_shmem_writepage() and the swap-in away.
 */
void shadow_shmem_truncate_range(struct shadow_inode *obj, pgoff_t start,
				 pgoff_t end)
{
	XA_STATE(xas, &obj->pages, start);
	pgoff_t index;
	void *entry;

	xas_lock(&xas);
	xas_for_each(&xas, entry, end) {
		index = xas.xa_index;
		/* In place of an entry: no allocation. */
		xas_store(&xas, NULL);
		if (xa_is_value(entry)) {
			shadow_swap_free(shadow_shmem_swp_entry(entry));
		} else {
			/* Truncated: no longer the object's (page->mapping). */
			WRITE_ONCE(shadow_page_meta(entry)->shmem_obj, NULL);
			shadow_put_page(entry);
		}
		if (index < end && need_resched()) {
			/*
			 * Not xas_pause(): a store that emptied its node
			 * freed it and left the state at the parent, where
			 * a pause steps by the parent's span and would skip
			 * the entries of the next node below this offset.
			 */
			xas_set(&xas, index + 1);
			xas_unlock(&xas);
			cond_resched();
			xas_lock(&xas);
		}
	}
	xas_unlock(&xas);
}

/**
 * shadow_shmem_fallocate() - punch a hole in a shared anonymous object
 * (shmem_fallocate with FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
 * @shmem: the object, pinned by the caller, who holds no mmap_lock
 * @offset: the hole's start in bytes, page-aligned (madvise's)
 * @len: its length in bytes, page-aligned
 *
 * The pages and swap slots of the hole are freed and every address space
 * mapping them loses its PTEs; the object keeps its size. Linux unmaps
 * first and holds off faults in the hole meanwhile (inode->i_private's
 * shmem_falloc); here the pages leave the object first and the unmap
 * follows, each address space under its mmap_lock for writing, which
 * catches a fault that raced with the truncation (see
 * shadow_unmap_mapping_range()).
 *
 * Return: 0.
 */
int shadow_shmem_fallocate(struct shadow_address_space *shmem, loff_t offset,
			   loff_t len)
{
	pgoff_t start = offset >> PAGE_SHIFT;
	pgoff_t end = (offset + len) >> PAGE_SHIFT;

	if (WARN_ON_ONCE(offset_in_page(offset) || offset_in_page(len)) ||
	    start >= end)
		return 0;
	shadow_shmem_truncate_range(to_shadow_inode(shmem), start, end - 1);
	shadow_unmap_mapping_range(shmem, start, end - 1);
	return 0;
}

/**
 * shadow_shmem_evict_inode() - free a shared anonymous object whose last
 * reference went, and its pages (shmem_evict_inode)
 * @obj: the object
 *
 * The slots of its swapped-out pages are freed too (shmem_undo_range).
 */
void shadow_shmem_evict_inode(struct shadow_inode *obj)
{
	WARN_ON_ONCE(!list_empty(&obj->i_mmap));
	shadow_shmem_truncate_range(obj, 0, ULONG_MAX);
	xa_destroy(&obj->pages);
	atomic_long_dec(&shadow_counters.shmem);
	kfree(obj);
}

/*
 * The object's entry at @index, under its lock: a page with a reference
 * for the caller (return value), or NULL with *@value set to the swap
 * value there, or to NULL when there is nothing.
 */
static struct page *shadow_shmem_lookup(struct shadow_inode *obj,
					unsigned long index, void **value)
{
	void *entry;

	xa_lock(&obj->pages);
	entry = xa_load(&obj->pages, index);
	if (entry && !xa_is_value(entry))
		shadow_get_page(entry);
	xa_unlock(&obj->pages);
	if (xa_is_value(entry)) {
		*value = entry;
		return NULL;
	}
	*value = NULL;
	return entry;
}

/**
 * shadow_shmem_find_page() - the page at @index if the object has one
 * @shmem: the object, pinned by the caller (a VMA under mmap_lock)
 * @index: page index in the object
 *
 * A page out on the swap device is not there (filemap_map_pages skips
 * value entries).
 *
 * Return: the page with a reference for the caller, or NULL.
 */
struct page *shadow_shmem_find_page(struct shadow_address_space *shmem,
				    unsigned long index)
{
	void *value;

	return shadow_shmem_lookup(to_shadow_inode(shmem), index, &value);
}

/* A new page for the object at @index, with one reference. */
static struct page *shadow_shmem_alloc_page(struct shadow_address_space *shmem,
					    unsigned long index)
{
	struct page *page = shadow_alloc_page(false);
	struct shadow_page *sp;

	if (!page)
		return NULL;
	sp = shadow_page_meta(page);
	sp->shmem = true;
	sp->shmem_obj = shmem;
	sp->index = index;
	return page;
}

/*
 * shmem_swapin_folio(): bring the page at @index, out in the slot @value
 * names, back into the object. Returns the page with a reference for the
 * caller, NULL when someone else changed the entry first (look again), or
 * an ERR_PTR.
 */
static struct page *shadow_shmem_swapin(struct shadow_inode *obj,
					unsigned long index, void *value)
{
	swp_entry_t entry = shadow_shmem_swp_entry(value);
	struct page *page;
	void *old;

	page = shadow_shmem_alloc_page(&obj->i_data, index);
	if (!page)
		return ERR_PTR(-ENOMEM);
	xa_lock(&obj->pages);
	if (xa_load(&obj->pages, index) != value) {
		xa_unlock(&obj->pages);
		shadow_put_page(page);
		return NULL;
	}
	/* The value there holds the slot: its contents stay. */
	shadow_swap_read_shmem(entry, page);
	shadow_get_page(page);	/* the object's */
	/* In place of an entry: no allocation. */
	old = __xa_store(&obj->pages, index, page, GFP_NOWAIT);
	xa_unlock(&obj->pages);
	WARN_ON_ONCE(old != value);
	shadow_swap_free(entry);
	return page;
}

/**
 * shadow_shmem_get_page() - the page at @index, created zeroed if absent
 * @shmem: the object
 * @index: page index in the object
 * @swapped: set to the walk id of the swap slot the page was read back
 *           from (a major fault), or 0
 *
 * Past the object's end there is no page: shmem_get_folio_gfp() refuses,
 * and the fault is a SIGBUS (-EFAULT here, as get_user_pages says).
 *
 * Return: the page with a reference for the caller, or an ERR_PTR.
 */
struct page *shadow_shmem_get_page(struct shadow_address_space *shmem,
				   unsigned long index, u64 *swapped)
{
	struct shadow_inode *obj = to_shadow_inode(shmem);
	struct page *page, *old;
	void *value;

	*swapped = 0;
	if (index >= obj->size)
		return ERR_PTR(-EFAULT);

	for (;;) {
		page = shadow_shmem_lookup(obj, index, &value);
		if (page)
			return page;
		if (value) {
			page = shadow_shmem_swapin(obj, index, value);
			if (!page)
				continue;
			if (!IS_ERR(page))
				*swapped = shadow_swap_slot_id(shadow_shmem_swp_entry(value));
			return page;
		}
		page = shadow_shmem_alloc_page(shmem, index);
		if (!page)
			return ERR_PTR(-ENOMEM);
		old = xa_cmpxchg(&obj->pages, index, NULL, page, SHADOW_GFP);
		if (xa_is_err(old)) {
			shadow_put_page(page);
			return ERR_PTR(xa_err(old));
		}
		if (!old) {
			/* The object's reference, and the caller's. */
			shadow_get_page(page);
			return page;
		}
		/* Another fault filled the slot first: look again. */
		shadow_put_page(page);
	}
}

/**
 * shadow_shmem_writepage() - move an unmapped page of a shared anonymous
 * object to the swap device (shmem_writepage)
 * @page: the page, with a reference held by the caller
 *
 * The object keeps the slot (a value entry) instead of the page, and
 * drops its reference: the caller's is then the last. Only a page that
 * nothing but its object and the caller holds can go.
 *
 * Return: true when the page left the object.
 */
bool shadow_shmem_writepage(struct page *page)
{
	struct shadow_page *sp = shadow_page_meta(page);
	struct shadow_address_space *shmem = READ_ONCE(sp->shmem_obj);
	struct shadow_inode *obj;
	swp_entry_t entry;
	bool moved = false;

	/* Truncated: the object is gone, the page goes with its holders. */
	if (!shmem)
		return false;
	obj = to_shadow_inode(shmem);
	entry = shadow_swap_alloc_shmem();
	if (!entry.val)
		return false;
	xa_lock(&obj->pages);
	if (xa_load(&obj->pages, sp->index) == page &&
	    !atomic_read(&sp->mapcount) && atomic_read(&sp->refs) == 2) {
		shadow_swap_write_shmem(entry, page);
		__xa_store(&obj->pages, sp->index,
			   xa_mk_value(swp_offset(entry)), GFP_NOWAIT);
		moved = true;
	}
	xa_unlock(&obj->pages);
	if (!moved) {
		shadow_swap_free(entry);
		return false;
	}
	shadow_put_page(page);	/* the object's */
	return true;
}

/**
 * shadow_shmem_swapin_range() - bring back what of an object is out on the
 * swap device (shmem_swapin_range)
 * @shmem: the object
 * @index: the first page index
 * @last: the last page index
 *
 * The pages come back into the object, unmapped.
 */
void shadow_shmem_swapin_range(struct shadow_address_space *shmem,
			       unsigned long index, unsigned long last)
{
	struct shadow_inode *obj = to_shadow_inode(shmem);
	struct page *page;
	u64 swapped;
	void *entry;

	while (index <= last) {
		xa_lock(&obj->pages);
		entry = xa_find(&obj->pages, &index, last, XA_PRESENT);
		while (entry && !xa_is_value(entry))
			entry = xa_find_after(&obj->pages, &index, last,
					      XA_PRESENT);
		xa_unlock(&obj->pages);
		if (!entry)
			return;
		page = shadow_shmem_get_page(shmem, index, &swapped);
		if (IS_ERR(page))
			return;
		shadow_put_page(page);
		if (index++ == last)
			return;
		cond_resched();
	}
}
