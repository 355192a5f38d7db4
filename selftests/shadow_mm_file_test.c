// SPDX-License-Identifier: GPL-2.0
/*
 * File-backed mappings in shadow address spaces: a file on tmpfs, a memfd
 * and a file on ramfs (a file system that reads pages through
 * ->read_folio; the VM has no disk file system). Private COW never
 * reaching the file, shared writes reaching it, pwrite seen through the
 * mappings, two address spaces sharing a file, fork, msync, SIGBUS past
 * end of file (and the anon_vma a failed private write leaves),
 * truncation, reclaim of clean and dirty file pages, the
 * maps line and every errno against a real mmap of the same file, and the
 * file released when the address space goes.
 */
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define NPAGES	4

enum kind { K_TMPFS, K_MEMFD, K_RAMFS };

/* A counter of debugfs's filemap file ("files", "file_pages", ...). */
static long filemap_counter(const char *name)
{
	return shadow_debugfs_value("/sys/kernel/debug/shadow_mm/filemap", name);
}

FIXTURE(file) {
	int dev;
	int mfd;
	int fd;
	char dir[64];
	char path[96];
	long pages, vmas, files, file_pages;
};

FIXTURE_VARIANT(file) {
	enum kind kind;
};

FIXTURE_VARIANT_ADD(file, tmpfs) { .kind = K_TMPFS };
FIXTURE_VARIANT_ADD(file, memfd) { .kind = K_MEMFD };
FIXTURE_VARIANT_ADD(file, ramfs) { .kind = K_RAMFS };

static long _shadow_mmap_fd(int mfd, __u64 addr, __u64 len, int prot,
			    int flags, int fd, __u64 offset, __u64 *out)
{
	struct shadow_mm_mmap m = {
		.size = sizeof(m), .addr = addr, .len = len, .prot = prot,
		.map_flags = flags, .fd = fd, .offset = offset,
	};
	int ret = shadow_ioctl(mfd, SHADOW_MM_MMAP, &m);

	if (!ret && out)
		*out = m.out_addr;
	return ret;
}

static int _shadow_msync(int mfd, __u64 addr, __u64 len, int flags)
{
	struct shadow_mm_msync s = {
		.size = sizeof(s), .addr = addr, .len = len,
		.msync_flags = flags,
	};

	return shadow_ioctl(mfd, SHADOW_MM_MSYNC, &s);
}

/* Page @i of the file holds "page<i>" then zeroes. */
static void fill_file(struct __test_metadata *_metadata, int fd, int pages)
{
	char buf[PAGE];
	int i;

	ASSERT_EQ(0, ftruncate(fd, pages * PAGE));
	for (i = 0; i < pages; i++) {
		memset(buf, 0, sizeof(buf));
		snprintf(buf, sizeof(buf), "page%d", i);
		ASSERT_EQ(PAGE, pwrite(fd, buf, PAGE, i * PAGE));
	}
}

static void expect_file(struct __test_metadata *_metadata, int fd,
			off_t off, const char *s)
{
	char buf[64] = "";

	ASSERT_EQ((ssize_t)strlen(s), pread(fd, buf, strlen(s), off));
	EXPECT_STREQ(s, buf);
}

