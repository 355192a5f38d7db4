// SPDX-License-Identifier: GPL-2.0
/*
 * The transparent huge page policy of a shadow address space
 * (SHADOW_MM_FEATURE_THP): SHADOW_MM_SET_THP's argument checks, the
 * default taken from the running kernel's sysfs, fork's inheritance, and
 * smaps' THPeligible and VmFlags per VMA against this process's own
 * /proc/self/smaps for the same mappings, with the running kernel's
 * transparent_hugepage/enabled set to each mode in turn (as root; put
 * back after) and PR_SET_THP_DISABLE mirrored by the ioctl.
 *
 * A kernel without THP (the debug kernels) has no sysfs files: the cases
 * that need the real kernel skip there, the engine's own run.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define DBG		"/sys/kernel/debug/shadow_mm"
#define WIN		0x100000000000UL
#define MB		0x100000UL
#define THP_SMAPS_MAX	(1024 * 1024)

#ifndef MAP_STACK
#define MAP_STACK	0x20000
#endif

/* The field @name ("THPeligible:") of the smaps entry at @start in @text. */
static int smaps_field(const char *text, unsigned long start,
		       const char *name, char *out, size_t size)
{
	char hdr[32];
	const char *p, *next, *f;
	size_t n = strlen(name);

	snprintf(hdr, sizeof(hdr), "%lx-", start);
	for (p = text; p && *p; p = next ? next + 1 : NULL) {
		next = strchr(p, '\n');
		if (strncmp(p, hdr, strlen(hdr)))
			continue;
		/* The entry's lines, up to the next header. */
		for (f = next ? next + 1 : NULL; f && *f;
		     f = strchr(f, '\n') ? strchr(f, '\n') + 1 : NULL) {
			const char *end = strchr(f, '\n');
			size_t len = end ? (size_t)(end - f) : strlen(f);

			/* Headers start with an address, fields with a capital. */
			if (isdigit(*f) || (*f >= 'a' && *f <= 'f'))
				return -1;
			if (strncmp(f, name, n))
				continue;
			f += n;
			len -= n;
			while (len && *f == ' ') {
				f++;
				len--;
			}
			while (len && f[len - 1] == ' ')
				len--;
			snprintf(out, size, "%.*s", (int)len, f);
			return 0;
		}
		return -1;
	}
	return -1;
}

