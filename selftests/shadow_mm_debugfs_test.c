// SPDX-License-Identifier: GPL-2.0
/*
 * The debugfs views of /sys/kernel/debug/shadow_mm/: mmlist against
 * SHADOW_MM_GET_STATS, maps against SHADOW_MM_GET_MAPS, smaps against what
 * the test set up and against the real kernel's /proc/self/smaps for the
 * same layout, pagetables against a known layout and the page walk, the
 * life of an address space's directory, no kernel address anywhere, and
 * reads racing the exit of the address space they read.
 */
#include <ctype.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

/* A window of the test process that is free, for the real kernel. */
#define WIN	0x300000000000UL
#define WIN_SHM	(WIN + 0x100000UL)

#define DBG	"/sys/kernel/debug/shadow_mm"

/* A whole file, NUL-terminated and malloc()ed, or NULL with errno set. */
static char *read_fd(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1), *p;
	ssize_t n;

	if (!buf)
		return NULL;
	for (;;) {
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			int err = errno;

			free(buf);
			errno = err;
			return NULL;
		}
		if (!n)
			break;
		len += n;
		if (len == cap) {
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
	}
	buf[len] = 0;
	return buf;
}

static char *read_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	char *text;

	if (fd < 0)
		return NULL;
	text = read_fd(fd);
	err = errno;
	close(fd);
	errno = err;
	return text;
}

static void mm_path(char *path, size_t size, __u32 id, const char *name)
{
	snprintf(path, size, DBG "/mm%u%s%s", id, name ? "/" : "",
		 name ?: "");
}

/* The text of mm<id>/<name>, or NULL. */
static char *mm_file(__u32 id, const char *name)
{
	char path[128];

	mm_path(path, sizeof(path), id, name);
	return read_path(path);
}

static bool mm_dir_exists(__u32 id)
{
	char path[128];
	struct stat st;

	mm_path(path, sizeof(path), id, NULL);
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static __u32 mm_id(struct __test_metadata *_metadata, int mfd)
{
	return shadow_stats(_metadata, mfd).out_id;
}

/* mmlist's columns, in order. */
static const char * const columns[] = {
	"id", "pid", "uid", "mm_users", "mm_count", "map_count", "total_vm",
	"locked_vm", "rss_anon", "rss_shmem", "nr_ptes", "nr_pmds", "nr_puds",
	"min_flt", "maj_flt", "cow_copies", "cow_reuses", "swapents",
	"swapins", "swapouts",
};

#define NCOLS	ARRAY_SIZE(columns)
#define MAX_ROWS	64

struct row {
	unsigned long long v[NCOLS];
};

enum {
	C_ID, C_PID, C_UID, C_USERS, C_COUNT, C_MAPS, C_TOTAL, C_LOCKED,
	C_ANON, C_SHMEM, C_PTES, C_PMDS, C_PUDS, C_MINF, C_MAJF, C_COPIES,
	C_REUSES, C_SWAPENTS, C_SWAPINS, C_SWAPOUTS,
};

/*
 * mmlist parsed: the rows, or -1 when the header is not the columns in
 * order or a row does not have one number per column.
 */
static int read_mmlist(struct row *rows)
{
	char *text = read_path(DBG "/mmlist"), *line, *save = NULL, *tok;
	char *tsave;
	int n = -1, i;

	if (!text)
		return -1;
	line = strtok_r(text, "\n", &save);
	for (i = 0, tok = strtok_r(line, " ", &tsave); tok;
	     tok = strtok_r(NULL, " ", &tsave), i++)
		if (i >= NCOLS || strcmp(tok, columns[i]))
			goto out;
	if (i != NCOLS)
		goto out;
	for (n = 0; (line = strtok_r(NULL, "\n", &save)); n++) {
		char *end = line;

		if (n == MAX_ROWS) {
			n = -1;
			goto out;
		}
		for (i = 0; i < NCOLS; i++)
			rows[n].v[i] = strtoull(end, &end, 10);
		while (*end == ' ')
			end++;
		if (*end) {
			n = -1;
			goto out;
		}
	}
out:
	free(text);
	return n;
}

static const struct row *find_row(const struct row *rows, int n, __u32 id)
{
	int i;

	for (i = 0; i < n; i++)
		if (rows[i].v[C_ID] == id)
			return &rows[i];
	return NULL;
}

/* The row of @mfd's address space says what SHADOW_MM_GET_STATS says. */
static void expect_row_matches(struct __test_metadata *_metadata,
			       const struct row *rows, int n, int mfd,
			       pid_t pid)
{
	struct shadow_mm_stats st = shadow_stats(_metadata, mfd);
	const struct row *r = find_row(rows, n, st.out_id);

	ASSERT_NE(NULL, r);
	EXPECT_EQ(pid, r->v[C_PID]);
	EXPECT_EQ(getuid(), r->v[C_UID]);
	EXPECT_EQ(st.out_mm_users, r->v[C_USERS]);
	EXPECT_EQ(st.out_mm_count, r->v[C_COUNT]);
	EXPECT_EQ(st.out_map_count, r->v[C_MAPS]);
	EXPECT_EQ(st.out_total_vm, r->v[C_TOTAL]);
	EXPECT_EQ(st.out_locked_vm, r->v[C_LOCKED]);
	EXPECT_EQ(st.out_rss_anon, r->v[C_ANON]);
	EXPECT_EQ(st.out_rss_shmem, r->v[C_SHMEM]);
	EXPECT_EQ(st.out_nr_ptes, r->v[C_PTES]);
	EXPECT_EQ(st.out_nr_pmds, r->v[C_PMDS]);
	EXPECT_EQ(st.out_nr_puds, r->v[C_PUDS]);
	EXPECT_EQ(st.out_min_flt, r->v[C_MINF]);
	EXPECT_EQ(st.out_maj_flt, r->v[C_MAJF]);
	EXPECT_EQ(st.out_cow_copies, r->v[C_COPIES]);
	EXPECT_EQ(st.out_cow_reuses, r->v[C_REUSES]);
	EXPECT_EQ(st.out_swapents, r->v[C_SWAPENTS]);
	EXPECT_EQ(st.out_swapins, r->v[C_SWAPINS]);
	EXPECT_EQ(st.out_swapouts, r->v[C_SWAPOUTS]);
}

#define MAX_FIELDS	40

/* One smaps entry: its maps line, its "Name: value" fields and VmFlags. */
struct smap {
	char header[256];
	int n;
	char name[MAX_FIELDS][32];
	unsigned long val[MAX_FIELDS];
	char vmflags[256];
};

/* Whether an smaps line starts an entry: "start-end perms ...". */
static bool smaps_header(const char *line)
{
	unsigned long s, e;
	char perms[8];

	return sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3;
}

/* The entry of smaps text @text for the VMA at @start; false if none. */
static bool parse_smap(const char *text, unsigned long start, struct smap *s)
{
	char *copy = strdup(text), *line, *save = NULL, *colon;
	bool in = false, found = false;

	memset(s, 0, sizeof(*s));
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (smaps_header(line)) {
			if (in)
				break;
			if (strtoul(line, NULL, 16) == start) {
				in = true;
				found = true;
				snprintf(s->header, sizeof(s->header), "%s",
					 line);
			}
			continue;
		}
		if (!in)
			continue;
		colon = strchr(line, ':');
		if (!colon || s->n == MAX_FIELDS)
			continue;
		*colon = 0;
		if (!strcmp(line, "VmFlags")) {
			strncpy(s->vmflags, colon + 1,
				sizeof(s->vmflags) - 1);
			continue;
		}
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", line);
		s->val[s->n++] = strtoul(colon + 1, NULL, 10);
	}
	free(copy);
	return found;
}

