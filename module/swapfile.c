// SPDX-License-Identifier: GPL-2.0
/*
 * Placeholder until the swap branch: no-op definitions of the swap
 * device's calls declared in internal.h, so that the rmap branch links
 * and runs on its own. Nothing here is reached: no page enters a swap
 * cache without the swap branch, so try_to_unmap never writes a swap PTE.
 * The swap branch replaces this file.
 */
#include "internal.h"

/* Placeholder until the swap branch. */
int shadow_swap_init(void)
{
	return 0;
}

/* Placeholder until the swap branch. */
void shadow_swap_exit(void)
{
}

/* Placeholder until the swap branch. */
void shadow_swap_duplicate(swp_entry_t entry)
{
}

/* Placeholder until the swap branch. */
void shadow_free_swap_and_cache(swp_entry_t entry)
{
}

/* Placeholder until the swap branch. */
void shadow_free_swap_cache(struct page *page)
{
}
