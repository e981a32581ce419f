"""SLO verdicts of one scenario window, measured from Prometheus, Locust and the database.

`held` SLOs are judged over the healthy baseline, `violated` ones over the fault window.
Latency is read from the server's histograms (what the SLO is defined on) and cross-checked
against Locust's own client-side percentiles over the whole load, so a histogram that lies
(wrong buckets, wrong unit, a route left out) is caught.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from harness.checks.label_cause import missing_label
from harness.checks.results import Check
from harness.checks.tenants import per_tenant
from harness.errors import ObserveError
from harness.load.runner import LoadResult, RouteStats
from harness.observe.database import fetch_items
from harness.observe.prometheus import PrometheusClient
from harness.spec.slo import AsyncSlo, AvailabilitySlo, LatencySlo, Slo

# Server and client p95 must agree within this much, or this share of the server value,
# whichever is larger: Locust shares 2 cores with the services, so the client sees queueing
# the server does not, and Locust rounds percentiles to two significant digits.
CROSSCHECK_ABS_S = 0.05
CROSSCHECK_REL = 1.0


@dataclass(frozen=True)
class Window:
    name: str  # baseline | fault | load
    since: float
    until: float

    @property
    def seconds(self) -> float:
        return max(self.until - self.since, 0.001)


@dataclass(frozen=True)
class SloContext:
    scenario: str
    prometheus: PrometheusClient
    database_url: str | None
    time_scale: float


def _check(
    ctx: SloContext, slo: Slo, kind: str, passed: bool, msg: str, *, window: Window
) -> Check:
    return Check(id=f"{ctx.scenario}::{kind}::{slo.name}", kind=kind, scenario=ctx.scenario,
                 passed=passed, message=msg, window=window.name)  # fmt: skip


def _nothing(slo: Slo, what: str, w: Window, ctx: SloContext | None = None, expr: str = "") -> str:
    """Nothing to judge; when a metric lacks a label the query selects on, that is the cause
    the message names, not an empty window."""
    cause = missing_label(ctx.prometheus.query, expr, w.until) if ctx and expr else None
    if cause is not None:
        return f"{slo.name}: not measurable: {cause}"
    return f"{slo.name}: no {what} in the {w.name} window: nothing to judge"


def _expectation(held: bool, want_held: bool) -> tuple[bool, str]:
    word = "held" if held else "violated"
    want = "held" if want_held else "violated"
    return held == want_held, f"{word} (expected {want})"


def check_slo(ctx: SloContext, slo: Slo, window: Window, want_held: bool) -> Check:
    try:
        if isinstance(slo, AvailabilitySlo):
            return _availability(ctx, slo, window, want_held)
        if isinstance(slo, LatencySlo):
            return _latency(ctx, slo, window, want_held)
        return _async(ctx, slo, window, want_held)
    except ObserveError as exc:
        reason = f"{slo.name}: not measurable: {exc}"
        return _check(ctx, slo, f"slo_{slo.kind}", False, reason, window=window)


def _availability(ctx: SloContext, slo: AvailabilitySlo, w: Window, want_held: bool) -> Check:
    total = ctx.prometheus.scalar(slo.total_at(w.seconds), at=w.until) or 0.0
    errors = ctx.prometheus.scalar(slo.errors_at(w.seconds), at=w.until) or 0.0
    if total <= 0:
        msg = _nothing(slo, "requests", w, ctx, slo.total_at(w.seconds))
        return _check(ctx, slo, "slo_availability", False, msg, window=w)
    result = slo.verdict(total, errors)
    ok, verdict = _expectation(result.held, want_held)
    ratio = f"{(result.ratio or 0) * 100:.3f}%"
    msg = (
        f"{slo.name} {verdict}: {ratio} available over the {w.seconds:.1f} s {w.name} window "
        f"({errors:.0f} of {total:.0f} requests failed; objective {slo.objective * 100:g}%, "
        f"error budget burn rate {result.budget_burn or 0:.2f})"
    )
    return _check(ctx, slo, "slo_availability", ok, msg, window=w)


def _latency(ctx: SloContext, slo: LatencySlo, w: Window, want_held: bool) -> Check:
    query = slo.quantile_at(w.seconds)
    observed = ctx.prometheus.scalar(query, at=w.until)
    if observed is None or math.isnan(observed):  # NaN: no requests in the window
        msg = _nothing(slo, "requests", w, ctx, query)
        return _check(ctx, slo, "slo_latency", False, msg, window=w)
    ok, verdict = _expectation(slo.held(observed), want_held)
    msg = (
        f"{slo.name} {verdict}: p{slo.quantile * 100:g} {observed * 1000:.1f} ms over the "
        f"{w.seconds:.1f} s {w.name} window (threshold {slo.threshold_s * 1000:g} ms)"
    )
    return _check(ctx, slo, "slo_latency", ok, msg, window=w)


def _async(ctx: SloContext, slo: AsyncSlo, w: Window, want_held: bool) -> Check:
    if ctx.database_url is None:
        reason = f"{slo.name}: the target gives no database to measure it in"
        return _check(ctx, slo, "slo_async", False, reason, window=w)
    threshold = slo.threshold_at(ctx.time_scale)
    # Only items that had their whole (scaled) threshold to finish before the query.
    items = fetch_items(ctx.database_url, slo.sql, w.since, w.until - threshold)
    if not items:
        return _check(ctx, slo, "slo_async", False, _nothing(slo, "items", w), window=w)
    result = slo.verdict([i.latency_s for i in items], ctx.time_scale)
    tenants = per_tenant(items, threshold)
    # A tenant that sees none of its items fails a held SLO whatever the overall share.
    held = result.held and not tenants.missing
    ok, verdict = _expectation(held, want_held)
    share = (result.share_within or 0) * 100
    msg = (
        f"{slo.name} {verdict}: {result.within}/{result.count} items ({share:.1f}%) within "
        f"{threshold:.3g} s (= {slo.threshold_s:g} s at scale {ctx.time_scale:g}; objective "
        f"{slo.percentile * 100:g}%) in the {w.name} window"
    )
    if tenants.missing:
        msg += f"; tenant(s) seeing none of their items: {', '.join(tenants.missing)}"
    if tenants.named:
        msg += f"; {tenants.describe()}"
    return _check(ctx, slo, "slo_async", ok, msg, window=w)


def _selector_value(selector: str, label: str) -> str | None:
    match = re.search(rf'{label}\s*=~?\s*"([^"]*)"', selector)
    return match.group(1) if match else None


def client_routes(slo: LatencySlo, load: LoadResult) -> list[RouteStats]:
    """Locust entries (named `METHOD /path`) that the SLO's selector covers."""
    route = re.compile(_selector_value(slo.selector, "route") or ".*")
    method = _selector_value(slo.selector, "method")
    picked = []
    for r in load.routes:
        verb, _, path = r.name.partition(" ")
        if route.fullmatch(path) and (method is None or verb == method):
            picked.append(r)
    return picked


