"""Queue depth gauges for every queue, sampled from Redis.

Core samples them (not the workers): the usual reason a queue grows is that its workers are
down or stuck, and a signal exported by the workers would vanish with them.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as redis

from fake_services.observability.queue_metrics import QueueDepthMetrics
from fake_services.queue.reliable import queue_depth


async def sample_depths(
    client: redis.Redis, metrics: QueueDepthMetrics, queues: Iterable[str]
) -> None:
    for queue in queues:
        depth = await queue_depth(client, queue)
        metrics.set(queue, waiting=depth.waiting, in_flight=depth.in_flight, dead=depth.dead)
