"""swarm_manager, swarm_agent and swarm_node_labels on real engines and a real
Consul with ACLs: bad input and missing permissions, two masters initialising at
once ending in one swarm, joins, attributes becoming labels, and the refusal to
take a host away from another swarm."""

from __future__ import annotations

import json
import os
import subprocess

import consul
import pytest

from .conftest import ROOT, Ansible, container_ip

MANAGER = "swarmops.cluster.swarm_manager"
AGENT = "swarmops.cluster.swarm_agent"
LABELS = "swarmops.cluster.swarm_node_labels"
CLUSTER = "itest"
SECRETS = ROOT / ".lab" / "secrets" / CLUSTER


def token(name: str) -> str:
    return (SECRETS / "tokens" / f"{name}.token").read_text().strip()


def connection(name: str | None) -> dict[str, str]:
    args = {"cluster": CLUSTER, "consul_host": "itest-kv"}
    if name:
        args["consul_token"] = token(name)
    return args


def swarm_state(host: str) -> str:
    return subprocess.run(
        ["docker", "exec", host, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def inner(host: str, *args: str) -> str:
    return subprocess.run(
        ["docker", "exec", host, "docker", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


# The swarm is initialised with this heartbeat (not Docker's 5 s, so that init is seen to pass it);
# a test that changes it puts it back.
INIT_HEARTBEAT = 7
SECOND = 1_000_000_000


def swarm_spec(host: str = "itest-s1") -> dict:
    """The swarm's spec as a manager's docker info shows it."""
    return json.loads(inner(host, "info", "--format", "{{json .Swarm.Cluster.Spec}}"))


def node_labels(node: str) -> dict[str, str]:
    return json.loads(inner("itest-s1", "node", "inspect", node, "--format", "{{json .Spec.Labels}}")) or {}


def test_a_worker_before_any_master_is_told_to_run_the_masters(ansible: Ansible, kv):
    result = ansible.one("itest-w1", AGENT, connection("node-itest-w1"))
    assert result.get("failed") is True
    assert "no swarm is published for cluster 'itest'" in result["msg"]
    assert "run the masters first" in result["msg"]
    assert swarm_state("itest-w1") == "inactive"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"cluster": "Bad/Name"}, "cluster name 'Bad/Name' is not allowed in a Consul key"),
        ({"advertise_addr": "203.0.113.9"}, "advertise_addr='203.0.113.9' is not an address of this host"),
        ({"default_addr_pool": ["10.20.0.0/33"]}, "default_addr_pool entry '10.20.0.0/33' is not a CIDR network"),
        ({"consul_host": None}, "consul_host is required"),
        ({"dispatcher_heartbeat": 0}, "dispatcher_heartbeat=0 is not a heartbeat period: use 1-3600 seconds"),
    ],
)
def test_bad_input_changes_nothing(ansible: Ansible, kv, args, message):
    result = ansible.one("itest-s1", MANAGER, {**connection("masters"), **args})
    assert result.get("failed") is True, result
    assert message in result["msg"]
    assert swarm_state("itest-s1") == "inactive"


@pytest.mark.parametrize(
    ("token_name", "denied"),
    [
        (None, "denied read of key 'swarmops/itest/swarm'"),
        ("node-itest-w1", "denied the session lock on key 'swarmops/itest/lock'"),
    ],
)
def test_a_token_without_permission_names_the_denied_key(ansible: Ansible, kv, token_name, denied):
    result = ansible.one("itest-s1", MANAGER, connection(token_name))
    assert result.get("failed") is True, result
    assert denied in result["msg"]
    assert swarm_state("itest-s1") == "inactive"


