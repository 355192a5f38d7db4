# import of a static program's layout, saved under 6.1 with ASLR off
# (shadow_mm_trace_prog, its file replaced by import_root's stand-in):
# the bss past the file's last page shows as [heap] because it ends at
# start_brk (stat field 47). It is mapped as anonymous memory, which the
# engine names as the kernel it is loaded into does ([heap] before 6.5:
# shadow_mm_layout_test's heap_name_follows_kernel), and brk grows in a
# VMA of its own above it. vmas, not maps: the same on every kernel.
import p import_static.maps stat=import_static.stat root=import_root
brk p
brk p 0x4d6000
vmas p
stats p
# Linux 6.5 and later show the bss unnamed (vma_is_initial_heap()): an
# unnamed line that ends at start_brk is the bss too, [heap] in 6.1.
import q import_static_6.12.maps stat=import_static.stat root=import_root
vmas q
