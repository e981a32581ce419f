"""The span file: OpenTelemetry's finished spans as JSON lines, the format the harness reads.

One object per span: trace_id, span_id, parent_span_id, name, service, kind, start_unix_ns,
end_unix_ns, status, attributes, and the span's events (an exception recorded on the span is
one: exception.type, .message, .stacktrace) and links. Event attributes pass through the
service's redactor, as log lines do: an exception's message can quote what a client sent.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from fake_services.observability.json_lines import encode
from fake_services.observability.redaction import Redactor


def _event(event: Event, redactor: Redactor) -> dict[str, Any]:
    return {
        "name": event.name,
        "time_unix_ns": event.timestamp,
        "attributes": redactor.redact(dict(event.attributes or {})),
    }


def span_record(span: ReadableSpan, service: str, redactor: Redactor) -> dict[str, Any]:
    ctx = span.get_span_context()
    parent = span.parent
    return {
        "trace_id": trace.format_trace_id(ctx.trace_id) if ctx else None,
        "span_id": trace.format_span_id(ctx.span_id) if ctx else None,
        "parent_span_id": trace.format_span_id(parent.span_id) if parent else None,
        "name": span.name,
        "service": service,
        "kind": span.kind.name,
        "start_unix_ns": span.start_time,
        "end_unix_ns": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "events": [_event(e, redactor) for e in span.events],
        "links": [
            {
                "trace_id": trace.format_trace_id(link.context.trace_id),
                "span_id": trace.format_span_id(link.context.span_id),
                "attributes": dict(link.attributes or {}),
            }
            for link in span.links
        ],
    }


class SpanFileExporter(SpanExporter):
    """Appends one JSON line per finished span to `path` (several services may share it: each
    export is one append of whole lines)."""

    def __init__(self, path: Path, service: str, redactor: Redactor) -> None:
        self._path = path
        self._service = service
        self._lock = threading.Lock()
        self.redactor = redactor  # replaced once the service knows its secrets

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        redactor = self.redactor
        lines = "".join(encode(span_record(s, self._service, redactor)) + "\n" for s in spans)
        try:
            with self._lock, self._path.open("a", encoding="utf-8") as out:
                out.write(lines)
        except OSError:
            return SpanExportResult.FAILURE  # the spans are lost; the service goes on
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every export is written when it returns
