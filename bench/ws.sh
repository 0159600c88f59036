#!/usr/bin/env bash
# The WebSocket benchmark: roost vs a NestJS gateway vs a hand-written limit, each serving `sum`
# as a gateway at ws://127.0.0.1:<port>/chat.
#   bench/ws.sh [BUILD_DIR]     (SECONDS_PER_POINT=4, ROUNDS=3, BENCH_OUT=bench/results, KS="16 1000")
# The server under test runs on core 1, the load generator on core 0 (bench/lib.sh). Servers:
# roost is roost_peer serving ws:// (roost::ws, one thread); NestJS is bench/nest/ws-gateway.mjs
# (@SubscribeMessage('sum') on @nestjs/platform-ws 12); the limit is bench/ws_loadgen --limit
# (Boost.Beast, one thread: each message parsed as JSON and `sum` answered, nothing else). The
# load is bench/ws_loadgen: K sockets, each with one message `{"event":"sum","data":[1,2,3]}` in
# flight, as K browsers; every answer checked (6), any error, wrong answer, failed connection
# or unanswered message fails the script. ROUNDS rounds; in each, the servers take turns.
# Writes $BENCH_OUT/ws-runs.tsv (see bench/lib.sh; K is the number of sockets), ws-extra-runs.tsv
# and ws-meta.tsv.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
source bench/lib.sh
loadgen="$build/bench/ws_loadgen"
peer="$build/tests/interop/roost_peer"
[ -x "$loadgen" ] || { echo "bench-ws: $loadgen is missing (ROOST_WITH_WS=OFF?)"; exit 1; }
[ -x "$peer" ] || { echo "bench-ws: $peer is missing"; exit 1; }
bash bench/nest/install.sh || { echo "bench-ws: cannot install the NestJS side (bench/nest)"; exit 1; }
ks=${KS:-16 1000}
# Two descriptors per socket on this machine (the load generator's and the server's).
ulimit -n "$(ulimit -Hn)" 2>/dev/null
trap stop_server EXIT

servers=(roost nestjs limit)
runs="$out/ws-runs.tsv"
extra="$out/ws-extra-runs.tsv"
write_meta "$out/ws-meta.tsv" "$build"
printf 'nestjs_platform_ws\t%s\n' "$(sed -n 's/.*"version": "\(.*\)".*/\1/p' bench/nest/node_modules/@nestjs/platform-ws/package.json | head -1)" >>"$out/ws-meta.tsv"
printf 'ws\t%s\n' "$(sed -n 's/.*"version": "\(.*\)".*/\1/p' bench/nest/node_modules/ws/package.json | head -1)" >>"$out/ws-meta.tsv"
runs_header "$runs"
extra_header "$extra"
for round in $(seq 1 "$rounds"); do
  for s in "${servers[@]}"; do
    declare -A cmd=(
      [roost]="$peer serve --url ws://127.0.0.1:0/chat"
      [nestjs]="bench/nest/node.sh ws-gateway.mjs --url ws://127.0.0.1:0/chat"
      [limit]="$loadgen --limit"
    )
    # shellcheck disable=SC2086 # the command is words
    start_server "$s" ${cmd[$s]}
    sleep 0.5
    idle=$(rss_kb "$pid")
    load_points "$runs" "$round" "$s" loadgen "$ks" "$loadgen" --url "ws://127.0.0.1:$port/chat"
    loaded=$(rss_kb "$pid")
    stop_server
    extra_row "$extra" "$round" "$s" "$idle" "$loaded"
  done
done
end_meta "$out/ws-meta.tsv"
echo "bench-ws: done: $runs, $extra"
