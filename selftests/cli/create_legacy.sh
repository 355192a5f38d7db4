# create LABEL legacy: SHADOW_CREATE_LEGACY_LAYOUT, the layout of a
# program run under setarch -L (ADDR_COMPAT_LAYOUT). Without a hint, the
# default space maps top-down below mmap_base (TASK_SIZE - 128 MiB); the
# legacy one bottom-up from TASK_UNMAPPED_BASE (PAGE_ALIGN(TASK_SIZE / 3)),
# each mapping above the one before.
create top
mmap top - 4p rw- private|anonymous
mmap top - 4p rw- private|anonymous
create low legacy
mmap low - 4p rw- private|anonymous
mmap low - 4p rw- private|anonymous
maps low
# mmap_base= is the bottom of the bottom-up area then.
create base legacy mmap_base=0x100000000
mmap base - 1p r-- private|anonymous
# import ... legacy: a maps FILE does not say which layout it had, so it
# is given; what is mapped next without a hint goes bottom-up.
import q import_debian.maps stat=import_debian.stat root=import_root legacy
mmap q - 1p r-- private|anonymous
