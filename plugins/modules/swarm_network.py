#!/usr/bin/python
# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_network
short_description: Manage a swarm-scoped Docker network, such as the cluster's overlay network
version_added: 0.1.0
description:
  - Creates, checks or removes one swarm-scoped network (by default the walkthrough's overlay network
    C(server-overlay-network)) through the Docker engine of a swarm manager.
  - Fails, before anything changes, when the target is not a swarm manager, when an address option is not valid IPv4
    CIDR or lies outside O(subnet), and when O(subnet) overlaps the subnet of another network on the same engine
    (the message names that network and its subnet).
  - Docker cannot change a network in place. When the existing network differs from the options, the module fails
    and names each differing field with its current and wanted value, unless O(recreate=true).
  - With O(recreate=true) the network is removed and created again, which changes its ID; this is refused, naming
    them, while any swarm service or container uses the network.
author:
  - swarmops.cluster developers (@swarmops)
extends_documentation_fragment:
  - swarmops.cluster.connection
  - swarmops.cluster.connection.attributes
options:
  name:
    description: Name of the network.
    type: str
    default: server-overlay-network
  state:
    description:
      - V(present) creates the network, or checks that the existing one matches the options.
      - V(absent) removes it; refused while a service or container uses it.
    type: str
    choices: [present, absent]
    default: present
  driver:
    description: Network driver.
    type: str
    default: overlay
  attachable:
    description: Whether standalone containers (C(docker run --network)) may attach, besides swarm services.
    type: bool
    default: true
  subnet:
    description:
      - IPv4 subnet in CIDR notation, such as V(10.10.0.0/24); it must not overlap the subnet of any other network
        on the engine.
      - When omitted, Docker picks a free subnet, and the existing network's subnet is not compared.
    type: str
  gateway:
    description:
      - IPv4 gateway address, inside O(subnet) (not its network or broadcast address).
      - When omitted, Docker uses the first address of the subnet, and the gateway is not compared.
    type: str
  ip_range:
    description:
      - IPv4 block within O(subnet), in CIDR notation, from which containers get their addresses.
      - When omitted, the whole subnet is used, and the range is not compared.
    type: str
  encrypted:
    description:
      - Encrypt the traffic between nodes with IPsec (driver option C(encrypted)); needs O(driver=overlay).
    type: bool
    default: false
  labels:
    description:
      - Labels of the network; values are stored as strings.
      - When given, the network's labels must be exactly these; when omitted, they are not compared.
    type: dict
  driver_options:
    description:
      - Driver options (C(docker network create --opt)); values are stored as strings. Use O(encrypted) rather
        than an C(encrypted) key here.
      - When given, the network's options must be exactly these (options the engine adds by itself, such as the
        overlay VXLAN IDs, are ignored); when omitted, they are not compared.
    type: dict
  recreate:
    description:
      - Remove and create the network again when it differs from the options, instead of failing.
      - Refused while a swarm service or a container uses the network.
    type: bool
    default: false
notes:
  - Run it on one swarm manager only (for example with C(run_once)); a swarm-scoped network exists once per swarm.
  - Containers attached on other nodes are not seen from the manager; Docker then refuses the removal itself.
  - The module talks to the Docker engine through the Docker SDK; the Consul connection options are accepted, as by
    every module of the action group, and not used.
seealso:
  - name: Docker overlay network driver
    description: What the options of an overlay network mean.
    link: https://docs.docker.com/engine/network/drivers/overlay/
"""

EXAMPLES = r"""
- name: The overlay network of the walkthrough, on the primary master
  swarmops.cluster.swarm_network:
  run_once: true

- name: A network with a fixed address plan and a label
  swarmops.cluster.swarm_network:
    name: server-overlay-network
    subnet: 10.10.0.0/16
    gateway: 10.10.0.1
    ip_range: 10.10.1.0/24
    labels:
      io.swarmops.cluster: prod
  run_once: true

- name: Change the labels, which Docker can only do by recreating the network (refused while in use)
  swarmops.cluster.swarm_network:
    subnet: 10.10.0.0/16
    labels:
      io.swarmops.cluster: staging
    recreate: true
  run_once: true

- name: Remove the network
  swarmops.cluster.swarm_network:
    state: absent
  run_once: true
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode).
  returned: always
  type: list
  elements: str
  sample: [created network server-overlay-network]
changes:
  description:
    - Names of the fields that differ between the existing network and the options (every managed field, and
      V(state), when the network is created).
  returned: always
  type: list
  elements: str
  sample: [labels]
network:
  description:
    - The network after the run, as it is (or would be, in check mode); V(null) when O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: Network ID; V(null) in check mode when the network would be (re)created.
      type: str
      returned: always
      sample: 9fsmkt7v1x6hmf4wiwv8wgf5p
    name:
      description: Network name.
      type: str
      returned: always
      sample: server-overlay-network
    driver:
      description: Network driver.
      type: str
      returned: always
      sample: overlay
    scope:
      description: Network scope, V(swarm).
      type: str
      returned: always
      sample: swarm
    attachable:
      description: Whether standalone containers may attach.
      type: bool
      returned: always
      sample: true
    encrypted:
      description: Whether traffic between nodes is encrypted.
      type: bool
      returned: always
      sample: false
    subnets:
      description: The network's subnets; empty in check mode when Docker would choose the subnet.
      type: list
      elements: str
      returned: always
      sample: [10.10.0.0/16]
    labels:
      description: Labels of the network.
      type: dict
      returned: always
      sample: {io.swarmops.cluster: prod}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._module import run_module
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_network import SwarmNetwork, network_argument_spec


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(**network_argument_spec()),
        required_by={"gateway": ["subnet"], "ip_range": ["subnet"]},
        supports_check_mode=True,
    )
    run_module(module, SwarmNetwork)


if __name__ == "__main__":
    main()
