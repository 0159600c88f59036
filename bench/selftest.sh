#!/usr/bin/env bash
# Checks that the TCP load generator fails a run it must not publish: against the limit server,
# a correct run passes, and a wrong expected value, an unknown pattern (error replies) and a
# server that stops answering each make it exit 1.
#   bench/selftest.sh BUILD_DIR        (ctest runs it as bench_selftest)
set -uo pipefail
build=$1
log=$(mktemp)
"$build/bench/limit_server" 0 >"$log" &
server=$!
trap 'kill -CONT $server 2>/dev/null; kill $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 200); do grep -q '^READY' "$log" && break; sleep 0.01; done
port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$log")
[ -n "$port" ] || { echo "selftest: the limit server did not start"; exit 1; }
run() { "$build/bench/loadgen" --port "$port" --inflight 16 --seconds 0.3 --warmup 0.1 "$@" >/dev/null 2>&1; }
fail=0
run || { echo "selftest: a correct run failed"; fail=1; }
run --expect 7 && { echo "selftest: wrong values did not fail the run"; fail=1; }
run --pattern nope && { echo "selftest: error replies did not fail the run"; fail=1; }
(sleep 0.2; kill -STOP $server) &
run && { echo "selftest: unanswered requests did not fail the run"; fail=1; }
[ $fail = 0 ] && echo "selftest: the load generator fails every run it must"
exit $fail
