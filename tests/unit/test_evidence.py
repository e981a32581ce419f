"""Evidence checks pass on good evidence and fail, saying what was expected and seen, on bad."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import pytest

from harness.checks.correlation import CorrelationHop, RequestFilter, request_id_correlation
from harness.checks.error_codes import log_error_codes
from harness.checks.evidence import (
    Correlation,
    EvidencePlan,
    EvidenceSources,
    evidence_checks,
    evidence_unavailable,
)
from harness.checks.log_fields import log_fields
from harness.checks.metrics import metrics_present
from harness.checks.secrets import Masker, Secret, no_secret_in_logs
from harness.checks.traces import trace_continuity
from harness.checks.wording import SAMPLE_CHARS
from harness.errors import ObserveError
from harness.observe.logs import LogStore
from harness.observe.prometheus import PrometheusClient, Sample
from harness.observe.traces import API_TO_ENQUEUE, WEBHOOK_TO_USAGE_WORKER, SpanStore
from harness.spec.metrics import Metric

from .test_logs import T0, line, write
from .test_traces import api_trace, span_line, webhook_trace, write_spans

SINCE, UNTIL = T0, T0 + 60
WHO = {"tenant_id": "tenant-1", "user_id": "user-1"}


def access(t: float, rid: str, status: int = 200, **fields: Any) -> str:
    """An access log line of one request, as edge and core write it."""
    level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
    base = {"level": level, "message": "request completed", "request_id": rid, "status": status}
    base |= {"route": "/v1/automations", "method": "GET", **WHO}
    return line(t, **(base | fields))


def healthy(directory: Path, requests: int = 3) -> None:
    """Edge and core logs of `requests` successful requests, one second apart."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(requests):
        rid = f"req-{i:08d}"
        write(directory / "core.log", access(T0 + i + 0.1, rid))
        write(directory / "edge.log", access(T0 + i + 0.2, rid))


# -- log_fields -----------------------------------------------------------------------------


def test_log_fields_pass_on_complete_events(tmp_path: Path) -> None:
    healthy(tmp_path)
    write(
        tmp_path / "edge.log",
        access(
            T0 + 5, "req-unauth01", 401, tenant_id=None, user_id=None, error_code="auth_missing_key"
        ),
    )
    write(tmp_path / "core.log", line(T0 + 6, message="service ready"))
    check = log_fields("s", LogStore(tmp_path), ["edge", "core"], since=SINCE, until=UNTIL)
    assert check.passed, check.message
    assert check.id == "s::log_fields"
    assert "8 log lines of edge (4), core (4) in the 60.0 s window" in check.message


def test_log_fields_fail_on_a_dropped_identity_field_with_count_and_sample(tmp_path: Path) -> None:
    healthy(tmp_path)
    write(tmp_path / "core.log", access(T0 + 7, "req-00000042", tenant_id=None))
    write(tmp_path / "core.log", access(T0 + 8, "req-00000043", user_id=None))
    check = log_fields("s", LogStore(tmp_path), ["edge", "core"], since=SINCE, until=UNTIL)
    assert not check.passed
    assert "core: 2 authenticated request event(s) without tenant_id and user_id" in check.message
    assert "req-00000042" in check.message  # the sample line
    assert "edge:" not in check.message


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("Traceback (most recent call last):", "1 line(s) not a JSON object"),
        (
            access(T0 + 9, "req-00000050", level="WARNING"),
            "1 event(s) whose level is not DEBUG/INFO/WARN/ERROR",
        ),
        (access(T0 + 9, "req-00000051", 503), "1 error event(s) without error_code"),
        (line(T0 + 9, level="ERROR", message="boom"), "1 error event(s) without error_code"),
        (line(T0 + 9, job_type="build_version"), "1 request/job event(s) without request_id"),
        (
            access(T0 + 9, "req-00000052", timestamp="yesterday"),
            "1 event(s) without an RFC3339 timestamp",
        ),
    ],
)
def test_log_fields_fail_on_each_rule(tmp_path: Path, bad_line: str, expected: str) -> None:
    healthy(tmp_path)
    write(tmp_path / "core.log", bad_line)
    check = log_fields("s", LogStore(tmp_path), ["edge", "core"], since=SINCE, until=UNTIL)
    assert not check.passed
    assert f"core: {expected} (e.g. " in check.message
    assert "edge:" not in check.message


