"""Classic Swarm placement: filter parsing, matching and native translation, and the
spread, binpack and random strategies over node facts."""

from __future__ import annotations

import random

import pytest

from ansible_collections.swarmops.cluster.plugins.module_utils import _placement as placement
from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._placement import parse_filter, parse_filters, place

CPU = 10**9
GIB = 2**30
NODE1_ID = "3x0ifmw2tmqkhbt7jlm1ov0yb"


def node(hostname, labels=None, **facts):
    """Facts of a ready, active worker with 4 CPUs and 4 GiB, nothing reserved."""
    base = {
        "id": f"id-{hostname}",
        "hostname": hostname,
        "role": "worker",
        "availability": "active",
        "state": "ready",
        "labels": {
            "swarmops.operatingsystem": "Debian GNU/Linux 12 (bookworm)",
            "swarmops.ostype": "linux",
            "swarmops.kernelversion": "6.1.0-18-amd64",
            "swarmops.storagedriver": "overlay2",
            "swarmops.architecture": "x86_64",
            "swarmops.engineversion": "20.10.24",
            **(labels or {}),
        },
        "cpus": 4 * CPU,
        "memory": 4 * GIB,
        "reserved_cpus": 0,
        "reserved_memory": 0,
        "tasks": 0,
        "services": [],
    }
    base.update(facts)
    return base


MASTER0 = node("master0", role="manager", availability="drain")
NODE0 = node("node0", {"disk": "ssd", "com.example.rack": "r1"})
NODE1 = node(
    "node1",
    {
        "disk": "hdd",
        "swarmops.kernelversion": "5.10.0-28-amd64",
        "swarmops.storagedriver": "vfs",
        "swarmops.operatingsystem": "Ubuntu 22.04.4 LTS",
        "swarmops.architecture": "aarch64",
        "swarmops.engineversion": "24.0.7",
    },
    id=NODE1_ID,
    services={"world"},
    tasks=1,
)
NODE2 = node("node2", {"swarmops.ostype": "windows"}, services=["hello", "hello-world"], tasks=2)
NODE3 = node("node3", state="down")
CLUSTER = [NODE2, MASTER0, NODE1, NODE3, NODE0]


def matching(text, nodes=None):
    return sorted(n["hostname"] for n in nodes or CLUSTER if parse_filter(text).matches(n))


def by_name(hostname):
    return next(n for n in CLUSTER if n["hostname"] == hostname)


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("node==node1", ("node", "==", "node1", "exact", False, False)),
        ("node!=node1", ("node", "!=", "node1", "exact", False, True)),
        ("node==~node1", ("node", "==~", "node1", "exact", True, False)),
        ("node!=~node1", ("node", "!=~", "node1", "exact", True, True)),
        ("kernelversion==6.*", ("kernelversion", "==", "6.*", "glob", False, False)),
        ("node==node?", ("node", "==", "node?", "glob", False, False)),
        ("node==node[01]", ("node", "==", "node[01]", "glob", False, False)),
        ("kernelversion==/5\\.10\\..*/", ("kernelversion", "==", "/5\\.10\\..*/", "regex", False, False)),
        ("label.com.example.rack!=~/r[0-9]/", ("label.com.example.rack", "!=~", "/r[0-9]/", "regex", True, True)),
        ("constraint:node==node1", ("node", "==", "node1", "exact", False, False)),
        ("affinity:service==hello", ("service", "==", "hello", "exact", False, False)),
        ("affinity:service!=~hello", ("service", "!=~", "hello", "exact", True, True)),
        ("  storagedriver == overlay2 ", ("storagedriver", "==", "overlay2", "exact", False, False)),
        (
            "operatingsystem==Debian GNU/Linux 12 (bookworm)",
            ("operatingsystem", "==", "Debian GNU/Linux 12 (bookworm)", "exact", False, False),
        ),
        ("health==healthy", ("health", "==", "healthy", "exact", False, False)),
    ],
)
def test_parse_filter(text, parsed):
    spec = parse_filter(text)
    assert spec.text == text
    assert (spec.key, spec.operator, spec.value, spec.kind, spec.soft, spec.negated) == parsed


