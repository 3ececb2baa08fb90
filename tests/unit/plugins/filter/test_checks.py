"""The filters the roles check their inputs with: the modules' own rules, one message per problem."""

from __future__ import annotations

import pytest

from ansible_collections.swarmops.cluster.plugins.filter.checks import (
    cidr_error,
    cluster_name_error,
    heartbeat_error,
    service_list_errors,
)

RULE = "1-63 characters of a-z, 0-9, '-' and '_', starting and ending with a letter or digit"


@pytest.mark.parametrize("name", ["lab", "a", "prod-eu_1", "0", "x" * 63])
def test_a_valid_cluster_name_has_no_error(name):
    assert cluster_name_error(name) == ""


@pytest.mark.parametrize("name", ["", "-lab", "lab-", "_lab", "lab_", "Lab", "x" * 64, "a/b", "a.b", "a b", 7, None])
def test_a_cluster_name_the_key_layout_refuses_is_named_with_the_rule(name):
    assert cluster_name_error(name) == f"cluster name {name!r} is not allowed in a Consul key: use {RULE}"


def test_cidr_error_names_the_variable_and_what_is_wrong():
    assert cidr_error("10.10.0.0/16", "pool") == ""
    assert "did you mean 10.10.0.0/24?" in cidr_error("10.10.0.1/24", "pool")
    assert cidr_error("10.10.0.0", "pool").startswith("pool='10.10.0.0' is not in CIDR notation")
    assert cidr_error(["10.10.0.0/16"], "pool").startswith("pool=['10.10.0.0/16'] is not a string")


@pytest.mark.parametrize("value", [1, 5, 3600, "2", " 7 ", None])
def test_a_heartbeat_swarm_manager_takes_has_no_error(value):
    """None is the module's "leave the swarm's setting alone"."""
    assert heartbeat_error(value, "hb") == ""


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), ("0", "0"), (-1, "-1"), (3601, "3601"), ("soon", "'soon'"), (2.5, "2.5"), ([2], "[2]")],
)
def test_a_heartbeat_error_names_the_variable_the_value_and_the_range(value, shown):
    assert heartbeat_error(value, "hb").startswith(f"hb={shown} is not a heartbeat period: use 1-3600 seconds")


def test_the_walkthroughs_services_have_no_error():
    services = [{"name": name, "image": f"swarmops/{name}:0.1.0"} for name in ("hello", "world", "hello-world")]
    defaults = {"networks": ["server-overlay-network"], "endpoint_mode": "dnsrr", "catalog_port": 8080}
    assert service_list_errors(services, defaults) == []
    assert service_list_errors([]) == []


@pytest.mark.parametrize(
    ("services", "defaults", "errors"),
    [
        (
            [{"name": "hello", "replica": 2}],
            None,
            ["service 'hello' (swarm_services_list[0]) has unknown key 'replica' (did you mean 'replicas'?); valid"],
        ),
        (
            [{"name": "hello", "zzz": 1}],
            None,
            ["service 'hello' (swarm_services_list[0]) has unknown key 'zzz'; valid"],
        ),
        ([{"image": "x"}], None, ["swarm_services_list[0] has no name (keys: image)"]),
        ([{"name": ""}], None, ["swarm_services_list[0] has no name (keys: name)"]),
        (
            [{"name": "a"}, {"name": "a"}],
            None,
            ["service 'a' is listed twice (swarm_services_list[0] and [1]): each name is one service"],
        ),
        ([{"name": "a"}], {"endpoint_mod": "dnsrr"}, ["swarm_services_defaults has unknown key 'endpoint_mod' (did"]),
        ([{"name": "a"}], {"name": "b"}, ["swarm_services_defaults sets 'name': each entry"]),
        (
            [{"name": "a", "replicas": "two"}],
            None,
            ["service 'a' (swarm_services_list[0]): argument 'replicas' is of type"],
        ),
        (
            [{"name": "a"}],
            {"strategy": "pack"},
            ["service 'a' (swarm_services_list[0]): value of strategy must be one of"],
        ),
        (
            [{"name": "a", "filters": ["node=node1"]}],
            None,
            ["service 'a' (swarm_services_list[0]): filter 'node=node1'"],
        ),
        (["hello"], None, ["swarm_services_list[0] must be a mapping of swarm_service options, not 'hello'"]),
        ("hello", None, ["swarm_services_list must be a list of services, not 'hello'"]),
        ([{"name": "a"}], ["networks"], ["swarm_services_defaults must be a mapping of swarm_service options"]),
    ],
    ids=[
        "typo",
        "unknown",
        "no-name",
        "empty-name",
        "twice",
        "defaults-typo",
        "defaults-name",
        "type",
        "choice-from-defaults",
        "filter",
        "not-a-mapping",
        "not-a-list",
        "defaults-not-a-mapping",
    ],
)
def test_each_problem_of_a_service_list_is_named(services, defaults, errors):
    found = service_list_errors(services, defaults)
    assert len(found) == len(errors), found
    for message, start in zip(found, errors, strict=True):
        assert message.startswith(start), (message, start)


def test_every_problem_is_reported_at_once():
    found = service_list_errors([{"name": "a", "replica": 1}, {"image": "x"}, {"name": "a", "mode": "x"}])
    assert [message.split(" ")[0:2] for message in found] == [
        ["service", "'a'"],
        ["swarm_services_list[1]", "has"],
        ["service", "'a'"],
        ["service", "'a'"],
    ]