def test_log_fields_judge_in_request_lines_by_their_requests_status(tmp_path: Path) -> None:
    healthy(tmp_path)
    anonymous = {"route": "/v1/automations", "request_id": "req-00000060"}
    write(tmp_path / "edge.log", line(T0 + 10, level="WARN", message="bad key", **anonymous))
    write(
        tmp_path / "edge.log",
        access(
            T0 + 10,
            "req-00000060",
            401,
            tenant_id=None,
            user_id=None,
            error_code="auth_unknown_key",
        ),
    )
    assert log_fields("s", LogStore(tmp_path), ["edge"], since=SINCE, until=UNTIL).passed
    served = {"route": "/v1/automations", "request_id": "req-00000061"}
    write(tmp_path / "edge.log", line(T0 + 11, message="forwarding", **served))
    write(tmp_path / "edge.log", access(T0 + 11, "req-00000061"))
    check = log_fields("s", LogStore(tmp_path), ["edge"], since=SINCE, until=UNTIL)
    assert not check.passed
    assert "edge: 1 authenticated request event(s)" in check.message


def test_log_fields_do_not_ask_a_signed_webhook_for_a_user(tmp_path: Path) -> None:
    webhook = access(T0 + 1, "req-00000070", route="/v1/webhooks/run-events", user_id=None)
    write(tmp_path / "webhook.log", webhook)
    assert log_fields("s", LogStore(tmp_path), ["webhook"], since=SINCE, until=UNTIL).passed


def test_log_fields_fail_for_a_silent_service_and_ignore_lines_outside_the_window(
    tmp_path: Path,
) -> None:
    healthy(tmp_path)
    write(tmp_path / "core.log", "not json, but before the window")  # inherits T0 + 2.1
    check = log_fields(
        "s", LogStore(tmp_path), ["edge", "core", "worker-build"], since=T0 + 2.5, until=UNTIL
    )
    assert not check.passed
    assert check.message.endswith("worker-build: no log line at all")


def test_log_fields_truncate_the_sample(tmp_path: Path) -> None:
    healthy(tmp_path)
    write(tmp_path / "core.log", "x" * 1000)
    check = log_fields("s", LogStore(tmp_path), ["core"], since=SINCE, until=UNTIL)
    assert "x" * SAMPLE_CHARS + "…" in check.message
    assert "x" * (SAMPLE_CHARS + 1) not in check.message


# -- log_error_codes ------------------------------------------------------------------------


def test_error_code_found_in_the_fault_window(tmp_path: Path) -> None:
    healthy(tmp_path)
    code = {"error_code": "wrk_platform_unavailable"}
    write(tmp_path / "core.log", access(T0 + 20, "req-00000080", 503, **code))
    write(tmp_path / "edge.log", access(T0 + 20.1, "req-00000080", 503, **code))
    (check,) = log_error_codes(
        "s", LogStore(tmp_path), ["wrk_platform_unavailable"], since=T0 + 15, until=T0 + 30
    )
    assert check.passed, check.message
    assert check.id == "s::log_error_codes::wrk_platform_unavailable"
    assert "2 time(s)" in check.message
    assert "core x1, edge x1" in check.message


