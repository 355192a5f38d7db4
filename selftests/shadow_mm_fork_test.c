// SPDX-License-Identifier: GPL-2.0
/*
 * fork of shadow address spaces: dup_mmap and copy_page_range, copy-on-write
 * with Linux 6.1's reuse rule, shared mappings across fork, three
 * generations closed in every order, CLONE_VM-style users, the same
 * scenario against a real fork(), and forks racing faults.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

FIXTURE(fork) {
	int dev;
	int mfd;
	long pages;
};

/*
 * Every fork twice: a plain one and an on-demand one (SHADOW_FORK_ODF),
 * which must look the same but for the shared PTE tables.
 */
FIXTURE_VARIANT(fork) {
	unsigned int flags;
};

FIXTURE_VARIANT_ADD(fork, plain) { .flags = 0 };
FIXTURE_VARIANT_ADD(fork, odf) { .flags = SHADOW_FORK_ODF };

FIXTURE_SETUP(fork)
{
	self->pages = shadow_counter("pages");
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(fork)
{
	close(self->mfd);
	close(self->dev);
	EXPECT_EQ(self->pages, shadow_counter("pages"));
	EXPECT_EQ(0, shadow_counter("vmas"));
	/* Every anon_vma went with its VMAs and pages, forked ones too. */
	EXPECT_EQ(0, shadow_counter("anon_vmas"));
}

/*
 * Parent writes, fork: both see the data in one shared, write-protected
 * page; the child's write copies; the parent's write then reuses the page
 * in place, because only its own mapping holds it.
 */
TEST_F(fork, cow_then_reuse)
{
	struct shadow_page_info pp, cp;
	struct shadow_mm_stats st;
	__u32 id = 0, pid;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	shadow_put(_metadata, self->mfd, BASE, "parent");
	shadow_put(_metadata, self->mfd, BASE + PAGE, "untouched");
	pid = shadow_stats(_metadata, self->mfd).out_id;
	child = _shadow_fork(self->mfd, variant->flags, &id);
	ASSERT_LE(0, child);
	EXPECT_NE(pid, id);

	pp = shadow_page(_metadata, self->mfd, BASE);
	cp = shadow_page(_metadata, child, BASE);
	EXPECT_EQ(pp.page_id, cp.page_id);
	EXPECT_EQ(2, pp.mapcount);
	EXPECT_EQ(0, pp.flags & (SHADOW_PAGE_WRITE | SHADOW_PAGE_ANON_EXCLUSIVE));
	EXPECT_EQ(0, cp.flags & (SHADOW_PAGE_WRITE | SHADOW_PAGE_ANON_EXCLUSIVE));
	/*
	 * The child's copy is old; the parent's PTE keeps its young bit.
	 * An on-demand fork's shared table carries the parent's accessed
	 * bits, and the child sees its PTEs old all the same.
	 */
	EXPECT_EQ(0, cp.flags & SHADOW_PAGE_YOUNG);
	EXPECT_EQ(SHADOW_PAGE_YOUNG, pp.flags & SHADOW_PAGE_YOUNG);
	shadow_expect(_metadata, child, BASE, "parent");
	EXPECT_EQ(2, shadow_stats(_metadata, child).out_rss_anon);

	shadow_put(_metadata, child, BASE, "child!");
	cp = shadow_page(_metadata, child, BASE);
	EXPECT_NE(pp.page_id, cp.page_id);
	EXPECT_EQ(1, cp.mapcount);
	st = shadow_stats(_metadata, child);
	EXPECT_EQ(1, st.out_cow_copies);
	EXPECT_EQ(0, st.out_cow_reuses);
	shadow_expect(_metadata, self->mfd, BASE, "parent");

	/* Only the parent's mapping holds the old page now: reuse. */
	shadow_put(_metadata, self->mfd, BASE, "PARENT");
	EXPECT_EQ(pp.page_id, shadow_page(_metadata, self->mfd, BASE).page_id);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_cow_copies);
	EXPECT_EQ(1, st.out_cow_reuses);
	shadow_expect(_metadata, child, BASE, "child!");

	/* The untouched page is still one page in both. */
	EXPECT_EQ(shadow_page(_metadata, self->mfd, BASE + PAGE).page_id,
		  shadow_page(_metadata, child, BASE + PAGE).page_id);
	close(child);
}

