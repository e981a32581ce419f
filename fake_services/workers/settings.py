"""Worker configuration from the environment (read once, at startup)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fake_services import env as envvars
from fake_services.db import DatabaseSettings
from fake_services.queue import redis_url_from_env
from fake_services.queue.reliable import RetryPolicy


@dataclass(frozen=True)
class WorkerSettings:
    database: DatabaseSettings
    redis_url: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 4
    # A worker whose heartbeat is older than this is presumed dead; its jobs are reclaimed.
    lease_s: float = 10.0
    # How long a job waits when its work is switched off by a feature flag.
    defer_s: float = 5.0
    refresh_interval_s: float = 1.0
    platform_url: str | None = None  # the build worker only
    platform_timeout_s: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str], needs_platform: bool = False) -> WorkerSettings:
        return cls(
            database=DatabaseSettings.from_env(env),
            redis_url=redis_url_from_env(env),
            retry=RetryPolicy(
                max_attempts=envvars.positive_int(env, "WRK_MAX_ATTEMPTS", 5),
                base_delay_s=envvars.positive_float(env, "WRK_RETRY_BASE_S", 2.0),
                max_delay_s=envvars.positive_float(env, "WRK_RETRY_MAX_S", 60.0),
            ),
            concurrency=envvars.positive_int(env, "WRK_WORKER_CONCURRENCY", 4),
            lease_s=envvars.positive_float(env, "WRK_WORKER_LEASE_S", 10.0),
            defer_s=envvars.positive_float(env, "WRK_DEFER_S", 5.0),
            refresh_interval_s=envvars.positive_float(env, "WRK_REFRESH_INTERVAL_S", 1.0),
            platform_url=envvars.http_url(env, "WRK_PLATFORM_URL") if needs_platform else None,
            platform_timeout_s=envvars.positive_float(env, "WRK_PLATFORM_TIMEOUT_S", 5.0),
        )

    def secrets(self) -> frozenset[str]:
        return self.database.secrets() | envvars.url_password(self.redis_url)
