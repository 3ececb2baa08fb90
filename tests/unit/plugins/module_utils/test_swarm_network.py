"""Pure functions of the swarm_network module: address validation, overlap detection,
spec comparison, the manager check and who uses a network."""

from __future__ import annotations

import ipaddress
import re

import pytest

from ansible_collections.swarmops.cluster.plugins.module_utils import _swarm_network as net
from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError

URL = "unix:///var/run/docker.sock"


def params(**overrides):
    base = {
        "name": "server-overlay-network",
        "state": "present",
        "driver": "overlay",
        "attachable": True,
        "subnet": None,
        "gateway": None,
        "ip_range": None,
        "encrypted": False,
        "labels": None,
        "driver_options": None,
        "recreate": False,
    }
    base.update(overrides)
    return base


def inspect(**overrides):
    """`docker network inspect` data of an overlay network on a manager."""
    attrs = {
        "Name": "server-overlay-network",
        "Id": "n1",
        "Scope": "swarm",
        "Driver": "overlay",
        "Attachable": True,
        "IPAM": {"Driver": "default", "Options": None, "Config": [{"Subnet": "10.10.0.0/24", "Gateway": "10.10.0.1"}]},
        "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"},
        "Labels": {},
    }
    attrs.update(overrides)
    return attrs


# --- CIDR and address validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.0.0.300/24", "subnet='10.0.0.300/24' is not a valid IPv4 CIDR block"),
        ("10.0.0.0/33", "subnet='10.0.0.0/33' is not a valid IPv4 CIDR block"),
        ("10.0.0.0", "subnet='10.0.0.0' is not in CIDR notation"),
        ("overlay", "subnet='overlay' is not in CIDR notation"),
        ("fd00::/64", "subnet='fd00::/64' is an IPv6 block"),
        (
            "10.0.0.1/24",
            "subnet='10.0.0.1/24' has host bits set: a CIDR block starts at its network address; "
            "did you mean 10.0.0.0/24?",
        ),
    ],
)
def test_bad_cidr_is_refused_naming_the_value_and_the_form(value, message):
    with pytest.raises(SwarmOpsError, match=re.escape(message)):
        net.parse_cidr(value, "subnet")


@pytest.mark.parametrize(("value", "expected"), [("10.10.0.0/24", "10.10.0.0/24"), ("0.0.0.0/0", "0.0.0.0/0")])
def test_good_cidr_parses(value, expected):
    assert str(net.parse_cidr(value, "subnet")) == expected


@pytest.mark.parametrize(
    ("subnet", "gateway", "ip_range", "message"),
    [
        (
            "10.10.0.0/24",
            "10.10.1.1",
            None,
            "gateway='10.10.1.1' is not inside subnet 10.10.0.0/24: use an address from 10.10.0.1 to 10.10.0.254",
        ),
        ("10.10.0.0/24", "10.10.0.0", None, "gateway='10.10.0.0' is the network or broadcast address of subnet"),
        ("10.10.0.0/24", "10.10.0.255", None, "gateway='10.10.0.255' is the network or broadcast address of subnet"),
        ("10.10.0.0/24", "10.10.0.256", None, "gateway='10.10.0.256' is not an IPv4 address"),
        ("10.10.0.0/24", "10.10.0.0/24", None, "gateway='10.10.0.0/24' is not an IPv4 address"),
        ("10.10.0.0/24", "fd00::1", None, "gateway='fd00::1' is an IPv6 address"),
        (
            "10.10.0.0/24",
            None,
            "10.10.1.0/25",
            "ip_range='10.10.1.0/25' is not inside subnet 10.10.0.0/24: use a block within it, e.g. 10.10.0.0/25",
        ),
        ("10.10.0.0/24", None, "10.10.0.0/23", "ip_range='10.10.0.0/23' is not inside subnet 10.10.0.0/24"),
        ("10.10.0.0/24", None, "10.10.0.128", "ip_range='10.10.0.128' is not in CIDR notation"),
        (None, "10.10.0.1", None, "gateway='10.10.0.1' needs subnet"),
        (None, None, "10.10.0.0/25", "ip_range='10.10.0.0/25' needs subnet"),
    ],
)
def test_gateway_and_range_must_lie_in_the_subnet(subnet, gateway, ip_range, message):
    with pytest.raises(SwarmOpsError, match=re.escape(message)):
        net.validate_ipam(subnet, gateway, ip_range)


