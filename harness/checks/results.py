"""What checks produce and the runner collects: one `Check` per verdict, a `ScenarioResult`
per scenario with the phase times the checks judged.

Checks and the runner both import this module; no check imports the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.load.runner import LoadResult
from harness.observe.series import CapturedSeries


@dataclass(frozen=True)
class CheckWarning:
    """Something a check saw and let pass: listed beside its verdict in every report form."""

    kind: str  # pending_blip: an alert pending in a healthy baseline, too briefly to fail it
    message: str
    alert: str | None = None
    at: float | None = None  # unix seconds it began
    offset_s: float | None = None  # seconds from the scenario's load start
    duration_s: float | None = None


@dataclass(frozen=True)
class Check:
    """One verdict. Alert checks also carry the alert's measured lifecycle and its budget."""

    id: str
    kind: str
    scenario: str
    passed: bool
    message: str
    alert: str | None = None
    time_to_pending_s: float | None = None
    time_to_firing_s: float | None = None
    time_to_notification_s: float | None = None
    time_to_resolved_s: float | None = None
    budget_s: float | None = None
    floor_s: float | None = None
    # The scenario window an SLO check judged: baseline | fault | load.
    window: str | None = None
    warnings: tuple[CheckWarning, ...] = ()

    @classmethod
    def of(cls, scenario: str, kind: str, passed: bool, message: str, detail: str = "") -> Check:
        """A check with the usual id, `<scenario>::<kind>[::<detail>]`."""
        check_id = f"{scenario}::{kind}" + (f"::{detail}" if detail else "")
        return cls(id=check_id, kind=kind, scenario=scenario, passed=passed, message=message)


@dataclass(frozen=True)
class PhaseTimes:
    """Unix timestamps of a scenario's phase boundaries, for checks, reports and plots."""

    load_start: float
    baseline_start: float
    baseline_end: float
    fault_start: float | None
    fault_end: float | None
    end: float
    mitigation_start: float | None = None  # the mitigation was applied (faults still on)


@dataclass
class ScenarioResult:
    scenario: str
    checks: list[Check]
    phases: PhaseTimes
    load: LoadResult | None
    quiet_watched: tuple[str, ...] = ()  # alerts the baseline check watched
    notes: list[str] = field(default_factory=list)
    series: list[CapturedSeries] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)
