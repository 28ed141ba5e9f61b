#!/bin/sh
# Self-signed CA and server certificate for trying the TLS listener (8883) on one machine.
# Production: put your CA's ca.crt, server.crt and server.key in deploy/mosquitto/certs/ instead.
#   sh deploy/mosquitto/make-dev-certs.sh [broker host name, default localhost]
set -eu
name="${1:-localhost}"
dir="$(dirname "$0")/certs"
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:3072 -nodes -days 365 -subj "/CN=smokewatch dev CA" \
    -keyout ca.key -out ca.crt
openssl req -newkey rsa:3072 -nodes -subj "/CN=$name" -keyout server.key -out server.csr
printf 'subjectAltName=DNS:%s,DNS:mosquitto,DNS:emqx\n' "$name" > san.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
    -extfile san.ext -out server.crt
rm -f server.csr san.ext
# The broker runs as an unprivileged user inside its container.
chmod 0644 ca.crt server.crt server.key
echo "certificates in $dir (ca.key stays with you; never commit it)"
