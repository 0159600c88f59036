#!/usr/bin/env bash
# `roost listen` on the broker transports: events sent with `roost emit` through the real broker
# come out as JSON lines, and --count ends the listener.
#   listen_brokers_test.sh ROOST_BINARY      (reads ROOST_REDIS_URL, ROOST_NATS_URL,
#                                             ROOST_RABBITMQ_URL and ROOST_MQTT_URL)
# Every wait has a deadline and a failure that says what was waited for: a listener that never
# says it listens, or never receives both events, is killed and reported, so one broker's
# failure neither hangs the test nor hides the others' results.
set -uo pipefail
roost=$1
passed=0 failed=0
work=$(mktemp -d)
listener=""
trap '[ -n "$listener" ] && kill -9 "$listener" 2>/dev/null; rm -rf "$work"' EXIT

# Waits up to $1 seconds for the listener to end; 0 when it did.
ended_within() {
  local deadline=$((SECONDS + $1))
  while kill -0 "$listener" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}

for var in ROOST_REDIS_URL ROOST_NATS_URL ROOST_RABBITMQ_URL ROOST_MQTT_URL; do
  url=${!var:-}
  if [ -z "$url" ]; then
    failed=$((failed + 1)); echo "FAIL $var is not set (scripts/brokers.sh env)"; continue
  fi
  started=$SECONDS
  topic="listen.test.$$.$RANDOM"
  # RabbitMQ: both meet on a queue of this run.
  [ "$var" = ROOST_RABBITMQ_URL ] && url="$url/?queue=$topic&durable=false"
  # Files of this broker's own: the background job truncates its files only once it runs, so a
  # file reused from the broker before could still show that one's "listening" line here.
  out="$work/${var}.out" err="$work/${var}.err"
  "$roost" listen "$url" "$topic" --count 2 >"$out" 2>"$err" &
  listener=$!
  # "listening" is printed once the broker confirmed the subscription (on_ready): an event
  # emitted before it could be lost, so the emits wait for it. A sanitized build on a busy
  # machine can take seconds to start and connect, hence the long deadline.
  why=""
  deadline=$((SECONDS + 45))
  until grep -q listening "$err" 2>/dev/null; do
    if ! kill -0 "$listener" 2>/dev/null; then why="the listener exited before listening"; break; fi
    if [ $SECONDS -ge $deadline ]; then why="no 'listening' line within 45 s"; break; fi
    sleep 0.05
  done
  if [ -z "$why" ]; then
    "$roost" emit "$url" "$topic" '{"n":1}' 2>>"$work/emit.err" &&
      "$roost" emit "$url" "$topic" '"two"' 2>>"$work/emit.err" ||
      why="roost emit failed: $(cat "$work/emit.err")"
  fi
  if [ -z "$why" ] && ! ended_within 30; then why="the listener did not end within 30 s of the emits"; fi
  rc=killed
  if [ -n "$why" ]; then
    kill -9 "$listener" 2>/dev/null
    wait "$listener" 2>/dev/null
  else
    wait "$listener"; rc=$?
  fi
  listener=""
  want=$(printf '%s\n%s' "{\"pattern\":\"$topic\",\"data\":{\"n\":1}}" "{\"pattern\":\"$topic\",\"data\":\"two\"}")
  if [ -z "$why" ] && [ "$rc" = 0 ] && [ "$(cat "$out")" = "$want" ]; then
    passed=$((passed + 1))
    echo "ok   listen on ${var%_URL} ($((SECONDS - started)) s)"
  else
    failed=$((failed + 1))
    echo "FAIL listen on $url after $((SECONDS - started)) s: ${why:-exit $rc}," \
      "stdout [$(cat "$out")], stderr [$(cat "$err")]"
  fi
  rm -f "$work/emit.err"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
