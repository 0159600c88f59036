#!/usr/bin/env bash
# `make test`: builds and runs every test tier, then prints one "N passed, N failed" line.
#   0. installs the NestJS peers of the interop suite (npm, from the committed lock files) and
#      starts the real brokers on loopback (scripts/brokers.sh; stopped on exit)
#   1. the main build (RelWithDebInfo, without the test programs) and the tests only it runs
#   2. ASan + UBSan (clang 14): unit, loopback and broker tests, the interop directions with a roost peer
#      (its own sanitized roost_peer), the route vectors and the CLI tests
#   3. TSan: unit, loopback and broker tests; TSAN=0 skips it
#   4. the libFuzzer targets on their seed corpora, a fixed wall time shared out over them
#   5. the consumer test: install roost, build examples/math against the installed package
# Every build runs in the background, at the lowest priority, beside the step before it (see
# in_background): tier 1's beside 0, each other tier's beside the tests of the tier before.
# Cost on 2 cores (docs/contributing.md has the detail): 35 min (2081 s) on a fresh clone in CI,
# cold compiler cache, when each step waited for the one before; here, with a warm-ish cache,
# 1837 s, of it the builds 311 + 661 + 366 s and the tests 95 + 234 + 49 s (tiers 1, 2, 3),
# which the builds now hide. Cold, the ASan tier's compiles alone take 965 s of CPU with clang 14
# (228 files; about 2000 s with GCC 12; 2026-12-08, a shared machine). Each step prints when it
# starts, and the last line the total.
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
# The fuzzers' wall time in all (scripts/fuzz.sh shares it out; FUZZ_SECONDS sets each one's).
FUZZ_BUDGET=${FUZZ_BUDGET:-70}
passed=0
failed=0
failures=()

# Each step says when it starts (seconds since the start): where the time goes, in every log.
step() { echo; echo "== $* (at ${SECONDS} s)"; }
record() {  # name, exit code
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}
# ctest prints "N% tests passed, F tests failed out of T"; fold its counts into ours.
count_ctest() {  # log file, exit code, label
  local line t f
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$1" | tail -1)
  if [ -z "$line" ]; then record "$3 (ctest did not run)" 1; return; fi
  f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  t=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
  passed=$((passed + t - f)); failed=$((failed + f))
  [ "$f" -eq 0 ] || failures+=("$3: $f ctest test(s)")
  [ "$2" -eq 0 ] || [ "$f" -ne 0 ] || record "$3 (ctest exit $2)" 1
}

# Every build runs in the background at the lowest priority (nice 19): the first beside the
# NestJS peers' install and the brokers' start, each other beside the tests of the tier before,
# which mostly wait on peers, brokers and timers. The compiler takes the cores they leave idle,
# and a test that wants a core gets it first. A build's output goes to a log in its
# directory, printed when it is waited for (all of it when it failed, else its last line), so the
# log of `make test` stays in order. The sanitizers' options are unset in it: they are for the
# tests.
background_pid=""
in_background() {  # name, log, command...: starts the command niced in the background
  local name=$1 log=$2
  shift 2
  mkdir -p "$(dirname "$log")"
  echo; echo "== $name: started in the background (at ${SECONDS} s; output in $log)"
  (
    renice -n 19 -p "$BASHPID" >/dev/null
    unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS TSAN_OPTIONS
    "$@"
  ) >"$log" 2>&1 &
  background_pid=$!
}
wait_background() {  # name, log: waits for the build in the background and records it
  local rc
  wait "$background_pid"
  rc=$?
  step "$1: finished, exit $rc"
  if [ $rc -eq 0 ]; then tail -n 1 "$2"; else cat "$2"; fi
  record "$1" $rc
  return $rc
}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# lld links in about 40% of the default linker's CPU time (ASan tier: the core test 1.1 s against
# 2.4 s, five test programs 2.4 s against 6.0 s; wall time a third) and every tier links twenty-odd
# programs; `lld` is in scripts/install-deps.sh, and without it the default linker is used.
lld=""
command -v ld.lld >/dev/null && lld=-fuse-ld=lld

