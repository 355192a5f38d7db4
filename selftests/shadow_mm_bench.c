// SPDX-License-Identifier: GPL-2.0
/*
 * shadow_mm_bench: each shadow operation against its native counterpart,
 * done by this same program on its own memory in the same run, the two
 * alternating, several repetitions; min / median / max of each and the
 * ratio shadow / native of the medians. A table on stdout, a CSV (--csv
 * FILE, and "csv:" lines on stdout for a VM's serial log).
 *
 * usage: shadow_mm_bench [--smoke] [--quick] [--reps N] [--csv FILE]
 *                        [--sizes MiB,MiB,...] [--vmas N,N,...]
 *                        [--only GROUP]
 * The environment gives the same: BENCH_SMOKE=1, BENCH_QUICK=1,
 * BENCH_REPS, BENCH_SIZES, BENCH_VMAS, BENCH_ONLY. --smoke is a run with
 * tiny sizes for the test suite (shadow_mm_bench_test).
 *
 * Costs are nanoseconds per operation (or per page, where the unit says
 * so); the will-it-scale loops' operations per second are 1e9 / ns.
 *
 * The 4 KiB rows: the native side runs with transparent huge pages off
 * (PR_SET_THP_DISABLE) unless BENCH_THP=1, and so does the engine (its
 * space takes the process's disable bit), else a fault would zero 2 MiB at
 * once and a munmap free 512 pages as one. The thp group (fault, fork and
 * munmap of 1 GiB) turns them on for both: the engine's THP "always"
 * against this process with PR_SET_THP_DISABLE lifted.
 */
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "shadow_mm_lib.h"

/* Flags of the on-demand fork, when the module has it. */
#ifndef SHADOW_MM_FEATURE_ODF
#define SHADOW_MM_FEATURE_ODF	_BITULL(10)
#endif
#ifndef SHADOW_FORK_ODF
#define SHADOW_FORK_ODF		_BITUL(1)
#endif

#define MIB		(1024UL * 1024)
/* The shadow window, and the native one, for fixed layouts. */
#define SWIN		0x100000000000UL
#define NWIN		0x200000000000UL
#define MAX_REPS	64
#define CSV_HEADER	"group,name,param,unit,reps,shadow_min,shadow_median," \
			"shadow_max,native_min,native_median,native_max,ratio"
#define MAX_LIST	16

