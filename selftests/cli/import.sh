# import: the address space of Debian 12's `cat /proc/self/maps
# /proc/self/stat` (saved in import_debian.maps and .stat), its files
# read from stand-ins under import_root/. What the uapi cannot build is
# listed as "# not reproduced"; the rest matches the saved maps.
import p import_debian.maps stat=import_debian.stat root=import_root
maps p
brk p
vmas p 0x7fb74b875000 0x7fb74b8ce000
stats p
