# A label whose create failed names no address space: exit 1 where used.
! EINVAL create a mmap_base=0x10000800
maps a
echo not reached
