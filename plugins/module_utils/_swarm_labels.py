# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the node records in Consul into Swarm node labels, from a manager, so that
services can be placed by kernel version, storage driver, OS or any user label."""

from __future__ import annotations

from functools import partial
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._keys import KeyLayout
from ansible_collections.swarmops.cluster.plugins.module_utils._module import SwarmOpsModule
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm import (
    LABEL_PREFIX,
    attribute_labels,
    decode,
)

USER_LABELS = LABEL_PREFIX + "user-labels"
LABELS_OPTIONS: dict[str, dict[str, Any]] = {"cluster": {"type": "str", "required": True}}


def with_user_labels(
    current: dict[str, str], user_labels: dict[str, Any], ours: dict[str, str] | None = None
) -> dict[str, str]:
    """The one ownership rule of the modules that label nodes (swarm_node_labels, swarm_manager): a
    node's labels after setting ``user_labels`` (the inventory's) and ``ours`` (labels the module owns
    outright, such as the attribute labels).

    The user labels set before, which ``swarmops.user-labels`` lists, are replaced by ``user_labels``: one
    dropped from the inventory goes. The keys of ``ours`` are replaced. Every other label is kept: set by
    hand (docker node update --label-add), or swarm_service's placement markers (``swarmops.place.*``).
    ``swarmops.user-labels`` then lists the user keys set, and is absent when there are none."""
    ours = ours or {}
    user = {str(key): str(value) for key, value in user_labels.items()}
    owned = set(ours) | {USER_LABELS, *filter(None, current.get(USER_LABELS, "").split(","))}
    labels = {key: value for key, value in current.items() if key not in owned}
    labels.update(ours)
    labels.update(user)
    if user:
        labels[USER_LABELS] = ",".join(sorted(user))
    return labels


def wanted_labels(current: dict[str, str], record: dict[str, Any]) -> dict[str, str]:
    """The node's labels after applying its node ``record``: its attribute labels and user labels, by
    the rule of ``with_user_labels``."""
    return with_user_labels(current, record.get("labels") or {}, attribute_labels(record))


class NodeLabels(SwarmOpsModule):
    def run(self) -> dict[str, Any]:
        layout = KeyLayout(self.params["cluster"])
        nodes = {
            node["ID"]: node
            for node in self.call("list the swarm's nodes (is this host a manager?)", self.docker.api.nodes)
        }
        records = self.consul.kv_list(layout.nodes_prefix)
        if nodes and not records:
            raise SwarmOpsError(
                f"no node record is readable under {layout.nodes_prefix} in Consul at {self.consul.endpoint.url}, "
                f"but the swarm has {len(nodes)} node(s): the token may lack read access to that prefix (use the "
                "masters' token), or no host has run swarm_manager or swarm_agent for cluster "
                f"{layout.cluster!r}"
            )
        labelled = {}
        recorded_ids = set()
        for key, value in sorted(records.items()):
            record = decode(value, key) or {}
            host = key[len(layout.nodes_prefix) :]
            node = nodes.get(record.get("node_id", ""))
            if node is None:
                self.warn(f"{key} names node {record.get('node_id')!r}, which is not in the swarm")
                continue
            recorded_ids.add(node["ID"])
            current = dict(node["Spec"].get("Labels") or {})
            labelled[host] = wanted_labels(current, record)
            self.act(
                host,
                current,
                labelled[host],
                f"set the labels of {host}",
                partial(self.update_node, node["ID"], f"update the labels of node {host}", partial(_relabel, record)),
            )
        for node_id in sorted(set(nodes) - recorded_ids):
            hostname = (nodes[node_id].get("Description") or {}).get("Hostname", node_id)
            self.warn(f"swarm node {hostname} has no record under {layout.nodes_prefix}: its labels are left alone")
        return self.result(labels=labelled)


def _relabel(record: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The node spec with the labels of ``record`` applied (to the spec as read just before the update)."""
    return {**spec, "Labels": wanted_labels(dict(spec.get("Labels") or {}), record)}
