// SPDX-License-Identifier: GPL-2.0
/*
 * The reverse map of shadow address spaces, after mm/rmap.c: from a data
 * page to every PTE that maps it, in every address space. A private
 * anonymous page is found through its anon_vma, the object that ties it to
 * every VMA that may map it (anon_vma_prepare, anon_vma_fork,
 * unlink_anon_vmas, find_mergeable_anon_vma); a shared anonymous page
 * through its shmem object's i_mmap list. On top of the walk,
 * page_referenced (the age query of reclaim) and try_to_unmap.
 *
 * The anon_vma model: each shadow_anon_vma lists the VMAs whose
 * vma->anon_vma it is, and the anon_vmas forked from it (its children).
 * Linux's anon_vma_chain puts a forked VMA in the interval tree of its own
 * anon_vma and of each of its ancestors; here it is on its own anon_vma's
 * list only, and the walk from an anon_vma goes down through its
 * descendants: the VMAs that may map a page of anon_vma AV are those on
 * the lists of AV and of its descendants, which is what Linux's tree of AV
 * holds. A page's anon_vma is the anon_vma of the VMA that first mapped it
 * (page_add_new_anon_rmap), or that VMA's root when a swap-in maps it not
 * exclusively (__page_set_anon_rmap): always the VMA's own or an ancestor,
 * so every VMA mapping the page is reached. Linking a VMA allocates
 * nothing: the list node is in the VMA.
 *
 * Locking: the tree at the top of mm.c orders every lock named here. The
 * rules of the rmap part of it:
 *
 * - A VMA joins or leaves an anon_vma's list (shadow_anon_vma_link,
 *   shadow_anon_vma_unlink) with the root's rwsem held for writing, and
 *   its mm's mmap_lock held for writing; anon_vma_prepare links with it
 *   held for reading, under page_table_lock as well. Same for a shmem
 *   object's i_mmap list and its i_mmap_rwsem. A VMA leaves its lists
 *   before it is freed, so a walk that holds the list's lock never meets
 *   a freed VMA.
 * - The children of an anon_vma are added by fork (children_lock) and
 *   removed when a child's last reference goes, which may be a page's,
 *   freed in any context (under a page_table_lock): children_lock only,
 *   list_del_rcu, and the anon_vma is freed after a grace period. A walk
 *   goes through the children under rcu_read_lock (it sleeps nowhere:
 *   trylocks and spinlocks only) and holds the root's rwsem for the VMA
 *   lists.
 * - A walk (shadow_page_referenced, shadow_try_to_unmap) holds the
 *   caller's mmap_lock (@locked_mm) and takes the anon_vma root's rwsem
 *   (or the i_mmap_rwsem) for reading. For a VMA of another address space
 *   it takes that mm's mmap_lock with mmap_read_trylock only; when that
 *   fails the VMA is skipped and the caller told (*busy, like
 *   rwc->contended of folio_referenced). Holding an mm's mmap_lock keeps
 *   its VMAs' bounds, its page tables and its teardown (exit_mmap takes it
 *   for writing) away; the mm itself outlives its VMAs, and the VMA is on
 *   the list the walk holds locked. The lock is dropped before the list's.
 *   PTEs are read and changed under that mm's page_table_lock. A walk
 *   that only reads PTEs (shadow_page_mapcount) takes that lock alone: it
 *   keeps the mm's tables (pgtable.c's rule 2).
 * - A VMA's vm_mm changes only when fork moves a copy to the child, with
 *   both address spaces' mmap_lock held for writing: a walk may read
 *   either, and its trylock then fails.
 *
 * A page's anon_vma is set, moved and read with the page held: by the
 * fault that maps it, under page_table_lock when the page is visible.
 * The page holds a reference on its anon_vma; a shmem page's object is
 * not referenced by the page (the object holds the page) and is kept by
 * the VMA the caller found the page in.
 */
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/swapops.h>

#include "internal.h"
#include "trace.h"

/**
 * struct shadow_anon_vma - the anon_vma of shadow address spaces
 * @root: the root of the fork tree, whose @rwsem and @children_lock guard
 *        the lists of every anon_vma of the tree (itself for a root)
 * @parent: the anon_vma it was forked from, or NULL; referenced
 * @rwsem: the VMA lists of the tree (only the root's is used)
 * @children_lock: the children lists of the tree (only the root's)
 * @refcount: one per VMA on @vmas, one per child, one per page whose
 *            anon_vma it is, one per caller in flight
 * @vmas: the VMAs whose anon_vma it is (vma->anon_vma_node)
 * @children: the anon_vmas forked from it (their @sibling), RCU
 * @sibling: the entry in @parent's @children
 * @id: stable identity, for traces and tests
 * @rcu: frees it after the walks that may see it in @children
 */
struct shadow_anon_vma {
	struct shadow_anon_vma *root;
	struct shadow_anon_vma *parent;
	struct rw_semaphore rwsem;
	spinlock_t children_lock;	/* the tree's children lists */
	refcount_t refcount;
	struct list_head vmas;
	struct list_head children;
	struct list_head sibling;
	unsigned long id;
	struct rcu_head rcu;
};

static inline void shadow_anon_vma_lock_write(struct shadow_anon_vma *av)
{
	down_write(&av->root->rwsem);
}

static inline void shadow_anon_vma_unlock_write(struct shadow_anon_vma *av)
{
	up_write(&av->root->rwsem);
}

