# A command that fails with another errno than expected: exit 1.
create a
! EEXIST mmap a - 0 rw- private|anonymous
echo not reached
