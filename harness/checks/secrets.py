"""The run's secrets: finding them where they must not be, hiding them where reports copy text.

- no_secret_in_logs (spec §2.1): no secret the run knows (API keys, webhook secret, the
  signatures it sent, payload canary) in any log line or span, in any form it could be written
  (`Secret.forms`: raw, JSON-escaped, percent-encoded, hex, base64 at any alignment), nor the
  value of a sensitive header logged as a (name, value) pair, whatever it is.
- `Masker`: the one way a report hides them. Whatever a report copies from logs, spans, Locust
  output or Prometheus goes through it (results and every form derived from them, Allure steps
  and attachments, the run folder's files, terminal summaries), and it finds exactly what the
  check finds: the forms of `Secret.forms`, or those of the `forms` function it is given.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import quote

from harness.checks.results import Check
from harness.errors import ReportError
from harness.observe.logs import LogEvent, LogStore
from harness.observe.traces import SpanStore

MIN_SECRET_CHARS = 4  # shorter values would match ordinary words and ids
# A secret shorter than this (bytes) is searched raw only: its hex or base64 form would be
# short enough to turn up in trace ids or ordinary text by chance.
MIN_ENCODED_CHARS = 8


@dataclass(frozen=True)
class Secret:
    """A value that must never be logged; `label` names it in messages, the value never is."""

    label: str
    value: str = field(repr=False)

    @property
    def masked(self) -> str:
        head = self.value[:3] if len(self.value) >= 12 else ""
        return f"{head}***({len(self.value)} chars, sha256 {self._digest}…)"

    def forms(self) -> set[str]:
        """The value as it may appear in a line: raw, JSON-escaped, percent-encoded, hex
        (either case) and base64 (standard and URL-safe alphabets)."""
        raw = self.value.encode()
        found = {self.value, json.dumps(self.value)[1:-1], quote(self.value, safe="")}
        if len(raw) < MIN_ENCODED_CHARS:
            return found  # its encodings are short enough to turn up in ids by chance
        return found | {raw.hex(), raw.hex().upper()} | base64_cores(raw)

    @property
    def placeholder(self) -> str:
        """What stands in for the value in a report: ASCII without quotes, commas or angle
        brackets, so it is safe in JSON, XML, HTML, CSV and YAML alike."""
        return f"[masked {self.label} sha256:{self._digest}]"

    @property
    def _digest(self) -> str:
        return hashlib.sha256(self.value.encode()).hexdigest()[:8]


def base64_cores(raw: bytes) -> set[str]:
    """The base64 characters that encode `raw` alone wherever it starts in an encoded blob
    (its offset modulo 3 decides them), without the characters shared with its neighbours:
    `Basic base64(user:key)` or a base64-encoded JSON body holds one of these."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + raw).decode()
        first = -(-offset * 8 // 6)  # the first character made of `raw`'s bits only
        last = (offset + len(raw)) * 8 // 6  # past the last one
        core = encoded[first:last]
        cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


Forms = Callable[[Secret], Iterable[str]]
Doc = TypeVar("Doc")  # a JSON-like document: str, numbers, None, dicts / lists / tuples of them


class Masker:
    """Finds and hides every form of every secret given (values too short to search skipped).

    One alternation of every form, longest first, so a form that contains another is replaced
    whole; the same pattern answers `find` (the check) and `text` (the reports).
    """

    def __init__(self, secrets: Iterable[Secret] = (), forms: Forms = Secret.forms) -> None:
        self.secrets = tuple(s for s in secrets if len(s.value) >= MIN_SECRET_CHARS)
        self._by_form = {f: s for s in self.secrets for f in forms(s) if f}
        ordered = sorted(self._by_form, key=len, reverse=True)
        self._text = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._bytes = re.compile(b"|".join(re.escape(f.encode()) for f in ordered) or b"(?!)")

    def __bool__(self) -> bool:
        return self._text is not None

    def find(self, text: str) -> Secret | None:
        """The secret whose form comes first in `text`, or None."""
        hit = self._text.search(text) if self._text is not None else None
        return self._by_form[hit.group()] if hit is not None else None

    def text(self, text: str) -> str:
        """`text` with every form of every secret replaced by the secret's placeholder."""
        if self._text is None:
            return text
        return self._text.sub(lambda m: self._by_form[m.group()].placeholder, text)

    def data(self, value: Doc) -> Doc:
        """A JSON-like document with every string (keys too) masked; other values as they are
        (tuples become lists, as JSON has them)."""
        if self._text is None:
            return value
        return cast("Doc", self._walk(value))

    def _walk(self, value: object) -> object:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self._walk(k): self._walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._walk(v) for v in value]
        return value

    def file(self, path: Path) -> bool:
        """Mask a file in place (whole or not at all); True when it held a secret."""
        if self._text is None:
            return False
        try:
            data = path.read_bytes()
            if self._bytes.search(data) is None:
                return False
            masked = self._bytes.sub(lambda m: self._placeholder(m.group()), data)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.masking")
            try:
                tmp.write_bytes(masked)
                tmp.replace(path)
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise ReportError(f"cannot mask the secrets in {path}: {exc.strerror or exc}") from exc
        return True

    def tree(self, root: Path, skip: Iterable[str] = ()) -> list[Path]:
        """Mask every file under `root` but the top-level entries named in `skip`; the files
        that held a secret."""
        if self._text is None or not root.is_dir():
            return []
        skipped = {root / name for name in skip}
        masked = []
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            dirs[:] = [d for d in dirs if here / d not in skipped]
            masked += [here / f for f in files if here / f not in skipped and self.file(here / f)]
        return masked

    def _placeholder(self, found: bytes) -> bytes:
        return self._by_form[found.decode()].placeholder.encode()


