# Replay (-r): every line runs whatever the one before did, and each call
# prints one result: ok, ok ADDR or err ENAME ("fail" when it cannot run).
create p mmap_base=0x80000000
mmap p - 16k rw- private|anonymous as=a
mmap p 0x10000000 1p r-- private|anonymous|fixed_noreplace
mmap p 0x10000000 1p r-- private|anonymous|fixed_noreplace
mmap p 0x10000800 1p r-- private|anonymous|fixed
mmap p - 0 rw- private|anonymous as=z
munmap p $z 1p
mmap p - 0x800000000000 rw- private|anonymous
munmap p $a+1 1p
mprotect p 0x20000000 1p r--
mremap p $a 16k 32k maymove as=b
mremap p $b 4k 8k
madvise p $b 4p dontneed
brk p
brk p 0x555555559000+8k
touch p $b 2p write
touch p 0x30000000 1p read
write p 0x30000000 "x"
mlock p $b 1p
# A "! ERRNO" met prints its err; one not met says so and sets exit 1.
! EINVAL munmap p $b+1 1p
! ENOMEM munmap p $b 1p
fork p c
mmap c $b 1p rw- private|anonymous|fixed
exit c
mmap c - 1p rw- private|anonymous
close c
maps p
! EBADF maps p
