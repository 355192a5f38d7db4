// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile input for /dev/shadow_mm and its address-space fds: a seeded,
 * time-bounded fuzzer.
 *
 *   SHADOW_FUZZ_SEED=n     the seed (default: from the clock). Every test
 *                          prints it, and every failure with its call.
 *   SHADOW_FUZZ_SECONDS=n  the time the two fuzzing tests share, half each
 *                          (default 15). Time, not a call count, bounds
 *                          them, so that a slow debug kernel finishes too.
 *   SHADOW_FUZZ_CALLS=n    stop hostile_ioctls after n calls (to replay a
 *                          failure exactly; default: no limit).
 *
 * In the VM, set them on the kernel command line, which hands unknown
 * VAR=value words to init's environment:
 *   make check T=shadow_mm_fuzz_test APPEND="SHADOW_FUZZ_SEED=42"
 *
 * hostile_ioctls, one thread: the same seed makes the same calls. Every
 * command number of the uapi, unknown numbers, wrong _IOC type, direction
 * and size encodings, garbage in the upper 32 bits of the request (which
 * the kernel drops), sent to the device, to address-space fds (live and
 * exited), to /dev/null, to a pipe and to a closed fd. Struct sizes 0, 4,
 * 7, min-1, min, exact, larger with a zero or non-zero tail, above a page;
 * random flags and non-zero reserved fields; addresses and lengths at every
 * edge (0, 1, unaligned, TASK_SIZE, wrapping, kernel and non-canonical
 * addresses); struct and buffer pointers that are NULL, unmapped,
 * PROT_NONE, read-only, kernel addresses, or that run into a guard page.
 *
 * concurrent_ops: threads running valid operations on a shared set of
 * address spaces, forking, exiting and closing them under each other.
 *
 * no_kernel_pointers: every output of every command, and every file under
 * /sys/kernel/debug/shadow_mm/, is free of values that look like kernel
 * addresses.
 *
 * Each fuzzing test ends with every fd closed and the module's debugfs
 * counters (mms, vmas, pages, shmem) back where they started.
 *
 * What a call may return. The ioctl layer's answer is predicted exactly,
 * in the order the VFS and the dispatcher decide:
 *
 *   EBADF   a closed fd (the VFS).
 *   ENOTTY  /dev/null or a pipe; a number that is no command of that kind
 *           of fd (wrong type, direction, size or nr; a device command on
 *           an address-space fd or the reverse); a command the module does
 *           not implement (not in SHADOW_MM_API's out_ioctls).
 *   EFAULT  the struct pointer is NULL, unmapped, PROT_NONE or a kernel
 *           address, or the struct runs into an unreadable page (with a
 *           non-zero byte past the kernel's struct before that page, E2BIG
 *           may come first).
 *   EINVAL  size below the command's first struct version.
 *   E2BIG   size above a page, or non-zero bytes past the kernel's struct.
 *   ESRCH   the address-space fd has exited (SHADOW_MM_EXIT).
 *   EPERM   a device command but SHADOW_MM_API (SHADOW_MM_CREATE,
 *           SHADOW_DEV_RECLAIM) on a device fd without a handshake.
 *   EINVAL  a flag the command does not know, a reserved field not zero,
 *           both SHADOW_FAULT_WRITE and _EXEC, unknown mlock2, mlockall,
 *           mremap or msync flags, a record size (rec_size, op_size) that
 *           is not one; API: a wrong abi_version or unknown feature.
 *
 * Past those, each handler may fail only with what the uapi header
 * documents for it, plus EFAULT where it writes its struct back (from a
 * read-only struct) or a buffer the call names; the other rows say why:
 *
 *   API         EFAULT (struct)
 *   CREATE      EINVAL (mmap_base), ENOMEM, EFAULT (struct)
 *   MMAP        EINVAL, ENOMEM, EEXIST, EPERM, EOPNOTSUPP, EFAULT (struct);
 *               as mmap(2): EBADF (no MAP_ANONYMOUS and fd < 0), EAGAIN
 *               (MAP_LOCKED beyond RLIMIT_MEMLOCK), EACCES, ENODEV,
 *               EOVERFLOW (a file mapping of the fuzzer's own fds 0 and
 *               1); and, with MAP_FIXED at
 *               an address in the last page, the address itself as an
 *               errno: Linux's get_unmapped_area() hands a fixed address
 *               back unchecked and do_mmap() takes it for an error value
 *               (the real mmap(2) sets errno 4095 for 0xfffffffffffff001)
 *   MUNMAP      EINVAL, ENOMEM
 *   EXIT        nothing
 *   GET_VMAS    EINVAL (start >= end, nr_vmas too big), EFAULT (buffer,
 *               struct)
 *   GET_MAPS    ENOSPC (buffer too small), ENOMEM, EFAULT (buffer, struct)
 *   GET_STATS   EFAULT (struct)
 *   FAULT       EFAULT (the SIGSEGV or SIGBUS; struct), ENOMEM
 *   ACCESS      EFAULT (nothing transferable; buffer; struct), ENOMEM
 *   WALK        EINVAL (unaligned, too many pages, wrapping), ENOMEM,
 *               EFAULT (buffer)
 *   FORK        ENOMEM, EFAULT (struct)
 *   MADVISE     EINVAL (advice, unaligned, wrapping, WIPEONFORK on shared),
 *               ENOMEM (a hole), EAGAIN (a split failed)
 *   MPROTECT    EINVAL, ENOMEM, EACCES
 *   MLOCK       EINVAL, ENOMEM, EAGAIN; EPERM as mlock2(2) (no
 *               RLIMIT_MEMLOCK and no CAP_IPC_LOCK)
 *   MUNLOCK     EINVAL, ENOMEM
 *   MLOCKALL    EINVAL, ENOMEM; EPERM as mlockall(2)
 *   MUNLOCKALL  nothing
 *   MREMAP      EINVAL, ENOMEM, EFAULT (old range not mapped; struct);
 *               EAGAIN as mremap(2) (locked memory beyond its limit);
 *               EPERM as mremap(2) (a destination below mmap_min_addr:
 *               get_unmapped_area()'s security_mmap_addr())
 *   BRK         EINVAL (SHADOW_BRK_SET_START), EFAULT (struct); nothing
 *               without flags: like brk(2) it refuses by keeping the old
 *               break
 *   RECLAIM     EINVAL (an unaligned address or a wrapping range: always
 *               that), EFAULT (struct)
 *   DEV_RECLAIM EINVAL (an address or a length: refused with the flags),
 *               EFAULT (struct); EPERM before the handshake, as CREATE
 *   MSYNC       as msync(2): EINVAL (unaligned address), ENOMEM
 *               (a hole or a wrapping range), EBUSY (MS_INVALIDATE over
 *               locked memory); EFAULT (struct)
 *   BATCH       E2BIG (more than SHADOW_BATCH_MAX_OPS), ENOMEM, EFAULT
 *               (the array, struct); each operation's own error goes to
 *               its out_result, not to the call
 *
 * EINTR is documented for a caller killed while it waits; nothing kills
 * these callers, so it is never allowed. A success returns 0, or a new fd
 * for CREATE and FORK.
 *
 * Some answers are known more closely. munmap(2) and madvise(2) check their
 * arguments before the layout: a bad range must give EINVAL, an empty
 * madvise 0. A FAULT or ACCESS of an empty range, and a BRK without flags,
 * must succeed. What a successful reclaim counted must add up (see
 * check_output()). An EINVAL or EBADF of MMAP is an argument error: the real
 * mmap(2) of this process, asked the same (MAP_FIXED made
 * MAP_FIXED_NOREPLACE, so that nothing of ours is replaced), must agree.
 * And what a successful call wrote must make sense (see check_output()).
 *
 * The shadow address spaces take their limits from the calling process:
 * RLIMIT_AS is lowered so that no address space can map, and a fault or a
 * populate fill, more than FUZZ_AS_LIMIT, and the fuzzer drops its address
 * spaces when the module holds more than PAGES_HIGH pages.
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"
#include "shadow_mm_fuzz.h"

static inline __u64 min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/* Where the fuzzer's address spaces keep most of their mappings. */
#define WIN_BASE	0x100000000000UL
#define WIN_PAGES	1024UL
/* Output buffers live here, with a guard page after them. */
#define SCRATCH_PAGES	64UL
#define SCRATCH_BYTES	(SCRATCH_PAGES * PAGE)
/* Never mapped: below a static binary's 0x400000, above mmap_min_addr. */
#define UNMAPPED_ADDR	0x100000UL
/* RLIMIT_AS for the fuzzing tests: each address space maps at most this. */
#define FUZZ_AS_LIMIT	(128UL << 20)
/* Above this many module pages or VMAs, the fuzzer starts over. */
#define PAGES_HIGH	32768L
#define VMAS_HIGH	20000L
/* Address-space fds the hostile fuzzer keeps. */
#define MAX_SLOTS	16
/* Failures printed in full; the rest are only counted. */
#define MAX_REPORTS	20
/* Seconds the harness adds to a fuzzing test's time before killing it. */
#define TEARDOWN_MARGIN	90

static __u64 fuzz_seed;
static __u64 fuzz_seconds;

/* One seed for the whole program, taken before the harness forks. */
static void __attribute__((constructor)) fuzz_init(void)
{
	fuzz_seed = env_seed("SHADOW_FUZZ_SEED");
	fuzz_seconds = env_u64("SHADOW_FUZZ_SECONDS", 15);
}

/* Lower RLIMIT_AS, which bounds every shadow address space too. */
static int limit_address_space(void)
{
	struct rlimit rl = { FUZZ_AS_LIMIT, FUZZ_AS_LIMIT };

	return setrlimit(RLIMIT_AS, &rl);
}

struct fuzz;

/* Above every command number of the uapi. */
#define NR_CMDS_MAX	64

/**
 * struct cmd - a command of the uapi, as the fuzzer knows it
 * @weight: how often the fuzzer picks it, relative to the others
 * @name: its name without the SHADOW_MM_ prefix
 * @nr: its command number
 * @ioctl: its request
 * @size: the struct's size
 * @min_size: the size of the struct's first version
 * @dev: a command of /dev/shadow_mm (else of an address-space fd)
 * @responds: writes its struct back on success
 * @errs: the errnos its handler may return (see the top of the file)
 * @fill: fills a struct with hostile values
 * @bad_flags: whether the struct has flags or reserved fields the handler
 *             must refuse with EINVAL before anything else
 */
struct cmd {
	unsigned int weight;
	const char *name;
	unsigned int nr;
	unsigned int ioctl;
	unsigned int size;
	unsigned int min_size;
	bool dev;
	bool responds;
	__uint128_t errs;
	void (*fill)(struct fuzz *f, void *s);
	bool (*bad_flags)(struct fuzz *f, const void *s);
};

/* Kinds of pointer for a struct or a buffer. */
enum ptr_kind {
	PTR_GOOD,	/* read-write memory, room to spare */
	PTR_TIGHT,	/* a buffer that ends at the guard page */
	PTR_RO,		/* read-only memory */
	PTR_STRADDLE,	/* a struct that runs into the guard page */
	PTR_NULL,
	PTR_LOW,	/* 1 */
	PTR_UNMAPPED,
	PTR_NONE,	/* PROT_NONE */
	PTR_KERNEL,	/* the direct map */
	PTR_KTEXT,	/* kernel text */
	PTR_NONCANON,
	NR_PTR_KINDS,
};

static const char *const ptr_names[] = {
	"good", "tight", "read-only", "straddle", "NULL", "1", "unmapped",
	"PROT_NONE", "direct-map", "kernel-text", "non-canonical",
};

/* Kinds of fd a call is sent to. */
enum target {
	T_DEV,		/* /dev/shadow_mm after the handshake */
	T_DEV_NEW,	/* /dev/shadow_mm before it */
	T_MM,		/* an address-space fd (live or exited) */
	T_NULL,		/* /dev/null */
	T_PIPE,
	T_CLOSED,
	NR_TARGETS,
};

static const char *const target_names[] = {
	"device", "device (no handshake)", "address space", "/dev/null",
	"pipe", "closed fd",
};

/* Ranges a space mapped lately, which sane calls aim at. */
#define SLOT_RANGES	8

struct slot {
	int fd;		/* -1: free */
	bool exited;
	unsigned int nr_ranges;
	__u64 range[SLOT_RANGES][2];	/* start, pages */
};

/**
 * struct fuzz - the state of hostile_ioctls
 * @_metadata: the harness's, for EXPECT
 * @r: the random number generator
 * @calls: ioctls made
 * @failures: calls with a result they may not have
 * @ioctls: SHADOW_MM_API's out_ioctls
 * @features: SHADOW_MM_API's out_features
 * @dev: a device fd after the handshake
 * @dev_new: a device fd before it
 * @null_fd: /dev/null
 * @pipe_fd: a pipe
 * @closed_fd: a number no fd has
 * @slot: the address-space fds
 * @mem: the fuzzer's own pages, laid out as below
 * @scratch: buffers named by structs
 * @argarea: two pages for the struct, then a guard page
 * @ro: a read-only page
 * @roarg: a page made read-only once a struct is in it
 * @raw: the struct being built, with room for a tail past it
 * @tries: per command number, the calls that reached its handler
 * @passes: per command number, the calls that succeeded
 * @secs: per command number, the time its calls took
 * @slowest: per command number, the longest call
 * @bufkind: the kind of buffer the struct names, for the report
 * @sane: this call is well formed, with plausible values, so that it gets
 *        deep into its handler and builds up the address spaces that the
 *        hostile calls then meet
 * @cur: the slot the call goes to, or -1
 * @left: pages from the last sane address to the end of its range
 * @desc: the description of the current call, for the report
 * @first: the report of the first failure, repeated after the per-command
 *         table so the end of the log says what failed
 */
struct fuzz {
	struct __test_metadata *_metadata;
	struct rng r;
	unsigned long calls, failures, reclaims;
	unsigned long tries[NR_CMDS_MAX], passes[NR_CMDS_MAX];
	double secs[NR_CMDS_MAX], slowest[NR_CMDS_MAX];
	__u64 ioctls, features;
	int dev, dev_new, null_fd, pipe_fd[2], closed_fd;
	struct slot slot[MAX_SLOTS];
	char *mem, *scratch, *argarea, *ro, *roarg, *guard;
	__u64 raw[2 * PAGE / 8];
	int bufkind;
	bool sane;
	bool droppable;
	int cur;
	__u64 left;
	char desc[1024];
	char first[1200];
};

/*
 * The fuzzer's pages: the scratch buffers, a guard, the struct area, a
 * guard, the read-only page, a guard, the page for read-only structs and a
 * last guard. Anything the kernel writes past a buffer hits a guard.
 */
#define MEM_PAGES	(SCRATCH_PAGES + 8)

static int fuzz_mem_init(struct fuzz *f)
{
	char *m = mmap(NULL, MEM_PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return -1;
	f->mem = m;
	f->scratch = m;
	f->guard = m + SCRATCH_BYTES;
	f->argarea = f->guard + PAGE;
	f->ro = f->argarea + 3 * PAGE;
	f->roarg = f->ro + 2 * PAGE;
	memset(f->ro, 0x5a, PAGE);
	if (mprotect(f->guard, PAGE, PROT_NONE) ||
	    mprotect(f->argarea + 2 * PAGE, PAGE, PROT_NONE) ||
	    mprotect(f->ro, PAGE, PROT_READ) ||
	    mprotect(f->ro + PAGE, PAGE, PROT_NONE) ||
	    mprotect(f->roarg + PAGE, PAGE, PROT_NONE))
		return -1;
	/* UNMAPPED_ADDR must really be unmapped: msync says so. */
	if (msync((void *)UNMAPPED_ADDR, PAGE, MS_ASYNC) != -1 ||
	    errno != ENOMEM)
		return -1;
	return 0;
}

/* A pointer of @kind for a buffer the kernel may use @need bytes of. */
static __u64 kind_ptr(struct fuzz *f, int kind, __u64 need)
{
	switch (kind) {
	case PTR_GOOD:
	case PTR_STRADDLE:
		return (uintptr_t)f->scratch;
	case PTR_TIGHT:
		return (uintptr_t)f->scratch +
		       (need < SCRATCH_BYTES ? SCRATCH_BYTES - need : 0);
	case PTR_RO:
		return (uintptr_t)f->ro;
	case PTR_NULL:
		return 0;
	case PTR_LOW:
		return 1;
	case PTR_UNMAPPED:
		return UNMAPPED_ADDR;
	case PTR_NONE:
		return (uintptr_t)f->guard;
	case PTR_KERNEL:
		return 0xffff888000000000UL;
	case PTR_KTEXT:
		return 0xffffffff81000000UL;
	default:
		return 0x8000000000000000UL;
	}
}

/* A buffer pointer: mostly good, sometimes anything. */
static __u64 pick_buf(struct fuzz *f, __u64 need)
{
	int kind = f->sane || rnd_below(&f->r, 3) ?
		   rnd_below(&f->r, 2) : rnd_below(&f->r, NR_PTR_KINDS);

	f->bufkind = kind;
	return kind_ptr(f, kind, need);
}

static __u32 pick_flags(struct fuzz *f, __u32 valid)
{
	if (f->sane)
		return valid & (__u32)rnd(&f->r);
	switch (rnd_below(&f->r, 10)) {
	case 0:
		return (__u32)rnd(&f->r);
	case 1:
		return 1u << rnd_below(&f->r, 32);
	case 2:
	case 3:
	case 4:
		return valid & (__u32)rnd(&f->r);
	default:
		return 0;
	}
}

static __u32 pick_reserved(struct fuzz *f)
{
	return !f->sane && one_in(&f->r, 10) ? 1u << rnd_below(&f->r, 32) :
					       0;
}

/* Does the kernel take @size for a record whose first size is @ver0? */
static bool rec_size_ok(__u32 size, __u32 ver0)
{
	return !size || (size >= ver0 && size <= SHADOW_REC_SIZE_MAX &&
			 !(size % 8));
}

/* The bytes per record @size means (0: the first size). */
static __u32 rec_bytes(__u32 size, __u32 ver0)
{
	return size ? size : ver0;
}

/*
 * A record size for an array command whose record is @ver0 bytes: mostly
 * 0 (the first size) or @ver0, sometimes larger, sometimes one the kernel
 * refuses. @larger allows the larger valid sizes.
 */
static __u32 pick_rec_size(struct fuzz *f, __u32 ver0, bool larger)
{
	const __u32 sizes[] = {
		0, 0, 0, ver0, ver0, ver0 + 8, SHADOW_REC_SIZE_MAX,
		ver0 - 8, ver0 + 4, SHADOW_REC_SIZE_MAX + 8, -8u,
	};
	__u32 size;

	do {
		size = f->sane ? sizes[rnd_below(&f->r, 5)] :
				 sizes[RND_IDX(&f->r, sizes)];
	} while (!larger && size > ver0 && rec_size_ok(size, ver0));
	return size;
}

static const __u64 addr_edges[] = {
	0, 1, PAGE - 1, PAGE, 0xffff, 0x10000, 0x10001, 0x400000,
	SHADOW_TASK_SIZE - 2 * PAGE, SHADOW_TASK_SIZE - PAGE,
	SHADOW_TASK_SIZE - 1, SHADOW_TASK_SIZE, SHADOW_TASK_SIZE + PAGE,
	1UL << 47, 1UL << 48, (1UL << 48) + WIN_BASE, 0x8000000000000000UL,
	0xffff800000000000UL, 0xffff888000000000UL, 0xffffffff81000000UL,
	0xffffffffff600000UL, -2 * PAGE, -PAGE, -PAGE + 1, -2UL, -1UL,
	SHADOW_DEFAULT_START_BRK, SHADOW_MMAP_BASE - PAGE, SHADOW_MMAP_BASE,
};

/* An address in a shadow address space: mostly the window, else edges. */
static __u64 pick_addr(struct fuzz *f)
{
	struct rng *r = &f->r;
	__u64 a;

	f->left = 0;
	if (f->sane && !one_in(r, 16)) {
		struct slot *s = f->cur >= 0 ? &f->slot[f->cur] : NULL;
		__u64 i, pg;

		if (s && s->nr_ranges && !one_in(r, 4)) {
			i = rnd_below(r, min_u64(s->nr_ranges, SLOT_RANGES));
			pg = rnd_below(r, s->range[i][1]);
			f->left = s->range[i][1] - pg;
			return s->range[i][0] + pg * PAGE;
		}
		return WIN_BASE + rnd_below(r, WIN_PAGES / 4) * PAGE;
	}
	switch (rnd_below(r, 10)) {
	case 0 ... 4:
		a = WIN_BASE + rnd_below(r, WIN_PAGES) * PAGE;
		if (one_in(r, 8))
			a += 1 + rnd_below(r, PAGE - 1);
		return a;
	case 5:
	case 6:
		return addr_edges[RND_IDX(r, addr_edges)];
	case 7:
		return addr_edges[RND_IDX(r, addr_edges)] + (rnd_below(r, 5) - 2) * PAGE;
	case 8:
		return rnd(r) & ((1UL << 47) - PAGE);
	default:
		if (one_in(r, 2))
			return rnd(r);
		/* A window address with bits above 47 set: no alias of it. */
		return (WIN_BASE + rnd_below(r, WIN_PAGES) * PAGE) |
		       ((1 + rnd_below(r, 0xffff)) << 48);
	}
}

static const __u64 len_edges[] = {
	0, 1, PAGE - 1, PAGE + 1, 2 * PAGE - 1, 1UL << 30, SHADOW_TASK_SIZE,
	SHADOW_TASK_SIZE + 1, 1UL << 47, -PAGE, -PAGE + 1, -1UL, 1UL << 63,
};

/* A length for a range starting at @addr. */
static __u64 pick_len(struct fuzz *f, __u64 addr)
{
	struct rng *r = &f->r;

	if (f->sane && f->left && !one_in(r, 8))
		return (1 + rnd_below(r, f->left)) * PAGE;
	if (f->sane && !one_in(r, 16))
		return (1 + rnd_below(r, 16)) * PAGE;
	switch (rnd_below(r, 12)) {
	case 0 ... 4:
		return (1 + rnd_below(r, 16)) * PAGE;
	case 5:
		return (1 + rnd_below(r, WIN_PAGES)) * PAGE;
	case 6:
	case 7:
		return len_edges[RND_IDX(r, len_edges)];
	case 8:
		return -addr;			/* addr + len wraps to 0 */
	case 9:
		return -addr + PAGE;		/* and past it */
	case 10:
		return SHADOW_TASK_SIZE - addr;	/* up to TASK_SIZE */
	default:
		return rnd(r) >> rnd_below(r, 64);
	}
}

static __u32 pick_prot(struct fuzz *f)
{
	static const __u32 prots[] = {
		PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
		PROT_WRITE, PROT_EXEC, PROT_READ | PROT_GROWSDOWN,
		PROT_READ | PROT_GROWSUP, PROT_READ | PROT_SEM,
	};

	if (one_in(&f->r, 10))
		return (__u32)rnd(&f->r);
	return prots[RND_IDX(&f->r, prots)];
}

static __u32 pick_map_flags(struct fuzz *f)
{
	static const __u32 types[] = {
		MAP_PRIVATE | MAP_ANONYMOUS, MAP_PRIVATE | MAP_ANONYMOUS,
		MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS,
		MAP_SHARED | MAP_ANONYMOUS, MAP_SHARED_VALIDATE | MAP_ANONYMOUS,
		MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, 0,
		/* Drawn only where the kernels know it (6.11 on). */
		MAP_DROPPABLE | MAP_ANONYMOUS,
	};
	static const __u32 extra[] = {
		MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_NORESERVE,
		MAP_POPULATE, MAP_LOCKED, MAP_NONBLOCK, MAP_HUGETLB, MAP_32BIT,
		MAP_SYNC, MAP_STACK, MAP_DENYWRITE, MAP_EXECUTABLE,
	};
	struct rng *r = &f->r;
	__u32 flags;
	unsigned int i;

	if (f->sane) {
		flags = MAP_ANONYMOUS | MAP_FIXED |
			(one_in(r, 3) ? MAP_SHARED : MAP_PRIVATE);
		if (one_in(r, 16) && (flags & MAP_PRIVATE))
			flags |= MAP_GROWSDOWN;
		return flags;
	}
	if (one_in(r, 16))
		return (__u32)rnd(r);
	flags = types[rnd_below(r, ARRAY_SIZE(types) - !f->droppable)];
	if (!one_in(r, 3))
		flags |= MAP_FIXED;
	for (i = 0; i < ARRAY_SIZE(extra); i++)
		if (one_in(r, 16))
			flags |= extra[i];
	return flags;
}

static void fill_api(struct fuzz *f, void *p)
{
	static const __u32 abis[] = { 0, 0, SHADOW_MM_ABI_VERSION,
				      SHADOW_MM_ABI_VERSION + 1, ~0u };
	struct shadow_mm_api *s = p;

	s->flags = pick_flags(f, 0);
	s->abi_version = abis[RND_IDX(&f->r, abis)];
	s->__reserved = pick_reserved(f);
	s->features = one_in(&f->r, 3) ? rnd(&f->r) :
					 rnd(&f->r) & f->features;
	s->__reserved2 = pick_reserved(f);
	/* Outputs: the kernel must not care what they held. */
	s->out_abi_version = rnd(&f->r);
	s->out_features = rnd(&f->r);
	s->out_ioctls = rnd(&f->r);
	s->out_rules = rnd(&f->r);
	s->__reserved3 = rnd(&f->r);
}

static bool bad_api(struct fuzz *f, const void *p)
{
	const struct shadow_mm_api *s = p;

	return s->flags || s->__reserved || s->__reserved2 ||
	       (s->abi_version && s->abi_version != SHADOW_MM_ABI_VERSION) ||
	       (s->features & ~f->features);
}

static void fill_create(struct fuzz *f, void *p)
{
	struct shadow_mm_create *s = p;

	s->flags = pick_flags(f, SHADOW_CREATE_LEGACY_LAYOUT);
	s->mmap_base = one_in(&f->r, 2) ? 0 : pick_addr(f);
	s->__reserved = pick_reserved(f);
	s->out_id = rnd(&f->r);
}

static bool bad_create(struct fuzz *f, const void *p)
{
	const struct shadow_mm_create *s = p;

	return (s->flags & ~SHADOW_CREATE_LEGACY_LAYOUT) || s->__reserved;
}

static void fill_mmap(struct fuzz *f, void *p)
{
	static const __s32 fds[] = { -1, 0, 1, 1000, INT_MIN, INT_MAX };
	static const __u64 offsets[] = { 1, PAGE - 1, PAGE, 1UL << 40, -PAGE,
					 -1UL };
	struct shadow_mm_mmap *s = p;

	s->flags = pick_flags(f, 0);
	s->addr = pick_addr(f);
	s->len = pick_len(f, s->addr);
	s->prot = pick_prot(f);
	s->map_flags = pick_map_flags(f);
	s->fd = !f->sane && one_in(&f->r, 4) ? fds[RND_IDX(&f->r, fds)] : -1;
	s->__reserved = pick_reserved(f);
	s->offset = !f->sane && one_in(&f->r, 4) ?
		    offsets[RND_IDX(&f->r, offsets)] : 0;
	s->out_addr = rnd(&f->r);
	s->start_stack = one_in(&f->r, 8) ? pick_addr(f) : 0;
}

static bool bad_mmap(struct fuzz *f, const void *p)
{
	const struct shadow_mm_mmap *s = p;

	return (s->flags & ~(SHADOW_MMAP_VDSO | SHADOW_MMAP_VVAR |
			     SHADOW_MMAP_STACK)) || s->__reserved ||
	       (!s->flags && s->start_stack);
}

static void fill_set_mm_map(struct fuzz *f, void *p)
{
	struct shadow_mm_set_mm_map *s = p;

	s->flags = pick_flags(f, 0);
	s->start_code = pick_addr(f);
	s->end_code = pick_addr(f);
	s->start_data = pick_addr(f);
	s->end_data = pick_addr(f);
	s->start_brk = pick_addr(f);
	s->brk = pick_addr(f);
	s->start_stack = pick_addr(f);
	s->arg_start = pick_addr(f);
	s->arg_end = pick_addr(f);
	s->env_start = pick_addr(f);
	s->env_end = pick_addr(f);
}

static void fill_set_thp(struct fuzz *f, void *p)
{
	struct shadow_mm_thp *s = p;

	s->flags = pick_flags(f, SHADOW_THP_SET_MODE | SHADOW_THP_SET_DISABLE |
			      SHADOW_THP_SET_USE_ZERO_PAGE);
	s->mode = rnd_below(&f->r, f->sane ? 3 : 5);
	s->disable = rnd_below(&f->r, f->sane ? 2 : 3);
	s->use_zero_page = rnd_below(&f->r, f->sane ? 2 : 3);
	s->__reserved = pick_reserved(f);
	s->__reserved2 = pick_reserved(f);
}

static bool bad_set_thp(struct fuzz *f, const void *p)
{
	const struct shadow_mm_thp *s = p;

	return (s->flags & ~(SHADOW_THP_SET_MODE | SHADOW_THP_SET_DISABLE |
			     SHADOW_THP_SET_USE_ZERO_PAGE)) ||
	       s->__reserved || s->__reserved2 || s->out_mode ||
	       s->out_disable || s->out_use_zero_page ||
	       (s->flags & SHADOW_THP_SET_MODE && s->mode > 2) ||
	       (s->flags & SHADOW_THP_SET_DISABLE && s->disable > 1) ||
	       (s->flags & SHADOW_THP_SET_USE_ZERO_PAGE &&
		s->use_zero_page > 1);
}

static void fill_munmap(struct fuzz *f, void *p)
{
	struct shadow_mm_munmap *s = p;

	s->flags = pick_flags(f, 0);
	s->addr = pick_addr(f);
	s->len = pick_len(f, s->addr);
}

/* Commands whose only rule before the handler is flags == 0. */
static bool bad_flags_only(struct fuzz *f, const void *p)
{
	return ((const __u32 *)p)[1] != 0;
}

static void fill_exit(struct fuzz *f, void *p)
{
	struct shadow_mm_exit *s = p;

	s->flags = pick_flags(f, 0);
}

static const __u64 nr_edges[] = {
	0, 1, 2, 16, 1024, 1UL << 20, (1UL << 20) + 1, 1UL << 32,
	0xffffffffUL, -1UL,
};

static void fill_get_vmas(struct fuzz *f, void *p)
{
	struct shadow_mm_get_vmas *s = p;

	s->flags = pick_flags(f, 0);
	s->start = one_in(&f->r, 4) ? 0 : pick_addr(f);
	s->end = one_in(&f->r, 4) ? -1UL : s->start + pick_len(f, s->start);
	s->nr_vmas = nr_edges[RND_IDX(&f->r, nr_edges)];
	s->rec_size = pick_rec_size(f, SHADOW_VMA_INFO_SIZE_VER0, true);
	s->__reserved = pick_reserved(f);
	s->vmas = pick_buf(f, (__u64)s->nr_vmas *
			      rec_bytes(s->rec_size,
					SHADOW_VMA_INFO_SIZE_VER0));
	s->out_nr_vmas = rnd(&f->r);
}

static bool bad_get_vmas(struct fuzz *f, const void *p)
{
	const struct shadow_mm_get_vmas *s = p;

	return s->flags || s->__reserved ||
	       !rec_size_ok(s->rec_size, SHADOW_VMA_INFO_SIZE_VER0);
}

static void fill_get_maps(struct fuzz *f, void *p)
{
	static const __u64 lens[] = { 0, 1, 100, PAGE, SCRATCH_BYTES,
				      1UL << 30, -1UL };
	struct shadow_mm_get_maps *s = p;

	s->flags = pick_flags(f, 0);
	s->buf_len = lens[RND_IDX(&f->r, lens)];
	s->buf = pick_buf(f, s->buf_len);
	s->out_len = rnd(&f->r);
}

static void fill_get_stats(struct fuzz *f, void *p)
{
	struct shadow_mm_stats *s = p;
	unsigned int i;

	/* Every output field starts as garbage. */
	for (i = 0; i < sizeof(*s) / 8; i++)
		((__u64 *)s)[i] = rnd(&f->r);
	s->size = 0;
	s->flags = pick_flags(f, 0);
}

static void fill_fault(struct fuzz *f, void *p)
{
	struct shadow_mm_fault *s = p;

	s->flags = pick_flags(f, SHADOW_FAULT_WRITE | SHADOW_FAULT_EXEC);
	s->addr = pick_addr(f);
	s->len = pick_len(f, s->addr);
	if (one_in(&f->r, 16)) {
		s->addr += rnd_below(&f->r, PAGE);
		s->len = rnd_below(&f->r, 2);
	}
	s->out_nr_pages = rnd(&f->r);
	s->out_signal = rnd(&f->r);
	s->__reserved = rnd(&f->r);
}

static bool bad_fault(struct fuzz *f, const void *p)
{
	const struct shadow_mm_fault *s = p;
	const __u32 both = SHADOW_FAULT_WRITE | SHADOW_FAULT_EXEC;

	return (s->flags & ~both) || (s->flags & both) == both;
}

static void fill_access(struct fuzz *f, void *p)
{
	struct shadow_mm_access *s = p;

	s->flags = pick_flags(f, SHADOW_ACCESS_WRITE | SHADOW_ACCESS_FORCE);
	s->addr = pick_addr(f);
	s->len = one_in(&f->r, 2) ? rnd_below(&f->r, 3 * PAGE) :
				    pick_len(f, s->addr);
	s->buf = pick_buf(f, s->len);
	s->out_len = rnd(&f->r);
}

static bool bad_access(struct fuzz *f, const void *p)
{
	const struct shadow_mm_access *s = p;

	return s->flags & ~(SHADOW_ACCESS_WRITE | SHADOW_ACCESS_FORCE);
}

static void fill_walk(struct fuzz *f, void *p)
{
	struct shadow_mm_walk *s = p;

	s->flags = pick_flags(f, 0);
	s->addr = pick_addr(f);
	s->nr_pages = one_in(&f->r, 2) ? rnd_below(&f->r, 64) :
					 nr_edges[RND_IDX(&f->r, nr_edges)];
	/* The window again, with bits above 47 set: nothing is there. */
	if (one_in(&f->r, 8))
		s->addr = (WIN_BASE + rnd_below(&f->r, WIN_PAGES) * PAGE) |
			  1UL << (48 + rnd_below(&f->r, 16));
	s->rec_size = pick_rec_size(f, SHADOW_PAGE_INFO_SIZE_VER0, true);
	s->__reserved = pick_reserved(f);
	s->pages = pick_buf(f, s->nr_pages *
				 rec_bytes(s->rec_size,
					   SHADOW_PAGE_INFO_SIZE_VER0));
}

static bool bad_walk(struct fuzz *f, const void *p)
{
	const struct shadow_mm_walk *s = p;

	return s->flags || s->__reserved ||
	       !rec_size_ok(s->rec_size, SHADOW_PAGE_INFO_SIZE_VER0);
}

static void fill_fork(struct fuzz *f, void *p)
{
	struct shadow_mm_fork *s = p;

	s->flags = pick_flags(f, SHADOW_FORK_VM | SHADOW_FORK_ODF);
	s->__reserved = pick_reserved(f);
	s->out_id = rnd(&f->r);
}

static bool bad_fork(struct fuzz *f, const void *p)
{
	const struct shadow_mm_fork *s = p;

	/* CLONE_VM shares the mm: there is nothing to fork on demand. */
	return (s->flags & ~(SHADOW_FORK_VM | SHADOW_FORK_ODF)) ||
	       (s->flags & SHADOW_FORK_VM && s->flags & SHADOW_FORK_ODF) ||
	       s->__reserved;
}

static void fill_madvise(struct fuzz *f, void *p)
{
	static const __s32 advice[] = {
		MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
		MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
		MADV_NORMAL, MADV_DONTNEED, MADV_FREE, MADV_REMOVE, -1,
		INT_MIN, 1000,
		MADV_COLD, MADV_PAGEOUT, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
	};
	struct shadow_mm_madvise *s = p;

	s->flags = pick_flags(f, 0);
	s->addr = pick_addr(f);
	s->len = pick_len(f, s->addr);
	s->advice = f->sane ? advice[rnd_below(&f->r, 4)] :
			      advice[RND_IDX(&f->r, advice)];
	s->__reserved = pick_reserved(f);
}

/* Commands with flags and one reserved word at the end of the struct. */
static bool bad_flags_reserved(const void *p, size_t size)
{
	return ((const __u32 *)p)[1] ||
	       ((const __u32 *)p)[size / 4 - 1];
}

static bool bad_madvise(struct fuzz *f, const void *p)
{
	return bad_flags_reserved(p, sizeof(struct shadow_mm_madvise));
}

static void fill_mprotect(struct fuzz *f, void *p)
{
	struct shadow_mm_mprotect *s = p;

	s->flags = pick_flags(f, 0);
	s->addr = pick_addr(f);
	s->len = pick_len(f, s->addr);
	s->prot = pick_prot(f);
	s->__reserved = pick_reserved(f);
}

static bool bad_mprotect(struct fuzz *f, const void *p)
{
	return bad_flags_reserved(p, sizeof(struct shadow_mm_mprotect));
}

static void fill_mlock(struct fuzz *f, void *p)
{
	struct shadow_mm_mlock *s = p;

	s->flags = pick_flags(f, 0);
	s->addr = pick_addr(f);
	s->len = pick_len(f, s->addr);
	s->mlock_flags = pick_flags(f, MLOCK_ONFAULT);
	s->__reserved = pick_reserved(f);
}

static bool bad_mlock(struct fuzz *f, const void *p)
{
	const struct shadow_mm_mlock *s = p;

	return s->flags || s->__reserved || (s->mlock_flags & ~MLOCK_ONFAULT);
}

static void fill_munlock(struct fuzz *f, void *p)
{
	struct shadow_mm_munlock *s = p;

	s->flags = pick_flags(f, 0);
	s->addr = pick_addr(f);
	s->len = pick_len(f, s->addr);
}

static void fill_mlockall(struct fuzz *f, void *p)
{
	struct shadow_mm_mlockall *s = p;

	s->flags = pick_flags(f, 0);
	s->mcl_flags = pick_flags(f, MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
	s->__reserved = pick_reserved(f);
}

static bool bad_mlockall(struct fuzz *f, const void *p)
{
	const struct shadow_mm_mlockall *s = p;
	const __u32 known = MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT;

	return s->flags || s->__reserved || !s->mcl_flags ||
	       (s->mcl_flags & ~known) || s->mcl_flags == MCL_ONFAULT;
}

static void fill_munlockall(struct fuzz *f, void *p)
{
	struct shadow_mm_munlockall *s = p;

	s->flags = pick_flags(f, 0);
}

static void fill_mremap(struct fuzz *f, void *p)
{
	struct shadow_mm_mremap *s = p;

	s->flags = pick_flags(f, 0);
	s->old_addr = pick_addr(f);
	s->old_len = one_in(&f->r, 8) ? 0 : pick_len(f, s->old_addr);
	s->new_len = pick_len(f, s->old_addr);
	s->new_addr = pick_addr(f);
	s->mremap_flags = pick_flags(f, MREMAP_MAYMOVE | MREMAP_FIXED |
					MREMAP_DONTUNMAP);
	s->__reserved = pick_reserved(f);
	s->out_addr = rnd(&f->r);
}

static bool bad_mremap(struct fuzz *f, const void *p)
{
	const struct shadow_mm_mremap *s = p;

	return s->flags || s->__reserved ||
	       (s->mremap_flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED |
				    MREMAP_DONTUNMAP));
}

static void fill_brk(struct fuzz *f, void *p)
{
	struct shadow_mm_brk *s = p;

	s->flags = pick_flags(f, SHADOW_BRK_SET_START);
	switch (rnd_below(&f->r, 4)) {
	case 0:
		s->brk = 0;
		break;
	case 1:
	case 2:
		s->brk = SHADOW_DEFAULT_START_BRK +
			 rnd_below(&f->r, 64 * PAGE) - 8 * PAGE;
		break;
	default:
		s->brk = pick_addr(f);
	}
	s->out_brk = rnd(&f->r);
	s->out_start_brk = rnd(&f->r);
}

static bool bad_brk(struct fuzz *f, const void *p)
{
	const struct shadow_mm_brk *s = p;

	return s->flags & ~SHADOW_BRK_SET_START;
}

static void fill_reclaim(struct fuzz *f, void *p)
{
	struct shadow_mm_reclaim *s = p;
	unsigned int i;

	/*
	 * Every output field starts as garbage; out_lazyfreed's is drawn
	 * from the others, so that a seed replays as before it was added.
	 */
	for (i = 0; i < offsetof(struct shadow_mm_reclaim, out_lazyfreed) / 8;
	     i++)
		((__u64 *)s)[i] = rnd(&f->r);
	s->out_lazyfreed = s->out_scanned ^ s->out_busy;
	s->size = 0;
	s->flags = pick_flags(f, SHADOW_RECLAIM_AGE);
	s->addr = one_in(&f->r, 4) ? 0 : pick_addr(f);
	s->len = one_in(&f->r, 4) ? 0 : pick_len(f, s->addr);
	s->nr_to_reclaim = one_in(&f->r, 2) ? 0 :
			   one_in(&f->r, 8) ? rnd(&f->r) :
			   rnd_below(&f->r, 64);
}

static bool bad_reclaim(struct fuzz *f, const void *p)
{
	const struct shadow_mm_reclaim *s = p;

	return s->flags & ~SHADOW_RECLAIM_AGE;
}

static void fill_dev_reclaim(struct fuzz *f, void *p)
{
	struct shadow_mm_reclaim *s = p;

	fill_reclaim(f, p);
	/* Sane calls name no range; the others now and then one. */
	if (f->sane || !one_in(&f->r, 4)) {
		s->addr = 0;
		s->len = 0;
	}
	/* Bounded, not to swap out every space of the fuzzer each time. */
	if (!s->nr_to_reclaim && !one_in(&f->r, 8))
		s->nr_to_reclaim = 1 + rnd_below(&f->r, 256);
}

static bool bad_dev_reclaim(struct fuzz *f, const void *p)
{
	const struct shadow_mm_reclaim *s = p;

	return (s->flags & ~SHADOW_RECLAIM_AGE) || s->addr || s->len;
}

static void fill_msync(struct fuzz *f, void *p)
{
	struct shadow_mm_msync *s = p;

	/* msync(2)'s flags where ABI version 1 had them: refused. */
	s->flags = one_in(&f->r, 8) ? pick_flags(f, MS_SYNC) : 0;
	s->addr = pick_addr(f);
	s->len = pick_len(f, s->addr);
	s->msync_flags = pick_flags(f, MS_ASYNC | MS_INVALIDATE | MS_SYNC);
	s->__reserved = pick_reserved(f);
}

static bool bad_msync(struct fuzz *f, const void *p)
{
	const struct shadow_mm_msync *s = p;

	return s->flags || s->__reserved ||
	       (s->msync_flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) ||
	       ((s->msync_flags & MS_ASYNC) && (s->msync_flags & MS_SYNC));
}

/*
 * A batch of a few operations, written into the scratch buffer when the
 * array lands there: each one anything from a plausible mmap to an unknown
 * opcode. READ and WRITE move at most 64 bytes, from or to a buffer of any
 * kind, so that a good one never runs past the scratch buffer.
 */
static void fill_batch(struct fuzz *f, void *p)
{
	struct shadow_mm_batch *s = p;
	struct shadow_mm_batch_op *op;
	__u32 i, stride;

	s->flags = pick_flags(f, SHADOW_BATCH_CONTINUE);
	s->op_size = pick_rec_size(f, SHADOW_BATCH_OP_SIZE_VER0, true);
	stride = rec_bytes(s->op_size, SHADOW_BATCH_OP_SIZE_VER0);
	s->nr_ops = one_in(&f->r, 16) ?
		    SHADOW_BATCH_MAX_OPS + 1 + rnd_below(&f->r, 2) :
		    rnd_below(&f->r, 9);
	s->ops = pick_buf(f, (__u64)s->nr_ops * stride);
	s->out_done = rnd(&f->r);
	if ((f->bufkind != PTR_GOOD && f->bufkind != PTR_TIGHT) ||
	    (__u64)s->nr_ops * stride > SCRATCH_BYTES)
		return;
	for (i = 0; i < s->nr_ops; i++) {
		op = (struct shadow_mm_batch_op *)(uintptr_t)(s->ops +
							      i * stride);
		memset(op, 0, stride);
		/* Past the kernel's struct: zero, or an -E2BIG op. */
		if (stride > sizeof(*op) && one_in(&f->r, 16))
			((char *)op)[stride - 1] = 1;
		op->op = rnd_below(&f->r, SHADOW_BATCH_WRITE + 2);
		op->flags = one_in(&f->r, 4) ? (__u32)rnd(&f->r) : 0;
		op->addr = pick_addr(f);
		op->len = pick_len(f, op->addr);
		op->prot = rnd_below(&f->r, 8);
		op->map_flags = MAP_PRIVATE | MAP_ANONYMOUS |
				(one_in(&f->r, 2) ? MAP_FIXED : 0);
		op->advice = one_in(&f->r, 2) ? MADV_DONTNEED : MADV_NORMAL;
		if (op->op == SHADOW_BATCH_READ || op->op == SHADOW_BATCH_WRITE) {
			op->len = rnd_below(&f->r, 65);
			op->buf = kind_ptr(f, rnd_below(&f->r, NR_PTR_KINDS),
					   op->len);
		}
		if (one_in(&f->r, 16))
			op->__reserved2 = rnd(&f->r);
	}
}

static bool bad_batch(struct fuzz *f, const void *p)
{
	const struct shadow_mm_batch *s = p;

	return (s->flags & ~SHADOW_BATCH_CONTINUE) ||
	       !rec_size_ok(s->op_size, SHADOW_BATCH_OP_SIZE_VER0);
}

#define EF	ES(EFAULT)
#define EI	ES(EINVAL)
#define EM	ES(ENOMEM)

/* SHADOW_DEV_RECLAIM, under the name CMD() makes of the command's. */
#define SHADOW_MM_DEV_RECLAIM	SHADOW_DEV_RECLAIM

#define CMD(w, n, st, min, dev, resp, errs, fill, bad)			\
	{ w, #n, SHADOW_MM_CMD_##n, SHADOW_MM_##n, sizeof(struct st), min, \
	  dev, resp, errs, fill, bad }
#define FULL(st)	sizeof(struct st)

static const struct cmd cmds[] = {
	/* The first version of the handshake ended at out_ioctls. */
	CMD(2, API, shadow_mm_api, offsetof(struct shadow_mm_api, out_rules),
	    true, true, 0, fill_api, bad_api),
	CMD(2, CREATE, shadow_mm_create, FULL(shadow_mm_create), true, true,
	    EI | EM, fill_create, bad_create),
	/* The first version of mmap ended at out_addr. */
	CMD(8, MMAP, shadow_mm_mmap,
	    offsetof(struct shadow_mm_mmap, start_stack), false, true,
	    EI | EM | ES(EEXIST) | ES(EPERM) | ES(EOPNOTSUPP) | ES(EBADF) |
	    ES(EAGAIN) | ES(EACCES) | ES(ENODEV) | ES(EOVERFLOW),
	    fill_mmap, bad_mmap),
	CMD(4, MUNMAP, shadow_mm_munmap, FULL(shadow_mm_munmap), false, false,
	    EI | EM, fill_munmap, bad_flags_only),
	CMD(1, EXIT, shadow_mm_exit, FULL(shadow_mm_exit), false, false, 0,
	    fill_exit, bad_flags_only),
	/* The first versions of these ended before their record size. */
	CMD(3, GET_VMAS, shadow_mm_get_vmas,
	    offsetof(struct shadow_mm_get_vmas, rec_size), false, true,
	    EI | EF, fill_get_vmas, bad_get_vmas),
	CMD(2, GET_MAPS, shadow_mm_get_maps, FULL(shadow_mm_get_maps), false,
	    true, ES(ENOSPC) | EM | EF, fill_get_maps, bad_flags_only),
	/* The first version of the stats ended at out_task_size. */
	CMD(2, GET_STATS, shadow_mm_stats,
	    offsetof(struct shadow_mm_stats, out_rss_anon), false, true,
	    0, fill_get_stats, bad_flags_only),
	/* ... and before out_signal. */
	CMD(6, FAULT, shadow_mm_fault,
	    offsetof(struct shadow_mm_fault, out_signal), false, true,
	    EF | EM, fill_fault, bad_fault),
	CMD(6, ACCESS, shadow_mm_access, FULL(shadow_mm_access), false, true,
	    EF | EM, fill_access, bad_access),
	CMD(4, WALK, shadow_mm_walk,
	    offsetof(struct shadow_mm_walk, rec_size), false, false,
	    EI | EM | EF, fill_walk, bad_walk),
	CMD(2, FORK, shadow_mm_fork, FULL(shadow_mm_fork), false, true, EM,
	    fill_fork, bad_fork),
	CMD(4, MADVISE, shadow_mm_madvise, FULL(shadow_mm_madvise), false,
	    false, EI | EM | ES(EAGAIN), fill_madvise, bad_madvise),
	CMD(4, MPROTECT, shadow_mm_mprotect, FULL(shadow_mm_mprotect), false,
	    false, EI | EM | ES(EACCES), fill_mprotect, bad_mprotect),
	CMD(3, MLOCK, shadow_mm_mlock, FULL(shadow_mm_mlock), false, false,
	    EI | EM | ES(EAGAIN) | ES(EPERM), fill_mlock, bad_mlock),
	CMD(3, MUNLOCK, shadow_mm_munlock, FULL(shadow_mm_munlock), false,
	    false, EI | EM, fill_munlock, bad_flags_only),
	CMD(1, MLOCKALL, shadow_mm_mlockall, FULL(shadow_mm_mlockall), false,
	    false, EI | EM | ES(EPERM), fill_mlockall, bad_mlockall),
	CMD(1, MUNLOCKALL, shadow_mm_munlockall, FULL(shadow_mm_munlockall),
	    false, false, 0, fill_munlockall, bad_flags_only),
	CMD(4, MREMAP, shadow_mm_mremap, FULL(shadow_mm_mremap), false, true,
	    EI | EM | EF | ES(EAGAIN) | ES(EPERM), fill_mremap, bad_mremap),
	CMD(3, BRK, shadow_mm_brk, FULL(shadow_mm_brk), false, true, EI,
	    fill_brk, bad_brk),
	/* The first version of the reclaim's ended at out_reclaimed. */
	CMD(3, RECLAIM, shadow_mm_reclaim,
	    offsetof(struct shadow_mm_reclaim, out_lazyfreed), false,
	    true, EI, fill_reclaim, bad_reclaim),
	CMD(1, DEV_RECLAIM, shadow_mm_reclaim,
	    offsetof(struct shadow_mm_reclaim, out_lazyfreed), true,
	    true, EI, fill_dev_reclaim, bad_dev_reclaim),
	/* ... and before msync_flags. */
	CMD(2, MSYNC, shadow_mm_msync,
	    offsetof(struct shadow_mm_msync, msync_flags), false, false,
	    EI | EM | ES(EBUSY), fill_msync, bad_msync),
	CMD(3, BATCH, shadow_mm_batch, FULL(shadow_mm_batch), false, true,
	    ES(E2BIG) | EM | EF, fill_batch, bad_batch),
	CMD(1, SET_MM_MAP, shadow_mm_set_mm_map,
	    FULL(shadow_mm_set_mm_map), false, false, EI, fill_set_mm_map,
	    bad_flags_only),
	CMD(1, SET_THP, shadow_mm_thp, FULL(shadow_mm_thp), false, true, 0,
	    fill_set_thp, bad_set_thp),
};

#define NR_CMDS		ARRAY_SIZE(cmds)

/* The command a request means (the kernel keeps its low 32 bits). */
static const struct cmd *find_cmd(unsigned long request)
{
	unsigned int i;

	for (i = 0; i < NR_CMDS; i++)
		if (cmds[i].ioctl == (unsigned int)request)
			return &cmds[i];
	return NULL;
}

/* _IOC types no generic ioctl of the VFS uses ('T', 'X', 'f', 0x94...). */
static const unsigned int safe_types[] = { 0xc6, 0xc8, 0x7f, 0xff };

/* A request derived from @c that is wrong in one way. */
static unsigned long bogus_request(struct fuzz *f, const struct cmd *c)
{
	struct rng *r = &f->r;
	unsigned int nr;

	switch (rnd_below(r, 7)) {
	case 0:
		return _IOC(_IOC_WRITE, SHADOW_MM_TYPE, c->nr, c->size);
	case 1:
		return _IOC(_IOC_READ | _IOC_WRITE, SHADOW_MM_TYPE, c->nr,
			    c->size);
	case 2:
		return _IOC(_IOC_NONE, SHADOW_MM_TYPE, c->nr,
			    1 + rnd_below(r, _IOC_SIZEMASK));
	case 3:
		return _IO(safe_types[RND_IDX(r, safe_types)], c->nr);
	case 4:
		/* Numbers no command has: 0x03-0x0f, 0x23-0xff. */
		nr = rnd_below(r, 2) ? 3 + rnd_below(r, 13) :
				       0x23 + rnd_below(r, 0xdd);
		return _IO(SHADOW_MM_TYPE, nr);
	case 5:
		/* The kernel drops the upper half: this is @c itself. */
		return c->ioctl | (rnd(r) << 32);
	default:
		return ((__u32)rnd(r) & ~(_IOC_TYPEMASK << _IOC_TYPESHIFT)) |
		       ((one_in(r, 2) ? SHADOW_MM_TYPE : safe_types[RND_IDX(r, safe_types)])
			<< _IOC_TYPESHIFT);
	}
}

static const __u32 size_edges[] = { 0, 4, 7, 8, 16, PAGE - 1, PAGE,
				    PAGE + 1, 2 * PAGE, 1u << 20, ~0u };

/**
 * struct call - one hostile ioctl
 * @c: the command the request means, or NULL
 * @request: the request
 * @target: the kind of fd it goes to
 * @fd: the fd
 * @slot: the address-space slot, for T_MM
 * @argkind: the kind of struct pointer
 * @arg: the struct pointer
 * @size: the size field of the struct
 * @avail: readable bytes of a straddling struct
 * @tail_nonzero: a non-zero byte lies past the kernel's struct
 */
struct call {
	const struct cmd *c;
	unsigned long request;
	int target, fd, slot, argkind;
	void *arg;
	__u32 size, avail;
	bool tail_nonzero;
};

/*
 * How a call may end: exactly @exact, or success or an errno of @allowed;
 * or only success when @must_pass.
 */
struct verdict {
	int exact;	/* > 0: this errno and nothing else */
	__uint128_t allowed;
	bool must_pass;
	const char *why;
};

static int live_slots(struct fuzz *f)
{
	int i, n = 0;

	for (i = 0; i < MAX_SLOTS; i++)
		n += f->slot[i].fd >= 0 && !f->slot[i].exited;
	return n;
}

static void slot_close(struct fuzz *f, int i)
{
	if (f->slot[i].fd >= 0)
		close(f->slot[i].fd);
	memset(&f->slot[i], 0, sizeof(f->slot[i]));
	f->slot[i].fd = -1;
}

/*
 * Keep a new address-space fd, or close it when every slot is taken. A
 * fork's child starts with its parent's ranges (@from, or -1).
 */
static void slot_add(struct fuzz *f, int fd, int from)
{
	int i;

	for (i = 0; i < MAX_SLOTS; i++) {
		if (f->slot[i].fd < 0) {
			if (from >= 0)
				f->slot[i] = f->slot[from];
			else
				memset(&f->slot[i], 0, sizeof(f->slot[i]));
			f->slot[i].fd = fd;
			f->slot[i].exited = false;
			return;
		}
	}
	close(fd);
}

/* A new mapping the space has: sane calls will aim at it. */
static void slot_remember(struct slot *s, __u64 addr, __u64 len)
{
	unsigned int i = s->nr_ranges++ % SLOT_RANGES;

	s->range[i][0] = addr;
	s->range[i][1] = (len + PAGE - 1) / PAGE;
}

/* A number no fd has now: fds are reused, so check each time. */
static int closed_fd(struct fuzz *f)
{
	if (fcntl(f->closed_fd, F_GETFD) == -1 && errno == EBADF)
		return f->closed_fd;
	f->closed_fd = dup(0);
	close(f->closed_fd);
	return f->closed_fd;
}

/* Pick where the call goes: mostly the right kind of fd. */
static void pick_target(struct fuzz *f, struct call *k)
{
	struct rng *r = &f->r;
	bool dev_cmd = k->c ? k->c->dev : one_in(r, 2);
	int i;

	if (!f->sane && !rnd_below(r, 8))
		k->target = rnd_below(r, NR_TARGETS);
	else if (dev_cmd)
		k->target = one_in(r, 5) ? T_DEV_NEW : T_DEV;
	else
		k->target = T_MM;

	k->slot = -1;
	f->cur = -1;
	switch (k->target) {
	case T_DEV:
		k->fd = f->dev;
		break;
	case T_DEV_NEW:
		k->fd = f->dev_new;
		break;
	case T_MM:
		/* A random used slot; there is always a live one. */
		do {
			i = rnd_below(r, MAX_SLOTS);
		} while (f->slot[i].fd < 0);
		k->slot = i;
		f->cur = i;
		k->fd = f->slot[i].fd;
		break;
	case T_NULL:
		k->fd = f->null_fd;
		break;
	case T_PIPE:
		k->fd = f->pipe_fd[rnd_below(r, 2)];
		break;
	default:
		k->fd = closed_fd(f);
	}
}

/*
 * Build the struct in f->raw (the command's fields, then the size and a
 * tail), and place it where the pointer kind says.
 */
static void build_arg(struct fuzz *f, struct call *k,
		      const struct cmd *like)
{
	struct rng *r = &f->r;
	unsigned int ksize = like->size;
	unsigned int room, i;
	char *raw = (char *)f->raw;

	memset(f->raw, 0, sizeof(f->raw));
	f->bufkind = -1;
	like->fill(f, raw);

	switch (f->sane ? 15 : rnd_below(r, 16)) {
	case 0:
		k->size = size_edges[RND_IDX(r, size_edges)];
		break;
	case 1:
		k->size = like->min_size - 1;
		break;
	case 2:
		k->size = like->min_size;
		break;
	case 3:
	case 4:
		k->size = ksize + 8 * (1 + rnd_below(r, 8));
		break;
	case 5:
		k->size = ksize + 1 + rnd_below(r, PAGE - ksize);
		break;
	default:
		k->size = ksize;
	}
	((__u32 *)raw)[0] = k->size;

	/* A larger struct's tail: zero, or a non-zero byte somewhere. */
	k->tail_nonzero = false;
	room = min_u64(k->size, (__u32)sizeof(f->raw));
	if (room > ksize && !f->sane && one_in(r, 2)) {
		raw[ksize + rnd_below(r, room - ksize)] =
			1 + rnd_below(r, 255);
		k->tail_nonzero = true;
	}

	switch (f->sane ? 31 : rnd_below(r, 32)) {
	case 0:
		k->argkind = PTR_RO;
		break;
	case 1:
	case 2:
		k->argkind = PTR_STRADDLE;
		break;
	case 3 ... 5:
		k->argkind = PTR_NULL + rnd_below(r, NR_PTR_KINDS - PTR_NULL);
		break;
	default:
		k->argkind = PTR_GOOD;
	}

	switch (k->argkind) {
	case PTR_GOOD:
		k->arg = f->argarea;
		memcpy(k->arg, raw, 2 * PAGE);
		break;
	case PTR_RO:
		/* A size above a page fails before the struct is read. */
		mprotect(f->roarg, PAGE, PROT_READ | PROT_WRITE);
		memcpy(f->roarg, raw, PAGE);
		mprotect(f->roarg, PAGE, PROT_READ);
		k->arg = f->roarg;
		break;
	case PTR_STRADDLE:
		/* Only the first @avail bytes are readable. */
		k->avail = 1 + rnd_below(r, ksize + 16);
		k->arg = f->argarea + 2 * PAGE - k->avail;
		memcpy(k->arg, raw, k->avail);
		/* Whether the bytes beyond were zero no longer matters. */
		for (i = 0; i < k->avail && k->tail_nonzero; i++)
			if (i >= ksize && raw[i])
				break;
		k->tail_nonzero = i < k->avail && k->tail_nonzero;
		break;
	default:
		k->arg = (void *)(uintptr_t)kind_ptr(f, k->argkind, 0);
	}
}

/* The kernel's view of the struct: @size bytes, zero-extended. */
static void kernel_view(struct fuzz *f, const struct call *k, void *view)
{
	memset(view, 0, PAGE);
	memcpy(view, f->raw, min_u64(k->size, k->c->size));
}

static __u64 page_align(__u64 len)
{
	return (len + PAGE - 1) & ~(PAGE - 1);
}

/* do_munmap()'s checks; past them only a failed split may fail. */
static struct verdict judge_munmap(const struct shadow_mm_munmap *m,
				   struct verdict v)
{
	if ((m->addr & (PAGE - 1)) || m->addr > SHADOW_TASK_SIZE ||
	    m->len > SHADOW_TASK_SIZE - m->addr || !page_align(m->len))
		return (struct verdict){ .exact = EINVAL, .why = "bad range" };
	v.allowed = EM;
	return v;
}

/* do_madvise()'s checks, for the advice the module has modelled longest. */
static struct verdict judge_madvise(const struct shadow_mm_madvise *m,
				    struct verdict v)
{
	__u64 len = page_align(m->len);

	if (m->advice != MADV_DONTFORK && m->advice != MADV_DOFORK &&
	    m->advice != MADV_WIPEONFORK && m->advice != MADV_KEEPONFORK &&
	    m->advice != MADV_FREE)
		return v;
	if ((m->addr & (PAGE - 1)) || (m->len && !len) ||
	    m->addr + len < m->addr)
		return (struct verdict){ .exact = EINVAL, .why = "bad range" };
	if (!len) {
		v.must_pass = true;
		v.why = "empty range";
	}
	return v;
}

/*
 * The range checks of SHADOW_MM_RECLAIM (madvise's): an unaligned start
 * or a range that wraps is EINVAL, anything else a reclaim.
 */
static struct verdict judge_reclaim(const struct shadow_mm_reclaim *m,
				    struct verdict v)
{
	__u64 len = page_align(m->len);

	if ((m->addr & (PAGE - 1)) || (m->len && !len) ||
	    m->addr + len < m->addr)
		return (struct verdict){ .exact = EINVAL, .why = "bad range" };
	return v;
}

/* What the call may return, from everything the fuzzer knows. */
static struct verdict judge(struct fuzz *f, const struct call *k)
{
	const struct cmd *c = k->c;
	struct verdict v = { 0 };
	__u64 view[PAGE / 8];
	bool dev = k->target == T_DEV || k->target == T_DEV_NEW;

	if (k->target == T_CLOSED)
		return (struct verdict){ .exact = EBADF, .why = "closed fd" };
	if (k->target == T_NULL || k->target == T_PIPE)
		return (struct verdict){ .exact = ENOTTY, .why = "not a shadow_mm fd" };
	if (!c || c->dev != dev)
		return (struct verdict){ .exact = ENOTTY, .why = "no such command here" };
	if (!(f->ioctls & (1ULL << c->nr)))
		return (struct verdict){ .exact = ENOTTY, .why = "not implemented" };
	if (k->argkind >= PTR_NULL)
		return (struct verdict){ .exact = EFAULT, .why = "bad struct pointer" };
	if (k->argkind == PTR_STRADDLE && k->avail < 4)
		return (struct verdict){ .exact = EFAULT, .why = "size unreadable" };
	if (k->size < c->min_size)
		return (struct verdict){ .exact = EINVAL, .why = "size below minimum" };
	if (k->size > PAGE)
		return (struct verdict){ .exact = E2BIG, .why = "size above a page" };
	if (k->argkind == PTR_STRADDLE && k->size > k->avail)
		return (struct verdict){
			.allowed = EF | (k->tail_nonzero ? ES(E2BIG) : 0),
			.why = "struct runs into a guard page",
		};
	if (k->size > c->size && k->tail_nonzero)
		return (struct verdict){ .exact = E2BIG, .why = "non-zero tail" };
	if (!dev && f->slot[k->slot].exited)
		return (struct verdict){ .exact = ESRCH, .why = "exited" };
	if (c->dev && c->nr != SHADOW_MM_CMD_API && k->target == T_DEV_NEW)
		return (struct verdict){ .exact = EPERM, .why = "no handshake" };
	kernel_view(f, k, view);
	if (c->bad_flags(f, view))
		return (struct verdict){ .exact = EINVAL, .why = "bad flags or reserved" };

	v.allowed = c->errs;
	if (k->argkind == PTR_RO && c->responds)
		v.allowed |= EF;
	v.why = "handler";
	/*
	 * munmap(2) and madvise(2) check their arguments before looking
	 * at the layout: those answers are known.
	 */
	if (c->nr == SHADOW_MM_CMD_MUNMAP)
		return judge_munmap((void *)view, v);
	if (c->nr == SHADOW_MM_CMD_MADVISE)
		return judge_madvise((void *)view, v);
	if (c->nr == SHADOW_MM_CMD_RECLAIM)
		return judge_reclaim((void *)view, v);

	/* Touching or moving nothing cannot fail. */
	if (k->argkind != PTR_RO &&
	    ((c->nr == SHADOW_MM_CMD_FAULT &&
	      !((struct shadow_mm_fault *)view)->len) ||
	     (c->nr == SHADOW_MM_CMD_ACCESS &&
	      !((struct shadow_mm_access *)view)->len))) {
		v.must_pass = true;
		v.why = "empty range";
	}
	/* brk(2) never fails: a refused break leaves the old one. */
	if (k->argkind != PTR_RO && c->nr == SHADOW_MM_CMD_BRK &&
	    !((struct shadow_mm_brk *)view)->flags) {
		v.must_pass = true;
		v.why = "brk without flags";
	}
	return v;
}

static void describe(struct fuzz *f, const struct call *k, int ret, int err,
		     const struct verdict *v)
{
	char e1[24], e2[24], set[256];
	size_t n, i, words = k->c ? min_u64(k->size, k->c->size) / 8 : 4;

	n = snprintf(f->desc, sizeof(f->desc),
		     "seed %llu call %lu: %s (request %#lx) to %s fd %d",
		     (unsigned long long)fuzz_seed, f->calls,
		     k->c ? k->c->name : "bogus", k->request,
		     target_names[k->target], k->fd);
	if (k->slot >= 0)
		n += snprintf(f->desc + n, sizeof(f->desc) - n, " (slot %d%s)",
			      k->slot, f->slot[k->slot].exited ?
			      ", exited" : "");
	n += snprintf(f->desc + n, sizeof(f->desc) - n,
		      "; struct %s %p size %u", ptr_names[k->argkind], k->arg,
		      k->size);
	if (k->argkind == PTR_STRADDLE)
		n += snprintf(f->desc + n, sizeof(f->desc) - n,
			      " (%u readable)", k->avail);
	if (f->bufkind >= 0)
		n += snprintf(f->desc + n, sizeof(f->desc) - n, "; buffer %s",
			      ptr_names[f->bufkind]);
	n += snprintf(f->desc + n, sizeof(f->desc) - n, "; words");
	for (i = 0; i < words && n < sizeof(f->desc); i++)
		n += snprintf(f->desc + n, sizeof(f->desc) - n, " %#llx",
			      (unsigned long long)f->raw[i]);
	if (n < sizeof(f->desc))
		snprintf(f->desc + n, sizeof(f->desc) - n,
			 " -> ret %d %s; expected %s (%s)", ret,
			 errname(err, e1, sizeof(e1)),
			 v->exact ? errname(v->exact, e2, sizeof(e2)) :
			 v->must_pass ? "success" :
				    eset_str(v->allowed, set, sizeof(set)),
			 v->why);
}

static void fail(struct fuzz *f, const struct call *k, int ret, int err,
		 const struct verdict *v, const char *what, __u64 index)
{
	struct __test_metadata *_metadata = f->_metadata;

	if (f->failures++ < MAX_REPORTS) {
		describe(f, k, ret, err, v);
		TH_LOG("%s (%llu): %s", what, (unsigned long long)index,
		       f->desc);
		if (f->failures == 1)
			snprintf(f->first, sizeof(f->first), "%s (%llu): %s",
				 what, (unsigned long long)index, f->desc);
	}
}

/*
 * A reclaim's counters: the pages freed are the private, shared and
 * lazyfree ones (MADV_FREE, MAP_DROPPABLE); skipped (referenced, locked)
 * and freed pages are pages it looked at; no more freed than asked for;
 * aging unmaps, writes and frees nothing. With @alone (no other thread at
 * work), each page freed had a PTE cleared.
 */
static bool reclaim_adds_up(const struct shadow_mm_reclaim *r, bool alone)
{
	if (r->out_reclaimed !=
	    r->out_swapped_out + r->out_shmem + r->out_lazyfreed)
		return false;
	if (r->out_referenced + r->out_locked + r->out_reclaimed >
	    r->out_scanned || r->out_written > r->out_scanned)
		return false;
	if (alone && r->out_reclaimed > r->out_unmapped)
		return false;
	if (r->nr_to_reclaim && r->out_reclaimed > r->nr_to_reclaim)
		return false;
	if ((r->flags & SHADOW_RECLAIM_AGE) &&
	    (r->out_unmapped || r->out_written || r->out_reclaimed))
		return false;
	return true;
}

/*
 * What a successful call wrote must make sense: a new mapping lies in the
 * user address space (where MAP_FIXED put it); no more pages are touched
 * or bytes moved than asked for; the maps text is as long as it says; the
 * page walk reports nothing at or above TASK_SIZE (nothing can be there);
 * VMA records lie below it, in order, in the range asked for.
 */
static void check_output(struct fuzz *f, const struct call *k, int ret,
			 const struct verdict *v)
{
	const struct shadow_mm_mmap *mm = k->arg;
	const struct shadow_mm_fault *fl = k->arg;
	const struct shadow_mm_access *ac = k->arg;
	const struct shadow_mm_get_maps *gm = k->arg;
	const struct shadow_mm_walk *w = k->arg;
	const struct shadow_mm_get_vmas *g = k->arg;
	const struct shadow_mm_reclaim *rc = k->arg;
	bool bufs = f->bufkind == PTR_GOOD || f->bufkind == PTR_TIGHT;
	__u64 i, last = 0, end;

	/* Only a whole struct in writable memory holds every output. */
	if (k->argkind != PTR_GOOD || k->size < k->c->size)
		return;
	switch (k->c->nr) {
	case SHADOW_MM_CMD_CREATE:
		if (!((const struct shadow_mm_create *)k->arg)->out_id)
			fail(f, k, ret, 0, v, "no id", 0);
		break;
	case SHADOW_MM_CMD_FORK:
		if (!((const struct shadow_mm_fork *)k->arg)->out_id)
			fail(f, k, ret, 0, v, "no id", 0);
		break;
	case SHADOW_MM_CMD_MMAP:
		end = mm->out_addr + ((mm->len + PAGE - 1) & ~(PAGE - 1));
		if ((mm->out_addr & (PAGE - 1)) || mm->out_addr < 0x10000 ||
		    end > SHADOW_TASK_SIZE || end <= mm->out_addr ||
		    ((mm->map_flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
		     mm->out_addr != mm->addr))
			fail(f, k, ret, 0, v, "a bad mapping address",
			     mm->out_addr);
		break;
	case SHADOW_MM_CMD_FAULT:
		end = (fl->addr + fl->len + PAGE - 1) / PAGE;
		if (fl->out_nr_pages > (fl->len ? end - fl->addr / PAGE : 0))
			fail(f, k, ret, 0, v, "more pages than the range",
			     fl->out_nr_pages);
		if (fl->out_signal || fl->__reserved)
			fail(f, k, ret, 0, v, "a signal on success",
			     fl->out_signal);
		break;
	case SHADOW_MM_CMD_ACCESS:
		if (ac->out_len > ac->len || (ac->len && !ac->out_len))
			fail(f, k, ret, 0, v, "a bad length", ac->out_len);
		break;
	case SHADOW_MM_CMD_GET_MAPS:
		if (gm->out_len > gm->buf_len ||
		    (bufs && gm->out_len &&
		     (memchr((void *)(uintptr_t)gm->buf, 0, gm->out_len) ||
		      ((char *)(uintptr_t)gm->buf)[gm->out_len - 1] != '\n')))
			fail(f, k, ret, 0, v, "bad maps text", gm->out_len);
		break;
	case SHADOW_MM_CMD_WALK:
		for (i = 0; bufs && i < w->nr_pages; i++) {
			const struct shadow_page_info *p = (void *)(uintptr_t)
				(w->pages + i * rec_bytes(w->rec_size,
						SHADOW_PAGE_INFO_SIZE_VER0));

			if (w->addr + i * PAGE < SHADOW_TASK_SIZE)
				continue;
			if (p->flags || p->page_id || p->mapcount) {
				fail(f, k, ret, 0, v,
				     "a page reported beyond TASK_SIZE", i);
				return;
			}
		}
		break;
	case SHADOW_MM_CMD_RECLAIM:
	case SHADOW_MM_CMD_DEV_RECLAIM:
		if (!reclaim_adds_up(rc, true))
			fail(f, k, ret, 0, v, "reclaim counters do not add up",
			     rc->out_reclaimed);
		break;
	case SHADOW_MM_CMD_GET_VMAS:
		for (i = 0; bufs && i < min_u64(g->nr_vmas, g->out_nr_vmas);
		     i++) {
			__u32 stride = rec_bytes(g->rec_size,
						 SHADOW_VMA_INFO_SIZE_VER0);
			const struct shadow_vma_info *p = (void *)(uintptr_t)
				(g->vmas + i * stride);
			const char *pad = (const char *)p + sizeof(*p);

			if (p->start >= p->end || p->start < last ||
			    p->end > SHADOW_TASK_SIZE ||
			    p->end <= g->start || p->start >= g->end ||
			    (stride > sizeof(*p) &&
			     (pad[0] || memcmp(pad, pad + 1,
					       stride - sizeof(*p) - 1)))) {
				fail(f, k, ret, 0, v, "a bad VMA record", i);
				return;
			}
			last = p->end;
		}
		break;
	}
}

/*
 * An argument error of SHADOW_MM_MMAP does not depend on the layout: the
 * real mmap(2) in this process must give the same errno. MAP_FIXED becomes
 * MAP_FIXED_NOREPLACE there, so that nothing of the fuzzer's is replaced;
 * a real mapping made after all is unmapped again.
 */
static void mmap_oracle(struct fuzz *f, const struct call *k, int err,
			const struct verdict *v)
{
	const struct shadow_mm_mmap *m = (const void *)f->raw;
	__u32 flags = m->map_flags;
	void *p;
	int rerr;
	char what[64], e[24];

	/* The kinds of SHADOW_MM_FEATURE_LAYOUT are no mmap(2). */
	if (m->flags)
		return;
	if (flags & MAP_FIXED)
		flags = (flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE;
	/* A real file would be mapped: the module maps no files. */
	if (!(flags & MAP_ANONYMOUS) && m->fd >= 0)
		return;
	p = mmap((void *)(uintptr_t)m->addr, m->len, m->prot, flags, m->fd,
		 m->offset);
	rerr = p == MAP_FAILED ? errno : 0;
	if (p != MAP_FAILED)
		munmap(p, m->len);
	/*
	 * The real process's layout answered first: NOREPLACE met one of its
	 * mappings (the fuzzer's, or the program itself), or the gap search
	 * found no room (ENOMEM). do_mmap() does both before it looks at the
	 * map type, so what the module said next depends on its own layout.
	 */
	if (rerr == EEXIST || rerr == ENOMEM)
		return;
	if (rerr != err) {
		snprintf(what, sizeof(what), "mmap(2) says %s",
			 errname(rerr, e, sizeof(e)));
		fail(f, k, -1, err, v, what, 0);
	}
}

/* A command, by the weights of the table. */
static const struct cmd *pick_cmd(struct fuzz *f)
{
	unsigned int i, total = 0, n;

	for (i = 0; i < NR_CMDS; i++)
		total += cmds[i].weight;
	n = rnd_below(&f->r, total);
	for (i = 0; n >= cmds[i].weight; i++)
		n -= cmds[i].weight;
	return &cmds[i];
}

/* Make one hostile (or sane) call and judge its result. */
static void fuzz_one(struct fuzz *f)
{
	struct rng *r = &f->r;
	const struct cmd *like = pick_cmd(f);
	struct verdict v;
	struct call k = { 0 };
	int ret, err, i;
	double t;

	f->sane = one_in(r, 2);
	k.request = !f->sane && one_in(r, 8) ? bogus_request(f, like) :
					       like->ioctl;
	k.c = find_cmd(k.request);
	pick_target(f, &k);
	build_arg(f, &k, k.c ?: like);
	v = judge(f, &k);

	t = now_s();
	ret = ioctl(k.fd, k.request, k.arg);
	err = ret < 0 ? errno : 0;
	t = now_s() - t;
	f->calls++;
	if (!v.exact && v.allowed != (EF | ES(E2BIG))) {
		i = k.c->nr;
		f->tries[i]++;
		f->passes[i] += ret >= 0;
		f->secs[i] += t;
		if (t > f->slowest[i])
			f->slowest[i] = t;
	}

	if (v.exact) {
		if (err != v.exact)
			fail(f, &k, ret, err, &v, "wrong result", 0);
	} else if (err && v.must_pass) {
		fail(f, &k, ret, err, &v, "an empty range failed", 0);
	} else if (err) {
		__u64 addr = ((struct shadow_mm_mmap *)f->raw)->addr;
		__u32 mflags = ((struct shadow_mm_mmap *)f->raw)->map_flags;
		bool quirk = k.c->nr == SHADOW_MM_CMD_MMAP &&
			     (mflags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
			     addr >= -4095UL && err == (int)-addr;

		if (!eset_has(v.allowed, err) && !quirk)
			fail(f, &k, ret, err, &v, "errno not allowed", 0);
		else if (k.c->nr == SHADOW_MM_CMD_MMAP &&
			 (err == EINVAL || err == EBADF))
			mmap_oracle(f, &k, err, &v);
		/* Too small a buffer: the length the text needs. */
		if (err == ENOSPC && k.argkind == PTR_GOOD &&
		    ((struct shadow_mm_get_maps *)k.arg)->out_len <=
		    ((struct shadow_mm_get_maps *)k.arg)->buf_len)
			fail(f, &k, ret, err, &v, "ENOSPC with room", 0);
	} else if (k.c->nr == SHADOW_MM_CMD_CREATE ||
		   k.c->nr == SHADOW_MM_CMD_FORK) {
		if (ret < 3)
			fail(f, &k, ret, err, &v, "not a new fd", 0);
		else
			check_output(f, &k, ret, &v);
	} else if (ret) {
		fail(f, &k, ret, err, &v, "success is not 0", 0);
	} else {
		check_output(f, &k, ret, &v);
	}

	/* What the call changed, even where it should not have. */
	if (ret >= 3 && k.c && (k.c->nr == SHADOW_MM_CMD_CREATE ||
				k.c->nr == SHADOW_MM_CMD_FORK))
		slot_add(f, ret, k.c->nr == SHADOW_MM_CMD_FORK ? k.slot : -1);
	if (ret == 0 && k.c && k.c->nr == SHADOW_MM_CMD_MMAP &&
	    k.slot >= 0 && k.argkind == PTR_GOOD)
		slot_remember(&f->slot[k.slot],
			      ((struct shadow_mm_mmap *)k.arg)->out_addr,
			      ((struct shadow_mm_mmap *)k.arg)->len);
	if (ret == 0 && k.c && k.c->nr == SHADOW_MM_CMD_EXIT &&
	    k.slot >= 0)
		f->slot[k.slot].exited = true;
	if (ret == 0 && k.c && k.c->nr == SHADOW_MM_CMD_API &&
	    k.target == T_DEV_NEW) {
		/* That one has had its handshake now: get a fresh one. */
		close(f->dev_new);
		f->dev_new = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	}
}

/*
 * Between calls: keep two live address spaces, now and then close one, and
 * start over when the module holds too much.
 */
static void fuzz_housekeeping(struct fuzz *f)
{
	struct __test_metadata *_metadata = f->_metadata;
	struct rng *r = &f->r;
	int i, fd;

	if (f->calls % 32 == 0 &&
	    (shadow_counter("pages") > PAGES_HIGH ||
	     shadow_counter("vmas") > VMAS_HIGH)) {
		for (i = 0; i < MAX_SLOTS; i++)
			slot_close(f, i);
		f->reclaims++;
	}
	if (one_in(r, 512)) {
		i = rnd_below(r, MAX_SLOTS);
		slot_close(f, i);
	}
	/* Exited spaces stay a while, to be met with ESRCH. */
	if (one_in(r, 64)) {
		i = rnd_below(r, MAX_SLOTS);
		if (f->slot[i].exited)
			slot_close(f, i);
	}
	while (live_slots(f) < 2) {
		/* Make room: a new fd finds no free slot otherwise. */
		for (i = 0; i < MAX_SLOTS && f->slot[i].fd >= 0; i++)
			;
		if (i == MAX_SLOTS) {
			for (i = 0; !f->slot[i].exited; i++)
				;
			slot_close(f, i);
		}
		fd = _shadow_create(f->dev, 0, NULL);
		ASSERT_LE(0, fd) TH_LOG("seed %llu: create: %d",
					(unsigned long long)fuzz_seed, fd);
		slot_add(f, fd, -1);
	}
}

/* The layout of a live space holds together: records sorted, counts agree. */
static void check_layout(struct __test_metadata *_metadata, int fd)
{
	const __u32 cap = 1 << 16;
	struct shadow_vma_info *v = calloc(cap, sizeof(*v));
	struct shadow_mm_stats st;
	__u64 pages = 0, last = 0;
	__u32 nr, i;

	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, _shadow_get_vmas(fd, 0, -1ULL, v, cap, &nr));
	ASSERT_GE(cap, nr);
	for (i = 0; i < nr; i++) {
		EXPECT_LT(v[i].start, v[i].end);
		EXPECT_LE(last, v[i].start);
		last = v[i].end;
		pages += (v[i].end - v[i].start) / PAGE;
	}
	ASSERT_EQ(0, _shadow_get_stats(fd, &st));
	EXPECT_EQ(nr, st.out_map_count);
	EXPECT_EQ(pages, st.out_total_vm);
	free(v);
}

/* The share of SHADOW_FUZZ_SECONDS each fuzzing test gets. */
static double fuzz_share(void)
{
	return fuzz_seconds / 2.0;
}

/*
 * Random requests with random and edge-case arguments, to every kind of
 * fd: each result is the one the uapi allows for that input.
 */
TEST(hostile_ioctls)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	struct shadow_counts before = shadow_counts();
	__u64 max_calls = env_u64("SHADOW_FUZZ_CALLS", -1ULL);
	double deadline = now_s() + fuzz_share();
	struct fuzz *f;
	int i;

	ASSERT_LE(0, before.mms);
	TH_LOG("seed %llu, %.1f s (SHADOW_FUZZ_SEED, SHADOW_FUZZ_SECONDS)",
	       (unsigned long long)fuzz_seed, fuzz_share());
	f = calloc(1, sizeof(*f));
	ASSERT_NE(NULL, f);
	f->_metadata = _metadata;
	rng_seed(&f->r, fuzz_seed);
	ASSERT_EQ(0, fuzz_mem_init(f));
	ASSERT_EQ(0, limit_address_space());

	f->dev = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, f->dev);
	ASSERT_EQ(0, shadow_ioctl(f->dev, SHADOW_MM_API, &api));
	f->ioctls = api.out_ioctls;
	f->features = api.out_features;
	f->droppable = shadow_droppable();
	f->dev_new = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, f->dev_new);
	f->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, f->null_fd);
	ASSERT_EQ(0, pipe2(f->pipe_fd, O_CLOEXEC));
	f->closed_fd = 900;
	for (i = 0; i < MAX_SLOTS; i++)
		f->slot[i].fd = -1;

	while (now_s() < deadline && f->calls < max_calls) {
		fuzz_housekeeping(f);
		fuzz_one(f);
		if (f->dev_new < 0)
			break;
	}

	/* The table first: what failed is then the last thing logged. */
	TH_LOG("seed %llu: %lu calls, %lu failures, %lu restarts",
	       (unsigned long long)fuzz_seed, f->calls, f->failures,
	       f->reclaims);
	for (i = 0; i < (int)NR_CMDS; i++) {
		int nr = cmds[i].nr;

		TH_LOG("%-10s %6lu reached the handler, %6lu succeeded, %.2f s, slowest %.3f s",
		       cmds[i].name, f->tries[nr], f->passes[nr], f->secs[nr],
		       f->slowest[nr]);
	}
	for (i = 0; i < MAX_SLOTS; i++) {
		if (f->slot[i].fd >= 0 && !f->slot[i].exited)
			check_layout(_metadata, f->slot[i].fd);
		slot_close(f, i);
	}
	ASSERT_LE(0, f->dev_new);
	close(f->dev_new);
	close(f->dev);
	close(f->null_fd);
	close(f->pipe_fd[0]);
	close(f->pipe_fd[1]);
	if (f->failures)
		TH_LOG("%lu failures, the first: %s", f->failures, f->first);
	EXPECT_EQ(0, f->failures);
	shadow_expect_counts(_metadata, before);
	munmap(f->mem, MEM_PAGES * PAGE);
	free(f);
}

/* concurrent_ops: threads on shared address spaces. */
#define C_THREADS	6
#define C_SPACES	4
#define C_SLOTS		12
/* Each space's mappings mostly stay in a 16 MiB window. */
#define C_WIN_PAGES	4096UL
#define C_MAPS_BUF	(256UL << 10)

/**
 * struct cslot - an address-space fd the threads share
 * @fd: the fd, or -1 when the slot is free
 * @users: threads using the fd now: it stays open (and its number is not
 *         reused) until they are done
 * @closing: close the fd when the last user is done
 * @exiting: SHADOW_MM_EXIT has been issued on it: ESRCH may come
 * @exited: and has returned: every later call must get ESRCH
 * @exits: successful exits: at most one
 */
struct cslot {
	int fd, users;
	bool closing, exiting, exited;
	int exits;
};

/**
 * struct conc - the state concurrent_ops shares between its threads
 * @lock: protects @slot and @failures
 * @slot: the address-space fds
 * @dev: the device, after the handshake
 * @ioctls: SHADOW_MM_API's out_ioctls
 * @deadline: when the threads stop
 * @failures: calls with a result they may not have
 */
struct conc {
	pthread_mutex_t lock;
	struct cslot slot[C_SLOTS];
	int dev;
	__u64 ioctls;
	double deadline;
	long failures;
};

struct worker {
	struct __test_metadata *_metadata;
	struct conc *c;
	struct rng r;
	int id;
	long calls;
	char *maps;
};

static int cslot_live(struct conc *c)
{
	int i, n = 0;

	for (i = 0; i < C_SLOTS; i++)
		n += c->slot[i].fd >= 0 && !c->slot[i].closing &&
		     !c->slot[i].exiting;
	return n;
}

/* Take a random slot for a call; -1 when there is none. */
static int cslot_get(struct worker *w, bool *exited)
{
	struct conc *c = w->c;
	int n, i, start = rnd_below(&w->r, C_SLOTS);

	pthread_mutex_lock(&c->lock);
	for (n = 0; n < C_SLOTS; n++) {
		i = (start + n) % C_SLOTS;
		if (c->slot[i].fd >= 0 && !c->slot[i].closing) {
			c->slot[i].users++;
			*exited = c->slot[i].exited;
			pthread_mutex_unlock(&c->lock);
			return i;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return -1;
}

/* Done with a slot; the last user of a closing slot closes it. */
static void cslot_put(struct conc *c, int i)
{
	int fd = -1;

	pthread_mutex_lock(&c->lock);
	if (!--c->slot[i].users && c->slot[i].closing) {
		fd = c->slot[i].fd;
		memset(&c->slot[i], 0, sizeof(c->slot[i]));
		c->slot[i].fd = -1;
	}
	pthread_mutex_unlock(&c->lock);
	if (fd >= 0)
		close(fd);
}

/* A new fd: into a free slot, or closed when there is none. */
static void cslot_add(struct conc *c, int fd)
{
	int i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < C_SLOTS; i++) {
		if (c->slot[i].fd < 0) {
			memset(&c->slot[i], 0, sizeof(c->slot[i]));
			c->slot[i].fd = fd;
			pthread_mutex_unlock(&c->lock);
			return;
		}
	}
	pthread_mutex_unlock(&c->lock);
	close(fd);
}

static void cfail(struct worker *w, const char *fmt, ...)
{
	struct conc *c = w->c;
	char msg[512];
	va_list ap;
	long n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&c->lock);
	n = c->failures++;
	pthread_mutex_unlock(&c->lock);
	if (n < MAX_REPORTS)
		fprintf(TH_LOG_STREAM, "# seed %llu thread %d call %ld: %s\n",
			(unsigned long long)fuzz_seed, w->id, w->calls, msg);
}

/*
 * Judge the result @err of command @nr on slot @i, which had exited
 * before the call when @exited. @args describes the call.
 */
static void ccheck(struct worker *w, int i, bool exited, unsigned int nr,
		   int err, __uint128_t allowed, const char *args)
{
	struct conc *c = w->c;
	char e1[24], set[256];
	bool ok, exiting;

	pthread_mutex_lock(&c->lock);
	exiting = c->slot[i].exiting;
	pthread_mutex_unlock(&c->lock);

	if (!(c->ioctls & (1ULL << nr)))
		ok = err == ENOTTY;
	else if (exited)
		ok = err == ESRCH;
	else if (err == ESRCH)
		ok = exiting;
	else
		ok = !err || eset_has(allowed, err);
	if (!ok)
		cfail(w, "%s on slot %d%s -> %s; allowed 0 or %s", args, i,
		      exited ? " (exited)" : "", errname(err, e1, sizeof(e1)),
		      eset_str(allowed, set, sizeof(set)));
}

static __u64 cwin(struct worker *w, __u64 pages)
{
	return WIN_BASE + rnd_below(&w->r, C_WIN_PAGES - pages) * PAGE;
}

static int cioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? errno : 0;
}

