echo not printed
create a
mmap b - 1p rw- private|anonymous
