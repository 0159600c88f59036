#!/usr/bin/env bash
# Makes the tables of docs/benchmarks.md, the README's speed paragraph and the TCP chart from
# the raw runs (bench/run.sh, run-nats.sh, redis.sh, rmq.sh, kafka.sh, mqtt.sh, grpc.sh), so that the docs and the data cannot
# disagree:
#   bench/make-tables.sh [DATA_DIR]        (bench/data by default: the committed data)
# Every figure is the median over the rounds with its range (min–max); a ratio is taken round
# by round (the servers of one round ran minutes apart on the same machine), then its median
# and range. Text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` is replaced.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-bench/data}
for f in tcp-runs tcp-extra-runs redis-runs nats-runs rmq-runs mqtt-runs; do
  [ -f "$data/$f.tsv" ] || { echo "make-tables: $data/$f.tsv is missing" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The awk functions every table uses. Rows of a runs table are loaded into v[server, client, K,
# column, round]; rounds[] lists the rounds.
lib='
function load(file,   line, n, h, i, f) {
  n = 0
  while ((getline line < file) > 0) {
    split(line, f, "\t")
    if (++n == 1) { for (i = 1; i in f; i++) col[file, f[i]] = i; continue }
    rounds[f[1]] = 1
    for (i = 5; i in f; i++) v[file, f[2], f[3], f[4], i, f[1]] = f[i]
    # The share of its core the server used: requests/s × CPU seconds per request.
    r_ = f[col[file, "rps"]]; c_ = f[col[file, "server_cpu_us"]]
    v[file, f[2], f[3], f[4], 99, f[1]] = (c_ == "-" || c_ == "") ? "-" : r_ * c_ / 1e6
  }
  col[file, "core_use"] = 99
  close(file)
}
function sort_n(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }
# Median and range of the values of one point; sets lo, hi; "" when there is none.
function stat(file, s, c, k, name,   r, a, n, i) {
  n = 0
  for (r in rounds) if ((file, s, c, k, col[file, name], r) in v) { i = v[file, s, c, k, col[file, name], r]; if (i != "-" && i != "") a[++n] = i + 0 }
  if (n == 0) { lo = hi = ""; return "" }
  sort_n(a, n); lo = a[1]; hi = a[n]
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# The same for the ratio, round by round, of two points (x = file1 point1 / file2 point2).
function ratio(f1, s1, c1, k1, f2, s2, c2, k2, name,   r, a, n, x, y) {
  n = 0
  for (r in rounds) {
    if (!((f1, s1, c1, k1, col[f1, name], r) in v) || !((f2, s2, c2, k2, col[f2, name], r) in v)) continue
    x = v[f1, s1, c1, k1, col[f1, name], r]; y = v[f2, s2, c2, k2, col[f2, name], r]
    if (x == "-" || y == "-" || y + 0 == 0) continue
    a[++n] = x / y
  }
  if (n == 0) { lo = hi = ""; return "" }
  sort_n(a, n); lo = a[1]; hi = a[n]
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function commas(x,   s, neg) {
  x = sprintf("%.0f", x); neg = x ~ /^-/; sub(/^-/, "", x); s = ""
  while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
  return (neg ? "-" : "") x s
}
function num(x) { return x == "" ? "—" : x >= 100 ? commas(x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
function times(x) { return x == "" ? "—" : x >= 10 ? sprintf("%.0f×", x) : sprintf("%.1f×", x) }
function pct(x) { return x == "" ? "—" : sprintf("%.0f%%", 100 * x) }
# "median (min–max)" of a point, in the format f ("int", "num", "times" or "pct"; mawk has no
# indirect calls).
function fmt(f, x) { return f == "times" ? times(x) : f == "pct" ? pct(x) : f == "int" ? commas(x) : num(x) }
function cell(file, s, c, k, name, f,   m) {
  m = stat(file, s, c, k, name)
  return m == "" ? "—" : fmt(f, m) " (" fmt(f, lo) "–" fmt(f, hi) ")"
}
function rcell(f1, s1, c1, k1, f2, s2, c2, k2, name, f,   m) {
  m = ratio(f1, s1, c1, k1, f2, s2, c2, k2, name)
  return m == "" ? "—" : fmt(f, m) " (" fmt(f, lo) "–" fmt(f, hi) ")"
}
'
tcp=$data/tcp-runs.tsv redis=$data/redis-runs.tsv nats=$data/nats-runs.tsv rmq=$data/rmq-runs.tsv
mqtt=$data/mqtt-runs.tsv
names='BEGIN { name["roost"] = "roost"; name["nestjs"] = "NestJS"; name["limit"] = "limit"; name["loadgen"] = "C++ load generator"; name["nestjs_c"] = "NestJS client" }'

# The headline: K = 256 per transport, with the C++ load generator and with a NestJS client.
awk -v tcp="$tcp" -v redis="$redis" -v nats="$nats" -v rmq="$rmq" -v mqtt="$mqtt" "$lib"'
function row(label, file, c, has_limit) {
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label,
    cell(file, "roost", c, 256, "rps", "int"), cell(file, "nestjs", c, 256, "rps", "int"),
    rcell(file, "roost", c, 256, file, "nestjs", c, 256, "rps", "times"),
    cell(file, "roost", c, 256, "server_cpu_us", "num"), cell(file, "nestjs", c, 256, "server_cpu_us", "num"),
    rcell(file, "nestjs", c, 256, file, "roost", c, 256, "server_cpu_us", "times"),
    has_limit ? rcell(file, "roost", c, 256, file, "limit", c, 256, "rps", "pct") : "—",
    has_limit ? rcell(file, "roost", c, 256, file, "limit", c, 256, "server_cpu_us", "times") : "—"
}
BEGIN {
  load(tcp); load(redis); load(nats); load(rmq); load(mqtt)
  print "| transport, client | roost req/s | NestJS req/s | roost ÷ NestJS | roost server CPU µs/req | NestJS server CPU µs/req | NestJS ÷ roost CPU | roost ÷ limit req/s | roost ÷ limit CPU |"
  print "|---|---|---|---|---|---|---|---|---|"
  row("TCP, C++ load generator", tcp, "loadgen", 1)
  row("TCP, NestJS `ClientTCP`", tcp, "nestjs", 0)
  row("Redis, C++ load generator", redis, "loadgen", 1)
  row("Redis, NestJS `ClientRedis`", redis, "nestjs", 0)
  row("NATS, C++ load generator", nats, "loadgen", 0)
  row("NATS, NestJS `ClientNats`", nats, "nestjs", 0)
  row("RabbitMQ, C++ load generator", rmq, "loadgen", 1)
  row("RabbitMQ, NestJS `ClientRMQ`", rmq, "nestjs", 0)
  row("MQTT, C++ load generator", mqtt, "loadgen", 1)
}' >"$work/headline"

# One transport in detail: every server, client and K.
detail() {  # FILE BROKER(0|1) [K...: 1 16 256 by default]
  awk -v file="$1" -v broker="$2" -v ks="${3:-1 16 256}" "$lib$names"'
  BEGIN {
    load(file)
    printf "| server | client | K | requests/s | p50 µs | p99 µs | p99.9 µs | server CPU µs/req | server core used |%s\n", broker ? " broker CPU µs/req |" : ""
    printf "|---|---|---|---|---|---|---|---|---|%s\n", broker ? "---|" : ""
    ns = split("roost nestjs limit", S, " "); nc = split("loadgen nestjs roost", C, " ")
    nk = split(ks, K, " ")
    for (i = 1; i <= ns; i++) for (j = 1; j <= nc; j++) for (ki = 1; ki <= nk; ki++) {
      k = K[ki]
      if (stat(file, S[i], C[j], k, "rps") == "") continue
      printf "| %s | %s | %d | %s | %s | %s | %s | %s | %s |%s\n", name[S[i]],
        C[j] == "loadgen" ? "C++" : C[j] == "nestjs" ? "NestJS" : "roost", k,
        cell(file, S[i], C[j], k, "rps", "int"), cell(file, S[i], C[j], k, "p50_us", "int"),
        cell(file, S[i], C[j], k, "p99_us", "int"), cell(file, S[i], C[j], k, "p999_us", "int"),
        cell(file, S[i], C[j], k, "server_cpu_us", "num"), cell(file, S[i], C[j], k, "core_use", "pct"),
        broker ? " " cell(file, S[i], C[j], k, "broker_cpu_us", "num") " |" : ""
    }
  }'
}
detail "$tcp" 0 >"$work/tcp"
detail "$redis" 1 >"$work/redis"
detail "$nats" 1 >"$work/nats"
detail "$rmq" 1 >"$work/rmq"
detail "$mqtt" 1 >"$work/mqtt"
# Kafka (bench/kafka.sh), when its data is there: the requests as the other transports', and the
# events (emit, each counted by the server) with roost's rate over NestJS's, round by round.
kafka=$data/kafka-runs.tsv kafka_emit=$data/kafka-emit-runs.tsv
if [ -f "$kafka" ] && [ -f "$kafka_emit" ]; then
  detail "$kafka" 1 >"$work/kafka"
  awk -v file="$kafka_emit" -v k="$(awk -F'\t' 'NR == 2 { print $4 }' "$kafka_emit")" "$lib$names"'
  BEGIN {
    load(file)
    print "| server | events/s | ÷ NestJS | server CPU µs/event | server core used | broker CPU µs/event |"
    print "|---|---|---|---|---|---|"
    ns = split("roost nestjs", S, " ")
    for (i = 1; i <= ns; i++) {
      if (stat(file, S[i], "emit", k, "rps") == "") continue
      printf "| %s | %s | %s | %s | %s | %s |\n", name[S[i]], cell(file, S[i], "emit", k, "rps", "int"),
        rcell(file, S[i], "emit", k, file, "nestjs", "emit", k, "rps", "times"),
        cell(file, S[i], "emit", k, "server_cpu_us", "num"), cell(file, S[i], "emit", k, "core_use", "pct"),
        cell(file, S[i], "emit", k, "broker_cpu_us", "num")
    }
  }' >"$work/kafka-emit"
fi

# gRPC (bench/grpc.sh), when its data is there: every point, then roost against NestJS and the
# limit, round by round.
grpc=$data/grpc-runs.tsv
if [ -f "$grpc" ]; then
  detail "$grpc" 0 >"$work/grpc"
  awk -v file="$grpc" "$lib"'
  BEGIN {
    load(file)
    print "| K | roost ÷ NestJS req/s | NestJS ÷ roost CPU/req | roost ÷ limit req/s | roost ÷ limit CPU/req |"
    print "|---|---|---|---|---|"
    for (k = 1; k <= 256; k *= 256)
      printf "| %d | %s | %s | %s | %s |\n", k,
        rcell(file, "roost", "loadgen", k, file, "nestjs", "loadgen", k, "rps", "times"),
        rcell(file, "nestjs", "loadgen", k, file, "roost", "loadgen", k, "server_cpu_us", "times"),
        rcell(file, "roost", "loadgen", k, file, "limit", "loadgen", k, "rps", "pct"),
        rcell(file, "roost", "loadgen", k, file, "limit", "loadgen", k, "server_cpu_us", "times")
  }' >"$work/grpc-ratios"
fi

# Startup, memory and the long tail (TCP): the extra table has one row per round and server.
awk -v file="$data/tcp-extra-runs.tsv" "$lib$names"'
BEGIN {
  # Re-shaped as a runs table: server, client "-", K 0.
  while ((getline line < file) > 0) {
    split(line, f, "\t")
    if (++n == 1) { for (i = 1; i in f; i++) col[file, f[i]] = i + 2; continue }
    rounds[f[1]] = 1
    for (i = 3; i in f; i++) v[file, f[2], "-", 0, i + 2, f[1]] = f[i]
  }
  print "| server | start to READY, ms | RSS idle, KiB | RSS with 1,000 idle connections, KiB | fast-request p99 with 1% slow, µs |"
  print "|---|---|---|---|---|"
  ns = split("roost nestjs limit", S, " ")
  for (i = 1; i <= ns; i++)
    printf "| %s | %s | %s | %s | %s |\n", name[S[i]], cell(file, S[i], "-", 0, "startup_ms", "int"),
      cell(file, S[i], "-", 0, "rss_idle_kb", "int"), cell(file, S[i], "-", 0, "rss_1000_conns_kb", "int"),
      cell(file, S[i], "-", 0, "tail_fast_p99_us", "int")
}' >"$work/tcp-extra"

# Other shapes of load (TCP): a shape per row group, "CONNECTIONS x IN_FLIGHT_EACH" in the
# client column of tcp-shapes-runs.tsv. Older data has none.
shapes=$data/tcp-shapes-runs.tsv
if [ -f "$shapes" ]; then
  awk -v file="$shapes" "$lib$names"'
  BEGIN {
    load(file)
    while ((getline line < file) > 0) { split(line, f, "\t"); if (++n > 1 && !(f[3] in seen)) { seen[f[3]] = 1; shape[++nshapes] = f[3] } }
    print "| server | connections × in flight on each | requests/s | p50 µs | p99 µs | server CPU µs/req | server core used | ÷ limit req/s | ÷ limit CPU µs/req |"
    print "|---|---|---|---|---|---|---|---|---|"
    ns = split("roost nestjs limit", S, " ")
    for (j = 1; j <= nshapes; j++) for (i = 1; i <= ns; i++) {
      split(shape[j], p, "x"); k = p[1] * p[2]; sh = shape[j]
      if (stat(file, S[i], sh, k, "rps") == "") continue
      printf "| %s | %s × %s | %s | %s | %s | %s | %s | %s | %s |\n", name[S[i]], commas(p[1]), p[2],
        cell(file, S[i], sh, k, "rps", "int"), cell(file, S[i], sh, k, "p50_us", "int"),
        cell(file, S[i], sh, k, "p99_us", "int"), cell(file, S[i], sh, k, "server_cpu_us", "num"),
        cell(file, S[i], sh, k, "core_use", "pct"),
        S[i] == "limit" ? "—" : rcell(file, S[i], sh, k, file, "limit", sh, k, "rps", "pct"),
        S[i] == "limit" ? "—" : rcell(file, S[i], sh, k, file, "limit", sh, k, "server_cpu_us", "times")
    }
  }' >"$work/tcp-shapes"
else
  echo "No run in \`$data\` has these shapes yet: \`bench/run.sh\` writes them to \`tcp-shapes-runs.tsv\`." >"$work/tcp-shapes"
fi

# Where idle memory goes (bench/idle-memory.sh): medians per kind of mapping, for the first
# and the last build (label) in the file, against NestJS's idle RSS from the TCP runs.
idle=$data/idle-memory-runs.tsv
if [ -f "$idle" ]; then
  awk -F'\t' -v extra="$data/tcp-extra-runs.tsv" '
  function median(x, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
    return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
  function commas(x,   s) { x = sprintf("%.0f", x); s = ""; while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }; return x s }
  function m(l, s, c,   r, x, n) { n = 0; for (r = 1; r <= runs[l, s]; r++) x[++n] = v[l, s, c, r]; return n ? median(x, n) : "" }
  NR == 1 { for (i = 4; i <= NF; i++) col[i] = $i; nf = NF; next }
  {
    if (!($1 in seen)) { seen[$1] = 1; label[++nl] = $1 }
    r = ++runs[$1, $3]; for (i = 4; i <= nf; i++) v[$1, $3, i, r] = $i
  }
  END {
    first = label[1]; last = label[nl]
    desc["threads"] = "threads"; desc["total_kb"] = "**total RSS, KiB**"
    desc["executable"] = "the executable (code and data it touched)"; desc["libstdcxx"] = "libstdc++"
    desc["c_runtime"] = "libc, libm, libgcc_s, the dynamic loader"; desc["openssl"] = "OpenSSL (libssl, libcrypto)"
    desc["icu"] = "ICU (collation, opened for non-ASCII pattern keys)"; desc["boost"] = "Boost.JSON"
    desc["broker_clients"] = "broker clients (nats.c, hiredis, protobuf-c, librdkafka, librabbitmq, libmosquitto)"; desc["other_libs"] = "other libraries"
    desc["heap"] = "main malloc heap"; desc["arenas"] = "malloc arenas of other threads"
    desc["thread_stacks"] = "thread stacks"; desc["other_anon"] = "other anonymous memory"
    printf "| KiB (median of the runs) | roost, %s | roost, %s | math example, %s | math example, %s | limit |\n", first, last, first, last
    print "|---|---|---|---|---|---|"
    for (i = 4; i <= nf; i++) {
      c = col[i]
      printf "| %s | %s | %s | %s | %s | %s |\n", desc[c], commas(m(first, "roost", i)), commas(m(last, "roost", i)),
        commas(m(first, "math", i)), commas(m(last, "math", i)), commas(m(last, "limit", i))
      if (c == "total_kb") { total = i }
    }
    # NestJS: the idle RSS of its rounds in the TCP run.
    n = 0
    while ((getline line < extra) > 0) { split(line, f, "\t"); if (f[2] == "nestjs") x[++n] = f[4] }
    if (n) {
      nest = median(x, n)
      printf "\nNestJS idles at %s KiB (median of %d round%s of `tcp-extra-runs.tsv`): roost (`roost_peer serve`) at %s KiB is 1/%.1f of it, the math example 1/%.1f.\n",
        commas(nest), n, n == 1 ? "" : "s", commas(m(last, "roost", total)), nest / m(last, "roost", total), nest / m(last, "math", total)
    }
  }' "$idle" >"$work/idle-memory"
else
  echo "No idle-memory run in \`$data\` yet: \`bench/idle-memory.sh\` writes \`idle-memory-runs.tsv\`." >"$work/idle-memory"
fi

# WebSocket (bench/ws.sh), when its data is there: K is the number of sockets, each with one
# message in flight; then roost against NestJS and the limit, round by round, per K.
ws=$data/ws-runs.tsv
if [ -f "$ws" ]; then
  detail "$ws" 0 "16 1000" >"$work/ws"
  awk -v file="$ws" -v meta="$data/ws-meta.tsv" "$lib"'
  BEGIN {
    load(file)
    print "| sockets | roost ÷ NestJS messages/s | NestJS ÷ roost p99 | NestJS ÷ roost CPU/message | roost ÷ limit messages/s | roost ÷ limit CPU/message |"
    print "|---|---|---|---|---|---|"
    n = split("16 1000", K, " ")
    for (i = 1; i <= n; i++) {
      k = K[i]
      printf "| %s | %s | %s | %s | %s | %s |\n", commas(k),
        rcell(file, "roost", "loadgen", k, file, "nestjs", "loadgen", k, "rps", "times"),
        rcell(file, "nestjs", "loadgen", k, file, "roost", "loadgen", k, "p99_us", "times"),
        rcell(file, "nestjs", "loadgen", k, file, "roost", "loadgen", k, "server_cpu_us", "times"),
        rcell(file, "roost", "loadgen", k, file, "limit", "loadgen", k, "rps", "pct"),
        rcell(file, "roost", "loadgen", k, file, "limit", "loadgen", k, "server_cpu_us", "times")
    }
    while ((getline line < meta) > 0) { split(line, f, "\t"); m[f[1]] = f[2] }
    printf "\n%d rounds of %s s per point, %s, commit %s, load average %s at the start and %s at the end.\n",
      m["rounds"], m["seconds_per_point"], m["date"], m["commit"], m["load_average_at_start"], m["load_average_at_end"]
  }' >"$work/ws-ratios"
fi

# What the runs were made on.
{
  echo "| | TCP | Redis | NATS | RabbitMQ | MQTT |"
  echo "|---|---|---|---|---|---|"
  for key in date commit cpus load_average_at_start load_average_at_end seconds_per_point rounds node nestjs_microservices; do
    printf '| %s |' "$key"
    for t in tcp redis nats rmq mqtt; do
      printf ' %s |' "$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$data/$t-meta.tsv" 2>/dev/null)"
    done
    echo
  done
} >"$work/meta"

# The README's speed paragraph: the headline's figures, in words.
awk -v tcp="$tcp" -v redis="$redis" -v nats="$nats" -v rmq="$rmq" "$lib"'
function m(file, s, c, k, name) { return commas(stat(file, s, c, k, name)) }
function r(f, s1, s2, c, name,   x) { x = ratio(f, s1, c, 256, f, s2, c, 256, name); return times(x) " (" times(lo) "–" times(hi) ")" }
function p(f, s1, s2, c, name,   x) { x = ratio(f, s1, c, 256, f, s2, c, 256, name); return pct(x) " (" pct(lo) "–" pct(hi) ")" }
BEGIN {
  load(tcp); load(redis); load(nats); load(rmq)
  n = 0; for (x in rounds) n++
  printf "One server core each, 256 requests in flight, medians of %d rounds (the range over the rounds in brackets): ", n
  printf "over TCP roost serves %s requests/s against NestJS'"'"'s %s, %s as many, with %s less CPU per request; ", m(tcp, "roost", "loadgen", 256, "rps"), m(tcp, "nestjs", "loadgen", 256, "rps"), r(tcp, "roost", "nestjs", "loadgen", "rps"), r(tcp, "nestjs", "roost", "loadgen", "server_cpu_us")
  printf "a hand-written server that does nothing else (the limit) does %s, roost %s of it, spending %s its CPU per request. ", m(tcp, "limit", "loadgen", 256, "rps"), p(tcp, "roost", "limit", "loadgen", "rps"), r(tcp, "roost", "limit", "loadgen", "server_cpu_us")
  printf "Over Redis %s NestJS'"'"'s throughput and %s of what the limit reaches through the same broker; over NATS %s; over RabbitMQ %s, %s of the limit. ", r(redis, "roost", "nestjs", "loadgen", "rps"), p(redis, "roost", "limit", "loadgen", "rps"), r(nats, "roost", "nestjs", "loadgen", "rps"), r(rmq, "roost", "nestjs", "loadgen", "rps"), p(rmq, "roost", "limit", "loadgen", "rps")
  printf "A NestJS client calling roost instead of NestJS gets %s as many replies over TCP, %s over Redis, %s over NATS. ", r(tcp, "roost", "nestjs", "nestjs", "rps"), r(redis, "roost", "nestjs", "nestjs", "rps"), r(nats, "roost", "nestjs", "nestjs", "rps")
  print "Measured on a 2-core machine, one server core each (the load average of each run is in docs/benchmarks.md): the ratios and the CPU time per request hold better than the rates. Every run is in `bench/data/`; details and commands in [docs/benchmarks.md](docs/benchmarks.md)."
}' >"$work/speed"

# Replaces the text between the markers of NAME in FILE by the contents of PART.
splice() {  # FILE NAME PART
  local file=$1 name=$2 part=$3
  grep -q "^<!-- bench:$name -->$" "$file" || { echo "make-tables: no <!-- bench:$name --> in $file" >&2; exit 1; }
  awk -v name="$name" -v part="$part" '
    $0 == "<!-- bench:" name " -->" { print; while ((getline l < part) > 0) print l; skip = 1; next }
    $0 == "<!-- /bench:" name " -->" { skip = 0 }
    !skip' "$file" >"$work/spliced" && cat "$work/spliced" >"$file"
}
for t in headline tcp tcp-shapes tcp-extra idle-memory redis nats rmq mqtt meta; do splice docs/benchmarks.md "$t" "$work/$t"; done
for t in kafka kafka-emit; do [ -f "$work/$t" ] && splice docs/benchmarks.md "$t" "$work/$t"; done
for t in grpc grpc-ratios; do [ -f "$work/$t" ] && splice docs/benchmarks.md "$t" "$work/$t"; done
for t in ws ws-ratios; do [ -f "$work/$t" ] && splice docs/benchmarks.md "$t" "$work/$t"; done
splice README.md speed "$work/speed"
echo "make-tables: docs/benchmarks.md and README.md updated from $data"

# The TCP chart: medians against K.
if command -v gnuplot >/dev/null; then
  awk -v file="$tcp" "$lib"'BEGIN { load(file); ns = split("roost nestjs limit", S, " ")
    for (i = 1; i <= ns; i++) for (k = 1; k <= 256; k *= 16)
      printf "%s\t%d\t%s\t%s\n", S[i], k, stat(file, S[i], "loadgen", k, "rps"), stat(file, S[i], "loadgen", k, "p99_us") }' >"$work/chart.tsv"
  gnuplot <<PLOT
set terminal pngcairo size 1000,420
set output "docs/img/bench-tcp.png"
set multiplot layout 1,2 title "TCP, one server core, medians of the rounds in bench/data (in flight K on the x axis)"
set logscale x 2
set xrange [0.7:400]
set xtics ("1" 1, "16" 16, "256" 256)
set key left top
set title "throughput (requests/s)"
plot for [s in "roost nestjs limit"] "< awk -F'\\t' '\$1==\"".s."\"' $work/chart.tsv" using 2:3 with linespoints title s
set title "p99 latency (µs)"
set logscale y 10
plot for [s in "roost nestjs limit"] "< awk -F'\\t' '\$1==\"".s."\"' $work/chart.tsv" using 2:4 with linespoints title s
unset multiplot
PLOT
  echo "make-tables: docs/img/bench-tcp.png"
fi
