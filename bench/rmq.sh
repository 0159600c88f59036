#!/usr/bin/env bash
# The RabbitMQ benchmark: roost vs NestJS vs the broker's limit (bench/rmq_loadgen.cpp --limit)
# as servers of one queue on one private rabbitmq-server.
#   bench/rmq.sh [BUILD_DIR]     (SECONDS_PER_POINT=4, ROUNDS=3, BENCH_OUT=bench/results)
# Starts its own RabbitMQ node (scripts/brokers.sh with a folder and ports of its own, not the
# test brokers) on core 0 with the load generator (BROKER_CPUS=0,1 lets it use what the server
# leaves of core 1); the server under test runs on core 1. Each request is NestJS's: the JSON
# packet to the queue, the reply through direct reply-to (noAck, NestJS's default).
# ROUNDS rounds; in each, the servers take turns on a fresh queue, each measured with
# bench/rmq_loadgen (raw AMQP on rabbitmq-c, K = 1, 16, 256), roost's own client
# (bench/client_loadgen) and NestJS's ClientRMQ (bench/nest/loadgen.mjs), K = 16, 256. The
# limit server answers each request with the bytes NestJS's server sends and does nothing else:
# what it reaches is the broker's ceiling for this traffic on this machine.
# Writes $BENCH_OUT/rmq-runs.tsv (see bench/lib.sh), rmq-extra-runs.tsv and rmq-meta.tsv.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
source bench/lib.sh
loadgen="$build/bench/rmq_loadgen"
[ -x "$loadgen" ] || { echo "bench-rmq: $loadgen is missing (ROOST_WITH_RMQ=OFF?)"; exit 1; }
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || { echo "bench-rmq: rabbitmq-server is not installed"; exit 1; }
bash bench/nest/install.sh || { echo "bench-rmq: cannot install the NestJS side (bench/nest)"; exit 1; }

# The node's port, its epmd's (one below) and its distribution ports (12 above): all free.
broker_port=16790
ports_free() { for p in $(seq $(($1 - 1)) $(($1 + 12))); do port_open "$p" && return 1; done; return 0; }
while ! ports_free "$broker_port"; do broker_port=$((broker_port + 20)); done
work=$(mktemp -d)
export ROOST_BROKERS_DIR=$work ROOST_RABBITMQ_PORT=$broker_port ROOST_RABBITMQ_EPMD_PORT=$((broker_port - 1))
cleanup() {
  stop_server
  bash scripts/brokers.sh stop rabbitmq
  rm -rf "$work"
}
trap cleanup EXIT
taskset -c "${BROKER_CPUS:-$client_cpu}" bash scripts/brokers.sh start rabbitmq ||
  { echo "bench-rmq: the broker did not start"; exit 1; }
# The Erlang VM's pid (the one listening), whose CPU time is the broker's.
broker=$(ss -Hltnp "sport = :$broker_port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
[ -n "$broker" ] || { echo "bench-rmq: cannot find the broker's process"; exit 1; }

servers=(roost nestjs limit)
runs="$out/rmq-runs.tsv"
extra="$out/rmq-extra-runs.tsv"
write_meta "$out/rmq-meta.tsv" "$build"
printf 'rabbitmq_server\t%s\n' "$(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo -)" >>"$out/rmq-meta.tsv"
printf 'rabbitmq_c\t%s\n' "$(dpkg-query -W -f '${Version}' librabbitmq4 2>/dev/null || echo -)" >>"$out/rmq-meta.tsv"
runs_header "$runs"
extra_header "$extra"
for round in $(seq 1 "$rounds"); do
  for s in "${servers[@]}"; do
    # A queue of each server's own: nothing one left behind reaches the next.
    url="amqp://guest:guest@127.0.0.1:$broker_port/?queue=bench-$round-$s"
    declare -A cmd=(
      [roost]="$build/tests/interop/roost_peer serve --url $url"
      [nestjs]="bench/nest/node.sh service.mjs --url $url"
      [limit]="$loadgen --limit --url $url"
    )
    # shellcheck disable=SC2086 # the command is words
    start_server "$s" ${cmd[$s]}
    sleep 0.5
    idle=$(rss_kb "$pid")
    load_points "$runs" "$round" "$s" loadgen "1 16 256" "$loadgen" --url "$url"
    loaded=$(rss_kb "$pid")
    if [ "$s" != limit ]; then
      # Each framework's own client as the load: roost's client_proxy, NestJS's ClientRMQ.
      for k in 16 256; do
        load_points "$runs" "$round" "$s" roost "$k" "$build/bench/client_loadgen" --url "$url"
        load_points "$runs" "$round" "$s" nestjs "$k" bench/nest/node.sh loadgen.mjs --url "$url"
      done
    fi
    stop_server
    extra_row "$extra" "$round" "$s" "$idle" "$loaded"
  done
done
end_meta "$out/rmq-meta.tsv"
echo "bench-rmq: done: $runs, $extra"