def latency_crosscheck(ctx: SloContext, slo: LatencySlo, w: Window, load: LoadResult) -> Check:
    """The server histogram's p95 and Locust's p95 over the same load tell the same story."""
    kind = "slo_latency_crosscheck"
    routes = [r for r in client_routes(slo, load) if r.requests > 0]
    server = ctx.prometheus.scalar(slo.quantile_at(w.seconds), at=w.until)
    cause = None
    if server is None or math.isnan(server):
        cause = missing_label(ctx.prometheus.query, slo.quantile_at(w.seconds), w.until)
    if cause is not None:
        return _check(ctx, slo, kind, False, f"{slo.name}: not measurable: {cause}", window=w)
    if not routes or server is None or math.isnan(server):
        return _check(ctx, slo, kind, False,
                      f"{slo.name}: nothing to compare (client routes: {len(routes)}, server "
                      f"p95: {server})", window=w)  # fmt: skip
    busiest = max(routes, key=lambda r: r.requests)
    client = busiest.p95_ms / 1000
    tolerance = max(CROSSCHECK_ABS_S, CROSSCHECK_REL * server)
    ok = abs(client - server) <= tolerance
    msg = (
        f"{slo.name}: server p95 {server * 1000:.1f} ms vs Locust p95 {client * 1000:.1f} ms "
        f"on {busiest.name!r} over the whole load; tolerance {tolerance * 1000:.0f} ms"
    )
    return _check(ctx, slo, kind, ok, msg, window=w)
