# A command that fails unexpectedly stops the script: exit 1.
create a
mmap a 0x10000000 1p rw- private|anonymous as=x
echo before
munmap a $x+1 1p
echo not reached