SYNTAX = "write KEY==VALUE, KEY!=VALUE, KEY==~VALUE or KEY!=~VALUE"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kernelversion=>5", f"filter 'kernelversion=>5' is malformed: {SYNTAX}"),
        ("node=node1", f"filter 'node=node1' is malformed: {SYNTAX}"),
        ("==x", f"filter '==x' is malformed: {SYNTAX}"),
        ("node", f"filter 'node' is malformed: {SYNTAX}"),
        ("", f"filter '' is malformed: {SYNTAX}"),
        ("node===node1", f"filter 'node===node1' is malformed: {SYNTAX}"),
        ("node!==node1", f"filter 'node!==node1' is malformed: {SYNTAX}"),
        ("node>=node1", f"filter 'node>=node1' is malformed: {SYNTAX}"),
        ("node name==node1", f"filter 'node name==node1' is malformed: {SYNTAX}"),
        ("constraint:", f"filter 'constraint:' is malformed: {SYNTAX}"),
        ("node==", "filter 'node==' is malformed: the value is empty"),
        ("node==~  ", "filter 'node==~  ' is malformed: the value is empty"),
        (
            "node==/node[0-9]",
            "filter 'node==/node[0-9]' is malformed: the regular expression '/node[0-9]' is not closed",
        ),
        ("node==/", "filter 'node==/' is malformed: the regular expression '/' is not closed: write /REGEX/"),
        ("node==//", "filter 'node==//' is malformed: the regular expression is empty: write /REGEX/"),
        ("node==/node(/", "filter 'node==/node(/' is malformed: invalid regular expression 'node(': missing ), "),
        ("label.disk==/*ssd/", "filter 'label.disk==/*ssd/' is malformed: invalid regular expression '*ssd': nothing"),
    ],
)
def test_malformed_filters_name_the_text_and_the_syntax(text, message):
    with pytest.raises(SwarmOpsError) as error:
        parse_filter(text)
    assert error.value.msg.startswith(message)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("kernel==5", "kernel"),
        ("disk==ssd", "disk"),
        ("constraint:storage==ssd", "storage"),
        ("label.==ssd", "label."),
        ("labels.disk==ssd", "labels.disk"),
        ("Node==node1", "Node"),
        ("ncpu==4", "ncpu"),
        ("affinity:container==web", "container"),
    ],
)
def test_unknown_keys_list_the_valid_ones_and_the_label_syntax(text, key):
    with pytest.raises(SwarmOpsError) as error:
        parse_filter(text)
    assert error.value.msg == (
        f"filter {text!r} has an unknown key {key!r}: valid keys are node, health, service, operatingsystem, "
        "ostype, storagedriver, kernelversion, architecture, engineversion; node labels, user labels included, "
        "are written label.NAME (e.g. label.disk==ssd)"
    )


@pytest.mark.parametrize("text", ["health==ok", "health!=Healthy", "health==~up"])
def test_health_takes_healthy_or_unhealthy(text):
    with pytest.raises(SwarmOpsError, match=r"unknown health value .*: write health==healthy or health==unhealthy"):
        parse_filter(text)


def test_parse_filters_keeps_order_and_stops_at_the_first_bad_one():
    specs = parse_filters(["node!=node1", "label.disk==~ssd", "service==hello"])
    assert [spec.key for spec in specs] == ["node", "label.disk", "service"]
    with pytest.raises(SwarmOpsError, match="filter 'disk==ssd' has an unknown key"):
        parse_filters(["node==node1", "disk==ssd"])
    assert parse_filters([]) == []


