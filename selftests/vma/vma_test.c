// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the VMA layout code (module/vma.c, module/mmap.c) in user
 * space, against the semantics of Linux 6.1's mm/mmap.c and
 * arch/x86/kernel/sys_x86_64.c.
 *
 * Every TEST runs in its own process (kselftest harness). The fixture sets
 * up an address space as shadow_mm_alloc() does and tears it down with
 * shadow_exit_mmap(), then checks that nothing leaked.
 *
 * Tests named BUG_* show a disagreement of the engine with Linux 6.1: they
 * assert Linux's behaviour and fail until the engine is fixed.
 */
#include "harness.h"
#include "kselftest_harness.h"

#define PG		PAGE_SIZE
/* Layouts built by hand live at 4 GiB, far from the mmap area. */
#define BASE		0x100000000UL
#define A(n)		(BASE + (unsigned long)(n) * PG)
/* A private anonymous VMA's pgoff is its address in pages. */
#define PGOFF(n)	(A(n) >> PAGE_SHIFT)
#define TOP		HARNESS_MMAP_BASE
#define TOPA(n)		(TOP - (unsigned long)(n) * PG)

#define VMF_MAY		(VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)
#define VMF_NONE	(VMF_MAY | VM_SOFTDIRTY)
#define VMF_R		(VMF_NONE | VM_READ)
#define VMF_RW		(VMF_R | VM_WRITE | VM_ACCOUNT)
#define VMF_RX		(VMF_R | VM_EXEC)
#define VMF_SHARED_RW	(VMF_R | VM_WRITE | VM_SHARED | VM_MAYSHARE)

#define MAP_PA		(MAP_PRIVATE | MAP_ANONYMOUS)
#define MAP_SA		(MAP_SHARED | MAP_ANONYMOUS)
#define MAP_FPA		(MAP_FIXED | MAP_PA)

/* Stand-ins for the anon_vma a first fault would attach. */
static int anon_vma_1, anon_vma_2, anon_vma_3;
#define AV1		((void *)&anon_vma_1)
#define AV2		((void *)&anon_vma_2)
#define AV3		((void *)&anon_vma_3)

/* What one VMA should look like; 0 / NULL fields are not checked. */
struct exp {
	unsigned long start;
	unsigned long end;
	unsigned long pgoff;
	unsigned long flags;
	struct shadow_vma *vma;		/* the struct that must be there */
};

#define NR(array)	((int)(sizeof(array) / sizeof((array)[0])))

/* Linux's vm_stat_account(), for VMAs the tests insert themselves. */
static void account(struct shadow_mm *mm, unsigned long flags, long npages)
{
	mm->total_vm += npages;
	if ((flags & (VM_EXEC | VM_WRITE | VM_STACK)) == VM_EXEC)
		mm->exec_vm += npages;
	else if ((flags & VM_STACK) == VM_STACK)
		mm->stack_vm += npages;
	else if ((flags & (VM_WRITE | VM_SHARED | VM_STACK)) == VM_WRITE)
		mm->data_vm += npages;
	if (flags & VM_LOCKED)
		mm->locked_vm += npages;
}

/* Insert a VMA as mmap_region() would, without merging. */
static struct shadow_vma *add_vma(struct shadow_mm *mm, unsigned long start,
				  unsigned long end, unsigned long flags,
				  unsigned long pgoff)
{
	struct shadow_vma *vma = shadow_vm_area_alloc(mm);

	if (!vma)
		abort();
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_flags = flags;
	vma->vm_pgoff = pgoff;
	vma->vm_page_prot = shadow_vm_get_page_prot(flags);
	if (flags & VM_SHARED)
		vma->vm_mapping = shadow_shmem_zero_setup(end - start);
	if (shadow_vma_store(mm, vma))
		abort();
	mm->map_count++;
	account(mm, flags, (end - start) >> PAGE_SHIFT);
	return vma;
}

static unsigned long do_mmap(struct shadow_mm *mm, unsigned long addr,
			     unsigned long len, unsigned long prot,
			     unsigned long flags)
{
	unsigned long populate;

	return shadow_do_mmap(mm, addr, len, prot, flags, 0, &populate);
}

static void check_layout(struct __test_metadata *_metadata,
			 struct shadow_mm *mm, const struct exp *exp, int n)
{
	struct shadow_vma *vma;
	int i = 0;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	mas_for_each(&mas, vma, ULONG_MAX) {
		ASSERT_GT(n, i) {
			TH_LOG("unexpected VMA %d: %#lx-%#lx", i,
			       vma->vm_start, vma->vm_end);
		}
		ASSERT_EQ(exp[i].start, vma->vm_start) {
			TH_LOG("VMA %d start", i);
		}
		ASSERT_EQ(exp[i].end, vma->vm_end) {
			TH_LOG("VMA %d end", i);
		}
		if (exp[i].pgoff) {
			ASSERT_EQ(exp[i].pgoff, vma->vm_pgoff) {
				TH_LOG("VMA %d pgoff", i);
			}
		}
		if (exp[i].flags) {
			ASSERT_EQ(exp[i].flags, vma->vm_flags) {
				TH_LOG("VMA %d flags", i);
			}
		}
		if (exp[i].vma) {
			ASSERT_EQ(exp[i].vma, vma) {
				TH_LOG("VMA %d is not the struct expected", i);
			}
		}
		ASSERT_EQ(mm, vma->vm_mm);
		i++;
	}
	ASSERT_EQ(n, i);
	ASSERT_EQ(n, mm->map_count);
	ASSERT_EQ(n, harness_counters.live_vmas);
	ASSERT_EQ(0, shadow_validate_mm(mm));
	ASSERT_EQ(0, harness_mt_validate(mm));
}

#define CHECK_LAYOUT(mm, ...) do {					\
	const struct exp __exp[] = { __VA_ARGS__ };			\
	check_layout(_metadata, mm, __exp, NR(__exp));			\
} while (0)

#define CHECK_EMPTY(mm)		check_layout(_metadata, mm, NULL, 0)

static void check_call(struct __test_metadata *_metadata, int i,
		       enum harness_call_kind kind, unsigned long a,
		       unsigned long b, int nr_vmas, unsigned long pages)
{
	const struct harness_call *call = &harness_record.calls[i];

	ASSERT_GT(harness_record.nr_calls, i);
	ASSERT_EQ(kind, call->kind);
	ASSERT_EQ(a, call->a) {
		TH_LOG("call %d: start/floor", i);
	}
	ASSERT_EQ(b, call->b) {
		TH_LOG("call %d: end/ceiling", i);
	}
	ASSERT_EQ(nr_vmas, call->nr_vmas);
	ASSERT_EQ(pages, call->pages);
	ASSERT_TRUE(call->sorted);
}

/* One munmap's two calls: unmap_vmas(start, end), free_pgtables(f, c). */
static void check_unmap(struct __test_metadata *_metadata, int i,
			unsigned long start, unsigned long end,
			unsigned long floor, unsigned long ceiling, int nr,
			unsigned long pages)
{
	check_call(_metadata, i, HARNESS_UNMAP_VMAS, start, end, nr, pages);
	check_call(_metadata, i + 1, HARNESS_FREE_PGTABLES, floor, ceiling,
		   nr, pages);
}

#define CHECK_UNMAP(...)	check_unmap(_metadata, __VA_ARGS__)

/* Everything gone and nothing leaked. */
static void check_exit(struct __test_metadata *_metadata,
		       struct shadow_mm *mm)
{
	EXPECT_EQ(0, shadow_validate_mm(mm));
	EXPECT_EQ(0, harness_mt_validate(mm));
	shadow_exit_mmap(mm);
	EXPECT_EQ(0, mm->map_count);
	/* A test that failed may have left its accounting half done. */
	if (_metadata->passed) {
		EXPECT_EQ(0, mm->total_vm);
		EXPECT_EQ(0, mm->locked_vm);
		EXPECT_EQ(0, mm->data_vm);
		EXPECT_EQ(0, mm->exec_vm);
		EXPECT_EQ(0, mm->stack_vm);
	}
	EXPECT_EQ(NULL, mm->mm_mt.ma_root);
	EXPECT_EQ(0, harness_counters.live_vmas);
	EXPECT_EQ(0, harness_counters.live_shmem);
	/* A tree in RCU mode frees its nodes after a grace period. */
	rcu_barrier();
	EXPECT_EQ(0, harness_counters.live_nodes);
	EXPECT_EQ(0, harness_counters.anon_refs);
	EXPECT_EQ(0, harness_locks.write_held);
	EXPECT_EQ(0, harness_locks.read_held);
	EXPECT_EQ(0, harness_nr_warnings);
	EXPECT_EQ(0, harness_nr_maple_bugs);
}

FIXTURE(vma) {
	struct shadow_mm *mm;
};

FIXTURE_SETUP(vma)
{
	self->mm = harness_mm_alloc();
	harness_record_reset();
}

FIXTURE_TEARDOWN(vma)
{
	check_exit(_metadata, self->mm);
	harness_mm_free(self->mm);
}

/*
 * shadow_vma_merge(): the eight cases of Linux 6.1's vma_merge(). In the
 * maps below each character is a page from BASE; ____ is the range merged:
 * unmapped in cases 1-3 (mmap, brk), mapped in cases 4-8 (mprotect, whose
 * range is getting the flags given). Private anonymous pgoffs are arbitrary
 * here (Q(n)), to check the arithmetic rather than the addresses.
 */
#define Q(n)		(0x5000UL + (n))

/*
 * Case 1:   0   4   8   12
 *           PPPP____NNNN
 *           PPPPPPPPPPPP     prev survives, next is freed
 */
TEST_F(vma, merge_case1)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *ret;

	prev = add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	add_vma(mm, A(8), A(12), VMF_RW, Q(8));
	ret = shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(prev, ret);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(12), Q(0), VMF_RW, prev });
}

/*
 * Case 1 when prev has no anon_vma and next has one: prev takes next's
 * over (__vma_adjust()'s importer and exporter).
 *           PPPP____NNNN    N has AV1
 *           PPPPPPPPPPPP    P, with AV1
 */
TEST_F(vma, merge_case1_imports_anon_vma)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *ret;

	prev = add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	next = add_vma(mm, A(8), A(12), VMF_RW, Q(8));
	harness_set_anon_vma(next, AV1);
	ret = shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(prev, ret);
	ASSERT_EQ(AV1, prev->anon_vma);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(12), Q(0), VMF_RW, prev });
}

/*
 * Case 1 turns into case 2 when prev and next have different anon_vmas
 * (the range, without one, could join either).
 *           PPPP____NNNN    P has AV1, N has AV2
 *           PPPPPPPPNNNN
 */
TEST_F(vma, merge_case1_anon_vma_conflict_is_case2)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *ret;

	prev = add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	next = add_vma(mm, A(8), A(12), VMF_RW, Q(8));
	harness_set_anon_vma(prev, AV1);
	harness_set_anon_vma(next, AV2);
	ret = shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(prev, ret);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(8), Q(0), VMF_RW, prev },
		     { A(8), A(12), Q(8), VMF_RW, next });
	ASSERT_EQ(AV1, prev->anon_vma);
	ASSERT_EQ(AV2, next->anon_vma);
}

/*
 * Case 2:   0   4   8   12
 *           PPPP____  NN      next not adjacent
 *           PPPPPPPP  NN
 * and       PPPP____nnnn      next adjacent, other flags
 *           PPPPPPPPnnnn
 */
TEST_F(vma, merge_case2)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *ret;

	prev = add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	next = add_vma(mm, A(10), A(12), VMF_RW, Q(10));
	ret = shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(prev, ret);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(8), Q(0), VMF_RW, prev },
		     { A(10), A(12), Q(10), VMF_RW, next });

	next = add_vma(mm, A(12), A(16), VMF_R, Q(12));
	ret = shadow_vma_merge(mm, prev, A(8), A(10), VMF_RW, NULL, NULL, Q(8));
	ASSERT_EQ(prev, ret);
	account(mm, VMF_RW, 2);
	/* prev, now adjacent to the old next, merged it too: case 1 */
	CHECK_LAYOUT(mm, { A(0), A(12), Q(0), VMF_RW, prev },
		     { A(12), A(16), Q(12), VMF_R, next });
}

TEST_F(vma, merge_case2_next_other_flags)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *ret;

	prev = add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	next = add_vma(mm, A(8), A(12), VMF_R, Q(8));
	ret = shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(prev, ret);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(8), Q(0), VMF_RW, prev },
		     { A(8), A(12), Q(8), VMF_R, next });
}

/*
 * Case 3:   0   4   8   12
 *           pp  ____NNNN      prev not adjacent
 *           pp  NNNNNNNN      next grows down, pgoff with it
 */
TEST_F(vma, merge_case3)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *ret;

	prev = add_vma(mm, A(0), A(2), VMF_RW, Q(0));
	next = add_vma(mm, A(8), A(12), VMF_RW, Q(8));
	ret = shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(next, ret);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(2), Q(0), VMF_RW, prev },
		     { A(4), A(12), Q(4), VMF_RW, next });
}

/* Case 3 with no prev at all: the range is below the first VMA. */
TEST_F(vma, merge_case3_no_prev)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *next, *ret;

	next = add_vma(mm, A(8), A(12), VMF_RW, Q(8));
	ret = shadow_vma_merge(mm, NULL, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(next, ret);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(4), A(12), Q(4), VMF_RW, next });
}

/*
 * Case 4:   0   4 6     12
 *           PPPP__NNNNNN      the tail of prev gets next's flags
 *           PPPPNNNNNNNN      prev shrinks, next grows down
 */
TEST_F(vma, merge_case4)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *ret;

	prev = add_vma(mm, A(0), A(6), VMF_R, Q(0));
	next = add_vma(mm, A(6), A(12), VMF_RW, Q(6));
	ret = shadow_vma_merge(mm, prev, A(4), A(6), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(next, ret);
	account(mm, VMF_R, -2);
	account(mm, VMF_RW, 2);
	CHECK_LAYOUT(mm, { A(0), A(4), Q(0), VMF_R, prev },
		     { A(4), A(12), Q(4), VMF_RW, next });
}

/*
 * Case 5:   0     6 8   12
 *           PPPPPP__NNNN      the head of next gets prev's flags
 *           PPPPPPPPNNNN      prev grows, next shrinks, pgoff with it
 */
TEST_F(vma, merge_case5)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *ret;

	prev = add_vma(mm, A(0), A(6), VMF_R, Q(0));
	next = add_vma(mm, A(6), A(12), VMF_RW, Q(6));
	ret = shadow_vma_merge(mm, prev, A(6), A(8), VMF_R, NULL, NULL, Q(6));
	ASSERT_EQ(prev, ret);
	account(mm, VMF_RW, -2);
	account(mm, VMF_R, 2);
	CHECK_LAYOUT(mm, { A(0), A(8), Q(0), VMF_R, prev },
		     { A(8), A(12), Q(8), VMF_RW, next });
}

