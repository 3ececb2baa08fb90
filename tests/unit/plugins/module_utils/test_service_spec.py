"""swarm_service's pure parts: sizes, CPUs, durations, the ServiceSpec, its
comparable view, node facts for placement, and the Consul catalog entries."""

from __future__ import annotations

import re

import pytest

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._service_spec import (
    build_spec,
    catalog_entries,
    comparable,
    parse_cpus,
    parse_duration,
    parse_size,
    reservations,
    spec_view,
)
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_service import node_facts


def params(**overrides):
    base = {
        "name": "hello",
        "image": "swarmops/hello:0.2.0",
        "command": None,
        "args": None,
        "env": {},
        "mode": "replicated",
        "replicas": 1,
        "networks": ["server-overlay-network"],
        "endpoint_mode": "dnsrr",
        "publish": [],
        "resources": None,
        "restart_config": None,
        "update_config": None,
        "rollback_config": None,
        "labels": {},
        "healthcheck": None,
        "max_replicas_per_node": None,
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("256M", 256 * 1024**2),
        ("1G", 1024**3),
        ("1.5g", int(1.5 * 1024**3)),
        ("512MiB", 512 * 1024**2),
        ("100", 100),
        (64, 64),
    ],
)
def test_sizes(value, expected):
    assert parse_size(value, "memory") == expected


@pytest.mark.parametrize("value", ["12XB", "M", "-1G", "1 2G"])
def test_bad_sizes_name_the_option_and_value(value):
    with pytest.raises(SwarmOpsError, match=re.escape(f"resources.limits.memory={value!r} is not a size")):
        parse_size(value, "resources.limits.memory")


@pytest.mark.parametrize(("value", "expected"), [("0.5", 500_000_000), (2, 2_000_000_000), (None, None)])
def test_cpus(value, expected):
    assert parse_cpus(value, "cpus") == expected


@pytest.mark.parametrize(("value", "message"), [("half", "is not a number of CPUs"), ("0", "must be more than 0")])
def test_bad_cpus(value, message):
    with pytest.raises(SwarmOpsError, match=message):
        parse_cpus(value, "resources.reservations.cpus")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10s", 10**10), ("500ms", 5 * 10**8), ("1m30s", 90 * 10**9), (5, 5 * 10**9), ("2h", 7200 * 10**9)],
)
def test_durations(value, expected):
    assert parse_duration(value, "delay") == expected


@pytest.mark.parametrize("value", ["10 seconds", "s", "1x", "10s5"])
def test_bad_durations(value):
    with pytest.raises(SwarmOpsError, match=re.escape(f"update_config.delay={value!r} is not a duration")):
        parse_duration(value, "update_config.delay")


def test_spec_carries_every_option():
    spec = build_spec(
        params(
            command=["python3", "/app/hello.py"],
            env={"B": "2", "A": "1"},
            replicas=3,
            publish=[{"target_port": 8080, "published_port": 80, "protocol": "tcp", "mode": "host"}],
            resources={"limits": {"cpus": "0.5", "memory": "128M"}, "reservations": {"cpus": "0.25", "memory": None}},
            restart_config={"condition": "on-failure", "delay": "5s", "max_attempts": 3},
            update_config={"parallelism": 1, "delay": "10s", "order": "start-first"},
            healthcheck={"test": ["CMD", "true"], "interval": "10s", "retries": 3},
            labels={"team": "web"},
            max_replicas_per_node=2,
        ),
        ["node.labels.swarmops.storagedriver==overlay2"],
        ["net1"],
    )
    task = spec["TaskTemplate"]
    assert task["ContainerSpec"]["Env"] == ["A=1", "B=2"]
    assert task["ContainerSpec"]["Command"] == ["python3", "/app/hello.py"]
    assert task["ContainerSpec"]["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 10**10, "Retries": 3}
    assert task["Resources"] == {
        "Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 128 * 1024**2},
        "Reservations": {"NanoCPUs": 250_000_000},
    }
    assert task["RestartPolicy"] == {"Condition": "on-failure", "Delay": 5 * 10**9, "MaxAttempts": 3}
    assert task["Placement"] == {"Constraints": ["node.labels.swarmops.storagedriver==overlay2"], "MaxReplicas": 2}
    assert task["Networks"] == [{"Target": "net1"}]
    assert spec["Mode"] == {"Replicated": {"Replicas": 3}}
    assert spec["UpdateConfig"] == {"Parallelism": 1, "Delay": 10**10, "Order": "start-first"}
    assert spec["EndpointSpec"] == {
        "Mode": "dnsrr",
        "Ports": [{"Protocol": "tcp", "TargetPort": 8080, "PublishMode": "host", "PublishedPort": 80}],
    }


def test_global_mode_and_negative_replicas():
    assert build_spec(params(mode="global"), [], [])["Mode"] == {"Global": {}}
    with pytest.raises(SwarmOpsError, match="replicas=-1 must be 0 or more"):
        build_spec(params(replicas=-1), [], [])


def test_reservations_for_placement():
    assert reservations(params(resources={"reservations": {"cpus": "1", "memory": "1G"}})) == (10**9, 1024**3)
    assert reservations(params()) == (0, 0)


def stored(spec):
    """What Docker returns for a spec: digest-pinned image, defaults filled in, empty lists dropped."""
    stored = {**spec, "TaskTemplate": {**spec["TaskTemplate"]}}
    container = dict(spec["TaskTemplate"]["ContainerSpec"])
    container["Image"] += "@sha256:" + "a" * 64
    if not container["Env"]:
        container.pop("Env")
    stored["TaskTemplate"]["ContainerSpec"] = container
    stored["TaskTemplate"]["RestartPolicy"] = {"Condition": "any", "Delay": 5 * 10**9, "MaxAttempts": 0}
    stored["TaskTemplate"]["ForceUpdate"] = 0
    stored["UpdateConfig"] = {"Parallelism": 1, "FailureAction": "pause", "Order": "stop-first"}
    return stored


def test_a_stored_spec_compares_equal_to_the_desired_one():
    desired = build_spec(params(update_config={"parallelism": 1}), [], ["net1"])
    names = {"net1": "server-overlay-network"}
    wanted = spec_view(desired, names)
    assert comparable(spec_view(stored(desired), names), wanted) == wanted


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"image": "swarmops/hello:0.3.0"}, "image"),
        ({"replicas": 2}, "replicas"),
        ({"env": {"A": "1"}}, "env"),
        ({"endpoint_mode": "vip"}, "endpoint_mode"),
        ({"labels": {"x": "y"}}, "labels"),
        ({"update_config": {"parallelism": 2}}, "update_config"),
    ],
)
def test_a_changed_option_shows_in_its_field(change, field):
    names = {"net1": "server-overlay-network"}
    current = spec_view(stored(build_spec(params(update_config={"parallelism": 1}), [], ["net1"])), names)
    wanted = spec_view(build_spec(params(**{"update_config": {"parallelism": 1}, **change}), [], ["net1"]), names)
    view = comparable(current, wanted)
    assert [key for key in wanted if view[key] != wanted[key]] == [field]


