// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow swap device and its swap cache, after mm/swapfile.c and
 * mm/swap_state.c of Linux 6.1.
 *
 * The device is an xarray of slots, indices 1 to the swap_slots module
 * parameter; a slot's swap entry is swp_entry(0, index), and a swap PTE
 * holds it in the architecture's encoding (swp_entry_to_pte). Each slot
 * has:
 *
 *   count  the swap_map count: the swap PTEs and shmem objects holding it
 *   cache  the swap cache page (SWAP_HAS_CACHE), with an engine reference,
 *          whose metadata's ->swap names the slot; or NULL
 *   data   the store page holding the slot's contents once written, or
 *          NULL until the first pageout
 *
 * A slot lives while its count or its cache page does: the last of the
 * two to go frees it, its store page with it. Everything above, and the
 * ->swap of every page in the swap cache, changes under the xarray's lock
 * (the device lock), which nests inside page_table_lock and inside a shmem
 * object's xarray lock (mm.c's lock tree). An engine reference to a
 * page that is in the swap cache and mapped nowhere is only taken under
 * the device lock: a page the cache alone holds (and the caller's
 * reference) can be freed under it without anyone finding it.
 */
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "internal.h"
#include "trace.h"

/**
 * struct shadow_swap_slot - one slot of the shadow swap device
 * @count: swap PTEs and shmem objects holding it (swap_map)
 * @cache: the page in the swap cache for it, with a reference, or NULL
 * @data: the stored contents, or NULL until first written
 */
struct shadow_swap_slot {
	unsigned int count;
	struct page *cache;
	struct page *data;
};

static DEFINE_XARRAY_ALLOC1(shadow_swap_map);

static unsigned long shadow_swap_max(void)
{
	return min_t(unsigned long, READ_ONCE(shadow_swap_slots), U32_MAX);
}

/* The slot of @entry, device lock held; NULL for a stale entry. */
static struct shadow_swap_slot *shadow_swap_slot(swp_entry_t entry)
{
	lockdep_assert_held(&shadow_swap_map.xa_lock);
	if (swp_type(entry) != 0)
		return NULL;
	return xa_load(&shadow_swap_map, swp_offset(entry));
}

/* The slot is unused: give it and its contents back (swap_entry_free). */
static void shadow_swap_slot_free(swp_entry_t entry,
				  struct shadow_swap_slot *slot)
{
	lockdep_assert_held(&shadow_swap_map.xa_lock);
	__xa_erase(&shadow_swap_map, swp_offset(entry));
	if (slot->data) {
		__free_page(slot->data);
		atomic_long_dec(&shadow_counters.swap_pages);
	}
	kfree(slot);
	atomic_long_dec(&shadow_counters.swap_slots);
}

/*
 * __delete_from_swap_cache(): the page leaves the swap cache; the slot
 * goes too when no swap PTE holds it. Returns the page, whose cache
 * reference the caller drops once the device lock is released.
 */
static struct page *shadow_delete_from_swap_cache(struct page *page,
						  struct shadow_swap_slot *slot)
{
	struct shadow_page *sp = shadow_page_meta(page);
	swp_entry_t entry = { .val = sp->swap };

	lockdep_assert_held(&shadow_swap_map.xa_lock);
	slot->cache = NULL;
	sp->swap = 0;
	if (!slot->count)
		shadow_swap_slot_free(entry, slot);
	return page;
}

/**
 * shadow_swap_full() - vm_swap_full(): more than half the slots are used
 *
 * Return: true when the device is more than half full.
 */
bool shadow_swap_full(void)
{
	return atomic_long_read(&shadow_counters.swap_slots) * 2 >
	       shadow_swap_max();
}

/**
 * shadow_add_to_swap() - give a private anonymous page a slot and put it
 * in the swap cache (add_to_swap)
 * @page: the page, with a reference held by the caller
 *
 * Nothing is written yet: the page counts as dirty until its first
 * pageout. A page already in the swap cache keeps its slot.
 *
 * Return: 0, -ENOSPC when the device is full, or -ENOMEM.
 */
