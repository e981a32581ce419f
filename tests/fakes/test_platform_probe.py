"""Core's WRK Platform probe (`wrk_platform_up`) and the series core exposes from startup."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from fake_services.core.platform_probe import DOWN_AFTER, PlatformProbe
from fake_services.observability.metrics import PlatformUpMetric

from ._core import sample
from ._stack import wait_until
from .conftest import CapturedLogs

Handler = Callable[[httpx.Request], httpx.Response]


def up(registry: CollectorRegistry) -> float | None:
    value: float | None = registry.get_sample_value("wrk_platform_up")
    return value


def probe_run(answers: list[Handler | Exception]) -> tuple[list[float | None], list[str]]:
    """Probe once per answer; the gauge after each, and the paths the platform saw."""
    registry = CollectorRegistry()
    paths: list[str] = []
    pending = list(answers)

    def platform(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer(request)

    async def run() -> list[float | None]:
        probe = PlatformProbe(
            "http://platform.invalid", 0.5, PlatformUpMetric(registry),
            transport=httpx.MockTransport(platform),
        )  # fmt: skip
        seen = [up(registry)]
        try:
            for _ in answers:
                await probe.probe()
                seen.append(up(registry))
        finally:
            await probe.aclose()
        return seen

    return asyncio.run(run()), paths


def ok(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"status": "ok"})


def refused() -> Exception:
    return httpx.ConnectError("connection refused")


def test_the_gauge_appears_with_the_first_verdict_and_follows_the_platform(
    logs: CapturedLogs,
) -> None:
    failing = [refused() for _ in range(DOWN_AFTER)]
    seen, paths = probe_run([ok, *failing, ok])
    assert seen[0] is None  # unknown before the first probe: no series, not a 0
    assert seen[1] == 1
    assert seen[1 : 1 + DOWN_AFTER] == [1] * DOWN_AFTER  # one lost probe is not an outage
    assert seen[DOWN_AFTER + 1] == 0
    assert seen[-1] == 1
    assert set(paths) == {"/healthz"}
    changes = [e for e in logs.lines() if e["message"].startswith("WRK Platform probe")]
    assert [e["message"] for e in changes] == [
        "WRK Platform probe: up",
        "WRK Platform probe: down",
        "WRK Platform probe: up",
    ]
    assert changes[1]["error_code"] == "wrk_platform_unavailable"


def test_an_unreachable_platform_at_startup_is_down_at_once() -> None:
    seen, _ = probe_run([refused()])
    assert seen == [None, 0]


def test_timeouts_and_error_answers_count_as_down() -> None:
    broken: list[Handler | Exception] = [
        lambda _: httpx.Response(503),
        httpx.ReadTimeout("no answer"),
        lambda _: httpx.Response(500),
    ]
    seen, _ = probe_run(broken)
    assert seen == [None, 0, 0, 0]


def test_core_probes_the_platform_and_exposes_every_series_from_startup(core: TestClient) -> None:
    wait_until(lambda: sample(core, "wrk_platform_up") == 1, 5, what="wrk_platform_up 1")
    body = core.get("/metrics").text
    for call in ("create_workflow", "deactivate_workflow"):
        assert f'wrk_platform_call_duration_seconds_bucket{{call="{call}",le="0.4"}} 0.0' in body
        assert f'wrk_platform_calls_total{{call="{call}",outcome="success"}} 0.0' in body
    assert 'db_lock_wait_time_seconds_bucket{le="0.4"} 0.0' in body
    assert "db_lock_wait_time_seconds_count 0.0" in body
