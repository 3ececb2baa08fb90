#!/usr/bin/python
# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_manager
short_description: Make the host a manager of the swarm whose record lives in Consul
version_added: 0.1.0
description:
  - Runs on each master. Finds the cluster's swarm record in Consul under C(swarmops/<cluster>/).
  - No record yet, takes the Consul session lock C(swarmops/<cluster>/lock), initialises the swarm and
    publishes the manager join token, the worker join token, the manager addresses and, last, the swarm record.
    Two masters starting at the same moment end in one swarm; the one that did not init joins.
  - A record exists, joins as a manager through the published manager addresses (each in turn until one answers).
  - Already a manager of that swarm, changes nothing. A member of a different swarm fails, naming both swarm IDs;
    it never leaves a swarm by itself.
  - Keeps the published manager list and join tokens current; a manager that is down is published and reported
    as unreachable, not hidden. Warns when the number of managers is even.
  - Sets the swarm's dispatcher heartbeat period when O(dispatcher_heartbeat) is given.
  - Sets the host's own availability (C(drain) by default, so services run on workers) and user labels, and
    publishes its attributes under C(swarmops/<cluster>/nodes/<host>) like M(swarmops.cluster.swarm_agent).
    Its own node's labels follow the rule of M(swarmops.cluster.swarm_node_labels), so the two modules never
    undo each other - only the user labels of O(labels) and the ones it set before change; labels set by hand
    and the placement markers of M(swarmops.cluster.swarm_service) stay.
author:
  - swarmops.cluster developers (@swarmops)
extends_documentation_fragment:
  - swarmops.cluster.connection
  - swarmops.cluster.connection.attributes
  - swarmops.cluster.swarm_member
options:
  availability:
    description: Availability of this manager's node.
    type: str
    choices: [active, pause, drain]
    default: drain
  default_addr_pool:
    description: Address pools for the swarm's networks, used when this host initialises the swarm.
    type: list
    elements: str
    default: []
  subnet_size:
    description: Prefix length of the networks cut from O(default_addr_pool).
    type: int
    default: 24
  lock_timeout:
    description: Seconds to wait for another master that holds the init lock to publish its swarm.
    type: int
    default: 60
  dispatcher_heartbeat:
    description:
      - The swarm's dispatcher heartbeat period in seconds, V(1) to V(3600) - its node-failure detection period.
        Swarm marks a node down about three missed heartbeats after its last one, and only then moves its tasks
        elsewhere. Docker's default is V(5).
      - Given to C(swarm init) when this host initialises the swarm. On an existing swarm, compared with the
        swarm's and, when it differs, set through the swarm's current full spec at its version, so that no other
        setting of the swarm changes; several masters may run this at once with the same value (diff field
        C(dispatcher_heartbeat)).
      - Omitted, the swarm's setting is left alone.
    type: int
    version_added: 0.2.0
notes:
  - The Consul token needs write access to the cluster's prefix and to sessions (the C(masters) token of role
    C(swarmops.cluster.consul)).
"""

EXAMPLES = r"""
- name: Make every master a manager of cluster prod
  swarmops.cluster.swarm_manager:
    cluster: prod
    advertise_addr: eth1
    consul_host: 10.0.0.10
    consul_token: "{{ lookup('ansible.builtin.file', '~/.swarmops/prod/tokens/masters.token') }}"
  register: manager

- name: Say which master is which
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} is the {{ manager.role }} manager; leader {{ manager.leader }}"

- name: Mark a dead node down within about 6 seconds instead of about 15
  swarmops.cluster.swarm_manager:
    cluster: prod
    dispatcher_heartbeat: 2
    consul_host: 10.0.0.10
    consul_token: "{{ lookup('ansible.builtin.file', '~/.swarmops/prod/tokens/masters.token') }}"
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
role:
  description: V(primary) for the master that initialised the swarm, V(secondary) for the others.
  returned: always
  type: str
leader:
  description: Address of the Raft leader.
  returned: always
  type: str
  sample: 172.20.0.3:2377
managers:
  description: How many managers are reachable, of how many, and which are not.
  returned: always
  type: dict
  contains:
    reachable:
      description: Number of reachable managers.
      type: int
      returned: always
    total:
      description: Number of managers.
      type: int
      returned: always
    unreachable:
      description: Host names of the managers that are not reachable.
      type: list
      elements: str
      returned: always
advertise_addr:
  description: The address this manager advertises, with the swarm port.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._module import run_module
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_manager import SwarmManager, manager_argument_spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(**manager_argument_spec()), supports_check_mode=True)
    run_module(module, SwarmManager)


if __name__ == "__main__":
    main()
