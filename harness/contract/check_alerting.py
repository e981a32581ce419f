"""Preflight, alerting: Prometheus runs the catalogue's rules, Alertmanager routes them.

Rules are compared with the catalogue rendered at the target's time scale (expr, for, labels;
harness.contract.drift) and must be healthy. Routing is read twice from the running
Alertmanager: its configuration (`/api/v2/status`), walked for each alert's labels and
compared with routing.yaml and the group timings; and, when amtool is installed, its own
answer (`amtool config routes test --alertmanager.url`) for the receiver.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from typing import Any

from harness.contract.drift import routing_drift, rule_drift, rules_from_api
from harness.contract.gaps import Gap
from harness.contract.model import Contract
from harness.observe.alertmanager import AlertmanagerClient
from harness.observe.prometheus import PrometheusClient
from harness.spec.burn_rate import BurnRateAlert
from harness.spec.catalog import Catalog
from harness.spec.timescale import Timing
from harness.stack import tools

AMTOOL_TIMEOUT_S = 10.0


def check_rules(
    catalog: Catalog, contract: Contract, prom: PrometheusClient, timing: Timing
) -> list[Gap]:
    """Each difference between the rules Prometheus runs and the catalogue at `timing`,
    named by alert and field (harness.contract.drift), plus rules Prometheus reports
    unhealthy."""
    groups = prom.rule_groups()
    gaps = [
        Gap(
            "rule",
            d.item,
            f"{d.field}: runs {d.running}, expected {d.expected}",
            _blocks(catalog, contract, d.item),
        )
        for d in rule_drift(catalog, timing, rules_from_api(groups))
    ]
    for group in groups:
        for rule in group.get("rules", []):
            if rule.get("health") == "err" and rule.get("name") in catalog.alert_names:
                name = str(rule["name"])
                reason = f"rule unhealthy: {rule.get('lastError', '')}"
                gaps.append(Gap("rule", name, reason, contract.blocked_by_alert(name)))
    return gaps


def _blocks(catalog: Catalog, contract: Contract, item: str) -> tuple[str, ...]:
    """Scenarios an alert's drift blocks; a recorded ratio's: those of the alerts reading it."""
    if item in catalog.alert_names:
        return contract.blocked_by_alert(item)
    slo = item.partition("{slo=")[2].rstrip("}")
    users = [a.name for a in catalog.alerts if isinstance(a, BurnRateAlert) and a.slo == slo]
    return tuple(dict.fromkeys(s for a in users for s in contract.blocked_by_alert(a)))


def check_routing_config(
    catalog: Catalog, contract: Contract, config: Mapping[str, Any], timing: Timing
) -> list[Gap]:
    """The routing tree Alertmanager runs (its /api/v2/status config) against routing.yaml
    and the catalogue's group timings at `timing`, by alert and field."""
    return [
        Gap(
            "routing",
            d.item,
            f"{d.field}: runs {d.running}, expected {d.expected}",
            contract.blocked_by_alert(d.item),
        )
        for d in routing_drift(catalog, timing, config)
    ]


def routed_to(alertmanager_url: str, labels: Mapping[str, str]) -> list[str]:
    """Receivers the running Alertmanager's routing tree picks for `labels` (amtool)."""
    command = [
        tools.locate("amtool"),
        "config",
        "routes",
        "test",
        f"--alertmanager.url={alertmanager_url}",
        f"--timeout={AMTOOL_TIMEOUT_S:g}s",
        *(f"{k}={v}" for k, v in labels.items()),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=AMTOOL_TIMEOUT_S + 5, check=False
    )
    if done.returncode != 0:
        raise RuntimeError((done.stderr or done.stdout).strip() or f"exit {done.returncode}")
    return [r.strip() for r in done.stdout.replace(",", " ").split() if r.strip()]


def check_routing(catalog: Catalog, contract: Contract, alertmanager_url: str) -> list[Gap]:
    gaps: list[Gap] = []
    for alert in catalog.alerts:
        labels = {"alertname": alert.name, **alert.rule_labels()}
        blocks = contract.blocked_by_alert(alert.name)
        try:
            receivers = routed_to(alertmanager_url, labels)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            reason = f"Alertmanager at {alertmanager_url} could not be asked: {exc}"
            every = tuple(s.name for s in contract.scenarios if s.alerts)
            return [Gap("backend", "alertmanager", reason, every)]
        if alert.receiver.value not in receivers:
            got = ", ".join(receivers) or "nothing"
            reason = f"routed to {got}, not to {alert.receiver.value}"
            gaps.append(Gap("routing", alert.name, reason, blocks))
    return gaps


def live_drift(
    catalog: Catalog, prom: PrometheusClient, alertmanager_url: str, timing: Timing
) -> list[str]:
    """Every difference between what the target runs and the catalogue, one line each."""
    running = rules_from_api(prom.rule_groups())
    client = AlertmanagerClient(alertmanager_url)
    try:
        config = client.config()
    finally:
        client.close()
    found = rule_drift(catalog, timing, running) + routing_drift(catalog, timing, config)
    return [str(d) for d in found]
