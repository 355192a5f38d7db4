// SPDX-License-Identifier: GPL-2.0
/*
 * What a shadow address space looks like from outside, after
 * fs/proc/task_mmu.c: the maps text, the VMA records, smaps, the page
 * records (pagemap), and the statistics.
 */
#include <linux/log2.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"

/* Column where the name starts in /proc/<pid>/maps on a 64-bit kernel. */
#define SHADOW_MAPS_NAME_COLUMN	(25 + sizeof(void *) * 6)

/**
 * shadow_vma_info() - describe a VMA for user space
 * @vma: the VMA
 * @info: filled in; no kernel address goes into it
 */
void shadow_vma_info(struct shadow_vma *vma, struct shadow_vma_info *info)
{
	memset(info, 0, sizeof(*info));
	info->start = vma->vm_start;
	info->end = vma->vm_end;
	info->vm_flags = vma->vm_flags;
	info->pgoff = vma->vm_pgoff;
	if (shadow_vma_file(vma)) {
		info->backing = SHADOW_VMA_FILE;
		info->backing_id = vma->vm_mapping->id;
	} else if (vma->vm_mapping) {
		info->backing = SHADOW_VMA_ANON_SHARED;
		info->backing_id = vma->vm_mapping->id;
	} else if (vma->vm_special) {
		info->backing = SHADOW_VMA_SPECIAL;
		info->backing_id = vma->vm_special;
	} else {
		info->backing = SHADOW_VMA_ANON_PRIVATE;
	}
}

/* vma_is_initial_heap(), with 6.1's bounds before 6.5. */
static bool shadow_vma_is_initial_heap(struct shadow_vma *vma,
				       struct shadow_mm *mm)
{
	if (SHADOW_RULE_INITIAL_HEAP_STRICT)
		return vma->vm_start < mm->brk && vma->vm_end > mm->start_brk;
	return vma->vm_start <= mm->brk && vma->vm_end >= mm->start_brk;
}

/**
 * shadow_show_map_vma() - one line of maps (show_map_vma)
 * @vma: the VMA
 * @line: the buffer, SHADOW_MAPS_LINE_MAX bytes
 * @size: its size
 *
 * A special mapping is named by its kind ([vdso], [vvar]), private
 * anonymous memory on the heap's range [heap] (touching it is enough
 * before 6.5: SHADOW_RULE_INITIAL_HEAP_STRICT), and the VMA
 * containing start_stack [stack].
 *
 * Return: the length of the line, newline included.
 */
int shadow_show_map_vma(struct shadow_vma *vma, char *line, int size)
{
	struct shadow_mm *mm = vma->vm_mm;
	struct file *file = shadow_vma_file(vma);
	unsigned long flags = vma->vm_flags;
	unsigned long long pgoff = 0;
	const char *name = NULL;
	int dev_major = 0, dev_minor = 0;
	unsigned long ino = 0;
	int n;

	if (file) {
		struct inode *inode = file_inode(file);

		dev_major = MAJOR(inode->i_sb->s_dev);
		dev_minor = MINOR(inode->i_sb->s_dev);
		ino = inode->i_ino;
		pgoff = (unsigned long long)vma->vm_pgoff << PAGE_SHIFT;
	} else if (vma->vm_mapping) {
		/* A shared anonymous mapping is a deleted /dev/zero on shmem. */
		pgoff = (unsigned long long)vma->vm_pgoff << PAGE_SHIFT;
		dev_minor = 1;
		ino = vma->vm_mapping->id;
	}
	n = scnprintf(line, size, "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ",
		      vma->vm_start, vma->vm_end,
		      flags & VM_READ ? 'r' : '-',
		      flags & VM_WRITE ? 'w' : '-',
		      flags & VM_EXEC ? 'x' : '-',
		      flags & VM_MAYSHARE ? 's' : 'p',
		      pgoff, dev_major, dev_minor, ino);
	if (file) {
		/* seq_file_path(): the path, where the name column starts. */
		int pad = max_t(int, SHADOW_MAPS_NAME_COLUMN - n, 1);
		char *path;

		if (n + pad + 2 < size) {
			path = file_path(file, line + n + pad, size - n - pad - 1);
			if (!IS_ERR(path)) {
				memset(line + n, ' ', pad);
				n += pad;
				memmove(line + n, path, strlen(path) + 1);
				n += strlen(line + n);
			}
		}
	} else if (vma->vm_mapping) {
		name = "/dev/zero (deleted)";
	} else if (vma->vm_special) {
		/* vm_ops->name: special_mapping_name() */
		name = vma->vm_special == SHADOW_SPECIAL_VDSO ? "[vdso]" :
								 "[vvar]";
	} else if (shadow_vma_is_initial_heap(vma, mm)) {
		name = "[heap]";
	} else if (vma->vm_start <= mm->start_stack &&
		   vma->vm_end >= mm->start_stack) {
		/* is_stack() */
		name = "[stack]";
	}
	if (name)
		n += scnprintf(line + n, size - n, "%*s%s",
			       (int)max_t(long, SHADOW_MAPS_NAME_COLUMN - n,
					  1), "", name);
	n += scnprintf(line + n, size - n, "\n");
	return n;
}

