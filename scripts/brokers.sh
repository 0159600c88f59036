#!/usr/bin/env bash
# Starts and stops the real brokers the tests use, on loopback, as the calling user (root in CI),
# without systemd. Each broker runs from its own folder under $ROOST_BROKERS_DIR.
#   brokers.sh start [redis] [rediss] [nats] ...   (no names: all of them)
#   brokers.sh stop  [names...]
#   brokers.sh check [names...]           exits non-zero unless each one answers its probe
#   brokers.sh env                        prints the URLs the tests read, one NAME='URL' a line
#                                         (quoted for the shell: a URL may hold `&`), e.g.
#     eval "$(bash scripts/brokers.sh env | sed 's/^/export /')"
# `start` refuses a port that is already taken (a stale broker would pass the readiness probe)
# and exits non-zero when a broker does not come up; its log is printed.
# A private RabbitMQ node (bench/rmq.sh) takes its folder and ports from ROOST_BROKERS_DIR,
# ROOST_RABBITMQ_PORT and ROOST_RABBITMQ_EPMD_PORT (its distribution ports follow its port).
set -uo pipefail

dir=${ROOST_BROKERS_DIR:-/tmp/roost-brokers}
all=(redis rediss nats natsjs rabbitmq rabbitmqs mosquitto mosquittos kafka)

port_redis=16379
port_rediss=16380
port_nats=16222
port_natsjs=16223
port_rabbitmq=${ROOST_RABBITMQ_PORT:-16672}
port_mosquitto=${ROOST_MOSQUITTO_PORT:-16883}
port_mosquittos=16884
port_kafka=16092
# RabbitMQ's Erlang VM: its private epmd (rabbitmq_env below; never the system's 4369).
port_rabbitmq_epmd=${ROOST_RABBITMQ_EPMD_PORT:-16369}
# A second RabbitMQ node, TLS only (amqps://), with its own epmd; its distribution ports follow
# its AMQP port as the first node's do (16691-16701), clear of the first node's (16673-16684).
port_rabbitmqs=16690
port_rabbitmqs_epmd=16368

url_of() {
  case "$1" in
    redis) echo "redis://127.0.0.1:$port_redis" ;;
    # TLS only, and a client certificate is required (mutual TLS): the server's and the client's
    # certificates are signed by a CA made at start, which both peers must be given too.
    rediss)
      local d="$dir/rediss"
      echo "rediss://127.0.0.1:$port_rediss/?ca=$d/ca.pem&cert=$d/client.pem&key=$d/client.key" ;;
    nats) echo "nats://127.0.0.1:$port_nats" ;;
    natsjs) echo "nats://127.0.0.1:$port_natsjs" ;;
    rabbitmq) echo "amqp://guest:guest@127.0.0.1:$port_rabbitmq" ;;
    # TLS only, a client certificate required (as rediss).
    rabbitmqs)
      local d="$dir/rabbitmqs"
      echo "amqps://guest:guest@127.0.0.1:$port_rabbitmqs/?ca=$d/ca.pem&cert=$d/client.pem&key=$d/client.key" ;;
    mosquitto) echo "mqtt://127.0.0.1:$port_mosquitto" ;;
    # TLS only, a client certificate required (as rediss).
    mosquittos)
      local d="$dir/mosquittos"
      echo "mqtts://127.0.0.1:$port_mosquittos/?ca=$d/ca.pem&cert=$d/client.pem&key=$d/client.key" ;;
    # The mock's timing (docs/transports/kafka.md): an empty fetch is held for the whole wait,
    # and a group's membership change waits the session timeout less 1 s.
    kafka) echo "kafka://127.0.0.1:$port_kafka/?maxWaitTimeInMs=100&sessionTimeout=6000&heartbeatInterval=1000" ;;
  esac
}
env_of() {
  case "$1" in
    redis) echo ROOST_REDIS_URL ;;
    rediss) echo ROOST_REDISS_URL ;;
    nats) echo ROOST_NATS_URL ;;
    natsjs) echo ROOST_NATS_JS_URL ;;
    rabbitmq) echo ROOST_RABBITMQ_URL ;;
    rabbitmqs) echo ROOST_RABBITMQS_URL ;;
    mosquitto) echo ROOST_MQTT_URL ;;
    mosquittos) echo ROOST_MQTTS_URL ;;
    kafka) echo ROOST_KAFKA_URL ;;
  esac
}
port_of() { local v="port_$1"; echo "${!v}"; }

