"""SpanStore and path matching: spans from JSON lines, traces, hops and parent continuity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.observe.traces import (
    API_TO_ENQUEUE,
    WEBHOOK_TO_USAGE_WORKER,
    Attr,
    Hop,
    SpanMatch,
    SpanStore,
    TracePath,
    continuity,
    follow,
)

T0_NS = 1_800_000_000 * 1_000_000_000
MS = 1_000_000


def span_line(
    trace: str, ids: str, what: str, at_ms: float, attributes: dict[str, Any] | None = None
) -> str:
    """One span line: `ids` is "span<parent" (or "span" for a root), `what` is
    "<service> <KIND> <name>", `at_ms` its start after T0."""
    span_id, _, parent = ids.partition("<")
    service, kind, name = what.split(" ", 2)
    start = T0_NS + int(at_ms * MS)
    return json.dumps(
        {
            "trace_id": trace,
            "span_id": span_id,
            "parent_span_id": parent or None,
            "name": name,
            "service": service,
            "kind": kind,
            "start_unix_ns": start,
            "end_unix_ns": start + 5 * MS,
            "status": "UNSET",
            "attributes": attributes or {},
        }
    )


ROUTE = {"http.route": "/v1/automation-versions"}
POSTGRES = {"db.system": "postgresql"}


def api_trace(trace: str, enqueue: bool = True, core_parent: str = "e2") -> dict[str, list[str]]:
    """Span lines per service of one API request, as edge and core emit them."""
    edge = [
        span_line(trace, "e1", "edge SERVER POST /v1/automation-versions", 0, ROUTE),
        span_line(trace, "e2<e1", "edge CLIENT core.forward", 1),
    ]
    core = [
        span_line(trace, f"c1<{core_parent}", "core SERVER POST /v1/automation-versions", 2, ROUTE),
        span_line(trace, "c2<c1", "core CLIENT db insert automation_versions", 3, POSTGRES),
    ]
    if enqueue:
        queue = {"messaging.system": "redis", "messaging.destination": "build-requests"}
        core.append(span_line(trace, "c3<c2", "core PRODUCER enqueue build-requests", 4, queue))
    return {"edge": edge, "core": core}


def webhook_trace(
    trace: str, destination_key: str = "messaging.destination.name"
) -> dict[str, list[str]]:
    """Run event webhook → DB → enqueue, and the usage worker consuming the job."""
    route = {"http.route": "/v1/webhooks/run-events"}
    queue = {"messaging.system": "redis", destination_key: "usage-aggregation"}
    return {
        "webhook": [
            span_line(trace, "w1", "webhook SERVER POST /v1/webhooks/run-events", 0, route),
            span_line(trace, "w2<w1", "webhook CLIENT db insert run_events", 1, POSTGRES),
            span_line(trace, "w3<w1", "webhook PRODUCER enqueue usage-aggregation", 2, queue),
        ],
        "worker-usage": [
            span_line(trace, "u1<w3", "worker-usage CONSUMER process usage-aggregation", 50, queue),
        ],
    }


def write_spans(directory: Path, *traces: dict[str, list[str]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for trace in traces:
        for service, lines in trace.items():
            with (directory / f"{service}.jsonl").open("a", encoding="utf-8") as out:
                out.write("".join(line + "\n" for line in lines))


def test_spans_are_parsed_and_grouped_by_trace(tmp_path: Path) -> None:
    write_spans(tmp_path, api_trace("t1"), api_trace("t2"))
    store = SpanStore(tmp_path)
    assert sorted(store.traces()) == ["t1", "t2"]
    by_id = {s.span_id: s for s in store.trace("t1")}
    assert set(by_id) == {"e1", "e2", "c1", "c2", "c3"}
    db = by_id["c2"]
    assert (db.service, db.kind, db.parent_span_id, db.name) == (
        "core",
        "CLIENT",
        "c1",
        "db insert automation_versions",
    )
    assert db.attributes["db.system"] == "postgresql"
    assert db.start_s == pytest.approx(1_800_000_000.003)
    assert db.file.name == "core.jsonl"


def test_bad_lines_are_kept_apart_and_a_partial_line_waits(tmp_path: Path) -> None:
    tmp_path.joinpath("core.jsonl").write_text(
        "not json\n"
        + json.dumps({"name": "no ids"})
        + "\n"
        + span_line("t", "s", "core SERVER x", 0)[:30]
    )
    store = SpanStore(tmp_path)
    assert [b.reason for b in store.bad_lines()] == [
        "not JSON",
        "no trace_id, span_id or start_unix_ns",
    ]
    assert store.spans() == []
    with tmp_path.joinpath("core.jsonl").open("a") as out:
        out.write(span_line("t", "s", "core SERVER x", 0)[30:] + "\n")
    assert [s.span_id for s in store.spans()] == ["s"]


def test_a_trace_in_the_window_comes_with_all_its_spans(tmp_path: Path) -> None:
    write_spans(tmp_path, webhook_trace("t1"))
    store = SpanStore(tmp_path)
    t0 = T0_NS / 1e9
    window = store.traces(since=t0, until=t0 + 0.01)  # the worker span starts at +50 ms
    assert len(window["t1"]) == 4
    assert store.traces(since=t0 + 1) == {}
    assert [s.span_id for s in store.spans(since=t0 + 0.04)] == ["u1"]


def test_the_api_path_is_followed_through_every_hop(tmp_path: Path) -> None:
    write_spans(tmp_path, api_trace("t1"))
    result = follow(API_TO_ENQUEUE, "t1", SpanStore(tmp_path).trace("t1"))
    assert result.reached == 4
    assert [s.span_id for s in result.spans] == ["e1", "c1", "c2", "c3"]
    assert result.connected


def test_a_missing_hop_stops_the_path_there(tmp_path: Path) -> None:
    write_spans(tmp_path, api_trace("t1", enqueue=False))
    result = follow(API_TO_ENQUEUE, "t1", SpanStore(tmp_path).trace("t1"))
    assert result.reached == 3
    assert result.connected


def test_a_broken_parent_link_cuts_the_path_and_the_trace(tmp_path: Path) -> None:
    write_spans(tmp_path, api_trace("t1", core_parent="ffffffffffffffff"))
    spans = SpanStore(tmp_path).trace("t1")
    result = follow(API_TO_ENQUEUE, "t1", spans)
    assert result.reached == 1  # core's spans are not below the edge span
    assert not result.connected
    assert result.roots == 2
    assert result.broken_link is not None and result.broken_link.span_id == "c1"


def test_one_root_with_a_parent_outside_the_system_is_intact(tmp_path: Path) -> None:
    trace = api_trace("t1")
    trace["edge"][0] = trace["edge"][0].replace(
        '"parent_span_id": null', '"parent_span_id": "caller0000000000"'
    )
    write_spans(tmp_path, trace)
    spans = SpanStore(tmp_path).trace("t1")
    assert continuity(spans) == (1, None)
    assert follow(API_TO_ENQUEUE, "t1", spans).connected


def test_two_independent_roots_are_not_one_trace(tmp_path: Path) -> None:
    two = [span_line("t1", "a", "edge SERVER x", 0), span_line("t1", "b", "edge SERVER y", 1)]
    write_spans(tmp_path, {"edge": two})
    roots, broken = continuity(SpanStore(tmp_path).trace("t1"))
    assert (roots, broken) == (2, None)


@pytest.mark.parametrize("key", ["messaging.destination.name", "messaging.destination"])
def test_the_webhook_path_matches_current_and_older_attribute_names(
    tmp_path: Path, key: str
) -> None:
    write_spans(tmp_path, webhook_trace("t1", destination_key=key))
    result = follow(WEBHOOK_TO_USAGE_WORKER, "t1", SpanStore(tmp_path).trace("t1"))
    assert result.reached == 3
    assert [s.span_id for s in result.spans] == ["w1", "w2", "u1"]
    assert result.connected


def test_hops_must_keep_their_order_in_time(tmp_path: Path) -> None:
    # Enqueue before the DB call: "DB → enqueue" is not what happened.
    write_spans(
        tmp_path,
        {
            "core": [
                span_line("t1", "c1", "core SERVER POST /x", 0, ROUTE),
                span_line(
                    "t1", "c2<c1", "core PRODUCER enqueue q", 1, {"messaging.system": "redis"}
                ),
                span_line("t1", "c3<c1", "core CLIENT db select x", 2, POSTGRES),
            ]
        },
    )
    path = TracePath("p", "core → db → enqueue", (API_TO_ENQUEUE.hops[1], *API_TO_ENQUEUE.hops[2:]))
    assert follow(path, "t1", SpanStore(tmp_path).trace("t1")).reached == 2


def test_predicates_describe_themselves() -> None:
    api = SpanMatch("core", "SERVER", attrs=(Attr(("http.route",), prefix="/v1/"),))
    hop = Hop("h", (api, SpanMatch(name_prefix="db ")))
    assert (
        hop.describe()
        == "span with service core, kind SERVER, http.route=/v1/* or span with name db *"
    )
    assert Attr(("a", "b"), equals="q").describe() == "a|b=q"
    assert SpanMatch().describe() == "any span"