int shadow_add_to_swap(struct page *page)
{
	struct shadow_page *sp = shadow_page_meta(page);
	unsigned long max = shadow_swap_max();
	struct shadow_swap_slot *slot;
	u32 id;
	int err;

	if (READ_ONCE(sp->swap))
		return 0;
	if (!max)
		return -ENOSPC;
	slot = kzalloc(sizeof(*slot), SHADOW_GFP);
	if (!slot)
		return -ENOMEM;
	slot->cache = page;
	err = xa_alloc(&shadow_swap_map, &id, slot, XA_LIMIT(1, max),
		       SHADOW_GFP);
	if (err) {
		kfree(slot);
		return err == -EBUSY ? -ENOSPC : err;
	}

	xa_lock(&shadow_swap_map);
	if (sp->swap) {
		/* Another reclaim put it in the cache first. */
		__xa_erase(&shadow_swap_map, id);
		xa_unlock(&shadow_swap_map);
		kfree(slot);
		return 0;
	}
	atomic_long_inc(&shadow_counters.swap_slots);
	shadow_get_page(page);
	sp->swap = swp_entry(0, id).val;
	xa_unlock(&shadow_swap_map);
	return 0;
}

/**
 * shadow_swap_duplicate() - one more swap PTE holds @entry (swap_duplicate)
 * @entry: a slot that something holds already (a PTE being copied, or
 *         the swap cache page being unmapped)
 */
void shadow_swap_duplicate(swp_entry_t entry)
{
	struct shadow_swap_slot *slot;

	xa_lock(&shadow_swap_map);
	slot = shadow_swap_slot(entry);
	if (!WARN_ON_ONCE(!slot))
		slot->count++;
	xa_unlock(&shadow_swap_map);
}

/**
 * shadow_swap_free() - a holder of @entry lets go of it (swap_free)
 * @entry: the slot
 *
 * The slot goes with its last holder unless a page is in the swap cache
 * for it.
 */
void shadow_swap_free(swp_entry_t entry)
{
	struct shadow_swap_slot *slot;

	xa_lock(&shadow_swap_map);
	slot = shadow_swap_slot(entry);
	if (!WARN_ON_ONCE(!slot || !slot->count) && !--slot->count &&
	    !slot->cache)
		shadow_swap_slot_free(entry, slot);
	xa_unlock(&shadow_swap_map);
}

/**
 * shadow_free_swap_and_cache() - a swap PTE holding @entry is zapped
 * @entry: the slot
 *
 * free_swap_and_cache(): with its last holder gone the slot's swap cache
 * page leaves the cache if nothing maps it (or the device is more than
 * half full), and the slot is freed with it.
 */
void shadow_free_swap_and_cache(swp_entry_t entry)
{
	struct shadow_swap_slot *slot;
	struct page *put = NULL;

	xa_lock(&shadow_swap_map);
	slot = shadow_swap_slot(entry);
	if (WARN_ON_ONCE(!slot || !slot->count))
		goto out_unlock;
	if (--slot->count)
		goto out_unlock;
	if (!slot->cache) {
		shadow_swap_slot_free(entry, slot);
		goto out_unlock;
	}
	if (!atomic_read(&shadow_page_meta(slot->cache)->mapcount) ||
	    shadow_swap_full())
		put = shadow_delete_from_swap_cache(slot->cache, slot);
out_unlock:
	xa_unlock(&shadow_swap_map);
	if (put)
		shadow_put_page(put);
}

/*
 * folio_free_swap() with the device lock held: the page leaves the swap
 * cache, and its slot is freed, when no swap PTE holds the slot any more.
 */
static struct page *__shadow_try_to_free_swap(struct page *page)
{
	struct shadow_page *sp = shadow_page_meta(page);
	swp_entry_t entry = { .val = sp->swap };
	struct shadow_swap_slot *slot;

	lockdep_assert_held(&shadow_swap_map.xa_lock);
	if (!entry.val)
		return NULL;
	slot = shadow_swap_slot(entry);
	if (WARN_ON_ONCE(!slot || slot->cache != page) || slot->count)
		return NULL;
	return shadow_delete_from_swap_cache(page, slot);
}

/**
 * shadow_try_to_free_swap() - take @page out of the swap cache if no swap
 * PTE needs its slot any more (folio_free_swap)
 * @page: the page, with a reference (a PTE's or the caller's) besides the
 *        cache's
 *
 * Return: true when the page left the swap cache and its slot was freed.
 */