/**
 * shadow_show_maps() - the address space in /proc/<pid>/maps format
 * @mm: the address space
 * @max_len: the most text the caller can take
 * @bufp: set to a kvmalloc()ed buffer holding min(@max_len, *@len) bytes
 *        of the text, for the caller to kvfree()
 * @len: set to the length of the whole text, which may exceed @max_len
 *
 * The buffer is sized by the VMAs there are, never by @max_len alone.
 *
 * Return: 0, -EINTR when killed waiting for mmap_lock, or -ENOMEM.
 */
int shadow_show_maps(struct shadow_mm *mm, u64 max_len, char **bufp,
		     size_t *len)
{
	char line[SHADOW_MAPS_LINE_MAX];
	struct shadow_vma *vma;
	size_t size, total = 0;
	char *buf;
	int n;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	if (shadow_mmap_read_lock_killable(mm))
		return -EINTR;
	size = min_t(u64, max_len,
		     (u64)mm->map_count * SHADOW_MAPS_LINE_MAX);
	buf = kvmalloc(size ?: 1, SHADOW_GFP);
	if (!buf) {
		shadow_mmap_read_unlock(mm);
		return -ENOMEM;
	}
	mas_for_each(&mas, vma, ULONG_MAX) {
		n = shadow_show_map_vma(vma, line, sizeof(line));
		if (total + n <= size)
			memcpy(buf + total, line, n);
		total += n;
		cond_resched();
	}
	shadow_mmap_read_unlock(mm);
	*bufp = buf;
	*len = total;
	return 0;
}

/*
 * The mapcount a reader sees for @page, found in a PTE table that @shares
 * address spaces map (pgtable.c's rule 5): the shadow mapcount counts a
 * shared table once. When no table is shared anywhere, or the page is in
 * this table only, that says it; otherwise only an rmap walk can
 * (shadow_page_mapcount()), and the result is -1.
 */
static int shadow_view_mapcount(struct page *page, int shares)
{
	struct shadow_page *sp = shadow_page_meta(page);
	int mapcount = shadow_page_mapcount_raw(sp);

	if (shadow_mapcount_exact(sp))
		return mapcount;
	return mapcount == 1 ? shares : -1;
}

/* The address spaces that map the PTE table of the walk's PMD entry. */
static int shadow_walk_shares(struct shadow_pagewalk *walk)
{
	if (!shadow_pmd_shared(walk->pmd))
		return 1;
	return atomic_read(shadow_pt_share_count(shadow_entry_table(walk->pmd)));
}

/* The flags a mapcount gives a record: pagemap's PM_MMAP_EXCLUSIVE. */
static void shadow_page_info_mapcount(struct shadow_page_info *info,
				      int mapcount)
{
	info->mapcount = mapcount;
	if (mapcount == 1)
		info->flags |= SHADOW_PAGE_MMAP_EXCLUSIVE;
}

/*
 * Copy the state of a PTE, as shadow_pte_view() gives it, into a record.
 * @marked: its table is marked (pgtable.c); @shares: the address spaces
 * mapping it. Returns the page when its mapcount needs an rmap walk (the
 * record's is left 0), else NULL.
 */
static struct page *shadow_page_info(pte_t entry, bool marked, int shares,
				     struct shadow_page_info *info)
{
	struct shadow_page *sp;
	struct page *page;
	int mapcount;

