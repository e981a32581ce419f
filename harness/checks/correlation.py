"""request_id_correlation (spec §2.1, §7): the request ids of the requests the first service
forwarded appear in the logs of every later service of the chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.checks.results import Check
from harness.checks.wording import service_list
from harness.observe.logs import LogEvent, LogStore


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
            f"in the logs of {service_list(h.service for h in chain)}; " + "; ".join(parts)
        )
    return Check.of(scenario, "request_id_correlation", ok, msg, detail)
