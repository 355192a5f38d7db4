// SPDX-License-Identifier: GPL-2.0
/*
 * mlock(), munlock(), mlockall() and munlockall() of shadow address
 * spaces, after Linux 6.1's mm/mlock.c: do_mlock -> apply_vma_lock_flags
 * -> mlock_fixup (vma_merge, or split_vma at either end) under mmap_lock
 * for writing, then __mm_populate under mmap_lock for reading.
 *
 * The limits are the calling task's: RLIMIT_MEMLOCK unless it has
 * CAP_IPC_LOCK. A shadow page has no LRU to leave: locking it is the
 * VMA flag, the locked_vm count and, unless VM_LOCKONFAULT, being made
 * present.
 */
#include "internal.h"

/*
 * Give [start, end) of @vma the lock flags @newflags, splitting or
 * merging (mlock_fixup), and account locked_vm. *@prev becomes the VMA
 * covering the range.
 */
static shadow_flow int shadow_mlock_fixup(struct shadow_mm *mm,
					  struct shadow_vma *vma,
					  struct shadow_vma **prev,
					  unsigned long start,
					  unsigned long end,
					  unsigned long newflags)
{
	unsigned long oldflags = vma->vm_flags;
	unsigned long pgoff;
	long nr_pages;
	int ret = 0;

	/*
	 * don't set VM_LOCKED or VM_LOCKONFAULT and don't count; nor on
	 * droppable memory (6.11's vma_supports_mlock())
	 */
	if (newflags == oldflags || (oldflags & (VM_SPECIAL | VM_DROPPABLE)))
		goto out;

	pgoff = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT);
	*prev = shadow_vma_merge(mm, *prev, start, end, newflags,
				 vma->anon_vma, vma->vm_mapping, pgoff);
	if (*prev) {
		vma = *prev;
		goto success;
	}

	if (start != vma->vm_start) {
		ret = shadow_split_vma(mm, vma, start, 1);
		if (ret)
			goto out;
	}

	if (end != vma->vm_end) {
		ret = shadow_split_vma(mm, vma, end, 0);
		if (ret)
			goto out;
	}

success:
	/* Keep track of amount of locked VM. */
	nr_pages = (end - start) >> PAGE_SHIFT;
	if (!(newflags & VM_LOCKED))
		nr_pages = -nr_pages;
	else if (oldflags & VM_LOCKED)
		nr_pages = 0;
	mm->locked_vm += nr_pages;

	/*
	 * vm_flags is protected by the mmap_lock held in write mode; the
	 * pages need no mlock_vma_pages_range(): populate makes them present.
	 */
	vma->vm_flags = newflags;
out:
	*prev = vma;
	return ret;
}

/*
 * Apply @flags (VM_LOCKED, VM_LOCKONFAULT or neither) to every VMA of
 * [start, start + len), which must be mapped without a hole
 * (apply_vma_lock_flags).
 */
static shadow_flow int shadow_apply_vma_lock_flags(struct shadow_mm *mm,
						   unsigned long start,
						   size_t len,
						   unsigned long flags)
{
	unsigned long nstart, end, tmp;
	struct shadow_vma *vma, *prev;
	int error;

	shadow_mmap_assert_write_locked(mm);
	shadow_warn_on(offset_in_page(start) || offset_in_page(len));
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	vma = shadow_find_vma(mm, start);
	if (!vma || vma->vm_start > start)
		return -ENOMEM;

	if (start > vma->vm_start)
		prev = vma;
	else
		prev = shadow_vma_prev(mm, vma);

	for (nstart = start ; ; ) {
		unsigned long newflags = vma->vm_flags & ~VM_LOCKED_MASK;

		newflags |= flags;

		/* Here we know that  vma->vm_start <= nstart < vma->vm_end. */
		tmp = vma->vm_end;
		if (tmp > end)
			tmp = end;
		error = shadow_mlock_fixup(mm, vma, &prev, nstart, tmp,
					   newflags);
		if (error)
			break;
		nstart = tmp;
		if (nstart < prev->vm_end)
			nstart = prev->vm_end;
		if (nstart >= end)
			break;

		vma = shadow_find_vma(mm, prev->vm_end);
		if (!vma || vma->vm_start != nstart) {
			error = -ENOMEM;
			break;
		}
		cond_resched();
	}
	return error;
}

