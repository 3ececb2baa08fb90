"""Make ``ansible_collections.swarmops.cluster`` importable from this checkout.

The checkout is linked as ``.collections/ansible_collections/swarmops/cluster`` (the
Makefile does it too); ``ansible_collections`` is a namespace package, so this
path merges with the one that carries community.docker and friends."""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "swarmops", "cluster")

if not os.path.lexists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.relpath(ROOT, os.path.dirname(LINK)), LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
