// SPDX-License-Identifier: GPL-2.0
/*
 * A differential fuzzer: random sequences of address-space operations run
 * both on the real kernel, in child processes, and on shadow address spaces,
 * and compared after every step. The running kernel is the oracle.
 *
 * The window. Every operation targets a 64 MiB window [WIN_BASE, WIN_TOP)
 * far from anything the real process has. Top-down placements (no hint, a
 * hint that does not fit, mremap moves) must land alike on both sides: the
 * shadow space is created with mmap_base = WIN_TOP, and the real child fills
 * every gap between WIN_TOP and its own mmap_base with PROT_NONE plugs,
 * found by probing (a hint-less one-page mmap lands in the highest gap below
 * mmap_base; that gap is plugged; again until the probe lands just below
 * WIN_TOP). Then the highest gap below the top-down limit is the same on
 * both sides: the window's, or once it is full the space just below it,
 * where the real process has nothing either. A one-page shared PROT_NONE
 * mapping at WIN_TOP, on both sides, bounds hints and in-place growth
 * alike and merges with nothing. The comparison covers [VIEW_LO, WIN_TOP):
 * the window and what spills below it.
 *
 * Each step is compared on every live process / address space:
 *  - the result: errno or success, the address mmap and mremap return, the
 *    pages a touch got through before its fault, the bytes a forced access
 *    moved (and the bytes read);
 *  - the VMAs: boundaries, every VM_* flag (/proc/<pid>/smaps VmFlags against
 *    SHADOW_MM_GET_VMAS), the offset of shared mappings, which VMAs share a
 *    backing object (inode against backing_id, across processes);
 *  - per page (/proc/<pid>/pagemap against SHADOW_MM_WALK): present, not
 *    swapped, the zero page, a shmem page, mapped exactly once, and which
 *    pages are one page (equal pfns against equal page ids, across
 *    processes: that is copy-on-write's sharing);
 *  - the bytes of every present page (/proc/<pid>/mem against a forced
 *    SHADOW_MM_ACCESS read, which faults nothing in).
 *
 * Operations run in the real child as the CPU or the system call would
 * (reads and writes of patterns catch SIGSEGV), on the shadow side as the
 * matching ioctl: a CPU touch is SHADOW_MM_FAULT, then SHADOW_MM_ACCESS
 * for the bytes; /proc/<pid>/mem reads and writes (FOLL_FORCE) are forced
 * accesses. fork is clone(CLONE_PARENT) in the real process, so every
 * process stays this one's child and its exit is waited for before the
 * next step, and SHADOW_MM_FORK on the shadow side.
 *
 * File mappings (SHADOW_MM_FEATURE_FILE) map one memfd, made before any
 * process and shared by all of them and by the shadow side: both sides
 * map the very same page-cache pages, so a shared write on one side is
 * seen on the other, and each side writes the same patterns. Its pages
 * are all in the page cache; offsets reach past its end (SIGBUS).
 * With SHADOW_MM_FEATURE_BATCH, about half the mmaps, munmaps, mprotects
 * and madvises (chosen by their arguments, so that a replay does the same)
 * go through SHADOW_MM_BATCH as a one-operation batch instead of their
 * own command: the results must be the same.
 *
 * Reclaim (SHADOW_MM_FEATURE_SWAP) runs on the shadow side only: the
 * real process does nothing (the VM has no swap). The pages it swapped
 * out, in every shadow space, are then read back (a forced read of each
 * page that was present before the step, as the process would find it)
 * and the comparison must hold as before: the same contents, the same
 * pages shared, the same mapcounts. The pages fault-around mapped from a
 * shared object on the way, which the real process had not mapped, are
 * zapped again. Later steps then meet pages in the swap cache.
 *
 * Where the engine and Linux differ on purpose, or an operation is not
 * there yet, the case is avoided or emulated at run time (never only at
 * generation, so that a shortened sequence stays valid); see diff_skip()
 * and diff_emulate_populate(). Operations whose ioctl the module lacks are
 * not generated; the active ones are printed.
 *
 * Transparent huge pages: by default the real process runs with
 * PR_SET_THP_DISABLE and the space likewise. In THP mode
 * (SHADOW_DIFF_THP=always, and diff.fuzz_thp's short pass) both run with
 * THP "always": the real kernel's sysfs is set up for it (thp_setup():
 * direct compaction, khugepaged held off) and put back after; the
 * generator adds 2 MiB lengths and boundaries; each page is compared as
 * a THP's or not (/proc/kpageflags' KPF_THP against SHADOW_PAGE_THP; the
 * huge zero page stands for the zero page) and each VMA's AnonHugePages
 * (smaps against the space's PMD-mapped records). A real fallback or
 * khugepaged collapse is printed with the results. A reclaim step is left
 * out while a THP is mapped: the engine splits it for swap-out, the real
 * side, which is not reclaimed, keeps it whole.
 *
 * MADV_COLD and MADV_FREE are drawn; a reclaim step is left out after a
 * MADV_FREE (the real side keeps lazyfree pages until its own reclaim).
 * MADV_PAGEOUT is not drawn: the real side has no swap device to write
 * to; shadow_mm_swap_test and shadow_mm_huge_test compare it with the
 * real kernel case by case.
 *
 * A mismatch prints the seed, the step, both sides' states and a sequence
 * shortened by delta debugging (each candidate replayed from scratch).
 *
 * Environment (or --seed/--seconds/--sequences/--seq/--ops/-v):
 * SHADOW_DIFF_SEED (default 1; a timed run picks one), SHADOW_DIFF_SECONDS
 * (run for that long instead of a number of sequences),
 * SHADOW_DIFF_SEQUENCES (default 100), SHADOW_DIFF_SEQ (replay one
 * sequence, verbosely), SHADOW_DIFF_OPS (most operations per sequence,
 * default 40), SHADOW_DIFF_VERBOSE, SHADOW_DIFF_TWIN (check the fuzzer: a
 * second real process in place of the module, every operation active),
 * SHADOW_DIFF_THP=always (or --thp always: THP mode).
 */
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "shadow_mm_lib.h"

#define WIN_BASE	0x200000000000UL
#define WIN_PAGES	16384UL
#define WIN_TOP		(WIN_BASE + WIN_PAGES * PAGE)
#define VIEW_LO		0x100000000000UL
/* Most operations land in the top of the window, where placements go. */
#define HOT_PAGES	256UL
/* The pages of a PMD-mapped THP. */
#define HPAGE_PAGES	512UL

#define MAX_SLOTS	4
#define MAX_OPS		512
#define MAX_VMAS	2048
#define MAX_TOUCH	(24 * PAGE)
#define REPLY_MS	60000
/* A run bounded by sequences stops after this long all the same. */
#define BUDGET_S	120

/* ---- operations ---------------------------------------------------- */

enum op_kind {
	OP_MMAP, OP_MUNMAP, OP_READ, OP_WRITE, OP_PEEK, OP_POKE, OP_MADVISE,
	OP_MPROTECT, OP_MLOCK, OP_MUNLOCK, OP_MLOCKALL, OP_MUNLOCKALL,
	OP_MREMAP, OP_FORK, OP_EXIT, OP_RECLAIM, NR_OP_KINDS
};

static const char * const op_names[NR_OP_KINDS] = {
	"mmap", "munmap", "read", "write", "peek", "poke", "madvise",
	"mprotect", "mlock", "munlock", "mlockall", "munlockall", "mremap",
	"fork", "exit", "reclaim",
};

/* How often each kind is generated, when active. */
static const int op_weights[NR_OP_KINDS] = {
	[OP_MMAP] = 22, [OP_MUNMAP] = 9, [OP_READ] = 10, [OP_WRITE] = 14,
	[OP_PEEK] = 3, [OP_POKE] = 3, [OP_MADVISE] = 8, [OP_MPROTECT] = 10,
	[OP_MLOCK] = 3, [OP_MUNLOCK] = 2, [OP_MLOCKALL] = 1,
	[OP_MUNLOCKALL] = 1, [OP_MREMAP] = 9, [OP_FORK] = 5, [OP_EXIT] = 3,
	[OP_RECLAIM] = 5,
};

/*
 * One step. @slot is the process / address space it runs in; @arg is the
 * advice, the mlock/mlockall/mremap flags, fork's new slot, reclaim's
 * passes (@val its nr_to_reclaim), or a file mmap's offset in pages (@val
 * 1 for a mapping of the memfd).
 */
struct op {
	int kind;
	int slot;
	unsigned long addr, len;
	unsigned long new_addr, new_len;
	int prot, flags, arg;
	unsigned int val;
};

/* What an operation returned: a value (address, bytes, 0) or -errno. */
struct result {
	long ret;
	long done;	/* touches: pages got through */
};

/* ---- configuration ------------------------------------------------- */

static struct {
	__u64 seed;
	long seconds;
	long sequences;
	long seq;
	int max_ops;
	int verbose;
	bool seed_set;
	bool thp;	/* SHADOW_DIFF_THP=always: huge pages on both sides */
} cfg = { .sequences = 100, .seq = -1 };

/* What the module implements, from SHADOW_MM_API and probes. */
static struct {
	__u64 ioctls, features;
	bool kind[NR_OP_KINDS];
	int advice[24];
	int nr_advice;
	bool populates;		/* MAP_POPULATE/MAP_LOCKED fault pages in */
	bool grows_stack;	/* a touch below a VM_GROWSDOWN VMA grows it */
	bool droppable;		/* both sides map MAP_DROPPABLE (6.11 on) */
} caps;

static __u64 zero_pfn;
/* /proc/kpageflags, for the THP bit of the real side's pages. */
static int kpageflags_fd = -1;

/* The file every file mapping maps: a memfd of FILE_PAGES pages. */
#define FILE_PAGES	32
static int file_fd = -1;

/* ---- random numbers (splitmix64) ----------------------------------- */

struct rng {
	__u64 s;
};

