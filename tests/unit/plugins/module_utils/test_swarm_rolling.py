"""The plan, guards and waits of swarm_rolling, as pure functions over Docker API answers."""

from __future__ import annotations

import pytest
from test_swarm_node import cluster, node, service, task, views

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_rolling import (
    batch_placement_errors,
    batch_size,
    cluster_pending,
    host_tasks,
    manager_errors,
    node_errors,
    rolling_order,
    services_pending,
)

ALL = ["master0", "master1", "master2", "node0", "node1", "node2"]


@pytest.mark.parametrize(
    ("batch", "workers", "size"),
    [("1", 3, 1), ("2", 3, 2), ("50%", 4, 2), ("50%", 3, 1), ("10%", 3, 1), ("100%", 3, 3), (" 3 ", 5, 3)],
)
def test_batch_size(batch: str, workers: int, size: int) -> None:
    assert batch_size(batch, workers) == size


@pytest.mark.parametrize("batch", ["0", "-1", "abc", "101%", "0%", "1.5", ""])
def test_batch_size_refuses_and_names_the_value(batch: str) -> None:
    with pytest.raises(SwarmOpsError, match=f"batch={batch!r}"):
        batch_size(batch, 3)


def test_order_workers_in_batches_then_followers_then_the_leader() -> None:
    assert rolling_order(cluster(), ALL, "2") == [["node0", "node1"], ["node2"], ["master1"], ["master2"], ["master0"]]


def test_order_keeps_the_given_order_and_the_leader_last_wherever_it_is_named() -> None:
    order = rolling_order(cluster(), ["master0", "node2", "master2", "node0"], "1")
    assert order == [["node2"], ["node0"], ["master2"], ["master0"]]


def test_order_refuses_a_name_outside_the_swarm() -> None:
    with pytest.raises(SwarmOpsError, match="node9: not a node of this swarm"):
        rolling_order(cluster(), ["node0", "node9"], "1")


def test_a_manager_that_is_away_refuses() -> None:
    lab = views(
        node("master0", "manager", leader=True),
        node("master1", "manager", reachability="unreachable", state="down"),
        node("master2", "manager"),
    )
    errors = manager_errors(lab, restarts_managers=False)
    assert errors == ["manager(s) master1 (down, unreachable) already down or unreachable: bring them back first."]


@pytest.mark.parametrize(("managers", "refused"), [(1, True), (2, True), (3, False), (4, False), (5, False)])
def test_quorum_margin(managers: int, refused: bool) -> None:
    lab = views(*[node(f"m{index}", "manager", leader=index == 0) for index in range(managers)])
    errors = manager_errors(lab, restarts_managers=True)
    assert bool(errors) is refused
    if refused:
        assert "no quorum margin" in errors[0]


def test_no_margin_is_fine_when_no_manager_restarts() -> None:
    lab = views(node("m0", "manager", leader=True), node("w0"))
    assert manager_errors(lab, restarts_managers=False) == []


def test_a_worker_of_the_plan_that_is_down_refuses() -> None:
    lab = views(node("master0", "manager", leader=True), node("node0", state="down"), node("node1", state="down"))
    assert node_errors(lab, [["node0"]]) == ["node0 is down: bring it back (or leave it out of the hosts) first."]


def test_a_service_filtered_to_one_node_refuses_the_batch_that_drains_it() -> None:
    services = [service("pinned", constraints=["node.hostname == node1"]), service("free", replicas=2)]
    errors = batch_placement_errors(services, cluster(), [["node0"], ["node1"], ["node2"]])
    assert len(errors) == 1
    assert errors[0].startswith("service pinned needs a node, but without node1 only no node would take its tasks")


def test_a_batch_too_large_for_the_per_node_limit_refuses() -> None:
    services = [service("hello", replicas=2, per_node=1)]
    assert batch_placement_errors(services, cluster(), [["node0"], ["node1"], ["node2"]]) == []
    errors = batch_placement_errors(services, cluster(), [["node0", "node1"], ["node2"]])
    assert errors and "service hello needs 2 nodes" in errors[0]


def test_host_tasks_lists_running_tasks_by_service_and_slot() -> None:
    services = [service("hello", replicas=2), service("agent", replicas=None)]
    tasks = [
        {**task("hello", "node0"), "Slot": 1},
        {**task("hello", "node1"), "Slot": 2},
        task("agent", "node1"),
        {**task("hello", "node2", state="shutdown", desired="shutdown"), "Slot": 1},
    ]
    listed = host_tasks(services, tasks, cluster())
    assert listed["node0"] == ["hello.1"]
    assert listed["node1"] == ["agent", "hello.2"]
    assert listed["node2"] == [] and listed["master0"] == []


def test_cluster_pending_until_the_node_is_back_and_a_leader_leads() -> None:
    lab = views(
        node("master0", "manager", leader=False, reachability="unreachable"),
        node("master1", "manager"),
        node("master2", "manager"),
        node("node0", state="down"),
    )
    assert cluster_pending(lab, ["node0", "master0"]) == [
        "manager master0 is unreachable",
        "node0 is down",
        "no manager leads",
    ]
    assert cluster_pending(cluster(), ["node0", "master0"]) == []


def test_cluster_pending_without_quorum() -> None:
    lab = views(
        node("master0", "manager", leader=True),
        node("master1", "manager", reachability="unreachable"),
        node("master2", "manager", reachability="unreachable"),
    )
    assert "1 of 3 managers reachable, no quorum" in cluster_pending(lab, ["master0"])


def test_services_pending_counts_running_tasks_against_replicas_and_global_nodes() -> None:
    services = [service("hello", replicas=2), service("agent", replicas=None)]
    lab = views(node("master0", "manager", availability="drain", leader=True), node("node0"), node("node1"))
    short = [task("hello", "node0"), task("hello", "node1", state="starting"), task("agent", "node0")]
    assert services_pending(services, short, lab) == [
        "hello runs 1 of 2 task(s)",
        "agent (global) does not run on node1",
    ]
    whole = [task("hello", "node0"), task("hello", "node1"), task("agent", "node0"), task("agent", "node1")]
    assert services_pending(services, whole, lab) == []
