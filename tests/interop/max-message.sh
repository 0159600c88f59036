#!/usr/bin/env bash
# roost's serving limit on message size (roost::limits::max_message_size, `maxMessageSize`, in
# bytes; docs/security.md "Limits") as NestJS clients see it: a roost TCP server limited to
# 1 MiB receives the 3 MiB request of the `echo.huge` scenario, which is within its
# maxBufferSize. The client's call must fail promptly with the error reply "Message too large"
# (NestJS's error shape, so a NestJS client's call rejects with it), the server must log it, and
# it must keep serving, on a new connection (`sum` afterwards). The NestJS servers have no such
# limit, so only roost serves here.
#   max-message.sh --build DIR
# Prints PASS/FAIL per direction; exits 1 if any failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    *) echo "max-message: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$build" ] || { echo "max-message: --build is missing"; exit 2; }
# shellcheck source=peers.sh
. "$here/peers.sh"
limit=1048576
work=$(mktemp -d)
srv_pid=""
trap '[ -n "$srv_pid" ] && kill -9 "$srv_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0
for client in roost nest12 nest11; do
  name="$client -> roost"
  if ! start_peer_server "$(peer_cmd roost)" "tcp://127.0.0.1:0?maxMessageSize=$limit" "$work/srv"; then
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
  elif ! grep -q 'Message too large' "$work/cli.out"; then why="the call failed, but not with Message too large: $(cat "$work/cli.out")"
  elif [ $took -gt 20 ]; then why="the failure took ${took}s"
  elif ! grep -q 'refused: Message too large' "$work/srv.err"; then why="the server did not log the refusal"
  elif [ $after -ne 0 ]; then why="the server did not serve the next call: $(cat "$work/after.out")"
  fi
  if [ -z "$why" ]; then
    passed=$((passed + 1)); echo "PASS $name: Message too large after ${took}s; the server logged it and kept serving"
  else
    failed=$((failed + 1)); echo "FAIL $name: $why"; sed 's/^/    /' "$work/srv.err" | tail -3
  fi
  kill -TERM "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=""
done
echo "maxMessageSize: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
