// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim and the shadow swap device (SHADOW_MM_FEATURE_SWAP): contents
 * that survive swap-out and swap-in, in one address space and across fork;
 * page_referenced's young bits (a young page is skipped once, taken the
 * second time; one in a MADV_SEQUENTIAL VMA is taken the first time); the
 * dirty bit that moves to the page (a clean page still
 * in the swap cache is dropped without a write); do_swap_page's sharing
 * and write protection; shared anonymous pages that go back to their
 * object; mlocked pages skipped; swap slots freed at munmap, MADV_DONTNEED,
 * exit and close, in every order; SHADOW_DEV_RECLAIM over several spaces;
 * every path that meets a swap entry (mprotect, mremap, fork, populate,
 * mlock, forced access); bad input.
 *
 * Each result is checked exactly: the reclaim's out_ counters, the page
 * walk's records (SHADOW_PAGE_SWAP entries with their slot ids, swap
 * counts and exclusive bits, SHADOW_PAGE_SWAPCACHE pages), the contents
 * against a copy the test keeps, SHADOW_MM_GET_STATS and the module's
 * debugfs counters (swap_slots, swap_pages, pages, anon_vmas back to their
 * baseline in every teardown). Without real swap /proc/self/pagemap shows
 * no swap entries, so the real kernel serves as the oracle only for
 * argument errors (MADV_PAGEOUT's, which checks a range as reclaim does).
 *
 * Every test skips when the module does not announce
 * SHADOW_MM_FEATURE_SWAP.
 */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define MAXPG	64

/* The flags a walk record's state is judged by. */
#define STATE	(SHADOW_PAGE_PRESENT | SHADOW_PAGE_SWAP | \
		 SHADOW_PAGE_SWAPCACHE | SHADOW_PAGE_ANON_EXCLUSIVE | \
		 SHADOW_PAGE_WRITE | SHADOW_PAGE_SHMEM | SHADOW_PAGE_ZERO)
#define P	SHADOW_PAGE_PRESENT
#define SW	SHADOW_PAGE_SWAP
#define SC	SHADOW_PAGE_SWAPCACHE
#define EX	SHADOW_PAGE_ANON_EXCLUSIVE
#define WR	SHADOW_PAGE_WRITE

FIXTURE(swap) {
	int dev;
	int mfd;
	bool no_swap;
	struct shadow_counts before;
};

FIXTURE_SETUP(swap)
{
	self->before = shadow_counts();
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->no_swap = !(shadow_features(self->dev) &
			  SHADOW_MM_FEATURE_SWAP);
	self->mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(swap)
{
	if (self->mfd >= 0)
		close(self->mfd);
	close(self->dev);
	/* Every slot, store page, page and anon_vma is back. */
	shadow_expect_counts(_metadata, self->before);
}

/* 6.1's harness runs the body after a SKIP in the setup: skip there. */
#define NO_SWAP		"the module has no SHADOW_MM_FEATURE_SWAP"

/* Bytes that differ from page to page and from run to run of a seed. */
static void fill_random(void *buf, size_t len, __u64 seed)
{
	__u64 s = seed * 0x9e3779b97f4a7c15ULL + 1, *p = buf;
	size_t i;

	for (i = 0; i < len / 8; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		p[i] = s;
	}
}

static void write_bytes(struct __test_metadata *_metadata, int mfd,
			unsigned long addr, const void *buf, size_t len)
{
	ASSERT_EQ((long)len, _shadow_access(mfd, addr, (void *)buf, len,
					    SHADOW_ACCESS_WRITE));
}

/* The space holds @want at [@addr, @addr + @len): read as a process would. */
static void expect_bytes(struct __test_metadata *_metadata, int mfd,
			 unsigned long addr, const void *want, size_t len)
{
	unsigned char *got = malloc(len);
	size_t i;

	ASSERT_NE(NULL, got);
	memset(got, 0xa5, len);
	ASSERT_EQ((long)len, _shadow_access(mfd, addr, got, len, 0));
	if (memcmp(got, want, len)) {
		for (i = 0; got[i] == ((const unsigned char *)want)[i]; i++)
			;
		EXPECT_EQ(((const unsigned char *)want)[i], got[i])
			TH_LOG("contents differ at %#lx", addr + i);
	}
	free(got);
}

static void walk(struct __test_metadata *_metadata, int mfd,
		 unsigned long addr, unsigned long n,
		 struct shadow_page_info *pg)
{
	memset(pg, 0x5a, n * sizeof(*pg));
	ASSERT_EQ(0, _shadow_walk(mfd, addr, n, pg));
}

/*
 * Every record of [@from, @to) has @state (of STATE) and @mapcount (-1:
 * any; the zero page's is not the engine's to count).
 */
static void expect_state(struct __test_metadata *_metadata,
			 const struct shadow_page_info *pg, int from, int to,
			 unsigned int state, int mapcount)
{
	int i;

	for (i = from; i < to; i++) {
		EXPECT_EQ(state, pg[i].flags & STATE)
			TH_LOG("page %d: flags %#x", i, pg[i].flags);
		if (mapcount >= 0)
			EXPECT_EQ(mapcount, (int)pg[i].mapcount)
				TH_LOG("page %d", i);
	}
}

/* What a reclaim must have written back. */
struct want {
	__u64 scanned, referenced, locked, busy, unmapped, swapped_out;
	__u64 shmem, written, reclaimed;
};

static void expect_out(struct __test_metadata *_metadata,
		       const struct shadow_mm_reclaim *r, struct want w)
{
	EXPECT_EQ(w.scanned, r->out_scanned);
	EXPECT_EQ(w.referenced, r->out_referenced);
	EXPECT_EQ(w.locked, r->out_locked);
	EXPECT_EQ(w.busy, r->out_busy);
	EXPECT_EQ(w.unmapped, r->out_unmapped);
	EXPECT_EQ(w.swapped_out, r->out_swapped_out);
	EXPECT_EQ(w.shmem, r->out_shmem);
	EXPECT_EQ(w.written, r->out_written);
	EXPECT_EQ(w.reclaimed, r->out_reclaimed);
}

static struct shadow_mm_reclaim reclaim(struct __test_metadata *_metadata,
					int mfd, unsigned int flags,
					unsigned long addr, unsigned long len)
{
	struct shadow_mm_reclaim r;

	EXPECT_EQ(0, _shadow_reclaim(mfd, flags, addr, len, &r));
	return r;
}

/*
 * Age [@addr, @addr + @len) (every young bit cleared), then reclaim it:
 * what the second pass wrote back.
 */
static struct shadow_mm_reclaim age_reclaim(struct __test_metadata *_metadata,
					    int mfd, unsigned long addr,
					    unsigned long len)
{
	reclaim(_metadata, mfd, SHADOW_RECLAIM_AGE, addr, len);
	return reclaim(_metadata, mfd, 0, addr, len);
}

/* A debugfs counter's distance from the fixture's baseline. */
#define DELTA(name)	(shadow_counter(#name) - self->before.name)

/*
 * 64 pages of random bytes swapped out and back: the walk shows a swap
 * entry per page (its own slot, the exclusive bit, swap count 1), then the
 * same contents in pages that stay in the swap cache after a read fault;
 * each swap-in is a major fault.
 */
TEST_F(swap, contents_survive)
{
	const int n = MAXPG;
	struct shadow_page_info pg[MAXPG], sw[MAXPG], in[MAXPG];
	unsigned char *data = malloc(n * PAGE);
	struct shadow_mm_reclaim r;
	struct shadow_mm_stats st;
	__u64 nr = 0;
	int i, j;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_NE(NULL, data);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, n * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, n * PAGE, 1);
	write_bytes(_metadata, self->mfd, BASE, data, n * PAGE);
	walk(_metadata, self->mfd, BASE, n, pg);
	expect_state(_metadata, pg, 0, n, P | WR | EX, 1);

	/* Aging only clears the young bits. */
	r = reclaim(_metadata, self->mfd, SHADOW_RECLAIM_AGE, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .referenced = n });
	walk(_metadata, self->mfd, BASE, n, sw);
	expect_state(_metadata, sw, 0, n, P | WR | EX, 1);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, sw[i].flags & SHADOW_PAGE_YOUNG);
		EXPECT_EQ(pg[i].page_id, sw[i].page_id);
	}

	r = reclaim(_metadata, self->mfd, 0, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .unmapped = n, .swapped_out = n, .written = n,
		.reclaimed = n });
	walk(_metadata, self->mfd, BASE, n, sw);
	expect_state(_metadata, sw, 0, n, SW | EX, 1);
	for (i = 0; i < n; i++) {
		EXPECT_NE(0, sw[i].page_id);
		for (j = 0; j < n; j++) {
			EXPECT_NE(pg[j].page_id, sw[i].page_id);
			if (j != i)
				EXPECT_NE(sw[j].page_id, sw[i].page_id);
		}
	}
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(n, st.out_swapents);
	EXPECT_EQ(n, st.out_swapouts);
	EXPECT_EQ(0, st.out_swapins);
	EXPECT_EQ(0, st.out_rss_anon);
	EXPECT_EQ(0, st.out_maj_flt);
	EXPECT_EQ(n, DELTA(swap_slots));
	EXPECT_EQ(n, DELTA(swap_pages));

	/* Read faults bring every page back: major faults, swap-ins. */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, n * PAGE, 0, &nr));
	EXPECT_EQ(n, nr);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_swapents);
	EXPECT_EQ(n, st.out_swapins);
	EXPECT_EQ(n, st.out_maj_flt);
	EXPECT_EQ(n, st.out_rss_anon);
	walk(_metadata, self->mfd, BASE, n, in);
	/* Exclusive, read-only, still in the swap cache (its slot kept). */
	expect_state(_metadata, in, 0, n, P | SC | EX, 1);
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			EXPECT_NE(sw[j].page_id, in[i].page_id);
	EXPECT_EQ(n, DELTA(swap_slots));
	EXPECT_EQ(n, DELTA(swap_pages));
	expect_bytes(_metadata, self->mfd, BASE, data, n * PAGE);
	/* Nothing faulted again. */
	EXPECT_EQ(n, shadow_stats(_metadata, self->mfd).out_maj_flt);
	free(data);
}

/*
 * A write fault on a swap entry maps the page writable and dirty at once
 * (do_swap_page), and frees its slot (should_try_to_free_swap()).
 */
