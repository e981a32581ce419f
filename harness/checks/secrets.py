"""no_secret_in_logs (spec §2.1): no API key, webhook secret or payload canary in any log line
or span, in any form it could be written (raw, JSON-escaped, percent-encoded)."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from harness.checks.results import Check
from harness.observe.logs import LogEvent, LogStore
from harness.observe.traces import SpanStore

MIN_SECRET_CHARS = 4  # shorter values would match ordinary words and ids


@dataclass(frozen=True)
class Secret:
    """A value that must never be logged; `label` names it in messages, the value never is."""

    label: str
    value: str = field(repr=False)

    @property
    def masked(self) -> str:
        digest = hashlib.sha256(self.value.encode()).hexdigest()[:8]
        head = self.value[:3] if len(self.value) >= 12 else ""
        return f"{head}***({len(self.value)} chars, sha256 {digest}…)"

    def forms(self) -> set[str]:
        """The value as it may appear in a line: raw, JSON-escaped, percent-encoded."""
        return {self.value, json.dumps(self.value)[1:-1], quote(self.value, safe="")}


@dataclass(frozen=True)
class Leak:
    secret: Secret
    service: str
    file: Path
    line_no: int
    where: str  # the field or attribute holding it, when known

    def describe(self) -> str:
        at = f" in {self.where}" if self.where else ""
        return (
            f"secret {self.secret.label!r} ({self.secret.masked}) found in {self.service}'s "
            f"{self.file.name} line {self.line_no}{at}"
        )


@dataclass(frozen=True)
class _Text:
    service: str
    file: Path
    line_no: int
    raw: str
    fields: Mapping[str, object]


def _texts(logs: LogStore, spans: SpanStore | None, since: float | None) -> Iterator[_Text]:
    for record in logs.records(since=since):
        fields = record.fields if isinstance(record, LogEvent) else {}
        yield _Text(record.service, record.file, record.line_no, record.raw, fields)
    if spans is None:
        return
    for span in spans.spans(since=since):
        yield _Text(span.service, span.file, span.line_no, span.raw, span.attributes)
    for bad in spans.bad_lines():
        yield _Text(bad.source, bad.file, bad.line_no, bad.raw, {})


def _holder(fields: Mapping[str, object], forms: set[str]) -> str:
    for key, value in fields.items():
        if any(f in str(value) for f in forms):
            return f"field {key!r}"
    return ""


def find_leaks(
    secrets: Sequence[Secret],
    logs: LogStore,
    spans: SpanStore | None = None,
    since: float | None = None,
) -> list[Leak]:
    """Every line of every service (and every span) holding a secret, first one first."""
    usable = [s for s in secrets if len(s.value) >= MIN_SECRET_CHARS]
    if not usable:
        return []
    forms = {form: s for s in usable for form in s.forms()}
    pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
    leaks: list[Leak] = []
    for text in _texts(logs, spans, since):
        hit = pattern.search(text.raw)
        if hit is None:
            continue
        secret = forms[hit.group()]
        where = _holder(text.fields, secret.forms())
        leaks.append(Leak(secret, text.service, text.file, text.line_no, where))
    return leaks


def no_secret_in_logs(
    scenario: str,
    secrets: Sequence[Secret],
    logs: LogStore,
    spans: SpanStore | None = None,
    since: float | None = None,
) -> Check:
    """None of `secrets` appears in any log line or span of any service (from `since`)."""
    skipped = [s.label for s in secrets if len(s.value) < MIN_SECRET_CHARS]
    note = (
        f" ({len(skipped)} value(s) shorter than {MIN_SECRET_CHARS} characters not searched: "
        f"{', '.join(skipped)})"
        if skipped
        else ""
    )
    if len(skipped) == len(secrets):
        return Check.of(scenario, "no_secret_in_logs", False, f"no secret to search for{note}")
    leaks = find_leaks(secrets, logs, spans, since)
    searched = "log lines" + (" and spans" if spans is not None else "")
    if not leaks:
        labels = ", ".join(s.label for s in secrets if s.label not in skipped)
        count = len(secrets) - len(skipped)
        msg = f"none of {count} secret(s) ({labels}) in any of the {searched}{note}"
        return Check.of(scenario, "no_secret_in_logs", True, msg)
    where = Counter(leak.service for leak in leaks)
    spread = ", ".join(f"{s} x{n}" for s, n in sorted(where.items()))
    msg = (
        f"expected no secret in the {searched}; {leaks[0].describe()}; "
        f"{len(leaks)} line(s) leak in all ({spread}){note}"
    )
    return Check.of(scenario, "no_secret_in_logs", False, msg)
