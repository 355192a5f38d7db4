// SPDX-License-Identifier: GPL-2.0
/*
 * Page tables, page faults and memory access in shadow address spaces:
 * the zero page, new anonymous pages, copy-on-write from the zero page,
 * protection faults, shared anonymous pages, page-table pages per level and
 * their freeing, and the module's page count returning to where it was.
 */
#include <pthread.h>
#include <stddef.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define GB	(1024UL * 1024 * 1024)
#define MB2	(2UL << 20)

FIXTURE(pt) {
	int dev;
	int mfd;
	long pages;
};

FIXTURE_SETUP(pt)
{
	self->pages = shadow_counter("pages");
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(pt)
{
	close(self->mfd);
	close(self->dev);
	/* Every page and table the test made is gone with the space. */
	EXPECT_EQ(self->pages, shadow_counter("pages"));
}

/* A read maps the zero page; a write then copies it (COW). */
TEST_F(pt, zero_page_then_cow)
{
	struct shadow_page_info p[2];
	struct shadow_mm_stats st;
	__u64 nr;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, 0, &nr));
	EXPECT_EQ(1, nr);
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 2, p));
	/* x86's page protections carry _PAGE_ACCESSED: new PTEs are young. */
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_YOUNG | SHADOW_PAGE_ZERO,
		  p[0].flags);
	EXPECT_EQ(0, p[0].page_id);
	EXPECT_EQ(0, p[1].flags);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_rss_anon);
	EXPECT_EQ(1, st.out_min_flt);

	/* A second read of a mapped page is no fault. */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, 0, &nr));
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_min_flt);

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, SHADOW_FAULT_WRITE,
				   &nr));
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 1, p));
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE | SHADOW_PAGE_DIRTY |
		  SHADOW_PAGE_YOUNG | SHADOW_PAGE_ANON_EXCLUSIVE, p[0].flags);
	EXPECT_NE(0, p[0].page_id);
	EXPECT_EQ(1, p[0].mapcount);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(1, st.out_rss_anon);
	EXPECT_EQ(1, st.out_cow_copies);
	EXPECT_EQ(0, st.out_cow_reuses);
	EXPECT_EQ(2, st.out_min_flt);
}

/* A write to an untouched page maps a new zeroed page: no COW. */
TEST_F(pt, write_fault_new_page)
{
	struct shadow_page_info p[4];
	struct shadow_mm_stats st;
	char buf[4 * 4096];
	__u64 nr;
	int i;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 4 * PAGE,
				   SHADOW_FAULT_WRITE, &nr));
	EXPECT_EQ(4, nr);
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 4, p));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE |
			  SHADOW_PAGE_DIRTY | SHADOW_PAGE_YOUNG |
			  SHADOW_PAGE_ANON_EXCLUSIVE, p[i].flags);
		if (i)
			EXPECT_NE(p[i - 1].page_id, p[i].page_id);
	}
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(4, st.out_rss_anon);
	EXPECT_EQ(0, st.out_cow_copies);
	EXPECT_EQ(4, st.out_min_flt);
	memset(buf, 0x55, sizeof(buf));
	ASSERT_EQ(sizeof(buf), _shadow_access(self->mfd, BASE, buf,
					      sizeof(buf), 0));
	for (i = 0; i < (int)sizeof(buf); i++)
		ASSERT_EQ(0, buf[i]);
}

/* Bytes written through the space read back, across page boundaries. */
TEST_F(pt, content_roundtrip)
{
	char in[3 * 4096], out[3 * 4096 + 200];
	struct shadow_mm_stats st;
	int i;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	for (i = 0; i < (int)sizeof(in); i++)
		in[i] = (char)(i * 7 + 3);
	ASSERT_EQ(sizeof(in), _shadow_access(self->mfd, BASE + 100, in,
					     sizeof(in), SHADOW_ACCESS_WRITE));
	ASSERT_EQ(sizeof(out), _shadow_access(self->mfd, BASE, out,
					      sizeof(out), 0));
	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, out[i]);
	ASSERT_EQ(0, memcmp(in, out + 100, sizeof(in)));
	/* Pages 0-3 are all touched by the write: four new pages. */
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(4, st.out_rss_anon);
	/* Reading beyond the VMA stops at its end. */
	EXPECT_EQ(PAGE - 10, _shadow_access(self->mfd, BASE + 3 * PAGE + 10,
					    out, 2 * PAGE, 0));
}

