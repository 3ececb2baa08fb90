#!/usr/bin/env bash
# Build a local apt repository with what a bare Debian bookworm host needs for the
# role docker_engine, so that a test host installs it without reaching any mirror.
#
#   lab/build-apt-repo.sh [--force]
#
#   --force   rebuild the repository even when it is current
#
# Packages: docker.io, ca-certificates, python3, python3-venv (the role's list on Debian)
# and python3-apt (ansible.builtin.apt installs it first), each with the dependencies the
# base image lacks; without Recommends, like the role's default. The .debs come from this
# machine's Debian mirror through a private apt configuration whose dpkg status is the
# base image's own: apt then downloads exactly what that image is missing. The machine's
# apt sources, lists and caches stay untouched.
#
# Result: ${SWARMOPS_LAB_DIR:-<repo>/.lab}/apt/ holding the .debs, a Packages index and
# a Release file (apt-ftparchive). A host uses it with this one apt source:
#     deb [trusted=yes] file:/PATH/TO/apt ./
# apt/SOURCE records what the repository was built from; the script rebuilds only when
# that changed (package list, suite, mirror, base image ID).
#
# Environment:
#   SWARMOPS_LAB_DIR          lab state directory (default <repo>/.lab)
#   SWARMOPS_DEBIAN_MIRROR    Debian mirror (default: the machine's apt sources)
#   SWARMOPS_APT_BASE_IMAGE   image standing for the bare host (default swarmops/app-base:bookworm;
#                             built with lab/build-images.sh when it is missing)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
LAB_DIR="${SWARMOPS_LAB_DIR:-${REPO_ROOT}/.lab}"
REPO_DIR="${LAB_DIR}/apt"
BASE_IMAGE="${SWARMOPS_APT_BASE_IMAGE:-swarmops/app-base:bookworm}"
readonly SCRIPT_DIR REPO_ROOT LAB_DIR REPO_DIR BASE_IMAGE

readonly SUITE=bookworm
readonly PACKAGES=(docker.io ca-certificates python3 python3-venv python3-apt)
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

FORCE=0
WORK_DIR=""

# shellcheck source=lab/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

cleanup() {
  [[ -z "$WORK_DIR" ]] || rm -rf --one-file-system "$WORK_DIR"
}

# apt-ftparchive is in apt-utils, which a minimal Debian lacks: install it with the
# machine's apt (as root) and say so.
install_tools() {
  command -v apt-ftparchive >/dev/null 2>&1 && return 0
  [[ "$(id -u)" -eq 0 ]] || die "apt-ftparchive is missing and this is not root: apt-get install apt-utils"
  command -v apt-get >/dev/null 2>&1 || die "apt-ftparchive is missing and there is no apt-get to install apt-utils"
  say "installing apt-utils with apt-get (apt-ftparchive indexes the repository)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q apt-utils >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q apt-utils >/dev/null; } \
    || die "apt-get install -y apt-utils failed"
}


base_image_id() { docker image inspect --format '{{.Id}}' "$BASE_IMAGE" 2>/dev/null; }

# What the repository is built from; equal text means nothing to rebuild.
describe_inputs() {
  printf 'suite: %s\nmirror: %s\npackages: %s\nrecommends: no\nbase-image: %s %s\n' \
    "$SUITE" "$1" "${PACKAGES[*]}" "$BASE_IMAGE" "$2"
}

repo_summary() {
  local count size
  count="$(find "$1" -maxdepth 1 -name '*.deb' | wc -l)"
  size="$(du -sm "$1" | cut -f1)"
  printf '%s packages, %s MiB' "$count" "$size"
}

