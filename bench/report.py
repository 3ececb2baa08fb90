"""The record of each run and what the bench writes from them: results.json and results.md.

results.md holds the machine, the targets, one table per case, the setup times, where site.yml
spends its time (ansible.posix.profile_tasks) and the failures; results.json every run, raw. Both
are rewritten after every run, so an interrupted bench leaves what it measured.
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

# The targets.
TARGET_COLD_RATIO = 1.25
TARGET_RERUN_FRACTION = 0.20
TARGET_SCALE_FACTOR = 2.0


@dataclass
class Run:
    case: str
    workers: int
    pair: int
    kind: str  # "A" (site.yml) or "B" (the floor)
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


def pairs_of(runs: Sequence[Run]) -> list[tuple[int, Run | None, Run | None]]:
    numbers = sorted({run.pair for run in runs})
    a = {run.pair: run for run in runs if run.kind == "A"}
    b = {run.pair: run for run in runs if run.kind == "B"}
    return [(n, a.get(n), b.get(n)) for n in numbers]


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
        report.runs = [Run(**{**run, "profile": [tuple(p) for p in run["profile"]]}) for run in data["runs"]]
        report.started, report.finished = time.monotonic() - data["elapsed_s"], data["finished"]
        return report

    def add(self, run: Run) -> None:
        self.runs.append(run)
        self.write()

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
        out = [
            "# swarmops.cluster bench: site.yml (A) against the plain docker CLI floor (B)",
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
            "not counted in the job). A = `ansible-playbook playbooks/site.yml`; B = `bench/floor.sh`. "
            "Times are wall seconds.",
            "",
        ]
        out += self._targets()
        out += self._cold()
        out += self._scale()
        out += self._setup()
        out += self._profile()
        out += self._failures()
        out += [
            "## What A does that B does not",
            "",
            "B is the job typed out: no Consul ACLs, gossip key or per-node tokens, no Python virtualenv "
            "on the hosts, no node labels, no Consul catalog entries, no cluster summary, sequential joins, "
            "and the services created one after the other, each with the CLI's own wait: until its task is "
            "healthy (the apps' health check runs every 10 s), then the CLI's 5 s stability check.",
            "",
        ]
        return "\n".join(out)

    def _knobs(self) -> str:
        c = self.config
        if c["quick"]:
            return "QUICK=1: one pair of the cold case"
        return f'PAIRS={c["pairs"]} WORKERS="{" ".join(map(str, c["workers"]))}" SCALE_PAIRS={c["scale_pairs"]} ' + (
            f'CASES="{" ".join(c["cases"])}"'
        )

    def _cold_stats(self) -> tuple[dict[str, float] | None, dict[str, float] | None]:
        cold = self.select("cold")
        return (
            summary(values([r for r in cold if r.kind == "A" and r.ok], "job_s")),
            summary(values([r for r in cold if r.kind == "B" and r.ok], "job_s")),
        )

    def _targets(self) -> list[str]:
        a, b = self._cold_stats()
        rows = []
        if a and b:
            value = a["median"] / b["median"]
            rows.append(("cold bring-up <= 1.25x the floor", f"{value:.2f}x", value <= TARGET_COLD_RATIO))
        else:
            rows.append(("cold bring-up <= 1.25x the floor", "n/a", None))
        reruns = [r for r in self.select("cold") if r.kind == "A" and r.rerun_s is not None]
        rerun = summary(values([r for r in reruns if r.rerun_ok], "rerun_s"))
        changed = [r.rerun_changed for r in reruns]
        if a and rerun:
            value = rerun["median"] / a["median"]
            zero = all(c == 0 for c in changed) and all(r.rerun_ok for r in reruns)
            rows.append(
                (
                    "idempotent rerun <= 20% of cold, changed=0",
                    f"{value:.0%} of cold; changed={','.join(str(c) for c in changed)}",
                    value <= TARGET_RERUN_FRACTION and zero,
                )
            )
        else:
            rows.append(("idempotent rerun <= 20% of cold, changed=0", "n/a", None))
        points = self.scale_points()
        lo, hi = min(points, default=0), max(points, default=0)
        sa_lo = summary(values([r for r in points.get(lo, []) if r.kind == "A" and r.ok], "job_s"))
        sa_hi = summary(values([r for r in points.get(hi, []) if r.kind == "A" and r.ok], "job_s"))
        label = f"{lo} -> {hi} workers at most doubles the wall time"
        if sa_lo and sa_hi and hi > lo:
            value = sa_hi["median"] / sa_lo["median"]
            rows.append((label, f"{value:.2f}x", value <= TARGET_SCALE_FACTOR))
        else:
            rows.append(("3 -> 24 workers at most doubles the wall time", "n/a", None))
        out = ["## Targets", "", "| target | measured (medians) | status |", "| --- | --- | --- |"]
        for text, value_text, passed in rows:
            status = "n/a" if passed is None else ("PASS" if passed else "FAIL")
            out.append(f"| {text} | {value_text} | {status} |")
        return [*out, ""]

    def _cold(self) -> list[str]:
        cold = self.select("cold")
        if not cold:
            return []
        out = [
            f"## Cold bring-up: 1 Consul, {MASTERS} masters, {DEFAULT_WORKERS} workers",
            "",
            "| pair | A: site.yml (s) | B: floor (s) | A/B |",
            "| --- | --- | --- | --- |",
        ]
        ratios = []
        for n, a, b in pairs_of(cold):
            r = ratio(a, b)
            if r is not None:
                ratios.append(r)
            out.append(f"| {n} | {job_cell(a)} | {job_cell(b)} | {fmt(r, 2)} |")
        a_stats, b_stats = self._cold_stats()
        r_stats = summary(ratios)
        for key in ("median", "min", "max"):
            out.append(
                f"| **{key}** | {fmt(a_stats and a_stats[key])} | {fmt(b_stats and b_stats[key])} | "
                f"{fmt(r_stats and r_stats[key], 2)} |"
            )
        if a_stats and b_stats:
            out += ["", f"Ratio of the medians: {a_stats['median'] / b_stats['median']:.2f}."]
        out += self._rerun(cold, a_stats)
        out += self._ready(cold)
        return out

    def _rerun(self, cold: list[Run], a_stats: dict[str, float] | None) -> list[str]:
        reruns = [r for r in cold if r.kind == "A" and (r.rerun_s is not None or r.rerun_error)]
        if not reruns:
            return []
        out = [
            "",
            "### Idempotent rerun: site.yml again on the cluster it just built (no floor: a script is not idempotent)",
            "",
            "| pair | rerun (s) | changed | rerun / median cold A |",
            "| --- | --- | --- | --- |",
        ]
        for run in reruns:
            frac = run.rerun_s / a_stats["median"] if a_stats and run.rerun_s and run.rerun_ok else None
            flag = "" if run.rerun_changed == 0 else " **NOT 0**"
            cell = fmt(run.rerun_s) if run.rerun_ok else f"FAILED after {fmt(run.rerun_s)}"
            share = "n/a" if frac is None else f"{frac:.0%}"
            out.append(f"| {run.pair} | {cell} | {run.rerun_changed}{flag} | {share} |")
        s = summary(values([r for r in reruns if r.rerun_ok], "rerun_s"))
        if s:
            out.append(f"| **median / min / max** | {fmt(s['median'])} / {fmt(s['min'])} / {fmt(s['max'])} | | |")
        return out

    def _ready(self, cold: list[Run]) -> list[str]:
        out = [
            "",
            "### Ready: from the job returning to hello-world answering a throwaway client on a worker",
            "",
            "Includes one `docker run` of the client (about 1-2 s here); both jobs end with their own smoke test.",
            "",
            "| pair | after A (s) | after B (s) |",
            "| --- | --- | --- |",
        ]
        for n, a, b in pairs_of(cold):
            out.append(f"| {n} | {fmt(a and a.ready_s)} | {fmt(b and b.ready_s)} |")
        for key in ("median", "min", "max"):
            sa = summary(values([r for r in cold if r.kind == "A"], "ready_s"))
            sb = summary(values([r for r in cold if r.kind == "B"], "ready_s"))
            out.append(f"| **{key}** | {fmt(sa and sa[key])} | {fmt(sb and sb[key])} |")
        return [*out, ""]

    def _scale(self) -> list[str]:
        points = self.scale_points()
        if not points:
            return []
        base = points.get(min(points))
        base_a = summary(values([r for r in base or [] if r.kind == "A" and r.ok], "job_s"))
        base_b = summary(values([r for r in base or [] if r.kind == "B" and r.ok], "job_s"))
        out = [
            f"## Scaling: {MASTERS} masters and 1 Consul, N workers",
            "",
            "Per pair A / B (s) and A/B; then median (min-max). "
            f"{'The 3-worker point is the cold case. ' if 'cold' in self.config['cases'] else ''}"
            f"{self.config['scale_pairs']} pair(s) per other point.",
            "",
            "| workers | pairs: A / B (A/B) | A median (min-max) | B median (min-max) | A/B medians "
            f"| A vs {min(points)} workers | B vs {min(points)} workers |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for n, runs in sorted(points.items()):
            cells = []
            for _pair, a, b in pairs_of(runs):
                cells.append(f"{job_cell(a)} / {job_cell(b)} ({fmt(ratio(a, b), 2)})")
            sa = summary(values([r for r in runs if r.kind == "A" and r.ok], "job_s"))
            sb = summary(values([r for r in runs if r.kind == "B" and r.ok], "job_s"))

            def cell(s: dict[str, float] | None) -> str:
                return "n/a" if s is None else f"{s['median']:.1f} ({s['min']:.1f}-{s['max']:.1f})"

            out.append(
                f"| {n} | {'; '.join(cells)} | {cell(sa)} | {cell(sb)} | "
                f"{fmt(sa['median'] / sb['median'] if sa and sb else None, 2)} | "
                f"{fmt(sa['median'] / base_a['median'] if sa and base_a else None, 2)}x | "
                f"{fmt(sb['median'] / base_b['median'] if sb and base_b else None, 2)}x |"
            )
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
                f"**site.yml transferred image archives in {len(loaded)} run(s)** (preload ineffective there)."
                if loaded
                else "site.yml found every preloaded image ID and transferred no archive."
            ),
            "",
        ]
        return out

    def _profile(self) -> list[str]:
        """Per role and slowest tasks of the successful A runs, median per topology (profile_tasks)."""
        by_workers: dict[int, list[Run]] = {}
        for run in self.runs:
            if run.kind == "A" and run.ok and run.profile:
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
            "## Where site.yml spends its time (profile_tasks; median of the A runs per topology)",
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
                + ", ".join(f"{r.case} {r.workers} workers pair {r.pair} {r.kind}" for r in moved)
                + ".",
                "",
            ]
        if not failed:
            return out
        out += ["## Failures", ""]
        for run in failed:
            text, log = (run.error, run.log) if not run.ok else (f"rerun: {run.rerun_error}", run.rerun_log)
            out.append(f"- {run.case} {run.workers} workers, pair {run.pair}, {run.kind}: {text} (log `{log}`)")
        return [*out, ""]
