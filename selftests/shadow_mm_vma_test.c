// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow address spaces and their VMA trees: mmap, munmap, exit, maps.
 *
 * Every layout scenario runs twice: on a shadow address space and with real
 * mmap()/munmap() in a fixed window of this process. Both must give the
 * layout the scenario expects (boundaries, permissions, merges) and the same
 * errors: the running kernel is the oracle.
 */
#include <pthread.h>
#include <stddef.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

/* A window far from this static binary, its heap and its mmap area. */
#define WIN		0x100000000000UL
#define WIN_PAGES	256UL
#define W(pg)		(WIN + (unsigned long)(pg) * PAGE)

#define NOREPLACE	MAP_FIXED_NOREPLACE

/* Anonymous maps lines end in a space before the newline, as in Linux. */
#define NL		"\n"

/* An expected VMA: pages from WIN. */
struct region {
	unsigned long start, end;
	char perms[5];
};

enum op_kind { MMAP, MUNMAP, MADVISE };

/* One step of a scenario; err is the errno both kernels must give. */
struct op {
	enum op_kind kind;
	long pg, npages;
	int prot, flags;
	int err;
};

#define MAP(p, n, pr, fl)	{ MMAP, p, n, pr, fl, 0 }
#define MAP_ERR(p, n, pr, fl, e) { MMAP, p, n, pr, fl, e }
#define UNMAP(p, n)		{ MUNMAP, p, n, 0, 0, 0 }
#define ADVISE(p, n, adv)	{ MADVISE, p, n, 0, adv, 0 }
#define ADVISE_ERR(p, n, adv, e) { MADVISE, p, n, 0, adv, e }

/* run_scenario() compares each VMA's VmFlags with the real kernel's too. */
static bool compare_flags;

static unsigned long scenario_flags(const struct op *op)
{
	return op->flags;
}

/*
 * Run @ops on the shadow space @mfd and on this process's window, each step
 * checked for the expected errno and equal results, then check both final
 * layouts against @want (pages relative to WIN).
 */
static void run_scenario(struct __test_metadata *_metadata, int mfd,
			 const struct op *ops, int nops,
			 const struct region *want, int nwant)
{
	struct shadow_region real[SHADOW_MAX_REGIONS];
	struct shadow_region shadow[SHADOW_MAX_REGIONS];
	int i, nreal, nshadow;

	munmap((void *)WIN, WIN_PAGES * PAGE);
	for (i = 0; i < nops; i++) {
		const struct op *op = &ops[i];
		__u64 saddr = 0;
		int rerr = 0, serr;
		void *raddr = NULL;

		if (op->kind == MMAP) {
			raddr = mmap((void *)W(op->pg), op->npages * PAGE,
				     op->prot, scenario_flags(op), -1, 0);
			if (raddr == MAP_FAILED)
				rerr = errno;
			serr = -_shadow_mmap(mfd, W(op->pg), op->npages * PAGE,
					     op->prot, scenario_flags(op),
					     &saddr);
		} else if (op->kind == MUNMAP) {
			if (munmap((void *)W(op->pg), op->npages * PAGE))
				rerr = errno;
			serr = -_shadow_munmap(mfd, W(op->pg),
					       op->npages * PAGE);
		} else {
			if (madvise((void *)W(op->pg), op->npages * PAGE,
				    op->flags))
				rerr = errno;
			serr = -_shadow_madvise(mfd, W(op->pg),
						op->npages * PAGE, op->flags);
		}
		TH_LOG("step %d: op %d pg %ld n %ld -> real %d shadow %d", i,
		       op->kind, op->pg, op->npages, rerr, serr);
		ASSERT_EQ(op->err, rerr);
		ASSERT_EQ(op->err, serr);
		if (op->kind == MMAP && !rerr)
			ASSERT_EQ((__u64)(uintptr_t)raddr, saddr);
	}

	nreal = shadow_real_regions(WIN, W(WIN_PAGES), real);
	nshadow = shadow_regions(mfd, WIN, W(WIN_PAGES), shadow);
	munmap((void *)WIN, WIN_PAGES * PAGE);
	ASSERT_EQ(nwant, nreal);
	ASSERT_EQ(nwant, nshadow);
	for (i = 0; i < nwant; i++) {
		TH_LOG("region %d: want %lx-%lx %s", i, W(want[i].start),
		       W(want[i].end), want[i].perms);
		EXPECT_EQ(W(want[i].start), real[i].start);
		EXPECT_EQ(W(want[i].end), real[i].end);
		EXPECT_STREQ(want[i].perms, real[i].perms);
		EXPECT_EQ(W(want[i].start), shadow[i].start);
		EXPECT_EQ(W(want[i].end), shadow[i].end);
		EXPECT_STREQ(want[i].perms, shadow[i].perms);
		if (compare_flags)
			EXPECT_EQ(real[i].flags, shadow[i].flags);
	}
}

FIXTURE(vma) {
	int dev;
	int mfd;
	__u32 id;
};