# build_repo DIR MIRROR: download into DIR what the base image lacks, then index it.
build_repo() {
  local out="$1" mirror="$2" apt_dir="${WORK_DIR}/apt"
  mkdir -p "${apt_dir}/lists/partial" "${apt_dir}/cache" "${out}/partial"
  # The base image's dpkg status: apt resolves against what that host already has.
  docker run --rm --network none --entrypoint cat "$BASE_IMAGE" /var/lib/dpkg/status >"${apt_dir}/status" \
    || die "could not read /var/lib/dpkg/status from ${BASE_IMAGE}"
  printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$mirror" "$SUITE" >"${apt_dir}/sources.list"
  local apt_opts=(
    -o "Dir::Etc::sourcelist=${apt_dir}/sources.list"
    -o Dir::Etc::sourceparts=-
    -o "Dir::State::Lists=${apt_dir}/lists"
    -o "Dir::State::status=${apt_dir}/status"
    -o "Dir::Cache=${apt_dir}/cache"
    -o "Dir::Cache::archives=${out}"
    -o APT::Install-Recommends=false
    -o APT::Sandbox::User=root
  )
  apt-get -q "${apt_opts[@]}" update >"${apt_dir}/update.log" 2>&1 \
    || { tail -n 20 "${apt_dir}/update.log" | sed 's/^/lab:   /' >&2; die "apt-get update of ${mirror} ${SUITE} (private lists) failed"; }
  apt-get -q -y "${apt_opts[@]}" install --download-only "${PACKAGES[@]}" >"${apt_dir}/download.log" 2>&1 \
    || { tail -n 20 "${apt_dir}/download.log" | sed 's/^/lab:   /' >&2; die "apt-get install --download-only ${PACKAGES[*]} failed"; }
  rm -rf "${out}/partial" "${out}/lock"
  find "$out" -maxdepth 1 -name '*.deb' | grep -q . \
    || die "apt downloaded nothing: ${BASE_IMAGE} already has ${PACKAGES[*]}? (see ${apt_dir}/download.log)"
  # Paths in the index are relative to the repository (a flat repository: `file:/DIR ./`).
  # The Release file is written outside first, or it would list (and hash) itself.
  (cd "$out" && apt-ftparchive packages . >Packages && apt-ftparchive release . >"${apt_dir}/Release") \
    || die "apt-ftparchive could not index ${out}"
  mv "${apt_dir}/Release" "${out}/Release"
}

main() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      --force) FORCE=1 ;;
      -h | --help) usage; return 0 ;;
      *) die "unknown argument '$arg' (see --help)" ;;
    esac
  done

  [[ "$(id -u)" -eq 0 ]] || die "run as root (apt-get with a private configuration still needs root)"
  install_tools
  command -v docker >/dev/null 2>&1 || die "the docker client is missing (lab/engine.sh installs an engine)"
  "${SCRIPT_DIR}/engine.sh" >/dev/null
  if ! base_image_id >/dev/null; then
    say "${BASE_IMAGE} does not exist: building it with lab/build-images.sh"
    "${SCRIPT_DIR}/build-images.sh" app-base
  fi

  mkdir -p "$LAB_DIR"
  exec 9>"${LAB_DIR}/.build-apt-repo.lock"
  flock -w 600 9 || die "gave up waiting for ${LAB_DIR}/.build-apt-repo.lock (another build-apt-repo.sh?)"

  local mirror wanted
  mirror="$(debian_mirror)"
  wanted="$(describe_inputs "$mirror" "$(base_image_id)")"
  if ((FORCE == 0)) && [[ -s "${REPO_DIR}/Packages" && -r "${REPO_DIR}/SOURCE" ]] \
    && [[ "$(cat "${REPO_DIR}/SOURCE")" == "$wanted" ]]; then
    say "${REPO_DIR} is current ($(repo_summary "$REPO_DIR")); not rebuilding (use --force to rebuild)"
    return 0
  fi

  WORK_DIR="$(mktemp -d "${LAB_DIR}/tmp.build-apt-repo.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  local start=$SECONDS
  say "downloading ${PACKAGES[*]} and what ${BASE_IMAGE} lacks for them from ${mirror} ${SUITE}"
  build_repo "${WORK_DIR}/repo" "$mirror"
  printf '%s\n' "$wanted" >"${WORK_DIR}/repo/SOURCE"
  chmod -R a+rX "${WORK_DIR}/repo"
  rm -rf --one-file-system "$REPO_DIR"
  mv "${WORK_DIR}/repo" "$REPO_DIR"
  say "built ${REPO_DIR} ($(repo_summary "$REPO_DIR")) in $((SECONDS - start))s"
  say "use it with: deb [trusted=yes] file:<where ${REPO_DIR} is mounted> ./"
}

main "$@"
