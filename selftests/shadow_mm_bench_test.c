// SPDX-License-Identifier: GPL-2.0
/*
 * The smoke run of shadow_mm_bench (make bench's program, tiny sizes): it
 * must exit 0 and write a CSV whose every row is sane: min <= median <=
 * max on both sides, costs positive (on a clock finer than 1 us), the
 * ratio that of the medians, and every group present. The thp rows
 * (fault, fork and munmap with transparent huge pages on both sides) are
 * there, each with its line saying how much huge pages mapped, or the
 * bench printed why it skipped them (a kernel without THP). No figure is
 * judged: no time gates here.
 */
#include <limits.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define CSV	"/tmp/shadow_mm_bench_smoke.csv"
#define OUT	"/tmp/shadow_mm_bench_smoke.out"

static int run_bench(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		int out = open(OUT, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (out < 0)
			_exit(126);
		dup2(out, 1);
		execlp("shadow_mm_bench", "shadow_mm_bench", "--smoke",
		       "--csv", CSV, NULL);
		execl("./shadow_mm_bench", "shadow_mm_bench", "--smoke",
		      "--csv", CSV, NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/*
 * The step of CLOCK_MONOTONIC as the bench sees it, in ns (the smallest of
 * five): tens of ns with the TSC, a jiffy (4 ms) if the kernel fell back
 * to jiffies.
 */
static long clock_step_ns(void)
{
	struct timespec a, b;
	long step = LONG_MAX, d;
	int i;

	for (i = 0; i < 5; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		do {
			clock_gettime(CLOCK_MONOTONIC, &b);
			d = (b.tv_sec - a.tv_sec) * 1000000000L +
			    b.tv_nsec - a.tv_nsec;
		} while (!d);
		if (d < step)
			step = d;
	}
	return step;
}

/* The lines of the bench's stdout that start with @prefix. */
static int count_lines(const char *prefix)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(OUT, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, prefix, strlen(prefix));
	fclose(f);
	return n;
}

FIXTURE(bench) {
	int unused;
};

FIXTURE_SETUP(bench)
{
}

FIXTURE_TEARDOWN(bench)
{
}

/* A few seconds alone; minutes on a loaded host under TCG. */
TEST_F_TIMEOUT(bench, smoke, 240)
{
	static const char * const groups[] = {
		"wis", "pair", "noop", "fault", "fork", "munmap", "vmas",
		"populate", "memory",
	};
	struct shadow_counts before = shadow_counts();
	bool seen[ARRAY_SIZE(groups)] = { false };
	char line[512], group[32], name[64], unit[16];
	double smin, smed, smax, nmin, nmed, nmax, ratio;
	unsigned long param;
	int reps, rows = 0, dev, fields, thp_rows = 0, thp_skips;
	bool fine_clock, thp;
	long step;
	unsigned int i;
	FILE *f;

	dev = shadow_open_dev();
	ASSERT_LE(0, dev);
	ASSERT_TRUE(shadow_features(dev) & SHADOW_MM_FEATURE_BATCH);
	thp = (shadow_features(dev) & SHADOW_MM_FEATURE_THP) &&
	      thp_sysfs_present();
	close(dev);

	step = clock_step_ns();
	fine_clock = step < 1000;
	if (!fine_clock)
		TH_LOG("CLOCK_MONOTONIC steps by %ld ns: times not judged", step);
	unlink(CSV);
	ASSERT_EQ(0, run_bench());
	f = fopen(CSV, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	EXPECT_EQ(0, strncmp(line, "group,name,param,unit,reps,", 27));
	while (fgets(line, sizeof(line), f)) {
		fields = sscanf(line,
				"%31[^,],%63[^,],%lu,%15[^,],%d,%lf,%lf,%lf,%lf,%lf,%lf,%lf",
				group, name, &param, unit, &reps, &smin, &smed,
				&smax, &nmin, &nmed, &nmax, &ratio);
		ASSERT_EQ(12, fields) TH_LOG("bad row: %s", line);
		rows++;
		EXPECT_LT(0, reps);
		EXPECT_LE(smin, smed);
		EXPECT_LE(smed, smax);
		EXPECT_LE(nmin, nmed);
		EXPECT_LE(nmed, nmax);
		/*
		 * Times are positive, and the ratio is that of the medians
		 * (to the CSV's rounding); the memory rows are differences of
		 * slab counts, which other activity can blur. A clock that
		 * steps by jiffies reads 0 for the smoke run's short loops.
		 */
		if (strcmp(group, "memory") && fine_clock) {
			double err = ratio - smed / nmed;

			EXPECT_LT(0, smin) TH_LOG("%s", line);
			EXPECT_LT(0, nmin) TH_LOG("%s", line);
			/* 1 %, or the CSV's four decimals for tiny ratios. */
			EXPECT_GT(0.01 * ratio + 0.00006, err < 0 ? -err : err)
				TH_LOG("%s", line);
		}
		for (i = 0; i < ARRAY_SIZE(groups); i++)
			if (!strcmp(group, groups[i]))
				seen[i] = true;
		if (!strcmp(group, "thp")) {
			thp_rows++;
			EXPECT_EQ(0, strncmp(name, "thp_", 4)) TH_LOG("%s", line);
			EXPECT_EQ(4, param) TH_LOG("%s", line);
		}
	}
	fclose(f);
	EXPECT_LE(20, rows);
	for (i = 0; i < ARRAY_SIZE(groups); i++)
		EXPECT_TRUE(seen[i]) TH_LOG("no rows of group %u", i);
	/*
	 * Fault, fork and munmap, each followed by a check (or a note when a
	 * side fell back to 4 KiB pages: not a failure); without THP in the
	 * kernel or the module, one line saying why and no rows.
	 */
	thp_skips = count_lines("thp: skipped: ");
	if (thp) {
		EXPECT_EQ(3, thp_rows);
		EXPECT_EQ(0, thp_skips);
		EXPECT_EQ(3, count_lines("thp: check: ") +
			     count_lines("thp: note: thp_"));
	} else {
		EXPECT_EQ(0, thp_rows);
		EXPECT_EQ(1, thp_skips);
	}
	unlink(CSV);
	unlink(OUT);
	/* The bench's address spaces are all gone. */
	shadow_expect_counts(_metadata, before);
}

TEST_HARNESS_MAIN
