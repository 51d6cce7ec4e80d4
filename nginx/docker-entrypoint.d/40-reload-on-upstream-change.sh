#!/bin/sh
# Reload nginx when the addresses behind its upstream names change.
#
# nginx (before 1.27.3, and this config must run on 1.22) resolves the names in
# an `upstream` block once, at start or reload. When compose recreates the app
# or gateway container, or scales the app replicas, the addresses change and
# nginx would keep sending requests to addresses that are gone (502) until
# someone reloads it. This watcher does that reload: every
# $NGINX_UPSTREAM_RESOLVE_INTERVAL_S seconds it resolves $NGINX_UPSTREAM_HOSTS
# through the container's resolver (Docker's embedded DNS) and runs
# `nginx -s reload` when the sorted set of addresses differs from the one nginx
# last loaded. A reload is graceful: old workers finish their requests.
#
# NGINX_UPSTREAM_HOSTS: by default the host of NGINX_BACKEND (backend), which
# 15-check-template-env.envsh exports; empty (a unix: socket or an IP address
# as the backend) turns the watcher off, as NGINX_UPSTREAM_RESOLVE_INTERVAL_S=0
# does.
#
# Run by the image's /docker-entrypoint.sh before nginx starts; it stays in the
# background (a child of nginx once the entrypoint execs it) and ends with the
# container. An empty answer (backend down, DNS hiccup) never triggers a reload:
# nginx would refuse a config whose upstream does not resolve, and the old
# addresses are as good a guess as any.
set -eu

hosts=${NGINX_UPSTREAM_HOSTS-backend}
interval=${NGINX_UPSTREAM_RESOLVE_INTERVAL_S:-5}

if [ "$hosts" = "" ] || [ "$interval" = "0" ]; then
    echo "$0: upstream watcher disabled"
    exit 0
fi

resolve() {
    for host in $hosts; do
        getent ahosts "$host" 2>/dev/null | awk '{ print $1 }'
    done | sort -u | tr '\n' ' '
}

watch() {
    loaded=$(resolve)
    while sleep "$interval"; do
        now=$(resolve)
        if [ -n "$now" ] && [ "$now" != "$loaded" ]; then
            echo "$0: addresses of '$hosts' changed from [ $loaded] to [ $now]; reloading nginx" >&2
            if nginx -s reload; then loaded=$now; fi
        fi
    done
}

echo "$0: watching '$hosts' every ${interval}s; nginx reloads when their addresses change"
# stdin from /dev/null and stdout/stderr kept: the watcher's lines go to `docker logs`.
watch </dev/null &
