# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of swarm_service: input parsing (sizes, CPUs, durations), the Swarm
ServiceSpec built from the module's options, the user-facing view of a spec that
both sides of a comparison go through, and the Consul catalog entries of a service."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
NANO = 10**9


def parse_size(value: str | int | None, option: str) -> int | None:
    """Bytes from ``256M``, ``1.5G``, ``512MiB`` or a plain number of bytes."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise SwarmOpsError(
            f"{option}={value!r} is not a size: use a number with an optional unit B, K, M, G or T (e.g. 256M, 1G)"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_cpus(value: float | str | None, option: str) -> int | None:
    """Nano-CPUs from a number of CPUs such as ``0.5``."""
    if value is None or value == "":
        return None
    try:
        cpus = float(value)
    except (TypeError, ValueError) as exc:
        raise SwarmOpsError(f"{option}={value!r} is not a number of CPUs such as 0.5 or 2") from exc
    if cpus <= 0:
        raise SwarmOpsError(f"{option}={value!r} must be more than 0 CPUs")
    return int(cpus * NANO)


def parse_duration(value: str | int | None, option: str) -> int | None:
    """Nanoseconds from ``10s``, ``500ms``, ``1m30s`` (a bare number is seconds)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) or str(value).isdigit():
        return int(value) * NANO
    text = str(value).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise SwarmOpsError(f"{option}={value!r} is not a duration such as 10s, 500ms or 1m30s")
    return int(sum(float(number) * _DURATION_NS[unit] for number, unit in parts))


def _resources(section: dict[str, Any] | None, name: str) -> dict[str, int]:
    section = section or {}
    built = {}
    cpus = parse_cpus(section.get("cpus"), f"resources.{name}.cpus")
    memory = parse_size(section.get("memory"), f"resources.{name}.memory")
    if cpus:
        built["NanoCPUs"] = cpus
    if memory:
        built["MemoryBytes"] = memory
    return built


def reservations(params: dict[str, Any]) -> tuple[int, int]:
    """Reserved nano-CPUs and bytes per task, for placement."""
    reserved = _resources((params.get("resources") or {}).get("reservations"), "reservations")
    return reserved.get("NanoCPUs", 0), reserved.get("MemoryBytes", 0)


def _healthcheck(check: dict[str, Any] | None) -> dict[str, Any] | None:
    if not check:
        return None
    test = check.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    built: dict[str, Any] = {"Test": list(test or [])}
    for option, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod")):
        duration = parse_duration(check.get(option), f"healthcheck.{option}")
        if duration:
            built[key] = duration
    if check.get("retries") is not None:
        built["Retries"] = int(check["retries"])
    return built


def _policy(config: dict[str, Any] | None, option: str, durations: tuple[str, ...]) -> dict[str, Any] | None:
    """Restart, update or rollback config: snake_case options to the API's CamelCase."""
    if not config:
        return None
    built = {}
    for key, value in config.items():
        if value is None:
            continue
        camel = "".join(part.capitalize() for part in key.split("_"))
        built[camel] = parse_duration(value, f"{option}.{key}") if key in durations else value
    return built


