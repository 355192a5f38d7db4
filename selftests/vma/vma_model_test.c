// SPDX-License-Identifier: GPL-2.0
/*
 * Model-based random test of the VMA layout code: random sequences of
 * mmap (MAP_FIXED, MAP_FIXED_NOREPLACE, hinted, unhinted; random prot,
 * private or shared, MAP_NORESERVE / MAP_GROWSDOWN / MAP_LOCKED /
 * MAP_POPULATE), munmap, and mprotect-like changes driven through
 * shadow_vma_merge() and shadow_split_vma(), run on the engine and on a
 * deliberately simple reference model: a sorted array of VMAs, with Linux
 * 6.1's rules (mm/mmap.c, arch/x86/kernel/sys_x86_64.c) written out again
 * for it, independently of the engine.
 *
 * After every operation the two must agree on the return value, on every
 * VMA (boundaries, flags, pgoff, backing, which struct survived), on the
 * counters (map_count, total_vm, locked_vm, data_vm, exec_vm, stack_vm),
 * on the calls made to unmap pages and free page tables, and on the live
 * VMAs and shared backings.
 *
 * Operations are drawn over a small window (64-256 pages) below mmap_base,
 * and in a second kind of episode around a low mmap_base and the bottom-up
 * area, so that they keep interacting. Episodes of a few hundred to a few
 * thousand operations run from a fresh address space, with random limits
 * (max_map_count, RLIMIT_AS/DATA/MEMLOCK, CAP_IPC_LOCK) in some of them,
 * and end with shadow_exit_mmap().
 *
 *   vma_model_test [--seed N] [--ops N] [--no-faults]
 *   VMA_MODEL_SEED=N VMA_MODEL_OPS=N VMA_MODEL_FAULTS=0 vma_model_test
 *
 * Some operations attach anon_vmas, as first faults would (a chain of one),
 * or as fork leaves them (an inherited one, a longer chain), to random
 * VMAs: Linux merges VMAs with and without an anon_vma only in some cases
 * (is_mergeable_anon_vma()). --no-faults leaves them out.
 *
 * On a mismatch the test prints the seed, the episode's settings and the
 * shortest operation sequence that still fails (ddmin over the episode's
 * operations, each try in a child process).
 */
#include <time.h>
#include <sys/wait.h>

#include "harness.h"
#include "kselftest_harness.h"

#define PG		PAGE_SIZE
#define MAX_VMAS	8192

static unsigned long opt_seed = 1;
static unsigned long opt_ops = 1100000;
static bool opt_faults = true;

/* splitmix64 */
static u64 rng_state;

static u64 rnd64(void)
{
	u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned long rnd(unsigned long n)
{
	return n ? rnd64() % n : 0;
}

/* ------------------------------------------------------------------ */
/* The operations and the settings of an episode                       */

enum op_kind {
	OP_MMAP,
	OP_MUNMAP,
	OP_MPROTECT,
	OP_FAULT,
	OP_MERGE,	/* vma_merge() of an unmapped range, as mremap's */
};

struct op {
	enum op_kind kind;
	unsigned long addr;
	unsigned long len;
	unsigned long prot;	/* OP_MERGE: backing of 1 prev, 2 next */
	unsigned long flags;	/* OP_MERGE: VM_* flags */
	unsigned long pgoff;
};

struct episode {
	unsigned long mmap_base;
	unsigned long mmap_min_addr;
	int max_map_count;
	struct harness_limits limits;
	/* where addresses are drawn from */
	unsigned long lo[2], hi[2];
	int nr_areas;
};

/* ------------------------------------------------------------------ */
/* The reference model                                                 */

struct mvma {
	unsigned long start;
	unsigned long end;
	unsigned long flags;
	unsigned long pgoff;
	unsigned long backing;	/* shared anonymous object, 0: private */
	unsigned long anon;	/* anon_vma, 0: none */
	unsigned int chain;	/* anon_vma_chain: 1 own, 2 inherited */
	unsigned long id;	/* which VMA this is, as a struct */
};

struct model {
	struct mvma v[MAX_VMAS];
	int n;
	unsigned long total_vm, locked_vm, data_vm, exec_vm, stack_vm;
	unsigned long task_size, mmap_base, mmap_min_addr;
	unsigned long next_id, next_backing, next_anon;
	/* ids and backings made by the current operation are >= these */
	unsigned long op_first_id, op_first_backing;
	/* the unmap/free_pgtables calls the current operation should make */
	int nr_calls;
	struct harness_call calls[8];
};

#define GUARD_GAP	(256UL * PG)

/* What the operations did, in the model: to see what a run covered. */
enum {
	ST_CASE1 = 1, ST_CASE2, ST_CASE3, ST_CASE4, ST_CASE5, ST_CASE6,
	ST_CASE7, ST_CASE8, ST_MMAP_NEW, ST_MMAP_PREV, ST_MMAP_NEXT,
	ST_MMAP_BOTH, ST_HINT, ST_TOPDOWN, ST_TOPDOWN_RETRY, ST_BOTTOMUP,
	ST_SPLIT, ST_UNMAPPED, ST_OK, ST_EINVAL, ST_ENOMEM, ST_EPERM,
	ST_EEXIST, ST_EAGAIN, ST_EOVERFLOW, NR_STATS
};

static const char * const stat_names[NR_STATS] = {
	[ST_CASE1] = "merge case 1", [ST_CASE2] = "case 2",
	[ST_CASE3] = "case 3", [ST_CASE4] = "case 4", [ST_CASE5] = "case 5",
	[ST_CASE6] = "case 6", [ST_CASE7] = "case 7", [ST_CASE8] = "case 8",
	[ST_MMAP_NEW] = "mmap new VMA", [ST_MMAP_PREV] = "grew prev",
	[ST_MMAP_NEXT] = "grew next", [ST_MMAP_BOTH] = "filled a hole",
	[ST_HINT] = "hint taken", [ST_TOPDOWN] = "top-down",
	[ST_TOPDOWN_RETRY] = "guard-gap retries", [ST_BOTTOMUP] = "bottom-up",
	[ST_SPLIT] = "splits", [ST_UNMAPPED] = "VMAs unmapped",
	[ST_OK] = "ok", [ST_EINVAL] = "EINVAL", [ST_ENOMEM] = "ENOMEM",
	[ST_EPERM] = "EPERM", [ST_EEXIST] = "EEXIST", [ST_EAGAIN] = "EAGAIN",
	[ST_EOVERFLOW] = "EOVERFLOW",
};

static unsigned long stats[NR_STATS];

static unsigned long m_pages(const struct mvma *v)
{
	return (v->end - v->start) / PG;
}

/* vm_stat_account() */
static void m_account(struct model *m, unsigned long flags, long npages)
{
	m->total_vm += npages;
	if ((flags & (VM_EXEC | VM_WRITE | VM_GROWSDOWN)) == VM_EXEC)
		m->exec_vm += npages;
	else if (flags & VM_GROWSDOWN)
		m->stack_vm += npages;
	else if ((flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) == VM_WRITE)
		m->data_vm += npages;
}

/* Index of the first VMA ending above @addr (find_vma), or m->n. */
static int m_find(const struct model *m, unsigned long addr)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (m->v[i].end > addr)
			return i;
	return m->n;
}

static void m_insert(struct model *m, int i, const struct mvma *v)
{
	if (m->n == MAX_VMAS)
		abort();
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(m->v[0]));
	m->v[i] = *v;
	m->n++;
}

static void m_remove(struct model *m, int i)
{
	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(m->v[0]));
	m->n--;
}

static unsigned long m_start_gap(const struct mvma *v)
{
	unsigned long start = v->start;

	if (v->flags & VM_GROWSDOWN) {
		start -= GUARD_GAP;
		if (start > v->start)
			start = 0;
	}
	return start;
}

/* Split v[i] at @addr: the new VMA takes the part below (new_below) */
static void m_split(struct model *m, int i, unsigned long addr, int new_below)
{
	struct mvma new = m->v[i];

	stats[ST_SPLIT]++;
	new.id = m->next_id++;
	if (new_below) {
		new.end = addr;
		m->v[i].pgoff += (addr - m->v[i].start) / PG;
		m->v[i].start = addr;
		m_insert(m, i, &new);
	} else {
		new.pgoff += (addr - new.start) / PG;
		new.start = addr;
		m->v[i].end = addr;
		m_insert(m, i + 1, &new);
	}
}

