"""Timeline measures (MTTD, time to mitigate, MTTR) and the Markdown / postmortem renderings."""

from __future__ import annotations

from harness.gameday.postmortem import PLACEHOLDER, render_postmortem
from harness.gameday.timeline import (
    CheckLine,
    Impact,
    Kind,
    Timeline,
    measure,
    recovered_at,
    render_markdown,
)

T0 = 1_800_000_000.0


def _timeline(**changes: object) -> Timeline:
    t = Timeline("gd-1", "platform-outage", "external", T0, ("ApiHigh5xxRate", "SlowAlert"),
                 faults=("platform-down: outage of proxy wrk_platform",))  # fmt: skip
    for key, value in changes.items():
        setattr(t, key, value)
    return t


def _full(t: Timeline) -> Timeline:
    t.add(Kind.PHASE, "platform-outage", "warm-up", at=T0 + 1)
    t.add(Kind.FIRING, "Unrelated", "Prometheus", at=T0 + 5)  # before the fault: not detection
    t.add(Kind.FAULT_APPLIED, "platform-down", "outage", at=T0 + 10)
    t.add(Kind.PENDING, "ApiHigh5xxRate", at=T0 + 12)
    t.add(Kind.FIRING, "ApiHigh5xxRate", at=T0 + 16)
    t.add(Kind.NOTIFIED, "ApiHigh5xxRate", "Alertmanager -> oncall", at=T0 + 17)
    t.add(Kind.FIRING, "SlowAlert", at=T0 + 19)
    t.add(Kind.MITIGATION, "platform-outage", "PUT flag off", at=T0 + 20)
    t.add(Kind.FAULT_REMOVED, "platform-down", at=T0 + 25)
    t.add(Kind.RESOLVED, "ApiHigh5xxRate", at=T0 + 30)
    t.add(Kind.RESOLVED, "SlowAlert", at=T0 + 34)
    return t


def test_measures_run_from_the_fault_start() -> None:
    m = _full(_timeline()).measures
    assert m.fault_start == T0 + 10
    assert m.time_to_detect_s == 6.0 and m.detected_by == "ApiHigh5xxRate"
    assert m.time_to_notify_s == 7.0
    assert m.time_to_mitigate_s == 10.0  # the mitigation, not the later fault removal
    assert m.time_to_recover_s == 24.0  # the last expected alert resolved


def test_without_mitigation_removing_the_fault_mitigates() -> None:
    t = _full(_timeline())
    t.events = [e for e in t.events if e.kind is not Kind.MITIGATION]
    assert t.measures.time_to_mitigate_s == 15.0


def test_an_alert_that_never_resolves_leaves_recovery_unmeasured() -> None:
    t = _full(_timeline())
    t.events = [e for e in t.events if not (e.kind is Kind.RESOLVED and e.subject == "SlowAlert")]
    assert t.measures.time_to_recover_s is None
    # A resolution before the alert fired again does not count either.
    t.add(Kind.FIRING, "ApiHigh5xxRate", at=T0 + 40)
    assert recovered_at(t.ordered, {"ApiHigh5xxRate"}, T0 + 10) is None


def test_nothing_detected_without_a_fault_or_an_expected_alert() -> None:
    t = _timeline()
    t.add(Kind.FIRING, "ApiHigh5xxRate", at=T0 + 3)
    assert measure(t.events, t.expected).time_to_detect_s is None  # no fault started
    t.add(Kind.FAULT_APPLIED, "f", at=T0 + 4)
    t.add(Kind.FIRING, "Unexpected", at=T0 + 6)
    m = t.measures
    assert m.time_to_detect_s is None and m.time_to_recover_s is None


def test_json_lists_every_event_in_order_with_offsets() -> None:
    t = _full(_timeline(ended_at=T0 + 40, rollback_verified=True))
    data = t.to_json()
    assert data["outcome"] == "completed"  # no check failed
    assert [e["t_s"] for e in data["events"]] == sorted(e["t_s"] for e in data["events"])
    assert data["events"][2] == {"at": T0 + 10, "t_s": 10.0, "kind": "fault applied",
                                 "subject": "platform-down", "detail": "outage"}  # fmt: skip
    assert data["measures"]["time_to_recover_s"] == 24.0


def test_outcome_reflects_failed_checks_and_aborts() -> None:
    t = _timeline(checks=[CheckLine("alert_fires", False, "late")])
    assert t.outcome == "completed with failures"
    t.abort_reason = "interrupted by signal 2"
    assert t.outcome == "aborted"


def test_markdown_shows_the_measures_and_every_event() -> None:
    text = render_markdown(_full(_timeline(rollback_verified=True)))
    assert "| time to detect (MTTD) | 6.0 s (ApiHigh5xxRate) |" in text
    assert "| time to recover (MTTR) | 24.0 s |" in text
    assert "| rollback verified | yes |" in text
    rows = [line for line in text.splitlines() if " | +" in line]
    assert len(rows) == 11  # one row per event
    assert rows[2].endswith("| +10.0 s | fault applied | platform-down | outage |")
    assert "Checks of the scenario" not in text  # none ran


def test_markdown_lists_the_checks_with_their_verdicts() -> None:
    t = _timeline(checks=[CheckLine("alert_fires", True, "fired in 6 s"),
                          CheckLine("alert_resolves", False, "never resolved")])  # fmt: skip
    text = render_markdown(t)
    assert "- ok alert_fires: fired in 6 s" in text
    assert "- FAIL alert_resolves: never resolved" in text


def test_postmortem_fills_measured_facts_and_marks_what_people_know() -> None:
    t = _full(_timeline(ended_at=T0 + 40, rollback_verified=True))
    t.impact = Impact("studio-api-availability", 1.25, 400, 50, 410, 48)
    text = render_postmortem(t)
    for section in ("## What happened", "## Why", "## Impact", "## Remediation", "## Follow-ups"):
        assert section in text
    assert "Time to detect (MTTD): 6.0 s, by ApiHigh5xxRate" in text
    assert "Error budget burned (studio-api-availability): 1.25%" in text
    assert "Failed requests (Prometheus): 50 of 400" in text
    assert "Failed requests (load generator): 48 of 410" in text
    assert "outage of proxy wrk_platform" in text
    assert "Toxiproxy verified clean" in text
    assert text.count(PLACEHOLDER) >= 5  # severity, authors, root cause, blast radius, ...
    assert "Every check of the game day passed" in text


def test_postmortem_turns_failures_and_aborts_into_follow_ups() -> None:
    t = _timeline(rollback_verified=False, abort_reason="unexpected SEV-1 alert firing: X")
    t.checks = [CheckLine("alert_fires", False, "ApiHigh5xxRate fired 3 s late")]
    text = render_postmortem(t)
    assert "- [ ] alert_fires: ApiHigh5xxRate fired 3 s late" in text
    assert "aborted (unexpected SEV-1 alert firing: X)" in text
    assert "NOT verified clean" in text
    assert "Every check of the game day passed" not in text
    assert "Error budget burned" not in text  # no SLO measured: not invented
    assert "Failed requests (Prometheus): not measured" in text
