# SPDX-License-Identifier: GPL-2.0
#
# shadow_mm: build the module and its tests, and run them inside a VM.
#
#   make            module (against KDIR) and the selftests
#   make run        boot the VM, load the module, run the demo
#   make check      every test: unit tests, then built, booted, run in the
#                   VM; ends "N passed, N failed"
#   KVER=6.12       (with check, run, shell, fuzz, bench) the VM boots
#                   Debian 12's bookworm-backports 6.12 kernel and the
#                   module is built against its headers; default 6.1
#   make unit       the user-space VMA harness alone (no VM), in seconds
#   make check-debug  the same under a debug kernel (KASAN, lockdep, ...)
#   make fuzz       the differential fuzzer in the VM, SECONDS=600 [SEED=n] [THP=always]
#                   [ODF=1: every fork on demand]
#   make bench      shadow_mm_bench in the VM, each shadow operation against
#                   its native counterpart: table, CSV and plots in
#                   build/bench/ [BENCH_QUICK=1] [BENCH_SIZES=0,1,64,1024]
#                   [BENCH_VMAS=1,100,10000,65530] [BENCH_REPS=5]
#                   [BENCH_ONLY=wis,pair,noop,fault,fork,munmap,thp,vmas,populate,memory]
#                   [BENCH_THP=1 (native side with transparent huge pages)]
#   make vm RUN="./prog args" [FILES="a b"] [CWD=dir]  your own program
#                   (static or dynamic, built anywhere) in the VM with the
#                   module loaded: the host's / read-only over 9p, run in
#                   CWD (default: where make was started; use make -s -C
#                   <checkout> from there); its stdout, stderr and exit
#                   code are the command's, the kernel log is build/vm/run.log
#                   (make exits 2 on any failure: scripts/vm-run [--kver
#                   6.12] [--files "a b"] -- ./prog args passes it on exactly)
#   make shell      boot the VM with the module loaded and open a shell
#   make lint       checkpatch --strict, sparse, kernel-doc and the man pages
#   make htmldocs   Documentation/ as HTML in build/htmldocs (Sphinx and the
#                   kernel's kernel-doc); any warning fails
#   make install    module, CLI, uapi header and man pages [DESTDIR=]
#                   [PREFIX=/usr] [KERNELRELEASE=|KDIR=]; make uninstall
#   make deb        the Debian packages (shadow-mm-dkms, shadow-mm-tools)
#   make check-install  install and uninstall into a DESTDIR, build the
#                   packages and check their contents; no VM
#   make check-tools  in a full Debian guest: the packages, DKMS, modinfo,
#                   trace-cmd, perf, bpftrace, man, purge; make shell
#                   GUEST=debian opens a shell there; GUEST=trixie: the
#                   same in a Debian 13 guest (DKMS with its gcc-14)
#
# Everything fetched or extracted lives in $(SHADOW_MM_CACHE); see
# scripts/setup.sh.

SHADOW_MM_CACHE ?= $(HOME)/.cache/shadow_mm
export SHADOW_MM_CACHE
BUILD := $(CURDIR)/build

# KVER: which Debian kernel the VM boots. 6.1 (Debian 12's own, the
# default) or 6.12 (bookworm-backports, unpacked into the cache by
# setup.sh --kver 6.12).
KVER ?= 6.1
ifeq ($(filter 6.1 6.12,$(KVER)),)
$(error KVER=$(KVER): 6.1 or 6.12)
endif
# What names the files and build directories of a kernel other than 6.1.
KVER_SUFFIX := $(if $(filter-out 6.1,$(KVER)),-$(KVER))
ENV_MK := $(SHADOW_MM_CACHE)/env$(KVER_SUFFIX).mk
SETUP_ARGS := $(if $(KVER_SUFFIX),--kver $(KVER))

# Installing and packaging build only against kernel headers that are
# already there: they install nothing and fetch nothing.
NO_SETUP_GOALS := clean help version install uninstall install-module \
	uninstall-module install-tools uninstall-tools tools dkms-source deb \
	lint-man lint-docs check-install