def test_two_masters_starting_at_once_make_one_swarm(ansible: Ansible, kv):
    pattern = "itest-s1:itest-s2"
    args = {**connection("masters"), "dispatcher_heartbeat": INIT_HEARTBEAT}
    check = ansible.run(pattern, MANAGER, args, check=True)
    assert all(result["changed"] is True for result in check.values()), check
    assert all("dispatcher_heartbeat" in result["changes"] for result in check.values()), check
    assert {swarm_state(host) for host in check} == {"inactive"}
    assert kv.kv.get("swarmops/itest/swarm")[1] is None, "check mode must not publish"

    real = ansible.run(pattern, MANAGER, args)
    assert not any(result.get("failed") for result in real.values()), real
    assert len({result["swarm_id"] for result in real.values()}) == 1
    assert sorted(result["role"] for result in real.values()) == ["primary", "secondary"]
    record = json.loads(kv.kv.get("swarmops/itest/swarm")[1]["Value"])
    assert record["id"] == real["itest-s1"]["swarm_id"]
    assert any("2 managers tolerate 0 failures" in w for r in real.values() for w in r.get("warnings", []))
    assert swarm_spec()["Dispatcher"]["HeartbeatPeriod"] == INIT_HEARTBEAT * SECOND, "swarm init took the heartbeat"
    assert not any("set the swarm's dispatcher heartbeat" in a for r in real.values() for a in r["actions"]), real

    again = ansible.run(pattern, MANAGER, args)
    assert all(result["changed"] is False for result in again.values()), again


def test_a_third_master_joins_through_consul(ansible: Ansible, kv):
    check = ansible.one("itest-s3", MANAGER, connection("masters"), check=True)
    assert check["changed"] is True
    assert any("would join swarm" in action for action in check["actions"])
    real = ansible.one("itest-s3", MANAGER, connection("masters"))
    assert real["changed"] is True
    assert real["role"] == "secondary"
    assert real["managers"] == {"reachable": 3, "total": 3, "unreachable": []}
    assert ansible.one("itest-s3", MANAGER, connection("masters"))["changed"] is False
    assert inner("itest-s1", "node", "inspect", "itest-s3", "--format", "{{.Spec.Availability}}") == "drain"
    assert json.loads(kv.kv.get("swarmops/itest/managers/itest-s3")[1]["Value"])["reachability"] == "reachable"


# Distinct from Swarm's defaults (5, 10000, 2160h), so that a reset of any of them would show.
OTHER_SETTINGS = ["--task-history-limit", "7", "--snapshot-interval", "12000", "--cert-expiry", "1000h"]
DEFAULT_SETTINGS = ["--task-history-limit", "5", "--snapshot-interval", "10000", "--cert-expiry", "2160h"]


def test_three_masters_at_once_change_the_heartbeat_and_nothing_else(ansible: Ansible, kv):
    masters = "itest-s1:itest-s2:itest-s3"
    args = {**connection("masters"), "dispatcher_heartbeat": 2}
    inner("itest-s1", "swarm", "update", *OTHER_SETTINGS)
    before = swarm_spec()
    assert before["Dispatcher"]["HeartbeatPeriod"] == INIT_HEARTBEAT * SECOND
    assert before["Orchestration"]["TaskHistoryRetentionLimit"] == 7
    try:
        refused = ansible.one("itest-s1", MANAGER, {**args, "dispatcher_heartbeat": 3601})
        assert refused.get("failed") is True, refused
        assert "dispatcher_heartbeat=3601 is not a heartbeat period: use 1-3600 seconds" in refused["msg"]
        assert swarm_spec() == before

        check = ansible.run(masters, MANAGER, args, check=True, diff=True)
        for result in check.values():
            assert result["changed"] is True and result["changes"] == ["dispatcher_heartbeat"], result
            assert result["diff"]["before"]["dispatcher_heartbeat"] == INIT_HEARTBEAT
            assert result["diff"]["after"]["dispatcher_heartbeat"] == 2
            assert result["actions"] == [f"would set the swarm's dispatcher heartbeat to 2s (was {INIT_HEARTBEAT}s)"]
        assert swarm_spec() == before, "check mode must not change the swarm"

        real = ansible.run(masters, MANAGER, args)
        assert not any(result.get("failed") for result in real.values()), real
        assert any(result["changed"] for result in real.values()), real
        for host in ("itest-s1", "itest-s2", "itest-s3"):
            after = swarm_spec(host)
            assert after["Dispatcher"]["HeartbeatPeriod"] == 2 * SECOND, host
            assert {key: value for key, value in after.items() if key != "Dispatcher"} == {
                key: value for key, value in before.items() if key != "Dispatcher"
            }, "only the heartbeat may change (raft, task history, CA settings and the rest stay)"
        assert inner("itest-s2", "info", "--format", "{{.Swarm.Cluster.Spec.Dispatcher.HeartbeatPeriod}}") == "2s"

        again = ansible.run(masters, MANAGER, args)
        assert all(result["changed"] is False for result in again.values()), again
        omitted = ansible.one("itest-s3", MANAGER, connection("masters"), diff=True)
        assert omitted["changed"] is False and "dispatcher_heartbeat" not in omitted["diff"]["after"], omitted
        assert swarm_spec()["Dispatcher"]["HeartbeatPeriod"] == 2 * SECOND, "omitted, the setting is left alone"
    finally:
        restored = ansible.one("itest-s1", MANAGER, {**args, "dispatcher_heartbeat": INIT_HEARTBEAT})
        inner("itest-s1", "swarm", "update", *DEFAULT_SETTINGS)
    assert restored.get("failed") is not True, restored
    assert swarm_spec()["Dispatcher"]["HeartbeatPeriod"] == INIT_HEARTBEAT * SECOND