/*
 * Case 6:   0   4   8   12
 *           PPPP____XXXX      the whole middle VMA gets its neighbours' flags
 *           PPPPPPPPPPPP      prev survives; the middle and next are freed
 */
TEST_F(vma, merge_case6)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *ret;

	prev = add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	add_vma(mm, A(4), A(8), VMF_R, Q(4));
	add_vma(mm, A(8), A(12), VMF_RW, Q(8));
	ret = shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(prev, ret);
	account(mm, VMF_R, -4);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(12), Q(0), VMF_RW, prev });
}

/* Case 6, the anon_vma coming from the VMA after the middle one. */
TEST_F(vma, merge_case6_imports_anon_vma)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *ret;

	prev = add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	add_vma(mm, A(4), A(8), VMF_R, Q(4));
	next = add_vma(mm, A(8), A(12), VMF_RW, Q(8));
	harness_set_anon_vma(next, AV2);
	ret = shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(prev, ret);
	ASSERT_EQ(AV2, prev->anon_vma);
	account(mm, VMF_R, -4);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(12), Q(0), VMF_RW, prev });
}

/*
 * Case 7:   0   4   8   12
 *           PPPP____xxxx      next has other flags
 *           PPPPPPPPxxxx      prev swallows the middle VMA
 */
TEST_F(vma, merge_case7)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *ret;

	prev = add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	add_vma(mm, A(4), A(8), VMF_R, Q(4));
	next = add_vma(mm, A(8), A(12), VMF_RX, Q(8));
	ret = shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(prev, ret);
	account(mm, VMF_R, -4);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(8), Q(0), VMF_RW, prev },
		     { A(8), A(12), Q(8), VMF_RX, next });
}

/*
 * Case 8:   0   4   8   12
 *           pppp____XXXX      prev has other flags
 *           ppppXXXXXXXX      next (not the middle VMA) grows down
 */
TEST_F(vma, merge_case8)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *ret;

	prev = add_vma(mm, A(0), A(4), VMF_RX, Q(0));
	add_vma(mm, A(4), A(8), VMF_R, Q(4));
	next = add_vma(mm, A(8), A(12), VMF_RW, Q(8));
	ret = shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL, NULL, Q(4));
	ASSERT_EQ(next, ret);
	account(mm, VMF_R, -4);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(4), Q(0), VMF_RX, prev },
		     { A(4), A(12), Q(4), VMF_RW, next });
}

/*
 * No merge:  0   4   8   12
 *            PPPP____NNNN    the range differs from both neighbours in...
 *            PPPP    NNNN    ...and nothing changes (the range stays out)
 */
static void merge_refused(struct __test_metadata *_metadata,
			  struct shadow_mm *mm, unsigned long flags,
			  unsigned long range_flags, unsigned long range_pgoff,
			  void *range_anon, bool range_shares_prev_shmem)
{
	struct shadow_vma *prev, *next;
	struct shadow_address_space *shmem = NULL;

	prev = add_vma(mm, A(0), A(4), flags, Q(0));
	next = add_vma(mm, A(8), A(12), flags, Q(8));
	if (range_anon) {
		harness_set_anon_vma(prev, AV1);
		harness_set_anon_vma(next, AV2);
	}
	if (range_flags & VM_SHARED) {
		if (range_shares_prev_shmem)
			shmem = prev->vm_mapping;
		else
			shmem = shadow_shmem_zero_setup(A(8) - A(4));
	}
	ASSERT_EQ(NULL, shadow_vma_merge(mm, prev, A(4), A(8), range_flags,
					 range_anon, shmem, range_pgoff));
	CHECK_LAYOUT(mm, { A(0), A(4), Q(0), flags, prev },
		     { A(8), A(12), Q(8), flags, next });
	if (shmem && !range_shares_prev_shmem)
		shadow_mapping_put(shmem);
}

TEST_F(vma, merge_refused_flags)
{
	merge_refused(_metadata, self->mm, VMF_RW, VMF_R, Q(4), NULL, false);
	/* VM_SOFTDIRTY alone does not keep VMAs apart. */
	ASSERT_NE(NULL, shadow_vma_merge(self->mm, shadow_find_vma(self->mm,
								   A(0)),
					 A(4), A(8), VMF_RW & ~VM_SOFTDIRTY,
					 NULL, NULL, Q(4)));
	account(self->mm, VMF_RW, 4);
	CHECK_LAYOUT(self->mm, { A(0), A(12), Q(0), VMF_RW });
}

TEST_F(vma, merge_refused_pgoff)
{
	merge_refused(_metadata, self->mm, VMF_RW, VMF_RW, Q(4) + 1, NULL,
		      false);
}

TEST_F(vma, merge_refused_special)
{
	merge_refused(_metadata, self->mm, VMF_RW | VM_DONTEXPAND,
		      VMF_RW | VM_DONTEXPAND, Q(4), NULL, false);
}

TEST_F(vma, merge_refused_shmem)
{
	/* Each shared VMA has its own backing: another one never merges. */
	merge_refused(_metadata, self->mm, VMF_SHARED_RW, VMF_SHARED_RW, Q(4),
		      NULL, false);
}

TEST_F(vma, merge_same_shmem)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next;

	prev = add_vma(mm, A(0), A(4), VMF_SHARED_RW, 0);
	next = add_vma(mm, A(8), A(12), VMF_SHARED_RW, 8);
	/* The same backing, contiguous pgoff: prev grows; next's differs. */
	ASSERT_EQ(prev, shadow_vma_merge(mm, prev, A(4), A(8), VMF_SHARED_RW,
					 NULL, prev->vm_mapping, 4));
	account(mm, VMF_SHARED_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(8), 0, VMF_SHARED_RW, prev },
		     { A(8), A(12), 8, VMF_SHARED_RW, next });
	ASSERT_EQ(2, harness_counters.live_shmem);
}

TEST_F(vma, merge_refused_anon_vma)
{
	/* prev has AV1, next AV2, the range AV3. */
	merge_refused(_metadata, self->mm, VMF_RW, VMF_RW, Q(4), AV3, false);
}

/*
 * Linux 6.1's is_mergeable_anon_vma(anon_vma1, anon_vma2, vma): one of
 * them NULL is fine only when vma's anon_vma_chain is singular; a VMA
 * without an anon_vma has an empty chain. So a range with an anon_vma does
 * not merge into a VMA without one:
 *
 *           0   4   8
 *           PPPP____        P: no anon_vma; ____ (a VMA with AV1)
 *                           gets P's flags (mprotect, case 7)
 *           PPPP____        Linux: vma_merge() returns NULL
 */
TEST_F(vma, merge_anon_vma_into_vma_without)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *mid;

	prev = add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	mid = add_vma(mm, A(4), A(8), VMF_R, Q(4));
	harness_set_anon_vma(mid, AV1);
	EXPECT_FALSE(shadow_is_mergeable_anon_vma(AV1, NULL, prev));
	EXPECT_FALSE(shadow_can_vma_merge_after(prev, VMF_RW, AV1, NULL,
						Q(4)));
	ASSERT_EQ(NULL, shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, AV1,
					 NULL, Q(4)));
	CHECK_LAYOUT(mm, { A(0), A(4), Q(0), VMF_RW, prev },
		     { A(4), A(8), Q(4), VMF_R, mid });
}

/*
 * The same rule in mmap_region(): prev is checked with next's anon_vma.
 *
 *           0   4   8   12
 *           PPPP____NNNN    P never faulted, N has AV1; mmap the hole
 *           PPPPNNNNNNNN    Linux: only next grows down
 */
TEST_F(vma, mmap_hole_next_has_anon_vma)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next;

	ASSERT_EQ(A(0), do_mmap(mm, A(0), 4 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	ASSERT_EQ(A(8), do_mmap(mm, A(8), 4 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	prev = shadow_find_vma(mm, A(0));
	next = shadow_find_vma(mm, A(8));
	harness_set_anon_vma(next, AV1);
	ASSERT_EQ(A(4), do_mmap(mm, A(4), 4 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	CHECK_LAYOUT(mm, { A(0), A(4), PGOFF(0), VMF_RW, prev },
		     { A(4), A(12), PGOFF(4), VMF_RW, next });
}

/*
 * An anon_vma inherited through fork (a chain of more than one) does not
 * take in a range without one either, neither by vma_merge() nor by
 * mmap_region():
 *
 *           0   4   8   12
 *           PPPP____NNNN    P and N: inherited anon_vmas
 *           PPPP    NNNN    vma_merge(): NULL
 *           PPPPAAAANNNN    mmap: a VMA of its own
 */
TEST_F(vma, merge_refused_inherited_anon_vma)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *prev, *next, *new;

	prev = add_vma(mm, A(0), A(4), VMF_RW, PGOFF(0));
	next = add_vma(mm, A(8), A(12), VMF_RW, PGOFF(8));
	harness_set_anon_vma(prev, AV1);
	harness_set_anon_vma(next, AV2);
	prev->vm_anon_chain = 2;
	next->vm_anon_chain = 2;
	ASSERT_FALSE(shadow_is_mergeable_anon_vma(NULL, AV1, prev));
	ASSERT_TRUE(shadow_is_mergeable_anon_vma(AV1, AV1, prev));
	ASSERT_EQ(NULL, shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, NULL,
					 NULL, PGOFF(4)));
	ASSERT_EQ(A(4), do_mmap(mm, A(4), 4 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	new = shadow_find_vma(mm, A(4));
	CHECK_LAYOUT(mm, { A(0), A(4), PGOFF(0), VMF_RW, prev },
		     { A(4), A(8), PGOFF(4), VMF_RW, new },
		     { A(8), A(12), PGOFF(8), VMF_RW, next });
	ASSERT_EQ(NULL, new->anon_vma);
	/* Its own anon_vma: the same one merges */
	ASSERT_EQ(0, shadow_do_munmap(mm, A(4), 4 * PG));
	ASSERT_EQ(prev, shadow_vma_merge(mm, prev, A(4), A(8), VMF_RW, AV1,
					 NULL, PGOFF(4)));
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(8), PGOFF(0), VMF_RW, prev },
		     { A(8), A(12), PGOFF(8), VMF_RW, next });
}

/*
 * __shadow_split_vma() at every page of an 8-page VMA:
 *
 *   new_below = 0:  OOOOOOOO -> OOOnnnnn    the original keeps the bottom
 *   new_below = 1:  OOOOOOOO -> nnnOOOOO    the original keeps the top
 */
static void split_at(struct __test_metadata *_metadata, unsigned long flags,
		     unsigned long at, int new_below)
{
	struct shadow_mm *mm = harness_mm_alloc();
	struct shadow_vma *vma, *new;

	vma = add_vma(mm, A(0), A(8), flags, Q(0));
	harness_set_anon_vma(vma, AV1);
	ASSERT_EQ(0, __shadow_split_vma(mm, vma, A(at), new_below));
	if (new_below) {
		new = shadow_find_vma(mm, A(0));
		CHECK_LAYOUT(mm, { A(0), A(at), Q(0), flags, new },
			     { A(at), A(8), Q(at), flags, vma });
	} else {
		new = shadow_find_vma(mm, A(at));
		CHECK_LAYOUT(mm, { A(0), A(at), Q(0), flags, vma },
			     { A(at), A(8), Q(at), flags, new });
	}
	ASSERT_NE(vma, new);
	ASSERT_LT(harness_vma_serial(vma), harness_vma_serial(new));
	ASSERT_EQ(AV1, new->anon_vma);
	ASSERT_EQ(vma->vm_mapping, new->vm_mapping);
	ASSERT_EQ(vma->vm_page_prot, new->vm_page_prot);
	ASSERT_EQ(NULL, new->vm_detach_next);
	if (flags & VM_SHARED) {
		ASSERT_EQ(1, harness_counters.live_shmem);
		ASSERT_EQ(2, refcount_read(&vma->vm_mapping->ref));
	}
	check_exit(_metadata, mm);
	harness_mm_free(mm);
}

TEST(split_every_page)
{
	unsigned long at;
	int new_below;

	for (new_below = 0; new_below <= 1; new_below++)
		for (at = 1; at < 8; at++)
			split_at(_metadata, VMF_RW, at, new_below);
}

TEST(split_every_page_shared)
{
	unsigned long at;
	int new_below;

	for (new_below = 0; new_below <= 1; new_below++)
		for (at = 1; at < 8; at++)
			split_at(_metadata, VMF_SHARED_RW, at, new_below);
}

TEST_F(vma, split_max_map_count)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *v1, *v2;

	shadow_max_map_count = 3;
	v1 = add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	v2 = add_vma(mm, A(8), A(12), VMF_R, Q(8));
	/* 2 < 3: may split */
	ASSERT_EQ(0, shadow_split_vma(mm, v1, A(2), 0));
	/* 3 >= 3: refused, nothing changed */
	ASSERT_EQ(-ENOMEM, shadow_split_vma(mm, v2, A(10), 0));
	ASSERT_EQ(-ENOMEM, shadow_split_vma(mm, v2, A(10), 1));
	CHECK_LAYOUT(mm, { A(0), A(2), Q(0), VMF_RW, v1 },
		     { A(2), A(4), Q(2), VMF_RW },
		     { A(8), A(12), Q(8), VMF_R, v2 });
	/* __split_vma() does not look at the limit. */
	ASSERT_EQ(0, __shadow_split_vma(mm, v2, A(10), 1));
	CHECK_LAYOUT(mm, { A(0), A(2), Q(0), VMF_RW, v1 },
		     { A(2), A(4), Q(2), VMF_RW },
		     { A(8), A(10), Q(8), VMF_R },
		     { A(10), A(12), Q(10), VMF_R, v2 });
}

/*
 * The lookups, over   0 2 4 6 8
 *                     __VV__WW__
 */
TEST_F(vma, lookups)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *v, *w, *prev;

	v = add_vma(mm, A(2), A(4), VMF_RW, Q(2));
	w = add_vma(mm, A(6), A(8), VMF_R, Q(6));

	ASSERT_EQ(v, shadow_find_vma(mm, 0));
	ASSERT_EQ(v, shadow_find_vma(mm, A(2)));
	ASSERT_EQ(v, shadow_find_vma(mm, A(4) - 1));
	ASSERT_EQ(w, shadow_find_vma(mm, A(4)));
	ASSERT_EQ(w, shadow_find_vma(mm, A(8) - 1));
	ASSERT_EQ(NULL, shadow_find_vma(mm, A(8)));

	ASSERT_EQ(v, shadow_find_vma_prev(mm, A(0), &prev));
	ASSERT_EQ(NULL, prev);
	ASSERT_EQ(v, shadow_find_vma_prev(mm, A(3), &prev));
	ASSERT_EQ(NULL, prev);
	ASSERT_EQ(w, shadow_find_vma_prev(mm, A(5), &prev));
	ASSERT_EQ(v, prev);
	ASSERT_EQ(w, shadow_find_vma_prev(mm, A(6), &prev));
	ASSERT_EQ(v, prev);
	ASSERT_EQ(NULL, shadow_find_vma_prev(mm, A(9), &prev));
	ASSERT_EQ(w, prev);

	ASSERT_EQ(NULL, shadow_find_vma_intersection(mm, A(0), A(2)));
	ASSERT_EQ(v, shadow_find_vma_intersection(mm, A(0), A(3)));
	ASSERT_EQ(NULL, shadow_find_vma_intersection(mm, A(4), A(6)));
	ASSERT_EQ(w, shadow_find_vma_intersection(mm, A(4), A(7)));
	ASSERT_EQ(v, shadow_find_vma_intersection(mm, A(3), A(7)));

	ASSERT_EQ(w, shadow_vma_next(mm, v));
	ASSERT_EQ(NULL, shadow_vma_next(mm, w));
	ASSERT_EQ(v, shadow_vma_prev(mm, w));
	ASSERT_EQ(NULL, shadow_vma_prev(mm, v));
}

TEST_F(vma, validate_mm_catches)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *v;

	v = add_vma(mm, A(2), A(4), VMF_RW, Q(2));
	ASSERT_EQ(0, shadow_validate_mm(mm));
	mm->map_count++;
	ASSERT_EQ(-EINVAL, shadow_validate_mm(mm));
	mm->map_count--;
	v->vm_end = A(5);
	ASSERT_EQ(-EINVAL, shadow_validate_mm(mm));
	v->vm_end = A(4);
	v->vm_mm = NULL;
	ASSERT_EQ(-EINVAL, shadow_validate_mm(mm));
	v->vm_mm = mm;
	ASSERT_EQ(0, shadow_validate_mm(mm));
}

