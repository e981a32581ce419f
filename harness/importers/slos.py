"""`wrkh import-slos`: a Sloth SLO spec (`version: prometheus/v1`) turned into catalogue entries.

Each SLO becomes an availability SLO of slos.yaml (its `error_query` and `total_query`,
whose `{{.window}}` becomes the catalogue's `{{window}}` on the parsed expression), and its
alerting becomes the catalogue's multiwindow burn-rate alerts (alerts.yaml,
`burn_rate_alerts`), whose expressions the catalogue generates from the SLO as for its own:

    page alert    (alerting.name)          1h/5m at 2% of the budget, 6h/30m at 5%
    ticket alert  (alerting.name+Ticket)   1d/2h at 10%, 3d/6h at 10%

These are Sloth's own defaults (the SRE workbook's 14.4x, 6x, 3x and 1x over 30 days).
Refused, each with the SLO and the reason: `sli.raw` and `sli.plugin` (no error and total
counts to build the ratio from), a query with any other range window or anything
harness.spec.promql cannot scale, severities and receivers neither the catalogue's nor mapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from harness.errors import ConfigError, Problem
from harness.importers.common import (
    EVIDENCE_NOTE,
    RECEIVER_LABEL,
    SEVERITY_LABEL,
    SUMMARY,
    ImportOptions,
    receiver_of,
    severity_of,
    write_yaml,
)
from harness.spec import promql
from harness.spec.alerts import Receiver, Severity
from harness.spec.fields import StrictModel
from harness.spec.files import display_path, load_model

SLOS_OUT = "slos.yaml"
ALERTS_OUT = "alerts.yaml"
SLOTH_WINDOW = "{{.window}}"
PERIOD = "30d"  # Sloth's prometheus/v1 SLOs are 30-day SLOs
# A stand-in for `{{.window}}` while the query is parsed: a window no real query uses.
_STAND_IN = "1234567s"
PAGE_WINDOWS = (("1h", "5m", "2%"), ("6h", "30m", "5%"))
TICKET_WINDOWS = (("1d", "2h", "10%"), ("3d", "6h", "10%"))


class Events(StrictModel):
    error_query: str
    total_query: str


class Sli(StrictModel):
    events: Events | None = None
    raw: dict[str, Any] | None = None
    plugin: dict[str, Any] | None = None


class AlertSpec(StrictModel):
    disable: bool = False
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class Alerting(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    page_alert: AlertSpec = AlertSpec()
    ticket_alert: AlertSpec = AlertSpec()


class SlothSlo(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    objective: float = Field(gt=0, lt=100)
    description: str = ""
    labels: dict[str, str] = {}
    sli: Sli
    alerting: Alerting | None = None


class SlothSpec(StrictModel):
    version: Literal["prometheus/v1"]
    service: str = Field(min_length=1)
    labels: dict[str, str] = {}
    slos: tuple[SlothSlo, ...] = Field(min_length=1)


def import_slos(path: Path, options: ImportOptions) -> tuple[list[dict[str, Any]], list[Any]]:
    """(slos.yaml entries, burn_rate_alerts entries); ConfigError listing every refusal."""
    spec, problems = load_model(SlothSpec, path)
    if spec is None:
        raise ConfigError(problems)
    file = display_path(path)
    slos: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for i, slo in enumerate(spec.slos):
        entry, reasons = _slo_entry(spec, slo, options)
        more, why = _alert_entries(spec, slo, options)
        reasons += why
        problems += [Problem(file, f"slos[{i}]", f"SLO {slo.name}: {r}") for r in reasons]
        if entry is not None:
            slos.append(entry)
        alerts += more
    if problems:
        raise ConfigError(problems)
    return slos, alerts


def _slo_entry(
    spec: SlothSpec, slo: SlothSlo, options: ImportOptions
) -> tuple[dict[str, Any] | None, list[str]]:
    events = slo.sli.events
    if events is None:
        kind = "raw" if slo.sli.raw is not None else "plugin"
        return None, [f"sli.{kind}: only sli.events (error and total queries) can be imported"]
    queries: dict[str, str] = {}
    reasons: list[str] = []
    for key, query in (("total", events.total_query), ("errors", events.error_query)):
        found = _template(query)
        if isinstance(found, list):
            reasons += [f"sli.events.{key.replace('errors', 'error')}_query: {r}" for r in found]
        else:
            queries[key] = found
    if reasons:
        return None, reasons
    return {
        "name": slo.name,
        "kind": "availability",
        "spec_ref": options.spec_ref,
        "service": spec.service,
        "description": slo.description or f"{spec.service} {slo.name}",
        "objective": f"{slo.objective:g}%",
        "period": PERIOD,
        **queries,
    }, []


def _template(query: str) -> str | list[str]:
    """The query with `{{.window}}` as the catalogue's `{{window}}`, or why it cannot be."""
    if SLOTH_WINDOW not in query:
        return [f"has no {SLOTH_WINDOW}: its window would not follow the SLO's"]
    text = query.replace(SLOTH_WINDOW, _STAND_IN)
    try:
        reasons = promql.unscalable(text)
        stand_in = float(_STAND_IN.removesuffix("s"))
        others = sorted({w for w in promql.range_windows(text) if w != stand_in})
        reasons += [f"a fixed window of {w:g}s besides {SLOTH_WINDOW}" for w in others]
        return reasons or promql.templated(text, {stand_in: "window"})
    except ValueError as exc:
        return [str(exc)]


