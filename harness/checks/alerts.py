"""Alert checks: an alert's measured lifecycle in, typed pass/fail results with readable
messages out.

Every check here can fail; each message says what was expected and what was seen.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from harness.checks.results import Check
from harness.spec.timescale import AlertBudget


@dataclass(frozen=True)
class AlertLifecycle:
    """One alert's lifecycle in one scenario; times from fault start (resolve: from fault end)."""

    alert: str
    budget: AlertBudget
    expected_receiver: str
    time_to_pending_s: float | None
    time_to_firing_s: float | None
    time_to_notification_s: float | None
    notified_receiver: str | None
    time_to_resolved_s: float | None
    time_to_resolved_notification_s: float | None
    waited_for_firing_s: float
    waited_for_resolve_s: float | None
    # From routing.yaml (the spec), not from the catalogue that generated the routing.
    expected_severity: str | None = None
    notified_severity: str | None = None  # the `severity` label of the delivered alert

    def check(self, kind: str, scenario: str, passed: bool, message: str) -> Check:
        return Check(
            id=f"{scenario}::{kind}::{self.alert}",
            kind=kind,
            scenario=scenario,
            passed=passed,
            message=message,
            alert=self.alert,
            time_to_pending_s=self.time_to_pending_s,
            time_to_firing_s=self.time_to_firing_s,
            time_to_notification_s=self.time_to_notification_s,
            time_to_resolved_s=self.time_to_resolved_s,
            budget_s=self.budget.budget_s,
            floor_s=self.budget.floor_s,
        )


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def fires_within_budget(scenario: str, lc: AlertLifecycle) -> Check:
    b = lc.budget
    if lc.time_to_firing_s is None:
        pending = (
            f"it went pending after {_s(lc.time_to_pending_s)} but never fired"
            if lc.time_to_pending_s is not None
            else "it never went pending"
        )
        msg = (
            f"expected {lc.alert} firing within {b.budget_s:.2f} s of the fault; "
            f"{pending} (watched {lc.waited_for_firing_s:.1f} s)"
        )
        return lc.check("alert_fires", scenario, False, msg)
    ok = lc.time_to_firing_s <= b.budget_s
    verdict = "within" if ok else "over"
    msg = (
        f"{lc.alert} fired {_s(lc.time_to_firing_s)} after the fault began, {verdict} its "
        f"budget of {b.budget_s:.2f} s (floor {b.floor_s:.2f} s, pending at "
        f"{_s(lc.time_to_pending_s)})"
    )
    return lc.check("alert_fires", scenario, ok, msg)


def delivered_to_receiver(scenario: str, lc: AlertLifecycle) -> Check:
    """Delivered in budget to the receiver, and with the severity, the spec's table names."""
    want, b = lc.expected_receiver, lc.budget
    if lc.time_to_notification_s is None:
        msg = (
            f"expected a firing notification of {lc.alert} at receiver {want!r} within "
            f"{b.budget_s:.2f} s; none arrived"
        )
        return lc.check("alert_delivered", scenario, False, msg)
    severity_ok = lc.expected_severity in (None, lc.notified_severity)
    ok = lc.notified_receiver == want and severity_ok and lc.time_to_notification_s <= b.budget_s
    severity = (
        ""
        if lc.expected_severity is None
        else f" with severity {lc.notified_severity!r} (expected {lc.expected_severity!r})"
    )
    msg = (
        f"{lc.alert} notified to receiver {lc.notified_receiver!r}{severity} "
        f"{_s(lc.time_to_notification_s)} after the fault (expected {want!r} within "
        f"{b.budget_s:.2f} s)"
    )
    return lc.check("alert_delivered", scenario, ok, msg)


def resolves_within_budget(scenario: str, lc: AlertLifecycle) -> Check:
    limit = lc.budget.resolve_budget_s
    if lc.time_to_resolved_s is None:
        waited = lc.waited_for_resolve_s or 0.0
        msg = (
            f"expected {lc.alert} to resolve within {limit:.2f} s of the fault ending; "
            f"it was still active after {waited:.1f} s"
            if lc.time_to_firing_s is not None
            else f"{lc.alert} cannot resolve: it never fired"
        )
        return lc.check("alert_resolves", scenario, False, msg)
    note = lc.time_to_resolved_notification_s
    ok = lc.time_to_resolved_s <= limit and note is not None
    msg = (
        f"{lc.alert} resolved {_s(lc.time_to_resolved_s)} after the fault ended "
        f"(budget {limit:.2f} s); resolved notification after {_s(note)}"
    )
    return lc.check("alert_resolves", scenario, ok, msg)


def only_expected_fired(
    scenario: str, allowed: list[str], active: dict[str, list[str]], window_s: float
) -> Check:
    """During the fault and recovery, nothing fired that the scenario did not expect."""
    stray = sorted(n for n, states in active.items() if "firing" in states and n not in allowed)
    ok = not stray
    msg = (
        f"no alert outside {sorted(allowed) or 'none'} fired in the {window_s:.1f} s fault window"
        if ok
        else f"unexpected alert(s) fired during the fault: {', '.join(stray)} "
        f"(expected only {sorted(allowed) or 'none'})"
    )
    return Check(
        id=f"{scenario}::no_unexpected_alerts",
        kind="no_unexpected_alerts",
        scenario=scenario,
        passed=ok,
        message=msg,
    )


def resolves_under_mitigation(scenario: str, alert: str, lc: AlertLifecycle | None) -> Check:
    """Spec §6.2: the mitigation alone, faults still active, brings the alert back to quiet."""
    kind = "alert_resolves_under_mitigation"
    if lc is None:
        return Check(
            id=f"{scenario}::{kind}::{alert}",
            kind=kind,
            scenario=scenario,
            passed=False,
            message=f"expected {alert} to resolve under the mitigation; the mitigation was "
            "never applied because its trigger alerts did not fire",
            alert=alert,
        )
    check = resolves_within_budget(scenario, lc)
    message = check.message.replace("after the fault ended", "after the mitigation")
    message = message.replace("of the fault ending", "of the mitigation")
    return dataclasses.replace(
        check, id=f"{scenario}::{kind}::{lc.alert}", kind=kind, message=message
    )
