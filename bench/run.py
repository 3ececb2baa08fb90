"""`make bench`: playbooks/site.yml (ours) against the floor and the peer, on the lab.

  ours   playbooks/site.yml
  floor  bench/floor.sh: the same job as the fastest correct docker CLI + Consul HTTP script
  peer   bench/peer/site.yml: the same job as a plain community.docker + community.general playbook

The three alternate in rounds (ours, floor, peer, ours, floor, peer, ...). Every run gets fresh
lab nodes: the bench lab is destroyed, its node containers are created again with playbooks/lab.yml
from a generated inventory, and the images are preloaded into every node. Creating and preloading
are timed and reported apart; the job's time starts when the job starts.

Cases:
  cold   the default topology (1 Consul, 3 masters, 3 workers), PAIRS rounds; after each run, the
         time until hello-world answers ("ready"), and after each ours and each peer run the same
         playbook again on the same cluster (the idempotent rerun: changed must be 0)
  scale  WORKERS workers with the same 3 masters, SCALE_PAIRS rounds per point; the 3-worker point
         reuses the cold rounds when the cold case ran too

Results: bench/results/results.md (tables with every ratio round by round: ours/floor, ours/peer;
targets; the machine), results.json (every run), scaling.png (wall time of the three against
workers), logs/ (each run's output).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cases import Bench, Options
from common import DEFAULT_RESULTS, say
from plot import plot
from report import JOBS, Report

# The parts, by concern: common.py (paths, commands), nodes.py (fresh lab nodes, preloaded images),
# cases.py (running ours, the floor and the peer), report.py (results.json, results.md), plot.py (scaling.png).


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round of the cold case only")
    parser.add_argument(
        "--pairs", type=positive, default=3, help="rounds of the cold case, each job once per round (default 3)"
    )
    parser.add_argument("--workers", default="3 6 12 24", help="scaling points, workers (default '3 6 12 24')")
    parser.add_argument("--scale-pairs", type=positive, default=1, help="rounds per scaling point (default 1)")
    parser.add_argument("--cases", default="cold scale", help="any of: cold scale (default both)")
    parser.add_argument(
        "--jobs", default=" ".join(JOBS), help=f"which jobs each round runs, of: {' '.join(JOBS)} (default all)"
    )
    parser.add_argument(
        "--no-rerun", action="store_true", help="skip the idempotent rerun after each cold run of ours and the peer"
    )
    parser.add_argument("--lab-name", default="bench", help="lab name of the bench's containers (default bench)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="results directory")
    parser.add_argument("--keep", action="store_true", help="leave the last lab running")
    parser.add_argument(
        "--render",
        action="store_true",
        help="only rewrite results.md and scaling.png from results.json",
    )
    args = parser.parse_args(argv)
    args.workers = sorted({positive(w) for w in args.workers.replace(",", " ").split()})
    args.cases = [c for c in args.cases.replace(",", " ").split() if c]
    unknown = set(args.cases) - {"cold", "scale"}
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}: use cold and/or scale")
    asked = set(args.jobs.replace(",", " ").split())
    if not asked or asked - set(JOBS):
        parser.error(f"--jobs {args.jobs!r}: use one or more of {' '.join(JOBS)}")
    args.jobs = [job for job in JOBS if job in asked]
    if args.quick:
        args.pairs, args.cases = 1, ["cold"]
    args.results = args.results.resolve()
    return args


def options(args: argparse.Namespace) -> Options:
    return Options(
        quick=args.quick,
        pairs=args.pairs,
        workers=args.workers,
        scale_pairs=args.scale_pairs,
        cases=args.cases,
        no_rerun=args.no_rerun,
        lab_name=args.lab_name,
        results=args.results,
        keep=args.keep,
        jobs=args.jobs,
    )


def render(results: Path) -> int:
    """Rewrite results.md and scaling.png from results.json (no lab, no run)."""
    report = Report.load(results)
    path = report.write_markdown()
    plot(report)
    print(path.read_text())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        return render(args.results)
    try:
        return Bench(options(args)).run()
    except KeyboardInterrupt:
        say("interrupted; partial results are in results.md")
        return 130
    except RuntimeError as exc:
        say(f"ERROR: {exc}\nbench: partial results are in results.md")
        return 1


if __name__ == "__main__":
    sys.exit(main())