def test_error_code_missing_lists_the_codes_seen(tmp_path: Path) -> None:
    healthy(tmp_path)
    write(tmp_path / "core.log", access(T0 + 20, "req-00000081", 504, error_code="db_timeout"))
    write(tmp_path / "core.log", access(T0 + 21, "req-00000082", 504, error_code="db_timeout"))
    write(
        tmp_path / "core.log",
        access(T0 + 40, "req-00000083", 503, error_code="wrk_platform_unavailable"),
    )
    checks = log_error_codes(
        "s",
        LogStore(tmp_path),
        ["wrk_platform_unavailable", "db_timeout"],
        since=T0 + 15,
        until=T0 + 30,
        services=["core"],
    )
    missing, found = checks
    assert not missing.passed and found.passed
    assert "expected error code wrk_platform_unavailable in the logs of core" in missing.message
    assert "codes seen then: db_timeout x2" in missing.message


# -- request_id_correlation -----------------------------------------------------------------


def test_every_forwarded_request_id_reaches_core(tmp_path: Path) -> None:
    healthy(tmp_path)
    refused = [
        (401, "auth_unknown_key"),
        (403, "auth_forbidden"),
        (429, "rate_limited"),
        (502, "core_unavailable"),
    ]
    for n, (status, code) in enumerate(refused):
        write(tmp_path / "edge.log", access(T0 + 30, f"req-refuse0{n}", status, error_code=code))
    check = request_id_correlation(
        "s", LogStore(tmp_path), [CorrelationHop("core")], since=SINCE, until=UNTIL
    )
    assert check.passed, check.message
    assert check.id == "s::request_id_correlation::edge>core"
    assert "edge→core: 3/3 (100.0%" in check.message


def test_a_request_id_missing_in_core_fails_with_counts_and_a_sample(tmp_path: Path) -> None:
    healthy(tmp_path)
    write(tmp_path / "edge.log", access(T0 + 30, "req-lost0001"))
    check = request_id_correlation(
        "s", LogStore(tmp_path), [CorrelationHop("core")], since=SINCE, until=UNTIL
    )
    assert not check.passed
    assert "edge→core: 3/4 (75.0%, need ≥ 100%)" in check.message
    assert "e.g. missing request_id req-lost0001" in check.message
    relaxed = [CorrelationHop("core", min_ratio=0.75)]
    assert request_id_correlation("s", LogStore(tmp_path), relaxed, since=SINCE, until=UNTIL).passed


def test_a_worker_hop_counts_only_the_requests_that_enqueue(tmp_path: Path) -> None:
    healthy(tmp_path)
    create = {"route": "/v1/automation-versions", "method": "POST"}
    for n, status in enumerate((201, 201, 503)):
        rid = f"req-create0{n}"
        code = {"error_code": "queue_unavailable"} if status >= 500 else {}
        write(tmp_path / "core.log", access(T0 + 40 + n, rid, status, **create, **code))
        write(tmp_path / "edge.log", access(T0 + 40.1 + n, rid, status, **create, **code))
    job = {"job_type": "build_version", "message": "job done"}
    write(tmp_path / "worker-build.log", line(T0 + 45, request_id="req-create00", **job))
    builds = RequestFilter(frozenset({"/v1/automation-versions"}), frozenset({"POST"}), True)
    chain = [CorrelationHop("core"), CorrelationHop("worker-build", builds)]
    check = request_id_correlation("s", LogStore(tmp_path), chain, since=SINCE, until=UNTIL)
    assert check.id == "s::request_id_correlation::edge>core>worker-build"
    assert not check.passed
    assert "edge→core: 6/6" in check.message
    assert "edge→worker-build: 1/2 (50.0%" in check.message
    assert "req-create01" in check.message
    write(tmp_path / "worker-build.log", line(T0 + 90, request_id="req-create01", **job))
    assert request_id_correlation("s", LogStore(tmp_path), chain, since=SINCE, until=UNTIL).passed


def test_correlation_without_evidence_fails(tmp_path: Path) -> None:
    check = request_id_correlation(
        "s", LogStore(tmp_path), [CorrelationHop("core")], since=SINCE, until=UNTIL
    )
    assert not check.passed
    assert "there were none" in check.message
    healthy(tmp_path)
    nothing = RequestFilter(routes=frozenset({"/v1/admin/quotes"}))
    check = request_id_correlation(
        "s", LogStore(tmp_path), [CorrelationHop("core", nothing)], since=SINCE, until=UNTIL
    )
    assert not check.passed
    assert "edge→core: no request matched its filter" in check.message


