# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classic Swarm scheduling on top of Swarm mode, as pure functions: filters in the
classic syntax (``kernelversion==6.*``, ``label.disk==~ssd``, ``service!=hello``),
their translation to Swarm mode constraints where one exists, and the spread, binpack
and random strategies over node facts gathered by the module.

A node fact is a dict: ``id``, ``hostname``, ``role``, ``availability``, ``state``,
``labels`` (every node label), ``cpus`` and ``reserved_cpus`` (nano-CPUs), ``memory``
and ``reserved_memory`` (bytes), ``tasks`` (running tasks) and ``services`` (names of
the services with a running task on the node)."""

from __future__ import annotations

import fnmatch
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm import LABEL_PREFIX

Node = Mapping[str, Any]

STRATEGIES = ("spread", "binpack", "random")
# Host attributes a filter can name; each is published as the node label swarmops.<key>.
ATTRIBUTE_KEYS = ("operatingsystem", "ostype", "storagedriver", "kernelversion", "architecture", "engineversion")
FILTER_KEYS = ("node", "health", "service", *ATTRIBUTE_KEYS)
USER_LABEL = "label."
HEALTH_VALUES = ("healthy", "unhealthy")
OPERATORS = "KEY==VALUE, KEY!=VALUE, KEY==~VALUE or KEY!=~VALUE"

_ALIAS = re.compile(r"^(?:constraint|affinity):")
_SYNTAX = re.compile(r"(?P<key>[^\s=!~]+)\s*(?P<operator>==~|!=~|==|!=)\s*(?P<value>.*)", re.DOTALL)
_GLOB_CHARACTERS = "*?["
# What Swarm mode accepts in a constraint (swarmkit's key and value patterns), and its node IDs.
_SWARM_LABEL = re.compile(r"[A-Za-z0-9_.-]+")
_SWARM_VALUE = re.compile(r"[A-Za-z0-9:\-_\s.*()?+\[\]\\^$|/]+")
_NODE_ID = re.compile(r"[0-9a-z]{25}")


@dataclass(frozen=True)
class Filter:
    """One parsed filter; ``text`` is what the user wrote, ``kind`` is exact, glob or regex."""

    text: str
    key: str
    operator: str
    value: str
    kind: str
    pattern: re.Pattern[str] = field(repr=False, compare=False)

    @property
    def soft(self) -> bool:
        return self.operator.endswith("~")

    @property
    def negated(self) -> bool:
        return self.operator.startswith("!")

    def matches(self, node: Node) -> bool:
        return bool(self._hits(node)) != self.negated

    def reason(self, node: Node) -> str | None:
        """Why ``node`` does not match, or None when it does."""
        hits = self._hits(node)
        if bool(hits) != self.negated:
            return None
        if self.key == "service":
            return f"runs a task of service {hits[0]}" if hits else f"runs no task of service {self.value}"
        if not self._subjects(node):
            return f"{self.key} is not set"
        if self.negated:
            return f"{self.key} is {self._shown(node)}, excluded by {self.text}"
        return f"{self.key} is {self._shown(node)}, not {self.value}"

    def native_constraint(self) -> str | None:
        """The Swarm mode constraint that decides the same, or None (decided at deploy time)."""
        if self.soft or self.kind != "exact" or not _SWARM_VALUE.fullmatch(self.value):
            return None
        if self.key == "node":
            attribute = "node.id" if _NODE_ID.fullmatch(self.value) else "node.hostname"
        else:
            label = _label_name(self.key)
            if label is None or not _SWARM_LABEL.fullmatch(label):
                return None
            attribute = "node.labels." + label
        return f"{attribute}{self.operator}{self.value}"

    def _subjects(self, node: Node) -> list[str]:
        """The node's values this filter compares (none when the label is not set)."""
        if self.key == "node":
            return [node["hostname"], node["id"]]
        if self.key == "health":
            return [_health(node)]
        if self.key == "service":
            return sorted(node["services"])
        label = _label_name(self.key)
        return [node["labels"][label]] if label in node["labels"] else []

    def _hits(self, node: Node) -> list[str]:
        return [subject for subject in self._subjects(node) if self.pattern.fullmatch(subject)]

    def _shown(self, node: Node) -> str:
        if self.key == "node":
            return node["hostname"]
        if self.key == "health" and _health(node) == "unhealthy":
            return f"unhealthy (state {node['state']}, availability {node['availability']})"
        return self._subjects(node)[0]


def _label_name(key: str) -> str | None:
    if key in ATTRIBUTE_KEYS:
        return LABEL_PREFIX + key
    if key.startswith(USER_LABEL):
        return key[len(USER_LABEL) :]
    return None


