# roost — the two commands of the quick start, and the benchmark.
#   make demo    install what is missing, build, run the math service and client on TCP
#   make shop    the shop example (examples/shop): brokers, build, five services (one NestJS),
#                a few orders placed (one declined, one short, one with its orchestrator killed)
#   make test    install what is missing, build, run every test (and the sanitizer build)
#   make fuzz    build the libFuzzer targets (clang) and run each FUZZ_SECONDS (600) on its corpus
#   make soak    mixed traffic on every transport for SOAK_SECONDS (600), failing when memory,
#                file descriptors or p99 latency trend upward (docs/reliability.md)
#   make bench   build, run the benchmarks into bench/data and make docs/benchmarks.md's tables
#                and the README's speed paragraph from them (see docs/benchmarks.md)
#   make bench-tables   only the tables, from the committed data in bench/data

BUILD      ?= build
BUILD_SAN  ?= build-san
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build demo shop test test-main test-san fuzz soak bench bench-tables format clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DROOST_TEST_PROGRAMS_IN_ALL=ON $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

demo: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS) --target math_service math_client
	@bash scripts/demo.sh $(BUILD)

shop: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS) --target shop
	@bash scripts/install-interop.sh
	@bash examples/shop/run.sh $(BUILD)

test: deps
	@bash scripts/test.sh

fuzz:
	@bash scripts/fuzz.sh

soak: deps
	@BUILD=$(BUILD) JOBS=$(JOBS) bash scripts/soak.sh

bench: build
	@BENCH_OUT=bench/data bash bench/run.sh $(BUILD)
	@bash bench/make-tables.sh bench/data

bench-tables:
	@bash bench/make-tables.sh bench/data

format:
	clang-format-14 -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	rm -rf $(BUILD) $(BUILD_SAN) build-tsan build-fuzz
