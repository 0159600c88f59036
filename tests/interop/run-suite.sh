#!/usr/bin/env bash
# Runs every scenario of SCENARIOS.md with one client peer against one server peer.
#   run-suite.sh --server roost|nest12|nest11 --client roost|nest12|nest11 --build DIR
#                [--transport tcp|tls|redis|mqtt|mqtt5|...] [--url BROKER_URL] [--out results.tsv] [--only "s1 s2"]
#                [--config wildcards|queue]
# TCP servers listen on a free port of 127.0.0.1; a broker transport's peers both use --url.
# `tls` is TCP over mutual TLS, with a CA and a certificate made here for the run.
# --config runs the scenarios of a second server configuration instead (SCENARIOS.md): Redis
# `wildcards` (the server PSUBSCRIBEs), or a NATS `queue` group of the two servers of
# `--server a+b`, in a group and on subjects of this run alone.
# What goes on the wire in each scenario: docs/wire-protocol.md (per transport).
# Prints PASS/FAIL per scenario and "N passed, N failed"; exits 1 if any failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
server="" client="" build="" transport=tcp url="" out="" only="" config=""
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server=$2; shift 2 ;;
    --client) client=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --transport) transport=$2; shift 2 ;;
    --url) url=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    *) echo "run-suite: unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=peers.sh
. "$here/peers.sh"
# --server a+b starts two servers (a queue group).
servers=${server//+/ }
server_cmds=()
for s in $servers; do server_cmds+=("$(peer_cmd "$s")") || exit 2; done
client_cmd=$(peer_cmd "$client") || exit 2
for c in "${server_cmds[@]}" "$client_cmd"; do
  [ -x "$c" ] || { echo "run-suite: $c is missing (build it, or run scripts/install-interop.sh)"; exit 1; }
done

all_scenarios="sum echo.strings echo.nested echo.large echo.huge echo.falsy echo.null
object-pattern object-pattern.mixed-keys object-pattern.non-ascii object-pattern.case
object-pattern.nested numeric-pattern stream.0 stream.1 stream.1000 stream.then-wait
stream.then-fail stream.interleaved void error.rpc error.object error.internal error.thrown
error.rpc-values no-handler events events.multi concurrent timeout ctx headers jwt reconnect
server-close-mid-stream"
# Scenarios that mean nothing on a transport (SCENARIOS.md says why); both peers agree. A broker
# transport cannot see a server die (the broker stays up); on Redis no server subscribes to a
# route without a handler, so there is no "no handler" reply. `headers` and `jwt` need NATS
# headers or NestJS 12's packet metadata: NestJS 11 has none on TCP and Redis.
# TLS changes the bytes under the frames, not the packets: it runs the scenarios that stress the
# connection (sizes, streams, concurrency, restarts), not every pattern and error form again.
# RabbitMQ over TLS (rmqs) and MQTT over TLS (mqtts) likewise.
{ [ "$transport" = tls ] || [ "$transport" = rmqs ] || [ "$transport" = mqtts ]; } && all_scenarios="sum echo.strings echo.large echo.huge object-pattern
stream.1000 stream.then-wait error.rpc no-handler events concurrent timeout ctx headers jwt
reconnect server-close-mid-stream"
# Kafka: the scenarios whose patterns are topic names (no object patterns) and that keep their
# meaning there (SCENARIOS.md, "Kafka"): no "no handler" reply (no server reads a topic without a
# handler), no null data (a null value is a reply's end), no restarts (a group's rejoin waits
# out the session), nothing over the producer's 1 MB record limit.
[ "$transport" = kafka ] && all_scenarios="sum echo.strings echo.nested echo.falsy
numeric-pattern stream.1 stream.1000 stream.then-wait stream.then-fail stream.interleaved void
error.rpc error.object error.internal error.thrown error.rpc-values events concurrent timeout ctx
headers"
# gRPC: its own scenarios, calls of the methods of grpc/roost_test.proto (SCENARIOS.md, "gRPC").
[ "$transport" = grpc ] && all_scenarios="grpc.sum grpc.range grpc.stream-error grpc.error-code
grpc.error-text grpc.error-internal grpc.unimplemented grpc.metadata grpc.client-stream grpc.bidi"
case "$transport" in
  nats | rmq | rmqs) excluded="server-close-mid-stream" ;;
  redis | rediss) excluded="no-handler server-close-mid-stream" ;;
  # MQTT: as Redis (a request to a topic no server subscribes to is never answered). Headers
  # are MQTT 5 user properties; NestJS's MQTT server reads no packet metadata, so 3.1.1 has none.
  mqtt | mqtts) excluded="no-handler server-close-mid-stream headers jwt" ;;
  mqtt5) excluded="no-handler server-close-mid-stream" ;;
  *) excluded="" ;;
esac
# NATS, RabbitMQ, MQTT 5 and Kafka carry headers of their own, which NestJS 11 sends and reads too.
if [ "$transport" != nats ] && [ "$transport" != rmq ] && [ "$transport" != rmqs ] &&
  [ "$transport" != mqtt5 ] && [ "$transport" != kafka ] &&
  { [ "$server" = nest11 ] || [ "$client" = nest11 ]; }; then
  excluded="$excluded headers jwt"