FIXTURE_SETUP(file)
{
	if (variant->kind == K_MEMFD) {
		self->fd = memfd_create("shadow_file", 0);
		ASSERT_LE(0, self->fd);
	} else {
		strcpy(self->dir, "/tmp/shadow_file.XXXXXX");
		ASSERT_NE(NULL, mkdtemp(self->dir));
		if (variant->kind == K_RAMFS)
			ASSERT_EQ(0, mount("ramfs", self->dir, "ramfs", 0,
					   NULL));
		snprintf(self->path, sizeof(self->path), "%s/data",
			 self->dir);
		self->fd = open(self->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		ASSERT_LE(0, self->fd);
	}
	fill_file(_metadata, self->fd, NPAGES);
	self->pages = shadow_counter("pages");
	self->vmas = shadow_counter("vmas");
	self->files = filemap_counter("files");
	self->file_pages = filemap_counter("file_pages");
	ASSERT_LE(0, self->files);
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	ASSERT_NE(0, shadow_features(self->dev) & SHADOW_MM_FEATURE_FILE);
	self->mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(file)
{
	if (self->mfd >= 0)
		close(self->mfd);
	close(self->dev);
	/* Every page, VMA, file object and page reference is gone. */
	EXPECT_EQ(self->pages, shadow_counter("pages"));
	EXPECT_EQ(self->vmas, shadow_counter("vmas"));
	EXPECT_EQ(self->files, filemap_counter("files"));
	EXPECT_EQ(self->file_pages, filemap_counter("file_pages"));
	close(self->fd);
	if (variant->kind != K_MEMFD) {
		unlink(self->path);
		if (variant->kind == K_RAMFS)
			umount(self->dir);
		rmdir(self->dir);
	}
}

/* The maps line of the VMA at @addr, from its address column on. */
static char *maps_line(char *maps, unsigned long addr)
{
	char key[32];
	char *line, *end;

	snprintf(key, sizeof(key), "%08lx-", addr);
	line = strstr(maps, key);
	if (!line)
		return NULL;
	end = strchr(line, '\n');
	if (end)
		*end = 0;
	return strchr(line, ' ');
}

static char *real_maps_line(unsigned long addr)
{
	static char buf[1 << 16];
	size_t n;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return maps_line(buf, addr);
}

/* The shadow maps line is what /proc/self/maps shows for the same map. */
TEST_F(file, maps_line_matches_real)
{
	static const struct { int prot, flags; __u64 off; } cases[] = {
		{ RW, MAP_SHARED, PAGE },
		{ PROT_READ, MAP_PRIVATE, 0 },
		{ RW, MAP_PRIVATE, 2 * PAGE },
	};
	int i;

	for (i = 0; i < 3; i++) {
		char *maps, *mine, *real;
		void *p;

		ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, 2 * PAGE,
					     cases[i].prot,
					     cases[i].flags | MAP_FIXED,
					     self->fd, cases[i].off, NULL));
		p = mmap((void *)BASE, 2 * PAGE, cases[i].prot,
			 cases[i].flags | MAP_FIXED, self->fd, cases[i].off);
		ASSERT_EQ((void *)BASE, p);
		maps = shadow_get_maps(self->mfd);
		ASSERT_NE(NULL, maps);
		mine = maps_line(maps, BASE);
		real = real_maps_line(BASE);
		ASSERT_NE(NULL, mine);
		ASSERT_NE(NULL, real);
		EXPECT_STREQ(real, mine);
		free(maps);
		munmap(p, 2 * PAGE);
		ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, 2 * PAGE));
	}
}

/*
 * Each error of a file mmap is the one mmap(2) gives for the same
 * arguments in this process.
 */
TEST_F(file, errnos_match_real)
{
	int ro = open("/proc/self/fd/0", O_RDONLY);
	int pipefd[2];
	char fdpath[64];
	struct {
		const char *what;
		int prot, flags, fd;
		__u64 off, len;
	} c[12];
	int dirfd, closed, wo = -1, rofd, n = 0, i;

	if (ro >= 0)
		close(ro);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", self->fd);
	rofd = open(fdpath, O_RDONLY);
	ASSERT_LE(0, rofd);
	if (variant->kind != K_MEMFD) {
		wo = open(self->path, O_WRONLY);
		ASSERT_LE(0, wo);
	}
	ASSERT_EQ(0, pipe(pipefd));
	dirfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, dirfd);
	closed = dup(self->fd);
	close(closed);

#define C(w, p, f, d, o, l) \
	(c[n++] = (typeof(c[0])){ w, p, f, d, o, l })
	C("shared writable on O_RDONLY", RW, MAP_SHARED, rofd, 0, PAGE);
	C("shared read-only on O_RDONLY", PROT_READ, MAP_SHARED, rofd, 0,
	  PAGE);
	C("private writable on O_RDONLY", RW, MAP_PRIVATE, rofd, 0, PAGE);
	C("unaligned offset", PROT_READ, MAP_SHARED, self->fd, 1, PAGE);
	C("offset overflow", PROT_READ, MAP_SHARED, self->fd, -2 * PAGE,
	  4 * PAGE);
	C("pipe", PROT_READ, MAP_PRIVATE, pipefd[0], 0, PAGE);
	C("directory", PROT_READ, MAP_PRIVATE, dirfd, 0, PAGE);
	C("closed fd", PROT_READ, MAP_PRIVATE, closed, 0, PAGE);
	C("MAP_SHARED_VALIDATE|MAP_SYNC", PROT_READ,
	  MAP_SHARED_VALIDATE | MAP_SYNC, self->fd, 0, PAGE);
	C("MAP_GROWSDOWN", PROT_READ, MAP_PRIVATE | MAP_GROWSDOWN, self->fd,
	  0, PAGE);
	C("MAP_SHARED_VALIDATE", RW, MAP_SHARED_VALIDATE, self->fd, 0, PAGE);
	if (wo >= 0)
		C("private on O_WRONLY", PROT_READ, MAP_PRIVATE, wo, 0, PAGE);
