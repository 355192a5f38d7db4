// SPDX-License-Identifier: GPL-2.0
/*
 * Limits and accounting: what one user can make the engine hold.
 *
 *  - max_mms_per_user: create and fork fail with EAGAIN past it, per user,
 *    and succeed again once an address space is gone; CLONE_VM-style users
 *    do not count.
 *  - max_pages_per_mm: a fault that would map one data page too many fails
 *    with ENOMEM; the zero page and COW copies of mapped pages are free.
 *  - the memory cgroup: every page is charged to the caller's cgroup, and
 *    at the cgroup's memory.max the engine fails with ENOMEM instead of
 *    calling the OOM killer (no process is killed, oom_kill stays 0).
 *  - the device node: 0600, root's.
 */
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define PARAMS	"/sys/module/shadow_mm/parameters/"
#define CGROOT	"/sys/fs/cgroup"
#define CG	CGROOT "/shadow_mm_limits"

static long read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 0) : -1;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -errno;
}

static int write_long(const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	return write_str(path, buf);
}

/* The value of "key N" in a flat-keyed cgroup file such as memory.events. */
static long keyed(const char *path, const char *key)
{
	char line[128];
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t k = strlen(key);

		if (!strncmp(line, key, k) && line[k] == ' ')
			v = strtol(line + k + 1, NULL, 10);
	}
	fclose(f);
	return v;
}

FIXTURE(limits) {
	int dev;
	struct shadow_counts before;
	long saved_mms, saved_pages;
};

FIXTURE_SETUP(limits)
{
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->before = shadow_counts();
	self->saved_mms = read_long(PARAMS "max_mms_per_user");
	self->saved_pages = read_long(PARAMS "max_pages_per_mm");
	ASSERT_LE(0, self->saved_mms);
	ASSERT_LE(0, self->saved_pages);
}

FIXTURE_TEARDOWN(limits)
{
	write_long(PARAMS "max_mms_per_user", self->saved_mms);
	write_long(PARAMS "max_pages_per_mm", self->saved_pages);
	close(self->dev);
	shadow_expect_counts(_metadata, self->before);
}

/* The defaults, as modinfo documents them. */
TEST_F(limits, defaults)
{
	EXPECT_EQ(4096, self->saved_mms);
	EXPECT_EQ(0, self->saved_pages);
}

/* Past max_mms_per_user, create and fork fail with EAGAIN; CLONE_VM works. */
TEST_F(limits, mms_per_user)
{
	int fds[8], i, extra, vm;

	/* The limit counts this user's live address spaces: none yet. */
	ASSERT_EQ(0, self->before.mms);
	ASSERT_EQ(0, write_long(PARAMS "max_mms_per_user", 3));
	for (i = 0; i < 3; i++) {
		fds[i] = _shadow_create(self->dev, 0, NULL);
		ASSERT_LE(0, fds[i]);
	}
	EXPECT_EQ(-EAGAIN, _shadow_create(self->dev, 0, NULL));
	EXPECT_EQ(-EAGAIN, _shadow_fork(fds[0], 0, NULL));
	EXPECT_EQ(3, shadow_counter("mms"));

	/* Another user of the same address space is no new address space. */
	vm = _shadow_fork(fds[0], SHADOW_FORK_VM, NULL);
	ASSERT_LE(0, vm);

	/* Exiting one user of a shared space frees nothing: still full. */
	EXPECT_EQ(0, _shadow_exit(vm));
	EXPECT_EQ(-EAGAIN, _shadow_create(self->dev, 0, NULL));
	close(vm);

	/* Once an address space is torn down, its slot is free again. */
	EXPECT_EQ(0, _shadow_exit(fds[2]));
	extra = _shadow_fork(fds[0], 0, NULL);
	ASSERT_LE(0, extra);
	EXPECT_EQ(-EAGAIN, _shadow_create(self->dev, 0, NULL));

	/* Raising the limit at run time applies to the next request. */
	ASSERT_EQ(0, write_long(PARAMS "max_mms_per_user", 0));
	fds[3] = _shadow_create(self->dev, 0, NULL);
	EXPECT_LE(0, fds[3]);

	close(extra);
	close(fds[3]);
	for (i = 0; i < 3; i++)
		close(fds[i]);
}

