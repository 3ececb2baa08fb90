# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of every swarmops.cluster module: errors, the difference tracker and
the fingerprint that shows a secret changed without showing it (the base class that
owns the module plumbing is in _module.py)."""

from __future__ import annotations

import hashlib
from typing import Any


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
        """Record a field; recorded again (a later step of the same run), it keeps its first
        ``before`` and takes the new ``after``."""
        before = self._before.get(field, before)
        self._before[field] = before
        self._after[field] = after
        if before != after and field not in self.changes:
            self.changes.append(field)
        elif before == after and field in self.changes:
            self.changes.remove(field)

    def compare(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        for field in sorted(set(before) | set(after)):
            self.add(field, before.get(field), after.get(field))

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def diff(self) -> dict[str, dict[str, Any]]:
        return {"before": dict(self._before), "after": dict(self._after)}


def fingerprint(secret: str | None) -> str | None:
    """A short, non-reversible label for a secret, so diffs can show that it changed."""
    if secret is None:
        return None
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]
