#!/usr/bin/env bash
# Without the client certificate a TLS broker requires, every peer (roost, NestJS 12, NestJS 11)
# fails to connect, promptly, as a server and as a client; with it the conformance suite passes
# (interop_rediss_*). Proves the suite's broker really asks for one, and that no peer hangs on a
# refusal that, under TLS 1.3, comes only after the handshake.
#   client-cert.sh --url 'rediss://...?ca=CA&cert=CERT&key=KEY' --build DIR
# Prints PASS/FAIL per peer and mode; exits 1 if any failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
url="" build=""
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "client-cert: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$url" in
  *[?\&]cert=*) ;;
  *) echo "client-cert: the URL names no client certificate (cert=): $url"; exit 1 ;;
esac
[ -n "$build" ] || { echo "client-cert: --build is missing"; exit 2; }
# The same URL without cert= and key=.
bare=$(printf '%s' "$url" | sed -E 's/([?&])cert=[^&]*&?/\1/; s/([?&])key=[^&]*&?/\1/; s/[?&]$//')
limit=20  # seconds; a refusal takes well under one

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
check() {  # peer command, name
  local cmd=$1 name=$2 side rc ready
  local -a how
  for side in server client; do
    # A server exits non-zero without ever being ready; a client's call fails (no server is
    # needed: the broker turns the client away first).
    if [ "$side" = server ]; then how=(serve --url "$bare"); ready=READY; else
      how=(call --url "$bare" --scenario sum); ready=PASS; fi
    timeout "$limit" "$cmd" "${how[@]}" >"$work/out" 2>"$work/err"
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && ! grep -q "^$ready" "$work/out"; then
      passed=$((passed + 1)); echo "PASS $name $side refused (exit $rc)"
    else
      failed=$((failed + 1))
      echo "FAIL $name $side without a client certificate: exit $rc (124: still running after ${limit}s)"
      sed 's/^/    /' "$work/out" "$work/err" | tail -5
    fi
  done
}
check "$build/tests/interop/roost_peer" roost
# roost says why, not only that the connection went.
if grep -q 'client certificate' "$work/out" "$work/err"; then
  passed=$((passed + 1)); echo "PASS roost names the client certificate"
else
  failed=$((failed + 1)); echo "FAIL roost's error does not name the client certificate:"
  sed 's/^/    /' "$work/out" "$work/err" | tail -5
fi
for p in nest:nest12 nest11:nest11; do
  cmd="$here/${p%%:*}/node.sh"
  [ -x "$cmd" ] || { echo "client-cert: $cmd is missing (run scripts/install-interop.sh)"; exit 1; }
  check "$cmd" "${p#*:}"
done
echo "without a client certificate: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