TEST_F(vma, start_end_gap)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *v, *low;

	v = add_vma(mm, A(300), A(310), VMF_RW | VM_GROWSDOWN, Q(300));
	ASSERT_EQ(A(300) - SHADOW_STACK_GUARD_GAP, shadow_vm_start_gap(v));
	ASSERT_EQ(A(44), shadow_vm_start_gap(v));
	ASSERT_EQ(A(310), shadow_vm_end_gap(v));
	/* The gap would wrap below 0: it stops there. */
	low = add_vma(mm, 0x20000, 0x30000, VMF_RW | VM_GROWSDOWN, 0x20);
	ASSERT_EQ(0, shadow_vm_start_gap(low));
	v->vm_flags &= ~VM_GROWSDOWN;
	ASSERT_EQ(A(300), shadow_vm_start_gap(v));
	v->vm_flags |= VM_GROWSDOWN;
}

/*
 * shadow_do_mmap() / shadow_do_munmap(): layouts, as Linux 6.1 builds them.
 */
TEST_F(vma, mmap_topdown_and_merge)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *first;
	unsigned long populate;

	ASSERT_EQ(TOPA(4), shadow_do_mmap(mm, 0, 4 * PG,
					  PROT_READ | PROT_WRITE, MAP_PA, 0,
					  &populate));
	ASSERT_EQ(0, populate);
	first = shadow_find_vma(mm, TOPA(4));
	CHECK_LAYOUT(mm, { TOPA(4), TOP, TOPA(4) >> PAGE_SHIFT, VMF_RW });
	ASSERT_EQ(shadow_vm_get_page_prot(VMF_RW), first->vm_page_prot);

	/* Right below, same flags: the first grows down over it. */
	ASSERT_EQ(TOPA(6), do_mmap(mm, 0, 2 * PG, PROT_READ | PROT_WRITE,
				   MAP_PA));
	CHECK_LAYOUT(mm,
		     { TOPA(6), TOP, TOPA(6) >> PAGE_SHIFT, VMF_RW, first });
	/* Another prot: a VMA of its own. */
	ASSERT_EQ(TOPA(7), do_mmap(mm, 0, PG, PROT_READ, MAP_PA));
	/* Shared: its own backing, no merge with anything, pgoff 0. */
	ASSERT_EQ(TOPA(8), do_mmap(mm, 0, PG, PROT_READ, MAP_SA));
	ASSERT_EQ(TOPA(9), do_mmap(mm, 0, PG, PROT_READ, MAP_SA));
	/* Private read-only next to the shared one: no merge. */
	ASSERT_EQ(TOPA(10), do_mmap(mm, 0, PG, PROT_READ, MAP_PA));
	CHECK_LAYOUT(mm,
		     { TOPA(10), TOPA(9), TOPA(10) >> PAGE_SHIFT, VMF_R },
		     { TOPA(9), TOPA(8), 0, VMF_R | VM_SHARED | VM_MAYSHARE },
		     { TOPA(8), TOPA(7), 0, VMF_R | VM_SHARED | VM_MAYSHARE },
		     { TOPA(7), TOPA(6), TOPA(7) >> PAGE_SHIFT, VMF_R },
		     { TOPA(6), TOP, TOPA(6) >> PAGE_SHIFT, VMF_RW, first });
	ASSERT_EQ(2, harness_counters.live_shmem);
	ASSERT_EQ(10, mm->total_vm);
	ASSERT_EQ(6, mm->data_vm);
}

