#!/usr/bin/env bash
# The VirtualBox target, checked without VirtualBox and without sending a packet to its
# addresses: the inventory's groups, site.yml's syntax against it, the Vagrantfile against the
# inventory (same machines, addresses, sizes), and the refusals of a bad inventory.
#
#   tests/targets/virtualbox.sh        (from anywhere; about 15 s once Vagrant is installed)
#
# As root on Debian/Ubuntu it installs the `vagrant` package (and with it Ruby) when missing.
# Everything that reads the inventory runs in a network namespace of its own when `unshare`
# allows it, and with an `ssh` on PATH that records any call: the test fails if one is made.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
[[ -x .venv/bin/ansible-playbook ]] && PATH=$root/.venv/bin:$PATH
export ANSIBLE_CONFIG=$root/ansible.cfg ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 PY_COLORS=0
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_NO_COLOR=1

inventory=inventories/virtualbox
# The groups site.yml, summary.yml and smoke.yml target, and the hosts each must hold.
declare -A expected=(
  [consul_servers]="consul"
  [swarm_masters]="master0 master1 master2"
  [swarm_nodes]="node0 node1 node2"
)
# Groups site.yml makes at run time (group_by): not in any inventory.
runtime_groups="swarm_masters_reachable swarm_masters_first"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
checks=0

say() { printf 'virtualbox: %s\n' "$*"; }
ok() {
  checks=$((checks + 1))
  printf 'virtualbox:   ok - %s\n' "$*"
}
fail() {
  printf 'virtualbox: FAIL - %s\n' "$*" >&2
  exit 1
}

# --- tools -------------------------------------------------------------------------------------
if ! command -v vagrant >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  say "installing the vagrant package (brings Ruby) for 'vagrant validate' and the Vagrantfile harness"
  apt-get install -y -q --no-install-recommends vagrant >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends vagrant >/dev/null; }
fi
for tool in ansible-inventory ansible-playbook python3 ruby; do
  command -v "$tool" >/dev/null || fail "$tool is not on PATH (ruby: apt-get install ruby, or run this as root)"
done

# A tripwire: ssh, scp and sftp record their arguments and fail. Nothing here may call them.
mkdir -p "$work/bin"
for tool in ssh scp sftp; do
  printf '#!/bin/sh\necho "%s $*" >> "%s"\nexit 255\n' "$tool" "$work/tripwire.log" >"$work/bin/$tool"
  chmod +x "$work/bin/$tool"
done
PATH=$work/bin:$PATH
# No network at all when a network namespace can be had (root: unshare -n; else a user namespace).
offline=()
if unshare --net true 2>/dev/null; then
  offline=(unshare --net --)
elif unshare --map-root-user --net true 2>/dev/null; then
  offline=(unshare --map-root-user --net --)