static __u64 rng_next(struct rng *r)
{
	__u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned long rnd(struct rng *r, unsigned long n)
{
	return n ? rng_next(r) % n : 0;
}

/* The byte a write or a poke puts at @a. */
static unsigned char pattern(unsigned int val, unsigned long a)
{
	__u64 x = (a ^ ((__u64)val << 32)) * 0x9e3779b97f4a7c15ULL;

	return x >> 56;
}

/* ---- reports --------------------------------------------------------- */

enum mismatch {
	MIS_NONE, MIS_RESULT, MIS_LAYOUT, MIS_PAGES, MIS_SHARING, MIS_BYTES,
	MIS_REAL, MIS_SHADOW, MIS_LEAK,
};

static const char * const mis_names[] = {
	"none", "result", "layout", "pages", "sharing", "bytes",
	"real process", "shadow ioctl", "leak",
};

static char report_buf[1 << 16];
static size_t report_len;

static void report(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (report_len >= sizeof(report_buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(report_buf + report_len, sizeof(report_buf) - report_len,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		report_len += n;
	if (report_len > sizeof(report_buf) - 1)
		report_len = sizeof(report_buf) - 1;
}

/* Print the report, each line as a TAP comment. */
static void report_flush(void)
{
	char *line, *save = NULL;

	for (line = strtok_r(report_buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("# %s\n", line);
	fflush(stdout);
	report_len = 0;
	report_buf[0] = 0;
}

static void report_clear(void)
{
	report_len = 0;
	report_buf[0] = 0;
}

static const char *win(unsigned long a, char *buf, size_t len)
{
	if (a >= WIN_BASE && a <= WIN_TOP)
		snprintf(buf, len, "W+%#lx", a - WIN_BASE);
	else if (a >= VIEW_LO && a < WIN_BASE)
		snprintf(buf, len, "W-%#lx", WIN_BASE - a);
	else
		snprintf(buf, len, "%#lx", a);
	return buf;
}

static const char *prot_str(int prot, char *buf)
{
	snprintf(buf, 48, "%s%s%s%s%s%s", prot & PROT_READ ? "R" : "",
		 prot & PROT_WRITE ? "W" : "", prot & PROT_EXEC ? "X" : "",
		 !(prot & 7) ? "NONE" : "",
		 prot & PROT_GROWSDOWN ? "|GROWSDOWN" : "",
		 prot & PROT_GROWSUP ? "|GROWSUP" : "");
	if (prot & ~(7 | PROT_GROWSDOWN | PROT_GROWSUP))
		snprintf(buf + strlen(buf), 48 - strlen(buf), "|%#x",
			 prot & ~(7 | PROT_GROWSDOWN | PROT_GROWSUP));
	return buf;
}

static const char *map_flags_str(int f, char *buf, size_t len)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{ MAP_SHARED, "SHARED" }, { MAP_PRIVATE, "PRIVATE" },
		{ MAP_ANONYMOUS, "ANON" }, { MAP_FIXED, "FIXED" },
		{ MAP_FIXED_NOREPLACE, "NOREPLACE" },
		{ MAP_NORESERVE, "NORESERVE" }, { MAP_GROWSDOWN, "GROWSDOWN" },
		{ MAP_POPULATE, "POPULATE" }, { MAP_LOCKED, "LOCKED" },
		{ MAP_NONBLOCK, "NONBLOCK" }, { MAP_DROPPABLE, "DROPPABLE" },
	};
	size_t i, n = 0;

	buf[0] = 0;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(f & names[i].bit))
			continue;
		n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "",
			      names[i].name);
		f &= ~names[i].bit;
		if (n >= len)
			return buf;
	}
	if (f || !n)
		snprintf(buf + n, len - n, "%s%#x", n ? "|" : "", f);
	return buf;
}

static const char *advice_str(int adv)
{
	switch (adv) {
	case MADV_NORMAL: return "NORMAL";
	case MADV_RANDOM: return "RANDOM";
	case MADV_SEQUENTIAL: return "SEQUENTIAL";
	case MADV_WILLNEED: return "WILLNEED";
	case MADV_DONTNEED: return "DONTNEED";
	case MADV_DONTFORK: return "DONTFORK";
	case MADV_DOFORK: return "DOFORK";
	case MADV_DONTDUMP: return "DONTDUMP";
	case MADV_DODUMP: return "DODUMP";
	case MADV_WIPEONFORK: return "WIPEONFORK";
	case MADV_KEEPONFORK: return "KEEPONFORK";
	case MADV_POPULATE_READ: return "POPULATE_READ";
	case MADV_POPULATE_WRITE: return "POPULATE_WRITE";
	case MADV_HUGEPAGE: return "HUGEPAGE";
	case MADV_NOHUGEPAGE: return "NOHUGEPAGE";
	case MADV_REMOVE: return "REMOVE";
	case MADV_FREE: return "FREE";
	case MADV_COLD: return "COLD";
	}
	return "invalid";
}

/* One operation as C-like text. */
static const char *op_str(const struct op *op, char *buf, size_t len)
{
	char a[32], b[32], p[48], f[96];

	switch (op->kind) {
	case OP_MMAP:
		if (op->val)
			snprintf(buf, len,
				 "[%d] mmap(%s, %#lx, %s, %s, file, pg %d)",
				 op->slot, win(op->addr, a, sizeof(a)),
				 op->len, prot_str(op->prot, p),
				 map_flags_str(op->flags, f, sizeof(f)),
				 op->arg);
		else
			snprintf(buf, len, "[%d] mmap(%s, %#lx, %s, %s)",
				 op->slot, win(op->addr, a, sizeof(a)),
				 op->len, prot_str(op->prot, p),
				 map_flags_str(op->flags, f, sizeof(f)));
		break;
	case OP_MPROTECT:
		snprintf(buf, len, "[%d] mprotect(%s, %#lx, %s)", op->slot,
			 win(op->addr, a, sizeof(a)), op->len,
			 prot_str(op->prot, p));
		break;
	case OP_MADVISE:
		snprintf(buf, len, "[%d] madvise(%s, %#lx, %s=%d)", op->slot,
			 win(op->addr, a, sizeof(a)), op->len,
			 advice_str(op->arg), op->arg);
		break;
	case OP_MREMAP:
		snprintf(buf, len,
			 "[%d] mremap(%s, %#lx, %#lx, %s%s%s%s, %s)",
			 op->slot, win(op->addr, a, sizeof(a)), op->len,
			 op->new_len, op->arg & MREMAP_MAYMOVE ? "MAYMOVE" : "",
			 op->arg & MREMAP_FIXED ? "|FIXED" : "",
			 op->arg & MREMAP_DONTUNMAP ? "|DONTUNMAP" : "",
			 op->arg ? "" : "0", win(op->new_addr, b, sizeof(b)));
		break;
	case OP_MLOCK:
	case OP_MLOCKALL:
		snprintf(buf, len, "[%d] %s(%s, %#lx, %#x)", op->slot,
			 op_names[op->kind], win(op->addr, a, sizeof(a)),
			 op->len, op->arg);
		if (op->kind == OP_MLOCKALL)
			snprintf(buf, len, "[%d] mlockall(%s%s%s%s)", op->slot,
				 op->arg & MCL_CURRENT ? "CURRENT " : "",
				 op->arg & MCL_FUTURE ? "FUTURE " : "",
				 op->arg & MCL_ONFAULT ? "ONFAULT " : "",
				 op->arg & ~7 || !op->arg ? "invalid" : "");
		break;
	case OP_MUNLOCKALL:
		snprintf(buf, len, "[%d] munlockall()", op->slot);
		break;
	case OP_FORK:
		snprintf(buf, len, "[%d] fork() -> [%d]", op->slot, op->arg);
		break;
	case OP_EXIT:
		snprintf(buf, len, "[%d] exit()", op->slot);
		break;
	case OP_RECLAIM:
		if (op->len)
			snprintf(buf, len,
				 "[%d] reclaim(%s, %#lx, %d passes, nr %u)",
				 op->slot, win(op->addr, a, sizeof(a)), op->len,
				 op->arg, op->val);
		else
			snprintf(buf, len,
				 "[%d] reclaim(all, %d passes, nr %u)",
				 op->slot, op->arg, op->val);
		break;
	case OP_WRITE:
	case OP_POKE:
		snprintf(buf, len, "[%d] %s(%s, %#lx, pattern %u)", op->slot,
			 op_names[op->kind], win(op->addr, a, sizeof(a)),
			 op->len, op->val);
		break;
	default:
		snprintf(buf, len, "[%d] %s(%s, %#lx)", op->slot,
			 op_names[op->kind], win(op->addr, a, sizeof(a)),
			 op->len);
	}
	return buf;
}

static const char *res_str(const struct result *r, char *buf, size_t len)
{
	char a[32];

	if (r->ret < 0)
		snprintf(buf, len, "-%s", strerrorname_np(-r->ret) ?: "?");
	else if (r->ret >= (long)VIEW_LO)
		snprintf(buf, len, "%s", win(r->ret, a, sizeof(a)));
	else
		snprintf(buf, len, "%ld", r->ret);
	if (r->done)
		snprintf(buf + strlen(buf), len - strlen(buf), " (%ld pages)",
			 r->done);
	return buf;
}

/* ---- the real side: child processes -------------------------------- */

/* Pipes of every slot, made before the first child so all inherit them. */
struct world {
	int cmd[MAX_SLOTS][2], rsp[MAX_SLOTS][2];
	struct {
		bool live;
		pid_t pid;
		int mem, pagemap;	/* /proc/<pid>/ files */
		int mfd;		/* the shadow address space */
	} s[MAX_SLOTS];
	int dev;
	bool lazyfree;	/* a MADV_FREE succeeded: lazyfree pages may be there */
};

/* The touch in progress: set and read with __atomic, as in a handler. */
static sigjmp_buf touch_env;
static int touching;
static long touch_done;

static void real_segv(int sig)
{
	if (__atomic_load_n(&touching, __ATOMIC_RELAXED))
		siglongjmp(touch_env, 1);
	_exit(120);
}

/* The CPU's reads or writes over [addr, addr + len), page by page. */
static long real_touch(const struct op *op)
{
	unsigned long pg, end = op->addr + op->len;

	__atomic_store_n(&touch_done, 0, __ATOMIC_RELAXED);
	if (sigsetjmp(touch_env, 1)) {
		__atomic_store_n(&touching, 0, __ATOMIC_RELAXED);
		return -EFAULT;
	}
	__atomic_store_n(&touching, 1, __ATOMIC_RELAXED);
	for (pg = op->addr & ~(PAGE - 1); pg < end; pg += PAGE) {
		unsigned long a = pg < op->addr ? op->addr : pg;
		unsigned long e = pg + PAGE < end ? pg + PAGE : end;

		if (op->kind == OP_WRITE) {
			for (; a < e; a++)
				__atomic_store_n((unsigned char *)a,
						 pattern(op->val, a),
						 __ATOMIC_RELAXED);
		} else {
			(void)__atomic_load_n((unsigned char *)a,
					      __ATOMIC_RELAXED);
		}
		__atomic_add_fetch(&touch_done, 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&touching, 0, __ATOMIC_RELAXED);
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* A static buffer: the child must not allocate once the window is set. */
static char child_maps[1 << 18];

/* The end of the highest VMA ending at or below @addr (0 if none). */
static unsigned long child_prev_end(unsigned long addr)
{
	unsigned long s, e, best = 0;
	ssize_t n, len = 0;
	char *line;
	int fd = open("/proc/self/maps", O_RDONLY);

	if (fd < 0)
		return 0;
	while ((n = read(fd, child_maps + len,
			 sizeof(child_maps) - 1 - len)) > 0)
		len += n;
	close(fd);
	child_maps[len] = 0;
	for (line = child_maps; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && e <= addr &&
		    e > best)
			best = e;
	}
	return best;
}

/*
 * Make the top-down search of this process land in the window: the plug at
 * WIN_TOP, then every gap between it and mmap_base filled (see the top).
 */
static int child_plug(void)
{
	void *p;
	int i;

	p = mmap((void *)WIN_TOP, PAGE, PROT_NONE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)WIN_TOP)
		return 1;
	for (i = 0; i < 64; i++) {
		unsigned long a, lo;

		p = mmap(NULL, PAGE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return 2;
		a = (unsigned long)p;
		munmap(p, PAGE);
		if (a == WIN_TOP - PAGE)
			return 0;
		if (a < WIN_TOP)
			return 3;	/* something in the window already */
		lo = child_prev_end(a);
		if (lo < WIN_TOP + PAGE)
			lo = WIN_TOP + PAGE;
		p = mmap((void *)lo, a + PAGE - lo, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED_NOREPLACE, -1, 0);
		if (p != (void *)lo)
			return 4;
	}
	return 5;
}

static void real_exec(const struct op *op, struct result *r)
{
	long ret;

	r->done = 0;
	switch (op->kind) {
	case OP_MMAP: {
		void *p = mmap((void *)op->addr, op->len, op->prot, op->flags,
			       op->val ? file_fd : -1,
			       op->val ? (off_t)op->arg * PAGE : 0);

		ret = p == MAP_FAILED ? -errno : (long)p;
		break;
	}
	case OP_MUNMAP:
		ret = munmap((void *)op->addr, op->len) ? -errno : 0;
		break;
	case OP_MPROTECT:
		ret = mprotect((void *)op->addr, op->len, op->prot) ? -errno : 0;
		break;
	case OP_MADVISE:
		ret = madvise((void *)op->addr, op->len, op->arg) ? -errno : 0;
		break;
	case OP_MLOCK:
		ret = syscall(SYS_mlock2, op->addr, op->len, op->arg) ?
		      -errno : 0;
		break;
	case OP_MUNLOCK:
		ret = munlock((void *)op->addr, op->len) ? -errno : 0;
		break;
	case OP_MLOCKALL:
		ret = mlockall(op->arg) ? -errno : 0;
		break;
	case OP_MUNLOCKALL:
		ret = munlockall() ? -errno : 0;
		break;
	case OP_MREMAP:
		ret = syscall(SYS_mremap, op->addr, op->len, op->new_len,
			      op->arg, op->new_addr);
		if (ret == -1)
			ret = -errno;
		break;
	case OP_READ:
	case OP_WRITE:
		ret = real_touch(op);
		r->done = __atomic_load_n(&touch_done, __ATOMIC_RELAXED);
		break;
	case OP_RECLAIM:
		/* The shadow side's alone: there is no swap here. */
		ret = 0;
		break;
	default:
		ret = -EOPNOTSUPP;
	}
	r->ret = ret;
}

/*
 * A real process: serve the operations of slot @slot, forever. fork and
 * exit are handled here; the new process of a fork serves its own slot.
 */
static void real_serve(struct world *w, int slot)
{
	struct result r;
	struct op op;

	for (;;) {
		if (read_full(w->cmd[slot][0], &op, sizeof(op)))
			_exit(121);
		if (op.kind == OP_EXIT)
			_exit(0);
		if (op.kind == OP_FORK) {
			long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD,
					   0, NULL, NULL, 0);

			if (pid == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				slot = op.arg;
				continue;
			}
			r.ret = pid < 0 ? -errno : pid;
			r.done = 0;
		} else {
			real_exec(&op, &r);
		}
		if (write_full(w->rsp[slot][1], &r, sizeof(r)))
			_exit(122);
	}
}

/* The first process: set up, report, serve slot 0. */
static void real_main(struct world *w, pid_t parent)
{
	struct sigaction sa = { .sa_handler = real_segv };
	struct result r = { 0 };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(123);
	/* Transparent huge pages only in THP mode, as the space. */
	if (!cfg.thp)
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	r.ret = child_plug();
	if (write_full(w->rsp[0][1], &r, sizeof(r)) || r.ret)
		_exit(124);
	real_serve(w, 0);
	_exit(125);
}

/* Send @op to its slot's process and wait for the answer. */
static int real_call(struct world *w, const struct op *op, struct result *r)
{
	struct pollfd pfd = { .fd = w->rsp[op->slot][0], .events = POLLIN };
	int status;

	if (write_full(w->cmd[op->slot][1], op, sizeof(*op)))
		return -1;
	if (op->kind == OP_EXIT) {
		if (waitpid(w->s[op->slot].pid, &status, 0) < 0)
			return -1;
		r->ret = 0;
		r->done = 0;
		return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
	}
	if (poll(&pfd, 1, REPLY_MS) != 1)
		return -1;
	return read_full(w->rsp[op->slot][0], r, sizeof(*r));
}

static int real_open(struct world *w, int slot)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", w->s[slot].pid);
	w->s[slot].mem = open(path, O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", w->s[slot].pid);
	w->s[slot].pagemap = open(path, O_RDONLY | O_CLOEXEC);
	return w->s[slot].mem < 0 || w->s[slot].pagemap < 0 ? -1 : 0;
}

static void slot_close(struct world *w, int slot)
{
	if (w->s[slot].mem >= 0)
		close(w->s[slot].mem);
	if (w->s[slot].pagemap >= 0)
		close(w->s[slot].pagemap);
	if (w->s[slot].mfd >= 0)
		close(w->s[slot].mfd);
	w->s[slot].mem = -1;
	w->s[slot].pagemap = -1;
	w->s[slot].mfd = -1;
	w->s[slot].live = false;
}

static void world_stop(struct world *w)
{
	int i, j;

	for (i = 0; i < MAX_SLOTS; i++) {
		if (w->s[i].pid > 0) {
			kill(w->s[i].pid, SIGKILL);
			waitpid(w->s[i].pid, NULL, 0);
			w->s[i].pid = 0;
		}
		slot_close(w, i);
		for (j = 0; j < 2; j++) {
			if (w->cmd[i][j] >= 0)
				close(w->cmd[i][j]);
			if (w->rsp[i][j] >= 0)
				close(w->rsp[i][j]);
			w->cmd[i][j] = -1;
			w->rsp[i][j] = -1;
		}
	}
}

/*
 * The self-check (SHADOW_DIFF_TWIN=1): the shadow side is a second real
 * process, laid out by its own ASLR. Every operation is active; any
 * difference is the fuzzer's, not the module's.
 */
static bool twin_mode;
static struct world twin;

/* A new real process, its window ready. */
static int world_start_real(struct world *w, int dev)
{
	struct result r = { .ret = -1 };
	pid_t pid, me = getpid();
	int i;

	memset(w, 0, sizeof(*w));
	w->dev = dev;
	for (i = 0; i < MAX_SLOTS; i++) {
		w->s[i].mem = -1;
		w->s[i].pagemap = -1;
		w->s[i].mfd = -1;
		if (pipe2(w->cmd[i], 0) || pipe2(w->rsp[i], 0)) {
			report("pipe: %s\n", strerror(errno));
			return MIS_REAL;
		}
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		report("fork: %s\n", strerror(errno));
		return MIS_REAL;
	}
	if (pid == 0) {
		real_main(w, me);
		_exit(125);
	}
	w->s[0].pid = pid;
	w->s[0].live = true;
	{
		struct pollfd pfd = { .fd = w->rsp[0][0], .events = POLLIN };

		if (poll(&pfd, 1, REPLY_MS) != 1 ||
		    read_full(w->rsp[0][0], &r, sizeof(r)) || r.ret) {
			report("the real process could not set up its window (%ld)\n",
			       r.ret);
			return MIS_REAL;
		}
	}
	if (real_open(w, 0)) {
		report("/proc/%d: %s\n", pid, strerror(errno));
		return MIS_REAL;
	}
	return MIS_NONE;
}

/* A new real process and a new shadow space, both with the plug. */
static int world_start(struct world *w, int dev)
{
	struct shadow_mm_create c = { .size = sizeof(c), .mmap_base = WIN_TOP };
	int ret = world_start_real(w, dev);

	if (ret)
		return ret;
	if (twin_mode)
		return world_start_real(&twin, dev);
	w->s[0].mfd = ioctl(dev, SHADOW_MM_CREATE, &c);
	/*
	 * The real process runs with PR_SET_THP_DISABLE, or in THP mode with
	 * the sysfs setup of thp_setup(): so does the space.
	 */
	if (w->s[0].mfd < 0 ||
	    (cfg.thp ? _shadow_set_thp(w->s[0].mfd, SHADOW_THP_SET_MODE |
				       SHADOW_THP_SET_DISABLE |
				       SHADOW_THP_SET_USE_ZERO_PAGE,
				       SHADOW_MM_THP_ALWAYS, 0, 1, NULL) :
	     _shadow_set_thp(w->s[0].mfd, SHADOW_THP_SET_DISABLE, 0, 1, 0,
			     NULL)) ||
	    _shadow_mmap(w->s[0].mfd, WIN_TOP, PAGE, PROT_NONE,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			 NULL)) {
		report("shadow create: %s\n", strerror(errno));
		return MIS_SHADOW;
	}
	return MIS_NONE;
}

/* ---- snapshots ------------------------------------------------------ */

/* Page flags, on both sides. */
#define PG_PRESENT	0x1
#define PG_SWAP		0x2
#define PG_SHMEM	0x4
#define PG_EXCL		0x8	/* mapped by exactly one PTE */
#define PG_ZERO		0x10
#define PG_THP		0x20	/* a page of a THP (KPF_THP), or the huge zero page */

struct vrec {
	unsigned long start, end;
	__u64 flags;		/* VM_* of the named flags */
	int unknown;		/* flags with no name ("??" in smaps) */
	__u64 pgoff;		/* shared mappings */
	__u64 ident;		/* inode / backing id; 0: private */
	unsigned long first;	/* index of its first page in pg[] */
	long anon_huge_kb;	/* smaps' AnonHugePages: PMD-mapped THPs */
};

struct prec {
	__u64 id;		/* pfn / page id (~0: zero page) */
	unsigned int flags;
};

struct side {
	int nv;
	struct vrec v[MAX_VMAS];
	unsigned long np, cap;
	struct prec *pg;
};

struct snap {
	struct side real[MAX_SLOTS], shadow[MAX_SLOTS];
};

static int side_pages(struct side *sd, unsigned long n)
{
	if (sd->np + n > sd->cap) {
		unsigned long cap = (sd->np + n) * 2;
		struct prec *pg = realloc(sd->pg, cap * sizeof(*pg));

		if (!pg)
			return -1;
		sd->pg = pg;
		sd->cap = cap;
	}
	return 0;
}

static char *smaps_buf;
static size_t smaps_cap;

static int read_file(const char *path)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (;;) {
		if (len + 65536 > smaps_cap) {
			char *b = realloc(smaps_buf, smaps_cap * 2 + 65536);

			if (!b) {
				close(fd);
				return -1;
			}
			smaps_buf = b;
			smaps_cap = smaps_cap * 2 + 65536;
		}
		n = read(fd, smaps_buf + len, smaps_cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	smaps_buf[len] = 0;
	return n < 0 ? -1 : 0;
}

static unsigned long clamp_view(unsigned long a)
{
	return a < VIEW_LO ? VIEW_LO : a > WIN_TOP ? WIN_TOP : a;
}

/*
 * THP mode: the real page at @pfn is a THP's (KPF_THP), or the huge zero
 * page (KPF_ZERO_PAGE | KPF_THP), which stands for the zero page as the
 * small one does.
 */
static unsigned int real_thp_flags(__u64 pfn)
{
	__u64 kpf;

	if (pread(kpageflags_fd, &kpf, sizeof(kpf), pfn * sizeof(kpf)) !=
	    sizeof(kpf))
		return 0;
	if (!(kpf & (1ULL << KPF_THP)))
		return 0;
	return PG_THP | (kpf & (1ULL << KPF_ZERO_PAGE) ? PG_ZERO : 0);
}

/* The real process's VMAs in the view, from smaps, and their pages. */
static int real_snap(struct world *w, int slot, struct side *sd)
{
	char path[64], *line, *next;
	struct vrec *cur = NULL;
	int i;

	sd->nv = 0;
	sd->np = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", w->s[slot].pid);
	if (read_file(path)) {
		report("[%d] %s: %s\n", slot, path, strerror(errno));
		return -1;
	}
	for (line = smaps_buf; line && *line; line = next) {
		unsigned long s, e;
		unsigned long long off, ino;
		unsigned int maj, min;
		char perms[8];

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (sscanf(line, "%lx-%lx %7s %llx %x:%x %llu", &s, &e, perms,
			   &off, &maj, &min, &ino) == 7) {
			cur = NULL;
			if (e <= VIEW_LO || s >= WIN_TOP)
				continue;
			if (sd->nv == MAX_VMAS) {
				report("[%d] too many VMAs\n", slot);
				return -1;
			}
			cur = &sd->v[sd->nv++];
			memset(cur, 0, sizeof(*cur));
			cur->start = clamp_view(s);
			cur->end = clamp_view(e);
			cur->ident = ino;
			cur->pgoff = ino ? off / PAGE : 0;
		} else if (cur && !strncmp(line, "VmFlags:", 8)) {
			cur->flags = shadow_parse_vm_flags(line + 8,
							   &cur->unknown);
		} else if (cur && !strncmp(line, "AnonHugePages:", 14)) {
			cur->anon_huge_kb = strtol(line + 14, NULL, 10);
		}
	}
	for (i = 0; i < sd->nv; i++) {
		struct vrec *v = &sd->v[i];
		unsigned long j, n = (v->end - v->start) / PAGE;
		__u64 *pm;

		if (side_pages(sd, n))
			return -1;
		pm = malloc(n * sizeof(*pm));
		if (!pm)
			return -1;
		if (pread(w->s[slot].pagemap, pm, n * sizeof(*pm),
			  v->start / PAGE * sizeof(*pm)) !=
		    (ssize_t)(n * sizeof(*pm))) {
			report("[%d] pagemap: %s\n", slot, strerror(errno));
			free(pm);
			return -1;
		}
		v->first = sd->np;
		for (j = 0; j < n; j++) {
			struct prec *p = &sd->pg[sd->np++];
			__u64 e = pm[j];

			p->id = 0;
			p->flags = 0;
			if (e & (1ULL << 62))
				p->flags |= PG_SWAP;
			if (!(e & (1ULL << 63)))
				continue;
			p->flags |= PG_PRESENT;
			p->id = e & ((1ULL << 55) - 1);
			if (cfg.thp)
				p->flags |= real_thp_flags(p->id);
			if (p->id == zero_pfn || p->flags & PG_ZERO) {
				p->flags |= PG_ZERO;
				p->id = ~0ULL;
			}
			if (e & (1ULL << 61))
				p->flags |= PG_SHMEM;
			if (e & (1ULL << 56))
				p->flags |= PG_EXCL;
		}
		free(pm);
	}
	return 0;
}

/*
 * THP mode: AnonHugePages of each VMA of @sd from the space's smaps
 * (debugfs), as real_snap() takes the real process's from its own.
 */
static int shadow_smaps_thp(int fd, int slot, struct side *sd)
{
	struct shadow_mm_stats st = { .size = sizeof(st) };
	char path[96], *line, *next;
	struct vrec *cur = NULL;
	int i;

	if (_shadow_get_stats(fd, &st))
		return -1;
	snprintf(path, sizeof(path), "/sys/kernel/debug/shadow_mm/mm%u/smaps",
		 st.out_id);
	if (read_file(path)) {
		report("[%d] %s: %s\n", slot, path, strerror(errno));
		return -1;
	}
	for (line = smaps_buf; line && *line; line = next) {
		unsigned long s, e;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			cur = NULL;
			for (i = 0; i < sd->nv; i++)
				if (sd->v[i].start == clamp_view(s) &&
				    sd->v[i].end == clamp_view(e))
					cur = &sd->v[i];
		} else if (cur && !strncmp(line, "AnonHugePages:", 14)) {
			cur->anon_huge_kb = strtol(line + 14, NULL, 10);
		}
	}
	return 0;
}

static struct shadow_vma_info vma_info[MAX_VMAS];
static struct shadow_page_info *walk_buf;
static unsigned long walk_cap;

static int shadow_snap(struct world *w, int slot, struct side *sd)
{
	__u64 unnamed = ~shadow_vm_flags_named();
	int fd = w->s[slot].mfd;
	__u32 nr = 0;
	int i, ret;

	if (twin_mode)
		return real_snap(&twin, slot, sd);

	sd->nv = 0;
	sd->np = 0;
	ret = _shadow_get_vmas(fd, VIEW_LO, WIN_TOP, vma_info, MAX_VMAS, &nr);
	if (ret || nr > MAX_VMAS) {
		report("[%d] SHADOW_MM_GET_VMAS: %d, %u VMAs\n", slot, ret, nr);
		return -1;
	}
	for (i = 0; i < (int)nr; i++) {
		struct shadow_vma_info *in = &vma_info[i];
		struct vrec *v = &sd->v[sd->nv++];
		unsigned long j, n;
		__u64 f = in->vm_flags & unnamed;

		memset(v, 0, sizeof(*v));
		v->start = clamp_view(in->start);
		v->end = clamp_view(in->end);
		v->flags = in->vm_flags & shadow_vm_flags_named();
		for (; f; f &= f - 1)
			v->unknown++;
		if (in->backing == SHADOW_VMA_ANON_SHARED) {
			v->ident = in->backing_id;
			v->pgoff = in->pgoff + (v->start - in->start) / PAGE;
		} else if (in->backing == SHADOW_VMA_FILE) {
			/* Apart from the shared anonymous objects' ids. */
			v->ident = in->backing_id | (1ULL << 63);
			v->pgoff = in->pgoff + (v->start - in->start) / PAGE;
		}
		n = (v->end - v->start) / PAGE;
		if (n > walk_cap) {
			free(walk_buf);
			walk_buf = malloc(n * sizeof(*walk_buf));
			walk_cap = walk_buf ? n : 0;
			if (!walk_buf)
				return -1;
		}
		ret = _shadow_walk_raw(fd, v->start, n, walk_buf);
		if (ret) {
			report("[%d] SHADOW_MM_WALK: %d\n", slot, ret);
			return -1;
		}
		if (side_pages(sd, n))
			return -1;
		v->first = sd->np;
		for (j = 0; j < n; j++) {
			struct shadow_page_info *in_pg = &walk_buf[j];
			struct prec *p = &sd->pg[sd->np++];

			p->id = 0;
			p->flags = 0;
			if (!(in_pg->flags & SHADOW_PAGE_PRESENT))
				continue;
			p->flags = PG_PRESENT;
			p->id = in_pg->page_id;
			if (cfg.thp && in_pg->flags & SHADOW_PAGE_THP)
				p->flags |= PG_THP;
			if (in_pg->flags & SHADOW_PAGE_ZERO) {
				p->flags |= PG_ZERO;
				p->id = ~0ULL;
				/*
				 * pagemap_pmd_range(): the huge zero page
				 * is not anonymous, so PM_FILE.
				 */
				if (in_pg->flags & SHADOW_PAGE_PMD_MAPPED)
					p->flags |= PG_SHMEM;
			} else if (in_pg->flags & SHADOW_PAGE_MMAP_EXCLUSIVE) {
				/* Against pagemap's PM_MMAP_EXCLUSIVE. */
				p->flags |= PG_EXCL;
			}
			/* pagemap's PM_FILE: shmem or a file's page. */
			if (in_pg->flags & (SHADOW_PAGE_SHMEM | SHADOW_PAGE_FILE))
				p->flags |= PG_SHMEM;
		}
	}
	return cfg.thp ? shadow_smaps_thp(fd, slot, sd) : 0;
}

static int snap_all(struct world *w, struct snap *st, bool real_only)
{
	int i;

	for (i = 0; i < MAX_SLOTS; i++) {
		st->real[i].nv = 0;
		st->real[i].np = 0;
		st->shadow[i].nv = 0;
		st->shadow[i].np = 0;
		if (!w->s[i].live)
			continue;
		if (real_snap(w, i, &st->real[i]))
			return MIS_REAL;
		if (!real_only && shadow_snap(w, i, &st->shadow[i]))
			return MIS_SHADOW;
	}
	return MIS_NONE;
}

/* ---- comparison ----------------------------------------------------- */

static char page_char(const struct prec *p)
{
	char c;

	if (!(p->flags & PG_PRESENT))
		return p->flags & PG_SWAP ? 'w' : '.';
	if (p->flags & PG_ZERO)
		return p->flags & PG_THP ? 'Z' : 'z';
	c = p->flags & PG_SHMEM ? 's' : p->flags & PG_THP ? 'h' : 'a';
	return p->flags & PG_EXCL ? c - 32 : c;
}

static void flags_str(__u64 f, int unknown, char *buf, size_t len)
{
	size_t i, n = 0;

	buf[0] = 0;
	for (i = 0; i < ARRAY_SIZE(shadow_vm_flag_names); i++)
		if (f & shadow_vm_flag_names[i].flag && n + 4 < len)
			n += snprintf(buf + n, len - n, "%s ",
				      shadow_vm_flag_names[i].name);
	while (unknown-- > 0 && n + 4 < len)
		n += snprintf(buf + n, len - n, "?? ");
}

static void dump_side(const char *who, int slot, const struct side *sd)
{
	char a[32], b[32], f[160], pages[80];
	int i;

	report("  %s [%d]: %d VMAs in the view\n", who, slot, sd->nv);
	for (i = 0; i < sd->nv; i++) {
		const struct vrec *v = &sd->v[i];
		unsigned long j, n = (v->end - v->start) / PAGE;

		for (j = 0; j < n && j < sizeof(pages) - 4; j++)
			pages[j] = page_char(&sd->pg[v->first + j]);
		pages[j] = 0;
		if (j < n)
			strcat(pages, "...");
		flags_str(v->flags, v->unknown, f, sizeof(f));
		report("    %s-%s %s%s off %#llx id %llx\n      %s\n",
		       win(v->start, a, sizeof(a)), win(v->end, b, sizeof(b)),
		       f, v->ident ? "shared" : "private",
		       (unsigned long long)v->pgoff,
		       (unsigned long long)v->ident, pages);
	}
}

static void dump_snap(const struct world *w, const struct snap *st)
{
	int i;

	report("states (pages: . absent, z zero page, Z huge zero page, a anon,\n");
	report("        h anon of a THP, s shmem; upper case: mapped once):\n");
	for (i = 0; i < MAX_SLOTS; i++) {
		if (!w->s[i].live)
			continue;
		dump_side("real", i, &st->real[i]);
		dump_side("shadow", i, &st->shadow[i]);
	}
}

struct pair {
	__u64 a, b;
	int slot;
	unsigned long addr;
};

static struct pair *pairs;
static size_t npairs, pairs_cap;

static int add_pair(__u64 a, __u64 b, int slot, unsigned long addr)
{
	if (npairs == pairs_cap) {
		size_t cap = pairs_cap * 2 + 1024;
		struct pair *p = realloc(pairs, cap * sizeof(*p));

		if (!p)
			return -1;
		pairs = p;
		pairs_cap = cap;
	}
	pairs[npairs++] = (struct pair){ a, b, slot, addr };
	return 0;
}

static int cmp_a(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->b < q->b ? -1 : p->b > q->b;
}

static int cmp_b(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return p->a < q->a ? -1 : p->a > q->a;
}

/*
 * The real ids and the shadow ids must be the same partition: equal real
 * ids exactly where the shadow ids are equal.
 */
static bool bijection(const char *what)
{
	char a[32], b[32];
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		qsort(pairs, npairs, sizeof(*pairs), pass ? cmp_b : cmp_a);
		for (i = 1; i < npairs; i++) {
			const struct pair *p = &pairs[i - 1], *q = &pairs[i];

			if (pass ? p->b != q->b || p->a == q->a :
				   p->a != q->a || p->b == q->b)
				continue;
			report("%s: [%d] %s and [%d] %s: %s\n", what,
			       p->slot, win(p->addr, a, sizeof(a)), q->slot,
			       win(q->addr, b, sizeof(b)),
			       pass ? "one in the shadow, two in the real kernel" :
			       "one in the real kernel, two in the shadow");
			return false;
		}
	}
	return true;
}

