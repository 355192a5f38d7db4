// SPDX-License-Identifier: GPL-2.0
/*
 * An on-demand fork shows what a copying fork shows. Two families of
 * address spaces are built by the same operations: one forks copying
 * (flags 0), its twin on demand (SHADOW_FORK_ODF). Both are then changed
 * by the same operations (writes and reads in parent and child, munmap,
 * mprotect, MADV_DONTNEED, a second fork, reclaim) and closed in the same
 * order, and after every step each generation's views must be its twin's,
 * byte for byte: the page walk (every flag, the mapcounts), smaps, the
 * stats, its mmlist row, maps, the VMA records, the page-table dump, the
 * results of the operations themselves (reclaim's counters, the bytes
 * read back). What differs legitimately between twins is masked, and
 * nothing else:
 *
 *  - page ids and swap-slot ids are opaque: numbered in first-seen order
 *    over the family's generations, so that which pages are shared, and
 *    with whom, is still compared;
 *  - the ids of shared anonymous objects (maps' and smaps' inode column,
 *    the VMA records' backing_id) and of the address spaces (the stats'
 *    out_id, mmlist's id column) name distinct objects: numbered likewise
 *    or left out;
 *  - SHADOW_PAGE_PT_SHARED of the walk and the stats' out_shared_ptes say
 *    whether a table is shared: that is the difference ODF makes.
 *
 * The stats' out_nr_ptes is compared: uapi/linux/shadow_mm.h has a shared
 * table count in it "as a copy would". The page-table dump shows nothing
 * of table sharing (no addresses), so nothing of it is masked; its
 * accessed (ACC) column is compared too, as are the walk's young bits and
 * smaps' Referenced.
 *
 * The variants close the generations in every order that matters:
 * parent first, child first, and with three generations the middle one
 * first (and the oldest, the youngest first); the unbroken ones close
 * before any break, so that a never-broken shared table is the one that
 * goes. After each close the survivors are compared, then written, read
 * and reclaimed, and compared again. Reclaim (pages swapped out before
 * the fork, and the reclaim steps) needs SHADOW_MM_FEATURE_SWAP, and is
 * left out without it. The test is skipped under odf_always=1, where both
 * families would fork on demand.
 *
 * A mismatch logs, per view and generation, the first differing record
 * (or the first lines) of each family, how many differ and of what kind:
 * the flags of the walk, the counters of the stats, the names of the
 * smaps fields.
 */
#include <stddef.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define SPAN		(2UL << 20)	/* the span of one PTE table */
#define SPANS		6
#define NPAGES		(SPANS * SPAN / PAGE)
#define SP(n)		((n) * (SPAN / PAGE))	/* span n's first page */
#define P(n)		(BASE + (unsigned long)(n) * PAGE)
#define MAX_GEN		3
#define MAX_VMAS	64
#define MAX_OPS		32	/* of the steps after each close */
#define MAX_STEP_OPS	128
#define DBG		"/sys/kernel/debug/shadow_mm"

/* The two families, and how each forks. */
enum { COPY, ODF, NFAM };
static const unsigned int fam_flags[NFAM] = { 0, SHADOW_FORK_ODF };

enum op_kind {
	OP_MMAP, OP_MMAP_SHARED, OP_FAULT_W, OP_FAULT_R, OP_PUT, OP_GET,
	OP_MUNMAP, OP_MPROTECT, OP_MADVISE, OP_RECLAIM, OP_FORK, OP_CLOSE,
};

static const char * const op_name[] = {
	"mmap", "mmap shared", "write fault", "read fault", "write",
	"read", "munmap", "mprotect", "madvise", "reclaim", "fork", "close",
};

/*
 * One operation on generation @gen: pages [@first, @first + @pages) from
 * BASE; @arg is the protection, the advice or reclaim's passes (its range
 * the whole address space when @pages is 0).
 */
struct op {
	enum op_kind kind;
	int gen;
	unsigned long first, pages;
	int arg;
};

#define OP(k, g, f, n, a)	{ OP_##k, g, f, n, a }

/* What an operation gave: compared between the families. */
struct op_result {
	long ret;
	__u64 out[32];
	char data[64];
};

/*
 * The layout, built in generation 0 of each family before the fork:
 * several VMAs in span 0 (written, read only, written then partly made
 * read-only, partly written, written then partly swapped out); a VMA
 * across spans 1 and 2, partly written, partly read, partly swapped out;
 * span 3 mixes a shared anonymous VMA with a private one; span 4 is one
 * VMA, every page written; span 5 has a wipe-on-fork VMA, a don't-fork
 * VMA, a written one, a read-only one read, and one never touched.
 */
