"""`wrkh import-rules`: a standard Prometheus rule file turned into catalogue alert entries.

Each alerting rule becomes an entry of the alerts.yaml format: its range windows become
placeholders (found on the parsed expression, see harness.spec.promql), its `for` stays the
real duration, its severity and receiver labels become the entry's fields. Rendered at
scale 1 (`render_rule_file`), an entry is the original rule again, plus the `summary` and
`spec_ref` annotations every catalogue alert carries when the original had none.

Refused, each with the rule and the reason, and nothing written: recording rules (the
catalogue holds alerts; inline what they record), `keep_firing_for` (not modelled),
expressions the importer cannot scale (harness.spec.promql.unscalable), severities and
receivers that are not the catalogue's and not mapped, duplicate alert names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from harness.errors import ConfigError, Problem
from harness.importers.common import (
    EVIDENCE_NOTE,
    RECEIVER_LABEL,
    SEVERITY_LABEL,
    SPEC_REF,
    SUMMARY,
    ImportOptions,
    receiver_of,
    severity_of,
    window_names,
    write_yaml,
)
from harness.spec import promql
from harness.spec.alerts import Receiver, Severity
from harness.spec.fields import Seconds, StrictModel
from harness.spec.files import display_path, load_model
from harness.spec.templates import render_template
from harness.spec.timescale import format_duration

OUT_FILE = "alerts.yaml"
_SPEC_REF_PREFIX = "§"


class RuleSpec(StrictModel):
    """One rule as Prometheus reads it."""

    alert: str | None = None
    record: str | None = None
    expr: str
    for_s: Seconds = Field(default=0.0, alias="for")
    keep_firing_for: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class GroupSpec(StrictModel):
    name: str
    interval: str | None = None
    limit: int | None = None
    rules: tuple[RuleSpec, ...] = ()


class RuleFileSpec(StrictModel):
    groups: tuple[GroupSpec, ...]


@dataclass(frozen=True)
class ImportedAlert:
    """One alert as the catalogue writes it: windows as placeholders, real durations."""

    name: str
    summary: str
    spec_ref: str
    severity: Severity
    receiver: Receiver
    for_s: float
    windows_s: dict[str, float]
    expr: str
    labels: dict[str, str]
    annotations: dict[str, str]

    def entry(self) -> dict[str, Any]:
        """The alerts.yaml entry (without `test`: see EVIDENCE_NOTE)."""
        others = {k: format_duration(v) for k, v in self.windows_s.items() if k != "window"}
        doc: dict[str, Any] = {
            "name": self.name,
            "summary": self.summary,
            "spec_ref": self.spec_ref,
            "severity": self.severity.value,
            "receiver": self.receiver.value,
        }
        if "window" in self.windows_s:
            doc["window"] = format_duration(self.windows_s["window"])
        if others:
            doc["windows"] = others
        doc |= {"for": format_duration(self.for_s), "expr": self.expr}
        for key in ("labels", "annotations"):
            if getattr(self, key):
                doc[key] = dict(getattr(self, key))
        return doc

    def rule_at(self, scale: float) -> dict[str, Any]:
        """The Prometheus alerting rule at `scale`, labelled as the catalogue renders it."""
        own = dict(sorted(self.labels.items()))
        notes = dict(sorted(self.annotations.items()))
        return {
            "alert": self.name,
            "expr": render_template(self.expr, self.windows_s, scale),
            "for": format_duration(self.for_s / scale),
            "labels": {SEVERITY_LABEL: self.severity.value, RECEIVER_LABEL: self.receiver.value}
            | own,
            "annotations": {SUMMARY: self.summary, SPEC_REF: self.spec_ref} | notes,
        }


def import_rules(path: Path, options: ImportOptions) -> list[ImportedAlert]:
    """Every alerting rule of the file; ConfigError listing every rule refused and why."""
    spec, problems = load_model(RuleFileSpec, path)
    if spec is None:
        raise ConfigError(problems)
    file = display_path(path)
    alerts: list[ImportedAlert] = []
    seen: dict[str, str] = {}
    for g, group in enumerate(spec.groups):
        for r, rule in enumerate(group.rules):
            where = f"groups[{g}].rules[{r}]"
            found = _import(rule, options)
            if isinstance(found, list):
                name = rule.alert or rule.record or "?"
                problems += [Problem(file, where, f"rule {name}: {why}") for why in found]
                continue
            if found.name in seen:
                why = f"rule {found.name}: duplicate alert name (first at {seen[found.name]})"
                problems.append(Problem(file, where, why))
            seen.setdefault(found.name, where)
            alerts.append(found)
    if problems:
        raise ConfigError(problems)
    return alerts


def _import(rule: RuleSpec, options: ImportOptions) -> ImportedAlert | list[str]:
    if rule.alert is None:
        return ["a recording rule: the catalogue holds alerts; inline its expression"]
    reasons: list[str] = []
    if rule.keep_firing_for is not None:
        reasons.append("keep_firing_for is not modelled by the catalogue")
    try:
        reasons += promql.unscalable(rule.expr)
        names = window_names(promql.range_windows(rule.expr))
        template = promql.templated(rule.expr, names)
    except ValueError as exc:
        return [*reasons, f"expr: {exc}"]
    severity = severity_of(rule.labels, options)
    receiver = receiver_of(rule.labels, options)
    reasons += [r for r in (severity, receiver) if not isinstance(r, Severity | Receiver)]
    spec_ref = rule.annotations.get(SPEC_REF, options.spec_ref)
    if not spec_ref.startswith(_SPEC_REF_PREFIX):
        reasons.append(f"annotations.spec_ref {spec_ref!r} is not a section such as §5.1")
    if reasons:
        return reasons
    assert isinstance(severity, Severity) and isinstance(receiver, Receiver)
    return ImportedAlert(
        name=rule.alert,
        summary=rule.annotations.get(SUMMARY, rule.alert),
        spec_ref=spec_ref,
        severity=severity,
        receiver=receiver,
        for_s=rule.for_s,
        windows_s={name: seconds for seconds, name in names.items()},
        expr=template,
        labels=_without(rule.labels, SEVERITY_LABEL, RECEIVER_LABEL),
        annotations=_without(rule.annotations, SUMMARY, SPEC_REF),
    )


def _without(items: Mapping[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in items.items() if k not in keys}


def write_alerts(alerts: list[ImportedAlert], out_dir: Path, source: Path) -> Path:
    """`out_dir/alerts.yaml` with one entry per alert."""
    path = out_dir / OUT_FILE
    header = f"# Imported by `wrkh import-rules` from {source.name}.\n{EVIDENCE_NOTE}"
    write_yaml(path, {"alerts": [a.entry() for a in alerts]}, header)
    return path


def render_rule_file(alerts: list[ImportedAlert], scale: float, group: str) -> dict[str, Any]:
    """A Prometheus rule file (one group) of the imported alerts at `scale`."""
    return {"groups": [{"name": group, "rules": [a.rule_at(scale) for a in alerts]}]}
