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

/* A quiet tracer, the device open, the module's counts noted. */
static void tr_open(struct __test_metadata *_metadata, int *dev,
		    struct shadow_counts *before)
{
	tr_reset();
	*dev = shadow_open_dev();
	ASSERT_LE(0, *dev);
	*before = shadow_counts();
}

/* And back: nothing left behind in the tracer or the module. */
static void tr_close(struct __test_metadata *_metadata, int dev,
		     struct shadow_counts before)
{
	tr_reset();
	close(dev);
	shadow_expect_counts(_metadata, before);
}

FIXTURE(trace) {
	int dev;
	struct shadow_counts before;
};

FIXTURE_SETUP(trace)
{
	if (access(TRACING "events/shadow_mm", F_OK))
		SKIP(return, "no tracefs or no shadow_mm events");
	tr_open(_metadata, &self->dev, &self->before);
}

FIXTURE_TEARDOWN(trace)
{
	tr_close(_metadata, self->dev, self->before);
}

/*
 * The tests that fork, twice: a plain fork and an on-demand one
 * (SHADOW_FORK_ODF), whose child shares the PTE table until a write.
 */
FIXTURE(trace_fork) {
	int dev;
	struct shadow_counts before;
};

FIXTURE_VARIANT(trace_fork) {
	unsigned int flags;
};

FIXTURE_VARIANT_ADD(trace_fork, plain) { .flags = 0 };
FIXTURE_VARIANT_ADD(trace_fork, odf) { .flags = SHADOW_FORK_ODF };

FIXTURE_SETUP(trace_fork)
{
	if (access(TRACING "events/shadow_mm", F_OK))
		SKIP(return, "no tracefs or no shadow_mm events");
	tr_open(_metadata, &self->dev, &self->before);
}

