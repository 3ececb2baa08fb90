#!/usr/bin/env bash
# `make lab`: a Docker engine, the offline images, one node container per inventory
# host, then playbooks/site.yml on them. Ends with the cluster summary and whether
# the run changed anything.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
inventory=${SWARMOPS_LAB_INVENTORY:-$root/inventories/lab}
export SWARMOPS_LAB_DIR=${SWARMOPS_LAB_DIR:-$root/.lab}
# This run's log and closing report (default: in the lab dir; the bench gives each lab its own).
run_dir=${SWARMOPS_LAB_RUN_DIR:-$SWARMOPS_LAB_DIR}
mkdir -p "$SWARMOPS_LAB_DIR" "$run_dir"
log=$run_dir/up.log

step() { printf '\nlab: == %s ==\n' "$*"; }

# changes_in LOG: total of the changed= counters in an ansible-playbook recap.
changes_in() {
  grep -Eo 'changed=[0-9]+' "$1" | awk -F= '{ total += $2 } END { print total + 0 }'
}

cd "$root"
step "Docker engine"
"$root/lab/engine.sh"
step "offline images"
"$root/lab/build-images.sh"
# play NAME PLAYBOOK [ARGS...]: run a playbook, log it, and stop loudly on failure.
play() {
  local name=$1
  shift
  step "$name"
  if ! ansible-playbook -i "$inventory" "$@" | tee -a "$log"; then
    echo "lab: $name FAILED; the failing task is shown above (full log: $log)" >&2
    exit 1
  fi
}

: >"$log"
report=$run_dir/report
rm -rf "$report"
mkdir -p "$report"
play "lab hosts" playbooks/lab.yml
play "site.yml" playbooks/site.yml "$@"
step "the cluster"
cat "$report/cluster.txt" 2>/dev/null || echo "lab: no cluster table (see $log)"
echo
cat "$report/smoke.txt" 2>/dev/null || echo "lab: no smoke answer (see $log)"
echo
changed=$(changes_in "$log")
if [[ $changed -eq 0 ]]; then
  echo "lab: nothing changed: the lab and the cluster were already as described"
else
  echo "lab: $changed change(s) made (log: $log)"
fi