TEST_F(vma, mmap_flags)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *v;
	unsigned long populate;
	int i = 0;
	static const struct {
		unsigned long prot, flags, vm_flags;
	} cases[] = {
		{ PROT_NONE, MAP_PA, VMF_NONE },
		{ PROT_READ, MAP_PA, VMF_R },
		{ PROT_READ | PROT_WRITE, MAP_PA, VMF_RW },
		{ PROT_READ | PROT_WRITE, MAP_PA | MAP_NORESERVE,
		  VMF_R | VM_WRITE | VM_NORESERVE },
		{ PROT_READ | PROT_EXEC, MAP_PA, VMF_RX },
		{ PROT_WRITE, MAP_PA, VMF_NONE | VM_WRITE | VM_ACCOUNT },
		{ PROT_READ | PROT_WRITE, MAP_SA, VMF_SHARED_RW },
		{ PROT_READ | PROT_WRITE, MAP_SA | MAP_NORESERVE,
		  VMF_SHARED_RW | VM_NORESERVE },
		{ PROT_READ | PROT_WRITE, MAP_PA | MAP_GROWSDOWN,
		  VMF_RW | VM_GROWSDOWN },
		{ PROT_READ, MAP_PA | MAP_LOCKED, VMF_R | VM_LOCKED },
	};

	harness_limits.cap_ipc_lock = true;
	for (i = 0; i < NR(cases); i++) {
		unsigned long addr = A(2 * i);
		unsigned long locked = cases[i].flags & MAP_LOCKED;

		ASSERT_EQ(addr, shadow_do_mmap(mm, addr, PG, cases[i].prot,
					       cases[i].flags | MAP_FIXED, 0,
					       &populate)) {
			TH_LOG("case %d", i);
		}
		v = shadow_find_vma(mm, addr);
		ASSERT_EQ(cases[i].vm_flags, v->vm_flags) {
			TH_LOG("case %d", i);
		}
		ASSERT_EQ(shadow_vm_get_page_prot(v->vm_flags),
			  v->vm_page_prot);
		/* MAP_LOCKED asks for the pages to be populated */
		ASSERT_EQ(locked ? PG : 0, populate);
		ASSERT_EQ(NULL, v->anon_vma);
		ASSERT_EQ(!!(cases[i].flags & MAP_SHARED), !!v->vm_mapping);
	}
	ASSERT_EQ(1, mm->locked_vm);

	/* mm->def_flags are added to every new mapping */
	mm->def_flags = VM_DONTDUMP;
	ASSERT_EQ(A(40), do_mmap(mm, A(40), PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(VMF_R | VM_DONTDUMP, shadow_find_vma(mm, A(40))->vm_flags);
	mm->def_flags = 0;

	/* MAP_POPULATE asks for the length, unless MAP_NONBLOCK */
	ASSERT_EQ(A(42), shadow_do_mmap(mm, A(42), 3 * PG - 5, PROT_READ,
					MAP_FPA | MAP_POPULATE, 0, &populate));
	ASSERT_EQ(3 * PG, populate);
	ASSERT_EQ(A(46), shadow_do_mmap(mm, A(46), PG, PROT_READ,
					MAP_FPA | MAP_POPULATE | MAP_NONBLOCK,
					0, &populate));
	ASSERT_EQ(0, populate);
}

TEST_F(vma, mmap_accounting)
{
	struct shadow_mm *mm = self->mm;

	harness_limits.cap_ipc_lock = true;
	ASSERT_EQ(A(0), do_mmap(mm, A(0), 4 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	ASSERT_EQ(A(10), do_mmap(mm, A(10), 2 * PG, PROT_READ | PROT_EXEC,
				 MAP_FPA));
	ASSERT_EQ(A(20), do_mmap(mm, A(20), 3 * PG, PROT_READ | PROT_WRITE,
				 MAP_SA | MAP_FIXED));
	ASSERT_EQ(A(30), do_mmap(mm, A(30), 5 * PG, PROT_READ | PROT_WRITE,
				 MAP_FPA | MAP_GROWSDOWN));
	ASSERT_EQ(A(40), do_mmap(mm, A(40), 6 * PG, PROT_READ,
				 MAP_FPA | MAP_LOCKED));
	ASSERT_EQ(20, mm->total_vm);
	ASSERT_EQ(4, mm->data_vm);
	ASSERT_EQ(2, mm->exec_vm);
	ASSERT_EQ(5, mm->stack_vm);
	ASSERT_EQ(6, mm->locked_vm);

	ASSERT_EQ(0, shadow_do_munmap(mm, A(1), 2 * PG));
	ASSERT_EQ(0, shadow_do_munmap(mm, A(11), PG));
	ASSERT_EQ(0, shadow_do_munmap(mm, A(20), PG));
	ASSERT_EQ(0, shadow_do_munmap(mm, A(34), PG));
	ASSERT_EQ(0, shadow_do_munmap(mm, A(41), 4 * PG));
	ASSERT_EQ(11, mm->total_vm);
	ASSERT_EQ(2, mm->data_vm);
	ASSERT_EQ(1, mm->exec_vm);
	ASSERT_EQ(4, mm->stack_vm);
	ASSERT_EQ(2, mm->locked_vm);
}

/*
 *   0  3 5  10
 *   OOOOOOOOOO     munmap [3, 5)
 *   OOO  nnnnn     the original keeps the bottom
 */
TEST_F(vma, munmap_hole)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *v;

	ASSERT_EQ(A(0), do_mmap(mm, A(0), 10 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	v = shadow_find_vma(mm, A(0));
	harness_record_reset();
	ASSERT_EQ(0, shadow_do_munmap(mm, A(3), 2 * PG));
	CHECK_LAYOUT(mm, { A(0), A(3), PGOFF(0), VMF_RW, v },
		     { A(5), A(10), PGOFF(5), VMF_RW });
	ASSERT_EQ(2, harness_record.nr_calls);
	CHECK_UNMAP(0, A(3), A(5), A(3), A(5), 1, 2);
	ASSERT_EQ(8, mm->total_vm);
	ASSERT_EQ(8, mm->data_vm);
}

/*
 *   0 2 4 6 8 10 12
 *   RR RR RR RRR         (R, W, R, W: no merges)
 *    ^^^^^^^^^           munmap [1, 10)
 *   R         WW         both ends split; the originals keep the outside
 */
TEST_F(vma, munmap_many)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *first, *last;

	ASSERT_EQ(A(0), do_mmap(mm, A(0), 2 * PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(A(3), do_mmap(mm, A(3), 2 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	ASSERT_EQ(A(6), do_mmap(mm, A(6), 2 * PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(A(9), do_mmap(mm, A(9), 3 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	first = shadow_find_vma(mm, A(0));
	last = shadow_find_vma(mm, A(9));
	harness_record_reset();
	ASSERT_EQ(0, shadow_do_munmap(mm, A(1), 9 * PG));
	CHECK_LAYOUT(mm, { A(0), A(1), PGOFF(0), VMF_R, first },
		     { A(10), A(12), PGOFF(10), VMF_RW, last });
	ASSERT_EQ(2, harness_record.nr_calls);
	CHECK_UNMAP(0, A(1), A(10), A(1), A(10), 4, 6);
	ASSERT_EQ(A(1), harness_record.calls[0].first_start);
	ASSERT_EQ(A(10), harness_record.calls[0].last_end);
	ASSERT_EQ(3, mm->total_vm);
}

/*
 *   0 2   5 7  9 11
 *   PP    XX   NN      munmap [4, 8): X goes
 *   PP         NN      page tables freed between prev's end and next's start
 */
TEST_F(vma, munmap_floor_ceiling)
{
	struct shadow_mm *mm = self->mm;

	ASSERT_EQ(A(0), do_mmap(mm, A(0), 2 * PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(A(5), do_mmap(mm, A(5), 2 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	ASSERT_EQ(A(9), do_mmap(mm, A(9), 2 * PG, PROT_READ, MAP_FPA));
	harness_record_reset();
	ASSERT_EQ(0, shadow_do_munmap(mm, A(4), 4 * PG));
	CHECK_UNMAP(0, A(4), A(8), A(2), A(9), 1, 2);
	CHECK_LAYOUT(mm, { A(0), A(2), PGOFF(0), VMF_R },
		     { A(9), A(11), PGOFF(9), VMF_R });

	/* No neighbours: floor and ceiling 0 (the whole range) */
	harness_record_reset();
	ASSERT_EQ(0, shadow_do_munmap(mm, A(0), 20 * PG));
	ASSERT_EQ(2, harness_record.nr_calls);
	CHECK_UNMAP(0, A(0), A(20), 0, 0, 2, 4);
	CHECK_EMPTY(mm);

	/* Nothing there: nothing to do */
	ASSERT_EQ(0, shadow_do_munmap(mm, A(100), 10 * PG));
	ASSERT_EQ(2, harness_record.nr_calls);
}

TEST_F(vma, munmap_errors)
{
	struct shadow_mm *mm = self->mm;

	ASSERT_EQ(A(0), do_mmap(mm, A(0), 4 * PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(-EINVAL, shadow_do_munmap(mm, A(0) + 1, PG));
	ASSERT_EQ(-EINVAL, shadow_do_munmap(mm, A(0), 0));
	ASSERT_EQ(-EINVAL, shadow_do_munmap(mm, HARNESS_TASK_SIZE + PG, PG));
	ASSERT_EQ(-EINVAL, shadow_do_munmap(mm, A(0),
					    HARNESS_TASK_SIZE - A(0) + 1));
	ASSERT_EQ(-EINVAL, shadow_do_munmap(mm, A(0), -PG));
	CHECK_LAYOUT(mm, { A(0), A(4), PGOFF(0), VMF_R });
	ASSERT_EQ(-EINVAL, shadow_do_munmap(mm, HARNESS_TASK_SIZE, 1));
	/* A length rounds up to pages */
	ASSERT_EQ(0, shadow_do_munmap(mm, A(3), 1));
	CHECK_LAYOUT(mm, { A(0), A(3), PGOFF(0), VMF_R });
	ASSERT_EQ(0, shadow_do_munmap(mm, A(0), HARNESS_TASK_SIZE - A(0)));
	CHECK_EMPTY(mm);
}

/*
 * max_map_count: punching a hole takes one more VMA and is refused at the
 * limit; trimming an end is not. A MAP_FIXED that would punch one fails
 * in its munmap, with -ENOMEM.
 */
TEST_F(vma, munmap_max_map_count)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *v;

	shadow_max_map_count = 1;
	ASSERT_EQ(A(0), do_mmap(mm, A(0), 10 * PG, PROT_READ, MAP_FPA));
	v = shadow_find_vma(mm, A(0));
	ASSERT_EQ(-ENOMEM, shadow_do_munmap(mm, A(3), 2 * PG));
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, A(3), 2 * PG,
					 PROT_READ | PROT_WRITE, MAP_FPA));
	CHECK_LAYOUT(mm, { A(0), A(10), PGOFF(0), VMF_R, v });
	ASSERT_EQ(0, shadow_do_munmap(mm, A(0), 2 * PG));
	ASSERT_EQ(0, shadow_do_munmap(mm, A(8), 2 * PG));
	CHECK_LAYOUT(mm, { A(2), A(8), PGOFF(2), VMF_R });
	/* At the limit the whole VMA may still be replaced */
	ASSERT_EQ(A(2), do_mmap(mm, A(2), 6 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	CHECK_LAYOUT(mm, { A(2), A(8), PGOFF(2), VMF_RW });
}

TEST_F(vma, mmap_map_count_limit)
{
	struct shadow_mm *mm = self->mm;

	/* do_mmap refuses only when map_count is already above the limit */
	shadow_max_map_count = 2;
	ASSERT_EQ(A(0), do_mmap(mm, A(0), PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(A(2), do_mmap(mm, A(2), PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(A(4), do_mmap(mm, A(4), PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(3, mm->map_count);
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, A(6), PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, 0, PG, PROT_READ, MAP_PA));
	CHECK_LAYOUT(mm, { A(0), A(1) }, { A(2), A(3) }, { A(4), A(5) });
}

/*
 *   0   4 6   10
 *   OOOOOOOOOO       MAP_FIXED [4, 6) read-only
 *   OOOOnnOOOO
 */
TEST_F(vma, mmap_fixed_over_part)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *v;

	ASSERT_EQ(A(0), do_mmap(mm, A(0), 10 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	v = shadow_find_vma(mm, A(0));
	harness_record_reset();
	ASSERT_EQ(A(4), do_mmap(mm, A(4), 2 * PG, PROT_READ, MAP_FPA));
	CHECK_LAYOUT(mm, { A(0), A(4), PGOFF(0), VMF_RW, v },
		     { A(4), A(6), PGOFF(4), VMF_R },
		     { A(6), A(10), PGOFF(6), VMF_RW });
	ASSERT_EQ(2, harness_record.nr_calls);
	CHECK_UNMAP(0, A(4), A(6), A(4), A(6), 1, 2);
	ASSERT_EQ(10, mm->total_vm);
	ASSERT_EQ(8, mm->data_vm);

	/* The same flags again: it all merges back into the original */
	ASSERT_EQ(A(4), do_mmap(mm, A(4), 2 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	CHECK_LAYOUT(mm, { A(0), A(10), PGOFF(0), VMF_RW, v });
	ASSERT_EQ(10, mm->data_vm);
}

/*
 *   0 2   4   6 8
 *   WWWWWWRRRRRR     MAP_FIXED [2, 6) read+exec
 *   WWXXXXXXXXRR
 */
TEST_F(vma, mmap_fixed_over_two)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *w, *r;

	ASSERT_EQ(A(0), do_mmap(mm, A(0), 4 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	ASSERT_EQ(A(4), do_mmap(mm, A(4), 4 * PG, PROT_READ, MAP_FPA));
	w = shadow_find_vma(mm, A(0));
	r = shadow_find_vma(mm, A(4));
	harness_record_reset();
	ASSERT_EQ(A(2), do_mmap(mm, A(2), 4 * PG, PROT_READ | PROT_EXEC,
				MAP_FPA));
	CHECK_LAYOUT(mm, { A(0), A(2), PGOFF(0), VMF_RW, w },
		     { A(2), A(6), PGOFF(2), VMF_RX },
		     { A(6), A(8), PGOFF(6), VMF_R, r });
	CHECK_UNMAP(0, A(2), A(6), A(2), A(6), 2, 4);
	ASSERT_EQ(4, mm->exec_vm);
}

TEST_F(vma, mmap_fixed_noreplace)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *v;

	ASSERT_EQ(A(4), do_mmap(mm, A(4), 4 * PG, PROT_READ, MAP_FPA));
	v = shadow_find_vma(mm, A(4));
	ASSERT_EQ(-EEXIST, (long)do_mmap(mm, A(6), 4 * PG, PROT_READ,
					 MAP_PA | MAP_FIXED_NOREPLACE));
	ASSERT_EQ(-EEXIST, (long)do_mmap(mm, A(0), 5 * PG, PROT_READ,
					 MAP_PA | MAP_FIXED_NOREPLACE));
	ASSERT_EQ(-EEXIST, (long)do_mmap(mm, A(0), 20 * PG, PROT_READ,
					 MAP_PA | MAP_FIXED_NOREPLACE));
	CHECK_LAYOUT(mm, { A(4), A(8), PGOFF(4), VMF_R, v });
	/* Right next to it: fine, and it merges */
	ASSERT_EQ(A(8), do_mmap(mm, A(8), 2 * PG, PROT_READ,
				MAP_PA | MAP_FIXED_NOREPLACE));
	/* Like MAP_FIXED, an unaligned address is refused */
	ASSERT_EQ(-EINVAL, (long)do_mmap(mm, A(20) + 8, PG, PROT_READ,
					 MAP_PA | MAP_FIXED_NOREPLACE));
	CHECK_LAYOUT(mm, { A(4), A(10), PGOFF(4), VMF_R, v });
}

/* Linux's errnos for bad arguments to mmap. */
TEST_F(vma, mmap_errors)
{
	struct shadow_mm *mm = self->mm;
	unsigned long populate;
	const unsigned long rw = PROT_READ | PROT_WRITE;

	ASSERT_EQ(-EINVAL, (long)do_mmap(mm, 0, 0, rw, MAP_PA));
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, 0, -100UL, rw, MAP_PA));
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, 0, HARNESS_TASK_SIZE + PG, rw,
					 MAP_PA));
	ASSERT_EQ(-EINVAL, (long)do_mmap(mm, A(0) + 1, PG, rw, MAP_FPA));
	ASSERT_EQ(-EINVAL, (long)do_mmap(mm, A(0) + PG / 2, PG, rw,
					 MAP_FPA));
	/* MAP_FIXED below mmap_min_addr: EPERM (no CAP_SYS_RAWIO) */
	ASSERT_EQ(-EPERM, (long)do_mmap(mm, 0, PG, rw, MAP_FPA));
	ASSERT_EQ(-EPERM, (long)do_mmap(mm, PG, PG, rw, MAP_FPA));
	ASSERT_EQ(-EPERM, (long)do_mmap(mm, HARNESS_MMAP_MIN_ADDR - PG,
					2 * PG, rw, MAP_FPA));
	/* Beyond the user address space: ENOMEM */
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, HARNESS_TASK_SIZE - PG, 2 * PG,
					 rw, MAP_FPA));
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, HARNESS_TASK_SIZE, PG, rw,
					 MAP_FPA));
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, -PG, PG, rw, MAP_FPA));
	/* Neither or both of MAP_PRIVATE and MAP_SHARED */
	ASSERT_EQ(-EINVAL, (long)do_mmap(mm, 0, PG, rw, MAP_ANONYMOUS));
	ASSERT_EQ(-EINVAL, (long)do_mmap(mm, 0, PG, rw,
					 MAP_SHARED | MAP_PRIVATE |
					 MAP_ANONYMOUS));
	ASSERT_EQ(-EINVAL, (long)do_mmap(mm, A(0), PG, rw,
					 MAP_FIXED | MAP_ANONYMOUS));
	/* A shared stack */
	ASSERT_EQ(-EINVAL, (long)do_mmap(mm, 0, PG, rw,
					 MAP_SA | MAP_GROWSDOWN));
	/* pgoff + pages wraps */
	ASSERT_EQ(-EOVERFLOW, (long)shadow_do_mmap(mm, 0, 2 * PG, rw, MAP_PA,
						   -1UL, &populate));
	CHECK_EMPTY(mm);
	/* The limits of the address space: first and last pages */
	ASSERT_EQ(HARNESS_MMAP_MIN_ADDR, do_mmap(mm, HARNESS_MMAP_MIN_ADDR,
						 PG, rw, MAP_FPA));
	ASSERT_EQ(HARNESS_TASK_SIZE - PG, do_mmap(mm, HARNESS_TASK_SIZE - PG,
						  PG, rw, MAP_FPA));
	CHECK_LAYOUT(mm, { HARNESS_MMAP_MIN_ADDR, HARNESS_MMAP_MIN_ADDR + PG },
		     { HARNESS_TASK_SIZE - PG, HARNESS_TASK_SIZE });
}

/* RLIMIT_MEMLOCK and CAP_IPC_LOCK (can_do_mlock, mlock_future_check). */
TEST_F(vma, mmap_locked_limits)
{
	struct shadow_mm *mm = self->mm;

	harness_limits.memlock_pages = 0;
	ASSERT_EQ(-EPERM, (long)do_mmap(mm, A(0), PG, PROT_READ,
					MAP_FPA | MAP_LOCKED));
	harness_limits.memlock_pages = 2;
	ASSERT_EQ(-EAGAIN, (long)do_mmap(mm, A(0), 3 * PG, PROT_READ,
					 MAP_FPA | MAP_LOCKED));
	ASSERT_EQ(A(0), do_mmap(mm, A(0), 2 * PG, PROT_READ,
				MAP_FPA | MAP_LOCKED));
	ASSERT_EQ(-EAGAIN, (long)do_mmap(mm, A(4), PG, PROT_READ,
					 MAP_FPA | MAP_LOCKED));
	/* Not locked: no limit */
	ASSERT_EQ(A(4), do_mmap(mm, A(4), 3 * PG, PROT_READ, MAP_FPA));
	harness_limits.cap_ipc_lock = true;
	ASSERT_EQ(A(8), do_mmap(mm, A(8), 3 * PG, PROT_READ,
				MAP_FPA | MAP_LOCKED));
	ASSERT_EQ(5, mm->locked_vm);
	CHECK_LAYOUT(mm, { A(0), A(2), PGOFF(0), VMF_R | VM_LOCKED },
		     { A(4), A(7), PGOFF(4), VMF_R },
		     { A(8), A(11), PGOFF(8), VMF_R | VM_LOCKED });
}

/* RLIMIT_AS and RLIMIT_DATA (may_expand_vm), MAP_FIXED counting its own. */
TEST_F(vma, mmap_may_expand_vm)
{
	struct shadow_mm *mm = self->mm;

	harness_limits.as_pages = 6;
	ASSERT_EQ(A(0), do_mmap(mm, A(0), 4 * PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, A(10), 3 * PG, PROT_READ,
					 MAP_FPA));
	ASSERT_EQ(A(10), do_mmap(mm, A(10), 2 * PG, PROT_READ, MAP_FPA));
	/* Full; replacing pages already there is fine */
	ASSERT_EQ(A(2), do_mmap(mm, A(2), 2 * PG, PROT_READ | PROT_EXEC,
				MAP_FPA));
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, A(3), 2 * PG, PROT_READ,
					 MAP_FPA));
	CHECK_LAYOUT(mm, { A(0), A(2), PGOFF(0), VMF_R },
		     { A(2), A(4), PGOFF(2), VMF_RX },
		     { A(10), A(12), PGOFF(10), VMF_R });

	harness_limits.as_pages = ULONG_MAX;
	harness_limits.data_pages = 2;
	ASSERT_EQ(-ENOMEM, (long)do_mmap(mm, A(20), 3 * PG,
					 PROT_READ | PROT_WRITE, MAP_FPA));
	ASSERT_EQ(A(20), do_mmap(mm, A(20), 3 * PG, PROT_READ | PROT_WRITE,
				 MAP_SA | MAP_FIXED));
	ASSERT_EQ(A(24), do_mmap(mm, A(24), 2 * PG, PROT_READ | PROT_WRITE,
				 MAP_FPA));
	ASSERT_EQ(2, mm->data_vm);
}

/*
 * The gap search: x86-64's arch_get_unmapped_area_topdown() and its
 * bottom-up fallback.
 *
 *   TOP-11       TOP-6    TOP-3    TOP
 *   |c|....G2....|b|..G1..|aaa|        gaps of 4 and 2 pages
 */
TEST_F(vma, gap_topdown_highest_fit)
{
	struct shadow_mm *mm = self->mm;

	ASSERT_EQ(TOPA(3), do_mmap(mm, TOPA(3), 3 * PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(TOPA(6), do_mmap(mm, TOPA(6), PG, PROT_EXEC, MAP_FPA));
	ASSERT_EQ(TOPA(11), do_mmap(mm, TOPA(11), PG, PROT_EXEC, MAP_FPA));
	/* 3 pages: G1 is too small; the top of G2 */
	ASSERT_EQ(TOPA(9), do_mmap(mm, 0, 3 * PG, PROT_WRITE, MAP_PA));
	/* 2 pages: G1 exactly */
	ASSERT_EQ(TOPA(5), do_mmap(mm, 0, 2 * PG, PROT_WRITE, MAP_PA));
	/* 2 pages: only below everything now */
	ASSERT_EQ(TOPA(13), do_mmap(mm, 0, 2 * PG, PROT_WRITE, MAP_PA));
	/* 1 page: what is left of G2 */
	ASSERT_EQ(TOPA(10), do_mmap(mm, 0, PG, PROT_READ, MAP_PA));
	/* A hole reopened at the top is used first */
	ASSERT_EQ(0, shadow_do_munmap(mm, TOPA(2), 2 * PG));
	ASSERT_EQ(TOPA(1), do_mmap(mm, 0, PG, PROT_EXEC, MAP_PA));
	ASSERT_EQ(TOPA(2), do_mmap(mm, 0, PG, PROT_EXEC, MAP_PA));
	ASSERT_EQ(TOPA(15), do_mmap(mm, 0, 2 * PG, PROT_READ, MAP_PA));
}

TEST_F(vma, gap_hints)
{
	struct shadow_mm *mm = self->mm;

	/* A free hint is taken as is, even above mmap_base */
	ASSERT_EQ(A(100), do_mmap(mm, A(100), 2 * PG, PROT_READ, MAP_PA));
	ASSERT_EQ(TOP + 10 * PG, do_mmap(mm, TOP + 10 * PG, PG, PROT_EXEC,
					 MAP_PA));
	/* Unaligned: rounded down */
	ASSERT_EQ(A(200), do_mmap(mm, A(200) + 123, PG, PROT_EXEC, MAP_PA));
	/* Taken, or overlapping: the top-down search */
	ASSERT_EQ(TOPA(2), do_mmap(mm, A(100), 2 * PG, PROT_EXEC, MAP_PA));
	ASSERT_EQ(TOPA(4), do_mmap(mm, A(99), 2 * PG, PROT_READ, MAP_PA));
	/* Right below a VMA: fits */
	ASSERT_EQ(A(98), do_mmap(mm, A(98), 2 * PG, PROT_EXEC, MAP_PA));
	/* Beyond the address space: the search */
	ASSERT_EQ(TOPA(6), do_mmap(mm, HARNESS_TASK_SIZE - PG, 2 * PG,
				   PROT_EXEC, MAP_PA));
	/* Below mmap_min_addr: raised to it */
	ASSERT_EQ(HARNESS_MMAP_MIN_ADDR, do_mmap(mm, PG, PG, PROT_READ,
						 MAP_PA));
	ASSERT_EQ(HARNESS_MMAP_MIN_ADDR + PG,
		  do_mmap(mm, HARNESS_MMAP_MIN_ADDR + PG, PG, PROT_EXEC,
			  MAP_PA));
	/* ... and to the search when the minimum is taken */
	ASSERT_EQ(TOPA(7), do_mmap(mm, 10, PG, PROT_READ, MAP_PA));
}

/*
 * A VM_GROWSDOWN VMA keeps 256 pages below it free of new mappings that
 * are not MAP_FIXED:
 *
 *   TOP-261   TOP-260 ... TOP-4  TOP
 *   |new|     |<- guard gap ->|SSSS|
 */
TEST_F(vma, gap_stack_guard)
{
	struct shadow_mm *mm = self->mm;

	ASSERT_EQ(TOPA(4), do_mmap(mm, TOPA(4), 4 * PG,
				   PROT_READ | PROT_WRITE,
				   MAP_FPA | MAP_GROWSDOWN));
	ASSERT_EQ(TOPA(261), do_mmap(mm, 0, PG, PROT_READ, MAP_PA));
	/* A hint in the gap is not taken; right below it, it is */
	ASSERT_EQ(TOPA(262), do_mmap(mm, TOPA(6), PG, PROT_EXEC, MAP_PA));
	ASSERT_EQ(TOPA(263), do_mmap(mm, TOPA(260), PG, PROT_READ, MAP_PA));
	ASSERT_EQ(TOPA(260) - PG, TOPA(261));
	/* The last page below the gap: the hint fits exactly */
	ASSERT_EQ(0, shadow_do_munmap(mm, TOPA(261), PG));
	ASSERT_EQ(TOPA(261), do_mmap(mm, TOPA(261), PG, PROT_EXEC, MAP_PA));
	/* MAP_FIXED ignores the gap */
	ASSERT_EQ(TOPA(5), do_mmap(mm, TOPA(5), PG, PROT_EXEC, MAP_FPA));
	/* A stack above mmap_base casts its gap below it too */
	ASSERT_EQ(TOP + 16 * PG, do_mmap(mm, TOP + 16 * PG, PG,
					 PROT_READ | PROT_WRITE,
					 MAP_FPA | MAP_GROWSDOWN));
	ASSERT_EQ(0, shadow_do_munmap(mm, TOPA(4), 4 * PG));
	ASSERT_EQ(0, shadow_do_munmap(mm, TOPA(5), PG));
	ASSERT_EQ(TOP + 16 * PG - SHADOW_STACK_GUARD_GAP - PG,
		  do_mmap(mm, 0, PG, PROT_WRITE, MAP_PA));
}

/*
 * When the top-down area [PAGE_SIZE, mmap_base) has no room: bottom-up from
 * TASK_UNMAPPED_BASE (task_size / 3) to task_size.
 */
TEST_F(vma, gap_bottomup_fallback)
{
	struct shadow_mm *mm = self->mm;
	const unsigned long ub = PAGE_ALIGN(HARNESS_TASK_SIZE / 3);

	mm->mmap_base = HARNESS_MMAP_MIN_ADDR + 16 * PG;
	/* Bigger than the whole top-down area */
	ASSERT_EQ(ub, do_mmap(mm, 0, 64 * PG, PROT_READ, MAP_PA));
	ASSERT_EQ(ub + 64 * PG, do_mmap(mm, 0, 32 * PG, PROT_EXEC, MAP_PA));
	/* Room at the top of the top-down area */
	ASSERT_EQ(mm->mmap_base - 16 * PG, do_mmap(mm, 0, 16 * PG, PROT_READ,
						   MAP_PA));
	/* Full above mmap_min_addr: x86-64 searches down to PAGE_SIZE... */
	ASSERT_EQ(-EPERM, (long)do_mmap(mm, 0, PG, PROT_EXEC, MAP_PA));
	/* ...and only falls back when nothing fits there at all. */
	mm->mmap_min_addr = PG;
	ASSERT_EQ(PG, do_mmap(mm, PG, HARNESS_MMAP_MIN_ADDR - PG, PROT_EXEC,
			      MAP_FPA));
	ASSERT_EQ(ub + 96 * PG, do_mmap(mm, 0, PG, PROT_WRITE, MAP_PA));
	/* A hole in the bottom-up area is found from below */
	ASSERT_EQ(0, shadow_do_munmap(mm, ub + PG, PG));
	ASSERT_EQ(ub + PG, do_mmap(mm, 0, PG, PROT_WRITE | PROT_EXEC,
				   MAP_PA));
	/* An unusable hint is retried bottom-up too, then the search */
	ASSERT_EQ(ub + 97 * PG, do_mmap(mm, ub, PG, PROT_NONE, MAP_PA));
	mm->mmap_min_addr = HARNESS_MMAP_MIN_ADDR;
}

/* The locking wrappers. */
TEST_F(vma, vm_mmap_munmap_locking)
{
	struct shadow_mm *mm = self->mm;

	ASSERT_EQ(TOPA(2), shadow_vm_mmap_pgoff(mm, 0, 2 * PG, PROT_READ,
						MAP_PA, 0));
	ASSERT_EQ(1, harness_locks.nr_write_locks);
	ASSERT_EQ(0, harness_locks.write_held);
	ASSERT_EQ(0, shadow_vm_munmap(mm, TOPA(1), PG));
	ASSERT_EQ(2, harness_locks.nr_write_locks);
	ASSERT_EQ(0, harness_locks.write_held);
	harness_locks.killable_fails = true;
	ASSERT_EQ(-EINTR, (long)shadow_vm_mmap_pgoff(mm, 0, PG, PROT_READ,
						     MAP_PA, 0));
	ASSERT_EQ(-EINTR, shadow_vm_munmap(mm, TOPA(2), PG));
	harness_locks.killable_fails = false;
	CHECK_LAYOUT(mm, { TOPA(2), TOPA(1) });
	/* exit_mmap takes the lock itself */
	harness_locks.strict = true;
	shadow_exit_mmap(mm);
	harness_locks.strict = false;
	ASSERT_EQ(3, harness_locks.nr_write_locks);
	ASSERT_EQ(0, harness_locks.write_held);
}

/* vm_mmap_pgoff() populates MAP_POPULATE and MAP_LOCKED after unlocking. */
TEST_F(vma, vm_mmap_populate)
{
	struct shadow_mm *mm = self->mm;

	harness_limits.cap_ipc_lock = true;
	ASSERT_EQ(A(0), shadow_vm_mmap_pgoff(mm, A(0), 3 * PG - 1, PROT_READ,
					     MAP_FPA | MAP_POPULATE, 0));
	ASSERT_EQ(A(4), shadow_vm_mmap_pgoff(mm, A(4), PG, PROT_READ,
					     MAP_FPA | MAP_LOCKED, 0));
	ASSERT_EQ(A(6), shadow_vm_mmap_pgoff(mm, A(6), PG, PROT_READ,
					     MAP_FPA | MAP_POPULATE |
					     MAP_NONBLOCK, 0));
	ASSERT_EQ(A(8), shadow_vm_mmap_pgoff(mm, A(8), PG, PROT_READ,
					     MAP_FPA, 0));
	/* A failed mmap populates nothing. */
	ASSERT_EQ(-EINVAL, (long)shadow_vm_mmap_pgoff(mm, A(10) + 1, PG,
						      PROT_READ, MAP_FPA |
						      MAP_POPULATE, 0));
	ASSERT_EQ(2, harness_record.nr_calls);
	check_call(_metadata, 0, HARNESS_POPULATE, A(0), A(3), 0, 0);
	check_call(_metadata, 1, HARNESS_POPULATE, A(4), A(5), 0, 0);
	/* After mlockall(MCL_FUTURE) every mapping is locked and populated. */
	mm->def_flags = VM_LOCKED;
	ASSERT_EQ(A(12), shadow_vm_mmap_pgoff(mm, A(12), 2 * PG, PROT_READ,
					      MAP_FPA, 0));
	mm->def_flags = 0;
	check_call(_metadata, 2, HARNESS_POPULATE, A(12), A(14), 0, 0);
	ASSERT_EQ(3, mm->locked_vm);
}

/*
 * MADV_RANDOM, MADV_SEQUENTIAL and MADV_NORMAL change VM_RAND_READ and
 * VM_SEQ_READ, splitting and merging back; MADV_DONTDUMP and MADV_DODUMP
 * VM_DONTDUMP.
 *   |AAAAAAAAAAAAAAAA| -> |AAAA|RRRR|AAAAAAAA| -> |AAAA|SSSS|AAAAAAAA|
 *   -> |AAAAAAAAAAAAAAAA|
 */
TEST_F(vma, madvise_read_hints_and_dump)
{
	struct shadow_mm *mm = self->mm;

	ASSERT_EQ(A(0), do_mmap(mm, A(0), 16 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	ASSERT_EQ(0, shadow_do_madvise(mm, A(4), 4 * PG, MADV_RANDOM));
	CHECK_LAYOUT(mm, { A(0), A(4), .flags = VMF_RW },
		     { A(4), A(8), PGOFF(4), VMF_RW | VM_RAND_READ },
		     { A(8), A(16), PGOFF(8), VMF_RW });
	ASSERT_EQ(0, shadow_do_madvise(mm, A(4), 4 * PG, MADV_SEQUENTIAL));
	CHECK_LAYOUT(mm, { A(0), A(4), .flags = VMF_RW },
		     { A(4), A(8), PGOFF(4), VMF_RW | VM_SEQ_READ },
		     { A(8), A(16), PGOFF(8), VMF_RW });
	ASSERT_EQ(0, shadow_do_madvise(mm, A(4), 4 * PG, MADV_NORMAL));
	CHECK_LAYOUT(mm, { A(0), A(16), PGOFF(0), VMF_RW });
	ASSERT_EQ(0, shadow_do_madvise(mm, A(12), 4 * PG, MADV_DONTDUMP));
	CHECK_LAYOUT(mm, { A(0), A(12), .flags = VMF_RW },
		     { A(12), A(16), PGOFF(12), VMF_RW | VM_DONTDUMP });
	ASSERT_EQ(0, shadow_do_madvise(mm, A(8), 8 * PG, MADV_DODUMP));
	CHECK_LAYOUT(mm, { A(0), A(16), PGOFF(0), VMF_RW });
	/* Flag advice takes mmap_lock for writing, and touches no PTE. */
	ASSERT_EQ(5, harness_locks.nr_write_locks);
	ASSERT_EQ(0, harness_record.nr_calls);
}

/*
 * MADV_DONTNEED zaps each VMA's part of the range under mmap_lock for
 * reading, skips holes but reports them, and refuses VM_LOCKED memory
 * unless MADV_DONTNEED_LOCKED.
 *   |AAAAAAAA|  |SSSS|   |LLLL|
 *   0        8  10   14  16   20
 */
TEST_F(vma, madvise_dontneed)
{
	struct shadow_mm *mm = self->mm;

	harness_limits.cap_ipc_lock = true;
	harness_locks.strict = true;
	shadow_mmap_write_lock(mm);
	ASSERT_EQ(A(0), do_mmap(mm, A(0), 8 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	ASSERT_EQ(A(10), do_mmap(mm, A(10), 4 * PG, PROT_READ | PROT_WRITE,
				 MAP_SA | MAP_FIXED));
	ASSERT_EQ(A(16), do_mmap(mm, A(16), 4 * PG, PROT_READ,
				 MAP_FPA | MAP_LOCKED));
	shadow_mmap_write_unlock(mm);

	ASSERT_EQ(-ENOMEM, shadow_do_madvise(mm, A(2), 10 * PG,
					     MADV_DONTNEED));
	ASSERT_EQ(2, harness_record.nr_calls);
	check_call(_metadata, 0, HARNESS_ZAP_RANGE, A(2), A(8), 1, 0);
	check_call(_metadata, 1, HARNESS_ZAP_RANGE, A(10), A(12), 1, 0);
	ASSERT_EQ(0, shadow_do_madvise(mm, A(10), 4 * PG, MADV_DONTNEED));
	check_call(_metadata, 2, HARNESS_ZAP_RANGE, A(10), A(14), 1, 0);
	/* VM_LOCKED: refused, whatever came before in the range. */
	ASSERT_EQ(-EINVAL, shadow_do_madvise(mm, A(12), 6 * PG,
					     MADV_DONTNEED));
	check_call(_metadata, 3, HARNESS_ZAP_RANGE, A(12), A(14), 1, 0);
	ASSERT_EQ(4, harness_record.nr_calls);
	ASSERT_EQ(0, shadow_do_madvise(mm, A(16), 4 * PG,
				       MADV_DONTNEED_LOCKED));
	check_call(_metadata, 4, HARNESS_ZAP_RANGE, A(16), A(20), 1, 0);
	/* MADV_WILLNEED has nothing to do, but reports the holes. */
	ASSERT_EQ(-ENOMEM, shadow_do_madvise(mm, A(6), 6 * PG,
					     MADV_WILLNEED));
	ASSERT_EQ(0, shadow_do_madvise(mm, A(0), 8 * PG, MADV_WILLNEED));
	ASSERT_EQ(5, harness_record.nr_calls);
	/* None of them took mmap_lock for writing; no layout changed. */
	ASSERT_EQ(1, harness_locks.nr_write_locks);
	harness_locks.strict = false;
	CHECK_LAYOUT(mm, { A(0), A(8) }, { A(10), A(14) }, { A(16), A(20) });
}

/*
 * MADV_POPULATE_READ/WRITE prefault each VMA's part; the errors of
 * faultin_vma_page_range() come back as madvise_populate() maps them. A
 * hole: 6.1 goes on past it and fails at the end, since 6.9 the call
 * stops there (SHADOW_RULE_POPULATE_STOPS_AT_HOLE).
 */
TEST_F(vma, madvise_populate)
{
	struct shadow_mm *mm = self->mm;

	ASSERT_EQ(A(0), do_mmap(mm, A(0), 8 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
	ASSERT_EQ(A(8), do_mmap(mm, A(8), 4 * PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(A(14), do_mmap(mm, A(14), 2 * PG, PROT_READ, MAP_FPA));

	ASSERT_EQ(0, shadow_do_madvise(mm, A(4), 8 * PG,
				       MADV_POPULATE_WRITE));
	check_call(_metadata, 0, HARNESS_FAULTIN, A(4), A(8), 1, 1);
	check_call(_metadata, 1, HARNESS_FAULTIN, A(8), A(12), 1, 1);
	ASSERT_EQ(-ENOMEM, shadow_do_madvise(mm, A(10), 6 * PG,
					     MADV_POPULATE_READ));
	check_call(_metadata, 2, HARNESS_FAULTIN, A(10), A(12), 1, 0);
	if (!SHADOW_RULE_POPULATE_STOPS_AT_HOLE)
		check_call(_metadata, 3, HARNESS_FAULTIN, A(14), A(16), 1, 0);
	ASSERT_EQ(SHADOW_RULE_POPULATE_STOPS_AT_HOLE ? 3 : 4,
		  harness_record.nr_calls);

	harness_faultin_error = -EINVAL;
	ASSERT_EQ(-EINVAL, shadow_do_madvise(mm, A(0), 16 * PG,
					     MADV_POPULATE_WRITE));
	ASSERT_EQ(SHADOW_RULE_POPULATE_STOPS_AT_HOLE ? 4 : 5,
		  harness_record.nr_calls);
	harness_faultin_error = -EFAULT;
	ASSERT_EQ(-EFAULT, shadow_do_madvise(mm, A(0), PG,
					     MADV_POPULATE_READ));
	harness_faultin_error = -EINTR;
	ASSERT_EQ(-EINTR, shadow_do_madvise(mm, A(0), PG,
					    MADV_POPULATE_READ));
	/* Anything else, -EHWPOISON say, is reported as -ENOMEM. */
	harness_faultin_error = -EHWPOISON;
	ASSERT_EQ(-ENOMEM, shadow_do_madvise(mm, A(0), PG,
					     MADV_POPULATE_READ));
	harness_faultin_error = 0;
	ASSERT_EQ(0, harness_locks.nr_write_locks);
	CHECK_LAYOUT(mm, { A(0), A(8) }, { A(8), A(12) }, { A(14), A(16) });
}

/* With the harness's strict locks, a change without mmap_lock is caught. */
TEST_F(vma, unlocked_change_warns)
{
	harness_warn_aborts = false;
	harness_locks.strict = true;
	ASSERT_EQ(TOPA(1), do_mmap(self->mm, 0, PG, PROT_READ, MAP_PA));
	ASSERT_LT(0, harness_nr_warnings);
	shadow_mmap_write_lock(self->mm);
	ASSERT_EQ(0, shadow_do_munmap(self->mm, TOPA(1), PG));
	shadow_mmap_write_unlock(self->mm);
	harness_locks.strict = false;
	harness_nr_warnings = 0;
	harness_warn_aborts = true;
}

/* The heap of the brk tests: a break at A(0), as start_brk is set. */
static void heap_at(struct shadow_mm *mm, unsigned long start)
{
	mm->start_brk = start;
	mm->brk = start;
}

/*
 * brk: growing maps a private anonymous VMA (VM_DATA_DEFAULT_FLAGS |
 * VM_ACCOUNT) that later growth extends in place; the break may be
 * unaligned; shrinking unmaps the tail with the heap as floor.
 *   0    4    8
 *   HHHH          brk(4)
 *   HHHHHHHH      brk(8): the same VMA grown
 *   HHH           brk(2.x): [3, 8) unmapped
 */
TEST_F(vma, brk_grow_and_shrink)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *heap;

	heap_at(mm, A(0));
	ASSERT_EQ(A(4), shadow_sys_brk(mm, A(4)));
	heap = shadow_find_vma(mm, A(0));
	ASSERT_NE(NULL, heap);
	CHECK_LAYOUT(mm, { A(0), A(4), PGOFF(0), VMF_RW, heap });
	ASSERT_EQ(A(8), shadow_sys_brk(mm, A(8)));
	CHECK_LAYOUT(mm, { A(0), A(8), PGOFF(0), VMF_RW, heap });
	ASSERT_EQ(8, mm->data_vm);
	ASSERT_EQ(8, mm->total_vm);
	ASSERT_EQ(A(8), mm->brk);

	harness_record_reset();
	ASSERT_EQ(A(2) + 5, shadow_sys_brk(mm, A(2) + 5));
	CHECK_LAYOUT(mm, { A(0), A(3), PGOFF(0), VMF_RW, heap });
	CHECK_UNMAP(0, A(3), A(8), A(3), 0, 1, 5);
	ASSERT_EQ(3, mm->data_vm);
	/* Same page: only the break moves. */
	ASSERT_EQ(A(2) + 9, shadow_sys_brk(mm, A(2) + 9));
	ASSERT_EQ(A(2) + 9, mm->brk);
	/* Below start_brk, and the query: the old break. */
	ASSERT_EQ(A(2) + 9, shadow_sys_brk(mm, A(0) - 1));
	ASSERT_EQ(A(2) + 9, shadow_sys_brk(mm, 0));
	ASSERT_EQ(A(0), shadow_sys_brk(mm, A(0)));
	CHECK_EMPTY(mm);
	/* Each call took mmap_lock for writing, and dropped it. */
	ASSERT_EQ(7, harness_locks.nr_write_locks);
	ASSERT_EQ(0, harness_locks.write_held);
}

/*
 * The growth keeps one page free below the next VMA and the guard gap
 * below a stack; a VMA in the way refuses it.
 */
TEST_F(vma, brk_gaps)
{
	struct shadow_mm *mm = self->mm;

	heap_at(mm, A(0));
	add_vma(mm, A(12), A(13), VMF_R, PGOFF(12));
	ASSERT_EQ(A(11), shadow_sys_brk(mm, A(11)));
	ASSERT_EQ(A(11), shadow_sys_brk(mm, A(11) + 1));
	ASSERT_EQ(A(11), shadow_sys_brk(mm, A(20)));
	ASSERT_EQ(0, shadow_do_munmap(mm, A(12), PG));
	add_vma(mm, A(300), A(301), VMF_RW | VM_GROWSDOWN, PGOFF(300));
	ASSERT_EQ(A(43), shadow_sys_brk(mm, A(43)));
	ASSERT_EQ(A(43), shadow_sys_brk(mm, A(43) + 1));
	/* Beyond the address space. */
	ASSERT_EQ(A(43), shadow_sys_brk(mm, HARNESS_TASK_SIZE + PG));
	ASSERT_EQ(A(43), shadow_sys_brk(mm, -PG));
	CHECK_LAYOUT(mm, { A(0), A(43), PGOFF(0), VMF_RW },
		     { A(300), A(301) });
}

/*
 * Limits: RLIMIT_DATA on the break and on the pages, max_map_count, and
 * under mlockall(MCL_FUTURE) RLIMIT_MEMLOCK; with VM_LOCKED in def_flags
 * the new heap is locked and populated once the lock is dropped.
 */
TEST_F(vma, brk_limits_and_populate)
{
	struct shadow_mm *mm = self->mm;

	heap_at(mm, A(0));
	harness_limits.data_bytes = 8 * PG + 10;
	harness_limits.data_pages = 8;
	ASSERT_EQ(A(8), shadow_sys_brk(mm, A(8)));
	ASSERT_EQ(A(8), shadow_sys_brk(mm, A(8) + 10));
	ASSERT_EQ(A(8), shadow_sys_brk(mm, A(8) + 11));
	harness_limits.data_bytes = RLIM_INFINITY;
	harness_limits.data_pages = ULONG_MAX;

	mm->map_count = shadow_max_map_count + 1;
	ASSERT_EQ(A(8), shadow_sys_brk(mm, A(9)));
	mm->map_count = 1;

	mm->def_flags = VM_LOCKED;
	harness_limits.memlock_pages = 2;
	ASSERT_EQ(A(8), shadow_sys_brk(mm, A(11)));
	ASSERT_EQ(0, harness_record.nr_calls);
	harness_limits.memlock_pages = 3;
	ASSERT_EQ(A(11), shadow_sys_brk(mm, A(11)));
	ASSERT_EQ(1, harness_record.nr_calls);
	ASSERT_EQ(HARNESS_POPULATE, harness_record.calls[0].kind);
	ASSERT_EQ(A(8), harness_record.calls[0].a);
	ASSERT_EQ(A(11), harness_record.calls[0].b);
	ASSERT_EQ(0, harness_locks.write_held);
	ASSERT_EQ(3, mm->locked_vm);
	/* The locked part does not merge with the unlocked heap. */
	CHECK_LAYOUT(mm, { A(0), A(8), PGOFF(0), VMF_RW },
		     { A(8), A(11), PGOFF(8), VMF_RW | VM_LOCKED });
	/* Shrinking populates nothing: it unmaps. */
	ASSERT_EQ(A(9), shadow_sys_brk(mm, A(9)));
	ASSERT_EQ(3, harness_record.nr_calls);
	CHECK_UNMAP(1, A(9), A(11), A(9), 0, 1, 2);
	ASSERT_EQ(1, mm->locked_vm);
	mm->def_flags = 0;
}

/*
 * After fork the heap's anon_vma chain is not singular: brk grows it by a
 * new VMA. Without an anon_vma, or with one of its own, it is extended.
 */
TEST_F(vma, brk_after_fork)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *heap;

	heap_at(mm, A(0));
	ASSERT_EQ(A(4), shadow_sys_brk(mm, A(4)));
	heap = shadow_find_vma(mm, A(0));
	harness_set_anon_vma(heap, AV1);
	ASSERT_EQ(A(6), shadow_sys_brk(mm, A(6)));
	CHECK_LAYOUT(mm, { A(0), A(6), PGOFF(0), VMF_RW, heap });
	heap->vm_anon_chain = 2;
	ASSERT_EQ(A(8), shadow_sys_brk(mm, A(8)));
	CHECK_LAYOUT(mm, { A(0), A(6), PGOFF(0), VMF_RW, heap },
		     { A(6), A(8), PGOFF(6), VMF_RW });
}

/* A failed allocation leaves the heap and the break as they were. */
TEST_F(vma, brk_allocation_fails)
{
	struct shadow_mm *mm = self->mm;

	heap_at(mm, A(0));
	harness_fail_alloc(1, true);
	ASSERT_EQ(A(0), shadow_sys_brk(mm, A(4)));
	harness_fail_alloc(0, false);
	CHECK_EMPTY(mm);
	ASSERT_EQ(A(4), shadow_sys_brk(mm, A(4)));
	/* A shrink whose split fails keeps the break. */
	harness_fail_alloc(1, true);
	ASSERT_EQ(A(4), shadow_sys_brk(mm, A(2)));
	harness_fail_alloc(0, false);
	CHECK_LAYOUT(mm, { A(0), A(4), PGOFF(0), VMF_RW });
	ASSERT_EQ(A(4), mm->brk);
	ASSERT_EQ(4, mm->data_vm);
	harness_locks.killable_fails = true;
	ASSERT_EQ(-EINTR, (long)shadow_sys_brk(mm, A(8)));
	harness_locks.killable_fails = false;
}

#define VMF_STACK	(VMF_RW | VM_GROWSDOWN)

/*
 * expand_downwards(): a stack grows down to any address, as long as the
 * guard gap to an accessible VMA below that does not grow down stays
 * free, the stack fits RLIMIT_STACK and it stays above mmap_min_addr. Its
 * anon_vma is prepared first.
 *   0   4              260            300  304
 *   AAAA   ...           <- SSSSSSSSSSSSSSSS
 */
TEST_F(vma, stack_expand_downwards)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *stack, *low;

	low = add_vma(mm, A(0), A(4), VMF_RW, PGOFF(0));
	stack = add_vma(mm, A(300), A(304), VMF_STACK, PGOFF(300));
	harness_locks.strict = true;
	shadow_mmap_write_lock(mm);
	ASSERT_EQ(0, shadow_expand_downwards(mm, stack, A(299) + 5));
	ASSERT_EQ(&harness_anon_vma_token, stack->anon_vma);
	ASSERT_EQ(0, shadow_expand_stack_locked(mm, stack, A(260)));
	ASSERT_EQ(-ENOMEM, shadow_expand_downwards(mm, stack, A(259)));
	/* Already covered: nothing to do. */
	ASSERT_EQ(0, shadow_expand_downwards(mm, stack, A(270)));
	ASSERT_EQ(-EINVAL, shadow_expand_stack_locked(mm, low, A(0) - PG));
	ASSERT_EQ(-EFAULT, shadow_expand_downwards(mm, low, A(0) - PG));
	shadow_mmap_write_unlock(mm);
	harness_locks.strict = false;
	CHECK_LAYOUT(mm, { A(0), A(4), PGOFF(0), VMF_RW, low },
		     { A(260), A(304), PGOFF(260), VMF_STACK, stack });
	ASSERT_EQ(44, mm->stack_vm);
	ASSERT_EQ(48, mm->total_vm);

	/* PROT_NONE below: no gap to keep. */
	low->vm_flags = VMF_NONE;
	ASSERT_EQ(0, shadow_expand_downwards(mm, stack, A(4)));
	ASSERT_EQ(PGOFF(4), stack->vm_pgoff);
	ASSERT_EQ(300, mm->stack_vm);
	low->vm_flags = VMF_RW;
}

/* Pages from mmap_min_addr, for the limits of a stack's growth. */
#define LOW(n)		(HARNESS_MMAP_MIN_ADDR + (unsigned long)(n) * PG)

TEST_F(vma, stack_expand_limits)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *stack;

	stack = add_vma(mm, LOW(16), LOW(20), VMF_STACK, LOW(16) >> PAGE_SHIFT);
	/* RLIMIT_STACK: the whole stack's size. */
	harness_limits.stack_bytes = 8 * PG;
	ASSERT_EQ(0, shadow_expand_downwards(mm, stack, LOW(12)));
	ASSERT_EQ(-ENOMEM, shadow_expand_downwards(mm, stack, LOW(11)));
	harness_limits.stack_bytes = RLIM_INFINITY;
	/* RLIMIT_AS */
	harness_limits.as_pages = 10;
	ASSERT_EQ(-ENOMEM, shadow_expand_downwards(mm, stack, LOW(9)));
	harness_limits.as_pages = ULONG_MAX;
	/* RLIMIT_MEMLOCK for a locked stack */
	stack->vm_flags |= VM_LOCKED;
	mm->locked_vm = 8;
	harness_limits.memlock_pages = 9;
	ASSERT_EQ(-ENOMEM, shadow_expand_downwards(mm, stack, LOW(10)));
	harness_limits.memlock_pages = 10;
	ASSERT_EQ(0, shadow_expand_downwards(mm, stack, LOW(10)));
	ASSERT_EQ(10, mm->locked_vm);
	stack->vm_flags &= ~VM_LOCKED;
	mm->locked_vm = 0;
	/* mmap_min_addr */
	ASSERT_EQ(-EPERM, shadow_expand_downwards(mm, stack, LOW(0) - 1));
	ASSERT_EQ(0, shadow_expand_downwards(mm, stack, LOW(0)));
	/* A failed anon_vma_prepare() grows nothing. */
	stack = add_vma(mm, A(100), A(104), VMF_STACK, PGOFF(100));
	harness_fail_alloc(1, true);
	ASSERT_EQ(-ENOMEM, shadow_expand_downwards(mm, stack, A(90)));
	harness_fail_alloc(0, false);
	CHECK_LAYOUT(mm, { LOW(0), LOW(20), LOW(0) >> PAGE_SHIFT },
		     { A(100), A(104), PGOFF(100), VMF_STACK, stack });
	ASSERT_EQ(NULL, stack->anon_vma);
}

/*
 * copy_vma(): the destination of an mremap move merges with a neighbour
 * when it can; a VMA never faulted in takes the destination's pgoff for
 * it, and may merge with itself unless MREMAP_DONTUNMAP keeps it (6.1's
 * rule; 6.12 merges then too: SHADOW_RULE_DONTUNMAP_NO_SELF_MERGE).
 */
TEST_F(vma, copy_vma)
{
	struct shadow_mm *mm = self->mm;
	struct shadow_vma *vma, *src, *new, *nbr;

	/* Faulted: a copy with the same anon_vma and pgoff. */
	src = add_vma(mm, A(0), A(4), VMF_RW, PGOFF(0));
	harness_set_anon_vma(src, AV1);
	vma = src;
	new = shadow_copy_vma(&vma, A(20), 4 * PG, PGOFF(0), false);
	ASSERT_NE(NULL, new);
	ASSERT_EQ(src, vma);
	ASSERT_EQ(AV1, new->anon_vma);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(0), A(4), PGOFF(0), VMF_RW, src },
		     { A(20), A(24), PGOFF(0), VMF_RW, new });
	ASSERT_EQ(0, shadow_do_munmap(mm, A(0), 4 * PG));

	/* Unfaulted, next to a neighbour: merged, pgoff of the place. */
	nbr = add_vma(mm, A(40), A(44), VMF_RW, PGOFF(40));
	src = add_vma(mm, A(60), A(64), VMF_RW, PGOFF(60));
	vma = src;
	new = shadow_copy_vma(&vma, A(44), 4 * PG, PGOFF(60), false);
	ASSERT_EQ(nbr, new);
	ASSERT_EQ(src, vma);
	account(mm, VMF_RW, 4);
	CHECK_LAYOUT(mm, { A(20), A(24), PGOFF(0), VMF_RW },
		     { A(40), A(48), PGOFF(40), VMF_RW, nbr },
		     { A(60), A(64), PGOFF(60), VMF_RW, src });

	/* Unfaulted, next to itself: it merges with itself... */
	new = shadow_copy_vma(&vma, A(64), 2 * PG, PGOFF(60), false);
	ASSERT_EQ(src, new);
	ASSERT_EQ(src, vma);
	account(mm, VMF_RW, 2);
	CHECK_LAYOUT(mm, { A(20), A(24) }, { A(40), A(48) },
		     { A(60), A(66), PGOFF(60), VMF_RW, src });
	/* ...unless it stays (MREMAP_DONTUNMAP), on 6.1. */
	new = shadow_copy_vma(&vma, A(66), 2 * PG, PGOFF(60), true);
	account(mm, VMF_RW, 2);
	if (SHADOW_RULE_DONTUNMAP_NO_SELF_MERGE) {
		ASSERT_NE(src, new);
		CHECK_LAYOUT(mm, { A(20), A(24) }, { A(40), A(48) },
			     { A(60), A(66), PGOFF(60), VMF_RW, src },
			     { A(66), A(68), PGOFF(66), VMF_RW, new });
	} else {
		ASSERT_EQ(src, new);
		CHECK_LAYOUT(mm, { A(20), A(24) }, { A(40), A(48) },
			     { A(60), A(68), PGOFF(60), VMF_RW, src });
	}

	/* A failed allocation: nothing. */
	harness_fail_alloc(1, true);
	ASSERT_EQ(NULL, shadow_copy_vma(&vma, A(100), PG, PGOFF(60), false));
	harness_fail_alloc(0, false);
	if (SHADOW_RULE_DONTUNMAP_NO_SELF_MERGE)
		CHECK_LAYOUT(mm, { A(20), A(24) }, { A(40), A(48) },
			     { A(60), A(66) }, { A(66), A(68) });
	else
		CHECK_LAYOUT(mm, { A(20), A(24) }, { A(40), A(48) },
			     { A(60), A(68) });
}

/* exit_mmap: one unmap of everything, and every object freed. */
TEST_F(vma, exit_mmap)
{
	struct shadow_mm *mm = self->mm;

	harness_limits.cap_ipc_lock = true;
	ASSERT_EQ(A(0), do_mmap(mm, A(0), 2 * PG, PROT_READ, MAP_FPA));
	ASSERT_EQ(A(4), do_mmap(mm, A(4), 3 * PG, PROT_READ | PROT_WRITE,
				MAP_SA | MAP_FIXED));
	ASSERT_EQ(A(8), do_mmap(mm, A(8), 4 * PG, PROT_READ,
				MAP_FPA | MAP_LOCKED));
	ASSERT_EQ(0, shadow_split_vma(mm, shadow_find_vma(mm, A(4)), A(5),
				      0));
	ASSERT_EQ(1, harness_counters.live_shmem);
	harness_record_reset();
	shadow_exit_mmap(mm);
	ASSERT_EQ(2, harness_record.nr_calls);
	CHECK_UNMAP(0, 0, ULONG_MAX, 0, 0, 4, 9);
	ASSERT_EQ(A(0), harness_record.calls[0].first_start);
	ASSERT_EQ(A(12), harness_record.calls[0].last_end);
	ASSERT_EQ(0, harness_counters.live_shmem);
	ASSERT_EQ(0, harness_counters.live_vmas);
	ASSERT_EQ(0, harness_counters.live_nodes);
	ASSERT_EQ(0, mm->locked_vm);
	ASSERT_EQ(0, mm->total_vm);
	ASSERT_EQ(0, mm->map_count);
}

/*
 * Allocation failures: every allocation a call makes (VMAs, shared
 * backings, maple nodes) is made to fail in turn, n = 1, 2, ... until the
 * call gets through. A call that fails returns -ENOMEM and leaves a valid
 * tree mapping the same pages with the same attributes (like Linux 6.1,
 * munmap keeps a first split when a later step fails; MAP_FIXED may have
 * unmapped its range already); nothing leaks.
 *
 * Each case runs with the module's tree flags and with Linux 6.1's
 * MM_MT_FLAGS, which add MT_FLAGS_USE_RCU: in RCU mode the maple tree
 * copies the nodes it changes instead of changing them in place, so it
 * allocates on most stores.
 */
struct snap_vma {
	unsigned long start, end, flags, pgoff;
	struct shadow_address_space *shmem;
	void *anon_vma;
};

struct snapshot {
	int n;
	struct snap_vma v[1024];
};

static void snapshot(struct shadow_mm *mm, struct snapshot *s)
{
	struct shadow_vma *vma;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	s->n = 0;
	mas_for_each(&mas, vma, ULONG_MAX) {
		if (s->n == NR(s->v))
			abort();
		s->v[s->n++] = (struct snap_vma){
			.start = vma->vm_start,
			.end = vma->vm_end,
			.flags = vma->vm_flags,
			.pgoff = vma->vm_pgoff,
			.shmem = vma->vm_mapping,
			.anon_vma = vma->anon_vma,
		};
	}
}

/* The VMA of @s holding @addr, or -1. */
static int snap_find(const struct snapshot *s, unsigned long addr)
{
	int lo = 0, hi = s->n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (addr < s->v[mid].start)
			hi = mid;
		else if (addr >= s->v[mid].end)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

static bool same_page(const struct snapshot *a, int i,
		      const struct snapshot *b, int j, unsigned long addr,
		      bool check_shmem)
{
	return a->v[i].flags == b->v[j].flags &&
	       a->v[i].pgoff + ((addr - a->v[i].start) >> PAGE_SHIFT) ==
	       b->v[j].pgoff + ((addr - b->v[j].start) >> PAGE_SHIFT) &&
	       (!check_shmem || a->v[i].shmem == b->v[j].shmem) &&
	       !a->v[i].shmem == !b->v[j].shmem &&
	       a->v[i].anon_vma == b->v[j].anon_vma;
}

/*
 * Pages of @after against @before: the same, page by page, except that
 * [hole_start, hole_end) may be unmapped as a whole in @after.
 */
static void check_pages(struct __test_metadata *_metadata,
			const struct snapshot *before,
			const struct snapshot *after,
			unsigned long hole_start, unsigned long hole_end,
			bool check_shmem)
{
	unsigned long addr, in_hole = 0, in_hole_after = 0;
	int i, j;

	for (i = 0; i < before->n; i++) {
		for (addr = before->v[i].start; addr < before->v[i].end;
		     addr += PG) {
			bool hole = addr >= hole_start && addr < hole_end;

			j = snap_find(after, addr);
			in_hole += hole;
			in_hole_after += hole && j >= 0;
			if (j < 0 && hole)
				continue;
			ASSERT_LE(0, j) {
				TH_LOG("page %#lx was lost", addr);
			}
			ASSERT_TRUE(same_page(before, i, after, j, addr,
					      check_shmem)) {
				TH_LOG("page %#lx changed", addr);
			}
		}
	}
	for (j = 0; j < after->n; j++) {
		for (addr = after->v[j].start; addr < after->v[j].end;
		     addr += PG) {
			ASSERT_LE(0, snap_find(before, addr)) {
				TH_LOG("page %#lx appeared", addr);
			}
		}
	}
	if (in_hole_after)
		ASSERT_EQ(in_hole, in_hole_after);
}

/* Boundaries, flags and pgoffs exactly as expected. */
static void check_snapshot(struct __test_metadata *_metadata,
			   const struct snapshot *exp,
			   const struct snapshot *seen)
{
	int i;

	ASSERT_EQ(exp->n, seen->n);
	for (i = 0; i < exp->n; i++) {
		ASSERT_EQ(exp->v[i].start, seen->v[i].start);
		ASSERT_EQ(exp->v[i].end, seen->v[i].end);
		ASSERT_EQ(exp->v[i].flags, seen->v[i].flags);
		ASSERT_EQ(exp->v[i].pgoff, seen->v[i].pgoff);
		ASSERT_EQ(!exp->v[i].shmem, !seen->v[i].shmem);
	}
}

struct fail_case {
	void (*setup)(struct shadow_mm *mm);
	long (*op)(struct shadow_mm *mm);
	/* what a failed call may have unmapped */
	unsigned long hole_start, hole_end;
	/* the layout once the call succeeds */
	struct exp final[4];
	int nr_final;
	/* or: the layout once it succeeds, from the one before */
	void (*final_fn)(const struct snapshot *before,
			 struct snapshot *final);
	/* only moves a boundary: may not allocate even in RCU mode */
	bool in_place;
};

static void exp_snapshot(const struct exp *exp, int n, struct snapshot *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < n; i++) {
		s->v[i].start = exp[i].start;
		s->v[i].end = exp[i].end;
		s->v[i].flags = exp[i].flags;
		s->v[i].pgoff = exp[i].pgoff;
		s->v[i].shmem = exp[i].flags & VM_SHARED ? (void *)1 : NULL;
	}
	s->n = n;
}

/* Linux 6.1's MM_MT_FLAGS, for the trees these tests make */
static unsigned int fail_mt_flags;

static struct shadow_mm *fail_mm_alloc(void)
{
	struct shadow_mm *mm = harness_mm_alloc();

	if (fail_mt_flags)
		mt_init_flags(&mm->mm_mt, fail_mt_flags);
	return mm;
}

/*
 * @persistent: every allocation from the n-th on fails, so the call fails
 * as soon as it reaches it. Otherwise only the n-th: the call may recover
 * (the maple tree retries a failed non-blocking allocation, mmap_region()
 * inserts a new VMA when growing a neighbour fails), so when it succeeds
 * the layout has the same pages as the expected one, perhaps not merged.
 *
 * Return: how many allocations the call makes when none fails.
 */
static int run_fail_case(struct __test_metadata *_metadata,
			 const struct fail_case *fc, bool persistent)
{
	static struct snapshot before, after, final;
	unsigned long injected, livelocks;
	bool livelocked;
	struct shadow_mm *mm;
	long ret;
	int n;

	for (n = 1; n < 10000; n++) {
		mm = fail_mm_alloc();
		fc->setup(mm);
		snapshot(mm, &before);
		if (fc->final_fn)
			fc->final_fn(&before, &final);
		else
			exp_snapshot(fc->final, fc->nr_final, &final);
		injected = harness_counters.nr_injected;
		livelocks = harness_counters.nr_livelocks;
		harness_fail_alloc(n, persistent);
		ret = fc->op(mm);
		harness_fail_alloc(0, false);
		injected = harness_counters.nr_injected - injected;
		livelocked = harness_counters.nr_livelocks != livelocks;

		ASSERT_EQ(0, shadow_validate_mm(mm)) {
			TH_LOG("n = %d", n);
		}
		ASSERT_EQ(0, harness_mt_validate(mm)) {
			TH_LOG("n = %d", n);
		}
		ASSERT_EQ(mm->map_count, harness_counters.live_vmas);
		snapshot(mm, &after);
		if (ret) {
			ASSERT_EQ(-ENOMEM, ret) {
				TH_LOG("n = %d", n);
			}
			ASSERT_NE(0, injected);
			check_pages(_metadata, &before, &after, fc->hole_start,
				    fc->hole_end, true);
		} else if (persistent || !injected) {
			/* see store_fails_cleanly_under_persistent_enomem */
			if (!livelocked)
				ASSERT_EQ(0, injected);
			check_snapshot(_metadata, &final, &after);
		} else {
			check_pages(_metadata, &final, &after, 0, 0, false);
		}
		check_exit(_metadata, mm);
		harness_mm_free(mm);
		if (!injected)
			break;
	}
	ASSERT_GT(10000, n);
	return n - 1;
}

static void run_fail_cases(struct __test_metadata *_metadata,
			   const struct fail_case *fc)
{
	int points;

	fail_mt_flags = 0;
	points = run_fail_case(_metadata, fc, true);
	ASSERT_EQ(points, run_fail_case(_metadata, fc, false));

	fail_mt_flags = MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN |
			MT_FLAGS_USE_RCU;
	points = run_fail_case(_metadata, fc, true);
	/* In RCU mode every case here but a pivot move allocates. */
	ASSERT_LT(fc->in_place ? -1 : 0, points);
	ASSERT_EQ(points, run_fail_case(_metadata, fc, false));
	fail_mt_flags = 0;
}

static void setup_one_10(struct shadow_mm *mm)
{
	if (do_mmap(mm, A(0), 10 * PG, PROT_READ | PROT_WRITE, MAP_FPA) !=
	    A(0))
		abort();
}

static long op_munmap_3_5(struct shadow_mm *mm)
{
	return shadow_do_munmap(mm, A(3), 2 * PG);
}

/*   OOOOOOOOOO -> OOO  OOOOO    both ends split */
TEST(fail_munmap_split_both)
{
	static const struct fail_case fc = {
		.setup = setup_one_10,
		.op = op_munmap_3_5,
		.final = { { A(0), A(3), PGOFF(0), VMF_RW },
			   { A(5), A(10), PGOFF(5), VMF_RW } },
		.nr_final = 2,
	};

	run_fail_cases(_metadata, &fc);
}

static void setup_four(struct shadow_mm *mm)
{
	do_mmap(mm, A(0), 2 * PG, PROT_READ, MAP_FPA);
	do_mmap(mm, A(3), 2 * PG, PROT_READ | PROT_WRITE, MAP_FPA);
	do_mmap(mm, A(6), 2 * PG, PROT_READ, MAP_FPA);
	do_mmap(mm, A(9), 3 * PG, PROT_READ | PROT_WRITE, MAP_FPA);
	if (mm->map_count != 4)
		abort();
}

static long op_munmap_1_10(struct shadow_mm *mm)
{
	return shadow_do_munmap(mm, A(1), 9 * PG);
}

static long op_munmap_3_8(struct shadow_mm *mm)
{
	return shadow_do_munmap(mm, A(3), 5 * PG);
}

/*   RR WW RR WWW -> R         WW */
TEST(fail_munmap_many)
{
	static const struct fail_case fc = {
		.setup = setup_four,
		.op = op_munmap_1_10,
		.final = { { A(0), A(1), PGOFF(0), VMF_R },
			   { A(10), A(12), PGOFF(10), VMF_RW } },
		.nr_final = 2,
	};

	run_fail_cases(_metadata, &fc);
}

/*   RR WW RR WWW -> RR       WWW    no split, only the detach */
TEST(fail_munmap_whole_vmas)
{
	static const struct fail_case fc = {
		.setup = setup_four,
		.op = op_munmap_3_8,
		.final = { { A(0), A(2), PGOFF(0), VMF_R },
			   { A(9), A(12), PGOFF(9), VMF_RW } },
		.nr_final = 2,
	};

	run_fail_cases(_metadata, &fc);
}

static void setup_w4_r4(struct shadow_mm *mm)
{
	do_mmap(mm, A(0), 4 * PG, PROT_READ | PROT_WRITE, MAP_FPA);
	do_mmap(mm, A(4), 4 * PG, PROT_READ, MAP_FPA);
	if (mm->map_count != 2)
		abort();
}

static long mmap_ret(unsigned long ret)
{
	return IS_ERR_VALUE(ret) ? (long)ret : 0;
}

static long op_mmap_rx_2_6(struct shadow_mm *mm)
{
	return mmap_ret(do_mmap(mm, A(2), 4 * PG, PROT_READ | PROT_EXEC,
				MAP_FPA));
}

static long op_mmap_shared_2_6(struct shadow_mm *mm)
{
	return mmap_ret(do_mmap(mm, A(2), 4 * PG, PROT_READ | PROT_WRITE,
				MAP_SA | MAP_FIXED));
}

/*   WWWWRRRR -> WWXXXXRR    MAP_FIXED over two VMAs */
TEST(fail_mmap_fixed_over_two)
{
	static const struct fail_case fc = {
		.setup = setup_w4_r4,
		.op = op_mmap_rx_2_6,
		.hole_start = A(2),
		.hole_end = A(6),
		.final = { { A(0), A(2), PGOFF(0), VMF_RW },
			   { A(2), A(6), PGOFF(2), VMF_RX },
			   { A(6), A(8), PGOFF(6), VMF_R } },
		.nr_final = 3,
	};

	run_fail_cases(_metadata, &fc);
}

/*   WWWWRRRR -> WWSSSSRR    the same, shared: a backing to allocate too */
TEST(fail_mmap_fixed_shared)
{
	static const struct fail_case fc = {
		.setup = setup_w4_r4,
		.op = op_mmap_shared_2_6,
		.hole_start = A(2),
		.hole_end = A(6),
		.final = { { A(0), A(2), PGOFF(0), VMF_RW },
			   { A(2), A(6), 0, VMF_SHARED_RW },
			   { A(6), A(8), PGOFF(6), VMF_R } },
		.nr_final = 3,
	};

	run_fail_cases(_metadata, &fc);
}

static void setup_w4_hole_w4(struct shadow_mm *mm)
{
	do_mmap(mm, A(0), 4 * PG, PROT_READ | PROT_WRITE, MAP_FPA);
	do_mmap(mm, A(8), 4 * PG, PROT_READ | PROT_WRITE, MAP_FPA);
	if (mm->map_count != 2)
		abort();
}

static long op_mmap_rw_4_8(struct shadow_mm *mm)
{
	return mmap_ret(do_mmap(mm, A(4), 4 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
}

static long op_mmap_rw_4_6(struct shadow_mm *mm)
{
	return mmap_ret(do_mmap(mm, A(4), 2 * PG, PROT_READ | PROT_WRITE,
				MAP_FPA));
}

/*   WWWW____WWWW -> WWWWWWWWWWWW    mmap fills the hole, three merge */
TEST(fail_mmap_merge_hole)
{
	static const struct fail_case fc = {
		.setup = setup_w4_hole_w4,
		.op = op_mmap_rw_4_8,
		.hole_start = A(4),
		.hole_end = A(8),
		.final = { { A(0), A(12), PGOFF(0), VMF_RW } },
		.nr_final = 1,
	};

	run_fail_cases(_metadata, &fc);
}

/*
 *   WWWWWWWWWW -> WWWWWWWWWW    MAP_FIXED with the same flags: split,
 *                               unmap, merge back
 */
TEST(fail_mmap_fixed_remerge)
{
	static const struct fail_case fc = {
		.setup = setup_one_10,
		.op = op_mmap_rw_4_6,
		.hole_start = A(4),
		.hole_end = A(6),
		.final = { { A(0), A(10), PGOFF(0), VMF_RW } },
		.nr_final = 1,
	};

	run_fail_cases(_metadata, &fc);
}

static void setup_w_r_w(struct shadow_mm *mm)
{
	add_vma(mm, A(0), A(4), VMF_RW, Q(0));
	add_vma(mm, A(4), A(8), VMF_R, Q(4));
	add_vma(mm, A(8), A(12), VMF_RW, Q(8));
}

/* An mprotect of [start, end) (within one VMA) to @flags, by merge only. */
static long mprotect_merge(struct shadow_mm *mm, unsigned long start,
			   unsigned long end, unsigned long flags)
{
	struct shadow_vma *vma = shadow_find_vma(mm, start), *prev, *ret;
	unsigned long pgoff = vma->vm_pgoff +
			      ((start - vma->vm_start) >> PAGE_SHIFT);
	unsigned long old_flags = vma->vm_flags;

	prev = start > vma->vm_start ? vma : shadow_vma_prev(mm, vma);
	ret = shadow_vma_merge(mm, prev, start, end, flags, vma->anon_vma,
			       vma->vm_mapping, pgoff);
	if (!ret)
		return -ENOMEM;
	account(mm, old_flags, -(long)((end - start) >> PAGE_SHIFT));
	account(mm, flags, (end - start) >> PAGE_SHIFT);
	return 0;
}

static long op_case6(struct shadow_mm *mm)
{
	return mprotect_merge(mm, A(4), A(8), VMF_RW);
}

static long op_case4(struct shadow_mm *mm)
{
	return mprotect_merge(mm, A(2), A(4), VMF_R);
}

static long op_case5(struct shadow_mm *mm)
{
	return mprotect_merge(mm, A(4), A(6), VMF_RW);
}

/*   WWWWRRRRWWWW -> WWWWWWWWWWWW    vma_merge case 6 */
TEST(fail_merge_case6)
{
	static const struct fail_case fc = {
		.setup = setup_w_r_w,
		.op = op_case6,
		.final = { { A(0), A(12), Q(0), VMF_RW } },
		.nr_final = 1,
	};

	run_fail_cases(_metadata, &fc);
}

/*   WWWWRRRRWWWW -> WWRRRRRRWWWW    vma_merge case 4 */
TEST(fail_merge_case4)
{
	static const struct fail_case fc = {
		.setup = setup_w_r_w,
		.op = op_case4,
		.in_place = true,
		.final = { { A(0), A(2), Q(0), VMF_RW },
			   { A(2), A(8), Q(2), VMF_R },
			   { A(8), A(12), Q(8), VMF_RW } },
		.nr_final = 3,
	};

	run_fail_cases(_metadata, &fc);
}

/*   WWWWRRRRWWWW -> WWWWWWRRWWWW    vma_merge case 5 */
TEST(fail_merge_case5)
{
	static const struct fail_case fc = {
		.setup = setup_w_r_w,
		.op = op_case5,
		.in_place = true,
		.final = { { A(0), A(6), Q(0), VMF_RW },
			   { A(6), A(8), Q(6), VMF_R },
			   { A(8), A(12), Q(8), VMF_RW } },
		.nr_final = 3,
	};

	run_fail_cases(_metadata, &fc);
}

static long op_split_5(struct shadow_mm *mm)
{
	return shadow_split_vma(mm, shadow_find_vma(mm, A(0)), A(5), 1);
}

TEST(fail_split)
{
	static const struct fail_case fc = {
		.setup = setup_one_10,
		.op = op_split_5,
		.final = { { A(0), A(5), PGOFF(0), VMF_RW },
			   { A(5), A(10), PGOFF(5), VMF_RW } },
		.nr_final = 2,
	};

	run_fail_cases(_metadata, &fc);
}

/*
 * 120 VMAs of 2 pages, alternately R and X, 1 page apart: a maple tree of
 * several levels. The munmap splits one at each end and detaches 49.
 */
#define DEEP_START	A(100)
#define DEEP_END	A(250)

static void setup_deep(struct shadow_mm *mm)
{
	int i;

	for (i = 0; i < 120; i++)
		if (do_mmap(mm, A(3 * i), 2 * PG,
			    i % 2 ? PROT_READ : PROT_EXEC,
			    MAP_FPA) != A(3 * i))
			abort();
}

static long op_munmap_deep(struct shadow_mm *mm)
{
	return shadow_do_munmap(mm, DEEP_START, DEEP_END - DEEP_START);
}

/* [start, end) unmapped from a snapshot: the munmap the tests expect */
static void snap_unmap(const struct snapshot *before, struct snapshot *s,
		       unsigned long start, unsigned long end)
{
	int i;

	s->n = 0;
	for (i = 0; i < before->n; i++) {
		struct snap_vma v = before->v[i];

		if (v.start < start)
			s->v[s->n++] = (struct snap_vma){
				v.start, min(v.end, start), v.flags, v.pgoff,
				v.shmem, v.anon_vma };
		if (v.end > end)
			s->v[s->n++] = (struct snap_vma){
				max(v.start, end), v.end, v.flags,
				v.pgoff + ((max(v.start, end) - v.start) >>
					   PAGE_SHIFT),
				v.shmem, v.anon_vma };
	}
}

static void final_deep(const struct snapshot *before, struct snapshot *s)
{
	snap_unmap(before, s, DEEP_START, DEEP_END);
}

TEST(fail_munmap_deep_tree)
{
	static const struct fail_case fc = {
		.setup = setup_deep,
		.op = op_munmap_deep,
		.final_fn = final_deep,
	};

	run_fail_cases(_metadata, &fc);
}

static long op_mmap_deep(struct shadow_mm *mm)
{
	return mmap_ret(do_mmap(mm, DEEP_START, DEEP_END - DEEP_START,
				PROT_READ | PROT_WRITE, MAP_FPA));
}

static void final_mmap_deep(const struct snapshot *before,
			    struct snapshot *s)
{
	int i;

	snap_unmap(before, s, DEEP_START, DEEP_END);
	/* The new VMA goes where the hole is; no neighbour touches it. */
	for (i = s->n; i > 0 && s->v[i - 1].start >= DEEP_END; i--)
		s->v[i] = s->v[i - 1];
	s->v[i] = (struct snap_vma){ DEEP_START, DEEP_END, VMF_RW,
				     DEEP_START >> PAGE_SHIFT };
	s->n++;
}

TEST(fail_mmap_deep_tree)
{
	static const struct fail_case fc = {
		.setup = setup_deep,
		.op = op_mmap_deep,
		.hole_start = DEEP_START,
		.hole_end = DEEP_END,
		.final_fn = final_mmap_deep,
	};

	run_fail_cases(_metadata, &fc);
}

/*
 * Linux 6.1 changes the VMA tree with mas_preallocate() and then
 * mas_store_prealloc(): when the preallocation fails, the call returns
 * -ENOMEM. mas_store_gfp()'s mas_nomem() loop instead retries for as long
 * as its last round got at least one node, so when allocations keep failing
 * after a partial success it never returns; the engine stores through
 * shadow_mas_store(), which gives up after a bounded number of waits.
 * Here: munmap's first split, in a tree of 120 VMAs, with every allocation
 * failing from the third on: a clean -ENOMEM, not a livelock.
 */
TEST(store_fails_cleanly_under_persistent_enomem)
{
	struct shadow_mm *mm = harness_mm_alloc();
	int ret;

	setup_deep(mm);
	harness_fail_alloc(3, true);
	ret = shadow_do_munmap(mm, DEEP_START, DEEP_END - DEEP_START);
	harness_fail_alloc(0, false);
	EXPECT_EQ(0, harness_counters.nr_livelocks) {
		TH_LOG("still retrying after %d failed allocations",
		       HARNESS_LIVELOCK_RETRIES);
	}
	EXPECT_EQ(-ENOMEM, ret);
	check_exit(_metadata, mm);
	harness_mm_free(mm);
}

TEST_HARNESS_MAIN