#undef C

	for (i = 0; i < n; i++) {
		void *p = mmap((void *)BASE, c[i].len, c[i].prot,
			       c[i].flags | MAP_FIXED, c[i].fd, c[i].off);
		long want = p == MAP_FAILED ? -errno : 0;
		long got = _shadow_mmap_fd(self->mfd, BASE, c[i].len,
					   c[i].prot, c[i].flags | MAP_FIXED,
					   c[i].fd, c[i].off, NULL);

		EXPECT_EQ(want, got) {
			TH_LOG("%s: real %ld, shadow %ld", c[i].what, want,
			       got);
		}
		if (p != MAP_FAILED)
			munmap(p, c[i].len);
		_shadow_munmap(self->mfd, BASE, c[i].len);
	}

	/* A read-only shared mapping may not become writable. */
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, PAGE, PROT_READ,
				     MAP_SHARED | MAP_FIXED, rofd, 0, NULL));
	EXPECT_EQ(-EACCES, _shadow_mprotect(self->mfd, BASE, PAGE, RW));
	/* ... and holds no write access: a forced write is refused. */
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, BASE, "x", 1,
					  SHADOW_ACCESS_WRITE |
					  SHADOW_ACCESS_FORCE));
	close(rofd);
	close(dirfd);
	close(pipefd[0]);
	close(pipefd[1]);
	if (wo >= 0)
		close(wo);
}

/*
 * A private mapping reads the file's pages in place (a read maps the
 * cached pages around it too: fault-around); a write copies the page (the
 * file never changes); pwrite is seen through the pages not yet copied.
 */
TEST_F(file, private_cow_never_reaches_file)
{
	long faults = filemap_counter("file_faults");
	struct shadow_page_info p;
	struct shadow_mm_stats st;
	__u64 nr;

	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, NPAGES * PAGE, RW,
				     MAP_PRIVATE | MAP_FIXED, self->fd, 0,
				     NULL));
	shadow_expect(_metadata, self->mfd, BASE, "page0");
	shadow_expect(_metadata, self->mfd, BASE + PAGE, "page1");
	p = shadow_page(_metadata, self->mfd, BASE);
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_YOUNG | SHADOW_PAGE_FILE,
		  p.flags);
	EXPECT_EQ(1, p.mapcount);
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(NPAGES, st.out_rss_file);
	EXPECT_EQ(0, st.out_rss_anon);
	EXPECT_EQ(1, st.out_min_flt);

	/* Write: a private copy, the file untouched. */
	shadow_put(_metadata, self->mfd, BASE, "PRIV0");
	p = shadow_page(_metadata, self->mfd, BASE);
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE | SHADOW_PAGE_DIRTY |
		  SHADOW_PAGE_YOUNG | SHADOW_PAGE_ANON_EXCLUSIVE, p.flags);
	shadow_expect(_metadata, self->mfd, BASE, "PRIV0");
	expect_file(_metadata, self->fd, 0, "page0");
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(NPAGES - 1, st.out_rss_file);
	EXPECT_EQ(1, st.out_rss_anon);
	EXPECT_EQ(1, st.out_cow_copies);

	/* A write fault where nothing is mapped: do_cow_fault. */
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + 2 * PAGE, PAGE,
				     MADV_DONTNEED));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 2 * PAGE, PAGE,
				   SHADOW_FAULT_WRITE, &nr));
	shadow_expect(_metadata, self->mfd, BASE + 2 * PAGE, "page2");
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, BASE + 2 * PAGE).flags &
		     SHADOW_PAGE_FILE);
	shadow_put(_metadata, self->mfd, BASE + 2 * PAGE, "PRIV2");
	expect_file(_metadata, self->fd, 2 * PAGE, "page2");
	/* A read fault and a do_cow_fault (the COW break is no file's). */
	EXPECT_EQ(faults + 2, filemap_counter("file_faults"));
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_cow_copies);

	/* pwrite: seen through page 1 (still the file's), not page 0. */
	ASSERT_EQ(5, pwrite(self->fd, "PWR-0", 5, 0));
	ASSERT_EQ(5, pwrite(self->fd, "PWR-1", 5, PAGE));
	shadow_expect(_metadata, self->mfd, BASE, "PRIV0");
	shadow_expect(_metadata, self->mfd, BASE + PAGE, "PWR-1");

	/* Unmapping leaves the file as pwrite made it. */
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, NPAGES * PAGE));
	expect_file(_metadata, self->fd, 0, "PWR-0");
	expect_file(_metadata, self->fd, 2 * PAGE, "page2");
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_rss_file);
	EXPECT_EQ(0, st.out_rss_anon);
}