static int compare_layout(const struct world *w, const struct snap *st)
{
	char a[32], b[32], f1[160], f2[160];
	int i, j;

	npairs = 0;
	for (i = 0; i < MAX_SLOTS; i++) {
		const struct side *r = &st->real[i], *s = &st->shadow[i];

		if (!w->s[i].live)
			continue;
		for (j = 0; j < r->nv || j < s->nv; j++) {
			const struct vrec *rv = &r->v[j], *sv = &s->v[j];

			if (j >= r->nv || j >= s->nv) {
				const struct vrec *v = j < r->nv ? rv : sv;

				report("[%d] VMA %s-%s only in the %s\n", i,
				       win(v->start, a, sizeof(a)),
				       win(v->end, b, sizeof(b)),
				       j < r->nv ? "real kernel" : "shadow");
				return MIS_LAYOUT;
			}
			if (rv->start != sv->start || rv->end != sv->end) {
				report("[%d] VMA %d: real %s-", i, j,
				       win(rv->start, a, sizeof(a)));
				report("%s, shadow %s-", win(rv->end, a,
							     sizeof(a)),
				       win(sv->start, b, sizeof(b)));
				report("%s\n", win(sv->end, b, sizeof(b)));
				return MIS_LAYOUT;
			}
			if (rv->flags != sv->flags ||
			    rv->unknown != sv->unknown) {
				flags_str(rv->flags, rv->unknown, f1,
					  sizeof(f1));
				flags_str(sv->flags, sv->unknown, f2,
					  sizeof(f2));
				report("[%d] VMA %s: flags real %s, shadow %s\n",
				       i, win(rv->start, a, sizeof(a)), f1, f2);
				return MIS_LAYOUT;
			}
			if (!rv->ident != !sv->ident ||
			    rv->pgoff != sv->pgoff) {
				report("[%d] VMA %s: real %s off %#llx, shadow %s off %#llx\n",
				       i, win(rv->start, a, sizeof(a)),
				       rv->ident ? "shared" : "private",
				       (unsigned long long)rv->pgoff,
				       sv->ident ? "shared" : "private",
				       (unsigned long long)sv->pgoff);
				return MIS_LAYOUT;
			}
			if (rv->anon_huge_kb != sv->anon_huge_kb) {
				report("[%d] VMA %s: AnonHugePages real %ld kB, shadow %ld kB\n",
				       i, win(rv->start, a, sizeof(a)),
				       rv->anon_huge_kb, sv->anon_huge_kb);
				return MIS_LAYOUT;
			}
			if (rv->ident && add_pair(rv->ident, sv->ident, i,
						  rv->start))
				return MIS_SHADOW;
		}
	}
	if (!bijection("backing objects"))
		return MIS_LAYOUT;
	return MIS_NONE;
}