FIXTURE_SETUP(vma)
{
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->mfd = _shadow_create(self->dev, 0, &self->id);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(vma)
{
	close(self->mfd);
	close(self->dev);
}

/*
 * Where a private anonymous mapping of @len without a hint goes when the
 * top of the free area is @top: there on 6.1; since 6.7 with THP built in
 * (SHADOW_RULE_THP_ALIGN_ANON), for a multiple of 2 MiB, on a 2 MiB
 * boundary inside room for @len + 2 MiB (__thp_get_unmapped_area()).
 */
static unsigned long placement(unsigned long top, unsigned long len,
			       bool align)
{
	const unsigned long thp = 2UL << 20;
	unsigned long ret, off_sub;

	if (!align || len % thp)
		return top - len;
	ret = top - len - thp;
	off_sub = (0 - ret) & (thp - 1);
	return off_sub ? ret + off_sub : ret + thp;
}

/*
 * SHADOW_RULE_THP_ALIGN_ANON, against the real kernel of the run (the
 * debug kernels have no THP, and no alignment): in
 * this process and in the shadow space, a probe as large as the room the
 * kernel will search for finds the top of that room, then mappings of
 * 4 MiB and 4 MiB + 4 KiB without a hint go where placement() says that
 * kernel puts them. A shared one is never aligned.
 */
TEST_F(vma, thp_aligned_placement)
{
	const unsigned long lens[] = { 4UL << 20, (4UL << 20) + PAGE };
	/* The rule needs a kernel built with THP, as Debian's are. */
	const bool align = shadow_rules_since(6, 7) &&
			   !access("/sys/kernel/mm/transparent_hugepage", F_OK);
	unsigned int i;

	EXPECT_EQ(running_kernel_version(), shadow_rules());
	for (i = 0; i < 3; i++) {
		unsigned long len = lens[i % 2];
		int flags = i < 2 ? MAP_PRIVATE | MAP_ANONYMOUS :
				    MAP_SHARED | MAP_ANONYMOUS;
		bool aligned = align && i < 2;
		unsigned long probe = aligned && !(len % (2UL << 20)) ?
				      len + (2UL << 20) : len;
		unsigned long top;
		__u64 stop, got;
		char *p;

		/* The real kernel. */
		/* A shared probe: never aligned itself. */
		p = mmap(NULL, probe, PROT_READ, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		top = (unsigned long)p + probe;
		ASSERT_EQ(0, munmap(p, probe));
		p = mmap(NULL, len, PROT_READ, flags, -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(placement(top, len, aligned), (unsigned long)p) {
			TH_LOG("real: len %#lx top %#lx", len, top);
		}
		ASSERT_EQ(0, munmap(p, len));

		/* The shadow space. */
		ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, probe, PROT_READ,
					  MAP_SHARED | MAP_ANONYMOUS, &stop));
		ASSERT_EQ(0, _shadow_munmap(self->mfd, stop, probe));
		ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, len, PROT_READ, flags,
					  &got));
		EXPECT_EQ(placement(stop + probe, len, aligned), got) {
			TH_LOG("shadow: len %#lx top %#llx", len,
			       (unsigned long long)stop + probe);
		}
		ASSERT_EQ(0, _shadow_munmap(self->mfd, got, len));
	}
}

/*
 * Punching a hole splits a VMA in two.
 *   before: |AAAAAAAAAAAAAAAA|     after: |AAAA|    |AAAAAAAA|
 */
TEST_F(vma, hole_punch)
{
	const struct op ops[] = { MAP(0, 16, RW, PRIV | FIXED), UNMAP(4, 4) };
	const struct region want[] = { { 0, 4, "rw-p" }, { 8, 16, "rw-p" } };
	struct shadow_vma_info v[4];
	struct shadow_mm_stats st;
	__u32 nr;

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 16 * PAGE, RW, PRIV | FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, W(4), 4 * PAGE));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, 0, SHADOW_TASK_SIZE, v, 4,
				      &nr));
	ASSERT_EQ(2, nr);
	/* Private anonymous pgoff is the address, kept across the split. */
	EXPECT_EQ(W(0) / PAGE, v[0].pgoff);
	EXPECT_EQ(W(8) / PAGE, v[1].pgoff);
	ASSERT_EQ(0, _shadow_get_stats(self->mfd, &st));
	EXPECT_EQ(2, st.out_map_count);
	EXPECT_EQ(12, st.out_total_vm);
}

/*
 * munmap across several VMAs and holes keeps only the outer parts.
 *   before: |AAAA|  |BBBB|  |CCCC|      unmap [2, 14)
 *   after:  |AA|              |CC|
 */
TEST_F(vma, munmap_across_vmas_and_holes)
{
	const struct op ops[] = {
		MAP(0, 4, RW, PRIV | FIXED),
		MAP(6, 4, PROT_READ, PRIV | FIXED),
		MAP(12, 4, RW, SHARED | FIXED),
		UNMAP(2, 12),
	};
	const struct region want[] = { { 0, 2, "rw-p" }, { 14, 16, "rw-s" } };

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
}

/* Unmapping where nothing is mapped succeeds and changes nothing. */
TEST_F(vma, munmap_nothing)
{
	const struct op ops[] = {
		MAP(0, 4, RW, PRIV | FIXED),
		UNMAP(8, 8),
		UNMAP(4, 1),
	};
	const struct region want[] = { { 0, 4, "rw-p" } };

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
}

/*
 * MAP_FIXED over part of a mapping replaces that part.
 *   before: |AAAAAAAAAAAAAAAA|    after: |AAAA|BBBB|AAAAAAAA|
 */
TEST_F(vma, map_fixed_over_part)
{
	const struct op ops[] = {
		MAP(0, 16, RW, PRIV | FIXED),
		MAP(4, 4, PROT_READ, PRIV | FIXED),
	};
	const struct region want[] = {
		{ 0, 4, "rw-p" }, { 4, 8, "r--p" }, { 8, 16, "rw-p" },
	};

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
}

/* MAP_FIXED over two VMAs and the hole between them, merging all three. */
TEST_F(vma, map_fixed_over_two_merges)
{
	const struct op ops[] = {
		MAP(0, 4, RW, PRIV | FIXED),
		MAP(6, 4, PROT_READ, PRIV | FIXED),
		MAP(12, 4, RW, PRIV | FIXED),
		MAP(2, 10, RW, PRIV | FIXED),
	};
	const struct region want[] = { { 0, 16, "rw-p" } };

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
}

/* MAP_FIXED_NOREPLACE over anything is refused; next to it, it works. */
TEST_F(vma, fixed_noreplace)
{
	const struct op ops[] = {
		MAP(0, 8, RW, PRIV | FIXED),
		MAP_ERR(4, 8, RW, PRIV | NOREPLACE, EEXIST),
		MAP_ERR(7, 1, RW, PRIV | NOREPLACE, EEXIST),
		MAP(8, 4, RW, PRIV | NOREPLACE),
	};
	const struct region want[] = { { 0, 12, "rw-p" } };

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
}

/*
 * Adjacent compatible mappings merge, on either side and filling a hole.
 *   |AAAA|BBBB|    |DDDD|   then CCCC fills the hole: one VMA
 */
