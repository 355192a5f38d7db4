// SPDX-License-Identifier: GPL-2.0
/*
 * shadow_mm_cli against golden files: every script of cli/ is run by the
 * CLI (with -x unless the variant says otherwise), its stdout and stderr
 * caught as one stream and followed by "[exit N]"; the result must equal
 * the script's .out file byte for byte. A mismatch prints the whole output,
 * each line prefixed "got| ". Also: every script in cli/ has a variant
 * here, the prompt mode on a terminal, and an import of this process.
 */
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <termios.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define MAX_OUTPUT	(1024 * 1024)

struct cli_paths {
	char cli[PATH_MAX];
	char dir[PATH_MAX];
};

/*
 * The CLI and the scripts: beside this program (the VM's
 * /kselftest/shadow_mm), else /bin/shadow_mm_cli and the source tree.
 */
static int find_paths(struct cli_paths *p)
{
	char exe[PATH_MAX], *dir;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -1;
	exe[n] = '\0';
	dir = dirname(exe);
	snprintf(p->cli, sizeof(p->cli), "%s/shadow_mm_cli", dir);
	if (access(p->cli, X_OK))
		snprintf(p->cli, sizeof(p->cli), "/bin/shadow_mm_cli");
	snprintf(p->dir, sizeof(p->dir), "%s/cli", dir);
	if (access(p->dir, R_OK))
		snprintf(p->dir, sizeof(p->dir), "%s/../../selftests/cli",
			 dir);
	return access(p->cli, X_OK) || access(p->dir, R_OK) ? -1 : 0;
}

/* The whole of a file, NUL-terminated, or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	if (!f)
		return NULL;
	buf = calloc(1, MAX_OUTPUT + 1);
	if (buf)
		*len = fread(buf, 1, MAX_OUTPUT, f);
	fclose(f);
	return buf;
}

/*
 * Run the CLI in @dir with @args, stdin from @in (a file in @dir, or
 * /dev/null); its output and "[exit N]" into @out.
 */
static size_t run_cli(const struct cli_paths *p, char *const args[],
		      const char *in, char *out)
{
	size_t len = 0;
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(pipefd))
		return 0;
	pid = fork();
	if (pid < 0)
		return 0;
	if (!pid) {
		int fd;

		if (chdir(p->dir))
			_exit(126);
		fd = open(in ? in : "/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(pipefd[1], 1) < 0 ||
		    dup2(pipefd[1], 2) < 0)
			_exit(126);
		close(pipefd[0]);
		execv(p->cli, args);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + len, MAX_OUTPUT - len)) > 0)
		len += n;
	if (len == MAX_OUTPUT)
		kill(pid, SIGKILL);
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status))
		len += snprintf(out + len, MAX_OUTPUT + 64 - len, "[exit %d]\n",
				WEXITSTATUS(status));
	else
		len += snprintf(out + len, MAX_OUTPUT + 64 - len,
				"[signal %d]\n", WTERMSIG(status));
	return len;
}

/* cli/NAME.sh -> cli/NAME.out */
static void out_path(char *buf, size_t size, const char *dir,
		     const char *script)
{
	size_t n = snprintf(buf, size, "%s/%s", dir, script);

	if (n >= 3 && n + 1 < size)
		strcpy(buf + n - 3, ".out");
}

/* Print @got a line at a time, and where it first differs from @want. */
static void show_diff(const char *want, const char *got)
{
	const char *w = want, *g = got, *line = got;
	int nr = 1;

	while (*w && *w == *g) {
		if (*g == '\n') {
			nr++;
			line = g + 1;
		}
		w++;
		g++;
	}
	fprintf(stderr, "# first difference on line %d, got: %.*s\n", nr,
		(int)strcspn(line, "\n"), line);
	for (line = got; *line; line += strcspn(line, "\n") + 1)
		fprintf(stderr, "got| %.*s\n", (int)strcspn(line, "\n"),
			line);
}

FIXTURE(cli) {
	struct cli_paths paths;
	struct shadow_counts base;
};

FIXTURE_VARIANT(cli) {
	const char *script;
	const char *flag;		/* "-x", "-n", "-rx" (replay)... */
	bool from_stdin;		/* the script on stdin, "-" */
};

/*
 * The golden outputs hold address-space ids and module-wide counters:
 * they assume no other address space exists.
 */
FIXTURE_SETUP(cli)
{
	ASSERT_EQ(0, find_paths(&self->paths));
	self->base = shadow_counts();
	ASSERT_EQ(0, self->base.mms);
	ASSERT_EQ(0, self->base.pages);
	ASSERT_EQ(0, self->base.shmem);
}

FIXTURE_TEARDOWN(cli)
{
	shadow_expect_counts(_metadata, self->base);
}

