// SPDX-License-Identifier: GPL-2.0
/*
 * mremap, brk and stacks that grow down.
 *
 * mremap and stack growth run twice, as the VMA tests do: on a shadow
 * address space and with the real system call (or a real touch of memory)
 * in a fixed window of this process; both must give the layout the test
 * expects, with the same VM_* flags (/proc/self/smaps' VmFlags) and the
 * same errors. brk is checked against this process's own heap, step by
 * step, and against Linux 6.1's rules. Moves must carry pages without
 * copying them (same page ids, same rss, contents intact), keep COW
 * sharing with a fork child, and leave the page-table counts where they
 * started once everything is unmapped.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

/* A window far from this static binary, its heap and its mmap area. */
#define HEAP_START	0x180000000000UL
#define WIN		0x100000000000UL
#define WIN_PAGES	1024UL
#define W(pg)		(WIN + (unsigned long)(pg) * PAGE)

#define GROWS		MAP_GROWSDOWN
#define MAYMOVE		MREMAP_MAYMOVE
#define MFIXED		(MREMAP_MAYMOVE | MREMAP_FIXED)
#define DONTUNMAP	(MREMAP_MAYMOVE | MREMAP_DONTUNMAP)

#define GAP_PAGES	256UL	/* stack_guard_gap */

/*
 * The VM_* flags compared: what mremap and stack growth change, not the
 * madvise hints, soft-dirty or VM_LOCKONFAULT.
 */
#define COMPARED_FLAGS	(SHADOW_VM_READ | SHADOW_VM_WRITE | SHADOW_VM_EXEC | \
			 SHADOW_VM_SHARED | SHADOW_VM_MAYREAD |		\
			 SHADOW_VM_MAYWRITE | SHADOW_VM_MAYEXEC |	\
			 SHADOW_VM_MAYSHARE | SHADOW_VM_GROWSDOWN |	\
			 SHADOW_VM_LOCKED | SHADOW_VM_DONTCOPY |	\
			 SHADOW_VM_DONTEXPAND | SHADOW_VM_ACCOUNT |	\
			 SHADOW_VM_NORESERVE | SHADOW_VM_WIPEONFORK)

/* An expected VMA: pages from the start of the range compared. */
struct span {
	unsigned long start, end;
	char perms[5];
};

/*
 * Both layouts of [lo, hi) equal, VMA by VMA and flag by flag, and, when
 * @want is given, equal to it (pages from @lo).
 */
static void compare_range(struct __test_metadata *_metadata, int mfd,
			  unsigned long lo, unsigned long hi,
			  const struct span *want, int nwant)
{
	struct shadow_region real[SHADOW_MAX_REGIONS];
	struct shadow_region shadow[SHADOW_MAX_REGIONS];
	int nreal = shadow_real_regions(lo, hi, real);
	int nshadow = shadow_regions(mfd, lo, hi, shadow);
	int i;

	for (i = 0; i < nreal; i++)
		TH_LOG("real   %lx-%lx %s %llx", real[i].start, real[i].end,
		       real[i].perms, (unsigned long long)real[i].flags);
	for (i = 0; i < nshadow; i++)
		TH_LOG("shadow %lx-%lx %s %llx", shadow[i].start,
		       shadow[i].end, shadow[i].perms,
		       (unsigned long long)shadow[i].flags);
	ASSERT_EQ(nreal, nshadow);
	for (i = 0; i < nreal; i++) {
		EXPECT_EQ(real[i].start, shadow[i].start);
		EXPECT_EQ(real[i].end, shadow[i].end);
		EXPECT_STREQ(real[i].perms, shadow[i].perms);
		EXPECT_EQ(real[i].flags & COMPARED_FLAGS,
			  shadow[i].flags & COMPARED_FLAGS);
	}
	if (!want)
		return;
	ASSERT_EQ(nwant, nreal);
	for (i = 0; i < nwant; i++) {
		EXPECT_EQ(lo + want[i].start * PAGE, real[i].start);
		EXPECT_EQ(lo + want[i].end * PAGE, real[i].end);
		EXPECT_STREQ(want[i].perms, real[i].perms);
	}
}

#define COMPARE(mfd, ...) do {						\
	const struct span __want[] = { __VA_ARGS__ };			\
	compare_range(_metadata, mfd, WIN, W(WIN_PAGES), __want,	\
		      ARRAY_SIZE(__want));				\
} while (0)

static long real_mremap(unsigned long addr, unsigned long old_len,
			unsigned long new_len, unsigned int flags,
			unsigned long new_addr)
{
	long ret = syscall(SYS_mremap, addr, old_len, new_len, flags,
			   new_addr);

	return ret == -1 ? -errno : ret;
}

/* A touch of memory that survives SIGSEGV: 0 or EFAULT. */
static sigjmp_buf segv_env;

static void segv_handler(int sig)
{
	siglongjmp(segv_env, 1);
}

static int real_touch(unsigned long addr, unsigned long len, bool write)
{
	struct sigaction sa = { .sa_handler = segv_handler }, old;
	char *p;
	int err = 0;

	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(segv_env, 1)) {
		err = EFAULT;
	} else {
		/* Atomic accesses: the compiler may not drop them. */
		for (p = (char *)addr; p < (char *)(addr + len); p += PAGE) {
			if (write)
				__atomic_store_n(p, 1, __ATOMIC_RELAXED);
			else
				__atomic_load_n(p, __ATOMIC_RELAXED);
		}
	}
	sigaction(SIGSEGV, &old, NULL);
	return err;
}

enum op_kind { MAP, UNMAP, REMAP, TOUCH, READ };

/*
 * One step of a scenario, done by both kernels; @err is the errno both
 * must give. REMAP: [pg, pg + n) becomes @new_n pages, at @new_pg with
 * MREMAP_FIXED; @want_pg is the page where the result must be (-1: outside
 * the window, anywhere).
 */
struct op {
	enum op_kind kind;
	long pg, n;
	int prot, flags;
	long new_n, new_pg, want_pg;
	int err;
};

#define OP_MAP(p, n, pr, fl)	{ MAP, p, n, pr, fl, 0, 0, 0, 0 }
#define OP_UNMAP(p, n)		{ UNMAP, p, n, 0, 0, 0, 0, 0, 0 }
#define OP_REMAP(p, n, nn, fl, np, want) \
	{ REMAP, p, n, 0, fl, nn, np, want, 0 }
#define OP_REMAP_ERR(p, n, nn, fl, np, e) \
	{ REMAP, p, n, 0, fl, nn, np, 0, e }
#define OP_WRITE(p, n)		{ TOUCH, p, n, 0, 0, 0, 0, 0, 0 }
#define OP_WRITE_ERR(p, n, e)	{ TOUCH, p, n, 0, 0, 0, 0, 0, e }
#define OP_READ(p, n)		{ READ, p, n, 0, 0, 0, 0, 0, 0 }
#define OP_READ_ERR(p, n, e)	{ READ, p, n, 0, 0, 0, 0, 0, e }

/* The real mapping a move sent out of the window, to clean up. */
static unsigned long outside_addr, outside_len;

static void run_ops(struct __test_metadata *_metadata, int mfd,
		    const struct op *ops, int nops)
{
	int i;

	for (i = 0; i < nops; i++) {
		const struct op *op = &ops[i];
		unsigned long addr = W(op->pg), len = op->n * PAGE;
		__u64 saddr = 0;
		long raddr = 0;
		int rerr = 0, serr = 0;

		switch (op->kind) {
		case MAP:
			if (mmap((void *)addr, len, op->prot, op->flags, -1,
				 0) == MAP_FAILED)
				rerr = errno;
			serr = -_shadow_mmap(mfd, addr, len, op->prot,
					     op->flags, NULL);
			break;
		case UNMAP:
			if (munmap((void *)addr, len))
				rerr = errno;
			serr = -_shadow_munmap(mfd, addr, len);
			break;
		case REMAP:
			raddr = real_mremap(addr, len, op->new_n * PAGE,
					    op->flags, W(op->new_pg));
			if (raddr < 0)
				rerr = -raddr;
			serr = -_shadow_mremap(mfd, addr, len,
					       op->new_n * PAGE, op->flags,
					       W(op->new_pg), &saddr);
			break;
		case TOUCH:
		case READ:
			rerr = real_touch(addr, len, op->kind == TOUCH);
			serr = -_shadow_fault(mfd, addr, len,
					      op->kind == TOUCH ?
					      SHADOW_FAULT_WRITE : 0, NULL);
			break;
		}
		TH_LOG("step %d: op %d pg %ld n %ld -> real %d shadow %d", i,
		       op->kind, op->pg, op->n, rerr, serr);
		ASSERT_EQ(op->err, rerr);
		ASSERT_EQ(op->err, serr);
		if (op->kind != REMAP || rerr)
			continue;
		if (op->want_pg >= 0) {
			EXPECT_EQ(W(op->want_pg), (unsigned long)raddr);
			EXPECT_EQ(W(op->want_pg), saddr);
		} else {
			/* Each kernel chose its own place, out of the window. */
			EXPECT_TRUE(raddr < (long)WIN ||
				    raddr >= (long)W(WIN_PAGES));
			outside_addr = raddr;
			outside_len = op->new_n * PAGE;
		}
	}
}

