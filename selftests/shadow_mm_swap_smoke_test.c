// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke checks of reclaim and the shadow swap device: contents survive
 * swap-out and swap-in, in one address space, across fork and for shared
 * anonymous memory; slots and store pages go back to zero. The thorough
 * tests are in shadow_mm_swap_test.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define NPAGES	8

static int reclaim(int fd, unsigned long cmd, __u64 addr, __u64 len,
		   __u32 flags, __u64 nr, struct shadow_mm_reclaim *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->size = sizeof(*rc);
	rc->flags = flags;
	rc->addr = addr;
	rc->len = len;
	rc->nr_to_reclaim = nr;
	return shadow_ioctl(fd, cmd, rc);
}

static void fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < len; i++)
		buf[i] = rand();
}

FIXTURE(swap) {
	int dev, mfd;
	struct shadow_counts base;
	long slots, store;
};

FIXTURE_SETUP(swap)
{
	self->base = shadow_counts();
	self->slots = shadow_counter("swap_slots");
	self->store = shadow_counter("swap_pages");
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	self->mfd = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(swap)
{
	close(self->mfd);
	close(self->dev);
	shadow_expect_counts(_metadata, self->base);
	EXPECT_EQ(self->slots, shadow_counter("swap_slots"));
	EXPECT_EQ(self->store, shadow_counter("swap_pages"));
}

TEST_F(swap, private_roundtrip)
{
	static unsigned char in[NPAGES * PAGE], out[NPAGES * PAGE];
	struct shadow_page_info pi[NPAGES];
	struct shadow_mm_reclaim rc;
	struct shadow_mm_stats st;
	__u64 addr;
	int i;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, sizeof(in),
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, &addr));
	fill(in, sizeof(in), 1);
	ASSERT_EQ(sizeof(in), _shadow_access(self->mfd, addr, in, sizeof(in),
					     SHADOW_ACCESS_WRITE));

	/* Young first: skipped and aged. */
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, addr, sizeof(in),
			     0, 0, &rc));
	EXPECT_EQ(NPAGES, rc.out_scanned);
	EXPECT_EQ(NPAGES, rc.out_referenced);
	EXPECT_EQ(0, rc.out_reclaimed);
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, 0, 0, 0, &rc));
	EXPECT_EQ(NPAGES, rc.out_scanned);
	EXPECT_EQ(0, rc.out_referenced);
	EXPECT_EQ(NPAGES, rc.out_unmapped);
	EXPECT_EQ(NPAGES, rc.out_swapped_out);
	EXPECT_EQ(NPAGES, rc.out_written);
	EXPECT_EQ(NPAGES, rc.out_reclaimed);
	EXPECT_EQ(self->slots + NPAGES, shadow_counter("swap_slots"));

	ASSERT_EQ(0, _shadow_walk(self->mfd, addr, NPAGES, pi));
	for (i = 0; i < NPAGES; i++) {
		EXPECT_EQ(SHADOW_PAGE_SWAP | SHADOW_PAGE_ANON_EXCLUSIVE,
			  pi[i].flags);
		EXPECT_EQ(1, pi[i].mapcount);
	}
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(NPAGES, st.out_swapents);
	EXPECT_EQ(NPAGES, st.out_swapouts);
	EXPECT_EQ(0, st.out_rss_anon);

	ASSERT_EQ(sizeof(out), _shadow_access(self->mfd, addr, out,
					      sizeof(out), 0));
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_swapents);
	EXPECT_EQ(NPAGES, st.out_swapins);
	EXPECT_EQ(NPAGES, st.out_maj_flt);
	EXPECT_EQ(NPAGES, st.out_rss_anon);
	ASSERT_EQ(0, _shadow_walk(self->mfd, addr, NPAGES, pi));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(SHADOW_PAGE_PRESENT | SHADOW_PAGE_YOUNG |
			  SHADOW_PAGE_ANON_EXCLUSIVE | SHADOW_PAGE_SWAPCACHE,
			  pi[i].flags);

	/* Clean in the swap cache: the second swap-out writes nothing. */
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, 0, 0, 0, &rc));
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, 0, 0, 0, &rc));
	EXPECT_EQ(NPAGES, rc.out_reclaimed);
	EXPECT_EQ(0, rc.out_written);
	memset(out, 0, sizeof(out));
	ASSERT_EQ(sizeof(out), _shadow_access(self->mfd, addr, out,
					      sizeof(out), 0));
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));

	/* Written: out again with a write. */
	in[5] ^= 0xff;
	ASSERT_EQ(1, _shadow_access(self->mfd, addr + 5, in + 5, 1,
				    SHADOW_ACCESS_WRITE));
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, 0, 0, 0, &rc));
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, 0, 0, 0, &rc));
	EXPECT_EQ(NPAGES, rc.out_reclaimed);
	EXPECT_EQ(1, rc.out_written);
	ASSERT_EQ(sizeof(out), _shadow_access(self->mfd, addr, out,
					      sizeof(out), 0));
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
	ASSERT_EQ(0, _shadow_munmap(self->mfd, addr, sizeof(in)));
	EXPECT_EQ(self->slots, shadow_counter("swap_slots"));
}

