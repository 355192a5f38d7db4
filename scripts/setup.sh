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
#   src-6.12/            the same of linux-source-6.12 (its maple tree, for
#                        the user-space harness of make check KVER=6.12)
#   src-docs/            scripts/kernel-doc and the Sphinx extension that
#                        runs it, of linux-source-6.1 (setup.sh --docs)
#   apt/<suite>/         apt's lists for a suite the machine's own sources
#                        do not name (bookworm-backports, for 6.12)
#   env.mk               variables for the Makefile (KABI, KDIR, VMLINUZ, ...)
#   env-6.12.mk          the same for KVER=6.12
#
# usage: setup.sh [--kver 6.12] | --guest trixie | --bench | --docs [--sphinx]
#
# --kver 6.12: Debian 12's bookworm-backports kernel (image, headers and
# kbuild, built with Debian 12's gcc-12), unpacked into the cache rather
# than installed: the machine's own kernel packages stay as they are. The
# archive's address is the one the machine's apt sources give for
# bookworm; no host name is written here.
#
# --guest trixie: Debian 13's kernel image for make check-tools
# GUEST=trixie (env-trixie.mk), read from trixie, trixie-updates and
# trixie-security the same way.
#
# --docs: the kernel's own scripts/kernel-doc (make lint checks the
# kernel-doc comments with it) and, with --sphinx, Debian's Sphinx and the
# kernel's kernel-doc extension for it (make htmldocs); nothing else.
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

# What setup.sh --docs extracts into src-docs/: the kernel-doc script and
# Documentation/sphinx's kerneldoc.py with the module it imports.
DOC_MEMBERS=(
	scripts/kernel-doc
	Documentation/sphinx/kerneldoc.py
	Documentation/sphinx/kernellog.py
)

# extract_source [TARBALL DIR MEMBER...]: 6.1's members into src/ by
# default; 6.12's tarball (its maple tree for the user-space harness)
# into src-6.12/, with tools/testing/shared, where 6.12 keeps the shims
# tools/testing/radix-tree had in 6.1.
extract_source() {
	local tarball=${1:-$SRC_TARBALL} dir=$CACHE/${2:-src} stamp want top
	local members=("${SRC_MEMBERS[@]}")
	[ $# -gt 2 ] && members+=("${@:3}")
	stamp=$dir/.stamp
	want=$(stat -c '%s %Y' "$tarball"; printf '%s\n' "${members[@]}")
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		return 0
	fi
	top=$(basename "$tarball" .tar.xz)
	say "extracting ${members[*]} from $tarball"
	rm -rf "$dir.new"
	mkdir -p "$dir.new"
	tar -xJf "$tarball" -C "$dir.new" --strip-components=1 \
		$(printf "$top/%s " "${members[@]}")
	rm -rf "$dir"
	mv "$dir.new" "$dir"
	echo "$want" > "$stamp"
}

# --- Other suites: bookworm-backports (6.12), trixie (the Debian 13 guest) ----

# apt, pointed at suites of the archive the machine already uses that its
# sources do not name, with sources and lists of its own in
# apt/<name>/ of the cache. $SUITE_DIR is set by suite_update.
SUITE_DIR=
suite_apt() {
	local tool=$1; shift
	"$tool" -o Dir::Etc::SourceList="$SUITE_DIR/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::State::Lists="$SUITE_DIR/lists" \
		-o Dir::Cache="$SUITE_DIR/cache" -o APT::Sandbox::User=root -q "$@"
}

# The URI apt uses for a suite the machine's sources name (bookworm,
# bookworm-security), e.g. the one in /etc/apt/sources.list.d/debian.sources.
archive_of() {
	apt-cache policy | awk -v s="$1/main" '$3 == s && $4 == "amd64" {
		print $2; exit }'
}

