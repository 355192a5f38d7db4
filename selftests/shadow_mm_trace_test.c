// SPDX-License-Identifier: GPL-2.0
/*
 * Tracing the engine with ftrace: the shadow_mm trace events of a fixed
 * scenario, in order and with their fields; filters and histograms on
 * them; and function_graph traces of munmap, fork and a COW fault that
 * read like Linux's flows (do_munmap -> split_vma -> ... -> unmap_region).
 */
#include <ctype.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define TRACING	"/sys/kernel/tracing/"
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
#define BASE	0x100000000000UL

static int tr_write(const char *file, const char *val)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), TRACING "%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The whole of a tracefs file, NUL-terminated; NULL on error. */
static char *tr_read(const char *file)
{
	size_t len = 0, cap = 1 << 16;
	char path[256], *buf = malloc(cap);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), TRACING "%s", file);
	fd = open(path, O_RDONLY);
	if (fd < 0 || !buf) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/* Back to a quiet tracer: nothing enabled, nothing filtered, empty. */
static void tr_reset(void)
{
	tr_write("tracing_on", "0");
	tr_write("current_tracer", "nop");
	tr_write("events/shadow_mm/enable", "0");
	tr_write("events/shadow_mm/filter", "0");
	tr_write("set_graph_function", "");
	tr_write("set_ftrace_filter", "");
	tr_write("set_ftrace_pid", "");
	tr_write("trace", "");
}

/*
 * The events of a trace, one per line, as "name: fields" (the part after
 * the timestamp), for exact comparison.
 */
static char *events_of(const char *trace)
{
	char *out = calloc(1, strlen(trace) + 1), *o = out;
	const char *line = trace;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		const char *ev = strstr(line, ": shadow_mm_");
		size_t n;

		if (!eol)
			eol = line + strlen(line);
		if (line[0] != '#' && ev && ev < eol) {
			ev += 2;
			n = eol - ev;
			memcpy(o, ev, n);
			o += n;
			*o++ = '\n';
		}
		line = *eol ? eol + 1 : NULL;
	}
	*o = 0;
	return out;
}

/* Nothing in @text looks like a kernel address. */
static bool has_kernel_address(const char *text)
{
	const char *p;

	for (p = text; (p = strstr(p, "ffff")); p++) {
		int n = 0;

		while (isxdigit((unsigned char)p[n]))
			n++;
		/* 16 hex digits starting with ffff: a kernel pointer. */
		if (n >= 16 && (p == text || !isxdigit((unsigned char)p[-1])))
			return true;
	}
	return false;
}

FIXTURE(trace) {
	int dev;
	struct counts before;
};

FIXTURE_SETUP(trace)
{
	if (access(TRACING "events/shadow_mm", F_OK))
		SKIP(return, "no tracefs or no shadow_mm events");
	tr_reset();
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->before = counts();
}

FIXTURE_TEARDOWN(trace)
{
	tr_reset();
	close(self->dev);
	expect_counts(_metadata, self->before);
}

/* Every event the engine documents exists, with its fields. */
TEST_F(trace, events_exist)
{
	static const char * const names[] = {
		"shadow_mm_create", "shadow_mm_fork", "shadow_mm_exit_mmap",
		"shadow_mm_mmap", "shadow_mm_munmap", "shadow_mm_mprotect",
		"shadow_mm_madvise", "shadow_mm_mlock", "shadow_mm_mremap",
		"shadow_mm_brk", "shadow_mm_split_vma", "shadow_mm_vma_merge",
		"shadow_mm_fault", "shadow_mm_pgtable_alloc",
		"shadow_mm_pgtable_free",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		char file[128], *fmt;

		snprintf(file, sizeof(file), "events/shadow_mm/%s/format",
			 names[i]);
		fmt = tr_read(file);
		ASSERT_NE(NULL, fmt) TH_LOG("%s", names[i]);
		/* Every event names its address space (or the fork's two). */
		EXPECT_TRUE(strstr(fmt, "field:unsigned int id;") ||
			    strstr(fmt, "field:unsigned int parent;"))
			TH_LOG("%s", fmt);
		/* No pointer-typed field. */
		EXPECT_EQ(NULL, strstr(fmt, " *"))
			TH_LOG("%s", fmt);
		free(fmt);
	}
}

