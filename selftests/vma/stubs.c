// SPDX-License-Identifier: GPL-2.0
/*
 * What the layout code calls out to, in user space: the VMA and shmem
 * allocators (counted, failable), the page-table calls (recorded), the
 * slab behind the maple tree's nodes (counted, failable: the radix-tree
 * shim's kmem_cache of Linux 6.1 has no failure hook, only its
 * "non_kernel" budget for non-blocking allocations), and the locks' and
 * limits' knobs of vma_internal.h.
 */
#include <string.h>
#include <pthread.h>

#include "harness.h"

int shadow_max_map_count = HARNESS_MAX_MAP_COUNT;

struct harness_locks harness_locks;
struct harness_limits harness_limits = {
	.as_pages = ULONG_MAX,
	.data_pages = ULONG_MAX,
	.data_bytes = RLIM_INFINITY,
	.stack_bytes = RLIM_INFINITY,
	.memlock_pages = ULONG_MAX,
	.cap_ipc_lock = false,
};

unsigned long harness_nr_warnings;
bool harness_warn_aborts = true;
unsigned long harness_nr_maple_bugs;

struct harness_record harness_record;
struct harness_counters harness_counters;

static unsigned long fail_nth;
static bool fail_persistent;
static unsigned int mm_ids;

void harness_warn(const char *cond, const char *file, int line)
{
	harness_nr_warnings++;
	if (!harness_warn_aborts)
		return;
	fprintf(stderr, "# shadow_warn_on(%s) at %s:%d\n", cond, file, line);
	fflush(stderr);
	abort();
}

void harness_maple_bug(void)
{
	harness_nr_maple_bugs++;
}

/* lib/maple_tree.c's lockdep checks; the harness has no lockdep. */
int lockdep_is_held(const void *lock)
{
	return 1;
}

void harness_fail_alloc(unsigned long nth, bool persistent)
{
	fail_nth = nth;
	fail_persistent = persistent;
	harness_counters.nr_allocs = 0;
}

/*
 * Every failable allocation asks here first. A caller that keeps retrying
 * against persistent failures would spin forever: after
 * HARNESS_LIVELOCK_RETRIES failures in a row, the failures stop and the
 * livelock is counted.
 */
static bool harness_alloc_fails(void)
{
	unsigned long n = ++harness_counters.nr_allocs;

	if (!fail_nth || n < fail_nth || (n > fail_nth && !fail_persistent))
		return false;
	if (n - fail_nth >= HARNESS_LIVELOCK_RETRIES) {
		harness_counters.nr_livelocks++;
		fail_nth = 0;
		return false;
	}
	harness_counters.nr_injected++;
	return true;
}

/* The VMA allocator: a serial number in front of each VMA. */
struct harness_vma {
	unsigned long serial;
	struct shadow_vma vma;
};

struct shadow_vma *shadow_vm_area_alloc(struct shadow_mm *mm)
{
	struct harness_vma *hv;

	if (harness_alloc_fails())
		return NULL;
	hv = calloc(1, sizeof(*hv));
	if (!hv)
		abort();
	hv->serial = ++harness_counters.vma_serials;
	hv->vma.vm_mm = mm;
	harness_counters.live_vmas++;
	return &hv->vma;
}

void shadow_vm_area_free(struct shadow_vma *vma)
{
	struct harness_vma *hv = container_of(vma, struct harness_vma, vma);

	harness_counters.live_vmas--;
	free(hv);
}

unsigned long harness_vma_serial(const struct shadow_vma *vma)
{
	return container_of(vma, struct harness_vma, vma)->serial;
}

struct shadow_address_space *shadow_shmem_zero_setup(unsigned long size)
{
	struct shadow_address_space *shmem;

	if (harness_alloc_fails())
		return NULL;
	shmem = calloc(1, sizeof(*shmem));
	if (!shmem)
		abort();
	refcount_set(&shmem->ref, 1);
	shmem->id = ++harness_counters.shmem_serials;
	harness_counters.live_shmem++;
	return shmem;
}

/* The harness maps no files. */
int shadow_file_mmap_check(struct shadow_address_space *file, unsigned long len,
			   unsigned long prot, unsigned long flags,
			   unsigned long pgoff, unsigned long *vm_flags)
{
	return -ENODEV;
}

