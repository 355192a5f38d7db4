// SPDX-License-Identifier: GPL-2.0
/*
 * Transparent huge pages of shadow address spaces, with the engine's THP
 * policy "always": a write fault of an aligned 2 MiB maps one PMD leaf
 * (a 2 MiB folio, one deposited PTE table), a read fault the huge zero
 * page; a write to the huge zero page or to a THP a fork shares splits
 * the leaf and copies one 4 KiB page (6.1's do_huge_pmd_wp_page()); a
 * partial munmap, mprotect or MADV_DONTNEED splits it and keeps every
 * other byte; a whole one takes the leaf; fork, exit and teardown give
 * every page back.
 */
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define MB2		(2UL << 20)
#define NR		512
#define THP_COUNTERS	"/sys/kernel/debug/shadow_mm/thp"

static long thp_counter(const char *name)
{
	return shadow_debugfs_value(THP_COUNTERS, name);
}

/* The space at @mfd maps THPs wherever it can, with the huge zero page. */
static int thp_always(int mfd)
{
	return _shadow_set_thp(mfd, SHADOW_THP_SET_MODE |
			       SHADOW_THP_SET_DISABLE |
			       SHADOW_THP_SET_USE_ZERO_PAGE,
			       SHADOW_MM_THP_ALWAYS, 0, 1, NULL);
}

/*
 * A space with THP "always" and an aligned 2 MiB with a 4 KiB page on each
 * side, [BASE - PAGE, BASE + MB2 + PAGE): its fd, its id in *@id.
 */
static int thp_space(struct __test_metadata *_metadata, int dev, __u32 *id)
{
	int mfd = _shadow_create(dev, 0, NULL);

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, thp_always(mfd));
	*id = shadow_stats(_metadata, mfd).out_id;
	ASSERT_EQ(0, _shadow_mmap(mfd, BASE - PAGE, MB2 + 2 * PAGE, RW,
				  PRIV_FIXED, NULL));
	return mfd;
}

/* The "Name:" field of the smaps entry at @start of space @id, in kB. */
static long smaps_field(__u32 id, unsigned long start, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/debug/shadow_mm/mm%u/smaps",
		 id);
	return smaps_entry_kb(path, start, name);
}

FIXTURE(thp) {
	int dev;
	int mfd;
	__u32 id;
	long pages;
	struct shadow_page_info p[NR];
};

FIXTURE_SETUP(thp)
{
	self->pages = shadow_counter("pages");
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->mfd = thp_space(_metadata, self->dev, &self->id);
}

FIXTURE_TEARDOWN(thp)
{
	close(self->mfd);
	close(self->dev);
	/* Every folio, deposit and huge zero page is gone with the space. */
	EXPECT_EQ(self->pages, shadow_counter("pages"));
	EXPECT_EQ(0, thp_counter("thp"));
}

/* Walk the aligned 2 MiB and check each record's flags. */
static void expect_leaf(struct __test_metadata *_metadata, int mfd,
			struct shadow_page_info *p, __u64 flags)
{
	int i;

	ASSERT_EQ(0, _shadow_walk(mfd, BASE, NR, p));
	for (i = 0; i < NR; i++) {
		ASSERT_EQ(flags, p[i].flags) TH_LOG("page %d", i);
		ASSERT_EQ(9, p[i].order);
		ASSERT_EQ(p[0].page_id, p[i].head_id);
		if (i && p[0].page_id)
			ASSERT_EQ(p[0].page_id + i, p[i].page_id);
	}
}

/* A write fault maps one THP: 512 pages, one deposited table. */
TEST_F(thp, write_fault_maps_one_thp)
{
	long thp_before = thp_counter("thp_fault_alloc");
	struct shadow_mm_stats st;
	char buf[64];
	__u64 nr;

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 5 * PAGE, 1,
				   SHADOW_FAULT_WRITE, &nr));
	expect_leaf(_metadata, self->mfd, self->p,
		    SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE | SHADOW_PAGE_DIRTY |
		    SHADOW_PAGE_YOUNG | SHADOW_PAGE_ANON_EXCLUSIVE |
		    SHADOW_PAGE_THP | SHADOW_PAGE_PMD_MAPPED);
	EXPECT_EQ(1, self->p[5].mapcount);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(NR, st.out_rss_anon);
	EXPECT_EQ(1, st.out_nr_ptes);
	EXPECT_EQ(1, st.out_min_flt);
	EXPECT_EQ(1, st.out_anon_thps);
	EXPECT_EQ(1, st.out_thp_fault_alloc);
	EXPECT_EQ(0, st.out_thp_fault_fallback);
	EXPECT_EQ(0, st.out_thp_split_pmd);
	EXPECT_EQ(thp_before + 1, thp_counter("thp_fault_alloc"));
	EXPECT_EQ(1, thp_counter("thp"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "Rss"));

	/* The whole 2 MiB is there: no more faults, contents round-trip. */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, MB2, SHADOW_FAULT_WRITE,
				   &nr));
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_min_flt);
	shadow_put(_metadata, self->mfd, BASE + MB2 - 6, "edge!");
	shadow_expect(_metadata, self->mfd, BASE + MB2 - 6, "edge!");
	memset(buf, 1, sizeof(buf));
	ASSERT_EQ(sizeof(buf), _shadow_access(self->mfd, BASE + 77 * PAGE, buf,
					      sizeof(buf), 0));
	EXPECT_EQ(0, buf[0]);
	EXPECT_EQ(0, buf[63]);
}

/* The 4 KiB pages either side lie in no aligned 2 MiB: no THP there. */
TEST_F(thp, unaligned_falls_back)
{
	struct shadow_mm_stats st;

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE - PAGE, 1,
				   SHADOW_FAULT_WRITE, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + MB2, 1,
				   SHADOW_FAULT_WRITE, NULL));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(2, st.out_rss_anon);
	EXPECT_EQ(2, st.out_nr_ptes);
	EXPECT_EQ(0, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	/* The aligned 2 MiB between has a PMD entry of its own, still none. */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 1, SHADOW_FAULT_WRITE,
				   NULL));
	EXPECT_EQ(2 + NR, shadow_stats(_metadata, self->mfd).out_rss_anon);
}

/* A read maps the huge zero page; a write then splits it, copying one. */
TEST_F(thp, read_fault_huge_zero_page)
{
	long splits = thp_counter("thp_split_pmd");
	struct shadow_mm_stats st;
	int i;

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 1, 0, NULL));
	expect_leaf(_metadata, self->mfd, self->p,
		    SHADOW_PAGE_PRESENT | SHADOW_PAGE_YOUNG | SHADOW_PAGE_ZERO |
		    SHADOW_PAGE_THP | SHADOW_PAGE_PMD_MAPPED);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_rss_anon);
	EXPECT_EQ(1, st.out_nr_ptes);
	EXPECT_EQ(0, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 3 * PAGE, 1,
				   SHADOW_FAULT_WRITE, NULL));
	EXPECT_EQ(splits + 1, thp_counter("thp_split_pmd"));
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, NR, self->p));
	for (i = 0; i < NR; i++) {
		if (i == 3)
			continue;
		ASSERT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_YOUNG |
			  SHADOW_PAGE_ZERO, self->p[i].flags);
	}
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE | SHADOW_PAGE_DIRTY |
		  SHADOW_PAGE_YOUNG | SHADOW_PAGE_ANON_EXCLUSIVE,
		  self->p[3].flags);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(1, st.out_rss_anon);
	EXPECT_EQ(1, st.out_nr_ptes);
	EXPECT_EQ(1, st.out_cow_copies);
}