static inline void shadow_anon_vma_lock_read(struct shadow_anon_vma *av)
{
	down_read(&av->root->rwsem);
}

static inline void shadow_anon_vma_unlock_read(struct shadow_anon_vma *av)
{
	up_read(&av->root->rwsem);
}

/*
 * anon_vma_alloc(): a new anon_vma with one reference, for the caller to
 * hand to a VMA. A child of @parent joins its children list, referencing
 * it, and shares its root.
 */
static struct shadow_anon_vma *shadow_anon_vma_alloc(struct shadow_anon_vma *parent)
{
	static atomic_long_t last_id;
	struct shadow_anon_vma *av;

	av = kzalloc(sizeof(*av), SHADOW_GFP);
	if (!av)
		return NULL;
	init_rwsem(&av->rwsem);
	spin_lock_init(&av->children_lock);
	refcount_set(&av->refcount, 1);
	INIT_LIST_HEAD(&av->vmas);
	INIT_LIST_HEAD(&av->children);
	INIT_LIST_HEAD(&av->sibling);
	av->id = atomic_long_inc_return(&last_id);
	av->root = av;
	if (parent) {
		refcount_inc(&parent->refcount);
		av->parent = parent;
		av->root = parent->root;
		spin_lock(&av->root->children_lock);
		list_add_tail_rcu(&av->sibling, &parent->children);
		spin_unlock(&av->root->children_lock);
	}
	atomic_long_inc(&shadow_counters.anon_vmas);
	return av;
}

static void shadow_anon_vma_get(struct shadow_anon_vma *av)
{
	refcount_inc(&av->refcount);
}

/*
 * put_anon_vma(): drop a reference; the last one frees the anon_vma and
 * drops its reference on its parent. Any context: it takes no sleeping
 * lock, since the last reference may be a page's (shadow_put_page under a
 * page_table_lock). A walk may still be looking at a child being freed
 * (under rcu_read_lock): it has no VMA and no child left, and its memory
 * stays until the walk is done.
 */
static void shadow_anon_vma_put(struct shadow_anon_vma *av)
{
	while (av && refcount_dec_and_test(&av->refcount)) {
		struct shadow_anon_vma *parent = av->parent;

		WARN_ON_ONCE(!list_empty(&av->vmas) ||
			     !list_empty(&av->children));
		if (parent) {
			spin_lock(&av->root->children_lock);
			list_del_rcu(&av->sibling);
			spin_unlock(&av->root->children_lock);
		}
		atomic_long_dec(&shadow_counters.anon_vmas);
		kfree_rcu(av, rcu);
		av = parent;
	}
}

/**
 * shadow_anon_vma_link() - make @vma point at @anon_vma (anon_vma_chain_link)
 * @vma: a VMA without an anon_vma; its mm's mmap_lock held for writing
 * @anon_vma: the anon_vma, or NULL (nothing to do)
 *
 * The VMA takes a reference and joins the anon_vma's list, so that rmap
 * walks from the anon_vma's pages find it. Never fails.
 */
void shadow_anon_vma_link(struct shadow_vma *vma,
			  struct shadow_anon_vma *anon_vma)
{
	struct shadow_anon_vma *av = anon_vma;

	shadow_mmap_assert_write_locked(vma->vm_mm);
	if (!av)
		return;
	shadow_warn_on(vma->anon_vma);
	shadow_anon_vma_get(av);
	shadow_anon_vma_lock_write(av);
	list_add_tail(&vma->anon_vma_node, &av->vmas);
	WRITE_ONCE(vma->anon_vma, av);
	shadow_anon_vma_unlock_write(av);
}

/**
 * shadow_anon_vma_unlink() - @vma leaves its anon_vma (unlink_anon_vmas)
 * @vma: the VMA; its mm's mmap_lock held for writing
 *
 * The VMA leaves the anon_vma's list, its anon_vma becomes NULL and its
 * reference is dropped. Nothing to do without an anon_vma.
 */
void shadow_anon_vma_unlink(struct shadow_vma *vma)
{
	struct shadow_anon_vma *av = vma->anon_vma;

	shadow_mmap_assert_write_locked(vma->vm_mm);
	if (!av)
		return;
	shadow_anon_vma_lock_write(av);
	list_del(&vma->anon_vma_node);
	WRITE_ONCE(vma->anon_vma, NULL);
	shadow_anon_vma_unlock_write(av);
	shadow_anon_vma_put(av);
}

/*
 * A neighbour's anon_vma @vma may share (reusable_anon_vma): adjacent,
 * the same flags but for access bits, contiguous pgoff, and the neighbour's
 * anon_vma not inherited through fork.
 */
static void *shadow_reusable_anon_vma(struct shadow_vma *old,
				      struct shadow_vma *a,
				      struct shadow_vma *b)
{
	if (a->vm_end != b->vm_start || a->vm_mapping != b->vm_mapping ||
	    ((a->vm_flags ^ b->vm_flags) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY)) ||
	    b->vm_pgoff != a->vm_pgoff +
			   ((b->vm_start - a->vm_start) >> PAGE_SHIFT))
		return NULL;
	if (old->anon_vma && old->vm_anon_chain == 1)
		return old->anon_vma;
	return NULL;
}

/* find_mergeable_anon_vma(): a neighbour's anon_vma @vma could share. */
static void *shadow_find_mergeable_anon_vma(struct shadow_mm *mm,
					    struct shadow_vma *vma)
{
	struct shadow_vma *next = shadow_vma_next(mm, vma);
	struct shadow_vma *prev;
	void *anon_vma = NULL;

