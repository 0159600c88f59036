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
printf 'alg\tverifications\ttoken_bytes\tinstructions\tinstructions_per_verify\n' >"$tsv"
for alg in HS256 RS256 PS256 ES256 ES384 EdDSA; do
  valgrind --tool=callgrind --callgrind-out-file="$work/$alg.out" \
    --toggle-collect='roost::auth::jwt_verifier::verify*' \
    "$build/bench/jwt_verify" "$alg" "$n" >"$work/$alg.txt" 2>/dev/null
  read -r _ count bytes _ <"$work/$alg.txt"
  total=$(grep -E '^(summary|totals):' "$work/$alg.out" | head -1 | awk '{print $2}')
  printf '%s\t%s\t%s\t%s\t%s\n' "$alg" "$count" "$bytes" "$total" $((total / count)) >>"$tsv"
done
column -t "$tsv"
