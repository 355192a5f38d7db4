// SPDX-License-Identifier: GPL-2.0
/*
 * mprotect, the mlock family, populating (MAP_POPULATE, MAP_LOCKED,
 * MADV_POPULATE_*) and the page-table advice of madvise (MADV_REMOVE's
 * hole punch in shared anonymous memory too).
 *
 * The scenarios run step by step twice: on a shadow address space and
 * with the real system calls in a fixed window of this process. After each
 * step both must give the same errno, the same VMAs in the window
 * (boundaries, permissions and every VM_* flag /proc/self/smaps shows),
 * the same pages present (/proc/self/pagemap against SHADOW_MM_WALK), the
 * zero page in the same places, and the same change of the counters
 * (/proc/self/status's VmSize, VmLck, VmData, VmStk and VmExe + VmLib
 * against total_vm, locked_vm, data_vm, stack_vm and exec_vm). The
 * running kernel is the oracle. The helpers allocate nothing, so that the
 * process's own counters move only with the calls under test.
 */
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

/* A window far from this static binary, its heap and its mmap area. */
#define WIN		0x100000000000UL
#define WIN_PAGES	256UL
#define W(pg)		(WIN + (unsigned long)(pg) * PAGE)

/* Both kernels' window: the same VMAs, permissions and flags. */
static void check_layout(struct __test_metadata *_metadata, int mfd)
{
	static struct shadow_region real[SHADOW_MAX_REGIONS];
	static struct shadow_region shadow[SHADOW_MAX_REGIONS];
	int i, nreal = shadow_real_regions(WIN, W(WIN_PAGES), real);
	int nshadow = shadow_regions(mfd, WIN, W(WIN_PAGES), shadow);

	ASSERT_LE(0, nreal);
	ASSERT_EQ(nreal, nshadow);
	for (i = 0; i < nreal; i++) {
		EXPECT_EQ(real[i].start, shadow[i].start) {
			TH_LOG("region %d start", i);
		}
		EXPECT_EQ(real[i].end, shadow[i].end) {
			TH_LOG("region %d end", i);
		}
		EXPECT_STREQ(real[i].perms, shadow[i].perms);
		EXPECT_EQ(real[i].flags, shadow[i].flags) {
			TH_LOG("region %d %lx-%lx: flags real %llx shadow %llx",
			       i, real[i].start, real[i].end,
			       (unsigned long long)real[i].flags,
			       (unsigned long long)shadow[i].flags);
		}
		/* 6.1's smaps shows VM_LOCKONFAULT as "??". */
		EXPECT_EQ(real[i].unknown, shadow[i].unknown) {
			TH_LOG("region %d: unnamed flags", i);
		}
	}
}

/* The zero page's pfn as /proc/self/pagemap shows it, or 0 if hidden. */
static __u64 zero_pfn;

static void find_zero_pfn(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);

	if (p == MAP_FAILED)
		return;
	(void)__atomic_load_n(p, __ATOMIC_RELAXED);
	zero_pfn = pagemap_entry((unsigned long)p) & PM_PFN;
	munmap(p, PAGE);
}

/*
 * Both kernels' window: the same pages present, and the zero page where
 * the other has it.
 */
static void check_pages(struct __test_metadata *_metadata, int mfd)
{
	static __u64 pm[WIN_PAGES];
	static struct shadow_page_info pi[WIN_PAGES];
	unsigned long i;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(pm), pread(fd, pm, sizeof(pm), WIN / PAGE * 8));
	close(fd);
	ASSERT_EQ(0, _shadow_walk(mfd, WIN, WIN_PAGES, pi));
	for (i = 0; i < WIN_PAGES; i++) {
		bool present = pm[i] & PM_PRESENT;

		EXPECT_EQ(present, !!(pi[i].flags & SHADOW_PAGE_PRESENT)) {
			TH_LOG("page %lu: present real %d", i, present);
		}
		if (!present || !zero_pfn)
			continue;
		EXPECT_EQ((pm[i] & PM_PFN) == zero_pfn,
			  !!(pi[i].flags & SHADOW_PAGE_ZERO)) {
			TH_LOG("page %lu: zero page", i);
		}
	}
}

/* The counters of /proc/self/status, in pages. */
struct vmstat {
	long size, lck, data, stk, exec;
};

static long status_field(const char *buf, const char *name)
{
	const char *p = strstr(buf, name);

	return p ? strtol(p + strlen(name), NULL, 10) / 4 : -1;
}

static void real_stat(struct vmstat *v)
{
	static char buf[8192];

	memset(v, 0, sizeof(*v));
	if (shadow_slurp("/proc/self/status", buf, sizeof(buf)) < 0)
		return;
	v->size = status_field(buf, "VmSize:");
	v->lck = status_field(buf, "VmLck:");
	v->data = status_field(buf, "VmData:");
	v->stk = status_field(buf, "VmStk:");
	v->exec = status_field(buf, "VmExe:") + status_field(buf, "VmLib:");
}

enum op_kind {
	MMAP, MUNMAP, MPROTECT, MLOCK, MUNLOCK, MADVISE, TOUCH, MLOCKALL,
	MUNLOCKALL,
};

static const char * const op_names[] = {
	"mmap", "munmap", "mprotect", "mlock", "munlock", "madvise", "touch",
	"mlockall", "munlockall",
};

/*
 * One step: @arg is the prot (mmap, mprotect), the advice, the
 * mlockall flags or, for a touch, 1 to write; @flags the mmap or mlock2
 * flags; @err the errno both kernels must give.
 */
struct op {
	enum op_kind kind;
	long pg, npages;
	int arg, flags;
	int err;
};

#define MAP(p, n, pr, fl)		{ MMAP, p, n, pr, fl, 0 }
#define MAP_ERR(p, n, pr, fl, e)	{ MMAP, p, n, pr, fl, e }
#define UNMAP(p, n)			{ MUNMAP, p, n, 0, 0, 0 }
#define PROTECT(p, n, pr)		{ MPROTECT, p, n, pr, 0, 0 }
#define PROTECT_ERR(p, n, pr, e)	{ MPROTECT, p, n, pr, 0, e }
#define LOCK(p, n, fl)			{ MLOCK, p, n, 0, fl, 0 }
#define LOCK_ERR(p, n, fl, e)		{ MLOCK, p, n, 0, fl, e }
#define UNLOCK(p, n)			{ MUNLOCK, p, n, 0, 0, 0 }
#define UNLOCK_ERR(p, n, e)		{ MUNLOCK, p, n, 0, 0, e }
#define ADVISE(p, n, adv)		{ MADVISE, p, n, adv, 0, 0 }
#define ADVISE_ERR(p, n, adv, e)	{ MADVISE, p, n, adv, 0, e }
#define READ(p, n)			{ TOUCH, p, n, 0, 0, 0 }
#define WRITE(p, n)			{ TOUCH, p, n, 1, 0, 0 }
#define LOCKALL(fl)			{ MLOCKALL, 0, 0, fl, 0, 0 }
#define LOCKALL_ERR(fl, e)		{ MLOCKALL, 0, 0, fl, 0, e }
#define UNLOCKALL()			{ MUNLOCKALL, 0, 0, 0, 0, 0 }

