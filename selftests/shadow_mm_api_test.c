// SPDX-License-Identifier: GPL-2.0
/*
 * The device and the ioctl conventions: the handshake, creation of address
 * spaces, and every generic bad-input error.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "shadow_mm_lib.h"

/* Reads /sys/module/shadow_mm/refcnt: fds pin the module. */
static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/shadow_mm/refcnt", "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The device node exists, is a char device and is 0600 root by default. */
TEST(device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat(SHADOW_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
}

/* The handshake reports the ABI, the features and the ioctls. */
TEST(api_handshake)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	int fd = open(SHADOW_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, shadow_ioctl(fd, SHADOW_MM_API, &api));
	EXPECT_EQ(SHADOW_MM_ABI_VERSION, api.out_abi_version);
	EXPECT_EQ(SHADOW_MM_FEATURE_VMA | SHADOW_MM_FEATURE_PGTABLE |
		  SHADOW_MM_FEATURE_FORK | SHADOW_MM_FEATURE_MPROTECT |
		  SHADOW_MM_FEATURE_MLOCK | SHADOW_MM_FEATURE_MREMAP |
		  SHADOW_MM_FEATURE_BRK | SHADOW_MM_FEATURE_SWAP |
		  SHADOW_MM_FEATURE_FILE | SHADOW_MM_FEATURE_BATCH |
		  SHADOW_MM_FEATURE_ODF | SHADOW_MM_FEATURE_LAYOUT |
		  SHADOW_MM_FEATURE_THP,
		  api.out_features);
	EXPECT_EQ((1ULL << SHADOW_MM_CMD_API) | (1ULL << SHADOW_MM_CMD_CREATE) |
		  (1ULL << SHADOW_MM_CMD_DEV_RECLAIM) |
		  (1ULL << SHADOW_MM_CMD_MMAP) | (1ULL << SHADOW_MM_CMD_MUNMAP) |
		  (1ULL << SHADOW_MM_CMD_EXIT) |
		  (1ULL << SHADOW_MM_CMD_GET_VMAS) |
		  (1ULL << SHADOW_MM_CMD_GET_MAPS) |
		  (1ULL << SHADOW_MM_CMD_GET_STATS) |
		  (1ULL << SHADOW_MM_CMD_FAULT) | (1ULL << SHADOW_MM_CMD_ACCESS) |
		  (1ULL << SHADOW_MM_CMD_WALK) | (1ULL << SHADOW_MM_CMD_FORK) |
		  (1ULL << SHADOW_MM_CMD_MADVISE) |
		  (1ULL << SHADOW_MM_CMD_MPROTECT) |
		  (1ULL << SHADOW_MM_CMD_MLOCK) |
		  (1ULL << SHADOW_MM_CMD_MUNLOCK) |
		  (1ULL << SHADOW_MM_CMD_MLOCKALL) |
		  (1ULL << SHADOW_MM_CMD_MUNLOCKALL) |
		  (1ULL << SHADOW_MM_CMD_MREMAP) | (1ULL << SHADOW_MM_CMD_BRK) |
		  (1ULL << SHADOW_MM_CMD_RECLAIM) |
		  (1ULL << SHADOW_MM_CMD_MSYNC) |
		  (1ULL << SHADOW_MM_CMD_BATCH) |
		  (1ULL << SHADOW_MM_CMD_SET_MM_MAP) |
		  (1ULL << SHADOW_MM_CMD_SET_THP),
		  api.out_ioctls);

	/*
	 * The engine follows the mm rules of the kernel it was built for,
	 * which is the one it is loaded into.
	 */
	EXPECT_EQ(running_kernel_version(), api.out_rules);
	EXPECT_EQ(0, api.__reserved3);

	/* Asking for the features it has, at its ABI version, works. */
	memset(&api, 0, sizeof(api));
	api.size = sizeof(api);
	api.abi_version = SHADOW_MM_ABI_VERSION;
	api.features = SHADOW_MM_FEATURE_VMA;
	EXPECT_EQ(0, shadow_ioctl(fd, SHADOW_MM_API, &api));
	close(fd);
}

/*
 * The ABI versions: 2 and 0 (whatever the module's is) shake hands, 1 and
 * anything else do not, and a failed handshake leaves the fd unusable.
 */
TEST(api_abi_versions)
{
	static const struct { __u32 abi; int ret; } c[] = {
		{ 0, 0 }, { 1, -EINVAL }, { 2, 0 }, { 3, -EINVAL },
		{ ~0u, -EINVAL },
	};
	struct shadow_mm_create cr = { .size = sizeof(cr) };
	struct shadow_mm_api api;
	unsigned int i;

	EXPECT_EQ(2, SHADOW_MM_ABI_VERSION);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		int fd = open(SHADOW_DEV, O_RDWR | O_CLOEXEC), mfd;

		ASSERT_LE(0, fd);
		memset(&api, 0, sizeof(api));
		api.size = sizeof(api);
		api.abi_version = c[i].abi;
		EXPECT_EQ(c[i].ret, shadow_ioctl(fd, SHADOW_MM_API, &api)) {
			TH_LOG("abi_version %u", c[i].abi);
		}
		if (!c[i].ret)
			EXPECT_EQ(2, api.out_abi_version);
		mfd = ioctl(fd, SHADOW_MM_CREATE, &cr);
		EXPECT_EQ(c[i].ret ? -EPERM : 0, mfd < 0 ? -errno : 0);
		if (mfd >= 0)
			close(mfd);
		close(fd);
	}
}