@pytest.mark.parametrize(
    ("subnet", "gateway", "ip_range"),
    [
        (None, None, None),
        ("10.10.0.0/24", None, None),
        ("10.10.0.0/24", "10.10.0.1", "10.10.0.128/25"),
        ("10.10.0.0/24", "10.10.0.254", "10.10.0.0/24"),
        ("10.10.0.0/31", "10.10.0.1", None),
    ],
)
def test_valid_ipam_is_accepted(subnet, gateway, ip_range):
    ipam = net.validate_ipam(subnet, gateway, ip_range)
    assert (str(ipam.subnet) if ipam.subnet else None) == subnet
    assert (str(ipam.gateway) if ipam.gateway else None) == gateway
    assert (str(ipam.ip_range) if ipam.ip_range else None) == ip_range


def test_ipam_request_carries_only_what_was_given():
    assert net.ipam_request(net.Ipam()) is None
    request = net.ipam_request(net.validate_ipam("10.10.0.0/24", None, "10.10.0.128/25"))
    assert request == {
        "Driver": "default",
        "Config": [{"Subnet": "10.10.0.0/24", "IPRange": "10.10.0.128/25"}],
        "Options": {},
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "name must not be empty"),
        ({"driver_options": {"encrypted": ""}}, "driver_options.encrypted='': use the option encrypted"),
        ({"encrypted": True, "driver": "bridge"}, "encrypted=true needs driver=overlay, not driver='bridge'"),
    ],
)
def test_option_combinations_docker_would_misread(overrides, message):
    with pytest.raises(SwarmOpsError, match=re.escape(message)):
        net.validate_options(params(**overrides))


# --- the manager check ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("swarm", "what"),
    [
        ({}, "not part of a swarm (swarm state: inactive)"),
        ({"LocalNodeState": "inactive", "ControlAvailable": False}, "not part of a swarm (swarm state: inactive)"),
        ({"LocalNodeState": "pending"}, "not part of a swarm (swarm state: pending)"),
        ({"LocalNodeState": "active", "ControlAvailable": False}, "a swarm worker, not a manager"),
    ],
)
def test_only_a_manager_may_run_it(swarm, what):
    with pytest.raises(SwarmOpsError) as caught:
        net.require_manager({"Swarm": swarm}, URL)
    assert f"the Docker engine at {URL} is {what}" in caught.value.msg
    assert "must run on a swarm manager" in caught.value.msg


def test_an_active_manager_passes():
    net.require_manager({"Swarm": {"LocalNodeState": "active", "ControlAvailable": True}}, URL)


# --- overlaps ------------------------------------------------------------------------------------

OTHERS = [("docker_gwbridge", "172.18.0.0/16"), ("ingress", "10.0.0.0/24"), ("v6", "fd00::/64"), ("odd", "junk")]


@pytest.mark.parametrize(
    ("subnet", "overlaps"),
    [
        ("10.0.0.0/24", [("ingress", "10.0.0.0/24")]),
        ("10.0.0.128/25", [("ingress", "10.0.0.0/24")]),
        ("10.0.0.0/8", [("ingress", "10.0.0.0/24")]),
        ("172.16.0.0/12", [("docker_gwbridge", "172.18.0.0/16")]),
        ("0.0.0.0/0", [("docker_gwbridge", "172.18.0.0/16"), ("ingress", "10.0.0.0/24")]),
        ("10.0.1.0/24", []),
        ("172.19.0.0/16", []),
    ],
)
def test_overlaps_are_found_in_ipv4_pools_only(subnet, overlaps):
    assert net.find_overlaps(ipaddress.IPv4Network(subnet), OTHERS) == overlaps


def test_overlap_message_names_the_network_and_its_subnet():
    error = net.overlap_error(ipaddress.IPv4Network("10.0.0.0/16"), [("ingress", "10.0.0.0/24")])
    assert "subnet 10.0.0.0/16 overlaps the subnet of network 'ingress' (10.0.0.0/24)" in error.msg
    assert error.details["overlaps"] == [{"network": "ingress", "subnet": "10.0.0.0/24"}]


