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

#define CHECK(call)							\
	do {								\
		long __ret = (call);					\
		if (__ret < 0) {					\
			printf("demo: %s failed: %s\n", #call,		\
			       strerror((int)-__ret));			\
			return 1;					\
		}							\
	} while (0)

int main(void)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	__u64 a, b;
	__u32 id;
	int dev, mfd;

	dev = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	CHECK(dev < 0 ? -errno : 0);
	CHECK(shadow_ioctl(dev, SHADOW_MM_API, &api));
	printf("shadow_mm ABI %u, features %#llx, ioctls %#llx\n",
	       api.out_abi_version, (unsigned long long)api.out_features,
	       (unsigned long long)api.out_ioctls);

	mfd = _shadow_create(dev, 0, &id);
	CHECK(mfd);
	printf("created shadow address space id %u\n", id);

	CHECK(_shadow_mmap(mfd, 0, 16 * PAGE, RW, PRIV, &a));
	show(mfd, "mmap 16 pages rw-p, no hint: top-down below mmap_base");

	CHECK(_shadow_munmap(mfd, a + 4 * PAGE, 4 * PAGE));
	show(mfd, "munmap pages 4-7: split_vma, a hole");

	CHECK(_shadow_mmap(mfd, a + 10 * PAGE, 2 * PAGE, PROT_READ,
			   PRIV | MAP_FIXED, NULL));
	show(mfd, "MAP_FIXED r--p over pages 10-11: three VMAs");

	CHECK(_shadow_mmap(mfd, a + 4 * PAGE, 4 * PAGE, RW, PRIV | MAP_FIXED,
			   NULL));
	show(mfd, "map rw-p into the hole: merges with both neighbours");

	CHECK(_shadow_mmap(mfd, 0, 8 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS,
			   &b));
	show(mfd, "mmap 8 shared pages: a /dev/zero-like backing, no merge");

	CHECK(_shadow_exit(mfd));
	printf("\n--- step %d: exit: mmput -> exit_mmap\n", ++step);
	printf("    stats after exit: %s (ESRCH expected)\n",
	       strerror(-_shadow_get_stats(mfd, &(struct shadow_mm_stats){})));
	close(mfd);
	close(dev);
	printf("    module counters: mms=%ld vmas=%ld\n", shadow_counter("mms"),
	       shadow_counter("vmas"));
	return shadow_counter("vmas") == 0 ? 0 : 1;
}
