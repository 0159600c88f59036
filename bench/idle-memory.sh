#!/usr/bin/env bash
# Where an idle server's resident memory goes, by kind of mapping.
#   bench/idle-memory.sh BUILD_DIR LABEL     (RUNS=5, BENCH_OUT=bench/results)
# Starts each server (roost_peer serve, the benchmark's roost server; the math example; the
# limit server) RUNS times on the server core as bench/run.sh does, waits 0.5 s after its READY
# line, and sums the Rss of /proc/PID/smaps by what each mapping is: the executable, each group
# of shared libraries (their file pages and the pages the loader or their code wrote), the main
# heap, the malloc arenas of other threads, thread stacks (a mapping holding a thread's stack
# pointer, from /proc/PID/task/TID/syscall) and other anonymous memory.
# Appends to $BENCH_OUT/idle-memory-runs.tsv:
#   label run server threads total_kb <one column per kind, KiB>
# and prints the medians. LABEL names the build (e.g. before, after) in the file.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: bench/idle-memory.sh BUILD_DIR LABEL}
label=${2:?usage: bench/idle-memory.sh BUILD_DIR LABEL}
runs=${RUNS:-5}
source bench/lib.sh
trap stop_server EXIT

declare -A cmd=(
  [roost]="$build/tests/interop/roost_peer serve --url tcp://127.0.0.1:0"
  [math]="$build/examples/math/math_service 0"
  [limit]="$build/bench/limit_server 0"
)
servers=(roost math limit)
kinds=(executable libstdcxx c_runtime openssl icu boost broker_clients other_libs heap
  arenas thread_stacks other_anon)

file="$out/idle-memory-runs.tsv"
[ -f "$file" ] || { printf 'label\trun\tserver\tthreads\ttotal_kb'; printf '\t%s' "${kinds[@]}"; echo; } >"$file"

# breakdown PID: one line, "threads total kind=kb ...", from smaps.
breakdown() {
  local p=$1 sps="" t
  for t in /proc/"$p"/task/*; do
    # "syscall-number args... sp pc" ("running" when it is not in a system call).
    sps+="$(awk '{ print $(NF - 1) }' "$t/syscall" 2>/dev/null) "
  done
  awk -v exe="$(readlink "/proc/$p/exe")" -v sps="$sps" -v threads="$(ls "/proc/$p/task" | wc -l)" '
    function hex(s,   i, n, c) { n = 0; s = tolower(s); sub(/^0x/, "", s)
      for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; n = n * 16 + c }
      return n }
    BEGIN { ns = split(sps, sp, " "); for (i = 1; i <= ns; i++) spn[i] = hex(sp[i]) }
    /^[0-9a-f]+-[0-9a-f]+ / {
      split($1, a, "-"); lo = hex(a[1]); hi = hex(a[2]); path = $6
      if (path == exe) kind = "executable"
      else if (path ~ /libstdc\+\+/) kind = "libstdcxx"
      else if (path ~ /\/(libc|libm|ld-linux-x86-64|libgcc_s)\.so/) kind = "c_runtime"
      else if (path ~ /\/lib(ssl|crypto)\.so/) kind = "openssl"
      else if (path ~ /\/libicu/) kind = "icu"
      else if (path ~ /\/libboost_/) kind = "boost"
      else if (path ~ /\/lib(nats|hiredis|protobuf-c|rdkafka|rabbitmq|mosquitto)\.so/) kind = "broker_clients"
      else if (path == "[heap]") kind = "heap"
      else if (path == "[stack]") kind = "thread_stacks"
      else if (path ~ /^\//) kind = "other_libs"
      else {
        kind = "other_anon"
        for (i = 1; i <= ns; i++) if (spn[i] >= lo && spn[i] < hi) kind = "thread_stacks"
        # A glibc arena of another thread: a heap aligned on its 64 MiB maximum size.
        if (kind == "other_anon" && lo % 67108864 == 0) kind = "arenas"
      }
      next
    }
    /^Rss:/ { kb[kind] += $2; total += $2 }
    END {
      printf "%d %d", threads, total
      n = split("executable libstdcxx c_runtime openssl icu boost broker_clients other_libs heap arenas thread_stacks other_anon", k, " ")
      for (i = 1; i <= n; i++) printf " %d", kb[k[i]]
      print ""
    }' "/proc/$p/smaps"
}

for run in $(seq 1 "$runs"); do
  for s in "${servers[@]}"; do
    # shellcheck disable=SC2086 # the command is words
    start_server "$s" ${cmd[$s]}
    sleep 0.5
    read -r -a row <<<"$(breakdown "$pid")"
    stop_server
    (IFS=$'\t'; echo "$label	$run	$s	${row[*]}") >>"$file"
  done
done

# Medians of this label's runs, per server.
awk -F'\t' -v label="$label" '
  function median(x, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
    return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
  NR == 1 { for (i = 4; i <= NF; i++) name[i] = $i; nf = NF; next }
  $1 == label { n[$3]++; for (i = 4; i <= nf; i++) v[$3, i, n[$3]] = $i }
  END {
    for (s in n) {
      printf "%s (%s, median of %d runs):", s, label, n[s]
      for (i = 4; i <= nf; i++) { delete x; for (r = 1; r <= n[s]; r++) x[r] = v[s, i, r]; printf " %s %s", name[i], median(x, n[s]) }
      print ""
    }
  }' "$file"
echo "idle-memory: $file"
