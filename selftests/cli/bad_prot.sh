# A malformed line: nothing runs, not even the lines before it; exit 2.
echo not printed
create a
mmap a - 1p rw- private|anonymous as=x

# the seventh line:
mmap a - 1p rwz private|anonymous
