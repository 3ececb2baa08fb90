# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way our modules talk to a Docker engine: the Docker SDK client factory."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ansible_collections.swarmops.cluster.plugins.module_utils._common import (
    MissingLibraryError,
    SwarmOpsError,
)

try:
    import docker
    from docker.errors import APIError, DockerException, NotFound
except ImportError as _exc:  # pragma: no cover - exercised on hosts without the SDK
    docker = None
    DOCKER_IMPORT_ERROR: str | None = str(_exc)

    # Stand-ins with the SDK's class hierarchy, so that ``except`` clauses work (and keep their
    # meaning and order) when the SDK is missing.
    class DockerException(Exception):  # type: ignore[no-redef]
        """Stand-in for ``docker.errors.DockerException``."""

    class APIError(DockerException):  # type: ignore[no-redef]
        """Stand-in for ``docker.errors.APIError``."""

    class NotFound(APIError):  # type: ignore[no-redef]
        """Stand-in for ``docker.errors.NotFound``."""

else:
    DOCKER_IMPORT_ERROR = None

# The SDK's exception classes are re-exported, so that the other module_utils catch them without
# importing the SDK (or its stand-ins) themselves.
__all__ = [
    "DEFAULT_DOCKER_HOST",
    "DOCKER_ARGUMENT_SPEC",
    "DOCKER_IMPORT_ERROR",
    "OUT_OF_SEQUENCE",
    "APIError",
    "DockerException",
    "NotFound",
    "docker_client",
    "docker_error",
    "docker_url",
    "retry_out_of_sequence",
]

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
# What a manager answers when an update carries a version that another writer has replaced.
OUT_OF_SEQUENCE = "update out of sequence"
UPDATE_ATTEMPTS = 5
_T = TypeVar("_T")

DOCKER_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "docker_host": {"type": "str"},
    "docker_timeout": {"type": "int", "default": 60},
}


def docker_url(params: dict[str, Any]) -> str:
    """The engine address: the option, else ``DOCKER_HOST``, else the local socket."""
    return params.get("docker_host") or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


def docker_client(params: dict[str, Any]) -> Any:
    """Return a connected ``docker.DockerClient`` or raise a message naming the engine."""
    if docker is None:
        raise MissingLibraryError("docker", DOCKER_IMPORT_ERROR or "import failed")
    url = docker_url(params)
    try:
        client = docker.DockerClient(base_url=url, timeout=params.get("docker_timeout") or 60)
        client.ping()
    except DockerException as exc:
        raise SwarmOpsError(
            f"cannot reach the Docker engine at {url}: {exc}. Is dockerd running, and may this user open its socket?",
            docker_host=url,
        ) from exc
    return client


def docker_error(action: str, exc: Exception) -> SwarmOpsError:
    """Wrap a Docker API failure in a message that names the step."""
    explanation = getattr(exc, "explanation", None) or str(exc)
    return SwarmOpsError(f"Docker engine refused to {action}: {explanation}")


def retry_out_of_sequence(
    action: str,
    read: Callable[[], Any],
    write: Callable[[Any], _T],
    *,
    attempts: int = UPDATE_ATTEMPTS,
    delay: float = 0.2,
) -> _T:
    """``write(read())`` for a versioned swarm object (node, service); when another writer updated it in
    between ("update out of sequence"), read it again and retry, up to ``attempts`` times in all."""
    attempt = 1
    while True:
        try:
            return write(read())
        except APIError as exc:
            explanation = str(getattr(exc, "explanation", None) or exc)
            if OUT_OF_SEQUENCE not in explanation:
                raise docker_error(action, exc) from exc
            if attempt == attempts:
                raise SwarmOpsError(
                    f"Docker engine refused to {action}: {explanation} after {attempts} attempts; another writer "
                    "keeps updating the same object (a concurrent deploy or docker node update?)"
                ) from exc
        time.sleep(delay * attempt)
        attempt += 1
