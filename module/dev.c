// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/shadow_mm: the handshake (SHADOW_MM_API) and the creation of address
 * spaces (SHADOW_MM_CREATE), and the ioctl dispatcher shared with the
 * address-space fds.
 */
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"
#include "trace.h"

#define SHADOW_MM_FEATURES	(SHADOW_MM_FEATURE_VMA |	\
				 SHADOW_MM_FEATURE_PGTABLE |	\
				 SHADOW_MM_FEATURE_FORK |	\
				 SHADOW_MM_FEATURE_MPROTECT |	\
				 SHADOW_MM_FEATURE_MLOCK |	\
				 SHADOW_MM_FEATURE_MREMAP |	\
				 SHADOW_MM_FEATURE_BRK |	\
				 SHADOW_MM_FEATURE_SWAP |	\
				 SHADOW_MM_FEATURE_FILE |	\
				 SHADOW_MM_FEATURE_BATCH |	\
				 SHADOW_MM_FEATURE_ODF |	\
				 SHADOW_MM_FEATURE_LAYOUT |	\
				 SHADOW_MM_FEATURE_THP)

/**
 * struct shadow_dev_file - one open of /dev/shadow_mm
 * @api_done: SHADOW_MM_API has succeeded on this open; nothing else works
 *            before it. Written once, read locklessly.
 */
struct shadow_dev_file {
	bool api_done;
};

/**
 * shadow_ucmd_respond() - copy a command's struct back to user space
 * @ucmd: the command
 * @cmd_len: the kernel's size of the struct
 *
 * Copies at most the size user space gave.
 *
 * Return: 0 or -EFAULT.
 */
