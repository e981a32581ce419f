"""Core configuration from the environment (read once, at startup)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fake_services import env as envvars
from fake_services.db import DatabaseSettings
from fake_services.queue import redis_url_from_env


@dataclass(frozen=True)
class CoreSettings:
    database: DatabaseSettings
    platform_url: str
    redis_url: str
    platform_timeout_s: float = 2.0
    # Domain gauges and feature flags are re-read this often.
    refresh_interval_s: float = 1.0
    # Queue depths are sampled from Redis this often (QueueDepthHigh reads them).
    queue_depth_interval_s: float = 0.5
    # GET /healthz of the WRK Platform this often, each given this long (wrk_platform_up).
    platform_probe_interval_s: float = 0.5
    platform_probe_timeout_s: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CoreSettings:
        return cls(
            database=DatabaseSettings.from_env(env),
            platform_url=envvars.http_url(env, "WRK_PLATFORM_URL"),
            redis_url=redis_url_from_env(env),
            platform_timeout_s=envvars.positive_float(env, "WRK_PLATFORM_TIMEOUT_S", 2.0),
            refresh_interval_s=envvars.positive_float(env, "WRK_REFRESH_INTERVAL_S", 1.0),
            queue_depth_interval_s=envvars.positive_float(env, "WRK_QUEUE_DEPTH_INTERVAL_S", 0.5),
            platform_probe_interval_s=envvars.positive_float(
                env, "WRK_PLATFORM_PROBE_INTERVAL_S", 0.5
            ),
            platform_probe_timeout_s=envvars.positive_float(
                env, "WRK_PLATFORM_PROBE_TIMEOUT_S", 1.0
            ),
        )

    def secrets(self) -> frozenset[str]:
        return self.database.secrets() | envvars.url_password(self.redis_url)
