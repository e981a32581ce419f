"""Queue depths: sampled from Redis by core for every queue, withdrawn when they go stale."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from redis.exceptions import ConnectionError as RedisConnectionError

from fake_services.observability.queue_metrics import QueueDepthMetrics
from fake_services.queue import ALL_QUEUES, depth
from fake_services.queue.reliable import QueueDepth

from ._core import sample
from ._stack import wait_until


def depths(core: TestClient) -> dict[str, float | None]:
    return {q: sample(core, "queue_depth", {"queue": q}) for q in ALL_QUEUES}


def test_core_counts_ready_and_delayed_jobs_of_every_queue(
    core: TestClient, redis_url: str
) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.lpush("build-requests", b"job-1", b"job-2", b"job-3")
        client.zadd("notifications:delayed", {b"retry-1": 1.0, b"retry-2": 2.0})
        client.sadd("ai-ingestion:workers", "w1")
        client.lpush("ai-ingestion:processing:w1", b"held-1")
        client.lpush("usage-aggregation:dead", b"dead-1")
    expected = {"build-requests": 3, "ai-ingestion": 0, "notifications": 2, "usage-aggregation": 0}

    def others() -> tuple[float | None, float | None]:
        return (
            sample(core, "dead_letter_queue_depth", {"queue": "usage-aggregation"}),
            sample(core, "queue_in_flight", {"queue": "ai-ingestion"}),
        )

    # A sampling pass reads the queues one after another: one running during the writes above
    # can read the first queue before them and the last ones after. Wait for a pass that saw all
    # of them; if none comes, the asserts below say what was seen.
    with contextlib.suppress(AssertionError):
        wait_until(lambda: depths(core) == expected and others() == (1, 1), 5)
    assert depths(core) == expected
    assert others() == (1, 1)


class FlakyRedis:
    """Stands in for `queue_depth`: answers, or fails like an unreachable Redis."""

    def __init__(self) -> None:
        self.reachable = True

    async def __call__(self, _client: Any, queue: str) -> QueueDepth:
        if not self.reachable:
            raise RedisConnectionError("Connection refused")
        return QueueDepth(waiting=1500 if queue == "build-requests" else 0, in_flight=0, dead=0)


@pytest.mark.parametrize(("max_age_s", "kept"), [(60.0, True), (0.0, False)])
def test_a_failed_sample_keeps_the_last_depth_only_while_it_is_fresh(
    monkeypatch: pytest.MonkeyPatch, max_age_s: float, kept: bool
) -> None:
    redis_state = FlakyRedis()
    monkeypatch.setattr(depth, "queue_depth", redis_state)
    registry = CollectorRegistry()
    sampler = depth.QueueDepthSampler(
        None,  # type: ignore[arg-type]  # never used: queue_depth is replaced
        QueueDepthMetrics(registry),
        ALL_QUEUES,
        max_age_s=max_age_s,
    )

    def build_requests() -> float | None:
        value: float | None = registry.get_sample_value("queue_depth", {"queue": "build-requests"})
        return value

    asyncio.run(sampler.sample())
    assert build_requests() == 1500
    redis_state.reachable = False
    with pytest.raises(RedisConnectionError):
        asyncio.run(sampler.sample())
    # Stale values are withdrawn (absent), never exported as if current.
    assert build_requests() == (1500 if kept else None)
    if not kept:
        assert registry.get_sample_value("queue_in_flight", {"queue": "build-requests"}) is None
    redis_state.reachable = True
    asyncio.run(sampler.sample())
    assert build_requests() == 1500


def test_a_sample_that_hangs_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    async def hanging(_client: Any, _queue: str) -> QueueDepth:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    monkeypatch.setattr(depth, "queue_depth", hanging)
    registry = CollectorRegistry()
    sampler = depth.QueueDepthSampler(
        None,  # type: ignore[arg-type]
        QueueDepthMetrics(registry),
        ALL_QUEUES,
        timeout_s=0.05,
    )
    with pytest.raises(TimeoutError):
        asyncio.run(sampler.sample())
    assert registry.get_sample_value("queue_depth", {"queue": "build-requests"}) is None
