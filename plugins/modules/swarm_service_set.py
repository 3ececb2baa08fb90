#!/usr/bin/python
# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_service_set
short_description: Deploy several Swarm services at once, each as M(swarmops.cluster.swarm_service) deploys it
version_added: 0.2.0
description:
  - Runs on a swarm manager. Each entry of O(services) takes the options of M(swarmops.cluster.swarm_service)
    (placement strategies and filters, waiting for the tasks, Consul catalog entries) and is deployed exactly as
    that module deploys it.
  - Every entry is checked before any service changes; a bad entry fails the task naming its position, its name
    and the option, and nothing is deployed.
  - The services are deployed at the same time (O(concurrent)), so a set waits about as long as its slowest
    service, in one task instead of one per service or a round of async jobs.
  - A service that fails does not stop the others; the task then fails naming each failed service and its step,
    and returns what every service did in RV(services).
author:
  - swarmops.cluster developers (@swarmops)
extends_documentation_fragment:
  - swarmops.cluster.connection
  - swarmops.cluster.connection.attributes
options:
  services:
    description:
      - The services, each a dict of M(swarmops.cluster.swarm_service) options (C(name) required; C(image) required
        unless C(state=absent)). The connection options are this module's, shared by all.
      - A name may appear once.
    type: list
    elements: dict
    required: true
  defaults:
    description: Options applied to every entry of O(services) that does not set them itself (a shallow merge).
    type: dict
    default: {}
  concurrent:
    description: V(true) deploys the services at the same time; V(false) one after the other, in list order.
    type: bool
    default: true
notes:
  - Check mode reports, for each service, what M(swarmops.cluster.swarm_service) would do.
  - The diff has one entry per service name, holding that service's own before and after.
seealso:
  - module: swarmops.cluster.swarm_service
"""

EXAMPLES = r"""
- name: The walkthrough's three services, deployed together
  swarmops.cluster.swarm_service_set:
    defaults:
      networks: [server-overlay-network]
      endpoint_mode: dnsrr
    services:
      - name: hello
        image: swarmops/hello:0.2.0
        publish: [{target_port: 8080, mode: host}]
      - name: world
        image: swarmops/world:0.2.0
        publish: [{target_port: 8080, mode: host}]
      - name: hello-world
        image: swarmops/hello-world:0.2.0
        strategy: binpack
        filters: ["health==healthy"]
    consul_host: 10.0.0.5
    consul_token: "{{ masters_token }}"
  register: deployed

- name: Show where hello runs
  ansible.builtin.debug:
    msg: "{{ deployed.services.hello.placement.running_on }}"
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode), for all services.
  returned: always
  type: list
  elements: str
changes:
  description: Names of the services that changed.
  returned: always
  type: list
  elements: str
services:
  description:
    - Each service's answer, by name, as M(swarmops.cluster.swarm_service) returns it (C(changed), C(actions),
      C(changes), C(service_id), C(placement), C(tasks), C(catalog)).
    - After a failure, the failed services have C(changed), C(actions) and C(changes) only.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._module import run_module
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_service_set import (
    ServiceSetDeployer,
    set_argument_spec,
)


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(**set_argument_spec()), supports_check_mode=True)
    run_module(module, ServiceSetDeployer)


if __name__ == "__main__":
    main()
