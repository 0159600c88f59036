#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang 14) in build-fuzz and runs each on a copy of its
# seed corpus (fuzz/corpus/<name>), JOBS at a time (one a core).
#   scripts/fuzz.sh                  `make fuzz`: FUZZ_SECONDS (600: ten CPU-minutes) each
#   FUZZ_BUDGET=70 scripts/fuzz.sh   `make test`: the run's wall time split over the targets
#   FUZZ_BUILD_ONLY=1 scripts/fuzz.sh  the build alone
# FUZZ_SECONDS, when set, is each target's time; otherwise FUZZ_BUDGET (wall seconds for them
# all) is shared out: FUZZ_BUDGET x JOBS / targets each. A crashing input is written to
# build-fuzz/ (crash-..., leak-..., timeout-...) and named in the log; it becomes a unit test
# or a corpus file (docs/reliability.md, "Fuzzing"). Writes build-fuzz/fuzz-results.tsv (name,
# exit code, seconds, runs, corpus size at the end) and, with FUZZ_RECORD=FILE, appends the
# rows to FILE with the date (bench/data/reliability-fuzz.tsv is made so). Exit 0 when every
# target ran clean.
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
command -v clang++-14 >/dev/null || { echo "fuzz: clang++-14 is missing (scripts/install-deps.sh)"; exit 1; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
lld=""
command -v ld.lld >/dev/null && lld=-fuse-ld=lld

mkdir -p build-fuzz && rm -f build-fuzz/fuzz-results.tsv
fuzzers=(frame_decoder packet_decoder parsers)
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  -DCMAKE_CXX_COMPILER=clang++-14 -DROOST_BUILD_FUZZERS=ON -DROOST_BUILD_TESTS=OFF \
  -DROOST_BUILD_EXAMPLES=OFF -DROOST_INSTALL=OFF -DROOST_WITH_TCP=OFF -DROOST_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
  -DCMAKE_EXE_LINKER_FLAGS="$lld" >/dev/null || { echo "fuzz: configure failed"; exit 1; }
if grep -q '^ROOST_WITH_REDIS:BOOL=ON' build-fuzz/CMakeCache.txt; then fuzzers+=(resp_reader); fi
fuzzers+=(kafka_record ws_message)
# made when rabbitmq-c is installed, and with the gRPC transport (fuzz/CMakeLists.txt)
for f in amqp_properties wire_json; do
  ninja -C build-fuzz -t query "${f}_fuzz" >/dev/null 2>&1 && fuzzers+=("$f")
done
if grep -q '^ROOST_WITH_AUTH:BOOL=ON' build-fuzz/CMakeCache.txt; then fuzzers+=(jwt_verify jwks); fi
cmake --build build-fuzz -j "$JOBS" --target "${fuzzers[@]/%/_fuzz}" || { echo "fuzz: build failed"; exit 1; }
# FUZZ_BUILD_ONLY=1: the build alone (`make test` builds beside other tests, runs them later).
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

if [ -n "${FUZZ_SECONDS:-}" ]; then
  seconds=$FUZZ_SECONDS
elif [ -n "${FUZZ_BUDGET:-}" ]; then
  seconds=$((FUZZ_BUDGET * JOBS / ${#fuzzers[@]}))
  [ "$seconds" -ge 1 ] || seconds=1
else
  seconds=600
fi
echo "fuzz: ${#fuzzers[@]} targets, ${seconds} s each, ${JOBS} at a time"

fuzz_one() {  # name; its exit code is the fuzzer's
  local work rc
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$1/." "$work/"
  LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp" \
    ./build-fuzz/fuzz/${1}_fuzz -max_total_time="$seconds" -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$PWD/build-fuzz/" "$work" >"build-fuzz/$1.log" 2>&1
  rc=$?
  echo "$(ls "$work" | wc -l)" >"build-fuzz/$1.corpus"
  rm -rf "$work"
  return $rc
}
declare -A pid=()
for f in "${fuzzers[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  fuzz_one "$f" &
  pid[$f]=$!
done
failed=0
: >build-fuzz/fuzz-results.tsv
for f in "${fuzzers[@]}"; do
  wait "${pid[$f]}"
  rc=$?
  runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "build-fuzz/$f.log")
  printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$rc" "$seconds" "${runs:-0}" "$(cat "build-fuzz/$f.corpus")" \
    >>build-fuzz/fuzz-results.tsv
  echo "fuzz $f: exit $rc, ${runs:-0} runs"
  [ $rc -eq 0 ] || { failed=$((failed + 1)); tail -40 "build-fuzz/$f.log"; }
done
if [ -n "${FUZZ_RECORD:-}" ]; then
  [ -f "$FUZZ_RECORD" ] || printf 'date\ttarget\texit\tseconds\truns\tcorpus\n' >"$FUZZ_RECORD"
  sed "s/^/$(date -u +%F)\t/" build-fuzz/fuzz-results.tsv >>"$FUZZ_RECORD"
fi
[ $failed -eq 0 ]
