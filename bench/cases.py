"""Running the cases: three jobs, each on fresh nodes, alternating in rounds (ours, floor, peer, ours, ...).

ours   playbooks/site.yml
floor  bench/floor.sh, the fastest correct script of the same job
peer   bench/peer/site.yml, the same job as a plain community.docker + community.general playbook

cold   the default topology (1 Consul, 3 masters, 3 workers), PAIRS rounds; after each run, the time
       until hello-world answers ("ready"), and after each ours and each peer run the same playbook
       again on the cluster it just built (the idempotent rerun: changed must be 0)
scale  more workers with the same 3 masters; the 3-worker point reuses the cold rounds when the cold
       case runs too
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import DEFAULT_WORKERS, MASTERS, REPO, SMOKE_IMAGE, code_state, rel, run_logged, say
from nodes import Lab, Topology, python_bundle, write_inventory
from plot import plot
from report import JOBS, Report, Run, fmt, machine_info

NETWORK = "server-overlay-network"
SMOKE_CODE = (
    "import urllib.request; print(urllib.request.urlopen('http://hello-world:8080/', timeout=5).read().decode())"
)
READY_TIMEOUT = 180.0

RECAP_RE = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)"
)
TASK_RE = re.compile(r"^TASK \[(?P<name>.*)\]")
PROFILE_RE = re.compile(r"^(?P<name>.+?) -+ (?P<secs>\d+(?:\.\d+)?)s$")
# The tasks of ours (role images) and of the peer that copy an image archive to a host.
IMAGE_LOAD_TASKS = ("Copy the archive to the host", "Copy the archive of ")
PEER_PLAYBOOK = REPO / "bench" / "peer" / "site.yml"
# What each job is, in the bench's messages.
COMMANDS = {"ours": "site.yml", "floor": "floor.sh", "peer": "peer/site.yml"}


@dataclass
class Playbook:
    """What one ansible-playbook run (site.yml or the peer) did, read from its output."""

    seconds: float
    rc: int
    changed: int | None
    failed_hosts: int
    error: str
    images_loaded: bool
    profile: list[tuple[str, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rc == 0 and self.failed_hosts == 0 and self.changed is not None


def read_playbook_log(log: Path, rc: int, seconds: float) -> Playbook:
    changed: int | None = None
    failed_hosts = 0
    task = ""
    error = ""
    images_loaded = False
    profile: list[tuple[str, float]] = []
    in_profile = False
    lines = log.read_text(errors="replace").splitlines()
    for index, line in enumerate(lines):
        if match := TASK_RE.match(line):
            task = match["name"]
            in_profile = False
        elif match := RECAP_RE.match(line):
            changed = (changed or 0) + int(match["changed"])
            failed_hosts += int(int(match["failed"]) > 0 or int(match["unreachable"]) > 0)
        elif line.startswith(("fatal: [", "failed: [")) and not error:
            msg = next((m.strip() for m in lines[index + 1 : index + 30] if m.strip().startswith("msg:")), "")
            error = f"task '{task}': {line.strip().rstrip('=> ')} {msg}"[:500]
        elif line.startswith("ERROR!") and not error:
            error = line.strip()[:400]
        elif line.startswith("====="):
            in_profile = True
        elif in_profile and (match := PROFILE_RE.match(line.strip())):
            profile.append((match["name"], float(match["secs"])))
        if line.startswith("changed: [") and any(name in task for name in IMAGE_LOAD_TASKS):
            images_loaded = True
    if rc != 0 and not error:
        error = f"ansible-playbook exited {rc}"
    return Playbook(seconds, rc, changed, failed_hosts, error, images_loaded, profile)


def run_playbook(argv: list[str], log: Path) -> Playbook:
    """One ansible-playbook run, ours or the peer's, with the same settings for both."""
    env = dict(
        os.environ,
        # Where the playbook spends its time: a per-task profile at the end of the output.
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
        PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
    )
    rc, seconds = run_logged(["ansible-playbook", *argv], log, env=env)
    return read_playbook_log(log, rc, seconds)


def run_site(inventory: Path, log: Path) -> Playbook:
    return run_playbook(["-i", str(inventory), "playbooks/site.yml"], log)


def run_peer(topo: Topology, inventory: Path, bundle: Path, log: Path) -> Playbook:
    """The peer on ``topo``'s hosts: the same inventory as ours, the peer's own settings."""
    extra = [f"peer_cluster={topo.lab}", f"peer_secrets_dir={topo.secrets_dir}", f"peer_python_bundle={bundle}"]
    return run_playbook(["-i", str(inventory), str(PEER_PLAYBOOK), *[a for e in extra for a in ("-e", e)]], log)


