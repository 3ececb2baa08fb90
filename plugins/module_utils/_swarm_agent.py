# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make this host a worker of the cluster, knowing only the Consul address and its
own token: the manager addresses and the worker token come from Consul, and the
host's attributes go back to its node record."""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm import (
    SWARM_MEMBER_OPTIONS,
    SwarmMember,
    decode,
    manager_addresses,
)


def agent_argument_spec() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(SWARM_MEMBER_OPTIONS)


def same_swarm(remote_managers: list[dict[str, str]], published: dict[str, str]) -> bool:
    """A worker cannot read its swarm's id: it is in ours if one of its managers is ours."""
    ours = {(decode(value, key) or {}).get("node_id") for key, value in published.items()}
    return any(manager.get("NodeID") in ours for manager in remote_managers)


class SwarmAgent(SwarmMember):
    #: The manager address the join went through, when this run joined.
    joined_via: str | None = None

    def run(self) -> dict[str, Any]:
        record = self.swarm_record()
        if record is None:
            raise SwarmOpsError(
                f"no swarm is published for cluster {self.layout.cluster!r} (key {self.layout.swarm} in Consul at "
                f"{self.consul.endpoint.url}): run the masters first (playbooks/site.yml runs swarm_masters "
                "before swarm_nodes)"
            )
        published = self.consul.kv_list(self.layout.managers_prefix)
        self.act(
            "swarm_id",
            self._current_swarm(record, published),
            record["id"],
            f"join swarm {record['id']} as a worker through one of {manager_addresses(published)}",
            partial(self._join, published),
        )
        self.publish_node_record()
        return self.result(node_id=self.local.node_id or None, swarm_id=record["id"], joined_via=self.joined_via)

    def _current_swarm(self, record: dict[str, Any], published: dict[str, str]) -> str | None:
        if not self.local.active:
            return None
        if self.local.is_manager:
            raise SwarmOpsError(
                f"{self.host} is a swarm manager; swarm_agent only makes workers. Use swarm_manager for it, "
                "or demote it first"
            )
        if not same_swarm(self.local.remote_managers, published):
            theirs = ", ".join(manager.get("Addr", "?") for manager in self.local.remote_managers) or "unknown"
            raise SwarmOpsError(
                f"{self.host} is a worker of another swarm (its managers: {theirs}), not of swarm {record['id']} "
                f"of cluster {self.layout.cluster!r}: refusing to leave it silently. Make it leave by hand "
                "(docker swarm leave) and run again."
            )
        return record["id"]

    def _join(self, published: dict[str, str]) -> None:
        token = self.consul.kv_get(self.layout.worker_token)
        if not token:
            raise SwarmOpsError(
                f"the worker join token {self.layout.worker_token} is missing in Consul: run the masters first"
            )
        self.joined_via = self.join(token, manager_addresses(published))
