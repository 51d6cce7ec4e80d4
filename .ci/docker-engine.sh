#!/usr/bin/env bash
# Make a Docker engine answer `docker info` on a bare Debian machine (CI).
#
# Does nothing when an engine already answers. Otherwise installs Debian's
# docker.io (Engine 20.10) and docker-compose (Compose 1.29) if they are
# missing, starts dockerd in the background (it outlives this script; its log
# goes to $DOCKERD_LOG) and waits, bounded, until `docker info` answers.
# Users with Docker Desktop or a distribution engine never need this script.
set -euo pipefail

log=${DOCKERD_LOG:-/tmp/dockerd.log}
wait_s=${DOCKERD_WAIT_S:-90}

if docker info >/dev/null 2>&1; then
  echo "docker-engine: an engine already answers; nothing to do"
  exit 0
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if ((${#missing[@]})); then
  echo "docker-engine: installing ${missing[*]}"
  # iptables: dockerd needs it for bridge networks and published ports;
  # it is only a Recommends of some packagings, so name it.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing[@]}" iptables ca-certificates
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker-engine: starting dockerd (log: $log)"
  # setsid + nohup: dockerd must survive this script and the CI step that ran it. Every inherited
  # descriptor above 2 is closed first: run under `flock /work/docker.lock`, dockerd would
  # otherwise keep flock's descriptor, and with it the lock, for as long as it runs.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-"; fi
    done 2>/dev/null
    exec setsid nohup dockerd >"$log" 2>&1 </dev/null
  ) &
fi

start=$SECONDS
until docker info >/dev/null 2>&1; do
  if ((SECONDS - start >= wait_s)); then
    echo "docker-engine: dockerd did not answer within ${wait_s}s; last log lines:" >&2
    tail -n 30 "$log" >&2 || true
    exit 1
  fi
  sleep 1
done
echo "docker-engine: engine answers after $((SECONDS - start))s:" \
  "$(docker version --format 'server {{.Server.Version}}' 2>/dev/null)," \
  "$(docker info --format 'storage {{.Driver}}, cgroup v{{.CgroupVersion}}' 2>/dev/null)," \
  "$(docker-compose version --short 2>/dev/null || echo 'no docker-compose')"
