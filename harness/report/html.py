"""The run's HTML report: one self-contained, script-free page a release manager reads in a minute.

Top: the verdict, counts and failed checks (fits one screen). Then time to alert against
budget, the SLO table, regressions since the previous run, and per scenario its plots (every
captured series, grouped by kind) with the phases shaded and the alert lifecycle marked, and
its checks. Built only from the typed results (`RunView`), so results.json alone rebuilds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import Protocol

from harness.report.model import CheckView, RunView, ScenarioView
from harness.report.plots import budget_bars, series_plot
from harness.report.svg import render_budget_chart, render_time_plot

MAX_FAILED_LISTED = 12
NO_BASELINE_RUN = "no earlier run of the same target and time scale in the ledger to compare with"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#222}
h1{margin:0 0 4px;font-size:22px}h2{border-bottom:1px solid #ccc;padding-bottom:4px}
.verdict{padding:12px 16px;border-radius:6px;margin-bottom:12px}
.verdict.passed{background:#e3f5e3;border:2px solid #2a8f2a}
.verdict.failed{background:#fbe3e3;border:2px solid #d62728}
.verdict .word{font-size:30px;font-weight:bold}
.passed .word{color:#1d6b1d}.failed .word{color:#b11d1d}
.meta{color:#555;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.ok{color:#1d6b1d;font-weight:bold}.fail{color:#b11d1d;font-weight:bold}
.warn,.warnings b{color:#a05a00}
.plots{display:flex;flex-wrap:wrap;gap:8px}.plots svg{max-width:100%;height:auto}
section.scenario{margin-top:24px}.none{color:#777;font-style:italic}
code{font-size:12px;background:#f6f6f6;padding:1px 3px}
"""


class RegressionView(Protocol):
    """What the regressions section shows of one regression (harness.report.ledger)."""

    @property
    def kind(self) -> str: ...
    @property
    def scenario(self) -> str | None: ...
    @property
    def alert(self) -> str | None: ...
    @property
    def message(self) -> str: ...


def render_html(
    run: RunView, regressions: Sequence[RegressionView] | None, flaky: Sequence[str] = ()
) -> str:
    """The whole page. `regressions` None: there was no earlier run to compare with;
    `flaky`: checks that passed and failed on this run's revision (from the ledger)."""
    verdict = "PASSED" if run.passed else "FAILED"
    body = [
        _summary(run),
        _budget_section(run),
        _slo_section(run.slo_checks),
        _regressions_section(regressions, flaky),
        *[_scenario_section(s, run.checks_of(s.name)) for s in run.scenarios],
    ]
    return page(f"WRK conformance {verdict} — {run.run_id}", body)


