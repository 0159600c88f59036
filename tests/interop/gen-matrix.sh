#!/usr/bin/env bash
# Writes the interop matrix (scenario x direction) from the suite's results:
#   gen-matrix.sh BUILD_DIR > docs/interop.md
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
files=("$build"/interop/*.tsv)
[ -e "${files[0]}" ] || { echo "gen-matrix: no results in $build/interop" >&2; exit 1; }
label() {  # a peer, or a queue group of two (roost+nest12)
  local out="" p
  for p in ${1//+/ }; do
    case "$p" in roost) p=roost ;; nest12) p="NestJS 12" ;; nest11) p="NestJS 11" ;; esac
    out+="${out:+ + }$p"
  done
  echo "$out"
}
heading() {
  case "$1" in
    rediss) echo "REDIS over TLS (\`rediss://\`)" ;;
    nats-queue) echo "NATS queue groups (two servers)" ;;
    tls) echo "TCP over TLS (\`tls://\`)" ;;
    rmq) echo "RabbitMQ (\`amqp://\`)" ;;
    rmqs) echo "RabbitMQ over TLS (\`amqps://\`)" ;;
    mqtt) echo "MQTT 3.1.1 (\`mqtt://\`)" ;;
    mqtt5) echo "MQTT 5 (\`mqtt://...?protocolVersion=5\`)" ;;
    mqtts) echo "MQTT 3.1.1 over TLS (\`mqtts://\`)" ;;
    kafka) echo "Kafka (\`kafka://\`)" ;;
    grpc) echo "gRPC (\`grpc://\`)" ;;
    ws) echo "WebSocket gateways (\`ws://\`)" ;;
    wss) echo "WebSocket gateways over TLS (\`wss://\`)" ;;
    *) echo "${1^^}" ;;
  esac
}
# What a transport's table holds beyond its name, as a paragraph; nothing for most.
note() {
  case "$1" in
    rediss)
      echo "Mutual TLS: the broker (\`scripts/brokers.sh\`) listens on TLS only and requires a client"
      echo "certificate, so every connection of both peers verifies the broker's certificate and"
      echo "presents the client certificate the URL names (\`ca=\`, \`cert=\`, \`key=\`), all signed"
      echo "by a CA made at start. Without it every peer, roost, NestJS 12 and NestJS 11, is refused"
      echo "as server and as client, and says so (ctest \`interop_rediss_client_cert_required\`)."
      echo ;;
    redis)
      echo "\`wildcards\`: a server with \`wildcards=true\` (ctest \`interop_redis_wildcards_<client>_to_<server>\`,"
      echo "\`run-suite.sh --config wildcards\`): \`orders.*\` answers \`orders.created\` and \`orders.42\`, naming"
      echo "the server and the channel; \`audit.*\` takes events. Against NestJS 11 the requests time out:"
      echo "it replies on \`orders.*.reply\`, where no client listens (checked as such)."
      echo ;;
    nats-queue)
      echo "Two servers with the same \`queue\` (ctest \`interop_nats_queue_<client>_to_<server>_<server>\`,"
      echo "\`run-suite.sh --config queue\`), of one implementation or mixed, in a group and on subjects of"
      echo "the run alone. Counted per server: 40 requests each answered once, by the server that"
      echo "counted it; 40 events each counted once; both servers took some."
      echo ;;
    tcp)
      echo "Also \`interop_tcp_max_buffer\` (\`tests/interop/max-buffer.sh\`): in each direction a request"
      echo "over the server's \`maxBufferSize\` fails at once with \`Connection closed\`, and the server"
      echo "logs it and keeps serving."
      echo
      echo "Also \`interop_orders_example_nest12_client\` (\`tests/interop/orders-example.sh\`): the"
      echo "\`examples/orders\` service called by its NestJS 12 client (\`examples/orders/nest-client.mjs\`),"
      echo "which sends its token as packet metadata: allowed, refused by the order's JSON Schema (every"
      echo "field's problem and the service's own code, from its exception filter), missing scope and"
      echo "missing token."
      echo ;;
    rmq)
      echo "Each direction on a queue of its own (\`durable=false\`), requests answered by direct reply-to."
      echo "\`headers\` travels as AMQP headers (NestJS: \`RmqRecordBuilder\`), NestJS 11 included."
      echo "\`wildcards\`: both peers with \`wildcards=true\` (ctest \`interop_rmq_wildcards_<client>_to_<server>\`):"
      echo "the client publishes to the exchange, the server bound every route; \`orders.*\` answers"
      echo "\`orders.created\` and \`orders.42\` with the routing key, \`audit.*\` takes events."
      echo ;;
    rmqs)
      echo "Mutual TLS to the broker: a second RabbitMQ node (\`scripts/brokers.sh\`, \`rabbitmqs\`) listens on"
      echo "TLS only and requires a client certificate; both peers verify its certificate and present the"
      echo "one the URL names (NestJS: \`socketOptions.connectionOptions\`). The scenarios that stress the"
      echo "connection, between roost and each NestJS."
      echo ;;
    mqtts)
      echo "Mutual TLS to the broker: a second mosquitto listener (\`scripts/brokers.sh\`, \`mosquittos\`) takes"
      echo "TLS only and requires a client certificate; both peers verify its certificate and present the"
      echo "one the URL names (NestJS: the \`mqtt\` package's \`ca\`, \`cert\`, \`key\`). The scenarios that stress"
      echo "the connection, between roost and each NestJS."
      echo ;;
    kafka)
      echo "librdkafka's mock cluster (\`scripts/brokers.sh\`); NestJS on kafkajs. Scalars travel as text"
      echo "(NestJS's \`KafkaParser\`), so both clients expect \`\"6\"\` for a sum; events are compared"
      echo "sorted (they land on several partitions); \`headers\` are record headers, NestJS 11 included."
      echo "Object patterns, \`no-handler\`, null data, over-1 MB records, restarts and \`jwt\` are not run"
      echo "(SCENARIOS.md, \"Kafka\"); nor \`stream.then-wait\` against NestJS 11's server, which never"
      echo "answers a stream that ends without a value."
      echo ;;
    grpc)
      echo "Its own scenarios (SCENARIOS.md, \"gRPC\"): the methods of \`tests/interop/grpc/roost_test.proto\`,"
      echo "served by \`@GrpcMethod\` handlers and roost's \`{\"service\",\"rpc\"}\` ones, called through"
      echo "\`ClientGrpc\` and roost's \`client_proxy\`: unary, server streaming, an error mid-stream,"
      echo "statuses from codes, text and thrown errors, UNIMPLEMENTED, metadata."
      echo
      echo "Also \`interop_grpc_health\` (\`tests/interop/grpc-health.sh\`, \`nest/grpc-health.mjs\`): @grpc/grpc-js"
      echo "calls a roost server's standard health service (\`grpc.health.v1.Health\`) with the protocol's"
      echo "health.proto: \`Check\` of the whole server and of a served service answer \`SERVING\`, another"
      echo "service \`NOT_FOUND\`, and \`Watch\` first sends \`SERVING\`."
      echo ;;
    ws)
      echo "Its own scenarios (\`tests/interop/ws-gateway.sh\`, \`nest/ws-peer.mjs\`): a NestJS gateway"
      echo "(\`@WebSocketGateway\`, \`@SubscribeMessage\`, \`@nestjs/platform-ws\`) and roost's \`roost::ws\`"
      echo "server, called by roost's client and by the \`ws\` package as a browser speaks: \`{\"event\",\"data\"}\`"
      echo "answered, a stream's values, nothing for null/unknown/non-JSON messages, an error as the"
      echo "event \`exception\` (NestJS 11 sends nothing, checked as such), a push before the answer."
      echo ;;
    wss)
      echo "The same scenarios over TLS, between roost and each NestJS: a CA and a certificate made for"
      echo "the run; the NestJS gateway runs on a Node \`https\` server given to platform-ws's \`WsAdapter\`,"
      echo "the \`ws\` client and roost's verify the server against the CA."
      echo ;;
    tls)
      echo "Mutual TLS (NestJS's \`tlsOptions\`): a CA and a certificate made for the run; the server"
      echo "requires the client's certificate. The scenarios that stress the connection, not every"
      echo "pattern and error form again."
      echo ;;
  esac
}
cat <<HEAD
# Interoperability with NestJS

Produced by the conformance suite (\`tests/interop/\`, scenarios in
[tests/interop/SCENARIOS.md](../tests/interop/SCENARIOS.md)), not by hand:
\`make test\` runs it and \`tests/interop/gen-matrix.sh build\` writes this page.
Each column is one direction, *client → server*; NestJS → NestJS is the reference that shows
the scenario itself is right. NestJS peers: @nestjs/microservices 12.1.1 and 11.2.6. What goes
on the wire: [wire-protocol.md](wire-protocol.md).

\`jwt\` is a guarded service called with a token, both ways: the client sends
\`authorization: Bearer <RS256 token>\` (NestJS 12 packet metadata on TCP and Redis, a NATS
header); the server's guard (roost's \`jwt_guard\`, or a NestJS guard verifying with
\`jsonwebtoken\`) lets the valid token reach the handler, which answers its \`sub\`, and answers
\`Forbidden resource\` to none, an expired, a forged and another audience's
([security.md](security.md#how-credentials-travel)). — marks a scenario a direction does not run:
NestJS 11 has no packet metadata, so \`headers\` and \`jwt\` do not run with it on TCP and Redis.

HEAD
for transport in $(cut -f1 "${files[@]}" | sort -u); do
  echo "## $(heading "$transport")"
  echo
  note "$transport"
  dirs=()
  for f in "${files[@]}"; do
    d=$(awk -F'\t' -v t="$transport" '$1 == t { print $2 " " $3; exit }' "$f")
    # A direction's rows may come from several files (the suite and a second configuration).
    [ -n "$d" ] && [[ " ${dirs[*]/%/|} " != *" $d| "* ]] && dirs+=("$d")
  done
  header="| scenario |"; rule="|---|"
  for d in "${dirs[@]}"; do
    set -- $d
    header+=" $(label "$1") → $(label "$2") |"; rule+="---|"
  done
  echo "$header"; echo "$rule"
  scenarios=$(awk -F'\t' -v t="$transport" '$1 == t && !seen[$4]++ { print $4 }' "${files[@]}")
  for s in $scenarios; do
    row="| \`$s\` |"
    for d in "${dirs[@]}"; do
      set -- $d
      r=$(awk -F'\t' -v t="$transport" -v c="$1" -v v="$2" -v s="$s" \
        '$1 == t && $2 == c && $3 == v && $4 == s { print $5 }' "${files[@]}" | tail -1)
      case "$r" in PASS) row+=" pass |" ;; FAIL) row+=" **FAIL** |" ;; *) row+=" — |" ;; esac
    done
    echo "$row"
  done
  echo
done