enum {
	C_MMAP, C_MUNMAP, C_FAULT, C_ACCESS, C_WALK, C_VMAS, C_MAPS, C_STATS,
	C_FORK, C_MADVISE, C_MPROTECT, C_MLOCK, C_MUNLOCK, C_MLOCKALL,
	C_MUNLOCKALL, C_MREMAP, C_BRK, C_EXIT, C_CLOSE, C_CREATE, C_RECLAIM,
	C_DEV_RECLAIM,
};

/* The mix of operations: the common ones appear several times. */
static const unsigned char c_mix[] = {
	C_MMAP, C_MMAP, C_MMAP, C_MMAP, C_MMAP, C_MUNMAP, C_MUNMAP, C_MUNMAP,
	C_FAULT, C_FAULT, C_FAULT, C_FAULT, C_ACCESS, C_ACCESS, C_ACCESS,
	C_ACCESS, C_WALK, C_WALK, C_VMAS, C_MAPS, C_STATS, C_FORK, C_MADVISE,
	C_MADVISE, C_MPROTECT, C_MPROTECT, C_MLOCK, C_MUNLOCK, C_MREMAP,
	C_MREMAP, C_BRK, C_MLOCKALL, C_MUNLOCKALL, C_EXIT, C_CLOSE, C_CREATE,
	C_RECLAIM, C_RECLAIM, C_RECLAIM, C_DEV_RECLAIM,
};