/* The harness has no files: no descriptor is one. */
struct shadow_address_space *shadow_file_object_get(int fd)
{
	return ERR_PTR(-EBADF);
}

void shadow_mapping_get(struct shadow_address_space *shmem)
{
	refcount_inc(&shmem->ref);
}

void shadow_mapping_put(struct shadow_address_space *shmem)
{
	if (refcount_dec_and_test(&shmem->ref)) {
		harness_counters.live_shmem--;
		free(shmem);
	}
}

void harness_record_reset(void)
{
	memset(&harness_record, 0, sizeof(harness_record));
}

static void harness_record_call(enum harness_call_kind kind,
				struct shadow_vma *vmas, unsigned long a,
				unsigned long b)
{
	struct harness_call call = {
		.kind = kind,
		.a = a,
		.b = b,
		.sorted = true,
	};
	struct shadow_vma *vma;
	unsigned long last_end = 0;

	for (vma = vmas; vma; vma = vma->vm_detach_next) {
		if (!call.nr_vmas)
			call.first_start = vma->vm_start;
		else if (vma->vm_start < last_end)
			call.sorted = false;
		call.nr_vmas++;
		call.pages += (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
		last_end = vma->vm_end;
	}
	call.last_end = last_end;
	if (harness_record.nr_calls < HARNESS_MAX_CALLS)
		harness_record.calls[harness_record.nr_calls] = call;
	harness_record.nr_calls++;
}

void shadow_unmap_vmas(struct shadow_mm *mm, struct shadow_vma *vmas,
		       unsigned long start, unsigned long end)
{
	harness_record_call(HARNESS_UNMAP_VMAS, vmas, start, end);
}

void shadow_free_pgtables(struct shadow_mm *mm, struct shadow_vma *vmas,
			  unsigned long floor, unsigned long ceiling)
{
	harness_record_call(HARNESS_FREE_PGTABLES, vmas, floor, ceiling);
}

/* The harness has no page tables, hence no PMD leaf to split. */
void shadow_vma_adjust_trans_huge(struct shadow_mm *mm, unsigned long addr)
{
}

/* The page-table calls of madvise and mmap: recorded, not done. */
static void harness_record_range(enum harness_call_kind kind,
				 struct shadow_vma *vma, unsigned long start,
				 unsigned long end, unsigned long extra)
{
	struct harness_call call = {
		.kind = kind,
		.a = start,
		.b = end,
		.nr_vmas = vma ? 1 : 0,
		.first_start = vma ? vma->vm_start : 0,
		.last_end = vma ? vma->vm_end : 0,
		.pages = extra,
		.sorted = true,
	};

	if (harness_record.nr_calls < HARNESS_MAX_CALLS)
		harness_record.calls[harness_record.nr_calls] = call;
	harness_record.nr_calls++;
}

long harness_faultin_error;

void shadow_zap_page_range_single(struct shadow_mm *mm,
				  struct shadow_vma *vma, unsigned long start,
				  unsigned long end)
{
	shadow_mmap_assert_locked(mm);
	harness_record_range(HARNESS_ZAP_RANGE, vma, start, end, 0);
}

long shadow_faultin_vma_page_range(struct shadow_mm *mm,
				   struct shadow_vma *vma, unsigned long start,
				   unsigned long end, bool write)
{
	shadow_mmap_assert_locked(mm);
	shadow_warn_on(start < vma->vm_start || end > vma->vm_end ||
		       start >= end);
	harness_record_range(HARNESS_FAULTIN, vma, start, end, write);
	if (harness_faultin_error)
		return harness_faultin_error;
	return (end - start) >> PAGE_SHIFT;
}

void shadow_swapin_readahead_range(struct shadow_mm *mm,
				   struct shadow_vma *vma, unsigned long start,
				   unsigned long end)
{
	shadow_mmap_assert_locked(mm);
	shadow_warn_on(start < vma->vm_start || end > vma->vm_end);
}

void shadow_madvise_free_range(struct shadow_mm *mm, struct shadow_vma *vma,
			       unsigned long start, unsigned long end)
{
	shadow_mmap_assert_locked(mm);
	shadow_warn_on(start < vma->vm_start || end > vma->vm_end ||
		       start >= end);
}

int shadow_vfs_punch_hole(struct shadow_address_space *mapping, loff_t offset,
			  loff_t len)
{
	/* Called with mmap_lock dropped, the object pinned. */
	shadow_warn_on(refcount_read(&mapping->ref) < 2 || len <= 0 ||
		       offset < 0);
	return 0;
}

void shadow_madvise_cold_or_pageout_range(struct shadow_mm *mm,
					  unsigned long start, unsigned long end,
					  bool pageout)
{
	shadow_mmap_assert_locked(mm);
	shadow_warn_on(start >= end);
}

void shadow_mm_populate(struct shadow_mm *mm, unsigned long start,
			unsigned long len)
{
	/* Called with mmap_lock dropped, as vm_mmap_pgoff() does. */
	shadow_warn_on(harness_locks.write_held || harness_locks.read_held);
	harness_record_range(HARNESS_POPULATE, NULL, start, start + len, 0);
}

/*
 * The slab of tools/include/linux/slab.h, for the maple tree's nodes. Like
 * the radix-tree shim's, an object is zeroed only with __GFP_ZERO; unlike
 * it, non-blocking allocations succeed, as they mostly do in the kernel.
 */
struct kmem_cache {
	const char *name;
	unsigned int size;
	unsigned int align;
	void (*ctor)(void *obj);
	unsigned long nr_allocated;
	unsigned long nr_tallocated;
	unsigned int non_kernel;
};

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
				     unsigned int align, unsigned int flags,
				     void (*ctor)(void *obj))
{
	struct kmem_cache *cachep = calloc(1, sizeof(*cachep));

	if (!cachep)
		abort();
	cachep->name = name;
	cachep->size = size;
	cachep->align = align;
	cachep->ctor = ctor;
	return cachep;
}

