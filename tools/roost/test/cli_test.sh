#!/usr/bin/env bash
# Runs the real `roost` binary against a real server (roost_peer or the NestJS peer) and checks
# its output and exit codes.   cli_test.sh ROOST_BINARY SERVER_COMMAND...
set -uo pipefail
roost=$1; shift
log=$(mktemp)
"$@" serve --url tcp://127.0.0.1:0 >"$log" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
# The server prints READY <port>; sanitized or a NestJS peer on a busy machine, it can take seconds.
deadline=$((SECONDS + 45))
until port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$log" 2>/dev/null) && [ -n "$port" ]; do
  kill -0 $pid 2>/dev/null && [ $SECONDS -lt $deadline ] ||
    { echo "FAIL the server did not start within 45 s"; exit 1; }
  sleep 0.025
done
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
# --header (repeatable) given before the positional arguments takes one value, not them too.
check "--header before the arguments" 0 6 "$roost" call --header a=b --header c=d "$url" sum '[1,2,3]'
check "bad URL" 2 "" "$roost" call not-a-url sum '[1]'
check "unknown scheme" 2 "" "$roost" call "gopher://127.0.0.1:$port" sum '[1]'
check "missing arguments" 2 "" "$roost" call
# check_json NAME RC 'grep -E pattern'... COMMAND: exit code, and each pattern found in stdout.
check_json() {
  local name=$1 want_rc=$2; shift 2
  local pats=()
  while [ "$1" != "--" ]; do pats+=("$1"); shift; done
  shift
  local out rc ok=1
  out=$("$@" 2>/tmp/cli_err.$$); rc=$?
  [ "$rc" = "$want_rc" ] || ok=0
  for p in "${pats[@]}"; do grep -Eq "$p" <<<"$out" || ok=0; done
  if [ $ok = 1 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $rc (want $want_rc), stdout [$out] (want ${pats[*]}), stderr [$(cat /tmp/cli_err.$$)]"
  fi
}
check_json "bench by count" 0 '"requests":500,' '"errors":0,' '"p99_us":[0-9]+' '"histogram":\[\[' -- \
  "$roost" bench "$url" sum '[1,2,3]' -k 32 -n 500 --json
check_json "bench through the client (headers)" 0 '"requests":200,' '"errors":0,' -- \
  "$roost" bench "$url" sum '[1]' -k 8 -c 2 -n 200 --header a=b --json
check_json "bench by duration" 0 '^requests +[0-9]+ in 0\.[3-9][0-9] s' 'p99' 'histogram' -- \
  "$roost" bench "$url" sum '[1]' -k 4 -d 400ms
check_json "bench errors" 1 '"requests":50,' '"errors":50,' -- "$roost" bench "$url" fail.rpc '"x"' -n 50 --json
check "bench unreachable" 4 "" "$roost" bench tcp://127.0.0.1:1 sum '[1]' -n 10
check "bench bad duration" 2 "" "$roost" bench "$url" sum '[1]' -d soon

# --jwt: sent as metadata `authorization: Bearer <token>` (roost_peer's ctx echoes metadata).
jwt_head=$(printf '{"alg":"HS256","typ":"JWT"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
jwt_body=$(printf '{"sub":"u1","exp":4102444800}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
jwt_old=$(printf '{"sub":"u1","exp":1000}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
jwt="$jwt_head.$jwt_body.c2ln"
if [[ "$*" == *roost_peer* ]]; then
  check_json "jwt as metadata" 0 "\"authorization\":\"Bearer $jwt\"" -- "$roost" call "$url" ctx 0 --jwt "$jwt"
fi
check "jwt not a token" 2 "" "$roost" call "$url" sum '[1]' --jwt not-a-token
check "jwt expired warns, still sent" 0 6 "$roost" call "$url" sum '[1,2,3]' --jwt "$jwt_head.$jwt_old.c2ln"
if grep -q "expired" /tmp/cli_err.$$; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL jwt expiry warning"; fi

# listen: events sent with `roost emit` come out as JSON lines, then --count ends it.
lport=$((20000 + $$ % 20000))
mport=$((lport + 1))  # its side port, opened by the environment variable
ROOST_SIDE_PORT=127.0.0.1:$mport "$roost" listen "tcp://127.0.0.1:$lport" order.created '{"cmd":"audit"}' --count 2 >/tmp/cli_listen.$$ 2>/tmp/cli_listen_err.$$ &
lpid=$!
# "listening" once it serves (a sanitized build on a busy machine takes seconds to start); a
# listener that exits first (its port taken) or never listens fails here, not later in a hang.
deadline=$((SECONDS + 45))
until grep -q listening /tmp/cli_listen_err.$$ 2>/dev/null; do
  if ! kill -0 $lpid 2>/dev/null || [ $SECONDS -ge $deadline ]; then
    echo "FAIL listen did not start: stderr [$(cat /tmp/cli_listen_err.$$)]"; kill -9 $lpid 2>/dev/null
    exit 1
  fi
  sleep 0.05
done
check "health: ready" 0 ready "$roost" health "http://127.0.0.1:$mport"
check "health --live" 0 alive "$roost" health "127.0.0.1:$mport/" --live
check "health: bad URL" 2 "" "$roost" health "ftp://127.0.0.1:$mport"
"$roost" emit "tcp://127.0.0.1:$lport" order.created '{"id":7}'
# The event is counted once its handler returned: poll for it.
for _ in $(seq 1 200); do
  "$roost" metrics "http://127.0.0.1:$mport" 2>/dev/null | grep -q 'pattern="order.created",kind="event",outcome="ok"} 1' && break
  sleep 0.025
done
check_json "metrics" 0 '^# TYPE roost_server_messages_total counter$' \
  '^roost_server_messages_total\{transport="tcp",pattern="order.created",kind="event",outcome="ok"\} 1$' \
  '^roost_service_ready 1$' -- "$roost" metrics "http://127.0.0.1:$mport"
"$roost" emit "tcp://127.0.0.1:$lport" '{"cmd":"audit"}' '"é"'
# --count 2 ends it; one that does not end within 30 s is killed and fails below.
deadline=$((SECONDS + 30))
while kill -0 $lpid 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
kill -9 $lpid 2>/dev/null
wait $lpid; lrc=$?
want_listen=$(printf '%s\n%s' '{"pattern":"order.created","data":{"id":7}}' '{"pattern":{"cmd":"audit"},"data":"é"}')
if [ "$lrc" = 0 ] && [ "$(cat /tmp/cli_listen.$$)" = "$want_listen" ]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL listen: exit $lrc, stdout [$(cat /tmp/cli_listen.$$)], stderr [$(cat /tmp/cli_listen_err.$$)]"
fi
rm -f /tmp/cli_listen.$$ /tmp/cli_listen_err.$$
check "health: nothing listening" 4 "" "$roost" health "http://127.0.0.1:$mport" --timeout 2000
rm -f /tmp/cli_err.$$ /tmp/cli_data.$$
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
