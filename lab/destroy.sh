#!/usr/bin/env bash
# Remove what `make lab` created for one lab: the node containers, their volumes
# and network (all labelled swarmops.lab=<name>), their cgroups, and the lab's
# Consul secrets (.lab/secrets/<name>).
# The offline images and their archives stay cached in .lab/ for the next `make lab`.
set -euo pipefail

# The lab comes from the environment only: an argument (even --help) must not fall through
# to removing the default lab.
if (($# > 0)); then
  echo "usage: [SWARMOPS_LAB_NAME=name] [SWARMOPS_LAB_DIR=dir] $0   (no arguments; default lab name: lab)" >&2
  exit 2
fi

lab_name=${SWARMOPS_LAB_NAME:-lab}
lab_dir=${SWARMOPS_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.lab}
filter="label=swarmops.lab=${lab_name}"

# remove KIND [ls flags...]: remove every object of KIND that carries the lab label.
remove() {
  local kind=$1 ids rm_flags=()
  ids=$(docker "$kind" ls -q "${@:2}" --filter "$filter")
  [[ -n $ids ]] || return 0
  [[ $kind == network ]] || rm_flags=(--force)
  # shellcheck disable=SC2086
  docker "$kind" rm "${rm_flags[@]}" $ids >/dev/null
  echo "lab: removed $(wc -w <<<"$ids") ${kind}(s) labelled swarmops.lab=${lab_name}"
}

if ! docker info >/dev/null 2>&1; then
  echo "lab: no Docker engine reachable; nothing to remove" >&2
  exit 0
fi
remove container --all
remove volume
remove network
# Each node's dockerd ran with --cgroup-parent=/swarmops-<lab>-<host>; those cgroups
# outlive the containers and go depth-first (rmdir only removes empty ones).
cgroups=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name "swarmops-${lab_name}-*" 2>/dev/null || true)
if [[ -n $cgroups ]]; then
  while read -r group; do
    find "$group" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done <<<"$cgroups"
  echo "lab: removed the lab's cgroups (swarmops-${lab_name}-*)"
fi
secrets=$lab_dir/secrets/$lab_name
if [[ -d $secrets ]]; then
  rm -rf "${secrets:?}"
  echo "lab: removed the lab's Consul secrets (${secrets})"
fi
echo "lab: '${lab_name}' destroyed"