	if (next)
		anon_vma = shadow_reusable_anon_vma(next, vma, next);
	if (anon_vma)
		return anon_vma;
	prev = shadow_vma_prev(mm, vma);
	if (prev)
		anon_vma = shadow_reusable_anon_vma(prev, prev, vma);
	return anon_vma;
}

/**
 * shadow_anon_vma_prepare() - give @vma an anon_vma before its first
 * private anonymous page (anon_vma_prepare)
 * @mm: the address space, mmap_lock held for reading
 * @vma: the VMA
 *
 * Shares a compatible neighbour's anon_vma when there is one, as Linux
 * does, so that the two may merge later. Two faults may race: the
 * anon_vma is set and the VMA linked under the root's rwsem and
 * page_table_lock, and the loser drops what it brought.
 *
 * Return: 0 or -ENOMEM.
 */
shadow_flow int shadow_anon_vma_prepare(struct shadow_mm *mm,
					struct shadow_vma *vma)
{
	struct shadow_anon_vma *av;

	shadow_mmap_assert_locked(mm);
	if (likely(READ_ONCE(vma->anon_vma)))
		return 0;

	av = shadow_find_mergeable_anon_vma(mm, vma);
	if (av) {
		shadow_anon_vma_get(av);
	} else {
		av = shadow_anon_vma_alloc(NULL);
		if (!av)
			return -ENOMEM;
	}

	shadow_anon_vma_lock_write(av);
	spin_lock(&mm->page_table_lock);
	if (likely(!vma->anon_vma)) {
		list_add_tail(&vma->anon_vma_node, &av->vmas);
		WRITE_ONCE(vma->anon_vma, av);
		vma->vm_anon_chain = 1;
		/* Our reference is the VMA's now. */
		spin_unlock(&mm->page_table_lock);
		shadow_anon_vma_unlock_write(av);
		return 0;
	}
	spin_unlock(&mm->page_table_lock);
	shadow_anon_vma_unlock_write(av);
	/* Lost the race: drop ours (a reference, or the new one). */
	shadow_anon_vma_put(av);
	return 0;
}

/**
 * shadow_anon_vma_fork() - the anon_vma of a VMA copied by fork
 * @dst: the child's VMA, linked to the parent's anon_vma by
 *       shadow_vm_area_dup(); both mms' mmap_lock held for writing
 * @src: the parent's VMA, or NULL when @dst starts without (VM_WIPEONFORK)
 *
 * The child gets an anon_vma of its own whose parent is @src's, and a chain
 * one longer than @src's: it no longer merges with a VMA without an anon_vma
 * (is_mergeable_anon_vma's singular-chain rule). The pages @dst shares
 * with @src keep @src's anon_vma (or an ancestor), from which the walk
 * reaches @dst through the new child.
 *
 * Return: 0 or -ENOMEM (then @dst has no anon_vma).
 */
int shadow_anon_vma_fork(struct shadow_vma *dst, struct shadow_vma *src)
{
	struct shadow_anon_vma *av;

	if (src)
		shadow_mmap_assert_write_locked(src->vm_mm);
	shadow_anon_vma_unlink(dst);
	dst->vm_anon_chain = 0;
	if (!src || !src->anon_vma)
		return 0;
	av = shadow_anon_vma_alloc(src->anon_vma);
	if (!av)
		return -ENOMEM;
	shadow_anon_vma_link(dst, av);
	shadow_anon_vma_put(av);
	dst->vm_anon_chain = src->vm_anon_chain + 1;
	return 0;
}