static char *read_text(const char *path)
{
	char *buf = malloc(THP_SMAPS_MAX);

	if (buf && shadow_slurp(path, buf, THP_SMAPS_MAX) < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char *shadow_smaps(__u32 id)
{
	char path[128];

	snprintf(path, sizeof(path), DBG "/mm%u/smaps", id);
	return read_text(path);
}

/* The module parameter thp ("auto" unless the run loaded it otherwise). */
static bool thp_param_auto(void)
{
	char buf[32] = "";

	if (shadow_slurp("/sys/module/shadow_mm/parameters/thp", buf,
			 sizeof(buf)) < 0)
		return false;
	return !strncmp(buf, "auto", 4);
}

static int mode_of(const char *word)
{
	if (!strcmp(word, "always"))
		return SHADOW_MM_THP_ALWAYS;
	if (!strcmp(word, "madvise"))
		return SHADOW_MM_THP_MADVISE;
	return SHADOW_MM_THP_NEVER;
}

FIXTURE(thp) {
	int devfd;
	int mfd;
	__u32 id;
	char saved[16];
};

FIXTURE_SETUP(thp)
{
	self->saved[0] = 0;
	self->devfd = shadow_open_dev();
	ASSERT_LE(0, self->devfd);
	if (!(shadow_features(self->devfd) & SHADOW_MM_FEATURE_THP))
		SKIP(return, "module without SHADOW_MM_FEATURE_THP");
	self->mfd = _shadow_create(self->devfd, 0, &self->id);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(thp)
{
	thp_sysfs_restore(self->saved);
	close(self->mfd);
	close(self->devfd);
}

/* Each bad argument gets its errno; nothing changes. */
TEST_F(thp, set_thp_arguments)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	struct shadow_mm_thp t, before;
	struct {
		struct shadow_mm_thp t;
		__u64 extra;
	} big;

	ASSERT_EQ(0, _shadow_set_thp(self->mfd, 0, 0, 0, 0, &before));
	EXPECT_EQ(-EINVAL, _shadow_set_thp(self->mfd, SHADOW_THP_SET_MODE, 3,
					   0, 0, NULL));
	EXPECT_EQ(-EINVAL, _shadow_set_thp(self->mfd, SHADOW_THP_SET_DISABLE,
					   0, 2, 0, NULL));
	EXPECT_EQ(-EINVAL, _shadow_set_thp(self->mfd,
					   SHADOW_THP_SET_USE_ZERO_PAGE,
					   0, 0, 7, NULL));
	EXPECT_EQ(-EINVAL, _shadow_set_thp(self->mfd, 1U << 3, 0, 0, 0, NULL));
	/* Out of range values without their flag are ignored. */
	EXPECT_EQ(0, _shadow_set_thp(self->mfd, 0, 3, 2, 7, NULL));

	t = (struct shadow_mm_thp){ .size = sizeof(t), .__reserved = 1 };
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_SET_THP, &t));
	t = (struct shadow_mm_thp){ .size = sizeof(t), .__reserved2 = 1 };
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_SET_THP, &t));
	t = (struct shadow_mm_thp){ .size = sizeof(t), .out_mode = 1 };
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_SET_THP, &t));
	/* Shorter than the first version. */
	t = (struct shadow_mm_thp){ .size = 8 };
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_SET_THP, &t));
	/* Longer, with a non-zero tail; and larger than a page. */
	memset(&big, 0, sizeof(big));
	big.t.size = sizeof(big);
	big.extra = 1;
	EXPECT_EQ(-E2BIG, shadow_ioctl(self->mfd, SHADOW_MM_SET_THP, &big));
	big.extra = 0;
	EXPECT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_SET_THP, &big));
	t = (struct shadow_mm_thp){ .size = 8192 };
	EXPECT_EQ(-E2BIG, shadow_ioctl(self->mfd, SHADOW_MM_SET_THP, &t));

	ASSERT_EQ(0, _shadow_set_thp(self->mfd, 0, 0, 0, 0, &t));
	EXPECT_EQ(before.out_mode, t.out_mode);
	EXPECT_EQ(before.out_disable, t.out_disable);
	EXPECT_EQ(before.out_use_zero_page, t.out_use_zero_page);
	EXPECT_EQ(0, t.__reserved2);

	/* The command is announced. */
	ASSERT_EQ(0, shadow_ioctl(self->devfd, SHADOW_MM_API, &api));
	EXPECT_TRUE(api.out_ioctls & (1ULL << SHADOW_MM_CMD_SET_THP));
}

/* Each field is set alone, and GET_STATS reports the policy. */
TEST_F(thp, set_thp_fields)
{
	struct shadow_mm_thp t;
	struct shadow_mm_stats st;

	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_MODE |
				     SHADOW_THP_SET_DISABLE |
				     SHADOW_THP_SET_USE_ZERO_PAGE,
				     SHADOW_MM_THP_MADVISE, 1, 0, &t));
	EXPECT_EQ(SHADOW_MM_THP_MADVISE, t.out_mode);
	EXPECT_EQ(1, t.out_disable);
	EXPECT_EQ(0, t.out_use_zero_page);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(SHADOW_MM_THP_MADVISE | SHADOW_THP_FLAG_DISABLE,
		  st.out_thp_flags);
	EXPECT_EQ(0, st.out_anon_thps);
	EXPECT_EQ(0, st.out_thp_fault_alloc);
	EXPECT_EQ(0, st.out_thp_fault_fallback);
	EXPECT_EQ(0, st.out_thp_split_pmd);

	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_USE_ZERO_PAGE,
				     0, 0, 1, &t));
	EXPECT_EQ(SHADOW_MM_THP_MADVISE, t.out_mode);
	EXPECT_EQ(1, t.out_disable);
	EXPECT_EQ(1, t.out_use_zero_page);
	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_DISABLE, 0, 0,
				     0, &t));
	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_MODE,
				     SHADOW_MM_THP_ALWAYS, 0, 0, &t));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(SHADOW_MM_THP_ALWAYS | SHADOW_THP_FLAG_USE_ZERO_PAGE,
		  st.out_thp_flags);
}

