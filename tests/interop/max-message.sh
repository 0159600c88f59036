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
# shellcheck source=peers.sh
. "$here/peers.sh"
one_check_script max-message "$@"
limit=1048576
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