/* linear_page_index(): @addr's page index in @vma's backing. */
static unsigned long shadow_linear_page_index(struct shadow_vma *vma,
					      unsigned long addr)
{
	return vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/*
 * __page_set_anon_rmap(): a page without an anon_vma gets @vma's, or, not
 * exclusively mapped, the oldest possible one (the root's), and its index;
 * a page that has one keeps it. Exclusive makes it anon-exclusive.
 */
static void __shadow_page_set_anon_rmap(struct page *page,
					struct shadow_vma *vma,
					unsigned long addr, bool exclusive)
{
	struct shadow_anon_vma *av = vma->anon_vma;
	struct shadow_page *sp = shadow_page_meta(page);

	if (WARN_ON_ONCE(!av || sp->shmem))
		return;
	if (sp->anon_vma)
		goto out;
	if (!exclusive)
		av = av->root;
	shadow_anon_vma_get(av);
	WRITE_ONCE(sp->index, shadow_linear_page_index(vma, addr));
	WRITE_ONCE(sp->anon_vma, av);
out:
	if (exclusive)
		WRITE_ONCE(sp->anon_exclusive, true);
}

/**
 * shadow_page_add_new_anon_rmap() - a new private page, mapped at @addr
 * of @vma only (page_add_new_anon_rmap)
 * @page: the page, not yet visible to anyone else
 * @vma: the VMA, with an anon_vma (shadow_anon_vma_prepare)
 * @addr: where it is to be mapped
 *
 * The page takes @vma's anon_vma, with a reference, and its linear index;
 * it is anon-exclusive. The caller maps it and counts the mapping. A page
 * of droppable memory is never swap backed (6.11's
 * folio_add_new_anon_rmap()): it is lazyfree from the start.
 */
void shadow_page_add_new_anon_rmap(struct page *page, struct shadow_vma *vma,
				   unsigned long addr)
{
	if (vma->vm_flags & VM_DROPPABLE)
		WRITE_ONCE(shadow_page_meta(page)->lazyfree, true);
	__shadow_page_set_anon_rmap(page, vma, addr, true);
}

/**
 * shadow_page_add_anon_rmap() - a swapped-in page mapped at @addr of @vma
 * (page_add_anon_rmap)
 * @page: the page
 * @vma: the VMA, with an anon_vma
 * @addr: where it is mapped
 * @exclusive: the swap PTE was exclusive (RMAP_EXCLUSIVE): the page
 *             becomes anon-exclusive
 *
 * A page that already has an anon_vma (it kept it in the swap cache)
 * keeps it; one that has none gets @vma's when @exclusive, else the root
 * of @vma's, which every VMA that may share it descends from.
 */
void shadow_page_add_anon_rmap(struct page *page, struct shadow_vma *vma,
			       unsigned long addr, bool exclusive)
{
	__shadow_page_set_anon_rmap(page, vma, addr, exclusive);
}

/**
 * shadow_page_move_anon_rmap() - a page only @vma maps, reused in place
 * by a write fault (page_move_anon_rmap)
 * @page: the page, held by this mapping only; page_table_lock held
 * @vma: the VMA
 *
 * The page moves to @vma's own anon_vma, so that a later walk need not
 * search the VMAs of the anon_vma it came from, and becomes
 * anon-exclusive. Its index stays.
 */
void shadow_page_move_anon_rmap(struct page *page, struct shadow_vma *vma)
{
	struct shadow_anon_vma *av = vma->anon_vma;
	struct shadow_page *sp = shadow_page_meta(page);
	struct shadow_anon_vma *old = sp->anon_vma;

	shadow_pt_assert_locked(vma->vm_mm);
	if (WARN_ON_ONCE(!av || sp->shmem))
		return;
	if (old != av) {
		shadow_anon_vma_get(av);
		WRITE_ONCE(sp->anon_vma, av);
		/* An ancestor of @av, or @av: never the last reference. */
		shadow_anon_vma_put(old);
	}
	WRITE_ONCE(sp->anon_exclusive, true);
}

/**
 * shadow_folio_add_new_anon_rmap() - a new THP, to be mapped by a leaf at
 * @haddr of @vma only (folio_add_new_anon_rmap of a PMD-sized folio)
 * @folio: the folio, not yet visible to anyone else
 * @vma: the VMA, with an anon_vma
 * @haddr: the 2 MiB-aligned address of the leaf
 *
 * Each page takes @vma's anon_vma, with a reference of its own (they may
 * be freed one by one after a split), and its linear index; the head is
 * anon-exclusive, which stands for the folio while a leaf maps it. In a
 * VM_DROPPABLE VMA every page is lazyfree, as for a small page.
 */
void shadow_folio_add_new_anon_rmap(struct shadow_folio *folio,
				    struct shadow_vma *vma,
				    unsigned long haddr)
{
	struct shadow_anon_vma *av = vma->anon_vma;
	unsigned long i;

	if (WARN_ON_ONCE(!av))
		return;
	for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++) {
		shadow_anon_vma_get(av);
		folio->pages[i].index = shadow_linear_page_index(vma, haddr) + i;
		folio->pages[i].anon_vma = av;
		/* Droppable memory is never swap backed, a THP's neither. */
		if (vma->vm_flags & VM_DROPPABLE)
			folio->pages[i].lazyfree = true;
	}
	folio->pages[0].anon_exclusive = true;
}

/**
 * shadow_folio_move_anon_rmap() - a THP only @vma's leaf maps, reused in
 * place by a write fault (page_move_anon_rmap of the head)
 * @folio: the folio; page_table_lock held
 * @vma: the VMA
 */
void shadow_folio_move_anon_rmap(struct shadow_folio *folio,
				 struct shadow_vma *vma)
{
	unsigned long i;

	for (i = 0; i < SHADOW_HPAGE_PMD_NR; i++)
		shadow_page_move_anon_rmap(folio->head + i, vma);
	/* The head's bit stands for the folio's. */
	for (i = 1; i < SHADOW_HPAGE_PMD_NR; i++)
		WRITE_ONCE(folio->pages[i].anon_exclusive, false);
}

/**
 * shadow_page_free_rmap() - a page's metadata is being freed
 * @sp: the metadata
 *
 * Drops the page's anon_vma reference. Any context.
 */
void shadow_page_free_rmap(struct shadow_page *sp)
{
	shadow_anon_vma_put(sp->anon_vma);
	sp->anon_vma = NULL;
	sp->shmem_obj = NULL;
}

/**
 * struct shadow_rmap_walk_control - what an rmap walk does (rmap_walk_control)
 * @arg: for @rmap_one
 * @rmap_one: called for each VMA of the page's rmap at which the page's
 *            index falls, with that VMA's mm's mmap_lock held (but for
 *            @read_only); returns false to stop the walk
 * @done: stops the walk when it returns true, or NULL
 * @locked_mm: the address space whose mmap_lock the caller holds
 * @contended: a VMA was skipped: its mm's mmap_lock was not free
 * @page: the page walked for (the callbacks of the VMA lists' walks)
 * @read_only: @rmap_one only reads PTEs, under their mm's page_table_lock,
 *             which keeps the tables (pgtable.c's rule 2): no other mm's
 *             mmap_lock is taken, and no VMA skipped
 */
