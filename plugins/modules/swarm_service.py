#!/usr/bin/python
# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_service
short_description: Deploy a Swarm service with classic scheduling strategies, filters and a Consul catalog entry
version_added: 0.1.0
description:
  - Runs on a swarm manager. Creates, updates or removes one service and waits until its tasks run.
  - O(strategy) and O(filters) bring classic Swarm's scheduling to Swarm mode. V(spread) is Swarm's own.
    V(binpack) puts each task on the most-used node (by CPU and memory reservations) that still fits it,
    then the next; V(random) on any fitting node. Swarm mode cannot express these, so the module decides at
    deploy time from the live nodes and confines the service to the chosen nodes with a node label
    C(swarmops.place.<service>=true) and a matching constraint. It returns the placement.
  - O(filters) use classic syntax - C(node==node1), C(kernelversion!=5.*), C(storagedriver==overlay2),
    C(operatingsystem==/Debian.*/), C(label.disk==~ssd) (soft), C(health==healthy), C(service==hello)
    (affinity), C(service!=hello) (anti-affinity). Exact hard filters become native Swarm constraints on the
    node labels that M(swarmops.cluster.swarm_node_labels) sets; the rest are decided at deploy time.
    A filter no node satisfies fails, listing every node and why it was rejected.
  - Each running task is registered in Consul's catalog (service name, task address, port, tags, a check
    whose status follows the task's health) and deregistered when it stops or the service is removed,
    so C(<name>.service.consul) answers on Consul DNS.
  - A rerun with the same options moves nothing and changes nothing; a random placement is kept while its
    nodes still qualify.
author:
  - swarmops.cluster developers (@swarmops)
extends_documentation_fragment:
  - swarmops.cluster.connection
  - swarmops.cluster.connection.attributes
options:
  name:
    description: Service name; also its DNS name on its networks and its name in Consul's catalog.
    type: str
    required: true
  state:
    description: V(present) deploys the service; V(absent) removes it, its placement labels and catalog entries.
    type: str
    choices: [present, absent]
    default: present
  image:
    description:
      - Image of the service's containers. Required when O(state=present).
      - It must be present on this manager or pullable; otherwise the module fails before deploying.
    type: str
  command:
    description: Command of the containers (replaces the image's entrypoint).
    type: list
    elements: str
  args:
    description: Arguments of the command.
    type: list
    elements: str
  env:
    description: Environment variables.
    type: dict
    default: {}
  mode:
    description: V(replicated) runs O(replicas) tasks; V(global) one task on every eligible node.
    type: str
    choices: [replicated, global]
    default: replicated
  replicas:
    description: Number of tasks for O(mode=replicated); 0 or more.
    type: int
    default: 1
  networks:
    description: Names of the networks to attach; each must exist.
    type: list
    elements: str
    default: []
  endpoint_mode:
    description:
      - V(vip) gives the service a virtual IP (needs IPVS in the kernel); V(dnsrr) makes its name resolve to
        the task addresses.
    type: str
    choices: [vip, dnsrr]
    default: vip
  publish:
    description: Published ports.
    type: list
    elements: dict
    default: []
    suboptions:
      target_port:
        description: Port inside the container.
        type: int
        required: true
      published_port:
        description: Port on the nodes.
        type: int
      protocol:
        description: Protocol.
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      mode:
        description: V(ingress) (routing mesh) or V(host) (only on the nodes running a task).
        type: str
        choices: [ingress, host]
        default: ingress
  resources:
    description: Limits and reservations per task; O(resources.reservations) also drive V(binpack).
    type: dict
    suboptions:
      limits:
        description: Upper bounds.
        type: dict
        suboptions:
          cpus:
            description: CPUs, such as V(0.5).
            type: str
          memory:
            description: Memory, such as V(256M) or V(1G).
            type: str
      reservations:
        description: What each task reserves on its node.
        type: dict
        suboptions:
          cpus:
            description: CPUs, such as V(0.25).
            type: str
          memory:
            description: Memory, such as V(128M).
            type: str
  restart_config:
    description:
      - 'Restart policy, for example C({condition: on-failure, delay: 5s, max_attempts: 3, window: 60s}).'
    type: dict
  update_config:
    description:
      - 'Update policy, for example C({parallelism: 1, delay: 10s, failure_action: rollback, order: start-first}).'
    type: dict
  rollback_config:
    description: Rollback policy, same keys as O(update_config).
    type: dict
  labels:
    description: Service labels.
    type: dict
    default: {}
  healthcheck:
    description:
      - Container health check with keys C(test) (a list such as V([CMD, python3, /app/serve.py]) or a shell
        command), C(interval), C(timeout), C(start_period) (durations such as V(10s)) and C(retries).
    type: dict
  strategy:
    description: How tasks are placed, see the description.
    type: str
    choices: [spread, binpack, random]
    default: spread
  filters:
    description: Placement filters in classic Swarm syntax, see the description.
    type: list
    elements: str
    default: []
  max_replicas_per_node:
    description: Container slots per node - at most this many tasks of the service on one node.
    type: int
  register_catalog:
    description: Whether to keep the service's running tasks in Consul's catalog (needs O(consul_host)).
    type: bool
    default: true
  catalog_port:
    description: Port registered in the catalog. Defaults to the first O(publish) target port, else V(0).
    type: int
  catalog_tags:
    description: Tags of the catalog entries.
    type: list
    elements: str
    default: []
  wait:
    description: Wait until the service's tasks run.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the tasks; the failure lists the tasks' errors.
    type: int
    default: 120
notes:
  - The Consul token needs write access to the catalog (the C(masters) token of role C(swarmops.cluster.consul)).
"""

EXAMPLES = r"""
- name: Deploy hello like the walkthrough, on the overlay network, reachable by name
  swarmops.cluster.swarm_service:
    name: hello
    image: swarmops/hello:0.2.0
    networks: [server-overlay-network]
    endpoint_mode: dnsrr
    catalog_port: 8080
    consul_host: 10.0.0.10
    consul_token: "{{ lookup('ansible.builtin.file', '~/.swarmops/prod/tokens/masters.token') }}"

- name: Pack small services onto as few workers as possible, never on old kernels
  swarmops.cluster.swarm_service:
    name: world
    image: swarmops/world:0.2.0
    strategy: binpack
    filters:
      - kernelversion!=4.*
      - label.disk==~ssd
    resources:
      reservations: {cpus: "0.25", memory: 64M}
    register_catalog: false
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode).
  returned: always
  type: list
  elements: str
changes:
  description: Names of the fields that changed (V(placement) when the chosen nodes changed, V(catalog)).
  returned: always
  type: list
  elements: str
service_id:
  description: ID of the service; V(null) when it does not exist (yet).
  returned: always
  type: str
placement:
  description:
    - The placement decision - strategy, whether it is pinned, the chosen or candidate nodes, relaxed soft filters,
      the constraints set, the marker label, and RV(placement.running_on), where the tasks run.
  returned: when O(state=present)
  type: dict
  contains:
    running_on:
      description: Host names of the nodes running the service's tasks, one per task.
      type: list
      elements: str
      returned: always
tasks:
  description: The running tasks, with their node.
  returned: always
  type: list
  elements: dict
catalog:
  description: The catalog entries kept in Consul, by service ID.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._module import run_module
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_service import (
    ServiceDeployer,
    service_argument_spec,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(**service_argument_spec()),
        required_if=[("state", "present", ["image"])],
        supports_check_mode=True,
    )
    run_module(module, ServiceDeployer)


if __name__ == "__main__":
    main()
