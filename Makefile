# roost — the two commands of the quick start, and the benchmark.
#   make demo    install what is missing, build, run the math service and client on TCP
#   make test    install what is missing, build, run every test (and the sanitizer build)
#   make bench   build and run the benchmarks (see docs/benchmarks.md)

BUILD      ?= build
BUILD_SAN  ?= build-san
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build demo test test-main test-san fuzz bench format clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

demo: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS) --target math_service math_client
	@bash scripts/demo.sh $(BUILD)

test: deps
	@bash scripts/test.sh

bench: build
	@bash bench/run.sh $(BUILD)

format:
	clang-format-14 -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	rm -rf $(BUILD) $(BUILD_SAN) build-fuzz
