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
# Why a peer was turned away, in its output: roost names the missing client certificate; a NestJS
# peer shows the broker's TLS alert ("alert certificate required"), or, under TLS 1.3, where the
# client finishes its handshake before the broker checks its certificate, the reset of a
# connection its first command was written to (NestJS 12's Redis client usually loses that race
# and never reads the alert). A refusal for another reason (the broker down, its certificate not
# trusted) fails the check.
roost_reason='client certificate'
nest_reason='alert certificate required|ECONNRESET'
wrong_reason='ECONNREFUSED|unable to verify|self[- ]signed|certificate verify failed|ENOTFOUND'
check() {  # peer command, name, reason (extended regex)
  local cmd=$1 name=$2 reason=$3 side rc ready
  local -a how
  for side in server client; do
    # A server exits non-zero without ever being ready; a client's call fails (no server is
    # needed: the broker turns the client away first).
    if [ "$side" = server ]; then how=(serve --url "$bare"); ready=READY; else
      how=(call --url "$bare" --scenario sum); ready=PASS; fi
    timeout "$limit" "$cmd" "${how[@]}" >"$work/out" 2>"$work/err"
    rc=$?
    if [ $rc -eq 0 ] || [ $rc -eq 124 ] || grep -q "^$ready" "$work/out"; then
      failed=$((failed + 1))
      echo "FAIL $name $side without a client certificate: exit $rc (124: still running after ${limit}s)"
      sed 's/^/    /' "$work/out" "$work/err" | tail -5
    elif grep -Eq "$wrong_reason" "$work/out" "$work/err" || ! grep -Eq "$reason" "$work/out" "$work/err"; then
      failed=$((failed + 1))
      echo "FAIL $name $side refused (exit $rc), but its output does not say it was for the certificate:"
      sed 's/^/    /' "$work/out" "$work/err" | tail -5
    else
      passed=$((passed + 1))
      echo "PASS $name $side refused (exit $rc): $(grep -Eo "$reason" "$work/out" "$work/err" | head -1 | cut -d: -f2-)"
    fi
  done
}
check "$build/tests/interop/roost_peer" roost "$roost_reason"
for p in nest:nest12 nest11:nest11; do
  cmd="$here/${p%%:*}/node.sh"
  [ -x "$cmd" ] || { echo "client-cert: $cmd is missing (run scripts/install-interop.sh)"; exit 1; }
  check "$cmd" "${p#*:}" "$nest_reason"
done
echo "without a client certificate: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
