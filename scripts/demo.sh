#!/usr/bin/env bash
# Runs the math service on a free loopback port, calls it with the math client, stops it.
set -euo pipefail
build=${1:-build}
svc="$build/examples/math/math_service"
cli="$build/examples/math/math_client"
log=$(mktemp)
"$svc" 0 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$log")
  [ -n "$port" ] && break
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "demo: the math service did not start:"; cat "$log"; exit 1
fi
echo "demo: math service listening on 127.0.0.1:$port"
"$cli" "$port"
kill -TERM $pid
wait $pid
echo "demo: service log:"
sed 's/^/  /' "$log"
