# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A swarm-scoped Docker network (the walkthrough's overlay network): validate the
IPAM input, refuse subnets that overlap other networks, compare with the existing
network, and create, recreate or remove it on a swarm manager."""

from __future__ import annotations

import copy
import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import docker_url
from ansible_collections.swarmops.cluster.plugins.module_utils._module import SwarmOpsModule

DEFAULT_NAME = "server-overlay-network"
SCOPE = "swarm"
ENCRYPTED_OPTION = "encrypted"
# Driver options the engine adds by itself; ignored in comparisons unless asked for.
ENGINE_OPTIONS = frozenset({"com.docker.network.driver.overlay.vxlanid_list"})
# Seconds to wait for the swarm allocator to fill in a network it has just accepted.
ALLOCATION_TIMEOUT = 15.0
# A task container carries the name of its service in this label.
SERVICE_LABEL = "com.docker.swarm.service.name"

_NETWORK_OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "default": DEFAULT_NAME},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "driver": {"type": "str", "default": "overlay"},
    "attachable": {"type": "bool", "default": True},
    "subnet": {"type": "str"},
    "gateway": {"type": "str"},
    "ip_range": {"type": "str"},
    "encrypted": {"type": "bool", "default": False},
    "labels": {"type": "dict"},
    "driver_options": {"type": "dict"},
    "recreate": {"type": "bool", "default": False},
}

# Fields compared with an existing network, in the order messages name them.
FIELDS = (
    "driver",
    "scope",
    "attachable",
    "encrypted",
    "subnet",
    "gateway",
    "ip_range",
    "labels",
    "driver_options",
)


def network_argument_spec() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(_NETWORK_OPTIONS)


# --- input ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ipam:
    """The validated address settings; ``None`` leaves the choice to Docker."""

    subnet: ipaddress.IPv4Network | None = None
    gateway: ipaddress.IPv4Address | None = None
    ip_range: ipaddress.IPv4Network | None = None


def parse_cidr(value: str, option: str) -> ipaddress.IPv4Network:
    """An IPv4 network written as CIDR (address/prefix), with no host bits set."""
    example = "e.g. 10.10.0.0/24"
    if "/" not in value:
        raise SwarmOpsError(
            f"{option}={value!r} is not in CIDR notation: give an IPv4 network with its prefix length, {example}"
        )
    try:
        interface = ipaddress.ip_interface(value)
    except ValueError as exc:
        raise SwarmOpsError(
            f"{option}={value!r} is not a valid IPv4 CIDR block: use four numbers 0-255 and a prefix length "
            f"0-32, {example}"
        ) from exc
    if interface.version != 4:
        raise SwarmOpsError(f"{option}={value!r} is an IPv6 block; this option takes an IPv4 CIDR block, {example}")
    network = interface.network
    if interface.ip != network.network_address:
        raise SwarmOpsError(
            f"{option}={value!r} has host bits set: a CIDR block starts at its network address; did you mean {network}?"
        )
    return ipaddress.IPv4Network(network)


def parse_address(value: str, option: str) -> ipaddress.IPv4Address:
    try:
        address = ipaddress.ip_address(value)
    except ValueError as exc:
        raise SwarmOpsError(f"{option}={value!r} is not an IPv4 address, e.g. 10.10.0.1") from exc
    if address.version != 4:
        raise SwarmOpsError(f"{option}={value!r} is an IPv6 address; this option takes an IPv4 address, e.g. 10.10.0.1")
    return ipaddress.IPv4Address(address)


def _host_range(subnet: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """First and last usable address (all of them for /31 and /32)."""
    if subnet.prefixlen >= 31:
        return subnet.network_address, subnet.broadcast_address
    return subnet.network_address + 1, subnet.broadcast_address - 1


def validate_ipam(subnet: str | None, gateway: str | None, ip_range: str | None) -> Ipam:
    """Parse the address options and check that the gateway and the range lie in the subnet."""
    if subnet is None:
        for option, value in (("gateway", gateway), ("ip_range", ip_range)):
            if value is not None:
                raise SwarmOpsError(f"{option}={value!r} needs subnet: give the subnet it belongs to")
        return Ipam()
    network = parse_cidr(subnet, "subnet")
    address = parse_address(gateway, "gateway") if gateway is not None else None
    pool = parse_cidr(ip_range, "ip_range") if ip_range is not None else None
    if address is not None:
        first, last = _host_range(network)
        if not first <= address <= last:
            where = "is not inside" if address not in network else "is the network or broadcast address of"
            raise SwarmOpsError(f"gateway={gateway!r} {where} subnet {network}: use an address from {first} to {last}")
    if pool is not None and not pool.subnet_of(network):
        example = next(network.subnets(prefixlen_diff=1)) if network.prefixlen < 32 else network
        raise SwarmOpsError(
            f"ip_range={ip_range!r} is not inside subnet {network}: use a block within it, e.g. {example}"
        )
    return Ipam(subnet=network, gateway=address, ip_range=pool)


def ipam_request(ipam: Ipam) -> dict[str, Any] | None:
    """The ``IPAM`` object of a network create request (as ``docker.types.IPAMConfig`` builds it)."""
    if ipam.subnet is None:
        return None
    pool = {"Subnet": str(ipam.subnet)}
    if ipam.gateway is not None:
        pool["Gateway"] = str(ipam.gateway)
    if ipam.ip_range is not None:
        pool["IPRange"] = str(ipam.ip_range)
    return {"Driver": "default", "Config": [pool], "Options": {}}


def _strings(values: dict[str, Any] | None) -> dict[str, str] | None:
    """Docker keeps labels and driver options as strings."""
    if values is None:
        return None
    return {str(key): value if isinstance(value, str) else str(value) for key, value in values.items()}


def validate_options(params: dict[str, Any]) -> None:
    """Reject option combinations Docker would misread or refuse."""
    if not params["name"]:
        raise SwarmOpsError("name must not be empty: give the network a name, e.g. server-overlay-network")
    options = params.get("driver_options") or {}
    if ENCRYPTED_OPTION in options:
        raise SwarmOpsError(
            f"driver_options.{ENCRYPTED_OPTION}={options[ENCRYPTED_OPTION]!r}: use the option encrypted (true/false) "
            "instead, so that it is compared correctly"
        )
    if params["encrypted"] and params["driver"] != "overlay":
        raise SwarmOpsError(f"encrypted=true needs driver=overlay, not driver={params['driver']!r}")


def wanted_spec(params: dict[str, Any], ipam: Ipam) -> dict[str, Any]:
    """The fields the module manages, as they compare with ``current_spec``.

    Address fields, labels and driver options are managed only when given."""
    spec: dict[str, Any] = {
        "driver": params["driver"],
        "scope": SCOPE,
        "attachable": params["attachable"],
        "encrypted": params["encrypted"],
    }
    optional = {
        "subnet": str(ipam.subnet) if ipam.subnet else None,
        "gateway": str(ipam.gateway) if ipam.gateway else None,
        "ip_range": str(ipam.ip_range) if ipam.ip_range else None,
        "labels": _strings(params.get("labels")),
        "driver_options": _strings(params.get("driver_options")),
    }
    spec.update({field: value for field, value in optional.items() if value is not None})
    return spec


def require_manager(info: dict[str, Any], url: str) -> None:
    """Fail unless the engine's ``docker info`` says it is an active swarm manager."""
    swarm = info.get("Swarm") or {}
    state = swarm.get("LocalNodeState") or "inactive"
    if state == "active" and swarm.get("ControlAvailable"):
        return
    what = "a swarm worker, not a manager" if state == "active" else f"not part of a swarm (swarm state: {state})"
    raise SwarmOpsError(
        f"the Docker engine at {url} is {what}: swarm_network must run on a swarm manager, which alone can "
        "create and remove swarm-scoped networks; run it on a manager (a host of swarm_masters) after the "
        "swarm is initialised"
    )


