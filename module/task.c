// SPDX-License-Identifier: GPL-2.0
/*
 * An address-space fd: one user of a shadow address space, the way a task
 * is a user of its mm. Its ioctls are the system calls of that task.
 *
 * State of an fd:
 *
 *   live     task->mm set, holding one mm_users reference
 *     |      SHADOW_MM_EXIT, or close
 *   exited   task->mm NULL; every command fails with -ESRCH
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"
#include "trace.h"

/**
 * struct shadow_task - the user of an address space behind one fd
 * @lock: protects @mm (task_lock)
 * @mm: the address space, or NULL once exited
 */
struct shadow_task {
	spinlock_t lock;	/* protects mm */
	struct shadow_mm *mm;
};

/*
 * Pin the fd's address space for one command (get_task_mm): the mm_users
 * reference keeps it from being torn down under the command even when the
 * fd exits meanwhile.
 */
static struct shadow_mm *shadow_get_task_mm(struct file *file)
{
	struct shadow_task *task = file->private_data;
	struct shadow_mm *mm;

	spin_lock(&task->lock);
	mm = task->mm;
	if (mm)
		shadow_mmget(mm);
	spin_unlock(&task->lock);
	return mm;
}

/* The fd's user leaves the address space (exit_mm). */
static bool shadow_exit_mm(struct shadow_task *task)
{
	struct shadow_mm *mm;

	spin_lock(&task->lock);
	mm = task->mm;
	task->mm = NULL;
	spin_unlock(&task->lock);
	if (!mm)
		return false;
	shadow_mmput(mm);
	return true;
}

#define SHADOW_MMAP_KINDS	(SHADOW_MMAP_VDSO | SHADOW_MMAP_VVAR | \
				 SHADOW_MMAP_STACK)

/*
 * SHADOW_MM_MMAP with a kind in @flags: a mapping exec makes, at a fixed
 * address: map_vdso()'s two special mappings, setup_arg_pages()'s stack.
 */
static int shadow_task_mmap_exec(struct shadow_ucmd *ucmd)
{
	/* x86's map_vdso(): the text, then the data the kernel fills in. */
	static const vm_flags_t shadow_special_flags[] = {
		[SHADOW_SPECIAL_VDSO] = VM_READ | VM_EXEC | VM_MAYREAD |
					VM_MAYWRITE | VM_MAYEXEC,
		[SHADOW_SPECIAL_VVAR] = VM_READ | VM_MAYREAD | VM_IO |
					VM_DONTDUMP | VM_PFNMAP,
	};
	struct shadow_mm_mmap *cmd = ucmd->cmd;
	const u32 rw = PROT_READ | PROT_WRITE;
	unsigned long len;
	int kind, ret;

	if (hweight32(cmd->flags) != 1 || cmd->map_flags || cmd->fd ||
	    cmd->offset || !cmd->addr || offset_in_page(cmd->addr) ||
	    !cmd->len)
		return -EINVAL;
	len = PAGE_ALIGN(cmd->len);
	if (!len)
		return -ENOMEM;

	switch (cmd->flags) {
	case SHADOW_MMAP_VDSO:
	case SHADOW_MMAP_VVAR:
		kind = cmd->flags == SHADOW_MMAP_VDSO ? SHADOW_SPECIAL_VDSO :
							SHADOW_SPECIAL_VVAR;
		if (cmd->prot || cmd->start_stack)
			return -EINVAL;
		ret = shadow_install_special_mapping(ucmd->mm, cmd->addr, len,
						     shadow_special_flags[kind],
						     kind);
		break;
	default:
		if ((cmd->prot & ~PROT_EXEC) != rw ||
		    cmd->start_stack < cmd->addr ||
		    cmd->start_stack - cmd->addr > len)
			return -EINVAL;
		ret = shadow_setup_arg_pages(ucmd->mm, cmd->addr, len,
					     cmd->prot & PROT_EXEC,
					     cmd->start_stack);
		break;
	}
	if (ret)
		return ret;
	cmd->out_addr = cmd->addr;
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
}