def _alert_entries(
    spec: SlothSpec, slo: SlothSlo, options: ImportOptions
) -> tuple[list[dict[str, Any]], list[str]]:
    alerting = slo.alerting
    if alerting is None:
        return [], []
    found: list[dict[str, Any]] = []
    reasons: list[str] = []
    for kind, suffix, windows in (
        ("page_alert", "", PAGE_WINDOWS),
        ("ticket_alert", "Ticket", TICKET_WINDOWS),
    ):
        own: AlertSpec = getattr(alerting, kind)
        if own.disable:
            continue
        labels = {**spec.labels, **slo.labels, **alerting.labels, **own.labels}
        annotations = {**alerting.annotations, **own.annotations}
        severity = severity_of(labels, options)
        receiver = receiver_of(labels, options)
        bad = [f"alerting.{kind}: {r}" for r in (severity, receiver) if not _ours(r)]
        if bad:
            reasons += bad
            continue
        entry: dict[str, Any] = {
            "name": alerting.name + suffix,
            "summary": annotations.pop(SUMMARY, f"{slo.name} is spending its error budget"),
            "spec_ref": options.spec_ref,
            "severity": str(severity),
            "receiver": str(receiver),
            "slo": slo.name,
            "windows": [{"long": lo, "short": sh, "budget_consumed": c} for lo, sh, c in windows],
            "for": "0s",
        }
        rest = {k: v for k, v in labels.items() if k not in (SEVERITY_LABEL, RECEIVER_LABEL)}
        entry |= {"labels": rest} if rest else {}
        entry |= {"annotations": annotations} if annotations else {}
        found.append(entry)
    return found, reasons


def _ours(value: object) -> bool:
    return isinstance(value, Severity | Receiver)


def write_entries(
    slos: list[dict[str, Any]], alerts: list[dict[str, Any]], out_dir: Path, source: Path
) -> tuple[Path, Path]:
    header = f"# Imported by `wrkh import-slos` from {source.name}.\n"
    slos_path, alerts_path = out_dir / SLOS_OUT, out_dir / ALERTS_OUT
    write_yaml(slos_path, {"slos": slos}, header)
    write_yaml(alerts_path, {"burn_rate_alerts": alerts}, header + EVIDENCE_NOTE)
    return slos_path, alerts_path
