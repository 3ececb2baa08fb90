"""The discovery key layout and the ACL rules derived from it."""

from __future__ import annotations

import re

import pytest

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._keys import KeyLayout, validate_cluster_name


@pytest.mark.parametrize("name", ["lab", "prod-eu_1", "a", "x" * 63])
def test_valid_cluster_names(name):
    assert validate_cluster_name(name) == name


@pytest.mark.parametrize("name", ["", "Lab", "a/b", "a b", "-lab", "lab-", "x" * 64, "läb", "a..b"])
def test_invalid_cluster_names_name_the_value_and_the_rule(name):
    with pytest.raises(SwarmOpsError) as caught:
        validate_cluster_name(name)
    assert repr(name) in caught.value.msg
    assert "a-z, 0-9" in caught.value.msg


def test_every_key_lives_under_the_cluster_prefix():
    layout = KeyLayout("lab")
    keys = layout.as_dict()
    assert keys["prefix"] == "swarmops/lab/"
    assert all(value.startswith("swarmops/lab/") for value in keys.values())
    assert layout.node("node0") == "swarmops/lab/nodes/node0"
    assert layout.manager("master1") == "swarmops/lab/managers/master1"
    assert len(set(keys.values())) == len(keys)


def test_host_names_that_would_escape_their_key_are_refused():
    with pytest.raises(SwarmOpsError, match=re.escape("'../x'")):
        KeyLayout("lab").node("../x")


def test_master_rules_write_the_whole_prefix():
    rules = KeyLayout("lab").master_rules()
    assert 'key_prefix "swarmops/lab/" {\n  policy = "write"' in rules
    assert 'session_prefix ""' in rules


def test_node_rules_never_reach_the_manager_token_and_write_only_their_record():
    layout = KeyLayout("lab")
    rules = layout.node_rules("node1")
    assert layout.manager_token not in rules
    assert f'key "{layout.worker_token}" {{\n  policy = "read"' in rules
    assert f'key "{layout.node("node1")}" {{\n  policy = "write"' in rules
    assert rules.count('"write"') == 1
    assert f'key_prefix "{layout.prefix}"' not in rules


def test_dns_rules_read_the_catalog_and_never_the_kv_store():
    rules = KeyLayout.dns_rules()
    assert 'service_prefix "" {\n  policy = "read"' in rules
    assert 'node_prefix "" {\n  policy = "read"' in rules
    assert "key" not in rules
    assert "write" not in rules