#define RUN(mfd, ...) do {						\
	const struct op __ops[] = { __VA_ARGS__ };			\
	run_ops(_metadata, mfd, __ops, ARRAY_SIZE(__ops));		\
} while (0)

FIXTURE(mremap) {
	int dev;
	int mfd;
	struct shadow_counts before;
};

FIXTURE_SETUP(mremap)
{
	self->before = shadow_counts();
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, self->mfd);
	munmap((void *)WIN, WIN_PAGES * PAGE);
}

FIXTURE_TEARDOWN(mremap)
{
	munmap((void *)WIN, WIN_PAGES * PAGE);
	if (outside_len)
		munmap((void *)outside_addr, outside_len);
	close(self->mfd);
	close(self->dev);
	shadow_expect_counts(_metadata, self->before);
}

/*
 * Shrinking unmaps the tail, even across VMAs: the range is not checked.
 *   |AAAAAAAA|BBBBBBBB|  mremap(0, 16 -> 4)  |AAAA|
 */
TEST_F(mremap, shrink)
{
	RUN(self->mfd,
	    OP_MAP(0, 8, RW, PRIV | FIXED),
	    OP_MAP(8, 8, RO, PRIV | FIXED),
	    OP_WRITE(0, 8),
	    OP_REMAP(0, 16, 4, 0, 0, 0),
	    OP_MAP(32, 8, RW, PRIV | FIXED),
	    OP_REMAP(32, 8, 8, 0, 0, 32));
	COMPARE(self->mfd, { 0, 4, "rw-p" }, { 32, 40, "rw-p" });
	EXPECT_EQ(12, shadow_stats(_metadata, self->mfd).out_total_vm);
	EXPECT_EQ(4, shadow_stats(_metadata, self->mfd).out_rss_anon);
}

/*
 * Growing in place when the room after the VMA is free, and merging with
 * the next VMA when the growth reaches it (vma_merge case 1).
 *   |AAAA|    |BBBB|  -> |AAAAAAAA|BBBB| as one VMA
 */
TEST_F(mremap, grow_in_place)
{
	struct shadow_mm_stats st;

	RUN(self->mfd,
	    OP_MAP(0, 4, RW, PRIV | FIXED),
	    OP_MAP(8, 4, RW, PRIV | FIXED),
	    OP_REMAP(0, 4, 8, 0, 0, 0),
	    /*
	     * Once written, the growing VMA has an anon_vma and the next one
	     * none: is_mergeable_anon_vma() keeps them apart (case 2 only).
	     */
	    OP_MAP(20, 4, RW, PRIV | FIXED),
	    OP_MAP(28, 4, RW, PRIV | FIXED),
	    OP_WRITE(20, 1),
	    OP_REMAP(20, 4, 8, 0, 0, 20),
	    OP_MAP(40, 4, RO, PRIV | FIXED),
	    OP_REMAP(40, 4, 6, MAYMOVE, 0, 40));
	COMPARE(self->mfd, { 0, 12, "rw-p" }, { 20, 28, "rw-p" },
		{ 28, 32, "rw-p" }, { 40, 46, "r--p" });
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(4, st.out_map_count);
	EXPECT_EQ(30, st.out_total_vm);
	EXPECT_EQ(24, st.out_data_vm);
}

/* No room to grow and no MREMAP_MAYMOVE: ENOMEM, nothing changes. */
TEST_F(mremap, grow_without_room)
{
	RUN(self->mfd,
	    OP_MAP(0, 4, RW, PRIV | FIXED),
	    OP_MAP(4, 4, RO, PRIV | FIXED),
	    OP_REMAP_ERR(0, 4, 8, 0, 0, ENOMEM),
	    /* Not to the end of the VMA: never in place. */
	    OP_MAP(16, 8, RW, PRIV | FIXED),
	    OP_REMAP_ERR(16, 4, 6, 0, 0, ENOMEM),
	    /* Crossing the end of the VMA: EFAULT. */
	    OP_REMAP_ERR(0, 8, 12, MAYMOVE, 0, EFAULT),
	    OP_REMAP_ERR(16, 12, 16, MAYMOVE, 0, EFAULT));
	COMPARE(self->mfd, { 0, 4, "rw-p" }, { 4, 8, "r--p" },
		{ 16, 24, "rw-p" });
}

/*
 * A growth that cannot happen in place moves, with MREMAP_MAYMOVE, to
 * wherever each kernel's placement puts it: out of the window here.
 */
TEST_F(mremap, grow_moves)
{
	/* The shadow space's top-down placement: just below mmap_base. */
	const unsigned long top = SHADOW_MMAP_BASE - 8 * PAGE;
	struct shadow_page_info before[4], after[4];
	struct shadow_vma_info v;
	__u32 nr;
	int i;

	RUN(self->mfd,
	    OP_MAP(0, 4, RW, PRIV | FIXED),
	    OP_MAP(4, 4, RO, PRIV | FIXED),
	    OP_WRITE(0, 4));
	ASSERT_EQ(0, _shadow_walk(self->mfd, W(0), 4, before));
	RUN(self->mfd, OP_REMAP(0, 4, 8, MAYMOVE, 0, -1));
	COMPARE(self->mfd, { 4, 8, "r--p" });
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, top, top + 1, &v, 1, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_EQ(top, v.start);
	EXPECT_EQ(top + 8 * PAGE, v.end);
	ASSERT_EQ(0, _shadow_walk(self->mfd, top, 4, after));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(before[i].page_id, after[i].page_id);
	EXPECT_EQ(4, shadow_stats(_metadata, self->mfd).out_rss_anon);
	EXPECT_EQ(12, shadow_stats(_metadata, self->mfd).out_total_vm);
}

/*
 * MREMAP_FIXED moves a whole VMA, a part of one (both pieces left keep
 * VM_ACCOUNT), grows or shrinks on the way, and replaces what was at the
 * destination.
 *   |AAAAAAAAAAAAAAAA|        |CC|          |EEEEEEEE|
 *   |AAAA|    |AAAAAAAA|      ...           |EE|AAAA|EE|
 */
TEST_F(mremap, move_fixed)
{
	RUN(self->mfd,
	    OP_MAP(0, 16, RW, PRIV | FIXED),
	    OP_WRITE(0, 16),
	    OP_REMAP(4, 4, 4, MFIXED, 100, 100),
	    OP_MAP(40, 2, RW, PRIV | FIXED),
	    OP_REMAP(40, 2, 6, MFIXED, 200, 200),
	    OP_MAP(60, 8, RW, PRIV | FIXED),
	    OP_REMAP(60, 8, 2, MFIXED, 300, 300),
	    OP_MAP(400, 8, RO, PRIV | FIXED),
	    OP_REMAP(0, 4, 4, MFIXED, 402, 402));
	COMPARE(self->mfd, { 8, 16, "rw-p" }, { 100, 104, "rw-p" },
		{ 200, 206, "rw-p" }, { 300, 302, "rw-p" },
		{ 400, 402, "r--p" }, { 402, 406, "rw-p" },
		{ 406, 408, "r--p" });
}

/* The same, from the middle of a VMA: both sides stay, accounted. */
TEST_F(mremap, move_middle_keeps_account)
{
	RUN(self->mfd,
	    OP_MAP(0, 16, RW, PRIV | FIXED),
	    OP_WRITE(0, 16),
	    OP_REMAP(4, 4, 4, MFIXED, 100, 100),
	    OP_MAP(200, 16, RW, PRIV | MAP_NORESERVE | FIXED),
	    OP_REMAP(204, 4, 4, MFIXED, 300, 300));
	COMPARE(self->mfd, { 0, 4, "rw-p" }, { 8, 16, "rw-p" },
		{ 100, 104, "rw-p" }, { 200, 204, "rw-p" },
		{ 208, 216, "rw-p" }, { 300, 304, "rw-p" });
}

/* Overlapping source and destination, bad destinations: EINVAL. */
TEST_F(mremap, move_errors)
{
	RUN(self->mfd,
	    OP_MAP(0, 8, RW, PRIV | FIXED),
	    OP_REMAP_ERR(0, 8, 8, MFIXED, 4, EINVAL),
	    OP_REMAP_ERR(0, 8, 4, MFIXED, 6, EINVAL),
	    OP_REMAP_ERR(4, 4, 8, MFIXED, 0, EINVAL),
	    OP_REMAP_ERR(0, 4, 4, MREMAP_FIXED, 100, EINVAL),
	    OP_REMAP(0, 4, 4, DONTUNMAP, 100, 100));
	COMPARE(self->mfd, { 0, 8, "rw-p" }, { 100, 104, "rw-p" });
}