def page(title: str, sections: Sequence[str]) -> str:
    """A whole self-contained page: the report's style inline, no script."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def _summary(run: RunView) -> str:
    word = "PASSED" if run.passed else "FAILED"
    s = run.summary
    cold = f"{run.stack.cold_start_s:.1f} s" if run.stack.cold_start_s is not None else "n/a"
    failed = run.failed_checks
    listed = "".join(
        f"<li><b>{escape(c.label)}</b> in {escape(c.scenario)}: {escape(c.message)}</li>"
        for c in failed[:MAX_FAILED_LISTED]
    )
    more = len(failed) - MAX_FAILED_LISTED
    if more > 0:
        listed += f"<li>… and {more} more (see the scenarios below)</li>"
    errors = "".join(f"<li>run error: {escape(e)}</li>" for e in run.errors)
    issues = f'<ul class="failed-checks">{listed}{errors}</ul>' if listed or errors else ""
    issues += _warnings_list(run.warned_checks)
    return (
        f'<header id="verdict" class="verdict {word.lower()}">'
        f'<h1>WRK conformance <span class="word">{word}</span></h1>'
        f"<div><b>{s.passed}/{s.checks}</b> checks passed, <b>{s.failed}</b> failed, "
        f"{s.warnings} warning(s), {len(run.errors)} run error(s), "
        f"{len(run.scenarios)} scenario(s): "
        f"{_scenario_verdicts(run.scenarios)}</div>"
        f'<div class="meta">run <code>{escape(run.run_id)}</code> · target '
        f"{escape(run.target)} · time scale {run.time_scale:g} · stack cold start {cold} · "
        f"{_when(run.started_at)} → {_when(run.finished_at)}</div>{issues}</header>"
    )


def _warnings_list(checks: Sequence[CheckView]) -> str:
    """Every warning, also of passing checks: what passed narrowly is never hidden."""
    items = "".join(
        f"<li><b>warning</b> {escape(c.label)} in {escape(c.scenario)}: {escape(w.message)}</li>"
        for c in checks
        for w in c.warnings
    )
    return f'<ul class="warnings">{items}</ul>' if items else ""


def _scenario_verdicts(scenarios: Iterable[ScenarioView]) -> str:
    return ", ".join(
        f'<a href="#scenario-{escape(s.name)}" class="{"ok" if s.passed else "fail"}">'
        f"{escape(s.name)}</a>"
        for s in scenarios
    )


def _budget_section(run: RunView) -> str:
    chart = render_budget_chart("time to firing against budget", budget_bars(run))
    return (
        '<section id="time-to-alert"><h2>Time to alert against budget</h2>'
        '<p class="meta">bar: time from the fault\'s start to firing (green within budget, '
        "red not); black mark: budget; dotted mark: floor (the alert's scaled "
        f"<code>for</code>)</p>{chart}</section>"
    )


def _slo_section(checks: Sequence[CheckView]) -> str:
    if not checks:
        return '<section id="slos"><h2>SLOs</h2><p class="none">no SLO check ran</p></section>'
    rows = "".join(
        f"<tr><td>{escape(c.scenario)}</td><td>{escape(c.subject or '')}</td>"
        f"<td>{escape(c.kind)}</td><td>{_verdict(c.passed)}</td><td>{escape(c.message)}</td></tr>"
        for c in checks
    )
    return (
        '<section id="slos"><h2>SLOs</h2><table><tr><th>scenario</th><th>SLO</th><th>kind</th>'
        f"<th>verdict</th><th>measured</th></tr>{rows}</table></section>"
    )


def _regressions_section(regressions: Sequence[RegressionView] | None, flaky: Sequence[str]) -> str:
    head = '<section id="regressions"><h2>Regressions since the previous run</h2>'
    shaky = _flaky_list(flaky)
    if regressions is None:
        return f'{head}<p class="none">{NO_BASELINE_RUN}</p>{shaky}</section>'
    if not regressions:
        return f'{head}<p class="ok">none</p>{shaky}</section>'
    rows = "".join(
        f"<tr><td>{escape(r.kind)}</td><td>{escape(r.scenario or '')}</td>"
        f"<td>{escape(r.alert or '')}</td><td>{escape(r.message)}</td></tr>"
        for r in regressions
    )
    return (
        f'{head}<p class="fail">{len(regressions)} regression(s)</p><table><tr><th>kind</th>'
        f"<th>scenario</th><th>alert</th><th>what changed</th></tr>{rows}</table>{shaky}"
        "</section>"
    )


def _flaky_list(flaky: Sequence[str]) -> str:
    if not flaky:
        return ""
    items = "".join(f"<li><code>{escape(c)}</code></li>" for c in flaky)
    return (
        f'<p class="warn">{len(flaky)} flaky check(s): passed and failed on this revision '
        f'(per the ledger); not counted as regressions</p><ul class="flaky">{items}</ul>'
    )


def _scenario_section(scenario: ScenarioView, checks: list[CheckView]) -> str:
    return (
        f'<section class="scenario" id="scenario-{escape(scenario.name)}">'
        f"<h2>{escape(scenario.name)} — {_verdict(scenario.passed)}</h2>"
        f'<p class="meta">{_phase_line(scenario)}</p>'
        f"{_plots(scenario, checks)}{_checks_table(checks)}</section>"
    )


def _phase_line(scenario: ScenarioView) -> str:
    p = scenario.phases
    marks = [
        ("baseline", p.baseline_start),
        ("fault", p.fault_start),
        ("mitigation", p.mitigation_start),
        ("fault removed", p.fault_end),
        ("end", p.end),
    ]
    parts = [f"{name} at {p.offset_s(t):.1f} s" for name, t in marks if p.offset_s(t) is not None]
    return "load started at 0 s; " + ", ".join(parts) if parts else "no phase times recorded"


def _plots(scenario: ScenarioView, checks: list[CheckView]) -> str:
    if not scenario.series:
        return '<p class="none">no series captured for this scenario</p>'
    kinds = list(dict.fromkeys(s.kind for s in scenario.series))
    groups = []
    for kind in kinds:
        svgs = "".join(
            render_time_plot(series_plot(scenario, s, checks))
            for s in scenario.series
            if s.kind == kind
        )
        groups.append(f'<h3>{escape(kind)} series</h3><div class="plots">{svgs}</div>')
    return "".join(groups)


def _checks_table(checks: list[CheckView]) -> str:
    rows = "".join(
        f"<tr><td>{_verdict(c.passed)}</td><td>{escape(c.label)}</td>"
        f"<td>{escape(c.message)}{_check_warnings(c)}</td></tr>"
        for c in checks
    )
    return f"<table><tr><th>verdict</th><th>check</th><th>message</th></tr>{rows}</table>"


def _check_warnings(check: CheckView) -> str:
    items = "".join(
        f'<li><span class="warn">warning</span> {escape(w.message)}</li>' for w in check.warnings
    )
    return f"<ul>{items}</ul>" if items else ""


def _verdict(passed: bool) -> str:
    return '<span class="ok">ok</span>' if passed else '<span class="fail">FAIL</span>'


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "?"
