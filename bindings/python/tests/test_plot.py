"""pluriverse.plot draws a ``simulate --timeline --json`` report: the figure's lines carry the
report's per-tick data, the windows are shaded, and bad reports are refused with ValueError.
The report is a saved run of the real command (testdata/sim/timeline.json)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List

import pytest

pytest.importorskip("matplotlib", reason="pluriverse.plot needs matplotlib (pip install 'pluriverse[plot]')")

import pluriverse.plot as pp  # noqa: E402

REPORT = Path(__file__).resolve().parents[3] / "testdata" / "sim" / "timeline.json"


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
