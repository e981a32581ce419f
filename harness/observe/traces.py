"""Trace evidence: the spans every service writes as JSON lines, grouped into traces.

Each service appends one JSON object per finished span to `<span_dir>/<service>.jsonl`:
trace_id, span_id, parent_span_id, name, service, kind, start_unix_ns, end_unix_ns, status,
attributes. The store reads the files incrementally (as `LogStore` does) and answers the
question spec §2.3 asks: did a request travel the whole path (API request → DB calls → worker
enqueue; webhook → DB → worker) in ONE trace whose parent links are intact?

A path is data (`TracePath`: an ordered list of `Hop`s, each a list of alternative
`SpanMatch`es), so the span names and attributes a hop accepts are adjusted in one place.
Matching prefers OpenTelemetry semantic conventions (span kind, `db.system`,
`messaging.destination.name`, `http.route`) over span names, so a real deployment
instrumented by the book matches the same paths.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.observe.logs import Clock, LineFiles, RawLine

SPAN_SUFFIX = ".jsonl"
NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Span:
    """One finished span."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    service: str  # the span's own `service` field, else its file's name
    kind: str | None  # SERVER | CLIENT | PRODUCER | CONSUMER | INTERNAL
    start_ns: int
    end_ns: int | None
    status: str | None
    file: Path
    line_no: int
    raw: str = field(compare=False, repr=False)
    attributes: Mapping[str, object] = field(compare=False, repr=False)

    @property
    def start_s(self) -> float:
        return self.start_ns / NS

    def label(self) -> str:
        """How messages name the span."""
        return f"{self.service}:{self.kind or '?'} {self.name!r}"


@dataclass(frozen=True, slots=True)
class BadSpanLine:
    """A line of a span file that is not a usable span."""

    source: str
    file: Path
    line_no: int
    raw: str
    reason: str


def _str(doc: Mapping[str, object], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) and value else None


def _int(doc: Mapping[str, object], key: str) -> int | None:
    value = doc.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_span_line(line: RawLine) -> Span | BadSpanLine:
    def bad(reason: str) -> BadSpanLine:
        return BadSpanLine(line.source, line.file, line.line_no, line.text, reason)

    try:
        doc = json.loads(line.text)
    except ValueError:
        return bad("not JSON")
    if not isinstance(doc, dict):
        return bad("not a JSON object")
    trace_id, span_id = _str(doc, "trace_id"), _str(doc, "span_id")
    start = _int(doc, "start_unix_ns")
    if trace_id is None or span_id is None or start is None:
        return bad("no trace_id, span_id or start_unix_ns")
    attributes = doc.get("attributes")
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=_str(doc, "parent_span_id"),
        name=_str(doc, "name") or "",
        service=_str(doc, "service") or line.source,
        kind=_str(doc, "kind"),
        start_ns=start,
        end_ns=_int(doc, "end_unix_ns"),
        status=_str(doc, "status"),
        file=line.file,
        line_no=line.line_no,
        raw=line.text,
        attributes=attributes if isinstance(attributes, dict) else {},
    )


class SpanStore:
    """Every service's spans, read once, indexed by trace id."""

    def __init__(
        self, span_dir: Path, services: Iterable[str] | None = None, clock: Clock = time.time
    ) -> None:
        self.span_dir = span_dir
        self._files = LineFiles(span_dir, SPAN_SUFFIX, services, clock)
        self._by_trace: dict[str, list[Span]] = {}
        self._bad: list[BadSpanLine] = []

    def refresh(self, final: bool = False) -> int:
        """Parse what was appended since the last refresh; returns how many lines were new."""
        new = self._files.read_new(final)
        for line in new:
            parsed = parse_span_line(line)
            if isinstance(parsed, Span):
                self._by_trace.setdefault(parsed.trace_id, []).append(parsed)
            else:
                self._bad.append(parsed)
        return len(new)

    def spans(self, since: float | None = None, until: float | None = None) -> list[Span]:
        """Every span starting in [since, until] (unix seconds; None: unbounded)."""
        self.refresh()
        return [
            s for spans in self._by_trace.values() for s in spans if _starts_in(s, since, until)
        ]

    def bad_lines(self) -> list[BadSpanLine]:
        self.refresh()
        return list(self._bad)

    def trace(self, trace_id: str) -> list[Span]:
        self.refresh()
        return list(self._by_trace.get(trace_id, ()))

    def traces(
        self, since: float | None = None, until: float | None = None
    ) -> dict[str, list[Span]]:
        """Traces with at least one span starting in [since, until], each with ALL its spans
        (a worker span of the trace may start after `until`)."""
        self.refresh()
        return {
            trace_id: list(spans)
            for trace_id, spans in self._by_trace.items()
            if any(_starts_in(s, since, until) for s in spans)
        }


