// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: many address spaces, many threads, every operation at once, for
 * a bounded time, with the contents checked where they can be known.
 *
 *   SHADOW_STRESS_SECONDS=n  how long the threads run (default 10): time,
 *                            not a count, so that a slow debug kernel
 *                            finishes too
 *   SHADOW_STRESS_SEED=n     the seed (default: from the clock), printed
 *                            with every failure
 *
 * Every thread owns a range in every address space (through its own
 * CLONE_VM-style fd, SHADOW_FORK_VM of the space's first fd) and keeps a
 * model of it page by page: mapped or not, shared or private, protection,
 * VM_DONTCOPY, VM_WIPEONFORK, and which pattern it last wrote. In its range
 * it maps, unmaps, writes patterns with SHADOW_MM_ACCESS and reads them
 * back, checks that holes and protections fault (EFAULT), advises, and
 * forks: the child must hold the snapshot (none of the VM_DONTCOPY pages,
 * zeroes in VM_WIPEONFORK ones), a private page written in the parent
 * after the fork keeps its old contents in the child and the reverse
 * (copy-on-write), a shared page is seen by both. Where the module has
 * them, it also mprotects, mlocks and mremaps its pages, and reclaims them
 * (swapped out, they must read back as written).
 *
 * The same threads race in a common range of every space: map, unmap,
 * fault, access, advise, protect, lock, remap, query, fork spaces and add
 * users, and exit and close those under each other. Those results are
 * only checked against the errnos the uapi allows (as in
 * shadow_mm_fuzz_test.c); a call on an exited fd must get ESRCH.
 *
 * At the end every thread checks its ranges once more, every fd is closed,
 * and the module's counters (mms, vmas, pages, shmem, anon_vmas, swap
 * slots and store pages) are back at their baseline.
 */
#include <pthread.h>
#include <sys/resource.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"
#include "shadow_mm_fuzz.h"

#define SPACES		8
#define THREADS		6
/* Each thread's range, in every space; ranges are OWN_STRIDE apart. */
#define OWN_BASE	0x100000000000UL
#define OWN_PAGES	32
#define OWN_STRIDE	(64 * PAGE)
/* The range every thread races in. */
#define CHAOS_BASE	0x300000000000UL
#define CHAOS_PAGES	1024UL
/* Address-space fds of forks and extra users a thread keeps. */
#define CHAOS_FDS	4
/* RLIMIT_AS, which bounds each shadow address space too. */
#define STRESS_AS_LIMIT	(128UL << 20)
#define MAX_REPORTS	20

#define EF	ES(EFAULT)
#define EI	ES(EINVAL)
#define EM	ES(ENOMEM)

static __u64 stress_seed;
static __u64 stress_seconds;

static void __attribute__((constructor)) stress_init(void)
{
	stress_seed = env_seed("SHADOW_STRESS_SEED");
	stress_seconds = env_u64("SHADOW_STRESS_SECONDS", 10);
}

/* What the owner knows of one page of its range. */
struct pg {
	bool mapped, shared, dontfork, wipe;
	int prot;
	__u32 seq;	/* the pattern last written; 0: zeroes */
	int src;	/* the page it was written at: mremap moves it */
};

struct chaos_fd {
	int fd;		/* -1: none */
	bool exited;
};

/**
 * struct stress - what the threads share
 * @lock: protects @failures
 * @space: the first fd of each address space; never exited until the end
 * @ioctls: SHADOW_MM_API's out_ioctls
 * @deadline: when the threads stop
 * @failures: results that may not be
 */
struct stress {
	pthread_mutex_t lock;
	int dev, space[SPACES];
	__u64 ioctls;
	double deadline;
	long failures;
};

/**
 * struct thread - one thread's state
 * @s: the shared state
 * @r: its random numbers
 * @id: its number
 * @ops: operations made
 * @seq: the last pattern number used
 * @view: its own fd for each space (SHADOW_FORK_VM of the first)
 * @own: its model of its range in each space
 * @chaos: forks and extra users it made while racing
 * @page: a page of bytes, for ACCESS
 * @want: the page it expects
 */
struct thread {
	struct stress *s;
	struct rng r;
	int id;
	long ops;
	__u32 seq;
	int view[SPACES];
	struct pg own[SPACES][OWN_PAGES];
	struct chaos_fd chaos[CHAOS_FDS];
	__u64 page[PAGE / 8], want[PAGE / 8];
};

