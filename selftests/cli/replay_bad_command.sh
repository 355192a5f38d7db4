# With -r too, an unknown command is reported with its line, nothing runs.
create p
mmap p - 1p rw- private|anonymous
mmaps p
