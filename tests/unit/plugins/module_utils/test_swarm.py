"""Pure parts of the swarm modules: membership state, records, attributes, labels,
manager lists, join retries, and the checks on pools and manager counts."""

from __future__ import annotations

import json
import re
import time
from functools import partial

import pytest

from ansible_collections.swarmops.cluster.plugins.module_utils import _swarm as swarm
from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import APIError
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_agent import same_swarm
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_labels import (
    USER_LABELS,
    wanted_labels,
    with_user_labels,
)
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_manager import (
    even_manager_warning,
    heartbeat_seconds,
    manager_entries,
    validate_heartbeat,
    validate_pools,
    with_heartbeat,
)

INFO = {
    "Name": "node0",
    "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
    "OSType": "linux",
    "KernelVersion": "6.1.0-18-amd64",
    "Driver": "overlay2",
    "Architecture": "x86_64",
    "NCPU": 2,
    "MemTotal": 2088763392,
    "ServerVersion": "20.10.24",
}


@pytest.mark.parametrize(
    ("swarm", "state", "manager", "cluster"),
    [
        ({}, "inactive", False, None),
        (
            {"LocalNodeState": "active", "NodeID": "n1", "ControlAvailable": True, "Cluster": {"ID": "s1"}},
            "active",
            True,
            "s1",
        ),
        ({"LocalNodeState": "active", "NodeID": "n2", "ControlAvailable": False}, "active", False, None),
    ],
)
def test_local_swarm_reads_docker_info(swarm, state, manager, cluster):
    local = swarm_local(swarm)
    assert local.state == state
    assert local.is_manager is manager
    assert local.cluster_id == cluster


def swarm_local(section):
    return swarm.LocalSwarm({"Swarm": section})


@pytest.mark.parametrize("state", ["pending", "error", "locked"])
def test_unusable_states_fail_with_the_way_out(state):
    local = swarm_local({"LocalNodeState": state, "Error": "boom"})
    with pytest.raises(SwarmOpsError, match=f"swarm state '{state}'.*: boom"):
        local.check_usable("master0")


def test_pending_is_read_again_until_it_settles():
    states = iter(["pending", "active"])
    reads = []

    def read():
        reads.append(1)
        return swarm_local({"LocalNodeState": next(states)})

    settled = swarm.wait_while_pending(swarm_local({"LocalNodeState": "pending"}), read, timeout=5, interval=0.01)
    assert settled.state == "active" and len(reads) == 2


def test_pending_that_never_settles_stops_at_the_timeout_and_is_refused():
    start = time.monotonic()
    read = partial(swarm_local, {"LocalNodeState": "pending", "Error": "no leader"})
    still = swarm.wait_while_pending(read(), read, timeout=0.2, interval=0.05)
    assert 0.2 <= time.monotonic() - start < 2
    with pytest.raises(SwarmOpsError, match=r"swarm state 'pending' \(still, after join_timeout\): no leader"):
        still.check_usable("master0")


def test_a_settled_state_is_not_read_again():
    def read():
        raise AssertionError("read again")

    assert swarm.wait_while_pending(swarm_local({"LocalNodeState": "active"}), read, timeout=5).state == "active"


def test_usable_states_pass():
    swarm_local({}).check_usable("h")
    swarm_local({"LocalNodeState": "active"}).check_usable("h")


def test_host_attributes_and_their_labels():
    record = swarm.host_attributes(INFO, "10.0.0.7", {"disk": "ssd", "rack": 3})
    assert record["kernelversion"] == "6.1.0-18-amd64"
    assert record["storagedriver"] == "overlay2"
    assert record["ncpu"] == "2"
    assert record["labels"] == {"disk": "ssd", "rack": "3"}
    labels = swarm.node_labels(record)
    assert labels["swarmops.kernelversion"] == "6.1.0-18-amd64"
    assert labels["swarmops.operatingsystem"] == "Debian GNU/Linux 12 (bookworm)"
    assert labels["disk"] == "ssd"
    assert set(labels) == {f"swarmops.{name}" for name in swarm.ATTRIBUTE_LABELS} | {"disk", "rack"}