static int shadow_task_mmap(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_mmap *cmd = ucmd->cmd;
	struct shadow_address_space *file;
	unsigned long addr;
	int ret;

	if (cmd->flags & ~SHADOW_MMAP_KINDS || cmd->__reserved)
		return -EINVAL;
	if (cmd->flags)
		return shadow_task_mmap_exec(ucmd);
	if (cmd->start_stack)
		return -EINVAL;
	ret = shadow_mmap_check(cmd->offset, cmd->map_flags, cmd->fd, &file);
	if (ret)
		return ret;

	addr = shadow_vm_mmap_file(ucmd->mm, file, cmd->addr, cmd->len,
				   cmd->prot, cmd->map_flags,
				   cmd->offset >> PAGE_SHIFT);
	/* The new VMA took its own reference on the file object. */
	if (file)
		shadow_mapping_put(file);
	if (IS_ERR_VALUE(addr))
		return (long)addr;

	cmd->out_addr = addr;
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
}

static int shadow_task_msync(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_msync *cmd = ucmd->cmd;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	return shadow_do_msync(ucmd->mm, cmd->addr, cmd->len,
			       cmd->msync_flags);
}

static int shadow_task_munmap(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_munmap *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EINVAL;
	return shadow_vm_munmap(ucmd->mm, cmd->addr, cmd->len);
}

static int shadow_task_exit(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_exit *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EINVAL;
	return shadow_exit_mm(ucmd->file->private_data) ? 0 : -ESRCH;
}

static int shadow_task_get_vmas(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_get_vmas *cmd = ucmd->cmd;
	struct shadow_vma_info info;
	struct shadow_vma *vma;
	struct shadow_mm *mm = ucmd->mm;
	int rec_size = shadow_rec_size(cmd->rec_size,
				       SHADOW_VMA_INFO_SIZE_VER0);
	u32 count = 0;
	int ret = 0;

	if (cmd->flags || cmd->start >= cmd->end || cmd->__reserved ||
	    cmd->nr_vmas > SHADOW_MAX_VMA_RECORDS || rec_size < 0)
		return -EINVAL;

	if (shadow_mmap_read_lock_killable(mm))
		return -EINTR;
	{
		MA_STATE(mas, &mm->mm_mt, cmd->start, cmd->start);

		mas_for_each(&mas, vma, cmd->end - 1) {
			if (count < cmd->nr_vmas) {
				u64 dst = cmd->vmas + (u64)count * rec_size;

				shadow_vma_info(vma, &info);
				ret = shadow_copy_rec_to_user(u64_to_user_ptr(dst),
							      rec_size, &info,
							      sizeof(info));
				if (ret)
					break;
			}
			count++;
			cond_resched();
		}
	}
	shadow_mmap_read_unlock(mm);
	if (ret)
		return ret;

	cmd->out_nr_vmas = count;
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
}

static int shadow_task_get_maps(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_get_maps *cmd = ucmd->cmd;
	size_t len;
	char *buf;
	int ret;

	if (cmd->flags)
		return -EINVAL;

	ret = shadow_show_maps(ucmd->mm, cmd->buf_len, &buf, &len);
	if (ret)
		return ret;

	cmd->out_len = len;
	if (len > cmd->buf_len) {
		ret = shadow_ucmd_respond(ucmd, sizeof(*cmd)) ?: -ENOSPC;
		goto out_free;
	}
	if (copy_to_user(u64_to_user_ptr(cmd->buf), buf, len)) {
		ret = -EFAULT;
		goto out_free;
	}
	ret = shadow_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	kvfree(buf);
	return ret;
}

static int shadow_task_get_stats(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_stats *cmd = ucmd->cmd;
	struct shadow_mm *mm = ucmd->mm;

	if (cmd->flags)
		return -EINVAL;
	if (shadow_mmap_read_lock_killable(mm))
		return -EINTR;
	shadow_get_stats(mm, cmd);
	shadow_mmap_read_unlock(mm);
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
}