def test_other_subnets_leave_out_the_managed_network_by_name_and_id():
    networks = [
        inspect(),
        inspect(Name="renamed", Id="n1"),
        inspect(Name="other", Id="n2", IPAM={"Config": [{"Subnet": "10.20.0.0/24"}, {"Subnet": "fd00::/64"}]}),
        inspect(Name="host", Id="n3", IPAM={"Config": []}),
        inspect(Name="none", Id="n4", IPAM=None),
    ]
    assert net.other_subnets(networks, "n1", "server-overlay-network") == [
        ("other", "10.20.0.0/24"),
        ("other", "fd00::/64"),
    ]
    assert ("server-overlay-network", "10.10.0.0/24") not in net.other_subnets(networks, None, "server-overlay-network")


# --- spec comparison -----------------------------------------------------------------------------


def test_wanted_spec_manages_address_labels_and_options_only_when_given():
    assert net.wanted_spec(params(), net.Ipam()) == {
        "driver": "overlay",
        "scope": "swarm",
        "attachable": True,
        "encrypted": False,
    }
    ipam = net.validate_ipam("10.10.0.0/24", "10.10.0.1", None)
    spec = net.wanted_spec(params(labels={"tier": 1}, driver_options={}), ipam)
    assert spec["subnet"] == "10.10.0.0/24"
    assert spec["gateway"] == "10.10.0.1"
    assert "ip_range" not in spec
    assert spec["labels"] == {"tier": "1"}
    assert spec["driver_options"] == {}


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({}, {"encrypted": False, "driver_options": {}, "subnet": "10.10.0.0/24", "gateway": "10.10.0.1"}),
        ({"Options": {"encrypted": "", "mtu": "1400"}}, {"encrypted": True, "driver_options": {"mtu": "1400"}}),
        ({"Options": None, "Labels": None}, {"encrypted": False, "driver_options": {}, "labels": {}}),
        (
            {
                "IPAM": {
                    "Config": [
                        {"Subnet": "fd00::/64"},
                        {"Subnet": "10.9.0.0/16", "Gateway": "10.9.0.1/16", "IPRange": "10.9.1.0/24"},
                    ]
                }
            },
            {"subnet": "10.9.0.0/16", "gateway": "10.9.0.1", "ip_range": "10.9.1.0/24"},
        ),
        ({"IPAM": {"Config": []}}, {"subnet": None, "gateway": None, "ip_range": None}),
        (
            {"Scope": "local", "Driver": "bridge", "Attachable": False},
            {"scope": "local", "driver": "bridge", "attachable": False},
        ),
    ],
)
def test_current_spec_reads_inspect_data(attrs, expected):
    current = net.current_spec(inspect(**attrs))
    assert {field: current[field] for field in expected} == expected


def test_engine_added_options_count_only_when_asked_for():
    vxlan = {"com.docker.network.driver.overlay.vxlanid_list": "4097"}
    assert net.current_spec(inspect())["driver_options"] == {}
    assert net.current_spec(inspect(), vxlan)["driver_options"] == vxlan


IPAM = net.validate_ipam("10.10.0.0/24", "10.10.0.1", None)


@pytest.mark.parametrize(
    ("overrides", "attrs", "mismatches"),
    [
        ({}, {}, []),
        ({"subnet": "10.10.0.0/24"}, {}, []),
        ({"labels": {}}, {"Labels": None}, []),
        ({"driver_options": {}}, {}, []),
        (
            {"labels": {"tier": "front"}},
            {"Labels": {"tier": "back"}},
            [("labels", {"tier": "back"}, {"tier": "front"})],
        ),
        ({"labels": {}}, {"Labels": {"tier": "back"}}, [("labels", {"tier": "back"}, {})]),
        ({}, {"Labels": {"tier": "back"}}, []),
        ({"attachable": False}, {}, [("attachable", True, False)]),
        ({"encrypted": True}, {}, [("encrypted", False, True)]),
        ({}, {"Options": {"encrypted": ""}}, [("encrypted", True, False)]),
        ({"subnet": "10.20.0.0/24"}, {}, [("subnet", "10.10.0.0/24", "10.20.0.0/24")]),
        ({"subnet": "10.10.0.0/24", "gateway": "10.10.0.254"}, {}, [("gateway", "10.10.0.1", "10.10.0.254")]),
        ({"subnet": "10.10.0.0/24", "ip_range": "10.10.0.0/25"}, {}, [("ip_range", None, "10.10.0.0/25")]),
        ({"driver_options": {"mtu": "1400"}}, {}, [("driver_options", {}, {"mtu": "1400"})]),
        (
            {"driver": "overlay", "attachable": True},
            {"Scope": "local", "Driver": "bridge"},
            [("driver", "bridge", "overlay"), ("scope", "local", "swarm")],
        ),
    ],
)
def test_compare_spec_names_each_differing_field(overrides, attrs, mismatches):
    p = params(**overrides)
    wanted = net.wanted_spec(p, net.validate_ipam(p["subnet"], p["gateway"], p["ip_range"]))
    current = net.current_spec(inspect(**attrs), wanted.get("driver_options"))
    assert net.compare_spec(wanted, current) == [net.Mismatch(*m) for m in mismatches]


