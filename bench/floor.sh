#!/usr/bin/env bash
# The floor: the job of playbooks/site.yml on the lab topology, typed out as plain
# docker CLI calls. Each lab host is a node container, so `docker exec NODE ...` is
# this script's ssh. One step after the other, nothing clever: the time it takes is
# what the bench compares site.yml against.
#
#   bench/floor.sh -c CONSUL_HOST -m MASTER[,MASTER...] -w WORKER[,WORKER...] [-k CLUSTER]
#
#   -c  the node container that runs Consul
#   -m  the masters, comma-separated; the first one initialises the swarm
#   -w  the workers, comma-separated; the first one runs the smoke test
#   -k  cluster name, the Consul KV prefix swarmops/<cluster>/ (default: floor)
#
# Steps: Consul server (host network, like role consul) and wait for its leader;
# swarm init on the first master; both join tokens and the manager address into
# Consul's KV over HTTP; the other masters and every worker read them back from the
# KV over HTTP, on their own host, and join; masters drained; the attachable overlay
# network; the services hello, world and hello-world (endpoint mode dnsrr: no IPVS
# here); smoke: a throwaway container on a worker asks hello-world until it says
# "Hello World". Needs the images already on the nodes (the bench preloads them).
# Unlike site.yml it sets up no Consul ACLs, no node labels, no catalog entries.
set -euo pipefail

readonly CONSUL_IMAGE=swarmops/consul:1.8.7
readonly NETWORK=server-overlay-network
readonly SERVICES=(hello world hello-world)
readonly APP_VERSION=0.1.0

consul=""
masters_csv=""
workers_csv=""
cluster=floor

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { printf 'floor: ERROR: %s\n' "$*" >&2; exit 1; }

while getopts 'c:m:w:k:h' opt; do
  case "$opt" in
    c) consul=$OPTARG ;;
    m) masters_csv=$OPTARG ;;
    w) workers_csv=$OPTARG ;;
    k) cluster=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ -n $consul && -n $masters_csv && -n $workers_csv ]] || { usage >&2; die "-c, -m and -w are required"; }
IFS=, read -r -a masters <<<"$masters_csv"
IFS=, read -r -a workers <<<"$workers_csv"
readonly first_master=${masters[0]} first_worker=${workers[0]}
readonly kv=swarmops/$cluster

start=$EPOCHREALTIME
# step TEXT: say what comes next, with the seconds since the start.
step() { awk -v now="$EPOCHREALTIME" -v t0="$start" -v what="$*" 'BEGIN { printf "floor: [%6.1fs] %s\n", now - t0, what }'; }

# on NODE CMD...: run a command on a lab host.
on() {
  local node=$1
  shift
  docker exec "$node" "$@"
}

# The node's address on the lab network, as the controller's engine sees it.
addr_of() {
  docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{ print $1 }'
}

# http_get NODE URL / kv_put NODE KEY VALUE / kv_get NODE KEY: Consul's HTTP API,
# called on NODE (the node image has python3 but no curl). Masters and workers reach
# Consul by its host name, on the lab network's DNS.
readonly HTTP_GET='import sys, urllib.request as u
print(u.urlopen(sys.argv[1], timeout=5).read().decode())'
readonly HTTP_PUT='import sys, urllib.request as u
r = u.Request(sys.argv[1], data=sys.argv[2].encode(), method="PUT")
assert u.urlopen(r, timeout=5).read().strip() == b"true"'
http_get() { on "$1" python3 -c "$HTTP_GET" "$2"; }
kv_put() { on "$1" python3 -c "$HTTP_PUT" "http://${consul}:8500/v1/kv/${kv}/$2" "$3"; }
kv_get() { http_get "$1" "http://${consul}:8500/v1/kv/${kv}/$2?raw"; }

step "Consul server on ${consul}"
consul_addr=$(addr_of "$consul") || die "no node container ${consul}"
[[ -n $consul_addr ]] || die "${consul} has no address on the lab network"
on "$consul" docker run -d --name consul --network host --restart always \
  "$CONSUL_IMAGE" agent -server -bootstrap-expect 1 -client 0.0.0.0 -bind "$consul_addr" \
  -data-dir /consul/data -node "$consul" >/dev/null

step "wait for a Consul leader (asked on ${consul})"
leader=""
for _ in $(seq 120); do
  leader=$(http_get "$consul" http://127.0.0.1:8500/v1/status/leader 2>/dev/null || true)
  [[ $leader == '"'?*'"' ]] && break
  sleep 0.5
done
[[ $leader == '"'?*'"' ]] || die "Consul on ${consul} elected no leader in 60s (last answer: '${leader}')"

step "swarm init on ${first_master}"
manager_addr=$(addr_of "$first_master")
on "$first_master" docker swarm init --advertise-addr "$manager_addr" >/dev/null

step "join tokens and manager address into Consul's KV (${kv}/)"
manager_token=$(on "$first_master" docker swarm join-token -q manager)
worker_token=$(on "$first_master" docker swarm join-token -q worker)
kv_put "$first_master" join/manager "$manager_token"
kv_put "$first_master" join/worker "$worker_token"
kv_put "$first_master" "managers/${first_master}" "${manager_addr}:2377"

for master in "${masters[@]:1}"; do
  step "manager join: ${master}"
  token=$(kv_get "$master" join/manager)
  address=$(kv_get "$master" "managers/${first_master}")
  on "$master" docker swarm join --token "$token" --advertise-addr "$(addr_of "$master")" "$address" >/dev/null
done

for worker in "${workers[@]}"; do
  step "worker join: ${worker}"
  token=$(kv_get "$worker" join/worker)
  address=$(kv_get "$worker" "managers/${first_master}")
  on "$worker" docker swarm join --token "$token" --advertise-addr "$(addr_of "$worker")" "$address" >/dev/null
done

for master in "${masters[@]}"; do
  step "drain ${master}"
  on "$first_master" docker node update --availability drain "$master" >/dev/null
done

step "overlay network ${NETWORK}"
on "$first_master" docker network create --driver overlay --attachable "$NETWORK" >/dev/null

for service in "${SERVICES[@]}"; do
  step "service ${service} (waits until it runs)"
  # --no-resolve-image: there is no registry to ask for the tag's digest.
  on "$first_master" docker service create --detach=false --quiet --no-resolve-image \
    --name "$service" --network "$NETWORK" --endpoint-mode dnsrr \
    "swarmops/${service}:${APP_VERSION}" >/dev/null
done

step "smoke: hello-world from a throwaway container on ${first_worker}"
answer=""
for _ in $(seq 30); do
  answer=$(on "$first_worker" docker run --rm --network "$NETWORK" "swarmops/hello-world:${APP_VERSION}" \
    python3 -c "import urllib.request; print(urllib.request.urlopen('http://hello-world:8080/', timeout=10).read().decode())" \
    2>/dev/null || true)
  [[ $answer == "Hello World" ]] && break
  sleep 1
done
[[ $answer == "Hello World" ]] || die "hello-world did not answer 'Hello World' in 30 tries (last answer: '${answer}')"
step "done: hello-world answered '${answer}'"
