// SPDX-License-Identifier: GPL-2.0
/*
 * The demo `make run` shows: create a shadow address space, map, punch a
 * hole, map over part of a mapping, let neighbours merge, fault, fork,
 * break copy-on-write in the child, reuse in the parent, and print the
 * maps, page walks and counters along the way. Exits non-zero if any step
 * fails.
 */
#include "shadow_mm_lib.h"

static int step;

static void show(int mfd, const char *what)
{
	struct shadow_mm_stats st;
	char *maps = shadow_get_maps(mfd);

	_shadow_get_stats(mfd, &st);
	printf("\n--- step %d: %s\n%s", ++step, what, maps ? maps : "(none)\n");
	printf("    map_count=%u total_vm=%llu pages mm_users=%u\n",
	       st.out_map_count, (unsigned long long)st.out_total_vm,
	       st.out_mm_users);
	free(maps);
}

/* True (and a message) when a step failed. */
static int bad(long ret, const char *what)
{
	if (ret >= 0)
		return 0;
	printf("demo: %s: %s\n", what, strerror((int)-ret));
	return 1;
}

/* One line per page of the page walk. */
static void walk(int mfd, const char *who, __u64 addr, int n)
{
	struct shadow_page_info p[8];
	int i;

	if (_shadow_walk(mfd, addr, n, p))
		return;
	for (i = 0; i < n; i++)
		printf("    %-6s %llx: %s%s%s%s%s%s id=%llu mapcount=%u\n", who,
		       (unsigned long long)addr + i * PAGE,
		       p[i].flags & SHADOW_PAGE_PRESENT ? "present" : "none",
		       p[i].flags & SHADOW_PAGE_WRITE ? " write" : "",
		       p[i].flags & SHADOW_PAGE_DIRTY ? " dirty" : "",
		       p[i].flags & SHADOW_PAGE_YOUNG ? " young" : "",
		       p[i].flags & SHADOW_PAGE_ZERO ? " zero-page" : "",
		       p[i].flags & SHADOW_PAGE_ANON_EXCLUSIVE ? " exclusive" : "",
		       (unsigned long long)p[i].page_id, p[i].mapcount);
}

static void counters(int mfd, const char *who)
{
	struct shadow_mm_stats st;

	_shadow_get_stats(mfd, &st);
	printf("    %-6s rss_anon=%llu cow_copies=%llu cow_reuses=%llu",
	       who, (unsigned long long)st.out_rss_anon,
	       (unsigned long long)st.out_cow_copies,
	       (unsigned long long)st.out_cow_reuses);
	printf(" ptes=%llu pmds=%llu puds=%llu\n",
	       (unsigned long long)st.out_nr_ptes,
	       (unsigned long long)st.out_nr_pmds,
	       (unsigned long long)st.out_nr_puds);
}

int main(void)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	__u64 a, b;
	char text[32] = "";
	__u32 id = 0;
	int dev, mfd, child;
	long ret;

	dev = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	if (bad(dev < 0 ? -errno : 0, "open"))
		return 1;
	if (bad(shadow_ioctl(dev, SHADOW_MM_API, &api), "SHADOW_MM_API"))
		return 1;
	printf("shadow_mm ABI %u, features %#llx, ioctls %#llx\n",
	       api.out_abi_version, (unsigned long long)api.out_features,
	       (unsigned long long)api.out_ioctls);

	mfd = _shadow_create(dev, 0, &id);
	if (bad(mfd, "SHADOW_MM_CREATE"))
		return 1;
	printf("created shadow address space id %u\n", id);

	ret = _shadow_mmap(mfd, 0, 16 * PAGE, RW, PRIV, &a);
	if (bad(ret, "SHADOW_MM_MMAP"))
		return 1;
	show(mfd, "mmap 16 pages rw-p, no hint: top-down below mmap_base");

	ret = _shadow_munmap(mfd, a + 4 * PAGE, 4 * PAGE);
	if (bad(ret, "SHADOW_MM_MUNMAP"))
		return 1;
	show(mfd, "munmap pages 4-7: split_vma, a hole");

	ret = _shadow_mmap(mfd, a + 10 * PAGE, 2 * PAGE, PROT_READ,
			   PRIV | MAP_FIXED, NULL);
	if (bad(ret, "SHADOW_MM_MMAP"))
		return 1;
	show(mfd, "MAP_FIXED r--p over pages 10-11: three VMAs");

	ret = _shadow_mmap(mfd, a + 4 * PAGE, 4 * PAGE, RW, PRIV | MAP_FIXED,
			   NULL);
	if (bad(ret, "SHADOW_MM_MMAP"))
		return 1;
	show(mfd, "map rw-p into the hole: merges with both neighbours");

	ret = _shadow_mmap(mfd, 0, 8 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS,
			   &b);
	if (bad(ret, "SHADOW_MM_MMAP"))
		return 1;
	show(mfd, "mmap 8 shared pages: a /dev/zero-like backing, no merge");

	ret = _shadow_access(mfd, a, "written by the parent", 22,
			     SHADOW_ACCESS_WRITE);
	if (bad(ret, "SHADOW_MM_ACCESS"))
		return 1;
	ret = _shadow_fault(mfd, a + PAGE, PAGE, 0, NULL);
	if (bad(ret, "SHADOW_MM_FAULT"))
		return 1;
	printf("\n--- step %d: write page 0, read page 1 (the zero page)\n",
	       ++step);
	walk(mfd, "parent", a, 3);

	child = _shadow_fork(mfd, 0, &id);
	if (bad(child, "SHADOW_MM_FORK"))
		return 1;
	show(child, "fork: the child's maps are the parent's");
	printf("    after fork, page 0 is shared and write-protected in both:\n");
	walk(mfd, "parent", a, 3);
	walk(child, "child", a, 3);

	ret = _shadow_access(child, a, "written by the child", 21,
			     SHADOW_ACCESS_WRITE);
	if (bad(ret, "SHADOW_MM_ACCESS"))
		return 1;
	printf("\n--- step %d: the child writes page 0: do_wp_page copies it\n",
	       ++step);
	walk(mfd, "parent", a, 1);
	walk(child, "child", a, 1);
	ret = _shadow_access(mfd, a, "parent again", 13, SHADOW_ACCESS_WRITE);
	if (bad(ret, "SHADOW_MM_ACCESS"))
		return 1;
	printf("\n--- step %d: the parent writes: its page is its alone, reused\n",
	       ++step);
	walk(mfd, "parent", a, 1);
	_shadow_access(mfd, a, text, sizeof(text), 0);
	printf("    parent reads \"%s\"\n", text);
	_shadow_access(child, a, text, sizeof(text), 0);
	printf("    child reads  \"%s\"\n", text);
	counters(mfd, "parent");
	counters(child, "child");
	close(child);

	if (bad(_shadow_exit(mfd), "SHADOW_MM_EXIT"))
		return 1;
	printf("\n--- step %d: exit: mmput -> exit_mmap\n", ++step);
	printf("    stats after exit: %s (ESRCH expected)\n",
	       strerror(-_shadow_get_stats(mfd, &(struct shadow_mm_stats){})));
	close(mfd);
	close(dev);
	printf("    module counters: mms=%ld vmas=%ld\n", shadow_counter("mms"),
	       shadow_counter("vmas"));
	return shadow_counter("vmas") == 0 ? 0 : 1;
}
