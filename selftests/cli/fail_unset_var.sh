# A variable whose command failed has no value: exit 1 where it is used.
create a
! EINVAL mmap a - 0 rw- private|anonymous as=x
echo "the mmap failed as expected"
munmap a $x 1p
echo not reached
