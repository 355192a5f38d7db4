// SPDX-License-Identifier: GPL-2.0
/*
 * The page-table tree of a shadow address space as text, after
 * arch/x86/mm/dump_pagetables.c (/sys/kernel/debug/page_tables/): runs of
 * consecutive entries at the same level with the same flags make one line,
 * with the x86 flag columns of that file and three more for the bits the
 * engine sets that it does not show (accessed, dirty, and the special bit
 * of the zero page); a run of swap entries shows as "swap" ("swap excl"
 * when exclusive); then the number of table pages at each level. No
 * physical address, page frame number or swap offset is shown.
 */
#include <linux/seq_file.h>

#include "internal.h"

/* The user half of the 4-level tree: TASK_SIZE rounded up to a PGD entry. */
#define SHADOW_PTDUMP_END	(SHADOW_PTRS / 2 * SHADOW_PGDIR_SIZE)

/* The bits a line shows; a change in any other does not break a run. */
#define SHADOW_PTDUMP_FLAGS	(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER |   \
				 _PAGE_PWT | _PAGE_PCD | _PAGE_PSE |	   \
				 _PAGE_GLOBAL | _PAGE_NX | _PAGE_ACCESSED | \
				 _PAGE_DIRTY_BITS | _PAGE_SPECIAL)

static const char * const shadow_level_name[] = {
	[SHADOW_DEPTH_PGD] = "pgd",
	[SHADOW_DEPTH_PUD] = "pud",
	[SHADOW_DEPTH_PMD] = "pmd",
	[SHADOW_DEPTH_PTE] = "pte",
};

/**
 * struct shadow_pg_state - the run being gathered (struct pg_state)
 * @seq: where the lines go
 * @level: the run's level (SHADOW_DEPTH_*), -1 before the first entry
 * @current_prot: the run's flags
 * @start_address: where the run starts
 * @tables: the table pages seen at each level
 */
struct shadow_pg_state {
	struct seq_file *seq;
	int level;
	unsigned long current_prot;
	unsigned long start_address;
	unsigned long tables[ARRAY_SIZE(shadow_level_name)];
};

/*
 * A swap entry's run: not a bit of any present entry's shown flags. The
 * swap PTE's exclusive bit (_PAGE_SWP_EXCLUSIVE) goes with it.
 */
#define SHADOW_PTDUMP_SWAP	BIT_ULL(62)

/* printk_prot(): the flag columns, then the level. */
static void shadow_printk_prot(struct seq_file *m, unsigned long pr, int level)
{
	if (pr & SHADOW_PTDUMP_SWAP) {
		/* Not present: a swap entry, exclusive or not. */
		seq_printf(m, "%-42s", pr & _PAGE_SWP_EXCLUSIVE ?
			   "swap excl" : "swap");
	} else if (!(pr & _PAGE_PRESENT)) {
		seq_printf(m, "%42s", "");
	} else {
		seq_puts(m, pr & _PAGE_USER ? "USR " : "    ");
		seq_puts(m, pr & _PAGE_RW ? "RW " : "ro ");
		seq_puts(m, pr & _PAGE_PWT ? "PWT " : "    ");
		seq_puts(m, pr & _PAGE_PCD ? "PCD " : "    ");
		/* Bit 7 is PSE above the PTE level, PAT in a PTE. */
		seq_puts(m, level < SHADOW_DEPTH_PTE && pr & _PAGE_PSE ?
			 "PSE " : "    ");
		seq_puts(m, level == SHADOW_DEPTH_PTE && pr & _PAGE_PAT ?
			 "PAT " : "    ");
		seq_puts(m, pr & _PAGE_GLOBAL ? "GLB " : "    ");
		seq_puts(m, pr & _PAGE_NX ? "NX " : "x  ");
		seq_puts(m, pr & _PAGE_ACCESSED ? "ACC " : "    ");
		/*
		 * pte_dirty(): since 6.6 a read-only PTE keeps its dirty
		 * bit in _PAGE_SAVED_DIRTY (compat.h); DRT is either.
		 */
		seq_puts(m, pr & _PAGE_DIRTY_BITS ? "DRT " : "    ");
		seq_puts(m, pr & _PAGE_SPECIAL ? "SPC " : "    ");
	}
	seq_printf(m, "%s\n", shadow_level_name[level]);
}

/* The run ends at @addr: print it. */
static void shadow_note_run(struct shadow_pg_state *st, unsigned long addr)
{
	static const char units[] = "BKMGTPE";
	const char *unit = units;
	unsigned long delta = addr - st->start_address;

	seq_printf(st->seq, "0x%016lx-0x%016lx   ", st->start_address, addr);
	while (!(delta & 1023) && unit[1]) {
		delta >>= 10;
		unit++;
	}
	seq_printf(st->seq, "%9lu%c ", delta, *unit);
	shadow_printk_prot(st->seq, st->current_prot, st->level);
}