	memset(info, 0, sizeof(*info));
	if (pte_none(entry))
		return NULL;
	if (!pte_present(entry)) {
		swp_entry_t swp = pte_to_swp_entry(entry);

		/*
		 * A swap entry: its slot, and the slot's swap count (no
		 * shared table holds one, fork.c).
		 */
		info->flags = SHADOW_PAGE_SWAP |
			      (pte_swp_exclusive(entry) ?
			       SHADOW_PAGE_ANON_EXCLUSIVE : 0) |
			      (shares > 1 ? SHADOW_PAGE_PT_SHARED : 0);
		info->page_id = shadow_swap_slot_id(swp);
		info->mapcount = shadow_swap_count(swp);
		return NULL;
	}
	info->flags = SHADOW_PAGE_PRESENT |
		      (pte_write(entry) ? SHADOW_PAGE_WRITE : 0) |
		      (pte_dirty(entry) ? SHADOW_PAGE_DIRTY : 0) |
		      (pte_young(entry) ? SHADOW_PAGE_YOUNG : 0) |
		      (shares > 1 ? SHADOW_PAGE_PT_SHARED : 0);
	if (pte_special(entry)) {
		info->flags |= SHADOW_PAGE_ZERO;
		return NULL;
	}
	page = pte_page(entry);
	sp = shadow_page_meta(page);
	info->page_id = sp->id;
	/* A page of a THP, PMD- or PTE-mapped (/proc/kpageflags' KPF_THP). */
	if (sp->folio) {
		info->flags |= SHADOW_PAGE_THP;
		info->head_id = sp->folio->pages[0].id;
		info->order = SHADOW_HPAGE_PMD_ORDER;
	}
	/* A page of a marked table is not exclusive (rule 5). */
	if (READ_ONCE(sp->anon_exclusive) && !marked)
		info->flags |= SHADOW_PAGE_ANON_EXCLUSIVE;
	if (sp->shmem)
		info->flags |= SHADOW_PAGE_SHMEM;
	if (sp->file)
		info->flags |= SHADOW_PAGE_FILE;
	if (READ_ONCE(sp->swap))
		info->flags |= SHADOW_PAGE_SWAPCACHE;
	mapcount = shadow_view_mapcount(page, shares);
	if (mapcount < 0)
		return page;
	shadow_page_info_mapcount(info, mapcount);
	return NULL;
}

/* Records one walk fills before they are copied out. */
#define SHADOW_PAGEMAP_BATCH	64

/**
 * struct shadow_pagemapread - the state of SHADOW_MM_WALK (pagemapread)
 * @buffer: the records of SHADOW_PAGEMAP_BATCH pages from @start
 * @pending: for each record, the page whose mapcount the walk left to an
 *           rmap walk, with a reference, or NULL
 * @head: for each record of a page a leaf maps, where the head's mapcount
 *        says whether it is mapped once (!SHADOW_RULE_PAGEMAP_PAGE_EXCLUSIVE),
 *        the head, with a reference; else NULL
 * @start: the address of @buffer[0]
 */
struct shadow_pagemapread {
	struct shadow_page_info *buffer;
	struct page *pending[SHADOW_PAGEMAP_BATCH];
	struct page *head[SHADOW_PAGEMAP_BATCH];
	unsigned long start;
};

static unsigned long shadow_pagemap_index(struct shadow_pagemapread *pm,
					  unsigned long addr)
{
	return (addr - pm->start) >> PAGE_SHIFT;
}

/*
 * A record of a page a PMD leaf maps (pagemap_pmd_range()): PMD-mapped;
 * the huge zero page is a THP too (KPF_ZERO_PAGE | KPF_THP), head id 0;
 * a THP's pages are anon-exclusive as its head is, whose bit stands for
 * the folio's while a leaf maps it.
 */
static void shadow_pagemap_huge_pmd(unsigned long pmd, pte_t pte,
				    struct shadow_page_info *info)
{
	struct shadow_folio *folio;

	info->flags |= SHADOW_PAGE_PMD_MAPPED | SHADOW_PAGE_THP;
	info->order = SHADOW_HPAGE_PMD_ORDER;
	if (shadow_is_huge_zero_pmd(pmd))
		return;
	folio = shadow_page_meta(pte_page(pte))->folio;
	if (READ_ONCE(folio->pages[0].anon_exclusive))
		info->flags |= SHADOW_PAGE_ANON_EXCLUSIVE;
}

/* pagemap_pte_range(), one PTE: the table may be shared, read it locked. */
static int shadow_pagemap_pte_entry(pte_t *pte, unsigned long addr,
				    unsigned long next,
				    struct shadow_pagewalk *walk)
{
	struct shadow_pagemapread *pm = walk->private;
	unsigned long i = shadow_pagemap_index(pm, addr);
	bool marked = shadow_pmd_shared(walk->pmd);
	struct page *page;

	page = shadow_page_info(shadow_pte_view(walk->mm, pte, marked), marked,
				shadow_walk_shares(walk), &pm->buffer[i]);
	pm->head[i] = NULL;
	if (shadow_pmd_trans_huge(walk->pmd)) {
		shadow_pagemap_huge_pmd(walk->pmd, *pte, &pm->buffer[i]);
		if (!SHADOW_RULE_PAGEMAP_PAGE_EXCLUSIVE &&
		    !shadow_is_huge_zero_pmd(walk->pmd)) {
			pm->head[i] = shadow_page_meta(pte_page(*pte))->folio->head;
			shadow_get_page(pm->head[i]);
		}
	}
	if (page)
		shadow_get_page(page);
	pm->pending[i] = page;
	return 0;
}

/*
 * The mapcounts the walk left to rmap walks, with page_table_lock no
 * longer held (rmap.c's lock order).
 */