/* A fork child has its parent's policy, the disable bit included. */
TEST_F(thp, fork_inherits_policy)
{
	struct shadow_mm_thp t;
	int child;

	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_MODE |
				     SHADOW_THP_SET_DISABLE |
				     SHADOW_THP_SET_USE_ZERO_PAGE,
				     SHADOW_MM_THP_MADVISE, 1, 0, NULL));
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_set_thp(child, 0, 0, 0, 0, &t));
	EXPECT_EQ(SHADOW_MM_THP_MADVISE, t.out_mode);
	EXPECT_EQ(1, t.out_disable);
	EXPECT_EQ(0, t.out_use_zero_page);
	/* The child's own change leaves the parent alone. */
	ASSERT_EQ(0, _shadow_set_thp(child, SHADOW_THP_SET_DISABLE, 0, 0, 0,
				     NULL));
	ASSERT_EQ(0, _shadow_set_thp(self->mfd, 0, 0, 0, 0, &t));
	EXPECT_EQ(1, t.out_disable);
	close(child);
}

/*
 * A new space takes the running kernel's enabled and use_zero_page (never
 * without THP), read at each create: after a change of the sysfs mode a
 * new space has the new one.
 */
TEST_F(thp, default_follows_sysfs)
{
	struct shadow_mm_thp t;
	char word[16], zero[8] = "";
	int mfd;

	if (!thp_param_auto())
		SKIP(return, "module parameter thp is not auto");
	ASSERT_EQ(0, _shadow_set_thp(self->mfd, 0, 0, 0, 0, &t));
	EXPECT_EQ(0, t.out_disable);
	if (!thp_sysfs_present()) {
		EXPECT_EQ(SHADOW_MM_THP_NEVER, t.out_mode);
		return;
	}
	ASSERT_EQ(0, thp_sysfs_save(word, sizeof(word)));
	EXPECT_EQ(mode_of(word), t.out_mode);
	TH_LOG("sysfs enabled [%s]", word);
	ASSERT_LE(0, shadow_slurp(THP_SYSFS "/use_zero_page", zero,
				  sizeof(zero)));
	EXPECT_EQ(zero[0] != '0', t.out_use_zero_page);

	if (geteuid())
		SKIP(return, "not root: cannot change the sysfs mode");
	ASSERT_EQ(0, thp_sysfs_save(self->saved, sizeof(self->saved)));
	ASSERT_EQ(0, thp_sysfs_set("madvise"));
	mfd = _shadow_create(self->devfd, 0, NULL);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, _shadow_set_thp(mfd, 0, 0, 0, 0, &t));
	EXPECT_EQ(SHADOW_MM_THP_MADVISE, t.out_mode);
	close(mfd);
	ASSERT_EQ(0, thp_sysfs_set("never"));
	mfd = _shadow_create(self->devfd, 0, NULL);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, _shadow_set_thp(mfd, 0, 0, 0, 0, &t));
	EXPECT_EQ(SHADOW_MM_THP_NEVER, t.out_mode);
	close(mfd);
}

/* One mapping made on both sides. */
struct thp_case {
	const char *what;
	unsigned long off, len;		/* from WIN */
	int flags;			/* mmap flags but MAP_FIXED */
	int advice;			/* madvise after mmap, or 0 */
	bool file, touch;
};

