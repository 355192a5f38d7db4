# Faults and access_process_vm: the zero page, anonymous pages, COW of the
# zero page, forced writes, partial transfers, and where a process would
# get SIGSEGV.
create a
mmap a - 8p rw- private|anonymous as=x
walk a $x 2

# A read maps the zero page; a write maps a fresh zeroed page.
touch a $x 1p read
touch a $x+1p 1p write
walk a $x 3
stats a

# Writing over the zero page copies it (do_wp_page): a private page.
write a $x "hello, world\n"
read a $x 16
read a $x 16 hex
walk a $x 1

# A write across a page boundary, read back around it.
write a $x+2p fill=0x41 len=5000
read a $x+3p-8 16 hex
walk a $x+2p 2

# Only the start of a transfer that runs off the mapping is done.
read a $x+8p-6 20
write a $x+8p-2 "abcd"
read a $x+8p-2 2
! EFAULT read a $x+8p 1
! EFAULT touch a $x+6p 4p read

# Read-only memory: a write faults like SIGSEGV, unless forced (ptrace),
# which breaks COW into a private page that stays read-only. (No walk
# here: Linux's FOLL_TOUCH dirties the page, not the PTE, which the
# engine does not tell apart.)
mmap a - 1p r-- private|anonymous as=ro
! EFAULT touch a $ro 1p write
! EFAULT write a $ro "no"
write a $ro "forced" force
read a $ro 8
! EFAULT touch a $ro 1p write

# Exec needs VM_EXEC. PROT_NONE allows no access, but a forced read
# (ptrace's PEEKDATA) sees it: VM_MAYREAD is set.
mmap a - 1p r-x private|anonymous as=rx
touch a $rx 1p exec
! EFAULT touch a $x 1p exec
mmap a - 1p --- private|anonymous as=none
! EFAULT touch a $none 1p read
! EFAULT read a $none 4
read a $none 4 force

# Nothing mapped there.
! EFAULT touch a 0x10000 1p read
walk a 0x10000 1
stats a
close a
counters