struct shadow_rmap_walk_control {
	void *arg;
	struct page *page;
	bool (*rmap_one)(struct page *page, struct shadow_vma *vma,
			 unsigned long addr, void *arg);
	bool (*done)(struct page *page);
	struct shadow_mm *locked_mm;
	bool contended;
	bool read_only;
};

/**
 * shadow_vma_address() - where @vma maps the page of index @index
 * (vma_address)
 * @index: the page's linear index
 * @vma: a VMA that may map it; its bounds held stable by the caller
 *
 * Return: the address, or -EFAULT when that is outside @vma.
 */
unsigned long shadow_vma_address(unsigned long index, struct shadow_vma *vma)
{
	unsigned long addr;

	if (index < vma->vm_pgoff)
		return -EFAULT;
	addr = vma->vm_start + ((index - vma->vm_pgoff) << PAGE_SHIFT);
	if (addr < vma->vm_start || addr >= vma->vm_end)
		return -EFAULT;
	return addr;
}

/*
 * One VMA of a walk: into its address space (the caller's, or another one
 * by trylock), then @rwc->rmap_one at the page's address. Returns false
 * when the walk is to stop.
 */
static bool shadow_rmap_walk_vma(struct page *page, struct shadow_vma *vma,
				 struct shadow_rmap_walk_control *rwc)
{
	struct shadow_mm *mm = READ_ONCE(vma->vm_mm);
	bool lock = mm != rwc->locked_mm && !rwc->read_only;
	unsigned long addr;
	bool ret = true;

	if (lock && !shadow_mmap_read_trylock(mm)) {
		rwc->contended = true;
		return true;
	}
	addr = shadow_vma_address(READ_ONCE(shadow_page_meta(page)->index),
				  vma);
	if (addr != -EFAULT) {
		ret = rwc->rmap_one(page, vma, addr, rwc->arg);
		if (ret && rwc->done && rwc->done(page))
			ret = false;
	}
	if (lock)
		shadow_mmap_read_unlock(mm);
	return ret;
}

/*
 * The VMAs on the lists of @av and of its descendants, depth first, until
 * @fn returns false (then false). The root's rwsem is held; the children
 * lists are read under rcu_read_lock, so @fn may not sleep.
 */
static bool shadow_anon_vma_walk_from(struct shadow_anon_vma *av,
				      bool (*fn)(struct shadow_vma *vma, void *arg),
				      void *arg)
{
	struct shadow_anon_vma *pos, *next;
	struct shadow_vma *vma;
	bool ret = true;

	rcu_read_lock();
	pos = av;
	for (;;) {
		list_for_each_entry(vma, &pos->vmas, anon_vma_node) {
			ret = fn(vma, arg);
			if (!ret)
				goto out;
		}
		/* Next: the first child, else the next sibling up to @av. */
		next = list_first_or_null_rcu(&pos->children,
					      struct shadow_anon_vma, sibling);
		while (!next && pos != av) {
			next = list_next_or_null_rcu(&pos->parent->children,
						     &pos->sibling,
						     struct shadow_anon_vma,
						     sibling);
			if (!next)
				pos = pos->parent;
		}
		if (!next)
			break;
		pos = next;
	}
out:
	rcu_read_unlock();
	return ret;
}

static bool shadow_rmap_walk_anon_one(struct shadow_vma *vma, void *arg)
{
	struct shadow_rmap_walk_control *rwc = arg;

	return shadow_rmap_walk_vma(rwc->page, vma, rwc);
}

/*
 * rmap_walk_anon(): the VMAs of the page's anon_vma, then those of its
 * descendants, under the root's rwsem (the VMA lists) and rcu_read_lock
 * (the children lists).
 */
static shadow_flow void shadow_rmap_walk_anon(struct page *page,
					      struct shadow_rmap_walk_control *rwc)
{
	struct shadow_anon_vma *av;

	/* The page's reference keeps it, and its ancestors. */
	av = READ_ONCE(shadow_page_meta(page)->anon_vma);
	if (!av)
		return;

	shadow_anon_vma_lock_read(av);
	rwc->page = page;
	shadow_anon_vma_walk_from(av, shadow_rmap_walk_anon_one, rwc);
	shadow_anon_vma_unlock_read(av);
}

/**
 * shadow_folio_lock_anon_vma_read() - hold the VMA lists of a THP's
 * anon_vma tree (folio_lock_anon_vma_read, for split_huge_page)
 * @folio: an anonymous folio, referenced by the caller
 *
 * Return: the root of the tree, whose rwsem is now held for reading, for
 * shadow_anon_vma_walk_tree() and shadow_anon_vma_unlock_tree(); NULL
 * when the folio has no anon_vma.
 */
struct shadow_anon_vma *shadow_folio_lock_anon_vma_read(struct shadow_folio *folio)
{
	/* The folio's reference keeps its anon_vma, and the root. */
	struct shadow_anon_vma *av = READ_ONCE(folio->pages[0].anon_vma);

	if (!av)
		return NULL;
	shadow_anon_vma_lock_read(av);
	return av->root;
}

/**
 * shadow_anon_vma_unlock_tree() - let go of shadow_folio_lock_anon_vma_read()
 * @root: what it returned
 */
void shadow_anon_vma_unlock_tree(struct shadow_anon_vma *root)
{
	shadow_anon_vma_unlock_read(root);
}

