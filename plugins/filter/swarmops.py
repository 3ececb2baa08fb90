# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that expose the discovery key layout to roles and playbooks, so YAML
never spells a Consul key itself."""

from __future__ import annotations

import re
import uuid
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


def consul_acl_set(
    cluster: str, node_hosts: list[str], secrets: dict[str, str], accessor_namespace: str
) -> dict[str, list[dict[str, Any]]]:
    """Every policy and token of one cluster, as swarmops.cluster.consul_acl takes them: the
    masters', one per node, and DNS on the anonymous token. ``secrets`` maps ``masters`` and
    ``node-<host>`` to the token secrets; accessor IDs are derived from them (uuid5 in
    ``accessor_namespace``, as ansible.builtin.to_uuid does), so reruns address the same tokens."""
    try:
        layout = KeyLayout(cluster)
    except SwarmOpsError as exc:
        raise AnsibleFilterError(exc.msg) from exc
    missing = sorted({"masters", *(f"node-{host}" for host in node_hosts)} - set(secrets))
    if missing:
        raise AnsibleFilterError(f"consul_acl_set: no secret for token(s) {', '.join(missing)}")
    namespace = uuid.UUID(accessor_namespace)
    prefix = f"swarmops-{cluster}"

    def token(name: str, description: str, policy: str) -> dict[str, Any]:
        secret = secrets[name]
        accessor = str(uuid.uuid5(namespace, secret))
        return {"accessor_id": accessor, "secret_id": secret, "description": description, "policies": [policy]}

    policies = [
        {
            "name": f"{prefix}-masters",
            "description": f"swarmops {cluster}: swarm masters",
            "rules": layout.master_rules(),
        }
    ]
    tokens = [token("masters", f"swarmops {cluster}: swarm masters", f"{prefix}-masters")]
    for host in node_hosts:
        name = f"{prefix}-node-{host}"
        policies.append(
            {"name": name, "description": f"swarmops {cluster}: node {host}", "rules": layout.node_rules(host)}
        )
        tokens.append(token(f"node-{host}", f"swarmops {cluster}: node {host}", name))
    policies.append(
        {
            "name": f"{prefix}-dns",
            "description": f"swarmops {cluster}: anonymous DNS lookups of <service>.service.consul",
            "rules": layout.dns_rules(),
        }
    )
    tokens.append({"accessor_id": ANONYMOUS_ACCESSOR, "description": "Anonymous Token", "policies": [f"{prefix}-dns"]})
    return {"policies": policies, "tokens": tokens}


# Consul's built-in anonymous token (DNS queries use it).
ANONYMOUS_ACCESSOR = "00000000-0000-0000-0000-000000000002"

# The cluster table: one line per swarm node; our own bookkeeping labels are left out.
_TABLE_FORMAT = "%-9s %-8s %-11s %-15s %-13s %s"
_TABLE_HIDDEN = re.compile(r"^swarmops\.(memtotal|ncpu|ostype|user-labels|place\..*)$")


def _table_row(node: dict[str, Any]) -> str:
    spec, status = node.get("Spec") or {}, node.get("ManagerStatus") or {}
    labels = {key: value for key, value in (spec.get("Labels") or {}).items() if not _TABLE_HIDDEN.match(key)}
    shown = " ".join(f"{key.removeprefix('swarmops.')}={value}" for key, value in labels.items())
    leader = "leader" if status.get("Leader") else status.get("Reachability", "-")
    state = (node.get("Status") or {}).get("State", "?")
    address = (node.get("Status") or {}).get("Addr", "?")
    hostname = (node.get("Description") or {}).get("Hostname", "?")
    row = (hostname, spec.get("Role", "?"), leader, f"{spec.get('Availability', '?')}/{state}", address, shown)
    return _TABLE_FORMAT % row


def cluster_table(nodes: list[dict[str, Any]]) -> list[str]:
    """The swarm's nodes (as ``docker node inspect`` or community.docker.docker_node_info give them)
    as a table, a header and one line per node by host name: role, leader or reachability,
    availability/state, address and the labels (``swarmops.`` dropped, bookkeeping labels left out)."""
    header = _TABLE_FORMAT % ("NODE", "ROLE", "LEADER", "AVAILABILITY", "ADDRESS", "LABELS")
    rows = sorted(nodes, key=lambda node: (node.get("Description") or {}).get("Hostname", ""))
    return [header, *(_table_row(node).rstrip() for node in rows)]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "cluster_table": cluster_table,
            "consul_keys": consul_keys,
            "consul_acl_rules": consul_acl_rules,
            "consul_acl_set": consul_acl_set,
        }
