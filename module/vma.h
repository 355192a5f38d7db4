/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine's core types and the calls between the layout code (vma.c,
 * mmap.c) and the rest of the engine: what Linux keeps in mm/vma.h since
 * 6.11, with the mm_struct and vm_area_struct counterparts.
 *
 * This header includes nothing. Whoever includes it first provides
 * struct maple_tree, struct rw_semaphore, spinlock_t, atomic_t, refcount_t,
 * struct list_head, struct work_struct, pid_t, pgd_t and the VM_* flags:
 * the module through vma_internal.h (kernel headers), the user-space VMA
 * harness through its own vma_internal.h (tools/ shims). Both builds
 * compile the very same vma.c and mmap.c against these definitions.
 */
#ifndef _SHADOW_VMA_H
#define _SHADOW_VMA_H

struct shadow_mm;
/* rmap.c's; the layout code only compares and hands on pointers to it. */
struct shadow_anon_vma;
struct ma_state;
struct dentry;
struct file;

/**
 * struct shadow_address_space - the address_space a VMA maps: a file's
 * (one per struct file mapped), or that of a shared anonymous mapping
 * @ref: one per VMA that maps it (the VMA's reference on its vm_file)
 * @id: stable identity, shown as the inode number in maps
 * @file: for a file mapping, the struct file mapped (the VMA's vm_file),
 *        referenced by the address space; NULL for shared anonymous memory
 *
 * Linux backs MAP_SHARED|MAP_ANONYMOUS with a fresh shmem file per mmap call
 * (shmem_zero_setup); this is its counterpart. Being a distinct object per
 * mmap call is what keeps two shared anonymous mappings from merging.
 * A file's address space is one per struct file (filemap.c): VMAs merge
 * only when they map the same struct file at contiguous offsets, as
 * vma_merge() compares vm_file and vm_pgoff.
 */
struct shadow_address_space {
	refcount_t ref;
	unsigned long id;
	struct file *file;
};

/**
 * struct shadow_vma - the vm_area_struct of a shadow address space
 * @vm_start: first address
 * @vm_end: first address past the end
 * @vm_mm: the address space it belongs to
 * @vm_flags: Linux's VM_* flags
 * @vm_page_prot: page protection bits derived from @vm_flags
 * @vm_pgoff: offset in PAGE_SIZE units; for private anonymous memory the
 *            address the VMA was first mapped at, as in Linux
 * @anon_vma: the private anonymous backing, set by the first write fault;
 *            the VMA holds a reference on it and is on its list
 *            (shadow_anon_vma_link)
 * @vm_anon_chain: length of the anon_vma chain: 0 without an anon_vma, 1
 *                 for one of its own, more when inherited through fork
 * @anon_vma_node: entry in @anon_vma's list of VMAs (the anon_vma_chain
 *                 of the VMA's own anon_vma), under its root's lock
 * @vm_mapping: the address space mapped: a file's (a private or shared
 *              file mapping; its @file is the vm_file, its address space
 *              the vm_file's f_mapping), that of a shared anonymous
 *              mapping, or NULL
 * @i_mmap_node: entry in @vm_mapping's i_mmap list, under its i_mmap lock
 * @vm_detach_next: link of the list of VMAs detached by one munmap
 *                  (6.1's mt_detach side tree, without an allocation)
 * @vm_special: enum shadow_special_mapping: a special mapping's kind (its
 *              vm_ops and vm_private_data in Linux), or 0
 */
struct shadow_vma {
	unsigned long vm_start;
	unsigned long vm_end;
	struct shadow_mm *vm_mm;
	unsigned long vm_flags;
	unsigned long vm_page_prot;
	unsigned long vm_pgoff;
	struct shadow_anon_vma *anon_vma;
	unsigned int vm_anon_chain;
	struct list_head anon_vma_node;
	struct shadow_address_space *vm_mapping;
	struct list_head i_mmap_node;
	struct shadow_vma *vm_detach_next;
	unsigned int vm_special;
};

/*
 * The special mappings of _install_special_mapping() the engine installs:
 * x86's vdso_mapping and vvar_mapping. The values are the backing_id
 * GET_VMAS reports for them.
 */