/* Once the child has exited, the parent's write reuses without a copy. */
TEST_F(fork, reuse_after_child_exit)
{
	struct shadow_page_info before;
	struct shadow_mm_stats st;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, PAGE, RW, PRIV_FIXED, NULL));
	shadow_put(_metadata, self->mfd, BASE, "x");
	before = shadow_page(_metadata, self->mfd, BASE);
	child = _shadow_fork(self->mfd, variant->flags, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_exit(child));
	EXPECT_EQ(1, shadow_page(_metadata, self->mfd, BASE).mapcount);
	shadow_put(_metadata, self->mfd, BASE, "y");
	EXPECT_EQ(before.page_id, shadow_page(_metadata, self->mfd,
					      BASE).page_id);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(1, st.out_cow_reuses);
	EXPECT_EQ(0, st.out_cow_copies);
	close(child);
}

/* Once the child has unmapped the page, the parent's write reuses it. */
TEST_F(fork, reuse_after_child_munmap)
{
	struct shadow_page_info before;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	shadow_put(_metadata, self->mfd, BASE, "x");
	before = shadow_page(_metadata, self->mfd, BASE);
	child = _shadow_fork(self->mfd, variant->flags, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_munmap(child, BASE, PAGE));
	shadow_put(_metadata, self->mfd, BASE, "y");
	EXPECT_EQ(before.page_id, shadow_page(_metadata, self->mfd,
					      BASE).page_id);
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_cow_reuses);
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_cow_copies);
	close(child);
}

/* While the child still maps the page, the parent's write copies. */
TEST_F(fork, copy_while_shared)
{
	struct shadow_page_info before;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, PAGE, RW, PRIV_FIXED, NULL));
	shadow_put(_metadata, self->mfd, BASE, "x");
	before = shadow_page(_metadata, self->mfd, BASE);
	child = _shadow_fork(self->mfd, variant->flags, NULL);
	ASSERT_LE(0, child);
	shadow_put(_metadata, self->mfd, BASE, "y");
	EXPECT_NE(before.page_id, shadow_page(_metadata, self->mfd,
					      BASE).page_id);
	EXPECT_EQ(before.page_id, shadow_page(_metadata, child, BASE).page_id);
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_cow_copies);
	shadow_expect(_metadata, child, BASE, "x");
	close(child);
}

/*
 * The same scenario with a real fork(): the parent's page is reused (same
 * pfn) once the child is gone, copied (new pfn) while the child lives.
 * Parent and child run on one CPU: 6.12's wp_can_reuse_anon_folio()
 * drains only the local CPU's LRU batch, so a reference the exiting
 * child left in another CPU's batch makes it copy now and then.
 */
TEST(real_fork_agrees)
{
	const unsigned long win = 0x200000000000UL;
	int pm = open("/proc/self/pagemap", O_RDONLY);
	cpu_set_t one;
	char *p;
	__u64 e0, e1, e2;
	int status, pipefd[2];
	pid_t pid;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	ASSERT_LE(0, pm);
	p = mmap((void *)win, PAGE, RW, PRIV_FIXED, -1, 0);
	ASSERT_EQ((void *)win, (void *)p);
	__atomic_store_n(&p[0], 'x', __ATOMIC_RELAXED);
	ASSERT_EQ(8, pread(pm, &e0, 8, win / PAGE * 8));

	/* Child exits at once: the parent's write then reuses the page. */
	pid = fork();
	if (!pid)
		_exit(__atomic_load_n(&p[0], __ATOMIC_RELAXED) == 'x' ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	__atomic_store_n(&p[0], 'y', __ATOMIC_RELAXED);
	ASSERT_EQ(8, pread(pm, &e1, 8, win / PAGE * 8));
	EXPECT_EQ(e0 & ((1ULL << 55) - 1), e1 & ((1ULL << 55) - 1));

	/* Child alive: the parent's write copies. */
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	if (!pid) {
		char c;

		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) != 0)
			_exit(2);
		_exit(__atomic_load_n(&p[0], __ATOMIC_RELAXED) == 'y' ? 0 : 1);
	}
	close(pipefd[0]);
	__atomic_store_n(&p[0], 'z', __ATOMIC_RELAXED);
	ASSERT_EQ(8, pread(pm, &e2, 8, win / PAGE * 8));
	EXPECT_NE(e1 & ((1ULL << 55) - 1), e2 & ((1ULL << 55) - 1));
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	/* The child still saw the value from before the parent's write. */
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(pm);
	munmap((void *)win, PAGE);
}

