"""Builds the contract from what the harness already holds as data.

Metrics, alerts and SLOs come from the catalogue; levers from its levers.yaml; log fields
from the rules the log check applies (harness.checks.log_fields); trace hops from the paths
the trace check follows (harness.observe.traces); fault points from the stack's wiring
(which service reaches which dependency through which Toxiproxy proxy, harness.stack.fakes);
and each scenario's needs from the scenario files. Nothing is written twice.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence

from harness.checks.log_fields import DEFAULT_LOG_RULES
from harness.contract.levers import Lever
from harness.contract.model import (
    AlertTerm,
    Contract,
    ErrorCodeTerm,
    FaultPoint,
    LeverTerm,
    LogField,
    MetricTerm,
    ScenarioNeeds,
    TraceHopTerm,
    TracePathTerm,
)
from harness.dashboards.model import RATE_INTERVAL
from harness.observe.traces import SPEC_PATHS, Hop, SpanMatch
from harness.spec.alerts import Receiver
from harness.spec.burn_rate import BurnRateAlert
from harness.spec.catalog import Catalog
from harness.spec.faults import HttpCallSpec, HttpFaultSpec, LoadFaultSpec
from harness.spec.scenario import Scenario
from harness.spec.slo import AsyncSlo, AvailabilitySlo, LatencySlo, Slo
from harness.spec.vocabulary import referenced_series
from harness.stack.fakes import DEFAULT_FAKES, DEFAULT_PROXIES, FakeService, ProxyRoute

ENTRY_SERVICE = "edge"  # the load and the levers go through it


def build_contract(
    catalog: Catalog,
    scenarios: Sequence[Scenario],
    levers: Sequence[Lever] = (),
    fakes: Sequence[FakeService] = DEFAULT_FAKES,
    proxies: Sequence[ProxyRoute] = DEFAULT_PROXIES,
) -> Contract:
    needs = tuple(_needs(catalog, s, levers) for s in scenarios)
    jobs = {j for m in catalog.metrics.values() for j in m.jobs}
    return Contract(
        services=tuple(sorted(jobs | {s for n in needs for s in n.services})),
        metrics=_metrics(catalog),
        log_fields=_log_fields(),
        log_levels=tuple(sorted(DEFAULT_LOG_RULES.levels)),
        error_codes=_error_codes(needs),
        traces=tuple(_trace(name) for name in SPEC_PATHS),
        levers=tuple(_lever(lever, needs) for lever in levers),
        fault_points=tuple(_fault_point(r, fakes, needs) for r in proxies),
        alerts=tuple(
            AlertTerm(a.name, a.severity.value, a.receiver.value, a.spec_ref)
            for a in catalog.alerts
        ),
        receivers=tuple(r.value for r in Receiver),
        recording_rules=tuple(
            dict.fromkeys(r.record for r in catalog.recorded_ratios(catalog.timing(1)))
        ),
        scenarios=needs,
    )


def _series_owner(catalog: Catalog) -> dict[str, str]:
    return {s: name for name, m in catalog.metrics.items() for s in m.exposed_series}


def _slo_series(slo: Slo) -> frozenset[str]:
    if isinstance(slo, AvailabilitySlo):
        return referenced_series(slo.total) | referenced_series(slo.errors)
    if isinstance(slo, LatencySlo):
        return frozenset({slo.histogram})
    return frozenset()


def _alert_series(catalog: Catalog, name: str) -> frozenset[str]:
    alert = catalog.alert(name)
    if isinstance(alert, BurnRateAlert):
        return _slo_series(catalog.slo(alert.slo))
    return referenced_series(alert.expr)


def _metric_names(catalog: Catalog, series: Iterable[str]) -> tuple[str, ...]:
    owner = _series_owner(catalog)
    found = {owner[s] for s in series if s in owner}
    return tuple(n for n in catalog.metrics if n in found)


def _metrics(catalog: Catalog) -> tuple[MetricTerm, ...]:
    readers: dict[str, list[str]] = {name: [] for name in catalog.metrics}
    for alert in catalog.alerts:
        for name in _metric_names(catalog, _alert_series(catalog, alert.name)):
            readers[name].append(f"alert {alert.name}")
    for slo in catalog.slos:
        for name in _metric_names(catalog, _slo_series(slo)):
            readers[name].append(f"SLO {slo.name}")
    return tuple(
        MetricTerm(
            name=name,
            series=m.series,
            type=m.type.value,
            labels=m.labels,
            values=dict(m.values),
            buckets=m.buckets,
            jobs=m.jobs,
            help=m.help,
            spec_ref=m.spec_ref,
            in_spec=m.in_spec,
            read_by=tuple(readers[name]),
        )
        for name, m in catalog.metrics.items()
    )


def _log_fields() -> tuple[LogField, ...]:
    rules = DEFAULT_LOG_RULES
    statuses = ", ".join(str(s) for s in sorted(rules.unauthenticated_statuses))
    machine = ", ".join(f"{p}*" for p in rules.machine_routes)
    identity = (
        f"events of authenticated requests on {rules.api_prefix}* routes "
        f"(not {machine}; not status {statuses})"
    )
    return (
        LogField("timestamp", "every event; RFC3339 with an offset"),
        LogField("level", "every event; one of " + ", ".join(sorted(rules.levels))),
        LogField("request_id", "every event with a route or job_type (edge -> core -> workers)"),
        LogField("tenant_id", identity),
        LogField("user_id", identity),
        LogField("route", "request events: the route template, not the raw path"),
        LogField("job_type", "worker job events"),
        LogField("status", "access log lines (one per request); method beside it"),
        LogField("error_code", f"events with status >= {rules.error_status_min} or level ERROR"),
        LogField("resource_type, resource_id", "where a resource is concerned (not checked)"),
    )


def _error_codes(needs: Sequence[ScenarioNeeds]) -> tuple[ErrorCodeTerm, ...]:
    codes = dict.fromkeys(c for n in needs for c in n.error_codes)
    return tuple(
        ErrorCodeTerm(c, tuple(n.name for n in needs if c in n.error_codes)) for c in codes
    )


def _match(match: SpanMatch) -> str:
    parts = [f"service={match.service or 'any'}", f"kind={match.kind or 'any'}"]
    if match.name_prefix:
        parts.append(f"name={match.name_prefix}*")
    for attr in match.attrs:
        value = attr.equals or (f"{attr.prefix}*" if attr.prefix else "(present)")
        parts.append(f"{' or '.join(attr.keys)}={value}")
    return " ".join(parts)


def _hop(hop: Hop) -> TraceHopTerm:
    return TraceHopTerm(hop.name, tuple(_match(m) for m in hop.any_of))


def _trace(name: str) -> TracePathTerm:
    path = SPEC_PATHS[name]
    return TracePathTerm(path.name, path.description, tuple(_hop(h) for h in path.hops))


def _lever(lever: Lever, needs: Sequence[ScenarioNeeds]) -> LeverTerm:
    return LeverTerm(
        name=lever.name,
        spec_ref=lever.spec_ref,
        description=lever.description,
        service=lever.service,
        auth=lever.auth,
        read=f"{lever.read.method.value} {lever.read.path}",
        write=f"{lever.write.method.value} {lever.write.path}",
        write_body=lever.write.body,
        lists=lever.lists.names if lever.lists else (),
        scenarios=tuple(n.name for n in needs if lever.name in n.levers),
    )


def _fault_point(
    route: ProxyRoute, fakes: Sequence[FakeService], needs: Sequence[ScenarioNeeds]
) -> FaultPoint:
    field = f"proxy[{route.name}]"
    clients = tuple(
        f.name
        for f in fakes
        if any(
            name == field
            for template in f.env.values()
            for _, name, _, _ in string.Formatter().parse(template)
        )
    )
    users = tuple(n.name for n in needs if route.name in n.proxies)
    return FaultPoint(route.name, clients, route.upstream, users)


def _calls(scenario: Scenario) -> list[HttpCallSpec]:
    calls = [
        c for f in scenario.faults if isinstance(f, HttpFaultSpec) for c in (*f.apply, *f.rollback)
    ]
    if scenario.mitigation is not None:
        calls += [*scenario.mitigation.apply, *scenario.mitigation.rollback]
    return calls


def _needs(catalog: Catalog, scenario: Scenario, levers: Sequence[Lever]) -> ScenarioNeeds:
    expect = scenario.expect
    alerts = tuple(dict.fromkeys((*expect.fires, *expect.resolves)))
    slos = tuple(dict.fromkeys((*expect.slos.held, *expect.slos.violated)))
    series = {s for a in alerts for s in _alert_series(catalog, a)}
    series |= {s for name in slos for s in _slo_series(catalog.slo(name))}
    series |= {s for key in _panels(scenario) for s in _panel_series(catalog, key)}
    present = expect.evidence.metrics_present
    metrics = tuple(dict.fromkeys((*_metric_names(catalog, series), *present)))
    calls = _calls(scenario)
    services = {ENTRY_SERVICE, *(c.service for c in calls)}
    services |= {f.service for f in scenario.faults if isinstance(f, LoadFaultSpec)}
    evidence = expect.evidence
    services |= {c.origin for c in evidence.correlations}
    services |= {h.service for c in evidence.correlations for h in c.hops}
    services |= set(evidence.log_services)
    tables = {t for name in slos for t in _tables(catalog.slo(name))}
    return ScenarioNeeds(
        name=scenario.name,
        services=tuple(sorted(services)),
        metrics=tuple(n for n in catalog.metrics if n in metrics),
        alerts=alerts,
        slos=slos,
        proxies=scenario.proxies,
        levers=tuple(lv.name for lv in levers if any(lv.used_by(c) for c in calls)),
        error_codes=evidence.error_codes,
        traces=evidence.traces,
        tables=tuple(sorted(tables)),
    )


def _tables(slo: Slo) -> frozenset[str]:
    return slo.tables if isinstance(slo, AsyncSlo) else frozenset()


def _panels(scenario: Scenario) -> tuple[str, ...]:
    dashboards = scenario.expect.dashboards
    return dashboards.panels if dashboards is not None else ()


def _panel_series(catalog: Catalog, key: str) -> frozenset[str]:
    file = catalog.dashboards
    if file is None:
        return frozenset()
    for dashboard in file.dashboards:
        for panel in dashboard.panels:
            if dashboard.panel_key(panel) == key:
                variables = (RATE_INTERVAL,)
                return frozenset(
                    s for t in panel.targets for s in referenced_series(t.expr, variables)
                )
    return frozenset()
