#!/usr/bin/env bash
# A/B of roost's own servers: the build of this tree against the build of another commit,
# taking turns in each round (so that load from elsewhere on the machine weighs on both alike),
# over TCP, Redis and NATS at K = 1, 16, 256 with the C++ load generators of THIS build (every
# reply checked). Used to show that a change costs no throughput.
#   bench/ab.sh NEW_BUILD_DIR OLD_BUILD_DIR     (SECONDS_PER_POINT=4, ROUNDS=3, BENCH_OUT=bench/results)
# Writes $BENCH_OUT/ab-runs.tsv (round, server = new|old, client = transport, K, ...) and prints
# the medians over rounds with their ranges.
set -uo pipefail
cd "$(dirname "$0")/.."
new=${1:?new build dir}
old=${2:?old build dir}
source bench/lib.sh
for f in "$new/tests/interop/roost_peer" "$old/tests/interop/roost_peer" "$new/bench/loadgen" \
  "$new/bench/redis_loadgen" "$new/bench/nats_loadgen"; do
  [ -x "$f" ] || { echo "bench-ab: $f is missing (build first)"; exit 1; }
done

work=$(mktemp -d)
redis_port=$(free_port_from 16490)
start_redis "$redis_port" "$work" || { echo "bench-ab: redis-server failed"; exit 1; }
nats_port=$(free_port_from 16590)
start_nats "$nats_port" "$work" "$client_cpu"
nats=$nats_pid
cleanup() {
  stop_server
  kill -TERM "$nats" "$(cat "$work/redis.pid" 2>/dev/null)" 2>/dev/null
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT
wait_redis "$redis_port"
wait_nats "$nats_port"
redis=$(cat "$work/redis.pid")

declare -A build_of=([new]=$new [old]=$old)
runs="$out/ab-runs.tsv"
runs_header "$runs"
for round in $(seq 1 "$rounds"); do
  for t in tcp redis nats; do
    for s in new old; do
      peer="${build_of[$s]}/tests/interop/roost_peer"
      case $t in
        tcp) start_server "$s" "$peer" serve --url tcp://127.0.0.1:0 ;;
        redis) start_server "$s" "$peer" serve --url "redis://127.0.0.1:$redis_port" ;;
        nats) start_server "$s" "$peer" serve --url "nats://127.0.0.1:$nats_port" ;;
      esac
      sleep 0.3
      for k in 1 16 256; do
        case $t in
          tcp) run_point "$pid" - "$new/bench/loadgen" --port "$port" --inflight "$k" \
            --seconds "$secs" --warmup "$warmup" ;;
          redis) run_point "$pid" "$redis" "$new/bench/redis_loadgen" --port "$redis_port" \
            --inflight "$k" --seconds "$secs" --warmup "$warmup" ;;
          nats) run_point "$pid" "$nats" "$new/bench/nats_loadgen" --url "nats://127.0.0.1:$nats_port" \
            --inflight "$k" --seconds "$secs" --warmup "$warmup" ;;
        esac
        emit_row "$runs" "$round" "$s" "$t" "$k"
      done
      stop_server
    done
  done
done

echo
echo "medians over $rounds rounds (min-max); new / old"
awk -F'\t' 'NR > 1 { key = $3 " K=" $4; rps[key, $2] = rps[key, $2] " " $5; cpu[key, $2] = cpu[key, $2] " " $9; keys[key] = 1 }
  function med(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return sprintf("%s (%s-%s)", (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2, a[1], a[n])
  }
  END { for (k in keys) printf "%-16s req/s new %s old %s | CPU us/req new %s old %s\n", k,
        med(rps[k, "new"]), med(rps[k, "old"]), med(cpu[k, "new"]), med(cpu[k, "old"]) }' "$runs" | sort
