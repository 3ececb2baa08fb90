"""Make the demo apps importable as they are laid out in their images: ``serve`` next to each app."""

from __future__ import annotations

import sys
from pathlib import Path

APPS = Path(__file__).resolve().parents[3] / "apps"

for subdir in ("common", "hello", "world", "hello-world"):
    path = str(APPS / subdir)
    if path not in sys.path:
        sys.path.insert(0, path)
