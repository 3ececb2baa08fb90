#!/usr/bin/python
# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_node
short_description: Drain, promote, demote and remove swarm nodes from a manager, without losing a service or quorum
version_added: 0.3.0
description:
  - Runs on a swarm manager and changes other nodes of its swarm, given by host name (as C(docker node ls) shows it)
    or node ID.
  - Every guard is checked for the whole of O(names) before anything changes, and a refusal names the nodes and the
    reason - a change that would leave the swarm without a manager, or with fewer reachable managers than a majority
    of the managers there are now (quorum lost); demoting or removing the manager the module runs on; promoting a
    node that is not ready; a drain that would leave a replicated service with fewer nodes that its placement
    constraints and O(names) leave than it needs (one, or its replicas divided by its per-node limit).
  - A drain waits until the tasks of the drained nodes run on other nodes (the running tasks of each replicated
    service that had one there, elsewhere); a task of a service with a health check counts once it is healthy.
  - Managers are promoted and demoted one at a time; after each the module waits until the node has its new role
    (a new manager reachable) and the managers have a leader.
  - O(state=absent) drains an active node, demotes a manager, removes the node (C(docker node rm)), and forgets it in
    Consul - its node record and manager entry under C(swarmops/<cluster>/) and its catalog node with the service
    instances registered on it. A node that is still up (it did not leave the swarm) is refused unless O(force=true).
    A name that is not in the swarm only has its Consul records forgotten, so a rerun changes nothing.
author:
  - swarmops.cluster developers (@swarmops)
extends_documentation_fragment:
  - swarmops.cluster.connection
  - swarmops.cluster.connection.attributes
options:
  cluster:
    description: Cluster name; the node's records in Consul live under C(swarmops/<cluster>/).
    type: str
    required: true
  names:
    description: The nodes, by host name or node ID; one or more.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) sets O(role) and O(availability) of nodes of the swarm (a name that is not in the swarm is refused).
      - V(absent) removes the nodes from the swarm and forgets them in Consul.
    type: str
    choices: [present, absent]
    default: present
  role:
    description:
      - With O(state=present), V(manager) promotes the nodes, V(worker) demotes them.
      - With O(availability=drain) a promotion drains the nodes first (and waits), a demotion sets O(availability)
        after the demotion.
    type: str
    choices: [manager, worker]
  availability:
    description:
      - With O(state=present), the nodes' availability; V(drain) waits until their tasks run elsewhere.
    type: str
    choices: [active, pause, drain]
  force:
    description:
      - With O(state=absent), remove nodes that are still up in the swarm (C(docker node rm --force)), for a host that
        cannot be asked to leave. The host itself still believes it is a member until it leaves.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for each drain, each role change, and a leaving node to show as down.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Needs a manager of the swarm (the Docker engine of the host it runs on) and, for O(state=absent), a Consul token
    that may delete the cluster's keys and deregister catalog nodes (the masters' token).
  - Node labels are not changed; see M(swarmops.cluster.swarm_node_labels).
"""

EXAMPLES = r"""
- name: Drain node1 and node2, wait until their tasks run elsewhere
  swarmops.cluster.swarm_node:
    cluster: prod
    names: [node1, node2]
    availability: drain

- name: Promote node3 (drained first, as the masters are)
  swarmops.cluster.swarm_node:
    cluster: prod
    names: [node3]
    role: manager
    availability: drain

- name: Demote master2 and let it run tasks again
  swarmops.cluster.swarm_node:
    cluster: prod
    names: [master2]
    role: worker
    availability: active

- name: Remove node1, which left the swarm (docker swarm leave on it)
  swarmops.cluster.swarm_node:
    cluster: prod
    names: [node1]
    state: absent
    consul_host: 10.0.0.10
    consul_token: "{{ lookup('ansible.builtin.file', '~/.swarmops/prod/tokens/masters.token') }}"
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [set node1 availability=drain, remove node node1 from the swarm, remove swarmops/prod/nodes/node1 from Consul]
changes:
  description: The diff fields that changed - C(nodes.<name>) and C(consul.<name>).
  returned: always
  type: list
  elements: str
nodes:
  description: Each named node of the swarm after the run (null once removed, and in check mode).
  returned: always
  type: dict
  sample: {node1: {id: 9w8x7y6z5v4u3t2s1r0q9p8o7, role: worker, availability: drain, state: ready, reachability: null,
                   leader: false}}
absent:
  description: The names that were not nodes of the swarm (with O(state=absent)).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._module import run_module
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_node import SwarmNode, node_argument_spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(**node_argument_spec()), supports_check_mode=True)
    run_module(module, SwarmNode)


if __name__ == "__main__":
    main()
