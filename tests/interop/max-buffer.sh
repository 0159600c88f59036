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
# shellcheck source=peers.sh
. "$here/peers.sh"
one_check_script max-buffer "$@"
limit=1048576
server_log() {
  case "$1" in
    roost) echo 'The packet length \([0-9]+\) exceeds the maximum allowed length' ;;
    *) echo 'The invalid received message from tcp server' ;;
  esac
}
passed=0 failed=0
for d in "roost roost" "nest12 roost" "roost nest12" "nest12 nest12" "nest11 roost" "roost nest11"; do
  set -- $d
  if over_limit_direction "$1" "$2" "maxBufferSize=$limit" 'Connection closed' "$(server_log "$2")"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "maxBufferSize: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