/* Accesses against the protection fail like SIGSEGV: -EFAULT. */
TEST_F(pt, protection_faults)
{
	char buf[16] = "forced write";
	struct shadow_page_info p;
	__u64 nr;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, PAGE, PROT_READ, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 2 * PAGE, PAGE, PROT_NONE,
				  PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 4 * PAGE, PAGE, PROT_READ,
				  SHARED_FIXED, NULL));

	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE, PAGE,
					 SHADOW_FAULT_WRITE, &nr));
	EXPECT_EQ(0, nr);
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE, PAGE,
					 SHADOW_FAULT_EXEC, &nr));
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE + 2 * PAGE, PAGE, 0,
					 &nr));
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE + PAGE, PAGE, 0,
					 &nr));
	/* A range that runs into a hole stops there. */
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE, 2 * PAGE, 0, &nr));
	EXPECT_EQ(1, nr);
	EXPECT_EQ(-EINVAL, _shadow_fault(self->mfd, BASE, PAGE,
					 SHADOW_FAULT_WRITE |
					 SHADOW_FAULT_EXEC, &nr));

	/* Without force, access honours the protection... */
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, BASE, buf, 4,
					  SHADOW_ACCESS_WRITE));
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, BASE + 2 * PAGE, buf, 4,
					  0));
	/* ...with it, a read of PROT_NONE works (VM_MAYREAD)... */
	EXPECT_EQ(4, _shadow_access(self->mfd, BASE + 2 * PAGE, buf, 4,
				    SHADOW_ACCESS_FORCE));
	EXPECT_EQ(0, buf[0]);
	/* ...a write into a private read-only page breaks COW... */
	strcpy(buf, "forced write");
	EXPECT_EQ(12, _shadow_access(self->mfd, BASE, buf, 12,
				     SHADOW_ACCESS_WRITE |
				     SHADOW_ACCESS_FORCE));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(12, _shadow_access(self->mfd, BASE, buf, 12, 0));
	EXPECT_STREQ("forced write", buf);
	/* ...and leaves the PTE read-only on an exclusive page. */
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 1, &p));
	EXPECT_EQ(0, p.flags & SHADOW_PAGE_WRITE);
	EXPECT_EQ(SHADOW_PAGE_ANON_EXCLUSIVE,
		  p.flags & SHADOW_PAGE_ANON_EXCLUSIVE);
	/* A shared read-only mapping never takes a forced write. */
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, BASE + 4 * PAGE, buf, 4,
					  SHADOW_ACCESS_WRITE |
					  SHADOW_ACCESS_FORCE));
	EXPECT_EQ(-EINVAL, _shadow_access(self->mfd, BASE, buf, 4, 4));
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, BASE, (void *)8, 4, 0));
}

/* Shared anonymous memory: pages of the object, even on a read. */
TEST_F(pt, shared_anonymous)
{
	struct shadow_page_info p[2];
	struct shadow_mm_stats st;
	char buf[8];

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, SHARED_FIXED,
				  NULL));
	ASSERT_EQ(5, _shadow_access(self->mfd, BASE + PAGE, "hello", 5,
				    SHADOW_ACCESS_WRITE));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, 0, NULL));
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 2, p));
	/* shmem's vm_page_prot is writable: a read maps it writable, clean. */
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE | SHADOW_PAGE_YOUNG |
		  SHADOW_PAGE_SHMEM, p[0].flags);
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE | SHADOW_PAGE_YOUNG |
		  SHADOW_PAGE_DIRTY | SHADOW_PAGE_SHMEM, p[1].flags);
	EXPECT_NE(0, p[0].page_id);
	EXPECT_EQ(1, p[1].mapcount);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(2, st.out_rss_shmem);
	EXPECT_EQ(0, st.out_rss_anon);

	/* Unmap and map again: a new object, zero-filled. */
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, 2 * PAGE));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_shmem);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, SHARED_FIXED,
				  NULL));
	ASSERT_EQ(5, _shadow_access(self->mfd, BASE + PAGE, buf, 5, 0));
	EXPECT_EQ(0, memcmp(buf, "\0\0\0\0\0", 5));
}

/*
 * A shared anonymous object is as large as the mapping that made it
 * (shmem_zero_setup's i_size): mremap may map more of it, but a fault past
 * its end is a SIGBUS (-EFAULT), a forced access stops there, mlock fails
 * with ENOMEM after locking, MADV_POPULATE_READ with EFAULT. The same
 * steps in this process give the real kernel's answers.
 */
