/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by the kernel-only parts of the engine: the device,
 * the address-space fds, object lifetimes and the module-wide counters.
 */
#ifndef _SHADOW_INTERNAL_H
#define _SHADOW_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/types.h>

#include "compat.h"
#include "vma_internal.h"

#include <linux/swap.h>
#include <linux/swapops.h>

#define SHADOW_TASK_SIZE	((1UL << 47) - PAGE_SIZE)
/* mmap_base() with an 8 MiB stack rlimit: the gap is clamped to 128 MiB. */
#define SHADOW_MMAP_GAP		(128UL << 20)

/* Module parameters. */
extern unsigned long shadow_mmap_min_addr;
extern umode_t shadow_dev_mode;
extern unsigned int shadow_max_mms_per_user;
extern unsigned long shadow_max_pages_per_mm;
extern unsigned long shadow_swap_slots;
extern bool shadow_odf_always;

/**
 * struct shadow_counters - module-wide object counts, for leak checks
 * @mms: shadow_mm structs allocated and not yet freed
 * @vmas: VMAs allocated and not yet freed
 * @pages: pages the engine holds (page tables and data)
 * @shmem: shared anonymous backing objects alive
 * @anon_vmas: anon_vmas alive
 * @swap_slots: swap slots in use on the shadow swap device
 * @swap_pages: pages of the swap device's store (contents of slots)
 * @swapins: pages read back from the swap device, since load
 * @swapouts: pages written to the swap device, since load
 * @lazyfreed: lazyfree pages reclaim discarded without swap (PGLAZYFREED),
 *             since load
 * @files: file objects alive (one per struct file mapped, filemap.c)
 * @file_pages: page-cache pages the engine holds a reference on
 * @file_faults: faults that mapped or copied a page-cache page, since load
 * @pt_shared: PTE tables shared by on-demand fork between address spaces
 *             now (their share count is 2 or more)
 * @pt_breaks: shares broken by copying the table, since load
 * @pt_takeovers: shares broken by taking the table over (its count was
 *                down to 1), since load
 * @thp: transparent huge pages (folios) alive
 * @thp_fault_alloc: faults that mapped a new huge page, since load (the
 *                   THP counters are /proc/vmstat's, of the same names)
 * @thp_fault_fallback: huge page faults that fell back to small pages
 * @thp_fault_fallback_charge: of those, the ones the engine's charge
 *                             (metadata, max_pages_per_mm) refused
 * @thp_split_pmd: PMD leaves split into PTE tables
 * @thp_split_page: huge pages split into small pages
 * @thp_split_page_failed: huge page splits that failed
 * @thp_deferred_split_page: huge pages queued for a deferred split
 * @thp_zero_page_alloc: huge zero pages allocated
 * @thp_zero_page_alloc_failed: huge zero page allocations that failed
 * @thp_swpout_fallback: huge pages reclaim split before swapping them out
 */
struct shadow_counters {
	atomic_long_t mms;
	atomic_long_t vmas;
	atomic_long_t pages;
	atomic_long_t shmem;
	atomic_long_t anon_vmas;
	atomic_long_t swap_slots;
	atomic_long_t swap_pages;
	atomic_long_t swapins;
	atomic_long_t swapouts;
	atomic_long_t lazyfreed;
	atomic_long_t files;
	atomic_long_t file_pages;
	atomic_long_t file_faults;
	atomic_long_t pt_shared;
	atomic_long_t pt_breaks;
	atomic_long_t pt_takeovers;
	atomic_long_t thp;
	atomic_long_t thp_fault_alloc;
	atomic_long_t thp_fault_fallback;
	atomic_long_t thp_fault_fallback_charge;
	atomic_long_t thp_split_pmd;
	atomic_long_t thp_split_page;
	atomic_long_t thp_split_page_failed;
	atomic_long_t thp_deferred_split_page;
	atomic_long_t thp_zero_page_alloc;
	atomic_long_t thp_zero_page_alloc_failed;
	atomic_long_t thp_swpout_fallback;
};

extern struct shadow_counters shadow_counters;

/* An ioctl command being executed: iommufd's ucmd. */
struct shadow_ucmd {
	struct file *file;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
	struct shadow_mm *mm;	/* pinned for the call, for ops on an mm */
};

/**
 * struct shadow_ioctl_op - one entry of an ioctl dispatch table
 * @size: sizeof the command's struct
 * @min_size: offsetofend() of the last field of its first version
 * @ioctl_num: the command number
 * @execute: the handler; @ucmd->cmd holds the struct, zero-extended, and
 *           @ucmd->mm the file's address space, pinned for the call
 */
struct shadow_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct shadow_ucmd *ucmd);
};

/*
 * Pins the address space a file acts on (an mm_users reference the
 * dispatcher drops after the handler), or returns NULL when it has none.
 */
typedef struct shadow_mm *(*shadow_get_mm_t)(struct file *file);

#define SHADOW_IOCTL_OP(_base, _nr, _ioctl, _fn, _struct, _last)	\
	[(_nr) - (_base)] = {						\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(_struct) > 512),	\
		.min_size = offsetofend(_struct, _last),		\
		.ioctl_num = _ioctl,					\
		.execute = _fn,						\
	}