static int compare_pages(const struct world *w, const struct snap *st)
{
	char a[32];
	int i, j;

	npairs = 0;
	for (i = 0; i < MAX_SLOTS; i++) {
		const struct side *r = &st->real[i], *s = &st->shadow[i];

		if (!w->s[i].live)
			continue;
		for (j = 0; j < r->nv; j++) {
			const struct vrec *v = &r->v[j];
			unsigned long k, n = (v->end - v->start) / PAGE;

			for (k = 0; k < n; k++) {
				const struct prec *rp = &r->pg[v->first + k];
				const struct prec *sp = &s->pg[s->v[j].first + k];
				unsigned long addr = v->start + k * PAGE;

				if (rp->flags != sp->flags) {
					report("[%d] page %s: real %c (%#x), shadow %c (%#x)\n",
					       i, win(addr, a, sizeof(a)),
					       page_char(rp), rp->flags,
					       page_char(sp), sp->flags);
					return MIS_PAGES;
				}
				if ((rp->flags & PG_PRESENT) &&
				    add_pair(rp->id, sp->id, i, addr))
					return MIS_SHADOW;
			}
		}
	}
	if (!bijection("pages"))
		return MIS_SHARING;
	return MIS_NONE;
}

static unsigned char real_page[PAGE], shadow_page[PAGE];

/* The bytes of each distinct present page; the zero page is known. */
static int compare_bytes(const struct world *w)
{
	char a[32];
	size_t i;

	qsort(pairs, npairs, sizeof(*pairs), cmp_a);
	for (i = 0; i < npairs; i++) {
		const struct pair *p = &pairs[i];
		long n;
		int k;

		if ((i && pairs[i - 1].a == p->a) || p->a == ~0ULL)
			continue;
		if (pread(w->s[p->slot].mem, real_page, PAGE, p->addr) != PAGE) {
			report("[%d] /proc/pid/mem at %s: %s\n", p->slot,
			       win(p->addr, a, sizeof(a)), strerror(errno));
			return MIS_REAL;
		}
		if (twin_mode)
			n = pread(twin.s[p->slot].mem, shadow_page, PAGE,
				  p->addr);
		else
			n = _shadow_access(w->s[p->slot].mfd, p->addr,
					   shadow_page, PAGE,
					   SHADOW_ACCESS_FORCE);
		if (n != PAGE) {
			report("[%d] forced read of the present page %s: %ld\n",
			       p->slot, win(p->addr, a, sizeof(a)), n);
			return MIS_BYTES;
		}
		if (!memcmp(real_page, shadow_page, PAGE))
			continue;
		for (k = 0; real_page[k] == shadow_page[k]; k++)
			;
		report("[%d] bytes at %s: real %02x, shadow %02x\n", p->slot,
		       win(p->addr + k, a, sizeof(a)), real_page[k],
		       shadow_page[k]);
		return MIS_BYTES;
	}
	return MIS_NONE;
}

/*
 * Across a step: a page present before and after at one address is the
 * same page on both sides or a new one on both (reused in place against
 * copied, say). Not across mmap and mremap, where the real kernel may
 * hand a freed pfn straight to a new page.
 */
struct ident {
	int slot;
	unsigned long addr;
	__u64 rid, sid;
};

static struct ident *idents;
static size_t nidents, idents_cap;

static int collect_idents(const struct world *w, const struct snap *st)
{
	int i, j;

	nidents = 0;
	for (i = 0; i < MAX_SLOTS; i++) {
		const struct side *r = &st->real[i], *s = &st->shadow[i];

		if (!w->s[i].live)
			continue;
		for (j = 0; j < r->nv; j++) {
			const struct vrec *v = &r->v[j];
			unsigned long k, n = (v->end - v->start) / PAGE;

			for (k = 0; k < n; k++) {
				const struct prec *rp = &r->pg[v->first + k];

				if (!(rp->flags & PG_PRESENT) ||
				    (rp->flags & PG_ZERO))
					continue;
				if (nidents == idents_cap) {
					size_t cap = idents_cap * 2 + 1024;
					struct ident *p;

					p = realloc(idents, cap * sizeof(*p));
					if (!p)
						return -1;
					idents = p;
					idents_cap = cap;
				}
				idents[nidents++] = (struct ident){
					i, v->start + k * PAGE, rp->id,
					s->pg[s->v[j].first + k].id,
				};
			}
		}
	}
	return 0;
}

