# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that check role inputs on the controller, before any task changes anything.

The rules are the modules' own (the key layout's cluster name, swarm_service's options), so a
role refuses exactly what the module would, only earlier and naming the variable."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._keys import validate_cluster_name

# Ansible imports every filter file of the collection whenever one of its filters is first used
# in a worker process (one per task and host): the module code below, which pulls in the Docker
# SDK and py-consul, is imported only by the filters that need it, when they are called.


def cluster_name_error(name: Any) -> str:
    """Why ``name`` cannot be a cluster name (the key layout's rule), or '' when it can."""
    try:
        validate_cluster_name(name)
    except SwarmOpsError as exc:
        return exc.msg
    return ""


def cidr_error(value: Any, option: str) -> str:
    """Why ``value`` of variable ``option`` is not an IPv4 network in CIDR notation (swarm_network's
    rule), or '' when it is."""
    from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_network import parse_cidr  # noqa: PLC0415

    if not isinstance(value, str):
        return f"{option}={value!r} is not a string: give an IPv4 network in CIDR notation, e.g. 10.10.0.0/24"
    try:
        parse_cidr(value, option)
    except SwarmOpsError as exc:
        return exc.msg
    return ""


def heartbeat_error(value: Any, option: str) -> str:
    """Why ``value`` of variable ``option`` is not a dispatcher heartbeat period swarm_manager takes (whole
    seconds in its range), or '' when it is. A string of digits counts as its number, as the module's
    argument spec takes it."""
    from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_manager import (  # noqa: PLC0415
        validate_heartbeat,
    )

    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    try:
        validate_heartbeat(value, option)
    except SwarmOpsError as exc:
        return exc.msg
    return ""


def _unknown_keys(where: str, entry: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    errors = []
    valid = sorted(options)
    for key in sorted(set(entry) - set(options), key=str):
        close = difflib.get_close_matches(str(key), valid, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        errors.append(f"{where} has unknown key '{key}'{hint}; valid keys: {', '.join(valid)}")
    return errors


def service_list_errors(services: Any, defaults: Any = None) -> list[str]:
    """Why the services ``services`` (swarm_services_list, each merged over ``defaults``) cannot be
    deployed with swarmops.cluster.swarm_service: one message per problem, [] when there is none."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: PLC0415

    from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_service import (  # noqa: PLC0415
        SERVICE_OPTIONS,
        validate_service_options,
    )

    defaults = {} if defaults is None else defaults
    if not isinstance(defaults, Mapping):
        return [f"swarm_services_defaults must be a mapping of swarm_service options, not {defaults!r}"]
    if isinstance(services, (str, bytes, Mapping)) or not isinstance(services, Sequence):
        return [f"swarm_services_list must be a list of services, not {services!r}"]
    errors = _unknown_keys("swarm_services_defaults", defaults, SERVICE_OPTIONS)
    if "name" in defaults:
        errors.append("swarm_services_defaults sets 'name': each entry of swarm_services_list names its own service")
    first_index: dict[str, int] = {}
    for index, entry in enumerate(services):
        if not isinstance(entry, Mapping):
            errors.append(f"swarm_services_list[{index}] must be a mapping of swarm_service options, not {entry!r}")
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            errors.append(f"swarm_services_list[{index}] has no name (keys: {', '.join(sorted(map(str, entry)))})")
            where = f"swarm_services_list[{index}]"
        else:
            where = f"service '{name}' (swarm_services_list[{index}])"
            if name in first_index:
                errors.append(
                    f"service '{name}' is listed twice (swarm_services_list[{first_index[name]}] and [{index}]): "
                    "each name is one service, give each entry its own"
                )
            else:
                first_index[name] = index
        errors.extend(_unknown_keys(where, entry, SERVICE_OPTIONS))
        merged = {key: value for key, value in {**defaults, **entry}.items() if key in SERVICE_OPTIONS}
        if "name" not in merged:
            continue
        result = ArgumentSpecValidator(SERVICE_OPTIONS).validate(merged)
        errors.extend(f"{where}: {message}" for message in result.error_messages)
        if not result.error_messages:
            try:
                validate_service_options(result.validated_parameters)
            except SwarmOpsError as exc:
                errors.append(f"{where}: {exc.msg}")
    return errors


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "cidr_error": cidr_error,
            "cluster_name_error": cluster_name_error,
            "heartbeat_error": heartbeat_error,
            "service_list_errors": service_list_errors,
        }