TEST_F(swap, write_fault_swapin)
{
	struct shadow_page_info pg[2];
	unsigned char data[2 * PAGE];
	struct shadow_mm_reclaim r;
	struct shadow_mm_stats st;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 2);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	r = age_reclaim(_metadata, self->mfd, BASE, 2 * PAGE);
	EXPECT_EQ(2, r.out_swapped_out);
	EXPECT_EQ(2, DELTA(swap_slots));

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	walk(_metadata, self->mfd, BASE, 2, pg);
	expect_state(_metadata, pg, 0, 1, P | WR | EX, 1);
	EXPECT_EQ(SHADOW_PAGE_DIRTY, pg[0].flags & SHADOW_PAGE_DIRTY);
	expect_state(_metadata, pg, 1, 2, SW | EX, 1);
	EXPECT_EQ(1, DELTA(swap_slots));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(1, st.out_swapins);
	EXPECT_EQ(1, st.out_maj_flt);
	EXPECT_EQ(1, st.out_swapents);
	/* No copy, no reuse: do_swap_page made it writable itself. */
	EXPECT_EQ(0, st.out_cow_copies);
	EXPECT_EQ(0, st.out_cow_reuses);
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	/* That read brought page 1 back into the swap cache. */
	EXPECT_EQ(1, DELTA(swap_slots));
}

/*
 * page_referenced: a young page is skipped once (its young bit cleared)
 * and taken the next time; a page touched in between is skipped again.
 * nr_to_reclaim stops the pass.
 */
TEST_F(swap, young_skipped_once)
{
	const int n = 8;
	struct shadow_page_info pg[8];
	unsigned char data[8 * PAGE];
	struct shadow_mm_reclaim r;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, n * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 3);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));

	r = reclaim(_metadata, self->mfd, 0, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .referenced = n });
	walk(_metadata, self->mfd, BASE, n, pg);
	expect_state(_metadata, pg, 0, n, P | WR | EX, 1);
	for (int i = 0; i < n; i++)
		EXPECT_EQ(0, pg[i].flags & SHADOW_PAGE_YOUNG);

	/* A touch (the CPU sets the accessed bit) makes page 2 young. */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 2 * PAGE, 1, 0, NULL));
	EXPECT_EQ(SHADOW_PAGE_YOUNG,
		  shadow_page(_metadata, self->mfd, BASE + 2 * PAGE).flags &
		  SHADOW_PAGE_YOUNG);
	/* Aging counts it and clears it; nothing is unmapped. */
	r = reclaim(_metadata, self->mfd, SHADOW_RECLAIM_AGE, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .referenced = 1 });
	r = reclaim(_metadata, self->mfd, SHADOW_RECLAIM_AGE, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){ .scanned = n });
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 2 * PAGE, 1, 0, NULL));

	/* At most three pages: the pass stops there. */
	ASSERT_EQ(0, __shadow_reclaim(self->mfd, false, 0, BASE, n * PAGE, 3,
				      &r));
	EXPECT_EQ(3, r.out_reclaimed);
	EXPECT_EQ(3, r.out_swapped_out);
	EXPECT_EQ(3, r.out_written);
	EXPECT_EQ(3, DELTA(swap_slots));
	/* That pass aged page 2 again: make it young once more. */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 2 * PAGE, 1, 0, NULL));

	r = reclaim(_metadata, self->mfd, 0, BASE, n * PAGE);
	/* The young page 2 is skipped, the four pages past it go. */
	expect_out(_metadata, &r, (struct want){
		.scanned = n - 3, .referenced = 1, .unmapped = n - 4,
		.swapped_out = n - 4, .written = n - 4, .reclaimed = n - 4 });
	walk(_metadata, self->mfd, BASE, n, pg);
	expect_state(_metadata, pg, 0, 2, SW | EX, 1);
	expect_state(_metadata, pg, 2, 3, P | WR | EX, 1);
	expect_state(_metadata, pg, 3, n, SW | EX, 1);

	r = reclaim(_metadata, self->mfd, 0, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = 1, .unmapped = 1, .swapped_out = 1, .written = 1,
		.reclaimed = 1 });
	r = reclaim(_metadata, self->mfd, 0, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){ 0 });
	EXPECT_EQ(n, shadow_stats(_metadata, self->mfd).out_swapouts);
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
}

/*
 * page_referenced in a MADV_SEQUENTIAL (VM_SEQ_READ) VMA, as 6.1's
 * folio_referenced_one(): a young PTE there has its young bit cleared but
 * is not counted as a reference, so its page goes on the first pass; the
 * same pages in a VMA without the advice are skipped once (aged) and go
 * on the second. MADV_NORMAL takes the advice back.
 */
TEST_F(swap, sequential_young_not_referenced)
{
	const int n = 8;
	const unsigned long seq = BASE + n * PAGE;
	struct shadow_page_info pg[16];
	unsigned char data[16 * PAGE];
	struct shadow_mm_reclaim r;
	struct shadow_mm_stats st;
	int i;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	/* Pages 0-7 without advice, 8-15 sequential: two VMAs. */
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * n * PAGE, RW,
				  PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, seq, n * PAGE,
				     MADV_SEQUENTIAL));
	EXPECT_EQ(2, shadow_stats(_metadata, self->mfd).out_map_count);
	fill_random(data, sizeof(data), 16);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	walk(_metadata, self->mfd, BASE, 2 * n, pg);
	expect_state(_metadata, pg, 0, 2 * n, P | WR | EX, 1);
	for (i = 0; i < 2 * n; i++) {
		EXPECT_EQ(SHADOW_PAGE_YOUNG, pg[i].flags & SHADOW_PAGE_YOUNG)
			TH_LOG("page %d", i);
	}

	/* Every PTE young: only the sequential ones' pages go. */
	r = reclaim(_metadata, self->mfd, 0, BASE, 2 * n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = 2 * n, .referenced = n, .unmapped = n,
		.swapped_out = n, .written = n, .reclaimed = n });
	walk(_metadata, self->mfd, BASE, 2 * n, pg);
	expect_state(_metadata, pg, 0, n, P | WR | EX, 1);
	expect_state(_metadata, pg, n, 2 * n, SW | EX, 1);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, pg[i].flags & SHADOW_PAGE_YOUNG)
			TH_LOG("page %d", i);
	}
	EXPECT_EQ(n, DELTA(swap_slots));

	/* The aged ones go on the second pass. */
	r = reclaim(_metadata, self->mfd, 0, BASE, 2 * n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .unmapped = n, .swapped_out = n, .written = n,
		.reclaimed = n });
	walk(_metadata, self->mfd, BASE, 2 * n, pg);
	expect_state(_metadata, pg, 0, 2 * n, SW | EX, 1);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(2 * n, st.out_swapouts);
	EXPECT_EQ(2 * n, st.out_swapents);
	EXPECT_EQ(0, st.out_rss_anon);
	EXPECT_EQ(2 * n, DELTA(swap_slots));

	/*
	 * Faulted back in, young again: with the advice taken back the
	 * sequential pages count as referenced too.
	 */
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, seq, n * PAGE, MADV_NORMAL));
	r = reclaim(_metadata, self->mfd, 0, BASE, 2 * n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = 2 * n, .referenced = 2 * n });
	walk(_metadata, self->mfd, BASE, 2 * n, pg);
	expect_state(_metadata, pg, 0, 2 * n, P | SC | EX, 1);
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
}

/*
 * The dirty bit moves to the page: the first reclaim writes every page;
 * pages read back stay in the swap cache, clean, and the next reclaim
 * drops them without a write, into the same slots; a write makes its page
 * dirty again, and only it is written.
 */
TEST_F(swap, dirty_moves_to_page)
{
	const int n = 4;
	struct shadow_page_info pg[4], sw[4], in[4];
	unsigned char data[4 * PAGE];
	struct shadow_mm_reclaim r;
	struct shadow_mm_stats st;
	int i;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, n * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 4);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	r = age_reclaim(_metadata, self->mfd, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .unmapped = n, .swapped_out = n, .written = n,
		.reclaimed = n });
	walk(_metadata, self->mfd, BASE, n, sw);
	expect_state(_metadata, sw, 0, n, SW | EX, 1);

	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, n * PAGE, 0, NULL));
	walk(_metadata, self->mfd, BASE, n, in);
	expect_state(_metadata, in, 0, n, P | SC | EX, 1);
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, in[i].flags & SHADOW_PAGE_DIRTY);

	/* Clean and in the swap cache: dropped, not written. */
	r = age_reclaim(_metadata, self->mfd, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .unmapped = n, .swapped_out = n, .reclaimed = n });
	walk(_metadata, self->mfd, BASE, n, pg);
	expect_state(_metadata, pg, 0, n, SW | EX, 1);
	for (i = 0; i < n; i++)
		EXPECT_EQ(sw[i].page_id, pg[i].page_id) TH_LOG("page %d", i);
	EXPECT_EQ(n, DELTA(swap_slots));
	EXPECT_EQ(n, DELTA(swap_pages));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(2 * n, st.out_swapouts);
	EXPECT_EQ(n, st.out_swapins);

	/* Back again; a write to page 1 reuses it in place (exclusive). */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, n * PAGE, 0, NULL));
	walk(_metadata, self->mfd, BASE, n, in);
	memcpy(data + PAGE + 100, "dirty again", 11);
	write_bytes(_metadata, self->mfd, BASE + PAGE + 100, "dirty again", 11);
	walk(_metadata, self->mfd, BASE, n, pg);
	EXPECT_EQ(in[1].page_id, pg[1].page_id);
	EXPECT_EQ(P | WR | EX, pg[1].flags & (P | WR | EX | SW));
	EXPECT_EQ(SHADOW_PAGE_DIRTY, pg[1].flags & SHADOW_PAGE_DIRTY);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(1, st.out_cow_reuses);
	EXPECT_EQ(0, st.out_cow_copies);

	r = age_reclaim(_metadata, self->mfd, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .unmapped = n, .swapped_out = n, .written = 1,
		.reclaimed = n });
	EXPECT_EQ(n, DELTA(swap_slots));
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
}

/*
 * Across fork: one reclaim unmaps the page in parent and child (one slot,
 * swap count 2, the exclusive bit clear); the child's read brings it into
 * the swap cache (a major fault) while the parent still holds the slot;
 * the parent's read finds it there (a minor fault): the same page in both,
 * write-protected. The parent's write copies, the child's then reuses.
 * The child exits: the other page's slot is the parent's alone; its read
 * and write reuse the page.
 */
