#!/usr/bin/env bash
# Make Compose v2 (`docker compose`) answer beside Debian 12's docker-compose 1.29, so the tests
# run scripts/rollout (and validate the compose file) with both CLIs, as users have one or the other.
#
# Does nothing when `docker compose version` already answers. Otherwise takes the docker-compose
# package of Debian sid (Compose v2 is a Go binary that needs only libc; bookworm packages 1.29 only),
# checks it against the SHA256 in sid's package index, and puts its plugin in
# /usr/local/lib/docker/cli-plugins, where the docker CLI looks for plugins. Nothing else of the
# package is installed: docker-compose 1.29 stays as it is.
set -euo pipefail

if docker compose version >/dev/null 2>&1; then
  echo "compose-v2: $(docker compose version) already answers; nothing to do"
  exit 0
fi
mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
work=$(mktemp -d /tmp/compose-v2.XXXXXX)
trap 'rm -rf "$work"' EXIT

curl -fsS --max-time 120 "$mirror/dists/sid/main/binary-amd64/Packages.xz" | xz -d >"$work/Packages"
read -r file sum < <(awk '
  /^Package: / { pkg = $2 }
  pkg == "docker-compose" && /^Filename: / { f = $2 }
  pkg == "docker-compose" && /^SHA256: / { s = $2 }
  /^$/ { if (f != "" && s != "") { print f, s; exit } pkg = ""; f = ""; s = "" }
' "$work/Packages")
[[ -n ${file:-} && -n ${sum:-} ]] || { echo "compose-v2: no docker-compose in sid's index" >&2; exit 1; }
curl -fsS --max-time 300 -o "$work/compose.deb" "$mirror/$file"
echo "$sum  $work/compose.deb" | sha256sum -c --quiet -
dpkg-deb -x "$work/compose.deb" "$work/root"
install -D -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" \
  /usr/local/lib/docker/cli-plugins/docker-compose
echo "compose-v2: installed $(docker compose version) from Debian sid's ${file##*/}"
