#!/bin/sh
# Entrypoint of the Node image (under tini): the gateway's TLS certificate, then
# the command.
#
# The gateway terminates TLS itself when GATEWAY_CERTFILE and GATEWAY_KEYFILE
# name a certificate and its key (Gunicorn's --certfile/--keyfile; the gateway
# profile of docker-compose.yml passes them through). Then:
#   - the files exist (a real certificate mounted read-only, e.g. at
#     /etc/gateway/certs): nothing to do here; the gateway checks them.
#   - they do not, and both are under /tmp/ (the tmpfs): a self-signed
#     development certificate for localhost is made there by
#     dev-certificate.sh (the recipe the nginx image uses too), valid DEV_CERT_DAYS
#     (30) days, with a WARNING in the log. DEV_CERT=off turns that off (the
#     gateway then refuses to start without the files).
# Without GATEWAY_CERTFILE (the default) the gateway speaks plain HTTP and this
# script does nothing. A HUP reload re-reads the files.
set -eu

cert=${GATEWAY_CERTFILE:-}
key=${GATEWAY_KEYFILE:-}
if [ -n "$cert" ] && [ -n "$key" ] && [ ! -e "$cert" ] && [ "${DEV_CERT:-auto}" != off ]; then
    case "$cert:$key" in
        /tmp/*:/tmp/*)
            names=${DEV_CERT_NAMES:-DNS:localhost,IP:127.0.0.1,IP:::1,DNS:gateway}
            # The project's one recipe (scripts/dev-certificate.sh): EC P-256, CN=localhost.
            DEV_CERT_NAMES=$names dev-certificate.sh "$cert" "$key" >/dev/null
            echo "$0: WARNING: $cert did not exist: made a self-signed DEVELOPMENT certificate for $names," \
                "valid ${DEV_CERT_DAYS:-30} days. Clients will not trust it. Never use it in production:" \
                "mount a real certificate and point GATEWAY_CERTFILE/GATEWAY_KEYFILE at it." >&2
            ;;
    esac
fi

exec docker-entrypoint.sh "$@"