TEST_F(swap, fork_cow)
{
	struct shadow_page_info p, c;
	struct shadow_mm_reclaim rc;
	__u64 addr;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, &addr));
	shadow_put(_metadata, self->mfd, addr, "parent");
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, 0, 0, 0, &rc));
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, 0, 0, 0, &rc));
	EXPECT_EQ(1, rc.out_reclaimed);
	EXPECT_EQ(2, rc.out_unmapped);
	p = shadow_page(_metadata, self->mfd, addr);
	c = shadow_page(_metadata, child, addr);
	EXPECT_EQ(SHADOW_PAGE_SWAP, p.flags);
	EXPECT_EQ(2, p.mapcount);
	EXPECT_EQ(p.page_id, c.page_id);

	shadow_expect(_metadata, child, addr, "parent");
	c = shadow_page(_metadata, child, addr);
	p = shadow_page(_metadata, self->mfd, addr);
	EXPECT_EQ(SHADOW_PAGE_SWAP, p.flags);
	EXPECT_EQ(1, p.mapcount);
	EXPECT_TRUE(c.flags & SHADOW_PAGE_SWAPCACHE);
	shadow_expect(_metadata, self->mfd, addr, "parent");
	p = shadow_page(_metadata, self->mfd, addr);
	EXPECT_EQ(c.page_id, p.page_id);
	EXPECT_EQ(2, p.mapcount);
	EXPECT_FALSE(p.flags & SHADOW_PAGE_WRITE);
	shadow_put(_metadata, self->mfd, addr, "PARENT");
	shadow_expect(_metadata, child, addr, "parent");
	shadow_expect(_metadata, self->mfd, addr, "PARENT");
	close(child);
}

TEST_F(swap, fork_exit_orders)
{
	struct shadow_mm_reclaim rc;
	__u64 addr;
	int child, i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, 4 * PAGE,
					  PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, &addr));
		shadow_put(_metadata, self->mfd, addr, "a");
		shadow_put(_metadata, self->mfd, addr + 2 * PAGE, "b");
		child = _shadow_fork(self->mfd, 0, NULL);
		ASSERT_LE(0, child);
		ASSERT_EQ(0, reclaim(self->dev, SHADOW_DEV_RECLAIM, 0, 0,
				     SHADOW_RECLAIM_AGE, 0, &rc));
		ASSERT_EQ(0, reclaim(self->dev, SHADOW_DEV_RECLAIM, 0, 0, 0,
				     1, &rc));
		EXPECT_EQ(1, rc.out_reclaimed);
		if (i == 0) {
			close(child);
			ASSERT_EQ(0, _shadow_munmap(self->mfd, addr, 4 * PAGE));
		} else if (i == 1) {
			ASSERT_EQ(0, _shadow_munmap(self->mfd, addr, 4 * PAGE));
			shadow_expect(_metadata, child, addr + 2 * PAGE, "b");
			shadow_expect(_metadata, child, addr, "a");
			close(child);
		} else {
			ASSERT_EQ(0, _shadow_exit(child));
			close(child);
			shadow_expect(_metadata, self->mfd, addr, "a");
			ASSERT_EQ(0, _shadow_munmap(self->mfd, addr, 4 * PAGE));
		}
		EXPECT_EQ(self->slots, shadow_counter("swap_slots"));
	}
}