# --- existing networks ------------------------------------------------------------------------


def ipam_configs(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return list((attrs.get("IPAM") or {}).get("Config") or [])


def _ipv4_config(attrs: dict[str, Any]) -> dict[str, Any]:
    """The first IPAM pool whose subnet is IPv4 (Docker lists IPv6 pools alongside)."""
    for config in ipam_configs(attrs):
        try:
            if ipaddress.ip_network(config.get("Subnet") or "", strict=False).version == 4:
                return config
        except ValueError:
            continue
    return {}


def _normalised(value: str | None, *, address: bool = False) -> str | None:
    if not value:
        return None
    try:
        if address:
            return str(ipaddress.ip_interface(value).ip)
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        return value


def current_spec(attrs: dict[str, Any], wanted_options: dict[str, str] | None = None) -> dict[str, Any]:
    """The managed fields of an existing network, from its ``docker network inspect`` data."""
    options = dict(attrs.get("Options") or {})
    encrypted = options.pop(ENCRYPTED_OPTION, None) is not None
    asked = wanted_options or {}
    options = {key: value for key, value in options.items() if key not in ENGINE_OPTIONS or key in asked}
    config = _ipv4_config(attrs)
    return {
        "driver": attrs.get("Driver"),
        "scope": attrs.get("Scope"),
        "attachable": bool(attrs.get("Attachable")),
        "encrypted": encrypted,
        "subnet": _normalised(config.get("Subnet")),
        "gateway": _normalised(config.get("Gateway"), address=True),
        "ip_range": _normalised(config.get("IPRange")),
        "labels": dict(attrs.get("Labels") or {}),
        "driver_options": options,
    }


class Mismatch(NamedTuple):
    field: str
    current: Any
    wanted: Any


def compare_spec(wanted: dict[str, Any], current: dict[str, Any]) -> list[Mismatch]:
    """The wanted fields whose value differs from the existing network's, in ``FIELDS`` order."""
    return [
        Mismatch(field, current.get(field), wanted[field])
        for field in FIELDS
        if field in wanted and current.get(field) != wanted[field]
    ]


def immutable_error(name: str, mismatches: list[Mismatch]) -> SwarmOpsError:
    details = "; ".join(f"{m.field} is {m.current!r}, wanted {m.wanted!r}" for m in mismatches)
    return SwarmOpsError(
        f"network {name!r} exists with settings Docker cannot change in place: {details}. Set recreate=true to "
        "remove and create it again (refused while a service or container uses it), or make the options match "
        "the existing network",
        changes=[m.field for m in mismatches],
    )


def find_overlaps(subnet: ipaddress.IPv4Network, others: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``(network name, subnet)`` pairs among ``others`` whose IPv4 subnet overlaps ``subnet``."""
    found = []
    for name, other in others:
        try:
            network = ipaddress.ip_network(other, strict=False)
        except ValueError:
            continue
        if network.version == 4 and subnet.overlaps(network):
            found.append((name, other))
    return found


def overlap_error(subnet: ipaddress.IPv4Network, overlaps: list[tuple[str, str]]) -> SwarmOpsError:
    named = ", ".join(f"network {name!r} ({other})" for name, other in overlaps)
    return SwarmOpsError(
        f"subnet {subnet} overlaps the subnet of {named} on this Docker engine: choose a subnet that overlaps "
        "no other network's, or remove that network first",
        overlaps=[{"network": name, "subnet": other} for name, other in overlaps],
    )


def other_subnets(networks: Iterable[dict[str, Any]], exclude_id: str | None, name: str) -> list[tuple[str, str]]:
    """``(name, subnet)`` of every IPAM pool of the engine's networks but the managed one."""
    pairs = []
    for attrs in networks:
        if attrs.get("Name") == name or (exclude_id and attrs.get("Id") == exclude_id):
            continue
        pairs.extend(
            (attrs.get("Name") or attrs.get("Id") or "?", config["Subnet"])
            for config in ipam_configs(attrs)
            if config.get("Subnet")
        )
    return pairs


def services_using(network_id: str, name: str, services: Iterable[dict[str, Any]]) -> list[str]:
    """Names of the swarm services (``docker service inspect`` data) attached to the network."""
    targets = {network_id, name}
    users = []
    for attrs in services:
        spec = attrs.get("Spec") or {}
        attached = list((spec.get("TaskTemplate") or {}).get("Networks") or []) + list(spec.get("Networks") or [])
        if any(entry.get("Target") in targets for entry in attached):
            users.append(spec.get("Name") or attrs.get("ID") or "?")
    return sorted(users)


def containers_using(containers: Iterable[tuple[str, dict[str, str]]], services: Iterable[str]) -> list[str]:
    """Names of the attached containers, leaving out the tasks of services already named."""
    known = set(services)
    return sorted(name for name, labels in containers if (labels or {}).get(SERVICE_LABEL) not in known)


def in_use_error(verb: str, name: str, services: list[str], containers: list[str]) -> SwarmOpsError:
    users = []
    if services:
        users.append(f"service(s) {', '.join(services)}")
    if containers:
        users.append(f"container(s) {', '.join(containers)}")
    return SwarmOpsError(
        f"cannot {verb} network {name!r}: it is in use by {' and '.join(users)}; Docker removes a network only "
        "when nothing uses it: remove or detach them first",
        services=services,
        containers=containers,
    )


def is_allocated(attrs: dict[str, Any]) -> bool:
    """Whether a just-created swarm network has been allocated: until then, inspect shows no driver or pools."""
    return bool(attrs.get("Driver")) and bool(ipam_configs(attrs))


def network_view(attrs: dict[str, Any]) -> dict[str, Any]:
    """What the module returns about a network."""
    spec = current_spec(attrs)
    return {
        "id": attrs.get("Id"),
        "name": attrs.get("Name"),
        "driver": spec["driver"],
        "scope": spec["scope"],
        "attachable": spec["attachable"],
        "encrypted": spec["encrypted"],
        "subnets": [config["Subnet"] for config in ipam_configs(attrs) if config.get("Subnet")],
        "labels": spec["labels"],
    }


def planned_view(name: str, wanted: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """The network a check-mode run predicts: ``id`` is unknown until Docker creates it."""
    subnet = wanted.get("subnet") or (current or {}).get("subnet")
    return {
        "id": None,
        "name": name,
        "driver": wanted["driver"],
        "scope": wanted["scope"],
        "attachable": wanted["attachable"],
        "encrypted": wanted["encrypted"],
        "subnets": [subnet] if subnet else [],
        "labels": wanted.get("labels", {}),
    }


# --- the Docker part --------------------------------------------------------------------------


class SwarmNetwork(SwarmOpsModule):
    """Compare and converge one swarm-scoped network through a manager's Docker engine."""

    def __init__(self, params: dict[str, Any], check_mode: bool, **clients: Any) -> None:
        super().__init__(params, check_mode, **clients)
        self.name: str = params["name"]

    def run(self) -> dict[str, Any]:
        params = self.params
        validate_options(params)
        ipam = validate_ipam(params["subnet"], params["gateway"], params["ip_range"])
        require_manager(self.call("report its swarm state (docker info)", self.docker.info), docker_url(params))
        networks = [network.attrs for network in self.call("list its networks", self.docker.networks.list)]
        existing = self._find(networks)
        if params["state"] == "absent":
            return self._absent(existing)
        return self._present(existing, networks, ipam)

    def _find(self, networks: list[dict[str, Any]]) -> Any:
        matches = [attrs["Id"] for attrs in networks if attrs.get("Name") == self.name]
        if len(matches) > 1:
            raise SwarmOpsError(
                f"{len(matches)} networks are named {self.name!r} ({', '.join(matches)}): remove all but one "
                "(docker network rm ID) so that the name is unambiguous"
            )
        if not matches:
            return None
        return self.find(f"inspect network {self.name!r}", self.docker.networks.get, matches[0])

    def _absent(self, network: Any) -> dict[str, Any]:
        if network is not None:
            self._refuse_if_used(network, "remove")
        self.act(
            "state",
            "present" if network else "absent",
            "absent",
            f"remove network {self.name}",
            lambda: self._remove(network),
        )
        return self.result(network=None)

    def _present(self, network: Any, networks: list[dict[str, Any]], ipam: Ipam) -> dict[str, Any]:
        wanted = wanted_spec(self.params, ipam)
        if ipam.subnet is not None:
            overlaps = find_overlaps(ipam.subnet, other_subnets(networks, network.id if network else None, self.name))
            if overlaps:
                raise overlap_error(ipam.subnet, overlaps)
        if network is None:
            self.diff.compare({"state": "absent"}, {"state": "present", **wanted})
            created = self.perform(f"create network {self.name}", lambda: self._create(ipam))
            return self.result(
                network=network_view(created.attrs) if created else planned_view(self.name, wanted, None)
            )
        current = current_spec(network.attrs, wanted.get("driver_options"))
        self.diff.compare(
            {"state": "present", **{field: current[field] for field in wanted}},
            {"state": "present", **wanted},
        )
        if not self.diff.changed:
            return self.result(network=network_view(network.attrs))
        if not self.params["recreate"]:
            raise immutable_error(self.name, compare_spec(wanted, current))
        self._refuse_if_used(network, "recreate")
        created = self.perform(
            f"recreate network {self.name} ({', '.join(self.diff.changes)} differed)",
            lambda: self._replace(network, ipam),
        )
        return self.result(network=network_view(created.attrs) if created else planned_view(self.name, wanted, current))

    def _replace(self, network: Any, ipam: Ipam) -> Any:
        self._remove(network)
        try:
            return self._create(ipam)
        except SwarmOpsError as exc:
            raise SwarmOpsError(f"{exc.msg} (the old network {self.name} was removed already)") from exc

    def _refuse_if_used(self, network: Any, verb: str) -> None:
        what = f"list the services and containers using network {self.name!r}"
        services = services_using(
            network.id, self.name, (service.attrs for service in self.call(what, self.docker.services.list))
        )
        attached = self.call(what, self.docker.containers.list, all=True, filters={"network": network.id})
        containers = containers_using(((c.name, c.labels) for c in attached), services)
        if services or containers:
            raise in_use_error(verb, self.name, services, containers)

    def _create(self, ipam: Ipam) -> Any:
        params = self.params
        options = _strings(params["driver_options"]) or {}
        if params["encrypted"]:
            options[ENCRYPTED_OPTION] = ""
        created = self.call(
            f"create network {self.name!r}",
            self.docker.networks.create,
            self.name,
            driver=params["driver"],
            options=options or None,
            ipam=ipam_request(ipam),
            labels=_strings(params["labels"]) or None,
            attachable=params["attachable"],
            scope=SCOPE,
        )
        return self._allocated(created)

    def _allocated(self, network: Any, interval: float = 0.2) -> Any:
        """The created network once the swarm allocator has filled in its driver and subnet."""
        deadline = time.monotonic() + ALLOCATION_TIMEOUT
        while not is_allocated(network.attrs):
            if time.monotonic() >= deadline:
                self.warn(
                    f"network {self.name} was created, but the swarm has not allocated it within "
                    f"{ALLOCATION_TIMEOUT:g}s; `docker network inspect {self.name}` shows its subnet once it has"
                )
                break
            time.sleep(interval)
            self.call(f"inspect network {self.name!r}", network.reload)
        return network

    def _remove(self, network: Any) -> None:
        self.call(f"remove network {self.name!r}", network.remove)