/* SHADOW_MM_FORK: a child address space, or another user of this one. */
static int shadow_task_fork(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_fork *cmd = ucmd->cmd;
	struct shadow_mm *mm;
	int ret;

	if (cmd->flags & ~(SHADOW_FORK_VM | SHADOW_FORK_ODF) ||
	    (cmd->flags & SHADOW_FORK_VM && cmd->flags & SHADOW_FORK_ODF) ||
	    cmd->__reserved)
		return -EINVAL;

	if (cmd->flags & SHADOW_FORK_VM) {
		/* CLONE_VM: the same mm, one more user (copy_mm's good_mm). */
		mm = ucmd->mm;
		shadow_mmget(mm);
	} else {
		mm = shadow_mm_alloc(ucmd->mm->mmap_base);
		if (IS_ERR(mm))
			return PTR_ERR(mm);
		mm->mmap_legacy = ucmd->mm->mmap_legacy;
		shadow_thp_mm_copy(mm, ucmd->mm);
		trace_shadow_mm_create(mm, ucmd->mm->id);
		ret = shadow_dup_mmap(mm, ucmd->mm,
				      cmd->flags & SHADOW_FORK_ODF ||
				      READ_ONCE(shadow_odf_always));
		if (ret) {
			shadow_mmput(mm);
			return ret;
		}
		shadow_debugfs_mm_add(mm);
	}
	return shadow_task_publish(ucmd, mm, &cmd->out_id, sizeof(*cmd));
}

static int shadow_task_madvise(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_madvise *cmd = ucmd->cmd;
	int ret;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	ret = shadow_do_madvise(ucmd->mm, cmd->addr, cmd->len, cmd->advice);
	trace_shadow_mm_madvise(ucmd->mm, cmd->addr, cmd->len, cmd->advice,
				ret);
	return ret;
}

/* SHADOW_MM_MPROTECT: mprotect(2), without protection keys. */
static int shadow_task_mprotect(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_mprotect *cmd = ucmd->cmd;
	int ret;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	ret = shadow_do_mprotect_pkey(ucmd->mm, cmd->addr, cmd->len,
				      cmd->prot, -1);
	trace_shadow_mm_mprotect(ucmd->mm, cmd->addr, cmd->len, cmd->prot,
				 ret);
	return ret;
}

/* SHADOW_MM_MLOCK: mlock2(2). */
static int shadow_task_mlock(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_mlock *cmd = ucmd->cmd;
	unsigned long vm_flags = VM_LOCKED;
	int ret;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	if (cmd->mlock_flags & ~MLOCK_ONFAULT)
		return -EINVAL;
	if (cmd->mlock_flags & MLOCK_ONFAULT)
		vm_flags |= VM_LOCKONFAULT;
	ret = shadow_do_mlock(ucmd->mm, cmd->addr, cmd->len, vm_flags);
	trace_shadow_mm_mlock(ucmd->mm, cmd->addr, cmd->len, vm_flags, ret);
	return ret;
}

/* SHADOW_MM_MUNLOCK: munlock(2). */
static int shadow_task_munlock(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_munlock *cmd = ucmd->cmd;
	int ret;

	if (cmd->flags)
		return -EINVAL;
	ret = shadow_do_munlock(ucmd->mm, cmd->addr, cmd->len);
	trace_shadow_mm_mlock(ucmd->mm, cmd->addr, cmd->len, 0, ret);
	return ret;
}

/* SHADOW_MM_MLOCKALL: mlockall(2). */
static int shadow_task_mlockall(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_mlockall *cmd = ucmd->cmd;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	return shadow_do_mlockall(ucmd->mm, cmd->mcl_flags);
}

/* SHADOW_MM_MUNLOCKALL: munlockall(2). */
static int shadow_task_munlockall(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_munlockall *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EINVAL;
	return shadow_do_munlockall(ucmd->mm);
}

static int shadow_task_mremap(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_mremap *cmd = ucmd->cmd;
	unsigned long addr;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	addr = shadow_sys_mremap(ucmd->mm, cmd->old_addr, cmd->old_len,
				 cmd->new_len, cmd->mremap_flags,
				 cmd->new_addr);
	trace_shadow_mm_mremap(ucmd->mm, cmd->old_addr, cmd->old_len,
			       cmd->new_len, cmd->mremap_flags, addr);
	if (IS_ERR_VALUE(addr))
		return (long)addr;

	cmd->out_addr = addr;
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
}

static int shadow_task_brk(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_brk *cmd = ucmd->cmd;
	struct shadow_mm *mm = ucmd->mm;
	unsigned long brk;
	int ret;

	if (cmd->flags & ~SHADOW_BRK_SET_START)
		return -EINVAL;
	if (cmd->flags & SHADOW_BRK_SET_START) {
		ret = shadow_set_start_brk(mm, cmd->brk);
		if (ret)
			return ret;
		brk = cmd->brk;
	} else {
		brk = shadow_sys_brk(mm, cmd->brk);
		if (IS_ERR_VALUE(brk))
			return (long)brk;
	}

	cmd->out_brk = brk;
	cmd->out_start_brk = READ_ONCE(mm->start_brk);
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
}