# A pid is alive unless gone or a zombie (PID 1 here reaps late; kill -0 succeeds on zombies).
alive() {
  [ -r "/proc/$1/stat" ] || return 1
  [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # seconds, command...
  local until=$((SECONDS + $1)); shift
  while [ $SECONDS -lt $until ]; do
    "$@" && return 0
    sleep 0.05
  done
  "$@"
}

ready() {
  case "$1" in
    redis) redis-cli -h 127.0.0.1 -p "$port_redis" ping 2>/dev/null | grep -q PONG ;;
    # Through TLS with the CA and the client certificate: proves both certificates verify, not
    # only that the port is open.
    rediss)
      redis-cli --tls --cacert "$dir/rediss/ca.pem" --cert "$dir/rediss/client.pem" \
        --key "$dir/rediss/client.key" -h 127.0.0.1 -p "$port_rediss" ping 2>/dev/null |
        grep -q PONG ;;
    nats | natsjs) [ "$(bash -c "exec 3<>/dev/tcp/127.0.0.1/$(port_of "$1"); head -c 4 <&3" 2>/dev/null)" = INFO ] ;;
    # An AMQP 0-9-1 protocol header answered by a frame of type 1 (Connection.Start): the port
    # opens before the broker can log clients in; this answer comes once it can.
    rabbitmq) [ "$(amqp_greeting)" = 01 ] ;;
    # The same answer through TLS, with the CA and the client certificate.
    rabbitmqs) [ "$(amqps_greeting)" = 01 ] ;;
    # A message read from the broker's own topic: it takes clients, not only connections.
    mosquitto)
      timeout 3 mosquitto_sub -h 127.0.0.1 -p "$port_mosquitto" -t '$SYS/broker/version' -C 1 \
        -W 2 >/dev/null 2>&1 ;;
    # The same through TLS, with the CA and the client certificate.
    mosquittos)
      timeout 3 mosquitto_sub -h 127.0.0.1 -p "$port_mosquittos" --cafile "$dir/mosquittos/ca.pem" \
        --cert "$dir/mosquittos/client.pem" --key "$dir/mosquittos/client.key" \
        -t '$SYS/broker/version' -C 1 -W 2 >/dev/null 2>&1 ;;
    # The bootstrap file is written once every mock broker listens.
    kafka) [ -s "$dir/kafka/bootstrap" ] && port_open "$port_kafka" ;;
  esac
}

# A CA and a server certificate it signs, for both names a test may dial (127.0.0.1, localhost):
# clients verify the chain and the host name, as against a real deployment. And a client
# certificate signed by the same CA, which the broker requires of every connection. Made afresh
# at each start, so nothing expires between runs.
make_certificates() {  # folder
  (
    cd "$1" &&
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj /CN=roost-brokers-ca -keyout ca.key -out ca.pem &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -keyout server.key -out server.csr &&
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
        -extfile server.ext -out server.pem &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=roost-test-client \
        -keyout client.key -out client.csr &&
      printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
      openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
        -extfile client.ext -out client.pem
  ) >"$1/openssl.log" 2>&1 || { echo "brokers: openssl failed:"; cat "$1/openssl.log"; return 1; }
}

# The first byte of the broker's answer to an AMQP 0-9-1 protocol header, in hex.
amqp_greeting() {
  bash -c "exec 3<>/dev/tcp/127.0.0.1/$port_rabbitmq && printf 'AMQP\\x00\\x00\\x09\\x01' >&3 &&
    timeout 2 head -c1 <&3 | od -An -tx1 | tr -d ' '" 2>/dev/null
}

# The same through TLS (the broker's first byte after the handshake), verifying the broker's
# certificate and presenting the client's.
amqps_greeting() {
  local d="$dir/rabbitmqs"
  printf 'AMQP\x00\x00\x09\x01' |
    timeout 2 openssl s_client -quiet -connect "127.0.0.1:$port_rabbitmqs" -CAfile "$d/ca.pem" \
      -cert "$d/client.pem" -key "$d/client.key" -verify_return_error 2>/dev/null |
    head -c1 | od -An -tx1 | tr -d ' '
}