bool shadow_try_to_free_swap(struct page *page)
{
	struct page *put;

	if (!READ_ONCE(shadow_page_meta(page)->swap))
		return false;
	xa_lock(&shadow_swap_map);
	put = __shadow_try_to_free_swap(page);
	xa_unlock(&shadow_swap_map);
	if (put)
		shadow_put_page(put);
	return put;
}

/**
 * shadow_free_swap_cache() - a PTE mapping @page was zapped
 * @page: the page, still with the zapped PTE's reference
 *
 * free_swap_cache(): a swap cache page that nothing maps any more, and
 * whose slot no swap PTE holds, leaves the cache.
 */
void shadow_free_swap_cache(struct page *page)
{
	struct page *put = NULL;

	if (!READ_ONCE(shadow_page_meta(page)->swap))
		return;
	xa_lock(&shadow_swap_map);
	if (!atomic_read(&shadow_page_meta(page)->mapcount))
		put = __shadow_try_to_free_swap(page);
	xa_unlock(&shadow_swap_map);
	if (put)
		shadow_put_page(put);
}

/**
 * shadow_swap_pageout() - write a swap cache page out and free it
 * (pageout + __remove_mapping)
 * @page: a private anonymous page in the swap cache, unmapped, with a
 *        reference held by the caller
 * @written: set when the contents were written: the page was dirty, or
 *           its slot never written
 *
 * The page leaves the swap cache only when the cache and the caller hold
 * the only references (is_page_cache_freeable): a reference in flight
 * (get_user_pages) keeps it, unwritten, and the caller counts it busy.
 *
 * Return: true when the page left the swap cache: the caller's reference
 * is the last.
 */
bool shadow_swap_pageout(struct page *page, bool *written)
{
	struct shadow_page *sp = shadow_page_meta(page);
	struct shadow_swap_slot *slot;
	swp_entry_t entry = { 0 };
	struct page *data = NULL, *put = NULL;
	bool need_data;

	*written = false;
	xa_lock(&shadow_swap_map);
	slot = sp->swap ? xa_load(&shadow_swap_map,
				  swp_offset((swp_entry_t){ .val = sp->swap })) :
			  NULL;
	need_data = slot && !slot->data;
	xa_unlock(&shadow_swap_map);
	if (need_data) {
		data = alloc_page(SHADOW_GFP);
		if (!data)
			return false;
	}

	xa_lock(&shadow_swap_map);
	entry.val = sp->swap;
	if (!entry.val || atomic_read(&sp->mapcount) ||
	    atomic_read(&sp->refs) != 2)
		goto out_unlock;
	slot = shadow_swap_slot(entry);
	if (WARN_ON_ONCE(!slot || slot->cache != page))
		goto out_unlock;
	if (!slot->data) {
		if (!data)
			goto out_unlock;
		slot->data = data;
		data = NULL;
		atomic_long_inc(&shadow_counters.swap_pages);
		/* Never written: add_to_swap() leaves the page dirty. */
		sp->dirty = true;
	}
	if (sp->dirty) {
		copy_highpage(slot->data, page);
		sp->dirty = false;
		*written = true;
		atomic_long_inc(&shadow_counters.swapouts);
	}
	trace_shadow_mm_swap_out(sp->id, swp_offset(entry), *written, false);
	put = shadow_delete_from_swap_cache(page, slot);
out_unlock:
	xa_unlock(&shadow_swap_map);
	if (data)
		__free_page(data);
	if (put)
		shadow_put_page(put);
	return put;
}

/**
 * shadow_swapin() - the page of a swap entry, from the swap cache or read
 * back from the device into it (swap_cache_get_folio + swapin_readahead)
 * @entry: the swap entry a PTE held when the fault read it
 * @major: set when the page had to be read (a major fault)
 *
 * Return: the page with a reference for the caller; NULL when the entry
 * is stale (its slot is gone: the PTE changed meanwhile); ERR_PTR(-ENOMEM).
 */
struct page *shadow_swapin(swp_entry_t entry, bool *major)
{
	struct shadow_swap_slot *slot;
	struct page *page = NULL, *new = NULL;

