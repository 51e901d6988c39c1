#!/usr/bin/env bash
# Make a hall's own certificate authority and the broker's server certificate, with openssl.
#
#   broker_config/make-ca.sh DIR HOST [SAN ...]
#
#   DIR   where to write: ca.key ca.crt (the hall CA), server.key server.crt (the broker's)
#   HOST  the name devices use to reach the broker (e.g. hall-server.lan); it becomes the
#         certificate's CN and its first DNS name
#   SAN   more names or addresses devices may use: "192.168.10.2" or "DNS:broker.lan" / "IP:10.0.0.2"
#         (a bare IPv4 address is taken as IP:, anything else as DNS:). localhost and 127.0.0.1 are
#         always added.
#
# Run again, it keeps the existing CA (every device already trusts it) and makes a new server
# certificate only when there is none or RENEW=1 is set. Keep ca.key off the hall network once the
# server certificate is made: whoever holds it can impersonate the broker.
# Environment: CA_DAYS (3650), SERVER_DAYS (825), KEY=ec (P-256) or KEY=rsa (RSA 2048, for old devices).
set -euo pipefail

if [ $# -lt 2 ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
fi
dir=$1 host=$2
shift 2
CA_DAYS=${CA_DAYS:-3650}
SERVER_DAYS=${SERVER_DAYS:-825}
KEY=${KEY:-ec}

command -v openssl >/dev/null || { echo "make-ca.sh: openssl is missing: apt-get install openssl" >&2; exit 2; }
mkdir -p "$dir"
umask 077

new_key() {  # new_key FILE
  case "$KEY" in
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    *) echo "make-ca.sh: KEY must be ec or rsa, not '$KEY'" >&2; exit 2 ;;
  esac
}

sans="DNS:$host,DNS:localhost,IP:127.0.0.1"
for san in "$@"; do
  case "$san" in
    DNS:*|IP:*) sans="$sans,$san" ;;
    *[!0-9.]*) sans="$sans,DNS:$san" ;;
    *) sans="$sans,IP:$san" ;;
  esac
done

if [ ! -s "$dir/ca.key" ] || [ ! -s "$dir/ca.crt" ]; then
  new_key "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "$CA_DAYS" \
    -subj "/O=hallq/CN=hallq hall CA ($host)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$dir/ca.crt"
  echo "make-ca.sh: new hall CA $dir/ca.crt (key $dir/ca.key: keep it off the hall network)"
else
  echo "make-ca.sh: keeping the existing CA $dir/ca.crt"
fi

if [ ! -s "$dir/server.crt" ] || [ "${RENEW:-0}" = 1 ]; then
  new_key "$dir/server.key"
  openssl req -new -key "$dir/server.key" -subj "/O=hallq/CN=$host" -out "$dir/server.csr"
  extensions=$(mktemp)
  trap 'rm -f "$extensions"' EXIT
  cat >"$extensions" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$sans
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EXT
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -sha256 -days "$SERVER_DAYS" -extfile "$extensions" \
    -out "$dir/server.crt" 2>/dev/null
  rm -f "$dir/server.csr"
  echo "make-ca.sh: new server certificate $dir/server.crt for $sans"
else
  echo "make-ca.sh: keeping the existing server certificate $dir/server.crt (RENEW=1 makes a new one)"
fi
# The CA certificate is public; the broker (user mosquitto) must read the server key: chgrp it.
chmod 644 "$dir/ca.crt" "$dir/server.crt"
chmod 640 "$dir/server.key"
chmod 600 "$dir/ca.key"
openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" >/dev/null