/* A field of an entry; -1 when it has none of that name. */
static long field(const struct smap *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return s->val[i];
	return -1;
}

FIXTURE(debugfs) {
	struct shadow_counts before;
	int dev;
	int mfd;
	__u32 id;
};

/*
 * The forks plain and on-demand (SHADOW_FORK_ODF): the files must show
 * the same but for the accessed bits that a shared PTE table keeps.
 */
FIXTURE_VARIANT(debugfs) {
	unsigned int fork_flags;
};

FIXTURE_VARIANT_ADD(debugfs, plain) { .fork_flags = 0 };
FIXTURE_VARIANT_ADD(debugfs, odf) { .fork_flags = SHADOW_FORK_ODF };

FIXTURE_SETUP(debugfs)
{
	self->before = shadow_counts();
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->mfd = _shadow_create(self->dev, 0, &self->id);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(debugfs)
{
	close(self->mfd);
	close(self->dev);
	shadow_expect_counts(_metadata, self->before);
	EXPECT_FALSE(mm_dir_exists(self->id));
}

/*
 * mmlist has a line per address space with what SHADOW_MM_GET_STATS says:
 * an address space, its fork child after copy-on-write, a CLONE_VM user
 * (no line of its own, one more mm_users) and an unrelated one.
 */
TEST_F(debugfs, mmlist_matches_stats)
{
	struct row rows[MAX_ROWS];
	int child, vm, other, n;
	__u32 cid = 0, vid = 0;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 16 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 0x40000000UL, 4 * PAGE,
				  RW, SHARED_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 0x80000000UL, 2 * PAGE,
				  RW, PRIV_FIXED | MAP_LOCKED, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 8 * PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 8 * PAGE, 2 * PAGE, 0,
				   NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 0x40000000UL, 3 * PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	child = _shadow_fork(self->mfd, variant->fork_flags, &cid);
	ASSERT_LE(0, child);
	vm = _shadow_fork(self->mfd, SHADOW_FORK_VM, &vid);
	ASSERT_LE(0, vm);
	EXPECT_EQ(self->id, vid);
	ASSERT_EQ(0, _shadow_fault(child, BASE, 2 * PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	/* The child copied page 0 away: the parent's write reuses it. */
	ASSERT_EQ(0, _shadow_fault(vm, BASE, PAGE, SHADOW_FAULT_WRITE, NULL));
	other = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, _shadow_mmap(other, BASE, PAGE, RW, PRIV_FIXED, NULL));

	n = read_mmlist(rows);
	ASSERT_LE(0, n);
	EXPECT_EQ(shadow_counter("mms"), n);
	expect_row_matches(_metadata, rows, n, self->mfd, getpid());
	expect_row_matches(_metadata, rows, n, child, getpid());
	expect_row_matches(_metadata, rows, n, vm, getpid());
	expect_row_matches(_metadata, rows, n, other, getpid());
	EXPECT_EQ(2, find_row(rows, n, self->id)->v[C_USERS]);
	EXPECT_EQ(1, find_row(rows, n, cid)->v[C_USERS]);
	EXPECT_EQ(2, find_row(rows, n, cid)->v[C_COPIES]);
	EXPECT_EQ(1, find_row(rows, n, self->id)->v[C_REUSES]);
	EXPECT_EQ(2, find_row(rows, n, self->id)->v[C_LOCKED]);
	EXPECT_EQ(3, find_row(rows, n, self->id)->v[C_SHMEM]);

	/* After the exits, only what is left is listed. */
	close(other);
	close(self->mfd);
	self->mfd = vm;
	n = read_mmlist(rows);
	ASSERT_LE(0, n);
	EXPECT_EQ(shadow_counter("mms"), n);
	expect_row_matches(_metadata, rows, n, vm, getpid());
	EXPECT_EQ(1, find_row(rows, n, self->id)->v[C_USERS]);
	close(child);
	n = read_mmlist(rows);
	EXPECT_EQ(NULL, find_row(rows, n, cid));
}

/* The owner of a fork is the process that forked, not the parent's. */
TEST_F(debugfs, mmlist_owner_of_fork)
{
	struct row rows[MAX_ROWS];
	int ready[2], done[2], status, n;
	__u32 cid = 0;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int child = _shadow_fork(self->mfd, variant->fork_flags, &cid);

		close(done[1]);
		if (child < 0 || write(ready[1], &cid, sizeof(cid)) < 0)
			_exit(1);
		/* Holds the child's fd until the parent has looked. */
		_exit(read(done[0], &c, 1) == 0 ? 0 : 2);
	}
	close(done[0]);
	ASSERT_EQ(sizeof(cid), read(ready[0], &cid, sizeof(cid)));
	n = read_mmlist(rows);
	ASSERT_LE(0, n);
	ASSERT_NE(NULL, find_row(rows, n, cid));
	EXPECT_EQ(pid, find_row(rows, n, cid)->v[C_PID]);
	EXPECT_EQ(getpid(), find_row(rows, n, self->id)->v[C_PID]);
	close(done[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_FALSE(mm_dir_exists(cid));
}

/* maps is byte for byte SHADOW_MM_GET_MAPS, for a parent and its child. */
TEST_F(debugfs, maps_is_get_maps)
{
	char *text, *maps;
	__u32 cid = 0;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 8 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, BASE + 2 * PAGE, PAGE));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 16 * PAGE, 4 * PAGE, RW,
				  SHARED_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 32 * PAGE, 2 * PAGE,
				  PROT_READ | PROT_EXEC, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, 3 * PAGE, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, NULL));
	ASSERT_EQ(0, _shadow_madvise(self->mfd, BASE + 32 * PAGE, PAGE,
				     MADV_DONTFORK));

	text = mm_file(self->id, "maps");
	maps = shadow_get_maps(self->mfd);
	ASSERT_NE(NULL, text);
	ASSERT_NE(NULL, maps);
	EXPECT_STREQ(maps, text);
	EXPECT_NE(NULL, strstr(text, "/dev/zero (deleted)"));
	free(text);
	free(maps);

	child = _shadow_fork(self->mfd, variant->fork_flags, &cid);
	ASSERT_LE(0, child);
	text = mm_file(cid, "maps");
	maps = shadow_get_maps(child);
	ASSERT_NE(NULL, text);
	ASSERT_NE(NULL, maps);
	EXPECT_STREQ(maps, text);
	free(text);
	free(maps);
	close(child);

	/* An empty address space has an empty maps. */
	ASSERT_EQ(0, _shadow_munmap(self->mfd, 0, SHADOW_TASK_SIZE));
	text = mm_file(self->id, "maps");
	ASSERT_NE(NULL, text);
	EXPECT_STREQ("", text);
	free(text);
}