/* Shared writes reach the file: at once, after msync and after munmap. */
TEST_F(file, shared_writes_reach_file)
{
	struct shadow_page_info p;
	__u64 nr;

	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, NPAGES * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	/* A read maps the page writable (no write notification), clean. */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, 0, &nr));
	p = shadow_page(_metadata, self->mfd, BASE);
	EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_WRITE | SHADOW_PAGE_YOUNG |
		  SHADOW_PAGE_FILE, p.flags);
	shadow_put(_metadata, self->mfd, BASE, "SHRD0");
	p = shadow_page(_metadata, self->mfd, BASE);
	EXPECT_NE(0, p.flags & SHADOW_PAGE_DIRTY);
	expect_file(_metadata, self->fd, 0, "SHRD0");

	/* msync: the PTE is cleaned, its dirt moved to the page. */
	EXPECT_EQ(0, _shadow_msync(self->mfd, BASE, NPAGES * PAGE, MS_SYNC));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, BASE).flags &
		     SHADOW_PAGE_DIRTY);
	expect_file(_metadata, self->fd, 0, "SHRD0");
	EXPECT_EQ(0, _shadow_msync(self->mfd, BASE, PAGE, MS_ASYNC));
	EXPECT_EQ(0, _shadow_msync(self->mfd, BASE, PAGE,
				   MS_INVALIDATE));

	/* pwrite is seen through the shared mapping. */
	ASSERT_EQ(5, pwrite(self->fd, "PWR-1", 5, PAGE));
	shadow_expect(_metadata, self->mfd, BASE + PAGE, "PWR-1");

	shadow_put(_metadata, self->mfd, BASE + 3 * PAGE, "SHRD3");
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, NPAGES * PAGE));
	expect_file(_metadata, self->fd, 3 * PAGE, "SHRD3");
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_file);
}

/* msync's errors are msync(2)'s. */
TEST_F(file, msync_errnos)
{
	void *r;

	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, 2 * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	r = mmap((void *)BASE, 2 * PAGE, RW, MAP_SHARED | MAP_FIXED, self->fd,
		 0);
	ASSERT_EQ((void *)BASE, r);
	static const struct { __u64 addr, len; int flags; } c[] = {
		{ BASE + 1, PAGE, MS_SYNC },
		{ BASE, PAGE, MS_SYNC | MS_ASYNC },
		{ BASE, PAGE, 0x100 },
		{ BASE, 3 * PAGE, MS_SYNC },
		{ BASE, 3 * PAGE, MS_ASYNC },
		{ BASE - PAGE, 2 * PAGE, MS_ASYNC },
		{ BASE - PAGE, 2 * PAGE, MS_INVALIDATE },
		{ BASE, 0, MS_SYNC },
		{ BASE, -PAGE, MS_SYNC },
		{ BASE, 2 * PAGE, MS_SYNC | MS_INVALIDATE },
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(c); i++) {
		long want = msync((void *)c[i].addr, c[i].len, c[i].flags) ?
			    -errno : 0;

		EXPECT_EQ(want, _shadow_msync(self->mfd, c[i].addr, c[i].len,
					      c[i].flags));
	}
	munmap(r, 2 * PAGE);
	/* MS_INVALIDATE over a locked mapping: EBUSY. */
	ASSERT_EQ(0, _shadow_mlock(self->mfd, BASE, PAGE, 0));
	EXPECT_EQ(-EBUSY, _shadow_msync(self->mfd, BASE, PAGE, MS_INVALIDATE));
}

/*
 * msync(2)'s flags are in msync_flags; @flags is the command's own and
 * must be 0 (ABI version 1 had MS_* there), as must @__reserved.
 */
TEST_F(file, msync_flags_field)
{
	struct shadow_mm_msync s = {
		.size = sizeof(s), .addr = BASE, .len = PAGE,
	};

	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	ASSERT_EQ(5, _shadow_access(self->mfd, BASE, "MSYNC", 5,
				    SHADOW_ACCESS_WRITE));
	s.flags = MS_SYNC;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MSYNC, &s));
	s.flags = MS_ASYNC;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MSYNC, &s));
	s.flags = 0;
	s.msync_flags = MS_SYNC;
	s.__reserved = 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MSYNC, &s));
	s.__reserved = 0;
	EXPECT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_MSYNC, &s));
	expect_file(_metadata, self->fd, 0, "MSYNC");
	/* A struct of ABI version 1's size: msync_flags 0, a plain msync. */
	s.size = offsetof(struct shadow_mm_msync, msync_flags);
	EXPECT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_MSYNC, &s));
	s.msync_flags = 0x100;
	s.size = sizeof(s);
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_MSYNC, &s));
}

