// SPDX-License-Identifier: GPL-2.0
/*
 * Processes that die with address spaces open: killed in the middle of
 * operations, or exiting without closing; address-space fds passed to
 * another process; and the module pinned while any fd exists.
 */
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

/* A child busy with every kind of operation, until it is killed. */
static void busy_child(void)
{
	int dev = shadow_open_dev();
	unsigned int seed = getpid();

	if (dev < 0)
		_exit(1);
	for (;;) {
		int mfd = _shadow_create(dev, 0, NULL), i, child;

		if (mfd < 0)
			_exit(2);
		for (i = 0; i < 64; i++) {
			unsigned long pg = rand_r(&seed) % 256;

			_shadow_mmap(mfd, BASE + pg * PAGE, 8 * PAGE, RW,
				     pg % 3 ? PRIV_FIXED : SHARED_FIXED, NULL);
			_shadow_fault(mfd, BASE + pg * PAGE, 8 * PAGE,
				      SHADOW_FAULT_WRITE, NULL);
		}
		child = _shadow_fork(mfd, 0, NULL);
		_shadow_fork(mfd, SHADOW_FORK_VM, NULL);
		_shadow_munmap(mfd, BASE, 64 * PAGE);
		if (child >= 0)
			_shadow_fault(child, BASE, 256 * PAGE,
				      SHADOW_FAULT_WRITE, NULL);
		/* fds are left open: the kill or the next round finds them. */
	}
}

/* SIGKILL in the middle of operations leaves nothing behind. */
TEST(sigkill_mid_operations)
{
	struct shadow_counts before = shadow_counts();
	int round, status;

	for (round = 0; round < 5; round++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0)
			busy_child();
		usleep(100 * 1000 + round * 70 * 1000);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFSIGNALED(status));
		shadow_expect_counts(_metadata, before);
	}
}

/* Exiting with address spaces, forks and CLONE_VM users open. */
TEST(exit_with_handles_open)
{
	struct shadow_counts before = shadow_counts();
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		int dev = shadow_open_dev(), mfd, i;

		for (i = 0; i < 8; i++) {
			mfd = _shadow_create(dev, 0, NULL);
			_shadow_mmap(mfd, BASE, 16 * PAGE, RW, PRIV_FIXED,
				     NULL);
			_shadow_mmap(mfd, BASE + 32 * PAGE, 4 * PAGE, RW,
				     SHARED_FIXED,
				     NULL);
			_shadow_fault(mfd, BASE, 16 * PAGE, SHADOW_FAULT_WRITE,
				      NULL);
			_shadow_fork(mfd, 0, NULL);
			_shadow_fork(mfd, SHADOW_FORK_VM, NULL);
		}
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	shadow_expect_counts(_metadata, before);
}

static int send_fd(int sock, int fd)
{
	char c = 'f';
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/*
 * An address-space fd passed to another process is the same user of the
 * same space: it works there, and outlives the sender.
 */
TEST(fd_passing)
{
	struct shadow_counts before = shadow_counts();
	int sv[2], dev, mfd, status;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char buf[16] = "";
		int fd, ok;

		close(sv[0]);
		fd = recv_fd(sv[1]);
		if (fd < 0)
			_exit(1);
		/* Wait until the sender has closed its copy. */
		if (read(sv[1], buf, 1) != 1)
			_exit(2);
		ok = _shadow_access(fd, BASE, buf, 6, 0) == 6 &&
		     !memcmp(buf, "sender", 6) &&
		     _shadow_access(fd, BASE, "recver", 6,
				    SHADOW_ACCESS_WRITE) == 6 &&
		     _shadow_mmap(fd, BASE + 8 * PAGE, PAGE, RW, PRIV_FIXED,
				  NULL) == 0;
		_exit(ok ? 0 : 3);
	}
	close(sv[1]);
	dev = shadow_open_dev();
	ASSERT_LE(0, dev);
	mfd = _shadow_create(dev, 0, NULL);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, _shadow_mmap(mfd, BASE, PAGE, RW, PRIV_FIXED, NULL));
	shadow_put(_metadata, mfd, BASE, "sender");
	ASSERT_EQ(0, send_fd(sv[0], mfd));
	close(mfd);
	close(dev);
	/* Only the receiver's copy keeps the space alive now. */
	EXPECT_EQ(before.mms + 1, shadow_counter("mms"));
	ASSERT_EQ(1, write(sv[0], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(sv[0]);
	shadow_expect_counts(_metadata, before);
}

/* While any fd exists the module cannot be unloaded. */
TEST(module_pinned_by_fds)
{
	int dev = shadow_open_dev(), mfd;

	ASSERT_LE(0, dev);
	mfd = _shadow_create(dev, 0, NULL);
	ASSERT_LE(0, mfd);
	close(dev);
	/* O_NONBLOCK: refuse at once rather than wait for the refs. */
	EXPECT_EQ(-1, syscall(SYS_delete_module, "shadow_mm", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(0, _shadow_mmap(mfd, BASE, PAGE, RW, PRIV_FIXED, NULL));
	close(mfd);
}

TEST_HARNESS_MAIN
