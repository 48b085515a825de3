#!/usr/bin/env bash
# Makes sure a HashiCorp Nomad dev agent runs on this machine for the tests: builds Nomad from the
# Go module proxy when the cached binary is missing (once per machine, about 6 minutes on 2
# cores), starts `nomad agent -dev` when nothing answers on 127.0.0.1:4646, and waits until its
# node is ready with a healthy docker driver. Idempotent: with the binary cached and the agent up
# it only checks.
#
#   scripts/nomad.sh              build when missing, start when down, wait until ready
#   scripts/nomad.sh --print-bin  build when missing, print the binary's path on stdout
#   scripts/nomad.sh --stop       stop the agent this script started (by its pid file)
#
# The binary lives in ${XDG_CACHE_HOME:-$HOME/.cache}/hearth/nomad/VERSION/, outside the clone, so
# that a fresh clone reuses it. The agent's data and log live in /var/lib/hearth-nomad and
# /var/log/hearth-nomad.log as root, beside the binary otherwise. HEARTH_NOMAD_READY_TIMEOUT
# (seconds, 90 by default) bounds the wait for the agent.
set -euo pipefail

log() { echo "nomad.sh: $*" >&2; }

# The Nomad release and the api module version verified with it (docs: /work/shared/ENVIRONMENT.md).
# Nomad's go.mod replaces the api module with ./api, which the module zip does not contain.
NOMAD_VERSION=1.11.3
NOMAD_API_VERSION=v0.0.0-20260907080526-08ef8f3d26da
NOMAD_ADDR=http://127.0.0.1:4646
READY_TIMEOUT=${HEARTH_NOMAD_READY_TIMEOUT:-90}

CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/hearth/nomad/$NOMAD_VERSION"
NOMAD_BIN="$CACHE_DIR/nomad"
if [ "$(id -u)" -eq 0 ]; then
  STATE_DIR=/var/lib/hearth-nomad
  LOG_FILE=/var/log/hearth-nomad.log
else
  STATE_DIR="$CACHE_DIR/agent"
  LOG_FILE="$STATE_DIR/nomad.log"
fi
PID_FILE="$STATE_DIR/nomad.pid"

mkdir -p "$CACHE_DIR"
# One run at a time: two first runs would build twice, and two agents would fight for the port.
# The lock's descriptor is closed for the agent so that it does not hold the lock for its life.
exec 9>"$CACHE_DIR/.lock"
flock 9

# module_dir downloads a module into the module cache and prints its directory.
module_dir() {
  local out dir
  out=$(go mod download -json "$1") || { log "go mod download $1 failed:"; echo "$out" >&2; return 1; }
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$out")
  [ -n "$dir" ] || { log "go mod download $1 gave no directory:"; echo "$out" >&2; return 1; }
  echo "$dir"
}

# build_nomad builds the binary in a temporary directory and renames it into the cache, so that
# an interrupted build never leaves a partial binary where the next run would take it as built.
build_nomad() {
  local start tmp nomad_dir api_dir
  start=$(date +%s)
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/hearth-nomad-build.XXXXXX")
  # Module cache files are read-only; the copies must be writable to be removed.
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp" "$NOMAD_BIN.partial.$$"' EXIT
  log "building Nomad $NOMAD_VERSION from the Go module proxy (once per machine, about 6 minutes)"
  rm -f "$NOMAD_BIN".partial.* # left by a build that was killed (we hold the lock)
  nomad_dir=$(cd "$tmp" && module_dir "github.com/hashicorp/nomad@v$NOMAD_VERSION")
  api_dir=$(cd "$tmp" && module_dir "github.com/hashicorp/nomad/api@$NOMAD_API_VERSION")
  cp -r "$nomad_dir" "$tmp/nomad"
  chmod -R u+w "$tmp/nomad"
  rm -rf "$tmp/nomad/api"
  cp -r "$api_dir" "$tmp/nomad/api"
  chmod -R u+w "$tmp/nomad/api"
  (cd "$tmp/nomad" && GOFLAGS=-mod=mod go build -buildvcs=false -o "$NOMAD_BIN.partial.$$" .)
  mv -f "$NOMAD_BIN.partial.$$" "$NOMAD_BIN"
  chmod -R u+w "$tmp" 2>/dev/null
  rm -rf "$tmp"
  trap - EXIT
  log "built $NOMAD_BIN in $(($(date +%s) - start)) s"
}

# The version check also catches a cached file that is not a working binary.
if ! "$NOMAD_BIN" version 2>/dev/null | grep -q "^Nomad v$NOMAD_VERSION"; then
  build_nomad
fi

# agent_pid prints the pid of the agent this script started while that agent runs: a pid file
# outlives its process, whose pid may be reused or, killed, left as a zombie with no cmdline.
agent_pid() {
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) && [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$NOMAD_BIN agent " || return 1
  echo "$pid"
}

