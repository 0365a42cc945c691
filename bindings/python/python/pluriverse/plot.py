"""Draws a simulator run over time from ``pluriverse simulate --timeline --json`` output
(matplotlib, the optional extra ``pluriverse[plot]``): the same picture as
``pluriverse simulate --plot FILE.svg``, for users who post-process runs.

Above, how the replicas' digests group per tick (distinct digests, replicas outside the
largest group); below, messages sent, delivered, lost and dropped by partitions per tick.
Both panels shade the partition and restart windows and mark the heal and the moment of
convergence.

From the shell::

    pluriverse simulate --records 20000 --restarts mixed --timeline --json > run.json
    python -m pluriverse.plot run.json run.svg

From Python::

    import pluriverse.plot as pp
    report = pp.load("run.json")
    pp.figure(report).savefig("run.png", dpi=120)
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

__all__ = ["load", "timeline", "figure", "save", "main"]

Report = Mapping[str, Any]

#: Series colours, the same as the Rust picture's.
COLOURS = {
    "distinct digests": "#1F5FBF",
    "replicas outside the largest group": "#D0402A",
    "sent": "#404040",
    "delivered": "#2A9D4A",
    "lost": "#D0402A",
    "dropped by a partition": "#E08A00",
}


def load(source: Union[str, "os.PathLike[str]"]) -> Dict[str, Any]:
    """Reads a ``simulate --json`` report from a file (``-``: standard input)."""
    if str(source) == "-":
        text = sys.stdin.read()
    else:
        with open(source, encoding="utf-8") as f:
            text = f.read()
    try:
        report = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{source}: not a JSON report: {e}") from None
    if not isinstance(report, dict):
        raise ValueError(f"{source}: not a JSON report (expected an object)")
    timeline(report)
    return report


def timeline(report: Report) -> Mapping[str, Any]:
    """The report's timeline, checked; :class:`ValueError` when it has none (the run was not
    recorded: pass ``--timeline`` or ``--plot``)."""
    t = report.get("timeline")
    if not isinstance(t, dict):
        raise ValueError(
            "the report holds no timeline: run `pluriverse simulate --timeline --json`"
        )
    samples = t.get("samples")
    if not isinstance(samples, list) or not samples:
        raise ValueError("the report's timeline holds no tick")
    for key in ("replicas", "heal", "partitions", "down"):
        if key not in t:
            raise ValueError(f"the report's timeline has no {key!r}")
    return t


def _title(report: Report) -> str:
    c = report.get("config", {})
    t = timeline(report)
    conv = report.get("convergence", {})
    if t.get("converged") is not None and report.get("verdict") == "PASS":
        verdict = (
            f"converged at tick {t['converged']} (heal rounds: {conv.get('rounds')}), oracle PASS"
        )
    elif not conv.get("converged", False):
        verdict = "did NOT converge"
    else:
        verdict = str(report.get("verdict", "?"))
    return (
        f"pluriverse simulate: {c.get('replicas')} replicas, {c.get('kind')}, "
        f"{c.get('records')} records, loss {c.get('loss')}, partitions {c.get('partition')}, "
        f"restarts {c.get('restarts')}, seed {c.get('seed')}: {verdict}"
    )


def _windows(ax: Any, t: Mapping[str, Any]) -> None:
    for i, w in enumerate(t["partitions"]):
        ax.axvspan(
            w["start"], max(w["end"], w["start"] + 1), color="#F0AA3C", alpha=0.25,
            label="partition" if i == 0 else None,
        )
    for i, d in enumerate(t["down"]):
        w = d["window"]
        ax.axvspan(
            w["start"], max(w["end"], w["start"] + 1), color="#965AC8", alpha=0.15,
            label="replica down (restart)" if i == 0 else None,
        )
    ax.axvline(t["heal"], color="black", linewidth=1.5, label=f"heal (tick {t['heal']})")
    if t.get("converged") is not None:
        ax.axvline(
            t["converged"], color="#1E963C", linewidth=1.5,
            label=f"converged (tick {t['converged']})",
        )


def figure(report: Report, size: Sequence[float] = (11.0, 7.6)) -> Any:
    """The run drawn as a matplotlib :class:`~matplotlib.figure.Figure` (two panels)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            "pluriverse.plot needs matplotlib: pip install 'pluriverse[plot]'"
        ) from None
    t = timeline(report)
    samples: List[Mapping[str, Any]] = t["samples"]
    ticks = [s["tick"] for s in samples]
    fig = Figure(figsize=tuple(size), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    fig.suptitle(_title(report), fontsize=10)

    _windows(top, t)
    distinct = [len(s["groups"]) for s in samples]
    outside = [sum(s["groups"]) - (s["groups"][0] if s["groups"] else 0) for s in samples]
    for label, ys in (("distinct digests", distinct),
                      ("replicas outside the largest group", outside)):
        top.plot(ticks, ys, color=COLOURS[label], linewidth=1.8, label=label)
    top.set_ylim(0, t["replicas"] + 0.5)
    top.set_title("replicas by digest, per tick", fontsize=10)
    top.set_ylabel("replicas")
    top.legend(loc="lower left", fontsize=8)

    _windows(bottom, t)
    for label, key in (("sent", "sent"), ("delivered", "delivered"), ("lost", "lost"),
                       ("dropped by a partition", "blocked")):
        bottom.plot(ticks, [s[key] for s in samples], color=COLOURS[label], linewidth=1.5,
                    label=label)
    bottom.set_title("messages per tick", fontsize=10)
    bottom.set_xlabel("tick")
    bottom.set_ylabel("messages")
    bottom.set_xlim(0, ticks[-1] + 1)
    bottom.legend(loc="upper center", fontsize=8)
    return fig


def save(report: Report, path: Union[str, "os.PathLike[str]"], dpi: int = 110) -> None:
    """Draws the run into ``path`` (the format from its suffix: .svg, .png, .pdf, ...)."""
    figure(report).savefig(path, dpi=dpi)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m pluriverse.plot REPORT.json OUT``: draws a saved report."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m pluriverse.plot REPORT.json OUT.{svg,png,pdf}", file=sys.stderr)
        return 2
    try:
        save(load(args[0]), args[1])
    except (OSError, ValueError, ImportError) as e:
        print(f"pluriverse.plot: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