def run_floor(topo: Topology, log: Path) -> tuple[int, float, str]:
    argv = [
        str(REPO / "bench" / "floor.sh"),
        "-c",
        topo.consul,
        "-m",
        ",".join(topo.master_names),
        "-w",
        ",".join(topo.worker_names),
        "-k",
        topo.lab,
        "-s",
        str(topo.secrets_dir),
    ]
    rc, seconds = run_logged(argv, log)
    error = ""
    if rc != 0:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        steps = [line for line in lines if line.startswith("floor: [")]
        errors = [line for line in lines if line.startswith("floor: ERROR")]
        last = errors[0] if errors else (lines[-2] if len(lines) > 1 else "")
        error = f"floor.sh exited {rc} after step '{steps[-1] if steps else '?'}': {last}"
    return rc, seconds, error


def wait_ready(topo: Topology, started: float) -> tuple[float | None, int]:
    """Seconds from ``started`` until hello-world answers a throwaway client on the first worker."""
    argv = [
        "docker",
        "exec",
        topo.worker_names[0],
        "docker",
        "run",
        "--rm",
        f"--network={NETWORK}",
        SMOKE_IMAGE,
        "python3",
        "-c",
        SMOKE_CODE,
    ]
    attempts = 0
    while time.monotonic() - started < READY_TIMEOUT:
        attempts += 1
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
            if proc.returncode == 0 and proc.stdout.strip() == "Hello World":
                return time.monotonic() - started, attempts
        time.sleep(0.5)
    return None, attempts


@dataclass(frozen=True)
class Options:
    """What the bench was asked to run (bench/run.py's command line)."""

    quick: bool
    pairs: int
    workers: list[int]
    scale_pairs: int
    cases: list[str]
    no_rerun: bool
    lab_name: str
    results: Path
    keep: bool
    jobs: list[str] = field(default_factory=lambda: list(JOBS))

    def config(self) -> dict[str, Any]:
        """The options results.json records and results.md reports."""
        return {
            "quick": self.quick,
            "pairs": self.pairs,
            "workers": self.workers,
            "scale_pairs": self.scale_pairs,
            "cases": self.cases,
            "jobs": self.jobs,
            "lab_name": self.lab_name,
        }

    def scale_workers(self) -> list[int]:
        """The scaling points that need runs of their own (the 3-worker point is the cold case when it runs)."""
        if "scale" not in self.cases:
            return []
        return [n for n in self.workers if not (n == DEFAULT_WORKERS and "cold" in self.cases)]


