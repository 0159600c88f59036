# Helpers shared by the benchmark scripts (sourced, not run).

# medians RUNS SERVER K FIRST LAST: the median of each column FIRST..LAST over the rows of the
# runs table RUNS (round, server, K, ...) for SERVER at K, joined by tabs. With ROUNDS runs per
# point, load from elsewhere on the machine weighs on every server alike.
medians() {
  local runs=$1 s=$2 k=$3 c sep=""
  for c in $(seq "$4" "$5"); do
    printf '%s%s' "$sep" "$(awk -F'\t' -v s="$s" -v k="$k" -v c="$c" '$2==s && $3==k { print $c }' "$runs" |
      sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
    sep=$'\t'
  done
}

# median_rows RUNS FIRST LAST LABEL SERVER...: a row per server and K (1, 16, 256) of the
# medians of columns FIRST..LAST: SERVER, LABEL (a column of its own unless empty), K, medians.
median_rows() {
  local runs=$1 first=$2 last=$3 label=$4 s k
  shift 4
  for s in "$@"; do
    for k in 1 16 256; do
      printf '%s\t%s%s\t%s\n' "$s" "${label:+$label$'\t'}" "$k" "$(medians "$runs" "$s" "$k" "$first" "$last")"
    done
  done
}