#define CASE(w, o, l, f, ...) \
	{ .what = (w), .off = (o), .len = (l), .flags = (f), \
	  __VA_ARGS__ }

static const struct thp_case thp_cases[] = {
	CASE("aligned 4 MiB", 0, 4 * MB, PRIV),
	CASE("aligned 4 MiB, touched", 8 * MB, 4 * MB, PRIV, .touch = true),
	CASE("1 MiB", 16 * MB, MB, PRIV),
	CASE("3 MiB covering one aligned 2 MiB", 25 * MB, 3 * MB, PRIV),
	CASE("2 MiB unaligned", 33 * MB, 2 * MB, PRIV),
	CASE("MADV_HUGEPAGE", 40 * MB, 4 * MB, PRIV, .advice = MADV_HUGEPAGE),
	CASE("MADV_NOHUGEPAGE", 48 * MB, 4 * MB, PRIV,
	     .advice = MADV_NOHUGEPAGE),
	CASE("MAP_SHARED anonymous", 56 * MB, 4 * MB, SHARED),
	CASE("private file", 64 * MB, 4 * MB, MAP_PRIVATE, .file = true),
	CASE("MAP_STACK", 72 * MB, 4 * MB, PRIV | MAP_STACK),
	CASE("read-only", 80 * MB, 4 * MB, PRIV),
};

static int case_prot(const struct thp_case *c)
{
	return c->off == 80 * MB || c->file ? PROT_READ : RW;
}

/* A 4 MiB file both sides map; its fd. */
static int thp_file(void)
{
	char path[] = "/tmp/shadow_thp_XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(fd, 4 * MB)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Make the cases in this process; false if one fails. */
static bool real_map(int fd)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(thp_cases); i++) {
		const struct thp_case *c = &thp_cases[i];
		int map_fd = -1;
		char *p;

		if (c->file)
			map_fd = fd;
		p = mmap((void *)(WIN + c->off), c->len, case_prot(c),
			 c->flags | MAP_FIXED, map_fd, 0);

		if (p == MAP_FAILED)
			return false;
		if (c->advice && madvise(p, c->len, c->advice))
			return false;
		if (c->touch)
			__atomic_store_n(p, 1, __ATOMIC_RELAXED);
	}
	return true;
}

static void real_unmap(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(thp_cases); i++)
		munmap((void *)(WIN + thp_cases[i].off), thp_cases[i].len);
}

/*
 * Make the cases in the shadow space; -errno of the first that fails.
 * Without THP in the running kernel the madvise cases are left out
 * (EINVAL, as the kernel refuses them).
 */