static void m_call(struct model *m, enum harness_call_kind kind,
		   unsigned long a, unsigned long b, int nr,
		   unsigned long first_start, unsigned long last_end,
		   unsigned long pages)
{
	m->calls[m->nr_calls++] = (struct harness_call){
		.kind = kind, .a = a, .b = b, .nr_vmas = nr,
		.first_start = first_start, .last_end = last_end,
		.pages = pages, .sorted = true,
	};
}

/* do_munmap() */
static int m_munmap(struct model *m, unsigned long start, unsigned long len,
		    int max_map_count)
{
	unsigned long end, pages = 0, locked = 0, floor, ceiling;
	int i, j, nr;

	if ((start & ~PAGE_MASK) || start > m->task_size ||
	    len > m->task_size - start)
		return -EINVAL;
	end = start + PAGE_ALIGN(len);
	if (end == start)
		return -EINVAL;

	i = m_find(m, start);
	if (i == m->n || m->v[i].start >= end)
		return 0;

	/* Does it split the first one? */
	if (start > m->v[i].start) {
		if (end < m->v[i].end && m->n >= max_map_count)
			return -ENOMEM;
		m_split(m, i, start, 0);
		i++;
	}
	/* Does it split the last one? */
	for (j = i; j < m->n && m->v[j].start < end; j++) {
		if (m->v[j].end > end) {
			m_split(m, j, end, 1);
			break;
		}
	}
	/* Now v[i..j) are the VMAs inside [start, end). */
	for (j = i; j < m->n && m->v[j].start < end; j++) {
		pages += m_pages(&m->v[j]);
		if (m->v[j].flags & VM_LOCKED)
			locked += m_pages(&m->v[j]);
	}
	nr = j - i;
	floor = i > 0 ? m->v[i - 1].end : 0;
	ceiling = j < m->n ? m->v[j].start : 0;
	m_call(m, HARNESS_UNMAP_VMAS, start, end, nr, m->v[i].start,
	       m->v[j - 1].end, pages);
	m_call(m, HARNESS_FREE_PGTABLES, floor, ceiling, nr, m->v[i].start,
	       m->v[j - 1].end, pages);
	m->locked_vm -= locked;
	stats[ST_UNMAPPED] += nr;
	while (nr--) {
		m_account(m, m->v[i].flags, -(long)m_pages(&m->v[i]));
		m_remove(m, i);
	}
	return 0;
}

/*
 * is_mergeable_anon_vma(): when one is missing, only a VMA whose
 * anon_vma_chain is singular may merge; a VMA without an anon_vma has an
 * empty chain, one with an anon_vma (no fork here) a singular one.
 */
static bool m_mergeable_anon(unsigned long anon1, unsigned long anon2,
			     const struct mvma *vma)
{
	if ((!anon1 || !anon2) && (!vma || vma->chain == 1))
		return true;
	return anon1 == anon2;
}

static bool m_mergeable(const struct mvma *v, unsigned long flags,
			unsigned long backing)
{
	return !((v->flags ^ flags) & ~VM_SOFTDIRTY) && v->backing == backing;
}

/* can_vma_merge_before(): the range would end where @v starts */
static bool m_merge_before(const struct mvma *v, unsigned long flags,
			   unsigned long anon, unsigned long backing,
			   unsigned long pgoff)
{
	return m_mergeable(v, flags, backing) &&
	       m_mergeable_anon(anon, v->anon, v) && v->pgoff == pgoff;
}

/* can_vma_merge_after(): the range would start where @v ends */
static bool m_merge_after(const struct mvma *v, unsigned long flags,
			  unsigned long anon, unsigned long backing,
			  unsigned long pgoff)
{
	return m_mergeable(v, flags, backing) &&
	       m_mergeable_anon(anon, v->anon, v) &&
	       v->pgoff + m_pages(v) == pgoff;
}

/* anon_vma_clone(): the importer gets the exporter's chain */
static void m_import(struct mvma *importer, const struct mvma *exporter)
{
	if (exporter->anon && !importer->anon) {
		importer->anon = exporter->anon;
		importer->chain = exporter->chain;
	}
}

/* vma_merge(): the index of the VMA covering the range, or -1. */
static int m_vma_merge(struct model *m, int prev, unsigned long addr,
		       unsigned long end, unsigned long flags,
		       unsigned long anon, unsigned long backing,
		       unsigned long pgoff)
{
	unsigned long pglen = (end - addr) / PG;
	bool merge_prev = false, merge_next = false;
	int mid, next;

	if (flags & VM_DONTEXPAND)	/* VM_SPECIAL */
		return -1;
	next = m_find(m, prev >= 0 ? m->v[prev].end : 0);
	mid = next;
	if (next < m->n && m->v[next].end == end)
		next = m_find(m, m->v[next].end);
	if (next == m->n)
		next = -1;
	if (mid == m->n)
		mid = -1;

	if (prev >= 0 && m->v[prev].end == addr &&
	    m_merge_after(&m->v[prev], flags, anon, backing, pgoff))
		merge_prev = true;
	if (next >= 0 && end == m->v[next].start &&
	    m_merge_before(&m->v[next], flags, anon, backing, pgoff + pglen))
		merge_next = true;

	if (merge_prev && merge_next &&
	    m_mergeable_anon(m->v[prev].anon, m->v[next].anon, NULL)) {
		/*
		 * cases 1, 6: prev takes all; the exporter is mid, or next
		 * when mid has no anon_vma
		 */
		struct mvma *p = &m->v[prev];

		stats[mid != next ? ST_CASE6 : ST_CASE1]++;
		if (mid != next && m->v[mid].anon)
			m_import(p, &m->v[mid]);
		else
			m_import(p, &m->v[next]);
		p->end = m->v[next].end;
		m_remove(m, next);
		if (mid != next)
			m_remove(m, mid);
		return prev;
	}
	if (merge_prev) {
		/* cases 2, 5, 7 */
		struct mvma *p = &m->v[prev];

		if (mid >= 0 && end >= m->v[mid].end) {		/* 7 */
			stats[ST_CASE7]++;
			m_import(p, &m->v[mid]);
			m_remove(m, mid);
		} else if (mid >= 0 && end > m->v[mid].start) {	/* 5 */
			stats[ST_CASE5]++;
			m_import(p, &m->v[mid]);
			m->v[mid].pgoff += (end - m->v[mid].start) / PG;
			m->v[mid].start = end;
		} else {
			stats[ST_CASE2]++;
		}
		p->end = end;
		return prev;
	}
	if (merge_next) {
		struct mvma *nx = &m->v[next];
		bool case4 = prev >= 0 && addr < m->v[prev].end;

		if (case4)
			stats[ST_CASE4]++;
		else
			stats[mid != next ? ST_CASE8 : ST_CASE3]++;
		if (case4) {					/* 4 */
			m_import(nx, &m->v[prev]);
			m->v[prev].end = addr;
		} else if (mid != next) {			/* 8 */
			m_import(nx, &m->v[mid]);
		}						/* 3 */
		nx->pgoff -= pglen;
		nx->start = addr;
		if (!case4 && mid != next) {
			/* case 8: the middle VMA, right below next, goes */
			m_remove(m, mid);
			return next - 1;
		}
		return next;
	}
	return -1;
}

static bool m_may_expand(const struct model *m, unsigned long flags,
			 unsigned long npages)
{
	if (m->total_vm + npages > harness_limits.as_pages)
		return false;
	if ((flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) == VM_WRITE &&
	    m->data_vm + npages > harness_limits.data_pages)
		return false;
	return true;
}

/*
 * The gap searches of Linux 6.1's maple tree, over the array: the empty
 * ranges between VMAs, [gmin, gmax] inclusive, with the same acceptance
 * rules as mas_rev_awalk() and mas_anode_descend():
 *
 * mas_empty_area_rev(): the highest gap reaching into [lo, hi] whose
 * part up to hi holds @size; it must also hold @size between lo and its
 * own top. Note: a gap reaching past both ends of a window smaller than
 * @size passes both tests; the result then starts below lo.
 * mas_empty_area(): the lowest gap whose part within [lo, hi] holds
 * @size.
 * On an empty tree (mas_sparse_area()) neither checks the size.
 *
 * Return: 0 with *last (rev) or *index (fwd) and the index of the VMA
 * above the gap in *above, or -1.
 */