int shadow_ucmd_respond(struct shadow_ucmd *ucmd, size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

/* The first record sizes must be ones shadow_rec_size() accepts. */
static_assert(sizeof(struct shadow_mm_batch_op) == SHADOW_BATCH_OP_SIZE_VER0);
static_assert(sizeof(struct shadow_vma_info) == SHADOW_VMA_INFO_SIZE_VER0);
static_assert(sizeof(struct shadow_page_info) == SHADOW_PAGE_INFO_SIZE_VER1);

/**
 * shadow_rec_size() - the record size of an array command
 * @rec_size: the size user space gave (op_size, rec_size)
 * @ver0: the record's first size, SHADOW_*_SIZE_VER0
 *
 * 0 stands for @ver0, the size a program built before the record grew
 * knows; any other size is a multiple of 8 (the records' alignment) from
 * @ver0 to SHADOW_REC_SIZE_MAX.
 *
 * Return: the size in bytes, or -EINVAL.
 */
int shadow_rec_size(u32 rec_size, u32 ver0)
{
	if (!rec_size)
		return ver0;
	if (rec_size < ver0 || rec_size > SHADOW_REC_SIZE_MAX ||
	    !IS_ALIGNED(rec_size, 8))
		return -EINVAL;
	return rec_size;
}

/**
 * shadow_copy_rec_to_user() - write one record of an array at user space's
 * record size
 * @dst: where the record goes
 * @usize: the record size user space asked for
 * @src: the kernel's record
 * @ksize: its size
 *
 * The record is truncated to @usize, or zero-padded past @ksize: a field
 * user space knows and the kernel does not reads 0.
 *
 * Return: 0 or -EFAULT.
 */
int shadow_copy_rec_to_user(void __user *dst, size_t usize, const void *src,
			    size_t ksize)
{
	if (copy_to_user(dst, src, min(usize, ksize)))
		return -EFAULT;
	if (usize > ksize && clear_user(dst + ksize, usize - ksize))
		return -EFAULT;
	return 0;
}

/**
 * shadow_ioctl_dispatch() - decode an ioctl and run its handler
 * @file: the file the ioctl came on
 * @cmd: the command number
 * @arg: the user pointer to the command's struct
 * @ops: the file's table of commands, indexed by number - @base
 * @nr_ops: entries in @ops
 * @base: the number of the first command in @ops
 * @get_mm: for the ops of an address-space fd: pins its address space for
 *          the handler; NULL for the device
 *
 * Return: the handler's result, -ENOTTY for a command not in @ops, -ESRCH
 * when the fd's address space has exited, or an error from reading the
 * struct (-EFAULT, -EINVAL, -E2BIG).
 */
long shadow_ioctl_dispatch(struct file *file, unsigned int cmd,
			   unsigned long arg,
			   const struct shadow_ioctl_op *ops,
			   unsigned int nr_ops, unsigned int base,
			   shadow_get_mm_t get_mm)
{
	u64 buf[512 / sizeof(u64)];
	struct shadow_ucmd ucmd = {
		.file = file,
		.ubuffer = (void __user *)arg,
		.cmd = buf,
	};
	const struct shadow_ioctl_op *op;
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (nr < base || nr - base >= nr_ops)
		return -ENOTTY;
	op = &ops[nr - base];
	if (op->ioctl_num != cmd)
		return -ENOTTY;

	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	if (ucmd.user_size > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(buf, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;
	if (!get_mm)
		return op->execute(&ucmd);

	ucmd.mm = get_mm(file);
	if (!ucmd.mm)
		return -ESRCH;
	ret = op->execute(&ucmd);
	shadow_mmput(ucmd.mm);
	return ret;
}

/* SHADOW_MM_API: the handshake. */
static int shadow_dev_api(struct shadow_ucmd *ucmd)
{
	struct shadow_dev_file *df = ucmd->file->private_data;
	struct shadow_mm_api *cmd = ucmd->cmd;

	if (cmd->flags || cmd->__reserved || cmd->__reserved2)
		return -EINVAL;
	if (cmd->abi_version && cmd->abi_version != SHADOW_MM_ABI_VERSION)
		return -EINVAL;
	if (cmd->features & ~SHADOW_MM_FEATURES)
		return -EINVAL;

	cmd->out_abi_version = SHADOW_MM_ABI_VERSION;
	cmd->out_features = SHADOW_MM_FEATURES;
	cmd->out_rules = SHADOW_RULES_KERNEL;
	cmd->__reserved3 = 0;
	cmd->out_ioctls = BIT_ULL(SHADOW_MM_CMD_API) |
			  BIT_ULL(SHADOW_MM_CMD_CREATE) |
			  BIT_ULL(SHADOW_MM_CMD_DEV_RECLAIM) | shadow_task_ioctls();
	if (shadow_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
	/* Only an answer that reached user space completes the handshake. */
	WRITE_ONCE(df->api_done, true);
	return 0;
}

/* SHADOW_MM_CREATE: a new address space behind a new fd. */
static int shadow_dev_create(struct shadow_ucmd *ucmd)
{
	struct shadow_dev_file *df = ucmd->file->private_data;
	struct shadow_mm_create *cmd = ucmd->cmd;
	unsigned long mmap_base;
	struct shadow_mm *mm;

	if (!READ_ONCE(df->api_done))
		return -EPERM;
	if (cmd->flags & ~SHADOW_CREATE_LEGACY_LAYOUT || cmd->__reserved)
		return -EINVAL;
	/*
	 * arch_pick_mmap_base(): the legacy layout's mmap_base is
	 * mmap_legacy_base, TASK_UNMAPPED_BASE without randomization.
	 */
	if (cmd->flags & SHADOW_CREATE_LEGACY_LAYOUT)
		mmap_base = cmd->mmap_base ?: PAGE_ALIGN(SHADOW_TASK_SIZE / 3);
	else
		mmap_base = cmd->mmap_base ?: SHADOW_TASK_SIZE - SHADOW_MMAP_GAP;
	if (offset_in_page(mmap_base) || mmap_base > SHADOW_TASK_SIZE ||
	    mmap_base <= shadow_mmap_min_addr)
		return -EINVAL;

	mm = shadow_mm_alloc(mmap_base);
	if (IS_ERR(mm))
		return PTR_ERR(mm);
	mm->mmap_legacy = cmd->flags & SHADOW_CREATE_LEGACY_LAYOUT;
	shadow_thp_mm_init(mm);
	trace_shadow_mm_create(mm, 0);
	shadow_debugfs_mm_add(mm);
	return shadow_task_publish(ucmd, mm, &cmd->out_id, sizeof(*cmd));
}

/*
 * SHADOW_DEV_RECLAIM: reclaim from every address space; no range, and the
 * handshake first, as for SHADOW_MM_CREATE.
 */
static int shadow_dev_reclaim(struct shadow_ucmd *ucmd)
{
	struct shadow_dev_file *df = ucmd->file->private_data;
	struct shadow_mm_reclaim *cmd = ucmd->cmd;
	int ret;

	if (!READ_ONCE(df->api_done))
		return -EPERM;
	if (cmd->addr || cmd->len)
		return -EINVAL;
	ret = shadow_reclaim_check(cmd);
	if (ret)
		return ret;
	ret = shadow_reclaim_all(cmd);
	if (ret)
		return ret;
	return shadow_ucmd_respond(ucmd, sizeof(*cmd));
}

static const struct shadow_ioctl_op shadow_dev_ops[] = {
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_API, SHADOW_MM_CMD_API,
			SHADOW_MM_API, shadow_dev_api,
			struct shadow_mm_api, out_ioctls),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_API, SHADOW_MM_CMD_CREATE,
			SHADOW_MM_CREATE,
			shadow_dev_create, struct shadow_mm_create,
			__reserved),
	SHADOW_IOCTL_OP(SHADOW_MM_CMD_API, SHADOW_MM_CMD_DEV_RECLAIM,
			SHADOW_DEV_RECLAIM, shadow_dev_reclaim,
			struct shadow_mm_reclaim, out_reclaimed),
};

static long shadow_dev_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	return shadow_ioctl_dispatch(file, cmd, arg, shadow_dev_ops,
				     ARRAY_SIZE(shadow_dev_ops),
				     SHADOW_MM_CMD_API, NULL);
}

static int shadow_dev_open(struct inode *inode, struct file *file)
{
	struct shadow_dev_file *df;

	df = kzalloc(sizeof(*df), SHADOW_GFP);
	if (!df)
		return -ENOMEM;
	file->private_data = df;
	return 0;
}

static int shadow_dev_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations shadow_dev_fops = {
	.owner = THIS_MODULE,
	.open = shadow_dev_open,
	.release = shadow_dev_release,
	.unlocked_ioctl = shadow_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice shadow_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "shadow_mm",
	.fops = &shadow_dev_fops,
};

int shadow_dev_init(void)
{
	shadow_miscdev.mode = shadow_dev_mode;
	return misc_register(&shadow_miscdev);
}

void shadow_dev_exit(void)
{
	misc_deregister(&shadow_miscdev);
}
