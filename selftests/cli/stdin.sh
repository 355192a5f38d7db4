# Read from stdin ("-"): messages name it <stdin>.
create a
mmap a 0x10000000 2p rw- private|anonymous as=x
! EINVAL munmap a $x+1 1p
munmap a $x+1p 1p
maps a
munmap a $x 0
echo not reached
