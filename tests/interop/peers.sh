# Sourced by run-suite.sh and max-buffer.sh: the peers' commands, and starting a server peer.
# The caller sets $build (the build directory) and $here (this directory).

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