def test_records_round_trip_and_bad_ones_name_their_key():
    assert swarm.decode(swarm.encode({"id": "s1"}), "k") == {"id": "s1"}
    assert swarm.decode(None, "k") is None
    with pytest.raises(SwarmOpsError, match="'swarmops/lab/swarm' is not JSON"):
        swarm.decode("{oops", "swarmops/lab/swarm")
    with pytest.raises(SwarmOpsError, match="not a JSON object"):
        swarm.decode("[1]", "swarmops/lab/swarm")


def test_manager_addresses_put_reachable_managers_first():
    entries = {
        "swarmops/lab/managers/master0": json.dumps({"addr": "10.0.0.2:2377", "reachability": "unreachable"}),
        "swarmops/lab/managers/master1": json.dumps({"addr": "10.0.0.3:2377", "reachability": "reachable"}),
        "swarmops/lab/managers/master2": json.dumps({"addr": "", "reachability": "reachable"}),
    }
    assert swarm.manager_addresses(entries) == ["10.0.0.3:2377", "10.0.0.2:2377"]


def test_join_tries_each_address_until_one_answers():
    tried = []

    def join(address):
        tried.append(address)
        if address != "b":
            raise APIError("connection refused")

    assert swarm.join_swarm(join, ["a", "b", "c"], timeout=5, interval=0) == "b"
    assert tried == ["a", "b"]


def test_join_gives_up_naming_every_address_and_error():
    def join(address):
        raise APIError(f"{address} refused")

    with pytest.raises(SwarmOpsError) as caught:
        swarm.join_swarm(join, ["a:2377", "b:2377"], timeout=0, interval=0)
    assert "a:2377: a:2377 refused" in caught.value.msg
    assert "b:2377: b:2377 refused" in caught.value.msg


def test_join_without_published_managers_says_to_run_the_masters():
    with pytest.raises(SwarmOpsError, match="run the masters first"):
        swarm.join_swarm(lambda address: None, [], timeout=5)


def test_manager_entries_from_node_list():
    nodes = [
        {
            "ID": "n1",
            "Description": {"Hostname": "master0"},
            "ManagerStatus": {"Addr": "10.0.0.2:2377", "Reachability": "reachable", "Leader": True},
        },
        {
            "ID": "n2",
            "Description": {"Hostname": "master1"},
            "ManagerStatus": {"Addr": "10.0.0.3:2377", "Reachability": "unreachable"},
        },
        {"ID": "n3", "Description": {}, "ManagerStatus": {}},
    ]
    entries = manager_entries(nodes)
    assert entries == {
        "master0": {"addr": "10.0.0.2:2377", "node_id": "n1", "reachability": "reachable", "leader": True},
        "master1": {"addr": "10.0.0.3:2377", "node_id": "n2", "reachability": "unreachable", "leader": False},
    }


@pytest.mark.parametrize(("total", "warns"), [(0, False), (1, False), (2, True), (3, False), (4, True)])
def test_even_manager_counts_warn(total, warns):
    warning = even_manager_warning(total)
    assert bool(warning) is warns
    if total == 2:
        assert warning == "2 managers tolerate 0 failures, no more than 1 would: use an odd number of managers (3 or 5)"
    if total == 4:
        assert warning == "4 managers tolerate 1 failure, no more than 3 would: use an odd number of managers (3 or 5)"


@pytest.mark.parametrize(
    ("pools", "size", "message"),
    [
        (["10.20.0.0/33"], 24, "'10.20.0.0/33' is not a CIDR network"),
        (["10.20.0.1/16"], 24, "'10.20.0.1/16' is not a CIDR network"),
        (["10.20.0.0/16"], 8, "subnet_size=8 does not fit pool 10.20.0.0/16"),
        (["10.20.0.0/16"], 30, "subnet_size=30 does not fit"),
    ],
)
def test_bad_address_pools(pools, size, message):
    with pytest.raises(SwarmOpsError, match=re.escape(message)):
        validate_pools(pools, size)