# --- matching ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # node: hostname or id, exact / glob / regex, case-sensitive, full match
        ("node==node1", ["node1"]),
        (f"node=={NODE1_ID}", ["node1"]),
        ("node==id-node0", ["node0"]),
        ("node!=node1", ["master0", "node0", "node2", "node3"]),
        ("node==node*", ["node0", "node1", "node2", "node3"]),
        ("node==node?", ["node0", "node1", "node2", "node3"]),
        ("node==node[02]", ["node0", "node2"]),
        ("node!=node[!0]", ["master0", "node0"]),
        ("node==/node[12]/", ["node1", "node2"]),
        ("node==/node/", []),
        ("node==/.*0/", ["master0", "node0"]),
        ("node==NODE1", []),
        ("node==NODE*", []),
        ("node==/NODE1/", []),
        ("node==node", []),
        ("node==*1", ["node1"]),
        # attributes, through the swarmops.<key> labels
        ("kernelversion==6.*", ["master0", "node0", "node2", "node3"]),
        ("kernelversion==/5\\.10\\..*/", ["node1"]),
        ("kernelversion!=6.*", ["node1"]),
        ("kernelversion==6.1", []),
        ("operatingsystem==Debian GNU/Linux 12 (bookworm)", ["master0", "node0", "node2", "node3"]),
        ("operatingsystem==Ubuntu*", ["node1"]),
        ("ostype==windows", ["node2"]),
        ("ostype!=linux", ["node2"]),
        ("storagedriver==vfs", ["node1"]),
        ("storagedriver!=vfs", ["master0", "node0", "node2", "node3"]),
        ("architecture==aarch64", ["node1"]),
        ("architecture==/x86_64|amd64/", ["master0", "node0", "node2", "node3"]),
        ("engineversion==24.*", ["node1"]),
        # user labels; != also matches nodes without the label (as Swarm does)
        ("label.disk==ssd", ["node0"]),
        ("label.disk!=ssd", ["master0", "node1", "node2", "node3"]),
        ("label.disk==*", ["node0", "node1"]),
        ("label.com.example.rack==r1", ["node0"]),
        ("label.swarmops.kernelversion==5.*", ["node1"]),
        ("label.missing==*", []),
        # health: ready and active
        ("health==healthy", ["node0", "node1", "node2"]),
        ("health==unhealthy", ["master0", "node3"]),
        ("health!=healthy", ["master0", "node3"]),
        # affinity and anti-affinity
        ("service==hello", ["node2"]),
        ("service!=hello", ["master0", "node0", "node1", "node3"]),
        ("service==hello*", ["node2"]),
        ("service==/w.*/", ["node1"]),
        ("service==hell", []),
        # aliases and soft operators match like their hard forms
        ("constraint:node==node1", ["node1"]),
        ("affinity:service==world", ["node1"]),
        ("node==~node1", ["node1"]),
        ("label.disk!=~ssd", ["master0", "node1", "node2", "node3"]),
    ],
)
def test_filter_matches(text, expected):
    assert matching(text) == expected


@pytest.mark.parametrize(
    ("text", "hostname", "reason"),
    [
        ("kernelversion==5.*", "node0", "kernelversion is 6.1.0-18-amd64, not 5.*"),
        ("kernelversion==/5\\..*/", "node0", "kernelversion is 6.1.0-18-amd64, not /5\\..*/"),
        ("kernelversion!=5.*", "node1", "kernelversion is 5.10.0-28-amd64, excluded by kernelversion!=5.*"),
        ("node==node1", "node0", "node is node0, not node1"),
        (f"constraint:node!={NODE1_ID}", "node1", f"node is node1, excluded by constraint:node!={NODE1_ID}"),
        ("label.disk==ssd", "node1", "label.disk is hdd, not ssd"),
        ("label.disk==ssd", "node2", "label.disk is not set"),
        ("label.disk!=hdd", "node1", "label.disk is hdd, excluded by label.disk!=hdd"),
        ("service==hello", "node1", "runs no task of service hello"),
        ("service!=hello*", "node2", "runs a task of service hello"),
        ("health==healthy", "node3", "health is unhealthy (state down, availability active), not healthy"),
        ("health==healthy", "master0", "health is unhealthy (state ready, availability drain), not healthy"),
        ("health==unhealthy", "node0", "health is healthy, not unhealthy"),
        ("kernelversion==6.*", "node0", None),
        ("label.disk!=ssd", "node2", None),
        ("service!=hello", "node0", None),
    ],
)
def test_reason_says_why_a_node_does_not_match(text, hostname, reason):
    spec = parse_filter(text)
    assert spec.reason(by_name(hostname)) == reason
    assert spec.matches(by_name(hostname)) is (reason is None)