static void shadow_pagemap_resolve(struct shadow_mm *mm,
				   struct shadow_pagemapread *pm,
				   unsigned long n)
{
	struct page *head = NULL;
	int head_mapcount = 0;
	unsigned long i;

	for (i = 0; i < n; i++) {
		if (pm->pending[i]) {
			shadow_page_info_mapcount(&pm->buffer[i],
						  shadow_page_mapcount(pm->pending[i],
								       mm));
			shadow_put_page(pm->pending[i]);
		}
		if (!pm->head[i])
			continue;
		/* 6.1's pagemap_pmd_range(): page_mapcount(head) for all. */
		if (pm->head[i] != head) {
			head = pm->head[i];
			head_mapcount = shadow_page_mapcount(head, mm);
		}
		pm->buffer[i].flags &= ~SHADOW_PAGE_MMAP_EXCLUSIVE;
		if (head_mapcount == 1)
			pm->buffer[i].flags |= SHADOW_PAGE_MMAP_EXCLUSIVE;
		shadow_put_page(pm->head[i]);
	}
}

/* The records of [addr, end): nothing mapped. */
static void shadow_pagemap_clear(struct shadow_pagemapread *pm,
				 unsigned long addr, unsigned long end)
{
	unsigned long i = shadow_pagemap_index(pm, addr);
	unsigned long n = (end - addr) >> PAGE_SHIFT;

	memset(&pm->buffer[i], 0, n * sizeof(*pm->buffer));
	memset(&pm->pending[i], 0, n * sizeof(*pm->pending));
	memset(&pm->head[i], 0, n * sizeof(*pm->head));
}

/* pagemap_pte_hole(): no table, no page. */
static int shadow_pagemap_pte_hole(unsigned long addr, unsigned long next,
				   int depth, struct shadow_pagewalk *walk)
{
	shadow_pagemap_clear(walk->private, addr, next);
	return 0;
}

static const struct shadow_pagewalk_ops shadow_pagemap_ops = {
	.pte_entry = shadow_pagemap_pte_entry,
	.pte_hole = shadow_pagemap_pte_hole,
};

/*
 * The records of a batch to user space: at once when user space's record
 * is the kernel's, else one at a time at its size.
 */
static int shadow_pagemap_copy_out(void __user *dst, size_t rec_size,
				   const struct shadow_page_info *buf,
				   unsigned long n)
{
	unsigned long i;

	if (rec_size == sizeof(*buf))
		return copy_to_user(dst, buf, n * sizeof(*buf)) ? -EFAULT : 0;
	for (i = 0; i < n; i++)
		if (shadow_copy_rec_to_user(dst + i * rec_size, rec_size,
					    &buf[i], sizeof(*buf)))
			return -EFAULT;
	return 0;
}

/**
 * shadow_pagemap_read() - SHADOW_MM_WALK: one record per page of a range
 * (pagemap_read)
 * @mm: the address space, pinned by the caller
 * @addr: the first page, page aligned
 * @nr_pages: the pages to report, at most SHADOW_WALK_MAX_PAGES
 * @upages: the user's @nr_pages records
 * @rec_size: the size of each, from shadow_rec_size()
 *
 * One walk of the page tables per SHADOW_PAGEMAP_BATCH records, all under
 * one hold of mmap_lock; the records go out between walks, with no
 * page_table_lock held.
 *
 * Return: 0, -EINVAL, -ENOMEM, -EINTR, or -EFAULT for @upages.
 */
int shadow_pagemap_read(struct shadow_mm *mm, unsigned long addr,
			u64 nr_pages, void __user *upages, size_t rec_size)
{
	struct shadow_pagemapread pm;
	unsigned long i, n, end, limit;
	int ret = 0;

	if (offset_in_page(addr) || nr_pages > SHADOW_WALK_MAX_PAGES ||
	    addr + nr_pages * PAGE_SIZE < addr)
		return -EINVAL;
	pm.buffer = kmalloc_array(SHADOW_PAGEMAP_BATCH, sizeof(*pm.buffer),
				  SHADOW_GFP);
	if (!pm.buffer)
		return -ENOMEM;
	if (shadow_mmap_read_lock_killable(mm)) {
		kfree(pm.buffer);
		return -EINTR;
	}
	for (i = 0; i < nr_pages && !ret; i += n, addr = end) {
		n = min_t(u64, nr_pages - i, SHADOW_PAGEMAP_BATCH);
		end = addr + n * PAGE_SIZE;
		/*
		 * Nothing is mapped at or above task_size (pagemap stops
		 * there too); the tables index bits 12-47 only, so a walk
		 * there would find the pages of an alias.
		 */
		limit = clamp(mm->task_size, addr, end);
		pm.start = addr;
		if (limit > addr)
			shadow_walk_page_range(mm, addr, limit,
					       &shadow_pagemap_ops, &pm);
		shadow_pagemap_clear(&pm, limit, end);
		shadow_pagemap_resolve(mm, &pm, n);
		ret = shadow_pagemap_copy_out(upages + i * rec_size, rec_size,
					      pm.buffer, n);
		cond_resched();
	}
	shadow_mmap_read_unlock(mm);
	kfree(pm.buffer);
	return ret;
}

