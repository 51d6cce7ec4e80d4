#!/bin/sh
# The local nginx stand-in's entrypoint (.ci/base-images.sh copies it in): the official image's
# contract, see the comment above its use there.
set -e
say() { if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then echo "$@"; fi; }
if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
  find /docker-entrypoint.d/ -follow -type f -print | sort -V | while read -r f; do
    case $f in
      *.envsh) if [ -x "$f" ]; then say "$0: Sourcing $f"; . "$f"; else say "$0: Ignoring $f, not executable"; fi ;;
      *.sh) if [ -x "$f" ]; then say "$0: Launching $f"; "$f"; else say "$0: Ignoring $f, not executable"; fi ;;
      *) say "$0: Ignoring $f" ;;
    esac
  done
  say "$0: Configuration complete; ready for start up"
fi
exec "$@"
