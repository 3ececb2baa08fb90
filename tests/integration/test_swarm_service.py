"""swarm_service on a real four-node swarm (a drained manager, three workers) built
through our own modules, with a real Consul: spread, the walkthrough's Hello World
across the overlay network, Consul's catalog, the 502 naming a missing service and
the recovery, each filter kind with a case that matches and one that must not, bad
input that deploys nothing, binpack and random placement, removal; then what this
file found broken: an update's wait, Consul DNS, and the placement markers surviving
a rerun of swarm_node_labels.

The tests run in file order and share the swarm: spread deploys hello, world and
hello-world; smoke, failure and the affinity filters use them; binpack removes them."""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import consul
import pytest

from .conftest import INVENTORY, ROOT, SECRETS, Ansible, _env, container_ip

MODULE = "swarmops.cluster.swarm_service"
LABELS = "swarmops.cluster.swarm_node_labels"
CLUSTER = "itest"
MANAGER = "itest-sm"
WORKERS = ("itest-sa", "itest-sb", "itest-sc")
NODES = (MANAGER, *WORKERS)
NET = "server-overlay-network"
HELLO = "swarmops/hello:0.2.0"
WORLD = "swarmops/world:0.2.0"
HELLO_WORLD = "swarmops/hello-world:0.2.0"
MARKER = "swarmops.place."
# Probes need no health check: their tasks count as running as soon as they start.
NO_HEALTHCHECK = {"test": ["NONE"]}


# -- helpers ---------------------------------------------------------------------------------------


def token(name: str) -> str:
    return (SECRETS / "tokens" / f"{name}.token").read_text().strip()


