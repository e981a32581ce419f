"""Per-tenant token buckets: the edge's traffic-shaping lever (spec §6.2 "rate limiting").

Every tenant gets its own bucket under the default limit, or under its override: triage names
the tenants behind an incident, and mitigation throttles (or exempts) just those.

The limits live in this process and change at runtime (PUT /v1/admin/rate-limit); with several
edge replicas each enforces them on its own share of the traffic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Retry-After is capped: under a tiny limit the exact wait is centuries, or for a subnormal rate
# an infinity that math.ceil cannot convert.
MAX_RETRY_AFTER_S = 86_400


@dataclass(frozen=True)
class Limit:
    """One bucket's refill rate and size; a None rate means no limit."""

    requests_per_second: float | None = None
    burst: float = 1.0

    @classmethod
    def of(cls, requests_per_second: float | None, burst: float | None = None) -> Limit:
        """The burst defaults to one second's worth of requests (at least one)."""
        if requests_per_second is None:
            return UNLIMITED
        return cls(
            requests_per_second, burst if burst is not None else max(1.0, requests_per_second)
        )


UNLIMITED = Limit()


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0


_ALLOWED = Decision(True)


class RateLimiter:
    def __init__(self) -> None:
        self._default = UNLIMITED
        self._overrides: dict[str, Limit] = {}
        self._limited = False
        self._buckets: dict[str, _Bucket] = {}

    @property
    def default(self) -> Limit:
        return self._default

    @property
    def overrides(self) -> Mapping[str, Limit]:
        return MappingProxyType(self._overrides)

    def configure(
        self,
        requests_per_second: float | None,
        burst: float | None = None,
        overrides: Mapping[str, Limit] | None = None,
    ) -> None:
        """Replace the whole state: the default (None lifts it) and the tenants' overrides.
        Buckets restart full, so a new limit never punishes the past."""
        self._default = Limit.of(requests_per_second, burst)
        self._overrides = dict(overrides or {})
        limits = (self._default, *self._overrides.values())
        self._limited = any(limit.requests_per_second is not None for limit in limits)
        self._buckets.clear()

    def check(self, tenant_id: str) -> Decision:
        # Runs on every request: nothing but a flag when no limit is set at all.
        if not self._limited:
            return _ALLOWED
        overrides = self._overrides
        limit = overrides.get(tenant_id, self._default) if overrides else self._default
        rate = limit.requests_per_second
        if rate is None:
            return _ALLOWED
        now = time.monotonic()
        bucket = self._buckets.get(tenant_id)
        if bucket is None:
            bucket = self._buckets[tenant_id] = _Bucket(limit.burst, now)
        bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return _ALLOWED
        wait = min((1 - bucket.tokens) / rate, MAX_RETRY_AFTER_S)
        return Decision(False, max(1, math.ceil(wait)))