TEST_F(vma, merge_adjacent)
{
	const struct op ops[] = {
		MAP(0, 4, RW, PRIV | FIXED),
		MAP(4, 4, RW, PRIV | FIXED),
		MAP(12, 4, RW, PRIV | FIXED),
		MAP(8, 4, RW, PRIV | FIXED),
		MAP(20, 4, PROT_NONE, PRIV | FIXED),
		MAP(16, 4, PROT_NONE, PRIV | FIXED),
	};
	const struct region want[] = { { 0, 16, "rw-p" }, { 16, 24, "---p" } };
	struct shadow_mm_stats st;

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
	ASSERT_EQ(0, _shadow_get_stats(self->mfd, &st));
	EXPECT_EQ(2, st.out_map_count);
	EXPECT_EQ(24, st.out_total_vm);
}

/* Different protection, shared vs private, and two shared: no merge. */
TEST_F(vma, no_merge_incompatible)
{
	const struct op ops[] = {
		MAP(0, 4, RW, PRIV | FIXED),
		MAP(4, 4, PROT_READ, PRIV | FIXED),
		MAP(8, 4, PROT_READ, SHARED | FIXED),
		MAP(12, 4, PROT_READ, SHARED | FIXED),
		MAP(16, 4, PROT_READ | PROT_EXEC, PRIV | FIXED),
	};
	const struct region want[] = {
		{ 0, 4, "rw-p" }, { 4, 8, "r--p" }, { 8, 12, "r--s" },
		{ 12, 16, "r--s" }, { 16, 20, "r-xp" },
	};

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
}

/*
 * madvise splits a VMA whose part changes flags, and the opposite advice
 * merges it back (vma_merge cases 1-8 through madvise_update_vma):
 *   |AAAAAAAAAAAAAAAA| -> |AAAA|DDDD|AAAAAAAA| -> |AAAAAAAAAAAAAAAA|
 */
TEST_F(vma, madvise_split_and_merge)
{
	const struct op ops[] = {
		MAP(0, 16, RW, PRIV | FIXED),
		ADVISE(4, 4, MADV_DONTFORK),
		ADVISE(0, 2, MADV_WIPEONFORK),
		ADVISE(4, 4, MADV_DOFORK),
		ADVISE(0, 2, MADV_KEEPONFORK),
		ADVISE(12, 4, MADV_DONTFORK),
		ADVISE(8, 4, MADV_DONTFORK),
	};
	const struct region want[] = { { 0, 8, "rw-p" }, { 8, 16, "rw-p" } };
	struct shadow_vma_info v[4];
	__u32 nr;

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, W(0), W(16), v, 4, &nr));
	ASSERT_EQ(2, nr);
	EXPECT_EQ(0, v[0].vm_flags & SHADOW_VM_DONTCOPY);
	EXPECT_EQ(SHADOW_VM_DONTCOPY, v[1].vm_flags & SHADOW_VM_DONTCOPY);
}

/*
 * MADV_HUGEPAGE and MADV_NOHUGEPAGE (hugepage_madvise): VM_HUGEPAGE and
 * VM_NOHUGEPAGE, one clearing the other, split and merge as the other
 * flag advice does; the VmFlags ("hg", "nh") of each VMA equal the real
 * kernel's for the same calls (the flag is a VMA's: PR_SET_THP_DISABLE,
 * which this process does not set, would not show there). A kernel
 * without THP refuses both with EINVAL, and so does the engine in it.
 *   |AAAAAAAAAAAAAAAA| -> |AAAA|HHHH|NNNN|AAAA| -> |AAAA|HHHHHHHHHHHH|
 */
TEST_F(vma, madvise_hugepage)
{
	const struct op ops[] = {
		MAP(0, 16, RW, PRIV | FIXED),
		ADVISE(4, 4, MADV_HUGEPAGE),
		ADVISE(8, 4, MADV_NOHUGEPAGE),
		ADVISE(8, 2, MADV_HUGEPAGE),
		ADVISE(10, 6, MADV_HUGEPAGE),
		MAP(20, 4, RW, PRIV | FIXED),
		ADVISE_ERR(18, 4, MADV_NOHUGEPAGE, ENOMEM),
		ADVISE(20, 4, MADV_NOHUGEPAGE),
	};
	const struct region want[] = {
		{ 0, 4, "rw-p" }, { 4, 16, "rw-p" }, { 20, 24, "rw-p" },
	};
	struct shadow_vma_info v[4];
	int rerr, serr;
	__u32 nr;
	void *p;

	p = mmap((void *)W(0), PAGE, RW, PRIV | FIXED, -1, 0);
	ASSERT_EQ((void *)W(0), p);
	rerr = madvise(p, PAGE, MADV_HUGEPAGE) ? errno : 0;
	munmap(p, PAGE);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), PAGE, RW, PRIV | FIXED,
				  NULL));
	serr = -_shadow_madvise(self->mfd, W(0), PAGE, MADV_HUGEPAGE);
	ASSERT_EQ(rerr, serr);
	ASSERT_EQ(0, _shadow_munmap(self->mfd, W(0), PAGE));
	if (rerr)
		SKIP(return, "no THP in this kernel: MADV_HUGEPAGE is EINVAL");

	compare_flags = true;
	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
	compare_flags = false;
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, W(0), W(24), v, 4, &nr));
	ASSERT_EQ(3, nr);
	EXPECT_EQ(0, v[0].vm_flags &
		  (SHADOW_VM_HUGEPAGE | SHADOW_VM_NOHUGEPAGE));
	EXPECT_EQ(SHADOW_VM_HUGEPAGE, v[1].vm_flags &
		  (SHADOW_VM_HUGEPAGE | SHADOW_VM_NOHUGEPAGE));
	EXPECT_EQ(SHADOW_VM_NOHUGEPAGE, v[2].vm_flags &
		  (SHADOW_VM_HUGEPAGE | SHADOW_VM_NOHUGEPAGE));
}

/* madvise's errors match the real kernel's. */
TEST_F(vma, madvise_errors)
{
	const struct op ops[] = {
		MAP(0, 4, RW, PRIV | FIXED),
		MAP(8, 4, RW, SHARED | FIXED),
		/* A hole in the range: the rest is advised, ENOMEM. */
		ADVISE_ERR(2, 4, MADV_DONTFORK, ENOMEM),
		ADVISE_ERR(16, 4, MADV_DONTFORK, ENOMEM),
		ADVISE_ERR(8, 4, MADV_WIPEONFORK, EINVAL),
		ADVISE(0, 0, MADV_DONTFORK),
	};
	const struct region want[] = {
		{ 0, 2, "rw-p" }, { 2, 4, "rw-p" }, { 8, 12, "rw-s" },
	};

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
	EXPECT_EQ(-EINVAL, _shadow_madvise(self->mfd, W(0) + 1, PAGE,
					   MADV_DONTFORK));
	EXPECT_EQ(-EINVAL, _shadow_madvise(self->mfd, W(0), -PAGE,
					   MADV_DONTFORK));
	EXPECT_EQ(-EINVAL, _shadow_madvise(self->mfd, W(0), PAGE, 12345));
}

