// SPDX-License-Identifier: GPL-2.0
/*
 * shadow_mm_trace end to end: record shadow_mm_trace_prog (a known pattern
 * of memory-map calls, with failures) in this kernel, replay the log in a
 * shadow space through shadow_mm_cli, and expect no difference at all;
 * then plant one (a recorded errno, a recorded address) and expect it
 * reported, with exit status 1.
 */
#include <libgen.h>
#include <limits.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define MAX_OUTPUT	(256 * 1024)
#define LOG		"/tmp/shadow_mm_replay_test.log"
#define PLANTED		"/tmp/shadow_mm_replay_test.planted.log"

struct tools {
	char trace[PATH_MAX], prog[PATH_MAX], cli[PATH_MAX];
};

/* @name beside this program (the build tree), else in /bin (the VM). */
static int find_tool(char *buf, size_t size, const char *name)
{
	char exe[PATH_MAX / 2];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -1;
	exe[n] = '\0';
	snprintf(buf, size, "%s/%s", dirname(exe), name);
	if (!access(buf, X_OK))
		return 0;
	snprintf(buf, size, "/bin/%s", name);
	return access(buf, X_OK);
}

/* Run @cmd through sh with stdout and stderr into @out: its exit status. */
static int run_cmd(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0;
	int status;

	out[0] = '\0';
	if (!f)
		return -1;
	while (n < size - 1 && !feof(f))
		n += fread(out + n, 1, size - 1 - n, f);
	out[n] = '\0';
	status = pclose(f);
	fprintf(stderr, "# $ %s\n", cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Copy @from to @to with the first @old replaced by @new: 0 or -1. */
static int plant(const char *from, const char *to, const char *old,
		 const char *new)
{
	char *buf = calloc(1, MAX_OUTPUT), *hit;
	FILE *f = fopen(from, "r");
	size_t n;

	if (!buf || !f)
		return -1;
	n = fread(buf, 1, MAX_OUTPUT - 1, f);
	fclose(f);
	buf[n] = '\0';
	hit = strstr(buf, old);
	f = fopen(to, "w");
	if (!hit || !f)
		return -1;
	fwrite(buf, 1, hit - buf, f);
	fputs(new, f);
	fputs(hit + strlen(old), f);
	fclose(f);
	free(buf);
	return 0;
}

FIXTURE(replay) {
	struct tools t;
	char *out;
	char cmd[4 * PATH_MAX];
};

FIXTURE_SETUP(replay)
{
	int ret;

	self->out = calloc(1, MAX_OUTPUT);
	ASSERT_NE(NULL, self->out);
	ASSERT_EQ(0, find_tool(self->t.trace, PATH_MAX, "shadow_mm_trace"));
	ASSERT_EQ(0, find_tool(self->t.prog, PATH_MAX, "shadow_mm_trace_prog"));
	ASSERT_EQ(0, find_tool(self->t.cli, PATH_MAX, "shadow_mm_cli"));
	snprintf(self->cmd, sizeof(self->cmd), "%s record -o %s -- %s 2>&1",
		 self->t.trace, LOG, self->t.prog);
	ret = run_cmd(self->cmd, self->out, MAX_OUTPUT);
	fputs(self->out, stderr);
	/* The program checks each result against Linux's: exit 0. */
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(replay)
{
	unlink(LOG);
	unlink(PLANTED);
	free(self->out);
}

static int run_replay(FIXTURE_DATA(replay) * self, const char *log,
		      const char *extra)
{
	int ret;

	snprintf(self->cmd, sizeof(self->cmd), "%s replay --cli %s %s %s 2>&1",
		 self->t.trace, self->t.cli, extra, log);
	ret = run_cmd(self->cmd, self->out, MAX_OUTPUT);
	fputs(self->out, stderr);
	return ret;
}

/* The CLI has no -r or no import yet (shadow_mm_trace exits 2). */
static bool no_replay(int ret, const char *out)
{
	return ret == 2 && strstr(out, "no replay mode");
}

/* @path's text into @buf (NUL-terminated): 0, or -1. */
static int read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

/* Every call and every line of the final maps as the kernel had them. */
TEST_F(replay, same)
{
	char log[MAX_OUTPUT / 4];
	int ret;

	ASSERT_EQ(0, read_text(LOG, log, sizeof(log)));
	/* The pattern's failures are in the log, with their errnos. */
	EXPECT_NE(NULL, strstr(log, "fixed_noreplace  # => err EEXIST"));
	EXPECT_NE(NULL, strstr(log, "# => err EINVAL"));
	EXPECT_NE(NULL, strstr(log, "# => err ENOMEM"));
	EXPECT_NE(NULL, strstr(log, "# => err EFAULT"));
	EXPECT_NE(NULL, strstr(log, "\n#final "));
	EXPECT_NE(NULL, strstr(log, "\n#exit 0\n"));

	ret = run_replay(self, LOG, "");
	if (no_replay(ret, self->out))
		SKIP(return, "shadow_mm_cli has no -r or import yet");
	EXPECT_EQ(0, ret);
	EXPECT_NE(NULL, strstr(self->out, " same, 0 differ; final maps: "));
	EXPECT_NE(NULL, strstr(self->out, " same, 0 differ, "));
}

/* A recorded errno changed: that call, and only it, differs. */
TEST_F(replay, planted_errno)
{
	int ret;

	ASSERT_EQ(0, plant(LOG, PLANTED, "fixed_noreplace  # => err EEXIST",
			   "fixed_noreplace  # => err ENOMEM"));
	ret = run_replay(self, PLANTED, "");
	if (no_replay(ret, self->out))
		SKIP(return, "shadow_mm_cli has no -r or import yet");
	EXPECT_EQ(1, ret);
	EXPECT_NE(NULL, strstr(self->out,
			       "fixed_noreplace: recorded err ENOMEM, replayed err EEXIST\n"));
	EXPECT_NE(NULL, strstr(self->out, " same, 1 differ; final maps: "));
	/* Declared, the one difference is what was expected. */
	ret = run_replay(self, PLANTED, "--expect-differences 1");
	EXPECT_EQ(0, ret);
}

/*
 * Recorded with --legacy (setarch -L, ADDR_COMPAT_LAYOUT): the log says
 * so, replay imports the space legacy, and nothing differs. The first
 * mmap without a hint went bottom-up, below the default mmap_base.
 */
TEST_F(replay, legacy_layout)
{
	unsigned long long base = 0, addr = 0;
	char log[MAX_OUTPUT / 4], *s;
	int ret;

	snprintf(self->cmd, sizeof(self->cmd),
		 "%s record --legacy -o %s -- %s 2>&1", self->t.trace, PLANTED,
		 self->t.prog);
	ret = run_cmd(self->cmd, self->out, MAX_OUTPUT);
	fputs(self->out, stderr);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, read_text(PLANTED, log, sizeof(log)));
	ASSERT_NE(NULL, strstr(log, "\n#layout legacy\n"));
	s = strstr(log, "\n#mmap_base ");
	ASSERT_NE(NULL, s);
	base = strtoull(s + 12, NULL, 16);
	s = strstr(log, "\nmmap p - ");
	ASSERT_NE(NULL, s);
	s = strstr(s, "# => ok ");
	ASSERT_NE(NULL, s);
	addr = strtoull(s + 8, NULL, 16);
	fprintf(stderr, "# first mmap without a hint: 0x%llx, default mmap_base 0x%llx\n",
		addr, base);
	EXPECT_NE(0, addr);
	EXPECT_LT(addr, base / 2);

	ret = run_replay(self, PLANTED, "");
	if (no_replay(ret, self->out))
		SKIP(return, "shadow_mm_cli has no -r or import yet");
	EXPECT_EQ(0, ret);
	EXPECT_NE(NULL, strstr(self->out, " same, 0 differ; final maps: "));
	EXPECT_NE(NULL, strstr(self->out, " same, 0 differ, "));
}

/* A recorded address changed: mmap chose another one than the kernel. */
TEST_F(replay, planted_address)
{
	int ret;

	ASSERT_EQ(0, plant(LOG, PLANTED, "rw- private|anonymous  # => ok 0x7",
			   "rw- private|anonymous  # => ok 0x6"));
	ret = run_replay(self, PLANTED, "");
	if (no_replay(ret, self->out))
		SKIP(return, "shadow_mm_cli has no -r or import yet");
	EXPECT_EQ(1, ret);
	EXPECT_NE(NULL, strstr(self->out, ": recorded ok 0x6"));
	EXPECT_NE(NULL, strstr(self->out, ", replayed ok 0x7"));
}

#define THREAD_LOG	"/tmp/shadow_mm_replay_test.thread.log"

/*
 * A second thread's calls (shadow_mm_trace_prog thread) are in the log,
 * after a "# tid" line, and the main thread's later mmap, which fills the
 * hole the thread left, is replayed at the same address.
 */
TEST(thread)
{
	char *out = calloc(1, MAX_OUTPUT), *tid;
	char cmd[4 * PATH_MAX];
	struct tools t;
	int ret;

	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, find_tool(t.trace, PATH_MAX, "shadow_mm_trace"));
	ASSERT_EQ(0, find_tool(t.prog, PATH_MAX, "shadow_mm_trace_prog"));
	ASSERT_EQ(0, find_tool(t.cli, PATH_MAX, "shadow_mm_cli"));
	snprintf(cmd, sizeof(cmd), "%s record -o %s -- %s thread 2>&1 && cat %s",
		 t.trace, THREAD_LOG, t.prog, THREAD_LOG);
	ret = run_cmd(cmd, out, MAX_OUTPUT);
	fputs(out, stderr);
	ASSERT_EQ(0, ret);
	EXPECT_NE(NULL, strstr(out, "\n# thread "));
	tid = strstr(out, "\n# tid ");
	ASSERT_NE(NULL, tid);
	/* The thread's calls, its failure among them. */
	EXPECT_NE(NULL, strstr(tid, "\nmmap p - 0x13000 rw- private|anonymous  # => ok 0x"));
	EXPECT_NE(NULL, strstr(tid, " 0x1000 r--  # => err ENOMEM\n"));
	EXPECT_NE(NULL, strstr(tid, " --- private|anonymous|noreserve  # => ok 0x"));
	/* Then the main thread's, under its own tid again. */
	EXPECT_NE(NULL, strstr(tid + 1, "\n# tid "));
	EXPECT_NE(NULL, strstr(out, "\n#exit 0\n"));

	snprintf(cmd, sizeof(cmd), "%s replay --cli %s %s 2>&1", t.trace,
		 t.cli, THREAD_LOG);
	ret = run_cmd(cmd, out, MAX_OUTPUT);
	fputs(out, stderr);
	unlink(THREAD_LOG);
	if (no_replay(ret, out)) {
		free(out);
		SKIP(return, "shadow_mm_cli has no -r or import yet");
	}
	EXPECT_EQ(0, ret);
	EXPECT_NE(NULL, strstr(out, " same, 0 differ; final maps: "));
	EXPECT_NE(NULL, strstr(out, " same, 0 differ, "));
	free(out);
}

TEST_HARNESS_MAIN
