"""swarm_service_set's checks of its entries, before any service changes (no engine needed)."""

from __future__ import annotations

import pytest

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_service_set import (
    ServiceSetDeployer,
    service_params,
)

CONNECTION = {"docker_host": "unix:///var/run/docker.sock", "consul_host": "10.0.0.5"}


def test_defaults_go_under_each_entry_and_the_connection_is_shared():
    params = service_params([{"name": "a"}, {"name": "b", "replicas": 3}], {"image": "i", "replicas": 2}, CONNECTION)
    assert [(p["name"], p["image"], p["replicas"]) for p in params] == [("a", "i", 2), ("b", "i", 3)]
    assert all(p["consul_host"] == "10.0.0.5" and p["strategy"] == "spread" for p in params)


@pytest.mark.parametrize(
    ("services", "defaults", "message"),
    [
        ([{"name": "a", "image": "i", "replcas": 2}], {}, "services[0] ('a'): unknown option(s) replcas"),
        ([{"name": "a", "image": "i"}], {"replcas": 2}, "defaults: unknown option(s) replcas"),
        ([{"name": "a"}], {}, "services[0] ('a'): state is present but all of the following are missing: image"),
        ([{"image": "i"}], {}, "services[0]: missing required arguments: name"),
        (["hello"], {}, "services[0]: must be a dict of swarm_service options, not 'hello'"),
        ([{"name": "a", "image": "i", "strategy": "tightest"}], {}, "services[0] ('a'): value of strategy must be"),
        ([{"name": "a", "image": "i"}, {"name": "a", "image": "j"}], {}, "service name(s) 'a' given more than once"),
    ],
)
def test_bad_entries_are_refused_naming_position_name_and_option(services, defaults, message):
    with pytest.raises(SwarmOpsError) as raised:
        service_params(services, defaults, CONNECTION)
    assert message in raised.value.msg


def test_every_bad_entry_is_named_in_one_error():
    with pytest.raises(SwarmOpsError) as raised:
        service_params([{"name": "a"}, {"name": "b", "image": "i", "replicas": "x"}], {}, CONNECTION)
    assert "services[0] ('a')" in raised.value.msg and "services[1] ('b')" in raised.value.msg


def test_a_value_swarm_service_refuses_is_refused_before_anything_runs():
    params = {**CONNECTION, "services": [{"name": "a", "image": "i", "wait_timeout": 0}], "defaults": {}}
    with pytest.raises(SwarmOpsError, match=r"services\[0\] \('a'\): wait_timeout=0 must be at least 1"):
        ServiceSetDeployer({**params, "concurrent": True}, check_mode=False)


def test_a_malformed_filter_is_refused_before_any_service_is_deployed():
    services = [{"name": "a", "image": "i"}, {"name": "b", "image": "i", "filters": ["kernelversion>>5"]}]
    params = {**CONNECTION, "services": services, "defaults": {}, "concurrent": True}
    with pytest.raises(SwarmOpsError, match=r"services\[1\] \('b'\): filter 'kernelversion>>5' is malformed"):
        ServiceSetDeployer(params, check_mode=False)