TEST_F(swap, fork_both_swapped)
{
	struct shadow_page_info pp[2], cp[2], pp2[2], cp2[2];
	unsigned char data[2 * PAGE], cdata[2 * PAGE];
	struct shadow_mm_reclaim r;
	struct shadow_mm_stats ps, cs;
	int child;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 5);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	memcpy(cdata, data, sizeof(data));
	walk(_metadata, self->mfd, BASE, 2, pp);
	walk(_metadata, child, BASE, 2, cp);
	expect_state(_metadata, pp, 0, 2, P, 2);
	expect_state(_metadata, cp, 0, 2, P, 2);

	/* Aged through the parent: the child's PTEs are old already. */
	r = reclaim(_metadata, self->mfd, SHADOW_RECLAIM_AGE, 0, 0);
	expect_out(_metadata, &r, (struct want){
		.scanned = 2, .referenced = 2 });
	r = reclaim(_metadata, self->mfd, 0, 0, 0);
	expect_out(_metadata, &r, (struct want){
		.scanned = 2, .unmapped = 4, .swapped_out = 2, .written = 2,
		.reclaimed = 2 });
	walk(_metadata, self->mfd, BASE, 2, pp);
	walk(_metadata, child, BASE, 2, cp);
	expect_state(_metadata, pp, 0, 2, SW, 2);
	expect_state(_metadata, cp, 0, 2, SW, 2);
	EXPECT_EQ(pp[0].page_id, cp[0].page_id);
	EXPECT_EQ(pp[1].page_id, cp[1].page_id);
	EXPECT_NE(pp[0].page_id, pp[1].page_id);
	EXPECT_EQ(2, DELTA(swap_slots));
	ps = shadow_stats(_metadata, self->mfd);
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(2, ps.out_swapents);
	EXPECT_EQ(2, cs.out_swapents);
	EXPECT_EQ(2, ps.out_swapouts);
	EXPECT_EQ(2, cs.out_swapouts);
	EXPECT_EQ(0, ps.out_rss_anon);
	EXPECT_EQ(0, cs.out_rss_anon);

	/* The child reads page 0 back: from the device. */
	ASSERT_EQ(0, _shadow_fault(child, BASE, PAGE, 0, NULL));
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(1, cs.out_maj_flt);
	EXPECT_EQ(1, cs.out_swapins);
	EXPECT_EQ(1, cs.out_swapents);
	walk(_metadata, child, BASE, 1, cp2);
	expect_state(_metadata, cp2, 0, 1, P | SC, 1);
	walk(_metadata, self->mfd, BASE, 1, pp2);
	expect_state(_metadata, pp2, 0, 1, SW, 1);
	EXPECT_EQ(pp[0].page_id, pp2[0].page_id);
	expect_bytes(_metadata, child, BASE, cdata, PAGE);

	/* The parent finds it in the swap cache: the same page, shared. */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, 0, NULL));
	ps = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, ps.out_maj_flt);
	EXPECT_EQ(0, ps.out_swapins);
	EXPECT_EQ(1, ps.out_swapents);
	walk(_metadata, self->mfd, BASE, 1, pp2);
	expect_state(_metadata, pp2, 0, 1, P | SC, 2);
	EXPECT_EQ(cp2[0].page_id, pp2[0].page_id);
	EXPECT_EQ(2, shadow_page(_metadata, child, BASE).mapcount);
	EXPECT_EQ(2, DELTA(swap_slots));

	/*
	 * The parent's write copies: three references (two PTEs and the
	 * swap cache) are more than 6.1's do_wp_page() tries to free the
	 * swap cache for, so the child's page stays in it.
	 */
	memcpy(data, "parent wrote", 12);
	write_bytes(_metadata, self->mfd, BASE, data, 12);
	walk(_metadata, self->mfd, BASE, 1, pp2);
	EXPECT_NE(cp2[0].page_id, pp2[0].page_id);
	expect_state(_metadata, pp2, 0, 1, P | WR | EX, 1);
	walk(_metadata, child, BASE, 1, cp2);
	expect_state(_metadata, cp2, 0, 1, P | SC, 1);
	EXPECT_EQ(2, DELTA(swap_slots));
	ps = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(1, ps.out_cow_copies);
	EXPECT_EQ(0, ps.out_cow_reuses);
	expect_bytes(_metadata, child, BASE, cdata, PAGE);
	expect_bytes(_metadata, self->mfd, BASE, data, PAGE);

	/*
	 * The child's write frees the swap cache (no swap PTE is left) and
	 * reuses what is now its own page.
	 */
	memcpy(cdata, "child wrote", 11);
	write_bytes(_metadata, child, BASE, cdata, 11);
	walk(_metadata, child, BASE, 1, pp2);
	EXPECT_EQ(cp2[0].page_id, pp2[0].page_id);
	expect_state(_metadata, pp2, 0, 1, P | WR | EX, 1);
	EXPECT_EQ(1, DELTA(swap_slots));
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(0, cs.out_cow_copies);
	EXPECT_EQ(1, cs.out_cow_reuses);

	/* The child exits: page 1's slot is the parent's alone. */
	ASSERT_EQ(0, _shadow_exit(child));
	EXPECT_EQ(1, DELTA(swap_slots));
	walk(_metadata, self->mfd, BASE + PAGE, 1, pp2);
	expect_state(_metadata, pp2, 0, 1, SW, 1);
	EXPECT_EQ(pp[1].page_id, pp2[0].page_id);
	expect_bytes(_metadata, self->mfd, BASE + PAGE, data + PAGE, PAGE);
	walk(_metadata, self->mfd, BASE + PAGE, 1, pp2);
	/* Not exclusive (the swap PTE was not): read-only, cached. */
	expect_state(_metadata, pp2, 0, 1, P | SC, 1);
	memcpy(data + PAGE, "parent again", 12);
	write_bytes(_metadata, self->mfd, BASE + PAGE, data + PAGE, 12);
	EXPECT_EQ(pp2[0].page_id,
		  shadow_page(_metadata, self->mfd, BASE + PAGE).page_id);
	ps = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(1, ps.out_cow_copies);
	EXPECT_EQ(1, ps.out_cow_reuses);
	EXPECT_EQ(0, ps.out_swapents);
	EXPECT_EQ(0, DELTA(swap_slots));
	EXPECT_EQ(0, DELTA(swap_pages));
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	close(child);
}

/*
 * fork of swap entries (copy_nonpresent_pte): the child gets the slot
 * (swap count 2) and the exclusive bit is cleared on both sides. The
 * child's write after its read copies (the parent holds the slot); the
 * parent then reads the cached page and reuses it on its write.
 */
TEST_F(swap, fork_of_swap_entries)
{
	struct shadow_page_info pp[2], cp[2];
	unsigned char data[2 * PAGE], cdata[2 * PAGE];
	struct shadow_mm_reclaim r;
	struct shadow_mm_stats ps, cs;
	int child;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 6);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	r = age_reclaim(_metadata, self->mfd, 0, 0);
	EXPECT_EQ(2, r.out_swapped_out);
	walk(_metadata, self->mfd, BASE, 2, pp);
	expect_state(_metadata, pp, 0, 2, SW | EX, 1);

	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	memcpy(cdata, data, sizeof(data));
	walk(_metadata, child, BASE, 2, cp);
	expect_state(_metadata, cp, 0, 2, SW, 2);
	EXPECT_EQ(pp[0].page_id, cp[0].page_id);
	EXPECT_EQ(pp[1].page_id, cp[1].page_id);
	walk(_metadata, self->mfd, BASE, 2, pp);
	expect_state(_metadata, pp, 0, 2, SW, 2);
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(2, cs.out_swapents);
	EXPECT_EQ(0, cs.out_swapouts);
	EXPECT_EQ(0, cs.out_rss_anon);
	EXPECT_EQ(2, DELTA(swap_slots));

	expect_bytes(_metadata, child, BASE, cdata, PAGE);
	memcpy(cdata, "child", 5);
	write_bytes(_metadata, child, BASE, cdata, 5);
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(1, cs.out_cow_copies);
	EXPECT_EQ(1, cs.out_swapins);
	EXPECT_EQ(1, shadow_page(_metadata, child, BASE).mapcount);
	/* The cached page is the parent's to find. */
	walk(_metadata, self->mfd, BASE, 1, pp);
	expect_state(_metadata, pp, 0, 1, SW, 1);
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, 0, NULL));
	walk(_metadata, self->mfd, BASE, 1, pp);
	expect_state(_metadata, pp, 0, 1, P | SC, 1);
	ps = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, ps.out_maj_flt);
	memcpy(data, "parent", 6);
	write_bytes(_metadata, self->mfd, BASE, data, 6);
	EXPECT_EQ(pp[0].page_id, shadow_page(_metadata, self->mfd,
					     BASE).page_id);
	ps = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(1, ps.out_cow_reuses);
	EXPECT_EQ(0, ps.out_cow_copies);
	EXPECT_EQ(1, DELTA(swap_slots));
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	expect_bytes(_metadata, child, BASE, cdata, sizeof(cdata));
	/* Both read page 1 back: one page, shared again. */
	EXPECT_EQ(shadow_page(_metadata, self->mfd, BASE + PAGE).page_id,
		  shadow_page(_metadata, child, BASE + PAGE).page_id);
	EXPECT_EQ(2, shadow_page(_metadata, child, BASE + PAGE).mapcount);
	close(child);
}

/*
 * Shared anonymous pages: reclaim unmaps them in every space mapping them
 * and writes them out of their object (out_shmem); the PTEs become none.
 * A read faults a page back (a major fault) with its contents, into the
 * object, where the other space finds the same page; its slot is freed.
 */
TEST_F(swap, shared_anonymous)
{
	const int n = 4;
	struct shadow_page_info pp[4], cp[4];
	unsigned char data[4 * PAGE];
	struct shadow_mm_reclaim r;
	struct shadow_mm_stats ps, cs;
	int child, i;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, n * PAGE, RW, SHARED_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 7);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_fault(child, BASE, n * PAGE, 0, NULL));
	walk(_metadata, child, BASE, n, cp);
	expect_state(_metadata, cp, 0, n, P | WR | SHADOW_PAGE_SHMEM, 2);

	r = age_reclaim(_metadata, self->mfd, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .unmapped = 2 * n, .shmem = n, .written = n,
		.reclaimed = n });
	walk(_metadata, self->mfd, BASE, n, pp);
	walk(_metadata, child, BASE, n, cp);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, pp[i].flags);
		EXPECT_EQ(0, pp[i].page_id);
		EXPECT_EQ(0, cp[i].flags);
	}
	ps = shadow_stats(_metadata, self->mfd);
	cs = shadow_stats(_metadata, child);
	EXPECT_EQ(0, ps.out_rss_shmem);
	EXPECT_EQ(0, cs.out_rss_shmem);
	EXPECT_EQ(0, ps.out_swapents);
	EXPECT_EQ(0, cs.out_swapents);
	EXPECT_EQ(n, DELTA(swap_slots));
	EXPECT_EQ(n, DELTA(swap_pages));

	/* The parent reads page 1: from the device, into the object. */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + PAGE, PAGE, 0, NULL));
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_maj_flt);
	walk(_metadata, self->mfd, BASE, n, pp);
	expect_state(_metadata, pp, 1, 2, P | WR | SHADOW_PAGE_SHMEM, 1);
	EXPECT_EQ(n - 1, DELTA(swap_slots));
	/* The child's read finds it in the object. */
	ASSERT_EQ(0, _shadow_fault(child, BASE + PAGE, PAGE, 0, NULL));
	EXPECT_EQ(0, shadow_stats(_metadata, child).out_maj_flt);
	walk(_metadata, child, BASE, n, cp);
	EXPECT_EQ(pp[1].page_id, cp[1].page_id);
	EXPECT_EQ(2, cp[1].mapcount);
	expect_bytes(_metadata, child, BASE + PAGE, data + PAGE, PAGE);

	/* The rest comes back through the child; writes are shared. */
	expect_bytes(_metadata, child, BASE, data, sizeof(data));
	EXPECT_EQ(0, DELTA(swap_slots));
	EXPECT_EQ(0, DELTA(swap_pages));
	memcpy(data + 3 * PAGE, "from the child", 14);
	write_bytes(_metadata, child, BASE + 3 * PAGE, data + 3 * PAGE, 14);
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	close(child);
}