FIXTURE_TEARDOWN(trace_fork)
{
	tr_close(_metadata, self->dev, self->before);
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
		"shadow_mm_pgtable_free", "shadow_mm_try_to_unmap",
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
 * ends, the child's exit. The child of an on-demand fork allocates its PTE
 * table at its first write instead of at fork.
 */
TEST_F(trace_fork, event_sequence)
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
		"%3$sshadow_mm_fork: parent=%1$u child=%2$u vmas=1 ptes=3 ret=0\n"
		"%4$sshadow_mm_fault: mm=%2$u addr=0x100000000000 access=write kind=cow_copy\n"
		"shadow_mm_fault: mm=%1$u addr=0x100000000000 access=write kind=cow_reuse\n"
		"shadow_mm_fault: mm=%1$u addr=0x100000010000 access=read kind=segv\n"
		"shadow_mm_split_vma: mm=%1$u vma=0x100000000000-0x100000010000 addr=0x100000004000 new_below=0\n"
		"shadow_mm_split_vma: mm=%1$u vma=0x100000004000-0x100000010000 addr=0x10000000c000 new_below=1\n"
		"shadow_mm_munmap: mm=%1$u start=0x100000004000 len=0x8000 arg=0x1 ret=0\n"
		"shadow_mm_exit_mmap: mm=%2$u vmas=1 rss_anon=2 rss_shmem=0 pt_pages=3\n"
		"shadow_mm_pgtable_free: mm=%2$u addr=0x100000000000 level=pte\n"
		"shadow_mm_pgtable_free: mm=%2$u addr=0x100000000000 level=pmd\n"
		"shadow_mm_pgtable_free: mm=%2$u addr=0x100000000000 level=pud\n";
	bool odf = shadow_fork_is_odf(variant->flags);
	char pid[32], want[4096], pte[128], *trace, *got;
	static __u32 a, b;
	int mfd, child;

	mfd = _shadow_create(self->dev, 0, &a);
	ASSERT_LE(0, mfd);
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, tr_write("set_event_pid", pid));
	ASSERT_EQ(0, tr_write("events/shadow_mm/enable", "1"));
	ASSERT_EQ(0, tr_write("tracing_on", "1"));

	ASSERT_EQ(0, _shadow_mmap(mfd, BASE, 8 * PAGE, RW, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(mfd, BASE + 8 * PAGE, 8 * PAGE, RW,
				  PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_fault(mfd, BASE, 2 * PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_fault(mfd, BASE + 2 * PAGE, PAGE, 0, NULL));
	child = _shadow_fork(mfd, variant->flags, &b);
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
	/*
	 * The child's PTE table: copied at fork, or, by an on-demand fork,
	 * shared and copied when the child's write breaks the share.
	 */
	snprintf(pte, sizeof(pte),
		 "shadow_mm_pgtable_alloc: mm=%u addr=0x100000000000 level=pte\n",
		 b);
	snprintf(want, sizeof(want), want_fmt, a, b, odf ? "" : pte,
		 odf ? pte : "");
	EXPECT_STREQ(want, got);
	EXPECT_FALSE(has_kernel_address(trace));
	free(got);
	free(trace);
	close(mfd);
}

/*
 * Filters and histograms work on the fields: a filter on the address
 * space's id keeps one space's faults; a hist trigger counts faults per
 * kind.
 */
TEST_F(trace, filter_and_hist)
{
	char filter[64], trigger[128], *trace, *got, *hist;
	int m1, m2, n = 0;
	__u32 id1, id2;
	const char *p;

	m1 = _shadow_create(self->dev, 0, &id1);
	m2 = _shadow_create(self->dev, 0, &id2);
	ASSERT_LE(0, m1);
	ASSERT_LE(0, m2);
	ASSERT_EQ(0, _shadow_mmap(m1, BASE, 8 * PAGE, RW, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(m2, BASE, 8 * PAGE, RW, PRIV_FIXED, NULL));

	snprintf(filter, sizeof(filter), "id == %u", id2);
	ASSERT_EQ(0, tr_write("events/shadow_mm/shadow_mm_fault/filter",
			      filter));
	ASSERT_EQ(0, tr_write("events/shadow_mm/shadow_mm_fault/enable", "1"));
	/* kinds: 1 = new_anon, 0 = zero_page (enum shadow_fault_kind) */
	/* A trigger has its own filter: the event's does not apply to it. */
	snprintf(trigger, sizeof(trigger),
		 "hist:keys=kind:vals=hitcount:sort=kind if id == %u", id2);
	if (tr_write("events/shadow_mm/shadow_mm_fault/trigger", trigger))
		TH_LOG("no hist triggers in this kernel: filter only");
	ASSERT_EQ(0, tr_write("tracing_on", "1"));
	ASSERT_EQ(0, _shadow_fault(m1, BASE, 8 * PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_fault(m2, BASE, 3 * PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	ASSERT_EQ(0, _shadow_fault(m2, BASE + 4 * PAGE, 2 * PAGE, 0, NULL));
	ASSERT_EQ(0, tr_write("tracing_on", "0"));

	trace = tr_read("trace");
	ASSERT_NE(NULL, trace);
	got = events_of(trace);
	for (p = got; (p = strstr(p, "shadow_mm_fault: ")); p++) {
		char want[32];

		snprintf(want, sizeof(want), "mm=%u ", id2);
		EXPECT_EQ(0, strncmp(p + strlen("shadow_mm_fault: "), want,
				     strlen(want)));
		n++;
	}
	EXPECT_EQ(5, n) TH_LOG("%s", got);

	hist = tr_read("events/shadow_mm/shadow_mm_fault/hist");
	if (hist && strstr(hist, "hitcount")) {
		EXPECT_NE(NULL, strstr(hist, "{ kind:          0 } hitcount:          2"))
			TH_LOG("%s", hist);
		EXPECT_NE(NULL, strstr(hist, "{ kind:          1 } hitcount:          3"))
			TH_LOG("%s", hist);
	}
	memmove(trigger + 1, trigger, strlen(trigger) + 1);
	trigger[0] = '!';
	tr_write("events/shadow_mm/shadow_mm_fault/trigger", trigger);
	tr_write("events/shadow_mm/shadow_mm_fault/filter", "0");
	free(hist);
	free(got);
	free(trace);
	close(m1);
	close(m2);
}

/*
 * The function_graph trace of @op run on @mfd with set_graph_function
 * @func; NULL when the tracer is missing.
 */
static char *graph_of(struct __test_metadata *_metadata, const char *func,
		      int (*op)(int mfd), int mfd)
{
	char pid[32], *trace;

	if (tr_write("current_tracer", "function_graph"))
		return NULL;
	/* The module's functions only: the flow, without the allocator's. */
	EXPECT_EQ(0, tr_write("set_ftrace_filter", ":mod:shadow_mm"));
	snprintf(pid, sizeof(pid), "%d", getpid());
	EXPECT_EQ(0, tr_write("set_ftrace_pid", pid));
	EXPECT_EQ(0, tr_write("set_graph_function", func));
	EXPECT_EQ(0, tr_write("trace", ""));
	EXPECT_EQ(0, tr_write("tracing_on", "1"));
	EXPECT_EQ(0, op(mfd));
	EXPECT_EQ(0, tr_write("tracing_on", "0"));
	trace = tr_read("trace");
	EXPECT_NE(NULL, trace);
	EXPECT_FALSE(has_kernel_address(trace ?: ""));
	/* The graph goes to the log: the README's examples come from it. */
	TH_LOG("function_graph of %s:\n%s", func, trace ?: "");
	return trace;
}

/* Every step of @flow appears in @trace, in this order. */
static void expect_flow(struct __test_metadata *_metadata, const char *trace,
			const char * const *flow, unsigned int n)
{
	const char *p = trace;
	unsigned int i;

	for (i = 0; i < n; i++) {
		char want[96];

		snprintf(want, sizeof(want), " %s", flow[i]);
		p = strstr(p, want);
		EXPECT_NE(NULL, p) TH_LOG("step %s missing or out of order:\n%s",
					  flow[i], trace);
		if (!p)
			return;
		p += strlen(want);
	}
}

/* No call to @func in @trace. */
static void expect_no_call(struct __test_metadata *_metadata,
			   const char *trace, const char *func)
{
	size_t len = strlen(func);
	const char *p;

	for (p = trace; (p = strstr(p, func)); p += len) {
		char next = p[len];

		EXPECT_FALSE(p > trace && p[-1] == ' ' &&
			     !isalnum((unsigned char)next) && next != '_')
			TH_LOG("%s called:\n%s", func, trace);
	}
}

/* A populated space: 16 written pages at BASE. */
static int populated_space(struct __test_metadata *_metadata, int dev)
{
	int mfd = _shadow_create(dev, 0, NULL);

	EXPECT_LE(0, mfd);
	EXPECT_EQ(0, _shadow_mmap(mfd, BASE, 16 * PAGE, RW, PRIV_FIXED, NULL));
	EXPECT_EQ(0, _shadow_fault(mfd, BASE, 16 * PAGE, SHADOW_FAULT_WRITE,
				   NULL));
	return mfd;
}

static int op_munmap(int mfd)
{
	return _shadow_munmap(mfd, BASE + 4 * PAGE, 4 * PAGE);
}

/* op_fork()'s flags and its child. */
static unsigned int fork_flags;
static int fork_fd = -1;

static int op_fork(int mfd)
{
	fork_fd = _shadow_fork(mfd, fork_flags, NULL);
	return fork_fd < 0 ? fork_fd : 0;
}

static int op_cow(int mfd)
{
	return _shadow_fault(mfd, BASE, PAGE, SHADOW_FAULT_WRITE, NULL);
}

/*
 * function_graph of a munmap that splits at both ends: the calls nest as
 * in do_munmap (seed 001): find the VMA, split the front and the rear,
 * detach, unmap the region (its page tables), remove the VMAs.
 */
TEST_F_TIMEOUT(trace, function_graph_munmap, 120)
{
	static const char * const flow[] = {
		"shadow_do_munmap", "shadow_do_mas_munmap",
		"shadow_find_vma_intersection", "shadow_do_align_munmap",
		"__shadow_split_vma", "shadow_find_vma", "__shadow_split_vma",
		"shadow_find_vma_prev", "shadow_find_vma",
		"shadow_detach_vmas_to_be_unmapped", "shadow_unmap_region",
		"shadow_unmap_vmas", "shadow_free_pgtables",
		"shadow_free_pgd_range", "shadow_remove_vma_list",
	};
	int mfd = populated_space(_metadata, self->dev);
	char *trace = graph_of(_metadata, "shadow_do_munmap", op_munmap, mfd);

	if (trace)
		expect_flow(_metadata, trace, flow, ARRAY_SIZE(flow));
	free(trace);
	close(mfd);
	if (!trace)
		SKIP(return, "no function_graph tracer");
}

/*
 * function_graph of a fork (seed 000's copy_mm -> dup_mmap): each VMA
 * duplicated, its anon_vma forked, stored in the child's tree, and its
 * page tables copied; by an on-demand fork, the PTE table shared instead,
 * with nothing done per page (no reference taken, no PTE copied).
 */
TEST_F_TIMEOUT(trace_fork, function_graph_fork, 120)
{
	static const char * const flow[] = {
		"shadow_dup_mmap", "shadow_vm_area_dup", "shadow_anon_vma_fork",
		"shadow_vma_store", "shadow_vm_stat_account",
		"shadow_copy_page_range", "shadow_copy_pte_range",
		"shadow_pte_lookup", "shadow_pte_alloc",
	};
	static const char * const odf_flow[] = {
		"shadow_dup_mmap", "shadow_vm_area_dup", "shadow_anon_vma_fork",
		"shadow_vma_store", "shadow_vm_stat_account",
		"shadow_copy_page_range", "shadow_share_pte_table",
	};
	bool odf = shadow_fork_is_odf(variant->flags);
	int mfd = populated_space(_metadata, self->dev);
	char *trace;

	fork_flags = variant->flags;
	trace = graph_of(_metadata, "shadow_dup_mmap", op_fork, mfd);
	if (trace && odf) {
		expect_flow(_metadata, trace, odf_flow, ARRAY_SIZE(odf_flow));
		expect_no_call(_metadata, trace, "shadow_copy_pte_range");
		/* The per-page work waits for the share break. */
		expect_no_call(_metadata, trace, "shadow_get_page");
	} else if (trace) {
		expect_flow(_metadata, trace, flow, ARRAY_SIZE(flow));
		expect_no_call(_metadata, trace, "shadow_share_pte_table");
	}
	free(trace);
	close(fork_fd);
	close(mfd);
	if (!trace)
		SKIP(return, "no function_graph tracer");
}

static int op_exit(int mfd)
{
	return _shadow_exit(mfd);
}

/*
 * function_graph of the exit of a child that never wrote (exit_mmap):
 * after an on-demand fork it lets go of the shared table, touching no
 * page; a copying fork's child drops a reference per page.
 */
TEST_F_TIMEOUT(trace_fork, function_graph_exit, 120)
{
	static const char * const flow[] = {
		"shadow_exit_mmap", "shadow_unmap_vmas", "shadow_put_page",
		"shadow_free_pgtables",
	};
	static const char * const odf_flow[] = {
		"shadow_exit_mmap", "shadow_unmap_vmas", "shadow_pt_share_put",
		"shadow_free_pgtables",
	};
	bool odf = shadow_fork_is_odf(variant->flags);
	int mfd = populated_space(_metadata, self->dev);
	int child = _shadow_fork(mfd, variant->flags, NULL);
	char *trace;

	ASSERT_LE(0, child);
	trace = graph_of(_metadata, "shadow_exit_mmap", op_exit, child);
	if (trace && odf) {
		expect_flow(_metadata, trace, odf_flow, ARRAY_SIZE(odf_flow));
		expect_no_call(_metadata, trace, "shadow_put_page");
	} else if (trace) {
		expect_flow(_metadata, trace, flow, ARRAY_SIZE(flow));
		expect_no_call(_metadata, trace, "shadow_pt_share_put");
	}
	free(trace);
	close(child);
	close(mfd);
	if (!trace)
		SKIP(return, "no function_graph tracer");
}

/*
 * function_graph of a COW fault after fork (seed 004's do_wp_page): the
 * PTE found, do_wp_page decides to copy, the anon_vma is ready, a new
 * page is allocated and the old one's reference dropped. After an
 * on-demand fork, the PTE table's share is broken first: the child gets
 * a copy of the table and drops its reference on the shared one.
 */
TEST_F_TIMEOUT(trace_fork, function_graph_cow, 120)
{
	static const char * const flow[] = {
		"shadow_handle_mm_fault", "__shadow_handle_mm_fault",
		"shadow_pte_alloc", "shadow_do_wp_page", "shadow_wp_page_copy",
		"shadow_anon_vma_prepare", "shadow_alloc_page",
		"shadow_put_page",
	};
	static const char * const odf_flow[] = {
		"shadow_handle_mm_fault", "__shadow_handle_mm_fault",
		"shadow_pte_alloc", "shadow_pte_unshare", "shadow_pt_share_put",
		"shadow_do_wp_page", "shadow_wp_page_copy",
		"shadow_anon_vma_prepare", "shadow_alloc_page",
		"shadow_put_page",
	};
	bool odf = shadow_fork_is_odf(variant->flags);
	int mfd = populated_space(_metadata, self->dev);
	int child = _shadow_fork(mfd, variant->flags, NULL);
	char *trace;

	ASSERT_LE(0, child);
	trace = graph_of(_metadata, "shadow_handle_mm_fault", op_cow, child);
	if (trace && odf) {
		expect_flow(_metadata, trace, odf_flow, ARRAY_SIZE(odf_flow));
	} else if (trace) {
		expect_flow(_metadata, trace, flow, ARRAY_SIZE(flow));
		expect_no_call(_metadata, trace, "shadow_pt_share_put");
	}
	free(trace);
	close(child);
	close(mfd);
	if (!trace)
		SKIP(return, "no function_graph tracer");
}

TEST_HARNESS_MAIN