enum shadow_special_mapping {
	SHADOW_SPECIAL_NONE,
	SHADOW_SPECIAL_VDSO,
	SHADOW_SPECIAL_VVAR,
};

/**
 * struct shadow_mm - the mm_struct of a shadow address space
 * @mm_mt: the VMAs, keyed by [vm_start, vm_end - 1], with gap tracking
 * @mmap_base: top of the top-down mmap area; with @mmap_legacy the bottom
 *             of the bottom-up one (mmap_legacy_base)
 * @mmap_legacy: the legacy layout: get_unmapped_area goes bottom-up
 *               (arch_get_unmapped_area, as after mmap_is_legacy())
 * @task_size: end of the user address space
 * @mmap_min_addr: lowest address a mapping may start at
 * @def_flags: VM_* flags added to every new mapping
 * @pgd: the page-table root
 * @mm_users: users of the address space: fds that have not exited, and
 *            operations in flight (shadow_get_task_mm()); the last
 *            shadow_mmput() tears the address space down
 * @mm_count: references to the struct; all users together hold one
 * @map_count: number of VMAs
 * @total_vm: mapped pages
 * @locked_vm: pages in VM_LOCKED VMAs
 * @data_vm: pages in private writable, non-stack VMAs
 * @exec_vm: pages in executable, non-writable VMAs
 * @stack_vm: pages in VM_GROWSDOWN VMAs
 * @start_brk: where the heap starts
 * @brk: the program break
 * @start_code: PR_SET_MM_MAP's fields, which exec sets in Linux
 * @end_code: see @start_code
 * @start_data: with @end_data, counted against RLIMIT_DATA by brk
 * @end_data: see @start_data
 * @start_stack: the VMA containing it is the [stack] of maps
 * @arg_start: see @start_code
 * @arg_end: see @start_code
 * @env_start: see @start_code
 * @env_end: see @start_code
 * @nr_puds: PUD tables (pages) below the PGD
 * @nr_pmds: PMD tables
 * @nr_ptes: PTE tables
 * @rss_anon: private anonymous pages mapped
 * @rss_shmem: shared anonymous pages mapped
 * @rss_file: page-cache pages of files mapped (MM_FILEPAGES)
 * @min_flt: faults served without I/O
 * @maj_flt: faults that needed I/O (swap-in)
 * @cow_copies: write faults that copied a page (do_wp_page -> wp_page_copy)
 * @cow_reuses: write faults that reused a page in place (wp_page_reuse)
 * @nr_swapents: swap entries in the page tables (MM_SWAPENTS)
 * @swapins: pages brought back from swap by faults here
 * @swapouts: PTEs here that try_to_unmap turned into swap entries
 * @thp_fault_alloc: faults that mapped a new huge page (THP_FAULT_ALLOC)
 * @thp_fault_fallback: huge page faults that fell back to small pages
 *                      (THP_FAULT_FALLBACK)
 * @thp_split_pmd: PMD leaves split into PTE tables (THP_SPLIT_PMD)
 * @anon_thps: PMD leaves mapping a huge page now (smaps' AnonHugePages)
 * @pmd_huge_pte: the PTE tables deposited with its PMD leaves
 *                (pgtable_trans_huge_deposit(), huge_memory.c)
 * @flags: SHADOW_MMF_* bits (mm->flags): SHADOW_MMF_HUGE_ZERO_PAGE
 * @thp_mode: enum shadow_thp: the space's transparent_hugepage/enabled
 * @thp_disable: PR_SET_THP_DISABLE (MMF_DISABLE_THP): no huge page at all
 * @thp_use_zero_page: the space's transparent_hugepage/use_zero_page
 * @id: small stable id for traces, maps and debugfs
 * @owner_uid: the user it is charged to (max_mms_per_user), in the
 *             initial user namespace
 * @owner_pid: the process that created it (SHADOW_MM_CREATE) or forked it
 *             (SHADOW_MM_FORK without SHADOW_FORK_VM): the caller's tgid in
 *             the initial pid namespace, for debugfs; a CLONE_VM user
 *             changes nothing. It may have exited since.
 * @mmlist: entry in the module's list of live address spaces; the mm stays
 *          on it while it has users
 * @debugfs_dir: its directory in debugfs (mm<id>/), made once the address
 *               space is complete and removed by the last shadow_mmput()
 *               before anything is torn down; NULL or an ERR_PTR when
 *               there is none
 * @async_put_work: runs the teardown of shadow_mmput_async()
 * @mmap_lock: protects @mm_mt, the VMAs in it, @def_flags, @map_count,
 *             the layout counters, the break and the THP policy (mm.c's
 *             lock tree)
 * @page_table_lock: protects the page tables, the table and rss counts,
 *                   the fault, swap and THP counters
 *
 * The fields are grouped by the lock that guards them, each lock after its
 * group.
 */