/**
 * shadow_get_stats() - the counters of SHADOW_MM_GET_STATS
 * @mm: the address space, mmap_lock held for reading, pinned by the caller
 *      with one user reference, which is not counted
 * @st: filled in but for size and flags
 */
void shadow_get_stats(struct shadow_mm *mm, struct shadow_mm_stats *st)
{
	shadow_mmap_assert_locked(mm);
	st->out_id = mm->id;
	st->out_mm_users = atomic_read(&mm->mm_users) - 1;
	st->out_mm_count = atomic_read(&mm->mm_count);
	st->out_map_count = mm->map_count;
	st->out_total_vm = mm->total_vm;
	st->out_locked_vm = mm->locked_vm;
	st->out_mmap_base = mm->mmap_base;
	st->out_task_size = mm->task_size;
	st->out_data_vm = mm->data_vm;
	st->out_exec_vm = mm->exec_vm;
	st->out_stack_vm = mm->stack_vm;
	st->out_def_flags = mm->def_flags;
	st->out_start_brk = mm->start_brk;
	st->out_brk = mm->brk;
	st->out_start_code = mm->start_code;
	st->out_end_code = mm->end_code;
	st->out_start_data = mm->start_data;
	st->out_end_data = mm->end_data;
	st->out_start_stack = mm->start_stack;
	st->out_arg_start = mm->arg_start;
	st->out_arg_end = mm->arg_end;
	st->out_env_start = mm->env_start;
	st->out_env_end = mm->env_end;
	st->out_layout_flags = mm->mmap_legacy ? SHADOW_CREATE_LEGACY_LAYOUT : 0;
	st->out_thp_flags = shadow_thp_flags(mm);
	spin_lock(&mm->page_table_lock);
	st->out_rss_anon = mm->rss_anon;
	st->out_rss_shmem = mm->rss_shmem;
	st->out_rss_file = mm->rss_file;
	st->out_nr_puds = mm->nr_puds;
	st->out_nr_pmds = mm->nr_pmds;
	st->out_nr_ptes = mm->nr_ptes;
	st->out_min_flt = mm->min_flt;
	st->out_maj_flt = mm->maj_flt;
	st->out_cow_copies = mm->cow_copies;
	st->out_cow_reuses = mm->cow_reuses;
	st->out_swapents = mm->nr_swapents;
	st->out_swapins = mm->swapins;
	st->out_swapouts = mm->swapouts;
	st->out_shared_ptes = shadow_nr_shared_ptes(mm);
	st->out_anon_thps = mm->anon_thps;
	st->out_thp_fault_alloc = mm->thp_fault_alloc;
	st->out_thp_fault_fallback = mm->thp_fault_fallback;
	st->out_thp_split_pmd = mm->thp_split_pmd;
	spin_unlock(&mm->page_table_lock);
}

/*
 * Proportional set size in fixed point, as smaps keeps it: a page mapped
 * N times adds (PAGE_SIZE << SHADOW_PSS_SHIFT) / N.
 */
#define SHADOW_PSS_SHIFT	12

/* struct mem_size_stats, less what the engine has none of (KSM, hugetlb). */
struct shadow_mem_size_stats {
	unsigned long resident;
	unsigned long swap;
	unsigned long shared_clean;
	unsigned long shared_dirty;
	unsigned long private_clean;
	unsigned long private_dirty;
	unsigned long referenced;
	unsigned long anonymous;
	unsigned long lazyfree;
	unsigned long anonymous_thp;
	u64 pss;
	u64 pss_dirty;
	u64 pss_locked;
	u64 swap_pss;
	bool locked;		/* the VMA being walked is VM_LOCKED */
};

static void shadow_smaps_page_accumulate(struct shadow_mem_size_stats *mss,
					 unsigned long size, u64 pss,
					 bool dirty, bool private)
{
	mss->pss += pss;
	if (mss->locked)
		mss->pss_locked += pss;
	if (dirty) {
		mss->pss_dirty += pss;
		if (private)
			mss->private_dirty += size;
		else
			mss->shared_dirty += size;
	} else {
		if (private)
			mss->private_clean += size;
		else
			mss->shared_clean += size;
	}
}

/* Pages one smaps walk leaves to rmap walks, at most. */
#define SHADOW_SMAPS_BATCH	64

/**
 * struct shadow_smaps_walk - the state of one VMA's smaps walk
 * @mss: the sums
 * @pending: pages whose mapcount needs an rmap walk, with a reference
 * @young: the viewed PTE of each was young
 * @dirty: ... or dirty
 * @nr: how many are pending
 * @resume: where the walk stopped when @pending was full
 */