static int shadow_map(int mfd, int fd)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(thp_cases); i++) {
		const struct thp_case *c = &thp_cases[i];
		struct shadow_mm_mmap m = {
			.size = sizeof(m), .addr = WIN + c->off, .len = c->len,
			.prot = case_prot(c), .map_flags = c->flags | MAP_FIXED,
			.fd = -1,
		};

		if (c->file)
			m.fd = fd;

		ret = shadow_ioctl(mfd, SHADOW_MM_MMAP, &m);
		if (ret)
			return ret;
		if (c->advice) {
			ret = _shadow_madvise(mfd, WIN + c->off, c->len,
					      c->advice);
			if (ret && !(ret == -EINVAL && !thp_sysfs_present()))
				return ret;
		}
		if (c->touch) {
			ret = _shadow_fault(mfd, WIN + c->off, 1,
					    SHADOW_FAULT_WRITE, NULL);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * Every case's THPeligible and VmFlags in @real and @shadow (smaps texts)
 * are the same.
 */
static void compare_cases(struct __test_metadata *_metadata,
			  const char *real, const char *shadow)
{
	char r[128], s[128];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(thp_cases); i++) {
		unsigned long start = WIN + thp_cases[i].off;

		ASSERT_EQ(0, smaps_field(real, start, "THPeligible:", r,
					 sizeof(r)));
		ASSERT_EQ(0, smaps_field(shadow, start, "THPeligible:", s,
					 sizeof(s)));
		TH_LOG("%s: THPeligible real %s shadow %s", thp_cases[i].what,
		       r, s);
		EXPECT_STREQ(r, s);
		ASSERT_EQ(0, smaps_field(real, start, "VmFlags:", r,
					 sizeof(r)));
		ASSERT_EQ(0, smaps_field(shadow, start, "VmFlags:", s,
					 sizeof(s)));
		EXPECT_STREQ(r, s);
	}
}

/*
 * The other huge page sizes of 6.8+ (mTHP) must be never and 2 MiB
 * inherit, 6.12's defaults: the engine models the PMD size alone.
 */
static bool mthp_default(void)
{
	char path[160], word[16];
	unsigned int kb;

	for (kb = 16; kb <= 2048; kb *= 2) {
		snprintf(path, sizeof(path), THP_SYSFS "/hugepages-%ukB/enabled",
			 kb);
		if (thp_sysfs_word(path, word, sizeof(word)))
			continue;
		if (strcmp(word, kb == 2048 ? "inherit" : "never"))
			return false;
	}
	return true;
}

/*
 * The cases made in this process, with the running kernel's enabled set
 * to @mode, and in a shadow space of the same mode; with @disable, both
 * with PR_SET_THP_DISABLE (the harness runs each test in a child of its
 * own, so the prctl ends with it).
 */
static void compare_with_real(struct __test_metadata *_metadata,
			      FIXTURE_DATA(thp) * self, const char *mode,
			      bool disable)
{
	char *real, *shadow, word[16];
	int fd, mfd;
	__u32 id = 0;

	if (!thp_sysfs_present())
		SKIP(return, "kernel without transparent huge pages");
	if (geteuid())
		SKIP(return, "not root: cannot set the sysfs mode");
	if (!mthp_default())
		SKIP(return, "mTHP sizes not at their defaults");
	if (!thp_sysfs_word(THP_SYSFS "/shmem_enabled", word, sizeof(word)) &&
	    strcmp(word, "never"))
		SKIP(return, "shmem_enabled is [%s], not never", word);
	ASSERT_EQ(0, thp_sysfs_save(self->saved, sizeof(self->saved)));
	ASSERT_EQ(0, thp_sysfs_set(mode));
	if (disable)
		ASSERT_EQ(0, prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));

	fd = thp_file();
	ASSERT_LE(0, fd);
	real_unmap();
	ASSERT_TRUE(real_map(fd));
	real = read_text("/proc/self/smaps");
	real_unmap();
	ASSERT_NE(NULL, real);

	/* A new space takes the mode; the ioctl says it in any case. */
	mfd = _shadow_create(self->devfd, 0, &id);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, _shadow_set_thp(mfd, SHADOW_THP_SET_MODE |
				     SHADOW_THP_SET_DISABLE, mode_of(mode),
				     disable, 0, NULL));
	ASSERT_EQ(0, shadow_map(mfd, fd));
	shadow = shadow_smaps(id);
	ASSERT_NE(NULL, shadow);
	compare_cases(_metadata, real, shadow);
	free(real);
	free(shadow);
	close(mfd);
	close(fd);
}

TEST_F(thp, eligible_always)
{
	compare_with_real(_metadata, self, "always", false);
}

TEST_F(thp, eligible_madvise)
{
	compare_with_real(_metadata, self, "madvise", false);
}

TEST_F(thp, eligible_never)
{
	compare_with_real(_metadata, self, "never", false);
}

TEST_F(thp, eligible_thp_disabled)
{
	compare_with_real(_metadata, self, "always", true);
}