/* What a process's access does to its own memory: read or write a byte. */
static void touch_real(unsigned long addr, unsigned long len, bool write)
{
	unsigned long a;

	for (a = addr; a < addr + len; a += PAGE) {
		char *p = (char *)a, c = __atomic_load_n(p, __ATOMIC_RELAXED);

		if (write)
			__atomic_store_n(p, c, __ATOMIC_RELAXED);
	}
}

static int real_op(const struct op *op)
{
	void *addr = (void *)W(op->pg);
	size_t len = op->npages * PAGE;
	int ret = 0;

	switch (op->kind) {
	case MMAP:
		ret = mmap(addr, len, op->arg, op->flags, -1, 0) == MAP_FAILED;
		break;
	case MUNMAP:
		ret = munmap(addr, len);
		break;
	case MPROTECT:
		ret = mprotect(addr, len, op->arg);
		break;
	case MLOCK:
		ret = syscall(SYS_mlock2, addr, len, op->flags);
		break;
	case MUNLOCK:
		ret = munlock(addr, len);
		break;
	case MADVISE:
		ret = madvise(addr, len, op->arg);
		break;
	case TOUCH:
		touch_real(W(op->pg), len, op->arg);
		break;
	case MLOCKALL:
		ret = mlockall(op->arg);
		break;
	case MUNLOCKALL:
		ret = munlockall();
		break;
	}
	return ret ? errno : 0;
}

/* The step on the shadow space: 0 or -errno. */
static int shadow_op(int mfd, const struct op *op)
{
	unsigned long addr = W(op->pg), len = op->npages * PAGE;

	switch (op->kind) {
	case MMAP:
		return _shadow_mmap(mfd, addr, len, op->arg, op->flags, NULL);
	case MUNMAP:
		return _shadow_munmap(mfd, addr, len);
	case MPROTECT:
		return _shadow_mprotect(mfd, addr, len, op->arg);
	case MLOCK:
		return _shadow_mlock(mfd, addr, len, op->flags);
	case MUNLOCK:
		return _shadow_munlock(mfd, addr, len);
	case MADVISE:
		return _shadow_madvise(mfd, addr, len, op->arg);
	case TOUCH:
		return _shadow_fault(mfd, addr, len,
				     op->arg ? SHADOW_FAULT_WRITE : 0, NULL);
	case MLOCKALL:
		return _shadow_mlockall(mfd, op->arg);
	case MUNLOCKALL:
		return _shadow_munlockall(mfd);
	}
	return -EINVAL;
}

/*
 * Run @ops on the shadow space @mfd and in this process's window, each
 * step checked against the other kernel as the top of this file says.
 * The counters are not compared for mlockall, which in the real process
 * covers far more than the window.
 */
static void run_scenario(struct __test_metadata *_metadata, int mfd,
			 const struct op *ops, int nops)
{
	int i;

	for (i = 0; i < nops; i++) {
		const struct op *op = &ops[i];
		struct shadow_mm_stats s0, s1;
		struct vmstat r0, r1;
		int rerr, serr;

		ASSERT_EQ(0, _shadow_get_stats(mfd, &s0));
		real_stat(&r0);
		rerr = real_op(op);
		real_stat(&r1);
		serr = -shadow_op(mfd, op);
		ASSERT_EQ(0, _shadow_get_stats(mfd, &s1));
		TH_LOG("step %d: %s pg %ld n %ld arg %#x flags %#x -> real %d shadow %d",
		       i, op_names[op->kind], op->pg, op->npages, op->arg,
		       op->flags, rerr, serr);
		ASSERT_EQ(op->err, rerr);
		ASSERT_EQ(op->err, serr);
		if (op->kind != MLOCKALL && op->kind != MUNLOCKALL) {
			EXPECT_EQ(r1.size - r0.size,
				  (long)(s1.out_total_vm - s0.out_total_vm));
			EXPECT_EQ(r1.lck - r0.lck,
				  (long)(s1.out_locked_vm - s0.out_locked_vm));
			EXPECT_EQ(r1.data - r0.data,
				  (long)(s1.out_data_vm - s0.out_data_vm));
			EXPECT_EQ(r1.stk - r0.stk,
				  (long)(s1.out_stack_vm - s0.out_stack_vm));
			EXPECT_EQ(r1.exec - r0.exec,
				  (long)(s1.out_exec_vm - s0.out_exec_vm));
		}
		check_layout(_metadata, mfd);
		check_pages(_metadata, mfd);
		if (!_metadata->passed)
			return;
	}
}

#define RUN(...) do {							\
	const struct op __ops[] = { __VA_ARGS__ };			\
	run_scenario(_metadata, self->mfd, __ops, ARRAY_SIZE(__ops));	\
} while (0)

/* What one VMA of the window must look like at the end, in pages. */
struct want {
	long start, end;
	const char *perms;
	__u64 flags;	/* these must be set */
};

static void check_want(struct __test_metadata *_metadata, int mfd,
		       const struct want *want, int n)
{
	struct shadow_region r[SHADOW_MAX_REGIONS];
	int i;

	ASSERT_EQ(n, shadow_regions(mfd, WIN, W(WIN_PAGES), r));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(W(want[i].start), r[i].start);
		EXPECT_EQ(W(want[i].end), r[i].end);
		EXPECT_STREQ(want[i].perms, r[i].perms);
		EXPECT_EQ(want[i].flags, r[i].flags & want[i].flags) {
			TH_LOG("region %d flags %llx", i,
			       (unsigned long long)r[i].flags);
		}
	}
}

#define WANT(...) do {							\
	const struct want __want[] = { __VA_ARGS__ };			\
	check_want(_metadata, self->mfd, __want, ARRAY_SIZE(__want));	\
} while (0)

static int set_memlock_pages(unsigned long pages)
{
	struct rlimit rl = { pages * PAGE, pages * PAGE };

	return setrlimit(RLIMIT_MEMLOCK, &rl);
}

FIXTURE(prot) {
	int dev;
	int mfd;
	struct shadow_counts before;
};

FIXTURE_SETUP(prot)
{
	self->before = shadow_counts();
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, self->mfd);
	munmap((void *)WIN, WIN_PAGES * PAGE);
	find_zero_pfn();
	/* pagemap shows pfns to root only: then the zero page is checked. */
	if (!geteuid())
		ASSERT_NE(0, zero_pfn);
}