/* Shared anonymous memory stays shared across fork, in both directions. */
TEST_F(fork, shared_stays_shared)
{
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, SHARED_FIXED,
				  NULL));
	shadow_put(_metadata, self->mfd, BASE, "before");
	child = _shadow_fork(self->mfd, variant->flags, NULL);
	ASSERT_LE(0, child);
	/* Shared VMAs are not copied: the child faults them in later. */
	EXPECT_EQ(0, shadow_stats(_metadata, child).out_rss_shmem);
	shadow_expect(_metadata, child, BASE, "before");
	shadow_put(_metadata, self->mfd, BASE + PAGE, "from parent");
	shadow_put(_metadata, child, BASE, "from child");
	shadow_expect(_metadata, child, BASE + PAGE, "from parent");
	shadow_expect(_metadata, self->mfd, BASE, "from child");
	EXPECT_EQ(shadow_page(_metadata, self->mfd, BASE).page_id,
		  shadow_page(_metadata, child, BASE).page_id);
	EXPECT_EQ(2, shadow_page(_metadata, child, BASE).mapcount);
	EXPECT_EQ(SHADOW_PAGE_WRITE, shadow_page(_metadata, child, BASE).flags &
		  SHADOW_PAGE_WRITE);
	close(child);
}

/*
 * A read fault in a shared mapping maps the object's pages around it that
 * are already there (fault-around: 16 pages from the 64 KiB block of the
 * address, or from the VMA's start), in the shadow child as in a real one.
 * The VMA starts mid-block: pages 12..51 of BASE; the parent wrote some.
 */
TEST_F(fork, shared_read_faults_around)
{
	static const int written[] = { 12, 14, 20, 31, 33, 47 };
	static const int touched[] = { 13, 40 };
	/* [12, 28) around 13; [32, 48) around 40; 31 is in neither. */
	const char *want = "PPP.....P............P......P......P....";
	const unsigned long start = BASE + 12 * PAGE, npages = 40;
	struct shadow_page_info pg[40];
	char real[41] = "", shadow[41] = "";
	int child, pipefd[2], status;
	unsigned long i;
	char *p;
	pid_t pid;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, start, npages * PAGE, RW,
				  SHARED_FIXED,
				  NULL));
	for (i = 0; i < ARRAY_SIZE(written); i++)
		shadow_put(_metadata, self->mfd, BASE + written[i] * PAGE, "w");
	child = _shadow_fork(self->mfd, variant->flags, NULL);
	ASSERT_LE(0, child);
	for (i = 0; i < ARRAY_SIZE(touched); i++)
		ASSERT_EQ(0, _shadow_fault(child, BASE + touched[i] * PAGE,
					   PAGE, 0, NULL));
	ASSERT_EQ(0, _shadow_walk(child, start, npages, pg));
	for (i = 0; i < npages; i++)
		shadow[i] = pg[i].flags & SHADOW_PAGE_PRESENT ? 'P' : '.';
	/* The two faults mapped 7 pages, counted once each. */
	EXPECT_EQ(7, shadow_stats(_metadata, child).out_rss_shmem);
	EXPECT_EQ(2, shadow_stats(_metadata, child).out_min_flt);
	/* Prefaulted PTEs too are young and, from a read, clean. */
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE | SHADOW_PAGE_YOUNG |
		  SHADOW_PAGE_SHMEM, pg[0].flags);
	EXPECT_EQ(2, pg[0].mapcount);
	shadow_expect(_metadata, child, BASE + 20 * PAGE, "w");
	close(child);

	/* The same in a real process and its child. */
	p = mmap((void *)start, npages * PAGE, RW, SHARED_FIXED, -1, 0);
	ASSERT_EQ((void *)start, (void *)p);
	for (i = 0; i < ARRAY_SIZE(written); i++)
		__atomic_store_n(&p[(written[i] - 12) * PAGE], 'w',
				 __ATOMIC_RELAXED);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int pm = open("/proc/self/pagemap", O_RDONLY);
		__u64 e[40];

		for (i = 0; i < ARRAY_SIZE(touched); i++)
			(void)__atomic_load_n(&p[(touched[i] - 12) * PAGE],
					      __ATOMIC_RELAXED);
		if (pread(pm, e, sizeof(e), start / PAGE * 8) != sizeof(e))
			_exit(1);
		for (i = 0; i < npages; i++)
			real[i] = e[i] >> 63 ? 'P' : '.';
		_exit(write(pipefd[1], real, npages) == (ssize_t)npages ? 0 : 2);
	}
	ASSERT_EQ(npages, read(pipefd[0], real, npages));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(pipefd[0]);
	close(pipefd[1]);
	munmap(p, npages * PAGE);
	EXPECT_STREQ(want, real);
	EXPECT_STREQ(want, shadow);
}