/*
 * fork shares the THP write-protected; a write in the parent splits its
 * leaf and copies one page, the child keeps the whole THP.
 */
TEST_F(thp, fork_then_write_splits_writer)
{
	long splits = thp_counter("thp_split_pmd");
	struct shadow_mm_stats st;
	__u32 cid = 0;
	int child, i;

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 1, SHADOW_FAULT_WRITE,
				   NULL));
	shadow_put(_metadata, self->mfd, BASE + 9 * PAGE, "parent");
	child = _shadow_fork(self->mfd, 0, &cid);
	ASSERT_LE(0, child);
	st = shadow_stats(_metadata, child);
	EXPECT_EQ(NR, st.out_rss_anon);
	EXPECT_EQ(1, st.out_nr_ptes);
	ASSERT_EQ(0, _shadow_walk(child, BASE, NR, self->p));
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_DIRTY | SHADOW_PAGE_THP |
		  SHADOW_PAGE_PMD_MAPPED, self->p[0].flags);
	EXPECT_EQ(2, self->p[0].mapcount);
	EXPECT_EQ(2048, smaps_field(cid, BASE - PAGE, "AnonHugePages"));

	EXPECT_EQ(1, st.out_anon_thps);
	EXPECT_EQ(0, st.out_thp_fault_alloc);

	shadow_put(_metadata, self->mfd, BASE + 9 * PAGE, "PARENT");
	EXPECT_EQ(splits + 1, thp_counter("thp_split_pmd"));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(NR, st.out_rss_anon);
	EXPECT_EQ(1, st.out_cow_copies);
	EXPECT_EQ(0, st.out_anon_thps);
	EXPECT_EQ(1, st.out_thp_split_pmd);
	EXPECT_EQ(1, st.out_thp_fault_alloc);
	EXPECT_EQ(0, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	EXPECT_EQ(2048, smaps_field(cid, BASE - PAGE, "AnonHugePages"));
	shadow_expect(_metadata, child, BASE + 9 * PAGE, "parent");
	shadow_expect(_metadata, self->mfd, BASE + 9 * PAGE, "PARENT");

	/* The parent's other pages are the folio's still, mapped twice. */
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, NR, self->p));
	for (i = 0; i < NR; i++) {
		if (i == 9)
			continue;
		ASSERT_EQ(2, self->p[i].mapcount) TH_LOG("page %d", i);
	}

	/* The child's write: its leaf splits too. */
	shadow_put(_metadata, child, BASE, "child");
	EXPECT_EQ(splits + 2, thp_counter("thp_split_pmd"));
	EXPECT_EQ(0, smaps_field(cid, BASE - PAGE, "AnonHugePages"));
	close(child);
}

/* munmap of one page inside splits the leaf; every other byte stays. */
TEST_F(thp, munmap_one_page_splits)
{
	static char pattern[MB2];
	static char back[MB2];
	struct shadow_mm_stats st;
	int i;

	for (i = 0; i < (int)MB2; i++)
		pattern[i] = i * 7 + i / PAGE;
	ASSERT_EQ((long)MB2, _shadow_access(self->mfd, BASE, pattern, MB2,
					    SHADOW_ACCESS_WRITE));
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + 100 * PAGE, PAGE));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(NR - 1, st.out_rss_anon);
	EXPECT_EQ(1, st.out_nr_ptes);
	ASSERT_EQ((long)(100 * PAGE), _shadow_access(self->mfd, BASE, back,
						     100 * PAGE, 0));
	ASSERT_EQ((long)(MB2 - 101 * PAGE),
		  _shadow_access(self->mfd, BASE + 101 * PAGE,
				 back + 101 * PAGE, MB2 - 101 * PAGE, 0));
	EXPECT_EQ(0, memcmp(pattern, back, 100 * PAGE));
	EXPECT_EQ(0, memcmp(pattern + 101 * PAGE, back + 101 * PAGE,
			    MB2 - 101 * PAGE));
	EXPECT_EQ(0, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
}

/* mprotect of one page inside splits the leaf: its PTE alone changes. */
TEST_F(thp, mprotect_one_page_splits)
{
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 1, SHADOW_FAULT_WRITE,
				   NULL));
	shadow_put(_metadata, self->mfd, BASE + 3 * PAGE, "kept");
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE + 2 * PAGE, PAGE, RO));
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 4, self->p));
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_YOUNG | SHADOW_PAGE_THP,
		  self->p[2].flags & ~SHADOW_PAGE_ANON_EXCLUSIVE);
	EXPECT_TRUE(self->p[3].flags & SHADOW_PAGE_WRITE);
	EXPECT_EQ(self->p[0].page_id + 3, self->p[3].page_id);
	shadow_expect(_metadata, self->mfd, BASE + 3 * PAGE, "kept");
	EXPECT_EQ(NR, shadow_stats(_metadata, self->mfd).out_rss_anon);
}

/*
 * A PROT_NONE leaf keeps its pages apart (the pfn of a PROT_NONE entry is
 * inverted, L1TF): a forced read sees each page's bytes, a split and the
 * way back to PROT_READ|PROT_WRITE keep every byte.
 */
TEST_F(thp, prot_none_leaf_then_split)
{
	static char pattern[MB2], back[MB2];
	char c;
	int i;

	for (i = 0; i < (int)MB2; i++)
		pattern[i] = i / PAGE + 1;
	ASSERT_EQ((long)MB2, _shadow_access(self->mfd, BASE, pattern, MB2,
					    SHADOW_ACCESS_WRITE));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE, MB2, PROT_NONE));
	/* 6.1's smaps finds no page in a PROT_NONE leaf (real.prot_none_leaf). */
	EXPECT_EQ(shadow_rules_since(6, 12) ? 2048 : 0,
		  smaps_field(self->id, BASE, "AnonHugePages"));
	ASSERT_EQ(1, _shadow_access(self->mfd, BASE + 77 * PAGE, &c, 1,
				    SHADOW_ACCESS_FORCE));
	EXPECT_EQ(78, c);
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, NR, self->p));
	for (i = 1; i < NR; i++)
		ASSERT_EQ(self->p[0].page_id + i, self->p[i].page_id);
	/* A VMA boundary inside: the PROT_NONE leaf splits. */
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + 100 * PAGE, PAGE));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE, 100 * PAGE, RW));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE + 101 * PAGE,
				      MB2 - 101 * PAGE, RW));
	ASSERT_EQ((long)(100 * PAGE), _shadow_access(self->mfd, BASE, back,
						     100 * PAGE, 0));
	ASSERT_EQ((long)(MB2 - 101 * PAGE),
		  _shadow_access(self->mfd, BASE + 101 * PAGE,
				 back + 101 * PAGE, MB2 - 101 * PAGE, 0));
	EXPECT_EQ(0, memcmp(pattern, back, 100 * PAGE));
	EXPECT_EQ(0, memcmp(pattern + 101 * PAGE, back + 101 * PAGE,
			    MB2 - 101 * PAGE));
	EXPECT_EQ(NR - 1, shadow_stats(_metadata, self->mfd).out_rss_anon);
}

