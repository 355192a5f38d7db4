# mmap file=PATH maps a file by its path, opened read-only, or read-write
# for a writable shared mapping; root=DIR, or else the last import's
# root=, comes before an absolute PATH. /dev/zero maps anonymous memory,
# as Linux does. A file that cannot be opened is a line-numbered error
# that stops the script (exit 1).
create p mmap_base=0x80000000
mmap p - 1p r-- private file=import_root/usr/bin/cat as=a
read p $a 16 text
mmap p - 2p r-x private file=/usr/lib/x86_64-linux-gnu/libc.so.6 root=import_root as=b
mmap p $b+1p 1p r-- private|fixed file=import_root/usr/bin/cat offset=1p
mmap p - 1p rw- shared file=import_root/usr/bin/cat
mmap p - 1p rw- shared file=/dev/zero
mmap p - 1p rw- private file=/dev/zero
maps p
# The import's root= is where the next file=/PATH is looked up.
import q mmap_file.maps root=import_root
mmap q - 1p r-- private file=/usr/bin/cat
maps q
mmap q - 1p r-- private file=/usr/bin/dog
echo not reached
