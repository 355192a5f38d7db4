# fork: dup_mmap shares private pages copy-on-write, shared pages stay
# shared; the first write copies, the last sharer reuses in place. Then
# the fork advice of madvise(2), and a CLONE_VM user.
create p
mmap p - 4p rw- private|anonymous as=x
mmap p - 2p rw- shared|anonymous as=s
write p $x "parent"
touch p $x+1p 1p read
write p $s "shared"
walk p $x 3
fork p c
maps c
# Both map the same write-protected page; the child's PTE is old.
walk p $x 3
walk c $x 3
walk p $s 1
walk c $s 1

# The child's write copies; the parent, alone on the old page, reuses it.
write c $x "child"
walk p $x 1
walk c $x 1
write p $x "PARENT"
walk p $x 1
read p $x 6
read c $x 6
# Shared memory is shared.
write c $s "SHARED"
read p $s 6
stats p
stats c

# dontfork: not in the child; wipeonfork: the child gets zeroes.
madvise p $x+2p 2p dontfork
madvise p $x 1p wipeonfork
vmas p
fork p d
vmas d
read d $x 6
read d $x+1p 1
! EINVAL madvise p $s 1p wipeonfork
! ENOMEM madvise p 0x10000 1p dontfork
madvise p $x 4p dofork
madvise p $x 1p keeponfork
vmas p $x $x+4p

# CLONE_VM: one address space, two users.
fork p v vm
stats v
exit v
! ESRCH maps v
stats p
close v
close d
close c
counters
exit p
! ESRCH stats p
counters