/* A hint address that is free is used as given, by both kernels. */
TEST_F(vma, hint_used_when_free)
{
	const struct op ops[] = {
		MAP(0, 4, RW, PRIV | FIXED),
		MAP(8, 4, PROT_READ, PRIV),
	};
	const struct region want[] = { { 0, 4, "rw-p" }, { 8, 12, "r--p" } };

	run_scenario(_metadata, self->mfd, ops, ARRAY_SIZE(ops), want,
		     ARRAY_SIZE(want));
}

/* Each bad mmap/munmap argument gives the errno the real kernel gives. */
TEST_F(vma, bad_arguments_match_kernel)
{
	static const struct {
		unsigned long addr, len;
		int prot, flags;
	} bad_mmap[] = {
		{ W(0), 0, RW, PRIV },				/* zero length */
		{ W(0), -100UL, RW, PRIV },			/* overflow */
		{ W(0) + 1, PAGE, RW, PRIV | FIXED },		/* unaligned */
		{ 1UL << 47, PAGE, RW, PRIV | FIXED },		/* beyond */
		{ (1UL << 47) - PAGE, 2 * PAGE, RW, PRIV | FIXED },
		{ W(0), PAGE, RW, MAP_ANONYMOUS },		/* no type */
		{ W(0), PAGE, RW, MAP_ANONYMOUS | MAP_SHARED_VALIDATE },
		{ W(0), PAGE, RW, SHARED | MAP_GROWSDOWN },
	};
	static const struct {
		unsigned long addr, len;
	} bad_munmap[] = {
		{ W(0) + 1, PAGE },		/* unaligned */
		{ W(0), 0 },			/* zero length */
		{ 1UL << 48, PAGE },		/* beyond TASK_SIZE */
		{ W(0), (1UL << 47) },		/* len > TASK_SIZE - start */
		{ W(0), -PAGE },		/* wraps */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad_mmap); i++) {
		void *p = mmap((void *)bad_mmap[i].addr, bad_mmap[i].len,
			       bad_mmap[i].prot, bad_mmap[i].flags, -1, 0);
		int rerr = p == MAP_FAILED ? errno : 0;
		int serr = -_shadow_mmap(self->mfd, bad_mmap[i].addr,
					 bad_mmap[i].len, bad_mmap[i].prot,
					 bad_mmap[i].flags, NULL);

		TH_LOG("mmap case %u: real %d shadow %d", i, rerr, serr);
		EXPECT_NE(0, rerr);
		EXPECT_EQ(rerr, serr);
	}
	for (i = 0; i < ARRAY_SIZE(bad_munmap); i++) {
		int rerr = munmap((void *)bad_munmap[i].addr,
				  bad_munmap[i].len) ? errno : 0;
		int serr = -_shadow_munmap(self->mfd, bad_munmap[i].addr,
					   bad_munmap[i].len);

		TH_LOG("munmap case %u: real %d shadow %d", i, rerr, serr);
		EXPECT_EQ(EINVAL, rerr);
		EXPECT_EQ(rerr, serr);
	}
	/* The exact values Linux 6.1 documents for each. */
	EXPECT_EQ(-EINVAL, _shadow_mmap(self->mfd, W(0), 0, RW, PRIV, NULL));
	EXPECT_EQ(-ENOMEM, _shadow_mmap(self->mfd, W(0), -100UL, RW, PRIV,
					NULL));
	EXPECT_EQ(-EINVAL, _shadow_mmap(self->mfd, W(0) + 1, PAGE, RW,
					PRIV | FIXED, NULL));
	EXPECT_EQ(-ENOMEM, _shadow_mmap(self->mfd, 1UL << 47, PAGE, RW,
					PRIV | FIXED, NULL));
	EXPECT_EQ(-EINVAL, _shadow_mmap(self->mfd, W(0), PAGE, RW,
					MAP_ANONYMOUS, NULL));
	/* Flags and reserved fields of the command itself. */
	{
		struct shadow_mm_mmap m = {
			.size = sizeof(m), .addr = W(0), .len = PAGE,
			.prot = RW, .map_flags = PRIV, .fd = -1, .flags = 1,
		};

		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MMAP, &m));
		m.flags = 0;
		m.__reserved = 1;
		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MMAP, &m));
		m.__reserved = 0;
		m.map_flags = MAP_PRIVATE;
		EXPECT_EQ(-EBADF, shadow_ioctl(self->mfd, SHADOW_MM_MMAP, &m));
		m.map_flags = PRIV | MAP_HUGETLB;
		EXPECT_EQ(-EOPNOTSUPP,
			  shadow_ioctl(self->mfd, SHADOW_MM_MMAP, &m));
		/* An unaligned offset: EINVAL, as mmap(2) says. */
		m.map_flags = PRIV;
		m.offset = 1;
		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MMAP, &m));
		EXPECT_EQ(MAP_FAILED, mmap((void *)W(0), PAGE, RW, PRIV, -1, 1));
		EXPECT_EQ(EINVAL, errno);
		/* An aligned one is ignored for anonymous memory. */
		m.offset = 1UL << 52;
		EXPECT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_MMAP, &m));
		EXPECT_EQ(W(0), m.out_addr);
	}
}

/*
 * Below mmap_min_addr: a fixed mapping is refused with EPERM for a task
 * without CAP_SYS_RAWIO (the shadow task never has it), and a hint is raised
 * to mmap_min_addr. Checked against a real child without the capability.
 */
