# parrot - the CodeParrot pipeline in C.
#
#   make              build build/parrot (optimised, -O3 -march=native)
#   make test         build and run every test (closing line: "N passed, N failed")
#   make bench        run the benchmarks in bench/
#   make deps         install the Debian packages and the Python reference packages (venv in build/venv)
#   make debug        -O0 -g build in build/debug
#   make test-asan    the tests under AddressSanitizer + UBSan (build/asan)
#   make test-long    the long tier (larger inputs, memory-bound check)
#   make fuzz         libFuzzer targets (clang), FUZZ_SECONDS each (default 60)
#   make demo         the main job: the pipeline on this machine's Python standard library
#   make deps-torch   PyPI torch + transformers in build/venv-torch (export checks, PyTorch bench peer)
#   make test-hf      Hugging Face transformers loads parrot's export (needs deps-torch)
#
# Options: NO_OMP=1 (no OpenMP), NO_MPI=1 (no MPI even when mpicc is installed: `parrot train` is then
# single-process only, and refuses to run under mpirun), CC=clang, BUILD=dir.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O3 -march=native
PYTHON  ?= python3
VENV    := build/venv
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wvla -Isrc -MMD -MP -D_GNU_SOURCE
LDLIBS  := -lz -lm -lpthread

# ---- feature detection: a line each, as llm.c does ------------------------------------
HAVE_ZLIB := $(shell printf '\043include <zlib.h>\nint main(void){return zlibVersion()==0;}' | $(CC) -x c - -lz -o /dev/null 2>/dev/null && echo 1)
ifneq ($(HAVE_ZLIB),1)
  $(error zlib headers or library missing: run `make deps` (apt-get install zlib1g-dev))
endif
HAVE_PCRE2 := $(shell printf '\043include <pcre2.h>\nint main(void){return pcre2_config(PCRE2_CONFIG_VERSION,0)<0;}' | $(CC) -DPCRE2_CODE_UNIT_WIDTH=8 -x c - -lpcre2-8 -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_PCRE2),1)
  $(info ✓ PCRE2 (the pre-tokenizer's oracle in the tests))
  CFLAGS_COMMON += -DPT_HAVE_PCRE2
  TEST_LDLIBS := -lpcre2-8
else
  $(info ✗ PCRE2 (test_pretok_pcre2 fails without it: apt-get install libpcre2-dev))
endif
ifeq ($(NO_OMP),1)
  $(info ✗ OpenMP (NO_OMP=1))
  CFLAGS_COMMON += -Wno-unknown-pragmas
else
  HAVE_OMP := $(shell printf '\043include <omp.h>\nint main(void){return omp_get_max_threads()<0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo 1)
  ifeq ($(HAVE_OMP),1)
    $(info ✓ OpenMP)
    CFLAGS_COMMON += -fopenmp
    LDFLAGS += -fopenmp
  else
    $(info ✗ OpenMP (not found: apt-get install libomp-dev for clang; gcc ships libgomp))
    CFLAGS_COMMON += -Wno-unknown-pragmas
  endif
endif

# MPI (data-parallel training under mpirun, src/dist/dist_mpi.c): mpicc's own flags, the compiler
# stays $(CC). Open MPI says them with --showme:*, MPICH with -compile_info/-link_info (first word:
# its compiler). Without MPI, src/dist/dist_nompi.c stands in.
ifeq ($(NO_MPI),1)
  $(info ✗ MPI (NO_MPI=1))
else
  MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null || mpicc -compile_info 2>/dev/null | cut -d' ' -f2-)
  MPI_LDLIBS := $(shell mpicc --showme:link 2>/dev/null || mpicc -link_info 2>/dev/null | cut -d' ' -f2-)
  HAVE_MPI := $(shell command -v mpicc > /dev/null 2>&1 && printf '\043include <mpi.h>\nint main(void){return MPI_Init(0,0);}' | $(CC) $(MPI_CFLAGS) -x c - $(MPI_LDLIBS) -o /dev/null 2>/dev/null && echo 1)
  ifeq ($(HAVE_MPI),1)
    $(info ✓ MPI ($(shell mpirun --version 2>/dev/null | head -1): data-parallel `parrot train` under mpirun))
    CFLAGS_COMMON += -DPT_HAVE_MPI $(MPI_CFLAGS)
    LDLIBS += $(MPI_LDLIBS)
  else
    $(info ✗ MPI (mpicc not found or not working: apt-get install libopenmpi-dev openmpi-bin))
  endif
endif

CFLAGS ?= $(OPT) -g
LDFLAGS += $(SAN_LDFLAGS)
ALL_CFLAGS = $(CFLAGS_COMMON) $(CFLAGS)

LIB_SRC  := $(sort $(shell find src -name '*.c' -not -path 'src/cli/*'))
LIB_SRC  := $(filter-out $(if $(filter 1,$(HAVE_MPI)),src/dist/dist_nompi.c,src/dist/dist_mpi.c),$(LIB_SRC))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GITREV   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

.PHONY: all test test-unit test-e2e bench deps deps-torch debug test-asan test-long test-hf fuzz demo clean check-venv
all: $(BUILD)/parrot

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DPT_VERSION='"$(VERSION)"' -DPT_GITREV='"$(GITREV)"' -c $< -o $@

$(BUILD)/libparrot.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/parrot: $(CLI_OBJ) $(BUILD)/libparrot.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/test.h $(BUILD)/libparrot.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) $< $(BUILD)/libparrot.a -o $@ $(LDLIBS) $(TEST_LDLIBS)

# Benchmark programs (bench/*.c) for what the CLI does not expose, e.g. single kernels.
$(BUILD)/bench/%: bench/%.c $(BUILD)/libparrot.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) $< $(BUILD)/libparrot.a -o $@ $(LDLIBS)