/**
 * shadow_anon_vma_lock_table() - take @mm's page_table_lock as one of
 * several, under an anon_vma tree's rwsem (a THP split's)
 * @root: the root of the tree, its rwsem held
 * @mm: the address space
 *
 * The caller takes them in address order, holding the mmap_lock of each
 * address space, which keeps fork, the only other path that takes two,
 * away: mm.c's lock tree.
 */
void shadow_anon_vma_lock_table(struct shadow_anon_vma *root,
				struct shadow_mm *mm)
	__acquires(&mm->page_table_lock)
{
	spin_lock_nest_lock(&mm->page_table_lock, &root->rwsem);
}

/**
 * shadow_anon_vma_walk_tree() - every VMA of an anon_vma tree
 * @root: the root, its rwsem held (shadow_folio_lock_anon_vma_read())
 * @fn: called for each VMA until it returns false; it may not sleep
 * @arg: its argument
 *
 * Every page of the tree's folios has an anon_vma of the tree, whatever a
 * reuse moved (page_move_anon_rmap): these are all the VMAs that may map
 * one.
 *
 * Return: false when @fn stopped the walk.
 */
bool shadow_anon_vma_walk_tree(struct shadow_anon_vma *root,
			       bool (*fn)(struct shadow_vma *vma, void *arg),
			       void *arg)
{
	return shadow_anon_vma_walk_from(root, fn, arg);
}

/*
 * rmap_walk_file(): the VMAs mapping the shmem object of the page, under
 * its i_mmap_rwsem. The object is kept by the VMA of @rwc->locked_mm the
 * caller found the page in.
 */
static shadow_flow void shadow_rmap_walk_file(struct page *page,
					      struct shadow_rmap_walk_control *rwc)
{
	struct shadow_address_space *shmem = READ_ONCE(shadow_page_meta(page)->shmem_obj);
	struct shadow_inode *obj;
	struct shadow_vma *vma;

	if (!shmem)
		return;
	obj = to_shadow_inode(shmem);
	down_read(&obj->i_mmap_rwsem);
	list_for_each_entry(vma, &obj->i_mmap, i_mmap_node)
		if (!shadow_rmap_walk_vma(page, vma, rwc))
			break;
	up_read(&obj->i_mmap_rwsem);
}

/* One file object of a page-cache page's address_space: its VMAs. */
static bool shadow_rmap_walk_file_object(struct shadow_inode *obj,
					 void *arg)
{
	struct shadow_rmap_walk_control *rwc = arg;
	struct page *page = rwc->page;
	struct shadow_vma *vma;
	bool ret = true;

	down_read(&obj->i_mmap_rwsem);
	list_for_each_entry(vma, &obj->i_mmap, i_mmap_node) {
		ret = shadow_rmap_walk_vma(page, vma, rwc);
		if (!ret)
			break;
	}
	up_read(&obj->i_mmap_rwsem);
	return ret;
}

/*
 * rmap_walk_file() for a page-cache page: the VMAs of every file object
 * of the page's address_space (each struct file open on the inode),
 * under the list's lock and each object's i_mmap_rwsem.
 */
static shadow_flow void shadow_rmap_walk_filemap(struct page *page,
						 struct shadow_rmap_walk_control *rwc)
{
	rwc->page = page;
	shadow_filemap_walk_objects(shadow_page_meta(page)->mapping,
				    shadow_rmap_walk_file_object, rwc);
}

/* rmap_walk(): every VMA that may map @page. */
static void shadow_rmap_walk(struct page *page,
			     struct shadow_rmap_walk_control *rwc)
{
	if (shadow_page_meta(page)->file)
		shadow_rmap_walk_filemap(page, rwc);
	else if (shadow_page_meta(page)->shmem)
		shadow_rmap_walk_file(page, rwc);
	else
		shadow_rmap_walk_anon(page, rwc);
}

/*
 * Does the PTE map @page (page_vma_mapped_walk's check)? page_table_lock
 * held.
 */
static bool shadow_pte_maps_page(struct shadow_mm *mm, pte_t *pte,
				 struct page *page)
{
	pte_t ptent = *pte;

	shadow_pt_assert_locked(mm);
	return pte_present(ptent) && !pte_special(ptent) &&
	       pte_page(ptent) == page;
}

/* folio_not_mapped(): try_to_unmap is done when no PTE maps the page. */
static bool shadow_page_not_mapped(struct page *page)
{
	return shadow_page_mapcount_raw(shadow_page_meta(page)) <= 0;
}

/* One VMA of shadow_page_mapcount()'s walk: does its PTE map the page? */
static bool shadow_page_mapcount_one(struct page *page, struct shadow_vma *vma,
				     unsigned long addr, void *arg)
{
	struct shadow_mm *mm = READ_ONCE(vma->vm_mm);
	int *mapcount = arg;
	unsigned long pmd;
	pte_t *pte;

	/* No mmap_lock of @mm: the lock alone keeps its tables (rule 2). */
	spin_lock(&mm->page_table_lock);
	pte = shadow_pte_lookup(mm, addr);
	pmd = pte ? 0 : shadow_pmd_lookup(mm, addr);
	if (pte ? shadow_pte_maps_page(mm, pte, page) :
	    shadow_pmd_trans_huge(pmd) &&
	    shadow_huge_pmd_page(pmd, addr) == page)
		(*mapcount)++;
	spin_unlock(&mm->page_table_lock);
	return true;
}

