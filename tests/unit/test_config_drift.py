"""config_drift, the suite's verdict on what the target runs."""

from __future__ import annotations

from harness.checks.config_drift import config_drift
from harness.errors import ObserveError


def test_no_difference_passes() -> None:
    check = config_drift("s", lambda: [])
    assert check.passed and check.id == "s::config_drift"


def test_each_difference_is_named() -> None:
    lines = [
        "QueueDepthHigh.for: runs 1s, expected 10s",
        "AuthBruteForce.receiver: runs oncall, expected security",
    ]
    check = config_drift("s", lambda: lines)
    assert not check.passed
    assert "2 difference(s)" in check.message
    assert all(line in check.message for line in lines)


def test_an_unreadable_target_fails() -> None:
    def unreadable() -> list[str]:
        raise ObserveError("alertmanager http://x/api/v2/status: refused")

    check = config_drift("s", unreadable)
    assert not check.passed and "could not be read" in check.message
