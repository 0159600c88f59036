#!/usr/bin/env bash
# Runs the real `roost` binary against a real server (roost_peer or the NestJS peer) and checks
# its output and exit codes.   cli_test.sh ROOST_BINARY SERVER_COMMAND...
set -uo pipefail
roost=$1; shift
log=$(mktemp)
"$@" serve --url tcp://127.0.0.1:0 >"$log" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 400); do
  port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$log" 2>/dev/null)
  [ -n "$port" ] && break
  sleep 0.025
done
[ -n "${port:-}" ] || { echo "server did not start"; exit 1; }
url=tcp://127.0.0.1:$port
passed=0 failed=0
check() {  # name, expected exit code, expected stdout, command...
  local name=$1 want_rc=$2 want_out=$3; shift 3
  local out rc
  out=$("$@" 2>/tmp/cli_err.$$); rc=$?
  if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $rc (want $want_rc), stdout [$out] (want [$want_out]), stderr [$(cat /tmp/cli_err.$$)]"
  fi
}
check "call sum" 0 6 "$roost" call "$url" sum '[1,2,3]'
check "call object pattern" 0 9 "$roost" call "$url" '{"role":"math","cmd":"sum"}' '[4,5]'
check "call echo from stdin" 0 '{"a":[1,"é"]}' bash -c "echo '{\"a\":[1,\"é\"]}' | '$roost' call '$url' echo"
printf '[10,20]' >/tmp/cli_data.$$
check "call echo from @file" 0 30 "$roost" call "$url" sum "@/tmp/cli_data.$$"
check "stream" 0 "$(printf '0\n1\n2')" "$roost" stream "$url" count 3
check "emit then read" 0 '["x"]' bash -c "'$roost' call '$url' records 0 >/dev/null && '$roost' emit '$url' record '\"x\"' && '$roost' call '$url' records 0"
check "remote error" 1 "" "$roost" call "$url" fail.rpc '"bad"'
check "no handler" 1 "" "$roost" call "$url" nope 1
check "timeout" 3 "" "$roost" call "$url" slow 2000 --timeout 200
check "unreachable" 4 "" "$roost" call tcp://127.0.0.1:1 sum '[1]'
check "bad JSON" 2 "" "$roost" call "$url" sum '[1,'
check "bad URL" 2 "" "$roost" call not-a-url sum '[1]'
check "unknown scheme" 2 "" "$roost" call "gopher://127.0.0.1:$port" sum '[1]'
check "missing arguments" 2 "" "$roost" call
grep -q "error: remote:" /tmp/cli_err.$$ 2>/dev/null || true
rm -f /tmp/cli_err.$$ /tmp/cli_data.$$
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
