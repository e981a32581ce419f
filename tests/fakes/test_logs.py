"""Shape of a log line (spec §2.1)."""

from __future__ import annotations

import logging
import re

from fake_services.observability import ErrorCode, RequestContext, get_logger
from fake_services.observability.context import bound
from fake_services.observability.logs import rfc3339_utc

from .conftest import CapturedLogs

log = get_logger("tests.logs")

RFC3339_MS_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_timestamp_is_rfc3339_utc_with_milliseconds() -> None:
    assert rfc3339_utc(0.5) == "1970-01-01T00:00:00.500Z"
    assert rfc3339_utc(1714564800.123456) == "2024-05-01T12:00:00.123Z"
    # The same second again, then the next: the formatted second is reused, never kept stale.
    assert rfc3339_utc(1714564800.999) == "2024-05-01T12:00:00.999Z"
    assert rfc3339_utc(1714564801.0) == "2024-05-01T12:00:01.000Z"
    assert rfc3339_utc(0.5) == "1970-01-01T00:00:00.500Z"


def test_a_line_outside_any_request(logs: CapturedLogs) -> None:
    log.info("started")
    (line,) = logs.lines()
    assert RFC3339_MS_UTC.fullmatch(line["timestamp"])
    assert line["level"] == "INFO"
    assert line["service"] == "test"
    assert line["message"] == "started"
    assert "request_id" not in line


def test_a_line_inside_a_request_carries_its_context(logs: CapturedLogs) -> None:
    ctx = RequestContext(
        request_id="req-12345678", trace_id="t" * 32, tenant_id="t1", user_id="u1", route="/v1/x"
    )
    with bound(ctx):
        log.warning(
            "platform slow",
            resource_type="automation",
            resource_id="a1",
            error_code=ErrorCode.WRK_PLATFORM_TIMEOUT,
        )
    (line,) = logs.lines()
    assert line["level"] == "WARN"
    assert {k: line[k] for k in ctx.log_fields()} == ctx.log_fields()
    assert line["resource_type"] == "automation"
    assert line["resource_id"] == "a1"
    assert line["error_code"] == "wrk_platform_timeout"


def test_levels_use_the_spec_names(logs: CapturedLogs) -> None:
    logging.getLogger().setLevel(logging.DEBUG)
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    logging.getLogger("x").critical("c")
    assert [line["level"] for line in logs.lines()] == ["DEBUG", "INFO", "WARN", "ERROR", "ERROR"]


def test_none_fields_are_left_out(logs: CapturedLogs) -> None:
    log.info("x", resource_id=None, error_code=None)
    assert "resource_id" not in logs.lines()[0]
