"""log_fields (spec §2.1): every log line of the judged services is JSON with the fields the
spec requires (timestamp, level, request_id, tenant_id/user_id, error_code where due)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from harness.checks.results import Check
from harness.checks.wording import sample, service_list
from harness.observe.logs import LogEvent, LogStore, UnparsedLine

SPEC_LEVELS = frozenset({"DEBUG", "INFO", "WARN", "ERROR"})


class Violation(StrEnum):
    """Rules of §2.1, as the message names them (plural form)."""

    NOT_JSON = "line(s) not a JSON object"
    TIMESTAMP = "event(s) without an RFC3339 timestamp"
    LEVEL = "event(s) whose level is not DEBUG/INFO/WARN/ERROR"
    REQUEST_ID = "request/job event(s) without request_id"
    IDENTITY = "authenticated request event(s) without tenant_id and user_id"
    ERROR_CODE = "error event(s) without error_code"


@dataclass(frozen=True)
class LogFieldRules:
    """What §2.1 demands of a log event, with the API's shape as parameters."""

    levels: frozenset[str] = SPEC_LEVELS
    api_prefix: str = "/v1/"
    # A request refused for lack of valid credentials has no tenant or user to log.
    unauthenticated_statuses: frozenset[int] = frozenset({401})
    # Signed machine-to-machine routes: no user drives them, so no user_id is demanded.
    machine_routes: tuple[str, ...] = ("/v1/webhooks/",)
    # Access log lines with this status or above are errors and must name an error code.
    error_status_min: int = 400


DEFAULT_LOG_RULES = LogFieldRules()


@dataclass
class _Tally:
    """Violations of one service: counts per rule and the first offending line of each."""

    lines: int = 0
    counts: Counter[Violation] = field(default_factory=Counter)
    samples: dict[Violation, str] = field(default_factory=dict)

    def add(self, rule: Violation, raw: str) -> None:
        self.counts[rule] += 1
        self.samples.setdefault(rule, sample(raw))

    def describe(self) -> str:
        return "; ".join(
            f"{n} {rule.value} (e.g. {self.samples[rule]})" for rule, n in self.counts.items()
        )


def _request_statuses(events: Iterable[LogEvent]) -> dict[tuple[str, str], int]:
    """(service, request_id) -> the status its access log line recorded."""
    return {
        (e.service, e.request_id): e.status
        for e in events
        if e.request_id is not None and e.status is not None
    }


def event_violations(
    event: LogEvent, rules: LogFieldRules, request_status: int | None
) -> list[Violation]:
    """Every §2.1 rule `event` breaks; `request_status` is its request's status, if known."""
    found: list[Violation] = []
    if event.timestamp is None:
        found.append(Violation.TIMESTAMP)
    if event.level not in rules.levels:
        found.append(Violation.LEVEL)
    if (event.route is not None or event.job_type is not None) and event.request_id is None:
        found.append(Violation.REQUEST_ID)
    if _needs_identity(event, rules, request_status) and not (event.tenant_id and event.user_id):
        found.append(Violation.IDENTITY)
    if _is_error(event, rules) and event.error_code is None:
        found.append(Violation.ERROR_CODE)
    return found


def _needs_identity(event: LogEvent, rules: LogFieldRules, request_status: int | None) -> bool:
    route = event.route
    if route is None or not route.startswith(rules.api_prefix):
        return False
    if any(route.startswith(prefix) for prefix in rules.machine_routes):
        return False
    status = event.status if event.status is not None else request_status
    # Unknown status (the request had not finished inside the window): not judged.
    return status is not None and status not in rules.unauthenticated_statuses


def _is_error(event: LogEvent, rules: LogFieldRules) -> bool:
    status_error = event.status is not None and event.status >= rules.error_status_min
    return status_error or event.level == "ERROR"


def log_fields(
    scenario: str,
    logs: LogStore,
    services: Sequence[str],
    *,
    since: float,
    until: float,
    rules: LogFieldRules = DEFAULT_LOG_RULES,
) -> Check:
    """Every log line of `services` in [since, until] is JSON with the fields §2.1 requires."""
    records = list(logs.records(since, until, services))
    events = [r for r in records if isinstance(r, LogEvent)]
    statuses = _request_statuses(events)
    tallies = {name: _Tally() for name in services}
    for record in records:
        tally = tallies[record.service]
        tally.lines += 1
        if isinstance(record, UnparsedLine):
            tally.add(Violation.NOT_JSON, record.raw)
            continue
        status = statuses.get((record.service, record.request_id or ""))
        for rule in event_violations(record, rules, status):
            tally.add(rule, record.raw)
    window = f"the {until - since:.1f} s window"
    silent = [name for name, t in tallies.items() if t.lines == 0]
    bad = {name: t for name, t in tallies.items() if t.counts}
    if not silent and not bad:
        per = ", ".join(f"{name} ({t.lines})" for name, t in tallies.items())
        msg = (
            f"{len(records)} log lines of {per} in {window}: all JSON with the fields §2.1 requires"
        )
        return Check.of(scenario, "log_fields", True, msg)
    parts = [f"{name}: no log line at all" for name in silent]
    parts += [f"{name}: {t.describe()}" for name, t in bad.items()]
    msg = (
        f"expected every log line of {service_list(services)} in {window} to be JSON with "
        f"timestamp, level, request_id, tenant_id/user_id and error_code where required; "
        + " | ".join(parts)
    )
    return Check.of(scenario, "log_fields", False, msg)