/* MADV_DONTNEED of the whole 2 MiB takes the leaf and its table. */
TEST_F(thp, dontneed_whole_and_part)
{
	struct shadow_mm_stats st;

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 1, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2, MADV_DONTNEED));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_rss_anon);
	EXPECT_EQ(0, st.out_nr_ptes);
	EXPECT_EQ(0, thp_counter("thp"));

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 1, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + PAGE, PAGE,
				     MADV_DONTNEED));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(NR - 1, st.out_rss_anon);
	EXPECT_EQ(1, st.out_nr_ptes);
	/* Partly mapped, the folio stays whole (no deferred split yet). */
	EXPECT_EQ(1, thp_counter("thp"));
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 2, self->p));
	EXPECT_EQ(0, self->p[1].flags);
}

/* mremap of the whole aligned 2 MiB moves the leaf as it is. */
TEST_F(thp, mremap_whole_leaf)
{
	unsigned long dst = BASE + 64 * MB2;
	__u64 out;

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 1, SHADOW_FAULT_WRITE,
				   NULL));
	shadow_put(_metadata, self->mfd, BASE + 511 * PAGE, "moved");
	ASSERT_EQ(0, _shadow_mremap(self->mfd, BASE, MB2, MB2,
				    MREMAP_MAYMOVE | MREMAP_FIXED, dst, &out));
	EXPECT_EQ(dst, out);
	EXPECT_EQ(2048, smaps_field(self->id, dst, "AnonHugePages"));
	shadow_expect(_metadata, self->mfd, dst + 511 * PAGE, "moved");
	EXPECT_EQ(NR, shadow_stats(_metadata, self->mfd).out_rss_anon);
}

/*
 * The same steps against the real kernel with THP "always", in this
 * process: an aligned 2 MiB of a 4 MiB private mapping.
 */
#define THP_DEFRAG	THP_SYSFS "/defrag"
#define KPF(bit)	(1ULL << KPF_##bit)

/* The "Name:" field of this process's smaps entry at @start, in kB. */
static long real_smaps_field(unsigned long start, const char *name)
{
	return smaps_entry_kb("/proc/self/smaps", start, name);
}

/* Fill the aligned 2 MiB with a pattern through one write fault: a THP. */
static void fill_thp(struct __test_metadata *_metadata, int mfd, char *pattern)
{
	int i;

	for (i = 0; i < (int)MB2; i++)
		pattern[i] = i * 13 + i / PAGE + 1;
	ASSERT_EQ((long)MB2, _shadow_access(mfd, BASE, pattern, MB2,
					    SHADOW_ACCESS_WRITE));
}

/* The aligned 2 MiB reads back as @pattern. */
static void expect_pattern(struct __test_metadata *_metadata, int mfd,
			   const char *pattern)
{
	static char back[MB2];

	ASSERT_EQ((long)MB2, _shadow_access(mfd, BASE, back, MB2, 0));
	EXPECT_EQ(0, memcmp(pattern, back, MB2));
}

/*
 * Reclaim ages the leaf first (its young bit is the folio's), then splits
 * the folio and swaps its 512 pages out one by one (no THP swap:
 * thp_swpout_fallback); every byte comes back by swap-in.
 */
TEST_F(thp, reclaim_splits_before_swapout)
{
	long split = thp_counter("thp_split_page");
	long fallback = thp_counter("thp_swpout_fallback");
	static char pattern[MB2];
	struct shadow_mm_reclaim r;
	struct shadow_mm_stats st;

	fill_thp(_metadata, self->mfd, pattern);
	ASSERT_EQ(1, shadow_stats(_metadata, self->mfd).out_anon_thps);
	ASSERT_EQ(0, _shadow_reclaim(self->mfd, 0, BASE, MB2, &r));
	EXPECT_EQ(NR, r.out_scanned);
	EXPECT_EQ(NR, r.out_referenced);
	EXPECT_EQ(0, r.out_reclaimed);
	EXPECT_EQ(split, thp_counter("thp_split_page"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));

	ASSERT_EQ(0, _shadow_reclaim(self->mfd, 0, BASE, MB2, &r));
	EXPECT_EQ(NR, r.out_scanned);
	EXPECT_EQ(0, r.out_referenced);
	EXPECT_EQ(NR, r.out_swapped_out);
	EXPECT_EQ(NR, r.out_reclaimed);
	EXPECT_EQ(NR, r.out_unmapped);
	EXPECT_EQ(split + 1, thp_counter("thp_split_page"));
	EXPECT_EQ(fallback + 1, thp_counter("thp_swpout_fallback"));
	EXPECT_EQ(0, thp_counter("thp"));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_rss_anon);
	EXPECT_EQ(NR, st.out_swapents);
	EXPECT_EQ(0, st.out_anon_thps);
	EXPECT_EQ(1, st.out_thp_split_pmd);
	EXPECT_EQ(0, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, NR, self->p));
	EXPECT_EQ(SHADOW_PAGE_SWAP, self->p[0].flags & ~SHADOW_PAGE_EXCLUSIVE);
	EXPECT_EQ(SHADOW_PAGE_SWAP,
		  self->p[NR - 1].flags & ~SHADOW_PAGE_EXCLUSIVE);
	expect_pattern(_metadata, self->mfd, pattern);
	EXPECT_EQ(NR, shadow_stats(_metadata, self->mfd).out_rss_anon);
}

/*
 * MADV_FREE of the whole leaf keeps it, clean, old and lazyfree; reclaim
 * drops the folio whole and the range reads zeroes. Written in between,
 * it stays (split, swap backed again) with every byte.
 */