static const __u32 c_prots[] = {
	PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
	PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC, PROT_NONE,
};

static const __u32 c_fault_flags[] = {
	0, SHADOW_FAULT_WRITE, SHADOW_FAULT_WRITE, SHADOW_FAULT_EXEC,
};

static const int c_advice[] = {
	MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
	MADV_COLD, MADV_PAGEOUT, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
};

static const __u32 c_mcl[] = {
	MCL_CURRENT, MCL_FUTURE, MCL_CURRENT | MCL_FUTURE,
	MCL_CURRENT | MCL_ONFAULT, MCL_FUTURE | MCL_ONFAULT,
};

static const __u32 c_mremap[] = {
	0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED,
	MREMAP_MAYMOVE | MREMAP_FIXED, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
};

/* One valid operation on a random slot (or on the set of slots). */
static void c_one(struct worker *w)
{
	struct conc *c = w->c;
	struct rng *r = &w->r;
	int op = c_mix[RND_IDX(r, c_mix)], i, fd, err;
	union {
		struct shadow_mm_mmap mmap;
		struct shadow_mm_munmap munmap;
		struct shadow_mm_fault fault;
		struct shadow_mm_access access;
		struct shadow_mm_walk walk;
		struct shadow_mm_get_vmas vmas;
		struct shadow_mm_get_maps maps;
		struct shadow_mm_stats stats;
		struct shadow_mm_fork fork;
		struct shadow_mm_madvise madvise;
		struct shadow_mm_mprotect mprotect;
		struct shadow_mm_mlock mlock;
		struct shadow_mm_munlock munlock;
		struct shadow_mm_mlockall mlockall;
		struct shadow_mm_munlockall munlockall;
		struct shadow_mm_mremap mremap;
		struct shadow_mm_brk brk;
		struct shadow_mm_exit exit;
		struct shadow_mm_reclaim reclaim;
	} u;
	struct shadow_vma_info vmas[64];
	struct shadow_page_info pages[64];
	char buf[2 * PAGE], args[160];
	__u64 n, addr;
	bool exited, was;

	memset(&u, 0, sizeof(u));
	w->calls++;

	if (op == C_CREATE) {
		fd = _shadow_create(c->dev, 0, NULL);
		if (fd >= 0)
			cslot_add(c, fd);
		else if (fd != -ENOMEM)
			cfail(w, "create -> %d", fd);
		return;
	}
	if (op == C_DEV_RECLAIM) {
		/* Every space, a bounded number of pages. */
		u.reclaim.size = sizeof(u.reclaim);
		u.reclaim.flags = one_in(r, 3) ? SHADOW_RECLAIM_AGE : 0;
		u.reclaim.nr_to_reclaim = 1 + rnd_below(r, 128);
		err = cioctl(c->dev, SHADOW_DEV_RECLAIM, &u.reclaim);
		if (!(c->ioctls & (1ULL << SHADOW_MM_CMD_DEV_RECLAIM)) ?
		    err != ENOTTY : err != 0)
			cfail(w, "DEV_RECLAIM(flags %#x, %llu) -> %d",
			      u.reclaim.flags,
			      (unsigned long long)u.reclaim.nr_to_reclaim, err);
		else if (!err && !reclaim_adds_up(&u.reclaim, false))
			cfail(w, "DEV_RECLAIM: counters do not add up");
		return;
	}
	i = cslot_get(w, &exited);
	if (i < 0)
		return;
	pthread_mutex_lock(&c->lock);
	fd = c->slot[i].fd;
	pthread_mutex_unlock(&c->lock);

	switch (op) {
	case C_MMAP:
		n = 1 + rnd_below(r, 16);
		u.mmap.size = sizeof(u.mmap);
		u.mmap.addr = cwin(w, n);
		u.mmap.len = n * PAGE;
		u.mmap.prot = c_prots[RND_IDX(r, c_prots)];
		u.mmap.map_flags = MAP_ANONYMOUS |
				   (one_in(r, 3) ? MAP_SHARED : MAP_PRIVATE);
		u.mmap.map_flags |= one_in(r, 8) ? MAP_FIXED_NOREPLACE :
				    one_in(r, 6) ? 0 : MAP_FIXED;
		if (one_in(r, 16) && (u.mmap.map_flags & MAP_PRIVATE))
			u.mmap.map_flags |= MAP_GROWSDOWN;
		if (one_in(r, 8))
			u.mmap.map_flags |= MAP_NORESERVE;
		if (one_in(r, 16))
			u.mmap.map_flags |= MAP_POPULATE;
		if (one_in(r, 32))
			u.mmap.map_flags |= MAP_LOCKED;
		u.mmap.fd = -1;
		snprintf(args, sizeof(args),
			 "MMAP(%#llx, %#llx, prot %#x, flags %#x)",
			 u.mmap.addr, u.mmap.len, u.mmap.prot,
			 u.mmap.map_flags);
		err = cioctl(fd, SHADOW_MM_MMAP, &u.mmap);
		ccheck(w, i, exited, SHADOW_MM_CMD_MMAP, err,
		       EM | ES(EEXIST) | ES(EAGAIN), args);
		break;
	case C_MUNMAP:
		n = 1 + rnd_below(r, 32);
		u.munmap.size = sizeof(u.munmap);
		u.munmap.addr = cwin(w, n);
		u.munmap.len = n * PAGE;
		snprintf(args, sizeof(args), "MUNMAP(%#llx, %#llx)",
			 u.munmap.addr, u.munmap.len);
		err = cioctl(fd, SHADOW_MM_MUNMAP, &u.munmap);
		ccheck(w, i, exited, SHADOW_MM_CMD_MUNMAP, err, EM, args);
		break;
	case C_FAULT:
		n = 1 + rnd_below(r, 16);
		u.fault.size = sizeof(u.fault);
		u.fault.flags = c_fault_flags[RND_IDX(r, c_fault_flags)];
		u.fault.addr = cwin(w, n);
		u.fault.len = n * PAGE;
		snprintf(args, sizeof(args), "FAULT(%#llx, %#llx, flags %#x)",
			 u.fault.addr, u.fault.len, u.fault.flags);
		err = cioctl(fd, SHADOW_MM_FAULT, &u.fault);
		ccheck(w, i, exited, SHADOW_MM_CMD_FAULT, err, EF | EM, args);
		if (!err && u.fault.out_nr_pages != n)
			cfail(w, "%s: %llu pages", args,
			      (unsigned long long)u.fault.out_nr_pages);
		break;
	case C_ACCESS:
		memset(buf, w->id, sizeof(buf));
		u.access.size = sizeof(u.access);
		u.access.flags = rnd_below(r, 4);
		u.access.addr = cwin(w, 2) + rnd_below(r, PAGE);
		u.access.len = rnd_below(r, PAGE + 1);
		u.access.buf = (uintptr_t)buf;
		snprintf(args, sizeof(args), "ACCESS(%#llx, %#llx, flags %#x)",
			 u.access.addr, u.access.len, u.access.flags);
		err = cioctl(fd, SHADOW_MM_ACCESS, &u.access);
		ccheck(w, i, exited, SHADOW_MM_CMD_ACCESS, err, EF | EM, args);
		if (!err && u.access.out_len > u.access.len)
			cfail(w, "%s: %llu bytes", args,
			      (unsigned long long)u.access.out_len);
		break;
	case C_WALK:
		u.walk.size = sizeof(u.walk);
		u.walk.nr_pages = 1 + rnd_below(r, ARRAY_SIZE(pages));
		u.walk.addr = cwin(w, u.walk.nr_pages);
		u.walk.pages = (uintptr_t)pages;
		snprintf(args, sizeof(args), "WALK(%#llx, %llu)", u.walk.addr,
			 (unsigned long long)u.walk.nr_pages);
		err = cioctl(fd, SHADOW_MM_WALK, &u.walk);
		ccheck(w, i, exited, SHADOW_MM_CMD_WALK, err, EM, args);
		break;
	case C_VMAS:
		u.vmas.size = sizeof(u.vmas);
		u.vmas.start = WIN_BASE;
		u.vmas.end = WIN_BASE + C_WIN_PAGES * PAGE;
		u.vmas.vmas = (uintptr_t)vmas;
		u.vmas.nr_vmas = ARRAY_SIZE(vmas);
		snprintf(args, sizeof(args), "GET_VMAS(window)");
		err = cioctl(fd, SHADOW_MM_GET_VMAS, &u.vmas);
		ccheck(w, i, exited, SHADOW_MM_CMD_GET_VMAS, err, 0, args);
		for (n = 0; !err && n < min_u64(u.vmas.out_nr_vmas, 64u); n++) {
			if (vmas[n].start < vmas[n].end &&
			    (!n || vmas[n - 1].end <= vmas[n].start))
				continue;
			cfail(w, "%s: record %llu is %#llx-%#llx", args,
			      (unsigned long long)n,
			      (unsigned long long)vmas[n].start,
			      (unsigned long long)vmas[n].end);
			break;
		}
		break;
	case C_MAPS:
		u.maps.size = sizeof(u.maps);
		u.maps.buf = (uintptr_t)w->maps;
		u.maps.buf_len = C_MAPS_BUF;
		snprintf(args, sizeof(args), "GET_MAPS");
		err = cioctl(fd, SHADOW_MM_GET_MAPS, &u.maps);
		ccheck(w, i, exited, SHADOW_MM_CMD_GET_MAPS, err,
		       ES(ENOSPC) | EM, args);
		break;
	case C_STATS:
		u.stats.size = sizeof(u.stats);
		snprintf(args, sizeof(args), "GET_STATS");
		err = cioctl(fd, SHADOW_MM_GET_STATS, &u.stats);
		ccheck(w, i, exited, SHADOW_MM_CMD_GET_STATS, err, 0, args);
		break;
	case C_FORK:
		u.fork.size = sizeof(u.fork);
		u.fork.flags = one_in(r, 3) ? SHADOW_FORK_VM : 0;
		snprintf(args, sizeof(args), "FORK(flags %#x)", u.fork.flags);
		fd = ioctl(fd, SHADOW_MM_FORK, &u.fork);
		err = fd < 0 ? errno : 0;
		ccheck(w, i, exited, SHADOW_MM_CMD_FORK, err, EM, args);
		if (fd >= 0)
			cslot_add(c, fd);
		break;
	case C_MADVISE:
		n = 1 + rnd_below(r, 16);
		u.madvise.size = sizeof(u.madvise);
		u.madvise.addr = cwin(w, n);
		u.madvise.len = n * PAGE;
		u.madvise.advice = c_advice[RND_IDX(r, c_advice)];
		snprintf(args, sizeof(args), "MADVISE(%#llx, %#llx, %d)",
			 u.madvise.addr, u.madvise.len, u.madvise.advice);
		err = cioctl(fd, SHADOW_MM_MADVISE, &u.madvise);
		ccheck(w, i, exited, SHADOW_MM_CMD_MADVISE, err,
		       EI | EM | ES(EAGAIN), args);
		break;
	case C_MPROTECT:
		n = 1 + rnd_below(r, 16);
		u.mprotect.size = sizeof(u.mprotect);
		u.mprotect.addr = cwin(w, n);
		u.mprotect.len = n * PAGE;
		u.mprotect.prot = c_prots[RND_IDX(r, c_prots)];
		snprintf(args, sizeof(args), "MPROTECT(%#llx, %#llx, %#x)",
			 u.mprotect.addr, u.mprotect.len, u.mprotect.prot);
		err = cioctl(fd, SHADOW_MM_MPROTECT, &u.mprotect);
		ccheck(w, i, exited, SHADOW_MM_CMD_MPROTECT, err,
		       EM | ES(EACCES), args);
		break;
	case C_MLOCK:
		n = 1 + rnd_below(r, 16);
		u.mlock.size = sizeof(u.mlock);
		u.mlock.addr = cwin(w, n);
		u.mlock.len = n * PAGE;
		u.mlock.mlock_flags = one_in(r, 2) ? MLOCK_ONFAULT : 0;
		snprintf(args, sizeof(args), "MLOCK(%#llx, %#llx, %#x)",
			 u.mlock.addr, u.mlock.len, u.mlock.mlock_flags);
		err = cioctl(fd, SHADOW_MM_MLOCK, &u.mlock);
		ccheck(w, i, exited, SHADOW_MM_CMD_MLOCK, err,
		       EM | ES(EAGAIN) | ES(EPERM), args);
		break;
	case C_MUNLOCK:
		n = 1 + rnd_below(r, 16);
		u.munlock.size = sizeof(u.munlock);
		u.munlock.addr = cwin(w, n);
		u.munlock.len = n * PAGE;
		snprintf(args, sizeof(args), "MUNLOCK(%#llx, %#llx)",
			 u.munlock.addr, u.munlock.len);
		err = cioctl(fd, SHADOW_MM_MUNLOCK, &u.munlock);
		ccheck(w, i, exited, SHADOW_MM_CMD_MUNLOCK, err, EM, args);
		break;
	case C_MLOCKALL:
		u.mlockall.size = sizeof(u.mlockall);
		u.mlockall.mcl_flags = c_mcl[RND_IDX(r, c_mcl)];
		snprintf(args, sizeof(args), "MLOCKALL(%#x)",
			 u.mlockall.mcl_flags);
		err = cioctl(fd, SHADOW_MM_MLOCKALL, &u.mlockall);
		ccheck(w, i, exited, SHADOW_MM_CMD_MLOCKALL, err,
		       EM | ES(EPERM), args);
		break;
	case C_MUNLOCKALL:
		u.munlockall.size = sizeof(u.munlockall);
		snprintf(args, sizeof(args), "MUNLOCKALL");
		err = cioctl(fd, SHADOW_MM_MUNLOCKALL, &u.munlockall);
		ccheck(w, i, exited, SHADOW_MM_CMD_MUNLOCKALL, err, 0, args);
		break;
	case C_MREMAP:
		n = 1 + rnd_below(r, 8);
		u.mremap.size = sizeof(u.mremap);
		u.mremap.old_addr = cwin(w, n);
		u.mremap.old_len = n * PAGE;
		u.mremap.new_len = (1 + rnd_below(r, 16)) * PAGE;
		u.mremap.mremap_flags = c_mremap[RND_IDX(r, c_mremap)];
		if (u.mremap.mremap_flags & MREMAP_FIXED)
			u.mremap.new_addr = cwin(w, u.mremap.new_len / PAGE);
		snprintf(args, sizeof(args),
			 "MREMAP(%#llx, %#llx, %#llx, %#llx, flags %#x)",
			 u.mremap.old_addr, u.mremap.old_len, u.mremap.new_len,
			 u.mremap.new_addr, u.mremap.mremap_flags);
		err = cioctl(fd, SHADOW_MM_MREMAP, &u.mremap);
		ccheck(w, i, exited, SHADOW_MM_CMD_MREMAP, err,
		       EI | EM | EF | ES(EAGAIN), args);
		break;
	case C_BRK:
		u.brk.size = sizeof(u.brk);
		u.brk.brk = one_in(r, 4) ? 0 : SHADOW_DEFAULT_START_BRK +
			    rnd_below(r, 256) * PAGE;
		snprintf(args, sizeof(args), "BRK(%#llx)", u.brk.brk);
		err = cioctl(fd, SHADOW_MM_BRK, &u.brk);
		ccheck(w, i, exited, SHADOW_MM_CMD_BRK, err, 0, args);
		break;
	case C_RECLAIM:
		n = 1 + rnd_below(r, 64);
		u.reclaim.size = sizeof(u.reclaim);
		u.reclaim.flags = one_in(r, 3) ? SHADOW_RECLAIM_AGE : 0;
		/* A range of the window, or the whole space. */
		if (!one_in(r, 4)) {
			u.reclaim.addr = cwin(w, n);
			u.reclaim.len = n * PAGE;
		}
		u.reclaim.nr_to_reclaim = one_in(r, 2) ? 0 :
					  1 + rnd_below(r, 32);
		snprintf(args, sizeof(args),
			 "RECLAIM(%#llx, %#llx, flags %#x, nr %llu)",
			 u.reclaim.addr, u.reclaim.len, u.reclaim.flags,
			 (unsigned long long)u.reclaim.nr_to_reclaim);
		err = cioctl(fd, SHADOW_MM_RECLAIM, &u.reclaim);
		ccheck(w, i, exited, SHADOW_MM_CMD_RECLAIM, err, 0, args);
		if (!err && !reclaim_adds_up(&u.reclaim, false))
			cfail(w, "%s: counters do not add up", args);
		break;
	case C_EXIT:
		u.exit.size = sizeof(u.exit);
		pthread_mutex_lock(&c->lock);
		was = c->slot[i].exiting;
		c->slot[i].exiting = true;
		pthread_mutex_unlock(&c->lock);
		err = cioctl(fd, SHADOW_MM_EXIT, &u.exit);
		snprintf(args, sizeof(args), "EXIT%s",
			 was ? " (again)" : "");
		ccheck(w, i, exited, SHADOW_MM_CMD_EXIT, err, 0, args);
		if (!err) {
			pthread_mutex_lock(&c->lock);
			c->slot[i].exited = true;
			n = ++c->slot[i].exits;
			pthread_mutex_unlock(&c->lock);
			if (n > 1)
				cfail(w, "slot %d exited %llu times", i,
				      (unsigned long long)n);
		}
		break;
	case C_CLOSE:
		pthread_mutex_lock(&c->lock);
		c->slot[i].closing = true;
		pthread_mutex_unlock(&c->lock);
		break;
	}
	addr = 0;
	(void)addr;
	cslot_put(c, i);
}

