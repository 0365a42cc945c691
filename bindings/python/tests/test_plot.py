"""pluriverse.plot draws a ``simulate --timeline --json`` or ``cluster --timeline --json``
report: the figure's lines carry the report's per-sample data, the windows are shaded, the
legends sit outside the panels, and bad reports are refused with ValueError. The reports are
saved runs of the real commands (testdata/sim/timeline.json, testdata/cluster/timeline.json)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List

import pytest

pytest.importorskip("matplotlib", reason="pluriverse.plot needs matplotlib (pip install 'pluriverse[plot]')")

import pluriverse.plot as pp  # noqa: E402

TESTDATA = Path(__file__).resolve().parents[3] / "testdata"
REPORT = TESTDATA / "sim" / "timeline.json"
CLUSTER = TESTDATA / "cluster" / "timeline.json"


@pytest.fixture(scope="module")
def report() -> Dict[str, Any]:
    return pp.load(REPORT)


def _lines(ax: Any) -> Dict[str, Any]:
    return {line.get_label(): line for line in ax.get_lines()}


def test_the_lines_carry_the_reports_ticks(report: Dict[str, Any]) -> None:
    samples: List[Dict[str, Any]] = report["timeline"]["samples"]
    ticks = [s["tick"] for s in samples]
    assert ticks == list(range(len(samples)))
    fig = pp.figure(report)
    top, bottom = fig.axes
    lines = _lines(top)
    assert list(lines["distinct digests"].get_xdata()) == ticks
    assert list(lines["distinct digests"].get_ydata()) == [len(s["groups"]) for s in samples]
    n = report["config"]["replicas"]
    outside = [n - s["groups"][0] for s in samples]
    assert list(lines["replicas outside the largest group"].get_ydata()) == outside
    lines = _lines(bottom)
    for label, key in (("sent", "sent"), ("delivered", "delivered"), ("lost", "lost"),
                       ("dropped by a partition", "blocked")):
        assert list(lines[label].get_ydata()) == [s[key] for s in samples], label
    # the per-tick counts add up to the report's totals
    assert sum(lines["sent"].get_ydata()) == report["net"]["sent"]
    assert sum(lines["delivered"].get_ydata()) == report["net"]["delivered"]
    t = report["timeline"]
    heal = f"heal (tick {t['heal']})"
    conv = f"converged (tick {t['converged']})"
    for ax in (top, bottom):
        labels = [line.get_label() for line in ax.get_lines()]
        assert heal in labels and conv in labels
        # one shaded span per partition and per restart
        assert len(ax.patches) == len(t["partitions"]) + len(t["down"])
        legend = [x.get_text() for x in ax.get_legend().get_texts()]
        assert heal in legend
    assert f"seed {report['config']['seed']}" in fig.get_suptitle()


def test_main_writes_an_svg(tmp_path: Path) -> None:
    out = tmp_path / "run.svg"
    assert pp.main([str(REPORT), str(out)]) == 0
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    assert "distinct digests" in out.read_text()


def test_bad_reports_are_refused(tmp_path: Path, report: Dict[str, Any]) -> None:
    no_timeline = {k: v for k, v in report.items() if k != "timeline"}
    with pytest.raises(ValueError, match="no timeline"):
        pp.figure(no_timeline)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON report"):
        pp.load(broken)
    empty = dict(report, timeline=dict(report["timeline"], samples=[]))
    with pytest.raises(ValueError, match="no tick"):
        pp.figure(empty)
    (tmp_path / "plain.json").write_text(json.dumps(no_timeline))
    assert pp.main([str(tmp_path / "plain.json"), str(tmp_path / "x.svg")]) == 1
    assert not (tmp_path / "x.svg").exists()
    assert pp.main([]) == 2


def test_a_cluster_report_is_drawn_in_seconds() -> None:
    report = pp.load(CLUSTER)
    t = report["timeline"]
    samples: List[Dict[str, Any]] = t["samples"]
    at = [s["at"] for s in samples]
    fig = pp.figure(report)
    top, bottom = fig.axes
    lines = _lines(top)
    assert list(lines["distinct digests"].get_xdata()) == at
    assert list(lines["distinct digests"].get_ydata()) == [len(s["groups"]) for s in samples]
    # killed nodes answer no digest: the groups hold the running nodes only
    outside = [sum(s["groups"]) - s["groups"][0] for s in samples]
    assert list(lines["nodes outside the largest group"].get_ydata()) == outside
    assert any(s["down"] for s in samples), "the saved run has kills"
    assert list(lines["nodes down"].get_ydata()) == [s["down"] for s in samples]
    lines = _lines(bottom)
    for label, key in (("sent", "datagrams_in"), ("delivered", "delivered"), ("lost", "lost"),
                       ("dropped by a partition", "partitioned"), ("duplicated", "duplicated")):
        assert list(lines[label].get_ydata()) == [s[key] for s in samples], label
    for ax in (top, bottom):
        labels = [line.get_label() for line in ax.get_lines()]
        assert f"heal ({t['heal']:.2f} s)" in labels
        assert f"converged ({t['converged']:.2f} s)" in labels
        assert len(ax.patches) == len(t["partitions"]) + len(t["down"])
        spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches)
        # a window shorter than half a sample is drawn half a sample wide, to stay visible
        least = t["interval_ms"] / 1e3 / 2
        want = sorted((w["start"], max(w["end"], w["start"] + least))
                      for w in t["partitions"] + t["down"])
        assert [v for span in spans for v in span] == pytest.approx(
            [v for span in want for v in span])
        assert ax.get_xlabel() in ("", "seconds")
    assert bottom.get_xlabel() == "seconds"
    assert "datagrams per 200 ms" == bottom.get_title()
    title = fig.get_suptitle()
    assert title.startswith("pluriverse cluster: 5 nodes") and "seed 3" in title
    assert "check PASS" in title


def test_the_legends_cover_no_line(report: Dict[str, Any]) -> None:
    for r in (report, pp.load(CLUSTER)):
        fig = pp.figure(r)
        for ax in fig.axes:
            legend = ax.get_legend()
            # anchored right of the panel, outside its axes
            box = legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted())
            assert box.x0 > 1.0
