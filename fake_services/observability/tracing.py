"""OpenTelemetry tracing with W3C trace context across HTTP hops (and later queue payloads).

Each service owns its TracerProvider instead of installing the process-global one, so several
services can live in one test process. Spans are exported as JSON lines to WRK_SPAN_FILE when it
is set; otherwise spans still exist (their trace ids reach logs and `traceparent`) but go nowhere.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
# json.dumps with `default` builds an encoder per call; one shared encoder writes the same text.
_ENCODER = json.JSONEncoder(default=str)
# A private generator: ids for unrecorded parents need no security, only uniqueness.
_IDS = random.Random()


def span_to_dict(span: ReadableSpan, service: str) -> dict[str, Any]:
    ctx = span.get_span_context()
    parent = span.parent
    return {
        "trace_id": trace.format_trace_id(ctx.trace_id) if ctx else None,
        "span_id": trace.format_span_id(ctx.span_id) if ctx else None,
        "parent_span_id": trace.format_span_id(parent.span_id) if parent else None,
        "name": span.name,
        "service": service,
        "kind": span.kind.name if span.kind else None,
        "start_unix_ns": span.start_time,
        "end_unix_ns": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per finished span to a file the harness reads."""

    def __init__(self, path: Path, service: str) -> None:
        self._path = path
        self._service = service
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(_ENCODER.encode(span_to_dict(s, self._service)) + "\n" for s in spans)
        try:
            with self._lock, self._path.open("a", encoding="utf-8") as out:
                out.write(lines)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


@dataclass(frozen=True)
class Tracing:
    provider: TracerProvider
    tracer: trace.Tracer

    def shutdown(self) -> None:
        self.provider.shutdown()


def create_tracing(service: str, span_file: Path | None) -> Tracing:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if span_file is not None:
        exporter = JsonLinesSpanExporter(span_file, service)
        # Batching keeps file I/O off the request path; a short delay keeps spans fresh.
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200))
    return Tracing(provider=provider, tracer=provider.get_tracer("fake_services"))


class _HeaderGetter(Getter[Mapping[str, str]]):
    """The default getter's answers for a mapping of plain strings, without its ABC checks."""

    def get(self, carrier: Mapping[str, str], key: str) -> list[str] | None:
        value = carrier.get(key)
        return None if value is None else [value]

    def keys(self, carrier: Mapping[str, str]) -> list[str]:
        return list(carrier)


_GETTER = _HeaderGetter()


def extract(headers: Mapping[str, str]) -> otel_context.Context:
    """The remote parent named by an incoming `traceparent`, if any."""
    if "traceparent" not in headers:
        return otel_context.Context()  # what the propagator answers without one
    return _PROPAGATOR.extract(headers, getter=_GETTER)


def inject(carrier: MutableMapping[str, str]) -> None:
    """Write `traceparent` for the current span into outgoing headers or a queue payload."""
    _PROPAGATOR.inject(carrier)


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return trace.format_trace_id(ctx.trace_id) if ctx.is_valid else None


@contextmanager
def untraced() -> Iterator[None]:
    """Spans started inside are not recorded: for periodic housekeeping (gauge refreshes,
    reapers), which would otherwise add a trace every second and bury the requests'.

    It works through the default ParentBased sampler: a valid but unsampled parent makes every
    child unsampled.
    """
    parent = trace.SpanContext(
        trace_id=_IDS.getrandbits(128) or 1,
        span_id=_IDS.getrandbits(64) or 1,
        is_remote=False,
        trace_flags=trace.TraceFlags(0),
    )
    with trace.use_span(trace.NonRecordingSpan(parent)):
        yield
