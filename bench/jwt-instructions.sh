#!/usr/bin/env bash
# Instructions per JWT verification, per algorithm, counted by callgrind inside
# roost::auth::jwt_verifier::verify only (key making and signing left out): the figure a JWT
# guard adds to each request.
#   bench/jwt-instructions.sh BUILD_DIR [N=200]   (writes $BENCH_OUT/jwt-verify-instructions.tsv,
#   BENCH_OUT=bench/results)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: bench/jwt-instructions.sh BUILD_DIR [N]}
n=${2:-200}
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "jwt-instructions: valgrind is not installed"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tsv="$out/jwt-verify-instructions.tsv"
# Every verification complete (kept tokens off), then the same token again and again with kept
# tokens on (one complete verification, the rest found kept).
printf 'alg\tkept\tverifications\ttoken_bytes\tinstructions\tinstructions_per_verify\n' >"$tsv"
for run in HS256:off RS256:off PS256:off ES256:off ES384:off EdDSA:off HS256:kept RS256:kept; do
  alg=${run%:*} kept=${run#*:}
  valgrind --tool=callgrind --callgrind-out-file="$work/$run.out" \
    --toggle-collect='roost::auth::jwt_verifier::verify*' \
    "$build/bench/jwt_verify" "$alg" "$n" "$kept" >"$work/$run.txt" 2>/dev/null
  read -r _ count bytes _ <"$work/$run.txt"
  total=$(grep -E '^(summary|totals):' "$work/$run.out" | head -1 | awk '{print $2}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$alg" "$kept" "$count" "$bytes" "$total" $((total / count)) \
    >>"$tsv"
done
column -t "$tsv"