def _ports(publish: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ports = []
    for port in publish:
        entry = {
            "Protocol": port.get("protocol") or "tcp",
            "TargetPort": int(port["target_port"]),
            "PublishMode": port.get("mode") or "ingress",
        }
        if port.get("published_port"):
            entry["PublishedPort"] = int(port["published_port"])
        ports.append(entry)
    return ports


def build_spec(params: dict[str, Any], constraints: list[str], network_ids: list[str]) -> dict[str, Any]:
    """The ServiceSpec for the module's options, with placement constraints already decided."""
    if params["mode"] == "replicated" and params["replicas"] < 0:
        raise SwarmOpsError(f"replicas={params['replicas']} must be 0 or more")
    container: dict[str, Any] = {
        "Image": params["image"],
        "Env": [f"{k}={v}" for k, v in sorted(params["env"].items())],
    }
    if params.get("command"):
        container["Command"] = list(params["command"])
    if params.get("args"):
        container["Args"] = list(params["args"])
    health = _healthcheck(params.get("healthcheck"))
    if health:
        container["Healthcheck"] = health
    resources = params.get("resources") or {}
    placement: dict[str, Any] = {"Constraints": list(constraints)}
    if params.get("max_replicas_per_node"):
        placement["MaxReplicas"] = params["max_replicas_per_node"]
    task: dict[str, Any] = {
        "ContainerSpec": container,
        "Resources": {
            "Limits": _resources(resources.get("limits"), "limits"),
            "Reservations": _resources(resources.get("reservations"), "reservations"),
        },
        "Placement": placement,
        "Networks": [{"Target": network_id} for network_id in network_ids],
    }
    restart = _policy(params.get("restart_config"), "restart_config", ("delay", "window"))
    if restart:
        task["RestartPolicy"] = restart
    mode = {"Replicated": {"Replicas": params["replicas"]}} if params["mode"] == "replicated" else {"Global": {}}
    spec: dict[str, Any] = {
        "Name": params["name"],
        "Labels": {str(k): str(v) for k, v in params["labels"].items()},
        "TaskTemplate": task,
        "Mode": mode,
        "EndpointSpec": {"Mode": params["endpoint_mode"], "Ports": _ports(params["publish"])},
    }
    for option, key in (("update_config", "UpdateConfig"), ("rollback_config", "RollbackConfig")):
        policy = _policy(params.get(option), option, ("delay", "monitor"))
        if policy:
            spec[key] = policy
    return spec


def _image(reference: str) -> str:
    """An image reference without the digest Swarm may pin it to."""
    return reference.split("@", 1)[0]


def spec_view(spec: dict[str, Any], network_names: dict[str, str]) -> dict[str, Any]:
    """The user-facing fields of a ServiceSpec, normalised so that a desired spec and the one
    Docker stores compare equal when nothing the module manages differs."""
    task = spec.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    resources = task.get("Resources") or {}
    placement = task.get("Placement") or {}
    endpoint = spec.get("EndpointSpec") or {}
    networks = task.get("Networks") or spec.get("Networks") or []
    replicated = (spec.get("Mode") or {}).get("Replicated")
    return {
        "image": _image(container.get("Image", "")),
        "command": container.get("Command") or [],
        "args": container.get("Args") or [],
        "env": sorted(container.get("Env") or []),
        "healthcheck": container.get("Healthcheck") or {},
        "mode": "replicated" if replicated is not None else "global",
        "replicas": (replicated or {}).get("Replicas"),
        "networks": sorted(network_names.get(net["Target"], net["Target"]) for net in networks),
        "endpoint_mode": endpoint.get("Mode") or "vip",
        "ports": sorted(
            (
                {
                    "protocol": port.get("Protocol", "tcp"),
                    "target_port": port.get("TargetPort"),
                    "published_port": port.get("PublishedPort"),
                    "mode": port.get("PublishMode", "ingress"),
                }
                for port in endpoint.get("Ports") or []
            ),
            key=lambda port: (port["target_port"], port["protocol"]),
        ),
        "limits": resources.get("Limits") or {},
        "reservations": resources.get("Reservations") or {},
        "constraints": sorted(placement.get("Constraints") or []),
        "max_replicas_per_node": placement.get("MaxReplicas") or 0,
        "restart_config": task.get("RestartPolicy") or {},
        "update_config": spec.get("UpdateConfig") or {},
        "rollback_config": spec.get("RollbackConfig") or {},
        "labels": spec.get("Labels") or {},
    }


def policy_subset(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """Docker fills defaults into restart/update/rollback policies: compare only what was asked."""
    return {key: current.get(key) for key in wanted}


def comparable(existing: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """``existing`` view with the policies cut down to the keys the desired view sets."""
    view = dict(existing)
    for key in ("restart_config", "update_config", "rollback_config", "healthcheck"):
        view[key] = policy_subset(existing[key], desired[key])
    return view


def catalog_entries(
    service: str, tasks: list[dict[str, Any]], nodes: dict[str, dict[str, Any]], port: int, tags: list[str]
) -> dict[str, dict[str, Any]]:
    """Consul catalog registrations, one per running task: the node it runs on, the task's
    first network address, the service port, and a check whose status is the task's health."""
    entries = {}
    for task in tasks:
        status = task.get("Status") or {}
        if status.get("State") != "running":
            continue
        node = nodes.get(task.get("NodeID", ""))
        if node is None:
            continue
        attachments = task.get("NetworksAttachments") or []
        addresses = [address.split("/")[0] for attach in attachments for address in attach.get("Addresses") or []]
        health = ((status.get("ContainerStatus") or {}).get("Health") or "").lower()
        service_id = f"{service}-{task['ID'][:12]}"
        entries[service_id] = {
            "node": node["hostname"],
            "node_address": node["address"],
            "service_id": service_id,
            "address": addresses[0] if addresses else node["address"],
            "port": port,
            "tags": sorted(tags),
            "status": "critical" if health == "unhealthy" else "passing",
        }
    return entries
