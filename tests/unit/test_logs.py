"""LogStore: typed events from JSON log lines, read incrementally, queried by window and id."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from harness.observe.logs import (
    SUPERVISOR_MARKER,
    LogEvent,
    LogStore,
    UnparsedLine,
    parse_rfc3339,
)

T0 = 1_800_000_000.0


def stamp(t: float) -> str:
    whole = int(t)
    millis = round((t - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def line(t: float, **fields: Any) -> str:
    return json.dumps({"timestamp": stamp(t), "level": "INFO", "message": "m", **fields})


def write(path: Path, *lines: str, newline: bool = True) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + ("\n" if newline else ""))


def test_events_are_typed_with_the_service_from_the_file_name(tmp_path: Path) -> None:
    write(
        tmp_path / "core.log",
        line(
            T0 + 0.25,
            level="ERROR",
            request_id="req-00000001",
            trace_id="ab" * 16,
            tenant_id="t1",
            user_id="u1",
            route="/v1/automations",
            method="POST",
            status=503,
            error_code="wrk_platform_unavailable",
            resource_type="automation",
            resource_id="a1",
            job_type=None,
        ),
    )
    (event,) = LogStore(tmp_path).events()
    assert event.service == "core"
    assert event.timestamp == pytest.approx(T0 + 0.25)
    assert event.at == event.timestamp
    assert (event.level, event.message, event.status, event.method) == ("ERROR", "m", 503, "POST")
    assert (event.request_id, event.tenant_id, event.user_id) == ("req-00000001", "t1", "u1")
    assert (event.route, event.error_code, event.job_type) == (
        "/v1/automations",
        "wrk_platform_unavailable",
        None,
    )
    assert (event.resource_type, event.resource_id, event.trace_id) == (
        "automation",
        "a1",
        "ab" * 16,
    )
    assert event.fields["status"] == 503
    assert (event.line_no, event.file.name) == (1, "core.log")
    assert json.loads(event.raw)["request_id"] == "req-00000001"


def test_non_json_lines_are_kept_as_unparsed_and_the_supervisor_marker_is_not(
    tmp_path: Path,
) -> None:
    write(
        tmp_path / "edge.log",
        SUPERVISOR_MARKER + "python -m fake_services edge",
        line(T0, request_id="req-00000001"),
        "Traceback (most recent call last):",
        "[1, 2]",
    )
    store = LogStore(tmp_path)
    assert len(store.events()) == 1
    trace_line, array = store.unparsed()
    assert isinstance(trace_line, UnparsedLine)
    assert (trace_line.service, trace_line.line_no, trace_line.reason) == ("edge", 3, "not JSON")
    assert array.reason == "not a JSON object"
    # Placed on the timeline where it was written: after the line before it.
    assert trace_line.at == pytest.approx(T0)


def test_an_event_without_a_valid_timestamp_takes_the_previous_lines_time(tmp_path: Path) -> None:
    write(
        tmp_path / "core.log",
        line(T0 + 1),
        json.dumps({"level": "INFO", "message": "no time"}),
        json.dumps({"timestamp": "2027-01-15 10:00:00", "level": "INFO"}),  # no offset
    )
    _, missing, naive = LogStore(tmp_path).events()
    assert missing.timestamp is None and missing.at == pytest.approx(T0 + 1)
    assert naive.timestamp is None and naive.at == pytest.approx(T0 + 1)


def test_reads_incrementally_and_waits_for_a_partial_last_line(tmp_path: Path) -> None:
    log = tmp_path / "core.log"
    write(log, line(T0, request_id="req-00000001"))
    store = LogStore(tmp_path)
    assert store.refresh() == 1
    assert store.refresh() == 0  # nothing new: nothing re-read
    half = line(T0 + 1, request_id="req-00000002")
    write(log, half[:20], newline=False)
    assert store.refresh() == 0
    assert [e.request_id for e in store.events()] == ["req-00000001"]
    write(log, half[20:])
    assert store.refresh() == 1
    assert [e.request_id for e in store.events()] == ["req-00000001", "req-00000002"]
    assert [e.line_no for e in store.events()] == [1, 2]


def test_final_refresh_takes_an_unterminated_last_line(tmp_path: Path) -> None:
    write(tmp_path / "core.log", line(T0, request_id="req-00000003"), newline=False)
    store = LogStore(tmp_path)
    assert store.refresh() == 0
    assert store.refresh(final=True) == 1
    assert store.by_request_id("req-00000003")


def test_a_truncated_file_is_read_again_from_the_start(tmp_path: Path) -> None:
    log = tmp_path / "core.log"
    write(log, line(T0, request_id="req-00000001"), line(T0 + 1, request_id="req-00000002"))
    store = LogStore(tmp_path)
    store.refresh()
    log.write_text(line(T0 + 2, request_id="req-00000009") + "\n")
    assert store.refresh() == 1
    assert store.by_request_id("req-00000009")[0].line_no == 1


def test_files_appearing_later_are_picked_up(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "not-yet")
    assert store.events() == []
    (tmp_path / "not-yet").mkdir()
    write(tmp_path / "not-yet" / "worker-build.log", line(T0, job_type="build_version"))
    assert store.services == ("worker-build",)


def test_services_limit_the_files_read(tmp_path: Path) -> None:
    write(tmp_path / "core.log", line(T0))
    write(tmp_path / "prometheus.log", "ts=2027 level=info msg=ready")
    store = LogStore(tmp_path, services=["core", "edge"])
    assert store.services == ("core",)
    assert store.unparsed() == []


def test_queries_by_window_service_request_id_and_error_code(tmp_path: Path) -> None:
    write(
        tmp_path / "edge.log",
        line(T0, request_id="req-00000001", status=200),
        line(T0 + 10, request_id="req-00000002", status=503, error_code="db_timeout"),
    )
    write(
        tmp_path / "core.log",
        line(T0 + 0.1, request_id="req-00000001"),
        line(T0 + 10.1, request_id="req-00000002", error_code="db_timeout"),
        line(T0 + 20, error_code="db_unavailable"),
    )
    store = LogStore(tmp_path)
    assert [e.at for e in store.events(T0 + 5, T0 + 15)] == pytest.approx([T0 + 10.1, T0 + 10])
    assert [e.service for e in store.by_service("edge")] == ["edge", "edge"]
    assert [e.service for e in store.by_request_id("req-00000001")] == ["core", "edge"]
    assert store.by_request_id("req-00000001", services=["edge"])[0].status == 200
    assert store.has_request_id("req-00000002", "core")
    assert not store.has_request_id("req-00000003", "core")
    assert len(store.by_error_code("db_timeout")) == 2
    assert store.by_error_code("db_timeout", services=["core"])[0].service == "core"
    assert store.error_codes(T0 + 5, T0 + 30) == {"db_timeout": 2, "db_unavailable": 1}
    assert store.error_codes(T0 + 15, T0 + 30, services=["edge"]) == {}


def test_values_are_text_and_empty_or_structured_values_count_as_missing(tmp_path: Path) -> None:
    write(
        tmp_path / "core.log",
        json.dumps(
            {"timestamp": stamp(T0), "level": "INFO", "tenant_id": 42, "user_id": "", "route": {}}
        ),
    )
    (event,) = LogStore(tmp_path).events()
    assert isinstance(event, LogEvent)
    assert (event.tenant_id, event.user_id, event.route) == ("42", None, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-15T10:00:00.123Z", 1800007200.123),
        ("2027-01-15T12:00:00+02:00", 1800007200.0),
        ("2027-01-15T10:00:00.123456789Z", 1800007200.123456),
        ("2027-01-15T10:00:00", None),
        ("yesterday", None),
        (1800007200, None),
    ],
)
def test_rfc3339(text: object, expected: float | None) -> None:
    got = parse_rfc3339(text)
    assert got == (pytest.approx(expected) if expected is not None else None)
