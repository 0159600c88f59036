#!/usr/bin/env bash
# roost vs NestJS over one redis-server, and the broker's own PUBLISH ceiling, in one run.
#   bench/redis.sh [BUILD_DIR]     (SECONDS_PER_POINT=5 by default; bench/run.sh calls it)
# Starts its own redis-server on a free loopback port (not the test brokers), runs the
# conformance service of each side on it (server on CPU 1, load generator on CPU 0) with
# bench/redis_loadgen keeping K requests in flight, then measures `redis-benchmark` PUBLISH.
# Writes bench/results/redis.tsv (medians) and redis-runs.tsv (every run), and prints the table
# docs/benchmarks.md quotes.
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
build=${1:-build}
secs=${SECONDS_PER_POINT:-5}
out=bench/results
mkdir -p "$out"
loadgen="$build/bench/redis_loadgen"
[ -x "$loadgen" ] || { echo "bench: $loadgen is missing (ROOST_WITH_REDIS=OFF?)"; exit 1; }
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
  { echo "bench: redis-server and redis-benchmark are needed (redis-server, redis-tools)"; exit 1; }
bash scripts/install-interop.sh >/dev/null || { echo "bench: cannot install the NestJS peer"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=16390
while port_open "$port"; do port=$((port + 1)); done
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  --daemonize yes --pidfile "$dir/pid" --logfile "$dir/log" || { echo "bench: redis-server failed"; exit 1; }
for _ in $(seq 1 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
broker_pid=$(cat "$dir/pid")
cleanup() { kill -TERM "$broker_pid" 2>/dev/null; sleep 0.2; rm -rf "$dir"; }
trap cleanup EXIT
url="redis://127.0.0.1:$port"

declare -A cmd=(
  [roost]="$build/tests/interop/roost_peer serve --url $url"
  [nestjs]="tests/interop/nest/node.sh serve --url $url"
)
server_cpu=1 client_cpu=0
[ "$(nproc)" -ge 2 ] || { server_cpu=0; client_cpu=0; }
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\\1/" <<<"$2"; }

# ROUNDS alternating runs of each server (default 3): the table keeps each point's median, so
# that load from elsewhere on the machine weighs on both sides alike.
rounds=${ROUNDS:-3}
raw="$out/redis-runs.tsv"
printf 'round\tserver\tK\trps\tp50_us\tp99_us\tp999_us\tserver_cpu_us\tbroker_cpu_us\n' >"$raw"
# CPU time (user + system, in clock ticks) a process has used so far.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
for round in $(seq 1 "$rounds"); do
for s in roost nestjs; do
  log=$(mktemp)
  taskset -c "$server_cpu" ${cmd[$s]} >"$log" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 600); do grep -q '^READY' "$log" && break; sleep 0.01; done
  grep -q '^READY' "$log" || { echo "bench: $s did not start"; exit 1; }
  rm -f "$log"
  sleep 0.5
  for k in 1 16 256; do
    # CPU used by the server and by the broker while the measured requests run (after the
    # warm-up), per request: a figure that load from elsewhere on the machine hardly moves.
    res=$(mktemp)
    taskset -c "$client_cpu" "$loadgen" --port "$port" --inflight "$k" --seconds "$secs" \
      --warmup 1 >"$res" &
    lg=$!
    sleep 1
    s0=$(ticks "$pid") b0=$(ticks "$broker_pid")
    wait "$lg"
    s1=$(ticks "$pid") b1=$(ticks "$broker_pid")
    r=$(cat "$res"); rm -f "$res"
    per_req() { awk -v t="$1" -v hz="$hz" -v n="$(field requests "$r")" \
      'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }'; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$s" "$k" "$(field rps "$r")" \
      "$(field p50_us "$r")" "$(field p99_us "$r")" "$(field p999_us "$r")" \
      "$(per_req $((s1 - s0)))" "$(per_req $((b1 - b0)))" >>"$raw"
    echo "round $round: $s K=$k: $r, CPU per request: server $(per_req $((s1 - s0))) us, broker $(per_req $((b1 - b0))) us"
  done
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done
done
printf 'server\tK\trps\tp50_us\tp99_us\tp999_us\tserver_cpu_us\tbroker_cpu_us\n' >"$out/redis.tsv"
median_rows "$raw" 4 9 "" roost nestjs >>"$out/redis.tsv"

# The broker's own ceiling: PUBLISH of a request-sized body to a channel, as redis-benchmark
# measures it, without pipelining (256 clients, each waiting for its reply: how our clients
# and servers publish) and with 16 commands pipelined per client (what the broker can absorb).
body='{"pattern":"sum","data":[1,2,3],"id":"123456789012345678901"}'
ceiling() {  # clients pipeline requests
  redis-benchmark -p "$port" -c "$1" -P "$2" -n "$3" --csv PUBLISH bench.ceiling "$body" 2>/dev/null |
    tail -1 | awk -F, '{ print $(NF - 6) }' | tr -d '"' | cut -d. -f1
}
c1=$(ceiling 256 1 400000)
c16=$(ceiling 16 16 2000000)
printf 'broker-publish-P1\t256\t%s\t-\t-\t-\t-\t-\n' "$c1" >>"$out/redis.tsv"
printf 'broker-publish-P16\t256\t%s\t-\t-\t-\t-\t-\n' "$c16" >>"$out/redis.tsv"
echo "redis-benchmark PUBLISH, 256 clients, no pipelining: $c1/s; 16 clients x 16 pipelined: $c16/s"

echo
column -t "$out/redis.tsv"
roost=$(awk -F'\t' '$1=="roost" && $2==256 {print $3}' "$out/redis.tsv")
nest=$(awk -F'\t' '$1=="nestjs" && $2==256 {print $3}' "$out/redis.tsv")
rc=$(awk -F'\t' '$1=="roost" && $2==256 {print $7}' "$out/redis.tsv")
nc=$(awk -F'\t' '$1=="nestjs" && $2==256 {print $7}' "$out/redis.tsv")
awk -v r="$roost" -v n="$nest" -v c="$c16" -v rc="$rc" -v nc="$nc" 'BEGIN {
  printf "\nK=256: roost/NestJS throughput = %.1fx, server CPU per request NestJS/roost = %.1fx;\n", r/n, nc/rc
  printf "roost PUBLISHes 2 per request (request + reply): %.0f/s = %.0f%% of the pipelined PUBLISH ceiling\n", 2*r, 200*r/c }'