fi
# NestJS 11's Kafka server never answers a stream that ends without a value (count.then-wait 0):
# its handler waits for a first value, and its consumer stops there (NestJS 12 fixed it).
[ "$transport" = kafka ] && [ "$server" = nest11 ] && excluded="$excluded stream.then-wait"
for x in $excluded; do all_scenarios=$(echo " $all_scenarios " | tr '\n' ' ' | sed "s/ $x / /"); done
# A second server configuration: its own scenarios, and the server's (and client's) URL query.
# `table`: the transport column of --out, the matrix's table (a queue group's columns name two
# servers).
table=$transport server_query="" client_query=""
case "$config" in
  "") ;;
  wildcards)
    case "$transport" in
      redis | rediss) server_query="wildcards=true" ;;
      # RabbitMQ: the client publishes to the exchange too (NestJS's client option).
      rmq) ;;
      *) echo "run-suite: wildcards is a Redis and RabbitMQ option"; exit 2 ;;
    esac
    all_scenarios="wildcards" ;;
  queue)
    [ "$transport" = nats ] || { echo "run-suite: queue groups are a NATS option"; exit 2; }
    [ "$(echo $servers | wc -w)" -eq 2 ] || { echo "run-suite: a queue group needs --server a+b"; exit 2; }
    # A group and subjects no other run uses: no stray server can answer or count.
    group="interop-q$$-$RANDOM"
    all_scenarios="queue.requests queue.events" table=nats-queue
    server_query="queue=$group" client_query="queue=$group" ;;
  *) echo "run-suite: unknown --config $config"; exit 2 ;;
esac
[ "$(echo $servers | wc -w)" -eq 1 ] || [ "$config" = queue ] ||
  { echo "run-suite: two servers only with --config queue"; exit 2; }
scenarios=${only:-$all_scenarios}

work=$(mktemp -d)
srv_pids=""
port=0
cleanup() {
  [ -n "$srv_pids" ] && kill -9 $srv_pids 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

case "$transport" in
  tcp | tls | grpc) ;;
  *) [ -n "$url" ] || { echo "run-suite: --transport $transport needs --url"; exit 2; } ;;
esac
# RabbitMQ: a queue of this run alone (each direction its own: a stray server of another run
# cannot take its messages), not durable (it goes with the broker).
broker_query=""
[[ $transport = rmq* ]] && broker_query="queue=interop-$client-$server-$$-$RANDOM&durable=false"
[ "$transport" = rmq ] && [ "$config" = wildcards ] && broker_query="$broker_query&wildcards=true"
# mqtt5: the MQTT transport over MQTT 5 (mqtt: 3.1.1, both peers' default).
[ "$transport" = mqtt5 ] && broker_query="protocolVersion=5"
# Kafka: consumer groups and client ids of this run alone (each direction its own; the NestJS
# client adds its own suffix). The topics are the handlers' routes, shared by the directions,
# which run one at a time (RESOURCE_LOCK): a server reads from the end as of its start.
[ "$transport" = kafka ] && broker_query="groupId=interop-$client-$server-$$-$RANDOM&clientId=interop-$client-$server"
# TLS: a throwaway CA and one certificate it signs (for 127.0.0.1, usable by a server and by a
# client), so both peers verify each other: the server asks for the client's certificate.
if [ "$transport" = tls ]; then
  bash "$here/make-certs.sh" "$work" >"$work/certs.log" 2>&1 ||
    { echo "run-suite: making the TLS certificates failed:"; cat "$work/certs.log"; exit 1; }
  tls_query="ca=$work/ca.crt&cert=$work/peer.crt&key=$work/peer.key"
fi
# `jwt`: an issuer's key pair and a forger's key, made for the run; the servers trust the
# issuer's public key, the clients sign with either (make-jwt-keys.sh). Both peers find them in
# ROOST_INTEROP_JWT_KEYS, and the guarded route in ROOST_INTEROP_JWT_ROUTE: a route of this run
# alone, as a server of another run on the same broker trusts other keys and would refuse our
# tokens. A server without them has no guarded route.
if [[ " $(echo $scenarios) " == *" jwt "* ]]; then
  mkdir "$work/jwt" && bash "$here/make-jwt-keys.sh" "$work/jwt" >"$work/jwt.log" 2>&1 ||
    { echo "run-suite: making the JWT keys failed:"; cat "$work/jwt.log"; exit 1; }
  export ROOST_INTEROP_JWT_KEYS="$work/jwt" ROOST_INTEROP_JWT_ROUTE="jwt.whoami.$$-$RANDOM"
