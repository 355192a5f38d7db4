// SPDX-License-Identifier: GPL-2.0
/*
 * On-demand fork (SHADOW_FORK_ODF): PTE tables of private anonymous memory
 * shared between parent and child, and every way a share ends. A write
 * in the parent or in the child, munmap, mprotect, madvise, mremap and
 * reclaim of a shared range copy the table first (or take it over when
 * its count is down to 1); three generations share one table and exit in
 * every order; parent and child break one table at once. Each test checks
 * the contents, the page ids and mapcounts of the page walk,
 * SHADOW_PAGE_PT_SHARED, out_shared_ptes, nr_ptes, rss, and that the
 * module's page count goes back to where it was.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define TABLE	(2UL << 20)		/* the span of one PTE table */
#define TPAGES	(TABLE / PAGE)		/* 512 */
#define ODF	SHADOW_FORK_ODF

FIXTURE(odf) {
	int dev;
	int mfd;
	long pages;
	long shared;
};

FIXTURE_SETUP(odf)
{
	self->pages = shadow_counter("pages");
	self->shared = shadow_odf_counter("shared");
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	ASSERT_TRUE(shadow_features(self->dev) & SHADOW_MM_FEATURE_ODF);
	self->mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, self->mfd);
	/* PTE tables are what on-demand fork shares: no PMD leaves. */
	ASSERT_EQ(0, _shadow_thp_disable(self->mfd));
}

FIXTURE_TEARDOWN(odf)
{
	close(self->mfd);
	close(self->dev);
	EXPECT_EQ(self->pages, shadow_counter("pages"));
	EXPECT_EQ(self->shared, shadow_odf_counter("shared"));
	EXPECT_EQ(0, shadow_counter("vmas"));
	EXPECT_EQ(0, shadow_counter("anon_vmas"));
	EXPECT_EQ(0, shadow_counter("swap_slots"));
}

/* "<tag> <n>": the text page @n of a test range holds. */
static void tag(char *buf, const char *who, unsigned long n)
{
	snprintf(buf, 32, "%s %lu", who, n);
}

/*
 * Two tables' worth of private memory at BASE, every page written, and a
 * text in a few pages of each table.
 */
static void fill(struct __test_metadata *_metadata, int mfd)
{
	static const unsigned long some[] = { 0, 1, 100, 511, 512, 700, 1023 };
	char buf[32];
	unsigned int i;

	ASSERT_EQ(0, _shadow_mmap(mfd, BASE, 2 * TABLE, RW, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_fault(mfd, BASE, 2 * TABLE, SHADOW_FAULT_WRITE,
				   NULL));
	for (i = 0; i < ARRAY_SIZE(some); i++) {
		tag(buf, "page", some[i]);
		shadow_put(_metadata, mfd, BASE + some[i] * PAGE, buf);
	}
}

/* fill()'s texts back in the first table. */
static void fill_table(struct __test_metadata *_metadata, int mfd)
{
	static const unsigned long some[] = { 0, 1, 100, 511 };
	char buf[32];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(some); i++) {
		tag(buf, "page", some[i]);
		shadow_put(_metadata, mfd, BASE + some[i] * PAGE, buf);
	}
}

/* The texts fill() wrote, or @who's at page @n instead. */
static void check(struct __test_metadata *_metadata, int mfd,
		  long n, const char *who)
{
	static const unsigned long some[] = { 0, 1, 100, 511, 512, 700, 1023 };
	char buf[32];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(some); i++) {
		tag(buf, some[i] == n ? who : "page", some[i]);
		shadow_expect(_metadata, mfd, BASE + some[i] * PAGE, buf);
	}
}

static bool pt_shared(struct __test_metadata *_metadata, int mfd,
		      unsigned long addr)
{
	return shadow_page(_metadata, mfd, addr).flags & SHADOW_PAGE_PT_SHARED;
}