TEST_F(vma, mmap_min_addr)
{
	__u64 addr;
	int status;
	pid_t pid;

	EXPECT_EQ(-EPERM, _shadow_mmap(self->mfd, 0x1000, PAGE, RW,
				       PRIV | FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0x1000, PAGE, RW, PRIV, &addr));
	EXPECT_EQ(0x10000, addr);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		void *p;

		if (drop_effective_cap(CAP_SYS_RAWIO))
			_exit(10);
		p = mmap((void *)0x1000, PAGE, RW, PRIV | FIXED, -1, 0);
		if (p != MAP_FAILED || errno != EPERM)
			_exit(11);
		p = mmap((void *)0x1000, PAGE, RW, PRIV, -1, 0);
		_exit(p == (void *)0x10000 ? 0 : 12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * Top-down placement: below mmap_base, each new mapping under the last;
 * a freed gap at the top is filled first when it fits, skipped when not.
 */
TEST_F(vma, topdown_placement)
{
	const unsigned long base = SHADOW_MMAP_BASE;
	__u64 a, b, c, d, e;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, 4 * PAGE, RW, PRIV, &a));
	EXPECT_EQ(base - 4 * PAGE, a);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, 2 * PAGE, PROT_READ, PRIV,
				  &b));
	EXPECT_EQ(base - 6 * PAGE, b);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, 8 * PAGE, PROT_READ, SHARED,
				  &c));
	EXPECT_EQ(base - 14 * PAGE, c);

	/* Free the top one: a 2-page mapping goes at the very top... */
	ASSERT_EQ(0, _shadow_munmap(self->mfd, a, 4 * PAGE));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, 2 * PAGE, PROT_EXEC, PRIV, &d));
	EXPECT_EQ(base - 2 * PAGE, d);
	/* ...and a 3-page one no longer fits there: it goes below c. */
	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, 3 * PAGE, PROT_EXEC, PRIV, &e));
	EXPECT_EQ(base - 17 * PAGE, e);

	/* An occupied hint falls back to the top-down search: the top of
	 * the highest gap that fits, [base - 4, base - 2).
	 */
	ASSERT_EQ(0, _shadow_mmap(self->mfd, c, PAGE, PROT_EXEC, PRIV, &a));
	EXPECT_EQ(base - 3 * PAGE, a);
}

/*
 * READ_IMPLIES_EXEC: PROT_READ maps executable, in the shadow space as in
 * the real one of a child with that personality.
 */
TEST_F(vma, read_implies_exec)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shadow_region r[SHADOW_MAX_REGIONS];
		struct shadow_vma_info v;
		__u32 nr;

		if (personality(READ_IMPLIES_EXEC) < 0)
			_exit(10);
		if (mmap((void *)W(0), PAGE, PROT_READ, PRIV | FIXED, -1, 0) ==
		    MAP_FAILED || shadow_real_regions(WIN, W(WIN_PAGES),
						      r) != 1 ||
		    strcmp(r[0].perms, "r-xp"))
			_exit(11);
		if (_shadow_mmap(self->mfd, W(0), PAGE, PROT_READ,
				 PRIV | FIXED, NULL) ||
		    _shadow_get_vmas(self->mfd, W(0), W(1), &v, 1, &nr) ||
		    !(v.vm_flags & SHADOW_VM_EXEC))
			_exit(12);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* A VM_GROWSDOWN VMA keeps its guard gap free of top-down placements. */
TEST_F(vma, topdown_respects_stack_guard_gap)
{
	const unsigned long base = SHADOW_MMAP_BASE;
	const unsigned long gap = 256 * PAGE;
	__u64 stack, a;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, base - 16 * PAGE, 16 * PAGE, RW,
				  PRIV | MAP_GROWSDOWN | FIXED, &stack));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, PAGE, RW, PRIV, &a));
	EXPECT_EQ(stack - gap - PAGE, a);
}

/* When the top-down area is full, the search falls back to bottom-up. */
TEST_F(vma, topdown_falls_back_bottom_up)
{
	struct shadow_mm_create c = { .size = sizeof(c) };
	__u64 a;
	int mfd;

	/*
	 * With mmap_base at 0x11000 the top-down area is [PAGE, 0x11000):
	 * 32 pages do not fit and go bottom-up from x86-64's legacy base,
	 * TASK_SIZE / 3; 4 pages fit, but below mmap_min_addr: EPERM, as
	 * security_mmap_addr() says for a task without CAP_SYS_RAWIO.
	 */
	c.mmap_base = 0x11000;
	mfd = ioctl(self->dev, SHADOW_MM_CREATE, &c);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, _shadow_mmap(mfd, 0, 32 * PAGE, RW, PRIV, &a));
	EXPECT_EQ((SHADOW_TASK_SIZE / 3 + PAGE - 1) & ~(PAGE - 1), a);
	EXPECT_EQ(-EPERM, _shadow_mmap(mfd, 0, 4 * PAGE, RW, PRIV, &a));
	close(mfd);
}

static void set_max_map_count(int v)
{
	FILE *f = fopen("/sys/module/shadow_mm/parameters/max_map_count", "w");

	if (f) {
		fprintf(f, "%d\n", v);
		fclose(f);
	}
}

/*
 * max_map_count: mmap refuses once map_count is above it; a munmap that
 * would split a VMA in the middle is refused once map_count reaches it.
 */
TEST_F(vma, max_map_count)
{
	struct shadow_mm_stats st;
	int i;

	set_max_map_count(10);
	/* Alternate protections so that nothing merges: 10 VMAs. */
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, _shadow_mmap(self->mfd, W(4 * i), 4 * PAGE,
					  i % 2 ? PROT_READ : RW,
					  PRIV | FIXED, NULL));
	/* Punching a hole would make 11: refused, nothing changed. */
	EXPECT_EQ(-ENOMEM, _shadow_munmap(self->mfd, W(1), PAGE));
	ASSERT_EQ(0, _shadow_get_stats(self->mfd, &st));
	EXPECT_EQ(10, st.out_map_count);
	EXPECT_EQ(40, st.out_total_vm);
	/* Unmapping a VMA's edge needs no new VMA: allowed. */
	EXPECT_EQ(0, _shadow_munmap(self->mfd, W(0), PAGE));
	/* do_mmap refuses only when map_count > max: 10 -> 11 is allowed. */
	EXPECT_EQ(0, _shadow_mmap(self->mfd, W(100), PAGE, RW, PRIV | FIXED,
				  NULL));
	EXPECT_EQ(-ENOMEM, _shadow_mmap(self->mfd, W(110), PAGE, RW,
					PRIV | FIXED, NULL));
	ASSERT_EQ(0, _shadow_get_stats(self->mfd, &st));
	EXPECT_EQ(11, st.out_map_count);
	set_max_map_count(65530);
	EXPECT_EQ(0, _shadow_munmap(self->mfd, W(1), PAGE));
}

