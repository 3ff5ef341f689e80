#!/usr/bin/env bash
# Docker tier set-up for CI (and for trying Strata locally as root). Idempotent:
#  1. installs Debian's docker.io when dockerd is missing;
#  2. starts `dockerd --bridge=none --iptables=false` in the background when no daemon answers
#     (no bridge network exists: sandbox containers always use NetworkMode none), logging to
#     $STRATA_DOCKERD_LOG and writing its PID to $STRATA_DOCKERD_PIDFILE (the daemon-restart test
#     stops and restarts only the dockerd named there);
#  3. builds the runner images (`node src/cli/main.ts images build`; skipped when up to date).
# Run it (`bash .ci/docker.sh`) or source it; it never pulls an image.
strata_docker_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A subshell, so sourcing this file leaks neither `set -e` nor an `exit`.
strata_docker_setup() (
  set -euo pipefail
  repo_root=$strata_docker_repo

  STRATA_DOCKERD_LOG=${STRATA_DOCKERD_LOG:-/var/log/dockerd.log}
  STRATA_DOCKERD_PIDFILE=${STRATA_DOCKERD_PIDFILE:-/run/strata-dockerd.pid}
  export STRATA_DOCKERD_PIDFILE

  strata_docker_log() { echo "[docker.sh] $*" >&2; }

  if ! command -v dockerd >/dev/null 2>&1; then
    strata_docker_log "installing docker.io from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y docker.io
  fi

  if ! docker info >/dev/null 2>&1; then
    strata_docker_log "starting dockerd --bridge=none --iptables=false (log: $STRATA_DOCKERD_LOG)"
    setsid nohup dockerd --bridge=none --iptables=false >>"$STRATA_DOCKERD_LOG" 2>&1 </dev/null &
    echo $! >"$STRATA_DOCKERD_PIDFILE"
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
      strata_docker_log "dockerd did not come up within 60 s; last log lines:"
      tail -n 30 "$STRATA_DOCKERD_LOG" >&2 || true
      exit 1
    fi
  fi
  strata_docker_log "daemon: $(docker info --format '{{.ServerVersion}} cgroup v{{.CgroupVersion}}')"

  cd "$repo_root"
  export PATH="$repo_root/node_modules/.bin:$PATH"
  node src/cli/main.ts images build
)

strata_docker_setup
