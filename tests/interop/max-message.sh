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
  set -- "$client" roost
  if over_limit_direction "$1" "$2" "maxMessageSize=$limit" 'Message too large' 'refused: Message too large'; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "maxMessageSize: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
