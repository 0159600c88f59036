#!/usr/bin/env bash
# `roost record --from` and `roost shadow --from` on NATS, Redis and MQTT. The NestJS
# conformance service is recorded by a subscriber beside it while a client calls it, and the
# recording is replayed against roost's (roost_peer) on the same transport; then roost_peer,
# serving its own subjects on the same broker, shadows a live NestJS service. The peers serve
# the subjects of this run alone (their `queue=Q` handlers: Q.work, Q.tally, Q.stats.<name>), on
# NATS in a queue group.
#   migrate_brokers_test.sh ROOST_BINARY ROOST_PEER NEST_NODE_SH   (reads ROOST_NATS_URL,
#                                                  ROOST_REDIS_URL and ROOST_MQTT_URL)
set -uo pipefail
roost=$1 roost_peer=$2 nest=$3
. "$(dirname "${BASH_SOURCE[0]}")/migrate_lib.sh"

# tap NAME ARGS...: starts `roost ARGS` (record or shadow --from) and waits until it has
# subscribed; sets tap_pid.
tap() {
  start "$1" 'subscribed to' "${@:2}"
  tap_pid=$started_pid
}
# The traffic: two requests, an event and the service's counts; what NestJS answers to it.
drive() {
  "$roost" call "$1" "$2.work" 1 --header trace=t1 && "$roost" emit "$1" "$2.tally" 2 &&
    "$roost" call "$1" "$2.work" 3 && "$roost" call "$1" "$2.stats.x" 0
}
want=$(printf '%s\n' '{"impl":"nest12","name":"x"}' '{"impl":"nest12","name":"x"}' \
  '{"served":2,"events":1}')

