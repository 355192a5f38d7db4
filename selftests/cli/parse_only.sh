# Every command, checked (-n) but not run: mprotect, mlock, mremap and brk
# parse here even where the module does not implement them yet.
create a
create b mmap_base=0x7f0000000000
mmap a - 16p rw- private|anonymous as=x
mmap a 0x10000000 4k rwx|growsdown private|anonymous|fixed|noreserve|populate|locked offset=0
mmap a $x+0x1000 1p --- shared|anonymous|fixed_noreplace|growsdown as=y
mmap a - 1p 7 0x22
mmap a - 1p r-- private file=/etc/hostname root=/ offset=1p
munmap a $x 4p
mprotect a $x 4p r--
mprotect a $x 4p rw-|growsdown
madvise a $x 4p dontneed
madvise a $x 4p willneed
madvise a $x 4p dontfork
madvise a $x 4p dofork
madvise a $x 4p wipeonfork
madvise a $x 4p keeponfork
madvise a $x 4p populate_read
madvise a $x 4p populate_write
madvise a $x 4p normal
madvise a $x 4p random
madvise a $x 4p sequential
madvise a $x 4p dontdump
madvise a $x 4p dodump
madvise a $x 4p 100
mremap a $x 4p 8p
mremap a $x 4p 8p maymove as=z
mremap a $x 4p 4p maymove fixed to=0x20000000 as=z
mremap a $x 4p 4p maymove|fixed|dontunmap to=$z+4p
mlock a $x 4p
mlock a $x 4p onfault
munlock a $x 4p
mlockall a current
mlockall a current future onfault
mlockall a current|future
munlockall a
brk a
brk a 0x555555600000
brk a start=0x600000000000
touch a $x 1p read
touch a $x 1p write
touch a $x 1p exec
write a $x "text\n"
write a $x "text" force
write a $x fill=0 len=1p
write a $x fill=255 len=10 force
read a $x 16
read a $x 16 hex
read a $x 16 text
read a $x 16 force
read a $x 16 hex force
fork a c
fork a v vm
fork a o odf
maps a
vmas a
vmas a $x $x+1m
walk a $x 4
stats a
! ENOTTY mprotect a $x 4p r--
! ESRCH stats v
exit v
close v
close o
close c
counters
echo done
sleep 0
help
