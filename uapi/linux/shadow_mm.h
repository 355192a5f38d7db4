/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * shadow_mm: a shadow address-space engine.
 *
 * User-space API of /dev/shadow_mm and of the address-space file descriptors
 * it creates.
 */
#ifndef _UAPI_LINUX_SHADOW_MM_H
#define _UAPI_LINUX_SHADOW_MM_H

#include <linux/const.h>
#include <linux/types.h>
#include <linux/ioctl.h>

#define SHADOW_MM_ABI_VERSION	2

/**
 * DOC: General ioctl format
 *
 * Every command takes a pointer to a struct whose first two fields are
 * ``__u32 size`` (the size of the struct as user space knows it) and
 * ``__u32 flags``. The kernel reads the struct with copy_struct_from_user():
 * a shorter, older struct has its missing fields taken as zero; a longer one
 * must have zeroes past the end the kernel knows, or the call fails with
 * -E2BIG. Output fields are prefixed ``out_`` and written back for at most
 * ``size`` bytes.
 *
 * The command numbers are _IO(SHADOW_MM_TYPE, nr); the size is carried in the
 * struct, not in the command number. Numbers 0x00-0x0f act on /dev/shadow_mm,
 * 0x10-0x3f on an address-space fd returned by SHADOW_MM_CREATE.
 *
 * Errors common to every command:
 *
 *  - ENOTTY: unknown command, or a command sent to the wrong kind of fd.
 *  - EFAULT: a user pointer (the argument or a buffer it names) is bad.
 *  - EINVAL: size is smaller than the first version of the struct, a flag
 *    is unknown, or a reserved field is not zero.
 *  - E2BIG: size is larger than the kernel's struct and the extra bytes are
 *    not all zero, or size is larger than a page.
 *  - ESRCH: the address space fd has exited (SHADOW_MM_EXIT).
 *  - EPERM: SHADOW_MM_CREATE before a successful SHADOW_MM_API.
 *  - EINTR: the caller was killed while it waited for the address
 *    space's lock.
 *
 * Arrays of records (struct shadow_mm_batch_op, struct shadow_vma_info,
 * struct shadow_page_info) grow the same way: the command carries the
 * record size user space knows (@op_size, @rec_size; 0 means the first
 * version's, SHADOW_*_SIZE_VER0), a multiple of 8 from that first size up
 * to SHADOW_REC_SIZE_MAX (-EINVAL otherwise). Records user space writes
 * are read at that stride with copy_struct_from_user() semantics; records
 * the kernel writes are written at that stride, truncated to what user
 * space knows or zero-padded past what the kernel knows.
 */

/**
 * DOC: ABI versions
 *
 * Size-versioned structs, record sizes and feature bits (out_features,
 * out_ioctls of SHADOW_MM_API) are how the interface grows compatibly:
 * an old program keeps working against a newer module. The ABI version
 * marks incompatible changes only; SHADOW_MM_API accepts the module's
 * version, or 0, and fails with -EINVAL for any other.
 *
 *  - 1: the first interface.
 *  - 2: the flags of msync(2) moved from @flags of struct shadow_mm_msync
 *    (which must now be 0) to its @msync_flags, and the arrays got a
 *    record size (the former @__reserved of struct shadow_mm_batch, which
 *    had to be 0, is @op_size; struct shadow_mm_get_vmas and struct
 *    shadow_mm_walk gained @rec_size). A program written for version 1
 *    must be rebuilt against this header; its handshake with version 1
 *    fails.
 */
#define SHADOW_MM_TYPE		0xC7

/* The largest record size an array command takes (a page on x86-64). */
#define SHADOW_REC_SIZE_MAX	4096

enum {
	SHADOW_MM_CMD_API = 0x00,
	SHADOW_MM_CMD_CREATE = 0x01,
	SHADOW_MM_CMD_DEV_RECLAIM = 0x02,
	SHADOW_MM_CMD_MMAP = 0x10,
	SHADOW_MM_CMD_MUNMAP = 0x11,
	SHADOW_MM_CMD_EXIT = 0x12,
	SHADOW_MM_CMD_GET_VMAS = 0x13,
	SHADOW_MM_CMD_GET_MAPS = 0x14,
	SHADOW_MM_CMD_GET_STATS = 0x15,
	SHADOW_MM_CMD_FAULT = 0x16,
	SHADOW_MM_CMD_ACCESS = 0x17,
	SHADOW_MM_CMD_WALK = 0x18,
	SHADOW_MM_CMD_FORK = 0x19,
	SHADOW_MM_CMD_MADVISE = 0x1a,
	SHADOW_MM_CMD_MPROTECT = 0x1b,
	SHADOW_MM_CMD_MLOCK = 0x1c,
	SHADOW_MM_CMD_MUNLOCK = 0x1d,
	SHADOW_MM_CMD_MLOCKALL = 0x1e,
	SHADOW_MM_CMD_MUNLOCKALL = 0x1f,
	SHADOW_MM_CMD_MREMAP = 0x20,
	SHADOW_MM_CMD_BRK = 0x21,
	SHADOW_MM_CMD_RECLAIM = 0x22,
	SHADOW_MM_CMD_MSYNC = 0x23,
	SHADOW_MM_CMD_BATCH = 0x24,
	SHADOW_MM_CMD_SET_MM_MAP = 0x25,
	SHADOW_MM_CMD_SET_THP = 0x26,
};

/*
 * Features announced by SHADOW_MM_API: VMA for mmap, munmap, exit and the
 * maps; PGTABLE for faults, access and the page walk; FORK for fork with
 * copy-on-write and CLONE_VM-style users; MPROTECT for mprotect; MLOCK for
 * mlock, munlock, mlockall, munlockall, MAP_LOCKED and MAP_POPULATE;
 * MREMAP for mremap; BRK for brk and MAP_GROWSDOWN stacks that grow;
 * SWAP for the reverse map, reclaim and the shadow swap device; FILE for
 * mappings of files and SHADOW_MM_MSYNC; BATCH for SHADOW_MM_BATCH; ODF for
 * on-demand fork (SHADOW_FORK_ODF, SHADOW_PAGE_PT_SHARED, out_shared_ptes);
 * LAYOUT for what a process's layout after exec has: the special mappings
 * and the exec stack of SHADOW_MM_MMAP (SHADOW_MMAP_VDSO, SHADOW_MMAP_VVAR,
 * SHADOW_MMAP_STACK, @start_stack), the legacy layout of
 * SHADOW_CREATE_LEGACY_LAYOUT, SHADOW_MM_SET_MM_MAP and the layout fields
 * of struct shadow_mm_stats from @out_start_code on; THP for the
 * transparent huge page policy of an address space (SHADOW_MM_SET_THP,
 * smaps' THPeligible, the fields of struct shadow_mm_stats from
 * @out_anon_thps on, and those of struct shadow_page_info from @head_id
 * on, the PMD-mapped anonymous huge pages they count and show).
 */
#define SHADOW_MM_FEATURE_VMA		_BITULL(0)
#define SHADOW_MM_FEATURE_PGTABLE	_BITULL(1)
#define SHADOW_MM_FEATURE_FORK		_BITULL(2)
#define SHADOW_MM_FEATURE_MPROTECT	_BITULL(3)
#define SHADOW_MM_FEATURE_MLOCK		_BITULL(4)
#define SHADOW_MM_FEATURE_MREMAP	_BITULL(5)
#define SHADOW_MM_FEATURE_BRK		_BITULL(6)
#define SHADOW_MM_FEATURE_SWAP		_BITULL(7)
#define SHADOW_MM_FEATURE_FILE		_BITULL(8)
#define SHADOW_MM_FEATURE_BATCH		_BITULL(9)
#define SHADOW_MM_FEATURE_ODF		_BITULL(10)
#define SHADOW_MM_FEATURE_LAYOUT	_BITULL(11)
#define SHADOW_MM_FEATURE_THP		_BITULL(12)

