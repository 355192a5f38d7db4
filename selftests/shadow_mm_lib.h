/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the shadow_mm selftests. Each _shadow_x() returns 0 (or a
 * result) or -errno; the tests assert on those values.
 */
#ifndef _SHADOW_MM_LIB_H
#define _SHADOW_MM_LIB_H

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/shadow_mm.h>

#define SHADOW_DEV		"/dev/shadow_mm"
#define SHADOW_COUNTERS		"/sys/kernel/debug/shadow_mm/counters"
#define PAGE			4096UL
#define SHADOW_TASK_SIZE	((1UL << 47) - PAGE)
#define SHADOW_MMAP_BASE	(SHADOW_TASK_SIZE - (128UL << 20))

/* The tests' shorthands for protections and mapping flags. */
#define RO			PROT_READ
#define RW			(PROT_READ | PROT_WRITE)
#define RX			(PROT_READ | PROT_EXEC)
#define PRIV			(MAP_PRIVATE | MAP_ANONYMOUS)
#define SHARED			(MAP_SHARED | MAP_ANONYMOUS)
#define FIXED			MAP_FIXED
#define PRIV_FIXED		(PRIV | FIXED)
#define SHARED_FIXED		(SHARED | FIXED)
/* Where the tests map: 16 TiB, PGD index 32, far from the binary's areas. */
#define BASE			0x100000000000UL

/*
 * What older C libraries lack, with the values of Linux 6.1's uapi: one
 * copy for every program here.
 */
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK		18
#define MADV_KEEPONFORK		19
#endif
#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED	24
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE	0x03
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB		0x40000
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE		0x08	/* a map type, Linux 6.11 on */
#endif
#ifndef MAP_SYNC
#define MAP_SYNC		0x80000
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT		0x01
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT		4
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE		1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED		2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif
#ifndef PROT_SEM
#define PROT_SEM		0x8
#endif
#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE	41
#endif
#ifndef PR_GET_THP_DISABLE
#define PR_GET_THP_DISABLE	42
#endif

#define PM_PRESENT	0x8000000000000000ULL	/* bit 63 */
#define PM_PFN		0x007fffffffffffffULL	/* bits 0-54 */
#define PM_MMAP_EXCLUSIVE 0x0100000000000000ULL	/* bit 56: mapped once */

/* This process's /proc/self/pagemap entry for @addr; 0 if unreadable. */
static inline __u64 pagemap_entry(unsigned long addr)
{
	__u64 e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), addr / PAGE * sizeof(e)) != sizeof(e))
		e = 0;
	close(fd);
	return e;
}

/* capset(2) without libcap: drop one capability from the effective set. */
static inline int drop_effective_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &hdr, data);
}

static inline int shadow_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

/* Open the device and do the handshake; -errno on failure. */
static inline int shadow_open_dev(void)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	int fd = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = shadow_ioctl(fd, SHADOW_MM_API, &api);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* A new address space: its fd, or -errno. */
static inline int _shadow_create(int devfd, __u64 mmap_base,
				 __u32 *id)
{
	struct shadow_mm_create c = {
		.size = sizeof(c),
		.mmap_base = mmap_base,
	};
	int fd = ioctl(devfd, SHADOW_MM_CREATE, &c);

	if (fd < 0)
		return -errno;
	if (id)
		*id = c.out_id;
	return fd;
}

static inline long _shadow_mmap(int mfd, __u64 addr, __u64 len,
				int prot, int flags, __u64 *out)
{
	struct shadow_mm_mmap m = {
		.size = sizeof(m),
		.addr = addr,
		.len = len,
		.prot = prot,
		.map_flags = flags,
		.fd = -1,
	};
	int ret = shadow_ioctl(mfd, SHADOW_MM_MMAP, &m);

	if (!ret && out)
		*out = m.out_addr;
	return ret;
}

static inline int _shadow_munmap(int mfd, __u64 addr, __u64 len)
{
	struct shadow_mm_munmap u = {
		.size = sizeof(u), .addr = addr, .len = len,
	};

	return shadow_ioctl(mfd, SHADOW_MM_MUNMAP, &u);
}

static inline int _shadow_exit(int mfd)
{
	struct shadow_mm_exit e = { .size = sizeof(e) };

	return shadow_ioctl(mfd, SHADOW_MM_EXIT, &e);
}

