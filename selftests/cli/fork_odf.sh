# fork odf: an on-demand fork (SHADOW_FORK_ODF). The child shares the
# parent's PTE table of private anonymous memory (0x400 in the walk:
# SHADOW_PAGE_PT_SHARED): it allocates its three upper tables only, and
# the pages are still counted as mapped twice. A write in the child gives
# it a table of its own first, then copies the page; the parent, left
# alone on the shared table, takes it over. A table that also maps shared
# memory is copied, as by a plain fork.
create p
mmap p - 4p rw- private|anonymous as=x
write p $x "hello"
touch p $x+1p 1p write
counters
fork p c odf
walk p $x 3
walk c $x 3
stats c
counters

# The child's write: its own table, then copy-on-write.
write c $x "HELLO"
walk p $x 2
walk c $x 2
# The parent's write: the table is its own now; the page too, reused.
write p $x "howdy"
walk p $x 2
read p $x 5
read c $x 5
stats p
stats c

# Shared memory in the same 2 MiB: the table is copied (old, read-only
# PTEs), the shared mapping left to faults.
mmap p - 1p rw- shared|anonymous as=s
write p $s "shmem"
fork p d odf
walk d $x 2
walk d $s 1
read d $s 5
close d
close c
counters
exit p
counters