/* Argument errors, each compared with the real system call. */
TEST_F(mremap, bad_arguments_match_kernel)
{
	static const struct {
		unsigned long addr, old_len, new_len;
		unsigned int flags;
		unsigned long new_addr;
		int err;
	} bad[] = {
		{ W(0), PAGE, PAGE, 8, 0, EINVAL },		/* flags */
		{ W(0), PAGE, PAGE, MREMAP_FIXED, W(100), EINVAL },
		{ W(0), PAGE, PAGE, MREMAP_DONTUNMAP, W(100), EINVAL },
		{ W(0), PAGE, 2 * PAGE, DONTUNMAP, W(100), EINVAL },
		{ W(0), PAGE, PAGE + 1, DONTUNMAP, W(100), EINVAL },
		{ W(0) + 1, PAGE, PAGE, 0, 0, EINVAL },		/* unaligned */
		{ W(0), PAGE, 0, 0, 0, EINVAL },		/* new_len 0 */
		{ W(0), PAGE, -1UL, MAYMOVE, 0, EINVAL },	/* wraps to 0 */
		{ W(0), 0, PAGE, MAYMOVE, 0, EINVAL },	/* private dup */
		{ W(50), PAGE, 2 * PAGE, MAYMOVE, 0, EFAULT },	/* no VMA */
		{ W(50), PAGE, PAGE, 0, 0, EFAULT },
		{ W(3), 2 * PAGE, 4 * PAGE, MAYMOVE, 0, EFAULT },
		{ W(0), PAGE, PAGE, MFIXED, W(100) + 1, EINVAL },
		{ W(0), PAGE, PAGE, MFIXED, 1UL << 47, EINVAL },
		{ W(0), PAGE, 2 * PAGE, MFIXED, (1UL << 47) - PAGE, EINVAL },
		{ W(0), PAGE, PAGE, MFIXED, W(0), EINVAL },	/* overlap */
		{ W(0), PAGE, -1UL << 30, MAYMOVE, 0, ENOMEM },	/* no room */
	};
	unsigned int i;

	RUN(self->mfd, OP_MAP(0, 4, RW, PRIV | FIXED));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		long r = real_mremap(bad[i].addr, bad[i].old_len,
				     bad[i].new_len, bad[i].flags,
				     bad[i].new_addr);
		int s = _shadow_mremap(self->mfd, bad[i].addr, bad[i].old_len,
				       bad[i].new_len, bad[i].flags,
				       bad[i].new_addr, NULL);

		TH_LOG("case %u: real %ld shadow %d", i, r, s);
		EXPECT_EQ(-bad[i].err, r);
		EXPECT_EQ(-bad[i].err, s);
	}
	COMPARE(self->mfd, { 0, 4, "rw-p" });
	/* The command's own flags and reserved field. */
	{
		struct shadow_mm_mremap m = {
			.size = sizeof(m), .flags = 1, .old_addr = W(0),
			.old_len = PAGE, .new_len = PAGE,
		};

		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MREMAP,
						&m));
		m.flags = 0;
		m.__reserved = 1;
		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MREMAP,
						&m));
	}
}

/*
 * A move carries the pages: the same page ids at the new place, the same
 * contents, no copy, rss unchanged; the old place is gone.
 */
TEST_F(mremap, move_keeps_pages)
{
	struct shadow_page_info before[8], after[8];
	struct shadow_mm_stats st0, st1;
	char text[16];
	__u64 out;
	int i;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 8 * PAGE, RW, PRIV | FIXED,
				  NULL));
	for (i = 0; i < 8; i++) {
		snprintf(text, sizeof(text), "page %d", i);
		shadow_put(_metadata, self->mfd, W(i), text);
	}
	ASSERT_EQ(0, _shadow_walk(self->mfd, W(0), 8, before));
	st0 = shadow_stats(_metadata, self->mfd);
	ASSERT_EQ(0, _shadow_mremap(self->mfd, W(0), 8 * PAGE, 12 * PAGE,
				    MFIXED, W(64), &out));
	EXPECT_EQ(W(64), out);
	ASSERT_EQ(0, _shadow_walk(self->mfd, W(64), 8, after));
	for (i = 0; i < 8; i++) {
		snprintf(text, sizeof(text), "page %d", i);
		shadow_expect(_metadata, self->mfd, W(64 + i), text);
		EXPECT_EQ(before[i].page_id, after[i].page_id);
		EXPECT_EQ(before[i].flags, after[i].flags);
		EXPECT_EQ(1, after[i].mapcount);
	}
	st1 = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(st0.out_rss_anon, st1.out_rss_anon);
	EXPECT_EQ(st0.out_cow_copies, st1.out_cow_copies);
	EXPECT_EQ(st0.out_min_flt, st1.out_min_flt);
	EXPECT_EQ(st0.out_total_vm + 4, st1.out_total_vm);
	EXPECT_EQ(1, st1.out_map_count);
	/* The old place is unmapped: no access. */
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, W(0), text, 1, 0));
	/* The new tail is fresh memory. */
	ASSERT_EQ(1, _shadow_access(self->mfd, W(64 + 10), text, 1, 0));
	EXPECT_EQ(0, text[0]);
	EXPECT_EQ(SHADOW_PAGE_ZERO,
		  shadow_page(_metadata, self->mfd, W(64 + 10)).flags &
		  SHADOW_PAGE_ZERO);
}

/*
 * Moves of 2 MiB-aligned spans take the PTE table along (move_normal_pmd),
 * 1 GiB-aligned ones the PMD table (move_normal_pud); unaligned ones move
 * PTE by PTE into new tables. Table counts return to where they started
 * once everything is unmapped.
 */
TEST_F(mremap, page_tables_follow)
{
	const unsigned long pmd = 2UL << 20, pud = 1UL << 30;
	const unsigned long base = 0x200000000000UL;
	struct shadow_mm_stats st0, st;
	__u64 out;

	/* PTE tables that move: no PMD leaves. */
	ASSERT_EQ(0, _shadow_thp_disable(self->mfd));
	st0 = shadow_stats(_metadata, self->mfd);
	/* Two PTE tables' worth, one page written in each. */
	ASSERT_EQ(0, _shadow_mmap(self->mfd, base, 2 * pmd, RW, PRIV | FIXED,
				  NULL));
	shadow_put(_metadata, self->mfd, base, "first");
	shadow_put(_metadata, self->mfd, base + pmd + PAGE, "second");
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(st0.out_nr_ptes + 2, st.out_nr_ptes);
	EXPECT_EQ(st0.out_nr_pmds + 1, st.out_nr_pmds);

	/* Aligned: the two tables move, no new one. */
	ASSERT_EQ(0, _shadow_mremap(self->mfd, base, 2 * pmd, 2 * pmd, MFIXED,
				    base + 8 * pmd, &out));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(st0.out_nr_ptes + 2, st.out_nr_ptes);
	shadow_expect(_metadata, self->mfd, base + 8 * pmd, "first");
	shadow_expect(_metadata, self->mfd, base + 9 * pmd + PAGE, "second");

	/* Unaligned: PTE by PTE into new tables; the old ones go. */
	ASSERT_EQ(0, _shadow_mremap(self->mfd, base + 8 * pmd, 2 * pmd,
				    2 * pmd, MFIXED, base + 16 * pmd + PAGE,
				    &out));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(st0.out_nr_ptes + 3, st.out_nr_ptes);
	shadow_expect(_metadata, self->mfd, base + 16 * pmd + PAGE, "first");
	shadow_expect(_metadata, self->mfd, base + 17 * pmd + 2 * PAGE,
		      "second");
	EXPECT_EQ(2, shadow_stats(_metadata, self->mfd).out_rss_anon);

	/* A whole PMD table, 1 GiB aligned, to another 512 GiB region. */
	ASSERT_EQ(0, _shadow_munmap(self->mfd, base + 16 * pmd + PAGE,
				    2 * pmd));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(st0.out_nr_ptes, st.out_nr_ptes);
	EXPECT_EQ(st0.out_nr_pmds, st.out_nr_pmds);
	EXPECT_EQ(st0.out_nr_puds, st.out_nr_puds);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, base, pud, RW, PRIV | FIXED,
				  NULL));
	shadow_put(_metadata, self->mfd, base + 3 * pmd, "gigabyte");
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(st0.out_nr_pmds + 1, st.out_nr_pmds);
	ASSERT_EQ(0, _shadow_mremap(self->mfd, base, pud, pud, MFIXED,
				    base + 512 * pud, &out));
	st = shadow_stats(_metadata, self->mfd);
	/* The old region's PUD table went with the munmap of the old range. */
	EXPECT_EQ(st0.out_nr_puds + 1, st.out_nr_puds);
	EXPECT_EQ(st0.out_nr_pmds + 1, st.out_nr_pmds);
	EXPECT_EQ(st0.out_nr_ptes + 1, st.out_nr_ptes);
	shadow_expect(_metadata, self->mfd, base + 512 * pud + 3 * pmd,
		      "gigabyte");
	ASSERT_EQ(0, _shadow_munmap(self->mfd, base + 512 * pud, pud));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(st0.out_nr_ptes, st.out_nr_ptes);
	EXPECT_EQ(st0.out_nr_pmds, st.out_nr_pmds);
	EXPECT_EQ(st0.out_nr_puds, st.out_nr_puds);
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_anon);
}

