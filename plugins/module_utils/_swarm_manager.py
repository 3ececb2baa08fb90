# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make this host a manager of the cluster whose record lives in Consul: init the
swarm under a session lock when there is no record, join it when there is one,
and keep the published manager list and join tokens current."""

from __future__ import annotations

import copy
import ipaddress
import time
from functools import partial
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError, fingerprint
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import retry_out_of_sequence
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm import (
    SWARM_MEMBER_OPTIONS,
    SWARM_PORT,
    SwarmMember,
    decode,
    encode,
    manager_addresses,
    validate_positive,
)
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_labels import with_user_labels

MANAGER_OPTIONS: dict[str, dict[str, Any]] = {
    **SWARM_MEMBER_OPTIONS,
    "availability": {"type": "str", "default": "drain", "choices": ["active", "pause", "drain"]},
    "default_addr_pool": {"type": "list", "elements": "str", "default": []},
    "subnet_size": {"type": "int", "default": 24},
    "lock_timeout": {"type": "int", "default": 60},
    # Seconds; None leaves the swarm's setting alone.
    "dispatcher_heartbeat": {"type": "int"},
}
# Swarm's node-failure detection period: a node is marked down about three missed heartbeats after
# its last one. Docker's default is 5 s; the API counts in nanoseconds.
HEARTBEAT_RANGE = (1, 3600)
DOCKER_DEFAULT_HEARTBEAT = 5
NANOSECONDS = 1_000_000_000


def manager_argument_spec() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(MANAGER_OPTIONS)


def validate_pools(pools: list[str], subnet_size: int) -> None:
    for pool in pools:
        try:
            network = ipaddress.ip_network(pool, strict=True)
        except ValueError as exc:
            raise SwarmOpsError(
                f"default_addr_pool entry {pool!r} is not a CIDR network such as 10.20.0.0/16: {exc}"
            ) from exc
        if subnet_size < network.prefixlen or subnet_size > 29:
            raise SwarmOpsError(f"subnet_size={subnet_size} does not fit pool {pool}: use {network.prefixlen} to 29")


def validate_heartbeat(value: Any, option: str = "dispatcher_heartbeat") -> None:
    """Refuse a heartbeat period outside HEARTBEAT_RANGE (whole seconds), before any change; None
    (leave the swarm's setting alone) passes."""
    if value is None:
        return
    low, high = HEARTBEAT_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SwarmOpsError(
            f"{option}={value!r} is not a heartbeat period: use {low}-{high} seconds (Docker's default: "
            f"{DOCKER_DEFAULT_HEARTBEAT}; a node is marked down about three missed heartbeats after its last one)"
        )


def heartbeat_seconds(spec: dict[str, Any]) -> int | float | None:
    """The dispatcher heartbeat period of a swarm spec in seconds (whole when it is), None when unset."""
    period = (spec.get("Dispatcher") or {}).get("HeartbeatPeriod")
    if period is None:
        return None
    seconds = period / NANOSECONDS
    return int(seconds) if seconds.is_integer() else seconds


def with_heartbeat(spec: dict[str, Any], seconds: int) -> dict[str, Any]:
    """A copy of the full swarm spec with only the dispatcher heartbeat period changed: Swarm's update
    takes the whole spec, and any field left out would be reset."""
    updated = copy.deepcopy(spec)
    updated["Dispatcher"] = {**(updated.get("Dispatcher") or {}), "HeartbeatPeriod": seconds * NANOSECONDS}
    return updated


def manager_entries(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The managers/<host> records for the manager nodes of ``docker node ls``."""
    entries = {}
    for node in nodes:
        status = node.get("ManagerStatus") or {}
        if not status.get("Addr"):
            continue  # still joining: it has no address to publish yet
        hostname = (node.get("Description") or {}).get("Hostname") or node["ID"]
        entries[hostname] = {
            "addr": status.get("Addr", ""),
            "node_id": node["ID"],
            "reachability": status.get("Reachability", "unknown"),
            "leader": bool(status.get("Leader")),
        }
    return entries


def tolerated_failures(total: int) -> int:
    """How many managers of ``total`` may fail with the rest keeping quorum (a majority)."""
    return max(total - (total // 2 + 1), 0)


def even_manager_warning(total: int) -> str | None:
    if total > 0 and total % 2 == 0:
        tolerated = tolerated_failures(total)
        return (
            f"{total} managers tolerate {tolerated} failure{'' if tolerated == 1 else 's'}, no more than "
            f"{total - 1} would: use an odd number of managers (3 or 5)"
        )
    return None


class SwarmManager(SwarmMember):
    def __init__(self, params: dict[str, Any], check_mode: bool, **clients: Any) -> None:
        super().__init__(params, check_mode, **clients)
        # The swarm's managers as published in this run (docker node ls), by host name.
        self.managers: dict[str, dict[str, Any]] = {}

    def run(self) -> dict[str, Any]:
        validate_pools(self.params["default_addr_pool"], self.params["subnet_size"])
        validate_positive(self.params, "lock_timeout")
        validate_heartbeat(self.params["dispatcher_heartbeat"])
        record = self.swarm_record()
        before_swarm = self.local.cluster_id if self.local.active else None
        was_manager = self.local.is_manager
        if self.params["dispatcher_heartbeat"] is not None and not was_manager:
            # Not a manager yet: the swarm's setting is not readable here, and it is this run that
            # brings the host to it (init passes it; a joiner compares once it is a manager).
            self.diff.add("dispatcher_heartbeat", None, self.params["dispatcher_heartbeat"])
        if self.local.active:
            record = self._check_membership(record)
        elif record is None:
            record = self._init_or_join()
        else:
            self._join_as_manager(record)
        if self.local.active and not self.check_mode:
            self._check_joined(record)
        self.diff.add("swarm_id", before_swarm, record["id"] if record else None)
        self.diff.add("manager", was_manager, True)
        if self.local.is_manager:
            self._dispatcher_heartbeat()
            self._publish_cluster_state()
        self._own_node()
        self.publish_node_record()
        return self._result(record)

    def _check_membership(self, record: dict[str, Any] | None) -> dict[str, Any] | None:
        if not self.local.is_manager:
            raise SwarmOpsError(
                f"{self.host} is a worker of a swarm, not a manager: promote it from a manager "
                f"(docker node promote {self.host}) or make it leave that swarm, then run again"
            )
        if record is not None and record["id"] != self.local.cluster_id:
            raise SwarmOpsError(
                f"{self.host} is a manager of swarm {self.local.cluster_id}, but cluster "
                f"{self.layout.cluster!r} in Consul is swarm {record['id']}: refusing to leave a swarm "
                "silently. Make the host leave its swarm by hand, or use the cluster name of its swarm."
            )
        if record is None:
            return self._locked(self._publish_new_record)
        return record

    def _init_or_join(self) -> dict[str, Any] | None:
        if self.check_mode:
            self.perform(f"initialise a new swarm on {self.host} and publish it in Consul")
            return None
        record = self._locked(self._init)
        if not self.local.active:
            # Another master published the swarm while this one waited for the lock.
            self._join_as_manager(record)
        return record

    def _locked(self, action: Any) -> dict[str, Any] | None:
        """The cluster's record: found while holding the init lock, else made by ``action`` under it;
        while another master holds the lock, wait for the record that master publishes."""
        if self.check_mode:
            self.act(
                "swarm_record",
                None,
                {"id": self.local.cluster_id, "created_by": self.host},
                f"publish swarm {self.local.cluster_id} of {self.host} in Consul",
            )
            return None
        deadline = time.monotonic() + self.params["lock_timeout"]
        while True:
            session = self.consul.lock(self.layout.lock, self.host)
            if session:
                try:
                    record = self.swarm_record()
                    return record if record is not None else action()
                finally:
                    self.consul.unlock(self.layout.lock, session)
            record = self.swarm_record()
            if record is not None:
                return record
            if time.monotonic() >= deadline:
                raise SwarmOpsError(
                    f"another master holds the init lock {self.layout.lock} in Consul and published no swarm "
                    f"within {self.params['lock_timeout']}s; check that master's run"
                )
            time.sleep(0.5)

    def _init(self) -> dict[str, Any]:
        params = self.params
        heartbeat = params["dispatcher_heartbeat"]
        # Init merges a partial spec with Swarm's defaults: only the options we set are given.
        swarm_spec = None
        if heartbeat is not None:
            swarm_spec = self.docker.api.create_swarm_spec(dispatcher_heartbeat_period=heartbeat * NANOSECONDS)
        self.perform(
            f"initialise a new swarm on {self.host}",
            partial(
                self.call,
                f"initialise a swarm on {self.host}",
                self.docker.api.init_swarm,
                advertise_addr=self.advertise_addr,
                listen_addr=params["listen_addr"],
                default_addr_pool=params["default_addr_pool"] or None,
                subnet_size=params["subnet_size"] if params["default_addr_pool"] else None,
                data_path_addr=self.data_path_addr,
                swarm_spec=swarm_spec,
            ),
        )
        self.refresh()
        return self._publish_new_record()

    def _publish_new_record(self) -> dict[str, Any]:
        """Tokens and managers first, the swarm record last: joiners find all they need."""
        self._publish_cluster_state()
        record = {"id": self.local.cluster_id, "created_by": self.host, "created_at": int(time.time())}
        self.act(
            "swarm_record",
            None,
            record,
            f"publish swarm record {self.layout.swarm} (swarm {self.local.cluster_id})",
            partial(self._put_new_record, record),
        )
        return record

    def _put_new_record(self, record: dict[str, Any]) -> None:
        if not self.consul.kv_put(self.layout.swarm, encode(record), cas=0):
            raise SwarmOpsError(f"another master published {self.layout.swarm} while {self.host} held the lock")

    def _join_as_manager(self, record: dict[str, Any]) -> None:
        addresses = manager_addresses(self.consul.kv_list(self.layout.managers_prefix))
        self.perform(
            f"join swarm {record['id']} as a manager through one of {addresses}",
            partial(self._join_with, self.layout.manager_token, addresses),
        )

    def _join_with(self, token_key: str, addresses: list[str]) -> str:
        token = self.consul.kv_get(token_key)
        if not token:
            raise SwarmOpsError(
                f"the manager join token {token_key} is missing in Consul; run swarm_manager "
                "on a master that is a member of the swarm to publish it"
            )
        return self.join(token, addresses)

    def _check_joined(self, record: dict[str, Any] | None) -> None:
        if record is not None and self.local.cluster_id != record["id"]:
            raise SwarmOpsError(
                f"{self.host} joined swarm {self.local.cluster_id}, not {record['id']} as recorded in Consul; "
                "a published manager address belongs to another swarm"
            )

    def _dispatcher_heartbeat(self) -> None:
        """The swarm's dispatcher heartbeat period (diff field ``dispatcher_heartbeat``, seconds), when
        the option is given and the swarm's differs: only that field of the spec is changed."""
        wanted = self.params["dispatcher_heartbeat"]
        if wanted is None:
            return
        current = heartbeat_seconds(self.call("inspect the swarm", self.docker.api.inspect_swarm)["Spec"])
        self.act(
            "dispatcher_heartbeat",
            current,
            wanted,
            f"set the swarm's dispatcher heartbeat to {wanted}s (was {'unset' if current is None else f'{current}s'})",
            partial(self._update_heartbeat, wanted),
        )

    def _update_heartbeat(self, wanted: int) -> None:
        """Write the heartbeat into the swarm's current full spec at its version. Several masters run this
        at once with the same value: one writes, the others' writes are out of sequence and, read again,
        find the value set and write nothing."""
        api = self.docker.api

        def write(swarm: dict[str, Any]) -> None:
            if heartbeat_seconds(swarm["Spec"]) == wanted:
                self.warn(f"another manager set the swarm's dispatcher heartbeat to {wanted}s meanwhile")
                return
            api.update_swarm(version=swarm["Version"]["Index"], swarm_spec=with_heartbeat(swarm["Spec"], wanted))

        retry_out_of_sequence("update the swarm's dispatcher heartbeat", api.inspect_swarm, write)

    def _publish_cluster_state(self) -> None:
        """Join tokens and the manager list, written only where they differ (diff fields
        ``join_token.<role>`` as fingerprints, ``managers.<host>``)."""
        tokens = self.call("inspect the swarm", self.docker.api.inspect_swarm).get("JoinTokens", {})
        for role, key, token in (
            ("manager", self.layout.manager_token, tokens.get("Manager")),
            ("worker", self.layout.worker_token, tokens.get("Worker")),
        ):
            if token:
                self.act(
                    f"join_token.{role}",
                    fingerprint(self.consul.kv_get(key)),
                    fingerprint(token),
                    f"publish the join token {key}",
                    partial(self.consul.kv_put, key, token),
                )
        self.managers = manager_entries(
            self.call("list the swarm's managers", self.docker.api.nodes, filters={"role": "manager"})
        )
        published = self.consul.kv_list(self.layout.managers_prefix)
        for hostname, entry in self.managers.items():
            key = self.layout.manager(hostname)
            self.act(
                f"managers.{hostname}",
                decode(published.get(key), key),
                entry,
                f"publish manager {hostname} ({entry['reachability']})",
                partial(self.consul.kv_put, key, encode(entry)),
            )
        current = {self.layout.manager(hostname) for hostname in self.managers}
        for key in sorted(set(published) - current):
            self.act(
                f"managers.{key.rsplit('/', 1)[-1]}",
                decode(published[key], key),
                None,
                f"remove {key}: no longer a manager of the swarm",
                partial(self.consul.kv_delete, key),
            )

    def _own_node(self) -> None:
        """Availability and user labels of this manager's own node; the labels by swarm_node_labels's
        ownership rule (``with_user_labels``): a label set by hand stays, one dropped from ``labels`` goes."""
        wanted_availability = self.params["availability"]
        if not self.local.active:
            self.diff.add("availability", None, wanted_availability)
            return
        node = self.call(f"inspect node {self.host}", self.docker.api.inspect_node, self.local.node_id)
        spec = node["Spec"]
        labels = dict(spec.get("Labels") or {})
        wanted_labels = with_user_labels(labels, self.params["labels"])
        self.diff.add("availability", spec.get("Availability"), wanted_availability)
        self.diff.add("labels", labels, wanted_labels)
        if spec.get("Availability") == wanted_availability and labels == wanted_labels:
            return

        def change(current: dict[str, Any]) -> dict[str, Any]:
            relabelled = with_user_labels(dict(current.get("Labels") or {}), self.params["labels"])
            return {**current, "Availability": wanted_availability, "Labels": relabelled}

        self.perform(
            f"set {self.host} availability={wanted_availability} and its labels",
            partial(self.update_node, self.local.node_id, f"update node {self.host}", change),
        )

    def _result(self, record: dict[str, Any] | None) -> dict[str, Any]:
        managers = self.managers
        reachable = [name for name, entry in managers.items() if entry["reachability"] == "reachable"]
        for name, entry in sorted(managers.items()):
            if entry["reachability"] != "reachable":
                self.warn(f"manager {name} ({entry['addr']}) is {entry['reachability']}")
        warning = even_manager_warning(len(managers))
        if warning:
            self.warn(warning)
        leader = next((entry["addr"] for entry in managers.values() if entry["leader"]), None)
        created_by = (record or {}).get("created_by")
        return self.result(
            node_id=self.local.node_id or None,
            swarm_id=(record or {}).get("id"),
            role="primary" if created_by == self.host else "secondary",
            leader=leader,
            managers={
                "reachable": len(reachable),
                "total": len(managers),
                "unreachable": sorted(set(managers) - set(reachable)),
            },
            advertise_addr=f"{self.advertise_addr}:{SWARM_PORT}",
        )