static const struct op build_ops[] = {
	OP(MMAP, 0, 0, 64, RW), OP(FAULT_W, 0, 0, 64, 0),
	OP(PUT, 0, 0, 1, 0), OP(PUT, 0, 63, 1, 0),
	OP(MMAP, 0, 80, 64, RW), OP(FAULT_R, 0, 80, 64, 0),
	OP(MMAP, 0, 160, 128, RW), OP(FAULT_W, 0, 160, 128, 0),
	OP(PUT, 0, 230, 1, 0), OP(MPROTECT, 0, 224, 64, RO),
	OP(MMAP, 0, 300, 64, RW), OP(FAULT_W, 0, 300, 16, 0),
	OP(FAULT_W, 0, 340, 4, 0),
	OP(MMAP, 0, 400, 112, RW), OP(FAULT_W, 0, 400, 112, 0),
	OP(PUT, 0, 401, 1, 0), OP(RECLAIM, 0, 400, 64, 2),

	OP(MMAP, 0, SP(1) + 256, 512, RW), OP(FAULT_W, 0, SP(1) + 256, 32, 0),
	OP(FAULT_W, 0, SP(1) + 488, 50, 0), OP(PUT, 0, SP(2) + 1, 1, 0),
	OP(FAULT_R, 0, SP(2) + 76, 20, 0), OP(RECLAIM, 0, SP(1) + 488, 10, 2),

	OP(MMAP_SHARED, 0, SP(3), 64, RW), OP(FAULT_W, 0, SP(3), 44, 0),
	OP(PUT, 0, SP(3) + 2, 1, 0),
	OP(MMAP, 0, SP(3) + 128, 128, RW), OP(FAULT_W, 0, SP(3) + 128, 128, 0),

	OP(MMAP, 0, SP(4), 512, RW), OP(FAULT_W, 0, SP(4), 512, 0),
	OP(PUT, 0, SP(4), 1, 0), OP(PUT, 0, SP(4) + 300, 1, 0),

	OP(MMAP, 0, SP(5), 32, RW), OP(FAULT_W, 0, SP(5), 32, 0),
	OP(PUT, 0, SP(5), 1, 0), OP(MADVISE, 0, SP(5), 32, MADV_WIPEONFORK),
	OP(MMAP, 0, SP(5) + 40, 32, RW), OP(FAULT_W, 0, SP(5) + 40, 32, 0),
	OP(MADVISE, 0, SP(5) + 40, 32, MADV_DONTFORK),
	OP(MMAP, 0, SP(5) + 140, 100, RW), OP(FAULT_W, 0, SP(5) + 140, 100, 0),
	OP(MMAP, 0, SP(5) + 340, 64, RO), OP(FAULT_R, 0, SP(5) + 340, 64, 0),
	OP(MMAP, 0, SP(5) + 440, 72, RW),
};

struct step {
	const char *name;
	const struct op *ops;
	unsigned int nr;
	int gens;	/* the generations it needs */
};

#define STEP(name, gens, ...) \
	{ name, (const struct op[]){ __VA_ARGS__ }, \
	  sizeof((const struct op[]){ __VA_ARGS__ }) / sizeof(struct op), gens }

/* The breaks, in order, for the variants that break the shares. */
static const struct step break_steps[] = {
	STEP("write in the parent", 2,
	     OP(FAULT_W, 0, 0, 8, 0), OP(FAULT_W, 0, SP(4) + 10, 1, 0),
	     OP(FAULT_W, 0, SP(1) + 488, 4, 0),
	     OP(FAULT_W, 0, SP(3) + 130, 6, 0), OP(PUT, 0, SP(4), 1, 0)),
	STEP("write in the child", 2,
	     OP(FAULT_W, 1, SP(4) + 20, 10, 0), OP(FAULT_W, 1, 160, 10, 0),
	     OP(FAULT_W, 1, SP(1) + 256, 4, 0),
	     OP(FAULT_W, 1, SP(5) + 140, 5, 0), OP(FAULT_W, 1, SP(3) + 4, 2, 0),
	     OP(FAULT_W, 1, SP(5), 2, 0), OP(PUT, 1, SP(4) + 300, 1, 0)),
	STEP("read in the child", 2,
	     OP(FAULT_R, 1, SP(4) + 100, 10, 0), OP(FAULT_R, 1, 80, 64, 0),
	     OP(FAULT_R, 1, 400, 10, 0), OP(FAULT_R, 1, SP(2) + 76, 20, 0),
	     OP(FAULT_R, 1, 300, 64, 0), OP(GET, 1, SP(4), 1, 0),
	     OP(GET, 1, 401, 1, 0), OP(GET, 1, SP(2) + 1, 1, 0),
	     OP(GET, 1, SP(3) + 2, 1, 0), OP(GET, 1, SP(5), 1, 0),
	     OP(GET, 0, SP(4), 1, 0)),
	STEP("munmap of part of a span", 2,
	     OP(MUNMAP, 1, SP(4) + 256, 64, 0),
	     OP(MUNMAP, 0, SP(1) + 272, 16, 0)),
	STEP("mprotect", 2,
	     OP(MPROTECT, 0, SP(4), 128, RO),
	     OP(MPROTECT, 1, SP(3) + 128, 36, RO),
	     OP(MPROTECT, 1, SP(1) + 300, 20, RO),
	     OP(MPROTECT, 1, 224, 64, RW)),
	STEP("MADV_DONTNEED", 2,
	     OP(MADVISE, 1, SP(4) + 400, 50, MADV_DONTNEED),
	     OP(MADVISE, 0, 300, 32, MADV_DONTNEED),
	     OP(MADVISE, 0, 400, 20, MADV_DONTNEED)),
	STEP("second fork", 3, OP(FORK, 1, 0, 0, 0)),
	STEP("accesses in three generations", 3,
	     OP(FAULT_W, 2, SP(4) + 30, 4, 0), OP(FAULT_R, 1, SP(4) + 40, 4, 0),
	     OP(FAULT_W, 0, SP(4) + 450, 4, 0), OP(FAULT_W, 1, 0, 4, 0),
	     OP(GET, 2, SP(4) + 10, 1, 0)),
	STEP("reclaim", 2,
	     OP(RECLAIM, 1, 0, 0, 2), OP(RECLAIM, 0, SP(4), 512, 2)),
};

