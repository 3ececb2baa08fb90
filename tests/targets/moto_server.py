"""``moto_server`` (same options) with one fix that makes it answer as AWS does.

AWS accepts a security group rule for a protocol without ports, such as ESP (50), with no
FromPort/ToPort, and describes it without them; amazon.aws sends it that way. moto 5.2
fails such a rule with an internal error, so it is stored here the way AWS stores it.
"""

from __future__ import annotations

import sys
from typing import Any

from moto.ec2.models import security_groups
from moto.server import main

_PORTED = {"tcp", "udp", "icmp", "icmpv6", "6", "17", "1", "58", "-1", "all"}
_moto_rule_init = security_groups.SecurityGroupRule.__init__


def _rule_init(self: Any, ec2_backend: Any, ip_protocol: str, *args: Any, **kwargs: Any) -> None:
    # moto's positional arguments: ip_protocol, group_id, from_port, to_port, ...
    portless = args[1:3] == (None, None) and str(ip_protocol).lower() not in _PORTED
    _moto_rule_init(self, ec2_backend, "-1" if portless else ip_protocol, *args, **kwargs)
    if portless:
        self.ip_protocol = str(ip_protocol)


security_groups.SecurityGroupRule.__init__ = _rule_init

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
