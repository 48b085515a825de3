#!/usr/bin/env bash
# Makes sure a private image registry serves on 127.0.0.1:5000 for the tests: installs Debian's
# docker-registry (the CNCF distribution registry) when missing, starts it when nothing answers,
# and waits until /v2/ answers 200. Idempotent: with the registry up it only checks. dockerd
# trusts loopback registries without TLS, so `docker push 127.0.0.1:5000/NAME:TAG` works as is.
#
#   scripts/registry.sh         install when missing, start when down, wait until ready
#   scripts/registry.sh --stop  stop the registry this script started (by its pid file)
#
# Its config, pid file and images live in /var/lib/hearth-registry and its log in
# /var/log/hearth-registry.log as root, in ${XDG_CACHE_HOME:-$HOME/.cache}/hearth/registry otherwise.
set -euo pipefail

log() { echo "registry.sh: $*" >&2; }

REGISTRY_ADDR=127.0.0.1:5000
if [ "$(id -u)" -eq 0 ]; then
  STATE_DIR=/var/lib/hearth-registry
  LOG_FILE=/var/log/hearth-registry.log
else
  STATE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/hearth/registry"
  LOG_FILE="$STATE_DIR/registry.log"
fi
PID_FILE="$STATE_DIR/registry.pid"

# status prints the HTTP status of /v2/, 000 when nothing answers.
status() { curl -sS -m 2 -o /dev/null -w '%{http_code}' "http://$REGISTRY_ADDR/v2/" 2>/dev/null || true; }

# registry_pid prints the pid of the registry this script started while it runs: a pid file
# outlives its process, whose pid may be reused or, killed, left as a zombie with no cmdline.
registry_pid() {
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) && [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "docker-registry serve $STATE_DIR/config.yml" || return 1
  echo "$pid"
}

if [ "${1:-}" = "--stop" ]; then
  if pid=$(registry_pid); then
    log "stopping the registry (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 20); do
      registry_pid >/dev/null || { rm -f "$PID_FILE"; exit 0; }
      sleep 0.5
    done
    log "the registry (pid $pid) did not stop within 10 s"
    exit 1
  fi
  log "no registry started by this script is running"
  exit 0
elif [ -n "${1:-}" ]; then
  log "unknown argument: $1 (use --stop)"
  exit 2
fi

if [ "$(status)" = 200 ]; then
  exit 0
fi

# One run at a time: two would start two registries, and the one that lost the port would fail.
# The lock's descriptor is closed for the registry so that it does not hold the lock for its life.
mkdir -p "$STATE_DIR"
exec 9>"$STATE_DIR/.lock"
flock 9

if ! command -v docker-registry >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    log "docker-registry is not installed; run as root or install it: apt-get install docker-registry"
    exit 1
  fi
  log "installing the registry (Debian package docker-registry)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker-registry >/dev/null
fi

# Checked after the install too: a package's service, had one started, would hold the port.
code=$(status)
if [ "$code" != 000 ] && [ "$code" != 200 ]; then
  log "something else answers on $REGISTRY_ADDR (/v2/ gave HTTP $code); the tests need a registry without auth there"
  exit 1
elif [ "$code" = 200 ]; then
  exit 0
elif pid=$(registry_pid); then
  log "the registry (pid $pid) is starting; waiting for it"
else
  mkdir -p "$STATE_DIR/data"
  cat >"$STATE_DIR/config.yml" <<EOF
# Written by hearth's scripts/registry.sh: a registry for tests on loopback, no auth, no TLS.
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $STATE_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  log "starting the registry on $REGISTRY_ADDR (log: $LOG_FILE, images: $STATE_DIR/data)"
  cd "$STATE_DIR"
  nohup setsid docker-registry serve "$STATE_DIR/config.yml" >"$LOG_FILE" 2>&1 9>&- </dev/null &
  echo $! >"$PID_FILE"
fi

for _ in $(seq 1 40); do
  if [ "$(status)" = 200 ]; then
    log "registry $(docker-registry --version 2>/dev/null | awk '{print $NF}') is ready at http://$REGISTRY_ADDR"
    exit 0
  fi
  registry_pid >/dev/null || break
  sleep 0.25
done
log "the registry did not answer within 10 s or exited; see $LOG_FILE:"
tail -n 20 "$LOG_FILE" >&2 || true
exit 1