TEST_F(pt, shared_object_ends_at_its_size)
{
	const unsigned long win = 0x200000000000UL;
	struct shadow_mm_fault f = {
		.size = sizeof(f), .flags = SHADOW_FAULT_WRITE,
		.addr = BASE + 2 * PAGE, .len = PAGE,
	};
	struct shadow_page_info pg[4];
	char buf[4 * PAGE];
	int fd, status, real_mlock, real_populate;
	ssize_t real_peek;
	__u64 nr, out;
	void *p;
	pid_t pid;

	/* The real kernel. */
	p = mmap((void *)win, 2 * PAGE, RW, SHARED_FIXED, -1, 0);
	ASSERT_EQ((void *)win, p);
	ASSERT_EQ(p, mremap(p, 2 * PAGE, 4 * PAGE, 0));
	fd = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, fd);
	real_peek = pread(fd, buf, sizeof(buf), win + PAGE);
	close(fd);
	real_mlock = mlock(p, 4 * PAGE) ? errno : 0;
	munlock(p, 4 * PAGE);
	real_populate = madvise(p, 4 * PAGE, MADV_POPULATE_READ) ? errno : 0;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		__atomic_store_n((char *)p + 2 * PAGE, 1, __ATOMIC_RELAXED);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	munmap(p, 4 * PAGE);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	EXPECT_EQ(PAGE, real_peek);
	EXPECT_EQ(ENOMEM, real_mlock);
	EXPECT_EQ(EFAULT, real_populate);

	/* The shadow space. */
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, SHARED_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mremap(self->mfd, BASE, 2 * PAGE, 4 * PAGE, 0, 0,
				    &out));
	ASSERT_EQ(BASE, out);
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE, 4 * PAGE,
					 SHADOW_FAULT_WRITE, &nr));
	EXPECT_EQ(2, nr);
	/* The real child's signal, named. */
	EXPECT_EQ(-EFAULT, shadow_ioctl(self->mfd, SHADOW_MM_FAULT, &f));
	EXPECT_EQ(SIGBUS, f.out_signal);
	EXPECT_EQ(real_peek, _shadow_access(self->mfd, BASE + PAGE, buf,
					    sizeof(buf),
					    SHADOW_ACCESS_FORCE));
	EXPECT_EQ(-real_mlock, _shadow_mlock(self->mfd, BASE, 4 * PAGE, 0));
	EXPECT_EQ(0, _shadow_munlock(self->mfd, BASE, 4 * PAGE));
	EXPECT_EQ(-real_populate, _shadow_madvise(self->mfd, BASE, 4 * PAGE,
						  MADV_POPULATE_READ));
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 4, pg));
	EXPECT_EQ(SHADOW_PAGE_PRESENT, pg[1].flags & SHADOW_PAGE_PRESENT);
	EXPECT_EQ(0, pg[2].flags);
	EXPECT_EQ(0, pg[3].flags);
	EXPECT_EQ(2, shadow_stats(_metadata, self->mfd).out_rss_shmem);
}

/*
 * SHADOW_RULE_POPULATE_STOPS_AT_HOLE: MADV_POPULATE_READ over
 *   |hole|RW|RW|hole|NONE|
 * On 6.1 every VMA is visited: the RW pages are populated and the
 * PROT_NONE VMA's EINVAL wins over the holes' ENOMEM. Since 6.9 the call
 * stops with ENOMEM at the first hole: from the start nothing is
 * populated, from the RW VMA its pages are. Each call is made in this
 * process first, and the shadow space must answer as it did.
 */
TEST_F(pt, populate_hole_then_unreadable)
{
	const unsigned long win = 0x200000000000UL;
	const bool stops = shadow_rules_since(6, 9);
	const unsigned long from[] = { 0, PAGE };
	struct shadow_page_info pg[2];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		unsigned long len = 5 * PAGE - from[i];
		int real_err, want_err;
		bool real_present;

		/* The real kernel. */
		ASSERT_EQ(0, munmap((void *)win, 5 * PAGE));
		ASSERT_EQ((void *)(win + PAGE),
			  mmap((void *)(win + PAGE), 2 * PAGE, RW, PRIV_FIXED,
			       -1, 0));
		ASSERT_EQ((void *)(win + 4 * PAGE),
			  mmap((void *)(win + 4 * PAGE), PAGE, PROT_NONE,
			       PRIV_FIXED,
			       -1, 0));
		real_err = madvise((void *)(win + from[i]), len,
				   MADV_POPULATE_READ) ? errno : 0;
		real_present = pagemap_entry(win + PAGE) & PM_PRESENT;
		ASSERT_EQ(0, munmap((void *)win, 5 * PAGE));

		want_err = stops ? ENOMEM : EINVAL;
		EXPECT_EQ(want_err, real_err);
		EXPECT_EQ(!stops || from[i], real_present);

		/* The shadow space. */
		ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, 5 * PAGE));
		ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + PAGE, 2 * PAGE, RW,
					  PRIV_FIXED, NULL));
		ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 4 * PAGE, PAGE,
					  PROT_NONE, PRIV_FIXED, NULL));
		EXPECT_EQ(-real_err, _shadow_madvise(self->mfd, BASE + from[i],
						     len, MADV_POPULATE_READ));
		ASSERT_EQ(0, _shadow_walk(self->mfd, BASE + PAGE, 2, pg));
		EXPECT_EQ(real_present, !!(pg[0].flags & SHADOW_PAGE_PRESENT));
		EXPECT_EQ(real_present, !!(pg[1].flags & SHADOW_PAGE_PRESENT));
	}
}

