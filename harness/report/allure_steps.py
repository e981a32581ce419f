"""Allure results of one scenario: a step per phase with its real times, checks as sub-steps.

The scenario's test result is the one allure-pytest opened for the pytest item; this module
fills it once the scenario has run (the phases are only known then), through the plugin's
reporter, so each step carries the phase's measured start and stop rather than the moment it
was written. Attachments: the rendered rule of each expected alert, the PromQL and plot of each
captured series, and a log excerpt. Labels: severity from the alerts' SEV level, feature = each
alert, story = the scenario. Every text put in the result (check messages, attachments) goes
through the run's `Masker` first: a log excerpt or a series label may hold a leaked secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from allure_commons.model2 import Label, Parameter, Status, StatusDetails, TestStepResult
from allure_commons.types import AttachmentType, LabelType

from harness.checks.results import Check, PhaseTimes, ScenarioResult
from harness.checks.secrets import Masker
from harness.observe.logs import LogEvent, LogStore
from harness.report.model import RESOLVE_KINDS, CheckView, ScenarioView
from harness.report.plots import series_plot
from harness.report.results import scenario_json
from harness.report.svg import render_time_plot
from harness.spec.alerts import Severity
from harness.spec.catalog import Catalog
from harness.spec.rules import render_rules
from harness.spec.timescale import Timing

ALERT_CHECK_KINDS = frozenset({"alert_fires", "alert_delivered", *RESOLVE_KINDS})
NO_ALERT_FEATURE = "no alert expected"
LOG_EXCERPT_LINES = 40
LOUD_LEVELS = frozenset({"warning", "warn", "error", "critical"})
# Allure knows five levels; SEV-1 (platform-wide outage) is the one that blocks a release.
ALLURE_SEVERITY = {Severity.SEV_1: "blocker", Severity.SEV_2: "critical", Severity.SEV_3: "normal"}


@dataclass(frozen=True)
class PhaseSpan:
    name: str  # warm-up, baseline, fault, mitigation, recovery
    start: float
    stop: float


@dataclass(frozen=True)
class ScenarioEvidence:
    """What the catalogue and the logs add to a scenario's result."""

    severities: Mapping[str, Severity]  # expected alert -> its SEV level
    rules: Mapping[str, str]  # expected alert -> its rendered rule (YAML)
    log_excerpt: str


def scenario_evidence(
    catalog: Catalog, timing: Timing, result: ScenarioResult, logs: LogStore | None, run_dir: Path
) -> ScenarioEvidence:
    alerts = [a for a in expected_alerts(result) if a in catalog.alert_names]
    p = result.phases
    since = p.fault_start if p.fault_start is not None else p.baseline_start
    if logs is not None:
        excerpt = log_excerpt(logs.events(since, p.end))
    else:
        excerpt = _tail(run_dir / result.scenario / "locust.log")
    return ScenarioEvidence(
        severities={a: catalog.alert(a).severity for a in alerts},
        rules={a: render_rules(catalog, timing, alerts=[a]) for a in alerts},
        log_excerpt=excerpt,
    )


def log_excerpt(events: Sequence[LogEvent], limit: int = LOG_EXCERPT_LINES) -> str:
    """The warnings and errors in time order (what the fault caused); the first lines of
    whatever was logged when there are none."""
    if not events:
        return ""
    in_time = sorted(events, key=lambda e: e.at)  # the services interleaved, as it happened
    loud = [e for e in in_time if (e.level or "").lower() in LOUD_LEVELS]
    chosen = (loud or in_time)[:limit]
    head = (
        f"{len(loud)} warning/error line(s) of {len(events)} logged in the window; "
        f"first {len(chosen)}:"
    )
    return "\n".join([head, *(f"{e.service}: {e.raw}" for e in chosen)]) + "\n"


def _tail(path: Path, limit: int = LOG_EXCERPT_LINES) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-limit:]) + "\n" if lines else ""


def phase_spans(p: PhaseTimes) -> list[PhaseSpan]:
    spans = [PhaseSpan("warm-up", p.load_start, p.baseline_start)]
    spans.append(PhaseSpan("baseline", p.baseline_start, p.baseline_end))
    if p.fault_start is not None:
        fault_end = p.fault_end if p.fault_end is not None else p.end
        spans.append(PhaseSpan("fault", p.fault_start, p.mitigation_start or fault_end))
        if p.mitigation_start is not None:
            spans.append(PhaseSpan("mitigation", p.mitigation_start, fault_end))
        spans.append(PhaseSpan("recovery", fault_end, p.end))
    else:
        spans.append(PhaseSpan("watch (no fault)", p.baseline_end, p.end))
    return spans