/**
 * struct shadow_mm_api - ioctl(SHADOW_MM_API)
 * @size: sizeof(struct shadow_mm_api)
 * @flags: must be 0
 * @abi_version: the ABI version user space was written for; must be
 *               SHADOW_MM_ABI_VERSION (or 0 to accept the module's);
 *               any other fails with -EINVAL (see "ABI versions")
 * @__reserved: must be 0
 * @features: in: the features user space asks for (0: none required);
 *            asking for an unknown one fails with -EINVAL
 * @out_abi_version: the module's SHADOW_MM_ABI_VERSION
 * @__reserved2: 0 on output
 * @out_features: every SHADOW_MM_FEATURE_* the module has
 * @out_ioctls: bit N set when command number N is implemented
 * @out_rules: the kernel whose mm rules the engine follows, as
 *             KERNEL_VERSION(major, minor, 0): the kernel the module was
 *             built for (e.g. 0x060c00 for 6.12);
 *             Documentation/mm/shadow_mm-design.rst lists what differs
 *             between them
 * @__reserved3: 0 on output
 *
 * The handshake: on a new open of /dev/shadow_mm nothing but this command
 * works until it has succeeded once (other commands fail with -EPERM).
 */
struct shadow_mm_api {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 __reserved;
	__aligned_u64 features;
	__u32 out_abi_version;
	__u32 __reserved2;
	__aligned_u64 out_features;
	__aligned_u64 out_ioctls;
	__u32 out_rules;
	__u32 __reserved3;
};

#define SHADOW_MM_API		_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_API)

/*
 * struct shadow_mm_create.flags: the legacy bottom-up layout, as
 * arch_pick_mmap_layout() picks it for personality(ADDR_COMPAT_LAYOUT) or
 * vm.legacy_va_layout (x86's mmap_is_legacy(); an unlimited RLIMIT_STACK
 * only lowers mmap_base on x86, it does not make the layout legacy).
 */
#define SHADOW_CREATE_LEGACY_LAYOUT	_BITUL(0)

/**
 * struct shadow_mm_create - ioctl(SHADOW_MM_CREATE)
 * @size: sizeof(struct shadow_mm_create)
 * @flags: 0, or SHADOW_CREATE_LEGACY_LAYOUT (SHADOW_MM_FEATURE_LAYOUT):
 *         mappings without a fixed address go bottom-up from @mmap_base
 *         (arch_get_unmapped_area) instead of top-down below it; any other
 *         bit fails with -EINVAL
 * @mmap_base: the top of the top-down mmap area, page aligned and within the
 *             user address space; 0 for the default (TASK_SIZE - 128 MiB, as
 *             Linux places it with an 8 MiB stack rlimit and no randomization).
 *             With SHADOW_CREATE_LEGACY_LAYOUT the bottom of the bottom-up
 *             area instead; 0 for the default, TASK_UNMAPPED_BASE
 *             (PAGE_ALIGN(TASK_SIZE / 3), without randomization).
 *             -EINVAL when unaligned, above TASK_SIZE or not above
 *             mmap_min_addr
 * @out_id: the address space's small stable id (shown in traces and maps)
 * @__reserved: must be 0
 *
 * Creates an empty shadow address space and returns a new file descriptor
 * for it (O_CLOEXEC); the address space lives until that fd (and every fd
 * sharing it) has exited or been closed. Fails with -EINVAL (@mmap_base
 * unaligned, beyond the user address space or not above mmap_min_addr),
 * -EAGAIN (the caller's user has max_mms_per_user address spaces),
 * -ENOMEM, -EMFILE (the process's file descriptor limit).
 */
struct shadow_mm_create {
	__u32 size;
	__u32 flags;
	__aligned_u64 mmap_base;
	__u32 out_id;
	__u32 __reserved;
};

#define SHADOW_MM_CREATE	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_CREATE)

/*
 * struct shadow_mm_mmap.flags (SHADOW_MM_FEATURE_LAYOUT): the mappings exec
 * makes that mmap(2) cannot. At most one of them.
 */
#define SHADOW_MMAP_VDSO	_BITUL(0)	/* [vdso]: map_vdso()'s text */
#define SHADOW_MMAP_VVAR	_BITUL(1)	/* [vvar]: map_vdso()'s data */
#define SHADOW_MMAP_STACK	_BITUL(2)	/* [stack]: setup_arg_pages() */

/**
 * struct shadow_mm_mmap - ioctl(SHADOW_MM_MMAP) on an address-space fd
 * @size: sizeof(struct shadow_mm_mmap)
 * @flags: 0 for mmap(2); or one of the kinds below, at the fixed,
 *         page-aligned, non-zero @addr, with @map_flags, @fd and @offset
 *         0 (-EINVAL otherwise, or for more than one kind or an unknown
 *         bit), an overlap with a mapping failing with -ENOMEM
 *         (insert_vm_struct), a range outside [mmap_min_addr, TASK_SIZE)
 *         with -ENOMEM or -EPERM as a fixed mmap(2):
 *
 *  - SHADOW_MMAP_VDSO: the vDSO text as x86's map_vdso() installs it
 *    (_install_special_mapping): VM_READ | VM_EXEC | VM_MAYREAD |
 *    VM_MAYWRITE | VM_MAYEXEC | VM_DONTEXPAND | VM_SOFTDIRTY and
 *    def_flags but VM_LOCKED; @prot must be 0. Shown as [vdso].
 *  - SHADOW_MMAP_VVAR: the vDSO data: VM_READ | VM_MAYREAD | VM_IO |
 *    VM_DONTDUMP | VM_PFNMAP | VM_DONTEXPAND | VM_SOFTDIRTY; @prot must
 *    be 0. Shown as [vvar].
 *  - SHADOW_MMAP_STACK: the stack as setup_arg_pages() leaves it:
 *    anonymous, VM_STACK_FLAGS (VM_READ | VM_WRITE | VM_MAYREAD |
 *    VM_MAYWRITE | VM_MAYEXEC | VM_GROWSDOWN | VM_ACCOUNT, and VM_EXEC
 *    with PROT_EXEC or READ_IMPLIES_EXEC; a new program's def_flags are
 *    0), without VM_SOFTDIRTY; @prot must be PROT_READ | PROT_WRITE, with PROT_EXEC
 *    or not. @start_stack (within [@addr, @addr + @len]) becomes the
 *    address space's start_stack: the VMA containing it is shown as
 *    [stack]. The VMA grows down as a MAP_GROWSDOWN one does.
 *
 *  The special mappings (VDSO, VVAR) never merge, cannot be split (a
 *  munmap, mprotect, madvise or mremap of part of one fails with -EINVAL,
 *  as special_mapping_split()), cannot grow (mremap: -EFAULT) nor be
 *  moved with MREMAP_DONTUNMAP (-EINVAL); a whole one may be moved or
 *  unmapped. Their contents are not modelled: a fault in one that its
 *  flags allow fails as a fault past the end of a file does (-EFAULT,
 *  SIGBUS), where Linux maps the vDSO image or the vvar pages.
 * @addr: hint, or the fixed address with MAP_FIXED / MAP_FIXED_NOREPLACE
 * @len: length in bytes, rounded up to pages
 * @prot: PROT_* of <sys/mman.h>
 * @map_flags: MAP_* of <sys/mman.h>
 * @fd: the file to map without MAP_ANONYMOUS (a regular file: tmpfs,
 *      memfd, or a file system that reads pages with ->read_folio);
 *      ignored for anonymous mappings, as by mmap(2)
 * @__reserved: must be 0
 * @offset: byte offset, page aligned (-EINVAL otherwise, as mmap(2));
 *          ignored for anonymous mappings
 * @out_addr: the address of the new mapping
 * @start_stack: with SHADOW_MMAP_STACK, the new start_stack; must be 0
 *               otherwise (-EINVAL)
 *
 * Behaves as mmap(2) in a process whose mm is the shadow address space,
 * with Linux 6.1's errors: -EINVAL (zero length, neither or both of
 * MAP_SHARED and MAP_PRIVATE, unaligned fixed address, MAP_GROWSDOWN with
 * MAP_SHARED), -ENOMEM (length overflow, no room, beyond the user address
 * space, map count above max_map_count), -EEXIST (MAP_FIXED_NOREPLACE over a
 * mapping), -EPERM (a fixed address below mmap_min_addr, or MAP_LOCKED
 * with RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK), -EAGAIN
 * (MAP_LOCKED beyond RLIMIT_MEMLOCK), -EBADF (no MAP_ANONYMOUS and @fd not
 * open), -EOPNOTSUPP (a mapping flag the engine does not model). For a
 * file (SHADOW_MM_FEATURE_FILE), as mmap(2) too: -EACCES (MAP_SHARED with
 * PROT_WRITE on a file not open for writing, a file not open for
 * reading), -ETXTBSY (MAP_SHARED with PROT_WRITE on a swap file),
 * -EOVERFLOW (offset + length past the largest file size),
 * -ENODEV (a file without mmap, e.g. a pipe or a directory, and any file
 * that is not a regular file), -EPERM (PROT_EXEC on a noexec mount),
 * -EINVAL (MAP_HUGETLB, MAP_GROWSDOWN). The VMA holds the file: it is
 * released when the last VMA mapping it goes.
 *
 * On a module loaded into Linux 6.11 or later, the map type
 * MAP_DROPPABLE (0x08) maps private anonymous memory as that kernel does:
 * SHADOW_VM_DROPPABLE | SHADOW_VM_WIPEONFORK | SHADOW_VM_DONTDUMP |
 * SHADOW_VM_NORESERVE, its pages discarded by reclaim even when written
 * (they read zeroes after), never swapped; -EINVAL with MAP_LOCKED,
 * MAP_GROWSDOWN or a file. A failed page allocation in it fails the
 * access with -ENOMEM, where the kernel would let the process retry the
 * access instead of invoking the OOM killer. On 6.1 that map type is
 * -EINVAL.
 */
