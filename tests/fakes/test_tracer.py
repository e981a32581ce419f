"""The fakes' tracing (the OpenTelemetry SDK, spans exported to the span file): what reaches
the file, exception records, parent-based sampling, status rules."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from fake_services.observability import Redactor
from fake_services.observability.tracing import create_tracing, extract, inject, untraced

from ._spans import read_spans


def test_parent_and_child_reach_the_span_file_with_their_ids(tmp_path: Path) -> None:
    tracing = create_tracing("core", tmp_path / "spans.jsonl")
    with tracing.tracer.start_as_current_span(
        "GET /v1/x", kind=SpanKind.SERVER, attributes={"http.method": "GET"}
    ) as server:
        with tracing.tracer.start_as_current_span("db select t", kind=SpanKind.CLIENT):
            trace.get_current_span().set_attribute("db.lock_table", "t")
        server.set_attribute("http.status_code", 200)
    tracing.shutdown()
    child, parent = read_spans(tmp_path / "spans.jsonl")
    assert parent["parent_span_id"] is None
    assert child["parent_span_id"] == parent["span_id"]
    assert child["trace_id"] == parent["trace_id"]
    assert len(str(parent["trace_id"])) == 32 and len(str(parent["span_id"])) == 16
    assert parent["kind"] == "SERVER" and child["kind"] == "CLIENT"
    assert parent["service"] == "core"
    assert parent["attributes"] == {"http.method": "GET", "http.status_code": 200}
    assert child["attributes"] == {"db.lock_table": "t"}
    assert parent["status"] == "UNSET"
    assert int(str(parent["start_unix_ns"])) <= int(str(child["start_unix_ns"]))
    assert int(str(child["end_unix_ns"])) <= int(str(parent["end_unix_ns"]))


def test_an_exception_marks_the_span_failed_is_recorded_and_still_ends_it(tmp_path: Path) -> None:
    tracing = create_tracing(
        "core", tmp_path / "spans.jsonl", Redactor(frozenset({"s3cr3t-v4lue"}))
    )
    with pytest.raises(KeyError), tracing.tracer.start_as_current_span("work"):
        raise KeyError("boom with s3cr3t-v4lue and password=hunter2")
    assert not trace.get_current_span().get_span_context().is_valid  # context restored
    tracing.shutdown()
    (span,) = read_spans(tmp_path / "spans.jsonl")
    assert span["status"] == "ERROR"
    (event,) = span["events"]
    assert event["name"] == "exception"
    assert event["time_unix_ns"] >= span["start_unix_ns"]
    attributes = event["attributes"]
    assert attributes["exception.type"] == "KeyError"
    assert "boom with [REDACTED]" in attributes["exception.message"]
    assert "raise KeyError" in attributes["exception.stacktrace"]
    text = (tmp_path / "spans.jsonl").read_text()
    assert "s3cr3t-v4lue" not in text and "hunter2" not in text


def test_events_and_links_reach_the_span_file(tmp_path: Path) -> None:
    tracing = create_tracing("core", tmp_path / "spans.jsonl")
    with tracing.tracer.start_as_current_span("first") as first:
        pass
    link = trace.Link(first.get_span_context(), {"why": "retry"})
    with tracing.tracer.start_as_current_span("second", links=[link]) as second:
        second.add_event("job deferred", {"retry_in_s": 2.5})
    tracing.shutdown()
    _, written = read_spans(tmp_path / "spans.jsonl")
    assert [(e["name"], e["attributes"]) for e in written["events"]] == [
        ("job deferred", {"retry_in_s": 2.5})
    ]
    (linked,) = written["links"]
    assert linked["span_id"] == format(first.get_span_context().span_id, "016x")
    assert linked["attributes"] == {"why": "retry"}


def test_status_rules_follow_opentelemetry(tmp_path: Path) -> None:
    tracing = create_tracing("core", tmp_path / "spans.jsonl")
    with tracing.tracer.start_as_current_span("unset-ignored") as span:
        span.set_status(Status(StatusCode.ERROR))
        span.set_status(StatusCode.UNSET)
    with tracing.tracer.start_as_current_span("ok-is-final") as span:
        span.set_status(StatusCode.OK)
        span.set_status(Status(StatusCode.ERROR))
    tracing.shutdown()
    assert [s["status"] for s in read_spans(tmp_path / "spans.jsonl")] == ["ERROR", "OK"]


def test_an_unsampled_parent_keeps_its_children_out_of_the_file(tmp_path: Path) -> None:
    tracing = create_tracing("core", tmp_path / "spans.jsonl")
    with untraced(), tracing.tracer.start_as_current_span("housekeeping") as span:
        assert not span.is_recording()
        assert span.get_span_context().is_valid  # still carries ids for logs
    with tracing.tracer.start_as_current_span("request"):
        pass
    tracing.shutdown()
    assert [s["name"] for s in read_spans(tmp_path / "spans.jsonl")] == ["request"]


def test_a_remote_parent_from_traceparent_is_continued(tmp_path: Path) -> None:
    tracing = create_tracing("edge", tmp_path / "spans.jsonl")
    with tracing.tracer.start_as_current_span("edge") as edge:
        headers: dict[str, str] = {}
        inject(headers)
    other = create_tracing("core", tmp_path / "spans.jsonl")
    with other.tracer.start_as_current_span("core", context=extract(headers)) as core:
        assert core.get_span_context().trace_id == edge.get_span_context().trace_id
    tracing.shutdown()
    other.shutdown()
    names = {s["name"]: s for s in read_spans(tmp_path / "spans.jsonl")}
    assert names["core"]["parent_span_id"] == names["edge"]["span_id"]


def test_without_a_span_file_spans_exist_but_nothing_is_kept(tmp_path: Path) -> None:
    tracing = create_tracing("core", None)
    with tracing.tracer.start_as_current_span("request") as span:
        assert span.is_recording() and span.get_span_context().is_valid
    tracing.shutdown()
    assert list(tmp_path.iterdir()) == []


def test_an_ended_span_changes_no_more(tmp_path: Path) -> None:
    tracing = create_tracing("core", tmp_path / "spans.jsonl")
    span = tracing.tracer.start_span("once")
    span.end()
    span.set_attribute("late", 1)
    span.set_status(StatusCode.ERROR)
    span.end()  # a second end does not write it twice
    tracing.shutdown()
    (written,) = read_spans(tmp_path / "spans.jsonl")
    assert written["attributes"] == {} and written["status"] == "UNSET"


def test_no_span_is_lost_while_the_exporter_writes_concurrently(tmp_path: Path) -> None:
    tracing = create_tracing("core", tmp_path / "spans.jsonl")
    per_thread, threads = 3000, 4

    def produce() -> None:
        for _ in range(per_thread):
            tracing.tracer.start_span("work").end()

    workers = [threading.Thread(target=produce) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    tracing.shutdown()
    spans = read_spans(tmp_path / "spans.jsonl")
    assert len(spans) == per_thread * threads
    assert len({s["span_id"] for s in spans}) == len(spans)