/* What a plain fork gives, but the PTE tables are the parent's. */
TEST_F(odf, shares_tables)
{
	struct shadow_page_info pp, cp;
	struct shadow_mm_stats ps, cs;
	long before, breaks;
	int child;

	fill(_metadata, self->mfd);
	before = shadow_counter("pages");
	breaks = shadow_odf_counter("breaks");
	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);
	/* A PGD, a PUD and a PMD table for the child: no PTE table. */
	EXPECT_EQ(before + 3, shadow_counter("pages"));
	EXPECT_EQ(self->shared + 2, shadow_odf_counter("shared"));

	ps = shadow_stats(_metadata, self->mfd);
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(2, ps.out_nr_ptes);
	EXPECT_EQ(2, cs.out_nr_ptes);
	EXPECT_EQ(2, ps.out_shared_ptes);
	EXPECT_EQ(2, cs.out_shared_ptes);
	EXPECT_EQ(2 * TPAGES, ps.out_rss_anon);
	EXPECT_EQ(2 * TPAGES, cs.out_rss_anon);

	pp = shadow_page(_metadata, self->mfd, BASE + 700 * PAGE);
	cp = shadow_page(_metadata, child, BASE + 700 * PAGE);
	EXPECT_EQ(pp.page_id, cp.page_id);
	EXPECT_EQ(2, pp.mapcount);
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_PT_SHARED,
		  pp.flags & (SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE |
			      SHADOW_PAGE_ANON_EXCLUSIVE | SHADOW_PAGE_PT_SHARED));
	/* The table carries the parent's accessed bits: the child's are old. */
	EXPECT_TRUE(pp.flags & SHADOW_PAGE_YOUNG);
	EXPECT_EQ(pp.flags & ~SHADOW_PAGE_YOUNG, cp.flags);

	/* The parent's reads go through the shared table, breaking nothing. */
	check(_metadata, self->mfd, -1, NULL);
	EXPECT_EQ(0, _shadow_fault(self->mfd, BASE, 2 * TABLE, 0, NULL));
	EXPECT_EQ(breaks, shadow_odf_counter("breaks"));
	EXPECT_EQ(2, shadow_stats(_metadata, child).out_shared_ptes);
	/* The child's read makes an old PTE young: a table of its own. */
	EXPECT_EQ(0, _shadow_fault(child, BASE, PAGE, 0, NULL));
	EXPECT_EQ(breaks + 1, shadow_odf_counter("breaks"));
	EXPECT_TRUE(shadow_page(_metadata, child, BASE).flags &
		    SHADOW_PAGE_YOUNG);
	EXPECT_FALSE(shadow_page(_metadata, child, BASE + PAGE).flags &
		     SHADOW_PAGE_YOUNG);
	EXPECT_EQ(1, shadow_stats(_metadata, child).out_shared_ptes);
	EXPECT_EQ(2, shadow_page(_metadata, child, BASE + PAGE).mapcount);
	check(_metadata, child, -1, NULL);
	close(child);

	/* The parent's tables are its alone again, still flagged. */
	EXPECT_EQ(self->shared, shadow_odf_counter("shared"));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_shared_ptes);
	EXPECT_FALSE(pt_shared(_metadata, self->mfd, BASE));
	EXPECT_EQ(1, shadow_page(_metadata, self->mfd, BASE).mapcount);
	check(_metadata, self->mfd, -1, NULL);
}

/*
 * A write in the parent copies the table for it; the child's write then
 * takes the table over (count 1) and reuses its page in place.
 */
TEST_F(odf, write_in_parent_then_child)
{
	struct shadow_page_info before, pp, cp;
	long breaks, takeovers;
	int child;

	fill(_metadata, self->mfd);
	before = shadow_page(_metadata, self->mfd, BASE);
	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);
	breaks = shadow_odf_counter("breaks");
	takeovers = shadow_odf_counter("takeovers");

	shadow_put(_metadata, self->mfd, BASE, "parent 0");
	EXPECT_EQ(breaks + 1, shadow_odf_counter("breaks"));
	check(_metadata, self->mfd, 0, "parent");
	pp = shadow_page(_metadata, self->mfd, BASE);
	cp = shadow_page(_metadata, child, BASE);
	EXPECT_NE(before.page_id, pp.page_id);
	EXPECT_EQ(before.page_id, cp.page_id);
	EXPECT_EQ(1, pp.mapcount);
	EXPECT_EQ(1, cp.mapcount);
	EXPECT_FALSE(pp.flags & SHADOW_PAGE_PT_SHARED);
	/* The child is the table's only user now: no longer shared. */
	EXPECT_FALSE(cp.flags & SHADOW_PAGE_PT_SHARED);
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_shared_ptes);
	EXPECT_EQ(1, shadow_stats(_metadata, child).out_shared_ptes);
	EXPECT_EQ(2, shadow_stats(_metadata, self->mfd).out_nr_ptes);
	/* The other pages of the table: the parent's copy maps them too. */
	EXPECT_EQ(2, shadow_page(_metadata, child, BASE + PAGE).mapcount);
	/*
	 * The child's reads make its old PTEs young: it takes the first
	 * table over (count 1) and copies the second.
	 */
	check(_metadata, child, -1, NULL);
	EXPECT_EQ(breaks + 2, shadow_odf_counter("breaks"));
	EXPECT_EQ(takeovers + 1, shadow_odf_counter("takeovers"));

	shadow_put(_metadata, child, BASE, "child 0");
	EXPECT_EQ(breaks + 2, shadow_odf_counter("breaks"));
	EXPECT_EQ(takeovers + 1, shadow_odf_counter("takeovers"));
	cp = shadow_page(_metadata, child, BASE);
	EXPECT_EQ(before.page_id, cp.page_id);	/* reused in place */
	EXPECT_TRUE(cp.flags & SHADOW_PAGE_WRITE);
	EXPECT_EQ(1, shadow_stats(_metadata, child).out_cow_reuses);
	check(_metadata, child, 0, "child");
	check(_metadata, self->mfd, 0, "parent");
	EXPECT_EQ(2 * TPAGES, shadow_stats(_metadata, child).out_rss_anon);
	close(child);
	check(_metadata, self->mfd, 0, "parent");
}

