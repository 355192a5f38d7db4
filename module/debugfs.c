// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/shadow_mm/: the engine seen from outside, for whoever
 * can read debugfs (root).
 *
 *   counters     module-wide counts of address spaces, VMAs, pages,
 *                shared backings, anon_vmas, swap slots and swap store
 *                pages, for leak checks: read after every teardown queued
 *                so far has run, so a count read after the last close is
 *                final
 *   swap         the shadow swap device: its size, the slots used, and
 *                the pages read from and written to it since load
 *   odf          on-demand fork: PTE tables shared now, and the shares
 *                broken since load by a copy or a takeover
 *   mmlist       one line per live address space: owner and counters
 *   mm<id>/      one directory per address space, from the moment its
 *                create or fork succeeds to its last user's exit:
 *     maps       the SHADOW_MM_GET_MAPS text (/proc/<pid>/maps)
 *     smaps      /proc/<pid>/smaps
 *     pagetables its page-table tree, after /sys/kernel/debug/page_tables/
 *
 * A reader of an address space's files holds a user reference on it for
 * the read, as /proc/<pid>/maps does (mmget_not_zero); an address space
 * whose last user is gone reads as empty. The directory is removed by the
 * last shadow_mmput() before the address space is torn down, and removal
 * waits for reads in progress: the address space a file names is there for
 * as long as the file can be read. A reader drops its reference with
 * shadow_mmput_async(), since the teardown it may start would wait for
 * its own read. Nothing shown is a kernel address.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "internal.h"

static struct dentry *shadow_debugfs_root;

static int shadow_counters_show(struct seq_file *m, void *v)
{
	/*
	 * A teardown a reader or a reclaim walk deferred (shadow_mmput_async())
	 * still counts until its worker runs. This file is no address space's,
	 * so no queued teardown waits for this read.
	 */
	shadow_mmput_async_flush();
	seq_printf(m, "mms %ld\n", atomic_long_read(&shadow_counters.mms));
	seq_printf(m, "vmas %ld\n", atomic_long_read(&shadow_counters.vmas));
	seq_printf(m, "pages %ld\n", atomic_long_read(&shadow_counters.pages));
	seq_printf(m, "shmem %ld\n", atomic_long_read(&shadow_counters.shmem));
	seq_printf(m, "anon_vmas %ld\n",
		   atomic_long_read(&shadow_counters.anon_vmas));
	seq_printf(m, "swap_slots %ld\n",
		   atomic_long_read(&shadow_counters.swap_slots));
	seq_printf(m, "swap_pages %ld\n",
		   atomic_long_read(&shadow_counters.swap_pages));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shadow_counters);

/*
 * filemap: file mappings: the file objects alive (one per struct file
 * mapped), the page-cache pages the engine holds, and the faults that
 * mapped or copied a page-cache page since the module was loaded.
 */
static int shadow_filemap_show(struct seq_file *m, void *v)
{
	seq_printf(m, "files %ld\n", atomic_long_read(&shadow_counters.files));
	seq_printf(m, "file_pages %ld\n",
		   atomic_long_read(&shadow_counters.file_pages));
	seq_printf(m, "file_faults %ld\n",
		   atomic_long_read(&shadow_counters.file_faults));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shadow_filemap);

/*
 * odf: on-demand fork's PTE tables shared between address spaces now,
 * and the shares broken since the module was loaded, by a copy (breaks)
 * or by taking the table over when no one else mapped it (takeovers).
 */
static int shadow_odf_show(struct seq_file *m, void *v)
{
	seq_printf(m, "shared %ld\n",
		   atomic_long_read(&shadow_counters.pt_shared));
	seq_printf(m, "breaks %ld\n",
		   atomic_long_read(&shadow_counters.pt_breaks));
	seq_printf(m, "takeovers %ld\n",
		   atomic_long_read(&shadow_counters.pt_takeovers));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shadow_odf);

/*
 * thp: the transparent huge pages alive (thp), then the events since the
 * module was loaded, one "name value" line each, named as in /proc/vmstat.
 */