class Bench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.results = options.results
        self.logs = self.results / "logs"
        self.lab = Lab(options.lab_name, self.logs)
        self.report = Report(self.results, options.config(), machine_info())
        self.bundle: Path | None = None

    def one(self, case: str, topo: Topology, pair: int, kind: str) -> Run:
        tag = f"{case}-w{topo.workers}-p{pair}-{kind}"
        inventory = write_inventory(topo)
        say(f"[{tag}] fresh lab: {len(topo.hosts)} node containers")
        setup = self.lab.fresh(topo, tag)
        say(f"[{tag}] nodes created in {setup.create_s:.1f}s, images preloaded in {setup.preload_s:.1f}s")
        log = self.logs / f"{tag}.log"
        run = Run(case, topo.workers, pair, kind, setup.create_s, setup.preload_s, log=rel(log))
        returned = self._floor(run, topo, log) if kind == "floor" else self._playbook(run, kind, topo, inventory, log)
        status = "ok" if run.ok else f"FAILED: {run.error}"
        say(f"[{tag}] {COMMANDS[kind]} took {run.job_s:.1f}s, {status}")
        if run.ok:
            run.ready_s, run.ready_attempts = wait_ready(topo, returned)
            say(f"[{tag}] hello-world answered {fmt(run.ready_s)}s after the job returned ({run.ready_attempts} try)")
        if kind != "floor" and run.ok and case == "cold" and not self.options.no_rerun:
            self._rerun(run, kind, topo, inventory, tag)
            if kind == "ours" and run.rerun_ok:
                self._lab_noop(run, topo, inventory, tag)
        self.report.add(run)
        return run

    def _job(self, kind: str, topo: Topology, inventory: Path, log: Path) -> Playbook:
        if kind == "ours":
            return run_site(inventory, log)
        assert self.bundle is not None, "prepare() makes the peer's Python bundle"
        return run_peer(topo, inventory, self.bundle, log)

    def _playbook(self, run: Run, kind: str, topo: Topology, inventory: Path, log: Path) -> float:
        """Ours or the peer on the fresh nodes, into ``run``; the moment it returned."""
        before = code_state()
        shutil.rmtree(topo.secrets_dir, ignore_errors=True)
        topo.report_dir.mkdir(parents=True, exist_ok=True)
        result = self._job(kind, topo, inventory, log)
        returned = time.monotonic()
        run.job_s, run.ok, run.error = result.seconds, result.ok, result.error
        run.changed, run.images_loaded, run.profile = result.changed, result.images_loaded, result.profile
        # Only ours runs roles/, playbooks/ and plugins/: only its time can mix two versions of them.
        run.code_changed_during = kind == "ours" and code_state() != before
        return returned

    @staticmethod
    def _floor(run: Run, topo: Topology, log: Path) -> float:
        """bench/floor.sh on the fresh nodes, into ``run``; the moment it returned."""
        rc, seconds, error = run_floor(topo, log)
        returned = time.monotonic()
        run.job_s, run.ok, run.error = seconds, rc == 0, error
        return returned

    def _rerun(self, run: Run, kind: str, topo: Topology, inventory: Path, tag: str) -> None:
        """The idempotent rerun: the same playbook again on the cluster that ``run`` just built."""
        rerun_log = self.logs / f"{tag}-rerun.log"
        before = code_state()
        again = self._job(kind, topo, inventory, rerun_log)
        run.rerun_log = rel(rerun_log)
        run.code_changed_during |= kind == "ours" and code_state() != before
        run.rerun_s, run.rerun_ok, run.rerun_changed, run.rerun_error = (
            again.seconds,
            again.ok,
            again.changed,
            again.error,
        )
        flag = "" if again.changed == 0 else "  <-- NOT IDEMPOTENT"
        say(f"[{tag}] rerun took {again.seconds:.1f}s, changed={again.changed}{flag} {again.error}")

    def _lab_noop(self, run: Run, topo: Topology, inventory: Path, tag: str) -> None:
        """`make lab` with nothing to do, end to end (lab/up.sh: engine, images, lab hosts, site.yml,
        the closing report) on the cluster ours just built and reran."""
        log = self.logs / f"{tag}-make-lab.log"
        env = dict(os.environ, SWARMOPS_LAB_INVENTORY=str(inventory), SWARMOPS_LAB_RUN_DIR=str(topo.run_dir))
        rc, seconds = run_logged([str(REPO / "lab" / "up.sh")], log, env=env)
        nothing = "lab: nothing changed" in log.read_text()
        run.lab_noop_s, run.lab_noop_ok, run.lab_noop_log = seconds, rc == 0 and nothing, rel(log)
        state = "nothing changed" if nothing else "CHANGED SOMETHING" if rc == 0 else f"FAILED (exit {rc})"
        say(f"[{tag}] make lab again took {seconds:.1f}s, {state}")

    def pairs(self, case: str, topo: Topology, count: int) -> None:
        """``count`` rounds of the jobs, one after the other in each round (ours, floor, peer, ours, ...)."""
        for pair in range(1, count + 1):
            for kind in self.options.jobs:
                self.one(case, topo, pair, kind)

    def plan(self) -> str:
        """What the bench is about to do: each run is a fresh lab."""
        opts = self.options
        jobs = len(opts.jobs)
        labs: list[int] = []
        if "cold" in opts.cases:
            labs += [DEFAULT_WORKERS] * jobs * opts.pairs
        for n in opts.scale_workers():
            labs += [n] * jobs * opts.scale_pairs
        nodes = sum(1 + MASTERS + n for n in labs)
        playbooks = len([j for j in opts.jobs if j != "floor"])
        reruns = playbooks * opts.pairs if "cold" in opts.cases and not opts.no_rerun else 0
        return (
            f"plan: {' '.join(opts.jobs)} in rounds; {len(labs)} runs on fresh labs ({nodes} node containers in all), "
            f"{reruns} idempotent rerun(s)"
        )

    def prepare(self) -> bool:
        """A Docker engine, the lab's images (lab/engine.sh, lab/build-images.sh) and the peer's Python
        bundle; False when one failed."""
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)
        for script in ("engine.sh", "build-images.sh"):
            rc, _output = run_logged([str(REPO / "lab" / script)], self.logs / f"prepare-{script}.log")
            if rc != 0:
                say(f"lab/{script} failed: see {self.logs / ('prepare-' + script + '.log')}")
                return False
        self.lab.images.prepare()
        if "peer" in self.options.jobs:
            self.bundle = python_bundle(self.logs / "prepare-python-bundle.log")
        return True

    def cases(self) -> None:
        if "cold" in self.options.cases:
            self.pairs("cold", Topology(self.options.lab_name, DEFAULT_WORKERS), self.options.pairs)
        for n in self.options.scale_workers():
            self.pairs("scale", Topology(self.options.lab_name, n), self.options.scale_pairs)
        self.report.finished = True

    def run(self) -> int:
        say(f"results in {rel(self.results)}, logs in {rel(self.logs)}")
        say(self.plan())
        if not self.prepare():
            return 1
        try:
            self.cases()
        finally:
            if not self.options.keep:
                self.lab.destroy("final-destroy")
            self.report.write()
            picture = plot(self.report)
        print()
        print((self.results / "results.md").read_text())
        say(f"wrote {self.results / 'results.md'}, results.json{', scaling.png' if picture else ''}")
        return 0 if all(r.ok for r in self.report.runs) else 1
