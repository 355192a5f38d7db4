// SPDX-License-Identifier: GPL-2.0
/*
 * SHADOW_MM_BATCH: an array of operations in one ioctl.
 *
 * The operations are read from user space a chunk at a time into a kernel
 * buffer, run in order, and their results written back, with no mmap_lock
 * held across any user copy (as SHADOW_MM_ACCESS keeps none across its
 * copies). Within a chunk, a run of mmaps and munmaps shares one
 * acquisition of mmap_lock for writing: each is do_mmap() or do_munmap()
 * with the lock held, the lock dropped only to populate a MAP_POPULATE or
 * MAP_LOCKED mapping (as vm_mmap_pgoff() does) or before an operation that
 * takes mmap_lock itself (mprotect, madvise, a fault, an access).
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"
#include "trace.h"

/* Operations read, run and written back at a time. */
#define SHADOW_BATCH_CHUNK	32

/*
 * The running state of a batch: whether this thread holds mmap_lock for
 * writing on behalf of a run of operations.
 */
struct shadow_batch_state {
	struct shadow_mm *mm;
	bool write_locked;
};

static void shadow_batch_unlock(struct shadow_batch_state *st)
{
	if (st->write_locked) {
		shadow_mmap_write_unlock(st->mm);
		st->write_locked = false;
	}
}

static int shadow_batch_write_lock(struct shadow_batch_state *st)
{
	if (st->write_locked)
		return 0;
	if (shadow_mmap_write_lock_killable(st->mm))
		return -EINTR;
	st->write_locked = true;
	return 0;
}

/* SHADOW_BATCH_MMAP: shadow_vm_mmap_pgoff() within a run. */
static shadow_flow long shadow_batch_mmap(struct shadow_batch_state *st,
					  struct shadow_mm_batch_op *op)
{
	struct shadow_mm *mm = st->mm;
	unsigned long addr, populate;
	int ret;

	if (op->flags)
		return -EINVAL;
	ret = shadow_mmap_check(0, op->map_flags, -1, NULL);
	if (ret)
		return ret;
	ret = shadow_batch_write_lock(st);
	if (ret)
		return ret;
	addr = shadow_do_mmap(mm, op->addr, op->len, op->prot, op->map_flags,
			      0, &populate);
	if (IS_ERR_VALUE(addr)) {
		trace_shadow_mm_mmap(mm, op->addr, op->len, op->prot,
				     op->map_flags, addr, false);
		return (long)addr;
	}
	if (trace_shadow_mm_mmap_enabled()) {
		struct shadow_vma *vma = shadow_find_vma(mm, addr);

		trace_shadow_mm_mmap(mm, op->addr, op->len, op->prot,
				     op->map_flags, addr,
				     vma->vm_start != addr ||
				     vma->vm_end != addr + PAGE_ALIGN(op->len));
	}
	op->out_addr = addr;
	if (populate) {
		shadow_batch_unlock(st);
		shadow_mm_populate(mm, addr, populate);
	}
	return 0;
}

/* SHADOW_BATCH_MUNMAP: shadow_vm_munmap() within a run. */
static long shadow_batch_munmap(struct shadow_batch_state *st,
				struct shadow_mm_batch_op *op)
{
	int ret;

	if (op->flags)
		return -EINVAL;
	ret = shadow_batch_write_lock(st);
	if (ret)
		return ret;
	return shadow_do_munmap(st->mm, op->addr, op->len);
}

/* SHADOW_BATCH_FAULT: as SHADOW_MM_FAULT. */
static long shadow_batch_fault(struct shadow_mm *mm,
			       struct shadow_mm_batch_op *op)
{
	unsigned long done = 0;
	u32 signal;
	int ret;

	if (op->flags & ~(SHADOW_FAULT_WRITE | SHADOW_FAULT_EXEC) ||
	    op->flags == (SHADOW_FAULT_WRITE | SHADOW_FAULT_EXEC))
		return -EINVAL;
	if (op->addr + op->len < op->addr)
		return -EFAULT;
	ret = shadow_fault_range(mm, op->addr, op->len, op->flags, &done,
				 &signal);
	op->out_addr = (op->addr & PAGE_MASK) + done * PAGE_SIZE;
	return ret ?: done;
}