struct shadow_smaps_walk {
	struct shadow_mem_size_stats mss;
	struct page *pending[SHADOW_SMAPS_BATCH];
	bool young[SHADOW_SMAPS_BATCH];
	bool dirty[SHADOW_SMAPS_BATCH];
	unsigned int nr;
	unsigned long resume;
};

/*
 * smaps_account() for one mapped page, whose @mapcount a reader sees
 * (shadow_view_mapcount()); @alone: no other reference than its PTE's
 * exists, the page is private and wholly this mapping's. Otherwise its
 * share is set by the mapcount, and it is private when no other PTE maps
 * it. Dirty is the PTE's dirty bit or the page's (PG_dirty, sp->dirty).
 * An anonymous page that is lazyfree (PG_swapbacked clear) and clean
 * counts in LazyFree: written since MADV_FREE, it no longer does.
 */
static void shadow_smaps_account(struct shadow_mem_size_stats *mss,
				 struct page *page, bool young, bool dirty,
				 int mapcount, bool alone)
{
	struct shadow_page *sp = shadow_page_meta(page);
	u64 pss = (u64)PAGE_SIZE << SHADOW_PSS_SHIFT;

	dirty = dirty || READ_ONCE(sp->dirty);
	if (!sp->shmem && !sp->file) {
		mss->anonymous += PAGE_SIZE;
		if (shadow_page_lazyfree(sp) && !dirty)
			mss->lazyfree += PAGE_SIZE;
	}
	mss->resident += PAGE_SIZE;
	if (young)
		mss->referenced += PAGE_SIZE;

	if (alone) {
		shadow_smaps_page_accumulate(mss, PAGE_SIZE, pss, dirty, true);
		return;
	}
	if (mapcount >= 2)
		pss = div_u64(pss, mapcount);
	shadow_smaps_page_accumulate(mss, PAGE_SIZE, pss, dirty, mapcount < 2);
}

/*
 * smaps_pte_entry(): the zero page is no page of the VMA's
 * (vm_normal_page); a swap entry counts in Swap, and its share, by the
 * slot's swap count, in SwapPss. A page of a shared table is never alone
 * (pgtable.c's rule 5); one whose mapcount only an rmap walk can give
 * waits in @pending, and the walk stops when that is full.
 */
static int shadow_smaps_pte_entry(pte_t *pte, unsigned long addr,
				  unsigned long next,
				  struct shadow_pagewalk *walk)
{
	struct shadow_smaps_walk *sw = walk->private;
	int shares = shadow_walk_shares(walk);
	pte_t entry;
	struct page *page;
	int mapcount;

	shadow_pt_assert_locked(walk->mm);
	entry = shadow_pte_view(walk->mm, pte, shadow_pmd_shared(walk->pmd));
	if (is_swap_pte(entry)) {
		u64 pss_delta = (u64)PAGE_SIZE << SHADOW_PSS_SHIFT;
		unsigned int swapcount;

		sw->mss.swap += PAGE_SIZE;
		swapcount = shadow_swap_count(pte_to_swp_entry(entry));
		if (swapcount >= 2)
			pss_delta = div_u64(pss_delta, swapcount);
		sw->mss.swap_pss += pss_delta;
		return 0;
	}
	if (!pte_present(entry) || pte_special(entry))
		return 0;
	page = pte_page(entry);
	if (shadow_pmd_trans_huge(walk->pmd)) {
		/*
		 * 6.1's smaps_pmd_entry(): follow_trans_huge_pmd() with
		 * FOLL_DUMP finds no page in a PROT_NONE leaf, which counts
		 * nowhere.
		 */
		if (!SHADOW_RULE_SMAPS_PROTNONE_LEAF &&
		    shadow_pmd_protnone(walk->pmd))
			return 0;
		/* A leaf's page counts in AnonHugePages too. */
		sw->mss.anonymous_thp += PAGE_SIZE;
	}
	mapcount = shadow_view_mapcount(page, shares);
	if (mapcount >= 0) {
		shadow_smaps_account(&sw->mss, page, pte_young(entry),
				     pte_dirty(entry), mapcount,
				     shares == 1 &&
				     shadow_page_refs(shadow_page_meta(page)) == 1);
		return 0;
	}
	shadow_get_page(page);
	sw->pending[sw->nr] = page;
	sw->young[sw->nr] = pte_young(entry);
	sw->dirty[sw->nr] = pte_dirty(entry);
	if (++sw->nr < SHADOW_SMAPS_BATCH)
		return 0;
	/* Full: stop after this page, the caller goes on from @next. */
	sw->resume = next;
	return 1;
}

/* The pages the walk left, with page_table_lock no longer held. */
static void shadow_smaps_resolve(struct shadow_mm *mm,
				 struct shadow_smaps_walk *sw)
{
	unsigned int i;

