# Bad input to import (run with -r): each error names the maps file's
# line; the address space is closed again, nothing stays mapped (the
# counters show no mm, no VMA, no file), and the exit status is 1.
import p import_bad_perms.maps
import p2 import_bad_line.maps
import p3 import_bad_order.maps
import p4 import_missing.maps root=import_root
import p5 import_debian.maps stat=import_no_such.stat root=import_root
import p6 import_no_such.maps
import p7 import_debian.maps root=import_no_such
counters
