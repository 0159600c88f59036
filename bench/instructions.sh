#!/usr/bin/env bash
# Instructions per request of roost's servers, counted by callgrind: the steady figure on a
# shared machine, where requests/s and even CPU time swing with what else runs.
#   bench/instructions.sh BUILD_DIR [OLD_BUILD_DIR]   (K=256, SECONDS_PER_POINT=5, BENCH_OUT=bench/results)
# TRANSPORTS="tcp" measures only those; PEER_ARGS="--guards 1" is given to the server (one
# synchronous guard on every request: the cost of an enhancer, docs/enhancers.md).
# For each build and transport (tcp, then redis and nats through the brokers of
# scripts/brokers.sh, whose URLs it reads from ROOST_REDIS_URL and ROOST_NATS_URL), runs
# roost_peer under callgrind while this tree's load generator keeps K requests in flight (every
# reply checked), and once idle (start, READY, stop). Requests are counted as the calls of
# roost::decode_inbound (once per request on every transport); the idle run's instructions
# (start-up and shutdown) are taken off: (total - idle) / requests.
# TRANSPORTS="limit" measures the hand-written TCP server (bench/limit_server.cpp) the same way;
# its request handling is inlined, so its requests are the replies the load generator counted,
# without a warm-up (all of them). TRANSPORTS="mqtt mqtt_limit": roost and the MQTT limit server
# (bench/mqtt_loadgen --limit, counted the same way) through the broker at ROOST_MQTT_URL.
# TRANSPORTS="ws ws_limit": roost serving ws:// (its requests are the calls of the WebSocket
# message decoder) and the WebSocket limit server (bench/ws_loadgen --limit), K sockets.
# Writes $BENCH_OUT/instructions.tsv: build transport K requests total_ir idle_ir ir_per_request
set -uo pipefail
cd "$(dirname "$0")/.."
builds=("$@")
[ ${#builds[@]} -ge 1 ] || { echo "usage: bench/instructions.sh BUILD_DIR [OLD_BUILD_DIR]"; exit 2; }
k=${K:-256}
secs=${SECONDS_PER_POINT:-5}
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "bench-instructions: valgrind is not installed"; exit 1; }
transports=${TRANSPORTS:-tcp redis nats}
if [[ " $transports " == *" redis "* || " $transports " == *" nats "* ]]; then
  [ -n "${ROOST_REDIS_URL:-}" ] && [ -n "${ROOST_NATS_URL:-}" ] ||
    { echo "bench-instructions: start the brokers and export their URLs (scripts/brokers.sh)"; exit 1; }
fi
redis_port=$(sed -E 's|.*:([0-9]+).*|\1|' <<<"${ROOST_REDIS_URL:-}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# total Ir and calls of decode_inbound in a callgrind file (names are compressed: "(n) name"
# the first time, "(n)" after).
count() {  # FILE [FUNCTION counted, decode_inbound by default]
  awk -v counted="${2:-decode_inbound}" '
    function name(s,   id) { if (match(s, /^\([0-9]+\)/)) { id = substr(s, 2, RLENGTH - 2)
        if (length(s) > RLENGTH) names[id] = substr(s, RLENGTH + 2); return names[id] } return s }
    /^fn=/ { name(substr($0, 4)) }
    /^cfn=/ { callee = name(substr($0, 5)) }
    /^calls=/ { split(substr($0, 7), c, " "); if (index(callee, counted)) calls += c[1] }
    /^(summary|totals):/ { total = $2 }
    END { printf "%d %d\n", total, calls }' "$1"
}

# run BUILD TRANSPORT MODE(load|idle): prints "total calls"
run() {
  local b=$1 t=$2 mode=$3 url log="$work/log" f="$work/cg.out" pid port server
  case $t in
    tcp | limit) url=tcp://127.0.0.1:0 ;;
    redis) url=$ROOST_REDIS_URL ;;
    nats) url=$ROOST_NATS_URL ;;
    mqtt | mqtt_limit) url=$ROOST_MQTT_URL ;;
    ws | ws_limit) url=ws://127.0.0.1:0/chat ;;
  esac
  rm -f "$f" "$log"
  # shellcheck disable=SC2206 # PEER_ARGS is a list of arguments
  server=("$b/tests/interop/roost_peer" serve --url "$url" ${PEER_ARGS:-})
  [ "$t" = limit ] && server=("$b/bench/limit_server" 0)
  [ "$t" = mqtt_limit ] && server=("$b/bench/mqtt_loadgen" --limit --url "$url")
  [ "$t" = ws_limit ] && server=("$b/bench/ws_loadgen" --limit)
  valgrind --tool=callgrind --callgrind-out-file="$f" "${server[@]}" >"$log" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 300); do grep -q '^READY' "$log" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$log")
  sleep 1  # subscriptions taken
  local rc=0
  if [ "$mode" = load ]; then
    case $t in
      tcp) build/bench/loadgen --port "$port" --inflight "$k" --seconds "$secs" --warmup 1 ;;
      limit) build/bench/loadgen --port "$port" --inflight "$k" --seconds "$secs" --warmup 0 ;;
      redis) build/bench/redis_loadgen --port "$redis_port" --inflight "$k" --seconds "$secs" --warmup 1 ;;
      nats) build/bench/nats_loadgen --url "$ROOST_NATS_URL" --inflight "$k" --seconds "$secs" --warmup 1 ;;
      mqtt) build/bench/mqtt_loadgen --url "$url" --inflight "$k" --seconds "$secs" --warmup 1 ;;
      mqtt_limit) build/bench/mqtt_loadgen --url "$url" --inflight "$k" --seconds "$secs" --warmup 0 ;;
      ws) build/bench/ws_loadgen --url "ws://127.0.0.1:$port/chat" --inflight "$k" --seconds "$secs" --warmup 1 ;;
      ws_limit) build/bench/ws_loadgen --url "ws://127.0.0.1:$port/chat" --inflight "$k" --seconds "$secs" --warmup 0 ;;
    esac >"$work/lg" 2>&1
    rc=$?
  fi
  kill -TERM "$pid"
  wait "$pid"
  [ $rc -eq 0 ] || { echo "bench-instructions: load generator failed: $(tail -1 "$work/lg")" >&2; return 1; }
  if [[ $t = *limit ]] && [ "$mode" = load ]; then
    local total
    read -r total _ < <(count "$f")
    echo "$total $(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$work/lg")"
  elif [ "$t" = ws ]; then
    count "$f" ws::detail::decode_message
  else
    count "$f"
  fi
}

tsv="$out/instructions.tsv"
printf 'build\ttransport\tK\trequests\ttotal_ir\tidle_ir\tir_per_request\n' >"$tsv"
for t in $transports; do
  for b in "${builds[@]}"; do
    read -r idle _ < <(run "$b" "$t" idle) || exit 1
    read -r total calls < <(run "$b" "$t" load) || exit 1
    [ "${calls:-0}" -gt 0 ] || { echo "bench-instructions: no request counted ($b, $t)"; exit 1; }
    per=$(( (total - idle) / calls ))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$b" "$t" "$k" "$calls" "$total" "$idle" "$per" >>"$tsv"
    printf '%-24s %-6s K=%s: %s requests, %s instructions per request\n' "$b" "$t" "$k" "$calls" "$per"
  done
done