/* Two address spaces mapping the file shared see each other's writes. */
TEST_F(file, two_spaces_share_pages)
{
	int other = _shadow_create(self->dev, 0, NULL);
	struct shadow_page_info a, b;

	ASSERT_LE(0, other);
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, NPAGES * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	ASSERT_EQ(0, _shadow_mmap_fd(other, BASE + 8 * PAGE, 2 * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, PAGE,
				     NULL));
	shadow_put(_metadata, self->mfd, BASE + PAGE, "from A");
	shadow_expect(_metadata, other, BASE + 8 * PAGE, "from A");
	shadow_put(_metadata, other, BASE + 9 * PAGE, "from B");
	shadow_expect(_metadata, self->mfd, BASE + 2 * PAGE, "from B");
	a = shadow_page(_metadata, self->mfd, BASE + PAGE);
	b = shadow_page(_metadata, other, BASE + 8 * PAGE);
	EXPECT_EQ(a.page_id, b.page_id);
	EXPECT_EQ(2, a.mapcount);
	close(other);
	EXPECT_EQ(1, shadow_page(_metadata, self->mfd, BASE + PAGE).mapcount);
	expect_file(_metadata, self->fd, 2 * PAGE, "from B");
}

/*
 * MADV_REMOVE of a shared file mapping runs the file's fallocate
 * (PUNCH_HOLE | KEEP_SIZE): the hole's pages are unmapped at once, it
 * reads zeroes through the shadow space and in the file, which keeps its
 * size; ramfs has no hole punch.
 * A private mapping refuses with EACCES. The errors are the real
 * kernel's for the same calls.
 */
TEST_F(file, madv_remove_punches_hole)
{
	char *real;
	int serr, rerr;

	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, NPAGES * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE + 8 * PAGE, PAGE, RW,
				     MAP_PRIVATE | MAP_FIXED, self->fd, 0,
				     NULL));
	shadow_expect(_metadata, self->mfd, BASE + PAGE, "page1");
	shadow_expect(_metadata, self->mfd, BASE + 2 * PAGE, "page2");
	serr = _shadow_madvise(self->mfd, BASE + PAGE, 2 * PAGE, MADV_REMOVE);
	EXPECT_EQ(-EACCES, _shadow_madvise(self->mfd, BASE + 8 * PAGE, PAGE,
					   MADV_REMOVE));
	if (!serr) {
		char buf[8] = "xxxxxxx";

		/* The punch unmapped the hole's pages, as the real one does. */
		EXPECT_FALSE(shadow_page(_metadata, self->mfd, BASE + PAGE).flags &
			     SHADOW_PAGE_PRESENT);
		EXPECT_FALSE(shadow_page(_metadata, self->mfd,
					 BASE + 2 * PAGE).flags &
			     SHADOW_PAGE_PRESENT);
		ASSERT_EQ(8, _shadow_access(self->mfd, BASE + 2 * PAGE - 4,
					    buf, 8, 0));
		EXPECT_EQ(0, memcmp(buf, "\0\0\0\0\0\0\0\0", 8));
		ASSERT_EQ(8, pread(self->fd, buf, 8, PAGE));
		EXPECT_EQ(0, memcmp(buf, "\0\0\0\0\0\0\0\0", 8));
		shadow_expect(_metadata, self->mfd, BASE, "page0");
		shadow_expect(_metadata, self->mfd, BASE + 3 * PAGE, "page3");
		EXPECT_EQ(NPAGES * PAGE, lseek(self->fd, 0, SEEK_END));
	}

	/* The same calls on this process's own mappings. */
	fill_file(_metadata, self->fd, NPAGES);
	real = mmap(NULL, NPAGES * PAGE, RW, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, real);
	rerr = madvise(real + PAGE, 2 * PAGE, MADV_REMOVE) ? -errno : 0;
	EXPECT_EQ(rerr, serr);
	if (!rerr)
		EXPECT_STREQ("", real + PAGE);
	munmap(real, NPAGES * PAGE);
	real = mmap(NULL, PAGE, RW, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, real);
	EXPECT_EQ(-1, madvise(real, PAGE, MADV_REMOVE));
	EXPECT_EQ(EACCES, errno);
	munmap(real, PAGE);
}

