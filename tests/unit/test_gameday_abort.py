"""Abort conditions: each one holds and does not hold; the monitor stops the main thread."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from harness.errors import ObserveError
from harness.gameday.abort import AbortPolicy, FiringAlert, unexpected_severe
from harness.gameday.budget import BudgetBurn, BudgetMeter, burned_percent
from harness.gameday.config import AbortOn, BudgetBurnLimit
from harness.gameday.monitor import AbortMonitor
from harness.observe.prometheus import ActiveAlert
from harness.spec.alerts import Severity
from harness.spec.catalog import load_catalog
from harness.spec.slo import AvailabilitySlo

ROOT = Path(__file__).resolve().parents[2]
LIMIT = AbortOn(
    unexpected_severity=Severity.SEV_1,
    error_budget_burned=BudgetBurnLimit(slo="studio-api-availability", max_percent=5),
)


def _slo() -> AvailabilitySlo:
    slo = load_catalog(ROOT / "scenarios" / "catalog").slo("studio-api-availability")
    assert isinstance(slo, AvailabilitySlo)
    return slo


def _burn(percent: float | None) -> BudgetBurn:
    return BudgetBurn("studio-api-availability", 1000, 100, 60, percent)


def test_an_unexpected_sev1_alert_aborts_an_expected_or_milder_one_does_not() -> None:
    policy = AbortPolicy(LIMIT, frozenset({"StudioApiErrorBudgetFastBurn"}))
    assert policy.reason([FiringAlert("StudioApiErrorBudgetFastBurn", "SEV-1")], None) is None
    assert policy.reason([FiringAlert("ApiHigh5xxRate", "SEV-2")], None) is None
    assert policy.reason([FiringAlert("NoSeverity", None)], None) is None
    reason = policy.reason([FiringAlert("DbDown", "SEV-1")], None)
    assert reason == "unexpected SEV-1 or worse alert firing: DbDown (SEV-1)"


def test_a_stated_severity_includes_worse_ones() -> None:
    firing = [FiringAlert("A", "SEV-1"), FiringAlert("B", "SEV-2"), FiringAlert("C", "SEV-3")]
    found = unexpected_severe(firing, expected=[], at_least=Severity.SEV_2)
    assert [a.name for a in found] == ["A", "B"]
    assert unexpected_severe(firing, expected=["A", "B"], at_least=Severity.SEV_2) == []


def test_burning_more_than_the_stated_budget_aborts() -> None:
    policy = AbortPolicy(LIMIT, frozenset())
    assert policy.reason([], _burn(4.99)) is None
    assert policy.reason([], _burn(5.0)) is None  # at the limit: still within it
    assert policy.reason([], _burn(None)) is None  # no request: nothing burned
    reason = policy.reason([], _burn(5.01))
    assert reason is not None and "burned 5.01% of its error budget (limit 5%)" in reason


def test_no_condition_stated_means_no_abort() -> None:
    policy = AbortPolicy(AbortOn(unexpected_severity=None), frozenset())
    assert policy.reason([FiringAlert("DbDown", "SEV-1")], _burn(99.0)) is None


def test_budget_burned_is_burn_rate_times_the_share_of_the_period() -> None:
    slo = _slo()  # 99.5% over 30 days
    # 10% errors = 20x the budget; for 1 h of a 30-day period: 20 / 720 = 2.78%.
    assert burned_percent(slo, 1000, 100, 3600, 1) == pytest.approx(2.7778, abs=1e-3)
    # The same minute at time scale 60 is a deployed hour.
    assert burned_percent(slo, 1000, 100, 60, 60) == pytest.approx(2.7778, abs=1e-3)
    assert burned_percent(slo, 1000, 0, 3600, 1) == 0
    assert burned_percent(slo, 0, 0, 3600, 1) is None


class FakePrometheus:
    def __init__(self, alerts: list[ActiveAlert], values: dict[str, float]) -> None:
        self._alerts, self._values = alerts, values
        self.queries: list[str] = []
        self.fail = False

    def alerts(self) -> list[ActiveAlert]:
        if self.fail:
            raise ObserveError("prometheus unreachable")
        return self._alerts

    def scalar(self, promql: str, at: float | None = None) -> float | None:
        self.queries.append(promql)
        return self._values["errors" if 'status=~"5.."' in promql else "total"]


def _alert(name: str, severity: str, state: str = "firing") -> ActiveAlert:
    return ActiveAlert(name, state, 0.0, {"alertname": name, "severity": severity})


def test_the_meter_reads_requests_and_failures_since_the_start() -> None:
    prom = FakePrometheus([], {"total": 1000, "errors": 100})
    meter = BudgetMeter(prom, _slo(), since=1000.0, time_scale=1)  # type: ignore[arg-type]
    burn = meter.measure(4600.0)
    assert (burn.total, burn.errors, burn.window_s) == (1000, 100, 3600)
    assert burn.percent == pytest.approx(2.7778, abs=1e-3)
    assert all("[1h]" in q and "or vector(0)" in q for q in prom.queries)


def test_the_monitor_reports_the_first_condition_and_survives_a_blip() -> None:
    prom = FakePrometheus([_alert("DbDown", "SEV-1"), _alert("Pend", "SEV-1", "pending")], {})
    seen: list[str] = []
    policy = AbortPolicy(AbortOn(), frozenset())
    monitor = AbortMonitor(policy, prom, None, interval_s=0.01, on_abort=seen.append)  # type: ignore[arg-type]
    prom.fail = True
    assert monitor.check(time.time()) is None and monitor.errors == ["prometheus unreachable"]
    prom.fail = False
    monitor.start()
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    monitor.stop()
    assert seen == ["unexpected SEV-1 or worse alert firing: DbDown (SEV-1)"]  # not `Pend`
    assert monitor.reason == seen[0]


def test_the_default_abort_interrupts_the_main_thread() -> None:
    # Python's own Ctrl-C handler, whatever an earlier test in this process installed.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    prom = FakePrometheus([_alert("DbDown", "SEV-1")], {})
    monitor = AbortMonitor(AbortPolicy(AbortOn(), frozenset()), prom, None, interval_s=0.01)  # type: ignore[arg-type]
    try:
        with pytest.raises(KeyboardInterrupt):
            monitor.start()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        monitor.stop()
        signal.signal(signal.SIGINT, previous)
    assert monitor.reason is not None and "DbDown" in monitor.reason


def test_the_abort_reason_is_the_condition_that_held_else_the_signal() -> None:
    from harness.errors import Interrupted
    from harness.gameday.run import _interrupt_reason

    monitor = AbortMonitor(AbortPolicy(AbortOn(), frozenset()), FakePrometheus([], {}), None)  # type: ignore[arg-type]
    assert _interrupt_reason(Interrupted(15), monitor) == "interrupted by signal 15"
    assert _interrupt_reason(KeyboardInterrupt(), None) == "interrupted (Ctrl-C)"
    monitor.reason = "unexpected SEV-1 or worse alert firing: DbDown (SEV-1)"
    assert _interrupt_reason(Interrupted(2), monitor) == monitor.reason
