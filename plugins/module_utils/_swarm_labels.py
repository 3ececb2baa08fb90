# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the node records in Consul into Swarm node labels, from a manager, so that
services can be placed by kernel version, storage driver, OS or any user label."""

from __future__ import annotations

from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import Differences
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import APIError, docker_client, docker_error
from ansible_collections.swarmops.cluster.plugins.module_utils._keys import KeyLayout
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm import (
    ATTRIBUTE_LABELS,
    LABEL_PREFIX,
    consul_for,
    decode,
    node_labels,
)

USER_LABELS = LABEL_PREFIX + "user-labels"
LABELS_OPTIONS: dict[str, dict[str, Any]] = {"cluster": {"type": "str", "required": True}}


def wanted_labels(current: dict[str, str], record: dict[str, Any]) -> dict[str, str]:
    """The node's labels after applying ``record``: the attribute labels and the user labels we
    set before are replaced; all others are kept (swarm_service's placement markers among them).
    ``swarmops.user-labels`` remembers the user keys we own."""
    owned = {LABEL_PREFIX + name for name in ATTRIBUTE_LABELS} | {USER_LABELS}
    owned |= set(filter(None, current.get(USER_LABELS, "").split(",")))
    labels = {key: value for key, value in current.items() if key not in owned}
    labels.update(node_labels(record))
    user_keys = sorted((record.get("labels") or {}).keys())
    if user_keys:
        labels[USER_LABELS] = ",".join(user_keys)
    return labels


class NodeLabels:
    def __init__(self, params: dict[str, Any], check_mode: bool, docker: Any, consul: Any) -> None:
        self.layout = KeyLayout(params["cluster"])
        self.check_mode = check_mode
        self.docker = docker
        self.consul = consul
        self.actions: list[str] = []
        self.warnings: list[str] = []

    def run(self) -> dict[str, Any]:
        records = self.consul.kv_list(self.layout.nodes_prefix)
        try:
            nodes = {node["ID"]: node for node in self.docker.api.nodes()}
        except APIError as exc:
            raise docker_error("list the swarm's nodes (is this host a manager?)", exc) from exc
        diff = Differences()
        labelled = {}
        for key, value in sorted(records.items()):
            record = decode(value, key) or {}
            host = key[len(self.layout.nodes_prefix) :]
            node = nodes.get(record.get("node_id", ""))
            if node is None:
                self.warnings.append(f"{key} names node {record.get('node_id')!r}, which is not in the swarm")
                continue
            current = dict(node["Spec"].get("Labels") or {})
            wanted = wanted_labels(current, record)
            diff.add(host, current, wanted)
            labelled[host] = wanted
            if current != wanted:
                self._update(host, node, wanted)
        return {
            "changed": diff.changed,
            "actions": self.actions,
            "changes": diff.changes,
            "diff": diff.diff,
            "labels": labelled,
            "warnings": self.warnings,
        }

    def _update(self, host: str, node: dict[str, Any], labels: dict[str, str]) -> None:
        self.actions.append(f"set the labels of {host}")
        if self.check_mode:
            return
        try:
            self.docker.api.update_node(node["ID"], node["Version"]["Index"], {**node["Spec"], "Labels": labels})
        except APIError as exc:
            raise docker_error(f"update the labels of node {host}", exc) from exc


def manage(module: Any) -> dict[str, Any]:
    params = module.params
    return NodeLabels(params, module.check_mode, docker_client(params), consul_for(params)).run()