/*
 * The pages of [start, start + len) already in VM_LOCKED VMAs, which a
 * new mlock does not count twice (count_mm_mlocked_page_nr).
 */
static unsigned long shadow_count_mm_mlocked_page_nr(struct shadow_mm *mm,
						     unsigned long start,
						     size_t len)
{
	unsigned long count = 0, end;
	struct shadow_vma *vma;

	MA_STATE(mas, &mm->mm_mt, start, start);

	/* Don't overflow past ULONG_MAX */
	if (unlikely(ULONG_MAX - len < start))
		end = ULONG_MAX;
	else
		end = start + len;

	mas_for_each(&mas, vma, end - 1) {
		if (vma->vm_flags & VM_LOCKED) {
			if (start > vma->vm_start)
				count -= (start - vma->vm_start);
			if (end < vma->vm_end) {
				count += end - vma->vm_start;
				break;
			}
			count += vma->vm_end - vma->vm_start;
		}
	}
	return count >> PAGE_SHIFT;
}

/* The errors of get_user_pages as mlock(2) gives them. */
static int __shadow_mlock_posix_error_return(long retval)
{
	if (retval == -EFAULT)
		retval = -ENOMEM;
	else if (retval == -ENOMEM)
		retval = -EAGAIN;
	return retval;
}

/**
 * shadow_do_mlock() - mlock2(2) of a shadow address space (do_mlock)
 * @mm: the address space
 * @start: start, rounded down to a page
 * @len: length, the range rounded out to pages
 * @flags: VM_LOCKED, with VM_LOCKONFAULT for MLOCK_ONFAULT
 *
 * Return: 0; -EPERM (RLIMIT_MEMLOCK 0 without CAP_IPC_LOCK); -ENOMEM (a
 * hole, the map count, a split, the rlimit, a page the populate may not
 * touch); -EAGAIN (no memory to populate); -EINVAL; -EINTR.
 */
shadow_flow int shadow_do_mlock(struct shadow_mm *mm, unsigned long start,
				size_t len, unsigned long flags)
{
	unsigned long locked, lock_limit;
	int error = -ENOMEM;

	if (!shadow_can_do_mlock())
		return -EPERM;

	len = PAGE_ALIGN(len + (offset_in_page(start)));
	start &= PAGE_MASK;

	lock_limit = rlimit(RLIMIT_MEMLOCK);
	lock_limit >>= PAGE_SHIFT;
	locked = len >> PAGE_SHIFT;

	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;

	locked += mm->locked_vm;
	if (locked > lock_limit && !capable(CAP_IPC_LOCK)) {
		/*
		 * It is possible that the regions requested intersect with
		 * previously mlocked areas, that part area in "mm->locked_vm"
		 * should not be counted to new mlock increment count. So check
		 * and adjust locked count if necessary.
		 */
		locked -= shadow_count_mm_mlocked_page_nr(mm, start, len);
	}

	/* check against resource limits */
	if (locked <= lock_limit || capable(CAP_IPC_LOCK))
		error = shadow_apply_vma_lock_flags(mm, start, len, flags);

	shadow_mmap_write_unlock(mm);
	if (error)
		return error;

	error = __shadow_mm_populate(mm, start, len, false);
	if (error)
		return __shadow_mlock_posix_error_return(error);
	return 0;
}

/**
 * shadow_do_munlock() - munlock(2) of a shadow address space
 * @mm: the address space
 * @start: start, rounded down to a page
 * @len: length, the range rounded out to pages
 *
 * Return: 0; -ENOMEM (a hole, the map count, a split); -EINVAL; -EINTR.
 */