for var in ROOST_NATS_URL ROOST_REDIS_URL ROOST_MQTT_URL; do
  url=${!var:-}
  if [ -z "$url" ]; then
    fail "$var is not set (scripts/brokers.sh env)"
    continue
  fi
  q="migrate$$r$RANDOM"
  case $var in
    ROOST_NATS_URL) name=nats patterns=(--pattern "$q.>") ;;
    ROOST_REDIS_URL) name=redis patterns=(--pattern "$q.*") ;;
    *) name=mqtt patterns=(--pattern "$q.work" --pattern "$q.tally" --pattern "$q.stats.x") ;;
  esac

  # ---- record beside the NestJS service ----
  serve "nest-$name" "$url/?queue=$q&name=x" "$nest"
  nest_pid=$srv_pid
  tap "record-$name" record --from "$url" "${patterns[@]}" --out "$work/$name.jsonl"
  # The service answers as without the recorder (it takes nothing away, queue group or not).
  got=$(drive "$url" "$q")
  [ "$got" = "$want" ] && pass || fail "$name: the service answered [$got], want [$want]"
  # Every reply is in before the recording stops (the last call has its answer).
  stop "$tap_pid" "record-$name"
  grep -q '3 requests and 1 events recorded' "$work/record-$name.err" && pass ||
    fail "$name: record's summary: $(cat "$work/record-$name.err")"
  grep -q "\"pattern\":\"$q.stats.x\",\"data\":0,.*\"replies\":\[{\"served\":2,\"events\":1}\].*\"channel\":\"$q.stats.x\"" \
    "$work/$name.jsonl" && grep -q "\"kind\":\"event\",\"pattern\":\"$q.tally\",\"data\":2" "$work/$name.jsonl" &&
    pass || fail "$name: the recording lacks a reply or the event: $(cat "$work/$name.jsonl")"
  # Metadata (in the packet on Redis and MQTT 3.1.1, in the message headers on NATS).
  grep -q "\"pattern\":\"$q.work\",\"data\":1,\"metadata\":{[^}]*\"trace\":\"t1\"" "$work/$name.jsonl" &&
    pass || fail "$name: the metadata is not recorded: $(head -1 "$work/$name.jsonl")"
  kill "$nest_pid"
  wait "$nest_pid" 2>/dev/null

  # Replayed against roost's service on the same broker: the same answers but its name.
  serve "roost-$name" "$url/?queue=$q&name=x" "$roost_peer"
  roost_pid=$srv_pid
  out=$("$roost" replay "$work/$name.jsonl" "$url" --ignore /impl 2>&1)
  rc=$?
  [ $rc = 0 ] && grep -q 'replayed 3 requests and 1 events: 3 same, 0 differ' <<<"$out" && pass ||
    fail "$name: replay against roost: exit $rc: $out"
  out=$("$roost" replay "$work/$name.jsonl" "$url" 2>&1)
  rc=$?
  [ $rc = 1 ] && grep -q 'reply\[0\]/impl: expected "nest12", got "roost"' <<<"$out" &&
    grep -q '0 same, 3 differ' <<<"$out" && pass || fail "$name: replay without --ignore: exit $rc: $out"
  kill "$roost_pid"
  wait "$roost_pid" 2>/dev/null

  # ---- shadow: a live NestJS service, roost_peer on its own subjects (Qc.*) as candidate ----
  q="migrate$$s$RANDOM"
  case $name in
    nats) patterns=(--pattern "$q.>") ;;
    redis) patterns=(--pattern "$q.*") ;;
    *) patterns=(--pattern "$q.work" --pattern "$q.tally" --pattern "$q.stats.x") ;;
  esac
  serve "live-$name" "$url/?queue=$q&name=x" "$nest"
  live_pid=$srv_pid
  serve "candidate-$name" "$url/?queue=${q}c&name=x" "$roost_peer"
  candidate_pid=$srv_pid
  tap "shadow-$name" shadow --from "$url" "${patterns[@]}" --candidate "$url" \
    --rename "$q.=${q}c." --report-every 1
  # The callers get NestJS's replies alone (the candidate answers the shadow, not them).
  got=$(drive "$url" "$q")
  [ "$got" = "$want" ] && pass || fail "$name: through the shadow the callers got [$got], want [$want]"
  # The candidate got the copies (its counts are NestJS's: the stats compare equal); the work
  # replies differ on purpose (impl).
  summary='3 requests and 1 events; 3 compared, 2 differ, 0 dropped, 0 candidate failures'
  wait_for "$work/shadow-$name.err" "$summary" "$tap_pid"
  stop "$tap_pid" "shadow-$name"
  grep -q "differs: request \"$q.work\" 1" "$work/shadow-$name.err" &&
    grep -q 'reply\[0\]/impl: primary "nest12", candidate "roost"' "$work/shadow-$name.err" &&
    ! grep -q "differs: request \"$q.stats" "$work/shadow-$name.err" &&
    [ "$(tail -1 "$work/shadow-$name.err" | grep -c "$summary")" = 1 ] && pass ||
    fail "$name: the shadow's report: $(cat "$work/shadow-$name.err")"
  kill "$live_pid" "$candidate_pid"
  wait "$live_pid" "$candidate_pid" 2>/dev/null
done

# Bad arguments, transports it cannot listen on, and a broker that is not there.
"$roost" record --from amqp://127.0.0.1:1 --out "$work/x.jsonl" 2>"$work/err"
rc=$?
[ $rc = 2 ] && grep -q 'cannot listen beside a service on RabbitMQ' "$work/err" && pass ||
  fail "--from amqp: exit $rc: $(cat "$work/err")"
"$roost" shadow --from kafka://127.0.0.1:1 --pattern x --candidate tcp://127.0.0.1:1 2>"$work/err"
rc=$?
[ $rc = 2 ] && grep -q 'Kafka' "$work/err" && pass || fail "shadow --from kafka: exit $rc: $(cat "$work/err")"
"$roost" shadow --from nats://127.0.0.1:1 --candidate tcp://127.0.0.1:1 2>"$work/err"
rc=$?
[ $rc = 2 ] && grep -q 'wants --pattern' "$work/err" && pass || fail "shadow --from without --pattern: exit $rc"
"$roost" record --from nats://127.0.0.1:1 --to tcp://127.0.0.1:1 --out "$work/x.jsonl" 2>/dev/null
rc=$?
[ $rc = 2 ] && pass || fail "--from with --to: exit $rc (want 2)"
for u in nats://127.0.0.1:1 redis://127.0.0.1:1 mqtt://127.0.0.1:1; do
  "$roost" record --from "$u" --out "$work/x.jsonl" 2>"$work/err"
  rc=$?
  [ $rc = 4 ] && grep -q 'cannot connect' "$work/err" && pass || fail "record from $u: exit $rc (want 4): $(cat "$work/err")"
done

finish
