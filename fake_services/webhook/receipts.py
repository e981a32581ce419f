"""First reception of an event across the sender's retries (spec §3.2 "within 30 s of reception").

When an event cannot be stored, its reception time is remembered in Redis; when a retry
(attempt > 1) finally stores it, that first time becomes the event's received_at. Best effort:
with Redis down too, the current delivery's time is used and the measured delay is shorter
than the truth.
"""

from __future__ import annotations

import redis.asyncio as redis

from fake_services.observability import get_logger
from fake_services.queue.redis_client import REDIS_FAILURES

KEY_PREFIX = "webhook:first-seen:"
TTL_S = 24 * 3600

_log = get_logger(__name__)


class Receipts:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    async def remember(self, event_id: str, received_at: float) -> None:
        try:
            await self._redis.set(KEY_PREFIX + event_id, repr(received_at), nx=True, ex=TTL_S)
        except REDIS_FAILURES as exc:
            _log.warning("could not record first reception", error_type=type(exc).__name__)

    async def first_seen(self, event_id: str, attempt: int, received_at: float) -> float:
        if attempt <= 1:
            return received_at
        try:
            raw = await self._redis.get(KEY_PREFIX + event_id)
        except REDIS_FAILURES:
            return received_at
        try:
            return min(float(raw), received_at) if raw is not None else received_at
        except ValueError:
            return received_at