fi
if [[ ${#offline[@]} -gt 0 ]]; then
  say "running every check in a network namespace with no interface but loopback (${offline[*]})"
else
  say "unshare cannot make a network namespace here: relying on the ssh tripwire alone"
fi
run() { "${offline[@]}" "$@"; }

# Machines of a Vagrantfile as JSON, with the inventory it reads (empty: its default).
vagrant_machines() {
  SWARMOPS_VAGRANT_INVENTORY=${1:-} run ruby tests/targets/vagrant_machines.rb Vagrantfile
}
# vagrant_run INVENTORY ARGS...: Vagrant with its state in $work/vagrant (empty INVENTORY: the default).
vagrant_run() {
  local inventory_path=$1
  shift
  mkdir -p "$work/vagrant"
  SWARMOPS_VAGRANT_INVENTORY=$inventory_path VAGRANT_HOME=$work/vagrant/home VAGRANT_DOTFILE_PATH=$work/vagrant/dot \
    run vagrant "$@"
}

# --- the inventory's groups ----------------------------------------------------------------------
say "ansible-inventory -i $inventory --graph"
run ansible-inventory -i "$inventory" --graph | sed 's/^/    /'
for group in "${!expected[@]}"; do
  hosts=$(run ansible-inventory -i "$inventory" --graph "$group" | sed -n 's/^ *|--\([^@].*\)$/\1/p' | sort | xargs)
  want=$(tr ' ' '\n' <<<"${expected[$group]}" | sort | xargs)
  [[ $hosts == "$want" ]] || fail "group $group holds '$hosts', expected '$want'"
  ok "group $group holds exactly: $hosts"
done

# Every group the playbooks target must be one of the expected ones (or made at run time).
targeted=$(sed -n 's/^ *hosts: *//p' playbooks/site.yml playbooks/summary.yml playbooks/smoke.yml \
  | sed 's/[:,]/\n/g' | sed 's/\[.*\]$//; s/^ *//; s/ *$//' | grep -v '^$' | sort -u)
for group in $targeted; do
  [[ -n ${expected[$group]:-} || " $runtime_groups all localhost " == *" $group "* ]] \
    || fail "the playbooks target group '$group', which this test (and maybe the inventory) does not know"
done
ok "the playbooks target no other inventory group: $(xargs <<<"$targeted")"

# --- site.yml parses against it ------------------------------------------------------------------
say "ansible-playbook -i $inventory playbooks/site.yml --syntax-check"
run ansible-playbook -i "$inventory" playbooks/site.yml --syntax-check >"$work/syntax.log" 2>&1 \
  || { cat "$work/syntax.log" >&2; fail "site.yml does not pass --syntax-check with $inventory"; }
ok "site.yml passes --syntax-check with $inventory"
run ansible-playbook -i "$inventory" playbooks/preflight.yml >"$work/preflight-ok.log" 2>&1 \
  || { cat "$work/preflight-ok.log" >&2; fail "preflight.yml refuses $inventory"; }
ok "preflight.yml accepts $inventory ($(sed -n 's/^ *msg: //p' "$work/preflight-ok.log"))"
run ansible-playbook -i inventories/lab playbooks/preflight.yml >"$work/preflight-lab.log" 2>&1 \
  || { cat "$work/preflight-lab.log" >&2; fail "preflight.yml refuses the lab inventory (docker connection, no ansible_host)"; }
ok "preflight.yml accepts inventories/lab, whose hosts have no address of their own"

# --- the Vagrantfile yields exactly the inventory's machines ---------------------------------------
run ansible-inventory -i "$inventory" --list >"$work/inventory.json"
if command -v vagrant >/dev/null; then
  say "vagrant validate --ignore-provider ($(vagrant --version); no VirtualBox needed)"
  vagrant_run "" validate --ignore-provider >"$work/validate.log" 2>&1 || { cat "$work/validate.log" >&2; fail "vagrant validate"; }
  ok "vagrant validate: $(tail -n 1 "$work/validate.log")"
else
  say "SKIP vagrant validate: vagrant is not installed (as root this script installs it)"
fi
say "the Vagrantfile's machines, loaded with a stand-in Vagrant.configure (tests/targets/vagrant_machines.rb)"
vagrant_machines "" >"$work/machines.json" || fail "the Vagrantfile does not load"
python3 - "$work/inventory.json" "$work/machines.json" <<'EOF' || fail "the Vagrantfile and the inventory disagree"
import ipaddress, json, sys

inventory = json.load(open(sys.argv[1]))
machines = json.load(open(sys.argv[2]))
hostvars = inventory["_meta"]["hostvars"]
problems = []
names = [m["name"] for m in machines]
if sorted(names) != sorted(hostvars) or len(set(names)) != len(names):
    problems.append(f"machines {names} are not the inventory's hosts {sorted(hostvars)}")
for machine in machines:
    host = hostvars.get(machine["name"], {})
    network = ipaddress.ip_network(host.get("vagrant_network", "0.0.0.0/32"))
    want = {
        "box": host.get("vagrant_box"),
        "hostname": machine["name"],
        "private_networks": [{"ip": host.get("ansible_host"), "netmask": str(network.netmask)}],
        "memory": host.get("vagrant_memory"),
        "cpus": host.get("vagrant_cpus"),
    }
    for key, value in want.items():
        if machine[key] != value:
            problems.append(f"{machine['name']}: {key} is {machine[key]!r}, the inventory says {value!r}")
    if not any(f["guest"] == "/vagrant" and f.get("disabled") for f in machine["synced_folders"]):
        problems.append(f"{machine['name']}: the /vagrant synced folder is not disabled")
    print(f"    {machine['name']:<8} {machine['private_networks'][0]['ip']:<15} "
          f"{machine['memory']:>5} MB {machine['cpus']} CPU  {machine['box']}")
for problem in problems:
    print(f"virtualbox: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
ok "the Vagrantfile defines exactly the inventory's $(grep -c '"name"' "$work/machines.json") machines, with its addresses and sizes"

# --- bad inventories are refused before anything is made ------------------------------------------
# A copy of the inventory with one host's ansible_host changed (comments are not kept).
mutate() { # NAME HOST ADDRESS
  cp -r "$inventory" "$work/$1"
  python3 - "$work/$1/hosts.yml" "$2" "$3" <<'EOF'
import sys, yaml

path, target, address = sys.argv[1:]
data = yaml.safe_load(open(path))

def walk(group):
    group = group or {}
    found = False
    for host, host_vars in (group.get("hosts") or {}).items():
        if host == target:
            group["hosts"][host] = dict(host_vars or {}, ansible_host=address)
            found = True
    for child in (group.get("children") or {}).values():
        found = walk(child) or found
    return found

if not any(walk(group) for group in data.values()):
    sys.exit(f"no host {target} in {path}")
yaml.safe_dump(data, open(path, "w"), sort_keys=False)
EOF
}
hostvar() { # HOST VAR
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["_meta"]["hostvars"][sys.argv[2]][sys.argv[3]])' \
    "$work/inventory.json" "$1" "$2"
}
# expect_refusal WHAT EXPECTED-TEXT COMMAND...: the command fails and says EXPECTED-TEXT.
expect_refusal() {
  local what=$1 text=$2
  shift 2
  if "$@" >"$work/refusal.log" 2>&1; then
    cat "$work/refusal.log" >&2
    fail "$what was accepted"
  fi
  grep -qF -- "$text" <(tr -s ' \n' ' ' <"$work/refusal.log") \
    || { cat "$work/refusal.log" >&2; fail "$what was refused without saying '$text'"; }
  sed 's/^/    | /' "$work/refusal.log"
  ok "$what is refused, naming: $text"
}

read -r first second _ <<<"${expected[swarm_nodes]}"
shared=$(hostvar "$first" ansible_host)
mutate collide "$second" "$shared"
say "a copy of the inventory with $second on $first's address $shared"
expect_refusal "the Vagrantfile, with colliding addresses" "$first and $second share $shared" \
  vagrant_machines "$work/collide"
if command -v vagrant >/dev/null; then
  rm -rf "$work/vagrant"
  # A provider that does not exist: were the Vagrantfile to load, `up` would stop there, never
  # making a VM, and the check would fail for the missing message.
  expect_refusal "vagrant up, with colliding addresses" "$first and $second share $shared" \
    vagrant_run "$work/collide" up --provider=swarmops-test-no-provider
  [[ ! -e $work/vagrant/dot/machines ]] || fail "vagrant recorded machines for an inventory it refused"
  ok "vagrant recorded no machine for it"
fi
expect_refusal "playbooks/preflight.yml, with colliding addresses" "$first and $second share $shared" \
  run ansible-playbook -i "$work/collide" playbooks/preflight.yml

network=$(hostvar "$first" vagrant_network)
outside=$(python3 -c 'import ipaddress, sys; n = ipaddress.ip_network(sys.argv[1]); print(n.broadcast_address + 2)' "$network")
mutate outside "$second" "$outside"
expect_refusal "the Vagrantfile, with an address outside $network" "$second: ansible_host $outside is not in the host-only network" \
  vagrant_machines "$work/outside"

hostside=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_network(sys.argv[1]).network_address + 1)' "$network")
mutate hostside "$second" "$hostside"
expect_refusal "the Vagrantfile, with the host's own address" "$second: ansible_host $hostside is the host's address" \
  vagrant_machines "$work/hostside"

# --- nothing tried to connect ---------------------------------------------------------------------
if [[ -s $work/tripwire.log ]]; then
  cat "$work/tripwire.log" >&2
  fail "something called ssh/scp/sftp"
fi
ok "no ssh, scp or sftp was called"

echo
echo "virtualbox: ${checks} passed, 0 failed"
