#!/usr/bin/env bash
# The NATS benchmark: roost vs NestJS as NATS servers behind one private nats-server.
#   bench/run-nats.sh [BUILD_DIR]     (SECONDS_PER_POINT=4, ROUNDS=3, BENCH_OUT=bench/results)
# Starts its own nats-server on a free loopback port (the test brokers of scripts/brokers.sh
# are not touched). The server under test runs on core 1; nats-server and the load generator
# share core 0 (BROKER_CPUS=0,1 lets nats-server use what the server leaves of core 1).
# ROUNDS rounds; in each, the servers take turns, each measured with bench/nats_loadgen (raw
# NATS protocol, K = 1, 16, 256), roost's own client (bench/client_loadgen) and NestJS's
# ClientNats (bench/nest/loadgen.mjs), K = 16, 256. Writes $BENCH_OUT/nats-runs.tsv (see
# bench/lib.sh), nats-extra-runs.tsv and nats-meta.tsv.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
source bench/lib.sh
loadgen="$build/bench/nats_loadgen"
[ -x "$loadgen" ] || { echo "bench-nats: $loadgen is missing (build with ROOST_WITH_NATS)"; exit 1; }
command -v nats-server >/dev/null || { echo "bench-nats: nats-server is not installed"; exit 1; }
bash bench/nest/install.sh || { echo "bench-nats: cannot install the NestJS side (bench/nest)"; exit 1; }

broker_port=16390
while (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null; do broker_port=$((broker_port + 1)); done
url="nats://127.0.0.1:$broker_port"
work=$(mktemp -d)
printf 'max_payload: 8MB\n' >"$work/nats.conf"
taskset -c "${BROKER_CPUS:-$client_cpu}" nats-server -c "$work/nats.conf" -a 127.0.0.1 -p "$broker_port" \
  -l "$work/nats.log" </dev/null >/dev/null 2>&1 &
broker=$!
cleanup() {
  stop_server
  kill -TERM "$broker" 2>/dev/null
  wait "$broker" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 200); do
  [ "$(bash -c "exec 3<>/dev/tcp/127.0.0.1/$broker_port; head -c 4 <&3" 2>/dev/null)" = INFO ] && break
  sleep 0.02
done

declare -A cmd=(
  [roost]="$build/tests/interop/roost_peer serve --url $url"
  [nestjs]="bench/nest/node.sh service.mjs --url $url"
)
servers=(roost nestjs)

runs="$out/nats-runs.tsv"
extra="$out/nats-extra-runs.tsv"
write_meta "$out/nats-meta.tsv" "$build"
printf 'nats_server\t%s\n' "$(nats-server --version 2>&1 | head -1)" >>"$out/nats-meta.tsv"
runs_header "$runs"
printf 'round\tserver\tstartup_ms\trss_idle_kb\trss_after_load_kb\n' >"$extra"
for round in $(seq 1 "$rounds"); do
  for s in "${servers[@]}"; do
    # shellcheck disable=SC2086 # the command is words
    start_server "$s" ${cmd[$s]}
    sleep 0.5
    idle=$(rss_kb "$pid")
    for k in 1 16 256; do
      run_point "$pid" "$broker" "$loadgen" --url "$url" --inflight "$k" --seconds "$secs" --warmup "$warmup"
      emit_row "$runs" "$round" "$s" loadgen "$k"
    done
    loaded=$(rss_kb "$pid")
    # Each framework's own client as the load: roost's client_proxy, NestJS's ClientNats.
    for k in 16 256; do
      if [ -x "$build/bench/client_loadgen" ]; then
        run_point "$pid" "$broker" "$build/bench/client_loadgen" --url "$url" --inflight "$k" \
          --seconds "$secs" --warmup "$warmup"
        emit_row "$runs" "$round" "$s" roost "$k"
      fi
      run_point "$pid" "$broker" bench/nest/node.sh loadgen.mjs --url "$url" --inflight "$k" \
        --seconds "$secs" --warmup "$warmup"
      emit_row "$runs" "$round" "$s" nestjs "$k"
    done
    stop_server
    printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$s" "$startup_ms" "$idle" "$loaded" >>"$extra"
  done
done
end_meta "$out/nats-meta.tsv"
echo "bench-nats: done: $runs, $extra"
