"""consul_server against real Docker engines and a real Consul: bad input, the
check/real/repeat contract, ACLs default-deny, data that survives a recreate,
the leader timeout, a three-server cluster and removal."""

from __future__ import annotations

import base64
import subprocess

import consul
import pytest

from .conftest import Ansible, container_ip

MODULE = "swarmops.cluster.consul_server"
IMAGE = "swarmops/consul:1.8.7"
KEY = base64.b64encode(bytes(range(32))).decode()
SINGLE = "itest-c1"
HA = ["itest-h1", "itest-h2", "itest-h3"]
PROBE_KEY = "swarmops/itest/probe"


def server(**overrides: object) -> dict[str, object]:
    return {"image": IMAGE, "encrypt_key": KEY, "leader_timeout": 60, **overrides}


def inner_docker(host: str, *args: str) -> str:
    """Run the docker CLI inside a lab host, against that host's own engine."""
    return subprocess.run(
        ["docker", "exec", host, "docker", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def consul_container_id(host: str) -> str:
    return inner_docker(host, "ps", "-aq", "--no-trunc", "--filter", "name=^consul$")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bootstrap_expect": 0}, "bootstrap_expect=0 can never elect a leader"),
        ({"bind_addr": "eth9"}, "bind_addr='eth9' is neither an IP address nor an interface of this host"),
        ({"advertise_addr": "999.1.1.1"}, "advertise_addr='999.1.1.1' is neither an IP address nor an interface"),
        ({"bind_addr": "203.0.113.7"}, "bind_addr='203.0.113.7' is not an address of this host"),
        ({"image": "swarmops/no-such:0"}, "image 'swarmops/no-such:0' is not present on this Docker host"),
        ({"encrypt_key": base64.b64encode(b"too short").decode()}, "encrypt_key decodes to 9 bytes; it must be 32"),
        ({"encrypt_key": "%%%"}, "encrypt_key is not valid base64"),
    ],
)
def test_bad_input_fails_clearly_and_creates_nothing(ansible: Ansible, overrides, message):
    result = ansible.one(SINGLE, MODULE, server(**overrides))
    assert result.get("failed") is True, result
    assert message in result["msg"]
    assert consul_container_id(SINGLE) == ""
    assert "consul_data" not in inner_docker(SINGLE, "volume", "ls", "-q")


def test_even_server_count_warns(ansible: Ansible):
    result = ansible.one(SINGLE, MODULE, server(bootstrap_expect=2, retry_join=["10.0.0.1"]), check=True)
    assert result["changed"] is True
    assert any("bootstrap_expect=2 is even" in warning for warning in result.get("warnings", []))


def test_check_then_create_then_repeat(ansible: Ansible):
    check = ansible.one(SINGLE, MODULE, server(), check=True, diff=True)
    assert check["changed"] is True
    assert check["actions"] == ["would create container consul"]
    assert check["diff"]["after"]["bootstrap_expect"] == 1
    assert consul_container_id(SINGLE) == "", "check mode must not create the container"

    real = ansible.one(SINGLE, MODULE, server(), diff=True)
    assert real["changed"] is True
    assert real["version"] == "1.8.7"
    assert real["address"] == container_ip(SINGLE)
    assert real["leader"] == f"{container_ip(SINGLE)}:8300"
    created = consul_container_id(SINGLE)
    assert real["container"]["id"] == created

    again = ansible.one(SINGLE, MODULE, server(), diff=True)
    assert again["changed"] is False, again["changes"]
    assert again["actions"] == []
    assert consul_container_id(SINGLE) == created

    check_again = ansible.one(SINGLE, MODULE, server(), check=True)
    assert check_again["changed"] is False
    assert check_again["leader"] == real["leader"]


def test_gossip_key_stays_out_of_inspect_and_arguments(ansible: Ansible):
    inspect = inner_docker(SINGLE, "inspect", "consul")
    assert KEY not in inspect
    assert '"Name": "always"' in inspect
    assert '"NetworkMode": "host"' in inspect


def test_acls_deny_anonymous_and_data_survive_a_config_change(ansible: Ansible):
    bootstrap = ansible.one(SINGLE, "community.general.consul_acl_bootstrap", {"host": "127.0.0.1"}, venv=False)
    assert bootstrap["changed"] is True, bootstrap
    management = consul.Consul(host=container_ip(SINGLE), token=bootstrap["result"]["SecretID"])
    assert management.kv.put(PROBE_KEY, "survives")
    with pytest.raises(consul.ACLPermissionDenied):
        consul.Consul(host=container_ip(SINGLE)).kv.put(PROBE_KEY, "anonymous")
    with pytest.raises(consul.ACLPermissionDenied):
        consul.Consul(host=container_ip(SINGLE)).kv.get(PROBE_KEY)

    changed = server(extra_config={"log_level": "DEBUG"})
    check = ansible.one(SINGLE, MODULE, changed, check=True, diff=True)
    assert check["changed"] is True
    assert "extra_config" in check["changes"]
    assert check["diff"]["before"]["extra_config"] == {}
    assert check["diff"]["after"]["extra_config"] == {"log_level": "DEBUG"}
    before = consul_container_id(SINGLE)

    real = ansible.one(SINGLE, MODULE, changed)
    assert real["changed"] is True
    assert real["actions"] == ["recreated container consul"]
    assert consul_container_id(SINGLE) not in ("", before)
    assert management.kv.get(PROBE_KEY)[1]["Value"] == b"survives"
    assert ansible.one(SINGLE, MODULE, changed)["changed"] is False


def test_a_server_without_its_peers_times_out_with_what_to_check(ansible: Ansible):
    peers = [container_ip(host) for host in HA[1:]]
    result = ansible.one(HA[0], MODULE, server(bootstrap_expect=3, retry_join=peers, leader_timeout=5))
    assert result.get("failed") is True
    assert "elected no leader within 5s" in result["msg"]
    assert "bootstrap_expect=3" in result["msg"]


def test_three_servers_elect_one_leader(ansible: Ansible):
    addresses = [container_ip(host) for host in HA]
    args = server(bootstrap_expect=3, retry_join=addresses, leader_timeout=90)
    results = ansible.run("ha", MODULE, args)
    assert not any(result.get("failed") for result in results.values()), results
    leaders = {result["leader"] for result in results.values()}
    assert len(leaders) == 1
    assert leaders.pop().split(":")[0] in addresses
    assert all(result["changed"] is False for result in ansible.run("ha", MODULE, args).values())


def test_absent_removes_the_container_and_keeps_the_data(ansible: Ansible):
    check = ansible.one(SINGLE, MODULE, {"state": "absent"}, check=True)
    assert check["changed"] is True
    assert consul_container_id(SINGLE) != ""

    real = ansible.one(SINGLE, MODULE, {"state": "absent"})
    assert real["changed"] is True
    assert consul_container_id(SINGLE) == ""
    assert "consul_data" in inner_docker(SINGLE, "volume", "ls", "-q")

    assert ansible.one(SINGLE, MODULE, {"state": "absent"})["changed"] is False
