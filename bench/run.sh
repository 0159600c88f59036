#!/usr/bin/env bash
# The TCP benchmark: roost vs NestJS vs the limit server (bench/limit_server.cpp), one server
# core each, then (unless TCP_ONLY=1) bench/run-nats.sh, bench/redis.sh, bench/rmq.sh,
# bench/mqtt.sh, bench/grpc.sh and bench/ws.sh.
#   bench/run.sh [BUILD_DIR]     (SECONDS_PER_POINT=4, ROUNDS=3, BENCH_OUT=bench/results)
# ROUNDS rounds; in each, the servers take turns (so that load from elsewhere on the machine
# weighs on all alike) and each is measured with the C++ load generator (bench/loadgen,
# K = 1, 16, 256 in flight), with a NestJS ClientTCP (bench/nest/loadgen.mjs, K = 16, 256),
# for the long tail (K = 16, 1% of requests wait 5 ms) and for memory (idle, and with 1,000
# idle connections), and with other shapes of load (SHAPES: connections x requests in flight on
# each; 64 x 4 and 1,000 x 1 by default), so that no gain comes from tuning to one connection.
# Writes $BENCH_OUT/tcp-runs.tsv (see bench/lib.sh), tcp-shapes-runs.tsv (the same columns, with
# the shape, e.g. 64x4, in the client column and the total in flight as K), tcp-extra-runs.tsv and
# tcp-meta.tsv; bench/make-tables.sh makes the tables of docs/benchmarks.md from them.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
source bench/lib.sh
bash bench/nest/install.sh || { echo "bench: cannot install the NestJS side (bench/nest)"; exit 1; }
loadgen="$build/bench/loadgen"
for f in "$loadgen" "$build/bench/limit_server" "$build/tests/interop/roost_peer"; do
  [ -x "$f" ] || { echo "bench: $f is missing (build first)"; exit 1; }
done
trap stop_server EXIT
# A thousand connections take a thousand descriptors in the load generator and in the server.
shapes=(${SHAPES:-64x4 1000x1})
[ "$(ulimit -n)" -ge 4096 ] || ulimit -n 4096 ||
  { echo "bench: cannot raise the open file limit to 4096 (ulimit -n) for 1,000 connections"; exit 1; }

declare -A cmd=(
  [roost]="$build/tests/interop/roost_peer serve --url tcp://127.0.0.1:0"
  [nestjs]="bench/nest/node.sh service.mjs --url tcp://127.0.0.1:0"
  [limit]="$build/bench/limit_server 0"
)
servers=(roost nestjs limit)

runs="$out/tcp-runs.tsv"
extra="$out/tcp-extra-runs.tsv"
shape_runs="$out/tcp-shapes-runs.tsv"
write_meta "$out/tcp-meta.tsv" "$build"
runs_header "$runs"
runs_header "$shape_runs"
printf 'round\tserver\tstartup_ms\trss_idle_kb\trss_1000_conns_kb\ttail_fast_p99_us\n' >"$extra"
for round in $(seq 1 "$rounds"); do
  for s in "${servers[@]}"; do
    # shellcheck disable=SC2086 # the command is words
    start_server "$s" ${cmd[$s]}
    sleep 0.5
    idle=$(rss_kb "$pid")
    for k in 1 16 256; do
      run_point "$pid" - "$loadgen" --port "$port" --inflight "$k" --seconds "$secs" --warmup "$warmup"
      emit_row "$runs" "$round" "$s" loadgen "$k"
    done
    for shape in "${shapes[@]}"; do
      shape_conns=${shape%x*}
      k=$((shape_conns * ${shape#*x}))
      run_point "$pid" - "$loadgen" --port "$port" --connections "$shape_conns" --inflight "$k" \
        --seconds "$secs" --warmup "$warmup"
      emit_row "$shape_runs" "$round" "$s" "$shape" "$k"
    done
    tail_p99=-
    if [ "$s" != limit ]; then
      # What a NestJS shop sees when a NestJS client calls this server.
      for k in 16 256; do
        run_point "$pid" - bench/nest/node.sh loadgen.mjs --url "tcp://127.0.0.1:$port" \
          --inflight "$k" --seconds "$secs" --warmup "$warmup"
        emit_row "$runs" "$round" "$s" nestjs "$k"
      done
      # 1% of the requests wait 5 ms: the p99 of the others shows head-of-line blocking.
      run_point "$pid" - "$loadgen" --port "$port" --inflight 16 --seconds "$secs" \
        --warmup "$warmup" --slow-every 100 --slow-pattern slow --slow-data 5
      tail_p99=$(field p99_us "$point_json")
    fi
    taskset -c "$client_cpu" "$loadgen" --port "$port" --idle 1000 --seconds 3 >/dev/null &
    lg=$!
    sleep 2
    conns=$(rss_kb "$pid")
    wait $lg
    stop_server
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$s" "$startup_ms" "$idle" "$conns" "$tail_p99" >>"$extra"
    echo "round $round: $s started in $startup_ms ms, RSS $idle KiB idle, $conns KiB with 1000 connections, fast p99 with 1% slow: $tail_p99 us"
  done
done
end_meta "$out/tcp-meta.tsv"
echo "bench: TCP done: $runs, $shape_runs, $extra"

[ "${TCP_ONLY:-0}" = 1 ] && exit 0
status=0
if [ -x "$build/bench/nats_loadgen" ] && command -v nats-server >/dev/null; then
  bash bench/run-nats.sh "$build" || status=1
fi
if [ -x "$build/bench/redis_loadgen" ]; then
  bash bench/redis.sh "$build" || status=1
fi
if [ -x "$build/bench/rmq_loadgen" ]; then
  bash bench/rmq.sh "$build" || status=1
fi
if [ -x "$build/bench/mqtt_loadgen" ]; then
  bash bench/mqtt.sh "$build" || status=1
fi
if [ -x "$build/bench/grpc_loadgen" ]; then
  bash bench/grpc.sh "$build" || status=1
fi
if [ -x "$build/bench/ws_loadgen" ]; then
  bash bench/ws.sh "$build" || status=1
fi
exit $status