# -- trace_continuity -----------------------------------------------------------------------

SPANS_SINCE = SINCE - 1


def test_the_api_path_passes_in_one_connected_trace(tmp_path: Path) -> None:
    write_spans(tmp_path, api_trace("t1"), api_trace("t2", enqueue=False))
    check = trace_continuity(
        "s", SpanStore(tmp_path), API_TO_ENQUEUE, since=SPANS_SINCE, until=UNTIL
    )
    assert check.passed, check.message
    assert check.id == "s::trace_continuity::api_db_enqueue"
    assert "1 of 2 traces" in check.message and "trace t1" in check.message


def test_a_missing_hop_is_named_with_the_traces_examined(tmp_path: Path) -> None:
    write_spans(tmp_path, api_trace("t1", enqueue=False), api_trace("t2", enqueue=False))
    check = trace_continuity(
        "s", SpanStore(tmp_path), API_TO_ENQUEUE, since=SPANS_SINCE, until=UNTIL
    )
    assert not check.passed
    assert "examined 2 trace(s)" in check.message
    assert "2 reached 'db call', 0 reached 'worker enqueue'" in check.message
    assert (
        "missing hop 'worker enqueue' (span with kind PRODUCER, messaging.system)" in check.message
    )


def test_a_broken_parent_link_fails_and_is_shown(tmp_path: Path) -> None:
    write_spans(tmp_path, api_trace("t1", core_parent="0badc0ffee000000"))
    check = trace_continuity(
        "s", SpanStore(tmp_path), API_TO_ENQUEUE, since=SPANS_SINCE, until=UNTIL
    )
    assert not check.passed
    assert "missing hop 'core server'" in check.message
    assert "1 trace(s) have a broken parent link, e.g. trace t1" in check.message
    assert "names parent 0badc0ffee000000, which is not in the trace" in check.message


def test_every_hop_present_but_the_trace_split_fails(tmp_path: Path) -> None:
    trace = api_trace("t1")
    stray = span_line("t1", "x1<0badc0ffee000000", "core INTERNAL cache refresh", 3)
    trace["core"].append(stray)
    write_spans(tmp_path, trace)
    check = trace_continuity(
        "s", SpanStore(tmp_path), API_TO_ENQUEUE, since=SPANS_SINCE, until=UNTIL
    )
    assert not check.passed
    assert "1 trace(s) went through every hop, 0 of them one connected trace" in check.message
    assert "core:INTERNAL 'cache refresh' names parent 0badc0ffee000000" in check.message


def test_the_webhook_path_and_an_empty_window(tmp_path: Path) -> None:
    write_spans(tmp_path, webhook_trace("t1"))
    store = SpanStore(tmp_path)
    assert trace_continuity(
        "s", store, WEBHOOK_TO_USAGE_WORKER, since=SPANS_SINCE, until=UNTIL
    ).passed
    check = trace_continuity("s", store, WEBHOOK_TO_USAGE_WORKER, since=UNTIL, until=UNTIL + 9)
    assert not check.passed
    assert "no span started in the 9.0 s window" in check.message
    twice = trace_continuity(
        "s", store, WEBHOOK_TO_USAGE_WORKER, since=SPANS_SINCE, until=UNTIL, min_traces=2
    )
    assert not twice.passed


# -- metrics_present ------------------------------------------------------------------------

COUNT_BY = re.compile(r'count by \((?P<labels>[^)]*)\) \(\{__name__="(?P<name>[^"]+)"\}\)')
TOPK = re.compile(r'topk\(1, \{__name__="(?P<name>[^"]+)"\}\)')


