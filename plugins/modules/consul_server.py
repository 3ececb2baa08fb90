#!/usr/bin/python
# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: consul_server
short_description: Run a Consul server agent as a container, with ACLs default-deny
version_added: 0.1.0
description:
  - Runs one Consul server agent as a container on the Docker engine of the target host,
    with host networking, its data in a named volume and restart policy C(always).
  - ACLs are always enabled with C(default_policy=deny); bootstrap them afterwards
    (role C(swarmops.cluster.consul) does).
  - The agent configuration is written into the container before it starts (mode 0600), so the gossip key never
    appears in C(docker inspect) or the process list.
  - Any change of a setting or of the image recreates the container; the data volume is kept, so the KV store survives.
  - Waits until the cluster has elected a leader, and fails with what to check
    when it does not within O(leader_timeout).
author:
  - swarmops.cluster developers (@swarmops)
extends_documentation_fragment:
  - swarmops.cluster.connection
  - swarmops.cluster.connection.attributes
options:
  name:
    description: Name of the container.
    type: str
    default: consul
  state:
    description:
      - V(present) runs the server; V(absent) removes the container and keeps the data volume.
    type: str
    choices: [present, absent]
    default: present
  image:
    description:
      - Consul image; must already be on the host (the role pulls it or loads an archive).
      - Required when O(state=present).
    type: str
  data_volume:
    description: Named volume mounted at C(/consul/data).
    type: str
    default: consul_data
  node_name:
    description: Consul node name. Defaults to the host name.
    type: str
  datacenter:
    description: Consul datacenter.
    type: str
    default: dc1
  bootstrap_expect:
    description:
      - Number of servers to wait for before electing a leader. V(1) for one server, V(3) or V(5) for HA.
      - V(0) or less fails; an even number warns, as it tolerates no more failures than one server fewer.
    type: int
    default: 1
  retry_join:
    description: Addresses of the other servers to join.
    type: list
    elements: str
    default: []
  bind_addr:
    description:
      - Cluster-internal address, as an IPv4 address of this host or an interface name such as V(eth1).
      - Defaults to the address of the interface holding the default route.
    type: str
  advertise_addr:
    description:
      - Address the other agents use to reach this one (IP or interface name). Defaults to O(bind_addr).
    type: str
  client_addr:
    description: Address the HTTP and DNS interfaces listen on (IP, interface name, or V(0.0.0.0)).
    type: str
    default: 0.0.0.0
  http_port:
    description: Port of the HTTP API.
    type: int
    default: 8500
  encrypt_key:
    description:
      - Gossip encryption key, 32 bytes encoded as base64 (as C(consul keygen) prints).
      - Without it, gossip traffic is not encrypted.
    type: str
  extra_config:
    description: Further agent configuration, merged over the generated one.
    type: dict
    default: {}
  leader_timeout:
    description: Seconds to wait for a leader after the server is (re)started.
    type: int
    default: 60
  raft_multiplier:
    description:
      - Consul's C(performance.raft_multiplier), the factor on its Raft timeouts, from V(1) to V(10).
      - V(1), Consul's advice for production servers, elects a leader in about 2 seconds after a start or the loss
        of a leader; Consul's own default of V(5) (for small, slow machines) takes about 10 seconds.
      - Raise it only on overloaded hosts where leadership changes without a failure.
    type: int
    default: 1
    version_added: 0.2.0
notes:
  - The module talks to the Docker engine through the Docker SDK, and checks the leader through py-consul.
"""

EXAMPLES = r"""
- name: Run a single Consul server like the walkthrough, reachable on eth1
  swarmops.cluster.consul_server:
    image: hashicorp/consul:1.20.5
    bind_addr: eth1
    encrypt_key: "{{ consul_gossip_key }}"

- name: Run one of three HA servers
  swarmops.cluster.consul_server:
    image: hashicorp/consul:1.20.5
    bootstrap_expect: 3
    retry_join: "{{ groups['consul'] | map('extract', hostvars, 'ansible_host') | list }}"
    encrypt_key: "{{ consul_gossip_key }}"
    leader_timeout: 120

- name: Remove the server but keep its data
  swarmops.cluster.consul_server:
    state: absent
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode).
  returned: always
  type: list
  elements: str
  sample: [created volume consul_data, created container consul]
changes:
  description: Names of the settings that differ from the running container.
  returned: always
  type: list
  elements: str
  sample: [bootstrap_expect, retry_join]
container:
  description: The server container.
  returned: always
  type: dict
  contains:
    name:
      description: Container name.
      type: str
      returned: always
    id:
      description: Container ID; V(null) when it does not exist (yet).
      type: str
      returned: always
address:
  description: The address the server advertises to the cluster.
  returned: always
  type: str
  sample: 172.20.0.2
http_addr:
  description: URL of the server's HTTP API as seen from the target host.
  returned: when O(state=present)
  type: str
  sample: http://127.0.0.1:8500
leader:
  description: RPC address of the elected leader; V(null) in check mode before the server exists.
  returned: always
  type: str
  sample: 172.20.0.2:8300
version:
  description: Consul version the container runs; V(null) in check mode.
  returned: always
  type: str
  sample: 1.8.7
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._consul_server import ConsulServer, server_argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._module import run_module


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(**server_argument_spec()),
        required_if=[("state", "present", ["image"])],
        supports_check_mode=True,
    )
    run_module(module, ConsulServer)


if __name__ == "__main__":
    main()