/*
 * Keep C_SPACES live address spaces, and start over (close every space)
 * when the module holds too much.
 */
static void c_housekeeping(struct worker *w)
{
	struct conc *c = w->c;
	int i, live, fd;

	if (w->id == 0 && w->calls % 64 == 0 &&
	    (shadow_counter("pages") > PAGES_HIGH ||
	     shadow_counter("vmas") > VMAS_HIGH)) {
		for (i = 0; i < C_SLOTS; i++) {
			pthread_mutex_lock(&c->lock);
			fd = c->slot[i].fd;
			if (fd >= 0)
				c->slot[i].users++;
			pthread_mutex_unlock(&c->lock);
			if (fd < 0)
				continue;
			pthread_mutex_lock(&c->lock);
			c->slot[i].closing = true;
			pthread_mutex_unlock(&c->lock);
			cslot_put(c, i);
		}
	}
	pthread_mutex_lock(&c->lock);
	live = cslot_live(c);
	pthread_mutex_unlock(&c->lock);
	if (live < C_SPACES) {
		fd = _shadow_create(c->dev, 0, NULL);
		if (fd >= 0)
			cslot_add(c, fd);
		else if (fd != -ENOMEM)
			cfail(w, "create -> %d", fd);
	}
}

static void *c_worker(void *arg)
{
	struct worker *w = arg;

	while (now_s() < w->c->deadline) {
		c_housekeeping(w);
		c_one(w);
	}
	return NULL;
}

