# What migrate_test.sh and migrate_brokers_test.sh share (sourced): a work directory and the
# processes they start, removed and ended on exit; pass/fail counts; starting a peer server and
# waiting for a line with a deadline (the machine may be loaded: never a fixed sleep).
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL $*"
}
# The closing line, and the exit code.
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# wait_for FILE REGEX [PID]: true once FILE has a line matching REGEX (grep -E), false after 30 s
# or when PID has exited without writing it.
wait_for() {
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
      grep -Eq -- "$2" "$1" 2>/dev/null
      return
    fi
    sleep 0.05
  done
  return 1
}

# serve NAME URL COMMAND: starts a peer server (`COMMAND serve --url URL`) and waits for its
# READY line; sets srv_pid, and port when it says one (READY PORT, on TCP). Exits the test
# when it does not start.
serve() {
  "$3" serve --url "$2" >"$work/$1.log" 2>"$work/$1.err" &
  srv_pid=$!
  pids+=($srv_pid)
  if ! wait_for "$work/$1.log" '^READY' "$srv_pid"; then
    echo "FAIL $1 did not start: $(cat "$work/$1.err")"
    exit 1
  fi
  port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$work/$1.log")
}

# start NAME REGEX ARGS...: runs `$roost ARGS` (stderr in $work/NAME.err) and waits for a line
# of its stderr matching REGEX; sets started_pid. Exits the test when it does not come.
start() {
  local name=$1 regex=$2
  shift 2
  "$roost" "$@" 2>"$work/$name.err" &
  started_pid=$!
  pids+=($started_pid)
  if ! wait_for "$work/$name.err" "$regex" "$started_pid"; then
    echo "FAIL roost $1 did not start: $(cat "$work/$name.err")"
    exit 1
  fi
}

# stop PID NAME: SIGTERM, and a pass when it exits 0 (its stderr is $work/NAME.err).
stop() {
  kill -TERM "$1"
  wait "$1"
  local rc=$?
  [ $rc = 0 ] && pass || fail "$2 exited $rc on SIGTERM: $(cat "$work/$2.err")"
}