FIXTURE_TEARDOWN(prot)
{
	munlockall();
	munmap((void *)WIN, WIN_PAGES * PAGE);
	close(self->mfd);
	close(self->dev);
	/* Every VMA, page and table of the space is gone. */
	shadow_expect_counts(_metadata, self->before);
}

/*
 * mprotect splits a VMA and merges the parts back (vma_merge case 6 when
 * a middle part joins both neighbours), keeping the data and rewriting the
 * PTEs in place.
 *   |AAAAAAAAAAAAAAAA| -> |AAAA|RRRR|AAAA|RRRR| -> |AAAA|RRRRRRRRRRRR|
 *   -> |AAAAAAAAAAAAAAAA|
 */
TEST_F(prot, split_and_merge)
{
	struct shadow_page_info p[16];
	int i;

	RUN(MAP(0, 16, RW, PRIV_FIXED),
	    WRITE(0, 16),
	    PROTECT(4, 4, PROT_READ),
	    PROTECT(12, 4, PROT_READ),
	    PROTECT(8, 4, PROT_READ),
	    PROTECT(0, 16, RW));
	WANT({ 0, 16, "rw-p", SHADOW_VM_ACCOUNT });
	/* The pages never left: every PTE is writable again in place. */
	ASSERT_EQ(0, _shadow_walk(self->mfd, W(0), 16, p));
	for (i = 0; i < 16; i++)
		EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE |
			  SHADOW_PAGE_ANON_EXCLUSIVE,
			  p[i].flags & (SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE |
					SHADOW_PAGE_ANON_EXCLUSIVE));
	EXPECT_EQ(16, shadow_stats(_metadata, self->mfd).out_min_flt);
}

/*
 * A private mapping made writable is VM_ACCOUNT: on 6.1 for good, so
 * made read-only again it no longer merges with read-only neighbours
 * mapped that way.
 *   |RRRR|WWWW|RRRR| -> |RRRR|R'R'|RRRR| -> |W'W'|R'R'|RRRR|
 *   -> |R'R'R'R'|RRRR|
 * Since 6.2 (SHADOW_RULE_MPROTECT_UNACCOUNT) an unfaulted one drops it
 * again, and all three merge.
 *   |RRRR|WWWW|RRRR| -> |RRRRRRRRRRRR| -> |W'W'|RRRRRRRR|
 *   -> |RRRRRRRRRRRR|
 */
TEST_F(prot, account_keeps_apart)
{
	RUN(MAP(0, 4, PROT_READ, PRIV_FIXED),
	    MAP(4, 4, RW, PRIV_FIXED),
	    MAP(8, 4, PROT_READ, PRIV_FIXED),
	    PROTECT(4, 4, PROT_READ),
	    PROTECT(0, 4, RW),
	    PROTECT(0, 8, PROT_READ));
	if (shadow_rules_since(6, 2))
		WANT({ 0, 12, "r--p", 0 });
	else
		WANT({ 0, 8, "r--p", SHADOW_VM_ACCOUNT },
		     { 8, 12, "r--p", 0 });
}

/*
 * SHADOW_RULE_MPROTECT_UNACCOUNT: made read-only, a private writable
 * mapping that was never faulted drops VM_ACCOUNT since 6.2; a faulted
 * one (with an anon_vma) keeps it. On 6.1 both keep it. RUN checks each
 * step against the real kernel of the run; WANT checks the module
 * reports the rule that kernel has.
 *   |WWWW|    |WWWW| -> write the second -> |RRRR|    |R'R'|
 */
TEST_F(prot, readonly_unfaulted_drops_account)
{
	struct shadow_region r[SHADOW_MAX_REGIONS];

	RUN(MAP(0, 4, RW, PRIV_FIXED),
	    MAP(8, 4, RW, PRIV_FIXED),
	    WRITE(8, 4),
	    PROTECT(0, 4, PROT_READ),
	    PROTECT(8, 4, PROT_READ));
	WANT({ 0, 4, "r--p", shadow_rules_since(6, 2) ? 0 : SHADOW_VM_ACCOUNT },
	     { 8, 12, "r--p", SHADOW_VM_ACCOUNT });
	ASSERT_EQ(2, shadow_regions(self->mfd, WIN, W(WIN_PAGES), r));
	EXPECT_EQ(!shadow_rules_since(6, 2),
		  !!(r[0].flags & SHADOW_VM_ACCOUNT));
	EXPECT_EQ(running_kernel_version(), shadow_rules());
}

/*
 * The range at an edge of a VMA joins the neighbour (vma_merge cases 4
 * and 5: one VMA shrinks, the other grows).
 *   |WWWWWWWW|RRRRRRRR| -> |WWWWWW|RRRRRRRRRR| -> |WWWWWWWW|RRRRRRRR|
 */
TEST_F(prot, merge_at_edges)
{
	RUN(MAP(0, 8, RW, PRIV_FIXED),
	    MAP(8, 8, PROT_READ, PRIV_FIXED),
	    PROTECT(8, 8, RW),
	    PROTECT(8, 8, PROT_READ),
	    WRITE(0, 8),
	    PROTECT(6, 2, PROT_READ),
	    PROTECT(6, 2, RW),
	    PROTECT(10, 2, RW));
	WANT({ 0, 8, "rw-p", 0 }, { 8, 10, "r--p", 0 }, { 10, 12, "rw-p", 0 },
	     { 12, 16, "r--p", 0 });
}

/*
 * A hole: the VMAs before it are changed, then -ENOMEM; a range that
 * starts in a hole changes nothing.
 */
TEST_F(prot, holes)
{
	RUN(MAP(0, 4, RW, PRIV_FIXED),
	    MAP(6, 4, RW, PRIV_FIXED),
	    MAP(12, 2, RW, SHARED_FIXED),
	    PROTECT_ERR(0, 10, PROT_READ, ENOMEM),
	    PROTECT_ERR(4, 4, PROT_NONE, ENOMEM),
	    PROTECT_ERR(20, 4, PROT_NONE, ENOMEM),
	    PROTECT_ERR(6, 8, PROT_READ, ENOMEM),
	    PROTECT(0, 0, PROT_NONE));
	WANT({ 0, 4, "r--p", 0 }, { 6, 10, "r--p", 0 }, { 12, 14, "rw-s", 0 });
}