struct shadow_mm_mmap {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__u32 prot;
	__u32 map_flags;
	__s32 fd;
	__u32 __reserved;
	__aligned_u64 offset;
	__aligned_u64 out_addr;
	__aligned_u64 start_stack;
};

#define SHADOW_MM_MMAP		_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_MMAP)

/**
 * struct shadow_mm_munmap - ioctl(SHADOW_MM_MUNMAP) on an address-space fd
 * @size: sizeof(struct shadow_mm_munmap)
 * @flags: must be 0
 * @addr: page-aligned start
 * @len: length in bytes, rounded up to pages
 *
 * Behaves as munmap(2): -EINVAL for an unaligned start, zero length or a
 * range beyond the user address space; 0 when nothing is mapped there;
 * -ENOMEM when punching a hole would take the map count above
 * max_map_count.
 */
struct shadow_mm_munmap {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
};

#define SHADOW_MM_MUNMAP	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_MUNMAP)

/**
 * struct shadow_mm_exit - ioctl(SHADOW_MM_EXIT) on an address-space fd
 * @size: sizeof(struct shadow_mm_exit)
 * @flags: must be 0
 *
 * The fd's user of the address space exits (exit_mm -> mmput): when it was
 * the last user, every mapping is torn down. Every later command on this fd
 * fails with -ESRCH; closing the fd without exiting exits implicitly.
 */
struct shadow_mm_exit {
	__u32 size;
	__u32 flags;
};

#define SHADOW_MM_EXIT		_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_EXIT)

/*
 * VMA flags reported in struct shadow_vma_info.vm_flags: Linux's VM_* bit
 * values (include/linux/mm.h), which the module checks at build time.
 */
#define SHADOW_VM_READ		0x00000001ULL
#define SHADOW_VM_WRITE		0x00000002ULL
#define SHADOW_VM_EXEC		0x00000004ULL
#define SHADOW_VM_SHARED	0x00000008ULL
#define SHADOW_VM_MAYREAD	0x00000010ULL
#define SHADOW_VM_MAYWRITE	0x00000020ULL
#define SHADOW_VM_MAYEXEC	0x00000040ULL
#define SHADOW_VM_MAYSHARE	0x00000080ULL
#define SHADOW_VM_GROWSDOWN	0x00000100ULL
#define SHADOW_VM_PFNMAP	0x00000400ULL
#define SHADOW_VM_LOCKED	0x00002000ULL
#define SHADOW_VM_IO		0x00004000ULL
#define SHADOW_VM_SEQ_READ	0x00008000ULL
#define SHADOW_VM_RAND_READ	0x00010000ULL
#define SHADOW_VM_DONTCOPY	0x00020000ULL
#define SHADOW_VM_DONTEXPAND	0x00040000ULL
#define SHADOW_VM_LOCKONFAULT	0x00080000ULL
#define SHADOW_VM_ACCOUNT	0x00100000ULL
#define SHADOW_VM_NORESERVE	0x00200000ULL
#define SHADOW_VM_WIPEONFORK	0x02000000ULL
#define SHADOW_VM_DONTDUMP	0x04000000ULL
#define SHADOW_VM_SOFTDIRTY	0x08000000ULL
#define SHADOW_VM_HUGEPAGE	0x20000000ULL
#define SHADOW_VM_NOHUGEPAGE	0x40000000ULL
#define SHADOW_VM_DROPPABLE	0x10000000000ULL	/* Linux 6.11 on */

/* Kinds of backing of a VMA, in struct shadow_vma_info.backing. */
enum shadow_vma_backing {
	SHADOW_VMA_ANON_PRIVATE = 1,
	SHADOW_VMA_ANON_SHARED = 2,
	SHADOW_VMA_FILE = 3,	/* a file, private or shared */
	SHADOW_VMA_SPECIAL = 4,	/* SHADOW_MMAP_VDSO or SHADOW_MMAP_VVAR */
};

/**
 * struct shadow_vma_info - one VMA, as written by SHADOW_MM_GET_VMAS
 * @start: first address
 * @end: address past the last
 * @vm_flags: the VMA's VM_* flags, with Linux's bit values
 * @pgoff: vm_pgoff
 * @backing_id: identity of the backing object: equal for VMAs sharing
 *              one object (a shared anonymous mapping and its splits;
 *              the mappings of one open file); 0 for private anonymous
 *              memory; for SHADOW_VMA_SPECIAL, the kind: 1 for [vdso],
 *              2 for [vvar]
 * @backing: enum shadow_vma_backing
 * @__reserved: 0
 *
 * The record may grow: SHADOW_MM_GET_VMAS writes @rec_size bytes per VMA.
 */
struct shadow_vma_info {
	__aligned_u64 start;
	__aligned_u64 end;
	__aligned_u64 vm_flags;
	__aligned_u64 pgoff;
	__aligned_u64 backing_id;
	__u32 backing;
	__u32 __reserved;
};

/* sizeof(struct shadow_vma_info) as first defined */
#define SHADOW_VMA_INFO_SIZE_VER0	48

/* Most VMA records one SHADOW_MM_GET_VMAS may ask for. */
#define SHADOW_MAX_VMA_RECORDS		1048576	/* 1 << 20 */

/**
 * struct shadow_mm_get_vmas - ioctl(SHADOW_MM_GET_VMAS)
 * @size: sizeof(struct shadow_mm_get_vmas)
 * @flags: must be 0
 * @start: first address of the range to report
 * @end: end of the range (exclusive); every VMA intersecting
 *       [@start, @end) is reported; @start must be below @end
 * @vmas: user pointer to an array of @nr_vmas records of @rec_size bytes
 * @nr_vmas: capacity of @vmas, at most SHADOW_MAX_VMA_RECORDS (-EINVAL
 *           beyond)
 * @out_nr_vmas: how many VMAs intersect the range; at most @nr_vmas of them
 *               are written
 * @rec_size: sizeof(struct shadow_vma_info) as user space knows it; 0
 *            means SHADOW_VMA_INFO_SIZE_VER0. Each record written is the
 *            kernel's struct shadow_vma_info truncated to @rec_size, or
 *            zero-padded to it. A multiple of 8 from
 *            SHADOW_VMA_INFO_SIZE_VER0 to SHADOW_REC_SIZE_MAX, else
 *            -EINVAL
 * @__reserved: must be 0
 */
struct shadow_mm_get_vmas {
	__u32 size;
	__u32 flags;
	__aligned_u64 start;
	__aligned_u64 end;
	__aligned_u64 vmas;
	__u32 nr_vmas;
	__u32 out_nr_vmas;
	__u32 rec_size;
	__u32 __reserved;
};

#define SHADOW_MM_GET_VMAS	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_GET_VMAS)

/**
 * struct shadow_mm_get_maps - ioctl(SHADOW_MM_GET_MAPS)
 * @size: sizeof(struct shadow_mm_get_maps)
 * @flags: must be 0
 * @buf: user buffer for the text
 * @buf_len: its length
 * @out_len: the length of the whole text (no terminating NUL)
 *
 * Writes the address space's VMAs in the format of /proc/<pid>/maps. When
 * @buf_len is too small, nothing is written to @buf, @out_len is set and
 * the call fails with -ENOSPC.
 */
struct shadow_mm_get_maps {
	__u32 size;
	__u32 flags;
	__aligned_u64 buf;
	__aligned_u64 buf_len;
	__aligned_u64 out_len;
};

