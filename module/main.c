// SPDX-License-Identifier: GPL-2.0
/*
 * shadow_mm: a shadow address-space engine.
 *
 * Module parameters, and module init/exit.
 */
#include <linux/module.h>

#include "internal.h"

int shadow_max_map_count = 65530;

/* vm.max_map_count's range: 0 to INT_MAX. */
static int shadow_set_max_map_count(const char *val,
				    const struct kernel_param *kp)
{
	int n, ret;

	ret = kstrtoint(val, 0, &n);
	if (ret)
		return ret;
	if (n < 0)
		return -EINVAL;
	WRITE_ONCE(shadow_max_map_count, n);
	return 0;
}

static const struct kernel_param_ops shadow_max_map_count_ops = {
	.set = shadow_set_max_map_count,
	.get = param_get_int,
};

module_param_cb(max_map_count, &shadow_max_map_count_ops,
		&shadow_max_map_count, 0644);
/* module_param_cb() records no type: modinfo shows it from this. */
__MODULE_PARM_TYPE(max_map_count, "int");
MODULE_PARM_DESC(max_map_count,
		 "Most VMAs an address space may have (vm.max_map_count, default 65530)");

unsigned long shadow_mmap_min_addr = 65536;
module_param_named(mmap_min_addr, shadow_mmap_min_addr, ulong, 0444);
MODULE_PARM_DESC(mmap_min_addr,
		 "Lowest address a mapping may use (vm.mmap_min_addr, default 65536)");

umode_t shadow_dev_mode = 0600;
module_param_named(dev_mode, shadow_dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode, "Mode of /dev/shadow_mm (default 0600)");

/*
 * Limits on what one user can make the engine hold; both may be changed at
 * run time and apply to later requests. Memory as such is limited by the
 * caller's memory cgroup, which every allocation is charged to.
 */
unsigned int shadow_max_mms_per_user = 4096;
module_param_named(max_mms_per_user, shadow_max_mms_per_user, uint, 0644);
MODULE_PARM_DESC(max_mms_per_user,
		 "Most live address spaces one user may have; create and fork fail with EAGAIN past it (0: no limit, default 4096)");

unsigned long shadow_max_pages_per_mm;
module_param_named(max_pages_per_mm, shadow_max_pages_per_mm, ulong, 0644);
MODULE_PARM_DESC(max_pages_per_mm,
		 "Most data pages (rss) one address space may map; a fault past it fails with ENOMEM (0: no limit, the default)");

/*
 * The size of the shadow swap device, in slots (pages); a change applies
 * to later allocations, and the slots in use stay.
 */
unsigned long shadow_swap_slots = 65536;
module_param_named(swap_slots, shadow_swap_slots, ulong, 0644);
MODULE_PARM_DESC(swap_slots,
		 "Slots (pages) of the shadow swap device; reclaim finds it full past them (0: no swap, default 65536)");

/*
 * Make every fork an on-demand fork (SHADOW_FORK_ODF), so that the whole
 * test suite can run in that mode (make check ODF=1).
 */
bool shadow_odf_always;
module_param_named(odf_always, shadow_odf_always, bool, 0644);
MODULE_PARM_DESC(odf_always,
		 "Make every fork an on-demand fork, sharing PTE tables of private anonymous memory (SHADOW_FORK_ODF; default N)");

static int __init shadow_mm_module_init(void)
{
	int err;

	/* The uapi promises Linux's VM_* values. */
	BUILD_BUG_ON(SHADOW_VM_READ != VM_READ);
	BUILD_BUG_ON(SHADOW_VM_WRITE != VM_WRITE);
	BUILD_BUG_ON(SHADOW_VM_EXEC != VM_EXEC);
	BUILD_BUG_ON(SHADOW_VM_SHARED != VM_SHARED);
	BUILD_BUG_ON(SHADOW_VM_MAYREAD != VM_MAYREAD);
	BUILD_BUG_ON(SHADOW_VM_MAYWRITE != VM_MAYWRITE);
	BUILD_BUG_ON(SHADOW_VM_MAYEXEC != VM_MAYEXEC);
	BUILD_BUG_ON(SHADOW_VM_MAYSHARE != VM_MAYSHARE);
	BUILD_BUG_ON(SHADOW_VM_GROWSDOWN != VM_GROWSDOWN);
	BUILD_BUG_ON(SHADOW_VM_PFNMAP != VM_PFNMAP);
	BUILD_BUG_ON(SHADOW_VM_IO != VM_IO);
	BUILD_BUG_ON(SHADOW_VM_LOCKED != VM_LOCKED);
	BUILD_BUG_ON(SHADOW_VM_SEQ_READ != VM_SEQ_READ);
	BUILD_BUG_ON(SHADOW_VM_RAND_READ != VM_RAND_READ);
	BUILD_BUG_ON(SHADOW_VM_DONTCOPY != VM_DONTCOPY);
	BUILD_BUG_ON(SHADOW_VM_DONTEXPAND != VM_DONTEXPAND);
	BUILD_BUG_ON(SHADOW_VM_LOCKONFAULT != VM_LOCKONFAULT);
	BUILD_BUG_ON(SHADOW_VM_ACCOUNT != VM_ACCOUNT);
	BUILD_BUG_ON(SHADOW_VM_NORESERVE != VM_NORESERVE);
	BUILD_BUG_ON(SHADOW_VM_WIPEONFORK != VM_WIPEONFORK);
	BUILD_BUG_ON(SHADOW_VM_DONTDUMP != VM_DONTDUMP);
	BUILD_BUG_ON(SHADOW_VM_HUGEPAGE != VM_HUGEPAGE);
	BUILD_BUG_ON(SHADOW_VM_NOHUGEPAGE != VM_NOHUGEPAGE);
	BUILD_BUG_ON(VM_SOFTDIRTY && SHADOW_VM_SOFTDIRTY != VM_SOFTDIRTY);
	BUILD_BUG_ON(VM_DROPPABLE && SHADOW_VM_DROPPABLE != VM_DROPPABLE);

	if (shadow_mmap_min_addr > SHADOW_TASK_SIZE - SHADOW_MMAP_GAP)
		return -EINVAL;

	err = shadow_swap_init();
	if (err)
		return err;
	err = shadow_mm_init();
	if (err)
		goto err_swap;
	/* Before the device: an address space's directory goes in it. */
	shadow_debugfs_init();
	err = shadow_dev_init();
	if (err)
		goto err_debugfs;
	return 0;

err_debugfs:
	shadow_debugfs_exit();
	shadow_mm_exit();
err_swap:
	shadow_swap_exit();
	return err;
}

static void __exit shadow_mm_module_exit(void)
{
	shadow_dev_exit();
	/*
	 * No fd or debugfs file is open (each pins the module), but a
	 * debugfs reader may have left a teardown to the worker, which
	 * removes that address space's directory: let it finish first.
	 */
	shadow_mmput_async_flush();
	shadow_debugfs_exit();
	shadow_mm_exit();
	shadow_filemap_exit();
	shadow_swap_exit();
}

module_init(shadow_mm_module_init);
module_exit(shadow_mm_module_exit);

MODULE_DESCRIPTION("Shadow address-space engine: private mm-like address spaces driven by ioctl");
MODULE_AUTHOR("shadow_mm developers");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1");
MODULE_INFO(abi_version, __stringify(SHADOW_MM_ABI_VERSION));
