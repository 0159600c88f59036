# Sourced by run-suite.sh, max-buffer.sh, max-message.sh and grpc-health.sh: the peers'
# commands, starting a server peer, and one direction of a limit check.
# The caller sets $here (this directory) and $build (the build directory; one_check_script reads
# it from the arguments).

# one_check_script NAME ARGS...: the start of a check script run as `NAME.sh --build DIR`: reads
# DIR into $build (exits 2 on a missing or unknown argument) and makes the folder $work, which
# is removed on exit after the server peer $srv_pid (if any) is killed.
one_check_script() {
  local name=$1
  shift
  build=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --build) build=$2; shift 2 ;;
      *) echo "$name: unknown argument $1" >&2; exit 2 ;;
    esac
  done
  [ -n "$build" ] || { echo "$name: --build is missing"; exit 2; }
  work=$(mktemp -d)
  srv_pid=""
  trap '[ -n "$srv_pid" ] && kill -9 "$srv_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
}

# The command of peer roost, nest12 or nest11.
peer_cmd() {
  case "$1" in
    roost) echo "$build/tests/interop/roost_peer" ;;
    nest12) echo "$here/nest/node.sh" ;;
    nest11) echo "$here/nest11/node.sh" ;;
    *) echo "unknown peer $1" >&2; return 2 ;;
  esac
}

# start_peer_server CMD URL LOG: runs `CMD serve --url URL` in the background (stdout in LOG,
# stderr in LOG.err); sets srv_pid, and port to what READY says. If the server exits or is not
# ready within 10 s, prints its output and returns 1.
start_peer_server() {
  launch_peer_server "$@"
  await_peer_server "$3" "$srv_pid"
}

# The two halves of start_peer_server, so that several servers can start at once:
# launch_peer_server CMD URL LOG sets srv_pid; await_peer_server LOG PID sets port.
launch_peer_server() {
  # Emptied here, not only by the background job's redirection: a log reused from an earlier
  # server could otherwise still show its READY line (and port) to await_peer_server.
  : >"$3"
  : >"$3.err"
  "$1" serve --url "$2" >"$3" 2>"$3.err" &
  srv_pid=$!
}
await_peer_server() {
  port=""
  for _ in $(seq 1 400); do
    port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$1" 2>/dev/null)
    [ -n "$port" ] && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.025
  done
  cat "$1" "$1.err"
  return 1
}

# over_limit_direction CLIENT SERVER QUERY CLIENT_ERROR SERVER_LOG: one direction of a limit
# check over TCP. A SERVER peer serving with QUERY receives CLIENT's `echo.huge` call; the call
# must fail promptly (20 s at most, never hang) with CLIENT_ERROR in its output (a grep
# pattern), the server must log SERVER_LOG (an extended grep pattern) and serve a `sum` call
# afterwards, on a new connection. Prints PASS or FAIL with the reason; returns 1 on FAIL. The
# caller sets $work (a folder for the logs) and kills $srv_pid on exit.
over_limit_direction() {
  local client=$1 server=$2 query=$3 client_error=$4 server_log=$5
  local name="$1 -> $2" url rc took after t0 why=""
  if ! start_peer_server "$(peer_cmd "$server")" "tcp://127.0.0.1:0?$query" "$work/srv"; then
    echo "FAIL $name: the server did not start (its output is above)"
    kill -9 "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=""
    return 1
  fi
  url="tcp://127.0.0.1:$port"
  t0=$(date +%s)
  timeout 30 "$(peer_cmd "$client")" call --url "$url" --scenario echo.huge >"$work/cli.out" 2>"$work/cli.err"
  rc=$? took=$(($(date +%s) - t0))
  timeout 30 "$(peer_cmd "$client")" call --url "$url" --scenario sum >"$work/after.out" 2>&1
  after=$?
  sleep 0.2  # the server's log line
  if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then why="the over-limit call did not fail (exit $rc)"
  elif ! grep -q "$client_error" "$work/cli.out"; then why="the call failed, but not with $client_error: $(cat "$work/cli.out")"
  elif [ $took -gt 20 ]; then why="the failure took ${took}s"
  elif ! grep -Eq "$server_log" "$work/srv.err"; then why="the server did not log it"
  elif [ $after -ne 0 ]; then why="the server did not serve the next call: $(cat "$work/after.out")"
  fi
  kill -TERM "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=""
  if [ -n "$why" ]; then
    echo "FAIL $name: $why"; sed 's/^/    /' "$work/srv.err" | tail -3
    return 1
  fi
  echo "PASS $name: $client_error after ${took}s; the server logged it and kept serving"
}
