"""Custom checks beside the scenario files: plain pytest tests using the harness's fixtures.

They run in the same session as the scenarios (`pytest scenarios/`, `wrkh run`), against the
same stack. This one proves the two things every other check relies on.
"""

from __future__ import annotations

from harness.observe.prometheus import PrometheusClient
from harness.run.faults import FaultInjector, Outage
from harness.stack.target import Target


def test_prometheus_scrapes_every_service(
    wrk_prometheus: PrometheusClient, wrk_target: Target
) -> None:
    up = {s.labels["job"]: s.value for s in wrk_prometheus.query("up")}
    missing = sorted(name for name in wrk_target.services if up.get(name) != 1.0)
    assert not missing, f"services not scraped (up != 1): {missing}"


def test_a_fault_from_a_custom_check(wrk_faults: FaultInjector, wrk_target: Target) -> None:
    proxy = next(iter(wrk_target.proxies))
    wrk_faults.apply(Outage("custom-check", proxy))  # rolled back when the test ends
    assert not wrk_faults.api.state(proxy).enabled
