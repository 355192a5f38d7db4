# make check-tools' scenario (scripts/guest/check-tools): a mapping, a
# fault on each kind of page, a fork, a copy-on-write, a split by mprotect,
# a munmap and two exits; traced by trace-cmd, counted by perf stat and by
# bpftrace.
create p
mmap p - 4p rw- private|anonymous as=x
write p $x "hello"
touch p $x+1p 1p read
fork p c
write c $x "HELLO"
mprotect p $x+2p 1p r--
munmap p $x+3p 1p
exit c
close c
exit p
close p
