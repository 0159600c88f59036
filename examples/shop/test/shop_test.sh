#!/usr/bin/env bash
# The shop's system test: its five processes (one of them NestJS) on the shared brokers, orders
# placed, the outcome of each checked in every service it touched.
#   shop_test.sh SHOP_EXECUTABLE NEST_DIR      (ROOST_*_URL from scripts/brokers.sh env)
# Cases: the happy path; a declined payment (the order cancelled, nothing charged); inventory
# short (the charge refunded); a saga step and an order placed twice, an event delivered twice
# (no double effect); shipping down for a while with the orchestrator SIGKILLed while it waits,
# and the orchestrator killing itself right after a step (both restarted: the saga completes,
# each effect once); the choreographed variant (confirmed, declined, placed twice).
set -uo pipefail
SHOP=$1
NEST=$2
SHOP_SRC=$(cd "$(dirname "$0")/.." && pwd)
for v in ROOST_NATS_URL ROOST_REDIS_URL ROOST_RABBITMQ_URL; do
  [ -n "${!v:-}" ] || { echo "FAIL: $v is not set (bash scripts/brokers.sh env)"; exit 1; }
done
WORK=$(mktemp -d /tmp/roost-shop-test.XXXXXX)
SHOP_NS="shoptest-$$-$RANDOM"
source "$SHOP_SRC/shop-lib.sh"
failures=0
keep_logs() {
  if [ $failures -gt 0 ]; then
    for f in "$WORK"/*.log; do echo "---- $f"; tail -n 30 "$f"; done
  fi
}
trap 'shop_stop_all; shop_forget_streams; keep_logs; rm -rf "$WORK"' EXIT

check() {  # WHAT ACTUAL EXPECTED-SUBSTRING
  if [[ $2 == *"$3"* ]]; then
    echo "ok   $1"
  else
    echo "FAIL $1: got $2, wanted it to contain $3"
    failures=$((failures + 1))
  fi
}
count() {  # TEXT NEEDLE: how many times NEEDLE occurs
  grep -o -- "$2" <<<"$1" | wc -l
}
check_count() {  # WHAT TEXT NEEDLE N
  local n
  n=$(count "$2" "$3")
  if [ "$n" -eq "$4" ]; then
    echo "ok   $1"
  else
    echo "FAIL $1: $3 found $n times (wanted $4) in $2"
    failures=$((failures + 1))
  fi
}

start=$SECONDS
shop_start_all || exit 1
echo "started in $((SECONDS - start)) s"

# 1. Happy path.
check "o1 placed" "$(shop_place o1 book 2 30)" '{"id":"o1"}'
o=$(shop_wait_order o1)
check "o1 confirmed" "$o" '"status":"confirmed","saga":"completed"'
check "o1 charged once" "$(shop_call payments payments.ledger '{"order":"o1"}')" \
  '[{"order_id":"o1","kind":"charge","amount":30}]'
check "o1 shipped" "$(shop_call shipping shipping.list '{"order":"o1"}')" '"status":"scheduled"'
check "book stock 10 - 2" "$(shop_call inventory inventory.stock)" '"book":8'

# 2. Payment declined: compensation; nothing charged, nothing reserved or shipped.
shop_place o2 book 1 5000 >/dev/null
o=$(shop_wait_order o2)
check "o2 cancelled" "$o" '"status":"cancelled","saga":"compensated"'
check "o2 says why" "$o" 'payment declined'
check "o2 nothing charged" "$(shop_call payments payments.ledger '{"order":"o2"}')" '[]'
check "o2 notified: cancelled" "$(shop_wait_notice o2 cancelled)" '"kind":"cancelled"'
check "o2 nothing shipped" "$(shop_call shipping shipping.list '{"order":"o2"}')" '[]'

# 3. Inventory short: the charge refunded, the order cancelled.
shop_place o3 lamp 5 60 >/dev/null
o=$(shop_wait_order o3)
check "o3 cancelled" "$o" '"status":"cancelled","saga":"compensated"'
check "o3 says why" "$o" 'out of stock'
check "o3 charged and refunded" "$(shop_call payments payments.ledger '{"order":"o3"}')" \
  '[{"order_id":"o3","kind":"charge","amount":60},{"order_id":"o3","kind":"refund","amount":60}]'
check "lamp stock untouched" "$(shop_call inventory inventory.stock)" '"lamp":2'

# 4. Duplicates: the order placed again, the charge step delivered again with its idempotency
# key, the confirmation event delivered again with its message id: no second effect.
check "o1 placed again" "$(shop_place o1 book 2 30)" '{"id":"o1"}'
check "o1 charge step again: the first reply" \
  "$(shop_call payments payments.charge '{"order":"o1","amount":30}' \
    --header x-roost-idempotency-key=o1:1:action)" '{"order":"o1","amount":30}'
n=$(shop_wait_notice o1 confirmed)
check "o1 notified" "$n" '"kind":"confirmed"'
id=$(sed -n 's/.*"message_id":"\([^"]*\)".*/\1/p' <<<"$n")
check "o1 confirmation sent again" \
  "$(shop_call notifications order.confirmed '{"order":"o1"}' --emit \
    --header "x-roost-idempotency-key=$id")" sent
# A marker event after it: once the marker is in, the repeat was handled before it (one stream).
shop_call notifications order.confirmed '{"order":"marker"}' --emit >/dev/null
shop_wait_notice marker confirmed >/dev/null
check_count "o1 still one notice" "$(shop_call notifications notifications.list '{"order":"o1"}')" \
  '"kind"' 1
check_count "o1 still one charge" "$(shop_call payments payments.ledger '{"order":"o1"}')" \
  '"kind":"charge"' 1
check "book stock still 8" "$(shop_call inventory inventory.stock)" '"book":8'

# 5. Shipping down for a while, and the orchestrator SIGKILLed while it retries the step.
shop_stop shipping
shop_place o4 book 1 20 >/dev/null
for ((i = 0; i < 300; i++)); do
  grep -q '^saga o4: step_started 3' "$WORK/orders.log" && break
  sleep 0.1
done
check "o4 waits at the shipping step" "$(grep '^saga o4' "$WORK/orders.log" | tail -n 1)" \
  'step_started 3'
shop_stop orders KILL
shop_start shipping || exit 1
shop_start orders || exit 1
check "o4 resumed" "$(grep '^READY orders' "$WORK/orders.log")" '(1 sagas resumed)'
o=$(shop_wait_order o4)
check "o4 confirmed" "$o" '"status":"confirmed","saga":"completed"'
check_count "o4 charged once" "$(shop_call payments payments.ledger '{"order":"o4"}')" \
  '"kind"' 1
check "o4 shipped" "$(shop_call shipping shipping.list '{"order":"o4"}')" '"status":"scheduled"'

# 6. The orchestrator killed right after its charge succeeded (transition 5), then restarted.
shop_stop orders
shop_start orders SHOP_CRASH_AFTER_TRANSITIONS=5 || exit 1
shop_place o5 pen 3 12 --timeout 3000 >/dev/null
wait "${shop_pid[orders]}" 2>/dev/null
rc=$?
unset "shop_pid[orders]"
check "the orchestrator was killed" "$rc" 137
check "o5 killed after its charge" "$(grep '^saga o5' "$WORK/orders.log" | tail -n 1)" \
  'step_succeeded 1'
shop_start orders || exit 1
o=$(shop_wait_order o5)
check "o5 confirmed" "$o" '"status":"confirmed","saga":"completed"'
check_count "o5 charged once" "$(shop_call payments payments.ledger '{"order":"o5"}')" '"kind"' 1
check "pen stock 100 - 3" "$(shop_call inventory inventory.stock)" '"pen":97'
check_count "o5 notified once" "$(shop_wait_notice o5 confirmed)" '"kind"' 1

# 7. The choreographed variant: no orchestrator, each service reacting to the events of the
# others (each published from its outbox), the order confirmed or cancelled by the last one.
check "c1 placed by events" \
  "$(shop_call orders orders.place_by_events '{"id":"c1","item":"book","qty":1,"amount":25}')" \
  '{"id":"c1"}'
check "c1 confirmed" "$(shop_wait_status c1)" '"status":"confirmed"'
check "c1 charged" "$(shop_call payments payments.ledger '{"order":"c1"}')" \
  '[{"order_id":"c1","kind":"charge","amount":25}]'
check "c1 shipped" "$(shop_call shipping shipping.list '{"order":"c1"}')" '"status":"scheduled"'
check "c1 notified" "$(shop_wait_notice c1 confirmed)" '"kind":"confirmed"'
shop_call orders orders.place_by_events '{"id":"c2","item":"book","qty":1,"amount":5000}' >/dev/null
check "c2 cancelled" "$(shop_wait_status c2)" '"status":"cancelled"'
check "c2 nothing charged" "$(shop_call payments payments.ledger '{"order":"c2"}')" '[]'
check "c2 notified: cancelled" "$(shop_wait_notice c2 cancelled)" '"kind":"cancelled"'
check "c1 placed again" \
  "$(shop_call orders orders.place_by_events '{"id":"c1","item":"book","qty":1,"amount":25}')" \
  '{"id":"c1"}'
# c3 after it: once c3 is through, the second c1 would have been (one stream per event).
shop_call orders orders.place_by_events '{"id":"c3","item":"pen","qty":1,"amount":5}' >/dev/null
check "c3 confirmed" "$(shop_wait_status c3)" '"status":"confirmed"'
check_count "c1 still charged once" "$(shop_call payments payments.ledger '{"order":"c1"}')" \
  '"kind"' 1

echo "$failures failure(s) in $((SECONDS - start)) s"
[ $failures -eq 0 ]