/*
 * Threads running every operation with valid arguments on a shared set of
 * address spaces, which they also fork, exit and close under each other:
 * each result is one the uapi allows, a call on an exited fd gets ESRCH,
 * an fd exits once, and nothing is left behind.
 */
TEST(concurrent_ops)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	struct shadow_counts before = shadow_counts();
	struct worker w[C_THREADS];
	pthread_t t[C_THREADS];
	pthread_attr_t attr;
	struct conc *c;
	long calls = 0;
	int i;

	ASSERT_LE(0, before.mms);
	TH_LOG("seed %llu, %.1f s, %d threads",
	       (unsigned long long)fuzz_seed, fuzz_share(), C_THREADS);
	c = calloc(1, sizeof(*c));
	ASSERT_NE(NULL, c);
	pthread_mutex_init(&c->lock, NULL);
	for (i = 0; i < C_SLOTS; i++)
		c->slot[i].fd = -1;
	ASSERT_EQ(0, limit_address_space());
	c->dev = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, c->dev);
	ASSERT_EQ(0, shadow_ioctl(c->dev, SHADOW_MM_API, &api));
	c->ioctls = api.out_ioctls;
	c->deadline = now_s() + fuzz_share();

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (i = 0; i < C_THREADS; i++) {
		w[i] = (struct worker){ _metadata, c, { 0 }, i, 0, NULL };
		rng_seed(&w[i].r, fuzz_seed + 0x1000 * (i + 1));
		w[i].maps = malloc(C_MAPS_BUF);
		ASSERT_NE(NULL, w[i].maps);
		ASSERT_EQ(0, pthread_create(&t[i], &attr, c_worker, &w[i]));
	}
	for (i = 0; i < C_THREADS; i++) {
		pthread_join(t[i], NULL);
		calls += w[i].calls;
		free(w[i].maps);
	}

	for (i = 0; i < C_SLOTS; i++) {
		if (c->slot[i].fd < 0)
			continue;
		if (!c->slot[i].exiting)
			check_layout(_metadata, c->slot[i].fd);
		close(c->slot[i].fd);
	}
	close(c->dev);
	TH_LOG("seed %llu: %ld calls, %ld failures",
	       (unsigned long long)fuzz_seed, calls, c->failures);
	EXPECT_EQ(0, c->failures);
	shadow_expect_counts(_metadata, before);
	free(c);
}