FIXTURE(views) {
	int dev;
	int fd[NFAM][MAX_GEN];
	int gens;		/* generations forked so far */
	bool swap;
	struct shadow_counts counts;
};

/*
 * @gens: generations before the closes (a second fork for 3); @breaks:
 * run break_steps (else the shares are never broken before the first
 * close); @order: the generations in the order they close.
 */
FIXTURE_VARIANT(views) {
	int gens;
	bool breaks;
	int order[MAX_GEN];
};

FIXTURE_VARIANT_ADD(views, parent_first) {
	.gens = 2, .breaks = true, .order = { 0, 1 },
};

FIXTURE_VARIANT_ADD(views, child_first) {
	.gens = 2, .breaks = true, .order = { 1, 0 },
};

FIXTURE_VARIANT_ADD(views, three_middle_first) {
	.gens = 3, .breaks = true, .order = { 1, 0, 2 },
};

FIXTURE_VARIANT_ADD(views, three_middle_then_youngest) {
	.gens = 3, .breaks = true, .order = { 1, 2, 0 },
};

FIXTURE_VARIANT_ADD(views, three_oldest_first) {
	.gens = 3, .breaks = true, .order = { 0, 1, 2 },
};

FIXTURE_VARIANT_ADD(views, three_youngest_first) {
	.gens = 3, .breaks = true, .order = { 2, 1, 0 },
};

FIXTURE_VARIANT_ADD(views, unbroken_parent_first) {
	.gens = 2, .breaks = false, .order = { 0, 1 },
};

FIXTURE_VARIANT_ADD(views, unbroken_child_first) {
	.gens = 2, .breaks = false, .order = { 1, 0 },
};

FIXTURE_VARIANT_ADD(views, unbroken_three_middle_first) {
	.gens = 3, .breaks = false, .order = { 1, 0, 2 },
};

FIXTURE_SETUP(views)
{
	int f, g;

	for (f = 0; f < NFAM; f++)
		for (g = 0; g < MAX_GEN; g++)
			self->fd[f][g] = -1;
	self->counts = shadow_counts();
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->swap = shadow_features(self->dev) & SHADOW_MM_FEATURE_SWAP;
}

FIXTURE_TEARDOWN(views)
{
	int f, g;

	for (f = 0; f < NFAM; f++)
		for (g = 0; g < MAX_GEN; g++)
			if (self->fd[f][g] >= 0)
				close(self->fd[f][g]);
	close(self->dev);
	shadow_expect_counts(_metadata, self->counts);
}

/* Opaque ids numbered in first-seen order; key 0 stays 0. */
#define IDMAP_SIZE	32768	/* a power of two, above 2x a family's ids */

struct idmap {
	__u64 key[IDMAP_SIZE];
	__u64 val[IDMAP_SIZE];
	__u64 next;
};

static __u64 idmap_get(struct idmap *m, __u64 key)
{
	unsigned int i = (key * 0x9e3779b97f4a7c15ULL) >> 49;

	if (!key)
		return 0;
	i &= IDMAP_SIZE - 1;
	while (m->key[i] && m->key[i] != key)
		i = (i + 1) & (IDMAP_SIZE - 1);
	if (!m->key[i]) {
		m->key[i] = key;
		m->val[i] = ++m->next;
	}
	return m->val[i];
}

/*
 * The text views. The page-table dump is two: its runs, and the table
 * pages it counts at each level after them, so that a run split in one
 * family does not shift the counts out of line.
 */
enum { T_MAPS, T_SMAPS, T_PTDUMP, T_PTCOUNTS, T_MMLIST, NTEXT };
static const char * const text_name[NTEXT] = {
	"maps", "smaps", "pagetables", "pagetables' table counts", "mmlist",
};

#define PT_COUNTS	"---[ Page-table pages ]---\n"

/* The views of a family's live generations, normalised. */
struct snap {
	bool live[MAX_GEN];
	struct shadow_page_info walk[MAX_GEN][NPAGES];
	struct shadow_mm_stats st[MAX_GEN];
	struct shadow_vma_info vmas[MAX_GEN][MAX_VMAS];
	__u32 nr_vmas[MAX_GEN];
	char *text[MAX_GEN][NTEXT];
	unsigned int pt_shared[MAX_GEN];	/* records so flagged */
};

