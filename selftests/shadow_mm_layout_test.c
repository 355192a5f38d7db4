// SPDX-License-Identifier: GPL-2.0
/*
 * What a process's layout after exec has and mmap(2) cannot make: the
 * vDSO's special mappings, the exec stack, the legacy bottom-up layout
 * and the mm's code, data, stack and argument bounds (SHADOW_MM_FEATURE_LAYOUT).
 *
 * Where the running kernel can show the same thing, the shadow is built
 * like it and compared line for line: this process's own [vdso], [vvar]
 * and [stack] (/proc/self/maps and smaps' VmFlags), the errors of a real
 * mremap of its [vvar], and the addresses a re-executed copy of this
 * program gets from mmap under personality(ADDR_COMPAT_LAYOUT).
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define LEGACY_BASE	((SHADOW_TASK_SIZE / 3 + PAGE - 1) & ~(PAGE - 1))
#define PROBE_ENV	"SHADOW_LAYOUT_PROBE"
#define PROBE_MAX	16

/* A place far from this static binary's own mappings. */
#define WIN		0x100000000000UL

/* One line of /proc/self/maps named @name; 0 when there is none. */
static int real_named(const char *name, unsigned long *start,
		      unsigned long *end, char *line, size_t size)
{
	static char buf[1 << 16];
	char *l, *save = NULL;
	size_t n = strlen(name);

	if (shadow_slurp("/proc/self/maps", buf, sizeof(buf)) < 0)
		return 0;
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(l);

		if (len < n || strcmp(l + len - n, name) ||
		    sscanf(l, "%lx-%lx", start, end) != 2)
			continue;
		snprintf(line, size, "%s", l);
		return 1;
	}
	return 0;
}

