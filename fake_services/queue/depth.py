"""Queue depth gauges for every queue, sampled from Redis by core, and only by core.

Core samples them, not the workers: the usual reason a queue grows is that its workers are
down, stuck or cut off from Redis while producers still reach it, and a signal exported by the
workers would vanish or freeze with them. One exporter per queue also means `max by (queue)`
and `sum by (queue)` over `queue_depth` agree.

What is counted, per queue `q`:
  queue_depth{queue}              jobs waiting for a worker: the ready list (LLEN q) plus the
                                  retries scheduled in the delayed set (ZCARD q:delayed)
  queue_in_flight{queue}          jobs held by workers, not yet acknowledged (the processing
                                  lists of the registered workers)
  dead_letter_queue_depth{queue}  dead letters (LLEN q:dead)

A sample is exported only while it is fresh. When Redis cannot be read (an error, or no answer
within `timeout_s`), the last values stay for `max_age_s` (one missed sample must not reset an
alert's `for`), then every series is withdrawn: absent, not a stale depth that looks healthy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import redis.asyncio as redis

from fake_services import defects
from fake_services.observability.queue_metrics import QueueDepthMetrics
from fake_services.queue.names import QueueName
from fake_services.queue.reliable import queue_depth

SAMPLE_INTERVAL_S = 0.5
SAMPLE_TIMEOUT_S = 1.0
MAX_AGE_S = 2.0


class QueueDepthSampler:
    def __init__(
        self,
        client: redis.Redis,
        metrics: QueueDepthMetrics,
        queues: Iterable[str],
        *,
        timeout_s: float = SAMPLE_TIMEOUT_S,
        max_age_s: float = MAX_AGE_S,
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._queues = tuple(queues)
        if defects.active(defects.Defect.QUEUE_DEPTH_UNEXPORTED):
            self._queues = tuple(q for q in self._queues if q != QueueName.NOTIFICATIONS)
        # The Redis key prefix each queue is read from (its own name, but for a defect).
        self._keys = {q: q for q in self._queues}
        if defects.active(defects.Defect.QUEUE_DEPTH_WRONG_KEY):
            usage = QueueName.USAGE_AGGREGATION
            self._keys[usage] = usage.replace("-", "_")
        self._dead_stuck = defects.active(defects.Defect.DEAD_LETTER_GAUGE_STUCK)
        self._timeout_s = timeout_s
        self._max_age_s = max_age_s
        self._sampled_at = float("-inf")

    async def sample(self) -> None:
        """Read every queue, then publish them together; raises when Redis cannot be read."""
        try:
            async with asyncio.timeout(self._timeout_s):
                depths = [await queue_depth(self._client, self._keys[q]) for q in self._queues]
        except Exception:
            if time.monotonic() - self._sampled_at > self._max_age_s:
                self._metrics.clear()
            raise
        for queue, depth in zip(self._queues, depths, strict=True):
            dead = 0 if self._dead_stuck else depth.dead
            self._metrics.set(queue, waiting=depth.waiting, in_flight=depth.in_flight, dead=dead)
        self._sampled_at = time.monotonic()