/* A shared mapping split by munmap keeps one object: contents survive. */
TEST_F(pt, shared_split_keeps_pages)
{
	char buf[8] = "";

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, SHARED_FIXED,
				  NULL));
	ASSERT_EQ(4, _shadow_access(self->mfd, BASE + 3 * PAGE, "tail", 4,
				    SHADOW_ACCESS_WRITE));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + PAGE, PAGE));
	ASSERT_EQ(4, _shadow_access(self->mfd, BASE + 3 * PAGE, buf, 4, 0));
	EXPECT_STREQ("tail", buf);
}

/*
 * Page-table pages per level, and when they go: two pages either side of
 * a 2 MiB, a 1 GiB and a 512 GiB boundary.
 */
TEST_F(pt, pagetables_per_level)
{
	static const struct {
		unsigned long boundary;
		unsigned long puds, pmds, ptes;
	} cases[] = {
		{ BASE + 3 * MB2, 1, 1, 2 },		/* 2 MiB */
		{ BASE + 5 * GB, 1, 2, 2 },		/* 1 GiB */
		{ BASE + 512 * GB, 2, 2, 2 },		/* 512 GiB */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned long b = cases[i].boundary;
		struct shadow_mm_stats st;

		TH_LOG("boundary %#lx", b);
		ASSERT_EQ(0, _shadow_mmap(self->mfd, b - PAGE, 2 * PAGE, RW,
					  PRIV_FIXED, NULL));
		ASSERT_EQ(0, _shadow_fault(self->mfd, b - PAGE, 2 * PAGE,
					   SHADOW_FAULT_WRITE, NULL));
		st = shadow_stats(_metadata, self->mfd);
		EXPECT_EQ(cases[i].puds, st.out_nr_puds);
		EXPECT_EQ(cases[i].pmds, st.out_nr_pmds);
		EXPECT_EQ(cases[i].ptes, st.out_nr_ptes);
		EXPECT_EQ(2, st.out_rss_anon);

		/* The upper page goes: its tables go, the lower's stay. */
		ASSERT_EQ(0, _shadow_munmap(self->mfd, b, PAGE));
		st = shadow_stats(_metadata, self->mfd);
		EXPECT_EQ(1, st.out_nr_puds);
		EXPECT_EQ(1, st.out_nr_pmds);
		EXPECT_EQ(1, st.out_nr_ptes);
		EXPECT_EQ(1, st.out_rss_anon);

		/* The last page under them goes: every table goes. */
		ASSERT_EQ(0, _shadow_munmap(self->mfd, b - PAGE, PAGE));
		st = shadow_stats(_metadata, self->mfd);
		EXPECT_EQ(0, st.out_nr_puds);
		EXPECT_EQ(0, st.out_nr_pmds);
		EXPECT_EQ(0, st.out_nr_ptes);
		EXPECT_EQ(0, st.out_rss_anon);
	}
}

/* A table shared with a neighbour VMA stays until the neighbour goes. */
TEST_F(pt, pagetable_kept_for_neighbour)
{
	struct shadow_mm_stats st;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, PAGE, RW, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 2 * PAGE, PAGE, PROT_READ,
				  PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 2 * PAGE, PAGE, 0, NULL));
	ASSERT_EQ(1, shadow_stats(_metadata, self->mfd).out_nr_ptes);
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, PAGE));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(1, st.out_nr_ptes);
	EXPECT_EQ(0, st.out_rss_anon);
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + 2 * PAGE, PAGE));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_nr_ptes);
}

