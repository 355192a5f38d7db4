create a
mmap a - 1p rw- private|anonymous as=x
write a $x "unterminated
