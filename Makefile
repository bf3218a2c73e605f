# Edgeplane build. Every library folder is compiled from its *.c files (main.c and tools/ excluded),
# so adding a file needs no edit here. Objects and programs go under $(BUILD).
#   make            build everything
#   make test       install what is missing, build, run every suite (services started and stopped)
#   make run        the whole system on this machine (see README)
#   make asan       unit + spec suites under AddressSanitizer + UBSan
#   make bench      benchmarks (never part of test)
#   make fuzz       bounded libFuzzer run over the runtime

BUILD   ?= build
SHARED  ?= $(abspath ../shared)
CC      ?= cc
OPT     ?= -O2
SAN     ?=
PKGS    := libmicrohttpd jansson libsodium hiredis libcurl libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(OPT) -g -I. $(PKG_CFLAGS) $(SAN) $(EXTRA_CFLAGS)
LDFLAGS := -Wl,--as-needed $(SAN) -pthread
LDLIBS  := $(PKG_LIBS) -lm -lpthread

LIBDIRS := common runtime signing api scheduler controlplane agent cli
lib_srcs = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
lib_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(call lib_srcs,$(1)))
LIB = $(BUILD)/lib/lib$(1).a

# LIBRULE(name, folder)
define LIBRULE
$(call LIB,$(1)): $(call lib_objs,$(2))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach d,$(LIBDIRS),$(eval $(call LIBRULE,$(d),$(d))))
$(eval $(call LIBRULE,testlib,tests/lib))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Programs and the libraries they link, most dependent first.
EDGEPLANE_LIBS := controlplane api scheduler signing runtime common
AGENT_LIBS     := agent runtime signing common
EDGECTL_LIBS   := cli signing common
RUNTIME_LIBS   := runtime
ALL_LIBS       := testlib controlplane api scheduler agent cli signing runtime common
libfiles = $(foreach l,$(1),$(call LIB,$(l)))

PROG_MAINS := controlplane/main.c:edgeplane agent/main.c:edge-agent cli/main.c:edgectl \
              runtime/tools/wasmrun.c:wasmrun runtime/tools/wasm_spec.c:wasm-spec
# A program is built once its main file exists (the parts land one by one).
PROGS := $(foreach pm,$(PROG_MAINS),$(if $(wildcard $(word 1,$(subst :, ,$(pm)))),$(BUILD)/bin/$(word 2,$(subst :, ,$(pm)))))

all: $(PROGS) guests tests-build bench-build

$(BUILD)/bin/edgeplane: $(BUILD)/obj/controlplane/main.o $(call libfiles,$(EDGEPLANE_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/edge-agent: $(BUILD)/obj/agent/main.o $(call libfiles,$(AGENT_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/edgectl: $(BUILD)/obj/cli/main.o $(call libfiles,$(EDGECTL_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/wasmrun: $(BUILD)/obj/runtime/tools/wasmrun.o $(call libfiles,$(RUNTIME_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/wasm-spec: $(BUILD)/obj/runtime/tools/wasm_spec.o $(call libfiles,$(RUNTIME_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test suites: every tests/<suite>/*.c is one libcheck program.
SUITES := unit integration e2e
suite_bins = $(patsubst tests/$(1)/%.c,$(BUILD)/tests/$(1)/%,$(wildcard tests/$(1)/*.c))
TEST_BINS := $(foreach s,$(SUITES),$(call suite_bins,$(s)))
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(call libfiles,$(ALL_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)
tests-build: $(TEST_BINS)

# Benchmark programs: every bench/<name>/*.c is one program, run by bench/<name>/run.sh.
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*/*.c))
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(call libfiles,$(ALL_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)
bench-build: $(BENCH_BINS)

# Wasm guests (tests/guests/*.c): built for wasm32-wasi and natively, to compare.
WASI_CC     ?= clang --target=wasm32-wasi --sysroot=/usr
GUEST_SRCS  := $(wildcard tests/guests/*.c)
GUESTS_WASM := $(patsubst tests/guests/%.c,$(BUILD)/guests/%.wasm,$(GUEST_SRCS))
GUESTS_NAT  := $(patsubst tests/guests/%.c,$(BUILD)/guests/%.native,$(GUEST_SRCS))
WAT_SRCS    := $(wildcard tests/guests/*.wat)
GUESTS_WAT  := $(patsubst tests/guests/%.wat,$(BUILD)/guests/%.wasm,$(WAT_SRCS))
$(BUILD)/guests/%.wasm: tests/guests/%.c
	@mkdir -p $(dir $@)
	$(WASI_CC) -O2 -o $@ $<
$(BUILD)/guests/%.native: tests/guests/%.c
	@mkdir -p $(dir $@)
	cc -O2 -w -o $@ $< -lm
$(BUILD)/guests/%.wasm: tests/guests/%.wat
	@mkdir -p $(dir $@)
	wat2wasm --enable-all -o $@ $<
guests: $(GUESTS_WASM) $(GUESTS_NAT) $(GUESTS_WAT)

# Spec tests: every .wast of $(SHARED)/wasm-spec converted with wast2json at build time.
WAST := $(wildcard $(SHARED)/wasm-spec/*.wast)
SPEC_STAMPS := $(patsubst $(SHARED)/wasm-spec/%.wast,$(BUILD)/spec/%.stamp,$(WAST))
$(BUILD)/spec/%.stamp: $(SHARED)/wasm-spec/%.wast
	@mkdir -p $(BUILD)/spec/$*
	@rm -f $(BUILD)/spec/$*.unconverted
	@if (cd $(BUILD)/spec/$* && wast2json $< -o $*.json) >$(BUILD)/spec/$*.log 2>&1; then :; \
	 else head -c 400 $(BUILD)/spec/$*.log > $(BUILD)/spec/$*.unconverted; rm -rf $(BUILD)/spec/$*; fi
	@touch $@
spec-convert: $(SPEC_STAMPS)

spec: $(BUILD)/bin/wasm-spec spec-convert
	scripts/spec.sh $(BUILD) $(SHARED)/wasm-spec

unit: $(call suite_bins,unit) guests $(PROGS)
	scripts/run-suite.sh $(BUILD) unit

test:
	scripts/deps.sh --browser
	@# spec-convert: the spec suite runs wast2json's output of every shared .wast
	$(MAKE) -j$(shell nproc) all spec-convert
	SHARED=$(SHARED) scripts/test.sh $(BUILD)

asan:
	$(MAKE) BUILD=build/asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" unit spec

run:
	scripts/deps.sh
	$(MAKE) -j$(shell nproc) all
	scripts/run.sh $(BUILD) $(RUN_ARGS)

bench:
	scripts/deps.sh --bench
	$(MAKE) -j$(shell nproc) all
	scripts/bench.sh $(BUILD) $(SHARED) $(BENCH)

fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build

.PHONY: all test asan run bench fuzz clean unit spec spec-convert guests tests-build bench-build
.DELETE_ON_ERROR:
.SECONDARY:
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
