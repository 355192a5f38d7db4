# The script syntax: comments, blank lines, strings and escapes, numbers
# with suffixes, $variables with + and -, echo and sleep.

echo plain words   "and a  string"   key=value   # a trailing comment
echo "escapes: \"q\" \\ \t|tab \x41\x42"
echo
sleep 1
create a mmap_base=0x80000000
stats a
mmap a - 1g --- private|anonymous|noreserve as=big
mmap a - 64k rw- private|anonymous as=k
mmap a - 0x3000 rw- 0x22 as=hex
mmap a $big+1m-4k 2p r-- private|anonymous|fixed
maps a
write a $k "a\0b\nc"
read a $k 5
read a $k 8 hex
write a $k+1 "#not a comment"
read a $k 16
# as= overwrites a variable.
mmap a - 1p rw- private|anonymous as=k
echo $k is not expanded by echo
vmas a $k $k+1
