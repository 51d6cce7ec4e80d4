#!/usr/bin/env bash
# The image of a Docker-in-Docker Swarm node for test/swarm-nodes.test.ts: Debian bookworm with
# Debian's docker.io (Engine 20.10, as on the CI machine), its dockerd started by an entry script.
#
#   bash .ci/swarm-node-image.sh            -> the tag, on stdout (built if absent or stale)
#   ROOT_ONLY=1 bash .ci/swarm-node-image.sh   only the cached Debian root
#
# No registry is needed: the root comes from debootstrap (cached as a tarball under
# $BASE_IMAGES_CACHE, /var/cache/stack-base-images, as .ci/base-images.sh caches its roots) and
# becomes an image with `docker import`. The node runs without --privileged, which cannot start on
# these machines (../shared/CONTAINERS-OFFLINE.md): the test gives it every capability but
# SYS_RESOURCE, no seccomp/apparmor confinement, unmasked /proc and /sys, all devices; the entry
# script remounts /sys and the cgroup tree read-write, which dockerd needs for its own containers.
# The image carries a label with a hash of this file: a change here rebuilds it.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=stack-swarm-node:bookworm
cache=${BASE_IMAGES_CACHE:-/var/cache/stack-base-images}
tarball=$cache/swarm-node-bookworm.tar
mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
recipe=$(sha256sum "$0" | cut -c1-16)
log() { echo "swarm-node-image: $*" >&2; }

work=$(mktemp -d /tmp/swarm-node.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >&2
  t0=$SECONDS
  log "debootstrap bookworm with docker.io from $mirror (cached in $tarball)"
  # iptables: dockerd's networks; procps: ps and friends, to look into a node.
  debootstrap --variant=minbase --include=docker.io,iptables,ca-certificates,procps bookworm "$work/root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work"/root/var/cache/apt/archives/*.deb "$work"/root/var/lib/apt/lists/*
  tar -C "$work/root" --numeric-owner -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  rm -rf "$work/root"
  log "debootstrap took $((SECONDS - t0)) s"
fi
# Only the cached root (no engine needed; CI can make it before taking the engine's lock).
[ "${ROOT_ONLY:-}" = 1 ] && exit 0

if [ "$(docker image inspect -f '{{index .Config.Labels "stack.swarm-node.recipe"}}' "$tag" 2>/dev/null)" = "$recipe" ]; then
  echo "$tag"
  exit 0
fi

mkdir -p "$work/ctx"
cat >"$work/ctx/node-entry.sh" <<'ENTRY'
#!/bin/sh
# A Swarm node: /sys and the cgroups writable (Docker mounts them read-only in an unprivileged
# container), then dockerd in the foreground. /var/lib/docker is a volume (nested overlay2 works).
set -eu
# The cgroup v1 controllers are read-only bind mounts of this container's own cgroup: `remount,bind`
# changes the flag of that mount only (a plain remount is refused: "mount point is busy").
rw() { mount -o remount,rw "$1" 2>/dev/null || mount -o remount,bind,rw "$1" 2>/dev/null || echo "node-entry: $1 stays read-only" >&2; }
rw /sys
rw /sys/fs/cgroup
for d in /sys/fs/cgroup/*/; do [ -L "${d%/}" ] || rw "$d"; done
# cgroup v2: dockerd needs the controllers delegated to children, so this shell moves to a leaf.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  echo $$ >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  sed 's/\([a-z]*\)/+\1/g' /sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
fi
exec dockerd ${DOCKERD_ARGS:-}
ENTRY
cat >"$work/ctx/Dockerfile" <<DOCKERFILE
FROM stack-swarm-node-rootfs:bookworm
COPY node-entry.sh /usr/local/bin/node-entry.sh
RUN chmod 0755 /usr/local/bin/node-entry.sh
VOLUME /var/lib/docker
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["/usr/local/bin/node-entry.sh"]
LABEL stack.swarm-node.recipe=$recipe
DOCKERFILE
docker import - stack-swarm-node-rootfs:bookworm <"$tarball" >/dev/null
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$work/ctx" >/dev/null
docker rmi stack-swarm-node-rootfs:bookworm >/dev/null
log "built $tag"
echo "$tag"