TEST_F(odf, write_in_child)
{
	int child;

	fill(_metadata, self->mfd);
	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);
	shadow_put(_metadata, child, BASE + 700 * PAGE, "child 700");
	check(_metadata, self->mfd, -1, NULL);
	EXPECT_TRUE(pt_shared(_metadata, self->mfd, BASE));
	EXPECT_FALSE(pt_shared(_metadata, self->mfd, BASE + TABLE));
	EXPECT_EQ(1, shadow_stats(_metadata, child).out_shared_ptes);
	check(_metadata, child, 700, "child");
	/* The parent's write: copy of the first table, takeover of the second. */
	shadow_put(_metadata, self->mfd, BASE + 512 * PAGE, "parent 512");
	shadow_put(_metadata, self->mfd, BASE + 1 * PAGE, "parent 1");
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_shared_ptes);
	EXPECT_EQ(0, shadow_stats(_metadata, child).out_shared_ptes);
	shadow_expect(_metadata, child, BASE + 512 * PAGE, "page 512");
	shadow_expect(_metadata, child, BASE + PAGE, "page 1");
	close(self->mfd);
	check(_metadata, child, 700, "child");
	self->mfd = child;
}

/*
 * munmap of a whole shared table lets go of it without a copy; of part
 * of one, copies it first.
 */
TEST_F(odf, munmap_shared_range)
{
	struct shadow_mm_stats cs, ps;
	long breaks;
	int child;

	fill(_metadata, self->mfd);
	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);
	breaks = shadow_odf_counter("breaks");

	ASSERT_EQ(0, _shadow_munmap(child, BASE + TABLE, TABLE));
	EXPECT_EQ(breaks, shadow_odf_counter("breaks"));
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(1, cs.out_nr_ptes);
	EXPECT_EQ(TPAGES, cs.out_rss_anon);
	EXPECT_EQ(1, cs.out_shared_ptes);
	EXPECT_EQ(1, shadow_page(_metadata, self->mfd,
				 BASE + 700 * PAGE).mapcount);
	EXPECT_FALSE(pt_shared(_metadata, self->mfd, BASE + TABLE));

	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + 100 * PAGE, PAGE));
	EXPECT_EQ(breaks + 1, shadow_odf_counter("breaks"));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd,
				 BASE + 100 * PAGE).flags);
	shadow_expect(_metadata, child, BASE + 100 * PAGE, "page 100");
	EXPECT_EQ(1, shadow_page(_metadata, child, BASE + 100 * PAGE).mapcount);
	ps = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(2 * TPAGES - 1, ps.out_rss_anon);
	EXPECT_EQ(0, shadow_stats(_metadata, child).out_shared_ptes);
	shadow_expect(_metadata, self->mfd, BASE + 700 * PAGE, "page 700");
	shadow_expect(_metadata, self->mfd, BASE, "page 0");
	shadow_expect(_metadata, child, BASE + 511 * PAGE, "page 511");
	close(child);
}

/* mprotect of part of a shared range copies the table, in that space. */
TEST_F(odf, mprotect_shared_range)
{
	struct shadow_page_info p;
	int child;

	fill(_metadata, self->mfd);
	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);

	ASSERT_EQ(0, _shadow_mprotect(child, BASE + PAGE, PAGE, PROT_READ));
	EXPECT_FALSE(pt_shared(_metadata, child, BASE));
	EXPECT_FALSE(pt_shared(_metadata, self->mfd, BASE));
	EXPECT_TRUE(pt_shared(_metadata, child, BASE + TABLE));
	EXPECT_EQ(2, shadow_page(_metadata, child, BASE + PAGE).mapcount);
	EXPECT_EQ(-EFAULT, _shadow_fault(child, BASE + PAGE, PAGE,
					 SHADOW_FAULT_WRITE, NULL));
	ASSERT_EQ(0, _shadow_mprotect(child, BASE + PAGE, PAGE, RW));
	shadow_put(_metadata, child, BASE + PAGE, "child 1");
	check(_metadata, child, 1, "child");
	check(_metadata, self->mfd, -1, NULL);
	p = shadow_page(_metadata, self->mfd, BASE + PAGE);
	EXPECT_EQ(1, p.mapcount);

	/* PROT_NONE in the parent over both tables. */
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE, 2 * TABLE, PROT_NONE));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_shared_ptes);
	EXPECT_EQ(0, shadow_stats(_metadata, child).out_shared_ptes);
	check(_metadata, child, 1, "child");
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE, 2 * TABLE, RW));
	check(_metadata, self->mfd, -1, NULL);
	close(child);
}