static inline int _shadow_get_vmas(int mfd, __u64 start, __u64 end,
				   struct shadow_vma_info *v, __u32 cap,
				   __u32 *nr)
{
	struct shadow_mm_get_vmas g = {
		.size = sizeof(g),
		.start = start,
		.end = end,
		.vmas = (uintptr_t)v,
		.nr_vmas = cap,
	};
	int ret = shadow_ioctl(mfd, SHADOW_MM_GET_VMAS, &g);

	if (!ret && nr)
		*nr = g.out_nr_vmas;
	return ret;
}

static inline int _shadow_get_stats(int mfd, struct shadow_mm_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return shadow_ioctl(mfd, SHADOW_MM_GET_STATS, st);
}

/* The maps text, malloc()ed and NUL-terminated, or NULL. */
static inline char *shadow_get_maps(int mfd)
{
	struct shadow_mm_get_maps g = { .size = sizeof(g) };
	char *buf;

	if (shadow_ioctl(mfd, SHADOW_MM_GET_MAPS, &g) != -ENOSPC &&
	    g.out_len != 0)
		return NULL;
	buf = calloc(1, g.out_len + 1);
	if (!buf)
		return NULL;
	g.buf = (uintptr_t)buf;
	g.buf_len = g.out_len;
	if (shadow_ioctl(mfd, SHADOW_MM_GET_MAPS, &g)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static inline int _shadow_fault(int mfd, __u64 addr, __u64 len,
				unsigned int flags, __u64 *nr)
{
	struct shadow_mm_fault f = {
		.size = sizeof(f), .flags = flags, .addr = addr, .len = len,
	};
	int ret = shadow_ioctl(mfd, SHADOW_MM_FAULT, &f);

	if (nr)
		*nr = f.out_nr_pages;
	return ret;
}

/* Read or write bytes; bytes transferred or -errno. */
static inline long _shadow_access(int mfd, __u64 addr, void *buf, __u64 len,
				  unsigned int flags)
{
	struct shadow_mm_access a = {
		.size = sizeof(a), .flags = flags, .addr = addr, .len = len,
		.buf = (uintptr_t)buf,
	};
	int ret = shadow_ioctl(mfd, SHADOW_MM_ACCESS, &a);

	return ret ? ret : (long)a.out_len;
}

/* SHADOW_MM_WALK as the module answers it. */
static inline int _shadow_walk_raw(int mfd, __u64 addr, __u64 nr,
				   struct shadow_page_info *pages)
{
	struct shadow_mm_walk w = {
		.size = sizeof(w), .addr = addr, .nr_pages = nr,
		.pages = (uintptr_t)pages, .rec_size = sizeof(*pages),
	};

	return shadow_ioctl(mfd, SHADOW_MM_WALK, &w);
}

/*
 * SHADOW_MM_WALK for the tests: SHADOW_PAGE_MMAP_EXCLUSIVE must say what
 * the record's mapcount says (a present page, not the zero page, mapped
 * once), or the walk fails with -EBADMSG; it is then left out of the flags,
 * so that a test's exact flags name the state it is about. The diff test
 * compares the bit itself with pagemap's (_shadow_walk_raw()).
 */
static inline int _shadow_walk(int mfd, __u64 addr, __u64 nr,
			       struct shadow_page_info *pages)
{
	int ret = _shadow_walk_raw(mfd, addr, nr, pages);
	bool once;
	__u64 i;

	for (i = 0; !ret && i < nr; i++) {
		once = (pages[i].flags & SHADOW_PAGE_PRESENT) &&
		       !(pages[i].flags & SHADOW_PAGE_ZERO) &&
		       pages[i].mapcount == 1;
		if (once != !!(pages[i].flags & SHADOW_PAGE_MMAP_EXCLUSIVE))
			return -EBADMSG;
		pages[i].flags &= ~SHADOW_PAGE_MMAP_EXCLUSIVE;
	}
	return ret;
}

static inline int _shadow_madvise(int mfd, __u64 addr, __u64 len, int advice)
{
	struct shadow_mm_madvise m = {
		.size = sizeof(m), .addr = addr, .len = len, .advice = advice,
	};

	return shadow_ioctl(mfd, SHADOW_MM_MADVISE, &m);
}

static inline int _shadow_mprotect(int mfd, __u64 addr, __u64 len, int prot)
{
	struct shadow_mm_mprotect m = {
		.size = sizeof(m), .addr = addr, .len = len, .prot = prot,
	};

	return shadow_ioctl(mfd, SHADOW_MM_MPROTECT, &m);
}

/* mlock2(2): @flags 0 or MLOCK_ONFAULT. */
static inline int _shadow_mlock(int mfd, __u64 addr, __u64 len,
				unsigned int flags)
{
	struct shadow_mm_mlock m = {
		.size = sizeof(m), .addr = addr, .len = len,
		.mlock_flags = flags,
	};

	return shadow_ioctl(mfd, SHADOW_MM_MLOCK, &m);
}

static inline int _shadow_munlock(int mfd, __u64 addr, __u64 len)
{
	struct shadow_mm_munlock m = {
		.size = sizeof(m), .addr = addr, .len = len,
	};

	return shadow_ioctl(mfd, SHADOW_MM_MUNLOCK, &m);
}

static inline int _shadow_mlockall(int mfd, unsigned int flags)
{
	struct shadow_mm_mlockall m = { .size = sizeof(m), .mcl_flags = flags };

	return shadow_ioctl(mfd, SHADOW_MM_MLOCKALL, &m);
}

static inline int _shadow_munlockall(int mfd)
{
	struct shadow_mm_munlockall m = { .size = sizeof(m) };

	return shadow_ioctl(mfd, SHADOW_MM_MUNLOCKALL, &m);
}

/* fork: the child's fd, or -errno. */
static inline int _shadow_fork(int mfd, unsigned int flags, __u32 *id)
{
	struct shadow_mm_fork f = { .size = sizeof(f), .flags = flags };
	int fd = ioctl(mfd, SHADOW_MM_FORK, &f);

	if (fd < 0)
		return -errno;
	if (id)
		*id = f.out_id;
	return fd;
}

/*
 * SHADOW_MM_SET_THP: set the fields whose SHADOW_THP_SET_* bit is in
 * @flags, and read the policy back into *@out (may be NULL); 0 or -errno.
 */
static inline int _shadow_set_thp(int mfd, unsigned int flags, __u32 mode,
				  __u32 disable, __u32 use_zero_page,
				  struct shadow_mm_thp *out)
{
	struct shadow_mm_thp t = {
		.size = sizeof(t), .flags = flags, .mode = mode,
		.disable = disable, .use_zero_page = use_zero_page,
	};
	int ret = shadow_ioctl(mfd, SHADOW_MM_SET_THP, &t);

	if (!ret && out)
		*out = t;
	return ret;
}

/*
 * The space at @mfd maps 4 KiB pages only, as a process that called
 * prctl(PR_SET_THP_DISABLE): for tests of PTE tables and of what fills
 * them, whatever the module parameter thp or the running kernel says.
 */
static inline int _shadow_thp_disable(int mfd)
{
	return _shadow_set_thp(mfd, SHADOW_THP_SET_DISABLE, 0, 1, 0, NULL);
}

/* mremap: 0 with the new address in *out, or -errno. */
static inline int _shadow_mremap(int mfd, __u64 addr, __u64 old_len,
				 __u64 new_len, unsigned int flags,
				 __u64 new_addr, __u64 *out)
{
	struct shadow_mm_mremap m = {
		.size = sizeof(m), .old_addr = addr, .old_len = old_len,
		.new_len = new_len, .new_addr = new_addr,
		.mremap_flags = flags,
	};
	int ret = shadow_ioctl(mfd, SHADOW_MM_MREMAP, &m);

	if (!ret && out)
		*out = m.out_addr;
	return ret;
}

/* brk: the break afterwards (never an error but EINTR), or -errno. */
static inline long _shadow_brk(int mfd, __u64 brk, unsigned int flags,
			       __u64 *start_brk)
{
	struct shadow_mm_brk b = { .size = sizeof(b), .flags = flags,
				   .brk = brk };
	int ret = shadow_ioctl(mfd, SHADOW_MM_BRK, &b);

	if (ret)
		return ret;
	if (start_brk)
		*start_brk = b.out_start_brk;
	return (long)b.out_brk;
}

/* The features the module announces (SHADOW_MM_API), or 0. */
static inline __u64 shadow_features(int devfd)
{
	struct shadow_mm_api api = { .size = sizeof(api) };

	return shadow_ioctl(devfd, SHADOW_MM_API, &api) ? 0 : api.out_features;
}

/*
 * The kernel whose mm rules the module follows (SHADOW_MM_API's
 * out_rules, KERNEL_VERSION(major, minor, 0)), or 0.
 */
static inline __u32 shadow_rules(void)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	int fd = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	__u32 rules = 0;

	if (fd < 0)
		return 0;
	if (!shadow_ioctl(fd, SHADOW_MM_API, &api))
		rules = api.out_rules;
	close(fd);
	return rules;
}

/* A "Name:    N kB" line of /proc/self/status, in kB, or -1. */
static inline long status_kb(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, strlen(name))) {
			kb = strtol(line + strlen(name), NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Does the module follow the rules of Linux @major.@minor or later? */
static inline bool shadow_rules_since(unsigned int major, unsigned int minor)
{
	return shadow_rules() >= (major << 16 | minor << 8);
}

/* The running kernel's version from uname(2), as shadow_rules() gives it. */
static inline __u32 running_kernel_version(void)
{
	unsigned int major = 0, minor = 0;
	struct utsname u;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major << 16 | minor << 8;
}

/*
 * Do the module and the running kernel both map MAP_DROPPABLE (Linux
 * 6.11 on)? Elsewhere that map type is -EINVAL on both sides.
 */
static inline bool shadow_droppable(void)
{
	return shadow_rules_since(6, 11) &&
	       running_kernel_version() >= (6 << 16 | 11 << 8);
}

/*
 * SHADOW_MM_RECLAIM on an address-space fd, or SHADOW_DEV_RECLAIM when
 * @mfd is a device fd and @dev is true; 0 or -errno, the struct the
 * kernel wrote back in *@out when @out is not NULL.
 */
static inline int __shadow_reclaim(int fd, bool dev, unsigned int flags,
				   __u64 addr, __u64 len, __u64 nr_to_reclaim,
				   struct shadow_mm_reclaim *out)
{
	struct shadow_mm_reclaim r = {
		.size = sizeof(r), .flags = flags, .addr = addr, .len = len,
		.nr_to_reclaim = nr_to_reclaim,
	};
	int ret = shadow_ioctl(fd, dev ? SHADOW_DEV_RECLAIM :
				   SHADOW_MM_RECLAIM, &r);

	if (out)
		*out = r;
	return ret;
}

static inline int _shadow_reclaim(int mfd, unsigned int flags, __u64 addr,
				  __u64 len, struct shadow_mm_reclaim *out)
{
	return __shadow_reclaim(mfd, false, flags, addr, len, 0, out);
}

static inline int _shadow_dev_reclaim(int devfd, unsigned int flags,
				      __u64 nr_to_reclaim,
				      struct shadow_mm_reclaim *out)
{
	return __shadow_reclaim(devfd, true, flags, 0, 0, nr_to_reclaim, out);
}

/*
 * SHADOW_MM_BATCH: 0 or -errno of the call; the operations executed in
 * *@done when @done is not NULL.
 */
static inline int _shadow_batch(int mfd, unsigned int flags,
				struct shadow_mm_batch_op *ops, __u32 nr,
				__u32 *done)
{
	struct shadow_mm_batch b = {
		.size = sizeof(b), .flags = flags, .nr_ops = nr,
		.ops = (uintptr_t)ops,
	};
	int ret = shadow_ioctl(mfd, SHADOW_MM_BATCH, &b);

	if (done)
		*done = b.out_done;
	return ret;
}

/* Batch operations, for array initializers. */
#define BATCH_MMAP(a, l, p, f) \
	{ .op = SHADOW_BATCH_MMAP, .addr = (a), .len = (l), .prot = (p), \
	  .map_flags = (f) }
#define BATCH_MUNMAP(a, l) \
	{ .op = SHADOW_BATCH_MUNMAP, .addr = (a), .len = (l) }
#define BATCH_MPROTECT(a, l, p) \
	{ .op = SHADOW_BATCH_MPROTECT, .addr = (a), .len = (l), .prot = (p) }
#define BATCH_MADVISE(a, l, adv) \
	{ .op = SHADOW_BATCH_MADVISE, .addr = (a), .len = (l), .advice = (adv) }
#define BATCH_FAULT(a, l, fl) \
	{ .op = SHADOW_BATCH_FAULT, .flags = (fl), .addr = (a), .len = (l) }
#define BATCH_READ(a, l, b) \
	{ .op = SHADOW_BATCH_READ, .addr = (a), .len = (l), .buf = (uintptr_t)(b) }
#define BATCH_WRITE(a, l, b) \
	{ .op = SHADOW_BATCH_WRITE, .addr = (a), .len = (l), \
	  .buf = (uintptr_t)(b) }

/* The value of the line "@name value" of a debugfs file, or -1. */
static inline long shadow_debugfs_value(const char *path, const char *name)
{
	char key[32];
	long val, ret = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%31s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

/*
 * The "Name:" field, in kB, of the entry of smaps text file @path (a
 * process's /proc/<pid>/smaps, or a space's debugfs smaps) for the VMA
 * that starts at @start; -1 if there is none.
 */
static inline long smaps_entry_kb(const char *path, unsigned long start,
				  const char *name)
{
	size_t len = strlen(name);
	char line[256];
	bool in = false;
	long val = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3) {
			if (in)
				break;
			in = s == start;
			continue;
		}
		if (in && !strncmp(line, name, len) && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* A module-wide counter from debugfs ("mms", "vmas", ...), or -1. */
static inline long shadow_counter(const char *name)
{
	return shadow_debugfs_value(SHADOW_COUNTERS, name);
}

/* A line "name value" of debugfs's shadow_mm/odf, or -1. */
static inline long shadow_odf_counter(const char *name)
{
	return shadow_debugfs_value("/sys/kernel/debug/shadow_mm/odf", name);
}

/* Is the module loaded with odf_always=1 (make check ODF=1)? */
static inline bool shadow_odf_always(void)
{
	FILE *f = fopen("/sys/module/shadow_mm/parameters/odf_always", "r");
	int c = EOF;

	if (f) {
		c = fgetc(f);
		fclose(f);
	}
	return c == 'Y';
}

/*
 * The VMA layouts of both kernels: this process's /proc/self/smaps and a
 * shadow address space's maps text and VMA records, read the same way for
 * every test that compares them. The readers allocate nothing, so that a
 * process's own counters (VmData...) move only with the calls under test.
 */

/*
 * The VmFlags mnemonics of /proc/<pid>/smaps (show_smap_vma_flags()),
 * with the shadow flag of each; the flags the shadow engine never sets
 * carry their Linux values. Other bits show as "??".
 */
static const struct {
	char name[3];
	__u64 flag;
} shadow_vm_flag_names[] = {
	{ "rd", SHADOW_VM_READ }, { "wr", SHADOW_VM_WRITE },
	{ "ex", SHADOW_VM_EXEC }, { "sh", SHADOW_VM_SHARED },
	{ "mr", SHADOW_VM_MAYREAD }, { "mw", SHADOW_VM_MAYWRITE },
	{ "me", SHADOW_VM_MAYEXEC }, { "ms", SHADOW_VM_MAYSHARE },
	{ "gd", SHADOW_VM_GROWSDOWN }, { "pf", 0x00000400ULL /* PFNMAP */ },
	{ "lo", SHADOW_VM_LOCKED }, { "io", 0x00004000ULL /* IO */ },
	{ "sr", SHADOW_VM_SEQ_READ }, { "rr", SHADOW_VM_RAND_READ },
	{ "dc", SHADOW_VM_DONTCOPY }, { "de", SHADOW_VM_DONTEXPAND },
	{ "ac", SHADOW_VM_ACCOUNT }, { "nr", SHADOW_VM_NORESERVE },
	{ "ht", 0x00400000ULL /* HUGETLB */ },
	{ "sf", 0x00800000ULL /* SYNC */ },
	{ "ar", 0x01000000ULL /* ARCH_1 */ },
	{ "wf", SHADOW_VM_WIPEONFORK }, { "dd", SHADOW_VM_DONTDUMP },
	{ "sd", SHADOW_VM_SOFTDIRTY },
	{ "mm", 0x10000000ULL /* MIXEDMAP */ },
	{ "hg", 0x20000000ULL /* HUGEPAGE */ },
	{ "nh", 0x40000000ULL /* NOHUGEPAGE */ },
	{ "mg", 0x80000000ULL /* MERGEABLE */ },
	{ "um", 0x00000200ULL /* UFFD_MISSING */ },
	{ "uw", 0x00001000ULL /* UFFD_WP */ },
	/* 6.12's alone: 6.1 shows VM_LOCKONFAULT as "??". */
	{ "lf", SHADOW_VM_LOCKONFAULT },
	/* 6.11 on: MAP_DROPPABLE. */
	{ "dp", SHADOW_VM_DROPPABLE },
};

/*
 * The flags the running kernel's smaps names: the whole table but for
 * "lf" before 6.12 (the module follows the running kernel's rules).
 */
static inline __u64 shadow_vm_flags_named(void)
{
	static __u64 mask;
	unsigned int i;

	if (mask)
		return mask;
	for (i = 0; i < sizeof(shadow_vm_flag_names) /
			sizeof(shadow_vm_flag_names[0]); i++)
		mask |= shadow_vm_flag_names[i].flag;
	if (!shadow_rules_since(6, 12))
		mask &= ~SHADOW_VM_LOCKONFAULT;
	if (!shadow_droppable())
		mask &= ~SHADOW_VM_DROPPABLE;
	return mask;
}

/*
 * The flags of a VmFlags line, @s past "VmFlags:" and cut at its end;
 * the mnemonics the table lacks ("??") counted in *@unknown.
 */
static inline __u64 shadow_parse_vm_flags(char *s, int *unknown)
{
	char *tok, *save = NULL;
	__u64 flags = 0;
	unsigned int i, n = sizeof(shadow_vm_flag_names) /
			    sizeof(shadow_vm_flag_names[0]);

	*unknown = 0;
	for (tok = strtok_r(s, "\n ", &save); tok;
	     tok = strtok_r(NULL, "\n ", &save)) {
		for (i = 0; i < n; i++)
			if (!strcmp(tok, shadow_vm_flag_names[i].name))
				break;
		if (i < n && (shadow_vm_flag_names[i].flag &
			      shadow_vm_flags_named()))
			flags |= shadow_vm_flag_names[i].flag;
		else
			(*unknown)++;
	}
	return flags;
}

/* Read a whole file into @buf, NUL-terminated; its length, or -1. */
static inline long shadow_slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long len = 0, n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	return n < 0 ? -1 : len;
}

#define SHADOW_MAX_REGIONS	64

/* One VMA, as either kernel shows it. */
struct shadow_region {
	unsigned long start, end;
	char perms[5];
	__u64 flags;		/* the VM_* flags smaps names */
	int unknown;		/* the flags it shows as "??" */
};

/*
 * The VMAs of this process inside [@lo, @hi), at most SHADOW_MAX_REGIONS,
 * from /proc/self/smaps; their number, or -1.
 */
static inline int shadow_real_regions(unsigned long lo, unsigned long hi,
				      struct shadow_region *r)
{
	static char buf[1 << 19];
	char *line, *save = NULL, perms[8];
	unsigned long s, e;
	int n = 0, cur = -1;

	if (shadow_slurp("/proc/self/smaps", buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "VmFlags:", 8)) {
			struct shadow_region *c = cur >= 0 ? &r[cur] : NULL;

			if (c)
				c->flags = shadow_parse_vm_flags(line + 8,
								 &c->unknown);
			cur = -1;
			continue;
		}
		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3 ||
		    strlen(perms) != 4)
			continue;
		if (s < lo || e > hi || n == SHADOW_MAX_REGIONS)
			continue;
		memset(&r[n], 0, sizeof(r[n]));
		r[n].start = s;
		r[n].end = e;
		memcpy(r[n].perms, perms, 5);
		cur = n++;
	}
	return n;
}

/*
 * The VMAs of the shadow address space @mfd inside [@lo, @hi), at most
 * SHADOW_MAX_REGIONS: the permissions from SHADOW_MM_GET_MAPS, the flags
 * from SHADOW_MM_GET_VMAS, which must describe the same VMAs; their
 * number, or -1.
 */
static inline int shadow_regions(int mfd, unsigned long lo, unsigned long hi,
				 struct shadow_region *r)
{
	static char buf[1 << 18];
	static struct shadow_vma_info v[SHADOW_MAX_REGIONS];
	struct shadow_mm_get_maps g = {
		.size = sizeof(g), .buf = (uintptr_t)buf,
		.buf_len = sizeof(buf) - 1,
	};
	char *line, *save = NULL, perms[8];
	unsigned long s, e;
	__u32 nr, i = 0;
	int n = 0;

	if (shadow_ioctl(mfd, SHADOW_MM_GET_MAPS, &g))
		return -1;
	buf[g.out_len] = 0;
	if (_shadow_get_vmas(mfd, lo, hi, v, SHADOW_MAX_REGIONS, &nr) ||
	    nr > SHADOW_MAX_REGIONS)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		__u64 f;

		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3)
			continue;
		if (s < lo || e > hi || n == SHADOW_MAX_REGIONS)
			continue;
		/* GET_VMAS also gives the VMAs that only overlap. */
		while (i < nr && (v[i].start < lo || v[i].end > hi))
			i++;
		if (i == nr || v[i].start != s || v[i].end != e)
			return -1;
		f = v[i++].vm_flags;
		memset(&r[n], 0, sizeof(r[n]));
		r[n].start = s;
		r[n].end = e;
		memcpy(r[n].perms, perms, 4);
		r[n].flags = f & shadow_vm_flags_named();
		for (f &= ~shadow_vm_flags_named(); f; f &= f - 1)
			r[n].unknown++;
		n++;
	}
	while (i < nr && (v[i].start < lo || v[i].end > hi))
		i++;
	return i == nr ? n : -1;
}

