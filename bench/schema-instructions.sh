#!/usr/bin/env bash
# Instructions per JSON Schema check (roost::validation::json_schema::check), counted by
# callgrind inside check() only (schema compiling and payload parsing left out): the figure a
# schema pipe adds to each request.
#   bench/schema-instructions.sh BUILD_DIR [N=200]   (writes $BENCH_OUT/schema-check-instructions.tsv,
#   BENCH_OUT=bench/results)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: bench/schema-instructions.sh BUILD_DIR [N]}
n=${2:-200}
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "schema-instructions: valgrind is not installed"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tsv="$out/schema-check-instructions.tsv"
printf 'case\tchecks\tproblems\tinstructions\tinstructions_per_check\n' >"$tsv"
for c in small valid invalid; do
  valgrind --tool=callgrind --callgrind-out-file="$work/$c.out" \
    --toggle-collect='roost::validation::json_schema::check*' \
    "$build/bench/schema_check" "$c" "$n" >"$work/$c.txt" 2>/dev/null
  read -r _ count problems _ <"$work/$c.txt"
  total=$(grep -E '^(summary|totals):' "$work/$c.out" | head -1 | awk '{print $2}')
  printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$count" "$problems" "$total" $((total / count)) >>"$tsv"
done
column -t "$tsv"
