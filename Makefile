# SPDX-License-Identifier: GPL-2.0
#
# shadow_mm: build the module and its tests, and run them inside a VM.
#
#   make            module (against KDIR) and the selftests
#   make run        boot the VM, load the module, run the demo
#   make check      every test: unit tests, then built, booted, run in the
#                   VM; ends "N passed, N failed"
#   make unit       the user-space VMA harness alone (no VM), in seconds
#   make check-debug  the same under a debug kernel (KASAN, lockdep, ...)
#   make fuzz       the differential fuzzer in the VM, SECONDS=600 [SEED=n]
#   make shell      boot the VM with the module loaded and open a shell
#   make lint       checkpatch --strict and sparse
#
# Everything fetched or extracted lives in $(SHADOW_MM_CACHE); see
# scripts/setup.sh.

SHADOW_MM_CACHE ?= $(HOME)/.cache/shadow_mm
export SHADOW_MM_CACHE
ENV_MK := $(SHADOW_MM_CACHE)/env.mk
BUILD := $(CURDIR)/build

NO_SETUP_GOALS := clean help
ifeq ($(filter-out $(NO_SETUP_GOALS),$(or $(MAKECMDGOALS),all)),)
else
# Make remakes env.mk through setup.sh (installing what is missing) and
# restarts with its variables.
$(ENV_MK): scripts/setup.sh
	scripts/setup.sh
include $(ENV_MK)
endif

RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
KDIR ?= $(if $(wildcard $(RUNNING_KDIR)/Makefile),$(RUNNING_KDIR),$(DEBIAN_KDIR))
# The VM boots Debian's kernel: its tests need the module built for it.
VM_KDIR := $(DEBIAN_KDIR)

SELFTESTS_OUT := $(BUILD)/selftests
SELFTESTS_MAKE = $(MAKE) -C selftests OUTPUT=$(SELFTESTS_OUT) \
	KSFT_DIR=$(KSFT_DIR) TOPDIR=$(CURDIR)

# Extra arguments for the VM runner: T=<test> runs one test program,
# APPEND="..." adds kernel command-line arguments.
VM_ARGS = $(if $(T),--test $(T)) $(if $(APPEND),--append "$(APPEND)")

.PHONY: all module module-vm selftests check check-debug run shell lint unit fuzz \
	unit-build unit-log \
	clean help

all: module selftests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

module-vm:
	$(MAKE) -C $(VM_KDIR) M=$(CURDIR) W=1 modules

selftests:
	$(SELFTESTS_MAKE)

# The user-space unit tests first: a failure there stops before booting.
# Their counts join the VM's in the closing "N passed, N failed" line.
check: module-vm selftests unit-log
	scripts/vm-run --mode tests --kernel $(VMLINUZ) --prior $(BUILD)/unit.log $(VM_ARGS)

# The same suite under a debug kernel built from linux-source-6.1 (KASAN,
# lockdep, kmemleak, UBSAN, DEBUG_VM, fault injection): built once per
# config fragment into the cache (about 6 minutes), the module built against
# it in build/debug-module.
DEBUG_MODULE := $(BUILD)/debug-module
check-debug: selftests unit-log
	@kdir=$$(scripts/debug-kernel/build | tail -n 1) && \
	rm -rf $(DEBUG_MODULE) && mkdir -p $(DEBUG_MODULE) && \
	cp -r Kbuild module uapi $(DEBUG_MODULE)/ && \
	$(MAKE) -C $$kdir M=$(DEBUG_MODULE) W=1 modules && \
	scripts/vm-run --mode tests --kernel $$kdir/arch/x86/boot/bzImage \
		--ko $(DEBUG_MODULE)/module/shadow_mm.ko --log $(BUILD)/vm/debug.log \
		--prior $(BUILD)/unit.log $(VM_ARGS)

# make fuzz SECONDS=3600 [SEED=n] [SEQ=i] [OPS=n] [TWIN=1]:
# shadow_mm_diff_test alone in the VM, outside the kselftest runner's
# timeout, for SECONDS (default 600); SEQ replays one sequence of SEED
# verbosely; OPS is the most operations per sequence; TWIN=1 checks the
# fuzzer itself, a second real process standing in for the module. The
# VM gets SECONDS plus time to boot and to shorten a mismatch.
FUZZ_SECONDS = $(or $(SECONDS),600)
FUZZ_ENV = SHADOW_DIFF_SECONDS=$(FUZZ_SECONDS) $(if $(SEED),SHADOW_DIFF_SEED=$(SEED)) \
	$(if $(SEQ),SHADOW_DIFF_SEQ=$(SEQ)) $(if $(OPS),SHADOW_DIFF_OPS=$(OPS)) \
	$(if $(TWIN),SHADOW_DIFF_TWIN=$(TWIN))
fuzz: module-vm selftests
	scripts/vm-run --mode fuzz --kernel $(VMLINUZ) \
		--timeout $$(( $(FUZZ_SECONDS) + 1200 )) \
		$(foreach e,$(FUZZ_ENV),--env $(e)) \
		$(if $(APPEND),--append "$(APPEND)")

run: module-vm selftests
	scripts/vm-run --mode demo --kernel $(VMLINUZ) $(VM_ARGS)

shell: module-vm selftests
	scripts/vm-run --mode shell --kernel $(VMLINUZ) $(VM_ARGS)

lint: module-vm
	scripts/lint --checkpatch $(CHECKPATCH) --kdir $(VM_KDIR)

# make unit: the layout code (module/vma.c, mmap.c, madvise.c) in user
# space, with
# Linux 6.1's maple tree, ASan and UBSan (selftests/vma); no VM. Ends with
# "N passed, N failed".
UNIT_OUT := $(BUILD)/vma
UNIT_PROGS := $(UNIT_OUT)/vma_test $(UNIT_OUT)/vma_model_test
unit-build:
	$(MAKE) -C selftests/vma KSRC_CACHE=$(KSRC_CACHE) TOPDIR=$(CURDIR) \
		OUTPUT=$(UNIT_OUT)

unit: unit-build
	scripts/unit-run $(UNIT_PROGS)

# The unit tests as a first step of check and check-debug: their log is
# kept for the VM runner's closing count, and a failure stops the run.
unit-log: unit-build
	@scripts/unit-run $(UNIT_PROGS) > $(BUILD)/unit.log 2>&1; rc=$$?; \
	grep -E '^(not ok|# Totals)' $(BUILD)/unit.log; tail -n 1 $(BUILD)/unit.log; \
	if [ $$rc -ne 0 ]; then echo "unit tests failed: see $(BUILD)/unit.log"; exit 1; fi

clean:
	rm -rf $(BUILD) module/*.o module/*.ko module/*.mod module/*.mod.c \
		module/.*.cmd module/modules.order module/*.mod.o \
		Module.symvers modules.order .*.cmd

help:
	@sed -n '3,13p' Makefile