/* munmap of a populated range across 2 MiB and 1 GiB boundaries. */
TEST_F(pt, munmap_populated_across_boundaries)
{
	const unsigned long start = BASE + GB - MB2 - 4 * PAGE;
	const unsigned long len = 2 * MB2 + 8 * PAGE;
	struct shadow_mm_stats st;
	char buf[8];
	long before;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, start, len, RW, PRIV_FIXED, NULL));
	before = shadow_counter("pages");
	ASSERT_EQ(0, _shadow_fault(self->mfd, start, len, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(4, _shadow_access(self->mfd, start, "head", 4,
				    SHADOW_ACCESS_WRITE));
	ASSERT_EQ(4, _shadow_access(self->mfd, start + len - PAGE, "tail", 4,
				    SHADOW_ACCESS_WRITE));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(len / PAGE, st.out_rss_anon);
	/* [start, +len) spans PTE tables at 4 2 MiB slots, 2 PMD tables. */
	EXPECT_EQ(4, st.out_nr_ptes);
	EXPECT_EQ(2, st.out_nr_pmds);
	EXPECT_EQ(1, st.out_nr_puds);
	EXPECT_EQ(before + len / PAGE + 4 + 2 + 1, shadow_counter("pages"));

	/* Unmap all but the first and the last page. */
	ASSERT_EQ(0, _shadow_munmap(self->mfd, start + PAGE, len - 2 * PAGE));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(2, st.out_rss_anon);
	EXPECT_EQ(2, st.out_nr_ptes);
	EXPECT_EQ(2, st.out_nr_pmds);
	EXPECT_EQ(before + 2 + 2 + 2 + 1, shadow_counter("pages"));
	ASSERT_EQ(4, _shadow_access(self->mfd, start, buf, 4, 0));
	EXPECT_EQ(0, memcmp(buf, "head", 4));
	ASSERT_EQ(4, _shadow_access(self->mfd, start + len - PAGE, buf, 4, 0));
	EXPECT_EQ(0, memcmp(buf, "tail", 4));
}

/* MAP_FIXED over populated memory drops the old pages. */
TEST_F(pt, map_fixed_over_populated)
{
	char buf[4];

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(4, _shadow_access(self->mfd, BASE + PAGE, "old!", 4,
				    SHADOW_ACCESS_WRITE));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + PAGE, PAGE, RW, PRIV_FIXED,
				  NULL));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_anon);
	ASSERT_EQ(4, _shadow_access(self->mfd, BASE + PAGE, buf, 4, 0));
	EXPECT_EQ(0, memcmp(buf, "\0\0\0\0", 4));
}

/* Exit frees every page and table at once, before the fd is closed. */
TEST_F(pt, exit_frees_everything)
{
	long pages;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 64 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + GB, 64 * PAGE, RW,
				  SHARED_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 64 * PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + GB, 64 * PAGE, 0, NULL));
	pages = shadow_counter("pages");
	EXPECT_LE(self->pages + 1 + 128 + 3, pages);
	ASSERT_EQ(0, _shadow_exit(self->mfd));
	/* The last user gone, nothing holds the mm: even its PGD goes. */
	EXPECT_EQ(self->pages, shadow_counter("pages"));
}

/* The page walk rejects bad arguments. */
TEST_F(pt, walk_bad_input)
{
	struct shadow_page_info p, top[64];
	struct shadow_mm_walk w = { .size = sizeof(w) };

	EXPECT_EQ(-EINVAL, _shadow_walk_raw(self->mfd, BASE + 1, 1, &p));
	EXPECT_EQ(-EINVAL, _shadow_walk_raw(self->mfd, BASE, 1UL << 21, &p));
	EXPECT_EQ(-EINVAL, _shadow_walk_raw(self->mfd, -PAGE, 2, &p));
	EXPECT_EQ(-EFAULT, _shadow_walk_raw(self->mfd, BASE, 1, (void *)8));
	w.flags = 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_WALK, &w));
	/* The limit, and the record size and reserved field. */
	w = (struct shadow_mm_walk){ .size = sizeof(w), .addr = BASE,
				     .nr_pages = SHADOW_WALK_MAX_PAGES + 1,
				     .pages = 8 };
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_WALK, &w));
	w.nr_pages = SHADOW_WALK_MAX_PAGES;
	EXPECT_EQ(-EFAULT, shadow_ioctl(self->mfd, SHADOW_MM_WALK, &w));
	w.nr_pages = 1;
	w.pages = (uintptr_t)&p;
	w.__reserved = 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_WALK, &w));
	w.__reserved = 0;
	{
		static const __u32 bad[] = {
			8, SHADOW_PAGE_INFO_SIZE_VER0 + 4,
			SHADOW_REC_SIZE_MAX + 8, -8u,
		};

		for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
			w.rec_size = bad[i];
			EXPECT_EQ(-EINVAL,
				  shadow_ioctl(self->mfd, SHADOW_MM_WALK, &w));
		}
	}
	w.rec_size = SHADOW_PAGE_INFO_SIZE_VER0;
	EXPECT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_WALK, &w));
	/* Unmapped and kernel-half addresses are just not present. */
	ASSERT_EQ(0, _shadow_walk(self->mfd, 0xffff800000000000UL, 1, &p));
	EXPECT_EQ(0, p.flags);
	/*
	 * A range that ends exactly at 2^64 wraps too: refused, never a
	 * batch past the top (whose end would be 0).
	 */
	EXPECT_EQ(-EINVAL, _shadow_walk_raw(self->mfd, -64 * PAGE, 64, top));
	EXPECT_EQ(-EINVAL, _shadow_walk_raw(self->mfd, -PAGE, 1, top));
}

/*
 * Records at user space's size: the kernel's record, then zeroes, for more
 * pages than the walk fills at once (64), so that its copy-out strides
 * across batches.
 */
