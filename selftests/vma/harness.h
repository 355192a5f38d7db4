/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMA harness's control of its stubs (stubs.c): counters of live
 * objects, allocation-failure injection, the record of the calls the layout
 * code makes out, and an address space set up as module/mm.c does.
 */
#ifndef _SHADOW_VMA_HARNESS_H
#define _SHADOW_VMA_HARNESS_H

#include "vma_internal.h"

/* module/internal.h's SHADOW_TASK_SIZE, and the defaults of module/main.c */
#define HARNESS_TASK_SIZE	((1UL << 47) - PAGE_SIZE)
#define HARNESS_MMAP_BASE	(HARNESS_TASK_SIZE - (128UL << 20))
#define HARNESS_MMAP_MIN_ADDR	65536UL
#define HARNESS_MAX_MAP_COUNT	65530

enum harness_call_kind {
	HARNESS_UNMAP_VMAS = 1,
	HARNESS_FREE_PGTABLES,
	HARNESS_ZAP_RANGE,
	HARNESS_FAULTIN,
	HARNESS_POPULATE,
};

/*
 * One call of shadow_unmap_vmas() (@a, @b: start, end) or of
 * shadow_free_pgtables() (@a, @b: floor, ceiling), with a summary of the
 * list of VMAs it was handed; or of shadow_zap_page_range_single(),
 * shadow_faultin_vma_page_range() (@a, @b: start, end; the VMA's start
 * and end in @first_start, @last_end; @pages 1 for a write) or
 * shadow_mm_populate() (@a, @b: start, end).
 */
struct harness_call {
	enum harness_call_kind kind;
	unsigned long a;
	unsigned long b;
	int nr_vmas;
	unsigned long first_start;	/* vm_start of the first VMA listed */
	unsigned long last_end;		/* vm_end of the last VMA listed */
	unsigned long pages;		/* pages of all the VMAs listed */
	bool sorted;			/* listed in address order, disjoint */
};

#define HARNESS_MAX_CALLS	64

struct harness_record {
	int nr_calls;			/* may exceed HARNESS_MAX_CALLS */
	struct harness_call calls[HARNESS_MAX_CALLS];
};

struct harness_counters {
	long live_vmas;			/* shadow_vm_area_alloc() - free */
	long live_shmem;		/* shadow_shmem_zero_setup() - last put */
	long live_nodes;		/* maple nodes allocated - freed */
	long anon_refs;			/* anon_vma references held */
	unsigned long nr_allocs;	/* failable allocations since armed */
	unsigned long nr_injected;	/* allocations made to fail */
	unsigned long nr_livelocks;	/* persistent failures given up */
	unsigned long vma_serials;	/* the last VMA serial number given */
	unsigned long shmem_serials;	/* the last shmem->id given */
};

#define HARNESS_LIVELOCK_RETRIES	10000

/*
 * What shadow_faultin_vma_page_range() returns: 0 for every page done,
 * else this error (the kernel's -EINVAL, -EFAULT, -ENOMEM, -EINTR...).
 */
extern long harness_faultin_error;

extern struct harness_record harness_record;
extern struct harness_counters harness_counters;
extern unsigned long harness_nr_maple_bugs;

void harness_record_reset(void);

/*
 * Make the @nth failable allocation from now on fail (VMAs, shared
 * backings, maple nodes): only that one, or, @persistent, every one from
 * it on. 0 disarms. Counting restarts at each call.
 */
void harness_fail_alloc(unsigned long nth, bool persistent);

/*
 * What a first write fault does to a VMA (anon_vma_prepare()): an anon_vma
 * of its own, a chain of one, a reference.
 */
void harness_anon_vma_get(void *anon_vma);
void harness_anon_vma_put(void *anon_vma);

static inline void harness_set_anon_vma(struct shadow_vma *vma, void *anon_vma)
{
	vma->anon_vma = anon_vma;
	vma->vm_anon_chain = 1;
	harness_anon_vma_get(anon_vma);
}

/* The anon_vma shadow_anon_vma_prepare() attaches. */
extern struct shadow_anon_vma harness_anon_vma_token;

/* Identity of a VMA: a serial number never reused, unlike its address. */
unsigned long harness_vma_serial(const struct shadow_vma *vma);

struct shadow_mm *harness_mm_alloc(void);
void harness_mm_free(struct shadow_mm *mm);

/* mt_validate() of the real maple tree: the number of checks that failed. */
unsigned long harness_mt_validate(struct shadow_mm *mm);

#endif /* _SHADOW_VMA_HARNESS_H */
