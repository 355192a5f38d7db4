# Without -r a failed import stops the script (exit 1) after unmapping
# what it had mapped; the lines before the missing file were mapped.
import p import_missing.maps root=import_root
echo not reached