/* Bad arguments give the real kernel's errors. */
TEST_F(prot, bad_arguments)
{
	static const struct {
		long off, len;
		unsigned long prot;
	} cases[] = {
		{ 1, PAGE, PROT_READ },				/* unaligned */
		{ 0, PAGE, 0x10 },				/* unknown bit */
		{ 0, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP },
		{ 0, PAGE, PROT_READ | PROT_GROWSUP },		/* x86: none */
		{ 0, -PAGE, PROT_READ },			/* wraps */
		{ 0, 1, PROT_READ | PROT_SEM },			/* allowed */
		{ 0, 3 * PAGE, PROT_READ | PROT_GROWSDOWN },	/* not a stack */
		{ 4 * PAGE, PAGE, PROT_READ },			/* nothing */
	};
	unsigned int i;

	ASSERT_NE(MAP_FAILED, mmap((void *)W(0), 4 * PAGE, RW, PRIV_FIXED, -1,
				   0));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int rerr = 0, serr;

		if (mprotect((void *)(W(0) + cases[i].off), cases[i].len,
			     cases[i].prot))
			rerr = errno;
		serr = -_shadow_mprotect(self->mfd, W(0) + cases[i].off,
					 cases[i].len, cases[i].prot);

		TH_LOG("case %u: real %d shadow %d", i, rerr, serr);
		EXPECT_EQ(rerr, serr);
	}
	check_layout(_metadata, self->mfd);
	/* The command's own flags and reserved field. */
	{
		struct shadow_mm_mprotect m = {
			.size = sizeof(m), .addr = W(0), .len = PAGE,
			.prot = PROT_READ, .flags = 1,
		};

		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MPROTECT,
						&m));
		m.flags = 0;
		m.__reserved = 1;
		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MPROTECT,
						&m));
	}
}

/*
 * PROT_GROWSDOWN extends the change down to the start of a VM_GROWSDOWN
 * VMA; it is refused on any other VMA, and with nothing below the end.
 */
TEST_F(prot, growsdown)
{
	RUN(MAP(8, 8, RW, PRIV_FIXED | MAP_GROWSDOWN),
	    WRITE(12, 4),
	    PROTECT(12, 2, PROT_READ | PROT_GROWSDOWN),
	    PROTECT_ERR(0, 2, PROT_READ | PROT_GROWSDOWN, ENOMEM),
	    MAP(20, 4, RW, PRIV_FIXED),
	    PROTECT_ERR(20, 2, PROT_READ | PROT_GROWSDOWN, EINVAL),
	    PROTECT(8, 8, RW));
	WANT({ 8, 16, "rw-p", SHADOW_VM_GROWSDOWN }, { 20, 24, "rw-p", 0 });
}

/* total_vm, data_vm, exec_vm and stack_vm follow every change. */
TEST_F(prot, accounting)
{
	RUN(MAP(0, 8, RW, PRIV_FIXED),
	    MAP(10, 4, PROT_READ, PRIV_FIXED),
	    MAP(16, 4, RW, PRIV_FIXED | MAP_GROWSDOWN),
	    MAP(24, 4, RW, SHARED_FIXED),
	    PROTECT(0, 2, RX),
	    PROTECT(2, 2, PROT_EXEC),
	    PROTECT(4, 2, PROT_NONE),
	    PROTECT(10, 4, RW),
	    PROTECT(10, 2, PROT_READ | PROT_WRITE | PROT_EXEC),
	    PROTECT(16, 4, PROT_READ | PROT_EXEC),
	    PROTECT(24, 4, PROT_READ | PROT_EXEC),
	    PROTECT(0, 8, RW));
}

/*
 * Data survives mprotect; PROT_NONE memory cannot be touched (EFAULT),
 * nor read by process_vm_readv, but a debugger's forced access
 * (/proc/<pid>/mem) reads and writes it, copy-on-write.
 */
TEST_F(prot, prot_none)
{
	char buf[16] = "", rbuf[16] = "";
	struct iovec local = { rbuf, 8 }, remote = { (void *)W(0), 8 };
	struct shadow_page_info p;
	int mem = open("/proc/self/mem", O_RDWR);

	ASSERT_LE(0, mem);
	RUN(MAP(0, 4, RW, PRIV_FIXED), MAP(4, 4, RW, SHARED_FIXED));
	strcpy((char *)W(0), "private");
	strcpy((char *)W(4), "shared");
	shadow_put(_metadata, self->mfd, W(0), "private");
	shadow_put(_metadata, self->mfd, W(4), "shared");
	RUN(PROTECT(0, 8, PROT_NONE));

	/* A touch faults: SIGSEGV for a process, EFAULT here. */
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, W(0), PAGE, 0, NULL));
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, W(1), PAGE,
					 SHADOW_FAULT_WRITE, NULL));
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, W(4), PAGE,
					 SHADOW_FAULT_EXEC, NULL));
	/* Unforced access: EFAULT, as process_vm_readv gets. */
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, W(0), buf, 8, 0));
	/* Forced: the data is there, and a private page takes a write. */
	EXPECT_EQ(8, pread(mem, rbuf, 8, W(0)));
	EXPECT_STREQ("private", rbuf);
	EXPECT_EQ(8, _shadow_access(self->mfd, W(0), buf, 8,
				    SHADOW_ACCESS_FORCE));
	EXPECT_STREQ("private", buf);
	EXPECT_EQ(5, pwrite(mem, "debug", 5, W(2)));
	EXPECT_EQ(5, _shadow_access(self->mfd, W(2), "debug", 5,
				    SHADOW_ACCESS_WRITE | SHADOW_ACCESS_FORCE));
	/* Not into shared memory that is not writable (/proc says EIO). */
	EXPECT_EQ(-1, pwrite(mem, "debug", 5, W(5)));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, W(5), "debug", 5,
					  SHADOW_ACCESS_WRITE |
					  SHADOW_ACCESS_FORCE));
	close(mem);
	check_pages(_metadata, self->mfd);
	p = shadow_page(_metadata, self->mfd, W(0));
	EXPECT_EQ(SHADOW_PAGE_PRESENT, p.flags & (SHADOW_PAGE_PRESENT |
						  SHADOW_PAGE_WRITE));

	RUN(PROTECT(0, 8, PROT_READ));
	EXPECT_STREQ("private", (char *)W(0));
	EXPECT_STREQ("debug", (char *)W(2));
	EXPECT_STREQ("shared", (char *)W(4));
	shadow_expect(_metadata, self->mfd, W(0), "private");
	shadow_expect(_metadata, self->mfd, W(2), "debug");
	shadow_expect(_metadata, self->mfd, W(4), "shared");
	EXPECT_EQ(0, _shadow_fault(self->mfd, W(0), 8 * PAGE, 0, NULL));
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, W(0), PAGE,
					 SHADOW_FAULT_WRITE, NULL));
}

/*
 * After fork, mprotect(PROT_WRITE) leaves every page shared copy-on-write
 * write-protected, and the zero page too: only a page the write fault
 * would reuse (anon-exclusive and dirty) becomes writable in place. Shared
 * memory becomes writable at once.
 */
