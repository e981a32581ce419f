"""Evidence checks beyond alerts: log fields, error codes, request-id correlation, traces,
metric presence and secrets (spec §2.1, §2.2, §2.3, §7).

Each function turns what the log, span and Prometheus stores hold into one `Check` (or one
per item) that can fail; every message says what was expected and what was seen, with counts
and one sample, never a secret. Check ids are `<scenario>::<kind>[::<detail>]`.

An empty window never passes: a check that saw no evidence proves nothing, and "no log line
at all" is exactly the failure an instrumentation regression produces.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from harness.checks.alerts import Check
from harness.errors import ObserveError
from harness.observe.logs import LogEvent, LogStore, UnparsedLine
from harness.observe.metrics_presence import InstantQuery, MetricPresence, probe_catalog
from harness.observe.traces import PathResult, SpanStore, TracePath, follow_all
from harness.spec.catalog import Metric

SAMPLE_CHARS = 240
SPEC_LEVELS = frozenset({"DEBUG", "INFO", "WARN", "ERROR"})


def _check(scenario: str, kind: str, passed: bool, message: str, detail: str = "") -> Check:
    check_id = f"{scenario}::{kind}" + (f"::{detail}" if detail else "")
    return Check(id=check_id, kind=kind, scenario=scenario, passed=passed, message=message)


def evidence_unavailable(scenario: str, kind: str, reason: str, detail: str = "") -> Check:
    """A failed check for evidence the target cannot provide (e.g. no readable log directory)."""
    return _check(scenario, kind, False, f"no evidence to judge: {reason}", detail)


def _sample(raw: str) -> str:
    text = raw.strip()
    return text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS] + "…"


def _services(names: Iterable[str]) -> str:
    return ", ".join(names) or "no service"


# -- log_fields (spec §2.1) ---------------------------------------------------------------


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
        self.samples.setdefault(rule, _sample(raw))

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
        return _check(scenario, "log_fields", True, msg)
    parts = [f"{name}: no log line at all" for name in silent]
    parts += [f"{name}: {t.describe()}" for name, t in bad.items()]
    msg = (
        f"expected every log line of {_services(services)} in {window} to be JSON with "
        f"timestamp, level, request_id, tenant_id/user_id and error_code where required; "
        + " | ".join(parts)
    )
    return _check(scenario, "log_fields", False, msg)


# -- log_error_codes (spec §7) ------------------------------------------------------------


def log_error_code(
    scenario: str,
    logs: LogStore,
    code: str,
    *,
    since: float,
    until: float,
    services: Sequence[str] | None = None,
) -> Check:
    """`code` appears in some log event in [since, until] (the fault window)."""
    where = f"the logs of {_services(services)}" if services is not None else "the logs"
    window = f"the {until - since:.1f} s fault window"
    found = logs.by_error_code(code, since, until, services)
    if found:
        first = min(found, key=lambda e: e.at)
        by_service = Counter(e.service for e in found)
        counts = ", ".join(f"{s} x{n}" for s, n in sorted(by_service.items()))
        msg = (
            f"{code} logged {len(found)} time(s) in {window} ({counts}); first by "
            f"{first.service} {first.at - since:.2f} s after it began"
        )
        return _check(scenario, "log_error_codes", True, msg, code)
    seen = logs.error_codes(since, until, services)
    listed = ", ".join(f"{c} x{n}" for c, n in seen.most_common()) or "none at all"
    msg = f"expected error code {code} in {where} during {window}; codes seen then: {listed}"
    return _check(scenario, "log_error_codes", False, msg, code)


def log_error_codes(
    scenario: str,
    logs: LogStore,
    codes: Sequence[str],
    *,
    since: float,
    until: float,
    services: Sequence[str] | None = None,
) -> list[Check]:
    """One check per expected code (each a separate line of the coverage ledger)."""
    return [
        log_error_code(scenario, logs, c, since=since, until=until, services=services)
        for c in codes
    ]


# -- request_id_correlation (spec §2.1, §7) -----------------------------------------------


@dataclass(frozen=True)
class RequestFilter:
    """Which of the first service's requests a hop must have seen."""

    routes: frozenset[str] | None = None  # route templates; None: any
    methods: frozenset[str] | None = None  # None: any
    # Only 2xx: a request that failed enqueued nothing, so a worker never saw it.
    success_only: bool = False

    def accepts(self, event: LogEvent) -> bool:
        if self.routes is not None and event.route not in self.routes:
            return False
        if self.methods is not None and event.method not in self.methods:
            return False
        status = event.status or 0
        return not self.success_only or 200 <= status < 300