/* MADV_DONTNEED of a shared range: the table is copied, then zapped. */
TEST_F(odf, madvise_shared_range)
{
	struct shadow_mm_stats ps;
	int child;

	fill(_metadata, self->mfd);
	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);

	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, PAGE, MADV_DONTNEED));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, BASE).flags);
	check(_metadata, child, -1, NULL);
	/* A whole table zapped: Linux keeps it, and so does the count. */
	ASSERT_EQ(0, _shadow_madvise(child, BASE + TABLE, TABLE,
				     MADV_DONTNEED));
	ps = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(2, ps.out_nr_ptes);
	EXPECT_EQ(2, shadow_stats(_metadata, child).out_nr_ptes);
	EXPECT_EQ(TPAGES, shadow_stats(_metadata, child).out_rss_anon);
	EXPECT_EQ(2 * TPAGES - 1, ps.out_rss_anon);
	EXPECT_EQ(0, ps.out_shared_ptes);
	shadow_expect(_metadata, self->mfd, BASE + 700 * PAGE, "page 700");
	EXPECT_EQ(1, shadow_page(_metadata, self->mfd,
				 BASE + 700 * PAGE).mapcount);
	EXPECT_EQ(0, shadow_page(_metadata, child, BASE + 700 * PAGE).flags);
	close(child);
}

/*
 * mremap: a move by whole tables carries the shared table's entry; a move
 * by PTEs copies the source table first.
 */
TEST_F(odf, mremap_shared_range)
{
	unsigned long to = BASE + 8 * TABLE;
	__u64 got;
	int child;

	fill(_metadata, self->mfd);
	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);

	ASSERT_EQ(0, _shadow_mremap(child, BASE + TABLE, TABLE, TABLE,
				    MREMAP_MAYMOVE | MREMAP_FIXED, to, &got));
	EXPECT_EQ(to, got);
	EXPECT_TRUE(pt_shared(_metadata, child, to));
	EXPECT_EQ(2, shadow_stats(_metadata, child).out_shared_ptes);
	shadow_expect(_metadata, child, to + 188 * PAGE, "page 700");

	ASSERT_EQ(0, _shadow_mremap(child, BASE, 4 * PAGE, 4 * PAGE,
				    MREMAP_MAYMOVE | MREMAP_FIXED,
				    to + TABLE + PAGE, &got));
	EXPECT_EQ(to + TABLE + PAGE, got);
	shadow_expect(_metadata, child, to + TABLE + 2 * PAGE, "page 1");
	EXPECT_FALSE(pt_shared(_metadata, child, BASE + 100 * PAGE));
	shadow_expect(_metadata, child, BASE + 100 * PAGE, "page 100");
	EXPECT_EQ(2, shadow_page(_metadata, child, BASE + 100 * PAGE).mapcount);
	check(_metadata, self->mfd, -1, NULL);
	close(self->mfd);
	self->mfd = child;
}

/*
 * Reclaim of a shared range: unmapping a page writes both tables, so
 * both address spaces get their own; contents come back from swap.
 */
TEST_F(odf, reclaim_shared_range)
{
	struct shadow_mm_reclaim r;
	struct shadow_mm_stats ps;
	int child, i;

	if (!(shadow_features(self->dev) & SHADOW_MM_FEATURE_SWAP))
		SKIP(return, "no swap");
	fill(_metadata, self->mfd);
	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);
	/* Twice: the first pass may only age the young pages. */
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0, _shadow_reclaim(self->mfd, 0, BASE, TABLE, &r));
	ps = shadow_stats(_metadata, self->mfd);
	EXPECT_LT(0, ps.out_swapouts);
	EXPECT_EQ(1, ps.out_shared_ptes);
	EXPECT_FALSE(pt_shared(_metadata, child, BASE));
	EXPECT_TRUE(pt_shared(_metadata, child, BASE + TABLE));
	EXPECT_EQ(ps.out_swapouts, shadow_stats(_metadata, child).out_swapouts);
	EXPECT_EQ(ps.out_swapents, shadow_stats(_metadata, child).out_swapents);
	check(_metadata, child, -1, NULL);
	check(_metadata, self->mfd, -1, NULL);
	close(child);
}