TEST_F(thp, madv_free_whole_leaf)
{
	long lazyfreed = shadow_debugfs_value("/sys/kernel/debug/shadow_mm/swap",
					      "pglazyfreed");
	static char pattern[MB2];
	struct shadow_mm_reclaim r;
	char buf[64];

	fill_thp(_metadata, self->mfd, pattern);
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2, MADV_FREE));
	expect_leaf(_metadata, self->mfd, self->p,
		    SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE |
		    SHADOW_PAGE_ANON_EXCLUSIVE | SHADOW_PAGE_THP |
		    SHADOW_PAGE_PMD_MAPPED);
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "LazyFree"));

	ASSERT_EQ(0, _shadow_reclaim(self->mfd, 0, BASE, MB2, &r));
	EXPECT_EQ(NR, r.out_scanned);
	EXPECT_EQ(NR, r.out_lazyfreed);
	EXPECT_EQ(NR, r.out_reclaimed);
	EXPECT_EQ(0, r.out_swapped_out);
	EXPECT_EQ(lazyfreed + NR,
		  shadow_debugfs_value("/sys/kernel/debug/shadow_mm/swap",
				       "pglazyfreed"));
	EXPECT_EQ(0, thp_counter("thp"));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_anon);
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_nr_ptes);
	memset(buf, 1, sizeof(buf));
	ASSERT_EQ(sizeof(buf), _shadow_access(self->mfd, BASE + MB2 / 2, buf,
					      sizeof(buf), 0));
	EXPECT_EQ(0, buf[0]);
	EXPECT_EQ(0, buf[63]);

	/* Again, with a write after MADV_FREE: nothing is lost. */
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, MB2));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, MB2, RW, PRIV_FIXED, NULL));
	fill_thp(_metadata, self->mfd, pattern);
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2, MADV_FREE));
	pattern[MB2 / 2] = 'w';
	shadow_put(_metadata, self->mfd, BASE + MB2 / 2, "w");
	/* The leaf's dirty bit is the whole folio's: none of it is lazyfree. */
	EXPECT_EQ(0, smaps_field(self->id, BASE - PAGE, "LazyFree"));
	ASSERT_EQ(0, _shadow_reclaim(self->mfd, 0, BASE, MB2, &r));
	EXPECT_EQ(NR, r.out_referenced);
	ASSERT_EQ(0, _shadow_reclaim(self->mfd, 0, BASE, MB2, &r));
	EXPECT_EQ(0, r.out_reclaimed);
	EXPECT_EQ(NR, r.out_busy);
	EXPECT_EQ(0, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	EXPECT_EQ(NR, shadow_stats(_metadata, self->mfd).out_rss_anon);
	expect_pattern(_metadata, self->mfd, pattern);
}

/*
 * MADV_FREE of part of a leaf splits the folio (madvise_free_huge_pmd()):
 * 512 small pages, the part lazyfree, every byte still there.
 */
TEST_F(thp, madv_free_part_splits_folio)
{
	long split = thp_counter("thp_split_page");
	static char pattern[MB2];
	long pages;
	int i;

	fill_thp(_metadata, self->mfd, pattern);
	pages = shadow_counter("pages");
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + 8 * PAGE, 4 * PAGE,
				     MADV_FREE));
	EXPECT_EQ(split + 1, thp_counter("thp_split_page"));
	EXPECT_EQ(0, thp_counter("thp"));
	EXPECT_EQ(0, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	EXPECT_EQ(16, smaps_field(self->id, BASE - PAGE, "LazyFree"));
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, NR, self->p));
	for (i = 0; i < NR; i++) {
		ASSERT_EQ(0, self->p[i].flags & SHADOW_PAGE_THP);
		ASSERT_EQ(0, self->p[i].order);
		ASSERT_EQ(self->p[0].page_id + i, self->p[i].page_id);
	}
	EXPECT_EQ(pages, shadow_counter("pages"));
	expect_pattern(_metadata, self->mfd, pattern);
}

/*
 * munmap of one page leaves the folio PTE-mapped with one page unmapped:
 * it is queued for a deferred split, which SHADOW_DEV_RECLAIM runs (even
 * with every page young): the unmapped page is freed.
 */
TEST_F(thp, deferred_split_frees_unmapped_page)
{
	long deferred = thp_counter("thp_deferred_split_page");
	long split = thp_counter("thp_split_page");
	static char pattern[MB2];
	static char back[MB2];
	struct shadow_mm_reclaim r;
	long pages;

	fill_thp(_metadata, self->mfd, pattern);
	pages = shadow_counter("pages");
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + 100 * PAGE, PAGE));
	EXPECT_EQ(deferred + 1, thp_counter("thp_deferred_split_page"));
	EXPECT_EQ(1, thp_counter("thp"));
	EXPECT_EQ(pages, shadow_counter("pages"));

	/* Aging alone splits nothing. */
	ASSERT_EQ(0, _shadow_dev_reclaim(self->dev, SHADOW_RECLAIM_AGE, 0, &r));
	EXPECT_EQ(1, thp_counter("thp"));

	/* The split comes first: the pages, young again, all stay. */
	shadow_put(_metadata, self->mfd, BASE, "y");
	pattern[0] = 'y';
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 100 * PAGE, 0, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 101 * PAGE,
				   MB2 - 101 * PAGE, 0, NULL));
	ASSERT_EQ(0, _shadow_dev_reclaim(self->dev, 0, 0, &r));
	EXPECT_EQ(split + 1, thp_counter("thp_split_page"));
	EXPECT_EQ(0, thp_counter("thp"));
	EXPECT_EQ(pages - 1, shadow_counter("pages"));
	EXPECT_EQ(NR - 1, shadow_stats(_metadata, self->mfd).out_rss_anon);
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, NR, self->p));
	EXPECT_EQ(0, self->p[100].flags);
	EXPECT_EQ(0, self->p[101].flags & SHADOW_PAGE_THP);
	ASSERT_EQ((long)(100 * PAGE),
		  _shadow_access(self->mfd, BASE, back, 100 * PAGE, 0));
	ASSERT_EQ((long)(MB2 - 101 * PAGE),
		  _shadow_access(self->mfd, BASE + 101 * PAGE,
				 back + 101 * PAGE, MB2 - 101 * PAGE, 0));
	EXPECT_EQ(0, memcmp(pattern, back, 100 * PAGE));
	EXPECT_EQ(0, memcmp(pattern + 101 * PAGE, back + 101 * PAGE,
			    MB2 - 101 * PAGE));
}

/*
 * MADV_COLD ages the whole leaf and keeps it; MADV_PAGEOUT reclaims it
 * whatever its age: split, swapped out, every byte back by swap-in.
 */
TEST_F(thp, madv_cold_and_pageout_leaf)
{
	static char pattern[MB2];

	fill_thp(_metadata, self->mfd, pattern);
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2, MADV_COLD));
	expect_leaf(_metadata, self->mfd, self->p,
		    SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE | SHADOW_PAGE_DIRTY |
		    SHADOW_PAGE_ANON_EXCLUSIVE | SHADOW_PAGE_THP |
		    SHADOW_PAGE_PMD_MAPPED);
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 1, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2, MADV_PAGEOUT));
	EXPECT_EQ(0, thp_counter("thp"));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_anon);
	EXPECT_EQ(NR, shadow_stats(_metadata, self->mfd).out_swapents);
	expect_pattern(_metadata, self->mfd, pattern);
}

/*
 * A THP a fork shares is split in both address spaces (the split reaches
 * every mapping, as unmap_folio() does): both leaves become PTEs, and
 * reclaim swaps each page out of both; every byte comes back on each
 * side.
 */
