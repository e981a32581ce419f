"""SVG helpers: shading, marks, threshold line, no-data note, budget bars."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report.model import RunView
from harness.report.plots import alert_marks, budget_bars, phase_bands, series_plot
from harness.report.svg import (
    Band,
    BudgetBar,
    Line,
    Mark,
    TimePlot,
    nice_ticks,
    render_budget_chart,
    render_time_plot,
)
from tests.report_fixtures import build_results

NS = {"s": "http://www.w3.org/2000/svg"}


def _svg(text: str) -> ET.Element:
    root = ET.fromstring(text)  # well-formed XML, or this raises
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def _classes(root: ET.Element) -> list[str]:
    return [e.get("class", "") for e in root.iter() if e.get("class")]


def _plot(**kw: object) -> TimePlot:
    base: dict[str, object] = {
        "title": "t",
        "duration_s": 30.0,
        "lines": [Line("a", [(0.0, 0.0), (10.0, 1.0), (30.0, 0.5)])],
    }
    return TimePlot(**(base | kw))  # type: ignore[arg-type]


def test_fault_window_is_shaded_where_it_happened() -> None:
    root = _svg(render_time_plot(_plot(bands=[Band("fault", 10.0, 20.0)])))
    rect = next(e for e in root.iter() if e.get("class") == "band band-fault")
    x, width = float(rect.get("x", "0")), float(rect.get("width", "0"))
    assert x > 0 and width > 0
    # 10 s of a 30 s axis: a third of the plot's width
    full = _svg(render_time_plot(_plot(bands=[Band("fault", 0.0, 30.0)])))
    full_rect = next(e for e in full.iter() if e.get("class") == "band band-fault")
    assert abs(width / float(full_rect.get("width", "1")) - 1 / 3) < 0.01


def test_no_band_no_shading() -> None:
    assert not any(c.startswith("band") for c in _classes(_svg(render_time_plot(_plot()))))


def test_marks_are_drawn_with_their_kind_and_label() -> None:
    marks = [Mark("firing", 15.0, "firing"), Mark("resolved", 25.0, "resolved")]
    text = render_time_plot(_plot(marks=marks))
    classes = _classes(_svg(text))
    assert "mark mark-firing" in classes and "mark mark-resolved" in classes
    assert ">firing<" in text and ">resolved<" in text


def test_threshold_is_a_dashed_line_only_when_set() -> None:
    with_line = _svg(render_time_plot(_plot(threshold=0.8)))
    line = next(e for e in with_line.iter() if e.get("class") == "threshold")
    assert line.get("stroke-dasharray")
    assert "threshold" not in _classes(_svg(render_time_plot(_plot())))


def test_empty_series_shows_a_no_data_note() -> None:
    text = render_time_plot(_plot(lines=[Line("a", [])]))
    assert ">no data<" in text and "series" not in _classes(_svg(text))
    with_data = render_time_plot(_plot())
    assert ">no data<" not in with_data and "series" in _classes(_svg(with_data))


def test_titles_are_escaped() -> None:
    text = render_time_plot(_plot(title='rate > 1% & "quotes" <b>'))
    assert "<b>" not in text
    _svg(text)


def test_budget_chart_bars_and_budget_markers() -> None:
    bars = [BudgetBar("A · s", 5.0, 12.5, 5.0, True), BudgetBar("B · s", None, 10.0, 5.0, False)]
    text = render_budget_chart("x", bars)
    root = _svg(text)
    classes = _classes(root)
    assert classes.count("bar") == 1  # B never fired: no bar, a note instead
    assert classes.count("budget") == 2
    assert ">never fired<" in text
    red = next(e for e in root.iter() if e.get("class") == "bar")
    assert red.get("fill") == "#2a8f2a"


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert nice_ticks(0, 20) == [0, 5, 10, 15, 20]
    assert nice_ticks(0, 27) == [0, 10, 20]  # at most about five ticks
    assert nice_ticks(0.3, 0.9) == [0.4, 0.6, 0.8]
    assert nice_ticks(0, 0) == [0]


# -- from results to charts -------------------------------------------------------------------


def _run() -> RunView:
    return RunView.from_json(build_results())


def test_bands_follow_the_phases() -> None:
    outage = next(s for s in _run().scenarios if s.name == "wrk-platform-outage")
    bands = {b.kind: (b.start, b.end) for b in phase_bands(outage.phases)}
    assert bands == {"baseline": (5.0, 10.0), "fault": (10.0, 32.0)}
    mitigated = next(s for s in _run().scenarios if s.name == "mitigation-flag-off")
    assert {b.kind for b in phase_bands(mitigated.phases)} == {"baseline", "fault", "mitigation"}


def test_marks_are_timed_from_the_fault_and_its_end() -> None:
    run = _run()
    outage = next(s for s in run.scenarios if s.name == "wrk-platform-outage")
    checks = [c for c in run.checks_of(outage.name) if c.alert == "ApiHigh5xxRate"]
    marks = {m.kind: m.at for m in alert_marks(outage.phases, checks, label_alert=False)}
    assert marks == {"pending": 10.8, "firing": 15.8, "notified": 15.9, "resolved": 36.7}


def test_mitigation_resolution_is_timed_from_the_mitigation() -> None:
    run = _run()
    s = next(s for s in run.scenarios if s.name == "mitigation-flag-off")
    marks = alert_marks(s.phases, run.checks_of(s.name), label_alert=False)
    resolved = next(m for m in marks if m.kind == "resolved")
    assert resolved.label == "resolved (mitigation)"
    assert abs(resolved.at - (10.0 + 7.0 + 4.0)) < 1e-6


def test_alert_plot_has_threshold_and_only_its_alerts_marks() -> None:
    run = _run()
    s = next(s for s in run.scenarios if s.name == "wrk-platform-outage")
    series = next(x for x in s.series if x.key == "ApiHigh5xxRate")
    plot = series_plot(s, series, run.checks_of(s.name))
    assert plot.threshold == 0.01
    assert len(plot.lines) == 2 and plot.lines[0].points[0][0] == 0.0
    assert len(plot.marks) == 4  # pending, firing, notified, resolved of ApiHigh5xxRate only


def test_budget_bars_one_per_firing_check() -> None:
    bars = budget_bars(_run())
    assert [b.passed for b in bars] == [True, False, True]
    assert bars[1].value == 19.0 and bars[1].budget == 17.5