static void *harness_slab_alloc(struct kmem_cache *cachep, gfp_t gfp)
{
	void *p;

	if (cachep->align) {
		if (posix_memalign(&p, cachep->align, cachep->size))
			abort();
	} else {
		p = malloc(cachep->size);
		if (!p)
			abort();
	}
	if (cachep->ctor)
		cachep->ctor(p);
	else if (gfp & __GFP_ZERO)
		memset(p, 0, cachep->size);
	__atomic_add_fetch(&cachep->nr_allocated, 1, __ATOMIC_RELAXED);
	cachep->nr_tallocated++;
	__atomic_add_fetch(&harness_counters.live_nodes, 1, __ATOMIC_RELAXED);
	return p;
}

void *kmem_cache_alloc_lru(struct kmem_cache *cachep, struct list_lru *lru,
			   int gfp)
{
	if (harness_alloc_fails())
		return NULL;
	return harness_slab_alloc(cachep, gfp);
}

void kmem_cache_free(struct kmem_cache *cachep, void *objp)
{
	if (!objp)
		abort();
	/* Also called from liburcu's call_rcu thread. */
	__atomic_sub_fetch(&cachep->nr_allocated, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&harness_counters.live_nodes, 1, __ATOMIC_RELAXED);
	free(objp);
}

int kmem_cache_alloc_bulk(struct kmem_cache *cachep, gfp_t gfp, size_t size,
			  void **list)
{
	size_t i;

	for (i = 0; i < size; i++) {
		if (harness_alloc_fails()) {
			/* As the kernel's: all or nothing. */
			while (i)
				kmem_cache_free(cachep, list[--i]);
			return 0;
		}
		list[i] = harness_slab_alloc(cachep, gfp);
	}
	return size;
}

void kmem_cache_free_bulk(struct kmem_cache *cachep, size_t size, void **list)
{
	size_t i;

	for (i = 0; i < size; i++)
		kmem_cache_free(cachep, list[i]);
}

/* The test-only accessors lib/maple_tree.c defines outside the kernel. */
void kmem_cache_set_non_kernel(struct kmem_cache *cachep, unsigned int val)
{
	cachep->non_kernel = val;
}

/*
 * 6.12's lib/maple_tree.c also names these two (mt_set_callback(),
 * mt_set_private(), for its own test suite); the harness never calls them.
 */
void kmem_cache_set_callback(struct kmem_cache *cachep,
			     void (*callback)(void *))
{
}

