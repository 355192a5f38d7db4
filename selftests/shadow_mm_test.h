/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assertion helpers shared by the kselftest-harness programs: include after
 * kselftest_harness.h. Each takes the harness's _metadata and fails the
 * test on a wrong result.
 */
#ifndef _SHADOW_MM_TEST_H
#define _SHADOW_MM_TEST_H

#include "shadow_mm_lib.h"

static inline struct shadow_mm_stats stats(struct __test_metadata *_metadata,
					   int mfd)
{
	struct shadow_mm_stats st;

	EXPECT_EQ(0, _shadow_get_stats(mfd, &st));
	return st;
}

/* The page walk's record of one page. */
static inline struct shadow_page_info page(struct __test_metadata *_metadata,
					   int mfd, unsigned long addr)
{
	struct shadow_page_info p;

	EXPECT_EQ(0, _shadow_walk(mfd, addr, 1, &p));
	return p;
}

/* Write a string into the address space. */
static inline void put(struct __test_metadata *_metadata, int mfd,
		       unsigned long addr, const char *s)
{
	ASSERT_EQ((long)strlen(s), _shadow_access(mfd, addr, (void *)s,
						  strlen(s),
						  SHADOW_ACCESS_WRITE));
}

/* The address space holds @s at @addr. */
static inline void expect(struct __test_metadata *_metadata, int mfd,
			  unsigned long addr, const char *s)
{
	char buf[64] = "";

	ASSERT_EQ((long)strlen(s), _shadow_access(mfd, addr, buf, strlen(s),
						  0));
	EXPECT_STREQ(s, buf);
}

#endif /* _SHADOW_MM_TEST_H */
