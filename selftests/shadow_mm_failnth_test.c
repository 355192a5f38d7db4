// SPDX-License-Identifier: GPL-2.0
/*
 * Every allocation of every operation, failed in turn (the model of
 * iommufd_fail_nth.c): for an operation, fail its n-th fault point through
 * /proc/thread-self/fail-nth (failslab and fail_page_alloc), n = 1, 2, ...
 * until the call succeeds. Each failing call must return -ENOMEM (or the
 * errno Linux gives there), leave the address space as it was (layout and
 * contents), and leak nothing once the space is closed. Needs a kernel with
 * FAULT_INJECTION (make check-debug); skips elsewhere.
 *
 * Reclaim (SHADOW_MM_FEATURE_SWAP) fails nothing: like vmscan, it leaves a
 * page it could not swap out (a swap slot or a store page it could not
 * allocate) where it was and goes on. Its sweep checks that every
 * injected failure leaves the contents intact and leaks nothing. The
 * swap-in sweeps start from a space reclaimed before the injection: a
 * read and a write fault over swap entries of private pages shared with
 * the child (do_swap_page), a shared page written out of its object
 * (shmem_swapin_folio), a present page in the swap cache. The file sweeps
 * (SHADOW_MM_FEATURE_FILE) map a memfd, and fault its pages into a private
 * (do_cow_fault) and a shared mapping of it.
 *
 * The on-demand fork sweeps (odf_*) start from a space whose child was
 * forked with SHADOW_FORK_ODF and shares the PTE table of a private
 * region with it, every page of the table written: the fork itself, then
 * each way of breaking the share with its copy failed: a write fault in
 * the parent and in the child, a write through SHADOW_MM_ACCESS (GUP),
 * mprotect, munmap, MADV_DONTNEED, mremap, mlock and MADV_POPULATE_WRITE
 * of part of the table, and reclaim. A failing break leaves both spaces
 * as they were: the page walk's records of the table in each (page ids,
 * flags, mapcounts) and their stats, exactly. When the break itself went
 * through and a later allocation failed, the table is no longer shared:
 * only SHADOW_PAGE_PT_SHARED and out_shared_ptes may differ then.
 */
#include <stddef.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

/* A private region filling a PTE table of its own, for on-demand fork. */
#define ODF_BASE	(BASE + (8UL << 20))
/* An aligned 2 MiB for the transparent huge page sweeps. */
#define THP_BASE	(BASE + (16UL << 20))
#define THP_LEN		(2UL << 20)
#define ODF_LEN		(2UL << 20)
/* The records compared: the table, and the next one (mremap's target). */
#define ODF_WALK	(2 * ODF_LEN / PAGE)
/* More fault points than any one operation here has. */
#define MAX_POINTS	256

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* Let failslab and fail_page_alloc fail sleeping and order-0 requests. */
static int setup_fault_injection(void)
{
	static const char * const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	};
	unsigned int i;

	if (access("/proc/thread-self/fail-nth", W_OK))
		return -1;
	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		if (write_file(knobs[i][0], knobs[i][1]))
			return -1;
	return 0;
}

static int fail_nth_fd = -1;

static void fail_nth_arm(int n)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", n);
	if (pwrite(fail_nth_fd, buf, strlen(buf), 0) < 0)
		abort();
}

/* Disarm; true when the n-th point was reached (the count ran out). */
static bool fail_nth_disarm(void)
{
	char buf[16] = "";

	if (pread(fail_nth_fd, buf, sizeof(buf) - 1, 0) < 0)
		abort();
	if (pwrite(fail_nth_fd, "0", 1, 0) < 0)
		abort();
	return atoi(buf) == 0;
}

/*
 * The state an operation must leave unchanged when it fails; for the
 * on-demand fork sweeps, the child's too.
 */
struct snapshot {
	char *maps;
	char data[6][16];
	char *child_maps;
	char child_data[2][16];
};

/* A memfd of four pages, for the file sweeps. */
static int file_fd = -1;

/*
 * Probed pages; the third lies in the range OP_MAP_FIXED replaces, the
 * last two in the on-demand fork's region.
 */
static const unsigned long probe[6] = {
	BASE, BASE + 5 * PAGE, BASE + 9 * PAGE, BASE + 64 * PAGE,
	ODF_BASE, ODF_BASE + 5 * PAGE,
};