TEST_F(pt, walk_rec_size)
{
	static const __u32 good[] = {
		0, SHADOW_PAGE_INFO_SIZE_VER0, SHADOW_PAGE_INFO_SIZE_VER0 + 8,
		SHADOW_REC_SIZE_MAX,
	};
	const unsigned long n = 70;
	struct shadow_mm_walk w = {
		.size = sizeof(w), .addr = BASE, .nr_pages = n,
	};
	struct shadow_page_info ref[70];
	unsigned long i, j, stride;
	char *buf;

	buf = malloc((n + 1) * SHADOW_REC_SIZE_MAX);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, n * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + PAGE, PAGE, 0, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 66 * PAGE, PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	ASSERT_EQ(0, _shadow_walk_raw(self->mfd, BASE, n, ref));
	EXPECT_NE(0, ref[0].flags & SHADOW_PAGE_PRESENT);
	EXPECT_NE(0, ref[1].flags & SHADOW_PAGE_ZERO);
	EXPECT_NE(0, ref[66].flags & SHADOW_PAGE_PRESENT);

	w.pages = (uintptr_t)buf;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		stride = good[i] ?: SHADOW_PAGE_INFO_SIZE_VER0;
		memset(buf, 0xaa, (n + 1) * SHADOW_REC_SIZE_MAX);
		w.rec_size = good[i];
		ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_WALK, &w));
		for (j = 0; j < n; j++)
			EXPECT_EQ(0, memcmp(&ref[j], buf + j * stride,
					    stride < sizeof(ref[j]) ?
					    stride : sizeof(ref[j]))) {
				TH_LOG("rec_size %u, page %lu", good[i], j);
			}
		/* Zero past the kernel's record, nothing past the last. */
		for (j = 0; j < n * stride; j++)
			if (j % stride >= sizeof(ref[0]) && buf[j])
				break;
		EXPECT_EQ(n * stride, j);
		EXPECT_EQ((char)0xaa, buf[n * stride]);
	}
	free(buf);
}

/*
 * The walk of the 3 pages at BASE into @sp, whose SHADOW_PAGE_MMAP_EXCLUSIVE
 * bits must be pagemap's PM_MMAP_EXCLUSIVE bits of the same pages at @real.
 */
static void walk_as_pagemap(struct __test_metadata *_metadata, int mfd,
			    const char *real, struct shadow_page_info *sp,
			    const char *when)
{
	int i;

	ASSERT_EQ(0, _shadow_walk_raw(mfd, BASE, 3, sp));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(!!(pagemap_entry((unsigned long)real + i * PAGE) &
			     PM_MMAP_EXCLUSIVE),
			  !!(sp[i].flags & SHADOW_PAGE_MMAP_EXCLUSIVE)) {
			TH_LOG("page %d %s", i, when);
		}
}

/*
 * SHADOW_PAGE_MMAP_EXCLUSIVE is pagemap's "mapped exactly once": checked
 * against this process's own pagemap, page by page, for a written page, a
 * read one (the zero page), an untouched one, and a written one after a
 * fork (mapped twice) on both sides.
 */
TEST_F(pt, mmap_exclusive_matches_pagemap)
{
	struct shadow_page_info sp[3];
	int go[2], child_fd;
	char *real;
	pid_t pid;

	real = mmap(NULL, 3 * PAGE, RW, PRIV, -1, 0);
	ASSERT_NE(MAP_FAILED, real);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 3 * PAGE, RW, PRIV_FIXED,
				  NULL));
	real[0] = 1;
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, real[PAGE]);
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + PAGE, PAGE, 0, NULL));

	walk_as_pagemap(_metadata, self->mfd, real, sp, "before fork");
	EXPECT_NE(0, sp[0].flags & SHADOW_PAGE_MMAP_EXCLUSIVE);

	/* A real child that holds its copy until told to go. */
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char c;

		close(go[1]);
		_exit(read(go[0], &c, 1) < 0);
	}
	close(go[0]);
	child_fd = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child_fd);

	walk_as_pagemap(_metadata, self->mfd, real, sp, "after fork");
	EXPECT_EQ(0, sp[0].flags & SHADOW_PAGE_MMAP_EXCLUSIVE);
	EXPECT_EQ(2, sp[0].mapcount);
	/* Still anon-exclusive in neither: the two bits differ here. */
	EXPECT_EQ(0, sp[0].flags & SHADOW_PAGE_ANON_EXCLUSIVE);

	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	close(child_fd);
	munmap(real, 3 * PAGE);
}

/* SHADOW_MM_FAULT of one page: its result, and *@signal. */
static int fault_signal(int mfd, __u64 addr, unsigned int flags,
			__u32 *signal)
{
	struct shadow_mm_fault f = {
		.size = sizeof(f), .flags = flags, .addr = addr, .len = PAGE,
		.out_signal = 0xdead, .__reserved = 0xdead,
	};
	int ret = shadow_ioctl(mfd, SHADOW_MM_FAULT, &f);

	*signal = f.__reserved ? 0xbad : f.out_signal;
	return ret;
}

