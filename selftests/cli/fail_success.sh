# A command expected to fail that succeeds stops the script: exit 1.
create a
! ENOMEM mmap a - 1p rw- private|anonymous
echo not reached
