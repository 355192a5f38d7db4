// SPDX-License-Identifier: GPL-2.0
/*
 * shadow_mm_trace_prog: a known pattern of memory-map calls for
 * shadow_mm_replay_test to record with shadow_mm_trace and replay: each
 * call of mmap(2), munmap(2), mprotect(2), mremap(2), brk(2), madvise(2),
 * mlock(2) and mlockall(2) once as it succeeds and once as it fails
 * (ENOMEM, EINVAL, EEXIST, EFAULT). Raw system calls, so that what is
 * recorded is what this file says. Exits 0 when every call returned what
 * Linux returns.
 *
 * "shadow_mm_trace_prog thread": the calls of a second thread instead,
 * made while the main thread waits for it, and then the main thread's,
 * whose addresses depend on what the thread left mapped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT		4
#endif

#define PG	4096L

static int failures;

/* The raw call's result: -errno or what it returned. */
static long sys(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);

	return r == -1 ? -errno : r;
}

static void expect(int line, long got, long want)
{
	if (got == want)
		return;
	fprintf(stderr, "shadow_mm_trace_prog:%d: got %ld, expected %ld\n",
		line, got, want);
	failures++;
}

static void expect_ok(int line, long got)
{
	if (got >= 0)
		return;
	fprintf(stderr, "shadow_mm_trace_prog:%d: failed: %ld\n", line, got);
	failures++;
}

#define MMAP(a, l, p, f)	sys(SYS_mmap, (a), (l), (p), (f), -1, 0)
#define RW			(PROT_READ | PROT_WRITE)
#define ANON			(MAP_PRIVATE | MAP_ANONYMOUS)

/*
 * The thread's part: nineteen pages with a hole, a reservation of 64 MiB
 * (as glibc's malloc arena makes one) trimmed at both ends.
 */
static void *thread_calls(void *arg)
{
	long *hole = arg, a, r;

	a = MMAP(0, 19 * PG, RW, ANON);
	expect_ok(__LINE__, a);
	expect(__LINE__, sys(SYS_munmap, a + 9 * PG, PG, 0, 0, 0, 0), 0);
	expect(__LINE__, sys(SYS_mprotect, a, 4 * PG, PROT_READ, 0, 0, 0), 0);
	expect(__LINE__, sys(SYS_mprotect, a + 9 * PG, PG, PROT_READ, 0, 0,
			     0), -ENOMEM);
	r = MMAP(0, 64L << 20, PROT_NONE, ANON | MAP_NORESERVE);
	expect_ok(__LINE__, r);
	expect(__LINE__, sys(SYS_munmap, r, 16L << 20, 0, 0, 0, 0), 0);
	expect(__LINE__, sys(SYS_munmap, r + (48L << 20), 16L << 20, 0, 0, 0,
			     0), 0);
	expect(__LINE__, sys(SYS_mprotect, r + (16L << 20), 33 * PG, RW, 0, 0,
			     0), 0);
	*hole = a + 9 * PG;
	return NULL;
}

