#!/usr/bin/env bash
# `make test`: the whole suite, fastest stages first. One stage alone:
#   tests/run.sh lint|unit|roles|sanity|build|targets|integration|bench|molecule
# It starts a Docker engine when none is reachable (and stops it again at the end),
# builds the offline lab images when missing, and removes every lab it creates.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export ANSIBLE_CONFIG=$root/ansible.cfg
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
started_engine=""

say() { printf '\ntest: == %s ==\n' "$*"; }

engine() {
  [[ -n $started_engine ]] && return 0
  if ! timeout 15 docker info >/dev/null 2>&1; then
    started_engine=yes
  else
    started_engine=no
  fi
  lab/engine.sh
  lab/build-images.sh
}

stop_engine() {
  if [[ $started_engine == yes && -r /var/run/docker.pid ]]; then
    echo "test: stopping the Docker engine this run started"
    kill "$(cat /var/run/docker.pid)" 2>/dev/null || true
  fi
}
trap stop_engine EXIT

lint() {
  say "ruff"
  ruff check .
  ruff format --check .
  say "ansible-lint (production profile)"
  ansible-lint --offline --profile production
}

unit() {
  say "unit tests (module_utils, filters)"
  python -m pytest -q tests/unit
}

roles() {
  say "roles and playbooks: entry points, and every bad input refused before any change (no host touched)"
  python -m pytest -q -n auto tests/roles
}

sanity() {
  say "ansible-test sanity"
  if ! command -v shellcheck >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "test: installing shellcheck so that ansible-test's shellcheck test runs instead of being skipped"
    apt-get install -y -q shellcheck >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q shellcheck >/dev/null; }
  fi
  tests/sanity.sh
}

build() {
  say "collection build and install"
  local out doc
  out=$(mktemp -d)
  ansible-galaxy collection build --output-path "$out" >/dev/null
  # Only the installed copy may be visible, or the install is skipped as "already installed".
  ANSIBLE_COLLECTIONS_PATH="$out/installed" ansible-galaxy collection install --offline --no-deps --force \
    -p "$out/installed" "$out"/swarmops-cluster-*.tar.gz >/dev/null
  [[ -f $out/installed/ansible_collections/swarmops/cluster/plugins/modules/swarm_service.py ]] \
    || { echo "test: the built collection did not install" >&2; return 1; }
  doc=$(ANSIBLE_COLLECTIONS_PATH="$out/installed" ansible-doc swarmops.cluster.swarm_service)
  [[ $doc == *installed/ansible_collections/swarmops/cluster/plugins/modules/swarm_service.py* ]] \
    || { echo "test: ansible-doc cannot read the installed collection's modules" >&2; return 1; }
  echo "test: built $(basename "$out"/swarmops-cluster-*.tar.gz), installed it and read its module docs"
  rm -rf "$out"
}

targets() {
  say "targets: the VirtualBox inventory and Vagrantfile (no VM, no traffic to their addresses)"
  tests/targets/virtualbox.sh
  say "targets: AWS provisioning, teardown and dynamic inventory against a local moto server"
  python -m pytest -q tests/targets
}

integration() {
  engine
  say "module integration tests (real engines, real Consul)"
  python -m pytest -q tests/integration
}

bench() {
  engine
  say "bench: the floor and the peer each end with Hello World on a fresh lab of their own (not a timing)"
  python -m pytest -q tests/bench
}

# The scenarios that test one host or one server (consul, engine) run beside the others, in the
# background: they share nothing with them but the engine, and the suite keeps within its budget.
# Their output is printed when they end; a failure fails the stage.
BESIDE=(consul engine)

# What a failed scenario's log says of its failure: the failed tasks, and the last lines of the
# steps that failed. Printed last, so that the end of a long log shows why it failed.
failure_excerpt() {
  local log=$1
  echo "test: molecule $2 failed; its failed tasks (the last 120 lines of them):"
  grep -a -A24 -E 'fatal: \[|FAILED! =>|failed: \[' "$log" | grep -av 'FAILED - RETRYING' | tail -120 || true
  grep -a -E 'Executed: Failed|^ERROR' "$log" | tail -5 || true
}

