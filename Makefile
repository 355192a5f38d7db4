# SPDX-License-Identifier: GPL-2.0
#
# shadow_mm: build the module and its tests, and run them inside a VM.
#
#   make            module (against KDIR) and the selftests
#   make run        boot the VM, load the module, run the demo
#   make check      every test: built, booted, run; ends "N passed, N failed"
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

.PHONY: all module module-vm selftests check run shell lint clean help

all: module selftests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

module-vm:
	$(MAKE) -C $(VM_KDIR) M=$(CURDIR) W=1 modules

selftests:
	$(SELFTESTS_MAKE)

check: module-vm selftests
	scripts/vm-run --mode tests --kernel $(VMLINUZ) $(VM_ARGS)

run: module-vm selftests
	scripts/vm-run --mode demo --kernel $(VMLINUZ) $(VM_ARGS)

shell: module-vm selftests
	scripts/vm-run --mode shell --kernel $(VMLINUZ) $(VM_ARGS)

lint: module-vm
	scripts/lint --checkpatch $(CHECKPATCH) --kdir $(VM_KDIR)

clean:
	rm -rf $(BUILD) module/*.o module/*.ko module/*.mod module/*.mod.c \
		module/.*.cmd module/modules.order module/*.mod.o \
		Module.symvers modules.order .*.cmd

help:
	@sed -n '3,12p' Makefile
