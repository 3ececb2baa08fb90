# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy a set of Swarm services in one module run: every service's options are checked before
any service changes, then the services are deployed at once (a thread each), each exactly as
swarm_service deploys it. One task instead of one per service, and no async jobs."""

from __future__ import annotations

import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.swarmops.cluster.plugins.module_utils._args import argument_spec
from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._module import LIBRARY_ERRORS, SwarmOpsModule
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_service import (
    ServiceDeployer,
    service_argument_spec,
)

SET_OPTIONS: dict[str, dict[str, Any]] = {
    "services": {"type": "list", "elements": "dict", "required": True},
    "defaults": {"type": "dict", "default": {}},
    "concurrent": {"type": "bool", "default": True},
}
# What each service's answer keeps (the set's own answer carries the diff and the warnings).
_ANSWER_KEYS = ("changed", "actions", "changes", "service_id", "placement", "tasks", "catalog")


def set_argument_spec() -> dict[str, dict[str, Any]]:
    return dict(SET_OPTIONS)


def _label(index: int, item: Any) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return f"services[{index}] ({name!r})" if isinstance(name, str) else f"services[{index}]"


def _unknown(label: str, options: dict[str, Any], spec: dict[str, Any], errors: list[str]) -> bool:
    """Record options that swarm_service does not take; True when there were any."""
    unknown = sorted(set(options) - set(spec))
    if unknown:
        errors.append(
            f"{label}: unknown option(s) {', '.join(unknown)}; swarm_service's options are {', '.join(sorted(spec))}"
        )
    return bool(unknown)


def service_params(services: list[Any], defaults: dict[str, Any], connection: dict[str, Any]) -> list[dict[str, Any]]:
    """Each service's full swarm_service parameters: ``defaults`` under the item, checked against
    swarm_service's options, with the set's connection options. Every fault of every service in one
    error, naming the service by its position and name."""
    spec = service_argument_spec()
    validator = ArgumentSpecValidator(spec, required_if=[("state", "present", ["image"])])
    errors: list[str] = []
    params: list[dict[str, Any]] = []
    if _unknown("defaults", defaults, spec, errors):
        raise SwarmOpsError(errors[0])
    for index, item in enumerate(services):
        if not isinstance(item, dict):
            errors.append(f"{_label(index, item)}: must be a dict of swarm_service options, not {item!r}")
            continue
        if _unknown(_label(index, item), item, spec, errors):
            continue
        outcome = validator.validate({**defaults, **item})
        if outcome.error_messages:
            errors.append(f"{_label(index, item)}: {'; '.join(outcome.error_messages)}")
            continue
        params.append({**connection, **outcome.validated_parameters})
    names = [p["name"] for p in params]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        errors.append(f"service name(s) {', '.join(map(repr, repeated))} given more than once: each service once")
    if errors:
        raise SwarmOpsError("; ".join(errors))
    return params


def _deploy(deployer: ServiceDeployer) -> tuple[ServiceDeployer, dict[str, Any] | None, str | None, str | None]:
    """The deployer with its service's answer, or with its error message (and the traceback of a
    library failure)."""
    try:
        return deployer, deployer.run(), None, None
    except SwarmOpsError as exc:
        return deployer, None, exc.msg, None
    except LIBRARY_ERRORS as exc:
        return deployer, None, f"failed to {deployer.step}: {type(exc).__name__}: {exc}", traceback.format_exc()


class ServiceSetDeployer(SwarmOpsModule):
    """The services of ``services``, deployed by one ServiceDeployer each."""

    def __init__(self, params: dict[str, Any], check_mode: bool, **clients: Any) -> None:
        super().__init__(params, check_mode, **clients)
        connection = {key: params.get(key) for key in argument_spec()}
        self.deployers = [
            self._deployer(index, item, check_mode, clients)
            for index, item in enumerate(service_params(params["services"], params["defaults"], connection))
        ]

    @staticmethod
    def _deployer(index: int, item: dict[str, Any], check_mode: bool, clients: dict[str, Any]) -> ServiceDeployer:
        try:
            return ServiceDeployer(item, check_mode, **clients)
        except SwarmOpsError as exc:
            raise SwarmOpsError(f"{_label(index, item)}: {exc.msg}") from exc

    def run(self) -> dict[str, Any]:
        self.step = "deploy the services"
        if self.params["concurrent"] and len(self.deployers) > 1:
            with ThreadPoolExecutor(max_workers=len(self.deployers)) as pool:
                outcomes = list(pool.map(_deploy, self.deployers))
        else:
            outcomes = [_deploy(deployer) for deployer in self.deployers]
        answers: dict[str, dict[str, Any]] = {}
        failures: list[str] = []
        tracebacks: list[str] = []
        for deployer, answer, error, trace in outcomes:
            name = deployer.params["name"]
            answers[name] = self._record(deployer, answer)
            if error is not None:
                failures.append(f"{name}: {error}")
                tracebacks.extend([trace] if trace else [])
        if failures:
            raise SwarmOpsError(
                f"{len(failures)} of {len(self.deployers)} service(s) failed - {'; '.join(failures)}",
                services=answers,
                changed=self.diff.changed,
                actions=self.actions,
                **({"exception": "\n".join(tracebacks)} if tracebacks else {}),
            )
        return self.result(services=answers)

    def _record(self, deployer: ServiceDeployer, answer: dict[str, Any] | None) -> dict[str, Any]:
        """Take one service's diff, actions and warnings into the set's (what it did before a
        failure too); its answer, or what is known of it after a failure."""
        name = deployer.params["name"]
        self.diff.add(name, deployer.diff.diff["before"], deployer.diff.diff["after"])
        self.actions.extend(deployer.actions)
        self.warnings.extend(f"{name}: {warning}" for warning in deployer.warnings)
        if answer is None:
            return {"changed": deployer.diff.changed, "actions": deployer.actions, "changes": deployer.diff.changes}
        return {key: answer[key] for key in _ANSWER_KEYS if key in answer}