/*
 * 6.7+: MAP_STACK gives VM_NOHUGEPAGE (SHADOW_RULE_MAP_STACK_NOHUGEPAGE),
 * so the mapping is not eligible and does not merge with a plain one; 6.1
 * ignores MAP_STACK. Both against this process's mapping.
 */
TEST_F(thp, map_stack_nohugepage)
{
	char r[128], s[128], *real, *shadow;
	unsigned long a = WIN + 96 * MB;
	char *p;

	if (!thp_sysfs_present())
		SKIP(return, "kernel without transparent huge pages");
	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_MODE,
				     SHADOW_MM_THP_ALWAYS, 0, 0, NULL));
	p = mmap((void *)a, 4 * MB, RW, PRIV | MAP_STACK | MAP_FIXED, -1, 0);
	ASSERT_EQ((void *)a, p);
	real = read_text("/proc/self/smaps");
	munmap(p, 4 * MB);
	ASSERT_NE(NULL, real);
	ASSERT_EQ(0, _shadow_mmap(self->mfd, a, 4 * MB, RW,
				  PRIV | MAP_STACK | MAP_FIXED, NULL));
	shadow = shadow_smaps(self->id);
	ASSERT_NE(NULL, shadow);
	ASSERT_EQ(0, smaps_field(real, a, "VmFlags:", r, sizeof(r)));
	ASSERT_EQ(0, smaps_field(shadow, a, "VmFlags:", s, sizeof(s)));
	EXPECT_STREQ(r, s);
	EXPECT_EQ(shadow_rules_since(6, 7), !!strstr(s, " nh"));
	/* The engine's own answer, whatever the host's sysfs mode. */
	ASSERT_EQ(0, smaps_field(shadow, a, "THPeligible:", s, sizeof(s)));
	EXPECT_EQ(shadow_rules_since(6, 7) ? 0 : 1, atoi(s));
	free(real);
	free(shadow);
}

/*
 * The engine alone, in any kernel: THPeligible follows the space's
 * policy as hugepage_vma_check() does.
 */
TEST_F(thp, eligible_engine_policy)
{
	unsigned long a = WIN, b = WIN + 8 * MB, c = WIN + 16 * MB;
	char v[32], *text;

	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_MODE,
				     SHADOW_MM_THP_ALWAYS, 0, 0, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, a, 4 * MB, RW, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, b, MB, RW, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, c, 4 * MB, RW, SHARED_FIXED,
				  NULL));
	text = shadow_smaps(self->id);
	ASSERT_NE(NULL, text);
	ASSERT_EQ(0, smaps_field(text, a, "THPeligible:", v, sizeof(v)));
	EXPECT_EQ(1, atoi(v));
	ASSERT_EQ(0, smaps_field(text, b, "THPeligible:", v, sizeof(v)));
	EXPECT_EQ(0, atoi(v));
	ASSERT_EQ(0, smaps_field(text, c, "THPeligible:", v, sizeof(v)));
	EXPECT_EQ(0, atoi(v));
	free(text);

	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_DISABLE, 0, 1,
				     0, NULL));
	text = shadow_smaps(self->id);
	ASSERT_NE(NULL, text);
	ASSERT_EQ(0, smaps_field(text, a, "THPeligible:", v, sizeof(v)));
	EXPECT_EQ(0, atoi(v));
	free(text);

	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_DISABLE |
				     SHADOW_THP_SET_MODE, SHADOW_MM_THP_MADVISE,
				     0, 0, NULL));
	text = shadow_smaps(self->id);
	ASSERT_NE(NULL, text);
	ASSERT_EQ(0, smaps_field(text, a, "THPeligible:", v, sizeof(v)));
	EXPECT_EQ(0, atoi(v));
	free(text);
}

/*
 * The walk's records are 32 bytes now: a small page's THP fields are 0;
 * a THP's pages name their head and order.
 */