	for (i = 0; i < sw->nr; i++) {
		shadow_smaps_account(&sw->mss, sw->pending[i], sw->young[i],
				     sw->dirty[i],
				     shadow_page_mapcount(sw->pending[i], mm),
				     false);
		shadow_put_page(sw->pending[i]);
	}
	sw->nr = 0;
}

static const struct shadow_pagewalk_ops shadow_smaps_walk_ops = {
	.pte_entry = shadow_smaps_pte_entry,
};

/*
 * VmFlags: the mnemonics of show_smap_vma_flags(), Linux 6.1's or 6.12's
 * (SHADOW_RULE_SMAPS_612_FORMAT).
 */
static void shadow_show_smap_vma_flags(struct seq_file *m,
				       struct shadow_vma *vma)
{
	/* A flag without a name here shows as "??"; "" is never shown. */
	static const char * const mnemonics[BITS_PER_LONG] = {
		[ilog2(VM_READ)]	= "rd",
		[ilog2(VM_WRITE)]	= "wr",
		[ilog2(VM_EXEC)]	= "ex",
		[ilog2(VM_SHARED)]	= "sh",
		[ilog2(VM_MAYREAD)]	= "mr",
		[ilog2(VM_MAYWRITE)]	= "mw",
		[ilog2(VM_MAYEXEC)]	= "me",
		[ilog2(VM_MAYSHARE)]	= "ms",
		[ilog2(VM_GROWSDOWN)]	= "gd",
		[ilog2(VM_PFNMAP)]	= "pf",
		[ilog2(VM_LOCKED)]	= "lo",
		[ilog2(VM_IO)]		= "io",
		[ilog2(VM_SEQ_READ)]	= "sr",
		[ilog2(VM_RAND_READ)]	= "rr",
		[ilog2(VM_DONTCOPY)]	= "dc",
		[ilog2(VM_DONTEXPAND)]	= "de",
#if SHADOW_RULE_SMAPS_612_FORMAT
		[ilog2(VM_LOCKONFAULT)]	= "lf",
#endif
		[ilog2(VM_ACCOUNT)]	= "ac",
		[ilog2(VM_NORESERVE)]	= "nr",
		[ilog2(VM_HUGETLB)]	= "ht",
		[ilog2(VM_SYNC)]	= "sf",
		[ilog2(VM_ARCH_1)]	= "ar",
		[ilog2(VM_WIPEONFORK)]	= "wf",
		[ilog2(VM_DONTDUMP)]	= "dd",
#ifdef CONFIG_MEM_SOFT_DIRTY
		[ilog2(VM_SOFTDIRTY)]	= "sd",
#endif
		[ilog2(VM_MIXEDMAP)]	= "mm",
		[ilog2(VM_HUGEPAGE)]	= "hg",
		[ilog2(VM_NOHUGEPAGE)]	= "nh",
		[ilog2(VM_MERGEABLE)]	= "mg",
		[ilog2(VM_UFFD_MISSING)] = "um",
		[ilog2(VM_UFFD_WP)]	= "uw",
#ifdef CONFIG_ARCH_HAS_PKEYS
		/* These come out via ProtectionKey. */
		[ilog2(VM_PKEY_BIT0)]	= "",
		[ilog2(VM_PKEY_BIT1)]	= "",
		[ilog2(VM_PKEY_BIT2)]	= "",
		[ilog2(VM_PKEY_BIT3)]	= "",
#if VM_PKEY_BIT4
		[ilog2(VM_PKEY_BIT4)]	= "",
#endif
#endif
#ifdef CONFIG_HAVE_ARCH_USERFAULTFD_MINOR
		[ilog2(VM_UFFD_MINOR)]	= "ui",
#endif
#if SHADOW_RULE_MAP_DROPPABLE
		[ilog2(VM_DROPPABLE)]	= "dp",
#endif
	};
	const char *name;
	size_t i;

	seq_puts(m, "VmFlags: ");
	for (i = 0; i < BITS_PER_LONG; i++) {
		name = mnemonics[i] ?: "??";
		if (!name[0])
			continue;
		if (vma->vm_flags & (1UL << i)) {
			seq_puts(m, name);
			seq_putc(m, ' ');
		}
	}
	seq_putc(m, '\n');
}

/* seq_put_decimal_ull_width(), which modules cannot call. */
static void shadow_seq_put_decimal_width(struct seq_file *m, const char *str,
					 unsigned long long num, int width)
{
	seq_printf(m, "%s%*llu", str, width, num);
}

#define SHADOW_SEQ_PUT_DEC(str, val) \
	shadow_seq_put_decimal_width(m, str, (val) >> 10, 8)

