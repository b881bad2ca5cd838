# Thin wrapper over CMake/CTest. Real build logic lives in CMakeLists.txt.
#   make build   configure + build (Release) into ./build
#   make run     install deps, build, serve on 127.0.0.1:8080 with policies/default.yaml
#   make test    install deps, build, run every ctest test (unit, integration, e2e)
#   make e2e     only the browser end-to-end tests (ctest -L e2e)
#   make bench   build and run the benchmarks under build/bench
#   make format  clang-format every C++ source in place
#   make clean   remove build trees and runtime data
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= ./var
POLICY ?= policies/default.yaml
SCRUBD := $(BUILD_DIR)/daemon/scrubd
CXX_DIRS := common rules audit policies daemon tests bench

.PHONY: all deps configure build run test e2e bench format clean

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

clean:
	rm -rf $(BUILD_DIR) $(DATA_DIR)
