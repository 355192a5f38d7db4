create a
munmap a 0x10000