# The test programs (labels unit, loopback, broker) are built and run by the sanitizer tiers,
# each of them twice (ASan + UBSan, TSan): this optimized build leaves them out, which halves its
# cost. What it runs is what only it can: the examples, the docs' blocks, NestJS against NestJS,
# the load generators' self-tests (the optimized roost_peer under load, every reply checked),
# the 10,000-connection load and the one-minute soak (reliability_soak: a sanitizer's memory and
# slowness would be what they measure). The soak mostly waits, beside the ASan build.
# Line tables only (-g1), as in the sanitizer tiers: the same code, about a quarter less
# compile time than full debug information.
main_build() {
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DROOST_TEST_PROGRAMS_IN_ALL=OFF \
    -DCMAKE_EXE_LINKER_FLAGS="$lld" -DCMAKE_SHARED_LINKER_FLAGS="$lld" >/dev/null &&
    cmake --build build -j "$JOBS"
}
in_background "build (RelWithDebInfo)" build/build.log main_build

step "NestJS peers for the interop suite"
bash scripts/install-interop.sh
record "interop peers install" $?

step "brokers"
# BROKERS=running uses the brokers already up (`bash scripts/brokers.sh start`) and leaves them
# up: for a run beside other work that needs them.
if [ "${BROKERS:-}" = running ]; then
  bash scripts/brokers.sh check
  record "brokers running" $?
else
  trap 'bash scripts/brokers.sh stop' EXIT
  bash scripts/brokers.sh stop >/dev/null 2>&1
  bash scripts/brokers.sh start
  record "brokers start" $?
fi
# The tests read the brokers' URLs from ROOST_<BROKER>_URL; one that is unset or down fails them.
# `env` prints NAME='URL' lines, quoted for the shell (the TLS URL holds `&`).
eval "$(bash scripts/brokers.sh env | sed 's/^/export /')"

# The interop directions with a roost peer, the client-certificate check, the route vectors
# (they run the unit test program, which this tier does not build) and the CLI tests.
covered_by_asan='^interop_.*(_roost_to_|_to_roost$)|^interop_rediss_client_cert_required$|^interop_route_vectors_|^roost_cli_'
# The labels of the test programs, which tier 1 leaves to the sanitizer tiers (main_build).
sanitized_programs='unit|loopback|broker'

