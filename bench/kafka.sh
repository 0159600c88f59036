#!/usr/bin/env bash
# The Kafka benchmark: roost (bench/bench_service) vs NestJS (bench/nest/service.mjs, on
# kafkajs) as servers of the same topics on one private mock cluster (tools/mockkafka, the
# test broker: librdkafka's mock, not a real Kafka).
#   bench/kafka.sh [BUILD_DIR]     (SECONDS_PER_POINT=4, ROUNDS=3, BENCH_OUT=bench/results)
# Starts its own mockkafka (one broker, on a port the system picks) on core 0 with the load
# generator (BROKER_CPUS=0,1 lets it use what the server leaves of core 1); the server under
# test runs on core 1. Both servers read with maxWaitTimeInMs=10 (the mock holds an empty fetch
# for all of it) and kafkajs's default of one partition served at a time (roost's default too).
# ROUNDS rounds; in each, the servers take turns, each in a consumer group of its own, measured
# with bench/kafka_loadgen: requests `sum [1,2,3]` with K = 16 and 256 in flight (every reply
# checked), then events `tally` up to K = EMIT_K (50000) ahead of the server's count (every event
# counted by the server, exactly). Writes $BENCH_OUT/kafka-runs.tsv (the requests, see bench/lib.sh),
# kafka-emit-runs.tsv (the events: K is the window, rps events/s, the CPU per event),
# kafka-extra-runs.tsv and kafka-meta.tsv.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
source bench/lib.sh
loadgen="$build/bench/kafka_loadgen"
for p in "$loadgen" "$build/bench/bench_service"; do
  [ -x "$p" ] || { echo "bench-kafka: $p is missing (ROOST_WITH_KAFKA=OFF?)"; exit 1; }
done
[ -r /usr/include/librdkafka/rdkafka_mock.h ] || { echo "bench-kafka: librdkafka-dev is not installed"; exit 1; }
bash bench/nest/install.sh || { echo "bench-kafka: cannot install the NestJS side (bench/nest)"; exit 1; }

work=$(mktemp -d)
broker=""
cleanup() {
  stop_server
  [ -n "$broker" ] && kill -TERM "$broker" 2>/dev/null && wait "$broker" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/mockkafka" tools/mockkafka/mockkafka.c -lrdkafka -lpthread ||
  { echo "bench-kafka: cannot build mockkafka"; exit 1; }
taskset -c "${BROKER_CPUS:-$client_cpu}" "$work/mockkafka" -f "$work/bootstrap" >"$work/log" 2>&1 &
broker=$!
for _ in $(seq 1 500); do [ -s "$work/bootstrap" ] && break; sleep 0.01; done
[ -s "$work/bootstrap" ] || { echo "bench-kafka: the broker did not start"; cat "$work/log"; exit 1; }
brokers=$(cat "$work/bootstrap")

servers=(roost nestjs)
# How far ahead of the server's count events are sent: the rate the measure allows grows with it
# up to about this (single runs of roost on this mock: 20,000 → 430,000 events/s, 50,000 →
# 610,000, 100,000 → 500,000).
emit_k=${EMIT_K:-50000}
runs="$out/kafka-runs.tsv"
emits="$out/kafka-emit-runs.tsv"
extra="$out/kafka-extra-runs.tsv"
write_meta "$out/kafka-meta.tsv" "$build"
printf 'librdkafka\t%s\n' "$(dpkg-query -W -f '${Version}' librdkafka-dev 2>/dev/null || echo -)" >>"$out/kafka-meta.tsv"
printf 'kafkajs\t%s\n' "$(sed -n 's/.*"version": "\(.*\)".*/\1/p' bench/nest/node_modules/kafkajs/package.json | head -1)" >>"$out/kafka-meta.tsv"
runs_header "$runs"
runs_header "$emits"
extra_header "$extra"
for round in $(seq 1 "$rounds"); do
  for s in "${servers[@]}"; do
    url="kafka://$brokers/?groupId=bench-$round-$s&maxWaitTimeInMs=10"
    declare -A cmd=(
      [roost]="$build/bench/bench_service --url $url"
      [nestjs]="bench/nest/node.sh service.mjs --url $url"
    )
    # shellcheck disable=SC2086 # the command is words
    start_server "$s" ${cmd[$s]}
    idle=$(rss_kb "$pid")
    load_points "$runs" "$round" "$s" loadgen "16 256" "$loadgen" --brokers "$brokers"
    load_points "$emits" "$round" "$s" emit "$emit_k" "$loadgen" --brokers "$brokers" --mode emit
    loaded=$(rss_kb "$pid")
    stop_server
    extra_row "$extra" "$round" "$s" "$idle" "$loaded"
  done
done
end_meta "$out/kafka-meta.tsv"
echo "bench-kafka: done: $runs, $emits, $extra"
