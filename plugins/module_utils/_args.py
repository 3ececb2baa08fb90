# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument spec every module of the action group starts from."""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._consul import CONSUL_ARGUMENT_SPEC
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import DOCKER_ARGUMENT_SPEC


def argument_spec(**module_options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Shared Docker and Consul connection options plus the module's own."""
    spec = copy.deepcopy(DOCKER_ARGUMENT_SPEC)
    spec.update(copy.deepcopy(CONSUL_ARGUMENT_SPEC))
    spec.update(module_options)
    return spec