/*
 * Pages a VM_LOCKED VMA maps are skipped (out_locked), in the space that
 * locked them and in another that shares them copy-on-write.
 */
TEST_F(swap, mlocked_skipped)
{
	struct shadow_page_info pg[4];
	unsigned char data[4 * PAGE];
	struct shadow_mm_reclaim r;
	__u64 taken = 0;
	int child, pass;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW,
				  PRIV_FIXED | MAP_LOCKED, NULL));
	fill_random(data, sizeof(data), 8);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	for (pass = 0; pass < 2; pass++) {
		r = reclaim(_metadata, self->mfd, 0, BASE, 4 * PAGE);
		expect_out(_metadata, &r, (struct want){
			.scanned = 4, .locked = 4 });
	}
	walk(_metadata, self->mfd, BASE, 4, pg);
	expect_state(_metadata, pg, 0, 4, P | WR | EX, 1);
	EXPECT_EQ(0, DELTA(swap_slots));

	/* Unlocked, the pages go (once their young bits are gone). */
	ASSERT_EQ(0, _shadow_munlock(self->mfd, BASE, 4 * PAGE));
	for (pass = 0; pass < 2; pass++) {
		r = reclaim(_metadata, self->mfd, 0, BASE, 4 * PAGE);
		EXPECT_EQ(0, r.out_locked);
		taken += r.out_reclaimed;
	}
	EXPECT_EQ(4, taken);
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));

	/* A child that locks pages it shares with its parent. */
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, 4 * PAGE));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	write_bytes(_metadata, self->mfd, BASE, data, 2 * PAGE);
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE, 2 * PAGE, PROT_READ));
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_mlock(child, BASE, 2 * PAGE, 0));
	EXPECT_EQ(2, shadow_page(_metadata, child, BASE).mapcount);
	reclaim(_metadata, self->mfd, SHADOW_RECLAIM_AGE, BASE, 2 * PAGE);
	r = reclaim(_metadata, self->mfd, 0, BASE, 2 * PAGE);
	expect_out(_metadata, &r, (struct want){ .scanned = 2, .locked = 2 });
	walk(_metadata, self->mfd, BASE, 2, pg);
	expect_state(_metadata, pg, 0, 2, P, 2);
	close(child);
	r = age_reclaim(_metadata, self->mfd, BASE, 2 * PAGE);
	EXPECT_EQ(2, r.out_reclaimed);
	expect_bytes(_metadata, self->mfd, BASE, data, 2 * PAGE);
}

/* Drop what the space at *@fd holds at BASE: 0 or -errno. */
static int drop_space(int how, int *fd)
{
	switch (how) {
	case 0:
		return _shadow_exit(*fd);
	case 1:
		close(*fd);
		*fd = -1;
		return 0;
	case 2:
		return _shadow_munmap(*fd, BASE, 4 * PAGE);
	default:
		return _shadow_madvise(*fd, BASE, 4 * PAGE, MADV_DONTNEED);
	}
}

/*
 * Swap slots are freed when the last reference goes, whoever drops it and
 * how: exit, close without exit, munmap or MADV_DONTNEED, parent first or
 * child first; one of the pages is in the swap cache, mapped by the child.
 */
TEST_F(swap, slots_freed_every_order)
{
	static const char * const hows[] = {
		"exit", "close", "munmap", "MADV_DONTNEED",
	};
	unsigned char data[4 * PAGE];
	int how, first;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	fill_random(data, sizeof(data), 9);
	for (how = 0; how < 4; how++) {
		for (first = 0; first < 2; first++) {
			struct shadow_counts base = shadow_counts();
			struct shadow_mm_reclaim r;
			int fd[2], k;

			fd[0] = _shadow_create(self->dev, 0, NULL);
			ASSERT_LE(0, fd[0]);
			ASSERT_EQ(0, _shadow_mmap(fd[0], BASE, 4 * PAGE, RW,
						  PRIV_FIXED, NULL));
			write_bytes(_metadata, fd[0], BASE, data,
				    sizeof(data));
			fd[1] = _shadow_fork(fd[0], 0, NULL);
			ASSERT_LE(0, fd[1]);
			r = age_reclaim(_metadata, fd[0], 0, 0);
			EXPECT_EQ(4, r.out_swapped_out);
			ASSERT_EQ(0, _shadow_fault(fd[1], BASE + 3 * PAGE,
						   PAGE, 0, NULL));
			EXPECT_EQ(base.swap_slots + 4,
				  shadow_counter("swap_slots"));

			for (k = 0; k < 2; k++) {
				int i = k ? !first : first;

				ASSERT_EQ(0, drop_space(how, &fd[i]));
				EXPECT_EQ(base.swap_slots + (k ? 0 : 4),
					  shadow_counter("swap_slots"))
					TH_LOG("%s, %s first, after %d", hows[how],
					       first ? "child" : "parent", k);
				if (!k && fd[!i] >= 0 && how < 2)
					expect_bytes(_metadata, fd[!i], BASE,
						     data, sizeof(data));
			}
			EXPECT_EQ(base.swap_pages, shadow_counter("swap_pages"));
			for (k = 0; k < 2; k++)
				if (fd[k] >= 0)
					close(fd[k]);
			shadow_expect_counts(_metadata, base);
		}
	}
}

/*
 * In one space: munmap and MADV_DONTNEED free the slots of the swap
 * entries they zap (the pages then read as zeroes), and the slot of a page
 * in the swap cache when its last mapping goes; exit frees the rest.
 */
TEST_F(swap, munmap_and_dontneed_free_slots)
{
	unsigned char data[8 * PAGE], zero[PAGE] = { 0 };
	struct shadow_mm_reclaim r;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 8 * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 10);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	r = age_reclaim(_metadata, self->mfd, 0, 0);
	EXPECT_EQ(8, r.out_swapped_out);
	EXPECT_EQ(8, DELTA(swap_slots));

	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + 5 * PAGE, 3 * PAGE));
	EXPECT_EQ(5, DELTA(swap_slots));
	EXPECT_EQ(5, DELTA(swap_pages));
	EXPECT_EQ(5, shadow_stats(_metadata, self->mfd).out_swapents);

	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, 2 * PAGE,
				     MADV_DONTNEED));
	EXPECT_EQ(3, DELTA(swap_slots));
	EXPECT_EQ(3, shadow_stats(_metadata, self->mfd).out_swapents);
	expect_bytes(_metadata, self->mfd, BASE, zero, PAGE);
	expect_bytes(_metadata, self->mfd, BASE + PAGE, zero, PAGE);

	/* Page 2 read back stays cached; unmapping it frees its slot. */
	expect_bytes(_metadata, self->mfd, BASE + 2 * PAGE, data + 2 * PAGE,
		     PAGE);
	EXPECT_EQ(3, DELTA(swap_slots));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + 2 * PAGE, PAGE));
	EXPECT_EQ(2, DELTA(swap_slots));
	EXPECT_EQ(2, DELTA(swap_pages));

	ASSERT_EQ(0, _shadow_exit(self->mfd));
	EXPECT_EQ(0, DELTA(swap_slots));
	EXPECT_EQ(0, DELTA(swap_pages));
}

/*
 * SHADOW_DEV_RECLAIM walks every address space; nr_to_reclaim stops it.
 */
TEST_F(swap, dev_reclaim)
{
	unsigned char a[8 * PAGE], b[8 * PAGE];
	struct shadow_mm_reclaim r;
	int other;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	other = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 8 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(other, BASE, 8 * PAGE, RW, PRIV_FIXED, NULL));
	fill_random(a, sizeof(a), 11);
	fill_random(b, sizeof(b), 12);
	write_bytes(_metadata, self->mfd, BASE, a, sizeof(a));
	write_bytes(_metadata, other, BASE, b, sizeof(b));

	ASSERT_EQ(0, _shadow_dev_reclaim(self->dev, SHADOW_RECLAIM_AGE, 0,
					 &r));
	expect_out(_metadata, &r, (struct want){
		.scanned = 16, .referenced = 16 });
	ASSERT_EQ(0, _shadow_dev_reclaim(self->dev, 0, 5, &r));
	EXPECT_EQ(5, r.out_reclaimed);
	EXPECT_EQ(5, r.out_swapped_out);
	EXPECT_EQ(5, r.out_unmapped);
	EXPECT_EQ(5, DELTA(swap_slots));
	ASSERT_EQ(0, _shadow_dev_reclaim(self->dev, 0, 0, &r));
	expect_out(_metadata, &r, (struct want){
		.scanned = 11, .unmapped = 11, .swapped_out = 11,
		.written = 11, .reclaimed = 11 });
	EXPECT_EQ(16, shadow_stats(_metadata, self->mfd).out_swapents +
		      shadow_stats(_metadata, other).out_swapents);
	EXPECT_EQ(16, DELTA(swap_slots));
	ASSERT_EQ(0, _shadow_dev_reclaim(self->dev, 0, 0, &r));
	expect_out(_metadata, &r, (struct want){ 0 });
	expect_bytes(_metadata, self->mfd, BASE, a, sizeof(a));
	expect_bytes(_metadata, other, BASE, b, sizeof(b));
	close(other);
}

/*
 * A range: only its pages (len rounded up to pages); the zero page is not
 * a data page; a hole scans nothing; len 0 is the whole space.
 */
