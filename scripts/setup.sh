#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install (from Debian's archive only) and cache everything shadow_mm needs to
# build and to test inside a VM. Idempotent: seconds when all is in place.
#
# The cache lives outside the tree ($SHADOW_MM_CACHE, default
# ~/.cache/shadow_mm) and holds:
#   kernel/<abi>/        the unpacked linux-image package booted by the VM
#                        (for 6.12 also its headers and kbuild, unpacked)
#   src/                 the parts of linux-source-6.1 the project uses:
#                        the kselftest framework, checkpatch, maple tree
#   apt/<suite>/         apt's lists for a suite the machine's own sources
#                        do not name (bookworm-backports, for 6.12)
#   env.mk               variables for the Makefile (KABI, KDIR, VMLINUZ, ...)
#   env-6.12.mk          the same for KVER=6.12
#
# usage: setup.sh [--kver 6.12] | --bench
#
# --kver 6.12: Debian 12's bookworm-backports kernel (image, headers and
# kbuild, built with Debian 12's gcc-12), unpacked into the cache rather
# than installed: the machine's own kernel packages stay as they are. The
# archive's address is the one the machine's apt sources give for
# bookworm; no host name is written here.
set -euo pipefail

CACHE=${SHADOW_MM_CACHE:-$HOME/.cache/shadow_mm}
SRC_TARBALL=/usr/src/linux-source-6.1.tar.xz

# Debian packages the build and the VM runner need.
PKGS=(linux-headers-amd64 linux-source-6.1 qemu-system-x86 busybox-static
      cpio sparse build-essential bc bison flex libelf-dev libssl-dev kmod
      xz-utils liburcu-dev perl man-db groff-base dwarves)

say() { printf 'setup: %s\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null; then
			sudo "$@"
		else
			say "need root to run: $*"; exit 1
		fi
	else
		"$@"
	fi
}

install_packages() {
	local missing=() p
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	need_root apt-get update -q
	need_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The ABI the headers meta-package points at, e.g. 6.1.0-56-amd64.
headers_abi() {
	local dep
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64)
	dep=${dep%%[ ,]*}
	echo "${dep#linux-headers-}"
}

fetch_kernel() {
	local abi=$1 dir=$CACHE/kernel/$1 tmp
	[ -f "$dir/boot/vmlinuz-$abi" ] && return 0
	say "fetching linux-image-$abi from Debian"
	tmp=$(mktemp -d)
	chmod 0755 "$tmp"
	# apt's sandbox user must be able to write where the .deb lands.
	(cd "$tmp" && apt-get download -q "linux-image-$abi" ||
		{ need_root apt-get update -q &&
		  apt-get download -q "linux-image-$abi"; })
	mkdir -p "$dir.new"
	dpkg -x "$tmp"/linux-image-"$abi"_*.deb "$dir.new"
	rm -rf "$tmp" "$dir"
	mv "$dir.new" "$dir"
}

# Members of the source tarball the project uses; extracting them once keeps
# later runs at seconds.
SRC_MEMBERS=(
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/lib.mk
	tools/testing/selftests/run_kselftest.sh
	tools/testing/selftests/kselftest
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
	lib/maple_tree.c
	include/linux/maple_tree.h
	include/trace/events/maple_tree.h
	include/linux/xarray.h
	include/linux/kconfig.h
	include/linux/gfp_types.h
	tools/testing/radix-tree
	tools/include
	tools/lib
	tools/arch/x86/include
	tools/scripts
)

extract_source() {
	local stamp=$CACHE/src/.stamp want
	want=$(stat -c '%s %Y' "$SRC_TARBALL"; printf '%s\n' "${SRC_MEMBERS[@]}")
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		return 0
	fi
	say "extracting kselftest, checkpatch and maple tree from $SRC_TARBALL"
	rm -rf "$CACHE/src.new"
	mkdir -p "$CACHE/src.new"
	tar -xJf "$SRC_TARBALL" -C "$CACHE/src.new" --strip-components=1 \
		$(printf 'linux-source-6.1/%s ' "${SRC_MEMBERS[@]}")
	rm -rf "$CACHE/src"
	mv "$CACHE/src.new" "$CACHE/src"
	echo "$want" > "$stamp"
}

# --- Linux 6.12 from bookworm-backports ---------------------------------------

# apt, pointed at one extra suite of the archive the machine already uses,
# with lists of its own in the cache.
BPO_SUITE=bookworm-backports
BPO_DIR=$CACHE/apt/$BPO_SUITE
bpo_apt() {
	local tool=$1; shift
	"$tool" -o Dir::Etc::SourceList="$BPO_DIR/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::State::Lists="$BPO_DIR/lists" \
		-o Dir::Cache="$BPO_DIR/cache" -o APT::Sandbox::User=root -q "$@"
}

# The URI apt uses for Debian 12's main archive, e.g. the one in
# /etc/apt/sources.list.d/debian.sources.
debian_archive() {
	apt-cache policy | awk '$3 == "bookworm/main" && $4 == "amd64" {
		print $2; exit }'
}

