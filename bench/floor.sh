#!/usr/bin/env bash
# The floor: the job of playbooks/site.yml on the lab, as the fastest correct script of
# plain docker CLI and Consul HTTP calls. Each lab host is a node container, so
# `docker exec NODE ...` is this script's ssh; Consul's HTTP API is called with curl from
# here (the controller reaches the node containers on the lab network) or, for the
# joins, with python3 on the joining host. Steps that do not depend on each other run
# at once, and the only wait is the one the job needs: until the services run.
#
#   bench/floor.sh -c CONSUL_HOST -m MASTER[,MASTER...] -w WORKER[,WORKER...] [-k CLUSTER] [-s DIR]
#
#   -c  the node container that runs Consul
#   -m  the masters, comma-separated; the first one initialises the swarm
#   -w  the workers, comma-separated; the first one runs the smoke test
#   -k  cluster name, the Consul KV prefix swarmops/<cluster>/ (default: floor)
#   -s  keep the gossip key, the management token and the role tokens' secrets in DIR
#       (0600 files, as role consul does); by default they are not kept
#
# At once: (1) the Consul server (gossip key, ACLs default-deny, data volume, host
# network), its leader, the ACL bootstrap, then every policy and token (masters, one
# per worker, dns for the anonymous token); (2) swarm init on the first master, drained,
# and the attachable overlay network. Then the join tokens, the manager address and the
# swarm record into Consul's KV; every other master (drained) and every worker joins at
# once, each reading the KV on its own host with its own token. Then the three services
# (detached, endpoint mode dnsrr), one wait until their tasks run (Swarm marks a task
# running once its health check passes), and at once: each task registered in Consul's
# catalog, and the smoke test until hello-world answers "Hello World".
# Needs the images already on the nodes (the bench preloads them). Does not: write node
# records or node labels, publish every manager's address, print a cluster summary.
set -euo pipefail

readonly CONSUL_IMAGE=swarmops/consul:1.8.7
readonly NETWORK=server-overlay-network
readonly SERVICES=(hello world hello-world)
# Each service's image: the tag is its Dockerfile's ARG APP_VERSION, as in inventories/lab.
declare -rA IMAGE=([hello]=swarmops/hello:0.2.0 [world]=swarmops/world:0.2.0 [hello-world]=swarmops/hello-world:0.2.0)
readonly SERVICE_PORT=8080
readonly ANONYMOUS_TOKEN=00000000-0000-0000-0000-000000000002

consul=""
masters_csv=""
workers_csv=""
cluster=floor
secrets=""

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() {
  printf 'floor: ERROR: %s\n' "$*" >&2
  exit 1
}

while getopts 'c:m:w:k:s:h' opt; do
  case "$opt" in
    c) consul=$OPTARG ;;
    m) masters_csv=$OPTARG ;;
    w) workers_csv=$OPTARG ;;
    k) cluster=$OPTARG ;;
    s) secrets=$OPTARG ;;
    h)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
done
[[ -n $consul && -n $masters_csv && -n $workers_csv ]] || {
  usage >&2
  die "-c, -m and -w are required"
}
[[ $cluster =~ ^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$ ]] || die "cluster name '${cluster}' cannot be a Consul key segment"
IFS=, read -r -a masters <<<"$masters_csv"
IFS=, read -r -a workers <<<"$workers_csv"
readonly first_master=${masters[0]} first_worker=${workers[0]}
readonly kv=swarmops/$cluster

umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start=$EPOCHREALTIME
# step TEXT: say what happens, with the seconds since the start.
step() { awk -v now="$EPOCHREALTIME" -v t0="$start" -v what="$*" 'BEGIN { printf "floor: [%6.1fs] %s\n", now - t0, what }'; }

# on NODE CMD...: run a command on a lab host.
on() {
  local node=$1
  shift
  docker exec "$node" "$@"
}