# suite_update NAME SUITE...: apt lists for those suites, each from the
# address the machine uses for bookworm's counterpart (*-security from
# bookworm-security's, the others from bookworm's).
suite_update() {
	local name=$1 main sec suite; shift
	main=$(archive_of bookworm)
	sec=$(archive_of bookworm-security)
	if [ -z "$main" ]; then
		need_root apt-get update -q
		main=$(archive_of bookworm)
		sec=$(archive_of bookworm-security)
	fi
	[ -n "$main" ] || { say "no bookworm archive in the apt sources"; exit 1; }
	SUITE_DIR=$CACHE/apt/$name
	mkdir -p "$SUITE_DIR/lists/partial" "$SUITE_DIR/cache/archives/partial"
	: > "$SUITE_DIR/sources.list"
	for suite in "$@"; do
		case $suite in
		*-security)
			[ -n "$sec" ] || { say "no bookworm-security archive in the apt sources"; exit 1; }
			echo "deb $sec $suite main" ;;
		*) echo "deb $main $suite main" ;;
		esac >> "$SUITE_DIR/sources.list"
	done
	say "reading $* from the machine's Debian archive"
	suite_apt apt-get update >/dev/null
}

# The first package a package depends on whose name starts with $2.
dep_of() {
	suite_apt apt-cache show --no-all-versions "$1" |
		sed -n 's/^Depends: //p' | tr ',|' '\n\n' |
		sed -n "s/^ *\($2[^ ]*\).*/\1/p" | head -n 1
}

# The ABI the suite's linux-headers-amd64 points at, e.g.
# 6.12.95+deb12-amd64.
suite_abi() {
	local hdr
	hdr=$(dep_of linux-headers-amd64 linux-headers-)
	echo "${hdr#linux-headers-}"
}