@dataclass
class FakePrometheus:
    """Answers the two query shapes metrics_present uses, over an in-memory series list."""

    series: list[dict[str, str]]
    queries: list[str] = field(default_factory=list)

    def __call__(self, promql: str, at: float | None = None) -> list[Sample]:
        self.queries.append(promql)
        if m := COUNT_BY.fullmatch(promql):
            names = [n.strip() for n in m["labels"].split(",") if n.strip()]
            groups = Counter(
                tuple((n, s[n]) for n in names if s.get(n))
                for s in self.series
                if s["__name__"] == m["name"]
            )
            return [Sample(dict(g), at or 0.0, float(c)) for g, c in groups.items()]
        if m := TOPK.fullmatch(promql):
            found = [s for s in self.series if s["__name__"] == m["name"]]
            return [Sample(found[0], at or 0.0, 1.0)] if found else []
        raise AssertionError(f"unexpected query {promql}")


def metric(series: str, kind: str, labels: list[str], jobs: list[str] | None = None) -> Metric:
    data: dict[str, Any] = {"series": series, "type": kind, "labels": labels, "spec_ref": "§2.2"}
    if kind == "histogram":
        data["buckets"] = [0.1, 1.0]
    return Metric.model_validate(data | {"jobs": jobs or []})


METRICS = {
    "http_request_count": metric(
        "http_request_count_total", "counter", ["route", "method", "status"], ["edge", "core"]
    ),
    "db_query_duration_seconds": metric(
        "db_query_duration_seconds_bucket", "histogram", ["operation", "table"]
    ),
    "db_connection_pool_in_use": metric("db_connection_pool_in_use", "gauge", []),
}


def series(name: str, **labels: str) -> dict[str, str]:
    return {"__name__": name, "instance": "127.0.0.1:1", **labels}


def complete_series() -> list[dict[str, str]]:
    http = {"route": "/v1/automations", "method": "GET", "status": "200"}
    db = {"operation": "select", "table": "automations", "le": "0.1"}
    return [
        series("http_request_count_total", job="edge", **http),
        series("http_request_count_total", job="core", **http),
        series("db_query_duration_seconds_bucket", job="core", **db),
        series("db_connection_pool_in_use", job="core"),
    ]


def test_metrics_present_pass_when_every_metric_has_its_labels() -> None:
    prom = FakePrometheus(complete_series())
    check = metrics_present("s", prom, METRICS, at=UNTIL, jobs={"edge", "core"})
    assert check.passed, check.message
    assert check.id == "s::metrics_present"
    assert 'count by (operation, table, le) ({__name__="db_query_duration_seconds_bucket"})' in (
        prom.queries
    )
    assert 'count by () ({__name__="db_connection_pool_in_use"})' in prom.queries


def test_metrics_present_fail_on_a_missing_label_and_show_the_labels_seen() -> None:
    found = complete_series()
    found[0] = series(
        "http_request_count_total", job="edge", route="/v1/x", code="200", method="GET"
    )
    found[1] = found[0] | {"job": "core"}
    check = metrics_present("s", FakePrometheus(found), METRICS, at=UNTIL)
    assert not check.passed
    assert "1 do not" in check.message
    assert (
        "missing labels: http_request_count (needs route, method, status; no series has status; "
        "a series has: code, method, route)"
    ) in check.message


def test_metrics_present_fail_on_absent_metrics_and_missing_jobs() -> None:
    found = [s for s in complete_series() if s.get("job") != "edge"]
    found = [s for s in found if s["__name__"] != "db_connection_pool_in_use"]
    check = metrics_present("s", FakePrometheus(found), METRICS, at=UNTIL, jobs={"edge", "core"})
    assert not check.passed
    assert (
        "absent: db_connection_pool_in_use (no series db_connection_pool_in_use)" in check.message
    )
    assert "missing jobs: http_request_count (not exposed by job(s) edge)" in check.message
    only = metrics_present(
        "s", FakePrometheus(found), METRICS, at=UNTIL, only=["db_query_duration_seconds"]
    )
    assert only.passed and "all 1 catalogued metrics" in only.message


