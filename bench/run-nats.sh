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

broker_port=$(free_port_from 16390)
url="nats://127.0.0.1:$broker_port"
work=$(mktemp -d)
start_nats "$broker_port" "$work" "${BROKER_CPUS:-$client_cpu}"
broker=$nats_pid
cleanup() {
  stop_server
  kill -TERM "$broker" 2>/dev/null
  wait "$broker" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
wait_nats "$broker_port"

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
extra_header "$extra"
for round in $(seq 1 "$rounds"); do
  for s in "${servers[@]}"; do
    # shellcheck disable=SC2086 # the command is words
    start_server "$s" ${cmd[$s]}
    sleep 0.5
    idle=$(rss_kb "$pid")
    load_points "$runs" "$round" "$s" loadgen "1 16 256" "$loadgen" --url "$url"
    loaded=$(rss_kb "$pid")
    # Each framework's own client as the load: roost's client_proxy, NestJS's ClientNats.
    for k in 16 256; do
      if [ -x "$build/bench/client_loadgen" ]; then
        load_points "$runs" "$round" "$s" roost "$k" "$build/bench/client_loadgen" --url "$url"
      fi
      load_points "$runs" "$round" "$s" nestjs "$k" bench/nest/node.sh loadgen.mjs --url "$url"
    done
    stop_server
    extra_row "$extra" "$round" "$s" "$idle" "$loaded"
  done
done
end_meta "$out/nats-meta.tsv"
echo "bench-nats: done: $runs, $extra"