static struct {
	bool smoke, quick;
	int reps;
	long loops;		/* iterations of the short operations */
	unsigned long wis_mib;	/* will-it-scale region */
	unsigned long fault_pages;
	unsigned long sizes[MAX_LIST];	/* MiB, fork and munmap */
	int nr_sizes;
	unsigned long vmas[MAX_LIST];	/* find_vma scaling */
	int nr_vmas;
	unsigned long populate_mib;
	unsigned long thp_mib;	/* the thp rows */
	const char *only;
	FILE *csv;
	int dev;
	bool odf;
} cfg;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void die(const char *what, long err)
{
	fprintf(stderr, "shadow_mm_bench: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

#define CHECK(expr) do {						\
	long __r = (expr);						\
	if (__r < 0)							\
		die(#expr, __r);					\
} while (0)

static int new_space(void)
{
	int mfd = _shadow_create(cfg.dev, 0, NULL);

	if (mfd < 0)
		die("SHADOW_MM_CREATE", mfd);
	/* Huge pages on both sides or on neither, as prctl() set them. */
	CHECK(_shadow_set_thp(mfd, SHADOW_THP_SET_DISABLE, 0,
			      prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1, 0,
			      NULL));
	return mfd;
}

static void *nmap(unsigned long addr, unsigned long len, int prot)
{
	void *p = mmap((void *)addr, len, prot,
		       PRIV | (addr ? MAP_FIXED : 0), -1, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	return p;
}

/* Where the native reads go, so that they are done. */
unsigned long sink;

static void touch(char *p, unsigned long len)
{
	unsigned long off;

	for (off = 0; off < len; off += PAGE)
		p[off] = 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double min, med, max;
};

static struct stat3 stat3(double *v, int n)
{
	double s[MAX_REPS];
	struct stat3 r;

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

static void row(const char *group, const char *name, unsigned long param,
		const char *unit, int reps, struct stat3 s, struct stat3 n)
{
	double ratio = n.med > 0 ? s.med / n.med : 0;

	printf("%-9s %-24s %10lu %-8s %12.0f %12.0f %12.0f %12.0f %12.0f %12.0f %8.2f\n",
	       group, name, param, unit, s.min, s.med, s.max, n.min, n.med,
	       n.max, ratio);
	printf("csv:%s,%s,%lu,%s,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.4f\n",
	       group, name, param, unit, reps, s.min, s.med, s.max, n.min,
	       n.med, n.max, ratio);
	if (cfg.csv) {
		fprintf(cfg.csv, "%s,%s,%lu,%s,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.4f\n",
			group, name, param, unit, reps, s.min, s.med, s.max,
			n.min, n.med, n.max, ratio);
		fflush(cfg.csv);
	}
	fflush(stdout);
}

typedef double (*bench_fn)(unsigned long param);

/*
 * Shadow and native alternately, the order swapped every repetition; each
 * function returns its cost in ns per unit.
 */
static void measure(const char *group, const char *name, unsigned long param,
		    const char *unit, bench_fn shadow, bench_fn native)
{
	double s[MAX_REPS], n[MAX_REPS];
	int r;

	for (r = 0; r < cfg.reps; r++) {
		if (r % 2) {
			s[r] = shadow(param);
			n[r] = native(param);
		} else {
			n[r] = native(param);
			s[r] = shadow(param);
		}
	}
	row(group, name, param, unit, cfg.reps, stat3(s, cfg.reps),
	    stat3(n, cfg.reps));
}

static bool want(const char *group)
{
	return !cfg.only || strstr(cfg.only, group);
}

/* --- will-it-scale: mmap1, page_fault1 ------------------------------------ */

struct wis {
	int mfd;
	unsigned long len;
	long loops;
	pthread_barrier_t *bar;
	bool fault;
};

static void *wis_shadow_thread(void *arg)
{
	struct wis *w = arg;
	__u64 addr = 0;
	long i;

	pthread_barrier_wait(w->bar);
	for (i = 0; i < w->loops; i++) {
		CHECK(_shadow_mmap(w->mfd, 0, w->len, RW, PRIV, &addr));
		if (w->fault)
			CHECK(_shadow_fault(w->mfd, addr, w->len,
					    SHADOW_FAULT_WRITE, NULL));
		CHECK(_shadow_munmap(w->mfd, addr, w->len));
	}
	return NULL;
}

static void *wis_native_thread(void *arg)
{
	struct wis *w = arg;
	long i;

	pthread_barrier_wait(w->bar);
	for (i = 0; i < w->loops; i++) {
		char *p = nmap(0, w->len, RW);

		if (w->fault)
			touch(p, w->len);
		munmap(p, w->len);
	}
	return NULL;
}

/* ns per operation (mmap1) or per page (page_fault1), all threads. */
static double wis_run(int threads, bool shadow, bool fault)
{
	pthread_barrier_t bar;
	pthread_t tid[2];
	struct wis w = {
		.len = cfg.wis_mib * MIB,
		.loops = fault ? 1 : cfg.loops,
		.bar = &bar, .fault = fault,
	};
	unsigned long long t0;
	double units;
	int i;

	if (shadow)
		w.mfd = new_space();
	pthread_barrier_init(&bar, NULL, threads + 1);
	for (i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL,
			       shadow ? wis_shadow_thread : wis_native_thread,
			       &w);
	pthread_barrier_wait(&bar);
	t0 = now_ns();
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	t0 = now_ns() - t0;
	pthread_barrier_destroy(&bar);
	if (shadow)
		close(w.mfd);
	units = (double)threads * w.loops * (fault ? w.len / PAGE : 1);
	return t0 / units;
}

static double mmap1_s(unsigned long t) { return wis_run(t, true, false); }
static double mmap1_n(unsigned long t) { return wis_run(t, false, false); }
static double pf1_s(unsigned long t) { return wis_run(t, true, true); }
static double pf1_n(unsigned long t) { return wis_run(t, false, true); }

/* --- one page mmap + munmap; batched -------------------------------------- */

static double pair_single_s(unsigned long unused)
{
	int mfd = new_space();
	unsigned long long t0 = now_ns();
	long i;

	for (i = 0; i < cfg.loops; i++) {
		CHECK(_shadow_mmap(mfd, SWIN, PAGE, RW, PRIV | MAP_FIXED,
				   NULL));
		CHECK(_shadow_munmap(mfd, SWIN, PAGE));
	}
	t0 = now_ns() - t0;
	close(mfd);
	return (double)t0 / cfg.loops;
}

static double pair_native(unsigned long unused)
{
	unsigned long long t0 = now_ns();
	long i;

	for (i = 0; i < cfg.loops; i++) {
		nmap(NWIN, PAGE, RW);
		munmap((void *)NWIN, PAGE);
	}
	return (double)(now_ns() - t0) / cfg.loops;
}

static double pair_batch_s(unsigned long nr_ops)
{
	struct shadow_mm_batch_op *ops = calloc(nr_ops, sizeof(*ops));
	long pairs = 0, want_pairs = cfg.loops;
	int mfd = new_space();
	unsigned long long t0;
	unsigned long i;
	__u32 done;

	for (i = 0; i + 1 < nr_ops; i += 2) {
		ops[i] = (struct shadow_mm_batch_op)
			BATCH_MMAP(SWIN, PAGE, RW, PRIV | MAP_FIXED);
		ops[i + 1] = (struct shadow_mm_batch_op)
			BATCH_MUNMAP(SWIN, PAGE);
	}
	t0 = now_ns();
	while (pairs < want_pairs) {
		CHECK(_shadow_batch(mfd, 0, ops, nr_ops, &done));
		if (done != nr_ops || ops[nr_ops - 1].out_result)
			die("batch", EIO);
		pairs += nr_ops / 2;
	}
	t0 = now_ns() - t0;
	close(mfd);
	free(ops);
	return (double)t0 / pairs;
}

/*
 * The two halves of a pair apart: @nr one-page mmaps (or munmaps) in one
 * batch, one page apart so that none merge, the other half done untimed
 * by one call; ns per operation.
 */
static double half_batch_s(unsigned long nr, bool munmaps)
{
	struct shadow_mm_batch_op *ops = calloc(nr, sizeof(*ops));
	struct shadow_mm_batch_op *unmaps = calloc(nr, sizeof(*unmaps));
	unsigned long long t = 0, t0;
	int mfd = new_space();
	long done_ops = 0;
	unsigned long i;
	__u32 done;

	for (i = 0; i < nr; i++) {
		ops[i] = (struct shadow_mm_batch_op)
			BATCH_MMAP(SWIN + 2 * i * PAGE, PAGE, RW,
				   PRIV | MAP_FIXED);
		unmaps[i] = (struct shadow_mm_batch_op)
			BATCH_MUNMAP(SWIN + 2 * i * PAGE, PAGE);
	}
	do {
		t0 = now_ns();
		CHECK(_shadow_batch(mfd, 0, ops, nr, &done));
		if (!munmaps)
			t += now_ns() - t0;
		if (done != nr || ops[nr - 1].out_result)
			die("batch mmap", EIO);
		t0 = now_ns();
		CHECK(_shadow_batch(mfd, 0, unmaps, nr, &done));
		if (munmaps)
			t += now_ns() - t0;
		if (done != nr || unmaps[nr - 1].out_result)
			die("batch munmap", EIO);
		done_ops += nr;
	} while (done_ops < cfg.loops);
	close(mfd);
	free(unmaps);
	free(ops);
	return (double)t / done_ops;
}

static double half_native(unsigned long nr, bool munmaps)
{
	unsigned long long t = 0, t0;
	long done_ops = 0;
	unsigned long i;

	do {
		t0 = now_ns();
		for (i = 0; i < nr; i++)
			nmap(NWIN + 2 * i * PAGE, PAGE, RW);
		if (!munmaps)
			t += now_ns() - t0;
		t0 = now_ns();
		for (i = 0; i < nr; i++)
			munmap((void *)(NWIN + 2 * i * PAGE), PAGE);
		if (munmaps)
			t += now_ns() - t0;
		done_ops += nr;
	} while (done_ops < cfg.loops);
	return (double)t / done_ops;
}

static double mmaps_s(unsigned long n) { return half_batch_s(n, false); }
static double mmaps_n(unsigned long n) { return half_native(n, false); }
static double munmaps_s(unsigned long n) { return half_batch_s(n, true); }
static double munmaps_n(unsigned long n) { return half_native(n, true); }

/*
 * The fixed cost of a call: munmap of a range where nothing is mapped
 * takes mmap_lock, finds no VMA and returns 0, on both sides.
 */
static double noop_s(unsigned long unused)
{
	int mfd = new_space();
	unsigned long long t0 = now_ns();
	long i;

	for (i = 0; i < cfg.loops; i++)
		CHECK(_shadow_munmap(mfd, SWIN, PAGE));
	t0 = now_ns() - t0;
	close(mfd);
	return (double)t0 / cfg.loops;
}

static double noop_n(unsigned long unused)
{
	unsigned long long t0 = now_ns();
	long i;

	for (i = 0; i < cfg.loops; i++)
		munmap((void *)NWIN, PAGE);
	return (double)(now_ns() - t0) / cfg.loops;
}

static double noop_batch_s(unsigned long nr_ops)
{
	struct shadow_mm_batch_op *ops = calloc(nr_ops, sizeof(*ops));
	int mfd = new_space();
	unsigned long long t0;
	long done_ops = 0;
	unsigned long i;
	__u32 done;

	for (i = 0; i < nr_ops; i++)
		ops[i] = (struct shadow_mm_batch_op)BATCH_MUNMAP(SWIN, PAGE);
	t0 = now_ns();
	while (done_ops < cfg.loops) {
		CHECK(_shadow_batch(mfd, 0, ops, nr_ops, &done));
		done_ops += done;
	}
	t0 = now_ns() - t0;
	close(mfd);
	free(ops);
	return (double)t0 / done_ops;
}

/*
 * The batch's own cost per operation: a munmap refused before the engine
 * looks at anything (an address not page aligned), run to the end with
 * SHADOW_BATCH_CONTINUE; native, the same munmap as a system call.
 */
static double einval_batch_s(unsigned long nr_ops)
{
	struct shadow_mm_batch_op *ops = calloc(nr_ops, sizeof(*ops));
	int mfd = new_space();
	unsigned long long t0;
	long done_ops = 0;
	unsigned long i;
	__u32 done;

	for (i = 0; i < nr_ops; i++)
		ops[i] = (struct shadow_mm_batch_op)
			BATCH_MUNMAP(SWIN + 1, PAGE);
	t0 = now_ns();
	while (done_ops < cfg.loops) {
		CHECK(_shadow_batch(mfd, SHADOW_BATCH_CONTINUE, ops, nr_ops,
				    &done));
		if (done != nr_ops || ops[nr_ops - 1].out_result != -EINVAL)
			die("batch", EIO);
		done_ops += done;
	}
	t0 = now_ns() - t0;
	close(mfd);
	free(ops);
	return (double)t0 / done_ops;
}

static double einval_n(unsigned long unused)
{
	unsigned long long t0 = now_ns();
	long i;

	for (i = 0; i < cfg.loops; i++)
		if (!munmap((void *)(NWIN + 1), PAGE))
			die("munmap", EIO);
	return (double)(now_ns() - t0) / cfg.loops;
}

/* --- faults ------------------------------------------------------------- */

static double fault_s(unsigned long pages, unsigned int flags, bool pagewise)
{
	int mfd = new_space();
	unsigned long long t0;
	unsigned long i;

	CHECK(_shadow_mmap(mfd, SWIN, pages * PAGE, RW, PRIV | MAP_FIXED,
			   NULL));
	t0 = now_ns();
	if (pagewise) {
		for (i = 0; i < pages; i++)
			CHECK(_shadow_fault(mfd, SWIN + i * PAGE, PAGE, flags,
					    NULL));
	} else {
		CHECK(_shadow_fault(mfd, SWIN, pages * PAGE, flags, NULL));
	}
	t0 = now_ns() - t0;
	close(mfd);
	return (double)t0 / pages;
}

static double fault_n(unsigned long pages, bool write)
{
	char *p = nmap(NWIN, pages * PAGE, RW);
	unsigned long long t0 = now_ns();
	unsigned long i;
	char sum = 0;

	for (i = 0; i < pages; i++) {
		if (write)
			p[i * PAGE] = 1;
		else
			sum += p[i * PAGE];
	}
	t0 = now_ns() - t0;
	sink += sum;
	munmap(p, pages * PAGE);
	return (double)t0 / pages;
}

static double wfault_range_s(unsigned long n)
{
	return fault_s(n, SHADOW_FAULT_WRITE, false);
}

static double wfault_page_s(unsigned long n)
{
	return fault_s(n, SHADOW_FAULT_WRITE, true);
}

static double wfault_n(unsigned long n) { return fault_n(n, true); }
static double rfault_s(unsigned long n) { return fault_s(n, 0, false); }
static double rfault_n(unsigned long n) { return fault_n(n, false); }

/* COW break in the parent after fork, the child holding the pages. */
/* The flags of the shadow forks: 0, or SHADOW_FORK_ODF for the odf_ rows. */
static unsigned int fork_flags;

static double cow_s(unsigned long pages)
{
	int mfd = new_space(), child;
	unsigned long long t0;

	CHECK(_shadow_mmap(mfd, SWIN, pages * PAGE, RW, PRIV | MAP_FIXED,
			   NULL));
	CHECK(_shadow_fault(mfd, SWIN, pages * PAGE, SHADOW_FAULT_WRITE,
			    NULL));
	child = _shadow_fork(mfd, fork_flags, NULL);
	CHECK(child);
	t0 = now_ns();
	CHECK(_shadow_fault(mfd, SWIN, pages * PAGE, SHADOW_FAULT_WRITE,
			    NULL));
	t0 = now_ns() - t0;
	close(child);
	close(mfd);
	return (double)t0 / pages;
}

static double cow_n(unsigned long pages)
{
	char *p = nmap(NWIN, pages * PAGE, RW);
	unsigned long long t0;
	int pipefd[2], status;
	pid_t pid;
	char c;

	touch(p, pages * PAGE);
	if (pipe(pipefd))
		die("pipe", errno);
	pid = fork();
	if (!pid) {
		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pipefd[0]);
	t0 = now_ns();
	touch(p, pages * PAGE);
	t0 = now_ns() - t0;
	close(pipefd[1]);
	waitpid(pid, &status, 0);
	munmap(p, pages * PAGE);
	return (double)t0 / pages;
}

/* --- fork + exit ----------------------------------------------------------- */

/* A shadow space with @mib MiB of private memory written. */
static int touched_space(unsigned long mib)
{
	int mfd = new_space();

	if (mib) {
		CHECK(_shadow_mmap(mfd, SWIN, mib * MIB, RW, PRIV | MAP_FIXED,
				   NULL));
		CHECK(_shadow_fault(mfd, SWIN, mib * MIB, SHADOW_FAULT_WRITE,
				    NULL));
	}
	return mfd;
}

static double fork_time_s(int mfd)
{
	unsigned long long t0 = now_ns();
	int child = _shadow_fork(mfd, fork_flags, NULL);

	CHECK(child);
	close(child);		/* its exit */
	return now_ns() - t0;
}

static double fork_time_n(void)
{
	unsigned long long t0 = now_ns();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork", errno);
	if (!pid)
		_exit(0);
	waitpid(pid, &status, 0);
	return now_ns() - t0;
}

static double fork_mem_s(unsigned long mib)
{
	int mfd = touched_space(mib);
	double t = fork_time_s(mfd);

	close(mfd);
	return t;
}

static double fork_mem_n(unsigned long mib)
{
	char *p = NULL;
	double t;

	if (mib) {
		p = nmap(NWIN, mib * MIB, RW);
		touch(p, mib * MIB);
	}
	t = fork_time_n();
	if (p)
		munmap(p, mib * MIB);
	return t;
}

/* VMAs of one page, alternately read-only and writable: none merge. */
static void shadow_vmas(int mfd, unsigned long base, unsigned long n)
{
	struct shadow_mm_batch_op *ops = calloc(4096, sizeof(*ops));
	unsigned long i = 0, k;
	__u32 done;

	while (i < n) {
		for (k = 0; k < 4096 && i < n; k++, i++)
			ops[k] = (struct shadow_mm_batch_op)
				BATCH_MMAP(base + i * PAGE, PAGE,
					   i % 2 ? PROT_READ : RW,
					   PRIV | MAP_FIXED);
		CHECK(_shadow_batch(mfd, 0, ops, k, &done));
		if (done != k || ops[k - 1].out_result)
			die("batch mmap", ops[done - 1].out_result);
	}
	free(ops);
}

static void native_vmas(unsigned long base, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		nmap(base + i * PAGE, PAGE, i % 2 ? PROT_READ : RW);
}

static unsigned long native_map_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long n = 0;
	int c;

	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* fork with N VMAs in all: the window holds N minus what is there. */
static double fork_vmas_s(unsigned long n)
{
	int mfd = new_space();
	double t;

	shadow_vmas(mfd, SWIN, n);
	t = fork_time_s(mfd);
	close(mfd);
	return t;
}

static double fork_vmas_n(unsigned long n)
{
	unsigned long have = native_map_count();
	unsigned long add = n > have ? n - have : 0;
	double t;

	native_vmas(NWIN, add);
	t = fork_time_n();
	munmap((void *)NWIN, add * PAGE);
	return t;
}

/* --- munmap of populated ranges ------------------------------------------ */

/* The time of munmap of the @mib MiB at SWIN of space @mfd, which it closes. */
static double munmap_time_s(int mfd, unsigned long mib)
{
	unsigned long long t0 = now_ns();

	CHECK(_shadow_munmap(mfd, SWIN, mib * MIB));
	t0 = now_ns() - t0;
	close(mfd);
	return t0;
}

/* The time of munmap of the @mib MiB at @p, in this process. */
static double munmap_time_n(char *p, unsigned long mib)
{
	unsigned long long t0 = now_ns();

	munmap(p, mib * MIB);
	return now_ns() - t0;
}

static double munmap_s(unsigned long mib)
{
	return munmap_time_s(touched_space(mib), mib);
}

static double munmap_n(unsigned long mib)
{
	char *p = nmap(NWIN, mib * MIB, RW);

	touch(p, mib * MIB);
	return munmap_time_n(p, mib);
}

/* --- transparent huge pages ---------------------------------------------- */

#define HPAGE		(2 * MIB)

/* The fewest kB mapped by huge pages in a repetition of the row, per side. */
static long thp_kb_s, thp_kb_n;

static void thp_seen(long *worst, long kb)
{
	if (*worst < 0 || kb < *worst)
		*worst = kb;
}

/*
 * Free 2 MiB blocks before each side's repetition, untimed: a native fault
 * of a VMA without MADV_HUGEPAGE does not compact (defrag "madvise"), the
 * engine's allocation may, and the 4 KiB rows and the other side's last
 * repetition leave memory fragmented.
 */
static void thp_compact(void)
{
	int fd = open("/proc/sys/vm/compact_memory", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, "1", 1) < 0)
		printf("thp: note: compact_memory: %s\n", strerror(errno));
	close(fd);
}

/*
 * A shadow space in THP "always", whatever prctl() says of this process,
 * memory compacted.
 */
static int thp_space(void)
{
	int mfd;

	thp_compact();
	mfd = _shadow_create(cfg.dev, 0, NULL);

	if (mfd < 0)
		die("SHADOW_MM_CREATE", mfd);
	CHECK(_shadow_set_thp(mfd, SHADOW_THP_SET_MODE | SHADOW_THP_SET_DISABLE,
			      SHADOW_MM_THP_ALWAYS, 0, 0, NULL));
	return mfd;
}

/*
 * One write fault per 2 MiB on both sides: each maps a huge page (SWIN
 * and NWIN are 2 MiB aligned), where a 4 KiB stride would add 511 writes
 * to a mapped page per fault natively and 511 lookups in the engine.
 */
static void thp_fault_range_s(int mfd, unsigned long len)
{
	unsigned long off;

	for (off = 0; off < len; off += HPAGE)
		CHECK(_shadow_fault(mfd, SWIN + off, PAGE, SHADOW_FAULT_WRITE,
				    NULL));
}

static void thp_touch(char *p, unsigned long len)
{
	unsigned long off;

	for (off = 0; off < len; off += HPAGE)
		p[off] = 1;
}

/* What the engine maps with huge pages (smaps' AnonHugePages). */
static void thp_check_s(int mfd)
{
	struct shadow_mm_stats st;

	CHECK(_shadow_get_stats(mfd, &st));
	thp_seen(&thp_kb_s, st.out_anon_thps * (HPAGE / 1024));
}

static void thp_check_n(void)
{
	thp_seen(&thp_kb_n, smaps_entry_kb("/proc/self/smaps", NWIN,
					   "AnonHugePages"));
}

/* A THP space with @mib MiB written. */
static int thp_touched_space(unsigned long mib)
{
	int mfd = thp_space();

	CHECK(_shadow_mmap(mfd, SWIN, mib * MIB, RW, PRIV | MAP_FIXED, NULL));
	thp_fault_range_s(mfd, mib * MIB);
	thp_check_s(mfd);
	return mfd;
}

static char *thp_touched_native(unsigned long mib)
{
	char *p;

	thp_compact();
	p = nmap(NWIN, mib * MIB, RW);
	thp_touch(p, mib * MIB);
	thp_check_n();
	return p;
}

static double thp_fault_s(unsigned long mib)
{
	int mfd = thp_space();
	unsigned long long t0;

	CHECK(_shadow_mmap(mfd, SWIN, mib * MIB, RW, PRIV | MAP_FIXED, NULL));
	t0 = now_ns();
	thp_fault_range_s(mfd, mib * MIB);
	t0 = now_ns() - t0;
	thp_check_s(mfd);
	close(mfd);
	return (double)t0 / (mib * MIB / HPAGE);
}

static double thp_fault_n(unsigned long mib)
{
	unsigned long long t0;
	char *p;

	thp_compact();
	p = nmap(NWIN, mib * MIB, RW);
	t0 = now_ns();
	thp_touch(p, mib * MIB);
	t0 = now_ns() - t0;
	thp_check_n();
	munmap(p, mib * MIB);
	return (double)t0 / (mib * MIB / HPAGE);
}

static double thp_fork_s(unsigned long mib)
{
	int mfd = thp_touched_space(mib);
	double t = fork_time_s(mfd);

	close(mfd);
	return t;
}

static double thp_fork_n(unsigned long mib)
{
	char *p = thp_touched_native(mib);
	double t = fork_time_n();

	munmap(p, mib * MIB);
	return t;
}

static double thp_munmap_s(unsigned long mib)
{
	return munmap_time_s(thp_touched_space(mib), mib);
}

static double thp_munmap_n(unsigned long mib)
{
	return munmap_time_n(thp_touched_native(mib), mib);
}

/*
 * A THP row, and whether huge pages really mapped the memory on both
 * sides: a fallback to 4 KiB pages (fragmented memory, a kernel whose
 * mode stayed "never") is a note beside the row, not a failure.
 */
static void thp_measure(const char *name, const char *unit, bench_fn shadow,
			bench_fn native)
{
	long want_kb = cfg.thp_mib * 1024;

	thp_kb_s = -1;
	thp_kb_n = -1;
	measure("thp", name, cfg.thp_mib, unit, shadow, native);
	printf("thp: %s: %s: huge pages mapped %ld kB shadow, %ld kB native, of %ld",
	       thp_kb_s < want_kb || thp_kb_n < want_kb ? "note" : "check",
	       name, thp_kb_s, thp_kb_n, want_kb);
	printf(" (the fewest of %d repetitions)\n", cfg.reps);
}

/*
 * The thp group: the shadow space in THP "always" against this process
 * with huge pages on (transparent_hugepage/enabled "always" while the
 * group runs, PR_SET_THP_DISABLE lifted), both in 2 MiB aligned windows.
 */
static void bench_thp(__u64 features)
{
	char saved[16] = "";
	bool disabled;

	if (!(features & SHADOW_MM_FEATURE_THP)) {
		printf("thp: skipped: the module has no SHADOW_MM_FEATURE_THP\n");
		return;
	}
	if (!thp_sysfs_present()) {
		printf("thp: skipped: the kernel has no transparent huge pages (no %s)\n",
		       THP_SYSFS_ENABLED);
		return;
	}
	if (thp_sysfs_save(saved, sizeof(saved)) || strcmp(saved, "always")) {
		if (thp_sysfs_set("always"))
			printf("thp: note: %s is [%s], not \"always\", and cannot be set\n",
			       THP_SYSFS_ENABLED, saved);
	} else {
		saved[0] = 0;	/* nothing to put back */
	}
	disabled = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1;
	if (disabled && prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0))
		die("PR_SET_THP_DISABLE", errno);

	thp_measure("thp_write_fault_MiB", "ns/2MiB", thp_fault_s, thp_fault_n);
	thp_measure("thp_fork+exit_touched_MiB", "ns/fork", thp_fork_s,
		    thp_fork_n);
	thp_measure("thp_munmap_populated_MiB", "ns/op", thp_munmap_s,
		    thp_munmap_n);

	if (disabled && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		die("PR_SET_THP_DISABLE", errno);
	thp_sysfs_restore(saved);
}

/* --- find_vma-bound operations against the VMA count ----------------------- */

static unsigned long nvmas_cur;	/* VMAs in the window */
static int vma_mfd = -1;	/* the shadow space holding them */
static int vma_op;		/* 0 mprotect, 1 fault, 2 unmap+map */

/* A pseudo-random page of the window, the same sequence on both sides. */
static unsigned long pick(unsigned long *seed)
{
	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (*seed >> 33) % nvmas_cur;
}

static double vma_op_s(unsigned long unused)
{
	unsigned long seed = 1, i, pg;
	unsigned long long t0 = now_ns();

	for (i = 0; i < cfg.loops; i++) {
		unsigned long addr;
		int prot;

		pg = pick(&seed);
		addr = SWIN + pg * PAGE;
		prot = pg % 2 ? PROT_READ : RW;
		switch (vma_op) {
		case 0:
			CHECK(_shadow_mprotect(vma_mfd, addr, PAGE, prot));
			break;
		case 1:
			CHECK(_shadow_madvise(vma_mfd, addr, PAGE,
					      MADV_DONTNEED));
			CHECK(_shadow_fault(vma_mfd, addr, PAGE, 0, NULL));
			break;
		default:
			CHECK(_shadow_munmap(vma_mfd, addr, PAGE));
			CHECK(_shadow_mmap(vma_mfd, addr, PAGE, prot,
					   PRIV | MAP_FIXED, NULL));
		}
	}
	return (double)(now_ns() - t0) / cfg.loops;
}

static double vma_op_n(unsigned long unused)
{
	unsigned long seed = 1, i, pg;
	unsigned long long t0 = now_ns();
	char sum = 0;

	for (i = 0; i < cfg.loops; i++) {
		char *addr;
		int prot;

		pg = pick(&seed);
		addr = (char *)(NWIN + pg * PAGE);
		prot = pg % 2 ? PROT_READ : RW;
		switch (vma_op) {
		case 0:
			CHECK(mprotect(addr, PAGE, prot) ? -errno : 0);
			break;
		case 1:
			CHECK(madvise(addr, PAGE, MADV_DONTNEED) ? -errno : 0);
			sum += *addr;
			break;
		default:
			munmap(addr, PAGE);
			nmap((unsigned long)addr, PAGE, prot);
		}
	}
	t0 = now_ns() - t0;
	sink += sum;
	return (double)t0 / cfg.loops;
}

static void bench_vmas(void)
{
	static const char * const names[] = {
		"mprotect_1page", "dontneed+fault", "munmap+mmap_1page",
	};
	int i, op;

	for (i = 0; i < cfg.nr_vmas; i++) {
		unsigned long have = native_map_count();
		unsigned long n = cfg.vmas[i];

		/* The native process stays under max_map_count (65530). */
		if (n + have + 16 > 65530)
			n = 65530 - have - 16;
		nvmas_cur = n;
		vma_mfd = new_space();
		shadow_vmas(vma_mfd, SWIN, n);
		native_vmas(NWIN, n);
		for (op = 0; op < 3; op++) {
			vma_op = op;
			measure("vmas", names[op], n, "ns/op", vma_op_s,
				vma_op_n);
		}
		munmap((void *)NWIN, n * PAGE);
		close(vma_mfd);
	}
}

/* --- populate 1 GiB against memset ----------------------------------------- */

static double populate_s(unsigned long mib)
{
	int mfd = new_space();
	unsigned long long t0;

	CHECK(_shadow_mmap(mfd, SWIN, mib * MIB, RW, PRIV | MAP_FIXED, NULL));
	t0 = now_ns();
	CHECK(_shadow_madvise(mfd, SWIN, mib * MIB, MADV_POPULATE_WRITE));
	t0 = now_ns() - t0;
	close(mfd);
	return (double)t0 / (mib * MIB / PAGE);
}

/* memset of memory already there: zeroing at the memory's speed. */
static double memset_n(unsigned long mib)
{
	char *p = nmap(NWIN, mib * MIB, RW);
	unsigned long long t0;

	touch(p, mib * MIB);
	t0 = now_ns();
	memset(p, 0, mib * MIB);
	t0 = now_ns() - t0;
	munmap(p, mib * MIB);
	return (double)t0 / (mib * MIB / PAGE);
}

/* The kernel populating fresh memory natively (faults and zeroing). */
static double populate_n(unsigned long mib)
{
	char *p = nmap(NWIN, mib * MIB, RW);
	unsigned long long t0 = now_ns();

	CHECK(madvise(p, mib * MIB, MADV_POPULATE_WRITE) ? -errno : 0);
	t0 = now_ns() - t0;
	munmap(p, mib * MIB);
	return (double)t0 / (mib * MIB / PAGE);
}

/* --- memory ---------------------------------------------------------------- */

/* Bytes of every slab cache in use, and one cache's object size. */
static long slab_bytes(const char *cache, long *objsize)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512], name[64];
	long active, num, size, total = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &num,
			   &size) != 4)
			continue;
		total += active * size;
		if (cache && objsize && !strcmp(name, cache))
			*objsize = size;
	}
	fclose(f);
	return total;
}