#define SHADOW_MM_GET_MAPS	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_GET_MAPS)

/**
 * struct shadow_mm_stats - ioctl(SHADOW_MM_GET_STATS)
 * @size: sizeof(struct shadow_mm_stats)
 * @flags: must be 0
 * @out_id: the address space's id
 * @out_mm_users: users of the address space (fds that have not exited,
 *                plus operations in flight)
 * @out_mm_count: references to the struct itself
 * @out_map_count: number of VMAs
 * @out_total_vm: mapped pages
 * @out_locked_vm: VM_LOCKED pages
 * @out_mmap_base: top of the top-down mmap area; with the legacy layout
 *                 the bottom of the bottom-up one (TASK_UNMAPPED_BASE)
 * @out_task_size: end of the user address space
 * @out_rss_anon: private anonymous pages mapped (the zero page not counted)
 * @out_rss_shmem: shared anonymous pages mapped
 * @out_nr_puds: page-table pages at the PUD level (below the PGD page)
 * @out_nr_pmds: page-table pages at the PMD level
 * @out_nr_ptes: page-table pages at the PTE level
 * @out_min_flt: faults served from memory
 * @out_maj_flt: faults that needed I/O
 * @out_cow_copies: write faults that copied a page (or the zero page)
 * @out_cow_reuses: write faults that made a page writable in place
 * @out_data_vm: pages in private writable, non-stack VMAs
 * @out_exec_vm: pages in executable, non-writable VMAs
 * @out_stack_vm: pages in VM_GROWSDOWN VMAs
 * @out_def_flags: VM_* flags every new mapping gets (VM_LOCKED, and
 *                 VM_LOCKONFAULT, after mlockall(MCL_FUTURE))
 * @out_start_brk: where the heap starts
 * @out_brk: the program break
 * @out_swapents: swap entries in its page tables (MM_SWAPENTS)
 * @out_swapins: pages it brought back from the swap device (each one also
 *               a major fault)
 * @out_swapouts: its PTEs that reclaim turned into swap entries
 * @out_rss_file: page-cache pages of files mapped (MM_FILEPAGES)
 * @out_shared_ptes: its PTE tables shared with other address spaces by
 *                   on-demand fork (each also counts in @out_nr_ptes, as
 *                   a copy would)
 * @out_start_code: mm->start_code (SHADOW_MM_FEATURE_LAYOUT; these fields
 *                  are 0 until SHADOW_MM_SET_MM_MAP sets them)
 * @out_end_code: mm->end_code
 * @out_start_data: mm->start_data
 * @out_end_data: mm->end_data
 * @out_start_stack: mm->start_stack (set by SHADOW_MMAP_STACK too)
 * @out_arg_start: mm->arg_start
 * @out_arg_end: mm->arg_end
 * @out_env_start: mm->env_start
 * @out_env_end: mm->env_end
 * @out_layout_flags: SHADOW_CREATE_LEGACY_LAYOUT when mappings go
 *                    bottom-up (@out_mmap_base is then the bottom of the
 *                    area), else 0
 * @out_anon_thps: PMD leaves mapping a transparent huge page now (smaps'
 *                 AnonHugePages of the whole space / 2 MiB;
 *                 SHADOW_MM_FEATURE_THP, as the fields below)
 * @out_thp_fault_alloc: faults that mapped a new huge page
 *                       (thp_fault_alloc of /proc/vmstat)
 * @out_thp_fault_fallback: huge page faults that fell back to small pages
 *                          (thp_fault_fallback)
 * @out_thp_split_pmd: PMD leaves split into PTE tables (thp_split_pmd)
 * @out_thp_flags: the THP policy, as struct shadow_mm_thp sets it:
 *                 SHADOW_THP_FLAGS_MODE(@out_thp_flags) is the
 *                 SHADOW_MM_THP_* mode, SHADOW_THP_FLAG_DISABLE and
 *                 SHADOW_THP_FLAG_USE_ZERO_PAGE the other two
 */
struct shadow_mm_stats {
	__u32 size;
	__u32 flags;
	__u32 out_id;
	__u32 out_mm_users;
	__u32 out_mm_count;
	__u32 out_map_count;
	__aligned_u64 out_total_vm;
	__aligned_u64 out_locked_vm;
	__aligned_u64 out_mmap_base;
	__aligned_u64 out_task_size;
	__aligned_u64 out_rss_anon;
	__aligned_u64 out_rss_shmem;
	__aligned_u64 out_nr_puds;
	__aligned_u64 out_nr_pmds;
	__aligned_u64 out_nr_ptes;
	__aligned_u64 out_min_flt;
	__aligned_u64 out_maj_flt;
	__aligned_u64 out_cow_copies;
	__aligned_u64 out_cow_reuses;
	__aligned_u64 out_data_vm;
	__aligned_u64 out_exec_vm;
	__aligned_u64 out_stack_vm;
	__aligned_u64 out_def_flags;
	__aligned_u64 out_start_brk;
	__aligned_u64 out_brk;
	__aligned_u64 out_swapents;
	__aligned_u64 out_swapins;
	__aligned_u64 out_swapouts;
	__aligned_u64 out_rss_file;
	__aligned_u64 out_shared_ptes;
	__aligned_u64 out_start_code;
	__aligned_u64 out_end_code;
	__aligned_u64 out_start_data;
	__aligned_u64 out_end_data;
	__aligned_u64 out_start_stack;
	__aligned_u64 out_arg_start;
	__aligned_u64 out_arg_end;
	__aligned_u64 out_env_start;
	__aligned_u64 out_env_end;
	__aligned_u64 out_layout_flags;
	__aligned_u64 out_anon_thps;
	__aligned_u64 out_thp_fault_alloc;
	__aligned_u64 out_thp_fault_fallback;
	__aligned_u64 out_thp_split_pmd;
	__aligned_u64 out_thp_flags;
};

/* struct shadow_mm_stats.out_thp_flags */
#define SHADOW_THP_FLAGS_MODE(f)	((f) & 0xff)
#define SHADOW_THP_FLAG_DISABLE		_BITULL(8)
#define SHADOW_THP_FLAG_USE_ZERO_PAGE	_BITULL(9)

#define SHADOW_MM_GET_STATS	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_GET_STATS)

/* struct shadow_mm_fault.flags: the kind of access; none means a read. */
#define SHADOW_FAULT_WRITE	_BITUL(0)
#define SHADOW_FAULT_EXEC	_BITUL(1)

/**
 * struct shadow_mm_fault - ioctl(SHADOW_MM_FAULT)
 * @size: sizeof(struct shadow_mm_fault)
 * @flags: SHADOW_FAULT_WRITE or SHADOW_FAULT_EXEC (not both), or 0 to read
 * @addr: first address touched
 * @len: bytes; every page of [@addr, @addr + @len) is touched
 * @out_nr_pages: pages touched before the first error
 * @out_signal: the signal a process touching the page that failed gets:
 *              SIGSEGV (11) or SIGBUS (7) with -EFAULT; 0 on success and
 *              for any other error
 * @__reserved: 0 on output
 *
 * Touches each page as a CPU access would: a page fault where the PTE does
 * not allow the access (handle_mm_fault), the accessed/dirty bits where it
 * does. Fails with -EFAULT where a process would get a signal, which
 * @out_signal names: SIGSEGV at a page outside any VMA or against its
 * protection, SIGBUS at a page of a file mapping past the file's end, of
 * a shared anonymous mapping past its object's size (after mremap grew
 * it), or a swap entry that cannot be read back; -ENOMEM when memory runs
 * out. A range that wraps fails with -EFAULT before any page is touched,
 * its ``out_`` fields not written.
 */
struct shadow_mm_fault {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__aligned_u64 out_nr_pages;
	__u32 out_signal;
	__u32 __reserved;
};

#define SHADOW_MM_FAULT		_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_FAULT)

/* struct shadow_mm_access.flags */
#define SHADOW_ACCESS_WRITE	_BITUL(0)	/* else read */
#define SHADOW_ACCESS_FORCE	_BITUL(1)	/* FOLL_FORCE, as ptrace */

