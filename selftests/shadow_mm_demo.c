// SPDX-License-Identifier: GPL-2.0
/*
 * The demo `make run` shows: create a shadow address space, map, punch a
 * hole, map over part of a mapping, let neighbours merge, and print the maps
 * and counters after each step. Exits non-zero if any step fails.
 */
#include "shadow_mm_lib.h"

#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)

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

int main(void)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	__u64 a, b;
	__u32 id = 0;
	int dev, mfd;
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