/*
 * A never-written VMA moved next to a compatible one merges with it (its
 * pgoff follows the move); a written one keeps its pgoff and does not.
 * Moved next to itself, an unwritten VMA merges with itself first.
 */
TEST_F(mremap, move_merges)
{
	RUN(self->mfd,
	    OP_MAP(0, 4, RW, PRIV | FIXED),
	    OP_MAP(32, 4, RW, PRIV | FIXED),
	    OP_REMAP(0, 4, 4, MFIXED, 36, 36),
	    OP_MAP(0, 4, RW, PRIV | FIXED),
	    OP_WRITE(0, 1),
	    OP_MAP(64, 4, RW, PRIV | FIXED),
	    OP_REMAP(0, 4, 4, MFIXED, 68, 68),
	    OP_MAP(100, 8, RW, PRIV | FIXED),
	    OP_REMAP(100, 4, 4, MFIXED, 108, 108),
	    OP_READ(108, 4));
	COMPARE(self->mfd, { 32, 40, "rw-p" }, { 64, 68, "rw-p" },
		{ 68, 72, "rw-p" }, { 104, 112, "rw-p" });
	EXPECT_EQ(4, shadow_stats(_metadata, self->mfd).out_map_count);
}

/*
 * MREMAP_DONTUNMAP: the pages move, the old VMA stays, empty: it reads
 * zeroes and gets new pages when written. Without MREMAP_FIXED the
 * destination is a hint, taken when free.
 */
TEST_F(mremap, dontunmap)
{
	struct shadow_page_info before, after;
	struct shadow_mm_stats st0, st1;
	char buf[8];

	RUN(self->mfd,
	    OP_MAP(0, 4, RW, PRIV | FIXED),
	    OP_WRITE(0, 4));
	memset((void *)W(0), 'x', 4 * PAGE);
	shadow_put(_metadata, self->mfd, W(0), "xxxx");
	shadow_put(_metadata, self->mfd, W(3), "xxxx");
	before = shadow_page(_metadata, self->mfd, W(3));
	st0 = shadow_stats(_metadata, self->mfd);
	RUN(self->mfd, OP_REMAP(0, 4, 4, DONTUNMAP, 32, 32));
	COMPARE(self->mfd, { 0, 4, "rw-p" }, { 32, 36, "rw-p" });
	EXPECT_EQ(0, *(char *)W(3));
	EXPECT_EQ('x', *(char *)W(35));
	after = shadow_page(_metadata, self->mfd, W(35));
	EXPECT_EQ(before.page_id, after.page_id);
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, W(3)).flags);
	shadow_expect(_metadata, self->mfd, W(35), "xxxx");
	ASSERT_EQ(1, _shadow_access(self->mfd, W(3), buf, 1, 0));
	EXPECT_EQ(0, buf[0]);
	st1 = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(st0.out_rss_anon, st1.out_rss_anon);
	EXPECT_EQ(st0.out_total_vm + 4, st1.out_total_vm);
	EXPECT_EQ(2, st1.out_map_count);
	/* A part of a VMA, with MREMAP_FIXED over something. */
	RUN(self->mfd,
	    OP_MAP(64, 4, RO, PRIV | FIXED),
	    OP_REMAP(33, 2, 2, DONTUNMAP | MREMAP_FIXED, 65, 65));
	COMPARE(self->mfd, { 0, 4, "rw-p" }, { 32, 36, "rw-p" },
		{ 64, 65, "r--p" }, { 65, 67, "rw-p" }, { 67, 68, "r--p" });
}

/*
 * MREMAP_DONTUNMAP of shared memory (Linux 6.1 takes any mapping but
 * VM_DONTEXPAND/VM_PFNMAP ones): both ranges map the same object.
 */
TEST_F(mremap, dontunmap_shared)
{
	struct shadow_vma_info v[2];
	__u32 nr;

	RUN(self->mfd,
	    OP_MAP(0, 4, RW, SHARED | FIXED),
	    OP_WRITE(0, 4),
	    OP_REMAP(0, 4, 4, DONTUNMAP, 32, 32));
	COMPARE(self->mfd, { 0, 4, "rw-s" }, { 32, 36, "rw-s" });
	shadow_put(_metadata, self->mfd, W(33), "shared");
	shadow_expect(_metadata, self->mfd, W(1), "shared");
	strcpy((char *)W(33), "shared");
	EXPECT_STREQ("shared", (char *)W(1));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, W(0), W(40), v, 2, &nr));
	ASSERT_EQ(2, nr);
	EXPECT_EQ(v[0].backing_id, v[1].backing_id);
	EXPECT_EQ(0, v[1].pgoff);
}

/*
 * Shared memory moves like private memory: the object's pages, with their
 * ids and rss; a fork child that shares the object sees writes made at the
 * new place.
 */
TEST_F(mremap, move_shared)
{
	struct shadow_page_info before, after;
	struct shadow_mm_stats st;
	int child;
	__u64 out;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 4 * PAGE, RW,
				  SHARED | FIXED, NULL));
	shadow_put(_metadata, self->mfd, W(2), "object");
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	before = shadow_page(_metadata, self->mfd, W(2));
	ASSERT_EQ(0, _shadow_mremap(self->mfd, W(0), 4 * PAGE, 8 * PAGE,
				    MFIXED, W(64), &out));
	after = shadow_page(_metadata, self->mfd, W(66));
	EXPECT_EQ(before.page_id, after.page_id);
	EXPECT_EQ(before.flags, after.flags);
	EXPECT_EQ(SHADOW_PAGE_SHMEM, after.flags & SHADOW_PAGE_SHMEM);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(1, st.out_rss_shmem);
	EXPECT_EQ(0, st.out_rss_anon);
	shadow_put(_metadata, self->mfd, W(66), "OBJECT");
	shadow_expect(_metadata, child, W(2), "OBJECT");
	/* The grown part is the object's, at the next index. */
	shadow_put(_metadata, child, W(3), "index 3");
	shadow_expect(_metadata, self->mfd, W(67), "index 3");
	close(child);
}

/* old_len 0 duplicates a shared mapping: one object, two places. */
TEST_F(mremap, duplicate_shared)
{
	struct shadow_vma_info v[2];
	__u64 out;
	__u32 nr;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 4 * PAGE, RW,
				  SHARED | FIXED, NULL));
	shadow_put(_metadata, self->mfd, W(2), "twice");
	ASSERT_EQ(0, _shadow_mremap(self->mfd, W(0) + PAGE, 0, 2 * PAGE,
				    MFIXED, W(16), &out));
	EXPECT_EQ(W(16), out);
	shadow_expect(_metadata, self->mfd, W(17), "twice");
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, W(0), W(20), v, 2, &nr));
	ASSERT_EQ(2, nr);
	EXPECT_EQ(v[0].backing_id, v[1].backing_id);
	EXPECT_EQ(1, v[1].pgoff);
	EXPECT_EQ(W(18), v[1].end);
	/* The real kernel does the same. */
	do {
		char *p = mmap((void *)W(0), 4 * PAGE, RW, SHARED | FIXED, -1,
			       0);
		long r;

		ASSERT_NE(MAP_FAILED, p);
		strcpy(p + 2 * PAGE, "twice");
		r = real_mremap(W(1), 0, 2 * PAGE, MFIXED, W(16));
		ASSERT_EQ((long)W(16), r);
		EXPECT_STREQ("twice", (char *)W(17));
	} while (0);
	COMPARE(self->mfd, { 0, 4, "rw-s" }, { 16, 18, "rw-s" });
}

/*
 * Pages shared copy-on-write with a fork child move shared: same page,
 * still write-protected, mapcount 2. Writes afterwards copy or reuse as
 * without the move, and each side keeps its contents.
 */
