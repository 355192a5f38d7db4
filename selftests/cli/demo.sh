# The make run demo: a shadow address space built, split, merged, forked
# and copied on write, shown through its maps, page walks and counters.
echo "--- create an address space and map 16 pages, no hint: top-down"
create parent
mmap parent - 16p rw- private|anonymous as=a
maps parent

echo "--- munmap pages 4-7: split_vma leaves a hole"
munmap parent $a+4p 4p
maps parent

echo "--- MAP_FIXED r-- over pages 10-11: three VMAs"
mmap parent $a+10p 2p r-- private|anonymous|fixed
maps parent

echo "--- map rw- into the hole: it merges with both neighbours"
mmap parent $a+4p 4p rw- private|anonymous|fixed
maps parent

echo "--- 8 shared pages: a /dev/zero-like object, no merge"
mmap parent - 8p rw- shared|anonymous as=b
maps parent
vmas parent

echo "--- write page 0, read page 1: a private page and the zero page"
write parent $a "written by the parent"
touch parent $a+1p 1p read
walk parent $a 3

echo "--- fork: the child's maps are the parent's, page 0 shared read-only"
fork parent child
maps child
walk parent $a 3
walk child $a 3

echo "--- the child writes page 0: do_wp_page copies it"
write child $a "written by the child"
walk parent $a 1
walk child $a 1

echo "--- the parent writes: the page is its alone now, reused in place"
write parent $a "parent again"
walk parent $a 1
read parent $a 24
read child $a 24
stats parent
stats child
close child

echo "--- exit: mmput -> exit_mmap; the fd answers ESRCH from now on"
exit parent
! ESRCH maps parent
close parent
counters
