"""What both importers share: the choices a standard file cannot make for the catalogue.

A standard rule file names severities in its own words (`critical`, `page`) and routes by
its own labels; the catalogue has three severities (spec §6.1) and three receivers. What a
file says is kept when it is already the catalogue's word; anything else is mapped only as
the user says (`--severity critical=SEV-1`), never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError, Problem
from harness.spec.alerts import Receiver, Severity
from harness.spec.timescale import format_duration

SEVERITY_LABEL = "severity"
RECEIVER_LABEL = "receiver"
SUMMARY = "summary"
SPEC_REF = "spec_ref"
EVIDENCE_NOTE = (
    "# Each entry still needs its promtool evidence before the catalogue accepts it:\n"
    "# `test.firing` and `test.healthy` inputs (see scenarios/catalog/alerts.yaml). An import\n"
    "# cannot know which traffic breaches a rule, so it writes none rather than invent it.\n"
)


@dataclass(frozen=True)
class ImportOptions:
    """How labels the catalogue owns are filled from a standard file."""

    severities: Mapping[str, Severity] = field(default_factory=dict)  # file's word -> ours
    receiver: Receiver = Receiver.ONCALL  # for rules that name none
    spec_ref: str = "§5"


def parse_severity_map(pairs: list[str]) -> dict[str, Severity]:
    """`NAME=SEV-N` pairs; ConfigError naming the bad one."""
    found: dict[str, Severity] = {}
    problems = []
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            found[name] = Severity(value)
        except ValueError:
            known = ", ".join(s.value for s in Severity)
            reason = f"{pair!r}: write NAME=SEVERITY, SEVERITY one of {known}"
            problems.append(Problem("--severity", name or pair, reason))
    if problems:
        raise ConfigError(problems)
    return found


def severity_of(labels: Mapping[str, str], options: ImportOptions) -> Severity | str:
    """The catalogue severity of a rule, or why there is none."""
    raw = labels.get(SEVERITY_LABEL)
    if raw is None:
        return "labels.severity is missing (the catalogue needs SEV-1, SEV-2 or SEV-3)"
    if raw in options.severities:
        return options.severities[raw]
    try:
        return Severity(raw)
    except ValueError:
        return (
            f"labels.severity {raw!r} is not a catalogue severity (SEV-1, SEV-2, SEV-3); "
            f"map it with --severity {raw}=SEV-N"
        )


def receiver_of(labels: Mapping[str, str], options: ImportOptions) -> Receiver | str:
    raw = labels.get(RECEIVER_LABEL)
    if raw is None:
        return options.receiver
    try:
        return Receiver(raw)
    except ValueError:
        known = ", ".join(r.value for r in Receiver)
        return f"labels.receiver {raw!r} is not a catalogue receiver ({known})"


def window_names(windows: list[float]) -> dict[float, str]:
    """Placeholder names: the longest window is the main `window` (the budget waits for the
    longest to fill, the safe side), the others `w<duration>`."""
    ordered = sorted(set(windows), reverse=True)
    names = {w: "w" + format_duration(w) for w in ordered[1:]}
    if ordered:
        names[ordered[0]] = "window"
    return names


def write_yaml(path: Path, doc: Mapping[str, Any], header: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, width=float("inf"))
    path.write_text(header + text)