def phase_of(check: Check, spans: Sequence[PhaseSpan]) -> str:
    """The phase a check judged (its verdict is a sub-step of that phase's step)."""
    if check.kind == "baseline_quiet":
        wanted = "baseline"
    elif check.kind.startswith("slo_"):  # held over the baseline, or violated by the fault
        wanted = "fault" if check.window == "fault" else "baseline"
    elif check.kind in ("alert_fires", "alert_delivered", "no_unexpected_alerts"):
        wanted = "fault"
    elif check.kind == "alert_resolves_under_mitigation":
        wanted = "mitigation"
    else:
        wanted = "recovery"  # resolution, and evidence judged once the scenario is over
    names = [s.name for s in spans]
    return wanted if wanted in names else names[-1]


def expected_alerts(result: ScenarioResult) -> list[str]:
    """Alerts the scenario judged (fires / delivered / resolves), in check order."""
    names = [c.alert for c in result.checks if c.kind in ALERT_CHECK_KINDS and c.alert]
    return list(dict.fromkeys(names))


def record_scenario(
    reporter: Any, result: ScenarioResult, evidence: ScenarioEvidence, masker: Masker | None = None
) -> None:
    """Fill the open Allure test result (allure-pytest's reporter) with the scenario; every
    text masked by `masker` (the run's secrets)."""
    mask = (masker or Masker()).text
    _labels(reporter, result, evidence)
    spans = phase_spans(result.phases)
    by_phase: dict[str, list[Check]] = {}
    for check in result.checks:
        by_phase.setdefault(phase_of(check, spans), []).append(check)
    for span in spans:
        _phase_step(reporter, span, by_phase.get(span.name, []), mask)
    _attachments(reporter, result, evidence, mask)


def _labels(reporter: Any, result: ScenarioResult, evidence: ScenarioEvidence) -> None:
    alerts = expected_alerts(result)
    labels = [(LabelType.STORY, result.scenario)]
    labels += [(LabelType.FEATURE, a) for a in alerts or [NO_ALERT_FEATURE]]
    sevs = sorted({evidence.severities[a] for a in alerts if a in evidence.severities})
    if sevs:  # SEV-1 sorts first: the most severe alert of the scenario
        labels += [(LabelType.SEVERITY, ALLURE_SEVERITY[sevs[0]]), ("sev", sevs[0].value)]
    test = reporter.get_test(None)
    test.labels.extend(Label(name=name, value=value) for name, value in labels)


def _phase_step(
    reporter: Any, span: PhaseSpan, checks: Iterable[Check], mask: Callable[[str], str]
) -> None:
    step_id = str(uuid4())
    checks = list(checks)
    ok = all(c.passed for c in checks)
    title = f"{span.name} ({span.stop - span.start:.1f} s)"
    reporter.start_step(None, step_id, TestStepResult(name=title, start=_ms(span.start)))
    for check in checks:
        sub = str(uuid4())
        text = mask(check.message)
        message = [Parameter(name="message", value=text)]
        step = TestStepResult(name=_check_title(check), start=_ms(span.stop), parameters=message)
        reporter.start_step(step_id, sub, step)
        details = None if check.passed else StatusDetails(message=text)
        reporter.stop_step(
            sub, stop=_ms(span.stop), status=_status(check.passed), statusDetails=details
        )
    reporter.stop_step(step_id, stop=_ms(span.stop), status=_status(ok))


def _attachments(
    reporter: Any, result: ScenarioResult, evidence: ScenarioEvidence, mask: Callable[[str], str]
) -> None:
    def attach(body: str, name: str, kind: AttachmentType) -> None:
        reporter.attach_data(str(uuid4()), mask(body), name=mask(name), attachment_type=kind)

    for alert in expected_alerts(result):
        rule = evidence.rules.get(alert)
        if rule:
            attach(rule, f"rule {alert}", AttachmentType.YAML)
    scenario = ScenarioView.model_validate(scenario_json(result))
    checks = [CheckView.model_validate(asdict(c)) for c in result.checks]
    for captured, series in zip(result.series, scenario.series, strict=True):
        attach(captured.spec.expr, f"PromQL {captured.spec.key}", AttachmentType.TEXT)
        svg = render_time_plot(series_plot(scenario, series, checks))
        attach(svg, f"plot {captured.spec.key}", AttachmentType.SVG)
    if evidence.log_excerpt:
        attach(evidence.log_excerpt, "log excerpt", AttachmentType.TEXT)


def _check_title(check: Check) -> str:
    verdict = "ok" if check.passed else "FAIL"
    return f"{verdict} {check.kind}" + (f" [{check.alert}]" if check.alert else "")


def _status(passed: bool) -> str:
    return Status.PASSED if passed else Status.FAILED


def _ms(ts: float) -> int:
    return round(ts * 1000)