/* Placement, merging, MAP_FIXED, holes, and the errors of mmap/munmap. */
FIXTURE_VARIANT_ADD(cli, mmap_munmap) { .script = "mmap_munmap.sh" };
/* create ... legacy: the bottom-up layout against the default. */
FIXTURE_VARIANT_ADD(cli, create_legacy) { .script = "create_legacy.sh" };
/* Faults, the zero page, access with and without force, the walk. */
FIXTURE_VARIANT_ADD(cli, fault_access) { .script = "fault_access.sh" };
/* fork: copy-on-write, reuse, shared memory, fork advice, CLONE_VM. */
FIXTURE_VARIANT_ADD(cli, fork_cow) { .script = "fork_cow.sh" };
/* fork odf: shared PTE tables, their breaks and takeovers. */
FIXTURE_VARIANT_ADD(cli, fork_odf) { .script = "fork_odf.sh" };
/* Comments, strings, escapes, $var arithmetic, size suffixes, echo. */
FIXTURE_VARIANT_ADD(cli, syntax) { .script = "syntax.sh" };
/* The example of README.md. */
FIXTURE_VARIANT_ADD(cli, readme) { .script = "readme.sh" };
/* The demo that make run shows. */
FIXTURE_VARIANT_ADD(cli, demo) { .script = "demo.sh" };
/* A script read from stdin: "<stdin>" in messages. */
FIXTURE_VARIANT_ADD(cli, stdin) { .script = "stdin.sh", .from_stdin = true };
/* Every command, parsed but not run (-n). */
FIXTURE_VARIANT_ADD(cli, parse_only) { .script = "parse_only.sh", .flag = "-n" };
/* Run-time failures: exit 1, nothing after them runs. */
FIXTURE_VARIANT_ADD(cli, fail_errno) { .script = "fail_errno.sh" };
FIXTURE_VARIANT_ADD(cli, fail_success) { .script = "fail_success.sh" };
FIXTURE_VARIANT_ADD(cli, fail_other_errno) { .script = "fail_other_errno.sh" };
FIXTURE_VARIANT_ADD(cli, fail_unset_var) { .script = "fail_unset_var.sh" };
FIXTURE_VARIANT_ADD(cli, fail_no_mm) { .script = "fail_no_mm.sh" };
/* Malformed scripts: exit 2, nothing runs. */
FIXTURE_VARIANT_ADD(cli, bad_prot) { .script = "bad_prot.sh" };
FIXTURE_VARIANT_ADD(cli, bad_label) { .script = "bad_label.sh" };
FIXTURE_VARIANT_ADD(cli, bad_closed) { .script = "bad_closed.sh" };
FIXTURE_VARIANT_ADD(cli, bad_var) { .script = "bad_var.sh" };
FIXTURE_VARIANT_ADD(cli, bad_errno) { .script = "bad_errno.sh" };
FIXTURE_VARIANT_ADD(cli, bad_string) { .script = "bad_string.sh" };
FIXTURE_VARIANT_ADD(cli, bad_command) { .script = "bad_command.sh" };
FIXTURE_VARIANT_ADD(cli, bad_args) { .script = "bad_args.sh" };
FIXTURE_VARIANT_ADD(cli, bad_number) { .script = "bad_number.sh" };
FIXTURE_VARIANT_ADD(cli, bad_file) { .script = "bad_file.sh" };
/* Replay (-r): every line runs, one result each, expected errors too. */
FIXTURE_VARIANT_ADD(cli, replay) { .script = "replay.sh", .flag = "-rx" };
/* ... but a malformed script still runs nothing. */
FIXTURE_VARIANT_ADD(cli, replay_bad) { .script = "replay_bad.sh", .flag = "-rx" };
FIXTURE_VARIANT_ADD(cli, replay_bad_command) { .script = "replay_bad_command.sh", .flag = "-r" };
/* import of a saved maps and stat of a Debian program. */
FIXTURE_VARIANT_ADD(cli, import) { .script = "import.sh" };
/* import of bad input: line-numbered errors, nothing left mapped. */
FIXTURE_VARIANT_ADD(cli, import_bad) { .script = "import_bad.sh", .flag = "-rx" };
FIXTURE_VARIANT_ADD(cli, import_fail) { .script = "import_fail.sh" };
/* A static program's bss, [heap] up to start_brk. */
FIXTURE_VARIANT_ADD(cli, import_static) { .script = "import_static.sh" };
/* mmap file=PATH, under root= or the import's. */
FIXTURE_VARIANT_ADD(cli, mmap_file) { .script = "mmap_file.sh" };