/**
 * shadow_page_mapcount() - the mapcount a copying fork would have given
 * @page (pgtable.c's rule 5), for a reader
 * @page: a data page the caller holds a reference on
 * @locked_mm: the address space whose mmap_lock the caller holds, with no
 *             page_table_lock
 *
 * The shadow mapcount counts a table that on-demand fork shares once; the
 * PTEs the address spaces see are counted here, each sharer's VMA finding
 * the shared table under its own page_table_lock.
 *
 * Return: the count.
 */
int shadow_page_mapcount(struct page *page, struct shadow_mm *locked_mm)
{
	int mapcount = 0;
	struct shadow_rmap_walk_control rwc = {
		.rmap_one = shadow_page_mapcount_one,
		.arg = &mapcount,
		.locked_mm = locked_mm,
		.read_only = true,
	};

	shadow_mmap_assert_locked(locked_mm);
	shadow_rmap_walk(page, &rwc);
	return mapcount;
}

/*
 * How many mappings a walk of @page may meet: its shadow mapcount, unless
 * a table is shared somewhere, whose sharers that counts once.
 */
static int shadow_page_mapcount_bound(struct page *page)
{
	struct shadow_page *sp = shadow_page_meta(page);

	if (!shadow_mapcount_exact(sp))
		return INT_MAX;
	return shadow_page_mapcount_raw(sp);
}

struct shadow_page_referenced_arg {
	int mapcount;
	int referenced;
	unsigned long vm_flags;
};

/*
 * folio_referenced_one(): a mapping in a VM_LOCKED VMA ends the walk with
 * VM_LOCKED; a young PTE is made old (ptep_clear_flush_young: the shadow
 * page tables are in no TLB) and counts, unless the VMA is read
 * sequentially.
 */
static bool shadow_page_referenced_one(struct page *page,
				       struct shadow_vma *vma,
				       unsigned long addr, void *arg)
{
	struct shadow_page_referenced_arg *pra = arg;
	struct shadow_mm *mm = vma->vm_mm;
	bool mapped, locked = false;
	int referenced = 0;
	bool shared;
	pte_t *pte;

	spin_lock(&mm->page_table_lock);
	pte = shadow_pte_lookup_locked(mm, addr, &shared);
	if (pte && shared && pte_young(shadow_pte_view(mm, pte, true)) &&
	    !(vma->vm_flags & VM_LOCKED) &&
	    shadow_pte_maps_page(mm, pte, page)) {
		/*
		 * Clearing the young bit writes the table: ours first.
		 * Without memory for the copy, it stays young.
		 */
		spin_unlock(&mm->page_table_lock);
		shadow_pte_unshare(mm, addr, SHADOW_GFP_ATOMIC);
		spin_lock(&mm->page_table_lock);
		pte = shadow_pte_lookup_locked(mm, addr, &shared);
	}
	mapped = pte && shadow_pte_maps_page(mm, pte, page);
	if (mapped && (vma->vm_flags & VM_LOCKED)) {
		locked = true;
	} else if (mapped && pte_young(shadow_pte_view(mm, pte, shared))) {
		if (!shared)
			shadow_set_pte(pte, pte_mkold(*pte));
		if (likely(!(vma->vm_flags & VM_SEQ_READ)))
			referenced++;
	}
	spin_unlock(&mm->page_table_lock);
	if (!mapped)
		return true;
	if (locked) {
		pra->vm_flags |= VM_LOCKED;
		return false;
	}
	pra->mapcount--;

	if (referenced) {
		pra->referenced++;
		pra->vm_flags |= vma->vm_flags & ~VM_LOCKED;
	}
	return pra->mapcount > 0;
}

/**
 * shadow_page_referenced() - test and clear the young bits of every PTE
 * mapping @page (folio_referenced)
 * @page: a data page the caller holds a reference on, found mapped in a
 *        VMA of @locked_mm
 * @locked_mm: the address space whose mmap_lock the caller holds
 * @vm_flags: set to VM_LOCKED when a VM_LOCKED VMA maps the page (the walk
 *            stops there), and to the flags of the VMAs whose mapping was
 *            young
 * @busy: set to true when an address space's mmap_lock could not be
 *        trylocked and its mapping was not looked at (rwc->contended);
 *        left alone otherwise
 *
 * Return: the number of mappings that were young.
 */
shadow_flow int shadow_page_referenced(struct page *page,
				       struct shadow_mm *locked_mm,
				       unsigned long *vm_flags, bool *busy)
{
	struct shadow_page_referenced_arg pra = {
		.mapcount = shadow_page_mapcount_bound(page),
	};
	struct shadow_rmap_walk_control rwc = {
		.rmap_one = shadow_page_referenced_one,
		.arg = &pra,
		.locked_mm = locked_mm,
	};

	shadow_mmap_assert_locked(locked_mm);
	*vm_flags = 0;
	if (pra.mapcount <= 0)
		return 0;
	shadow_rmap_walk(page, &rwc);
	*vm_flags = pra.vm_flags;
	if (rwc.contended)
		*busy = true;
	return pra.referenced;
}

/*
 * try_to_unmap_one(): clear the PTE, move its dirty bit to the page; a
 * private page's PTE becomes its swap entry (one more swap count; the
 * exclusive bit carries PageAnonExclusive, which the page loses), a shmem
 * page's PTE none, a clean lazyfree page's PTE none (a dirty one stops the
 * walk and is no longer lazyfree; a droppable one goes dirty or not); the
 * mapping and its reference go. A VM_LOCKED VMA stops the walk with the
 * page still mapped.
 */
