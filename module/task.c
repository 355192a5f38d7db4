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

/* Most VMA records one SHADOW_MM_GET_VMAS may ask for. */
#define SHADOW_MAX_VMA_RECORDS	BIT(20)

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

/* MAP_* flags the engine models; other bits are ignored, as by mmap(2). */
#define SHADOW_MAP_UNSUPPORTED	(MAP_HUGETLB | MAP_32BIT | MAP_SYNC)

static int shadow_task_mmap(struct shadow_ucmd *ucmd)
{
	struct shadow_mm_mmap *cmd = ucmd->cmd;
	unsigned long addr;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	if (!(cmd->map_flags & MAP_ANONYMOUS))
		return cmd->fd < 0 ? -EBADF : -EOPNOTSUPP;
	if (cmd->map_flags & SHADOW_MAP_UNSUPPORTED)
		return -EOPNOTSUPP;
	/* mmap(2) on x86-64 takes a byte offset: page aligned. */
	if (offset_in_page(cmd->offset))
		return -EINVAL;

	addr = shadow_vm_mmap_pgoff(ucmd->mm, cmd->addr, cmd->len, cmd->prot,
				    cmd->map_flags,
				    cmd->offset >> PAGE_SHIFT);
	if (IS_ERR_VALUE(addr))
		return (long)addr;

	cmd->out_addr = addr;
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
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
	struct shadow_vma_info __user *uvmas = u64_to_user_ptr(cmd->vmas);
	struct shadow_vma_info info;
	struct shadow_vma *vma;
	struct shadow_mm *mm = ucmd->mm;
	u32 count = 0;
	int ret = 0;

	if (cmd->flags || cmd->start >= cmd->end ||
	    cmd->nr_vmas > SHADOW_MAX_VMA_RECORDS)
		return -EINVAL;

	if (shadow_mmap_read_lock_killable(mm))
		return -EINTR;
	{
		MA_STATE(mas, &mm->mm_mt, cmd->start, cmd->start);

		mas_for_each(&mas, vma, cmd->end - 1) {
			if (count < cmd->nr_vmas) {
				shadow_vma_info(vma, &info);
				if (copy_to_user(&uvmas[count], &info,
						 sizeof(info))) {
					ret = -EFAULT;
					break;
				}
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
	cmd->out_id = mm->id;
	/* Less the reference that pins it for this call. */
	cmd->out_mm_users = atomic_read(&mm->mm_users) - 1;
	cmd->out_mm_count = atomic_read(&mm->mm_count);
	cmd->out_map_count = mm->map_count;
	cmd->out_total_vm = mm->total_vm;
	cmd->out_locked_vm = mm->locked_vm;
	cmd->out_mmap_base = mm->mmap_base;
	cmd->out_task_size = mm->task_size;
	shadow_mmap_read_unlock(mm);
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
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_MMAP, SHADOW_MM_CMD_GET_STATS,
			SHADOW_MM_GET_STATS,
			shadow_task_get_stats, struct shadow_mm_stats,
			out_task_size),
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

	task = kzalloc(sizeof(*task), GFP_KERNEL_ACCOUNT);
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