@pytest.mark.parametrize(
    ("text", "constraint"),
    [
        ("node==node1", "node.hostname==node1"),
        ("node!=node1", "node.hostname!=node1"),
        ("constraint:node==node1", "node.hostname==node1"),
        (f"node=={NODE1_ID}", f"node.id=={NODE1_ID}"),
        ("kernelversion==6.1.0-18-amd64", "node.labels.swarmops.kernelversion==6.1.0-18-amd64"),
        ("operatingsystem!=Ubuntu 22.04", "node.labels.swarmops.operatingsystem!=Ubuntu 22.04"),
        ("ostype==linux", "node.labels.swarmops.ostype==linux"),
        ("storagedriver==overlay2", "node.labels.swarmops.storagedriver==overlay2"),
        ("architecture==x86_64", "node.labels.swarmops.architecture==x86_64"),
        ("engineversion==20.10.24", "node.labels.swarmops.engineversion==20.10.24"),
        ("label.disk==ssd", "node.labels.disk==ssd"),
        ("label.com.example.rack!=r1", "node.labels.com.example.rack!=r1"),
        # decided at deploy time: globs, regexes, soft, health, service, what Swarm cannot parse
        ("node==node*", None),
        ("node==/node1/", None),
        ("kernelversion==6.?", None),
        ("label.disk==[sh]dd", None),
        ("node==~node1", None),
        ("label.disk!=~ssd", None),
        ("health==healthy", None),
        ("service==hello", None),
        ("service!=hello", None),
        ("label.owner==a@b", None),
        ("label.tier==a=b", None),
        ("label.com/rack==r1", None),
    ],
)
def test_native_constraint(text, constraint):
    assert parse_filter(text).native_constraint() == constraint


# --- placement -----------------------------------------------------------------------------------


def workers(*reserved, cpus=4 * CPU, memory=4 * GIB):
    """Workers w0, w1, ... with (reserved_cpus, reserved_memory, tasks) each."""
    return [
        node(f"w{index}", cpus=cpus, memory=memory, reserved_cpus=rc, reserved_memory=rm, tasks=tasks)
        for index, (rc, rm, tasks) in enumerate(reserved)
    ]


def run(strategy, nodes=None, filters=(), replicas=1, **kwargs):
    nodes = CLUSTER if nodes is None else nodes
    kwargs.setdefault("service", "hello")
    return place(strategy, nodes, parse_filters(filters), replicas, **kwargs)


@pytest.mark.parametrize(
    ("strategy", "replicas", "message"),
    [
        ("fill", 1, "unknown strategy 'fill': use spread, binpack, random"),
        ("Spread", 1, "unknown strategy 'Spread': use spread, binpack, random"),
        ("spread", -1, "replicas must be 0 or more, got -1"),
    ],
)
def test_bad_requests(strategy, replicas, message):
    with pytest.raises(SwarmOpsError) as error:
        run(strategy, replicas=replicas)
    assert error.value.msg == message


@pytest.mark.parametrize("strategy", placement.STRATEGIES)
def test_only_ready_active_nodes_are_candidates(strategy):
    paused = node("node4", availability="pause")
    result = run(strategy, [*CLUSTER, paused], replicas=6)
    assert result.candidates == ["node0", "node1", "node2"]
    assert set(result.assignments) <= {"node0", "node1", "node2"}
    assert len(result.assignments) == 6


@pytest.mark.parametrize("strategy", placement.STRATEGIES)
def test_drained_manager_is_never_chosen_even_when_named(strategy):
    with pytest.raises(SwarmOpsError) as error:
        run(strategy, filters=["node==master*"])
    assert error.value.msg == (
        "no node satisfies the filters: master0: drained; node0: node is node0, not master*; "
        "node1: node is node1, not master*; node2: node is node2, not master*; node3: not ready (state down)"
    )


def test_an_active_manager_is_a_candidate():
    manager = node("master1", role="manager")
    assert run("binpack", [MASTER0, manager], replicas=2).assignments == ["master1", "master1"]


def test_no_candidate_lists_every_node_with_all_its_reasons():
    nodes = [*CLUSTER, node("node4", availability="pause"), node("node5", availability="unknown")]
    with pytest.raises(SwarmOpsError) as error:
        run("spread", nodes, ["kernelversion==5.*", "label.disk!=hdd", "service!=world", "node!=~node0"])
    assert error.value.msg == (
        "no node satisfies the filters: master0: drained; "
        "node0: kernelversion is 6.1.0-18-amd64, not 5.*; "
        "node1: label.disk is hdd, excluded by label.disk!=hdd and runs a task of service world; "
        "node2: kernelversion is 6.1.0-18-amd64, not 5.*; "
        "node3: not ready (state down); node4: paused; node5: availability unknown"
    )


def test_no_node_at_all():
    with pytest.raises(SwarmOpsError, match=r"^no node satisfies the filters: the swarm has no node$"):
        run("spread", [])


