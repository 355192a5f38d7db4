// SPDX-License-Identifier: GPL-2.0
/*
 * What a shadow address space looks like from outside, after
 * fs/proc/task_mmu.c: the maps text and the VMA records.
 */
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
	if (vma->vm_shmem) {
		info->backing = SHADOW_VMA_ANON_SHARED;
		info->backing_id = vma->vm_shmem->id;
	} else {
		info->backing = SHADOW_VMA_ANON_PRIVATE;
	}
}

/*
 * One line of maps (show_map_vma); returns its length. Private anonymous
 * memory touching the heap's range is named [heap].
 */
static int shadow_show_map_vma(struct shadow_vma *vma, char *line, int size)
{
	struct shadow_mm *mm = vma->vm_mm;
	unsigned long flags = vma->vm_flags;
	unsigned long long pgoff = 0;
	const char *name = NULL;
	unsigned long ino = 0;
	int dev_minor = 0;
	int n;

	/* A shared anonymous mapping is a deleted /dev/zero on shmem. */
	if (vma->vm_shmem) {
		pgoff = (unsigned long long)vma->vm_pgoff << PAGE_SHIFT;
		dev_minor = 1;
		ino = vma->vm_shmem->id;
	}
	n = scnprintf(line, size, "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ",
		      vma->vm_start, vma->vm_end,
		      flags & VM_READ ? 'r' : '-',
		      flags & VM_WRITE ? 'w' : '-',
		      flags & VM_EXEC ? 'x' : '-',
		      flags & VM_MAYSHARE ? 's' : 'p',
		      pgoff, 0, dev_minor, ino);
	if (vma->vm_shmem)
		name = "/dev/zero (deleted)";
	else if (vma->vm_start <= mm->brk && vma->vm_end >= mm->start_brk)
		name = "[heap]";
	if (name)
		n += scnprintf(line + n, size - n, "%*s%s",
			       (int)max_t(long, SHADOW_MAPS_NAME_COLUMN - n,
					  1), "", name);
	n += scnprintf(line + n, size - n, "\n");
	return n;
}

/* No maps line is longer: the name column plus the longest name. */
#define SHADOW_MAPS_LINE_MAX	160

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
