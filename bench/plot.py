"""scaling.png: the job's wall time against the number of workers, ours, the floor and the peer (median, min-max bars).

matplotlib is optional (requirements-bench.txt, installed by `make bench`): without it there is no plot.
"""

from __future__ import annotations

from pathlib import Path

from common import DEFAULT_WORKERS, MASTERS, say
from report import Report, Run, summary, values

# (kind, legend, marker) of each line.
LINES = (
    ("ours", "ours: site.yml", "o"),
    ("floor", "floor: bench/floor.sh (docker CLI)", "s"),
    ("peer", "peer: community.docker + community.general playbook", "^"),
)


def plotted_points(report: Report) -> dict[int, list[Run]]:
    """The scaling points, or the cold case alone as one point when there are none."""
    cold = report.select("cold")
    return report.scale_points() or ({DEFAULT_WORKERS: cold} if cold else {})


def series(points: dict[int, list[Run]], kind: str) -> tuple[list[int], list[float], list[float], list[float]]:
    """Per point with a successful run of ``kind``: workers, median, and the distances to min and max."""
    xs: list[int] = []
    meds: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    for n, runs in sorted(points.items()):
        s = summary(values([r for r in runs if r.kind == kind and r.ok], "job_s"))
        if s:
            xs.append(n)
            meds.append(s["median"])
            lows.append(s["median"] - s["min"])
            highs.append(s["max"] - s["median"])
    return xs, meds, lows, highs


def plot(report: Report) -> Path | None:
    """Write ``report``'s scaling.png; its path, or None when there is nothing to plot or no matplotlib."""
    points = plotted_points(report)
    if not points:
        return None
    try:
        import matplotlib  # noqa: PLC0415 - optional, installed by `make bench`

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        say("matplotlib is missing (pip install -r requirements-bench.txt): no scaling.png")
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, label, marker in LINES:
        xs, meds, lows, highs = series(points, kind)
        if xs:
            ax.errorbar(xs, meds, yerr=[lows, highs], marker=marker, capsize=4, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(points))
    ax.set_xticklabels([str(n) for n in sorted(points)])
    ax.set_xlabel(f"workers (plus {MASTERS} masters and 1 Consul)")
    ax.set_ylabel("wall time of the job (s)")
    ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.15)
    m = report.machine
    ax.set_title(f"Cold bring-up, median (min-max)\n{m['cpu']}, {m['cores']} cores, {m['date']}", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = report.results / "scaling.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
