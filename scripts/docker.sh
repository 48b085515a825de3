#!/usr/bin/env bash
# Makes sure a Docker Engine runs on this machine: installs Debian's docker.io when the daemon is
# missing, starts dockerd when it is not running, and waits until it answers. Idempotent: on a
# machine where Docker already answers it does nothing.
set -euo pipefail

log() { echo "docker.sh: $*" >&2; }

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    log "Docker Engine is not installed; run as root or install it: apt-get install docker.io"
    exit 1
  fi
  log "installing Docker Engine (Debian package docker.io)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io >/dev/null
fi

# The machine's engine is the one whose pid is in the default pidfile: the tests' private engines
# (internal/testengine) run dockerd too, with their own sockets and pidfiles, and must not count.
if ! { [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; }; then
  if [ "$(id -u)" -ne 0 ]; then
    log "dockerd is not running; start it as root (sudo dockerd) or through your init system"
    exit 1
  fi
  log "starting dockerd (log: /var/log/hearth-dockerd.log)"
  nohup dockerd >/var/log/hearth-dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    # A second engine started and stopped beside this one has been seen to take docker0 with it;
    # without the bridge every new container fails, so recreate it.
    if ! ip link show docker0 >/dev/null 2>&1; then
      log "docker0 bridge missing: recreating it"
      ip link add docker0 type bridge && ip addr add 172.17.0.1/16 dev docker0 && ip link set docker0 up
    fi
    log "Docker Engine $(docker version --format '{{.Server.Version}}') is ready"
    exit 0
  fi
  sleep 0.5
done
log "dockerd did not answer within 30 s; see /var/log/hearth-dockerd.log"
exit 1