def docker(host: str, *args: str, check: bool = True) -> str:
    """The docker CLI inside a lab host, against that host's own engine."""
    done = subprocess.run(["docker", "exec", host, "docker", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{host}: docker {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def service_args(name: str, image: str = HELLO, **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "networks": [NET],
        "endpoint_mode": "dnsrr",
        "catalog_port": 8080,
        "consul_host": "itest-kv",
        "consul_token": token("masters"),
        **options,
    }


def probe_args(name: str, **options: Any) -> dict[str, Any]:
    """A hello task that starts fast and stays out of the catalog."""
    return service_args(name, healthcheck=NO_HEALTHCHECK, register_catalog=False, **options)


def run(ansible: Ansible, args: dict[str, Any], *, check: bool = False) -> dict[str, Any]:
    result = ansible.one(MANAGER, MODULE, args, check=check)
    assert result.get("failed") is not True, result.get("msg", result)
    return result


def contract(ansible: Ansible, args: dict[str, Any]) -> dict[str, Any]:
    """Check mode, real run, repeat: changed True, True, False. The real run's result."""
    check = run(ansible, args, check=True)
    assert check["changed"] is True, check
    real = run(ansible, args)
    assert real["changed"] is True, real
    again = run(ansible, args)
    assert again["changed"] is False, (again["changes"], again["actions"])
    assert again["placement"] is None or again["placement"]["running_on"] == real["placement"]["running_on"]
    return real


def services() -> list[str]:
    return docker(MANAGER, "service", "ls", "--format", "{{.Name}}").split()


def running_on(name: str) -> list[str]:
    """Where the service's tasks run, one host name per running task, sorted."""
    lines = docker(
        MANAGER, "service", "ps", name, "--filter", "desired-state=running", "--format", "{{.Node}} {{.CurrentState}}"
    ).splitlines()
    return sorted(line.split()[0] for line in lines if line.split()[1:2] == ["Running"])


def node_labels() -> dict[str, dict[str, str]]:
    lines = docker(MANAGER, "node", "inspect", *NODES, "--format", "{{.Description.Hostname}} {{json .Spec.Labels}}")
    return {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1]) or {} for line in lines.splitlines()}


def markers(name: str) -> list[str]:
    """The nodes that carry the placement marker of service ``name``."""
    return sorted(host for host, labels in node_labels().items() if f"{MARKER}{name}" in labels)


def task_addresses(name: str) -> list[tuple[str, str]]:
    """(node, address on the overlay network) of each running task of the service, sorted."""
    ids = docker(MANAGER, "service", "ps", name, "-q", "--no-trunc", "--filter", "desired-state=running").split()
    addresses = []
    for task in json.loads(docker(MANAGER, "inspect", "--type", "task", *ids)) if ids else []:
        if task["Status"]["State"] != "running":
            continue
        node = docker(MANAGER, "node", "inspect", task["NodeID"], "--format", "{{.Description.Hostname}}")
        for attachment in task.get("NetworksAttachments") or []:
            if attachment["Network"]["Spec"]["Name"] == NET:
                addresses.append((node, attachment["Addresses"][0].split("/")[0]))
    return sorted(addresses)


_ASK = """
import urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    answer = opener.open("http://hello-world:8080/", timeout=15)
    print(answer.status)
    print(answer.read().decode(), end="")
except urllib.error.HTTPError as error:
    print(error.code)
    print(error.read().decode(), end="")
"""


def ask_hello_world(worker: str = "itest-sa") -> tuple[int, str]:
    """Status and body of hello-world, asked from a throwaway container on the overlay network."""
    done = subprocess.run(
        ["docker", "exec", worker, "docker", "run", "--rm", "--network", NET, HELLO_WORLD, "python3", "-c", _ASK],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return 0, f"client failed: {done.stderr.strip()}"
    status, _newline, body = done.stdout.partition("\n")
    return int(status), body


def eventually(probe: Callable[[], Any], wanted: Callable[[Any], bool], attempts: int = 15, delay: float = 1) -> Any:
    """``probe()`` until ``wanted`` holds of its value, at most ``attempts`` times; the last value."""
    value = None
    for _attempt in range(attempts):
        value = probe()
        if wanted(value):
            return value
        time.sleep(delay)
    return value


def catalog(name: str) -> list[dict[str, Any]]:
    """Consul's health entries of service ``name``, read with the masters' token."""
    client = consul.Consul(host=container_ip("itest-kv"), token=token("masters"))
    return client.health.service(name)[1]


def dns_a(name: str, server: str, port: int = 8600) -> tuple[int, list[str]]:
    """Response code and A records of one DNS query over UDP (a hand-built packet)."""
    ident = random.randrange(1 << 16)
    question = b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\0"
    packet = struct.pack("!6H", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack("!2H", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(packet, (server, port))
        data = sock.recv(4096)
    answer_id, flags, questions, answers = struct.unpack("!4H", data[:8])
    assert answer_id == ident
    offset = 12
    for _question in range(questions):
        offset = _skip_name(data, offset) + 4
    addresses = []
    for _answer in range(answers):
        offset = _skip_name(data, offset)
        kind, _class, _ttl, length = struct.unpack("!2HIH", data[offset : offset + 10])
        offset += 10
        if kind == 1 and length == 4:
            addresses.append(socket.inet_ntoa(data[offset : offset + 4]))
        offset += length
    return flags & 0xF, sorted(addresses)


def _skip_name(data: bytes, offset: int) -> int:
    while data[offset]:
        if data[offset] & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + data[offset]
    return offset + 1


def assert_nothing_deployed(name: str) -> None:
    assert name not in services(), f"service {name} must not exist"
    assert markers(name) == [], f"no node may carry the marker of {name}"
    assert catalog(name) == [], f"no catalog entry for {name}"


def remove(ansible: Ansible, name: str) -> None:
    run(ansible, {"name": name, "state": "absent", "consul_host": "itest-kv", "consul_token": token("masters")})


# -- the swarm -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def swarm(ansible: Ansible, kv: consul.Consul) -> Iterator[dict[str, Any]]:
    """The services' swarm, built through our modules (services_prepare.yml); its facts."""
    # The Consul tokens are scoped to cluster "itest": drop what other files published there.
    kv.kv.delete(f"swarmops/{CLUSTER}/", recurse=True)
    env = dict(_env(), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    playbook = Path(__file__).with_name("services_prepare.yml")
    subprocess.run(["ansible-playbook", "-i", str(INVENTORY), str(playbook)], env=env, cwd=ROOT, check=True)
    nodes = json.loads(docker(MANAGER, "node", "inspect", *NODES))
    by_host = {node["Description"]["Hostname"]: node for node in nodes}
    assert {host: by_host[host]["Status"]["State"] for host in NODES} == dict.fromkeys(NODES, "ready")
    assert by_host[MANAGER]["Spec"]["Availability"] == "drain"
    assert by_host["itest-sb"]["Spec"]["Labels"].get("disk") == "ssd"
    worker = by_host["itest-sa"]
    yield {
        "kernel": worker["Spec"]["Labels"]["swarmops.kernelversion"],
        "os": worker["Spec"]["Labels"]["swarmops.operatingsystem"],
        "cpus": min(by_host[host]["Description"]["Resources"]["NanoCPUs"] for host in WORKERS),
        "memory": min(by_host[host]["Description"]["Resources"]["MemoryBytes"] for host in WORKERS),
    }
    if not os.environ.get("SWARMOPS_KEEP_LAB"):
        kv.kv.delete(f"swarmops/{CLUSTER}/", recurse=True)


# -- 1. spread -------------------------------------------------------------------------------------


def test_spread_puts_the_three_services_on_three_workers(ansible: Ansible, swarm):
    placed = {}
    for name, image in (("hello", HELLO), ("world", WORLD), ("hello-world", HELLO_WORLD)):
        real = contract(ansible, service_args(name, image))
        assert real["placement"]["strategy"] == "spread"
        assert real["placement"]["marker"] is None, "spread is Swarm's own: no marker label"
        placed[name] = running_on(name)
        assert real["placement"]["running_on"] == placed[name]
        assert markers(name) == []
    assert all(len(hosts) == 1 and hosts[0] in WORKERS for hosts in placed.values()), placed
    assert len({hosts[0] for hosts in placed.values()}) == 3, f"not three different workers: {placed}"
    assert docker(MANAGER, "node", "ps", MANAGER, "-q", "--filter", "desired-state=running") == ""


# -- 2. smoke: Hello World and the catalog ---------------------------------------------------------


def test_hello_world_answers_across_the_overlay_network(swarm):
    status, body = eventually(ask_hello_world, lambda answer: answer[0] == 200)
    assert (status, body) == (200, "Hello World")


def test_the_catalog_lists_hello_at_its_task_address(swarm):
    tasks = task_addresses("hello")
    assert len(tasks) == 1, tasks
    ((node, address),) = tasks
    entries = catalog("hello")
    assert [(e["Node"]["Node"], e["Service"]["Address"], e["Service"]["Port"]) for e in entries] == [
        (node, address, 8080)
    ]
    assert [check["Status"] for check in entries[0]["Checks"]] == ["passing"]


# -- 3. the failure answer and the recovery --------------------------------------------------------


def test_without_hello_hello_world_answers_502_naming_hello_then_recovers(ansible: Ansible, swarm):
    assert catalog("hello"), "hello starts registered"
    stopped = contract(ansible, service_args("hello", replicas=0))
    assert stopped["tasks"] == [] and stopped["placement"]["running_on"] == []
    assert running_on("hello") == []
    assert catalog("hello") == [], "the catalog entry goes with the last task"

    status, body = eventually(ask_hello_world, lambda answer: answer[0] == 502)
    assert status == 502, body
    assert body.startswith("hello is unavailable"), body
    assert "world" not in body, body

    back = run(ansible, service_args("hello", replicas=1))
    assert back["changed"] is True
    assert len(back["placement"]["running_on"]) == 1
    assert eventually(ask_hello_world, lambda answer: answer[0] == 200) == (200, "Hello World")
    assert [entry["Service"]["Address"] for entry in catalog("hello")] == [
        address for _node, address in task_addresses("hello")
    ]


# -- 4. filters: each kind matches where it should, and never where it must not --------------------

# (filters, other options, what must hold of the hosts running the probe's tasks)
MATCHING = [
    pytest.param(["node==itest-sb"], {}, lambda hosts, swarm: hosts == ["itest-sb"], id="node=="),
    pytest.param(["node!=itest-sa"], {}, lambda hosts, swarm: hosts[0] in ("itest-sb", "itest-sc"), id="node!="),
    pytest.param(["kernelversion=={kernel}"], {}, lambda hosts, swarm: hosts[0] in WORKERS, id="kernelversion=="),
    pytest.param(["storagedriver==overlay2"], {}, lambda hosts, swarm: hosts[0] in WORKERS, id="storagedriver=="),
    pytest.param(["operatingsystem==/Debian.*/"], {}, lambda hosts, swarm: hosts[0] in WORKERS, id="os-regex"),
    pytest.param(["label.disk==ssd"], {}, lambda hosts, swarm: hosts == ["itest-sb"], id="label=="),
    pytest.param(["label.disk==~ssd"], {}, lambda hosts, swarm: hosts == ["itest-sb"], id="soft-label-applied"),
    pytest.param(["label.disk==~nvme"], {}, lambda hosts, swarm: hosts[0] in WORKERS, id="soft-label-relaxed"),
    pytest.param(["service==hello"], {}, lambda hosts, swarm: hosts == running_on("hello"), id="affinity"),
    pytest.param(["service!=hello"], {}, lambda hosts, swarm: hosts[0] not in running_on("hello"), id="anti-affinity"),
    pytest.param(["health==healthy"], {}, lambda hosts, swarm: hosts[0] in WORKERS, id="health=="),
    pytest.param(
        [],
        {"replicas": 3, "max_replicas_per_node": 1},
        lambda hosts, swarm: sorted(hosts) == sorted(WORKERS),
        id="max_replicas_per_node",
    ),
]


@pytest.mark.parametrize(("filters", "options", "holds"), MATCHING)
def test_a_filter_that_matches_places_the_service_accordingly(ansible: Ansible, swarm, filters, options, holds):
    filters = [text.format(**swarm) for text in filters]
    args = probe_args("probe", filters=filters, **options)
    try:
        real = run(ansible, args)
        assert real["changed"] is True, real
        hosts = running_on("probe")
        assert hosts == real["placement"]["running_on"]
        assert len(hosts) == options.get("replicas", 1)
        assert holds(hosts, swarm), f"{filters} placed the probe on {hosts}"
        if real["placement"]["marker"]:
            assert set(hosts) <= set(markers("probe"))
        again = run(ansible, args)
        assert again["changed"] is False, (again["changes"], again["actions"])
        assert running_on("probe") == hosts
        if any(text.endswith("nvme") for text in filters):
            assert any("label.disk==~nvme" in warning for warning in real.get("warnings", [])), real
    finally:
        remove(ansible, "probe")


# (filter no node satisfies, what the failure must say of each node)
NOT_MATCHING = [
    pytest.param(
        "kernelversion==0.0.*",
        {"itest-sm": "drained", "itest-sa": "kernelversion is {kernel}, not 0.0.*"},
        id="kernelversion-glob",
    ),
    pytest.param("node==itest-nowhere", {"itest-sb": "node is itest-sb, not itest-nowhere"}, id="node=="),
    pytest.param("storagedriver==zfs", {"itest-sc": "storagedriver is overlay2, not zfs"}, id="storagedriver=="),
    pytest.param(
        "operatingsystem==/Windows.*/", {"itest-sa": "operatingsystem is {os}, not /Windows.*/"}, id="os-regex"
    ),
    pytest.param(
        "label.disk==hdd", {"itest-sa": "label.disk is not set", "itest-sb": "label.disk is ssd, not hdd"}, id="label=="
    ),
    pytest.param("health==unhealthy", {"itest-sm": "drained", "itest-sa": "health is healthy"}, id="health=="),
    pytest.param("service==no-such-service", {"itest-sc": "runs no task of service no-such-service"}, id="affinity"),
]


@pytest.mark.parametrize(("text", "reasons"), NOT_MATCHING)
def test_a_filter_no_node_satisfies_fails_listing_every_node(ansible: Ansible, swarm, text, reasons):
    for check in (True, False):
        result = ansible.one(MANAGER, MODULE, probe_args("probe", filters=[text]), check=check)
        assert result.get("failed") is True, result
        message = result["msg"]
        assert message.startswith("no node satisfies the filters: "), message
        for host in NODES:
            assert f"{host}: " in message, f"{host} missing from: {message}"
        for host, reason in reasons.items():
            assert f"{host}: {reason.format(**swarm)}" in message, message
    assert_nothing_deployed("probe")


def test_the_node_filters_are_native_constraints(ansible: Ansible, swarm):
    args = probe_args("probe", filters=["node!=itest-sa", "label.disk==ssd"])
    try:
        real = run(ansible, args)
        assert real["placement"]["marker"] is None
        placement = docker(MANAGER, "service", "inspect", "probe", "--format", "{{json .Spec.TaskTemplate.Placement}}")
        assert sorted(json.loads(placement)["Constraints"]) == ["node.hostname!=itest-sa", "node.labels.disk==ssd"]
        assert running_on("probe") == ["itest-sb"]
    finally:
        remove(ansible, "probe")


# -- 5. bad input: a clear error naming the value, nothing deployed --------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strategy": "tightpack"}, "value of strategy must be one of: spread, binpack, random, got: tightpack"),
        ({"filters": ["kernelversion=>5"]}, "filter 'kernelversion=>5' is malformed"),
        ({"filters": ["kernel==5"]}, "filter 'kernel==5' has an unknown key 'kernel'"),
        ({"resources": {"reservations": {"memory": "12XB"}}}, "resources.reservations.memory='12XB' is not a size"),
        ({"resources": {"limits": {"memory": "12XB"}}}, "resources.limits.memory='12XB' is not a size"),
        ({"replicas": -1}, "-1"),
        ({"networks": ["no-such-network"]}, "network(s) 'no-such-network' do not exist on this swarm"),
        ({"image": "swarmops/no-such:0.1.0"}, "image 'swarmops/no-such:0.1.0' is not present on this manager"),
        ({"wait_timeout": -5}, "wait_timeout=-5 must be at least 1"),
        ({"max_replicas_per_node": 0}, "max_replicas_per_node=0 must be at least 1; leave it out for no limit"),
        ({"catalog_port": 70000}, "catalog_port=70000 is not a port: use 1-65535"),
        ({"publish": [{"target_port": 0}]}, "publish[0].target_port=0 is not a port: use 1-65535"),
    ],
    ids=[
        "strategy",
        "filter",
        "filter-key",
        "reservation",
        "limit",
        "replicas",
        "network",
        "image",
        "wait-timeout",
        "max-replicas",
        "catalog-port",
        "publish-port",
    ],
)
def test_bad_input_fails_naming_the_value_and_deploys_nothing(ansible: Ansible, swarm, options, message):
    # binpack would pin the service with marker labels: none may be set before the input is known good.
    args = probe_args("bad", **{"strategy": "binpack", **options})
    result = ansible.one(MANAGER, MODULE, args)
    assert result.get("failed") is True, result
    assert message in result["msg"], result["msg"]
    if options.get("replicas") == -1:
        assert "replicas" in result["msg"], result["msg"]
    assert_nothing_deployed("bad")


def test_a_token_that_cannot_write_the_catalog_is_refused_before_anything_is_deployed(ansible: Ansible, swarm):
    args = service_args("bad", healthcheck=NO_HEALTHCHECK, strategy="binpack", consul_token=token("node-itest-sa"))
    result = ansible.one(MANAGER, MODULE, args)
    assert result.get("failed") is True, result
    assert "(the token must write the catalog)" in result["msg"], result["msg"]
    assert "the token lacks that permission (403 Permission denied)" in result["msg"], result["msg"]
    assert_nothing_deployed("bad")


# -- 6. binpack ------------------------------------------------------------------------------------


def test_binpack_fills_one_worker_before_the_next(ansible: Ansible, swarm):
    for name in ("hello", "world", "hello-world"):
        remove(ansible, name)
    assert not {"hello", "world", "hello-world"} & set(services())
    # Each task reserves 40% of a worker's CPUs: a worker fits exactly two.
    cpus = f"{swarm['cpus'] * 0.4 / 1e9:.3f}"
    reserve = {"reservations": {"cpus": cpus, "memory": f"{swarm['memory'] // (10 * 2**20)}M"}}
    placed = {}
    for name in ("bp1", "bp2", "bp3"):
        real = contract(ansible, service_args(name, strategy="binpack", resources=reserve, healthcheck=NO_HEALTHCHECK))
        placed[name] = running_on(name)
        assert real["placement"]["running_on"] == placed[name]
        assert markers(name) == placed[name]
    assert placed["bp1"] == placed["bp2"], placed
    assert placed["bp3"] != placed["bp1"] and placed["bp3"][0] in WORKERS, placed
    for name in ("bp1", "bp2", "bp3"):
        again = run(ansible, service_args(name, strategy="binpack", resources=reserve, healthcheck=NO_HEALTHCHECK))
        assert again["changed"] is False, (name, again["changes"], again["actions"])
        assert running_on(name) == placed[name]


# -- 7. random -------------------------------------------------------------------------------------


def test_random_placement_varies_and_a_rerun_keeps_it(ansible: Ansible, swarm):
    args = probe_args("rnd", strategy="random")
    first = contract(ansible, args)["placement"]["running_on"]
    assert running_on("rnd") == first and markers("rnd") == first
    seen = [first[0]]
    for _cycle in range(7):
        if len(set(seen)) > 1:
            break
        remove(ansible, "rnd")
        seen.append(run(ansible, args)["placement"]["running_on"][0])
    assert len(set(seen)) > 1, f"random chose {seen[0]} in all {len(seen)} deployments"
    assert set(seen) <= set(WORKERS)
    kept = running_on("rnd")
    again = run(ansible, args)
    assert again["changed"] is False, (again["changes"], again["actions"])
    assert running_on("rnd") == kept == again["placement"]["running_on"]


# -- 8. state=absent -------------------------------------------------------------------------------


def test_absent_removes_the_service_its_markers_and_its_catalog_entries(ansible: Ansible, swarm):
    assert markers("bp1") and catalog("bp1"), "bp1 starts pinned and registered"
    args = {"name": "bp1", "state": "absent", "consul_host": "itest-kv", "consul_token": token("masters")}
    check = ansible.one(MANAGER, MODULE, args, check=True)
    assert check["changed"] is True, check
    assert "bp1" in services() and markers("bp1") and catalog("bp1"), "check mode must not remove anything"
    real = run(ansible, args)
    assert real["changed"] is True, real
    assert sorted(real["changes"]) == ["catalog", "placement", "state"]
    assert_nothing_deployed("bp1")
    assert run(ansible, args)["changed"] is False
    for name in ("bp2", "bp3", "rnd"):
        remove(ansible, name)
        assert_nothing_deployed(name)


# -- 9. what this file found broken (last, so that `pytest -x` runs everything else first) ---------


def test_an_update_waits_until_every_task_is_replaced(ansible: Ansible, swarm):
    """An update that moves a service returns when Swarm has replaced all its tasks, and the
    result and the catalog name the new tasks, not old ones Swarm is about to stop. Two
    replicas updated one at a time, 10 s apart, make the window wide enough to see."""
    args = service_args(
        "mover",
        healthcheck=NO_HEALTHCHECK,
        replicas=2,
        filters=["node==itest-sb"],
        update_config={"parallelism": 1, "delay": "10s"},
    )
    try:
        assert run(ansible, args)["placement"]["running_on"] == ["itest-sb", "itest-sb"]
        moved = run(ansible, {**args, "filters": ["node==itest-sc"]})
        assert moved["changed"] is True
        reported = moved["placement"]["running_on"]
        now = running_on("mover")
        registered = sorted(entry["node"] for entry in moved["catalog"].values())
        wanted = ["itest-sc", "itest-sc"]
        assert (reported, now, registered) == (wanted, wanted, wanted), (
            f"after moving to itest-sc the module returned running_on={reported} and registered {registered} in "
            f"the catalog while Swarm runs the service on {now}: it stopped waiting before the update was complete"
        )
        addresses = sorted(address for _node, address in task_addresses("mover"))
        assert sorted(entry["Service"]["Address"] for entry in catalog("mover")) == addresses
    finally:
        remove(ansible, "mover")


def test_consul_dns_answers_hello_with_its_task_address(ansible: Ansible, swarm):
    """The catalog entries are there (section 2); Consul's DNS interface must answer them too."""
    try:
        run(ansible, service_args("hello"))
        ((_node, address),) = task_addresses("hello")
        assert [entry["Service"]["Address"] for entry in catalog("hello")] == [address]
        rcode, answers = dns_a("hello.service.consul", container_ip("itest-kv"))
        assert (rcode, answers) == (0, [address]), (
            f"Consul DNS answered rcode {rcode} with {answers} for hello.service.consul, wanted {address}: "
            "DNS queries carry no token, and the anonymous token may not read services and nodes"
        )
    finally:
        remove(ansible, "hello")


def test_swarm_node_labels_refuses_a_token_that_reads_no_node_record(ansible: Ansible, swarm):
    result = ansible.one(MANAGER, LABELS, {"cluster": CLUSTER, "consul_host": "itest-kv"})
    assert result.get("failed") is True, result
    assert "no node record is readable under swarmops/itest/nodes/" in result["msg"], result["msg"]
    assert "the token may lack read access to that prefix" in result["msg"], result["msg"]


def test_a_rerun_of_swarm_node_labels_keeps_the_placement_markers(ansible: Ansible, swarm):
    """site.yml runs swarm_node_labels before the services on every run: it must leave the
    services' marker labels alone, or Swarm's constraint enforcer stops the pinned tasks."""
    args = probe_args("pinned", strategy="random")
    try:
        pinned = run(ansible, args)["placement"]["running_on"]
        assert markers("pinned") == pinned == running_on("pinned")
        connection = {"cluster": CLUSTER, "consul_host": "itest-kv", "consul_token": token("masters")}
        result = ansible.one(MANAGER, LABELS, connection)
        assert result.get("failed") is not True, result
        assert markers("pinned") == pinned, "swarm_node_labels removed the marker label swarmops.place.pinned"
        assert result["changed"] is False, (result.get("changes"), result.get("actions"))
        assert run(ansible, args)["changed"] is False
    finally:
        remove(ansible, "pinned")


# -- swarm_service_set: several services in one task -----------------------------------------------

SET_MODULE = "swarmops.cluster.swarm_service_set"
SET_DEFAULTS = {"networks": [NET], "endpoint_mode": "dnsrr", "healthcheck": NO_HEALTHCHECK, "image": HELLO}


def run_set(ansible: Ansible, services: list[dict[str, Any]], *, check: bool = False) -> dict[str, Any]:
    args = {"services": services, "defaults": SET_DEFAULTS, "consul_host": "itest-kv", "consul_token": token("masters")}
    return ansible.one(MANAGER, SET_MODULE, args, check=check)


def test_a_set_deploys_its_services_at_once_checked_run_and_repeated(ansible: Ansible, swarm):
    members = [{"name": "set-a", "catalog_port": 8080}, {"name": "set-b", "replicas": 2, "register_catalog": False}]
    try:
        check = run_set(ansible, members, check=True)
        assert check.get("failed") is not True, check
        assert check["changed"] is True and sorted(check["changes"]) == ["set-a", "set-b"], check
        assert "would create service set-a" in check["actions"], check["actions"]
        assert "set-a" not in services() and "set-b" not in services()
        real = run_set(ansible, members)
        assert real.get("failed") is not True, real
        assert real["changed"] is True and sorted(real["changes"]) == ["set-a", "set-b"], real
        assert real["services"]["set-a"]["placement"]["running_on"] == running_on("set-a")
        assert len(running_on("set-b")) == 2, running_on("set-b")
        assert [(e["Node"]["Node"], e["Service"]["Address"]) for e in catalog("set-a")] == task_addresses("set-a")
        diff = real["diff"]
        assert diff["before"]["set-a"]["replicas"] is None and diff["after"]["set-a"]["replicas"] == 1, diff
        again = run_set(ansible, members)
        assert again["changed"] is False, (again["changes"], again["actions"])
        assert again["services"]["set-b"]["changed"] is False
    finally:
        run_set(ansible, [{"name": "set-a", "state": "absent"}, {"name": "set-b", "state": "absent"}])
    assert "set-a" not in services() and "set-b" not in services()
    assert catalog("set-a") == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"name": "set-d", "replicas": "two"}, "services[1] ('set-d'): argument 'replicas' is of type str"),
        ({"name": "set-d", "replcas": 2}, "services[1] ('set-d'): unknown option(s) replcas; swarm_service's options"),
        ({"name": "set-d", "wait_timeout": 0}, "services[1] ('set-d'): wait_timeout=0"),
        ({"name": "set-c"}, "service name(s) 'set-c' given more than once"),
    ],
)
def test_a_bad_entry_in_a_set_fails_naming_it_and_deploys_nothing(ansible: Ansible, swarm, bad, message):
    result = run_set(ansible, [{"name": "set-c"}, bad])
    assert result.get("failed") is True, result
    assert message in result["msg"], result["msg"]
    assert_nothing_deployed("set-c")
    assert "set-d" not in services()


def test_a_failing_service_does_not_stop_the_others_and_is_named(ansible: Ansible, swarm):
    members = [{"name": "set-e", "register_catalog": False}, {"name": "set-f", "filters": ["node==no-such-node"]}]
    try:
        result = run_set(ansible, members)
        assert result.get("failed") is True, result
        assert result["msg"].startswith("1 of 2 service(s) failed - set-f: "), result["msg"]
        assert "no-such-node" in result["msg"], result["msg"]
        assert result["changed"] is True, "set-e was created: the failed task must still say changed"
        assert result["services"]["set-e"]["changed"] is True, result["services"]
        assert len(running_on("set-e")) == 1
        assert "set-f" not in services()
    finally:
        run_set(ansible, [{"name": "set-e", "state": "absent", "register_catalog": False}])
