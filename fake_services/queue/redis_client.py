"""The Redis client every queue user builds the same way, and its failure mapping."""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.maint_notifications import MaintNotificationsConfig

from fake_services import env as envvars

# Socket timeouts stay above the longest blocking read (BLMOVE) a worker issues.
SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0

REDIS_FAILURES = (RedisConnectionError, RedisTimeoutError, OSError)


def redis_url_from_env(env: Mapping[str, str]) -> str:
    value = envvars.require(env, "WRK_REDIS_URL")
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise envvars.ConfigError("WRK_REDIS_URL must be a redis:// URL")
    return value


def connect_redis(url: str, max_connections: int = 64) -> redis.Redis:
    """A pooled client; it connects lazily, so a Redis outage does not block the startup of
    core or the webhook (workers ping it first: they have nothing to do without it)."""
    client: redis.Redis = redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        max_connections=max_connections,
        health_check_interval=30,
        # Redis 7.0 (the local stack's) knows neither CLIENT SETINFO (7.2) nor maintenance
        # notifications: asked for, each new connection left three errors in the server's
        # errorstats, noise on a dashboard of Redis errors.
        driver_info=None,
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
    )
    return client