TEST_F(prot, cow_stays_write_protected)
{
	struct shadow_page_info p[4];
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(8), 2 * PAGE, RW, SHARED_FIXED,
				  NULL));
	shadow_put(_metadata, self->mfd, W(0), "zero");
	shadow_put(_metadata, self->mfd, W(1), "one");
	ASSERT_EQ(0, _shadow_fault(self->mfd, W(2), PAGE, 0, NULL));
	shadow_put(_metadata, self->mfd, W(8), "shared");
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);

	/* Made writable again without a fault: nothing may be written. */
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, W(0), 4 * PAGE, PROT_READ));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, W(0), 4 * PAGE, RW));
	ASSERT_EQ(0, _shadow_walk(self->mfd, W(0), 4, p));
	EXPECT_EQ(SHADOW_PAGE_PRESENT, p[0].flags & (SHADOW_PAGE_PRESENT |
						     SHADOW_PAGE_WRITE));
	EXPECT_EQ(SHADOW_PAGE_PRESENT, p[1].flags & (SHADOW_PAGE_PRESENT |
						     SHADOW_PAGE_WRITE));
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_ZERO,
		  p[2].flags & (SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE |
				SHADOW_PAGE_ZERO));
	EXPECT_EQ(0, p[3].flags);
	/* Adding PROT_EXEC rewrites the PTEs, with the same rule. */
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, W(0), 4 * PAGE,
				      RW | PROT_EXEC));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, W(0)).flags &
		     SHADOW_PAGE_WRITE);

	/* The parent's write copies; the copy is exclusive and dirty... */
	shadow_put(_metadata, self->mfd, W(0), "ZERO");
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_cow_copies);
	shadow_expect(_metadata, child, W(0), "zero");
	/* ...so it stays writable through read-only and back. */
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, W(0), 4 * PAGE, PROT_READ));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, W(0)).flags &
		     SHADOW_PAGE_WRITE);
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, W(0), 4 * PAGE, RW));
	EXPECT_EQ(SHADOW_PAGE_WRITE | SHADOW_PAGE_ANON_EXCLUSIVE,
		  shadow_page(_metadata, self->mfd, W(0)).flags &
		  (SHADOW_PAGE_WRITE | SHADOW_PAGE_ANON_EXCLUSIVE));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, W(1)).flags &
		     SHADOW_PAGE_WRITE);

	/*
	 * The child gone, page 1 is the parent's alone, but not marked
	 * exclusive: mprotect leaves it to the write fault, which reuses it.
	 */
	close(child);
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, W(0), 4 * PAGE, PROT_READ));
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, W(0), 4 * PAGE, RW));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, W(1)).flags &
		     SHADOW_PAGE_WRITE);
	shadow_put(_metadata, self->mfd, W(1), "ONE");
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_cow_reuses);
	shadow_expect(_metadata, self->mfd, W(0), "ZERO");

	/* Shared memory has no COW: its PTEs take the protection as is. */
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, W(8), 2 * PAGE, PROT_READ));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, W(8)).flags &
		     SHADOW_PAGE_WRITE);
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, W(8), 2 * PAGE, RW));
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE | SHADOW_PAGE_SHMEM,
		  shadow_page(_metadata, self->mfd, W(8)).flags &
		  (SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE |
		   SHADOW_PAGE_SHMEM));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, W(9)).flags);
	shadow_expect(_metadata, self->mfd, W(8), "shared");
}

/*
 * mlock splits, locks, accounts and populates: private writable memory
 * with write faults, read-only memory with the zero page, shared memory
 * with its object's pages; MLOCK_ONFAULT populates nothing. munlock
 * merges back. A hole stops both with ENOMEM after what came before it.
 */
TEST_F(prot, mlock)
{
	RUN(MAP(0, 16, RW, PRIV_FIXED),
	    MAP(20, 8, PROT_READ, PRIV_FIXED),
	    MAP(32, 8, RW, SHARED_FIXED),
	    LOCK(4, 4, 0),
	    LOCK(22, 2, 0),
	    LOCK(34, 2, 0),
	    LOCK(10, 4, MLOCK_ONFAULT),
	    LOCK(4, 2, 0),
	    UNLOCK(4, 4),
	    WRITE(10, 2),
	    LOCK_ERR(14, 8, 0, ENOMEM),
	    UNLOCK_ERR(0, 24, ENOMEM),
	    UNLOCK(20, 8),
	    LOCK(32, 8, MLOCK_ONFAULT),
	    LOCK(32, 8, 0),
	    UNLOCK(32, 8),
	    UNLOCK(0, 0));
	/*
	 * Pages 4-7 and 10-11 were written, so their VMAs have an anon_vma:
	 * 6.1 merges such a VMA with a neighbour that has none only when the
	 * anon_vma's side is the one being merged into (10-16), not the
	 * other way round (0-4, 4-8, 8-10). Zero pages need no anon_vma.
	 */
	WANT({ 0, 4, "rw-p", 0 }, { 4, 8, "rw-p", 0 }, { 8, 10, "rw-p", 0 },
	     { 10, 16, "rw-p", 0 }, { 20, 28, "r--p", 0 },
	     { 32, 40, "rw-s", 0 });
}

/* mlock rounds its range out to pages; munlock too. */
TEST_F(prot, mlock_rounding)
{
	ASSERT_NE(MAP_FAILED, mmap((void *)W(0), 8 * PAGE, RW, PRIV_FIXED, -1,
				   0));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 8 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, mlock((void *)(W(1) + 100), PAGE));
	ASSERT_EQ(0, _shadow_mlock(self->mfd, W(1) + 100, PAGE, 0));
	check_layout(_metadata, self->mfd);
	check_pages(_metadata, self->mfd);
	WANT({ 0, 1, "rw-p", 0 }, { 1, 3, "rw-p", SHADOW_VM_LOCKED },
	     { 3, 8, "rw-p", 0 });
	EXPECT_EQ(2, shadow_stats(_metadata, self->mfd).out_locked_vm);
	ASSERT_EQ(0, munlock((void *)(W(2) + 1), 1));
	ASSERT_EQ(0, _shadow_munlock(self->mfd, W(2) + 1, 1));
	check_layout(_metadata, self->mfd);
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_locked_vm);
	/* mlock2's flags, and the command's. */
	EXPECT_EQ(-1, syscall(SYS_mlock2, W(0), PAGE, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, _shadow_mlock(self->mfd, W(0), PAGE, 2));
	do {
		struct shadow_mm_mlock m = {
			.size = sizeof(m), .addr = W(0), .len = PAGE,
			.__reserved = 1,
		};
		struct shadow_mm_munlock u = {
			.size = sizeof(u), .flags = 1,
		};

		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MLOCK,
						&m));
		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MUNLOCK,
						&u));
	} while (0);
}

/*
 * PROT_NONE memory is locked, but populating it fails: mlock gives
 * ENOMEM (get_user_pages' EFAULT, as mlock(2) reports it).
 */