/* Run the variant's script (with -b: batched) against its .out file. */
static void golden(struct __test_metadata *_metadata,
		   const struct _test_data_cli *self,
		   const struct _fixture_variant_cli *variant, bool batch)
{
	char *flag = (char *)(variant->flag ? variant->flag : "-x");
	char *script = (char *)(variant->from_stdin ? "-" : variant->script);
	char *args[5] = { "shadow_mm_cli", flag, script, NULL, NULL };
	char golden[PATH_MAX], *want, *got;
	size_t want_len = 0, got_len;

	out_path(golden, sizeof(golden), self->paths.dir, variant->script);
	/*
	 * Under make check ODF=1 a plain fork is on-demand too: a script
	 * whose walk then shows a shared PTE table has its own .odf.out for
	 * that run. The on-demand case itself is fork_odf.sh's, in every run.
	 */
	if (shadow_fork_is_odf(0)) {
		char odf[PATH_MAX];

		snprintf(odf, sizeof(odf), "%.*s.odf.out",
			 (int)strlen(golden) - 4, golden);
		if (!access(odf, R_OK))
			strcpy(golden, odf);
	}
	want = slurp(golden, &want_len);
	ASSERT_NE(NULL, want) TH_LOG("no %s", golden);
	got = calloc(1, MAX_OUTPUT + 64 + 1);
	ASSERT_NE(NULL, got);
	if (batch) {
		args[1] = "-b";
		args[2] = flag;
		args[3] = script;
	}
	got_len = run_cli(&self->paths, args,
			  variant->from_stdin ? variant->script : NULL, got);
	if (got_len != want_len || memcmp(got, want, want_len))
		show_diff(want, got);
	EXPECT_EQ(want_len, got_len);
	EXPECT_EQ(0, memcmp(got, want, want_len < got_len ? want_len :
			    got_len));
	free(got);
	free(want);
}

/* The script's output equals its .out file. */
TEST_F_TIMEOUT(cli, golden, 120)
{
	golden(_metadata, self, variant, false);
}

/*
 * And with -b, its runs of mmap, munmap, mprotect, madvise and touch sent
 * as batches: the same output.
 */
TEST_F_TIMEOUT(cli, golden_batched, 120)
{
	int dev = shadow_open_dev();
	__u64 features = dev >= 0 ? shadow_features(dev) : 0;

	if (dev >= 0)
		close(dev);
	ASSERT_TRUE(features & SHADOW_MM_FEATURE_BATCH);
	golden(_metadata, self, variant, true);
}

/*
 * Every script in cli/ has its variant above and its .out: none is left
 * out of the run.
 */
TEST(every_script_runs)
{
	const struct __fixture_variant_metadata *v;
	struct cli_paths p;
	struct dirent *d;
	int scripts = 0;
	DIR *dir;

	ASSERT_EQ(0, find_paths(&p));
	dir = opendir(p.dir);
	ASSERT_NE(NULL, dir);
	while ((d = readdir(dir))) {
		size_t len = strlen(d->d_name);
		char out[PATH_MAX];
		bool found = false;

		if (len < 4 || strcmp(d->d_name + len - 3, ".sh"))
			continue;
		scripts++;
		for (v = _cli_fixture_object.variant; v; v = v->next) {
			const struct _fixture_variant_cli *cv = v->data;

			found |= !strcmp(cv->script, d->d_name);
		}
		EXPECT_TRUE(found) TH_LOG("%s has no variant", d->d_name);
		out_path(out, sizeof(out), p.dir, d->d_name);
		EXPECT_EQ(0, access(out, R_OK)) TH_LOG("no %s", out);
	}
	closedir(dir);
	EXPECT_LT(10, scripts);
}

/* Is @line (up to its newline) in @maps, as the CLI's maps prints it? */
static bool maps_has(const char *maps, const char *line, bool with_name)
{
	unsigned long long start, end, off;
	char perms[5], want[128];
	const char *s, *name, *nl;
	size_t name_len, len;
	int n = 0;

	if (sscanf(line, "%llx-%llx %4s %llx %*x:%*x %*u%n", &start, &end,
		   perms, &off, &n) < 4 || !n)
		return false;
	for (name = line + n; *name == ' '; name++)
		;
	name_len = strcspn(name, "\n");
	snprintf(want, sizeof(want), "\n%08llx-%08llx %s %08llx ", start, end,
		 perms, off);
	s = strstr(maps, want);
	if (!s)
		return false;
	if (!with_name)
		return true;
	nl = strchr(s + 1, '\n');
	len = nl ? (size_t)(nl - s - 1) : strlen(s + 1);
	if (!name_len)
		return s[len] == ' ';
	return len > name_len && s[len - name_len] == ' ' &&
	       !memcmp(s + 1 + len - name_len, name, name_len);
}

/*
 * import of this very process: each line of its maps that the uapi can
 * build (below the top of the user address space) is in the shadow
 * space's maps with its range, permissions and offset, and with its name
 * but for [stack] and the special mappings, whose stand-ins have none;
 * the CLI found no line that differs, and nothing stays mapped.
 */
