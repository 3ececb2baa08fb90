#!/usr/bin/python
# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_node_labels
short_description: Turn the node attributes advertised in Consul into Swarm node labels
version_added: 0.1.0
description:
  - Runs once on a swarm manager. For every node record under C(swarmops/<cluster>/nodes/), sets the labels
    C(swarmops.operatingsystem), C(swarmops.ostype), C(swarmops.kernelversion), C(swarmops.storagedriver),
    C(swarmops.architecture), C(swarmops.ncpu), C(swarmops.memtotal), C(swarmops.engineversion) and the
    node's user labels on its swarm node, so that services can be constrained by them.
  - Labels set by anyone else are kept (by hand with C(docker node update --label-add), or the placement markers
    C(swarmops.place.<service>) of M(swarmops.cluster.swarm_service)); user labels removed from a record are removed
    from the node (C(swarmops.user-labels) remembers which keys came from the record).
    M(swarmops.cluster.swarm_manager) applies the same rule to a master's own node.
author:
  - swarmops.cluster developers (@swarmops)
extends_documentation_fragment:
  - swarmops.cluster.connection
  - swarmops.cluster.connection.attributes
options:
  cluster:
    description: Cluster name; the records are read under C(swarmops/<cluster>/nodes/).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Label the nodes from their records
  swarmops.cluster.swarm_node_labels:
    cluster: prod
    consul_host: 10.0.0.10
    consul_token: "{{ lookup('ansible.builtin.file', '~/.swarmops/prod/tokens/masters.token') }}"
  run_once: true
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode).
  returned: always
  type: list
  elements: str
changes:
  description: Host names whose labels changed.
  returned: always
  type: list
  elements: str
labels:
  description: The labels of each node after the run, by host name.
  returned: always
  type: dict
  sample: {node0: {swarmops.kernelversion: 6.1.0-18-amd64, swarmops.storagedriver: overlay2, disk: ssd}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._module import run_module
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_labels import LABELS_OPTIONS, NodeLabels


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(**LABELS_OPTIONS), supports_check_mode=True)
    run_module(module, NodeLabels)


if __name__ == "__main__":
    main()