/* The VM_* flags of each kind of mapping, as Linux 6.1 sets them. */
TEST_F(vma, vm_flags)
{
	const __u64 may = SHADOW_VM_MAYREAD | SHADOW_VM_MAYWRITE |
			     SHADOW_VM_MAYEXEC | SHADOW_VM_SOFTDIRTY;
	struct shadow_vma_info v[8];
	struct shadow_mm_stats st;
	__u32 nr;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), PAGE, RW, PRIV | FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(2), PAGE, RW, SHARED | FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(4), PAGE, RW,
				  PRIV | FIXED | MAP_NORESERVE, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(6), 2 * PAGE, PROT_READ,
				  PRIV | FIXED | MAP_LOCKED, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(10), PAGE, RW,
				  PRIV | FIXED | MAP_GROWSDOWN, NULL));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, W(0), W(WIN_PAGES), v, 8,
				      &nr));
	ASSERT_EQ(5, nr);
	EXPECT_EQ(SHADOW_VM_READ | SHADOW_VM_WRITE | SHADOW_VM_ACCOUNT | may,
		  v[0].vm_flags);
	EXPECT_EQ(SHADOW_VMA_ANON_PRIVATE, v[0].backing);
	EXPECT_EQ(0, v[0].backing_id);
	EXPECT_EQ(SHADOW_VM_READ | SHADOW_VM_WRITE | SHADOW_VM_SHARED |
		  SHADOW_VM_MAYSHARE | may, v[1].vm_flags);
	EXPECT_EQ(SHADOW_VMA_ANON_SHARED, v[1].backing);
	EXPECT_NE(0, v[1].backing_id);
	EXPECT_EQ(0, v[1].pgoff);
	EXPECT_EQ(SHADOW_VM_READ | SHADOW_VM_WRITE | SHADOW_VM_NORESERVE | may,
		  v[2].vm_flags);
	EXPECT_EQ(SHADOW_VM_READ | SHADOW_VM_LOCKED | may, v[3].vm_flags);
	EXPECT_EQ(SHADOW_VM_READ | SHADOW_VM_WRITE | SHADOW_VM_GROWSDOWN |
		  SHADOW_VM_ACCOUNT | may, v[4].vm_flags);
	ASSERT_EQ(0, _shadow_get_stats(self->mfd, &st));
	EXPECT_EQ(2, st.out_locked_vm);
	EXPECT_EQ(6, st.out_total_vm);
	/* munmap of the locked VMA gives its pages back. */
	ASSERT_EQ(0, _shadow_munmap(self->mfd, W(7), PAGE));
	ASSERT_EQ(0, _shadow_get_stats(self->mfd, &st));
	EXPECT_EQ(1, st.out_locked_vm);
	EXPECT_EQ(5, st.out_total_vm);
}

/* A shared mapping split by munmap: both parts keep one backing. */
TEST_F(vma, shared_split_keeps_backing)
{
	struct shadow_vma_info v[4];
	__u32 nr;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 8 * PAGE, RW,
				  SHARED | FIXED, NULL));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, W(2), 2 * PAGE));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, W(0), W(8), v, 4, &nr));
	ASSERT_EQ(2, nr);
	EXPECT_EQ(v[0].backing_id, v[1].backing_id);
	EXPECT_EQ(0, v[0].pgoff);
	EXPECT_EQ(4, v[1].pgoff);
}

/* The maps text is byte for byte what /proc/self/maps prints. */
TEST_F(vma, maps_text_matches_proc)
{
	char *maps, line[256], *p;
	unsigned long s, e;
	FILE *f;
	int seen = 0;

	munmap((void *)WIN, WIN_PAGES * PAGE);
	ASSERT_NE(MAP_FAILED, mmap((void *)W(0), 4 * PAGE, RW, PRIV | FIXED,
				   -1, 0));
	ASSERT_NE(MAP_FAILED, mmap((void *)W(8), 2 * PAGE, PROT_READ | PROT_EXEC,
				   PRIV | FIXED, -1, 0));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 4 * PAGE, RW, PRIV | FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(8), 2 * PAGE,
				  PROT_READ | PROT_EXEC, PRIV | FIXED, NULL));
	maps = shadow_get_maps(self->mfd);
	ASSERT_NE(NULL, maps);
	f = fopen("/proc/self/maps", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &s, &e) != 2 || s < WIN ||
		    e > W(WIN_PAGES))
			continue;
		p = strstr(maps, line);
		TH_LOG("real line: %s", line);
		EXPECT_NE(NULL, p);
		seen++;
	}
	fclose(f);
	munmap((void *)WIN, WIN_PAGES * PAGE);
	EXPECT_EQ(2, seen);
	EXPECT_STREQ("100000000000-100000004000 rw-p 00000000 00:00 0 " NL
		     "100000008000-10000000a000 r-xp 00000000 00:00 0 " NL, maps);
	free(maps);
}

/* A shared anonymous mapping shows as a deleted /dev/zero, like Linux. */
TEST_F(vma, maps_text_shared)
{
	char *maps, want[256];
	struct shadow_vma_info v;
	__u32 nr;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), PAGE, RW, SHARED | FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, W(0), W(1), &v, 1, &nr));
	maps = shadow_get_maps(self->mfd);
	ASSERT_NE(NULL, maps);
	snprintf(want, sizeof(want), "100000000000-100000001000 rw-s 00000000 00:01 %llu",
		 (unsigned long long)v.backing_id);
	snprintf(want + strlen(want), sizeof(want) - strlen(want),
		 "%*s/dev/zero (deleted)\n", (int)(73 - strlen(want)), "");
	EXPECT_STREQ(want, maps);
	free(maps);
}