/*
 * The events of a fixed scenario, exactly: create, mmap, write faults
 * (page tables, new pages), fork (the child's tables, PTEs copied), COW
 * copy in the child and reuse in the parent, a munmap that splits at both
 * ends, the child's exit.
 */
TEST_F(trace, event_sequence)
{
	static const char * const want_fmt =
		"shadow_mm_munmap: mm=%1$u start=0x100000000000 len=0x8000 arg=0x0 ret=0\n"
		"shadow_mm_mmap: mm=%1$u addr=0x100000000000 len=0x8000 prot=0x3 flags=0x32 ret=0x100000000000 merged=0\n"
		"shadow_mm_munmap: mm=%1$u start=0x100000008000 len=0x8000 arg=0x0 ret=0\n"
		"shadow_mm_vma_merge: mm=%1$u vma=0x100000000000-0x100000010000 flags=0x8100073 case=0\n"
		"shadow_mm_mmap: mm=%1$u addr=0x100000008000 len=0x8000 prot=0x3 flags=0x32 ret=0x100000008000 merged=1\n"
		"shadow_mm_pgtable_alloc: mm=%1$u addr=0x100000000000 level=pud\n"
		"shadow_mm_pgtable_alloc: mm=%1$u addr=0x100000000000 level=pmd\n"
		"shadow_mm_pgtable_alloc: mm=%1$u addr=0x100000000000 level=pte\n"
		"shadow_mm_fault: mm=%1$u addr=0x100000000000 access=write kind=new_anon\n"
		"shadow_mm_fault: mm=%1$u addr=0x100000001000 access=write kind=new_anon\n"
		"shadow_mm_fault: mm=%1$u addr=0x100000002000 access=read kind=zero_page\n"
		"shadow_mm_create: mm=%2$u parent=%1$u mmap_base=0x7ffff7fff000\n"
		"shadow_mm_pgtable_alloc: mm=%2$u addr=0x100000000000 level=pud\n"
		"shadow_mm_pgtable_alloc: mm=%2$u addr=0x100000000000 level=pmd\n"
		"shadow_mm_pgtable_alloc: mm=%2$u addr=0x100000000000 level=pte\n"
		"shadow_mm_fork: parent=%1$u child=%2$u vmas=1 ptes=3 ret=0\n"
		"shadow_mm_fault: mm=%2$u addr=0x100000000000 access=write kind=cow_copy\n"
		"shadow_mm_fault: mm=%1$u addr=0x100000000000 access=write kind=cow_reuse\n"
		"shadow_mm_fault: mm=%1$u addr=0x100000010000 access=read kind=segv\n"
		"shadow_mm_split_vma: mm=%1$u vma=0x100000000000-0x100000010000 addr=0x100000004000 new_below=0\n"
		"shadow_mm_split_vma: mm=%1$u vma=0x100000004000-0x100000010000 addr=0x10000000c000 new_below=1\n"
		"shadow_mm_munmap: mm=%1$u start=0x100000004000 len=0x8000 arg=0x1 ret=0\n"
		"shadow_mm_exit_mmap: mm=%2$u vmas=1 rss_anon=2 rss_shmem=0 pt_pages=3\n"
		"shadow_mm_pgtable_free: mm=%2$u addr=0x100000000000 level=pte\n"
		"shadow_mm_pgtable_free: mm=%2$u addr=0x100000000000 level=pmd\n"
		"shadow_mm_pgtable_free: mm=%2$u addr=0x100000000000 level=pud\n";
	char pid[32], want[4096], *trace, *got;
	static __u32 a, b;
	int mfd, child;

	mfd = _shadow_create(self->dev, 0, &a);
	ASSERT_LE(0, mfd);
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, tr_write("set_event_pid", pid));
	ASSERT_EQ(0, tr_write("events/shadow_mm/enable", "1"));
	ASSERT_EQ(0, tr_write("tracing_on", "1"));

	ASSERT_EQ(0, _shadow_mmap(mfd, BASE, 8 * PAGE, RW, PRIV, NULL));
	ASSERT_EQ(0, _shadow_mmap(mfd, BASE + 8 * PAGE, 8 * PAGE, RW, PRIV,
				  NULL));
	ASSERT_EQ(0, _shadow_fault(mfd, BASE, 2 * PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_fault(mfd, BASE + 2 * PAGE, PAGE, 0, NULL));
	child = _shadow_fork(mfd, 0, &b);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, _shadow_fault(child, BASE, PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_fault(mfd, BASE, PAGE, SHADOW_FAULT_WRITE, NULL));
	ASSERT_EQ(-EFAULT, _shadow_fault(mfd, BASE + 16 * PAGE, PAGE, 0,
					 NULL));
	ASSERT_EQ(0, _shadow_munmap(mfd, BASE + 4 * PAGE, 8 * PAGE));
	close(child);

	ASSERT_EQ(0, tr_write("tracing_on", "0"));
	tr_write("set_event_pid", "");
	trace = tr_read("trace");
	ASSERT_NE(NULL, trace);
	got = events_of(trace);
	snprintf(want, sizeof(want), want_fmt, a, b);
	EXPECT_STREQ(want, got);
	EXPECT_FALSE(has_kernel_address(trace));
	free(got);
	free(trace);
	close(mfd);
}