TEST_F(thp, reclaim_splits_forked_thp)
{
	long split = thp_counter("thp_split_page");
	static char pattern[MB2];
	struct shadow_mm_reclaim r;
	struct shadow_mm_stats st;
	int child;

	fill_thp(_metadata, self->mfd, pattern);
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_reclaim(self->mfd, SHADOW_RECLAIM_AGE, BASE, MB2,
				     &r));
	ASSERT_EQ(0, _shadow_reclaim(self->mfd, 0, BASE, MB2, &r));
	EXPECT_EQ(0, r.out_busy);
	EXPECT_EQ(NR, r.out_swapped_out);
	EXPECT_EQ(NR, r.out_reclaimed);
	EXPECT_EQ(split + 1, thp_counter("thp_split_page"));
	EXPECT_EQ(0, thp_counter("thp"));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_rss_anon);
	EXPECT_EQ(NR, st.out_swapents);
	EXPECT_EQ(1, st.out_thp_split_pmd);
	st = shadow_stats(_metadata, child);
	EXPECT_EQ(0, st.out_rss_anon);
	EXPECT_EQ(NR, st.out_swapents);
	EXPECT_EQ(1, st.out_thp_split_pmd);
	expect_pattern(_metadata, self->mfd, pattern);
	expect_pattern(_metadata, child, pattern);
	close(child);
}

/*
 * A THP whose pages a fork shares and each side unmapped half of: each
 * page is mapped once, in one of two address spaces. MADV_COLD of the
 * parent's half splits it (6.1's page_mapcount() == 1 rule), and both
 * keep their bytes.
 */
TEST_F(thp, cold_splits_thp_mapped_in_two_spaces)
{
	long split = thp_counter("thp_split_page");
	static char pattern[MB2], back[MB2 / 2];
	int child, i;

	fill_thp(_metadata, self->mfd, pattern);
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + MB2 / 2, MB2 / 2));
	ASSERT_EQ(0, _shadow_munmap(child, BASE, MB2 / 2));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2 / 2, MADV_COLD));
	EXPECT_EQ(split + 1, thp_counter("thp_split_page"));
	EXPECT_EQ(0, thp_counter("thp"));
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, NR / 2, self->p));
	for (i = 0; i < NR / 2; i++)
		ASSERT_EQ(0, self->p[i].order);
	ASSERT_EQ(0, _shadow_walk(child, BASE + MB2 / 2, NR / 2, self->p));
	for (i = 0; i < NR / 2; i++)
		ASSERT_EQ(0, self->p[i].order);
	ASSERT_EQ((long)MB2 / 2, _shadow_access(self->mfd, BASE, back,
						MB2 / 2, 0));
	EXPECT_EQ(0, memcmp(pattern, back, MB2 / 2));
	ASSERT_EQ((long)MB2 / 2, _shadow_access(child, BASE + MB2 / 2, back,
						MB2 / 2, 0));
	EXPECT_EQ(0, memcmp(pattern + MB2 / 2, back, MB2 / 2));
	close(child);
}

FIXTURE(real) {
	char enabled[16];
	char defrag[16];
	int dev;
	int mfd;
	__u32 id;
	char *map;	/* the real mapping: 2 MiB + 2 pages around an aligned 2 MiB */
	char *huge;	/* its aligned 2 MiB */
	long fallback;
};

FIXTURE_SETUP(real)
{
	char *p;

	if (thp_sysfs_save(self->enabled, sizeof(self->enabled)) ||
	    thp_sysfs_word(THP_DEFRAG, self->defrag, sizeof(self->defrag)))
		SKIP(return, "the running kernel has no THP");
	ASSERT_EQ(0, thp_sysfs_set("always"));
	/* Direct compaction: the real order-9 allocation does not fail. */
	ASSERT_TRUE(sysfs_write(THP_DEFRAG, "always"));
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->mfd = thp_space(_metadata, self->dev, &self->id);

	/* The same shape in this process: reserve 6 MiB, keep the middle. */
	p = mmap(NULL, 3 * MB2, RW, PRIV, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	self->huge = (char *)(((unsigned long)p + PAGE + MB2 - 1) &
			      ~(MB2 - 1));
	self->map = self->huge - PAGE;
	if (self->map > p)
		munmap(p, self->map - p);
	munmap(self->huge + MB2 + PAGE,
	       p + 3 * MB2 - (self->huge + MB2 + PAGE));
	self->fallback = vmstat_value("thp_fault_fallback");
}

FIXTURE_TEARDOWN(real)
{
	if (!self->enabled[0])
		return;
	munmap(self->map, MB2 + 2 * PAGE);
	close(self->mfd);
	close(self->dev);
	thp_sysfs_restore(self->enabled);
	sysfs_write(THP_DEFRAG, self->defrag);
}

/*
 * 6.1's harness runs a test after its setup SKIPped: each test of this
 * fixture skips again without THP in the running kernel.
 */
static bool no_thp(const char *saved_enabled)
{
	return !saved_enabled[0];
}

/* Did the real kernel fall back to 4 KiB pages (nothing to compare)? */
static bool real_fell_back(long before)
{
	return vmstat_value("thp_fault_fallback") != before;
}

/* One written byte: one THP on both sides, 512 contiguous pages. */
TEST_F(real, write_fault)
{
	__u64 head;
	int i;

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	self->huge[5 * PAGE] = 1;
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 5 * PAGE, 1,
				   SHADOW_FAULT_WRITE, NULL));
	EXPECT_EQ(2048, real_smaps_field((unsigned long)self->map,
					 "AnonHugePages"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "AnonHugePages"),
		  smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "Rss"),
		  smaps_field(self->id, BASE - PAGE, "Rss"));
	head = pagemap_entry((unsigned long)self->huge) & PM_PFN;
	{
		struct shadow_page_info p[NR];

		ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, NR, p));
		for (i = 0; i < NR; i++) {
			__u64 pfn = pagemap_entry((unsigned long)self->huge +
						  i * PAGE) & PM_PFN;

			ASSERT_EQ(pfn - head, p[i].page_id - p[0].page_id);
			ASSERT_TRUE(kpageflags_of((unsigned long)self->huge +
					       i * PAGE) & KPF(THP));
		}
	}
}

/* A read maps the huge zero page on both sides; a write then splits it. */
TEST_F(real, read_fault_then_write)
{
	struct shadow_page_info p;

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	/* One read, as written (the compiler may not drop it). */
	(void)__atomic_load_n(&self->huge[0], __ATOMIC_RELAXED);
	EXPECT_EQ(KPF(ZERO_PAGE) | KPF(THP),
		  kpageflags_of((unsigned long)self->huge) &
		  (KPF(ZERO_PAGE) | KPF(THP)));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 1, 0, NULL));
	p = shadow_page(_metadata, self->mfd, BASE + 100 * PAGE);
	EXPECT_TRUE(p.flags & SHADOW_PAGE_ZERO);
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "Rss"),
		  smaps_field(self->id, BASE - PAGE, "Rss"));

	self->huge[3 * PAGE] = 1;
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 3 * PAGE, 1,
				   SHADOW_FAULT_WRITE, NULL));
	EXPECT_EQ(4, real_smaps_field((unsigned long)self->map, "Rss"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "Rss"),
		  smaps_field(self->id, BASE - PAGE, "Rss"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "AnonHugePages"),
		  smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	/* The other pages still read the (small) zero page. */
	EXPECT_EQ(KPF(ZERO_PAGE), kpageflags_of((unsigned long)self->huge) &
				 (KPF(ZERO_PAGE) | KPF(THP)));
	p = shadow_page(_metadata, self->mfd, BASE);
	EXPECT_TRUE(p.flags & SHADOW_PAGE_ZERO);
}

