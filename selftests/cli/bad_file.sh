# file= maps a file: it cannot go with anonymous (exit 2, nothing runs).
create p
mmap p - 1p r-- private|anonymous file=import_root/usr/bin/cat
