"""A game day's timeline: every event with its time, and the incident measures derived from it.

- time to detect (MTTD): fault start -> first expected alert firing (and, separately, notified);
- time to mitigate: fault start -> the mitigation applied, or the fault removed when the
  scenario has no mitigation step (removing the fault is then what mitigates);
- time to recover (MTTR): fault start -> every expected alert that fired has resolved.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    PHASE = "phase"
    FAULT_APPLIED = "fault applied"
    FAULT_REMOVED = "fault removed"
    PENDING = "alert pending"
    FIRING = "alert firing"
    NOTIFIED = "alert notified"
    RESOLVED = "alert resolved"
    RESOLVED_NOTIFIED = "resolution notified"
    MITIGATION = "mitigation"
    ABORT = "abort"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class Event:
    at: float  # unix seconds
    kind: Kind
    subject: str  # alert, fault or phase name
    detail: str = ""


@dataclass(frozen=True)
class Measures:
    fault_start: float | None
    time_to_detect_s: float | None  # MTTD: first expected alert firing
    time_to_notify_s: float | None  # first expected alert notified
    time_to_mitigate_s: float | None
    time_to_recover_s: float | None  # MTTR: every expected alert that fired resolved
    detected_by: str | None


def _first(events: Iterable[Event], kind: Kind, subjects: set[str] | None = None) -> Event | None:
    return next(
        (e for e in events if e.kind is kind and (subjects is None or e.subject in subjects)),
        None,
    )


def _since(origin: float | None, moment: float | None) -> float | None:
    if origin is None or moment is None:
        return None
    return round(max(0.0, moment - origin), 3)


def recovered_at(events: Sequence[Event], expected: set[str], since: float) -> float | None:
    """When the last expected alert that fired after `since` resolved; None if one did not."""
    fired = {e.subject for e in events if e.kind is Kind.FIRING and e.at >= since} & expected
    if not fired:
        return None
    last = 0.0
    for name in fired:
        last_firing = max(e.at for e in events if e.kind is Kind.FIRING and e.subject == name)
        resolved = [
            e.at
            for e in events
            if e.kind is Kind.RESOLVED and e.subject == name and e.at >= last_firing
        ]
        if not resolved:
            return None
        last = max(last, min(resolved))
    return last


def measure(events: Sequence[Event], expected: Iterable[str]) -> Measures:
    ordered = sorted(events, key=lambda e: e.at)
    names = set(expected)
    start = _first(ordered, Kind.FAULT_APPLIED)
    f0 = start.at if start else None
    after = [e for e in ordered if f0 is not None and e.at >= f0]
    firing = _first(after, Kind.FIRING, names)
    notified = _first(after, Kind.NOTIFIED, names)
    mitigated = _first(after, Kind.MITIGATION) or _first(after, Kind.FAULT_REMOVED)
    recovered = recovered_at(after, names, f0) if f0 is not None else None
    return Measures(
        fault_start=f0,
        time_to_detect_s=_since(f0, firing.at if firing else None),
        time_to_notify_s=_since(f0, notified.at if notified else None),
        time_to_mitigate_s=_since(f0, mitigated.at if mitigated else None),
        time_to_recover_s=_since(f0, recovered),
        detected_by=firing.subject if firing else None,
    )


@dataclass(frozen=True)
class Impact:
    slo: str | None = None
    budget_burned_percent: float | None = None
    requests_prometheus: float | None = None
    failed_requests_prometheus: float | None = None
    requests_locust: int | None = None
    failed_requests_locust: int | None = None


@dataclass(frozen=True)
class CheckLine:
    kind: str
    passed: bool
    message: str


@dataclass
class Timeline:
    gameday_id: str
    scenario: str
    target: str
    started_at: float
    expected: tuple[str, ...]  # alerts the scenario expects to fire or resolve
    faults: tuple[str, ...] = ()  # what each fault does, for humans
    events: list[Event] = field(default_factory=list)
    ended_at: float | None = None
    abort_reason: str | None = None
    rollback_verified: bool | None = None
    impact: Impact = field(default_factory=Impact)
    checks: list[CheckLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, kind: Kind, subject: str, detail: str = "", at: float | None = None) -> Event:
        event = Event(at if at is not None else time.time(), kind, subject, detail)
        self.events.append(event)
        return event

    @property
    def ordered(self) -> list[Event]:
        return sorted(self.events, key=lambda e: e.at)

    @property
    def measures(self) -> Measures:
        return measure(self.events, self.expected)

    @property
    def outcome(self) -> str:
        if self.abort_reason is not None:
            return "aborted"
        return "completed" if all(c.passed for c in self.checks) else "completed with failures"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "gameday_id": self.gameday_id,
            "scenario": self.scenario,
            "target": self.target,
            "outcome": self.outcome,
            "abort_reason": self.abort_reason,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "faults": list(self.faults),
            "expected_alerts": list(self.expected),
            "measures": asdict(self.measures),
            "impact": asdict(self.impact),
            "rollback_verified": self.rollback_verified,
            "checks": [asdict(c) for c in self.checks],
            "notes": list(self.notes),
            "events": [
                {"at": e.at, "t_s": self._offset(e), **asdict(e), "kind": e.kind.value}
                for e in self.ordered
            ],
        }

    def _offset(self, e: Event) -> float:
        return round(e.at - self.started_at, 3)


def clock(at: float | None) -> str:
    if at is None:
        return "-"
    return time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"


def seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f} s"


def render_markdown(t: Timeline) -> str:
    m = t.measures
    lines = [
        f"# Game day {t.gameday_id}: {t.scenario}",
        "",
        f"Target `{t.target}`, outcome **{t.outcome}**"
        + (f" — aborted: {t.abort_reason}" if t.abort_reason else "")
        + ".",
        "",
        "| measure | value |",
        "|---|---|",
        f"| fault start | {clock(m.fault_start)} |",
        f"| time to detect (MTTD) | {seconds(m.time_to_detect_s)}"
        + (f" ({m.detected_by})" if m.detected_by else "")
        + " |",
        f"| time to notify | {seconds(m.time_to_notify_s)} |",
        f"| time to mitigate | {seconds(m.time_to_mitigate_s)} |",
        f"| time to recover (MTTR) | {seconds(m.time_to_recover_s)} |",
        f"| rollback verified | {_yes_no(t.rollback_verified)} |",
        "",
        "| time (UTC) | t | event | subject | detail |",
        "|---|---|---|---|---|",
    ]
    for e in t.ordered:
        detail = e.detail.replace("|", "\\|")
        lines.append(
            f"| {clock(e.at)} | +{t._offset(e):.1f} s | {e.kind.value} | {e.subject} | {detail} |"
        )
    if t.checks:
        lines += ["", "Checks of the scenario:", ""]
        lines += [f"- {'ok' if c.passed else 'FAIL'} {c.kind}: {c.message}" for c in t.checks]
    return "\n".join(lines) + "\n"


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "not checked"}[value]