# The environment of RabbitMQ's scripts for broker $2 (rabbitmq, rabbitmqs) in folder $1:
# everything under that folder, on loopback, with its own Erlang cookie, node name and epmd,
# and no plugins.
rabbitmq_env() {
  local d=$1 port epmd
  port=$(port_of "$2")
  epmd=$(port_of "$2_epmd")
  export HOME="$d/home"
  export RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf"  # empty: not /etc/rabbitmq's
  export RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
  # @localhost: whatever the host name resolves to
  export RABBITMQ_NODENAME=roost$([ "$2" = rabbitmqs ] && echo s)@localhost
  # The TLS node's listeners are all in its configuration file (no plain one).
  [ "$2" = rabbitmq ] && export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$port
  export RABBITMQ_DIST_PORT=$((port + 1))
  export RABBITMQ_CTL_DIST_PORT_MIN=$((port + 2))
  export RABBITMQ_CTL_DIST_PORT_MAX=$((port + 12))
  export ERL_EPMD_PORT=$epmd ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/logs"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# RabbitMQ's own start script (not Debian's /usr/sbin wrapper, which switches to the rabbitmq
# user and its HOME), in the foreground, detached; a fresh folder each time (reusing one saves
# nothing). Its pid file holds the script's pid: a TERM to it stops the broker.
launch_rabbitmq() {
  local d=$1 b=$2
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] ||
    { echo "brokers: rabbitmq-server is not installed"; return 1; }
  mkdir -p "$d/home" "$d/mnesia" "$d/logs"
  : >"$d/rabbitmq-env.conf"
  echo '[].' >"$d/enabled_plugins"
  echo '[].' >"$d/advanced.config"
  printf 'loopback_users = none\nlog.console = false\nlog.file.level = warning\n' >"$d/rabbitmq.conf"
  if [ "$b" = rabbitmqs ]; then
    command -v openssl >/dev/null || { echo "brokers: openssl is not installed"; return 1; }
    make_certificates "$d" || return 1
    printf '%s\n' 'listeners.tcp = none' "listeners.ssl.default = 127.0.0.1:$port_rabbitmqs" \
      "ssl_options.cacertfile = $d/ca.pem" "ssl_options.certfile = $d/server.pem" \
      "ssl_options.keyfile = $d/server.key" 'ssl_options.verify = verify_peer' \
      'ssl_options.fail_if_no_peer_cert = true' >>"$d/rabbitmq.conf"
  else
    printf 'listeners.tcp.default = 127.0.0.1:%s\n' "$port_rabbitmq" >>"$d/rabbitmq.conf"
  fi
  printf 'ROOST%s' "$(date +%s%N)" >"$d/home/.erlang.cookie"
  chmod 400 "$d/home/.erlang.cookie"
  (
    rabbitmq_env "$d" "$b"
    setsid /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >"$d/log" 2>&1 &
    echo $! >"$d/pid"
  )
}

# Kafka: librdkafka's mock cluster in a program of ours (tools/mockkafka), built here with the
# system's C compiler (a fraction of a second), since the brokers start before the project builds.
launch_kafka() {
  local d=$1 src
  src="$(dirname "$0")/../tools/mockkafka/mockkafka.c"
  [ -r /usr/include/librdkafka/rdkafka_mock.h ] ||
    { echo "brokers: librdkafka-dev is not installed"; return 1; }
  cc -O2 -o "$d/mockkafka" "$src" -lrdkafka -lpthread >"$d/log" 2>&1 ||
    { echo "brokers: cannot build mockkafka:"; cat "$d/log"; return 1; }
  setsid "$d/mockkafka" -p "$port_kafka" -f "$d/bootstrap" </dev/null >"$d/log" 2>&1 &
  echo $! >"$d/pid"
}