@dataclass(frozen=True)
class CorrelationHop:
    """A service after the first one that must log the first service's request ids."""

    service: str
    requests: RequestFilter = RequestFilter()
    min_ratio: float = 1.0


@dataclass(frozen=True)
class ForwardedFilter:
    """Which access log lines of the first service (the edge) were passed on."""

    api_prefix: str = "/v1/"
    # Refused at the edge itself: missing/unknown key, forbidden scope, unknown route, limited.
    refused_statuses: frozenset[int] = frozenset({401, 403, 404, 429})
    # Answered by the edge because core could not be reached: core may never have seen it.
    refused_codes: frozenset[str] = frozenset({"core_unavailable"})
    # Served by the edge itself (its traffic-shaping lever, spec §6.2).
    local_routes: frozenset[str] = frozenset({"/v1/admin/rate-limit"})

    def accepts(self, event: LogEvent) -> bool:
        return (
            event.status is not None
            and event.route is not None
            and event.route.startswith(self.api_prefix)
            and event.route not in self.local_routes
            and event.status not in self.refused_statuses
            and event.error_code not in self.refused_codes
        )


DEFAULT_FORWARDED = ForwardedFilter()


@dataclass(frozen=True)
class HopCorrelation:
    """How many of the requests a hop had to see it logged."""

    hop: CorrelationHop
    expected: int
    found: int
    missing_sample: str | None

    @property
    def ratio(self) -> float:
        return self.found / self.expected if self.expected else 0.0

    @property
    def passed(self) -> bool:
        return self.expected > 0 and self.ratio >= self.hop.min_ratio

    def describe(self, origin: str) -> str:
        need = f"need ≥ {self.hop.min_ratio:.0%}"
        if self.expected == 0:
            return f"{origin}→{self.hop.service}: no request matched its filter ({need})"
        text = (
            f"{origin}→{self.hop.service}: {self.found}/{self.expected} ({self.ratio:.1%}, {need})"
        )
        return text + (
            f", e.g. missing request_id {self.missing_sample}" if self.missing_sample else ""
        )


def _correlate(
    logs: LogStore, origin_events: Sequence[LogEvent], hop: CorrelationHop
) -> HopCorrelation:
    wanted = sorted(
        {e.request_id for e in origin_events if hop.requests.accepts(e) and e.request_id}
    )
    missing = [rid for rid in wanted if not logs.has_request_id(rid, hop.service)]
    sample = missing[0] if missing else None
    return HopCorrelation(hop, len(wanted), len(wanted) - len(missing), sample)


def request_id_correlation(
    scenario: str,
    logs: LogStore,
    chain: Sequence[CorrelationHop],
    *,
    since: float,
    until: float,
    origin: str = "edge",
    forwarded: ForwardedFilter = DEFAULT_FORWARDED,
) -> Check:
    """The request ids of requests `origin` forwarded in [since, until] appear in the logs of
    every hop of `chain` (at any time: a worker may run the job after the window)."""
    if not chain:
        raise ValueError("a correlation chain needs at least one service after the origin")
    detail = ">".join([origin, *(h.service for h in chain)])
    access = [e for e in logs.events(since, until, [origin]) if forwarded.accepts(e)]
    without_id = sum(1 for e in access if e.request_id is None)
    distinct = len({e.request_id for e in access if e.request_id is not None})
    results = [_correlate(logs, access, hop) for hop in chain]
    ok = bool(access) and without_id == 0 and all(r.passed for r in results)
    parts = [r.describe(origin) for r in results]
    if without_id:
        parts.insert(0, f"{without_id} forwarded request(s) at {origin} had no request_id")
    window = f"the {until - since:.1f} s window"
    if not access:
        msg = f"expected forwarded requests at {origin} in {window} to correlate; there were none"
    elif ok:
        msg = f"{distinct} requests forwarded by {origin} in {window}: " + "; ".join(parts)
    else:
        msg = (
            f"expected the request_id of each request forwarded by {origin} in {window} "
            f"in the logs of {_services(h.service for h in chain)}; " + "; ".join(parts)
        )
    return _check(scenario, "request_id_correlation", ok, msg, detail)


# -- trace_continuity (spec §2.3) ---------------------------------------------------------


def _reached_counts(path: TracePath, results: Sequence[PathResult]) -> str:
    return ", ".join(
        f"{sum(1 for r in results if r.reached > i)} reached {hop.name!r}"
        for i, hop in enumerate(path.hops)
    )


