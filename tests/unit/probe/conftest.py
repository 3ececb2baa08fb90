"""Make the probe importable as it runs in its container: one file, ``probe``."""

from __future__ import annotations

import sys
from pathlib import Path

PROBE = Path(__file__).resolve().parents[2] / "probe"

if str(PROBE) not in sys.path:
    sys.path.insert(0, str(PROBE))
