#!/usr/bin/env bash
# The adaptive concurrency limit under overload (docs/resilience.md, "Overload"):
#   bench/overload.sh BUILD_DIR            (ROUNDS=3, SECONDS_PER_POINT=5 by default)
# A roost TCP service whose handler has a known capacity (WORKERS slots × COST_MS each:
# WORKERS / COST_MS calls a second) is driven by bench/overload's open-loop client at LOADS
# times that capacity (0.5, 1 and 2 by default), with the limit off and on, ROUNDS times. Writes $BENCH_OUT/overload-runs.tsv
# (bench/results by default; bench/data is the committed data):
#   round limit load rate calls ok shed shed_share goodput_rps p50_us p99_us server_cpu_us
# (server_cpu_us: the server process's user + system time per call it received, warm-up
# included), then replaces the table between `<!-- bench:overload -->` and
# `<!-- /bench:overload -->` in docs/resilience.md with medians and ranges over the rounds.
# TABLE_ONLY=1 only makes the table from $BENCH_OUT's data.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
source bench/lib.sh
workers=${WORKERS:-8} cost=${COST_MS:-10} loads=${LOADS:-0.5 1 2}
capacity=$(awk -v w="$workers" -v c="$cost" 'BEGIN { printf "%.0f", w * 1000 / c }')
runs="$out/overload-runs.tsv"

if [ "${TABLE_ONLY:-0}" != 1 ]; then
  [ -x "$build/bench/overload" ] || { echo "overload.sh: build $build/bench/overload first" >&2; exit 1; }
  printf 'round\tlimit\tload\trate\tcalls\tok\tshed\tshed_share\tgoodput_rps\tp50_us\tp99_us\tserver_cpu_us\n' >"$runs"
  write_meta "$out/overload-meta.tsv" "$build"
  printf 'workers\t%s\ncost_ms\t%s\nloads\t%s\n' "$workers" "$cost" "$loads" >>"$out/overload-meta.tsv"
  for round in $(seq 1 "$rounds"); do
    for limit in off adaptive; do
      for load in $loads; do
        rate=$(awk -v c="$capacity" -v l="$load" 'BEGIN { printf "%.0f", c * l }')
        start_server overload "$build/bench/overload" serve --workers "$workers" --cost-ms "$cost" --limit "$limit"
        t0=$(ticks "$pid")
        j=$(taskset -c "$client_cpu" "$build/bench/overload" drive --port "$port" --rate "$rate" \
          --seconds "$secs" --warmup "$warmup") || { echo "overload.sh: FAILED: $limit ${load}x" >&2; stop_server; exit 1; }
        t1=$(ticks "$pid")
        stop_server
        cpu=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$(field sent "$j")" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$limit" "$load" "$rate" \
          "$(field calls "$j")" "$(field ok "$j")" "$(field shed "$j")" "$(field shed_share "$j")" \
          "$(field goodput_rps "$j")" "$(field p50_us "$j")" "$(field p99_us "$j")" "$cpu" >>"$runs"
        echo "round $round, limit $limit, ${load}x ($rate/s): $j, server CPU $cpu us/call"
      done
    done
  done
fi

# The table: per limit and load, the median over the rounds and the range (min–max).
table=$(awk -F'\t' -v cap="$capacity" -v loads="$loads" '
  function sort_n(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }
  function stat(key, scale, fmt,   a, n, i, m) { n = cnt[key]; for (i = 1; i <= n; i++) a[i] = val[key, i] * scale
    sort_n(a, n); m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    return a[1] == a[n] ? sprintf(fmt, m) : sprintf(fmt " (" fmt "–" fmt ")", m, a[1], a[n]) }
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { k = $col["limit"] SUBSEP $col["load"]; n = ++cnt[k, "p50"]
    val[k, "p50", n] = $col["p50_us"]; val[k, "p99", n] = $col["p99_us"]; cnt[k, "p99"] = n
    val[k, "shed", n] = $col["shed_share"]; cnt[k, "shed"] = n
    val[k, "good", n] = $col["goodput_rps"]; cnt[k, "good"] = n
    val[k, "cpu", n] = $col["server_cpu_us"]; cnt[k, "cpu"] = n }
  END {
    print "| limit | load | p50 of the accepted (ms) | p99 of the accepted (ms) | shed | goodput (calls/s; capacity " cap ") | server CPU (µs/call) |"
    print "|---|---|---|---|---|---|---|"
    split("off adaptive", ls, " "); nl = split(loads, ld, " ")
    for (li = 1; li <= 2; li++) for (lj = 1; lj <= nl; lj++) {
      load = ld[lj]; k = ls[li] SUBSEP load
      if (!((k, "p50") in cnt)) continue
      print "| " ls[li] " | " load "× | " stat(k SUBSEP "p50", 0.001, "%.1f") " | " stat(k SUBSEP "p99", 0.001, "%.1f") " | " \
        stat(k SUBSEP "shed", 100, "%.1f%%") " | " stat(k SUBSEP "good", 1, "%.0f") " | " stat(k SUBSEP "cpu", 1, "%.0f") " |"
    }
  }' "$runs")
doc=docs/resilience.md
awk -v table="$table" '
  /<!-- \/bench:overload -->/ { print table; skip = 0 }
  !skip { print }
  /<!-- bench:overload -->/ { skip = 1 }' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
echo "$table"
