# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Change the membership of swarm nodes from a manager, safely: drain a node and wait until its
tasks run elsewhere, promote or demote it one manager at a time, remove it and forget it in Consul.

Every guard is checked for the whole list of nodes before anything changes: no change may leave
the swarm without a manager or without the quorum of its managers, and no drain may leave a
service without the nodes its constraints need. The pure functions below are those guards."""

from __future__ import annotations

import copy
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import APIError
from ansible_collections.swarmops.cluster.plugins.module_utils._keys import KeyLayout, validate_host_name
from ansible_collections.swarmops.cluster.plugins.module_utils._module import SwarmOpsModule
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm import LocalSwarm, validate_positive

NODE_OPTIONS: dict[str, dict[str, Any]] = {
    "cluster": {"type": "str", "required": True},
    "names": {"type": "list", "elements": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "role": {"type": "str", "choices": ["manager", "worker"]},
    "availability": {"type": "str", "choices": ["active", "pause", "drain"]},
    "force": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 300},
}
# How long a node that was just asked to leave may take to show as down before removal.
LEAVE_GRACE = 30.0
POLL = 0.5
_CONSTRAINT = re.compile(r"^\s*(?P<key>[A-Za-z0-9_.-]+)\s*(?P<operator>==|!=)\s*(?P<value>.*?)\s*$")


def node_argument_spec() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(NODE_OPTIONS)


def node_view(node: Mapping[str, Any]) -> dict[str, Any]:
    """What the guards and the diff need of one ``docker node inspect`` answer."""
    spec = node.get("Spec") or {}
    description = node.get("Description") or {}
    manager = node.get("ManagerStatus") or {}
    return {
        "id": node["ID"],
        "hostname": description.get("Hostname") or node["ID"],
        "role": spec.get("Role", "worker"),
        "availability": spec.get("Availability", "active"),
        "state": (node.get("Status") or {}).get("State", "unknown"),
        "reachability": manager.get("Reachability") if spec.get("Role") == "manager" else None,
        "leader": bool(manager.get("Leader")),
        "labels": dict(spec.get("Labels") or {}),
        "engine_labels": dict((description.get("Engine") or {}).get("Labels") or {}),
        "os": (description.get("Platform") or {}).get("OS", ""),
        "arch": (description.get("Platform") or {}).get("Architecture", ""),
    }


def find_nodes(views: Iterable[dict[str, Any]], names: Iterable[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The named nodes (by host name or node ID) and the names that are not in the swarm. A host name
    that two nodes share (a host that rejoined before its old node was removed) is refused."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for view in views:
        by_name.setdefault(view["hostname"], []).append(view)
        by_name.setdefault(view["id"], []).append(view)
    found, missing = {}, []
    for name in names:
        matches = by_name.get(name, [])
        if len(matches) > 1:
            ids = ", ".join(sorted(view["id"] for view in matches))
            raise SwarmOpsError(f"{name!r} names {len(matches)} swarm nodes ({ids}): give the node ID of the one meant")
        if matches:
            found[name] = matches[0]
        else:
            missing.append(name)
    return found, missing


def quorum_error(views: Iterable[dict[str, Any]], leaving: set[str]) -> str | None:
    """Why taking the managers in ``leaving`` (node IDs) out would lose the swarm, or None. The managers
    that stay and are reachable must be a majority of the managers there are now."""
    managers = [view for view in views if view["role"] == "manager"]
    going = sorted(view["hostname"] for view in managers if view["id"] in leaving)
    if not going:
        return None
    staying = [view for view in managers if view["id"] not in leaving]
    if not staying:
        return (
            f"{', '.join(going)} would leave the swarm without a manager (it has {len(managers)}): "
            "promote another node (add a host to swarm_masters) first"
        )
    reachable = [view["hostname"] for view in staying if view["reachability"] == "reachable"]
    unreachable = sorted(view["hostname"] for view in staying if view["reachability"] != "reachable")
    majority = len(managers) // 2 + 1
    if len(reachable) < majority:
        advice = f"bring back {', '.join(unreachable)} first, or " if unreachable else ""
        return (
            f"taking {', '.join(going)} out of the {len(managers)} managers would leave {len(reachable)} reachable "
            f"({', '.join(sorted(reachable)) or 'none'}), fewer than the {majority} that keep quorum: "
            f"{advice}take fewer managers out at a time (add masters first to keep 3 or more)"
        )
    return None


def constraint_holds(constraint: str, view: Mapping[str, Any]) -> bool | None:
    """Whether a Swarm placement constraint holds on a node; None when it names something this
    module does not evaluate (then the guard does not count on it either way)."""
    match = _CONSTRAINT.match(constraint)
    if match is None:
        return None
    key, operator, value = match["key"], match["operator"], match["value"]
    actual = _constraint_value(key, view)
    if actual is _UNKNOWN:
        return None
    if key in ("node.hostname", "node.id"):
        equal = actual == value
    else:
        equal = actual is not None and str(actual).lower() == value.lower()
    return equal if operator == "==" else not equal


_UNKNOWN = object()


def _constraint_value(key: str, view: Mapping[str, Any]) -> Any:
    fixed = {
        "node.id": view["id"],
        "node.hostname": view["hostname"],
        "node.role": view["role"],
        "node.platform.os": view["os"],
        "node.platform.arch": view["arch"],
    }
    if key in fixed:
        return fixed[key]
    for prefix, labels in (("node.labels.", view["labels"]), ("engine.labels.", view["engine_labels"])):
        if key.startswith(prefix):
            return labels.get(key[len(prefix) :])
    return _UNKNOWN


def can_run(constraints: list[str], view: Mapping[str, Any]) -> bool:
    """A node takes new tasks of a service: active, ready, and no constraint known to fail."""
    if view["availability"] != "active" or view["state"] != "ready":
        return False
    return all(constraint_holds(constraint, view) is not False for constraint in constraints)


def service_demand(service: Mapping[str, Any]) -> tuple[str, list[str], int, int] | None:
    """A replicated service's name, constraints, replicas and per-node limit (0: none); None for
    global services and services scaled to 0 (no drain can leave them short)."""
    spec = service.get("Spec") or {}
    replicas = ((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas")
    if not replicas:
        return None
    placement = (spec.get("TaskTemplate") or {}).get("Placement") or {}
    per_node = placement.get("MaxReplicas") or 0
    return spec.get("Name", service.get("ID", "?")), list(placement.get("Constraints") or []), replicas, per_node


def nodes_needed(replicas: int, per_node: int) -> int:
    return math.ceil(replicas / per_node) if per_node else 1


def placement_errors(
    services: Iterable[Mapping[str, Any]], views: list[dict[str, Any]], leaving: set[str]
) -> list[str]:
    """The services that taking the nodes in ``leaving`` (node IDs) out of scheduling would leave
    without the nodes they need, each with the reason. A service that is short already is only
    named when the change makes it worse."""
    errors = []
    going = ", ".join(sorted(view["hostname"] for view in views if view["id"] in leaving))
    for service in services:
        demand = service_demand(service)
        if demand is None:
            continue
        name, constraints, replicas, per_node = demand
        needed = nodes_needed(replicas, per_node)
        before = [view for view in views if can_run(constraints, view)]
        after = [view for view in before if view["id"] not in leaving]
        if len(after) >= needed or len(after) == len(before):
            continue
        where = ", ".join(sorted(view["hostname"] for view in after)) or "no node"
        need = f"{needed} nodes ({replicas} replicas, at most {per_node} per node)" if needed > 1 else "a node"
        rule = f"its constraints {constraints}" if constraints else "no constraints"
        errors.append(
            f"service {name} needs {need}, but without {going} only {where} would take its tasks "
            f"(active, ready nodes that meet {rule})."
        )
    return errors


def running_tasks(tasks: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Tasks that run and are meant to. A task of a service with a health check is only 'running'
    once the check passed."""
    return [
        task
        for task in tasks
        if (task.get("Status") or {}).get("State") == "running" and task.get("DesiredState") == "running"
    ]