static const struct ident *find_ident(int slot, unsigned long addr)
{
	size_t lo = 0, hi = nidents;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct ident *p = &idents[mid];

		if (p->slot == slot && p->addr == addr)
			return p;
		if (p->slot < slot || (p->slot == slot && p->addr < addr))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int compare_idents(const struct world *w, const struct snap *st)
{
	char a[32];
	int i, j;

	for (i = 0; i < MAX_SLOTS; i++) {
		const struct side *r = &st->real[i], *s = &st->shadow[i];

		if (!w->s[i].live)
			continue;
		for (j = 0; j < r->nv; j++) {
			const struct vrec *v = &r->v[j];
			unsigned long k, n = (v->end - v->start) / PAGE;

			for (k = 0; k < n; k++) {
				unsigned long addr = v->start + k * PAGE;
				const struct prec *rp = &r->pg[v->first + k];
				const struct prec *sp = &s->pg[s->v[j].first + k];
				const struct ident *b;

				if (!(rp->flags & PG_PRESENT) ||
				    (rp->flags & PG_ZERO))
					continue;
				bool real_kept, shadow_kept;

				b = find_ident(i, addr);
				if (!b)
					continue;
				real_kept = b->rid == rp->id;
				shadow_kept = b->sid == sp->id;
				if (real_kept == shadow_kept)
					continue;
				report("[%d] page %s: the %s kept its page, the %s has a new one\n",
				       i, win(addr, a, sizeof(a)),
				       real_kept ? "real kernel" : "shadow",
				       real_kept ? "shadow" : "real kernel");
				return MIS_SHARING;
			}
		}
	}
	return MIS_NONE;
}

static int compare(const struct world *w, const struct snap *st)
{
	int ret = compare_layout(w, st);

	if (!ret)
		ret = compare_pages(w, st);
	if (!ret)
		ret = compare_bytes(w);
	return ret;
}

/* ---- the shadow side ------------------------------------------------ */

static unsigned char peek_real[MAX_TOUCH], peek_shadow[MAX_TOUCH];

static void fill_pattern(unsigned char *buf, const struct op *op,
			 unsigned long len)
{
	unsigned long i;

	for (i = 0; i < len; i++)
		buf[i] = pattern(op->val, op->addr + i);
}

static void real_mem(struct world *w, const struct op *op, struct result *r,
		     unsigned char *buf);

/* The self-check's "shadow" operation: the twin process does it. */
static void twin_exec(const struct op *op, struct result *r)
{
	if (op->kind == OP_PEEK || op->kind == OP_POKE) {
		real_mem(&twin, op, r, peek_shadow);
		return;
	}
	if (real_call(&twin, op, r)) {
		r->ret = -EPIPE;
		return;
	}
	if (op->kind == OP_FORK && r->ret > 0) {
		twin.s[op->arg].pid = r->ret;
		twin.s[op->arg].live = true;
		r->ret = real_open(&twin, op->arg) ? -EPIPE : 0;
	} else if (op->kind == OP_EXIT) {
		slot_close(&twin, op->slot);
		twin.s[op->slot].pid = 0;
	}
}

/*
 * /proc/<pid>/mem's mem_rw() on the shadow side: one forced access per
 * chunk of at most a page, each starting where the last stopped, so that
 * each may grow a stack below its start (__access_remote_vm's
 * expand_stack()) as the real one does; an error only when nothing moved.
 */
static long shadow_mem_rw(int fd, unsigned long addr, unsigned char *buf,
			  unsigned long len, unsigned int flags)
{
	long copied = 0, n;

	while (len) {
		n = _shadow_access(fd, addr, buf + copied,
				   len < PAGE ? len : PAGE, flags);
		if (n <= 0)
			return copied ? copied : (n < 0 ? n : -EFAULT);
		addr += n;
		copied += n;
		len -= n;
	}
	return copied;
}

/*
 * Pages the reclaim steps took from the shadow spaces (and gave back), of
 * those they looked at, and those they found young.
 */
static long reclaimed_pages, scanned_pages, referenced_pages;

/*
 * An mmap, munmap, mprotect or madvise as a one-operation SHADOW_MM_BATCH,
 * for about half of them: true when it went that way.
 */
static bool shadow_exec_batched(int fd, const struct op *op,
				struct result *r)
{
	struct shadow_mm_batch_op b = {
		.addr = op->addr, .len = op->len, .prot = op->prot,
		.map_flags = op->flags, .advice = op->arg,
	};
	__u32 done;

	if (!(caps.features & SHADOW_MM_FEATURE_BATCH) ||
	    ((op->addr ^ op->len) / PAGE) % 2)
		return false;
	switch (op->kind) {
	case OP_MMAP:
		if (op->val)	/* SHADOW_BATCH_MMAP maps no file */
			return false;
		b.op = SHADOW_BATCH_MMAP;
		break;
	case OP_MUNMAP:
		b.op = SHADOW_BATCH_MUNMAP;
		break;
	case OP_MPROTECT:
		b.op = SHADOW_BATCH_MPROTECT;
		break;
	case OP_MADVISE:
		b.op = SHADOW_BATCH_MADVISE;
		break;
	default:
		return false;
	}
	r->ret = _shadow_batch(fd, 0, &b, 1, &done);
	if (!r->ret && done != 1)
		r->ret = -EREMOTEIO;	/* shows as a mismatch */
	if (!r->ret)
		r->ret = b.out_result ? b.out_result :
			 op->kind == OP_MMAP ? (long)b.out_addr : 0;
	return true;
}

static void shadow_exec(struct world *w, const struct op *op,
			struct result *r)
{
	int fd = w->s[op->slot].mfd;
	__u64 out = 0;
	long ret;

	r->done = 0;
	if (twin_mode) {
		twin_exec(op, r);
		return;
	}
	if (shadow_exec_batched(fd, op, r))
		return;
	switch (op->kind) {
	case OP_MMAP:
		if (op->val) {
			struct shadow_mm_mmap m = {
				.size = sizeof(m), .addr = op->addr,
				.len = op->len, .prot = op->prot,
				.map_flags = op->flags, .fd = file_fd,
				.offset = (__u64)op->arg * PAGE,
			};

			ret = shadow_ioctl(fd, SHADOW_MM_MMAP, &m);
			out = m.out_addr;
		} else {
			ret = _shadow_mmap(fd, op->addr, op->len, op->prot,
					   op->flags, &out);
		}
		r->ret = ret ? ret : (long)out;
		return;
	case OP_MUNMAP:
		r->ret = _shadow_munmap(fd, op->addr, op->len);
		return;
	case OP_MADVISE:
		r->ret = _shadow_madvise(fd, op->addr, op->len, op->arg);
		return;
	case OP_MPROTECT: {
		struct shadow_mm_mprotect m = {
			.size = sizeof(m), .addr = op->addr, .len = op->len,
			.prot = op->prot,
		};

		r->ret = shadow_ioctl(fd, SHADOW_MM_MPROTECT, &m);
		return;
	}
	case OP_MLOCK: {
		struct shadow_mm_mlock m = {
			.size = sizeof(m), .addr = op->addr, .len = op->len,
			.mlock_flags = op->arg,
		};

		r->ret = shadow_ioctl(fd, SHADOW_MM_MLOCK, &m);
		return;
	}
	case OP_MUNLOCK: {
		struct shadow_mm_munlock m = {
			.size = sizeof(m), .addr = op->addr, .len = op->len,
		};

		r->ret = shadow_ioctl(fd, SHADOW_MM_MUNLOCK, &m);
		return;
	}
	case OP_MLOCKALL: {
		struct shadow_mm_mlockall m = {
			.size = sizeof(m), .mcl_flags = op->arg,
		};

		r->ret = shadow_ioctl(fd, SHADOW_MM_MLOCKALL, &m);
		return;
	}
	case OP_MUNLOCKALL: {
		struct shadow_mm_munlockall m = { .size = sizeof(m) };

		r->ret = shadow_ioctl(fd, SHADOW_MM_MUNLOCKALL, &m);
		return;
	}
	case OP_MREMAP: {
		struct shadow_mm_mremap m = {
			.size = sizeof(m), .old_addr = op->addr,
			.old_len = op->len, .new_len = op->new_len,
			.new_addr = op->new_addr, .mremap_flags = op->arg,
		};

		ret = shadow_ioctl(fd, SHADOW_MM_MREMAP, &m);
		r->ret = ret ? ret : (long)m.out_addr;
		return;
	}
	case OP_READ:
	case OP_WRITE: {
		struct shadow_mm_fault f = {
			.size = sizeof(f), .addr = op->addr, .len = op->len,
			.flags = op->kind == OP_WRITE ? SHADOW_FAULT_WRITE : 0,
		};
		unsigned long end;

		ret = shadow_ioctl(fd, SHADOW_MM_FAULT, &f);
		r->ret = ret;
		r->done = f.out_nr_pages;
		if (op->kind == OP_READ || !r->done)
			return;
		/* The bytes the CPU stored before its fault. */
		end = (op->addr & ~(PAGE - 1)) + r->done * PAGE;
		if (end > op->addr + op->len)
			end = op->addr + op->len;
		fill_pattern(peek_shadow, op, end - op->addr);
		ret = _shadow_access(fd, op->addr, peek_shadow, end - op->addr,
				     SHADOW_ACCESS_WRITE);
		if (ret != (long)(end - op->addr))
			r->ret = -EREMOTEIO;	/* shows as a mismatch */
		return;
	}
	case OP_PEEK:
		r->ret = shadow_mem_rw(fd, op->addr, peek_shadow, op->len,
				       SHADOW_ACCESS_FORCE);
		return;
	case OP_POKE:
		fill_pattern(peek_shadow, op, op->len);
		r->ret = shadow_mem_rw(fd, op->addr, peek_shadow, op->len,
				       SHADOW_ACCESS_WRITE |
				       SHADOW_ACCESS_FORCE);
		return;
	case OP_FORK:
		ret = _shadow_fork(fd, 0, NULL);
		if (ret >= 0)
			w->s[op->arg].mfd = ret;
		r->ret = ret < 0 ? ret : 0;
		return;
	case OP_EXIT:
		r->ret = _shadow_exit(fd);
		return;
	case OP_RECLAIM: {
		struct shadow_mm_reclaim out;
		int pass;

		/* A first pass ages young pages, a second takes them. */
		for (pass = 0; pass < op->arg; pass++) {
			r->ret = __shadow_reclaim(fd, false, 0, op->addr,
						  op->len, op->val, &out);
			if (r->ret)
				return;
			reclaimed_pages += out.out_reclaimed;
			scanned_pages += out.out_scanned;
			referenced_pages += out.out_referenced;
		}
		return;
	}
	}
	r->ret = -EOPNOTSUPP;
}

/* /proc/<pid>/mem: access_remote_vm with FOLL_FORCE. */
static void real_mem(struct world *w, const struct op *op, struct result *r,
		     unsigned char *buf)
{
	ssize_t n;

	r->done = 0;
	if (op->kind == OP_PEEK) {
		n = pread(w->s[op->slot].mem, buf, op->len, op->addr);
	} else {
		fill_pattern(buf, op, op->len);
		n = pwrite(w->s[op->slot].mem, buf, op->len, op->addr);
	}
	/* mem_rw() says EIO where nothing could be moved. */
	r->ret = n < 0 ? (errno == EIO ? -EFAULT : -errno) : n;
}

/*
 * Populate [start, end) of the shadow space as Linux's __mm_populate()
 * would (populate_vma_page_range): write faults in private writable VMAs,
 * read faults elsewhere, nothing in PROT_NONE ones. Used while the module
 * lacks SHADOW_MM_FEATURE_MLOCK, which brings MAP_POPULATE and MAP_LOCKED
 * population (and mlock's); the flags themselves are compared regardless.
 */
static void diff_emulate_populate(int fd, unsigned long start,
				  unsigned long end)
{
	struct shadow_vma_info v[64];
	__u32 nr = 0, i;

	if (start >= end ||
	    _shadow_get_vmas(fd, start, end, v, 64, &nr))
		return;
	for (i = 0; i < nr && i < 64; i++) {
		unsigned long s = v[i].start > start ? v[i].start : start;
		unsigned long e = v[i].end < end ? v[i].end : end;
		__u64 f = v[i].vm_flags;

		if (!(f & (SHADOW_VM_READ | SHADOW_VM_WRITE | SHADOW_VM_EXEC)))
			continue;
		_shadow_fault(fd, s, e - s,
			      (f & (SHADOW_VM_WRITE | SHADOW_VM_SHARED)) ==
			      SHADOW_VM_WRITE ? SHADOW_FAULT_WRITE : 0, NULL);
	}
}

static const struct vrec *find_vma(const struct side *sd, unsigned long a)
{
	int i;

	for (i = 0; i < sd->nv; i++)
		if (a < sd->v[i].end)
			return a >= sd->v[i].start ? &sd->v[i] : NULL;
	return NULL;
}

/* The VMA above the hole at @a, if any in the view. */
static const struct vrec *next_vma(const struct side *sd, unsigned long a)
{
	int i;

	for (i = 0; i < sd->nv; i++)
		if (a < sd->v[i].start)
			return &sd->v[i];
	return NULL;
}

/*
 * Would [addr, addr + len), in pages, reach past the window into the
 * plugs, which differ between the two sides (and beyond them, into the
 * real process itself)? A length that wraps around fails before any
 * change on both sides: those are kept.
 */
static bool past_window(unsigned long addr, unsigned long len)
{
	unsigned long start = addr & ~(PAGE - 1), end;

	if (!len || __builtin_add_overflow(len, addr - start, &end) ||
	    __builtin_add_overflow(end, PAGE - 1, &end))
		return false;
	end &= ~(PAGE - 1);
	if (__builtin_add_overflow(start, end, &end))
		return false;
	return end > WIN_TOP;
}

/*
 * Does a live space map droppable memory? The shadow reclaim drops its
 * pages, written or not, where the real process, which reclaims nothing,
 * keeps them.
 */
static bool has_droppable(const struct world *w, const struct snap *st)
{
	int i, j;

	for (i = 0; i < MAX_SLOTS; i++)
		for (j = 0; w->s[i].live && j < st->real[i].nv; j++)
			if (st->real[i].v[j].flags & SHADOW_VM_DROPPABLE)
				return true;
	return false;
}

/* Is a page of a THP (not the huge zero page) mapped in a live slot? */
static bool has_thp(const struct world *w, const struct snap *st)
{
	unsigned long j;
	int i;

	for (i = 0; i < MAX_SLOTS; i++)
		for (j = 0; w->s[i].live && j < st->real[i].np; j++)
			if ((st->real[i].pg[j].flags & (PG_THP | PG_ZERO)) ==
			    PG_THP)
				return true;
	return false;
}

/*
 * Cases left out at run time, on the state before the step (the one both
 * sides were just found to agree on), so that a sequence shortened by
 * delta debugging never steps into them.
 */
static const char *diff_skip(const struct world *w, const struct op *op,
			     const struct snap *st)
{
	const struct side *sd = &st->real[op->slot];
	unsigned long pg;

	if (!w->s[op->slot].live)
		return "its process has exited";
	if (op->kind == OP_RECLAIM && !caps.kind[OP_RECLAIM])
		return "the module has no reclaim";
	if (op->kind == OP_RECLAIM && has_droppable(w, st))
		return "droppable memory, which the real side would keep";
	if (op->kind == OP_RECLAIM && w->lazyfree)
		return "lazyfree memory, which the real side would keep";
	if (op->kind == OP_RECLAIM && has_thp(w, st))
		return "a THP, which the real side would keep whole";
	if (op->kind == OP_FORK &&
	    (op->arg < 0 || op->arg >= MAX_SLOTS || w->s[op->arg].live))
		return "the new slot is taken";
	if (op->kind == OP_EXIT) {
		int i, live = 0;

		for (i = 0; i < MAX_SLOTS; i++)
			live += w->s[i].live;
		if (live < 2)
			return "it is the last process";
	}
	/*
	 * Nothing may reach past the window: a fixed mmap would replace
	 * the plug, mremap unmaps the old tail it drops before it looks
	 * at the VMAs, and so on.
	 */
	switch (op->kind) {
	case OP_MMAP:
		if ((op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
		    past_window(op->addr, op->len))
			return "its range reaches past the window";
		break;
	case OP_MUNMAP:
	case OP_MPROTECT:
	case OP_MADVISE:
	case OP_MLOCK:
	case OP_MUNLOCK:
	case OP_READ:
	case OP_WRITE:
	case OP_PEEK:
	case OP_POKE:
		if (past_window(op->addr, op->len))
			return "its range reaches past the window";
		break;
	case OP_MREMAP:
		if (past_window(op->addr, op->len) ||
		    ((op->arg & MREMAP_FIXED) &&
		     past_window(op->new_addr, op->new_len)))
			return "its range reaches past the window";
		break;
	}
	/*
	 * A CPU touch (and /proc/<pid>/mem, through expand_stack()) in the
	 * hole below a VM_GROWSDOWN VMA grows it: left out until the
	 * module grows stacks (SHADOW_MM_FEATURE_BRK).
	 */
	if ((op->kind == OP_READ || op->kind == OP_WRITE ||
	     op->kind == OP_PEEK || op->kind == OP_POKE) &&
	    !caps.grows_stack) {
		for (pg = op->addr & ~(PAGE - 1); pg < op->addr + op->len;
		     pg += PAGE) {
			const struct vrec *n;

			if (find_vma(sd, pg))
				continue;
			n = next_vma(sd, pg);
			if (n && n->flags & SHADOW_VM_GROWSDOWN)
				return "a touch below a VM_GROWSDOWN VMA";
		}
	}
	return NULL;
}

/*
 * After a reclaim on the shadow side: every page present before the step,
 * in every space, read back with a forced read (a swap-in, or a fault of
 * the object's page back into a shared mapping). Such a read maps by
 * fault-around other pages of the object that the real process had not
 * mapped: those are zapped again, which only unmaps them.
 */
static void diff_swap_back(struct world *w, const struct snap *before)
{
	int i, j;

	for (i = 0; i < MAX_SLOTS; i++) {
		const struct side *sd = &before->shadow[i];
		int fd = w->s[i].mfd;

		if (!w->s[i].live)
			continue;
		for (j = 0; j < sd->nv; j++) {
			const struct vrec *v = &sd->v[j];
			unsigned long k, n = (v->end - v->start) / PAGE;
			unsigned char c;

			for (k = 0; k < n; k++)
				if (sd->pg[v->first + k].flags & PG_PRESENT)
					_shadow_access(fd, v->start + k * PAGE,
						       &c, 1,
						       SHADOW_ACCESS_FORCE);
			if (!v->ident)
				continue;
			if (n > walk_cap) {
				free(walk_buf);
				walk_buf = malloc(n * sizeof(*walk_buf));
				walk_cap = walk_buf ? n : 0;
				if (!walk_buf)
					return;
			}
			if (_shadow_walk(fd, v->start, n, walk_buf))
				continue;
			for (k = 0; k < n; k++)
				if ((walk_buf[k].flags & SHADOW_PAGE_PRESENT) &&
				    !(sd->pg[v->first + k].flags & PG_PRESENT))
					_shadow_madvise(fd, v->start + k * PAGE,
							PAGE,
							v->flags & SHADOW_VM_LOCKED ?
							MADV_DONTNEED_LOCKED :
							MADV_DONTNEED);
		}
	}
}

/* The population Linux does after the step, where the module does not. */
static void diff_after(struct world *w, const struct op *op,
		       const struct result *r, const struct snap *before)
{
	const struct side *sd = &before->real[op->slot];
	int fd = w->s[op->slot].mfd;
	int i;

	if (op->kind == OP_RECLAIM && !twin_mode)
		diff_swap_back(w, before);
	if (caps.populates || r->ret < 0)
		goto out;
	switch (op->kind) {
	case OP_MMAP:
		if ((op->flags & MAP_LOCKED) ||
		    (op->flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE)
			diff_emulate_populate(fd, r->ret,
					      r->ret + ((op->len + PAGE - 1) &
							~(PAGE - 1)));
		break;
	case OP_MREMAP: {
		const struct vrec *v = find_vma(sd, op->addr);
		unsigned long ol = (op->len + PAGE - 1) & ~(PAGE - 1);
		unsigned long nl = (op->new_len + PAGE - 1) & ~(PAGE - 1);

		if (v && v->flags & SHADOW_VM_LOCKED && nl > ol)
			diff_emulate_populate(fd, r->ret + ol, r->ret + nl);
		break;
	}
	case OP_MPROTECT:
		/* mprotect_fixup() populates locked private VMAs made writable. */
		if (!(op->prot & PROT_WRITE))
			break;
		for (i = 0; i < sd->nv; i++) {
			const struct vrec *v = &sd->v[i];
			unsigned long s = v->start, e = v->end;

			if ((v->flags & (SHADOW_VM_WRITE | SHADOW_VM_SHARED |
					 SHADOW_VM_LOCKED)) != SHADOW_VM_LOCKED)
				continue;
			if (s < op->addr)
				s = op->addr;
			if (e > op->addr + op->len)
				e = op->addr + op->len;
			diff_emulate_populate(fd, s, e);
		}
		break;
	default:
		break;
	}
out:
	if (op->kind == OP_EXIT) {
		slot_close(w, op->slot);
		w->s[op->slot].pid = 0;
	}
}

/* ---- one step, one sequence ----------------------------------------- */

/*
 * Keep the real kernel deterministic. do_wp_page() reuses a page only when
 * it holds the page's one reference, and per-CPU LRU batches hold
 * references too: a new page waits in its CPU's lru_add batch (drained
 * only for the local CPU), and the /proc/<pid>/mem reads of a comparison
 * (FOLL_TOUCH: mark_page_accessed()) queue pages for activation. So every
 * real process runs on one CPU with this one (taskset at the start), and
 * after each comparison MADV_COLD on a page of ours runs lru_add_drain()
 * there, emptying every batch before the next step.
 */
static void *drain_page;

static void real_quiesce(void)
{
	madvise(drain_page, PAGE, MADV_COLD);
}

/* Operations run, and those that succeeded, per kind. */
static long kind_runs[NR_OP_KINDS], kind_oks[NR_OP_KINDS];

/* Run @op on both sides; MIS_* and a report when they disagree. */
static int step(struct world *w, const struct op *op, struct snap *st,
		bool *skipped)
{
	struct result rr = { 0 }, sr = { 0 };
	char ob[256], r1[64], r2[64];
	const char *why;
	int ret, tries;

	why = diff_skip(w, op, st);
	*skipped = why;
	if (why) {
		if (cfg.verbose)
			printf("#   skip %s: %s\n", op_str(op, ob, sizeof(ob)),
			       why);
		return MIS_NONE;
	}
	/* In (slot, address) order, as the snapshot is. */
	if (collect_idents(w, st))
		return MIS_REAL;

	if (op->kind == OP_PEEK || op->kind == OP_POKE) {
		real_mem(w, op, &rr, peek_real);
	} else if (real_call(w, op, &rr)) {
		report("%s: the real process died or hung\n",
		       op_str(op, ob, sizeof(ob)));
		return MIS_REAL;
	}
	shadow_exec(w, op, &sr);
	if (op->kind == OP_FORK && rr.ret > 0) {
		w->s[op->arg].pid = rr.ret;
		w->s[op->arg].live = true;
		if (real_open(w, op->arg)) {
			report("/proc/%ld: %s\n", rr.ret, strerror(errno));
			return MIS_REAL;
		}
		if (sr.ret)
			return MIS_RESULT;
		rr.ret = 0;
	}
	diff_after(w, op, &sr, st);
	/* A partial failure (ENOMEM for a hole) frees the mapped part. */
	if (op->kind == OP_MADVISE && op->arg == MADV_FREE)
		w->lazyfree = true;
	kind_runs[op->kind]++;
	kind_oks[op->kind] += rr.ret >= 0;
	if (cfg.verbose)
		printf("#   %s = %s / %s\n", op_str(op, ob, sizeof(ob)),
		       res_str(&rr, r1, sizeof(r1)),
		       res_str(&sr, r2, sizeof(r2)));
	if (rr.ret != sr.ret || rr.done != sr.done ||
	    (op->kind == OP_PEEK && rr.ret > 0 &&
	     memcmp(peek_real, peek_shadow, rr.ret))) {
		report("%s: real %s, shadow %s%s\n", op_str(op, ob, sizeof(ob)),
		       res_str(&rr, r1, sizeof(r1)),
		       res_str(&sr, r2, sizeof(r2)),
		       rr.ret == sr.ret && rr.done == sr.done ?
		       " (bytes read differ)" : "");
		snap_all(w, st, false);
		dump_snap(w, st);
		return MIS_RESULT;
	}

	/*
	 * A second look before calling a difference: the real kernel may
	 * be caught mid-way (a page being migrated, say).
	 */
	for (tries = 0; tries < 2; tries++) {
		size_t mark = report_len;

		ret = snap_all(w, st, false);
		if (!ret)
			ret = compare(w, st);
		/* A page swapped out and back in is a new one. */
		if (!ret && op->kind != OP_MMAP && op->kind != OP_MREMAP &&
		    op->kind != OP_RECLAIM)
			ret = compare_idents(w, st);
		real_quiesce();
		if (!ret)
			return MIS_NONE;
		if (tries == 0) {
			report_len = mark;
			report_buf[mark] = 0;
			usleep(20000);
		}
	}
	report("after %s:\n", op_str(op, ob, sizeof(ob)));
	dump_snap(w, st);
	return ret;
}

struct seq_result {
	int mis;		/* MIS_*, MIS_NONE when the two agree */
	int step;		/* the failing step */
	int nops;		/* operations run (not skipped) */
	int skipped;
};

static struct counts_ {
	long mms, vmas, pages, shmem, swap_slots, swap_pages;
} baseline;

static struct counts_ counts_now(void)
{
	return (struct counts_){
		shadow_counter("mms"), shadow_counter("vmas"),
		shadow_counter("pages"), shadow_counter("shmem"),
		shadow_counter("swap_slots"), shadow_counter("swap_pages"),
	};
}

static struct snap the_snap;

static void gen_op(struct rng *r, const struct world *w,
		   const struct snap *st, int idx, struct op *op);

/*
 * Run a sequence from scratch: @ops as given (a replay), or, with @gen,
 * @*nops operations generated one by one from the state reached, stored in
 * @ops. Stops at the first mismatch.
 */
static struct seq_result run_seq(int dev, struct op *ops, int *nops,
				 struct rng *gen)
{
	struct seq_result res = { .step = -1 };
	struct snap *st = &the_snap;
	struct world w;
	int i;

	res.mis = world_start(&w, dev);
	if (!res.mis) {
		res.mis = snap_all(&w, st, false);
		if (!res.mis)
			res.mis = compare(&w, st);
		real_quiesce();
		if (res.mis) {
			report("before the first step:\n");
			dump_snap(&w, st);
		}
	}
	for (i = 0; !res.mis && i < *nops; i++) {
		bool skipped;

		if (gen)
			gen_op(gen, &w, st, i, &ops[i]);
		res.mis = step(&w, &ops[i], st, &skipped);
		if (res.mis)
			res.step = i;
		else if (skipped)
			res.skipped++;
		else
			res.nops++;
	}
	world_stop(&w);
	if (twin_mode)
		world_stop(&twin);
	if (!res.mis) {
		struct counts_ now = counts_now();

		if (memcmp(&now, &baseline, sizeof(now))) {
			report("module counters (%s): %ld %ld %ld %ld %ld %ld, ",
			       "mms vmas pages shmem swap_slots swap_pages",
			       now.mms, now.vmas, now.pages, now.shmem,
			       now.swap_slots, now.swap_pages);
			report("before: %ld %ld %ld %ld %ld %ld\n", baseline.mms,
			       baseline.vmas, baseline.pages, baseline.shmem,
			       baseline.swap_slots, baseline.swap_pages);
			res.mis = MIS_LEAK;
			res.step = *nops;
		}
	}
	if (res.mis && res.step >= 0 && res.step < *nops)
		*nops = res.step + 1;
	return res;
}

/* ---- the generator -------------------------------------------------- */

static int gen_prot(struct rng *r)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ,
		PROT_READ, PROT_NONE, PROT_WRITE, PROT_EXEC,
		PROT_READ | PROT_EXEC, PROT_WRITE | PROT_EXEC,
		PROT_READ | PROT_WRITE | PROT_EXEC,
	};

	return prots[rnd(r, ARRAY_SIZE(prots))];
}

/* A page of the window: mostly near the top, near VMA edges or in VMAs. */
static unsigned long gen_page(struct rng *r, const struct side *sd)
{
	unsigned int k = rnd(r, 100);
	const struct vrec *v;
	long p;

	/* THP mode: a 2 MiB boundary of the window's top 16 MiB, or next to one. */
	if (cfg.thp && rnd(r, 5) == 0) {
		p = WIN_PAGES - HPAGE_PAGES * (1 + rnd(r, 8));
		if (rnd(r, 4) == 0)
			p += (long)rnd(r, 5) - 2;
		if (p >= 0 && p < (long)WIN_PAGES)
			return p;
	}
	if (k < 40 || !sd->nv) {
		p = WIN_PAGES - 1 - rnd(r, HOT_PAGES);
	} else if (k < 75) {
		v = &sd->v[rnd(r, sd->nv)];
		p = ((long)(rnd(r, 2) ? v->start : v->end) - (long)WIN_BASE) /
		    (long)PAGE + (long)rnd(r, 5) - 2;
	} else if (k < 90) {
		v = &sd->v[rnd(r, sd->nv)];
		p = ((long)v->start - (long)WIN_BASE) / (long)PAGE +
		    rnd(r, (v->end - v->start) / PAGE);
	} else {
		p = rnd(r, WIN_PAGES);
	}
	if (p < 0 || p >= (long)WIN_PAGES)
		p = WIN_PAGES - 1 - rnd(r, HOT_PAGES);
	return p;
}

/* A length in pages, at most @max. */
static unsigned long gen_pages(struct rng *r, unsigned long max)
{
	unsigned int k = rnd(r, 100);
	unsigned long n;

	/* THP mode: 2 to 8 MiB, now and then a page more or less. */
	if (cfg.thp && rnd(r, 4) == 0) {
		n = HPAGE_PAGES * (1 + rnd(r, 4));
		if (rnd(r, 4) == 0)
			n += rnd(r, 2) ? 1 : -1;
		return n < max ? n : max;
	}
	if (k < 55)
		n = 1 + rnd(r, 4);
	else if (k < 85)
		n = 5 + rnd(r, 28);
	else if (k < 97)
		n = 33 + rnd(r, 224);
	else
		n = 257 + rnd(r, 1800);
	return n < max ? n : max;
}

/*
 * A range in the window: [addr, addr + len). Now and then an unaligned
 * start, a zero length or one that wraps around the address space; those
 * fail before any change, on both sides.
 */
static void gen_range(struct rng *r, const struct side *sd,
		      unsigned long *addr, unsigned long *len)
{
	unsigned long p = gen_page(r, sd), n;
	unsigned int k = rnd(r, 100);

	if (sd->nv && rnd(r, 5) < 2) {
		/* Within one VMA: its whole, a head, a tail or a middle. */
		const struct vrec *v = &sd->v[rnd(r, sd->nv)];
		unsigned long np = (v->end - v->start) / PAGE;
		unsigned long first = rnd(r, 2) ? 0 : rnd(r, np);
		unsigned long last = rnd(r, 2) ? np : first + 1 +
				     rnd(r, np - first);

		*addr = v->start + first * PAGE;
		*len = (last - first) * PAGE;
		return;
	}
	if (sd->nv && rnd(r, 4) == 0) {
		/* From the start of one VMA to the end of another. */
		const struct vrec *a = &sd->v[rnd(r, sd->nv)];
		const struct vrec *b = &sd->v[rnd(r, sd->nv)];

		if (a->start >= WIN_BASE && b->end > a->start) {
			*addr = a->start;
			*len = b->end - a->start;
			return;
		}
	}
	n = gen_pages(r, WIN_PAGES - p);
	*addr = WIN_BASE + p * PAGE;
	*len = n * PAGE;
	if (k < 2)
		*addr += 1 + rnd(r, PAGE - 1);
	else if (k < 4)
		*len = 0;
	else if (k < 6)
		*len = -(rnd(r, 4) * PAGE + rnd(r, PAGE));
	else if (k < 8)
		*len -= rnd(r, PAGE);
}

/*
 * THP mode: a touch somewhere in an aligned 2 MiB that a VMA covers, where
 * a fault may map a huge page; left as it is if no VMA covers one.
 */
static void gen_touch_huge(struct rng *r, const struct side *sd,
			   struct op *op)
{
	const unsigned long huge = HPAGE_PAGES * PAGE;
	unsigned long first, last;
	const struct vrec *v;
	int i;

	for (i = 0; i < 4; i++) {
		v = &sd->v[rnd(r, sd->nv)];
		first = (v->start + huge - 1) & ~(huge - 1);
		last = v->end & ~(huge - 1);
		if (first >= last)
			continue;
		op->addr = first + rnd(r, (last - first) / huge) * huge +
			   rnd(r, huge);
		return;
	}
}

/* A touch: mostly within one VMA, sometimes running past its end. */
static void gen_touch(struct rng *r, const struct side *sd, struct op *op,
		      unsigned long max)
{
	unsigned long p = gen_page(r, sd), end;

	op->addr = WIN_BASE + p * PAGE;
	if (rnd(r, 2))
		op->addr += rnd(r, PAGE);
	op->len = 1 + rnd(r, max);
	if (sd->nv && rnd(r, 3)) {
		const struct vrec *v = &sd->v[rnd(r, sd->nv)];
		int i;

		/* Writes mostly where they may write. */
		for (i = 0; i < 4 && (op->kind == OP_WRITE ||
				      op->kind == OP_POKE) &&
		     !(v->flags & SHADOW_VM_WRITE); i++)
			v = &sd->v[rnd(r, sd->nv)];
		op->addr = v->start + rnd(r, v->end - v->start);
		if (rnd(r, 2))
			op->addr &= ~(PAGE - 1);
		if (op->len > v->end - op->addr && rnd(r, 8))
			op->len = v->end - op->addr;
	}
	if (cfg.thp && sd->nv && rnd(r, 3) == 0)
		gen_touch_huge(r, sd, op);
	end = op->addr + op->len;
	if (end > WIN_TOP)
		op->len = WIN_TOP - op->addr;
	op->val = rng_next(r);
}

static int gen_mmap_flags(struct rng *r)
{
	unsigned int k = rnd(r, 100);
	int f = MAP_ANONYMOUS;

	/* Where both kernels know it, MAP_DROPPABLE for some private ones. */
	if (k < 8 && caps.droppable)
		f |= MAP_DROPPABLE;
	else if (k < 70)
		f |= MAP_PRIVATE;
	else if (k < 96)
		f |= MAP_SHARED;
	else if (k < 98)
		f |= MAP_SHARED | MAP_PRIVATE;
	k = rnd(r, 100);
	if (k < 45)
		f |= MAP_FIXED;
	else if (k < 65)
		f |= MAP_FIXED_NOREPLACE;
	else if (k < 67)
		f |= MAP_FIXED | MAP_FIXED_NOREPLACE;
	if (rnd(r, 10) == 0)
		f |= MAP_NORESERVE;
	if (rnd(r, 20) == 0)
		f |= MAP_GROWSDOWN;
	if (rnd(r, 16) == 0)
		f |= MAP_POPULATE;
	if (rnd(r, 25) == 0)
		f |= MAP_LOCKED;
	if (rnd(r, 50) == 0)
		f |= MAP_POPULATE | MAP_NONBLOCK;
	if (rnd(r, 40) == 0)
		f &= ~MAP_ANONYMOUS;	/* a file mapping without a file */
	if (caps.features & SHADOW_MM_FEATURE_FILE && rnd(r, 4) == 0)
		f &= ~MAP_ANONYMOUS;	/* the memfd (gen_op sets @val) */
	return f;
}

static int gen_kind(struct rng *r, const struct world *w)
{
	int i, total = 0, k, live = 0, free_slot = 0;

	for (i = 0; i < MAX_SLOTS; i++) {
		live += w->s[i].live;
		free_slot |= !w->s[i].live;
	}
	for (i = 0; i < NR_OP_KINDS; i++)
		if (caps.kind[i])
			total += op_weights[i];
	for (;;) {
		k = rnd(r, total);
		for (i = 0; i < NR_OP_KINDS; i++) {
			if (!caps.kind[i])
				continue;
			if (k < op_weights[i])
				break;
			k -= op_weights[i];
		}
		if (i == OP_FORK && !free_slot)
			continue;
		if (i == OP_EXIT && live < 2)
			continue;
		return i;
	}
}

static void gen_op(struct rng *r, const struct world *w,
		   const struct snap *st, int idx, struct op *op)
{
	int live[MAX_SLOTS], nlive = 0, i;
	const struct side *sd;
	unsigned long p;

	memset(op, 0, sizeof(*op));
	for (i = 0; i < MAX_SLOTS; i++)
		if (w->s[i].live)
			live[nlive++] = i;
	op->slot = live[rnd(r, nlive)];
	sd = &st->real[op->slot];
	op->kind = gen_kind(r, w);
	switch (op->kind) {
	case OP_MMAP:
		op->prot = gen_prot(r);
		op->flags = gen_mmap_flags(r);
		if (!(op->flags & MAP_ANONYMOUS) && file_fd >= 0 &&
		    rnd(r, 8)) {
			op->val = 1;
			op->arg = rnd(r, FILE_PAGES + 8);
		}
		p = gen_page(r, sd);
		op->addr = WIN_BASE + p * PAGE;
		op->len = gen_pages(r, WIN_PAGES - p) * PAGE;
		if (!(op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
		    rnd(r, 3) == 0)
			op->addr = 0;
		switch (rnd(r, 50)) {
		case 0:
			/* Not on a zero hint: it would go to mmap_min_addr. */
			if (op->addr)
				op->addr += 1 + rnd(r, PAGE - 1);
			break;
		case 1:
			op->len = 0;
			break;
		case 2:
			op->len = -(rnd(r, 4) * PAGE + rnd(r, PAGE));
			break;
		case 3:
			op->len -= rnd(r, PAGE);
			break;
		}
		break;
	case OP_MUNMAP:
	case OP_MLOCK:
	case OP_MUNLOCK:
		gen_range(r, sd, &op->addr, &op->len);
		if (op->kind == OP_MLOCK)
			op->arg = rnd(r, 3) ? 0 : rnd(r, 10) ? MLOCK_ONFAULT : 4;
		break;
	case OP_MADVISE:
		gen_range(r, sd, &op->addr, &op->len);
		op->arg = rnd(r, 40) ? caps.advice[rnd(r, caps.nr_advice)] :
			  999;
		break;
	case OP_MPROTECT:
		gen_range(r, sd, &op->addr, &op->len);
		op->prot = gen_prot(r);
		switch (rnd(r, 40)) {
		case 0:
		case 1:
			op->prot |= PROT_GROWSDOWN;
			break;
		case 2:
			op->prot |= PROT_GROWSUP;
			break;
		case 3:
			op->prot |= 0x20;
			break;
		}
		break;
	case OP_MLOCKALL: {
		static const int f[] = {
			MCL_CURRENT, MCL_FUTURE, MCL_CURRENT | MCL_FUTURE,
			MCL_CURRENT | MCL_ONFAULT, MCL_FUTURE | MCL_ONFAULT,
			MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT, 0, MCL_ONFAULT,
			8,
		};

		op->arg = f[rnd(r, ARRAY_SIZE(f))];
		break;
	}
	case OP_MUNLOCKALL:
		break;
	case OP_READ:
	case OP_WRITE:
		gen_touch(r, sd, op, MAX_TOUCH);
		break;
	case OP_PEEK:
	case OP_POKE:
		gen_touch(r, sd, op, 4 * PAGE);
		break;
	case OP_MREMAP: {
		unsigned int k = rnd(r, 100);

		if (sd->nv && rnd(r, 5)) {
			const struct vrec *v = &sd->v[rnd(r, sd->nv)];

			op->addr = v->start;
			if (rnd(r, 3) == 0)
				op->addr += rnd(r, (v->end - v->start) / PAGE) *
					    PAGE;
			op->len = v->end - op->addr;
			if (rnd(r, 3) == 0)
				op->len = (1 + rnd(r, op->len / PAGE)) * PAGE;
			else if (rnd(r, 10) == 0 &&
				 op->addr + op->len + 3 * PAGE <= WIN_TOP)
				op->len += rnd(r, 4) * PAGE;
		} else {
			gen_range(r, sd, &op->addr, &op->len);
		}
		op->new_len = gen_pages(r, WIN_PAGES / 4) * PAGE;
		if (rnd(r, 4) == 0 && op->len < WIN_PAGES / 4 * PAGE)
			op->new_len = op->len;
		if (k < 25)
			op->arg = 0;
		else if (k < 55)
			op->arg = MREMAP_MAYMOVE;
		else if (k < 80)
			op->arg = MREMAP_MAYMOVE | MREMAP_FIXED;
		else if (k < 90)
			op->arg = MREMAP_MAYMOVE | MREMAP_DONTUNMAP |
				  (rnd(r, 2) ? MREMAP_FIXED : 0);
		else if (k < 95)
			op->arg = rnd(r, 2) ? MREMAP_FIXED : MREMAP_DONTUNMAP;
		else
			op->arg = MREMAP_MAYMOVE;
		if (k >= 95)
			op->len = 0;	/* a second mapping of a shared one */
		if (op->arg & MREMAP_DONTUNMAP && rnd(r, 4))
			op->new_len = op->len;
		if (op->arg & MREMAP_FIXED) {
			p = gen_page(r, sd);
			op->new_addr = WIN_BASE + p * PAGE;
			if (op->new_len > WIN_TOP - op->new_addr)
				op->new_len = WIN_TOP - op->new_addr;
		}
		if (op->new_len > WIN_PAGES * PAGE)
			op->new_len = WIN_PAGES * PAGE;
		break;
	}
	case OP_FORK:
		for (i = 0; i < MAX_SLOTS && w->s[i].live; i++)
			;
		op->arg = i;
		break;
	case OP_EXIT:
		break;
	case OP_RECLAIM:
		/* A valid range (the real side has nothing to check it). */
		if (rnd(r, 3)) {
			gen_range(r, sd, &op->addr, &op->len);
			op->addr &= ~(PAGE - 1);
			if (op->addr >= WIN_TOP)
				op->addr = WIN_BASE;
			if (!op->len || op->len > WIN_TOP - op->addr)
				op->len = WIN_TOP - op->addr;
		}
		/*
		 * Two passes mostly: the comparison's reads of every page
		 * leave them young, and the first pass only ages them.
		 */
		op->arg = rnd(r, 8) ? 2 : 1;
		op->val = rnd(r, 4) ? 0 : 1 + rnd(r, 8);
		break;
	}
	(void)idx;
}

/* ---- delta debugging ------------------------------------------------ */

static int replays;
static time_t minimize_deadline;

/* Does @ops still fail the same way? */
static bool still_fails(int dev, struct op *ops, int *n, int mis)
{
	struct seq_result res;

	if (time(NULL) > minimize_deadline)
		return false;
	replays++;
	report_clear();
	res = run_seq(dev, ops, n, NULL);
	report_clear();
	return res.mis == mis;
}

/* ddmin: drop chunks, then single operations, while the mismatch stays. */
static int minimize(int dev, struct op *ops, int n, int mis)
{
	static struct op cand[MAX_OPS];
	int chunks = 2, i, j, k, m;

	while (n >= 2) {
		int size = (n + chunks - 1) / chunks;
		bool reduced = false;

		for (i = 0; i < n && !reduced; i += size) {
			for (j = 0, k = 0; j < n; j++)
				if (j < i || j >= i + size)
					cand[k++] = ops[j];
			m = k;
			if (m && still_fails(dev, cand, &m, mis)) {
				memcpy(ops, cand, m * sizeof(*ops));
				n = m;
				reduced = true;
			}
		}
		if (reduced) {
			chunks = chunks > 2 ? chunks - 1 : 2;
		} else {
			if (chunks >= n)
				break;
			chunks = chunks * 2 < n ? chunks * 2 : n;
		}
	}
	return n;
}

/* ---- the test -------------------------------------------------------- */

static void probe_caps(int dev)
{
	static const int advice[] = {
		MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
		MADV_DONTNEED, MADV_WILLNEED, MADV_POPULATE_READ,
		MADV_POPULATE_WRITE, MADV_NORMAL, MADV_RANDOM,
		MADV_SEQUENTIAL, MADV_DONTDUMP, MADV_DODUMP, MADV_HUGEPAGE,
		MADV_NOHUGEPAGE, MADV_REMOVE, MADV_COLD, MADV_FREE,
	};
	struct shadow_mm_api api = { .size = sizeof(api) };
	static const struct {
		int kind, cmd;
	} need[] = {
		{ OP_MMAP, SHADOW_MM_CMD_MMAP },
		{ OP_MUNMAP, SHADOW_MM_CMD_MUNMAP },
		{ OP_READ, SHADOW_MM_CMD_FAULT },
		{ OP_WRITE, SHADOW_MM_CMD_FAULT },
		{ OP_PEEK, SHADOW_MM_CMD_ACCESS },
		{ OP_POKE, SHADOW_MM_CMD_ACCESS },
		{ OP_MADVISE, SHADOW_MM_CMD_MADVISE },
		{ OP_MPROTECT, SHADOW_MM_CMD_MPROTECT },
		{ OP_MLOCK, SHADOW_MM_CMD_MLOCK },
		{ OP_MUNLOCK, SHADOW_MM_CMD_MUNLOCK },
		{ OP_MLOCKALL, SHADOW_MM_CMD_MLOCKALL },
		{ OP_MUNLOCKALL, SHADOW_MM_CMD_MUNLOCKALL },
		{ OP_MREMAP, SHADOW_MM_CMD_MREMAP },
		{ OP_FORK, SHADOW_MM_CMD_FORK },
		{ OP_EXIT, SHADOW_MM_CMD_FORK },
		{ OP_RECLAIM, SHADOW_MM_CMD_RECLAIM },
	};
	char line[512];
	size_t i, n;
	int mfd;

	ioctl(dev, SHADOW_MM_API, &api);
	caps.ioctls = api.out_ioctls;
	caps.features = api.out_features;
	if (twin_mode) {
		caps.ioctls = ~0ULL;
		caps.features = ~0ULL;
	}
	for (i = 0; i < ARRAY_SIZE(need); i++)
		caps.kind[need[i].kind] = caps.ioctls & (1ULL << need[i].cmd);
	if (!(caps.features & SHADOW_MM_FEATURE_SWAP))
		caps.kind[OP_RECLAIM] = false;
	caps.populates = caps.features & SHADOW_MM_FEATURE_MLOCK;
	caps.grows_stack = caps.features & SHADOW_MM_FEATURE_BRK;
	caps.droppable = shadow_droppable();

	/* The advice SHADOW_MM_MADVISE takes: the others give EINVAL. */
	caps.nr_advice = 0;
	if (twin_mode)
		for (i = 0; i < ARRAY_SIZE(advice); i++)
			caps.advice[caps.nr_advice++] = advice[i];
	mfd = twin_mode ? -1 : _shadow_create(dev, 0, NULL);
	/* MADV_REMOVE takes shared memory only: probed on the second page. */
	if (mfd >= 0 && caps.kind[OP_MADVISE] &&
	    !_shadow_mmap(mfd, WIN_BASE, PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL) &&
	    !_shadow_mmap(mfd, WIN_BASE + PAGE, PAGE, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, NULL)) {
		for (i = 0; i < ARRAY_SIZE(advice); i++)
			if (_shadow_madvise(mfd, advice[i] == MADV_REMOVE ?
					    WIN_BASE + PAGE : WIN_BASE, PAGE,
					    advice[i]) != -EINVAL)
				caps.advice[caps.nr_advice++] = advice[i];
	}
	if (mfd >= 0)
		close(mfd);
	if (!caps.nr_advice)
		caps.kind[OP_MADVISE] = false;

	n = snprintf(line, sizeof(line), "active:");
	for (i = 0; i < NR_OP_KINDS; i++) {
		if (!caps.kind[i])
			continue;
		n += snprintf(line + n, sizeof(line) - n, " %s", op_names[i]);
		if (i == OP_MADVISE) {
			int j;

			for (j = 0; j < caps.nr_advice; j++)
				n += snprintf(line + n, sizeof(line) - n,
					      "%s%s", j ? "," : "(",
					      advice_str(caps.advice[j]));
			n += snprintf(line + n, sizeof(line) - n, ")");
		}
	}
	printf("# diff: %s\n", line);
	n = snprintf(line, sizeof(line), "inactive (no ioctl):");
	for (i = 0; i < NR_OP_KINDS; i++)
		if (!caps.kind[i])
			n += snprintf(line + n, sizeof(line) - n, " %s",
				      op_names[i]);
	printf("# diff: %s\n", line);
	printf("# diff: MAP_POPULATE/MAP_LOCKED population %s; stack growth %s\n",
	       caps.populates ? "by the module" :
	       "emulated (no SHADOW_MM_FEATURE_MLOCK)",
	       caps.grows_stack ? "compared" :
	       "left out (no SHADOW_MM_FEATURE_BRK)");
}

/* The zero page's pfn, from this process's own pagemap. */
static __u64 find_zero_pfn(void)
{
	unsigned char *p;
	__u64 e = 0;
	int fd;

	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	(void)__atomic_load_n(p, __ATOMIC_RELAXED);
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (pread(fd, &e, sizeof(e), (unsigned long)p / PAGE * 8) !=
		    sizeof(e))
			e = 0;
		close(fd);
	}
	munmap((void *)p, PAGE);
	return e & (1ULL << 63) ? e & ((1ULL << 55) - 1) : 0;
}

/* This process and every real one it starts: on its first allowed CPU. */
static int pin_one_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set); cpu++)
		;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static __u64 seq_seed(long i)
{
	struct rng r = { cfg.seed ^ (0x5851f42d4c957f2dULL * (i + 1)) };

	return rng_next(&r);
}

