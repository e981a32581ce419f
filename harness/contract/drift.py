"""Drift: what a target runs, or a checked-in file holds, against the catalogue.

The suite proves the catalogue's rules and routing; a deployment runs whatever was deployed.
Both are compared here at the target's time scale, each difference named by alert and field:

- rules (Prometheus `/api/v1/rules`, or a rule file): `expr` (both printed by the PromQL
  parser, so spacing and quoting do not matter), `for`, `labels.<name>`; each recording rule
  the burn-rate alerts read;
- routing (Alertmanager `/api/v2/status` config, or alertmanager.yml): for each alert's
  labels, the receiver its routing tree picks, judged against routing.yaml (the spec), and
  the group timings of the route it lands on (`group_by`, `group_wait`, `group_interval`,
  `repeat_interval`), inherited as Alertmanager inherits them; and every notifier of that
  receiver sends resolved notifications (`send_resolved`, with Alertmanager's defaults).

Pure functions of parsed documents, so the preflight, the suite's `config_drift` check and
`wrkh rules --check` share them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from harness.spec import promql
from harness.spec.catalog import Catalog
from harness.spec.rules import render_alertmanager_config
from harness.spec.timescale import Timing, format_duration, parse_duration

TIMINGS = ("group_wait", "group_interval", "repeat_interval")
_INHERITED = ("receiver", "group_by", *TIMINGS)
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


@dataclass(frozen=True)
class Drift:
    """One difference: `item` (an alert, a recorded ratio) and the field that differs."""

    item: str
    field: str
    running: str
    expected: str

    def __str__(self) -> str:
        return f"{self.item}.{self.field}: runs {self.running}, expected {self.expected}"


@dataclass(frozen=True)
class RunningRule:
    """A rule as a target or a file has it."""

    name: str
    kind: str  # alerting | recording
    expr: str
    for_s: float
    labels: Mapping[str, str]


def rules_from_api(groups: Iterable[Mapping[str, Any]]) -> list[RunningRule]:
    """Rules of Prometheus' `/api/v1/rules` answer (its `groups`)."""
    return [
        RunningRule(
            str(r.get("name", "")),
            str(r.get("type", "")),
            str(r.get("query", "")),
            float(r.get("duration", 0.0) or 0.0),
            dict(r.get("labels") or {}),
        )
        for g in groups
        for r in g.get("rules", [])
    ]


def rules_from_file(doc: Mapping[str, Any]) -> list[RunningRule]:
    """Rules of a Prometheus rule file (`groups: [{rules: [...]}]`)."""
    found = []
    for group in doc.get("groups") or []:
        for r in group.get("rules") or []:
            kind = "alerting" if "alert" in r else "recording"
            name = str(r.get("alert") or r.get("record") or "")
            for_s = parse_duration(str(r["for"])) if r.get("for") else 0.0
            found.append(
                RunningRule(name, kind, str(r.get("expr", "")), for_s, r.get("labels") or {})
            )
    return found


def _same_expr(a: str, b: str) -> bool:
    try:
        return promql.canonical(a) == promql.canonical(b)
    except ValueError:
        return a.strip() == b.strip()


def rule_drift(
    catalog: Catalog, timing: Timing, running: list[RunningRule], *, extras: bool = False
) -> list[Drift]:
    """Each alert and recorded ratio of the catalogue against the running rules; with
    `extras`, alert rules the catalogue does not have are drift too (a checked-in file)."""
    alerting = {r.name: r for r in running if r.kind == "alerting"}
    drift: list[Drift] = []
    for alert in catalog.alerts:
        rule = alerting.get(alert.name)
        if rule is None:
            drift.append(Drift(alert.name, "rule", "nothing", "an alerting rule"))
            continue
        scale = alert.effective_scale(timing)
        if not _same_expr(rule.expr, alert.expr_at(scale)):
            drift.append(Drift(alert.name, "expr", repr(rule.expr), repr(alert.expr_at(scale))))
        want_for = alert.for_s / scale
        if not math.isclose(rule.for_s, want_for, abs_tol=1e-3):
            got, want = format_duration(rule.for_s), format_duration(want_for)
            drift.append(Drift(alert.name, "for", got, f"{want} (time scale {scale:g})"))
        drift += _label_drift(alert.name, rule.labels, alert.rule_labels())
    recorded = [r for r in running if r.kind == "recording"]
    for ratio in catalog.recorded_ratios(timing):
        same = [r for r in recorded if r.name == ratio.record and r.labels.get("slo") == ratio.slo]
        item = f"{ratio.record}{{slo={ratio.slo}}}"
        if not same:
            drift.append(Drift(item, "rule", "nothing", "a recording rule"))
        elif not any(_same_expr(r.expr, ratio.expr) for r in same):
            drift.append(Drift(item, "expr", repr(same[0].expr), repr(ratio.expr)))
    if extras:
        known = set(catalog.alert_names)
        drift += [Drift(n, "rule", "an alerting rule", "none (not in the catalogue)")
                  for n in alerting if n not in known]  # fmt: skip
    return drift