/*
 * validate_prctl_map_addr(): every address within the user address space,
 * the pairs ordered, the heap and the data segment within RLIMIT_DATA.
 */
static int shadow_validate_prctl_map_addr(struct shadow_mm *mm,
					  const struct shadow_mm_set_mm_map *map)
{
	const u64 addrs[] = {
		map->start_code, map->end_code, map->start_data,
		map->end_data, map->start_brk, map->brk, map->start_stack,
		map->arg_start, map->arg_end, map->env_start, map->env_end,
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(addrs); i++)
		if (addrs[i] >= mm->task_size || addrs[i] < mm->mmap_min_addr)
			return -EINVAL;
	if (map->start_code >= map->end_code ||
	    map->start_data > map->end_data || map->start_brk > map->brk ||
	    map->arg_start > map->arg_end || map->env_start > map->env_end)
		return -EINVAL;
	if (shadow_check_data_rlimit(shadow_rlimit_data(), map->brk,
				     map->start_brk, map->end_data,
				     map->start_data))
		return -EINVAL;
	return 0;
}

/* SHADOW_MM_SET_MM_MAP: prctl(PR_SET_MM, PR_SET_MM_MAP) (prctl_set_mm_map) */
static int shadow_task_set_mm_map(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_set_mm_map *cmd = ucmd->cmd;
	struct shadow_mm *mm = ucmd->mm;
	int ret;

	if (cmd->flags)
		return -EINVAL;
	ret = shadow_validate_prctl_map_addr(mm, cmd);
	if (ret)
		return ret;
	/*
	 * Linux takes mmap_lock for reading and arg_lock; the break moves
	 * under the write lock here, as everything brk reads.
	 */
	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	mm->start_code = cmd->start_code;
	mm->end_code = cmd->end_code;
	mm->start_data = cmd->start_data;
	mm->end_data = cmd->end_data;
	mm->start_brk = cmd->start_brk;
	mm->brk = cmd->brk;
	mm->start_stack = cmd->start_stack;
	mm->arg_start = cmd->arg_start;
	mm->arg_end = cmd->arg_end;
	mm->env_start = cmd->env_start;
	mm->env_end = cmd->env_end;
	shadow_mmap_write_unlock(mm);
	return 0;
}

/*
 * SHADOW_MM_SET_THP: the space's sysfs THP settings and prctl
 * PR_SET_THP_DISABLE (which sets MMF_DISABLE_THP under mmap_lock held for
 * writing, as here); without a SHADOW_THP_SET_* flag it only reports.
 */
static int shadow_task_set_thp(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_thp *cmd = ucmd->cmd;
	struct shadow_mm *mm = ucmd->mm;

	if (cmd->flags & ~(SHADOW_THP_SET_MODE | SHADOW_THP_SET_DISABLE |
			   SHADOW_THP_SET_USE_ZERO_PAGE) ||
	    cmd->__reserved || cmd->out_mode || cmd->out_disable ||
	    cmd->out_use_zero_page || cmd->__reserved2)
		return -EINVAL;
	if ((cmd->flags & SHADOW_THP_SET_MODE && cmd->mode > SHADOW_THP_ALWAYS) ||
	    (cmd->flags & SHADOW_THP_SET_DISABLE && cmd->disable > 1) ||
	    (cmd->flags & SHADOW_THP_SET_USE_ZERO_PAGE &&
	     cmd->use_zero_page > 1))
		return -EINVAL;
	if (shadow_mmap_write_lock_killable(mm))
		return -EINTR;
	if (cmd->flags & SHADOW_THP_SET_MODE)
		WRITE_ONCE(mm->thp_mode, cmd->mode);
	if (cmd->flags & SHADOW_THP_SET_DISABLE)
		WRITE_ONCE(mm->thp_disable, cmd->disable);
	if (cmd->flags & SHADOW_THP_SET_USE_ZERO_PAGE)
		WRITE_ONCE(mm->thp_use_zero_page, cmd->use_zero_page);
	cmd->out_mode = mm->thp_mode;
	cmd->out_disable = mm->thp_disable;
	cmd->out_use_zero_page = mm->thp_use_zero_page;
	shadow_mmap_write_unlock(mm);
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
}

