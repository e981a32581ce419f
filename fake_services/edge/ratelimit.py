"""Per-tenant token buckets: the edge's traffic-shaping lever (spec §6.2 "rate limiting").

The limit lives in this process and changes at runtime (PUT /v1/admin/rate-limit); with several
edge replicas each enforces it on its own share of the traffic.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

# Retry-After is capped: under a tiny limit the exact wait is centuries, or for a subnormal rate
# an infinity that math.ceil cannot convert.
MAX_RETRY_AFTER_S = 86_400


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0


@dataclass
class RateLimiter:
    requests_per_second: float | None = None
    burst: float = 1.0
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def configure(self, requests_per_second: float | None, burst: float | None = None) -> None:
        """None lifts the limit. Buckets restart full, so a new limit never punishes the past."""
        self.requests_per_second = requests_per_second
        if requests_per_second is None:
            self.burst = 1.0
        else:
            self.burst = burst if burst is not None else max(1.0, requests_per_second)
        self._buckets.clear()

    def check(self, tenant_id: str) -> Decision:
        rate = self.requests_per_second
        if rate is None:
            return Decision(True)
        now = time.monotonic()
        bucket = self._buckets.get(tenant_id)
        if bucket is None:
            bucket = self._buckets[tenant_id] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Decision(True)
        wait = min((1 - bucket.tokens) / rate, MAX_RETRY_AFTER_S)
        return Decision(False, max(1, math.ceil(wait)))
