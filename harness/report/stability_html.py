"""stability.html: the stability report as one self-contained, script-free page.

Its own page rather than a section of a run's report.html: report.html is rebuilt from one
run's results.json alone, and this page is about several runs. Top: STABLE or UNSTABLE, runs
ran and passed, flaky checks named. Then one row per run (linking its report.html) and one
row per check: passes out of N and the spread of time to firing.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from harness.report.forms import HTML_FILE
from harness.report.html import page
from harness.report.stability import CheckStability, RunOutcome, Spread, StabilityReport


def render_stability(report: StabilityReport, folder: Path) -> str:
    """The page, written into `folder` (links to each run's report are relative to it)."""
    word = "STABLE" if report.stable else "UNSTABLE"
    body = [_verdict(report), _runs(report, folder), _checks(report.checks)]
    return page(f"WRK stability {word} — {report.stability_id}", body)


def _verdict(report: StabilityReport) -> str:
    word = "STABLE" if report.stable else "UNSTABLE"
    css = "passed" if report.stable else "failed"
    ran = report.ran
    flaky = "".join(
        f"<li><b>flaky</b> <code>{escape(c.id)}</code>: passed {c.passes} of {c.runs} run(s)"
        f"{'' if c.ran_in == c.runs else f', absent from {c.runs - c.ran_in}'}</li>"
        for c in report.flaky
    )
    missing = "".join(
        f"<li>run {o.index} <code>{escape(o.run_id)}</code> could not run (exit "
        f"{o.exit_code}); its output: <code>{escape(str(o.log))}</code></li>"
        for o in report.outcomes
        if not o.ran
    )
    listed = f"<ul>{flaky}{missing}</ul>" if flaky or missing else ""
    note = " Interrupted before every run was done." if report.interrupted else ""
    figures = report.figures()
    medians = " · ".join(
        f"{what} median {figures[key]['median']:.2f} s"
        for what, key in (
            ("wall time", "wall_s"),
            ("stack cold start", "cold_start_s"),
            ("time to firing over floor", "over_floor_s"),
        )
        if figures[key] is not None
    )
    return (
        f'<header id="verdict" class="verdict {css}"><h1>WRK stability '
        f'<span class="word">{word}</span></h1>'
        f"<div><b>{len(ran)}</b> of {report.runs_requested} run(s) ran, "
        f"<b>{sum(r.passed for r in ran)}</b> passed; <b>{len(report.flaky)}</b> flaky "
        f"check(s) of {len(report.checks)}.{note}</div><div>{medians}</div>"
        f'<div class="meta">series <code>{escape(report.stability_id)}</code> · each run: '
        f"<code>wrkh run {escape(' '.join(report.command))}</code></div>{listed}</header>"
    )


def _runs(report: StabilityReport, folder: Path) -> str:
    rows = "".join(_run_row(o, folder) for o in report.outcomes)
    return (
        '<section id="runs"><h2>Runs</h2><table><tr><th>#</th><th>run</th><th>verdict</th>'
        "<th>checks passed</th><th>wall time</th><th>stack cold start</th></tr>"
        f"{rows}</table></section>"
    )


def _run_row(o: RunOutcome, folder: Path) -> str:
    r = o.results
    css = "ok" if r is not None and r.passed else "fail"
    if r is None:
        return (
            f"<tr><td>{o.index}</td><td>{escape(o.run_id)}</td><td class='fail'>could not run "
            f"(exit {o.exit_code})</td><td></td><td>{o.wall_s:.1f} s</td><td></td></tr>"
        )
    report_path = folder.parent.parent / o.run_id / HTML_FILE
    link = escape(os.path.relpath(report_path, folder))
    cold = f"{r.stack.cold_start_s:.1f} s" if r.stack.cold_start_s is not None else "n/a"
    return (
        f'<tr><td>{o.index}</td><td><a href="{link}">{escape(o.run_id)}</a></td>'
        f'<td class="{css}">{o.verdict}</td><td>{r.summary.passed}/{r.summary.checks}</td>'
        f"<td>{o.wall_s:.1f} s</td><td>{cold}</td></tr>"
    )


def _checks(checks: list[CheckStability]) -> str:
    rows = "".join(
        f"<tr><td>{escape(c.id)}</td><td class='{_css(c)}'>{c.passes}/{c.runs}"
        f"{' flaky' if c.flaky else ''}</td><td>{_spread(c.time_to_firing_s)}</td>"
        f"<td>{_spread(c.over_floor_s)}</td></tr>"
        for c in checks
    )
    return (
        '<section id="checks"><h2>Checks</h2><p class="meta">passes out of the runs that ran; '
        "time to firing from the fault's start, and beyond the alert's scaled <code>for</code>"
        " (min / median / max)</p><table><tr><th>check</th><th>passed</th>"
        f"<th>time to firing</th><th>over floor</th></tr>{rows}</table></section>"
    )


def _css(c: CheckStability) -> str:
    return "ok" if c.passes == c.runs and not c.flaky else "fail"


def _spread(spread: Spread | None) -> str:
    if spread is None:
        return ""
    return f"{spread.min:.2f} / {spread.median:.2f} / {spread.max:.2f} s"
