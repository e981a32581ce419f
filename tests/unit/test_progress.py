"""Live progress: alert views with their countdowns, one refreshed line on a TTY, state-change
lines elsewhere, and the Alertmanager-API delivery records the tracker reads."""

from __future__ import annotations

import io

import pytest

from harness.observe.alertmanager import HeldAlertDiff, parse_held_alert
from harness.run.faults import ActiveFault, Outage
from harness.run.progress import (
    AlertTracker,
    AlertView,
    FaultWindow,
    LiveProgress,
    WatchedAlert,
    alert_view,
    render_status,
)

ALERT = WatchedAlert("ApiHigh5xxRate", budget_s=12.5, resolve_budget_s=8.0)


def _view(state: str, window: FaultWindow, now: float, **kw: bool) -> AlertView:
    return alert_view(ALERT, state, notified=kw.get("notified", False),
                      resolved=kw.get("resolved", False), window=window, now=now)  # fmt: skip


def test_the_countdown_runs_to_the_budget_until_the_alert_fires() -> None:
    assert _view("inactive", FaultWindow(), 5.0) == AlertView("ApiHigh5xxRate", "inactive", None)
    during = FaultWindow(start=100.0)
    assert _view("pending", during, 104.0).seconds_left == 8.5
    assert _view("pending", during, 115.0).seconds_left == -2.5  # over budget
    assert _view("firing", during, 110.0) == AlertView("ApiHigh5xxRate", "firing", None)
    assert _view("firing", during, 110.0, notified=True).state == "notified"


def test_after_the_fault_the_countdown_runs_to_the_resolve_budget() -> None:
    after = FaultWindow(start=100.0, end=120.0)
    assert _view("firing", after, 123.0).seconds_left == 5.0
    assert _view("inactive", after, 126.0, resolved=True) == AlertView(
        "ApiHigh5xxRate", "resolved", None
    )


def test_the_status_line_is_compact_and_says_over_budget() -> None:
    views = [AlertView("A", "pending", 3.21), AlertView("B", "firing", None),
             AlertView("C", "inactive", -1.0)]  # fmt: skip
    line = render_status("outage", "fault platform-down", views)
    assert line == (
        "[outage] fault platform-down | A pending 3.2 s left · B firing · "
        "C inactive 1.0 s over budget"
    )
    assert "\n" not in line


class States:
    def __init__(self) -> None:
        self.now: dict[str, str] = {}

    def current(self) -> dict[str, str]:
        return dict(self.now)


class Deliveries:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def first(self, alertname: str, status: str, since: float) -> object | None:
        return True if (alertname, status) in self.seen else None


class Faults:
    def __init__(self) -> None:
        self.active: tuple[ActiveFault, ...] = ()


def _live(tty: bool) -> tuple[LiveProgress, io.StringIO, States, Deliveries, Faults, list[float]]:
    out, clock = io.StringIO(), [1000.0]
    live = LiveProgress(out, tty=tty, tick_s=60, clock=lambda: clock[0])
    states, deliveries, faults = States(), Deliveries(), Faults()
    live.track(AlertTracker("outage", [ALERT], states, deliveries, faults))
    return live, out, states, deliveries, faults, clock


def test_not_a_tty_phase_lines_keep_their_form_and_each_change_is_one_line() -> None:
    live, out, states, deliveries, faults, clock = _live(tty=False)
    live("[outage] warm-up 5.0 s under load")
    live.refresh()
    live.refresh()  # nothing changed: no new line
    faults.active = (ActiveFault(Outage("down", "wrk_platform"), 1000.0),)
    states.now = {"ApiHigh5xxRate": "pending"}
    clock[0] = 1004.0
    live.refresh()
    states.now = {"ApiHigh5xxRate": "firing"}
    deliveries.seen.add(("ApiHigh5xxRate", "firing"))
    live.refresh()
    live.untrack()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0].startswith("[wrkh ") and lines[0].endswith(
        "] [outage] warm-up 5.0 s under load"
    )
    assert [ln.split("] ", 1)[1] for ln in lines[1:]] == [
        "[outage] ApiHigh5xxRate: inactive",
        "[outage] ApiHigh5xxRate: pending 8.5 s left",
        "[outage] ApiHigh5xxRate: notified",
    ]


def test_on_a_tty_the_status_is_one_line_refreshed_in_place() -> None:
    live, out, states, _, faults, clock = _live(tty=True)
    live("[outage] fault down: outage of proxy wrk_platform")
    faults.active = (ActiveFault(Outage("down", "wrk_platform"), 1000.0),)
    states.now = {"ApiHigh5xxRate": "pending"}
    clock[0] = 1002.0
    live.refresh()
    live.refresh()
    live("[outage] fault removed; waiting for recovery")
    live.untrack()
    text = out.getvalue()
    assert text.count("\n") == 2  # only the two phase banners end a line
    assert "\r\x1b[K[outage] fault down: outage of proxy wrk_platform | ApiHigh5xxRate " \
           "pending 10.5 s left" in text  # fmt: skip
    assert "\r\x1b[K[wrkh" in text  # the status line is cleared before a banner


def test_alertmanager_polls_become_firing_then_resolved_records() -> None:
    raw = {"fingerprint": "f1", "labels": {"alertname": "ApiHigh5xxRate", "severity": "SEV-2"},
           "receivers": [{"name": "oncall"}], "startsAt": "s", "endsAt": "e"}  # fmt: skip
    held = parse_held_alert(raw)
    assert (held.name, held.receivers) == ("ApiHigh5xxRate", ("oncall",))
    diff = HeldAlertDiff()
    first = diff.update([held], 10.0)
    assert [(n.status, n.receiver, n.received_at) for n in first] == [("firing", "oncall", 10.0)]
    assert diff.update([held], 11.0) == []  # still held: nothing new
    gone = diff.update([], 12.0)
    assert [(n.status, n.alerts[0].name) for n in gone] == [("resolved", "ApiHigh5xxRate")]
    assert gone[0].mentions("ApiHigh5xxRate", "resolved")


def test_without_a_stream_it_writes_to_whatever_stderr_is_now(
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = LiveProgress(tty=False)
    live("[s] baseline")
    assert capsys.readouterr().err.endswith("] [s] baseline\n")