TEST_F(prot, mlock_prot_none)
{
	RUN(MAP(0, 4, PROT_NONE, PRIV_FIXED),
	    LOCK_ERR(0, 4, 0, ENOMEM),
	    UNLOCK(0, 4),
	    LOCK(0, 4, MLOCK_ONFAULT));
	WANT({ 0, 4, "---p", SHADOW_VM_LOCKED });
}

/*
 * RLIMIT_MEMLOCK without CAP_IPC_LOCK: mlock counts what is locked
 * already only once; mmap(MAP_LOCKED) and mlockall(MCL_FUTURE) mappings
 * count against it too; a zero limit refuses with EPERM.
 */
TEST_F(prot, mlock_rlimit)
{
	ASSERT_EQ(0, drop_effective_cap(CAP_IPC_LOCK));
	ASSERT_EQ(0, set_memlock_pages(8));
	RUN(MAP(0, 16, RW, PRIV_FIXED),
	    LOCK_ERR(0, 16, 0, ENOMEM),
	    LOCK(0, 8, 0),
	    LOCK(4, 4, 0),
	    LOCK_ERR(4, 5, 0, ENOMEM),
	    MAP_ERR(32, 1, RW, PRIV_FIXED | MAP_LOCKED, EAGAIN),
	    LOCKALL_ERR(MCL_CURRENT, ENOMEM),
	    UNLOCK(2, 2),
	    MAP(32, 2, RW, PRIV_FIXED | MAP_LOCKED),
	    MAP_ERR(40, 1, RW, PRIV_FIXED | MAP_LOCKED, EAGAIN));
	WANT({ 0, 2, "rw-p", SHADOW_VM_LOCKED }, { 2, 4, "rw-p", 0 },
	     { 4, 8, "rw-p", SHADOW_VM_LOCKED }, { 8, 16, "rw-p", 0 },
	     { 32, 34, "rw-p", SHADOW_VM_LOCKED });
	ASSERT_EQ(0, set_memlock_pages(0));
	RUN(LOCK_ERR(8, 1, 0, EPERM),
	    LOCKALL_ERR(MCL_FUTURE, EPERM),
	    MAP_ERR(40, 1, RW, PRIV_FIXED | MAP_LOCKED, EPERM),
	    UNLOCK(0, 16));
}

/*
 * mlockall: MCL_CURRENT locks and populates every VMA, MCL_FUTURE every
 * later mapping (with MCL_ONFAULT, without populating it); munlockall
 * undoes both. A call without MCL_FUTURE clears it.
 */
TEST_F(prot, mlockall)
{
	struct shadow_mm_stats st;

	RUN(MAP(0, 8, RW, PRIV_FIXED),
	    MAP(10, 4, PROT_READ, PRIV_FIXED),
	    MAP(16, 4, PROT_NONE, PRIV_FIXED),
	    LOCKALL(MCL_CURRENT),
	    UNLOCKALL(),
	    LOCKALL(MCL_FUTURE | MCL_ONFAULT),
	    MAP(20, 4, RW, PRIV_FIXED),
	    MAP(24, 4, RW, PRIV_FIXED),
	    WRITE(20, 1),
	    LOCKALL(MCL_CURRENT | MCL_FUTURE),
	    MAP(30, 2, RW, PRIV_FIXED),
	    MAP(34, 2, RW, SHARED_FIXED),
	    LOCKALL(MCL_CURRENT),
	    MAP(40, 2, RW, PRIV_FIXED),
	    UNLOCKALL(),
	    MAP(44, 2, RW, PRIV_FIXED));
	ASSERT_EQ(0, _shadow_get_stats(self->mfd, &st));
	EXPECT_EQ(0, st.out_locked_vm);
	EXPECT_EQ(0, st.out_def_flags);
	RUN(LOCKALL_ERR(0, EINVAL),
	    LOCKALL_ERR(MCL_ONFAULT, EINVAL),
	    LOCKALL_ERR(MCL_CURRENT | 8, EINVAL));
	{
		struct shadow_mm_mlockall m = {
			.size = sizeof(m), .mcl_flags = MCL_FUTURE,
			.__reserved = 1,
		};
		struct shadow_mm_munlockall u = { .size = sizeof(u), .flags = 1 };

		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MLOCKALL,
						&m));
		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MUNLOCKALL,
						&u));
	}
}

/* def_flags: what mlockall(MCL_FUTURE) leaves, and fork does not copy. */
TEST_F(prot, mlockall_def_flags_not_inherited)
{
	struct shadow_vma_info v;
	__u32 nr;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 2 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mlockall(self->mfd, MCL_CURRENT | MCL_FUTURE |
				      MCL_ONFAULT));
	EXPECT_EQ(SHADOW_VM_LOCKED | SHADOW_VM_LOCKONFAULT,
		  shadow_stats(_metadata, self->mfd).out_def_flags);
	EXPECT_EQ(2, shadow_stats(_metadata, self->mfd).out_locked_vm);
	/* MCL_ONFAULT: nothing populated. */
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, W(0)).flags);
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	EXPECT_EQ(0, shadow_stats(_metadata, child).out_def_flags);
	EXPECT_EQ(0, shadow_stats(_metadata, child).out_locked_vm);
	ASSERT_EQ(0, _shadow_get_vmas(child, W(0), W(2), &v, 1, &nr));
	EXPECT_EQ(0, v.vm_flags & (SHADOW_VM_LOCKED | SHADOW_VM_LOCKONFAULT));
	ASSERT_EQ(0, _shadow_mmap(child, W(4), PAGE, RW, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_get_vmas(child, W(4), W(5), &v, 1, &nr));
	EXPECT_EQ(0, v.vm_flags & SHADOW_VM_LOCKED);
	close(child);
	EXPECT_EQ(0, _shadow_munlockall(self->mfd));
}

/*
 * MAP_POPULATE and MAP_LOCKED populate after the mmap: write faults for
 * private writable memory, the zero page for read-only memory, the
 * object's pages for shared memory; MAP_NONBLOCK and PROT_NONE nothing.
 */
TEST_F(prot, map_populate_and_locked)
{
	RUN(MAP(0, 4, RW, PRIV_FIXED | MAP_POPULATE),
	    MAP(4, 4, PROT_READ, PRIV_FIXED | MAP_POPULATE),
	    MAP(8, 4, RW, SHARED_FIXED | MAP_POPULATE),
	    MAP(12, 4, RW, PRIV_FIXED | MAP_LOCKED),
	    MAP(16, 4, PROT_READ, PRIV_FIXED | MAP_LOCKED),
	    MAP(20, 4, RW, PRIV_FIXED | MAP_POPULATE | MAP_NONBLOCK),
	    MAP(24, 4, PROT_NONE, PRIV_FIXED | MAP_POPULATE),
	    MAP(28, 4, PROT_NONE, PRIV_FIXED | MAP_LOCKED),
	    MAP(2, 4, RW, PRIV_FIXED | MAP_POPULATE));
	/* Pages 0-5 (2-5 populated again by the last mmap) and 12-15. */
	EXPECT_EQ(6 + 4, shadow_stats(_metadata, self->mfd).out_rss_anon);
	EXPECT_EQ(4, shadow_stats(_metadata, self->mfd).out_rss_shmem);
}

