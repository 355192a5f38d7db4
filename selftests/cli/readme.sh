# The example of README.md: fork, then copy-on-write.
create p
mmap p - 4p rw- private|anonymous as=x
write p $x "hello"
fork p c
walk p $x 2
write c $x "HELLO"
walk p $x 1
walk c $x 1
read p $x 5 hex
read c $x 5
! EINVAL munmap p $x+1 1p
maps c