/* The signal a child of this process gets touching @p, or 0. */
static int real_signal(char *p, bool write)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		if (write)
			__atomic_store_n(p, 1, __ATOMIC_RELAXED);
		else
			(void)__atomic_load_n(p, __ATOMIC_RELAXED);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/*
 * out_signal names the signal a process would get where SHADOW_MM_FAULT
 * fails with -EFAULT, and the real kernel agrees: SIGSEGV for a hole, a
 * write to read-only memory, a read of PROT_NONE; SIGBUS for a file page
 * past the end of its file; 0 where the access works. The same layout is
 * made in this process and in the shadow space:
 *
 *   0 RW | 1 R | 2 hole | 3 NONE | 4, 5 a one-page file, MAP_SHARED
 */
TEST_F(pt, fault_out_signal)
{
	const unsigned long win = 0x200000000000UL;
	static const struct {
		int pg;
		unsigned int flags;
	} c[] = {
		{ 0, 0 }, { 0, SHADOW_FAULT_WRITE }, { 1, 0 },
		{ 1, SHADOW_FAULT_WRITE }, { 2, 0 }, { 2, SHADOW_FAULT_WRITE },
		{ 3, 0 }, { 4, SHADOW_FAULT_WRITE }, { 5, 0 },
		{ 5, SHADOW_FAULT_WRITE },
	};
	struct shadow_mm_fault v1 = {
		.size = offsetof(struct shadow_mm_fault, out_signal),
		.addr = BASE + 2 * PAGE, .len = PAGE,
	};
	int fd, real, ret;
	unsigned int i;
	__u32 sig;
	char *p;

	fd = memfd_create("fault_out_signal", MFD_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, PAGE));

	p = mmap((void *)win, 4 * PAGE, RW, PRIV, -1, 0);
	ASSERT_EQ((void *)win, p);
	ASSERT_EQ(0, mprotect(p + PAGE, PAGE, PROT_READ));
	ASSERT_EQ(0, munmap(p + 2 * PAGE, PAGE));
	ASSERT_EQ(0, mprotect(p + 3 * PAGE, PAGE, PROT_NONE));
	ASSERT_EQ(p + 4 * PAGE, mmap(p + 4 * PAGE, 2 * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, fd, 0));

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV, NULL));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE + PAGE, PAGE,
				      PROT_READ));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + 2 * PAGE, PAGE));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE + 3 * PAGE, PAGE,
				      PROT_NONE));
	{
		struct shadow_mm_mmap m = {
			.size = sizeof(m), .addr = BASE + 4 * PAGE,
			.len = 2 * PAGE, .prot = RW,
			.map_flags = MAP_SHARED | MAP_FIXED, .fd = fd,
		};

		ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_MMAP, &m));
	}

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		real = real_signal(p + c[i].pg * PAGE,
				   c[i].flags & SHADOW_FAULT_WRITE);
		ret = fault_signal(self->mfd, BASE + c[i].pg * PAGE,
				   c[i].flags, &sig);
		EXPECT_EQ(real, (int)sig) {
			TH_LOG("page %d flags %u", c[i].pg, c[i].flags);
		}
		EXPECT_EQ(real ? -EFAULT : 0, ret);
	}
	/* The expected answers, lest both sides agree on a wrong one. */
	EXPECT_EQ(SIGSEGV, real_signal(p + 2 * PAGE, false));
	EXPECT_EQ(SIGSEGV, real_signal(p + PAGE, true));
	EXPECT_EQ(SIGBUS, real_signal(p + 5 * PAGE, false));
	EXPECT_EQ(0, real_signal(p + 4 * PAGE, true));

	/* A struct of the first version's size still faults. */
	EXPECT_EQ(-EFAULT, shadow_ioctl(self->mfd, SHADOW_MM_FAULT, &v1));
	EXPECT_EQ(0, v1.out_signal);

	munmap(p, 6 * PAGE);
	close(fd);
}

/*
 * The real kernel agrees on presence: a read maps the zero page (one pfn
 * for all), a write a page of its own, an untouched page nothing.
 */
