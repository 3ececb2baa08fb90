# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn what a user writes for an address (an IP or an interface name such as
``eth1``) into an IPv4 address of this host, with messages that say what is valid."""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError

_SIOCGIFADDR = 0x8915
ANY = "0.0.0.0"


def interface_ipv4(name: str) -> str | None:
    """The primary IPv4 address of interface ``name``, or None if it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def host_interfaces() -> dict[str, str]:
    """Interface name to primary IPv4 address, for every interface that has one."""
    found = {}
    for _index, name in socket.if_nameindex():
        address = interface_ipv4(name)
        if address:
            found[name] = address
    return found


def default_route_interface(route_table: str = "/proc/net/route") -> str | None:
    """The interface of the IPv4 default route, read from the kernel's route table."""
    try:
        with open(route_table, encoding="ascii") as table:
            rows = [line.split() for line in table.readlines()[1:]]
    except OSError:
        return None
    for row in rows:
        if len(row) > 1 and row[1] == "00000000":
            return row[0]
    return None


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def resolve_address(
    value: str | None,
    option: str,
    interfaces: dict[str, str],
    default_interface: str | None,
    *,
    must_be_local: bool = True,
    allow_any: bool = False,
) -> str:
    """Resolve ``value`` (IP or interface name; None = default route's interface).

    ``interfaces`` maps this host's interface names to their IPv4 addresses, so the
    function stays pure and testable. Raises a message naming ``option`` and the value.
    """
    choices = ", ".join(f"{name} ({ip})" for name, ip in sorted(interfaces.items())) or "none found"
    if not value:
        if default_interface and default_interface in interfaces:
            return interfaces[default_interface]
        raise SwarmOpsError(f"{option} is not set and this host has no IPv4 default route; set it to one of: {choices}")
    if value in interfaces:
        return interfaces[value]
    if not is_ip(value):
        raise SwarmOpsError(
            f"{option}={value!r} is neither an IP address nor an interface of this host; valid interfaces: {choices}"
        )
    if value == ANY:
        if allow_any:
            return value
        raise SwarmOpsError(f"{option}={value!r} is not allowed here: give one address of this host ({choices})")
    if must_be_local and value not in interfaces.values():
        raise SwarmOpsError(f"{option}={value!r} is not an address of this host; its addresses are: {choices}")
    return value
