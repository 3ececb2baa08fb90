# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the swarm modules share: this engine's swarm membership, the records the
cluster keeps in Consul, the host attributes a node advertises, and joining."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import APIError
from ansible_collections.swarmops.cluster.plugins.module_utils._keys import KeyLayout
from ansible_collections.swarmops.cluster.plugins.module_utils._module import SwarmOpsModule
from ansible_collections.swarmops.cluster.plugins.module_utils._net import (
    default_route_interface,
    host_interfaces,
    resolve_address,
)

SWARM_PORT = 2377
# Node label names for the attributes a host advertises (classic Swarm's filter names).
ATTRIBUTE_LABELS = (
    "operatingsystem",
    "ostype",
    "kernelversion",
    "storagedriver",
    "architecture",
    "ncpu",
    "memtotal",
    "engineversion",
)
LABEL_PREFIX = "swarmops."

SWARM_MEMBER_OPTIONS: dict[str, dict[str, Any]] = {
    "cluster": {"type": "str", "required": True},
    "advertise_addr": {"type": "str"},
    "listen_addr": {"type": "str", "default": f"0.0.0.0:{SWARM_PORT}"},
    "data_path_addr": {"type": "str"},
    "labels": {"type": "dict", "default": {}},
    "join_timeout": {"type": "int", "default": 60},
}


class LocalSwarm:
    """This engine's view of its swarm membership (``docker info``'s Swarm section)."""

    def __init__(self, info: dict[str, Any]) -> None:
        swarm = info.get("Swarm") or {}
        self.state: str = swarm.get("LocalNodeState") or "inactive"
        self.node_id: str = swarm.get("NodeID") or ""
        self.is_manager: bool = bool(swarm.get("ControlAvailable"))
        self.cluster_id: str | None = (swarm.get("Cluster") or {}).get("ID")
        self.remote_managers: list[dict[str, str]] = swarm.get("RemoteManagers") or []
        self.error: str = swarm.get("Error") or ""

    @property
    def active(self) -> bool:
        return self.state == "active"

    def check_usable(self, host: str) -> None:
        """Fail on states no module may paper over (pending, error, locked)."""
        if self.state not in ("active", "inactive"):
            detail = f": {self.error}" if self.error else ""
            waited = " (still, after join_timeout)" if self.state == "pending" else ""
            raise SwarmOpsError(
                f"the Docker engine on {host} is in swarm state {self.state!r}{waited}{detail}; resolve it by hand "
                "(docker swarm unlock, or docker swarm leave --force) and run again"
            )


def host_attributes(info: dict[str, Any], address: str, labels: dict[str, Any]) -> dict[str, Any]:
    """The attributes a host advertises in its node record (values as Swarm labels take them)."""
    return {
        "hostname": info.get("Name", ""),
        "address": address,
        "operatingsystem": info.get("OperatingSystem", ""),
        "ostype": info.get("OSType", ""),
        "kernelversion": info.get("KernelVersion", ""),
        "storagedriver": info.get("Driver", ""),
        "architecture": info.get("Architecture", ""),
        "ncpu": str(info.get("NCPU", "")),
        "memtotal": str(info.get("MemTotal", "")),
        "engineversion": info.get("ServerVersion", ""),
        "labels": {str(key): str(value) for key, value in labels.items()},
    }


def attribute_labels(record: dict[str, Any]) -> dict[str, str]:
    """The ``swarmops.<attribute>`` node labels of a node record."""
    return {LABEL_PREFIX + name: str(record.get(name, "")) for name in ATTRIBUTE_LABELS}


def node_labels(record: dict[str, Any]) -> dict[str, str]:
    """Swarm node labels for a node record: ``swarmops.<attribute>`` plus the user labels."""
    labels = attribute_labels(record)
    labels.update(record.get("labels") or {})
    return labels


def encode(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True)