def drain_targets(
    services: Iterable[Mapping[str, Any]], tasks: Iterable[Mapping[str, Any]], leaving: set[str]
) -> dict[str, tuple[str, int]]:
    """Before a drain: each replicated service with a task on ``leaving`` (node IDs), by service ID, with
    its name and the running tasks it must have elsewhere afterwards (as many as run now, at most
    its replicas: a service that is short already is not waited for beyond what it had)."""
    running = running_tasks(tasks)
    targets = {}
    for service in services:
        demand = service_demand(service)
        mine = [task for task in running if task.get("ServiceID") == service["ID"]]
        if demand is None or not any(task.get("NodeID") in leaving for task in mine):
            continue
        targets[service["ID"]] = (demand[0], min(len(mine), demand[2]))
    return targets


def tasks_elsewhere(
    targets: Mapping[str, tuple[str, int]], tasks: Iterable[Mapping[str, Any]], leaving: set[str]
) -> list[str]:
    """What a drain of ``leaving`` still waits for (empty when done): tasks there that are still meant
    to run, and the services of ``targets`` (see drain_targets) with fewer running tasks elsewhere."""
    waiting = []
    all_tasks = list(tasks)
    running = running_tasks(all_tasks)
    # The tasks the orchestrator has not moved yet (once it has, their desired state is shutdown, also
    # on a node that is down and cannot report them stopped).
    still = sorted({str(task.get("ServiceID")) for task in running if task.get("NodeID") in leaving})
    if still:
        names = sorted(targets.get(service_id, (service_id, 0))[0] for service_id in still)
        waiting.append(f"tasks of {', '.join(names)} still run on the drained node(s)")
    for service_id, (name, wanted) in sorted(targets.items()):
        elsewhere = [
            task for task in running if task.get("ServiceID") == service_id and task.get("NodeID") not in leaving
        ]
        if len(elsewhere) < wanted:
            waiting.append(f"{name} runs {len(elsewhere)} of {wanted} task(s) on the other nodes")
    return waiting


