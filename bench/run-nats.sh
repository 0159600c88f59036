#!/usr/bin/env bash
# The NATS benchmark: roost vs NestJS as NATS servers behind the same nats-server, in one run.
#   bench/run-nats.sh [BUILD_DIR]     (SECONDS_PER_POINT=5, ROUNDS=3 by default)
# Starts a private nats-server (on a free port, so the brokers of scripts/brokers.sh are not
# disturbed). The server under test runs on core 1; nats-server and bench/nats_loadgen share
# core 0 (BROKER_CPUS=0,1 lets nats-server use what the server under test leaves of core 1). Each point keeps K requests `sum [1,2,3]` in flight through the broker; the table has
# the throughput, latency, and the server's CPU time per request (user + system, from /proc).
# Then the same with each framework's own client (roost's client_proxy, NestJS's ClientNats)
# as the load. Writes bench/results/nats*.tsv and prints them.
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
build=${1:-build}
secs=${SECONDS_PER_POINT:-5}
out=bench/results
mkdir -p "$out"
loadgen="$build/bench/nats_loadgen"
[ -x "$loadgen" ] || { echo "bench-nats: $loadgen is missing (build with ROOST_WITH_NATS)"; exit 1; }
command -v nats-server >/dev/null || { echo "bench-nats: nats-server is not installed"; exit 1; }
bash scripts/install-interop.sh >/dev/null || { echo "bench-nats: cannot install the NestJS peer"; exit 1; }

server_cpu=1 client_cpu=0
[ "$(nproc)" -ge 2 ] || { server_cpu=0; client_cpu=0; }

port=16390
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
url="nats://127.0.0.1:$port"
work=$(mktemp -d)
printf 'max_payload: 8MB\n' >"$work/nats.conf"
broker_cpus=${BROKER_CPUS:-$client_cpu}
taskset -c "$broker_cpus" nats-server -c "$work/nats.conf" -a 127.0.0.1 -p "$port" -l "$work/nats.log" \
  </dev/null >/dev/null 2>&1 &
broker=$!
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
  kill -TERM "$broker" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 200); do
  [ "$(bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; head -c 4 <&3" 2>/dev/null)" = INFO ] && break
  sleep 0.02
done

declare -A cmd=(
  [roost]="$build/tests/interop/roost_peer serve --url $url"
  [nestjs]="tests/interop/nest/node.sh serve --url $url"
)
servers=(roost nestjs)

start() {  # name → sets pid, startup_ms
  local log; log=$(mktemp)
  local t0; t0=$(date +%s%N)
  taskset -c "$server_cpu" ${cmd[$1]} >"$log" 2>/dev/null &
  pid=$!
  local ready=""
  for _ in $(seq 1 1000); do
    grep -q '^READY' "$log" && { ready=1; break; }
    sleep 0.01
  done
  startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  rm -f "$log"
  [ -n "$ready" ]
}
stop() { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\\1/" <<<"$2"; }
hz=$(getconf CLK_TCK)

# ROUNDS runs (default 3) of the load generator's points, the servers taking turns; nats.tsv
# keeps each point's median (nats-runs.tsv has every run). The rest is measured in round 1.
rounds=${ROUNDS:-3}
runs="$out/nats-runs.tsv"
printf 'round\tserver\tK\trps\tp50_us\tp99_us\tp999_us\tcpu_us_per_req\n' >"$runs"
printf 'server\tstartup_ms\trss_idle_kb\trss_after_load_kb\n' >"$out/nats-extra.tsv"
printf 'server\tclient\tK\trps\tp50_us\tp99_us\n' >"$out/nats-clients.tsv"
for round in $(seq 1 "$rounds"); do
for s in "${servers[@]}"; do
  start "$s" || { echo "bench-nats: $s did not start"; exit 1; }
  sleep 0.5
  idle=$(rss_kb "$pid")
  for k in 1 16 256; do
    t0=$(ticks "$pid")
    r=$(taskset -c "$client_cpu" "$loadgen" --url "$url" --inflight "$k" --seconds "$secs" --warmup 1)
    t1=$(ticks "$pid")
    n=$(sed -E 's/.*"requests":([0-9]+).*/\1/' <<<"$r")
    # CPU over warm-up and measurement, divided by the requests of both (rps covers both).
    rps=$(field rps "$r")
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v rps="$rps" -v secs="$secs" \
      'BEGIN { total = rps * (secs + 1); if (total > 0) printf "%.1f", d * 1e6 / hz / total; else print "-" }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$s" "$k" "$rps" "$(field p50_us "$r")" \
      "$(field p99_us "$r")" "$(field p999_us "$r")" "$cpu" >>"$runs"
    echo "round $round: $s K=$k: $r (server CPU ${cpu} µs/request, $n requests)"
  done
  if [ "$round" != 1 ]; then
    stop
    continue
  fi
  loaded=$(rss_kb "$pid")
  # The same with the frameworks' own clients: roost's client_proxy and NestJS's ClientNats.
  for client in roost nestjs; do
    for k in 16 256; do
      if [ "$client" = roost ]; then
        r=$(taskset -c "$client_cpu" "$build/bench/nats_client_loadgen" --url "$url" --inflight "$k" \
          --seconds "$secs" --warmup 1 | grep '^{' | tail -1)
      else
        r=$(taskset -c "$client_cpu" bench/nats-nest-loadgen.sh --url "$url" --inflight "$k" \
          --seconds "$secs" --warmup 1 2>/dev/null | grep '^{' | tail -1)
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$client" "$k" "$(field rps "$r")" \
        "$(field p50_us "$r")" "$(field p99_us "$r")" >>"$out/nats-clients.tsv"
      echo "$s K=$k ($client client): $r"
    done
  done
  stop
  printf '%s\t%s\t%s\t%s\n' "$s" "$startup_ms" "$idle" "$loaded" >>"$out/nats-extra.tsv"
done
done
printf 'server\tK\trps\tp50_us\tp99_us\tp999_us\tcpu_us_per_req\n' >"$out/nats.tsv"
median_rows "$runs" 4 8 "" "${servers[@]}" >>"$out/nats.tsv"

echo
column -t "$out/nats.tsv"
echo
column -t "$out/nats-clients.tsv"
echo
column -t "$out/nats-extra.tsv"
r=$(awk -F'\t' '$1=="roost" && $2==256 {print $3}' "$out/nats.tsv")
n=$(awk -F'\t' '$1=="nestjs" && $2==256 {print $3}' "$out/nats.tsv")
awk -v r="$r" -v n="$n" 'BEGIN { printf "\nK=256: roost/NestJS throughput = %.1fx\n", r / n }'