def test_metrics_present_fail_when_prometheus_cannot_be_read() -> None:
    def broken(promql: str, at: float | None = None) -> list[Sample]:
        raise ObserveError(f"prometheus query failed: {promql}: connection refused")

    check = metrics_present("s", broken, METRICS, at=UNTIL)
    assert not check.passed
    assert "Prometheus could not be read" in check.message


@pytest.fixture
def prometheus_server() -> Iterator[tuple[str, FakePrometheus]]:
    """The fake behind Prometheus's HTTP query API, on a free local port."""
    fake = FakePrometheus(complete_series())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            params = parse_qs(url.query)
            result = [
                {"metric": s.labels, "value": [s.timestamp, str(s.value)]}
                for s in fake(params["query"][0], float(params["time"][0]))
            ]
            data = {"resultType": "vector", "result": result}
            body = json.dumps({"status": "success", "data": data}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        server.shutdown()
        server.server_close()


def test_metrics_present_through_the_prometheus_client(
    prometheus_server: tuple[str, FakePrometheus],
) -> None:
    url, fake = prometheus_server
    client = PrometheusClient(url)
    assert metrics_present("s", client.query, METRICS, at=UNTIL).passed
    fake.series = fake.series[1:3]
    check = metrics_present("s", client.query, METRICS, at=UNTIL, jobs={"edge"})
    assert not check.passed
    assert "not exposed by job(s) edge" in check.message


# -- no_secret_in_logs ----------------------------------------------------------------------

CANARY = Secret("payload canary", "wrk-canary-7f3a9c2e51d84b60")
API_KEY = Secret("API key of tenant-1", "key-tenant-1-d41d8cd98f00b204")


def test_no_secret_passes_on_clean_logs_and_spans(tmp_path: Path) -> None:
    healthy(tmp_path / "logs")
    write_spans(tmp_path / "spans", api_trace("t1"))
    check = no_secret_in_logs(
        "s", [CANARY, API_KEY], LogStore(tmp_path / "logs"), SpanStore(tmp_path / "spans")
    )
    assert check.passed, check.message
    assert "none of 2 secret(s) (payload canary, API key of tenant-1)" in check.message


def test_a_leaked_canary_is_located_and_never_printed(tmp_path: Path) -> None:
    healthy(tmp_path / "logs")
    write(tmp_path / "logs" / "core.log", line(T0 + 50, message="created", name=CANARY.value))
    write(tmp_path / "logs" / "edge.log", line(T0 + 51, message=f"auth {API_KEY.value}"))
    check = no_secret_in_logs("s", [CANARY, API_KEY], LogStore(tmp_path / "logs"))
    assert not check.passed
    assert "secret 'payload canary' (wrk***(27 chars, sha256" in check.message
    assert "found in core's core.log line 4 in field 'name'" in check.message
    assert "2 line(s) leak in all (core x1, edge x1; " in check.message
    assert "'API key of tenant-1' x1, 'payload canary' x1)" in check.message
    assert CANARY.value not in check.message and API_KEY.value not in check.message
    assert CANARY.value not in repr(CANARY)


def test_a_secret_in_a_span_attribute_is_found(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    trace = api_trace("t1")
    trace["core"].append(
        span_line(
            "t1",
            "c9<c1",
            "core CLIENT platform.create_workflow",
            5,
            {"http.request.header.authorization": API_KEY.value},
        )
    )
    write_spans(tmp_path / "spans", trace)
    check = no_secret_in_logs(
        "s", [API_KEY], LogStore(tmp_path / "logs"), SpanStore(tmp_path / "spans")
    )
    assert not check.passed
    assert "core's core.jsonl line 4 in field 'http.request.header.authorization'" in check.message


def test_an_escaped_secret_is_still_a_leak_and_short_values_are_reported(tmp_path: Path) -> None:
    quoted = Secret("webhook secret", 'whsec"quoted\\value')
    write(tmp_path / "webhook.log", line(T0, message=f"signing with {quoted.value}"))
    check = no_secret_in_logs("s", [quoted, Secret("pin", "42")], LogStore(tmp_path))
    assert not check.passed
    assert "webhook's webhook.log line 1" in check.message
    assert "1 value(s) shorter than 4 characters not searched: pin" in check.message
    nothing = no_secret_in_logs("s", [Secret("pin", "42")], LogStore(tmp_path))
    assert not nothing.passed and "no secret to search for" in nothing.message


def test_evidence_unavailable_is_a_failed_check() -> None:
    check = evidence_unavailable("s", "log_fields", "the target exposes no log directory")
    assert (check.id, check.passed) == ("s::log_fields", False)
    assert check.message == "no evidence to judge: the target exposes no log directory"


# -- evidence_checks: the runner's one entry point ------------------------------------------


@dataclass(frozen=True)
class Times:
    """Phase boundaries as the runner records them."""

    load_start: float = T0 - 10
    baseline_start: float = T0
    baseline_end: float = T0 + 10
    fault_start: float | None = T0 + 10
    fault_end: float | None = T0 + 30
    end: float = T0 + 50


FULL_PLAN = EvidencePlan(
    log_services=("edge", "core"),
    error_codes=("wrk_platform_unavailable",),
    correlations=(Correlation((CorrelationHop("core"),)),),
    traces=(API_TO_ENQUEUE,),
    metrics=("db_connection_pool_in_use",),
    no_secrets=True,
)


def sources(tmp_path: Path, logs: bool = True, spans: bool = True) -> EvidenceSources:
    return EvidenceSources(
        logs=LogStore(tmp_path / "logs") if logs else None,
        spans=SpanStore(tmp_path / "spans") if spans else None,
        query=FakePrometheus(complete_series()),
        metrics=METRICS,
        jobs={"edge", "core"},
        secrets=(CANARY,),
    )


def test_evidence_checks_run_each_check_over_its_window(tmp_path: Path) -> None:
    healthy(tmp_path / "logs", requests=12)  # one request a second from T0
    code = {"error_code": "wrk_platform_unavailable"}
    write(tmp_path / "logs" / "core.log", access(T0 + 5, "req-early001", 503, **code))
    write_spans(tmp_path / "spans", api_trace("t1"))
    checks = evidence_checks("s", FULL_PLAN, sources(tmp_path), Times())
    by_kind = {c.kind: c for c in checks}
    assert [c.kind for c in checks] == [
        "log_fields",
        "log_error_codes",
        "request_id_correlation",
        "trace_continuity",
        "metrics_present",
        "metric_label_values",
        "no_secret_in_logs",
    ]
    # The 503 came in the baseline, not during the fault.
    assert not by_kind["log_error_codes"].passed
    assert "fault window" in by_kind["log_error_codes"].message
    assert "edge→core: 12/12" in by_kind["request_id_correlation"].message
    assert all(c.passed for k, c in by_kind.items() if k != "log_error_codes")


def test_without_a_fault_the_error_code_is_sought_where_the_fault_would_have_been(
    tmp_path: Path,
) -> None:
    healthy(tmp_path / "logs")
    code = {"error_code": "wrk_platform_unavailable"}
    write(tmp_path / "logs" / "core.log", access(T0 + 40, "req-late0001", 503, **code))
    plan = EvidencePlan(error_codes=("wrk_platform_unavailable",))
    no_fault = Times(fault_start=None, fault_end=None)
    (check,) = evidence_checks("s", plan, sources(tmp_path), no_fault)
    assert check.passed, check.message


def test_evidence_checks_fail_when_the_target_has_no_logs_or_spans(tmp_path: Path) -> None:
    checks = evidence_checks("s", FULL_PLAN, sources(tmp_path, logs=False, spans=False), Times())
    unavailable = [c for c in checks if c.kind not in {"metrics_present", "metric_label_values"}]
    assert [c.id for c in unavailable] == [
        "s::log_fields",
        "s::log_error_codes::wrk_platform_unavailable",
        "s::request_id_correlation::edge>core",
        "s::no_secret_in_logs",
        "s::trace_continuity::api_db_enqueue",
    ]
    assert not any(c.passed for c in unavailable)
    assert "no readable log directory" in unavailable[0].message
    assert "no readable span directory" in unavailable[-1].message


def test_an_empty_plan_runs_nothing(tmp_path: Path) -> None:
    assert evidence_checks("s", EvidencePlan(), sources(tmp_path), Times()) == []


# -- every encoding of a secret, and header values logged as pairs -------------------------

ENCODED_KEY = Secret("API key of tenant-2", "wrk_5f0c1e2d3a4b59687a8b9c0d1e2f3a4b")


@pytest.mark.parametrize(
    "encode",
    [
        lambda v: base64.b64encode(v.encode()).decode(),
        lambda v: base64.urlsafe_b64encode(v.encode()).decode().rstrip("="),
        lambda v: base64.b64encode(f"user-1:{v}".encode()).decode(),  # Basic credentials
        lambda v: base64.b64encode(json.dumps({"key": v}).encode()).decode(),
        lambda v: v.encode().hex(),
        lambda v: v.encode().hex().upper(),
        lambda v: quote(v, safe=""),
    ],
)
def test_a_secret_is_found_and_masked_in_every_common_encoding(
    tmp_path: Path, encode: Callable[[str], str]
) -> None:
    logged = line(T0, message="client identified", fingerprint=encode(ENCODED_KEY.value))
    write(tmp_path / "edge.log", logged)
    check = no_secret_in_logs("s", [ENCODED_KEY], LogStore(tmp_path))
    assert not check.passed
    assert "API key of tenant-2" in check.message and "field 'fingerprint'" in check.message
    masked = Masker([ENCODED_KEY]).text(logged)
    assert Masker([ENCODED_KEY]).find(masked) is None


@pytest.mark.parametrize(
    ("fields", "header"),
    [
        ({"headers": [["x-wrk-signature", "sha256=9f86d081884c7d659a2feaa0c55ad015"]]},
         "x-wrk-signature"),
        ({"message": str([("Authorization", "Bearer wrk_abc123def456")])}, "authorization"),
        ({"cookie": "session=6f1ed002ab5595859014ebf0951522d9"}, "cookie"),
    ],
)  # fmt: skip
def test_a_sensitive_header_value_unknown_to_the_run_is_still_a_leak(
    tmp_path: Path, fields: dict[str, object], header: str
) -> None:
    write(tmp_path / "webhook.log", line(T0, **fields))
    check = no_secret_in_logs("s", [CANARY], LogStore(tmp_path))
    assert not check.passed
    assert f"{header} header value" in check.message


@pytest.mark.parametrize(
    "fields",
    [
        {"headers": [["x-wrk-signature", "[REDACTED]"], ["accept", "*/*"]]},
        {"headers": [["authorization", "***"]]},
        {"message": "authorization failed: no bearer token", "signature": "sha256=[REDACTED]"},
    ],
)
def test_a_hidden_header_value_is_no_leak(tmp_path: Path, fields: dict[str, object]) -> None:
    write(tmp_path / "webhook.log", line(T0, **fields))
    assert no_secret_in_logs("s", [CANARY], LogStore(tmp_path)).passed


def test_a_webhook_signature_the_run_sent_is_a_leak_in_any_line(tmp_path: Path) -> None:
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    write(tmp_path / "webhook.log", line(T0, message=f"signature mismatch: got sha256={digest}"))
    check = no_secret_in_logs("s", [CANARY], LogStore(tmp_path), signatures={digest})
    assert not check.passed
    assert "'webhook signature the run sent'" in check.message and digest not in check.message
    other = no_secret_in_logs("s", [CANARY], LogStore(tmp_path), signatures={"ab" * 32})
    assert other.passed, other.message
    assert "nor any of 1 webhook signature the run sent(s)" in other.message