TEST_F(swap, shared_anon)
{
	struct shadow_mm_reclaim rc;
	struct shadow_mm_stats st;
	__u64 addr;
	int child;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, 2 * PAGE,
				  PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, &addr));
	shadow_put(_metadata, self->mfd, addr, "shared");
	child = _shadow_fork(self->mfd, 0, NULL);
	ASSERT_LE(0, child);
	shadow_expect(_metadata, child, addr, "shared");
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, addr, 2 * PAGE,
			     SHADOW_RECLAIM_AGE, 0, &rc));
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, addr, 2 * PAGE,
			     0, 0, &rc));
	EXPECT_EQ(1, rc.out_shmem);
	EXPECT_EQ(2, rc.out_unmapped);
	EXPECT_EQ(0, shadow_page(_metadata, child, addr).flags);
	EXPECT_EQ(self->slots + 1, shadow_counter("swap_slots"));
	shadow_expect(_metadata, child, addr, "shared");
	EXPECT_EQ(1, shadow_stats(_metadata, child).out_maj_flt);
	shadow_expect(_metadata, self->mfd, addr, "shared");
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_maj_flt);
	EXPECT_EQ(self->slots, shadow_counter("swap_slots"));
	/* Out again and freed with the object. */
	ASSERT_EQ(0, reclaim(self->dev, SHADOW_DEV_RECLAIM, 0, 0,
			     SHADOW_RECLAIM_AGE, 0, &rc));
	ASSERT_EQ(0, reclaim(self->dev, SHADOW_DEV_RECLAIM, 0, 0, 0, 0, &rc));
	EXPECT_EQ(1, rc.out_shmem);
	close(child);
}

/* The text of a debugfs file of @mfd's address space. */
static char *mm_file(int mfd, const char *name)
{
	struct shadow_mm_stats st;
	static char buf[65536];
	char path[128];
	ssize_t n;
	int fd;

	if (_shadow_get_stats(mfd, &st))
		return NULL;
	snprintf(path, sizeof(path), "/sys/kernel/debug/shadow_mm/mm%u/%s",
		 st.out_id, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

TEST_F(swap, willneed_smaps_ptdump)
{
	struct shadow_mm_reclaim rc;
	struct shadow_mm_stats st;
	char *text;
	__u64 addr;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, 4 * PAGE,
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, &addr));
	shadow_put(_metadata, self->mfd, addr, "one");
	shadow_put(_metadata, self->mfd, addr + PAGE, "two");
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, 0,
			     SHADOW_RECLAIM_AGE, 0, &rc));
	EXPECT_EQ(2, rc.out_referenced);
	ASSERT_EQ(0, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, 0, 0, 0, &rc));
	EXPECT_EQ(2, rc.out_reclaimed);

	text = mm_file(self->mfd, "smaps");
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, "\nSwap:                  8 kB\n"));
	EXPECT_NE(NULL, strstr(text, "\nSwapPss:               8 kB\n"));
	text = mm_file(self->mfd, "pagetables");
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, "8K swap excl"));

	/* Read ahead: the faults find the pages in the swap cache. */
	EXPECT_EQ(0, _shadow_madvise(self->mfd, addr, 4 * PAGE,
				     MADV_WILLNEED));
	EXPECT_EQ(SHADOW_PAGE_SWAP | SHADOW_PAGE_ANON_EXCLUSIVE,
		  shadow_page(_metadata, self->mfd, addr).flags);
	shadow_expect(_metadata, self->mfd, addr, "one");
	shadow_expect(_metadata, self->mfd, addr + PAGE, "two");
	st = shadow_stats(_metadata, self->mfd);
	EXPECT_EQ(0, st.out_maj_flt);
	EXPECT_EQ(0, st.out_swapins);
	EXPECT_EQ(0, st.out_swapents);
}

struct reclaimer {
	int dev;
	int stop;
	unsigned long rounds, reclaimed;
};

static void *reclaim_loop(void *arg)
{
	struct reclaimer *r = arg;
	struct shadow_mm_reclaim rc;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (reclaim(r->dev, SHADOW_DEV_RECLAIM, 0, 0, 0, 0, &rc))
			break;
		r->rounds++;
		r->reclaimed += rc.out_reclaimed;
	}
	return NULL;
}

#define RACE_PAGES	32

/*
 * Reclaim of every address space runs all the time while one thread
 * writes, reads, forks, zaps and remaps: every read sees what the model
 * says, private and shared.
 */