static struct snap snaps[NFAM];
static struct idmap pages_map, objs_map;

/* A whole file, NUL-terminated and malloc()ed, or NULL. */
static char *read_path(const char *path)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap + 1), *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || !buf)
		goto fail;
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += n;
		if (len < cap)
			continue;
		cap *= 2;
		p = realloc(buf, cap + 1);
		if (!p)
			goto fail;
		buf = p;
	}
	if (n < 0)
		goto fail;
	close(fd);
	buf[len] = 0;
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static char *mm_file(__u32 id, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), DBG "/mm%u/%s", id, name);
	return read_path(path);
}

/*
 * maps or smaps text with the inode column of each maps line numbered in
 * first-seen order and the name column after one space; malloc()ed.
 */
static char *norm_maps(char *text)
{
	size_t cap = strlen(text) + 1024, len = 0;
	char *out = malloc(cap), *line, *save = NULL;
	unsigned long s, e, ino;
	unsigned long long off;
	unsigned int maj, min;
	int at, end;
	char perms[8];

	if (!out)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		at = -1;
		end = -1;
		if (sscanf(line, "%lx-%lx %7s %llx %x:%x %n%lu%n", &s, &e,
			   perms, &off, &maj, &min, &at, &ino, &end) == 7 &&
		    end > 0) {
			const char *name = line + end;

			while (*name == ' ')
				name++;
			len += snprintf(out + len, cap - len, "%.*s%llu%s%s\n",
					at, line, idmap_get(&objs_map, ino),
					*name ? " " : "", name);
		} else {
			len += snprintf(out + len, cap - len, "%s\n", line);
		}
		if (len >= cap)
			break;
	}
	out[len < cap ? len : cap - 1] = 0;
	return out;
}

/*
 * mmlist's row of address space @id as "column value" lines, one for
 * each column of its header but the id.
 */
static char *mmlist_row(__u32 id)
{
	char *text = read_path(DBG "/mmlist"), *line, *save = NULL;
	char *head = NULL, *row = NULL, *out = NULL, *hs, *rs, *h, *r;
	size_t len = 0, cap;

	if (!text)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = line + strspn(line, " "), *rest;

		if (!head) {
			head = p;
			continue;
		}
		if (strtoul(p, &rest, 10) == id && rest != p && *rest == ' ') {
			row = p;
			break;
		}
	}
	cap = row ? 2 * (strlen(head) + strlen(row)) + 1 : 0;
	out = row ? malloc(cap) : NULL;
	if (!out)
		goto out;
	out[0] = 0;
	h = strtok_r(head, " ", &hs);
	r = strtok_r(row, " ", &rs);
	for (; h && r; h = strtok_r(NULL, " ", &hs),
	     r = strtok_r(NULL, " ", &rs))
		if (strcmp(h, "id"))
			len += snprintf(out + len, cap - len, "%s %s\n", h, r);
out:
	free(text);
	return out;
}

static void free_snap(struct snap *s)
{
	int g, t;

	for (g = 0; g < MAX_GEN; g++)
		for (t = 0; t < NTEXT; t++) {
			free(s->text[g][t]);
			s->text[g][t] = NULL;
		}
}

/* Every view of the live generations of family @f. */
static void take_snap(struct __test_metadata *_metadata,
		      struct _test_data_views *self, int f)
{
	struct snap *s = &snaps[f];
	unsigned int i;
	char *raw;
	int g;

	free_snap(s);
	memset(&pages_map, 0, sizeof(pages_map));
	memset(&objs_map, 0, sizeof(objs_map));
	for (g = 0; g < MAX_GEN; g++) {
		int mfd = self->fd[f][g];
		struct shadow_page_info *w = s->walk[g];

		s->live[g] = mfd >= 0;
		s->pt_shared[g] = 0;
		if (!s->live[g])
			continue;
		ASSERT_EQ(0, _shadow_walk_raw(mfd, BASE, NPAGES, w));
		for (i = 0; i < NPAGES; i++) {
			__u64 key = w[i].page_id;

			if (w[i].flags & SHADOW_PAGE_SWAP)
				key |= 1ULL << 63;
			w[i].page_id = idmap_get(&pages_map, key);
			/* A THP's head is a page id too (0: none). */
			if (w[i].head_id)
				w[i].head_id = idmap_get(&pages_map,
							 w[i].head_id);
			s->pt_shared[g] += !!(w[i].flags &
					      SHADOW_PAGE_PT_SHARED);
			w[i].flags &= ~SHADOW_PAGE_PT_SHARED;
		}
		ASSERT_EQ(0, _shadow_get_stats(mfd, &s->st[g]));
		ASSERT_EQ(0, _shadow_get_vmas(mfd, 0, SHADOW_TASK_SIZE,
					      s->vmas[g], MAX_VMAS,
					      &s->nr_vmas[g]));
		ASSERT_GE(MAX_VMAS, s->nr_vmas[g]);
		for (i = 0; i < s->nr_vmas[g]; i++)
			s->vmas[g][i].backing_id =
				idmap_get(&objs_map, s->vmas[g][i].backing_id);

		raw = shadow_get_maps(mfd);
		ASSERT_NE(NULL, raw);
		s->text[g][T_MAPS] = norm_maps(raw);
		free(raw);
		raw = mm_file(s->st[g].out_id, "smaps");
		ASSERT_NE(NULL, raw);
		s->text[g][T_SMAPS] = norm_maps(raw);
		free(raw);
		s->text[g][T_PTDUMP] = mm_file(s->st[g].out_id, "pagetables");
		ASSERT_NE(NULL, s->text[g][T_PTDUMP]);
		raw = strstr(s->text[g][T_PTDUMP], PT_COUNTS);
		ASSERT_NE(NULL, raw);
		s->text[g][T_PTCOUNTS] = strdup(raw + strlen(PT_COUNTS));
		*raw = 0;
		s->text[g][T_MMLIST] = mmlist_row(s->st[g].out_id);
		for (i = 0; i < NTEXT; i++)
			ASSERT_NE(NULL, s->text[g][i]);
	}
}