static void snap(int mfd, int child, bool odf, struct snapshot *s)
{
	int i;

	s->maps = shadow_get_maps(mfd);
	for (i = 0; i < 6; i++) {
		memset(s->data[i], 0, sizeof(s->data[i]));
		_shadow_access(mfd, probe[i], s->data[i], sizeof(s->data[i]),
			       SHADOW_ACCESS_FORCE);
	}
	s->child_maps = odf ? shadow_get_maps(child) : NULL;
	memset(s->child_data, 0, sizeof(s->child_data));
	for (i = 0; odf && i < 2; i++)
		_shadow_access(child, probe[4 + i], s->child_data[i],
			       sizeof(s->child_data[i]), SHADOW_ACCESS_FORCE);
}

static void snap_free(struct snapshot *s)
{
	free(s->maps);
	free(s->child_maps);
}

/*
 * What the page walk and the stats show of both spaces of an on-demand
 * fork sweep, and the shares broken so far (module-wide).
 */
struct odf_state {
	struct shadow_page_info walk[2][ODF_WALK];
	struct shadow_mm_stats stats[2];
	long broken;
};

static struct odf_state odf_before, odf_after;

static void odf_state(struct __test_metadata *_metadata, int mfd, int child,
		      struct odf_state *o)
{
	int fds[2] = { mfd, child };
	int i;

	for (i = 0; i < 2; i++) {
		memset(o->walk[i], 0, sizeof(o->walk[i]));
		ASSERT_EQ(0, _shadow_walk(fds[i], ODF_BASE, ODF_WALK,
					  o->walk[i]));
		ASSERT_EQ(0, _shadow_get_stats(fds[i], &o->stats[i]));
	}
	o->broken = shadow_odf_counter("breaks") +
		    shadow_odf_counter("takeovers");
}

enum op {
	OP_CREATE, OP_MMAP, OP_MMAP_SHARED, OP_MUNMAP_SPLIT, OP_MAP_FIXED,
	OP_FAULT, OP_COW, OP_ACCESS_FORCE, OP_FORK, OP_MADVISE, OP_CLONE_VM,
	OP_EXIT, OP_MPROTECT, OP_MLOCK, OP_MREMAP_MOVE, OP_RECLAIM,
	OP_SWAPIN_READ, OP_SWAPIN_WRITE, OP_FILE_MMAP, OP_FILE_FAULT,
	OP_BATCH,
	OP_THP_FAULT, OP_THP_ZERO, OP_THP_COW, OP_THP_FORK, OP_THP_MUNMAP,
	OP_ODF_FORK, OP_ODF_WRITE, OP_ODF_MPROTECT, OP_ODF_MUNMAP,
	OP_ODF_MREMAP, OP_ODF_RECLAIM, OP_ODF_FAULT, OP_ODF_CHILD_FAULT,
	OP_ODF_DONTNEED, OP_ODF_MLOCK, OP_ODF_POPULATE,
	NR_OPS,
};

/* The operations on a space with THP "always" and a 2 MiB to map. */
static bool is_thp(enum op op)
{
	return op >= OP_THP_FAULT && op <= OP_THP_MUNMAP;
}

/* ... of those, the ones that start from a PMD leaf the child shares. */
static bool thp_mapped(enum op op)
{
	return op >= OP_THP_COW && op <= OP_THP_MUNMAP;
}

/* The operations on a space whose child shares tables (on-demand fork). */
static bool is_odf(enum op op)
{
	return op >= OP_ODF_FORK;
}

/* A mapping of the memfd, at @offset. */
static int _shadow_mmap_file(int mfd, __u64 addr, __u64 len, int prot,
			     int flags, __u64 offset)
{
	struct shadow_mm_mmap m = {
		.size = sizeof(m), .addr = addr, .len = len, .prot = prot,
		.map_flags = flags, .fd = file_fd, .offset = offset,
	};

	return shadow_ioctl(mfd, SHADOW_MM_MMAP, &m);
}

/*
 * A layout with something of everything: private pages written, a zero
 * page, a shared object, holes, a forked child holding COW pages.
 */