@pytest.mark.parametrize(
    ("filters", "candidates", "relaxed"),
    [
        (["label.disk==~ssd"], ["node0"], []),
        (["label.disk==~nvme"], ["node0", "node1", "node2"], ["label.disk==~nvme"]),
        (["label.disk!=~ssd"], ["node1", "node2"], []),
        (["node!=~node*"], ["node0", "node1", "node2"], ["node!=~node*"]),
        # a soft filter only the hard filters' rejects pass is relaxed
        (["kernelversion==6.*", "label.disk==~hdd"], ["node0", "node2"], ["label.disk==~hdd"]),
        # soft filters narrow in turn; one that would empty the set is ignored, the next still applies
        (["service!=~world", "ostype==~solaris", "label.disk==~*"], ["node0"], ["ostype==~solaris"]),
        (["affinity:service==~hello"], ["node2"], []),
    ],
)
def test_soft_filters_prefer_and_relax(filters, candidates, relaxed):
    result = run("spread", filters=filters, replicas=0)
    assert result.candidates == candidates
    assert result.relaxed == relaxed


def test_spread_is_swarms_own_and_unpinned():
    result = run("spread", replicas=4)
    assert result.pinned is False
    assert result.candidates == result.nodes == ["node0", "node1", "node2"]
    # one per node first (fewest tasks of this service, then fewest tasks), then the least busy
    assert result.assignments == ["node0", "node1", "node2", "node0"]
    assert result.constraints == []
    assert result.marker is None


def test_spread_respects_reservations():
    nodes = workers((3 * CPU, 0, 0), (0, 0, 5), (0, 0, 9))
    result = run("spread", nodes, replicas=3, reservation_cpus=2 * CPU)
    assert result.assignments == ["w1", "w2", "w1"]


@pytest.mark.parametrize(
    ("filters", "constraints"),
    [
        (["node!=node1", "label.disk!=hdd"], ["node.hostname!=node1", "node.labels.disk!=hdd"]),
        (["node!=node1", "kernelversion==6.*"], ["node.hostname!=node1", "node.labels.swarmops.place.hello==true"]),
        (["service!=world"], ["node.labels.swarmops.place.hello==true"]),
        (["health==healthy"], ["node.labels.swarmops.place.hello==true"]),
        (["label.disk==~ssd"], ["node.labels.swarmops.place.hello==true"]),
        (["node!=node1", "label.disk==~nvme"], ["node.hostname!=node1"]),
    ],
)
def test_spread_adds_the_marker_only_for_what_swarm_cannot_express(filters, constraints):
    result = run("spread", filters=filters, replicas=2)
    assert result.constraints == constraints
    marked = constraints[-1].endswith("place.hello==true")
    assert result.marker == ("swarmops.place.hello" if marked else None)
    assert result.nodes == result.candidates


@pytest.mark.parametrize(
    ("nodes", "replicas", "reservation", "assignments"),
    [
        # the most used node (by CPU share) first, until it is full, then the next most used
        (
            workers((0, 0, 0), (1 * CPU, 0, 0), (0, 0, 0)),
            5,
            (CPU, 0),
            ["w1", "w1", "w1", "w0", "w0"],
        ),
        # memory share counts as well: w0 is 75% used by memory, w1 50% by CPU
        (workers((0, 3 * GIB, 0), (2 * CPU, 0, 0)), 2, (0, GIB), ["w0", "w1"]),
        # the share is the larger of CPU and memory, not their mean: 75% beats 50%
        (workers((0, 3 * GIB, 0), (2 * CPU, 2 * GIB, 0)), 1, (CPU, 0), ["w0"]),
        # equal shares: more tasks first, then hostname
        (workers((CPU, 0, 1), (CPU, 0, 3), (CPU, 0, 3)), 1, (CPU, 0), ["w1"]),
        (workers((0, 0, 0), (0, 0, 0)), 1, (CPU, 0), ["w0"]),
        # no reservation: everything on the busiest node
        (workers((0, 0, 1), (0, 0, 4), (0, 0, 2)), 4, (0, 0), ["w1", "w1", "w1", "w1"]),
        # a node that is used most but cannot fit one more is skipped
        (workers((CPU, 0, 0), (int(3.5 * CPU), 0, 9)), 2, (CPU, 0), ["w0", "w0"]),
    ],
)
def test_binpack_fills_the_most_used_node_then_the_next(nodes, replicas, reservation, assignments):
    cpus, memory = reservation
    result = run("binpack", nodes, replicas=replicas, reservation_cpus=cpus, reservation_memory=memory)
    assert result.assignments == assignments
    assert result.nodes == sorted(set(assignments))
    assert result.pinned is True
    assert result.constraints == ["node.labels.swarmops.place.hello==true"]
    assert result.marker == "swarmops.place.hello"