/* GET_MAPS with a short buffer: -ENOSPC and the length needed. */
TEST_F(vma, get_maps_short_buffer)
{
	struct shadow_mm_get_maps g = { .size = sizeof(g) };
	char buf[8] = "xxxxxxx", big[256];

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), PAGE, RW, PRIV | FIXED,
				  NULL));
	g.buf = (uintptr_t)buf;
	g.buf_len = sizeof(buf);
	EXPECT_EQ(-ENOSPC, shadow_ioctl(self->mfd, SHADOW_MM_GET_MAPS, &g));
	EXPECT_EQ(strlen("100000000000-100000001000 rw-p 00000000 00:00 0 " NL),
		  g.out_len);
	EXPECT_STREQ("xxxxxxx", buf);
	g.buf = 1;
	g.buf_len = 4096;
	EXPECT_EQ(-EFAULT, shadow_ioctl(self->mfd, SHADOW_MM_GET_MAPS, &g));
	/* A huge buf_len costs only what the text needs. */
	g.buf = (uintptr_t)big;
	g.buf_len = 1ULL << 40;
	EXPECT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_GET_MAPS, &g));
	EXPECT_EQ(0, memcmp(big, "100000000000-100000001000 rw-p ", 31));
	g.buf_len = 0;
	g.flags = 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_GET_MAPS, &g));
}

/* GET_VMAS: the count is the total, only capacity records are written. */
TEST_F(vma, get_vmas_capacity)
{
	struct shadow_vma_info v[3];
	struct shadow_mm_get_vmas g = { .size = sizeof(g) };
	__u32 nr;
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, _shadow_mmap(self->mfd, W(2 * i), PAGE, RW,
					  PRIV | FIXED, NULL));
	memset(v, 0xaa, sizeof(v));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, W(0), W(10), v, 2, &nr));
	EXPECT_EQ(5, nr);
	EXPECT_EQ(W(2), v[1].start);
	EXPECT_EQ(0xaaaaaaaaaaaaaaaaULL, v[2].start);
	/* The range selects VMAs that intersect it. */
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, W(2) + 100, W(5), v, 3, &nr));
	EXPECT_EQ(2, nr);
	EXPECT_EQ(W(2), v[0].start);
	EXPECT_EQ(W(4), v[1].start);
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, 0, 1, NULL, 0, &nr));
	EXPECT_EQ(0, nr);
	EXPECT_EQ(-EINVAL, _shadow_get_vmas(self->mfd, W(5), W(5), v, 3, &nr));
	EXPECT_EQ(-EINVAL, _shadow_get_vmas(self->mfd, 0, 1, v, 1U << 21,
					    &nr));
	EXPECT_EQ(-EFAULT, _shadow_get_vmas(self->mfd, W(0), W(10),
					    (void *)8, 3, &nr));
	g.start = 0;
	g.end = 1;
	g.flags = 2;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_GET_VMAS, &g));
}

/*
 * GET_VMAS's rec_size: 0 means SHADOW_VMA_INFO_SIZE_VER0; a larger record
 * is the kernel's, zero-padded; a size not a multiple of 8, below the
 * first one or above SHADOW_REC_SIZE_MAX is refused, as is __reserved.
 * nr_vmas may be SHADOW_MAX_VMA_RECORDS, not more.
 */
TEST_F(vma, get_vmas_rec_size)
{
	static const __u32 bad[] = {
		8, SHADOW_VMA_INFO_SIZE_VER0 - 8, SHADOW_VMA_INFO_SIZE_VER0 + 4,
		SHADOW_REC_SIZE_MAX + 8, -8u,
	};
	static const __u32 good[] = {
		0, SHADOW_VMA_INFO_SIZE_VER0, SHADOW_VMA_INFO_SIZE_VER0 + 8,
		SHADOW_REC_SIZE_MAX,
	};
	struct shadow_mm_get_vmas g = {
		.size = sizeof(g), .start = W(0), .end = W(10), .nr_vmas = 3,
	};
	struct shadow_vma_info ref[3];
	unsigned int i, j, stride;
	__u32 nr;
	char *buf;

	buf = malloc(4 * SHADOW_REC_SIZE_MAX);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, _shadow_mmap(self->mfd, W(3 * i), PAGE,
					  i ? PROT_READ : RW, PRIV | FIXED,
					  NULL));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, W(0), W(10), ref, 3, &nr));
	ASSERT_EQ(3, nr);

	g.vmas = (uintptr_t)buf;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		stride = good[i] ?: SHADOW_VMA_INFO_SIZE_VER0;
		memset(buf, 0xaa, 4 * SHADOW_REC_SIZE_MAX);
		g.rec_size = good[i];
		g.out_nr_vmas = 0;
		ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_GET_VMAS, &g));
		EXPECT_EQ(3, g.out_nr_vmas);
		for (j = 0; j < 3; j++)
			EXPECT_EQ(0, memcmp(&ref[j], buf + j * stride,
					    sizeof(ref[j])));
		/* Zero past the kernel's record, nothing past the last. */
		for (j = 0; j < 3 * stride; j++)
			if (j % stride >= sizeof(ref[0]) && buf[j])
				break;
		EXPECT_EQ(3 * stride, j);
		EXPECT_EQ((char)0xaa, buf[3 * stride]);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		g.rec_size = bad[i];
		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_GET_VMAS,
						&g)) {
			TH_LOG("rec_size %u", bad[i]);
		}
	}
	g.rec_size = 0;
	g.__reserved = 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_GET_VMAS, &g));
	g.__reserved = 0;

	/* The first version's struct: records of the first size. */
	memset(buf, 0xaa, 4 * SHADOW_REC_SIZE_MAX);
	g.size = offsetof(struct shadow_mm_get_vmas, rec_size);
	g.rec_size = SHADOW_REC_SIZE_MAX;	/* past size: not read */
	ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_GET_VMAS, &g));
	EXPECT_EQ(0, memcmp(ref, buf, sizeof(ref)));
	g.size = sizeof(g);
	g.rec_size = 0;

	/* The limit: the capacity, not the records written. */
	g.nr_vmas = SHADOW_MAX_VMA_RECORDS;
	EXPECT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_GET_VMAS, &g));
	EXPECT_EQ(3, g.out_nr_vmas);
	g.nr_vmas = SHADOW_MAX_VMA_RECORDS + 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_GET_VMAS, &g));
	free(buf);
}

