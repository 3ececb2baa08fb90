# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy one Swarm service from a manager: validate, place it with a classic
strategy and filters against the live nodes, create or update it, wait for its
tasks, and keep its entries in Consul's catalog in step."""

from __future__ import annotations

import copy
import random
import time
from functools import partial
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import APIError, retry_out_of_sequence
from ansible_collections.swarmops.cluster.plugins.module_utils._module import MAX_PORT, SwarmOpsModule
from ansible_collections.swarmops.cluster.plugins.module_utils._placement import (
    STRATEGIES,
    Placement,
    parse_filters,
    place,
)
from ansible_collections.swarmops.cluster.plugins.module_utils._service_spec import (
    build_spec,
    catalog_entries,
    comparable,
    reservations,
    spec_view,
)

_RESOURCES = {"cpus": {"type": "str"}, "memory": {"type": "str"}}
SERVICE_OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "image": {"type": "str"},
    "command": {"type": "list", "elements": "str"},
    "args": {"type": "list", "elements": "str"},
    "env": {"type": "dict", "default": {}},
    "mode": {"type": "str", "default": "replicated", "choices": ["replicated", "global"]},
    "replicas": {"type": "int", "default": 1},
    "networks": {"type": "list", "elements": "str", "default": []},
    "endpoint_mode": {"type": "str", "default": "vip", "choices": ["vip", "dnsrr"]},
    "publish": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "target_port": {"type": "int", "required": True},
            "published_port": {"type": "int"},
            "protocol": {"type": "str", "default": "tcp", "choices": ["tcp", "udp", "sctp"]},
            "mode": {"type": "str", "default": "ingress", "choices": ["ingress", "host"]},
        },
    },
    "resources": {
        "type": "dict",
        "options": {
            "limits": {"type": "dict", "options": copy.deepcopy(_RESOURCES)},
            "reservations": {"type": "dict", "options": copy.deepcopy(_RESOURCES)},
        },
    },
    "restart_config": {"type": "dict"},
    "update_config": {"type": "dict"},
    "rollback_config": {"type": "dict"},
    "labels": {"type": "dict", "default": {}},
    "healthcheck": {"type": "dict"},
    "strategy": {"type": "str", "default": "spread", "choices": list(STRATEGIES)},
    "filters": {"type": "list", "elements": "str", "default": []},
    "max_replicas_per_node": {"type": "int"},
    "register_catalog": {"type": "bool", "default": True},
    "catalog_port": {"type": "int"},
    "catalog_tags": {"type": "list", "elements": "str", "default": []},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 120},
}


# Changes that do not replace the service's tasks (no rolling update follows them).
_NOT_ROLLING = {"replicas", "labels", "update_config", "rollback_config", "placement", "catalog"}


def service_argument_spec() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(SERVICE_OPTIONS)


def node_facts(
    nodes: list[dict[str, Any]], tasks: list[dict[str, Any]], services: dict[str, dict[str, Any]], own_id: str | None
) -> list[dict[str, Any]]:
    """Placement facts for each node; the service's own tasks are left out, so a rerun
    places it where it is."""
    facts = {}
    for node in nodes:
        description = node.get("Description") or {}
        resources = description.get("Resources") or {}
        facts[node["ID"]] = {
            "id": node["ID"],
            "hostname": description.get("Hostname", node["ID"]),
            "role": node["Spec"].get("Role", "worker"),
            "availability": node["Spec"].get("Availability", "active"),
            "state": (node.get("Status") or {}).get("State", "unknown"),
            "address": (node.get("Status") or {}).get("Addr", ""),
            "labels": dict(node["Spec"].get("Labels") or {}),
            "cpus": resources.get("NanoCPUs", 0),
            "memory": resources.get("MemoryBytes", 0),
            "reserved_cpus": 0,
            "reserved_memory": 0,
            "tasks": 0,
            "services": set(),
        }
    for task in tasks:
        fact = facts.get(task.get("NodeID", ""))
        if fact is None or task.get("ServiceID") == own_id or (task.get("Status") or {}).get("State") != "running":
            continue
        reserved = (task.get("Spec") or {}).get("Resources", {}).get("Reservations") or {}
        fact["reserved_cpus"] += reserved.get("NanoCPUs", 0)
        fact["reserved_memory"] += reserved.get("MemoryBytes", 0)
        fact["tasks"] += 1
        fact["services"].add(services.get(task["ServiceID"], {}).get("Spec", {}).get("Name", task["ServiceID"]))
    return list(facts.values())