/**
 * struct shadow_mm_access - ioctl(SHADOW_MM_ACCESS)
 * @size: sizeof(struct shadow_mm_access)
 * @flags: SHADOW_ACCESS_WRITE, SHADOW_ACCESS_FORCE
 * @addr: address in the shadow address space
 * @len: bytes to transfer
 * @buf: user buffer to read into or write from
 * @out_len: bytes transferred
 *
 * Reads or writes the address space's memory as access_process_vm() does,
 * faulting pages in as needed and stopping at the first page it may not
 * access. VM_READ/VM_WRITE are honoured unless SHADOW_ACCESS_FORCE is given;
 * a forced write breaks COW and never reaches a shared mapping without
 * VM_WRITE. Fails with -EFAULT when not a byte could be transferred (or
 * @buf is bad).
 */
struct shadow_mm_access {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__aligned_u64 buf;
	__aligned_u64 out_len;
};

#define SHADOW_MM_ACCESS	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_ACCESS)

/* struct shadow_page_info.flags */
#define SHADOW_PAGE_PRESENT	_BITUL(0)
#define SHADOW_PAGE_WRITE	_BITUL(1)	/* PTE writable */
#define SHADOW_PAGE_DIRTY	_BITUL(2)
#define SHADOW_PAGE_YOUNG	_BITUL(3)
#define SHADOW_PAGE_ZERO	_BITUL(4)	/* the shared zero page */
#define SHADOW_PAGE_ANON_EXCLUSIVE	_BITUL(5)
#define SHADOW_PAGE_SHMEM	_BITUL(6)	/* of a shared anonymous object */
#define SHADOW_PAGE_SWAP	_BITUL(7)	/* a swap entry, not present */
#define SHADOW_PAGE_SWAPCACHE	_BITUL(8)	/* present, in the swap cache */
#define SHADOW_PAGE_FILE	_BITUL(9)	/* a file's page-cache page */
/* The PTE table mapping it is shared between address spaces (ODF). */
#define SHADOW_PAGE_PT_SHARED	_BITUL(10)
#define SHADOW_PAGE_MMAP_EXCLUSIVE	_BITUL(11)
/* A page of a transparent huge page, or the huge zero page (KPF_THP). */
#define SHADOW_PAGE_THP		_BITUL(12)
/* The record comes from a PMD leaf (a PMD-mapped huge page). */
#define SHADOW_PAGE_PMD_MAPPED	_BITUL(13)
/* The name of SHADOW_PAGE_ANON_EXCLUSIVE before ABI version 2. */
#define SHADOW_PAGE_EXCLUSIVE	SHADOW_PAGE_ANON_EXCLUSIVE

/*
 * Two kinds of exclusive, not to be confused:
 *
 * SHADOW_PAGE_ANON_EXCLUSIVE is the kernel's PG_anon_exclusive (or, with
 * SHADOW_PAGE_SWAP, the swap PTE's pte_swp_exclusive): this private
 * anonymous page belongs to this address space alone, so a write fault
 * may reuse it without a copy. It is not in /proc/<pid>/pagemap.
 *
 * SHADOW_PAGE_MMAP_EXCLUSIVE is pagemap's PM_MMAP_EXCLUSIVE (bit 56): the
 * present page is mapped by exactly one PTE, counting every address space
 * (page_mapcount() == 1). Never set for the zero page or a swap entry.
 * A page shared copy-on-write after a fork has neither; a page-cache page
 * mapped once has MMAP_EXCLUSIVE only; a private page whose other mapping
 * went away can have MMAP_EXCLUSIVE without ANON_EXCLUSIVE.
 */

/**
 * struct shadow_page_info - one page, as written by SHADOW_MM_WALK
 * @page_id: opaque id of the page mapped (equal ids: the same page);
 *           0 when nothing or the zero page is mapped. For a swap entry
 *           (SHADOW_PAGE_SWAP) the opaque id of its swap slot instead
 *           (equal ids: the same slot; never equal to a page's id)
 * @flags: SHADOW_PAGE_*; with SHADOW_PAGE_SWAP,
 *         SHADOW_PAGE_ANON_EXCLUSIVE is the swap PTE's exclusive bit
 *         (pte_swp_exclusive)
 * @mapcount: how many PTEs, in every shadow address space, map the page;
 *            for a swap entry, the slot's swap count (swap_map: the swap
 *            PTEs and shmem objects that hold it)
 * @head_id: the @page_id of the first page of the huge page this one is
 *           part of (SHADOW_PAGE_THP; SHADOW_MM_FEATURE_THP); 0 for a
 *           small page
 * @order: log2 of the pages of that huge page (9 for 2 MiB); 0 for a
 *         small page
 * @__pad: 0
 *
 * The record may grow: SHADOW_MM_WALK writes @rec_size bytes per page.
 */
struct shadow_page_info {
	__aligned_u64 page_id;
	__u32 flags;
	__u32 mapcount;
	__aligned_u64 head_id;
	__u32 order;
	__u32 __pad;
};

/* sizeof(struct shadow_page_info) as first defined */
#define SHADOW_PAGE_INFO_SIZE_VER0	16
/* with @head_id and @order (SHADOW_MM_FEATURE_THP) */
#define SHADOW_PAGE_INFO_SIZE_VER1	32

/* Most pages one SHADOW_MM_WALK may report. */
#define SHADOW_WALK_MAX_PAGES		1048576	/* 1 << 20 */

/**
 * struct shadow_mm_walk - ioctl(SHADOW_MM_WALK)
 * @size: sizeof(struct shadow_mm_walk)
 * @flags: must be 0
 * @addr: page-aligned start
 * @nr_pages: pages to report, at most SHADOW_WALK_MAX_PAGES (-EINVAL
 *            beyond)
 * @pages: user pointer to @nr_pages records of @rec_size bytes
 * @rec_size: sizeof(struct shadow_page_info) as user space knows it; 0
 *            means SHADOW_PAGE_INFO_SIZE_VER0. Each record written is the
 *            kernel's struct shadow_page_info truncated to @rec_size, or
 *            zero-padded to it. A multiple of 8 from
 *            SHADOW_PAGE_INFO_SIZE_VER0 to SHADOW_REC_SIZE_MAX, else
 *            -EINVAL
 * @__reserved: must be 0
 *
 * Like /proc/<pid>/pagemap: one record per page of the range, mapped or
 * not; never a kernel address or pfn. -EINVAL for an unaligned @addr or a
 * range that wraps.
 */
struct shadow_mm_walk {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 nr_pages;
	__aligned_u64 pages;
	__u32 rec_size;
	__u32 __reserved;
};

#define SHADOW_MM_WALK		_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_WALK)

/* struct shadow_mm_fork.flags */
#define SHADOW_FORK_VM		_BITUL(0)	/* CLONE_VM: share the mm */
#define SHADOW_FORK_ODF		_BITUL(1)	/* on-demand fork */

/**
 * struct shadow_mm_fork - ioctl(SHADOW_MM_FORK) on an address-space fd
 * @size: sizeof(struct shadow_mm_fork)
 * @flags: SHADOW_FORK_VM, SHADOW_FORK_ODF or 0 (not both)
 * @out_id: the id of the child's address space (the same one with
 *          SHADOW_FORK_VM)
 * @__reserved: must be 0
 *
 * fork(2) of the address space (dup_mmap): a new address space with a copy
 * of every VMA but VM_DONTCOPY ones, VM_LOCKED cleared, private memory
 * shared copy-on-write, shared memory shared. With SHADOW_FORK_VM, a new
 * user of the same address space instead (CLONE_VM): it is torn down when
 * its last user exits. Returns a new address-space fd (O_CLOEXEC), or
 * fails with -EINVAL (both flags), -EAGAIN (the caller's user has
 * max_mms_per_user address spaces), -ENOMEM, -EMFILE.
 *
 * With SHADOW_FORK_ODF (on-demand fork), a PTE table whose 2 MiB only
 * private anonymous VMAs cover, and which holds no swap entry, is shared
 * with the child instead of copied, write-protected in both, with no work
 * per page; the first change to it in either address space (a write
 * fault, a read that makes an old PTE young, munmap, mprotect, madvise,
 * mremap, reclaim...) gives that space a copy, or the table itself when
 * no one else maps it any more. What the address spaces see (contents,
 * page walk but for SHADOW_PAGE_PT_SHARED, smaps, rss, nr_ptes, the
 * accessed bits) is what a plain fork gives; the module parameter
 * odf_always makes every fork an on-demand one.
 */
struct shadow_mm_fork {
	__u32 size;
	__u32 flags;
	__u32 out_id;
	__u32 __reserved;
};

#define SHADOW_MM_FORK		_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_FORK)