def _health(node: Node) -> str:
    return "healthy" if node["state"] == "ready" and node["availability"] == "active" else "unhealthy"


def parse_filter(text: str) -> Filter:
    """Parse one classic Swarm filter; SwarmOpsError names the text and what is valid."""
    match = _SYNTAX.fullmatch(_ALIAS.sub("", text.strip()).strip())
    if match is None:
        raise _malformed(text)
    key, operator, value = match["key"], match["operator"], match["value"].strip()
    if not value:
        raise _malformed(text, "the value is empty")
    if value[0] in "=!~":
        raise _malformed(text)
    if key not in FILTER_KEYS and not (key.startswith(USER_LABEL) and len(key) > len(USER_LABEL)):
        raise SwarmOpsError(
            f"filter {text!r} has an unknown key {key!r}: valid keys are {', '.join(FILTER_KEYS)}; "
            f"node labels, user labels included, are written {USER_LABEL}NAME (e.g. {USER_LABEL}disk==ssd)"
        )
    kind, pattern = _compile(text, value)
    if key == "health" and kind == "exact" and value not in HEALTH_VALUES:
        raise SwarmOpsError(
            f"filter {text!r} has an unknown health value {value!r}: write health==healthy or health==unhealthy"
        )
    return Filter(text=text, key=key, operator=operator, value=value, kind=kind, pattern=pattern)


def parse_filters(texts: Iterable[str]) -> list[Filter]:
    return [parse_filter(text) for text in texts]


def _compile(text: str, value: str) -> tuple[str, re.Pattern[str]]:
    if value.startswith("/"):
        body = value[1:-1]
        if len(value) < 2 or not value.endswith("/"):
            raise _malformed(text, f"the regular expression {value!r} is not closed: write /REGEX/")
        if not body:
            raise _malformed(text, "the regular expression is empty: write /REGEX/")
        try:
            return "regex", re.compile(body)
        except re.error as exc:
            raise _malformed(text, f"invalid regular expression {body!r}: {exc}") from exc
    if any(character in value for character in _GLOB_CHARACTERS):
        return "glob", re.compile(fnmatch.translate(value))
    return "exact", re.compile(re.escape(value))


def _malformed(text: str, problem: str | None = None) -> SwarmOpsError:
    return SwarmOpsError(f"filter {text!r} is malformed: {problem or f'write {OPERATORS}'}")


@dataclass(frozen=True)
class Placement:
    """Where a service's tasks go. ``nodes`` are the nodes the module labels with ``marker``
    when ``marker`` is set: those used by the pinned strategies, all candidates for spread."""

    strategy: str
    pinned: bool
    assignments: list[str]
    nodes: list[str]
    candidates: list[str]
    relaxed: list[str]
    constraints: list[str]
    marker: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def marker_label(service: str) -> str:
    """The node label that confines ``service`` to the nodes placement chose."""
    return f"{LABEL_PREFIX}place.{service}"


class _Ledger:
    """Tasks placed during one call, on top of what each node already runs and reserves."""

    def __init__(self, cpus: int, memory: int) -> None:
        self.cpus = cpus
        self.memory = memory
        self.placed: Counter[str] = Counter()

    def free(self, node: Node) -> tuple[int, int]:
        placed = self.placed[node["hostname"]]
        return (
            node["cpus"] - node["reserved_cpus"] - placed * self.cpus,
            node["memory"] - node["reserved_memory"] - placed * self.memory,
        )

    def fits(self, node: Node) -> bool:
        cpus, memory = self.free(node)
        return (self.cpus == 0 or cpus >= self.cpus) and (self.memory == 0 or memory >= self.memory)

    def share(self, node: Node) -> float:
        cpus, memory = self.free(node)
        return max(1 - cpus / max(node["cpus"], 1), 1 - memory / max(node["memory"], 1))

    def tasks(self, node: Node) -> int:
        return node["tasks"] + self.placed[node["hostname"]]


Picker = Callable[[list[Node], _Ledger, random.Random], Node]


def _spread(fitting: list[Node], ledger: _Ledger, rng: random.Random) -> Node:
    """Swarm's order: fewest tasks of this service, then fewest tasks."""
    return min(fitting, key=lambda node: (ledger.placed[node["hostname"]], ledger.tasks(node), node["hostname"]))


def _binpack(fitting: list[Node], ledger: _Ledger, rng: random.Random) -> Node:
    return min(fitting, key=lambda node: (-ledger.share(node), -ledger.tasks(node), node["hostname"]))


def _random(fitting: list[Node], ledger: _Ledger, rng: random.Random) -> Node:
    return rng.choice(fitting)


_PICKERS: dict[str, Picker] = {"spread": _spread, "binpack": _binpack, "random": _random}


