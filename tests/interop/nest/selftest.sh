#!/usr/bin/env bash
# Runs every scenario of tests/interop/SCENARIOS.md with one peer as the server and one as the client
# (default: the NestJS 12 peer both ways, the reference direction), and plays the harness's part:
# on "WAIT restart" it restarts the server on the same port (SIGTERM, which must exit 0, then a new
# server) and then writes one line to the client's stdin; on "WAIT kill" it kill -9s the server and
# writes nothing.
#
#   tests/interop/nest/selftest.sh [SERVER_PEER [CLIENT_PEER]] [-- SCENARIO...]
#     SERVER_PEER, CLIENT_PEER: commands taking `serve --url ...` / `call --url ... --scenario ...`,
#       default tests/interop/nest/node.sh (NestJS 12); e.g. tests/interop/nest11/node.sh for NestJS 11.
#
# Prints one line per scenario, the server start-up times, the wall time, and "N passed, N failed";
# exits 1 if any scenario failed. Logs (servers' and clients' stderr) go to $SELFTEST_LOGS or a temp dir.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

server_peer=$here/node.sh
client_peer=$here/node.sh
[ $# -gt 0 ] && [ "$1" != "--" ] && { server_peer=$1; shift; }
[ $# -gt 0 ] && [ "$1" != "--" ] && { client_peer=$1; shift; }
[ $# -gt 0 ] && [ "$1" = "--" ] && shift

all_scenarios=(sum echo.strings echo.nested echo.large echo.falsy echo.null object-pattern
  object-pattern.mixed-keys stream.0 stream.1 stream.1000 error.rpc error.object error.internal
  no-handler events concurrent timeout ctx reconnect server-close-mid-stream)
if [ $# -gt 0 ]; then scenarios=("$@"); else scenarios=("${all_scenarios[@]}"); fi

HOST=127.0.0.1
SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-90}   # seconds, per scenario, as seen from here
READY_TIMEOUT=${READY_TIMEOUT:-30}         # seconds for a server to print READY

logs=${SELFTEST_LOGS:-$(mktemp -d /tmp/roost-selftest.XXXXXX)}   # a temp dir is removed when all pass
mkdir -p "$logs"
trap '' PIPE   # a client that already exited must not kill us when we write to its stdin

now_ms() { echo $(($(date +%s%N) / 1000000)); }

srv_pid=""
srv_port=0
srv_n=0
ready_times=()

# start_server PORT: starts the server peer, waits for "READY <port>", sets srv_pid and srv_port.
start_server() {
  local want=$1 t0 out line
  srv_n=$((srv_n + 1))
  out="$logs/server.$srv_n.out"
  : >"$out"
  t0=$(now_ms)
  "$server_peer" serve --url "tcp://$HOST:$want" >"$out" 2>"$logs/server.$srv_n.err" &
  srv_pid=$!
  local deadline=$((t0 + READY_TIMEOUT * 1000))
  while :; do
    line=$(head -n1 "$out")
    if [[ $line == READY\ * ]]; then break; fi
    if ! kill -0 "$srv_pid" 2>/dev/null || [ "$(now_ms)" -gt "$deadline" ]; then
      echo "selftest: server #$srv_n did not print READY (stdout: '$line'); stderr:" >&2
      sed 's/^/  /' "$logs/server.$srv_n.err" >&2
      kill -9 "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null
      srv_pid=""
      return 1
    fi
    sleep 0.01
  done
  srv_port=${line#READY }
  local took=$(($(now_ms) - t0))
  ready_times+=("$took")
  echo "  server #$srv_n: READY $srv_port after ${took} ms"
}

# stop_server: SIGTERM, and checks the exit status is 0.
stop_server() {
  [ -n "$srv_pid" ] || return 0
  kill -TERM "$srv_pid" 2>/dev/null
  wait "$srv_pid"
  local rc=$?
  srv_pid=""
  if [ $rc -ne 0 ]; then echo "selftest: server exited $rc on SIGTERM (expected 0)" >&2; return 1; fi
}

kill_server() {
  [ -n "$srv_pid" ] || return 0
  kill -9 "$srv_pid" 2>/dev/null
  wait "$srv_pid" 2>/dev/null
  srv_pid=""
}

passed=0
failed=0
failures=()

# run_scenario NAME: runs the client with its stdin/stdout on FIFOs so it can be answered.
run_scenario() {
  local name=$1 t0 cin cout line result="" rc
  local fin="$logs/$name.stdin" fout="$logs/$name.stdout"
  rm -f "$fin" "$fout"; mkfifo "$fin" "$fout"
  t0=$(now_ms)
  "$client_peer" call --url "tcp://$HOST:$srv_port" --scenario "$name" <"$fin" >"$fout" 2>"$logs/$name.client.err" &
  local cpid=$!
  exec {cin}>"$fin" {cout}<"$fout"
  local deadline=$((t0 + SCENARIO_TIMEOUT * 1000))
  while :; do
    local left=$(((deadline - $(now_ms)) / 1000))
    [ "$left" -ge 1 ] || left=1
    if ! IFS= read -r -t "$left" line <&"$cout"; then
      [ "$(now_ms)" -ge "$deadline" ] && result="FAIL $name: no result within ${SCENARIO_TIMEOUT} s (selftest)"
      break
    fi
    case $line in
      "WAIT restart")
        local port=$srv_port
        if stop_server && start_server "$port"; then
          echo restarted >&"$cin" 2>/dev/null
        else
          result="FAIL $name: the harness could not restart the server on port $port"
          break
        fi ;;
      "WAIT kill")
        kill_server ;;
      PASS\ * | FAIL\ *) result=$line ;;
      *) echo "  [$name stdout] $line" ;;
    esac
  done
  exec {cin}>&- {cout}<&-
  if kill -0 "$cpid" 2>/dev/null && [[ $result == "FAIL $name: no result"* ]]; then kill -9 "$cpid" 2>/dev/null; fi
  wait "$cpid"; rc=$?
  rm -f "$fin" "$fout"
  local took=$(($(now_ms) - t0))
  if [ -z "$result" ]; then result="FAIL $name: the client printed no PASS/FAIL line (exit $rc)"; fi
  if [[ $result == "PASS $name" && $rc -ne 0 ]]; then result="FAIL $name: printed PASS but exited $rc"; fi
  if [[ $result == FAIL* && $rc -eq 0 ]]; then result="$result (and exited 0)"; fi
  printf '%-6s %-28s %6d ms%s\n' "${result%% *}" "$name" "$took" "$([[ $result == FAIL* ]] && echo "  ${result#FAIL $name: }")"
  if [[ $result == "PASS $name" ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failures+=("$name")
    sed 's/^/    client stderr: /' "$logs/$name.client.err" | tail -n 20
  fi
}

echo "selftest: server $server_peer, client $client_peer, logs in $logs"
t_all=$(now_ms)
start_server 0 || { echo "0 passed, ${#scenarios[@]} failed"; exit 1; }
for s in "${scenarios[@]}"; do
  if [ -z "$srv_pid" ]; then start_server 0 || { failed=$((failed + 1)); failures+=("$s (no server)"); continue; }; fi
  run_scenario "$s"
  # Leave a live server for the next scenario (server-close-mid-stream kills it).
done
stop_server || { failed=$((failed + 1)); failures+=("server exit status on SIGTERM"); }
total=$(($(now_ms) - t_all))

echo "server start-up (spawn to READY), ms: ${ready_times[*]}"
echo "wall time for ${#scenarios[@]} scenarios (including server starts): ${total} ms"
if [ $failed -eq 0 ]; then
  [ -n "${SELFTEST_LOGS:-}" ] || rm -rf "$logs"
else
  echo "failed: ${failures[*]} (logs in $logs)"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