/* Each kind: how many ran, how many succeeded. */
static void print_kinds(void)
{
	char line[512];
	size_t n = 0;
	int i;

	for (i = 0; i < NR_OP_KINDS; i++) {
		if (!kind_runs[i])
			continue;
		n += snprintf(line + n, sizeof(line) - n, " %s %ld/%ld",
			      op_names[i], kind_oks[i], kind_runs[i]);
		if (n >= sizeof(line))
			break;
	}
	printf("# diff: succeeded/run:%s\n", n ? line : " none");
	if (kind_runs[OP_RECLAIM])
		printf("# diff: the reclaim steps swapped out %ld of %ld pages (%ld young)\n",
		       reclaimed_pages, scanned_pages, referenced_pages);
}

static void print_ops(const struct op *ops, int n)
{
	char ob[256];
	int i;

	for (i = 0; i < n; i++)
		printf("#   %2d: %s\n", i, op_str(&ops[i], ob, sizeof(ob)));
}

/*
 * THP mode: the running kernel's THP set up as the space's (always, the
 * huge zero page) and made deterministic: direct compaction for every
 * huge fault (defrag), and khugepaged kept from collapsing behind the
 * test's back (a day's sleep, one page a scan, no PTE missing in what it
 * collapses). Saved in main() before the tests and put back after them.
 */