static void tfail(struct thread *t, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	long n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&t->s->lock);
	n = t->s->failures++;
	pthread_mutex_unlock(&t->s->lock);
	if (n < MAX_REPORTS)
		fprintf(TH_LOG_STREAM, "# seed %llu thread %d op %ld: %s\n",
			(unsigned long long)stress_seed, t->id, t->ops, msg);
}

static int min_int(int a, int b)
{
	return a < b ? a : b;
}

static bool has(struct thread *t, unsigned int nr)
{
	return t->s->ioctls & (1ULL << nr);
}

static __u64 own_addr(struct thread *t, int pg)
{
	return OWN_BASE + t->id * OWN_STRIDE + pg * PAGE;
}

/* The contents of page @pg of space @m after pattern @seq; 0: zeroes. */
static void pattern(struct thread *t, int m, int pg, __u32 seq, __u64 *buf)
{
	int i;

	for (i = 0; i < PAGE / 8; i++)
		buf[i] = seq ? ((__u64)seq * 0x9e3779b97f4a7c15ULL) ^
			       ((__u64)t->id << 56 | (__u64)m << 48 |
				(__u64)pg << 32 | i) : 0;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static long access_page(int fd, __u64 addr, void *buf, __u32 flags)
{
	return _shadow_access(fd, addr, buf, PAGE, flags);
}

/* Write pattern @seq into page @pg of the range, through @fd. */
static int write_page(struct thread *t, int fd, int m, int pg, __u32 seq)
{
	pattern(t, m, pg, seq, t->page);
	return access_page(fd, own_addr(t, pg), t->page, SHADOW_ACCESS_WRITE);
}

/*
 * Check page @pg of the range through @fd against @p: its contents, and
 * that what may not be touched faults.
 */
static void check_page(struct thread *t, int fd, int m, int pg,
		       const struct pg *p, const char *who)
{
	__u64 addr = own_addr(t, pg);
	long ret;
	int err;

	if (!p->mapped || p->prot == PROT_NONE) {
		ret = access_page(fd, addr, t->page, 0);
		if (ret != -EFAULT)
			tfail(t, "%s space %d page %d (%s): read gave %ld",
			      who, m, pg, p->mapped ? "PROT_NONE" : "hole",
			      ret);
		err = _shadow_fault(fd, addr, PAGE, 0, NULL);
		if (err != -EFAULT)
			tfail(t, "%s space %d page %d (%s): fault gave %d",
			      who, m, pg, p->mapped ? "PROT_NONE" : "hole",
			      err);
		return;
	}
	ret = access_page(fd, addr, t->page, 0);
	if (ret != PAGE) {
		tfail(t, "%s space %d page %d: read gave %ld", who, m, pg,
		      ret);
		return;
	}
	pattern(t, m, p->src, p->seq, t->want);
	if (memcmp(t->page, t->want, PAGE))
		tfail(t, "%s space %d page %d: holds %#llx, want pattern %u (%#llx)",
		      who, m, pg, (unsigned long long)t->page[0], p->seq,
		      (unsigned long long)t->want[0]);
	if (p->prot == PROT_READ) {
		err = _shadow_fault(fd, addr, PAGE, SHADOW_FAULT_WRITE, NULL);
		if (err != -EFAULT)
			tfail(t, "%s space %d page %d (read-only): write fault gave %d",
			      who, m, pg, err);
		ret = access_page(fd, addr, t->page, SHADOW_ACCESS_WRITE);
		if (ret != -EFAULT)
			tfail(t, "%s space %d page %d (read-only): write gave %ld",
			      who, m, pg, ret);
	}
}

/* The whole range through @fd, against @model; and the page walk. */
static void check_range(struct thread *t, int fd, int m,
			const struct pg *model, const char *who)
{
	struct shadow_page_info info[OWN_PAGES];
	int pg, err;

	for (pg = 0; pg < OWN_PAGES; pg++)
		check_page(t, fd, m, pg, &model[pg], who);
	err = _shadow_walk(fd, own_addr(t, 0), OWN_PAGES, info);
	if (err) {
		tfail(t, "%s space %d: walk gave %d", who, m, err);
		return;
	}
	for (pg = 0; pg < OWN_PAGES; pg++)
		if (!model[pg].mapped && info[pg].flags)
			tfail(t, "%s space %d page %d: a hole reported %#x",
			      who, m, pg, info[pg].flags);
}

/* A run of pages from @pg, @n long at most, all mapped (and writable). */
static int mapped_run(struct thread *t, int m, int pg, int n, bool writable)
{
	int i;

	for (i = 0; i < n && pg + i < OWN_PAGES; i++) {
		const struct pg *p = &t->own[m][pg + i];

		if (!p->mapped || (writable && p->prot != RW))
			break;
	}
	return i;
}

static void own_map(struct thread *t, int m, int fd)
{
	struct rng *r = &t->r;
	int pg = rnd_below(r, OWN_PAGES), n, i, err, prot = RW;
	bool shared = one_in(r, 3);

	n = 1 + rnd_below(r, min_int(8, OWN_PAGES - pg));
	if (one_in(r, 6))
		prot = one_in(r, 2) ? PROT_READ : PROT_NONE;
	err = _shadow_mmap(fd, own_addr(t, pg), n * PAGE, prot,
			   (shared ? MAP_SHARED : MAP_PRIVATE) |
			   MAP_ANONYMOUS | MAP_FIXED, NULL);
	if (err) {
		tfail(t, "space %d: mmap of pages %d-%d gave %d", m, pg,
		      pg + n - 1, err);
		return;
	}
	for (i = pg; i < pg + n; i++)
		t->own[m][i] = (struct pg){ .mapped = true, .shared = shared,
					    .prot = prot };
}

static void own_unmap(struct thread *t, int m, int fd)
{
	struct rng *r = &t->r;
	int pg = rnd_below(r, OWN_PAGES), n, i, err;

	n = 1 + rnd_below(r, min_int(8, OWN_PAGES - pg));
	err = _shadow_munmap(fd, own_addr(t, pg), n * PAGE);
	if (err) {
		tfail(t, "space %d: munmap of pages %d-%d gave %d", m, pg,
		      pg + n - 1, err);
		return;
	}
	for (i = pg; i < pg + n; i++)
		t->own[m][i] = (struct pg){ 0 };
}

/* Write a new pattern into page @pg of the range, and note it. */
static bool own_put(struct thread *t, int m, int fd, int pg)
{
	long ret = write_page(t, fd, m, pg, ++t->seq);

	if (ret != PAGE) {
		tfail(t, "space %d page %d: write gave %ld", m, pg, ret);
		return false;
	}
	t->own[m][pg].seq = t->seq;
	t->own[m][pg].src = pg;
	return true;
}

static void own_write(struct thread *t, int m, int fd)
{
	int pg = rnd_below(&t->r, OWN_PAGES);
	int n = mapped_run(t, m, pg, 1 + rnd_below(&t->r, 4), true), i;

	for (i = pg; i < pg + n; i++)
		if (!own_put(t, m, fd, i))
			return;
}

static void own_madvise(struct thread *t, int m, int fd)
{
	static const int advice[] = {
		MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
	};
	int pg = rnd_below(&t->r, OWN_PAGES);
	int n = mapped_run(t, m, pg, 1 + rnd_below(&t->r, 8), false), i, err;
	int adv = advice[RND_IDX(&t->r, advice)];
	bool shared = false;

	if (!n)
		return;
	for (i = pg; i < pg + n; i++)
		shared |= t->own[m][i].shared;
	err = _shadow_madvise(fd, own_addr(t, pg), n * PAGE, adv);
	/* MADV_WIPEONFORK is for private memory only. */
	if (err != (adv == MADV_WIPEONFORK && shared ? -EINVAL : 0)) {
		tfail(t, "space %d: madvise(%d) of pages %d-%d gave %d", m,
		      adv, pg, pg + n - 1, err);
		return;
	}
	/*
	 * A refused WIPEONFORK has advised the VMAs before the first shared
	 * one, as madvise_walk_vmas() does: they are private pages.
	 */
	if (err) {
		for (i = pg; i < pg + n && !t->own[m][i].shared; i++)
			t->own[m][i].wipe = true;
		return;
	}
	for (i = pg; i < pg + n; i++) {
		if (adv == MADV_DONTFORK || adv == MADV_DOFORK)
			t->own[m][i].dontfork = adv == MADV_DONTFORK;
		else
			t->own[m][i].wipe = adv == MADV_WIPEONFORK;
	}
}

static void own_mprotect(struct thread *t, int m, int fd)
{
	static const int prots[] = { RW, RW, PROT_READ, PROT_NONE };
	struct shadow_mm_mprotect mp = { .size = sizeof(mp) };
	int pg = rnd_below(&t->r, OWN_PAGES);
	int n = mapped_run(t, m, pg, 1 + rnd_below(&t->r, 8), false), i, err;

	if (!n)
		return;
	mp.addr = own_addr(t, pg);
	mp.len = n * PAGE;
	mp.prot = prots[RND_IDX(&t->r, prots)];
	err = xioctl(fd, SHADOW_MM_MPROTECT, &mp);
	if (err) {
		tfail(t, "space %d: mprotect(%#x) of pages %d-%d gave %d", m,
		      mp.prot, pg, pg + n - 1, err);
		return;
	}
	for (i = pg; i < pg + n; i++)
		t->own[m][i].prot = mp.prot;
}

static void own_mlock(struct thread *t, int m, int fd)
{
	struct shadow_mm_mlock ml = { .size = sizeof(ml) };
	struct shadow_mm_munlock mu = { .size = sizeof(mu) };
	int pg = rnd_below(&t->r, OWN_PAGES);
	int n = mapped_run(t, m, pg, 1 + rnd_below(&t->r, 8), false), err, i;
	bool none = false;

	if (!n)
		return;
	for (i = pg; i < pg + n; i++)
		none |= t->own[m][i].prot == PROT_NONE;
	if (one_in(&t->r, 2) && has(t, SHADOW_MM_CMD_MUNLOCK)) {
		mu.addr = own_addr(t, pg);
		mu.len = n * PAGE;
		err = xioctl(fd, SHADOW_MM_MUNLOCK, &mu);
	} else {
		ml.addr = own_addr(t, pg);
		ml.len = n * PAGE;
		ml.mlock_flags = one_in(&t->r, 2) ? MLOCK_ONFAULT : 0;
		err = xioctl(fd, SHADOW_MM_MLOCK, &ml);
		/*
		 * Linux cannot populate PROT_NONE: __mm_populate() fails and
		 * mlock2(2) says ENOMEM (or EAGAIN).
		 */
		if (none && !ml.mlock_flags && (err == -ENOMEM ||
						err == -EAGAIN))
			err = 0;
	}
	if (err)
		tfail(t, "space %d: (un)lock of pages %d-%d gave %d", m, pg,
		      pg + n - 1, err);
}

/*
 * Move page @from of the range to @to (its VMA part moves); its contents
 * keep the pattern of the page they were written at.
 */
static void own_move(struct thread *t, int m, int fd, int from, int to)
{
	struct shadow_mm_mremap mr = { .size = sizeof(mr) };
	int err;

	mr.old_addr = own_addr(t, from);
	mr.old_len = PAGE;
	mr.new_len = PAGE;
	mr.new_addr = own_addr(t, to);
	mr.mremap_flags = MREMAP_MAYMOVE | MREMAP_FIXED;
	err = xioctl(fd, SHADOW_MM_MREMAP, &mr);
	if (err || mr.out_addr != mr.new_addr) {
		tfail(t, "space %d: mremap of page %d to %d gave %d (%#llx)",
		      m, from, to, err, (unsigned long long)mr.out_addr);
		return;
	}
	t->own[m][to] = t->own[m][from];
	t->own[m][from] = (struct pg){ 0 };
}

static void own_mremap(struct thread *t, int m, int fd)
{
	int from = rnd_below(&t->r, OWN_PAGES);
	int to = rnd_below(&t->r, OWN_PAGES);

	if (!t->own[m][from].mapped || from == to)
		return;
	own_move(t, m, fd, from, to);
}

/*
 * Fork the space and check the child holds the snapshot; then that a
 * write on either side is seen by the other for shared pages only.
 */
static void own_fork(struct thread *t, int m, int fd)
{
	struct pg child[OWN_PAGES];
	int cfd, pg, i;
	long ret;

	cfd = _shadow_fork(fd, 0, NULL);
	if (cfd < 0) {
		tfail(t, "space %d: fork gave %d", m, cfd);
		return;
	}
	for (i = 0; i < OWN_PAGES; i++) {
		child[i] = t->own[m][i];
		if (child[i].dontfork)
			child[i] = (struct pg){ 0 };
		else if (child[i].wipe)
			child[i].seq = 0;
	}
	check_range(t, cfd, m, child, "child");

	/* A page both hold, writable: write each side in turn. */
	pg = rnd_below(&t->r, OWN_PAGES);
	if (child[pg].mapped && child[pg].prot == RW &&
	    t->own[m][pg].prot == RW) {
		ret = write_page(t, fd, m, pg, ++t->seq);
		if (ret != PAGE)
			tfail(t, "space %d page %d: write gave %ld", m, pg,
			      ret);
		t->own[m][pg].seq = t->seq;
		t->own[m][pg].src = pg;
		if (child[pg].shared) {
			child[pg].seq = t->seq;
			child[pg].src = pg;
		}
		check_page(t, cfd, m, pg, &child[pg], "child after parent write");

		ret = write_page(t, cfd, m, pg, ++t->seq);
		if (ret != PAGE)
			tfail(t, "child space %d page %d: write gave %ld", m,
			      pg, ret);
		child[pg].seq = t->seq;
		child[pg].src = pg;
		if (child[pg].shared) {
			t->own[m][pg].seq = t->seq;
			t->own[m][pg].src = pg;
		}
		check_page(t, fd, m, pg, &t->own[m][pg],
			   "parent after child write");
		check_page(t, cfd, m, pg, &child[pg], "child after its write");
	}

	if (one_in(&t->r, 2)) {
		if (_shadow_exit(cfd))
			tfail(t, "space %d: exit of the child failed", m);
		if (_shadow_fault(cfd, own_addr(t, 0), PAGE, 0, NULL) !=
		    -ESRCH)
			tfail(t, "space %d: the exited child did not give ESRCH",
			      m);
	}
	close(cfd);
}

/*
 * Reclaim the range (aged first, or not): the pages go to the swap device
 * or stay; either way they read back as written (the next check).
 */
static void own_reclaim(struct thread *t, int m, int fd)
{
	struct shadow_mm_reclaim rc;
	int err = 0;

	if (one_in(&t->r, 2))
		err = _shadow_reclaim(fd, SHADOW_RECLAIM_AGE, own_addr(t, 0),
				      OWN_PAGES * PAGE, &rc);
	if (!err)
		err = _shadow_reclaim(fd, 0, own_addr(t, 0), OWN_PAGES * PAGE,
				      &rc);
	if (err)
		tfail(t, "space %d: reclaim of the range gave %d", m, err);
	else if (rc.out_reclaimed != rc.out_swapped_out + rc.out_shmem)
		tfail(t, "space %d: reclaimed %llu, swapped out %llu, shmem %llu",
		      m, (unsigned long long)rc.out_reclaimed,
		      (unsigned long long)rc.out_swapped_out,
		      (unsigned long long)rc.out_shmem);
}

/* One operation in the thread's own range of a random space. */
static void own_one(struct thread *t)
{
	struct rng *r = &t->r;
	int m = rnd_below(r, SPACES);
	int fd = one_in(r, 4) ? t->s->space[m] : t->view[m];

	switch (rnd_below(r, 16)) {
	case 0 ... 2:
		own_map(t, m, fd);
		break;
	case 3 ... 4:
		own_unmap(t, m, fd);
		break;
	case 5 ... 7:
		own_write(t, m, fd);
		break;
	case 8 ... 9:
		check_range(t, fd, m, t->own[m], "own");
		break;
	case 10:
		own_madvise(t, m, fd);
		break;
	case 11:
		if (has(t, SHADOW_MM_CMD_MPROTECT))
			own_mprotect(t, m, fd);
		break;
	case 12:
		if (has(t, SHADOW_MM_CMD_MLOCK))
			own_mlock(t, m, fd);
		break;
	case 13:
		if (has(t, SHADOW_MM_CMD_MREMAP))
			own_mremap(t, m, fd);
		break;
	case 14:
		if (has(t, SHADOW_MM_CMD_RECLAIM)) {
			own_reclaim(t, m, fd);
			break;
		}
		own_fork(t, m, fd);
		break;
	default:
		own_fork(t, m, fd);
	}
}

/* Judge a racing call: @exited when its fd had exited before it. */
static void chaos_check(struct thread *t, unsigned int nr, bool exited,
			int err, __uint128_t allowed, const char *what)
{
	char e1[24], set[256];
	bool ok;

	if (!has(t, nr))
		ok = err == -ENOTTY;
	else if (exited)
		ok = err == -ESRCH;
	else
		ok = !err || eset_has(allowed, -err);
	if (!ok)
		tfail(t, "%s%s -> %s; allowed 0 or %s", what,
		      exited ? " (exited fd)" : "",
		      errname(-err, e1, sizeof(e1)),
		      eset_str(allowed, set, sizeof(set)));
}

static __u64 chaos_addr(struct thread *t, __u64 pages)
{
	return CHAOS_BASE + rnd_below(&t->r, CHAOS_PAGES - pages) * PAGE;
}

static void chaos_keep(struct thread *t, int fd)
{
	int i;

	for (i = 0; i < CHAOS_FDS; i++) {
		if (t->chaos[i].fd < 0) {
			t->chaos[i] = (struct chaos_fd){ fd, false };
			return;
		}
	}
	close(fd);
}

/* One racing operation in the common range of some space. */
static void chaos_one(struct thread *t)
{
	static const __u32 prots[] = { PROT_READ, RW, RW, PROT_NONE };
	struct rng *r = &t->r;
	struct chaos_fd *c = NULL;
	bool exited = false;
	char what[128];
	__u64 n = 1 + rnd_below(r, 16), addr = chaos_addr(t, 16);
	int fd, err, i;

	/* Mostly a space's first fd, shared by all; else a fork or user. */
	i = rnd_below(r, CHAOS_FDS + 4);
	if (i < CHAOS_FDS && t->chaos[i].fd >= 0) {
		c = &t->chaos[i];
		fd = c->fd;
		exited = c->exited;
	} else {
		fd = t->s->space[rnd_below(r, SPACES)];
	}

	switch (rnd_below(r, 21)) {
	case 0 ... 3:
		snprintf(what, sizeof(what), "mmap(%#llx, %llu pages)",
			 (unsigned long long)addr, (unsigned long long)n);
		err = _shadow_mmap(fd, addr, n * PAGE, prots[RND_IDX(r, prots)],
				   (one_in(r, 3) ? MAP_SHARED : MAP_PRIVATE) |
				   MAP_ANONYMOUS | MAP_FIXED, NULL);
		chaos_check(t, SHADOW_MM_CMD_MMAP, exited, err, EM, what);
		break;
	case 4 ... 5:
		snprintf(what, sizeof(what), "munmap(%#llx, %llu pages)",
			 (unsigned long long)addr, (unsigned long long)n);
		err = _shadow_munmap(fd, addr, n * PAGE);
		chaos_check(t, SHADOW_MM_CMD_MUNMAP, exited, err, EM, what);
		break;
	case 6 ... 8:
		snprintf(what, sizeof(what), "fault(%#llx, %llu pages)",
			 (unsigned long long)addr, (unsigned long long)n);
		err = _shadow_fault(fd, addr, n * PAGE,
				    one_in(r, 2) ? SHADOW_FAULT_WRITE : 0, NULL);
		chaos_check(t, SHADOW_MM_CMD_FAULT, exited, err, EF | EM, what);
		break;
	case 9 ... 10:
		snprintf(what, sizeof(what), "access(%#llx)",
			 (unsigned long long)addr);
		memset(t->page, t->id, PAGE);
		err = _shadow_access(fd, addr + rnd_below(r, PAGE), t->page,
				     rnd_below(r, PAGE),
				     rnd_below(r, 4));
		chaos_check(t, SHADOW_MM_CMD_ACCESS, exited,
			    err < 0 ? err : 0, EF | EM, what);
		break;
	case 11:
		snprintf(what, sizeof(what), "madvise(%#llx, %llu pages)",
			 (unsigned long long)addr, (unsigned long long)n);
		err = _shadow_madvise(fd, addr, n * PAGE,
				      one_in(r, 2) ? MADV_DONTFORK :
						     MADV_WIPEONFORK);
		chaos_check(t, SHADOW_MM_CMD_MADVISE, exited, err,
			    EI | EM | ES(EAGAIN), what);
		break;
	case 12: {
		struct shadow_mm_mprotect mp = {
			.size = sizeof(mp), .addr = addr, .len = n * PAGE,
			.prot = prots[RND_IDX(r, prots)],
		};

		snprintf(what, sizeof(what), "mprotect(%#llx, %llu pages)",
			 (unsigned long long)addr, (unsigned long long)n);
		err = xioctl(fd, SHADOW_MM_MPROTECT, &mp);
		chaos_check(t, SHADOW_MM_CMD_MPROTECT, exited, err,
			    EM | ES(EACCES), what);
		break;
	}
	case 13: {
		struct shadow_mm_mlock ml = {
			.size = sizeof(ml), .addr = addr, .len = n * PAGE,
			.mlock_flags = one_in(r, 2) ? MLOCK_ONFAULT : 0,
		};
		struct shadow_mm_munlockall mua = { .size = sizeof(mua) };
		struct shadow_mm_mlockall mla = {
			.size = sizeof(mla),
			.mcl_flags = MCL_CURRENT | MCL_ONFAULT,
		};

		if (one_in(r, 8)) {
			err = xioctl(fd, SHADOW_MM_MLOCKALL, &mla);
			chaos_check(t, SHADOW_MM_CMD_MLOCKALL, exited, err,
				    EM | ES(EPERM), "mlockall");
			err = xioctl(fd, SHADOW_MM_MUNLOCKALL, &mua);
			chaos_check(t, SHADOW_MM_CMD_MUNLOCKALL, exited, err,
				    0, "munlockall");
			break;
		}
		snprintf(what, sizeof(what), "mlock(%#llx, %llu pages)",
			 (unsigned long long)addr, (unsigned long long)n);
		err = xioctl(fd, SHADOW_MM_MLOCK, &ml);
		chaos_check(t, SHADOW_MM_CMD_MLOCK, exited, err,
			    EM | ES(EAGAIN) | ES(EPERM), what);
		break;
	}
	case 14: {
		struct shadow_mm_mremap mr = {
			.size = sizeof(mr), .old_addr = addr,
			.old_len = n * PAGE,
			.new_len = (1 + rnd_below(r, 16)) * PAGE,
			.new_addr = chaos_addr(t, 16),
			.mremap_flags = MREMAP_MAYMOVE | MREMAP_FIXED,
		};

		snprintf(what, sizeof(what), "mremap(%#llx, %llu pages)",
			 (unsigned long long)addr, (unsigned long long)n);
		err = xioctl(fd, SHADOW_MM_MREMAP, &mr);
		chaos_check(t, SHADOW_MM_CMD_MREMAP, exited, err,
			    EI | EM | EF | ES(EAGAIN), what);
		break;
	}
	case 15: {
		struct shadow_mm_brk b = {
			.size = sizeof(b),
			.brk = SHADOW_DEFAULT_START_BRK +
			       rnd_below(r, 64) * PAGE,
		};

		err = xioctl(fd, SHADOW_MM_BRK, &b);
		chaos_check(t, SHADOW_MM_CMD_BRK, exited, err, 0, "brk");
		break;
	}
	case 16: {
		struct shadow_mm_stats st;
		char *maps;

		err = _shadow_get_stats(fd, &st);
		chaos_check(t, SHADOW_MM_CMD_GET_STATS, exited, err, 0,
			    "stats");
		if (!exited) {
			maps = shadow_get_maps(fd);
			free(maps);
		}
		break;
	}
	case 17:
		/* A fork of the space, or one more user of it. */
		err = _shadow_fork(fd, one_in(r, 2) ? SHADOW_FORK_VM : 0,
				   NULL);
		chaos_check(t, SHADOW_MM_CMD_FORK, exited, err < 0 ? err : 0,
			    EM, "fork");
		if (err >= 0)
			chaos_keep(t, err);
		break;
	case 18:
		if (!c)
			break;
		err = _shadow_exit(fd);
		chaos_check(t, SHADOW_MM_CMD_EXIT, exited, err, 0, "exit");
		c->exited = true;
		break;
	case 19:
		/* The common range, or the whole space. */
		snprintf(what, sizeof(what), "reclaim(%#llx, %llu pages)",
			 (unsigned long long)addr, (unsigned long long)n);
		if (one_in(r, 4)) {
			addr = 0;
			n = 0;
		}
		err = _shadow_reclaim(fd, one_in(r, 3) ? SHADOW_RECLAIM_AGE : 0,
				      addr, n * PAGE, NULL);
		chaos_check(t, SHADOW_MM_CMD_RECLAIM, exited, err, 0, what);
		break;
	default:
		if (!c)
			break;
		close(c->fd);
		*c = (struct chaos_fd){ -1, false };
	}
}

static void *stress_thread(void *arg)
{
	struct thread *t = arg;
	int m;

	while (now_s() < t->s->deadline) {
		if (one_in(&t->r, 2))
			own_one(t);
		else
			chaos_one(t);
		t->ops++;
	}
	for (m = 0; m < SPACES; m++)
		check_range(t, t->view[m], m, t->own[m], "final");
	return NULL;
}

/*
 * The model, alone and in order: a moved page holds the pattern of the
 * page it was written at, in the space and in a fork of it. (The model
 * once expected the pattern of the page it was moved to, and the stress
 * test reported the module's correct moves as lost writes.)
 */
TEST(model_follows_mremap)
{
	struct shadow_counts before = shadow_counts();
	struct shadow_mm_api api = { .size = sizeof(api) };
	struct pg child[OWN_PAGES];
	struct stress s;
	struct thread *t;
	int fd, cfd, i;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	s.dev = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, s.dev);
	ASSERT_EQ(0, shadow_ioctl(s.dev, SHADOW_MM_API, &api));
	s.ioctls = api.out_ioctls;
	t = calloc(1, sizeof(*t));
	ASSERT_NE(NULL, t);
	t->s = &s;
	t->id = 1;
	ASSERT_TRUE(has(t, SHADOW_MM_CMD_MREMAP));
	fd = _shadow_create(s.dev, 0, NULL);
	ASSERT_LE(0, fd);
	s.space[0] = fd;
	t->view[0] = fd;

	ASSERT_EQ(0, _shadow_mmap(fd, own_addr(t, 0), 8 * PAGE, RW,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				  NULL));
	for (i = 0; i < 8; i++)
		t->own[0][i] = (struct pg){ .mapped = true, .prot = RW };
	ASSERT_TRUE(own_put(t, 0, fd, 2));
	ASSERT_TRUE(own_put(t, 0, fd, 3));
	/* Into a hole, and over a page with a pattern of its own. */
	own_move(t, 0, fd, 2, 12);
	own_move(t, 0, fd, 3, 12);
	EXPECT_EQ(3, t->own[0][12].src);
	own_move(t, 0, fd, 12, 5);
	check_range(t, fd, 0, t->own[0], "own");

	cfd = _shadow_fork(fd, 0, NULL);
	ASSERT_LE(0, cfd);
	memcpy(child, t->own[0], sizeof(child));
	check_range(t, cfd, 0, child, "child");
	/* The parent's write copies: the child keeps the moved pattern. */
	ASSERT_TRUE(own_put(t, 0, fd, 5));
	check_range(t, cfd, 0, child, "child after parent write");
	check_range(t, fd, 0, t->own[0], "own after write");
	close(cfd);

	EXPECT_EQ(0, s.failures);
	close(fd);
	close(s.dev);
	free(t);
	shadow_expect_counts(_metadata, before);
}