/* show_smap(): one VMA, with __show_smap()'s lines in its order. */
static void shadow_show_smap(struct seq_file *m, struct shadow_vma *vma,
			     const struct shadow_mem_size_stats *mss)
{
	char line[SHADOW_MAPS_LINE_MAX];
	bool eligible;

	seq_write(m, line, shadow_show_map_vma(vma, line, sizeof(line)));
	SHADOW_SEQ_PUT_DEC("Size:           ", vma->vm_end - vma->vm_start);
	SHADOW_SEQ_PUT_DEC(" kB\nKernelPageSize: ", PAGE_SIZE);
	SHADOW_SEQ_PUT_DEC(" kB\nMMUPageSize:    ", PAGE_SIZE);
	SHADOW_SEQ_PUT_DEC(" kB\nRss:            ", mss->resident);
	SHADOW_SEQ_PUT_DEC(" kB\nPss:            ",
			   mss->pss >> SHADOW_PSS_SHIFT);
	SHADOW_SEQ_PUT_DEC(" kB\nPss_Dirty:      ",
			   mss->pss_dirty >> SHADOW_PSS_SHIFT);
	SHADOW_SEQ_PUT_DEC(" kB\nShared_Clean:   ", mss->shared_clean);
	SHADOW_SEQ_PUT_DEC(" kB\nShared_Dirty:   ", mss->shared_dirty);
	SHADOW_SEQ_PUT_DEC(" kB\nPrivate_Clean:  ", mss->private_clean);
	SHADOW_SEQ_PUT_DEC(" kB\nPrivate_Dirty:  ", mss->private_dirty);
	SHADOW_SEQ_PUT_DEC(" kB\nReferenced:     ", mss->referenced);
	SHADOW_SEQ_PUT_DEC(" kB\nAnonymous:      ", mss->anonymous);
	/* No KSM or hugetlb pages: what Linux shows without them. */
	if (SHADOW_RULE_SMAPS_612_FORMAT)
		SHADOW_SEQ_PUT_DEC(" kB\nKSM:            ", 0);
	SHADOW_SEQ_PUT_DEC(" kB\nLazyFree:       ", mss->lazyfree);
	SHADOW_SEQ_PUT_DEC(" kB\nAnonHugePages:  ", mss->anonymous_thp);
	SHADOW_SEQ_PUT_DEC(" kB\nShmemPmdMapped: ", 0);
	SHADOW_SEQ_PUT_DEC(" kB\nFilePmdMapped:  ", 0);
	SHADOW_SEQ_PUT_DEC(" kB\nShared_Hugetlb: ", 0);
	shadow_seq_put_decimal_width(m, " kB\nPrivate_Hugetlb: ", 0, 7);
	SHADOW_SEQ_PUT_DEC(" kB\nSwap:           ", mss->swap);
	SHADOW_SEQ_PUT_DEC(" kB\nSwapPss:        ",
			   mss->swap_pss >> SHADOW_PSS_SHIFT);
	SHADOW_SEQ_PUT_DEC(" kB\nLocked:         ",
			   mss->pss_locked >> SHADOW_PSS_SHIFT);
	seq_puts(m, " kB\n");
	eligible = shadow_hugepage_vma_check(vma, vma->vm_flags, true, false);
	if (SHADOW_RULE_SMAPS_612_FORMAT)
		seq_printf(m, "THPeligible:    %8u\n", eligible);
	else
		seq_printf(m, "THPeligible:    %d\n", eligible);
	shadow_show_smap_vma_flags(m, vma);
}

/**
 * shadow_show_smaps() - the address space in /proc/<pid>/smaps format
 * @m: where the text goes
 * @mm: the address space, pinned by the caller
 *
 * Each VMA's maps line, then its sizes in kB as Linux 6.1 prints them,
 * counted by a walk of its page tables (smap_gather_stats), then VmFlags.
 *
 * Return: 0, -ENOMEM, or -EINTR when killed waiting for mmap_lock.
 */
int shadow_show_smaps(struct seq_file *m, struct shadow_mm *mm)
{
	struct shadow_smaps_walk *sw;
	struct shadow_vma *vma;
	unsigned long addr;
	int stopped;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	sw = kmalloc(sizeof(*sw), SHADOW_GFP);
	if (!sw)
		return -ENOMEM;
	if (shadow_mmap_read_lock_killable(mm)) {
		kfree(sw);
		return -EINTR;
	}
	mas_for_each(&mas, vma, ULONG_MAX) {
		memset(sw, 0, sizeof(*sw));
		sw->mss.locked = vma->vm_flags & VM_LOCKED;
		addr = vma->vm_start;
		do {
			stopped = shadow_walk_page_range(mm, addr, vma->vm_end,
							 &shadow_smaps_walk_ops,
							 sw);
			shadow_smaps_resolve(mm, sw);
			addr = sw->resume;
		} while (stopped && addr < vma->vm_end);
		shadow_show_smap(m, vma, &sw->mss);
		cond_resched();
	}
	shadow_mmap_read_unlock(mm);
	kfree(sw);
	return 0;
}