/**
 * struct shadow_mm_madvise - ioctl(SHADOW_MM_MADVISE) on an address-space fd
 * @size: sizeof(struct shadow_mm_madvise)
 * @flags: must be 0
 * @addr: page-aligned start
 * @len: length, rounded up to pages
 * @advice: one of
 *
 *  - MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL: SHADOW_VM_RAND_READ and
 *    SHADOW_VM_SEQ_READ, which keep VMAs from merging;
 *  - MADV_DONTFORK, MADV_DOFORK (SHADOW_VM_DONTCOPY), MADV_WIPEONFORK,
 *    MADV_KEEPONFORK (SHADOW_VM_WIPEONFORK), MADV_DONTDUMP, MADV_DODUMP
 *    (SHADOW_VM_DONTDUMP);
 *  - MADV_DONTNEED, MADV_DONTNEED_LOCKED: the range's pages are unmapped:
 *    private memory reads zeroes afterwards, shared memory its object's
 *    pages; -EINVAL on VM_LOCKED memory unless MADV_DONTNEED_LOCKED,
 *    and on VM_PFNMAP memory ([vvar]);
 *  - MADV_WILLNEED: the swapped-out pages of the range are read back
 *    from the shadow swap device ahead of their faults (swap-in
 *    read-ahead): a private page into the swap cache, a shared anonymous
 *    one into its object; nothing is mapped, and file pages are not read
 *    ahead;
 *  - MADV_POPULATE_READ, MADV_POPULATE_WRITE: every page of the range
 *    made present, readable or writable (a write breaks COW), with
 *    -EINVAL where the VMA does not allow that access (PROT_NONE, or a
 *    write to read-only memory), -EFAULT where the fault would raise
 *    SIGSEGV or SIGBUS, -ENOMEM when memory runs out;
 *  - MADV_FREE: private anonymous memory only (-EINVAL on shared, file,
 *    special, VM_LOCKED or VM_PFNMAP memory): swapped-out pages are
 *    dropped, a present page only this address space maps becomes clean
 *    and lazyfree; reclaim discards it without swap unless it is written
 *    again first;
 *  - MADV_REMOVE: a hole punched in the shared object the range maps
 *    (fallocate's FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): a shared
 *    anonymous object's pages and swap slots are freed and every address
 *    space mapping them reads zeroes there, a file's own fallocate runs;
 *    -EINVAL on VM_LOCKED memory and memory without an object (private
 *    anonymous, special), -EACCES on a mapping not shared and
 *    may-write (private or read-only file mappings).
 *
 *  Other advice (KSM's, MADV_COLLAPSE, ...) gives -EINVAL.
 * @__reserved: must be 0
 *
 * madvise(2), with its splits, merges and errors: -EINVAL (unaligned start,
 * wrapping range, unsupported advice, MADV_WIPEONFORK on shared memory),
 * -ENOMEM (part of the range unmapped; the rest is advised), -EAGAIN (a
 * split could not be made).
 */
struct shadow_mm_madvise {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__s32 advice;
	__u32 __reserved;
};

#define SHADOW_MM_MADVISE	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_MADVISE)

/**
 * struct shadow_mm_mprotect - ioctl(SHADOW_MM_MPROTECT)
 * @size: sizeof(struct shadow_mm_mprotect)
 * @flags: must be 0
 * @addr: page-aligned start
 * @len: length, rounded up to pages
 * @prot: PROT_* of <sys/mman.h>, with PROT_GROWSDOWN / PROT_GROWSUP
 * @__reserved: must be 0
 *
 * mprotect(2) with Linux 6.1's splits, merges and errors: -EINVAL
 * (unaligned start, unknown prot bits, wrapping range, PROT_GROWSDOWN on a
 * VMA that does not grow down), -ENOMEM (part of the range unmapped: the
 * VMAs before the hole are changed, as in Linux; or the map count limit),
 * -EACCES (a protection the VMA's VM_MAY* flags do not allow). Present PTEs
 * are updated in place; pages shared copy-on-write stay write-protected.
 */
struct shadow_mm_mprotect {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__u32 prot;
	__u32 __reserved;
};

#define SHADOW_MM_MPROTECT	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_MPROTECT)

/**
 * struct shadow_mm_mlock - ioctl(SHADOW_MM_MLOCK)
 * @size: sizeof(struct shadow_mm_mlock)
 * @flags: must be 0
 * @addr: start (rounded down to a page, as mlock(2))
 * @len: length (the range is rounded out to pages)
 * @mlock_flags: 0 or MLOCK_ONFAULT, as mlock2(2)
 * @__reserved: must be 0
 *
 * mlock2(2): VM_LOCKED (and VM_LOCKONFAULT) set on the range, with splits
 * and merges, locked_vm accounted against the caller's RLIMIT_MEMLOCK
 * unless it has CAP_IPC_LOCK, and every page made present (write-faulted
 * for private writable memory) unless MLOCK_ONFAULT. Errors as mlock2(2):
 * -EINVAL (unknown flags), -ENOMEM (a hole in the range, the map count,
 * the rlimit), -EAGAIN (pages could not be made present).
 */
struct shadow_mm_mlock {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__u32 mlock_flags;
	__u32 __reserved;
};

#define SHADOW_MM_MLOCK		_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_MLOCK)

/**
 * struct shadow_mm_munlock - ioctl(SHADOW_MM_MUNLOCK)
 * @size: sizeof(struct shadow_mm_munlock)
 * @flags: must be 0
 * @addr: start (rounded down to a page)
 * @len: length (rounded out to pages)
 *
 * munlock(2): VM_LOCKED and VM_LOCKONFAULT cleared on the range; -ENOMEM
 * for a hole in the range or the map count, as munlock(2).
 */
struct shadow_mm_munlock {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
};

#define SHADOW_MM_MUNLOCK	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_MUNLOCK)

/**
 * struct shadow_mm_mlockall - ioctl(SHADOW_MM_MLOCKALL)
 * @size: sizeof(struct shadow_mm_mlockall)
 * @flags: must be 0
 * @mcl_flags: MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, as mlockall(2)
 * @__reserved: must be 0
 *
 * mlockall(2): MCL_FUTURE sets the address space's def_flags so that later
 * mappings are locked; MCL_CURRENT locks every VMA now. -EINVAL for no
 * flag, an unknown one, or MCL_ONFAULT alone; -EPERM (RLIMIT_MEMLOCK 0
 * without CAP_IPC_LOCK); -ENOMEM (MCL_CURRENT with more memory mapped
 * than RLIMIT_MEMLOCK).
 */
struct shadow_mm_mlockall {
	__u32 size;
	__u32 flags;
	__u32 mcl_flags;
	__u32 __reserved;
};

#define SHADOW_MM_MLOCKALL	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_MLOCKALL)

/**
 * struct shadow_mm_munlockall - ioctl(SHADOW_MM_MUNLOCKALL)
 * @size: sizeof(struct shadow_mm_munlockall)
 * @flags: must be 0
 *
 * munlockall(2): every VMA unlocked, def_flags cleared.
 */
struct shadow_mm_munlockall {
	__u32 size;
	__u32 flags;
};

#define SHADOW_MM_MUNLOCKALL	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_MUNLOCKALL)

/**
 * struct shadow_mm_mremap - ioctl(SHADOW_MM_MREMAP)
 * @size: sizeof(struct shadow_mm_mremap)
 * @flags: must be 0
 * @old_addr: page-aligned start of the mapping to resize or move
 * @old_len: its length (0 with MREMAP_MAYMOVE duplicates a shared mapping)
 * @new_len: the new length
 * @new_addr: the destination with MREMAP_FIXED
 * @mremap_flags: MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP
 * @__reserved: must be 0
 * @out_addr: the mapping's address afterwards
 *
 * mremap(2) with Linux 6.1's rules and errors: shrinking unmaps the tail,
 * growing extends in place when the room is free, else moves with
 * MREMAP_MAYMOVE; a move carries the page tables and pages (no copy).
 * -EINVAL, -ENOMEM, -EFAULT, -EAGAIN (locked memory beyond RLIMIT_MEMLOCK)
 * and -EPERM (a destination below mmap_min_addr) as mremap(2).
 */
struct shadow_mm_mremap {
	__u32 size;
	__u32 flags;
	__aligned_u64 old_addr;
	__aligned_u64 old_len;
	__aligned_u64 new_len;
	__aligned_u64 new_addr;
	__u32 mremap_flags;
	__u32 __reserved;
	__aligned_u64 out_addr;
};

