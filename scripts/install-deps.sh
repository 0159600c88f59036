#!/usr/bin/env bash
# Installs the Debian 12 packages roost's build, tests and demo need. Idempotent: installs only
# what is missing, runs `apt-get update` once when something is. Run as root (or with sudo).
#   scripts/install-deps.sh [--build]
# --build: only what building roost and a service needs (deploy/Dockerfile's build stage), not
# the tests' brokers, tools and NestJS peers.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev
  libicu-dev libssl-dev
  libvalijson-dev
  libhiredis-dev libnats-dev librabbitmq-dev libmosquitto-dev librdkafka-dev
  libgrpc++-dev libprotobuf-dev libprotoc-dev
)

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev
  libicu-dev libssl-dev openssl
  libvalijson-dev
  libsqlite3-dev
  libgtest-dev libgmock-dev
  clang-14 libclang-rt-14-dev clang-format-14 lld
  libcli11-dev help2man
  gnuplot-nox curl
  redis-server redis-tools libhiredis-dev
  nats-server libnats-dev
  rabbitmq-server librabbitmq-dev
  mosquitto mosquitto-clients libmosquitto-dev
  librdkafka-dev
  libgrpc++-dev libprotobuf-dev libprotoc-dev
  python3 python3-yaml
)
only_build=0
[ "${1:-}" = --build ] && only_build=1 && packages=("${build_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js runs the NestJS peers of the interop tests; take Debian's only when none is installed
# (a newer Node that ships its own npm conflicts with Debian's npm package).
if [ $only_build = 0 ] && ! command -v node >/dev/null; then missing+=(nodejs); fi
if [ $only_build = 0 ] && ! command -v npm >/dev/null; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
