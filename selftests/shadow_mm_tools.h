/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What shadow_mm_cli and shadow_mm_trace share: the names of mmap's,
 * mremap's and mlockall's flags and of madvise's advice, as the CLI reads
 * them and the recorder writes them into its logs (one table each, so that
 * a log always reads back), and how a process's layout is told.
 */
#ifndef _SHADOW_MM_TOOLS_H
#define _SHADOW_MM_TOOLS_H

#include <sys/personality.h>

#include "shadow_mm_lib.h"

struct name_val {
	const char *name;
	__u64 val;
};

static const struct name_val map_flag_names[] = {
	{ "private", MAP_PRIVATE },
	{ "shared", MAP_SHARED },
	{ "shared_validate", MAP_SHARED_VALIDATE },
	{ "anonymous", MAP_ANONYMOUS },
	{ "fixed", MAP_FIXED },
	{ "fixed_noreplace", MAP_FIXED_NOREPLACE },
	{ "noreserve", MAP_NORESERVE },
	{ "growsdown", MAP_GROWSDOWN },
	{ "populate", MAP_POPULATE },
	{ "locked", MAP_LOCKED },
	{ "stack", MAP_STACK },
	{ "hugetlb", MAP_HUGETLB },
	{ "32bit", MAP_32BIT },
	{ "sync", MAP_SYNC },
	{ }
};

static const struct name_val advice_names[] = {
	{ "normal", MADV_NORMAL },
	{ "random", MADV_RANDOM },
	{ "sequential", MADV_SEQUENTIAL },
	{ "willneed", MADV_WILLNEED },
	{ "dontneed", MADV_DONTNEED },
	{ "free", MADV_FREE },
	{ "remove", MADV_REMOVE },
	{ "dontfork", MADV_DONTFORK },
	{ "dofork", MADV_DOFORK },
	{ "dontdump", MADV_DONTDUMP },
	{ "dodump", MADV_DODUMP },
	{ "wipeonfork", MADV_WIPEONFORK },
	{ "keeponfork", MADV_KEEPONFORK },
	{ "populate_read", MADV_POPULATE_READ },
	{ "populate_write", MADV_POPULATE_WRITE },
	{ }
};

static const struct name_val mremap_flag_names[] = {
	{ "maymove", MREMAP_MAYMOVE },
	{ "fixed", MREMAP_FIXED },
	{ "dontunmap", MREMAP_DONTUNMAP },
	{ }
};

static const struct name_val mcl_names[] = {
	{ "current", MCL_CURRENT },
	{ "future", MCL_FUTURE },
	{ "onfault", MCL_ONFAULT },
	{ }
};

/* The first number in @path, read in @base, or 0 when it cannot be read. */
static inline unsigned long read_ulong_file(const char *path, int base)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "r");
	char buf[32];

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		v = strtoul(buf, NULL, base);
	fclose(f);
	return v;
}

/*
 * Whether process @pid has the legacy bottom-up layout, as x86's
 * mmap_is_legacy() (arch/x86/mm/mmap.c) decided it at its exec: the
 * personality's ADDR_COMPAT_LAYOUT or vm.legacy_va_layout. Unlike the
 * generic one of mm/util.c it ignores an unlimited RLIMIT_STACK (which
 * only moves mmap_base down). The sysctl is read now, not as it was then.
 */
static inline bool proc_layout_is_legacy(const char *pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%s/personality", pid);
	if (read_ulong_file(path, 16) & ADDR_COMPAT_LAYOUT)
		return true;
	return read_ulong_file("/proc/sys/vm/legacy_va_layout", 10) != 0;
}

#endif /* _SHADOW_MM_TOOLS_H */