TEST_F(swap, race_with_reclaim)
{
	static unsigned int model[RACE_PAGES], smodel[RACE_PAGES];
	struct reclaimer r = { .dev = self->dev };
	__u64 priv, shared;
	time_t end = time(NULL) + 3;
	unsigned int seq = 0, v;
	pthread_t t;
	int i;

	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, RACE_PAGES * PAGE,
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, &priv));
	ASSERT_EQ(0, _shadow_mmap(self->mfd, 0, RACE_PAGES * PAGE,
				  PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, &shared));
	ASSERT_EQ(0, pthread_create(&t, NULL, reclaim_loop, &r));
	srand(7);
	while (time(NULL) < end) {
		int op = rand() % 8, child;

		i = rand() % RACE_PAGES;
		switch (op) {
		case 0: case 1:
			v = ++seq;
			ASSERT_EQ(4, _shadow_access(self->mfd, priv + i * PAGE,
						    &v, 4, SHADOW_ACCESS_WRITE));
			model[i] = v;
			break;
		case 2:
			v = ++seq;
			ASSERT_EQ(4, _shadow_access(self->mfd,
						    shared + i * PAGE, &v, 4,
						    SHADOW_ACCESS_WRITE));
			smodel[i] = v;
			break;
		case 3:
			ASSERT_EQ(0, _shadow_madvise(self->mfd,
						     priv + i * PAGE, PAGE,
						     MADV_DONTNEED));
			model[i] = 0;
			break;
		case 4:
			child = _shadow_fork(self->mfd, 0, NULL);
			ASSERT_LE(0, child);
			for (i = 0; i < RACE_PAGES; i += 5) {
				ASSERT_EQ(4, _shadow_access(child,
							    priv + i * PAGE,
							    &v, 4, 0));
				ASSERT_EQ(model[i], v);
				v = ~model[i];
				ASSERT_EQ(4, _shadow_access(child,
							    priv + i * PAGE,
							    &v, 4,
							    SHADOW_ACCESS_WRITE));
				ASSERT_EQ(4, _shadow_access(child,
							    shared + i * PAGE,
							    &v, 4, 0));
				ASSERT_EQ(smodel[i], v);
			}
			if (rand() % 2)
				ASSERT_EQ(0, _shadow_exit(child));
			close(child);
			break;
		case 5:
			ASSERT_EQ(0, _shadow_madvise(self->mfd, priv,
						     RACE_PAGES * PAGE,
						     MADV_WILLNEED));
			break;
		default:
			ASSERT_EQ(4, _shadow_access(self->mfd, priv + i * PAGE,
						    &v, 4, 0));
			ASSERT_EQ(model[i], v);
			ASSERT_EQ(4, _shadow_access(self->mfd,
						    shared + i * PAGE, &v, 4,
						    0));
			ASSERT_EQ(smodel[i], v);
			break;
		}
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	TH_LOG("%lu reclaim rounds, %lu pages reclaimed, %u writes",
	       r.rounds, r.reclaimed, seq);
	EXPECT_LT(0, r.reclaimed);
	for (i = 0; i < RACE_PAGES; i++) {
		ASSERT_EQ(4, _shadow_access(self->mfd, priv + i * PAGE, &v, 4,
					    0));
		EXPECT_EQ(model[i], v);
	}
}

TEST_F(swap, bad_input)
{
	struct shadow_mm_reclaim rc;

	EXPECT_EQ(-EINVAL, reclaim(self->mfd, SHADOW_MM_RECLAIM, 1, PAGE, 0,
				   0, &rc));
	EXPECT_EQ(-EINVAL, reclaim(self->mfd, SHADOW_MM_RECLAIM, 2 * PAGE,
				   -PAGE, 0, 0, &rc));
	EXPECT_EQ(-EINVAL, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, -1, 0,
				   0, &rc));
	EXPECT_EQ(-EINVAL, reclaim(self->mfd, SHADOW_MM_RECLAIM, 0, 0, 2, 0,
				   &rc));
	EXPECT_EQ(-EINVAL, reclaim(self->dev, SHADOW_DEV_RECLAIM, PAGE, 0, 0,
				   0, &rc));
	EXPECT_EQ(-EINVAL, reclaim(self->dev, SHADOW_DEV_RECLAIM, 0, PAGE, 0,
				   0, &rc));
	EXPECT_EQ(-ENOTTY, reclaim(self->dev, SHADOW_MM_RECLAIM, 0, 0, 0, 0,
				   &rc));
	EXPECT_EQ(-ENOTTY, reclaim(self->mfd, SHADOW_DEV_RECLAIM, 0, 0, 0, 0,
				   &rc));
}

TEST_HARNESS_MAIN