TEST_F(swap, range_and_zero_page)
{
	struct shadow_page_info pg[8];
	unsigned char data[6 * PAGE], zero[2 * PAGE] = { 0 };
	struct shadow_mm_reclaim r;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 8 * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 13);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 6 * PAGE, 2 * PAGE, 0,
				   NULL));
	walk(_metadata, self->mfd, BASE + 6 * PAGE, 2, pg);
	expect_state(_metadata, pg, 0, 2, P | SHADOW_PAGE_ZERO, -1);

	r = reclaim(_metadata, self->mfd, SHADOW_RECLAIM_AGE, 0, 0);
	expect_out(_metadata, &r, (struct want){
		.scanned = 6, .referenced = 6 });
	r = reclaim(_metadata, self->mfd, 0, BASE + 2 * PAGE, 2 * PAGE + 1);
	expect_out(_metadata, &r, (struct want){
		.scanned = 3, .unmapped = 3, .swapped_out = 3, .written = 3,
		.reclaimed = 3 });
	walk(_metadata, self->mfd, BASE, 8, pg);
	expect_state(_metadata, pg, 0, 2, P | WR | EX, 1);
	expect_state(_metadata, pg, 2, 5, SW | EX, 1);
	expect_state(_metadata, pg, 5, 6, P | WR | EX, 1);
	expect_state(_metadata, pg, 6, 8, P | SHADOW_PAGE_ZERO, -1);

	r = reclaim(_metadata, self->mfd, 0, BASE + 64 * PAGE, 4 * PAGE);
	expect_out(_metadata, &r, (struct want){ 0 });
	r = reclaim(_metadata, self->mfd, 0, 0, 0);
	expect_out(_metadata, &r, (struct want){
		.scanned = 3, .unmapped = 3, .swapped_out = 3, .written = 3,
		.reclaimed = 3 });
	walk(_metadata, self->mfd, BASE, 8, pg);
	expect_state(_metadata, pg, 0, 6, SW | EX, 1);
	expect_state(_metadata, pg, 6, 8, P | SHADOW_PAGE_ZERO, -1);
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	expect_bytes(_metadata, self->mfd, BASE + 6 * PAGE, zero,
		     sizeof(zero));
}

/*
 * Paths that meet swap entries: mprotect leaves them, mremap moves them
 * (the same slots at the new address), MADV_POPULATE_READ, mlock and a
 * forced access fault them in.
 */
TEST_F(swap, paths_over_swap_entries)
{
	const unsigned long to = BASE + 64 * PAGE;
	struct shadow_page_info sw[4], pg[4];
	unsigned char data[4 * PAGE], buf[16];
	struct shadow_mm_reclaim r;
	__u64 out = 0;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 14);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	r = age_reclaim(_metadata, self->mfd, 0, 0);
	EXPECT_EQ(4, r.out_swapped_out);
	walk(_metadata, self->mfd, BASE, 4, sw);

	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE, 4 * PAGE, PROT_READ));
	walk(_metadata, self->mfd, BASE, 4, pg);
	expect_state(_metadata, pg, 0, 4, SW | EX, 1);

	ASSERT_EQ(0, _shadow_mremap(self->mfd, BASE, 4 * PAGE, 4 * PAGE,
				    MREMAP_MAYMOVE | MREMAP_FIXED, to, &out));
	EXPECT_EQ(to, out);
	walk(_metadata, self->mfd, to, 4, pg);
	expect_state(_metadata, pg, 0, 4, SW | EX, 1);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(sw[i].page_id, pg[i].page_id);
	walk(_metadata, self->mfd, BASE, 4, pg);
	expect_state(_metadata, pg, 0, 4, 0, 0);
	EXPECT_EQ(4, shadow_stats(_metadata, self->mfd).out_swapents);
	EXPECT_EQ(4, DELTA(swap_slots));

	ASSERT_EQ(0, _shadow_madvise(self->mfd, to, PAGE, MADV_POPULATE_READ));
	ASSERT_EQ(0, _shadow_mlock(self->mfd, to + PAGE, PAGE, 0));
	ASSERT_EQ(16, _shadow_access(self->mfd, to + 2 * PAGE, buf, 16,
				     SHADOW_ACCESS_FORCE));
	EXPECT_EQ(0, memcmp(buf, data + 2 * PAGE, 16));
	walk(_metadata, self->mfd, to, 4, pg);
	expect_state(_metadata, pg, 0, 1, P | SC | EX, 1);
	/* mlock's swap-in frees the slot of a VM_LOCKED page. */
	expect_state(_metadata, pg, 1, 2, P | EX, 1);
	expect_state(_metadata, pg, 2, 3, P | SC | EX, 1);
	expect_state(_metadata, pg, 3, 4, SW | EX, 1);
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_swapents);
	EXPECT_EQ(3, DELTA(swap_slots));
	expect_bytes(_metadata, self->mfd, to, data, sizeof(data));
}

/*
 * Bad input: EINVAL for an unaligned start, a wrapping range and unknown
 * flags (as MADV_PAGEOUT's range checks in the real kernel), for an
 * address or a length given to SHADOW_DEV_RECLAIM; ENOTTY on the wrong
 * kind of fd; EPERM before the handshake; ESRCH after exit. Garbage in the
 * out_ fields is overwritten.
 */
TEST_F(swap, bad_input)
{
	const unsigned long win = 0x300000000000UL;
	struct shadow_mm_reclaim r;
	int raw, real_unaligned, real_wrap;
	char *p;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	p = mmap((void *)win, 2 * PAGE, RW, PRIV_FIXED, -1, 0);
	ASSERT_EQ((void *)win, (void *)p);
	real_unaligned = madvise(p + 1, PAGE, MADV_PAGEOUT) ? errno : 0;
	real_wrap = madvise(p, -win + PAGE, MADV_PAGEOUT) ? errno : 0;
	munmap(p, 2 * PAGE);
	EXPECT_EQ(EINVAL, real_unaligned);
	EXPECT_EQ(EINVAL, real_wrap);

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	EXPECT_EQ(-real_unaligned, _shadow_reclaim(self->mfd, 0, BASE + 1,
						   PAGE, NULL));
	EXPECT_EQ(-real_wrap, _shadow_reclaim(self->mfd, 0, BASE,
					      -BASE + PAGE, NULL));
	EXPECT_EQ(-EINVAL, _shadow_reclaim(self->mfd, 0, BASE, -1UL, NULL));
	EXPECT_EQ(-EINVAL, _shadow_reclaim(self->mfd, 2, BASE, PAGE, NULL));
	EXPECT_EQ(-EINVAL, _shadow_reclaim(self->mfd, 1U << 31, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, __shadow_reclaim(self->dev, true, 0, BASE, 0, 0,
					    NULL));
	EXPECT_EQ(-EINVAL, __shadow_reclaim(self->dev, true, 0, 0, PAGE, 0,
					    NULL));
	EXPECT_EQ(-EINVAL, _shadow_dev_reclaim(self->dev, 4, 0, NULL));

	/* A struct below the first version's size. */
	memset(&r, 0, sizeof(r));
	r.size = 8;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_RECLAIM, &r));

	/* The wrong kind of fd. */
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	EXPECT_EQ(-ENOTTY, shadow_ioctl(self->dev, SHADOW_MM_RECLAIM, &r));
	EXPECT_EQ(-ENOTTY, shadow_ioctl(self->mfd, SHADOW_DEV_RECLAIM, &r));
	raw = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, raw);
	EXPECT_EQ(-EPERM, shadow_ioctl(raw, SHADOW_DEV_RECLAIM, &r));
	close(raw);

	/* Outputs are the kernel's, whatever they held. */
	memset(&r, 0x5a, sizeof(r));
	r.size = sizeof(r);
	r.flags = 0;
	r.addr = BASE + 8 * PAGE;
	r.len = PAGE;
	r.nr_to_reclaim = 0;
	ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_RECLAIM, &r));
	expect_out(_metadata, &r, (struct want){ 0 });

	ASSERT_EQ(0, _shadow_exit(self->mfd));
	EXPECT_EQ(-ESRCH, _shadow_reclaim(self->mfd, 0, 0, 0, NULL));
}

/* A "Name:   N kB" field of the debugfs smaps of space @id, or -1. */
static long smaps_kb(__u32 id, const char *name)
{
	char path[128], key[40], *text = NULL, *at;
	size_t cap = 0;
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/shadow_mm/mm%u/smaps",
		 id);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (getdelim(&text, &cap, 0, f) > 0) {
		snprintf(key, sizeof(key), "\n%s:", name);
		at = strstr(text, key);
		if (at && sscanf(at + strlen(key), "%ld kB", &kb) != 1)
			kb = -1;
	}
	free(text);
	fclose(f);
	return kb;
}

/*
 * smaps counts swap entries in Swap, and by the slot's swap count in
 * SwapPss (smaps_pte_entry of 6.1): a slot parent and child hold counts
 * half a page in each.
 */
TEST_F(swap, smaps_swap)
{
	unsigned char data[4 * PAGE];
	struct shadow_mm_reclaim r;
	__u32 id, cid = 0;
	int child;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	id = shadow_stats(_metadata, self->mfd).out_id;
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 15);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	EXPECT_EQ(0, smaps_kb(id, "Swap"));
	r = age_reclaim(_metadata, self->mfd, BASE, 2 * PAGE);
	EXPECT_EQ(2, r.out_swapped_out);
	EXPECT_EQ(8, smaps_kb(id, "Swap"));
	EXPECT_EQ(8, smaps_kb(id, "SwapPss"));
	EXPECT_EQ(8, smaps_kb(id, "Rss"));

	child = _shadow_fork(self->mfd, 0, &cid);
	ASSERT_LE(0, child);
	EXPECT_EQ(8, smaps_kb(cid, "Swap"));
	EXPECT_EQ(4, smaps_kb(cid, "SwapPss"));
	EXPECT_EQ(4, smaps_kb(id, "SwapPss"));
	expect_bytes(_metadata, child, BASE, data, sizeof(data));
	EXPECT_EQ(0, smaps_kb(cid, "Swap"));
	EXPECT_EQ(8, smaps_kb(id, "SwapPss"));
	close(child);
}

/*
 * Reclaim while other threads fault, write and fork the same space: every
 * byte written is read back, and nothing is left behind.
 */
struct racer {
	int mfd;
	int stop;
	int id;
	long rounds;
	int err;
};

static void *race_writer(void *arg)
{
	struct racer *rc = arg;
	/* Thread 0 in the private mapping, thread 1 in the shared one. */
	unsigned long a = BASE + rc->id * 32 * PAGE;
	unsigned char buf[64], got[64];
	long round;

	for (round = 0; !__atomic_load_n(&rc->stop, __ATOMIC_RELAXED);
	     round++) {
		unsigned long at = a + (round % 16) * PAGE + (round % 61);

		memset(buf, (int)(round * 7 + rc->id), sizeof(buf));
		if (_shadow_access(rc->mfd, at, buf, sizeof(buf),
				   SHADOW_ACCESS_WRITE) != sizeof(buf) ||
		    _shadow_access(rc->mfd, at, got, sizeof(got), 0) !=
		    sizeof(got) || memcmp(buf, got, sizeof(buf))) {
			rc->err = 1;
			break;
		}
		rc->rounds++;
	}
	return NULL;
}