/* SHADOW_BATCH_READ, SHADOW_BATCH_WRITE: as SHADOW_MM_ACCESS. */
static long shadow_batch_access(struct shadow_mm *mm,
				struct shadow_mm_batch_op *op, bool write)
{
	unsigned long total;
	int ret;

	if (op->flags & ~SHADOW_ACCESS_FORCE)
		return -EINVAL;
	if (op->addr + op->len < op->addr)
		return -EFAULT;
	ret = shadow_access_remote_user(mm, op->addr,
					u64_to_user_ptr(op->buf), op->len,
					write, op->flags & SHADOW_ACCESS_FORCE,
					&total);
	if (!total && op->len)
		return ret ?: -EFAULT;
	return total;
}

/* Run one operation; its result for out_result. */
static shadow_flow long shadow_batch_op(struct shadow_batch_state *st,
					struct shadow_mm_batch_op *op)
{
	struct shadow_mm *mm = st->mm;
	long ret;

	op->out_addr = 0;
	if (op->__reserved || op->__reserved2)
		return -EINVAL;

	switch (op->op) {
	case SHADOW_BATCH_MMAP:
		return shadow_batch_mmap(st, op);
	case SHADOW_BATCH_MUNMAP:
		return shadow_batch_munmap(st, op);
	default:
		break;
	}

	/* The others take mmap_lock themselves. */
	shadow_batch_unlock(st);
	switch (op->op) {
	case SHADOW_BATCH_MPROTECT:
		if (op->flags)
			return -EINVAL;
		ret = shadow_do_mprotect_pkey(mm, op->addr, op->len, op->prot,
					      -1);
		trace_shadow_mm_mprotect(mm, op->addr, op->len, op->prot, ret);
		return ret;
	case SHADOW_BATCH_MADVISE:
		if (op->flags)
			return -EINVAL;
		ret = shadow_do_madvise(mm, op->addr, op->len, op->advice);
		trace_shadow_mm_madvise(mm, op->addr, op->len, op->advice, ret);
		return ret;
	case SHADOW_BATCH_FAULT:
		return shadow_batch_fault(mm, op);
	case SHADOW_BATCH_READ:
		return shadow_batch_access(mm, op, false);
	case SHADOW_BATCH_WRITE:
		return shadow_batch_access(mm, op, true);
	default:
		return -EINVAL;
	}
}

/*
 * Read operation @idx of the user's array, @op_size bytes each, as
 * copy_struct_from_user() reads a command's struct: -E2BIG when the bytes
 * past the kernel's struct are not all zero, the op read all the same
 * (it is written back with its result), or -EFAULT.
 */
static int shadow_batch_read_op(struct shadow_mm_batch_op *op, u64 uops,
				u32 idx, size_t op_size)
{
	void __user *src = u64_to_user_ptr(uops + (u64)idx * op_size);
	int ret;

	ret = copy_struct_from_user(op, sizeof(*op), src, op_size);
	if (ret == -E2BIG &&
	    copy_from_user(op, src, min(sizeof(*op), op_size)))
		return -EFAULT;
	return ret;
}

/*
 * Read operations @i to @i + @n - 1 into @ops; sets a bit of @too_big for
 * each that is too big (see shadow_batch_read_op()). At the kernel's own
 * record size, which has no bytes past the struct to check, the chunk is
 * one copy: a user copy's fixed cost (the access check, the usercopy
 * hardening's object check, STAC/CLAC) is not paid per operation.
 *
 * Return: 0 or -EFAULT.
 */