def _label_drift(
    alert: str, running: Mapping[str, str], expected: Mapping[str, str]
) -> list[Drift]:
    drift = []
    for key in sorted(set(running) | set(expected)):
        got, want = running.get(key), expected.get(key)
        if got != want:
            drift.append(Drift(alert, f"labels.{key}", repr(got), repr(want)))
    return drift


def routing_drift(catalog: Catalog, timing: Timing, config: Mapping[str, Any]) -> list[Drift]:
    """For each alert, where the routing tree of `config` delivers it and with which group
    timings, against routing.yaml and the catalogue's routing rendered under `timing`."""
    expected_tree = yaml.safe_load(render_alertmanager_config(catalog, "http://x", timing))
    drift: list[Drift] = []
    for alert in catalog.alerts:
        labels = {"alertname": alert.name, **alert.rule_labels()}
        want_receiver = catalog.expected_route(alert.name).receiver
        routes = delivered(config.get("route") or {}, labels)
        got = sorted({str(r.get("receiver")) for r in routes})
        if got != [want_receiver]:
            drift.append(Drift(alert.name, "receiver", ", ".join(got) or "nothing", want_receiver))
        want = delivered(expected_tree["route"], labels)[0]
        for route in routes:
            drift += _timing_drift(alert.name, route, want)
        drift += _resolved_drift(alert.name, got, config.get("receivers") or [])
    return drift


# Alertmanager's default `send_resolved` per notifier: chat and e-mail say nothing when an
# incident ends unless told to, so a receiver moved to one silently loses the resolution.
_RESOLVED_BY_DEFAULT = {"email_configs": False, "slack_configs": False, "msteams_configs": False,
                        "discord_configs": False, "telegram_configs": False}  # fmt: skip


def _resolved_drift(alert: str, receivers: list[str], configs: list[Any]) -> list[Drift]:
    """Every notifier of the receivers an alert reaches sends the resolution (spec §6.2:
    the on-call must know when it ended); the catalogue's routing sends it everywhere."""
    drift = []
    for receiver in (r for r in configs if isinstance(r, dict) and r.get("name") in receivers):
        for key, notifiers in receiver.items():
            if not key.endswith("_configs"):
                continue
            for i, notifier in enumerate(notifiers or []):
                sends = notifier.get("send_resolved", _RESOLVED_BY_DEFAULT.get(key, True))
                if sends is not True:
                    where = f"{receiver['name']} {key}[{i}]"
                    drift.append(Drift(alert, "send_resolved", f"{sends} ({where})", "true"))
    return drift


def _timing_drift(alert: str, got: Mapping[str, Any], want: Mapping[str, Any]) -> list[Drift]:
    drift = []
    if sorted(got.get("group_by") or []) != sorted(want.get("group_by") or []):
        drift.append(Drift(alert, "group_by", str(got.get("group_by")), str(want.get("group_by"))))
    for key in TIMINGS:
        g, w = got.get(key), want.get(key)
        if (
            g is None
            or w is None
            or not math.isclose(parse_duration(str(g)), parse_duration(str(w)), abs_tol=1e-3)
        ):
            drift.append(Drift(alert, key, str(g), str(w)))
    return drift


def delivered(route: Mapping[str, Any], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The routes (with what they inherit) that an alert with `labels` reaches, as
    Alertmanager walks its tree: the first matching child, further ones after `continue`."""
    node = dict(route)
    found: list[dict[str, Any]] = []
    for child in node.get("routes") or []:
        inherited = {**{k: node[k] for k in _INHERITED if k in node}, **child}
        if not _matches(inherited, labels):
            continue
        found += delivered(inherited, labels)
        if not child.get("continue", False):
            break
    return found or [node]


def _matches(route: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    for key, value in (route.get("match") or {}).items():
        if labels.get(key, "") != str(value):
            return False
    for key, value in (route.get("match_re") or {}).items():
        if re.fullmatch(str(value), labels.get(key, "")) is None:
            return False
    return all(_matcher(m, labels) for m in route.get("matchers") or [])


def _matcher(text: str, labels: Mapping[str, str]) -> bool:
    found = _MATCHER.match(text)
    if found is None:
        return False  # unreadable: Alertmanager would refuse the file; match nothing
    name, op, value = found.groups()
    got = labels.get(name, "")
    if op in ("=", "!="):
        return (got == value) == (op == "=")
    return (re.fullmatch(value, got) is not None) == (op == "=~")
