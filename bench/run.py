"""`make bench`: playbooks/site.yml (A) against the plain docker CLI floor (B) on the lab.

Every A and every B run gets fresh lab nodes: the bench lab is destroyed, its node
containers are created again with playbooks/lab.yml from a generated inventory, and the
images are preloaded into every node. Creating and preloading are timed and reported
apart; the job's time starts when site.yml (or bench/floor.sh) starts.

Cases:
  cold   the default topology (1 Consul, 3 masters, 3 workers), PAIRS pairs run A B A B;
         after each run, the time until hello-world answers ("ready"), and after each A
         a second site.yml on the same cluster (the idempotent rerun: changed must be 0)
  scale  WORKERS workers with the same 3 masters, SCALE_PAIRS pairs per point; the
         3-worker point reuses the cold pairs when the cold case ran too

Results: bench/results/results.md (tables, targets, the machine), results.json (every
run), scaling.png (wall time against workers), logs/ (each run's output).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cases import Bench, Options
from common import DEFAULT_RESULTS, say
from plot import plot
from report import Report

# The parts, by concern: common.py (paths, commands), nodes.py (fresh lab nodes, preloaded images),
# cases.py (running ours and the floor), report.py (results.json, results.md), plot.py (scaling.png).


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one pair of the cold case only")
    parser.add_argument("--pairs", type=positive, default=3, help="pairs of the cold case (default 3)")
    parser.add_argument("--workers", default="3 6 12 24", help="scaling points, workers (default '3 6 12 24')")
    parser.add_argument("--scale-pairs", type=positive, default=1, help="pairs per scaling point (default 1)")
    parser.add_argument("--cases", default="cold scale", help="any of: cold scale (default both)")
    parser.add_argument("--no-rerun", action="store_true", help="skip the idempotent rerun after each cold A")
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
