/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Force-included ("-include") into the cache's lib/maple_tree.c, as
 * tools/testing/radix-tree/maple.c does by #including it: the user-space
 * build of Linux 6.1's maple tree, with its debug checks (mt_validate()).
 */
#ifndef _SHADOW_MAPLE_SHIM_H
#define _SHADOW_MAPLE_SHIM_H

#define CONFIG_DEBUG_MAPLE_TREE
#define CONFIG_MAPLE_SEARCH
#define MAPLE_32BIT (MAPLE_NODE_SLOTS > 31)

#include <stdlib.h>
#include <assert.h>
#include <linux/kconfig.h>
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/gfp.h>
#include <linux/slab.h>
#include <linux/rcupdate.h>
#include "linux/lockdep.h"
#include "linux/init.h"

/* 6.1.y's maple_tree.c uses it; the 6.1 tools/ headers lack it. */
#ifndef fallthrough
#define fallthrough	__attribute__((__fallthrough__))
#endif

#define module_init(x)
#define module_exit(x)
#define MODULE_AUTHOR(x)
#define MODULE_LICENSE(x)

/*
 * MT_BUG_ON() counts, prints and dumps; then, instead of stopping the
 * process, it reports here, so that mt_validate() can be asked how many
 * checks failed (harness_mt_validate()).
 */
void harness_maple_bug(void);
#define dump_stack()	harness_maple_bug()

#endif /* _SHADOW_MAPLE_SHIM_H */
