# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that expose the discovery key layout to roles and playbooks, so YAML
never spells a Consul key itself."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._keys import KeyLayout


def consul_keys(cluster: str) -> dict[str, str]:
    """All keys and prefixes of one cluster's records."""
    try:
        return KeyLayout(cluster).as_dict()
    except SwarmOpsError as exc:
        raise AnsibleFilterError(exc.msg) from exc


def consul_acl_rules(cluster: str, role: str, host: str | None = None) -> str:
    """ACL rules (HCL) for ``role`` V(master), V(dns) or V(node) (the latter for one ``host``)."""
    try:
        layout = KeyLayout(cluster)
        if role == "master":
            return layout.master_rules()
        if role == "dns":
            return layout.dns_rules()
        if role == "node" and host:
            return layout.node_rules(host)
    except SwarmOpsError as exc:
        raise AnsibleFilterError(exc.msg) from exc
    raise AnsibleFilterError(f"consul_acl_rules: role {role!r} is not one of 'master', 'dns' or 'node' (with a host)")


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"consul_keys": consul_keys, "consul_acl_rules": consul_acl_rules}