struct shadow_mm {
	/* Set when the address space is made (create or fork), then fixed: */
	unsigned long mmap_base;
	bool mmap_legacy;
	unsigned long task_size;
	unsigned long mmap_min_addr;
	pgd_t *pgd;
	unsigned int id;
	unsigned int owner_uid;
	pid_t owner_pid;

	/* Atomic, no lock: */
	atomic_t mm_users;
	atomic_t mm_count;
	unsigned long flags;	/* SHADOW_MMF_*, bit operations */

	struct maple_tree mm_mt;
	unsigned long def_flags;
	int map_count;
	unsigned long total_vm;
	unsigned long locked_vm;
	unsigned long data_vm;
	unsigned long exec_vm;
	unsigned long stack_vm;
	unsigned long start_brk;
	unsigned long brk;
	unsigned long start_code, end_code, start_data, end_data;
	unsigned long start_stack, arg_start, arg_end, env_start, env_end;
	u8 thp_mode;
	bool thp_disable;
	bool thp_use_zero_page;
	struct rw_semaphore mmap_lock;	/* protects the above */

	unsigned long nr_puds;
	unsigned long nr_pmds;
	unsigned long nr_ptes;
	unsigned long rss_anon;
	unsigned long rss_shmem;
	unsigned long rss_file;
	unsigned long min_flt;
	unsigned long maj_flt;
	unsigned long cow_copies;
	unsigned long cow_reuses;
	unsigned long nr_swapents;
	unsigned long swapins;
	unsigned long swapouts;
	struct list_head pmd_huge_pte;
	unsigned long thp_fault_alloc;
	unsigned long thp_fault_fallback;
	unsigned long thp_split_pmd;
	unsigned long anon_thps;
	spinlock_t page_table_lock;	/* protects the above and the tables */

	/* Under shadow_mmlist_lock (mm.c): */
	struct list_head mmlist;

	/* The teardown's (mm.c's lifetime): */
	struct dentry *debugfs_dir;
	struct work_struct async_put_work;
};

/*
 * check_data_rlimit(): may the heap be [@start, @new) with a data segment
 * of [@start_data, @end_data) under the RLIMIT_DATA @rlim? 0 or -ENOSPC.
 */
static inline int shadow_check_data_rlimit(unsigned long rlim,
					   unsigned long new,
					   unsigned long start,
					   unsigned long end_data,
					   unsigned long start_data)
{
	if (rlim < RLIM_INFINITY &&
	    (new - start) + (end_data - start_data) > rlim)
		return -ENOSPC;
	return 0;
}

/* Limits, module parameters in the kernel build (the sysctls of Linux). */
extern int shadow_max_map_count;

/* vma.c: the VMA tree, split, merge and the gap search. */
struct shadow_vma *shadow_find_vma(struct shadow_mm *mm, unsigned long addr);
struct shadow_vma *shadow_find_vma_prev(struct shadow_mm *mm,
					unsigned long addr,
					struct shadow_vma **pprev);
struct shadow_vma *shadow_find_vma_intersection(struct shadow_mm *mm,
						unsigned long start,
						unsigned long end);
struct shadow_vma *shadow_vma_next(struct shadow_mm *mm,
				   struct shadow_vma *vma);
