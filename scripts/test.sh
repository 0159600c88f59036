#!/usr/bin/env bash
# `make test`: builds and runs every test tier, then prints one "N passed, N failed" line.
#   0. installs the NestJS peers of the interop suite (npm, from the committed lock files) and
#      starts the real brokers on loopback (scripts/brokers.sh; stopped on exit)
#   1. the main build (RelWithDebInfo) and all its ctest tests (unit, loopback, interop)
#   2. the unit and loopback tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. the libFuzzer targets, each for a short fixed time on its seed corpus
#   4. the consumer test: install roost, build examples/math against the installed package
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
passed=0
failed=0
failures=()

step() { echo; echo "== $*"; }
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

step "NestJS peers for the interop suite"
bash scripts/install-interop.sh
record "interop peers install" $?

step "brokers"
trap 'bash scripts/brokers.sh stop' EXIT
bash scripts/brokers.sh stop >/dev/null 2>&1
bash scripts/brokers.sh start
record "brokers start" $?
# The tests read the brokers' URLs from ROOST_<BROKER>_URL; one that is unset or down fails them.
# `env` prints NAME='URL' lines, quoted for the shell (the TLS URL holds `&`).
eval "$(bash scripts/brokers.sh env | sed 's/^/export /')"

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

step "build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null &&
  cmake --build build -j "$JOBS"
rc=$?; record "main build" $rc
if [ $rc -eq 0 ]; then
  step "tests"
  (cd build && ctest -j "$JOBS" --output-on-failure --timeout 300) 2>&1 | tee build/ctest.log
  count_ctest build/ctest.log "${PIPESTATUS[0]}" "tests"
  bash tests/interop/gen-matrix.sh build >build/interop.md 2>/dev/null &&
    echo "interop matrix written to build/interop.md (docs/interop.md is made from it)"
fi

step "sanitizer build (ASan + UBSan): unit and loopback tests"
cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=Debug "${launcher[@]}" \
  -DROOST_BUILD_EXAMPLES=OFF -DROOST_INSTALL=OFF -DROOST_BUILD_BENCH=OFF -DROOST_BUILD_TOOLS=OFF \
  -DCMAKE_CXX_FLAGS="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null &&
  # Only the targets of the tests this tier runs (each test is named after its program).
  san_targets=$(cd build-san && ctest -N -L "unit|loopback" | sed -n 's/^ *Test *#[0-9]*: *//p') &&
  [ -n "$san_targets" ] &&
  cmake --build build-san -j "$JOBS" --target $san_targets
rc=$?; record "sanitizer build" $rc
if [ $rc -eq 0 ]; then
  (cd build-san && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest -j "$JOBS" -L "unit|loopback" --output-on-failure --timeout 300) 2>&1 | tee build-san/ctest.log
  count_ctest build-san/ctest.log "${PIPESTATUS[0]}" "sanitizer tests"
fi

step "fuzzers (${FUZZ_SECONDS}s each)"
if command -v clang++-14 >/dev/null; then
  fuzzers=(frame_decoder packet_decoder)
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
    -DCMAKE_CXX_COMPILER=clang++-14 -DROOST_BUILD_FUZZERS=ON -DROOST_BUILD_TESTS=OFF \
    -DROOST_BUILD_EXAMPLES=OFF -DROOST_INSTALL=OFF -DROOST_WITH_TCP=OFF -DROOST_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >/dev/null &&
    { if grep -q '^ROOST_WITH_REDIS:BOOL=ON' build-fuzz/CMakeCache.txt; then fuzzers+=(resp_reader); fi
      cmake --build build-fuzz -j "$JOBS" --target "${fuzzers[@]/%/_fuzz}"; }
  rc=$?; record "fuzz build" $rc
  if [ $rc -eq 0 ]; then
    for f in "${fuzzers[@]}"; do
      work=$(mktemp -d)
      cp -r "fuzz/corpus/$f/." "$work/"
      LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp" \
        ./build-fuzz/fuzz/${f}_fuzz -max_total_time="$FUZZ_SECONDS" -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$PWD/build-fuzz/" "$work" >"build-fuzz/$f.log" 2>&1
      rc=$?; record "fuzz $f" $rc
      echo "fuzz $f: exit $rc, $(grep -E 'stat::number_of_executed_units' "build-fuzz/$f.log" | awk '{print $2}') runs"
      [ $rc -eq 0 ] || tail -40 "build-fuzz/$f.log"
      rm -rf "$work"
    done
  fi
else
  record "fuzz build (clang++-14 missing)" 1
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
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