/*
 * The layout smaps_* tests build, in a shadow address space at @mfd: 8
 * private pages at WIN of which 0-3 are written and 4-5 read (the zero
 * page), 32 shared pages at WIN_SHM of which 0 is written and 20 read;
 * then a fork whose child writes private page 1 and reads shared page 0.
 * Page 20 is outside the 64 KiB that Linux's fault-around maps with the
 * child's read of page 0, which the engine does not do.
 */
static int shadow_smaps_layout(struct __test_metadata *_metadata, int mfd,
			       const struct _fixture_variant_debugfs *variant)
{
	int child;

	EXPECT_EQ(0, _shadow_mmap(mfd, WIN, 8 * PAGE, RW, PRIV_FIXED, NULL));
	EXPECT_EQ(0, _shadow_fault(mfd, WIN, 4 * PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	EXPECT_EQ(0, _shadow_fault(mfd, WIN + 4 * PAGE, 2 * PAGE, 0, NULL));
	EXPECT_EQ(0, _shadow_mmap(mfd, WIN_SHM, 32 * PAGE, RW, SHARED_FIXED,
				  NULL));
	EXPECT_EQ(0, _shadow_fault(mfd, WIN_SHM, PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	EXPECT_EQ(0, _shadow_fault(mfd, WIN_SHM + 20 * PAGE, PAGE, 0, NULL));
	child = _shadow_fork(mfd, variant->fork_flags, NULL);
	EXPECT_LE(0, child);
	EXPECT_EQ(0, _shadow_fault(child, WIN + PAGE, PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	EXPECT_EQ(0, _shadow_fault(child, WIN_SHM, PAGE, 0, NULL));
	return child;
}

static void expect_smap(struct __test_metadata *_metadata,
			const struct smap *s, long size, long rss, long pss,
			long shared_clean, long shared_dirty,
			long private_clean, long private_dirty,
			long referenced, long anonymous)
{
	TH_LOG("entry %s", s->header);
	EXPECT_EQ(size, field(s, "Size"));
	EXPECT_EQ(4, field(s, "KernelPageSize"));
	EXPECT_EQ(4, field(s, "MMUPageSize"));
	EXPECT_EQ(rss, field(s, "Rss"));
	EXPECT_EQ(pss, field(s, "Pss"));
	EXPECT_EQ(shared_clean, field(s, "Shared_Clean"));
	EXPECT_EQ(shared_dirty, field(s, "Shared_Dirty"));
	EXPECT_EQ(private_clean, field(s, "Private_Clean"));
	EXPECT_EQ(private_dirty, field(s, "Private_Dirty"));
	EXPECT_EQ(referenced, field(s, "Referenced"));
	EXPECT_EQ(anonymous, field(s, "Anonymous"));
	EXPECT_EQ(0, field(s, "Swap"));
	EXPECT_EQ(0, field(s, "Locked"));
}

/*
 * smaps counts what the faults and the fork made: the zero page is not
 * resident, a page shared with the child is half each one's (Pss), the
 * page the child copied is private on both sides, the child's copied PTEs
 * are old (not referenced), shared-memory pages are not anonymous.
 */
TEST_F(debugfs, smaps_counts_pages)
{
	struct smap s;
	char *text, *maps, line[300];
	__u32 cid = 0;
	int child;

	child = shadow_smaps_layout(_metadata, self->mfd, variant);
	ASSERT_LE(0, child);
	cid = mm_id(_metadata, child);

	text = mm_file(self->id, "smaps");
	ASSERT_NE(NULL, text);
	ASSERT_TRUE(parse_smap(text, WIN, &s));
	/* The parent: pages 0, 2, 3 shared, page 1 its own again. */
	expect_smap(_metadata, &s, 32, 16, 10, 0, 12, 0, 4, 16, 16);
	EXPECT_EQ(10, field(&s, "Pss_Dirty"));
	EXPECT_STREQ(" rd wr mr mw me ac sd ", s.vmflags);
	/* Its maps line is the entry's first line. */
	maps = shadow_get_maps(self->mfd);
	ASSERT_NE(NULL, maps);
	snprintf(line, sizeof(line), "%s\n", s.header);
	EXPECT_EQ(maps, strstr(maps, line));
	free(maps);
	ASSERT_TRUE(parse_smap(text, WIN_SHM, &s));
	expect_smap(_metadata, &s, 128, 8, 6, 0, 4, 4, 0, 8, 0);
	EXPECT_EQ(2, field(&s, "Pss_Dirty"));
	EXPECT_STREQ(" rd wr sh mr mw me ms sd ", s.vmflags);
	free(text);

	text = mm_file(cid, "smaps");
	ASSERT_NE(NULL, text);
	ASSERT_TRUE(parse_smap(text, WIN, &s));
	/* The child: its copy of page 1 is the only young PTE. */
	expect_smap(_metadata, &s, 32, 16, 10, 0, 12, 0, 4, 4, 16);
	ASSERT_TRUE(parse_smap(text, WIN_SHM, &s));
	/*
	 * Its read of the parent's dirty page is clean here: the engine
	 * has no PG_dirty, only the PTE's dirty bit (Linux: Shared_Dirty).
	 */
	expect_smap(_metadata, &s, 128, 4, 2, 4, 0, 0, 0, 4, 0);
	free(text);
	close(child);

	/* The child gone, the parent's pages are all its own. */
	text = mm_file(self->id, "smaps");
	ASSERT_NE(NULL, text);
	ASSERT_TRUE(parse_smap(text, WIN, &s));
	expect_smap(_metadata, &s, 32, 16, 16, 0, 0, 0, 16, 16, 16);
	free(text);
}

/* Locked counts the Pss of VM_LOCKED VMAs, which show "lo". */
TEST_F(debugfs, smaps_locked)
{
	struct smap s;
	char *text;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 4 * PAGE, RW,
				  PRIV_FIXED | MAP_LOCKED, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 2 * PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	text = mm_file(self->id, "smaps");
	ASSERT_NE(NULL, text);
	ASSERT_TRUE(parse_smap(text, BASE, &s));
	EXPECT_LE(8, field(&s, "Locked"));
	EXPECT_EQ(field(&s, "Pss"), field(&s, "Locked"));
	EXPECT_NE(NULL, strstr(s.vmflags, " lo "));
	free(text);
}

/*
 * The same layout built with real mmap, stores and fork() in this process
 * gives the same smaps entries in /proc/self/smaps, field for field, for
 * the parent (the side where the engine and Linux keep the same state).
 */
TEST_F(debugfs, smaps_matches_real_kernel)
{
	static const char * const compared[] = {
		"Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss",
		"Pss_Dirty", "Shared_Clean", "Shared_Dirty", "Private_Clean",
		"Private_Dirty", "Referenced", "Anonymous", "LazyFree",
		"AnonHugePages", "Swap", "SwapPss", "Locked",
	};
	char *p, *q;
	struct smap real, shadow;
	int ready[2], done[2], status, child, i, j, k;
	char *real_text, *shadow_text, c = 0;
	unsigned long win[] = { WIN, WIN_SHM };
	pid_t pid;

	p = mmap((void *)WIN, 8 * PAGE, RW, PRIV_FIXED, -1, 0);
	ASSERT_EQ((void *)WIN, p);
	q = mmap((void *)WIN_SHM, 32 * PAGE, RW, SHARED_FIXED, -1, 0);
	ASSERT_EQ((void *)WIN_SHM, q);
	/* Atomic accesses: each one is done, as written. */
	for (i = 0; i < 4; i++)
		__atomic_store_n(&p[i * PAGE], 1, __ATOMIC_RELAXED);
	c += __atomic_load_n(&p[4 * PAGE], __ATOMIC_RELAXED);
	c += __atomic_load_n(&p[5 * PAGE], __ATOMIC_RELAXED);
	__atomic_store_n(&q[0], 1, __ATOMIC_RELAXED);
	c += __atomic_load_n(&q[20 * PAGE], __ATOMIC_RELAXED);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(done[1]);
		__atomic_store_n(&p[PAGE], 2, __ATOMIC_RELAXED);
		c += __atomic_load_n(&q[0], __ATOMIC_RELAXED);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		_exit(read(done[0], &c, 1) == 0 ? 0 : 2);
	}
	close(done[0]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	real_text = read_path("/proc/self/smaps");
	close(done[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	munmap(p, 8 * PAGE);
	munmap(q, 32 * PAGE);
	ASSERT_NE(NULL, real_text);

	child = shadow_smaps_layout(_metadata, self->mfd, variant);
	ASSERT_LE(0, child);
	shadow_text = mm_file(self->id, "smaps");
	ASSERT_NE(NULL, shadow_text);

	for (k = 0; k < 2; k++) {
		ASSERT_TRUE(parse_smap(real_text, win[k], &real));
		ASSERT_TRUE(parse_smap(shadow_text, win[k], &shadow));
		TH_LOG("real %s", real.header);
		for (i = 0; i < ARRAY_SIZE(compared); i++) {
			TH_LOG("%s: real %ld shadow %ld", compared[i],
			       field(&real, compared[i]),
			       field(&shadow, compared[i]));
			EXPECT_EQ(field(&real, compared[i]),
				  field(&shadow, compared[i]));
		}
		EXPECT_STREQ(real.vmflags, shadow.vmflags);
		/* The same lines in the same order (no protection keys). */
		for (i = j = 0; i < real.n; i++) {
			if (!strcmp(real.name[i], "ProtectionKey"))
				continue;
			ASSERT_LT(j, shadow.n);
			EXPECT_STREQ(real.name[i], shadow.name[j]);
			j++;
		}
		EXPECT_EQ(j, shadow.n);
	}
	/* The private mapping's maps line too (a shared one's inode differs). */
	ASSERT_TRUE(parse_smap(real_text, WIN, &real));
	ASSERT_TRUE(parse_smap(shadow_text, WIN, &shadow));
	EXPECT_STREQ(real.header, shadow.header);
	free(real_text);
	free(shadow_text);
	close(child);
}

/* One line of pagetables: a run of entries. */
struct run {
	unsigned long start, end;
	char flags[96];		/* " USR RW ... " with spaces around */
	char level[8];
};

#define MAX_RUNS	64

/*
 * pagetables parsed: its runs, in order, and the table pages per level;
 * -1 when a line does not parse or the runs do not tile the user half.
 */
static int pagetables(__u32 id, struct run *runs, unsigned long tables[4])
{
	static const char * const levels[] = { "pgd", "pud", "pmd", "pte" };
	char *text = mm_file(id, "pagetables"), *line, *save = NULL;
	unsigned long size, last = 0;
	int n = 0, i, part = 0;
	char unit;

	if (!text)
		return -1;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct run *r = &runs[n];
		char *tok, *tsave = NULL, *rest, *prev;
		int off;

		if (!strcmp(line, "---[ User Space ]---") && part == 0) {
			part = 1;
			continue;
		}
		if (!strcmp(line, "---[ Page-table pages ]---") && part == 1) {
			part = 2;
			continue;
		}
		if (part == 2) {
			char name[8];

			if (sscanf(line, "%7s %lu", name, &size) != 2)
				goto bad;
			for (i = 0; i < 4; i++)
				if (!strcmp(name, levels[i]))
					tables[i] = size;
			continue;
		}
		if (part != 1 || n == MAX_RUNS ||
		    sscanf(line, "0x%lx-0x%lx %lu%c%n", &r->start, &r->end,
			   &size, &unit, &off) != 4 || r->start != last)
			goto bad;
		last = r->end;
		/* The last word is the level, those before it the flags. */
		strcpy(r->flags, " ");
		prev = NULL;
		rest = line + off;
		for (tok = strtok_r(rest, " ", &tsave); tok;
		     tok = strtok_r(NULL, " ", &tsave)) {
			if (prev && strlen(r->flags) + strlen(prev) + 2 <
				    sizeof(r->flags))
				sprintf(r->flags + strlen(r->flags), "%s ",
					prev);
			prev = tok;
		}
		snprintf(r->level, sizeof(r->level), "%s", prev ?: "");
		n++;
	}
	free(text);
	return part == 2 && last == 1UL << 47 ? n : -1;
bad:
	free(text);
	return -1;
}

/* The run that holds @addr. */
static const struct run *run_at(const struct run *runs, int n,
				unsigned long addr)
{
	int i;

	for (i = 0; i < n; i++)
		if (runs[i].start <= addr && addr < runs[i].end)
			return &runs[i];
	return NULL;
}

/* Each page of [addr, addr + n pages) shows what the page walk says. */
static void expect_runs_match_walk(struct __test_metadata *_metadata,
				   int mfd, const struct run *runs, int nr,
				   unsigned long addr, unsigned long n)
{
	struct shadow_page_info p;
	const struct run *r;

	for (; n--; addr += PAGE) {
		ASSERT_EQ(0, _shadow_walk(mfd, addr, 1, &p));
		r = run_at(runs, nr, addr);
		ASSERT_NE(NULL, r);
		if (!(p.flags & SHADOW_PAGE_PRESENT)) {
			EXPECT_STREQ(" ", r->flags);
			continue;
		}
		EXPECT_STREQ("pte", r->level);
		EXPECT_NE(NULL, strstr(r->flags, " USR "));
		EXPECT_EQ(!!(p.flags & SHADOW_PAGE_WRITE),
			  !!strstr(r->flags, " RW "));
		EXPECT_EQ(!(p.flags & SHADOW_PAGE_WRITE),
			  !!strstr(r->flags, " ro "));
		EXPECT_EQ(!!(p.flags & SHADOW_PAGE_DIRTY),
			  !!strstr(r->flags, " DRT "));
		EXPECT_EQ(!!(p.flags & SHADOW_PAGE_YOUNG),
			  !!strstr(r->flags, " ACC "));
		EXPECT_EQ(!!(p.flags & SHADOW_PAGE_ZERO),
			  !!strstr(r->flags, " SPC "));
	}
}

/* The table pages per level are the PGD and the address space's counts. */
static void expect_tables(struct __test_metadata *_metadata, int mfd,
			  const unsigned long tables[4])
{
	struct shadow_mm_stats st = shadow_stats(_metadata, mfd);

	EXPECT_EQ(1, tables[0]);
	EXPECT_EQ(st.out_nr_puds, tables[1]);
	EXPECT_EQ(st.out_nr_pmds, tables[2]);
	EXPECT_EQ(st.out_nr_ptes, tables[3]);
}

#define HOLE	"                                          "

/*
 * A known layout, line for line: written pages (RW, dirty), the zero page
 * (read-only, special), an executable mapping (no NX), the empty rest of
 * the PTE table, and the holes above it at each level.
 */
TEST_F(debugfs, pagetables_known_layout)
{
	char *text, want[2048];
	unsigned long tables[4] = { 0 };
	struct run runs[MAX_RUNS];
	int n;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 8 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 8 * PAGE, 2 * PAGE,
				  PROT_READ | PROT_EXEC, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 2 * PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 2 * PAGE, PAGE, 0, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE + 8 * PAGE, 2 * PAGE, 0,
				   NULL));

	text = mm_file(self->id, "pagetables");
	ASSERT_NE(NULL, text);
	snprintf(want, sizeof(want),
		 "---[ User Space ]---\n"
		 "0x0000000000000000-0x0000100000000000          16T " HOLE "pgd\n"
		 "0x0000100000000000-0x0000100000002000           8K USR RW                     NX ACC DRT     pte\n"
		 "0x0000100000002000-0x0000100000003000           4K USR ro                     NX ACC     SPC pte\n"
		 "0x0000100000003000-0x0000100000008000          20K " HOLE "pte\n"
		 "0x0000100000008000-0x000010000000a000           8K USR ro                     x  ACC     SPC pte\n"
		 "0x000010000000a000-0x0000100000200000        2008K " HOLE "pte\n"
		 "0x0000100000200000-0x0000100040000000        1022M " HOLE "pmd\n"
		 "0x0000100040000000-0x0000108000000000         511G " HOLE "pud\n"
		 "0x0000108000000000-0x0000800000000000      114176G " HOLE "pgd\n"
		 "---[ Page-table pages ]---\n"
		 "pgd 1\npud 1\npmd 1\npte 1\n");
	EXPECT_STREQ(want, text);
	TH_LOG("pagetables:\n%s", text);
	free(text);

	n = pagetables(self->id, runs, tables);
	ASSERT_LT(0, n);
	expect_tables(_metadata, self->mfd, tables);
	expect_runs_match_walk(_metadata, self->mfd, runs, n, BASE, 16);
}

/*
 * After fork: the parent's written PTEs are write-protected, the child's
 * copies old; a range across PMD and PUD boundaries needs more tables;
 * every page agrees with the page walk and every count with the stats.
 */
TEST_F(debugfs, pagetables_after_fork)
{
	unsigned long tables[4] = { 0 }, span = 0x40000000UL + 4 * PAGE;
	unsigned long start = BASE + 0x40000000UL - 2 * PAGE;
	struct run runs[MAX_RUNS];
	const struct run *r;
	int child, n;
	__u32 cid = 0;

	/* The runs of PTE-level entries: no PMD leaves. */
	ASSERT_EQ(0, _shadow_thp_disable(self->mfd));

	ASSERT_EQ(0, _shadow_mmap(self->mfd, start, span, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, start, 4 * PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, start + span - 2 * PAGE,
				   2 * PAGE, 0, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, start + 0x400000UL, PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	child = _shadow_fork(self->mfd, variant->fork_flags, &cid);
	ASSERT_LE(0, child);

	n = pagetables(self->id, runs, tables);
	ASSERT_LT(0, n);
	expect_tables(_metadata, self->mfd, tables);
	/*
	 * PMD tables under PUD entries 0, 1 and 2; PTE tables under PUD/PMD
	 * entries 0/511, 1/0, 1/1 and 2/0.
	 */
	EXPECT_EQ(1, tables[1]);
	EXPECT_EQ(3, tables[2]);
	EXPECT_EQ(4, tables[3]);
	expect_runs_match_walk(_metadata, self->mfd, runs, n, start, 4);
	expect_runs_match_walk(_metadata, self->mfd, runs, n,
			       start + 0x400000UL - PAGE, 3);
	expect_runs_match_walk(_metadata, self->mfd, runs, n,
			       start + span - 4 * PAGE, 4);
	r = run_at(runs, n, start);
	ASSERT_NE(NULL, r);
	/* One run across two PTE tables, under two PMD tables. */
	EXPECT_EQ(start, r->start);
	EXPECT_EQ(start + 4 * PAGE, r->end);
	EXPECT_STREQ(" USR ro NX ACC DRT ", r->flags);

	n = pagetables(cid, runs, tables);
	ASSERT_LT(0, n);
	expect_tables(_metadata, child, tables);
	expect_runs_match_walk(_metadata, child, runs, n, start, 4);
	expect_runs_match_walk(_metadata, child, runs, n,
			       start + span - 4 * PAGE, 4);
	/*
	 * The child's PTEs are old, and read-only, whether they are its own
	 * copy or, after an on-demand fork, the parent's shared table.
	 */
	r = run_at(runs, n, start);
	ASSERT_NE(NULL, r);
	EXPECT_STREQ(" USR ro NX DRT ", r->flags);
	r = run_at(runs, n, start + span - PAGE);
	ASSERT_NE(NULL, r);
	EXPECT_STREQ(" USR ro NX SPC ", r->flags);
	close(child);
}

/*
 * The directory is there from create (and from a fork) to the last user's
 * exit; a CLONE_VM user keeps it; a file opened before the exit reads
 * EIO after it.
 */
TEST_F(debugfs, directory_lifetime)
{
	static const char * const files[] = { "maps", "smaps", "pagetables" };
	char path[128], *text;
	int child, vm, fd, i;
	__u32 cid = 0;

	EXPECT_TRUE(mm_dir_exists(self->id));
	for (i = 0; i < 3; i++) {
		text = mm_file(self->id, files[i]);
		EXPECT_NE(NULL, text);
		free(text);
	}
	child = _shadow_fork(self->mfd, variant->fork_flags, &cid);
	ASSERT_LE(0, child);
	EXPECT_TRUE(mm_dir_exists(cid));
	ASSERT_EQ(0, _shadow_exit(child));
	EXPECT_FALSE(mm_dir_exists(cid));
	close(child);

	vm = _shadow_fork(self->mfd, SHADOW_FORK_VM, NULL);
	ASSERT_LE(0, vm);
	mm_path(path, sizeof(path), self->id, "maps");
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	close(self->mfd);
	self->mfd = vm;
	EXPECT_TRUE(mm_dir_exists(self->id));
	text = read_fd(fd);
	EXPECT_NE(NULL, text);
	free(text);
	ASSERT_EQ(0, _shadow_exit(vm));
	EXPECT_FALSE(mm_dir_exists(self->id));
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(NULL, read_fd(fd));
	EXPECT_EQ(EIO, errno);
	close(fd);
}

#define SEPARATORS	"\n -:"

/*
 * No line of any file holds a kernel address: every hexadecimal or
 * decimal number is below the top of the user address space.
 */
TEST_F(debugfs, no_kernel_addresses)
{
	static const char * const files[] = { "maps", "smaps", "pagetables" };
	char *texts[2 + 2 * 3], *t, *tok, *save;
	unsigned long long v;
	int child, i, n = 0;
	__u32 cid = 0;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE, 64 * PAGE, RW, PRIV_FIXED,
				  NULL));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, BASE + 64 * PAGE, 8 * PAGE, RW,
				  SHARED_FIXED, NULL));
	ASSERT_EQ(0, _shadow_fault(self->mfd, BASE, 72 * PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	child = _shadow_fork(self->mfd, variant->fork_flags, &cid);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_fault(child, BASE, 8 * PAGE, SHADOW_FAULT_WRITE,
				   NULL));

	texts[n++] = read_path(DBG "/mmlist");
	texts[n++] = read_path(DBG "/counters");
	for (i = 0; i < 3; i++) {
		texts[n++] = mm_file(self->id, files[i]);
		texts[n++] = mm_file(cid, files[i]);
	}
	for (i = 0; i < n; i++) {
		ASSERT_NE(NULL, texts[i]);
		save = NULL;
		for (tok = strtok_r(texts[i], SEPARATORS, &save); tok;
		     tok = strtok_r(NULL, SEPARATORS, &save)) {
			t = tok;
			if (!strncmp(t, "0x", 2))
				t += 2;
			if (!*t || strspn(t, "0123456789abcdefABCDEF") !=
				   strlen(t))
				continue;
			/* Read as hex, a decimal is only larger. */
			v = strtoull(t, NULL, 16);
			if (v > 1ULL << 47)
				TH_LOG("file %d: %s", i, tok);
			EXPECT_GE(1ULL << 47, v);
		}
		free(texts[i]);
	}
	close(child);
}

#define RACE_ROUNDS	150
#define RACE_SECONDS	10
#define READERS		2

struct race {
	__u32 id;		/* the address space being read */
	int fds[3];		/* its files, opened before its exit */
	int stop;
	long reads, empty, gone;
	long errors;		/* reads that failed otherwise */
};

static void race_read(struct race *r, char *text, int err)
{
	if (text) {
		__atomic_add_fetch(text[0] ? &r->reads : &r->empty, 1,
				   __ATOMIC_RELAXED);
		free(text);
	} else if (err == ENOENT || err == EIO) {
		__atomic_add_fetch(&r->gone, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
	}
}

/* Reads the current address space's files by path, and mmlist. */
static void *race_path_reader(void *arg)
{
	static const char * const files[] = { "maps", "smaps", "pagetables" };
	struct race *r = arg;
	unsigned int i = 0;
	char *text;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		__u32 id = __atomic_load_n(&r->id, __ATOMIC_RELAXED);

		text = mm_file(id, files[i++ % 3]);
		race_read(r, text, errno);
		if (!(i % 4)) {
			text = read_path(DBG "/mmlist");
			race_read(r, text, errno);
		}
	}
	return NULL;
}

/* Reads again and again through files opened before the exit. */
static void *race_fd_reader(void *arg)
{
	struct race *r = arg;
	unsigned int i = 0;
	char *text;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		int fd = __atomic_load_n(&r->fds[i++ % 3], __ATOMIC_RELAXED);

		if (fd < 0 || lseek(fd, 0, SEEK_SET))
			continue;
		text = read_fd(fd);
		race_read(r, text, errno);
	}
	return NULL;
}

/*
 * Readers race the exit of the address space they read, through paths
 * and through files opened before: each read gives the whole text, an
 * empty one, ENOENT or EIO; nothing leaks, and the kernel log stays clean.
 */
TEST_F(debugfs, read_races_exit)
{
	static const char * const files[] = { "maps", "smaps", "pagetables" };
	struct race r = { .fds = { -1, -1, -1 } };
	static int held[RACE_ROUNDS * 3];
	pthread_t t[READERS + 1];
	struct shadow_counts now;
	int round, i, child, vm, waited;
	time_t deadline;
	char path[128];
	__u32 id = 0, cid = 0;

	close(self->mfd);
	self->mfd = -1;
	for (i = 0; i < READERS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_path_reader, &r));
	ASSERT_EQ(0, pthread_create(&t[READERS], NULL, race_fd_reader, &r));

	/*
	 * At most RACE_ROUNDS rounds, and at most RACE_SECONDS of them: a
	 * debug kernel runs this many times slower.
	 */
	for (round = 0, deadline = time(NULL) + RACE_SECONDS;
	     round < RACE_ROUNDS && time(NULL) < deadline; round++) {
		int mfd = _shadow_create(self->dev, 0, &id);

		ASSERT_LE(0, mfd);
		ASSERT_EQ(0, _shadow_mmap(mfd, BASE, 32 * PAGE, RW, PRIV_FIXED,
					  NULL));
		ASSERT_EQ(0, _shadow_mmap(mfd, BASE + 32 * PAGE, 8 * PAGE, RW,
					  SHARED_FIXED, NULL));
		ASSERT_EQ(0, _shadow_fault(mfd, BASE, 40 * PAGE,
					   SHADOW_FAULT_WRITE, NULL));
		child = _shadow_fork(mfd, variant->fork_flags, &cid);
		ASSERT_LE(0, child);
		vm = _shadow_fork(mfd, SHADOW_FORK_VM, NULL);
		ASSERT_LE(0, vm);
		/* Kept open until the readers are done: no number reuse. */
		for (i = 0; i < 3; i++) {
			mm_path(path, sizeof(path), round % 2 ? cid : id,
				files[i]);
			held[round * 3 + i] = open(path, O_RDONLY | O_CLOEXEC);
			ASSERT_LE(0, held[round * 3 + i]);
			__atomic_store_n(&r.fds[i], held[round * 3 + i],
					 __ATOMIC_RELAXED);
		}
		__atomic_store_n(&r.id, round % 2 ? cid : id,
				 __ATOMIC_RELAXED);
		usleep(round % 7 * 100);
		close(vm);
		ASSERT_EQ(0, _shadow_fault(child, BASE, 8 * PAGE,
					   SHADOW_FAULT_WRITE, NULL));
		close(mfd);
		close(child);
		usleep(round % 5 * 100);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i <= READERS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < round * 3; i++)
		close(held[i]);
	TH_LOG("%d rounds: reads %ld, empty %ld, gone %ld, errors %ld", round,
	       r.reads, r.empty, r.gone, r.errors);
	EXPECT_EQ(0, r.errors);
	EXPECT_LT(0, r.reads);

	/* A reader's last reference leaves the teardown to a worker. */
	for (waited = 0; waited < 100; waited++) {
		now = shadow_counts();
		if (now.mms == self->before.mms &&
		    now.pages == self->before.pages)
			break;
		usleep(50 * 1000);
	}
	EXPECT_FALSE(mm_dir_exists(id));
	EXPECT_FALSE(mm_dir_exists(cid));
}

TEST_HARNESS_MAIN