TEST_F(mremap, cow_pages_after_fork)
{
	struct shadow_page_info pp, cp;
	int child;
	__u64 out;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 4 * PAGE, RW, PRIV | FIXED,
				  NULL));
	shadow_put(_metadata, self->mfd, W(0), "before fork 0");
	shadow_put(_metadata, self->mfd, W(1), "before fork 1");
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);

	ASSERT_EQ(0, _shadow_mremap(self->mfd, W(0), 4 * PAGE, 4 * PAGE,
				    MFIXED, W(40), &out));
	pp = shadow_page(_metadata, self->mfd, W(40));
	cp = shadow_page(_metadata, child, W(0));
	EXPECT_EQ(cp.page_id, pp.page_id);
	EXPECT_EQ(2, pp.mapcount);
	EXPECT_EQ(0, pp.flags & (SHADOW_PAGE_WRITE | SHADOW_PAGE_ANON_EXCLUSIVE));

	/* The parent's write copies; the child keeps the old contents. */
	shadow_put(_metadata, self->mfd, W(40), "parent wrote");
	EXPECT_NE(cp.page_id, shadow_page(_metadata, self->mfd, W(40)).page_id);
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_cow_copies);
	shadow_expect(_metadata, child, W(0), "before fork 0");
	/* The child's page is its own now: its write reuses it. */
	shadow_put(_metadata, child, W(0), "child wrote");
	EXPECT_EQ(cp.page_id, shadow_page(_metadata, child, W(0)).page_id);
	EXPECT_EQ(1, shadow_stats(_metadata, child).out_cow_reuses);
	shadow_expect(_metadata, self->mfd, W(40), "parent wrote");

	/* The child moves its own COW pages: still shared with the parent. */
	ASSERT_EQ(0, _shadow_mremap(child, W(1), PAGE, 2 * PAGE, MFIXED,
				    W(80), &out));
	EXPECT_EQ(shadow_page(_metadata, self->mfd, W(41)).page_id,
		  shadow_page(_metadata, child, W(80)).page_id);
	shadow_put(_metadata, child, W(80), "child moved");
	shadow_expect(_metadata, self->mfd, W(41), "before fork 1");
	shadow_expect(_metadata, child, W(80), "child moved");
	shadow_put(_metadata, self->mfd, W(41), "parent 1");
	shadow_expect(_metadata, child, W(80), "child moved");
	shadow_expect(_metadata, self->mfd, W(41), "parent 1");
	close(child);
}

/* Moving takes 3 spare map slots (move_vma), 5 with MREMAP_FIXED. */
static void set_max_map_count(int v)
{
	FILE *f = fopen("/sys/module/shadow_mm/parameters/max_map_count", "w");

	if (f) {
		fprintf(f, "%d\n", v);
		fclose(f);
	}
}

TEST_F(mremap, max_map_count)
{
	__u64 out;
	int i;

	/* Four VMAs side by side that do not merge: no room to grow. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, _shadow_mmap(self->mfd, W(2 * i), 2 * PAGE,
					  i % 2 ? RO : RW, PRIV | FIXED,
					  NULL));
	set_max_map_count(7);
	EXPECT_EQ(-ENOMEM, _shadow_mremap(self->mfd, W(0), 2 * PAGE,
					  4 * PAGE, MAYMOVE, 0, &out));
	EXPECT_EQ(-ENOMEM, _shadow_mremap(self->mfd, W(0), 2 * PAGE,
					  2 * PAGE, MFIXED, W(100), &out));
	set_max_map_count(9);
	EXPECT_EQ(-ENOMEM, _shadow_mremap(self->mfd, W(0), 2 * PAGE,
					  2 * PAGE, MFIXED, W(100), &out));
	EXPECT_EQ(0, _shadow_mremap(self->mfd, W(0), 2 * PAGE, 4 * PAGE,
				    MAYMOVE, 0, &out));
	set_max_map_count(10);
	EXPECT_EQ(0, _shadow_mremap(self->mfd, W(2), 2 * PAGE, 2 * PAGE,
				    MFIXED, W(100), &out));
	EXPECT_EQ(4, shadow_stats(_metadata, self->mfd).out_map_count);
	set_max_map_count(65530);
}

/* A locked mapping's growth is populated, as mm_populate() does. */
TEST_F(mremap, locked_growth_populated)
{
	unsigned long pm[8];
	int i, fd;

	RUN(self->mfd,
	    OP_MAP(0, 4, RW, PRIV | MAP_LOCKED | FIXED),
	    OP_REMAP(0, 4, 8, 0, 0, 0),
	    OP_MAP(16, 2, RO, PRIV | MAP_LOCKED | FIXED),
	    OP_REMAP(16, 2, 4, MAYMOVE, 0, 16));
	COMPARE(self->mfd, { 0, 8, "rw-p" }, { 16, 20, "r--p" });
	fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(pm), pread(fd, pm, sizeof(pm), W(0) / PAGE * 8));
	close(fd);
	for (i = 4; i < 8; i++) {
		struct shadow_page_info p = shadow_page(_metadata, self->mfd,
							W(i));

		TH_LOG("page %d: real %lx shadow %x", i, pm[i], p.flags);
		EXPECT_NE(0, pm[i] & (1UL << 63));
		EXPECT_EQ(SHADOW_PAGE_PRESENT, p.flags & SHADOW_PAGE_PRESENT);
		EXPECT_EQ(SHADOW_PAGE_WRITE, p.flags & SHADOW_PAGE_WRITE);
	}
	/* Read-only: read-faulted, the zero page. */
	EXPECT_EQ(SHADOW_PAGE_ZERO,
		  shadow_page(_metadata, self->mfd,
			      W(19)).flags & SHADOW_PAGE_ZERO);
	EXPECT_EQ(12, shadow_stats(_metadata, self->mfd).out_locked_vm);
}

/*
 * SHADOW_RULE_DONTUNMAP_NO_SELF_MERGE: MREMAP_DONTUNMAP of the second
 * page of a never-faulted VMA onto its first page. The destination's
 * pgoff is reset to its address, so it could merge with the source: 6.1
 * keeps two VMAs, 6.12 one. RUN compares with the real kernel of the run,
 * COMPARE with the rule the module reports.
 */
TEST_F(mremap, dontunmap_next_to_source)
{
	RUN(self->mfd,
	    OP_MAP(0, 2, RW, PRIV | FIXED),
	    OP_REMAP(1, 1, 1, DONTUNMAP | MREMAP_FIXED, 0, 0));
	if (shadow_rules_since(6, 12))
		COMPARE(self->mfd, { 0, 2, "rw-p" });
	else
		COMPARE(self->mfd, { 0, 1, "rw-p" }, { 1, 2, "rw-p" });
}

/*
 * A locked mapping that moves stays locked and counted. MREMAP_DONTUNMAP
 * of part of it: 6.1 splits it first, and the part left behind is
 * unlocked; 6.12 unlocks the whole old VMA, which merges with the
 * unlocked range (SHADOW_RULE_DONTUNMAP_SPLITS_LOCKED). RUN compares
 * each step with the real kernel of the run, COMPARE the outcome with
 * the rule the module reports.
 */
TEST_F(mremap, locked_move_and_dontunmap)
{
	long vmlck = status_kb("VmLck:");

	ASSERT_LE(0, vmlck);
	RUN(self->mfd,
	    OP_MAP(0, 4, RW, PRIV | MAP_LOCKED | FIXED),
	    OP_MAP(4, 4, RO, PRIV | FIXED),
	    OP_REMAP(0, 4, 6, MAYMOVE, 0, -1),
	    OP_MAP(100, 8, RW, PRIV | MAP_LOCKED | FIXED),
	    OP_REMAP(102, 2, 2, DONTUNMAP, 200, 200));
	if (shadow_rules_since(6, 12))
		COMPARE(self->mfd, { 4, 8, "r--p" }, { 100, 108, "rw-p" },
			{ 200, 202, "rw-p" });
	else
		COMPARE(self->mfd, { 4, 8, "r--p" }, { 100, 102, "rw-p" },
			{ 102, 104, "rw-p" }, { 104, 108, "rw-p" },
			{ 200, 202, "rw-p" });
	/*
	 * 6 moved; of the 8 at 100, the 2 left behind are unlocked and the
	 * 2 that moved are locked at 200 without being counted again.
	 */
	EXPECT_EQ(6 + 2 + 4 + 2, shadow_stats(_metadata,
					      self->mfd).out_locked_vm);
	/*
	 * The real process counts the same: on 6.12 too, although only 8
	 * of the 14 pages are still locked there.
	 */
	EXPECT_EQ(vmlck + (6 + 2 + 4 + 2) * PAGE / 1024,
		  status_kb("VmLck:"));
}

/*
 * Without CAP_IPC_LOCK, RLIMIT_MEMLOCK bounds a locked mapping's growth:
 * EAGAIN (mlock_future_check), in place or moving.
 */
TEST_F(mremap, locked_growth_memlock_limit)
{
	struct rlimit rl = { 8 * PAGE, RLIM_INFINITY }, old;

	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, drop_effective_cap(CAP_IPC_LOCK));
	RUN(self->mfd,
	    OP_MAP(0, 4, RW, PRIV | MAP_LOCKED | FIXED),
	    OP_REMAP_ERR(0, 4, 12, 0, 0, EAGAIN),
	    OP_REMAP_ERR(0, 4, 12, MFIXED, 100, EAGAIN),
	    OP_REMAP(0, 4, 8, 0, 0, 0),
	    OP_REMAP_ERR(0, 8, 9, MAYMOVE, 0, EAGAIN));
	COMPARE(self->mfd, { 0, 8, "rw-p" });
	EXPECT_EQ(8, shadow_stats(_metadata, self->mfd).out_locked_vm);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &old));
}