/* The line of the shadow's maps starting at @start, without its newline. */
static int shadow_line(int mfd, unsigned long start, char *line, size_t size)
{
	char *maps = shadow_get_maps(mfd), *l, *save = NULL;
	int found = 0;
	unsigned long s;

	if (!maps)
		return 0;
	for (l = strtok_r(maps, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (sscanf(l, "%lx-", &s) == 1 && s == start) {
			snprintf(line, size, "%s", l);
			found = 1;
			break;
		}
	free(maps);
	return found;
}

static int layout_mmap(int mfd, __u32 flags, __u64 addr, __u64 len,
		       __u32 prot, __u64 start_stack)
{
	struct shadow_mm_mmap m = {
		.size = sizeof(m), .flags = flags, .addr = addr, .len = len,
		.prot = prot, .start_stack = start_stack,
	};

	return shadow_ioctl(mfd, SHADOW_MM_MMAP, &m);
}

/* The one VMA of the shadow at @start: its record, or end 0. */
static struct shadow_vma_info shadow_vma_at(int mfd, unsigned long start)
{
	struct shadow_vma_info v[4] = {};
	__u32 nr = 0;

	if (_shadow_get_vmas(mfd, start, start + 1, v, 4, &nr) || nr != 1 ||
	    v[0].start != start)
		memset(v, 0, sizeof(v[0]));
	return v[0];
}

/*
 * The special mapping named @name of this process, rebuilt in a shadow
 * address space at the same place: the same maps line and VM_* flags.
 */
static void expect_like_real(struct __test_metadata *_metadata, int mfd,
			     const char *name, __u32 kind, __u32 prot)
{
	struct shadow_region real[SHADOW_MAX_REGIONS], sh[SHADOW_MAX_REGIONS];
	char rline[256], sline[256];
	unsigned long s, e;
	struct shadow_vma_info v;

	ASSERT_TRUE(real_named(name, &s, &e, rline, sizeof(rline)));
	ASSERT_EQ(0, layout_mmap(mfd, kind, s, e - s, prot,
				 kind == SHADOW_MMAP_STACK ? e - 8 : 0));
	ASSERT_TRUE(shadow_line(mfd, s, sline, sizeof(sline)));
	EXPECT_STREQ(rline, sline);
	ASSERT_EQ(1, shadow_real_regions(s, e, real));
	ASSERT_EQ(1, shadow_regions(mfd, s, e, sh));
	EXPECT_EQ(real[0].flags, sh[0].flags) {
		TH_LOG("%s: real %#llx, shadow %#llx", name,
		       (unsigned long long)real[0].flags,
		       (unsigned long long)sh[0].flags);
	}
	EXPECT_EQ(0, real[0].unknown);
	v = shadow_vma_at(mfd, s);
	EXPECT_EQ(e, v.end);
	EXPECT_EQ(real[0].flags, v.vm_flags & shadow_vm_flags_named());
	if (kind == SHADOW_MMAP_STACK) {
		EXPECT_EQ(SHADOW_VMA_ANON_PRIVATE, v.backing);
	} else {
		EXPECT_EQ(SHADOW_VMA_SPECIAL, v.backing);
		EXPECT_EQ(kind == SHADOW_MMAP_VDSO ? 1 : 2, v.backing_id);
		EXPECT_EQ(0, v.pgoff);
	}
}

FIXTURE(layout) {
	struct shadow_counts before;
	int dev, mfd;
};

FIXTURE_SETUP(layout)
{
	self->before = shadow_counts();
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	if (!(shadow_features(self->dev) & SHADOW_MM_FEATURE_LAYOUT))
		SKIP(return, "no SHADOW_MM_FEATURE_LAYOUT");
	self->mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(layout)
{
	if (self->mfd >= 0)
		close(self->mfd);
	close(self->dev);
	shadow_expect_counts(_metadata, self->before);
}

/* [vvar], [vdso] and [stack] of this process, rebuilt: the same lines. */
TEST_F(layout, exec_mappings_like_real)
{
	struct shadow_mm_stats st;
	char line[256];
	unsigned long s, e;

	expect_like_real(_metadata, self->mfd, "[vvar]", SHADOW_MMAP_VVAR, 0);
	expect_like_real(_metadata, self->mfd, "[vdso]", SHADOW_MMAP_VDSO, 0);
	expect_like_real(_metadata, self->mfd, "[stack]", SHADOW_MMAP_STACK,
			 PROT_READ | PROT_WRITE);

	ASSERT_TRUE(real_named("[stack]", &s, &e, line, sizeof(line)));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(e - 8, st.out_start_stack);
	EXPECT_EQ((e - s) / PAGE, st.out_stack_vm);
	EXPECT_EQ(3, st.out_map_count);
	ASSERT_TRUE(real_named("[vdso]", &s, &e, line, sizeof(line)));
	EXPECT_EQ((e - s) / PAGE, st.out_exec_vm);
}

/* The stack grows down as a MAP_GROWSDOWN VMA, and stays [stack]. */
TEST_F(layout, stack_grows)
{
	const unsigned long top = WIN + 64 * PAGE;
	struct shadow_vma_info v;
	char line[256];

	ASSERT_EQ(0, layout_mmap(self->mfd, SHADOW_MMAP_STACK, top - 4 * PAGE,
				 4 * PAGE, PROT_READ | PROT_WRITE, top - 16));
	v = shadow_vma_at(self->mfd, top - 4 * PAGE);
	EXPECT_EQ(SHADOW_VM_READ | SHADOW_VM_WRITE | SHADOW_VM_MAYREAD |
		  SHADOW_VM_MAYWRITE | SHADOW_VM_MAYEXEC | SHADOW_VM_GROWSDOWN |
		  SHADOW_VM_ACCOUNT, v.vm_flags);
	EXPECT_EQ(0, _shadow_fault(self->mfd, top - 6 * PAGE, PAGE,
				   SHADOW_FAULT_WRITE, NULL));
	v = shadow_vma_at(self->mfd, top - 6 * PAGE);
	EXPECT_EQ(top, v.end);
	ASSERT_TRUE(shadow_line(self->mfd, top - 6 * PAGE, line,
				sizeof(line)));
	EXPECT_NE(NULL, strstr(line, " [stack]"));

	/* PROT_EXEC: EXSTACK_ENABLE_X. */
	ASSERT_EQ(0, layout_mmap(self->mfd, SHADOW_MMAP_STACK, WIN, PAGE,
				 PROT_READ | PROT_WRITE | PROT_EXEC, WIN));
	v = shadow_vma_at(self->mfd, WIN);
	EXPECT_TRUE(v.vm_flags & SHADOW_VM_EXEC);
	/* start_stack moved: only the VMA containing it is [stack]. */
	ASSERT_TRUE(shadow_line(self->mfd, top - 6 * PAGE, line,
				sizeof(line)));
	EXPECT_EQ(NULL, strstr(line, "[stack]"));
	ASSERT_TRUE(shadow_line(self->mfd, WIN, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, " [stack]"));
}

/* The errors of the kinds: flags, fields, place. */
TEST_F(layout, exec_mapping_errors)
{
	struct shadow_mm_mmap m = {
		.size = sizeof(m), .addr = WIN, .len = PAGE, .prot = PROT_READ,
		.map_flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, .fd = -1,
	};
	const __u32 rw = PROT_READ | PROT_WRITE;
	int mfd = self->mfd;

	/* Unknown and combined kinds; start_stack without the stack. */
	m.flags = 1u << 3;
	EXPECT_EQ(-EINVAL, shadow_ioctl(mfd, SHADOW_MM_MMAP, &m));
	m.flags = 1u << 31;
	EXPECT_EQ(-EINVAL, shadow_ioctl(mfd, SHADOW_MM_MMAP, &m));
	m.flags = 0;
	m.start_stack = WIN;
	EXPECT_EQ(-EINVAL, shadow_ioctl(mfd, SHADOW_MM_MMAP, &m));
	m.start_stack = 0;
	m.__reserved = 1;
	EXPECT_EQ(-EINVAL, shadow_ioctl(mfd, SHADOW_MM_MMAP, &m));

	EXPECT_EQ(-EINVAL, layout_mmap(mfd, SHADOW_MMAP_VDSO |
				       SHADOW_MMAP_VVAR, WIN, PAGE, 0, 0));
	EXPECT_EQ(-EINVAL, layout_mmap(mfd, SHADOW_MMAP_VDSO, WIN, PAGE,
				       PROT_READ, 0));
	EXPECT_EQ(-EINVAL, layout_mmap(mfd, SHADOW_MMAP_VVAR, WIN, PAGE, 0,
				       WIN));
	EXPECT_EQ(-EINVAL, layout_mmap(mfd, SHADOW_MMAP_VDSO, 0, PAGE, 0, 0));
	EXPECT_EQ(-EINVAL, layout_mmap(mfd, SHADOW_MMAP_VDSO, WIN + 1, PAGE,
				       0, 0));
	EXPECT_EQ(-EINVAL, layout_mmap(mfd, SHADOW_MMAP_VDSO, WIN, 0, 0, 0));
	m.flags = SHADOW_MMAP_VVAR;
	m.prot = 0;
	EXPECT_EQ(-EINVAL, shadow_ioctl(mfd, SHADOW_MM_MMAP, &m));
	/* The stack: read-write, start_stack inside. */
	EXPECT_EQ(-EINVAL, layout_mmap(mfd, SHADOW_MMAP_STACK, WIN, PAGE,
				       PROT_READ, WIN));
	EXPECT_EQ(-EINVAL, layout_mmap(mfd, SHADOW_MMAP_STACK, WIN, PAGE, rw,
				       WIN + 2 * PAGE));
	EXPECT_EQ(-EINVAL, layout_mmap(mfd, SHADOW_MMAP_STACK, WIN, PAGE, rw,
				       WIN - 1));

	/* Beyond the address space, below mmap_min_addr, over a VMA. */
	EXPECT_EQ(-ENOMEM, layout_mmap(mfd, SHADOW_MMAP_VDSO,
				       SHADOW_TASK_SIZE, PAGE, 0, 0));
	EXPECT_EQ(-ENOMEM, layout_mmap(mfd, SHADOW_MMAP_VDSO, -PAGE,
				       2 * PAGE, 0, 0));
	EXPECT_EQ(-EPERM, layout_mmap(mfd, SHADOW_MMAP_VVAR, PAGE, PAGE, 0,
				      0));
	ASSERT_EQ(0, _shadow_mmap(mfd, WIN + PAGE, PAGE, PROT_READ,
				  PRIV_FIXED, NULL));
	EXPECT_EQ(-ENOMEM, layout_mmap(mfd, SHADOW_MMAP_VVAR, WIN, 2 * PAGE,
				       0, 0));
	EXPECT_EQ(-ENOMEM, layout_mmap(mfd, SHADOW_MMAP_STACK, WIN + PAGE,
				       PAGE, rw, WIN + PAGE));
	EXPECT_EQ(1, shadow_stats(_metadata, mfd).out_map_count);
}

/*
 * The special mappings never merge, never split, never grow; a whole one
 * moves and unmaps. The errors match a real mremap of this process's
 * [vvar] (which all fail, leaving it in place).
 */
TEST_F(layout, special_rules)
{
	const unsigned long a = WIN, len = 4 * PAGE, dst = WIN + 64 * PAGE;
	unsigned long rs, re, s, e;
	struct shadow_mm_fault f = { .size = sizeof(f), .len = PAGE };
	struct shadow_vma_info v;
	char line[256];
	int mfd = self->mfd, real_err;
	__u64 out = 0;

	ASSERT_EQ(0, layout_mmap(mfd, SHADOW_MMAP_VVAR, a, len, 0, 0));
	ASSERT_EQ(0, layout_mmap(mfd, SHADOW_MMAP_VDSO, a + len, 2 * PAGE, 0,
				 0));
	/* Anonymous memory with the vdso's protection beside it: no merge. */
	ASSERT_EQ(0, _shadow_mmap(mfd, a + len + 2 * PAGE, PAGE,
				  PROT_READ | PROT_EXEC, PRIV_FIXED, NULL));
	ASSERT_EQ(0, _shadow_mmap(mfd, a - PAGE, PAGE, PROT_READ, PRIV_FIXED,
				  NULL));
	EXPECT_EQ(4, shadow_stats(_metadata, mfd).out_map_count);

	/* mremap: growing, shrinking, DONTUNMAP, as the real [vvar]. */
	ASSERT_TRUE(real_named("[vvar]", &rs, &re, line, sizeof(line)));
	real_err = mremap((void *)rs, re - rs, re - rs + PAGE, 0) ==
		   MAP_FAILED ? -errno : 0;
	ASSERT_EQ(-EFAULT, real_err);
	EXPECT_EQ(real_err, _shadow_mremap(mfd, a, len, len + PAGE, 0, 0,
					   &out));
	real_err = mremap((void *)rs, re - rs, re - rs - PAGE, 0) ==
		   MAP_FAILED ? -errno : 0;
	ASSERT_EQ(-EINVAL, real_err);
	EXPECT_EQ(real_err, _shadow_mremap(mfd, a, len, len - PAGE, 0, 0,
					   &out));
	real_err = mremap((void *)rs, re - rs, re - rs,
			  MREMAP_MAYMOVE | MREMAP_DONTUNMAP) == MAP_FAILED ?
		   -errno : 0;
	ASSERT_EQ(-EINVAL, real_err);
	EXPECT_EQ(real_err, _shadow_mremap(mfd, a, len, len,
					   MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
					   0, &out));
	real_err = munmap((void *)rs, PAGE) ? -errno : 0;
	ASSERT_EQ(-EINVAL, real_err);
	EXPECT_EQ(real_err, _shadow_munmap(mfd, a, PAGE));
	real_err = mprotect((void *)rs, PAGE, PROT_NONE) ? -errno : 0;
	ASSERT_EQ(-EINVAL, real_err);
	EXPECT_EQ(real_err, _shadow_mprotect(mfd, a, PAGE, PROT_NONE));
	/* No pages to drop from a pfnmap; mlock leaves both as they are. */
	real_err = madvise((void *)rs, re - rs, MADV_DONTNEED) ? -errno : 0;
	ASSERT_EQ(-EINVAL, real_err);
	EXPECT_EQ(real_err, _shadow_madvise(mfd, a, len, MADV_DONTNEED));
	real_err = mlock((void *)rs, re - rs) ? -errno : 0;
	EXPECT_EQ(0, real_err);
	EXPECT_EQ(real_err, _shadow_mlock(mfd, a, len + 2 * PAGE, 0));
	EXPECT_EQ(0, shadow_stats(_metadata, mfd).out_locked_vm);
	munlock((void *)rs, re - rs);
	EXPECT_EQ(0, _shadow_munlock(mfd, a, len + 2 * PAGE));
	/* Part of one moved: the split is refused. */
	EXPECT_EQ(-EINVAL, _shadow_mremap(mfd, a, PAGE, PAGE,
					  MREMAP_MAYMOVE | MREMAP_FIXED, dst,
					  &out));
	/* The real [vvar] is where it was. */
	ASSERT_TRUE(real_named("[vvar]", &s, &e, line, sizeof(line)));
	EXPECT_EQ(rs, s);
	EXPECT_EQ(re, e);

	/* Faults: no page behind either; no write to the vdso. */
	f.addr = a;
	EXPECT_EQ(-EFAULT, shadow_ioctl(mfd, SHADOW_MM_FAULT, &f));
	EXPECT_EQ(SIGBUS, f.out_signal);
	f.addr = a + len;
	f.flags = SHADOW_FAULT_EXEC;
	EXPECT_EQ(-EFAULT, shadow_ioctl(mfd, SHADOW_MM_FAULT, &f));
	EXPECT_EQ(SIGBUS, f.out_signal);
	f.flags = SHADOW_FAULT_WRITE;
	EXPECT_EQ(-EFAULT, shadow_ioctl(mfd, SHADOW_MM_FAULT, &f));
	EXPECT_EQ(SIGSEGV, f.out_signal);
	EXPECT_EQ(0, shadow_stats(_metadata, mfd).out_nr_ptes);

	/* A whole one moves, keeping its name and flags. */
	EXPECT_EQ(0, _shadow_mremap(mfd, a + len, 2 * PAGE, 2 * PAGE,
				    MREMAP_MAYMOVE | MREMAP_FIXED, dst, &out));
	EXPECT_EQ(dst, out);
	v = shadow_vma_at(mfd, dst);
	EXPECT_EQ(dst + 2 * PAGE, v.end);
	EXPECT_EQ(SHADOW_VMA_SPECIAL, v.backing);
	EXPECT_TRUE(v.vm_flags & SHADOW_VM_DONTEXPAND);
	ASSERT_TRUE(shadow_line(mfd, dst, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, " [vdso]"));
	EXPECT_EQ(4, shadow_stats(_metadata, mfd).out_map_count);

	/* ... and unmaps whole. */
	EXPECT_EQ(0, _shadow_munmap(mfd, a, len));
	EXPECT_EQ(0, _shadow_munmap(mfd, dst, 2 * PAGE));
	EXPECT_EQ(2, shadow_stats(_metadata, mfd).out_map_count);
	/* The r-x anonymous page is what is left executable. */
	EXPECT_EQ(1, shadow_stats(_metadata, mfd).out_exec_vm);
}

/* A fork copies the special mappings, the stack and the bounds. */
TEST_F(layout, fork_keeps_layout)
{
	struct shadow_mm_set_mm_map map = {
		.size = sizeof(map),
		.start_code = 0x400000, .end_code = 0x401000,
		.start_data = 0x402000, .end_data = 0x403000,
		.start_brk = 0x404000, .brk = 0x404000,
		.start_stack = WIN + 8 * PAGE - 8,
		.arg_start = WIN + 8 * PAGE - 64, .arg_end = WIN + 8 * PAGE - 32,
		.env_start = WIN + 8 * PAGE - 32, .env_end = WIN + 8 * PAGE - 8,
	};
	struct shadow_mm_stats a, b;
	char *pm, *cm;
	int child;

	ASSERT_EQ(0, layout_mmap(self->mfd, SHADOW_MMAP_VVAR, WIN + 16 * PAGE,
				 4 * PAGE, 0, 0));
	ASSERT_EQ(0, layout_mmap(self->mfd, SHADOW_MMAP_VDSO, WIN + 20 * PAGE,
				 2 * PAGE, 0, 0));
	ASSERT_EQ(0, layout_mmap(self->mfd, SHADOW_MMAP_STACK, WIN, 8 * PAGE,
				 PROT_READ | PROT_WRITE, WIN + 8 * PAGE - 8));
	ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_SET_MM_MAP, &map));
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	a = shadow_stats(_metadata, self->mfd);
	b = shadow_stats(_metadata, child);
	EXPECT_EQ(0, memcmp(&a.out_start_code, &b.out_start_code,
			    sizeof(a) - offsetof(struct shadow_mm_stats,
						 out_start_code)));
	EXPECT_EQ(a.out_map_count, b.out_map_count);
	pm = shadow_get_maps(self->mfd);
	cm = shadow_get_maps(child);
	ASSERT_NE(NULL, pm);
	ASSERT_NE(NULL, cm);
	EXPECT_STREQ(pm, cm);
	EXPECT_NE(NULL, strstr(cm, "[vdso]"));
	EXPECT_NE(NULL, strstr(cm, "[vvar]"));
	EXPECT_NE(NULL, strstr(cm, "[stack]"));
	free(pm);
	free(cm);
	close(child);
}

/* PR_SET_MM_MAP's fields: set, read back, validated as 6.1 does. */
TEST_F(layout, set_mm_map)
{
	struct shadow_mm_set_mm_map ok = {
		.size = sizeof(ok),
		.start_code = 0x400000, .end_code = 0x401000,
		.start_data = 0x402000, .end_data = 0x403000,
		.start_brk = 0x600000, .brk = 0x600000,
		.start_stack = 0x7ff000000000, .arg_start = 0x7ff000000100,
		.arg_end = 0x7ff000000200, .env_start = 0x7ff000000200,
		.env_end = 0x7ff000000300,
	}, m;
	struct shadow_mm_stats st;

	ASSERT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_SET_MM_MAP, &ok));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(ok.start_code, st.out_start_code);
	EXPECT_EQ(ok.end_code, st.out_end_code);
	EXPECT_EQ(ok.start_data, st.out_start_data);
	EXPECT_EQ(ok.end_data, st.out_end_data);
	EXPECT_EQ(ok.start_brk, st.out_start_brk);
	EXPECT_EQ(ok.brk, st.out_brk);
	EXPECT_EQ(ok.start_stack, st.out_start_stack);
	EXPECT_EQ(ok.arg_start, st.out_arg_start);
	EXPECT_EQ(ok.arg_end, st.out_arg_end);
	EXPECT_EQ(ok.env_start, st.out_env_start);
	EXPECT_EQ(ok.env_end, st.out_env_end);
	EXPECT_EQ(0, st.out_layout_flags);