void kmem_cache_set_private(struct kmem_cache *cachep, void *private)
{
}

unsigned long kmem_cache_get_alloc(struct kmem_cache *cachep)
{
	return cachep->size * cachep->nr_allocated;
}

unsigned long kmem_cache_nr_allocated(struct kmem_cache *cachep)
{
	return cachep->nr_allocated;
}

unsigned long kmem_cache_nr_tallocated(struct kmem_cache *cachep)
{
	return cachep->nr_tallocated;
}

void kmem_cache_zero_nr_tallocated(struct kmem_cache *cachep)
{
	cachep->nr_tallocated = 0;
}

void kmem_cache_shrink(struct kmem_cache *cachep)
{
}

void maple_tree_init(void);

static void __attribute__((constructor)) harness_init(void)
{
	maple_tree_init();
	rcu_register_thread();
}

/* As shadow_mm_alloc() (module/mm.c), with the module's defaults. */
struct shadow_mm *harness_mm_alloc(void)
{
	struct shadow_mm *mm = calloc(1, sizeof(*mm));

	if (!mm)
		abort();
	mm->pgd = calloc(1, PAGE_SIZE);
	if (!mm->pgd)
		abort();
	mm->id = ++mm_ids;
	mm->task_size = HARNESS_TASK_SIZE;
	mm->mmap_base = HARNESS_MMAP_BASE;
	mm->mmap_min_addr = HARNESS_MMAP_MIN_ADDR;
	/* The radix-tree shim's atomic_set() does nothing. */
	mm->mm_users = 1;
	mm->mm_count = 1;
	init_rwsem(&mm->mmap_lock);
	spin_lock_init(&mm->page_table_lock);
	INIT_LIST_HEAD(&mm->mmlist);
	mt_init_flags(&mm->mm_mt, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(&mm->mm_mt, &mm->mmap_lock);
	return mm;
}

/* After shadow_exit_mmap(): free the struct itself. */
void harness_mm_free(struct shadow_mm *mm)
{
	free(mm->pgd);
	free(mm);
}

unsigned long harness_mt_validate(struct shadow_mm *mm)
{
	unsigned long bugs = harness_nr_maple_bugs;

	mt_validate(&mm->mm_mt);
	return harness_nr_maple_bugs - bugs;
}

/*
 * anon_vma references: the harness's anon_vmas are tokens the tests own;
 * the references VMAs take and drop on them are only counted.
 */
void harness_anon_vma_get(void *anon_vma)
{
	if (anon_vma)
		harness_counters.anon_refs++;
}

void harness_anon_vma_put(void *anon_vma)
{
	if (anon_vma)
		harness_counters.anon_refs--;
}

/* The reverse map's links: a reference, and the VMA's pointer. */
void shadow_anon_vma_link(struct shadow_vma *vma,
			  struct shadow_anon_vma *anon_vma)
{
	if (!anon_vma)
		return;
	vma->anon_vma = anon_vma;
	harness_anon_vma_get(anon_vma);
}

void shadow_anon_vma_unlink(struct shadow_vma *vma)
{
	harness_anon_vma_put(vma->anon_vma);
	vma->anon_vma = NULL;
}

void shadow_vma_link_file(struct shadow_vma *vma)
{
	shadow_mapping_get(vma->vm_mapping);
}

void shadow_unlink_file_vma(struct shadow_vma *vma)
{
	shadow_mapping_put(vma->vm_mapping);
}

/* The harness's anon_vmas are tokens: only their addresses matter. */
struct shadow_anon_vma {
	int token;
};

/*
 * A first fault's anon_vma_prepare(): the VMA gets the harness's own
 * anon_vma token unless it has one. Failable.
 */
struct shadow_anon_vma harness_anon_vma_token;

int shadow_anon_vma_prepare(struct shadow_mm *mm, struct shadow_vma *vma)
{
	if (vma->anon_vma)
		return 0;
	if (harness_alloc_fails())
		return -ENOMEM;
	vma->anon_vma = &harness_anon_vma_token;
	vma->vm_anon_chain = 1;
	harness_anon_vma_get(vma->anon_vma);
	return 0;
}

/* The wait for memory after a failed tree store: one more failable try. */
bool shadow_mas_nomem_wait(void)
{
	return !harness_alloc_fails();
}