case "${1:-}" in
  --print-bin)
    echo "$NOMAD_BIN"
    exit 0
    ;;
  --stop)
    if pid=$(agent_pid); then
      log "stopping the Nomad agent (pid $pid)"
      kill -INT "$pid"
      for _ in $(seq 1 60); do
        agent_pid >/dev/null || { rm -f "$PID_FILE"; exit 0; }
        sleep 0.5
      done
      log "the agent (pid $pid) did not stop within 30 s"
      exit 1
    fi
    log "no agent started by this script is running"
    exit 0
    ;;
  "") ;;
  *)
    log "unknown argument: $1 (use --print-bin or --stop)"
    exit 2
    ;;
esac

answers() { curl -fsS -m 2 -o /dev/null "$NOMAD_ADDR/v1/status/leader" 2>/dev/null; }

# leftover_pids prints the pids of processes that run this Nomad binary and hold files in the
# agent's data dir: with no agent of ours running, what a killed agent left behind.
leftover_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$NOMAD_BIN" ] || continue
    if ls -l "$p/fd" 2>/dev/null | grep -qF -- "-> $STATE_DIR/data/"; then
      echo "${p#/proc/}"
    fi
  done
}

# node_state prints "STATUS DOCKER_HEALTHY" for each node, such as "ready true".
node_state() {
  NOMAD_ADDR=$NOMAD_ADDR "$NOMAD_BIN" node status \
    -t '{{range .}}{{.Status}} {{with index .Drivers "docker"}}{{.Healthy}}{{end}}{{"\n"}}{{end}}' 2>/dev/null
}

# write_config writes the dev agent's configuration; each setting says why it is there.
write_config() {
  cat >"$1" <<'EOF'
# Written by hearth's scripts/nomad.sh for the dev agent the tests use (nomad agent -dev).
log_level            = "INFO"
disable_update_check = true

client {
  options = {
    # The cloud metadata fingerprinters fail the agent's start on these machines
    # ("failed to setup IMDS client").
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}

plugin "docker" {
  config {
    # The same dockerd serves hearth's own docker driver and builder. Nomad's image GC removes
    # an image by ID with force, every tag of it, a few minutes after its last task stopped:
    # it would delete images they still use.
    gc {
      image = false
    }
  }
}
EOF
}

# An agent that answers but whose executable is gone (a cache or a temp dir cleared under it)
# cannot start tasks: each one fails launching its log process from that file. Stop it, so that
# one is started again from the binary at hand.
for pid in $(pgrep -f "agent -dev -bind 127.0.0.1 -config" || true); do
  if readlink "/proc/$pid/exe" 2>/dev/null | grep -q ' (deleted)$'; then
    log "stopping the Nomad agent (pid $pid): its executable was deleted"
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
  fi
done

if ! answers; then
  if ! docker info >/dev/null 2>&1; then
    log "Docker does not answer: run scripts/docker.sh first (the agent's docker driver needs it)"
    exit 1
  fi
  if pid=$(agent_pid); then
    log "the agent (pid $pid) is starting; waiting for it"
  else
    mkdir -p "$STATE_DIR"
    # The dev agent's server state is in memory: whatever an earlier agent left in the data dir
    # describes allocations the new one never knew. An agent that was killed also leaves its
    # tasks' log processes (logmon, docker_logger) and mounts (secrets/ is a tmpfs) behind:
    # stop and unmount those first. Their containers the new agent's docker driver removes.
    leftovers=$(leftover_pids)
    if [ -n "$leftovers" ]; then
      log "stopping what an earlier agent left running: pids $(echo $leftovers)"
      kill $leftovers 2>/dev/null || true
    fi
    awk -v d="$STATE_DIR/data/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
      xargs -r umount -l
    rm -rf "$STATE_DIR/data"
    mkdir -p "$STATE_DIR/data"
    write_config "$STATE_DIR/dev.hcl"
    log "starting the Nomad dev agent (log: $LOG_FILE)"
    # From its own directory: the agent and its task processes keep their working directory.
    cd "$STATE_DIR"
    nohup setsid "$NOMAD_BIN" agent -dev -bind 127.0.0.1 -config "$STATE_DIR/dev.hcl" \
      -data-dir "$STATE_DIR/data" >"$LOG_FILE" 2>&1 9>&- </dev/null &
    echo $! >"$PID_FILE"
  fi
fi

# Wait for the API, then for the node: the docker driver is fingerprinted shortly after start.
deadline=$(($(date +%s) + READY_TIMEOUT))
until answers && node_state | grep -q '^ready true$'; do
  if [ -f "$PID_FILE" ] && ! agent_pid >/dev/null && ! answers; then
    log "the Nomad agent exited; see $LOG_FILE:"
    { grep -A 3 '^==> Error' "$LOG_FILE" || tail -n 20 "$LOG_FILE"; } >&2 || true
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "the Nomad agent at $NOMAD_ADDR is not ready with a healthy docker driver within ${READY_TIMEOUT} s" \
      "(nodes: $(node_state | tr '\n' ';')); see $LOG_FILE"
    exit 1
  fi
  sleep 0.5
done

log "Nomad $("$NOMAD_BIN" version | head -n 1 | awk '{print $2}') is ready with a healthy docker driver (log: $LOG_FILE)"
log "binary: $NOMAD_BIN"
echo "NOMAD_ADDR=$NOMAD_ADDR"