shadow_flow int shadow_do_munlock(struct shadow_mm *mm, unsigned long start,
				  size_t len)
{
	int ret;

	len = PAGE_ALIGN(len + (offset_in_page(start)));
	start &= PAGE_MASK;

	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	ret = shadow_apply_vma_lock_flags(mm, start, len, 0);
	shadow_mmap_write_unlock(mm);

	return ret;
}

/*
 * Turn MCL_* flags (0 for munlockall) into def_flags and the lock flags
 * of every VMA (apply_mlockall_flags). Errors of single VMAs are ignored,
 * as in Linux. If mlockall() is called multiple times with different
 * flags, the values do not stack: a call without MCL_FUTURE clears it.
 */
static shadow_flow int shadow_apply_mlockall_flags(struct shadow_mm *mm,
						   unsigned int flags)
{
	struct shadow_vma *vma, *prev = NULL;
	unsigned long to_add = 0;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	shadow_mmap_assert_write_locked(mm);
	mm->def_flags &= ~VM_LOCKED_MASK;
	if (flags & MCL_FUTURE) {
		mm->def_flags |= VM_LOCKED;

		if (flags & MCL_ONFAULT)
			mm->def_flags |= VM_LOCKONFAULT;

		if (!(flags & MCL_CURRENT))
			goto out;
	}

	if (flags & MCL_CURRENT) {
		to_add |= VM_LOCKED;
		if (flags & MCL_ONFAULT)
			to_add |= VM_LOCKONFAULT;
	}

	mas_for_each(&mas, vma, ULONG_MAX) {
		unsigned long newflags;

		newflags = vma->vm_flags & ~VM_LOCKED_MASK;
		newflags |= to_add;

		/* Ignore errors */
		shadow_mlock_fixup(mm, vma, &prev, vma->vm_start, vma->vm_end,
				   newflags);
		/* The fixup may have changed the tree: walk it again. */
		mas_pause(&mas);
		cond_resched();
	}
out:
	return 0;
}

/**
 * shadow_do_mlockall() - mlockall(2) of a shadow address space
 * @mm: the address space
 * @flags: MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT
 *
 * Return: 0; -EINVAL (no flag, an unknown one, MCL_ONFAULT alone);
 * -EPERM (RLIMIT_MEMLOCK 0 without CAP_IPC_LOCK); -ENOMEM (MCL_CURRENT
 * with total_vm above RLIMIT_MEMLOCK without CAP_IPC_LOCK); -EINTR.
 */
shadow_flow int shadow_do_mlockall(struct shadow_mm *mm, unsigned int flags)
{
	unsigned long lock_limit;
	int ret;

	if (!flags || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) ||
	    flags == MCL_ONFAULT)
		return -EINVAL;

	if (!shadow_can_do_mlock())
		return -EPERM;

	lock_limit = rlimit(RLIMIT_MEMLOCK);
	lock_limit >>= PAGE_SHIFT;

	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;

	ret = -ENOMEM;
	if (!(flags & MCL_CURRENT) || mm->total_vm <= lock_limit ||
	    capable(CAP_IPC_LOCK))
		ret = shadow_apply_mlockall_flags(mm, flags);
	shadow_mmap_write_unlock(mm);
	if (!ret && (flags & MCL_CURRENT))
		shadow_mm_populate(mm, 0, mm->task_size);

	return ret;
}

/**
 * shadow_do_munlockall() - munlockall(2) of a shadow address space
 * @mm: the address space
 *
 * Return: 0 or -EINTR.
 */
shadow_flow int shadow_do_munlockall(struct shadow_mm *mm)
{
	int ret;

	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	ret = shadow_apply_mlockall_flags(mm, 0);
	shadow_mmap_write_unlock(mm);
	return ret;
}