TEST_F(pt, presence_matches_pagemap)
{
	const unsigned long win = 0x200000000000UL;
	struct shadow_page_info p[4];
	char *r;
	__u64 pm[4];
	int fd, i;

	r = mmap((void *)win, 4 * PAGE, RW, PRIV_FIXED, -1, 0);
	ASSERT_EQ((void *)win, (void *)r);
	/* Real CPU touches, which the compiler must not drop. */
	__atomic_load_n(&r[PAGE], __ATOMIC_RELAXED);
	__atomic_load_n(&r[3 * PAGE], __ATOMIC_RELAXED);
	__atomic_store_n(&r[2 * PAGE], 1, __ATOMIC_RELAXED);
	fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(pm), pread(fd, pm, sizeof(pm), win / PAGE * 8));
	close(fd);

	ASSERT_EQ(0, _shadow_mmap(self->mfd, win, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, win + PAGE, PAGE, 0, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, win + 3 * PAGE, PAGE, 0, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, win + 2 * PAGE, PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	ASSERT_EQ(0, _shadow_walk(self->mfd, win, 4, p));
	for (i = 0; i < 4; i++) {
		int present = !!(p[i].flags & SHADOW_PAGE_PRESENT);

		EXPECT_EQ(!!(pm[i] >> 63), present);
	}
	/* Both read pages are one page (the zero page) in each kernel. */
	EXPECT_EQ(pm[1] & ((1ULL << 55) - 1), pm[3] & ((1ULL << 55) - 1));
	EXPECT_NE(pm[1] & ((1ULL << 55) - 1), pm[2] & ((1ULL << 55) - 1));
	EXPECT_EQ(SHADOW_PAGE_ZERO, p[1].flags & SHADOW_PAGE_ZERO);
	EXPECT_EQ(SHADOW_PAGE_ZERO, p[3].flags & SHADOW_PAGE_ZERO);
	EXPECT_EQ(0, p[2].flags & SHADOW_PAGE_ZERO);
	/* The written page is exclusively mapped in both (pagemap bit 56). */
	EXPECT_EQ(1, (pm[2] >> 56) & 1);
	EXPECT_EQ(SHADOW_PAGE_ANON_EXCLUSIVE,
		  p[2].flags & SHADOW_PAGE_ANON_EXCLUSIVE);
	munmap((void *)win, 4 * PAGE);
}

struct racer {
	int mfd;
	int id;
	int *stop;
	long ops;
};

static void *racer(void *arg)
{
	struct racer *r = arg;
	unsigned int seed = r->id;
	char buf[64];

	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
		unsigned long pg = rand_r(&seed) % 64;
		unsigned long addr = BASE + pg * PAGE;

		switch (rand_r(&seed) % 5) {
		case 0:
			_shadow_munmap(r->mfd, addr, (rand_r(&seed) % 4 + 1) *
				       PAGE);
			break;
		case 1:
			_shadow_mmap(r->mfd, addr, (rand_r(&seed) % 4 + 1) *
				     PAGE, RW, rand_r(&seed) % 3 ? PRIV_FIXED :
				     SHARED_FIXED, NULL);
			break;
		case 2:
			_shadow_fault(r->mfd, addr, 4 * PAGE,
				      rand_r(&seed) % 2 ? SHADOW_FAULT_WRITE : 0,
				      NULL);
			break;
		case 3:
			memset(buf, r->id, sizeof(buf));
			_shadow_access(r->mfd, addr + 4000, buf, sizeof(buf),
				       SHADOW_ACCESS_WRITE);
			break;
		default:
			_shadow_access(r->mfd, addr + 100, buf, sizeof(buf), 0);
			break;
		}
		__atomic_add_fetch(&r->ops, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * Threads faulting, writing and reading while others map and unmap the
 * same space: no crash, counters consistent, nothing leaked.
 */
TEST_F_TIMEOUT(pt, concurrent_faults_and_munmap, 90)
{
	/* Racers map up to 4 pages from page 63: walk 67 and more. */
	struct shadow_page_info p[72];
	struct racer r[4];
	pthread_t t[4];
	struct shadow_mm_stats st;
	unsigned long present = 0;
	int stop = 0, i, tenths;
	long ops = 0;

	for (i = 0; i < 4; i++) {
		r[i] = (struct racer){ self->mfd, i + 1, &stop, 0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, racer, &r[i]));
	}
	/*
	 * At least 2 s and 1000 operations: a debug kernel on a loaded
	 * host may need longer for them (60 s at most).
	 */
	for (tenths = 0; tenths < 600; tenths++) {
		for (ops = 0, i = 0; i < 4; i++)
			ops += __atomic_load_n(&r[i].ops, __ATOMIC_RELAXED);
		if (tenths >= 20 && ops > 1000)
			break;
		usleep(100000);
	}
	ops = 0;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ops += r[i].ops;
	}
	TH_LOG("%ld operations", ops);
	EXPECT_LT(1000, ops);
	ASSERT_EQ(0, _shadow_walk(self->mfd, BASE, 72, p));
	for (i = 0; i < 72; i++)
		if ((p[i].flags & SHADOW_PAGE_PRESENT) &&
		    !(p[i].flags & SHADOW_PAGE_ZERO))
			present++;
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(present, st.out_rss_anon + st.out_rss_shmem);
}

TEST_HARNESS_MAIN