TEST_F(swap, reclaim_races_faults)
{
	struct racer rc[2] = { { .id = 0 }, { .id = 1 } };
	pthread_t t[2];
	struct shadow_mm_reclaim r;
	__u64 out = 0;
	int i, child;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 32 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 32 * PAGE, 16 * PAGE, RW,
				  SHARED_FIXED, NULL));
	for (i = 0; i < 2; i++) {
		rc[i].mfd = self->mfd;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_writer, &rc[i]));
	}
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, _shadow_reclaim(self->mfd, i % 3 ? 0 :
					     SHADOW_RECLAIM_AGE, 0, 0, &r));
		out += r.out_reclaimed;
		EXPECT_EQ(r.out_reclaimed, r.out_swapped_out + r.out_shmem);
		if (i % 50 == 25) {
			child = _shadow_fork(self->mfd, 0, NULL);
			ASSERT_LE(0, child);
			ASSERT_EQ(0, _shadow_fault(child, BASE, 48 * PAGE, 0,
						   NULL));
			ASSERT_EQ(0, _shadow_reclaim(child, 0, 0, 0, NULL));
			close(child);
		}
	}
	for (i = 0; i < 2; i++) {
		__atomic_store_n(&rc[i].stop, 1, __ATOMIC_RELAXED);
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, rc[i].err) TH_LOG("thread %d, round %ld", i,
					       rc[i].rounds);
	}
	TH_LOG("%llu pages reclaimed, %ld + %ld writes",
	       (unsigned long long)out, rc[0].rounds, rc[1].rounds);
}

/*
 * A page in the swap cache that its last mapping leaves by a COW copy
 * (do_wp_page: a reference in flight, here reclaim's, makes it copy) must
 * not stay in the swap cache for ever: nothing maps it, no swap PTE holds
 * its slot. (Linux's LRU finds such a page later; the engine has no LRU.)
 */
struct copier {
	int mfd;
	int go, stop, idle;
	long reclaims;
};

static void *reclaim_loop(void *arg)
{
	struct copier *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		if (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&c->idle, 1, __ATOMIC_RELEASE);
			continue;
		}
		__atomic_store_n(&c->idle, 0, __ATOMIC_RELEASE);
		_shadow_reclaim(c->mfd, 0, BASE, PAGE, NULL);
		c->reclaims++;
	}
	return NULL;
}

TEST_F(swap, cow_copy_racing_reclaim_leaves_no_orphan)
{
	struct copier c = { .mfd = self->mfd };
	struct shadow_mm_reclaim r;
	long round, slots = -1;
	pthread_t t;
	double end;
	int child;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, pthread_create(&t, NULL, reclaim_loop, &c));
	end = time(NULL) + 8;
	for (round = 0; round < 2000 && time(NULL) < end; round++) {
		ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, PAGE, RW, PRIV_FIXED,
					  NULL));
		shadow_put(_metadata, self->mfd, BASE, "shared, then swapped");
		child = _shadow_fork(self->mfd, 0, NULL);
		ASSERT_LE(0, child);
		r = age_reclaim(_metadata, self->mfd, BASE, PAGE);
		ASSERT_EQ(1, r.out_reclaimed);
		close(child);
		/* In the swap cache, mapped read-only, not exclusive. */
		ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, 0, NULL));
		ASSERT_EQ(P | SC, shadow_page(_metadata, self->mfd,
					      BASE).flags & STATE);

		__atomic_store_n(&c.go, 1, __ATOMIC_RELEASE);
		shadow_put(_metadata, self->mfd, BASE, "written");
		__atomic_store_n(&c.go, 0, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&c.idle, __ATOMIC_ACQUIRE))
			;
		ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, PAGE));
		slots = DELTA(swap_slots);
		if (slots)
			break;
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	TH_LOG("%ld rounds, %ld reclaims", round, c.reclaims);
	EXPECT_EQ(0, slots) TH_LOG("round %ld: a slot left after munmap",
				   round);
}

/* debugfs swap's pglazyfreed: lazyfree pages reclaim discarded. */
static long lazyfreed(void)
{
	return shadow_debugfs_value("/sys/kernel/debug/shadow_mm/swap",
				    "pglazyfreed");
}

/*
 * MADV_FREE (6.1's madvise_free_pte_range and try_to_unmap_one's
 * lazyfree branch), against the real kernel: four written pages freed
 * lazily, one written again; reclaim drops the three clean ones without
 * swap (they read zeroes) and keeps the written one, swap backed again.
 * The real process does the same with MADV_PAGEOUT, which 6.1 lets drop
 * lazyfree pages with no swap device. A swap entry in the range goes too.
 * The errors of both kernels agree: shared and locked memory refuse.
 */
TEST_F(swap, madv_free)
{
	const int n = 4;
	unsigned char data[4 * PAGE], want[4 * PAGE], *real;
	struct shadow_page_info pg[4];
	struct shadow_mm_reclaim r;
	long lf = lazyfreed();
	int i, real_err, err;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	fill_random(data, sizeof(data), 7);
	memset(want, 0, sizeof(want));
	memset(want + PAGE, 0x5c, PAGE);

	/* The real kernel: 4 KiB pages, as the engine maps. */
	ASSERT_EQ(0, prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
	real = mmap(NULL, n * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, real);
	memcpy(real, data, sizeof(data));
	ASSERT_EQ(0, madvise(real, n * PAGE, MADV_FREE));
	memset(real + PAGE, 0x5c, PAGE);
	ASSERT_EQ(0, madvise(real, n * PAGE, MADV_PAGEOUT));
	EXPECT_EQ(0, memcmp(real, want, sizeof(want)));

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, n * PAGE, RW, PRIV_FIXED,
				  NULL));
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, n * PAGE, MADV_FREE));
	walk(_metadata, self->mfd, BASE, n, pg);
	expect_state(_metadata, pg, 0, n, P | WR | EX, 1);
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, pg[i].flags & (SHADOW_PAGE_DIRTY |
					    SHADOW_PAGE_YOUNG));
	write_bytes(_metadata, self->mfd, BASE + PAGE, want + PAGE, PAGE);
	r = age_reclaim(_metadata, self->mfd, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .busy = 1, .unmapped = n - 1,
		.reclaimed = n - 1 });
	EXPECT_EQ(n - 1, lazyfreed() - lf);
	EXPECT_EQ(0, DELTA(swap_slots));
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_rss_anon);
	expect_bytes(_metadata, self->mfd, BASE, want, sizeof(want));

	/* Written again, page 1 is plain anonymous memory: swapped out. */
	r = age_reclaim(_metadata, self->mfd, BASE + PAGE, PAGE);
	EXPECT_EQ(1, r.out_swapped_out);
	EXPECT_EQ(1, DELTA(swap_slots));
	/* MADV_FREE drops the swap entry: the page reads zeroes. */
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, n * PAGE, MADV_FREE));
	EXPECT_EQ(0, DELTA(swap_slots));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_swapents);
	memset(want + PAGE, 0, PAGE);
	expect_bytes(_metadata, self->mfd, BASE, want, sizeof(want));
	EXPECT_EQ(0, munmap(real, n * PAGE));

	/* Shared anonymous and locked memory: EINVAL on both. */
	real = mmap(NULL, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, real);
	real_err = madvise(real, PAGE, MADV_FREE) ? errno : 0;
	EXPECT_EQ(0, munmap(real, PAGE));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 8 * PAGE, PAGE, RW,
				  SHARED_FIXED, NULL));
	err = _shadow_madvise(self->mfd, BASE + 8 * PAGE, PAGE, MADV_FREE);
	EXPECT_EQ(EINVAL, real_err);
	EXPECT_EQ(-real_err, err);
	real = mmap(NULL, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, real);
	real_err = madvise(real, PAGE, MADV_FREE) ? errno : 0;
	EXPECT_EQ(0, munmap(real, PAGE));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 10 * PAGE, PAGE, RW,
				  PRIV_FIXED | MAP_LOCKED, NULL));
	err = _shadow_madvise(self->mfd, BASE + 10 * PAGE, PAGE, MADV_FREE);
	EXPECT_EQ(EINVAL, real_err);
	EXPECT_EQ(-real_err, err);
}

/*
 * MADV_REMOVE of shared anonymous memory swapped out frees the slots
 * (shmem_undo_range), mapped pages leave both address spaces mapping the
 * object, and the hole reads zeroes in both; a page swapped back in and
 * punched again goes too. The rest keeps its data.
 */
TEST_F(swap, madv_remove_swapped_shmem)
{
	const int n = 8;
	unsigned char data[8 * PAGE], zero[4 * PAGE] = { 0 };
	struct shadow_mm_reclaim r;
	long pages;
	int child;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, n * PAGE, RW, SHARED_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 11);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	r = age_reclaim(_metadata, self->mfd, BASE, 4 * PAGE);
	EXPECT_EQ(4, r.out_shmem);
	EXPECT_EQ(4, DELTA(swap_slots));
	ASSERT_EQ(0, _shadow_fault(child, BASE + 4 * PAGE, 4 * PAGE, 0,
				   NULL));
	EXPECT_EQ(4, shadow_stats(_metadata, child).out_rss_shmem);

	/* Pages 2-5: two slots, two pages mapped by both spaces. */
	pages = shadow_counter("pages");
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + 2 * PAGE, 4 * PAGE,
				     MADV_REMOVE));
	EXPECT_EQ(2, DELTA(swap_slots));
	EXPECT_EQ(2, DELTA(swap_pages));
	EXPECT_EQ(2, shadow_stats(_metadata, child).out_rss_shmem);
	EXPECT_EQ(2, shadow_stats(_metadata, self->mfd).out_rss_shmem);
	EXPECT_EQ(pages - 2, shadow_counter("pages"));
	expect_bytes(_metadata, child, BASE + 2 * PAGE, zero, sizeof(zero));
	expect_bytes(_metadata, self->mfd, BASE + 2 * PAGE, zero,
		     sizeof(zero));
	expect_bytes(_metadata, child, BASE, data, 2 * PAGE);
	expect_bytes(_metadata, self->mfd, BASE + 6 * PAGE, data + 6 * PAGE,
		     2 * PAGE);
	EXPECT_EQ(0, DELTA(swap_slots));

	/*
	 * Everything: the object holds eight pages again (two read back
	 * from the device, four zeroed by the reads of the hole); all go.
	 */
	pages = shadow_counter("pages");
	ASSERT_EQ(0, _shadow_madvise(child, BASE, n * PAGE, MADV_REMOVE));
	EXPECT_EQ(pages - n, shadow_counter("pages"));
	EXPECT_EQ(0, shadow_stats(_metadata, child).out_rss_shmem);
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_shmem);
	expect_bytes(_metadata, self->mfd, BASE, zero, sizeof(zero));
	close(child);
}

