"""The coverage gate names each alert that lacks proof, and why."""

from __future__ import annotations

from harness.checks.coverage import coverage, coverage_checks
from harness.checks.results import Check, PhaseTimes, ScenarioResult

PHASES = PhaseTimes(0, 0, 0, None, None, 0)


def _result(name: str, checks: list[Check], watched: tuple[str, ...]) -> ScenarioResult:
    return ScenarioResult(name, checks, PHASES, None, watched)


def _check(kind: str, scenario: str, passed: bool, alert: str | None = None) -> Check:
    return Check(f"{scenario}::{kind}", kind, scenario, passed, "m", alert=alert)


def test_alert_needs_a_passing_fire_and_a_passing_baseline() -> None:
    results = [
        _result("outage", [_check("baseline_quiet", "outage", True),
                           _check("alert_fires", "outage", True, "A"),
                           _check("alert_fires", "outage", False, "B")], ("A", "B", "C")),
        _result("noisy", [_check("baseline_quiet", "noisy", False),
                          _check("alert_fires", "noisy", True, "C")], ("C",)),
    ]  # fmt: skip
    entries = {e.alert: e for e in coverage(("A", "B", "C"), results)}
    assert entries["A"].covered
    assert not entries["B"].covered  # its fires check failed
    assert entries["C"].fired_in == ("noisy",)
    assert entries["C"].quiet_in == ("outage",)  # the failing baseline proves nothing
    checks = {c.alert: c for c in coverage_checks(list(entries.values()))}
    assert checks["A"].passed
    assert not checks["B"].passed
    assert "no scenario proved it fires" in checks["B"].message


def test_alert_without_any_scenario_fails_the_gate() -> None:
    (check,) = coverage_checks(coverage(("Lonely",), []))
    assert not check.passed
    assert "no scenario proved it fires and no passing healthy baseline watched it" in check.message