long shadow_ioctl_dispatch(struct file *file, unsigned int cmd,
			   unsigned long arg,
			   const struct shadow_ioctl_op *ops,
			   unsigned int nr_ops, unsigned int base,
			   shadow_get_mm_t get_mm);
int shadow_ucmd_respond(struct shadow_ucmd *ucmd, size_t cmd_len);
int shadow_rec_size(u32 rec_size, u32 ver0);
int shadow_copy_rec_to_user(void __user *dst, size_t usize, const void *src,
			    size_t ksize);

struct shadow_anon_vma;

/**
 * struct shadow_page - the engine's metadata of a data page it allocated
 * @refs: engine references: one per PTE mapping the page, one from a
 *        shmem object holding it, one from the swap cache, one per user
 *        in flight
 * @mapcount: PTEs mapping the page (the shadow of _mapcount)
 * @anon_exclusive: a private anonymous page that only one mapping may
 *                  use: a write fault reuses it in place (PageAnonExclusive)
 * @shmem: a page of a shared anonymous object
 * @dirty: PG_dirty: a PTE that mapped it was dirty when try_to_unmap
 *         cleared it, or its contents differ from its swap slot's
 * @id: the opaque page id the page walk reports
 * @anon_vma: a private anonymous page's anon_vma (page->mapping), with a
 *            reference (rmap.c); NULL until first mapped, and for shmem
 * @shmem_obj: a shmem page's object (page->mapping), no reference: the
 *             object holds the page
 * @index: page->index: for anon, the linear page index it was first
 *         mapped at (vma->vm_pgoff + page offset in the VMA); for shmem,
 *         its index in the object
 * @swap: the swap entry (swp_entry_t.val) of a page in the swap cache
 *        (PageSwapCache), else 0 (swapfile.c)
 * @file: a page-cache page of a mapped file, not allocated by the engine:
 *        its metadata is found by pfn in filemap.c's table, never through
 *        page->private, which belongs to the file system; the engine holds
 *        one page reference (get_page) while @refs is not 0
 * @mapping: a file page's address_space (page->mapping when it was read),
 *           for the rmap walk; no reference: a VMA mapping it keeps the
 *           file
 * @lazyfree: a private anonymous page MADV_FREE made lazyfree (PG_swapbacked
 *            cleared): reclaim drops it without swap while no PTE mapping
 *            it is dirty (memory.c, rmap.c, vmscan.c); a page of a
 *            VM_DROPPABLE VMA is lazyfree from its first mapping on, and
 *            stays so written or not
 *            (shadow_page_add_new_anon_rmap())
 * @folio: for a page of a transparent huge page, its folio's metadata
 *         (huge_memory.c): @refs is then the folio's, and the folio's
 *         PMD mappings add to @mapcount; NULL for a small page
 *
 * @anon_vma, @index and @dirty change with the page locked: here, under
 * the lock of the reclaim or fault that owns it (mm.c's lock tree).
 */
struct shadow_page {
	atomic_t refs;
	atomic_t mapcount;
	bool anon_exclusive;
	bool shmem;
	bool dirty;
	u64 id;
	struct shadow_anon_vma *anon_vma;
	struct shadow_address_space *shmem_obj;
	unsigned long index;
	unsigned long swap;
	bool file;
	struct address_space *mapping;
	bool lazyfree;
	struct shadow_folio *folio;
};

/**
 * struct shadow_folio - the engine's metadata of a transparent huge page
 * (a PMD-sized folio: 6.1's head page and its page[1..2] fields)
 * @refs: folio_ref_count(): one per PMD leaf mapping it, one per PTE
 *        mapping one of its pages, one per user in flight
 * @entire_mapcount: PMD leaves mapping it (compound_mapcount)
 * @head: its first page
 * @rcu: frees the metadata, which may be vmalloc'ed, outside the
 *       page_table_lock its last reference may be dropped under
 * @deferred_list: on huge_memory.c's deferred split queue, or empty
 * @pages: the metadata of its SHADOW_HPAGE_PMD_NR pages; each page's
 *         @mapcount counts the PTEs mapping it, @refs is unused (0) and
 *         @folio points back here. While a leaf maps the folio the
 *         anon-exclusive bit is pages[0]'s (PageAnonExclusive of the
 *         head); a PMD split gives each page the head's (huge_memory.c).
 *
 * The pages come from one order-9 allocation without __GFP_COMP: the
 * engine never hands them to the kernel's mm, and its metadata is the
 * compound identity. The last reference frees the 2 MiB and the metadata;
 * a split (shadow_split_huge_page()) gives each page metadata of its own
 * and split_page()s the allocation.
 */
struct shadow_folio {
	atomic_t refs;
	atomic_t entire_mapcount;
	struct page *head;
	struct rcu_head rcu;
	struct list_head deferred_list;
	struct shadow_page pages[];
};

#define SHADOW_HPAGE_PMD_ORDER	(SHADOW_PMD_SHIFT - PAGE_SHIFT)
#define SHADOW_HPAGE_PMD_NR	BIT(SHADOW_HPAGE_PMD_ORDER)

/* The engine references of @sp's page (of its folio for a THP page). */
static inline int shadow_page_refs(const struct shadow_page *sp)
{
	return atomic_read(sp->folio ? &sp->folio->refs : &sp->refs);
}

