"""swarm_network against a real single-node swarm: the manager check, bad input, the
check/real/repeat contract, immutable fields and recreate, recreate refused while a
service or container uses the network, overlapping subnets and removal.

The tests run in file order: the first one needs the node outside any swarm, the
``manager`` fixture then makes it a swarm manager for the rest and leaves the swarm
at the end."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest

from .conftest import Ansible, container_ip

MODULE = "swarmops.cluster.swarm_network"
HOST = "itest-n1"
NET = "server-overlay-network"
IMAGE = "swarmops/consul:1.8.7"
SUBNET = "10.77.0.0/24"


def inner_docker(*args: str, check: bool = True) -> str:
    """Run the docker CLI inside the lab host, against its own engine."""
    done = subprocess.run(["docker", "exec", HOST, "docker", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def network_id(name: str = NET) -> str:
    """ID of the network with this name, or "" when there is none (`network ls` filters on substrings)."""
    return inner_docker("network", "inspect", "-f", "{{.Id}}", name, check=False)


def network_labels(name: str = NET) -> dict[str, str]:
    return json.loads(inner_docker("network", "inspect", "-f", "{{json .Labels}}", name)) or {}


def wait_until_detached(name: str = NET, timeout: float = 60) -> None:
    """Task containers of a removed service linger for a moment."""
    deadline = time.monotonic() + timeout
    while inner_docker("ps", "-aq", "--filter", f"network={name}"):
        assert time.monotonic() < deadline, f"containers still attached to {name}"
        time.sleep(0.5)


def net(**overrides: object) -> dict[str, object]:
    return {"subnet": SUBNET, "labels": {"io.swarmops.test": "1"}, **overrides}


def test_a_node_outside_any_swarm_is_refused(ansible: Ansible):
    inner_docker("swarm", "leave", "--force", check=False)
    result = ansible.one(HOST, MODULE, net())
    assert result.get("failed") is True, result
    assert "is not part of a swarm (swarm state: inactive)" in result["msg"]
    assert "swarm_network must run on a swarm manager" in result["msg"]


@pytest.fixture(scope="module")
def manager(ansible: Ansible) -> Iterator[Ansible]:
    """The lab host as a single-node swarm manager, for the rest of this file."""
    inner_docker("swarm", "init", "--advertise-addr", container_ip(HOST))
    yield ansible
    inner_docker("service", "rm", "probe", check=False)
    inner_docker("rm", "-f", "probe", check=False)
    inner_docker("swarm", "leave", "--force", check=False)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subnet": "10.0.0.300/24"}, "subnet='10.0.0.300/24' is not a valid IPv4 CIDR block"),
        ({"subnet": "10.0.0.0"}, "subnet='10.0.0.0' is not in CIDR notation"),
        ({"subnet": "10.77.0.5/24"}, "did you mean 10.77.0.0/24?"),
        ({"gateway": "10.78.0.1"}, "gateway='10.78.0.1' is not inside subnet 10.77.0.0/24"),
        ({"ip_range": "10.77.1.0/25"}, "ip_range='10.77.1.0/25' is not inside subnet 10.77.0.0/24"),
        ({"ip_range": "10.77.0.128"}, "ip_range='10.77.0.128' is not in CIDR notation"),
        ({"subnet": "10.0.0.0/16"}, "subnet 10.0.0.0/16 overlaps the subnet of network 'ingress' (10.0.0.0/24)"),
        ({"subnet": None, "gateway": "10.77.0.1"}, "missing parameter(s) required by 'gateway': subnet"),
    ],
)
def test_bad_input_fails_clearly_and_creates_nothing(manager: Ansible, overrides, message):
    result = manager.one(HOST, MODULE, net(**overrides))
    assert result.get("failed") is True, result
    assert message in result["msg"]
    assert network_id() == ""


def test_check_then_create_then_repeat(manager: Ansible):
    check = manager.one(HOST, MODULE, net(), check=True, diff=True)
    assert check["changed"] is True, check
    assert check["actions"] == [f"would create network {NET}"]
    assert check["diff"]["before"]["state"] == "absent"
    assert check["diff"]["after"]["subnet"] == SUBNET
    assert check["network"]["id"] is None
    assert network_id() == "", "check mode must not create the network"

    real = manager.one(HOST, MODULE, net(), diff=True)
    assert real["changed"] is True, real
    assert real["actions"] == [f"created network {NET}"]
    created = network_id()
    assert real["network"] == {
        "id": created,
        "name": NET,
        "driver": "overlay",
        "scope": "swarm",
        "attachable": True,
        "encrypted": False,
        "subnets": [SUBNET],
        "labels": {"io.swarmops.test": "1"},
    }

    again = manager.one(HOST, MODULE, net(), diff=True)
    assert again["changed"] is False, again["changes"]
    assert again["actions"] == []
    assert again["network"]["id"] == created

    check_again = manager.one(HOST, MODULE, net(), check=True)
    assert check_again["changed"] is False
    assert network_id() == created


def test_omitted_options_are_not_compared(manager: Ansible):
    result = manager.one(HOST, MODULE, {"name": NET}, check=True)
    assert result["changed"] is False, result
    assert result["network"]["subnets"] == [SUBNET]


def test_immutable_change_fails_naming_the_field_then_recreates(manager: Ansible):
    before = network_id()
    changed = net(labels={"io.swarmops.test": "2"}, attachable=False)
    refused = manager.one(HOST, MODULE, changed)
    assert refused.get("failed") is True, refused
    assert "exists with settings Docker cannot change in place" in refused["msg"]
    assert "attachable is True, wanted False" in refused["msg"]
    assert "labels is {'io.swarmops.test': '1'}, wanted {'io.swarmops.test': '2'}" in refused["msg"]
    assert "recreate=true" in refused["msg"]
    assert refused["changes"] == ["attachable", "labels"]
    assert network_id() == before

    check = manager.one(HOST, MODULE, {**changed, "recreate": True}, check=True, diff=True)
    assert check["changed"] is True
    assert check["changes"] == ["attachable", "labels"]
    assert check["diff"]["before"]["labels"] == {"io.swarmops.test": "1"}
    assert check["diff"]["after"]["labels"] == {"io.swarmops.test": "2"}
    assert network_id() == before, "check mode must not recreate the network"

    real = manager.one(HOST, MODULE, {**changed, "recreate": True})
    assert real["changed"] is True, real
    assert real["actions"] == [f"recreated network {NET} (attachable, labels differed)"]
    assert network_id() not in ("", before)
    assert real["network"]["id"] == network_id()
    assert real["network"]["attachable"] is False
    assert network_labels() == {"io.swarmops.test": "2"}

    assert manager.one(HOST, MODULE, {**changed, "recreate": True})["changed"] is False


def test_recreate_is_refused_while_a_service_uses_the_network(manager: Ansible):
    inner_docker(
        "service", "create", "--detach", "--no-resolve-image", "--name", "probe", "--network", NET,
        "--endpoint-mode", "dnsrr", IMAGE, "agent", "-dev",
    )  # fmt: skip
    before = network_id()
    for check in (True, False):
        refused = manager.one(HOST, MODULE, net(recreate=True), check=check)
        assert refused.get("failed") is True, refused
        assert f"cannot recreate network '{NET}': it is in use by service(s) probe" in refused["msg"]
    absent = manager.one(HOST, MODULE, {"state": "absent"})
    assert absent.get("failed") is True
    assert "cannot remove network" in absent["msg"]
    assert network_id() == before

    inner_docker("service", "rm", "probe")
    wait_until_detached()
    assert manager.one(HOST, MODULE, net(recreate=True))["changed"] is True


def test_recreate_is_refused_while_a_container_is_attached(manager: Ansible):
    inner_docker("run", "-d", "--name", "probe", "--network", NET, IMAGE)
    before = network_id()
    refused = manager.one(HOST, MODULE, net(labels={}, recreate=True))
    assert refused.get("failed") is True, refused
    assert f"cannot recreate network '{NET}': it is in use by container(s) probe" in refused["msg"]
    assert network_id() == before

    inner_docker("rm", "-f", "probe")
    assert manager.one(HOST, MODULE, net(labels={}, recreate=True))["changed"] is True
    assert network_labels() == {}


def test_a_subnet_overlapping_another_network_fails_naming_it(manager: Ansible):
    inner_docker("network", "create", "-d", "overlay", "--subnet", "10.88.0.0/16", "other-net")
    try:
        result = manager.one(HOST, MODULE, net(subnet="10.88.4.0/24", recreate=True))
        assert result.get("failed") is True, result
        assert "subnet 10.88.4.0/24 overlaps the subnet of network 'other-net' (10.88.0.0/16)" in result["msg"]
        assert network_labels() == {}, "nothing may change"
        assert manager.one(HOST, MODULE, net(labels={}))["changed"] is False, "its own subnet never overlaps"
    finally:
        inner_docker("network", "rm", "other-net")


def test_absent_removes_the_network_then_changes_nothing(manager: Ansible):
    check = manager.one(HOST, MODULE, {"state": "absent"}, check=True, diff=True)
    assert check["changed"] is True
    assert check["diff"] == {"before": {"state": "present"}, "after": {"state": "absent"}}
    assert network_id() != ""

    real = manager.one(HOST, MODULE, {"state": "absent"})
    assert real["changed"] is True
    assert real["actions"] == [f"removed network {NET}"]
    assert real["network"] is None
    assert network_id() == ""

    assert manager.one(HOST, MODULE, {"state": "absent"})["changed"] is False
    assert manager.one(HOST, MODULE, {"state": "absent"}, check=True)["changed"] is False
