#!/usr/bin/python
# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: consul_acl
short_description: Reconcile a set of Consul ACL policies and tokens in one call
version_added: 0.2.0
description:
  - Creates or updates every policy of O(policies) and every token of O(tokens) through the Consul HTTP API, in
    one module call (one round trip from the controller however many nodes the cluster has).
  - Reads what Consul has first and writes only what differs; a second run reports no change.
  - The whole set is checked before anything is written - duplicate names or accessor IDs, empty rules, IDs that
    are not UUIDs, a token linking a policy that is neither listed nor known to Consul, a new token without
    O(tokens[].secret_id) - and refused with a message naming the value.
  - Deletes the policies of O(policies_absent) that exist, with every token whose linked policies all lie among them.
  - Policies and tokens not listed are left alone.
  - Needs a token with C(acl = "write") (the management token).
author:
  - swarmops.cluster developers (@swarmops)
extends_documentation_fragment:
  - swarmops.cluster.connection
  - swarmops.cluster.connection.attributes
options:
  policies:
    description: The policies, by name.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Policy name.
        type: str
        required: true
      description:
        description: Free-form description.
        type: str
        default: ""
      rules:
        description: The policy's rules, HCL or JSON, as Consul takes them.
        type: str
        required: true
  tokens:
    description:
      - The tokens, by accessor ID. The built-in anonymous token (C(00000000-0000-0000-0000-000000000002)) can be
        listed without a secret to set its policies.
    type: list
    elements: dict
    default: []
    suboptions:
      accessor_id:
        description: The token's accessor ID (a UUID); a token the role derives from its secret keeps its ID.
        type: str
        required: true
      secret_id:
        description: The token's secret (a UUID); needed to create the token, never shown in the diff.
        type: str
      description:
        description: Free-form description.
        type: str
        default: ""
      policies:
        description: Names of the policies linked to the token.
        type: list
        elements: str
        default: []
  policies_absent:
    description:
      - Names of policies to delete, each one that exists (diff field C(policy.<name>), after V(null)).
      - Deleted with them, and before them, is every token that links at least one of them and no other policy, role,
        service identity or node identity (diff field C(token.<accessor id>), after V(null)), so that its secret no
        longer authenticates. A token that also links another policy is kept; Consul drops its link to a deleted
        policy by itself (Consul 1.8.7 then shows the token with its other policies only).
      - Tokens are found through their links, so a token whose policies were already deleted by other means (it then
        shows no policy at all) is left alone.
      - Never deleted - the anonymous token, the management tokens, and the tokens of O(tokens). Refused before
        anything is written - C(global-management), a name also in O(policies), an empty name, and a policy that a
        token of O(tokens) links.
      - Used by a remove-node run to delete a removed worker's policy C(swarmops-<cluster>-node-<host>) and its token.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Delete the policy and the token of a removed worker, node3
  swarmops.cluster.consul_acl:
    consul_host: 127.0.0.1
    consul_token: "{{ lookup('ansible.builtin.file', secrets_dir ~ '/management.token') }}"
    policies_absent: [swarmops-prod-node-node3]

- name: The cluster's policies and tokens, in one call
  swarmops.cluster.consul_acl:
    consul_host: 127.0.0.1
    consul_token: "{{ lookup('ansible.builtin.file', secrets_dir ~ '/management.token') }}"
    policies:
      - name: swarmops-prod-masters
        rules: "{{ 'prod' | swarmops.cluster.consul_acl_rules('master') }}"
    tokens:
      - accessor_id: "{{ masters_secret | ansible.builtin.to_uuid(namespace=accessor_namespace) }}"
        secret_id: "{{ masters_secret }}"
        description: "swarmops prod: swarm masters"
        policies: [swarmops-prod-masters]
  no_log: true
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode).
  returned: always
  type: list
  elements: str
changes:
  description: The policies (C(policy.<name>)) and tokens (C(token.<accessor id>)) that changed or were deleted.
  returned: always
  type: list
  elements: str
policies:
  description: Names of the policies the module manages.
  returned: always
  type: list
  elements: str
tokens:
  description: Accessor IDs of the tokens the module manages.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._consul_acl import ConsulAcl, acl_argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._module import run_module


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(**acl_argument_spec()), supports_check_mode=True)
    run_module(module, ConsulAcl)


if __name__ == "__main__":
    main()