/*
 * page_mapcount(): the PTEs mapping @sp's page plus the PMD leaves
 * mapping its folio.
 */
static inline int shadow_page_mapcount_raw(const struct shadow_page *sp)
{
	return atomic_read(&sp->mapcount) +
	       (sp->folio ? atomic_read(&sp->folio->entire_mapcount) : 0);
}

/*
 * The shadow mapcount of @sp is the one readers see: no PTE table is
 * shared now, or @sp is a page no shared table maps (pgtable.c's rule 5).
 */
static inline bool shadow_mapcount_exact(const struct shadow_page *sp)
{
	return sp->shmem || sp->file ||
	       !atomic_long_read(&shadow_counters.pt_shared);
}

/*
 * Is @sp a lazyfree page (PG_swapbacked clear): a private anonymous page
 * that MADV_FREE made lazyfree, or any page of droppable memory? Reclaim
 * discards it without swap.
 */
static inline bool shadow_page_lazyfree(const struct shadow_page *sp)
{
	return !sp->shmem && !sp->file && READ_ONCE(sp->lazyfree);
}

/* filemap.c: the metadata of a page-cache page the engine maps, or NULL */
struct shadow_page *shadow_file_page_meta(struct page *page);

static inline struct shadow_page *shadow_page_meta(struct page *page)
{
	struct shadow_page *sp = shadow_file_page_meta(page);

	return sp ?: (struct shadow_page *)page_private(page);
}

/* The rss counter a mapped page counts in (mm_counter()). */
static inline unsigned long *shadow_mm_counter(struct shadow_mm *mm,
					       struct shadow_page *sp)
{
	if (sp->file)
		return &mm->rss_file;
	return sp->shmem ? &mm->rss_shmem : &mm->rss_anon;
}

/**
 * struct shadow_inode - the engine's object behind a shared anonymous
 * mapping (its shmem inode, shmem.c) or behind the mappings of one struct
 * file (filemap.c), around the address_space VMAs map
 * @i_data: the address_space, what the layout code sees (vma->vm_mapping)
 * @pages: its pages by index, each with one reference, or for a page that
 *         went to the swap device an xa_mk_value() of its slot's index,
 *         which holds the slot (shmem's swap entries in the page cache). A
 *         page leaves (shmem_writepage) under the xarray's lock, and
 *         lookups take their page reference under it
 * @size: its i_size in pages, the length of the mapping that made it
 *        (mremap may map more of it than that)
 * @i_mmap: the VMAs that map it (vma->i_mmap_node), for rmap walks
 * @i_mmap_rwsem: protects @i_mmap (mm.c's lock tree)
 * @file_node: for a file object (@i_data.file set), its entry in filemap.c's
 *             list of file objects; @pages and @size are then unused: the
 *             pages are the file's page cache
 */
struct shadow_inode {
	struct shadow_address_space i_data;
	struct xarray pages;
	unsigned long size;
	struct list_head i_mmap;
	struct rw_semaphore i_mmap_rwsem;
	struct list_head file_node;
};

static inline struct shadow_inode *to_shadow_inode(struct shadow_address_space *s)
{
	return container_of(s, struct shadow_inode, i_data);
}

/* dev.c */
int shadow_dev_init(void);
void shadow_dev_exit(void);

/* mm.c */
int shadow_mm_init(void);
void shadow_mm_exit(void);
struct shadow_mm *shadow_mm_alloc(unsigned long mmap_base);
void shadow_mmget(struct shadow_mm *mm);
bool shadow_mmget_not_zero(struct shadow_mm *mm);
void shadow_mmput(struct shadow_mm *mm);
void shadow_mmput_async(struct shadow_mm *mm);
void shadow_mmput_async_flush(void);
void shadow_mmdrop(struct shadow_mm *mm);
struct shadow_mm *shadow_mmlist_next(struct shadow_mm *prev);

/* The end of the span of @size containing @addr, capped at @end. */
static inline unsigned long shadow_addr_end(unsigned long addr,
					    unsigned long end,
					    unsigned long size)
{
	unsigned long boundary = (addr + size) & ~(size - 1);

	return boundary - 1 < end - 1 ? boundary : end;
}

/* The end of @addr's PTE table span (pmd_addr_end), capped at @end. */
static inline unsigned long shadow_pmd_addr_end(unsigned long addr,
						unsigned long end)
{
	return shadow_addr_end(addr, end, PMD_SIZE);
}

/*
 * The fixed geometry of a shadow page-table tree (pgtable.c): four levels
 * of 512 entries whatever the running kernel folds.
 */
#define SHADOW_PTRS		512
#define SHADOW_PGDIR_SHIFT	39
#define SHADOW_PUD_SHIFT	30
#define SHADOW_PMD_SHIFT	21
#define SHADOW_PGDIR_SIZE	BIT(SHADOW_PGDIR_SHIFT)
#define SHADOW_PUD_SIZE		BIT(SHADOW_PUD_SHIFT)
#define SHADOW_PMD_SIZE		BIT(SHADOW_PMD_SHIFT)

static inline unsigned long shadow_index(unsigned long addr, int shift)
{
	return (addr >> shift) & (SHADOW_PTRS - 1);
}

/* The table an entry of any level points at. */
static inline void *shadow_entry_table(unsigned long val)
{
	return __va(val & PTE_PFN_MASK);
}

