#!/usr/bin/env bash
# The MQTT benchmark: roost vs NestJS vs the broker's limit (bench/mqtt_loadgen.cpp --limit) as
# servers of one topic on one private mosquitto.
#   bench/mqtt.sh [BUILD_DIR]     (SECONDS_PER_POINT=4, ROUNDS=3, BENCH_OUT=bench/results)
# Starts its own mosquitto (scripts/brokers.sh with a folder and a port of its own, not the test
# brokers: MQTT 3.1.1 and 5, TCP_NODELAY, nothing persisted) on core 0 with the load generator
# (BROKER_CPUS=0,1 lets it use what the server leaves of core 1); the server under test runs on
# core 1. Each request is NestJS's: the JSON packet published to `sum` with QoS 0, the reply on
# `sum/reply` (NestJS's defaults). ROUNDS rounds; in each, the servers take turns, each measured
# with bench/mqtt_loadgen (raw MQTT 3.1.1, K = 1, 16, 256) and roost's own client
# (bench/client_loadgen, K = 16, 256). NestJS's ClientMqtt is not a load here: with two or more
# requests in flight it stops getting replies within a second (against either server; see
# docs/benchmarks.md). The limit server answers each request with the bytes NestJS's server
# sends and does nothing else: what it reaches is the broker's ceiling for this traffic.
# Writes $BENCH_OUT/mqtt-runs.tsv (see bench/lib.sh), mqtt-extra-runs.tsv and mqtt-meta.tsv.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
source bench/lib.sh
loadgen="$build/bench/mqtt_loadgen"
[ -x "$loadgen" ] || { echo "bench-mqtt: $loadgen is missing (ROOST_WITH_MQTT=OFF?)"; exit 1; }
command -v mosquitto >/dev/null || { echo "bench-mqtt: mosquitto is not installed"; exit 1; }
bash bench/nest/install.sh || { echo "bench-mqtt: cannot install the NestJS side (bench/nest)"; exit 1; }

broker_port=$(free_port_from 16983)
work=$(mktemp -d)
export ROOST_BROKERS_DIR=$work ROOST_MOSQUITTO_PORT=$broker_port
cleanup() {
  stop_server
  bash scripts/brokers.sh stop mosquitto
  rm -rf "$work"
}
trap cleanup EXIT
taskset -c "${BROKER_CPUS:-$client_cpu}" bash scripts/brokers.sh start mosquitto ||
  { echo "bench-mqtt: the broker did not start"; exit 1; }
broker=$(cat "$work/mosquitto/pid")
[ -n "$broker" ] || { echo "bench-mqtt: cannot find the broker's process"; exit 1; }
url="mqtt://127.0.0.1:$broker_port"

servers=(roost nestjs limit)
runs="$out/mqtt-runs.tsv"
extra="$out/mqtt-extra-runs.tsv"
write_meta "$out/mqtt-meta.tsv" "$build"
printf 'mosquitto\t%s\n' "$(dpkg-query -W -f '${Version}' mosquitto 2>/dev/null || echo -)" >>"$out/mqtt-meta.tsv"
printf 'libmosquitto\t%s\n' "$(dpkg-query -W -f '${Version}' libmosquitto1 2>/dev/null || echo -)" >>"$out/mqtt-meta.tsv"
printf 'mqtt_js\t%s\n' "$(sed -n 's/.*"version": "\(.*\)".*/\1/p' bench/nest/node_modules/mqtt/package.json | head -1)" >>"$out/mqtt-meta.tsv"
runs_header "$runs"
extra_header "$extra"
for round in $(seq 1 "$rounds"); do
  for s in "${servers[@]}"; do
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
      load_points "$runs" "$round" "$s" roost "16 256" "$build/bench/client_loadgen" --url "$url"
    fi
    stop_server
    extra_row "$extra" "$round" "$s" "$idle" "$loaded"
  done
done
end_meta "$out/mqtt-meta.tsv"
echo "bench-mqtt: done: $runs, $extra"