/* After exit every command fails with ESRCH; the VMAs are gone at once. */
TEST_F(vma, exit_then_use)
{
	struct shadow_mm_stats st;
	long vmas = shadow_counter("vmas");

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 4 * PAGE, RW, PRIV | FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(8), 4 * PAGE, RW,
				  SHARED | FIXED, NULL));
	EXPECT_EQ(vmas + 2, shadow_counter("vmas"));
	ASSERT_EQ(0, _shadow_exit(self->mfd));
	EXPECT_EQ(vmas, shadow_counter("vmas"));
	EXPECT_EQ(-ESRCH, _shadow_get_stats(self->mfd, &st));
	EXPECT_EQ(-ESRCH, _shadow_mmap(self->mfd, W(0), PAGE, RW, PRIV, NULL));
	EXPECT_EQ(-ESRCH, _shadow_munmap(self->mfd, W(0), PAGE));
	EXPECT_EQ(-ESRCH, _shadow_get_vmas(self->mfd, 0, 1, NULL, 0, NULL));
	EXPECT_EQ(NULL, shadow_get_maps(self->mfd));
	EXPECT_EQ(-ESRCH, _shadow_exit(self->mfd));
}

/* Closing without exit frees everything, from the last fd's close. */
TEST(close_without_exit)
{
	long mms = shadow_counter("mms"), vmas = shadow_counter("vmas");
	long shmem = shadow_counter("shmem"), pages = shadow_counter("pages");
	int dev = shadow_open_dev(), mfd, dup_fd, i;

	ASSERT_LE(0, dev);
	mfd = _shadow_create(dev, 0, NULL);
	ASSERT_LE(0, mfd);
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, _shadow_mmap(mfd, 0, (i + 1) * PAGE,
					  i % 3 ? RW : PROT_READ,
					  i % 2 ? SHARED : PRIV, NULL));
	EXPECT_EQ(mms + 1, shadow_counter("mms"));
	EXPECT_LT(vmas, shadow_counter("vmas"));
	EXPECT_EQ(shmem + 32, shadow_counter("shmem"));
	/* A dup()ed fd is the same file: the space lives until both close. */
	dup_fd = dup(mfd);
	close(mfd);
	EXPECT_EQ(mms + 1, shadow_counter("mms"));
	close(dup_fd);
	close(dev);
	EXPECT_EQ(mms, shadow_counter("mms"));
	EXPECT_EQ(vmas, shadow_counter("vmas"));
	EXPECT_EQ(shmem, shadow_counter("shmem"));
	EXPECT_EQ(pages, shadow_counter("pages"));
}

/* An address space made with many VMAs and holes tears down cleanly. */
TEST(many_vmas_teardown)
{
	long vmas = shadow_counter("vmas");
	struct shadow_mm_stats st;
	int dev = shadow_open_dev(), mfd, i;

	ASSERT_LE(0, dev);
	mfd = _shadow_create(dev, 0, NULL);
	ASSERT_LE(0, mfd);
	for (i = 0; i < 4096; i++)
		ASSERT_EQ(0, _shadow_mmap(mfd, W(3 * i), 2 * PAGE,
					  i % 2 ? RW : PROT_READ,
					  PRIV | FIXED, NULL));
	ASSERT_EQ(0, _shadow_get_stats(mfd, &st));
	EXPECT_EQ(4096, st.out_map_count);
	EXPECT_EQ(8192, st.out_total_vm);
	/* One munmap over all of them, splitting the first and the last. */
	ASSERT_EQ(0, _shadow_munmap(mfd, W(1), W(3 * 4095 + 1) - W(1)));
	ASSERT_EQ(0, _shadow_get_stats(mfd, &st));
	EXPECT_EQ(2, st.out_map_count);
	EXPECT_EQ(2, st.out_total_vm);
	ASSERT_EQ(0, _shadow_exit(mfd));
	EXPECT_EQ(vmas, shadow_counter("vmas"));
	close(mfd);
	close(dev);
}

#define THREADS		4
#define RUN_SECONDS	2

struct stress {
	int mfd;
	int seed;
	int *stop;
	long ops;
};

static void *stress_thread(void *arg)
{
	struct stress *s = arg;
	unsigned int seed = s->seed;

	while (!__atomic_load_n(s->stop, __ATOMIC_RELAXED)) {
		unsigned long pg = rand_r(&seed) % 64, n = rand_r(&seed) % 8 + 1;
		struct shadow_vma_info v[16];
		__u32 nr;

		switch (rand_r(&seed) % 4) {
		case 0:
			_shadow_mmap(s->mfd, W(pg), n * PAGE,
				     rand_r(&seed) % 2 ? RW : PROT_READ,
				     (rand_r(&seed) % 2 ? PRIV : SHARED) | FIXED,
				     NULL);
			break;
		case 1:
			_shadow_munmap(s->mfd, W(pg), n * PAGE);
			break;
		case 2:
			_shadow_get_vmas(s->mfd, W(0), W(128), v, 16, &nr);
			break;
		default:
			free(shadow_get_maps(s->mfd));
			break;
		}
		s->ops++;
	}
	return NULL;
}

/*
 * Several threads mapping, unmapping and querying one address space end
 * with a sane layout whose counters add up.
 */
TEST_F(vma, concurrent_ops)
{
	struct stress s[THREADS];
	pthread_t t[THREADS];
	int stop = 0;
	__u32 i;
	long ops = 0;

	for (i = 0; i < THREADS; i++) {
		s[i] = (struct stress){ self->mfd, (int)i + 1, &stop, 0 };
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

/* One thread exits the space while others use it: they see ESRCH. */
TEST_F(vma, exit_while_in_use)
{
	struct stress s[THREADS];
	pthread_t t[THREADS];
	int stop = 0;
	struct shadow_mm_stats st;
	long vmas = shadow_counter("vmas");
	__u32 i;

	for (i = 0; i < THREADS; i++) {
		s[i] = (struct stress){ self->mfd, (int)i + 7, &stop, 0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, stress_thread, &s[i]));
	}
	usleep(300 * 1000);
	ASSERT_EQ(0, _shadow_exit(self->mfd));
	usleep(100 * 1000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(-ESRCH, _shadow_get_stats(self->mfd, &st));
	EXPECT_EQ(vmas, shadow_counter("vmas"));
}

TEST_HARNESS_MAIN