def test_good_address_pools():
    validate_pools(["10.20.0.0/16", "10.30.0.0/20"], 24)


# What inspect_swarm()["Spec"] answers on Docker 20.10 (CA settings and all).
SWARM_SPEC = {
    "Name": "default",
    "Labels": {"owner": "ops"},
    "Orchestration": {"TaskHistoryRetentionLimit": 5},
    "Raft": {
        "SnapshotInterval": 10000,
        "KeepOldSnapshots": 0,
        "LogEntriesForSlowFollowers": 500,
        "ElectionTick": 10,
        "HeartbeatTick": 1,
    },
    "Dispatcher": {"HeartbeatPeriod": 5_000_000_000},
    "CAConfig": {"NodeCertExpiry": 7_776_000_000_000_000},
    "TaskDefaults": {},
    "EncryptionConfig": {"AutoLockManagers": False},
}


@pytest.mark.parametrize("value", [None, 1, 2, 5, 3600])
def test_a_heartbeat_in_range_or_omitted_passes(value):
    validate_heartbeat(value)


@pytest.mark.parametrize("value", [0, -5, 3601, "2", 2.5, True])
def test_a_heartbeat_out_of_range_is_refused_naming_the_value_and_the_range(value):
    with pytest.raises(SwarmOpsError) as caught:
        validate_heartbeat(value)
    assert caught.value.msg.startswith(f"dispatcher_heartbeat={value!r} is not a heartbeat period: use 1-3600 seconds")
    assert "Docker's default: 5" in caught.value.msg


def test_a_heartbeat_refusal_names_the_variable_it_is_given():
    with pytest.raises(SwarmOpsError, match=r"^swarm_master_dispatcher_heartbeat=0 "):
        validate_heartbeat(0, "swarm_master_dispatcher_heartbeat")


@pytest.mark.parametrize(
    ("dispatcher", "seconds"),
    [
        ({"HeartbeatPeriod": 5_000_000_000}, 5),
        ({"HeartbeatPeriod": 2_000_000_000}, 2),
        ({"HeartbeatPeriod": 1_500_000_000}, 1.5),
        ({}, None),
        (None, None),
    ],
)
def test_the_heartbeat_is_read_in_seconds(dispatcher, seconds):
    spec = {**SWARM_SPEC, "Dispatcher": dispatcher}
    assert heartbeat_seconds(spec) == seconds
    assert type(heartbeat_seconds(spec)) is type(seconds)


def test_setting_the_heartbeat_changes_that_field_alone_of_a_copy_of_the_full_spec():
    original = json.loads(json.dumps(SWARM_SPEC))
    updated = with_heartbeat(SWARM_SPEC, 2)
    assert updated["Dispatcher"] == {"HeartbeatPeriod": 2_000_000_000}
    assert {key: value for key, value in updated.items() if key != "Dispatcher"} == {
        key: value for key, value in SWARM_SPEC.items() if key != "Dispatcher"
    }
    assert original == SWARM_SPEC, "the spec read from the engine is left as it was"
    assert heartbeat_seconds(updated) == 2
    assert with_heartbeat({"Name": "default"}, 3)["Dispatcher"] == {"HeartbeatPeriod": 3_000_000_000}


def test_a_worker_is_in_our_swarm_when_one_of_its_managers_is_ours():
    published = {"swarmops/lab/managers/master0": json.dumps({"node_id": "m0"})}
    assert same_swarm([{"NodeID": "m0", "Addr": "10.0.0.2:2377"}], published)
    assert not same_swarm([{"NodeID": "other", "Addr": "10.9.0.2:2377"}], published)
    assert not same_swarm([], published)