def test_binpack_keeps_native_constraints_before_the_marker():
    result = run("binpack", filters=["label.disk!=hdd", "node==node*"], replicas=2, service="web")
    assert result.assignments == ["node2", "node2"]
    assert result.constraints == ["node.labels.disk!=hdd", "node.labels.swarmops.place.web==true"]
    assert result.marker == "swarmops.place.web"


def test_random_is_reproducible_with_a_seeded_rng():
    first = run("random", replicas=8, rng=random.Random(7))
    second = run("random", replicas=8, rng=random.Random(7))
    assert first.assignments == second.assignments
    assert set(first.assignments) <= {"node0", "node1", "node2"}
    assert first.pinned is True
    assert first.nodes == sorted(set(first.assignments))


def test_random_uses_more_than_one_node_over_seeds():
    picks = {run("random", rng=random.Random(seed)).assignments[0] for seed in range(30)}
    assert picks == {"node0", "node1", "node2"}


def test_random_never_picks_a_node_that_does_not_fit():
    nodes = workers((0, 0, 0), (0, int(3.5 * GIB), 0), (0, 0, 0))
    for seed in range(40):
        result = run("random", nodes, replicas=3, reservation_memory=GIB, rng=random.Random(seed))
        assert "w1" not in result.assignments


def test_random_fills_exactly_to_capacity():
    nodes = workers((2 * CPU, 0, 0), (3 * CPU, 0, 0))
    result = run("random", nodes, replicas=3, reservation_cpus=CPU, rng=random.Random(1))
    assert sorted(result.assignments) == ["w0", "w0", "w1"]


@pytest.mark.parametrize("strategy", placement.STRATEGIES)
def test_replicas_that_do_not_fit_name_the_reservation_and_the_free_resources(strategy):
    nodes = workers((int(3.5 * CPU), GIB, 0), (int(2.5 * CPU), 3 * GIB + 512 * 2**20, 0))
    with pytest.raises(SwarmOpsError) as error:
        run(strategy, nodes, replicas=3, reservation_cpus=CPU // 2, reservation_memory=512 * 2**20)
    assert error.value.msg == (
        "only 2 of 3 replicas fit, each reserving 0.5 CPU and 512 MiB; "
        "free on the candidate nodes: w0 0.5 CPU and 3 GiB, w1 1.5 CPU and 512 MiB"
    )


def test_a_zero_reservation_always_fits():
    nodes = workers((5 * CPU, 5 * GIB, 0))  # overcommitted: nothing free
    assert run("binpack", nodes, replicas=3, reservation_memory=0).assignments == ["w0"] * 3
    with pytest.raises(SwarmOpsError, match=r"^only 0 of 1 replicas fit, each reserving 0 CPU and 1 B;"):
        run("binpack", nodes, replicas=1, reservation_memory=1)


@pytest.mark.parametrize("strategy", placement.STRATEGIES)
def test_zero_replicas_place_nothing_and_never_fail_on_candidates(strategy):
    result = run(strategy, filters=["node==nowhere"], replicas=0)
    assert result.assignments == []
    assert result.candidates == []
    with pytest.raises(SwarmOpsError, match="is malformed"):
        run(strategy, filters=["node=nowhere"], replicas=0)


def test_as_dict_is_the_module_output():
    result = run("binpack", filters=["label.disk!=hdd", "label.disk==~nvme"], replicas=2, service="web")
    assert result.as_dict() == {
        "strategy": "binpack",
        "pinned": True,
        "assignments": ["node2", "node2"],
        "nodes": ["node2"],
        "candidates": ["node0", "node2"],
        "relaxed": ["label.disk==~nvme"],
        "constraints": ["node.labels.disk!=hdd", "node.labels.swarmops.place.web==true"],
        "marker": "swarmops.place.web",
    }