static bool shadow_try_to_unmap_one(struct page *page, struct shadow_vma *vma,
				    unsigned long addr, void *arg)
{
	struct shadow_page *sp = shadow_page_meta(page);
	struct shadow_mm *mm = vma->vm_mm;
	unsigned long *nr = arg;
	swp_entry_t entry = { .val = 0 };
	bool ret = true;
	pte_t *pte, pteval;
	int err;

	/*
	 * Unmapping writes the table: ours first. Without memory for the
	 * copy the page stays mapped here, as a busy address space's does.
	 */
	pte = shadow_pte_lookup_for_write(mm, addr, SHADOW_GFP_ATOMIC, &err);
	if (!pte)
		return true;
	spin_lock(&mm->page_table_lock);
	if (!shadow_pte_maps_page(mm, pte, page))
		goto out_unlock;
	if (vma->vm_flags & VM_LOCKED) {
		ret = false;
		goto out_unlock;
	}
	if (shadow_page_lazyfree(sp)) {
		bool droppable = vma->vm_flags & VM_DROPPABLE;

		/*
		 * MADV_FREE page check: clean, and held by its mappings and
		 * the caller only, it is discarded; written since, it stays
		 * mapped and is swap backed again. Unlike MADV_FREE
		 * mappings, VM_DROPPABLE ones are dropped even when
		 * written, and never get swap backed on failure to drop.
		 */
		if (atomic_read(&sp->refs) != 1 + atomic_read(&sp->mapcount) ||
		    (!droppable && (pte_dirty(*pte) || READ_ONCE(sp->dirty)))) {
			if (!droppable)
				WRITE_ONCE(sp->lazyfree, false);
			ret = false;
			goto out_unlock;
		}
		shadow_set_pte(pte, __pte(0));
		mm->rss_anon--;
		trace_shadow_mm_try_to_unmap(mm, addr, sp->id, 0, false);
		goto discard;
	}
	if (!sp->shmem && !sp->file) {
		/* add_to_swap() comes first: the PTE needs the entry. */
		entry.val = READ_ONCE(sp->swap);
		if (WARN_ON_ONCE(!entry.val)) {
			ret = false;
			goto out_unlock;
		}
	}

	/* Nuke the page table entry (ptep_clear_flush). */
	pteval = *pte;
	shadow_set_pte(pte, __pte(0));
	/* Set the dirty flag on the folio now the pte is gone. */
	if (pte_dirty(pteval)) {
		if (sp->file)
			shadow_file_page_mkdirty(page);
		else
			WRITE_ONCE(sp->dirty, true);
	}

	if (sp->file) {
		/* A file page is simply unmapped: it stays in its file. */
		mm->rss_file--;
	} else if (!sp->shmem) {
		bool anon_exclusive = READ_ONCE(sp->anon_exclusive);
		pte_t swp_pte;

		shadow_swap_duplicate(entry);
		/* page_try_share_anon_rmap(): the PTE is clear first. */
		if (anon_exclusive)
			WRITE_ONCE(sp->anon_exclusive, false);
		mm->rss_anon--;
		mm->nr_swapents++;
		mm->swapouts++;
		swp_pte = swp_entry_to_pte(entry);
		if (anon_exclusive)
			swp_pte = pte_swp_mkexclusive(swp_pte);
		if (pte_soft_dirty(pteval))
			swp_pte = pte_swp_mksoft_dirty(swp_pte);
		shadow_set_pte(pte, swp_pte);
	} else {
		mm->rss_shmem--;
	}
	trace_shadow_mm_try_to_unmap(mm, addr, sp->id,
				     entry.val ? swp_offset(entry) : 0,
				     pte_dirty(pteval));

discard:
	/* page_remove_rmap() and the PTE's reference (never the last). */
	atomic_dec(&sp->mapcount);
	shadow_put_page(page);
	(*nr)++;
out_unlock:
	spin_unlock(&mm->page_table_lock);
	return ret;
}

/**
 * shadow_try_to_unmap() - unmap @page from every PTE that maps it
 * (try_to_unmap)
 * @page: a data page the caller holds a reference on, found mapped in a
 *        VMA of @locked_mm; a private one in the swap cache
 * @locked_mm: the address space whose mmap_lock the caller holds
 * @busy: set to true when an address space's mmap_lock could not be
 *        trylocked and its mapping stays; left alone otherwise
 *
 * Stops at the first mapping in a VM_LOCKED VMA, and when the page is no
 * longer mapped.
 *
 * Return: the PTEs cleared. The page is unmapped when its mapcount is 0.
 */
shadow_flow unsigned long shadow_try_to_unmap(struct page *page,
					      struct shadow_mm *locked_mm,
					      bool *busy)
{
	unsigned long nr = 0;
	struct shadow_rmap_walk_control rwc = {
		.rmap_one = shadow_try_to_unmap_one,
		.done = shadow_page_not_mapped,
		.arg = &nr,
		.locked_mm = locked_mm,
	};

	shadow_mmap_assert_locked(locked_mm);
	if (shadow_page_not_mapped(page))
		return 0;
	shadow_rmap_walk(page, &rwc);
	if (rwc.contended)
		*busy = true;
	return nr;
}
