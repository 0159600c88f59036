#!/usr/bin/env bash
# The gRPC benchmark: roost vs NestJS vs the limit (bench/grpc_loadgen --limit, a plain gRPC C++
# callback server) serving interop.Math/Sum of tests/interop/grpc/roost_test.proto.
#   bench/grpc.sh [BUILD_DIR]     (SECONDS_PER_POINT=4, ROUNDS=3, BENCH_OUT=bench/results)
# The server under test runs on core 1, the load generator on core 0. ROUNDS rounds; in each,
# the servers take turns, each measured with bench/grpc_loadgen (gRPC C++, one channel, unary
# calls of `{numbers: [1,2,3]}`, every reply checked to be `{total: 6}`) at K = 1 and 256.
# roost serves with tests/interop/roost_peer (its handler of {"service":"Math","rpc":"Sum"}),
# NestJS with bench/nest/grpc-service.mjs (@GrpcMethod('Math', 'Sum'), NestJS's defaults).
# Writes $BENCH_OUT/grpc-runs.tsv (see bench/lib.sh), grpc-extra-runs.tsv and grpc-meta.tsv.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
source bench/lib.sh
loadgen="$build/bench/grpc_loadgen"
[ -x "$loadgen" ] || { echo "bench-grpc: $loadgen is missing (ROOST_WITH_GRPC=OFF?)"; exit 1; }
bash bench/nest/install.sh || { echo "bench-grpc: cannot install the NestJS side (bench/nest)"; exit 1; }
proto="$PWD/tests/interop/grpc/roost_test.proto"
trap stop_server EXIT

servers=(roost nestjs limit)
runs="$out/grpc-runs.tsv"
extra="$out/grpc-extra-runs.tsv"
write_meta "$out/grpc-meta.tsv" "$build"
printf 'grpc_cpp\t%s\n' "$(pkg-config --modversion grpc++ 2>/dev/null || echo -)" >>"$out/grpc-meta.tsv"
printf 'grpc_js\t%s\n' "$(sed -n 's/.*"version": "\(.*\)".*/\1/p' bench/nest/node_modules/@grpc/grpc-js/package.json | head -1)" >>"$out/grpc-meta.tsv"
runs_header "$runs"
extra_header "$extra"
for round in $(seq 1 "$rounds"); do
  for s in "${servers[@]}"; do
    # roost_peer and NestJS do not tell the port they bound: each gets a free one.
    p=$(free_port_from 50300)
    declare -A cmd=(
      [roost]="$build/tests/interop/roost_peer serve --url grpc://127.0.0.1:$p/?package=interop&protoPath=$proto"
      [nestjs]="bench/nest/node.sh grpc-service.mjs --listen 127.0.0.1:$p --proto $proto"
      [limit]="$loadgen --limit --listen 127.0.0.1:$p"
    )
    # shellcheck disable=SC2086 # the command is words
    start_server "$s" ${cmd[$s]}
    sleep 0.5
    idle=$(rss_kb "$pid")
    load_points "$runs" "$round" "$s" loadgen "1 256" "$loadgen" --target "127.0.0.1:$p"
    loaded=$(rss_kb "$pid")
    stop_server
    extra_row "$extra" "$round" "$s" "$idle" "$loaded"
  done
done
end_meta "$out/grpc-meta.tsv"
echo "bench-grpc: done: $runs, $extra"