launch() {
  local d="$dir/$1"
  rm -rf "$d"; mkdir -p "$d"
  case "$1" in
    redis)
      command -v redis-server >/dev/null || { echo "brokers: redis-server is not installed"; return 1; }
      redis-server --port "$port_redis" --bind 127.0.0.1 --dir "$d" --save '' --appendonly no \
        --daemonize yes --pidfile "$d/pid" --logfile "$d/log" ;;
    rediss)
      command -v redis-server >/dev/null || { echo "brokers: redis-server is not installed"; return 1; }
      command -v openssl >/dev/null || { echo "brokers: openssl is not installed"; return 1; }
      make_certificates "$d" || return 1
      redis-server --port 0 --tls-port "$port_rediss" --bind 127.0.0.1 --dir "$d" --save '' \
        --appendonly no --tls-cert-file "$d/server.pem" --tls-key-file "$d/server.key" \
        --tls-ca-cert-file "$d/ca.pem" --tls-auth-clients yes \
        --daemonize yes --pidfile "$d/pid" --logfile "$d/log" ;;
    nats)
      command -v nats-server >/dev/null || { echo "brokers: nats-server is not installed"; return 1; }
      # 8 MB messages (the server's default is 1 MB): the conformance suite echoes 1 MiB of text.
      printf 'max_payload: 8MB\n' >"$d/nats.conf"
      setsid nats-server -c "$d/nats.conf" -a 127.0.0.1 -p "$port_nats" -P "$d/pid" -l "$d/log" \
        </dev/null >/dev/null 2>&1 & ;;
    natsjs)
      command -v nats-server >/dev/null || { echo "brokers: nats-server is not installed"; return 1; }
      mkdir -p "$d/store"
      printf 'max_payload: 8MB\njetstream {max_mem: 256M, max_file: 1G}\n' >"$d/js.conf"
      setsid nats-server -c "$d/js.conf" -a 127.0.0.1 -p "$port_natsjs" -js -sd "$d/store" \
        -P "$d/pid" -l "$d/log" </dev/null >/dev/null 2>&1 & ;;
    rabbitmq | rabbitmqs) launch_rabbitmq "$d" "$1" ;;
    mosquitto)
      command -v mosquitto >/dev/null || { echo "brokers: mosquitto is not installed"; return 1; }
      # One listener for MQTT 3.1.1 and 5; nothing persisted. `user` (the caller): run as root, it
      # would otherwise switch to the mosquitto user, which cannot write its log here. Messages
      # up to 8 MB (the conformance suite echoes 1 MiB of text). TCP_NODELAY: two small packets
      # in a row (UNSUBACK, SUBACK) would otherwise wait for the client's delayed ACK (40 ms).
      printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser %s\nmessage_size_limit 8388608\nset_tcp_nodelay true\nlog_dest file %s\nlog_type error\nlog_type warning\nlog_type notice\n' \
        "$port_mosquitto" "$(id -un)" "$d/log" >"$d/mosquitto.conf"
      setsid mosquitto -c "$d/mosquitto.conf" </dev/null >"$d/stderr.log" 2>&1 &
      echo $! >"$d/pid" ;;
    mosquittos)
      command -v mosquitto >/dev/null || { echo "brokers: mosquitto is not installed"; return 1; }
      command -v openssl >/dev/null || { echo "brokers: openssl is not installed"; return 1; }
      make_certificates "$d" || return 1
      # As mosquitto, with one TLS listener only, and a client certificate required.
      printf 'listener %s 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\nallow_anonymous true\npersistence false\nuser %s\nmessage_size_limit 8388608\nset_tcp_nodelay true\nlog_dest file %s\nlog_type error\nlog_type warning\nlog_type notice\n' \
        "$port_mosquittos" "$d/ca.pem" "$d/server.pem" "$d/server.key" "$(id -un)" "$d/log" \
        >"$d/mosquitto.conf"
      setsid mosquitto -c "$d/mosquitto.conf" </dev/null >"$d/stderr.log" 2>&1 &
      echo $! >"$d/pid" ;;
    kafka) launch_kafka "$d" ;;
  esac
}

start_one() {
  local b=$1 p
  p=$(port_of "$b")
  if port_open "$p"; then
    echo "brokers: port $p for $b is already taken (a stale broker? run brokers.sh stop)"
    return 1
  fi
  launch "$b" || return 1
  # RabbitMQ's Erlang VM takes 5-7 s to boot (10 s on a cold page cache).
  if wait_for 60 ready "$b"; then
    echo "brokers: $b ready at $(url_of "$b")"
  else
    echo "brokers: $b did not start; its log:"
    tail -20 "$dir/$b/log" 2>/dev/null
    return 1
  fi
}

stop_one() {
  local b=$1 pid
  [ -r "$dir/$b/pid" ] || return 0
  pid=$(cat "$dir/$b/pid")
  alive "$pid" && kill -TERM "$pid" 2>/dev/null
  wait_for 10 bash -c "! [ -r /proc/$pid/stat ] || [ \"\$(awk '{print \$3}' /proc/$pid/stat)\" = Z ]" ||
    kill -KILL "$pid" 2>/dev/null
  rm -f "$dir/$b/pid"
  # The Erlang VM started its epmd as a daemon, which outlives it.
  if [[ $b = rabbitmq* ]] && command -v epmd >/dev/null; then
    ERL_EPMD_PORT=$(port_of "${b}_epmd") epmd -kill >/dev/null 2>&1
  fi
}

cmd=${1:-}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
case "$cmd" in
  start)
    mkdir -p "$dir"
    rc=0
    for b in "${names[@]}"; do start_one "$b" || rc=1; done
    exit $rc ;;
  stop)
    for b in "${names[@]}"; do stop_one "$b"; done ;;
  check)
    rc=0
    for b in "${names[@]}"; do ready "$b" || { echo "brokers: $b does not answer"; rc=1; }; done
    exit $rc ;;
  env)
    sq="'\\''"  # a quote inside single quotes (the folder may be anywhere)
    for b in "${names[@]}"; do
      u=$(url_of "$b")
      printf "%s='%s'\n" "$(env_of "$b")" "${u//\'/$sq}"
    done ;;
  *)
    echo "usage: brokers.sh start|stop|check|env [${all[*]}]" >&2
    exit 2 ;;
esac
