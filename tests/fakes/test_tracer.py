"""The fakes' tracer: what reaches the span file, parent-based sampling, status rules."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from fake_services.observability.tracing import create_tracing, extract, inject, untraced

from ._spans import read_spans


def test_parent_and_child_reach_the_span_file_with_their_ids(tmp_path: Path) -> None:
    tracing = create_tracing("core", tmp_path / "spans.jsonl")
    with tracing.tracer.start_as_current_span(
        "GET /v1/x", kind=SpanKind.SERVER, attributes={"http.method": "GET", "skipped": None}
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


def test_an_exception_marks_the_span_failed_and_still_ends_it(tmp_path: Path) -> None:
    tracing = create_tracing("core", tmp_path / "spans.jsonl")
    with pytest.raises(KeyError), tracing.tracer.start_as_current_span("work"):
        raise KeyError("boom")
    assert not trace.get_current_span().get_span_context().is_valid  # context restored
    tracing.shutdown()
    (span,) = read_spans(tmp_path / "spans.jsonl")
    assert span["status"] == "ERROR"


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


def test_no_span_is_lost_while_the_sink_writes_concurrently(tmp_path: Path) -> None:
    tracing = create_tracing("core", tmp_path / "spans.jsonl")
    per_thread, threads = 3000, 4

    def produce() -> None:
        for _ in range(per_thread):
            tracing.tracer.start_span("work").end()

    workers = [threading.Thread(target=produce) for _ in range(threads)]
    for worker in workers:
        worker.start()
    while any(worker.is_alive() for worker in workers):
        tracing.sink.flush()  # beside the sink's own thread: two writers racing the producers
    tracing.shutdown()
    spans = read_spans(tmp_path / "spans.jsonl")
    assert len(spans) == per_thread * threads
    assert len({s["span_id"] for s in spans}) == len(spans)
