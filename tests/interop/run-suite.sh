#!/usr/bin/env bash
# Runs every scenario of SCENARIOS.md with one client peer against one server peer.
#   run-suite.sh --server roost|nest12|nest11 --client roost|nest12|nest11 --build DIR
#                [--transport tcp|tls|redis|...] [--url BROKER_URL] [--out results.tsv] [--only "s1 s2"]
# TCP servers listen on a free port of 127.0.0.1; a broker transport's peers both use --url.
# `tls` is TCP over mutual TLS, with a CA and a certificate made here for the run.
# What goes on the wire in each scenario: docs/wire-protocol.md (per transport).
# Prints PASS/FAIL per scenario and "N passed, N failed"; exits 1 if any failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
server="" client="" build="" transport=tcp url="" out="" only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server=$2; shift 2 ;;
    --client) client=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --transport) transport=$2; shift 2 ;;
    --url) url=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "run-suite: unknown argument $1" >&2; exit 2 ;;
  esac
done

peer() {
  case "$1" in
    roost) echo "$build/tests/interop/roost_peer" ;;
    nest12) echo "$here/nest/node.sh" ;;
    nest11) echo "$here/nest11/node.sh" ;;
    *) echo "run-suite: unknown peer $1" >&2; exit 2 ;;
  esac
}
server_cmd=$(peer "$server")
client_cmd=$(peer "$client")
for c in "$server_cmd" "$client_cmd"; do
  [ -x "$c" ] || { echo "run-suite: $c is missing (build it, or run scripts/install-interop.sh)"; exit 1; }
done

all_scenarios="sum echo.strings echo.nested echo.large echo.huge echo.falsy echo.null
object-pattern object-pattern.mixed-keys object-pattern.non-ascii object-pattern.case
object-pattern.nested numeric-pattern stream.0 stream.1 stream.1000 stream.then-wait
stream.then-fail stream.interleaved void error.rpc error.object error.internal error.thrown
error.rpc-values no-handler events events.multi concurrent timeout ctx headers reconnect
server-close-mid-stream"
# Scenarios that mean nothing on a transport (SCENARIOS.md says why); both peers agree. A broker
# transport cannot see a server die (the broker stays up); on Redis no server subscribes to a
# route without a handler, so there is no "no handler" reply. `headers` needs NATS headers or
# NestJS 12's packet metadata: NestJS 11 has none on TCP and Redis.
# TLS changes the bytes under the frames, not the packets: it runs the scenarios that stress the
# connection (sizes, streams, concurrency, restarts), not every pattern and error form again.
[ "$transport" = tls ] && all_scenarios="sum echo.strings echo.large echo.huge object-pattern
stream.1000 stream.then-wait error.rpc no-handler events concurrent timeout ctx headers reconnect
server-close-mid-stream"
case "$transport" in
  nats) excluded="server-close-mid-stream" ;;
  redis | rediss) excluded="no-handler server-close-mid-stream" ;;
  *) excluded="" ;;
esac
if [ "$transport" != nats ] && { [ "$server" = nest11 ] || [ "$client" = nest11 ]; }; then
  excluded="$excluded headers"
fi
for x in $excluded; do all_scenarios=$(echo " $all_scenarios " | tr '\n' ' ' | sed "s/ $x / /"); done
scenarios=${only:-$all_scenarios}

work=$(mktemp -d)
srv_pid=""
port=0
cleanup() {
  [ -n "$srv_pid" ] && kill -9 "$srv_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

case "$transport" in
  tcp | tls) ;;
  *) [ -n "$url" ] || { echo "run-suite: --transport $transport needs --url"; exit 2; } ;;
esac
# TLS: a throwaway CA and one certificate it signs (for 127.0.0.1, usable by a server and by a
# client), so both peers verify each other: the server asks for the client's certificate.
if [ "$transport" = tls ]; then
  bash "$here/make-certs.sh" "$work" >"$work/certs.log" 2>&1 ||
    { echo "run-suite: making the TLS certificates failed:"; cat "$work/certs.log"; exit 1; }
  tls_query="ca=$work/ca.crt&cert=$work/peer.crt&key=$work/peer.key"
fi
# The URL both peers use: the server's port for TCP, the broker's URL otherwise.
peer_url() {  # $1: port
  case "$transport" in
    tcp) echo "tcp://127.0.0.1:$1" ;;
    tls) echo "tls://127.0.0.1:$1?$tls_query" ;;
    *) echo "$url" ;;
  esac
}

# Starts the server on port $1 (TCP; 0: any port); sets srv_pid and port.
start_server() {
  local want=$1 log="$work/server.$RANDOM.log"
  "$server_cmd" serve --url "$(peer_url "$want")" >"$log" 2>"$log.err" &
  srv_pid=$!
  for _ in $(seq 1 400); do
    port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$log" 2>/dev/null)
    [ -n "$port" ] && return 0
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.025
  done
  echo "run-suite: $server server did not start:"; cat "$log" "$log.err"
  return 1
}
stop_server() {  # $1: signal
  [ -z "$srv_pid" ] && return
  kill "-$1" "$srv_pid" 2>/dev/null
  wait "$srv_pid" 2>/dev/null
  srv_pid=""
}

start_server 0 || exit 1
passed=0 failed=0
[ -n "$out" ] && : >"$out"
for s in $scenarios; do
  result=""
  t0=$(date +%s%N)
  # --server-impl: the `ctx` scenario checks that the server it reaches is the one started here.
  coproc CLIENT { exec timeout 90 "$client_cmd" call --url "$(peer_url "$port")" --scenario "$s" \
    --server-impl "$server" 2>"$work/client.err"; }
  client_pid=$CLIENT_PID
  # Keep our own copies: bash unsets CLIENT once the client exits, which a fast one does.
  exec {cout}<&"${CLIENT[0]}" {cin}>&"${CLIENT[1]}"
  while IFS= read -r line <&"$cout"; do
    case "$line" in
      "WAIT restart")
        stop_server TERM
        start_server "$port" || break
        echo go >&"$cin" ;;
      "WAIT kill")
        stop_server KILL ;;
      PASS*|FAIL*) result=$line ;;
    esac
  done
  wait "$client_pid" 2>/dev/null
  rc=$?
  exec {cout}<&- {cin}>&-
  [ -z "$srv_pid" ] && { start_server "$port" || start_server 0 || exit 1; }
  if [ $rc -eq 0 ] && [ "${result%% *}" = PASS ]; then
    passed=$((passed + 1)); echo "PASS $s"; status=PASS
  else
    failed=$((failed + 1)); status=FAIL
    echo "FAIL $s (exit $rc): ${result#FAIL }"; sed 's/^/    /' "$work/client.err" | tail -5
  fi
  # The sixth column is the scenario's wall time in seconds (server restarts included).
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ -n "$out" ] && printf '%s\t%s\t%s\t%s\t%s\t%d.%03d\n' "$transport" "$client" "$server" "$s" \
    "$status" $((ms / 1000)) $((ms % 1000)) >>"$out"
done
echo "$client -> $server over $transport: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