/*
 * function_graph of a munmap that splits at both ends: the calls nest as
 * in do_munmap (seed 001): find the VMA, split the front and the rear,
 * detach, unmap the region (its page tables), remove the VMAs.
 */
TEST_F(trace, function_graph_munmap)
{
	static const char * const flow[] = {
		"shadow_do_munmap", "shadow_find_vma_intersection",
		"shadow_do_align_munmap", "__shadow_split_vma",
		"shadow_find_vma", "__shadow_split_vma",
		"shadow_find_vma_prev", "shadow_find_vma",
		"shadow_detach_vmas_to_be_unmapped", "shadow_unmap_region",
		"shadow_unmap_vmas", "shadow_free_pgtables",
		"shadow_free_pgd_range", "shadow_remove_vma_list",
	};
	char pid[32], *trace, *p;
	unsigned int i;
	int mfd;

	mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, _shadow_mmap(mfd, BASE, 16 * PAGE, RW, PRIV, NULL));
	ASSERT_EQ(0, _shadow_fault(mfd, BASE, 16 * PAGE, SHADOW_FAULT_WRITE,
				   NULL));

	if (tr_write("current_tracer", "function_graph"))
		SKIP(goto out, "no function_graph tracer");
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, tr_write("set_ftrace_pid", pid));
	ASSERT_EQ(0, tr_write("set_graph_function", "shadow_do_munmap"));
	ASSERT_EQ(0, tr_write("trace", ""));
	ASSERT_EQ(0, tr_write("tracing_on", "1"));
	ASSERT_EQ(0, _shadow_munmap(mfd, BASE + 4 * PAGE, 4 * PAGE));
	ASSERT_EQ(0, tr_write("tracing_on", "0"));
	trace = tr_read("trace");
	ASSERT_NE(NULL, trace);

	/* The flow's steps appear in this order. */
	for (p = trace, i = 0; i < ARRAY_SIZE(flow); i++) {
		char want[96];

		snprintf(want, sizeof(want), " %s", flow[i]);
		p = strstr(p, want);
		ASSERT_NE(NULL, p) TH_LOG("step %s missing or out of order:\n%s",
					  flow[i], trace);
		p += strlen(want);
	}
	EXPECT_FALSE(has_kernel_address(trace));
	free(trace);
out:
	close(mfd);
}

TEST_HARNESS_MAIN
