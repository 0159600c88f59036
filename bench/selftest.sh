#!/usr/bin/env bash
# Checks that a load generator fails a run it must not publish: a correct run passes, and a
# wrong expected value, an unknown pattern (error replies, or none) and a server that stops
# answering each make it exit 1.
#   bench/selftest.sh BUILD_DIR [tcp|redis|nats|rmq|kafka|mqtt|grpc|client|ws]
# tcp: bench/loadgen against the limit server; redis, nats: redis_loadgen and nats_loadgen
# against roost_peer through the test broker (ROOST_REDIS_URL, ROOST_NATS_URL; a broker that is
# down fails the check); rmq: rmq_loadgen likewise (ROOST_RABBITMQ_URL), on a queue of its own;
# kafka: kafka_loadgen against bench_service (ROOST_KAFKA_URL), requests and events (a server
# that stops answering is checked with requests); mqtt: mqtt_loadgen against roost_peer
# (ROOST_MQTT_URL); grpc: grpc_loadgen against roost_peer's gRPC server (a free port, no
# broker); client: roost's client (client_loadgen, which only calls `sum`) against
# the limit server; ws: ws_loadgen against roost_peer serving ws:// (no broker). ctest runs
# each as bench_selftest[_<transport>].
set -uo pipefail
build=$1 transport=${2:-tcp}
log=$(mktemp)
server=""
trap '[ -n "$server" ] && { kill -CONT $server; kill $server; } 2>/dev/null; rm -f "$log"' EXIT
start() {  # a server that prints "READY <port>"
  "$@" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1 500); do grep -q '^READY' "$log" && break; sleep 0.01; done
  port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$log")
  [ -n "$port" ] || { echo "selftest: the server did not start: $*"; cat "$log"; exit 1; }
}
need_url() {
  [ -n "${!1:-}" ] || { echo "selftest: $1 is not set (scripts/brokers.sh env)"; exit 1; }
}
case $transport in
  tcp | client) start "$build/bench/limit_server" 0 ;;
  redis | nats)
    var=ROOST_${transport^^}_URL
    need_url "$var"
    start "$build/tests/interop/roost_peer" serve --url "${!var}"
    ;;
  rmq)
    need_url ROOST_RABBITMQ_URL
    # Deleted by the broker when the server, its one consumer, goes.
    url="$ROOST_RABBITMQ_URL/?queue=roost-bench-selftest-$$&durable=false&autoDelete=true"
    start "$build/tests/interop/roost_peer" serve --url "$url"
    ;;
  kafka)
    need_url ROOST_KAFKA_URL
    # A consumer group of its own; its topics (sum, tally) are the interop suite's (its lock).
    start "$build/bench/bench_service" --url "$ROOST_KAFKA_URL&groupId=roost-bench-selftest-$$"
    ;;
  mqtt)
    need_url ROOST_MQTT_URL
    url=$ROOST_MQTT_URL
    start "$build/tests/interop/roost_peer" serve --url "$url"
    ;;
  grpc)
    # roost_peer does not tell the port its gRPC server bound: a free one is chosen here.
    grpc_port=$((50400 + $$ % 400))
    while (exec 3<>"/dev/tcp/127.0.0.1/$grpc_port") 2>/dev/null; do grpc_port=$((grpc_port + 1)); done
    proto="$(cd "$(dirname "$0")/.." && pwd)/tests/interop/grpc/roost_test.proto"
    start "$build/tests/interop/roost_peer" serve \
      --url "grpc://127.0.0.1:$grpc_port/?package=interop&protoPath=$proto"
    ;;
  ws) start "$build/tests/interop/roost_peer" serve --url "ws://127.0.0.1:0/chat" ;;
  *) echo "selftest: unknown transport $transport"; exit 2 ;;
esac
quick=()  # what makes a run that must fail fail sooner
case $transport in
  tcp) gen=("$build/bench/loadgen" --port "$port") ;;
  client) gen=("$build/bench/client_loadgen" --url "tcp://127.0.0.1:$port") ;;
  redis)
    hostport=${ROOST_REDIS_URL#*://}
    hostport=${hostport%%/*}
    gen=("$build/bench/redis_loadgen" --host "${hostport%:*}" --port "${hostport##*:}")
    ;;
  nats) gen=("$build/bench/nats_loadgen" --url "$ROOST_NATS_URL") ;;
  rmq) gen=("$build/bench/rmq_loadgen" --url "$url") ;;
  kafka)
    hostport=${ROOST_KAFKA_URL#*://}
    # The first run waits for the server's group join (about 3 s on the mock); an unknown
    # pattern (no server reads its topic) is given 2 s.
    gen=("$build/bench/kafka_loadgen" --brokers "${hostport%%/*}" --probe-seconds 20)
    quick=(--probe-seconds 2)
    ;;
  mqtt) gen=("$build/bench/mqtt_loadgen" --url "$url") ;;
  grpc) gen=("$build/bench/grpc_loadgen" --target "127.0.0.1:$grpc_port") ;;
  ws) gen=("$build/bench/ws_loadgen" --url "ws://127.0.0.1:$port/chat") ;;
esac
out=$(mktemp)
run() { "${gen[@]}" --inflight 16 --seconds 0.3 --warmup 0.1 "$@" >"$out" 2>&1; }
fail=0
if ! run || ! grep -q '"rps":[1-9]' "$out"; then
  echo "selftest: a correct run failed:"; cat "$out"; fail=1
fi
if [ "$transport" != client ]; then
  run --expect 7 && { echo "selftest: wrong values did not fail the run"; fail=1; }
  run --pattern nope "${quick[@]}" &&
    { echo "selftest: an unknown pattern did not fail the run"; fail=1; }
fi
if [ "$transport" = kafka ]; then
  # Events, each counted by the server: a correct run passes.
  # The rate is taken between the server's counts, which take a fetch wait each (100 ms here).
  if ! run --mode emit --inflight 1000 --seconds 1 || ! grep -q '"rps":[1-9]' "$out"; then
    echo "selftest: a correct run of events failed:"; cat "$out"; fail=1
  fi
fi
(sleep 0.2; kill -STOP $server) &
stopper=$!
run "${quick[@]}" && { echo "selftest: unanswered requests did not fail the run"; fail=1; }
wait $stopper
rm -f "$out"
[ $fail = 0 ] && echo "selftest: $(basename "${gen[0]}") fails every run it must"
exit $fail