static struct thp_knob {
	const char *file, *val;
	bool bracketed;		/* "always [madvise] never": the word */
	char saved[32];
} thp_knobs[] = {
	{ .file = "enabled", .val = "always", .bracketed = true },
	{ .file = "defrag", .val = "always", .bracketed = true },
	{ .file = "use_zero_page", .val = "1" },
	{ .file = "khugepaged/scan_sleep_millisecs", .val = "86400000" },
	{ .file = "khugepaged/pages_to_scan", .val = "1" },
	{ .file = "khugepaged/max_ptes_none", .val = "0" },
};

static const char *thp_unready;

static int thp_knob_write(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), THP_SYSFS "/%s", file);
	return sysfs_write(path, val) ? 0 : -1;
}

static void thp_restore(void)
{
	size_t i;

	for (i = ARRAY_SIZE(thp_knobs); i-- > 0;)
		if (thp_knobs[i].saved[0])
			thp_knob_write(thp_knobs[i].file, thp_knobs[i].saved);
}

static void thp_setup(void)
{
	char path[128], buf[64];
	struct thp_knob *k;
	size_t i;

	if (geteuid()) {
		thp_unready = "THP mode needs root (sysfs, /proc/kpageflags)";
		return;
	}
	if (!thp_sysfs_present()) {
		thp_unready = "THP mode: the running kernel has no THP";
		return;
	}
	for (i = 0; i < ARRAY_SIZE(thp_knobs); i++) {
		k = &thp_knobs[i];
		snprintf(path, sizeof(path), THP_SYSFS "/%s", k->file);
		if (k->bracketed ? thp_sysfs_word(path, k->saved,
						  sizeof(k->saved)) :
		    shadow_slurp(path, buf, sizeof(buf)) < 0) {
			thp_unready = "THP mode: a THP sysfs file is unreadable";
			break;
		}
		if (!k->bracketed)
			snprintf(k->saved, sizeof(k->saved), "%ld",
				 strtol(buf, NULL, 10));
		if (thp_knob_write(k->file, k->val)) {
			thp_unready = "THP mode: a THP sysfs file is unwritable";
			break;
		}
	}
	if (thp_unready)
		thp_restore();
}

