"""OpenTelemetry tracing (the SDK) with W3C trace context across HTTP hops and queue payloads.

Each service owns its TracerProvider instead of installing the process-global one, so several
services can live in one test process. Spans are written as JSON lines to WRK_SPAN_FILE when it
is set (observability.span_file); otherwise spans still exist (their trace ids reach logs and
`traceparent`) but go nowhere.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from fake_services.observability.redaction import Redactor
from fake_services.observability.span_file import SpanFileExporter

_PROPAGATOR = TraceContextTextMapPropagator()
# Spans reach the file within this delay: the harness reads traces shortly after requests.
EXPORT_DELAY_MS = 200
# Finished spans waiting for the export thread; more are dropped. The SDK's 2048 is a few
# seconds of a busy service's spans: a stalled disk or a GC pause must not cost a trace.
EXPORT_QUEUE = 65536


@dataclass(frozen=True)
class Tracing:
    provider: TracerProvider
    tracer: trace.Tracer
    exporter: SpanFileExporter | None

    def redact_with(self, redactor: Redactor) -> None:
        """The redactor for what spans carry from outside (exception messages)."""
        if self.exporter is not None:
            self.exporter.redactor = redactor

    def shutdown(self) -> None:
        self.provider.shutdown()  # exports what is still queued


def create_tracing(
    service: str, span_file: Path | None, redactor: Redactor | None = None
) -> Tracing:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = None
    if span_file is not None:
        exporter = SpanFileExporter(span_file, service, redactor or Redactor())
        # Batched on the SDK's own thread: file writes stay off the event loop.
        processor = BatchSpanProcessor(
            exporter, max_queue_size=EXPORT_QUEUE, schedule_delay_millis=EXPORT_DELAY_MS
        )
        provider.add_span_processor(processor)
    tracer = provider.get_tracer("fake_services")
    return Tracing(provider=provider, tracer=tracer, exporter=exporter)


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

    It works through parent-based sampling: a valid but unsampled parent makes every child
    unsampled.
    """
    parent = trace.SpanContext(
        trace_id=random.getrandbits(128) or 1,
        span_id=random.getrandbits(64) or 1,
        is_remote=False,
        trace_flags=trace.TraceFlags(0),
    )
    with trace.use_span(trace.NonRecordingSpan(parent)):
        yield