molecule_scenarios() {
  engine
  local scenario logs begun pids=() names=() failed=()
  logs=$(mktemp -d)
  for scenario in "${BESIDE[@]}"; do
    [[ -d molecule/$scenario ]] || continue
    say "molecule: $scenario (in the background; its output follows when it ends)"
    molecule test -s "$scenario" >"$logs/$scenario.log" 2>&1 &
    pids+=("$!")
    names+=("$scenario")
  done
  for scenario in molecule/*/; do
    scenario=$(basename "$scenario")
    [[ " ${BESIDE[*]} " == *" $scenario "* ]] && continue
    say "molecule: $scenario"
    begun=$SECONDS
    if molecule test -s "$scenario" 2>&1 | tee "$logs/$scenario.log"; then
      echo "test: molecule $scenario took $((SECONDS - begun)) s"
    else
      failed+=("$scenario")
    fi
  done
  local index
  for index in "${!pids[@]}"; do
    if wait "${pids[$index]}"; then
      say "molecule: ${names[$index]} (ran in the background): passed"
    else
      failed+=("${names[$index]}")
      say "molecule: ${names[$index]} (ran in the background): FAILED"
    fi
    cat "$logs/${names[$index]}.log"
  done
  for scenario in "${failed[@]}"; do
    failure_excerpt "$logs/$scenario.log" "$scenario"
  done
  rm -rf "$logs"
  [[ ${#failed[@]} -eq 0 ]] || { echo "test: molecule scenario(s) failed: ${failed[*]}" >&2; return 1; }
}

stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(lint unit roles sanity build targets integration bench molecule)
for stage in "${stages[@]}"; do
  case $stage in
    lint | unit | roles | sanity | build | targets | integration | bench | molecule) ;;
    *)
      echo "test: unknown stage '$stage' (lint unit roles sanity build targets integration bench molecule)" >&2
      exit 2
      ;;
  esac
done
# Stages that run in the background beside another one when both are asked for (the full suite):
# the targets (moto, no engine) and the bench (a lab of its own) beside the integration tests, whose
# ansible runs leave a part of the machine idle. Their output is printed when the stage they run
# beside ends; a failure fails the run there.
declare -A BESIDE_STAGE=([targets]=integration [bench]=integration)
asked() { [[ " ${stages[*]} " == *" $1 "* ]]; }

run_stage() {
  local stage=$1 begun=$SECONDS
  if [[ $stage == molecule ]]; then molecule_scenarios; else "$stage"; fi
  echo "test: stage $stage took $((SECONDS - begun)) s"
}

# Each stage's time, so that a slow stage shows in the log (the suite's budget is the sum).
timings=()
for stage in "${stages[@]}"; do
  host=${BESIDE_STAGE[$stage]:-}
  [[ -n $host ]] && asked "$host" && continue
  begun=$SECONDS
  others=()
  for other in "${!BESIDE_STAGE[@]}"; do
    [[ ${BESIDE_STAGE[$other]} == "$stage" ]] && asked "$other" && others+=("$other")
  done
  if [[ ${#others[@]} -eq 0 ]]; then
    run_stage "$stage"
    timings+=("$stage $((SECONDS - begun))s")
    continue
  fi
  # The engine and the images once, here, before two stages would start them at once.
  engine
  beside_logs=$(mktemp -d)
  beside_pids=()
  for other in "${others[@]}"; do
    say "stage $other (in the background beside $stage; its output follows when $stage ends)"
    (set -e; run_stage "$other") >"$beside_logs/$other.log" 2>&1 &
    beside_pids+=("$!")
  done
  # In a subshell, so that a failure still prints the background stages' output (set -e holds inside).
  set +e
  (set -e; run_stage "$stage")
  rc=$?
  set -e
  failed=()
  [[ $rc -eq 0 ]] || failed+=("$stage")
  timings+=("$stage $((SECONDS - begun))s")
  for index in "${!others[@]}"; do
    other=${others[$index]}
    if wait "${beside_pids[$index]}"; then
      say "stage $other (ran beside $stage): passed"
    else
      say "stage $other (ran beside $stage): FAILED"
      failed+=("$other")
    fi
    cat "$beside_logs/$other.log"
    timings+=("$other $(sed -n "s/^test: stage $other took \([0-9]*\) s$/\1/p" "$beside_logs/$other.log")s (beside $stage)")
  done
  rm -rf "$beside_logs"
  [[ ${#failed[@]} -eq 0 ]] || { echo "test: stage(s) failed: ${failed[*]}" >&2; exit 1; }
done
echo
echo "test: all stages passed in ${SECONDS} s: ${timings[*]}"
