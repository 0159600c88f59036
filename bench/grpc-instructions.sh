#!/usr/bin/env bash
# Instructions per request of the gRPC servers, counted by callgrind: roost (roost_peer serving
# interop.Math/Sum) and the limit (bench/grpc_loadgen --limit).
#   bench/grpc-instructions.sh [BUILD_DIR]    (K=256, SECONDS_PER_POINT=10, BENCH_OUT=bench/results)
# Each server runs under callgrind twice: idle (start, READY, stop) and while grpc_loadgen keeps
# K calls in flight for SECONDS_PER_POINT seconds, without a warm-up (every reply checked). The
# requests are those the load generator counted; the idle run's instructions (start-up and
# shutdown) are taken off: (total - idle) / requests. gRPC's own threads poll and keep timers
# while the run lasts, which is counted too: compare runs of the same length.
# Appends to $BENCH_OUT/instructions-grpc.tsv: date commit server K requests total_ir idle_ir ir_per_request
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
k=${K:-256}
secs=${SECONDS_PER_POINT:-10}
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "grpc-instructions: valgrind is not installed"; exit 1; }
source bench/lib.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
proto="$PWD/tests/interop/grpc/roost_test.proto"

# run SERVER SECONDS(0: idle): prints "total_ir requests"
run() {
  local p vp requests=0 f="$work/cg.out" server
  p=$(free_port_from 50600)
  case $1 in
    roost) server=("$build/tests/interop/roost_peer" serve --url "grpc://127.0.0.1:$p/?package=interop&protoPath=$proto") ;;
    limit) server=("$build/bench/grpc_loadgen" --limit --listen "127.0.0.1:$p") ;;
  esac
  rm -f "$f"
  valgrind --tool=callgrind --callgrind-out-file="$f" "${server[@]}" >"$work/log" 2>&1 &
  vp=$!
  for _ in $(seq 1 600); do grep -q '^READY' "$work/log" && break; sleep 0.1; done
  if [ "$2" != 0 ]; then
    local res
    res=$("$build/bench/grpc_loadgen" --target "127.0.0.1:$p" --inflight "$k" --seconds "$2" --warmup 0 | grep '^{')
    requests=$(field requests "$res")
    [ -n "$requests" ] || { echo "grpc-instructions: the load failed" >&2; kill $vp; exit 1; }
  fi
  kill -TERM $vp
  wait $vp
  echo "$(awk '/^(summary|totals):/ { t = $2 } END { print t }' "$f") $requests"
}

table="$out/instructions-grpc.tsv"
[ -f "$table" ] || printf 'date\tcommit\tserver\tK\trequests\ttotal_ir\tidle_ir\tir_per_request\n' >"$table"
for s in roost limit; do
  read -r idle _ < <(run "$s" 0)
  read -r total requests < <(run "$s" "$secs")
  per=$(awk -v t="$total" -v i="$idle" -v n="$requests" 'BEGIN { printf "%.0f", (t - i) / n }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$(git rev-parse --short HEAD)" \
    "$s" "$k" "$requests" "$total" "$idle" "$per" >>"$table"
  echo "$s: $per instructions per request ($requests requests)"
done
