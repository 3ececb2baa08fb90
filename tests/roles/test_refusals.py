"""Every input is checked before any change: each bad input below is refused by a check on the
controller, with a message naming the value and what would be valid, and no other task runs.

site.yml's preflight refuses them before the first task that touches a host."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import GROUPS, Ansible

SITE = "playbooks/site.yml"


def refused_by_preflight(ansible: Ansible, *fragments: str, **extra_vars: Any) -> str:
    """Run site.yml with ``extra_vars``: refused in its preflight, before any other play."""
    run = ansible.playbook(SITE, extra_vars=extra_vars or None)
    message = run.refused(*fragments)
    plays_run = {result.task for result in run.results}
    assert "Reach the master" not in plays_run, str(run)
    return message


# ---------------------------------------------------------------- the inventory's groups


@pytest.mark.parametrize("group", ["swarm_masters", "consul_servers"])
def test_an_empty_group_is_refused_naming_the_group_and_the_inventory(ansible: Ansible, group: str):
    inventory = ansible.write_inventory({**GROUPS, group: []})
    refused_by_preflight(ansible, f"no host in group {group}", str(inventory))


def test_a_host_both_master_and_node_is_refused(ansible: Ansible):
    ansible.write_inventory({**GROUPS, "swarm_nodes": ["node0", "master1"]})
    refused_by_preflight(ansible, "master1", "in both groups swarm_masters and swarm_nodes")
