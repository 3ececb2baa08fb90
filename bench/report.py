"""The record of each run and what the bench writes from them: results.json and results.md.

results.md holds the machine, the targets, one table per case with every ratio round by round
(ours/floor, ours/peer), the setup times, where site.yml spends its time (ansible.posix.profile_tasks)
and the failures; results.json every run, raw. Both are rewritten after every run, so an interrupted
bench leaves what it measured.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from common import DEFAULT_WORKERS, MASTERS, REPO, capture, code_state

# The jobs, in the order each round runs them, and what they are.
JOBS = ("ours", "floor", "peer")
TITLES = {"ours": "ours: site.yml", "floor": "floor: bench/floor.sh", "peer": "peer: bench/peer/site.yml"}
# The ratios reported, numerator and denominator.
RATIOS = (("ours", "floor"), ("ours", "peer"))
# results.json before the peer: A was ours, B the floor.
LEGACY_KINDS = {"A": "ours", "B": "floor"}

# The targets: cold against the peer and the floor, the rerun against the peer's and our
# own cold time, 3 -> 24 workers, and `make lab` with nothing to do.
TARGET_COLD_PEER = 1.0
TARGET_COLD_FLOOR = 1.5
TARGET_RERUN_PEER = 0.75
TARGET_RERUN_FRACTION = 0.20
TARGET_SCALE_FACTOR = 1.5
TARGET_LAB_NOOP_S = 15.0


@dataclass
class Run:
    case: str
    workers: int
    pair: int
    kind: str  # one of JOBS
    create_s: float
    preload_s: float
    job_s: float | None = None
    ok: bool = False
    error: str = ""
    changed: int | None = None
    images_loaded: bool | None = None
    ready_s: float | None = None
    ready_attempts: int = 0
    rerun_s: float | None = None
    rerun_ok: bool | None = None
    rerun_changed: int | None = None
    rerun_error: str = ""
    rerun_log: str = ""
    lab_noop_s: float | None = None
    lab_noop_ok: bool | None = None
    lab_noop_log: str = ""
    code_changed_during: bool = False
    profile: list[tuple[str, float]] = field(default_factory=list)
    log: str = ""


def values(runs: Iterable[Run], attr: str) -> list[float]:
    return [v for run in runs if isinstance(v := getattr(run, attr), float)]


def summary(xs: Sequence[float]) -> dict[str, float] | None:
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": float(len(xs))}


def fmt(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def rounds_of(runs: Sequence[Run]) -> list[tuple[int, dict[str, Run]]]:
    """The runs by round (``pair`` in results.json), each round's runs by job."""
    rounds: dict[int, dict[str, Run]] = {}
    for run in runs:
        rounds.setdefault(run.pair, {})[run.kind] = run
    return sorted(rounds.items())


def of(runs: Iterable[Run], kind: str) -> list[Run]:
    """The successful runs of one job."""
    return [run for run in runs if run.kind == kind and run.ok]


def job_stats(runs: Iterable[Run], kind: str, attr: str = "job_s") -> dict[str, float] | None:
    return summary(values(of(runs, kind), attr))


def _ratio_row(
    label: str,
    numerator: dict[str, float] | None,
    denominator: dict[str, float] | None,
    limit: float,
    *,
    note: str = "",
    also: bool = True,
) -> tuple[str, str, bool | None]:
    """A target row: the ratio of two medians against ``limit`` (and ``also``), or n/a."""
    if not numerator or not denominator:
        return label, "n/a", None
    value = numerator["median"] / denominator["median"]
    text = f"{value:.2f}x ({fmt(numerator['median'])} s / {fmt(denominator['median'])} s){note}"
    return label, text, value <= limit and also


def rerun_ratio(a: Run | None, b: Run | None) -> float | None:
    if a and b and a.rerun_ok and b.rerun_ok and a.rerun_s and b.rerun_s:
        return a.rerun_s / b.rerun_s
    return None


def spread(s: dict[str, float] | None, digits: int = 1) -> str:
    """``median (min-max)``."""
    if s is None:
        return "n/a"
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}-{s['max']:.{digits}f})"


def ratio(a: Run | None, b: Run | None) -> float | None:
    if a and b and a.ok and b.ok and a.job_s and b.job_s:
        return a.job_s / b.job_s
    return None