/* The child has the parent's layout and counters, VM_LOCKED cleared. */
TEST_F(fork, layout_and_counters)
{
	struct shadow_vma_info pv[4], cv[4];
	struct shadow_mm_stats ps, cs;
	__u32 pn, cn, i;
	char *pm, *cm;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 8 * PAGE, 2 * PAGE,
				  PROT_READ, PRIV_FIXED | MAP_LOCKED, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 16 * PAGE, PAGE, RW,
				  SHARED_FIXED, NULL));
	child = _shadow_fork(self->mfd, variant->flags, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, 0, SHADOW_TASK_SIZE, pv, 4,
				      &pn));
	ASSERT_EQ(0, _shadow_get_vmas(child, 0, SHADOW_TASK_SIZE, cv, 4, &cn));
	ASSERT_EQ(3, pn);
	ASSERT_EQ(3, cn);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(pv[i].start, cv[i].start);
		EXPECT_EQ(pv[i].end, cv[i].end);
		EXPECT_EQ(pv[i].pgoff, cv[i].pgoff);
		EXPECT_EQ(pv[i].backing_id, cv[i].backing_id);
		EXPECT_EQ(pv[i].vm_flags & ~SHADOW_VM_LOCKED, cv[i].vm_flags);
	}
	EXPECT_EQ(SHADOW_VM_LOCKED, pv[1].vm_flags & SHADOW_VM_LOCKED);
	ps = shadow_stats(_metadata, self->mfd);
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(ps.out_total_vm, cs.out_total_vm);
	EXPECT_EQ(2, ps.out_locked_vm);
	EXPECT_EQ(0, cs.out_locked_vm);
	EXPECT_EQ(ps.out_map_count, cs.out_map_count);
	pm = shadow_get_maps(self->mfd);
	cm = shadow_get_maps(child);
	ASSERT_NE(NULL, pm);
	ASSERT_NE(NULL, cm);
	EXPECT_STREQ(pm, cm);
	free(pm);
	free(cm);
	close(child);
}

/*
 * Three generations, each closed in every order: contents stay right and
 * every page comes back.
 */
