"""Allure results of a scenario: phase steps with real times, checks, attachments, labels."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from harness.checks.results import Check
from harness.observe.logs import LogEvent
from harness.report.allure_steps import expected_alerts, log_excerpt, phase_of, phase_spans
from harness.spec.alerts import Severity
from tests.report_fixtures import T0, baseline, mitigation, outage

ROOT = Path(__file__).resolve().parents[2]

_TEST = """
from harness.spec.alerts import Severity
from harness.report.allure_steps import ScenarioEvidence, record_scenario
from tests.report_fixtures import T0, outage


def test_outage(pytestconfig):
    listener = pytestconfig.pluginmanager.get_plugin("allure_listener")
    evidence = ScenarioEvidence(
        severities={"ApiHigh5xxRate": Severity.SEV_2, "WrkPlatformFailureRate": Severity.SEV_1},
        rules={"ApiHigh5xxRate": "groups:\\n- name: wrk\\n"},
        log_excerpt="core: platform call failed\\n",
    )
    record_scenario(listener.allure_logger, outage(T0), evidence)
"""


def _allure_result(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    test = tmp_path / "test_outage.py"
    test.write_text(textwrap.dedent(_TEST))
    out = tmp_path / "allure"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:locust", "-p", "no:cacheprovider",
           "--alluredir", str(out), "--rootdir", str(tmp_path), str(test)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (result,) = out.glob("*-result.json")
    return json.loads(result.read_text()), out


def test_scenario_result_has_phase_steps_checks_attachments_labels(tmp_path: Path) -> None:
    result, out = _allure_result(tmp_path)
    labels = {(lb["name"], lb["value"]) for lb in result["labels"]}
    assert ("story", "wrk-platform-outage") in labels
    assert {("feature", "ApiHigh5xxRate"), ("feature", "WrkPlatformFailureRate")} <= labels
    assert ("severity", "blocker") in labels and ("sev", "SEV-1") in labels  # the worst SEV

    steps = result["steps"]
    assert [s["name"].split(" (")[0] for s in steps] == ["warm-up", "baseline", "fault", "recovery"]
    fault = steps[2]
    assert fault["start"] == round((T0 + 10.0) * 1000) and fault["stop"] == round((T0 + 32) * 1000)
    assert fault["status"] == "failed"  # WrkPlatformFailureRate fired over budget
    sub = {s["name"]: s for s in fault["steps"]}
    late = sub["FAIL alert_fires [WrkPlatformFailureRate]"]
    assert late["status"] == "failed" and "over its budget" in late["statusDetails"]["message"]
    assert sub["ok alert_fires [ApiHigh5xxRate]"]["status"] == "passed"
    assert steps[1]["status"] == "passed"

    names = {a["name"]: a for a in result["attachments"]}
    assert {
        "rule ApiHigh5xxRate",
        "PromQL ApiHigh5xxRate",
        "plot ApiHigh5xxRate",
        "log excerpt",
    } <= set(names)
    assert "rule WrkPlatformFailureRate" not in names  # no rule given for it
    plot = out / names["plot ApiHigh5xxRate"]["source"]
    assert names["plot ApiHigh5xxRate"]["type"] == "image/svg+xml"
    assert 'class="band band-fault"' in plot.read_text()
    assert (out / names["PromQL ApiHigh5xxRate"]["source"]).read_text() == "sum(rate(x[5s]))"


def test_phase_spans_follow_the_phases() -> None:
    spans = phase_spans(mitigation(T0).phases)
    assert [s.name for s in spans] == ["warm-up", "baseline", "fault", "mitigation", "recovery"]
    assert spans[2].stop == spans[3].start == T0 + 17.0
    assert [s.name for s in phase_spans(baseline(T0).phases)][-1] == "watch (no fault)"


def test_checks_are_placed_in_the_phase_they_judged() -> None:
    spans = phase_spans(mitigation(T0).phases)

    def where(kind: str, window: str | None = None) -> str:
        return phase_of(Check("x", kind, "s", True, "", window=window), spans)

    assert where("baseline_quiet") == "baseline"
    assert where("alert_fires") == "fault"
    assert where("alert_resolves_under_mitigation") == "mitigation"
    assert where("alert_resolves") == "recovery"
    assert where("slo_availability", "baseline") == "baseline"
    assert where("slo_availability", "fault") == "fault"
    assert where("slo_latency_crosscheck", "load") == "baseline"
    no_fault = phase_spans(baseline(T0).phases)
    assert phase_of(Check("x", "alert_fires", "s", True, ""), no_fault) == "watch (no fault)"


def test_expected_alerts_are_the_alert_checks() -> None:
    assert expected_alerts(outage(T0)) == ["ApiHigh5xxRate", "WrkPlatformFailureRate"]
    assert expected_alerts(baseline(T0)) == []


def _event(service: str, at: float, level: str) -> LogEvent:
    raw = f'{{"level":"{level}","n":{at}}}'
    blank: dict[str, Any] = dict.fromkeys(_OPTIONAL_FIELDS)
    return LogEvent(service, Path("x.log"), 1, raw, at, at, level, **blank, fields={})


_OPTIONAL_FIELDS = [
    "message",
    "request_id",
    "trace_id",
    "tenant_id",
    "user_id",
    "route",
    "job_type",
    "error_code",
    "resource_type",
    "resource_id",
    "method",
    "status",
]


def test_log_excerpt_prefers_warnings_and_errors_in_time_order() -> None:
    events = [_event("core", 3, "ERROR"), _event("core", 1, "INFO"), _event("edge", 2, "WARNING")]
    text = log_excerpt(events)
    lines = text.splitlines()
    assert lines[0].startswith("2 warning/error line(s) of 3")
    assert lines[1].startswith("edge:") and lines[2].startswith("core:") and len(lines) == 3
    quiet = log_excerpt([_event("core", 1, "INFO")])
    assert "0 warning/error" in quiet and "core:" in quiet
    assert log_excerpt([]) == ""


def test_sev_levels_map_to_allure_severities() -> None:
    from harness.report.allure_steps import ALLURE_SEVERITY

    assert set(ALLURE_SEVERITY) == set(Severity)


def _run_pytest(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:locust", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def _scenarios_dir(tmp_path: Path) -> Path:
    """A scenarios folder with the real catalogue and one scenario (run with --setup-only:
    configures, starts nothing)."""
    folder = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios" / "catalog", folder / "catalog")
    shutil.copy(ROOT / "scenarios" / "platform_outage.yaml", folder)
    return folder


def test_scenario_runs_write_allure_results_into_the_run_folder(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    args = ("--wrk-report-dir", str(reports), "--setup-only")
    proc = _run_pytest(str(_scenarios_dir(tmp_path)), *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run_dir,) = reports.iterdir()
    assert (run_dir / "allure-results").is_dir()


def test_a_run_refused_before_it_starts_leaves_no_run_folder(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    folder = _scenarios_dir(tmp_path)
    (folder / "platform_outage.yaml").unlink()  # a catalogue and no scenario: refused
    proc = _run_pytest(str(folder), "--wrk-report-dir", str(reports))
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    assert not reports.exists() or not any(reports.iterdir())


def test_alluredir_given_by_the_user_wins(tmp_path: Path) -> None:
    mine, reports = tmp_path / "mine", tmp_path / "reports"
    folder = _scenarios_dir(tmp_path)
    args = ("--wrk-report-dir", str(reports), "--alluredir", str(mine), "--setup-only")
    proc = _run_pytest(str(folder), *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert mine.is_dir() and not reports.exists()


def test_other_test_runs_write_no_allure_results(tmp_path: Path) -> None:
    test = tmp_path / "test_nothing.py"
    test.write_text("def test_nothing():\n    assert True\n")
    proc = _run_pytest(
        str(test), "--rootdir", str(tmp_path), "--wrk-report-dir", str(tmp_path / "r")
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "r").exists()


def test_evidence_from_the_real_catalogue(tmp_path: Path) -> None:
    from harness.report.allure_steps import scenario_evidence
    from harness.spec.catalog import load_catalog
    from tests.report_fixtures import TIMING

    catalog = load_catalog(ROOT / "scenarios" / "catalog")
    result = outage(T0)
    (tmp_path / result.scenario).mkdir()
    (tmp_path / result.scenario / "locust.log").write_text("line 1\nline 2\n")
    evidence = scenario_evidence(catalog, TIMING, result, None, tmp_path)
    assert set(evidence.severities) == {"ApiHigh5xxRate", "WrkPlatformFailureRate"}
    assert evidence.severities["ApiHigh5xxRate"] is catalog.alert("ApiHigh5xxRate").severity
    rule = evidence.rules["ApiHigh5xxRate"]
    assert "alert: ApiHigh5xxRate" in rule and "WrkPlatformFailureRate" not in rule
    assert evidence.log_excerpt == "line 1\nline 2\n"  # no log store: the Locust log's tail
