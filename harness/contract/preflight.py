"""`wrkh preflight`: a running target checked against the contract in seconds, no fault applied.

Order matters once: the levers are read first, through the edge with the run's API key, and
the metrics are read after Prometheus has scraped every target since; those reads are the
only traffic the preflight sends, and they give the API's request metrics their first
samples on a target nobody has used yet. Everything else only reads: Prometheus' targets,
metadata, series and rules; Toxiproxy's proxies; Alertmanager's routing tree.

A gap lists the scenarios it blocks (harness.contract.model); `wrkh run` and `wrkh gameday`
stop before any scenario when a gap blocks one they were asked to run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.contract.build import build_contract
from harness.contract.check_alerting import check_routing, check_routing_config, check_rules
from harness.contract.check_buckets import check_latency_edges
from harness.contract.check_live import check_levers, check_proxies
from harness.contract.check_metrics import (
    check_metrics,
    check_services,
    scrape_jobs,
)
from harness.contract.gaps import Gap, PreflightReport
from harness.contract.levers import Lever
from harness.contract.model import Contract
from harness.errors import HarnessError, ObserveError
from harness.observe.alertmanager import AlertmanagerClient
from harness.observe.logs import parse_rfc3339
from harness.observe.prometheus import PrometheusClient
from harness.spec.catalog import Catalog
from harness.spec.scenario import Scenario
from harness.spec.timescale import Timing
from harness.stack import tools
from harness.stack.target import Target

SCRAPE_WAIT_MAX_S = 30.0
REPORT_FILE = "preflight.json"


class PreflightFailed(HarnessError):
    """Gaps block scenarios that were asked to run; the message lists them."""

    def __init__(self, report: PreflightReport, scenarios: Sequence[str] | None) -> None:
        self.report = report
        lines = "\n".join(report.lines(scenarios))
        super().__init__(f"the target does not meet the contract; no scenario was run\n{lines}")


@dataclass(frozen=True)
class Expectations:
    """What a target is checked against: the catalogue rendered at the target's scale."""

    catalog: Catalog
    contract: Contract
    levers: tuple[Lever, ...]
    timing: Timing

    @classmethod
    def of(
        cls,
        catalog: Catalog,
        scenarios: Sequence[Scenario],
        levers: Sequence[Lever],
        timing: Timing,
    ) -> Expectations:
        return cls(catalog, build_contract(catalog, scenarios, levers), tuple(levers), timing)


def run_preflight(
    target: Target,
    expect: Expectations,
    deployed_proxy: Callable[[str], str] = lambda name: name,
    scraped: Callable[[], object] = lambda: None,
) -> PreflightReport:
    """`scraped`: returns once Prometheus has scraped every service (a stack just started
    may still be on its way there); the checks that need no Prometheus run before it."""
    began = time.monotonic()
    report = PreflightReport(target.name)
    contract = expect.contract
    lever_gaps = check_levers(expect.levers, target, contract)
    probed_at = time.time()
    _add(report, lever_gaps, f"{len(expect.levers)} lever(s) answer: " + _names(expect.levers))
    others = PreflightReport(target.name)  # reported after Prometheus', as always
    _routing_checks(others, expect, target.alertmanager_url)
    proxies = check_proxies(contract, target.toxiproxy_url, deployed_proxy)
    _add(others, proxies, f"{len(contract.fault_points)} fault point(s) exist and are clean")
    scraped()
    prom = PrometheusClient(target.prometheus_url, retry=False)
    try:
        _prometheus_checks(report, expect, prom, probed_at)
    except ObserveError as exc:
        every = tuple(s.name for s in contract.scenarios)
        report.gaps.append(Gap("backend", "prometheus", str(exc), every))
    report.gaps += others.gaps
    report.checked += others.checked
    report.notes += others.notes
    report.duration_s = time.monotonic() - began
    return report


def write_report(report: PreflightReport, folder: Path) -> Path:
    """`folder/preflight.json`: the evidence of what was checked and found."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_FILE
    path.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return path


def _names(levers: Sequence[Lever]) -> str:
    return ", ".join(lever.name for lever in levers) or "none"


def _add(report: PreflightReport, gaps: list[Gap], ok: str) -> None:
    report.gaps += gaps
    if not gaps:
        report.checked.append(ok)


def _prometheus_checks(
    report: PreflightReport, expect: Expectations, prom: PrometheusClient, probed_at: float
) -> None:
    contract = expect.contract
    jobs = _scraped_since(prom, probed_at)
    up = {job for job, error in jobs.items() if error is None}
    services = check_services(contract, jobs)
    _add(report, services, f"{len(contract.services)} service(s) scraped and up")
    metrics, notes = check_metrics(contract, expect.catalog.metrics, prom, up)
    _add(report, metrics, f"{len(contract.metrics)} metric(s) with their labels and buckets")
    report.notes += notes
    edges, notes = check_latency_edges(expect.catalog, contract, prom)
    _add(report, edges, "every latency SLO and alert threshold is a bucket edge of its histogram")
    report.notes += notes
    rules = check_rules(expect.catalog, contract, prom, expect.timing)
    scale = expect.timing.time_scale
    _add(report, rules, f"{len(contract.alerts)} alert rule(s) loaded as at time scale {scale:g}")


def _routing_checks(report: PreflightReport, expect: Expectations, alertmanager_url: str) -> None:
    client = AlertmanagerClient(alertmanager_url)
    try:
        config = client.config()
    except ObserveError as exc:
        every = tuple(s.name for s in expect.contract.scenarios if s.alerts)
        report.gaps.append(Gap("backend", "alertmanager", str(exc), every))
        config = None
    finally:
        client.close()
    if config is not None:
        drift = check_routing_config(expect.catalog, expect.contract, config, expect.timing)
        _add(report, drift, "Alertmanager's routing tree: receivers and group timings as specified")
    if tools.find("amtool") is None:  # routing is then proven by the scenarios' deliveries
        report.notes.append("routing unverified: amtool (prometheus-alertmanager) not installed")
        return
    routing = check_routing(expect.catalog, expect.contract, alertmanager_url)
    n = len(expect.contract.alerts)
    _add(report, routing, f"{n} alert(s) routed by Alertmanager to their receivers")


def _scraped_since(prom: PrometheusClient, since: float) -> dict[str, str | None]:
    """Scrape health per job once every up target was scraped after `since` (bounded wait)."""
    deadline = time.monotonic() + SCRAPE_WAIT_MAX_S
    while True:
        targets = prom.targets()
        pending = [
            t
            for t in targets
            if t.get("health") == "up" and (parse_rfc3339(t.get("lastScrape")) or 0.0) < since
        ]
        if not pending or time.monotonic() >= deadline:
            return scrape_jobs(targets)
        time.sleep(0.1)
