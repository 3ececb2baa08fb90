# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of every orchestration class, and the one way a module runs one.

A module's ``main()`` builds its argument spec and calls ``run_module(module, TheClass)``. The
class reads what it manages, compares, and changes it through ``act``, which records the field
in the diff, says what it would do in check mode and does it otherwise; ``result`` builds the
module's answer, with ``changed`` taken from the recorded differences and nothing else."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.swarmops.cluster.plugins.module_utils._common import (
    Differences,
    MissingLibraryError,
    SwarmOpsError,
)
from ansible_collections.swarmops.cluster.plugins.module_utils._consul import (
    CONSUL_ERRORS,
    ConsulClient,
    consul_client,
)
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import (
    APIError,
    DockerException,
    NotFound,
    docker_client,
    docker_error,
    retry_out_of_sequence,
)

_T = TypeVar("_T")

# Past tense of the verbs our actions start with: check mode says "would <phrase>",
# a real run "<past> <rest of the phrase>".
PAST_TENSE = {
    "create": "created",
    "delete": "deleted",
    "deregister": "deregistered",
    "initialise": "initialised",
    "join": "joined",
    "publish": "published",
    "pull": "pulled",
    "recreate": "recreated",
    "register": "registered",
    "remove": "removed",
    "set": "set",
    "start": "started",
    "update": "updated",
}

MAX_PORT = 65535
# Library failures that no narrower handler turned into a message: the safety net of run_module.
LIBRARY_ERRORS: tuple[type[Exception], ...] = (DockerException, OSError, *CONSUL_ERRORS)


def done(phrase: str) -> str:
    """``"create network x"`` -> ``"created network x"``; an unknown verb is a programming error."""
    verb, *rest = phrase.split(" ", 1)
    return " ".join([PAST_TENSE[verb], *rest])


def planned(phrase: str) -> str:
    return f"would {phrase}"


class SwarmOpsModule:
    """Parameters, check mode, the Docker and Consul clients, actions, warnings, the diff and the
    result of one module run. Subclasses implement ``run``."""

    #: consul_server answers on its own client address when consul_host is not given.
    consul_default_host: str | None = None

    def __init__(
        self,
        params: dict[str, Any],
        check_mode: bool,
        *,
        docker: Any = None,
        consul: ConsulClient | None = None,
    ) -> None:
        validate_connection(params)
        self.params = params
        self.check_mode = check_mode
        self.diff = Differences()
        self.actions: list[str] = []
        self.warnings: list[str] = []
        self.step = "check the options"
        self._docker = docker
        self._consul = consul

    # -- clients, built once, on first use ------------------------------------------------

    @property
    def docker(self) -> Any:
        if self._docker is None:
            self.step = "connect to the Docker engine"
            self._docker = docker_client(self.params)
        return self._docker

    @property
    def consul(self) -> ConsulClient:
        if self._consul is None:
            self.step = "connect to Consul"
            self._consul = consul_client(self.params, default_host=self.consul_default_host)
        return self._consul

    # -- reading ---------------------------------------------------------------------------

    def call(self, what: str, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """One Docker API call; ``what`` (e.g. "inspect service 'hello'") names it in any failure.
        ``NotFound`` passes through: for a lookup it is an answer, not a failure."""
        self.step = what
        try:
            return function(*args, **kwargs)
        except NotFound:
            raise
        except APIError as exc:
            raise docker_error(what, exc) from exc

    def find(self, what: str, function: Callable[..., _T], *args: Any) -> _T | None:
        """A lookup through ``call``: the object, or None when the engine does not know it."""
        try:
            return self.call(what, function, *args)
        except NotFound:
            return None

    def update_node(self, node_id: str, what: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Apply ``change`` to a node's spec, retrying when another writer updated the node meanwhile."""
        self.step = what
        api = self.docker.api
        retry_out_of_sequence(
            what,
            lambda: api.inspect_node(node_id),
            lambda node: api.update_node(node_id, node["Version"]["Index"], change(dict(node["Spec"]))),
        )

    # -- writing ---------------------------------------------------------------------------

    def act(self, field: str, before: Any, after: Any, phrase: str, apply: Callable[[], _T] | None = None) -> bool:
        """Record ``field`` in the diff; when it differs, say what happens (``phrase``, starting with a
        verb of PAST_TENSE) and, outside check mode, do it. True when it differed."""
        self.diff.add(field, before, after)
        if before == after:
            return False
        self.perform(phrase, apply)
        return True

    def perform(self, phrase: str, apply: Callable[[], _T] | None = None) -> _T | None:
        """Say and do one step of a change whose fields ``act`` or ``diff`` recorded already."""
        self.step = phrase
        if self.check_mode:
            self.actions.append(planned(phrase))
            return None
        outcome = apply() if apply is not None else None
        self.actions.append(done(phrase))
        return outcome

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    # -- the answer ------------------------------------------------------------------------

    def result(self, **values: Any) -> dict[str, Any]:
        """The module's answer: ``changed`` is true exactly when ``changes`` is not empty."""
        return {
            "changed": self.diff.changed,
            "actions": self.actions,
            "changes": self.diff.changes,
            "diff": self.diff.diff,
            **values,
            "warnings": self.warnings,
        }

    def run(self) -> dict[str, Any]:
        raise NotImplementedError


def validate_connection(params: dict[str, Any]) -> None:
    """The shared connection options, refused before any client is built."""
    timeout = params.get("docker_timeout")
    if timeout is not None and timeout < 1:
        raise SwarmOpsError(f"docker_timeout={timeout} must be at least 1 (seconds per Docker API call)")
    port = params.get("consul_port")
    if port is not None and not 1 <= port <= MAX_PORT:
        raise SwarmOpsError(f"consul_port={port} is not a port: use 1-{MAX_PORT} (Consul's HTTP API: 8500)")


def run_module(module: Any, cls: type[SwarmOpsModule]) -> None:
    """Run ``cls`` with the module's parameters and turn its result or any failure into Ansible
    output: our own errors with their message, library errors with the step and the traceback."""
    instance: SwarmOpsModule | None = None
    try:
        instance = cls(module.params, module.check_mode)
        result = instance.run()
    except MissingLibraryError as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.error)
    except SwarmOpsError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except LIBRARY_ERRORS as exc:
        step = instance.step if instance is not None else "start"
        module.fail_json(
            msg=f"{module._name} failed to {step}: {type(exc).__name__}: {exc}",
            step=step,
            exception=traceback.format_exc(),
        )
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)