static void one(const char *group, const char *name, unsigned long param,
		const char *unit, double s, double n)
{
	struct stat3 a = { s, s, s }, b = { n, n, n };

	row(group, name, param, unit, 1, a, b);
}

static void bench_memory(void)
{
	unsigned long n = cfg.smoke ? 512 : 10000, spaces = cfg.smoke ? 64 : 1000;
	long vma_size = 0, mm_size = 0, s0, s1, pgd;
	double shadow_vma, native_vma;
	int mfd, *fds;
	unsigned long i;
	char buf[64] = "";
	FILE *f;

	sync();
	s0 = slab_bytes("vm_area_struct", &vma_size);
	mfd = new_space();
	shadow_vmas(mfd, SWIN, n);
	s1 = slab_bytes(NULL, NULL);
	shadow_vma = (double)(s1 - s0) / n;
	close(mfd);

	s0 = slab_bytes(NULL, NULL);
	native_vmas(NWIN, n);
	s1 = slab_bytes(NULL, NULL);
	native_vma = (double)(s1 - s0) / n;
	munmap((void *)NWIN, n * PAGE);
	one("memory", "bytes_per_vma", n, "bytes", shadow_vma, native_vma);
	one("memory", "bytes_per_vma_vs_sizeof", n, "bytes", shadow_vma,
	    vma_size);

	/*
	 * An empty address space: its slab objects (the struct, the fd's
	 * file and task) and its PGD page, which shadow_mm_alloc() takes
	 * from the page allocator.
	 */
	fds = calloc(spaces, sizeof(*fds));
	s0 = slab_bytes("mm_struct", &mm_size);
	for (i = 0; i < spaces; i++)
		fds[i] = new_space();
	s1 = slab_bytes(NULL, NULL);
	for (i = 0; i < spaces; i++)
		close(fds[i]);
	free(fds);
	/* PTI doubles the PGD (a user and a kernel copy). */
	pgd = PAGE;
	f = fopen("/sys/devices/system/cpu/vulnerabilities/meltdown", "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f) && strstr(buf, "PTI"))
			pgd = 2 * PAGE;
		fclose(f);
	}
	one("memory", "bytes_per_empty_mm", spaces, "bytes",
	    (double)(s1 - s0) / spaces + PAGE, (double)mm_size + pgd);
}