/* fork: the child shares the file pages and the private copies. */
TEST_F(file, fork_file_mappings)
{
	struct shadow_page_info p, c;
	__u32 id;
	int child;

	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, 2 * PAGE, RW,
				     MAP_PRIVATE | MAP_FIXED, self->fd, 0,
				     NULL));
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE + 4 * PAGE, 2 * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	shadow_put(_metadata, self->mfd, BASE, "COW0");
	shadow_expect(_metadata, self->mfd, BASE + PAGE, "page1");
	child = _shadow_fork(self->mfd, 0, &id);
	ASSERT_LE(0, child);

	/* The private VMA's PTEs were copied: the same pages. */
	p = shadow_page(_metadata, self->mfd, BASE + PAGE);
	c = shadow_page(_metadata, child, BASE + PAGE);
	EXPECT_EQ(p.page_id, c.page_id);
	EXPECT_NE(0, c.flags & SHADOW_PAGE_FILE);
	EXPECT_EQ(2, c.mapcount);
	shadow_expect(_metadata, child, BASE, "COW0");
	EXPECT_EQ(1, shadow_stats(_metadata, child).out_rss_file);
	EXPECT_EQ(1, shadow_stats(_metadata, child).out_rss_anon);

	/* The child's private write copies; the parent's stays. */
	shadow_put(_metadata, child, BASE + PAGE, "CHILD");
	shadow_expect(_metadata, self->mfd, BASE + PAGE, "page1");
	expect_file(_metadata, self->fd, PAGE, "page1");

	/* The shared one is the file's in both. */
	shadow_put(_metadata, child, BASE + 4 * PAGE, "SHARED");
	shadow_expect(_metadata, self->mfd, BASE + 4 * PAGE, "SHARED");
	expect_file(_metadata, self->fd, 0, "SHARED");
	close(child);
}

/* Past end of file: SIGBUS (EFAULT), in a fault and in an access. */
TEST_F(file, sigbus_past_eof)
{
	char buf[2 * PAGE];
	__u64 nr;

	ASSERT_EQ(0, ftruncate(self->fd, PAGE + 10));
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, NPAGES * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	/* The page holding the end is there, zero past it. */
	EXPECT_EQ(0, _shadow_fault(self->mfd, BASE, 2 * PAGE, 0, &nr));
	EXPECT_EQ(2, nr);
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE + 2 * PAGE, PAGE, 0,
					 &nr));
	EXPECT_EQ(0, nr);
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE + 3 * PAGE, PAGE,
					 SHADOW_FAULT_WRITE, &nr));
	/* An access stops at the end of the last page. */
	EXPECT_EQ(PAGE, _shadow_access(self->mfd, BASE + PAGE, buf,
				       2 * PAGE, 0));
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, BASE + 2 * PAGE, buf, 1,
					  0));

	/* A private mapping too, for reads and writes. */
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, NPAGES * PAGE, RW,
				     MAP_PRIVATE | MAP_FIXED, self->fd, 0,
				     NULL));
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE + 2 * PAGE, PAGE,
					 SHADOW_FAULT_WRITE, &nr));
	EXPECT_EQ(0, _shadow_fault(self->mfd, BASE + PAGE, PAGE,
				   SHADOW_FAULT_WRITE, &nr));

	/* A real process gets SIGBUS at the same page. */
	{
		char *r = mmap(NULL, NPAGES * PAGE, PROT_READ, MAP_SHARED,
			       self->fd, 0);
		int status;
		pid_t pid;

		ASSERT_NE(MAP_FAILED, r);
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			(void)__atomic_load_n(r + PAGE, __ATOMIC_RELAXED);
			(void)__atomic_load_n(r + 2 * PAGE, __ATOMIC_RELAXED);
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGBUS, WTERMSIG(status));
		munmap(r, NPAGES * PAGE);
	}
}

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_jmp, 1);
}

/* A write to @p gets SIGBUS. */
static bool sigbus_on_write(char *p)
{
	if (sigsetjmp(sigbus_jmp, 1))
		return true;
	__atomic_store_n(p, 1, __ATOMIC_RELAXED);
	return false;
}

