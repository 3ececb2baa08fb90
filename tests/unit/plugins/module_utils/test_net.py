"""Address resolution: IPs, interface names, defaults, and the errors for the rest."""

from __future__ import annotations

import re

import pytest

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._net import (
    default_route_interface,
    resolve_address,
)

IFACES = {"lo": "127.0.0.1", "eth0": "10.0.0.5", "eth1": "192.0.2.10"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("eth1", "192.0.2.10"), ("10.0.0.5", "10.0.0.5"), (None, "10.0.0.5"), ("", "10.0.0.5")],
)
def test_resolves_interfaces_ips_and_the_default(value, expected):
    assert resolve_address(value, "bind_addr", IFACES, "eth0") == expected


def test_any_only_where_allowed():
    assert resolve_address("0.0.0.0", "client_addr", IFACES, "eth0", allow_any=True) == "0.0.0.0"
    with pytest.raises(SwarmOpsError, match=re.escape("bind_addr='0.0.0.0' is not allowed")):
        resolve_address("0.0.0.0", "bind_addr", IFACES, "eth0")


def test_not_an_ip_nor_interface_names_value_and_choices():
    with pytest.raises(SwarmOpsError) as caught:
        resolve_address("eth9", "bind_addr", IFACES, "eth0")
    assert "bind_addr='eth9' is neither an IP address nor an interface" in caught.value.msg
    assert "eth1 (192.0.2.10)" in caught.value.msg


def test_foreign_ip_fails_only_when_it_must_be_local():
    with pytest.raises(SwarmOpsError, match=re.escape("'203.0.113.9' is not an address of this host")):
        resolve_address("203.0.113.9", "bind_addr", IFACES, "eth0")
    assert resolve_address("203.0.113.9", "advertise_addr", IFACES, "eth0", must_be_local=False) == "203.0.113.9"


def test_no_default_route_asks_for_a_value():
    with pytest.raises(SwarmOpsError, match=re.escape("no IPv4 default route")):
        resolve_address(None, "bind_addr", IFACES, None)


def test_default_route_interface_reads_the_route_table(tmp_path):
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\neth1\t0002000A\t00000000\t0001\neth0\t00000000\t0100000A\t0003\n"
    )
    assert default_route_interface(str(table)) == "eth0"
    assert default_route_interface(str(tmp_path / "missing")) is None