/*
 * THP mode: the real kernel's huge page faults since the last call, and
 * what it did that the shadow side cannot know of (thp_fault_fallback,
 * thp_collapse_alloc): a mismatch after one of those may be the real
 * kernel's nondeterminism, not the module's.
 */
static const char * const thp_vm_names[] = {
	"thp_fault_alloc", "thp_fault_fallback", "thp_collapse_alloc",
};

static long thp_vm[ARRAY_SIZE(thp_vm_names)];

static void thp_vm_note(bool print)
{
	char line[256];
	size_t i, n = 0;
	long now;

	for (i = 0; i < ARRAY_SIZE(thp_vm_names); i++) {
		now = vmstat_value(thp_vm_names[i]);
		n += snprintf(line + n, sizeof(line) - n, " %s +%ld",
			      thp_vm_names[i], now - thp_vm[i]);
		thp_vm[i] = now;
	}
	if (print)
		printf("# diff: the real kernel's THP events:%s\n", line);
}

/*
 * What every test here needs: the zero page's pfn, the page to drain LRU
 * batches with, one CPU, the module's operations, the counters' baseline;
 * in THP mode /proc/kpageflags.
 */
static int diff_prepare(int dev)
{
	zero_pfn = find_zero_pfn();
	if (!zero_pfn)
		return -1;
	if (cfg.thp) {
		if (kpageflags_fd < 0)
			kpageflags_fd = open("/proc/kpageflags",
					     O_RDONLY | O_CLOEXEC);
		if (kpageflags_fd < 0)
			return -1;
		thp_vm_note(false);
	}
	drain_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (drain_page == MAP_FAILED || pin_one_cpu())
		return -1;
	probe_caps(dev);
	if (file_fd < 0 && caps.features & SHADOW_MM_FEATURE_FILE) {
		/* Every page of it in the page cache. */
		static unsigned char fill[FILE_PAGES * PAGE];
		unsigned long i;

		file_fd = memfd_create("shadow_diff", 0);
		if (file_fd < 0)
			return -1;
		for (i = 0; i < sizeof(fill); i++)
			fill[i] = pattern(7, i);
		if (write(file_fd, fill, sizeof(fill)) != sizeof(fill))
			return -1;
	}
	baseline = counts_now();
	return 0;
}

FIXTURE(diff) {
	int dev;
	bool thp_set;	/* this test set THP up, and puts it back */
};

FIXTURE_SETUP(diff)
{
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
}

FIXTURE_TEARDOWN(diff)
{
	if (self->thp_set)
		thp_restore();
	close(self->dev);
}

/* The fuzzer's run: cfg's sequences or seconds; a mismatch fails. */
static void fuzz_run(struct __test_metadata *_metadata, int dev)
{
	static struct op ops[MAX_OPS], first[MAX_OPS];
	long seq, nseq = 0, nops = 0, nskipped = 0;
	time_t start = time(NULL), last = start;
	struct seq_result res = { 0 };
	int n, nfirst;

	ASSERT_EQ(0, diff_prepare(dev));
	ASSERT_TRUE(caps.kind[OP_MMAP] && caps.kind[OP_READ] &&
		    caps.kind[OP_PEEK] &&
		    (caps.ioctls & (1ULL << SHADOW_MM_CMD_WALK)));

	printf("# diff: seed %llu, %s %ld, at most %d operations per sequence%s\n",
	       (unsigned long long)cfg.seed,
	       cfg.seconds ? "seconds" : "sequences",
	       cfg.seconds ?: cfg.sequences, cfg.max_ops,
	       cfg.thp ? ", THP always on both sides" : "");
	for (seq = cfg.seq >= 0 ? cfg.seq : 0;; seq++) {
		struct rng r = { seq_seed(seq) };

		if (cfg.seq >= 0 && seq > cfg.seq)
			break;
		if (cfg.seq < 0 && !cfg.seconds && seq >= cfg.sequences)
			break;
		if (cfg.seconds && time(NULL) - start >= cfg.seconds)
			break;
		/* A slow (debug) kernel: stop in time, and say so. */
		if (!cfg.seconds && cfg.seq < 0 &&
		    time(NULL) - start >= BUDGET_S) {
			printf("# diff: stopping at the %d s budget\n", BUDGET_S);
			break;
		}
		n = 1 + rnd(&r, cfg.max_ops);
		if (cfg.verbose)
			printf("# sequence %ld:\n", seq);
		report_clear();
		res = run_seq(dev, ops, &n, &r);
		nseq++;
		nops += res.nops;
		nskipped += res.skipped;
		if (res.mis)
			break;
		if (cfg.seconds && time(NULL) - last >= 60) {
			last = time(NULL);
			printf("# diff: %ld sequences, %ld operations, %ld s\n",
			       nseq, nops, (long)(last - start));
			fflush(stdout);
		}
	}
	printf("# diff: %ld sequences, %ld operations (%ld skipped) in %ld s\n",
	       nseq, nops, nskipped, (long)(time(NULL) - start));
	print_kinds();
	if (cfg.thp)
		thp_vm_note(true);
	fflush(stdout);
	if (!res.mis)
		return;

	printf("# MISMATCH (%s): seed %llu sequence %ld step %d\n",
	       mis_names[res.mis], (unsigned long long)cfg.seed, seq,
	       res.step);
	printf("# replay: SHADOW_DIFF_SEED=%llu SHADOW_DIFF_SEQ=%ld %s%llu SEQ=%ld)\n",
	       (unsigned long long)cfg.seed, seq, "(make fuzz SEED=",
	       (unsigned long long)cfg.seed, seq);
	report_flush();
	printf("# the sequence:\n");
	print_ops(ops, n);
	memcpy(first, ops, n * sizeof(*ops));
	nfirst = n;

	minimize_deadline = time(NULL) + (cfg.seconds ? 600 : 120);
	n = minimize(dev, ops, n, res.mis);
	printf("# minimized to %d of %d operations (%d replays):\n", n, nfirst,
	       replays);
	print_ops(ops, n);
	report_clear();
	res = run_seq(dev, ops, &n, NULL);
	printf("# the minimized sequence gives (%s):\n", mis_names[res.mis]);
	report_flush();
	fflush(stdout);
	ASSERT_EQ(MIS_NONE, -1);
}

TEST_F(diff, fuzz)
{
	if (geteuid())
		SKIP(return, "needs root for /proc/<pid>/pagemap's pfns");
	if (thp_unready)
		SKIP(return, "%s", thp_unready);
	fuzz_run(_metadata, self->dev);
}

/*
 * make check's short THP pass: a quarter of the sequences with THP
 * always on both sides (what SHADOW_DIFF_THP=always runs whole), where
 * the running kernel has THP; the sysfs setup is put back after.
 */
TEST_F(diff, fuzz_thp)
{
	if (geteuid())
		SKIP(return, "needs root for /proc/<pid>/pagemap's pfns");
	if (cfg.thp || cfg.seconds || cfg.seq >= 0)
		SKIP(return, "run by diff.fuzz (THP mode, timed run, replay)");
	cfg.thp = true;
	thp_setup();
	if (thp_unready)
		SKIP(return, "%s", thp_unready);
	self->thp_set = true;
	cfg.sequences = (cfg.sequences + 3) / 4;
	fuzz_run(_metadata, self->dev);
}

/* Fixed sequences the fuzzer once shortened, replayed as they are. */
#define W(pg)	(WIN_BASE + (unsigned long)(pg) * PAGE)

static const struct {
	int n;
	struct op ops[8];
} known[] = {
	/* Fault-around: a read in the grandchild maps what [1] faulted. */
	{ 5, {
		{ .kind = OP_FORK, .slot = 0, .arg = 1 },
		{ .kind = OP_MMAP, .slot = 1, .addr = W(16280),
		  .len = 18 * PAGE, .prot = PROT_EXEC,
		  .flags = SHARED | MAP_FIXED | MAP_FIXED_NOREPLACE },
		{ .kind = OP_FORK, .slot = 1, .arg = 2 },
		{ .kind = OP_READ, .slot = 1, .addr = W(16292),
		  .len = 0x9637 },
		{ .kind = OP_PEEK, .slot = 2, .addr = W(16295) + 0xc24,
		  .len = 0xa94 },
	} },
	/*
	 * Reuse in place: [0]'s copy of a page [1] still maps, then [1]'s
	 * write to the page only it maps now.
	 */
	{ 6, {
		{ .kind = OP_MMAP, .slot = 0, .addr = W(16281),
		  .len = 2 * PAGE, .prot = RW, .flags = PRIV },
		{ .kind = OP_WRITE, .slot = 0, .addr = W(16282) + 0xa8b,
		  .len = 0x575, .val = 1 },
		{ .kind = OP_FORK, .slot = 0, .arg = 1 },
		{ .kind = OP_WRITE, .slot = 0, .addr = W(16282), .len = PAGE,
		  .val = 2 },
		{ .kind = OP_WRITE, .slot = 1, .addr = W(16281) + 0xf00,
		  .len = 0x1100, .val = 3 },
		{ .kind = OP_EXIT, .slot = 0 },
	} },
	/*
	 * Swapped out in parent and child: the parent's write after the
	 * swap-in copies, the child's then reuses; the child's pages go out
	 * again. (Reclaim steps skip without SHADOW_MM_FEATURE_SWAP.)
	 */
	{ 8, {
		{ .kind = OP_MMAP, .slot = 0, .addr = W(16281),
		  .len = 4 * PAGE, .prot = RW, .flags = PRIV },
		{ .kind = OP_WRITE, .slot = 0, .addr = W(16281),
		  .len = 3 * PAGE, .val = 1 },
		{ .kind = OP_FORK, .slot = 0, .arg = 1 },
		{ .kind = OP_RECLAIM, .slot = 0, .arg = 2 },
		{ .kind = OP_WRITE, .slot = 0, .addr = W(16281), .len = PAGE,
		  .val = 2 },
		{ .kind = OP_WRITE, .slot = 1, .addr = W(16281) + 0x10,
		  .len = 0x100, .val = 3 },
		{ .kind = OP_RECLAIM, .slot = 1, .arg = 2 },
		{ .kind = OP_EXIT, .slot = 0 },
	} },
	/*
	 * A shared object's pages written out by a reclaim in the child,
	 * faulted back into both; then written through the child.
	 */
	{ 7, {
		{ .kind = OP_MMAP, .slot = 0, .addr = W(16270),
		  .len = 3 * PAGE, .prot = RW, .flags = SHARED | MAP_FIXED },
		{ .kind = OP_WRITE, .slot = 0, .addr = W(16270),
		  .len = 3 * PAGE, .val = 4 },
		{ .kind = OP_FORK, .slot = 0, .arg = 1 },
		{ .kind = OP_READ, .slot = 1, .addr = W(16271), .len = PAGE },
		{ .kind = OP_RECLAIM, .slot = 1, .arg = 2 },
		{ .kind = OP_WRITE, .slot = 1, .addr = W(16272), .len = 0x80,
		  .val = 5 },
		{ .kind = OP_EXIT, .slot = 1 },
	} },
};

TEST_F(diff, known_sequences)
{
	struct seq_result res;
	struct op ops[8];
	size_t i;
	int n, j, reclaims;

	if (geteuid())
		SKIP(return, "needs root for /proc/<pid>/pagemap's pfns");
	if (thp_unready)
		SKIP(return, "%s", thp_unready);
	ASSERT_EQ(0, diff_prepare(self->dev));
	for (i = 0; i < ARRAY_SIZE(known); i++) {
		n = known[i].n;
		memcpy(ops, known[i].ops, sizeof(ops));
		for (j = 0, reclaims = 0; j < n; j++)
			reclaims += ops[j].kind == OP_RECLAIM;
		report_clear();
		res = run_seq(self->dev, ops, &n, NULL);
		if (res.mis) {
			printf("# known sequence %zu:\n", i);
			print_ops(ops, n);
			report_flush();
		}
		EXPECT_EQ(MIS_NONE, res.mis);
		/* Reclaim steps are skipped where the module has none. */
		EXPECT_EQ(caps.kind[OP_RECLAIM] ? 0 : reclaims, res.skipped);
		EXPECT_EQ(n, res.nops + res.skipped);
	}
}

static long env_long(const char *name, long def)
{
	const char *s = getenv(name);

	return s && *s ? strtol(s, NULL, 0) : def;
}

int main(int argc, char **argv)
{
	int i, ret;

	cfg.seconds = env_long("SHADOW_DIFF_SECONDS", 0);
	cfg.sequences = env_long("SHADOW_DIFF_SEQUENCES", cfg.sequences);
	cfg.seq = env_long("SHADOW_DIFF_SEQ", -1);
	cfg.verbose = env_long("SHADOW_DIFF_VERBOSE", 0);
	twin_mode = env_long("SHADOW_DIFF_TWIN", 0);
	cfg.thp = getenv("SHADOW_DIFF_THP") &&
		  !strcmp(getenv("SHADOW_DIFF_THP"), "always");
	if (getenv("SHADOW_DIFF_SEED")) {
		cfg.seed = strtoull(getenv("SHADOW_DIFF_SEED"), NULL, 0);
		cfg.seed_set = true;
	}
	for (i = 1; i + 1 < argc; i += 2) {
		long v = strtol(argv[i + 1], NULL, 0);

		if (!strcmp(argv[i], "--seed")) {
			cfg.seed = strtoull(argv[i + 1], NULL, 0);
			cfg.seed_set = true;
		} else if (!strcmp(argv[i], "--seconds")) {
			cfg.seconds = v;
		} else if (!strcmp(argv[i], "--sequences")) {
			cfg.sequences = v;
		} else if (!strcmp(argv[i], "--seq")) {
			cfg.seq = v;
		} else if (!strcmp(argv[i], "--ops")) {
			cfg.max_ops = v;
		} else if (!strcmp(argv[i], "--thp")) {
			cfg.thp = !strcmp(argv[i + 1], "always");
		} else if (!strcmp(argv[i], "-v")) {
			cfg.verbose = 1;
			i--;
		}
	}
	/* make check: a fixed seed; a timed run: a new one unless given. */
	if (!cfg.seed_set)
		cfg.seed = cfg.seconds ? (__u64)time(NULL) ^ getpid() : 1;
	cfg.max_ops = env_long("SHADOW_DIFF_OPS", cfg.max_ops);
	/*
	 * Longer sequences reach more states (fork, then writes on both
	 * sides) than more short ones: 100 of up to 40 steps caught both
	 * bugs the fuzzer has found, early, where 200 of up to 24 did not.
	 */
	if (!cfg.max_ops)
		cfg.max_ops = 40;
	if (cfg.max_ops < 1)
		cfg.max_ops = 1;
	if (cfg.max_ops > MAX_OPS)
		cfg.max_ops = MAX_OPS;
	if (cfg.seq >= 0)
		cfg.verbose = 1;
	/*
	 * The harness kills a test after its timeout: give a timed run its
	 * length and time to shorten a mismatch; the default run stays
	 * under the kselftest runner's 300 s.
	 */
	_diff_fuzz_object.timeout = cfg.seconds ? cfg.seconds + 900 : 280;
	_diff_fuzz_thp_object.timeout = 280;
	if (cfg.thp)
		thp_setup();
	ret = test_harness_run(argc, argv);
	if (cfg.thp)
		thp_restore();
	return ret;
}
