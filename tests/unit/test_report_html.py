"""The HTML report's sections, built from a results.json document."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from harness.report.html import NO_BASELINE_RUN, render_html
from harness.report.model import RunView
from tests.report_fixtures import build_results, build_run


@dataclass(frozen=True)
class Reg:
    kind: str
    scenario: str | None
    alert: str | None
    message: str


class _Tags(HTMLParser):
    """Collects tags and checks every opened element is closed in order (void ones aside)."""

    VOID = frozenset({"meta", "br", "img", "input", "link", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.seen: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


def _page(data: dict[str, object] | None = None, regressions: list[Reg] | None = None) -> str:
    return render_html(RunView.from_json(data or build_results()), regressions)


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'id="{section_id}".*?</(section|header)>', html, re.S)
    assert match, f"section {section_id} missing"
    return match.group(0)


def test_page_is_well_formed_and_self_contained() -> None:
    html = _page()
    tags = _Tags()
    tags.feed(html)
    assert not tags.errors and tags.stack == []
    assert "script" not in tags.seen and "link" not in tags.seen
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html


def test_verdict_summary_names_the_failed_checks() -> None:
    top = _section(_page(), "verdict")
    assert "FAILED" in top and "11/13" in top
    assert "alert_fires [WrkPlatformFailureRate]" in top
    assert "20261127T080000-4242" in top and "time scale 60" in top and "6.8 s" in top


def test_verdict_passed_without_failed_list() -> None:
    run = build_run()
    run.scenarios = run.scenarios[:1]
    top = _section(_page(run.to_json()), "verdict")
    assert "PASSED" in top and "failed-checks" not in top


def test_run_errors_are_in_the_summary() -> None:
    run = build_run()
    run.errors.append("cleanup failed: boom")
    assert "run error: cleanup failed: boom" in _section(_page(run.to_json()), "verdict")


def test_warnings_of_passing_checks_are_in_the_summary_and_beside_their_check() -> None:
    html = _page()
    top = _section(html, "verdict")
    assert "1 warning(s)" in top
    assert 'warning</b> baseline_quiet in healthy-baseline: DbPoolSaturated{job="core"}' in (
        top.replace("&quot;", '"')
    )
    scenario = _section(html, "scenario-healthy-baseline").replace("&quot;", '"')
    assert 'class="warn">warning</span> DbPoolSaturated{job="core"} pending' in scenario


def test_time_to_alert_chart_has_a_bar_per_alert() -> None:
    section = _section(_page(), "time-to-alert")
    assert section.count('class="budget"') == 3
    assert "WrkPlatformFailureRate · wrk-platform-outage" in section


def test_slo_table_lists_slo_checks_only() -> None:
    section = _section(_page(), "slos")
    assert "studio-api-availability" in section and "studio-api-latency" in section
    assert "baseline_quiet" not in section


def test_regressions_section_three_states() -> None:
    assert NO_BASELINE_RUN in _section(_page(regressions=None), "regressions")
    assert ">none<" in _section(_page(regressions=[]), "regressions")
    found = _section(
        _page(regressions=[Reg("alert_no_longer_fires", "s1", "A1", "A1 fired before & not now")]),
        "regressions",
    )
    assert "1 regression(s)" in found and "A1 fired before &amp; not now" in found


def test_flaky_checks_are_listed_apart_from_regressions() -> None:
    html = render_html(RunView.from_json(build_results()), [], ["healthy-baseline::baseline_quiet"])
    section = _section(html, "regressions")
    assert '<p class="ok">none</p>' in section
    assert (
        "1 flaky check(s)" in section and "<code>healthy-baseline::baseline_quiet</code>" in section
    )
    assert "flaky" not in _section(_page(), "regressions")


def test_each_scenario_plots_every_series_grouped_by_kind() -> None:
    html = _page()
    baseline = _section(html, "scenario-healthy-baseline")
    assert "panel series" in baseline and "Requests per second by route" in baseline
    assert ">no data<" in baseline  # the queue-depth panel captured nothing
    outage = _section(html, "scenario-wrk-platform-outage")
    assert "alert series" in outage and outage.count("<svg") == 2
    assert 'class="band band-fault"' in outage and 'class="threshold"' in outage
    assert 'class="mark mark-firing"' in outage
    mitigated = _section(html, "scenario-mitigation-flag-off")
    assert 'class="band band-mitigation"' in mitigated and "resolved (mitigation)" in mitigated