/* A table shared by three generations; every order of exit. */
TEST_F(odf, three_generations)
{
	static const int orders[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
		{ 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};
	int o;

	fill(_metadata, self->mfd);
	for (o = 0; o < 6; o++) {
		int fd[3], i, j;
		bool gone[3] = { false };

		fd[0] = _shadow_fork(self->mfd, ODF, NULL);
		ASSERT_LE(0, fd[0]);
		fd[1] = _shadow_fork(fd[0], ODF, NULL);
		ASSERT_LE(0, fd[1]);
		fd[2] = _shadow_fork(fd[1], ODF, NULL);
		ASSERT_LE(0, fd[2]);
		EXPECT_EQ(4, shadow_page(_metadata, fd[2],
					 BASE + 511 * PAGE).mapcount);
		EXPECT_EQ(2, shadow_stats(_metadata, fd[2]).out_shared_ptes);
		/* The middle one writes: its own copy, the others share. */
		shadow_put(_metadata, fd[1], BASE + 1023 * PAGE, "mid 1023");
		EXPECT_EQ(1, shadow_stats(_metadata, fd[1]).out_shared_ptes);
		EXPECT_EQ(2, shadow_stats(_metadata, fd[2]).out_shared_ptes);
		for (i = 0; i < 3; i++) {
			close(fd[orders[o][i]]);
			gone[orders[o][i]] = true;
			for (j = 0; j < 3; j++) {
				if (gone[j])
					continue;
				check(_metadata, fd[j], j == 1 ? 1023 : -1,
				      "mid");
			}
			check(_metadata, self->mfd, -1, NULL);
		}
		EXPECT_EQ(1, shadow_page(_metadata, self->mfd, BASE).mapcount);
		EXPECT_EQ(self->shared, shadow_odf_counter("shared"));
	}
}

/* The parent goes first, then the child: exit lets go of shared tables. */
TEST_F(odf, parent_exits_first)
{
	struct shadow_mm_stats cs;
	int child;

	fill(_metadata, self->mfd);
	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);
	EXPECT_EQ(0, _shadow_exit(self->mfd));
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(0, cs.out_shared_ptes);
	EXPECT_EQ(2, cs.out_nr_ptes);
	EXPECT_EQ(1, shadow_page(_metadata, child, BASE).mapcount);
	check(_metadata, child, -1, NULL);
	shadow_put(_metadata, child, BASE, "child 0");
	check(_metadata, child, 0, "child");
	close(child);
}

/*
 * Only tables that private anonymous memory alone covers are shared: a
 * shared mapping, a VMA without an anon_vma, or a MADV_DONTFORK one in
 * the same 2 MiB keeps the table copied.
 */
TEST_F(odf, only_private_anonymous)
{
	int child;

	fill(_metadata, self->mfd);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 2 * TABLE, PAGE, RW,
				  SHARED_FIXED, NULL));
	shadow_put(_metadata, self->mfd, BASE + 2 * TABLE, "shared");
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 2 * TABLE + PAGE, PAGE,
				  RW, PRIV_FIXED, NULL));
	shadow_put(_metadata, self->mfd, BASE + 2 * TABLE + PAGE, "private");
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + TABLE, PAGE,
				     MADV_DONTFORK));
	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);
	EXPECT_EQ(1, shadow_stats(_metadata, child).out_shared_ptes);
	EXPECT_TRUE(pt_shared(_metadata, child, BASE));
	EXPECT_FALSE(pt_shared(_metadata, child, BASE + TABLE + PAGE));
	EXPECT_FALSE(pt_shared(_metadata, child, BASE + 2 * TABLE + PAGE));
	EXPECT_EQ(0, shadow_page(_metadata, child, BASE + TABLE).flags);
	shadow_expect(_metadata, child, BASE + TABLE + 188 * PAGE, "page 700");
	shadow_expect(_metadata, child, BASE + 2 * TABLE, "shared");
	shadow_expect(_metadata, child, BASE + 2 * TABLE + PAGE, "private");
	EXPECT_EQ(3, shadow_stats(_metadata, child).out_nr_ptes);
	close(child);
}

/* What shares the first table's 2 MiB with private memory in odf_span. */
enum neighbour {
	NB_PRIVATE,		/* private anonymous, read-only: shares */
	NB_WIPEONFORK,		/* MADV_WIPEONFORK */
	NB_DONTFORK,		/* MADV_DONTFORK (VM_DONTCOPY) */
	NB_SHARED,		/* MAP_SHARED | MAP_ANONYMOUS */
	NB_FILE_PRIVATE,	/* a memfd, MAP_PRIVATE, written (COW) */
	NB_FILE_SHARED,		/* a memfd, MAP_SHARED */
};

FIXTURE(odf_span) {
	int dev;
	int mfd;
	int file;
	long pages;
	long shared;
};

FIXTURE_VARIANT(odf_span) {
	enum neighbour kind;
	bool shares;		/* the first table is shared by the fork */
	long child_rss_anon;	/* of both tables, in the child */
};

FIXTURE_VARIANT_ADD(odf_span, private) {
	.kind = NB_PRIVATE, .shares = true, .child_rss_anon = 2 * TPAGES,
};

FIXTURE_VARIANT_ADD(odf_span, wipeonfork) {
	.kind = NB_WIPEONFORK, .child_rss_anon = 2 * TPAGES - 1,
};

FIXTURE_VARIANT_ADD(odf_span, dontfork) {
	.kind = NB_DONTFORK, .child_rss_anon = 2 * TPAGES - 1,
};

FIXTURE_VARIANT_ADD(odf_span, shared_anonymous) {
	.kind = NB_SHARED, .child_rss_anon = 2 * TPAGES - 1,
};

FIXTURE_VARIANT_ADD(odf_span, file_private) {
	.kind = NB_FILE_PRIVATE, .child_rss_anon = 2 * TPAGES,
};

