"""What every part of the bench shares: the paths, the cluster's fixed shape, messages and commands."""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAB_DIR = REPO / ".lab"
WORK = LAB_DIR / "bench"
DEFAULT_RESULTS = REPO / "bench" / "results"
LAB_INVENTORY = REPO / "inventories" / "lab"

MASTERS = 3
DEFAULT_WORKERS = 3
SMOKE_IMAGE = "swarmops/hello-world:0.2.0"


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


def run_logged(argv: Sequence[str], log: Path, *, env: dict[str, str] | None = None) -> tuple[int, float]:
    """Run ``argv`` with stdout and stderr into ``log``; return its exit code and wall seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        start = time.monotonic()
        proc = subprocess.run(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
        seconds = time.monotonic() - start
        out.write(f"\n# exit {proc.returncode} after {seconds:.1f}s\n")
    return proc.returncode, seconds


def rel(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def capture(argv: Sequence[str], *, timeout: float = 60) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def code_state() -> str:
    """A fingerprint of roles/, playbooks/ and plugins/: their committed trees plus what is uncommitted in
    them (edited as the bench runs). A commit that touches nothing else (docs) leaves it as it is."""
    head = capture(["git", "-C", str(REPO), "rev-parse", "HEAD:roles", "HEAD:playbooks", "HEAD:plugins"])
    diff = subprocess.run(
        ["git", "-C", str(REPO), "diff", "HEAD", "--", "roles", "playbooks", "plugins"],
        capture_output=True,
        check=False,
    ).stdout
    untracked = capture(
        ["git", "-C", str(REPO), "ls-files", "--others", "--exclude-standard", "--", "roles", "playbooks", "plugins"]
    )
    return hashlib.sha1(head.encode() + diff + untracked.encode()).hexdigest()[:12]