def _broken_example(results: Sequence[PathResult]) -> str:
    broken = [(r.trace_id, r.broken_link) for r in results if r.broken_link is not None]
    if not broken:
        return ""
    trace_id, span = broken[0]
    return (
        f"; {len(broken)} trace(s) have a broken parent link, e.g. trace {trace_id}: "
        f"{span.label()} names parent {span.parent_span_id}, which is not in the trace"
    )


def trace_continuity(
    scenario: str,
    spans: SpanStore,
    path: TracePath,
    *,
    since: float,
    until: float,
    min_traces: int = 1,
) -> Check:
    """At least `min_traces` traces with a span starting in [since, until] go through every
    hop of `path` and are one connected tree (every parent in the trace, a single root)."""
    results = follow_all(path, spans.traces(since, until))
    hops = " → ".join(h.name for h in path.hops)
    complete = [r for r in results if r.reached == len(path.hops)]
    good = [r for r in complete if r.connected]
    window = f"the {until - since:.1f} s window"
    if len(good) >= min_traces:
        msg = (
            f"{len(good)} of {len(results)} traces in {window} went {path.description} "
            f"({hops}) in one connected trace, e.g. trace {good[0].trace_id}"
        )
        return _check(scenario, "trace_continuity", True, msg, path.name)
    want = f"expected ≥ {min_traces} connected trace(s) through {hops} ({path.description})"
    if not results:
        msg = f"{want}; no span started in {window} (are spans exported to {spans.span_dir}?)"
    elif complete:
        msg = (
            f"{want}; {len(complete)} trace(s) went through every hop, {len(good)} of them "
            f"one connected trace" + _broken_example(complete) + _roots_example(complete)
        )
    else:
        stuck = path.hops[max((r.reached for r in results), default=0)]
        msg = (
            f"{want}; examined {len(results)} trace(s) in {window}: "
            f"{_reached_counts(path, results)}; missing hop {stuck.name!r} "
            f"({stuck.describe()})" + _broken_example(results)
        )
    return _check(scenario, "trace_continuity", False, msg, path.name)


def _roots_example(results: Sequence[PathResult]) -> str:
    split = [r for r in results if r.broken_link is None and r.roots != 1]
    if not split:
        return ""
    return f"; {len(split)} trace(s) have {split[0].roots} roots, e.g. trace {split[0].trace_id}"


# -- metrics_present (spec §2.2) ----------------------------------------------------------


def _describe_metric(p: MetricPresence) -> str:
    if not p.present:
        return f"{p.metric} (no series {p.series})"
    if p.complete_rows == 0:
        lacking = ", ".join(p.missing_labels) or "all of them together"
        has = ", ".join(p.example_labels) or "no label"
        return (
            f"{p.metric} (needs {', '.join(p.required)}; no series has {lacking}; "
            f"a series has: {has})"
        )
    return f"{p.metric} (not exposed by job(s) {', '.join(p.missing_jobs)})"


def metrics_present(
    scenario: str,
    query: InstantQuery,
    metrics: Mapping[str, Metric],
    *,
    at: float,
    only: Iterable[str] | None = None,
    jobs: Collection[str] | None = None,
) -> Check:
    """Every catalogued metric (or those in `only`) has, at `at`, a series carrying each of
    its required labels, non-empty; with `jobs`, from every listed job that should expose it."""
    try:
        probes = probe_catalog(query, metrics, at, only, jobs)
    except ObserveError as exc:
        return _check(scenario, "metrics_present", False, f"Prometheus could not be read: {exc}")
    failed = [p for p in probes if not p.ok]
    when = time.strftime("%H:%M:%SZ", time.gmtime(at))
    if not failed:
        msg = (
            f"all {len(probes)} catalogued metrics have a series with their required labels "
            f"at {when}"
        )
        return _check(scenario, "metrics_present", True, msg)
    groups = {
        "absent": [p for p in failed if not p.present],
        "missing labels": [p for p in failed if p.present and p.complete_rows == 0],
        "missing jobs": [p for p in failed if p.complete_rows > 0],
    }
    parts = [
        f"{what}: " + "; ".join(_describe_metric(p) for p in found)
        for what, found in groups.items()
        if found
    ]
    msg = (
        f"expected each of {len(probes)} catalogued metrics to have a series with its required "
        f"labels at {when}; {len(failed)} do not. " + " | ".join(parts)
    )
    return _check(scenario, "metrics_present", False, msg)