/* note_page(): the entry at @addr continues the run or starts a new one. */
static void shadow_note_page(struct shadow_pg_state *st, unsigned long addr,
			     int level, unsigned long val)
{
	unsigned long new_prot = val & (SHADOW_PTDUMP_FLAGS |
					SHADOW_PTDUMP_SWAP);

	if (st->level != -1 && new_prot == st->current_prot &&
	    level == st->level)
		return;
	if (st->level == -1)
		seq_puts(st->seq, "---[ User Space ]---\n");
	else
		shadow_note_run(st, addr);
	st->start_address = addr;
	st->current_prot = new_prot;
	st->level = level;
}

static int shadow_ptdump_pgd_entry(unsigned long pgd, unsigned long addr,
				   unsigned long next,
				   struct shadow_pagewalk *walk)
{
	struct shadow_pg_state *st = walk->private;

	st->tables[SHADOW_DEPTH_PUD]++;
	return 0;
}

static int shadow_ptdump_pud_entry(unsigned long pud, unsigned long addr,
				   unsigned long next,
				   struct shadow_pagewalk *walk)
{
	struct shadow_pg_state *st = walk->private;

	st->tables[SHADOW_DEPTH_PMD]++;
	return 0;
}

static int shadow_ptdump_pmd_entry(unsigned long pmd, unsigned long addr,
				   unsigned long next,
				   struct shadow_pagewalk *walk)
{
	struct shadow_pg_state *st = walk->private;

	st->tables[SHADOW_DEPTH_PTE]++;
	return 0;
}

static int shadow_ptdump_pte_entry(pte_t *pte, unsigned long addr,
				   unsigned long next,
				   struct shadow_pagewalk *walk)
{
	/* A shared table's PTE as it stands for this mm (pgtable.c, rule 5). */
	unsigned long val = pte_val(shadow_pte_view(walk->mm, pte,
						    shadow_pmd_shared(walk->pmd)));

	/* A swap entry shows as one, whatever its offset bits look like. */
	if (is_swap_pte(__pte(val)))
		val = SHADOW_PTDUMP_SWAP | (val & _PAGE_SWP_EXCLUSIVE);
	shadow_note_page(walk->private, addr, SHADOW_DEPTH_PTE, val);
	return 0;
}

/* A 2 MiB leaf shows at the PMD level, with PSE, as the kernel's ptdump. */
static int shadow_ptdump_huge_pmd_entry(unsigned long pmd, unsigned long addr,
					unsigned long next,
					struct shadow_pagewalk *walk)
{
	shadow_note_page(walk->private, addr, SHADOW_DEPTH_PMD, pmd);
	return 0;
}

static int shadow_ptdump_hole(unsigned long addr, unsigned long next,
			      int depth, struct shadow_pagewalk *walk)
{
	shadow_note_page(walk->private, addr, depth, 0);
	return 0;
}

static const struct shadow_pagewalk_ops shadow_ptdump_ops = {
	.pgd_entry = shadow_ptdump_pgd_entry,
	.pud_entry = shadow_ptdump_pud_entry,
	.pmd_entry = shadow_ptdump_pmd_entry,
	.pte_entry = shadow_ptdump_pte_entry,
	.huge_pmd_entry = shadow_ptdump_huge_pmd_entry,
	.pte_hole = shadow_ptdump_hole,
};

/**
 * shadow_ptdump_show() - dump the page-table tree of @mm (ptdump_walk_pgd)
 * @m: where the text goes
 * @mm: the address space, pinned by the caller
 *
 * Return: 0, or -EINTR when killed waiting for mmap_lock.
 */
int shadow_ptdump_show(struct seq_file *m, struct shadow_mm *mm)
{
	struct shadow_pg_state st = {
		.seq = m,
		.level = -1,
		.tables = { [SHADOW_DEPTH_PGD] = 1 },
	};
	int i;

	if (shadow_mmap_read_lock_killable(mm))
		return -EINTR;
	shadow_walk_page_range(mm, 0, SHADOW_PTDUMP_END, &shadow_ptdump_ops,
			       &st);
	shadow_mmap_read_unlock(mm);
	shadow_note_run(&st, SHADOW_PTDUMP_END);

	seq_puts(m, "---[ Page-table pages ]---\n");
	for (i = 0; i < ARRAY_SIZE(st.tables); i++)
		seq_printf(m, "%s %lu\n", shadow_level_name[i], st.tables[i]);
	return 0;
}