/*
 * The running kernel's transparent huge pages: its sysfs mode (the
 * bracketed word of .../enabled) saved, set and restored by tests that
 * compare THP behaviour (root only; absent without CONFIG_TRANSPARENT_
 * HUGEPAGE, as in the debug kernels), and /proc/kpageflags of a page of
 * this process.
 */
#define THP_SYSFS		"/sys/kernel/mm/transparent_hugepage"
#define THP_SYSFS_ENABLED	THP_SYSFS "/enabled"

/* The bracketed word of a THP sysfs file into @word; -1 if unreadable. */
static inline int thp_sysfs_word(const char *path, char *word, size_t size)
{
	char buf[256], *l, *r;

	if (shadow_slurp(path, buf, sizeof(buf)) < 0)
		return -1;
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (!r || (size_t)(r - l) > size)
		return -1;
	*r = 0;
	snprintf(word, size, "%s", l + 1);
	return 0;
}

/* Does the running kernel have THP (its sysfs directory)? */
static inline bool thp_sysfs_present(void)
{
	return access(THP_SYSFS_ENABLED, R_OK) == 0;
}

/* Save the mode of enabled into @saved (16 bytes); -1 without THP. */
static inline int thp_sysfs_save(char *saved, size_t size)
{
	return thp_sysfs_word(THP_SYSFS_ENABLED, saved, size);
}