/* RLIMIT_AS and RLIMIT_DATA bound a growth: ENOMEM. */
TEST_F(mremap, rlimit)
{
	struct rlimit rl = { 64 * PAGE, RLIM_INFINITY }, old;
	__u64 out;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 32 * PAGE, RW,
				  PRIV | FIXED, NULL));
	ASSERT_EQ(0, getrlimit(RLIMIT_DATA, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_DATA, &rl));
	EXPECT_EQ(-ENOMEM, _shadow_mremap(self->mfd, W(0), 32 * PAGE,
					  80 * PAGE, MAYMOVE, 0, &out));
	EXPECT_EQ(0, _shadow_mremap(self->mfd, W(0), 32 * PAGE, 64 * PAGE,
				    MAYMOVE, 0, &out));
	/* Read-only memory is not data. */
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(100), 4 * PAGE, RO,
				  PRIV | FIXED, NULL));
	EXPECT_EQ(0, _shadow_mremap(self->mfd, W(100), 4 * PAGE, 100 * PAGE,
				    MAYMOVE, 0, &out));
	ASSERT_EQ(0, setrlimit(RLIMIT_DATA, &old));
}

/* The stats of each VMA kind follow a resize and a move. */
TEST_F(mremap, accounting)
{
	struct shadow_mm_stats st;
	__u64 out;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 4 * PAGE, RW,
				  PRIV | FIXED | GROWS, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(10), 4 * PAGE,
				  PROT_READ | PROT_EXEC, PRIV | FIXED, NULL));
	ASSERT_EQ(0, _shadow_mremap(self->mfd, W(0), 4 * PAGE, 6 * PAGE,
				    MFIXED, W(100), &out));
	ASSERT_EQ(0, _shadow_mremap(self->mfd, W(10), 4 * PAGE, 2 * PAGE,
				    MFIXED, W(200), &out));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(6, st.out_stack_vm);
	EXPECT_EQ(2, st.out_exec_vm);
	EXPECT_EQ(0, st.out_data_vm);
	EXPECT_EQ(8, st.out_total_vm);
}

#define THREADS		4
#define RUN_SECONDS	2

struct stress {
	int mfd;
	unsigned int seed;
	int *stop;
	long ops;
};

static void *stress_thread(void *arg)
{
	struct stress *s = arg;
	struct shadow_page_info pages[16];
	char buf[64];

	while (!__atomic_load_n(s->stop, __ATOMIC_RELAXED)) {
		unsigned long pg = rand_r(&s->seed) % 96;
		unsigned long n = rand_r(&s->seed) % 8 + 1;
		unsigned long to = rand_r(&s->seed) % 96;
		int fd;

		switch (rand_r(&s->seed) % 6) {
		case 0:
			_shadow_mremap(s->mfd, W(pg), n * PAGE,
				       (rand_r(&s->seed) % 8 + 1) * PAGE,
				       rand_r(&s->seed) % 2 ? MFIXED : MAYMOVE,
				       W(to), NULL);
			break;
		case 1:
			_shadow_mmap(s->mfd, W(pg), n * PAGE, RW,
				     (rand_r(&s->seed) % 2 ? PRIV : SHARED) |
				     FIXED | (n == 1 ? GROWS : 0), NULL);
			break;
		case 2:
			_shadow_fault(s->mfd, W(pg), n * PAGE,
				      SHADOW_FAULT_WRITE, NULL);
			break;
		case 3:
			_shadow_access(s->mfd, W(pg), buf, sizeof(buf), 0);
			_shadow_walk(s->mfd, W(pg), 16, pages);
			break;
		case 4:
			fd = _shadow_fork(s->mfd, 0, NULL);
			if (fd >= 0)
				close(fd);
			break;
		default:
			_shadow_brk(s->mfd, HEAP_START + n * PAGE * 4, 0, NULL);
			break;
		}
		s->ops++;
	}
	return NULL;
}

/*
 * Threads moving, mapping, faulting, growing stacks, walking, forking and
 * moving the break in one address space end with a sane layout whose
 * counters add up (and, under the debug kernel, no lockdep report).
 */
TEST_F(mremap, concurrent)
{
	struct stress s[THREADS];
	pthread_t t[THREADS];
	int stop = 0;
	long ops = 0;
	__u32 i;

	ASSERT_EQ((long)HEAP_START, _shadow_brk(self->mfd, HEAP_START,
						SHADOW_BRK_SET_START, NULL));
	for (i = 0; i < THREADS; i++) {
		s[i] = (struct stress){ self->mfd, i + 1, &stop, 0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, stress_thread, &s[i]));
	}
	sleep(RUN_SECONDS);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ops += s[i].ops;
		/* Every thread got somewhere, however slow the kernel. */
		EXPECT_LT(0, s[i].ops);
	}
	TH_LOG("%ld operations", ops);
	shadow_expect_sane_layout(_metadata, self->mfd);
}

/* SHADOW_MM_BRK fixture: the heap placed in the window. */
#define HEAP		W(0)
#define H(pg)		(HEAP + (unsigned long)(pg) * PAGE)

static long brk_to(struct __test_metadata *_metadata, int mfd, __u64 brk)
{
	long ret = _shadow_brk(mfd, brk, 0, NULL);

	EXPECT_LE(0, ret);
	return ret;
}

/* A new address space's heap starts, empty, at the default start_brk. */
TEST_F(mremap, brk_default)
{
	struct shadow_mm_stats st = shadow_stats(_metadata, self->mfd);
	__u64 start = 0;

	EXPECT_EQ(SHADOW_DEFAULT_START_BRK, st.out_start_brk);
	EXPECT_EQ(SHADOW_DEFAULT_START_BRK, st.out_brk);
	EXPECT_EQ((long)SHADOW_DEFAULT_START_BRK,
		  _shadow_brk(self->mfd, 0, 0, &start));
	EXPECT_EQ(SHADOW_DEFAULT_START_BRK, start);
	EXPECT_EQ((long)SHADOW_DEFAULT_START_BRK + 3 * (long)PAGE,
		  _shadow_brk(self->mfd, SHADOW_DEFAULT_START_BRK + 3 * PAGE,
			      0, NULL));
	EXPECT_EQ(3, shadow_stats(_metadata, self->mfd).out_data_vm);
}

/*
 * Growing maps a private anonymous VMA that later growth extends; the
 * break may be unaligned (its page is mapped); shrinking unmaps; a break
 * below start_brk is refused. The maps call the VMA [heap].
 */
TEST_F(mremap, brk_grow_shrink)
{
	const __u64 flags = SHADOW_VM_READ | SHADOW_VM_WRITE |
			    SHADOW_VM_MAYREAD | SHADOW_VM_MAYWRITE |
			    SHADOW_VM_MAYEXEC | SHADOW_VM_ACCOUNT |
			    SHADOW_VM_SOFTDIRTY;
	struct shadow_vma_info v[2];
	struct shadow_mm_stats st;
	char *maps, want[128];
	__u32 nr;

	EXPECT_EQ((long)HEAP, _shadow_brk(self->mfd, HEAP, SHADOW_BRK_SET_START,
					  NULL));
	EXPECT_EQ((long)H(5), brk_to(_metadata, self->mfd, H(5)));
	shadow_put(_metadata, self->mfd, H(4), "heap");
	EXPECT_EQ((long)H(10), brk_to(_metadata, self->mfd, H(10)));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, 0, -1UL, v, 2, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_EQ(H(0), v[0].start);
	EXPECT_EQ(H(10), v[0].end);
	EXPECT_EQ(flags, v[0].vm_flags);
	EXPECT_EQ(H(0) / PAGE, v[0].pgoff);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(10, st.out_total_vm);
	EXPECT_EQ(10, st.out_data_vm);
	EXPECT_EQ(H(10), st.out_brk);

	/* Unaligned: the break is kept as given, its page mapped. */
	EXPECT_EQ((long)H(3) + 100, brk_to(_metadata, self->mfd, H(3) + 100));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, 0, -1UL, v, 2, &nr));
	EXPECT_EQ(H(4), v[0].end);
	EXPECT_EQ(H(3) + 100, shadow_stats(_metadata, self->mfd).out_brk);
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, H(4), want, 1, 0));
	EXPECT_EQ((long)H(3) + 200, brk_to(_metadata, self->mfd, H(3) + 200));
	EXPECT_EQ(4, shadow_stats(_metadata, self->mfd).out_total_vm);

	maps = shadow_get_maps(self->mfd);
	ASSERT_NE(NULL, maps);
	snprintf(want, sizeof(want), "%lx-%lx rw-p %08lx 00:00 0",
		 H(0), H(4), 0UL);
	snprintf(want + strlen(want), sizeof(want) - strlen(want),
		 "%*s[heap]\n", (int)(73 - strlen(want)), "");
	EXPECT_STREQ(want, maps);
	free(maps);

	/* Below start_brk: refused, the old break comes back. */
	EXPECT_EQ((long)H(3) + 200, brk_to(_metadata, self->mfd, H(0) - 1));
	/* Down to start_brk: the heap is empty again. */
	EXPECT_EQ((long)H(0), brk_to(_metadata, self->mfd, H(0)));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_map_count);
}

