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