bpo_update() {
	local uri
	uri=$(debian_archive)
	if [ -z "$uri" ]; then
		need_root apt-get update -q
		uri=$(debian_archive)
	fi
	[ -n "$uri" ] || { say "no bookworm archive in the apt sources"; exit 1; }
	mkdir -p "$BPO_DIR/lists/partial" "$BPO_DIR/cache/archives/partial"
	echo "deb $uri $BPO_SUITE main" > "$BPO_DIR/sources.list"
	say "reading $BPO_SUITE from $uri"
	bpo_apt apt-get update >/dev/null
}

# The first package a package depends on whose name starts with $2.
dep_of() {
	bpo_apt apt-cache show --no-all-versions "$1" |
		sed -n 's/^Depends: //p' | tr ',|' '\n\n' |
		sed -n "s/^ *\($2[^ ]*\).*/\1/p" | head -n 1
}

# The ABI bookworm-backports' linux-headers-amd64 points at, e.g.
# 6.12.95+deb12-amd64.
bpo_abi() {
	local hdr
	hdr=$(dep_of linux-headers-amd64 linux-headers-)
	echo "${hdr#linux-headers-}"
}

# The image, headers (flavour and common) and kbuild of $1, unpacked
# into kernel/<abi>/; the flavour Makefile's absolute include made to
# point into the cache.
fetch_kernel_bpo() {
	local abi=$1 dir=$CACHE/kernel/$1 tmp common kbuild f
	[ -f "$dir/.complete" ] && return 0
	common=$(dep_of "linux-headers-$abi" linux-headers-)
	kbuild=$(dep_of "linux-headers-$abi" linux-kbuild-)
	[ -n "$common" ] && [ -n "$kbuild" ] ||
		{ say "cannot read linux-headers-$abi's dependencies"; exit 1; }
	say "fetching linux-image-$abi, its headers and $kbuild from $BPO_SUITE"
	tmp=$(mktemp -d)
	chmod 0755 "$tmp"
	(cd "$tmp" && bpo_apt apt-get download "linux-image-$abi-unsigned" \
		"linux-headers-$abi" "$common" "$kbuild")
	rm -rf "$dir.new"
	mkdir -p "$dir.new"
	for f in "$tmp"/*.deb; do
		dpkg -x "$f" "$dir.new"
	done
	rm -rf "$tmp"
	sed -i "s#^include /usr/src/#include $dir/usr/src/#" \
		"$dir.new/usr/src/linux-headers-$abi/Makefile"
	touch "$dir.new/.complete"
	rm -rf "$dir"
	mv "$dir.new" "$dir"
}

# bookworm-backports' linux-source-6.12 (the debug kernel's source), its
# tarball unpacked into kernel/<abi>/usr/src/.
fetch_source_bpo() {
	local abi=$1 dir=$CACHE/kernel/$1 tmp
	[ -f "$dir/.source" ] && return 0
	say "fetching linux-source-6.12 from $BPO_SUITE"
	tmp=$(mktemp -d)
	chmod 0755 "$tmp"
	(cd "$tmp" && bpo_apt apt-get download linux-source-6.12)
	dpkg -x "$tmp"/linux-source-6.12_*.deb "$dir"
	rm -rf "$tmp"
	touch "$dir/.source"
}

write_env() {
	local abi=$1 env=$CACHE/env${2:+-$2}.mk kdir=${3:-/usr/src/linux-headers-$1}
	local tarball=${4:-$SRC_TARBALL}
	cat > "$env.new" <<EOT
# Generated by scripts/setup.sh; do not edit.
SHADOW_MM_CACHE := $CACHE
KABI := $abi
DEBIAN_KDIR := $kdir
VMLINUZ := $CACHE/kernel/$abi/boot/vmlinuz-$abi
KSFT_DIR := $CACHE/src/tools/testing/selftests
CHECKPATCH := $CACHE/src/scripts/checkpatch.pl
KSRC_CACHE := $CACHE/src
KSRC_TARBALL := $tarball
EOT
	if ! cmp -s "$env.new" "$env"; then
		mv "$env.new" "$env"
	else
		rm -f "$env.new"
	fi
}

main() {
	# make bench draws its plots with gnuplot: only it asks for it.
	if [ "${1:-}" = --bench ]; then
		PKGS=(gnuplot-nox)
		install_packages
		return
	fi
	mkdir -p "$CACHE"
	install_packages
	local abi
	if [ "${1:-}" = --kver ]; then
		case "${2:-}" in
		6.12) ;;
		*) say "unknown kernel '${2:-}': 6.12, or none for 6.1"; exit 2 ;;
		esac
		extract_source
		bpo_update
		abi=$(bpo_abi)
		[[ $abi == 6.12.* ]] ||
			{ say "$BPO_SUITE has no 6.12 kernel ('$abi')"; exit 1; }
		fetch_kernel_bpo "$abi"
		fetch_source_bpo "$abi"
		write_env "$abi" 6.12 \
			"$CACHE/kernel/$abi/usr/src/linux-headers-$abi" \
			"$CACHE/kernel/$abi/usr/src/linux-source-6.12.tar.xz"
		return
	fi
	abi=$(headers_abi)
	[ -n "$abi" ] || { say "cannot read the headers' ABI"; exit 1; }
	fetch_kernel "$abi"
	extract_source
	write_env "$abi"
}

main "$@"
