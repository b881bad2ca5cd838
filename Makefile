# Thin wrapper over CMake/CTest. Real build logic lives in CMakeLists.txt.
#   make build   configure + build (Release) into ./build
#   make run     install deps, build, serve on 127.0.0.1:8080 with policies/default.yaml
#   make test    install deps, build, run every ctest test (unit, integration, e2e)
#   make e2e     only the browser end-to-end tests (ctest -L e2e)
#   make bench   build and run the benchmarks under build/bench
#   make format  clang-format every C++ source in place
#   make format-check  fail if any C++ source is not clang-formatted (CI, after make test)
#   make asan    ASan+UBSan (clang, libFuzzer-instrumented) tree in ./build-asan: every
#                non-browser test, then each fuzz target for FUZZ_RUNS iterations (make fuzz)
#   make fuzz    only the fuzz runs, in the asan tree (tests/fuzz/README.md)
#   make clean   remove build trees and runtime data
SHELL := /bin/bash
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= ./var
POLICY ?= policies/default.yaml
SCRUBD := $(BUILD_DIR)/daemon/scrubd
CXX_DIRS := common rules audit policies daemon tests bench

.PHONY: all deps configure build run test e2e bench format format-check asan asan-build fuzz \
        clean

ASAN_DIR ?= build-asan
FUZZ_RUNS ?= 20000
# A time guard per target, so CI stays inside its budget on a slow machine.
FUZZ_MAX_S ?= 300
FUZZERS := decode cv dom scanner tcf cookie
FIXTURES := $(wildcard ../shared/fixtures/posthog-js-*)
CCACHE := $(shell command -v ccache 2>/dev/null)

all: build

deps:
	./.ci/install-deps

configure:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: deps configure
	cmake --build $(BUILD_DIR) --target scrubd -j$(JOBS)
	@mkdir -p $(DATA_DIR)
	@echo "scrubd: point posthog-js at it with"
	@echo "  posthog.init('<token>', {api_host: 'http://$(LISTEN)'})"
	@echo "  recordings are stored under $(DATA_DIR); export one with"
	@echo "  $(SCRUBD) export --data-dir $(DATA_DIR) --session <session id>"
	$(SCRUBD) serve --listen $(LISTEN) --data-dir $(DATA_DIR) --policy $(POLICY)

test: deps build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

e2e: deps build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L e2e

bench: build
	@# npm peers that benchmarks compare against (bench/*/package-lock.json), installed once.
	@for lock in bench/*/package-lock.json; do \
	  [ -f "$$lock" ] || continue; d=$$(dirname "$$lock"); \
	  [ -d "$$d/node_modules" ] || (cd "$$d" && npm ci --no-audit --no-fund --loglevel=error) || true; \
	done
	@set -e; found=0; \
	for b in $(BUILD_DIR)/bench/*; do \
	  if [ -f "$$b" ] && [ -x "$$b" ]; then found=1; echo "== $$b"; "$$b"; fi; \
	done; \
	if [ $$found -eq 0 ]; then echo "no benchmark binaries under $(BUILD_DIR)/bench" >&2; exit 1; fi

format:
	@find $(CXX_DIRS) -type f \( -name '*.h' -o -name '*.cc' \) -not -path '*/node_modules/*' \
	  | xargs -r clang-format -i --style=file
	@echo "formatted C++ sources in: $(CXX_DIRS)"

format-check:
	@find $(CXX_DIRS) -type f \( -name '*.h' -o -name '*.cc' \) -not -path '*/node_modules/*' \
	  | xargs -r clang-format --dry-run -Werror --style=file
	@echo "format-check: every C++ source in $(CXX_DIRS) is clang-formatted"

# One extra tree serves both sanitizer tests and fuzzing: clang, -O1 -g, ASan+UBSan, and
# libFuzzer coverage on every library (SCRUBD_FUZZ implies SCRUBD_SANITIZE).
asan-build: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
	  -DCMAKE_CXX_COMPILER=clang++ -DSCRUBD_FUZZ=ON -DSCRUBD_BUILD_BENCH=OFF \
	  $(if $(CCACHE),-DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE))
	cmake --build $(ASAN_DIR) -j$(JOBS)

asan: asan-build
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure -j$(JOBS) -LE e2e
	$(MAKE) --no-print-directory fuzz

fuzz:
	@test -x $(ASAN_DIR)/tests/decode_fuzzer || { echo "run make asan-build first" >&2; exit 1; }
	rm -rf $(ASAN_DIR)/fuzz-seeds && $(ASAN_DIR)/tests/fuzz_seeds $(FIXTURES) $(ASAN_DIR)/fuzz-seeds
	@set -e; for f in $(FUZZERS); do \
	  mkdir -p $(ASAN_DIR)/fuzz-corpus/$$f; \
	  echo "== $${f}_fuzzer: $(FUZZ_RUNS) runs"; start=$$(date +%s); \
	  ASAN_OPTIONS=detect_leaks=1 $(ASAN_DIR)/tests/$${f}_fuzzer -runs=$(FUZZ_RUNS) \
	    -max_len=262144 -rss_limit_mb=2048 -timeout=25 -max_total_time=$(FUZZ_MAX_S) \
	    -print_final_stats=1 \
	    $(ASAN_DIR)/fuzz-corpus/$$f $(ASAN_DIR)/fuzz-seeds/$$f 2>&1 | tail -n 12; \
	  test $${PIPESTATUS[0]} -eq 0; \
	  echo "== $${f}_fuzzer: $$(( $$(date +%s) - start )) s"; \
	done

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(DATA_DIR)