# -- no_secret_in_logs (spec §2.1) --------------------------------------------------------

MIN_SECRET_CHARS = 4  # shorter values would match ordinary words and ids


@dataclass(frozen=True)
class Secret:
    """A value that must never be logged; `label` names it in messages, the value never is."""

    label: str
    value: str = field(repr=False)

    @property
    def masked(self) -> str:
        digest = hashlib.sha256(self.value.encode()).hexdigest()[:8]
        head = self.value[:3] if len(self.value) >= 12 else ""
        return f"{head}***({len(self.value)} chars, sha256 {digest}…)"

    def forms(self) -> set[str]:
        """The value as it may appear in a line: raw, JSON-escaped, percent-encoded."""
        return {self.value, json.dumps(self.value)[1:-1], quote(self.value, safe="")}


@dataclass(frozen=True)
class Leak:
    secret: Secret
    service: str
    file: Path
    line_no: int
    where: str  # the field or attribute holding it, when known

    def describe(self) -> str:
        at = f" in {self.where}" if self.where else ""
        return (
            f"secret {self.secret.label!r} ({self.secret.masked}) found in {self.service}'s "
            f"{self.file.name} line {self.line_no}{at}"
        )


@dataclass(frozen=True)
class _Text:
    service: str
    file: Path
    line_no: int
    raw: str
    fields: Mapping[str, object]


def _texts(logs: LogStore, spans: SpanStore | None, since: float | None) -> Iterator[_Text]:
    for record in logs.records(since=since):
        fields = record.fields if isinstance(record, LogEvent) else {}
        yield _Text(record.service, record.file, record.line_no, record.raw, fields)
    if spans is None:
        return
    for span in spans.spans(since=since):
        yield _Text(span.service, span.file, span.line_no, span.raw, span.attributes)
    for bad in spans.bad_lines():
        yield _Text(bad.source, bad.file, bad.line_no, bad.raw, {})


def _holder(fields: Mapping[str, object], forms: set[str]) -> str:
    for key, value in fields.items():
        if any(f in str(value) for f in forms):
            return f"field {key!r}"
    return ""


def find_leaks(
    secrets: Sequence[Secret],
    logs: LogStore,
    spans: SpanStore | None = None,
    since: float | None = None,
) -> list[Leak]:
    """Every line of every service (and every span) holding a secret, first one first."""
    usable = [s for s in secrets if len(s.value) >= MIN_SECRET_CHARS]
    if not usable:
        return []
    forms = {form: s for s in usable for form in s.forms()}
    pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
    leaks: list[Leak] = []
    for text in _texts(logs, spans, since):
        hit = pattern.search(text.raw)
        if hit is None:
            continue
        secret = forms[hit.group()]
        where = _holder(text.fields, secret.forms())
        leaks.append(Leak(secret, text.service, text.file, text.line_no, where))
    return leaks


def no_secret_in_logs(
    scenario: str,
    secrets: Sequence[Secret],
    logs: LogStore,
    spans: SpanStore | None = None,
    since: float | None = None,
) -> Check:
    """None of `secrets` appears in any log line or span of any service (from `since`)."""
    skipped = [s.label for s in secrets if len(s.value) < MIN_SECRET_CHARS]
    note = (
        f" ({len(skipped)} value(s) shorter than {MIN_SECRET_CHARS} characters not searched: "
        f"{', '.join(skipped)})"
        if skipped
        else ""
    )
    if len(skipped) == len(secrets):
        return _check(scenario, "no_secret_in_logs", False, f"no secret to search for{note}")
    leaks = find_leaks(secrets, logs, spans, since)
    searched = "log lines" + (" and spans" if spans is not None else "")
    if not leaks:
        labels = ", ".join(s.label for s in secrets if s.label not in skipped)
        count = len(secrets) - len(skipped)
        msg = f"none of {count} secret(s) ({labels}) in any of the {searched}{note}"
        return _check(scenario, "no_secret_in_logs", True, msg)
    where = Counter(leak.service for leak in leaks)
    spread = ", ".join(f"{s} x{n}" for s, n in sorted(where.items()))
    msg = (
        f"expected no secret in the {searched}; {leaks[0].describe()}; "
        f"{len(leaks)} line(s) leak in all ({spread}){note}"
    )
    return _check(scenario, "no_secret_in_logs", False, msg)


# -- one entry point for the runner -------------------------------------------------------