#define SHADOW_MM_MREMAP	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_MREMAP)

/* struct shadow_mm_brk.flags */
#define SHADOW_BRK_SET_START	_BITUL(0)	/* PR_SET_MM_START_BRK */

/*
 * Where a new address space's heap starts: just past a small PIE loaded at
 * ELF_ET_DYN_BASE with randomization off.
 */
#define SHADOW_DEFAULT_START_BRK	0x555555559000ULL

/**
 * struct shadow_mm_brk - ioctl(SHADOW_MM_BRK)
 * @size: sizeof(struct shadow_mm_brk)
 * @flags: 0, or SHADOW_BRK_SET_START
 * @brk: the requested program break (0 asks for the current one); with
 *       SHADOW_BRK_SET_START, the new start_brk (page aligned, and the
 *       heap must be empty): start_brk and brk both become @brk
 * @out_brk: the program break afterwards
 * @out_start_brk: where the heap starts
 *
 * brk(2): growing maps anonymous memory that merges with the heap
 * (do_brk_flags) when (@brk - start_brk) + (end_data - start_data) is
 * within RLIMIT_DATA (check_data_rlimit(); the data segment is empty
 * unless SHADOW_MM_SET_MM_MAP set one), shrinking unmaps; like the system call it never fails
 * for a refused request: @out_brk then holds the old break. Only
 * SHADOW_BRK_SET_START fails (-EINVAL unaligned, outside the address space
 * or the heap not empty).
 */
struct shadow_mm_brk {
	__u32 size;
	__u32 flags;
	__aligned_u64 brk;
	__aligned_u64 out_brk;
	__aligned_u64 out_start_brk;
};

#define SHADOW_MM_BRK		_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_BRK)

/* struct shadow_mm_reclaim.flags */
#define SHADOW_RECLAIM_AGE	_BITUL(0)	/* age only: unmap nothing */

/**
 * struct shadow_mm_reclaim - ioctl(SHADOW_MM_RECLAIM), ioctl(SHADOW_DEV_RECLAIM)
 * @size: sizeof(struct shadow_mm_reclaim)
 * @flags: 0, or SHADOW_RECLAIM_AGE
 * @addr: page-aligned start of the range (SHADOW_MM_RECLAIM); must be 0
 *        for SHADOW_DEV_RECLAIM
 * @len: the range's length, rounded up to pages; 0 means the whole
 *       address space (SHADOW_MM_RECLAIM); must be 0 for
 *       SHADOW_DEV_RECLAIM
 * @nr_to_reclaim: stop once this many pages are reclaimed; 0: no limit
 * @out_scanned: present data pages looked at (the zero page is not one)
 * @out_referenced: pages skipped because a PTE mapping them was young
 *                  (page_referenced: the young bits are cleared, so the
 *                  next pass takes them)
 * @out_locked: pages skipped because a VM_LOCKED VMA maps them
 * @out_busy: pages left (partly) mapped: another address space mapping
 *            them was busy (its mmap_lock held), or the swap device full
 * @out_unmapped: PTEs cleared by try_to_unmap, in every address space
 * @out_swapped_out: private anonymous pages now out on the swap device
 * @out_shmem: shared anonymous pages unmapped and written to the swap
 *             device from their object (shmem_writepage)
 * @out_written: pages whose contents were written to the swap device
 *               (dirty, or never written before); a clean page still
 *               in the swap cache is dropped without a write
 * @out_reclaimed: pages freed: those swapped out or written from their
 *                 object above, the lazyfree ones (@out_lazyfreed), and
 *                 the page-cache pages of files the engine unmapped and
 *                 let go (they stay in their file's page cache, marked
 *                 dirty when a PTE was)
 * @out_lazyfreed: private anonymous pages discarded without swap, as
 *                 debugfs swap's pglazyfreed counts them: MADV_FREE
 *                 pages not written since, and MAP_DROPPABLE pages
 *                 written or not (Linux 6.11 on). Added after the first
 *                 version of the struct: an older, shorter struct is not
 *                 written past its @size
 *
 * Reclaim after mm/vmscan.c: every present page of the range (or of the
 * whole address space; for SHADOW_DEV_RECLAIM, of every address space on
 * the module's mmlist, as swap_mm did) is aged with page_referenced and,
 * if no PTE was young, unmapped everywhere with try_to_unmap, its
 * contents written to the shadow swap device and the page freed. The
 * PTEs become swap entries (private anonymous pages) or none (shared
 * anonymous pages, which their object takes back on the next fault).
 * With SHADOW_RECLAIM_AGE pages are aged and counted, nothing is
 * unmapped. Fails with -EINVAL (an unaligned @addr, a wrapping range,
 * @addr or @len for SHADOW_DEV_RECLAIM), -EINTR (killed); pages that
 * cannot be reclaimed are counted, not errors.
 */
struct shadow_mm_reclaim {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__aligned_u64 nr_to_reclaim;
	__aligned_u64 out_scanned;
	__aligned_u64 out_referenced;
	__aligned_u64 out_locked;
	__aligned_u64 out_busy;
	__aligned_u64 out_unmapped;
	__aligned_u64 out_swapped_out;
	__aligned_u64 out_shmem;
	__aligned_u64 out_written;
	__aligned_u64 out_reclaimed;
	__aligned_u64 out_lazyfreed;
};

#define SHADOW_MM_RECLAIM	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_RECLAIM)
#define SHADOW_DEV_RECLAIM	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_DEV_RECLAIM)

/**
 * struct shadow_mm_msync - ioctl(SHADOW_MM_MSYNC) on an address-space fd
 * @size: sizeof(struct shadow_mm_msync)
 * @flags: must be 0
 * @addr: page-aligned start
 * @len: length in bytes, rounded up to pages
 * @msync_flags: MS_ASYNC, MS_SYNC, MS_INVALIDATE of <sys/mman.h>, as
 *               msync(2) (in @flags before ABI version 2)
 * @__reserved: must be 0
 *
 * Behaves as msync(2): the dirty bits of the PTEs of shared file mappings
 * in the range move to their page-cache pages (set_page_dirty), and with
 * MS_SYNC the file's range is written back (vfs_fsync_range). Errors as
 * msync(2): -EINVAL (unaligned @addr, unknown @msync_flags, MS_ASYNC
 * with MS_SYNC; and any @flags or @__reserved), -ENOMEM (the range
 * wraps, or part of it is not mapped; the mapped parts are still synced),
 * -EBUSY (MS_INVALIDATE over a VM_LOCKED mapping), or the write-back's
 * error.
 */
struct shadow_mm_msync {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__u32 msync_flags;
	__u32 __reserved;
};

#define SHADOW_MM_MSYNC		_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_MSYNC)

/* struct shadow_mm_batch_op.op */
enum shadow_batch_opcode {
	SHADOW_BATCH_MMAP = 1,
	SHADOW_BATCH_MUNMAP = 2,
	SHADOW_BATCH_MPROTECT = 3,
	SHADOW_BATCH_MADVISE = 4,
	SHADOW_BATCH_FAULT = 5,
	SHADOW_BATCH_READ = 6,
	SHADOW_BATCH_WRITE = 7,
};

/**
 * struct shadow_mm_batch_op - one operation of SHADOW_MM_BATCH
 * @op: enum shadow_batch_opcode
 * @flags: SHADOW_BATCH_FAULT: SHADOW_FAULT_WRITE or SHADOW_FAULT_EXEC (or
 *         0 to read); SHADOW_BATCH_READ, SHADOW_BATCH_WRITE:
 *         SHADOW_ACCESS_FORCE; 0 for the others
 * @addr: as the single command's @addr (the hint, for SHADOW_BATCH_MMAP)
 * @len: as the single command's @len
 * @prot: SHADOW_BATCH_MMAP, SHADOW_BATCH_MPROTECT: PROT_*
 * @map_flags: SHADOW_BATCH_MMAP: MAP_*; MAP_ANONYMOUS is required (-EBADF
 *             without it, as mmap(2) with fd -1), the offset is 0
 * @advice: SHADOW_BATCH_MADVISE: MADV_*
 * @__reserved: must be 0
 * @buf: SHADOW_BATCH_READ, SHADOW_BATCH_WRITE: the user buffer of @len
 *       bytes
 * @__reserved2: must be 0
 * @out_result: written for every operation executed: a negative errno,
 *              or 0; SHADOW_BATCH_FAULT: the pages touched;
 *              SHADOW_BATCH_READ and SHADOW_BATCH_WRITE: the bytes
 *              transferred (as SHADOW_MM_ACCESS's @out_len)
 * @out_addr: SHADOW_BATCH_MMAP: the address of the new mapping;
 *            SHADOW_BATCH_FAULT: the first page not touched; else 0.
 *            The record has no out_signal yet: a SHADOW_BATCH_FAULT's
 *            -EFAULT does not say SIGSEGV from SIGBUS (SHADOW_MM_FAULT
 *            does)
 *
 * Fields an operation does not use are ignored. The record may grow:
 * SHADOW_MM_BATCH reads and writes @op_size bytes per operation.
 */