/* The main thread maps only after the thread's calls: in its hole first. */
static int thread_mode(void)
{
	long hole = 0, b;
	pthread_t th;

	if (pthread_create(&th, NULL, thread_calls, &hole) ||
	    pthread_join(th, NULL)) {
		fprintf(stderr, "shadow_mm_trace_prog: no thread\n");
		return 1;
	}
	b = MMAP(0, PG, PROT_READ, ANON);
	expect(__LINE__, b, hole);
	expect_ok(__LINE__, MMAP(0, 3 * PG, RW, ANON));
	expect(__LINE__, sys(SYS_munmap, b, PG, 0, 0, 0, 0), 0);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	long a, b, brk0, r;

	if (argc > 1 && !strcmp(argv[1], "thread"))
		return thread_mode();

	/* Sixteen pages where the kernel chooses, then a hole in them. */
	a = MMAP(0, 16 * PG, RW, ANON);
	expect_ok(__LINE__, a);
	expect(__LINE__, sys(SYS_munmap, a + 8 * PG, PG, 0, 0, 0, 0), 0);
	/* The next hint-less mapping fills the hole: the top-down search. */
	b = MMAP(0, PG, PROT_READ, ANON);
	expect(__LINE__, b, a + 8 * PG);
	expect(__LINE__, MMAP(a, PG, RW, ANON | MAP_FIXED_NOREPLACE), -EEXIST);
	expect(__LINE__, MMAP(0, 0, RW, ANON), -EINVAL);
	expect(__LINE__, MMAP(a + 1, PG, RW, ANON | MAP_FIXED), -EINVAL);
	expect(__LINE__, MMAP(0, 1L << 47, RW, ANON), -ENOMEM);

	expect(__LINE__, sys(SYS_mprotect, a, 4 * PG, PROT_READ, 0, 0, 0), 0);
	expect(__LINE__, sys(SYS_mprotect, a + 1, PG, PROT_READ, 0, 0, 0),
	       -EINVAL);
	/* The hole fails the range, after the part before it changed. */
	expect(__LINE__, sys(SYS_mprotect, a + 7 * PG, 4 * PG, PROT_NONE, 0,
			     0, 0), 0);
	expect(__LINE__, sys(SYS_munmap, b, PG, 0, 0, 0, 0), 0);
	expect(__LINE__, sys(SYS_mprotect, a + 7 * PG, 4 * PG, PROT_NONE, 0,
			     0, 0), -ENOMEM);

	expect(__LINE__, sys(SYS_madvise, a + 12 * PG, 2 * PG, MADV_DONTNEED,
			     0, 0, 0), 0);
	expect(__LINE__, sys(SYS_madvise, a, PG, 12345, 0, 0, 0), -EINVAL);
	expect(__LINE__, sys(SYS_madvise, a + 8 * PG, PG, MADV_WILLNEED, 0,
			     0, 0), -ENOMEM);
	expect(__LINE__, sys(SYS_madvise, a + 12 * PG, 4 * PG,
			     MADV_DONTFORK, 0, 0, 0), 0);

	/* Grow the last four pages in place: blocked above? then move. */
	r = sys(SYS_mremap, a + 12 * PG, 4 * PG, 8 * PG, 0, 0, 0);
	expect_ok(__LINE__, r == -ENOMEM ? 0 : r);
	r = sys(SYS_mremap, a + 12 * PG, 4 * PG, 64 * PG, MREMAP_MAYMOVE, 0,
		0);
	expect_ok(__LINE__, r);
	expect(__LINE__, sys(SYS_mremap, a + 8 * PG, PG, 2 * PG,
			     MREMAP_MAYMOVE, 0, 0), -EFAULT);
	expect(__LINE__, sys(SYS_mremap, r, 8 * PG, 4 * PG, MREMAP_FIXED, r,
			     0), -EINVAL);
	expect(__LINE__, sys(SYS_mremap, r, 4 * PG, 4 * PG,
			     MREMAP_MAYMOVE | MREMAP_FIXED, a + 8 * PG, 0),
	       a + 8 * PG);

	brk0 = sys(SYS_brk, 0, 0, 0, 0, 0, 0);
	expect(__LINE__, sys(SYS_brk, brk0 + 33 * PG, 0, 0, 0, 0, 0),
	       brk0 + 33 * PG);
	expect(__LINE__, sys(SYS_brk, brk0 + 5 * PG + 10, 0, 0, 0, 0, 0),
	       brk0 + 5 * PG + 10);
	/* Refused: the old break comes back. */
	expect(__LINE__, sys(SYS_brk, a, 0, 0, 0, 0, 0), brk0 + 5 * PG + 10);

	expect(__LINE__, sys(SYS_mlock, r + 4 * PG, 2 * PG, 0, 0, 0, 0), 0);
	expect(__LINE__, sys(SYS_mlock2, r + 8 * PG, PG, 1, 0, 0, 0), 0);
	expect(__LINE__, sys(SYS_munlock, a + 8 * PG + 1, 0, 0, 0, 0, 0), 0);
	expect(__LINE__, sys(SYS_munlock, r + 4 * PG, 5 * PG, 0, 0, 0, 0), 0);
	expect(__LINE__, sys(SYS_mlock, 0x10000, PG, 0, 0, 0, 0), -ENOMEM);
	expect(__LINE__, sys(SYS_munlock, 0x10000, PG, 0, 0, 0, 0), -ENOMEM);
	expect(__LINE__, sys(SYS_mlockall, MCL_FUTURE, 0, 0, 0, 0, 0), 0);
	expect_ok(__LINE__, MMAP(0, 2 * PG, RW, ANON));
	expect(__LINE__, sys(SYS_munlockall, 0, 0, 0, 0, 0, 0), 0);
	expect(__LINE__, sys(SYS_mlockall, 0, 0, 0, 0, 0, 0), -EINVAL);

	expect(__LINE__, MMAP(0x200000000000L, 3 * PG, RW,
			      ANON | MAP_FIXED), 0x200000000000L);
	expect(__LINE__, sys(SYS_munmap, 0x200000000000L + PG, PG, 0, 0, 0,
			     0), 0);
	expect(__LINE__, sys(SYS_munmap, 0x200000000000L, 0, 0, 0, 0, 0),
	       -EINVAL);
	return failures ? 1 : 0;
}