/*
 * A locked private read-only VMA made writable is populated again with
 * write faults: its zero pages are replaced by pages of its own.
 */
TEST_F(prot, locked_becomes_writable)
{
	RUN(MAP(0, 4, PROT_READ, PRIV_FIXED | MAP_LOCKED),
	    MAP(4, 4, PROT_READ, PRIV_FIXED | MAP_LOCKED),
	    PROTECT(0, 2, RW),
	    LOCK(4, 4, MLOCK_ONFAULT),
	    PROTECT(4, 4, RW));
	EXPECT_EQ(2, shadow_stats(_metadata, self->mfd).out_rss_anon);
}

/* After fork, mlock of private writable memory breaks COW at once. */
TEST_F(prot, mlock_breaks_cow)
{
	struct shadow_page_info p, c;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), 4 * PAGE, RW, PRIV_FIXED,
				  NULL));
	shadow_put(_metadata, self->mfd, W(0), "before");
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_mlock(self->mfd, W(0), 4 * PAGE, 0));
	p = shadow_page(_metadata, self->mfd, W(0));
	c = shadow_page(_metadata, child, W(0));
	EXPECT_NE(p.page_id, c.page_id);
	EXPECT_EQ(SHADOW_PAGE_WRITE | SHADOW_PAGE_ANON_EXCLUSIVE,
		  p.flags & (SHADOW_PAGE_WRITE | SHADOW_PAGE_ANON_EXCLUSIVE));
	EXPECT_EQ(1, p.mapcount);
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_cow_copies);
	EXPECT_EQ(4, shadow_stats(_metadata, self->mfd).out_rss_anon);
	shadow_expect(_metadata, self->mfd, W(0), "before");
	shadow_expect(_metadata, child, W(0), "before");
	close(child);
}

/*
 * MADV_RANDOM, MADV_SEQUENTIAL and MADV_NORMAL, MADV_DONTDUMP and
 * MADV_DODUMP change flags, which split and merge VMAs; MADV_WILLNEED
 * changes nothing but reports holes.
 */
TEST_F(prot, madvise_flags)
{
	RUN(MAP(0, 16, RW, PRIV_FIXED),
	    ADVISE(4, 4, MADV_RANDOM),
	    ADVISE(4, 4, MADV_SEQUENTIAL),
	    ADVISE(6, 4, MADV_RANDOM),
	    ADVISE(0, 16, MADV_NORMAL),
	    ADVISE(8, 8, MADV_DONTDUMP),
	    ADVISE(12, 4, MADV_SEQUENTIAL),
	    ADVISE(0, 16, MADV_DODUMP),
	    ADVISE(12, 4, MADV_NORMAL),
	    ADVISE_ERR(0, 20, MADV_WILLNEED, ENOMEM),
	    ADVISE(0, 16, MADV_WILLNEED),
	    ADVISE_ERR(18, 2, MADV_RANDOM, ENOMEM));
	WANT({ 0, 16, "rw-p", 0 });
}

/*
 * MADV_DONTNEED drops the pages: private memory faults zeroes back in,
 * shared memory its object's pages; locked memory refuses unless
 * MADV_DONTNEED_LOCKED.
 */
TEST_F(prot, madvise_dontneed)
{
	RUN(MAP(0, 8, RW, PRIV_FIXED),
	    MAP(8, 8, RW, SHARED_FIXED),
	    WRITE(0, 16));
	strcpy((char *)W(3), "private");
	strcpy((char *)W(10), "shared");
	shadow_put(_metadata, self->mfd, W(3), "private");
	shadow_put(_metadata, self->mfd, W(10), "shared");
	RUN(ADVISE(2, 4, MADV_DONTNEED),
	    ADVISE(10, 2, MADV_DONTNEED));
	EXPECT_EQ(0, *(char *)W(3));
	EXPECT_STREQ("shared", (char *)W(10));
	shadow_expect(_metadata, self->mfd, W(3), "");
	{
		char buf[8] = "xxxxxxx";

		EXPECT_EQ(7, _shadow_access(self->mfd, W(3), buf, 7, 0));
		EXPECT_EQ(0, memcmp(buf, "\0\0\0\0\0\0\0", 7));
	}
	shadow_expect(_metadata, self->mfd, W(10), "shared");
	RUN(READ(0, 16),
	    ADVISE_ERR(0, 20, MADV_DONTNEED, ENOMEM),
	    LOCK(0, 2, 0),
	    ADVISE_ERR(0, 4, MADV_DONTNEED, EINVAL),
	    ADVISE(0, 4, MADV_DONTNEED_LOCKED),
	    ADVISE(8, 8, MADV_DONTNEED));
	shadow_expect(_metadata, self->mfd, W(10), "shared");
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_anon);
}

/*
 * MADV_POPULATE_READ maps the zero page, MADV_POPULATE_WRITE writable
 * pages (breaking COW); either stops with EINVAL at a VMA that does not
 * allow the access and with ENOMEM at a hole.
 */
TEST_F(prot, madvise_populate)
{
	RUN(MAP(0, 8, RW, PRIV_FIXED),
	    MAP(8, 4, PROT_READ, PRIV_FIXED),
	    MAP(12, 4, PROT_NONE, PRIV_FIXED),
	    MAP(16, 4, RW, SHARED_FIXED),
	    ADVISE(0, 4, MADV_POPULATE_READ),
	    ADVISE(2, 4, MADV_POPULATE_WRITE),
	    ADVISE_ERR(6, 4, MADV_POPULATE_WRITE, EINVAL),
	    ADVISE(8, 4, MADV_POPULATE_READ),
	    ADVISE_ERR(12, 2, MADV_POPULATE_READ, EINVAL),
	    ADVISE(16, 2, MADV_POPULATE_READ),
	    ADVISE(18, 2, MADV_POPULATE_WRITE),
	    ADVISE_ERR(16, 8, MADV_POPULATE_READ, ENOMEM),
	    ADVISE_ERR(20, 4, MADV_POPULATE_WRITE, ENOMEM));
	EXPECT_EQ(6, shadow_stats(_metadata, self->mfd).out_rss_anon);
	EXPECT_EQ(4, shadow_stats(_metadata, self->mfd).out_rss_shmem);
}