# fetch_unpack DIR PACKAGE...: download the packages and unpack them all
# into DIR (made anew, complete or absent).
fetch_unpack() {
	local dir=$1 tmp f; shift
	tmp=$(mktemp -d)
	chmod 0755 "$tmp"
	(cd "$tmp" && suite_apt apt-get download "$@")
	rm -rf "$dir.new"
	mkdir -p "$dir.new"
	for f in "$tmp"/*.deb; do
		dpkg -x "$f" "$dir.new"
	done
	rm -rf "$tmp"
}

# The image, headers (flavour and common) and kbuild of $1, unpacked
# into kernel/<abi>/; the flavour Makefile's absolute include made to
# point into the cache.
fetch_kernel_bpo() {
	local abi=$1 dir=$CACHE/kernel/$1 common kbuild
	[ -f "$dir/.complete" ] && return 0
	common=$(dep_of "linux-headers-$abi" linux-headers-)
	kbuild=$(dep_of "linux-headers-$abi" linux-kbuild-)
	[ -n "$common" ] && [ -n "$kbuild" ] ||
		{ say "cannot read linux-headers-$abi's dependencies"; exit 1; }
	say "fetching linux-image-$abi, its headers and $kbuild"
	fetch_unpack "$dir" "linux-image-$abi-unsigned" "linux-headers-$abi" \
		"$common" "$kbuild"
	sed -i "s#^include /usr/src/#include $dir/usr/src/#" \
		"$dir.new/usr/src/linux-headers-$abi/Makefile"
	touch "$dir.new/.complete"
	rm -rf "$dir"
	mv "$dir.new" "$dir"
}

# bookworm-backports' linux-source-6.12 (the debug kernel's source), its
# tarball unpacked into kernel/<abi>/usr/src/.
fetch_source_bpo() {
	local abi=$1 dir=$CACHE/kernel/$1
	[ -f "$dir/.source" ] && return 0
	say "fetching linux-source-6.12"
	fetch_unpack "$dir.src" linux-source-6.12
	cp -a "$dir.src.new/." "$dir/"
	rm -rf "$dir.src.new"
	touch "$dir/.source"
}

# The Debian 13 guest's kernel: trixie's image (its headers are installed
# inside the guest, built with trixie's gcc-14), unpacked into
# kernel/<abi>/.
fetch_kernel_trixie() {
	local abi=$1 dir=$CACHE/kernel/$1
	[ -f "$dir/.complete" ] && return 0
	say "fetching linux-image-$abi"
	fetch_unpack "$dir" "linux-image-$abi-unsigned"
	# Trixie's packages ship /usr/lib only (merged /usr): lib/modules/
	# is where scripts/debian-guest looks, as for bookworm's.
	[ -e "$dir.new/lib" ] || ln -s usr/lib "$dir.new/lib"
	touch "$dir.new/.complete"
	rm -rf "$dir"
	mv "$dir.new" "$dir"
}

write_env() {
	local abi=$1 env=$CACHE/env${2:+-$2}.mk kdir=${3:-/usr/src/linux-headers-$1}
	local tarball=${4:-$SRC_TARBALL} ksrc=$CACHE/${5:-src}
	cat > "$env.new" <<EOT
# Generated by scripts/setup.sh; do not edit.
SHADOW_MM_CACHE := $CACHE
KABI := $abi
DEBIAN_KDIR := $kdir
VMLINUZ := $CACHE/kernel/$abi/boot/vmlinuz-$abi
KSFT_DIR := $CACHE/src/tools/testing/selftests
CHECKPATCH := $CACHE/src/scripts/checkpatch.pl
KSRC_CACHE := $ksrc
KSRC_TARBALL := $tarball
EOT
	# An unchanged file is only touched: make remakes it when setup.sh is
	# newer (a fresh clone), and would otherwise rerun setup.sh each time.
	if ! cmp -s "$env.new" "$env"; then
		mv "$env.new" "$env"
	else
		rm -f "$env.new"
		touch "$env"
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
	# make lint and make htmldocs: only the documentation tools.
	if [ "${1:-}" = --docs ]; then
		PKGS=(linux-source-6.1 perl)
		[ "${2:-}" != --sphinx ] || PKGS+=(python3-sphinx)
		install_packages
		SRC_MEMBERS=("${DOC_MEMBERS[@]}")
		extract_source "$SRC_TARBALL" src-docs
		return
	fi
	install_packages
	local abi
	if [ "${1:-}" = --guest ]; then
		[ "${2:-}" = trixie ] ||
			{ say "unknown guest '${2:-}': trixie"; exit 2; }
		suite_update trixie trixie trixie-updates trixie-security
		abi=$(suite_abi)
		[[ $abi == *+deb13-amd64 ]] ||
			{ say "trixie has no Debian 13 kernel ('$abi')"; exit 1; }
		fetch_kernel_trixie "$abi"
		cat > "$CACHE/env-trixie.mk.new" <<EOT
# Generated by scripts/setup.sh --guest trixie; do not edit.
TRIXIE_KABI := $abi
TRIXIE_VMLINUZ := $CACHE/kernel/$abi/boot/vmlinuz-$abi
EOT
		mv "$CACHE/env-trixie.mk.new" "$CACHE/env-trixie.mk"
		return
	fi
	if [ "${1:-}" = --kver ]; then
		case "${2:-}" in
		6.12) ;;
		*) say "unknown kernel '${2:-}': 6.12, or none for 6.1"; exit 2 ;;
		esac
		extract_source
		suite_update bookworm-backports bookworm-backports
		abi=$(suite_abi)
		[[ $abi == 6.12.* ]] ||
			{ say "bookworm-backports has no 6.12 kernel ('$abi')"; exit 1; }
		fetch_kernel_bpo "$abi"
		fetch_source_bpo "$abi"
		extract_source \
			"$CACHE/kernel/$abi/usr/src/linux-source-6.12.tar.xz" \
			src-6.12 tools/testing/shared
		write_env "$abi" 6.12 \
			"$CACHE/kernel/$abi/usr/src/linux-headers-$abi" \
			"$CACHE/kernel/$abi/usr/src/linux-source-6.12.tar.xz" \
			src-6.12
		return
	fi
	abi=$(headers_abi)
	[ -n "$abi" ] || { say "cannot read the headers' ABI"; exit 1; }
	fetch_kernel "$abi"
	extract_source
	write_env "$abi"
}

main "$@"