TEST(import_self)
{
	static char maps[256 * 1024];
	char script[] = "/tmp/shadow_mm_cli_import.XXXXXX";
	char *args[3] = { "shadow_mm_cli", script, NULL };
	struct shadow_counts base = shadow_counts();
	struct cli_paths p;
	int fd, lines = 0;
	char *got, *line;
	ssize_t n, len = 0;

	ASSERT_EQ(0, find_paths(&p));
	got = calloc(1, MAX_OUTPUT + 64 + 1);
	ASSERT_NE(NULL, got);
	fd = mkstemp(script);
	ASSERT_LE(0, fd);
	dprintf(fd, "import self %d\nmaps self\n", getpid());
	close(fd);
	run_cli(&p, args, NULL, got);
	unlink(script);
	/* Read at once, without malloc: the heap as the CLI saw it. */
	fd = open("/proc/self/maps", O_RDONLY);
	ASSERT_LE(0, fd);
	while ((n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += n;
	close(fd);
	maps[len] = '\0';
	EXPECT_NE(NULL, strstr(got, "[exit 0]\n"));
	EXPECT_EQ(NULL, strstr(got, "# differs"));
	for (line = maps; *line; line += strcspn(line, "\n") + 1) {
		unsigned long long end = 0;
		const char *name = strchr(line, '/');
		const char *br = strchr(line, '[');
		bool special;

		if (sscanf(line, "%*x-%llx", &end) != 1 ||
		    end > SHADOW_TASK_SIZE)
			continue;
		special = br && (!name || br < name) &&
			  strncmp(br, "[heap]", 6);
		EXPECT_TRUE(maps_has(got, line, !special))
			TH_LOG("not imported: %.*s", (int)strcspn(line, "\n"),
			       line);
		lines++;
		if (!line[strcspn(line, "\n")])
			break;
	}
	EXPECT_LT(3, lines);
	free(got);
	shadow_expect_counts(_metadata, base);
}

/* Add what the terminal shows to @buf until it holds @n prompts. */
static size_t read_prompts(int fd, char *buf, size_t len, size_t size, int n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	const char *s;
	int seen = 0;

	for (s = buf; (s = strstr(s, "shadow_mm> ")); s++)
		seen++;
	while (seen < n && len < size - 1 && poll(&pfd, 1, 10000) > 0) {
		ssize_t r = read(fd, buf + len, size - 1 - len);

		if (r <= 0)
			break;
		len += r;
		buf[len] = '\0';
		for (seen = 0, s = buf; (s = strstr(s, "shadow_mm> ")); s++)
			seen++;
	}
	return len;
}

/*
 * No script and a terminal on stdin: a prompt; each line runs at once and
 * a failure or a malformed line does not end the session.
 */
TEST(interactive)
{
	static const char input[] =
		"create a\n"
		"mmap a 0x10000000 4k rw- private|anonymous as=x\n"
		"mmap a $x 1p rwz private\n"
		"munmap a $x+1 1p\n"
		"walk a $x 1\n"
		"quit\n";
	static const char want[] =
		"shadow_mm> a: id 1\n"
		"shadow_mm> a: mapped 0x10000000-0x10001000 as $x\n"
		"shadow_mm> <stdin>:3: mmap: expected PROT like rw- or r-x, got 'rwz'\n"
		"shadow_mm> <stdin>:4: munmap: Invalid argument (EINVAL)\n"
		"shadow_mm> 0x10000000 none\n"
		"shadow_mm> ";
	struct shadow_counts base = shadow_counts();
	struct cli_paths p;
	struct termios t;
	char out[4096];
	int master, status;
	size_t len;
	pid_t pid;

	ASSERT_EQ(0, find_paths(&p));
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0)
		SKIP(return, "no pseudo-terminal: %s", strerror(errno));
	ASSERT_EQ(0, grantpt(master));
	ASSERT_EQ(0, unlockpt(master));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int slave = open(ptsname(master), O_RDWR);

		if (slave < 0 || tcgetattr(slave, &t))
			_exit(126);
		/* No echo, no CR before LF: the output alone, as written. */
		t.c_lflag &= ~ECHO;
		t.c_oflag &= ~ONLCR;
		if (tcsetattr(slave, TCSANOW, &t) || dup2(slave, 0) < 0 ||
		    dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
			_exit(126);
		execl(p.cli, "shadow_mm_cli", NULL);
		_exit(127);
	}
	/* Input only once the prompt is up: the terminal echoes none. */
	memset(out, 0, sizeof(out));
	len = read_prompts(master, out, 0, sizeof(out), 1);
	ASSERT_EQ((ssize_t)strlen(input),
		  write(master, input, strlen(input)));
	read_prompts(master, out, len, sizeof(out), 6);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(master);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ(want, out);
	shadow_expect_counts(_metadata, base);
}

TEST_HARNESS_MAIN
