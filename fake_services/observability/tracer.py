"""A lean OpenTelemetry tracer: the API's Tracer and Span, recording only what the span file holds.

Business code sees the OpenTelemetry API only (`start_as_current_span`, `get_current_span`,
`SpanKind`, `Status`); this is the provider behind it. The SDK's tracer spent about 110 us of CPU
per span (attribute validation, sampler and processor chains, a read-only copy at the end, then
encoding), on every hop of every request: the fakes' largest single overhead. This one keeps the
SDK's semantics that the span file shows (parent-based sampling, W3C ids, status rules, errors
from exceptions) and costs a fraction of that.

Finished spans go to a `SpanSink`, which a background thread writes as JSON lines every
`FLUSH_INTERVAL_S`; span events and links are not kept, as the span file has no place for them.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import Attributes, AttributeValue

from fake_services.observability import json_lines

# Spans reach the file within this delay: the harness reads traces shortly after requests.
FLUSH_INTERVAL_S = 0.2
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
# Ids need uniqueness, not secrecy: the SDK's generator too is the module's Mersenne Twister,
# which Python reseeds in a forked child (a private instance would repeat the parent's ids).
_random_bits = random.getrandbits


class LeanSpan(trace.Span):
    __slots__ = (
        "_attributes",
        "_context",
        "_end",
        "_kind",
        "_name",
        "_parent",
        "_sink",
        "_start",
        "_status",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        context: SpanContext,
        *,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: Attributes,
        start_time: int | None,
        sink: SpanSink,
    ) -> None:
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = kind
        self._start = start_time or time.time_ns()
        self._end: int | None = None
        self._attributes: dict[str, AttributeValue] = {}
        self._status = StatusCode.UNSET
        self._sink = sink
        if attributes:
            self.set_attributes(attributes)

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end is None

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        if self._end is None and value is not None:
            self._attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def update_name(self, name: str) -> None:
        if self._end is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # The SDK's rules: UNSET never overrides, and OK is final.
        code = status.status_code if isinstance(status, Status) else status
        if self._end is None and code is not StatusCode.UNSET and self._status is not StatusCode.OK:
            self._status = code

    def add_event(
        self, name: str, attributes: Attributes = None, timestamp: int | None = None
    ) -> None:
        return None  # the span file has no events

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        return None  # nor links

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        return None  # an event in OpenTelemetry; the status says the span failed

    def end(self, end_time: int | None = None) -> None:
        if self._end is None:
            self._end = end_time or time.time_ns()
            self._sink.add(self)

    def as_dict(self, service: str) -> dict[str, Any]:
        parent = self._parent
        return {
            "trace_id": f"{self._context.trace_id:032x}",
            "span_id": f"{self._context.span_id:016x}",
            "parent_span_id": f"{parent.span_id:016x}" if parent else None,
            "name": self._name,
            "service": service,
            "kind": self._kind.name,
            "start_unix_ns": self._start,
            "end_unix_ns": self._end,
            "status": self._status.name,
            "attributes": self._attributes,
        }


class _CurrentSpan:
    """`start_as_current_span`'s context manager, as a class: cheaper than a generator's.

    No exception is recorded on the span: that is an event, and the span file has none."""

    __slots__ = ("_end", "_set_status", "_span", "_token")

    def __init__(self, span: trace.Span, set_status: bool, end: bool) -> None:
        self._span = span
        self._set_status = set_status
        self._end = end
        self._token: object = None

    def __enter__(self) -> trace.Span:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is not None and self._set_status:
                self._span.set_status(StatusCode.ERROR)  # an ended span ignores it
        finally:
            otel_context.detach(self._token)  # type: ignore[arg-type]
            if self._end:
                self._span.end()


class LeanTracer(trace.Tracer):
    def __init__(self, sink: SpanSink) -> None:
        self._sink = sink

    def start_span(  # noqa: PLR0917 (the API's signature)
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        found = trace.get_current_span(context).get_span_context()
        parent = found if found.is_valid else None
        if parent is None:
            own = SpanContext(_random_bits(128), _random_bits(64), False, _SAMPLED)
        else:
            own = SpanContext(
                parent.trace_id, _random_bits(64), False, parent.trace_flags, parent.trace_state
            )
            if not parent.trace_flags.sampled:  # parent-based sampling: unsampled stays so
                return trace.NonRecordingSpan(own)
        return LeanSpan(
            name, own, parent=parent, kind=kind, attributes=attributes, start_time=start_time,
            sink=self._sink,
        )  # fmt: skip

    def start_as_current_span(  # type: ignore[override]  # noqa: PLR0917 (the API's signature)
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> _CurrentSpan:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        return _CurrentSpan(span, set_status_on_exception, end_on_exit)


class SpanSink:
    """Collects finished spans; writes them as JSON lines to a file, or drops them (no file)."""

    def __init__(self, path: Path | None, service: str) -> None:
        self._path = path
        self._service = service
        # A deque, not a list swapped for a new one: a swap can race an append that already
        # holds the old list, and lose its span. deque's append and popleft are atomic.
        self._pending: deque[LeanSpan] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if path is not None:
            self._thread = threading.Thread(target=self._run, name="span-sink", daemon=True)
            self._thread.start()

    def add(self, span: LeanSpan) -> None:
        if self._path is not None:
            self._pending.append(span)

    def flush(self) -> None:
        with self._lock:  # one writer at a time: lines never interleave
            pending = self._pending
            spans = [pending.popleft() for _ in range(len(pending))]
            if not spans or self._path is None:
                return
            lines = "".join(json_lines.encode(s.as_dict(self._service)) + "\n" for s in spans)
            try:
                with self._path.open("a", encoding="utf-8") as out:
                    out.write(lines)
            except OSError:
                return  # like an exporter's failure: spans are lost, the service goes on

    def shutdown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            self.flush()