/* The limit is per user: another uid has its own count. */
TEST_F(limits, mms_per_user_is_per_user)
{
	int mine, status;
	pid_t pid;

	ASSERT_EQ(0, write_long(PARAMS "max_mms_per_user", 1));
	mine = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, mine);
	ASSERT_EQ(-EAGAIN, _shadow_create(self->dev, 0, NULL));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b;

		/* The device fd was opened (and its access decided) as root. */
		if (setresgid(4242, 4242, 4242) || setresuid(4242, 4242, 4242))
			_exit(10);
		a = _shadow_create(self->dev, 0, NULL);
		if (a < 0)
			_exit(11);
		b = _shadow_create(self->dev, 0, NULL);
		if (b != -EAGAIN)
			_exit(12);
		/* Fork is charged to the caller (uid 4242): over too. */
		if (_shadow_fork(mine, 0, NULL) != -EAGAIN)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(mine);
}

/* Past max_pages_per_mm, a fault needing a new page fails with ENOMEM. */
TEST_F(limits, pages_per_mm)
{
	struct shadow_mm_stats st;
	__u64 done = 0;
	int mfd, child;
	char c = 1;

	ASSERT_EQ(0, write_long(PARAMS "max_pages_per_mm", 16));
	mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, _shadow_mmap(mfd, BASE, 64 * PAGE, RW, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(mfd, BASE + 128 * PAGE, 8 * PAGE, RW,
				  SHARED_FIXED, NULL));

	/* Reads map the zero page: no data page, no limit. */
	EXPECT_EQ(0, _shadow_fault(mfd, BASE, 64 * PAGE, 0, &done));
	EXPECT_EQ(64, done);

	/* Writes: 16 pages, then ENOMEM at the 17th. */
	EXPECT_EQ(-ENOMEM, _shadow_fault(mfd, BASE, 64 * PAGE,
					 SHADOW_FAULT_WRITE, &done));
	EXPECT_EQ(16, done);
	st = shadow_stats(_metadata, mfd);
	EXPECT_EQ(16, st.out_rss_anon);

	/* Shared pages count too. */
	EXPECT_EQ(-ENOMEM, _shadow_fault(mfd, BASE + 128 * PAGE, PAGE, 0,
					 &done));
	EXPECT_EQ(0, done);

	/* The page that did not fit is still the zero page, readable. */
	EXPECT_EQ(1, _shadow_access(mfd, BASE + 16 * PAGE, &c, 1, 0));
	EXPECT_EQ(0, c);
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_ZERO,
		  shadow_page(_metadata, mfd, BASE + 16 * PAGE).flags &
		  (SHADOW_PAGE_PRESENT | SHADOW_PAGE_ZERO));

	/*
	 * A child shares the parent's 16 pages: its COW copies replace a
	 * mapped page, so they fit; a fresh page does not.
	 */
	child = _shadow_fork(mfd, 0, NULL);
	ASSERT_LE(0, child);
	EXPECT_EQ(0, _shadow_fault(child, BASE, 16 * PAGE, SHADOW_FAULT_WRITE,
				   &done));
	EXPECT_EQ(16, done);
	EXPECT_EQ(16, shadow_stats(_metadata, child).out_cow_copies);
	EXPECT_EQ(-ENOMEM, _shadow_fault(child, BASE + 16 * PAGE, PAGE,
					 SHADOW_FAULT_WRITE, &done));

	/* Unmapping makes room. */
	EXPECT_EQ(0, _shadow_munmap(mfd, BASE, 4 * PAGE));
	EXPECT_EQ(0, _shadow_fault(mfd, BASE + 16 * PAGE, 4 * PAGE,
				   SHADOW_FAULT_WRITE, &done));
	EXPECT_EQ(4, done);
	EXPECT_EQ(-ENOMEM, _shadow_fault(mfd, BASE + 20 * PAGE, PAGE,
					 SHADOW_FAULT_WRITE, NULL));
	close(child);
	close(mfd);
}