NODES = [
    {
        "ID": "n0",
        "Description": {"Hostname": "node0", "Resources": {"NanoCPUs": 2 * 10**9, "MemoryBytes": 2 * 1024**3}},
        "Spec": {"Role": "worker", "Availability": "active", "Labels": {"disk": "ssd"}},
        "Status": {"State": "ready", "Addr": "10.0.0.6"},
    },
    {
        "ID": "n1",
        "Description": {"Hostname": "node1", "Resources": {"NanoCPUs": 2 * 10**9, "MemoryBytes": 2 * 1024**3}},
        "Spec": {"Role": "worker", "Availability": "active"},
        "Status": {"State": "ready", "Addr": "10.0.0.7"},
    },
]


def task(task_id, node, service, state="running", *, cpus=0, addresses=(), health=""):
    return {
        "ID": task_id,
        "NodeID": node,
        "ServiceID": service,
        "Status": {"State": state, "ContainerStatus": {"Health": health}},
        "Spec": {"Resources": {"Reservations": {"NanoCPUs": cpus}}},
        "NetworksAttachments": [{"Addresses": list(addresses)}],
    }


def test_node_facts_count_other_services_only():
    tasks = [
        task("t1", "n0", "s-world", cpus=10**9),
        task("t2", "n0", "s-hello", cpus=10**9),
        task("t3", "n1", "s-world", "shutdown"),
    ]
    services = {"s-world": {"Spec": {"Name": "world"}}, "s-hello": {"Spec": {"Name": "hello"}}}
    facts = {fact["hostname"]: fact for fact in node_facts(NODES, tasks, services, own_id="s-hello")}
    assert facts["node0"]["reserved_cpus"] == 10**9
    assert facts["node0"]["tasks"] == 1
    assert facts["node0"]["services"] == {"world"}
    assert facts["node0"]["labels"] == {"disk": "ssd"}
    assert facts["node1"]["tasks"] == 0
    assert facts["node1"]["address"] == "10.0.0.7"


def test_catalog_entries_follow_running_tasks_and_their_health():
    facts = {fact["id"]: fact for fact in node_facts(NODES, [], {}, None)}
    tasks = [
        task("aaaaaaaaaaaaaaaaaaaa", "n0", "s", addresses=["10.0.1.5/24"]),
        task("bbbbbbbbbbbbbbbbbbbb", "n1", "s", addresses=["10.0.1.6/24"], health="unhealthy"),
        task("cccccccccccccccccccc", "n1", "s", state="failed"),
    ]
    entries = catalog_entries("hello", tasks, facts, 8080, ["web"])
    assert sorted(entries) == ["hello-aaaaaaaaaaaa", "hello-bbbbbbbbbbbb"]
    assert entries["hello-aaaaaaaaaaaa"] == {
        "node": "node0",
        "node_address": "10.0.0.6",
        "service_id": "hello-aaaaaaaaaaaa",
        "address": "10.0.1.5",
        "port": 8080,
        "tags": ["web"],
        "status": "passing",
    }
    assert entries["hello-bbbbbbbbbbbb"]["status"] == "critical"