# Request headers whose value is a credential whatever it is: one logged as a (name, value)
# pair (a header list in JSON or a tuple's repr) or under its name must be hidden.
SENSITIVE_HEADERS = (
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
    "x-wrk-signature", "x-client-secret",
)  # fmt: skip
_Q = r"\\?[\"']"  # a quote, JSON-escaped or not
_HEADER_VALUE = re.compile(
    rf"(?i)(?:[\[(]\s*b?{_Q}(?P<pair>{'|'.join(SENSITIVE_HEADERS)}){_Q}\s*,"
    rf"|{_Q}(?P<key>{'|'.join(SENSITIVE_HEADERS)}){_Q}\s*:)\s*b?{_Q}(?P<value>[^\"'\\]*)"
)
# What a redactor puts in place of a value: it and punctuation are all a hidden value holds.
_MARKERS = re.compile(r"(?i)redacted|masked|hidden|filtered|removed|\W|_")
MAX_MARKER_RESIDUE = 3  # `sha256=[REDACTED]` keeps its scheme; a real value is far longer


# A SHA-256 HMAC in hex, as the webhook's signature header carries it (`sha256=<hex>`).
_HEX_DIGEST = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])")
SENT_SIGNATURE = "webhook signature the run sent"
HEADER_VALUE = " header value"


def sent_signature(text: str, signatures: Collection[str]) -> str | None:
    """A signature of `signatures` (lower-case hex) that `text` holds. One lookup per
    digest-shaped token: the run may send thousands, too many for one alternation."""
    if not signatures:
        return None
    for match in _HEX_DIGEST.finditer(text):
        if match.group().lower() in signatures:
            return match.group()
    return None


def unredacted_header(text: str) -> str | None:
    """The name of a sensitive header whose value `text` shows, as a pair or under its name."""
    lowered = text.lower()
    if not any(name in lowered for name in SENSITIVE_HEADERS):
        return None  # a sixth of the pattern's cost; most lines name no such header
    for match in _HEADER_VALUE.finditer(text):
        value = re.sub(r"(?i)^(sha256=|bearer\s+|basic\s+)", "", match["value"])
        if len(_MARKERS.sub("", value)) > MAX_MARKER_RESIDUE:
            return (match["pair"] or match["key"]).lower()
    return None


@dataclass(frozen=True)
class Leak:
    secret: Secret
    service: str
    file: Path
    line_no: int
    where: str  # the field or attribute holding it, when known

    def describe(self) -> str:
        at = f" in {self.where}" if self.where else ""
        # A header's value is not the run's to know: the label names the header, that is all.
        shown = "unmasked" if self.secret.label.endswith(HEADER_VALUE) else self.secret.masked
        return (
            f"secret {self.secret.label!r} ({shown}) found in {self.service}'s "
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
    signatures: Collection[str] = frozenset(),
) -> list[Leak]:
    """Every line of every service (and every span) holding a secret, first one first."""
    masker = Masker(secrets)
    leaks: list[Leak] = []
    for text in _texts(logs, spans, since):
        for secret in _found(text.raw, masker, signatures):
            where = _holder(text.fields, secret.forms())
            leaks.append(Leak(secret, text.service, text.file, text.line_no, where))
    return leaks


def _found(raw: str, masker: Masker, signatures: Collection[str]) -> list[Secret]:
    """What `raw` leaks, one secret of each kind: a known secret, a signature the run sent,
    and (when neither explains it) a sensitive header's value."""
    found = []
    if (secret := masker.find(raw)) is not None:
        found.append(secret)
    if (digest := sent_signature(raw, signatures)) is not None:
        found.append(Secret(SENT_SIGNATURE, digest))
    elif (header := unredacted_header(raw)) is not None:
        # Its value is unknown to the run (a signature it did not make): name it only.
        found.append(Secret(f"{header}{HEADER_VALUE}", header))
    return found


def no_secret_in_logs(
    scenario: str,
    secrets: Sequence[Secret],
    logs: LogStore,
    spans: SpanStore | None = None,
    since: float | None = None,
    *,
    signatures: Collection[str] = frozenset(),
) -> Check:
    """None of `secrets`, nor of the webhook `signatures` the run sent (hex), appears in any
    log line or span of any service (from `since`)."""
    skipped = [s.label for s in secrets if len(s.value) < MIN_SECRET_CHARS]
    note = (
        f" ({len(skipped)} value(s) shorter than {MIN_SECRET_CHARS} characters not searched: "
        f"{', '.join(skipped)})"
        if skipped
        else ""
    )
    if len(skipped) == len(secrets):
        return Check.of(scenario, "no_secret_in_logs", False, f"no secret to search for{note}")
    leaks = find_leaks(secrets, logs, spans, since, signatures)
    searched = "log lines" + (" and spans" if spans is not None else "")
    if not leaks:
        labels = ", ".join(s.label for s in secrets if s.label not in skipped)
        count = len(secrets) - len(skipped)
        sent = f" nor any of {len(signatures)} {SENT_SIGNATURE}(s)" if signatures else ""
        msg = f"none of {count} secret(s) ({labels}){sent} in any of the {searched}{note}"
        return Check.of(scenario, "no_secret_in_logs", True, msg)
    lines = {(leak.file, leak.line_no): leak.service for leak in leaks}
    where = Counter(lines.values())
    spread = ", ".join(f"{s} x{n}" for s, n in sorted(where.items()))
    which = Counter(leak.secret.label for leak in leaks)
    kinds = ", ".join(f"{label!r} x{n}" for label, n in sorted(which.items()))
    msg = (
        f"expected no secret in the {searched}; {leaks[0].describe()}; "
        f"{len(lines)} line(s) leak in all ({spread}; {kinds}){note}"
    )
    return Check.of(scenario, "no_secret_in_logs", False, msg)
