create a
mprotekt a 0x10000 1p r--