/* 1 if a fork()ed child of this process has @addr mapped (pagemap). */
static int real_present_in_child(const void *addr)
{
	int status;
	pid_t pid = fork();

	if (!pid)
		_exit(!!(pagemap_entry((unsigned long)addr) & PM_PRESENT));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * A write past end of file in a private mapping fails (SIGBUS), but
 * do_cow_fault() gave the VMA an anon_vma before filemap_fault() failed,
 * so a fork copies the VMA's PTEs (vma_needs_copy()): the child has the
 * page the parent read. Without that write the child has no PTE. Both
 * against a real process. (The differential fuzzer found it: seed
 * 1796175020, sequence 61.)
 */
TEST_F(file, write_past_eof_then_fork)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int write, real, child;
	struct shadow_page_info c;
	char *r;

	ASSERT_EQ(0, ftruncate(self->fd, PAGE));
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, &old));
	for (write = 0; write < 2; write++) {
		r = mmap(NULL, 2 * PAGE, RW, MAP_PRIVATE, self->fd, 0);
		ASSERT_NE(MAP_FAILED, r);
		(void)__atomic_load_n(r, __ATOMIC_RELAXED);
		if (write)
			EXPECT_TRUE(sigbus_on_write(r + PAGE));
		real = real_present_in_child(r);
		munmap(r, 2 * PAGE);
		EXPECT_EQ(write, real);

		ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, 2 * PAGE, RW,
					     MAP_PRIVATE | MAP_FIXED, self->fd,
					     0, NULL));
		ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, 0, NULL));
		if (write)
			EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE + PAGE,
							 PAGE,
							 SHADOW_FAULT_WRITE,
							 NULL));
		child = _shadow_fork(self->mfd, 0, NULL);
		ASSERT_LE(0, child);
		c = shadow_page(_metadata, child, BASE);
		EXPECT_EQ(real, !!(c.flags & SHADOW_PAGE_PRESENT))
			TH_LOG("after %s", write ? "a write past EOF" : "a read");
		close(child);
	}
	sigaction(SIGBUS, &old, NULL);
}

/*
 * Truncation while mapped: the pages past the new end are unmapped at
 * their next access, which fails (SIGBUS); a later extension faults in
 * the file's new (zero) page.
 */
TEST_F(file, truncate_while_mapped)
{
	char buf[8] = "x";
	__u64 nr;

	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, NPAGES * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE + 8 * PAGE,
				     NPAGES * PAGE, RW,
				     MAP_PRIVATE | MAP_FIXED, self->fd, 0,
				     NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, NPAGES * PAGE,
				   SHADOW_FAULT_WRITE, &nr));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 8 * PAGE, NPAGES * PAGE,
				   0, &nr));
	shadow_put(_metadata, self->mfd, BASE + 8 * PAGE + 3 * PAGE, "cow3");
	EXPECT_EQ(7, shadow_stats(_metadata, self->mfd).out_rss_file);

	ASSERT_EQ(0, ftruncate(self->fd, PAGE));
	/* Still mapped until touched (the engine documents this). */
	EXPECT_NE(0, shadow_page(_metadata, self->mfd, BASE + 2 * PAGE).flags &
		     SHADOW_PAGE_PRESENT);
	EXPECT_EQ(-EFAULT, _shadow_fault(self->mfd, BASE + 2 * PAGE, PAGE, 0,
					 &nr));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, BASE + 2 * PAGE).flags);
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, BASE + 3 * PAGE, "x", 1,
					  SHADOW_ACCESS_WRITE));
	/* The private copy past the end goes too, as Linux's truncate does. */
	EXPECT_EQ(-EFAULT, _shadow_access(self->mfd, BASE + 11 * PAGE, "x", 1,
					  0));
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, BASE + 11 * PAGE).flags);
	shadow_expect(_metadata, self->mfd, BASE, "page0");

	/* Extended again: the pages are the file's new, zeroed ones. */
	ASSERT_EQ(0, ftruncate(self->fd, NPAGES * PAGE));
	EXPECT_EQ(8, _shadow_access(self->mfd, BASE + PAGE, buf, 8, 0));
	EXPECT_EQ(0, buf[0]);
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE, 16 * PAGE));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_file);
}

/*
 * Reclaim of file pages: clean and dirty ones are unmapped and let go,
 * the dirty one marked dirty; the file keeps the data.
 */
