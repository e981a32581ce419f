"""A typed, read-only view of `results.json`, the one input of every derived report form.

JUnit XML and the HTML report are built from this model, never from the live run objects, so
`results.json` alone is enough to rebuild them (`wrkh report html RUN_DIR`). Unknown fields are
ignored: a newer results.json with added fields still loads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import ReportError

SLO_KIND_PREFIX = "slo_"
# Alert check kinds whose time is measured from the fault's end (the others from its start).
RESOLVE_KINDS = frozenset({"alert_resolves", "alert_resolves_under_mitigation"})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PhasesView(_Model):
    load_start: datetime | None = None
    baseline_start: datetime | None = None
    baseline_end: datetime | None = None
    fault_start: datetime | None = None
    fault_end: datetime | None = None
    mitigation_start: datetime | None = None
    end: datetime | None = None

    def offset_s(self, moment: datetime | None) -> float | None:
        """Seconds from the scenario's first moment (load start) to `moment`."""
        if moment is None or self.load_start is None:
            return None
        return (moment - self.load_start).total_seconds()

    @property
    def duration_s(self) -> float | None:
        return self.offset_s(self.end)


class PointSet(_Model):
    labels: dict[str, str] = {}
    points: tuple[tuple[float, float], ...] = ()


class SeriesView(_Model):
    key: str
    title: str
    expr: str
    kind: str
    threshold: float | None = None
    start: datetime | None = None
    end: datetime | None = None
    step_s: float | None = None
    error: str | None = None
    sets: tuple[PointSet, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.sets)


class WarningView(_Model):
    """Something a check saw and let pass (e.g. a pending blip in a healthy baseline)."""

    kind: str
    message: str
    alert: str | None = None
    at: datetime | None = None
    offset_s: float | None = None
    duration_s: float | None = None


class CheckView(_Model):
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
    window: str | None = None
    warnings: tuple[WarningView, ...] = ()

    @property
    def label(self) -> str:
        """`kind` plus what it is about, e.g. `alert_fires [ApiHigh5xxRate]`."""
        return f"{self.kind} [{self.subject}]" if self.subject else self.kind

    @property
    def subject(self) -> str | None:
        """What the check is about (alert, SLO, error code...): the id's part after the kind."""
        parts = self.id.split("::", 2)
        return parts[2] if len(parts) == 3 else self.alert

    @property
    def measured_over_floor(self) -> float | None:
        """Time to firing beyond the alert's scaled `for` (it cannot fire sooner)."""
        if self.time_to_firing_s is None or self.floor_s is None:
            return None
        return round(self.time_to_firing_s - self.floor_s, 3)

    @property
    def measured_s(self) -> float | None:
        """The time this check judged, when it judged one."""
        if self.kind == "alert_fires":
            return self.time_to_firing_s
        if self.kind == "alert_delivered":
            return self.time_to_notification_s
        if self.kind in RESOLVE_KINDS:
            return self.time_to_resolved_s
        return None


class ScenarioView(_Model):
    name: str
    passed: bool
    phases: PhasesView
    series: tuple[SeriesView, ...] = ()
    notes: tuple[str, ...] = ()


class SummaryView(_Model):
    checks: int
    passed: int
    failed: int
    warnings: int = 0


class StackView(_Model):
    cold_start_s: float | None = None


class RunView(_Model):
    schema_version: int
    run_id: str
    target: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    passed: bool
    time_scale: float
    stack: StackView = StackView()
    summary: SummaryView
    errors: tuple[str, ...] = ()
    scenarios: tuple[ScenarioView, ...] = ()
    checks: tuple[CheckView, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunView:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ReportError(f"results are not in the expected shape: {exc}") from exc

    def checks_of(self, scenario: str) -> list[CheckView]:
        return [c for c in self.checks if c.scenario == scenario]

    @property
    def failed_checks(self) -> list[CheckView]:
        return [c for c in self.checks if not c.passed]

    @property
    def warned_checks(self) -> list[CheckView]:
        return [c for c in self.checks if c.warnings]

    @property
    def slo_checks(self) -> list[CheckView]:
        return [c for c in self.checks if c.kind.startswith(SLO_KIND_PREFIX)]

    @property
    def firing_checks(self) -> list[CheckView]:
        """Every `alert_fires` check: the time-to-alert chart has one bar per check."""
        return [c for c in self.checks if c.kind == "alert_fires"]
