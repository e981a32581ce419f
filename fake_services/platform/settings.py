"""Fake WRK Platform configuration from the environment (read once, at startup)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fake_services import env as envvars


@dataclass(frozen=True)
class RunEventSettings:
    """Where and how the platform sends run events (spec §3.2 Run Event Webhook)."""

    webhook_url: str | None = None
    secret: str | None = None
    rate_per_s: float = 0.0  # 0: no steady stream; batches can still be sent
    tenant_ids: tuple[str, ...] = ("tenant-1",)  # the steady stream's events take turns
    timeout_s: float = 5.0
    # Backoff between attempts doubles from 0.2 s up to this cap.
    retry_max_s: float = 5.0
    # An event still unacknowledged after this long is abandoned (counted and logged).
    retry_deadline_s: float = 3600.0
    concurrency: int = 16

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RunEventSettings:
        url = env.get("WRK_WEBHOOK_URL", "").strip()
        return cls(
            webhook_url=envvars.http_url(env, "WRK_WEBHOOK_URL") if url else None,
            # Without a URL there is nothing to sign; with one the secret is required.
            secret=envvars.require(env, "WRK_WEBHOOK_SECRET") if url else None,
            rate_per_s=envvars.non_negative_float(env, "WRK_RUN_EVENT_RATE", 0.0),
            tenant_ids=_tenants(envvars.optional(env, "WRK_RUN_EVENT_TENANT", "tenant-1")),
            timeout_s=envvars.positive_float(env, "WRK_WEBHOOK_TIMEOUT_S", 5.0),
            retry_max_s=envvars.positive_float(env, "WRK_WEBHOOK_RETRY_MAX_S", 5.0),
            retry_deadline_s=envvars.positive_float(env, "WRK_WEBHOOK_RETRY_DEADLINE_S", 3600.0),
            concurrency=envvars.positive_int(env, "WRK_WEBHOOK_CONCURRENCY", 16),
        )

    def secrets(self) -> frozenset[str]:
        return frozenset({self.secret} if self.secret else ())


def _tenants(raw: str) -> tuple[str, ...]:
    """WRK_RUN_EVENT_TENANT: one tenant or several, comma-separated."""
    tenants = tuple(t.strip() for t in raw.split(",") if t.strip())
    if not tenants:
        raise envvars.ConfigError("WRK_RUN_EVENT_TENANT names no tenant")
    return tenants