static int shadow_task_fault(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_fault *cmd = ucmd->cmd;
	unsigned long done;
	int ret;

	if (cmd->flags & ~(SHADOW_FAULT_WRITE | SHADOW_FAULT_EXEC) ||
	    cmd->flags == (SHADOW_FAULT_WRITE | SHADOW_FAULT_EXEC))
		return -EINVAL;
	if (cmd->addr + cmd->len < cmd->addr)
		return -EFAULT;
	ret = shadow_fault_range(ucmd->mm, cmd->addr, cmd->len, cmd->flags,
				 &done, &cmd->out_signal);
	cmd->out_nr_pages = done;
	cmd->__reserved = 0;
	return shadow_ucmd_respond(ucmd, sizeof(*cmd)) ?: ret;
}

static int shadow_task_access(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_access *cmd = ucmd->cmd;
	unsigned long total;
	int ret;

	if (cmd->flags & ~(SHADOW_ACCESS_WRITE | SHADOW_ACCESS_FORCE))
		return -EINVAL;
	if (cmd->addr + cmd->len < cmd->addr)
		return -EFAULT;
	ret = shadow_access_remote_user(ucmd->mm, cmd->addr,
					u64_to_user_ptr(cmd->buf), cmd->len,
					cmd->flags & SHADOW_ACCESS_WRITE,
					cmd->flags & SHADOW_ACCESS_FORCE,
					&total);
	if (!total && cmd->len)
		return ret ?: -EFAULT;
	cmd->out_len = total;
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
}

static int shadow_task_walk(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_walk *cmd = ucmd->cmd;
	int rec_size = shadow_rec_size(cmd->rec_size,
				       SHADOW_PAGE_INFO_SIZE_VER0);

	if (cmd->flags || cmd->__reserved || rec_size < 0)
		return -EINVAL;
	return shadow_pagemap_read(ucmd->mm, cmd->addr, cmd->nr_pages,
				   u64_to_user_ptr(cmd->pages), rec_size);
}

/* SHADOW_MM_RECLAIM: reclaim a range, or the whole address space. */
static int shadow_task_reclaim(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_reclaim *cmd = ucmd->cmd;
	int ret;

	ret = shadow_reclaim_check(cmd);
	if (ret)
		return ret;
	ret = shadow_reclaim_mm(ucmd->mm, cmd);
	if (ret)
		return ret;
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
}

static const struct shadow_ioctl_op shadow_task_ops[] = {
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_MMAP,
			SHADOW_MM_MMAP, shadow_task_mmap,
			struct shadow_mm_mmap, out_addr),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_MUNMAP,
			SHADOW_MM_MUNMAP,
			shadow_task_munmap, struct shadow_mm_munmap, len),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_EXIT,
			SHADOW_MM_EXIT, shadow_task_exit,
			struct shadow_mm_exit, flags),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_GET_VMAS,
			SHADOW_MM_GET_VMAS,
			shadow_task_get_vmas, struct shadow_mm_get_vmas,
			out_nr_vmas),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_GET_MAPS,
			SHADOW_MM_GET_MAPS,
			shadow_task_get_maps, struct shadow_mm_get_maps,
			out_len),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_FAULT,
			SHADOW_MM_FAULT, shadow_task_fault,
			struct shadow_mm_fault, out_nr_pages),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_ACCESS,
			SHADOW_MM_ACCESS, shadow_task_access,
			struct shadow_mm_access, out_len),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_WALK,
			SHADOW_MM_WALK, shadow_task_walk,
			struct shadow_mm_walk, pages),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_FORK,
			SHADOW_MM_FORK, shadow_task_fork,
			struct shadow_mm_fork, __reserved),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_MADVISE,
			SHADOW_MM_MADVISE, shadow_task_madvise,
			struct shadow_mm_madvise, __reserved),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_MPROTECT,
			SHADOW_MM_MPROTECT, shadow_task_mprotect,
			struct shadow_mm_mprotect, __reserved),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_MLOCK,
			SHADOW_MM_MLOCK, shadow_task_mlock,
			struct shadow_mm_mlock, __reserved),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_MUNLOCK,
			SHADOW_MM_MUNLOCK, shadow_task_munlock,
			struct shadow_mm_munlock, len),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_MLOCKALL,
			SHADOW_MM_MLOCKALL, shadow_task_mlockall,
			struct shadow_mm_mlockall, __reserved),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_MUNLOCKALL,
			SHADOW_MM_MUNLOCKALL, shadow_task_munlockall,
			struct shadow_mm_munlockall, flags),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_GET_STATS,
			SHADOW_MM_GET_STATS,
			shadow_task_get_stats, struct shadow_mm_stats,
			out_task_size),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_MREMAP,
			SHADOW_MM_MREMAP, shadow_task_mremap,
			struct shadow_mm_mremap, out_addr),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_BRK,
			SHADOW_MM_BRK, shadow_task_brk,
			struct shadow_mm_brk, out_start_brk),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_RECLAIM,
			SHADOW_MM_RECLAIM, shadow_task_reclaim,
			struct shadow_mm_reclaim, out_reclaimed),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_MSYNC,
			SHADOW_MM_MSYNC, shadow_task_msync,
			struct shadow_mm_msync, len),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_BATCH,
			SHADOW_MM_BATCH, shadow_task_batch,
			struct shadow_mm_batch, out_done),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_SET_MM_MAP,
			SHADOW_MM_SET_MM_MAP, shadow_task_set_mm_map,
			struct shadow_mm_set_mm_map, env_end),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_SET_THP,
			SHADOW_MM_SET_THP, shadow_task_set_thp,
			struct shadow_mm_thp, __reserved2),
};