FIXTURE_VARIANT_ADD(odf_span, file_shared) {
	.kind = NB_FILE_SHARED, .child_rss_anon = 2 * TPAGES - 1,
};

FIXTURE_SETUP(odf_span)
{
	self->file = -1;
	self->pages = shadow_counter("pages");
	self->shared = shadow_odf_counter("shared");
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	ASSERT_TRUE(shadow_features(self->dev) & SHADOW_MM_FEATURE_ODF);
	self->mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, self->mfd);
	/* PTE tables are what on-demand fork shares: no PMD leaves. */
	ASSERT_EQ(0, _shadow_thp_disable(self->mfd));
}

FIXTURE_TEARDOWN(odf_span)
{
	close(self->mfd);
	close(self->dev);
	if (self->file >= 0)
		close(self->file);
	EXPECT_EQ(self->pages, shadow_counter("pages"));
	EXPECT_EQ(self->shared, shadow_odf_counter("shared"));
	EXPECT_EQ(0, shadow_counter("vmas"));
	EXPECT_EQ(0, shadow_counter("anon_vmas"));
}

/* A MAP_FIXED mapping of the test's memfd. */
static int map_file(int mfd, int file, unsigned long addr, int flags)
{
	struct shadow_mm_mmap m = {
		.size = sizeof(m), .addr = addr, .len = PAGE, .prot = RW,
		.map_flags = flags | MAP_FIXED, .fd = file,
	};

	return shadow_ioctl(mfd, SHADOW_MM_MMAP, &m);
}

/*
 * An on-demand fork shares a table only when private anonymous VMAs that
 * fork copies cover all of its 2 MiB. fill()'s two tables, with page 16
 * of the first made the variant's kind of VMA, written: the first table
 * is copied (the second, all private, is shared), and the child gets
 * what a copying fork gives: zeroes in a wipe-on-fork page, no VMA for a
 * MADV_DONTFORK one, the parent's data in the shared and file pages and in
 * every private page around them. The parent keeps its data.
 */