/* --- main ------------------------------------------------------------------ */

static int parse_list(const char *s, unsigned long *v)
{
	int n = 0;

	while (s && *s && n < MAX_LIST) {
		v[n++] = strtoul(s, (char **)&s, 0);
		if (*s == ',')
			s++;
	}
	return n;
}

static void configure(int argc, char **argv)
{
	const char *sizes = getenv("BENCH_SIZES"), *vmas = getenv("BENCH_VMAS");
	const char *csv = NULL, *reps = getenv("BENCH_REPS");
	unsigned long largest = 0;
	int i;

	cfg.smoke = getenv("BENCH_SMOKE") && *getenv("BENCH_SMOKE") == '1';
	cfg.quick = getenv("BENCH_QUICK") && *getenv("BENCH_QUICK") == '1';
	cfg.only = getenv("BENCH_ONLY");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke")) {
			cfg.smoke = true;
		} else if (!strcmp(argv[i], "--quick")) {
			cfg.quick = true;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = argv[++i];
		} else if (!strcmp(argv[i], "--csv") && i + 1 < argc) {
			csv = argv[++i];
		} else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			sizes = argv[++i];
		} else if (!strcmp(argv[i], "--vmas") && i + 1 < argc) {
			vmas = argv[++i];
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			cfg.only = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--smoke] [--quick] [--reps N] [--csv FILE]\n"
				"       [--sizes MiB,...] [--vmas N,...] [--only GROUPS]\n",
				argv[0]);
			exit(2);
		}
	}
	if (cfg.smoke) {
		cfg.reps = 3;
		cfg.loops = 16;
		cfg.wis_mib = 1;
		cfg.fault_pages = 64;
		sizes = sizes ?: "0,1";
		vmas = vmas ?: "1,100";
		cfg.populate_mib = 1;
		cfg.thp_mib = 4;
	} else if (cfg.quick) {
		cfg.reps = 3;
		cfg.loops = 500;
		cfg.wis_mib = 16;
		cfg.fault_pages = 1024;
		sizes = sizes ?: "0,1,64";
		vmas = vmas ?: "1,100,10000";
		cfg.populate_mib = 64;
		cfg.thp_mib = 64;
	} else {
		cfg.reps = 5;
		cfg.loops = 2000;
		cfg.wis_mib = 128;
		cfg.fault_pages = 4096;
		sizes = sizes ?: "0,1,64,1024";
		vmas = vmas ?: "1,100,10000,65530";
		cfg.populate_mib = 1024;
		cfg.thp_mib = 1024;
	}
	if (reps)
		cfg.reps = atoi(reps);
	if (cfg.reps < 1 || cfg.reps > MAX_REPS)
		cfg.reps = 3;
	cfg.nr_sizes = parse_list(sizes, cfg.sizes);
	/*
	 * The thp rows take the largest size, in whole huge pages, at least
	 * two, at most the mode's (1 GiB: a 2 GiB VM holds one side's GiB
	 * and its fork at a time).
	 */
	for (i = 0; i < cfg.nr_sizes; i++)
		if (cfg.sizes[i] > largest)
			largest = cfg.sizes[i];
	largest = largest < 4 ? 4 : (largest + 1) & ~1UL;
	if (largest < cfg.thp_mib)
		cfg.thp_mib = largest;
	cfg.nr_vmas = parse_list(vmas, cfg.vmas);
	if (csv) {
		cfg.csv = fopen(csv, "w");
		if (!cfg.csv)
			die(csv, errno);
		fprintf(cfg.csv, "%s\n", CSV_HEADER);
	}
}