def _starts_in(span: Span, since: float | None, until: float | None) -> bool:
    return (since is None or span.start_ns >= since * NS) and (
        until is None or span.start_ns <= until * NS
    )


# -- predicates and paths -----------------------------------------------------------------


@dataclass(frozen=True)
class Attr:
    """A condition on one attribute, looked up under alternative keys (the current semantic
    convention name first, then older ones, e.g. `messaging.destination.name` then
    `messaging.destination`). Without `equals` or `prefix`, the attribute must be present."""

    keys: tuple[str, ...]
    equals: str | None = None
    prefix: str | None = None

    def value(self, attributes: Mapping[str, object]) -> object | None:
        for key in self.keys:
            if attributes.get(key) not in (None, ""):
                return attributes[key]
        return None

    def test(self, attributes: Mapping[str, object]) -> bool:
        value = self.value(attributes)
        if value is None:
            return False
        if self.equals is not None and str(value) != self.equals:
            return False
        return self.prefix is None or str(value).startswith(self.prefix)

    def describe(self) -> str:
        key = "|".join(self.keys)
        if self.equals is not None:
            return f"{key}={self.equals}"
        if self.prefix is not None:
            return f"{key}={self.prefix}*"
        return key


@dataclass(frozen=True)
class SpanMatch:
    """A predicate over one span; every given condition must hold."""

    service: str | None = None
    kind: str | None = None
    name_prefix: str | None = None
    attrs: tuple[Attr, ...] = ()

    def matches(self, span: Span) -> bool:
        return (
            (self.service is None or span.service == self.service)
            and (self.kind is None or span.kind == self.kind)
            and (self.name_prefix is None or span.name.startswith(self.name_prefix))
            and all(a.test(span.attributes) for a in self.attrs)
        )

    def describe(self) -> str:
        parts = [
            f"service {self.service}" if self.service else "",
            f"kind {self.kind}" if self.kind else "",
            f"name {self.name_prefix}*" if self.name_prefix else "",
            *(a.describe() for a in self.attrs),
        ]
        return "span with " + ", ".join(p for p in parts if p) if any(parts) else "any span"


@dataclass(frozen=True)
class Hop:
    """One step of a path; a span satisfying any of `any_of` is the hop."""

    name: str
    any_of: tuple[SpanMatch, ...]

    def matches(self, span: Span) -> bool:
        return any(m.matches(span) for m in self.any_of)

    def describe(self) -> str:
        return " or ".join(m.describe() for m in self.any_of)


@dataclass(frozen=True)
class TracePath:
    """Spans that must appear, in this order, in one trace.

    Every hop after the first must be a descendant of the first hop's span (reached through
    parent links) and start no earlier than the previous hop's span: the DB call and the
    enqueue are both inside the request, the enqueue after the call.
    """

    name: str
    description: str
    hops: tuple[Hop, ...]


@dataclass(frozen=True)
class PathResult:
    """How far one trace got along a path."""

    trace_id: str
    reached: int  # hops matched in order (len(path.hops): complete)
    spans: tuple[Span, ...]  # the spans matched, one per reached hop
    broken_link: Span | None  # a span whose parent is not in the trace, if any
    roots: int  # spans whose parent is not in the trace (1 in an intact trace)

    @property
    def connected(self) -> bool:
        return self.roots == 1 and self.broken_link is None


def _children(spans: Sequence[Span]) -> dict[str, list[Span]]:
    children: dict[str, list[Span]] = {}
    for span in spans:
        if span.parent_span_id is not None:
            children.setdefault(span.parent_span_id, []).append(span)
    return children