def validate_service_options(params: dict[str, Any]) -> None:
    """Numbers the engine would take and misread, or refuse only after the cluster changed, and the
    filters' syntax (so that swarm_service_set refuses a malformed one before any service changes)."""
    if params.get("state", "present") == "present":
        parse_filters(params.get("filters") or [])
    for option in ("wait_timeout", "max_replicas_per_node"):
        value = params.get(option)
        if value is not None and value < 1:
            hint = "; leave it out for no limit" if option == "max_replicas_per_node" else ""
            raise SwarmOpsError(f"{option}={value} must be at least 1{hint}")
    ports = [("catalog_port", params.get("catalog_port"))]
    for index, entry in enumerate(params.get("publish") or []):
        ports += [(f"publish[{index}].target_port", entry.get("target_port"))]
        ports += [(f"publish[{index}].published_port", entry.get("published_port"))]
    for option, port in ports:
        if port is not None and not 1 <= port <= MAX_PORT:
            raise SwarmOpsError(f"{option}={port} is not a port: use 1-{MAX_PORT}")


class ServiceDeployer(SwarmOpsModule):
    def __init__(self, params: dict[str, Any], check_mode: bool, **clients: Any) -> None:
        super().__init__(params, check_mode, **clients)
        validate_service_options(params)
        if params["state"] == "present" and params["register_catalog"] and not params.get("consul_host"):
            raise SwarmOpsError(
                "register_catalog needs consul_host (and a token that may write the catalog), or register_catalog=false"
            )

    @property
    def api(self) -> Any:
        return self.docker.api

    # -- reading -------------------------------------------------------------------------

    def _existing(self) -> dict[str, Any] | None:
        name = self.params["name"]
        return self.find(f"inspect service {name!r} (is this host a swarm manager?)", self.api.inspect_service, name)

    def _networks(self) -> tuple[list[str], dict[str, str]]:
        """IDs of the wanted networks (in order), and every network's name by ID."""
        names = {net["Id"]: net["Name"] for net in self.call("list networks", self.api.networks)}
        by_name = {name: net_id for net_id, name in names.items()}
        missing = [name for name in self.params["networks"] if name not in by_name and name not in names]
        if missing:
            overlays = sorted(
                net["Name"] for net in self.call("list networks", self.api.networks, filters={"driver": "overlay"})
            )
            raise SwarmOpsError(
                f"network(s) {', '.join(repr(name) for name in missing)} do not exist on this swarm; "
                f"existing overlay networks: {', '.join(overlays) or 'none'} (create it with swarm_network)"
            )
        return [by_name.get(name, name) for name in self.params["networks"]], names

    def _check_image(self) -> None:
        image = self.params["image"]
        if self.find(f"inspect image {image!r}", self.api.inspect_image, image) is not None:
            return
        if self.check_mode:
            self.warn(f"image {image!r} is not on this manager; a real run tries to pull it")
            return
        self.step = f"pull image {image!r}"
        try:
            self.api.pull(image)
        except APIError as exc:
            raise SwarmOpsError(
                f"image {image!r} is not present on this manager and could not be pulled "
                f"({getattr(exc, 'explanation', exc)}); load it on the nodes first (role swarm_services does)"
            ) from exc
        self.warn(f"pulled image {image} on this manager")

    # -- placing -------------------------------------------------------------------------

    def _placement(self, existing: dict[str, Any] | None, facts: list[dict[str, Any]]) -> Placement:
        params = self.params
        filters = parse_filters(params["filters"])
        cpus, memory = reservations(params)
        replicas = params["replicas"] if params["mode"] == "replicated" else len(facts)
        placement = place(
            params["strategy"],
            facts,
            filters,
            replicas if params["mode"] == "replicated" else 0,
            service=params["name"],
            reservation_cpus=cpus,
            reservation_memory=memory,
            rng=random.Random(),
        )
        if params["strategy"] == "random" and existing and placement.marker:
            kept = sorted(fact["hostname"] for fact in facts if fact["labels"].get(placement.marker) == "true")
            if kept and set(kept) <= set(placement.candidates) and len(kept) == len(placement.nodes):
                placement = Placement(**{**placement.as_dict(), "nodes": kept, "assignments": kept})
        return placement

    def _marker_changes(self, placement: Placement, facts: list[dict[str, Any]]) -> dict[str, bool]:
        """Node host name -> whether it should carry the service's marker label, where that differs."""
        marker = placement.marker or f"swarmops.place.{self.params['name']}"
        wanted = set(placement.nodes) if placement.marker and self.params["state"] == "present" else set()
        return {
            fact["hostname"]: fact["hostname"] in wanted
            for fact in facts
            if (fact["labels"].get(marker) == "true") != (fact["hostname"] in wanted)
        }

    def _apply_markers(self, changes: dict[str, bool], marker: str, facts: list[dict[str, Any]]) -> None:
        """Set or remove the marker label where ``changes`` says (diff field ``placement``)."""
        self.diff.add(
            "placement",
            sorted(host for host, wanted in changes.items() if not wanted),
            sorted(host for host, wanted in changes.items() if wanted),
        )
        by_name = {fact["hostname"]: fact["id"] for fact in facts}
        for hostname, wanted in sorted(changes.items()):
            self.perform(
                f"{'set' if wanted else 'remove'} node label {marker} on {hostname}",
                partial(
                    self.update_node, by_name[hostname], f"label node {hostname}", partial(_marked, marker, wanted)
                ),
            )

    # -- acting --------------------------------------------------------------------------

    def _deploy(self, existing: dict[str, Any] | None, spec: dict[str, Any]) -> str:
        name = self.params["name"]
        arguments = {
            "task_template": spec["TaskTemplate"],
            "name": name,
            "labels": spec["Labels"],
            "mode": spec["Mode"],
            "update_config": spec.get("UpdateConfig"),
            "rollback_config": spec.get("RollbackConfig"),
            "endpoint_spec": spec["EndpointSpec"],
        }
        if existing is None:
            return self.call(f"create service {name!r}", self.api.create_service, **arguments)["ID"]
        retry_out_of_sequence(
            f"update service {name!r}",
            partial(self.call, f"inspect service {name!r}", self.api.inspect_service, existing["ID"]),
            lambda current: self.api.update_service(
                current["ID"], current["Version"]["Index"], fetch_current_spec=False, **arguments
            ),
        )
        return existing["ID"]

    def _tasks(self, service_id: str) -> list[dict[str, Any]]:
        return self.call("list the service's tasks", self.api.tasks, filters={"service": service_id})

    def _wait_for_update(self, service_id: str, previous: str | None, deadline: float) -> None:
        """Wait until the rolling update started after ``previous`` (its StartedAt) completes."""
        while True:
            status = self.call("inspect the service", self.api.inspect_service, service_id).get("UpdateStatus") or {}
            started, state = status.get("StartedAt"), status.get("State")
            if started and started != previous:
                if state == "completed":
                    return
                if state in ("paused", "rollback_paused", "rollback_completed"):
                    raise SwarmOpsError(
                        f"the update of service {self.params['name']!r} ended {state}: {status.get('Message', '')}"
                    )
            if time.monotonic() >= deadline:
                raise SwarmOpsError(
                    f"the update of service {self.params['name']!r} did not complete within "
                    f"{self.params['wait_timeout']}s (state {state or 'not started'}): {status.get('Message', '')}"
                )
            time.sleep(0.5)

    def _wait(self, service_id: str, replicas: int | None, update_from: str | None = None) -> list[dict[str, Any]]:
        """Poll until the tasks Swarm wants running are running; fail with their errors. With
        ``update_from`` (the previous update's StartedAt, or ""), first wait for the rolling update."""
        deadline = time.monotonic() + self.params["wait_timeout"]
        if update_from is not None:
            self._wait_for_update(service_id, update_from or None, deadline)
        while True:
            tasks = self._tasks(service_id)
            desired = [task for task in tasks if task.get("DesiredState") == "running"]
            running = [task for task in desired if task["Status"]["State"] == "running"]
            target = replicas if replicas is not None else len(desired)
            if len(running) == target and len(desired) == target:
                return running
            errors = sorted({task["Status"].get("Err") for task in tasks if task["Status"].get("Err")})
            if time.monotonic() >= deadline:
                raise SwarmOpsError(
                    f"service {self.params['name']!r} has {len(running)} of {target} tasks running after "
                    f"{self.params['wait_timeout']}s; task errors: {'; '.join(errors) or 'none reported'}"
                )
            if any("No such image" in error for error in errors):
                raise SwarmOpsError(
                    f"service {self.params['name']!r} cannot start: {'; '.join(errors)} "
                    f"(is image {self.params['image']!r} loaded on the chosen nodes?)"
                )
            time.sleep(0.5)

    def _rolling_update(self, existing: dict[str, Any] | None) -> str | None:
        """The previous update's StartedAt ("" if none) when this run changed the task template of an
        existing service, which makes Swarm replace its tasks one by one; else None."""
        if existing is None or not set(self.diff.changes) - _NOT_ROLLING:
            return None
        return (existing.get("UpdateStatus") or {}).get("StartedAt", "")

    # -- catalog -------------------------------------------------------------------------

    def _check_catalog_token(self, placement: Placement, facts: list[dict[str, Any]]) -> None:
        """Before the service changes: refuse a Consul token that could not keep its catalog entries."""
        if not self.params["register_catalog"] or self.check_mode:
            return
        chosen = set(placement.nodes or placement.candidates)
        node = next((fact for fact in facts if fact["hostname"] in chosen), facts[0] if facts else None)
        if node is not None:
            self.step = f"check that the Consul token may register {self.params['name']!r} in the catalog"
            self.consul.check_catalog_write(self.params["name"], node["hostname"], node["address"])

    def _catalog(self, tasks: list[dict[str, Any]], facts: list[dict[str, Any]]) -> dict[str, Any]:
        """Register running tasks in Consul's catalog, deregister the rest (diff field ``catalog``: the
        entries by service ID before and after); the entries after."""
        params = self.params
        if not params["register_catalog"]:
            return {}
        port = params.get("catalog_port") or next((p["target_port"] for p in params["publish"]), 0)
        by_id = {fact["id"]: fact for fact in facts}
        wanted = catalog_entries(params["name"], tasks, by_id, port, params["catalog_tags"])
        current = self.consul.catalog_instances(params["name"])
        self.diff.add("catalog", current, wanted)
        for service_id in sorted(set(current) - set(wanted)):
            self.perform(
                f"deregister {service_id} from the Consul catalog",
                partial(self.consul.catalog_deregister, current[service_id]["node"], service_id),
            )
        for service_id, entry in sorted(wanted.items()):
            if current.get(service_id) != entry:
                self.perform(
                    f"register {service_id} ({entry['address']}:{port}) in the Consul catalog",
                    partial(self.consul.catalog_register, params["name"], entry),
                )
        return wanted

    # -- the run -------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        params = self.params
        existing = self._existing()
        if params["state"] == "absent":
            return self._absent(existing)
        if not params["image"]:
            raise SwarmOpsError("image is required when state=present")
        network_ids, network_names = self._networks()
        facts = node_facts(
            self.call("list the swarm's nodes", self.api.nodes),
            self.call("list the swarm's tasks", self.api.tasks, filters={"desired-state": "running"}),
            {svc["ID"]: svc for svc in self.call("list services", self.api.services)},
            existing["ID"] if existing else None,
        )
        placement = self._placement(existing, facts)
        spec = build_spec(params, placement.constraints, network_ids)
        wanted_view = spec_view(spec, network_names)
        before = comparable(spec_view(existing["Spec"], network_names), wanted_view) if existing else {}
        self.diff.compare(before, wanted_view)
        markers = self._marker_changes(placement, facts)
        deploying = bool(self.diff.changes)
        if deploying or markers:
            self._check_catalog_token(placement, facts)
            self._check_image()
        self._apply_markers(markers, placement.marker or f"swarmops.place.{params['name']}", facts)
        replicas = params["replicas"] if params["mode"] == "replicated" else None
        service_id = existing["ID"] if existing else None
        if deploying:
            deployed = self.perform(
                f"{'update' if existing else 'create'} service {params['name']}", partial(self._deploy, existing, spec)
            )
            service_id = deployed or service_id
        tasks: list[dict[str, Any]] = []
        if service_id and not self.check_mode and params["wait"]:
            tasks = self._wait(service_id, replicas, self._rolling_update(existing))
        elif service_id:
            tasks = [task for task in self._tasks(service_id) if task["Status"]["State"] == "running"]
        catalog = self._catalog(tasks, facts) if service_id else {}
        return self._answer(service_id=service_id, placement=placement, tasks=tasks, facts=facts, catalog=catalog)

    def _absent(self, existing: dict[str, Any] | None) -> dict[str, Any]:
        facts = node_facts(self.call("list the swarm's nodes", self.api.nodes), [], {}, None)
        marker = f"swarmops.place.{self.params['name']}"
        stale = {fact["hostname"]: False for fact in facts if marker in fact["labels"]}
        if stale:
            self._apply_markers(stale, marker, facts)
        self.act(
            "state",
            "present" if existing else "absent",
            "absent",
            f"remove service {self.params['name']}",
            partial(self._remove, existing),
        )
        if self.params["register_catalog"] and self.params.get("consul_host"):
            self._catalog([], facts)
        return self.result(service_id=None, placement=None, tasks=[], catalog={})

    def _remove(self, existing: dict[str, Any]) -> None:
        self.call(f"remove service {self.params['name']!r}", self.api.remove_service, existing["ID"])

    def _answer(
        self,
        *,
        service_id: str | None,
        placement: Placement,
        tasks: list[dict[str, Any]],
        facts: list[dict[str, Any]],
        catalog: dict[str, Any],
    ) -> dict[str, Any]:
        hostnames = {fact["id"]: fact["hostname"] for fact in facts}
        running = sorted(hostnames.get(task.get("NodeID", ""), "?") for task in tasks)
        for relaxed in placement.relaxed:
            self.warn(f"soft filter {relaxed!r} matched no node and was ignored")
        return self.result(
            service_id=service_id,
            placement={**placement.as_dict(), "running_on": running},
            tasks=[{"id": task["ID"], "node": hostnames.get(task.get("NodeID", ""), "?")} for task in tasks],
            catalog=catalog,
        )


def _marked(marker: str, wanted: bool, spec: dict[str, Any]) -> dict[str, Any]:
    """A node spec with the placement marker label set (``wanted``) or removed."""
    labels = dict(spec.get("Labels") or {})
    if wanted:
        labels[marker] = "true"
    else:
        labels.pop(marker, None)
    return {**spec, "Labels": labels}