int main(int argc, char **argv)
{
	static const unsigned long forks_vmas[] = { 21, 421, 1621, 6421 };
	unsigned long largest = 0;
	__u64 features;
	int i;

	configure(argc, argv);
	if (!(getenv("BENCH_THP") && *getenv("BENCH_THP") == '1') &&
	    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		die("PR_SET_THP_DISABLE", errno);
	cfg.dev = shadow_open_dev();
	if (cfg.dev < 0)
		die(SHADOW_DEV, cfg.dev);
	features = shadow_features(cfg.dev);
	cfg.odf = features & SHADOW_MM_FEATURE_ODF;

	printf("%-9s %-24s %10s %-8s %12s %12s %12s %12s %12s %12s %8s\n",
	       "group", "operation", "param", "unit", "shadow_min", "shadow_med",
	       "shadow_max", "native_min", "native_med", "native_max",
	       "ratio");
	printf("csv:%s\n", CSV_HEADER);

	if (want("wis")) {
		measure("wis", "mmap1", 1, "ns/op", mmap1_s, mmap1_n);
		measure("wis", "mmap1", 2, "ns/op", mmap1_s, mmap1_n);
		measure("wis", "page_fault1", 1, "ns/page", pf1_s, pf1_n);
		measure("wis", "page_fault1", 2, "ns/page", pf1_s, pf1_n);
	}
	if (want("pair")) {
		measure("pair", "mmap+munmap_1page", 1, "ns/pair",
			pair_single_s, pair_native);
		if (features & SHADOW_MM_FEATURE_BATCH) {
			measure("pair", "batched_mmap+munmap", 4096, "ns/pair",
				pair_batch_s, pair_native);
			measure("pair", "batched_vs_single", 4096, "ns/pair",
				pair_batch_s, pair_single_s);
			measure("pair", "batched_mmap_only", 2048, "ns/op",
				mmaps_s, mmaps_n);
			measure("pair", "batched_munmap_only", 2048, "ns/op",
				munmaps_s, munmaps_n);
		}
	}
	if (want("noop")) {
		measure("noop", "munmap_nothing", 1, "ns/op", noop_s, noop_n);
		if (features & SHADOW_MM_FEATURE_BATCH) {
			measure("noop", "batched_munmap_nothing", 4096, "ns/op",
				noop_batch_s, noop_n);
			measure("noop", "batched_munmap_einval", 4096, "ns/op",
				einval_batch_s, einval_n);
		}
	}
	if (want("fault")) {
		measure("fault", "write_fault_range", cfg.fault_pages,
			"ns/page", wfault_range_s, wfault_n);
		measure("fault", "write_fault_pagewise", cfg.fault_pages,
			"ns/page", wfault_page_s, wfault_n);
		measure("fault", "read_fault_zeropage", cfg.fault_pages,
			"ns/page", rfault_s, rfault_n);
		measure("fault", "cow_break_after_fork", cfg.fault_pages,
			"ns/page", cow_s, cow_n);
		if (cfg.odf) {
			/* The first writes break the shared tables too. */
			fork_flags = SHADOW_FORK_ODF;
			measure("fault", "odf_cow_break_after_fork",
				cfg.fault_pages, "ns/page", cow_s, cow_n);
			fork_flags = 0;
		}
	}
	if (want("fork")) {
		for (i = 0; i < cfg.nr_sizes; i++) {
			fork_flags = 0;
			measure("fork", "fork+exit_touched_MiB", cfg.sizes[i],
				"ns/fork", fork_mem_s, fork_mem_n);
			if (cfg.odf) {
				fork_flags = SHADOW_FORK_ODF;
				measure("fork", "odf_fork+exit_touched_MiB",
					cfg.sizes[i], "ns/fork", fork_mem_s,
					fork_mem_n);
				fork_flags = 0;
			}
		}
		for (i = 0; i < 4; i++) {
			if (cfg.smoke && i > 1)
				break;
			measure("fork", "fork+exit_vmas", forks_vmas[i],
				"ns/fork", fork_vmas_s, fork_vmas_n);
		}
	}
	if (want("munmap")) {
		for (i = 0; i < cfg.nr_sizes; i++)
			if (cfg.sizes[i])
				measure("munmap", "munmap_populated_MiB",
					cfg.sizes[i], "ns/op", munmap_s,
					munmap_n);
	}
	if (want("thp"))
		bench_thp(features);
	if (want("vmas"))
		bench_vmas();
	if (want("populate")) {
		for (i = 0; i < cfg.nr_sizes; i++)
			if (cfg.sizes[i] > largest)
				largest = cfg.sizes[i];
		if (cfg.populate_mib < largest)
			largest = cfg.populate_mib;
		largest = largest ?: 1;
		measure("populate", "populate_vs_memset_MiB", largest,
			"ns/page", populate_s, memset_n);
		measure("populate", "populate_vs_native_MiB", largest,
			"ns/page", populate_s, populate_n);
	}
	if (want("memory"))
		bench_memory();
	if (cfg.csv)
		fclose(cfg.csv);
	close(cfg.dev);
	printf("shadow_mm_bench: done\n");
	return 0;
}