/*
 * mprotect of the whole 2 MiB keeps the leaf on both sides; back to
 * PROT_READ|PROT_WRITE, the next write faults to reuse it on 6.1 and not
 * on 6.12, which makes the exclusive leaf writable at once.
 */
TEST_F(real, mprotect_whole_leaf)
{
	struct shadow_mm_stats before, after;
	struct rusage r0, r1;

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	memset(self->huge, 3, MB2);
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, MB2, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, mprotect(self->huge, MB2, RO));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE, MB2, RO));
	EXPECT_EQ(2048, real_smaps_field((unsigned long)self->huge,
					 "AnonHugePages"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE, "AnonHugePages"));
	ASSERT_EQ(0, mprotect(self->huge, MB2, RW));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE, MB2, RW));
	/* The VMAs merged again. */
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));

	before = shadow_stats(_metadata, self->mfd);
	ASSERT_EQ(0, getrusage(RUSAGE_SELF, &r0));
	self->huge[PAGE] = 4;
	ASSERT_EQ(0, getrusage(RUSAGE_SELF, &r1));
	shadow_put(_metadata, self->mfd, BASE + PAGE, "\4");
	after = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(shadow_rules_since(6, 4) ? 0 : 1, r1.ru_minflt - r0.ru_minflt);
	EXPECT_EQ(r1.ru_minflt - r0.ru_minflt,
		  after.out_min_flt - before.out_min_flt);
	EXPECT_EQ(after.out_min_flt - before.out_min_flt,
		  after.out_cow_reuses - before.out_cow_reuses);
	EXPECT_EQ(2048, real_smaps_field((unsigned long)self->map,
					 "AnonHugePages"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
}

/*
 * A PROT_NONE leaf in smaps: 6.1 counts it nowhere (follow_trans_huge_pmd()
 * with FOLL_DUMP finds no page there), 6.12 counts it (vm_normal_page_pmd());
 * the engine as the real kernel of the run.
 */
TEST_F(real, prot_none_leaf)
{
	long kb = shadow_rules_since(6, 12) ? 2048 : 0;

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	memset(self->huge, 5, MB2);
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, MB2, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, mprotect(self->huge, MB2, PROT_NONE));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE, MB2, PROT_NONE));
	EXPECT_EQ(kb, real_smaps_field((unsigned long)self->huge,
				       "AnonHugePages"));
	EXPECT_EQ(kb, real_smaps_field((unsigned long)self->huge, "Rss"));
	EXPECT_EQ(kb, smaps_field(self->id, BASE, "AnonHugePages"));
	EXPECT_EQ(kb, smaps_field(self->id, BASE, "Rss"));
	ASSERT_EQ(0, mprotect(self->huge, MB2, RW));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE, MB2, RW));
	EXPECT_EQ(2048, real_smaps_field((unsigned long)self->map,
					 "AnonHugePages"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
}

/*
 * The last page of a THP, its PTE write-protected by a fork whose child
 * has exited: the folio's one reference is this PTE's. A write reuses it
 * on 6.1 (page_count() 1) and copies it on 6.12 (wp_can_reuse_anon_folio()
 * never reuses a large folio's page): the pfn against the page id.
 */
TEST_F(real, write_to_last_page_after_fork)
{
	struct shadow_page_info p0, p1;
	bool copies = shadow_rules_since(6, 5);
	__u64 pfn0, pfn1;
	int child, status;
	pid_t pid;

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	memset(self->huge, 6, MB2);
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	ASSERT_TRUE(kpageflags_of((unsigned long)self->huge) & KPF(THP));
	ASSERT_EQ(0, munmap(self->huge + PAGE, MB2 - PAGE));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	pfn0 = pagemap_entry((unsigned long)self->huge) & PM_PFN;
	self->huge[0] = 7;
	pfn1 = pagemap_entry((unsigned long)self->huge) & PM_PFN;
	EXPECT_EQ(copies, pfn0 != pfn1);

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, MB2, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + PAGE, MB2 - PAGE));
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	close(child);
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 1, &p0));
	shadow_put(_metadata, self->mfd, BASE, "\7");
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 1, &p1));
	EXPECT_TRUE(p0.flags & SHADOW_PAGE_THP);
	EXPECT_EQ(copies, p0.page_id != p1.page_id);
	EXPECT_EQ(copies, !(p1.flags & SHADOW_PAGE_THP));
	EXPECT_EQ(pfn0 != pfn1, p0.page_id != p1.page_id);
}

/* munmap of one page inside: both split, the rest stays, PTE-mapped. */
TEST_F(real, munmap_one_page)
{
	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	memset(self->huge, 0x5a, MB2);
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, MB2, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, munmap(self->huge + 7 * PAGE, PAGE));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + 7 * PAGE, PAGE));
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "Rss"),
		  smaps_field(self->id, BASE - PAGE, "Rss"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "AnonHugePages"),
		  smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->huge + 8 * PAGE,
				   "AnonHugePages"),
		  smaps_field(self->id, BASE + 8 * PAGE, "AnonHugePages"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->huge + 8 * PAGE,
				   "Rss"),
		  smaps_field(self->id, BASE + 8 * PAGE, "Rss"));
	/* The remaining pages are still the THP's (KPF_THP, deferred split). */
	EXPECT_TRUE(kpageflags_of((unsigned long)self->huge + 8 * PAGE) & KPF(THP));
	EXPECT_EQ(0x5a, self->huge[8 * PAGE]);
}

/* Both sides: is any page of the aligned 2 MiB still part of a THP? */
static void expect_thp_pages(struct __test_metadata *_metadata, int mfd,
			     const char *huge, bool thp)
{
	struct shadow_page_info p[NR];
	int i;

	ASSERT_EQ(0, _shadow_walk(mfd, BASE, NR, p));
	for (i = 0; i < NR; i++) {
		bool real = kpageflags_of((unsigned long)huge + i * PAGE) &
			    KPF(THP);

		if (!(p[i].flags & SHADOW_PAGE_PRESENT))
			continue;
		ASSERT_EQ(thp, real) TH_LOG("real page %d", i);
		ASSERT_EQ(thp, !!(p[i].flags & SHADOW_PAGE_THP))
			TH_LOG("shadow page %d", i);
	}
}

/*
 * A THP one page of which mremap moved away: two PTE tables map it, each
 * page once. MADV_COLD of its first pages splits it on both sides (the
 * split reaches the moved page too); the moved page keeps its bytes.
 */