/*
 * The slot of @addr at each level, for walks that read the entry above
 * first (pgd_offset, pud_offset, pmd_offset, pte_offset_map): @pgd, @pud
 * and @pmd are the values of present entries.
 */
static inline unsigned long *shadow_pgd_offset(struct shadow_mm *mm,
					       unsigned long addr)
{
	return (unsigned long *)mm->pgd +
	       shadow_index(addr, SHADOW_PGDIR_SHIFT);
}

static inline unsigned long *shadow_pud_offset(unsigned long pgd,
					       unsigned long addr)
{
	return (unsigned long *)shadow_entry_table(pgd) +
	       shadow_index(addr, SHADOW_PUD_SHIFT);
}

static inline unsigned long *shadow_pmd_offset(unsigned long pud,
					       unsigned long addr)
{
	return (unsigned long *)shadow_entry_table(pud) +
	       shadow_index(addr, SHADOW_PMD_SHIFT);
}

static inline pte_t *shadow_pte_offset(unsigned long pmd, unsigned long addr)
{
	return (pte_t *)shadow_entry_table(pmd) +
	       shadow_index(addr, PAGE_SHIFT);
}

/*
 * On-demand fork (pgtable.c): a PMD entry whose _PAGE_RW bit is clear
 * points at a PTE table shared with other address spaces. The table's
 * share count lives in its struct page (a page-table page is the
 * engine's own): pt_frag_refcount, unused by x86.
 */
static inline bool shadow_pmd_shared(unsigned long pmd)
{
	return pmd && !(pmd & (_PAGE_RW | _PAGE_PSE));
}

/*
 * A PMD leaf (pmd_trans_huge()): the entry maps 2 MiB of data itself, a
 * transparent huge page or the huge zero page (huge_memory.c). Write-
 * protected, it has _PAGE_RW clear too: test this before treating an
 * entry as a table.
 */
static inline bool shadow_pmd_trans_huge(unsigned long pmd)
{
	return pmd & _PAGE_PSE;
}

/*
 * A PROT_NONE leaf (pmd_protnone()): _PAGE_PROTNONE stands in for the
 * present bit, which is clear.
 */
