"""The contract as typed data: what a build must expose for the suite to judge it.

Built from the catalogue, the scenarios and the stack's wiring by harness.contract.build;
rendered for people (Markdown) and machines (JSON) by harness.contract.render; checked
against a running target by harness.contract.preflight. Every tuple is in catalogue order,
so the same catalogue gives the same contract, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricTerm:
    """One metric of metrics.yaml and who reads it."""

    name: str  # the spec's (catalogue's) name
    series: str
    type: str
    labels: tuple[str, ...]
    values: dict[str, tuple[str, ...]]
    buckets: tuple[float, ...] | None
    jobs: tuple[str, ...]  # services that must expose it (empty: any)
    help: str
    spec_ref: str
    in_spec: bool
    read_by: tuple[str, ...]  # alerts and SLOs whose queries select it


@dataclass(frozen=True)
class LogField:
    name: str
    required_when: str


@dataclass(frozen=True)
class ErrorCodeTerm:
    code: str
    scenarios: tuple[str, ...]


@dataclass(frozen=True)
class TraceHopTerm:
    name: str
    matches: tuple[str, ...]  # alternatives, each "service kind name* attrs"


@dataclass(frozen=True)
class TracePathTerm:
    name: str
    description: str
    hops: tuple[TraceHopTerm, ...]


@dataclass(frozen=True)
class LeverTerm:
    name: str
    spec_ref: str
    description: str
    service: str
    auth: bool
    read: str  # "GET /v1/admin/feature-flags"
    write: str
    write_body: str | None
    lists: tuple[str, ...]  # names the read must list
    scenarios: tuple[str, ...]


@dataclass(frozen=True)
class FaultPoint:
    """A Toxiproxy proxy: the link from `clients` to `upstream` a scenario may break."""

    proxy: str
    clients: tuple[str, ...]
    upstream: str
    scenarios: tuple[str, ...]


@dataclass(frozen=True)
class AlertTerm:
    name: str
    severity: str
    receiver: str
    spec_ref: str


@dataclass(frozen=True)
class ScenarioNeeds:
    """What one scenario needs of a build to be able to pass."""

    name: str
    services: tuple[str, ...]
    metrics: tuple[str, ...]
    alerts: tuple[str, ...]  # must fire (and be routed)
    slos: tuple[str, ...]
    proxies: tuple[str, ...]
    levers: tuple[str, ...]
    error_codes: tuple[str, ...]
    traces: tuple[str, ...]
    tables: tuple[str, ...]  # database tables its async SLOs read


@dataclass(frozen=True)
class Contract:
    services: tuple[str, ...]  # Prometheus jobs (scrape targets) the suite reads
    metrics: tuple[MetricTerm, ...]
    log_fields: tuple[LogField, ...]
    log_levels: tuple[str, ...]
    error_codes: tuple[ErrorCodeTerm, ...]
    traces: tuple[TracePathTerm, ...]
    levers: tuple[LeverTerm, ...]
    fault_points: tuple[FaultPoint, ...]
    alerts: tuple[AlertTerm, ...]
    receivers: tuple[str, ...]
    recording_rules: tuple[str, ...]  # records the production rule file holds
    scenarios: tuple[ScenarioNeeds, ...]

    def blocked_by_metric(self, name: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.scenarios if name in s.metrics)

    def blocked_by_proxy(self, proxy: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.scenarios if proxy in s.proxies)

    def blocked_by_lever(self, lever: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.scenarios if lever in s.levers)

    def blocked_by_service(self, service: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.scenarios if service in s.services)

    def blocked_by_alert(self, alert: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.scenarios if alert in s.alerts)