static int shadow_thp_show(struct seq_file *m, void *v)
{
	static const struct {
		const char *name;
		atomic_long_t *counter;
	} lines[] = {
		{ "thp", &shadow_counters.thp },
		{ "thp_fault_alloc", &shadow_counters.thp_fault_alloc },
		{ "thp_fault_fallback", &shadow_counters.thp_fault_fallback },
		{ "thp_fault_fallback_charge",
		  &shadow_counters.thp_fault_fallback_charge },
		{ "thp_split_pmd", &shadow_counters.thp_split_pmd },
		{ "thp_split_page", &shadow_counters.thp_split_page },
		{ "thp_split_page_failed",
		  &shadow_counters.thp_split_page_failed },
		{ "thp_deferred_split_page",
		  &shadow_counters.thp_deferred_split_page },
		{ "thp_zero_page_alloc", &shadow_counters.thp_zero_page_alloc },
		{ "thp_zero_page_alloc_failed",
		  &shadow_counters.thp_zero_page_alloc_failed },
		{ "thp_swpout_fallback", &shadow_counters.thp_swpout_fallback },
	};
	int i;

	/* A teardown shadow_mmput_async() queued still holds its THPs. */
	shadow_mmput_async_flush();
	for (i = 0; i < ARRAY_SIZE(lines); i++)
		seq_printf(m, "%s %ld\n", lines[i].name,
			   atomic_long_read(lines[i].counter));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shadow_thp);

/*
 * swap: the shadow swap device (/proc/swaps and the pswpin/pswpout lines
 * of /proc/vmstat): its size and the slots in use, in pages, and the
 * pages read from and written to it since the module was loaded; and the
 * MADV_FREE pages reclaim discarded instead (pglazyfreed).
 */
static int shadow_swap_show(struct seq_file *m, void *v)
{
	seq_printf(m, "size %lu\n", READ_ONCE(shadow_swap_slots));
	seq_printf(m, "used %ld\n",
		   atomic_long_read(&shadow_counters.swap_slots));
	seq_printf(m, "pswpin %ld\n",
		   atomic_long_read(&shadow_counters.swapins));
	seq_printf(m, "pswpout %ld\n",
		   atomic_long_read(&shadow_counters.swapouts));
	seq_printf(m, "pglazyfreed %ld\n",
		   atomic_long_read(&shadow_counters.lazyfreed));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shadow_swap);

/* The columns of mmlist: the owner, then SHADOW_MM_GET_STATS's counters. */
static const char * const shadow_mmlist_columns[] = {
	"id", "pid", "uid", "mm_users", "mm_count", "map_count", "total_vm",
	"locked_vm", "rss_anon", "rss_shmem", "nr_ptes", "nr_pmds", "nr_puds",
	"min_flt", "maj_flt", "cow_copies", "cow_reuses", "swapents",
	"swapins", "swapouts",
};

#define SHADOW_MMLIST_WIDTH	8

static int shadow_mmlist_width(int col)
{
	return max_t(int, strlen(shadow_mmlist_columns[col]),
		     SHADOW_MMLIST_WIDTH);
}

static void shadow_mmlist_line(struct seq_file *m, struct shadow_mm *mm,
			       const struct shadow_mm_stats *st)
{
	const u64 val[] = {
		st->out_id, mm->owner_pid, mm->owner_uid, st->out_mm_users,
		st->out_mm_count, st->out_map_count, st->out_total_vm,
		st->out_locked_vm, st->out_rss_anon, st->out_rss_shmem,
		st->out_nr_ptes, st->out_nr_pmds, st->out_nr_puds,
		st->out_min_flt, st->out_maj_flt, st->out_cow_copies,
		st->out_cow_reuses, st->out_swapents, st->out_swapins,
		st->out_swapouts,
	};
	int i;

	BUILD_BUG_ON(ARRAY_SIZE(val) != ARRAY_SIZE(shadow_mmlist_columns));
	for (i = 0; i < ARRAY_SIZE(val); i++)
		seq_printf(m, "%s%*llu", i ? " " : "", shadow_mmlist_width(i),
			   val[i]);
	seq_putc(m, '\n');
}

/*
 * mmlist: a header, then each address space that has users, in creation
 * order. mm_users leaves out the reference the reader holds; pages are
 * counted in pages, as SHADOW_MM_GET_STATS counts them.
 */
