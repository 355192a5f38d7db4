# mmap(2) and munmap(2) on a shadow address space: top-down placement below
# mmap_base, hints, merging, MAP_FIXED, holes, and the errors of both calls.
create a
stats a

# 16 pages, no hint: the top 16 pages below mmap_base (TASK_SIZE - 128 MiB).
mmap a - 16p rw- private|anonymous as=x
# 4 more just below, same protection: one VMA.
mmap a - 4p rw- private|anonymous as=y
maps a

# A free hint is taken; a hint over a mapping falls back to the search.
mmap a 0x10000000 1p r-- private|anonymous as=h
mmap a $x 1p r-x private|anonymous as=z
maps a

# MAP_FIXED_NOREPLACE refuses to replace; MAP_FIXED replaces.
! EEXIST mmap a $x+2p 1p rw- private|anonymous|fixed_noreplace
mmap a $x+4p 2p r-- private|anonymous|fixed
vmas a

# A hole in the middle: split_vma, one more VMA.
munmap a $x+8p 4p
vmas a $x $x+16p
# Mapping back into the hole with the same flags merges with both sides.
mmap a $x+8p 4p rw- private|anonymous|fixed
vmas a $x $x+16p
stats a

# mmap's errors.
! EINVAL mmap a - 0 rw- private|anonymous
! EINVAL mmap a - 1p rw- anonymous
! EINVAL mmap a 0x10000800 1p rw- private|anonymous|fixed
! EINVAL mmap a - 1p rw- shared|anonymous|growsdown
! EINVAL mmap a - 1p rw- private|anonymous offset=0x800
! EPERM mmap a 0x1000 1p rw- private|anonymous|fixed
! ENOMEM mmap a - 0x800000000000 rw- private|anonymous
! ENOMEM mmap a 0x7ffffffff000 2p rw- private|anonymous|fixed
! EBADF mmap a - 1p rw- private
! EOPNOTSUPP mmap a - 1p rw- private|anonymous|hugetlb
# munmap's errors; unmapping nothing is no error.
! EINVAL munmap a $x+1 1p
! EINVAL munmap a $x 0
! EINVAL munmap a 0x7ffffffff000 1p
munmap a 0x20000000 1p

# Everything at once.
munmap a 0 0x7ffffffff000
maps a
stats a
counters
