"""Each verdict passes on good evidence and fails, with a readable message, on bad."""

from __future__ import annotations

import dataclasses

from harness.checks.alerts import (
    AlertLifecycle,
    delivered_to_receiver,
    fires_within_budget,
    only_expected_fired,
    resolves_within_budget,
)
from harness.spec.timescale import AlertBudget

BUDGET = AlertBudget(floor_s=5.0, budget_s=11.0, resolve_budget_s=6.0)
GOOD = AlertLifecycle(
    alert="ApiHigh5xxRate",
    budget=BUDGET,
    expected_receiver="oncall",
    time_to_pending_s=0.6,
    time_to_firing_s=5.6,
    time_to_notification_s=5.7,
    notified_receiver="oncall",
    time_to_resolved_s=5.1,
    time_to_resolved_notification_s=5.2,
    waited_for_firing_s=6.0,
    waited_for_resolve_s=5.3,
)


def test_fires_passes_within_budget_and_carries_timings() -> None:
    check = fires_within_budget("s", GOOD)
    assert check.passed
    assert (check.time_to_firing_s, check.budget_s, check.floor_s) == (5.6, 11.0, 5.0)
    assert check.id == "s::alert_fires::ApiHigh5xxRate"


def test_fires_fails_when_never_fired_and_says_what_was_seen() -> None:
    lc = dataclasses.replace(GOOD, time_to_pending_s=None, time_to_firing_s=None)
    check = fires_within_budget("s", lc)
    assert not check.passed
    assert "expected ApiHigh5xxRate firing within 11.00 s" in check.message
    assert "never went pending" in check.message


def test_fires_fails_when_late() -> None:
    check = fires_within_budget("s", dataclasses.replace(GOOD, time_to_firing_s=11.5))
    assert not check.passed
    assert "over its budget" in check.message


def test_delivery_fails_on_wrong_receiver_or_missing() -> None:
    assert delivered_to_receiver("s", GOOD).passed
    wrong = delivered_to_receiver("s", dataclasses.replace(GOOD, notified_receiver="security"))
    assert not wrong.passed
    assert "'security'" in wrong.message
    assert "expected 'oncall'" in wrong.message
    missing = dataclasses.replace(GOOD, time_to_notification_s=None, notified_receiver=None)
    assert "none arrived" in delivered_to_receiver("s", missing).message


def test_resolve_fails_when_still_active_or_unnotified() -> None:
    assert resolves_within_budget("s", GOOD).passed
    stuck = dataclasses.replace(GOOD, time_to_resolved_s=None)
    assert "still active" in resolves_within_budget("s", stuck).message
    silent = dataclasses.replace(GOOD, time_to_resolved_notification_s=None)
    assert not resolves_within_budget("s", silent).passed


def test_stray_alert_during_fault_fails_and_allowed_ones_pass() -> None:
    assert only_expected_fired("s", ["A"], {"A": ["firing"], "B": ["pending"]}, 5.0).passed
    stray = only_expected_fired("s", ["A"], {"C": ["pending", "firing"]}, 5.0)
    assert not stray.passed
    assert "unexpected alert(s) fired during the fault: C" in stray.message
