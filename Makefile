# labctl top-level Makefile.
#
#   make                 build build/default/bin/labctl
#   make DEVELOPER=1     add -Werror and the stricter warnings
#   make SANITIZE=address,undefined
#   make check           install deps if missing, sanitizer build, all tests
#   make run             install deps if missing, build, run the default lab
#   make fuzz            build the libFuzzer targets (clang)
#   make bench           benchmarks against their peers, printed as ratios
#   make install PREFIX=/usr/local DESTDIR=
#
# Sources are found by wildcard: a new file in a module directory, a new
# tests/unit/test_*.c, tests/t/*.t or tests/fuzz/fuzz_*.c needs no edit here.

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short=12 HEAD 2>/dev/null)

CC ?= cc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/labctl
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

ifneq ($(SANITIZE),)
BUILD_KIND ?= san
else
BUILD_KIND ?= default
endif
BUILDDIR ?= build/$(BUILD_KIND)

PKGS := inih libssh libcurl libftdi1 libgpiod libcrypto sqlite3 jansson libpcre2-8 libxml-2.0
# Flags from pkg-config are computed when a recipe first needs them, never
# while the Makefile is read: `make run` and `make check` install missing
# packages first and only then build, in a new make (see "set-up" below).
once = $(eval $(1) := $$(shell $(2)))$($(1))
PKG_CFLAGS = $(call once,PKG_CFLAGS,$(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(call once,PKG_LIBS,$(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS = $(call once,CMOCKA_CFLAGS,$(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS = $(call once,CMOCKA_LIBS,$(PKG_CONFIG) --libs cmocka 2>/dev/null)

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra
ifeq ($(DEVELOPER),1)
WARN += -Werror -Wmissing-prototypes -Wstrict-prototypes -Wwrite-strings \
	-Wvla -fno-common -Wno-error=deprecated-declarations
endif
SAN_FLAGS :=
ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN_FLAGS) \
	-I. -MMD -MP $(PKG_CFLAGS) \
	-DLABCTL_VERSION='"$(VERSION)$(if $(GIT_REV),-g$(GIT_REV))"' \
	-DLABCTL_DATADIR='"$(DATADIR)"'
ALL_LDFLAGS := $(LDFLAGS) $(SAN_FLAGS)
LIBS = $(PKG_LIBS) -lm

# Modules in dependency order: later ones may use earlier ones.
MODULES := lib ssh grubenv hvimage power serial-capture report labctl
define module_srcs
$(filter-out labctl/main.c,$(wildcard $(1)/*.c))
endef
CORE_SRCS := $(foreach m,$(MODULES),$(call module_srcs,$(m)))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILDDIR)/%.o)
MAIN_OBJ := $(BUILDDIR)/labctl/main.o
CORE_LIB := $(BUILDDIR)/libcore.a
LABCTL := $(BUILDDIR)/bin/labctl

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILDDIR)/unit/%)
UNIT_HELPER_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
UNIT_HELPER_OBJS := $(UNIT_HELPER_SRCS:%.c=$(BUILDDIR)/%.o)

.PHONY: all check check-unit check-t run bench fuzz fuzz-run install clean \
	deps hypervisor FORCE
all: $(LABCTL)

$(BUILDDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(LABCTL): $(MAIN_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJ) $(CORE_LIB) $(LIBS)

# A unit test names the symbols it wraps in a comment line
#   /* WRAP: open,write,fsync */
# and each becomes -Wl,--wrap=NAME (flashrom style).
wraps_of = $(foreach w,$(subst $(comma), ,$(shell sed -n 's|^/\* WRAP: \(.*\) \*/$$|\1|p' $(1))),-Wl,--wrap=$(w))
comma := ,
$(BUILDDIR)/unit/%: tests/unit/%.c $(CORE_LIB) $(UNIT_HELPER_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit -o $@ $< \
		$(UNIT_HELPER_OBJS) $(ALL_LDFLAGS) $(call wraps_of,$<) \
		$(CORE_LIB) $(CMOCKA_LIBS) $(LIBS)

-include $(CORE_OBJS:.o=.d) $(MAIN_OBJ:.o=.d)

# ---------------------------------------------------------------- set-up
# `make run`, `make check` and `make bench` first install what is missing,
# then build in a new make that reads pkg-config only now, so the very
# first run on a fresh machine gets every flag.
INSTALL_DEPS ?= scripts/install-deps --if-missing

deps:
	@$(INSTALL_DEPS)

ifndef DEPS_READY
run check bench:
	@$(INSTALL_DEPS)
	@$(MAKE) --no-print-directory DEPS_READY=1 $@
endif

# ---------------------------------------------------------------- tests
CHECK_DIR := build/check
CHECK_MAKE = $(MAKE) --no-print-directory DEVELOPER=1 \
	SANITIZE=address,undefined BUILD_KIND=check

# The slow emulator lanes (below) are the critical path, so they start as
# soon as labctl is built, and the twin's disk image (built once per machine,
# 1.5-3.5 min cold) is started before the compile, beside it.  Fuzzing and
# the unit suites then run while the lanes do, before the rest of the TAP
# scripts, so the log ends with prove's own summary.
ifdef DEPS_READY
check:
	@mkdir -p $(CHECK_DIR)
ifeq ($(T),)
	@scripts/twin-image >$(CHECK_DIR)/twin-image.log 2>&1 &
endif
	@$(CHECK_MAKE) -j2 all
	@$(CHECK_MAKE) check-t CHECK_FIRST='fuzz-run check-unit'
endif

# Unit suites print TAP (CMOCKA_MESSAGE_OUTPUT) so prove reads them too.
check-unit: $(UNIT_BINS)
	CMOCKA_MESSAGE_OUTPUT=TAP prove --exec '' $(UNIT_BINS)

# The slow emulator tests run beside the rest of the suite, in two lanes
# of their own, one test at a time each: the Debian twin (97-twin*.t, 2-8
# minutes each, QEMU TCG with timeouts sized for one reboot) and the real
# XMHF64 and LHV on the Bochs board (99, 98: 4-6 minutes each).  Four
# heavy jobs at once on 2 cores starve the twin's reboots (measured: six
# at once failed it); one per lane plus the rest's two keeps them inside
# their timeouts.  Each lane's TAP is kept in $(CHECK_DIR)/prove-LANE.log
# and printed when it ends.
SLOW_TWIN_T := tests/t/97-twin.t tests/t/97-twin-faults.t tests/t/97-twin-osdisk.t
SLOW_BOCHS_T := tests/t/99-bochs-nested.t tests/t/98-bochs-lhv.t
PROVE_ENV = LABCTL=$(abspath $(LABCTL)) LABCTL_TOP=$(abspath .) \
	LABCTL_LIBCORE=$(abspath $(CORE_LIB)) LABCTL_LIBS='$(LIBS)'
check-t: $(LABCTL) $(CORE_LIB)
ifneq ($(T),)
	$(PROVE_ENV) prove -j2 $(PROVE_FLAGS) $(T)
else
	@mkdir -p $(CHECK_DIR); rm -f $(CHECK_DIR)/prove-*.rc; \
	for lane in twin bochs; do \
		case $$lane in twin) t='$(SLOW_TWIN_T)';; *) t='$(SLOW_BOCHS_T)';; esac; \
		( $(PROVE_ENV) prove -j1 $(PROVE_FLAGS) $$t \
			>$(CHECK_DIR)/prove-$$lane.log 2>&1; \
		  echo $$? >$(CHECK_DIR)/prove-$$lane.rc ) & \
	done; \
	rc=0; \
	$(if $(CHECK_FIRST),$(MAKE) --no-print-directory $(CHECK_FIRST) || rc=1;) \
	$(PROVE_ENV) prove -j2 $(PROVE_FLAGS) \
		$(filter-out $(SLOW_TWIN_T) $(SLOW_BOCHS_T),$(sort $(wildcard tests/t/*.t))) || rc=1; \
	wait; \
	for lane in twin bochs; do \
		echo "--- the $$lane lane ($(CHECK_DIR)/prove-$$lane.log)"; \
		cat $(CHECK_DIR)/prove-$$lane.log; \
		[ "$$(cat $(CHECK_DIR)/prove-$$lane.rc 2>/dev/null)" = 0 ] || rc=1; \
	done; \
	exit $$rc
endif

# ---------------------------------------------------------------- fuzz
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
# Where the fuzz targets are built (a test points it at a scratch dir).
FUZZDIR ?= build/fuzz
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZDIR)/%)
FUZZ_CC ?= clang
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -I. $(PKG_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-DLABCTL_VERSION='"fuzz"' -DLABCTL_DATADIR='"$(DATADIR)"'
FUZZ_RUNS ?= 20000

# The core once, instrumented for the fuzzers; each target links it.
FUZZ_CORE_OBJS := $(CORE_SRCS:%.c=$(FUZZDIR)/obj/%.o)
FUZZ_CORE := $(FUZZDIR)/libcore.a

fuzz: $(FUZZ_BINS)
$(FUZZDIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(subst fuzzer$(comma),fuzzer-no-link$(comma),$(FUZZ_CFLAGS)) -MMD -MP -c -o $@ $<
$(FUZZ_CORE): $(FUZZ_CORE_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^
$(FUZZDIR)/%: tests/fuzz/%.c $(FUZZ_CORE)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_CORE) $(PKG_LIBS) -lm
-include $(FUZZ_CORE_OBJS:.o=.d)

# Run every target on its seed corpus, then a short bounded exploration.
fuzz-run: fuzz
	@set -e; for f in $(FUZZ_BINS); do \
		name=$${f##*/fuzz_}; corpus=tests/fuzz/corpus/$$name; \
		echo "fuzz: $$name ($$(ls $$corpus | wc -l) seeds, $(FUZZ_RUNS) runs)"; \
		work=$$(mktemp -d); cp $$corpus/* $$work/; \
		$$f -runs=$(FUZZ_RUNS) -max_len=8192 -max_total_time=60 \
			$$work > $(FUZZDIR)/$$name.log 2>&1 || \
			{ tail -40 $(FUZZDIR)/$$name.log; rm -rf $$work; exit 1; }; \
		rm -rf $$work; \
	done

# ---------------------------------------------------------------- run
ifdef DEPS_READY
run: all
	@scripts/demo-run $(LABCTL)

bench: all
	@set -e; for b in bench/*.sh; do [ -x $$b ] || continue; \
		echo "== $$b"; LABCTL=$(abspath $(LABCTL)) $$b; done
endif

# ---------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR)/labs
	install -m 0755 $(LABCTL) $(DESTDIR)$(BINDIR)/labctl
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 labs/*.conf $(DESTDIR)$(DATADIR)/labs/
	install -d $(DESTDIR)$(DATADIR)/rules
	install -m 0644 rules/*.rules $(DESTDIR)$(DATADIR)/rules/
	install -d $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 scripts/labctl.bash-completion $(DESTDIR)$(COMPLETIONDIR)/labctl
	# The stand-in's sources: an installed labctl builds the default lab.
	install -d $(DESTDIR)$(DATADIR)/hypervisor
	install -m 0644 $(filter-out %.o %.d,$(wildcard hypervisor/*.c hypervisor/*.h \
		hypervisor/*.S hypervisor/*.ld hypervisor/Makefile hypervisor/README.md)) \
		$(DESTDIR)$(DATADIR)/hypervisor/

clean:
	rm -rf build
	-$(MAKE) -C hypervisor clean 2>/dev/null

FORCE:
