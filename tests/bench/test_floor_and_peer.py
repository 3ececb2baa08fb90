"""The floor (bench/floor.sh) and the peer (bench/peer/site.yml) each build the cluster and end
with "Hello World" on a fresh lab of their own, and a second run of the peer changes nothing.
A check that the bench's two yardsticks do the job, not a timing.

Topology: 1 Consul, 2 masters, 1 worker, the smallest that runs every step of the job: a master
that initialises the swarm and one that joins it as a manager, both drained; a worker that joins
with its own Consul token and runs the three services. The lab is named benchtest (containers
benchtest-*, labelled swarmops.lab=benchtest) and is removed at the end; no other lab is touched.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from cases import run_floor, run_peer  # noqa: E402
from common import tail  # noqa: E402
from nodes import Lab, Topology, python_bundle, write_inventory  # noqa: E402

TOPOLOGY = Topology("benchtest", workers=1, masters=2)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(TOPOLOGY.lab, tmp_path_factory.mktemp("bench-logs"))
    yield lab
    lab.destroy("final-destroy")


def output_of(log: Path) -> str:
    """What the command printed: run_logged's log without its first line ($ command) and last (# exit)."""
    lines = log.read_text(errors="replace").rstrip("\n").splitlines()
    assert lines[0].startswith("$ ") and lines[-1].startswith("# exit"), lines[-3:]
    return "\n".join(lines[1:-1]).rstrip()


def test_floor_ends_with_hello_world(lab: Lab, tmp_path: Path) -> None:
    lab.fresh(TOPOLOGY, "floor")
    log = tmp_path / "floor.log"
    rc, _seconds, error = run_floor(TOPOLOGY, log)
    assert rc == 0, f"{error}\n{tail(log, 30)}"
    assert output_of(log).endswith("Hello World"), tail(log, 30)


def test_peer_ends_with_hello_world_and_a_rerun_changes_nothing(lab: Lab, tmp_path: Path) -> None:
    lab.fresh(TOPOLOGY, "peer")
    inventory = write_inventory(TOPOLOGY)
    bundle = python_bundle(tmp_path / "bundle.log")

    first = run_peer(TOPOLOGY, inventory, bundle, tmp_path / "peer.log")
    assert first.ok, f"{first.error}\n{tail(tmp_path / 'peer.log', 40)}"
    # The smoke test's answer, the last task's message.
    answers = re.findall(r"^\s+msg: (.*)$", output_of(tmp_path / "peer.log"), re.MULTILINE)
    assert answers and answers[-1] == "Hello World", tail(tmp_path / "peer.log", 40)

    again = run_peer(TOPOLOGY, inventory, bundle, tmp_path / "rerun.log")
    assert again.ok, f"{again.error}\n{tail(tmp_path / 'rerun.log', 40)}"
    assert again.changed == 0, tail(tmp_path / "rerun.log", 40)
