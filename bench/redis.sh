#!/usr/bin/env bash
# The Redis benchmark: roost vs NestJS vs the Redis limit server (bench/redis_limit.cpp) over one
# private redis-server.
#   bench/redis.sh [BUILD_DIR]     (SECONDS_PER_POINT=4, ROUNDS=3, BENCH_OUT=bench/results)
# Starts its own redis-server on a free loopback port (not the test brokers). The server under
# test runs on core 1, the load generator on core 0, the broker where the scheduler puts it.
# ROUNDS rounds; in each, the servers take turns, each measured with bench/redis_loadgen (raw
# RESP: PUBLISH on one connection, replies on `sum.reply` on another, as a NestJS client does;
# K = 1, 16, 256) and with a NestJS ClientRedis (bench/nest/loadgen.mjs, K = 16, 256).
# The limit server exchanges exactly the messages roost's server does (the same PUBLISHes in
# the same directions, its replies published with CLIENT REPLY OFF as roost's are) and does
# nothing else: what it reaches is the broker's ceiling for this traffic on this machine.
# Writes $BENCH_OUT/redis-runs.tsv (see bench/lib.sh), redis-extra-runs.tsv, redis-meta.tsv.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
source bench/lib.sh
loadgen="$build/bench/redis_loadgen"
[ -x "$loadgen" ] || { echo "bench-redis: $loadgen is missing (ROOST_WITH_REDIS=OFF?)"; exit 1; }
command -v redis-server >/dev/null || { echo "bench-redis: redis-server is needed"; exit 1; }
bash bench/nest/install.sh || { echo "bench-redis: cannot install the NestJS side (bench/nest)"; exit 1; }

broker_port=$(free_port_from 16390)
dir=$(mktemp -d)
start_redis "$broker_port" "$dir" || { echo "bench-redis: redis-server failed"; exit 1; }
wait_redis "$broker_port"
broker=$(cat "$dir/redis.pid")
cleanup() {
  stop_server
  kill -TERM "$broker" 2>/dev/null
  sleep 0.2
  rm -rf "$dir"
}
trap cleanup EXIT
url="redis://127.0.0.1:$broker_port"

declare -A cmd=(
  [roost]="$build/tests/interop/roost_peer serve --url $url"
  [nestjs]="bench/nest/node.sh service.mjs --url $url"
  [limit]="$build/bench/redis_limit --port $broker_port"
)
servers=(roost nestjs)
[ -x "$build/bench/redis_limit" ] && servers+=(limit)

runs="$out/redis-runs.tsv"
extra="$out/redis-extra-runs.tsv"
write_meta "$out/redis-meta.tsv" "$build"
printf 'redis_server\t%s\n' "$(redis-server --version | head -1)" >>"$out/redis-meta.tsv"
runs_header "$runs"
printf 'round\tserver\tstartup_ms\trss_idle_kb\n' >"$extra"
for round in $(seq 1 "$rounds"); do
  for s in "${servers[@]}"; do
    # shellcheck disable=SC2086 # the command is words
    start_server "$s" ${cmd[$s]}
    sleep 0.5
    idle=$(rss_kb "$pid")
    load_points "$runs" "$round" "$s" loadgen "1 16 256" "$loadgen" --port "$broker_port"
    if [ "$s" != limit ]; then
      load_points "$runs" "$round" "$s" nestjs "16 256" bench/nest/node.sh loadgen.mjs --url "$url"
    fi
    stop_server
    printf '%s\t%s\t%s\t%s\n' "$round" "$s" "$startup_ms" "$idle" >>"$extra"
  done
done
end_meta "$out/redis-meta.tsv"
echo "bench-redis: done: $runs, $extra"