static int setup_space(struct __test_metadata *_metadata, int dev,
		       int *child, enum op op)
{
	int mfd = _shadow_create(dev, 0, NULL);

	ASSERT_LE(0, mfd);
	if (op == OP_FILE_FAULT) {
		/* A private and a shared mapping of the memfd, not faulted. */
		ASSERT_EQ(0, _shadow_mmap_file(mfd, BASE + 128 * PAGE,
					       2 * PAGE, RW,
					       MAP_PRIVATE | MAP_FIXED, 0));
		ASSERT_EQ(0, _shadow_mmap_file(mfd, BASE + 130 * PAGE,
					       2 * PAGE, RW,
					       MAP_SHARED | MAP_FIXED,
					       2 * PAGE));
	}
	ASSERT_EQ(0, _shadow_mmap(mfd, BASE, 8 * PAGE, RW, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(mfd, BASE + 8 * PAGE, 4 * PAGE, RW,
				  SHARED_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(mfd, BASE + 64 * PAGE, 4 * PAGE, PROT_READ,
				  PRIV_FIXED, NULL));
	shadow_put(_metadata, mfd, BASE, "private page 0");
	shadow_put(_metadata, mfd, BASE + 5 * PAGE, "private page 5");
	shadow_put(_metadata, mfd, BASE + 9 * PAGE, "shared page 1");
	ASSERT_EQ(0, _shadow_fault(mfd, BASE + 64 * PAGE, PAGE, 0, NULL));
	if (is_thp(op)) {
		ASSERT_EQ(0, _shadow_set_thp(mfd, SHADOW_THP_SET_MODE |
					     SHADOW_THP_SET_DISABLE |
					     SHADOW_THP_SET_USE_ZERO_PAGE,
					     SHADOW_MM_THP_ALWAYS, 0, 1, NULL));
		ASSERT_EQ(0, _shadow_mmap(mfd, THP_BASE, THP_LEN, RW,
					  PRIV_FIXED, NULL));
		if (thp_mapped(op))
			shadow_put(_metadata, mfd, THP_BASE + 3 * PAGE,
				   "thp page 3");
	}
	if (is_odf(op)) {
		ASSERT_EQ(0, _shadow_mmap(mfd, ODF_BASE, ODF_LEN, RW,
					  PRIV_FIXED,
					  NULL));
		/*
		 * A full table, but for reclaim, whose fault points grow with
		 * the pages it swaps out.
		 */
		if (op != OP_ODF_RECLAIM)
			ASSERT_EQ(0, _shadow_fault(mfd, ODF_BASE, ODF_LEN,
						   SHADOW_FAULT_WRITE, NULL));
		shadow_put(_metadata, mfd, ODF_BASE, "odf page 0");
		shadow_put(_metadata, mfd, ODF_BASE + 5 * PAGE, "odf page 5");
	}
	*child = _shadow_fork(mfd, is_odf(op) ? SHADOW_FORK_ODF : 0, NULL);
	ASSERT_LE(0, *child);
	return mfd;
}

static const char * const op_names[] = {
	"create", "mmap", "mmap shared", "munmap with two splits",
	"MAP_FIXED over two VMAs", "write fault", "COW break", "forced write",
	"fork", "madvise split", "CLONE_VM", "exit", "mprotect with two splits",
	"mlock with two splits and populate", "mremap move",
	"reclaim (age, then swap out)", "swap-in read faults",
	"swap-in write faults", "mmap of a file",
	"file faults (private copy, shared)",
	"batch (mmap, write, munmap split)",
	"THP write fault", "THP read fault (huge zero page)",
	"write to a THP a fork shares (split, COW)", "fork of a THP",
	"munmap of a page of a THP (split)",
	"on-demand fork", "write (GUP) breaking a shared table",
	"mprotect breaking a shared table", "munmap breaking a shared table",
	"mremap breaking a shared table", "reclaim breaking shared tables",
	"write fault breaking a shared table",
	"write fault in the child breaking a shared table",
	"MADV_DONTNEED breaking a shared table",
	"mlock breaking a shared table",
	"MADV_POPULATE_WRITE breaking a shared table",
};

/* Reclaim: injected failures are absorbed, never reported. */
static bool is_reclaim(enum op op)
{
	return op == OP_RECLAIM || op == OP_ODF_RECLAIM;
}

/* Reclaim the whole space: one pass to age it, one to swap it out. */
static int reclaim_space(int mfd, struct shadow_mm_reclaim *r)
{
	int ret = _shadow_reclaim(mfd, SHADOW_RECLAIM_AGE, 0, 0, r);

	return ret ? ret : _shadow_reclaim(mfd, 0, 0, 0, r);
}

/*
 * Before the injection, after the snapshot (whose reads fault everything
 * back in): the swap-in sweeps start from a reclaimed space, with page 5
 * read back into the swap cache.
 */
static void prepare_op(struct __test_metadata *_metadata, enum op op,
		       int mfd)
{
	struct shadow_mm_reclaim r;
	char c;

	if (op != OP_SWAPIN_READ && op != OP_SWAPIN_WRITE)
		return;
	ASSERT_EQ(0, reclaim_space(mfd, &r));
	/* Pages 0 and 5 (with the child) and the shared page 1. */
	ASSERT_EQ(3, r.out_reclaimed);
	ASSERT_EQ(1, _shadow_access(mfd, BASE + 5 * PAGE, &c, 1, 0));
}

/* An access's result as 0 or -errno. */
static int access_result(long ret)
{
	return ret < 0 ? (int)ret : 0;
}

/*
 * A batch stopping at its first error: the call's error, or the error of
 * the operation that stopped it.
 */
static int run_batch(int mfd)
{
	char buf[8] = "batched";	/* on the stack: touched, no fault */
	struct shadow_mm_batch_op ops[] = {
		BATCH_MMAP(BASE + 32 * PAGE, 4 * PAGE, RW, PRIV_FIXED),
		BATCH_WRITE(BASE + 33 * PAGE, sizeof(buf), buf),
		BATCH_MUNMAP(BASE + 2 * PAGE, 8 * PAGE),
	};
	__u32 done, i;
	int ret;

	ret = _shadow_batch(mfd, 0, ops, ARRAY_SIZE(ops), &done);
	if (ret)
		return ret;
	for (i = 0; i < done; i++)
		if (ops[i].out_result < 0)
			return ops[i].out_result;
	return done == ARRAY_SIZE(ops) ? 0 : -EPROTO;
}

/*
 * Run one operation, in @mfd (in @child, the space forked from it, for
 * OP_ODF_CHILD_FAULT); 0 or -errno. A new fd goes to *newfd. The on-demand
 * fork sweeps touch one page where a page's own allocation (a COW copy)
 * follows the break: a later page's could fail after the first one's
 * went through.
 */
static int run_op(enum op op, int dev, int mfd, int child, int *newfd)
{
	char buf[8] = "written";

	switch (op) {
	case OP_CREATE:
		*newfd = _shadow_create(dev, 0, NULL);
		return *newfd < 0 ? *newfd : 0;
	case OP_MMAP:
		return _shadow_mmap(mfd, BASE + 32 * PAGE, 4 * PAGE, RW,
				    PRIV_FIXED,
				    NULL);
	case OP_MMAP_SHARED:
		return _shadow_mmap(mfd, BASE + 32 * PAGE, 4 * PAGE, RW,
				    SHARED_FIXED, NULL);
	case OP_MUNMAP_SPLIT:
		return _shadow_munmap(mfd, BASE + 2 * PAGE, 8 * PAGE);
	case OP_MAP_FIXED:
		return _shadow_mmap(mfd, BASE + 6 * PAGE, 4 * PAGE, PROT_READ,
				    PRIV_FIXED, NULL);
	case OP_FAULT:
		return _shadow_fault(mfd, BASE + PAGE, 3 * PAGE,
				     SHADOW_FAULT_WRITE, NULL);
	case OP_COW:
		return access_result(_shadow_access(mfd, BASE + 5 * PAGE, buf,
						    4, SHADOW_ACCESS_WRITE));
	case OP_ACCESS_FORCE:
		return access_result(_shadow_access(mfd, BASE + 64 * PAGE, buf,
						    4, SHADOW_ACCESS_WRITE |
						    SHADOW_ACCESS_FORCE));
	case OP_FORK:
		*newfd = _shadow_fork(mfd, 0, NULL);
		return *newfd < 0 ? *newfd : 0;
	case OP_MADVISE:
		return _shadow_madvise(mfd, BASE + 2 * PAGE, 2 * PAGE,
				       MADV_DONTFORK);
	case OP_CLONE_VM:
		*newfd = _shadow_fork(mfd, SHADOW_FORK_VM, NULL);
		return *newfd < 0 ? *newfd : 0;
	case OP_EXIT:
		/* The parent's exit_mmap, with COW pages the child shares. */
		return _shadow_exit(mfd);
	case OP_MPROTECT:
		return _shadow_mprotect(mfd, BASE + 2 * PAGE, 2 * PAGE,
					PROT_READ);
	case OP_MLOCK:
		return _shadow_mlock(mfd, BASE + 2 * PAGE, 2 * PAGE, 0);
	case OP_MREMAP_MOVE:
		/*
		 * The shared mapping above leaves no room: the written pages,
		 * COW-shared with the child, move to a new 512 GiB region
		 * (new tables at every level).
		 */
		return _shadow_mremap(mfd, BASE, 8 * PAGE, 16 * PAGE,
				      MREMAP_MAYMOVE, 0, NULL);
	case OP_RECLAIM: {
		struct shadow_mm_reclaim r;

		return reclaim_space(mfd, &r);
	}
	case OP_SWAPIN_READ:
		return _shadow_fault(mfd, BASE, 12 * PAGE, 0, NULL);
	case OP_SWAPIN_WRITE:
		return _shadow_fault(mfd, BASE, 12 * PAGE, SHADOW_FAULT_WRITE,
				     NULL);
	case OP_FILE_MMAP:
		return _shadow_mmap_file(mfd, BASE + 32 * PAGE, 4 * PAGE, RW,
					 MAP_SHARED | MAP_FIXED, 0);
	case OP_FILE_FAULT:
		return _shadow_fault(mfd, BASE + 128 * PAGE, 4 * PAGE,
				     SHADOW_FAULT_WRITE, NULL);
	case OP_BATCH:
		return run_batch(mfd);
	case OP_THP_FAULT:
		return _shadow_fault(mfd, THP_BASE, 1, SHADOW_FAULT_WRITE, NULL);
	case OP_THP_ZERO:
		return _shadow_fault(mfd, THP_BASE, 1, 0, NULL);
	case OP_THP_COW:
		return access_result(_shadow_access(mfd, THP_BASE + 3 * PAGE,
						    buf, 4,
						    SHADOW_ACCESS_WRITE));
	case OP_THP_FORK:
		*newfd = _shadow_fork(mfd, 0, NULL);
		return *newfd < 0 ? *newfd : 0;
	case OP_THP_MUNMAP:
		return _shadow_munmap(mfd, THP_BASE + 7 * PAGE, PAGE);
	case OP_ODF_FORK:
		*newfd = _shadow_fork(mfd, SHADOW_FORK_ODF, NULL);
		return *newfd < 0 ? *newfd : 0;
	case OP_ODF_WRITE:
		return access_result(_shadow_access(mfd, ODF_BASE + 5 * PAGE,
						    buf, 4,
						    SHADOW_ACCESS_WRITE));
	case OP_ODF_MPROTECT:
		return _shadow_mprotect(mfd, ODF_BASE + 2 * PAGE, 2 * PAGE,
					PROT_READ);
	case OP_ODF_MUNMAP:
		return _shadow_munmap(mfd, ODF_BASE + 2 * PAGE, 2 * PAGE);
	case OP_ODF_MREMAP:
		/* Part of the table, by PTEs, to the middle of another. */
		return _shadow_mremap(mfd, ODF_BASE, 16 * PAGE, 16 * PAGE,
				      MREMAP_MAYMOVE | MREMAP_FIXED,
				      ODF_BASE + (3UL << 20), NULL);
	case OP_ODF_RECLAIM: {
		struct shadow_mm_reclaim r;

		return reclaim_space(mfd, &r);
	}
	case OP_ODF_FAULT:
		return _shadow_fault(mfd, ODF_BASE + 5 * PAGE, PAGE,
				     SHADOW_FAULT_WRITE, NULL);
	case OP_ODF_CHILD_FAULT:
		return _shadow_fault(child, ODF_BASE + 5 * PAGE, PAGE,
				     SHADOW_FAULT_WRITE, NULL);
	case OP_ODF_DONTNEED:
		return _shadow_madvise(mfd, ODF_BASE + 2 * PAGE, 2 * PAGE,
				       MADV_DONTNEED);
	case OP_ODF_MLOCK:
		return _shadow_mlock(mfd, ODF_BASE + 5 * PAGE, PAGE, 0);
	case OP_ODF_POPULATE:
		return _shadow_madvise(mfd, ODF_BASE + 5 * PAGE, PAGE,
				       MADV_POPULATE_WRITE);
	default:
		return -EINVAL;
	}
}

/*
 * Does a failed allocation give the errno Linux gives there? madvise
 * reports a failed split as EAGAIN; mlock a failed split as ENOMEM and a
 * populate out of memory as EAGAIN.
 */
static bool expected_errno(enum op op, int ret)
{
	if (op == OP_MADVISE)
		return ret == -EAGAIN;
	if (op == OP_MLOCK || op == OP_ODF_MLOCK)
		return ret == -ENOMEM || ret == -EAGAIN;
	return ret == -ENOMEM;
}

/* A failed munmap, madvise, mprotect, mlock or batch keeps its splits. */
static bool keeps_splits(enum op op)
{
	return op == OP_MUNMAP_SPLIT || op == OP_MADVISE ||
	       op == OP_MPROTECT || op == OP_MLOCK || op == OP_BATCH ||
	       op == OP_THP_MUNMAP ||
	       op == OP_ODF_MPROTECT || op == OP_ODF_MUNMAP ||
	       op == OP_ODF_MLOCK;
}

/*
 * The stats (each a __u64) a failed operation of an on-demand fork sweep
 * leaves as they were; the last two with exceptions, see below.
 */
static const struct {
	const char *name;
	size_t offset;
} odf_stats[] = {
	{ "out_total_vm", offsetof(struct shadow_mm_stats, out_total_vm) },
	{ "out_data_vm", offsetof(struct shadow_mm_stats, out_data_vm) },
	{ "out_rss_anon", offsetof(struct shadow_mm_stats, out_rss_anon) },
	{ "out_rss_shmem", offsetof(struct shadow_mm_stats, out_rss_shmem) },
	{ "out_rss_file", offsetof(struct shadow_mm_stats, out_rss_file) },
	{ "out_nr_puds", offsetof(struct shadow_mm_stats, out_nr_puds) },
	{ "out_nr_pmds", offsetof(struct shadow_mm_stats, out_nr_pmds) },
	{ "out_nr_ptes", offsetof(struct shadow_mm_stats, out_nr_ptes) },
	{ "out_min_flt", offsetof(struct shadow_mm_stats, out_min_flt) },
	{ "out_maj_flt", offsetof(struct shadow_mm_stats, out_maj_flt) },
	{ "out_cow_copies", offsetof(struct shadow_mm_stats, out_cow_copies) },
	{ "out_cow_reuses", offsetof(struct shadow_mm_stats, out_cow_reuses) },
	{ "out_swapents", offsetof(struct shadow_mm_stats, out_swapents) },
	{ "out_swapins", offsetof(struct shadow_mm_stats, out_swapins) },
	{ "out_swapouts", offsetof(struct shadow_mm_stats, out_swapouts) },
	{ "out_locked_vm", offsetof(struct shadow_mm_stats, out_locked_vm) },
	{ "out_shared_ptes", offsetof(struct shadow_mm_stats, out_shared_ptes) },
};

#define ODF_LOCKED_VM	(ARRAY_SIZE(odf_stats) - 2)
#define ODF_SHARED_PTES	(ARRAY_SIZE(odf_stats) - 1)

static __u64 stat_value(const struct shadow_mm_stats *st, unsigned int i)
{
	return *(const __u64 *)((const char *)st + odf_stats[i].offset);
}

/*
 * An on-demand fork sweep's failed operation left both spaces' walk
 * records and stats as they were; where a share was broken before the
 * failure (a later allocation failed), only its traces may differ. The
 * splits a failed munmap, mprotect or mlock keeps change the VMA counts.
 */
static void expect_odf_unchanged(struct __test_metadata *_metadata,
				 enum op op, int n,
				 const struct odf_state *a,
				 const struct odf_state *b)
{
	static const char * const who[2] = { "parent", "child" };
	__u32 mask = ~0U;
	int i, j;

	if (a->broken != b->broken)
		mask &= ~SHADOW_PAGE_PT_SHARED;
	for (i = 0; i < 2; i++) {
		const struct shadow_mm_stats *sa = &a->stats[i];
		const struct shadow_mm_stats *sb = &b->stats[i];

		for (j = 0; j < ODF_WALK; j++) {
			const struct shadow_page_info *pa = &a->walk[i][j];
			const struct shadow_page_info *pb = &b->walk[i][j];

			if (pa->page_id == pb->page_id &&
			    pa->mapcount == pb->mapcount &&
			    !((pa->flags ^ pb->flags) & mask))
				continue;
			EXPECT_EQ(pa->flags & mask, pb->flags & mask);
			EXPECT_EQ(pa->mapcount, pb->mapcount);
			EXPECT_EQ(pa->page_id, pb->page_id);
			TH_LOG("%s, fault point %d: %s's page %d changed",
			       op_names[op], n, who[i], j);
			break;
		}
		/* The splits a failed operation keeps: another count. */
		if (!keeps_splits(op))
			EXPECT_EQ(sa->out_map_count, sb->out_map_count);
		for (j = 0; j < (int)ARRAY_SIZE(odf_stats); j++) {
			/* A failed mlock keeps VM_LOCKED (locked_vm). */
			if (j == ODF_LOCKED_VM && keeps_splits(op))
				continue;
			if (j == ODF_SHARED_PTES && a->broken != b->broken)
				continue;
			EXPECT_EQ(stat_value(sa, j), stat_value(sb, j)) {
				TH_LOG("%s, fault point %d: %s's %s changed",
				       op_names[op], n, who[i],
				       odf_stats[j].name);
			}
		}
	}
}

/*
 * Sweep every fault point of @op; returns how many there were, and in
 * *@failed how many made the call fail. Some injected failures are
 * absorbed and the call succeeds: kmemleak's own metadata, allocated after
 * each object, falls back to its emergency pool, for one. A munmap,
 * madvise, mprotect or mlock that fails keeps the splits it made (as Linux
 * does; a failed mlock populate keeps VM_LOCKED too), so its check is on
 * the contents only.
 */
static int sweep(struct __test_metadata *_metadata, int dev, enum op op,
		 int *failed)
{
	int n;

	*failed = 0;

	for (n = 1; n < MAX_POINTS; n++) {
		struct shadow_counts before = shadow_counts();
		struct snapshot s0, s1;
		int mfd, child, newfd = -1, ret;
		bool hit;

		mfd = setup_space(_metadata, dev, &child, op);
		snap(mfd, child, is_odf(op), &s0);
		prepare_op(_metadata, op, mfd);
		if (is_odf(op))
			odf_state(_metadata, mfd, child, &odf_before);
		fail_nth_arm(n);
		ret = run_op(op, dev, mfd, child, &newfd);
		hit = fail_nth_disarm();
		/* Before the snapshot's reads, which fault. */
		if (is_odf(op))
			odf_state(_metadata, mfd, child, &odf_after);

		if (!hit) {
			/* Fewer fault points than n: it simply worked. */
			EXPECT_EQ(0, ret);
		} else if (!ret && is_reclaim(op)) {
			/* A failure absorbed: the pages must be intact. */
			snap(mfd, child, is_odf(op), &s1);
			EXPECT_STREQ(s0.maps, s1.maps);
			EXPECT_EQ(0, memcmp(s0.data, s1.data, sizeof(s0.data))) {
				TH_LOG("%s, fault point %d: contents changed",
				       op_names[op], n);
			}
			EXPECT_EQ(0, memcmp(s0.child_data, s1.child_data,
					    sizeof(s0.child_data)));
			snap_free(&s1);
		} else if (ret) {
			(*failed)++;
			EXPECT_TRUE(expected_errno(op, ret)) {
				TH_LOG("%s, fault point %d: %d", op_names[op],
				       n, ret);
			}
			if (is_odf(op))
				expect_odf_unchanged(_metadata, op, n,
						     &odf_before, &odf_after);
			snap(mfd, child, is_odf(op), &s1);
			if (!keeps_splits(op) && op != OP_MAP_FIXED)
				EXPECT_STREQ(s0.maps, s1.maps);
			/* The child's layout, whatever the parent did. */
			if (is_odf(op) && op != OP_ODF_CHILD_FAULT)
				EXPECT_STREQ(s0.child_maps, s1.child_maps);
			/*
			 * A failed MAP_FIXED has already unmapped the range
			 * it was to replace, as in Linux (mmap_region()
			 * unmaps first): only the rest must be intact.
			 */
			if (op == OP_MAP_FIXED)
				memcpy(s1.data[2], s0.data[2],
				       sizeof(s0.data[2]));
			EXPECT_EQ(0, memcmp(s0.data, s1.data, sizeof(s0.data))) {
				TH_LOG("%s, fault point %d: contents changed",
				       op_names[op], n);
			}
			EXPECT_EQ(0, memcmp(s0.child_data, s1.child_data,
					    sizeof(s0.child_data))) {
				TH_LOG("%s, fault point %d: the child's contents changed",
				       op_names[op], n);
			}
			snap_free(&s1);
		}
		snap_free(&s0);
		if (newfd >= 0)
			close(newfd);
		close(child);
		close(mfd);
		/* Nothing leaked, whatever happened. */
		shadow_expect_counts(_metadata, before);
		if (!hit)
			break;
	}
	ASSERT_GT(MAX_POINTS, n);
	return n - 1;
}

FIXTURE(fail_nth) {
	int dev;
	bool no_injection;
};

FIXTURE_VARIANT(fail_nth) {
	enum op op;
};

FIXTURE_VARIANT_ADD(fail_nth, create) {
	.op = OP_CREATE,
};

FIXTURE_VARIANT_ADD(fail_nth, mmap) {
	.op = OP_MMAP,
};

FIXTURE_VARIANT_ADD(fail_nth, mmap_shared) {
	.op = OP_MMAP_SHARED,
};

FIXTURE_VARIANT_ADD(fail_nth, munmap_split) {
	.op = OP_MUNMAP_SPLIT,
};

FIXTURE_VARIANT_ADD(fail_nth, map_fixed) {
	.op = OP_MAP_FIXED,
};

FIXTURE_VARIANT_ADD(fail_nth, fault) {
	.op = OP_FAULT,
};

FIXTURE_VARIANT_ADD(fail_nth, cow) {
	.op = OP_COW,
};

FIXTURE_VARIANT_ADD(fail_nth, access_force) {
	.op = OP_ACCESS_FORCE,
};

FIXTURE_VARIANT_ADD(fail_nth, fork) {
	.op = OP_FORK,
};

FIXTURE_VARIANT_ADD(fail_nth, madvise) {
	.op = OP_MADVISE,
};

FIXTURE_VARIANT_ADD(fail_nth, clone_vm) {
	.op = OP_CLONE_VM,
};

FIXTURE_VARIANT_ADD(fail_nth, exit) {
	.op = OP_EXIT,
};

FIXTURE_VARIANT_ADD(fail_nth, mprotect) {
	.op = OP_MPROTECT,
};

FIXTURE_VARIANT_ADD(fail_nth, mlock) {
	.op = OP_MLOCK,
};

FIXTURE_VARIANT_ADD(fail_nth, mremap_move) {
	.op = OP_MREMAP_MOVE,
};

FIXTURE_VARIANT_ADD(fail_nth, reclaim) {
	.op = OP_RECLAIM,
};

FIXTURE_VARIANT_ADD(fail_nth, swapin_read) {
	.op = OP_SWAPIN_READ,
};

FIXTURE_VARIANT_ADD(fail_nth, swapin_write) {
	.op = OP_SWAPIN_WRITE,
};

FIXTURE_VARIANT_ADD(fail_nth, file_mmap) {
	.op = OP_FILE_MMAP,
};

FIXTURE_VARIANT_ADD(fail_nth, file_fault) {
	.op = OP_FILE_FAULT,
};

FIXTURE_VARIANT_ADD(fail_nth, batch) {
	.op = OP_BATCH,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_fork) {
	.op = OP_ODF_FORK,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_write) {
	.op = OP_ODF_WRITE,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_mprotect) {
	.op = OP_ODF_MPROTECT,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_munmap) {
	.op = OP_ODF_MUNMAP,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_mremap) {
	.op = OP_ODF_MREMAP,
};

FIXTURE_VARIANT_ADD(fail_nth, thp_fault) {
	.op = OP_THP_FAULT,
};

FIXTURE_VARIANT_ADD(fail_nth, thp_zero) {
	.op = OP_THP_ZERO,
};

FIXTURE_VARIANT_ADD(fail_nth, thp_cow) {
	.op = OP_THP_COW,
};

FIXTURE_VARIANT_ADD(fail_nth, thp_fork) {
	.op = OP_THP_FORK,
};

FIXTURE_VARIANT_ADD(fail_nth, thp_munmap) {
	.op = OP_THP_MUNMAP,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_reclaim) {
	.op = OP_ODF_RECLAIM,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_fault) {
	.op = OP_ODF_FAULT,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_child_fault) {
	.op = OP_ODF_CHILD_FAULT,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_dontneed) {
	.op = OP_ODF_DONTNEED,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_mlock) {
	.op = OP_ODF_MLOCK,
};

FIXTURE_VARIANT_ADD(fail_nth, odf_populate) {
	.op = OP_ODF_POPULATE,
};

FIXTURE_SETUP(fail_nth)
{
	/* 6.1's harness runs the body after a SKIP here: it skips there. */
	self->no_injection = setup_fault_injection() != 0;
	if (self->no_injection)
		return;
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	ASSERT_LE(0, fail_nth_fd);
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	/* The in-tree module has every feature the sweeps need. */
	ASSERT_EQ(SHADOW_MM_FEATURE_SWAP | SHADOW_MM_FEATURE_FILE |
		  SHADOW_MM_FEATURE_BATCH, shadow_features(self->dev) &
		  (SHADOW_MM_FEATURE_SWAP | SHADOW_MM_FEATURE_FILE |
		   SHADOW_MM_FEATURE_BATCH));
	if (file_fd < 0) {
		file_fd = memfd_create("failnth", 0);
		ASSERT_LE(0, file_fd);
		ASSERT_EQ(0, ftruncate(file_fd, 4 * PAGE));
		ASSERT_EQ(9, pwrite(file_fd, "file page", 9, 0));
	}
}

FIXTURE_TEARDOWN(fail_nth)
{
	if (fail_nth_fd >= 0)
		close(fail_nth_fd);
	if (!self->no_injection)
		close(self->dev);
}

/* Every fault point of the variant's operation, failed in turn. */
TEST_F(fail_nth, every_point)
{
	int points, failed;

	if (self->no_injection)
		SKIP(return, "no fault injection in this kernel (make check-debug)");
	points = sweep(_metadata, self->dev, variant->op, &failed);
	TH_LOG("%s: %d fault points, %d made the call fail",
	       op_names[variant->op], points, failed);
	/*
	 * Each of these allocates at least once; exit allocates nothing that
	 * could fail, as exit_mmap has no way to report it, and reclaim
	 * reports none: a page it could not swap out stays. MADV_DONTNEED
	 * allocates only if its zap's break may fail.
	 */
	if (variant->op != OP_ODF_DONTNEED)
		EXPECT_EQ(variant->op == OP_EXIT || is_reclaim(variant->op),
			  failed == 0);
}

TEST_HARNESS_MAIN