TEST_F(real, cold_splits_thp_moved_apart)
{
	unsigned long moved = BASE + 4 * MB2;
	long split = vmstat_value("thp_split_page");
	long shadow_split = thp_counter("thp_split_page");
	char *dst, buf[2] = "";

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	memset(self->huge, 0x5a, MB2);
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	ASSERT_EQ((long)MB2, _shadow_access(self->mfd, BASE, self->huge, MB2,
					    SHADOW_ACCESS_WRITE));
	dst = mmap(NULL, PAGE, RW, PRIV, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_EQ(dst, mremap(self->huge + 8 * PAGE, PAGE, PAGE,
			      MREMAP_MAYMOVE | MREMAP_FIXED, dst));
	ASSERT_EQ(0, _shadow_mremap(self->mfd, BASE + 8 * PAGE, PAGE, PAGE,
				    MREMAP_MAYMOVE | MREMAP_FIXED, moved,
				    NULL));
	ASSERT_EQ(0, madvise(self->huge, 4 * PAGE, MADV_COLD));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, 4 * PAGE, MADV_COLD));
	EXPECT_EQ(split + 1, vmstat_value("thp_split_page"));
	EXPECT_EQ(shadow_split + 1, thp_counter("thp_split_page"));
	EXPECT_EQ(0, thp_counter("thp"));
	EXPECT_FALSE(kpageflags_of((unsigned long)dst) & KPF(THP));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, moved).flags &
		     SHADOW_PAGE_THP);
	EXPECT_EQ(0x5a, dst[0]);
	ASSERT_EQ(1, _shadow_access(self->mfd, moved, buf, 1, 0));
	EXPECT_EQ(0x5a, buf[0]);
	expect_thp_pages(_metadata, self->mfd, self->huge, false);
	munmap(dst, PAGE);
}

/*
 * MADV_FREE of part of a THP splits the folio on both sides (6.1's
 * madvise_free_huge_pmd() calls split_huge_page()); of the whole one it
 * stays a THP.
 */
TEST_F(real, madv_free_part_and_whole)
{
	long split = vmstat_value("thp_split_page");
	long shadow_split = thp_counter("thp_split_page");

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	memset(self->huge, 0x6b, MB2);
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	/* The same bytes: 6.12's split maps zero-filled pages to the zero page. */
	ASSERT_EQ((long)MB2, _shadow_access(self->mfd, BASE, self->huge, MB2,
					    SHADOW_ACCESS_WRITE));
	ASSERT_EQ(0, madvise(self->huge, MB2, MADV_FREE));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2, MADV_FREE));
	EXPECT_EQ(2048, real_smaps_field((unsigned long)self->map,
					 "AnonHugePages"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	/* A large folio skips the per-CPU batch: lazyfree at once. */
	EXPECT_EQ(2048, real_smaps_field((unsigned long)self->map,
					 "LazyFree"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "LazyFree"));
	expect_thp_pages(_metadata, self->mfd, self->huge, true);

	ASSERT_EQ(0, madvise(self->huge + 8 * PAGE, 4 * PAGE, MADV_FREE));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + 8 * PAGE, 4 * PAGE,
				     MADV_FREE));
	EXPECT_EQ(split + 1, vmstat_value("thp_split_page"));
	EXPECT_EQ(shadow_split + 1, thp_counter("thp_split_page"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "AnonHugePages"),
		  smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "Rss"),
		  smaps_field(self->id, BASE - PAGE, "Rss"));
	/* Its pages stay lazyfree through the split; a write ends one's. */
	EXPECT_EQ(2048, real_smaps_field((unsigned long)self->map,
					 "LazyFree"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE - PAGE, "LazyFree"));
	self->huge[MB2 / 2] = 1;
	shadow_put(_metadata, self->mfd, BASE + MB2 / 2, "\1");
	EXPECT_EQ(2044, real_smaps_field((unsigned long)self->map,
					 "LazyFree"));
	EXPECT_EQ(2044, smaps_field(self->id, BASE - PAGE, "LazyFree"));
	expect_thp_pages(_metadata, self->mfd, self->huge, false);
}

/*
 * MADV_FREE of small pages: the real kernel marks them lazyfree through a
 * per-CPU batch (mark_page_lazyfree()) that the next MADV_FREE on the same
 * CPU drains first (lru_add_drain()); the engine marks them at once. On
 * one CPU, after a second call, smaps' LazyFree agrees; a write takes a
 * page out of it.
 */
TEST_F(real, madv_free_small_pages_lazyfree)
{
	char *after = self->huge + MB2;
	cpu_set_t cpu;
	int i;

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	CPU_ZERO(&cpu);
	CPU_SET(sched_getcpu(), &cpu);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpu), &cpu));
	/* The two 4 KiB pages around the aligned 2 MiB, which stays empty. */
	self->map[0] = 1;
	after[0] = 2;
	shadow_put(_metadata, self->mfd, BASE - PAGE, "\1");
	shadow_put(_metadata, self->mfd, BASE + MB2, "\2");
	EXPECT_EQ(8, real_smaps_field((unsigned long)self->map, "Rss"));
	EXPECT_EQ(8, smaps_field(self->id, BASE - PAGE, "Rss"));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, madvise(self->map, MB2 + 2 * PAGE, MADV_FREE));
		ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE - PAGE,
					     MB2 + 2 * PAGE, MADV_FREE));
	}
	EXPECT_EQ(8, real_smaps_field((unsigned long)self->map, "LazyFree"));
	EXPECT_EQ(8, smaps_field(self->id, BASE - PAGE, "LazyFree"));
	after[1] = 3;
	shadow_put(_metadata, self->mfd, BASE + MB2 + 1, "\3");
	EXPECT_EQ(4, real_smaps_field((unsigned long)self->map, "LazyFree"));
	EXPECT_EQ(4, smaps_field(self->id, BASE - PAGE, "LazyFree"));
	EXPECT_EQ(1, self->map[0]);
	shadow_expect(_metadata, self->mfd, BASE - PAGE, "\1");
}

/*
 * MADV_FREE of a whole THP, then MADV_PAGEOUT: the clean lazyfree folio is
 * dropped whole on both sides (no swap needed), the range reads zeroes.
 */
TEST_F(real, madv_free_then_pageout)
{
	char buf[16];

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	memset(self->huge, 0x3c, MB2);
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, MB2, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, madvise(self->huge, MB2, MADV_FREE));
	ASSERT_EQ(0, madvise(self->huge, MB2, MADV_PAGEOUT));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2, MADV_FREE));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2, MADV_PAGEOUT));
	EXPECT_EQ(0, real_smaps_field((unsigned long)self->map, "Rss"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "Rss"),
		  smaps_field(self->id, BASE - PAGE, "Rss"));
	EXPECT_EQ(0, self->huge[MB2 / 2]);
	memset(buf, 1, sizeof(buf));
	ASSERT_EQ(sizeof(buf), _shadow_access(self->mfd, BASE + MB2 / 2, buf,
					      sizeof(buf), 0));
	EXPECT_EQ(0, buf[0]);
}

