#!/usr/bin/env bash
# `make bench`: roost vs NestJS vs the limit server over TCP, one core each, in one run.
#   bench/run.sh [BUILD_DIR]     (SECONDS_PER_POINT=5 per point, ROUNDS=3 by default)
# Writes bench/results/tcp.tsv, bench/results/tcp.png and prints the table that
# docs/benchmarks.md quotes.
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
build=${1:-build}
secs=${SECONDS_PER_POINT:-5}
out=bench/results
mkdir -p "$out"
bash scripts/install-interop.sh >/dev/null || { echo "bench: cannot install the NestJS peer"; exit 1; }

loadgen="$build/bench/loadgen"
declare -A cmd=(
  [roost]="$build/tests/interop/roost_peer serve --url tcp://127.0.0.1:0"
  [nestjs]="tests/interop/nest/node.sh serve --url tcp://127.0.0.1:0"
  [limit]="$build/bench/limit_server 0"
)
servers=(roost nestjs limit)
server_cpu=1 client_cpu=0
[ "$(nproc)" -ge 2 ] || { server_cpu=0; client_cpu=0; }

pid="" port=""
start() {  # name → sets pid, port, startup_ms
  local log; log=$(mktemp)
  local t0; t0=$(date +%s%N)
  taskset -c "$server_cpu" ${cmd[$1]} >"$log" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 600); do
    port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$log")
    [ -n "$port" ] && break
    sleep 0.01
  done
  startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  rm -f "$log"
  [ -n "$port" ]
}
stop() { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\\1/" <<<"$2"; }

# ROUNDS runs (default 3) of the C++ load generator's points, the servers taking turns, so that
# load from elsewhere on the machine weighs on all of them alike; tcp.tsv keeps each point's
# median (tcp-runs.tsv has every run). The rest is measured in the first round.
rounds=${ROUNDS:-3}
runs="$out/tcp-runs.tsv"
printf 'round\tserver\tK\trps\tp50_us\tp99_us\tp999_us\n' >"$runs"
printf 'server\tclient\tK\trps\tp50_us\tp99_us\tp999_us\n' >"$out/tcp-clients.tsv"
printf 'server\tstartup_ms\trss_idle_kb\trss_1000_conns_kb\ttail_fast_p99_us\n' >"$out/tcp-extra.tsv"
for round in $(seq 1 "$rounds"); do
for s in "${servers[@]}"; do
  start "$s" || { echo "bench: $s did not start"; exit 1; }
  sleep 0.5
  idle=$(rss_kb "$pid")
  for k in 1 16 256; do
    r=$(taskset -c "$client_cpu" "$loadgen" --port "$port" --inflight "$k" --seconds "$secs" --warmup 1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$s" "$k" "$(field rps "$r")" "$(field p50_us "$r")" \
      "$(field p99_us "$r")" "$(field p999_us "$r")" >>"$runs"
    echo "round $round: $s K=$k (C++ load generator): $r"
  done
  if [ "$round" != 1 ]; then
    stop
    continue
  fi
  # The same with a NestJS ClientTCP as the client.
  if [ "$s" != limit ]; then
    for k in 16 256; do
      r=$(taskset -c "$client_cpu" bench/nest-loadgen.sh --port "$port" --inflight "$k" --seconds "$secs" --warmup 1)
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" nestjs "$k" "$(field rps "$r")" "$(field p50_us "$r")" \
        "$(field p99_us "$r")" "$(field p999_us "$r")" >>"$out/tcp-clients.tsv"
      echo "$s K=$k (NestJS client): $r"
    done
  fi
  # 1% of requests wait 5 ms: the p99 of the fast ones shows head-of-line blocking.
  tail_p99="-"
  if [ "$s" != limit ]; then
    r=$(taskset -c "$client_cpu" "$loadgen" --port "$port" --inflight 16 --seconds "$secs" \
      --warmup 1 --slow-every 100 --slow-pattern slow --slow-data 5)
    tail_p99=$(field p99_us "$r")
    echo "$s long tail: $r"
  fi
  taskset -c "$client_cpu" "$loadgen" --port "$port" --idle 1000 --seconds 3 >/dev/null &
  lg=$!
  sleep 2
  conns=$(rss_kb "$pid")
  wait $lg
  stop
  printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$startup_ms" "$idle" "$conns" "$tail_p99" >>"$out/tcp-extra.tsv"
done
done
printf 'server\tclient\tK\trps\tp50_us\tp99_us\tp999_us\n' >"$out/tcp.tsv"
median_rows "$runs" 4 7 loadgen "${servers[@]}" >>"$out/tcp.tsv"
tail -n +2 "$out/tcp-clients.tsv" >>"$out/tcp.tsv"

echo
column -t "$out/tcp.tsv"
echo
column -t "$out/tcp-extra.tsv"
tcp_point() { awk -F'\t' -v s="$1" -v k="$2" -v c="$3" '$1==s && $2=="loadgen" && $3==k { print $c }' "$out/tcp.tsv"; }
awk -v r="$(tcp_point roost 256 4)" -v n="$(tcp_point nestjs 256 4)" -v l="$(tcp_point limit 256 4)" \
  -v rp="$(tcp_point roost 16 6)" -v np="$(tcp_point nestjs 16 6)" 'BEGIN {
  printf "\nK=256: roost/NestJS throughput = %.1fx, roost/limit = %.0f%%; K=16 p99: roost/NestJS = 1/%.1f\n",
    r / n, 100 * r / l, np / rp }'

if command -v gnuplot >/dev/null; then
  gnuplot <<PLOT
set terminal pngcairo size 1000,420
set output "$out/tcp.png"
set multiplot layout 1,2 title "TCP, one server core (in flight K on the x axis)"
set logscale x 2
set xrange [0.7:400]
set xtics ("1" 1, "16" 16, "256" 256)
set key left top
set title "throughput (requests/s)"
plot for [s in "roost nestjs limit"] "< awk -F'\\t' '\$1==\"".s."\" && \$2==\"loadgen\"' $out/tcp.tsv" using 3:4 with linespoints title s
set title "p99 latency (µs)"
set logscale y 10
plot for [s in "roost nestjs limit"] "< awk -F'\\t' '\$1==\"".s."\" && \$2==\"loadgen\"' $out/tcp.tsv" using 3:6 with linespoints title s
unset multiplot
PLOT
  echo "chart: $out/tcp.png"
fi

# NATS: roost vs NestJS behind one nats-server (bench/run-nats.sh), when this build has it.
if [ -x "$build/bench/nats_loadgen" ] && command -v nats-server >/dev/null; then
  echo
  bash bench/run-nats.sh "$build"
fi
# Redis: roost vs NestJS over one redis-server, and the broker's PUBLISH ceiling.
if [ -x "$build/bench/redis_loadgen" ]; then
  echo
  bash bench/redis.sh "$build"
fi