/*
 * Truncating a sparse shared anonymous object while the CPU is wanted
 * elsewhere (a spinner shares it): every page and slot goes, whether the
 * truncation stops to reschedule or not. Each 64-entry node of the
 * object's xarray holds two entries, at offsets 0 and 32, so the store
 * that empties a node frees it, and a reschedule there must resume at the
 * next index, not a node's span further (which would skip the next node's
 * offset 0). Swapped-out entries are in the first half. Three rounds, by
 * MADV_REMOVE (shmem_fallocate) and by the last munmap (evict_inode);
 * slow on a debug kernel, hence its own timeout.
 */
TEST_F_TIMEOUT(swap, shmem_truncate_reschedules, 120)
{
	const unsigned long nodes = 512, len = nodes * 64 * PAGE;
	unsigned char one = 0x5a;
	unsigned long i, addr;
	int round, status;
	long pages;
	cpu_set_t cpu0;
	pid_t spinner;

	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpu0), &cpu0));
	spinner = fork();
	ASSERT_LE(0, spinner);
	if (!spinner) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			;
	}
	for (round = 0; round < 3; round++) {
		pages = shadow_counter("pages");
		ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, len, RW,
					  SHARED_FIXED, NULL));
		for (i = 0; i < nodes; i++) {
			addr = BASE + i * 64 * PAGE;
			write_bytes(_metadata, self->mfd, addr, &one, 1);
			write_bytes(_metadata, self->mfd, addr + 32 * PAGE,
				    &one, 1);
		}
		EXPECT_EQ(2 * nodes,
			  shadow_stats(_metadata, self->mfd).out_rss_shmem);
		if (!self->no_swap)
			age_reclaim(_metadata, self->mfd, BASE, len / 2);
		if (round == 1)
			ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, len,
						     MADV_REMOVE));
		ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, len));
		EXPECT_EQ(0, DELTA(swap_slots));
		EXPECT_EQ(0, DELTA(shmem));
		EXPECT_EQ(pages, shadow_counter("pages"));
	}
	kill(spinner, SIGKILL);
	EXPECT_EQ(spinner, waitpid(spinner, &status, 0));
}

/*
 * MADV_FREE of pages a fork shares (copied, or in a PTE table an
 * on-demand fork shares, which breaks first): mapped twice, they stay
 * swap backed, as 6.1 skips a page whose mapcount is not 1; reclaim swaps
 * them out and both spaces read the data. The real kernel agrees.
 */
TEST_F(swap, madv_free_shared_by_fork)
{
	const int n = 4;
	unsigned char data[4 * PAGE], *real;
	struct shadow_page_info pg[4];
	struct shadow_mm_reclaim r;
	long lf = lazyfreed();
	int child, i, odf;
	pid_t pid;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	fill_random(data, sizeof(data), 8);

	ASSERT_EQ(0, prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
	real = mmap(NULL, n * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, real);
	memcpy(real, data, sizeof(data));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pause();
		_exit(0);
	}
	ASSERT_EQ(0, madvise(real, n * PAGE, MADV_FREE));
	ASSERT_EQ(0, madvise(real, n * PAGE, MADV_PAGEOUT));
	EXPECT_EQ(0, memcmp(real, data, sizeof(data)));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	EXPECT_EQ(0, munmap(real, n * PAGE));

	for (odf = 0; odf < 2; odf++) {
		ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, n * PAGE, RW,
					  PRIV_FIXED, NULL));
		write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
		child = _shadow_fork(self->mfd, odf ? SHADOW_FORK_ODF : 0,
				     NULL);
		ASSERT_LE(0, child);
		ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, n * PAGE,
					     MADV_FREE));
		walk(_metadata, self->mfd, BASE, n, pg);
		for (i = 0; i < n; i++)
			EXPECT_EQ(2, (int)pg[i].mapcount);
		r = age_reclaim(_metadata, self->mfd, BASE, n * PAGE);
		EXPECT_EQ(n, r.out_swapped_out);
		EXPECT_EQ(0, lazyfreed() - lf);
		expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
		expect_bytes(_metadata, child, BASE, data, sizeof(data));
		close(child);
		ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, n * PAGE));
	}
}

/*
 * MADV_PAGEOUT (madvise_pageout): the pages of the range go to swap now,
 * young or not, through the reclaim (swap entries, swapouts, slots); they
 * read back intact. A page mapped by a child as well (after fork, or in a
 * table on-demand fork shares) stays; the parent's COW copy goes.
 */
TEST_F(swap, madvise_pageout)
{
	struct shadow_page_info pg[4], cp[4];
	unsigned char data[4 * PAGE];
	struct shadow_mm_stats st;
	int child;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 21);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	walk(_metadata, self->mfd, BASE, 4, pg);
	expect_state(_metadata, pg, 0, 4, P | WR | EX, 1);
	EXPECT_EQ(SHADOW_PAGE_YOUNG, pg[0].flags & SHADOW_PAGE_YOUNG);

	/* Young pages too: references are ignored. */
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + PAGE, 2 * PAGE,
				     MADV_PAGEOUT));
	walk(_metadata, self->mfd, BASE, 4, pg);
	expect_state(_metadata, pg, 0, 1, P | WR | EX, 1);
	expect_state(_metadata, pg, 1, 3, SW | EX, 1);
	expect_state(_metadata, pg, 3, 4, P | WR | EX, 1);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(2, st.out_swapents);
	EXPECT_EQ(2, st.out_swapouts);
	EXPECT_EQ(2, st.out_rss_anon);
	EXPECT_EQ(2, DELTA(swap_slots));
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(2, st.out_swapins);

	/* After fork: shared pages stay, the parent's copy goes. */
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, 4 * PAGE,
				     MADV_DONTNEED));
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	/* Every page mapped twice (by a shared table under ODF=1): none go. */
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, 4 * PAGE,
				     MADV_PAGEOUT));
	walk(_metadata, self->mfd, BASE, 4, pg);
	expect_state(_metadata, pg, 0, 4, P, 2);
	EXPECT_EQ(0, DELTA(swap_slots));
	memcpy(data, "parent wrote", 12);
	write_bytes(_metadata, self->mfd, BASE, data, 12);
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, 4 * PAGE,
				     MADV_PAGEOUT));
	walk(_metadata, self->mfd, BASE, 4, pg);
	expect_state(_metadata, pg, 0, 1, SW | EX, 1);
	expect_state(_metadata, pg, 1, 4, P, 2);
	walk(_metadata, child, BASE, 4, cp);
	expect_state(_metadata, cp, 0, 1, P, 1);
	expect_state(_metadata, cp, 1, 4, P, 2);
	/* The child's MADV_PAGEOUT leaves them too. */
	ASSERT_EQ(0, _shadow_madvise(child, BASE, 4 * PAGE, MADV_PAGEOUT));
	walk(_metadata, child, BASE, 4, cp);
	/* Not exclusive since the fork: neither is its swap entry. */
	expect_state(_metadata, cp, 0, 1, SW, 1);
	expect_state(_metadata, cp, 1, 4, P, 2);
	EXPECT_EQ(2, DELTA(swap_slots));
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	ASSERT_EQ(0, _shadow_exit(child));
	close(child);
}

/*
 * MADV_COLD (madvise_cold): the young bits of the pages this space alone
 * maps are cleared; nothing is unmapped or swapped.
 */
TEST_F(swap, madvise_cold)
{
	struct shadow_page_info pg[4];
	unsigned char data[4 * PAGE];
	int i;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	fill_random(data, sizeof(data), 22);
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + PAGE, 2 * PAGE,
				     MADV_COLD));
	walk(_metadata, self->mfd, BASE, 4, pg);
	expect_state(_metadata, pg, 0, 4, P | WR | EX, 1);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(i == 0 || i == 3 ? SHADOW_PAGE_YOUNG : 0,
			  pg[i].flags & SHADOW_PAGE_YOUNG)
			TH_LOG("page %d", i);
	EXPECT_EQ(0, DELTA(swap_slots));
	/* Old pages go at the first reclaim pass. */
	EXPECT_EQ(2, reclaim(_metadata, self->mfd, 0, BASE + PAGE,
			     2 * PAGE).out_reclaimed);
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
}

/*
 * can_madv_lru_vma(): MADV_COLD and MADV_PAGEOUT refuse VM_LOCKED memory
 * with EINVAL, as the real kernel does on the same call; the pages stay.
 */
TEST_F(swap, madvise_lru_locked)
{
	const unsigned long win = 0x300000000000UL;
	int real_cold, real_pageout;
	char *p;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	p = mmap((void *)win, 2 * PAGE, RW, PRIV_FIXED | MAP_LOCKED, -1, 0);
	ASSERT_EQ((void *)win, (void *)p);
	real_cold = madvise(p, 2 * PAGE, MADV_COLD) ? errno : 0;
	real_pageout = madvise(p, 2 * PAGE, MADV_PAGEOUT) ? errno : 0;
	munmap(p, 2 * PAGE);
	EXPECT_EQ(EINVAL, real_cold);
	EXPECT_EQ(EINVAL, real_pageout);

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW,
				  PRIV_FIXED | MAP_LOCKED, NULL));
	EXPECT_EQ(-real_cold, _shadow_madvise(self->mfd, BASE, 2 * PAGE,
					      MADV_COLD));
	EXPECT_EQ(-real_pageout, _shadow_madvise(self->mfd, BASE, 2 * PAGE,
						 MADV_PAGEOUT));
	EXPECT_EQ(P | WR | EX,
		  shadow_page(_metadata, self->mfd, BASE).flags & STATE);
	EXPECT_EQ(0, DELTA(swap_slots));
}

/*
 * MAP_DROPPABLE (Linux 6.11's map type 0x08) against the real kernel:
 * where both know it, the flags of the VMA (smaps' VmFlags, "dp") and
 * where it splits and merges; its errors (MAP_LOCKED, MAP_GROWSDOWN, a
 * file: EINVAL); mlock leaves it unlocked; MADV_KEEPONFORK and MADV_DODUMP
 * refuse it. On 6.1 the map type is EINVAL on both sides.
 */
#define DP	(MAP_DROPPABLE | MAP_ANONYMOUS)
#define DP_FLAGS	(SHADOW_VM_READ | SHADOW_VM_WRITE | SHADOW_VM_MAYREAD | \
			 SHADOW_VM_MAYWRITE | SHADOW_VM_MAYEXEC | \
			 SHADOW_VM_NORESERVE | SHADOW_VM_WIPEONFORK | \
			 SHADOW_VM_DONTDUMP | SHADOW_VM_DROPPABLE)

/* The real mmap(2)'s errno for @flags, the mapping undone; 0 on success. */
static int real_mmap_err(int flags, int fd)
{
	void *p = mmap(NULL, 4 * PAGE, RW, flags, fd, 0);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, 4 * PAGE);
	return 0;
}