def job_cell(run: Run | None) -> str:
    if run is None:
        return "-"
    if not run.ok:
        return f"FAILED after {fmt(run.job_s)}"
    return fmt(run.job_s)


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    changed_files = capture(["git", "-C", str(REPO), "status", "--porcelain", "--", "roles", "playbooks", "plugins"])
    others = capture(["docker", "ps", "--format", "{{.Names}}"]).split()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "kernel": platform.release(),
        "os": capture(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "docker": capture(["docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"]),
        "ansible_core": capture(["ansible", "--version"]).splitlines()[0] if capture(["ansible", "--version"]) else "",
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": capture(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "uncommitted_in_roles_playbooks_plugins": len(changed_files.splitlines()),
        "code_fingerprint": code_state(),
        "loadavg_at_start": os.getloadavg(),
        "other_containers_at_start": len(others),
    }


class Report:
    """The runs so far, with the machine and the options they ran with; written to ``results``."""

    def __init__(self, results: Path, config: dict[str, Any], machine: dict[str, Any]) -> None:
        self.results = results
        self.config = config
        self.machine = machine
        self.runs: list[Run] = []
        self.started = time.monotonic()
        self.finished = False

    @classmethod
    def load(cls, results: Path) -> Report:
        """The report that ``results``/results.json holds, as it was when that file was written."""
        data = json.loads((results / "results.json").read_text())
        report = cls(results, data["config"], data["machine"])
        report.runs = [
            Run(
                **{
                    **run,
                    "kind": LEGACY_KINDS.get(run["kind"], run["kind"]),
                    "profile": list(map(tuple, run["profile"])),
                }
            )
            for run in data["runs"]
        ]
        report.started, report.finished = time.monotonic() - data["elapsed_s"], data["finished"]
        return report

    def add(self, run: Run) -> None:
        self.runs.append(run)
        self.write()

    def jobs(self) -> list[str]:
        """The jobs this bench runs (or ran: results.json from before the peer has no "jobs")."""
        asked = self.config.get("jobs") or [kind for kind in JOBS if any(run.kind == kind for run in self.runs)]
        return [kind for kind in JOBS if kind in asked]

    def ratios(self) -> list[tuple[str, str]]:
        jobs = self.jobs()
        return [(a, b) for a, b in RATIOS if a in jobs and b in jobs]

    def select(self, case: str, workers: int | None = None) -> list[Run]:
        return [r for r in self.runs if r.case == case and (workers is None or r.workers == workers)]

    def scale_points(self) -> dict[int, list[Run]]:
        points: dict[int, list[Run]] = {}
        wanted = self.config["workers"] if "scale" in self.config["cases"] else []
        for n in wanted:
            runs = self.select("scale", n)
            if not runs and n == DEFAULT_WORKERS:
                runs = self.select("cold")
            if runs:
                points[n] = runs
        return points

    # -- JSON
    def write(self) -> None:
        self.results.mkdir(parents=True, exist_ok=True)
        data = {
            "machine": self.machine,
            "config": self.config,
            "elapsed_s": round(time.monotonic() - self.started, 1),
            "finished": self.finished,
            "runs": [asdict(run) for run in self.runs],
        }
        (self.results / "results.json").write_text(json.dumps(data, indent=2) + "\n")
        self.write_markdown()

    def write_markdown(self) -> Path:
        path = self.results / "results.md"
        path.write_text(self.markdown())
        return path

    # -- Markdown
    def markdown(self) -> str:
        m = self.machine
        jobs = self.jobs()
        out = [
            "# swarmops.cluster bench: ours (site.yml), the floor (docker CLI script), the peer (plain playbook)",
            "",
            f"{'Finished' if self.finished else 'IN PROGRESS (partial results)'}; "
            f"bench time {time.monotonic() - self.started:.0f}s. Made by `make bench` ({self._knobs()}).",
            "",
            "## Machine",
            "",
            f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['memory_gib']} GiB; kernel {m['kernel']}; {m['os']}",
            f"- Docker engine {m['docker']}; {m['ansible_core']}; Python {m['python']}",
            f"- {m['date']}; commit {m['commit']}"
            + (
                f" plus {m['uncommitted_in_roles_playbooks_plugins']} uncommitted file(s) in roles/ playbooks/ "
                f"plugins/ (fingerprint {m.get('code_fingerprint', '?')}, see code_state in bench/common.py)"
                if m["uncommitted_in_roles_playbooks_plugins"]
                else ""
            ),
            f"- Load average at start {', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}; "
            f"{m['other_containers_at_start']} container(s) of others running on the engine at start "
            "(timings are noisy when that is not 0)",
            "",
            "Each run starts on fresh node containers (created by playbooks/lab.yml, images preloaded; "
            f"not counted in the job), the jobs alternating in rounds ({', '.join(jobs)}, {', '.join(jobs)}, ...). "
            + "; ".join(f"{TITLES[kind]}" for kind in jobs)
            + ". Times are wall seconds.",
            "",
        ]
        out += self._targets()
        out += self._cold()
        out += self._scale()
        out += self._setup()
        out += self._profile()
        out += self._failures()
        legacy = (
            [
                "These results are from before the peer (no `jobs` in results.json): their floor is the earlier "
                "bench/floor.sh, which set up no ACLs or catalog entries and created the services one after the "
                "other, each with the CLI's own wait. The text below describes the current jobs.",
                "",
            ]
            if "jobs" not in self.config
            else []
        )
        out += [
            "## What the three jobs do",
            "",
            *legacy,
            "All three build the same cluster on the same fresh nodes: Consul with ACLs (default deny, gossip key, "
            "a policy and token for the masters, one per worker, the anonymous token for DNS), swarm init, joins "
            "with the tokens read from Consul with each host's own token, drained masters, the attachable overlay "
            "network, the three services (endpoint mode dnsrr), their running tasks in Consul's catalog, and the "
            "smoke test until hello-world answers. The floor runs independent steps at once and waits once, until "
            "the services' tasks run; the peer is a plain playbook (no fact gathering, forks, idempotent). "
            "Ours also checks the inventory first, finds the masters that answer, keeps a session lock around "
            "swarm init, publishes every manager's address, writes each node's record and sets node labels from "
            "it, and prints the cluster summary; the floor and the peer do none of that. See bench/README.md.",
            "",
        ]
        return "\n".join(out)

    def _knobs(self) -> str:
        c = self.config
        if c["quick"]:
            return "QUICK=1: one round of the cold case"
        return f'PAIRS={c["pairs"]} WORKERS="{" ".join(map(str, c["workers"]))}" SCALE_PAIRS={c["scale_pairs"]} ' + (
            f'CASES="{" ".join(c["cases"])}"'
        )

    def _targets(self) -> list[str]:
        cold = self.select("cold")
        ours, floor, peer = (job_stats(cold, kind) for kind in JOBS)
        reruns = [r for r in cold if r.kind == "ours" and r.rerun_s is not None]
        rerun = summary(values([r for r in reruns if r.rerun_ok], "rerun_s"))
        peer_rerun = summary(values([r for r in cold if r.kind == "peer" and r.rerun_ok], "rerun_s"))
        changed = ",".join(str(r.rerun_changed) for r in reruns) or "n/a"
        zero = bool(reruns) and all(r.rerun_ok and r.rerun_changed == 0 for r in reruns)
        rows = [
            _ratio_row(f"cold site.yml <= {TARGET_COLD_PEER:g}x the peer", ours, peer, TARGET_COLD_PEER),
            _ratio_row(f"cold site.yml <= {TARGET_COLD_FLOOR:g}x the floor", ours, floor, TARGET_COLD_FLOOR),
            _ratio_row(
                f"idempotent rerun <= {TARGET_RERUN_PEER:g}x the peer's rerun, changed=0",
                rerun,
                peer_rerun,
                TARGET_RERUN_PEER,
                note=f"; changed={changed}",
                also=zero,
            ),
        ]
        label = f"idempotent rerun <= {TARGET_RERUN_FRACTION:.0%} of our cold time"
        if ours and rerun:
            value = rerun["median"] / ours["median"]
            text = f"{value:.0%} ({fmt(rerun['median'])} s of {fmt(ours['median'])} s)"
            rows.append((label, text, value <= TARGET_RERUN_FRACTION))
        else:
            rows.append((label, "n/a", None))
        points = self.scale_points()
        lo, hi = min(points, default=0), max(points, default=0)
        low, high = job_stats(points.get(lo, []), "ours"), job_stats(points.get(hi, []), "ours")
        label = f"{lo or 3} -> {hi or 24} workers: our wall time <= {TARGET_SCALE_FACTOR:g}x"
        rows.append(_ratio_row(label, high, low, TARGET_SCALE_FACTOR) if hi > lo else (label, "n/a", None))
        noop_runs = [r for r in cold if r.kind == "ours" and r.lab_noop_s is not None]
        noop = summary(values(noop_runs, "lab_noop_s"))
        label = f"make lab with nothing to do <= {TARGET_LAB_NOOP_S:g} s end to end"
        if noop:
            nothing = all(r.lab_noop_ok for r in noop_runs)
            text = f"{fmt(noop['median'])} s ({fmt(noop['min'])}-{fmt(noop['max'])})" + (
                "" if nothing else "; a run changed something or failed"
            )
            rows.append((label, text, noop["median"] <= TARGET_LAB_NOOP_S and nothing))
        else:
            rows.append((label, "n/a", None))
        out = ["## Targets", "", "| target | measured (medians) | status |", "| --- | --- | --- |"]
        for text, value_text, passed in rows:
            status = "n/a" if passed is None else ("PASS" if passed else "FAIL")
            out.append(f"| {text} | {value_text} | {status} |")
        return [*out, ""]

    def _cold(self) -> list[str]:
        cold = self.select("cold")
        if not cold:
            return []
        jobs, ratios = self.jobs(), self.ratios()
        out = [
            f"## Cold bring-up: 1 Consul, {MASTERS} masters, {DEFAULT_WORKERS} workers",
            "",
            "| round | "
            + " | ".join(f"{TITLES[kind]} (s)" for kind in jobs)
            + " | "
            + " | ".join(f"{a}/{b}" for a, b in ratios)
            + " |",
            "| --- |" + " --- |" * (len(jobs) + len(ratios)),
        ]
        per_ratio: dict[tuple[str, str], list[float]] = {pair: [] for pair in ratios}
        for n, runs in rounds_of(cold):
            cells = [job_cell(runs.get(kind)) for kind in jobs]
            for pair in ratios:
                r = ratio(runs.get(pair[0]), runs.get(pair[1]))
                if r is not None:
                    per_ratio[pair].append(r)
                cells.append(fmt(r, 2))
            out.append(f"| {n} | " + " | ".join(cells) + " |")
        stats = {kind: job_stats(cold, kind) for kind in jobs}
        ratio_stats = {pair: summary(xs) for pair, xs in per_ratio.items()}
        for key in ("median", "min", "max"):
            cells = [fmt(stats[kind] and stats[kind][key]) for kind in jobs]
            cells += [fmt(ratio_stats[pair] and ratio_stats[pair][key], 2) for pair in ratios]
            out.append(f"| **{key}** | " + " | ".join(cells) + " |")
        medians = [f"{a}/{b} {stats[a]['median'] / stats[b]['median']:.2f}" for a, b in ratios if stats[a] and stats[b]]
        if medians:
            out += ["", f"Ratios of the medians: {', '.join(medians)}."]
        out += self._rerun(cold, stats.get("ours"))
        out += self._ready(cold)
        return out

    def _rerun(self, cold: list[Run], ours: dict[str, float] | None) -> list[str]:
        kinds = [kind for kind in self.jobs() if kind != "floor"]
        reruns = [r for r in cold if r.kind in kinds and (r.rerun_s is not None or r.rerun_error)]
        if not reruns:
            return []
        both = "ours" in kinds and "peer" in kinds
        header = "| round | " + " | ".join(f"{kind} rerun (s) | changed" for kind in kinds)
        header += " | ours/peer |" if both else " |"
        out = [
            "",
            "### Idempotent rerun: the same playbook again on the cluster it just built (no floor: a script is not "
            "idempotent)",
            "",
            header + " ours rerun / median cold ours |",
            "| --- |" + " --- | --- |" * len(kinds) + (" --- |" if both else "") + " --- |",
        ]
        for n, runs in rounds_of(cold):
            cells = []
            for kind in kinds:
                run = runs.get(kind)
                if run is None or (run.rerun_s is None and not run.rerun_error):
                    cells += ["-", "-"]
                    continue
                flag = "" if run.rerun_changed == 0 else " **NOT 0**"
                took = fmt(run.rerun_s) if run.rerun_ok else f"FAILED after {fmt(run.rerun_s)}"
                cells += [took, f"{run.rerun_changed}{flag}"]
            if both:
                cells.append(fmt(rerun_ratio(runs.get("ours"), runs.get("peer")), 2))
            mine = runs.get("ours")
            share = mine.rerun_s / ours["median"] if ours and mine and mine.rerun_s and mine.rerun_ok else None
            cells.append("n/a" if share is None else f"{share:.0%}")
            out.append(f"| {n} | " + " | ".join(cells) + " |")
        cells = []
        for kind in kinds:
            s = summary(values([r for r in reruns if r.kind == kind and r.rerun_ok], "rerun_s"))
            cells += [spread(s), ""]
        if both:
            rs = [rerun_ratio(runs.get("ours"), runs.get("peer")) for _n, runs in rounds_of(cold)]
            cells.append(spread(summary([r for r in rs if r is not None]), 2))
        cells.append("")
        out.append("| **median (min-max)** | " + " | ".join(cells) + " |")
        return out

    def _ready(self, cold: list[Run]) -> list[str]:
        jobs = self.jobs()
        out = [
            "",
            "### Ready: from the job returning to hello-world answering a throwaway client on a worker",
            "",
            "Includes one `docker run` of the client (about 1-2 s here); every job ends with its own smoke test.",
            "",
            "| round | " + " | ".join(f"after {kind} (s)" for kind in jobs) + " |",
            "| --- |" + " --- |" * len(jobs),
        ]
        for n, runs in rounds_of(cold):
            out.append(f"| {n} | " + " | ".join(fmt(runs[k].ready_s if k in runs else None) for k in jobs) + " |")
        stats = {kind: summary(values([r for r in cold if r.kind == kind], "ready_s")) for kind in jobs}
        for key in ("median", "min", "max"):
            out.append(f"| **{key}** | " + " | ".join(fmt(stats[k] and stats[k][key]) for k in jobs) + " |")
        return [*out, ""]

    def _scale(self) -> list[str]:
        points = self.scale_points()
        if not points:
            return []
        jobs, ratios = self.jobs(), self.ratios()
        base = {kind: job_stats(points[min(points)], kind) for kind in jobs}
        out = [
            f"## Scaling: {MASTERS} masters and 1 Consul, N workers",
            "",
            f"Per round {' / '.join(jobs)} (s), then median (min-max) per job, the ratios of the medians, and each "
            f"job against itself at {min(points)} workers. "
            f"{'The 3-worker point is the cold case. ' if 'cold' in self.config['cases'] else ''}"
            f"{self.config['scale_pairs']} round(s) per other point.",
            "",
            f"| workers | rounds: {' / '.join(jobs)} | "
            + " | ".join(f"{kind} median (min-max)" for kind in jobs)
            + " | "
            + " | ".join(f"{a}/{b} medians" for a, b in ratios)
            + " | "
            + " | ".join(f"{kind} vs {min(points)} workers" for kind in jobs)
            + " |",
            "| --- | --- |" + " --- |" * (2 * len(jobs) + len(ratios)),
        ]
        for n, runs in sorted(points.items()):
            rounds = "; ".join(" / ".join(job_cell(r.get(kind)) for kind in jobs) for _pair, r in rounds_of(runs))
            stats = {kind: job_stats(runs, kind) for kind in jobs}
            cells = [spread(stats[kind]) for kind in jobs]
            cells += [
                fmt(stats[a]["median"] / stats[b]["median"] if stats[a] and stats[b] else None, 2) for a, b in ratios
            ]
            cells += [
                f"{fmt(stats[k]['median'] / base[k]['median'] if stats[k] and base[k] else None, 2)}x" for k in jobs
            ]
            out.append(f"| {n} | {rounds} | " + " | ".join(cells) + " |")
        out += ["", "![wall time against workers](scaling.png)", ""]
        return out

    def _setup(self) -> list[str]:
        if not self.runs:
            return []
        out = [
            "## Setup per run (not in the job's time)",
            "",
            "| case | workers | nodes | create nodes, median (min-max) s | preload images, median (min-max) s | runs |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        groups: dict[tuple[str, int], list[Run]] = {}
        for run in self.runs:
            groups.setdefault((run.case, run.workers), []).append(run)
        for (case, n), runs in groups.items():
            c = summary(values(runs, "create_s"))
            p = summary(values(runs, "preload_s"))
            out.append(
                f"| {case} | {n} | {1 + MASTERS + n} | "
                f"{fmt(c and c['median'])} ({fmt(c and c['min'])}-{fmt(c and c['max'])}) | "
                f"{fmt(p and p['median'])} ({fmt(p and p['min'])}-{fmt(p and p['max'])}) | {len(runs)} |"
            )
        loaded = [r for r in self.runs if r.images_loaded]
        out += [
            "",
            "Preload check: "
            + (
                f"**image archives were transferred in {len(loaded)} run(s)**: "
                + ", ".join(f"{r.case} {r.workers} workers round {r.pair} {r.kind}" for r in loaded)
                + " (preload ineffective there)."
                if loaded
                else "ours and the peer found every preloaded image and transferred no archive."
            ),
            "",
        ]
        return out

    def _profile(self) -> list[str]:
        """Per role and slowest tasks of the successful runs of ours, median per topology (profile_tasks)."""
        by_workers: dict[int, list[Run]] = {}
        for run in self.runs:
            if run.kind == "ours" and run.ok and run.profile:
                by_workers.setdefault(run.workers, []).append(run)
        if not by_workers:
            return []
        columns = sorted(by_workers)
        roles: dict[str, dict[int, list[float]]] = {}
        tasks: dict[str, dict[int, list[float]]] = {}
        for n, runs in by_workers.items():
            for run in runs:
                totals: dict[str, float] = {}
                for name, secs in run.profile:
                    role = name.split(" : ", 1)[0] if " : " in name else "(plays' own tasks)"
                    totals[role] = totals.get(role, 0.0) + secs
                    tasks.setdefault(name, {}).setdefault(n, []).append(secs)
                for role, secs in totals.items():
                    roles.setdefault(role, {}).setdefault(n, []).append(secs)

        def row(name: str, cells: dict[int, list[float]]) -> str:
            return (
                f"| {name.replace('|', '/')} | "
                + " | ".join(fmt(statistics.median(cells[n]) if n in cells else None) for n in columns)
                + " |"
            )

        def weight(item: tuple[str, dict[int, list[float]]]) -> float:
            cells = item[1]
            return -statistics.median(cells[max(cells)])

        header = " | ".join(f"{n} workers (s)" for n in columns)
        rule = " | ".join("---" for _column in columns)
        out = [
            "## Where site.yml spends its time (profile_tasks; median of ours' runs per topology)",
            "",
            f"| role | {header} |",
            f"| --- | {rule} |",
        ]
        out += [row(name, cells) for name, cells in sorted(roles.items(), key=weight)]
        out += ["", f"| slowest tasks | {header} |", f"| --- | {rule} |"]
        out += [row(name, cells) for name, cells in sorted(tasks.items(), key=weight)[:12]]
        return [*out, ""]

    def _failures(self) -> list[str]:
        failed = [r for r in self.runs if not r.ok or (r.rerun_ok is False)]
        moved = [r for r in self.runs if r.code_changed_during]
        out = []
        if moved:
            out += [
                "## Runs during which roles/, playbooks/ or plugins/ changed",
                "",
                "Their times mix two versions of the code: "
                + ", ".join(f"{r.case} {r.workers} workers round {r.pair} {r.kind}" for r in moved)
                + ".",
                "",
            ]
        if not failed:
            return out
        out += ["## Failures", ""]
        for run in failed:
            text, log = (run.error, run.log) if not run.ok else (f"rerun: {run.rerun_error}", run.rerun_log)
            out.append(f"- {run.case} {run.workers} workers, round {run.pair}, {run.kind}: {text} (log `{log}`)")
        return [*out, ""]
