# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rolling maintenance of a swarm's hosts: the order (workers in batches, then the managers that do
not lead one at a time, the leader last), the guards that refuse to start, and the waits between
hosts (the node back, the managers with a leader and quorum, the services at their replica counts).

Reads only: the drain and the reactivation are swarm_node's, the maintenance itself the engine
role's. The pure functions below are the plan, the guards and the health checks."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm import validate_positive
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_node import (
    ManagerModule,
    can_run,
    find_nodes,
    placement_errors,
    running_tasks,
    service_demand,
    wait_for,
)

ROLLING_OPTIONS: dict[str, dict[str, Any]] = {
    "mode": {"type": "str", "default": "plan", "choices": ["plan", "wait"]},
    "names": {"type": "list", "elements": "str", "required": True},
    "batch": {"type": "str", "default": "1"},
    "services": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 300},
}
_BATCH = re.compile(r"^\s*(?P<number>[0-9]+)\s*(?P<percent>%?)\s*$")


def rolling_argument_spec() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(ROLLING_OPTIONS)


def batch_size(batch: str, workers: int) -> int:
    """Workers per batch: a count (at least 1) or a percentage of the workers (1-100 %, at least one
    worker)."""
    match = _BATCH.match(str(batch))
    number = int(match["number"]) if match else 0
    if match is None or number < 1 or (match["percent"] and number > 100):
        raise SwarmOpsError(
            f"batch={batch!r}: give a number of workers per batch (1, 2, ...) or a percentage of the workers "
            "(1%-100%, e.g. 25%)"
        )
    if match["percent"]:
        return max(1, math.floor(workers * number / 100))
    return number


def rolling_order(views: list[dict[str, Any]], names: list[str], batch: str) -> list[list[str]]:
    """The batches, as host names: the workers among ``names`` in batches (in the order given), then
    each manager that does not lead alone, the leader last."""
    found, missing = find_nodes(views, names)
    if missing:
        raise SwarmOpsError(
            f"{', '.join(missing)}: not a node of this swarm (its nodes: "
            f"{', '.join(sorted(view['hostname'] for view in views))}). Nothing was changed."
        )
    chosen = list({view["id"]: view for view in found.values()}.values())
    workers = [view["hostname"] for view in chosen if view["role"] != "manager"]
    managers = [view for view in chosen if view["role"] == "manager"]
    size = batch_size(batch, len(workers))
    batches = [workers[start : start + size] for start in range(0, len(workers), size)]
    batches += [[view["hostname"]] for view in managers if not view["leader"]]
    batches += [[view["hostname"]] for view in managers if view["leader"]]
    return batches


def manager_errors(views: list[dict[str, Any]], restarts_managers: bool) -> list[str]:
    """A manager that is down or unreachable now, and a swarm without quorum margin (one manager
    restarted would leave fewer reachable managers than a majority) when the plan restarts one."""
    managers = [view for view in views if view["role"] == "manager"]
    away = sorted(
        f"{view['hostname']} ({view['state']}, {view['reachability']})"
        for view in managers
        if view["state"] != "ready" or view["reachability"] != "reachable"
    )
    errors = []
    if away:
        errors.append(f"manager(s) {', '.join(away)} already down or unreachable: bring them back first.")
    reachable = len(managers) - len(away)
    majority = len(managers) // 2 + 1
    if restarts_managers and reachable - 1 < majority:
        errors.append(
            f"no quorum margin: {reachable} of {len(managers)} managers are reachable, and restarting one leaves "
            f"{reachable - 1}, fewer than the {majority} that keep quorum: add masters first (3 managers tolerate "
            "one restart)."
        )
    return errors


def node_errors(views: list[dict[str, Any]], batches: list[list[str]]) -> list[str]:
    """Hosts of the plan that are not ready now: their drain and their return cannot be waited for."""
    planned = {name for batch in batches for name in batch}
    return [
        f"{view['hostname']} is {view['state']}: bring it back (or leave it out of the hosts) first."
        for view in views
        if view["hostname"] in planned and view["role"] != "manager" and view["state"] != "ready"
    ]


def batch_placement_errors(
    services: Iterable[Mapping[str, Any]], views: list[dict[str, Any]], batches: list[list[str]]
) -> list[str]:
    """The services a drained batch would leave without the nodes they need."""
    services = list(services)
    errors: list[str] = []
    for batch in batches:
        ids = {view["id"] for view in views if view["hostname"] in batch}
        errors += [error for error in placement_errors(services, views, ids) if error not in errors]
    return errors