/* Handshake errors: wrong ABI, unknown feature, flags, reserved. */
TEST(api_bad_input)
{
	struct shadow_mm_api api;
	int fd = open(SHADOW_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	memset(&api, 0, sizeof(api));
	api.size = sizeof(api);
	api.abi_version = SHADOW_MM_ABI_VERSION + 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(fd, SHADOW_MM_API, &api));

	memset(&api, 0, sizeof(api));
	api.size = sizeof(api);
	api.features = 1ULL << 63;
	EXPECT_EQ(-EINVAL, shadow_ioctl(fd, SHADOW_MM_API, &api));

	memset(&api, 0, sizeof(api));
	api.size = sizeof(api);
	api.flags = 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(fd, SHADOW_MM_API, &api));

	memset(&api, 0, sizeof(api));
	api.size = sizeof(api);
	api.__reserved = 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(fd, SHADOW_MM_API, &api));
	close(fd);
}

/* Nothing but the handshake works before it. */
TEST(create_before_api)
{
	struct shadow_mm_create c = { .size = sizeof(c) };
	int fd = open(SHADOW_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EPERM, shadow_ioctl(fd, SHADOW_MM_CREATE, &c));
	close(fd);
}

/* A handshake whose answer cannot be copied out does not count. */
TEST(api_efault_not_done)
{
	struct shadow_mm_create c = { .size = sizeof(c) };
	struct shadow_mm_api *api;
	int fd = open(SHADOW_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	/* A read-only page: the kernel reads the struct, cannot answer. */
	api = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, api);
	api->size = sizeof(*api);
	ASSERT_EQ(0, mprotect(api, PAGE, PROT_READ));
	EXPECT_EQ(-EFAULT, shadow_ioctl(fd, SHADOW_MM_API, api));
	EXPECT_EQ(-EPERM, shadow_ioctl(fd, SHADOW_MM_CREATE, &c));
	munmap(api, PAGE);
	close(fd);
}

/* max_map_count takes vm.max_map_count's range: no negative values. */
TEST(max_map_count_param)
{
	const char *path = "/sys/module/shadow_mm/parameters/max_map_count";
	char buf[32] = "";
	int fd = open(path, O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, pwrite(fd, "-1\n", 3, 0));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_LT(0, pread(fd, buf, sizeof(buf) - 1, 0));
	EXPECT_STREQ("65530\n", buf);
	close(fd);
}

/* size: too small -> EINVAL; larger with a zero tail -> fine; else E2BIG. */
TEST(struct_size_rules)
{
	struct {
		struct shadow_mm_api api;
		__u64 tail[4];
	} big;
	struct shadow_mm_api api;
	int fd = open(SHADOW_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	memset(&api, 0, sizeof(api));
	api.size = 4;
	EXPECT_EQ(-EINVAL, shadow_ioctl(fd, SHADOW_MM_API, &api));

	memset(&big, 0, sizeof(big));
	big.api.size = sizeof(big);
	EXPECT_EQ(0, shadow_ioctl(fd, SHADOW_MM_API, &big));
	EXPECT_EQ(SHADOW_MM_ABI_VERSION, big.api.out_abi_version);
	/* Past the kernel's struct, nothing was written back. */
	EXPECT_EQ(0, big.tail[0]);

	big.tail[2] = 1;
	EXPECT_EQ(-E2BIG, shadow_ioctl(fd, SHADOW_MM_API, &big));

	memset(&api, 0, sizeof(api));
	api.size = 1 << 20;
	EXPECT_EQ(-E2BIG, shadow_ioctl(fd, SHADOW_MM_API, &api));
	close(fd);
}

/* Bad user pointers give EFAULT, never a crash. */
TEST(bad_pointers)
{
	int fd = shadow_open_dev();
	int mfd;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EFAULT, shadow_ioctl(fd, SHADOW_MM_API, NULL));
	EXPECT_EQ(-EFAULT, shadow_ioctl(fd, SHADOW_MM_API, (void *)1));
	EXPECT_EQ(-EFAULT, shadow_ioctl(fd, SHADOW_MM_CREATE,
					(void *)0xffff888000000000UL));
	mfd = _shadow_create(fd, 0, NULL);
	ASSERT_LE(0, mfd);
	EXPECT_EQ(-EFAULT, shadow_ioctl(mfd, SHADOW_MM_MMAP, NULL));
	EXPECT_EQ(-EFAULT, shadow_ioctl(mfd, SHADOW_MM_GET_STATS,
					(void *)0xffffffffff600000UL));
	close(mfd);
	close(fd);
}