struct shadow_mm_batch_op {
	__u32 op;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__u32 prot;
	__u32 map_flags;
	__s32 advice;
	__u32 __reserved;
	__aligned_u64 buf;
	__aligned_u64 __reserved2;
	__s64 out_result;
	__aligned_u64 out_addr;
};

/* sizeof(struct shadow_mm_batch_op) as first defined */
#define SHADOW_BATCH_OP_SIZE_VER0	72

/* struct shadow_mm_batch.flags */
#define SHADOW_BATCH_CONTINUE	_BITUL(0)	/* go on past a failed op */

/* Most operations in one SHADOW_MM_BATCH. */
#define SHADOW_BATCH_MAX_OPS	4096

/**
 * struct shadow_mm_batch - ioctl(SHADOW_MM_BATCH) on an address-space fd
 * @size: sizeof(struct shadow_mm_batch)
 * @flags: 0 (stop after the first operation that fails) or
 *         SHADOW_BATCH_CONTINUE (run every operation)
 * @nr_ops: entries in @ops, at most SHADOW_BATCH_MAX_OPS (-E2BIG beyond)
 * @op_size: sizeof(struct shadow_mm_batch_op) as user space knows it; 0
 *           means SHADOW_BATCH_OP_SIZE_VER0. A multiple of 8 from
 *           SHADOW_BATCH_OP_SIZE_VER0 to SHADOW_REC_SIZE_MAX, else
 *           -EINVAL
 * @ops: user pointer to @nr_ops operations of @op_size bytes, read and
 *       written back (their ``out_`` fields; bytes past the kernel's struct
 *       are left alone)
 * @out_done: operations executed (a failed one included)
 *
 * Runs the operations in order, each exactly as its own command would
 * (SHADOW_MM_MMAP, SHADOW_MM_MUNMAP, SHADOW_MM_MPROTECT,
 * SHADOW_MM_MADVISE, SHADOW_MM_FAULT, SHADOW_MM_ACCESS) with its result
 * in its ``out_`` fields, under as few mmap_lock acquisitions as the
 * operations allow: a run of mmaps and munmaps shares one. An operation
 * with an unknown @op, unknown flags or a reserved field set fails with
 * -EINVAL; one whose bytes past the kernel's struct (@op_size above it)
 * are not all zero fails with -E2BIG, as a command's struct would, and
 * is not run. The call itself returns 0 once the operations ran, whatever
 * their results; it fails with -EINVAL (unknown flags, a bad @op_size),
 * -E2BIG (too many operations), -ENOMEM, or -EFAULT (@ops unreadable or
 * not writable: @out_done still tells how many ran).
 */
struct shadow_mm_batch {
	__u32 size;
	__u32 flags;
	__u32 nr_ops;
	__u32 op_size;
	__aligned_u64 ops;
	__aligned_u64 out_done;
};

#define SHADOW_MM_BATCH		_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_BATCH)

/**
 * struct shadow_mm_set_mm_map - ioctl(SHADOW_MM_SET_MM_MAP)
 * @size: sizeof(struct shadow_mm_set_mm_map)
 * @flags: must be 0
 * @start_code: mm->start_code
 * @end_code: mm->end_code
 * @start_data: mm->start_data
 * @end_data: mm->end_data
 * @start_brk: mm->start_brk
 * @brk: mm->brk
 * @start_stack: mm->start_stack
 * @arg_start: mm->arg_start
 * @arg_end: mm->arg_end
 * @env_start: mm->env_start
 * @env_end: mm->env_end
 *
 * prctl(PR_SET_MM, PR_SET_MM_MAP) without the auxiliary vector and the
 * exe file (SHADOW_MM_FEATURE_LAYOUT): every field is set at once, and
 * nothing is mapped or unmapped (the heap's VMAs stay as they are, as in
 * Linux). Validated as validate_prctl_map_addr() does, else -EINVAL: each
 * address within [mmap_min_addr, TASK_SIZE), @start_code below
 * @end_code, @start_data, @start_brk, @arg_start and @env_start not above
 * their ends, and (@brk - @start_brk) + (@end_data - @start_data) within
 * the caller's RLIMIT_DATA (check_data_rlimit()). brk(2) (SHADOW_MM_BRK)
 * then counts the data segment against RLIMIT_DATA too; the VMA
 * containing @start_stack is shown as [stack].
 */
struct shadow_mm_set_mm_map {
	__u32 size;
	__u32 flags;
	__aligned_u64 start_code;
	__aligned_u64 end_code;
	__aligned_u64 start_data;
	__aligned_u64 end_data;
	__aligned_u64 start_brk;
	__aligned_u64 brk;
	__aligned_u64 start_stack;
	__aligned_u64 arg_start;
	__aligned_u64 arg_end;
	__aligned_u64 env_start;
	__aligned_u64 env_end;
};

#define SHADOW_MM_SET_MM_MAP	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_SET_MM_MAP)

/* The THP modes of /sys/kernel/mm/transparent_hugepage/enabled. */
#define SHADOW_MM_THP_NEVER	0
#define SHADOW_MM_THP_MADVISE	1
#define SHADOW_MM_THP_ALWAYS	2

/* struct shadow_mm_thp.flags: which fields to set (none: only report). */
#define SHADOW_THP_SET_MODE		_BITUL(0)
#define SHADOW_THP_SET_DISABLE		_BITUL(1)
#define SHADOW_THP_SET_USE_ZERO_PAGE	_BITUL(2)

/**
 * struct shadow_mm_thp - ioctl(SHADOW_MM_SET_THP)
 * @size: sizeof(struct shadow_mm_thp)
 * @flags: SHADOW_THP_SET_*: the fields below that are set; the others
 *         are left as they are. Any other bit fails with -EINVAL
 * @mode: with SHADOW_THP_SET_MODE, the address space's
 *        transparent_hugepage/enabled: SHADOW_MM_THP_NEVER,
 *        SHADOW_MM_THP_MADVISE or SHADOW_MM_THP_ALWAYS (-EINVAL otherwise)
 * @disable: with SHADOW_THP_SET_DISABLE, prctl(PR_SET_THP_DISABLE)'s
 *           argument: 1 disables huge pages for the whole space
 *           (MMF_DISABLE_THP), 0 enables them again (-EINVAL otherwise)
 * @use_zero_page: with SHADOW_THP_SET_USE_ZERO_PAGE, the space's
 *                 transparent_hugepage/use_zero_page: 1 or 0 (-EINVAL
 *                 otherwise)
 * @__reserved: must be 0
 * @out_mode: the mode after the call
 * @out_disable: the disable bit after the call
 * @out_use_zero_page: use_zero_page after the call
 * @__reserved2: 0 on output
 *
 * The transparent huge page policy of one address space
 * (SHADOW_MM_FEATURE_THP): what the running kernel's sysfs files and
 * PR_SET_THP_DISABLE are to a process. A new address space takes the
 * module parameter thp (auto: the running kernel's
 * /sys/kernel/mm/transparent_hugepage/enabled and use_zero_page, never
 * when the kernel has no THP); a fork child its parent's, the disable bit
 * included (MMF_DISABLE_THP is in MMF_INIT_MASK). The policy decides
 * smaps' THPeligible (hugepage_vma_check()).
 */
struct shadow_mm_thp {
	__u32 size;
	__u32 flags;
	__u32 mode;
	__u32 disable;
	__u32 use_zero_page;
	__u32 __reserved;
	__u32 out_mode;
	__u32 out_disable;
	__u32 out_use_zero_page;
	__u32 __reserved2;
};

#define SHADOW_MM_SET_THP	_IO(SHADOW_MM_TYPE, SHADOW_MM_CMD_SET_THP)

#endif /* _UAPI_LINUX_SHADOW_MM_H */