# The documentation tools come from setup.sh --docs alone.
NO_SETUP_GOALS += htmldocs lint-kernel-doc
ifeq ($(filter-out $(NO_SETUP_GOALS),$(or $(MAKECMDGOALS),all)),)
# The headers setup.sh chose, if it ever ran; nothing is installed here.
-include $(ENV_MK)
else
# Make remakes env.mk through setup.sh (installing what is missing) and
# restarts with its variables.
$(ENV_MK): scripts/setup.sh
	scripts/setup.sh $(SETUP_ARGS)
include $(ENV_MK)
endif

# KERNELRELEASE=6.1.0-57-amd64 picks /lib/modules/<it>/build; KDIR= a
# build tree, whose release is read from its utsrelease.h (Debian's
# include/config/kernel.release holds the upstream version instead).
ifneq ($(KERNELRELEASE),)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
endif
# Kbuild keeps its own KERNELRELEASE: never pass ours down.
MAKEOVERRIDES := $(filter-out KERNELRELEASE=%,$(MAKEOVERRIDES))
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
KDIR ?= $(if $(wildcard $(RUNNING_KDIR)/Makefile),$(RUNNING_KDIR),$(DEBIAN_KDIR))
# The VM boots Debian's kernel: its tests need the module built for it.
# For 6.1 that is the tree's own build (module/shadow_mm.ko); another
# kernel's build goes to a copy of the sources, so the two never mix.
VM_KDIR := $(DEBIAN_KDIR)
VM_MODULE_DIR := $(if $(KVER_SUFFIX),$(BUILD)/module$(KVER_SUFFIX),$(CURDIR))
VM_KO := $(VM_MODULE_DIR)/module/shadow_mm.ko

