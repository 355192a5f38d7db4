create a
! ENOMEMORY mmap a - 1p rw- private|anonymous