/* no_kernel_pointers */
#define DEBUGFS_DIR	"/sys/kernel/debug/shadow_mm"
/* What output fields hold before a call: no kernel address. */
#define POISON		0x5a
#define POISON64	0x5a5a5a5a5a5a5a5aULL

/* Fail when the words of @p[0..@len) hold a kernel-looking value. */
static void scan_words(struct __test_metadata *_metadata, const char *what,
		       const void *p, size_t len)
{
	long off = find_kernel_word(p, len);
	__u64 v = 0;

	if (off >= 0)
		memcpy(&v, (const char *)p + off, 8);
	EXPECT_EQ(-1, off) TH_LOG("%s: %#llx at offset %ld", what,
				  (unsigned long long)v, off);
}

static void scan_text(struct __test_metadata *_metadata, const char *what,
		      const char *text, size_t len)
{
	long off = find_kernel_text(text, len);

	EXPECT_EQ(-1, off) TH_LOG("%s: \"%.40s\"", what,
				  off >= 0 ? text + off : "");
}

/* Every file under @dir, read and scanned; returns how many. */
static int scan_debugfs(struct __test_metadata *_metadata, const char *dir)
{
	const size_t max = 1 << 20;
	char *buf = malloc(max), path[512];
	struct dirent *de;
	int files = 0;
	DIR *d = opendir(dir);

	if (!d || !buf) {
		free(buf);
		if (d)
			closedir(d);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat st;
		ssize_t n, len = 0;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			files += scan_debugfs(_metadata, path);
			continue;
		}
		if (!S_ISREG(st.st_mode) || !(st.st_mode & 0444))
			continue;
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		while (len < max && (n = read(fd, buf + len, max - len)) > 0)
			len += n;
		close(fd);
		scan_text(_metadata, path, buf, len);
		files++;
	}
	closedir(d);
	free(buf);
	return files;
}

