"""Webhook configuration from the environment (read once, at startup)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fake_services import env as envvars
from fake_services.db import DatabaseSettings
from fake_services.queue import redis_url_from_env

MIN_SECRET_LENGTH = 16


def _secret(env: Mapping[str, str]) -> str:
    value = envvars.require(env, "WRK_WEBHOOK_SECRET")
    if len(value) < MIN_SECRET_LENGTH:
        raise envvars.ConfigError(
            f"WRK_WEBHOOK_SECRET must be at least {MIN_SECRET_LENGTH} characters"
        )
    return value


@dataclass(frozen=True)
class WebhookSettings:
    database: DatabaseSettings
    redis_url: str
    secret: str
    replay_window_s: float = 300.0
    max_body_bytes: int = 64 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebhookSettings:
        return cls(
            database=DatabaseSettings.from_env(env),
            redis_url=redis_url_from_env(env),
            secret=_secret(env),
            replay_window_s=envvars.positive_float(env, "WRK_WEBHOOK_REPLAY_WINDOW_S", 300.0),
            max_body_bytes=envvars.positive_int(env, "WRK_WEBHOOK_MAX_BODY_BYTES", 64 * 1024),
        )

    def secrets(self) -> frozenset[str]:
        return self.database.secrets() | envvars.url_password(self.redis_url) | {self.secret}