TEST_F(thp, walk_record_thp_fields)
{
	struct shadow_page_info rec[2];
	struct shadow_mm_walk w = {
		.size = sizeof(w), .addr = WIN, .nr_pages = 2,
		.pages = (uintptr_t)rec, .rec_size = sizeof(rec[0]),
	};

	ASSERT_EQ(SHADOW_PAGE_INFO_SIZE_VER1, sizeof(rec[0]));
	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_MODE,
				     SHADOW_MM_THP_NEVER, 0, 0, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, WIN, 4 * MB, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, WIN, 1, SHADOW_FAULT_WRITE, NULL));
	memset(rec, 0xff, sizeof(rec));
	ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_WALK, &w));
	EXPECT_TRUE(rec[0].flags & SHADOW_PAGE_PRESENT);
	EXPECT_FALSE(rec[0].flags & (SHADOW_PAGE_THP | SHADOW_PAGE_PMD_MAPPED));
	EXPECT_EQ(0, rec[0].head_id);
	EXPECT_EQ(0, rec[0].order);
	EXPECT_EQ(0, rec[0].__pad);
	EXPECT_EQ(0, rec[1].flags);
	EXPECT_EQ(0, rec[1].head_id);

	/* The next aligned 2 MiB, with THP always: one leaf. */
	ASSERT_EQ(0, _shadow_set_thp(self->mfd, SHADOW_THP_SET_MODE,
				     SHADOW_MM_THP_ALWAYS, 0, 0, NULL));
	w.addr = (WIN + 2 * MB - 1) / (2 * MB) * (2 * MB) + 2 * MB;
	ASSERT_EQ(0, _shadow_fault(self->mfd, w.addr, 1, SHADOW_FAULT_WRITE,
				   NULL));
	memset(rec, 0xff, sizeof(rec));
	ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_WALK, &w));
	EXPECT_EQ(SHADOW_PAGE_THP | SHADOW_PAGE_PMD_MAPPED,
		  rec[1].flags & (SHADOW_PAGE_THP | SHADOW_PAGE_PMD_MAPPED));
	EXPECT_EQ(rec[0].page_id, rec[1].head_id);
	EXPECT_EQ(rec[0].page_id + 1, rec[1].page_id);
	EXPECT_EQ(9, rec[1].order);
	EXPECT_EQ(0, rec[1].__pad);
}

/* debugfs thp: the module's counters, all there (0 without huge pages). */
TEST_F(thp, debugfs_counters)
{
	static const char * const names[] = {
		"thp_fault_alloc", "thp_fault_fallback",
		"thp_fault_fallback_charge", "thp_split_pmd", "thp_split_page",
		"thp_split_page_failed", "thp_deferred_split_page",
		"thp_zero_page_alloc", "thp_zero_page_alloc_failed",
		"thp_swpout_fallback",
	};
	unsigned int i;

	if (access(DBG "/thp", R_OK))
		SKIP(return, "no debugfs");
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		EXPECT_LE(0, shadow_debugfs_value(DBG "/thp", names[i])) {
			TH_LOG("%s", names[i]);
		}
	}
}

/*
 * kpageflags_of(), for the later THP comparisons: a page of this process
 * in a mapping too small for a huge page is anonymous and not THP.
 */
TEST_F(thp, kpageflags_self_check)
{
	char *p;
	__u64 f;

	if (geteuid() || access("/proc/kpageflags", R_OK))
		SKIP(return, "no /proc/kpageflags (not root)");
	p = mmap(NULL, 16 * PAGE, RW, PRIV, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	__atomic_store_n(p, 1, __ATOMIC_RELAXED);
	f = kpageflags_of((unsigned long)p);
	ASSERT_NE(KPF_UNKNOWN, f);
	EXPECT_TRUE(f & (1ULL << KPF_ANON));
	EXPECT_FALSE(f & (1ULL << KPF_THP));
	EXPECT_EQ(KPF_UNKNOWN, kpageflags_of((unsigned long)p + PAGE));
	munmap(p, 16 * PAGE);
}

TEST_HARNESS_MAIN