def _subtree(top: Span, children: Mapping[str, list[Span]]) -> list[Span]:
    found, stack = [], [top]
    while stack:
        span = stack.pop()
        found.append(span)
        stack += children.get(span.span_id, [])
    return found


def continuity(spans: Sequence[Span]) -> tuple[int, Span | None]:
    """(number of roots, first span whose parent id names no span of the trace).

    A root is a span whose parent is not in the trace: one root is an intact trace (its
    parent may be the caller's, outside the system); a second one is a broken link.
    """
    ids = {s.span_id for s in spans}
    orphans = sorted(
        (s for s in spans if s.parent_span_id is None or s.parent_span_id not in ids),
        key=lambda s: s.start_ns,
    )
    # The earliest orphan is taken as the trace's root (its parent, if named, is the caller's);
    # any later span naming a parent that is not there is where the trace was cut.
    broken = next((s for s in orphans[1:] if s.parent_span_id is not None), None)
    return len(orphans), broken


def follow(path: TracePath, trace_id: str, spans: Sequence[Span]) -> PathResult:
    """The longest prefix of `path` this trace satisfies.

    Greedy is exact here: for each candidate first span, taking at every hop the earliest
    qualifying span leaves the most room for the hops after it.
    """
    roots, broken = continuity(spans)
    children = _children(spans)
    best: tuple[Span, ...] = ()
    for first in sorted((s for s in spans if path.hops[0].matches(s)), key=lambda s: s.start_ns):
        below = sorted(_subtree(first, children), key=lambda s: s.start_ns)
        chain = [first]
        for hop in path.hops[1:]:
            after = chain[-1].start_ns
            nxt = next(
                (s for s in below if s.start_ns >= after and hop.matches(s) and _unused(s, chain)),
                None,
            )
            if nxt is None:
                break
            chain.append(nxt)
        if len(chain) > len(best):
            best = tuple(chain)
        if len(best) == len(path.hops):
            break
    return PathResult(trace_id, len(best), best, broken, roots)


def _unused(span: Span, chain: Sequence[Span]) -> bool:
    return all(span is not taken for taken in chain)


def follow_all(path: TracePath, traces: Mapping[str, Sequence[Span]]) -> list[PathResult]:
    return [follow(path, trace_id, spans) for trace_id, spans in traces.items()]


# -- the paths of spec §2.3 ---------------------------------------------------------------
# Adjust names here when a service's instrumentation changes; checks read only these.

DB_SYSTEM = ("db.system.name", "db.system")  # renamed in semantic conventions 1.26
MESSAGING_SYSTEM = ("messaging.system",)
MESSAGING_DESTINATION = ("messaging.destination.name", "messaging.destination")
HTTP_ROUTE = ("http.route",)

DB_CALL = Hop(
    "db call",
    (SpanMatch(kind="CLIENT", attrs=(Attr(DB_SYSTEM),)), SpanMatch(name_prefix="db ")),
)

API_TO_ENQUEUE = TracePath(
    name="api_db_enqueue",
    description="API request → DB calls → worker enqueue",
    hops=(
        Hop(
            "edge server", (SpanMatch("edge", "SERVER", attrs=(Attr(HTTP_ROUTE, prefix="/v1/"),)),)
        ),
        Hop("core server", (SpanMatch("core", "SERVER"),)),
        DB_CALL,
        Hop("worker enqueue", (SpanMatch(kind="PRODUCER", attrs=(Attr(MESSAGING_SYSTEM),)),)),
    ),
)

WEBHOOK_TO_USAGE_WORKER = TracePath(
    name="webhook_db_usage_worker",
    description="Webhook → DB → worker (usage aggregation)",
    hops=(
        Hop(
            "webhook server",
            (SpanMatch(kind="SERVER", attrs=(Attr(HTTP_ROUTE, prefix="/v1/webhooks/"),)),),
        ),
        DB_CALL,
        Hop(
            "usage aggregation worker",
            (
                SpanMatch(
                    kind="CONSUMER",
                    attrs=(Attr(MESSAGING_DESTINATION, equals="usage-aggregation"),),
                ),
            ),
        ),
    ),
)

SPEC_PATHS: Mapping[str, TracePath] = {p.name: p for p in (API_TO_ENQUEUE, WEBHOOK_TO_USAGE_WORKER)}