/* Unknown commands, and commands sent to the wrong fd, give ENOTTY. */
TEST(unknown_ioctls)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	struct shadow_mm_stats st = { .size = sizeof(st) };
	int fd = shadow_open_dev();
	int mfd;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, shadow_ioctl(fd, _IO(SHADOW_MM_TYPE, 0x0e), &api));
	EXPECT_EQ(-ENOTTY, shadow_ioctl(fd, _IO('x', 0), &api));
	EXPECT_EQ(-ENOTTY, shadow_ioctl(fd, _IOWR(SHADOW_MM_TYPE, 0, int),
					&api));
	EXPECT_EQ(-ENOTTY, shadow_ioctl(fd, SHADOW_MM_GET_STATS, &st));

	mfd = _shadow_create(fd, 0, NULL);
	ASSERT_LE(0, mfd);
	EXPECT_EQ(-ENOTTY, shadow_ioctl(mfd, SHADOW_MM_API, &api));
	EXPECT_EQ(-ENOTTY, shadow_ioctl(mfd, _IO(SHADOW_MM_TYPE, 0x3f), &st));
	EXPECT_EQ(0, shadow_ioctl(mfd, SHADOW_MM_GET_STATS, &st));
	close(mfd);
	close(fd);
}

/* Create: flags and reserved fields checked; mmap_base validated. */
TEST(create_bad_input)
{
	struct shadow_mm_create c;
	int fd = shadow_open_dev();

	ASSERT_LE(0, fd);
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = 1u << 1;	/* bit 0 is SHADOW_CREATE_LEGACY_LAYOUT */
	EXPECT_EQ(-EINVAL, shadow_ioctl(fd, SHADOW_MM_CREATE, &c));
	c.flags = 0;
	c.__reserved = 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(fd, SHADOW_MM_CREATE, &c));
	c.__reserved = 0;
	c.mmap_base = 0x10000001;
	EXPECT_EQ(-EINVAL, shadow_ioctl(fd, SHADOW_MM_CREATE, &c));
	c.mmap_base = SHADOW_TASK_SIZE + PAGE;
	EXPECT_EQ(-EINVAL, shadow_ioctl(fd, SHADOW_MM_CREATE, &c));
	c.mmap_base = 0x1000;
	EXPECT_EQ(-EINVAL, shadow_ioctl(fd, SHADOW_MM_CREATE, &c));
	close(fd);
}

/* A new address space: empty, its own id, default layout, O_CLOEXEC. */
TEST(create_defaults)
{
	struct shadow_mm_stats st;
	__u32 id1 = 0, id2 = 0;
	int fd = shadow_open_dev();
	int m1, m2;

	ASSERT_LE(0, fd);
	m1 = _shadow_create(fd, 0, &id1);
	m2 = _shadow_create(fd, 0x7f0000000000UL, &id2);
	ASSERT_LE(0, m1);
	ASSERT_LE(0, m2);
	EXPECT_NE(id1, id2);
	EXPECT_EQ(FD_CLOEXEC, fcntl(m1, F_GETFD) & FD_CLOEXEC);

	ASSERT_EQ(0, _shadow_get_stats(m1, &st));
	EXPECT_EQ(id1, st.out_id);
	EXPECT_EQ(1, st.out_mm_users);
	EXPECT_EQ(1, st.out_mm_count);
	EXPECT_EQ(0, st.out_map_count);
	EXPECT_EQ(0, st.out_total_vm);
	EXPECT_EQ(SHADOW_MMAP_BASE, st.out_mmap_base);
	EXPECT_EQ(SHADOW_TASK_SIZE, st.out_task_size);

	ASSERT_EQ(0, _shadow_get_stats(m2, &st));
	EXPECT_EQ(0x7f0000000000UL, st.out_mmap_base);
	close(m1);
	close(m2);
	close(fd);
}

/* Address-space fds pin the module; closing them frees everything. */
TEST(fds_pin_module)
{
	long base_ref, base_mms;
	int fd, mfd;

	base_mms = shadow_counter("mms");
	ASSERT_LE(0, base_mms);
	fd = shadow_open_dev();
	ASSERT_LE(0, fd);
	base_ref = module_refcnt();
	mfd = _shadow_create(fd, 0, NULL);
	ASSERT_LE(0, mfd);
	EXPECT_EQ(base_ref + 1, module_refcnt());
	EXPECT_EQ(base_mms + 1, shadow_counter("mms"));
	close(fd);
	close(mfd);
	EXPECT_EQ(base_mms, shadow_counter("mms"));
	EXPECT_EQ(0, shadow_counter("vmas"));
}

TEST_HARNESS_MAIN
