#!/usr/bin/env bash
# `roost record --from` on NATS and Redis: the NestJS conformance service is recorded by a
# subscriber beside it while a client calls it, and the recording is replayed against roost's
# (roost_peer) on the same transport. The peers serve the subjects of this run alone (their
# `queue=Q` handlers: Q.work, Q.tally, Q.stats.<name>), on NATS in a queue group.
#   migrate_brokers_test.sh ROOST_BINARY ROOST_PEER NEST_NODE_SH   (reads ROOST_NATS_URL and
#                                                                   ROOST_REDIS_URL)
set -uo pipefail
roost=$1 roost_peer=$2 nest=$3
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL $*"
}

# serve NAME URL COMMAND: starts a peer server; sets srv_pid.
serve() {
  "$3" serve --url "$2" >"$work/$1.log" 2>"$work/$1.err" &
  srv_pid=$!
  pids+=($srv_pid)
  for _ in $(seq 1 400); do
    grep -q '^READY' "$work/$1.log" && return 0
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.025
  done
  echo "$1 did not start: $(cat "$work/$1.err")"
  exit 1
}

for var in ROOST_NATS_URL ROOST_REDIS_URL; do
  url=${!var:-}
  if [ -z "$url" ]; then
    fail "$var is not set (scripts/brokers.sh env)"
    continue
  fi
  q="migrate$$r$RANDOM"
  case $var in
    ROOST_NATS_URL) name=nats subjects="$q.>" ;;
    *) name=redis subjects="$q.*" ;;
  esac
  serve "nest-$name" "$url/?queue=$q&name=x" "$nest"
  nest_pid=$srv_pid
  "$roost" record --from "$url" --pattern "$subjects" --out "$work/$name.jsonl" 2>"$work/record-$name.err" &
  rec_pid=$!
  pids+=($rec_pid)
  for _ in $(seq 1 400); do
    grep -q 'subscribed to' "$work/record-$name.err" && break
    kill -0 "$rec_pid" 2>/dev/null || break
    sleep 0.025
  done
  # The service answers as without the recorder (it takes nothing away, queue group or not).
  got=$("$roost" call "$url" "$q.work" 1 --header trace=t1 && "$roost" emit "$url" "$q.tally" 2 &&
    "$roost" call "$url" "$q.work" 3 && "$roost" call "$url" "$q.stats.x" 0)
  want=$(printf '%s\n' '{"impl":"nest12","name":"x"}' '{"impl":"nest12","name":"x"}' \
    '{"served":2,"events":1}')
  [ "$got" = "$want" ] && pass || fail "$name: the service answered [$got], want [$want]"
  # Every reply is in before the recording stops (the last call has its answer).
  kill -TERM "$rec_pid"
  wait "$rec_pid"
  rc=$?
  [ $rc = 0 ] && grep -q '3 requests and 1 events recorded' "$work/record-$name.err" && pass ||
    fail "$name: record exited $rc: $(cat "$work/record-$name.err")"
  grep -q "\"pattern\":\"$q.stats.x\",\"data\":0,.*\"replies\":\[{\"served\":2,\"events\":1}\].*\"channel\":\"$q.stats.x\"" \
    "$work/$name.jsonl" && grep -q "\"kind\":\"event\",\"pattern\":\"$q.tally\",\"data\":2" "$work/$name.jsonl" &&
    pass || fail "$name: the recording lacks a reply or the event: $(cat "$work/$name.jsonl")"
  # Metadata (in the packet on Redis, in the message headers on NATS).
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
done

# Bad arguments and a broker that is not there.
"$roost" record --from mqtt://127.0.0.1:1883 --out "$work/x.jsonl" 2>"$work/err"
rc=$?
[ $rc = 2 ] && grep -q 'nats:// and redis://' "$work/err" && pass || fail "--from mqtt: exit $rc: $(cat "$work/err")"
"$roost" record --from nats://127.0.0.1:1 --to tcp://127.0.0.1:1 --out "$work/x.jsonl" 2>/dev/null
rc=$?
[ $rc = 2 ] && pass || fail "--from with --to: exit $rc (want 2)"
for u in nats://127.0.0.1:1 redis://127.0.0.1:1; do
  "$roost" record --from "$u" --out "$work/x.jsonl" 2>"$work/err"
  rc=$?
  [ $rc = 4 ] && grep -q 'cannot connect' "$work/err" && pass || fail "record from $u: exit $rc (want 4): $(cat "$work/err")"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