	*major = false;
	for (;;) {
		xa_lock(&shadow_swap_map);
		slot = shadow_swap_slot(entry);
		if (!slot)
			break;
		if (slot->cache) {
			page = slot->cache;
			shadow_get_page(page);
			break;
		}
		if (new) {
			if (WARN_ON_ONCE(!slot->data))
				break;
			copy_highpage(new, slot->data);
			shadow_get_page(new);
			slot->cache = new;
			shadow_page_meta(new)->swap = entry.val;
			atomic_long_inc(&shadow_counters.swapins);
			*major = true;
			page = new;
			new = NULL;
			break;
		}
		xa_unlock(&shadow_swap_map);
		new = shadow_alloc_page(false);
		if (!new)
			return ERR_PTR(-ENOMEM);
	}
	xa_unlock(&shadow_swap_map);
	if (new)
		shadow_put_page(new);
	return page;
}

/**
 * shadow_swap_alloc_shmem() - a slot for a page a shmem object gives up
 * (shmem_writepage's folio_alloc_swap)
 *
 * Return: the entry, or one with val 0 when the device is full or memory
 * runs out.
 *
 * The slot has count 1, the object's hold, and a store page; nothing is
 * in it until shadow_swap_write_shmem().
 */
swp_entry_t shadow_swap_alloc_shmem(void)
{
	unsigned long max = shadow_swap_max();
	struct shadow_swap_slot *slot;
	swp_entry_t entry = { 0 };
	u32 id;

	if (!max)
		return entry;
	slot = kzalloc(sizeof(*slot), SHADOW_GFP);
	if (!slot)
		return entry;
	slot->data = alloc_page(SHADOW_GFP);
	if (!slot->data)
		goto err_free;
	slot->count = 1;
	if (xa_alloc(&shadow_swap_map, &id, slot, XA_LIMIT(1, max),
		     SHADOW_GFP))
		goto err_free_data;
	atomic_long_inc(&shadow_counters.swap_slots);
	atomic_long_inc(&shadow_counters.swap_pages);
	return swp_entry(0, id);

err_free_data:
	__free_page(slot->data);
err_free:
	kfree(slot);
	return entry;
}

/**
 * shadow_swap_write_shmem() - write a shmem page into its new slot
 * @entry: from shadow_swap_alloc_shmem()
 * @page: the page, which its object is giving up under its lock
 */
void shadow_swap_write_shmem(swp_entry_t entry, struct page *page)
{
	struct shadow_swap_slot *slot;

	xa_lock(&shadow_swap_map);
	slot = shadow_swap_slot(entry);
	if (!WARN_ON_ONCE(!slot || !slot->data)) {
		copy_highpage(slot->data, page);
		atomic_long_inc(&shadow_counters.swapouts);
		trace_shadow_mm_swap_out(shadow_page_meta(page)->id,
					 swp_offset(entry), true, true);
	}
	xa_unlock(&shadow_swap_map);
}

/**
 * shadow_swap_read_shmem() - read a slot a shmem object holds into @page
 * (shmem_swapin_folio)
 * @entry: the slot, held by the object, whose lock the caller holds
 * @page: a new page
 */
void shadow_swap_read_shmem(swp_entry_t entry, struct page *page)
{
	struct shadow_swap_slot *slot;

	xa_lock(&shadow_swap_map);
	slot = shadow_swap_slot(entry);
	if (!WARN_ON_ONCE(!slot || !slot->data)) {
		copy_highpage(page, slot->data);
		atomic_long_inc(&shadow_counters.swapins);
	}
	xa_unlock(&shadow_swap_map);
}

/**
 * shadow_swap_count() - the swap count of @entry (swp_swapcount)
 * @entry: the slot
 *
 * Return: the swap PTEs and objects holding it, 0 for a stale entry.
 */
unsigned int shadow_swap_count(swp_entry_t entry)
{
	struct shadow_swap_slot *slot;
	unsigned int count = 0;

	xa_lock(&shadow_swap_map);
	slot = shadow_swap_slot(entry);
	if (slot)
		count = slot->count;
	xa_unlock(&shadow_swap_map);
	return count;
}

/**
 * shadow_swap_init() - the empty device
 *
 * Return: 0.
 */
int shadow_swap_init(void)
{
	return 0;
}

/**
 * shadow_swap_exit() - every address space is gone: so is every slot
 */
void shadow_swap_exit(void)
{
	WARN_ON(!xa_empty(&shadow_swap_map));
	xa_destroy(&shadow_swap_map);
}