struct shadow_vma *shadow_vma_prev(struct shadow_mm *mm,
				   struct shadow_vma *vma);
int shadow_mas_store(struct ma_state *mas, void *entry);
int shadow_vma_store(struct shadow_mm *mm, struct shadow_vma *vma);
struct shadow_vma *shadow_vm_area_dup(struct shadow_vma *orig);
void shadow_remove_vma(struct shadow_vma *vma);
int __shadow_split_vma(struct shadow_mm *mm, struct shadow_vma *vma,
		       unsigned long addr, int new_below);
int shadow_split_vma(struct shadow_mm *mm, struct shadow_vma *vma,
		     unsigned long addr, int new_below);
bool shadow_is_mergeable_anon_vma(struct shadow_anon_vma *anon_vma1,
				  struct shadow_anon_vma *anon_vma2,
				  struct shadow_vma *vma);
bool shadow_can_vma_merge_before(struct shadow_vma *vma,
				 unsigned long vm_flags,
				 struct shadow_anon_vma *anon_vma,
				 struct shadow_address_space *mapping,
				 unsigned long vm_pgoff);
bool shadow_can_vma_merge_after(struct shadow_vma *vma,
				unsigned long vm_flags,
				struct shadow_anon_vma *anon_vma,
				struct shadow_address_space *mapping,
				unsigned long vm_pgoff);
struct shadow_vma *shadow_vma_merge(struct shadow_mm *mm,
				    struct shadow_vma *prev,
				    unsigned long addr, unsigned long end,
				    unsigned long vm_flags,
				    struct shadow_anon_vma *anon_vma,
				    struct shadow_address_space *mapping,
				    unsigned long pgoff);
int shadow_vma_expand(struct shadow_mm *mm, struct shadow_vma *vma,
		      unsigned long start, unsigned long end,
		      unsigned long pgoff, struct shadow_vma *next);
unsigned long shadow_vm_start_gap(struct shadow_vma *vma);
unsigned long shadow_vm_end_gap(struct shadow_vma *vma);
unsigned long shadow_get_unmapped_area(struct shadow_mm *mm,
				       struct shadow_address_space *file,
				       unsigned long addr, unsigned long len,
				       unsigned long pgoff,
				       unsigned long flags);
int shadow_validate_mm(struct shadow_mm *mm);

/* The file a VMA maps (vma->vm_file), or NULL. */
static inline struct file *shadow_vma_file(struct shadow_vma *vma)
{
	return vma->vm_mapping ? vma->vm_mapping->file : NULL;
}

/* mmap.c: the layout flows of mm/mmap.c. */
unsigned long shadow_do_mmap(struct shadow_mm *mm, unsigned long addr,
			     unsigned long len, unsigned long prot,
			     unsigned long flags, unsigned long pgoff,
			     unsigned long *populate);
unsigned long shadow_do_mmap_file(struct shadow_mm *mm,
				  struct shadow_address_space *file,
				  unsigned long addr, unsigned long len,
				  unsigned long prot, unsigned long flags,
				  unsigned long pgoff, unsigned long *populate);
int shadow_do_munmap(struct shadow_mm *mm, unsigned long start,
		     unsigned long len);
unsigned long shadow_vm_mmap_pgoff(struct shadow_mm *mm, unsigned long addr,
				   unsigned long len, unsigned long prot,
				   unsigned long flags, unsigned long pgoff);
unsigned long shadow_vm_mmap_file(struct shadow_mm *mm,
				  struct shadow_address_space *file,
				  unsigned long addr, unsigned long len,
				  unsigned long prot, unsigned long flags,
				  unsigned long pgoff);
int shadow_vm_munmap(struct shadow_mm *mm, unsigned long start,
		     unsigned long len);
void shadow_exit_mmap(struct shadow_mm *mm);
void shadow_vm_stat_account(struct shadow_mm *mm, unsigned long vm_flags,
			    long npages);
struct shadow_vma *shadow_copy_vma(struct shadow_vma **vmap,
				   unsigned long addr, unsigned long len,
				   unsigned long pgoff, bool keep_source);
