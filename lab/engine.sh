#!/usr/bin/env bash
# Make sure a Docker engine is reachable for the controller.
#
#   lab/engine.sh
#
# - If `docker info` works: say which engine it is and exit 0.
# - Else, on Debian/Ubuntu as root: install docker.io (only when dockerd or the
#   docker client is missing), start the engine (systemd when PID 1 is systemd,
#   else `dockerd` in the background, log in $SWARMOPS_DOCKERD_LOG), wait for
#   `docker info` (at most $SWARMOPS_ENGINE_TIMEOUT seconds) and say what it did.
# - Else: fail, naming what is missing.
#
# Environment:
#   SWARMOPS_DOCKERD_LOG     dockerd log file (default /var/log/swarmops-dockerd.log)
#   SWARMOPS_ENGINE_TIMEOUT  seconds to wait for the engine (default 60)
set -euo pipefail

readonly DOCKERD_LOG="${SWARMOPS_DOCKERD_LOG:-/var/log/swarmops-dockerd.log}"
readonly ENGINE_TIMEOUT="${SWARMOPS_ENGINE_TIMEOUT:-60}"
# A hung engine must not hang the caller: every probe is bounded.
readonly PROBE_TIMEOUT=15

# shellcheck source=lab/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

have() { command -v "$1" >/dev/null 2>&1; }

engine_reachable() {
  have docker && timeout "$PROBE_TIMEOUT" docker info >/dev/null 2>&1
}

# Why the engine is not reachable (last line of the client's error), for messages.
engine_error() {
  if ! have docker; then
    echo "the docker client is not installed"
    return
  fi
  # `docker info` of client 20.10 prints its error on stdout; `docker version` does not.
  timeout "$PROBE_TIMEOUT" docker version --format '{{.Server.Version}}' 2>&1 >/dev/null \
    | grep -v '^$' | tail -n 1 || true
}

describe_engine() {
  local version os endpoint
  version="$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo unknown)"
  os="$(docker info --format '{{.OperatingSystem}}' 2>/dev/null || echo unknown)"
  endpoint="${DOCKER_HOST:-$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || echo 'unix:///var/run/docker.sock')}"
  say "Docker engine reachable: ${version} on ${os} via ${endpoint}"
}

is_debian_like() {
  local id="" id_like=""
  [[ -r /etc/os-release ]] || return 1
  # shellcheck disable=SC1091
  id="$(. /etc/os-release && echo "${ID:-}")"
  # shellcheck disable=SC1091
  id_like="$(. /etc/os-release && echo "${ID_LIKE:-}")"
  [[ " ${id} ${id_like} " =~ \ (debian|ubuntu)\  ]]
}

os_name() {
  # shellcheck disable=SC1091
  (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-${ID:-unknown}}") || echo "unknown (no /etc/os-release)"
}

# Starting the local dockerd only helps when the client talks to its default socket.
docker_host_is_default() {
  case "${DOCKER_HOST:-}" in
    "" | unix:///var/run/docker.sock | unix:///run/docker.sock) return 0 ;;
    *) return 1 ;;
  esac
}

# "systemctl works and PID 1 is systemd" (not merely: systemctl is installed).
systemd_is_pid1() {
  [[ "$(cat /proc/1/comm 2>/dev/null || true)" == systemd ]] || return 1
  [[ -d /run/systemd/system ]] && have systemctl \
    && systemctl show --property=Version >/dev/null 2>&1
}

dockerd_running() {
  local pid
  [[ -r /var/run/docker.pid ]] || return 1
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

install_docker_io() {
  say "installing docker.io with apt-get (dockerd or the docker client is missing)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || die "apt-get update failed"
  apt-get install -y -q docker.io || die "apt-get install -y docker.io failed"
  have dockerd || die "docker.io is installed but dockerd is still not on PATH"
}

start_with_systemd() {
  systemctl start docker.service || die "systemctl start docker.service failed (see: journalctl -u docker)"
  STARTED_HOW="started docker.service with systemctl"
}

start_background_dockerd() {
  if dockerd_running; then
    STARTED_HOW="found dockerd (pid $(cat /var/run/docker.pid)) already starting and waited for it"
    return
  fi
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  # setsid: dockerd must outlive this script and its terminal.
  setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  disown || true
  STARTED_HOW="started dockerd (log: ${DOCKERD_LOG})"
}

wait_for_engine() {
  local deadline=$((SECONDS + ENGINE_TIMEOUT))
  while ((SECONDS < deadline)); do
    engine_reachable && return 0
    sleep 1
  done
  return 1
}

fail_wait() {
  local hint="see ${DOCKERD_LOG}"
  [[ "${STARTED_HOW}" == *systemctl* ]] && hint="see: journalctl -u docker"
  if [[ -r "$DOCKERD_LOG" && "${STARTED_HOW}" != *systemctl* ]]; then
    printf 'lab: last lines of %s:\n' "$DOCKERD_LOG" >&2
    tail -n 15 "$DOCKERD_LOG" | sed 's/^/lab:   /' >&2
  fi
  die "the Docker engine did not answer 'docker info' within ${ENGINE_TIMEOUT}s (${STARTED_HOW}; ${hint})"
}

main() {
  if engine_reachable; then
    describe_engine
    return 0
  fi

  local reason
  reason="$(engine_error)"
  say "no Docker engine is reachable (${reason:-docker info failed})"

  docker_host_is_default \
    || die "DOCKER_HOST=${DOCKER_HOST} is not reachable; start that engine or unset DOCKER_HOST (this script only starts a local dockerd on unix:///var/run/docker.sock)"
  is_debian_like \
    || die "cannot install a Docker engine here: this is $(os_name), not Debian/Ubuntu; install Docker yourself and start it"
  [[ "$(id -u)" -eq 0 ]] \
    || die "cannot install or start a Docker engine: not root (uid $(id -u)); run this script as root, or start dockerd and make /var/run/docker.sock usable by you"

  local installed=""
  if ! have dockerd || ! have docker; then
    install_docker_io
    installed="installed docker.io and "
  fi

  STARTED_HOW=""
  if systemd_is_pid1; then
    start_with_systemd
  else
    start_background_dockerd
  fi

  wait_for_engine || fail_wait
  say "no Docker engine was reachable; ${installed}${STARTED_HOW}"
  describe_engine
}

main "$@"
