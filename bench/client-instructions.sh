#!/usr/bin/env bash
# Instructions per call of roost's client (client_proxy, bench/client_loadgen) against the lean
# load generators (bench/loadgen, redis_loadgen, nats_loadgen), counted by callgrind: the steady
# figure on a shared machine.
#   bench/client-instructions.sh BUILD_DIR [OLD_BUILD_DIR]
#     (KS="16 256", SECONDS_PER_POINT=5, TRANSPORTS="tcp redis nats", GENERATORS="lean client",
#      BENCH_OUT=bench/results; CLIENT_ARGS="--trace 1" is given to client_loadgen: every call
#      traced, what a client span costs)
# For each transport, BUILD_DIR's roost_peer serves natively (redis and nats through the brokers
# of scripts/brokers.sh, whose URLs it reads from ROOST_REDIS_URL and ROOST_NATS_URL) while a load
# generator runs under callgrind with K calls in flight for SECONDS_PER_POINT (no warm-up, every
# reply checked), and once idle (--inflight 0: start, connect, stop). Every generator stops
# issuing at the end and waits for the K calls still in flight, so the calls made are the
# requests it reports plus K: (total - idle) / (requests + K).
# Writes $BENCH_OUT/client-instructions.tsv:
#   generator build transport K calls total_ir idle_ir ir_per_call
set -uo pipefail
cd "$(dirname "$0")/.."
builds=("$@")
[ ${#builds[@]} -ge 1 ] || { echo "usage: bench/client-instructions.sh BUILD_DIR [OLD_BUILD_DIR]"; exit 2; }
ks=${KS:-16 256}
secs=${SECONDS_PER_POINT:-5}
transports=${TRANSPORTS:-tcp redis nats}
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "client-instructions: valgrind is not installed"; exit 1; }
[ -n "${ROOST_REDIS_URL:-}" ] && [ -n "${ROOST_NATS_URL:-}" ] ||
  { echo "client-instructions: start the brokers and export their URLs (scripts/brokers.sh)"; exit 1; }
redis_port=$(sed -E 's|.*:([0-9]+).*|\1|' <<<"$ROOST_REDIS_URL")
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill -TERM "$server" 2>/dev/null; rm -rf "$work"' EXIT

# start_server BUILD TRANSPORT: starts roost_peer, sets $server and $url (the generators' URL)
start_server() {
  local b=$1 t=$2 surl log="$work/server.log" port
  case $t in
    tcp) surl=tcp://127.0.0.1:0 ;;
    redis) surl=$ROOST_REDIS_URL ;;
    nats) surl=$ROOST_NATS_URL ;;
  esac
  rm -f "$log"
  "$b/tests/interop/roost_peer" serve --url "$surl" >"$log" 2>/dev/null &
  server=$!
  for _ in $(seq 1 100); do grep -q '^READY' "$log" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$log")
  [ -n "$port" ] || { echo "client-instructions: $b's roost_peer did not start ($t)" >&2; exit 1; }
  case $t in
    tcp) url=tcp://127.0.0.1:$port ;;
    *) url=$surl ;;
  esac
  sleep 1  # subscriptions taken
}

# measure GENERATOR(lean|client) BUILD TRANSPORT K INFLIGHT SECONDS: prints "total_ir requests"
measure() {
  local g=$1 b=$2 t=$3 k=$4 s=$5 f="$work/cg.out" rc cmd
  if [ "$g" = client ]; then
    # shellcheck disable=SC2206 # CLIENT_ARGS is a list of arguments ("--trace 1")
    cmd=("$b/bench/client_loadgen" --url "$url" ${CLIENT_ARGS:-})
  else
    case $t in
      tcp) cmd=("$b/bench/loadgen" --port "${url##*:}") ;;
      redis) cmd=("$b/bench/redis_loadgen" --port "$redis_port") ;;
      nats) cmd=("$b/bench/nats_loadgen" --url "$ROOST_NATS_URL") ;;
    esac
  fi
  rm -f "$f"
  valgrind --tool=callgrind --callgrind-out-file="$f" "${cmd[@]}" --inflight "$k" \
    --seconds "$s" --warmup 0 >"$work/lg" 2>"$work/lg.err"
  rc=$?
  # The lean generators count a run that served nothing as failed: the idle run must only have
  # printed its (empty) result.
  [ "$k" = 0 ] && grep -q '"requests":0' "$work/lg" && rc=0
  [ $rc -eq 0 ] || {
    echo "client-instructions: ${cmd[0]} --inflight $k failed (exit $rc): $(cat "$work/lg")" \
      "$(grep -v '^==' "$work/lg.err" | tail -3)" >&2
    return 1
  }
  printf '%s %s\n' "$(sed -n 's/^summary: *//p' "$f")" \
    "$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$work/lg")"
}

tsv="$out/client-instructions.tsv"
printf 'generator\tbuild\ttransport\tK\tcalls\ttotal_ir\tidle_ir\tir_per_call\n' >"$tsv"
for t in $transports; do
  start_server "${builds[0]}" "$t"
  for g in ${GENERATORS:-lean client}; do
    for b in "${builds[@]}"; do
      [ "$g" = lean ] && [ "$b" != "${builds[0]}" ] && continue  # one lean figure is enough
      read -r idle _ < <(measure "$g" "$b" "$t" 0 0) || exit 1
      for k in $ks; do
        read -r total requests < <(measure "$g" "$b" "$t" "$k" "$secs") || exit 1
        calls=$((requests + k))
        per=$(((total - idle) / calls))
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$g" "$b" "$t" "$k" "$calls" "$total" "$idle" \
          "$per" >>"$tsv"
        printf '%-6s %-24s %-6s K=%-4s %8s calls, %s instructions per call\n' "$g" "$b" "$t" "$k" \
          "$calls" "$per"
      done
    done
  done
  kill -TERM "$server"
  wait "$server" 2>/dev/null
  server=
done
