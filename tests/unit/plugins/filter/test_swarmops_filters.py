"""The filters roles use to reach the key layout."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.swarmops.cluster.plugins.filter.swarmops import consul_acl_rules, consul_keys


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
