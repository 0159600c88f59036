#!/usr/bin/env bash
# Makes a throwaway CA and one certificate it signs, for 127.0.0.1 and localhost, usable by a TLS
# server and by a TLS client (the interop suite's `tls` transport, both peers on one URL):
#   make-certs.sh DIR  ->  DIR/ca.crt DIR/ca.key DIR/peer.crt DIR/peer.key
set -euo pipefail
dir=$1
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=interop test CA" \
  -keyout ca.key -out ca.crt
cat >peer.ext <<'EXT'
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
EXT
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout peer.key -out peer.csr
openssl x509 -req -in peer.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
  -extfile peer.ext -out peer.crt
