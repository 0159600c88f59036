#!/usr/bin/env bash
# TCP's maxBufferSize, in every direction: a server limited to 1 MiB (UTF-16 units, NestJS's
# `maxBufferSize`, roost's `limits.max_buffer_size`) receives the 2 Mi-unit request of the
# `echo.huge` scenario. The server must close that connection and log it (roost: "The packet
# length (N) exceeds the maximum allowed length"; NestJS wraps that error into a generic "The
# invalid received message from tcp server"); the client's call must fail promptly with
# `Connection closed` (never hang); the server must keep serving (a `sum` call afterwards passes).
#   max-buffer.sh --build DIR
# Prints PASS/FAIL per direction; exits 1 if any failed. docs/wire-protocol.md §7.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    *) echo "max-buffer: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$build" ] || { echo "max-buffer: --build is missing"; exit 2; }
# shellcheck source=peers.sh
. "$here/peers.sh"
limit=1048576
server_log() {
  case "$1" in
    roost) echo 'The packet length \([0-9]+\) exceeds the maximum allowed length' ;;
    *) echo 'The invalid received message from tcp server' ;;
  esac
}
work=$(mktemp -d)
srv_pid=""
trap '[ -n "$srv_pid" ] && kill -9 "$srv_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0
for d in "roost roost" "nest12 roost" "roost nest12" "nest12 nest12" "nest11 roost" "roost nest11"; do
  set -- $d
  client=$1 server=$2 name="$1 -> $2"
  if ! start_peer_server "$(peer_cmd "$server")" "tcp://127.0.0.1:0?maxBufferSize=$limit" "$work/srv"; then
    failed=$((failed + 1)); echo "FAIL $name: the server did not start (its output is above)"
    kill -9 "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=""
    continue
  fi
  url="tcp://127.0.0.1:$port"
  t0=$(date +%s)
  timeout 30 "$(peer_cmd "$client")" call --url "$url" --scenario echo.huge >"$work/cli.out" 2>"$work/cli.err"
  rc=$? took=$(($(date +%s) - t0))
  timeout 30 "$(peer_cmd "$client")" call --url "$url" --scenario sum >"$work/after.out" 2>&1
  after=$?
  sleep 0.2  # the server's log line
  why=""
  if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then why="the over-limit call did not fail (exit $rc)"
  elif ! grep -q 'Connection closed' "$work/cli.out"; then why="the call failed, but not with Connection closed: $(cat "$work/cli.out")"
  elif [ $took -gt 20 ]; then why="the failure took ${took}s"
  elif ! grep -Eq "$(server_log "$server")" "$work/srv.err"; then why="the server did not log the closed connection"
  elif [ $after -ne 0 ]; then why="the server did not serve the next call: $(cat "$work/after.out")"
  fi
  if [ -z "$why" ]; then
    passed=$((passed + 1)); echo "PASS $name: Connection closed after ${took}s; the server logged the limit and kept serving"
  else
    failed=$((failed + 1)); echo "FAIL $name: $why"; sed 's/^/    /' "$work/srv.err" | tail -3
  fi
  kill -TERM "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=""
done
echo "maxBufferSize: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
