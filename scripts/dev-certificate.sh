#!/bin/sh
# The development certificate: self-signed for localhost (and the names given),
# an EC P-256 key, made with openssl. The one recipe behind every certificate the
# project makes for itself: the nginx image (docker-entrypoint.d/30-tls-certificate.sh),
# the Node image (docker/gateway-entrypoint.sh), and the native TLS topologies and
# tests (harness/src/cert.ts runs this file). Clients do not trust it: never for
# production.
#
#   dev-certificate.sh DIR                 writes DIR/tls.crt and DIR/tls.key
#   dev-certificate.sh CERTFILE KEYFILE    writes those two files
#
# Environment:
#   DEV_CERT_NAMES    subjectAltName (default DNS:localhost,IP:127.0.0.1,IP:::1)
#   DEV_CERT_DAYS     validity in days (default 30)
#   DEV_CERT_SUBJECT  subject (default /CN=localhost)
#
# Idempotent: when both files exist and the certificate is valid for at least
# another hour, they are kept as they are. Otherwise both are made afresh, next to
# where they go and then moved into place (never half written); the key is 0600,
# the certificate 0644. Prints one line saying which it did; errors on stderr.
set -eu

case $# in
    1) cert=$1/tls.crt key=$1/tls.key ;;
    2) cert=$1 key=$2 ;;
    *) echo "usage: $0 DIR | $0 CERTFILE KEYFILE" >&2; exit 2 ;;
esac
names=${DEV_CERT_NAMES:-DNS:localhost,IP:127.0.0.1,IP:::1}
days=${DEV_CERT_DAYS:-30}
subject=${DEV_CERT_SUBJECT:-/CN=localhost}

if [ -s "$cert" ] && [ -s "$key" ] && openssl x509 -in "$cert" -noout -checkend 3600 >/dev/null 2>&1; then
    echo "kept $cert: $(openssl x509 -in "$cert" -noout -enddate)"
    exit 0
fi

mkdir -p "$(dirname "$cert")" "$(dirname "$key")"
tmpcert=$cert.new.$$
tmpkey=$key.new.$$
trap 'rm -f "$tmpcert" "$tmpkey"' EXIT
# The key is never readable by others, not even for a moment.
if ! out=$(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days "$days" -subj "$subject" -addext "subjectAltName=$names" \
    -keyout "$tmpkey" -out "$tmpcert" 2>&1); then
    echo "$0: openssl failed: $out" >&2
    exit 1
fi
chmod 0644 "$tmpcert"
mv -f "$tmpkey" "$key"
mv -f "$tmpcert" "$cert"
echo "made $cert: self-signed for $names, valid $days days"