# Jobs run at once: `spawn NAME CMD...` starts one, `reap` waits for every job started since
# the last reap and fails when one did. A function that spawns declares `local pending=()`.
pending=()
spawn() {
  local name=$1
  shift
  "$@" &
  pending+=("$!:$name")
}
reap() {
  local job failed=()
  for job in "${pending[@]}"; do
    wait "${job%%:*}" || failed+=("${job#*:}")
  done
  pending=()
  ((${#failed[@]} == 0)) || die "failed: ${failed[*]}"
}

# Every host's address on the lab network, in one call.
declare -A addr
while read -r name address; do
  addr[${name#/}]=$address
done < <(docker inspect --format '{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' \
  "$consul" "${masters[@]}" "${workers[@]}" | awk '{ print $1, $2 }')
for host in "$consul" "${masters[@]}" "${workers[@]}"; do
  [[ -n ${addr[$host]:-} ]] || die "no node container ${host} with an address on the lab network"
done
readonly api=http://${addr[$consul]}:8500

uuid() { cat /proc/sys/kernel/random/uuid; }
# consul_http METHOD PATH TOKEN [BODY]: one call to Consul's HTTP API; prints the answer.
consul_http() {
  local body=()
  [[ $# -lt 4 ]] || body=(--data-binary "$4")
  curl --silent --show-error --fail-with-body --max-time 10 -X "$1" -H "X-Consul-Token: $3" "${body[@]}" "$api$2"
}
# consul_put PATH TOKEN BODY: a write whose answer (true, or the object written) is not needed.
consul_put() { consul_http PUT "$@" >/dev/null; }
# rules KIND NAME POLICY ...: ACL rules as a JSON string's content, the rules of
# plugins/module_utils/_keys.py.
rules() {
  while (($# > 0)); do
    printf '%s \\"%s\\" {\\n  policy = \\"%s\\"\\n}\\n' "$1" "$2" "$3"
    shift 3
  done
}
# keep NAME SECRET: a secret into -s DIR (mode 0600, as umask 077 makes it).
keep() {
  [[ -z $secrets ]] && return 0
  mkdir -p "$(dirname "$secrets/$1")"
  printf '%s' "$2" >"$secrets/$1"
}

# policy_and_token NAME DESCRIPTION RULES SECRET: a policy, then a token that has only it.
policy_and_token() {
  local name=swarmops-$cluster-$1 description="swarmops ${cluster}: $2"
  consul_put /v1/acl/policy "$(cat "$tmp/management")" \
    "{\"Name\": \"$name\", \"Description\": \"$description\", \"Rules\": \"$3\"}"
  consul_put /v1/acl/token "$(cat "$tmp/management")" \
    "{\"AccessorID\": \"$(uuid)\", \"SecretID\": \"$4\", \"Description\": \"$description\",
      \"Policies\": [{\"Name\": \"$name\"}]}"
}

dns_policy() {
  local name=swarmops-$cluster-dns
  consul_put /v1/acl/policy "$(cat "$tmp/management")" \
    "{\"Name\": \"$name\", \"Description\": \"swarmops ${cluster}: anonymous DNS lookups\",
      \"Rules\": \"$(rules node_prefix "" read service_prefix "" read)\"}"
  consul_put "/v1/acl/token/$ANONYMOUS_TOKEN" "$(cat "$tmp/management")" \
    "{\"Description\": \"Anonymous Token\", \"Policies\": [{\"Name\": \"$name\"}]}"
}

# (1) Consul: the server, its leader, the ACL bootstrap, the policies and tokens.
consul_up() {
  local pending=() gossip leader="" answer="" management="" worker
  gossip=$(head -c 32 /dev/urandom | base64)
  keep gossip.key "$gossip"
  docker exec -i "$consul" sh -c 'umask 077 && mkdir -p /etc/consul.d && cat >/etc/consul.d/server.json' <<EOF
{"server": true, "node_name": "$consul", "datacenter": "dc1", "data_dir": "/consul/data",
 "bootstrap_expect": 1, "bind_addr": "${addr[$consul]}", "client_addr": "0.0.0.0",
 "disable_update_check": true, "encrypt": "$gossip", "disable_keyring_file": true,
 "performance": {"raft_multiplier": 1},
 "acl": {"enabled": true, "default_policy": "deny", "down_policy": "extend-cache",
         "enable_token_persistence": true}}
EOF
  on "$consul" docker run --detach --name consul --network host --restart always \
    --volume consul_data:/consul/data --volume /etc/consul.d:/consul/config:ro \
    "$CONSUL_IMAGE" agent -config-dir=/consul/config >/dev/null
  step "Consul started on ${consul}"
  for _ in $(seq 600); do
    leader=$(curl --silent --max-time 2 "$api/v1/status/leader" || true)
    [[ $leader == '"'?*'"' ]] && break
    sleep 0.1
  done
  [[ $leader == '"'?*'"' ]] || die "Consul on ${consul} elected no leader in 60s (last answer: '${leader}')"
  step "Consul leader ${leader}"
  # Just after the election the ACL system may still refuse the bootstrap for a moment.
  for _ in $(seq 300); do
    answer=$(consul_http PUT /v1/acl/bootstrap "" 2>&1) && break
    sleep 0.1
  done
  [[ $answer =~ \"SecretID\":\ *\"([^\"]+)\" ]] && management=${BASH_REMATCH[1]}
  [[ -n $management ]] || die "the ACL bootstrap of Consul on ${consul} failed: ${answer}"
  printf '%s' "$management" >"$tmp/management"
  keep management.token "$management"
  step "ACLs bootstrapped"
  printf '%s' "$(uuid)" >"$tmp/masters.token"
  keep tokens/masters.token "$(cat "$tmp/masters.token")"
  spawn "masters policy and token" policy_and_token masters "swarm masters" \
    "$(rules key_prefix "$kv/" write session_prefix "" write node_prefix "" write service_prefix "" write)" \
    "$(cat "$tmp/masters.token")"
  for worker in "${workers[@]}"; do
    printf '%s' "$(uuid)" >"$tmp/node-$worker.token"
    keep "tokens/node-$worker.token" "$(cat "$tmp/node-$worker.token")"
    spawn "policy and token of ${worker}" policy_and_token "node-$worker" "node $worker" \
      "$(rules key "$kv/swarm" read key_prefix "$kv/managers/" read key "$kv/join/worker" read \
        key "$kv/nodes/$worker" write)" "$(cat "$tmp/node-$worker.token")"
  done
  spawn "dns policy and anonymous token" dns_policy
  reap
  step "policies and tokens: masters, ${#workers[@]} node(s), dns (anonymous)"
}

# (2) The swarm: init on the first master (drained), the network, the join tokens.
swarm_up() {
  on "$first_master" docker swarm init --advertise-addr "${addr[$first_master]}" --availability drain >/dev/null
  on "$first_master" sh -c 'docker swarm join-token -q manager && docker swarm join-token -q worker &&
    docker info --format "{{.Swarm.Cluster.ID}}"' >"$tmp/swarm"
  step "swarm initialised on ${first_master} (drained)"
  on "$first_master" docker network create --driver overlay --attachable "$NETWORK" >/dev/null
  step "overlay network ${NETWORK}"
}

# join NODE ROLE TOKEN_FILE: on NODE, read the join data from Consul with NODE's own token
# and join; masters join drained, so that no task is ever placed on them.
readonly JOIN_PY='import json, os, subprocess, sys, urllib.request as u
consul, kv, role, first, advertise = sys.argv[1:6]
def get(key):
    request = u.Request(f"http://{consul}:8500/v1/kv/{kv}/{key}?raw", headers={"X-Consul-Token": os.environ["TOKEN"]})
    return u.urlopen(request, timeout=5).read().decode()
json.loads(get("swarm"))
token, manager = get(f"join/{role}"), get(f"managers/{first}")
drain = ["--availability", "drain"] if role == "manager" else []
subprocess.run(["docker", "swarm", "join", "--token", token, "--advertise-addr", advertise, *drain, manager],
               check=True, stdout=subprocess.DEVNULL)'
join() {
  docker exec -e TOKEN="$(cat "$3")" "$1" python3 -c "$JOIN_PY" "$consul" "$kv" "$2" "$first_master" "${addr[$1]}"
}

# The swarm's nodes ("node ID HOSTNAME ADDRESS"), then every task of the services that should
# run ("SERVICE TASK-ID NODE-ID STATE ADDRESS/MASK ..."). Run by sh on the first master.
# shellcheck disable=SC2016
readonly TASKS_SH='docker node inspect --format "node {{.ID}} {{.Description.Hostname}} {{.Status.Addr}}" $(docker node ls -q)
for service; do
  docker inspect --format "$service {{.ID}} {{.NodeID}} {{.Status.State}} {{range .NetworksAttachments}}{{range .Addresses}}{{.}} {{end}}{{end}}" \
    $(docker service ps --quiet --filter desired-state=running "$service")
done'
# Each running task into Consul's catalog as swarm_service registers it: on a catalog node named
# after the Swarm node, at the task's overlay address, with a check that is passing.
register_tasks() {
  local pending=() kind id node state address masters_token
  local -A node_name node_addr
  masters_token=$(cat "$tmp/masters.token")
  while read -r kind id node state address _; do
    if [[ $kind == node ]]; then
      node_name[$id]=$node node_addr[$id]=$state
      continue
    fi
    [[ $state == running ]] || continue
    id=$kind-${id:0:12}
    spawn "catalog entry ${id}" consul_put /v1/catalog/register "$masters_token" \
      "{\"Node\": \"${node_name[$node]}\", \"Address\": \"${node_addr[$node]}\",
        \"Service\": {\"Service\": \"$kind\", \"ID\": \"$id\", \"Address\": \"${address%/*}\", \"Port\": $SERVICE_PORT,
                    \"Tags\": []},
        \"Check\": {\"Node\": \"${node_name[$node]}\", \"CheckID\": \"service:$id\",
                  \"Name\": \"$kind task health (Swarm)\", \"Status\": \"passing\", \"ServiceID\": \"$id\"}}"
  done < <(on "$first_master" sh -c "$TASKS_SH" tasks "${SERVICES[@]}")
  reap
  step "running tasks registered in Consul's catalog"
}

# all_running REPLICAS: true when every service of SERVICES shows N/N tasks, N > 0, in
# `docker service ls --format '{{.Name}} {{.Replicas}}'` output.
all_running() {
  local service line
  for service in "${SERVICES[@]}"; do
    line=$(grep -E "^${service} " <<<"$1") || return 1
    [[ ${line#* } =~ ^([1-9][0-9]*)/([0-9]+)$ && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] || return 1
  done
}

smoke() {
  local answer=""
  for _ in $(seq 30); do
    answer=$(on "$first_worker" docker run --rm --network "$NETWORK" "${IMAGE[hello-world]}" \
      python3 -c "import urllib.request; print(urllib.request.urlopen('http://hello-world:8080/', timeout=10).read().decode())" \
      2>/dev/null || true)
    [[ $answer == "Hello World" ]] && break
    sleep 0.5
  done
  [[ $answer == "Hello World" ]] || die "hello-world did not answer 'Hello World' in 30 tries (last answer: '${answer}')"
  printf '%s' "$answer" >"$tmp/answer"
}

step "start: Consul and the swarm at once"
spawn "Consul, ACLs, policies and tokens" consul_up
spawn "swarm init and network" swarm_up
reap

{
  read -r manager_token
  read -r worker_token
  read -r swarm_id
} <"$tmp/swarm"
masters_token=$(cat "$tmp/masters.token")
spawn "join/manager" consul_put "/v1/kv/$kv/join/manager" "$masters_token" "$manager_token"
spawn "join/worker" consul_put "/v1/kv/$kv/join/worker" "$masters_token" "$worker_token"
spawn "managers/${first_master}" consul_put "/v1/kv/$kv/managers/$first_master" "$masters_token" \
  "${addr[$first_master]}:2377"
reap
# The swarm record last: a host that finds it finds the join data too.
consul_put "/v1/kv/$kv/swarm" "$masters_token" "{\"id\": \"$swarm_id\", \"creator\": \"$first_master\"}"
step "join tokens, manager address and swarm record in Consul (${kv}/)"

for master in "${masters[@]:1}"; do
  spawn "manager join of ${master}" join "$master" manager "$tmp/masters.token"
done
for worker in "${workers[@]}"; do
  spawn "worker join of ${worker}" join "$worker" worker "$tmp/node-$worker.token"
done
reap
step "joined: $((${#masters[@]} - 1)) more master(s) (drained), ${#workers[@]} worker(s)"

# After the joins, so that Swarm spreads the tasks over the workers as site.yml's services are.
# --no-resolve-image: there is no registry to ask for the tag's digest.
service_images=()
for service in "${SERVICES[@]}"; do service_images+=("$service" "${IMAGE[$service]}"); done
# shellcheck disable=SC2016 # expanded by sh on the first master
on "$first_master" sh -c 'network=$1; shift
  while [ "$#" -ge 2 ]; do
    docker service create --detach --quiet --no-resolve-image --name "$1" --network "$network" \
      --endpoint-mode dnsrr "$2"
    shift 2
  done' services "$NETWORK" "${service_images[@]}" >/dev/null
step "services ${SERVICES[*]} created (detached)"

# The one wait: every service has all of its tasks running.
replicas=""
for _ in $(seq 360); do
  replicas=$(on "$first_master" docker service ls --format '{{.Name}} {{.Replicas}}')
  all_running "$replicas" && break
  sleep 0.5
done
all_running "$replicas" || die "the services did not all run within 180s: ${replicas//$'\n'/, }"
step "every task running: ${replicas//$'\n'/, }"

spawn "catalog registration" register_tasks
spawn "smoke test" smoke
reap
step "done: hello-world answered: $(cat "$tmp/answer")"
