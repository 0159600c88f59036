#!/usr/bin/env bash
# `make shop`: the shop on the brokers of scripts/brokers.sh (started when they are not up),
# a few orders placed, what happened to each printed, then everything stopped.
#   bash examples/shop/run.sh BUILD_DIR
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
SHOP="$build/examples/shop/shop"
SHOP_SRC="$root/examples/shop"
NEST="$root/tests/interop/nest"
[ -x "$SHOP" ] || { echo "no $SHOP: build the target 'shop' first" >&2; exit 1; }
[ -d "$NEST/node_modules/@nestjs/microservices" ] ||
  { echo "NestJS is not installed in $NEST: run scripts/install-interop.sh" >&2; exit 1; }
bash "$root/scripts/brokers.sh" check >/dev/null 2>&1 || bash "$root/scripts/brokers.sh" start
eval "$(bash "$root/scripts/brokers.sh" env | sed 's/^/export /')"
WORK=$(mktemp -d /tmp/roost-shop.XXXXXX)
SHOP_NS="shop-$$"
source "$SHOP_SRC/shop-lib.sh"
trap 'shop_stop_all; shop_forget_streams; rm -rf "$WORK"' EXIT

echo "== starting: orders (NATS, with the saga orchestrator), payments (Redis), inventory"
echo "   (NestJS on RabbitMQ), shipping (TCP), notifications (Redis Streams)"
shop_start_all || exit 1

show() {  # ID: the order, its payments, its notices
  echo "order:    $(shop_wait_order "$1")"
  echo "payments: $(shop_call payments payments.ledger "{\"order\":\"$1\"}")"
  local kind=confirmed
  [[ $(shop_call orders orders.get "{\"id\":\"$1\"}") == *cancelled* ]] && kind=cancelled
  echo "notices:  $(shop_wait_notice "$1" "$kind")"
}
echo
echo "== a book for 30: every step succeeds"
shop_place o-1 book 1 30 >/dev/null && show o-1
echo
echo "== a book for 5000: the payment is declined, the order cancelled"
shop_place o-2 book 1 5000 >/dev/null && show o-2
echo
echo "== 5 lamps (2 in stock): inventory refuses, the charge is refunded"
shop_place o-3 lamp 5 60 >/dev/null && show o-3
echo
echo "== the orchestrator killed (SIGKILL) right after the charge of o-4, then restarted"
shop_stop orders
shop_start orders SHOP_CRASH_AFTER_TRANSITIONS=5 || exit 1
shop_place o-4 pen 3 12 --timeout 2000 >/dev/null
wait "${shop_pid[orders]}" 2>/dev/null
unset "shop_pid[orders]"
echo "   orders died: $(grep -c '^saga o-4' "$WORK/orders.log") transitions of o-4 logged"
shop_start orders || exit 1
grep '^READY orders' "$WORK/orders.log"
show o-4
echo
echo "== choreographed: o-5 placed by events (order.placed -> payment.charged -> shipment.scheduled)"
shop_call orders orders.place_by_events '{"id":"o-5","item":"book","qty":1,"amount":40}' >/dev/null
echo "order:    $(shop_wait_status o-5)"
echo "payments: $(shop_call payments payments.ledger '{"order":"o-5"}')"
echo "shipping: $(shop_call shipping shipping.list '{"order":"o-5"}')"
echo "notices:  $(shop_wait_notice o-5 confirmed)"
echo
echo "== stock left: $(shop_call inventory inventory.stock)"
