"""A postmortem draft following spec §6.2 step 6: what happened, why, impact, remediation,
follow-ups. Measured facts are filled in; what only people know is a marked placeholder."""

from __future__ import annotations

from harness.gameday.timeline import Kind, Timeline, clock, seconds

PLACEHOLDER = "**[TO FILL]**"


def todo(what: str) -> str:
    return f"{PLACEHOLDER} _{what}_"


def render_postmortem(t: Timeline) -> str:
    sections = [
        _header(t),
        _what_happened(t),
        _why(t),
        _impact(t),
        _remediation(t),
        _follow_ups(t),
    ]
    return "\n\n".join(sections) + "\n"


def _header(t: Timeline) -> str:
    return "\n".join(
        [
            f"# Postmortem (draft): game day {t.gameday_id} — {t.scenario}",
            "",
            f"- Date (UTC): {clock(t.started_at)} to {clock(t.ended_at)}",
            f"- Target: `{t.target}`",
            f"- Outcome: {t.outcome}" + (f" ({t.abort_reason})" if t.abort_reason else ""),
            f"- Severity (spec §6.1): {todo('SEV-1 / SEV-2 / SEV-3, and why')}",
            f"- Authors: {todo('names')}",
            "",
            f"Measured facts come from the game day's timeline (timeline.json); every "
            f"{PLACEHOLDER} needs a person.",
        ]
    )


def _what_happened(t: Timeline) -> str:
    m = t.measures
    lines = ["## What happened", ""]
    for e in t.ordered:
        if e.kind in (Kind.FAULT_APPLIED, Kind.FAULT_REMOVED, Kind.MITIGATION, Kind.ABORT):
            lines.append(f"- {clock(e.at)} {e.kind.value}: {e.subject} {e.detail}".rstrip())
        elif e.kind in (Kind.FIRING, Kind.NOTIFIED, Kind.RESOLVED) and e.subject in t.expected:
            lines.append(f"- {clock(e.at)} {e.subject} {e.kind.value.removeprefix('alert ')}")
    lines += [
        "",
        f"- Time to detect (MTTD): {seconds(m.time_to_detect_s)}"
        + (f", by {m.detected_by}" if m.detected_by else ""),
        f"- Time to notify: {seconds(m.time_to_notify_s)}",
        f"- Time to mitigate: {seconds(m.time_to_mitigate_s)}",
        f"- Time to recover (MTTR): {seconds(m.time_to_recover_s)}",
        f"- On-call acknowledged at: {todo('time the page was acknowledged')}",
    ]
    return "\n".join(lines)


def _why(t: Timeline) -> str:
    faults = "; ".join(t.faults) or "no fault was injected"
    return "\n".join(
        [
            "## Why",
            "",
            f"Injected on purpose for the game day: {faults}.",
            "",
            f"Root cause as the system experienced it: {todo('how the fault propagated')}",
        ]
    )


def _impact(t: Timeline) -> str:
    i = t.impact
    lines = ["## Impact", ""]
    if i.slo is not None:
        burned = "not measured" if i.budget_burned_percent is None else (
            f"{i.budget_burned_percent:.2f}% of the period's error budget"
        )  # fmt: skip
        lines.append(f"- Error budget burned ({i.slo}): {burned}")
    lines += [
        f"- Failed requests (Prometheus): {_count(i.failed_requests_prometheus)} of "
        f"{_count(i.requests_prometheus)}",
        f"- Failed requests (load generator): {_count(i.failed_requests_locust)} of "
        f"{_count(i.requests_locust)}",
        f"- Tenants, routes and features affected: {todo('blast radius (spec §6.2 triage)')}",
    ]
    return "\n".join(lines)


def _remediation(t: Timeline) -> str:
    lines = ["## Remediation", ""]
    taken = [e for e in t.ordered if e.kind in (Kind.MITIGATION, Kind.FAULT_REMOVED)]
    lines += [f"- {clock(e.at)} {e.kind.value}: {e.subject} {e.detail}".rstrip() for e in taken]
    if t.rollback_verified is not None:
        state = "verified clean" if t.rollback_verified else "NOT verified clean"
        lines.append(f"- Every fault rolled back; Toxiproxy {state}")
    lines.append(f"- Communication (status channel, status page): {todo('what was sent when')}")
    return "\n".join(lines)


def _follow_ups(t: Timeline) -> str:
    lines = ["## Follow-ups", ""]
    failed = [c for c in t.checks if not c.passed]
    lines += [f"- [ ] {c.kind}: {c.message}" for c in failed]
    if t.abort_reason:
        lines.append(f"- [ ] The game day was aborted ({t.abort_reason}); repeat it once fixed")
    if t.abort_reason is None and t.measures.time_to_detect_s is None and t.expected:
        lines.append(f"- [ ] No expected alert ({', '.join(t.expected)}) fired: find out why")
    if len(lines) == 2:
        lines.append("- Every check of the game day passed; nothing measured calls for action")
    lines.append(f"- [ ] {todo('actions, owners and due dates')}")
    return "\n".join(lines)


def _count(value: float | int | None) -> str:
    return "not measured" if value is None else f"{value:.0f}"