static const struct {
	__u32 bit;
	const char *name;
} page_flags[] = {
	{ SHADOW_PAGE_PRESENT, "present" }, { SHADOW_PAGE_WRITE, "write" },
	{ SHADOW_PAGE_DIRTY, "dirty" }, { SHADOW_PAGE_YOUNG, "young" },
	{ SHADOW_PAGE_ZERO, "zero" },
	{ SHADOW_PAGE_ANON_EXCLUSIVE, "anon-excl" },
	{ SHADOW_PAGE_SHMEM, "shmem" }, { SHADOW_PAGE_SWAP, "swap" },
	{ SHADOW_PAGE_SWAPCACHE, "swapcache" }, { SHADOW_PAGE_FILE, "file" },
	{ SHADOW_PAGE_PT_SHARED, "pt-shared" },
	{ SHADOW_PAGE_MMAP_EXCLUSIVE, "mmap-excl" },
	{ SHADOW_PAGE_THP, "thp" }, { SHADOW_PAGE_PMD_MAPPED, "pmd-mapped" },
};

static const char *flag_names(__u32 flags, char *buf, size_t size)
{
	size_t len = 0;
	unsigned int i;

	buf[0] = 0;
	for (i = 0; i < ARRAY_SIZE(page_flags); i++)
		if (flags & page_flags[i].bit)
			len += snprintf(buf + len, size - len, "%s%s",
					len ? "|" : "", page_flags[i].name);
	for (i = 0; i < 32; i++)
		if (flags & ~((1U << 14) - 1) & (1U << i))
			len += snprintf(buf + len, size - len, "%sbit%u",
					len ? "|" : "", i);
	if (!len)
		snprintf(buf, size, "none");
	return buf;
}

static int cmp_walk(struct __test_metadata *_metadata, const char *where,
		    const struct shadow_page_info *a,
		    const struct shadow_page_info *b)
{
	unsigned int i, first = NPAGES, n = 0, ids = 0, counts = 0;
	__u32 xor = 0;
	char fa[160], fb[160], fx[160];

	for (i = 0; i < NPAGES; i++) {
		if (!memcmp(&a[i], &b[i], sizeof(a[i])))
			continue;
		if (first == NPAGES)
			first = i;
		n++;
		xor |= a[i].flags ^ b[i].flags;
		ids += a[i].page_id != b[i].page_id;
		counts += a[i].mapcount != b[i].mapcount;
	}
	if (!n)
		return 0;
	TH_LOG("%s: walk: %u of %lu records differ: flags %s, ids %u, mapcounts %u",
	       where, n, NPAGES, flag_names(xor, fx, sizeof(fx)), ids,
	       counts);
	TH_LOG("%s: walk: first at 0x%lx: copy {id %llu %s mapcount %u}",
	       where, P(first), (unsigned long long)a[first].page_id,
	       flag_names(a[first].flags, fa, sizeof(fa)), a[first].mapcount);
	TH_LOG("%s: walk: first at 0x%lx: odf  {id %llu %s mapcount %u}",
	       where, P(first), (unsigned long long)b[first].page_id,
	       flag_names(b[first].flags, fb, sizeof(fb)), b[first].mapcount);
	return 1;
}