def place(
    strategy: str,
    nodes: Sequence[Node],
    filters: Sequence[Filter],
    replicas: int,
    *,
    service: str,
    reservation_cpus: int = 0,
    reservation_memory: int = 0,
    rng: random.Random | None = None,
) -> Placement:
    """Choose the nodes for ``replicas`` tasks of ``service`` reserving nano-CPUs and bytes each."""
    if strategy not in _PICKERS:
        raise SwarmOpsError(f"unknown strategy {strategy!r}: use {', '.join(STRATEGIES)}")
    if replicas < 0:
        raise SwarmOpsError(f"replicas must be 0 or more, got {replicas}")
    hard = [spec for spec in filters if not spec.soft]
    candidates = _candidates(nodes, hard, replicas)
    candidates, applied, relaxed = _apply_soft(candidates, [spec for spec in filters if spec.soft])
    ledger = _Ledger(reservation_cpus, reservation_memory)
    assignments = _assign(_PICKERS[strategy], candidates, replicas, ledger, rng or random.Random())
    pinned = strategy != "spread"
    names = [node["hostname"] for node in candidates]
    native = [spec.native_constraint() for spec in hard]
    constraints = [constraint for constraint in native if constraint]
    marker = None
    if pinned or applied or None in native:
        marker = marker_label(service)
        constraints.append(f"node.labels.{marker}==true")
    return Placement(
        strategy=strategy,
        pinned=pinned,
        assignments=assignments,
        nodes=sorted(set(assignments)) if pinned else names,
        candidates=names,
        relaxed=[spec.text for spec in relaxed],
        constraints=constraints,
        marker=marker,
    )


def _unschedulable(node: Node) -> str | None:
    """Why Swarm would not start a task on ``node`` whatever the filters say."""
    availability = node["availability"]
    if availability != "active":
        return {"drain": "drained", "pause": "paused"}.get(availability, f"availability {availability}")
    if node["state"] != "ready":
        return f"not ready (state {node['state']})"
    return None


def _rejection(node: Node, hard: Sequence[Filter]) -> str | None:
    unschedulable = _unschedulable(node)
    if unschedulable:
        return unschedulable
    reasons = [reason for reason in (spec.reason(node) for spec in hard) if reason]
    return " and ".join(reasons) or None


def _candidates(nodes: Sequence[Node], hard: Sequence[Filter], replicas: int) -> list[Node]:
    ordered = sorted(nodes, key=lambda node: node["hostname"])
    rejections = {node["hostname"]: _rejection(node, hard) for node in ordered}
    candidates = [node for node in ordered if rejections[node["hostname"]] is None]
    if not candidates and replicas:
        listed = "; ".join(f"{host}: {reason}" for host, reason in rejections.items()) or "the swarm has no node"
        raise SwarmOpsError(f"no node satisfies the filters: {listed}")
    return candidates


def _apply_soft(candidates: list[Node], soft: Sequence[Filter]) -> tuple[list[Node], list[Filter], list[Filter]]:
    """Narrow the candidates by each soft filter in turn, ignoring those no candidate passes."""
    applied: list[Filter] = []
    relaxed: list[Filter] = []
    for spec in soft:
        kept = [node for node in candidates if spec.matches(node)]
        if kept:
            candidates = kept
            applied.append(spec)
        else:
            relaxed.append(spec)
    return candidates, applied, relaxed


def _assign(pick: Picker, candidates: list[Node], replicas: int, ledger: _Ledger, rng: random.Random) -> list[str]:
    assignments: list[str] = []
    while len(assignments) < replicas:
        fitting = [node for node in candidates if ledger.fits(node)]
        if not fitting:
            raise _does_not_fit(candidates, replicas, len(assignments), ledger)
        host = pick(fitting, ledger, rng)["hostname"]
        ledger.placed[host] += 1
        assignments.append(host)
    return assignments


def _does_not_fit(candidates: list[Node], replicas: int, placed: int, ledger: _Ledger) -> SwarmOpsError:
    free = ", ".join(
        f"{node['hostname']} {_cpus(node['cpus'] - node['reserved_cpus'])} and "
        f"{_bytes(node['memory'] - node['reserved_memory'])}"
        for node in candidates
    )
    return SwarmOpsError(
        f"only {placed} of {replicas} replicas fit, each reserving {_cpus(ledger.cpus)} and {_bytes(ledger.memory)}; "
        f"free on the candidate nodes: {free}"
    )


def _cpus(nano: int) -> str:
    return f"{nano / 1e9:.4g} CPU"


def _bytes(size: int) -> str:
    for unit, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(size) >= unit:
            return f"{size / unit:.4g} {name}"
    return f"{size} B"
