"""How much of an SLO's error budget a game day burned, measured in Prometheus.

The budget of a period is `error_budget x requests in the period`. Without knowing the
period's traffic, the share burned in `elapsed` seconds is the burn rate times the share of
the period that elapsed: (error ratio / error budget) x elapsed / period. The period is the
deployed one, so it is divided by the time scale the deployed rules use.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ObserveError
from harness.observe.prometheus import PrometheusClient
from harness.spec.slo import AvailabilitySlo


@dataclass(frozen=True)
class BudgetBurn:
    slo: str
    total: float  # requests in the window (Prometheus)
    errors: float  # failed ones
    window_s: float
    percent: float | None  # of the period's error budget; None without any request


def burned_percent(
    slo: AvailabilitySlo, total: float, errors: float, window_s: float, time_scale: float
) -> float | None:
    if total <= 0:
        return None
    burn_rate = (errors / total) / slo.error_budget
    period_s = slo.period_s / time_scale
    return round(100.0 * burn_rate * window_s / period_s, 4)


class BudgetMeter:
    """Measures the burn from `since` to now, on demand."""

    def __init__(
        self, prometheus: PrometheusClient, slo: AvailabilitySlo, since: float, time_scale: float
    ) -> None:
        self._prom, self.slo, self.since, self._scale = prometheus, slo, since, time_scale

    def measure(self, now: float) -> BudgetBurn:
        window = max(1.0, float(round(now - self.since)))
        total = self._value(self.slo.total_at(window), now)
        errors = self._value(self.slo.errors_at(window), now)
        percent = burned_percent(self.slo, total, errors, window, self._scale)
        return BudgetBurn(self.slo.name, total, errors, window, percent)

    def _value(self, promql: str, at: float) -> float:
        value = self._prom.scalar(f"({promql}) or vector(0)", at)
        if value is None:
            raise ObserveError(f"no value for {promql}")
        return value