/*
 * MADV_PAGEOUT of a written THP: no THP swap-out here (the real kernel
 * has no swap device, the engine's has no clusters), so both split it
 * (thp_swpout_fallback) before trying its pages one by one.
 */
TEST_F(real, pageout_splits)
{
	long split = vmstat_value("thp_split_page");
	long fallback = vmstat_value("thp_swpout_fallback");
	long shadow_fallback = thp_counter("thp_swpout_fallback");

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	memset(self->huge, 0x2d, MB2);
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	/* The same bytes: 6.12's split maps zero-filled pages to the zero page. */
	ASSERT_EQ((long)MB2, _shadow_access(self->mfd, BASE, self->huge, MB2,
					    SHADOW_ACCESS_WRITE));
	ASSERT_EQ(0, madvise(self->huge, MB2, MADV_PAGEOUT));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2, MADV_PAGEOUT));
	EXPECT_EQ(split + 1, vmstat_value("thp_split_page"));
	EXPECT_EQ(fallback + 1, vmstat_value("thp_swpout_fallback"));
	EXPECT_EQ(shadow_fallback + 1, thp_counter("thp_swpout_fallback"));
	EXPECT_EQ(0, real_smaps_field((unsigned long)self->map,
				      "AnonHugePages"));
	EXPECT_EQ(0, smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	expect_thp_pages(_metadata, self->mfd, self->huge, false);
	EXPECT_EQ(0x2d, self->huge[MB2 - 1]);
}

/*
 * A THP of MAP_DROPPABLE memory (6.11+) is never swap backed: MADV_PAGEOUT
 * drops it whole, written as it is, on both sides.
 */
TEST_F(real, droppable_thp_pageout)
{
	int flags = MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED;
	char buf[16];

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	if (!shadow_droppable())
		SKIP(return, "no MAP_DROPPABLE before Linux 6.11");
	ASSERT_EQ(self->huge, mmap(self->huge, MB2, RW, flags, -1, 0));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, MB2, RW, flags, NULL));
	memset(self->huge, 0x4e, MB2);
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	memset(buf, 0x4e, sizeof(buf));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, MB2, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(sizeof(buf), _shadow_access(self->mfd, BASE + MB2 / 2, buf,
					      sizeof(buf),
					      SHADOW_ACCESS_WRITE));
	EXPECT_EQ(2048, real_smaps_field((unsigned long)self->huge,
					 "AnonHugePages"));
	EXPECT_EQ(2048, smaps_field(self->id, BASE, "AnonHugePages"));
	ASSERT_EQ(0, madvise(self->huge, MB2, MADV_PAGEOUT));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, MB2, MADV_PAGEOUT));
	EXPECT_EQ(0, real_smaps_field((unsigned long)self->huge, "Rss"));
	EXPECT_EQ(0, smaps_field(self->id, BASE, "Rss"));
	EXPECT_EQ(0, self->huge[MB2 / 2]);
	ASSERT_EQ(sizeof(buf), _shadow_access(self->mfd, BASE + MB2 / 2, buf,
					      sizeof(buf), 0));
	EXPECT_EQ(0, buf[0]);
}

/*
 * A split of a THP with pages never written: 6.12 maps each zero-filled
 * page to the shared zero page (SHADOW_RULE_SPLIT_ZEROPAGE), 6.1 keeps
 * them all. The split comes from MADV_COLD of part of the leaf; both
 * sides agree page by page, and on Rss.
 */
TEST_F(real, split_maps_zero_pages)
{
	struct shadow_page_info p[NR];
	int i, zeroes = 0;

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	memset(self->huge, 0x19, 3 * PAGE);
	self->huge[100 * PAGE + 7] = 1;
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	ASSERT_EQ((long)(3 * PAGE), _shadow_access(self->mfd, BASE, self->huge,
						   3 * PAGE,
						   SHADOW_ACCESS_WRITE));
	shadow_put(_metadata, self->mfd, BASE + 100 * PAGE + 7, "\1");
	ASSERT_EQ(0, madvise(self->huge + 8 * PAGE, 4 * PAGE, MADV_COLD));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + 8 * PAGE, 4 * PAGE,
				     MADV_COLD));
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, NR, p));
	for (i = 0; i < NR; i++) {
		bool real = kpageflags_of((unsigned long)self->huge +
					  i * PAGE) & KPF(ZERO_PAGE);

		ASSERT_EQ(real, !!(p[i].flags & SHADOW_PAGE_ZERO))
			TH_LOG("page %d", i);
		ASSERT_EQ(0, p[i].flags & SHADOW_PAGE_THP);
		zeroes += real;
	}
	EXPECT_FALSE(p[0].flags & SHADOW_PAGE_ZERO);
	EXPECT_FALSE(p[100].flags & SHADOW_PAGE_ZERO);
	TH_LOG("%d pages mapped to the zero page by the split", zeroes);
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "Rss"),
		  smaps_field(self->id, BASE - PAGE, "Rss"));
	EXPECT_EQ(0x19, self->huge[2 * PAGE]);
	EXPECT_EQ(1, self->huge[100 * PAGE + 7]);
	shadow_expect(_metadata, self->mfd, BASE + 100 * PAGE + 7, "\1");
}

/*
 * fork, then a write in the parent: its leaf splits and one page is
 * copied; the child keeps the whole THP.
 */
TEST_F(real, fork_then_write)
{
	int ready[2], done[2], child_mfd;
	long child_thp = -1;
	char c = 0;
	pid_t pid;

	if (no_thp(self->enabled))
		SKIP(return, "the running kernel has no THP");
	memset(self->huge, 1, MB2);
	if (real_fell_back(self->fallback))
		SKIP(return, "the real kernel fell back to 4 KiB pages");
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, MB2, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long v;

		if (read(done[0], &c, 1) != 1)
			_exit(1);
		v = real_smaps_field((unsigned long)self->map,
				     "AnonHugePages");
		if (write(ready[1], &v, sizeof(v)) != sizeof(v))
			_exit(1);
		_exit(0);
	}
	child_mfd = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child_mfd);
	self->huge[9 * PAGE] = 2;
	shadow_put(_metadata, self->mfd, BASE + 9 * PAGE, "\2");
	ASSERT_EQ(1, write(done[1], &c, 1));
	ASSERT_EQ(sizeof(child_thp), read(ready[0], &child_thp,
					  sizeof(child_thp)));
	waitpid(pid, NULL, 0);
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "AnonHugePages"),
		  smaps_field(self->id, BASE - PAGE, "AnonHugePages"));
	EXPECT_EQ(real_smaps_field((unsigned long)self->map, "Rss"),
		  smaps_field(self->id, BASE - PAGE, "Rss"));
	EXPECT_EQ(child_thp,
		  smaps_field(shadow_stats(_metadata, child_mfd).out_id,
			      BASE - PAGE, "AnonHugePages"));
	close(child_mfd);
}

TEST_HARNESS_MAIN