def test_republished_consul_state_is_a_named_change(ansible: Ansible, kv):
    """A rerun that only writes Consul (a lost join token, a lost manager entry) says what it wrote."""
    kv.kv.delete("swarmops/itest/join/worker")
    kv.kv.delete("swarmops/itest/managers/itest-s3")
    check = ansible.one("itest-s1", MANAGER, connection("masters"), check=True, diff=True)
    assert check["changed"] is True
    assert {"join_token.worker", "managers.itest-s3"} <= set(check["changes"]), check["changes"]
    assert "would publish the join token swarmops/itest/join/worker" in check["actions"]
    assert kv.kv.get("swarmops/itest/join/worker")[1] is None, "check mode must not write"
    assert check["diff"]["after"]["join_token.worker"].startswith("sha256:"), "a diff never shows a join token"

    real = ansible.one("itest-s1", MANAGER, connection("masters"))
    assert real["changed"] is True
    assert {"join_token.worker", "managers.itest-s3"} <= set(real["changes"]), real["changes"]
    assert "published the join token swarmops/itest/join/worker" in real["actions"]
    assert kv.kv.get("swarmops/itest/join/worker")[1] is not None
    assert kv.kv.get("swarmops/itest/managers/itest-s3")[1] is not None
    again = ansible.one("itest-s1", MANAGER, connection("masters"))
    assert again["changed"] is False, again["changes"]


def test_an_unknown_token_is_told_apart_from_a_missing_right(ansible: Ansible, kv):
    made_up = {**connection(None), "consul_token": "6f0b7c1e-0000-4000-8000-000000000000"}
    result = ansible.one("itest-s1", MANAGER, made_up)
    assert result.get("failed") is True, result
    assert "the token is unknown to this Consul server (403 ACL not found)" in result["msg"]
    lacking = ansible.one("itest-s1", MANAGER, connection("node-itest-w1"))
    assert "the token lacks that permission (403 Permission denied)" in lacking["msg"]


OUT_OF_SEQUENCE_PROBE = """
import json, sys
sys.path.insert(0, "/opt/itest-oos")
import docker
from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import retry_out_of_sequence

api = docker.APIClient()
node_id = api.inspect_node("itest-s1")["ID"]
stale = api.inspect_node(node_id)

def relabel(extra):
    def write(current):
        spec = dict(current["Spec"])
        spec["Labels"] = {**(spec.get("Labels") or {}), **extra}
        api.update_node(node_id, current["Version"]["Index"], spec)
    return write

relabel({"itest.bump": "1"})(api.inspect_node(node_id))  # another writer: the stale copy is now out of date
reads = []
def read():
    reads.append(1)
    return stale if len(reads) == 1 else api.inspect_node(node_id)
retry_out_of_sequence("label node itest-s1", read, relabel({"itest.retry": "ok"}), delay=0.01)
labels = api.inspect_node(node_id)["Spec"]["Labels"]
try:
    retry_out_of_sequence("label node itest-s1", lambda: stale, relabel({"itest.never": "x"}), attempts=3, delay=0.01)
    gave_up = ""
except SwarmOpsError as exc:
    gave_up = exc.msg
current = api.inspect_node(node_id)
spec = dict(current["Spec"])
spec["Labels"] = {k: v for k, v in (spec.get("Labels") or {}).items() if not k.startswith("itest.")}
api.update_node(node_id, current["Version"]["Index"], spec)
print(json.dumps({"reads": len(reads), "labels": labels, "gave_up": gave_up}))
"""