static int shadow_batch_read_chunk(struct shadow_mm_batch_op *ops, u64 uops,
				   u32 i, u32 n, size_t op_size,
				   unsigned long *too_big)
{
	u32 j;
	int ret;

	bitmap_zero(too_big, SHADOW_BATCH_CHUNK);
	if (op_size == sizeof(*ops))
		return copy_from_user(ops, u64_to_user_ptr(uops + (u64)i * op_size),
				      n * op_size) ? -EFAULT : 0;
	for (j = 0; j < n; j++) {
		ret = shadow_batch_read_op(&ops[j], uops, i + j, op_size);
		if (ret == -E2BIG)
			__set_bit(j, too_big);
		else if (ret)
			return ret;
	}
	return 0;
}

/*
 * Write the results of the first @n operations of @ops back to operations
 * @i on: their out_ fields only, the rest of each record being user
 * space's own, in one user-access section (one access check and
 * STAC/CLAC for the chunk, not a copy of the whole record per operation).
 *
 * Return: 0 or -EFAULT.
 */
static int shadow_batch_write_chunk(const struct shadow_mm_batch_op *ops,
				    u64 uops, u32 i, u32 n, size_t op_size)
{
	void __user *dst = u64_to_user_ptr(uops + (u64)i * op_size);
	u32 k;

	if (!user_access_begin(dst, n * op_size))
		return -EFAULT;
	for (k = 0; k < n; k++) {
		struct shadow_mm_batch_op __user *uop = dst + k * op_size;

		unsafe_put_user(ops[k].out_result, &uop->out_result, efault);
		unsafe_put_user(ops[k].out_addr, &uop->out_addr, efault);
	}
	user_access_end();
	return 0;

efault:
	user_access_end();
	return -EFAULT;
}

/**
 * shadow_task_batch() - SHADOW_MM_BATCH
 * @ucmd: the command
 *
 * Operations are read and written back at user space's record size
 * (@op_size); one whose bytes past the kernel's struct are not zero is
 * not run and gets -E2BIG, as a command's struct would.
 *
 * Return: 0 once the operations ran (their results are theirs), or
 * -EINVAL, -E2BIG, -ENOMEM, -EFAULT for the batch itself.
 */
int shadow_task_batch(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_batch *cmd = ucmd->cmd;
	struct shadow_batch_state st = { .mm = ucmd->mm };
	bool stop = !(cmd->flags & SHADOW_BATCH_CONTINUE);
	int op_size = shadow_rec_size(cmd->op_size, SHADOW_BATCH_OP_SIZE_VER0);
	DECLARE_BITMAP(too_big, SHADOW_BATCH_CHUNK);
	struct shadow_mm_batch_op *ops;
	u32 i = 0, n, j;
	int ret = 0;

	if (cmd->flags & ~SHADOW_BATCH_CONTINUE || op_size < 0)
		return -EINVAL;
	if (cmd->nr_ops > SHADOW_BATCH_MAX_OPS)
		return -E2BIG;
	cmd->out_done = 0;
	if (!cmd->nr_ops)
		return shadow_ucmd_respond(ucmd, sizeof(*cmd));

	ops = kmalloc_array(min_t(u32, cmd->nr_ops, SHADOW_BATCH_CHUNK),
			    sizeof(*ops), SHADOW_GFP);
	if (!ops)
		return -ENOMEM;

	while (i < cmd->nr_ops) {
		bool failed = false;

		n = min_t(u32, cmd->nr_ops - i, SHADOW_BATCH_CHUNK);
		ret = shadow_batch_read_chunk(ops, cmd->ops, i, n, op_size,
					      too_big);
		if (ret)
			break;
		for (j = 0; j < n; j++) {
			if (test_bit(j, too_big)) {
				ops[j].out_addr = 0;
				ops[j].out_result = -E2BIG;
			} else {
				ops[j].out_result = shadow_batch_op(&st,
								    &ops[j]);
			}
			if (ops[j].out_result < 0 && stop) {
				failed = true;
				j++;
				break;
			}
		}
		/* No lock across the copy back. */
		shadow_batch_unlock(&st);
		cmd->out_done = i + j;
		ret = shadow_batch_write_chunk(ops, cmd->ops, i, j, op_size);
		if (ret)
			break;
		i += j;
		if (failed)
			break;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	kfree(ops);
	return shadow_ucmd_respond(ucmd, sizeof(*cmd)) ?: ret;
}
