"""The guards and waits of swarm_node, as pure functions over Docker API answers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_node import (
    constraint_holds,
    drain_targets,
    find_nodes,
    node_view,
    placement_errors,
    quorum_error,
    tasks_elsewhere,
    wait_for,
)


def node(name: str, role: str = "worker", *, availability: str = "active", state: str = "ready", **more: Any) -> dict:
    answer: dict[str, Any] = {
        "ID": f"id-{name}",
        "Spec": {"Role": role, "Availability": availability, "Labels": more.get("labels", {})},
        "Description": {"Hostname": name, "Platform": {"OS": "linux", "Architecture": "x86_64"}},
        "Status": {"State": state},
    }
    if role == "manager":
        answer["ManagerStatus"] = {
            "Reachability": more.get("reachability", "reachable"),
            "Leader": more.get("leader", False),
        }
    return answer


def views(*nodes: dict) -> list[dict[str, Any]]:
    return [node_view(n) for n in nodes]


def cluster() -> list[dict[str, Any]]:
    return views(
        node("master0", "manager", availability="drain", leader=True),
        node("master1", "manager", availability="drain"),
        node("master2", "manager", availability="drain"),
        node("node0", labels={"disk": "ssd"}),
        node("node1"),
        node("node2"),
    )


def service(name: str, replicas: int | None = 1, constraints: list[str] | None = None, per_node: int = 0) -> dict:
    mode = {"Replicated": {"Replicas": replicas}} if replicas is not None else {"Global": {}}
    placement: dict[str, Any] = {"Constraints": constraints or []}
    if per_node:
        placement["MaxReplicas"] = per_node
    return {"ID": f"sid-{name}", "Spec": {"Name": name, "Mode": mode, "TaskTemplate": {"Placement": placement}}}


def task(service_name: str, node_name: str, state: str = "running", desired: str = "running") -> dict:
    return {
        "ServiceID": f"sid-{service_name}",
        "NodeID": f"id-{node_name}",
        "Status": {"State": state},
        "DesiredState": desired,
    }


def ids(*names: str) -> set[str]:
    return {f"id-{name}" for name in names}


def test_find_nodes_by_host_name_or_id_and_reports_the_others() -> None:
    found, missing = find_nodes(cluster(), ["node1", "id-master2", "node9"])
    assert sorted(found) == ["id-master2", "node1"]
    assert found["id-master2"]["hostname"] == "master2"
    assert missing == ["node9"]


def test_find_nodes_refuses_a_host_name_two_nodes_share() -> None:
    twins = cluster() + views(node("node1"))
    twins[-1]["id"] = "id-node1-again"
    with pytest.raises(SwarmOpsError, match=r"'node1' names 2 swarm nodes \(id-node1, id-node1-again\)"):
        find_nodes(twins, ["node1"])


@pytest.mark.parametrize(
    ("leaving", "message"),
    [
        ((), None),
        (("node0",), None),
        (("master1",), None),
        (("master1", "master2"), r"leave 1 reachable \(master0\), fewer than the 2 that keep quorum"),
        (("master0", "master1", "master2"), "without a manager"),
    ],
)
def test_quorum_error_three_managers(leaving: tuple[str, ...], message: str | None) -> None:
    error = quorum_error(cluster(), ids(*leaving))
    if message is None:
        assert error is None
    else:
        assert error is not None
        assert re.search(message, error), error


def test_quorum_error_counts_an_unreachable_manager_against_quorum() -> None:
    nodes = views(
        node("master0", "manager", leader=True),
        node("master1", "manager", reachability="unreachable", state="down"),
        node("master2", "manager"),
    )
    # Removing the dead one leaves two reachable of three: allowed (that is the repair).
    assert quorum_error(nodes, ids("master1")) is None
    # Removing a healthy one leaves one reachable of three: refused.
    error = quorum_error(nodes, ids("master2"))
    assert error is not None
    assert "leave 1 reachable (master0)" in error


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("node.hostname==node0", True),
        ("node.hostname!=node0", False),
        ("node.role==worker", True),
        ("node.role == manager", False),
        ("node.labels.disk==ssd", True),
        ("node.labels.disk==SSD", True),
        ("node.labels.disk!=ssd", False),
        ("node.labels.missing==x", False),
        ("node.labels.missing!=x", True),
        ("node.platform.os==linux", True),
        ("node.id==id-node0", True),
        ("engine.labels.zone==a", False),
        ("node.ip==10.0.0.1", None),
        ("garbage", None),
    ],
)
def test_constraint_holds(constraint: str, expected: bool | None) -> None:
    assert constraint_holds(constraint, cluster()[3]) is expected


def test_placement_errors_a_pinned_service_refuses_the_drain_of_its_only_node() -> None:
    errors = placement_errors([service("db", constraints=["node.labels.disk==ssd"])], cluster(), ids("node0"))
    assert errors == [
        "service db needs a node, but without node0 only no node would take its tasks "
        "(active, ready nodes that meet its constraints ['node.labels.disk==ssd'])."
    ]


def test_placement_errors_counts_the_nodes_a_per_node_limit_needs() -> None:
    hello = service("hello", replicas=2, per_node=1)
    assert placement_errors([hello], cluster(), ids("node0")) == []
    errors = placement_errors([hello], cluster(), ids("node0", "node1"))
    assert errors == [
        "service hello needs 2 nodes (2 replicas, at most 1 per node), but without node0, node1 only node2 would take "
        "its tasks (active, ready nodes that meet no constraints)."
    ]


def test_placement_errors_ignores_global_services_scaled_to_zero_and_drained_or_down_nodes() -> None:
    nodes = cluster()
    nodes[5]["state"] = "down"
    services = [service("agent", replicas=None), service("idle", replicas=0), service("web", replicas=2, per_node=1)]
    # node2 is down already: without node0 only node1 takes web's tasks.
    assert len(placement_errors(services, nodes, ids("node0"))) == 1
    # Draining a down node does not make a short service shorter.
    assert placement_errors(services, nodes, ids("node2")) == []


def test_drain_targets_waits_only_for_services_with_a_task_there_and_at_most_what_they_run() -> None:
    services = [service("hello", replicas=2, per_node=1), service("world", replicas=2), service("short", replicas=3)]
    tasks = [
        task("hello", "node0"),
        task("hello", "node1"),
        task("world", "node1"),
        task("world", "node2"),
        task("short", "node0"),
        task("short", "node1", state="pending"),
    ]
    assert drain_targets(services, tasks, ids("node0")) == {"sid-hello": ("hello", 2), "sid-short": ("short", 1)}


def test_tasks_elsewhere_until_the_tasks_moved() -> None:
    targets = {"sid-hello": ("hello", 2)}
    during = [task("hello", "node0"), task("hello", "node1"), task("hello", "node2", state="starting")]
    assert tasks_elsewhere(targets, during, ids("node0")) == [
        "tasks of hello still run on the drained node(s)",
        "hello runs 1 of 2 task(s) on the other nodes",
    ]
    after = [
        task("hello", "node0", state="shutdown", desired="shutdown"),
        task("hello", "node1"),
        task("hello", "node2"),
    ]
    assert tasks_elsewhere(targets, after, ids("node0")) == []


def test_wait_for_fails_with_what_is_still_pending() -> None:
    with pytest.raises(SwarmOpsError, match=r"timed out after 0.1s waiting until it moved: still there"):
        wait_for("it moved", lambda: ["still there"], 0.1, interval=0.02)


def test_wait_for_returns_once_nothing_is_pending() -> None:
    answers = iter([["once"], []])
    wait_for("done", lambda: next(answers), 5, interval=0.01)
