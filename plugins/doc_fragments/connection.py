# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every module of the swarmops.cluster.swarm action group."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker engine to manage, as a URL such as V(unix:///var/run/docker.sock) or V(tcp://127.0.0.1:2375).
      - Defaults to the E(DOCKER_HOST) environment variable, then to V(unix:///var/run/docker.sock).
    type: str
  docker_timeout:
    description:
      - Seconds to wait for one Docker API call.
    type: int
    default: 60
  consul_host:
    description:
      - Address of the Consul HTTP API.
      - Defaults to V(127.0.0.1); for M(swarmops.cluster.consul_server), to the address the server serves clients on.
    type: str
  consul_port:
    description:
      - Port of the Consul HTTP API.
    type: int
    default: 8500
  consul_scheme:
    description:
      - Protocol of the Consul HTTP API.
    type: str
    choices: [http, https]
    default: http
  consul_token:
    description:
      - ACL token sent with every Consul request.
    type: str
  consul_validate_certs:
    description:
      - Whether to verify the Consul server's TLS certificate when O(consul_scheme=https).
    type: bool
    default: true
  consul_ca_path:
    description:
      - CA bundle used to verify the Consul server's certificate.
    type: path
requirements:
  - Docker SDK for Python (C(docker)) 7.0 or later, on the managed host.
  - py-consul (C(consul)) 1.5 or later, on the managed host.
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check mode and return the changed status without modifying the target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or would change in check mode) when in diff mode.
    support: full
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: full
  action_group:
    description: Use C(group/swarmops.cluster.swarm) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - swarmops.cluster.swarm
"""
