#!/usr/bin/env bash
# Makes the throwaway RSA keys of the `jwt` scenario (SCENARIOS.md), test-only, for one run:
#   make-jwt-keys.sh DIR  ->  DIR/issuer.key DIR/issuer.pub DIR/forger.key
# issuer.key signs the clients' tokens; issuer.pub is all a server trusts; forger.key signs tokens
# that look right but that no server may accept.
set -euo pipefail
dir=$1
cd "$dir"
for k in issuer forger; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k.key" 2>/dev/null
done
openssl pkey -in issuer.key -pubout -out issuer.pub
