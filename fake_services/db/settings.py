"""Database settings every database-backed service reads the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from fake_services import env as envvars


def database_url(env: Mapping[str, str]) -> str:
    value = envvars.require(env, "WRK_DATABASE_URL")
    if not value.startswith(("postgresql://", "postgres://")):
        raise envvars.ConfigError("WRK_DATABASE_URL must be a postgresql:// URL")
    return value


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    timeout_s: float = 2.0
    connect_deadline_s: float = 20.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DatabaseSettings:
        return cls(
            url=database_url(env),
            timeout_s=envvars.positive_float(env, "WRK_DB_TIMEOUT_S", 2.0),
            connect_deadline_s=envvars.positive_float(env, "WRK_DB_CONNECT_DEADLINE_S", 20.0),
        )

    @property
    def address(self) -> str:
        """host:port/dbname, safe to log (the URL itself may carry a password)."""
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or 5432}{parts.path}"

    def secrets(self) -> frozenset[str]:
        password = urlsplit(self.url).password
        return frozenset({password} if password else ())