fi
# The URL both peers use: the server's port for TCP, the broker's URL otherwise; $2, a query
# to add.
peer_url() {  # $1: port, $2: query
  local u
  case "$transport" in
    tcp) u="tcp://127.0.0.1:$1" ;;
    tls) u="tls://127.0.0.1:$1?$tls_query" ;;
    # gRPC: a port of the suite's own (a NestJS server does not tell the one it bound).
    grpc) u="grpc://127.0.0.1:${ROOST_INTEROP_GRPC_PORT:-50151}/?package=interop&protoPath=$here/grpc/roost_test.proto" ;;
    *) u="$url" ;;
  esac
  local q=$2
  [ -n "$broker_query" ] && q="$broker_query${q:+&$q}"
  set -- "$1" "$q"
  if [ -z "$2" ]; then echo "$u"
  elif [[ "$u" == *\?* ]]; then echo "$u&$2"
  else echo "$u/?$2"; fi
}

# Starts the server(s) on port $1 (TCP; 0: any port); sets srv_pids and port. Two servers (a
# queue group) are named `<group>-1` and `<group>-2`, which the client expects in that order.
# The servers start at once (a NestJS server takes seconds), then each must say READY.
start_server() {
  local i=0 query logs=() pids=()
  for s in $servers; do
    query=$server_query
    [ -n "$client_query" ] && query="$query&name=$group-$((i + 1))"
    logs+=("$work/server.$RANDOM.log")
    launch_peer_server "${server_cmds[$i]}" "$(peer_url "$1" "$query")" "${logs[$i]}"
    pids+=("$srv_pid")
    srv_pids="$srv_pids $srv_pid"
    i=$((i + 1))
  done
  i=0
  for s in $servers; do
    if ! await_peer_server "${logs[$i]}" "${pids[$i]}"; then
      echo "run-suite: the $s server did not start (its output is above)"
      return 1
    fi
    i=$((i + 1))
  done
}
stop_server() {  # $1: signal
  [ -z "$srv_pids" ] && return
  kill "-$1" $srv_pids 2>/dev/null
  wait $srv_pids 2>/dev/null
  srv_pids=""
}

# Records one scenario's outcome: $1 name, $2 PASS|FAIL, $3 what failed, $4 milliseconds taken.
record() {
  if [ "$2" = PASS ]; then
    passed=$((passed + 1)); echo "PASS $1"
  else
    failed=$((failed + 1)); echo "FAIL $1: $3"; sed 's/^/    /' "$work/client.err" | tail -5
  fi
  # The sixth column is the scenario's wall time in seconds (the first of a batch includes the
  # client's start-up, a restart scenario the server's restart).
  [ -n "$out" ] && printf '%s\t%s\t%s\t%s\t%s\t%d.%03d\n' "$table" "$client" "$server" "$1" \
    "$2" $(($4 / 1000)) $(($4 % 1000)) >>"$out"
}

# One client process runs every scenario that needs no help from the harness, one after the
# other with a fresh client each (the peers take a comma-separated list): a NestJS client
# starts in seconds, which per scenario was most of the suite's time. The scenarios that wait
# for the harness (WAIT lines) run alone.
batch="" alone=""
for s in $scenarios; do
  case "$s" in
    reconnect | server-close-mid-stream) alone="$alone $s" ;;
    *) batch="${batch:+$batch,}$s" ;;
  esac
done

start_server 0 || exit 1
passed=0 failed=0
[ -n "$out" ] && : >"$out"
for unit in $batch $alone; do
  names=${unit//,/ }
  n=$(echo $names | wc -w)
  done_names=" "
  t0=$(date +%s%N)
  # --server-impl: the `ctx` scenario checks that the server it reaches is the one started here.
  coproc CLIENT { exec timeout $((30 + 60 * n)) "$client_cmd" call --url "$(peer_url "$port" "$client_query")" \
    --scenario "$unit" --server-impl "$server" 2>"$work/client.err"; }
  client_pid=$CLIENT_PID
  # Keep our own copies: bash unsets CLIENT once the client exits, which a fast one does.
  exec {cout}<&"${CLIENT[0]}" {cin}>&"${CLIENT[1]}"
  while IFS= read -r line <&"$cout"; do
    case "$line" in
      "WAIT restart")
        stop_server TERM
        start_server "$port" || break
        echo go >&"$cin" ;;
      "WAIT kill")
        stop_server KILL ;;
      PASS\ * | FAIL\ *)
        rest=${line#* } name=${rest%%:*}
        now=$(date +%s%N)
        [ "${line%% *}" = PASS ] && why="" || why=${rest#*: }
        record "$name" "${line%% *}" "$why" $(((now - t0) / 1000000))
        done_names="$done_names$name "
        t0=$now ;;
    esac
  done
  wait "$client_pid" 2>/dev/null
  rc=$?
  exec {cout}<&- {cin}>&-
  [ -z "$srv_pids" ] && { start_server "$port" || start_server 0 || exit 1; }
  # A scenario the client never reported on (it crashed, or timed out) failed.
  for name in $names; do
    case "$done_names" in
      *" $name "*) ;;
      *) record "$name" FAIL "no result (client exit $rc; 124: timed out)" 0 ;;
    esac
  done
done
echo "$client -> $server over $transport${config:+ ($config)}: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