/**
 * shadow_task_ioctls() - the command numbers an address-space fd has
 *
 * Return: bit N set for each implemented command number N.
 */
u64 shadow_task_ioctls(void)
{
	u64 mask = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(shadow_task_ops); i++)
		if (shadow_task_ops[i].execute)
			mask |= BIT_ULL(_IOC_NR(shadow_task_ops[i].ioctl_num));
	return mask;
}

static long shadow_task_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	return shadow_ioctl_dispatch(file, cmd, arg, shadow_task_ops,
				     ARRAY_SIZE(shadow_task_ops),
				     SHADOW_MM_CMD_MMAP, shadow_get_task_mm);
}

static int shadow_task_release(struct inode *inode, struct file *file)
{
	struct shadow_task *task = file->private_data;

	shadow_exit_mm(task);
	kfree(task);
	return 0;
}

static const struct file_operations shadow_task_fops = {
	.owner = THIS_MODULE,
	.release = shadow_task_release,
	.unlocked_ioctl = shadow_task_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/**
 * shadow_task_publish() - hand @mm to user space behind a new fd
 * @ucmd: the command; its struct is copied back once @out_id is set
 * @mm: the address space; its user reference passes to the new fd, or is
 *      dropped on failure
 * @out_id: where the command's struct wants the address space's id
 * @cmd_len: the kernel's size of the command's struct
 *
 * Return: the new fd, or a negative errno.
 */
int shadow_task_publish(struct shadow_ucmd *ucmd, struct shadow_mm *mm,
			__u32 *out_id, size_t cmd_len)
{
	struct file *file;
	int fd, ret;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_mmput;
	}
	ret = shadow_task_create(mm, &file);
	if (ret)
		goto err_put_fd;

	*out_id = mm->id;
	ret = shadow_ucmd_respond(ucmd, cmd_len);
	if (ret) {
		fput(file);	/* its release drops the mm */
		put_unused_fd(fd);
		return ret;
	}
	/* The fd table owns the file, and through it the mm, from here on. */
	fd_install(fd, file);
	return fd;

err_put_fd:
	put_unused_fd(fd);
err_mmput:
	shadow_mmput(mm);
	return ret;
}

/**
 * shadow_task_create() - a new fd-backed user of @mm
 * @mm: the address space; its user reference passes to the new file
 * @filep: set to the new file, not yet in any fd table
 *
 * Return: 0, or a negative errno with @mm's reference still the caller's.
 */
int shadow_task_create(struct shadow_mm *mm, struct file **filep)
{
	struct shadow_task *task;
	struct file *file;

	task = kzalloc(sizeof(*task), SHADOW_GFP);
	if (!task)
		return -ENOMEM;
	spin_lock_init(&task->lock);
	task->mm = mm;

	file = anon_inode_getfile("[shadow_mm]", &shadow_task_fops, task,
				  O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		kfree(task);
		return PTR_ERR(file);
	}
	*filep = file;
	return 0;
}