def wait_for(what: str, check: Callable[[], list[str]], timeout: float, interval: float = POLL) -> None:
    """Call ``check`` until it returns nothing; fail after ``timeout`` seconds with what it still said.
    A Docker API error while waiting (a leader election in progress) counts as not done yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pending = check()
        except (APIError, SwarmOpsError) as exc:
            pending = [f"the manager did not answer ({getattr(exc, 'explanation', None) or exc})"]
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise SwarmOpsError(f"timed out after {timeout:g}s waiting until {what}: {'; '.join(pending)}")
        time.sleep(interval)


class ManagerModule(SwarmOpsModule):
    """A module that runs on a manager and reads the swarm's nodes, services and tasks."""

    #: Named in the refusal when the host is no manager.
    module_name = "this module"

    def _local_manager(self) -> str:
        info = self.call("report its state (docker info)", self.docker.info)
        local = LocalSwarm(info)
        if not (local.active and local.is_manager):
            raise SwarmOpsError(
                f"{info.get('Name', 'this host')} is not a manager of an active swarm "
                f"(state {local.state!r}): run {self.module_name} on a manager"
            )
        return local.node_id

    def _views(self) -> list[dict[str, Any]]:
        return [node_view(node) for node in self.call("list the swarm's nodes", self.docker.api.nodes)]

    def _services(self) -> list[dict[str, Any]]:
        return self.call("list the services", self.docker.api.services)

    def _tasks(self) -> list[dict[str, Any]]:
        return self.call("list the tasks", self.docker.api.tasks)