@dataclass(frozen=True)
class Correlation:
    """One request-id chain: `origin`'s forwarded requests must reach every hop."""

    hops: tuple[CorrelationHop, ...]
    origin: str = "edge"


@dataclass(frozen=True)
class EvidencePlan:
    """Which evidence checks a scenario runs (empty / False: that check is not run)."""

    log_services: tuple[str, ...] = ()
    error_codes: tuple[str, ...] = ()
    correlations: tuple[Correlation, ...] = ()
    traces: tuple[TracePath, ...] = ()
    metrics: tuple[str, ...] = ()  # catalogue names of the metrics that must be present
    no_secrets: bool = False


@dataclass(frozen=True)
class EvidenceSources:
    """Where the evidence is read; None: the target does not expose it."""

    logs: LogStore | None
    spans: SpanStore | None
    query: InstantQuery
    metrics: Mapping[str, Metric]
    jobs: Collection[str] | None = None  # Prometheus jobs scraped (the target's services)
    secrets: tuple[Secret, ...] = ()


class PhaseTimes(Protocol):
    """The phase boundaries of a scenario run (`harness.runner.Phases` has them)."""

    @property
    def load_start(self) -> float: ...
    @property
    def baseline_start(self) -> float: ...
    @property
    def baseline_end(self) -> float: ...
    @property
    def fault_start(self) -> float | None: ...
    @property
    def fault_end(self) -> float | None: ...
    @property
    def end(self) -> float: ...


def _logs_checks(scenario: str, plan: EvidencePlan, logs: LogStore, p: PhaseTimes) -> list[Check]:
    """Windows: fields over everything judged (baseline to end: error paths too); codes over
    the fault (without a fault, where it would have been, so the check fails); correlation
    from the baseline to the fault's end, leaving the recovery for queued jobs to run."""
    checks: list[Check] = []
    if plan.log_services:
        since, until = p.baseline_start, p.end
        checks.append(log_fields(scenario, logs, plan.log_services, since=since, until=until))
    f0, f1 = p.fault_start or p.baseline_end, p.fault_end or p.end
    checks += log_error_codes(scenario, logs, plan.error_codes, since=f0, until=f1)
    until = p.fault_end or p.baseline_end
    for chain in plan.correlations:
        checks.append(
            request_id_correlation(
                scenario, logs, chain.hops, since=p.baseline_start, until=until, origin=chain.origin
            )
        )
    return checks


def _unavailable_logs(scenario: str, plan: EvidencePlan) -> list[Check]:
    why = "the target exposes no readable log directory"
    checks = [evidence_unavailable(scenario, "log_fields", why)] if plan.log_services else []
    checks += [evidence_unavailable(scenario, "log_error_codes", why, c) for c in plan.error_codes]
    for chain in plan.correlations:
        detail = ">".join([chain.origin, *(h.service for h in chain.hops)])
        checks.append(evidence_unavailable(scenario, "request_id_correlation", why, detail))
    if plan.no_secrets:
        checks.append(evidence_unavailable(scenario, "no_secret_in_logs", why))
    return checks


def _trace_checks(
    scenario: str, plan: EvidencePlan, spans: SpanStore | None, p: PhaseTimes
) -> list[Check]:
    if spans is None:
        why = "the target exposes no readable span directory"
        return [
            evidence_unavailable(scenario, "trace_continuity", why, t.name) for t in plan.traces
        ]
    until = p.fault_end or p.baseline_end
    return [
        trace_continuity(scenario, spans, path, since=p.baseline_start, until=until)
        for path in plan.traces
    ]


def evidence_checks(
    scenario: str, plan: EvidencePlan, sources: EvidenceSources, phases: PhaseTimes
) -> list[Check]:
    """Every evidence check `plan` asks for, each over the window that fits it; run after the
    load has stopped. Metrics are judged at the end of the run, secrets over the whole run."""
    logs = sources.logs
    checks = (
        _logs_checks(scenario, plan, logs, phases)
        if logs is not None
        else _unavailable_logs(scenario, plan)
    )
    checks += _trace_checks(scenario, plan, sources.spans, phases)
    if plan.metrics:
        checks.append(
            metrics_present(
                scenario,
                sources.query,
                sources.metrics,
                at=phases.end,
                only=plan.metrics,
                jobs=sources.jobs,
            )
        )
    if plan.no_secrets and logs is not None:
        checks.append(
            no_secret_in_logs(
                scenario, sources.secrets, logs, sources.spans, since=phases.load_start
            )
        )
    return checks