#define BAD(field, value)						\
	do {								\
		m = ok;							\
		m.field = (value);					\
		EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd,		\
						SHADOW_MM_SET_MM_MAP, &m)); \
	} while (0)
	BAD(flags, 1);
	BAD(start_code, 0);			/* below mmap_min_addr */
	BAD(env_end, SHADOW_TASK_SIZE);		/* beyond TASK_SIZE */
	BAD(brk, -1ULL);
	BAD(end_code, ok.start_code);		/* start_code < end_code */
	BAD(end_data, ok.start_data - 1);
	BAD(brk, ok.start_brk - 1);
	BAD(arg_end, ok.arg_start - 1);
	BAD(env_end, ok.env_start - 1);
#undef BAD
	/* Nothing changed. */
	EXPECT_EQ(ok.end_code,
		  shadow_stats(_metadata, self->mfd).out_end_code);
}

/*
 * RLIMIT_DATA holds the heap and the data segment together, in
 * PR_SET_MM_MAP and in brk (check_data_rlimit()).
 */
TEST_F(layout, data_rlimit)
{
	const struct rlimit lim = { 1UL << 20, 1UL << 20 };
	const unsigned long heap = WIN;
	struct shadow_mm_set_mm_map m = {
		.size = sizeof(m),
		.start_code = 0x400000, .end_code = 0x401000,
		.start_data = 0x402000, .end_data = 0x402000 + (768UL << 10),
		.start_brk = heap, .brk = heap + (512UL << 10),
		.start_stack = 0x7ff000000000, .arg_start = 0x7ff000000000,
		.arg_end = 0x7ff000000000, .env_start = 0x7ff000000000,
		.env_end = 0x7ff000000000,
	};
	__u64 start = 0;

	ASSERT_EQ(0, setrlimit(RLIMIT_DATA, &lim));
	EXPECT_EQ(-EINVAL, shadow_ioctl(self->mfd, SHADOW_MM_SET_MM_MAP, &m));
	m.brk = heap + (256UL << 10);
	EXPECT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_SET_MM_MAP, &m));
	m.brk = heap;
	EXPECT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_SET_MM_MAP, &m));

	/* 768 KiB of data: 256 KiB of heap fit, 256 KiB + 1 do not. */
	EXPECT_EQ(heap, _shadow_brk(self->mfd, heap + (256UL << 10) + 1, 0,
				    &start));
	EXPECT_EQ(heap, start);
	EXPECT_EQ(heap + (256UL << 10),
		  _shadow_brk(self->mfd, heap + (256UL << 10), 0, NULL));
	EXPECT_EQ(1, shadow_stats(_metadata, self->mfd).out_map_count);
	EXPECT_EQ(heap, _shadow_brk(self->mfd, heap, 0, NULL));
	EXPECT_EQ(0, shadow_stats(_metadata, self->mfd).out_map_count);

	/* Without a data segment the whole limit is the heap's. */
	m.end_data = m.start_data;
	EXPECT_EQ(0, shadow_ioctl(self->mfd, SHADOW_MM_SET_MM_MAP, &m));
	EXPECT_EQ(heap + (1UL << 20),
		  _shadow_brk(self->mfd, heap + (1UL << 20), 0, NULL));
	EXPECT_EQ(heap + (1UL << 20),
		  _shadow_brk(self->mfd, heap + (1UL << 20) + 1, 0, NULL));
	EXPECT_EQ(heap, _shadow_brk(self->mfd, heap, 0, NULL));
}

