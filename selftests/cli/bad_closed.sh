create a
fork a b
close b
maps a
maps b
