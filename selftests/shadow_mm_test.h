/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assertion helpers shared by the kselftest-harness programs: include after
 * kselftest_harness.h. Each takes the harness's _metadata and fails the
 * test on a wrong result.
 */
#ifndef _SHADOW_MM_TEST_H
#define _SHADOW_MM_TEST_H

#include "shadow_mm_lib.h"

static inline struct shadow_mm_stats
shadow_stats(struct __test_metadata *_metadata, int mfd)
{
	struct shadow_mm_stats st;

	EXPECT_EQ(0, _shadow_get_stats(mfd, &st));
	return st;
}

/* The page walk's record of one page. */
static inline struct shadow_page_info
shadow_page(struct __test_metadata *_metadata, int mfd, unsigned long addr)
{
	struct shadow_page_info p;

	EXPECT_EQ(0, _shadow_walk(mfd, addr, 1, &p));
	return p;
}

/* Write a string into the address space. */
static inline void shadow_put(struct __test_metadata *_metadata, int mfd,
			      unsigned long addr, const char *s)
{
	ASSERT_EQ((long)strlen(s), _shadow_access(mfd, addr, (void *)s,
						  strlen(s),
						  SHADOW_ACCESS_WRITE));
}

/* The address space holds @s at @addr. */
static inline void shadow_expect(struct __test_metadata *_metadata, int mfd,
				 unsigned long addr, const char *s)
{
	char buf[64] = "";
	size_t len = strlen(s);

	/* What is read back must fit, with its NUL. */
	ASSERT_GT(sizeof(buf), len) {
		TH_LOG("shadow_expect: \"%s\" is longer than %zu bytes", s,
		       sizeof(buf) - 1);
	}
	ASSERT_EQ((long)len, _shadow_access(mfd, addr, buf, len, 0));
	EXPECT_STREQ(s, buf);
}

/*
 * Does a fork with @flags share PTE tables? Under make check ODF=1
 * (odf_always) the module makes the plain forks on-demand too.
 */
static inline bool shadow_fork_is_odf(unsigned int flags)
{
	return (flags & SHADOW_FORK_ODF) || shadow_odf_always();
}

/*
 * After a stress run: at most 256 VMAs, in order, none empty, whose
 * number and pages are what the stats count.
 */
static inline void shadow_expect_sane_layout(struct __test_metadata *_metadata,
					     int mfd)
{
	struct shadow_vma_info v[256];
	struct shadow_mm_stats st;
	__u64 pages = 0, last_end = 0;
	__u32 nr, i;

	ASSERT_EQ(0, _shadow_get_vmas(mfd, 0, SHADOW_TASK_SIZE, v, 256, &nr));
	ASSERT_GE(256, nr);
	for (i = 0; i < nr; i++) {
		EXPECT_LT(v[i].start, v[i].end);
		EXPECT_LE(last_end, v[i].start);
		last_end = v[i].end;
		pages += (v[i].end - v[i].start) / PAGE;
	}
	st = shadow_stats(_metadata, mfd);
	EXPECT_EQ(nr, st.out_map_count);
	EXPECT_EQ(pages, st.out_total_vm);
}

/*
 * The module-wide object counts (debugfs), for leak checks; -1 for a
 * counter the module does not have (yet).
 */
struct shadow_counts {
	long mms, vmas, pages, shmem;
	long anon_vmas, swap_slots, swap_pages;
};

static inline struct shadow_counts shadow_counts(void)
{
	return (struct shadow_counts){
		shadow_counter("mms"), shadow_counter("vmas"),
		shadow_counter("pages"), shadow_counter("shmem"),
		shadow_counter("anon_vmas"), shadow_counter("swap_slots"),
		shadow_counter("swap_pages"),
	};
}

/*
 * Every count is back to @want. A teardown that a debugfs reader or a
 * reclaim walk started (shadow_mmput_async(), like mmput_async()) finishes
 * in a worker, after the close that dropped the last handle: wait for such
 * teardowns, 5 s at most. A leak never settles.
 */
static inline void shadow_expect_counts(struct __test_metadata *_metadata,
					struct shadow_counts want)
{
	struct shadow_counts now = shadow_counts();
	int i;

	for (i = 0; i < 500 && memcmp(&want, &now, sizeof(now)); i++) {
		usleep(10000);
		now = shadow_counts();
	}

	EXPECT_EQ(want.mms, now.mms);
	EXPECT_EQ(want.vmas, now.vmas);
	EXPECT_EQ(want.pages, now.pages);
	EXPECT_EQ(want.shmem, now.shmem);
	EXPECT_EQ(want.anon_vmas, now.anon_vmas);
	EXPECT_EQ(want.swap_slots, now.swap_slots);
	EXPECT_EQ(want.swap_pages, now.swap_pages);
}

#endif /* _SHADOW_MM_TEST_H */