class SwarmNode(ManagerModule):
    """The named nodes' role, availability and membership, changed from this manager."""

    module_name = "swarm_node"

    def run(self) -> dict[str, Any]:
        params = self.params
        validate_positive(params, "wait_timeout")
        self.layout = KeyLayout(params["cluster"])
        self._validate_names()
        self.local_id = self._local_manager()
        views = self._views()
        found, missing = find_nodes(views, params["names"])
        if params["state"] == "present" and missing:
            raise SwarmOpsError(
                f"{', '.join(missing)}: not a node of this swarm (its nodes: "
                f"{', '.join(sorted(view['hostname'] for view in views))}). Nothing was changed."
            )
        for name in missing:
            validate_host_name(name)  # a Consul key segment: refused before anything changes
        targets = list({view["id"]: view for view in found.values()}.values())
        self._guard(views, targets)
        if params["state"] == "present":
            self._present(targets)
        else:
            self._absent(self._settle_leaving(targets), missing)
        after = {view["id"]: view for view in self._views()}
        return self.result(
            nodes={view["hostname"]: _shown(after.get(view["id"])) for view in targets},
            absent=sorted(missing),
        )

    # -- reading ---------------------------------------------------------------------------

    def _validate_names(self) -> None:
        names = self.params["names"]
        if not names or any(not str(name).strip() for name in names):
            raise SwarmOpsError(f"names={names!r}: give one or more swarm node host names (or node IDs)")
        if self.params["state"] == "absent" and (self.params["role"] or self.params["availability"]):
            raise SwarmOpsError("role and availability apply to state=present only: leave them out with state=absent")
        if self.params["state"] == "present" and not (self.params["role"] or self.params["availability"]):
            raise SwarmOpsError("state=present changes role or availability: give at least one of them")

    # -- guards ----------------------------------------------------------------------------

    def _guard(self, views: list[dict[str, Any]], targets: list[dict[str, Any]]) -> None:
        """Every refusal for the whole list, before anything changes."""
        params = self.params
        errors = []
        if any(view["id"] == self.local_id for view in targets) and (
            params["state"] == "absent" or params["role"] == "worker"
        ):
            errors.append(
                f"{self._name(self.local_id, views)} is the manager this module runs on: run it on another manager"
            )
        leaving_managers = {
            view["id"]
            for view in targets
            if view["role"] == "manager" and (params["state"] == "absent" or params["role"] == "worker")
        }
        quorum = quorum_error(views, leaving_managers)
        if quorum:
            errors.append(quorum)
        if params["role"] == "manager":
            errors += [
                f"{view['hostname']} is {view['state']}: only a ready node can be promoted (it would count "
                "against quorum while it is away)"
                for view in targets
                if view["role"] != "manager" and view["state"] != "ready"
            ]
        drained = {view["id"] for view in targets if self._drains(view)}
        if drained:
            errors += placement_errors(self._services(), views, drained)
        if errors:
            raise SwarmOpsError(f"refused, nothing was changed: {' '.join(errors)}")

    def _drains(self, view: dict[str, Any]) -> bool:
        if view["availability"] != "active":
            return False
        return self.params["state"] == "absent" or self.params["availability"] in ("drain", "pause")

    @staticmethod
    def _name(node_id: str, views: list[dict[str, Any]]) -> str:
        return next((view["hostname"] for view in views if view["id"] == node_id), node_id)

    # -- changes ---------------------------------------------------------------------------

    def _present(self, targets: list[dict[str, Any]]) -> None:
        params = self.params
        availability, role = params["availability"], params["role"]
        for view in targets:
            self.diff.add(
                f"nodes.{view['hostname']}",
                {"role": view["role"], "availability": view["availability"]},
                {"role": role or view["role"], "availability": availability or view["availability"]},
            )
        if availability in ("drain", "pause"):
            self._set_availability(targets, availability)
        if role:
            for view in targets:
                self._set_role(view, role)
        if availability == "active":
            self._set_availability(targets, availability)

    def _set_availability(self, targets: list[dict[str, Any]], availability: str) -> None:
        changing = [view for view in targets if view["availability"] != availability]
        draining = {view["id"] for view in changing} if availability == "drain" and not self.check_mode else set()
        before = drain_targets(self._services(), self._tasks(), draining) if draining else {}
        for view in changing:
            self.perform(
                f"set {view['hostname']} availability={availability}",
                partial(self._update, view, "Availability", availability),
            )
        if draining:
            self._wait_drained(draining, before)

    def _wait_drained(self, leaving: set[str], targets: dict[str, tuple[str, int]]) -> None:
        views = self._views()
        names = ", ".join(sorted(self._name(node_id, views) for node_id in leaving))
        self.step = f"wait until the tasks of {names} run on other nodes"
        wait_for(
            f"the tasks of {names} run on other nodes",
            lambda: tasks_elsewhere(targets, self._tasks(), leaving),
            self.params["wait_timeout"],
        )

    def _set_role(self, view: dict[str, Any], role: str) -> None:
        if view["role"] == role:
            return
        verb = "promote" if role == "manager" else "demote"
        self.perform(f"set {view['hostname']} role={role} ({verb})", partial(self._change_role, view, role))

    def _change_role(self, view: dict[str, Any], role: str) -> None:
        self._update(view, "Role", role)
        self.step = f"wait until {view['hostname']} is a {role} and the managers have a leader"
        wait_for(
            f"{view['hostname']} is a {role} and the managers have a leader",
            partial(self._role_settled, view["id"], role),
            self.params["wait_timeout"],
        )
        if role == "worker":
            self.consul.kv_delete(self.layout.manager(view["hostname"]))

    def _role_settled(self, node_id: str, role: str) -> list[str]:
        views = self._views()
        pending = []
        mine = next((view for view in views if view["id"] == node_id), None)
        if mine is None or mine["role"] != role or (role == "manager" and mine["reachability"] != "reachable"):
            pending.append(f"its role is {mine['role'] if mine else 'gone'} ({(mine or {}).get('reachability')})")
        if not any(view["leader"] for view in views):
            pending.append("no manager leads")
        return pending

    def _update(self, view: dict[str, Any], field: str, value: str) -> None:
        def change(spec: dict[str, Any]) -> dict[str, Any]:
            return {**spec, field: value}

        self.update_node(view["id"], f"update node {view['hostname']}", change)

    def _settle_leaving(self, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Nodes that were just asked to leave show as down within moments; a node still up after
        that (it did not leave) is refused without force, before anything changes."""
        if self.params["force"] or self.check_mode:
            return targets
        ids = {view["id"] for view in targets}
        deadline = time.monotonic() + min(LEAVE_GRACE, self.params["wait_timeout"])
        while True:
            current = {view["id"]: view for view in self._views() if view["id"] in ids}
            still = [view for view in current.values() if view["state"] != "down"]
            if not still or time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        if still:
            names = ", ".join(sorted(view["hostname"] for view in still))
            raise SwarmOpsError(
                f"{names} still up in the swarm (status {', '.join(sorted({v['state'] for v in still}))}): make it "
                "leave first (docker swarm leave on that host; playbooks/remove-node.yml does) or give force=true "
                "to remove it as it is. Nothing was changed."
            )
        return [current.get(view["id"], view) for view in targets]

    def _absent(self, targets: list[dict[str, Any]], missing: list[str]) -> None:
        """Drain, demote and remove ``targets``; forget them, and the ``missing`` names, in Consul."""
        for view in targets:
            self.diff.add(
                f"nodes.{view['hostname']}", {"role": view["role"], "availability": view["availability"]}, None
            )
        active = [view for view in targets if view["availability"] == "active" and view["state"] != "down"]
        self._set_availability(active, "drain")
        for view in targets:
            self._set_role(view, "worker")
        for view in targets:
            force = self.params["force"] or view["state"] != "down"
            self.perform(
                f"remove node {view['hostname']} from the swarm{' (forced)' if force else ''}",
                partial(self.call, f"remove node {view['hostname']}", self.docker.api.remove_node, view["id"], force),
            )
        for name in sorted({view["hostname"] for view in targets} | set(missing)):
            self._forget(name)

    def _forget(self, host: str) -> None:
        """The node's records in Consul: its KV record, its manager entry and its catalog node (with the
        service instances registered on it). Also for a name already gone from the swarm, so that a rerun
        finishes what an interrupted removal left (diff field ``consul.<host>``)."""
        self.step = f"read the Consul records of {host}"
        keys = [
            key for key in (self.layout.node(host), self.layout.manager(host)) if self.consul.kv_get(key) is not None
        ]
        catalog = self.consul.catalog_has_node(host)
        present = keys + ([f"catalog node {host}"] if catalog else [])
        self.act(
            f"consul.{host}",
            present,
            [],
            f"remove {', '.join(present)} from Consul",
            partial(self._drop, keys, host if catalog else None),
        )

    def _drop(self, keys: list[str], catalog_node: str | None) -> None:
        for key in keys:
            self.consul.kv_delete(key)
        if catalog_node:
            self.consul.catalog_deregister_node(catalog_node)


def _shown(view: dict[str, Any] | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {key: view[key] for key in ("id", "role", "availability", "state", "reachability", "leader")}