TEST_F(odf_span, neighbour_decides)
{
	const unsigned long other = BASE + 16 * PAGE;
	const unsigned long near[] = { BASE, other - PAGE, other + PAGE,
				       BASE + 511 * PAGE };
	struct shadow_page_info pp, cp;
	struct shadow_mm_stats ps, cs;
	char zero[8] = "", got[8];
	unsigned int i;
	int child;

	fill(_metadata, self->mfd);
	shadow_put(_metadata, self->mfd, other - PAGE, "page 15");
	shadow_put(_metadata, self->mfd, other + PAGE, "page 17");
	switch (variant->kind) {
	case NB_PRIVATE:
		shadow_put(_metadata, self->mfd, other, "other 16");
		ASSERT_EQ(0, _shadow_mprotect(self->mfd, other, PAGE, RO));
		break;
	case NB_WIPEONFORK:
		shadow_put(_metadata, self->mfd, other, "other 16");
		ASSERT_EQ(0, _shadow_madvise(self->mfd, other, PAGE,
					     MADV_WIPEONFORK));
		break;
	case NB_DONTFORK:
		shadow_put(_metadata, self->mfd, other, "other 16");
		ASSERT_EQ(0, _shadow_madvise(self->mfd, other, PAGE,
					     MADV_DONTFORK));
		break;
	case NB_SHARED:
		ASSERT_EQ(0, _shadow_mmap(self->mfd, other, PAGE, RW,
					  SHARED_FIXED, NULL));
		shadow_put(_metadata, self->mfd, other, "other 16");
		break;
	case NB_FILE_PRIVATE:
	case NB_FILE_SHARED:
		if (!(shadow_features(self->dev) & SHADOW_MM_FEATURE_FILE))
			SKIP(return, "no SHADOW_MM_FEATURE_FILE");
		self->file = memfd_create("odf_span", 0);
		ASSERT_LE(0, self->file);
		ASSERT_EQ(0, ftruncate(self->file, PAGE));
		ASSERT_EQ(0, map_file(self->mfd, self->file, other,
				      variant->kind == NB_FILE_SHARED ?
				      MAP_SHARED : MAP_PRIVATE));
		shadow_put(_metadata, self->mfd, other, "other 16");
		break;
	}
	/* Three VMAs in the first table, one over the second. */
	EXPECT_EQ(3, shadow_stats(_metadata, self->mfd).out_map_count);

	child = _shadow_fork(self->mfd, ODF, NULL);
	ASSERT_LE(0, child);
	ps = shadow_stats(_metadata, self->mfd);
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(variant->shares ? 2 : 1, ps.out_shared_ptes);
	EXPECT_EQ(variant->shares ? 2 : 1, cs.out_shared_ptes);
	EXPECT_EQ(2, ps.out_nr_ptes);
	EXPECT_EQ(2, cs.out_nr_ptes);
	EXPECT_EQ(variant->child_rss_anon, cs.out_rss_anon);
	EXPECT_EQ(0, cs.out_rss_shmem);
	EXPECT_EQ(0, cs.out_rss_file);
	EXPECT_EQ(variant->kind == NB_DONTFORK ? 2 : 3, cs.out_map_count);
	EXPECT_TRUE(pt_shared(_metadata, self->mfd, BASE + TABLE));
	EXPECT_TRUE(pt_shared(_metadata, child, BASE + TABLE + 188 * PAGE));

	/* The private pages around: copied (or shared), the same pages. */
	for (i = 0; i < ARRAY_SIZE(near); i++) {
		pp = shadow_page(_metadata, self->mfd, near[i]);
		cp = shadow_page(_metadata, child, near[i]);
		EXPECT_EQ(variant->shares, !!(pp.flags & SHADOW_PAGE_PT_SHARED))
			TH_LOG("parent, page %lu", (near[i] - BASE) / PAGE);
		EXPECT_EQ(variant->shares, !!(cp.flags & SHADOW_PAGE_PT_SHARED))
			TH_LOG("child, page %lu", (near[i] - BASE) / PAGE);
		EXPECT_EQ(pp.page_id, cp.page_id);
		EXPECT_EQ(2, pp.mapcount);
		EXPECT_EQ(2, cp.mapcount);
		EXPECT_EQ(SHADOW_PAGE_PRESENT, cp.flags &
			  (SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE |
			   SHADOW_PAGE_ANON_EXCLUSIVE));
	}
	check(_metadata, child, -1, NULL);
	shadow_expect(_metadata, child, other - PAGE, "page 15");
	shadow_expect(_metadata, child, other + PAGE, "page 17");

	/* Page 16 in the child, as a copying fork leaves it. */
	cp = shadow_page(_metadata, child, other);
	switch (variant->kind) {
	case NB_WIPEONFORK:
		EXPECT_EQ(0, cp.flags);
		ASSERT_EQ(8, _shadow_access(child, other, got, 8, 0));
		EXPECT_EQ(0, memcmp(zero, got, 8));
		break;
	case NB_DONTFORK:
		EXPECT_EQ(0, cp.flags);
		EXPECT_EQ(-EFAULT, _shadow_access(child, other, got, 8, 0));
		EXPECT_EQ(-EFAULT, _shadow_fault(child, other, PAGE, 0, NULL));
		break;
	case NB_PRIVATE:
	case NB_FILE_PRIVATE:
		pp = shadow_page(_metadata, self->mfd, other);
		EXPECT_EQ(pp.page_id, cp.page_id);
		EXPECT_EQ(2, cp.mapcount);
		shadow_expect(_metadata, child, other, "other 16");
		break;
	case NB_SHARED:
	case NB_FILE_SHARED:
		shadow_expect(_metadata, child, other, "other 16");
		/* Still one object: the child's write shows in the parent. */
		shadow_put(_metadata, child, other, "child 16");
		shadow_expect(_metadata, self->mfd, other, "child 16");
		shadow_put(_metadata, child, other, "other 16");
		break;
	}

	/* Writes on either side stay on their side. */
	shadow_put(_metadata, child, other - PAGE, "child 15");
	shadow_put(_metadata, self->mfd, BASE + PAGE, "parent 1");
	shadow_expect(_metadata, self->mfd, other - PAGE, "page 15");
	shadow_expect(_metadata, child, BASE + PAGE, "page 1");
	close(child);

	/* The parent has all its data. */
	check(_metadata, self->mfd, 1, "parent");
	shadow_expect(_metadata, self->mfd, other - PAGE, "page 15");
	shadow_expect(_metadata, self->mfd, other + PAGE, "page 17");
	shadow_expect(_metadata, self->mfd, other, "other 16");
	for (i = 0; i < ARRAY_SIZE(near); i++) {
		EXPECT_EQ(1, shadow_page(_metadata, self->mfd,
					 near[i]).mapcount)
			TH_LOG("page %lu", (near[i] - BASE) / PAGE);
	}
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_shared_ptes);
}

/*
 * The page-table pages a fork of @mfd with @flags allocates. Its child
 * has @mfd's 512 PTE tables: shared by an on-demand fork, else its own.
 */
static long fork_pages(struct __test_metadata *_metadata, int mfd,
		       unsigned int flags)
{
	struct shadow_mm_stats cs;
	long before = shadow_counter("pages");
	long pages;
	int child;

	child = _shadow_fork(mfd, flags, NULL);
	EXPECT_LE(0, child);
	if (child < 0)
		return -1;
	pages = shadow_counter("pages") - before;
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(512, cs.out_nr_ptes);
	EXPECT_EQ(shadow_fork_is_odf(flags) ? 512 : 0, cs.out_shared_ptes);
	close(child);
	return pages;
}

/*
 * The page-table pages a fork allocates: one data page in each 2 MiB of
 * 1 GiB, so that 512 PTE tables are in use. A plain fork copies them all
 * and allocates the three upper tables; an on-demand fork allocates the
 * upper tables only.
 */
