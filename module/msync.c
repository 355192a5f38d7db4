// SPDX-License-Identifier: GPL-2.0
/*
 * msync of a shadow address space, after mm/msync.c of Linux 6.1.
 *
 * Linux's shared file mappings dirty their pages when they are written
 * (page_mkwrite, or the dirty bit moved at unmap); the engine keeps the
 * dirty bit in its PTEs until they are zapped, so msync moves it to the
 * pages first (the pre-2.6.19 MS_ASYNC did the same), then writes the
 * file's range back for MS_SYNC.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mman.h>

#include "internal.h"
#include "trace.h"

/*
 * The dirty bits of the PTEs of [start, end) of a shared file VMA move to
 * their page-cache pages: the PTEs are cleaned, the pages marked dirty.
 */
static shadow_flow void shadow_msync_dirty_range(struct shadow_mm *mm,
						 struct shadow_vma *vma,
						 unsigned long start,
						 unsigned long end)
{
	unsigned long addr, next;

	shadow_mmap_assert_locked(mm);
	for (addr = start; addr < end; addr = next) {
		bool shared;
		pte_t *pte;

		next = shadow_pmd_addr_end(addr, end);
		spin_lock(&mm->page_table_lock);
		pte = shadow_pte_lookup_locked(mm, addr, &shared);
		/*
		 * A table on-demand fork shares maps private anonymous pages
		 * only: no page-cache page to clean, and nothing to write.
		 */
		if (!pte || shared) {
			spin_unlock(&mm->page_table_lock);
			continue;
		}
		for (; addr < next; addr += PAGE_SIZE, pte++) {
			pte_t ptent = *pte;
			struct page *page;

			if (!pte_present(ptent) || pte_special(ptent) ||
			    !pte_dirty(ptent))
				continue;
			page = pte_page(ptent);
			if (!shadow_page_meta(page)->file)
				continue;
			shadow_set_pte(pte, pte_mkclean(ptent));
			shadow_file_page_mkdirty(page);
		}
		spin_unlock(&mm->page_table_lock);
		cond_resched();
	}
}

/**
 * shadow_do_msync() - msync(2) of a shadow address space
 * @mm: the address space, pinned by the caller
 * @start: page-aligned start
 * @len: length, rounded up to pages
 * @flags: MS_ASYNC, MS_SYNC, MS_INVALIDATE
 *
 * Return: 0, -EINVAL, -ENOMEM (a hole in the range: the rest is still
 * synced), -EBUSY, -EINTR, or vfs_fsync_range()'s error.
 */
shadow_flow int shadow_do_msync(struct shadow_mm *mm, unsigned long start,
				size_t len, int flags)
{
	struct shadow_vma *vma;
	int unmapped_error = 0;
	unsigned long end;
	int error = -EINVAL;

	if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC))
		goto out;
	if (offset_in_page(start))
		goto out;
	if ((flags & MS_ASYNC) && (flags & MS_SYNC))
		goto out;
	error = -ENOMEM;
	len = (len + ~PAGE_MASK) & PAGE_MASK;
	end = start + len;
	if (end < start)
		goto out;
	error = 0;
	if (end == start)
		goto out;
	/*
	 * If the interval [start,end) covers some unmapped address ranges,
	 * just ignore them, but return -ENOMEM at the end. Besides, if the
	 * flag is MS_ASYNC (w/o MS_INVALIDATE) the result would be -ENOMEM
	 * anyway and there is nothing left to do, so return immediately.
	 */
	if (shadow_mmap_read_lock_killable(mm))
		return -EINTR;
	vma = shadow_find_vma(mm, start);
	for (;;) {
		struct file *file;
		loff_t fstart, fend;

		/* Still start < end. */
		error = -ENOMEM;
		if (!vma)
			goto out_unlock;
		/* Here start < vma->vm_end. */
		if (start < vma->vm_start) {
			if (flags == MS_ASYNC)
				goto out_unlock;
			start = vma->vm_start;
			if (start >= end)
				goto out_unlock;
			unmapped_error = -ENOMEM;
		}
		/* Here vma->vm_start <= start < vma->vm_end. */
		if ((flags & MS_INVALIDATE) && (vma->vm_flags & VM_LOCKED)) {
			error = -EBUSY;
			goto out_unlock;
		}
		file = shadow_vma_file(vma);
		fstart = (start - vma->vm_start) +
			 ((loff_t)vma->vm_pgoff << PAGE_SHIFT);
		fend = fstart + (min(end, vma->vm_end) - start) - 1;
		if (file && (vma->vm_flags & VM_SHARED))
			shadow_msync_dirty_range(mm, vma, start,
						 min(end, vma->vm_end));
		start = vma->vm_end;
		if ((flags & MS_SYNC) && file && (vma->vm_flags & VM_SHARED)) {
			get_file(file);
			shadow_mmap_read_unlock(mm);
			error = vfs_fsync_range(file, fstart, fend, 1);
			fput(file);
			if (error || start >= end)
				goto out;
			if (shadow_mmap_read_lock_killable(mm))
				return -EINTR;
			vma = shadow_find_vma(mm, start);
		} else {
			if (start >= end) {
				error = 0;
				goto out_unlock;
			}
			vma = shadow_find_vma(mm, vma->vm_end);
		}
	}
out_unlock:
	shadow_mmap_read_unlock(mm);
out:
	return error ? : unmapped_error;
}