# The Python reference packages the tests compare against live in a venv under build/.
check-venv:
	@test -x $(VENV)/bin/python && $(VENV)/bin/python -c 'import datasketch, numpy, tiktoken, tokenizers, tensorboard, safetensors' 2>/dev/null || \
	  { echo "missing the Python reference packages: run 'make deps' (creates $(VENV) with numpy, datasketch, tiktoken, tokenizers, tensorboard, safetensors)"; exit 1; }

test: $(BUILD)/parrot $(TEST_BIN) check-venv
	@BUILD=$(BUILD) PYTHON=$(abspath $(VENV)/bin/python) tests/run.sh

# The real clients of `parrot export hf`: transformers and torch from PyPI (tests/e2e/long_hf_transformers.sh).
test-hf: $(BUILD)/parrot $(BUILD)/tests/test_hf check-venv
	@BUILD=$(BUILD) PYTHON=$(abspath $(VENV)/bin/python) tests/run.sh --long long_hf

deps-torch:
	test -x build/venv-torch/bin/python || $(PYTHON) -m venv build/venv-torch
	build/venv-torch/bin/pip install -q --upgrade pip
	build/venv-torch/bin/pip install -q --no-cache-dir -r tools/requirements-torch.txt

test-long: $(BUILD)/parrot check-venv
	@BUILD=$(BUILD) PYTHON=$(abspath $(VENV)/bin/python) tests/run.sh --long

bench: $(BUILD)/parrot $(BENCH_BIN) check-venv
	@BUILD=$(BUILD) PYTHON=$(abspath $(VENV)/bin/python) bench/run.sh

demo: $(BUILD)/parrot
	$(BUILD)/parrot demo --out build/demo

debug:
	$(MAKE) BUILD=build/debug OPT="-O0" all

test-asan:
	PT_SANITIZED=1 $(MAKE) BUILD=build/asan OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  SAN_LDFLAGS="-fsanitize=address,undefined" test
	tests/fuzz/run.sh --replay

FUZZ_SECONDS ?= 60
fuzz:
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

deps:
	apt-get update -q
	apt-get install -y -q build-essential zlib1g-dev libpcre2-dev libomp-dev clang openmpi-bin libopenmpi-dev python3 python3-venv python3-pip python3-torch
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r tools/requirements.txt

clean:
	rm -rf build/obj build/parrot build/libparrot.a build/tests build/debug build/asan build/fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(wildcard $(BUILD)/tests/*.d)