def test_a_node_update_out_of_sequence_is_retried_on_a_real_manager(ansible: Ansible, kv):
    """A real conflict: the first write carries a version another writer has replaced."""
    subprocess.run(
        ["docker", "exec", "itest-s1", "mkdir", "-p", "/opt/itest-oos/ansible_collections/swarmops/cluster/plugins"],
        check=True,
    )
    subprocess.run(
        [
            "docker",
            "cp",
            str(ROOT / "plugins" / "module_utils"),
            "itest-s1:/opt/itest-oos/ansible_collections/swarmops/cluster/plugins/",
        ],
        check=True,
    )
    done = subprocess.run(
        ["docker", "exec", "itest-s1", "/opt/swarmops/venv/bin/python", "-c", OUT_OF_SEQUENCE_PROBE],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["reads"] == 2, "the out-of-sequence write was retried once, with a fresh read"
    assert outcome["labels"]["itest.retry"] == "ok"
    assert outcome["labels"]["itest.bump"] == "1", "the other writer's change was kept"
    assert "update out of sequence after 3 attempts" in outcome["gave_up"]


def test_a_worker_joins_knowing_only_consul_and_advertises_itself(ansible: Ansible, kv):
    args = {**connection("node-itest-w1"), "labels": {"disk": "ssd"}}
    check = ansible.one("itest-w1", AGENT, args, check=True)
    assert check["changed"] is True
    assert swarm_state("itest-w1") == "inactive"

    real = ansible.one("itest-w1", AGENT, args)
    assert real["changed"] is True
    assert real["joined_via"].endswith(":2377")
    assert inner("itest-s1", "node", "inspect", "itest-w1", "--format", "{{.Spec.Role}} {{.Status.State}}") == (
        "worker ready"
    )
    record = json.loads(kv.kv.get("swarmops/itest/nodes/itest-w1")[1]["Value"])
    assert record["node_id"] == real["node_id"]
    assert record["address"] == container_ip("itest-w1")
    assert record["storagedriver"] == "overlay2"
    assert record["labels"] == {"disk": "ssd"}
    assert ansible.one("itest-w1", AGENT, args)["changed"] is False


def test_a_node_token_cannot_read_the_manager_token(kv):
    node = consul.Consul(host=container_ip("itest-kv"), token=token("node-itest-w1"))
    assert node.kv.get("swarmops/itest/join/worker")[1]["Value"].startswith(b"SWMTKN-")
    with pytest.raises(consul.ACLPermissionDenied):
        node.kv.get("swarmops/itest/join/manager")


def test_advertised_attributes_become_node_labels(ansible: Ansible, kv):
    check = ansible.one("itest-s2", LABELS, connection("masters"), check=True, diff=True)
    assert check["changed"] is True
    assert "itest-w1" in check["changes"]
    real = ansible.one("itest-s2", LABELS, connection("masters"))
    assert real["changed"] is True
    labels = json.loads(inner("itest-s1", "node", "inspect", "itest-w1", "--format", "{{json .Spec.Labels}}"))
    record = json.loads(kv.kv.get("swarmops/itest/nodes/itest-w1")[1]["Value"])
    for name in ("kernelversion", "storagedriver", "operatingsystem", "architecture", "engineversion"):
        assert labels[f"swarmops.{name}"] == record[name]
    assert labels["disk"] == "ssd"
    assert ansible.one("itest-s2", LABELS, connection("masters"))["changed"] is False


def test_labels_we_do_not_own_survive_every_rerun_and_ours_follow_the_inventory(ansible: Ansible, kv):
    """A label set by hand, and a placement marker, stay through swarm_node_labels and swarm_manager; a
    master's inventory label is added, then removed when the inventory drops it, and the two modules
    agree at every step (the second finds nothing to change)."""
    hand_set = {"team": "payments", "swarmops.place.itest": "true"}
    for node in ("itest-w1", "itest-s2"):
        inner("itest-s1", "node", "update", *(f"--label-add={k}={v}" for k, v in hand_set.items()), node)
    try:
        labelled = ansible.run("itest-s1:itest-s2", LABELS, connection("masters"))
        assert all(result["changed"] is False for result in labelled.values()), labelled
        assert hand_set.items() <= node_labels("itest-w1").items()
        assert node_labels("itest-w1")["disk"] == "ssd", "the worker's own inventory label stays"

        with_rack = {**connection("masters"), "labels": {"rack": "r1"}}
        check = ansible.one("itest-s2", MANAGER, with_rack, check=True)
        assert check["changed"] is True and "labels" in check["changes"], check
        assert "rack" not in node_labels("itest-s2"), "check mode must not label"
        real = ansible.one("itest-s2", MANAGER, with_rack)
        assert real["changed"] is True and "labels" in real["changes"], real
        labels = node_labels("itest-s2")
        assert labels["rack"] == "r1" and labels["swarmops.user-labels"] == "rack"
        assert hand_set.items() <= labels.items()
        assert ansible.one("itest-s2", MANAGER, with_rack)["changed"] is False
        labelled = ansible.one("itest-s1", LABELS, connection("masters"))
        assert labelled["changed"] is False, labelled["changes"]

        dropped = ansible.one("itest-s2", MANAGER, connection("masters"))
        assert dropped["changed"] is True and "labels" in dropped["changes"], dropped
        labels = node_labels("itest-s2")
        assert "rack" not in labels and "swarmops.user-labels" not in labels, labels
        assert hand_set.items() <= labels.items()
        assert ansible.one("itest-s2", MANAGER, connection("masters"))["changed"] is False
        labelled = ansible.one("itest-s1", LABELS, connection("masters"))
        assert labelled["changed"] is False, labelled["changes"]
        assert hand_set.items() <= node_labels("itest-w1").items()
    finally:
        for node in ("itest-w1", "itest-s2"):
            inner("itest-s1", "node", "update", *(f"--label-rm={key}" for key in hand_set), node)


def test_a_manager_of_another_swarm_is_refused_naming_both_swarms(ansible: Ansible, kv):
    inner("itest-x1", "swarm", "init", "--advertise-addr", container_ip("itest-x1"))
    theirs = inner("itest-x1", "info", "--format", "{{.Swarm.Cluster.ID}}")
    ours = json.loads(kv.kv.get("swarmops/itest/swarm")[1]["Value"])["id"]
    result = ansible.one("itest-x1", MANAGER, connection("masters"))
    assert result.get("failed") is True
    assert theirs in result["msg"] and ours in result["msg"]
    assert inner("itest-x1", "info", "--format", "{{.Swarm.Cluster.ID}}") == theirs


def test_a_worker_of_another_swarm_is_refused_and_left_alone(ansible: Ansible, kv):
    worker_token = inner("itest-x1", "swarm", "join-token", "-q", "worker")
    inner("itest-x2", "swarm", "join", "--token", worker_token, f"{container_ip('itest-x1')}:2377")
    result = ansible.one("itest-x2", AGENT, connection("node-itest-x2"))
    assert result.get("failed") is True
    assert "is a worker of another swarm" in result["msg"]
    assert swarm_state("itest-x2") == "active"


@pytest.fixture(scope="module", autouse=True)
def _leave_swarms() -> None:
    yield
    if os.environ.get("SWARMOPS_KEEP_LAB"):
        return
    for host in ("itest-x2", "itest-x1", "itest-w1", "itest-s3", "itest-s2", "itest-s1"):
        subprocess.run(
            ["docker", "exec", host, "docker", "swarm", "leave", "--force"], capture_output=True, check=False
        )
