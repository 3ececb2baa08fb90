#!/usr/bin/python
# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_agent
short_description: Join the host to the swarm as a worker, knowing only Consul
version_added: 0.1.0
description:
  - Runs on each worker node. Reads the swarm record, the manager addresses and the worker join token from
    Consul (nothing from inventory or other hosts) and joins the swarm as a worker.
  - Already a worker of that swarm, changes nothing. A member of another swarm fails and is not made to leave.
  - Fails, saying to run the masters first, when no swarm is published yet.
  - Advertises the host's attributes in its node record C(swarmops/<cluster>/nodes/<host>) - address, host name,
    operating system, kernel version, storage driver, architecture, CPUs, memory, engine version and
    O(labels) - which M(swarmops.cluster.swarm_node_labels) turns into Swarm node labels.
author:
  - swarmops.cluster developers (@swarmops)
extends_documentation_fragment:
  - swarmops.cluster.connection
  - swarmops.cluster.connection.attributes
  - swarmops.cluster.swarm_member
notes:
  - The Consul token needs read access to the swarm record, the manager list and the worker join token, and write
    access to this node's record (the C(node-<host>) token of role C(swarmops.cluster.consul)).
"""

EXAMPLES = r"""
- name: Join the workers
  swarmops.cluster.swarm_agent:
    cluster: prod
    advertise_addr: eth1
    labels:
      disk: ssd
    consul_host: 10.0.0.10
    consul_token: "{{ lookup('ansible.builtin.file', tokens_dir ~ '/node-' ~ inventory_hostname ~ '.token') }}"
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode).
  returned: always
  type: list
  elements: str
changes:
  description: Names of the fields that changed.
  returned: always
  type: list
  elements: str
node_id:
  description: This host's swarm node ID; V(null) in check mode before it joined.
  returned: always
  type: str
swarm_id:
  description: ID of the cluster's swarm.
  returned: always
  type: str
joined_via:
  description: The manager address the host joined through; V(null) when it was already a member.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._module import run_module
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_agent import SwarmAgent, agent_argument_spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(**agent_argument_spec()), supports_check_mode=True)
    run_module(module, SwarmAgent)


if __name__ == "__main__":
    main()
