// SPDX-License-Identifier: GPL-2.0
/*
 * The layout flows of a shadow address space, after Linux 6.1's mm/mmap.c:
 * do_mmap -> get_unmapped_area -> mmap_region, do_munmap -> split_vma ->
 * detach -> unmap_region -> remove_vma_list, and exit_mmap. Function names
 * carry a shadow_ prefix so that a function_graph trace reads like the flow
 * of the kernel function it shadows.
 *
 * Callers hold mm->mmap_lock for writing, except where a function takes it
 * itself (shadow_vm_mmap_pgoff(), shadow_vm_munmap(), shadow_exit_mmap(),
 * shadow_set_start_brk()), where it holds it for reading
 * (shadow_expand_stack()), and for shadow_mmap_check(), which checks
 * arguments only.
 *
 * This file includes only vma_internal.h: the user-space harness compiles
 * it unchanged.
 */
#include "vma_internal.h"

/* calc_vm_prot_bits() without protection keys. */
static unsigned long shadow_calc_vm_prot_bits(unsigned long prot)
{
	return (prot & PROT_READ ? VM_READ : 0) |
	       (prot & PROT_WRITE ? VM_WRITE : 0) |
	       (prot & PROT_EXEC ? VM_EXEC : 0);
}

/* calc_vm_flag_bits() for anonymous memory. */
static unsigned long shadow_calc_vm_flag_bits(unsigned long flags)
{
	return (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
	       (flags & MAP_LOCKED ? VM_LOCKED : 0) |
	       (SHADOW_RULE_MAP_STACK_NOHUGEPAGE && flags & MAP_STACK ?
		VM_NOHUGEPAGE : 0);
}

/* Linux raises a hint below mmap_min_addr to it (round_hint_to_min). */
static unsigned long shadow_round_hint_to_min(struct shadow_mm *mm,
					      unsigned long hint)
{
	hint &= PAGE_MASK;
	if (hint && hint < mm->mmap_min_addr)
		return PAGE_ALIGN(mm->mmap_min_addr);
	return hint;
}

/**
 * shadow_vm_stat_account() - total_vm and its exec/stack/data split
 * @mm: the address space
 * @vm_flags: the flags of the VMA the pages belong to
 * @npages: pages mapped (positive) or unmapped (negative)
 */
void shadow_vm_stat_account(struct shadow_mm *mm, unsigned long vm_flags,
			    long npages)
{
	mm->total_vm += npages;
	if ((vm_flags & (VM_EXEC | VM_WRITE | VM_GROWSDOWN)) == VM_EXEC)
		mm->exec_vm += npages;
	else if (vm_flags & VM_GROWSDOWN)
		mm->stack_vm += npages;
	else if ((vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE)
		mm->data_vm += npages;
}

static unsigned long shadow_vma_pages(struct shadow_vma *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}

/* Pages of [addr, end) already mapped (count_vma_pages_range). */
static unsigned long shadow_count_vma_pages_range(struct shadow_mm *mm,
						  unsigned long addr,
						  unsigned long end)
{
	unsigned long nr_pages = 0;
	struct shadow_vma *vma;

	MA_STATE(mas, &mm->mm_mt, addr, addr);

	mas_for_each(&mas, vma, end - 1) {
		unsigned long vm_start = max(addr, vma->vm_start);
		unsigned long vm_end = min(end, vma->vm_end);

		nr_pages += (vm_end - vm_start) >> PAGE_SHIFT;
	}
	return nr_pages;
}

/**
 * shadow_unmap_region() - drop the pages and page tables of a range
 * @mm: the address space
 * @vmas: the detached VMAs, linked by vm_detach_next
 * @prev: the VMA below the range, or NULL
 * @next: the VMA above the range, or NULL
 * @start: start of the range
 * @end: end of the range
 *
 * Page tables are freed only up to the neighbours, which may still use the
 * tables at the range's edges.
 */
static shadow_flow void shadow_unmap_region(struct shadow_mm *mm,
					    struct shadow_vma *vmas,
					    struct shadow_vma *prev,
					    struct shadow_vma *next,
					    unsigned long start,
					    unsigned long end)
{
	shadow_unmap_vmas(mm, vmas, start, end);
	shadow_free_pgtables(mm, vmas, prev ? prev->vm_end : 0,
			     next ? next->vm_start : 0);
}

/*
 * Free detached VMAs and take them out of the counters (remove_vma_list);
 * returns how many there were.
 */
static shadow_flow int shadow_remove_vma_list(struct shadow_mm *mm,
					      struct shadow_vma *vma)
{
	int count = 0;

	while (vma) {
		struct shadow_vma *next = vma->vm_detach_next;

		shadow_vm_stat_account(mm, vma->vm_flags,
				       -(long)shadow_vma_pages(vma));
		if (vma->vm_flags & VM_LOCKED)
			mm->locked_vm -= shadow_vma_pages(vma);
		shadow_remove_vma(vma);
		vma = next;
		count++;
		shadow_cond_resched();
	}
	return count;
}

/*
 * Take every VMA of [start, end) out of the tree, in one store, and hand
 * them back as a list. The VMAs lie wholly inside the range: the caller has
 * split the edges. On failure the tree is unchanged.
 */
static shadow_flow int
shadow_detach_vmas_to_be_unmapped(struct shadow_mm *mm, unsigned long start,
				  unsigned long end, struct shadow_vma **list,
				  int *count)
{
	struct shadow_vma *vma, **tail = list;

	MA_STATE(mas, &mm->mm_mt, start, start);
	MA_STATE(mas_clear, &mm->mm_mt, start, end - 1);
	int err;

	*list = NULL;
	*count = 0;
	mas_for_each(&mas, vma, end - 1) {
		shadow_warn_on(vma->vm_start < start || vma->vm_end > end);
		vma->vm_detach_next = NULL;
		*tail = vma;
		tail = &vma->vm_detach_next;
		(*count)++;
	}

	err = shadow_mas_store(&mas_clear, NULL);
	if (err)
		*list = NULL;
	return err;
}

/*
 * The steps of do_munmap once a VMA overlapping [start, end) is known
 * (do_mas_align_munmap); *@removed counts the VMAs unmapped. A successful
 * first split is not undone when a later step fails, as in Linux.
 */
static shadow_flow int shadow_do_align_munmap(struct shadow_mm *mm,
					      struct shadow_vma *vma,
					      unsigned long start,
					      unsigned long end, int *removed)
{
	struct shadow_vma *prev, *next, *last, *detached;
	int count, error;

	/* Does it split the first one? */
	if (start > vma->vm_start) {
		/*
		 * Make sure that map_count on return from munmap() will not
		 * exceed its limit; but let map_count go just above its limit
		 * temporarily, to help free resources as expected.
		 */
		if (end < vma->vm_end && mm->map_count >= shadow_max_map_count)
			return -ENOMEM;
		error = __shadow_split_vma(mm, vma, start, 0);
		if (error)
			return error;
	}

	/* Does it split the last one? */
	last = shadow_find_vma(mm, end);
	if (last && last->vm_start < end) {
		error = __shadow_split_vma(mm, last, end, 1);
		if (error)
			return error;
	}

	shadow_find_vma_prev(mm, start, &prev);
	next = shadow_find_vma(mm, end);

	error = shadow_detach_vmas_to_be_unmapped(mm, start, end, &detached,
						  &count);
	if (error)
		return error;
	mm->map_count -= count;
	*removed = count;

	shadow_unmap_region(mm, detached, prev, next, start, end);
	shadow_remove_vma_list(mm, detached);
	return 0;
}

/* The checks of munmap and the search for the first VMA (do_mas_munmap). */
static shadow_flow int shadow_do_mas_munmap(struct shadow_mm *mm,
					    unsigned long start,
					    unsigned long len, int *removed)
{
	unsigned long end;
	struct shadow_vma *vma;

	if (offset_in_page(start) || start > mm->task_size ||
	    len > mm->task_size - start)
		return -EINVAL;

	end = start + PAGE_ALIGN(len);
	if (end == start)
		return -EINVAL;

	/* Find the first overlapping VMA */
	vma = shadow_find_vma_intersection(mm, start, end);
	if (!vma)
		return 0;

	return shadow_do_align_munmap(mm, vma, start, end, removed);
}

/**
 * shadow_do_munmap() - unmap [start, start + len) (do_munmap)
 * @mm: the address space, mmap_lock held for writing
 * @start: page-aligned start
 * @len: length, rounded up to pages
 *
 * Return: 0 (also when nothing is mapped there), -EINVAL for a bad range,
 * -ENOMEM when a split fails or would exceed max_map_count.
 */
shadow_flow int shadow_do_munmap(struct shadow_mm *mm, unsigned long start,
				 unsigned long len)
{
	int removed = 0, ret;

	shadow_mmap_assert_write_locked(mm);
	ret = shadow_do_mas_munmap(mm, start, len, &removed);
	trace_shadow_mm_munmap(mm, start, len, removed, ret);
	return ret;
}

/*
 * Map [addr, addr + len), replacing what was there (mmap_region): grow a
 * neighbour when the new range can merge with it, else insert a new VMA.
 */
static shadow_flow unsigned long shadow_mmap_region(struct shadow_mm *mm,
						    struct shadow_address_space *file,
						    unsigned long addr,
						    unsigned long len,
						    unsigned long vm_flags,
						    unsigned long pgoff)
{
	unsigned long pglen = len >> PAGE_SHIFT, end = addr + len;
	unsigned long merge_start = addr, merge_end = end, vm_pgoff = 0;
	struct shadow_vma *vma = NULL, *prev, *next;
	int error;

	/* Check against address space limit. */
	if (!shadow_may_expand_vm(mm, vm_flags, pglen)) {
		unsigned long nr_pages;

		/*
		 * MAP_FIXED may remove pages of mappings that intersect with
		 * the requested mapping: account for the pages it would unmap.
		 */
		nr_pages = shadow_count_vma_pages_range(mm, addr, end);
		if (!shadow_may_expand_vm(mm, vm_flags, pglen - nr_pages))
			return -ENOMEM;
	}

	/* Unmap any existing mapping in the area */
	if (shadow_do_munmap(mm, addr, len))
		return -ENOMEM;

	/* Private writable mapping: accounted (accountable_mapping()). */
	if ((vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE)
		vm_flags |= VM_ACCOUNT;

	next = shadow_find_vma_prev(mm, addr, &prev);
	if (vm_flags & VM_SPECIAL)
		goto cannot_expand;

	/* Attempt to expand an old mapping */
	if (next && next->vm_start == end &&
	    shadow_can_vma_merge_before(next, vm_flags, NULL, file,
					pgoff + pglen)) {
		merge_end = next->vm_end;
		vma = next;
		vm_pgoff = next->vm_pgoff - pglen;
	}
	if (prev && prev->vm_end == addr &&
	    shadow_can_vma_merge_after(prev, vm_flags,
				       vma ? vma->anon_vma : NULL, file,
				       pgoff)) {
		merge_start = prev->vm_start;
		vma = prev;
		vm_pgoff = prev->vm_pgoff;
	}
	if (vma && !shadow_vma_expand(mm, vma, merge_start, merge_end,
				      vm_pgoff, next))
		goto expanded;

cannot_expand:
	vma = shadow_vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;
	vma->vm_start = addr;
	vma->vm_end = end;
	vma->vm_flags = vm_flags;
	vma->vm_pgoff = pgoff;

	if (file) {
		/* get_file(): the VMA references the file through its object. */
		vma->vm_mapping = file;
		shadow_vma_link_file(vma);
	} else if (vm_flags & VM_SHARED) {
		struct shadow_address_space *shmem = shadow_shmem_zero_setup(end - addr);

		if (!shmem) {
			error = -ENOMEM;
			goto free_vma;
		}
		/* The VMA's own reference and i_mmap entry replace setup's. */
		vma->vm_mapping = shmem;
		shadow_vma_link_file(vma);
		shadow_mapping_put(shmem);
	}

	error = shadow_vma_store(mm, vma);
	if (error)
		goto free_vma;
	mm->map_count++;

expanded:
	shadow_vm_stat_account(mm, vm_flags, pglen);
	if (vm_flags & VM_LOCKED) {
		/*
		 * mlockall(MCL_FUTURE) does not lock droppable memory
		 * (vma_supports_mlock()); it is still populated.
		 */
		if (vm_flags & VM_DROPPABLE)
			vma->vm_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
		else
			mm->locked_vm += pglen;
	}

	/*
	 * A new (or expanded) VMA is always soft dirty, so that a soft-dirty
	 * tracker tells a new mapping from an old one in the same place.
	 */
	vma->vm_flags |= VM_SOFTDIRTY;
	vma->vm_page_prot = shadow_vm_get_page_prot(vma->vm_flags);
	return addr;

free_vma:
	shadow_remove_vma(vma);
	return error;
}

/* MAP_* flags the engine models; other bits are ignored, as by mmap(2). */
#define SHADOW_MAP_UNSUPPORTED	(MAP_HUGETLB | MAP_32BIT | MAP_SYNC)

/**
 * shadow_mmap_check() - the checks of mmap(2)'s arguments before do_mmap
 * @offset: the byte offset
 * @map_flags: MAP_*
 * @fd: the file descriptor
 * @filep: set to @fd's file object, referenced, or to NULL for
 *         MAP_ANONYMOUS; NULL when the caller maps no files (a batch),
 *         which then refuses a file mapping without looking @fd up
 *
 * mmap(2) on x86-64 takes a byte offset, page aligned, and checks it
 * before anything else; ksys_mmap_pgoff() then wants a file unless
 * MAP_ANONYMOUS (fget: -EBADF), and refuses MAP_HUGETLB on a file that is
 * not hugetlbfs (-EINVAL).
 *
 * Return: 0, -EINVAL, -EBADF, shadow_file_object_get()'s errors, or
 * -EOPNOTSUPP for what the engine does not model.
 */
int shadow_mmap_check(u64 offset, u32 map_flags, s32 fd,
		      struct shadow_address_space **filep)
{
	struct shadow_address_space *file = NULL;
	int ret;

	if (offset_in_page(offset))
		return -EINVAL;
	if (!(map_flags & MAP_ANONYMOUS)) {
		if (!filep)
			return fd < 0 ? -EBADF : -EOPNOTSUPP;
		file = shadow_file_object_get(fd);
		if (IS_ERR(file))
			return PTR_ERR(file);
		if (map_flags & MAP_HUGETLB) {
			ret = -EINVAL;
			goto err_put;
		}
	}
	if (map_flags & SHADOW_MAP_UNSUPPORTED) {
		ret = -EOPNOTSUPP;
		goto err_put;
	}
	if (filep)
		*filep = file;
	return 0;

err_put:
	if (file)
		shadow_mapping_put(file);
	return ret;
}

/**
 * shadow_do_mmap_file() - create a mapping (do_mmap)
 * @mm: the address space, mmap_lock held for writing
 * @file: the file object of a file mapping (a reference of the caller's,
 *        which the new VMA does not take over), or NULL for anonymous
 *        memory
 * @addr: hint or fixed address
 * @len: length in bytes
 * @prot: PROT_* flags
 * @flags: MAP_* flags
 * @pgoff: the offset in the file in pages; ignored for anonymous memory
 * @populate: set to the length to populate (MAP_POPULATE, MAP_LOCKED)
 *
 * Return: the address, or a negative errno as an unsigned long.
 */
shadow_flow unsigned long shadow_do_mmap_file(struct shadow_mm *mm,
					      struct shadow_address_space *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long prot,
					      unsigned long flags,
					      unsigned long pgoff,
					      unsigned long *populate)
{
	unsigned long vm_flags;
	int error;

	shadow_mmap_assert_write_locked(mm);
	*populate = 0;

	if (!len)
		return -EINVAL;

	/* Does the application expect PROT_READ to imply PROT_EXEC? */
	if ((prot & PROT_READ) && shadow_read_implies_exec())
		prot |= PROT_EXEC;

	/* force arch specific MAP_FIXED handling in get_unmapped_area */
	if (flags & MAP_FIXED_NOREPLACE)
		flags |= MAP_FIXED;

	if (!(flags & MAP_FIXED))
		addr = shadow_round_hint_to_min(mm, addr);

	/* Careful about overflows.. */
	len = PAGE_ALIGN(len);
	if (!len)
		return -ENOMEM;

	/* offset overflow? */
	if ((pgoff + (len >> PAGE_SHIFT)) < pgoff)
		return -EOVERFLOW;

	/* Too many mappings? */
	if (mm->map_count > shadow_max_map_count)
		return -ENOMEM;

	addr = shadow_get_unmapped_area(mm, file, addr, len, pgoff, flags);
	if (IS_ERR_VALUE(addr))
		return addr;

	if ((flags & MAP_FIXED_NOREPLACE) &&
	    shadow_find_vma_intersection(mm, addr, addr + len))
		return -EEXIST;

	vm_flags = shadow_calc_vm_prot_bits(prot) |
		   shadow_calc_vm_flag_bits(flags) | mm->def_flags |
		   VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

	if ((flags & MAP_LOCKED) && !shadow_can_do_mlock())
		return -EPERM;

	if (!shadow_mlock_future_ok(mm, vm_flags, len))
		return -EAGAIN;

	if (file) {
		error = shadow_file_mmap_check(file, len, prot, flags, pgoff,
					       &vm_flags);
		if (error)
			return error;
	} else {
		switch (flags & MAP_TYPE) {
		case MAP_SHARED:
			if (vm_flags & VM_GROWSDOWN)
				return -EINVAL;
			/* Ignore pgoff. */
			pgoff = 0;
			vm_flags |= VM_SHARED | VM_MAYSHARE;
			break;
		case MAP_DROPPABLE:
			if (!SHADOW_RULE_MAP_DROPPABLE)
				return -EINVAL;
			/*
			 * A locked or stack area makes no sense to be
			 * droppable; its pages can go at any time, so they are
			 * not reserved, copied on fork nor dumped.
			 */
			if (flags & MAP_LOCKED)
				return -EINVAL;
			if (vm_flags & VM_GROWSDOWN)
				return -EINVAL;
			vm_flags |= VM_DROPPABLE | VM_NORESERVE |
				    VM_WIPEONFORK | VM_DONTDUMP;
			fallthrough;
		case MAP_PRIVATE:
			/* Set pgoff according to addr for anon_vma. */
			pgoff = addr >> PAGE_SHIFT;
			break;
		default:
			return -EINVAL;
		}
	}

	/* The shadow engine never overcommits-checks: honour NORESERVE. */
	if (flags & MAP_NORESERVE)
		vm_flags |= VM_NORESERVE;

	addr = shadow_mmap_region(mm, file, addr, len, vm_flags, pgoff);
	if (!IS_ERR_VALUE(addr) &&
	    ((vm_flags & VM_LOCKED) ||
	     (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE))
		*populate = len;
	return addr;
}

/**
 * shadow_do_mmap() - create an anonymous mapping (do_mmap without a file)
 * @mm: the address space, mmap_lock held for writing
 * @addr: hint or fixed address
 * @len: length in bytes
 * @prot: PROT_* flags
 * @flags: MAP_* flags; MAP_ANONYMOUS is implied
 * @pgoff: ignored for anonymous memory
 * @populate: set to the length to populate (MAP_POPULATE, MAP_LOCKED)
 *
 * Return: the address, or a negative errno as an unsigned long.
 */
unsigned long shadow_do_mmap(struct shadow_mm *mm, unsigned long addr,
			     unsigned long len, unsigned long prot,
			     unsigned long flags, unsigned long pgoff,
			     unsigned long *populate)
{
	return shadow_do_mmap_file(mm, NULL, addr, len, prot, flags, pgoff,
				   populate);
}

/**
 * shadow_vm_mmap_pgoff() - shadow_do_mmap() under mmap_lock
 * @mm: the address space
 * @addr: hint or fixed address
 * @len: length in bytes
 * @prot: PROT_* flags
 * @flags: MAP_* flags
 * @pgoff: page offset
 *
 * MAP_POPULATE and MAP_LOCKED mappings are populated once the lock is
 * dropped, errors ignored, as vm_mmap_pgoff() does.
 *
 * Return: as shadow_do_mmap(), or -EINTR when killed waiting for the lock.
 */
unsigned long shadow_vm_mmap_pgoff(struct shadow_mm *mm, unsigned long addr,
				   unsigned long len, unsigned long prot,
				   unsigned long flags, unsigned long pgoff)
{
	return shadow_vm_mmap_file(mm, NULL, addr, len, prot, flags, pgoff);
}

/**
 * shadow_vm_mmap_file() - shadow_do_mmap_file() under mmap_lock
 * @mm: the address space
 * @file: the file object of a file mapping, or NULL
 * @addr: hint or fixed address
 * @len: length in bytes
 * @prot: PROT_* flags
 * @flags: MAP_* flags
 * @pgoff: page offset
 *
 * Return: as shadow_vm_mmap_pgoff().
 */
unsigned long shadow_vm_mmap_file(struct shadow_mm *mm,
				  struct shadow_address_space *file,
				  unsigned long addr, unsigned long len,
				  unsigned long prot, unsigned long flags,
				  unsigned long pgoff)
{
	unsigned long ret, populate;

	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	ret = shadow_do_mmap_file(mm, file, addr, len, prot, flags, pgoff,
				  &populate);
	if (IS_ERR_VALUE(ret)) {
		trace_shadow_mm_mmap(mm, addr, len, prot, flags, ret, false);
	} else {
		struct shadow_vma *vma = shadow_find_vma(mm, ret);

		/* Merged: the VMA covering the new range is larger. */
		trace_shadow_mm_mmap(mm, addr, len, prot, flags, ret,
				     vma->vm_start != ret ||
				     vma->vm_end != ret + PAGE_ALIGN(len));
	}
	shadow_mmap_write_unlock(mm);
	if (populate)
		shadow_mm_populate(mm, ret, populate);
	return ret;
}

/**
 * shadow_vm_munmap() - shadow_do_munmap() under mmap_lock
 * @mm: the address space
 * @start: page-aligned start
 * @len: length
 *
 * Return: as shadow_do_munmap(), or -EINTR.
 */
int shadow_vm_munmap(struct shadow_mm *mm, unsigned long start,
		     unsigned long len)
{
	int ret;

	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	ret = shadow_do_munmap(mm, start, len);
	shadow_mmap_write_unlock(mm);
	return ret;
}

/**
 * shadow_exit_mmap() - tear down every mapping of a dying address space
 * @mm: the address space; its last user is gone
 *
 * Unmaps every VMA, frees the page tables, then frees the VMAs and checks
 * that map_count matches what was freed, as exit_mmap() does.
 */
shadow_flow void shadow_exit_mmap(struct shadow_mm *mm)
{
	struct shadow_vma *vma, *list = NULL, **tail = &list;
	int count;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	shadow_mmap_write_lock(mm);
	trace_shadow_mm_exit_mmap(mm);
	mas_for_each(&mas, vma, ULONG_MAX) {
		vma->vm_detach_next = NULL;
		*tail = vma;
		tail = &vma->vm_detach_next;
	}

	if (list) {
		shadow_unmap_vmas(mm, list, 0, ULONG_MAX);
		shadow_free_pgtables(mm, list, 0, 0);
	}

	/* Walk the list again, actually closing and freeing it. */
	count = shadow_remove_vma_list(mm, list);
	shadow_warn_on(count != mm->map_count);
	mm->map_count -= count;
	__mt_destroy(&mm->mm_mt);
	shadow_mmap_write_unlock(mm);
}

/*
 * check_brk_limits(): the heap may grow to [addr, addr + len) when that
 * range is a valid fixed mapping and mlockall(MCL_FUTURE)'s limit allows.
 */
static int shadow_check_brk_limits(struct shadow_mm *mm, unsigned long addr,
				   unsigned long len)
{
	unsigned long mapped_addr;

	mapped_addr = shadow_get_unmapped_area(mm, NULL, addr, len, 0,
					       MAP_FIXED);
	if (IS_ERR_VALUE(mapped_addr))
		return mapped_addr;
	return shadow_mlock_future_ok(mm, mm->def_flags, len) ? 0 : -EAGAIN;
}

/*
 * Grow the heap over [addr, addr + len): extend @vma, the VMA just below,
 * when it ends at @addr and could merge with a new anonymous mapping
 * there, else insert a new VMA (do_brk_flags). Only new VMAs merge this
 * way: after fork the heap's anon_vma chain is no longer singular.
 */
static shadow_flow int shadow_do_brk_flags(struct shadow_mm *mm,
					   struct shadow_vma *vma,
					   unsigned long addr,
					   unsigned long len,
					   unsigned long flags)
{
	/* VM_DATA_DEFAULT_FLAGS of x86: VM_DATA_FLAGS_TSK_EXEC. */
	flags |= VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC |
		 (shadow_read_implies_exec() ? VM_EXEC : 0) | VM_ACCOUNT |
		 mm->def_flags;
	if (!shadow_may_expand_vm(mm, flags, len >> PAGE_SHIFT))
		return -ENOMEM;
	if (mm->map_count > shadow_max_map_count)
		return -ENOMEM;

	/* Expand the existing vma if possible. */
	if (vma && vma->vm_end == addr &&
	    shadow_can_vma_merge_after(vma, flags, NULL, NULL,
				       addr >> PAGE_SHIFT)) {
		if (shadow_vma_expand(mm, vma, vma->vm_start, addr + len,
				      vma->vm_pgoff, NULL))
			return -ENOMEM;
		goto out;
	}

	/* create a vma struct for an anonymous mapping */
	vma = shadow_vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_pgoff = addr >> PAGE_SHIFT;
	vma->vm_flags = flags;
	vma->vm_page_prot = shadow_vm_get_page_prot(flags);
	if (shadow_vma_store(mm, vma)) {
		shadow_vm_area_free(vma);
		return -ENOMEM;
	}
	mm->map_count++;
out:
	mm->total_vm += len >> PAGE_SHIFT;
	mm->data_vm += len >> PAGE_SHIFT;
	if (flags & VM_LOCKED)
		mm->locked_vm += len >> PAGE_SHIFT;
	vma->vm_flags |= VM_SOFTDIRTY;
	return 0;
}

/**
 * shadow_sys_brk() - move the program break (the brk system call)
 * @mm: the address space
 * @brk: the requested break
 *
 * Shrinking unmaps the heap's tail; growing checks RLIMIT_DATA, the
 * mapping limits and the guard gap of the next VMA, then extends the heap
 * (do_brk_flags). The data segment (start_data to end_data, empty unless
 * SHADOW_MM_SET_MM_MAP set it) counts against RLIMIT_DATA with the heap;
 * no CONFIG_COMPAT_BRK, as Debian's kernel.
 * With mlockall(MCL_FUTURE) in force the new heap is populated.
 *
 * Return: the new break, or the old one when the request is refused; only
 * -EINTR (killed waiting for mmap_lock) is an error.
 */
shadow_flow unsigned long shadow_sys_brk(struct shadow_mm *mm,
					 unsigned long brk)
{
	unsigned long newbrk, oldbrk, origbrk, min_brk;
	struct shadow_vma *brkvma, *next;
	bool populate;
	int removed;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;

	origbrk = mm->brk;
	min_brk = mm->start_brk;
	if (brk < min_brk)
		goto out;

	/*
	 * Check against rlimit here, before the break is rounded up, so
	 * that a limit that is not page aligned holds; the data segment
	 * counts too.
	 */
	if (shadow_check_data_rlimit(shadow_rlimit_data(), brk, mm->start_brk,
				     mm->end_data, mm->start_data))
		goto out;

	newbrk = PAGE_ALIGN(brk);
	oldbrk = PAGE_ALIGN(mm->brk);
	if (oldbrk == newbrk) {
		mm->brk = brk;
		goto success;
	}

	/* Always allow shrinking brk. */
	if (brk <= mm->brk) {
		/* Search one past newbrk */
		mas_set(&mas, newbrk);
		brkvma = mas_find(&mas, oldbrk);
		if (!brkvma || brkvma->vm_start >= oldbrk)
			goto out; /* mapping intersects with an existing non-brk vma. */
		mm->brk = brk;
		if (!shadow_do_align_munmap(mm, brkvma, newbrk, oldbrk,
					    &removed))
			goto success;
		mm->brk = origbrk;
		goto out;
	}

	if (shadow_check_brk_limits(mm, oldbrk, newbrk - oldbrk))
		goto out;

	/*
	 * Only check if the next VMA is within the stack_guard_gap of the
	 * expansion area
	 */
	mas_set(&mas, oldbrk);
	next = mas_find(&mas, newbrk - 1 + PAGE_SIZE + SHADOW_STACK_GUARD_GAP);
	if (next && newbrk + PAGE_SIZE > shadow_vm_start_gap(next))
		goto out;

	brkvma = mas_prev(&mas, mm->start_brk);
	/* Ok, looks good - let it rip. */
	if (shadow_do_brk_flags(mm, brkvma, oldbrk, newbrk - oldbrk, 0) < 0)
		goto out;

	mm->brk = brk;

success:
	populate = newbrk > oldbrk && (mm->def_flags & VM_LOCKED);
	trace_shadow_mm_brk(mm, brk, origbrk, brk);
	shadow_mmap_write_unlock(mm);
	if (populate)
		shadow_mm_populate(mm, oldbrk, newbrk - oldbrk);
	return brk;

out:
	trace_shadow_mm_brk(mm, brk, origbrk, origbrk);
	shadow_mmap_write_unlock(mm);
	return origbrk;
}

/**
 * shadow_set_start_brk() - SHADOW_BRK_SET_START: prctl(PR_SET_MM_START_BRK)
 * for an empty heap, with the break moved along, so that the heap can be
 * placed anywhere
 * @mm: the address space
 * @start: the new start of the heap, page aligned
 *
 * Return: 0, -EINVAL (a bad @start, or a heap that is not empty), or
 * -EINTR.
 */
int shadow_set_start_brk(struct shadow_mm *mm, unsigned long start)
{
	int ret = 0;

	if (offset_in_page(start) || start < mm->mmap_min_addr ||
	    start >= mm->task_size)
		return -EINVAL;
	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	if (mm->brk != mm->start_brk)
		ret = -EINVAL;
	else
		mm->start_brk = start;
	mm->brk = mm->start_brk;
	shadow_mmap_write_unlock(mm);
	return ret;
}

/*
 * A new VMA at [@addr, @addr + @len) that exec makes outside mmap: the
 * checks of a fixed mapping (get_unmapped_area with MAP_FIXED: -ENOMEM,
 * -EINVAL, -EPERM), then insert_vm_struct()'s: nothing mapped there
 * (-ENOMEM). No max_map_count check, as insert_vm_struct(). The VMA is in
 * the tree and accounted; mmap_lock held for writing.
 */
static int shadow_insert_vm_struct(struct shadow_mm *mm, unsigned long addr,
				   unsigned long len, unsigned long vm_flags,
				   unsigned long pgoff, unsigned int special)
{
	struct shadow_vma *vma;
	unsigned long ret;

	ret = shadow_get_unmapped_area(mm, NULL, addr, len, 0, MAP_FIXED);
	if (IS_ERR_VALUE(ret))
		return ret;
	if (shadow_find_vma_intersection(mm, addr, addr + len))
		return -ENOMEM;

	vma = shadow_vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = vm_flags;
	vma->vm_page_prot = shadow_vm_get_page_prot(vm_flags);
	vma->vm_pgoff = pgoff;
	vma->vm_special = special;
	if (shadow_vma_store(mm, vma)) {
		shadow_vm_area_free(vma);
		return -ENOMEM;
	}
	mm->map_count++;
	shadow_vm_stat_account(mm, vm_flags, len >> PAGE_SHIFT);
	return 0;
}

/**
 * shadow_install_special_mapping() - _install_special_mapping(): a
 * mapping of the kernel's own pages, the vDSO's text or data
 * @mm: the address space
 * @addr: its fixed, page-aligned address
 * @len: its page-aligned length
 * @vm_flags: the caller's VM_* flags (map_vdso()'s)
 * @special: enum shadow_special_mapping, its vm_special_mapping
 *
 * The VMA gets VM_DONTEXPAND and VM_SOFTDIRTY, and def_flags but
 * VM_LOCKED: never merged (VM_SPECIAL), never split
 * (special_mapping_split()), never grown; no page is ever mapped in it.
 *
 * Return: 0, -ENOMEM (overlap, no memory, beyond the address space),
 * -EINVAL, -EPERM (below mmap_min_addr) or -EINTR.
 */
int shadow_install_special_mapping(struct shadow_mm *mm, unsigned long addr,
				   unsigned long len, unsigned long vm_flags,
				   unsigned int special)
{
	int ret;

	vm_flags |= mm->def_flags | VM_DONTEXPAND | VM_SOFTDIRTY;
	vm_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	ret = shadow_insert_vm_struct(mm, addr, len, vm_flags, 0, special);
	shadow_mmap_write_unlock(mm);
	return ret;
}

/**
 * shadow_setup_arg_pages() - the stack exec leaves (__bprm_mm_init and
 * setup_arg_pages), at a fixed place
 * @mm: the address space
 * @addr: the stack VMA's fixed, page-aligned start
 * @len: its page-aligned length
 * @exec: an executable stack (EXSTACK_ENABLE_X)
 * @start_stack: the new mm->start_stack, within [@addr, @addr + @len]
 *
 * VM_STACK_FLAGS, with VM_EXEC for @exec or READ_IMPLIES_EXEC, and no
 * VM_SOFTDIRTY: setup_arg_pages()'s mprotect_fixup() replaces the flags
 * the VMA was made with. A new program's def_flags are 0. The VMA is
 * private anonymous memory that grows down.
 *
 * Return: 0, -ENOMEM, -EINVAL, -EPERM as shadow_install_special_mapping(),
 * or -EINTR.
 */
int shadow_setup_arg_pages(struct shadow_mm *mm, unsigned long addr,
			   unsigned long len, bool exec,
			   unsigned long start_stack)
{
	unsigned long vm_flags = VM_GROWSDOWN | VM_READ | VM_WRITE |
				 VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC |
				 VM_ACCOUNT;
	int ret;

	if (exec || shadow_read_implies_exec())
		vm_flags |= VM_EXEC;
	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	ret = shadow_insert_vm_struct(mm, addr, len, vm_flags,
				      addr >> PAGE_SHIFT, SHADOW_SPECIAL_NONE);
	if (!ret)
		mm->start_stack = start_stack;
	shadow_mmap_write_unlock(mm);
	return ret;
}

/*
 * May a stack grow by @grow pages to @size bytes (acct_stack_growth)?
 * The address space, RLIMIT_STACK and, for a locked stack, RLIMIT_MEMLOCK
 * limits; no overcommit check (the engine commits nothing up front).
 */
static int shadow_acct_stack_growth(struct shadow_mm *mm,
				    struct shadow_vma *vma,
				    unsigned long size, unsigned long grow)
{
	/* address space limit tests */
	if (!shadow_may_expand_vm(mm, vma->vm_flags, grow))
		return -ENOMEM;

	/* Stack limit test */
	if (size > shadow_rlimit_stack())
		return -ENOMEM;

	/* mlock limit tests */
	if (!shadow_mlock_future_ok(mm, vma->vm_flags, grow << PAGE_SHIFT))
		return -ENOMEM;
	return 0;
}

/**
 * shadow_expand_downwards() - grow a VM_GROWSDOWN VMA down to @address
 * @mm: the address space, mmap_lock held for writing
 * @vma: the VMA; @address lies below it
 * @address: the address that must become part of it
 *
 * expand_downwards() of Linux 6.1 (with the write lock its stable
 * releases take for it): the guard gap against an accessible VMA below
 * that does not grow down, mmap_min_addr, and acct_stack_growth()'s
 * limits. The anon_vma is prepared first, so the pages the growth is for
 * can be faulted at once.
 *
 * Return: 0, -EFAULT (not a stack), -EPERM (below mmap_min_addr) or
 * -ENOMEM (gap, limits, or memory).
 */
shadow_flow int shadow_expand_downwards(struct shadow_mm *mm,
					struct shadow_vma *vma,
					unsigned long address)
{
	struct shadow_vma *prev;
	unsigned long size, grow;
	int error;

	shadow_mmap_assert_write_locked(mm);
	if (!(vma->vm_flags & VM_GROWSDOWN))
		return -EFAULT;

	address &= PAGE_MASK;
	if (address < mm->mmap_min_addr)
		return -EPERM;

	/* Enforce stack_guard_gap */
	prev = shadow_vma_prev(mm, vma);
	/* Check that both stack segments have the same anon_vma? */
	if (prev && !(prev->vm_flags & VM_GROWSDOWN) &&
	    (prev->vm_flags & (VM_READ | VM_WRITE | VM_EXEC)) &&
	    address - prev->vm_end < SHADOW_STACK_GUARD_GAP)
		return -ENOMEM;

	/* We must make sure the anon_vma is allocated. */
	if (shadow_anon_vma_prepare(mm, vma))
		return -ENOMEM;

	if (address >= vma->vm_start)
		return 0;

	size = vma->vm_end - address;
	grow = (vma->vm_start - address) >> PAGE_SHIFT;
	if (grow > vma->vm_pgoff)
		return -ENOMEM;
	error = shadow_acct_stack_growth(mm, vma, size, grow);
	if (error)
		return error;
	/* Overwrite old entry in mtree. */
	if (shadow_vma_expand(mm, vma, address, vma->vm_end,
			      vma->vm_pgoff - grow, NULL))
		return -ENOMEM;
	if (vma->vm_flags & VM_LOCKED)
		mm->locked_vm += grow;
	shadow_vm_stat_account(mm, vma->vm_flags, grow);
	return 0;
}

/**
 * shadow_expand_stack_locked() - grow a stack to cover @address
 * @mm: the address space, mmap_lock held for writing
 * @vma: the first VMA above @address
 * @address: the faulting address
 *
 * Return: 0, -EINVAL when @vma does not grow down, or as
 * shadow_expand_downwards().
 */
int shadow_expand_stack_locked(struct shadow_mm *mm, struct shadow_vma *vma,
			       unsigned long address)
{
	shadow_mmap_assert_write_locked(mm);
	if (!(vma->vm_flags & VM_GROWSDOWN))
		return -EINVAL;
	return shadow_expand_downwards(mm, vma, address);
}

/**
 * shadow_expand_stack() - expand_stack() for access_process_vm
 * @mm: the address space, mmap_lock held for reading
 * @addr: the address to cover
 *
 * Drop mmap_lock, grow the stack above @addr under the write lock,
 * downgrade.
 *
 * Return: the VMA now containing @addr with mmap_lock held for reading,
 * or NULL with mmap_lock dropped.
 */
struct shadow_vma *shadow_expand_stack(struct shadow_mm *mm,
				       unsigned long addr)
{
	struct shadow_vma *vma, *prev;

	shadow_mmap_assert_locked(mm);
	shadow_mmap_read_unlock(mm);
	if (shadow_mmap_write_lock_killable(mm))
		return NULL;

	vma = shadow_find_vma_prev(mm, addr, &prev);
	if (vma && vma->vm_start <= addr)
		goto success;
	/* x86-64 has no VM_GROWSUP: prev never grows up to @addr. */
	if (vma && !shadow_expand_downwards(mm, vma, addr))
		goto success;

	shadow_mmap_write_unlock(mm);
	return NULL;

success:
	shadow_mmap_write_downgrade(mm);
	return vma;
}

/**
 * shadow_copy_vma() - the VMA an mremap move goes to (copy_vma)
 * @vmap: the VMA being moved; updated when the destination merged with it
 * @addr: the destination, free
 * @len: its length
 * @pgoff: the pgoff the moved range has
 * @keep_source: MREMAP_DONTUNMAP: the source stays, so it must not merge
 *               with the destination
 *
 * The destination merges with its neighbours when it can (vma_merge);
 * otherwise it is a copy of the source, sharing its anon_vma and shared
 * backing. A source that never had a page faulted in takes a pgoff that
 * matches the destination, to merge there more easily.
 *
 * Return: the VMA covering the destination, or NULL.
 */
shadow_flow struct shadow_vma *shadow_copy_vma(struct shadow_vma **vmap,
					       unsigned long addr,
					       unsigned long len,
					       unsigned long pgoff,
					       bool keep_source)
{
	struct shadow_vma *vma = *vmap, *new_vma, *prev;
	struct shadow_mm *mm = vma->vm_mm;
	unsigned long vma_start = vma->vm_start;
	bool faulted_in_anon_vma = true;
	bool can_self_merge = false;

	shadow_mmap_assert_write_locked(mm);
	/*
	 * If anonymous vma has not yet been faulted, update new pgoff
	 * to match new location, to increase its chance of merging.
	 */
	if (!vma->vm_mapping && !vma->anon_vma) {
		pgoff = addr >> PAGE_SHIFT;
		faulted_in_anon_vma = false;
		can_self_merge = true;
	}

	new_vma = shadow_find_vma_prev(mm, addr, &prev);
	if (shadow_warn_on(new_vma && new_vma->vm_start < addr + len))
		return NULL;	/* should never get here */

	/*
	 * If the original VMA is kept (MREMAP_DONTUNMAP), the source and
	 * destination VMA must be treated distinctly: no self-merge, which
	 * can only happen next to the source
	 * (SHADOW_RULE_DONTUNMAP_NO_SELF_MERGE: 6.1 only).
	 */
	if (SHADOW_RULE_DONTUNMAP_NO_SELF_MERGE &&
	    can_self_merge && keep_source &&
	    (addr == vma->vm_end || vma->vm_start == addr + len))
		new_vma = NULL;
	else
		new_vma = shadow_vma_merge(mm, prev, addr, addr + len,
					   vma->vm_flags, vma->anon_vma,
					   vma->vm_mapping, pgoff);
	if (new_vma) {
		/* Source vma may have been merged into new_vma */
		if (vma_start >= new_vma->vm_start &&
		    vma_start < new_vma->vm_end) {
			/*
			 * Only a VMA never faulted in, whose pgoff was reset
			 * to the destination, can merge with itself.
			 */
			shadow_warn_on(faulted_in_anon_vma);
			*vmap = new_vma;
		}
		return new_vma;
	}

	new_vma = shadow_vm_area_dup(vma);
	if (!new_vma)
		return NULL;
	new_vma->vm_start = addr;
	new_vma->vm_end = addr + len;
	new_vma->vm_pgoff = pgoff;
	if (shadow_vma_store(mm, new_vma)) {
		shadow_remove_vma(new_vma);
		return NULL;
	}
	mm->map_count++;
	return new_vma;
}