/* The device node is root's, mode 0600 (the dev_mode default). */
TEST(device_mode)
{
	struct stat st;

	ASSERT_EQ(0, stat(SHADOW_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	EXPECT_EQ(0600, read_long(PARAMS "dev_mode"));
}

/*
 * A non-root process cannot open the device, and one holding a root-opened
 * fd can use it (access is decided at open time).
 */
TEST(device_access_at_open)
{
	int dev = shadow_open_dev(), status;
	pid_t pid;

	ASSERT_LE(0, dev);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int mfd;

		if (setresgid(4243, 4243, 4243) || setresuid(4243, 4243, 4243))
			_exit(10);
		if (open(SHADOW_DEV, O_RDWR) >= 0 || errno != EACCES)
			_exit(11);
		mfd = _shadow_create(dev, 0, NULL);
		if (mfd < 0)
			_exit(12);
		if (_shadow_mmap(mfd, BASE, PAGE, RW, PRIV_FIXED, NULL))
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(dev);
}

/* Mount cgroup2 if it is not there, and enable the memory controller. */
static int memcg_setup(void)
{
	struct stat st;

	if (stat(CGROOT "/cgroup.controllers", &st)) {
		mkdir(CGROOT, 0755);
		if (mount("cgroup2", CGROOT, "cgroup2", 0, NULL))
			return -errno;
	}
	if (write_str(CGROOT "/cgroup.subtree_control", "+memory"))
		return -ENOENT;
	rmdir(CG);
	if (mkdir(CG, 0755))
		return -errno;
	if (stat(CG "/memory.max", &st))
		return -ENOENT;
	return 0;
}

/*
 * A process in a cgroup with memory.max = 8 MiB writes 64 MiB of shadow
 * memory: the engine's pages are charged to the cgroup (memory.current
 * grows with them), the fault fails with ENOMEM at the limit, the process
 * lives on and the OOM killer never runs.
 */
TEST(memcg_limit_gives_enomem)
{
	struct shadow_counts before = shadow_counts();
	int pipefd[2], status, ret;
	long charged, done;
	pid_t pid;

	ret = memcg_setup();
	if (ret)
		SKIP(return, "no cgroup2 memory controller (%d)", ret);
	ASSERT_EQ(0, write_long(CG "/memory.max", 8 << 20));
	ASSERT_EQ(0, pipe(pipefd));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		long base, after, n;
		__u64 nr = 0;
		int dev, mfd, err;

		close(pipefd[0]);
		if (write_long(CG "/cgroup.procs", getpid()))
			_exit(10);
		dev = shadow_open_dev();
		mfd = dev < 0 ? -1 : _shadow_create(dev, 0, NULL);
		if (mfd < 0)
			_exit(11);
		if (_shadow_mmap(mfd, BASE, 64 << 20, RW, PRIV_FIXED, NULL))
			_exit(12);
		base = read_long(CG "/memory.current");
		/* 1 MiB: well under the limit, and all of it charged here. */
		if (_shadow_fault(mfd, BASE, 1 << 20, SHADOW_FAULT_WRITE, NULL))
			_exit(13);
		after = read_long(CG "/memory.current");
		n = after - base;
		if (write(pipefd[1], &n, sizeof(n)) != sizeof(n))
			_exit(14);
		err = _shadow_fault(mfd, BASE, 64 << 20, SHADOW_FAULT_WRITE,
				    &nr);
		n = err == -ENOMEM ? (long)nr : -1000 + err;
		/*
		 * Still alive and able to use what it has; giving it back
		 * first leaves the pipe's buffer room in the cgroup.
		 */
		if (_shadow_munmap(mfd, BASE, 64 << 20))
			_exit(16);
		if (write(pipefd[1], &n, sizeof(n)) != sizeof(n))
			_exit(15);
		close(mfd);
		close(dev);
		_exit(0);
	}
	close(pipefd[1]);
	ASSERT_EQ(sizeof(charged), read(pipefd[0], &charged, sizeof(charged)));
	ASSERT_EQ(sizeof(done), read(pipefd[0], &done, sizeof(done)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(pipefd[0]);
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child killed by signal %d",
					      WTERMSIG(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* 256 data pages at least (their tables and metadata come on top). */
	EXPECT_LE(1 << 20, charged);
	/* It got somewhere, and stopped well short of 64 MiB. */
	EXPECT_LT(256, done);
	EXPECT_GT((64 << 20) / PAGE, done);
	TH_LOG("charged %ld bytes for 1 MiB; ENOMEM after %ld pages", charged,
	       done);
	EXPECT_EQ(0, keyed(CG "/memory.events", "oom_kill"));
	EXPECT_LT(0, keyed(CG "/memory.events", "max"));
	shadow_expect_counts(_metadata, before);
	EXPECT_EQ(0, rmdir(CG));
}

TEST_HARNESS_MAIN