def test_labels_replace_ours_keep_others_and_forget_removed_user_labels():
    record = swarm.host_attributes(INFO, "10.0.0.7", {"disk": "ssd"})
    current = {"team": "payments", "swarmops.kernelversion": "old", "gpu": "yes", USER_LABELS: "gpu"}
    labels = wanted_labels(current, record)
    assert labels["team"] == "payments"
    assert "gpu" not in labels
    assert labels["disk"] == "ssd"
    assert labels["swarmops.kernelversion"] == "6.1.0-18-amd64"
    assert labels[USER_LABELS] == "disk"
    assert wanted_labels(labels, record) == labels


def test_labels_keep_the_placement_markers_of_swarm_service():
    record = swarm.host_attributes(INFO, "10.0.0.7", {})
    current = {"swarmops.place.hello": "true", "swarmops.kernelversion": "old"}
    labels = wanted_labels(current, record)
    assert labels["swarmops.place.hello"] == "true"
    assert labels["swarmops.kernelversion"] == "6.1.0-18-amd64"


# The one ownership rule, as swarm_manager applies it to its own node (user labels only) and
# swarm_node_labels to every node (with the attribute labels): "before" is a node's labels.
HAND_SET = {"team": "payments"}
MARKER = {"swarmops.place.hello": "true"}


@pytest.mark.parametrize(
    ("before", "inventory", "after"),
    [
        ({**HAND_SET}, {}, {**HAND_SET}),
        ({**HAND_SET}, {"rack": "r1"}, {**HAND_SET, "rack": "r1", USER_LABELS: "rack"}),
        ({**HAND_SET, "rack": "r1", USER_LABELS: "rack"}, {}, {**HAND_SET}),
        (
            {**HAND_SET, "rack": "r1", "disk": "ssd", USER_LABELS: "disk,rack"},
            {"disk": "nvme"},
            {**HAND_SET, "disk": "nvme", USER_LABELS: "disk"},
        ),
        ({**MARKER, "rack": "r1", USER_LABELS: "rack"}, {"rack": 2}, {**MARKER, "rack": "2", USER_LABELS: "rack"}),
        ({**MARKER, **HAND_SET, USER_LABELS: ""}, {}, {**MARKER, **HAND_SET}),
    ],
    ids=["hand-set-kept", "inventory-added", "dropped-removed", "replaced", "markers-untouched", "empty-list"],
)
def test_user_labels_we_own_follow_the_inventory_and_others_stay(before, inventory, after):
    assert with_user_labels(before, inventory) == after
    assert with_user_labels(after, inventory) == after, "a rerun changes nothing"


def test_a_hand_set_label_the_inventory_then_declares_is_ours_from_then_on():
    owned = with_user_labels({"team": "payments"}, {"team": "platform"})
    assert owned == {"team": "platform", USER_LABELS: "team"}
    assert with_user_labels(owned, {}) == {}


def test_both_modules_label_a_manager_alike():
    """swarm_manager (user labels) then swarm_node_labels (its record: attributes and the same user
    labels) agree: the second finds nothing to change, whether a label was added or dropped."""
    current = {**HAND_SET, **MARKER, "rack": "r1", USER_LABELS: "rack"}
    for inventory in ({"rack": "r2", "zone": "a"}, {}):
        by_manager = with_user_labels(current, inventory)
        record = swarm.host_attributes(INFO, "10.0.0.7", inventory)
        by_node_labels = wanted_labels(by_manager, record)
        assert {key: value for key, value in by_node_labels.items() if key in by_manager} == by_manager
        assert wanted_labels(by_node_labels, record) == by_node_labels
        assert with_user_labels(by_node_labels, inventory) == by_node_labels
        assert by_node_labels["team"] == "payments" and by_node_labels["swarmops.place.hello"] == "true"
        current = by_node_labels
    assert "rack" not in current and USER_LABELS not in current


def test_attribute_labels_are_replaced_and_the_others_kept():
    record = swarm.host_attributes(INFO, "10.0.0.7", {"disk": "ssd"})
    current = {**HAND_SET, **MARKER, "swarmops.kernelversion": "5.10", "swarmops.ncpu": "1"}
    labels = wanted_labels(current, record)
    assert labels == {**HAND_SET, **MARKER, **swarm.node_labels(record), USER_LABELS: "disk"}