/* Call, and scan the whole struct the kernel wrote back. */
static int scan_call(struct __test_metadata *_metadata, int fd,
		     unsigned long req, void *s, size_t len, const char *what)
{
	int ret = ioctl(fd, req, s);

	EXPECT_LE(0, ret) TH_LOG("%s: %s", what, strerror(errno));
	scan_words(_metadata, what, s, len);
	return ret;
}

/* Every output of a populated space: stats, VMAs, pages, maps, memory. */
static void scan_space(struct __test_metadata *_metadata, int fd,
		       __u64 ioctls, const char *who)
{
	const __u64 pages = 160;
	struct shadow_page_info *p = calloc(pages, sizeof(*p));
	struct shadow_vma_info *v = calloc(256, sizeof(*v));
	struct shadow_mm_stats st = { .size = sizeof(st) };
	struct shadow_mm_brk b = { .size = sizeof(b) };
	char *mem = malloc(pages * PAGE), *maps, what[64];
	__u32 nr;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, v);
	ASSERT_NE(NULL, mem);
	snprintf(what, sizeof(what), "%s: stats", who);
	memset(&st, POISON, sizeof(st));
	st.size = sizeof(st);
	st.flags = 0;
	scan_call(_metadata, fd, SHADOW_MM_GET_STATS, &st, sizeof(st), what);

	memset(v, POISON, 256 * sizeof(*v));
	ASSERT_EQ(0, _shadow_get_vmas(fd, 0, -1ULL, v, 256, &nr));
	ASSERT_GE(256, nr);
	snprintf(what, sizeof(what), "%s: vma records", who);
	scan_words(_metadata, what, v, nr * sizeof(*v));

	memset(p, POISON, pages * sizeof(*p));
	ASSERT_EQ(0, _shadow_walk(fd, WIN_BASE, pages, p));
	snprintf(what, sizeof(what), "%s: page records", who);
	scan_words(_metadata, what, p, pages * sizeof(*p));

	maps = shadow_get_maps(fd);
	ASSERT_NE(NULL, maps);
	snprintf(what, sizeof(what), "%s: maps", who);
	scan_text(_metadata, what, maps, strlen(maps));
	free(maps);

	/* Memory never written reads as zeroes, written as written. */
	memset(mem, POISON, pages * PAGE);
	ASSERT_LE(0, _shadow_access(fd, WIN_BASE, mem, 16 * PAGE, 0));
	snprintf(what, sizeof(what), "%s: memory", who);
	scan_words(_metadata, what, mem, 16 * PAGE);

	if (ioctls & (1ULL << SHADOW_MM_CMD_BRK)) {
		b.out_brk = POISON64;
		b.out_start_brk = POISON64;
		snprintf(what, sizeof(what), "%s: brk", who);
		scan_call(_metadata, fd, SHADOW_MM_BRK, &b, sizeof(b), what);
	}
	free(mem);
	free(v);
	free(p);
}