def host_tasks(
    services: Iterable[Mapping[str, Any]], tasks: Iterable[Mapping[str, Any]], views: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """Each node's running tasks, as ``service.slot`` (or the service name for a global one)."""
    names = {service["ID"]: (service.get("Spec") or {}).get("Name", service["ID"]) for service in services}
    hosts = {view["id"]: view["hostname"] for view in views}
    listed: dict[str, list[str]] = {view["hostname"]: [] for view in views}
    for task in running_tasks(tasks):
        host = hosts.get(task.get("NodeID"))
        if host is None:
            continue
        name = names.get(task.get("ServiceID"), str(task.get("ServiceID")))
        listed[host].append(f"{name}.{task['Slot']}" if task.get("Slot") else name)
    return {host: sorted(entries) for host, entries in listed.items()}


def cluster_pending(views: list[dict[str, Any]], names: list[str]) -> list[str]:
    """What keeps the named nodes from being back: not ready, a manager not reachable; and the
    managers without a leader or without a reachable majority."""
    found, missing = find_nodes(views, names)
    pending = [f"{name} is not a node of the swarm" for name in missing]
    for name, view in sorted(found.items()):
        if view["state"] != "ready":
            pending.append(f"{name} is {view['state']}")
        elif view["role"] == "manager" and view["reachability"] != "reachable":
            pending.append(f"manager {name} is {view['reachability']}")
    managers = [view for view in views if view["role"] == "manager"]
    if not any(view["leader"] for view in managers):
        pending.append("no manager leads")
    reachable = [view for view in managers if view["reachability"] == "reachable"]
    if len(reachable) < len(managers) // 2 + 1:
        pending.append(f"{len(reachable)} of {len(managers)} managers reachable, no quorum")
    return pending


def services_pending(
    services: Iterable[Mapping[str, Any]], tasks: Iterable[Mapping[str, Any]], views: list[dict[str, Any]]
) -> list[str]:
    """The services not at their replica counts: a replicated service with fewer running (healthy)
    tasks than its replicas, a global one not running on every node that can take it."""
    running = running_tasks(tasks)
    pending = []
    for service in services:
        spec = service.get("Spec") or {}
        name = spec.get("Name", service["ID"])
        mine = [task for task in running if task.get("ServiceID") == service["ID"]]
        demand = service_demand(service)
        if demand is not None:
            if len(mine) < demand[2]:
                pending.append(f"{name} runs {len(mine)} of {demand[2]} task(s)")
            continue
        if "Global" not in (spec.get("Mode") or {}):
            continue
        constraints = list(((spec.get("TaskTemplate") or {}).get("Placement") or {}).get("Constraints") or [])
        eligible = {view["id"] for view in views if can_run(constraints, view)}
        short = eligible - {task.get("NodeID") for task in mine}
        if short:
            hosts = ", ".join(sorted(view["hostname"] for view in views if view["id"] in short))
            pending.append(f"{name} (global) does not run on {hosts}")
    return pending


class SwarmRolling(ManagerModule):
    """The plan of a rolling maintenance and its guards, or the wait after one host."""

    module_name = "swarm_rolling"

    def run(self) -> dict[str, Any]:
        params = self.params
        validate_positive(params, "wait_timeout")
        names = params["names"]
        if not names or any(not str(name).strip() for name in names):
            raise SwarmOpsError(f"names={names!r}: give one or more swarm node host names (or node IDs)")
        self._local_manager()
        if params["mode"] == "plan":
            return self._plan()
        return self._wait()

    def _plan(self) -> dict[str, Any]:
        views = self._views()
        self.step = "plan the order"
        batches = rolling_order(views, self.params["names"], self.params["batch"])
        restarts_managers = any(view["role"] == "manager" for view in views if [view["hostname"]] in batches)
        services = self._services()
        errors = manager_errors(views, restarts_managers) + node_errors(views, batches)
        errors += batch_placement_errors(services, views, batches)
        if errors:
            raise SwarmOpsError(f"refused, nothing was changed: {' '.join(errors)}")
        tasks = host_tasks(services, self._tasks(), views)
        leader = next((view["hostname"] for view in views if view["leader"]), None)
        planned = {name for batch in batches for name in batch}
        return self.result(
            batches=batches,
            leader=leader,
            tasks={host: entries for host, entries in tasks.items() if host in planned},
            nodes={view["hostname"]: _shown(view) for view in views if view["hostname"] in planned},
        )

    def _wait(self) -> dict[str, Any]:
        names = ", ".join(self.params["names"])
        checks = [partial(self._cluster_check, self.params["names"])]
        what = f"{names} are back in the swarm and the managers have a leader and quorum"
        if self.params["services"]:
            checks.append(self._services_check)
            what += ", and every service runs its tasks"
        self.step = f"wait until {what}"
        wait_for(what, lambda: [entry for check in checks for entry in check()], self.params["wait_timeout"])
        views = self._views()
        found = find_nodes(views, self.params["names"])[0]
        return self.result(nodes={name: _shown(view) for name, view in found.items()})

    def _cluster_check(self, names: list[str]) -> list[str]:
        return cluster_pending(self._views(), names)

    def _services_check(self) -> list[str]:
        return services_pending(self._services(), self._tasks(), self._views())


def _shown(view: dict[str, Any]) -> dict[str, Any]:
    return {key: view[key] for key in ("id", "role", "availability", "state", "reachability", "leader")}
