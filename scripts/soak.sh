#!/usr/bin/env bash
# `make soak`: mixed traffic (requests and events) on every transport of the build for
# SOAK_SECONDS (600), failing when a server's resident memory, open file descriptors or p99
# latency trends upward after the warm-up (bench/soak.cpp says how and why those limits).
#   scripts/soak.sh                          the run, on the brokers of scripts/brokers.sh
#   SOAK_SECONDS=120 SOAK_RATE=50 scripts/soak.sh   shorter, busier
#   SOAK_RECORD=bench/data/reliability-soak.tsv scripts/soak.sh
#                                            appends the figures for docs/reliability.md's table
#                                            (bench/reliability-table.sh)
# Builds the soak program in $BUILD (build), uses the brokers already running (started if none
# answers, and then stopped at the end), and writes every sample to $BUILD/soak-samples.tsv.
# `make test` runs a one-minute version (ctest reliability_soak, in the optimized tier).
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
JOBS=${JOBS:-$(nproc)}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
lld=""
command -v ld.lld >/dev/null && lld=-fuse-ld=lld

[ -f "$BUILD/CMakeCache.txt" ] ||
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
    -DCMAKE_EXE_LINKER_FLAGS="$lld" -DCMAKE_SHARED_LINKER_FLAGS="$lld" >/dev/null ||
  { echo "soak: configure failed"; exit 1; }
cmake --build "$BUILD" -j "$JOBS" --target soak || { echo "soak: build failed"; exit 1; }

if ! bash scripts/brokers.sh check >/dev/null 2>&1; then
  bash scripts/brokers.sh start || { echo "soak: the brokers did not start"; exit 1; }
  trap 'bash scripts/brokers.sh stop' EXIT
fi
eval "$(bash scripts/brokers.sh env | sed 's/^/export /')"

rm -f "$BUILD/soak-samples.tsv"
args=(--seconds "${SOAK_SECONDS:-600}" --rate "${SOAK_RATE:-20}" --samples "$BUILD/soak-samples.tsv")
[ -n "${SOAK_RECORD:-}" ] && args+=(--tsv "$SOAK_RECORD")
"$BUILD/bench/soak" "${args[@]}"