#define STAT(f) { #f, offsetof(struct shadow_mm_stats, out_##f), \
		  sizeof(((struct shadow_mm_stats *)0)->out_##f) }

/*
 * The counters compared: every field but out_id (each address space's
 * own) and out_shared_ptes (the tables ODF shares).
 */
static const struct {
	const char *name;
	size_t off, size;
} stat_fields[] = {
	STAT(mm_users), STAT(mm_count), STAT(map_count), STAT(total_vm),
	STAT(locked_vm), STAT(mmap_base), STAT(task_size), STAT(rss_anon),
	STAT(rss_shmem), STAT(nr_puds), STAT(nr_pmds), STAT(nr_ptes),
	STAT(min_flt), STAT(maj_flt), STAT(cow_copies), STAT(cow_reuses),
	STAT(data_vm), STAT(exec_vm), STAT(stack_vm), STAT(def_flags),
	STAT(start_brk), STAT(brk), STAT(swapents), STAT(swapins),
	STAT(swapouts), STAT(rss_file),
};

static __u64 stat_value(const struct shadow_mm_stats *st, unsigned int i)
{
	const char *p = (const char *)st + stat_fields[i].off;

	return stat_fields[i].size == 4 ? *(const __u32 *)p :
					  *(const __u64 *)p;
}

static int cmp_stats(struct __test_metadata *_metadata, const char *where,
		     const struct shadow_mm_stats *a,
		     const struct shadow_mm_stats *b)
{
	struct shadow_mm_stats ma = *a, mb = *b;
	char line[1024];
	size_t len = 0;
	unsigned int i;

	ma.out_id = 0;
	mb.out_id = 0;
	ma.out_shared_ptes = 0;
	mb.out_shared_ptes = 0;
	if (!memcmp(&ma, &mb, sizeof(ma)))
		return 0;
	line[0] = 0;
	for (i = 0; i < ARRAY_SIZE(stat_fields); i++)
		if (stat_value(a, i) != stat_value(b, i))
			len += snprintf(line + len, sizeof(line) - len,
					" %s copy %llu odf %llu;",
					stat_fields[i].name,
					(unsigned long long)stat_value(a, i),
					(unsigned long long)stat_value(b, i));
	TH_LOG("%s: stats:%s", where, len ? line : " a field not named here");
	return 1;
}

static int cmp_vmas(struct __test_metadata *_metadata, const char *where,
		    const struct shadow_vma_info *a, __u32 na,
		    const struct shadow_vma_info *b, __u32 nb)
{
	__u32 i, j;

	for (i = 0; i < na && i < nb; i++) {
		if (!memcmp(&a[i], &b[i], sizeof(a[i])))
			continue;
		TH_LOG("%s: vmas: record %u differs", where, i);
		for (j = 0; j < 2; j++) {
			const struct shadow_vma_info *v = j ? &b[i] : &a[i];

			TH_LOG("%s: vmas: %-4s {0x%llx-0x%llx flags 0x%llx pgoff %llu %u/%llu}",
			       where, j ? "odf" : "copy", v->start, v->end,
			       v->vm_flags, v->pgoff, v->backing,
			       v->backing_id);
		}
		return 1;
	}
	if (na == nb)
		return 0;
	TH_LOG("%s: vmas: copy has %u, odf %u", where, na, nb);
	return 1;
}

/* The line of @text from @p, cut at its newline into @buf. */
static void one_line(const char *p, char *buf, size_t size)
{
	size_t n = strcspn(p, "\n");

	snprintf(buf, size, "%.*s", (int)n, p);
}

/* The differing lines a mismatch logs, at most. */
#define TEXT_SHOWN	3
#define TEXT_KEYS	8

/*
 * What a line is about, for the summary of a mismatch: the name of a
 * "Name: value" line, "run" for a page-table run or a maps line, else
 * its first word.
 */
static void line_key(const char *p, char *buf, size_t size)
{
	size_t n = strcspn(p, ":\n "), w = strcspn(p, "\n ");
	size_t hex = strspn(p, "0123456789abcdefx");

	if (hex && p[hex] == '-')
		snprintf(buf, size, "run");
	else
		snprintf(buf, size, "%.*s", (int)(p[n] == ':' ? n : w), p);
}

static int cmp_text(struct __test_metadata *_metadata, const char *where,
		    const char *view, const char *a, const char *b)
{
	const char *pa = a, *pb = b;
	unsigned int line = 1, n = 0, nkeys = 0, i;
	char la[256], lb[256], keys[TEXT_KEYS][32], key[32], all[300];
	size_t len = 0;

	if (!strcmp(a, b))
		return 0;
	while (*pa || *pb) {
		size_t ea = strcspn(pa, "\n"), eb = strcspn(pb, "\n");

		if (ea != eb || memcmp(pa, pb, ea)) {
			if (n++ < TEXT_SHOWN) {
				one_line(pa, la, sizeof(la));
				one_line(pb, lb, sizeof(lb));
				TH_LOG("%s: %s: line %u: copy \"%s\" odf \"%s\"",
				       where, view, line, la, lb);
			}
			line_key(*pa ? pa : pb, key, sizeof(key));
			for (i = 0; i < nkeys && strcmp(keys[i], key); i++)
				;
			if (i == nkeys && nkeys < TEXT_KEYS)
				strcpy(keys[nkeys++], key);
		}
		pa += ea + !!pa[ea];
		pb += eb + !!pb[eb];
		line++;
	}
	all[0] = 0;
	for (i = 0; i < nkeys; i++)
		len += snprintf(all + len, sizeof(all) - len, " %s", keys[i]);
	TH_LOG("%s: %s: %u lines differ, of kinds:%s", where, view, n, all);
	return 1;
}

/* Both families' views, generation by generation; the mismatches. */
static int compare(struct __test_metadata *_metadata,
		   struct _test_data_views *self, const char *step)
{
	struct snap *a = &snaps[COPY], *b = &snaps[ODF];
	char where[128];
	int f, g, t, diffs = 0;

	for (f = 0; f < NFAM; f++)
		take_snap(_metadata, self, f);
	for (g = 0; g < MAX_GEN; g++) {
		snprintf(where, sizeof(where), "[%s] gen %d", step, g);
		if (a->live[g] != b->live[g]) {
			TH_LOG("%s: live in one family only", where);
			diffs++;
			continue;
		}
		if (!a->live[g])
			continue;
		diffs += cmp_walk(_metadata, where, a->walk[g], b->walk[g]);
		diffs += cmp_stats(_metadata, where, &a->st[g], &b->st[g]);
		diffs += cmp_vmas(_metadata, where, a->vmas[g], a->nr_vmas[g],
				  b->vmas[g], b->nr_vmas[g]);
		for (t = 0; t < NTEXT; t++)
			diffs += cmp_text(_metadata, where, text_name[t],
					  a->text[g][t], b->text[g][t]);
	}
	return diffs;
}

static void tag(char *buf, size_t size, const struct op *op)
{
	snprintf(buf, size, "gen %d page %lu", op->gen, op->first);
}

/* Run @op in family @f. */
static struct op_result run_op(struct _test_data_views *self, int f,
			       const struct op *op)
{
	struct op_result r = { 0 };
	int mfd = self->fd[f][op->gen];
	__u64 addr = P(op->first), len = op->pages * PAGE, nr = 0;
	struct shadow_mm_reclaim rc;
	char buf[32];
	int i;

	switch (op->kind) {
	case OP_MMAP:
	case OP_MMAP_SHARED:
		r.ret = _shadow_mmap(mfd, addr, len, op->arg,
				     op->kind == OP_MMAP ? PRIV_FIXED :
				     SHARED_FIXED, NULL);
		break;
	case OP_FAULT_W:
	case OP_FAULT_R:
		r.ret = _shadow_fault(mfd, addr, len, op->kind == OP_FAULT_W ?
				      SHADOW_FAULT_WRITE : 0, &nr);
		r.out[0] = nr;
		break;
	case OP_PUT:
		tag(buf, sizeof(buf), op);
		r.ret = _shadow_access(mfd, addr, buf, strlen(buf),
				       SHADOW_ACCESS_WRITE);
		break;
	case OP_GET:
		r.ret = _shadow_access(mfd, addr, r.data, sizeof(r.data) - 1,
				       0);
		break;
	case OP_MUNMAP:
		r.ret = _shadow_munmap(mfd, addr, len);
		break;
	case OP_MPROTECT:
		r.ret = _shadow_mprotect(mfd, addr, len, op->arg);
		break;
	case OP_MADVISE:
		r.ret = _shadow_madvise(mfd, addr, len, op->arg);
		break;
	case OP_RECLAIM:
		if (!self->swap)
			break;
		for (i = 0; i < op->arg && i < 3; i++) {
			r.ret = _shadow_reclaim(mfd, 0, op->pages ? addr : 0,
						len, &rc);
			if (r.ret)
				break;
			memcpy(&r.out[i * 9], &rc.out_scanned,
			       9 * sizeof(__u64));
		}
		break;
	case OP_FORK:
		r.ret = _shadow_fork(mfd, fam_flags[f], NULL);
		if (r.ret >= 0) {
			self->fd[f][op->gen + 1] = r.ret;
			r.ret = 0;
		}
		break;
	case OP_CLOSE:
		r.ret = close(mfd);
		self->fd[f][op->gen] = -1;
		break;
	}
	return r;
}

static const char * const reclaim_out[] = {
	"scanned", "referenced", "locked", "busy", "unmapped", "swapped_out",
	"shmem", "written", "reclaimed",
};

/* The step's operations in each family, their results compared. */
static int run_step(struct __test_metadata *_metadata,
		    struct _test_data_views *self, const char *name,
		    const struct op *ops, unsigned int nr)
{
	static struct op_result res[NFAM][MAX_STEP_OPS];
	unsigned int i, j;
	int f, diffs = 0;

	ASSERT_GE(MAX_STEP_OPS, nr);

	for (f = 0; f < NFAM; f++)
		for (i = 0; i < nr; i++) {
			/* A scenario's operation is on a live generation. */
			ASSERT_LE(0, self->fd[f][ops[i].gen]);
			res[f][i] = run_op(self, f, &ops[i]);
		}
	for (i = 0; i < nr; i++) {
		const struct op_result *a = &res[COPY][i], *b = &res[ODF][i];

		/* The scenario's operations all succeed in a copying fork. */
		if (a->ret < 0) {
			TH_LOG("[%s] %s gen %d at 0x%lx: %ld in the copying family",
			       name, op_name[ops[i].kind], ops[i].gen,
			       P(ops[i].first), a->ret);
			diffs++;
		}
		if (!memcmp(a, b, sizeof(*a)))
			continue;
		diffs++;
		if (a->ret != b->ret ||
		    memcmp(a->data, b->data, sizeof(a->data))) {
			TH_LOG("[%s] %s gen %d at 0x%lx: copy %ld \"%s\" odf %ld \"%s\"",
			       name, op_name[ops[i].kind], ops[i].gen,
			       P(ops[i].first), a->ret, a->data, b->ret,
			       b->data);
			continue;
		}
		for (j = 0; j < ARRAY_SIZE(a->out); j++)
			if (a->out[j] != b->out[j])
				TH_LOG("[%s] %s gen %d at 0x%lx: %s%s%u copy %llu odf %llu",
				       name, op_name[ops[i].kind], ops[i].gen,
				       P(ops[i].first),
				       ops[i].kind == OP_RECLAIM ?
				       reclaim_out[j % 9] : "out",
				       ops[i].kind == OP_RECLAIM ?
				       " pass " : "",
				       ops[i].kind == OP_RECLAIM ? j / 9 : j,
				       (unsigned long long)a->out[j],
				       (unsigned long long)b->out[j]);
	}
	return diffs;
}

/* Run a step in both families, then compare every view. */
static int step(struct __test_metadata *_metadata, struct _test_data_views *self,
		const char *name, const struct op *ops, unsigned int nr)
{
	int diffs = run_step(_metadata, self, name, ops, nr);

	diffs += compare(_metadata, self, name);
	if (diffs)
		TH_LOG("[%s]: %d mismatches", name, diffs);
	return diffs;
}

TEST_F(views, copy_and_odf_fork_agree)
{
	static const struct op fork_op = OP(FORK, 0, 0, 0, 0);
	struct op ops[MAX_OPS];
	char name[64];
	int i, n, g, diffs;

	if (!(shadow_features(self->dev) & SHADOW_MM_FEATURE_ODF))
		SKIP(return, "no on-demand fork");
	if (shadow_odf_always())
		SKIP(return, "odf_always=1: both forks would be on demand");
	if (!self->swap)
		TH_LOG("no swap: the reclaim operations are left out");
	for (i = 0; i < NFAM; i++) {
		self->fd[i][0] = _shadow_create(self->dev, 0, NULL);
		ASSERT_LE(0, self->fd[i][0]);
	}

	EXPECT_EQ(0, step(_metadata, self, "build", build_ops,
			  ARRAY_SIZE(build_ops)));
	EXPECT_EQ(0, step(_metadata, self, "fork", &fork_op, 1));
	ASSERT_LE(0, self->fd[COPY][1]);
	ASSERT_LE(0, self->fd[ODF][1]);
	/* Not vacuous: one family shares tables, the other does not. */
	EXPECT_EQ(0, snaps[COPY].st[1].out_shared_ptes);
	EXPECT_EQ(0, snaps[COPY].pt_shared[1]);
	EXPECT_LT(0, snaps[ODF].st[1].out_shared_ptes);
	EXPECT_LT(0, snaps[ODF].pt_shared[1]);
	self->gens = 2;
	for (i = 0; i < (int)ARRAY_SIZE(break_steps); i++) {
		const struct step *s = &break_steps[i];

		if (s->gens > variant->gens)
			continue;
		if (!variant->breaks && !(s->nr == 1 &&
					  s->ops[0].kind == OP_FORK))
			continue;
		diffs = step(_metadata, self, s->name, s->ops, s->nr);
		EXPECT_EQ(0, diffs);
		if (s->ops[0].kind == OP_FORK)
			self->gens = 3;
	}
	ASSERT_EQ(variant->gens, self->gens);

	/*
	 * Close in the variant's order; after each close the survivors are
	 * compared, then written, read and reclaimed, and compared again.
	 */
	for (i = 0; i < variant->gens; i++) {
		struct op close_op = OP(CLOSE, variant->order[i], 0, 0, 0);
		int low = -1;

		snprintf(name, sizeof(name), "close gen %d", close_op.gen);
		EXPECT_EQ(0, step(_metadata, self, name, &close_op, 1));
		n = 0;
		for (g = 0; g < variant->gens; g++) {
			if (self->fd[COPY][g] < 0)
				continue;
			if (low < 0)
				low = g;
			ops[n++] = (struct op)OP(FAULT_W, g, SP(4) + 200 + g,
						 1, 0);
			ops[n++] = (struct op)OP(FAULT_R, g, SP(4) + 70, 2, 0);
			ops[n++] = (struct op)OP(FAULT_W, g, 10 + g, 1, 0);
			ops[n++] = (struct op)OP(GET, g, SP(4), 1, 0);
		}
		if (low < 0)
			break;
		ops[n++] = (struct op)OP(RECLAIM, low, 0, 0, 2);
		snprintf(name, sizeof(name),
			 "survivors of gen %d's close touched", close_op.gen);
		EXPECT_EQ(0, step(_metadata, self, name, ops, n));
	}
	free_snap(&snaps[COPY]);
	free_snap(&snaps[ODF]);
}

TEST_HARNESS_MAIN