/* Write @mode ("always", "madvise", "never") to enabled; -errno. */
static inline int thp_sysfs_set(const char *mode)
{
	int fd = open(THP_SYSFS_ENABLED, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, mode, strlen(mode)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Put the mode thp_sysfs_save() saved back, if it saved one. */
static inline void thp_sysfs_restore(const char *saved)
{
	if (saved[0])
		thp_sysfs_set(saved);
}

/* Write @val to the sysfs (or procfs) file @path; true on success. */
static inline bool sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), n;

	if (fd < 0)
		return false;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (int)strlen(val);
}

/* The /proc/vmstat counter @name, or -1. */
static inline long vmstat_value(const char *name)
{
	char key[64];
	long val, ret = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

/* /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h) */
#define KPF_COMPOUND_HEAD	15
#define KPF_COMPOUND_TAIL	16
#define KPF_ANON		12
#define KPF_HUGE		17
#define KPF_THP			22
#define KPF_ZERO_PAGE		24

/* What kpageflags_of() gives for a page it cannot read. */
#define KPF_UNKNOWN		(~0ULL)

/*
 * The /proc/kpageflags word of the page mapped at @addr in this process,
 * through its pagemap PFN (root only: PFNs read 0 otherwise); KPF_UNKNOWN
 * when nothing is mapped there or the files cannot be read.
 */
static inline __u64 kpageflags_of(unsigned long addr)
{
	__u64 e = pagemap_entry(addr), flags;
	int fd;

	if (!(e & PM_PRESENT) || !(e & PM_PFN))
		return KPF_UNKNOWN;
	fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return KPF_UNKNOWN;
	if (pread(fd, &flags, sizeof(flags), (e & PM_PFN) * sizeof(flags)) !=
	    sizeof(flags))
		flags = KPF_UNKNOWN;
	close(fd);
	return flags;
}

#endif /* _SHADOW_MM_LIB_H */
