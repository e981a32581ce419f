"""The contract written out: JSON for machines, Markdown for the people building WRK Copilot.

Deterministic: the same contract gives the same bytes (catalogue order, no timestamps).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness.contract.model import Contract, MetricTerm, ScenarioNeeds

JSON_FILE = "contract.json"
MARKDOWN_FILE = "contract.md"
FORMAT_VERSION = 1


def to_json(contract: Contract) -> str:
    doc = {"format": FORMAT_VERSION, **dataclasses.asdict(contract)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_contract(contract: Contract, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / JSON_FILE, out_dir / MARKDOWN_FILE
    json_path.write_text(to_json(contract), encoding="utf-8")
    md_path.write_text(to_markdown(contract), encoding="utf-8")
    return json_path, md_path


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return [line(head), line(["---"] * len(head)), *(line(r) for r in rows), ""]


def _join(items: Iterable[str], empty: str = "-") -> str:
    text = ", ".join(items)
    return text or empty


def _code(items: Iterable[str]) -> str:
    return _join(f"`{i}`" for i in items)


def _values(metric: MetricTerm) -> str:
    return _join(f"{k}: {', '.join(v)}" for k, v in metric.values.items())


def _buckets(metric: MetricTerm) -> str:
    return _join(f"{b:g}" for b in metric.buckets) if metric.buckets else "-"


def _metrics(contract: Contract) -> list[str]:
    lines = [
        "## Metrics",
        "",
        "Scraped by Prometheus from each service (`job` = service name). Counters end in "
        "`_total`; a histogram is named by its `_bucket` series and must have exactly these "
        "bucket edges among its `le` values (thresholds are edges). Every listed label must "
        "be on the series; closed value sets are the values rules select.",
        "",
    ]
    head = ("metric", "series", "type", "labels", "values", "buckets (s)", "jobs", "read by")
    rows = [
        (
            m.name,
            f"`{m.series}`",
            m.type,
            _code(m.labels),
            _values(m),
            _buckets(m),
            _join(m.jobs, "any"),
            _join(m.read_by),
        )
        for m in contract.metrics
    ]
    return lines + _table(head, rows)


def _logs(contract: Contract) -> list[str]:
    lines = [
        "## Logs",
        "",
        "One JSON object per line, one file (or stream) per service. Levels: "
        + _code(contract.log_levels)
        + ". No API key, webhook secret or request payload may appear in any line.",
        "",
    ]
    lines += _table(
        ("field", "required on"), ((f"`{f.name}`", f.required_when) for f in contract.log_fields)
    )
    lines += ["### Error codes the suite looks for", ""]
    rows = ((f"`{e.code}`", _join(e.scenarios)) for e in contract.error_codes)
    return lines + _table(("error_code", "scenarios"), rows)


def _traces(contract: Contract) -> list[str]:
    lines = ["## Traces", "", "Spans as JSON lines per service; each path must appear whole.", ""]
    for path in contract.traces:
        lines += [f"### `{path.name}`: {path.description}", ""]
        lines += _table(
            ("hop", "a span matching any of"), ((h.name, " / ".join(h.matches)) for h in path.hops)
        )
    return lines


def _levers(contract: Contract) -> list[str]:
    lines = [
        "## Admin levers",
        "",
        "Read by the preflight (never written); turned by scenarios.",
        "",
    ]
    head = ("lever", "service", "read", "write", "lists", "scenarios")
    rows = [
        (
            f"{lv.name} ({lv.spec_ref})",
            lv.service + (" (API key)" if lv.auth else ""),
            f"`{lv.read}`",
            f"`{lv.write}`" + (f" `{lv.write_body}`" if lv.write_body else ""),
            _code(lv.lists),
            _join(lv.scenarios),
        )
        for lv in contract.levers
    ]
    return (
        lines
        + _table(head, rows)
        + [f"- {lv.name}: {lv.description}" for lv in contract.levers]
        + [""]
    )


def _faults(contract: Contract) -> list[str]:
    lines = [
        "## Fault points",
        "",
        "Toxiproxy proxies the services reach their dependencies through; a scenario breaks "
        "one link by name (a game-day file may map a name to the deployment's own).",
        "",
    ]
    head = ("proxy", "from", "to", "scenarios")
    rows = [
        (f"`{f.proxy}`", _join(f.clients), f.upstream, _join(f.scenarios))
        for f in contract.fault_points
    ]
    return lines + _table(head, rows)


def _alerting(contract: Contract) -> list[str]:
    lines = [
        "## Alerting",
        "",
        "Prometheus must load every alert below (and the recording rules "
        + _code(contract.recording_rules)
        + "); Alertmanager routes on the `receiver` label to the receivers "
        + _code(contract.receivers)
        + ".",
        "",
    ]
    rows = ((a.name, a.severity, a.receiver, a.spec_ref) for a in contract.alerts)
    return lines + _table(("alert", "severity", "receiver", "spec"), rows)


def _scenario(needs: ScenarioNeeds) -> list[str]:
    return [
        f"### {needs.name}",
        "",
        f"- services: {_join(needs.services)}",
        f"- metrics: {_join(needs.metrics)}",
        f"- alerts that must fire: {_join(needs.alerts)}",
        f"- SLOs: {_join(needs.slos)}",
        f"- fault points: {_join(needs.proxies)}",
        f"- levers: {_join(needs.levers)}",
        f"- error codes: {_join(needs.error_codes)}",
        f"- trace paths: {_join(needs.traces)}",
        f"- database tables (async SLOs): {_join(needs.tables)}",
        "",
    ]


def to_markdown(contract: Contract) -> str:
    lines = [
        "# WRK Copilot: the contract a build must meet",
        "",
        "Generated by `wrkh contract` from the catalogue and the scenarios; do not edit. "
        "`wrkh preflight` checks a running build against it.",
        "",
        "Services (Prometheus jobs): " + _code(contract.services),
        "",
    ]
    for section in (_metrics, _logs, _traces, _levers, _faults, _alerting):
        lines += section(contract)
    lines += ["## What each scenario needs", ""]
    for needs in contract.scenarios:
        lines += _scenario(needs)
    return "\n".join(lines).rstrip("\n") + "\n"