TEST_F(fork, three_generations_every_close_order)
{
	static const int orders[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
		{ 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};
	int o;

	for (o = 0; o < 6; o++) {
		long pages = shadow_counter("pages");
		int fd[3], i;

		fd[0] = _shadow_create(self->dev, 0, NULL);
		ASSERT_LE(0, fd[0]);
		ASSERT_EQ(0, _shadow_mmap(fd[0], BASE, 3 * PAGE, RW, PRIV_FIXED,
					  NULL));
		shadow_put(_metadata, fd[0], BASE, "g0");
		shadow_put(_metadata, fd[0], BASE + PAGE, "shared by all");
		fd[1] = _shadow_fork(fd[0], variant->flags, NULL);
		ASSERT_LE(0, fd[1]);
		shadow_put(_metadata, fd[1], BASE, "g1");
		fd[2] = _shadow_fork(fd[1], variant->flags, NULL);
		ASSERT_LE(0, fd[2]);
		shadow_put(_metadata, fd[2], BASE, "g2");
		EXPECT_EQ(3, shadow_page(_metadata, fd[2],
					 BASE + PAGE).mapcount);
		for (i = 0; i < 3; i++) {
			int g = orders[o][i], j;

			close(fd[g]);
			fd[g] = -1;
			for (j = 0; j < 3; j++) {
				char want[3] = { 'g', '0' + j, 0 };

				if (fd[j] < 0)
					continue;
				shadow_expect(_metadata, fd[j], BASE, want);
				shadow_expect(_metadata, fd[j], BASE + PAGE,
					      "shared by all");
			}
		}
		EXPECT_EQ(pages, shadow_counter("pages"));
	}
}

/*
 * CLONE_VM users: one mm, mm_users counts them, and only the last exit
 * tears it down.
 */
TEST_F(fork, clone_vm_users)
{
	__u32 id1, id2 = 0;
	long pages;
	int u2;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, PAGE, RW, PRIV_FIXED, NULL));
	shadow_put(_metadata, self->mfd, BASE, "same mm");
	id1 = shadow_stats(_metadata, self->mfd).out_id;
	u2 = _shadow_fork(self->mfd, SHADOW_FORK_VM, &id2);
	ASSERT_LE(0, u2);
	EXPECT_EQ(id1, id2);
	EXPECT_EQ(2, shadow_stats(_metadata, u2).out_mm_users);
	shadow_put(_metadata, u2, BASE, "SAME MM");
	shadow_expect(_metadata, self->mfd, BASE, "SAME MM");
	EXPECT_EQ(-EINVAL, _shadow_fork(u2, 4, NULL));
	EXPECT_EQ(1, shadow_page(_metadata, self->mfd, BASE).mapcount);

	pages = shadow_counter("pages");
	ASSERT_EQ(0, _shadow_exit(self->mfd));
	/* Still one user: nothing torn down. */
	EXPECT_EQ(pages, shadow_counter("pages"));
	EXPECT_EQ(1, shadow_stats(_metadata, u2).out_mm_users);
	shadow_expect(_metadata, u2, BASE, "SAME MM");
	ASSERT_EQ(0, _shadow_exit(u2));
	EXPECT_EQ(self->pages, shadow_counter("pages"));
	/* An exited fd: ESRCH before anything else is looked at. */
	EXPECT_EQ(-ESRCH, _shadow_fork(u2, 0, NULL));
	close(u2);
}

/* MADV_DONTFORK: the child does not get that part; the rest it does. */
TEST_F(fork, dontfork_not_copied)
{
	struct shadow_vma_info v[4];
	struct shadow_mm_stats st;
	__u32 nr;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 8 * PAGE, RW, PRIV_FIXED,
				  NULL));
	shadow_put(_metadata, self->mfd, BASE, "kept");
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + 4 * PAGE, 4 * PAGE,
				     MADV_DONTFORK));
	child = _shadow_fork(self->mfd, variant->flags, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_get_vmas(child, 0, SHADOW_TASK_SIZE, v, 4, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_EQ(BASE, v[0].start);
	EXPECT_EQ(BASE + 4 * PAGE, v[0].end);
	st = shadow_stats(_metadata, child);
	EXPECT_EQ(4, st.out_total_vm);
	EXPECT_EQ(1, st.out_map_count);
	shadow_expect(_metadata, child, BASE, "kept");
	close(child);
}

/* MADV_WIPEONFORK: the child's copy starts empty; the parent keeps its. */
TEST_F(fork, wipeonfork_child_sees_zeroes)
{
	char buf[8] = "xxxxxxx";
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	shadow_put(_metadata, self->mfd, BASE, "secret");
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, 2 * PAGE,
				     MADV_WIPEONFORK));
	child = _shadow_fork(self->mfd, variant->flags, NULL);
	ASSERT_LE(0, child);
	EXPECT_EQ(0, shadow_page(_metadata, child, BASE).flags);
	ASSERT_EQ(6, _shadow_access(child, BASE, buf, 6, 0));
	EXPECT_EQ(0, memcmp(buf, "\0\0\0\0\0\0", 6));
	shadow_expect(_metadata, self->mfd, BASE, "secret");
	EXPECT_EQ(1, shadow_page(_metadata, self->mfd, BASE).mapcount);
	close(child);
}