/*
 * No output of any command, and no file under /sys/kernel/debug/shadow_mm,
 * holds a value that looks like a kernel address.
 */
TEST(no_kernel_pointers)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	struct shadow_mm_create cr = { .size = sizeof(cr) };
	struct shadow_mm_mmap m = { .size = sizeof(m) };
	struct shadow_mm_fault fl = { .size = sizeof(fl) };
	struct shadow_mm_access ac = { .size = sizeof(ac) };
	struct shadow_mm_fork fk = { .size = sizeof(fk) };
	struct shadow_counts before = shadow_counts();
	char data[4 * PAGE];
	int dev, mfd, child, vm, files;
	unsigned int i;

	dev = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	api.out_abi_version = (__u32)POISON64;
	api.out_features = POISON64;
	api.out_ioctls = POISON64;
	ASSERT_EQ(0, scan_call(_metadata, dev, SHADOW_MM_API, &api, sizeof(api), "api"));
	cr.out_id = (__u32)POISON64;
	mfd = scan_call(_metadata, dev, SHADOW_MM_CREATE, &cr, sizeof(cr), "create");
	ASSERT_LE(0, mfd);

	/* Private, shared, read-only and stack mappings, written. */
	struct { __u64 pg, n; __u32 prot, flags; } maps[] = {
		{ 0, 16, PROT_READ | PROT_WRITE, MAP_PRIVATE },
		{ 32, 8, PROT_READ | PROT_WRITE, MAP_SHARED },
		{ 64, 4, PROT_READ, MAP_PRIVATE },
		{ 128, 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_GROWSDOWN },
	};
	for (i = 0; i < ARRAY_SIZE(maps); i++) {
		m = (struct shadow_mm_mmap){
			.size = sizeof(m),
			.addr = WIN_BASE + maps[i].pg * PAGE,
			.len = maps[i].n * PAGE,
			.prot = maps[i].prot,
			.map_flags = maps[i].flags | MAP_ANONYMOUS | MAP_FIXED,
			.fd = -1,
			.out_addr = POISON64,
		};
		scan_call(_metadata, mfd, SHADOW_MM_MMAP, &m, sizeof(m), "mmap");
	}
	memset(data, 0x33, sizeof(data));
	for (i = 0; i < 4; i++)
		shadow_put(_metadata, mfd,
			   WIN_BASE + (i < 2 ? 1 + 8 * i : 31 + i) * PAGE,
			   "hello");
	ac = (struct shadow_mm_access){ .size = sizeof(ac),
		.flags = SHADOW_ACCESS_WRITE, .addr = WIN_BASE + 32 * PAGE,
		.len = sizeof(data), .buf = (uintptr_t)data,
		.out_len = POISON64 };
	scan_call(_metadata, mfd, SHADOW_MM_ACCESS, &ac, sizeof(ac), "access");
	fl = (struct shadow_mm_fault){ .size = sizeof(fl),
		.addr = WIN_BASE + 64 * PAGE, .len = 4 * PAGE,
		.out_nr_pages = POISON64 };
	scan_call(_metadata, mfd, SHADOW_MM_FAULT, &fl, sizeof(fl), "fault");
	fl = (struct shadow_mm_fault){ .size = sizeof(fl),
		.flags = SHADOW_FAULT_WRITE, .addr = WIN_BASE + 128 * PAGE,
		.len = 8 * PAGE, .out_nr_pages = POISON64 };
	scan_call(_metadata, mfd, SHADOW_MM_FAULT, &fl, sizeof(fl), "fault");

	/* A child with COW copies, and a CLONE_VM user. */
	fk = (struct shadow_mm_fork){ .size = sizeof(fk),
				      .out_id = (__u32)POISON64 };
	child = scan_call(_metadata, mfd, SHADOW_MM_FORK, &fk, sizeof(fk),
			  "fork");
	ASSERT_LE(0, child);
	fk = (struct shadow_mm_fork){ .size = sizeof(fk),
				      .flags = SHADOW_FORK_VM,
				      .out_id = (__u32)POISON64 };
	vm = scan_call(_metadata, mfd, SHADOW_MM_FORK, &fk, sizeof(fk),
		       "fork vm");
	ASSERT_LE(0, vm);
	shadow_put(_metadata, child, WIN_BASE + 2 * PAGE, "child");
	shadow_put(_metadata, mfd, WIN_BASE + 3 * PAGE, "parent");

	scan_space(_metadata, mfd, api.out_ioctls, "parent");
	scan_space(_metadata, child, api.out_ioctls, "child");
	scan_space(_metadata, vm, api.out_ioctls, "clone_vm");

	/* Swapped out: the reclaim's counters, the walk's swap entries. */
	if (api.out_features & SHADOW_MM_FEATURE_SWAP) {
		struct shadow_mm_reclaim rc;

		for (i = 0; i < 2; i++) {
			memset(&rc, POISON, sizeof(rc));
			rc.size = sizeof(rc);
			rc.flags = i ? 0 : SHADOW_RECLAIM_AGE;
			rc.addr = 0;
			rc.len = 0;
			rc.nr_to_reclaim = 0;
			scan_call(_metadata, mfd, SHADOW_MM_RECLAIM, &rc,
				  sizeof(rc), "reclaim");
		}
		EXPECT_LT(0, rc.out_reclaimed);
		memset(&rc, POISON, sizeof(rc));
		rc.size = sizeof(rc);
		rc.flags = SHADOW_RECLAIM_AGE;
		rc.addr = 0;
		rc.len = 0;
		rc.nr_to_reclaim = 0;
		scan_call(_metadata, dev, SHADOW_DEV_RECLAIM, &rc, sizeof(rc),
			  "dev reclaim");
		scan_space(_metadata, child, api.out_ioctls, "child, swapped");
		scan_space(_metadata, mfd, api.out_ioctls, "parent, swapped");
	}

	files = scan_debugfs(_metadata, DEBUGFS_DIR);
	EXPECT_LE(1, files);
	TH_LOG("%d debugfs files scanned", files);

	close(vm);
	close(child);
	close(mfd);
	close(dev);
	shadow_expect_counts(_metadata, before);
}

/*
 * The page walk of an address at or above TASK_SIZE reports nothing, even
 * where the address differs from a mapped one only in bits the page
 * tables do not index (bits 48-63).
 */
TEST(walk_beyond_task_size)
{
	struct shadow_page_info p[4];
	int dev = shadow_open_dev(), mfd, i, b;

	ASSERT_LE(0, dev);
	mfd = _shadow_create(dev, 0, NULL);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, _shadow_mmap(mfd, WIN_BASE, 4 * PAGE,
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(mfd, WIN_BASE, 4 * PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	ASSERT_EQ(0, _shadow_walk(mfd, WIN_BASE, 4, p));
	for (i = 0; i < 4; i++)
		ASSERT_TRUE(p[i].flags & SHADOW_PAGE_PRESENT);
	for (b = 48; b < 64; b++) {
		memset(p, POISON, sizeof(p));
		ASSERT_EQ(0, _shadow_walk(mfd, WIN_BASE | 1UL << b, 4, p));
		for (i = 0; i < 4; i++)
			EXPECT_EQ(0, p[i].flags | p[i].page_id | p[i].mapcount)
				TH_LOG("bit %d, page %d", b, i);
	}
	close(mfd);
	close(dev);
}

/*
 * A fault of an empty range touches nothing, even at an unaligned address
 * (in a hole, or in a page that is not yet present).
 */
TEST(fault_empty_range)
{
	struct shadow_page_info p;
	__u64 nr = 1;
	int dev = shadow_open_dev(), mfd;

	ASSERT_LE(0, dev);
	mfd = _shadow_create(dev, 0, NULL);
	ASSERT_LE(0, mfd);
	EXPECT_EQ(0, _shadow_fault(mfd, WIN_BASE + 1, 0, 0, &nr));
	EXPECT_EQ(0, nr);
	ASSERT_EQ(0, _shadow_mmap(mfd, WIN_BASE, PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				  NULL));
	nr = 1;
	EXPECT_EQ(0, _shadow_fault(mfd, WIN_BASE + 100, 0, SHADOW_FAULT_WRITE,
				   &nr));
	EXPECT_EQ(0, nr);
	ASSERT_EQ(0, _shadow_walk(mfd, WIN_BASE, 1, &p));
	EXPECT_EQ(0, p.flags);
	close(mfd);
	close(dev);
}

/*
 * mmap(2) on x86-64 checks the offset before it looks for the file: with
 * neither MAP_ANONYMOUS nor an fd, an unaligned offset gives EINVAL, as
 * the real mmap(2) here says.
 */
TEST(mmap_offset_before_fd)
{
	static const struct {
		int flags, fd;
		__u64 offset;
	} cases[] = {
		{ MAP_PRIVATE, -1, 1 },
		{ MAP_PRIVATE, -1, PAGE - 1 },
		{ MAP_SHARED, -1, -1ULL },
		{ MAP_PRIVATE, -1, 0 },
		{ MAP_PRIVATE | MAP_ANONYMOUS, -1, 1 },
	};
	struct shadow_mm_mmap m;
	int dev = shadow_open_dev(), mfd, rerr, serr;
	unsigned int i;
	void *p;

	ASSERT_LE(0, dev);
	mfd = _shadow_create(dev, 0, NULL);
	ASSERT_LE(0, mfd);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		p = mmap(NULL, PAGE, PROT_READ, cases[i].flags, cases[i].fd,
			 cases[i].offset);
		rerr = p == MAP_FAILED ? errno : 0;
		m = (struct shadow_mm_mmap){
			.size = sizeof(m), .len = PAGE, .prot = PROT_READ,
			.map_flags = cases[i].flags, .fd = cases[i].fd,
			.offset = cases[i].offset,
		};
		serr = -shadow_ioctl(mfd, SHADOW_MM_MMAP, &m);
		EXPECT_NE(0, rerr);
		EXPECT_EQ(rerr, serr) TH_LOG("case %u", i);
	}
	EXPECT_EQ(EINVAL, serr);
	close(mfd);
	close(dev);
}

/*
 * The harness kills a test after its timeout: give each fuzzing test its
 * share of SHADOW_FUZZ_SECONDS and a margin for the teardown, which can be
 * slow under a debug kernel. Their sum stays within selftests/settings
 * for the default duration.
 */
static void __attribute__((constructor)) fuzz_timeouts(void)
{
	int t = fuzz_share() + TEARDOWN_MARGIN;

	_hostile_ioctls_object.timeout = t;
	_concurrent_ops_object.timeout = t;
	_no_kernel_pointers_object.timeout = 60;
	_walk_beyond_task_size_object.timeout = 60;
	_fault_empty_range_object.timeout = 60;
	_mmap_offset_before_fd_object.timeout = 60;
}

TEST_HARNESS_MAIN