# $(call copy_module_sources,DIR): the module's sources, without the
# tree's own build products, in DIR for a build against another kernel.
define copy_module_sources
rm -rf $(1) && mkdir -p $(1) && cp -r Kbuild module uapi $(1)/ && \
	rm -f $(1)/module/*.o $(1)/module/*.ko $(1)/module/*.mod* \
		$(1)/module/.*.cmd
endef

SELFTESTS_OUT := $(BUILD)/selftests
SELFTESTS_MAKE = $(MAKE) -C selftests OUTPUT=$(SELFTESTS_OUT) \
	KSFT_DIR=$(KSFT_DIR) TOPDIR=$(CURDIR)

# Extra arguments for the VM runner: T="<test> ..." runs those test programs,
# APPEND="..." adds kernel command-line arguments, ODF=1 loads the module
# with odf_always=1 (every fork an on-demand fork).
VM_ARGS = $(foreach t,$(T),--test $(t)) $(if $(APPEND),--append "$(APPEND)") \
	$(if $(filter 1,$(ODF)),--modparam odf_always=1)

.PHONY: all module module-vm selftests check check-debug run vm vm-build vm-paths vm-run-check-log shell lint unit fuzz bench \
	unit-build unit-log lint-man lint-docs tools install uninstall install-module \
	uninstall-module install-tools uninstall-tools dkms-source deb \
	check-install check-tools guest-payload version clean help

all: module selftests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

module-vm:
	$(if $(KVER_SUFFIX),$(call copy_module_sources,$(VM_MODULE_DIR)))
	$(MAKE) -C $(VM_KDIR) M=$(VM_MODULE_DIR) W=1 modules

selftests:
	$(SELFTESTS_MAKE)

# The user-space unit tests first: a failure there stops before booting.
# Their counts join the VM's in the closing "N passed, N failed" line.
# A whole run (no T=) also checks make vm (scripts/check-vm-run: one boot
# of a program built outside the tree); its counts join the closing line.
VM_RUN_CHECK_LOG := $(BUILD)/vm-run-check.log
check: module-vm selftests unit-log $(if $(T),,vm-run-check-log)
	scripts/vm-run --mode tests --kernel $(VMLINUZ) --ko $(VM_KO) --prior $(BUILD)/unit.log \
		$(if $(T),,--prior $(VM_RUN_CHECK_LOG)) $(VM_ARGS)

vm-run-check-log: module-vm selftests
	@scripts/check-vm-run --quick --kver $(KVER) > $(VM_RUN_CHECK_LOG) 2>&1; \
	grep -E '^not ok' $(VM_RUN_CHECK_LOG); tail -n 1 $(VM_RUN_CHECK_LOG); true

# The same suite under a debug kernel built from linux-source-6.1 (KASAN,
# lockdep, kmemleak, UBSAN, DEBUG_VM, fault injection): built once per
# config fragment into the cache (about 6 minutes), the module built against
# it in build/debug-module. The debug kernel runs the suite several times
# slower than Debian's, so its VM gets 30 minutes instead of vm-run's 15.
DEBUG_MODULE := $(BUILD)/debug-module$(KVER_SUFFIX)
DEBUG_LOG := $(BUILD)/vm/debug$(KVER_SUFFIX).log
check-debug: selftests unit-log
	@kdir=$$(scripts/debug-kernel/build $(KSRC_TARBALL) | tail -n 1) && \
	$(call copy_module_sources,$(DEBUG_MODULE)) && \
	$(MAKE) -C $$kdir M=$(DEBUG_MODULE) W=1 modules && \
	scripts/vm-run --mode tests --kernel $$kdir/arch/x86/boot/bzImage \
		--timeout 1800 \
		--ko $(DEBUG_MODULE)/module/shadow_mm.ko --log $(DEBUG_LOG) \
		--prior $(BUILD)/unit.log $(VM_ARGS)

# make fuzz SECONDS=3600 [SEED=n] [SEQ=i] [OPS=n] [TWIN=1] [THP=always]:
# shadow_mm_diff_test alone in the VM, outside the kselftest runner's
# timeout, for SECONDS (default 600); SEQ replays one sequence of SEED
# verbosely; OPS is the most operations per sequence; TWIN=1 checks the
# fuzzer itself, a second real process standing in for the module;
# THP=always runs both sides with transparent huge pages (the real
# kernel's sysfs set up for it) and compares them page by page. The
# VM gets SECONDS plus time to boot and to shorten a mismatch.
FUZZ_SECONDS = $(or $(SECONDS),600)
FUZZ_ENV = SHADOW_DIFF_SECONDS=$(FUZZ_SECONDS) $(if $(SEED),SHADOW_DIFF_SEED=$(SEED)) \
	$(if $(SEQ),SHADOW_DIFF_SEQ=$(SEQ)) $(if $(OPS),SHADOW_DIFF_OPS=$(OPS)) \
	$(if $(TWIN),SHADOW_DIFF_TWIN=$(TWIN)) $(if $(THP),SHADOW_DIFF_THP=$(THP))
fuzz: module-vm selftests
	scripts/vm-run --mode fuzz --kernel $(VMLINUZ) --ko $(VM_KO) \
		--timeout $$(( $(FUZZ_SECONDS) + 1200 )) \
		$(foreach e,$(FUZZ_ENV),--env $(e)) \
		$(if $(APPEND),--append "$(APPEND)") \
		$(if $(filter 1,$(ODF)),--modparam odf_always=1)

# make bench: never part of make check (its smoke run is, in
# shadow_mm_bench_test); the CSV comes out of the VM's serial log, the
# plots are drawn here (gnuplot, installed by setup.sh --bench).
BENCH_OUT := $(BUILD)/bench
BENCH_ENV = $(foreach v,BENCH_QUICK BENCH_SIZES BENCH_VMAS BENCH_REPS BENCH_ONLY BENCH_THP,\
	$(if $($(v)),--env $(v)=$($(v))))
bench: module-vm selftests
	scripts/setup.sh --bench
	mkdir -p $(BENCH_OUT)
	scripts/vm-run --mode bench --kernel $(VMLINUZ) --ko $(VM_KO) --timeout 7200 \
		--log $(BENCH_OUT)/vm.log $(BENCH_ENV) \
		$(if $(APPEND),--append "$(APPEND)")
	scripts/bench-plot $(BENCH_OUT)/vm.log $(BENCH_OUT)

# make vm: the build's output goes to a log, so that stdout is the
# program's alone; RUN, FILES and CWD reach the recipe in its environment
# (make exports command-line variables), unquoted by make.
VM_BUILD_LOG := $(BUILD)/vm/vm-build.log
# Where make was started: $(PWD) is the caller's shell's, even under
# make -C (the recipe's shell would reset it to the checkout).
VM_CWD = $(or $(CWD),$(PWD),$(CURDIR))
vm-build:
	@mkdir -p $(BUILD)/vm; $(MAKE) --no-print-directory module-vm selftests \
		> $(VM_BUILD_LOG) 2>&1 || { tail -n 20 $(VM_BUILD_LOG) >&2; \
		echo "make vm: the build failed: see $(VM_BUILD_LOG)" >&2; exit 1; }

# What scripts/vm-run -- CMD needs: the kernel and the module built for it.
vm-paths: vm-build
	@echo "$(VMLINUZ) $(VM_KO)"

vm: vm-build
	@test -n "$$RUN" || { echo 'make vm: RUN="./prog args" is missing' >&2; exit 2; }
	@scripts/vm-run --mode run --kernel $(VMLINUZ) --ko $(VM_KO) \
		--run "$$RUN" --cwd '$(subst ','\'',$(VM_CWD))' --files "$$FILES" \
		$(if $(APPEND),--append "$(APPEND)") \
		$(if $(filter 1,$(ODF)),--modparam odf_always=1)

run: module-vm selftests
	scripts/vm-run --mode demo --kernel $(VMLINUZ) --ko $(VM_KO) $(VM_ARGS)

ifneq ($(filter debian trixie,$(GUEST)),)
shell: guest-payload
	$(GUEST_RUN) --mode shell $(if $(APPEND),--append "$(APPEND)")
else
shell: module-vm selftests
	scripts/vm-run --mode shell --kernel $(VMLINUZ) --ko $(VM_KO) $(VM_ARGS)
endif

lint: module-vm lint-man lint-docs lint-kernel-doc
	scripts/lint --checkpatch $(CHECKPATCH) --kdir $(VM_KDIR)

# Every ioctl, constant, structure, errno and module parameter in both the
# uapi header (and the module) and the man pages; the CLI's commands in
# shadow_mm_cli(1). Its self-test (selftests/doc_check_test) runs with the
# unit tests of make check.
lint-docs:
	@scripts/doc-check

# make unit: the layout code (module/vma.c, mmap.c, madvise.c) in user
# space, with
# Linux 6.1's maple tree, ASan and UBSan (selftests/vma); no VM. Ends with
# "N passed, N failed".
UNIT_OUT := $(BUILD)/vma$(KVER_SUFFIX)
UNIT_PROGS := $(UNIT_OUT)/vma_test $(UNIT_OUT)/vma_model_test
unit-build:
	$(MAKE) -C selftests/vma KSRC_CACHE=$(KSRC_CACHE) KSFT_DIR=$(KSFT_DIR) \
		TOPDIR=$(CURDIR) OUTPUT=$(UNIT_OUT) KVER=$(KVER)

unit: unit-build
	scripts/unit-run $(UNIT_PROGS)

# The unit tests as a first step of check and check-debug: their log is
# kept for the VM runner's closing count, and a failure stops the run.
unit-log: unit-build
	@scripts/unit-run $(UNIT_PROGS) selftests/doc_check_test \
		> $(BUILD)/unit.log 2>&1; rc=$$?; \
	grep -E '^(not ok|# Totals)' $(BUILD)/unit.log; tail -n 1 $(BUILD)/unit.log; \
	if [ $$rc -ne 0 ]; then echo "unit tests failed: see $(BUILD)/unit.log"; exit 1; fi

# --- installing and packaging ------------------------------------------------

# The version, once: MODULE_VERSION in module/main.c (dkms.conf and
# debian/changelog must agree; make check-install checks they do).
VERSION := $(shell sed -n 's/^MODULE_VERSION("\(.*\)");$$/\1/p' module/main.c)
PACKAGE := shadow-mm
PREFIX ?= /usr
INSTALL_MOD_DIR ?= updates
INSTALL ?= install
DEPMOD ?= /sbin/depmod

KREL = $(or $(KERNELRELEASE),$(shell sed -n \
	's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null))
MODDIR = $(DESTDIR)/lib/modules/$(KREL)/$(INSTALL_MOD_DIR)
BINDIR = $(DESTDIR)$(PREFIX)/bin
INCDIR = $(DESTDIR)$(PREFIX)/include/linux
MANDIR = $(DESTDIR)$(PREFIX)/share/man
MAN_PAGES := $(sort $(wildcard man/*.[1-9]))
# Sources of the module, as DKMS and the -dkms package get them.
MODULE_SRC := Kbuild dkms.conf $(filter-out %.mod.c,$(sort $(wildcard \
	module/Kbuild module/*.[ch]))) \
	uapi/linux/shadow_mm.h

version:
	@echo $(VERSION)

# The man pages as man(1) renders them, with every groff warning on (-ww):
# any warning fails.
lint-man:
	@rc=0; for m in $(MAN_PAGES); do \
		out=$$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -E UTF-8 \
			-l -Tutf8 -Z $$m 2>&1 >/dev/null; \
			LC_ALL=C.UTF-8 groff -t -man -ww -z $$m 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; rc=1; fi; \
	done; \
	if [ $$rc -eq 0 ]; then echo "lint-man: $(MAN_PAGES): no groff warnings"; fi; \
	exit $$rc

# The kernel-doc comments of the uapi and the module, read by the kernel's
# own scripts/kernel-doc (linux-source-6.1's, extracted by setup.sh --docs)
# with -v, which also reports a missing Return: section: any warning fails.
.PHONY: htmldocs lint-kernel-doc
KERNEL_DOC := $(SHADOW_MM_CACHE)/src-docs/scripts/kernel-doc
KERNEL_DOC_FILES := uapi/linux/shadow_mm.h $(sort $(wildcard module/*.[ch]))
lint-kernel-doc:
	@scripts/setup.sh --docs
	@out=$$($(KERNEL_DOC) -none -v $(KERNEL_DOC_FILES) 2>&1 | \
		grep -v ': info: Scanning doc for '); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	echo "lint-kernel-doc: $(words $(KERNEL_DOC_FILES)) files: no kernel-doc warnings"

# make htmldocs: Documentation/ into build/htmldocs with Debian's Sphinx
# (setup.sh --docs --sphinx installs it) and the kernel's kernel-doc.
htmldocs:
	@scripts/setup.sh --docs --sphinx
	scripts/htmldocs $(BUILD)/htmldocs

# The CLI for installing: dynamically linked, with the caller's CFLAGS,
# CPPFLAGS and LDFLAGS (dpkg-buildflags' hardening in a package build),
# unlike the static test build in build/selftests.
TOOLS_OUT := $(BUILD)/tools
CFLAGS ?= -O2 -g
CLI_CFLAGS := -Wall -Wextra -Wno-sign-compare -Wno-unused-parameter \
	-D_GNU_SOURCE -Iuapi -Iselftests
tools: $(TOOLS_OUT)/shadow_mm_cli

$(TOOLS_OUT)/shadow_mm_cli: selftests/shadow_mm_cli.c selftests/shadow_mm_lib.h \
		selftests/shadow_mm_tools.h uapi/linux/shadow_mm.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CLI_CFLAGS) -o $@ $< $(LDFLAGS) -lpthread

check-krel = @test -n "$(KREL)" || { echo "make: no kernel release: set \
	KERNELRELEASE= (for /lib/modules/<release>/build) or KDIR=" >&2; exit 1; }

# The module into /lib/modules/<release>/updates, then depmod; with
# DESTDIR no depmod (the packaging or the image builder runs it).
install-module: module
	$(check-krel)
	@vermagic=$$(/sbin/modinfo -F vermagic module/shadow_mm.ko) && \
	case "$$vermagic" in "$(KREL) "*) ;; *) echo "make: module/shadow_mm.ko \
	is built for $${vermagic%% *}, not $(KREL)" >&2; exit 1;; esac
	$(INSTALL) -D -m 0644 module/shadow_mm.ko $(MODDIR)/shadow_mm.ko
	$(if $(DESTDIR),,$(DEPMOD) -a $(KREL))

uninstall-module:
	$(check-krel)
	rm -f $(MODDIR)/shadow_mm.ko
	-rmdir --ignore-fail-on-non-empty $(MODDIR)
	$(if $(DESTDIR),,$(DEPMOD) -a $(KREL))

install-tools: tools
	$(INSTALL) -D -m 0755 $(TOOLS_OUT)/shadow_mm_cli $(BINDIR)/shadow_mm_cli
	$(INSTALL) -D -m 0644 uapi/linux/shadow_mm.h $(INCDIR)/shadow_mm.h
	$(foreach m,$(MAN_PAGES),$(INSTALL) -D -m 0644 $(m) \
		$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m));)

uninstall-tools:
	rm -f $(BINDIR)/shadow_mm_cli $(INCDIR)/shadow_mm.h \
		$(foreach m,$(MAN_PAGES),$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))

install: install-module install-tools
uninstall: uninstall-tools uninstall-module

# The module's sources where DKMS looks for them:
# $(DESTDIR)/usr/src/shadow-mm-<version>; then dkms add shadow-mm/<version>.
dkms-source:
	$(foreach f,$(MODULE_SRC),$(INSTALL) -D -m 0644 $(f) \
		$(DESTDIR)/usr/src/$(PACKAGE)-$(VERSION)/$(f);)

# make deb: the source package and the shadow-mm-dkms and shadow-mm-tools
# .debs in build/deb/, built
# by dpkg-buildpackage from a copy of the tree (its tracked and new files),
# so that nothing is written beside or into the tree.
DEB_OUT := $(BUILD)/deb
DEB_SRC := $(DEB_OUT)/$(PACKAGE)-$(VERSION)
deb:
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_SRC)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -co --exclude-standard | \
		while read -r f; do [ ! -e "$$f" ] || echo "$$f"; done | \
		tar -cf - -T - | tar -xf - -C $(DEB_SRC); \
	else \
		tar -cf - --exclude=./build . | tar -xf - -C $(DEB_SRC); \
	fi
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc
	@ls -l $(DEB_OUT)/*.deb

# No VM: install and uninstall into a DESTDIR, the DKMS sources, the man
# pages, the packages' contents and lintian (scripts/check-install).
check-install:
	scripts/check-install $(if $(KDIR),--kdir $(KDIR))

# --- the Debian guest ---------------------------------------------------------

# make check-tools: a full Debian 12 guest (scripts/debian-guest: debootstrap
# once per package list, cached in $(SHADOW_MM_CACHE)/debian-guest) boots
# the VM's kernel; there scripts/guest/check-tools installs the packages of
# "make deb", DKMS builds the module for the guest's headers, modinfo,
# trace-cmd, perf stat, bpftrace and man are checked against
# selftests/tools/, and the packages are purged leaving nothing behind.
# Ends "check-tools: N passed, N failed"; the log is build/guest/
# check-tools.log, the tools' output build/check-tools/*.txt.
GUEST_PAYLOAD := $(BUILD)/guest/payload
GUEST_RUN = scripts/debian-guest run --kabi $(KABI) --kernel $(VMLINUZ) \
	--payload $(GUEST_PAYLOAD)

# GUEST=trixie: the same in a Debian 13 guest, booting trixie's 6.12
# kernel (setup.sh --guest trixie), where DKMS builds the module with
# trixie's gcc-14 against trixie's own headers.
ifeq ($(GUEST),trixie)
TRIXIE_ENV := $(SHADOW_MM_CACHE)/env-trixie.mk
$(TRIXIE_ENV): scripts/setup.sh
	scripts/setup.sh --guest trixie
include $(TRIXIE_ENV)
GUEST_RUN = scripts/debian-guest run --suite trixie --kabi $(TRIXIE_KABI) \
	--kernel $(TRIXIE_VMLINUZ) --payload $(GUEST_PAYLOAD)
endif

# What the guest gets in /root/shadow-mm: the .debs, its scripts, the
# scenario and its expected output, and module/*.c (the module_param list).
guest-payload:
	scripts/debian-guest deps
	@echo "make deb > $(BUILD)/guest/deb.log"; mkdir -p $(BUILD)/guest; \
	$(MAKE) --no-print-directory deb > $(BUILD)/guest/deb.log 2>&1 || \
		{ tail -n 30 $(BUILD)/guest/deb.log; exit 1; }
	rm -rf $(GUEST_PAYLOAD)
	mkdir -p $(GUEST_PAYLOAD)/debs
	cp $(DEB_OUT)/*.deb $(GUEST_PAYLOAD)/debs/
	cp -r --parents scripts/guest selftests/tools selftests/cli module/*.c \
		$(GUEST_PAYLOAD)/

check-tools: guest-payload
	$(GUEST_RUN) --mode check-tools

clean:
	rm -rf $(BUILD) module/*.o module/*.ko module/*.mod module/*.mod.c \
		module/.*.cmd module/modules.order module/*.mod.o \
		Module.symvers modules.order .*.cmd

help:
	@sed -n '3,/^[^#]/s/^# \{0,1\}//p' Makefile