/* Advice the engine does not model (KSM's) is refused, and documented so. */
TEST_F(prot, madvise_unmodelled)
{
	ASSERT_EQ(0, _shadow_mmap(self->mfd, W(0), PAGE, RW, PRIV_FIXED, NULL));
	EXPECT_EQ(-EINVAL, _shadow_madvise(self->mfd, W(0), PAGE,
					   MADV_MERGEABLE));
}

/* Write @s at @pg of the window in both kernels. */
static void put_both(struct __test_metadata *_metadata, int mfd, long pg,
		     const char *s)
{
	strcpy((char *)W(pg), s);
	shadow_put(_metadata, mfd, W(pg), s);
}

/*
 * Both kernels read @s at @pg of the window, its NUL included: the read
 * faults the page in on both sides, even for "".
 */
static void expect_both(struct __test_metadata *_metadata, int mfd, long pg,
			const char *s)
{
	char buf[64] = "x";
	long len = strlen(s) + 1;

	EXPECT_STREQ(s, (char *)W(pg));
	ASSERT_EQ(len, _shadow_access(mfd, W(pg), buf, len, 0));
	EXPECT_STREQ(s, buf);
}

/*
 * MADV_REMOVE punches a hole in shared anonymous memory: the range reads
 * zeroes in both kernels and its pages leave the object. Private
 * anonymous and VM_LOCKED memory refuse with EINVAL; a range running into
 * them has its shared part punched first. A PROT_READ shared mapping
 * takes it: the check is VM_SHARED | VM_MAYWRITE (6.1.y and 6.12). A
 * hole in the range gives ENOMEM after the rest.
 */
TEST_F(prot, madvise_remove)
{
	RUN(MAP(0, 8, RW, SHARED_FIXED),
	    MAP(8, 4, RW, PRIV_FIXED),
	    MAP(12, 4, PROT_READ, SHARED_FIXED),
	    WRITE(0, 12),
	    READ(12, 4));
	put_both(_metadata, self->mfd, 1, "kept");
	put_both(_metadata, self->mfd, 2, "removed");
	put_both(_metadata, self->mfd, 7, "removed too");
	put_both(_metadata, self->mfd, 8, "private");
	EXPECT_EQ(12, shadow_stats(_metadata, self->mfd).out_rss_shmem);
	RUN(ADVISE(2, 2, MADV_REMOVE),
	    ADVISE_ERR(6, 4, MADV_REMOVE, EINVAL),
	    ADVISE_ERR(8, 2, MADV_REMOVE, EINVAL),
	    ADVISE(12, 4, MADV_REMOVE));
	expect_both(_metadata, self->mfd, 1, "kept");
	expect_both(_metadata, self->mfd, 2, "");
	expect_both(_metadata, self->mfd, 7, "");
	expect_both(_metadata, self->mfd, 8, "private");
	/* 2-3, 6-7 and 12-15 went; reading 2 and 7 back faulted them in. */
	EXPECT_EQ(12 - 8 + 2, shadow_stats(_metadata, self->mfd).out_rss_shmem);
	RUN(LOCK(0, 2, 0),
	    ADVISE_ERR(0, 2, MADV_REMOVE, EINVAL),
	    UNLOCK(0, 2),
	    ADVISE_ERR(12, 8, MADV_REMOVE, ENOMEM),
	    ADVISE(0, 2, MADV_REMOVE));
	expect_both(_metadata, self->mfd, 1, "");
}

/*
 * A hole punched in shared anonymous memory reads zeroes in every address
 * space mapping the object: a child of a real fork in this process's
 * kernel, the child of a shadow fork (plain, and on demand, where the
 * PTE tables the two share break first), and their counters drop.
 */
TEST_F(prot, madvise_remove_shared_by_fork)
{
	static const unsigned int forks[] = { 0, SHADOW_FORK_ODF };
	unsigned int f;

	RUN(MAP(0, 8, RW, SHARED_FIXED));
	for (f = 0; f < ARRAY_SIZE(forks); f++) {
		struct shadow_mm_stats cs;
		int pipefd[2], status, child;
		pid_t pid;
		char c;

		put_both(_metadata, self->mfd, 1, "one");
		put_both(_metadata, self->mfd, 5, "five");
		ASSERT_EQ(0, _shadow_fault(self->mfd, W(0), 8 * PAGE, 0, NULL));
		child = _shadow_fork(self->mfd, forks[f], NULL);
		ASSERT_LE(0, child);
		ASSERT_EQ(0, _shadow_fault(child, W(0), 8 * PAGE, 0, NULL));
		shadow_expect(_metadata, child, W(5), "five");
		EXPECT_EQ(8, shadow_stats(_metadata, child).out_rss_shmem);
		ASSERT_EQ(0, pipe(pipefd));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			if (read(pipefd[0], &c, 1) != 1)
				_exit(2);
			_exit(strcmp((char *)W(5), "") ||
			      strcmp((char *)W(1), "one"));
		}
		ASSERT_EQ(0, madvise((void *)W(4), 4 * PAGE, MADV_REMOVE));
		ASSERT_EQ(1, write(pipefd[1], "x", 1));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		close(pipefd[0]);
		close(pipefd[1]);

		ASSERT_EQ(0, _shadow_madvise(self->mfd, W(4), 4 * PAGE,
					     MADV_REMOVE));
		cs = shadow_stats(_metadata, child);
		EXPECT_EQ(4, cs.out_rss_shmem);
		EXPECT_EQ(4, shadow_stats(_metadata, self->mfd).out_rss_shmem);
		shadow_expect(_metadata, child, W(5), "");
		shadow_expect(_metadata, child, W(1), "one");
		shadow_expect(_metadata, self->mfd, W(5), "");
		/* The child's write reaches the parent: still one object. */
		shadow_put(_metadata, child, W(6), "six");
		shadow_expect(_metadata, self->mfd, W(6), "six");
		close(child);
		RUN(ADVISE(0, 8, MADV_REMOVE));
		EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_shmem);
	}
}

/* A populate of a huge range stops when its caller is killed. */
TEST(populate_killed)
{
	struct shadow_counts before = shadow_counts();
	int pipefd[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int dev = shadow_open_dev(), mfd;

		if (dev < 0)
			_exit(1);
		mfd = _shadow_create(dev, 0, NULL);
		/* 8 GiB of read-only memory: the zero page, 4 Mi times. */
		if (mfd < 0 || _shadow_mmap(mfd, WIN, 8UL << 30, PROT_READ,
					    PRIV_FIXED, NULL))
			_exit(2);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(3);
		_shadow_mlock(mfd, WIN, 8UL << 30, 0);
		_exit(4);
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	usleep(300 * 1000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	close(pipefd[0]);
	shadow_expect_counts(_metadata, before);
}

TEST_HARNESS_MAIN
