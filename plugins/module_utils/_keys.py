# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The discovery key layout in Consul's KV store, in one place.

Every module, role and filter asks this file where a record lives, and which
ACL rules let the masters and the nodes touch exactly their part of it::

    swarmops/<cluster>/swarm              the swarm record (id, creator)
    swarmops/<cluster>/lock               the session lock taken around `swarm init`
    swarmops/<cluster>/managers/<host>    one manager's address and state
    swarmops/<cluster>/join/manager       the manager join token (masters only)
    swarmops/<cluster>/join/worker        the worker join token (masters write, nodes read)
    swarmops/<cluster>/nodes/<host>       a node's advertised attributes (that node writes)
"""

from __future__ import annotations

import re

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError

ROOT = "swarmops"
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?$")
_NAME_RULE = "1-63 characters of a-z, 0-9, '-' and '_', starting and ending with a letter or digit"


def validate_cluster_name(name: str) -> str:
    """Return ``name`` if it is safe as one Consul key segment, else explain why not."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise SwarmOpsError(f"cluster name {name!r} is not allowed in a Consul key: use {_NAME_RULE}")
    return name


def validate_host_name(name: str) -> str:
    if not isinstance(name, str) or not _HOST_RE.match(name):
        raise SwarmOpsError(f"host name {name!r} cannot be a Consul key segment: use letters, digits, '.', '-' and '_'")
    return name


class KeyLayout:
    """Where each record of one cluster lives."""

    def __init__(self, cluster: str) -> None:
        self.cluster = validate_cluster_name(cluster)
        self.prefix = f"{ROOT}/{cluster}/"

    @property
    def swarm(self) -> str:
        return self.prefix + "swarm"

    @property
    def lock(self) -> str:
        return self.prefix + "lock"

    @property
    def managers_prefix(self) -> str:
        return self.prefix + "managers/"

    def manager(self, host: str) -> str:
        return self.managers_prefix + validate_host_name(host)

    @property
    def manager_token(self) -> str:
        return self.prefix + "join/manager"

    @property
    def worker_token(self) -> str:
        return self.prefix + "join/worker"

    @property
    def nodes_prefix(self) -> str:
        return self.prefix + "nodes/"

    def node(self, host: str) -> str:
        return self.nodes_prefix + validate_host_name(host)

    def as_dict(self) -> dict[str, str]:
        return {
            "prefix": self.prefix,
            "swarm": self.swarm,
            "lock": self.lock,
            "managers_prefix": self.managers_prefix,
            "manager_token": self.manager_token,
            "worker_token": self.worker_token,
            "nodes_prefix": self.nodes_prefix,
        }

    def master_rules(self) -> str:
        """ACL rules for a master: all of the cluster's keys, sessions for the init lock, and
        the catalog (nodes and services) where swarm_service registers the service tasks."""
        return (
            f'key_prefix "{self.prefix}" {{\n  policy = "write"\n}}\n'
            'session_prefix "" {\n  policy = "write"\n}\n'
            'node_prefix "" {\n  policy = "write"\n}\n'
            'service_prefix "" {\n  policy = "write"\n}\n'
        )

    @staticmethod
    def dns_rules() -> str:
        """ACL rules for anonymous requests, which is what DNS queries are: read the catalog
        (so that <service>.service.consul answers), never the KV store."""
        return 'node_prefix "" {\n  policy = "read"\n}\nservice_prefix "" {\n  policy = "read"\n}\n'

    def node_rules(self, host: str) -> str:
        """ACL rules for one worker: read what joining needs, write its own record only."""
        return (
            f'key "{self.swarm}" {{\n  policy = "read"\n}}\n'
            f'key_prefix "{self.managers_prefix}" {{\n  policy = "read"\n}}\n'
            f'key "{self.worker_token}" {{\n  policy = "read"\n}}\n'
            f'key "{self.node(host)}" {{\n  policy = "write"\n}}\n'
        )
