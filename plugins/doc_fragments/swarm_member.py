# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by swarm_manager and swarm_agent."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  cluster:
    description:
      - Cluster name; its records live under C(swarmops/<cluster>/) in Consul.
      - 1-63 characters of a-z, 0-9, '-' and '_'.
    type: str
    required: true
  advertise_addr:
    description:
      - Address other swarm members reach this host on, as an IPv4 address of this host or an interface name
        such as V(eth1). Defaults to the address of the interface holding the default route.
      - An address that is not on this host fails before anything changes.
    type: str
  listen_addr:
    description: Address the swarm's control plane listens on.
    type: str
    default: 0.0.0.0:2377
  data_path_addr:
    description: Address (or interface) for the swarm's data traffic, when it should differ from O(advertise_addr).
    type: str
  labels:
    description:
      - User labels of this host, published in its node record and set as Swarm node labels (by
        M(swarmops.cluster.swarm_manager) on a master's own node, by M(swarmops.cluster.swarm_node_labels) on
        every node).
      - The node label C(swarmops.user-labels) lists the keys that came from here. A label removed from O(labels) is
        removed from the node; a label set by anyone else (C(docker node update --label-add)) is left alone, unless
        O(labels) names it, which makes it one of ours.
    type: dict
    default: {}
  join_timeout:
    description:
      - Seconds to keep trying the published managers when joining.
      - Also how long to wait while this engine's swarm state is C(pending) (after its hosts restarted, until
        the managers have a leader again) before failing.
    type: int
    default: 60
"""
