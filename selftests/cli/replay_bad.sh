# With -r too, the script is parsed first: an unknown option or command
# is reported with its line and nothing runs (exit 2).
create p
import q import_debian.maps flags=1