unsigned long shadow_sys_brk(struct shadow_mm *mm, unsigned long brk);
int shadow_expand_downwards(struct shadow_mm *mm, struct shadow_vma *vma,
			    unsigned long address);
int shadow_expand_stack_locked(struct shadow_mm *mm, struct shadow_vma *vma,
			       unsigned long address);
struct shadow_vma *shadow_expand_stack(struct shadow_mm *mm,
				       unsigned long addr);
int shadow_mmap_check(u64 offset, u32 map_flags, s32 fd,
		      struct shadow_address_space **filep);
int shadow_set_start_brk(struct shadow_mm *mm, unsigned long start);
int shadow_install_special_mapping(struct shadow_mm *mm, unsigned long addr,
				   unsigned long len, unsigned long vm_flags,
				   unsigned int special);
int shadow_setup_arg_pages(struct shadow_mm *mm, unsigned long addr,
			   unsigned long len, bool exec,
			   unsigned long start_stack);

/* madvise.c */
int shadow_do_madvise(struct shadow_mm *mm, unsigned long start,
		      unsigned long len_in, int behavior);

/*
 * Calls out of the layout code, into the engine's allocators and page-table
 * code (kernel) or into recording stubs (harness).
 */
struct shadow_vma *shadow_vm_area_alloc(struct shadow_mm *mm);
void shadow_vm_area_free(struct shadow_vma *vma);
struct shadow_address_space *shadow_shmem_zero_setup(unsigned long size);
/*
 * do_mmap()'s checks of a file mapping (filemap.c): -EOVERFLOW, -EACCES,
 * -EOPNOTSUPP, -EPERM, -ENODEV, -EINVAL as Linux; *@vm_flags gets
 * VM_SHARED/VM_MAYSHARE and loses VM_MAYWRITE/VM_MAYEXEC as the file's
 * mode says.
 */
int shadow_file_mmap_check(struct shadow_address_space *file, unsigned long len,
			   unsigned long prot, unsigned long flags,
			   unsigned long pgoff, unsigned long *vm_flags);
/* fget() of @fd and its file object, referenced (filemap.c) */
struct shadow_address_space *shadow_file_object_get(int fd);
void shadow_mapping_get(struct shadow_address_space *mapping);
void shadow_mapping_put(struct shadow_address_space *mapping);
bool shadow_mas_nomem_wait(void);
void shadow_anon_vma_link(struct shadow_vma *vma,
			  struct shadow_anon_vma *anon_vma);
void shadow_anon_vma_unlink(struct shadow_vma *vma);
void shadow_vma_link_file(struct shadow_vma *vma);
void shadow_unlink_file_vma(struct shadow_vma *vma);
void shadow_unmap_vmas(struct shadow_mm *mm, struct shadow_vma *vmas,
		       unsigned long start, unsigned long end);
void shadow_free_pgtables(struct shadow_mm *mm, struct shadow_vma *vmas,
			  unsigned long floor, unsigned long ceiling);
void shadow_vma_adjust_trans_huge(struct shadow_mm *mm, unsigned long addr);
void shadow_zap_page_range_single(struct shadow_mm *mm,
				  struct shadow_vma *vma, unsigned long start,
				  unsigned long end);
long shadow_faultin_vma_page_range(struct shadow_mm *mm,
				   struct shadow_vma *vma, unsigned long start,
				   unsigned long end, bool write);
void shadow_swapin_readahead_range(struct shadow_mm *mm,
				   struct shadow_vma *vma, unsigned long start,
				   unsigned long end);
void shadow_madvise_free_range(struct shadow_mm *mm, struct shadow_vma *vma,
			       unsigned long start, unsigned long end);
int shadow_vfs_punch_hole(struct shadow_address_space *mapping, loff_t offset,
			  loff_t len);
void shadow_madvise_cold_or_pageout_range(struct shadow_mm *mm,
					  unsigned long start, unsigned long end,
					  bool pageout);
int shadow_anon_vma_prepare(struct shadow_mm *mm, struct shadow_vma *vma);
void shadow_mm_populate(struct shadow_mm *mm, unsigned long start,
			unsigned long len);

#endif /* _SHADOW_VMA_H */
