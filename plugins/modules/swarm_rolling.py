#!/usr/bin/python
# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_rolling
short_description: Plan a rolling maintenance of swarm hosts, and wait until the swarm is whole again after each
version_added: 0.4.0
description:
  - Runs on a swarm manager and changes nothing; C(playbooks/upgrade.yml) calls it before the first host and after
    each one.
  - O(mode=plan) returns the order - the workers among O(names) in batches of O(batch), then each manager that does
    not lead alone, the leader last - and each host's running tasks. It refuses, naming the nodes, when a manager
    is down or unreachable, when restarting one manager would leave fewer reachable managers than a majority (no
    quorum margin), when a host of the plan is not ready, or when a replicated service could not be placed with
    one of the batches drained (its constraints and C(max_replicas_per_node) leave too few nodes).
  - O(mode=wait) waits until each of O(names) is ready (a manager also reachable), the managers have a leader and
    a reachable majority, and (O(services=true)) every replicated service runs as many tasks as its replicas (a
    task of a service with a health check counts once healthy) and every global service runs on each node that
    can take it.
author:
  - swarmops.cluster developers (@swarmops)
extends_documentation_fragment:
  - swarmops.cluster.connection
  - swarmops.cluster.connection.attributes
options:
  mode:
    description: V(plan) checks the guards and returns the order; V(wait) waits until the swarm is whole.
    type: str
    choices: [plan, wait]
    default: plan
  names:
    description: The nodes, by host name (as C(docker node ls) shows it) or node ID; one or more.
    type: list
    elements: str
    required: true
  batch:
    description:
      - With O(mode=plan), workers per batch - a number (V(1), V(2)) or a percentage of the workers in O(names)
        (V(25%); at least one worker). Managers always go one at a time.
    type: str
    default: "1"
  services:
    description: With O(mode=wait), also wait until the services run all their tasks.
    type: bool
    default: true
  wait_timeout:
    description: Seconds O(mode=wait) waits.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    details: It only reads, in check mode too.
  diff_mode:
    support: none
notes:
  - Needs a manager of the swarm (the Docker engine of the host it runs on); no Consul access.
"""

EXAMPLES = r"""
- name: Plan the rolling restart of every host, workers two at a time
  swarmops.cluster.swarm_rolling:
    names: [node0, node1, node2, node3, master0, master1, master2]
    batch: "2"
  register: plan

- name: After node1's restart, wait until it and the services are back
  swarmops.cluster.swarm_rolling:
    mode: wait
    names: [node1]
"""

RETURN = r"""
batches:
  description: With O(mode=plan), the hosts in the order they are to be maintained, one list per batch.
  returned: mode=plan
  type: list
  elements: list
  sample: [[node0], [node1], [master1], [master2], [master0]]
leader:
  description: With O(mode=plan), the host name of the leading manager (last in the order).
  returned: mode=plan
  type: str
  sample: master0
tasks:
  description: With O(mode=plan), each planned host's running tasks, as C(service.slot).
  returned: mode=plan
  type: dict
  sample: {node0: [hello.1, world.2], master0: []}
nodes:
  description: Each named node as the manager sees it.
  returned: always
  type: dict
  sample: {node1: {id: 9w8x7y6z5v4u3t2s1r0q9p8o7, role: worker, availability: active, state: ready,
                   reachability: null, leader: false}}
actions:
  description: Always empty (the module changes nothing).
  returned: always
  type: list
  elements: str
changes:
  description: Always empty.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._module import run_module
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_rolling import (
    SwarmRolling,
    rolling_argument_spec,
)


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(**rolling_argument_spec()), supports_check_mode=True)
    run_module(module, SwarmRolling)


if __name__ == "__main__":
    main()