/*
 * The heap keeps a page free below the next VMA, and the whole guard gap
 * below a stack; a VMA in the way of the growth refuses it.
 */
TEST_F(mremap, brk_gaps)
{
	EXPECT_EQ((long)HEAP, _shadow_brk(self->mfd, HEAP, SHADOW_BRK_SET_START,
					  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, H(12), PAGE, RW, PRIV | FIXED,
				  NULL));
	EXPECT_EQ((long)H(11), brk_to(_metadata, self->mfd, H(11)));
	EXPECT_EQ((long)H(11), brk_to(_metadata, self->mfd, H(11) + 1));
	EXPECT_EQ((long)H(11), brk_to(_metadata, self->mfd, H(20)));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, H(12), PAGE));

	ASSERT_EQ(0, _shadow_mmap(self->mfd, H(300), PAGE, RW,
				  PRIV | FIXED | GROWS, NULL));
	EXPECT_EQ((long)H(300 - GAP_PAGES - 1),
		  brk_to(_metadata, self->mfd, H(300 - GAP_PAGES - 1)));
	EXPECT_EQ((long)H(300 - GAP_PAGES - 1),
		  brk_to(_metadata, self->mfd, H(300 - GAP_PAGES - 1) + 1));
	EXPECT_EQ(2, shadow_stats(_metadata, self->mfd).out_map_count);
	/* Beyond the address space. */
	EXPECT_EQ((long)H(300 - GAP_PAGES - 1),
		  brk_to(_metadata, self->mfd, 1UL << 47));
	EXPECT_EQ((long)H(300 - GAP_PAGES - 1),
		  brk_to(_metadata, self->mfd, -PAGE));
}

/*
 * After fork the child's heap has an inherited anon_vma: its growth is a
 * new VMA (do_brk_flags merges only what fork has not touched); the
 * parent's still merges. Both inherit start_brk and brk.
 */
TEST_F(mremap, brk_after_fork)
{
	struct shadow_mm_stats st;
	int child;

	EXPECT_EQ((long)HEAP, _shadow_brk(self->mfd, HEAP, SHADOW_BRK_SET_START,
					  NULL));
	EXPECT_EQ((long)H(4), brk_to(_metadata, self->mfd, H(4)));
	shadow_put(_metadata, self->mfd, H(0), "heap");
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	st = shadow_stats(_metadata, child);
	EXPECT_EQ(HEAP, st.out_start_brk);
	EXPECT_EQ(H(4), st.out_brk);
	EXPECT_EQ((long)H(8), brk_to(_metadata, child, H(8)));
	EXPECT_EQ(2, shadow_stats(_metadata, child).out_map_count);
	EXPECT_EQ((long)H(8), brk_to(_metadata, self->mfd, H(8)));
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_map_count);
	shadow_expect(_metadata, child, H(0), "heap");
	close(child);
}

/*
 * RLIMIT_DATA bounds the heap: the break itself (check_data_rlimit) and
 * its pages (may_expand_vm), which a limit that is not page aligned
 * rounds down.
 */
TEST_F(mremap, brk_rlimit_data)
{
	struct rlimit rl = { 8 * PAGE + 10, RLIM_INFINITY }, old;

	EXPECT_EQ((long)HEAP, _shadow_brk(self->mfd, HEAP, SHADOW_BRK_SET_START,
					  NULL));
	ASSERT_EQ(0, getrlimit(RLIMIT_DATA, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_DATA, &rl));
	EXPECT_EQ((long)H(8), brk_to(_metadata, self->mfd, H(8)));
	EXPECT_EQ((long)H(8), brk_to(_metadata, self->mfd, H(8) + 10));
	EXPECT_EQ((long)H(8), brk_to(_metadata, self->mfd, H(8) + 11));
	EXPECT_EQ((long)H(7) + 1, brk_to(_metadata, self->mfd, H(7) + 1));
	ASSERT_EQ(0, setrlimit(RLIMIT_DATA, &old));
	EXPECT_EQ(8, shadow_stats(_metadata, self->mfd).out_data_vm);
}

/* SHADOW_BRK_SET_START's errors, and its flags. */
TEST_F(mremap, brk_set_start)
{
	EXPECT_EQ(-EINVAL, _shadow_brk(self->mfd, HEAP + 1,
				       SHADOW_BRK_SET_START, NULL));
	EXPECT_EQ(-EINVAL, _shadow_brk(self->mfd, 0, SHADOW_BRK_SET_START,
				       NULL));
	EXPECT_EQ(-EINVAL, _shadow_brk(self->mfd, 1UL << 47,
				       SHADOW_BRK_SET_START, NULL));
	EXPECT_EQ(-EINVAL, _shadow_brk(self->mfd, HEAP, 2, NULL));
	EXPECT_EQ((long)HEAP, _shadow_brk(self->mfd, HEAP,
					  SHADOW_BRK_SET_START, NULL));
	EXPECT_EQ((long)H(1) + 1, brk_to(_metadata, self->mfd, H(1) + 1));
	/* Not empty: refused. */
	EXPECT_EQ(-EINVAL, _shadow_brk(self->mfd, H(100),
				       SHADOW_BRK_SET_START, NULL));
	EXPECT_EQ((long)HEAP, brk_to(_metadata, self->mfd, HEAP));
	EXPECT_EQ((long)H(100), _shadow_brk(self->mfd, H(100),
					    SHADOW_BRK_SET_START, NULL));
}

/*
 * brk against this very process's heap: the shadow heap is set to start
 * where ours starts and to end where ours ends; then the same requests go
 * to both, with a mapping and a stack placed above the heap in both. Only
 * raw system calls run while this process's break is moved (malloc must
 * not see it), and the break is put back before anything is checked.
 */
#define BRK_STEPS	12

static unsigned long raw_heap_end(char *buf, size_t size,
				  unsigned long start_brk)
{
	unsigned long s, e, end = 0;
	char *line, *next;
	ssize_t n;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, size - 1);
	while (n > 0 && (size_t)n < size - 1) {
		ssize_t m = read(fd, buf + n, size - 1 - n);

		if (m <= 0)
			break;
		n += m;
	}
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		s = strtoul(line, &line, 16);
		e = strtoul(line + 1, NULL, 16);
		if (strstr(line, "[heap]") && s >= start_brk && e > end)
			end = e;
	}
	return end;
}