static int m_empty_area_rev(const struct model *m, unsigned long lo,
			    unsigned long hi, unsigned long size,
			    unsigned long *last, int *above)
{
	int i;

	if (lo >= hi)
		return -1;
	if (!m->n) {
		*last = hi;
		*above = 0;
		return 0;
	}
	for (i = m->n; i >= 0; i--) {
		unsigned long gmin = i > 0 ? m->v[i - 1].end : 0;
		unsigned long gmax = i < m->n ? m->v[i].start - 1 : ULONG_MAX;

		if (i < m->n && m->v[i].start == gmin)
			continue;		/* no gap */
		if (gmin > hi)
			continue;
		if (gmax < lo)
			return -1;
		if (size <= gmax - gmin + 1 && size <= hi - gmin + 1) {
			if (size - 1 > gmax - lo)
				return -1;
			*last = gmax < hi ? gmax : hi;
			*above = i;
			return 0;
		}
	}
	return -1;
}

static int m_empty_area(const struct model *m, unsigned long lo,
			unsigned long hi, unsigned long size,
			unsigned long *index, int *above)
{
	int i;

	if (lo >= hi)
		return -1;
	if (!m->n) {
		*index = lo;
		*above = 0;
		return 0;
	}
	for (i = 0; i <= m->n; i++) {
		unsigned long gmin = i > 0 ? m->v[i - 1].end : 0;
		unsigned long gmax = i < m->n ? m->v[i].start - 1 : ULONG_MAX;

		if (i < m->n && m->v[i].start == gmin)
			continue;
		if (gmax < lo)
			continue;
		if (gmin > hi)
			return -1;
		if (min(gmax, hi) - max(gmin, lo) + 1 >= size) {
			*index = max(gmin, lo);
			*above = i;
			return 0;
		}
	}
	return -1;
}

/*
 * The engine refuses a window smaller than the length before searching;
 * Linux 6.1 searches anyway, and on an empty tree, or with a gap reaching
 * past both ends of the window, gets an address outside it (see above).
 * No Linux process gets there (its stack and executable are always
 * mapped); the model takes the engine's side for this first search.
 */
static bool m_window_too_small(unsigned long low, unsigned long high,
			       unsigned long len)
{
	return low >= high || high - low < len;
}

/* unmapped_area_topdown() */
static unsigned long m_area_topdown(const struct model *m, unsigned long low,
				    unsigned long high, unsigned long len)
{
	unsigned long last, gap;
	int above;

	if (m_window_too_small(low, high, len))
		return -ENOMEM;
retry:
	if (m_empty_area_rev(m, low, high - 1, len, &last, &above))
		return -ENOMEM;
	gap = last + 1 - len;
	if (above < m->n && (m->v[above].flags & VM_GROWSDOWN)) {
		if (m_start_gap(&m->v[above]) <= last) {
			stats[ST_TOPDOWN_RETRY]++;
			high = m_start_gap(&m->v[above]);
			goto retry;
		}
	} else if (above > 0 && m->v[above - 1].end > gap) {
		high = m->v[above - 1].start;
		goto retry;
	}
	return gap;
}

/* unmapped_area() */
static unsigned long m_area_bottomup(const struct model *m, unsigned long low,
				     unsigned long high, unsigned long len)
{
	unsigned long gap;
	int above;

	if (m_window_too_small(low, high, len))
		return -ENOMEM;
retry:
	if (m_empty_area(m, low, high - 1, len, &gap, &above))
		return -ENOMEM;
	if (above < m->n && (m->v[above].flags & VM_GROWSDOWN)) {
		if (m_start_gap(&m->v[above]) < gap + len - 1) {
			low = m->v[above].end;
			goto retry;
		}
	} else if (above > 0 && m->v[above - 1].end > gap) {
		low = m->v[above - 1].end;
		goto retry;
	}
	return gap;
}

/* The hint rule of both x86-64 functions */
static bool m_hint_fits(const struct model *m, unsigned long addr,
			unsigned long len)
{
	int i;

	if (m->task_size - len < addr)
		return false;
	i = m_find(m, addr);
	return i == m->n || addr + len <= m_start_gap(&m->v[i]);
}

/* arch_get_unmapped_area_topdown(), then arch_get_unmapped_area() */
static unsigned long m_get_area(const struct model *m, unsigned long addr0,
				unsigned long len)
{
	unsigned long addr = addr0 & PAGE_MASK;

	if (len > m->task_size)
		return -ENOMEM;
	if (addr && m_hint_fits(m, addr, len)) {
		stats[ST_HINT]++;
		return addr;
	}
	addr = m_area_topdown(m, PG, m->mmap_base, len);
	if (!(addr & ~PAGE_MASK)) {
		stats[ST_TOPDOWN]++;
		return addr;
	}
	/* bottom-up, from TASK_UNMAPPED_BASE */
	stats[ST_BOTTOMUP]++;
	addr = PAGE_ALIGN(addr0);
	if (addr && m_hint_fits(m, addr, len))
		return addr;
	return m_area_bottomup(m, PAGE_ALIGN(m->task_size / 3), m->task_size,
			       len);
}

static bool m_intersects(const struct model *m, unsigned long start,
			 unsigned long end)
{
	int i = m_find(m, start);

	return i < m->n && m->v[i].start < end;
}