/*
 * A re-executed copy of this program under personality(): report where
 * mmap puts PROBE_MAX - 1 mappings of one to three pages, after the
 * mappings already in [LEGACY_BASE, LEGACY_BASE + 1 GiB).
 */
__attribute__((constructor)) static void legacy_probe(void)
{
	unsigned long s, e, lo = LEGACY_BASE, hi = LEGACY_BASE + (1UL << 30);
	char buf[1 << 14], *l, *save = NULL;
	int i;

	if (!getenv(PROBE_ENV))
		return;
	if (shadow_slurp("/proc/self/maps", buf, sizeof(buf)) < 0)
		_exit(2);
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (sscanf(l, "%lx-%lx", &s, &e) == 2 && e > lo && s < hi)
			printf("pre %lx %lx\n", s, e);
	for (i = 1; i < PROBE_MAX; i++) {
		void *p = mmap(NULL, (i % 3 + 1) * PAGE, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		printf("map %lx\n", p == MAP_FAILED ? 0UL : (unsigned long)p);
	}
	fflush(stdout);
	_exit(0);
}

/* Run the probe under @persona; its output in @out. */
static int run_probe(unsigned long persona, char *out, size_t size)
{
	int pfd[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (!pid) {
		dup2(pfd[1], 1);
		setenv(PROBE_ENV, "1", 1);
		personality(persona);
		execl("/proc/self/exe", "probe", (char *)NULL);
		_exit(3);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], out + len, size - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

/*
 * The legacy layout: mmap_base is TASK_UNMAPPED_BASE and mappings go up
 * from it, as in a process under ADDR_COMPAT_LAYOUT.
 */
TEST_F(layout, legacy_bottom_up_like_real)
{
	struct shadow_mm_create c = {
		.size = sizeof(c), .flags = SHADOW_CREATE_LEGACY_LAYOUT,
	};
	char out[1 << 12], *l, *save = NULL;
	struct shadow_mm_stats st;
	unsigned long s, e;
	int mfd, i = 1, nmap = 0;
	__u64 addr;

	mfd = ioctl(self->dev, SHADOW_MM_CREATE, &c);
	ASSERT_LE(0, mfd);
	st = shadow_stats(_metadata, mfd);
	EXPECT_EQ(LEGACY_BASE, st.out_mmap_base);
	EXPECT_EQ(0x2aaaaaaab000UL, st.out_mmap_base);
	EXPECT_EQ(SHADOW_CREATE_LEGACY_LAYOUT, st.out_layout_flags);

	ASSERT_EQ(0, run_probe(ADDR_COMPAT_LAYOUT | ADDR_NO_RANDOMIZE, out,
			       sizeof(out)));
	for (l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (sscanf(l, "pre %lx %lx", &s, &e) == 2) {
			ASSERT_EQ(0, _shadow_mmap(mfd, s, e - s, PROT_READ,
						  PRIV_FIXED, NULL));
			continue;
		}
		ASSERT_EQ(1, sscanf(l, "map %lx", &s));
		ASSERT_EQ(0, _shadow_mmap(mfd, 0, (i % 3 + 1) * PAGE,
					  PROT_READ, PRIV, &addr));
		EXPECT_EQ(s, addr) {
			TH_LOG("mapping %d: real %#lx shadow %#llx", i, s,
			       (unsigned long long)addr);
		}
		i++;
		nmap++;
	}
	EXPECT_EQ(PROBE_MAX - 1, nmap);
	close(mfd);

	/* The default layout's first mapping is just below mmap_base. */
	mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, mfd);
	EXPECT_EQ(0, shadow_stats(_metadata, mfd).out_layout_flags);
	ASSERT_EQ(0, _shadow_mmap(mfd, 0, PAGE, PROT_READ, PRIV, &addr));
	EXPECT_EQ(SHADOW_MMAP_BASE - PAGE, addr);
	close(mfd);

	/* A legacy base of the caller's; unknown create flags. */
	c.mmap_base = 0x10000000;
	mfd = ioctl(self->dev, SHADOW_MM_CREATE, &c);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, _shadow_mmap(mfd, 0, PAGE, PROT_READ, PRIV, &addr));
	EXPECT_EQ(0x10000000, addr);
	close(mfd);
	c.flags = 1u << 1;
	EXPECT_EQ(-1, ioctl(self->dev, SHADOW_MM_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	c.flags = SHADOW_CREATE_LEGACY_LAYOUT;
	c.mmap_base = LEGACY_BASE + 1;
	EXPECT_EQ(-1, ioctl(self->dev, SHADOW_MM_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * maps names [heap] what vma_is_initial_heap() says of the kernel the
 * module follows: before 6.5 an anonymous VMA that only touches
 * [start_brk, brk] (the bss, ending at start_brk) is [heap] too; since
 * 6.5 only one that overlaps it.
 */
TEST_F(layout, heap_name_follows_kernel)
{
	const unsigned long bss = 0x4a9000, start_brk = 0x4ae000;
	bool strict = shadow_rules() >= (6 << 16 | 5 << 8);
	char line[256];

	ASSERT_EQ(0, _shadow_mmap(self->mfd, bss, start_brk - bss,
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL));
	ASSERT_EQ((long)start_brk, _shadow_brk(self->mfd, start_brk,
					       SHADOW_BRK_SET_START, NULL));
	/* An empty heap: the bss touches it, nothing overlaps it. */
	ASSERT_TRUE(shadow_line(self->mfd, bss, line, sizeof(line)));
	EXPECT_EQ(!strict, !!strstr(line, "[heap]")) TH_LOG("%s", line);

	/* A grown heap: a VMA of its own above the bss, [heap] on both. */
	ASSERT_EQ((long)(start_brk + 2 * PAGE),
		  _shadow_brk(self->mfd, start_brk + 2 * PAGE, 0, NULL));
	ASSERT_TRUE(shadow_line(self->mfd, start_brk, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, "[heap]")) TH_LOG("%s", line);
	ASSERT_TRUE(shadow_line(self->mfd, bss, line, sizeof(line)));
	EXPECT_EQ(!strict, !!strstr(line, "[heap]")) TH_LOG("%s", line);
}

TEST_HARNESS_MAIN