static int shadow_mmlist_show(struct seq_file *m, void *v)
{
	struct shadow_mm_stats st;
	struct shadow_mm *mm = NULL;
	int i;

	for (i = 0; i < ARRAY_SIZE(shadow_mmlist_columns); i++)
		seq_printf(m, "%s%*s", i ? " " : "", shadow_mmlist_width(i),
			   shadow_mmlist_columns[i]);
	seq_putc(m, '\n');

	while ((mm = shadow_mmlist_next(mm))) {
		if (shadow_mmap_read_lock_killable(mm)) {
			shadow_mmput_async(mm);
			return -EINTR;
		}
		shadow_get_stats(mm, &st);
		shadow_mmap_read_unlock(mm);
		shadow_mmlist_line(m, mm, &st);
		cond_resched();
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shadow_mmlist);

/* Run @show on the file's address space under a user reference. */
static int shadow_mm_file_show(struct seq_file *m,
			       int (*show)(struct seq_file *m,
					   struct shadow_mm *mm))
{
	struct shadow_mm *mm = m->private;
	int ret;

	/* Its last user is gone: nothing to show (m_start of /proc maps). */
	if (!shadow_mmget_not_zero(mm))
		return 0;
	ret = show(m, mm);
	shadow_mmput_async(mm);
	return ret;
}

static int shadow_maps_show_mm(struct seq_file *m, struct shadow_mm *mm)
{
	size_t len;
	char *buf;
	int ret;

	ret = shadow_show_maps(mm, U64_MAX, &buf, &len);
	if (ret)
		return ret;
	seq_write(m, buf, len);
	kvfree(buf);
	return 0;
}

static int shadow_maps_show(struct seq_file *m, void *v)
{
	return shadow_mm_file_show(m, shadow_maps_show_mm);
}
DEFINE_SHOW_ATTRIBUTE(shadow_maps);

static int shadow_smaps_show(struct seq_file *m, void *v)
{
	return shadow_mm_file_show(m, shadow_show_smaps);
}
DEFINE_SHOW_ATTRIBUTE(shadow_smaps);

static int shadow_pagetables_show(struct seq_file *m, void *v)
{
	return shadow_mm_file_show(m, shadow_ptdump_show);
}
DEFINE_SHOW_ATTRIBUTE(shadow_pagetables);

/**
 * shadow_debugfs_mm_add() - publish an address space's directory
 * @mm: the address space, complete (created, or forked with success); the
 *      caller holds a user reference
 *
 * debugfs is best effort: without the directory the address space works
 * the same.
 */
void shadow_debugfs_mm_add(struct shadow_mm *mm)
{
	struct dentry *dir;
	char name[16];

	snprintf(name, sizeof(name), "mm%u", mm->id);
	dir = debugfs_create_dir(name, shadow_debugfs_root);
	debugfs_create_file("maps", 0400, dir, mm, &shadow_maps_fops);
	debugfs_create_file("smaps", 0400, dir, mm, &shadow_smaps_fops);
	debugfs_create_file("pagetables", 0400, dir, mm,
			    &shadow_pagetables_fops);
	mm->debugfs_dir = dir;
}

/**
 * shadow_debugfs_mm_remove() - remove an address space's directory
 * @mm: the address space, whose last user is gone
 *
 * Waits for the reads in progress in it; no read starts after.
 */
void shadow_debugfs_mm_remove(struct shadow_mm *mm)
{
	debugfs_remove(mm->debugfs_dir);
	mm->debugfs_dir = NULL;
}

/**
 * shadow_debugfs_init() - create /sys/kernel/debug/shadow_mm/
 */
void shadow_debugfs_init(void)
{
	shadow_debugfs_root = debugfs_create_dir("shadow_mm", NULL);
	debugfs_create_file("counters", 0400, shadow_debugfs_root, NULL,
			    &shadow_counters_fops);
	debugfs_create_file("mmlist", 0400, shadow_debugfs_root, NULL,
			    &shadow_mmlist_fops);
	debugfs_create_file("swap", 0400, shadow_debugfs_root, NULL,
			    &shadow_swap_fops);
	debugfs_create_file("filemap", 0400, shadow_debugfs_root, NULL,
			    &shadow_filemap_fops);
	debugfs_create_file("odf", 0400, shadow_debugfs_root, NULL,
			    &shadow_odf_fops);
	debugfs_create_file("thp", 0400, shadow_debugfs_root, NULL,
			    &shadow_thp_fops);
}

/**
 * shadow_debugfs_exit() - remove it; no address space is left
 */
void shadow_debugfs_exit(void)
{
	debugfs_remove(shadow_debugfs_root);
}