/* do_mmap() and mmap_region(), anonymous */
static unsigned long m_mmap(struct model *m, unsigned long addr,
			    unsigned long len, unsigned long prot,
			    unsigned long flags, unsigned long pgoff,
			    int max_map_count, unsigned long *populate)
{
	unsigned long vm_flags, pglen, end, merge_start, merge_end, vm_pgoff;
	struct harness_limits *lim = &harness_limits;
	int prev, next, vma = -1;

	*populate = 0;
	if (!len)
		return -EINVAL;
	if (flags & MAP_FIXED_NOREPLACE)
		flags |= MAP_FIXED;
	if (!(flags & MAP_FIXED)) {
		addr &= PAGE_MASK;
		if (addr && addr < m->mmap_min_addr)
			addr = PAGE_ALIGN(m->mmap_min_addr);
	}
	len = PAGE_ALIGN(len);
	if (!len)
		return -ENOMEM;
	if (pgoff + (len / PG) < pgoff)
		return -EOVERFLOW;
	if (m->n > max_map_count)
		return -ENOMEM;

	/* get_unmapped_area() */
	if (len > m->task_size)
		return -ENOMEM;
	if (!(flags & MAP_FIXED))
		addr = m_get_area(m, addr, len);
	if (IS_ERR_VALUE(addr))
		return addr;
	if (addr > m->task_size - len)
		return -ENOMEM;
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if (addr < m->mmap_min_addr)
		return -EPERM;

	if ((flags & MAP_FIXED_NOREPLACE) && m_intersects(m, addr, addr + len))
		return -EEXIST;

	vm_flags = (prot & PROT_READ ? VM_READ : 0) |
		   (prot & PROT_WRITE ? VM_WRITE : 0) |
		   (prot & PROT_EXEC ? VM_EXEC : 0) |
		   (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
		   (flags & MAP_LOCKED ? VM_LOCKED : 0) |
		   VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
	if ((flags & MAP_LOCKED) && !lim->memlock_pages && !lim->cap_ipc_lock)
		return -EPERM;
	if ((vm_flags & VM_LOCKED) && !lim->cap_ipc_lock &&
	    len / PG + m->locked_vm > lim->memlock_pages)
		return -EAGAIN;
	switch (flags & MAP_TYPE) {
	case MAP_SHARED:
		if (vm_flags & VM_GROWSDOWN)
			return -EINVAL;
		pgoff = 0;
		vm_flags |= VM_SHARED | VM_MAYSHARE;
		break;
	case MAP_PRIVATE:
		pgoff = addr / PG;
		break;
	default:
		return -EINVAL;
	}
	if (flags & MAP_NORESERVE)
		vm_flags |= VM_NORESERVE;

	/* mmap_region() */
	pglen = len / PG;
	end = addr + len;
	if (!m_may_expand(m, vm_flags, pglen)) {
		unsigned long nr = 0;
		int i;

		for (i = m_find(m, addr); i < m->n && m->v[i].start < end; i++)
			nr += (min(end, m->v[i].end) -
			       max(addr, m->v[i].start)) / PG;
		if (!m_may_expand(m, vm_flags, pglen - nr))
			return -ENOMEM;
	}
	if (m_munmap(m, addr, len, max_map_count))
		return -ENOMEM;
	if ((vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE)
		vm_flags |= VM_ACCOUNT;

	next = m_find(m, addr);
	prev = next - 1;
	merge_start = addr;
	merge_end = end;
	vm_pgoff = pgoff;
	if (next < m->n && m->v[next].start == end &&
	    m_merge_before(&m->v[next], vm_flags, 0, 0, pgoff + pglen)) {
		merge_end = m->v[next].end;
		vma = next;
		vm_pgoff = m->v[next].pgoff - pglen;
	}
	if (prev >= 0 && m->v[prev].end == addr &&
	    m_merge_after(&m->v[prev], vm_flags,
			  vma >= 0 ? m->v[vma].anon : 0, 0, pgoff)) {
		merge_start = m->v[prev].start;
		vma = prev;
		vm_pgoff = m->v[prev].pgoff;
	}
	if (vma >= 0) {
		/* vma_expand() */
		stats[vma == next ? ST_MMAP_NEXT : merge_end == end ?
		      ST_MMAP_PREV : ST_MMAP_BOTH]++;
		if (vma == prev && next < m->n &&
		    merge_end == m->v[next].end) {
			m_import(&m->v[prev], &m->v[next]);
			m_remove(m, next);
		}
		m->v[vma].start = merge_start;
		m->v[vma].end = merge_end;
		m->v[vma].pgoff = vm_pgoff;
	} else {
		struct mvma v = {
			.start = addr, .end = end, .flags = vm_flags,
			.pgoff = pgoff, .id = m->next_id++,
			.backing = vm_flags & VM_SHARED ?
				   m->next_backing++ : 0,
		};

		stats[ST_MMAP_NEW]++;
		vma = next;
		m_insert(m, vma, &v);
	}
	m_account(m, vm_flags, pglen);
	if (vm_flags & VM_LOCKED)
		m->locked_vm += pglen;
	m->v[vma].flags |= VM_SOFTDIRTY;
	if ((vm_flags & VM_LOCKED) ||
	    (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE)
		*populate = len;
	return addr;
}

/*
 * The flags an mprotect to @prot gives a VMA (mprotect_fixup(): a private
 * mapping that becomes writable is charged, VM_ACCOUNT).
 */
static unsigned long mprotect_flags(unsigned long flags, unsigned long prot)
{
	unsigned long newflags = (flags & ~(VM_READ | VM_WRITE | VM_EXEC)) |
				 (prot & PROT_READ ? VM_READ : 0) |
				 (prot & PROT_WRITE ? VM_WRITE : 0) |
				 (prot & PROT_EXEC ? VM_EXEC : 0);

	if ((newflags & VM_WRITE) &&
	    !(flags & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE)))
		newflags |= VM_ACCOUNT;
	return newflags;
}

/* mprotect_fixup() of [start, end), within one VMA */
static int m_mprotect(struct model *m, unsigned long start, unsigned long end,
		      unsigned long prot, int max_map_count)
{
	unsigned long oldflags, newflags, pgoff, nrpages = (end - start) / PG;
	int i = m_find(m, start), prev, merged;

	if (i == m->n || m->v[i].start > start || m->v[i].end < end)
		return 1;	/* not within one VMA: not done */
	oldflags = m->v[i].flags;
	newflags = mprotect_flags(oldflags, prot);
	if (newflags == oldflags)
		return 0;
	pgoff = m->v[i].pgoff + (start - m->v[i].start) / PG;
	prev = start > m->v[i].start ? i : i - 1;
	merged = m_vma_merge(m, prev, start, end, newflags, m->v[i].anon,
			     m->v[i].backing, pgoff);
	if (merged >= 0) {
		m->v[merged].flags = newflags;
	} else {
		if (start != m->v[i].start) {
			if (m->n >= max_map_count)
				return -ENOMEM;
			m_split(m, i, start, 1);
			i++;
		}
		if (end != m->v[i].end) {
			if (m->n >= max_map_count)
				return -ENOMEM;
			m_split(m, i, end, 0);
		}
		m->v[i].flags = newflags;
	}
	m_account(m, oldflags, -(long)nrpages);
	m_account(m, newflags, nrpages);
	return 0;
}

/*
 * vma_merge() of an unmapped range [addr, addr + len), with the backing of
 * the VMA before (which 1) or after it (2), as mremap's copy_vma() asks
 * before it makes a new VMA; when it merges, the caller accounts the
 * pages. Nothing else happens when it does not.
 */
static int m_merge_op(struct model *m, unsigned long addr, unsigned long len,
		      unsigned long flags, unsigned long pgoff,
		      unsigned long which)
{
	unsigned long end = addr + len, backing = 0;
	int next = m_find(m, addr), prev = next - 1;

	if (!len || end < addr || (next < m->n && m->v[next].start < end))
		return 1;
	if (which == 1 && prev >= 0)
		backing = m->v[prev].backing;
	else if (which == 2 && next < m->n)
		backing = m->v[next].backing;
	if (m_vma_merge(m, prev, addr, end, flags, 0, backing, pgoff) < 0)
		return 0;
	m_account(m, flags, len / PG);
	if (flags & VM_LOCKED)
		m->locked_vm += len / PG;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The engine side                                                     */

static void e_account(struct shadow_mm *mm, unsigned long flags, long npages)
{
	mm->total_vm += npages;
	if ((flags & (VM_EXEC | VM_WRITE | VM_STACK)) == VM_EXEC)
		mm->exec_vm += npages;
	else if (flags & VM_STACK)
		mm->stack_vm += npages;
	else if ((flags & (VM_WRITE | VM_SHARED | VM_STACK)) == VM_WRITE)
		mm->data_vm += npages;
}

static int e_merge_op(struct shadow_mm *mm, unsigned long addr,
		      unsigned long len, unsigned long flags,
		      unsigned long pgoff, unsigned long which)
{
	struct shadow_vma *prev, *next;
	struct shadow_address_space *shmem = NULL;

	if (!len || addr + len < addr ||
	    shadow_find_vma_intersection(mm, addr, addr + len))
		return 1;
	next = shadow_find_vma_prev(mm, addr, &prev);
	if (which == 1 && prev)
		shmem = prev->vm_mapping;
	else if (which == 2 && next)
		shmem = next->vm_mapping;
	if (!shadow_vma_merge(mm, prev, addr, addr + len, flags, NULL, shmem,
			      pgoff))
		return 0;
	e_account(mm, flags, len / PG);
	if (flags & VM_LOCKED)
		mm->locked_vm += len / PG;
	return 0;
}

/* The anon_vma a fault would attach: a token, never dereferenced. */
static void *anon_token(unsigned long anon)
{
	return anon ? (void *)(0x10000UL + anon * 64) : NULL;
}

/* mprotect_fixup() of [start, end) with the engine's primitives */
static int e_mprotect(struct shadow_mm *mm, unsigned long start,
		      unsigned long end, unsigned long prot)
{
	struct shadow_vma *vma = shadow_find_vma(mm, start), *prev, *merged;
	unsigned long oldflags, newflags, pgoff;
	long nrpages = (end - start) / PG;
	int err;

	if (!vma || vma->vm_start > start || vma->vm_end < end)
		return 1;
	oldflags = vma->vm_flags;
	newflags = mprotect_flags(oldflags, prot);
	if (newflags == oldflags)
		return 0;
	pgoff = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT);
	prev = start > vma->vm_start ? vma : shadow_vma_prev(mm, vma);
	merged = shadow_vma_merge(mm, prev, start, end, newflags,
				  vma->anon_vma, vma->vm_mapping, pgoff);
	if (merged) {
		vma = merged;
		vma->vm_flags = newflags;
	} else {
		if (start != vma->vm_start) {
			err = shadow_split_vma(mm, vma, start, 1);
			if (err)
				return err;
		}
		if (end != vma->vm_end) {
			err = shadow_split_vma(mm, vma, end, 0);
			if (err)
				return err;
		}
		vma->vm_flags = newflags;
	}
	vma->vm_page_prot = shadow_vm_get_page_prot(vma->vm_flags);
	/* vm_stat_account(), as mprotect_fixup() does it */
	e_account(mm, oldflags, -nrpages);
	e_account(mm, newflags, nrpages);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Running an episode on both                                          */

struct run {
	struct model *m;
	struct shadow_mm *mm;
	const struct episode *ep;
	/* serial of an engine VMA -> model id, model id -> serial */
	unsigned long *vma_id, *id_vma;
	unsigned long nr_vma_id, nr_id_vma, first_serial, first_shmem;
	/* shmem->id -> model backing, model backing -> shmem->id */
	unsigned long *sh_b, *b_sh;
	unsigned long nr_sh_b, nr_b_sh;
	long live_vmas0, live_shmem0, live_nodes0, anon_refs0;
	unsigned long warnings0;
	char why[512];
};

static unsigned long *grow(unsigned long *a, unsigned long *nr,
			   unsigned long want)
{
	unsigned long n = *nr;

	if (want < n)
		return a;
	while (n <= want)
		n = n ? 2 * n : 1024;
	a = realloc(a, n * sizeof(*a));
	if (!a)
		abort();
	memset(a + *nr, 0, (n - *nr) * sizeof(*a));
	*nr = n;
	return a;
}

#define MISMATCH(r, ...) ({						\
	snprintf((r)->why, sizeof((r)->why), __VA_ARGS__);		\
	false;								\
})

static bool same_calls(struct run *r)
{
	struct model *m = r->m;
	int i;

	if (harness_record.nr_calls != m->nr_calls)
		return MISMATCH(r, "%d unmap/free_pgtables calls, model %d",
				harness_record.nr_calls, m->nr_calls);
	for (i = 0; i < m->nr_calls; i++) {
		const struct harness_call *e = &harness_record.calls[i];
		const struct harness_call *x = &m->calls[i];

		if (e->kind != x->kind || e->a != x->a || e->b != x->b ||
		    e->nr_vmas != x->nr_vmas || e->pages != x->pages ||
		    e->first_start != x->first_start ||
		    e->last_end != x->last_end || !e->sorted)
			return MISMATCH(r,
					"call %d: %s(%#lx, %#lx) of %d VMAs %#lx-%#lx %lu pages, model %s(%#lx, %#lx) of %d VMAs %#lx-%#lx %lu pages",
					i, e->kind == HARNESS_UNMAP_VMAS ?
					"unmap_vmas" : "free_pgtables",
					e->a, e->b, e->nr_vmas,
					e->first_start, e->last_end, e->pages,
					x->kind == HARNESS_UNMAP_VMAS ?
					"unmap_vmas" : "free_pgtables",
					x->a, x->b, x->nr_vmas,
					x->first_start, x->last_end, x->pages);
	}
	return true;
}

/* Does the engine's address space match the model's? */
static bool same_layout(struct run *r, bool full)
{
	struct model *m = r->m;
	struct shadow_mm *mm = r->mm;
	struct shadow_vma *vma;
	int i = 0;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	mas_for_each(&mas, vma, ULONG_MAX) {
		const struct mvma *x = &m->v[i];
		unsigned long serial = harness_vma_serial(vma) -
				       r->first_serial;

		if (i == m->n)
			return MISMATCH(r, "extra VMA %#lx-%#lx",
					vma->vm_start, vma->vm_end);
		if (vma->vm_start != x->start || vma->vm_end != x->end)
			return MISMATCH(r, "VMA %d is %#lx-%#lx, model %#lx-%#lx",
					i, vma->vm_start, vma->vm_end,
					x->start, x->end);
		if (vma->vm_flags != x->flags)
			return MISMATCH(r, "VMA %#lx-%#lx flags %#lx, model %#lx",
					x->start, x->end, vma->vm_flags,
					x->flags);
		if (vma->vm_pgoff != x->pgoff)
			return MISMATCH(r, "VMA %#lx-%#lx pgoff %#lx, model %#lx",
					x->start, x->end, vma->vm_pgoff,
					x->pgoff);
		if (vma->anon_vma != anon_token(x->anon) ||
		    (x->anon && vma->vm_anon_chain != x->chain))
			return MISMATCH(r,
					"VMA %#lx-%#lx anon_vma %p chain %u, model %p chain %u",
					x->start, x->end,
					vma->anon_vma, vma->vm_anon_chain,
					anon_token(x->anon), x->chain);
		if (vma->vm_page_prot != shadow_vm_get_page_prot(x->flags))
			return MISMATCH(r, "VMA %#lx-%#lx vm_page_prot %#lx",
					x->start, x->end, vma->vm_page_prot);
		if (vma->vm_mm != mm)
			return MISMATCH(r, "VMA %#lx-%#lx vm_mm", x->start,
					x->end);
		/* which struct: the same as before, or a new one for new */
		r->vma_id = grow(r->vma_id, &r->nr_vma_id, serial);
		r->id_vma = grow(r->id_vma, &r->nr_id_vma, x->id);
		if (r->vma_id[serial] != x->id) {
			if (r->vma_id[serial] || x->id < m->op_first_id ||
			    r->id_vma[x->id])
				return MISMATCH(r,
						"VMA %#lx-%#lx is struct #%lu (model VMA %lu), model: VMA %lu",
						x->start, x->end,
						serial, r->vma_id[serial],
						x->id);
			r->vma_id[serial] = x->id;
			r->id_vma[x->id] = serial;
		}
		/* the backing: the same object for the same model backing */
		if (!vma->vm_mapping != !x->backing)
			return MISMATCH(r, "VMA %#lx-%#lx backing %p, model %lu",
					x->start, x->end, vma->vm_mapping,
					x->backing);
		if (x->backing) {
			unsigned long sid = vma->vm_mapping->id -
					    r->first_shmem;

			r->sh_b = grow(r->sh_b, &r->nr_sh_b, sid);
			r->b_sh = grow(r->b_sh, &r->nr_b_sh, x->backing);
			if (r->sh_b[sid] != x->backing) {
				if (r->sh_b[sid] ||
				    x->backing < m->op_first_backing ||
				    r->b_sh[x->backing])
					return MISMATCH(r,
							"VMA %#lx-%#lx backing #%lu, model %lu",
							x->start, x->end,
							sid, x->backing);
				r->sh_b[sid] = x->backing;
				r->b_sh[x->backing] = sid;
			}
		}
		i++;
	}
	if (i != m->n)
		return MISMATCH(r, "%d VMAs, model %d", i, m->n);
	if (mm->map_count != m->n)
		return MISMATCH(r, "map_count %d, model %d", mm->map_count,
				m->n);
	if (mm->total_vm != m->total_vm || mm->locked_vm != m->locked_vm ||
	    mm->data_vm != m->data_vm || mm->exec_vm != m->exec_vm ||
	    mm->stack_vm != m->stack_vm)
		return MISMATCH(r,
				"total/locked/data/exec/stack_vm %lu/%lu/%lu/%lu/%lu, model %lu/%lu/%lu/%lu/%lu",
				mm->total_vm, mm->locked_vm, mm->data_vm,
				mm->exec_vm, mm->stack_vm, m->total_vm,
				m->locked_vm, m->data_vm, m->exec_vm,
				m->stack_vm);
	if (harness_counters.live_vmas - r->live_vmas0 != m->n)
		return MISMATCH(r, "%ld live VMAs for %d in the tree",
				harness_counters.live_vmas - r->live_vmas0,
				m->n);
	if (harness_nr_warnings != r->warnings0)
		return MISMATCH(r, "shadow_warn_on() fired");
	if (shadow_validate_mm(mm))
		return MISMATCH(r, "shadow_validate_mm() failed");
	if (full) {
		/* every backing's references are its VMAs */
		long objs = 0;

		for (i = 0; i < m->n; i++) {
			unsigned long b = m->v[i].backing;
			int j, users = 0;

			if (!b)
				continue;
			for (j = 0; j < m->n; j++)
				users += m->v[j].backing == b;
			for (j = 0; j < i; j++)
				if (m->v[j].backing == b)
					break;
			if (j == i)
				objs++;
			vma = shadow_find_vma(mm, m->v[i].start);
			if (refcount_read(&vma->vm_mapping->ref) != users)
				return MISMATCH(r,
						"backing of %#lx: %u refs for %d VMAs",
						m->v[i].start,
						refcount_read(&vma->vm_mapping->ref),
						users);
		}
		if (harness_counters.live_shmem - r->live_shmem0 != objs)
			return MISMATCH(r, "%ld live backings, model %ld",
					harness_counters.live_shmem -
					r->live_shmem0, objs);
		if (harness_mt_validate(mm))
			return MISMATCH(r, "mt_validate() failed");
	}
	return true;
}

static const char *op_name(const struct op *op)
{
	static const char * const names[] = {
		[OP_MMAP] = "mmap", [OP_MUNMAP] = "munmap",
		[OP_MPROTECT] = "mprotect", [OP_FAULT] = "fault",
		[OP_MERGE] = "vma_merge",
	};

	return names[op->kind];
}

static void print_op(FILE *f, int i, const struct op *op)
{
	fprintf(f, "#   %4d: %s(%#lx, %#lx", i, op_name(op), op->addr,
		op->len);
	if (op->kind == OP_MMAP)
		fprintf(f, ", prot %#lx, flags %#lx, pgoff %#lx", op->prot,
			op->flags, op->pgoff);
	else if (op->kind == OP_MPROTECT)
		fprintf(f, ", prot %#lx", op->prot);
	else if (op->kind == OP_FAULT)
		fprintf(f, ", %s", op->prot == 2 ? "inherited" : "own");
	else if (op->kind == OP_MERGE)
		fprintf(f, ", vm_flags %#lx, pgoff %#lx, backing of %s",
			op->flags, op->pgoff, op->prot == 1 ? "prev" :
			op->prot == 2 ? "next" : "none");
	fprintf(f, ")\n");
}

/* One operation on both. Return: false on a mismatch (r->why). */
static bool step(struct run *r, const struct op *op, bool full)
{
	struct model *m = r->m;
	int max = r->ep->max_map_count;
	unsigned long e_pop = 0, m_pop = 0, e_ret, m_ret;
	struct shadow_vma *vma;
	int i;

	m->op_first_id = m->next_id;
	m->op_first_backing = m->next_backing;
	m->nr_calls = 0;
	harness_record_reset();

	switch (op->kind) {
	case OP_MMAP:
		e_ret = shadow_do_mmap(r->mm, op->addr, op->len, op->prot,
				       op->flags, op->pgoff, &e_pop);
		m_ret = m_mmap(m, op->addr, op->len, op->prot, op->flags,
			       op->pgoff, max, &m_pop);
		break;
	case OP_MUNMAP:
		e_ret = shadow_do_munmap(r->mm, op->addr, op->len);
		m_ret = m_munmap(m, op->addr, op->len, max);
		break;
	case OP_MPROTECT:
		e_ret = e_mprotect(r->mm, op->addr, op->addr + op->len,
				   op->prot);
		m_ret = m_mprotect(m, op->addr, op->addr + op->len, op->prot,
				   max);
		break;
	case OP_MERGE:
		e_ret = e_merge_op(r->mm, op->addr, op->len, op->flags,
				   op->pgoff, op->prot);
		m_ret = m_merge_op(m, op->addr, op->len, op->flags, op->pgoff,
				   op->prot);
		break;
	case OP_FAULT:
		i = m_find(m, op->addr);
		vma = shadow_find_vma(r->mm, op->addr);
		e_ret = 0;
		m_ret = 0;
		if (i == m->n || m->v[i].start > op->addr || m->v[i].anon ||
		    (m->v[i].flags & VM_SHARED))
			break;
		m->v[i].anon = ++m->next_anon;
		m->v[i].chain = op->prot == 2 ? 2 : 1;
		if (vma) {
			harness_set_anon_vma(vma, anon_token(m->v[i].anon));
			vma->vm_anon_chain = m->v[i].chain;
		}
		break;
	default:
		abort();
	}
	switch ((long)m_ret) {
	case -EINVAL:
		stats[ST_EINVAL]++;
		break;
	case -ENOMEM:
		stats[ST_ENOMEM]++;
		break;
	case -EPERM:
		stats[ST_EPERM]++;
		break;
	case -EEXIST:
		stats[ST_EEXIST]++;
		break;
	case -EAGAIN:
		stats[ST_EAGAIN]++;
		break;
	case -EOVERFLOW:
		stats[ST_EOVERFLOW]++;
		break;
	default:
		stats[ST_OK]++;
	}
	if (e_ret != m_ret)
		return MISMATCH(r, "returned %ld, model %ld", (long)e_ret,
				(long)m_ret);
	if (e_pop != m_pop)
		return MISMATCH(r, "populate %#lx, model %#lx", e_pop, m_pop);
	if (!same_calls(r))
		return false;
	return same_layout(r, full);
}

static void run_init(struct run *r, struct model *m, const struct episode *ep)
{
	memset(r, 0, sizeof(*r));
	memset(m, 0, sizeof(*m));
	r->m = m;
	r->ep = ep;
	shadow_max_map_count = ep->max_map_count;
	harness_limits = ep->limits;
	r->mm = harness_mm_alloc();
	r->mm->mmap_base = ep->mmap_base;
	r->mm->mmap_min_addr = ep->mmap_min_addr;
	m->task_size = r->mm->task_size;
	m->mmap_base = ep->mmap_base;
	m->mmap_min_addr = ep->mmap_min_addr;
	m->next_id = 1;
	m->next_backing = 1;
	r->live_vmas0 = harness_counters.live_vmas;
	r->live_shmem0 = harness_counters.live_shmem;
	r->live_nodes0 = harness_counters.live_nodes;
	r->anon_refs0 = harness_counters.anon_refs;
	r->warnings0 = harness_nr_warnings;
	/* serials and backing ids of this run are above these */
	r->first_serial = harness_counters.vma_serials;
	r->first_shmem = harness_counters.shmem_serials;
}

/* exit_mmap on both, and nothing left behind. */
static bool run_exit(struct run *r)
{
	struct model *m = r->m;
	unsigned long pages = 0;
	bool ok = true;
	int i;

	harness_record_reset();
	m->nr_calls = 0;
	for (i = 0; i < m->n; i++)
		pages += m_pages(&m->v[i]);
	if (m->n) {
		m_call(m, HARNESS_UNMAP_VMAS, 0, ULONG_MAX, m->n,
		       m->v[0].start, m->v[m->n - 1].end, pages);
		m_call(m, HARNESS_FREE_PGTABLES, 0, 0, m->n, m->v[0].start,
		       m->v[m->n - 1].end, pages);
	}
	shadow_exit_mmap(r->mm);
	if (!same_calls(r))
		ok = false;
	else if (r->mm->map_count || r->mm->total_vm || r->mm->locked_vm ||
		 r->mm->data_vm || r->mm->exec_vm || r->mm->stack_vm)
		ok = MISMATCH(r, "counters not 0 after exit_mmap");
	else if (harness_counters.live_vmas != r->live_vmas0 ||
		 harness_counters.live_shmem != r->live_shmem0 ||
		 harness_counters.live_nodes != r->live_nodes0 ||
		 harness_counters.anon_refs != r->anon_refs0)
		ok = MISMATCH(r,
			      "leak: %ld VMAs, %ld backings, %ld nodes, %ld anon_vma references",
			      harness_counters.live_vmas - r->live_vmas0,
			      harness_counters.live_shmem - r->live_shmem0,
			      harness_counters.live_nodes - r->live_nodes0,
			      harness_counters.anon_refs - r->anon_refs0);
	harness_mm_free(r->mm);
	free(r->vma_id);
	free(r->id_vma);
	free(r->sh_b);
	free(r->b_sh);
	return ok;
}

/* ------------------------------------------------------------------ */
/* Random operations                                                   */

static unsigned long gen_addr(const struct episode *ep)
{
	int a = rnd(ep->nr_areas);
	unsigned long lo = ep->lo[a], hi = ep->hi[a], r = rnd(100);

	if (r < 92)
		return lo + rnd((hi - lo) / PG) * PG;
	if (r < 95)
		return lo + rnd(hi - lo);
	if (r < 97)
		return rnd(HARNESS_MMAP_MIN_ADDR + 2 * PG) & PAGE_MASK;
	if (r < 99)
		return HARNESS_TASK_SIZE - rnd(4) * PG;
	return 0;
}

static unsigned long gen_len(const struct episode *ep)
{
	unsigned long r = rnd(100), window = (ep->hi[0] - ep->lo[0]) / PG;

	if (r < 60)
		return (1 + rnd(8)) * PG;
	if (r < 88)
		return (1 + rnd(window / 2)) * PG;
	if (r < 95)
		return 1 + rnd(4 * PG);
	if (r < 97)
		return 0;
	if (r < 98)
		return HARNESS_TASK_SIZE + rnd(2) * PG;
	return -1UL - rnd(PG);
}

static unsigned long gen_prot(void)
{
	static const unsigned long prots[] = {
		PROT_NONE, PROT_READ, PROT_READ, PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC,
		PROT_READ | PROT_WRITE | PROT_EXEC,
	};

	return prots[rnd(ARRAY_SIZE(prots))];
}

/* A range in a gap, with flags and pgoff that may let it merge */
static void gen_merge_op(struct op *op, const struct episode *ep,
			 const struct model *m)
{
	int i = rnd(m->n + 1), src = rnd(3);
	unsigned long gs, ge;
	const struct mvma *v;

	gs = i > 0 ? m->v[i - 1].end : max(m->v[0].start, 64 * PG) - 64 * PG;
	ge = i < m->n ? m->v[i].start : gs + 64 * PG;
	op->kind = OP_MERGE;
	if (ge <= gs) {
		/* no gap there: a range that is mapped, refused */
		op->addr = m->v[i > 0 ? i - 1 : 0].start;
		op->len = PG;
		return;
	}
	op->addr = rnd(2) ? gs : gs + rnd((ge - gs) / PG) * PG;
	op->len = rnd(2) ? ge - op->addr :
		  (1 + rnd((ge - op->addr) / PG)) * PG;
	if (src == 0 && i > 0) {
		v = &m->v[i - 1];
		op->flags = v->flags;
		op->pgoff = v->pgoff + (op->addr - v->start) / PG;
		op->prot = 1;
	} else if (src == 1 && i < m->n) {
		v = &m->v[i];
		op->flags = v->flags;
		op->pgoff = v->pgoff - (v->start - op->addr) / PG;
		op->prot = 2;
	} else {
		op->flags = mprotect_flags(VM_MAYREAD | VM_MAYWRITE |
					   VM_MAYEXEC | VM_SOFTDIRTY,
					   gen_prot());
		op->pgoff = op->addr / PG;
	}
	if (rnd(10) == 0)
		op->pgoff += 1;
	if (rnd(30) == 0)
		op->flags |= VM_DONTEXPAND;
	if (rnd(10) == 0)
		op->flags ^= VM_SOFTDIRTY;
}

static void gen_op(struct op *op, const struct episode *ep,
		   const struct model *m)
{
	unsigned long r = rnd(100), t;

	memset(op, 0, sizeof(*op));
	if (r < 50) {
		op->kind = OP_MMAP;
		op->prot = gen_prot();
		op->len = gen_len(ep);
		t = rnd(100);
		op->flags = MAP_ANONYMOUS |
			    (t < 75 ? MAP_PRIVATE : t < 97 ? MAP_SHARED :
			     t < 98 ? 0 : MAP_SHARED | MAP_PRIVATE);
		op->flags |= rnd(10) == 0 ? MAP_NORESERVE : 0;
		op->flags |= rnd(25) == 0 ? MAP_GROWSDOWN : 0;
		op->flags |= rnd(20) == 0 ? MAP_LOCKED : 0;
		op->flags |= rnd(20) == 0 ? MAP_POPULATE : 0;
		op->flags |= rnd(50) == 0 ? MAP_NONBLOCK : 0;
		t = rnd(100);
		if (t < 35)
			op->flags |= MAP_FIXED;
		else if (t < 45)
			op->flags |= MAP_FIXED_NOREPLACE;
		if (t < 65)
			op->addr = gen_addr(ep);
		t = rnd(100);
		op->pgoff = t < 2 ? -1UL - rnd(4) : t < 5 ? rnd(1000) : 0;
	} else if (r < 80) {
		op->kind = OP_MUNMAP;
		if (rnd(30) == 0) {
			/* sweep the area and what spilled below it */
			op->addr = ep->lo[0] > 8 * (ep->hi[0] - ep->lo[0]) ?
				   ep->lo[0] - 8 * (ep->hi[0] - ep->lo[0]) :
				   0;
			op->len = ep->hi[0] + PG - op->addr;
		} else {
			op->addr = gen_addr(ep);
			op->len = gen_len(ep);
		}
	} else if (r < 88 && m->n) {
		gen_merge_op(op, ep, m);
	} else if (r < 97 || !opt_faults) {
		op->kind = OP_MPROTECT;
		op->prot = gen_prot();
		if (m->n && rnd(10)) {
			const struct mvma *v = &m->v[rnd(m->n)];

			op->addr = v->start + rnd(m_pages(v)) * PG;
			op->len = (1 + rnd((v->end - op->addr) / PG)) * PG;
		} else {
			op->addr = gen_addr(ep) & PAGE_MASK;
			op->len = (1 + rnd(8)) * PG;
		}
	} else {
		/* prot 2: as if inherited through fork */
		op->kind = OP_FAULT;
		op->addr = m->n ? m->v[rnd(m->n)].start : gen_addr(ep);
		op->prot = rnd(4) ? 1 : 2;
	}
}

static void gen_episode(struct episode *ep)
{
	unsigned long w = (64 + rnd(193)) * PG;

	memset(ep, 0, sizeof(*ep));
	ep->max_map_count = HARNESS_MAX_MAP_COUNT;
	ep->limits = (struct harness_limits){
		.as_pages = ULONG_MAX,
		.data_pages = ULONG_MAX,
		.memlock_pages = ULONG_MAX,
	};
	ep->mmap_min_addr = HARNESS_MMAP_MIN_ADDR;
	if (rnd(3)) {
		/* below the default mmap_base, where the search starts */
		ep->mmap_base = HARNESS_MMAP_BASE;
		ep->lo[0] = ep->mmap_base - w;
		ep->hi[0] = ep->mmap_base + 8 * PG;
		ep->nr_areas = 1;
	} else {
		/* a low mmap_base: below mmap_min_addr, and bottom-up */
		unsigned long ub = PAGE_ALIGN(HARNESS_TASK_SIZE / 3);

		if (rnd(2))
			ep->mmap_min_addr = PG;
		ep->mmap_base = ep->mmap_min_addr + rnd(32) * PG;
		ep->lo[0] = 0;
		ep->hi[0] = ep->mmap_base + w;
		ep->lo[1] = ub;
		ep->hi[1] = ub + w;
		ep->nr_areas = 2;
	}
	if (rnd(4) == 0) {
		ep->max_map_count = 4 + rnd(40);
		if (rnd(2))
			ep->limits.as_pages = 16 + rnd(256);
		if (rnd(2))
			ep->limits.data_pages = rnd(128);
		if (rnd(3))
			ep->limits.memlock_pages = rnd(64);
		ep->limits.cap_ipc_lock = rnd(4) == 0;
	}
}

static void print_episode(FILE *f, const struct episode *ep)
{
	fprintf(f,
		"#   mmap_base %#lx, mmap_min_addr %#lx, max_map_count %d, RLIMIT_AS %ld, RLIMIT_DATA %ld, RLIMIT_MEMLOCK %ld pages, CAP_IPC_LOCK %d\n",
		ep->mmap_base, ep->mmap_min_addr,
		ep->max_map_count, (long)ep->limits.as_pages,
		(long)ep->limits.data_pages, (long)ep->limits.memlock_pages,
		ep->limits.cap_ipc_lock);
}

/* ------------------------------------------------------------------ */
/* Replay and shrinking                                                */

static void dump_layouts(FILE *f, struct run *r)
{
	struct shadow_vma *vma;
	int i;

	MA_STATE(mas, &r->mm->mm_mt, 0, 0);

	fprintf(f, "#   engine:\n");
	mas_for_each(&mas, vma, ULONG_MAX)
		fprintf(f, "#     %#lx-%#lx flags %#lx pgoff %#lx%s%s\n",
			vma->vm_start, vma->vm_end, vma->vm_flags,
			vma->vm_pgoff, vma->vm_mapping ? " shared" : "",
			vma->anon_vma ? " anon" : "");
	fprintf(f, "#   model:\n");
	for (i = 0; i < r->m->n; i++)
		fprintf(f, "#     %#lx-%#lx flags %#lx pgoff %#lx%s%s\n",
			r->m->v[i].start, r->m->v[i].end, r->m->v[i].flags,
			r->m->v[i].pgoff, r->m->v[i].backing ? " shared" : "",
			r->m->v[i].anon ? " anon" : "");
}

/*
 * Replay @ops from a fresh address space. Return: the index of the first
 * operation on which the engine and the model disagree, @n when they
 * disagree at exit, -1 when they never do.
 */
static int replay(const struct episode *ep, const struct op *ops, int n,
		  char *why, size_t why_len)
{
	static struct model m;
	struct run r;
	int i;

	run_init(&r, &m, ep);
	for (i = 0; i < n; i++) {
		if (why && i == n - 1) {
			fprintf(stderr, "# before the last operation:\n");
			dump_layouts(stderr, &r);
		}
		if (!step(&r, &ops[i], true)) {
			if (why) {
				snprintf(why, why_len, "%s", r.why);
				fprintf(stderr, "# after it: %s\n", r.why);
				dump_layouts(stderr, &r);
			}
			return i;
		}
	}
	if (!run_exit(&r)) {
		if (why)
			snprintf(why, why_len, "%s", r.why);
		return n;
	}
	return -1;
}

/* The same in a child, which may crash: -1, or where it failed. */
static int replay_child(const struct episode *ep, const struct op *ops,
			int n)
{
	int status, fds[2], at = n;
	pid_t pid;

	if (pipe(fds))
		abort();
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		abort();
	if (!pid) {
		close(fds[0]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(2);
		at = replay(ep, ops, n, NULL, 0);
		if (write(fds[1], &at, sizeof(at)) != sizeof(at))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &at, sizeof(at)) != sizeof(at))
		at = n;		/* crashed: somewhere in there */
	close(fds[0]);
	waitpid(pid, &status, 0);
	return at;
}

/*
 * ddmin: remove chunks of operations as long as the rest still fails, and
 * cut what follows the failing operation. Return: the new length.
 */
static int shrink(const struct episode *ep, struct op *ops, int n)
{
	struct op *try = malloc(n * sizeof(*ops));
	time_t deadline = time(NULL) + 20;
	int chunks = 2, at, tries = 0;

	if (!try)
		abort();
	at = replay_child(ep, ops, n);
	if (at < 0)
		goto out;		/* does not fail again */
	n = at < n ? at + 1 : n;
	while (n >= 2 && tries < 5000 && time(NULL) < deadline) {
		int len = (n + chunks - 1) / chunks, c;
		bool reduced = false;

		for (c = 0; c * len < n; c++) {
			int start = c * len, end = min(n, start + len), k;

			k = start;
			memcpy(try, ops, start * sizeof(*ops));
			memcpy(try + k, ops + end, (n - end) * sizeof(*ops));
			k += n - end;
			tries++;
			at = replay_child(ep, try, k);
			if (at >= 0) {
				k = at < k ? at + 1 : k;
				memcpy(ops, try, k * sizeof(*ops));
				n = k;
				chunks = max(chunks - 1, 2);
				reduced = true;
				break;
			}
		}
		if (!reduced) {
			if (chunks >= n)
				break;
			chunks = min(2 * chunks, n);
		}
	}
out:
	free(try);
	return n;
}

/* ------------------------------------------------------------------ */
/* The tests                                                           */

static struct model model;

/*
 * Run episodes until @nr_ops operations: false, with the failure printed,
 * on a mismatch.
 */
static bool run_random(struct __test_metadata *_metadata, unsigned long seed,
		       unsigned long nr_ops, unsigned long *done)
{
	struct op *ops = NULL;
	int cap = 0, nr, len, i;
	unsigned long episodes = 0;
	struct episode ep;
	struct run r;
	char why[512];

	rng_state = seed;
	*done = 0;
	while (*done < nr_ops) {
		gen_episode(&ep);
		len = 200 + rnd(3000);
		if (len > cap) {
			cap = len;
			ops = realloc(ops, cap * sizeof(*ops));
			if (!ops)
				abort();
		}
		run_init(&r, &model, &ep);
		for (nr = 0; nr < len; nr++) {
			gen_op(&ops[nr], &ep, &model);
			if (!step(&r, &ops[nr], nr % 32 == 31))
				goto failed;
		}
		if (!same_layout(&r, true) || !run_exit(&r)) {
			nr--;
			goto failed;
		}
		*done += nr;
		episodes++;
	}
	ksft_print_msg("seed %lu: %lu operations in %lu episodes agree\n",
		       seed, *done, episodes);
	ksft_print_msg("");
	for (i = 1; i < NR_STATS; i++)
		printf("%s%s %lu", i > 1 ? ", " : "", stat_names[i], stats[i]);
	printf("\n");
	fflush(stdout);
	free(ops);
	return true;

failed:
	snprintf(why, sizeof(why), "%s", r.why);
	fprintf(stderr,
		"# MISMATCH: seed %lu, episode %lu, operation %d (%lu before it): %s\n",
		seed, episodes, nr, *done, why);
	print_op(stderr, nr, &ops[nr]);
	print_episode(stderr, &ep);
	nr = shrink(&ep, ops, nr + 1);
	i = replay(&ep, ops, nr, why, sizeof(why));
	fprintf(stderr, "# shortest failing sequence found (%d operations):\n", nr);
	print_episode(stderr, &ep);
	for (i = 0; i < nr; i++)
		print_op(stderr, i, &ops[i]);
	fprintf(stderr, "# rerun: vma_model_test --seed %lu%s\n", seed,
		opt_faults ? "" : " --no-faults");
	free(ops);
	return false;
}

FIXTURE(model) {
};

FIXTURE_SETUP(model)
{
	/* a warning is a mismatch here, not the end of the process */
	harness_warn_aborts = false;
}

FIXTURE_TEARDOWN(model)
{
}

/*
 * Two programs' worth of work in one: each half of the operations with its
 * own seed, so that a run of one half can be repeated alone.
 */
TEST_F_TIMEOUT(model, random_ops_1, 600)
{
	unsigned long done;

	ASSERT_TRUE(run_random(_metadata, opt_seed, opt_ops / 2, &done));
}

TEST_F_TIMEOUT(model, random_ops_2, 600)
{
	unsigned long done;

	ASSERT_TRUE(run_random(_metadata, opt_seed + 1000003, opt_ops / 2,
			       &done));
}

/* The model itself, on a few layouts known from Linux. */
TEST_F(model, model_knows_linux)
{
	static struct model m;
	unsigned long pop, top = HARNESS_MMAP_BASE;

	memset(&m, 0, sizeof(m));
	m.task_size = HARNESS_TASK_SIZE;
	m.mmap_base = top;
	m.mmap_min_addr = HARNESS_MMAP_MIN_ADDR;
	m.next_id = 1;
	harness_limits = (struct harness_limits){ ULONG_MAX, ULONG_MAX,
						  ULONG_MAX, false };
	/* top-down, then merged with the one below */
	ASSERT_EQ(top - 4 * PG, m_mmap(&m, 0, 4 * PG, PROT_READ,
				       MAP_PRIVATE | MAP_ANONYMOUS, 0, 65530,
				       &pop));
	ASSERT_EQ(top - 6 * PG, m_mmap(&m, 0, 2 * PG, PROT_READ,
				       MAP_PRIVATE | MAP_ANONYMOUS, 0, 65530,
				       &pop));
	ASSERT_EQ(1, m.n);
	ASSERT_EQ(top - 6 * PG, m.v[0].start);
	ASSERT_EQ((top - 6 * PG) / PG, m.v[0].pgoff);
	/* a hole punched: split */
	ASSERT_EQ(0, m_munmap(&m, top - 4 * PG, PG, 65530));
	ASSERT_EQ(2, m.n);
	ASSERT_EQ(top - 3 * PG, m.v[1].start);
	ASSERT_EQ(-ENOMEM, m_munmap(&m, top - 2 * PG, PG, 2));
	/* refilled: merged back, prev survives */
	ASSERT_EQ(top - 4 * PG, m_mmap(&m, top - 4 * PG, PG, PROT_READ,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				       0, 65530, &pop));
	ASSERT_EQ(1, m.n);
	ASSERT_EQ(1, m.v[0].id);
	/* a stack's guard gap pushes the search down */
	ASSERT_EQ(top + 100 * PG, m_mmap(&m, top + 100 * PG, PG, PROT_READ,
					 MAP_PRIVATE | MAP_ANONYMOUS |
					 MAP_FIXED | MAP_GROWSDOWN, 0, 65530,
					 &pop));
	ASSERT_EQ(0, m_munmap(&m, top - 6 * PG, 6 * PG, 65530));
	ASSERT_EQ(top + 100 * PG - GUARD_GAP - PG,
		  m_mmap(&m, 0, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 0,
			 65530, &pop));
}

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : def;
}

/* Options, before the harness runs (glibc passes argc/argv here too). */
static void __attribute__((constructor)) model_options(int argc, char **argv)
{
	int i;

	opt_seed = env_ulong("VMA_MODEL_SEED", opt_seed);
	opt_ops = env_ulong("VMA_MODEL_OPS", opt_ops);
	opt_faults = env_ulong("VMA_MODEL_FAULTS", 1);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			opt_seed = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--ops") && i + 1 < argc)
			opt_ops = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--no-faults"))
			opt_faults = false;
	}
}

TEST_HARNESS_MAIN
