#!/bin/sh
# The certificate nginx serves on 8443, checked (or made) before nginx starts.
#
# nginx.conf reads /etc/nginx/certs/tls.crt and tls.key. In the image those two
# are links into /tmp/nginx-dev-cert/ (the tmpfs: the root filesystem is
# read-only), where nothing is until this script runs:
#   - a real certificate: mount a directory holding tls.crt (leaf first, then
#     the intermediates) and tls.key at /etc/nginx/certs, read-only. It hides
#     the links; this script only checks that nginx (uid 101) can read both and
#     logs whose certificate it is and until when.
#   - no mount: a self-signed certificate for localhost (and the compose service
#     names) is made here at every start (the tmpfs starts empty) by
#     dev-certificate.sh, valid DEV_CERT_DAYS (30) days, with a
#     WARNING in the log. Browsers and clients will not trust it: it is for
#     development only. DEV_CERT=off makes a missing certificate fatal instead,
#     which is what production should set.
# It also writes the public HTTPS port for the HTTP -> HTTPS redirect
# (includes/redirect-to-https.conf) from NGINX_HTTPS_PORT, when that is not 443.
set -eu

dir=/etc/nginx/certs
dev=/tmp/nginx-dev-cert
runtime=/tmp/nginx-runtime

mkdir -p "$runtime"
port=${NGINX_HTTPS_PORT:-443}
case $port in
    ''|443) ;;
    *[!0-9]*) echo "$0: NGINX_HTTPS_PORT=$port is not a port number" >&2; exit 1 ;;
    *) printf 'set $https_port ":%s";\n' "$port" >"$runtime/https-port.conf"
       echo "$0: HTTP redirects to HTTPS on port $port" ;;
esac

if [ "$(readlink "$dir/tls.crt" 2>/dev/null || true)" != "$dev/tls.crt" ]; then
    # Something is mounted over the links: a real certificate.
    for f in tls.crt tls.key; do
        if [ ! -r "$dir/$f" ]; then
            echo "$0: ERROR: $dir/$f is missing or not readable by uid $(id -u):" \
                "mount tls.crt and tls.key (mode 0644, or 0640 with group $(id -g)) at $dir" >&2
            exit 1
        fi
    done
    whose=$(openssl x509 -in "$dir/tls.crt" -noout -subject -issuer -enddate 2>/dev/null | tr '\n' ' ')
    echo "$0: serving the mounted certificate $dir/tls.crt: $whose"
    exit 0
fi

if [ "${DEV_CERT:-auto}" = off ]; then
    echo "$0: ERROR: no certificate mounted at $dir and DEV_CERT=off: mount tls.crt and tls.key there" >&2
    exit 1
fi

names=${DEV_CERT_NAMES:-DNS:localhost,IP:127.0.0.1,IP:::1,DNS:nginx-proxy,DNS:nginx-full}
# The project's one recipe (dev-certificate.sh, in /usr/local/bin): an EC P-256
# key, made in milliseconds and what current clients prefer anyway.
DEV_CERT_NAMES=$names dev-certificate.sh "$dev" >/dev/null
echo "$0: WARNING: no certificate mounted at $dir: serving a self-signed DEVELOPMENT certificate for $names," \
    "made now, valid ${DEV_CERT_DAYS:-30} days. Clients will not trust it. Never use it in production:" \
    "mount tls.crt and tls.key at $dir, and set DEV_CERT=off." >&2
