// SPDX-License-Identifier: GPL-2.0
/*
 * anon_vma of shadow address spaces, after mm/rmap.c: the object that ties
 * the private anonymous pages of a VMA to every VMA that may map them.
 * Here it carries the identity and lifetime rules that merging and fork
 * depend on (anon_vma_prepare, find_mergeable_anon_vma, anon_vma_fork);
 * the walk from a page to its mappings comes with reclaim.
 *
 * A VMA's anon_vma is set under mm->page_table_lock with mmap_lock held for
 * reading (a fault), and changed only with mmap_lock held for writing.
 */
#include <linux/slab.h>

#include "internal.h"

/**
 * struct shadow_anon_vma - the anon_vma of a shadow address space
 * @refcount: one per VMA pointing at it, one per child anon_vma
 * @parent: the anon_vma it was forked from, or NULL
 * @id: stable identity, for traces and tests
 */
struct shadow_anon_vma {
	refcount_t refcount;
	struct shadow_anon_vma *parent;
	unsigned long id;
};

static struct shadow_anon_vma *shadow_anon_vma_alloc(struct shadow_anon_vma *parent)
{
	static atomic_long_t last_id;
	struct shadow_anon_vma *av;

	av = kzalloc(sizeof(*av), SHADOW_GFP);
	if (!av)
		return NULL;
	refcount_set(&av->refcount, 1);
	av->id = atomic_long_inc_return(&last_id);
	if (parent) {
		refcount_inc(&parent->refcount);
		av->parent = parent;
	}
	return av;
}

/**
 * shadow_anon_vma_get() - take a reference for a VMA that points at it
 * @anon_vma: the anon_vma, or NULL
 */
void shadow_anon_vma_get(void *anon_vma)
{
	struct shadow_anon_vma *av = anon_vma;

	if (av)
		refcount_inc(&av->refcount);
}

/**
 * shadow_anon_vma_put() - drop a reference; the last frees it
 * @anon_vma: the anon_vma, or NULL
 *
 * A freed anon_vma drops its reference on its parent.
 */
void shadow_anon_vma_put(void *anon_vma)
{
	struct shadow_anon_vma *av = anon_vma;

	while (av && refcount_dec_and_test(&av->refcount)) {
		struct shadow_anon_vma *parent = av->parent;

		kfree(av);
		av = parent;
	}
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
	if (a->vm_end != b->vm_start || a->vm_shmem != b->vm_shmem ||
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
 * does, so that the two may merge later.
 *
 * Return: 0 or -ENOMEM.
 */
shadow_flow int shadow_anon_vma_prepare(struct shadow_mm *mm,
					struct shadow_vma *vma)
{
	struct shadow_anon_vma *av;

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

	spin_lock(&mm->page_table_lock);
	if (likely(!vma->anon_vma)) {
		WRITE_ONCE(vma->anon_vma, av);
		vma->vm_anon_chain = 1;
		av = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	/* Lost the race: drop ours (a reference, or the new one). */
	shadow_anon_vma_put(av);
	return 0;
}

/**
 * shadow_anon_vma_fork() - the anon_vma of a VMA copied by fork
 * @dst: the child's VMA, pointing at the parent's anon_vma with a reference
 * @src: the parent's VMA, or NULL when @dst starts without (VM_WIPEONFORK)
 *
 * The child gets an anon_vma of its own whose parent is @src's, and a chain
 * one longer than @src's: it no longer merges with a VMA without an anon_vma
 * (is_mergeable_anon_vma's singular-chain rule).
 *
 * Return: 0 or -ENOMEM (then @dst has no anon_vma).
 */
int shadow_anon_vma_fork(struct shadow_vma *dst, struct shadow_vma *src)
{
	struct shadow_anon_vma *av;

	shadow_anon_vma_put(dst->anon_vma);
	dst->anon_vma = NULL;
	dst->vm_anon_chain = 0;
	if (!src || !src->anon_vma)
		return 0;
	av = shadow_anon_vma_alloc(src->anon_vma);
	if (!av)
		return -ENOMEM;
	dst->anon_vma = av;
	dst->vm_anon_chain = src->vm_anon_chain + 1;
	return 0;
}
