"""The filters roles use to reach the key layout."""

from __future__ import annotations

import uuid

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.swarmops.cluster.plugins.filter.swarmops import (
    cluster_table,
    consul_acl_rules,
    consul_acl_set,
    consul_keys,
)


def test_consul_keys_exposes_the_layout():
    assert consul_keys("lab")["worker_token"] == "swarmops/lab/join/worker"


def test_bad_cluster_name_is_a_filter_error_naming_it():
    with pytest.raises(AnsibleFilterError, match="'bad/name'"):
        consul_keys("bad/name")


def test_rules_by_role():
    assert 'key_prefix "swarmops/lab/"' in consul_acl_rules("lab", "master")
    assert 'key "swarmops/lab/nodes/node2"' in consul_acl_rules("lab", "node", "node2")
    with pytest.raises(AnsibleFilterError, match="'worker'"):
        consul_acl_rules("lab", "worker")


NAMESPACE = "0c5d3ae1-6f0e-4d57-9a55-3f1c0ab7e1f0"
SECRETS = {
    "masters": "11111111-1111-4111-8111-111111111111",
    "node-node0": "22222222-2222-4222-8222-222222222222",
}


def test_acl_set_holds_every_policy_and_token_of_the_cluster():
    acl = consul_acl_set("lab", ["node0"], SECRETS, NAMESPACE)
    assert [policy["name"] for policy in acl["policies"]] == [
        "swarmops-lab-masters",
        "swarmops-lab-node-node0",
        "swarmops-lab-dns",
    ]
    masters, node0, anonymous = acl["tokens"]
    # The accessor ID is the one ansible.builtin.to_uuid(namespace=...) derives from the secret.
    assert masters["accessor_id"] == str(uuid.uuid5(uuid.UUID(NAMESPACE), SECRETS["masters"]))
    assert (node0["policies"], node0["description"]) == (["swarmops-lab-node-node0"], "swarmops lab: node node0")
    assert anonymous == {
        "accessor_id": "00000000-0000-0000-0000-000000000002",
        "description": "Anonymous Token",
        "policies": ["swarmops-lab-dns"],
    }
    assert 'key "swarmops/lab/nodes/node0"' in acl["policies"][1]["rules"]


def test_acl_set_refuses_a_missing_secret_naming_the_token():
    with pytest.raises(AnsibleFilterError, match=r"no secret for token\(s\) node-node1"):
        consul_acl_set("lab", ["node0", "node1"], SECRETS, NAMESPACE)


def _node(hostname, role, state, addr, labels, *, manager=None):
    node = {
        "Description": {"Hostname": hostname},
        "Spec": {"Role": role, "Availability": "drain" if manager else "active", "Labels": labels},
        "Status": {"State": state, "Addr": addr},
    }
    if manager is not None:
        node["ManagerStatus"] = manager
    return node


def test_cluster_table_sorts_nodes_shows_leadership_and_hides_bookkeeping_labels():
    nodes = [
        _node(
            "node0",
            "worker",
            "ready",
            "10.0.0.6",
            {"swarmops.ncpu": "2", "swarmops.place.hello": "true", "swarmops.storagedriver": "overlay2", "team": "pay"},
        ),
        _node("master1", "manager", "down", "10.0.0.4", {}, manager={"Reachability": "unreachable"}),
        _node("master0", "manager", "ready", "10.0.0.3", {}, manager={"Leader": True, "Reachability": "reachable"}),
    ]
    header, *rows = cluster_table(nodes)
    assert header.split() == ["NODE", "ROLE", "LEADER", "AVAILABILITY", "ADDRESS", "LABELS"]
    assert [row.split() for row in rows] == [
        ["master0", "manager", "leader", "drain/ready", "10.0.0.3"],
        ["master1", "manager", "unreachable", "drain/down", "10.0.0.4"],
        ["node0", "worker", "-", "active/ready", "10.0.0.6", "storagedriver=overlay2", "team=pay"],
    ]