TEST_F(odf, fewer_pagetable_pages)
{
	const unsigned long len = 512 * TABLE;
	long plain, odf;
	unsigned long a;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, len, RW, PRIV_FIXED, NULL));
	for (a = BASE; a < BASE + len; a += TABLE)
		ASSERT_EQ(0, _shadow_fault(self->mfd, a, PAGE,
					   SHADOW_FAULT_WRITE, NULL));
	EXPECT_EQ(512, shadow_stats(_metadata, self->mfd).out_nr_ptes);

	plain = fork_pages(_metadata, self->mfd, 0);
	odf = fork_pages(_metadata, self->mfd, ODF);
	TH_LOG("page-table pages a fork of 1 GiB (512 PTE tables) allocates: plain %ld, odf %ld",
	       plain, odf);
	/* Under make check ODF=1 the plain fork is on-demand too. */
	EXPECT_EQ(shadow_fork_is_odf(0) ? 3 : 512 + 3, plain);
	EXPECT_EQ(3, odf);
}

struct racer {
	int mfd;
	int first;		/* page to start at: the racers go both ways */
	char who;
	int errors;
};

/* Write its letter to each page of the first table, from @first on. */
static void *race_writes(void *arg)
{
	struct racer *r = arg;
	unsigned long i, n;

	for (i = 0; i < TPAGES; i++) {
		n = (r->first + i) % TPAGES;
		if (_shadow_access(r->mfd, BASE + n * PAGE, &r->who, 1,
				   SHADOW_ACCESS_WRITE) != 1)
			r->errors++;
	}
	return NULL;
}

/* Read and walk the second table, shared by the racers' spaces. */
static void *race_reads(void *arg)
{
	struct racer *r = arg;
	struct shadow_page_info p[8];
	char c;
	int i;

	for (i = 0; i < 256; i++) {
		if (_shadow_access(r->mfd, BASE + TABLE + (i % TPAGES) * PAGE,
				   &c, 1, 0) != 1)
			r->errors++;
		if (_shadow_walk(r->mfd, BASE + (i % 2) * TABLE, 8, p))
			r->errors++;
	}
	return NULL;
}

/*
 * Parent and child break the same shared table at once, each with two
 * threads writing from opposite ends, while a fifth reads and walks: the
 * count of the table goes from 2 to 0 through concurrent copies and
 * takeovers. Every page ends with its writer's letter, in each space.
 */
TEST_F_TIMEOUT(odf, concurrent_breaks, 180)
{
	int round;

	fill(_metadata, self->mfd);
	for (round = 0; round < 4; round++) {
		struct shadow_mm_stats cs;
		struct racer r[5];
		pthread_t t[5];
		int child, i;
		char c;

		child = _shadow_fork(self->mfd, ODF, NULL);
		ASSERT_LE(0, child);
		r[0] = (struct racer){ .mfd = self->mfd, .who = 'p' };
		r[1] = (struct racer){ .mfd = self->mfd, .who = 'p',
				       .first = TPAGES / 2 };
		r[2] = (struct racer){ .mfd = child, .who = 'c' };
		r[3] = (struct racer){ .mfd = child, .who = 'c',
				       .first = TPAGES / 2 };
		r[4] = (struct racer){ .mfd = round % 2 ? child : self->mfd };
		for (i = 0; i < 5; i++)
			ASSERT_EQ(0, pthread_create(&t[i], NULL,
						    i < 4 ? race_writes :
						    race_reads, &r[i]));
		for (i = 0; i < 5; i++) {
			pthread_join(t[i], NULL);
			EXPECT_EQ(0, r[i].errors);
		}
		for (i = 0; i < TPAGES; i += 37) {
			ASSERT_EQ(1, _shadow_access(self->mfd, BASE + i * PAGE,
						    &c, 1, 0));
			EXPECT_EQ('p', c);
			ASSERT_EQ(1, _shadow_access(child, BASE + i * PAGE,
						    &c, 1, 0));
			EXPECT_EQ('c', c);
		}
		cs = shadow_stats(_metadata, child);
		/* The child's reads of the second table break it too. */
		EXPECT_EQ(round % 2 ? 0 : 1, cs.out_shared_ptes);
		EXPECT_EQ(TPAGES * 2, cs.out_rss_anon);
		EXPECT_EQ(1, shadow_page(_metadata, child,
					 BASE + 3 * PAGE).mapcount);
		shadow_expect(_metadata, child, BASE + 700 * PAGE, "page 700");
		close(child);
		EXPECT_EQ(self->shared, shadow_odf_counter("shared"));
		/* The parent's first table is its own, written: fill again. */
		fill_table(_metadata, self->mfd);
	}
}

TEST_F(odf, bad_flags)
{
	EXPECT_EQ(-EINVAL, _shadow_fork(self->mfd, ODF | SHADOW_FORK_VM,
					NULL));
	EXPECT_EQ(-EINVAL, _shadow_fork(self->mfd, 1U << 2, NULL));
}

TEST_HARNESS_MAIN
