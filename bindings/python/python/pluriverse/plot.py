"""Draws a run over time from ``pluriverse simulate --timeline --json`` or ``pluriverse
cluster --timeline --json`` output (matplotlib, the optional extra ``pluriverse[plot]``): the
same picture as ``--plot FILE.svg``, for users who post-process runs.

Above, how the replicas' (or nodes') digests group per sample (distinct digests, members
outside the largest group, and how many are down when some are); below, messages (the
cluster's datagrams) sent, delivered, lost, dropped by partitions and duplicated. Both panels
shade the partition and restart windows and mark the heal and the moment of convergence; the
legends sit right of the panels, where they cover no line. A simulator run is drawn in
ticks, a cluster run in seconds from the start of its write phase.

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
    "duplicated": "#17A2B8",
    "down": "#7B3FA0",
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
            "the report holds no timeline: run `pluriverse simulate --timeline --json` "
            "(or `pluriverse cluster --timeline --json`)"
        )
    samples = t.get("samples")
    if not isinstance(samples, list) or not samples:
        raise ValueError("the report's timeline holds no tick")
    keys = ("nodes", "heal", "partitions", "down") if _is_cluster(t) else (
        "replicas", "heal", "partitions", "down")
    for key in keys:
        if key not in t:
            raise ValueError(f"the report's timeline has no {key!r}")
    return t


def _is_cluster(t: Mapping[str, Any]) -> bool:
    """A ``pluriverse cluster`` timeline (seconds, nodes, datagrams), not a simulator's."""
    return "interval_ms" in t


def _view(report: Report) -> Dict[str, Any]:
    """Both report shapes in one: x positions, per-sample series, windows and words."""
    t = timeline(report)
    samples: List[Mapping[str, Any]] = t["samples"]
    if _is_cluster(t):
        ms = t["interval_ms"]
        return {
            "x": [s["at"] for s in samples],
            "end": samples[-1]["at"] + ms / 1e3,
            "unit": "seconds",
            "per": f"{ms} ms",
            "member": "node",
            "messages": "datagrams",
            "down_label": "node down (kill -9 to restart)",
            "members": t["nodes"],
            "sent": [s["datagrams_in"] for s in samples],
            "blocked": [s["partitioned"] for s in samples],
            "samples": samples,
            "partitions": [(w["start"], w["end"]) for w in t["partitions"]],
            "down": [(w["start"], w["end"]) for w in t["down"]],
            "heal": t["heal"],
            "converged": t.get("converged"),
            "moment": lambda v: f"{v:.2f} s",
            "least": ms / 1e3 / 2,
        }
    return {
        "x": [s["tick"] for s in samples],
        "end": samples[-1]["tick"] + 1,
        "unit": "tick",
        "per": "tick",
        "member": "replica",
        "messages": "messages",
        "down_label": "replica down (restart)",
        "members": t["replicas"],
        "sent": [s["sent"] for s in samples],
        "blocked": [s["blocked"] for s in samples],
        "samples": samples,
        "partitions": [(w["start"], w["end"]) for w in t["partitions"]],
        "down": [(d["window"]["start"], d["window"]["end"]) for d in t["down"]],
        "heal": t["heal"],
        "converged": t.get("converged"),
        "moment": lambda v: f"tick {v}",
        "least": 1,
    }


def _title(report: Report) -> str:
    c = report.get("config", {})
    t = timeline(report)
    conv = report.get("convergence", {})
    if _is_cluster(t):
        verdict = (
            f"equal digests {conv.get('after_heal_seconds', 0.0):.2f} s after the heal, "
            f"check {report.get('verdict', '?')}"
            if conv.get("converged", False)
            else f"did NOT converge, {report.get('verdict', '?')}"
        )
        return (
            f"pluriverse cluster: {c.get('nodes')} nodes, loss {c.get('loss')}, dup "
            f"{c.get('dup')}, delay {c.get('delay', 0):g} ms, partition {c.get('partition')} "
            f"x{c.get('partitions')}, {c.get('kills')} kills, {c.get('duration', 0):g} s writes, "
            f"seed {c.get('seed')}: {verdict}"
        )
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


def _windows(ax: Any, v: Mapping[str, Any]) -> None:
    least = v["least"]
    for i, (start, end) in enumerate(v["partitions"]):
        ax.axvspan(
            start, max(end, start + least), color="#F0AA3C", alpha=0.25,
            label="partition" if i == 0 else None,
        )
    for i, (start, end) in enumerate(v["down"]):
        ax.axvspan(
            start, max(end, start + least), color="#965AC8", alpha=0.15,
            label=v["down_label"] if i == 0 else None,
        )
    if v["heal"] is not None:
        ax.axvline(v["heal"], color="black", linewidth=1.5,
                   label=f"heal ({v['moment'](v['heal'])})")
    if v["converged"] is not None:
        ax.axvline(
            v["converged"], color="#1E963C", linewidth=1.5,
            label=f"converged ({v['moment'](v['converged'])})",
        )


def figure(report: Report, size: Sequence[float] = (12.8, 7.6)) -> Any:
    """The run drawn as a matplotlib :class:`~matplotlib.figure.Figure` (two panels)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            "pluriverse.plot needs matplotlib: pip install 'pluriverse[plot]'"
        ) from None
    v = _view(report)
    samples: List[Mapping[str, Any]] = v["samples"]
    x = v["x"]
    members = f"{v['member']}s"
    fig = Figure(figsize=(float(size[0]), float(size[1])), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    fig.suptitle(_title(report), fontsize=10)

    _windows(top, v)
    distinct = [len(s["groups"]) for s in samples]
    outside = [sum(s["groups"]) - (s["groups"][0] if s["groups"] else 0) for s in samples]
    top.plot(x, distinct, color=COLOURS["distinct digests"], linewidth=1.8,
             label="distinct digests")
    top.plot(x, outside, color=COLOURS["replicas outside the largest group"], linewidth=1.8,
             label=f"{members} outside the largest group")
    if any(s.get("down", 0) for s in samples):
        top.plot(x, [s["down"] for s in samples], color=COLOURS["down"], linewidth=1.8,
                 label=f"{members} down")
    top.set_ylim(0, v["members"] + 0.5)
    top.set_title(f"{members} by digest, per {v['per']}", fontsize=10)
    top.set_ylabel(members)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)

    _windows(bottom, v)
    series = [("sent", v["sent"]), ("delivered", [s["delivered"] for s in samples]),
              ("lost", [s["lost"] for s in samples]), ("dropped by a partition", v["blocked"])]
    if any(s.get("duplicated", 0) for s in samples):
        series.append(("duplicated", [s["duplicated"] for s in samples]))
    for label, ys in series:
        bottom.plot(x, ys, color=COLOURS[label], linewidth=1.5, label=label)
    bottom.set_title(f"{v['messages']} per {v['per']}", fontsize=10)
    bottom.set_xlabel(v["unit"])
    bottom.set_ylabel(v["messages"])
    bottom.set_xlim(0, v["end"])
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
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