static inline bool shadow_pmd_protnone(unsigned long pmd)
{
	return (pmd & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE;
}

static inline atomic_t *shadow_pt_share_count(void *table)
{
	return shadow_pt_frag_refcount(table);
}

/*
 * What a PTE table holds, kept in its struct page's private word (the
 * engine's own page: no page-table constructor put a split lock there):
 * the PTEs in use, the pages they map (present, not the zero page) and
 * the swap entries, 10 bits each, which shadow_set_pte() keeps exact; and
 * in the high 32 bits the id of the address space whose accessed bits a
 * shared table carries (its origin, pgtable.c's rule 5), 0 for none.
 */
#define SHADOW_PTC_USED		0
#define SHADOW_PTC_PAGES	10
#define SHADOW_PTC_SWAP		20
#define SHADOW_PTC_MASK		(BIT(10) - 1)
#define SHADOW_PTC_ORIGIN	32

static inline unsigned long *shadow_pt_meta(const void *table)
{
	return &virt_to_page(table)->private;
}

static inline unsigned int shadow_pt_count(const void *table,
					   unsigned int field)
{
	return (READ_ONCE(*shadow_pt_meta(table)) >> field) & SHADOW_PTC_MASK;
}

static inline unsigned int shadow_pt_origin(const void *table)
{
	return READ_ONCE(*shadow_pt_meta(table)) >> SHADOW_PTC_ORIGIN;
}

static inline void shadow_pt_set_origin(void *table, unsigned int id)
{
	unsigned long *meta = shadow_pt_meta(table);

	WRITE_ONCE(*meta, (*meta & GENMASK(SHADOW_PTC_ORIGIN - 1, 0)) |
			  (unsigned long)id << SHADOW_PTC_ORIGIN);
}

/* What one PTE adds to its table's counts. */
static inline unsigned long shadow_pte_counts(pte_t pte)
{
	if (pte_none(pte))
		return 0;
	if (!pte_present(pte))
		return BIT(SHADOW_PTC_USED) | BIT(SHADOW_PTC_SWAP);
	if (pte_special(pte))
		return BIT(SHADOW_PTC_USED);
	return BIT(SHADOW_PTC_USED) | BIT(SHADOW_PTC_PAGES);
}

/*
 * @mm's PMD entry stops pointing at the marked PTE table @table: the
 * table's pages and swap entries leave @mm's counters with it (pgtable.c's
 * rule 4). page_table_lock held.
 */
static inline void shadow_pt_uncount(struct shadow_mm *mm, const void *table)
{
	shadow_pt_assert_locked(mm);
	mm->rss_anon -= shadow_pt_count(table, SHADOW_PTC_PAGES);
	mm->nr_swapents -= shadow_pt_count(table, SHADOW_PTC_SWAP);
}

/*
 * set_pte() for every PTE of the engine's tables: the table's counts
 * follow. The writer owns the table (pgtable.c's rule 1) and holds the
 * page_table_lock that guards it.
 */
static inline void shadow_set_pte(pte_t *ptep, pte_t pte)
{
	unsigned long delta = shadow_pte_counts(pte) - shadow_pte_counts(*ptep);

	if (delta) {
		unsigned long *meta = shadow_pt_meta(ptep);

		WRITE_ONCE(*meta, *meta + delta);
	}
	set_pte(ptep, pte);
}

/*
 * The PTE table of PMD entry @pmd is shared with another address space
 * now; page_table_lock held.
 */
static inline bool shadow_pmd_table_shared(unsigned long pmd)
{
	return shadow_pmd_shared(pmd) &&
	       atomic_read_acquire(shadow_pt_share_count(shadow_entry_table(pmd))) > 1;
}

/* The allocation flags of a share break that must not fail (zap). */
#define SHADOW_GFP_NOFAIL	(GFP_KERNEL_ACCOUNT | __GFP_NOFAIL)
/* ... and of one under RCU or a spinlock (rmap walks): may fail. */
#define SHADOW_GFP_ATOMIC	(GFP_NOWAIT | __GFP_ACCOUNT | __GFP_NOWARN)

/* pgtable.c */
pte_t *shadow_pte_alloc(struct shadow_mm *mm, unsigned long addr);
void *shadow_pte_alloc_one(void);
void shadow_pte_free(void *table);
void shadow_pmd_populate(struct shadow_mm *mm, unsigned long *pmd,
			 void *table);
pte_t *shadow_pte_lookup(struct shadow_mm *mm, unsigned long addr);
unsigned long shadow_pmd_lookup(struct shadow_mm *mm, unsigned long addr);
int shadow_pte_unshare(struct shadow_mm *mm, unsigned long addr, gfp_t gfp);
int shadow_pte_unshare_range(struct shadow_mm *mm, unsigned long start,
			     unsigned long end, gfp_t gfp);
pte_t *shadow_pte_lookup_for_write(struct shadow_mm *mm, unsigned long addr,
				   gfp_t gfp, int *err);
pte_t *shadow_pte_lookup_locked(struct shadow_mm *mm, unsigned long addr,
				bool *shared);
pte_t shadow_pte_view(struct shadow_mm *mm, const pte_t *ptep, bool shared);
pte_t shadow_pte_get(struct shadow_mm *mm, unsigned long addr);
void shadow_pt_share_put(struct shadow_mm *mm, void *table);
unsigned long shadow_nr_shared_ptes(struct shadow_mm *mm);
unsigned long *shadow_pud_entry(struct shadow_mm *mm, unsigned long addr,
				bool alloc);
unsigned long *shadow_pmd_entry(struct shadow_mm *mm, unsigned long addr,
				bool alloc);
void shadow_free_pgd_range(struct shadow_mm *mm, unsigned long addr,
			   unsigned long end, unsigned long floor,
			   unsigned long ceiling);

/* pagewalk.c: depths of the levels, as pte_hole() reports them */
#define SHADOW_DEPTH_PGD	0
#define SHADOW_DEPTH_PUD	1
#define SHADOW_DEPTH_PMD	2
#define SHADOW_DEPTH_PTE	3

struct shadow_pagewalk;

/**
 * struct shadow_pagewalk_ops - callbacks of shadow_walk_page_range()
 * @pgd_entry: a present PGD entry (its value), spanning [addr, next)
 * @pud_entry: a present PUD entry
 * @pmd_entry: a present PMD entry
 * @pte_entry: each PTE of a present PTE table, none or not, with
 *             page_table_lock held; for a PMD leaf without
 *             @huge_pmd_entry, each PTE its split would make (a copy)
 * @huge_pmd_entry: a PMD leaf (not given to @pmd_entry), spanning
 *                  [addr, next), with page_table_lock held
 * @pte_hole: [addr, next) has no table below an entry of level @depth
 *            (SHADOW_DEPTH_*)
 */
struct shadow_pagewalk_ops {
	int (*pgd_entry)(unsigned long pgd, unsigned long addr,
			 unsigned long next, struct shadow_pagewalk *walk);
	int (*pud_entry)(unsigned long pud, unsigned long addr,
			 unsigned long next, struct shadow_pagewalk *walk);
	int (*pmd_entry)(unsigned long pmd, unsigned long addr,
			 unsigned long next, struct shadow_pagewalk *walk);
	int (*pte_entry)(pte_t *pte, unsigned long addr, unsigned long next,
			 struct shadow_pagewalk *walk);
	int (*huge_pmd_entry)(unsigned long pmd, unsigned long addr,
			      unsigned long next, struct shadow_pagewalk *walk);
	int (*pte_hole)(unsigned long addr, unsigned long next, int depth,
			struct shadow_pagewalk *walk);
};

/**
 * struct shadow_pagewalk - the state of a walk, for its callbacks
 * @ops: the callbacks
 * @mm: the address space
 * @private: the caller's
 * @pmd: for pte_entry(), the PMD entry of its PTE table, as read under
 *       page_table_lock
 */
struct shadow_pagewalk {
	const struct shadow_pagewalk_ops *ops;
	struct shadow_mm *mm;
	void *private;
	unsigned long pmd;
};

int shadow_walk_page_range(struct shadow_mm *mm, unsigned long start,
			   unsigned long end,
			   const struct shadow_pagewalk_ops *ops, void *private);

/* huge_memory.c: transparent huge pages */
#define SHADOW_VM_FAULT_FALLBACK	1	/* VM_FAULT_FALLBACK */
#define SHADOW_MMF_HUGE_ZERO_PAGE	0	/* mm->flags: holds it */
bool shadow_is_huge_zero_pmd(unsigned long pmd);
struct page *shadow_huge_pmd_page(unsigned long pmd, unsigned long addr);
pte_t shadow_huge_pmd_subpage_pte(unsigned long pmd, unsigned long addr);
void shadow_mm_put_huge_zero_page(struct shadow_mm *mm);
int shadow_do_huge_pmd_anonymous_page(struct shadow_mm *mm,
				      struct shadow_vma *vma,
				      unsigned long addr, unsigned long *pmd,
				      unsigned int flags);
int shadow_huge_pmd_fault(struct shadow_mm *mm, struct shadow_vma *vma,
			  unsigned long addr, unsigned long *pmd,
			  unsigned int flags);
void __shadow_split_huge_pmd_locked(struct shadow_mm *mm, unsigned long *pmd,
				    unsigned long haddr);
void shadow_split_huge_pmd(struct shadow_mm *mm, unsigned long *pmd,
			   unsigned long addr);
bool shadow_zap_huge_pmd(struct shadow_mm *mm, unsigned long *pmd,
			 unsigned long addr);
int shadow_copy_huge_pmd(struct shadow_mm *dst_mm, struct shadow_mm *src_mm,
			 unsigned long addr, unsigned long *dst_pmd,
			 unsigned long *src_pmd, unsigned long *copied);
int shadow_folio_total_mapcount(struct shadow_folio *folio);
void shadow_deferred_split_folio(struct shadow_folio *folio);
void shadow_folio_undefer(struct shadow_folio *folio);
bool shadow_folio_deferred(struct shadow_folio *folio);
int shadow_split_huge_page(struct shadow_mm *mm, unsigned long addr,
			   struct page *page);
bool shadow_madvise_free_huge_pmd(struct shadow_mm *mm, unsigned long addr,
				  unsigned long next);
unsigned long shadow_madvise_split_folios(struct shadow_mm *mm,
					  unsigned long addr,
					  unsigned long end);
bool shadow_discard_lazyfree_huge_pmd(struct shadow_mm *mm,
				      unsigned long *pmd, unsigned long addr,
				      bool droppable);

/* memory.c */
struct page *shadow_alloc_page(bool anon_exclusive);
struct shadow_folio *shadow_alloc_folio(void);
void shadow_put_folio(struct shadow_folio *folio);
void shadow_free_page(struct page *page, struct shadow_page *sp);
void shadow_get_page(struct page *page);
void shadow_put_page(struct page *page);
int shadow_access_remote_vm(struct shadow_mm *mm, unsigned long addr,
			    void *buf, unsigned long len, bool write, bool force,
			    unsigned long *done);
int shadow_access_remote_user(struct shadow_mm *mm, unsigned long addr,
			      char __user *ubuf, unsigned long len, bool write,
			      bool force, unsigned long *total);

/* shmem.c: shared anonymous objects */
struct page *shadow_shmem_get_page(struct shadow_address_space *shmem,
				   unsigned long index, u64 *swapped);
struct page *shadow_shmem_find_page(struct shadow_address_space *shmem,
				    unsigned long index);
bool shadow_shmem_writepage(struct page *page);
void shadow_shmem_evict_inode(struct shadow_inode *obj);
void shadow_shmem_truncate_range(struct shadow_inode *obj, pgoff_t start,
				 pgoff_t end);
int shadow_shmem_fallocate(struct shadow_address_space *shmem, loff_t offset,
			   loff_t len);
void __shadow_unmap_mapping_range(struct shadow_address_space *mapping,
				  pgoff_t first, pgoff_t last, bool stale);

/* Every PTE of pages @first..@last of a shared anonymous object. */
static inline void
shadow_unmap_mapping_range(struct shadow_address_space *mapping,
			   pgoff_t first, pgoff_t last)
{
	__shadow_unmap_mapping_range(mapping, first, last, false);
}

void shadow_shmem_swapin_range(struct shadow_address_space *shmem,
			       unsigned long index, unsigned long last);

/* filemap.c: mappings of files */
void shadow_filemap_exit(void);
/* The last reference of a file object went: unlist it, fput(). */
void shadow_file_object_release(struct shadow_inode *obj);
/* A file page's last engine reference: metadata and page reference go. */
void shadow_file_put_page(struct page *page);
/* The dirty bit of a PTE that mapped a file page moves to the page. */
void shadow_file_page_mkdirty(struct page *page);
/* A file VMA's page at @addr is past end of file (a fault there SIGBUSes). */
bool shadow_file_beyond_eof(struct shadow_vma *vma, unsigned long addr);
/* A PTE of @vma maps a page truncated out of its file. */
bool shadow_file_pte_stale(struct shadow_vma *vma, pte_t entry);
/* A fault past end of file: fault-around for a read, then SIGBUS. */
int shadow_file_fault_beyond_eof(struct shadow_mm *mm, struct shadow_vma *vma,
				 unsigned long addr, unsigned int flags);
/* The fault of a none PTE of a file VMA (do_fault). */
int shadow_do_file_fault(struct shadow_mm *mm, struct shadow_vma *vma,
			 unsigned long addr, pte_t *pte, unsigned int flags);
/* rmap_walk_file() for a page-cache page: each file object of @mapping. */
typedef bool (*shadow_file_object_fn)(struct shadow_inode *obj,
				      void *arg);
void shadow_filemap_walk_objects(struct address_space *mapping,
				 shadow_file_object_fn fn, void *arg);

/* msync.c */
int shadow_do_msync(struct shadow_mm *mm, unsigned long start, size_t len,
		    int flags);

/* fault.c: flags are the uapi's SHADOW_FAULT_* */
int shadow_handle_mm_fault(struct shadow_mm *mm, struct shadow_vma *vma,
			   unsigned long addr, unsigned int flags);
int shadow_fault_range(struct shadow_mm *mm, unsigned long addr,
		       unsigned long len, unsigned int flags,
		       unsigned long *done, u32 *signal);
/* Pages a read fault maps around itself: fault_around_bytes' default. */
#define SHADOW_FAULT_AROUND_PAGES	16
pte_t *shadow_fault_around_range(struct shadow_vma *vma, unsigned long addr,
				 pte_t *pte, unsigned long *start,
				 unsigned long *end);
bool shadow_do_set_pte(struct shadow_mm *mm, pte_t *ptep, struct page *page,
		       pte_t entry, unsigned long *rss, bool own);

/* gup.c */
long shadow_populate_vma_page_range(struct shadow_mm *mm,
				    struct shadow_vma *vma,
				    unsigned long start, unsigned long end);
int __shadow_mm_populate(struct shadow_mm *mm, unsigned long start,
			 unsigned long len, bool ignore_errors);
bool shadow_gup_allowed(struct shadow_vma *vma, bool write, bool force);
struct page *shadow_follow_page(struct shadow_mm *mm, struct shadow_vma *vma,
				unsigned long addr, bool write, bool force,
				int *err);

/* mprotect.c */
int shadow_do_mprotect_pkey(struct shadow_mm *mm, unsigned long start,
			    size_t len, unsigned long prot, int pkey);

/* mlock.c */
int shadow_do_mlock(struct shadow_mm *mm, unsigned long start, size_t len,
		    unsigned long flags);
int shadow_do_munlock(struct shadow_mm *mm, unsigned long start, size_t len);
int shadow_do_mlockall(struct shadow_mm *mm, unsigned int flags);
int shadow_do_munlockall(struct shadow_mm *mm);

/* rmap.c: the reverse map (its locking rules at the top of rmap.c) */
int shadow_anon_vma_fork(struct shadow_vma *dst, struct shadow_vma *src);
/* page_add_new_anon_rmap(): a new private page, exclusive to @vma */
void shadow_page_add_new_anon_rmap(struct page *page, struct shadow_vma *vma,
				   unsigned long addr);
/*
 * page_add_anon_rmap() for a swapped-in page: sets the anon_vma and index
 * if the page has none (@vma's own when @exclusive, else its root's).
 */
void shadow_page_add_anon_rmap(struct page *page, struct shadow_vma *vma,
			       unsigned long addr, bool exclusive);
/* page_move_anon_rmap(): an exclusive page reused by @vma in place */
void shadow_page_move_anon_rmap(struct page *page, struct shadow_vma *vma);
void shadow_folio_add_new_anon_rmap(struct shadow_folio *folio,
				    struct shadow_vma *vma,
				    unsigned long haddr);
void shadow_folio_move_anon_rmap(struct shadow_folio *folio,
				 struct shadow_vma *vma);
/* split_huge_page()'s walk: every VMA of a THP's anon_vma tree */
struct shadow_anon_vma *shadow_folio_lock_anon_vma_read(struct shadow_folio *folio);
void shadow_anon_vma_unlock_tree(struct shadow_anon_vma *root);
void shadow_anon_vma_lock_table(struct shadow_anon_vma *root,
				struct shadow_mm *mm)
	__acquires(&mm->page_table_lock);
bool shadow_anon_vma_walk_tree(struct shadow_anon_vma *root,
			       bool (*fn)(struct shadow_vma *vma, void *arg),
			       void *arg);
unsigned long shadow_vma_address(unsigned long index, struct shadow_vma *vma);
/* The page's metadata is being freed: drop its anon_vma reference. */
void shadow_page_free_rmap(struct shadow_page *sp);
/*
 * page_referenced(): the PTEs mapping @page that were young, in every
 * address space, their young bits cleared; *@vm_flags gathers the flags
 * of the VMAs that map it (VM_LOCKED). @locked_mm is the address space
 * whose mmap_lock the caller holds; others are only trylocked, and
 * *@busy set when one could not be.
 */
int shadow_page_mapcount(struct page *page, struct shadow_mm *locked_mm);
int shadow_page_referenced(struct page *page, struct shadow_mm *locked_mm,
			   unsigned long *vm_flags, bool *busy);
/*
 * try_to_unmap(): clear every PTE mapping @page (a private page must be in
 * the swap cache: its PTEs become its swap entry). Stops at a VM_LOCKED
 * VMA. Returns the PTEs cleared; the page is unmapped when its mapcount
 * is 0 afterwards.
 */
unsigned long shadow_try_to_unmap(struct page *page,
				  struct shadow_mm *locked_mm, bool *busy);

/* swapfile.c: the shadow swap device and its swap cache (swap_state) */
int shadow_swap_init(void);
void shadow_swap_exit(void);
/* swap_duplicate(): one more swap PTE (fork, try_to_unmap) holds @entry */
void shadow_swap_duplicate(swp_entry_t entry);
/* free_swap_and_cache(): a swap PTE holding @entry is zapped */
void shadow_free_swap_and_cache(swp_entry_t entry);
/*
 * free_swap_cache(): @page lost a mapping; drop it from the swap cache
 * when nothing uses its slot any more
 */
void shadow_free_swap_cache(struct page *page);
/* swap_free(): a swap PTE or shmem object lets go of @entry */
void shadow_swap_free(swp_entry_t entry);
/* vm_swap_full(): more than half the slots in use */
bool shadow_swap_full(void);
/* add_to_swap(): a slot for @page, which enters the swap cache */
int shadow_add_to_swap(struct page *page);
/* folio_free_swap(): out of the swap cache if no swap PTE holds the slot */
bool shadow_try_to_free_swap(struct page *page);
/* pageout() + __remove_mapping() of an unmapped swap cache page */
bool shadow_swap_pageout(struct page *page, bool *written);
/* swap cache lookup, or read into it: the page of a swap PTE's entry */
struct page *shadow_swapin(swp_entry_t entry, bool *major);
/* shmem_writepage() and shmem_swapin_folio()'s use of the device */
swp_entry_t shadow_swap_alloc_shmem(void);
void shadow_swap_write_shmem(swp_entry_t entry, struct page *page);
void shadow_swap_read_shmem(swp_entry_t entry, struct page *page);
/* swp_swapcount(): the swap PTEs and objects holding @entry */
unsigned int shadow_swap_count(swp_entry_t entry);

/* The walk's opaque id of a swap slot: never a page's id. */
static inline u64 shadow_swap_slot_id(swp_entry_t entry)
{
	return BIT_ULL(63) | swp_offset(entry);
}

/* vmscan.c: reclaim (SHADOW_MM_RECLAIM, SHADOW_DEV_RECLAIM) */
int shadow_reclaim_mm(struct shadow_mm *mm, struct shadow_mm_reclaim *rc);
int shadow_reclaim_all(struct shadow_mm_reclaim *rc);
int shadow_reclaim_check(const struct shadow_mm_reclaim *rc);

/* mremap.c */
unsigned long shadow_sys_mremap(struct shadow_mm *mm, unsigned long addr,
				unsigned long old_len, unsigned long new_len,
				unsigned long flags, unsigned long new_addr);

/*
 * huge_memory.c: the transparent huge page policy of an address space,
 * struct shadow_mm's @thp_mode (the modes of
 * /sys/kernel/mm/transparent_hugepage/enabled, the uapi's SHADOW_MM_THP_*)
 */
enum shadow_thp {
	SHADOW_THP_NEVER = SHADOW_MM_THP_NEVER,
	SHADOW_THP_MADVISE = SHADOW_MM_THP_MADVISE,
	SHADOW_THP_ALWAYS = SHADOW_MM_THP_ALWAYS,
};

void shadow_thp_mm_init(struct shadow_mm *mm);
void shadow_thp_mm_copy(struct shadow_mm *mm, struct shadow_mm *oldmm);
u64 shadow_thp_flags(struct shadow_mm *mm);
bool shadow_transhuge_vma_suitable(struct shadow_vma *vma,
				   unsigned long addr);
bool shadow_hugepage_vma_check(struct shadow_vma *vma, unsigned long vm_flags,
			       bool smaps, bool in_pf);

/* fork.c */
int shadow_dup_mmap(struct shadow_mm *mm, struct shadow_mm *oldmm, bool odf);

/* task.c */
int shadow_task_create(struct shadow_mm *mm, struct file **filep);
int shadow_task_publish(struct shadow_ucmd *ucmd, struct shadow_mm *mm,
			__u32 *out_id, size_t cmd_len);
u64 shadow_task_ioctls(void);

/* batch.c */
int shadow_task_batch(struct shadow_ucmd *ucmd);

/* task_mmu.c */
struct seq_file;

/*
 * No maps line is longer: the name column plus the longest name; a file
 * path that does not fit is left out.
 */
#define SHADOW_MAPS_LINE_MAX	512

int shadow_show_map_vma(struct shadow_vma *vma, char *line, int size);
int shadow_show_maps(struct shadow_mm *mm, u64 max_len, char **bufp,
		     size_t *len);
int shadow_show_smaps(struct seq_file *m, struct shadow_mm *mm);
void shadow_vma_info(struct shadow_vma *vma, struct shadow_vma_info *info);
void shadow_get_stats(struct shadow_mm *mm, struct shadow_mm_stats *st);
int shadow_pagemap_read(struct shadow_mm *mm, unsigned long addr,
			u64 nr_pages, void __user *upages, size_t rec_size);

/* dump_pagetables.c */
int shadow_ptdump_show(struct seq_file *m, struct shadow_mm *mm);

/* debugfs.c */
void shadow_debugfs_init(void);
void shadow_debugfs_exit(void);
void shadow_debugfs_mm_add(struct shadow_mm *mm);
void shadow_debugfs_mm_remove(struct shadow_mm *mm);

#endif /* _SHADOW_INTERNAL_H */
