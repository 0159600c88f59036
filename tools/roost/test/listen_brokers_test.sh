#!/usr/bin/env bash
# `roost listen` on the broker transports: events sent with `roost emit` through the real broker
# come out as JSON lines, and --count ends the listener.
#   listen_brokers_test.sh ROOST_BINARY      (reads ROOST_REDIS_URL, ROOST_NATS_URL,
#                                             ROOST_RABBITMQ_URL and ROOST_MQTT_URL)
set -uo pipefail
roost=$1
passed=0 failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for var in ROOST_REDIS_URL ROOST_NATS_URL ROOST_RABBITMQ_URL ROOST_MQTT_URL; do
  url=${!var:-}
  if [ -z "$url" ]; then
    failed=$((failed + 1)); echo "FAIL $var is not set (scripts/brokers.sh env)"; continue
  fi
  topic="listen.test.$$.$RANDOM"
  # RabbitMQ: both meet on a queue of this run.
  [ "$var" = ROOST_RABBITMQ_URL ] && url="$url/?queue=$topic&durable=false"
  "$roost" listen "$url" "$topic" --count 2 >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 1 200); do grep -q listening "$work/err" 2>/dev/null && break; sleep 0.025; done
  "$roost" emit "$url" "$topic" '{"n":1}' && "$roost" emit "$url" "$topic" '"two"'
  timeout 10 tail --pid=$pid -f /dev/null
  wait $pid; rc=$?
  want=$(printf '%s\n%s' "{\"pattern\":\"$topic\",\"data\":{\"n\":1}}" "{\"pattern\":\"$topic\",\"data\":\"two\"}")
  if [ "$rc" = 0 ] && [ "$(cat "$work/out")" = "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL listen on $url: exit $rc, stdout [$(cat "$work/out")], stderr [$(cat "$work/err")]"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