def decode(value: str | None, key: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        record = json.loads(value)
    except ValueError as exc:
        raise SwarmOpsError(f"the record at Consul key {key!r} is not JSON: {value[:80]!r}") from exc
    if not isinstance(record, dict):
        raise SwarmOpsError(f"the record at Consul key {key!r} is not a JSON object")
    return record


def manager_addresses(entries: dict[str, str]) -> list[str]:
    """Published manager addresses, reachable ones first, for joining."""
    records = [decode(value, key) or {} for key, value in sorted(entries.items())]
    records = [record for record in records if record.get("addr")]
    records.sort(key=lambda record: record.get("reachability") != "reachable")
    return [record["addr"] for record in records]


def join_swarm(
    join: Callable[[str], None],
    addresses: list[str],
    *,
    timeout: float,
    interval: float = 1.0,
) -> str:
    """Try ``join(address)`` on each address, again until ``timeout``; the one that worked."""
    if not addresses:
        raise SwarmOpsError("no manager address is published in Consul; run the masters first")
    deadline = time.monotonic() + timeout
    errors: dict[str, str] = {}
    while True:
        for address in addresses:
            try:
                join(address)
            except APIError as exc:
                errors[address] = getattr(exc, "explanation", None) or str(exc)
            else:
                return address
        if time.monotonic() >= deadline:
            tried = "; ".join(f"{address}: {error}" for address, error in errors.items())
            raise SwarmOpsError(f"could not join the swarm through any published manager within {timeout:g}s ({tried})")
        time.sleep(interval)


def wait_while_pending(
    local: LocalSwarm, read: Callable[[], LocalSwarm], timeout: float, interval: float = 0.5
) -> LocalSwarm:
    """``read()`` again every ``interval`` seconds while the state is 'pending', for at most
    ``timeout`` seconds; the last state read (still pending when the time ran out)."""
    deadline = time.monotonic() + timeout
    while local.state == "pending" and time.monotonic() < deadline:
        time.sleep(interval)
        local = read()
    return local


class SwarmMember(SwarmOpsModule):
    """Common state of swarm_manager and swarm_agent: this engine, its addresses, the key layout."""

    def __init__(self, params: dict[str, Any], check_mode: bool, **clients: Any) -> None:
        super().__init__(params, check_mode, **clients)
        validate_positive(params, "join_timeout")
        self.layout = KeyLayout(params["cluster"])
        interfaces = host_interfaces()
        self.advertise_addr = resolve_address(
            params["advertise_addr"], "advertise_addr", interfaces, default_route_interface()
        )
        self.data_path_addr = None
        if params["data_path_addr"]:
            self.data_path_addr = resolve_address(
                params["data_path_addr"], "data_path_addr", interfaces, default_route_interface()
            )
        self.refresh()
        self.host = self.info.get("Name", "")
        self.settle()
        self.local.check_usable(self.host)

    def settle(self) -> None:
        """Wait, up to join_timeout, while the engine's swarm state is 'pending': after a restart of
        the hosts, the managers elect a leader and the workers reconnect before it is active again."""
        if self.local.state == "pending":
            self.step = f"wait for the swarm state of {self.host} to settle (pending)"
            self.local = wait_while_pending(self.local, self._read_local, self.params["join_timeout"])

    def _read_local(self) -> LocalSwarm:
        self.refresh()
        return self.local

    def refresh(self) -> None:
        self.info = self.call("report its state (docker info)", self.docker.info)
        self.local = LocalSwarm(self.info)

    def swarm_record(self) -> dict[str, Any] | None:
        return decode(self.consul.kv_get(self.layout.swarm), self.layout.swarm)

    def join(self, token: str, addresses: list[str]) -> str:
        def attempt(address: str) -> None:
            self.docker.api.join_swarm(
                remote_addrs=[address],
                join_token=token,
                listen_addr=self.params["listen_addr"],
                advertise_addr=self.advertise_addr,
                data_path_addr=self.data_path_addr,
            )

        self.step = f"join the swarm through one of {addresses}"
        used = join_swarm(attempt, addresses, timeout=self.params["join_timeout"])
        self.refresh()
        return used

    def publish_node_record(self) -> None:
        """Write this host's attributes under nodes/<host> where they differ (diff field node_record)."""
        key = self.layout.node(self.host)
        record = host_attributes(self.info, self.advertise_addr, self.params["labels"])
        record["node_id"] = self.local.node_id
        self.act(
            "node_record",
            decode(self.consul.kv_get(key), key),
            record,
            f"publish the attributes of {self.host} at {key}",
            partial(self.consul.kv_put, key, encode(record)),
        )


def validate_positive(params: dict[str, Any], option: str) -> None:
    """Timeouts and counts that must be at least 1, refused before anything is done."""
    value = params.get(option)
    if value is not None and value < 1:
        raise SwarmOpsError(f"{option}={value} must be at least 1")