/*
 * The VMAs of [@real, @real + @len) and of [@addr, @addr + @len) in the
 * shadow space agree: as many, at the same offsets, with the same named
 * flags; the real ones' number.
 */
static int expect_same_vmas(struct __test_metadata *_metadata, int mfd,
			    unsigned char *real, unsigned long addr,
			    unsigned long len)
{
	struct shadow_region r[8], s[8];
	int i, nr, ns;

	nr = shadow_real_regions((unsigned long)real,
				 (unsigned long)real + len, r);
	ns = shadow_regions(mfd, addr, addr + len, s);
	EXPECT_EQ(nr, ns);
	for (i = 0; i < nr && i < ns; i++) {
		EXPECT_EQ(r[i].start - (unsigned long)real, s[i].start - addr);
		EXPECT_EQ(r[i].end - (unsigned long)real, s[i].end - addr);
		EXPECT_EQ(r[i].flags, s[i].flags) TH_LOG("VMA %d", i);
		EXPECT_EQ(0, r[i].unknown);
		EXPECT_EQ(0, s[i].unknown);
	}
	return nr;
}

TEST_F(swap, map_droppable)
{
	struct shadow_mm_mmap m = {
		.size = sizeof(m), .addr = BASE + 16 * PAGE, .len = PAGE,
		.prot = RW, .map_flags = MAP_DROPPABLE | MAP_FIXED,
	};
	struct shadow_region r[2];
	unsigned char *real;
	int fd, err;

	err = _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, DP | FIXED, NULL);
	if (!shadow_droppable()) {
		EXPECT_EQ(EINVAL, real_mmap_err(DP, -1));
		EXPECT_EQ(-EINVAL, err);
		return;
	}
	ASSERT_EQ(0, err);
	real = mmap(NULL, 4 * PAGE, RW, DP, -1, 0);
	ASSERT_NE(MAP_FAILED, real);
	ASSERT_EQ(1, expect_same_vmas(_metadata, self->mfd, real, BASE,
				      4 * PAGE));
	ASSERT_EQ(1, shadow_real_regions((unsigned long)real,
					 (unsigned long)real + 4 * PAGE, r));
	EXPECT_EQ(DP_FLAGS, r[0].flags & ~SHADOW_VM_SOFTDIRTY);

	/* Over the middle of a private mapping: it splits, no merge. */
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(real, mmap(real, 4 * PAGE, RW, PRIV | FIXED, -1, 0));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + PAGE, 2 * PAGE, RW,
				  DP | FIXED, NULL));
	ASSERT_EQ(real + PAGE, mmap(real + PAGE, 2 * PAGE, RW, DP | FIXED,
				    -1, 0));
	EXPECT_EQ(3, expect_same_vmas(_metadata, self->mfd, real, BASE,
				      4 * PAGE));
	/* Next to a droppable one: they merge. */
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 3 * PAGE, PAGE, RW,
				  DP | FIXED, NULL));
	ASSERT_EQ(real + 3 * PAGE, mmap(real + 3 * PAGE, PAGE, RW, DP | FIXED,
					-1, 0));
	EXPECT_EQ(2, expect_same_vmas(_metadata, self->mfd, real, BASE,
				      4 * PAGE));

	/* mlock leaves it unlocked, and succeeds; the advice that refuse. */
	EXPECT_EQ(0, mlock(real, 4 * PAGE));
	EXPECT_EQ(0, _shadow_mlock(self->mfd, BASE, 4 * PAGE, 0));
	EXPECT_EQ(2, expect_same_vmas(_metadata, self->mfd, real, BASE,
				      4 * PAGE));
	EXPECT_EQ(0, munlock(real, 4 * PAGE));
	EXPECT_EQ(0, _shadow_munlock(self->mfd, BASE, 4 * PAGE));
	EXPECT_EQ(-1, madvise(real + PAGE, PAGE, MADV_KEEPONFORK));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, _shadow_madvise(self->mfd, BASE + PAGE, PAGE,
					   MADV_KEEPONFORK));
	EXPECT_EQ(-1, madvise(real + PAGE, PAGE, MADV_DODUMP));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, _shadow_madvise(self->mfd, BASE + PAGE, PAGE,
					   MADV_DODUMP));
	EXPECT_EQ(2, expect_same_vmas(_metadata, self->mfd, real, BASE,
				      4 * PAGE));
	EXPECT_EQ(0, munmap(real, 4 * PAGE));

	/* The errors: EINVAL on both. */
	EXPECT_EQ(EINVAL, real_mmap_err(DP | MAP_LOCKED, -1));
	EXPECT_EQ(-EINVAL, _shadow_mmap(self->mfd, BASE + 8 * PAGE, PAGE, RW,
					DP | FIXED | MAP_LOCKED, NULL));
	EXPECT_EQ(EINVAL, real_mmap_err(DP | MAP_GROWSDOWN, -1));
	EXPECT_EQ(-EINVAL, _shadow_mmap(self->mfd, BASE + 8 * PAGE, PAGE, RW,
					DP | FIXED | MAP_GROWSDOWN, NULL));
	fd = memfd_create("droppable", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 * PAGE));
	EXPECT_EQ(EINVAL, real_mmap_err(MAP_DROPPABLE, fd));
	if (shadow_features(self->dev) & SHADOW_MM_FEATURE_FILE) {
		m.fd = fd;
		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MMAP, &m));
	}
	close(fd);
}

/*
 * Reclaim drops the pages of droppable memory, written or not, without
 * swap (try_to_unmap_one's VM_DROPPABLE case): they read zeroes after,
 * no swap slot is taken, out_lazyfreed and pglazyfreed count them. The
 * real kernel's MADV_PAGEOUT drops them the same. A fork's child gets
 * the mapping empty (VM_WIPEONFORK), on both, by either kind of fork.
 */
TEST_F(swap, droppable_reclaim_and_fork)
{
	const int n = 4;
	unsigned char data[4 * PAGE], zero[4 * PAGE], *real;
	struct shadow_page_info pg[4];
	struct shadow_mm_reclaim r;
	long lf = lazyfreed();
	int child, odf, status;
	pid_t pid;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	if (!shadow_droppable()) {
		EXPECT_EQ(-EINVAL, _shadow_mmap(self->mfd, BASE, n * PAGE, RW,
						DP | FIXED, NULL));
		return;
	}
	fill_random(data, sizeof(data), 21);
	memset(zero, 0, sizeof(zero));

	ASSERT_EQ(0, prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
	real = mmap(NULL, n * PAGE, RW, DP, -1, 0);
	ASSERT_NE(MAP_FAILED, real);
	memcpy(real, data, sizeof(data));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(memcmp(real, zero, sizeof(zero)) ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status) TH_LOG("the real child saw the parent's data");
	EXPECT_EQ(0, memcmp(real, data, sizeof(data)));
	ASSERT_EQ(0, madvise(real, n * PAGE, MADV_PAGEOUT));
	EXPECT_EQ(0, memcmp(real, zero, sizeof(zero)));
	EXPECT_EQ(0, munmap(real, n * PAGE));

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, n * PAGE, RW, DP | FIXED,
				  NULL));
	write_bytes(_metadata, self->mfd, BASE, data, sizeof(data));
	for (odf = 0; odf < 2; odf++) {
		child = _shadow_fork(self->mfd, odf ? SHADOW_FORK_ODF : 0,
				     NULL);
		ASSERT_LE(0, child);
		walk(_metadata, child, BASE, n, pg);
		expect_state(_metadata, pg, 0, n, 0, -1);
		expect_bytes(_metadata, child, BASE, zero, sizeof(zero));
		close(child);
	}
	expect_bytes(_metadata, self->mfd, BASE, data, sizeof(data));

	/* Dirty, and dropped all the same. */
	walk(_metadata, self->mfd, BASE, n, pg);
	expect_state(_metadata, pg, 0, n, P | WR | EX, 1);
	r = age_reclaim(_metadata, self->mfd, BASE, n * PAGE);
	expect_out(_metadata, &r, (struct want){
		.scanned = n, .unmapped = n, .reclaimed = n });
	EXPECT_EQ(n, r.out_lazyfreed);
	EXPECT_EQ(n, lazyfreed() - lf);
	EXPECT_EQ(0, DELTA(swap_slots));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_anon);
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_swapents);
	walk(_metadata, self->mfd, BASE, n, pg);
	expect_state(_metadata, pg, 0, n, 0, -1);
	expect_bytes(_metadata, self->mfd, BASE, zero, sizeof(zero));

	/* Written again, and again dropped, never swap backed. */
	write_bytes(_metadata, self->mfd, BASE + PAGE, data, PAGE);
	r = age_reclaim(_metadata, self->mfd, BASE, n * PAGE);
	EXPECT_EQ(0, r.out_swapped_out);
	EXPECT_EQ(1, r.out_lazyfreed);
	EXPECT_EQ(1, r.out_reclaimed);
	EXPECT_EQ(n + 1, lazyfreed() - lf);
	EXPECT_EQ(0, DELTA(swap_slots));
	expect_bytes(_metadata, self->mfd, BASE, zero, sizeof(zero));
}

/*
 * out_lazyfreed is an output added to struct shadow_mm_reclaim: a
 * caller of the first size gets the rest written and no more; one of
 * today's size gets it, whatever it held.
 */
TEST_F(swap, reclaim_out_lazyfreed_size)
{
	const size_t ver0 = offsetof(struct shadow_mm_reclaim, out_lazyfreed);
	struct shadow_mm_reclaim r;

	if (self->no_swap)
		SKIP(return, NO_SWAP);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	write_bytes(_metadata, self->mfd, BASE, "ab", 2);
	write_bytes(_metadata, self->mfd, BASE + PAGE, "cd", 2);
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE, 2 * PAGE, MADV_FREE));
	reclaim(_metadata, self->mfd, SHADOW_RECLAIM_AGE, BASE, 2 * PAGE);

	/* The first version: out_lazyfreed's bytes are not touched. */
	memset(&r, 0, sizeof(r));
	r.size = ver0;
	r.addr = BASE;
	r.len = PAGE;
	r.out_lazyfreed = 0x5a5a;
	ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_RECLAIM, &r));
	EXPECT_EQ(1, r.out_reclaimed);
	EXPECT_EQ(0x5a5a, r.out_lazyfreed);

	/* Today's: filled in, whatever it held. */
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.addr = BASE + PAGE;
	r.len = PAGE;
	r.out_lazyfreed = 0x5a5a;
	ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_RECLAIM, &r));
	EXPECT_EQ(1, r.out_reclaimed);
	EXPECT_EQ(1, r.out_lazyfreed);

	/* A size below the first version's: EINVAL. */
	r.size = ver0 - 8;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_RECLAIM, &r));
}

TEST_HARNESS_MAIN