/* Page tables are the child's own: same counts, separate pages. */
TEST_F(fork, child_gets_own_pagetables)
{
	struct shadow_mm_stats ps, cs;
	long before;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 4 * PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	before = shadow_counter("pages");
	child = _shadow_fork(self->mfd, variant->flags, NULL);
	ASSERT_LE(0, child);
	ps = shadow_stats(_metadata, self->mfd);
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(ps.out_nr_ptes, cs.out_nr_ptes);
	EXPECT_EQ(ps.out_nr_pmds, cs.out_nr_pmds);
	EXPECT_EQ(ps.out_nr_puds, cs.out_nr_puds);
	EXPECT_EQ(4, cs.out_rss_anon);
	/*
	 * A PGD and three tables for the child; no data page copied. An
	 * on-demand fork shares the PTE table instead.
	 */
	EXPECT_EQ(before + 1 + 3 - shadow_fork_is_odf(variant->flags),
		  shadow_counter("pages"));
	close(child);
}

/* A private mapping only read (zero page) is not copied at fork. */
TEST_F(fork, zero_page_mapping_not_copied)
{
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 4 * PAGE, 0, NULL));
	child = _shadow_fork(self->mfd, variant->flags, NULL);
	ASSERT_LE(0, child);
	/* No anon_vma: vma_needs_copy() says the faults will refill it. */
	EXPECT_EQ(0, shadow_page(_metadata, child, BASE).flags);
	EXPECT_EQ(0, shadow_stats(_metadata, child).out_nr_ptes);
	close(child);
}

struct forker {
	int mfd;
	unsigned int flags;
	int *stop;
	long forks;
	long bad;
};

/*
 * Pages 0-7 and 12-31 only ever hold 0 or their own number + 1 in their
 * first byte: a child must see one of the two, never another page's.
 */
static int page_consistent(int mfd, unsigned long pg)
{
	unsigned char c = 0xff;

	if (_shadow_access(mfd, BASE + pg * PAGE, &c, 1, 0) != 1)
		return 1;
	return c == 0 || c == pg + 1;
}

static void *forker(void *arg)
{
	struct forker *f = arg;
	unsigned long pg;

	while (!__atomic_load_n(f->stop, __ATOMIC_RELAXED)) {
		int child = _shadow_fork(f->mfd, f->flags, NULL);
		char buf[8] = "child";

		if (child < 0)
			continue;
		for (pg = 0; pg < 32; pg++)
			if ((pg < 8 || pg >= 12) && !page_consistent(child, pg))
				f->bad++;
		/* The child's writes stay the child's. */
		_shadow_access(child, BASE + 4000, buf, sizeof(buf),
			       SHADOW_ACCESS_WRITE);
		close(child);
		f->forks++;
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct forker *f = arg;
	unsigned int seed = f->forks + 1;

	f->forks = 0;
	while (!__atomic_load_n(f->stop, __ATOMIC_RELAXED)) {
		unsigned char pg = rand_r(&seed) % 32, val = pg + 1;

		if (pg < 8 || pg >= 12)
			_shadow_access(f->mfd, BASE + pg * PAGE, &val, 1,
				       SHADOW_ACCESS_WRITE);
		if (pg == 8)
			_shadow_munmap(f->mfd, BASE + 8 * PAGE, 4 * PAGE);
		if (pg == 9)
			_shadow_mmap(f->mfd, BASE + 8 * PAGE, 4 * PAGE, RW,
				     PRIV_FIXED, NULL);
		f->forks++;
	}
	return NULL;
}

/* Forks racing writes and munmaps: no crash, no leak, right contents. */
TEST_F(fork, forks_race_faults)
{
	struct forker f[3];
	pthread_t t[3];
	int stop = 0, i;

	unsigned long pg;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 32 * PAGE, RW, PRIV_FIXED,
				  NULL));
	for (i = 0; i < 3; i++) {
		f[i] = (struct forker){ self->mfd, variant->flags, &stop, i,
					0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL,
					    i ? writer : forker, &f[i]));
	}
	sleep(2);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%ld forks, %ld writes", f[0].forks, f[1].forks + f[2].forks);
	/* Progress, however slow the machine (KASAN under TCG). */
	EXPECT_LT(0, f[0].forks);
	EXPECT_EQ(0, f[0].bad);
	/* The parent kept its own values, untouched by the children. */
	for (pg = 0; pg < 32; pg++)
		if (pg < 8 || pg >= 12)
			EXPECT_TRUE(page_consistent(self->mfd, pg));
}

TEST_HARNESS_MAIN