TEST_F(file, reclaim_clean_and_dirty)
{
	struct shadow_mm_reclaim rc;
	__u64 nr;

	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, NPAGES * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	/* The read maps every page (fault-around); the write dirties one. */
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, PAGE, 0, &nr));
	shadow_put(_metadata, self->mfd, BASE + PAGE, "DIRTY1");
	EXPECT_EQ(NPAGES, shadow_stats(_metadata, self->mfd).out_rss_file);
	/* Age first: the pages were young. */
	ASSERT_EQ(0, _shadow_reclaim(self->mfd, 0, BASE, NPAGES * PAGE, &rc));
	EXPECT_EQ(NPAGES, rc.out_referenced);
	ASSERT_EQ(0, _shadow_reclaim(self->mfd, 0, BASE, NPAGES * PAGE, &rc));
	EXPECT_EQ(NPAGES, rc.out_scanned);
	EXPECT_EQ(NPAGES, rc.out_unmapped);
	EXPECT_EQ(NPAGES, rc.out_reclaimed);
	EXPECT_EQ(0, rc.out_swapped_out);
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, BASE).flags);
	EXPECT_EQ(0, shadow_page(_metadata, self->mfd, BASE + PAGE).flags);
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_rss_file);
	EXPECT_EQ(self->file_pages, filemap_counter("file_pages"));
	expect_file(_metadata, self->fd, PAGE, "DIRTY1");
	expect_file(_metadata, self->fd, 0, "page0");
	/* And faults map them again. */
	shadow_expect(_metadata, self->mfd, BASE + PAGE, "DIRTY1");
}

/*
 * The file is released when the address space goes, not before: a
 * deleted file's space comes back only then.
 */
TEST_F(file, file_released_with_address_space)
{
	struct statfs before, mapped, after;
	char *big;
	int fd, i;

	if (variant->kind != K_TMPFS)
		SKIP(return, "statfs of tmpfs only");
	big = calloc(1, 64 * PAGE);
	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, statfs(self->dir, &before));
	fd = open(self->dir, O_TMPFILE | O_RDWR, 0600);
	ASSERT_LE(0, fd);
	memset(big, 'z', 64 * PAGE);
	ASSERT_EQ(64 * PAGE, write(fd, big, 64 * PAGE));
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, 64 * PAGE, PROT_READ,
				     MAP_SHARED | MAP_FIXED, fd, 0, NULL));
	EXPECT_EQ(self->files + 1, filemap_counter("files"));
	close(fd);
	shadow_expect(_metadata, self->mfd, BASE + 63 * PAGE, "zzz");
	ASSERT_EQ(0, statfs(self->dir, &mapped));
	EXPECT_LE(mapped.f_bfree + 64, before.f_bfree);
	close(self->mfd);
	self->mfd = -1;
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, statfs(self->dir, &after));
		if (after.f_bfree == before.f_bfree)
			break;
		usleep(10000);
	}
	EXPECT_EQ(before.f_bfree, after.f_bfree);
	free(big);
}

/* Split, merge and mremap keep the file offsets. */
TEST_F(file, split_merge_mremap_keep_pgoff)
{
	struct shadow_vma_info v[4];
	__u64 out;
	__u32 nr;

	/* Two mmaps of contiguous offsets of the same file merge. */
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE, 2 * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE + 2 * PAGE, 2 * PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd,
				     2 * PAGE, NULL));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, 0, -1UL, v, 4, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_EQ(SHADOW_VMA_FILE, v[0].backing);
	EXPECT_EQ(0, v[0].pgoff);
	/* Non-contiguous offsets do not. */
	ASSERT_EQ(0, _shadow_mmap_fd(self->mfd, BASE + 4 * PAGE, PAGE, RW,
				     MAP_SHARED | MAP_FIXED, self->fd, 0,
				     NULL));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, 0, -1UL, v, 4, &nr));
	EXPECT_EQ(2, nr);
	/* A split in the middle keeps each half's offset. */
	ASSERT_EQ(0, _shadow_mprotect(self->mfd, BASE + PAGE, PAGE,
				      PROT_READ));
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, 0, -1UL, v, 4, &nr));
	ASSERT_EQ(4, nr);
	EXPECT_EQ(1, v[1].pgoff);
	EXPECT_EQ(2, v[2].pgoff);
	/* mremap moves the pages with their offset. */
	shadow_put(_metadata, self->mfd, BASE + 2 * PAGE, "moved");
	ASSERT_EQ(0, _shadow_mremap(self->mfd, BASE + 2 * PAGE, 2 * PAGE,
				    2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
				    BASE + 16 * PAGE, &out));
	EXPECT_EQ(BASE + 16 * PAGE, out);
	shadow_expect(_metadata, self->mfd, BASE + 16 * PAGE, "moved");
	shadow_expect(_metadata, self->mfd, BASE + 17 * PAGE, "page3");
	ASSERT_EQ(0, _shadow_get_vmas(self->mfd, BASE + 16 * PAGE, -1UL, v, 4,
				      &nr));
	EXPECT_EQ(2, v[0].pgoff);
	expect_file(_metadata, self->fd, 2 * PAGE, "moved");
}

TEST_HARNESS_MAIN