TEST_F(mremap, brk_matches_this_process)
{
	static char maps[1 << 16];
	unsigned long start_brk, cur, base, ret_real[BRK_STEPS];
	unsigned long end_real[BRK_STEPS], req[BRK_STEPS];
	long ret_shadow;
	char stat[1024], *p;
	int fd, i, n, step;
	ssize_t len;

	/* start_brk is the 47th field of /proc/self/stat. */
	fd = open("/proc/self/stat", O_RDONLY);
	ASSERT_LE(0, fd);
	len = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	ASSERT_LT(0, len);
	stat[len] = 0;
	p = strrchr(stat, ')');
	ASSERT_NE(NULL, p);
	for (n = 2; n < 47 && p; n++)
		p = strchr(p + 1, ' ');
	ASSERT_NE(NULL, p);
	start_brk = strtoul(p + 1, NULL, 10);
	cur = syscall(SYS_brk, 0);
	base = (cur + PAGE - 1) & ~(PAGE - 1);
	TH_LOG("start_brk %lx brk %lx", start_brk, cur);
	ASSERT_EQ(0, start_brk & (PAGE - 1));

	/* The requests; 0 and -1 stand for "map the page" and "a stack". */
	req[0] = base + 5 * PAGE;
	req[1] = base + 5 * PAGE + 123;
	req[2] = base + 2 * PAGE;
	req[3] = 0;			/* a page mapped at base + 12 pages */
	req[4] = base + 11 * PAGE;
	req[5] = base + 11 * PAGE + 1;
	req[6] = -1UL;			/* then a stack at base + 300 pages */
	req[7] = base + (300 - GAP_PAGES - 1) * PAGE;
	req[8] = base + (300 - GAP_PAGES - 1) * PAGE + 1;
	req[9] = start_brk - 1;
	req[10] = 0;
	req[11] = cur;

	/* Ours: raw system calls only, results kept for later. */
	for (step = 0; step < BRK_STEPS; step++) {
		void *map;

		if (step == 3) {
			map = mmap((void *)(base + 12 * PAGE), PAGE, RW,
				   PRIV | MAP_FIXED_NOREPLACE, -1, 0);
			ret_real[step] = (unsigned long)map;
		} else if (step == 6) {
			munmap((void *)(base + 12 * PAGE), PAGE);
			map = mmap((void *)(base + 300 * PAGE), PAGE, RW,
				   PRIV | GROWS | MAP_FIXED_NOREPLACE, -1, 0);
			ret_real[step] = (unsigned long)map;
		} else {
			ret_real[step] = syscall(SYS_brk, req[step]);
		}
		end_real[step] = raw_heap_end(maps, sizeof(maps), start_brk);
	}
	munmap((void *)(base + 300 * PAGE), PAGE);
	ASSERT_EQ(cur, (unsigned long)syscall(SYS_brk, 0));

	/* The shadow heap, set up as ours was, then the same steps. */
	ASSERT_EQ((long)start_brk, _shadow_brk(self->mfd, start_brk,
					       SHADOW_BRK_SET_START, NULL));
	ASSERT_EQ((long)cur, _shadow_brk(self->mfd, cur, 0, NULL));
	for (step = 0; step < BRK_STEPS; step++) {
		struct shadow_vma_info v[4];
		unsigned long end = 0;
		__u32 nr;

		if (step == 3) {
			ASSERT_EQ(base + 12 * PAGE, ret_real[step]);
			ASSERT_EQ(0, _shadow_mmap(self->mfd, base + 12 * PAGE,
						  PAGE, RW, PRIV | FIXED,
						  NULL));
		} else if (step == 6) {
			ASSERT_EQ(base + 300 * PAGE, ret_real[step]);
			ASSERT_EQ(0, _shadow_munmap(self->mfd,
						    base + 12 * PAGE, PAGE));
			ASSERT_EQ(0, _shadow_mmap(self->mfd,
						  base + 300 * PAGE, PAGE, RW,
						  PRIV | FIXED | GROWS, NULL));
		} else {
			ret_shadow = _shadow_brk(self->mfd, req[step], 0, NULL);
			TH_LOG("step %d: brk(%lx): real %lx shadow %lx", step,
			       req[step], ret_real[step], ret_shadow);
			EXPECT_EQ((long)ret_real[step], ret_shadow);
		}
		ASSERT_EQ(0, _shadow_get_vmas(self->mfd, start_brk,
					      base + 200 * PAGE, v, 4, &nr));
		for (i = 0; i < (int)nr && i < 4; i++)
			if (v[i].end > end && v[i].start < base + 12 * PAGE)
				end = v[i].end;
		TH_LOG("step %d: heap ends: real %lx shadow %lx", step,
		       end_real[step], end);
		EXPECT_EQ(end_real[step], end);
	}
}

/*
 * A touch just below a stack grows it (lock_mm_and_find_vma ->
 * expand_stack): any distance, as x86-64's fault handler no longer looks
 * at the stack pointer, as long as the guard gap to an accessible VMA
 * below that does not grow down stays free.
 */
TEST_F(mremap, stack_grows_on_fault)
{
	struct shadow_mm_stats st;

	RUN(self->mfd,
	    OP_MAP(0, 4, RW, PRIV | FIXED),
	    OP_MAP(600, 4, RW, PRIV | FIXED | GROWS),
	    OP_WRITE(599, 1),
	    OP_READ(590, 1),
	    OP_WRITE(400, 1),
	    /* 256 pages above the VMA below: fine; 255: refused. */
	    OP_READ(260, 1),
	    OP_WRITE_ERR(259, 1, EFAULT),
	    OP_READ_ERR(100, 1, EFAULT));
	COMPARE(self->mfd, { 0, 4, "rw-p" }, { 260, 604, "rw-p" });
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(344, st.out_stack_vm);
	EXPECT_EQ(348, st.out_total_vm);
	EXPECT_EQ(4, st.out_data_vm);
}

/*
 * The guard gap counts only accessible VMAs that do not grow down: a
 * PROT_NONE VMA or another stack below lets the stack grow right up to it.
 */
TEST_F(mremap, stack_gap_exceptions)
{
	RUN(self->mfd,
	    OP_MAP(0, 4, PROT_NONE, PRIV | FIXED),
	    OP_MAP(100, 4, RW, PRIV | FIXED | GROWS),
	    OP_WRITE(4, 1),
	    OP_MAP(200, 4, RW, PRIV | FIXED | GROWS),
	    OP_READ(104, 1));
	COMPARE(self->mfd, { 0, 4, "---p" }, { 4, 104, "rw-p" },
		{ 104, 204, "rw-p" });
}

/*
 * The stack grows before the access is checked: a write below a
 * read-only stack grows it and then faults.
 */
TEST_F(mremap, stack_grows_then_access_error)
{
	RUN(self->mfd,
	    OP_MAP(100, 4, RO, PRIV | FIXED | GROWS),
	    OP_WRITE_ERR(90, 1, EFAULT),
	    OP_MAP(200, 4, PROT_NONE, PRIV | FIXED | GROWS),
	    OP_READ_ERR(196, 1, EFAULT));
	COMPARE(self->mfd, { 90, 104, "r--p" }, { 196, 204, "---p" });
}

/* An access through /proc/<pid>/mem (access_process_vm) grows it too. */
TEST_F(mremap, stack_grows_on_access)
{
	char buf[8] = "", wbuf[8] = "stack";
	int fd;

	RUN(self->mfd, OP_MAP(100, 4, RW, PRIV | FIXED | GROWS));
	fd = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(sizeof(buf), pread(fd, buf, sizeof(buf), W(90) + 8));
	EXPECT_EQ(5, pwrite(fd, wbuf, 5, W(80)));
	close(fd);
	EXPECT_EQ(sizeof(buf), _shadow_access(self->mfd, W(90) + 8, buf,
					      sizeof(buf), 0));
	shadow_put(_metadata, self->mfd, W(80), "stack");
	COMPARE(self->mfd, { 80, 104, "rw-p" });
	shadow_expect(_metadata, self->mfd, W(80), "stack");
	EXPECT_STREQ("stack", (char *)W(80));
	/* A non-stack VMA above: nothing grows, nothing is read. */
	RUN(self->mfd, OP_MAP(300, 4, RW, PRIV | FIXED));
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, W(299), buf, 1, 0));
}

/* RLIMIT_STACK bounds the whole stack's size. */
TEST_F(mremap, stack_rlimit)
{
	struct rlimit rl = { 16 * PAGE, RLIM_INFINITY }, old;

	ASSERT_EQ(0, getrlimit(RLIMIT_STACK, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_STACK, &rl));
	RUN(self->mfd,
	    OP_MAP(100, 4, RW, PRIV | FIXED | GROWS),
	    OP_WRITE(88, 1),
	    OP_WRITE_ERR(87, 1, EFAULT),
	    OP_READ(90, 1));
	ASSERT_EQ(0, setrlimit(RLIMIT_STACK, &old));
	COMPARE(self->mfd, { 88, 104, "rw-p" });
	EXPECT_EQ(16, shadow_stats(_metadata, self->mfd).out_stack_vm);
}

/* A stack never grows below mmap_min_addr (EPERM, a SIGSEGV). */
TEST_F(mremap, stack_mmap_min_addr)
{
	const unsigned long lo = 0x10000, hi = 0x20000;
	const struct span want[] = { { 0, 2, "rw-p" } };
	unsigned long min_addr = 0;
	FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "r");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%lu", &min_addr));
	fclose(f);
	if (min_addr != lo)
		SKIP(return, "vm.mmap_min_addr is %lu", min_addr);
	ASSERT_NE(MAP_FAILED, mmap((void *)(lo + PAGE), PAGE, RW,
				   PRIV | GROWS | MAP_FIXED_NOREPLACE, -1, 0));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, lo + PAGE, PAGE, RW,
				  PRIV | GROWS | FIXED, NULL));
	EXPECT_EQ(EFAULT, real_touch(lo - PAGE, 1, true));
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, lo - PAGE, 1,
					 SHADOW_FAULT_WRITE, NULL));
	EXPECT_EQ(0, real_touch(lo, 1, true));
	EXPECT_EQ(0, _shadow_fault(self->mfd, lo, 1, SHADOW_FAULT_WRITE,
				   NULL));
	compare_range(_metadata, self->mfd, lo, hi, want, 1);
	munmap((void *)lo, 2 * PAGE);
}

/* A grown stack's pages are private anonymous pages like any other. */
TEST_F(mremap, stack_pages_fork)
{
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(100), PAGE, RW,
				  PRIV | FIXED | GROWS, NULL));
	shadow_put(_metadata, self->mfd, W(90), "grown");
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	shadow_expect(_metadata, child, W(90), "grown");
	shadow_put(_metadata, child, W(80), "child grew");
	EXPECT_EQ(21, shadow_stats(_metadata, child).out_stack_vm);
	EXPECT_EQ(11, shadow_stats(_metadata, self->mfd).out_stack_vm);
	shadow_expect(_metadata, self->mfd, W(90), "grown");
	close(child);
}

TEST_HARNESS_MAIN