/*
 * Many threads on many address spaces, every operation at once: each
 * thread's own pages hold what it wrote, its forks hold the snapshot and
 * copy on write, holes and protections fault, racing calls get only the
 * errnos the uapi allows, and nothing is left behind.
 */
TEST(stress)
{
	struct shadow_counts before = shadow_counts();
	struct rlimit rl = { STRESS_AS_LIMIT, STRESS_AS_LIMIT };
	struct shadow_mm_api api = { .size = sizeof(api) };
	pthread_t tid[THREADS];
	struct thread *t;
	struct stress s;
	pthread_attr_t attr;
	long ops = 0;
	int i, m;

	ASSERT_LE(0, before.pages);
	TH_LOG("seed %llu, %llu s, %d spaces, %d threads",
	       (unsigned long long)stress_seed,
	       (unsigned long long)stress_seconds, SPACES, THREADS);
	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &rl));
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	s.dev = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, s.dev);
	ASSERT_EQ(0, shadow_ioctl(s.dev, SHADOW_MM_API, &api));
	s.ioctls = api.out_ioctls;
	for (m = 0; m < SPACES; m++) {
		s.space[m] = _shadow_create(s.dev, 0, NULL);
		ASSERT_LE(0, s.space[m]);
	}

	t = calloc(THREADS, sizeof(*t));
	ASSERT_NE(NULL, t);
	for (i = 0; i < THREADS; i++) {
		t[i].s = &s;
		t[i].id = i;
		rng_seed(&t[i].r, stress_seed + 0x1000 * (i + 1));
		for (m = 0; m < SPACES; m++) {
			t[i].view[m] = _shadow_fork(s.space[m], SHADOW_FORK_VM,
						    NULL);
			ASSERT_LE(0, t[i].view[m]);
		}
		for (m = 0; m < CHAOS_FDS; m++)
			t[i].chaos[m].fd = -1;
	}

	s.deadline = now_s() + stress_seconds;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_create(&tid[i], &attr, stress_thread,
					    &t[i]));
	for (i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		ops += t[i].ops;
	}

	for (i = 0; i < THREADS; i++) {
		for (m = 0; m < SPACES; m++)
			close(t[i].view[m]);
		for (m = 0; m < CHAOS_FDS; m++)
			if (t[i].chaos[m].fd >= 0)
				close(t[i].chaos[m].fd);
	}
	for (m = 0; m < SPACES; m++)
		close(s.space[m]);
	close(s.dev);
	TH_LOG("seed %llu: %ld operations, %ld failures",
	       (unsigned long long)stress_seed, ops, s.failures);
	EXPECT_EQ(0, s.failures);
	EXPECT_LT(0, ops);
	shadow_expect_counts(_metadata, before);
	free(t);
}

/* The harness's timeout: the run, and a margin for a slow teardown. */
static void __attribute__((constructor)) stress_timeout(void)
{
	_stress_object.timeout = stress_seconds + 90;
}

TEST_HARNESS_MAIN
