create a
mmap a - 1p rw- private|anonymous as=x
munmap a $y 1p
