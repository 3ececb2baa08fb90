# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of every swarmops.cluster module: errors, the difference
tracker, and the base class that owns the Ansible module plumbing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import missing_required_lib


class SwarmOpsError(Exception):
    """A failure the user can act on; the message says what and where."""

    def __init__(self, msg: str, **details: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


class MissingLibraryError(SwarmOpsError):
    """A Python library a module needs is not importable on the target."""

    def __init__(self, library: str, error: str) -> None:
        super().__init__(f"the Python library {library!r} is missing: {error}")
        self.library = library
        self.error = error


class Differences:
    """Track field changes to produce both an Ansible diff and a change list."""

    def __init__(self) -> None:
        self._before: dict[str, Any] = {}
        self._after: dict[str, Any] = {}
        self.changes: list[str] = []

    def add(self, field: str, before: Any, after: Any) -> None:
        self._before[field] = before
        self._after[field] = after
        if before != after:
            self.changes.append(field)

    def compare(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        for field in sorted(set(before) | set(after)):
            self.add(field, before.get(field), after.get(field))

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def diff(self) -> dict[str, dict[str, Any]]:
        return {"before": dict(self._before), "after": dict(self._after)}


def run_module(module: Any, manager: Callable[[Any], dict[str, Any]]) -> None:
    """Call ``manager(module)`` and turn its result or failure into Ansible output."""
    try:
        result = manager(module)
    except MissingLibraryError as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.error)
    except SwarmOpsError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)
