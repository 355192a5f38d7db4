create a
mmap a - 16q rw- private|anonymous