# A sanitizer tier: an unoptimized build (-O0, or -Og for TSan, below) with line tables only
# (-g1: the reports keep their files and lines), of only the programs its tests run (each test
# program is named after its test) plus the named extra targets, then those tests. Every
# sanitizer report goes to <dir>/sanitizer/ (log_path), because a peer that a script starts (the
# interop suite's roost_peer server, the CLI tests' server) has its stderr thrown away; any
# report fails the tier, even when the test that caused it passed.
sanitizer_build() {  # dir, compiler, compile flags, link flags, ctest -L, ctest -E, targets beyond tests
  local dir=$1 cxx=$2 cflags=$3 lflags=$4 labels=$5 exclude=$6 t targets=()
  shift 6
  # A build directory configured with another compiler (an older checkout's, a preset's) is
  # configured anew: CMake keeps the compiler a cache was made with.
  if [ -f "$dir/CMakeCache.txt" ] && ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=.*$cxx\$" "$dir/CMakeCache.txt"; then
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" \
    -DROOST_BUILD_EXAMPLES=OFF -DROOST_INSTALL=OFF -DROOST_BUILD_BENCH=OFF \
    -DROOST_BUILD_TOOLS="$([ $# -gt 0 ] && echo ON || echo OFF)" \
    -DCMAKE_CXX_FLAGS="$cflags" -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_EXE_LINKER_FLAGS="$lflags $lld" \
    -DCMAKE_SHARED_LINKER_FLAGS="$lflags $lld" >/dev/null || return 1
  for t in $(cd "$dir" && ctest -N -L "$labels" -E "$exclude" | sed -n 's/^ *Test *#[0-9]*: *//p'); do
    ninja -C "$dir" -t query "$t" >/dev/null 2>&1 && targets+=("$t")
  done
  [ ${#targets[@]} -gt 0 ] && cmake --build "$dir" -j "$JOBS" --target "${targets[@]}" "$@"
}
sanitizer_tests() {  # name, dir, ctest -L, ctest -E
  local name=$1 dir=$2 labels=$3 exclude=$4
  step "$name: tests"
  rm -rf "$dir/sanitizer" && mkdir -p "$dir/sanitizer"
  (cd "$dir" && ctest -j "$JOBS" -L "$labels" -E "$exclude" --output-on-failure --timeout 600) 2>&1 |
    tee "$dir/ctest.log"
  count_ctest "$dir/ctest.log" "${PIPESTATUS[0]}" "$name tests"
  if compgen -G "$dir/sanitizer/*" >/dev/null; then
    record "$name: $(ls "$dir/sanitizer" | wc -l) sanitizer report(s) in $dir/sanitizer" 1
    tail -n 40 "$dir"/sanitizer/*
  fi
}

# 2. ASan + UBSan over everything roost runs: unit, loopback and broker tests, and roost's side
# of the interop suite and the CLI tests (NestJS against NestJS is left to tier 1: nothing of
# roost runs in it). The suite runs this build's own roost_peer.
# -O0: ASan sees every access (optimization can remove some), and it compiles in less than half
# the time of -O1 with full debug information (measured on the largest test file: 38 s against
# 88 s of CPU; -O1 with -g1 63 s); the tests are mostly waiting on peers, so their time barely
# moves.
# Clang 14 (with GCC's libstdc++, the same library the other tiers use): at -O0 it compiles the
# coroutine- and template-heavy files in about half GCC 12's CPU time (docs/contributing.md has
# the numbers), and this tier compiles the most. -fno-sanitize=function: clang 14's check of
# calls through function pointers cannot be emitted for coroutines in position-independent code
# ("cannot represent a difference across sections"); GCC's UBSan has no such check either.
asan_build() {
  sanitizer_build build-san clang++-14 \
    "-O0 -fsanitize=address,undefined -fno-sanitize=function -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
    "-fsanitize=address,undefined" \
    "unit|loopback|broker|interop|cli" "_nest[0-9]+_to_nest[0-9]+$|^roost_man_page$" \
    roost_peer roost_cli
}
asan_tests() {
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$PWD/build-san/sanitizer/asan"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$PWD/build-san/sanitizer/ubsan"
  export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp"
  sanitizer_tests "ASan + UBSan" build-san \
    "unit|loopback|broker|interop|cli" "_nest[0-9]+_to_nest[0-9]+$|^roost_man_page$"
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
}

# 3. ThreadSanitizer over the unit, loopback and broker tests. GCC 12 cannot instrument
# std::atomic_thread_fence (-Wtsan, an error under -Werror), so TSan would not see the ordering
# Asio builds from fences: its handler fences are turned off (BOOST_ASIO_DISABLE_FENCED_BLOCK; its
# scheduler's mutex orders handlers anyway), and its reference counts use plain atomic
# read-modify-writes instead of a release decrement plus an acquire fence
# (BOOST_ASIO_DISABLE_STD_ATOMIC; otherwise freeing a shared executor looks like a race).
# -Og: TSan instruments every memory access that is not kept in a register, so at -O0 its
# tests would run several times slower; -Og keeps them in registers and compiles in three
# quarters of -O1's time.
# -Wno-tsan silences the warning for fences left in headers that do not matter here.
# tests/sanitizers/tsan.supp holds suppressions for third-party code only, each with its reason.
# roost_grpc_test is left to the ASan tier: gRPC synchronizes its threads inside its own
# uninstrumented libraries (absl mutexes, gpr atomics), so TSan reports hundreds of races
# between gRPC's header templates compiled into the test and gRPC's threads, and cannot check
# roost's reactor callbacks, which run under those frames (docs/transports/grpc.md, "Tests").
# On by default; TSAN=0 skips it.
tsan_build() {
  sanitizer_build build-tsan g++ \
    "-Og -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan -DBOOST_ASIO_DISABLE_FENCED_BLOCK -DBOOST_ASIO_DISABLE_STD_ATOMIC" \
    "-fsanitize=thread" \
    "unit|loopback|broker" "^roost_cli_|^roost_grpc_test$"
}
tsan_tests() {
  export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/tests/sanitizers/tsan.supp:log_path=$PWD/build-tsan/sanitizer/tsan"
  sanitizer_tests "TSan" build-tsan "unit|loopback|broker" "^roost_cli_|^roost_grpc_test$"
  unset TSAN_OPTIONS
}

# 4. The libFuzzer targets (clang): scripts/fuzz.sh's build half (FUZZ_BUILD_ONLY); the step that
# runs them finds them built.
fuzz_build() { FUZZ_BUILD_ONLY=1 JOBS=$JOBS bash scripts/fuzz.sh; }

# The tiers, each build beside the tests of the tier before (in_background).
wait_background "build (RelWithDebInfo)" build/build.log
main_rc=$?
in_background "ASan + UBSan: build" build-san/build.log asan_build
if [ $main_rc -eq 0 ]; then
  step "tests"
  # What roost runs in the interop suite and the CLI tests is left to the ASan tier (2), which
  # runs it with its own sanitized roost_peer and roost: running it here too would cost minutes.
  (cd build && ctest -j "$JOBS" -LE "$sanitized_programs" -E "$covered_by_asan" \
    --output-on-failure --timeout 300) 2>&1 |
    tee build/ctest.log
  count_ctest build/ctest.log "${PIPESTATUS[0]}" "tests"
fi

wait_background "ASan + UBSan: build" build-san/build.log
asan_rc=$?
if [ "${TSAN:-1}" = 0 ]; then
  in_background "fuzzers: build" build-fuzz/build.log fuzz_build
else
  in_background "TSan: build" build-tsan/build.log tsan_build
fi
[ $asan_rc -ne 0 ] || asan_tests
# The interop matrix from both builds' results: NestJS to NestJS from tier 1, the rest from 2.
mkdir -p build/interop && cp build-san/interop/*.tsv build/interop/ 2>/dev/null
bash tests/interop/gen-matrix.sh build >build/interop.md 2>/dev/null &&
  echo "interop matrix written to build/interop.md (docs/interop.md is made from it)"

if [ "${TSAN:-1}" != 0 ]; then
  wait_background "TSan: build" build-tsan/build.log
  tsan_rc=$?
  in_background "fuzzers: build" build-fuzz/build.log fuzz_build
  [ $tsan_rc -ne 0 ] || tsan_tests
fi

wait_background "fuzzers: build" build-fuzz/build.log
rc=$?  # a failed build is recorded by wait_background
if [ $rc -eq 0 ]; then
  step "fuzzers (${FUZZ_BUDGET} s of running, the targets ${JOBS} at a time)"
  # scripts/fuzz.sh builds them and shares the budget out (`make fuzz` runs each ten minutes).
  FUZZ_BUDGET=$FUZZ_BUDGET JOBS=$JOBS bash scripts/fuzz.sh
  rc=$?
  if [ -s build-fuzz/fuzz-results.tsv ]; then
    while IFS=$'\t' read -r name code _; do record "fuzz $name" "$code"; done <build-fuzz/fuzz-results.tsv
  else
    record "fuzz build" $rc
  fi
fi

step "consumer test: build examples/math against the installed package"
prefix=$(mktemp -d)
cmake --install build --prefix "$prefix" >/dev/null &&
  cmake -S examples/math -B build-consumer -G Ninja "${launcher[@]}" \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null &&
  cmake --build build-consumer -j "$JOBS"
rc=0
[ -x build-consumer/math_service ] && [ -x build-consumer/math_client ] || rc=1
if [ $rc -eq 0 ]; then
  # run the installed-package build of the demo end to end
  mkdir -p build-consumer/examples/math
  ln -sf ../../math_service build-consumer/examples/math/math_service
  ln -sf ../../math_client build-consumer/examples/math/math_client
  bash scripts/demo.sh build-consumer >build-consumer/demo.log 2>&1 &&
    grep -q "sum \[1,2,3,4\] = 10" build-consumer/demo.log || rc=1
  [ $rc -eq 0 ] || cat build-consumer/demo.log
fi
record "consumer test" $rc
rm -rf "$prefix"

echo
if [ ${#failures[@]} -gt 0 ]; then
  echo "failures:"; printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed (${SECONDS} s)"
[ "$failed" -eq 0 ]
