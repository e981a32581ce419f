"""Edge security and traffic-shaping metrics (spec §5.3 brute force, §6.2 mitigations)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge

OTHER_SOURCES = "other"


class AuthFailureMetrics:
    """`auth_failures_total{source_ip, reason}`: 401/403 answers by client address.

    Addresses are attacker-controlled, so the label is capped: past `max_sources` distinct
    addresses, new ones are counted under `other` (a flood from many addresses still shows).
    """

    def __init__(self, registry: CollectorRegistry, max_sources: int) -> None:
        self._max_sources = max_sources
        self._seen: set[str] = set()
        self.failures = Counter(
            "auth_failures",
            "Authentication and authorisation failures at the edge, by source IP and reason.",
            ["source_ip", "reason"],
            registry=registry,
        )

    def failed(self, source_ip: str, reason: str) -> None:
        if source_ip not in self._seen:
            if len(self._seen) >= self._max_sources:
                source_ip = OTHER_SOURCES
            else:
                self._seen.add(source_ip)
        self.failures.labels(source_ip=source_ip, reason=reason).inc()


class RateLimitMetrics:
    """The limits in force (the default and each override) and the requests they refused.

    Tenant labels are bounded: overrides are set by an operator (at most a thousand), and
    refusals come only from authenticated tenants.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.limit = Gauge(
            "edge_rate_limit_requests_per_second",
            "Default per-tenant request rate limit in force at the edge (0 = no limit).",
            registry=registry,
        )
        self.override = Gauge(
            "edge_rate_limit_override_requests_per_second",
            "Request rate limit of a tenant with an override, by tenant (0 = not limited).",
            ["tenant_id"],
            registry=registry,
        )
        self.limited = Counter(
            "edge_rate_limited_requests",
            "Requests refused with 429 rate_limited, by tenant.",
            ["tenant_id"],
            registry=registry,
        )

    def configured(
        self,
        requests_per_second: float | None,
        overrides: Mapping[str, float | None] | None = None,
    ) -> None:
        """The whole state, replacing the last: a lifted override's series disappears."""
        self.limit.set(requests_per_second or 0)
        self.override.clear()
        for tenant_id, rate in (overrides or {}).items():
            self.override.labels(tenant_id=tenant_id).set(rate or 0)

    def refused(self, tenant_id: str) -> None:
        self.limited.labels(tenant_id=tenant_id).inc()
