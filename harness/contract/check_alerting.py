"""Preflight, alerting: Prometheus runs the catalogue's rules, Alertmanager routes them.

Rules are compared with the catalogue rendered at the target's time scale: the same
expression (both printed by the PromQL parser, so spacing and quoting do not matter), the
same `for`, healthy. Routing is asked of the running Alertmanager itself, through
`amtool config routes test --alertmanager.url`: for each alert's labels, the receiver its
routing tree picks must be the catalogue's.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from typing import Any

from harness.contract.gaps import Gap
from harness.contract.model import Contract
from harness.observe.prometheus import PrometheusClient
from harness.spec import promql
from harness.spec.burn_rate import BurnRateAlert
from harness.spec.catalog import Catalog
from harness.spec.timescale import Timing, format_duration
from harness.stack import tools

AMTOOL_TIMEOUT_S = 10.0


def _loaded(prom: PrometheusClient) -> dict[str, list[dict[str, Any]]]:
    rules: dict[str, list[dict[str, Any]]] = {}
    for group in prom.rule_groups():
        for rule in group.get("rules", []):
            rules.setdefault(str(rule.get("name")), []).append(rule)
    return rules


def _same_expr(a: str, b: str) -> bool:
    try:
        return promql.canonical(a) == promql.canonical(b)
    except ValueError:
        return a == b


def check_rules(
    catalog: Catalog, contract: Contract, prom: PrometheusClient, timing: Timing
) -> list[Gap]:
    loaded = _loaded(prom)
    gaps: list[Gap] = []
    for alert in catalog.alerts:
        blocks = contract.blocked_by_alert(alert.name)
        scale = alert.effective_scale(timing)
        rules = [r for r in loaded.get(alert.name, []) if r.get("type") == "alerting"]
        if not rules:
            gaps.append(Gap("rule", alert.name, "alert not loaded by Prometheus", blocks))
            continue
        rule = rules[0]
        expected_for = alert.for_s / scale
        if rule.get("health") == "err":
            reason = f"rule unhealthy: {rule.get('lastError', '')}"
            gaps.append(Gap("rule", alert.name, reason, blocks))
        elif not _same_expr(str(rule.get("query", "")), alert.expr_at(scale)):
            reason = f"runs another expression than the catalogue's at time scale {scale:g}"
            gaps.append(Gap("rule", alert.name, reason, blocks))
        elif abs(float(rule.get("duration", 0.0)) - expected_for) > 1e-3:
            got = format_duration(float(rule.get("duration", 0.0)))
            reason = f"for: {got}, the catalogue's is {format_duration(expected_for)}"
            gaps.append(Gap("rule", alert.name, reason, blocks))
    for ratio in catalog.recorded_ratios(timing):
        if not any(r.get("type") == "recording" for r in loaded.get(ratio.record, [])):
            users = [
                a.name
                for a in catalog.alerts
                if isinstance(a, BurnRateAlert) and a.slo == ratio.slo
            ]
            blocks = tuple(s for a in users for s in contract.blocked_by_alert(a))
            reason = f"recording rule for SLO {ratio.slo} not loaded by Prometheus"
            gaps.append(Gap("rule", ratio.record, reason, tuple(dict.fromkeys(blocks))))
    return gaps


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