def test_immutable_error_names_fields_with_current_and_wanted_values():
    error = net.immutable_error(
        "server-overlay-network",
        [net.Mismatch("attachable", True, False), net.Mismatch("labels", {"tier": "back"}, {"tier": "front"})],
    )
    assert "network 'server-overlay-network' exists with settings Docker cannot change in place" in error.msg
    assert "attachable is True, wanted False; labels is {'tier': 'back'}, wanted {'tier': 'front'}" in error.msg
    assert "recreate=true" in error.msg
    assert error.details["changes"] == ["attachable", "labels"]


# --- who uses a network --------------------------------------------------------------------------


def service(name, *targets, legacy=False):
    networks = [{"Target": target} for target in targets]
    spec = {"Name": name, "Networks": networks} if legacy else {"Name": name, "TaskTemplate": {"Networks": networks}}
    return {"ID": f"id-{name}", "Spec": spec}


@pytest.mark.parametrize(
    ("services", "users"),
    [
        ([], []),
        ([service("web", "n1")], ["web"]),
        ([service("web", "server-overlay-network")], ["web"]),
        ([service("old", "n1", legacy=True)], ["old"]),
        ([service("db", "n2"), service("web", "n9", "n1"), service("api")], ["web"]),
        ([{"ID": "x", "Spec": {}}], []),
    ],
)
def test_services_using_the_network_by_id_or_name(services, users):
    assert net.services_using("n1", "server-overlay-network", services) == users


def test_containers_of_named_services_are_not_listed_twice():
    containers = [
        ("web.1.abc", {net.SERVICE_LABEL: "web"}),
        ("probe", {}),
        ("other.1.def", {net.SERVICE_LABEL: "other"}),
    ]
    assert net.containers_using(containers, ["web"]) == ["other.1.def", "probe"]


@pytest.mark.parametrize(
    ("services", "containers", "users"),
    [
        (["web"], [], "in use by service(s) web;"),
        ([], ["probe"], "in use by container(s) probe;"),
        (["api", "web"], ["probe"], "in use by service(s) api, web and container(s) probe;"),
    ],
)
def test_in_use_error_names_the_users(services, containers, users):
    error = net.in_use_error("recreate", "server-overlay-network", services, containers)
    assert error.msg.startswith(f"cannot recreate network 'server-overlay-network': it is {users}")


# --- what the module returns ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "allocated"),
    [
        ({}, True),
        ({"Driver": "", "IPAM": {"Config": []}}, False),
        ({"Driver": "", "IPAM": {"Config": [{"Subnet": "10.10.0.0/24"}]}}, False),
        ({"IPAM": {"Config": None}}, False),
    ],
)
def test_a_network_is_allocated_once_it_has_a_driver_and_a_pool(attrs, allocated):
    assert net.is_allocated(inspect(**attrs)) is allocated


def test_network_view_reports_id_subnets_scope_and_flags():
    view = net.network_view(inspect(Options={"encrypted": ""}, Labels={"a": "b"}))
    assert view == {
        "id": "n1",
        "name": "server-overlay-network",
        "driver": "overlay",
        "scope": "swarm",
        "attachable": True,
        "encrypted": True,
        "subnets": ["10.10.0.0/24"],
        "labels": {"a": "b"},
    }


def test_planned_view_has_no_id_and_keeps_a_docker_chosen_subnet():
    wanted = net.wanted_spec(params(), net.Ipam())
    assert net.planned_view("n", wanted, None)["subnets"] == []
    assert net.planned_view("n", wanted, {"subnet": "10.0.1.0/24"})["subnets"] == ["10.0.1.0/24"]
    planned = net.planned_view("n", net.wanted_spec(params(subnet="10.10.0.0/24"), IPAM), None)
    assert planned["id"] is None
    assert planned["subnets"] == ["10.10.0.0/24"]
    assert planned["labels"] == {}
