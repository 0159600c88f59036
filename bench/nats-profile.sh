#!/usr/bin/env bash
# Where a NATS server's time goes, in figures that a shared, noisy machine does not move much:
# per request served, the server's CPU time (/proc utime + stime), its context switches (all
# threads, /proc/PID/task/*/status), its system calls by kind (strace -c -f, a separate run)
# and its instructions (callgrind, a separate run; requests counted by the calls of a function
# called once per request).
#   bench/nats-profile.sh SERVER_BIN LOADGEN_BIN K [SECONDS] [MODE]
# SERVER_BIN: a `roost_peer`; LOADGEN_BIN: bench/nats_loadgen or bench/client_loadgen
# (both take --url --inflight --seconds --warmup). MODE: cpu (default), strace or callgrind.
# Prints one TSV row: mode K requests rps cpu_us_per_req ctxsw_per_req [syscall counts or Ir].
# TARGET=client: the load generator is measured instead of the server (cpu: /usr/bin/time over
# its whole run; callgrind: COUNT_FN defaults to client::impl::headers_for, called once a request).
# SERVER_QUERY: appended to the server's URL (e.g. ?eventLoop=true). COUNT_FN: the function
# counted as one request (serve_message).
# Starts its own nats-server on a free loopback port (the shared brokers are not touched).
set -uo pipefail
cd "$(dirname "$0")/.."
server_bin=$1 loadgen=$2 k=$3 secs=${4:-4} mode=${5:-cpu}
target=${TARGET:-server}
if [ "$target" = client ]; then count_fn=${COUNT_FN:-client::impl::headers_for}; else count_fn=${COUNT_FN:-serve_message}; fi
port=17390
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
url="nats://127.0.0.1:$port"
work=$(mktemp -d)
taskset -c 0 nats-server -a 127.0.0.1 -p "$port" -l "$work/nats.log" </dev/null >/dev/null 2>&1 &
broker=$!
spid=""
cleanup() {
  [ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
  kill -TERM "$broker" 2>/dev/null
  wait "$broker" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 200); do
  [ "$(bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; head -c 4 <&3" 2>/dev/null)" = INFO ] && break
  sleep 0.02
done
case $mode-$target in
  callgrind-server)
    taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
      "$server_bin" serve --url "$url${SERVER_QUERY:-}" >"$work/server.log" 2>"$work/vg.log" &
    ;;
  *) taskset -c 1 "$server_bin" serve --url "$url${SERVER_QUERY:-}" >"$work/server.log" 2>&1 & ;;
esac
spid=$!
for _ in $(seq 1 3000); do grep -q '^READY' "$work/server.log" && break; sleep 0.01; done
grep -q '^READY' "$work/server.log" || { echo "profile: the server did not start" >&2; exit 1; }
ctxsw() { cat /proc/"$spid"/task/*/status 2>/dev/null | awk '/_ctxt_switches/ { n += $2 } END { print n + 0 }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$spid/stat"; }
if [ "$target" = client ]; then
  taskset -c 0 "$loadgen" --url "$url" --inflight "$k" --seconds 1 --warmup 0 >/dev/null 2>&1
  if [ "$mode" = callgrind ]; then
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
      "$loadgen" --url "$url" --inflight "$k" --seconds "$secs" --warmup 0 >"$work/res" 2>"$work/vg.log"
  else
    /usr/bin/time -o "$work/time" -f '%U %S %w %c' taskset -c 0 \
      "$loadgen" --url "$url" --inflight "$k" --seconds "$secs" --warmup 0 >"$work/res" 2>&1
  fi
  res=$(grep '"rps"' "$work/res" | tail -1)
  n=$(sed -E 's/.*"requests":([0-9]+).*/\1/' <<<"$res")
  rps=$(sed -E 's/.*"rps":([0-9.]+).*/\1/' <<<"$res")
  if [ "$mode" = callgrind ]; then
    read -r ir calls < <(python3 bench/callgrind-count.py "$count_fn" "$work"/cg.out*)
    printf 'client-callgrind\t%s\t%s\t%s\tcalls=%s\tIr/req=%s\n' "$k" "$n" "$rps" "$calls" \
      "$(awk -v i="$ir" -v c="$calls" 'BEGIN { if (c) printf "%.0f", i / c }')"
  else
    read -r u sy w c <"$work/time"
    printf 'client-cpu\t%s\t%s\t%s\t%s\n' "$k" "$n" "$rps" \
      "$(awk -v n="$n" -v u="$u" -v s="$sy" -v w="$w" -v c="$c" 'BEGIN { printf "%.1f\t%.2f", (u + s) * 1e6 / n, (w + c) / n }')"
  fi
  exit 0
fi
# Warm-up run first, so that start-up costs are not counted.
taskset -c 0 "$loadgen" --url "$url" --inflight "$k" --seconds 1 --warmup 0 >/dev/null 2>&1
case $mode in
  strace) strace -c -f -q -o "$work/strace" -p "$spid" & tracer=$!; sleep 1 ;;
  callgrind) callgrind_control -z "$spid" >/dev/null 2>&1 ;;
esac
c0=$(ctxsw) t0=$(ticks)
res=$(taskset -c 0 "$loadgen" --url "$url" --inflight "$k" --seconds "$secs" --warmup 0 2>&1 | tail -1)
c1=$(ctxsw) t1=$(ticks)
n=$(sed -E 's/.*"requests":([0-9]+).*/\1/' <<<"$res")
rps=$(sed -E 's/.*"rps":([0-9.]+).*/\1/' <<<"$res")
hz=$(getconf CLK_TCK)
# The loadgen counts only the replies inside its window; the CPU and switch samples span the
# whole run, a little more: per request figures are slightly high, alike for every build.
base=$(awk -v n="$n" -v c="$((c1 - c0))" -v t="$((t1 - t0))" -v hz="$hz" \
  'BEGIN { printf "%.1f\t%.2f", t * 1e6 / hz / n, c / n }')
case $mode in
  cpu) printf 'cpu\t%s\t%s\t%s\t%s\n' "$k" "$n" "$rps" "$base" ;;
  strace)
    kill -INT "$tracer"; wait "$tracer" 2>/dev/null
    calls=$(awk -v n="$n" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {
      printf "%s=%.2f ", $NF, $4 / n }' "$work/strace")
    total=$(awk -v n="$n" '$NF == "total" { printf "%.2f", $3 / n }' "$work/strace")
    printf 'strace\t%s\t%s\t%s\t%s\tsyscalls/req=%s\t%s\n' "$k" "$n" "$rps" "$base" "$total" "$calls" ;;
  callgrind)
    callgrind_control -d "$spid" >/dev/null 2>&1
    sleep 1
    f=$(ls -t "$work"/cg.out* | head -1)
    # Instructions of every thread (callgrind's totals) over the calls of $count_fn.
    read -r ir calls < <(python3 bench/callgrind-count.py "$count_fn" "$work"/cg.out*)
    printf 'callgrind\t%s\t%s\t%s\t%s\tcalls=%s\tIr/req=%s\n' "$k" "$n" "$rps" "$base" "$calls" \
      "$(awk -v i="$ir" -v c="$calls" 'BEGIN { if (c) printf "%.0f", i / c }')"
    ;;
esac
